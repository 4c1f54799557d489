// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * policy.c - parse policy files (docs/policy-language.md) into struct
 * pw_policy.
 *
 * One statement per logical line.  Errors are reported into the caller's
 * pw_diags and parsing goes on with the next statement (or the next item of
 * a list), so that one run shows as many mistakes as it can; a statement
 * with an error adds nothing to the policy.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lexer.h"
#include "policy.h"
#include "portwarden.h"

#define PW_INCLUDE_DEPTH_MAX 8
_Static_assert(PW_PREFIX_STRLEN <= PW_ROLE_NAME_MAX,
	       "the name of a literal peer's implicit role fits a role name");
/* Role id 0 is "unknown", so a policy can declare one fewer. */
#define PW_USABLE_ROLES (PW_MAX_ROLES - 1)

/* ------------------------------------------------------------------ */
/* Protocols                                                           */
/* ------------------------------------------------------------------ */

static const char *const proto_names[PW_NPROTO] = {
	[PW_P_TCP] = "tcp",   [PW_P_UDP] = "udp",	  [PW_P_SCTP] = "sctp",
	[PW_P_ICMP] = "icmp", [PW_P_ICMPV6] = "icmpv6",
};

static const int proto_numbers[PW_NPROTO] = {
	[PW_P_TCP] = PW_IPPROTO_TCP,   [PW_P_UDP] = PW_IPPROTO_UDP,
	[PW_P_SCTP] = PW_IPPROTO_SCTP, [PW_P_ICMP] = PW_IPPROTO_ICMP,
	[PW_P_ICMPV6] = PW_IPPROTO_ICMPV6,
};

const char *pw_proto_name(int proto_idx)
{
	if (proto_idx < 0 || proto_idx >= PW_NPROTO)
		return NULL;
	return proto_names[proto_idx];
}

int pw_proto_ipproto(int proto_idx)
{
	if (proto_idx < 0 || proto_idx >= PW_NPROTO)
		return -1;
	return proto_numbers[proto_idx];
}

int pw_proto_from_ipproto(int ipproto)
{
	for (int i = 0; i < PW_NPROTO; i++)
		if (proto_numbers[i] == ipproto)
			return i;
	return -1;
}

static int proto_from_name(const char *s)
{
	for (int i = 0; i < PW_NPROTO; i++)
		if (!strcmp(s, proto_names[i]))
			return i;
	return -1;
}

static bool proto_is_icmp(int idx)
{
	return idx == PW_P_ICMP || idx == PW_P_ICMPV6;
}

#define ICMP_PROTOS ((1U << PW_P_ICMP) | (1U << PW_P_ICMPV6))

/* ------------------------------------------------------------------ */
/* Parser state                                                        */
/* ------------------------------------------------------------------ */

struct file_id {
	dev_t dev;
	ino_t ino;
};

/* A file being read; chain[0] is the top-level file. */
struct frame {
	const char *file; /* as shown in diagnostics; owned by pol->files */
	bool has_id;      /* false for a buffer */
	struct file_id id;
};

/* The normalised form of a rule, for spotting duplicates. */
struct rule_key {
	uint64_t hash;
	uint32_t *v;
	int n;
};

struct parser {
	struct pw_policy *pol;
	struct pw_diags *d;
	struct frame chain[PW_INCLUDE_DEPTH_MAX + 1];
	int depth; /* index of the file being read in chain[] */
	struct file_id *done; /* files read to the end, read only once */
	int ndone, cap_done;
	int cap_roles, cap_tags, cap_rules, cap_files;
	struct rule_key *keys; /* parallel to pol->rules */
	int cap_keys;
	int *table; /* open addressing: rule index + 1, 0 = free */
	unsigned int table_size;
	bool have_policy;
	struct pw_loc policy_loc;
	bool roles_full, rules_full;
};

/* The statement being parsed: its tokens and a cursor. */
struct stmt {
	struct parser *ps;
	struct pw_diags *d;
	const char *file;
	struct tok_line *tl;
	int i;
};

/* Location of token @t, @off bytes into it. */
#define AT(st, t, off)                                                  \
	(&(struct pw_loc){ .file = (st)->file, .line = (t)->line,       \
			   .col = (t)->col + (off) })

static struct token *cur(struct stmt *st)
{
	return &st->tl->v[st->i];
}

static bool is_word(const struct token *t, const char *w)
{
	return t->kind == TOK_WORD && !strcmp(t->text, w);
}

/* Keywords that start a part of a rule: they end the list before them. */
static bool is_clause_word(const struct token *t)
{
	static const char *const w[] = { "from", "to", "on", "if", "mode",
					 "note", "bidirectional" };

	for (size_t k = 0; k < sizeof(w) / sizeof(w[0]); k++)
		if (is_word(t, w[k]))
			return true;
	return false;
}

static const char *desc(const struct token *t, char *buf)
{
	return tok_desc(t, buf, TOK_DESC_MAX);
}

/* Anything after the statement's last part is an error. */
static int expect_end(struct stmt *st, const char *after)
{
	char b[TOK_DESC_MAX];
	struct token *t = cur(st);

	if (t->kind == TOK_EOL)
		return 0;
	pw_error(st->d, AT(st, t, 0),
		 "unexpected %s after %s: expected the end of the line",
		 desc(t, b), after);
	return -1;
}

/* ------------------------------------------------------------------ */
/* Comma lists                                                         */
/* ------------------------------------------------------------------ */

struct item {
	char *text;
	int line, col;
};

struct items {
	struct item *v;
	int n, cap;
};

static void items_free(struct items *it)
{
	for (int k = 0; k < it->n; k++)
		free(it->v[k].text);
	free(it->v);
	memset(it, 0, sizeof(*it));
}

/* Cut one word at its commas.  Returns true when it ends with a comma. */
static bool split_word(struct stmt *st, const struct token *t,
		       struct items *out)
{
	const char *s = t->text;
	size_t start = 0, len = strlen(s);

	for (size_t k = 0; k <= len; k++) {
		if (k < len && s[k] != ',')
			continue;
		if (k == start && k == len && k > 0)
			return true; /* "a," - the list goes on in the next word */
		if (k == start) {
			pw_error(st->d, AT(st, t, (int)k),
				 "empty item in list '%s': expected an item between commas",
				 s);
		} else {
			pw_grow((void **)&out->v, &out->cap, out->n + 1,
				sizeof(*out->v));
			out->v[out->n].text = pw_xstrndup(s + start, k - start);
			out->v[out->n].line = t->line;
			out->v[out->n].col = t->col + (int)start;
			out->n++;
		}
		start = k + 1;
	}
	return false;
}

/*
 * Read a comma list starting at the current word.  A word that ends with
 * a comma continues in the next word, so "tcp, udp" and a list broken
 * after a comma by a continuation line both work.
 */
static void take_list(struct stmt *st, struct items *out)
{
	for (;;) {
		struct token *t = cur(st);
		struct token *next;

		st->i++;
		if (!split_word(st, t, out))
			return;
		next = cur(st);
		if (next->kind != TOK_WORD || is_clause_word(next)) {
			pw_error(st->d, AT(st, t, (int)strlen(t->text) - 1),
				 "list ends with ',': expected another item after it");
			return;
		}
	}
}

/* ------------------------------------------------------------------ */
/* Roles, tags, files                                                  */
/* ------------------------------------------------------------------ */

static int add_role(struct parser *ps, const char *name, const char *text,
		    const struct pw_prefix *literal, const struct pw_loc *loc)
{
	struct pw_policy *pol = ps->pol;
	struct pw_role *r;

	if (pol->nroles >= PW_USABLE_ROLES && !ps->roles_full) {
		pw_error(ps->d, loc,
			 "too many roles: at most %d, literal peers included (role id 0 is 'unknown', limit %d)",
			 PW_USABLE_ROLES, PW_MAX_ROLES);
		ps->roles_full = true;
	}
	pw_grow((void **)&pol->roles, &ps->cap_roles, pol->nroles + 1,
		sizeof(*pol->roles));
	r = &pol->roles[pol->nroles];
	memset(r, 0, sizeof(*r));
	r->name = pw_xstrdup(name);
	r->desc = pw_xstrdup(text);
	r->implicit = literal != NULL;
	if (literal)
		r->literal = *literal;
	r->loc = *loc;
	return pol->nroles++;
}

static int find_explicit_role(const struct pw_policy *pol, const char *name)
{
	for (int k = 0; k < pol->nroles; k++)
		if (!pol->roles[k].implicit &&
		    !strcmp(pol->roles[k].name, name))
			return k;
	return -1;
}

int pw_policy_find_role(const struct pw_policy *pol, const char *name)
{
	for (int k = 0; k < pol->nroles; k++)
		if (!strcmp(pol->roles[k].name, name))
			return k;
	return -1;
}

int pw_policy_find_tag(const struct pw_policy *pol, const char *name)
{
	for (int k = 0; k < pol->ntags; k++)
		if (!strcmp(pol->tags[k].name, name))
			return k;
	return -1;
}

/* The implicit role of a literal peer; the same prefix reuses it. */
static int literal_role(struct parser *ps, const struct pw_prefix *p,
			const struct pw_loc *loc)
{
	char name[PW_PREFIX_STRLEN];

	for (int k = 0; k < ps->pol->nroles; k++)
		if (ps->pol->roles[k].implicit &&
		    pw_prefix_equal(&ps->pol->roles[k].literal, p))
			return k;
	pw_prefix_format(p, name, sizeof(name));
	return add_role(ps, name, "literal peer", p, loc);
}

static const char *add_file(struct parser *ps, const char *path)
{
	struct pw_policy *pol = ps->pol;

	pw_grow((void **)&pol->files, &ps->cap_files, pol->nfiles + 1,
		sizeof(*pol->files));
	pol->files[pol->nfiles] = pw_xstrdup(path);
	return pol->files[pol->nfiles++];
}

/* ------------------------------------------------------------------ */
/* Declarations: policy, role, tag                                     */
/* ------------------------------------------------------------------ */

/*
 * NAME "description" then the end of the line.  @what is "role name" and
 * the like.  Returns the name and description tokens, or -1 (reported).
 */
static int parse_decl(struct stmt *st, const char *what,
		      struct token **name, struct token **text)
{
	struct token *kw = cur(st);
	char b[TOK_DESC_MAX];

	st->i++;
	*name = cur(st);
	if ((*name)->kind != TOK_WORD) {
		pw_error(st->d, AT(st, *name, 0), "expected a %s after '%s', found %s",
			 what, kw->text, desc(*name, b));
		return -1;
	}
	if (pw_check_name(st->d, AT(st, *name, 0), what, (*name)->text) < 0)
		return -1;
	st->i++;
	*text = cur(st);
	if ((*text)->kind != TOK_STRING) {
		pw_error(st->d, AT(st, *text, 0),
			 "expected a description in double quotes after the %s, found %s",
			 what, desc(*text, b));
		return -1;
	}
	st->i++;
	return expect_end(st, "the description");
}

static void parse_policy_stmt(struct stmt *st)
{
	struct parser *ps = st->ps;
	struct token *kw = cur(st), *name, *text;

	if (ps->depth > 0) {
		pw_error(st->d, AT(st, kw, 0),
			 "'policy' is only allowed in the top-level file, not in an included one");
		return;
	}
	if (ps->have_policy) {
		pw_error(st->d, AT(st, kw, 0),
			 "'policy' given twice: first at %s:%d",
			 ps->policy_loc.file, ps->policy_loc.line);
		return;
	}
	ps->have_policy = true;
	ps->policy_loc = *AT(st, kw, 0);
	if (parse_decl(st, "policy name", &name, &text) < 0)
		return;
	ps->pol->name = pw_xstrdup(name->text);
	ps->pol->desc = pw_xstrdup(text->text);
}

static void parse_role_stmt(struct stmt *st)
{
	struct pw_policy *pol = st->ps->pol;
	struct token *name, *text;
	int prev;

	if (parse_decl(st, "role name", &name, &text) < 0)
		return;
	prev = find_explicit_role(pol, name->text);
	if (prev >= 0) {
		pw_error(st->d, AT(st, name, 0),
			 "duplicate role '%s': already declared at %s:%d",
			 name->text, pol->roles[prev].loc.file,
			 pol->roles[prev].loc.line);
		return;
	}
	add_role(st->ps, name->text, text->text, NULL, AT(st, name, 0));
}

static void parse_tag_stmt(struct stmt *st)
{
	struct parser *ps = st->ps;
	struct pw_policy *pol = ps->pol;
	struct token *name, *text;
	struct pw_tag *tg;
	int prev;

	if (parse_decl(st, "tag name", &name, &text) < 0)
		return;
	prev = pw_policy_find_tag(pol, name->text);
	if (prev >= 0) {
		pw_error(st->d, AT(st, name, 0),
			 "duplicate tag '%s': already declared at %s:%d",
			 name->text, pol->tags[prev].loc.file,
			 pol->tags[prev].loc.line);
		return;
	}
	pw_grow((void **)&pol->tags, &ps->cap_tags, pol->ntags + 1,
		sizeof(*pol->tags));
	tg = &pol->tags[pol->ntags++];
	tg->name = pw_xstrdup(name->text);
	tg->desc = pw_xstrdup(text->text);
	tg->loc = *AT(st, name, 0);
}

/* ------------------------------------------------------------------ */
/* include                                                             */
/* ------------------------------------------------------------------ */

static void parse_text(struct parser *ps, const char *file, const char *buf,
		       size_t len);

static bool same_file(const struct file_id *a, const struct file_id *b)
{
	return a->dev == b->dev && a->ino == b->ino;
}

/* "a.policy -> b.policy -> ... -> @last" from the top-level file. */
static char *chain_text(const struct parser *ps, const char *last)
{
	size_t n = strlen(last) + 1;
	char *s;

	for (int k = 0; k <= ps->depth; k++)
		n += strlen(ps->chain[k].file) + 4;
	s = pw_xmalloc(n);
	s[0] = '\0';
	for (int k = 0; k <= ps->depth; k++) {
		strcat(s, ps->chain[k].file);
		strcat(s, " -> ");
	}
	strcat(s, last);
	return s;
}

static bool already_done(const struct parser *ps, const struct file_id *id)
{
	for (int k = 0; k < ps->ndone; k++)
		if (same_file(&ps->done[k], id))
			return true;
	return false;
}

static void mark_done(struct parser *ps, const struct file_id *id)
{
	pw_grow((void **)&ps->done, &ps->cap_done, ps->ndone + 1,
		sizeof(*ps->done));
	ps->done[ps->ndone++] = *id;
}

/*
 * Checks before reading an included file: it exists, is not being read
 * already (a loop), and does not nest too deep.  Returns 1 to read it, 0
 * to skip it (already read through another include), -1 on error.
 */
static int include_check(struct stmt *st, const struct token *t,
			 const char *path, struct file_id *id)
{
	struct parser *ps = st->ps;
	struct stat sb;
	char *chain;

	if (stat(path, &sb) < 0) {
		if (strcmp(path, t->text))
			pw_error(st->d, AT(st, t, 0),
				 "cannot open '%s' (resolved to '%s'): %s",
				 t->text, path, strerror(errno));
		else
			pw_error(st->d, AT(st, t, 0), "cannot open '%s': %s",
				 path, strerror(errno));
		return -1;
	}
	id->dev = sb.st_dev;
	id->ino = sb.st_ino;
	for (int k = 0; k <= ps->depth; k++) {
		if (!ps->chain[k].has_id || !same_file(&ps->chain[k].id, id))
			continue;
		chain = chain_text(ps, path);
		pw_error(st->d, AT(st, t, 0),
			 "include loop: '%s' is already being read (%s)",
			 path, chain);
		free(chain);
		return -1;
	}
	if (already_done(ps, id))
		return 0;
	if (ps->depth + 1 > PW_INCLUDE_DEPTH_MAX) {
		chain = chain_text(ps, path);
		pw_error(st->d, AT(st, t, 0),
			 "includes nest deeper than %d levels (%s)",
			 PW_INCLUDE_DEPTH_MAX, chain);
		free(chain);
		return -1;
	}
	return 1;
}

static void read_include(struct stmt *st, const struct token *t,
			 const char *path, const struct file_id *id)
{
	struct parser *ps = st->ps;
	const char *file;
	size_t len;
	char *buf;
	int err;

	err = pw_read_file(path, &buf, &len);
	if (err) {
		pw_error(st->d, AT(st, t, 0), "cannot read '%s': %s", path,
			 strerror(-err));
		return;
	}
	file = add_file(ps, path);
	ps->depth++;
	ps->chain[ps->depth].file = file;
	ps->chain[ps->depth].has_id = true;
	ps->chain[ps->depth].id = *id;
	parse_text(ps, file, buf, len);
	ps->depth--;
	mark_done(ps, id);
	free(buf);
}

static void parse_include_stmt(struct stmt *st)
{
	struct parser *ps = st->ps;
	const struct frame *fr = &ps->chain[ps->depth];
	struct token *t;
	struct file_id id;
	char b[TOK_DESC_MAX];
	char *path;

	st->i++;
	t = cur(st);
	if (t->kind == TOK_EOL || (t->kind == TOK_STRING && !t->text[0])) {
		pw_error(st->d, AT(st, t, 0),
			 "expected a file name in double quotes after 'include', found %s",
			 desc(t, b));
		return;
	}
	st->i++;
	if (expect_end(st, "the file name") < 0)
		return;
	/* A buffer has no directory: its includes are relative to the cwd. */
	path = fr->has_id ? pw_path_relative_to(fr->file, t->text) :
			    pw_xstrdup(t->text);
	if (include_check(st, t, path, &id) > 0)
		read_include(st, t, path, &id);
	free(path);
}

/* ------------------------------------------------------------------ */
/* Rules: protocols and ports                                          */
/* ------------------------------------------------------------------ */

/* A port item as written, with its place for diagnostics. */
struct port_item {
	uint16_t lo, hi;
	int line, col;
};

struct rule_ctx {
	struct pw_rule r;
	int proto_class; /* -1 unknown yet, 0 port protocols, 1 ICMP */
	const char *first_proto;
	struct port_item *items;
	int nitems, cap_items;
	const struct token *opt_seen[4]; /* bidirectional, if, mode, note */
};

static void parse_protocols(struct stmt *st, struct rule_ctx *rc)
{
	struct items it = { 0 };

	take_list(st, &it);
	for (int k = 0; k < it.n; k++) {
		struct item *x = &it.v[k];
		struct pw_loc loc = { st->file, x->line, x->col };
		int p = proto_from_name(x->text);
		int cls;

		if (p < 0) {
			pw_error(st->d, &loc,
				 "unknown protocol '%s': expected tcp, udp, sctp, icmp or icmpv6",
				 x->text);
			continue;
		}
		if (rc->r.protos & (1U << p)) {
			pw_warn(st->d, &loc, "protocol '%s' listed twice",
				x->text);
			continue;
		}
		cls = proto_is_icmp(p);
		if (rc->proto_class >= 0 && cls != rc->proto_class) {
			pw_error(st->d, &loc,
				 "'%s' cannot share a rule with '%s': ICMP types are not ports, write one rule for each",
				 x->text, rc->first_proto);
			continue;
		}
		rc->proto_class = cls;
		if (!rc->first_proto)
			rc->first_proto = proto_names[p];
		rc->r.protos |= 1U << p;
	}
	items_free(&it);
}

/* Digits only; values past 7 digits are clamped (they are out of range). */
static int parse_number(const char *s, size_t n, unsigned long *v)
{
	*v = 0;
	if (n == 0)
		return -1;
	for (size_t k = 0; k < n; k++) {
		if (s[k] < '0' || s[k] > '9')
			return -1;
		if (*v < 10000000)
			*v = *v * 10 + (unsigned long)(s[k] - '0');
	}
	return 0;
}

/* "port" or "icmp type", for messages. */
static void port_noun(const struct rule_ctx *rc, char *buf, size_t len)
{
	if (rc->proto_class == 1)
		snprintf(buf, len, "%s type", rc->first_proto);
	else
		snprintf(buf, len, "port");
}

/* One bound of a port item: a number in range. */
static int port_bound(struct stmt *st, const struct rule_ctx *rc,
		      const struct item *x, size_t off, size_t n,
		      unsigned long *v)
{
	struct pw_loc loc = { st->file, x->line, x->col + (int)off };
	unsigned long min = rc->proto_class == 1 ? 0 : 1;
	unsigned long max = rc->proto_class == 1 ? 255 : 65535;
	char noun[32];

	port_noun(rc, noun, sizeof(noun));
	if (parse_number(x->text + off, n, v) < 0) {
		loc.col = x->col;
		pw_error(st->d, &loc,
			 "bad %s '%s': expected a number %lu-%lu or a range LOW-HIGH",
			 noun, x->text, min, max);
		return -1;
	}
	if (*v < min || *v > max) {
		pw_error(st->d, &loc, "%s %.*s out of range: expected %lu-%lu",
			 noun, (int)n, x->text + off, min, max);
		return -1;
	}
	return 0;
}

static void add_port_item(struct stmt *st, struct rule_ctx *rc,
			  const struct item *x)
{
	const char *dash = strchr(x->text, '-');
	size_t n = strlen(x->text);
	size_t lo_len = dash ? (size_t)(dash - x->text) : n;
	unsigned long lo, hi;
	struct port_item *pi;
	char noun[32];

	if (port_bound(st, rc, x, 0, lo_len, &lo) < 0)
		return;
	hi = lo;
	if (dash && port_bound(st, rc, x, lo_len + 1, n - lo_len - 1, &hi) < 0)
		return;
	if (lo > hi) {
		port_noun(rc, noun, sizeof(noun));
		pw_error(st->d, &(struct pw_loc){ st->file, x->line, x->col },
			 "reversed %s range %s: expected LOW-HIGH with LOW <= HIGH",
			 noun, x->text);
		return;
	}
	pw_grow((void **)&rc->items, &rc->cap_items, rc->nitems + 1,
		sizeof(*rc->items));
	pi = &rc->items[rc->nitems];
	pi->lo = (uint16_t)lo;
	pi->hi = (uint16_t)hi;
	pi->line = x->line;
	pi->col = x->col;
	rc->nitems++;
}

static void format_ports(const struct port_item *p, char *buf, size_t len)
{
	if (p->lo == p->hi)
		snprintf(buf, len, "%u", p->lo);
	else
		snprintf(buf, len, "%u-%u", p->lo, p->hi);
}

/*
 * Overlapping items are harmless but usually a typo: warn once per item
 * that overlaps an earlier one.  Port lists are short; pairs are cheap.
 */
static void warn_port_overlaps(struct stmt *st, const struct rule_ctx *rc)
{
	for (int j = 1; j < rc->nitems; j++) {
		const struct port_item *y = &rc->items[j];
		struct pw_loc loc = { st->file, y->line, y->col };
		char a[16], b[16];

		for (int i = 0; i < j; i++) {
			const struct port_item *x = &rc->items[i];

			if (y->lo > x->hi || x->lo > y->hi)
				continue;
			format_ports(y, a, sizeof(a));
			format_ports(x, b, sizeof(b));
			if (x->lo == y->lo && x->hi == y->hi)
				pw_warn(st->d, &loc, "'%s' listed twice", a);
			else
				pw_warn(st->d, &loc,
					"'%s' overlaps '%s' earlier in the list",
					a, b);
			break;
		}
	}
}

static void parse_ports(struct stmt *st, struct rule_ctx *rc)
{
	struct items it = { 0 };

	take_list(st, &it);
	for (int k = 0; k < it.n; k++)
		add_port_item(st, rc, &it.v[k]);
	items_free(&it);
	warn_port_overlaps(st, rc);

	rc->r.ports = pw_xcalloc((size_t)rc->nitems, sizeof(*rc->r.ports));
	for (int k = 0; k < rc->nitems; k++) {
		rc->r.ports[k].lo = rc->items[k].lo;
		rc->r.ports[k].hi = rc->items[k].hi;
	}
	rc->r.nports = rc->nitems;
}

/* ------------------------------------------------------------------ */
/* Rules: peers                                                        */
/* ------------------------------------------------------------------ */

static bool looks_like_address(const char *s)
{
	return (s[0] >= '0' && s[0] <= '9') || strpbrk(s, ".:/") != NULL;
}

static int literal_peer(struct stmt *st, const struct item *x,
			const struct pw_loc *loc)
{
	struct pw_prefix p;
	const char *why = NULL;
	char canon[PW_PREFIX_STRLEN];

	if (pw_prefix_parse(x->text, &p, &why) == 0)
		return literal_role(st->ps, &p, loc);
	if (p.family && !strcmp(why, "host bits set")) {
		pw_prefix_format(&p, canon, sizeof(canon));
		pw_error(st->d, loc,
			 "'%s' has host bits set: expected a network address such as %s",
			 x->text, canon);
	} else if (p.family) {
		pw_error(st->d, loc,
			 "bad prefix length in '%s': expected /0 to /%d",
			 x->text, p.family == 4 ? 32 : 128);
	} else {
		pw_error(st->d, loc,
			 "bad address '%s': expected a role name, 'any', an IPv4 or IPv6 address or a CIDR",
			 x->text);
	}
	return -2;
}

/*
 * One peer: a role index, PW_PEER_ANY, or -2 after an error.  Roles after
 * "on" are hosts' own roles, so literal addresses make no sense there.
 */
static int resolve_peer(struct stmt *st, const struct item *x, bool roles_only)
{
	struct pw_loc loc = { st->file, x->line, x->col };
	int role;

	if (!strcmp(x->text, "any"))
		return PW_PEER_ANY;
	if (looks_like_address(x->text)) {
		if (!roles_only)
			return literal_peer(st, x, &loc);
		pw_error(st->d, &loc,
			 "'%s' is an address: 'on' takes the names of roles that hosts hold",
			 x->text);
		return -2;
	}
	if (!strcmp(x->text, "unknown")) {
		pw_error(st->d, &loc,
			 "'unknown' cannot be a peer: it is what the datapath calls addresses outside the inventory; use 'any'");
		return -2;
	}
	if (pw_is_keyword(x->text)) {
		pw_error(st->d, &loc,
			 "'%s' is a keyword: expected a role name, 'any' or an address",
			 x->text);
		return -2;
	}
	role = find_explicit_role(st->ps->pol, x->text);
	if (role < 0)
		pw_error(st->d, &loc,
			 "unknown role '%s': declare it with 'role %s \"...\"' first",
			 x->text, x->text);
	return role < 0 ? -2 : role;
}

static bool has_peer(const struct pw_peer *v, int n, int role)
{
	for (int k = 0; k < n; k++)
		if (v[k].role == role)
			return true;
	return false;
}

/* PEERS after @kw ("from", "to", "on"). */
static int parse_peers(struct stmt *st, const char *kw, struct pw_peer **out,
		       int *nout)
{
	bool roles_only = !strcmp(kw, "on");
	struct token *t = cur(st);
	struct items it = { 0 };
	const struct item *any_item = NULL;
	char b[TOK_DESC_MAX];

	if (t->kind != TOK_WORD || is_clause_word(t)) {
		pw_error(st->d, AT(st, t, 0), "expected %s after '%s', found %s",
			 roles_only ? "role names" :
				      "peers (role names, 'any' or addresses)",
			 kw, desc(t, b));
		return -1;
	}
	take_list(st, &it);
	*out = pw_xcalloc((size_t)it.n, sizeof(**out));
	for (int k = 0; k < it.n; k++) {
		struct item *x = &it.v[k];
		struct pw_loc loc = { st->file, x->line, x->col };
		int role = resolve_peer(st, x, roles_only);

		if (role == -2)
			continue;
		if (role == PW_PEER_ANY && !any_item)
			any_item = x;
		if (has_peer(*out, *nout, role)) {
			pw_warn(st->d, &loc, "peer '%s' listed twice", x->text);
			continue;
		}
		(*out)[*nout].role = role;
		(*out)[(*nout)++].loc = loc;
	}
	if (any_item && it.n > 1)
		pw_error(st->d, &(struct pw_loc){ st->file, any_item->line,
						  any_item->col },
			 "'any' cannot be combined with other peers: it already matches every peer");
	items_free(&it);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Rules: options                                                      */
/* ------------------------------------------------------------------ */

enum { OPT_BIDIR, OPT_IF, OPT_MODE, OPT_NOTE, NOPT };
static const char *const opt_names[NOPT] = { "bidirectional", "if", "mode",
					     "note" };

static int parse_tags(struct stmt *st, struct rule_ctx *rc)
{
	struct pw_policy *pol = st->ps->pol;
	struct token *t = cur(st);
	struct items it = { 0 };
	char b[TOK_DESC_MAX];

	if (t->kind != TOK_WORD || is_clause_word(t)) {
		pw_error(st->d, AT(st, t, 0),
			 "expected tag names after 'if', found %s", desc(t, b));
		return -1;
	}
	take_list(st, &it);
	rc->r.tags = pw_xcalloc((size_t)it.n, sizeof(*rc->r.tags));
	for (int k = 0; k < it.n; k++) {
		struct item *x = &it.v[k];
		struct pw_loc loc = { st->file, x->line, x->col };
		int tag = pw_policy_find_tag(pol, x->text);
		bool dup = false;

		if (tag < 0) {
			pw_error(st->d, &loc,
				 "unknown tag '%s': declare it with 'tag %s \"...\"' first",
				 x->text, x->text);
			continue;
		}
		for (int j = 0; j < rc->r.ntags; j++)
			dup = dup || rc->r.tags[j] == tag;
		if (dup) {
			pw_warn(st->d, &loc, "tag '%s' listed twice", x->text);
			continue;
		}
		rc->r.tags[rc->r.ntags++] = tag;
	}
	items_free(&it);
	return 0;
}

static int parse_mode(struct stmt *st, struct rule_ctx *rc)
{
	struct token *t = cur(st);
	char b[TOK_DESC_MAX];

	if (is_word(t, "audit")) {
		rc->r.mode = PW_MODE_AUDIT;
	} else if (is_word(t, "enforce")) {
		rc->r.mode = PW_MODE_ENFORCE;
	} else if (t->kind == TOK_WORD && !is_clause_word(t)) {
		pw_error(st->d, AT(st, t, 0),
			 "unknown mode '%s': expected audit or enforce", t->text);
	} else {
		pw_error(st->d, AT(st, t, 0),
			 "expected audit or enforce after 'mode', found %s",
			 desc(t, b));
		return -1;
	}
	st->i++;
	return 0;
}

static int parse_note(struct stmt *st, struct rule_ctx *rc)
{
	struct token *t = cur(st);
	char b[TOK_DESC_MAX];

	if (t->kind != TOK_STRING) {
		pw_error(st->d, AT(st, t, 0),
			 "expected the note in double quotes after 'note', found %s",
			 desc(t, b));
		return -1;
	}
	rc->r.note = pw_xstrdup(t->text);
	st->i++;
	return 0;
}

/*
 * Options in any order, each at most once.  Stops at the first token that
 * is out of place: what follows it would only give confusing errors.
 */
static int parse_options(struct stmt *st, struct rule_ctx *rc)
{
	char b[TOK_DESC_MAX];
	int err = 0;

	while (!err && cur(st)->kind != TOK_EOL) {
		struct token *t = cur(st);
		int o;

		for (o = 0; o < NOPT; o++)
			if (is_word(t, opt_names[o]))
				break;
		if (o == NOPT) {
			pw_error(st->d, AT(st, t, 0),
				 "unexpected %s: expected an option (%s) or the end of the line",
				 desc(t, b),
				 rc->r.kind == PW_RULE_ALLOW ?
					 "bidirectional, if, mode, note" :
					 "if, mode, note");
			return -1;
		}
		if (rc->opt_seen[o]) {
			pw_error(st->d, AT(st, t, 0),
				 "option '%s' given twice: first at column %d",
				 t->text, rc->opt_seen[o]->col);
			return -1;
		}
		rc->opt_seen[o] = t;
		st->i++;
		if (o == OPT_BIDIR && rc->r.kind == PW_RULE_LOOPBACK)
			pw_error(st->d, AT(st, t, 0),
				 "'bidirectional' does not apply to loopback rules: expected if, mode or note");
		else if (o == OPT_BIDIR)
			rc->r.bidirectional = true;
		else if (o == OPT_IF)
			err = parse_tags(st, rc);
		else if (o == OPT_MODE)
			err = parse_mode(st, rc);
		else
			err = parse_note(st, rc);
	}
	return err;
}

/* ------------------------------------------------------------------ */
/* Rules: duplicates                                                   */
/* ------------------------------------------------------------------ */

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

static int cmp_range(const void *a, const void *b)
{
	const struct pw_port_range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return (x->hi > y->hi) - (x->hi < y->hi);
}

struct keybuf {
	uint32_t *v;
	int n, cap;
};

static void key_push(struct keybuf *k, uint32_t x)
{
	pw_grow((void **)&k->v, &k->cap, k->n + 1, sizeof(*k->v));
	k->v[k->n++] = x;
}

/* Sorted, merged port set; ICMP "all types" is 0-255 written out. */
static void key_ports(struct keybuf *k, const struct pw_rule *r)
{
	struct pw_port_range all = { 0, 255 }, *s;
	int n = r->nports, at = k->n, count = 0;
	uint32_t lo = 0, hi = 0;

	s = pw_xmalloc((size_t)(n ? n : 1) * sizeof(*s));
	if (n)
		memcpy(s, r->ports, (size_t)n * sizeof(*s));
	else
		s[n++] = all;
	qsort(s, (size_t)n, sizeof(*s), cmp_range);
	key_push(k, 0); /* count, filled in below */
	for (int j = 0; j < n; j++) {
		if (j && s[j].lo <= hi + 1) {
			hi = s[j].hi > hi ? s[j].hi : hi;
			continue;
		}
		if (j) {
			key_push(k, lo << 16 | hi);
			count++;
		}
		lo = s[j].lo;
		hi = s[j].hi;
	}
	key_push(k, lo << 16 | hi);
	k->v[at] = (uint32_t)count + 1;
	free(s);
}

/* Sorted, unique ints (role indexes shifted so that any = 0). */
static void key_set(struct keybuf *k, const int *v, int n)
{
	int *s = pw_xmalloc((size_t)(n ? n : 1) * sizeof(*s));

	if (n)
		memcpy(s, v, (size_t)n * sizeof(*s));
	qsort(s, (size_t)n, sizeof(*s), cmp_int);
	key_push(k, (uint32_t)n);
	for (int j = 0; j < n; j++)
		key_push(k, (uint32_t)(s[j] + 1));
	free(s);
}

static void key_peers(struct keybuf *k, const struct pw_peer *p, int n)
{
	int *roles = pw_xmalloc((size_t)(n ? n : 1) * sizeof(*roles));

	for (int j = 0; j < n; j++)
		roles[j] = p[j].role;
	key_set(k, roles, n);
	free(roles);
}

static int cmp_keys(const struct keybuf *a, const struct keybuf *b)
{
	if (a->n != b->n)
		return a->n < b->n ? -1 : 1;
	return memcmp(a->v, b->v, (size_t)a->n * sizeof(*a->v));
}

/*
 * What makes two rules the same: kind, protocols, the port set, the peer
 * sets and the tags.  A bidirectional rule reads the same both ways, so
 * its two peer sets are put in a fixed order.
 */
static void rule_key_build(const struct pw_rule *r, struct rule_key *out)
{
	struct keybuf k = { 0 }, src = { 0 }, dst = { 0 };
	uint64_t h = 0xcbf29ce484222325ULL;

	key_push(&k, r->kind);
	key_push(&k, r->bidirectional);
	key_push(&k, r->protos);
	key_ports(&k, r);
	key_peers(&src, r->src, r->nsrc);
	key_peers(&dst, r->dst, r->ndst);
	if (r->bidirectional && cmp_keys(&src, &dst) > 0) {
		struct keybuf tmp = src;

		src = dst;
		dst = tmp;
	}
	for (int j = 0; j < src.n; j++)
		key_push(&k, src.v[j]);
	for (int j = 0; j < dst.n; j++)
		key_push(&k, dst.v[j]);
	key_set(&k, r->tags, r->ntags);
	free(src.v);
	free(dst.v);

	for (int j = 0; j < k.n; j++) {
		h ^= k.v[j];
		h *= 0x100000001b3ULL;
	}
	out->hash = h;
	out->v = k.v;
	out->n = k.n;
}

static bool same_key(const struct rule_key *a, const struct rule_key *b)
{
	return a->hash == b->hash && a->n == b->n &&
	       !memcmp(a->v, b->v, (size_t)a->n * sizeof(*a->v));
}

static void table_insert(struct parser *ps, int idx)
{
	unsigned int mask = ps->table_size - 1;
	unsigned int h = (unsigned int)ps->keys[idx].hash & mask;

	while (ps->table[h])
		h = (h + 1) & mask;
	ps->table[h] = idx + 1;
}

/* Keep the table at most half full. */
static void table_grow(struct parser *ps)
{
	unsigned int size = ps->table_size ? ps->table_size * 2 : 256;

	free(ps->table);
	ps->table = pw_xcalloc(size, sizeof(*ps->table));
	ps->table_size = size;
	for (int k = 0; k < ps->pol->nrules; k++)
		table_insert(ps, k);
}

/* Index of an earlier rule with the same key, or -1. */
static int find_duplicate(const struct parser *ps, const struct rule_key *key)
{
	unsigned int mask = ps->table_size - 1;
	unsigned int h = (unsigned int)key->hash & mask;

	for (; ps->table[h]; h = (h + 1) & mask)
		if (same_key(&ps->keys[ps->table[h] - 1], key))
			return ps->table[h] - 1;
	return -1;
}

/* ------------------------------------------------------------------ */
/* Rules                                                               */
/* ------------------------------------------------------------------ */

static void rule_free(struct pw_rule *r)
{
	free(r->ports);
	free(r->src);
	free(r->dst);
	free(r->tags);
	free(r->note);
}

static void add_rule(struct stmt *st, struct rule_ctx *rc)
{
	struct parser *ps = st->ps;
	struct pw_policy *pol = ps->pol;
	struct rule_key key;
	int dup;

	if (pol->nrules >= PW_MAX_RULES) {
		if (!ps->rules_full)
			pw_error(st->d, &rc->r.loc,
				 "too many rules: at most %d", PW_MAX_RULES);
		ps->rules_full = true;
		rule_free(&rc->r);
		return;
	}
	if (!rc->r.note)
		pw_warn(st->d, &rc->r.loc,
			"rule has no note: add note \"...\" with the vendor's words for this row");
	rule_key_build(&rc->r, &key);
	if ((unsigned int)(pol->nrules + 1) * 2 > ps->table_size)
		table_grow(ps);
	dup = find_duplicate(ps, &key);
	if (dup >= 0)
		pw_warn(st->d, &rc->r.loc,
			"duplicate rule: same protocols, ports, peers and tags as rule %u at %s:%d",
			pol->rules[dup].id, pol->rules[dup].loc.file,
			pol->rules[dup].loc.line);

	pw_grow((void **)&pol->rules, &ps->cap_rules, pol->nrules + 1,
		sizeof(*pol->rules));
	pw_grow((void **)&ps->keys, &ps->cap_keys, pol->nrules + 1,
		sizeof(*ps->keys));
	rc->r.id = (uint32_t)pol->nrules + 1;
	pol->rules[pol->nrules] = rc->r;
	ps->keys[pol->nrules] = key;
	if (dup < 0)
		table_insert(ps, pol->nrules);
	pol->nrules++;
}

/* "allow PROTOCOLS [PORTS] from PEERS to PEERS [OPTIONS]" and loopback. */
static void parse_rule_body(struct stmt *st, struct rule_ctx *rc)
{
	bool loopback = rc->r.kind == PW_RULE_LOOPBACK;
	const char *peer_kw = loopback ? "on" : "from";
	struct token *t;
	char b[TOK_DESC_MAX];

	st->i++;
	t = cur(st);
	if (t->kind != TOK_WORD || is_clause_word(t)) {
		pw_error(st->d, AT(st, t, 0),
			 "expected protocols (tcp, udp, sctp, icmp, icmpv6) after '%s', found %s",
			 loopback ? "loopback" : "allow", desc(t, b));
		return;
	}
	parse_protocols(st, rc);

	t = cur(st);
	if (t->kind == TOK_WORD && !pw_is_keyword(t->text))
		parse_ports(st, rc);
	else if (rc->proto_class == 0)
		pw_error(st->d, AT(st, t, 0),
			 "missing ports after '%s', found %s: tcp, udp and sctp rules need ports (1-65535 for all)",
			 rc->first_proto, desc(t, b));

	t = cur(st);
	if (!is_word(t, peer_kw)) {
		pw_error(st->d, AT(st, t, 0),
			 "expected '%s' and the %s, found %s", peer_kw,
			 loopback ? "roles that serve these ports" :
				    "source peers",
			 desc(t, b));
		return;
	}
	st->i++;
	if (parse_peers(st, peer_kw, &rc->r.dst, &rc->r.ndst) < 0)
		return;
	if (!loopback) {
		/* What we read were the sources. */
		rc->r.src = rc->r.dst;
		rc->r.nsrc = rc->r.ndst;
		rc->r.dst = NULL;
		rc->r.ndst = 0;
		t = cur(st);
		if (!is_word(t, "to")) {
			pw_error(st->d, AT(st, t, 0),
				 "expected 'to' and the destination peers, found %s",
				 desc(t, b));
			return;
		}
		st->i++;
		if (parse_peers(st, "to", &rc->r.dst, &rc->r.ndst) < 0)
			return;
	}
	parse_options(st, rc);
}

static void parse_rule_stmt(struct stmt *st, enum pw_rule_kind kind)
{
	int nerrors = st->d->nerrors;
	struct rule_ctx rc = { .proto_class = -1 };

	rc.r.kind = kind;
	rc.r.mode = PW_MODE_HOST;
	rc.r.loc = *AT(st, cur(st), 0);
	parse_rule_body(st, &rc);
	free(rc.items);
	if (st->d->nerrors != nerrors) {
		rule_free(&rc.r);
		return;
	}
	add_rule(st, &rc);
}

/* ------------------------------------------------------------------ */
/* Statements and files                                                */
/* ------------------------------------------------------------------ */

static void parse_statement(struct stmt *st)
{
	struct token *t = cur(st);
	char b[TOK_DESC_MAX];

	if (is_word(t, "allow"))
		parse_rule_stmt(st, PW_RULE_ALLOW);
	else if (is_word(t, "loopback"))
		parse_rule_stmt(st, PW_RULE_LOOPBACK);
	else if (is_word(t, "role"))
		parse_role_stmt(st);
	else if (is_word(t, "tag"))
		parse_tag_stmt(st);
	else if (is_word(t, "include"))
		parse_include_stmt(st);
	else if (is_word(t, "policy"))
		parse_policy_stmt(st);
	else
		pw_error(st->d, AT(st, t, 0),
			 "unknown statement %s: expected policy, include, role, tag, allow or loopback",
			 desc(t, b));
}

static void parse_text(struct parser *ps, const char *file, const char *buf,
		       size_t len)
{
	struct tok_line tl = { 0 };
	struct lexer lx;
	int r;

	lexer_init(&lx, file, buf, len, ps->d);
	while ((r = lexer_next(&lx, &tl)) != 0) {
		struct stmt st = {
			.ps = ps, .d = ps->d, .file = file, .tl = &tl
		};

		if (r > 0)
			parse_statement(&st);
	}
	tok_line_free(&tl);
}

void pw_policy_free(struct pw_policy *pol)
{
	free(pol->name);
	free(pol->desc);
	free(pol->path);
	for (int k = 0; k < pol->nroles; k++) {
		free(pol->roles[k].name);
		free(pol->roles[k].desc);
	}
	free(pol->roles);
	for (int k = 0; k < pol->ntags; k++) {
		free(pol->tags[k].name);
		free(pol->tags[k].desc);
	}
	free(pol->tags);
	for (int k = 0; k < pol->nrules; k++)
		rule_free(&pol->rules[k]);
	free(pol->rules);
	for (int k = 0; k < pol->nfiles; k++)
		free(pol->files[k]);
	free(pol->files);
	memset(pol, 0, sizeof(*pol));
}

static void parser_free(struct parser *ps)
{
	for (int k = 0; k < ps->pol->nrules; k++)
		free(ps->keys[k].v);
	free(ps->keys);
	free(ps->table);
	free(ps->done);
}

/* Without a "policy" statement the policy is named after its file. */
static char *name_from_path(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t n;

	base = base ? base + 1 : path;
	n = strlen(base);
	if (n > 7 && !strcmp(base + n - 7, ".policy"))
		n -= 7;
	return pw_xstrndup(base, n);
}

static int parse_top(const char *path, const char *buf, size_t len,
		     const struct file_id *id, struct pw_policy *pol,
		     struct pw_diags *d)
{
	struct parser ps = { .pol = pol, .d = d };
	int nerrors = d->nerrors;

	pol->path = pw_xstrdup(path);
	ps.chain[0].file = add_file(&ps, path);
	ps.chain[0].has_id = id != NULL;
	if (id)
		ps.chain[0].id = *id;
	parse_text(&ps, ps.chain[0].file, buf, len);
	if (!pol->name)
		pol->name = name_from_path(path);
	parser_free(&ps);
	if (d->nerrors != nerrors) {
		pw_policy_free(pol);
		return -1;
	}
	return 0;
}

int pw_policy_parse_file(const char *path, struct pw_policy *pol,
			 struct pw_diags *d)
{
	struct pw_loc loc = { .file = path };
	struct file_id id;
	struct stat sb;
	size_t len;
	char *buf;
	int err;

	memset(pol, 0, sizeof(*pol));
	if (stat(path, &sb) < 0)
		err = -errno;
	else
		err = pw_read_file(path, &buf, &len);
	if (err) {
		pw_error(d, &loc, "cannot open: %s", strerror(-err));
		return -1;
	}
	id.dev = sb.st_dev;
	id.ino = sb.st_ino;
	err = parse_top(path, buf, len, &id, pol, d);
	free(buf);
	return err;
}

int pw_policy_parse_buffer(const char *name, const char *text,
			   struct pw_policy *pol, struct pw_diags *d)
{
	memset(pol, 0, sizeof(*pol));
	return parse_top(name, text, strlen(text), NULL, pol, d);
}
