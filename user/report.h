/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * report.h - counters of a loaded interface, as rows an operator reads.
 *
 * Three steps, so that each can be used (and tested) on its own:
 *
 *	pw_snap_read(maps, &snap)            raw counters out of the maps
 *	pw_report_build(&snap, c, &o, &rep)  rows: keys named, notes, sorted
 *	pw_report_print_text/json/prom(...)  rendering
 *
 * pw_report_collect() does the first two.  Only pw_snap_read() touches the
 * kernel; a snapshot can be written by hand, so rendering needs no root.
 *
 * A row is one counter key: (direction, peer role, protocol, port or
 * port range, verdict).  The peer role is the source role on ingress and
 * the destination role on egress.  Slot counters (pw_counters) take their
 * rule id from the rule entry of the generation in force that uses the
 * slot; a violation on a port no rule names (pw_unnamed) has rule id 0.
 */
#ifndef PW_REPORT_H
#define PW_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "portwarden.h"
#include "compile.h"
#include "json.h"
#include "maps.h"
#include "state.h"

/* ------------------------------------------------------------------ */
/* Snapshot: what the maps hold                                        */
/* ------------------------------------------------------------------ */

#define PW_SNAP_NO_ENTRY 0xffffffffU

/* One pw_slots key with its four verdict counters. */
struct pw_snap_slot {
	struct pw_counter_key key; /* verdict field 0 */
	struct pw_counter sum[PW_NVERDICT];
	/*
	 * The rule entry of the generation in force that counts into this
	 * slot: its rule id and flags.  A slot kept from an earlier policy
	 * has none (in_force false).
	 */
	bool in_force;
	uint16_t rule_id;
	uint8_t entry_flags;
};

struct pw_snap_unnamed {
	struct pw_counter_key key; /* port_lo == port_hi, verdict set */
	struct pw_counter sum;
};

struct pw_snap {
	struct pw_snap_slot *slots; /* index = slot id */
	uint32_t nslots;	    /* slot ids in use: 0..nslots-1 */
	struct pw_snap_unnamed *unnamed;
	uint32_t nunnamed;
	struct pw_counter reasons[PW_NREASON]; /* of the ingress hook */
	struct pw_counter egress_reasons[PW_NREASON];
	struct pw_flow_usage flows;
	__u64 stats[PW_NSTAT]; /* pw_stats: flow table and events */
	struct pw_role_name *roles; /* index = role id */
	uint32_t nroles;
	struct pw_config cfg;
	struct pw_gen_info gen; /* of the active generation */
	/* when it was read: to place the enforce deadline in wall time */
	uint64_t read_mono_ns; /* CLOCK_MONOTONIC, the datapath's clock */
	time_t read_wall;
};

/*
 * Read every counter, the slot keys, the rule entries of the active
 * generation and the role names.  Returns 0 or a negative errno, with a
 * message for pw_maps_errmsg() when a map read failed.
 */
int pw_snap_read(const struct pw_maps *m, struct pw_snap *s);
void pw_snap_free(struct pw_snap *s);

/* ------------------------------------------------------------------ */
/* Report: rows                                                        */
/* ------------------------------------------------------------------ */

/* Where the rule notes came from. */
enum pw_notes {
	PW_NOTES_CURRENT = 0, /* the policy that is loaded */
	PW_NOTES_STALE = 1,   /* files changed since load: may be outdated */
	PW_NOTES_UNAVAILABLE = 2, /* no policy: every note says so */
};

enum pw_report_filter {
	PW_REPORT_ALL = 0,	  /* every row with packets */
	PW_REPORT_VIOLATIONS = 1, /* only audit and drop rows */
};

#define PW_NOTE_NO_RULE "no rule"
#define PW_NOTE_UNAVAILABLE "(policy unavailable)"
#define PW_NOTE_GONE "(slot of an earlier policy)"

struct pw_report_row {
	struct pw_counter_key key; /* verdict set */
	struct pw_counter sum;
	bool unnamed;	  /* from pw_unnamed (no slot) */
	bool earlier;	  /* a slot only an earlier policy counted into */
	uint32_t slot;	  /* valid when !unnamed */
	uint32_t rule_id; /* 0: none */
	const char *role; /* role name (points into the report) */
	const char *note; /* never NULL; "" when the rule has none */
};

/* An allow rule in force that nothing has hit since load (or reset). */
struct pw_report_unused {
	const struct pw_effective_rule *eff; /* borrowed from the policy */
	uint32_t nslots; /* counter slots this rule allows in the maps */
};

struct pw_report {
	/* identification, borrowed from the caller */
	const char *iface;
	const char *netns;  /* NULL: initial namespace */
	const char *policy; /* name; NULL if unknown */
	enum pw_notes notes;
	uint64_t digest; /* of the generation in force */
	uint32_t mode;	 /* enum pw_mode of the host */
	/*
	 * An enforce mode waiting for 'confirm': its deadline in wall time
	 * (0: none), and whether it passed, so that the datapath acts as
	 * audit (reverted).
	 */
	time_t enforce_deadline;
	bool reverted;
	/* the settings in force (roles, load times); NULL when unknown */
	const struct pw_state *st;

	struct pw_report_row *rows;
	uint32_t nrows;
	/* with a policy only (have_policy); borrowed from the compiled one */
	bool have_policy;
	const struct pw_policy *pol;
	struct pw_report_unused *unused;
	uint32_t nunused;
	struct pw_counter reasons[PW_NREASON]; /* of the ingress hook */
	struct pw_counter egress_reasons[PW_NREASON];
	struct pw_flow_usage flows;
	__u64 stats[PW_NSTAT];
	/* every counter key summed by direction and verdict, whatever the filter */
	struct pw_counter verdicts[PW_NDIR][PW_NVERDICT];

	/* role names as strings, index = role id; "role#N" for a gap */
	char (*role_text)[PW_ROLE_NAME_MAX];
	uint32_t nrole_text;
};

struct pw_report_opts {
	enum pw_report_filter filter;
	enum pw_notes notes; /* CURRENT or STALE when @c is given */
};

/*
 * Turn a snapshot into sorted rows (packets descending, then by key),
 * with role names and notes.  @c is the recompiled policy, or NULL when
 * the policy files are not available.  The report's identification
 * fields (iface, netns, policy) are left for the caller; digest and mode
 * are taken from the snapshot.  Returns 0 or -ENOMEM.
 */
int pw_report_build(const struct pw_snap *s, const struct pw_compiled *c,
		    const struct pw_report_opts *o, struct pw_report *r);

/* pw_snap_read() then pw_report_build(). */
int pw_report_collect(const struct pw_maps *m, const struct pw_compiled *c,
		      const struct pw_report_opts *o, struct pw_report *r);

void pw_report_free(struct pw_report *r);

/* ------------------------------------------------------------------ */
/* A loaded interface                                                  */
/* ------------------------------------------------------------------ */

/* The policy behind the notes and the unused rules of a loaded interface. */
struct pw_report_policy {
	struct pw_policy pol;
	struct pw_inventory inv;
	struct pw_compiled c;
	bool ok;	/* recompiled: c holds it */
	bool stale;	/* the files changed since the last load or reload */
	char name[256]; /* policy name, or the file's basename without .policy */
	char why[512];	/* when !ok: the first error */
};

/*
 * Recompile the policy recorded for @l (pw_loaded_recompile()).  Failing
 * is not an error for a report, whose counters are worth having without
 * notes: p->ok says which, p->why why not.
 */
void pw_report_policy_load(const struct pw_loaded *l,
			   struct pw_report_policy *p);
void pw_report_policy_free(struct pw_report_policy *p);

/*
 * pw_report_collect() for a loaded interface, with @p's policy when it is
 * ok, and the identification filled in: iface, netns, policy name and
 * the settings in force, borrowed from @l, @netns and @p.
 */
int pw_report_loaded(const struct pw_loaded *l, const char *netns,
		     const struct pw_report_policy *p,
		     enum pw_report_filter filter, struct pw_report *r);

/* ------------------------------------------------------------------ */
/* Rendering                                                           */
/* ------------------------------------------------------------------ */

/* "tcp/3306", "udp/4000-4003", "icmp/8", "proto-47" (no port). */
void pw_report_proto_port(const struct pw_counter_key *k, char *buf,
			  size_t len);
/* "tcp", "udp", "sctp", "icmp", "icmpv6", or "proto-N" for others. */
void pw_report_proto_name(unsigned ipproto, char *buf, size_t len);
/* "3306", "4000-4003", or "" for a protocol without ports. */
void pw_report_port_text(const struct pw_counter_key *k, char *buf, size_t len);

/* The rows table, then the not-judged reasons. */
void pw_report_print_text(const struct pw_report *r, FILE *out);
/* The --unused list. */
void pw_report_print_unused_text(const struct pw_report *r, FILE *out);

/*
 * One JSON object (the caller's writer, at the top level or as an array
 * element): identification, rows (or unused rules when @unused), reasons.
 */
void pw_report_print_json(const struct pw_report *r, struct pw_json *j,
			  bool unused);

/*
 * Prometheus text exposition (version 0.0.4) of @n reports, one per
 * interface: each metric family's HELP and TYPE once, then the samples of
 * every report, so that the families stay whole.  docs/metrics.md lists
 * the families and their labels.
 */
void pw_prom_write_reports(const struct pw_report *const *r, size_t n,
			   FILE *out);

/* The same for one interface: node_exporter's textfile format. */
void pw_report_print_prometheus(const struct pw_report *r, FILE *out);

/* "# HELP name help" and "# TYPE name type". */
void pw_prom_header(FILE *out, const char *name, const char *type,
		    const char *help);

/* Write @s as a Prometheus label value (quotes included). */
void pw_prom_label_value(FILE *out, const char *s);

#endif /* PW_REPORT_H */
