// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * inventory.c - parse a site inventory ("role address...") against a
 * parsed policy.
 *
 * Lines are read first; the checks that compare entries with each other
 * (same prefix twice, overlaps, literal peers) run afterwards on a sorted
 * copy, so that they cost n log n even for inventories of 100k hosts.
 * Their diagnostics are then merged with the others in line order.
 */
#include <stdlib.h>
#include <string.h>

#include "lexer.h"
#include "policy.h"
#include "portwarden.h"

struct iparser {
	const struct pw_policy *pol;
	struct pw_inventory *inv;
	struct pw_diags *d; /* local; merged into the caller's in order */
	const char *file;
	int cap_entries;
};

#define AT(ip, t, off)                                                  \
	(&(struct pw_loc){ .file = (ip)->file, .line = (t)->line,       \
			   .col = (t)->col + (off) })

static void add_entry(struct iparser *ip, int role, const struct pw_prefix *p,
		      const struct pw_loc *loc)
{
	struct pw_inventory *inv = ip->inv;
	struct pw_inv_entry *e;

	pw_grow((void **)&inv->entries, &ip->cap_entries, inv->nentries + 1,
		sizeof(*inv->entries));
	e = &inv->entries[inv->nentries++];
	e->role = role;
	e->prefix = *p;
	e->loc = *loc;
}

/* ------------------------------------------------------------------ */
/* One line                                                            */
/* ------------------------------------------------------------------ */

static bool looks_like_address(const char *s)
{
	return (s[0] >= '0' && s[0] <= '9') || strpbrk(s, ".:/") != NULL;
}

static int find_named_role(const struct pw_policy *pol, const char *name)
{
	for (int k = 0; k < pol->nroles; k++)
		if (!pol->roles[k].implicit &&
		    !strcmp(pol->roles[k].name, name))
			return k;
	return -1;
}

static int parse_role(struct iparser *ip, const struct token *t)
{
	char b[TOK_DESC_MAX];
	int role;

	if (t->kind != TOK_WORD || looks_like_address(t->text)) {
		pw_error(ip->d, AT(ip, t, 0),
			 "expected a role name at the start of the line, found %s",
			 tok_desc(t, b, sizeof(b)));
		return -1;
	}
	if (!strcmp(t->text, "any") || !strcmp(t->text, "unknown")) {
		pw_error(ip->d, AT(ip, t, 0),
			 "'%s' is reserved and holds no addresses: expected a role the policy declares",
			 t->text);
		return -1;
	}
	role = find_named_role(ip->pol, t->text);
	if (role < 0)
		pw_error(ip->d, AT(ip, t, 0),
			 "unknown role '%s': declare it in the policy with 'role %s \"...\"'",
			 t->text, t->text);
	return role;
}

struct range_ctx {
	struct iparser *ip;
	int role;
	const struct pw_loc *loc;
};

static int emit_range_prefix(const struct pw_prefix *p, void *arg)
{
	struct range_ctx *rc = arg;

	add_entry(rc->ip, rc->role, p, rc->loc);
	return 0;
}

/* One end of a range: a plain address. */
static int range_end(struct iparser *ip, const struct token *t, size_t off,
		     const char *text, struct pw_prefix *p)
{
	const char *why;

	if (!strchr(text, '/') && pw_prefix_parse(text, p, &why) == 0)
		return 0;
	pw_error(ip->d, AT(ip, t, (int)off),
		 "bad range '%s': '%s' is not an address; expected FIRST-LAST, two addresses of one family",
		 t->text, text);
	return -1;
}

/* FIRST-LAST: split into the fewest CIDRs, all located at the range. */
static void parse_range(struct iparser *ip, int role, const struct token *t)
{
	const char *dash = strchr(t->text, '-');
	size_t flen = (size_t)(dash - t->text);
	struct range_ctx rc = { ip, role, AT(ip, t, 0) };
	struct pw_prefix first, last;
	const char *why = NULL;
	char *a = pw_xstrndup(t->text, flen);
	int bad;

	/* One error per range is enough. */
	bad = range_end(ip, t, 0, a, &first) < 0 ||
	      range_end(ip, t, flen + 1, dash + 1, &last) < 0;
	free(a);
	if (bad)
		return;
	if (first.family != last.family) {
		pw_error(ip->d, rc.loc,
			 "bad range '%s': it mixes IPv4 and IPv6; expected two addresses of one family",
			 t->text);
		return;
	}
	if (pw_range_to_prefixes(&first, &last, emit_range_prefix, &rc,
				 &why) < 0)
		pw_error(ip->d, rc.loc,
			 "reversed range '%s': expected FIRST-LAST with FIRST <= LAST",
			 t->text);
}

static void parse_address(struct iparser *ip, int role, const struct token *t)
{
	struct pw_prefix p;
	const char *why = NULL;
	char canon[PW_PREFIX_STRLEN];
	char b[TOK_DESC_MAX];

	if (t->kind != TOK_WORD) {
		pw_error(ip->d, AT(ip, t, 0),
			 "expected an address, a CIDR or a range, found %s",
			 tok_desc(t, b, sizeof(b)));
		return;
	}
	if (strchr(t->text, '-')) {
		parse_range(ip, role, t);
		return;
	}
	if (pw_prefix_parse(t->text, &p, &why) == 0) {
		add_entry(ip, role, &p, AT(ip, t, 0));
		return;
	}
	if (p.family && !strcmp(why, "host bits set")) {
		pw_prefix_format(&p, canon, sizeof(canon));
		pw_error(ip->d, AT(ip, t, 0),
			 "'%s' has host bits set: expected a network address such as %s",
			 t->text, canon);
	} else if (p.family) {
		pw_error(ip->d, AT(ip, t, 0),
			 "bad prefix length in '%s': expected /0 to /%d", t->text,
			 p.family == 4 ? 32 : 128);
	} else {
		pw_error(ip->d, AT(ip, t, 0),
			 "bad address '%s': expected an IPv4 or IPv6 address, a CIDR or a range FIRST-LAST",
			 t->text);
	}
}

static void parse_line(struct iparser *ip, struct tok_line *tl)
{
	int role = parse_role(ip, &tl->v[0]);

	if (role < 0)
		return;
	if (tl->n == 1) {
		pw_error(ip->d, AT(ip, &tl->v[0], 0),
			 "no addresses after role '%s': expected addresses, CIDRs or ranges",
			 tl->v[0].text);
		return;
	}
	for (int k = 1; k < tl->n; k++)
		parse_address(ip, role, &tl->v[k]);
}

/* ------------------------------------------------------------------ */
/* Checks across entries                                               */
/* ------------------------------------------------------------------ */

/* An inventory entry, or a literal peer of the policy (entry = -1). */
struct ref {
	const struct pw_prefix *p;
	int role;
	int entry; /* index in inv->entries, -1 for a literal peer */
};

static int cmp_ref(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;
	int c = pw_prefix_cmp(x->p, y->p);

	if (c)
		return c;
	return (x->entry > y->entry) - (x->entry < y->entry);
}

static struct ref *sorted_refs(const struct iparser *ip, int *n)
{
	const struct pw_policy *pol = ip->pol;
	const struct pw_inventory *inv = ip->inv;
	struct ref *v;
	int k = 0;

	v = pw_xcalloc((size_t)(inv->nentries + pol->nroles), sizeof(*v));
	for (int r = 0; r < pol->nroles; r++)
		if (pol->roles[r].implicit)
			v[k++] = (struct ref){ &pol->roles[r].literal, r, -1 };
	for (int e = 0; e < inv->nentries; e++)
		v[k++] = (struct ref){ &inv->entries[e].prefix,
				       inv->entries[e].role, e };
	qsort(v, (size_t)k, sizeof(*v), cmp_ref);
	*n = k;
	return v;
}

static const char *role_name(const struct iparser *ip, int role)
{
	return ip->pol->roles[role].name;
}

/*
 * A prefix written again: under the same role a warning (the copy is
 * dropped), under another role or as a literal peer of the policy an error.
 * @first is the earliest of the group (literal peers sort first).
 */
static void check_same_prefix(struct iparser *ip, const struct ref *first,
			      const struct ref *again, bool *drop)
{
	const struct pw_inv_entry *e = &ip->inv->entries[again->entry];
	const struct pw_role *lit = &ip->pol->roles[first->role];
	char s[PW_PREFIX_STRLEN];

	pw_prefix_format(again->p, s, sizeof(s));
	if (first->entry < 0) {
		pw_error(ip->d, &e->loc,
			 "%s is also a literal peer in the policy (%s:%d): an address has one role",
			 s, lit->loc.file, lit->loc.line);
		return;
	}
	if (first->role == again->role) {
		pw_warn(ip->d, &e->loc,
			"%s listed twice for role '%s' (first at line %d)", s,
			role_name(ip, again->role),
			ip->inv->entries[first->entry].loc.line);
		drop[again->entry] = true;
		return;
	}
	pw_error(ip->d, &e->loc,
		 "%s is already in role '%s' (%s:%d): an address has one role",
		 s, role_name(ip, first->role),
		 ip->inv->entries[first->entry].loc.file,
		 ip->inv->entries[first->entry].loc.line);
}

/*
 * Prefixes that a later, wider prefix of another role covers: one warning
 * at the wider one, however many it covers.
 */
struct covered {
	const struct ref *first; /* lowest covered prefix */
	int count;
};

static void warn_inside(struct iparser *ip, const struct ref *outer,
			const struct ref *inner)
{
	const struct pw_inv_entry *o = &ip->inv->entries[outer->entry];
	const struct pw_inv_entry *i = &ip->inv->entries[inner->entry];
	char so[PW_PREFIX_STRLEN], si[PW_PREFIX_STRLEN];

	pw_prefix_format(outer->p, so, sizeof(so));
	pw_prefix_format(inner->p, si, sizeof(si));
	pw_warn(ip->d, &i->loc,
		"%s of role '%s' lies inside %s of role '%s' (line %d): the longer prefix wins",
		si, role_name(ip, inner->role), so, role_name(ip, outer->role),
		o->loc.line);
}

static void warn_covers(struct iparser *ip, const struct ref *outer,
			const struct covered *c)
{
	const struct pw_inv_entry *o = &ip->inv->entries[outer->entry];
	const struct pw_inv_entry *i = &ip->inv->entries[c->first->entry];
	char so[PW_PREFIX_STRLEN], si[PW_PREFIX_STRLEN], more[48] = "";

	pw_prefix_format(outer->p, so, sizeof(so));
	pw_prefix_format(c->first->p, si, sizeof(si));
	if (c->count > 1)
		snprintf(more, sizeof(more), " and %d more of other roles",
			 c->count - 1);
	pw_warn(ip->d, &o->loc,
		"%s of role '%s' contains %s of role '%s' (line %d)%s: the longer prefix wins",
		so, role_name(ip, outer->role), si,
		role_name(ip, c->first->role), i->loc.line, more);
}

/*
 * Overlaps between roles, reported at the later of the two lines.  In
 * sorted order a prefix comes after every prefix that contains it, so a
 * stack of open prefixes holds exactly the chain of containers of the
 * current one.  Only the innermost container matters: it holds the role
 * these addresses would get without the current prefix.  When that role
 * is the same, nothing changes and nothing is said.
 */
static void check_overlaps(struct iparser *ip, const struct ref *v, int n,
			   const bool *repeat)
{
	const struct ref **stack = pw_xcalloc((size_t)n, sizeof(*stack));
	struct covered *cov;
	int depth = 0;

	cov = pw_xcalloc((size_t)ip->inv->nentries, sizeof(*cov));
	for (int k = 0; k < n; k++) {
		const struct ref *outer;

		if (v[k].entry < 0 || repeat[k])
			continue;
		while (depth &&
		       !pw_prefix_contains(stack[depth - 1]->p, v[k].p))
			depth--;
		outer = depth ? stack[depth - 1] : NULL;
		if (outer && outer->role == v[k].role)
			outer = NULL;
		if (outer && v[k].entry > outer->entry) {
			warn_inside(ip, outer, &v[k]);
		} else if (outer) {
			if (!cov[outer->entry].count++)
				cov[outer->entry].first = &v[k];
		}
		stack[depth++] = &v[k];
	}
	for (int k = 0; k < n; k++)
		if (v[k].entry >= 0 && !repeat[k] && cov[v[k].entry].count)
			warn_covers(ip, &v[k], &cov[v[k].entry]);
	free(cov);
	free(stack);
}

static void check_entries(struct iparser *ip, bool *drop)
{
	int n, first = 0;
	struct ref *v = sorted_refs(ip, &n);
	bool *repeat = pw_xcalloc((size_t)n, sizeof(*repeat));

	for (int k = 0; k < n; k++) {
		if (k && pw_prefix_equal(v[k].p, v[first].p)) {
			repeat[k] = true;
			check_same_prefix(ip, &v[first], &v[k], drop);
		} else {
			first = k;
		}
	}
	check_overlaps(ip, v, n, repeat);
	free(repeat);
	free(v);
}

/* The datapath probes one hash per IPv6 prefix length: bound them. */
static void check_v6_lengths(struct iparser *ip, const bool *drop)
{
	const struct pw_policy *pol = ip->pol;
	const struct pw_inventory *inv = ip->inv;
	bool seen[129] = { false };
	int count = 0;

	for (int k = 0; k < pol->nroles + inv->nentries; k++) {
		bool lit = k < pol->nroles;
		const struct pw_prefix *p;
		const struct pw_loc *loc;

		if (lit && !pol->roles[k].implicit)
			continue;
		if (!lit && drop[k - pol->nroles])
			continue;
		p = lit ? &pol->roles[k].literal :
			  &inv->entries[k - pol->nroles].prefix;
		loc = lit ? &pol->roles[k].loc :
			    &inv->entries[k - pol->nroles].loc;
		if (p->family != 6 || seen[p->plen])
			continue;
		seen[p->plen] = true;
		if (++count > PW_MAX_V6_PLENS) {
			pw_error(ip->d, loc,
				 "too many distinct IPv6 prefix lengths: at most %d (this adds /%u)",
				 PW_MAX_V6_PLENS, p->plen);
			return;
		}
	}
}

/* Drop the entries marked, keeping file order. */
static void compact(struct pw_inventory *inv, const bool *drop)
{
	int n = 0;

	for (int k = 0; k < inv->nentries; k++)
		if (!drop[k])
			inv->entries[n++] = inv->entries[k];
	inv->nentries = n;
}

/* ------------------------------------------------------------------ */
/* Diagnostics in line order                                           */
/* ------------------------------------------------------------------ */

static int cmp_diag_order(const void *a, const void *b)
{
	const struct pw_diag *x = *(const struct pw_diag *const *)a;
	const struct pw_diag *y = *(const struct pw_diag *const *)b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return (x > y) - (x < y); /* stable: order of report */
}

static void merge_diags(struct pw_diags *local, struct pw_diags *d)
{
	const struct pw_diag **v;

	v = pw_xcalloc((size_t)local->n, sizeof(*v));
	for (int k = 0; k < local->n; k++)
		v[k] = &local->v[k];
	qsort(v, (size_t)local->n, sizeof(*v), cmp_diag_order);
	for (int k = 0; k < local->n; k++) {
		struct pw_loc loc = { v[k]->file, v[k]->line, v[k]->col };

		if (v[k]->level == PW_DIAG_ERROR)
			pw_error(d, &loc, "%s", v[k]->msg);
		else
			pw_warn(d, &loc, "%s", v[k]->msg);
	}
	free(v);
}

/* ------------------------------------------------------------------ */
/* Entry points                                                        */
/* ------------------------------------------------------------------ */

void pw_inventory_free(struct pw_inventory *inv)
{
	free(inv->path);
	free(inv->entries);
	for (int k = 0; k < inv->nfiles; k++)
		free(inv->files[k]);
	free(inv->files);
	memset(inv, 0, sizeof(*inv));
}

static int parse_inventory(const char *name, const char *buf, size_t len,
			   const struct pw_policy *pol,
			   struct pw_inventory *inv, struct pw_diags *d)
{
	struct pw_diags local = { 0 };
	struct iparser ip = { .pol = pol, .inv = inv, .d = &local };
	struct tok_line tl = { 0 };
	struct lexer lx;
	bool *drop;
	int r;

	inv->path = pw_xstrdup(name);
	inv->files = pw_xcalloc(1, sizeof(*inv->files));
	inv->files[0] = pw_xstrdup(name);
	inv->nfiles = 1;
	ip.file = inv->files[0];

	lexer_init(&lx, ip.file, buf, len, &local);
	while ((r = lexer_next(&lx, &tl)) != 0)
		if (r > 0)
			parse_line(&ip, &tl);
	tok_line_free(&tl);

	drop = pw_xcalloc((size_t)inv->nentries, sizeof(*drop));
	check_entries(&ip, drop);
	check_v6_lengths(&ip, drop);
	compact(inv, drop);
	free(drop);

	merge_diags(&local, d);
	r = local.nerrors ? -1 : 0;
	pw_diags_free(&local);
	if (r)
		pw_inventory_free(inv);
	return r;
}

int pw_inventory_parse_buffer(const char *name, const char *text,
			      const struct pw_policy *pol,
			      struct pw_inventory *inv, struct pw_diags *d)
{
	memset(inv, 0, sizeof(*inv));
	return parse_inventory(name, text, strlen(text), pol, inv, d);
}

int pw_inventory_parse_file(const char *path, const struct pw_policy *pol,
			    struct pw_inventory *inv, struct pw_diags *d)
{
	struct pw_loc loc = { .file = path };
	size_t len;
	char *buf;
	int err;

	memset(inv, 0, sizeof(*inv));
	err = pw_read_file(path, &buf, &len);
	if (err) {
		pw_error(d, &loc, "cannot open: %s", strerror(-err));
		return -1;
	}
	err = parse_inventory(path, buf, len, pol, inv, d);
	free(buf);
	return err;
}
