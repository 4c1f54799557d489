/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * xdprun.h - load the portwarden programs and run frames through them with
 * BPF_PROG_TEST_RUN, for test_xdp.c, test_diff.c, test_flow.c and
 * test_stats.c: the XDP ingress program (xr_run) and the tc egress program
 * (xr_run_tc), or either by direction (xr_run_dir).
 *
 * Header-only (static functions) so that each suite links it without a
 * change to the meson suite lists.  Everything goes through the map writer
 * API (maps.h) except per-packet counter reads, which look up one key
 * directly to stay cheap.
 */
#ifndef PW_TESTS_XDPRUN_H
#define PW_TESTS_XDPRUN_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "classify.h"
#include "compile.h"
#include "maps.h"
#include "policy.h"
#include "portwarden.skel.h"

/* A suite that needs root says why and reports "skipped" to meson. */
static inline void xr_require_root(const char *suite)
{
	if (geteuid() == 0)
		return;
	fprintf(stderr, "%s: needs root (BPF_PROG_TEST_RUN); skipped\n", suite);
	exit(77);
}

static inline int xr_quiet_print(enum libbpf_print_level level, const char *fmt,
				 va_list ap)
{
	if (level == LIBBPF_WARN)
		return vfprintf(stderr, fmt, ap);
	return 0;
}

/* A policy compiled for one host: parsed inputs kept alive with it. */
struct xr_policy {
	struct pw_policy pol;
	struct pw_inventory inv;
	struct pw_compiled c;
	bool ok;
};

static inline void xr_policy_free(struct xr_policy *p)
{
	if (p->ok)
		pw_compiled_free(&p->c);
	pw_inventory_free(&p->inv);
	pw_policy_free(&p->pol);
	memset(p, 0, sizeof(*p));
}

/*
 * Compile @policy_text/@inv_text (or files, when @from_files) for host
 * roles @roles and tags @tags, keeping the role ids and slots of
 * @prev_from (a generation in force; NULL for none).  The texts must
 * outlive @p.  Prints diagnostics and returns -1 on failure.
 */
static inline int xr_policy_compile_after(struct xr_policy *p,
					  bool from_files, const char *policy,
					  const char *inventory,
					  const char *const *roles, int nroles,
					  const char *const *tags, int ntags,
					  const struct pw_compiled *prev_from)
{
	struct pw_prev_state prev = { 0 };
	struct pw_compile_opts opts = {
		.host_roles = roles,
		.nhost_roles = nroles,
		.tags = tags,
		.ntags = ntags,
	};
	struct pw_diags d = { 0 };
	int err;

	if (prev_from) {
		prev.roles = prev_from->role_names;
		prev.nroles = prev_from->nroles;
		prev.slots = prev_from->slots;
		prev.nslots = prev_from->nslots;
		opts.prev = &prev;
	}
	memset(p, 0, sizeof(*p));
	if (from_files)
		err = pw_policy_parse_file(policy, &p->pol, &d);
	else
		err = pw_policy_parse_buffer("test.policy", policy, &p->pol,
					     &d);
	if (!err && from_files)
		err = pw_inventory_parse_file(inventory, &p->pol, &p->inv, &d);
	else if (!err)
		err = pw_inventory_parse_buffer("test.inventory", inventory,
						&p->pol, &p->inv, &d);
	if (!err)
		err = pw_compile(&p->pol, &p->inv, &opts, &p->c, &d);
	if (err || d.nerrors) {
		pw_diags_print(&d, stderr);
		pw_diags_free(&d);
		return -1;
	}
	pw_diags_free(&d);
	p->ok = true;
	return 0;
}

/* xr_policy_compile_after() with nothing in force before. */
static inline int xr_policy_compile(struct xr_policy *p, bool from_files,
				    const char *policy, const char *inventory,
				    const char *const *roles, int nroles,
				    const char *const *tags, int ntags)
{
	return xr_policy_compile_after(p, from_files, policy, inventory, roles,
				       nroles, tags, ntags, NULL);
}

/* Role id of @name in @c, or -1. */
static inline int xr_role_id(const struct pw_compiled *c, const char *name)
{
	for (uint32_t i = 0; i < c->nroles; i++)
		if (!strcmp(c->role_names[i].name, name))
			return (int)i;
	return -1;
}

/* Slot of the key (dir, proto, role, lo, hi) in @c, or -1. */
static inline int64_t xr_find_slot_dir(const struct pw_compiled *c,
				       uint8_t dir, uint8_t proto,
				       uint32_t role, uint16_t lo, uint16_t hi)
{
	for (uint32_t s = 0; s < c->nslots; s++) {
		const struct pw_counter_key *k = &c->slots[s];

		if (k->dir == dir && k->proto == proto && k->role == role &&
		    k->port_lo == lo && k->port_hi == hi)
			return s;
	}
	return -1;
}

/* Slot of the ingress key (proto, role, lo, hi) in @c, or -1. */
static inline int64_t xr_find_slot(const struct pw_compiled *c, uint8_t proto,
				   uint32_t role, uint16_t lo, uint16_t hi)
{
	return xr_find_slot_dir(c, PW_DIR_INGRESS, proto, role, lo, hi);
}

/* The loaded programs. */
struct xr {
	struct portwarden *skel;
	struct pw_caps caps;
	struct pw_maps m;
	int prog_fd; /* pw_xdp_ingress */
	int tc_fd;   /* pw_tc_egress */
	struct pw_counter *pcpu;     /* m.ncpus values, scratch for lookups */
	const struct pw_compiled *c; /* the generation in force */
	struct pw_config cfg;
};

/* Open, size for @caps, load. */
static inline int xr_open(struct xr *x, const struct pw_caps *caps)
{
	int err;

	memset(x, 0, sizeof(*x));
	libbpf_set_print(xr_quiet_print);
	x->caps = *caps;
	x->skel = portwarden__open();
	if (!x->skel)
		return -errno ? -errno : -ENOMEM;
	err = pw_skel_configure(x->skel, caps);
	if (!err)
		err = portwarden__load(x->skel);
	if (!err)
		err = pw_maps_from_skel(x->skel, caps, &x->m);
	if (err) {
		fprintf(stderr, "xdprun: load failed: %d %s\n", err,
			pw_maps_errmsg());
		return err;
	}
	x->prog_fd = bpf_program__fd(x->skel->progs.pw_xdp_ingress);
	x->tc_fd = bpf_program__fd(x->skel->progs.pw_tc_egress);
	x->pcpu = calloc(x->m.ncpus, sizeof(*x->pcpu));
	return x->pcpu ? 0 : -ENOMEM;
}

static inline void xr_close(struct xr *x)
{
	portwarden__destroy(x->skel);
	free(x->pcpu);
	memset(x, 0, sizeof(*x));
}

/* Write @c into the inactive generation and flip to it. */
static inline int xr_install(struct xr *x, const struct pw_compiled *c)
{
	struct pw_config cur;
	__u32 gen;
	int err;

	err = pw_maps_get_config(&x->m, &cur);
	if (err)
		return err;
	gen = !(cur.active_gen & 1);
	err = pw_maps_write_gen(&x->m, c, gen);
	if (!err)
		err = pw_maps_flip(&x->m, gen);
	if (err) {
		fprintf(stderr, "xdprun: install failed: %d %s\n", err,
			pw_maps_errmsg());
		return err;
	}
	x->c = c;
	return 0;
}

static inline int xr_set_config(struct xr *x, __u32 mode, __u64 deadline,
				__u32 unchecked_drop)
{
	struct pw_config cfg = { 0 };
	int err;

	err = pw_maps_get_config(&x->m, &cfg);
	if (err)
		return err;
	cfg.mode = mode;
	cfg.enforce_deadline_ns = deadline;
	cfg.unchecked_drop = unchecked_drop;
	err = pw_maps_set_config(&x->m, &cfg);
	if (!err)
		err = pw_maps_get_config(&x->m, &x->cfg);
	return err;
}

static inline uint64_t xr_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* One frame through program @fd; its return code in *retval. */
static inline int xr_run_fd(int fd, const void *pkt, uint32_t len,
			    int *retval)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = len,
		    .repeat = 1);
	int err;

	err = bpf_prog_test_run_opts(fd, &o);
	if (err)
		return -errno;
	*retval = (int)o.retval;
	return 0;
}

/* One frame through the XDP program; the XDP action in *retval. */
static inline int xr_run(struct xr *x, const void *pkt, uint32_t len,
			 int *retval)
{
	return xr_run_fd(x->prog_fd, pkt, len, retval);
}

/*
 * tc return codes, without pulling in <linux/pkt_cls.h>.  The egress
 * program passes a packet with UNSPEC (the next filter, or the default:
 * send it), so that filters after it still run.
 */
#define XR_TC_ACT_UNSPEC (-1)
#define XR_TC_ACT_OK 0
#define XR_TC_ACT_SHOT 2

/*
 * One frame through the tc egress program (a SCHED_CLS test run: the
 * frame is the skb's data from the Ethernet header on; no context is
 * passed).  The tc action in *retval.
 */
static inline int xr_run_tc(struct xr *x, const void *pkt, uint32_t len,
			    int *retval)
{
	return xr_run_fd(x->tc_fd, pkt, len, retval);
}

/*
 * Does the kernel refuse @pkt as an skb test run (-EINVAL)?  It wants an
 * Ethernet header, and behind an untagged IPv4 or IPv6 EtherType the whole
 * fixed IP header (the stack never hands tc a shorter one).  XDP test runs
 * take anything from an Ethernet header on.
 */
static inline bool xr_tc_refuses(const uint8_t *pkt, uint32_t len)
{
	uint16_t type;

	if (len < 14)
		return true;
	type = (uint16_t)(pkt[12] << 8 | pkt[13]);
	return (type == 0x0800 && len < 14 + 20) ||
	       (type == 0x86DD && len < 14 + 40);
}

/*
 * One frame through the hook of direction @dir; *action is PW_XDP_PASS or
 * PW_XDP_DROP for either hook (the classifier's numbers), or 1000 plus
 * the raw code for a tc code the program should never return.
 */
static inline int xr_run_dir(struct xr *x, unsigned dir, const void *pkt,
			     uint32_t len, int *action)
{
	int err, rc = -1;

	if (dir == PW_DIR_INGRESS)
		return xr_run(x, pkt, len, action);
	err = xr_run_tc(x, pkt, len, &rc);
	if (err)
		return err;
	*action = rc == XR_TC_ACT_UNSPEC ? PW_XDP_PASS :
		  rc == XR_TC_ACT_SHOT ? PW_XDP_DROP :
					 1000 + rc;
	return 0;
}

static inline void xr_sum(const struct xr *x, struct pw_counter *sum)
{
	sum->packets = sum->bytes = 0;
	for (int i = 0; i < x->m.ncpus; i++) {
		sum->packets += x->pcpu[i].packets;
		sum->bytes += x->pcpu[i].bytes;
	}
}

/* pw_unnamed[key] summed; zero when absent. */
static inline int xr_read_unnamed(struct xr *x,
				  const struct pw_counter_key *key,
				  struct pw_counter *sum)
{
	if (bpf_map_lookup_elem(x->m.unnamed, key, x->pcpu)) {
		sum->packets = sum->bytes = 0;
		return errno == ENOENT ? 0 : -errno;
	}
	xr_sum(x, sum);
	return 0;
}

static inline int xr_read_counter(struct xr *x, __u32 index,
				  struct pw_counter *sum)
{
	if (bpf_map_lookup_elem(x->m.counters, &index, x->pcpu))
		return -errno;
	xr_sum(x, sum);
	return 0;
}

static inline int xr_read_reason(struct xr *x, __u32 reason,
				 struct pw_counter *sum)
{
	if (bpf_map_lookup_elem(x->m.reasons, &reason, x->pcpu))
		return -errno;
	xr_sum(x, sum);
	return 0;
}

/* The counter a classifier result names (zero for none). */
static inline int xr_read_result_counter(struct xr *x,
					 const struct pw_classify_result *r,
					 struct pw_counter *sum)
{
	sum->packets = sum->bytes = 0;
	if (r->counter == PW_COUNTER_SLOT)
		return xr_read_counter(x, r->counter_index, sum);
	if (r->counter == PW_COUNTER_UNNAMED)
		return xr_read_unnamed(x, &r->key, sum);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Whole-map snapshots, to prove that nothing else moved                */
/* ------------------------------------------------------------------ */

struct xr_unnamed_entry {
	struct pw_counter_key key;
	struct pw_counter sum;
};

struct xr_snap {
	struct pw_counter reasons[PW_NDIR * PW_NREASON]; /* pw_reason_index */
	struct pw_counter *counters; /* nslots * PW_NVERDICT */
	uint32_t ncounters;
	struct xr_unnamed_entry *unnamed;
	int nunnamed, cap;
};

static inline int xr_snap_unnamed_cb(const struct pw_counter_key *key,
				     const struct pw_counter *sum, void *arg)
{
	struct xr_snap *s = arg;

	if (s->nunnamed == s->cap) {
		int cap = s->cap ? s->cap * 2 : 64;
		void *v = realloc(s->unnamed, cap * sizeof(*s->unnamed));

		if (!v)
			return -ENOMEM;
		s->unnamed = v;
		s->cap = cap;
	}
	s->unnamed[s->nunnamed].key = *key;
	s->unnamed[s->nunnamed++].sum = *sum;
	return 0;
}

static inline void xr_snap_free(struct xr_snap *s)
{
	free(s->counters);
	free(s->unnamed);
	memset(s, 0, sizeof(*s));
}

/*
 * Every reason of both directions, every counter of the installed
 * policy's slots, pw_unnamed.
 */
static inline int xr_snap_take(struct xr *x, struct xr_snap *s)
{
	int err;

	memset(s, 0, sizeof(*s));
	for (__u32 r = 0; r < PW_NDIR * PW_NREASON; r++) {
		err = xr_read_reason(x, r, &s->reasons[r]);
		if (err)
			return err;
	}
	s->ncounters = x->c->nslots * PW_NVERDICT;
	s->counters =
		calloc(s->ncounters ? s->ncounters : 1, sizeof(*s->counters));
	if (!s->counters)
		return -ENOMEM;
	for (__u32 i = 0; i < s->ncounters; i++) {
		err = xr_read_counter(x, i, &s->counters[i]);
		if (err)
			return err;
	}
	return pw_maps_foreach_unnamed(&x->m, xr_snap_unnamed_cb, s);
}

static inline const struct pw_counter *
xr_snap_unnamed(const struct xr_snap *s, const struct pw_counter_key *k)
{
	static const struct pw_counter zero;

	for (int i = 0; i < s->nunnamed; i++)
		if (!memcmp(&s->unnamed[i].key, k, sizeof(*k)))
			return &s->unnamed[i].sum;
	return &zero;
}

/*
 * Does @after equal @before plus exactly what @r predicts ({1, len} on
 * its reason in its direction and on its counter)?  On a difference,
 * describe the first one into @why.
 */
static inline bool xr_snap_delta_ok(const struct xr_snap *before,
				    const struct xr_snap *after,
				    const struct pw_classify_result *r,
				    char *why, size_t len)
{
	uint32_t want = pw_reason_index(r->dir, r->reason);

	for (uint32_t i = 0; i < PW_NDIR * PW_NREASON; i++) {
		uint64_t dp =
			after->reasons[i].packets - before->reasons[i].packets;
		uint64_t db =
			after->reasons[i].bytes - before->reasons[i].bytes;
		bool hit = i == want;

		if (dp != (hit ? 1 : 0) || db != (hit ? r->len : 0)) {
			snprintf(why, len,
				 "reason %s (%s) moved by {%llu, %llu}",
				 pw_reason_name(i % PW_NREASON),
				 i / PW_NREASON == PW_DIR_EGRESS ? "egress" :
								  "ingress",
				 (unsigned long long)dp,
				 (unsigned long long)db);
			return false;
		}
	}
	for (uint32_t i = 0; i < after->ncounters; i++) {
		uint64_t dp = after->counters[i].packets -
			      before->counters[i].packets;
		uint64_t db =
			after->counters[i].bytes - before->counters[i].bytes;
		bool hit =
			r->counter == PW_COUNTER_SLOT && i == r->counter_index;

		if (dp != (hit ? 1 : 0) || db != (hit ? r->len : 0)) {
			snprintf(why, len,
				 "counter %u (slot %u verdict %u) moved by "
				 "{%llu, %llu}",
				 i, i / PW_NVERDICT, i % PW_NVERDICT,
				 (unsigned long long)dp,
				 (unsigned long long)db);
			return false;
		}
	}
	for (int i = 0; i < after->nunnamed; i++) {
		const struct pw_counter_key *k = &after->unnamed[i].key;
		const struct pw_counter *b = xr_snap_unnamed(before, k);
		uint64_t dp = after->unnamed[i].sum.packets - b->packets;
		uint64_t db = after->unnamed[i].sum.bytes - b->bytes;
		bool hit = r->counter == PW_COUNTER_UNNAMED &&
			   !memcmp(k, &r->key, sizeof(*k));

		if (dp != (hit ? 1 : 0) || db != (hit ? r->len : 0)) {
			snprintf(why, len,
				 "unnamed {dir %u proto %u role %u port %u "
				 "verdict %u} moved by {%llu, %llu}",
				 k->dir, k->proto, k->role, k->port_lo,
				 k->verdict,
				 (unsigned long long)dp,
				 (unsigned long long)db);
			return false;
		}
	}
	if (r->counter == PW_COUNTER_UNNAMED &&
	    xr_snap_unnamed(after, &r->key)->packets == 0) {
		snprintf(why, len,
			 "unnamed key {proto %u role %u port %u verdict %u} "
			 "absent",
			 r->key.proto, r->key.role, r->key.port_lo,
			 r->key.verdict);
		return false;
	}
	return true;
}

/* "action reason counter" of a classifier result, for failure messages. */
static inline void xr_result_text(const struct pw_classify_result *r, char *buf,
				  size_t len)
{
	snprintf(buf, len,
		 "%s action %s reason %s counter %s%s index %u key {dir %u "
		 "proto %u role %u port %u-%u verdict %u} rule %u",
		 r->dir == PW_DIR_EGRESS ? "egress" : "ingress",
		 r->action == PW_XDP_DROP ? "DROP" : "PASS",
		 pw_reason_name(r->reason),
		 r->counter == PW_COUNTER_SLOT	    ? "slot"
		 : r->counter == PW_COUNTER_UNNAMED ? "unnamed"
						    : "none",
		 "", r->counter_index, r->key.dir, r->key.proto, r->key.role,
		 r->key.port_lo, r->key.port_hi, r->key.verdict, r->rule_id);
}

#endif /* PW_TESTS_XDPRUN_H */
