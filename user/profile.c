// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * profile.c - host profiles: "key value" lines naming a host's policy,
 * inventory, roles, tags and mode, and its datapath settings (egress,
 * flow table, events), whose names and ranges the load and reload
 * options share.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lexer.h"
#include "maps.h"
#include "portwarden.h"
#include "profile.h"

/* ------------------------------------------------------------------ */
/* Datapath settings                                                   */
/* ------------------------------------------------------------------ */

/* a flow age longer than a year is a typo */
#define PW_MAX_AGE_S (365U * 86400)

static const struct pw_tun_desc tun_descs[PW_NTUN] = {
	[PW_TUN_EGRESS] = { "egress", "audit|enforce|off", "egress mode",
			    PW_TUN_WORD_EGRESS, 0, 0, 0 },
	[PW_TUN_FLOW_TABLE] = { "flow-table", "N", "flow table entries",
				PW_TUN_NUMBER, 64, PW_CAP_FLOW_MAX, 1 },
	[PW_TUN_FLOW_TCP] = { "flow-timeout-tcp", "SECONDS",
			      "seconds",
			      PW_TUN_NUMBER, 1, PW_MAX_AGE_S, 0 },
	[PW_TUN_FLOW_FIN] = { "flow-timeout-fin", "SECONDS",
			      "seconds",
			      PW_TUN_NUMBER, 1, PW_MAX_AGE_S, 0 },
	[PW_TUN_FLOW_UDP] = { "flow-timeout-udp", "SECONDS",
			      "seconds",
			      PW_TUN_NUMBER, 1, PW_MAX_AGE_S, 0 },
	[PW_TUN_EVENT_RATE] = { "event-rate", "N",
				"events per second per CPU",
				PW_TUN_NUMBER, 0, 1000000, 0 },
	[PW_TUN_EVENT_BURST] = { "event-burst", "N", "events",
				 PW_TUN_NUMBER, 1, 1000000, 0 },
	[PW_TUN_EVENT_INTERVAL] = { "event-interval", "SECONDS",
				    "seconds",
				    PW_TUN_NUMBER, 1, 86400, 0 },
	[PW_TUN_EVENT_RING] = { "event-ring", "BYTES",
				"bytes",
				PW_TUN_BYTES, PW_CAP_EVENT_RING_MIN,
				PW_CAP_EVENT_RING_MAX, 1 },
};

const struct pw_tun_desc *pw_tun_desc(enum pw_tun t)
{
	return (unsigned)t < PW_NTUN ? &tun_descs[t] : NULL;
}

int pw_tun_lookup(const char *key)
{
	int t;

	for (t = 0; t < PW_NTUN; t++)
		if (!strcmp(tun_descs[t].key, key))
			return t;
	return -1;
}

const char *pw_egress_name(uint32_t mode)
{
	switch (mode) {
	case PW_EGRESS_AUDIT:
		return "audit";
	case PW_EGRESS_ENFORCE:
		return "enforce";
	case PW_EGRESS_OFF:
		return "off";
	}
	return "?";
}

static int parse_egress(const char *text, uint32_t *out)
{
	uint32_t m;

	for (m = PW_EGRESS_AUDIT; m <= PW_EGRESS_OFF; m++) {
		if (!strcmp(text, pw_egress_name(m))) {
			*out = m;
			return 0;
		}
	}
	return -1;
}

/* Decimal digits only (no sign, no blanks), then an optional K/M/G. */
static int parse_count(const char *text, bool suffix, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (*text < '0' || *text > '9')
		return -1;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || v > UINT32_MAX)
		return -1;
	if (suffix && *end && !end[1]) {
		int shift = *end == 'K' || *end == 'k' ? 10
			    : *end == 'M' || *end == 'm' ? 20
			    : *end == 'G' || *end == 'g' ? 30
							  : -1;

		if (shift < 0 || v > (UINT32_MAX >> shift))
			return -1;
		v <<= shift;
		end++;
	}
	if (*end)
		return -1;
	*out = v;
	return 0;
}

int pw_tun_parse(enum pw_tun t, const char *text, uint32_t *out, char *why,
		 size_t len)
{
	const struct pw_tun_desc *d = pw_tun_desc(t);
	uint64_t v;

	if (d->kind == PW_TUN_WORD_EGRESS) {
		if (!parse_egress(text, out))
			return 0;
		snprintf(why, len, "expected audit, enforce or off");
		return -1;
	}
	if (!parse_count(text, d->kind == PW_TUN_BYTES, &v) && v >= d->min &&
	    v <= d->max && (d->kind != PW_TUN_BYTES || !(v & (v - 1)))) {
		*out = (uint32_t)v;
		return 0;
	}
	if (d->kind == PW_TUN_BYTES)
		snprintf(why, len, "expected a number of %s, a power of two "
				   "from %u to %u (K, M or G may follow)",
			 d->what, d->min, d->max);
	else
		snprintf(why, len, "expected a number of %s from %u to %u",
			 d->what, d->min, d->max);
	return -1;
}

/* ------------------------------------------------------------------ */
/* Profiles                                                            */
/* ------------------------------------------------------------------ */

struct pparser {
	struct pw_profile *p;
	struct pw_diags *d;
	const char *file;
	int cap_roles, cap_tags;
	int policy_line, inventory_line, mode_line;
	int tun_line[PW_NTUN];
};

#define AT(pp, t, off)                                                  \
	(&(struct pw_loc){ .file = (pp)->file, .line = (t)->line,       \
			   .col = (t)->col + (off) })

static int expect_end(struct pparser *pp, const struct token *t,
		      const char *after)
{
	char b[TOK_DESC_MAX];

	if (t->kind == TOK_EOL)
		return 0;
	pw_error(pp->d, AT(pp, t, 0),
		 "unexpected %s after %s: expected the end of the line",
		 tok_desc(t, b, sizeof(b)), after);
	return -1;
}

/* policy PATH / inventory PATH: once each, relative to the profile. */
static void parse_path(struct pparser *pp, struct token *v, char **dst,
		       int *seen_line)
{
	const struct token *key = v - 1;
	char b[TOK_DESC_MAX];

	if (*seen_line) {
		pw_error(pp->d, AT(pp, key, 0),
			 "'%s' given twice: first at line %d", key->text,
			 *seen_line);
		return;
	}
	if (v->kind == TOK_EOL || !v->text[0]) {
		pw_error(pp->d, AT(pp, v, 0),
			 "expected a file name after '%s', found %s", key->text,
			 tok_desc(v, b, sizeof(b)));
		return;
	}
	if (expect_end(pp, v + 1, "the file name") < 0)
		return;
	*seen_line = key->line;
	*dst = pw_path_relative_to(pp->file, v->text);
}

static bool in_list(char **v, int n, const char *s)
{
	for (int k = 0; k < n; k++)
		if (!strcmp(v[k], s))
			return true;
	return false;
}

static void add_name(struct pparser *pp, const struct pw_loc *loc,
		     const char *what, char *name, char ***v, int *n, int *cap)
{
	if (pw_check_name(pp->d, loc, what, name) < 0) {
		free(name);
		return;
	}
	if (in_list(*v, *n, name)) {
		pw_warn(pp->d, loc, "%s '%s' listed twice", what, name);
		free(name);
		return;
	}
	pw_grow((void **)v, cap, *n + 1, sizeof(**v));
	(*v)[(*n)++] = name;
}

/* role NAME[,NAME...] / tag NAME[,NAME...]; "a, b" works too. */
static void parse_names(struct pparser *pp, struct token *t, const char *what,
			char ***v, int *n, int *cap)
{
	const struct token *key = t - 1;
	char b[TOK_DESC_MAX];

	if (t->kind != TOK_WORD) {
		pw_error(pp->d, AT(pp, t, 0), "expected %ss after '%s', found %s",
			 what, key->text, tok_desc(t, b, sizeof(b)));
		return;
	}
	for (;;) {
		const char *s = t->text;
		size_t len = strlen(s), start = 0;
		bool more = len && s[len - 1] == ',';

		for (size_t k = 0; k <= len; k++) {
			if (k < len && s[k] != ',')
				continue;
			if (k == start && !(k == len && k > 0))
				pw_error(pp->d, AT(pp, t, (int)k),
					 "empty item in list '%s': expected a name between commas",
					 s);
			else if (k > start)
				add_name(pp, AT(pp, t, (int)start), what,
					 pw_xstrndup(s + start, k - start), v,
					 n, cap);
			start = k + 1;
		}
		t++;
		if (!more)
			break;
		if (t->kind != TOK_WORD) {
			pw_error(pp->d, AT(pp, t - 1, (int)len - 1),
				 "list ends with ',': expected another item after it");
			return;
		}
	}
	expect_end(pp, t, "the names");
}

static void parse_mode(struct pparser *pp, struct token *v)
{
	const struct token *key = v - 1;
	char b[TOK_DESC_MAX];

	if (pp->mode_line) {
		pw_error(pp->d, AT(pp, key, 0),
			 "'mode' given twice: first at line %d", pp->mode_line);
		return;
	}
	if (v->kind == TOK_WORD && !strcmp(v->text, "audit")) {
		pp->p->mode = PW_MODE_AUDIT;
	} else if (v->kind == TOK_WORD && !strcmp(v->text, "enforce")) {
		pp->p->mode = PW_MODE_ENFORCE;
	} else if (v->kind == TOK_WORD) {
		pw_error(pp->d, AT(pp, v, 0),
			 "unknown mode '%s': expected audit or enforce", v->text);
		return;
	} else {
		pw_error(pp->d, AT(pp, v, 0),
			 "expected audit or enforce after 'mode', found %s",
			 tok_desc(v, b, sizeof(b)));
		return;
	}
	pp->mode_line = key->line;
	expect_end(pp, v + 1, "the mode");
}

/* egress MODE, flow-table N, ...: once each. */
static void parse_tunable(struct pparser *pp, struct token *v, int t)
{
	const struct token *key = v - 1;
	char b[TOK_DESC_MAX], why[160];

	if (pp->tun_line[t]) {
		pw_error(pp->d, AT(pp, key, 0), "'%s' given twice: first at line %d",
			 key->text, pp->tun_line[t]);
		return;
	}
	if (v->kind != TOK_WORD) {
		pw_error(pp->d, AT(pp, v, 0), "expected %s after '%s', found %s",
			 t == PW_TUN_EGRESS ? "audit, enforce or off" : "a number",
			 key->text, tok_desc(v, b, sizeof(b)));
		return;
	}
	if (pw_tun_parse(t, v->text, &pp->p->tun.v[t], why, sizeof(why))) {
		pw_error(pp->d, AT(pp, v, 0), "bad %s '%s': %s", key->text,
			 v->text, why);
		return;
	}
	pp->tun_line[t] = key->line;
	pp->p->tun.set |= 1U << t;
	expect_end(pp, v + 1, "the value");
}

static void parse_line(struct pparser *pp, struct tok_line *tl)
{
	struct token *key = &tl->v[0];
	struct pw_profile *p = pp->p;
	char b[TOK_DESC_MAX];

	if (key->kind != TOK_WORD)
		goto unknown;
	if (!strcmp(key->text, "policy"))
		parse_path(pp, key + 1, &p->policy, &pp->policy_line);
	else if (!strcmp(key->text, "inventory"))
		parse_path(pp, key + 1, &p->inventory, &pp->inventory_line);
	else if (!strcmp(key->text, "role"))
		parse_names(pp, key + 1, "role name", &p->roles, &p->nroles,
			    &pp->cap_roles);
	else if (!strcmp(key->text, "tag"))
		parse_names(pp, key + 1, "tag name", &p->tags, &p->ntags,
			    &pp->cap_tags);
	else if (!strcmp(key->text, "mode"))
		parse_mode(pp, key + 1);
	else if (pw_tun_lookup(key->text) >= 0)
		parse_tunable(pp, key + 1, pw_tun_lookup(key->text));
	else
		goto unknown;
	return;
unknown:
	pw_error(pp->d, AT(pp, key, 0),
		 "unknown key %s: expected policy, inventory, role, tag, mode "
		 "or a datapath setting (egress, flow-table, flow-timeout-tcp, "
		 "flow-timeout-fin, flow-timeout-udp, event-rate, event-burst, "
		 "event-interval, event-ring)",
		 tok_desc(key, b, sizeof(b)));
}

void pw_profile_free(struct pw_profile *p)
{
	free(p->policy);
	free(p->inventory);
	for (int k = 0; k < p->nroles; k++)
		free(p->roles[k]);
	free(p->roles);
	for (int k = 0; k < p->ntags; k++)
		free(p->tags[k]);
	free(p->tags);
	memset(p, 0, sizeof(*p));
}

static int parse_profile(const char *name, const char *buf, size_t len,
			 struct pw_profile *p, struct pw_diags *d)
{
	struct pparser pp = { .p = p, .d = d, .file = name };
	struct pw_loc file_loc = { .file = name };
	struct tok_line tl = { 0 };
	int nerrors = d->nerrors;
	struct lexer lx;
	int r;

	lexer_init(&lx, name, buf, len, d);
	while ((r = lexer_next(&lx, &tl)) != 0)
		if (r > 0)
			parse_line(&pp, &tl);
	tok_line_free(&tl);

	/* Only complain about what is missing when the rest was readable. */
	if (d->nerrors == nerrors && !p->policy)
		pw_error(d, &file_loc,
			 "no 'policy' line: a profile names the policy file of its host");
	if (d->nerrors == nerrors && !p->nroles)
		pw_error(d, &file_loc,
			 "no 'role' line: a profile names the roles its host holds");
	if (d->nerrors != nerrors) {
		pw_profile_free(p);
		return -1;
	}
	return 0;
}

int pw_profile_parse_buffer(const char *name, const char *text,
			    struct pw_profile *p, struct pw_diags *d)
{
	memset(p, 0, sizeof(*p));
	return parse_profile(name, text, strlen(text), p, d);
}

int pw_profile_parse_file(const char *path, struct pw_profile *p,
			  struct pw_diags *d)
{
	struct pw_loc loc = { .file = path };
	size_t len;
	char *buf;
	int err;

	memset(p, 0, sizeof(*p));
	err = pw_read_file(path, &buf, &len);
	if (err) {
		pw_error(d, &loc, "cannot open: %s", strerror(-err));
		return -1;
	}
	err = parse_profile(path, buf, len, p, d);
	free(buf);
	return err;
}
