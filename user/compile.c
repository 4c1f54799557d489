/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * compile.c - policy + inventory + host roles + tags -> datapath tables.
 *
 * The work is done in passes over one struct compile_ctx:
 *
 *   1. check the host's roles and tags against the policy;
 *   2. give every role an id (stable by name across reloads);
 *   3. decide, per direction, which rules apply at this host and which
 *      peer roles each rule lets through;
 *   4. cut each (direction, protocol) port space into segments and fill
 *      the port table;
 *   5. judge every (direction, segment, role) once, in user space, so the
 *      datapath only has to read the answer;
 *   6. give every judged cell a counter slot (stable by key across reloads);
 *   7. build the IPv4 DIR-16-8-8 arrays, the IPv6 prefix entries and
 *      the IPv6 bucket table.
 *
 * Every loop runs in a fixed order over sorted or file-ordered inputs, so
 * the same inputs always give the same bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"

#define ROLE_WORDS (PW_MAX_ROLES / 64)
#define PORT_SPACE 65536U
#define ICMP_TYPES 256U

/* A set of role ids, one bit each. */
struct role_set {
	uint64_t w[ROLE_WORDS];
};

/* How a rule applies in one direction at this host. */
enum {
	APPLY_FWD = 1 << 0, /* as written */
	APPLY_REV = 1 << 1, /* swapped, from "bidirectional" */
};

struct seg_def {
	uint8_t proto_idx;
	uint16_t lo, hi;
};

struct mode_pair {
	uint32_t a, b; /* rule ids whose modes disagree, already reported */
};

struct compile_ctx {
	const struct pw_policy *pol;
	const struct pw_inventory *inv;
	const struct pw_compile_opts *opts;
	struct pw_diags *d;
	struct pw_compiled *out;

	bool *host_role;  /* policy role index -> held by this host */
	bool *tag_on;     /* policy tag index -> enabled */
	int *role_id;     /* policy role index -> role id */
	uint8_t *apply[PW_NDIR];          /* rule index -> APPLY_* */
	struct role_set *peers[PW_NDIR];  /* rule index -> peer role ids */
	struct seg_def *seg[PW_NDIR];     /* segment id -> definition */
	uint32_t nseg[PW_NDIR];           /* including segment 0 */
	/* segment id -> the rules naming it, in file order: rules
	 * seg_rule[dir][seg_first[dir][s] .. seg_first[dir][s + 1]); NULL
	 * when that index would be too large (then every rule is asked) */
	uint32_t *seg_first[PW_NDIR];
	int *seg_rule[PW_NDIR];

	struct mode_pair *warned;
	int nwarned;
};

static const struct pw_loc cli_loc = { NULL, 0, 0 };

static void role_set_add(struct role_set *s, uint32_t id)
{
	s->w[id / 64] |= 1ULL << (id % 64);
}

static bool role_set_has(const struct role_set *s, uint32_t id)
{
	return s->w[id / 64] & (1ULL << (id % 64));
}

static bool is_icmp(int proto_idx)
{
	return proto_idx == PW_P_ICMP || proto_idx == PW_P_ICMPV6;
}

static const char *mode_name(int mode)
{
	switch (mode) {
	case PW_MODE_AUDIT:
		return "audit";
	case PW_MODE_ENFORCE:
		return "enforce";
	default:
		return "host";
	}
}

static const char *dir_name(int dir)
{
	return dir == PW_DIR_INGRESS ? "ingress" : "egress";
}

/*
 * The port items of @r: an ICMP rule without types covers every type, so it
 * is handed out as one 0-255 item.
 */
static const struct pw_port_range *rule_items(const struct pw_rule *r,
					      int proto_idx, int *n)
{
	static const struct pw_port_range all_types = { 0, ICMP_TYPES - 1 };

	if (r->nports == 0 && is_icmp(proto_idx)) {
		*n = 1;
		return &all_types;
	}
	*n = r->nports;
	return r->ports;
}

/* Does @r name port @port of @proto_idx? */
static bool rule_names(const struct pw_rule *r, int proto_idx, unsigned port)
{
	const struct pw_port_range *items;
	int i, n;

	if (!(r->protos & (1U << proto_idx)))
		return false;
	items = rule_items(r, proto_idx, &n);
	for (i = 0; i < n; i++)
		if (items[i].lo <= port && port <= items[i].hi)
			return true;
	return false;
}

/* ------------------------------------------------------------------ */
/* Host roles and tags                                                 */
/* ------------------------------------------------------------------ */

/* "a, b, c" of the declared (not implicit) roles, or of the tags. */
static char *name_list(const struct pw_policy *pol, bool roles)
{
	size_t len = 1, off = 0;
	int i, n = roles ? pol->nroles : pol->ntags;
	const char *name;
	char *s;

	for (i = 0; i < n; i++) {
		name = roles ? pol->roles[i].name : pol->tags[i].name;
		len += strlen(name) + 2;
	}
	s = malloc(len);
	if (!s)
		return NULL;
	s[0] = '\0';
	for (i = 0; i < n; i++) {
		if (roles && pol->roles[i].implicit)
			continue;
		name = roles ? pol->roles[i].name : pol->tags[i].name;
		off += sprintf(s + off, "%s%s", off ? ", " : "", name);
	}
	return s;
}

static int check_host_roles(struct compile_ctx *cx)
{
	const struct pw_policy *pol = cx->pol;
	const struct pw_compile_opts *o = cx->opts;
	int i, idx, bad = 0;
	char *valid;

	if (o->nhost_roles < 1) {
		pw_error(cx->d, &cli_loc, "--role: at least one role is needed");
		return -1;
	}
	for (i = 0; i < o->nhost_roles; i++) {
		idx = pw_policy_find_role(pol, o->host_roles[i]);
		if (idx >= 0 && !pol->roles[idx].implicit) {
			cx->host_role[idx] = true;
			continue;
		}
		valid = name_list(pol, true);
		pw_error(cx->d, &cli_loc,
			 "--role: unknown role '%s' (policy %s declares: %s)",
			 o->host_roles[i], pol->name ? pol->name : "?",
			 valid && *valid ? valid : "no roles");
		free(valid);
		bad = -1;
	}
	return bad;
}

static int check_tags(struct compile_ctx *cx)
{
	const struct pw_policy *pol = cx->pol;
	const struct pw_compile_opts *o = cx->opts;
	int i, idx, bad = 0;
	char *valid;

	for (i = 0; i < o->ntags; i++) {
		idx = pw_policy_find_tag(pol, o->tags[i]);
		if (idx >= 0) {
			cx->tag_on[idx] = true;
			continue;
		}
		valid = name_list(pol, false);
		pw_error(cx->d, &cli_loc,
			 "--tag: unknown tag '%s' (policy %s declares: %s)",
			 o->tags[i], pol->name ? pol->name : "?",
			 valid && *valid ? valid : "no tags");
		free(valid);
		bad = -1;
	}
	return bad;
}

/* ------------------------------------------------------------------ */
/* Role ids                                                            */
/* ------------------------------------------------------------------ */

/* A policy role's name as the maps store it (cut to fit). */
static void stored_name(const char *name, char buf[PW_ROLE_NAME_MAX])
{
	memset(buf, 0, PW_ROLE_NAME_MAX);
	strncpy(buf, name, PW_ROLE_NAME_MAX - 1);
}

/* Id of @name in the previous generation, or 0. */
static uint32_t prev_role_id(const struct pw_prev_state *prev,
			     const char name[PW_ROLE_NAME_MAX])
{
	uint32_t id;

	if (!prev || !prev->roles)
		return 0;
	for (id = 1; id < prev->nroles && id < PW_MAX_ROLES; id++)
		if (prev->roles[id].name[0] &&
		    !strncmp(prev->roles[id].name, name, PW_ROLE_NAME_MAX))
			return id;
	return 0;
}

/*
 * Roles named in the previous generation keep their id, so that counters
 * and events keyed by id mean the same role after a reload; a name the
 * new policy lacks keeps its id reserved.  New roles take the lowest free
 * ids, in policy order.
 */
static int assign_role_ids(struct compile_ctx *cx)
{
	const struct pw_prev_state *prev = cx->opts->prev;
	struct pw_compiled *out = cx->out;
	bool taken[PW_MAX_ROLES] = { true }; /* id 0 is "unknown" */
	bool claimed[PW_MAX_ROLES] = { false };
	char name[PW_ROLE_NAME_MAX];
	uint32_t id, next = 1, max_id = 0, nprev = 0;
	int i;

	if (prev && prev->roles)
		nprev = prev->nroles < PW_MAX_ROLES ? prev->nroles :
						      PW_MAX_ROLES;
	for (id = 1; id < nprev; id++) {
		if (prev->roles[id].name[0]) {
			taken[id] = true;
			max_id = id;
		}
	}
	for (i = 0; i < cx->pol->nroles; i++) {
		stored_name(cx->pol->roles[i].name, name);
		id = prev_role_id(prev, name);
		/* two long names may share a stored form: the first keeps it */
		if (id && claimed[id])
			id = 0;
		claimed[id] = true;
		cx->role_id[i] = id;
	}
	for (i = 0; i < cx->pol->nroles; i++) {
		if (cx->role_id[i])
			continue;
		while (next < PW_MAX_ROLES && taken[next])
			next++;
		if (next >= PW_MAX_ROLES) {
			pw_error(cx->d, &cli_loc,
				 "too many roles: %d more than fit (ids count 'unknown', literal peers and roles kept from the loaded policy); the limit is %d",
				 cx->pol->nroles - i, PW_MAX_ROLES);
			return -1;
		}
		taken[next] = true;
		cx->role_id[i] = next;
	}
	for (i = 0; i < cx->pol->nroles; i++)
		if ((uint32_t)cx->role_id[i] > max_id)
			max_id = cx->role_id[i];

	out->nroles = max_id + 1;
	out->role_names = calloc(out->nroles, sizeof(*out->role_names));
	out->role_index = malloc(out->nroles * sizeof(*out->role_index));
	if (!out->role_names || !out->role_index)
		return -ENOMEM;
	for (id = 0; id < out->nroles; id++)
		out->role_index[id] = -1;
	strcpy(out->role_names[0].name, "unknown");
	for (id = 1; id < nprev && id < out->nroles; id++)
		memcpy(out->role_names[id].name, prev->roles[id].name,
		       PW_ROLE_NAME_MAX);
	for (i = 0; i < cx->pol->nroles; i++) {
		id = cx->role_id[i];
		stored_name(cx->pol->roles[i].name, out->role_names[id].name);
		out->role_index[id] = i;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Which rules apply here                                              */
/* ------------------------------------------------------------------ */

static bool rule_kept(const struct compile_ctx *cx, const struct pw_rule *r)
{
	int i;

	for (i = 0; i < r->ntags; i++)
		if (r->tags[i] < 0 || r->tags[i] >= cx->pol->ntags ||
		    !cx->tag_on[r->tags[i]])
			return false;
	return true;
}

static bool peers_hold_host(const struct compile_ctx *cx,
			    const struct pw_peer *p, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (p[i].role == PW_PEER_ANY)
			return true;
		if (p[i].role >= 0 && p[i].role < cx->pol->nroles &&
		    cx->host_role[p[i].role])
			return true;
	}
	return false;
}

static void add_peers(const struct compile_ctx *cx, struct role_set *s,
		      const struct pw_peer *p, int n)
{
	uint32_t id;
	int i;

	for (i = 0; i < n; i++) {
		if (p[i].role == PW_PEER_ANY) {
			for (id = 0; id < PW_MAX_ROLES; id++)
				role_set_add(s, id);
		} else if (p[i].role >= 0 && p[i].role < cx->pol->nroles) {
			role_set_add(s, cx->role_id[p[i].role]);
		}
	}
}

/*
 * Ingress is judged at the destination, so the host must be among the
 * rule's destinations and the peers are its sources; egress is the
 * mirror.  "bidirectional" adds the same with the two lists swapped.
 */
static void find_applicable(struct compile_ctx *cx)
{
	const struct pw_rule *r;
	const struct pw_peer *here, *there;
	int nhere, nthere, dir, i;
	uint8_t a;

	for (i = 0; i < cx->pol->nrules; i++) {
		r = &cx->pol->rules[i];
		if (!rule_kept(cx, r))
			continue;
		if (r->kind == PW_RULE_LOOPBACK) {
			if (peers_hold_host(cx, r->dst, r->ndst))
				cx->apply[PW_DIR_INGRESS][i] = APPLY_FWD;
			continue;
		}
		for (dir = 0; dir < PW_NDIR; dir++) {
			here = dir == PW_DIR_INGRESS ? r->dst : r->src;
			nhere = dir == PW_DIR_INGRESS ? r->ndst : r->nsrc;
			there = dir == PW_DIR_INGRESS ? r->src : r->dst;
			nthere = dir == PW_DIR_INGRESS ? r->nsrc : r->ndst;
			a = 0;
			if (peers_hold_host(cx, here, nhere)) {
				a |= APPLY_FWD;
				add_peers(cx, &cx->peers[dir][i], there,
					  nthere);
			}
			if (r->bidirectional &&
			    peers_hold_host(cx, there, nthere)) {
				a |= APPLY_REV;
				add_peers(cx, &cx->peers[dir][i], here, nhere);
			}
			cx->apply[dir][i] = a;
		}
	}
}

/* ------------------------------------------------------------------ */
/* Segments and the port table                                         */
/* ------------------------------------------------------------------ */

static int add_segment(struct compile_ctx *cx, int dir, int proto_idx,
		       unsigned lo, unsigned hi)
{
	struct pw_port_row *rows;
	struct seg_def *v;
	uint32_t id = cx->nseg[dir], port;

	if (id > UINT16_MAX) {
		pw_error(cx->d, &cli_loc,
			 "too many port segments on %s: the limit is %u",
			 dir_name(dir), UINT16_MAX);
		return -1;
	}
	v = realloc(cx->seg[dir], (id + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	cx->seg[dir] = v;
	v[id] = (struct seg_def){ proto_idx, lo, hi };
	cx->nseg[dir] = id + 1;

	rows = cx->out->ports + (dir * PW_NPROTO + proto_idx) * PW_PORT_ROWS;
	for (port = lo; port <= hi; port++)
		rows[port / PW_PORTS_PER_ROW].seg[port % PW_PORTS_PER_ROW] = id;
	return 0;
}

/*
 * Cut one protocol's port space at both ends of every item of every rule
 * that applies in @dir; each covered run between two cuts is a segment.
 * Coverage only changes at a cut, so one sweep finds the runs.
 */
static int segment_proto(struct compile_ctx *cx, int dir, int proto_idx,
			 bool *cut, int *delta)
{
	const struct pw_port_range *items;
	const struct pw_rule *r;
	unsigned port, run_lo = 0;
	int i, k, n, cover = 0, run_cover = 0, err;
	bool any = false;

	memset(cut, 0, (PORT_SPACE + 1) * sizeof(*cut));
	memset(delta, 0, (PORT_SPACE + 1) * sizeof(*delta));
	for (i = 0; i < cx->pol->nrules; i++) {
		r = &cx->pol->rules[i];
		if (!cx->apply[dir][i] || !(r->protos & (1U << proto_idx)))
			continue;
		items = rule_items(r, proto_idx, &n);
		for (k = 0; k < n; k++) {
			cut[items[k].lo] = cut[items[k].hi + 1] = true;
			delta[items[k].lo]++;
			delta[items[k].hi + 1]--;
			any = true;
		}
	}
	if (!any)
		return 0;
	for (port = 0; port <= PORT_SPACE; port++) {
		if (port == PORT_SPACE || cut[port]) {
			if (port > run_lo && run_cover > 0) {
				err = add_segment(cx, dir, proto_idx, run_lo,
						  port - 1);
				if (err)
					return err;
			}
			if (port == PORT_SPACE)
				break;
			run_lo = port;
		}
		cover += delta[port];
		if (cut[port])
			run_cover = cover;
	}
	return 0;
}

static int build_segments(struct compile_ctx *cx)
{
	bool *cut = malloc((PORT_SPACE + 1) * sizeof(*cut));
	int *delta = malloc((PORT_SPACE + 1) * sizeof(*delta));
	int dir, p, err = -ENOMEM;

	if (!cut || !delta)
		goto out;
	for (dir = 0; dir < PW_NDIR; dir++) {
		cx->seg[dir] = calloc(1, sizeof(*cx->seg[dir]));
		if (!cx->seg[dir])
			goto out;
		cx->nseg[dir] = 1; /* segment 0: no rule names the port */
		for (p = 0; p < PW_NPROTO; p++) {
			err = segment_proto(cx, dir, p, cut, delta);
			if (err)
				goto out;
		}
	}
	err = 0;
out:
	free(cut);
	free(delta);
	return err;
}

static int fill_segment_meta(struct compile_ctx *cx)
{
	struct pw_compiled *out = cx->out;
	struct pw_counter_key *k;
	uint32_t dir, s;

	out->nsegs_max = 1;
	for (dir = 0; dir < PW_NDIR; dir++) {
		out->nsegs[dir] = cx->nseg[dir];
		out->info.nsegs[dir] = cx->nseg[dir];
		if (cx->nseg[dir] > out->nsegs_max)
			out->nsegs_max = cx->nseg[dir];
		out->segs[dir] = calloc(cx->nseg[dir], sizeof(*k));
		if (!out->segs[dir])
			return -ENOMEM;
		for (s = 1; s < cx->nseg[dir]; s++) {
			k = &out->segs[dir][s];
			k->dir = dir;
			k->proto = pw_proto_ipproto(cx->seg[dir][s].proto_idx);
			k->port_lo = cx->seg[dir][s].lo;
			k->port_hi = cx->seg[dir][s].hi;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Judging (segment, role)                                             */
/* ------------------------------------------------------------------ */

static void segment_text(const struct seg_def *s, char *buf, size_t len)
{
	if (s->lo == s->hi)
		snprintf(buf, len, "%s %u", pw_proto_name(s->proto_idx), s->lo);
	else
		snprintf(buf, len, "%s %u-%u", pw_proto_name(s->proto_idx),
			 s->lo, s->hi);
}

/* Is one of @r's port items exactly segment @s (nothing else of it)? */
static bool item_is_segment(const struct pw_rule *r, const struct seg_def *s)
{
	const struct pw_port_range *items;
	int i, n;

	items = rule_items(r, s->proto_idx, &n);
	for (i = 0; i < n; i++)
		if (items[i].lo == s->lo && items[i].hi == s->hi)
			return true;
	return false;
}

/* Report each pair of rules once, however many segments they share. */
static bool first_report(struct compile_ctx *cx, uint32_t a, uint32_t b)
{
	struct mode_pair *v;
	int i;

	for (i = 0; i < cx->nwarned; i++)
		if (cx->warned[i].a == a && cx->warned[i].b == b)
			return false;
	v = realloc(cx->warned, (cx->nwarned + 1) * sizeof(*v));
	if (!v)
		return false;
	cx->warned = v;
	v[cx->nwarned++] = (struct mode_pair){ a, b };
	return true;
}

/*
 * Two ways a rule can be outvoted on a segment without the author
 * noticing: a loopback rule there makes an allow of just that port moot,
 * and without one, violations follow the first rule naming the segment, so a later
 * rule's different mode does not apply.
 */
static void check_outvoted(struct compile_ctx *cx, int dir,
			   const struct seg_def *s, const struct pw_rule *first,
			   const struct pw_rule *loop, const struct pw_rule *r)
{
	char what[48];

	segment_text(s, what, sizeof(what));
	if (loop) {
		/* a range that merely spans a loopback port is expected */
		if (r->kind == PW_RULE_ALLOW && item_is_segment(r, s) &&
		    first_report(cx, loop->id, r->id))
			pw_warn(cx->d, &r->loc,
				"rule %u allows %s, but loopback rule %u makes it loopback-only on this host: the allow has no effect here",
				r->id, what, loop->id);
		return;
	}
	if (r == first || r->mode == first->mode ||
	    !first_report(cx, first->id, r->id))
		return;
	pw_warn(cx->d, &r->loc,
		"rule %u (mode %s) and rule %u (mode %s) both name %s on %s; violations there take the mode of rule %u, the first",
		first->id, mode_name(first->mode), r->id, mode_name(r->mode),
		what, dir_name(dir), first->id);
}

/*
 * Rules per segment.  Judging asks, for every segment, which rules name
 * it; asking every rule made compile time grow with rules x segments
 * (24 s at the 65,535-rule limit).  Each item of a rule covers a run of
 * consecutive segment ids of its protocol (segments are cut at every
 * item's ends and numbered in port order), so one pass over the rules'
 * items lists, per segment, the rules that name it.  The index holds one
 * entry per (rule, segment it names): a policy of many wide ranges over
 * many segments could make that huge, and then judging asks every rule,
 * as before.
 */
#ifndef SEG_RULES_MAX /* -D: tests of the fallback */
#define SEG_RULES_MAX (1U << 24)
#endif

static uint16_t seg_of(const struct compile_ctx *cx, int dir, int proto_idx,
		       unsigned port)
{
	const struct pw_port_row *rows =
		cx->out->ports + (dir * PW_NPROTO + proto_idx) * PW_PORT_ROWS;

	return rows[port / PW_PORTS_PER_ROW].seg[port % PW_PORTS_PER_ROW];
}

/*
 * Call @fn(cx, dir, seg, rule, arg) once for every segment rule @i names
 * in @dir, segments ascending per item.  A rule naming a segment through
 * two items is seen twice; @fn drops repeats.
 */
static void for_rule_segments(struct compile_ctx *cx, int dir, int i,
			      void (*fn)(struct compile_ctx *, int, uint32_t,
					 int, void *),
			      void *arg)
{
	const struct pw_rule *r = &cx->pol->rules[i];
	const struct pw_port_range *items;
	int p, k, n;
	uint32_t seg, last;

	for (p = 0; p < PW_NPROTO; p++) {
		if (!(r->protos & (1U << p)))
			continue;
		items = rule_items(r, p, &n);
		for (k = 0; k < n; k++) {
			last = seg_of(cx, dir, p, items[k].hi);
			for (seg = seg_of(cx, dir, p, items[k].lo);
			     seg && seg <= last; seg++)
				fn(cx, dir, seg, i, arg);
		}
	}
}

struct seg_count {
	uint32_t *n;    /* per segment */
	int *last;      /* per segment: the last rule counted */
	uint64_t total;
};

static void count_seg_rule(struct compile_ctx *cx, int dir, uint32_t seg,
			   int i, void *arg)
{
	struct seg_count *c = arg;

	(void)cx;
	(void)dir;
	if (c->last[seg] == i)
		return;
	c->last[seg] = i;
	c->n[seg]++;
	c->total++;
}

static void fill_seg_rule(struct compile_ctx *cx, int dir, uint32_t seg,
			  int i, void *arg)
{
	uint32_t *next = arg;

	if (next[seg] > cx->seg_first[dir][seg] &&
	    cx->seg_rule[dir][next[seg] - 1] == i)
		return;
	cx->seg_rule[dir][next[seg]++] = i;
}

static int index_seg_rules(struct compile_ctx *cx, int dir)
{
	uint32_t nseg = cx->nseg[dir], s, *next = NULL;
	struct seg_count c = { 0 };
	int i, err = -ENOMEM;

	c.n = calloc(nseg, sizeof(*c.n));
	c.last = malloc(nseg * sizeof(*c.last));
	if (!c.n || !c.last)
		goto out;
	for (s = 0; s < nseg; s++)
		c.last[s] = -1;
	for (i = 0; i < cx->pol->nrules; i++)
		if (cx->apply[dir][i])
			for_rule_segments(cx, dir, i, count_seg_rule, &c);
	err = 0;
	if (c.total > SEG_RULES_MAX)
		goto out; /* judging falls back to asking every rule */
	err = -ENOMEM;
	cx->seg_first[dir] = malloc((nseg + 1) * sizeof(uint32_t));
	cx->seg_rule[dir] = malloc((c.total ? c.total : 1) * sizeof(int));
	next = malloc(nseg * sizeof(*next));
	if (!cx->seg_first[dir] || !cx->seg_rule[dir] || !next)
		goto out;
	cx->seg_first[dir][0] = 0;
	for (s = 0; s < nseg; s++) {
		cx->seg_first[dir][s + 1] = cx->seg_first[dir][s] + c.n[s];
		next[s] = cx->seg_first[dir][s];
	}
	for (i = 0; i < cx->pol->nrules; i++)
		if (cx->apply[dir][i])
			for_rule_segments(cx, dir, i, fill_seg_rule, next);
	err = 0;
out:
	if (err || c.total > SEG_RULES_MAX) {
		free(cx->seg_first[dir]);
		free(cx->seg_rule[dir]);
		cx->seg_first[dir] = NULL;
		cx->seg_rule[dir] = NULL;
	}
	free(next);
	free(c.n);
	free(c.last);
	return err;
}

/*
 * The next rule after index *@pos that names segment @seg in @dir, or
 * NULL; start with *@pos = -1.  Rules come in file order.
 */
static const struct pw_rule *next_rule(const struct compile_ctx *cx, int dir,
				       uint32_t seg, int *pos)
{
	const struct seg_def *s = &cx->seg[dir][seg];
	const struct pw_rule *r;
	int i;

	if (cx->seg_first[dir]) {
		uint32_t at = cx->seg_first[dir][seg] + (uint32_t)(*pos + 1);

		if (at >= cx->seg_first[dir][seg + 1])
			return NULL;
		(*pos)++;
		return &cx->pol->rules[cx->seg_rule[dir][at]];
	}
	for (i = *pos + 1; i < cx->pol->nrules; i++) {
		r = &cx->pol->rules[i];
		if (cx->apply[dir][i] && rule_names(r, s->proto_idx, s->lo)) {
			*pos = i;
			return r;
		}
	}
	*pos = i;
	return NULL;
}

/* Entries of one segment: allowed roles, then violations for the rest. */
static void judge_segment(struct compile_ctx *cx, int dir, uint32_t seg)
{
	struct pw_compiled *out = cx->out;
	const struct seg_def *s = &cx->seg[dir][seg];
	const struct pw_rule *r, *first = NULL, *loop = NULL;
	struct pw_rule_entry *row;
	uint32_t role;
	int i, pos = -1;

	row = &out->entries[(dir * out->nsegs_max + seg) * out->nroles];
	while ((r = next_rule(cx, dir, seg, &pos))) {
		i = (int)(r - cx->pol->rules);
		if (!first)
			first = r;
		if (r->kind == PW_RULE_LOOPBACK) {
			if (!loop)
				loop = r;
			continue;
		}
		for (role = 0; role < out->nroles; role++) {
			if (row[role].flags & PW_ENTRY_ALLOW ||
			    !role_set_has(&cx->peers[dir][i], role))
				continue;
			row[role] = (struct pw_rule_entry){
				.rule_id = r->id,
				.flags = PW_ENTRY_ALLOW,
				.mode = r->mode,
			};
		}
	}
	pos = -1;
	while ((r = next_rule(cx, dir, seg, &pos)))
		check_outvoted(cx, dir, s, first, loop, r);
	for (role = 0; role < out->nroles; role++) {
		if (loop) /* from the wire, a loopback port is always wrong */
			row[role] = (struct pw_rule_entry){
				.rule_id = loop->id,
				.flags = PW_ENTRY_LOOPBACK,
				.mode = loop->mode,
			};
		else if (!(row[role].flags & PW_ENTRY_ALLOW) && first)
			row[role] = (struct pw_rule_entry){
				.rule_id = first->id,
				.mode = first->mode,
			};
	}
}

static int judge_all(struct compile_ctx *cx)
{
	struct pw_compiled *out = cx->out;
	uint32_t s;
	int dir;

	out->entries = calloc((size_t)PW_NDIR * out->nsegs_max * out->nroles,
			      sizeof(*out->entries));
	if (!out->entries)
		return -ENOMEM;
	for (dir = 0; dir < PW_NDIR; dir++) {
		if (index_seg_rules(cx, dir))
			return -ENOMEM;
		for (s = 1; s < cx->nseg[dir]; s++)
			judge_segment(cx, dir, s);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Counter slots                                                       */
/* ------------------------------------------------------------------ */

struct slot_ref {
	struct pw_counter_key key;
	uint32_t slot;
};

static int slot_ref_cmp(const void *a, const void *b)
{
	const struct slot_ref *x = a, *y = b;
	int c = memcmp(&x->key, &y->key, sizeof(x->key));

	if (c)
		return c;
	return (x->slot > y->slot) - (x->slot < y->slot);
}

static int key_cmp(const void *key, const void *elem)
{
	const struct slot_ref *e = elem;

	return memcmp(key, &e->key, sizeof(e->key));
}

/* Lowest previous slot holding @key, or -1. */
static int64_t prev_slot(const struct slot_ref *refs, uint32_t n,
			 const struct pw_counter_key *key)
{
	const struct slot_ref *hit;

	hit = bsearch(key, refs, n, sizeof(*refs), key_cmp);
	if (!hit)
		return -1;
	while (hit > refs && !memcmp(&hit[-1].key, key, sizeof(*key)))
		hit--;
	return hit->slot;
}

static struct pw_counter_key cell_key(const struct pw_compiled *out,
				      uint32_t dir, uint32_t seg, uint32_t role)
{
	struct pw_counter_key k = out->segs[dir][seg];

	k.role = role;
	k.verdict = 0;
	return k;
}

/*
 * A counter slot per judged cell.  A key the previous generation had keeps
 * its slot, so its counters carry on; new keys go after the previous
 * slots, whose keys stay reserved so that old counters stay readable.
 */
static int assign_slots(struct compile_ctx *cx)
{
	const struct pw_prev_state *prev = cx->opts->prev;
	struct pw_compiled *out = cx->out;
	struct slot_ref *refs = NULL;
	struct pw_counter_key k;
	struct pw_rule_entry *e;
	uint32_t nprev = 0, next, cap, dir, s, role, i;
	int64_t hit;
	int err = -ENOMEM;

	if (prev && prev->slots)
		nprev = prev->nslots;
	cap = nprev;
	for (dir = 0; dir < PW_NDIR; dir++)
		cap += (cx->nseg[dir] - 1) * out->nroles;
	out->slots = calloc(cap ? cap : 1, sizeof(*out->slots));
	if (!out->slots)
		goto out;
	if (nprev) {
		refs = malloc(nprev * sizeof(*refs));
		if (!refs)
			goto out;
		for (i = 0; i < nprev; i++) {
			refs[i].key = prev->slots[i];
			refs[i].slot = i;
			out->slots[i] = prev->slots[i];
		}
		qsort(refs, nprev, sizeof(*refs), slot_ref_cmp);
	}
	next = nprev;
	for (dir = 0; dir < PW_NDIR; dir++) {
		for (s = 1; s < cx->nseg[dir]; s++) {
			for (role = 0; role < out->nroles; role++) {
				k = cell_key(out, dir, s, role);
				hit = nprev ? prev_slot(refs, nprev, &k) : -1;
				e = &out->entries[(dir * out->nsegs_max + s) *
							  out->nroles + role];
				e->slot = hit >= 0 ? (uint32_t)hit : next++;
				out->slots[e->slot] = k;
			}
		}
	}
	out->nslots = next;
	err = 0;
out:
	free(refs);
	return err;
}

/* ------------------------------------------------------------------ */
/* Addresses                                                           */
/* ------------------------------------------------------------------ */

struct addr_ref {
	struct pw_prefix prefix;
	uint32_t role;
	int policy_role;
	const struct pw_loc *loc;
};

/* Shorter prefixes first, then by address: DIR-16-8-8 is filled in this
 * order so that a longer prefix overwrites the shorter one it sits in. */
static int addr_ref_cmp_v4(const void *a, const void *b)
{
	const struct addr_ref *x = a, *y = b;

	if (x->prefix.plen != y->prefix.plen)
		return x->prefix.plen - y->prefix.plen;
	return memcmp(x->prefix.addr, y->prefix.addr, 4);
}

static void mask_prefix(struct pw_prefix *p)
{
	unsigned nbytes = p->family == 4 ? 4 : 16, i, bits;

	for (i = 0; i < nbytes; i++) {
		bits = p->plen > i * 8 ? p->plen - i * 8 : 0;
		if (bits < 8)
			p->addr[i] &= (uint8_t)(0xff00 >> bits);
	}
	for (i = nbytes; i < 16; i++)
		p->addr[i] = 0;
}

/* Every prefix of @family: inventory entries and literal peers. */
static int collect_prefixes(struct compile_ctx *cx, int family,
			    struct addr_ref **refs, int *n)
{
	const struct pw_policy *pol = cx->pol;
	const struct pw_inventory *inv = cx->inv;
	int i, k = 0, cap = pol->nroles + (inv ? inv->nentries : 0);
	struct addr_ref *v;

	v = calloc(cap ? cap : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; inv && i < inv->nentries; i++) {
		const struct pw_inv_entry *e = &inv->entries[i];

		if (e->prefix.family != family || e->role < 0 ||
		    e->role >= pol->nroles)
			continue;
		v[k] = (struct addr_ref){ e->prefix, cx->role_id[e->role],
					  e->role, &e->loc };
		mask_prefix(&v[k++].prefix);
	}
	for (i = 0; i < pol->nroles; i++) {
		const struct pw_role *r = &pol->roles[i];

		if (!r->implicit || r->literal.family != family)
			continue;
		v[k] = (struct addr_ref){ r->literal, cx->role_id[i], i,
					  &r->loc };
		mask_prefix(&v[k++].prefix);
	}
	*refs = v;
	*n = k;
	return 0;
}

static void report_two_roles(struct compile_ctx *cx, const struct addr_ref *a,
			     const struct addr_ref *b)
{
	char buf[PW_PREFIX_STRLEN];

	pw_prefix_format(&b->prefix, buf, sizeof(buf));
	pw_error(cx->d, b->loc,
		 "%s has two roles, '%s' and '%s': an address has one role",
		 buf, cx->pol->roles[a->policy_role].name,
		 cx->pol->roles[b->policy_role].name);
}

/*
 * After sorting, equal prefixes are neighbours: under one role that is a
 * harmless repeat (dropped), under two it is an error.
 */
static int drop_duplicates(struct compile_ctx *cx, struct addr_ref *v, int *n)
{
	int i, k = 0, bad = 0;

	for (i = 0; i < *n; i++) {
		if (k && pw_prefix_equal(&v[k - 1].prefix, &v[i].prefix)) {
			if (v[k - 1].role != v[i].role) {
				report_two_roles(cx, &v[k - 1], &v[i]);
				bad = -1;
			}
			continue;
		}
		v[k++] = v[i];
	}
	*n = k;
	return bad;
}

/* Turn the tbl16 or tbl8 entry at @slot into a group, if it is not one. */
static int64_t v4_group(struct pw_compiled *out, __u32 *slot_in_tbl16,
			uint32_t tbl8_index)
{
	__u32 value = slot_in_tbl16 ? *slot_in_tbl16 : out->v4_tbl8[tbl8_index];
	uint32_t g, i;
	__u32 *grown;

	if (value & PW_V4_GROUP)
		return value & ~PW_V4_GROUP;
	g = out->v4_ngroups;
	grown = realloc(out->v4_tbl8,
			(size_t)(g + 1) * PW_V4_GROUP_SIZE * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	out->v4_tbl8 = grown;
	for (i = 0; i < PW_V4_GROUP_SIZE; i++)
		grown[g * PW_V4_GROUP_SIZE + i] = value;
	out->v4_ngroups = g + 1;
	if (slot_in_tbl16)
		*slot_in_tbl16 = PW_V4_GROUP | g;
	else
		grown[tbl8_index] = PW_V4_GROUP | g;
	return g;
}

static int v4_insert(struct pw_compiled *out, const struct addr_ref *a)
{
	const uint8_t *b = a->prefix.addr;
	uint32_t addr = (uint32_t)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3];
	uint32_t plen = a->prefix.plen, i, count;
	int64_t g, h;

	if (plen <= 16) {
		count = 1U << (16 - plen);
		for (i = 0; i < count; i++)
			out->v4_tbl16[(addr >> 16) + i] = a->role;
		return 0;
	}
	g = v4_group(out, &out->v4_tbl16[addr >> 16], 0);
	if (g < 0)
		return g;
	if (plen <= 24) {
		count = 1U << (24 - plen);
		for (i = 0; i < count; i++)
			out->v4_tbl8[g * PW_V4_GROUP_SIZE +
				     ((addr >> 8) & 0xff) + i] = a->role;
		return 0;
	}
	h = v4_group(out, NULL, g * PW_V4_GROUP_SIZE + ((addr >> 8) & 0xff));
	if (h < 0)
		return h;
	count = 1U << (32 - plen);
	for (i = 0; i < count; i++)
		out->v4_tbl8[h * PW_V4_GROUP_SIZE + (addr & 0xff) + i] =
			a->role;
	return 0;
}

static int build_v4(struct compile_ctx *cx)
{
	struct addr_ref *v = NULL;
	int i, n, err;

	cx->out->v4_tbl16 = calloc(PW_V4_TBL16_SIZE, sizeof(__u32));
	if (!cx->out->v4_tbl16)
		return -ENOMEM;
	err = collect_prefixes(cx, 4, &v, &n);
	if (err)
		return err;
	qsort(v, n, sizeof(*v), addr_ref_cmp_v4);
	err = drop_duplicates(cx, v, &n);
	for (i = 0; !err && i < n; i++)
		err = v4_insert(cx->out, &v[i]);
	free(v);
	return err;
}

/* Longest prefixes first (the lookup order), then by address. */
static int v6_entry_cmp(const void *a, const void *b)
{
	const struct pw_v6_entry *x = a, *y = b;

	if (x->key.plen != y->key.plen)
		return y->key.plen - x->key.plen;
	return memcmp(x->key.addr, y->key.addr, sizeof(x->key.addr));
}

static int addr_ref_cmp_v6(const void *a, const void *b)
{
	const struct addr_ref *x = a, *y = b;

	if (x->prefix.plen != y->prefix.plen)
		return y->prefix.plen - x->prefix.plen;
	return memcmp(x->prefix.addr, y->prefix.addr, 16);
}

/* The first 64 bits of an address as a number (big-endian). */
static uint64_t v6_top64(const uint8_t addr[16])
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | addr[i];
	return v;
}

/*
 * Widen @s to cover @addr.  Entries of one length come sorted by address,
 * so the first one set lo and later ones only push the end out.
 */
static void v6_span_add(struct pw_v6_span *s, const uint8_t addr[16])
{
	uint64_t top = v6_top64(addr);

	if (top - s->lo > s->span)
		s->span = top - s->lo;
}

static int build_v6(struct compile_ctx *cx)
{
	struct pw_compiled *out = cx->out;
	struct addr_ref *v = NULL;
	struct pw_gen_info *info = &out->info;
	int i, n, err;

	err = collect_prefixes(cx, 6, &v, &n);
	if (err)
		return err;
	qsort(v, n, sizeof(*v), addr_ref_cmp_v6);
	err = drop_duplicates(cx, v, &n);
	if (err)
		goto out;
	out->v6 = calloc(n ? n : 1, sizeof(*out->v6));
	if (!out->v6) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct pw_v6_entry *e = &out->v6[i];

		e->key.plen = v[i].prefix.plen;
		memcpy(e->key.addr, v[i].prefix.addr, 16);
		e->role = v[i].role;
		if (i && v[i - 1].prefix.plen == v[i].prefix.plen) {
			v6_span_add(&info->v6_span[info->v6_nplens - 1],
				    e->key.addr);
			continue;
		}
		if (info->v6_nplens == PW_MAX_V6_PLENS) {
			pw_error(cx->d, v[i].loc,
				 "too many distinct IPv6 prefix lengths (/%u is one more): the limit is %d",
				 v[i].prefix.plen, PW_MAX_V6_PLENS);
			err = -1;
			goto out;
		}
		info->v6_span[info->v6_nplens].lo = v6_top64(e->key.addr);
		info->v6_plens[info->v6_nplens++] = v[i].prefix.plen;
	}
	out->nv6 = n;
out:
	free(v);
	return err;
}

/*
 * The pw_v6 bucket table (layout and probe rule in portwarden.h).  The
 * table is sized for at most half of its slots in use.  Keys go in in the
 * order of their home buckets (then of the entry list): within each run of
 * full buckets they then sit in home order, which gives the smallest
 * largest probe distance linear probing allows.  When some key still lands
 * more than PW_V6_MAX_PROBE buckets from home, the next seed of a fixed
 * sequence is tried, and after V6_SEED_TRIES seeds the table doubles.  The
 * same entries always give the same bytes.
 */
#define V6_SEED_TRIES 8
#define V6_SEED_FIRST 0x5eed0001U
#define V6_SEED_STEP 0x9e3779b9U

/* An entry of the list and its hash under the seed being tried. */
struct v6_placing {
	uint32_t hash;
	uint32_t home;
	uint32_t entry;
};

static int v6_placing_cmp(const void *a, const void *b)
{
	const struct v6_placing *x = a, *y = b;

	if (x->home != y->home)
		return x->home < y->home ? -1 : 1;
	return x->entry < y->entry ? -1 : x->entry > y->entry;
}

/*
 * Put entry @e, of hash @hash, in the first free slot of the
 * PW_V6_MAX_PROBE buckets from its home.  Returns how many buckets it
 * looked at, 0 when all were full.
 */
static uint32_t v6_bucket_insert(struct pw_v6_bucket *b, uint32_t nb,
				 uint32_t hash, const struct pw_v6_entry *e)
{
	uint32_t d, k;

	for (d = 0; d < PW_V6_MAX_PROBE; d++) {
		struct pw_v6_bucket *bk =
			&b[pw_v6_bucket_index(0, 0, nb, hash, d)];

		for (k = 0; k < PW_V6_BUCKET_SLOTS; k++) {
			struct pw_v6_slot *slot = &bk->slot[k];

			if (slot->used)
				continue;
			memcpy(slot->addr, e->key.addr, sizeof(slot->addr));
			slot->plen = e->key.plen;
			slot->used = 1;
			slot->role = e->role;
			bk->fp[k] = pw_v6_fingerprint(hash);
			bk->nused = k + 1;
			return d + 1;
		}
	}
	return 0;
}

/*
 * Every entry into @nb empty buckets with @seed (@order is scratch for
 * nv6 entries); false if one did not fit.
 */
static bool v6_place_all(const struct pw_compiled *out, struct pw_v6_bucket *b,
			 uint32_t nb, uint32_t seed, struct v6_placing *order,
			 uint32_t *max_probe)
{
	uint32_t i, probes;

	for (i = 0; i < out->nv6; i++) {
		const struct pw_v6_entry *e = &out->v6[i];
		__u64 w[2];

		memcpy(w, e->key.addr, sizeof(w));
		order[i].hash = pw_v6_hash(seed, e->key.plen, w[0], w[1]);
		order[i].home = pw_v6_bucket_index(0, 0, nb, order[i].hash, 0);
		order[i].entry = i;
	}
	qsort(order, out->nv6, sizeof(*order), v6_placing_cmp);

	memset(b, 0, (size_t)nb * sizeof(*b));
	*max_probe = 0;
	for (i = 0; i < out->nv6; i++) {
		probes = v6_bucket_insert(b, nb, order[i].hash,
					  &out->v6[order[i].entry]);
		if (!probes)
			return false;
		if (probes > *max_probe)
			*max_probe = probes;
	}
	return true;
}

/* The fewest buckets (a power of two) that keep @n keys at <= 50% load. */
static uint32_t v6_min_buckets(uint32_t n)
{
	uint64_t nb = 1;

	while (nb * PW_V6_BUCKET_SLOTS < 2ULL * n)
		nb <<= 1;
	return nb > PW_V6_MAX_BUCKETS ? 2 * PW_V6_MAX_BUCKETS : nb;
}

static int build_v6_buckets(struct compile_ctx *cx)
{
	struct pw_compiled *out = cx->out;
	uint32_t nb, try, seed, max_probe;
	struct v6_placing *order;
	struct pw_v6_bucket *b;

	if (!out->nv6)
		return 0;
	order = malloc(out->nv6 * sizeof(*order));
	if (!order)
		return -ENOMEM;
	for (nb = v6_min_buckets(out->nv6); nb <= PW_V6_MAX_BUCKETS; nb <<= 1) {
		b = malloc((size_t)nb * sizeof(*b));
		if (!b)
			break;
		for (try = 0; try < V6_SEED_TRIES; try++) {
			seed = V6_SEED_FIRST + try * V6_SEED_STEP;
			if (!v6_place_all(out, b, nb, seed, order, &max_probe))
				continue;
			free(order);
			out->v6_buckets = b;
			out->info.v6_nbuckets = nb;
			out->info.v6_seed = seed;
			out->info.v6_max_probe = max_probe;
			return 0;
		}
		free(b);
	}
	free(order);
	if (nb <= PW_V6_MAX_BUCKETS)
		return -ENOMEM;
	pw_error(cx->d, &cli_loc,
		 "%u IPv6 prefixes do not fit a hash table of at most %u buckets",
		 out->nv6, PW_V6_MAX_BUCKETS);
	return -1;
}

/* ------------------------------------------------------------------ */
/* Effective rules                                                     */
/* ------------------------------------------------------------------ */

/* Same peers both ways round (e.g. "from db to db"): swapping adds nothing. */
static bool symmetric(const struct pw_rule *r)
{
	int i;

	if (r->nsrc != r->ndst)
		return false;
	for (i = 0; i < r->nsrc; i++)
		if (r->src[i].role != r->dst[i].role)
			return false;
	return true;
}

static void add_effective(struct pw_compiled *out, int *n,
			  const struct pw_rule *r, int dir, bool reversed)
{
	struct pw_effective_rule *e = &out->effective[(*n)++];

	e->rule_id = r->id;
	e->dir = dir;
	e->rule = r;
	e->reversed = reversed;
}

static int list_effective(struct compile_ctx *cx)
{
	struct pw_compiled *out = cx->out;
	const struct pw_rule *r;
	int dir, i, n = 0;

	out->effective = calloc(2 * PW_NDIR * cx->pol->nrules + 1,
				sizeof(*out->effective));
	if (!out->effective)
		return -ENOMEM;
	for (dir = 0; dir < PW_NDIR; dir++) {
		for (i = 0; i < cx->pol->nrules; i++) {
			uint8_t a = cx->apply[dir][i];

			r = &cx->pol->rules[i];
			if (a & APPLY_FWD)
				add_effective(out, &n, r, dir, false);
			if (a & APPLY_REV && !(a & APPLY_FWD && symmetric(r)))
				add_effective(out, &n, r, dir, true);
		}
	}
	out->neffective = n;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Driver                                                              */
/* ------------------------------------------------------------------ */

static int ctx_init(struct compile_ctx *cx)
{
	int nr = cx->pol->nroles, nt = cx->pol->ntags, nq = cx->pol->nrules;
	int dir;

	cx->host_role = calloc(nr + 1, sizeof(*cx->host_role));
	cx->tag_on = calloc(nt + 1, sizeof(*cx->tag_on));
	cx->role_id = calloc(nr + 1, sizeof(*cx->role_id));
	if (!cx->host_role || !cx->tag_on || !cx->role_id)
		return -ENOMEM;
	for (dir = 0; dir < PW_NDIR; dir++) {
		cx->apply[dir] = calloc(nq + 1, sizeof(*cx->apply[dir]));
		cx->peers[dir] = calloc(nq + 1, sizeof(*cx->peers[dir]));
		if (!cx->apply[dir] || !cx->peers[dir])
			return -ENOMEM;
	}
	cx->out->ports = calloc((size_t)PW_NDIR * PW_NPROTO * PW_PORT_ROWS,
				sizeof(*cx->out->ports));
	return cx->out->ports ? 0 : -ENOMEM;
}

static void ctx_free(struct compile_ctx *cx)
{
	int dir;

	free(cx->host_role);
	free(cx->tag_on);
	free(cx->role_id);
	for (dir = 0; dir < PW_NDIR; dir++) {
		free(cx->apply[dir]);
		free(cx->peers[dir]);
		free(cx->seg[dir]);
		free(cx->seg_first[dir]);
		free(cx->seg_rule[dir]);
	}
	free(cx->warned);
}

int pw_compile(const struct pw_policy *pol, const struct pw_inventory *inv,
	       const struct pw_compile_opts *opts, struct pw_compiled *out,
	       struct pw_diags *d)
{
	struct compile_ctx cx = {
		.pol = pol, .inv = inv, .opts = opts, .d = d, .out = out,
	};
	int err, bad;

	memset(out, 0, sizeof(*out));
	out->pol = pol;
	err = ctx_init(&cx);
	if (err)
		goto out;
	bad = check_host_roles(&cx);
	bad |= check_tags(&cx);
	if (bad) {
		err = -1;
		goto out;
	}
	err = assign_role_ids(&cx);
	if (err)
		goto out;
	find_applicable(&cx);
	err = build_segments(&cx);
	if (!err)
		err = fill_segment_meta(&cx);
	if (!err)
		err = judge_all(&cx);
	if (!err)
		err = assign_slots(&cx);
	if (!err)
		err = build_v4(&cx);
	if (!err)
		err = build_v6(&cx);
	if (!err)
		err = build_v6_buckets(&cx);
	if (!err)
		err = list_effective(&cx);
	if (err)
		goto out;
	out->info.nroles = out->nroles;
	out->info.policy_digest = pw_compiled_digest(out);
out:
	if (err == -ENOMEM)
		pw_error(d, &cli_loc, "out of memory while compiling");
	ctx_free(&cx);
	if (err) {
		pw_compiled_free(out);
		return -1;
	}
	return 0;
}

void pw_compiled_free(struct pw_compiled *c)
{
	if (!c)
		return;
	free(c->role_names);
	free(c->role_index);
	free(c->v4_tbl16);
	free(c->v4_tbl8);
	free(c->v6);
	free(c->v6_buckets);
	free(c->ports);
	free(c->entries);
	free(c->slots);
	free(c->effective);
	free(c->segs[0]);
	free(c->segs[1]);
	memset(c, 0, sizeof(*c));
}

/* ------------------------------------------------------------------ */
/* Digest and lookups                                                  */
/* ------------------------------------------------------------------ */

#define FNV64_OFFSET 0xcbf29ce484222325ULL
#define FNV64_PRIME 0x100000001b3ULL

static uint64_t fnv(uint64_t h, const void *p, size_t len)
{
	const uint8_t *b = p;

	while (len--) {
		h ^= *b++;
		h *= FNV64_PRIME;
	}
	return h;
}

static uint64_t fnv_u32(uint64_t h, uint32_t v)
{
	return fnv(h, &v, sizeof(v));
}

/*
 * Every table, each preceded by its length so that moving a byte from one
 * table to the next changes the hash.  policy_digest itself is left out.
 */
uint64_t pw_compiled_digest(const struct pw_compiled *c)
{
	uint64_t h = FNV64_OFFSET;
	int dir;

	h = fnv_u32(h, c->info.v6_nplens);
	h = fnv(h, c->info.v6_plens, sizeof(c->info.v6_plens));
	h = fnv(h, c->info.nsegs, sizeof(c->info.nsegs));
	h = fnv_u32(h, c->info.nroles);
	h = fnv_u32(h, c->info.v6_nbuckets);
	h = fnv_u32(h, c->info.v6_seed);
	h = fnv_u32(h, c->info.v6_max_probe);
	h = fnv(h, c->info.v6_span, sizeof(c->info.v6_span));
	h = fnv_u32(h, c->nroles);
	if (c->role_names)
		h = fnv(h, c->role_names, c->nroles * sizeof(*c->role_names));
	if (c->v4_tbl16)
		h = fnv(h, c->v4_tbl16, PW_V4_TBL16_SIZE * sizeof(__u32));
	h = fnv_u32(h, c->v4_ngroups);
	if (c->v4_tbl8)
		h = fnv(h, c->v4_tbl8,
			(size_t)c->v4_ngroups * PW_V4_GROUP_SIZE *
				sizeof(__u32));
	h = fnv_u32(h, c->nv6);
	if (c->v6)
		h = fnv(h, c->v6, c->nv6 * sizeof(*c->v6));
	if (c->v6_buckets)
		h = fnv(h, c->v6_buckets,
			(size_t)c->info.v6_nbuckets * sizeof(*c->v6_buckets));
	if (c->ports)
		h = fnv(h, c->ports, (size_t)PW_NDIR * PW_NPROTO *
					     PW_PORT_ROWS * sizeof(*c->ports));
	h = fnv_u32(h, c->nsegs_max);
	if (c->entries)
		h = fnv(h, c->entries, (size_t)PW_NDIR * c->nsegs_max *
					       c->nroles * sizeof(*c->entries));
	h = fnv_u32(h, c->nslots);
	if (c->slots)
		h = fnv(h, c->slots, c->nslots * sizeof(*c->slots));
	for (dir = 0; dir < PW_NDIR; dir++) {
		h = fnv_u32(h, c->nsegs[dir]);
		if (c->segs[dir])
			h = fnv(h, c->segs[dir],
				c->nsegs[dir] * sizeof(*c->segs[dir]));
	}
	return h;
}

const struct pw_rule_entry *pw_compiled_entry(const struct pw_compiled *c,
					      unsigned dir, unsigned seg,
					      unsigned role)
{
	if (!c->entries || dir >= PW_NDIR || seg >= c->nsegs[dir] ||
	    role >= c->nroles)
		return NULL;
	return &c->entries[(dir * c->nsegs_max + seg) * c->nroles + role];
}

uint16_t pw_compiled_seg(const struct pw_compiled *c, unsigned dir,
			 unsigned proto_idx, unsigned port)
{
	if (!c->ports || dir >= PW_NDIR || proto_idx >= PW_NPROTO ||
	    port > 0xffff)
		return PW_SEG_NONE;
	return c->ports[(dir * PW_NPROTO + proto_idx) * PW_PORT_ROWS +
			port / PW_PORTS_PER_ROW]
		.seg[port % PW_PORTS_PER_ROW];
}

uint32_t pw_compiled_role_v4(const struct pw_compiled *c,
			     const uint8_t addr[4])
{
	__u32 v;

	if (!c->v4_tbl16)
		return PW_ROLE_UNKNOWN;
	v = c->v4_tbl16[addr[0] << 8 | addr[1]];
	if (v & PW_V4_GROUP)
		v = c->v4_tbl8[(v & ~PW_V4_GROUP) * PW_V4_GROUP_SIZE + addr[2]];
	if (v & PW_V4_GROUP)
		v = c->v4_tbl8[(v & ~PW_V4_GROUP) * PW_V4_GROUP_SIZE + addr[3]];
	return v;
}

uint32_t pw_compiled_role_v6(const struct pw_compiled *c,
			     const uint8_t addr[16])
{
	struct pw_v6_entry probe = { 0 };
	const struct pw_v6_entry *hit;
	struct pw_prefix p;
	uint32_t i;

	if (!c->v6)
		return PW_ROLE_UNKNOWN;
	for (i = 0; i < c->info.v6_nplens; i++) {
		p.family = 6;
		p.plen = c->info.v6_plens[i];
		memcpy(p.addr, addr, 16);
		mask_prefix(&p);
		probe.key.plen = p.plen;
		memcpy(probe.key.addr, p.addr, 16);
		hit = bsearch(&probe, c->v6, c->nv6, sizeof(*c->v6),
			      v6_entry_cmp);
		if (hit)
			return hit->role;
	}
	return PW_ROLE_UNKNOWN;
}

const struct pw_rule *pw_compiled_rule(const struct pw_compiled *c,
				       uint32_t rule_id)
{
	const struct pw_policy *pol = c->pol;
	int i;

	if (!pol || rule_id == PW_RULE_NONE)
		return NULL;
	if (rule_id <= (uint32_t)pol->nrules &&
	    pol->rules[rule_id - 1].id == rule_id)
		return &pol->rules[rule_id - 1];
	for (i = 0; i < pol->nrules; i++)
		if (pol->rules[i].id == rule_id)
			return &pol->rules[i];
	return NULL;
}
