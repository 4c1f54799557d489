/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * compile.h - policy + inventory + host roles + tags -> datapath tables.
 *
 * struct pw_compiled holds ONE generation of every table in the exact
 * layout of include/portwarden.h, but densely sized (nsegs x nroles rather
 * than the map capacities).  The map writer (maps.c) copies it into the
 * inactive generation of the loaded maps; the reference classifier
 * (classify.c) reads it directly.
 *
 * Output is deterministic: the same inputs give the same bytes
 * (pw_compiled_digest() hashes them all).
 */
#ifndef PW_COMPILE_H
#define PW_COMPILE_H

#include <stdbool.h>
#include <stdint.h>

#include "portwarden.h"
#include "policy.h"

/* An IPv6 prefix: its length and its address masked to it. */
struct pw_v6_key {
	__u8 plen;
	__u8 pad[3];
	__u8 addr[16]; /* network order */
};

/* One IPv6 prefix of the compiled list, and its role. */
struct pw_v6_entry {
	struct pw_v6_key key;
	__u32 role;
};

/* A rule as it applies to this host, for `check` and reports. */
struct pw_effective_rule {
	uint32_t rule_id;
	enum pw_dir dir;   /* ingress: the host is the destination */
	const struct pw_rule *rule;
	bool reversed;     /* this direction comes from "bidirectional" */
};

/*
 * State carried over from the generation in force, so that role ids and
 * counter slots stay stable across a reload (counters survive).  Both
 * arrays may be NULL/0 for a first load or for `check`.
 */
struct pw_prev_state {
	const struct pw_role_name *roles; /* index = role id */
	uint32_t nroles;
	const struct pw_counter_key *slots; /* index = slot */
	uint32_t nslots;
};

struct pw_compile_opts {
	const char *const *host_roles; /* names; at least one */
	int nhost_roles;
	const char *const *tags;       /* enabled tags */
	int ntags;
	const struct pw_prev_state *prev; /* may be NULL */
};

struct pw_compiled {
	/* ids: role id -> name (0 = "unknown"); nroles = max id + 1 */
	struct pw_role_name *role_names;
	uint32_t nroles;
	/* role id -> index in pol->roles, or -1 (unknown, or a name kept
	 * from the previous generation that this policy no longer has) */
	int *role_index;

	/* IPv4 DIR-16-8-8 */
	__u32 *v4_tbl16;       /* PW_V4_TBL16_SIZE entries */
	__u32 *v4_tbl8;        /* v4_ngroups * PW_V4_GROUP_SIZE entries */
	uint32_t v4_ngroups;

	/* IPv6: every prefix, longest first then by address (the lengths
	 * present are in info.v6_plens) ... */
	struct pw_v6_entry *v6;
	uint32_t nv6;
	/* ... and the same prefixes as the pw_v6 bucket table of one
	 * generation: info.v6_nbuckets buckets, hashed with info.v6_seed,
	 * every key within info.v6_max_probe buckets of its home (see
	 * portwarden.h).  NULL when there is no IPv6 prefix. */
	struct pw_v6_bucket *v6_buckets;

	/* port -> segment, [dir][proto_idx][row] */
	struct pw_port_row *ports; /* PW_NDIR * PW_NPROTO * PW_PORT_ROWS rows */

	/* (dir, seg, role) -> entry; index (dir * nsegs_max + seg) * nroles + role */
	struct pw_rule_entry *entries;
	uint32_t nsegs_max;    /* max over directions of (segments + 1) */

	/* counter slots: slot -> key (verdict field 0) */
	struct pw_counter_key *slots;
	uint32_t nslots;

	/* per-generation scalars; policy_digest filled in */
	struct pw_gen_info info;

	/* the rules in force at this host, in file order, ingress first */
	struct pw_effective_rule *effective;
	int neffective;

	/* segment metadata for reports: [dir][seg] -> proto, lo, hi */
	struct pw_counter_key *segs[PW_NDIR];
	uint32_t nsegs[PW_NDIR]; /* including segment 0 */

	const struct pw_policy *pol; /* borrowed, for rule notes */
};

/* Returns 0, or -1 with errors in @d (then @out is zeroed). */
int pw_compile(const struct pw_policy *pol, const struct pw_inventory *inv,
	       const struct pw_compile_opts *opts, struct pw_compiled *out,
	       struct pw_diags *d);

void pw_compiled_free(struct pw_compiled *c);

/* FNV-1a 64 over every table, in a fixed order. */
uint64_t pw_compiled_digest(const struct pw_compiled *c);

/* Entry for (dir, seg, role) in the dense layout; NULL when out of range. */
const struct pw_rule_entry *pw_compiled_entry(const struct pw_compiled *c,
					      unsigned dir, unsigned seg,
					      unsigned role);

/* Segment of (dir, proto_idx, port), PW_SEG_NONE if no rule names it. */
uint16_t pw_compiled_seg(const struct pw_compiled *c, unsigned dir,
			 unsigned proto_idx, unsigned port);

/* Role id of an address (IPv4/IPv6, network order), PW_ROLE_UNKNOWN if none. */
uint32_t pw_compiled_role_v4(const struct pw_compiled *c, const uint8_t addr[4]);
uint32_t pw_compiled_role_v6(const struct pw_compiled *c, const uint8_t addr[16]);

/* The rule with id @rule_id, or NULL. */
const struct pw_rule *pw_compiled_rule(const struct pw_compiled *c,
				       uint32_t rule_id);

#endif /* PW_COMPILE_H */
