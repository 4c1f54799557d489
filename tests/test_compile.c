// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_compile.c - the compiler: segments, entries, slots, role ids,
 * address tables, stability across reloads, determinism, errors, and the
 * seed policies.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "compile.h"
#include "fxcompile.h"
#include "testutil.h"
#include "v6probe.h"

#ifndef PW_SOURCE_ROOT
#define PW_SOURCE_ROOT "."
#endif

#define IN PW_DIR_INGRESS
#define EG PW_DIR_EGRESS

/* Parse and compile; returns pw_compile's result (parse must succeed). */
static int fx_try(struct fx *f, const char *policy, const char *inventory,
		  const char *roles, const char *tags,
		  const struct pw_prev_state *prev)
{
	fx_parse(f, policy, inventory, roles, tags);
	return fx_compile_prev(f, prev);
}

static void fx_compile(struct fx *f, const char *policy, const char *inventory,
		       const char *roles, const char *tags,
		       const struct pw_prev_state *prev)
{
	int rc = fx_try(f, policy, inventory, roles, tags, prev);

	if (rc)
		pw_diags_print(&f->d, stderr);
	assert_int_equal(rc, 0);
	assert_int_equal(f->d.nerrors, 0);
}

static unsigned seg(const struct pw_compiled *c, int dir, int proto, int port)
{
	return pw_compiled_seg(c, dir, proto, port);
}

/* The entry that judges (dir, proto, port) from/to role @name. */
static const struct pw_rule_entry *ent(const struct pw_compiled *c, int dir,
				       int proto, int port, const char *name)
{
	unsigned s = seg(c, dir, proto, port);
	const struct pw_rule_entry *e;

	assert_int_not_equal(s, 0);
	e = pw_compiled_entry(c, dir, s, role_id(c, name));
	assert_non_null(e);
	return e;
}

static void assert_allow(const struct pw_compiled *c, int dir, int proto,
			 int port, const char *role, unsigned rule)
{
	const struct pw_rule_entry *e = ent(c, dir, proto, port, role);

	if (e->flags != PW_ENTRY_ALLOW || e->rule_id != rule)
		fail_msg("%s %s/%d from %s: flags %u rule %u, want ALLOW rule %u",
			 dir == IN ? "ingress" : "egress", pw_proto_name(proto),
			 port, role, e->flags, e->rule_id, rule);
}

static void assert_violation(const struct pw_compiled *c, int dir, int proto,
			     int port, const char *role, unsigned rule,
			     unsigned mode)
{
	const struct pw_rule_entry *e = ent(c, dir, proto, port, role);

	if (e->flags != 0 || e->rule_id != rule || e->mode != mode)
		fail_msg("%s %s/%d from %s: flags %u rule %u mode %u, want violation of rule %u mode %u",
			 dir == IN ? "ingress" : "egress", pw_proto_name(proto),
			 port, role, e->flags, e->rule_id, e->mode, rule, mode);
}

static uint32_t v4(const struct pw_compiled *c, const char *s)
{
	uint8_t a[4];

	assert_int_equal(inet_pton(AF_INET, s, a), 1);
	return pw_compiled_role_v4(c, a);
}

static uint32_t v6(const struct pw_compiled *c, const char *s)
{
	uint8_t a[16];

	assert_int_equal(inet_pton(AF_INET6, s, a), 1);
	return pw_compiled_role_v6(c, a);
}

static bool has_diag(const struct pw_diags *d, enum pw_diag_level level,
		     const char *needle)
{
	int i;

	for (i = 0; i < d->n; i++)
		if (d->v[i].level == level && strstr(d->v[i].msg, needle))
			return true;
	return false;
}

/* ------------------------------------------------------------------ */
/* Segments, entries, slots                                            */
/* ------------------------------------------------------------------ */

static const char *basic_policy =
	"policy t \"test\"\n"
	"role a \"a\"\n"
	"role b \"b\"\n"
	"role c \"c\"\n"
	"allow tcp 3306 from a to b note \"one\"\n"
	"allow tcp 4000-4003,4444 from a to b note \"two\"\n"
	"allow tcp 4002-4010 from c to b note \"three\"\n"
	"allow udp 53 from any to b note \"four\"\n";

static void test_segments(void **state)
{
	struct fx f;
	const struct pw_compiled *c = &f.c;
	const struct pw_counter_key *k;

	fx_compile(&f, basic_policy, NULL, "b", NULL, NULL);

	/* ids in policy order after unknown */
	assert_int_equal(c->nroles, 4);
	assert_string_equal(c->role_names[0].name, "unknown");
	assert_int_equal(role_id(c, "a"), 1);
	assert_int_equal(role_id(c, "b"), 2);
	assert_int_equal(role_id(c, "c"), 3);
	assert_int_equal(c->role_index[0], -1);
	assert_int_equal(c->role_index[3], 2);

	/* tcp cut at 3306 3307 4000 4002 4004 4011 4444 4445; then udp */
	assert_int_equal(c->nsegs[IN], 7);
	/* "from any" holds b too: b may send udp 53 to b */
	assert_int_equal(c->nsegs[EG], 2);
	assert_int_equal(c->info.nsegs[IN], 7);
	assert_int_equal(c->nsegs_max, 7);
	assert_int_equal(seg(c, IN, PW_P_TCP, 3305), 0);
	assert_int_equal(seg(c, IN, PW_P_TCP, 3306), 1);
	assert_int_equal(seg(c, IN, PW_P_TCP, 3307), 0);
	assert_int_equal(seg(c, IN, PW_P_TCP, 3999), 0);
	assert_int_equal(seg(c, IN, PW_P_TCP, 4000), 2);
	assert_int_equal(seg(c, IN, PW_P_TCP, 4001), 2);
	assert_int_equal(seg(c, IN, PW_P_TCP, 4002), 3);
	assert_int_equal(seg(c, IN, PW_P_TCP, 4003), 3);
	assert_int_equal(seg(c, IN, PW_P_TCP, 4004), 4);
	assert_int_equal(seg(c, IN, PW_P_TCP, 4010), 4);
	assert_int_equal(seg(c, IN, PW_P_TCP, 4011), 0);
	assert_int_equal(seg(c, IN, PW_P_TCP, 4444), 5);
	assert_int_equal(seg(c, IN, PW_P_TCP, 4445), 0);
	assert_int_equal(seg(c, IN, PW_P_UDP, 53), 6);
	assert_int_equal(seg(c, IN, PW_P_TCP, 53), 0);
	assert_int_equal(seg(c, EG, PW_P_TCP, 3306), 0);

	k = &c->segs[IN][3];
	assert_int_equal(k->proto, 6);
	assert_int_equal(k->port_lo, 4002);
	assert_int_equal(k->port_hi, 4003);
	assert_int_equal(c->segs[IN][6].proto, 17);
	assert_int_equal(c->segs[IN][6].port_lo, 53);

	assert_allow(c, IN, PW_P_TCP, 3306, "a", 1);
	assert_violation(c, IN, PW_P_TCP, 3306, "c", 1, PW_MODE_HOST);
	assert_violation(c, IN, PW_P_TCP, 3306, "unknown", 1, PW_MODE_HOST);
	assert_violation(c, IN, PW_P_TCP, 3306, "b", 1, PW_MODE_HOST);
	assert_allow(c, IN, PW_P_TCP, 4000, "a", 2);
	assert_violation(c, IN, PW_P_TCP, 4000, "c", 2, PW_MODE_HOST);
	assert_allow(c, IN, PW_P_TCP, 4002, "a", 2);
	assert_allow(c, IN, PW_P_TCP, 4002, "c", 3);
	assert_allow(c, IN, PW_P_TCP, 4007, "c", 3);
	assert_violation(c, IN, PW_P_TCP, 4007, "a", 3, PW_MODE_HOST);
	assert_allow(c, IN, PW_P_TCP, 4444, "a", 2);
	assert_allow(c, IN, PW_P_UDP, 53, "unknown", 4);
	assert_allow(c, IN, PW_P_UDP, 53, "c", 4);

	/* a cell per (dir, seg >= 1, role), in that order */
	assert_int_equal(c->nslots, 7 * 4);
	assert_int_equal(pw_compiled_entry(c, IN, 1, 0)->slot, 0);
	assert_int_equal(pw_compiled_entry(c, IN, 2, 1)->slot, 5);
	k = &c->slots[5];
	assert_int_equal(k->dir, IN);
	assert_int_equal(k->proto, 6);
	assert_int_equal(k->role, 1);
	assert_int_equal(k->port_lo, 4000);
	assert_int_equal(k->port_hi, 4001);
	assert_int_equal(k->verdict, 0);
	assert_int_equal(pw_compiled_entry(c, IN, 6, 3)->slot, 23);

	/* out of range */
	assert_null(pw_compiled_entry(c, IN, 7, 0));
	assert_null(pw_compiled_entry(c, EG, 2, 0));
	assert_null(pw_compiled_entry(c, IN, 1, 4));
	assert_allow(c, EG, PW_P_UDP, 53, "b", 4);
	assert_violation(c, EG, PW_P_UDP, 53, "a", 4, PW_MODE_HOST);

	/* effective: the four rules on ingress, the any-source one on egress */
	assert_int_equal(c->neffective, 5);
	assert_int_equal(c->effective[4].dir, EG);
	assert_int_equal(c->effective[0].rule_id, 1);
	assert_int_equal(c->effective[3].rule_id, 4);
	assert_int_equal(c->effective[3].dir, IN);
	assert_false(c->effective[3].reversed);
	assert_ptr_equal(pw_compiled_rule(c, 3), &f.pol.rules[2]);
	assert_null(pw_compiled_rule(c, 0));
	assert_null(pw_compiled_rule(c, 5));
	fx_free(&f);
}

static void test_egress(void **state)
{
	struct fx f;
	const struct pw_compiled *c = &f.c;

	fx_compile(&f, basic_policy, NULL, "a", NULL, NULL);
	/* a is a source: egress to b on 3306, 4000-4003, 4444; udp 53 to b
	 * (any source); nothing on ingress */
	assert_int_equal(c->nsegs[IN], 1);
	assert_int_equal(c->nsegs[EG], 5);
	assert_allow(c, EG, PW_P_TCP, 3306, "b", 1);
	assert_violation(c, EG, PW_P_TCP, 3306, "c", 1, PW_MODE_HOST);
	assert_violation(c, EG, PW_P_TCP, 3306, "unknown", 1, PW_MODE_HOST);
	assert_int_equal(seg(c, EG, PW_P_TCP, 4000),
			 seg(c, EG, PW_P_TCP, 4003));
	assert_int_equal(seg(c, EG, PW_P_TCP, 4004), 0);
	assert_allow(c, EG, PW_P_UDP, 53, "b", 4);
	assert_violation(c, EG, PW_P_UDP, 53, "a", 4, PW_MODE_HOST);
	assert_int_equal(c->neffective, 3);
	assert_int_equal(c->effective[0].dir, EG);
	fx_free(&f);
}

static void test_icmp(void **state)
{
	struct fx f;
	const struct pw_compiled *c = &f.c;

	fx_compile(&f,
		   "role a \"a\"\nrole b \"b\"\n"
		   "allow icmp 8 from a to b note \"echo\"\n"
		   "allow icmpv6 from any to b note \"all types\"\n",
		   NULL, "b", NULL, NULL);
	assert_int_equal(seg(c, IN, PW_P_ICMP, 0), 0);
	assert_int_equal(seg(c, IN, PW_P_ICMP, 8), 1);
	assert_int_equal(seg(c, IN, PW_P_ICMPV6, 0), 2);
	assert_int_equal(seg(c, IN, PW_P_ICMPV6, 255), 2);
	assert_int_equal(seg(c, IN, PW_P_ICMPV6, 256), 0);
	assert_int_equal(c->segs[IN][1].proto, 1);
	assert_int_equal(c->segs[IN][2].proto, 58);
	assert_int_equal(c->segs[IN][2].port_lo, 0);
	assert_int_equal(c->segs[IN][2].port_hi, 255);
	assert_allow(c, IN, PW_P_ICMP, 8, "a", 1);
	assert_violation(c, IN, PW_P_ICMP, 8, "unknown", 1, PW_MODE_HOST);
	assert_allow(c, IN, PW_P_ICMPV6, 135, "unknown", 2);
	fx_free(&f);
}

/* ------------------------------------------------------------------ */
/* Loopback, modes, bidirectional, tags                                */
/* ------------------------------------------------------------------ */

static const char *loop_policy =
	"role repman \"r\"\nrole op \"o\"\n"
	"allow tcp 2003 from any to repman note \"wide open\"\n"
	"loopback tcp,udp 2003 on repman mode enforce note \"carbon\"\n"
	"allow tcp 10005 from op to repman note \"api\"\n";

static void test_loopback_wins(void **state)
{
	struct fx f;
	const struct pw_compiled *c = &f.c;
	const struct pw_rule_entry *e;
	const char *roles[] = { "unknown", "repman", "op" };
	int i, p;

	fx_compile(&f, loop_policy, NULL, "repman", NULL, NULL);
	for (p = PW_P_TCP; p <= PW_P_UDP; p++) {
		for (i = 0; i < 3; i++) {
			e = ent(c, IN, p, 2003, roles[i]);
			assert_int_equal(e->flags, PW_ENTRY_LOOPBACK);
			assert_int_equal(e->rule_id, 2);
			assert_int_equal(e->mode, PW_MODE_ENFORCE);
		}
	}
	assert_allow(c, IN, PW_P_TCP, 10005, "op", 3);
	assert_true(has_diag(&f.d, PW_DIAG_WARNING,
			     "rule 1 allows tcp 2003, but loopback rule 2 makes it loopback-only"));
	assert_int_equal(f.d.nwarnings, 1);
	/* loopback never judges egress */
	assert_int_equal(seg(c, EG, PW_P_UDP, 2003), 0);
	assert_allow(c, EG, PW_P_TCP, 2003, "repman", 1);
	/* effective: rule 1, loopback 2, rule 3 on ingress; rule 1 egress */
	assert_int_equal(c->neffective, 4);
	assert_int_equal(c->effective[1].rule_id, 2);
	assert_int_equal(c->effective[1].rule->kind, PW_RULE_LOOPBACK);
	assert_int_equal(c->effective[3].dir, EG);
	fx_free(&f);

	/* at op the loopback rule does not apply: plain egress allow */
	fx_compile(&f, loop_policy, NULL, "op", NULL, NULL);
	assert_int_equal(seg(c, IN, PW_P_TCP, 2003), 0);
	assert_allow(c, EG, PW_P_TCP, 2003, "repman", 1);
	assert_violation(c, EG, PW_P_TCP, 2003, "op", 1, PW_MODE_HOST);
	assert_int_equal(seg(c, EG, PW_P_UDP, 2003), 0);
	fx_free(&f);
}

static void test_modes(void **state)
{
	struct fx f;
	const struct pw_compiled *c = &f.c;
	const struct pw_rule_entry *e;

	fx_compile(&f,
		   "role a \"a\"\nrole b \"b\"\nrole c \"c\"\n"
		   "allow tcp 3306 from a to b mode enforce note \"x\"\n"
		   "allow tcp 3306 from c to b note \"y\"\n"
		   "allow tcp 22 from a to b mode audit note \"z\"\n",
		   NULL, "b", NULL, NULL);
	e = ent(c, IN, PW_P_TCP, 3306, "a");
	assert_int_equal(e->flags, PW_ENTRY_ALLOW);
	assert_int_equal(e->mode, PW_MODE_ENFORCE);
	e = ent(c, IN, PW_P_TCP, 3306, "c");
	assert_int_equal(e->flags, PW_ENTRY_ALLOW);
	assert_int_equal(e->rule_id, 2);
	assert_int_equal(e->mode, PW_MODE_HOST);
	assert_violation(c, IN, PW_P_TCP, 3306, "unknown", 1, PW_MODE_ENFORCE);
	assert_violation(c, IN, PW_P_TCP, 3306, "b", 1, PW_MODE_ENFORCE);
	assert_violation(c, IN, PW_P_TCP, 22, "c", 3, PW_MODE_AUDIT);
	assert_true(has_diag(&f.d, PW_DIAG_WARNING,
			     "rule 1 (mode enforce) and rule 2 (mode host) both name tcp 3306 on ingress"));
	assert_int_equal(f.d.nwarnings, 1);
	fx_free(&f);
}

static void test_bidirectional(void **state)
{
	static const char *pol =
		"role admin \"a\"\nrole node \"n\"\nrole other \"o\"\n"
		"allow tcp 22 from admin to node bidirectional note \"ssh\"\n"
		"allow tcp 9000 from node to node bidirectional note \"peer\"\n";
	struct fx f;
	const struct pw_compiled *c = &f.c;

	fx_compile(&f, pol, NULL, "node", NULL, NULL);
	assert_allow(c, IN, PW_P_TCP, 22, "admin", 1);
	assert_violation(c, IN, PW_P_TCP, 22, "other", 1, PW_MODE_HOST);
	assert_violation(c, IN, PW_P_TCP, 22, "node", 1, PW_MODE_HOST);
	/* reversed: node may reach admin on 22 */
	assert_allow(c, EG, PW_P_TCP, 22, "admin", 1);
	assert_violation(c, EG, PW_P_TCP, 22, "other", 1, PW_MODE_HOST);
	assert_allow(c, IN, PW_P_TCP, 9000, "node", 2);
	assert_allow(c, EG, PW_P_TCP, 9000, "node", 2);
	/* ingress: 1 fwd, 2 fwd (symmetric: no reversed copy);
	 * egress: 1 reversed, 2 fwd */
	assert_int_equal(c->neffective, 4);
	assert_int_equal(c->effective[0].rule_id, 1);
	assert_false(c->effective[0].reversed);
	assert_int_equal(c->effective[1].rule_id, 2);
	assert_int_equal(c->effective[2].rule_id, 1);
	assert_int_equal(c->effective[2].dir, EG);
	assert_true(c->effective[2].reversed);
	assert_false(c->effective[3].reversed);
	fx_free(&f);

	fx_compile(&f, pol, NULL, "admin", NULL, NULL);
	assert_allow(c, IN, PW_P_TCP, 22, "node", 1);
	assert_violation(c, IN, PW_P_TCP, 22, "admin", 1, PW_MODE_HOST);
	assert_allow(c, EG, PW_P_TCP, 22, "node", 1);
	assert_int_equal(seg(c, IN, PW_P_TCP, 9000), 0);
	assert_int_equal(c->neffective, 2);
	assert_true(c->effective[0].reversed);
	assert_false(c->effective[1].reversed);
	fx_free(&f);

	/* a host holding both gets both peer sets */
	fx_compile(&f, pol, NULL, "admin,node", NULL, NULL);
	assert_allow(c, IN, PW_P_TCP, 22, "admin", 1);
	assert_allow(c, IN, PW_P_TCP, 22, "node", 1);
	assert_violation(c, IN, PW_P_TCP, 22, "other", 1, PW_MODE_HOST);
	fx_free(&f);
}

static void test_tags(void **state)
{
	static const char *pol =
		"role db \"d\"\n"
		"tag g \"g\"\ntag h \"h\"\n"
		"allow tcp 3306 from db to db note \"repl\"\n"
		"allow tcp,udp 4567 from db to db if g note \"galera\"\n"
		"allow tcp 4568 from db to db if g,h note \"ist\"\n";
	struct fx f;
	const struct pw_compiled *c = &f.c;

	fx_compile(&f, pol, NULL, "db", NULL, NULL);
	assert_int_equal(seg(c, IN, PW_P_TCP, 4567), 0);
	assert_int_equal(seg(c, IN, PW_P_UDP, 4567), 0);
	assert_int_equal(c->nsegs[IN], 2);
	assert_int_equal(c->neffective, 2);
	fx_free(&f);

	fx_compile(&f, pol, NULL, "db", "g", NULL);
	assert_allow(c, IN, PW_P_TCP, 4567, "db", 2);
	assert_allow(c, IN, PW_P_UDP, 4567, "db", 2);
	assert_violation(c, IN, PW_P_UDP, 4567, "unknown", 2, PW_MODE_HOST);
	assert_int_equal(seg(c, IN, PW_P_TCP, 4568), 0);
	fx_free(&f);

	fx_compile(&f, pol, NULL, "db", "h,g", NULL);
	assert_allow(c, IN, PW_P_TCP, 4568, "db", 3);
	assert_int_equal(c->neffective, 6);
	fx_free(&f);
}

/* ------------------------------------------------------------------ */
/* Addresses                                                           */
/* ------------------------------------------------------------------ */

static void test_literal_peers(void **state)
{
	struct fx f;
	const struct pw_compiled *c = &f.c;
	uint32_t egn, net, six;

	fx_compile(&f,
		   "role node \"n\"\n"
		   "allow tcp 443 from node to 208.83.110.20 note \"egnyte\"\n"
		   "allow tcp 22 from 198.18.5.0/24,2001:db8:5::/48 to node note \"ssh\"\n",
		   "node 198.18.1.0/24\n", "node", NULL, NULL);
	egn = role_id(c, "208.83.110.20/32");
	net = role_id(c, "198.18.5.0/24");
	six = role_id(c, "2001:db8:5::/48");
	/* implicit roles follow the declared ones, in order of appearance */
	assert_int_equal(role_id(c, "node"), 1);
	assert_int_equal(egn, 2);
	assert_int_equal(net, 3);
	assert_int_equal(six, 4);
	assert_int_equal(c->nroles, 5);

	assert_int_equal(v4(c, "208.83.110.20"), egn);
	assert_int_equal(v4(c, "208.83.110.21"), 0);
	assert_int_equal(v4(c, "198.18.5.77"), net);
	assert_int_equal(v4(c, "198.18.1.9"), 1);
	assert_int_equal(v6(c, "2001:db8:5:ffff::1"), six);
	assert_int_equal(v6(c, "2001:db8:6::1"), 0);

	assert_allow(c, EG, PW_P_TCP, 443, "208.83.110.20/32", 1);
	assert_violation(c, EG, PW_P_TCP, 443, "198.18.5.0/24", 1,
			 PW_MODE_HOST);
	assert_allow(c, IN, PW_P_TCP, 22, "198.18.5.0/24", 2);
	assert_allow(c, IN, PW_P_TCP, 22, "2001:db8:5::/48", 2);
	assert_violation(c, IN, PW_P_TCP, 22, "node", 2, PW_MODE_HOST);
	fx_free(&f);
}

static void test_address_tables(void **state)
{
	struct fx f;
	const struct pw_compiled *c = &f.c;
	uint32_t a, b, cc, g, h, t;

	fx_compile(&f,
		   "role a \"a\"\nrole b \"b\"\nrole c \"c\"\n"
		   "allow tcp 1 from a,b,c to a note \"x\"\n",
		   "a 198.18.0.0/15 10.0.0.0/8\n"
		   "b 198.18.2.0/24\n"
		   "c 198.18.2.5 198.18.2.64/26\n"
		   "c 2001:db8::/32\n"
		   "b 2001:db8:1::/48\n"
		   "a 2001:db8:1:2::/64\n",
		   "a", NULL, NULL);
	a = role_id(c, "a");
	b = role_id(c, "b");
	cc = role_id(c, "c");

	/* /8 and /15 fill tbl16 directly */
	assert_int_equal(c->v4_tbl16[0x0a00], a);
	assert_int_equal(c->v4_tbl16[0x0aff], a);
	assert_int_equal(c->v4_tbl16[0x0b00], 0);
	assert_int_equal(c->v4_tbl16[0xc613], a);
	/* 198.18/16 holds a /24: a group of /24s, whose .2 entry holds a
	 * /32 and a /26: a group of last octets */
	t = c->v4_tbl16[0xc612];
	assert_true(t & PW_V4_GROUP);
	g = t & ~PW_V4_GROUP;
	assert_int_equal(c->v4_tbl8[g * 256 + 1], a);
	assert_int_equal(c->v4_tbl8[g * 256 + 3], a);
	t = c->v4_tbl8[g * 256 + 2];
	assert_true(t & PW_V4_GROUP);
	h = t & ~PW_V4_GROUP;
	assert_int_equal(c->v4_tbl8[h * 256 + 4], b);
	assert_int_equal(c->v4_tbl8[h * 256 + 5], cc);
	assert_int_equal(c->v4_tbl8[h * 256 + 63], b);
	assert_int_equal(c->v4_tbl8[h * 256 + 64], cc);
	assert_int_equal(c->v4_tbl8[h * 256 + 127], cc);
	assert_int_equal(c->v4_tbl8[h * 256 + 128], b);
	assert_int_equal(c->v4_ngroups, 2);

	assert_int_equal(v4(c, "198.18.2.5"), cc);
	assert_int_equal(v4(c, "198.18.2.6"), b);
	assert_int_equal(v4(c, "198.18.2.100"), cc);
	assert_int_equal(v4(c, "198.19.255.255"), a);
	assert_int_equal(v4(c, "198.20.0.0"), 0);
	assert_int_equal(v4(c, "10.200.1.1"), a);

	/* IPv6: longest length first */
	assert_int_equal(c->info.v6_nplens, 3);
	assert_int_equal(c->info.v6_plens[0], 64);
	assert_int_equal(c->info.v6_plens[1], 48);
	assert_int_equal(c->info.v6_plens[2], 32);
	assert_int_equal(c->nv6, 3);
	assert_int_equal(c->v6[0].key.plen, 64);
	assert_int_equal(c->v6[0].role, a);
	assert_int_equal(c->v6[2].key.plen, 32);
	assert_int_equal(v6(c, "2001:db8:1:2::9"), a);
	assert_int_equal(v6(c, "2001:db8:1:3::1"), b);
	assert_int_equal(v6(c, "2001:db8:2::1"), cc);
	assert_int_equal(v6(c, "2001:db9::1"), 0);
	fx_free(&f);
}

static void test_v6_plen_limit(void **state)
{
	char inv[2048] = "";
	struct fx f;
	int k;

	/* 16 distinct lengths: fine; 17: an error naming the limit */
	for (k = 0; k < 16; k++)
		sprintf(inv + strlen(inv), "a 2001:db8:0:%x::/%d\n", k, 64 + k);
	fx_compile(&f, "role a \"a\"\n", inv, "a", NULL, NULL);
	assert_int_equal(f.c.info.v6_nplens, 16);
	assert_int_equal(f.c.info.v6_plens[0], 79);
	assert_int_equal(f.c.info.v6_plens[15], 64);
	fx_free(&f);

	/* The inventory parser already refuses a 17th length; the compiler
	 * checks again: add one behind the parser's back. */
	{
		struct pw_compile_opts o = {
			.host_roles = (const char *const *)f.roles,
			.nhost_roles = f.nroles,
		};
		struct pw_inv_entry *v;
		const char *why;

		fx_compile(&f, "role a \"a\"\n", inv, "a", NULL, NULL);
		pw_compiled_free(&f.c);
		v = realloc(f.inv.entries,
			    (f.inv.nentries + 1) * sizeof(*v));
		assert_non_null(v);
		f.inv.entries = v;
		v[f.inv.nentries] = v[0];
		assert_int_equal(pw_prefix_parse("2001:db8:ff00::/40",
						 &v[f.inv.nentries].prefix,
						 &why), 0);
		f.inv.nentries++;
		assert_int_equal(pw_compile(&f.pol, &f.inv, &o, &f.c, &f.d),
				 -1);
	}
	assert_true(has_diag(&f.d, PW_DIAG_ERROR, "the limit is 16"));
	assert_null(f.c.v6);
	fx_free(&f);
}

/* ------------------------------------------------------------------ */
/* The IPv6 bucket table                                               */
/* ------------------------------------------------------------------ */

/* @in masked to @plen bits, byte by byte. */
static void mask6(uint8_t out[16], const uint8_t in[16], unsigned plen)
{
	unsigned i;

	for (i = 0; i < 16; i++) {
		unsigned bits = plen > 8 * i ? plen - 8 * i : 0;

		out[i] = bits >= 8 ? in[i] : in[i] & (uint8_t)(0xff00 >> bits);
	}
}

/* The first 64 bits of an address, as a big-endian number. */
static uint64_t top64(const uint8_t a[16])
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | a[i];
	return v;
}

/*
 * pw_role_v6() of bpf/portwarden.bpf.c, step for step, over the compiled
 * bucket table instead of the pw_v6 map.  The entry list is not used:
 * this is what the datapath will find.
 */
static uint32_t probe_v6(const struct pw_compiled *c, const uint8_t addr[16])
{
	const struct pw_gen_info *info = &c->info;
	uint32_t n = info->v6_nplens, probes = info->v6_max_probe, i, j, k;

	if (!info->v6_nbuckets)
		return PW_ROLE_UNKNOWN;
	if (n > PW_MAX_V6_PLENS)
		n = PW_MAX_V6_PLENS;
	if (probes > PW_V6_MAX_PROBE)
		probes = PW_V6_MAX_PROBE;
	for (i = 0; i < n; i++) {
		unsigned plen = info->v6_plens[i];
		uint8_t masked[16];
		__u64 w[2];
		__u32 hash;

		mask6(masked, addr, plen);
		/* where this length's prefixes lie */
		if (top64(masked) - info->v6_span[i].lo > info->v6_span[i].span)
			continue;
		memcpy(w, masked, sizeof(w));
		hash = pw_v6_hash(info->v6_seed, plen, w[0], w[1]);
		for (j = 0; j < probes; j++) {
			const struct pw_v6_bucket *b =
				&c->v6_buckets[pw_v6_bucket_index(
					0, 0, info->v6_nbuckets, hash, j)];

			for (k = 0; k < b->nused; k++) {
				const struct pw_v6_slot *sl = &b->slot[k];

				/* the datapath passes a slot by on its
				 * fingerprint alone */
				if (b->fp[k] != pw_v6_fingerprint(hash))
					continue;
				if (sl->used && sl->plen == plen &&
				    !memcmp(sl->addr, w, sizeof(w)))
					return sl->role;
			}
			if (b->nused < PW_V6_BUCKET_SLOTS)
				break;
		}
	}
	return PW_ROLE_UNKNOWN;
}

/*
 * An inventory of @n disjoint IPv6 prefixes in 2001:db8::/32, lengths
 * /48, /56, /64, /128 in turn, each length in its own quarter of the third
 * group (like the bench's), roles r0..r7 in turn.  Returns the text.
 */
static char *v6_inventory(unsigned n)
{
	static const unsigned plens[] = { 48, 56, 64, 128 };
	size_t cap = (size_t)n * 64 + 1, len = 0;
	char *text = malloc(cap);
	unsigned i;

	assert_non_null(text);
	for (i = 0; i < n; i++) {
		unsigned plen = plens[i % 4], j = i / 4;
		uint16_t g[8] = { 0x2001, 0x0db8 };
		char buf[INET6_ADDRSTRLEN];
		uint8_t a[16];
		int k;

		if (plen == 48) {
			g[2] = j;
		} else if (plen == 56) {
			g[2] = 0x4000 + j / 256;
			g[3] = (j % 256) << 8;
		} else if (plen == 64) {
			g[2] = 0x8000 + j / 65536;
			g[3] = j % 65536;
		} else {
			g[2] = 0xc000;
			g[6] = j >> 16;
			g[7] = j & 0xffff;
		}
		for (k = 0; k < 8; k++) {
			a[2 * k] = g[k] >> 8;
			a[2 * k + 1] = g[k] & 0xff;
		}
		assert_non_null(inet_ntop(AF_INET6, a, buf, sizeof(buf)));
		len += snprintf(text + len, cap - len, "r%u %s/%u\n", i % 8,
				buf, plen);
		assert_true(len < cap);
	}
	return text;
}

static const char *v6_roles_policy =
	"role r0 \"r\"\nrole r1 \"r\"\nrole r2 \"r\"\nrole r3 \"r\"\n"
	"role r4 \"r\"\nrole r5 \"r\"\nrole r6 \"r\"\nrole r7 \"r\"\n"
	"allow tcp 1 from r0 to r1 note \"x\"\n";

/* Table shape: power of two, <= 50% load, every key once, probe bound. */
static void assert_v6_table_shape(const struct pw_compiled *c)
{
	const struct pw_gen_info *info = &c->info;
	uint32_t nb = info->v6_nbuckets, used = 0, i, k;

	assert_non_null(c->v6_buckets);
	assert_true(nb > 0 && (nb & (nb - 1)) == 0);
	assert_true((uint64_t)2 * c->nv6 <= (uint64_t)nb * PW_V6_BUCKET_SLOTS);
	assert_in_range(info->v6_max_probe, 1, PW_V6_MAX_PROBE);
	for (i = 0; i < nb; i++) {
		const struct pw_v6_bucket *b = &c->v6_buckets[i];

		assert_in_range(b->nused, 0, PW_V6_BUCKET_SLOTS);
		for (k = 0; k < PW_V6_BUCKET_SLOTS; k++) {
			const struct pw_v6_slot *sl = &b->slot[k];
			__u64 w[2];

			if (k >= b->nused) {
				/* slots fill in order, and are zero when empty */
				static const struct pw_v6_slot zero;

				assert_memory_equal(sl, &zero, sizeof(zero));
				assert_int_equal(b->fp[k], 0);
				continue;
			}
			assert_int_equal(sl->used, 1);
			memcpy(w, sl->addr, sizeof(w));
			assert_int_equal(b->fp[k],
					 pw_v6_fingerprint(pw_v6_hash(
						 info->v6_seed, sl->plen, w[0],
						 w[1])));
			used++;
		}
	}
	assert_int_equal(used, c->nv6);

	/* each length's span runs from its first prefix to its last */
	for (i = 0, k = 0; i < info->v6_nplens; i++) {
		const struct pw_v6_span *sp = &info->v6_span[i];
		uint64_t lo = UINT64_MAX, hi = 0;

		for (; k < c->nv6 && c->v6[k].key.plen == info->v6_plens[i];
		     k++) {
			uint64_t t = top64(c->v6[k].key.addr);

			lo = t < lo ? t : lo;
			hi = t > hi ? t : hi;
		}
		assert_int_equal(sp->lo, lo);
		assert_int_equal(sp->span, hi - lo);
	}
	assert_int_equal(k, c->nv6);
}

/* Every prefix is found by the probe, at any address inside it. */
static void test_v6_buckets_find_all(void **state)
{
	char *inv = v6_inventory(10000);
	const struct pw_compiled *c;
	uint32_t x = 12345, i;
	struct fx f;

	fx_compile(&f, v6_roles_policy, inv, "r1", NULL, NULL);
	c = &f.c;
	assert_int_equal(c->nv6, 10000);
	assert_int_equal(c->info.v6_nplens, 4);
	/* 10,000 keys need 20,000 slots: 6,667 buckets, so 8,192 */
	assert_int_equal(c->info.v6_nbuckets, 8192);
	assert_v6_table_shape(c);
	for (i = 0; i < c->nv6; i++) {
		const struct pw_v6_entry *e = &c->v6[i];
		uint8_t a[16];
		unsigned b;

		assert_int_equal(probe_v6(c, e->key.addr), e->role);
		/* the host part does not matter */
		for (b = 0; b < 16; b++)
			a[b] = v6_rand(&x);
		for (b = 0; b < e->key.plen; b++) {
			uint8_t bit = 0x80 >> (b % 8);

			a[b / 8] = (a[b / 8] & ~bit) | (e->key.addr[b / 8] & bit);
		}
		assert_int_equal(probe_v6(c, a), e->role);
	}
	fx_free(&f);
	free(inv);
}

/*
 * Addresses outside every prefix are not found: each prefix moved to the
 * empty upper half of its length's quarter (bit 0x2000 of the third
 * group), exactly.  And the probe agrees with the entry list
 * (pw_compiled_role_v6) on each prefix's neighbour (its last bit flipped,
 * there or not) and on random addresses.
 */
static void test_v6_buckets_absent(void **state)
{
	char *inv = v6_inventory(2000);
	const struct pw_compiled *c;
	uint32_t x = 777, i, known = 0;
	struct fx f;

	fx_compile(&f, v6_roles_policy, inv, "r1", NULL, NULL);
	c = &f.c;
	assert_v6_table_shape(c);
	for (i = 0; i < c->nv6; i++) {
		const struct pw_v6_entry *e = &c->v6[i];
		uint8_t a[16];

		memcpy(a, e->key.addr, 16);
		a[4] |= 0x20;
		assert_int_equal(probe_v6(c, a), PW_ROLE_UNKNOWN);
		v6_neighbour(a, e->key.addr, e->key.plen);
		assert_int_equal(probe_v6(c, a), pw_compiled_role_v6(c, a));
	}
	for (i = 0; i < 100000; i++) {
		uint8_t a[16];
		unsigned b;
		uint32_t want;

		for (b = 0; b < 16; b++)
			a[b] = v6_rand(&x);
		if (i % 2) { /* inside 2001:db8::/32, a small third group */
			a[0] = 0x20, a[1] = 0x01, a[2] = 0x0d, a[3] = 0xb8;
			a[4] &= 0xc0;
			a[5] &= 0x03;
		}
		want = pw_compiled_role_v6(c, a);
		known += want != PW_ROLE_UNKNOWN;
		assert_int_equal(probe_v6(c, a), want);
	}
	/* both outcomes were exercised */
	assert_true(known > 1000);
	assert_true(known < 90000);
	fx_free(&f);
	free(inv);

	/* no IPv6 prefix at all: no table */
	fx_compile(&f, v6_roles_policy, "r0 198.18.0.0/24\n", "r1", NULL,
		   NULL);
	assert_null(f.c.v6_buckets);
	assert_int_equal(f.c.info.v6_nbuckets, 0);
	assert_int_equal(f.c.info.v6_max_probe, 0);
	fx_free(&f);
}

/* Small tables: one prefix, and a few, still obey the rules. */
static void test_v6_buckets_small(void **state)
{
	struct fx f;

	fx_compile(&f, v6_roles_policy, "r3 2001:db8::/32\n", "r1", NULL,
		   NULL);
	assert_int_equal(f.c.info.v6_nbuckets, 1);
	assert_int_equal(f.c.info.v6_max_probe, 1);
	assert_v6_table_shape(&f.c);
	assert_int_equal(probe_v6(&f.c, f.c.v6[0].key.addr),
			 role_id(&f.c, "r3"));
	fx_free(&f);

	fx_compile(&f, v6_roles_policy,
		   "r3 2001:db8::/32 2001:db8:1::/48\nr4 2001:db8:1::1\n",
		   "r1", NULL, NULL);
	assert_int_equal(f.c.info.v6_nbuckets, 2);
	assert_v6_table_shape(&f.c);
	{
		uint8_t a[16];

		assert_int_equal(inet_pton(AF_INET6, "2001:db8:1::1", a), 1);
		assert_int_equal(probe_v6(&f.c, a), role_id(&f.c, "r4"));
		assert_int_equal(inet_pton(AF_INET6, "2001:db8:1::2", a), 1);
		assert_int_equal(probe_v6(&f.c, a), role_id(&f.c, "r3"));
		assert_int_equal(inet_pton(AF_INET6, "2001:db8:2::2", a), 1);
		assert_int_equal(probe_v6(&f.c, a), role_id(&f.c, "r3"));
		assert_int_equal(inet_pton(AF_INET6, "2001:db9::", a), 1);
		assert_int_equal(probe_v6(&f.c, a), PW_ROLE_UNKNOWN);
	}
	fx_free(&f);
}

/*
 * With nested prefixes, the probe agrees with the entry list on every
 * prefix's own address, its neighbours and random addresses in the sites.
 */
static void test_v6_buckets_nested(void **state)
{
	char *inv = v6_nested_inventory(3000);
	const struct pw_compiled *c;
	uint32_t x = 4242, i, hits = 0, misses = 0;
	struct fx f;

	fx_compile(&f, v6_roles_policy, inv, "r1", NULL, NULL);
	c = &f.c;
	assert_int_equal(c->info.v6_nplens, 3);
	assert_v6_table_shape(c);
	for (i = 0; i < c->nv6; i++) {
		const struct pw_v6_entry *e = &c->v6[i];
		uint8_t a[16];

		/* a site's first address is also its subnet 0's */
		assert_int_equal(probe_v6(c, e->key.addr),
				 pw_compiled_role_v6(c, e->key.addr));
		if (e->key.plen == 128)
			assert_int_equal(probe_v6(c, e->key.addr), e->role);
		v6_neighbour(a, e->key.addr, e->key.plen);
		assert_int_equal(probe_v6(c, a), pw_compiled_role_v6(c, a));
	}
	for (i = 0; i < 200000; i++) {
		uint8_t a[16];
		uint32_t want;

		v6_nested_random(a, &x, 3000, i % 2);
		want = pw_compiled_role_v6(c, a);
		assert_int_equal(probe_v6(c, a), want);
		if (want == PW_ROLE_UNKNOWN)
			misses++;
		else
			hits++;
	}
	assert_true(hits > 1000 && misses > 1000);
	fx_free(&f);
	free(inv);
}

/* ------------------------------------------------------------------ */
/* Stability across reloads, determinism                               */
/* ------------------------------------------------------------------ */

static void test_prev_roles_and_slots(void **state)
{
	struct fx f1, f2;
	struct pw_prev_state prev;
	const struct pw_compiled *c;
	const struct pw_rule_entry *e1, *e2;
	uint32_t old_b_slot;
	unsigned s3306;

	fx_compile(&f1,
		   "role a \"a\"\nrole b \"b\"\nrole c \"c\"\n"
		   "allow tcp 3306 from a,b to c note \"x\"\n",
		   NULL, "c", NULL, NULL);
	assert_int_equal(f1.c.nslots, 4);
	old_b_slot = ent(&f1.c, IN, PW_P_TCP, 3306, "b")->slot;

	prev = (struct pw_prev_state){ f1.c.role_names, f1.c.nroles,
				       f1.c.slots, f1.c.nslots };
	/* b gone, d new, order changed, one more port */
	fx_compile(&f2,
		   "role c \"c\"\nrole d \"d\"\nrole a \"a\"\n"
		   "allow tcp 3306 from a,d to c note \"x\"\n"
		   "allow tcp 22 from a to c note \"y\"\n",
		   NULL, "c", NULL, &prev);
	c = &f2.c;
	assert_int_equal(role_id(c, "a"), 1);
	assert_int_equal(role_id(c, "c"), 3);
	assert_int_equal(role_id(c, "d"), 4);
	assert_string_equal(c->role_names[2].name, "b");
	assert_int_equal(c->role_index[2], -1);
	assert_int_equal(c->role_index[4], 1);
	assert_int_equal(c->nroles, 5);

	/* same key, same slot */
	e1 = ent(&f1.c, IN, PW_P_TCP, 3306, "a");
	e2 = ent(c, IN, PW_P_TCP, 3306, "a");
	assert_int_equal(e1->slot, e2->slot);
	assert_int_equal(ent(c, IN, PW_P_TCP, 3306, "unknown")->slot,
			 ent(&f1.c, IN, PW_P_TCP, 3306, "unknown")->slot);
	/* b (id 2) is reserved: its cell keeps its slot and key */
	s3306 = seg(c, IN, PW_P_TCP, 3306);
	assert_int_equal(pw_compiled_entry(c, IN, s3306, 2)->slot, old_b_slot);
	/* new keys after the old ones, in (dir, seg, role) order: tcp 22 is
	 * segment 1 (5 roles), 3306 segment 2 (d is new there) */
	assert_int_equal(seg(c, IN, PW_P_TCP, 22), 1);
	assert_int_equal(pw_compiled_entry(c, IN, 1, 0)->slot, 4);
	assert_int_equal(pw_compiled_entry(c, IN, 1, 4)->slot, 8);
	assert_int_equal(ent(c, IN, PW_P_TCP, 3306, "d")->slot, 9);
	assert_int_equal(c->nslots, 10);
	assert_memory_equal(&c->slots[old_b_slot], &f1.c.slots[old_b_slot],
			    sizeof(struct pw_counter_key));
	assert_int_equal(c->slots[9].role, 4);
	assert_int_equal(c->slots[9].port_lo, 3306);
	fx_free(&f2);

	/* a hole in the previous ids is filled first */
	{
		struct pw_role_name names[4] = { { "unknown" }, { "x" },
						 { "" }, { "y" } };

		prev = (struct pw_prev_state){ names, 4, NULL, 0 };
		fx_compile(&f2, "role y \"y\"\nrole z \"z\"\nrole w \"w\"\nrole x \"x\"\n",
			   NULL, "x", NULL, &prev);
		assert_int_equal(role_id(&f2.c, "x"), 1);
		assert_int_equal(role_id(&f2.c, "z"), 2);
		assert_int_equal(role_id(&f2.c, "y"), 3);
		assert_int_equal(role_id(&f2.c, "w"), 4);
		fx_free(&f2);
	}
	fx_free(&f1);
}

static void assert_same_tables(const struct pw_compiled *x,
			       const struct pw_compiled *y)
{
	int dir;

	assert_int_equal(x->nroles, y->nroles);
	assert_memory_equal(x->role_names, y->role_names,
			    x->nroles * sizeof(*x->role_names));
	assert_memory_equal(x->role_index, y->role_index,
			    x->nroles * sizeof(*x->role_index));
	assert_memory_equal(x->v4_tbl16, y->v4_tbl16,
			    PW_V4_TBL16_SIZE * sizeof(__u32));
	assert_int_equal(x->v4_ngroups, y->v4_ngroups);
	if (x->v4_ngroups)
		assert_memory_equal(x->v4_tbl8, y->v4_tbl8,
				    x->v4_ngroups * PW_V4_GROUP_SIZE * 4);
	assert_int_equal(x->nv6, y->nv6);
	if (x->nv6)
		assert_memory_equal(x->v6, y->v6, x->nv6 * sizeof(*x->v6));
	assert_int_equal(x->info.v6_nbuckets, y->info.v6_nbuckets);
	if (x->info.v6_nbuckets)
		assert_memory_equal(x->v6_buckets, y->v6_buckets,
				    x->info.v6_nbuckets *
					    sizeof(*x->v6_buckets));
	assert_memory_equal(x->ports, y->ports,
			    PW_NDIR * PW_NPROTO * PW_PORT_ROWS *
				    sizeof(*x->ports));
	assert_int_equal(x->nsegs_max, y->nsegs_max);
	assert_memory_equal(x->entries, y->entries,
			    PW_NDIR * x->nsegs_max * x->nroles *
				    sizeof(*x->entries));
	assert_int_equal(x->nslots, y->nslots);
	assert_memory_equal(x->slots, y->slots,
			    x->nslots * sizeof(*x->slots));
	assert_memory_equal(&x->info, &y->info, sizeof(x->info));
	for (dir = 0; dir < PW_NDIR; dir++) {
		assert_int_equal(x->nsegs[dir], y->nsegs[dir]);
		assert_memory_equal(x->segs[dir], y->segs[dir],
				    x->nsegs[dir] * sizeof(*x->segs[dir]));
	}
	assert_int_equal(x->neffective, y->neffective);
	assert_int_equal(pw_compiled_digest(x), x->info.policy_digest);
}

static const char *rich_policy =
	"role a \"a\"\nrole b \"b\"\nrole c \"c\"\n"
	"tag g \"g\"\n"
	"allow tcp 3306 from a to b note \"x\"\n"
	"allow tcp,udp 4000-4003 from b to c bidirectional note \"y\"\n"
	"allow tcp 1024-65535 from c to b if g mode enforce note \"z\"\n"
	"allow icmp from any to b note \"icmp\"\n"
	"allow tcp 443 from b to 203.0.113.9 note \"lit\"\n"
	"loopback tcp 2003 on b note \"lo\"\n";
static const char *rich_inventory =
	"a 198.18.0.0/24 2001:db8::/64\n"
	"b 198.18.0.7 198.18.1.0-198.18.1.9 2001:db8:0:0:1::/80\n"
	"c 198.18.9.0/28\n";

static void test_determinism(void **state)
{
	struct fx f1, f2;
	uint64_t with_tag;

	fx_compile(&f1, rich_policy, rich_inventory, "b", "g", NULL);
	fx_compile(&f2, rich_policy, rich_inventory, "b", "g", NULL);
	assert_same_tables(&f1.c, &f2.c);
	assert_int_equal(f1.c.info.policy_digest, f2.c.info.policy_digest);
	assert_int_not_equal(f1.c.info.policy_digest, 0);
	with_tag = f1.c.info.policy_digest;
	fx_free(&f1);
	fx_free(&f2);

	/* different input, different digest */
	fx_compile(&f1, rich_policy, rich_inventory, "b", NULL, NULL);
	assert_int_not_equal(f1.c.info.policy_digest, with_tag);
	fx_free(&f1);

	/* the inventory's line order does not matter */
	fx_compile(&f1, rich_policy, rich_inventory, "b,c", "g", NULL);
	fx_compile(&f2, rich_policy,
		   "c 198.18.9.0/28\n"
		   "b 2001:db8:0:0:1::/80 198.18.1.0-198.18.1.9 198.18.0.7\n"
		   "a 2001:db8::/64 198.18.0.0/24\n",
		   "b,c", "g", NULL);
	assert_same_tables(&f1.c, &f2.c);
	fx_free(&f1);
	fx_free(&f2);
}

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

static void test_unknown_role_and_tag(void **state)
{
	static const char *pol =
		"role a \"a\"\nrole b \"b\"\ntag g \"g\"\n"
		"allow tcp 443 from a to 203.0.113.9 note \"lit\"\n";
	struct fx f;
	int i;

	assert_int_equal(fx_try(&f, pol, NULL, "x", NULL, NULL), -1);
	assert_true(has_diag(&f.d, PW_DIAG_ERROR,
			     "--role: unknown role 'x' (policy test declares: a, b)"));
	for (i = 0; i < f.d.n; i++)
		assert_int_equal(f.d.v[i].line, 0);
	assert_null(f.c.entries);
	assert_null(f.c.role_names);
	fx_free(&f);

	/* both reported at once */
	assert_int_equal(fx_try(&f, pol, NULL, "a,y", "g,h", NULL), -1);
	assert_int_equal(f.d.nerrors, 2);
	assert_true(has_diag(&f.d, PW_DIAG_ERROR, "--role: unknown role 'y'"));
	assert_true(has_diag(&f.d, PW_DIAG_ERROR,
			     "--tag: unknown tag 'h' (policy test declares: g)"));
	fx_free(&f);

	/* a literal peer is not a role a host can hold */
	assert_int_equal(fx_try(&f, pol, NULL, "203.0.113.9/32", NULL, NULL), -1);
	assert_true(has_diag(&f.d, PW_DIAG_ERROR, "--role: unknown role"));
	fx_free(&f);

	assert_int_equal(fx_try(&f, pol, NULL, NULL, NULL, NULL), -1);
	assert_true(has_diag(&f.d, PW_DIAG_ERROR, "--role"));
	fx_free(&f);
}

static void test_role_limit(void **state)
{
	struct pw_role_name names[201] = { { "unknown" } };
	struct pw_prev_state prev = { names, 201, NULL, 0 };
	char *pol = malloc(300 * 32);
	struct fx f;
	int i;

	/* 255 roles + unknown = 256 ids: the most there can be */
	pol[0] = '\0';
	for (i = 0; i < 255; i++)
		sprintf(pol + strlen(pol), "role r%d \"r\"\n", i);
	fx_compile(&f, pol, NULL, "r0", NULL, NULL);
	assert_int_equal(f.c.nroles, 256);
	assert_int_equal(role_id(&f.c, "r254"), 255);
	fx_free(&f);

	/* ids kept for 200 roles of the loaded policy leave 55 free */
	for (i = 1; i <= 200; i++)
		snprintf(names[i].name, sizeof(names[i].name), "old%d", i);
	pol[0] = '\0';
	for (i = 0; i < 55; i++)
		sprintf(pol + strlen(pol), "role n%d \"n\"\n", i);
	fx_compile(&f, pol, NULL, "n0", NULL, &prev);
	assert_int_equal(f.c.nroles, 256);
	assert_int_equal(role_id(&f.c, "n54"), 255);
	assert_string_equal(f.c.role_names[200].name, "old200");
	fx_free(&f);

	strcat(pol, "role n55 \"n\"\n");
	assert_int_equal(fx_try(&f, pol, NULL, "n0", NULL, &prev), -1);
	assert_true(has_diag(&f.d, PW_DIAG_ERROR, "the limit is 256"));
	assert_null(f.c.role_names);
	fx_free(&f);
	free(pol);
}

/* ------------------------------------------------------------------ */
/* Seed policies                                                       */
/* ------------------------------------------------------------------ */

static char *path_of(const char *rel)
{
	char *p = NULL;

	assert_true(asprintf(&p, "%s/%s", PW_SOURCE_ROOT, rel) > 0);
	return p;
}

/* Compile @name for every declared role, with no tags and with all. */
static void compile_seed(const char *name)
{
	struct pw_policy pol = { 0 };
	struct pw_inventory inv = { 0 };
	struct pw_diags d = { 0 };
	char rel[512], *ppath, *ipath;
	const char *tags[64];
	int i, withtags, rc;

	snprintf(rel, sizeof(rel), "policies/%s.policy", name);
	ppath = path_of(rel);
	snprintf(rel, sizeof(rel), "policies/examples/%s.inventory", name);
	ipath = path_of(rel);
	rc = pw_policy_parse_file(ppath, &pol, &d);
	if (!rc)
		rc = pw_inventory_parse_file(ipath, &pol, &inv, &d);
	if (rc)
		pw_diags_print(&d, stderr);
	assert_int_equal(rc, 0);
	assert_true(pol.ntags < 64);
	for (i = 0; i < pol.ntags; i++)
		tags[i] = pol.tags[i].name;

	for (i = 0; i < pol.nroles; i++) {
		if (pol.roles[i].implicit)
			continue;
		for (withtags = 0; withtags < 2; withtags++) {
			const char *role = pol.roles[i].name;
			struct pw_compile_opts o = {
				.host_roles = &role,
				.nhost_roles = 1,
				.tags = tags,
				.ntags = withtags ? pol.ntags : 0,
			};
			struct pw_compiled c;
			struct pw_diags cd = { 0 };

			rc = pw_compile(&pol, &inv, &o, &c, &cd);
			if (rc || cd.nerrors) {
				pw_diags_print(&cd, stderr);
				fail_msg("%s: role %s%s does not compile", name,
					 role, withtags ? " (all tags)" : "");
			}
			assert_int_equal(c.info.policy_digest,
					 pw_compiled_digest(&c));
			assert_int_equal(c.nroles, pol.nroles + 1);
			pw_compiled_free(&c);
			pw_diags_free(&cd);
		}
	}
	pw_inventory_free(&inv);
	pw_policy_free(&pol);
	pw_diags_free(&d);
	free(ppath);
	free(ipath);
}

static void test_seed_policies(void **state)
{
	char *dir = path_of("policies");
	struct dirent *de;
	DIR *dp = opendir(dir);
	int n = 0;

	assert_non_null(dp);
	while ((de = readdir(dp))) {
		size_t len = strlen(de->d_name);
		char name[256];

		if (len < 8 || strcmp(de->d_name + len - 7, ".policy"))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(len - 7),
			 de->d_name);
		compile_seed(name);
		n++;
	}
	closedir(dp);
	free(dir);
	assert_true(n >= 3);
}

static void compile_repman(struct fx *f, const char *roles, const char *tags)
{
	char *ppath = path_of("policies/replication-manager.policy");
	char *ipath = path_of("policies/examples/replication-manager.inventory");

	memset(f, 0, sizeof(*f));
	assert_int_equal(pw_policy_parse_file(ppath, &f->pol, &f->d), 0);
	assert_int_equal(pw_inventory_parse_file(ipath, &f->pol, &f->inv,
						 &f->d), 0);
	f->have_inv = true;
	fx_split(roles, f->roles, &f->nroles);
	fx_split(tags, f->tags, &f->ntags);
	assert_int_equal(fx_compile_prev(f, NULL), 0);
	free(ppath);
	free(ipath);
}

static void assert_allowed_by_some_rule(const struct pw_compiled *c, int dir,
					int proto, int port, const char *role)
{
	const struct pw_rule_entry *e = ent(c, dir, proto, port, role);

	if (e->flags != PW_ENTRY_ALLOW || e->rule_id == 0)
		fail_msg("%s/%d from %s should be allowed (flags %u)",
			 pw_proto_name(proto), port, role, e->flags);
}

static void assert_not_allowed(const struct pw_compiled *c, int dir,
			       int proto, int port, const char *role)
{
	const struct pw_rule_entry *e = ent(c, dir, proto, port, role);

	if (e->flags & PW_ENTRY_ALLOW)
		fail_msg("%s/%d from %s should be a violation (rule %u)",
			 pw_proto_name(proto), port, role, e->rule_id);
	assert_int_not_equal(e->rule_id, 0);
}

static void test_repman_db(void **state)
{
	struct fx f;
	const struct pw_compiled *c = &f.c;
	const struct pw_rule *r;

	compile_repman(&f, "db", NULL);
	assert_allowed_by_some_rule(c, IN, PW_P_TCP, 3306, "repman");
	assert_allowed_by_some_rule(c, IN, PW_P_TCP, 3306, "proxy");
	assert_allowed_by_some_rule(c, IN, PW_P_TCP, 3306, "db");
	assert_not_allowed(c, IN, PW_P_TCP, 3306, "app");
	assert_not_allowed(c, IN, PW_P_TCP, 3306, "unknown");
	/* Galera only with its tag */
	assert_int_equal(seg(c, IN, PW_P_TCP, 4567), 0);
	assert_int_equal(seg(c, IN, PW_P_UDP, 4567), 0);
	/* the db inventory addresses resolve to db */
	assert_int_equal(v4(c, "198.18.2.12"), role_id(c, "db"));
	assert_int_equal(v6(c, "2001:db8:2::12"), role_id(c, "db"));
	assert_int_equal(v4(c, "198.18.4.200"), role_id(c, "app"));
	assert_int_equal(v4(c, "198.18.2.99"), 0);
	fx_free(&f);

	compile_repman(&f, "db", "galera");
	assert_allowed_by_some_rule(c, IN, PW_P_TCP, 4567, "db");
	assert_allowed_by_some_rule(c, IN, PW_P_UDP, 4567, "db");
	assert_not_allowed(c, IN, PW_P_TCP, 4567, "repman");
	assert_not_allowed(c, IN, PW_P_UDP, 4567, "unknown");
	r = pw_compiled_rule(c, ent(c, IN, PW_P_UDP, 4567, "db")->rule_id);
	assert_non_null(r);
	assert_int_equal(r->ntags, 1);
	assert_string_equal(f.pol.tags[r->tags[0]].name, "galera");
	fx_free(&f);
}

static void test_repman_repman(void **state)
{
	struct fx f;
	const struct pw_compiled *c = &f.c;
	const struct pw_rule_entry *e;
	const struct pw_rule *r;
	uint32_t role;
	int p;

	compile_repman(&f, "repman", NULL);
	for (p = PW_P_TCP; p <= PW_P_UDP; p++) {
		unsigned s = seg(c, IN, p, 2003);

		assert_int_not_equal(s, 0);
		for (role = 0; role < c->nroles; role++) {
			e = pw_compiled_entry(c, IN, s, role);
			assert_int_equal(e->flags, PW_ENTRY_LOOPBACK);
			r = pw_compiled_rule(c, e->rule_id);
			assert_non_null(r);
			assert_int_equal(r->kind, PW_RULE_LOOPBACK);
		}
	}
	assert_allowed_by_some_rule(c, IN, PW_P_TCP, 10005, "operator");
	assert_allowed_by_some_rule(c, IN, PW_P_TCP, 10005, "grafana");
	assert_not_allowed(c, IN, PW_P_TCP, 10005, "db");
	assert_not_allowed(c, IN, PW_P_TCP, 10005, "unknown");
	/* repman is a source on egress: 3306 to db */
	assert_allowed_by_some_rule(c, EG, PW_P_TCP, 3306, "db");
	assert_not_allowed(c, EG, PW_P_TCP, 3306, "app");
	fx_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_segments),
		cmocka_unit_test(test_egress),
		cmocka_unit_test(test_icmp),
		cmocka_unit_test(test_loopback_wins),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_bidirectional),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_literal_peers),
		cmocka_unit_test(test_address_tables),
		cmocka_unit_test(test_v6_plen_limit),
		cmocka_unit_test(test_v6_buckets_find_all),
		cmocka_unit_test(test_v6_buckets_absent),
		cmocka_unit_test(test_v6_buckets_small),
		cmocka_unit_test(test_v6_buckets_nested),
		cmocka_unit_test(test_prev_roles_and_slots),
		cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_unknown_role_and_tag),
		cmocka_unit_test(test_role_limit),
		cmocka_unit_test(test_seed_policies),
		cmocka_unit_test(test_repman_db),
		cmocka_unit_test(test_repman_repman),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
