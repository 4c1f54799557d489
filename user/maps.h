/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * maps.h - the loaded datapath maps, seen from user space.
 *
 * The only user-space code that knows how capacities and generations lay
 * the tables out in the maps (include/portwarden.h has the index
 * arithmetic).  A compiled policy (struct pw_compiled, dense) goes into
 * the inactive generation, then one write flips the datapath to it:
 *
 *	skel = portwarden__open();
 *	pw_caps_default(&caps);
 *	pw_caps_fit(&caps, &compiled);       sized for this policy
 *	pw_skel_configure(skel, &caps);      map sizes + rodata, before load
 *	portwarden__load(skel);
 *	pw_maps_from_skel(skel, &caps, &m);
 *	pw_maps_get_config(&m, &cfg);
 *	gen = !(cfg.active_gen & 1);         the one not in force
 *	pw_maps_write_gen(&m, &compiled, gen);
 *	pw_maps_flip(&m, gen);
 *
 * A packet reads pw_config.active_gen once and uses only that generation's
 * rows, so it is never judged against a half-written policy.  The
 * functions assume a single writer (the CLI serialises loads).
 *
 * Errors are negative errno values; the functions that can fail for a
 * reason worth telling also leave a message for pw_maps_errmsg().
 */
#ifndef PW_MAPS_H
#define PW_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "portwarden.h"
#include "compile.h"

struct portwarden; /* the bpftool skeleton, portwarden.skel.h */

/*
 * Map capacities.  The first four are also compiled into the program
 * (rodata) because the index arithmetic uses them.
 */
struct pw_caps {
	__u32 role_cap;     /* role ids 0..role_cap-1, at most PW_MAX_ROLES */
	__u32 seg_cap;      /* segment ids per direction, 0 included */
	__u32 v4_group_cap; /* 256-wide IPv4 groups per generation */
	__u32 v6_cap;       /* pw_v6 buckets per generation (3 prefixes each) */
	__u32 slot_cap;     /* counter slots (pw_slots; pw_counters x4) */
	__u32 unnamed_cap;  /* distinct keys in pw_unnamed */
	__u32 flow_cap;     /* pw_flows entries (LRU: the oldest go when full) */
	__u32 event_ring;   /* pw_events bytes: a power of two, >= one page */
};

/* Hard limits of the layout (ids are __u16 in the tables, indexes __u32). */
#define PW_CAP_SEG_MAX 65536U
#define PW_CAP_V4_GROUP_MAX (1U << 22)
#define PW_CAP_V6_MAX PW_V6_MAX_BUCKETS
#define PW_CAP_SLOT_MAX (1U << 24)
#define PW_CAP_UNNAMED_MAX (1U << 24)
#define PW_CAP_FLOW_MAX (1U << 24)
#define PW_CAP_EVENT_RING_MIN 4096U
#define PW_CAP_EVENT_RING_MAX (1U << 30)

/* The PW_DEFAULT_* capacities of portwarden.h. */
void pw_caps_default(struct pw_caps *caps);

/*
 * Grow every capacity that @c does not fit in to twice what it needs,
 * rounded up to a power of two (never above the hard limits, never
 * shrinking).  pw_caps_check() still says whether the result fits.
 */
void pw_caps_fit(struct pw_caps *caps, const struct pw_compiled *c);

/*
 * 0 when one generation of @c fits @caps; -E2BIG with "<capacity>: need
 * N, have M" in @why otherwise; -EINVAL when @caps itself is out of range.
 */
int pw_caps_check(const struct pw_caps *caps, const struct pw_compiled *c,
		  char *why, size_t len);

/*
 * After portwarden__open(), before portwarden__load(): size every map that
 * depends on @caps and set the rodata capacities.  -EINVAL for caps out of
 * range.
 */
int pw_skel_configure(struct portwarden *skel, const struct pw_caps *caps);

/* File descriptors of the maps of one loaded program, and their layout. */
struct pw_maps {
	int config, gen, v4_tbl16, v4_tbl8, v6, ports, rules, counters, slots,
		unnamed, reasons, role_names, flows, stats, events, ev_seen,
		tbucket, samples, shadow;
	struct pw_caps caps;
	int ncpus;     /* possible CPUs: per-CPU values come in this many */
	bool no_batch; /* tests: force per-element updates */
	bool own_fds;  /* opened by pw_maps_open_pinned: close them */
};

/*
 * Fill @m from a loaded skeleton configured with @caps.  Checks each map's
 * type, key/value sizes and max_entries against @caps (-EINVAL and a
 * message when they disagree).  The fds stay owned by the skeleton.
 */
int pw_maps_from_skel(struct portwarden *skel, const struct pw_caps *caps,
		      struct pw_maps *m);

/*
 * Open the maps pinned by name under @dir (dir/pw_config, ...), as a
 * loaded program left them.  The capacities are read from the maps
 * themselves, and every map's type, key/value sizes and max_entries are
 * checked against them.  -ENOENT when a pin is missing.  Release with
 * pw_maps_close().
 */
int pw_maps_open_pinned(const char *dir, struct pw_maps *m);

/* Close the fds of pw_maps_open_pinned(); no-op for pw_maps_from_skel(). */
void pw_maps_close(struct pw_maps *m);

/*
 * Write every row of generation @gen (0 or 1) from @c: pw_v4_tbl16,
 * pw_v4_tbl8 (groups past c->v4_ngroups zeroed), pw_v6 (buckets past the
 * table's zeroed), pw_ports, pw_rules (re-indexed from the dense
 * layout to the caps, unused rows zeroed) and last pw_gen[gen].  Also
 * writes pw_slots[0..nslots) and pw_role_names[0..nroles), which are
 * shared by both generations: ids there are stable across reloads when @c
 * was compiled with the previous state (struct pw_prev_state).
 *
 * Refuses (-EBUSY) to write the generation in force.  -E2BIG when @c does
 * not fit the caps.
 */
int pw_maps_write_gen(const struct pw_maps *m, const struct pw_compiled *c,
		      __u32 gen);

/* Put generation @gen in force: the one write of pw_config.active_gen. */
int pw_maps_flip(const struct pw_maps *m, __u32 gen);

/*
 * Host configuration.  pw_maps_set_config() writes every field except
 * active_gen, which it keeps: only pw_maps_flip() changes that.
 */
int pw_maps_get_config(const struct pw_maps *m, struct pw_config *cfg);
int pw_maps_set_config(const struct pw_maps *m, const struct pw_config *cfg);

/* Per-generation scalars as the datapath sees them (tests, status). */
int pw_maps_read_gen_info(const struct pw_maps *m, __u32 gen,
			  struct pw_gen_info *info);

/* pw_slots[slot] and pw_role_names[role]. */
int pw_maps_read_slot(const struct pw_maps *m, __u32 slot,
		      struct pw_counter_key *key);
int pw_maps_read_role_name(const struct pw_maps *m, __u32 role,
			   struct pw_role_name *name);

/*
 * The pw_rules entry of generation @gen for direction @dir, segment @seg
 * and peer role @role (segment and role below the caps: -EINVAL else).
 */
int pw_maps_read_rule_entry(const struct pw_maps *m, __u32 gen, __u32 dir,
			    __u32 seg, __u32 role, struct pw_rule_entry *e);

/*
 * Counters, summed over all possible CPUs.  @index is
 * pw_counter_index(slot, verdict); @reason is pw_reason_index(dir,
 * reason), which for ingress is the enum pw_reason itself.
 */
int pw_maps_read_counter(const struct pw_maps *m, __u32 index,
			 struct pw_counter *sum);
int pw_maps_read_reason(const struct pw_maps *m, __u32 reason,
			struct pw_counter *sum);

/* pw_stats, summed over all possible CPUs, into @out[PW_NSTAT]. */
int pw_maps_read_stats(const struct pw_maps *m, __u64 out[PW_NSTAT]);

/* Name of an enum pw_stat ("flow_insert", ...), "?" when out of range. */
const char *pw_stat_name(__u32 stat);

/*
 * How full the flow table is.  @entries counts every key in pw_flows,
 * @live those not past their age at @now_ns (CLOCK_MONOTONIC_COARSE, the
 * datapath's clock for flows; 0: read it here).  @evicted is what the LRU
 * map dropped to make room: inserts - closed - expired - entries (the
 * kernel does not count it).  @full: entries reached the capacity.
 */
struct pw_flow_usage {
	__u32 capacity;
	__u32 entries;
	__u32 live;
	__u32 opened;  /* live flows the host opened (egress first) */
	__u32 inbound; /* live flows let in on ingress */
	__u64 inserted, closed, expired, insert_failed, evicted;
	bool full;
};
int pw_maps_flow_usage(const struct pw_maps *m, __u64 now_ns,
		       struct pw_flow_usage *u);

/*
 * Call @cb for every entry of pw_flows, pw_samples or pw_shadow (the last
 * summed over CPUs).  A non-zero return from @cb stops the walk and is
 * returned.  Entries may come and go meanwhile: a key gone between the
 * listing and the read is skipped.
 */
typedef int (*pw_flow_cb)(const struct pw_flow_key *key,
			  const struct pw_flow *flow, void *arg);
int pw_maps_foreach_flow(const struct pw_maps *m, pw_flow_cb cb, void *arg);

typedef int (*pw_sample_cb)(const struct pw_counter_key *key,
			    const struct pw_sample *sample, void *arg);
int pw_maps_foreach_sample(const struct pw_maps *m, pw_sample_cb cb,
			   void *arg);

typedef int (*pw_shadow_cb)(const struct pw_shadow_key *key,
			    const struct pw_counter *sum, void *arg);
int pw_maps_foreach_shadow(const struct pw_maps *m, pw_shadow_cb cb,
			   void *arg);

/* Empty pw_shadow (a new shadow policy starts from zero). */
int pw_maps_reset_shadow(const struct pw_maps *m);

/* Empty pw_flows and pw_ev_seen (tests; an operator never needs it). */
int pw_maps_reset_flows(const struct pw_maps *m);

/*
 * pw_config fields that a loader sets to their defaults: flow ages and
 * event rate limits (see portwarden.h).  Leaves the rest alone.
 */
void pw_config_defaults(struct pw_config *cfg);

/*
 * Call @cb for every pw_unnamed key with its summed counter.  A non-zero
 * return from @cb stops the walk and is returned.
 */
typedef int (*pw_unnamed_cb)(const struct pw_counter_key *key,
			     const struct pw_counter *sum, void *arg);
int pw_maps_foreach_unnamed(const struct pw_maps *m, pw_unnamed_cb cb,
			    void *arg);

/* Zero pw_counters and pw_reasons, empty pw_unnamed and pw_samples.
 * pw_stats stays: the flow table's eviction count is derived from it. */
int pw_maps_reset_counters(const struct pw_maps *m);

/* Message of the last failure in this thread ("" when none was left). */
const char *pw_maps_errmsg(void);

#endif /* PW_MAPS_H */
