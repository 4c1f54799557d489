// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * export.c - a compiled host policy as an nftables or iptables ruleset.
 *
 * Three things come from struct pw_compiled and nowhere else, so that the
 * ruleset judges a packet the way the datapath does:
 *
 *   - the role of an address: the IPv4 DIR-16-8-8 arrays and the IPv6
 *     prefix list are turned back into disjoint CIDRs per role (a prefix
 *     that holds a longer prefix of another role is cut around it);
 *   - the allow rules: the effective rules, in file order, each with the
 *     peers it names (sources on ingress, destinations on egress);
 *   - loopback-only ports and violations: the judged (segment, role)
 *     entries, grouped by the rule whose mode they take.
 *
 * Chain layout, in the order a packet meets it (the comments written into
 * the output say the same):
 *
 *   interface filter (--iface), conntrack replies, loopback interface,
 *   ICMP that portwarden always passes, loopback-only ports, allow rules,
 *   optional log, violations on named ports, the host's verdict for the rest.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"

#define NFT_COMMENT_MAX 120 /* nft refuses comments over 128 bytes */
#define IPT_COMMENT_MAX 240 /* the comment match takes 255 */
#define IPT_CHAIN_MAX 28    /* iptables chain names */
#define IPT_MULTIPORT_MAX 15 /* ports per multiport match; a range is 2 */
#define ICMP_ALL_HI 255

#define PORT_PROTOS ((1U << PW_P_TCP) | (1U << PW_P_UDP) | (1U << PW_P_SCTP))

/* Index of a family in per-family arrays. */
enum { FAM4 = 0, FAM6 = 1, NFAM = 2 };

/* One loopback-only or violation range: what the entries of a segment say. */
struct vrange {
	bool loopback;
	uint16_t rule_id;
	uint8_t mode;      /* enum pw_mode of that rule */
	uint8_t proto_idx;
	uint16_t lo, hi;
};

struct exporter {
	const struct pw_compiled *c;
	const struct pw_export_opts *o;
	FILE *out;
	struct pw_export_counts n;

	struct pw_export_cidr *cidr[NFAM];
	size_t ncidr[NFAM];
	size_t *role_ncidr[NFAM];  /* role id -> CIDRs of that family */
	int *policy_to_id;         /* policy role index -> role id, or -1 */
	bool *peer_used[PW_NDIR];  /* role id -> a peer of an allow rule */

	struct vrange *vr[PW_NDIR];
	size_t nvr[PW_NDIR];
};

static const char *const dir_chain[PW_NDIR] = { "input", "output" };

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

__attribute__((format(printf, 2, 3)))
static void put(struct exporter *x, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(x->out, fmt, ap);
	va_end(ap);
}

/*
 * @s made safe inside a double-quoted nft or iptables-restore string:
 * quotes become single quotes, backslashes slashes, control bytes blanks.
 * Cut at @max bytes on a UTF-8 character boundary, marked with "...".
 */
static void put_quoted(struct exporter *x, const char *s, size_t max)
{
	size_t len = strlen(s), i;
	bool cut = len > max;

	if (cut) {
		len = max - 3;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
	}
	fputc('"', x->out);
	for (i = 0; i < len; i++) {
		unsigned char ch = s[i];

		if (ch == '"')
			ch = '\'';
		else if (ch == '\\')
			ch = '/';
		else if (ch < 0x20 || ch == 0x7f)
			ch = ' ';
		fputc(ch, x->out);
	}
	fputs(cut ? "...\"" : "\"", x->out);
}

/* A comment string for a rule: "rule N: note" (@what between). */
static void put_rule_comment(struct exporter *x, uint32_t rule_id,
			     const char *what)
{
	const struct pw_rule *r = pw_compiled_rule(x->c, rule_id);
	const char *note = r && r->note ? r->note : "no note";
	char *s = NULL;

	if (asprintf(&s, "rule %u%s: %s", rule_id, what, note) < 0) {
		put(x, "\"rule %u\"", rule_id);
		return;
	}
	put_quoted(x, s, x->o->format == PW_EXPORT_NFT ? NFT_COMMENT_MAX
						       : IPT_COMMENT_MAX);
	free(s);
}

static bool is_nft(const struct exporter *x)
{
	return x->o->format == PW_EXPORT_NFT;
}

/* The one family an iptables document covers. */
static int ipt_family(const struct exporter *x)
{
	return x->o->format == PW_EXPORT_IP6TABLES ? FAM6 : FAM4;
}

/* ------------------------------------------------------------------ */
/* Addresses: the role partition                                       */
/* ------------------------------------------------------------------ */

struct cidr_vec {
	struct pw_export_cidr *v;
	size_t n, cap;
	uint32_t role; /* of the run being split */
};

static int cidr_push(const struct pw_prefix *p, void *arg)
{
	struct cidr_vec *cv = arg;
	struct pw_export_cidr *v;

	if (cv->n == cv->cap) {
		cv->cap = cv->cap ? 2 * cv->cap : 64;
		v = realloc(cv->v, cv->cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		cv->v = v;
	}
	cv->v[cv->n].role = cv->role;
	cv->v[cv->n++].prefix = *p;
	return 0;
}

/* A run of addresses [first, last] of one role, as the fewest CIDRs. */
static int add_run(struct cidr_vec *cv, int family, const uint8_t *first,
		   const uint8_t *last, uint32_t role)
{
	struct pw_prefix a = { .family = family }, b = { .family = family };
	size_t len = family == 4 ? 4 : 16;
	const char *why;

	if (role == PW_ROLE_UNKNOWN)
		return 0;
	a.plen = b.plen = len * 8;
	memcpy(a.addr, first, len);
	memcpy(b.addr, last, len);
	cv->role = role;
	return pw_range_to_prefixes(&a, &b, cidr_push, cv, &why);
}

/* Runs of equal role over the IPv4 space, merged across table entries. */
struct v4_walk {
	struct cidr_vec *cv;
	uint32_t lo, hi, role;
	bool open;
	int err;
};

static void be32(uint32_t v, uint8_t out[4])
{
	out[0] = v >> 24;
	out[1] = v >> 16;
	out[2] = v >> 8;
	out[3] = v;
}

static void v4_flush(struct v4_walk *w)
{
	uint8_t a[4], b[4];

	if (!w->open || w->err)
		return;
	be32(w->lo, a);
	be32(w->hi, b);
	w->err = add_run(w->cv, 4, a, b, w->role);
	w->open = false;
}

static void v4_visit(struct v4_walk *w, uint32_t lo, uint32_t hi,
		     uint32_t role)
{
	if (w->open && w->role == role && w->hi + 1 == lo) {
		w->hi = hi;
		return;
	}
	v4_flush(w);
	*w = (struct v4_walk){ w->cv, lo, hi, role, true, w->err };
}

/* An entry of tbl16 or tbl8 covering [base, base + 2^shift - 1]. */
static void v4_entry(const struct pw_compiled *c, struct v4_walk *w,
		     uint32_t e, uint32_t base, unsigned shift)
{
	uint32_t g = e & ~PW_V4_GROUP, b;

	if (!(e & PW_V4_GROUP) || shift < 8 || g >= c->v4_ngroups) {
		/* a group past the table is corrupt: unknown, as in BPF */
		v4_visit(w, base, base + (uint32_t)((1ULL << shift) - 1),
			 e & PW_V4_GROUP ? PW_ROLE_UNKNOWN : e);
		return;
	}
	for (b = 0; b < PW_V4_GROUP_SIZE; b++)
		v4_entry(c, w, c->v4_tbl8[g * PW_V4_GROUP_SIZE + b],
			 base + (b << (shift - 8)), shift - 8);
}

static int v4_cidrs(const struct pw_compiled *c, struct cidr_vec *cv)
{
	struct v4_walk w = { .cv = cv };
	uint32_t i;

	if (!c->v4_tbl16)
		return 0;
	for (i = 0; i < PW_V4_TBL16_SIZE; i++)
		v4_entry(c, &w, c->v4_tbl16[i], i << 16, 16);
	v4_flush(&w);
	return w.err;
}

/* 128-bit addresses as big-endian byte strings. */
static void v6_last(const uint8_t *a, unsigned plen, uint8_t *out)
{
	unsigned i;

	memcpy(out, a, 16);
	for (i = plen; i < 128; i++)
		out[i / 8] |= 0x80 >> (i % 8);
}

/* a + 1; false when it wraps past the last address. */
static bool v6_inc(uint8_t *a)
{
	int i;

	for (i = 15; i >= 0; i--)
		if (++a[i])
			return true;
	return false;
}

static void v6_dec(uint8_t *a)
{
	int i;

	for (i = 15; i >= 0; i--)
		if (a[i]--)
			return;
}

static int v6_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

/*
 * Every prefix starts and ends (one past) at a boundary; between two
 * neighbouring boundaries the set of covering prefixes cannot change, so
 * one lookup gives the role of the whole interval.
 */
static int v6_cidrs(const struct pw_compiled *c, struct cidr_vec *cv)
{
	uint8_t (*pt)[16], first[16], last[16];
	uint32_t role, run_role = PW_ROLE_UNKNOWN;
	size_t n = 0, u = 0, i;
	int err = 0;

	if (!c->nv6)
		return 0;
	pt = malloc(2 * c->nv6 * sizeof(*pt));
	if (!pt)
		return -ENOMEM;
	for (i = 0; i < c->nv6; i++) {
		memcpy(pt[n++], c->v6[i].key.addr, 16);
		v6_last(c->v6[i].key.addr, c->v6[i].key.plen, pt[n]);
		if (v6_inc(pt[n]))
			n++;
	}
	qsort(pt, n, sizeof(*pt), v6_cmp);
	for (i = 0; i < n; i++)
		if (!u || memcmp(pt[u - 1], pt[i], 16))
			memcpy(pt[u++], pt[i], 16);
	for (i = 0; i < u && !err; i++) {
		role = pw_compiled_role_v6(c, pt[i]);
		if (role != run_role) {
			if (i)
				err = add_run(cv, 6, first, last, run_role);
			memcpy(first, pt[i], 16);
			run_role = role;
		}
		if (i + 1 < u) {
			memcpy(last, pt[i + 1], 16);
			v6_dec(last);
		} else {
			memset(last, 0xff, 16);
		}
	}
	if (!err && u)
		err = add_run(cv, 6, first, last, run_role);
	free(pt);
	return err;
}

int pw_export_cidrs(const struct pw_compiled *c, int family,
		    struct pw_export_cidr **v, size_t *n)
{
	struct cidr_vec cv = { 0 };
	int err;

	err = family == 4 ? v4_cidrs(c, &cv) : v6_cidrs(c, &cv);
	if (err) {
		free(cv.v);
		cv = (struct cidr_vec){ 0 };
	}
	*v = cv.v;
	*n = cv.n;
	return err;
}

/* ------------------------------------------------------------------ */
/* Roles and peers                                                     */
/* ------------------------------------------------------------------ */

/* The peers a rule matches against: sources on ingress, else destinations. */
static void effective_peers(const struct pw_effective_rule *e,
			    const struct pw_peer **p, int *n)
{
	const struct pw_rule *r = e->rule;
	bool sources = (e->dir == PW_DIR_INGRESS) != e->reversed;

	*p = sources ? r->src : r->dst;
	*n = sources ? r->nsrc : r->ndst;
}

static bool names_role(const struct pw_effective_rule *e, int policy_role)
{
	const struct pw_peer *p;
	int i, n;

	effective_peers(e, &p, &n);
	for (i = 0; i < n; i++)
		if (p[i].role == policy_role)
			return true;
	return false;
}

static bool names_any(const struct pw_effective_rule *e)
{
	return names_role(e, PW_PEER_ANY);
}

static bool is_allow(const struct exporter *x, int i, int dir)
{
	return (int)x->c->effective[i].dir == dir &&
	       x->c->effective[i].rule->kind == PW_RULE_ALLOW;
}

/*
 * Did an earlier effective entry of the same rule and direction name
 * @policy_role?  The reverse of "from a,b to b bidirectional" names b
 * again, and b's lines are there already.
 */
static bool seen_before(const struct exporter *x, int i, int policy_role)
{
	const struct pw_effective_rule *e = &x->c->effective[i];
	int j;

	for (j = 0; j < i; j++)
		if (x->c->effective[j].rule == e->rule &&
		    x->c->effective[j].dir == e->dir &&
		    names_role(&x->c->effective[j], policy_role))
			return true;
	return false;
}

static bool role_implicit(const struct exporter *x, uint32_t id)
{
	int idx = x->c->role_index[id];

	return idx >= 0 && x->c->pol && x->c->pol->roles[idx].implicit;
}

/*
 * nft set "<role>_v4"; a literal peer's role is named after its prefix,
 * which is no identifier, so it becomes "PEER<id>" (declared role names
 * are lower case: no clash).
 */
static void set_name(const struct exporter *x, uint32_t id, int fam,
		     char *buf, size_t len)
{
	const char *v = fam == FAM4 ? "v4" : "v6";

	if (role_implicit(x, id))
		snprintf(buf, len, "PEER%u_%s", id, v);
	else
		snprintf(buf, len, "%s_%s", x->c->role_names[id].name, v);
}

/* iptables "pw-in-<role>", or "pw-in-R<id>" when that is too long. */
static void chain_name(const struct exporter *x, int dir, uint32_t id,
		       char *buf, size_t len)
{
	const char *d = dir == PW_DIR_INGRESS ? "in" : "out";
	const char *name = x->c->role_names[id].name;

	if (role_implicit(x, id))
		snprintf(buf, len, "pw-%s-PEER%u", d, id);
	else if (strlen(name) + strlen(d) + 4 <= IPT_CHAIN_MAX)
		snprintf(buf, len, "pw-%s-%s", d, name);
	else
		snprintf(buf, len, "pw-%s-R%u", d, id);
}

static bool role_has(const struct exporter *x, uint32_t id, int fam)
{
	return x->role_ncidr[fam][id] > 0;
}

static int map_roles(struct exporter *x)
{
	const struct pw_compiled *c = x->c;
	const struct pw_peer *p;
	uint32_t id;
	int i, k, n, npol = c->pol ? c->pol->nroles : 0;
	int dir, fam;

	x->policy_to_id = malloc((npol + 1) * sizeof(int));
	for (dir = 0; dir < PW_NDIR; dir++)
		x->peer_used[dir] = calloc(c->nroles + 1, sizeof(bool));
	for (fam = 0; fam < NFAM; fam++)
		x->role_ncidr[fam] = calloc(c->nroles + 1, sizeof(size_t));
	if (!x->policy_to_id || !x->peer_used[0] || !x->peer_used[1] ||
	    !x->role_ncidr[0] || !x->role_ncidr[1])
		return -ENOMEM;
	for (i = 0; i < npol; i++)
		x->policy_to_id[i] = -1;
	for (id = 0; id < c->nroles; id++)
		if (c->role_index[id] >= 0 && c->role_index[id] < npol)
			x->policy_to_id[c->role_index[id]] = id;
	for (i = 0; i < c->neffective; i++) {
		if (c->effective[i].rule->kind != PW_RULE_ALLOW)
			continue;
		effective_peers(&c->effective[i], &p, &n);
		for (k = 0; k < n; k++)
			if (p[k].role >= 0 && p[k].role < npol &&
			    x->policy_to_id[p[k].role] >= 0)
				x->peer_used[c->effective[i].dir]
					    [x->policy_to_id[p[k].role]] = true;
	}
	for (fam = 0; fam < NFAM; fam++)
		for (size_t j = 0; j < x->ncidr[fam]; j++)
			if (x->cidr[fam][j].role < c->nroles)
				x->role_ncidr[fam][x->cidr[fam][j].role]++;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Ports                                                               */
/* ------------------------------------------------------------------ */

static int range_cmp(const void *a, const void *b)
{
	const struct pw_port_range *x = a, *y = b;

	return x->lo != y->lo ? (x->lo > y->lo) - (x->lo < y->lo)
			      : (x->hi > y->hi) - (x->hi < y->hi);
}

/*
 * The port items of @r for @proto_idx, sorted, with overlapping and
 * adjacent items merged (nft refuses overlapping set elements; "80,70-90"
 * is legal policy).  An ICMP rule without types is 0-255.  Returns the
 * count; *out is malloc'd.
 */
static int rule_ranges(const struct pw_rule *r, int proto_idx,
		       struct pw_port_range **out)
{
	struct pw_port_range *v;
	int i, n = 0, m = r->nports;

	v = malloc((m ? m : 1) * sizeof(*v));
	*out = v;
	if (!v)
		return -ENOMEM;
	if (!m) {
		bool icmp = proto_idx == PW_P_ICMP || proto_idx == PW_P_ICMPV6;

		v[0] = (struct pw_port_range){ icmp ? 0 : 1,
					       icmp ? ICMP_ALL_HI : 65535 };
		return 1;
	}
	memcpy(v, r->ports, m * sizeof(*v));
	qsort(v, m, sizeof(*v), range_cmp);
	for (i = 0; i < m; i++) {
		if (n && v[i].lo <= (unsigned)v[n - 1].hi + 1) {
			if (v[i].hi > v[n - 1].hi)
				v[n - 1].hi = v[i].hi;
			continue;
		}
		v[n++] = v[i];
	}
	return n;
}

static bool all_types(const struct pw_port_range *v, int n)
{
	return n == 1 && v[0].lo == 0 && v[0].hi == ICMP_ALL_HI;
}

/* ------------------------------------------------------------------ */
/* Loopback-only ports and violations, from the judged entries         */
/* ------------------------------------------------------------------ */

static int vrange_cmp(const void *a, const void *b)
{
	const struct vrange *x = a, *y = b;

	if (x->loopback != y->loopback)
		return x->loopback ? -1 : 1;
	if (x->rule_id != y->rule_id)
		return x->rule_id < y->rule_id ? -1 : 1;
	if (x->proto_idx != y->proto_idx)
		return x->proto_idx < y->proto_idx ? -1 : 1;
	return (x->lo > y->lo) - (x->lo < y->lo);
}

static bool same_group(const struct vrange *a, const struct vrange *b)
{
	return a->loopback == b->loopback && a->rule_id == b->rule_id &&
	       a->proto_idx == b->proto_idx;
}

/*
 * Every segment where some role is not allowed: all such roles share one
 * entry (the loopback rule, or the first rule naming the segment), so the
 * segment becomes one range of that rule.  Ranges of one rule and
 * protocol that touch are merged.
 */
static int collect_vranges(struct exporter *x, int dir)
{
	const struct pw_compiled *c = x->c;
	const struct pw_rule_entry *e;
	const struct pw_counter_key *k;
	struct vrange *v;
	uint32_t s, role;
	size_t n = 0, m = 0, i;

	v = calloc(c->nsegs[dir] + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (s = 1; s < c->nsegs[dir]; s++) {
		e = NULL;
		for (role = 0; role < c->nroles && !e; role++) {
			e = pw_compiled_entry(c, dir, s, role);
			if (e && e->flags & PW_ENTRY_ALLOW)
				e = NULL;
		}
		if (!e || !e->rule_id)
			continue;
		k = &c->segs[dir][s];
		v[n++] = (struct vrange){
			.loopback = e->flags & PW_ENTRY_LOOPBACK,
			.rule_id = e->rule_id,
			.mode = e->mode,
			.proto_idx = pw_proto_from_ipproto(k->proto),
			.lo = k->port_lo,
			.hi = k->port_hi,
		};
	}
	qsort(v, n, sizeof(*v), vrange_cmp);
	for (i = 0; i < n; i++) {
		if (m && same_group(&v[m - 1], &v[i]) &&
		    v[i].lo == v[m - 1].hi + 1) {
			v[m - 1].hi = v[i].hi;
			continue;
		}
		v[m++] = v[i];
	}
	x->vr[dir] = v;
	x->nvr[dir] = m;
	return 0;
}

static bool egress_audited(const struct exporter *x, int dir)
{
	return dir == PW_DIR_EGRESS && !x->o->egress_enforce;
}

/* Drop, or pass and count?  Egress only drops when asked to. */
static bool enforcing(const struct exporter *x, int dir, int rule_mode)
{
	int m = rule_mode != PW_MODE_HOST ? rule_mode : x->o->mode;

	if (egress_audited(x, dir))
		return false;
	return m == PW_MODE_ENFORCE;
}

/* The ranges of group [i, j) as port items, into @items (room for j - i). */
static int group_items(const struct exporter *x, int dir, size_t i,
		       size_t j, struct pw_port_range *items)
{
	int n = 0;

	for (; i < j; i++)
		items[n++] = (struct pw_port_range){ x->vr[dir][i].lo,
						     x->vr[dir][i].hi };
	return n;
}

/* End of the group that starts at @i. */
static size_t group_end(const struct exporter *x, int dir, size_t i)
{
	size_t j = i + 1;

	while (j < x->nvr[dir] && same_group(&x->vr[dir][i], &x->vr[dir][j]))
		j++;
	return j;
}

static bool has_groups(const struct exporter *x, int dir, bool loopback)
{
	size_t i;

	for (i = 0; i < x->nvr[dir]; i++)
		if (x->vr[dir][i].loopback == loopback)
			return true;
	return false;
}

/* What a group's comment says after "rule N". */
static const char *group_what(const struct vrange *g, bool drop)
{
	if (g->loopback)
		return " loopback-only";
	return drop ? " violation, drop" : " violation, audit";
}

typedef void group_fn(struct exporter *x, int dir, const struct vrange *g,
		      const struct pw_port_range *items, int n);

/* @emit each loopback-only group (@loopback) or each violation group. */
static int each_group(struct exporter *x, int dir, bool loopback,
		      group_fn *emit)
{
	struct pw_port_range *items;
	size_t i, j;
	int n;

	items = calloc(x->nvr[dir] + 1, sizeof(*items));
	if (!items)
		return -ENOMEM;
	for (i = 0; i < x->nvr[dir]; i = j) {
		j = group_end(x, dir, i);
		if (x->vr[dir][i].loopback != loopback)
			continue;
		n = group_items(x, dir, i, j, items);
		emit(x, dir, &x->vr[dir][i], items, n);
	}
	free(items);
	return 0;
}

/* ------------------------------------------------------------------ */
/* nftables                                                            */
/* ------------------------------------------------------------------ */

static void nft_ports(struct exporter *x, const struct pw_port_range *v,
		      int n)
{
	int i;

	if (n > 1)
		put(x, "{ ");
	for (i = 0; i < n; i++) {
		put(x, "%s%u", i ? ", " : "", v[i].lo);
		if (v[i].hi != v[i].lo)
			put(x, "-%u", v[i].hi);
	}
	if (n > 1)
		put(x, " }");
}

/* The protocol and port part of a rule: @protos is PORT_PROTOS bits or
 * one ICMP protocol. */
static void nft_match(struct exporter *x, uint32_t protos,
		      const struct pw_port_range *v, int n)
{
	static const char *const l4[PW_NPROTO] = { "tcp", "udp", "sctp",
						   "icmp", "ipv6-icmp" };
	int p, k = 0;

	if (protos & (1U << PW_P_ICMP) || protos & (1U << PW_P_ICMPV6)) {
		bool v6 = protos & (1U << PW_P_ICMPV6);

		if (all_types(v, n)) {
			put(x, "meta l4proto %s", l4[v6 ? PW_P_ICMPV6 : PW_P_ICMP]);
			return;
		}
		put(x, "%s type ", v6 ? "icmpv6" : "icmp");
		nft_ports(x, v, n);
		return;
	}
	for (p = 0; p < PW_NPROTO; p++)
		k += !!(protos & (1U << p));
	if (k == 1) {
		for (p = 0; !(protos & (1U << p)); p++)
			;
		put(x, "%s dport ", l4[p]);
	} else {
		put(x, "meta l4proto { ");
		for (p = 0, k = 0; p < PW_NPROTO; p++)
			if (protos & (1U << p))
				put(x, "%s%s", k++ ? ", " : "", l4[p]);
		put(x, " } th dport ");
	}
	nft_ports(x, v, n);
}

static void nft_rule_end(struct exporter *x, const char *verdict,
			 uint32_t rule_id, const char *what)
{
	put(x, " counter %s comment ", verdict);
	put_rule_comment(x, rule_id, what);
	put(x, "\n");
	x->n.rules++;
}

/* One allow line: @match is "ip saddr @set " or "" (any peer). */
static int nft_allow_line(struct exporter *x, const struct pw_rule *r,
			  const char *match, uint32_t protos)
{
	struct pw_port_range *v;
	int p, n;

	for (p = 0; !(protos & (1U << p)); p++)
		;
	n = rule_ranges(r, p, &v);
	if (n < 0)
		return n;
	put(x, "\t\t%s", match);
	nft_match(x, protos, v, n);
	nft_rule_end(x, "accept", r->id, "");
	free(v);
	return 1;
}

/*
 * The lines of one allow rule for one peer: per family with addresses,
 * the port protocols in one line and each ICMP protocol of its family
 * (for any peer: one line for both families, and both ICMP protocols).
 * Returns how many, or -ENOMEM.
 */
static int nft_allow_peer(struct exporter *x, const struct pw_effective_rule *e,
			  const struct pw_peer *peer)
{
	const struct pw_rule *r = e->rule;
	const char *addr = e->dir == PW_DIR_INGRESS ? "saddr" : "daddr";
	bool any = peer->role == PW_PEER_ANY;
	uint32_t id = any ? 0 : x->policy_to_id[peer->role];
	char set[PW_ROLE_NAME_MAX + 16], match[PW_ROLE_NAME_MAX + 40] = "";
	int fam, p, err, lines = 0;

	for (fam = 0; fam < (any ? 1 : NFAM); fam++) {
		if (!any && !role_has(x, id, fam))
			continue;
		if (!any) {
			set_name(x, id, fam, set, sizeof(set));
			snprintf(match, sizeof(match), "ip%s %s @%s ",
				 fam ? "6" : "", addr, set);
		}
		for (p = PW_P_ICMP - 1; p <= PW_P_ICMPV6; p++) {
			/* the port protocols first, in one line */
			uint32_t want = p < PW_P_ICMP ? r->protos & PORT_PROTOS
						      : r->protos & (1U << p);

			if (!want || (!any && p >= PW_P_ICMP &&
				      p != (fam ? PW_P_ICMPV6 : PW_P_ICMP)))
				continue;
			err = nft_allow_line(x, r, match, want);
			if (err < 0)
				return err;
			lines += err;
		}
	}
	return lines;
}

static const char *base_name(const char *path)
{
	const char *s = path ? strrchr(path, '/') : NULL;

	return s ? s + 1 : path ? path : "?";
}

/* "# rule 29 (file.policy:173), from operator": the peers not seen before. */
static void put_rule_heading(struct exporter *x, int i)
{
	const struct pw_effective_rule *e = &x->c->effective[i];
	const struct pw_rule *r = e->rule;
	const struct pw_peer *p;
	int k, n, shown = 0;

	effective_peers(e, &p, &n);
	put(x, "\t\t# rule %u (%s:%d)%s, %s ", r->id, base_name(r->loc.file),
	    r->loc.line, e->reversed ? ", bidirectional reverse" : "",
	    e->dir == PW_DIR_INGRESS ? "from" : "to");
	for (k = 0; k < n; k++) {
		const char *name = "any";

		if (seen_before(x, i, p[k].role))
			continue;
		if (p[k].role != PW_PEER_ANY)
			name = x->c->role_names[x->policy_to_id[p[k].role]].name;
		put(x, "%s%s", shown++ ? "," : "", name);
	}
	put(x, "\n");
}

static int nft_allows(struct exporter *x, int dir)
{
	const struct pw_effective_rule *e;
	const struct pw_peer *p;
	int i, k, n, err;

	put(x, "\n\t\t# Allow rules, in file order: the first that matches "
	       "gets the\n\t\t# packet, as portwarden counts it under the "
	       "first rule allowing it.\n");
	for (i = 0; i < x->c->neffective; i++) {
		e = &x->c->effective[i];
		if ((int)e->dir != dir || e->rule->kind != PW_RULE_ALLOW)
			continue;
		effective_peers(e, &p, &n);
		for (k = 0; k < n && seen_before(x, i, p[k].role); k++)
			;
		if (k == n)
			continue;
		put_rule_heading(x, i);
		for (k = 0; k < n; k++) {
			if (seen_before(x, i, p[k].role))
				continue;
			if (p[k].role != PW_PEER_ANY &&
			    !role_has(x, x->policy_to_id[p[k].role], FAM4) &&
			    !role_has(x, x->policy_to_id[p[k].role], FAM6)) {
				put(x, "\t\t# (role %s holds no address)\n",
				    x->c->role_names[x->policy_to_id[p[k].role]]
					    .name);
				continue;
			}
			err = nft_allow_peer(x, e, &p[k]);
			if (err < 0)
				return err;
			if (!err)
				put(x, "\t\t# (role %s holds no address of "
				       "the rule's family)\n",
				    x->c->role_names[x->policy_to_id[p[k].role]]
					    .name);
		}
	}
	return 0;
}

static void nft_group(struct exporter *x, int dir, const struct vrange *g,
		      const struct pw_port_range *items, int n)
{
	bool drop = enforcing(x, dir, g->mode);

	put(x, "\t\t");
	nft_match(x, 1U << g->proto_idx, items, n);
	nft_rule_end(x, drop ? "drop" : "accept", g->rule_id,
		     group_what(g, drop));
}

static void nft_always(struct exporter *x, int dir)
{
	const char *io = dir == PW_DIR_INGRESS ? "iif" : "oif";

	if (x->o->iface) {
		put(x, "\t\t# portwarden judges the interface it is loaded "
		       "on, no other.\n");
		put(x, "\t\t%sname != \"%s\" counter accept comment \"not %s\"\n",
		    io, x->o->iface, x->o->iface);
		x->n.rules++;
	}
	put(x, "\t\t# Replies of flows %s (portwarden's flow "
	       "table).\n\t\t# The opening side's packets are judged "
	       "below, every one, as portwarden does.\n",
	    dir == PW_DIR_INGRESS ? "the host opened" : "the policy let in");
	put(x, "\t\tct direction reply ct state established,related counter "
	       "accept comment \"reply of a known flow\"\n");
	put(x, "\t\t# portwarden never sees the loopback interface.\n");
	put(x, "\t\t%s \"lo\" accept comment \"loopback interface\"\n", io);
	put(x, "\t\t# ICMP that portwarden always passes: dropping it breaks "
	       "the host.\n");
	put(x, "\t\ticmp type destination-unreachable icmp code frag-needed "
	       "counter accept comment \"PMTU: fragmentation needed\"\n");
	put(x, "\t\ticmpv6 type packet-too-big counter accept comment "
	       "\"PMTU: packet too big\"\n");
	put(x, "\t\ticmpv6 type { 130, 131, 132, 133, 134, 135, 136, 137, 143 } "
	       "counter accept comment \"neighbour discovery and MLD\"\n");
	x->n.rules += 5;
}

/* Anything no rule names: the host's mode (egress: audit unless asked). */
static void nft_final(struct exporter *x, int dir)
{
	bool drop = enforcing(x, dir, PW_MODE_HOST);

	put(x, "\t\t# The rest is on ports or protocols no rule names: %s.\n",
	    egress_audited(x, dir) ? "audited (egress)" : "the host's mode");
	put(x, "\t\tcounter %s comment \"undocumented port or protocol, %s\"\n",
	    drop ? "drop" : "accept", drop ? "drop" : "audit");
	x->n.rules++;
}

static void nft_log(struct exporter *x, int dir)
{
	if (!x->o->log)
		return;
	put(x, "\t\t# What reaches here is a violation: log a few a second.\n");
	put(x, "\t\tlimit rate 10/second burst 20 packets log prefix "
	       "\"portwarden %s: \" level info\n",
	    dir == PW_DIR_INGRESS ? "in" : "out");
	x->n.rules++;
}

static int nft_chain(struct exporter *x, int dir)
{
	int err;

	put(x, "\n\tchain %s {\n\t\ttype filter hook %s priority filter; "
	       "policy accept;\n\n",
	    dir_chain[dir], dir_chain[dir]);
	x->n.chains++;
	nft_always(x, dir);
	if (has_groups(x, dir, true)) {
		put(x, "\n\t\t# Loopback-only ports, before any allow: from the "
		       "wire they are\n\t\t# violations whatever an allow "
		       "rule says.\n");
		err = each_group(x, dir, true, nft_group);
		if (err)
			return err;
	}
	err = nft_allows(x, dir);
	if (err)
		return err;
	put(x, "\n");
	nft_log(x, dir);
	if (has_groups(x, dir, false))
		put(x, "\t\t# Ports some rule names, %s roles it does not "
		       "allow: a violation\n\t\t# of the first rule naming "
		       "the port, in that rule's mode%s.\n",
		    dir == PW_DIR_INGRESS ? "from" : "to",
		    egress_audited(x, dir) ? " (egress: audited)" : "");
	err = each_group(x, dir, false, nft_group);
	if (err)
		return err;
	nft_final(x, dir);
	put(x, "\t}\n");
	return 0;
}

static void nft_set(struct exporter *x, uint32_t id, int fam)
{
	const struct pw_export_cidr *v = x->cidr[fam];
	char name[PW_ROLE_NAME_MAX + 16], text[PW_PREFIX_STRLEN];
	unsigned full = fam == FAM4 ? 32 : 128;
	size_t i, k = 0;

	set_name(x, id, fam, name, sizeof(name));
	put(x, "\tset %s {\n\t\ttype %s\n\t\tflags interval\n", name,
	    fam == FAM4 ? "ipv4_addr" : "ipv6_addr");
	put(x, "\t\tcomment \"%s %s\"\n",
	    role_implicit(x, id) ? "literal peer" : "role",
	    x->c->role_names[id].name);
	put(x, "\t\telements = { ");
	for (i = 0; i < x->ncidr[fam]; i++) {
		if (v[i].role != id)
			continue;
		pw_prefix_format(&v[i].prefix, text, sizeof(text));
		if (v[i].prefix.plen == full)
			*strrchr(text, '/') = '\0';
		put(x, "%s%s", !k ? "" : k % 4 ? ", " : ",\n\t\t\t     ", text);
		k++;
	}
	put(x, " }\n\t}\n");
	x->n.sets++;
	x->n.elements += k;
}

static int render_nft(struct exporter *x)
{
	uint32_t id;
	int fam, err;

	put(x, "# Load: nft -f FILE.  The first two lines make sure the table "
	       "exists,\n# then remove it, so that loading again replaces it; "
	       "nothing else\n# in the ruleset is touched.\n");
	put(x, "table inet portwarden\ndelete table inet portwarden\n\n");
	put(x, "table inet portwarden {\n");
	put(x, "\t# Addresses of each role a rule names here: an address "
	       "belongs to the\n\t# role of its longest inventory prefix, "
	       "so a prefix holding a longer\n\t# prefix of another role "
	       "is cut around it.\n");
	for (id = 1; id < x->c->nroles; id++)
		for (fam = 0; fam < NFAM; fam++)
			if ((x->peer_used[0][id] || x->peer_used[1][id]) &&
			    role_has(x, id, fam))
				nft_set(x, id, fam);
	err = nft_chain(x, PW_DIR_INGRESS);
	if (!err)
		err = nft_chain(x, PW_DIR_EGRESS);
	put(x, "}\n");
	return err;
}

/* ------------------------------------------------------------------ */
/* iptables                                                            */
/* ------------------------------------------------------------------ */

static const char *ipt_main_chain(int dir)
{
	return dir == PW_DIR_INGRESS ? "pw-input" : "pw-output";
}

/* "-A CHAIN" plus the interface test that every line of the chain shares. */
static void ipt_start(struct exporter *x, const char *chain)
{
	put(x, "-A %s", chain);
	x->n.rules++;
}

static void ipt_end(struct exporter *x, const char *target, uint32_t rule_id,
		    const char *what)
{
	put(x, " -m comment --comment ");
	put_rule_comment(x, rule_id, what);
	put(x, " -j %s\n", target);
}

/* One line per multiport chunk of @v (or per ICMP type), ending in @target. */
static void ipt_match_lines(struct exporter *x, const char *chain,
			    int proto_idx,
			    const struct pw_port_range *v, int n,
			    const char *target, uint32_t rule_id,
			    const char *what)
{
	static const char *const p[PW_NPROTO] = { "tcp", "udp", "sctp",
						  "icmp", "ipv6-icmp" };
	int i = 0, k, used;
	unsigned t;

	if (proto_idx == PW_P_ICMP || proto_idx == PW_P_ICMPV6) {
		bool v6 = proto_idx == PW_P_ICMPV6;

		if (all_types(v, n)) {
			ipt_start(x, chain);
			put(x, " -p %s", p[proto_idx]);
			ipt_end(x, target, rule_id, what);
			return;
		}
		/* the icmp matches take one type each */
		for (i = 0; i < n; i++) {
			for (t = v[i].lo; t <= v[i].hi; t++) {
				ipt_start(x, chain);
				put(x, " -p %s -m %s --%s-type %u", p[proto_idx],
				    v6 ? "icmp6" : "icmp",
				    v6 ? "icmpv6" : "icmp", t);
				ipt_end(x, target, rule_id, what);
			}
		}
		return;
	}
	while (i < n) {
		ipt_start(x, chain);
		put(x, " -p %s", p[proto_idx]);
		if (n == 1) {
			put(x, " -m %s --dport %u", p[proto_idx], v[0].lo);
			if (v[0].hi != v[0].lo)
				put(x, ":%u", v[0].hi);
			i = 1;
		} else {
			put(x, " -m multiport --dports ");
			for (k = 0, used = 0; i < n; i++, k++) {
				int cost = v[i].lo == v[i].hi ? 1 : 2;

				if (used + cost > IPT_MULTIPORT_MAX)
					break;
				used += cost;
				put(x, "%s%u", k ? "," : "", v[i].lo);
				if (v[i].hi != v[i].lo)
					put(x, ":%u", v[i].hi);
			}
		}
		ipt_end(x, target, rule_id, what);
	}
}

/* The lines of one allow rule in @chain, for one family. */
static int ipt_allow_lines(struct exporter *x, const char *chain,
			   const struct pw_rule *r)
{
	int fam = ipt_family(x), icmp = fam == FAM4 ? PW_P_ICMP : PW_P_ICMPV6;
	struct pw_port_range *v;
	int p, n;

	for (p = 0; p < PW_NPROTO; p++) {
		if (!(r->protos & (1U << p)) ||
		    (p >= PW_P_ICMP && p != icmp))
			continue;
		n = rule_ranges(r, p, &v);
		if (n < 0)
			return n;
		ipt_match_lines(x, chain, p, v, n, "ACCEPT", r->id, "");
		free(v);
	}
	return 0;
}



static bool has_any_rule(const struct exporter *x, int dir)
{
	int i;

	for (i = 0; i < x->c->neffective; i++)
		if (is_allow(x, i, dir) && names_any(&x->c->effective[i]))
			return true;
	return false;
}

/* Roles that get a chain: a peer here, with addresses of the family. */
static bool ipt_role_chain(const struct exporter *x, int dir, uint32_t id)
{
	return id && x->peer_used[dir][id] && role_has(x, id, ipt_family(x));
}

/* Send each address of a role to its chain: one line per CIDR. */
static void ipt_dispatch(struct exporter *x, int dir)
{
	const struct pw_export_cidr *v = x->cidr[ipt_family(x)];
	char chain[IPT_CHAIN_MAX + 8], text[PW_PREFIX_STRLEN];
	size_t i;

	put(x, "# Each address to the chain of its role (the CIDRs are "
	       "disjoint: at most\n# one matches).  Back here when no rule "
	       "there allows the packet.\n");
	for (i = 0; i < x->ncidr[ipt_family(x)]; i++) {
		if (!ipt_role_chain(x, dir, v[i].role))
			continue;
		chain_name(x, dir, v[i].role, chain, sizeof(chain));
		pw_prefix_format(&v[i].prefix, text, sizeof(text));
		ipt_start(x, ipt_main_chain(dir));
		put(x, " %s %s -m comment --comment \"role %s\" -j %s\n",
		    dir == PW_DIR_INGRESS ? "-s" : "-d", text,
		    x->c->role_names[v[i].role].name, chain);
		x->n.elements++;
	}
}

static int ipt_role_chains(struct exporter *x, int dir)
{
	char chain[IPT_CHAIN_MAX + 8];
	uint32_t id;
	int i, idx, err;

	for (id = 1; id < x->c->nroles; id++) {
		if (!ipt_role_chain(x, dir, id))
			continue;
		idx = x->c->role_index[id];
		chain_name(x, dir, id, chain, sizeof(chain));
		put(x, "# %s %s %s: the rules that name it, in file order.\n",
		    dir == PW_DIR_INGRESS ? "From" : "To",
		    role_implicit(x, id) ? "literal peer" : "role",
		    x->c->role_names[id].name);
		for (i = 0; i < x->c->neffective; i++) {
			if (!is_allow(x, i, dir) ||
			    !names_role(&x->c->effective[i], idx) ||
			    seen_before(x, i, idx))
				continue;
			err = ipt_allow_lines(x, chain,
					      x->c->effective[i].rule);
			if (err)
				return err;
		}
	}
	return 0;
}

static void ipt_always(struct exporter *x, int dir)
{
	const char *chain = ipt_main_chain(dir);
	const char *io = dir == PW_DIR_INGRESS ? "-i" : "-o";

	if (x->o->iface) {
		ipt_start(x, chain);
		put(x, " ! %s %s -m comment --comment \"not %s\" -j ACCEPT\n",
		    io, x->o->iface, x->o->iface);
	}
	ipt_start(x, chain);
	put(x, " -m conntrack --ctstate RELATED,ESTABLISHED --ctdir REPLY "
	       "-m comment --comment \"reply of a known flow\" -j ACCEPT\n");
	ipt_start(x, chain);
	put(x, " %s lo -m comment --comment \"loopback interface\" -j ACCEPT\n",
	    io);
	if (ipt_family(x) == FAM4) {
		ipt_start(x, chain);
		put(x, " -p icmp -m icmp --icmp-type 3/4 -m comment --comment "
		       "\"PMTU: fragmentation needed\" -j ACCEPT\n");
		return;
	}
	ipt_start(x, chain);
	put(x, " -p ipv6-icmp -m icmp6 --icmpv6-type 2 -m comment --comment "
	       "\"PMTU: packet too big\" -j ACCEPT\n");
	for (int t = 130; t <= 143; t++) {
		if (t > 137 && t != 143)
			continue;
		ipt_start(x, chain);
		put(x, " -p ipv6-icmp -m icmp6 --icmpv6-type %d -m comment "
		       "--comment \"neighbour discovery and MLD\" -j ACCEPT\n",
		    t);
	}
}

static void ipt_group(struct exporter *x, int dir, const struct vrange *g,
		      const struct pw_port_range *items, int n)
{
	int icmp = ipt_family(x) == FAM4 ? PW_P_ICMP : PW_P_ICMPV6;
	bool drop = enforcing(x, dir, g->mode);

	if (g->proto_idx >= PW_P_ICMP && g->proto_idx != icmp)
		return; /* the other family's document */
	ipt_match_lines(x, ipt_main_chain(dir), g->proto_idx, items, n,
			drop ? "DROP" : "ACCEPT", g->rule_id,
			group_what(g, drop));
}

static int ipt_chain(struct exporter *x, int dir)
{
	const char *chain = ipt_main_chain(dir);
	bool drop = enforcing(x, dir, PW_MODE_HOST);
	int i, err;

	put(x, "\n# ---- %s ----\n", dir == PW_DIR_INGRESS ?
	       "ingress (INPUT): the host is the destination" :
	       "egress (OUTPUT): the host is the source");
	put(x, "# Replies of known flows (conntrack; the opening side is "
	       "judged below),\n# loopback, and ICMP that portwarden always "
	       "passes.\n");
	ipt_always(x, dir);
	if (has_groups(x, dir, true)) {
		put(x, "# Loopback-only ports, before any allow: from the "
		       "wire they are violations.\n");
		err = each_group(x, dir, true, ipt_group);
		if (err)
			return err;
	}
	ipt_dispatch(x, dir);
	if (has_any_rule(x, dir))
		put(x, "# Rules that allow any peer.\n");
	for (i = 0; i < x->c->neffective; i++) {
		if (!is_allow(x, i, dir) || !names_any(&x->c->effective[i]) ||
		    seen_before(x, i, PW_PEER_ANY))
			continue;
		err = ipt_allow_lines(x, chain, x->c->effective[i].rule);
		if (err)
			return err;
	}
	if (x->o->log) {
		ipt_start(x, chain);
		put(x, " -m limit --limit 10/sec --limit-burst 20 -j LOG "
		       "--log-prefix \"portwarden %s: \"\n",
		    dir == PW_DIR_INGRESS ? "in" : "out");
	}
	if (has_groups(x, dir, false))
		put(x, "# Named ports, %s roles not allowed: the first naming "
		       "rule's mode%s.\n", dir == PW_DIR_INGRESS ? "from" : "to",
		    egress_audited(x, dir) ? " (egress: audited)" : "");
	err = each_group(x, dir, false, ipt_group);
	if (err)
		return err;
	put(x, "# The rest: ports or protocols no rule names, %s.\n",
	    egress_audited(x, dir) ? "audited (egress)" : "the host's mode");
	ipt_start(x, chain);
	put(x, " -m comment --comment \"undocumented port or protocol, %s\" "
	       "-j %s\n", drop ? "drop" : "audit", drop ? "DROP" : "ACCEPT");
	return ipt_role_chains(x, dir);
}

static int render_ipt(struct exporter *x)
{
	char chain[IPT_CHAIN_MAX + 8];
	uint32_t id;
	int dir, err;

	put(x, "# Load: %s-restore < FILE.  It replaces the whole filter table "
	       "(do not\n# use --noflush: the jumps from INPUT and OUTPUT "
	       "would be added twice).\n",
	    x->o->format == PW_EXPORT_IPTABLES ? "iptables" : "ip6tables");
	put(x, "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n"
	       ":OUTPUT ACCEPT [0:0]\n");
	for (dir = 0; dir < PW_NDIR; dir++) {
		put(x, ":%s - [0:0]\n", ipt_main_chain(dir));
		x->n.chains++;
		for (id = 1; id < x->c->nroles; id++) {
			if (!ipt_role_chain(x, dir, id))
				continue;
			chain_name(x, dir, id, chain, sizeof(chain));
			put(x, ":%s - [0:0]\n", chain);
			x->n.chains++;
		}
	}
	put(x, "-A INPUT -j pw-input\n-A OUTPUT -j pw-output\n");
	x->n.rules += 2;
	for (dir = 0; dir < PW_NDIR; dir++) {
		err = ipt_chain(x, dir);
		if (err)
			return err;
	}
	put(x, "COMMIT\n");
	return 0;
}

/* ------------------------------------------------------------------ */
/* Driver                                                              */
/* ------------------------------------------------------------------ */

static const char *mode_word(int mode)
{
	return mode == PW_MODE_ENFORCE ? "enforce" : "audit";
}

static void put_list(struct exporter *x, const char *const *v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		put(x, "%s%s", i ? "," : "", v[i]);
	if (!n)
		put(x, "none");
}

static void put_header(struct exporter *x)
{
	const struct pw_policy *pol = x->c->pol;

	put(x, "# portwarden export --%s\n",
	    pw_export_format_name(x->o->format));
	put(x, "# policy %s, digest %016llx\n", pol && pol->name ? pol->name : "?",
	    (unsigned long long)x->c->info.policy_digest);
	put(x, "# host roles ");
	put_list(x, x->o->host_roles, x->o->nhost_roles);
	put(x, "; tags ");
	put_list(x, x->o->tags, x->o->ntags);
	put(x, "; mode %s; egress %s%s%s\n", mode_word(x->o->mode),
	    x->o->egress_enforce ? "in the rules' modes" : "audited",
	    x->o->iface ? "; interface " : "", x->o->iface ? x->o->iface : "");
}

static bool iface_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (!n || n >= 16)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || strchr("._-@:", s[i])))
			return false;
	return true;
}

static void exporter_free(struct exporter *x)
{
	int i;

	for (i = 0; i < NFAM; i++) {
		free(x->cidr[i]);
		free(x->role_ncidr[i]);
	}
	for (i = 0; i < PW_NDIR; i++) {
		free(x->peer_used[i]);
		free(x->vr[i]);
	}
	free(x->policy_to_id);
}

int pw_export_render(const struct pw_compiled *c,
		     const struct pw_export_opts *o, FILE *out,
		     struct pw_export_counts *counts)
{
	struct exporter x = { .c = c, .o = o, .out = out };
	int err = -EINVAL;

	if (o->format > PW_EXPORT_IP6TABLES ||
	    (o->mode != PW_MODE_AUDIT && o->mode != PW_MODE_ENFORCE) ||
	    (o->iface && !iface_ok(o->iface)) || !c->role_names)
		goto out;
	err = pw_export_cidrs(c, 4, &x.cidr[FAM4], &x.ncidr[FAM4]);
	if (!err)
		err = pw_export_cidrs(c, 6, &x.cidr[FAM6], &x.ncidr[FAM6]);
	if (!err)
		err = map_roles(&x);
	if (!err)
		err = collect_vranges(&x, PW_DIR_INGRESS);
	if (!err)
		err = collect_vranges(&x, PW_DIR_EGRESS);
	if (err)
		goto out;
	put_header(&x);
	err = is_nft(&x) ? render_nft(&x) : render_ipt(&x);
	if (!err && (fflush(out) || ferror(out)))
		err = -EIO;
	if (!err && counts)
		*counts = x.n;
out:
	exporter_free(&x);
	return err;
}

const char *pw_export_format_name(enum pw_export_format f)
{
	switch (f) {
	case PW_EXPORT_NFT:
		return "nft";
	case PW_EXPORT_IPTABLES:
		return "iptables";
	case PW_EXPORT_IP6TABLES:
		return "ip6tables";
	}
	return "?";
}
