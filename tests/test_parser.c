// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_parser.c - the policy language front end: lexer, every statement,
 * every diagnostic with its exact place, includes, limits, host profiles,
 * and the policies shipped in policies/.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <ftw.h>
#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "lexer.h"
#include "policy.h"
#include "portwarden.h"
#include "profile.h"
#include "testutil.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static void assert_zeroed(const struct pw_policy *pol)
{
	static const struct pw_policy zero;

	assert_memory_equal(pol, &zero, sizeof(zero));
}

/* Declarations every error case starts from: lines 1 to 3. */
#define PRE                                                             \
	"role db \"database\"\n"                                        \
	"role app \"application\"\n"                                    \
	"tag galera \"Galera\"\n"

/* Parse @src as "t.policy"; it must fail with exactly @expected. */
static void expect_failure(const char *src, const char *expected)
{
	struct pw_policy pol;
	struct pw_diags d = { 0 };
	int ret = pw_policy_parse_buffer("t.policy", src, &pol, &d);
	char *got = diags_text(&d);

	if (ret != -1 || strcmp(got, expected))
		fail_msg("source:\n%s\n--- expected (ret -1):\n%s\n--- got (ret %d):\n%s",
			 src, expected, ret, got);
	assert_zeroed(&pol);
	assert_true(d.nerrors > 0);
	free(got);
	pw_diags_free(&d);
}

/* Parse @src; it must succeed with exactly @expected diagnostics. */
static void expect_success(const char *src, const char *expected,
			   struct pw_policy *pol)
{
	struct pw_diags d = { 0 };
	int ret = pw_policy_parse_buffer("t.policy", src, pol, &d);
	char *got = diags_text(&d);

	if (ret != 0 || strcmp(got, expected))
		fail_msg("source:\n%s\n--- expected (ret 0):\n%s\n--- got (ret %d):\n%s",
			 src, expected, ret, got);
	assert_int_equal(d.nerrors, 0);
	free(got);
	pw_diags_free(&d);
}

static int role_of(const struct pw_policy *pol, const char *name)
{
	int r = pw_policy_find_role(pol, name);

	if (r < 0)
		fail_msg("no role '%s'", name);
	return r;
}

/* ------------------------------------------------------------------ */
/* Lexer                                                               */
/* ------------------------------------------------------------------ */

struct lexed {
	struct pw_diags d;
	struct lexer lx;
	struct tok_line tl;
};

static void lex_start(struct lexed *l, const char *text)
{
	memset(l, 0, sizeof(*l));
	lexer_init(&l->lx, "l", text, strlen(text), &l->d);
}

static void lex_end(struct lexed *l)
{
	tok_line_free(&l->tl);
	pw_diags_free(&l->d);
}

static void assert_tok(const struct token *t, enum tok_kind kind,
		       const char *text, int line, int col)
{
	if (t->kind != kind || strcmp(t->text, text) || t->line != line ||
	    t->col != col)
		fail_msg("token: expected %d '%s' %d:%d, got %d '%s' %d:%d", kind,
			 text, line, col, t->kind, t->text, t->line, t->col);
}

static void test_lexer_tokens(void **state)
{
	struct lexed l;

	lex_start(&l, "# comment line\n"
		      "\n"
		      "allow tcp,udp 80\t\"a \\\"b\\\" \\\\c\" # trailing\n"
		      "   role x\n");
	assert_int_equal(lexer_next(&l.lx, &l.tl), 1);
	assert_int_equal(l.tl.n, 4);
	assert_tok(&l.tl.v[0], TOK_WORD, "allow", 3, 1);
	assert_tok(&l.tl.v[1], TOK_WORD, "tcp,udp", 3, 7);
	assert_tok(&l.tl.v[2], TOK_WORD, "80", 3, 15);
	/* a tab is one column */
	assert_tok(&l.tl.v[3], TOK_STRING, "a \"b\" \\c", 3, 18);
	/* end of line: just past the last token */
	assert_tok(&l.tl.v[4], TOK_EOL, "", 3, 31);

	assert_int_equal(lexer_next(&l.lx, &l.tl), 1);
	assert_int_equal(l.tl.n, 2);
	assert_tok(&l.tl.v[0], TOK_WORD, "role", 4, 4);
	assert_tok(&l.tl.v[1], TOK_WORD, "x", 4, 9);
	assert_tok(&l.tl.v[2], TOK_EOL, "", 4, 10);
	assert_int_equal(lexer_next(&l.lx, &l.tl), 0);
	assert_int_equal(lexer_next(&l.lx, &l.tl), 0);
	assert_int_equal(l.d.n, 0);
	lex_end(&l);
}

static void test_lexer_continuation(void **state)
{
	struct lexed l;

	/* Columns stay those of the physical lines. */
	lex_start(&l, "allow tcp 22 \\\n"
		      "    from a \\\n"
		      "to b note \"one \\\n"
		      "two\"\n"
		      "role\\\n"
		      "x \"y\"\n"
		      "tag a \"b\" \\\n");
	assert_int_equal(lexer_next(&l.lx, &l.tl), 1);
	assert_int_equal(l.tl.n, 9);
	assert_tok(&l.tl.v[0], TOK_WORD, "allow", 1, 1);
	assert_tok(&l.tl.v[2], TOK_WORD, "22", 1, 11);
	assert_tok(&l.tl.v[3], TOK_WORD, "from", 2, 5);
	assert_tok(&l.tl.v[4], TOK_WORD, "a", 2, 10);
	assert_tok(&l.tl.v[5], TOK_WORD, "to", 3, 1);
	assert_tok(&l.tl.v[6], TOK_WORD, "b", 3, 4);
	assert_tok(&l.tl.v[7], TOK_WORD, "note", 3, 6);
	/* inside a string the backslash-newline is one space too */
	assert_tok(&l.tl.v[8], TOK_STRING, "one  two", 3, 11);
	assert_tok(&l.tl.v[9], TOK_EOL, "", 4, 5);

	/* the backslash-newline separates words */
	assert_int_equal(lexer_next(&l.lx, &l.tl), 1);
	assert_int_equal(l.tl.n, 3);
	assert_tok(&l.tl.v[0], TOK_WORD, "role", 5, 1);
	assert_tok(&l.tl.v[1], TOK_WORD, "x", 6, 1);
	assert_tok(&l.tl.v[2], TOK_STRING, "y", 6, 3);

	/* a continuation into the end of the file is harmless */
	assert_int_equal(lexer_next(&l.lx, &l.tl), 1);
	assert_int_equal(l.tl.n, 3);
	assert_tok(&l.tl.v[0], TOK_WORD, "tag", 7, 1);
	assert_int_equal(lexer_next(&l.lx, &l.tl), 0);
	assert_int_equal(l.d.n, 0);
	lex_end(&l);
}

static void test_lexer_comments_and_crlf(void **state)
{
	struct lexed l;

	/* A comment does not continue, even when it ends in a backslash. */
	lex_start(&l, "role a \"#not a comment\" # but this is \\\r\n"
		      "role b \"x\"\r\n"
		      "#\n"
		      "   # indented comment\n");
	assert_int_equal(lexer_next(&l.lx, &l.tl), 1);
	assert_int_equal(l.tl.n, 3);
	assert_tok(&l.tl.v[2], TOK_STRING, "#not a comment", 1, 8);
	assert_int_equal(lexer_next(&l.lx, &l.tl), 1);
	assert_int_equal(l.tl.n, 3);
	assert_tok(&l.tl.v[0], TOK_WORD, "role", 2, 1);
	assert_tok(&l.tl.v[2], TOK_STRING, "x", 2, 8);
	assert_int_equal(lexer_next(&l.lx, &l.tl), 0);
	assert_int_equal(l.d.n, 0);
	lex_end(&l);

	/* the last line needs no newline */
	lex_start(&l, "tag t \"d\"");
	assert_int_equal(lexer_next(&l.lx, &l.tl), 1);
	assert_int_equal(l.tl.n, 3);
	assert_tok(&l.tl.v[3], TOK_EOL, "", 1, 10);
	assert_int_equal(lexer_next(&l.lx, &l.tl), 0);
	lex_end(&l);

	lex_start(&l, "");
	assert_int_equal(lexer_next(&l.lx, &l.tl), 0);
	lex_end(&l);
}

static void test_lexer_errors(void **state)
{
	struct lexed l;

	/* One error per statement; the statement is dropped, the next read. */
	lex_start(&l, "role a \"open\n"
		      "role b $ %\n"
		      "role c \"x\\q\" \\ \n"
		      "role d \"ok\"\n"
		      "role e \"x\\\n"
		      "y\n"
		      "role \xc3\xa9\n");
	assert_int_equal(lexer_next(&l.lx, &l.tl), -1);
	assert_int_equal(lexer_next(&l.lx, &l.tl), -1);
	assert_int_equal(lexer_next(&l.lx, &l.tl), -1);
	assert_int_equal(lexer_next(&l.lx, &l.tl), 1);
	assert_tok(&l.tl.v[0], TOK_WORD, "role", 4, 1);
	assert_tok(&l.tl.v[1], TOK_WORD, "d", 4, 6);
	assert_int_equal(lexer_next(&l.lx, &l.tl), -1);
	assert_int_equal(lexer_next(&l.lx, &l.tl), -1);
	assert_int_equal(lexer_next(&l.lx, &l.tl), 0);
	assert_diags(&l.d,
		     "l:1:8: error: unterminated string: expected a closing '\"' before the end of the line\n"
		     "l:2:8: error: unexpected character '$': expected a word, a \"string\" or a # comment\n"
		     "l:3:10: error: unknown escape '\\q' in string: only \\\" and \\\\ are allowed\n"
		     "l:5:8: error: unterminated string: expected a closing '\"' before the end of the line\n"
		     "l:7:6: error: unexpected byte 0xc3: expected a word, a \"string\" or a # comment");
	lex_end(&l);
}

/* A NUL byte is a character like any other, and not a valid one. */
static void test_lexer_nul(void **state)
{
	static const char text[] = "role a \"x\0y\"\nrole\0b\ntag t \"ok\"\n";
	struct lexed l;

	memset(&l, 0, sizeof(l));
	lexer_init(&l.lx, "l", text, sizeof(text) - 1, &l.d);
	assert_int_equal(lexer_next(&l.lx, &l.tl), -1);
	assert_int_equal(lexer_next(&l.lx, &l.tl), -1);
	assert_int_equal(lexer_next(&l.lx, &l.tl), 1);
	assert_tok(&l.tl.v[2], TOK_STRING, "ok", 3, 7);
	assert_int_equal(lexer_next(&l.lx, &l.tl), 0);
	assert_diags(&l.d, "l:1:10: error: NUL byte in string: expected text\n"
			   "l:2:5: error: unexpected byte 0x00: expected a word, a \"string\" or a # comment");
	lex_end(&l);
}

static void test_lexer_helpers(void **state)
{
	struct token w = { TOK_WORD, (char *)"db", 1, 1 };
	struct token s = { TOK_STRING, (char *)"a b", 1, 1 };
	struct token e = { TOK_EOL, (char *)"", 1, 1 };
	struct token lng = { TOK_WORD,
			     (char *)"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
			     1, 1 };
	char b[TOK_DESC_MAX];

	assert_string_equal(tok_desc(&w, b, sizeof(b)), "'db'");
	assert_string_equal(tok_desc(&s, b, sizeof(b)), "string \"a b\"");
	assert_string_equal(tok_desc(&e, b, sizeof(b)), "end of line");
	assert_string_equal(tok_desc(&lng, b, sizeof(b)),
			    "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...'");
	assert_true(pw_is_keyword("allow"));
	assert_true(pw_is_keyword("icmpv6"));
	assert_true(pw_is_keyword("bidirectional"));
	assert_false(pw_is_keyword("unknown"));
	assert_false(pw_is_keyword("db"));

	{
		char *p = pw_path_relative_to("dir/sub/a.policy", "b.policy");

		assert_string_equal(p, "dir/sub/b.policy");
		free(p);
		p = pw_path_relative_to("a.policy", "common/b.policy");
		assert_string_equal(p, "common/b.policy");
		free(p);
		p = pw_path_relative_to("dir/a.policy", "/abs/b.policy");
		assert_string_equal(p, "/abs/b.policy");
		free(p);
		p = pw_path_relative_to("/x/a.policy", "../b.policy");
		assert_string_equal(p, "/x/../b.policy");
		free(p);
	}
}

/* ------------------------------------------------------------------ */
/* The reference's examples                                            */
/* ------------------------------------------------------------------ */

static const char reference_policy[] =
	"# every example of docs/policy-language.md\n"
	"policy replication-manager \"replication-manager (MariaDB HA) port table\"\n"
	"role repman \"replication-manager host (API, checks, SST receiver)\"\n"
	"role db \"database node\"\n"
	"role operator \"operators\"\n"
	"role grafana \"dashboards\"\n"
	"role proxy \"proxy\"\n"
	"role app \"application\"\n"
	"role admin \"administrators\"\n"
	"role node \"cluster node\"\n"
	"tag galera \"Galera cluster: SST, IST and group communication between DB nodes\"\n"
	"allow tcp 10005 from operator,grafana to repman note \"HTTPS REST API and web dashboard (api-port)\"\n"
	"allow tcp,udp 4567 from db to db if galera note \"Galera group communication\"\n"
	"allow tcp 4000-4003 from db to repman note \"SST backup stream receivers (scheduler-db-servers-sender-ports)\"\n"
	"allow tcp 22 from admin to node bidirectional note \"Secure shell access\"\n"
	"allow tcp 443 from node to 208.83.110.20 note \"file transfer to thoughtspot.egnyte.com\"\n"
	"allow tcp 3306 from app to proxy mode enforce note \"write frontend\"\n"
	"allow icmp 8 from operator to db note \"ping\"\n"
	"allow icmpv6 from any to db note \"every ICMPv6 type\"\n"
	"loopback tcp,udp 2003 on repman note \"Carbon plaintext receiver (graphite-carbon-port)\"\n"
	"allow tcp 25,587 from repman,proxy,db to any note \"mail\"\n"
	"allow tcp 4000-4003,4444 from db to repman mode audit note \"SST and donor\"\n"
	"allow tcp 20000-65535 from 198.18.0.0/24 to 2001:db8::/32 note \"high ports\"\n"
	"allow sctp 1-65535 from any to any note \"all of sctp\"\n";

static void assert_ports(const struct pw_rule *r, int n, ...)
{
	va_list ap;

	assert_int_equal(r->nports, n);
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		int lo = va_arg(ap, int), hi = va_arg(ap, int);

		assert_int_equal(r->ports[i].lo, lo);
		assert_int_equal(r->ports[i].hi, hi);
	}
	va_end(ap);
}

static void assert_peers(const struct pw_peer *v, int nv, int n, ...)
{
	va_list ap;

	assert_int_equal(nv, n);
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		assert_int_equal(v[i].role, va_arg(ap, int));
	va_end(ap);
}

static void test_reference_examples(void **state)
{
	struct pw_policy pol;
	const struct pw_rule *r;
	int repman, db, op, graf, proxy, app, admin, node;

	expect_success(reference_policy, "", &pol);
	assert_string_equal(pol.name, "replication-manager");
	assert_string_equal(pol.desc, "replication-manager (MariaDB HA) port table");
	assert_string_equal(pol.path, "t.policy");
	assert_int_equal(pol.nfiles, 1);
	assert_string_equal(pol.files[0], "t.policy");

	/* 8 declared roles, then 4 literal peers in order of first use */
	assert_int_equal(pol.nroles, 11);
	repman = role_of(&pol, "repman");
	db = role_of(&pol, "db");
	op = role_of(&pol, "operator");
	graf = role_of(&pol, "grafana");
	proxy = role_of(&pol, "proxy");
	app = role_of(&pol, "app");
	admin = role_of(&pol, "admin");
	node = role_of(&pol, "node");
	assert_int_equal(repman, 0);
	assert_int_equal(node, 7);
	assert_string_equal(pol.roles[repman].desc,
			    "replication-manager host (API, checks, SST receiver)");
	assert_false(pol.roles[repman].implicit);
	assert_int_equal(pol.roles[db].loc.line, 4);
	assert_int_equal(pol.roles[db].loc.col, 6);
	assert_string_equal(pol.roles[db].loc.file, "t.policy");
	assert_ptr_equal(pol.roles[db].loc.file, pol.files[0]);

	assert_string_equal(pol.roles[8].name, "208.83.110.20/32");
	assert_true(pol.roles[8].implicit);
	assert_string_equal(pol.roles[8].desc, "literal peer");
	assert_int_equal(pol.roles[8].literal.family, 4);
	assert_int_equal(pol.roles[8].literal.plen, 32);
	assert_int_equal(pol.roles[8].literal.addr[3], 20);
	assert_int_equal(pol.roles[8].loc.line, 16);
	assert_int_equal(pol.roles[8].loc.col, 28);
	assert_string_equal(pol.roles[9].name, "198.18.0.0/24");
	assert_string_equal(pol.roles[10].name, "2001:db8::/32");
	assert_int_equal(pol.roles[10].literal.family, 6);
	assert_int_equal(pol.roles[10].literal.plen, 32);

	assert_int_equal(pol.ntags, 1);
	assert_string_equal(pol.tags[0].name, "galera");
	assert_string_equal(pol.tags[0].desc,
			    "Galera cluster: SST, IST and group communication between DB nodes");
	assert_int_equal(pol.tags[0].loc.line, 11);
	assert_int_equal(pol.tags[0].loc.col, 5);

	assert_int_equal(pol.nrules, 13);
	for (int i = 0; i < pol.nrules; i++) {
		assert_int_equal(pol.rules[i].id, i + 1);
		assert_int_equal(pol.rules[i].loc.line, 12 + i);
		assert_int_equal(pol.rules[i].loc.col, 1);
		assert_ptr_equal(pol.rules[i].loc.file, pol.files[0]);
	}

	r = &pol.rules[0];
	assert_int_equal(r->kind, PW_RULE_ALLOW);
	assert_int_equal(r->protos, 1U << PW_P_TCP);
	assert_ports(r, 1, 10005, 10005);
	assert_peers(r->src, r->nsrc, 2, op, graf);
	assert_peers(r->dst, r->ndst, 1, repman);
	assert_int_equal(r->src[1].loc.line, 12);
	assert_int_equal(r->src[1].loc.col, 31);
	assert_int_equal(r->ntags, 0);
	assert_false(r->bidirectional);
	assert_int_equal(r->mode, PW_MODE_HOST);
	assert_string_equal(r->note, "HTTPS REST API and web dashboard (api-port)");

	r = &pol.rules[1];
	assert_int_equal(r->protos, (1U << PW_P_TCP) | (1U << PW_P_UDP));
	assert_ports(r, 1, 4567, 4567);
	assert_peers(r->src, r->nsrc, 1, db);
	assert_peers(r->dst, r->ndst, 1, db);
	assert_int_equal(r->ntags, 1);
	assert_int_equal(r->tags[0], 0);

	r = &pol.rules[2];
	assert_ports(r, 1, 4000, 4003);

	r = &pol.rules[3];
	assert_true(r->bidirectional);
	assert_peers(r->src, r->nsrc, 1, admin);
	assert_peers(r->dst, r->ndst, 1, node);

	r = &pol.rules[4];
	assert_peers(r->src, r->nsrc, 1, node);
	assert_peers(r->dst, r->ndst, 1, 8);

	r = &pol.rules[5];
	assert_peers(r->src, r->nsrc, 1, app);
	assert_peers(r->dst, r->ndst, 1, proxy);
	assert_int_equal(r->mode, PW_MODE_ENFORCE);

	r = &pol.rules[6];
	assert_int_equal(r->protos, 1U << PW_P_ICMP);
	assert_ports(r, 1, 8, 8);

	r = &pol.rules[7];
	assert_int_equal(r->protos, 1U << PW_P_ICMPV6);
	assert_ports(r, 0);
	assert_peers(r->src, r->nsrc, 1, PW_PEER_ANY);

	r = &pol.rules[8];
	assert_int_equal(r->kind, PW_RULE_LOOPBACK);
	assert_int_equal(r->protos, (1U << PW_P_TCP) | (1U << PW_P_UDP));
	assert_ports(r, 1, 2003, 2003);
	assert_int_equal(r->nsrc, 0);
	assert_null(r->src);
	assert_peers(r->dst, r->ndst, 1, repman);
	assert_string_equal(r->note, "Carbon plaintext receiver (graphite-carbon-port)");

	r = &pol.rules[9];
	assert_ports(r, 2, 25, 25, 587, 587);
	assert_peers(r->src, r->nsrc, 3, repman, proxy, db);
	assert_peers(r->dst, r->ndst, 1, PW_PEER_ANY);

	r = &pol.rules[10];
	assert_ports(r, 2, 4000, 4003, 4444, 4444);
	assert_int_equal(r->mode, PW_MODE_AUDIT);

	r = &pol.rules[11];
	assert_ports(r, 1, 20000, 65535);
	assert_peers(r->src, r->nsrc, 1, 9);
	assert_peers(r->dst, r->ndst, 1, 10);

	r = &pol.rules[12];
	assert_int_equal(r->protos, 1U << PW_P_SCTP);
	assert_ports(r, 1, 1, 65535);
	pw_policy_free(&pol);
	assert_zeroed(&pol);
}

static void test_literal_peers(void **state)
{
	struct pw_policy pol;

	/* The same prefix, however written, is one implicit role. */
	expect_success("role db \"d\"\n"
		       "allow tcp 443 from db to 208.83.110.20 note \"a\"\n"
		       "allow tcp 80 from 208.83.110.20/32 to db note \"b\"\n"
		       "allow tcp 81 from 2001:DB8:0::/32,2001:db8::/48 to db note \"c\"\n"
		       "allow tcp 82 from 2001:db8::/32 to 0.0.0.0/0 note \"d\"\n"
		       "allow tcp 83 from ::ffff:1.2.3.4 to ::/0 note \"e\"\n",
		       "", &pol);
	assert_int_equal(pol.nroles, 7);
	assert_string_equal(pol.roles[1].name, "208.83.110.20/32");
	assert_string_equal(pol.roles[2].name, "2001:db8::/32");
	assert_string_equal(pol.roles[3].name, "2001:db8::/48");
	assert_string_equal(pol.roles[4].name, "0.0.0.0/0");
	assert_string_equal(pol.roles[5].name, "::ffff:1.2.3.4/128");
	assert_string_equal(pol.roles[6].name, "::/0");
	for (int i = 1; i < 7; i++) {
		assert_true(pol.roles[i].implicit);
		assert_string_equal(pol.roles[i].desc, "literal peer");
	}
	assert_int_equal(pol.rules[0].dst[0].role, 1);
	assert_int_equal(pol.rules[1].src[0].role, 1);
	assert_int_equal(pol.rules[2].src[0].role, 2);
	assert_int_equal(pol.rules[2].src[1].role, 3);
	assert_int_equal(pol.rules[3].src[0].role, 2);
	/* the implicit role remembers where it was first written */
	assert_int_equal(pol.roles[2].loc.line, 4);
	assert_int_equal(pol.roles[2].loc.col, 19);
	/* a literal name is never a declared role */
	assert_int_equal(pw_policy_find_role(&pol, "208.83.110.20/32"), 1);
	assert_int_equal(pw_policy_find_role(&pol, "208.83.110.20"), -1);
	pw_policy_free(&pol);
}

static void test_lists_and_continuations(void **state)
{
	struct pw_policy pol;

	/* Spaces after commas and lists broken across lines both work. */
	expect_success("role db \"d\"\n"
		       "role app \"a\"\n"
		       "role web \"w\"\n"
		       "tag t1 \"1\"\n"
		       "tag t2 \"2\"\n"
		       "allow tcp, udp 80, 443,\\\n"
		       "      8080-8090 from db, app,\\\n"
		       "  web to db if t2, t1 \\\n"
		       "  note \"long \\\n"
		       "rule\"\n"
		       "allow tcp 1 from db to db note \"x\"  # comment\n",
		       "", &pol);
	assert_int_equal(pol.nrules, 2);
	assert_int_equal(pol.rules[0].protos, 3);
	assert_ports(&pol.rules[0], 3, 80, 80, 443, 443, 8080, 8090);
	assert_peers(pol.rules[0].src, pol.rules[0].nsrc, 3, 0, 1, 2);
	assert_int_equal(pol.rules[0].src[2].loc.line, 8);
	assert_int_equal(pol.rules[0].src[2].loc.col, 3);
	assert_int_equal(pol.rules[0].ntags, 2);
	assert_int_equal(pol.rules[0].tags[0], 1);
	assert_int_equal(pol.rules[0].tags[1], 0);
	assert_string_equal(pol.rules[0].note, "long  rule");
	assert_int_equal(pol.rules[1].loc.line, 11);
	assert_int_equal(pol.rules[1].id, 2);
	pw_policy_free(&pol);
}

static void test_options_any_order(void **state)
{
	struct pw_policy pol;

	expect_success(PRE "allow tcp 22 from app to db note \"n\" mode audit if galera bidirectional\n"
			   "loopback udp 9 on db,app mode enforce if galera note \"l\"\n"
			   "loopback icmp on any note \"icmp to itself only\"\n",
		       "", &pol);
	assert_int_equal(pol.nrules, 3);
	assert_true(pol.rules[0].bidirectional);
	assert_int_equal(pol.rules[0].mode, PW_MODE_AUDIT);
	assert_int_equal(pol.rules[0].ntags, 1);
	assert_string_equal(pol.rules[0].note, "n");
	assert_int_equal(pol.rules[1].kind, PW_RULE_LOOPBACK);
	assert_int_equal(pol.rules[1].mode, PW_MODE_ENFORCE);
	assert_peers(pol.rules[1].dst, pol.rules[1].ndst, 2, 0, 1);
	assert_int_equal(pol.rules[2].nports, 0);
	assert_peers(pol.rules[2].dst, pol.rules[2].ndst, 1, PW_PEER_ANY);
	pw_policy_free(&pol);
}

static void test_default_name_and_limits_ok(void **state)
{
	struct pw_policy pol;
	struct pw_diags d = { 0 };

	/* Without "policy" the policy is named after its file. */
	assert_int_equal(pw_policy_parse_buffer("dir/cloudbees-cd.policy",
						"role a \"b\"\n", &pol, &d), 0);
	assert_string_equal(pol.name, "cloudbees-cd");
	assert_null(pol.desc);
	pw_policy_free(&pol);
	assert_int_equal(pw_policy_parse_buffer("plain", "", &pol, &d), 0);
	assert_string_equal(pol.name, "plain");
	assert_int_equal(pol.nroles + pol.nrules + pol.ntags, 0);
	pw_policy_free(&pol);
	assert_int_equal(d.n, 0);

	/* 31 characters is the longest name. */
	expect_success("role abcdefghijabcdefghijabcdefghija \"x\"\n"
		       "tag a_-9 \"x\"\n"
		       "policy p-1_x \"x\"\n",
		       "", &pol);
	assert_string_equal(pol.roles[0].name, "abcdefghijabcdefghijabcdefghija");
	assert_string_equal(pol.name, "p-1_x");
	pw_policy_free(&pol);
}

static void test_protocol_helpers(void **state)
{
	static const struct {
		int idx, ipproto;
		const char *name;
	} p[] = {
		{ PW_P_TCP, 6, "tcp" },	    { PW_P_UDP, 17, "udp" },
		{ PW_P_SCTP, 132, "sctp" }, { PW_P_ICMP, 1, "icmp" },
		{ PW_P_ICMPV6, 58, "icmpv6" },
	};

	for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
		assert_string_equal(pw_proto_name(p[i].idx), p[i].name);
		assert_int_equal(pw_proto_ipproto(p[i].idx), p[i].ipproto);
		assert_int_equal(pw_proto_from_ipproto(p[i].ipproto), p[i].idx);
	}
	assert_null(pw_proto_name(-1));
	assert_null(pw_proto_name(PW_NPROTO));
	assert_int_equal(pw_proto_ipproto(PW_NPROTO), -1);
	assert_int_equal(pw_proto_from_ipproto(0), -1);
	assert_int_equal(pw_proto_from_ipproto(47), -1);
	assert_int_equal(pw_proto_from_ipproto(255), -1);
}

/* ------------------------------------------------------------------ */
/* Errors, one statement each                                          */
/* ------------------------------------------------------------------ */

struct error_case {
	const char *line4; /* the statement after PRE, on line 4 */
	const char *expected;
};

static const struct error_case error_cases[] = {
	/* unknown role */
	{ "allow tcp 3306 from dbb to db note \"x\"",
	  "t.policy:4:21: error: unknown role 'dbb': declare it with 'role dbb \"...\"' first" },
	{ "allow tcp 3306 from app to app,dbb note \"x\"",
	  "t.policy:4:32: error: unknown role 'dbb': declare it with 'role dbb \"...\"' first" },
	{ "loopback tcp 2003 on repman note \"x\"",
	  "t.policy:4:22: error: unknown role 'repman': declare it with 'role repman \"...\"' first" },
	/* ports out of range */
	{ "allow tcp 80,70000 from app to db note \"x\"",
	  "t.policy:4:14: error: port 70000 out of range: expected 1-65535" },
	{ "allow tcp 0 from app to db note \"x\"",
	  "t.policy:4:11: error: port 0 out of range: expected 1-65535" },
	{ "allow udp 1-65536 from app to db note \"x\"",
	  "t.policy:4:13: error: port 65536 out of range: expected 1-65535" },
	{ "allow sctp 0-10 from app to db note \"x\"",
	  "t.policy:4:12: error: port 0 out of range: expected 1-65535" },
	{ "allow tcp 99999999999 from app to db note \"x\"",
	  "t.policy:4:11: error: port 99999999999 out of range: expected 1-65535" },
	{ "allow icmp 256 from app to db note \"x\"",
	  "t.policy:4:12: error: icmp type 256 out of range: expected 0-255" },
	{ "allow icmpv6 128-300 from app to db note \"x\"",
	  "t.policy:4:18: error: icmpv6 type 300 out of range: expected 0-255" },
	/* reversed ranges */
	{ "allow tcp 4003-4000 from app to db note \"x\"",
	  "t.policy:4:11: error: reversed port range 4003-4000: expected LOW-HIGH with LOW <= HIGH" },
	{ "allow tcp 22,4003-4000 from app to db note \"x\"",
	  "t.policy:4:14: error: reversed port range 4003-4000: expected LOW-HIGH with LOW <= HIGH" },
	{ "allow icmp 8-0 from app to db note \"x\"",
	  "t.policy:4:12: error: reversed icmp type range 8-0: expected LOW-HIGH with LOW <= HIGH" },
	/* ports that are not numbers */
	{ "allow tcp http from app to db note \"x\"",
	  "t.policy:4:11: error: bad port 'http': expected a number 1-65535 or a range LOW-HIGH" },
	{ "allow tcp 80- from app to db note \"x\"",
	  "t.policy:4:11: error: bad port '80-': expected a number 1-65535 or a range LOW-HIGH" },
	{ "allow tcp 1-2-3 from app to db note \"x\"",
	  "t.policy:4:11: error: bad port '1-2-3': expected a number 1-65535 or a range LOW-HIGH" },
	{ "allow icmp echo from app to db note \"x\"",
	  "t.policy:4:12: error: bad icmp type 'echo': expected a number 0-255 or a range LOW-HIGH" },
	/* protocols */
	{ "allow tcp,tpc 22 from app to db note \"x\"",
	  "t.policy:4:11: error: unknown protocol 'tpc': expected tcp, udp, sctp, icmp or icmpv6" },
	{ "allow TCP 22 from app to db note \"x\"",
	  "t.policy:4:7: error: unknown protocol 'TCP': expected tcp, udp, sctp, icmp or icmpv6" },
	{ "allow from app to db note \"x\"",
	  "t.policy:4:7: error: expected protocols (tcp, udp, sctp, icmp, icmpv6) after 'allow', found 'from'" },
	{ "loopback",
	  "t.policy:4:9: error: expected protocols (tcp, udp, sctp, icmp, icmpv6) after 'loopback', found end of line" },
	{ "allow tcp,icmp 22 from app to db note \"x\"",
	  "t.policy:4:11: error: 'icmp' cannot share a rule with 'tcp': ICMP types are not ports, write one rule for each" },
	{ "allow icmpv6,udp from app to db note \"x\"",
	  "t.policy:4:14: error: 'udp' cannot share a rule with 'icmpv6': ICMP types are not ports, write one rule for each" },
	{ "allow tcp from app to db note \"x\"",
	  "t.policy:4:11: error: missing ports after 'tcp', found 'from': tcp, udp and sctp rules need ports (1-65535 for all)" },
	{ "allow sctp,udp from app to db note \"x\"",
	  "t.policy:4:16: error: missing ports after 'sctp', found 'from': tcp, udp and sctp rules need ports (1-65535 for all)" },
	{ "loopback udp on db note \"x\"",
	  "t.policy:4:14: error: missing ports after 'udp', found 'on': tcp, udp and sctp rules need ports (1-65535 for all)" },
	/* duplicates and names */
	{ "role db \"again\"",
	  "t.policy:4:6: error: duplicate role 'db': already declared at t.policy:1" },
	{ "tag galera \"again\"",
	  "t.policy:4:5: error: duplicate tag 'galera': already declared at t.policy:3" },
	{ "role abcdefghijabcdefghijabcdefghijab \"x\"",
	  "t.policy:4:6: error: role name 'abcdefghijabcdefghijabcdefghijab' is too long (32 characters): at most 31" },
	{ "tag abcdefghijabcdefghijabcdefghijabcdefghij \"x\"",
	  "t.policy:4:5: error: tag name 'abcdefghijabcdefghijabcdefghijabcdefghij' is too long (40 characters): at most 31" },
	{ "role Web \"x\"",
	  "t.policy:4:6: error: bad role name 'Web': expected a lowercase letter followed by lowercase letters, digits, '_' or '-'" },
	{ "role 1web \"x\"",
	  "t.policy:4:6: error: bad role name '1web': expected a lowercase letter followed by lowercase letters, digits, '_' or '-'" },
	{ "role web.x \"x\"",
	  "t.policy:4:6: error: bad role name 'web.x': expected a lowercase letter followed by lowercase letters, digits, '_' or '-'" },
	{ "tag _t \"x\"",
	  "t.policy:4:5: error: bad tag name '_t': expected a lowercase letter followed by lowercase letters, digits, '_' or '-'" },
	{ "policy P \"x\"",
	  "t.policy:4:8: error: bad policy name 'P': expected a lowercase letter followed by lowercase letters, digits, '_' or '-'" },
	{ "role allow \"x\"",
	  "t.policy:4:6: error: 'allow' is a keyword and cannot be a role name" },
	{ "role any \"x\"",
	  "t.policy:4:6: error: 'any' is a keyword and cannot be a role name" },
	{ "tag tcp \"x\"",
	  "t.policy:4:5: error: 'tcp' is a keyword and cannot be a tag name" },
	{ "policy enforce \"x\"",
	  "t.policy:4:8: error: 'enforce' is a keyword and cannot be a policy name" },
	{ "role unknown \"x\"",
	  "t.policy:4:6: error: 'unknown' is reserved for addresses outside the inventory and cannot be a role name" },
	{ "role \"web\" \"x\"",
	  "t.policy:4:6: error: expected a role name after 'role', found string \"web\"" },
	{ "tag",
	  "t.policy:4:4: error: expected a tag name after 'tag', found end of line" },
	{ "role web",
	  "t.policy:4:9: error: expected a description in double quotes after the role name, found end of line" },
	{ "role web servers",
	  "t.policy:4:10: error: expected a description in double quotes after the role name, found 'servers'" },
	/* strings */
	{ "role web \"web servers",
	  "t.policy:4:10: error: unterminated string: expected a closing '\"' before the end of the line" },
	{ "allow tcp 22 from app to db note \"x",
	  "t.policy:4:34: error: unterminated string: expected a closing '\"' before the end of the line" },
	{ "role web \"a\\tb\"",
	  "t.policy:4:12: error: unknown escape '\\t' in string: only \\\" and \\\\ are allowed" },
	/* missing from / to / on */
	{ "allow tcp 22 app to db note \"x\"",
	  "t.policy:4:14: error: expected 'from' and the source peers, found 'app'" },
	{ "allow tcp 22",
	  "t.policy:4:13: error: expected 'from' and the source peers, found end of line" },
	{ "allow icmp to db",
	  "t.policy:4:12: error: expected 'from' and the source peers, found 'to'" },
	{ "allow tcp 22 from app db note \"x\"",
	  "t.policy:4:23: error: expected 'to' and the destination peers, found 'db'" },
	{ "allow tcp 22 from app",
	  "t.policy:4:22: error: expected 'to' and the destination peers, found end of line" },
	{ "loopback tcp 2003 from db note \"x\"",
	  "t.policy:4:19: error: expected 'on' and the roles that serve these ports, found 'from'" },
	{ "allow tcp 22 from to db",
	  "t.policy:4:19: error: expected peers (role names, 'any' or addresses) after 'from', found 'to'" },
	{ "allow tcp 22 from app to",
	  "t.policy:4:25: error: expected peers (role names, 'any' or addresses) after 'to', found end of line" },
	{ "loopback tcp 2003 on note \"x\"",
	  "t.policy:4:22: error: expected role names after 'on', found 'note'" },
	/* options */
	{ "allow tcp 22 from app to db note \"a\" note \"b\"",
	  "t.policy:4:38: error: option 'note' given twice: first at column 29" },
	{ "allow tcp 22 from app to db mode audit mode enforce note \"x\"",
	  "t.policy:4:40: error: option 'mode' given twice: first at column 29" },
	{ "allow tcp 22 from app to db bidirectional bidirectional note \"x\"",
	  "t.policy:4:43: error: option 'bidirectional' given twice: first at column 29" },
	{ "allow tcp 22 from app to db if galera if galera note \"x\"",
	  "t.policy:4:39: error: option 'if' given twice: first at column 29" },
	{ "allow tcp 22 from app to db if galera,galra note \"x\"",
	  "t.policy:4:39: error: unknown tag 'galra': declare it with 'tag galra \"...\"' first" },
	{ "allow tcp 22 from app to db if note \"x\"",
	  "t.policy:4:32: error: expected tag names after 'if', found 'note'" },
	{ "allow tcp 22 from app to db mode strict note \"x\"",
	  "t.policy:4:34: error: unknown mode 'strict': expected audit or enforce" },
	{ "allow tcp 22 from app to db mode",
	  "t.policy:4:33: error: expected audit or enforce after 'mode', found end of line" },
	{ "allow tcp 22 from app to db mode note \"x\"",
	  "t.policy:4:34: error: expected audit or enforce after 'mode', found 'note'" },
	{ "allow tcp 22 from app to db note x",
	  "t.policy:4:34: error: expected the note in double quotes after 'note', found 'x'" },
	{ "allow tcp 22 from app to db note",
	  "t.policy:4:33: error: expected the note in double quotes after 'note', found end of line" },
	{ "loopback tcp 2003 on db bidirectional note \"x\"",
	  "t.policy:4:25: error: 'bidirectional' does not apply to loopback rules: expected if, mode or note" },
	/* trailing tokens */
	{ "role web \"x\" extra",
	  "t.policy:4:14: error: unexpected 'extra' after the description: expected the end of the line" },
	{ "tag t \"x\" \"y\"",
	  "t.policy:4:11: error: unexpected string \"y\" after the description: expected the end of the line" },
	{ "allow tcp 22 from app to db note \"x\" extra",
	  "t.policy:4:38: error: unexpected 'extra': expected an option (bidirectional, if, mode, note) or the end of the line" },
	{ "allow tcp 22 from app to db \"x\"",
	  "t.policy:4:29: error: unexpected string \"x\": expected an option (bidirectional, if, mode, note) or the end of the line" },
	{ "loopback tcp 22 on db to app",
	  "t.policy:4:23: error: unexpected 'to': expected an option (if, mode, note) or the end of the line" },
	{ "include \"a.policy\" more",
	  "t.policy:4:20: error: unexpected 'more' after the file name: expected the end of the line" },
	{ "include",
	  "t.policy:4:8: error: expected a file name in double quotes after 'include', found end of line" },
	{ "include \"\"",
	  "t.policy:4:9: error: expected a file name in double quotes after 'include', found string \"\"" },
	/* peers */
	{ "loopback tcp 2003 on 198.18.0.1 note \"x\"",
	  "t.policy:4:22: error: '198.18.0.1' is an address: 'on' takes the names of roles that hosts hold" },
	{ "allow tcp 22 from 198.18.2.1/24 to db note \"x\"",
	  "t.policy:4:19: error: '198.18.2.1/24' has host bits set: expected a network address such as 198.18.2.0/24" },
	{ "allow tcp 22 from app to 198.18.2 note \"x\"",
	  "t.policy:4:26: error: bad address '198.18.2': expected a role name, 'any', an IPv4 or IPv6 address or a CIDR" },
	{ "allow tcp 22 from 2001:db8::/129 to db note \"x\"",
	  "t.policy:4:19: error: bad prefix length in '2001:db8::/129': expected /0 to /128" },
	{ "allow tcp 22 from app,any to db note \"x\"",
	  "t.policy:4:23: error: 'any' cannot be combined with other peers: it already matches every peer" },
	{ "allow tcp 22 from unknown to db note \"x\"",
	  "t.policy:4:19: error: 'unknown' cannot be a peer: it is what the datapath calls addresses outside the inventory; use 'any'" },
	{ "allow tcp 22 from app,tcp to db note \"x\"",
	  "t.policy:4:23: error: 'tcp' is a keyword: expected a role name, 'any' or an address" },
	/* lists */
	{ "allow tcp 22,,80 from app to db note \"x\"",
	  "t.policy:4:14: error: empty item in list '22,,80': expected an item between commas" },
	{ "allow tcp ,22 from app to db note \"x\"",
	  "t.policy:4:11: error: empty item in list ',22': expected an item between commas" },
	{ "allow tcp 22 from app, to db note \"x\"",
	  "t.policy:4:22: error: list ends with ',': expected another item after it" },
	/* statements and characters */
	{ "permit tcp 22",
	  "t.policy:4:1: error: unknown statement 'permit': expected policy, include, role, tag, allow or loopback" },
	{ "\"allow\"",
	  "t.policy:4:1: error: unknown statement string \"allow\": expected policy, include, role, tag, allow or loopback" },
	{ "allow tcp 22 from app to db note \"x\" ;",
	  "t.policy:4:38: error: unexpected character ';': expected a word, a \"string\" or a # comment" },
	{ "role caf\xc3\xa9 \"x\"",
	  "t.policy:4:9: error: unexpected byte 0xc3: expected a word, a \"string\" or a # comment" },
	{ "role web \"x\" \\ ",
	  "t.policy:4:14: error: blanks after '\\': a continuation backslash must be the last character of the line" },
	{ "role web \\x \"y\"",
	  "t.policy:4:10: error: unexpected '\\': a backslash continues a line only as its last character" },
};

static void test_error_cases(void **state)
{
	char src[512];

	for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		snprintf(src, sizeof(src), PRE "%s\n", error_cases[i].line4);
		expect_failure(src, error_cases[i].expected);
	}
}

static void test_policy_twice(void **state)
{
	expect_failure(PRE "policy p1 \"x\"\n"
			   "policy p2 \"y\"\n",
		       "t.policy:5:1: error: 'policy' given twice: first at t.policy:4");
}

/* Several mistakes: all reported, in order, in one run. */
static void test_many_errors_one_run(void **state)
{
	expect_failure(PRE "allow tcp 0,70000 from dbb to db if nope note \"n\"\n"
			   "role db \"again\"\n"
			   "allow tcp 22 from app to db\n"
			   "allow udp 53 from app to db note \"dns\" mode loud\n"
			   "role ok \"fine\"\n"
			   "allow tcp 22 from app to ok note \"uses a role after errors\"\n"
			   "tag galera \"again\"\n",
		       "t.policy:4:11: error: port 0 out of range: expected 1-65535\n"
		       "t.policy:4:13: error: port 70000 out of range: expected 1-65535\n"
		       "t.policy:4:24: error: unknown role 'dbb': declare it with 'role dbb \"...\"' first\n"
		       "t.policy:4:37: error: unknown tag 'nope': declare it with 'tag nope \"...\"' first\n"
		       "t.policy:5:6: error: duplicate role 'db': already declared at t.policy:1\n"
		       "t.policy:6:1: warning: rule has no note: add note \"...\" with the vendor's words for this row\n"
		       "t.policy:7:45: error: unknown mode 'loud': expected audit or enforce\n"
		       "t.policy:10:5: error: duplicate tag 'galera': already declared at t.policy:3");
}

/* ------------------------------------------------------------------ */
/* Warnings                                                            */
/* ------------------------------------------------------------------ */

static void test_warnings(void **state)
{
	struct pw_policy pol;

	expect_success(PRE "allow tcp,tcp 22 from app to db note \"a\"\n"
			   "allow tcp 80,80,70-90,100 from app,app to db if galera,galera note \"b\"\n"
			   "allow tcp 23 from app to db\n"
			   "allow tcp 24 from app to db note \"\"\n",
		       "t.policy:4:11: warning: protocol 'tcp' listed twice\n"
		       "t.policy:5:14: warning: '80' listed twice\n"
		       "t.policy:5:17: warning: '70-90' overlaps '80' earlier in the list\n"
		       "t.policy:5:36: warning: peer 'app' listed twice\n"
		       "t.policy:5:56: warning: tag 'galera' listed twice\n"
		       "t.policy:6:1: warning: rule has no note: add note \"...\" with the vendor's words for this row",
		       &pol);
	/* repeated peers and tags are kept once; ports as written */
	assert_int_equal(pol.rules[0].protos, 1U << PW_P_TCP);
	assert_ports(&pol.rules[1], 4, 80, 80, 80, 80, 70, 90, 100, 100);
	assert_int_equal(pol.rules[1].nsrc, 1);
	assert_int_equal(pol.rules[1].ntags, 1);
	assert_null(pol.rules[2].note);
	assert_string_equal(pol.rules[3].note, "");
	pw_policy_free(&pol);
}

static void test_duplicate_rules(void **state)
{
	struct pw_policy pol;

	expect_success(PRE "role web \"w\"\n"
			   "allow tcp 80,443 from app,web to db note \"1\"\n"
			   "allow tcp 443,80 from web,app to db note \"2 same\"\n"
			   "allow tcp 80-81 from db to db note \"3\"\n"
			   "allow tcp 81,80 from db to db note \"4 same as 3\"\n"
			   "allow tcp 80 from db to db if galera note \"5 tag differs\"\n"
			   "allow udp 80-81 from db to db note \"6 proto differs\"\n"
			   "allow tcp 22 from app to db bidirectional note \"7\"\n"
			   "allow tcp 22 from db to app bidirectional note \"8 same as 7\"\n"
			   "allow tcp 22 from db to app note \"9 not bidirectional\"\n"
			   "allow icmp from app to db note \"10\"\n"
			   "allow icmp 0-255 from app to db note \"11 all types\"\n"
			   "allow icmp 0-100,101-255 from app to db mode enforce note \"12 mode is no part\"\n"
			   "loopback tcp 80-81 on db note \"13 kind differs\"\n"
			   "allow tcp 80,81 from db to db if galera note \"14 same as 5? no\"\n"
			   "allow tcp 2 from 198.18.0.0/24 to any note \"15\"\n"
			   "allow tcp 2 from 198.18.0.0/24 to any note \"16\"\n",
		       "t.policy:6:1: warning: duplicate rule: same protocols, ports, peers and tags as rule 1 at t.policy:5\n"
		       "t.policy:8:1: warning: duplicate rule: same protocols, ports, peers and tags as rule 3 at t.policy:7\n"
		       "t.policy:12:1: warning: duplicate rule: same protocols, ports, peers and tags as rule 7 at t.policy:11\n"
		       "t.policy:15:1: warning: duplicate rule: same protocols, ports, peers and tags as rule 10 at t.policy:14\n"
		       "t.policy:16:1: warning: duplicate rule: same protocols, ports, peers and tags as rule 10 at t.policy:14\n"
		       "t.policy:20:1: warning: duplicate rule: same protocols, ports, peers and tags as rule 15 at t.policy:19",
		       &pol);
	/* duplicates stay rules of their own, with their own ids */
	assert_int_equal(pol.nrules, 16);
	assert_int_equal(pol.rules[15].id, 16);
	pw_policy_free(&pol);
}

/* ------------------------------------------------------------------ */
/* Includes (files in a temporary directory)                           */
/* ------------------------------------------------------------------ */

static char tmpdir[64];

static int rm_entry(const char *path, const struct stat *sb, int flag,
		    struct FTW *ftw)
{
	return remove(path);
}

static int make_tmpdir(void **state)
{
	strcpy(tmpdir, "/tmp/pw-test-parser-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	return 0;
}

static int remove_tmpdir(void **state)
{
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* <tmpdir>/<rel>, in a static buffer (one of four in rotation). */
static const char *tpath(const char *rel)
{
	static char buf[4][512];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmpdir, rel);
	return buf[k];
}

static void write_file(const char *rel, const char *text)
{
	char path[512], *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	for (slash = strchr(path + strlen(tmpdir) + 1, '/'); slash;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			fail_msg("mkdir %s: %s", path, strerror(errno));
		*slash = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Parse <tmpdir>/<rel>; compare diagnostics with @expected, where every
 * "@" stands for the temporary directory. */
static int parse_tmp(const char *rel, struct pw_policy *pol,
		     const char *expected)
{
	struct pw_diags d = { 0 };
	char want[4096] = "";
	int ret;

	for (const char *s = expected; *s; s++) {
		if (*s == '@')
			strcat(want, tmpdir);
		else
			strncat(want, s, 1);
	}
	ret = pw_policy_parse_file(tpath(rel), pol, &d);
	assert_diags(&d, want);
	pw_diags_free(&d);
	return ret;
}

static void test_include_relative(void **state)
{
	struct pw_policy pol;

	write_file("top.policy",
		   "policy top \"top\"\n"
		   "role web \"w\"\n"
		   "allow tcp 80 from web to web note \"first\"\n"
		   "include \"common/ssh.policy\"\n"
		   "allow tcp 443 from web to admin note \"last\"\n");
	write_file("common/ssh.policy",
		   "role admin \"admins\"\n"
		   "include \"inner.policy\"\n"
		   "allow tcp 22 from admin to web if inner note \"ssh\"\n");
	/* relative to common/, not to the top-level file */
	write_file("common/inner.policy",
		   "tag inner \"t\"\n"
		   "allow icmp from any to web note \"ping\"\n");
	assert_int_equal(parse_tmp("top.policy", &pol, ""), 0);
	assert_string_equal(pol.name, "top");
	assert_string_equal(pol.path, tpath("top.policy"));
	assert_int_equal(pol.nfiles, 3);
	assert_string_equal(pol.files[0], tpath("top.policy"));
	assert_string_equal(pol.files[1], tpath("common/ssh.policy"));
	assert_string_equal(pol.files[2], tpath("common/inner.policy"));

	/* ids in file order across includes */
	assert_int_equal(pol.nrules, 4);
	assert_string_equal(pol.rules[0].note, "first");
	assert_string_equal(pol.rules[1].note, "ping");
	assert_string_equal(pol.rules[2].note, "ssh");
	assert_string_equal(pol.rules[3].note, "last");
	for (int i = 0; i < 4; i++)
		assert_int_equal(pol.rules[i].id, i + 1);
	assert_ptr_equal(pol.rules[0].loc.file, pol.files[0]);
	assert_ptr_equal(pol.rules[1].loc.file, pol.files[2]);
	assert_ptr_equal(pol.rules[2].loc.file, pol.files[1]);
	assert_int_equal(pol.rules[2].loc.line, 3);
	assert_ptr_equal(pol.rules[3].loc.file, pol.files[0]);
	assert_int_equal(pol.rules[3].loc.line, 5);
	assert_ptr_equal(pol.roles[1].loc.file, pol.files[1]);
	assert_ptr_equal(pol.tags[0].loc.file, pol.files[2]);
	pw_policy_free(&pol);
}

static void test_include_once_and_absolute(void **state)
{
	struct pw_policy pol;
	char text[1024];

	/* Two products share a file: it is read once, the roles once. */
	write_file("common.policy", "role admin \"a\"\n"
				    "allow tcp 22 from admin to admin note \"ssh\"\n");
	write_file("a/a.policy", "include \"../common.policy\"\n"
				 "allow tcp 1 from admin to admin note \"a\"\n");
	snprintf(text, sizeof(text),
		 "include \"a/a.policy\"\n"
		 "include \"%s\"\n"
		 "allow tcp 2 from admin to admin note \"top\"\n",
		 tpath("common.policy"));
	write_file("top.policy", text);
	assert_int_equal(parse_tmp("top.policy", &pol, ""), 0);
	assert_string_equal(pol.name, "top");
	assert_int_equal(pol.nfiles, 3);
	assert_string_equal(pol.files[2], tpath("a/../common.policy"));
	assert_int_equal(pol.nroles, 1);
	assert_int_equal(pol.nrules, 3);
	assert_string_equal(pol.rules[0].note, "ssh");
	assert_string_equal(pol.rules[2].note, "top");
	pw_policy_free(&pol);
}

static void test_include_loop(void **state)
{
	struct pw_policy pol;

	write_file("top.policy", "role a \"a\"\n"
				 "include \"loop1.policy\"\n");
	write_file("loop1.policy", "include \"sub/loop2.policy\"\n");
	write_file("sub/loop2.policy", "# back up\n"
				       "  include \"../loop1.policy\"\n");
	assert_int_equal(parse_tmp("top.policy", &pol,
				   "@/sub/loop2.policy:2:11: error: include loop: "
				   "'@/sub/../loop1.policy' is already being read "
				   "(@/top.policy -> @/loop1.policy -> "
				   "@/sub/loop2.policy -> @/sub/../loop1.policy)"),
			 -1);
	assert_zeroed(&pol);

	write_file("self.policy", "include \"self.policy\"\n");
	assert_int_equal(parse_tmp("self.policy", &pol,
				   "@/self.policy:1:9: error: include loop: "
				   "'@/self.policy' is already being read "
				   "(@/self.policy -> @/self.policy)"),
			 -1);
}

static void test_include_depth(void **state)
{
	struct pw_policy pol;
	char name[32], text[64];

	/* top -> d1 -> ... -> d8 is 8 deep and fine; d9 is too deep. */
	for (int i = 1; i <= 9; i++) {
		snprintf(name, sizeof(name), "d%d.policy", i);
		snprintf(text, sizeof(text), "include \"d%d.policy\"\n", i + 1);
		write_file(name, text);
	}
	write_file("d9.policy", "role deep \"d\"\n");
	write_file("top8.policy", "include \"d2.policy\"\n");
	assert_int_equal(parse_tmp("top8.policy", &pol, ""), 0);
	assert_int_equal(pol.nfiles, 9);
	assert_string_equal(pol.roles[0].name, "deep");
	pw_policy_free(&pol);

	write_file("top9.policy", "include \"d1.policy\"\n");
	assert_int_equal(parse_tmp("top9.policy", &pol,
				   "@/d8.policy:1:9: error: includes nest deeper than 8 levels "
				   "(@/top9.policy -> @/d1.policy -> @/d2.policy -> "
				   "@/d3.policy -> @/d4.policy -> @/d5.policy -> "
				   "@/d6.policy -> @/d7.policy -> @/d8.policy -> "
				   "@/d9.policy)"),
			 -1);
}

static void test_include_missing_and_errors_inside(void **state)
{
	struct pw_policy pol;

	write_file("top.policy", "role a \"a\"\n"
				 "include \"nope.policy\"\n"
				 "include \"bad.policy\"\n"
				 "include \"dir\"\n"
				 "allow tcp 1 from a to b note \"x\"\n");
	write_file("bad.policy", "policy inner \"not here\"\n"
				 "allow tcp 70000 from a to a note \"x\"\n");
	write_file("dir/x", "");
	assert_int_equal(parse_tmp("top.policy", &pol,
				   "@/top.policy:2:9: error: cannot open 'nope.policy' "
				   "(resolved to '@/nope.policy'): No such file or directory\n"
				   "@/bad.policy:1:1: error: 'policy' is only allowed in the "
				   "top-level file, not in an included one\n"
				   "@/bad.policy:2:11: error: port 70000 out of range: expected 1-65535\n"
				   "@/top.policy:4:9: error: cannot read '@/dir': Is a directory\n"
				   "@/top.policy:5:23: error: unknown role 'b': declare it with "
				   "'role b \"...\"' first"),
			 -1);
	assert_zeroed(&pol);

	/* the top-level file itself */
	assert_int_equal(parse_tmp("absent.policy", &pol,
				   "@/absent.policy: error: cannot open: No such file or directory"),
			 -1);
	assert_zeroed(&pol);
	assert_int_equal(parse_tmp("dir", &pol,
				   "@/dir: error: cannot open: Is a directory"),
			 -1);
}

/* A buffer's includes are relative to the current directory. */
static void test_include_from_buffer(void **state)
{
	struct pw_policy pol;
	struct pw_diags d = { 0 };
	char cwd[4096];

	write_file("sub/inc.policy", "role a \"a\"\n");
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(tmpdir), 0);
	assert_int_equal(pw_policy_parse_buffer("mem/x.policy",
						"include \"sub/inc.policy\"\n",
						&pol, &d),
			 0);
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(pol.nfiles, 2);
	assert_string_equal(pol.files[1], "sub/inc.policy");
	assert_string_equal(pol.roles[0].name, "a");
	assert_string_equal(pol.name, "x");
	pw_policy_free(&pol);
}

/* ------------------------------------------------------------------ */
/* Limits                                                              */
/* ------------------------------------------------------------------ */

/* A growing text buffer for generated policies. */
struct text {
	char *s;
	size_t len, cap;
};

__attribute__((format(printf, 2, 3)))
static void add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->cap - t->len < 256) {
		t->cap = t->cap ? t->cap * 2 : 4096;
		t->s = realloc(t->s, t->cap);
		assert_non_null(t->s);
	}
	va_start(ap, fmt);
	n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

static void test_role_limit(void **state)
{
	struct text t = { 0 };
	struct pw_policy pol;

	for (int i = 1; i <= 255; i++)
		add(&t, "role r%d \"role %d\"\n", i, i);
	expect_success(t.s, "", &pol);
	assert_int_equal(pol.nroles, 255);
	pw_policy_free(&pol);

	add(&t, "role r256 \"one too many\"\n");
	expect_failure(t.s, "t.policy:256:6: error: too many roles: at most 255, "
			    "literal peers included (role id 0 is 'unknown', limit 256)");

	/* literal peers count too */
	t.len = 0;
	t.s[0] = '\0';
	for (int i = 1; i <= 250; i++)
		add(&t, "role r%d \"role %d\"\n", i, i);
	add(&t, "allow tcp 1 from 198.18.0.1,198.18.0.2,198.18.0.3 to r1 note \"a\"\n");
	add(&t, "allow tcp 2 from 198.18.0.1,2001:db8::1,2001:db8::2 to r1 note \"b\"\n");
	expect_success(t.s, "", &pol);
	assert_int_equal(pol.nroles, 255);
	pw_policy_free(&pol);
	add(&t, "allow tcp 3 from 198.18.0.3 to 2001:db8::3 note \"c\"\n");
	expect_failure(t.s, "t.policy:253:32: error: too many roles: at most 255, "
			    "literal peers included (role id 0 is 'unknown', limit 256)");
	free(t.s);
}

static void test_rule_limit(void **state)
{
	struct text t = { 0 };
	struct pw_policy pol;

	add(&t, "role a \"a\"\n");
	for (int port = 1; port <= 65535; port++)
		add(&t, "allow tcp %d from a to a note \"n\"\n", port);
	expect_success(t.s, "", &pol);
	assert_int_equal(pol.nrules, 65535);
	assert_int_equal(pol.rules[65534].id, 65535);
	assert_int_equal(pol.rules[65534].ports[0].lo, 65535);
	pw_policy_free(&pol);

	add(&t, "allow udp 1 from a to a note \"one too many\"\n");
	add(&t, "allow udp 2 from a to a note \"reported once\"\n");
	expect_failure(t.s, "t.policy:65537:1: error: too many rules: at most 65535");
	free(t.s);
}

/* ------------------------------------------------------------------ */
/* Host profiles                                                       */
/* ------------------------------------------------------------------ */

static void test_profile(void **state)
{
	struct pw_profile p;
	struct pw_diags d = { 0 };

	assert_int_equal(pw_profile_parse_buffer("policies/profiles/db-host.profile",
						 "# a database host\n"
						 "policy     ../replication-manager.policy\n"
						 "inventory  \"../examples/site one.inventory\"\n"
						 "role       db\n"
						 "role       repman,proxy, app\n"
						 "tag        galera\n"
						 "tag        extra-port,terminal\n"
						 "mode       enforce\n",
						 &p, &d),
			 0);
	assert_int_equal(d.n, 0);
	assert_string_equal(p.policy,
			    "policies/profiles/../replication-manager.policy");
	assert_string_equal(p.inventory,
			    "policies/profiles/../examples/site one.inventory");
	assert_int_equal(p.nroles, 4);
	assert_string_equal(p.roles[0], "db");
	assert_string_equal(p.roles[1], "repman");
	assert_string_equal(p.roles[2], "proxy");
	assert_string_equal(p.roles[3], "app");
	assert_int_equal(p.ntags, 3);
	assert_string_equal(p.tags[2], "terminal");
	assert_int_equal(p.mode, PW_MODE_ENFORCE);
	pw_profile_free(&p);

	/* the minimum: a policy and a role; absolute paths stay */
	assert_int_equal(pw_profile_parse_buffer("h.profile",
						 "policy /etc/portwarden/x.policy\n"
						 "role db\n",
						 &p, &d),
			 0);
	assert_string_equal(p.policy, "/etc/portwarden/x.policy");
	assert_null(p.inventory);
	assert_int_equal(p.ntags, 0);
	assert_int_equal(p.mode, 0);
	pw_profile_free(&p);
	assert_int_equal(d.n, 0);
	pw_diags_free(&d);
}

static void profile_fails(const char *text, const char *expected)
{
	struct pw_profile p;
	struct pw_diags d = { 0 };
	static const struct pw_profile zero;

	assert_int_equal(pw_profile_parse_buffer("h.profile", text, &p, &d), -1);
	assert_diags(&d, expected);
	assert_memory_equal(&p, &zero, sizeof(zero));
	pw_diags_free(&d);
}

static void test_profile_errors(void **state)
{
	profile_fails("policy a.policy\n"
		      "policy b.policy\n"
		      "role db\n"
		      "mode audit\n"
		      "mode enforce\n"
		      "mode strict\n"
		      "inventory\n"
		      "inventory a b\n"
		      "polcy x\n"
		      "role Db, db,\n"
		      "tag galera,,x extra \"y\"\n"
		      "\"policy\" x\n"
		      "role\n",
		      "h.profile:2:1: error: 'policy' given twice: first at line 1\n"
		      "h.profile:5:1: error: 'mode' given twice: first at line 4\n"
		      "h.profile:6:1: error: 'mode' given twice: first at line 4\n"
		      "h.profile:7:10: error: expected a file name after 'inventory', found end of line\n"
		      "h.profile:8:13: error: unexpected 'b' after the file name: expected the end of the line\n"
		      "h.profile:9:1: error: unknown key 'polcy': expected policy, inventory, role, tag, mode or a datapath setting (egress, flow-table, flow-timeout-tcp, flow-timeout-fin, flow-timeout-udp, event-rate, event-burst, event-interval, event-ring)\n"
		      "h.profile:10:6: error: bad role name 'Db': expected a lowercase letter followed by lowercase letters, digits, '_' or '-'\n"
		      "h.profile:10:10: warning: role name 'db' listed twice\n"
		      "h.profile:10:12: error: list ends with ',': expected another item after it\n"
		      "h.profile:11:12: error: empty item in list 'galera,,x': expected a name between commas\n"
		      "h.profile:11:15: error: unexpected 'extra' after the names: expected the end of the line\n"
		      "h.profile:12:1: error: unknown key string \"policy\": expected policy, inventory, role, tag, mode or a datapath setting (egress, flow-table, flow-timeout-tcp, flow-timeout-fin, flow-timeout-udp, event-rate, event-burst, event-interval, event-ring)\n"
		      "h.profile:13:5: error: expected role names after 'role', found end of line");
	profile_fails("mode loud\n",
		      "h.profile:1:6: error: unknown mode 'loud': expected audit or enforce");
	profile_fails("mode\n",
		      "h.profile:1:5: error: expected audit or enforce after 'mode', found end of line");
	profile_fails("policy \"\"\nrole db\n",
		      "h.profile:1:8: error: expected a file name after 'policy', found string \"\"");
	profile_fails("mode audit\n",
		      "h.profile: error: no 'policy' line: a profile names the policy file of its host");
	profile_fails("policy p\n",
		      "h.profile: error: no 'role' line: a profile names the roles its host holds");
	profile_fails("policy p\nrole db\ntag \"x\n",
		      "h.profile:3:5: error: unterminated string: expected a closing '\"' before the end of the line");
}

static void test_profile_file(void **state)
{
	struct pw_profile p;
	struct pw_diags d = { 0 };

	write_file("profiles/h.profile", "policy ../x.policy\nrole db\nmode audit\n");
	assert_int_equal(pw_profile_parse_file(tpath("profiles/h.profile"), &p, &d),
			 0);
	assert_string_equal(p.policy, tpath("profiles/../x.policy"));
	assert_int_equal(p.mode, PW_MODE_AUDIT);
	pw_profile_free(&p);
	assert_int_equal(pw_profile_parse_file(tpath("profiles/none"), &p, &d), -1);
	assert_int_equal(d.n, 1);
	{
		char want[600];

		snprintf(want, sizeof(want),
			 "%s: error: cannot open: No such file or directory",
			 tpath("profiles/none"));
		assert_diags(&d, want);
	}
	pw_diags_free(&d);
}

/* ------------------------------------------------------------------ */
/* The policies shipped in policies/                                   */
/* ------------------------------------------------------------------ */

/*
 * Every shipped policy, example inventory and host profile must parse
 * without errors (warnings are the authors' business and are printed).
 */
static void test_shipped_policies(void **state)
{
	char pattern[4096];
	glob_t g;
	int nfiles = 0;

	snprintf(pattern, sizeof(pattern), "%s/policies/*.policy",
		 PW_SOURCE_ROOT);
	if (glob(pattern, 0, NULL, &g) != 0) {
		print_message("no policies/*.policy yet: nothing to check\n");
		skip();
	}
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct pw_policy pol;
		struct pw_inventory inv;
		struct pw_diags d = { 0 };
		char inv_path[4096];
		const char *base = strrchr(g.gl_pathv[i], '/') + 1;

		if (pw_policy_parse_file(g.gl_pathv[i], &pol, &d) != 0) {
			pw_diags_print(&d, stderr);
			fail_msg("%s does not parse", g.gl_pathv[i]);
		}
		assert_true(pol.nrules > 0);
		snprintf(inv_path, sizeof(inv_path), "%s/policies/examples/%.*s.inventory",
			 PW_SOURCE_ROOT, (int)(strlen(base) - 7), base);
		if (access(inv_path, R_OK) == 0 &&
		    pw_inventory_parse_file(inv_path, &pol, &inv, &d) != 0) {
			pw_diags_print(&d, stderr);
			fail_msg("%s does not parse", inv_path);
		}
		if (access(inv_path, R_OK) == 0)
			pw_inventory_free(&inv);
		pw_diags_print(&d, stderr);
		pw_diags_free(&d);
		pw_policy_free(&pol);
		nfiles++;
	}
	globfree(&g);

	snprintf(pattern, sizeof(pattern), "%s/policies/profiles/*.profile",
		 PW_SOURCE_ROOT);
	if (glob(pattern, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++) {
			struct pw_profile p;
			struct pw_policy pol;
			struct pw_diags d = { 0 };

			if (pw_profile_parse_file(g.gl_pathv[i], &p, &d) != 0 ||
			    pw_policy_parse_file(p.policy, &pol, &d) != 0) {
				pw_diags_print(&d, stderr);
				fail_msg("%s: profile or its policy does not parse",
					 g.gl_pathv[i]);
			}
			for (int r = 0; r < p.nroles; r++)
				if (pw_policy_find_role(&pol, p.roles[r]) < 0)
					fail_msg("%s: role '%s' not in %s",
						 g.gl_pathv[i], p.roles[r], p.policy);
			for (int t = 0; t < p.ntags; t++)
				if (pw_policy_find_tag(&pol, p.tags[t]) < 0)
					fail_msg("%s: tag '%s' not in %s",
						 g.gl_pathv[i], p.tags[t], p.policy);
			pw_policy_free(&pol);
			pw_profile_free(&p);
			pw_diags_free(&d);
		}
		globfree(&g);
	}
	assert_true(nfiles > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lexer_tokens),
		cmocka_unit_test(test_lexer_continuation),
		cmocka_unit_test(test_lexer_comments_and_crlf),
		cmocka_unit_test(test_lexer_errors),
		cmocka_unit_test(test_lexer_nul),
		cmocka_unit_test(test_lexer_helpers),
		cmocka_unit_test(test_reference_examples),
		cmocka_unit_test(test_literal_peers),
		cmocka_unit_test(test_lists_and_continuations),
		cmocka_unit_test(test_options_any_order),
		cmocka_unit_test(test_default_name_and_limits_ok),
		cmocka_unit_test(test_protocol_helpers),
		cmocka_unit_test(test_error_cases),
		cmocka_unit_test(test_policy_twice),
		cmocka_unit_test(test_many_errors_one_run),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_duplicate_rules),
		cmocka_unit_test_setup_teardown(test_include_relative,
						make_tmpdir, remove_tmpdir),
		cmocka_unit_test_setup_teardown(test_include_once_and_absolute,
						make_tmpdir, remove_tmpdir),
		cmocka_unit_test_setup_teardown(test_include_loop, make_tmpdir,
						remove_tmpdir),
		cmocka_unit_test_setup_teardown(test_include_depth, make_tmpdir,
						remove_tmpdir),
		cmocka_unit_test_setup_teardown(test_include_missing_and_errors_inside,
						make_tmpdir, remove_tmpdir),
		cmocka_unit_test_setup_teardown(test_include_from_buffer,
						make_tmpdir, remove_tmpdir),
		cmocka_unit_test(test_role_limit),
		cmocka_unit_test(test_rule_limit),
		cmocka_unit_test(test_profile),
		cmocka_unit_test(test_profile_errors),
		cmocka_unit_test_setup_teardown(test_profile_file, make_tmpdir,
						remove_tmpdir),
		cmocka_unit_test(test_shipped_policies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
