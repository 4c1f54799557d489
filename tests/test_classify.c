// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_classify.c - the reference classifier against hand-worked answers.
 *
 * The tables are built by hand here (not by the compiler), so that each
 * expectation below can be checked with a pencil against the datapath
 * specification:
 *
 *   roles: 0 unknown, 1 app, 2 db, 3 ops
 *   IPv4:  198.18.1.0/24 app; 198.18.2.5/32 db; 198.19.0.0/16 ops
 *   IPv6:  2001:db8:1:2::/64 db; 2001:db8:1::/48 app; 2001:db8:ff00::/40 ops
 *   ingress segments:
 *     1 tcp 3306       rule 1 allows app          (mode host)
 *     2 tcp 4000-4003  rule 2 allows db           (mode enforce)
 *     3 udp 53         rule 3 allows any          (mode host)
 *     4 tcp 2003       rule 4 loopback            (mode audit)
 *     5 icmp 8         rule 5 allows ops          (mode host)
 *     6 icmpv6 128     rule 6 allows any          (mode host)
 *     7 sctp 9000      rule 7 allows app          (mode host)
 *   slot of (seg, role) = (seg - 1) * 4 + role
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "classify.h"
#include "pktbuild.h"

#define NROLES 4
#define NSEGS 8 /* including segment 0 */
#define R_UNK 0
#define R_APP 1
#define R_DB 2
#define R_OPS 3

static struct pw_compiled C;
static struct pw_config CFG;

static uint32_t slot_of(uint32_t seg, uint32_t role)
{
	return (seg - 1) * NROLES + role;
}

static void set_seg(int proto_idx, unsigned lo, unsigned hi, uint16_t seg)
{
	for (unsigned p = lo; p <= hi; p++)
		C.ports[proto_idx * PW_PORT_ROWS + p / 32].seg[p % 32] = seg;
}

/* Segment @seg: rule @rule allows the roles in @allow_mask, others violate. */
static void set_row(uint16_t seg, uint16_t rule, unsigned allow_mask,
		    uint8_t flags, uint8_t mode, uint8_t proto, uint16_t lo,
		    uint16_t hi)
{
	for (uint32_t role = 0; role < NROLES; role++) {
		struct pw_rule_entry *e = &C.entries[seg * NROLES + role];
		struct pw_counter_key *k = &C.slots[slot_of(seg, role)];

		e->rule_id = rule;
		e->flags = flags;
		if ((allow_mask >> role) & 1)
			e->flags |= PW_ENTRY_ALLOW;
		e->mode = mode;
		e->slot = slot_of(seg, role);
		*k = (struct pw_counter_key){ .dir = PW_DIR_INGRESS,
					      .proto = proto,
					      .role = role,
					      .port_lo = lo,
					      .port_hi = hi };
	}
}

static void add_v6(int i, const char *addr, uint8_t plen, uint32_t role)
{
	C.v6[i].key.plen = plen;
	pb_addr6(addr, C.v6[i].key.addr);
	C.v6[i].role = role;
}

static int setup_tables(void **state)
{
	static const char *names[NROLES] = { "unknown", "app", "db", "ops" };
	const unsigned any = (1U << NROLES) - 1;

	memset(&C, 0, sizeof(C));
	C.nroles = NROLES;
	C.role_names = calloc(NROLES, sizeof(*C.role_names));
	for (int i = 0; i < NROLES; i++)
		strcpy(C.role_names[i].name, names[i]);

	/* IPv4: 198.18 -> group 0; 198.18.1 -> app; 198.18.2 -> group 1 */
	C.v4_tbl16 = calloc(PW_V4_TBL16_SIZE, sizeof(__u32));
	C.v4_ngroups = 2;
	C.v4_tbl8 = calloc(2 * PW_V4_GROUP_SIZE, sizeof(__u32));
	C.v4_tbl16[198 << 8 | 18] = PW_V4_GROUP | 0;
	C.v4_tbl16[198 << 8 | 19] = R_OPS;
	C.v4_tbl8[0 * 256 + 1] = R_APP;
	C.v4_tbl8[0 * 256 + 2] = PW_V4_GROUP | 1;
	C.v4_tbl8[1 * 256 + 5] = R_DB;

	C.nv6 = 3;
	C.v6 = calloc(C.nv6, sizeof(*C.v6));
	add_v6(0, "2001:db8:1:2::", 64, R_DB);
	add_v6(1, "2001:db8:1::", 48, R_APP);
	add_v6(2, "2001:db8:ff00::", 40, R_OPS);
	C.info.v6_nplens = 3;
	C.info.v6_plens[0] = 64;
	C.info.v6_plens[1] = 48;
	C.info.v6_plens[2] = 40;

	C.ports = calloc(PW_NDIR * PW_NPROTO * PW_PORT_ROWS, sizeof(*C.ports));
	C.nsegs_max = NSEGS;
	C.entries = calloc(PW_NDIR * NSEGS * NROLES, sizeof(*C.entries));
	C.nslots = (NSEGS - 1) * NROLES;
	C.slots = calloc(C.nslots, sizeof(*C.slots));

	set_seg(PW_P_TCP, 3306, 3306, 1);
	set_row(1, 1, 1U << R_APP, 0, PW_MODE_HOST, 6, 3306, 3306);
	set_seg(PW_P_TCP, 4000, 4003, 2);
	set_row(2, 2, 1U << R_DB, 0, PW_MODE_ENFORCE, 6, 4000, 4003);
	set_seg(PW_P_UDP, 53, 53, 3);
	set_row(3, 3, any, 0, PW_MODE_HOST, 17, 53, 53);
	set_seg(PW_P_TCP, 2003, 2003, 4);
	set_row(4, 4, 0, PW_ENTRY_LOOPBACK, PW_MODE_AUDIT, 6, 2003, 2003);
	set_seg(PW_P_ICMP, 8, 8, 5);
	set_row(5, 5, 1U << R_OPS, 0, PW_MODE_HOST, 1, 8, 8);
	set_seg(PW_P_ICMPV6, 128, 128, 6);
	set_row(6, 6, any, 0, PW_MODE_HOST, 58, 128, 128);
	set_seg(PW_P_SCTP, 9000, 9000, 7);
	set_row(7, 7, 1U << R_APP, 0, PW_MODE_HOST, 132, 9000, 9000);
	*state = NULL;
	return 0;
}

static int teardown_tables(void **state)
{
	free(C.role_names);
	free(C.v4_tbl16);
	free(C.v4_tbl8);
	free(C.v6);
	free(C.ports);
	free(C.entries);
	free(C.slots);
	memset(&C, 0, sizeof(C));
	return 0;
}

/* Each test starts in audit mode with the default unchecked mask. */
static int reset_cfg(void **state)
{
	memset(&CFG, 0, sizeof(CFG));
	CFG.mode = PW_MODE_AUDIT;
	CFG.unchecked_drop = PW_UNCHECKED_DROP_DEFAULT;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Packet shorthands                                                   */
/* ------------------------------------------------------------------ */

static struct pb P;

static void v4(const char *src)
{
	uint8_t s[4], d[4];

	pb_addr4(src, s);
	pb_addr4("198.18.0.1", d);
	pb_init(&P);
	pb_eth(&P);
	pb_ipv4(&P, s, d);
}

static void v6(const char *src)
{
	uint8_t s[16], d[16];

	pb_addr6(src, s);
	pb_addr6("2001:db8::1", d);
	pb_init(&P);
	pb_eth(&P);
	pb_ipv6(&P, s, d);
}

static struct pw_classify_result R;

static int run_at(uint64_t now)
{
	pb_finish(&P);
	return pw_classify(&C, &CFG, now, P.buf, (uint32_t)P.len, &R);
}

static int run(void)
{
	return run_at(1000);
}

static void expect_slot(int action, uint32_t seg, uint32_t role,
			unsigned verdict, uint32_t rule)
{
	assert_int_equal(R.reason, PW_REASON_CLASSIFIED);
	assert_int_equal(R.action, action);
	assert_int_equal(R.counter, PW_COUNTER_SLOT);
	assert_int_equal(R.role, role);
	assert_int_equal(R.seg, seg);
	assert_int_equal(R.slot, slot_of(seg, role));
	assert_int_equal(R.counter_index, slot_of(seg, role) * 4 + verdict);
	assert_int_equal(R.verdict, verdict);
	assert_int_equal(R.key.verdict, verdict);
	assert_int_equal(R.key.role, role);
	assert_int_equal(R.rule_id, rule);
	assert_int_equal(R.len, P.len);
}

static void expect_unnamed(int action, uint8_t proto, uint32_t role,
			   uint16_t port, unsigned verdict)
{
	assert_int_equal(R.reason, PW_REASON_CLASSIFIED);
	assert_int_equal(R.action, action);
	assert_int_equal(R.counter, PW_COUNTER_UNNAMED);
	assert_int_equal(R.key.dir, PW_DIR_INGRESS);
	assert_int_equal(R.key.proto, proto);
	assert_int_equal(R.key.role, role);
	assert_int_equal(R.key.port_lo, port);
	assert_int_equal(R.key.port_hi, port);
	assert_int_equal(R.key.verdict, verdict);
	assert_int_equal(R.key.pad[0] | R.key.pad[1] | R.key.pad[2], 0);
	assert_int_equal(R.rule_id, PW_RULE_NONE);
}

static void expect_reason(int action, enum pw_reason why)
{
	assert_int_equal(R.reason, why);
	assert_int_equal(R.action, action);
	assert_int_equal(R.counter, PW_COUNTER_NONE);
}

#define PASS PW_XDP_PASS
#define DROP PW_XDP_DROP

/* ------------------------------------------------------------------ */
/* Roles                                                               */
/* ------------------------------------------------------------------ */

static void test_v4_roles(void **state)
{
	static const struct {
		const char *addr;
		uint32_t role;
	} cases[] = {
		{ "198.18.1.0", R_APP },   { "198.18.1.255", R_APP },
		{ "198.18.2.5", R_DB },    { "198.18.2.4", R_UNK },
		{ "198.18.2.6", R_UNK },   { "198.18.3.1", R_UNK },
		{ "198.18.0.1", R_UNK },   { "198.19.0.0", R_OPS },
		{ "198.19.255.255", R_OPS }, { "198.20.0.1", R_UNK },
		{ "198.17.255.255", R_UNK },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v4(cases[i].addr);
		pb_tcp(&P, 40000, 8080);
		run();
		assert_int_equal(R.family, 4);
		assert_int_equal(R.role, cases[i].role);
	}
}

static void test_v6_roles(void **state)
{
	static const struct {
		const char *addr;
		uint32_t role;
	} cases[] = {
		{ "2001:db8:1:2::9", R_DB },  { "2001:db8:1:2:ffff::", R_DB },
		{ "2001:db8:1:3::1", R_APP }, { "2001:db8:1::", R_APP },
		{ "2001:db8:1:ffff::1", R_APP }, { "2001:db8:2::1", R_UNK },
		{ "2001:db8:ff12::1", R_OPS }, { "2001:db8:ffff:ffff::", R_OPS },
		{ "2001:db8:fe00::1", R_UNK }, { "2001:db9::1", R_UNK },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v6(cases[i].addr);
		pb_tcp(&P, 40000, 8080);
		run();
		assert_int_equal(R.family, 6);
		assert_int_equal(R.role, cases[i].role);
	}
}

/* A corrupt table (group out of range, role out of range) gives unknown. */
static void test_v4_corrupt(void **state)
{
	C.v4_tbl16[198 << 8 | 20] = PW_V4_GROUP | 7; /* only 2 groups */
	C.v4_tbl16[198 << 8 | 21] = 99;              /* role >= nroles */
	v4("198.20.0.1");
	pb_tcp(&P, 1, 3306);
	run();
	assert_int_equal(R.role, R_UNK);
	v4("198.21.0.1");
	pb_tcp(&P, 1, 3306);
	run();
	assert_int_equal(R.role, R_UNK);
	C.v4_tbl16[198 << 8 | 20] = 0;
	C.v4_tbl16[198 << 8 | 21] = 0;
}

/* ------------------------------------------------------------------ */
/* Verdicts                                                            */
/* ------------------------------------------------------------------ */

static void test_allowed(void **state)
{
	v4("198.18.1.7");
	pb_tcp(&P, 40000, 3306);
	assert_int_equal(run(), PASS);
	expect_slot(PASS, 1, R_APP, PW_VERDICT_ALLOW, 1);
	assert_int_equal(R.key.proto, 6);
	assert_int_equal(R.key.port_lo, 3306);
	assert_int_equal(R.port, 3306);
	assert_int_equal(R.sport, 40000);
	assert_int_equal(R.len, 14 + 20 + 20);

	CFG.mode = PW_MODE_ENFORCE; /* allowed stays allowed */
	run();
	expect_slot(PASS, 1, R_APP, PW_VERDICT_ALLOW, 1);
}

static void test_named_violation(void **state)
{
	v4("198.18.2.5");
	pb_tcp(&P, 40000, 3306);
	run();
	expect_slot(PASS, 1, R_DB, PW_VERDICT_AUDIT, 1);
	CFG.mode = PW_MODE_ENFORCE;
	run();
	expect_slot(DROP, 1, R_DB, PW_VERDICT_DROP, 1);
	/* unknown source */
	v4("198.20.0.1");
	pb_tcp(&P, 40000, 3306);
	run();
	expect_slot(DROP, 1, R_UNK, PW_VERDICT_DROP, 1);
}

static void test_range(void **state)
{
	for (unsigned port = 4000; port <= 4003; port++) {
		v6("2001:db8:1:2::1");
		pb_tcp(&P, 1, port);
		run();
		expect_slot(PASS, 2, R_DB, PW_VERDICT_ALLOW, 2);
		assert_int_equal(R.key.port_lo, 4000);
		assert_int_equal(R.key.port_hi, 4003);
	}
	v6("2001:db8:1:2::1");
	pb_tcp(&P, 1, 4004);
	run();
	expect_unnamed(PASS, 6, R_DB, 4004, PW_VERDICT_AUDIT);
	v6("2001:db8:1:2::1");
	pb_tcp(&P, 1, 3999);
	run();
	expect_unnamed(PASS, 6, R_DB, 3999, PW_VERDICT_AUDIT);
}

/* Rule 2 says "mode enforce": it drops while the host audits... */
static void test_rule_enforce_in_audit(void **state)
{
	v4("198.18.1.1");
	pb_tcp(&P, 1, 4001);
	run();
	expect_slot(DROP, 2, R_APP, PW_VERDICT_DROP, 2);
	assert_int_equal(R.entry_mode, PW_MODE_ENFORCE);
	/* ...until the enforce deadline has passed */
	CFG.enforce_deadline_ns = 5000;
	run_at(5000);
	expect_slot(DROP, 2, R_APP, PW_VERDICT_DROP, 2);
	run_at(5001);
	expect_slot(PASS, 2, R_APP, PW_VERDICT_AUDIT, 2);
}

/* Rule 4 (loopback) says "mode audit": it passes while the host enforces. */
static void test_rule_audit_in_enforce(void **state)
{
	CFG.mode = PW_MODE_ENFORCE;
	v4("198.18.1.1");
	pb_tcp(&P, 1, 2003);
	run();
	expect_slot(PASS, 4, R_APP, PW_VERDICT_AUDIT, 4);
	assert_true(R.entry_flags & PW_ENTRY_LOOPBACK);
	/* every role, even one another rule would allow, violates */
	v4("198.19.1.1");
	pb_tcp(&P, 1, 2003);
	run();
	expect_slot(PASS, 4, R_OPS, PW_VERDICT_AUDIT, 4);
}

static void test_unnamed(void **state)
{
	v4("198.18.1.1");
	pb_tcp(&P, 1, 8080);
	run();
	expect_unnamed(PASS, 6, R_APP, 8080, PW_VERDICT_AUDIT);
	CFG.mode = PW_MODE_ENFORCE;
	run();
	expect_unnamed(DROP, 6, R_APP, 8080, PW_VERDICT_DROP);
	CFG.enforce_deadline_ns = 1;
	run();
	expect_unnamed(PASS, 6, R_APP, 8080, PW_VERDICT_AUDIT);
	/* a protocol nobody parses: port 0 */
	CFG.enforce_deadline_ns = 0;
	v4("198.19.0.9");
	pb_l4_raw(&P, 47, 4, 0xff);
	run();
	expect_unnamed(DROP, 47, R_OPS, 0, PW_VERDICT_DROP);
	assert_int_equal(R.proto_idx, -1);
	/* UDP port that is TCP-named is unnamed for UDP */
	v4("198.18.1.1");
	pb_udp(&P, 1, 3306);
	run();
	expect_unnamed(DROP, 17, R_APP, 3306, PW_VERDICT_DROP);
	/* an unknown host mode value is audit */
	CFG.mode = 7;
	run();
	expect_unnamed(PASS, 17, R_APP, 3306, PW_VERDICT_AUDIT);
	CFG.mode = 0;
	run();
	expect_unnamed(PASS, 17, R_APP, 3306, PW_VERDICT_AUDIT);
}

static void test_unnamed_full(void **state)
{
	v4("198.18.1.1");
	pb_tcp(&P, 1, 8080);
	CFG.mode = PW_MODE_ENFORCE;
	run();
	pw_classify_unnamed_full(&R);
	expect_reason(DROP, PW_REASON_UNNAMED_FULL);
	/* a slot result is not affected */
	pb_init(&P);
	v4("198.18.1.1");
	pb_tcp(&P, 1, 3306);
	run();
	pw_classify_unnamed_full(&R);
	expect_slot(PASS, 1, R_APP, PW_VERDICT_ALLOW, 1);
}

static void test_udp_sctp(void **state)
{
	v6("2001:db9::1");
	pb_udp(&P, 5353, 53);
	run();
	expect_slot(PASS, 3, R_UNK, PW_VERDICT_ALLOW, 3);
	v4("198.18.1.9");
	pb_sctp(&P, 1, 9000);
	run();
	expect_slot(PASS, 7, R_APP, PW_VERDICT_ALLOW, 7);
	assert_int_equal(R.key.proto, 132);
	v4("198.18.2.5");
	pb_sctp(&P, 1, 9000);
	CFG.mode = PW_MODE_ENFORCE;
	run();
	expect_slot(DROP, 7, R_DB, PW_VERDICT_DROP, 7);
}

static void test_icmp(void **state)
{
	CFG.mode = PW_MODE_ENFORCE;
	v4("198.19.0.1");
	pb_icmp(&P, 8, 0);
	run();
	expect_slot(PASS, 5, R_OPS, PW_VERDICT_ALLOW, 5);
	v4("198.18.1.1");
	pb_icmp(&P, 8, 0);
	run();
	expect_slot(DROP, 5, R_APP, PW_VERDICT_DROP, 5);
	/* frag-needed always passes; other unreachables are judged */
	v4("198.18.1.1");
	pb_icmp(&P, 3, 4);
	run();
	expect_reason(PASS, PW_REASON_ICMP_PMTU);
	v4("198.18.1.1");
	pb_icmp(&P, 3, 3);
	run();
	expect_unnamed(DROP, 1, R_APP, 3, PW_VERDICT_DROP);
	assert_int_equal(R.sport, 3);
	v4("198.18.1.1");
	pb_icmp(&P, 4, 4);
	run();
	expect_unnamed(DROP, 1, R_APP, 4, PW_VERDICT_DROP);
}

static void test_icmpv6(void **state)
{
	CFG.mode = PW_MODE_ENFORCE;
	v6("2001:db8:1::1");
	pb_icmp6(&P, 128, 0);
	run();
	expect_slot(PASS, 6, R_APP, PW_VERDICT_ALLOW, 6);
	v6("2001:db8:1::1");
	pb_icmp6(&P, 2, 0);
	run();
	expect_reason(PASS, PW_REASON_ICMP_PMTU);
	for (unsigned t = 130; t <= 137; t++) {
		v6("2001:db8:1::1");
		pb_icmp6(&P, t, 0);
		run();
		expect_reason(PASS, PW_REASON_NDP);
	}
	v6("2001:db8:1::1");
	pb_icmp6(&P, 143, 0); /* MLDv2 report */
	run();
	expect_reason(PASS, PW_REASON_NDP);
	v6("2001:db8:1::1");
	pb_icmp6(&P, 129, 0);
	run();
	expect_unnamed(DROP, 58, R_APP, 129, PW_VERDICT_DROP);
	v6("2001:db8:1::1");
	pb_icmp6(&P, 142, 0);
	run();
	expect_unnamed(DROP, 58, R_APP, 142, PW_VERDICT_DROP);
	v6("2001:db8:1::1");
	pb_icmp6(&P, 138, 0);
	run();
	expect_unnamed(DROP, 58, R_APP, 138, PW_VERDICT_DROP);
	/* the L4 protocol number decides, whatever the IP family */
	v4("198.18.1.1");
	pb_icmp6(&P, 135, 0);
	run();
	expect_reason(PASS, PW_REASON_NDP);
	v6("2001:db8:1::1");
	pb_icmp(&P, 3, 4);
	run();
	expect_reason(PASS, PW_REASON_ICMP_PMTU);
}

/* ------------------------------------------------------------------ */
/* Layer 2                                                             */
/* ------------------------------------------------------------------ */

static void vlan_frame(int ntags, const uint16_t *tpids)
{
	uint8_t s[4], d[4];

	pb_addr4("198.18.1.1", s);
	pb_addr4("198.18.0.1", d);
	pb_init(&P);
	pb_eth(&P);
	for (int i = 0; i < ntags; i++)
		pb_vlan(&P, tpids[i], (uint16_t)(10 + i));
	pb_ipv4(&P, s, d);
	pb_tcp(&P, 1, 3306);
}

static void test_vlan(void **state)
{
	static const uint16_t q[] = { 0x8100, 0x8100, 0x8100 };
	static const uint16_t adq[] = { 0x88a8, 0x8100, 0x8100 };
	static const uint16_t adad[] = { 0x88a8, 0x88a8, 0x88a8 };

	vlan_frame(1, q);
	run();
	expect_slot(PASS, 1, R_APP, PW_VERDICT_ALLOW, 1);
	assert_int_equal(R.nvlan, 1);
	vlan_frame(2, adq);
	run();
	expect_slot(PASS, 1, R_APP, PW_VERDICT_ALLOW, 1);
	assert_int_equal(R.nvlan, 2);
	vlan_frame(2, adad);
	run();
	expect_slot(PASS, 1, R_APP, PW_VERDICT_ALLOW, 1);
	vlan_frame(3, q);
	run();
	expect_reason(PASS, PW_REASON_VLAN_TOO_DEEP);
	CFG.mode = PW_MODE_ENFORCE;
	run();
	expect_reason(DROP, PW_REASON_VLAN_TOO_DEEP);
	/* too deep is decided before the third tag's bytes are needed */
	vlan_frame(3, adq);
	pb_truncate(&P, 14 + 8);
	run();
	expect_reason(DROP, PW_REASON_VLAN_TOO_DEEP);
	/* second tag cut short */
	vlan_frame(2, adq);
	pb_truncate(&P, 14 + 7);
	run();
	expect_reason(DROP, PW_REASON_TRUNC_L2);
	pb_truncate(&P, 14 + 4);
	run();
	expect_reason(DROP, PW_REASON_TRUNC_L2);
	/* both tags, no IPv4 byte */
	vlan_frame(2, adq);
	pb_truncate(&P, 14 + 8);
	run();
	expect_reason(DROP, PW_REASON_TRUNC_L3);
}

static void test_l2_other(void **state)
{
	CFG.mode = PW_MODE_ENFORCE;
	CFG.unchecked_drop = 0xffffffff;
	pb_init(&P);
	pb_eth(&P);
	pb_arp(&P);
	run();
	expect_reason(PASS, PW_REASON_ARP);
	assert_int_equal(R.ethertype, 0x0806);
	pb_init(&P);
	pb_eth(&P);
	pb_set_next(&P, 0x88cc); /* LLDP */
	pb_payload(&P, 30);
	run();
	expect_reason(PASS, PW_REASON_NON_IP);
	/* ARP behind a tag */
	pb_init(&P);
	pb_eth(&P);
	pb_vlan(&P, 0x8100, 5);
	pb_arp(&P);
	run();
	expect_reason(PASS, PW_REASON_ARP);
	/* 13 bytes */
	pb_init(&P);
	pb_eth(&P);
	pb_arp(&P);
	pb_truncate(&P, 13);
	run();
	expect_reason(DROP, PW_REASON_TRUNC_L2);
	pb_truncate(&P, 0);
	run();
	expect_reason(DROP, PW_REASON_TRUNC_L2);
	/* exactly 14 bytes of ARP: the ethertype is enough */
	pb_init(&P);
	pb_eth(&P);
	pb_arp(&P);
	pb_truncate(&P, 14);
	run();
	expect_reason(PASS, PW_REASON_ARP);
}

/* ------------------------------------------------------------------ */
/* IPv4                                                                */
/* ------------------------------------------------------------------ */

static void test_ipv4_options(void **state)
{
	uint8_t s[4], d[4];

	pb_addr4("198.18.1.1", s);
	pb_addr4("198.18.0.1", d);
	for (size_t opt = 0; opt <= 40; opt += 4) {
		pb_init(&P);
		pb_eth(&P);
		pb_ipv4_opts(&P, s, d, opt);
		pb_tcp(&P, 1, 3306);
		run();
		expect_slot(PASS, 1, R_APP, PW_VERDICT_ALLOW, 1);
		pb_finish(&P);
		/* one byte short of the L4 header; inside the options */
		CFG.mode = PW_MODE_ENFORCE;
		pb_truncate(&P, 14 + 20 + opt + 19);
		run();
		expect_reason(DROP, PW_REASON_TRUNC_L4);
		if (opt) {
			pb_truncate(&P, 14 + 20 + opt - 1);
			run();
			expect_reason(DROP, PW_REASON_TRUNC_L3);
		}
		pb_truncate(&P, 14 + 19);
		run();
		expect_reason(DROP, PW_REASON_TRUNC_L3);
		CFG.mode = PW_MODE_AUDIT;
	}
}

static void test_ipv4_bad(void **state)
{
	CFG.mode = PW_MODE_ENFORCE;
	v4("198.18.1.1");
	pb_tcp(&P, 1, 3306);
	pb_finish(&P);
	P.buf[14] = 0x55; /* version 5 */
	pw_classify(&C, &CFG, 0, P.buf, (uint32_t)P.len, &R);
	expect_reason(DROP, PW_REASON_BAD_L3);
	P.buf[14] = 0x44; /* ihl 4 */
	pw_classify(&C, &CFG, 0, P.buf, (uint32_t)P.len, &R);
	expect_reason(DROP, PW_REASON_BAD_L3);
	P.buf[14] = 0x60; /* an IPv6 header under an IPv4 ethertype */
	pw_classify(&C, &CFG, 0, P.buf, (uint32_t)P.len, &R);
	expect_reason(DROP, PW_REASON_BAD_L3);
	/* ihl 15 with only 20 + 20 bytes: the options run off the end */
	P.buf[14] = 0x4f;
	pw_classify(&C, &CFG, 0, P.buf, 14 + 59, &R);
	expect_reason(DROP, PW_REASON_TRUNC_L3);
	/* bad header checks come after the 20-byte check */
	P.buf[14] = 0x55;
	pw_classify(&C, &CFG, 0, P.buf, 14 + 19, &R);
	expect_reason(DROP, PW_REASON_TRUNC_L3);
	/* ihl 6: the L4 header moves 4 bytes */
	v4("198.18.1.1");
	pb_tcp(&P, 1, 3306);
	pb_finish(&P);
	P.buf[14] = 0x46;
	pw_classify(&C, &CFG, 0, P.buf, (uint32_t)P.len, &R);
	expect_reason(DROP, PW_REASON_TRUNC_L4);
}

static void test_ipv4_frag(void **state)
{
	v4("198.18.1.1");
	pb_tcp(&P, 1, 3306);
	pb_ipv4_frag(&P, 0, true); /* first fragment: judged */
	run();
	expect_slot(PASS, 1, R_APP, PW_VERDICT_ALLOW, 1);
	v4("198.18.1.1");
	pb_payload(&P, 24);
	pb_set_next(&P, 6);
	pb_ipv4_frag(&P, 185, true);
	CFG.mode = PW_MODE_ENFORCE;
	run();
	/* default mask passes non-first fragments even in enforce mode */
	expect_reason(PASS, PW_REASON_FRAG_NONFIRST);
	assert_int_equal(R.family, 4);
	CFG.unchecked_drop |= 1U << PW_REASON_FRAG_NONFIRST;
	run();
	expect_reason(DROP, PW_REASON_FRAG_NONFIRST);
	CFG.mode = PW_MODE_AUDIT;
	run();
	expect_reason(PASS, PW_REASON_FRAG_NONFIRST);
	/* last fragment (no MF) */
	pb_ipv4_frag(&P, 1, false);
	CFG.mode = PW_MODE_ENFORCE;
	run();
	expect_reason(DROP, PW_REASON_FRAG_NONFIRST);
	/* DF and reserved bits are not the offset */
	v4("198.18.1.1");
	pb_tcp(&P, 1, 3306);
	pb_finish(&P);
	P.buf[14 + 6] = 0xc0;
	pw_classify(&C, &CFG, 0, P.buf, (uint32_t)P.len, &R);
	expect_slot(PASS, 1, R_APP, PW_VERDICT_ALLOW, 1);
}

static void test_l4_truncated(void **state)
{
	static const struct {
		void (*push)(struct pb *, uint16_t, uint16_t);
		size_t hlen;
	} l4[] = { { pb_tcp, 20 }, { pb_udp, 8 }, { pb_sctp, 12 } };

	CFG.mode = PW_MODE_ENFORCE;
	for (size_t i = 0; i < 3; i++) {
		v4("198.18.1.1");
		l4[i].push(&P, 1, 3306);
		pb_finish(&P);
		pb_truncate(&P, 14 + 20 + l4[i].hlen);
		run();
		assert_int_equal(R.reason, PW_REASON_CLASSIFIED);
		pb_truncate(&P, 14 + 20 + l4[i].hlen - 1);
		run();
		expect_reason(DROP, PW_REASON_TRUNC_L4);
		pb_truncate(&P, 14 + 20);
		run();
		expect_reason(DROP, PW_REASON_TRUNC_L4);
	}
	v4("198.18.1.1");
	pb_icmp(&P, 8, 0);
	pb_finish(&P);
	pb_truncate(&P, 14 + 20 + 7);
	run();
	expect_reason(DROP, PW_REASON_TRUNC_L4);
	v6("2001:db8::5");
	pb_icmp6(&P, 135, 0);
	pb_finish(&P);
	pb_truncate(&P, 14 + 40 + 7);
	run();
	expect_reason(DROP, PW_REASON_TRUNC_L4);
	/* an unparsed protocol needs no L4 byte at all */
	v4("198.18.1.1");
	pb_set_next(&P, 47);
	run();
	expect_unnamed(DROP, 47, R_APP, 0, PW_VERDICT_DROP);
	/* the unchecked mask is honoured per reason */
	CFG.unchecked_drop = 1U << PW_REASON_TRUNC_L3;
	v4("198.18.1.1");
	pb_tcp(&P, 1, 3306);
	pb_finish(&P);
	pb_truncate(&P, 14 + 30);
	run();
	expect_reason(PASS, PW_REASON_TRUNC_L4);
	pb_truncate(&P, 14 + 10);
	run();
	expect_reason(DROP, PW_REASON_TRUNC_L3);
	/* bits outside the droppable mask never drop */
	CFG.unchecked_drop = ~PW_REASON_DROPPABLE_MASK;
	run();
	expect_reason(PASS, PW_REASON_TRUNC_L3);
	/* past the deadline, enforce is audit for unchecked reasons too */
	CFG.unchecked_drop = PW_UNCHECKED_DROP_DEFAULT;
	CFG.enforce_deadline_ns = 10;
	pw_classify(&C, &CFG, 11, P.buf, (uint32_t)P.len, &R);
	expect_reason(PASS, PW_REASON_TRUNC_L3);
	pw_classify(&C, &CFG, 10, P.buf, (uint32_t)P.len, &R);
	expect_reason(DROP, PW_REASON_TRUNC_L3);
}

/* ------------------------------------------------------------------ */
/* IPv6                                                                */
/* ------------------------------------------------------------------ */

static void test_ipv6_ext(void **state)
{
	v6("2001:db8:1::1");
	pb_v6_ext(&P, PB_V6_HOP, 8);
	pb_v6_ext(&P, PB_V6_ROUTING, 24);
	pb_v6_frag(&P, 0, true);
	pb_v6_ext(&P, PB_V6_AH, 24);
	pb_v6_ext(&P, PB_V6_DSTOPTS, 16);
	pb_tcp(&P, 1, 3306);
	run();
	expect_slot(PASS, 1, R_APP, PW_VERDICT_ALLOW, 1);
	assert_int_equal(R.ipproto, 6);

	/* six headers is the most the walk takes */
	v6("2001:db8:1::1");
	for (int i = 0; i < 6; i++)
		pb_v6_ext(&P, PB_V6_DSTOPTS, 8);
	pb_udp(&P, 1, 53);
	run();
	expect_slot(PASS, 3, R_APP, PW_VERDICT_ALLOW, 3);
	v6("2001:db8:1::1");
	for (int i = 0; i < 7; i++)
		pb_v6_ext(&P, PB_V6_DSTOPTS, 8);
	pb_udp(&P, 1, 53);
	CFG.mode = PW_MODE_ENFORCE;
	run();
	expect_reason(DROP, PW_REASON_EXTHDR_TOO_DEEP);
	/* too deep is decided without reading the seventh header */
	pb_finish(&P);
	pb_truncate(&P, 14 + 40 + 6 * 8);
	run();
	expect_reason(DROP, PW_REASON_EXTHDR_TOO_DEEP);
	/* six headers and an unparsed protocol after them */
	v6("2001:db8:1::1");
	for (int i = 0; i < 6; i++)
		pb_v6_ext(&P, PB_V6_AH, 12);
	pb_set_next(&P, 59); /* no next header */
	run();
	expect_unnamed(DROP, 59, R_APP, 0, PW_VERDICT_DROP);
}

static void test_ipv6_frag(void **state)
{
	v6("2001:db8:1::1");
	pb_v6_frag(&P, 0, true);
	pb_tcp(&P, 1, 3306);
	run();
	expect_slot(PASS, 1, R_APP, PW_VERDICT_ALLOW, 1);
	v6("2001:db8:1::1");
	pb_v6_ext(&P, PB_V6_HOP, 8);
	pb_v6_frag(&P, 1, false);
	pb_payload(&P, 16);
	CFG.mode = PW_MODE_ENFORCE;
	run();
	expect_reason(PASS, PW_REASON_FRAG_NONFIRST);
	assert_int_equal(R.family, 6);
	CFG.unchecked_drop = PW_REASON_DROPPABLE_MASK;
	run();
	expect_reason(DROP, PW_REASON_FRAG_NONFIRST);
	/* a fragment header needs all 8 bytes */
	v6("2001:db8:1::1");
	pb_v6_frag(&P, 0, false);
	pb_tcp(&P, 1, 3306);
	pb_finish(&P);
	pb_truncate(&P, 14 + 40 + 7);
	run();
	expect_reason(DROP, PW_REASON_TRUNC_L4);
}

/* Cut an IPv6 chain at every boundary and one byte short of it. */
static void test_ipv6_truncated(void **state)
{
	struct pb full;

	CFG.mode = PW_MODE_ENFORCE;
	v6("2001:db8:1::1");
	pb_v6_ext(&P, PB_V6_HOP, 16);
	pb_v6_ext(&P, PB_V6_AH, 16);
	pb_tcp(&P, 1, 3306);
	pb_finish(&P);
	full = P;
	/* marks: eth 0, ipv6 14, hop 54, ah 70, tcp 86; end 106 */
	static const struct {
		size_t len;
		enum pw_reason why;
	} cuts[] = {
		{ 0, PW_REASON_TRUNC_L2 },   { 13, PW_REASON_TRUNC_L2 },
		{ 14, PW_REASON_TRUNC_L3 },  { 53, PW_REASON_TRUNC_L3 },
		{ 54, PW_REASON_TRUNC_L4 },  { 55, PW_REASON_TRUNC_L4 },
		{ 56, PW_REASON_TRUNC_L4 },  /* hop read; AH at 70 missing */
		{ 69, PW_REASON_TRUNC_L4 },  { 71, PW_REASON_TRUNC_L4 },
		{ 72, PW_REASON_TRUNC_L4 },  /* AH read; TCP missing */
		{ 105, PW_REASON_TRUNC_L4 },
		{ 106, PW_REASON_CLASSIFIED },
	};
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		P = full;
		pb_truncate(&P, cuts[i].len);
		pw_classify(&C, &CFG, 0, P.buf, (uint32_t)P.len, &R);
		assert_int_equal(R.reason, cuts[i].why);
		assert_int_equal(R.action, cuts[i].why == PW_REASON_CLASSIFIED ?
						   PASS : DROP);
	}
	assert_int_equal(full.mark[2], 54);
	assert_int_equal(full.mark[3], 70);
	assert_int_equal(full.mark[4], 86);
}

static void test_ipv6_bad(void **state)
{
	CFG.mode = PW_MODE_ENFORCE;
	v6("2001:db8:1::1");
	pb_tcp(&P, 1, 3306);
	pb_finish(&P);
	P.buf[14] = 0x45;
	pw_classify(&C, &CFG, 0, P.buf, (uint32_t)P.len, &R);
	expect_reason(DROP, PW_REASON_BAD_L3);
	/* the extension header length byte is honoured */
	v6("2001:db8:1::1");
	pb_v6_ext(&P, PB_V6_ROUTING, 8);
	pb_tcp(&P, 1, 3306);
	pb_finish(&P);
	P.buf[14 + 40 + 1] = 1; /* claims 16 bytes: TCP header now cut */
	pw_classify(&C, &CFG, 0, P.buf, (uint32_t)P.len, &R);
	expect_reason(DROP, PW_REASON_TRUNC_L4);
}

/* ------------------------------------------------------------------ */
/* Explain helpers                                                     */
/* ------------------------------------------------------------------ */

static void test_build_packet(void **state)
{
	uint8_t buf[128], s[16], d[16];
	int n;

	pb_addr4("198.18.1.4", s);
	pb_addr4("198.18.0.1", d);
	n = pw_classify_build_packet(4, s, d, 6, 1234, 3306, buf, sizeof(buf));
	assert_int_equal(n, 54);
	pw_classify(&C, &CFG, 0, buf, n, &R);
	assert_int_equal(R.role, R_APP);
	assert_int_equal(R.port, 3306);
	assert_int_equal(R.sport, 1234);
	assert_int_equal(R.verdict, PW_VERDICT_ALLOW);
	pb_addr6("2001:db8:1:2::7", s);
	pb_addr6("2001:db8::1", d);
	n = pw_classify_build_packet(6, s, d, 58, 0, 128, buf, sizeof(buf));
	assert_int_equal(n, 62);
	pw_classify(&C, &CFG, 0, buf, n, &R);
	assert_int_equal(R.reason, PW_REASON_CLASSIFIED);
	assert_int_equal(R.counter, PW_COUNTER_SLOT);
	assert_int_equal(R.role, R_DB);
	assert_int_equal(R.seg, 6);
	n = pw_classify_build_packet(6, s, d, 17, 0, 53, buf, sizeof(buf));
	assert_int_equal(n, 62);
	n = pw_classify_build_packet(6, s, d, 47, 0, 0, buf, sizeof(buf));
	assert_int_equal(n, 62);
	pw_classify(&C, &CFG, 0, buf, n, &R);
	assert_int_equal(R.key.proto, 47);
	n = pw_classify_build_packet(6, s, d, 6, 1, 1, buf, 60);
	assert_int_equal(n, -1);
	n = pw_classify_build_packet(5, s, d, 6, 1, 1, buf, 128);
	assert_int_equal(n, -1);
}

static void describe_tuple(int family, const char *src, uint8_t proto,
			   uint16_t dport, char *out, size_t size)
{
	uint8_t buf[128], s[16], d[16] = { 0 };
	int n;

	if (family == 4)
		pb_addr4(src, s);
	else
		pb_addr6(src, s);
	n = pw_classify_build_packet(family, s, d, proto, 999, dport, buf,
				     sizeof(buf));
	assert_true(n > 0);
	pw_classify(&C, &CFG, 0, buf, n, &R);
	pw_classify_describe(&C, &R, out, size);
}

static void test_describe(void **state)
{
	char line[256];

	describe_tuple(4, "198.18.1.4", 6, 3306, line, sizeof(line));
	assert_string_equal(line, "tcp/3306 from 198.18.1.4 (role app): "
				  "allowed by rule 1 -> pass");
	describe_tuple(4, "198.20.0.1", 6, 4001, line, sizeof(line));
	assert_string_equal(line, "tcp/4001 from 198.20.0.1 (role unknown): "
				  "violation of rule 2, drop -> drop");
	describe_tuple(6, "2001:db8:1::9", 6, 2003, line, sizeof(line));
	assert_string_equal(line, "tcp/2003 from 2001:db8:1::9 (role app): "
				  "loopback-only port: violation of rule 4, "
				  "audit -> pass");
	describe_tuple(4, "198.19.0.1", 17, 9999, line, sizeof(line));
	assert_string_equal(line, "udp/9999 from 198.19.0.1 (role ops): "
				  "violation on a port no rule names, audit "
				  "-> pass");
	describe_tuple(4, "198.19.0.1", 1, 0, line, sizeof(line));
	assert_string_equal(line, "icmp type 0 from 198.19.0.1 (role ops): "
				  "violation on a port no rule names, audit "
				  "-> pass");
	describe_tuple(4, "198.19.0.1", 47, 0, line, sizeof(line));
	assert_string_equal(line, "ip proto 47 from 198.19.0.1 (role ops): "
				  "violation on a port no rule names, audit "
				  "-> pass");
	describe_tuple(6, "2001:db8::1", 58, 135, line, sizeof(line));
	assert_string_equal(line, "not classified: ndp (neighbour discovery "
				  "always passes) -> pass");
	assert_string_equal(pw_reason_name(PW_REASON_TRUNC_L4), "trunc-l4");
	assert_string_equal(pw_reason_name(PW_NREASON), "?");
	assert_string_equal(pw_verdict_name(PW_VERDICT_DROP), "drop");
	/* a short buffer still gets a terminated, cut line */
	describe_tuple(4, "198.18.1.4", 6, 3306, line, 10);
	assert_string_equal(line, "tcp/3306 ");
}

/* Random bytes never make the classifier read out of bounds (run under
 * ASan/valgrind to see it) and every result is self-consistent. */
static void test_fuzz_consistency(void **state)
{
	uint8_t *buf;
	uint32_t x = 12345;

	CFG.mode = PW_MODE_ENFORCE;
	for (int i = 0; i < 20000; i++) {
		uint32_t len = (x = x * 1103515245 + 12345) % 200;

		/* exact-size heap buffer so that an overread is caught */
		buf = malloc(len ? len : 1);
		for (uint32_t k = 0; k < len; k++)
			buf[k] = (uint8_t)((x = x * 1103515245 + 12345) >> 16);
		if (len > 13 && i % 2) {
			buf[12] = i % 4 ? 0x08 : 0x86;
			buf[13] = i % 4 ? 0x00 : 0xdd;
			if (len > 14)
				buf[14] = i % 4 ? 0x45 : 0x60;
		}
		pw_classify(&C, &CFG, 0, buf, len, &R);
		assert_true(R.reason < PW_NREASON);
		assert_true(R.action == PASS || R.action == DROP);
		if (R.counter != PW_COUNTER_NONE)
			assert_int_equal(R.reason, PW_REASON_CLASSIFIED);
		free(buf);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_v4_roles, reset_cfg),
		cmocka_unit_test_setup(test_v6_roles, reset_cfg),
		cmocka_unit_test_setup(test_v4_corrupt, reset_cfg),
		cmocka_unit_test_setup(test_allowed, reset_cfg),
		cmocka_unit_test_setup(test_named_violation, reset_cfg),
		cmocka_unit_test_setup(test_range, reset_cfg),
		cmocka_unit_test_setup(test_rule_enforce_in_audit, reset_cfg),
		cmocka_unit_test_setup(test_rule_audit_in_enforce, reset_cfg),
		cmocka_unit_test_setup(test_unnamed, reset_cfg),
		cmocka_unit_test_setup(test_unnamed_full, reset_cfg),
		cmocka_unit_test_setup(test_udp_sctp, reset_cfg),
		cmocka_unit_test_setup(test_icmp, reset_cfg),
		cmocka_unit_test_setup(test_icmpv6, reset_cfg),
		cmocka_unit_test_setup(test_vlan, reset_cfg),
		cmocka_unit_test_setup(test_l2_other, reset_cfg),
		cmocka_unit_test_setup(test_ipv4_options, reset_cfg),
		cmocka_unit_test_setup(test_ipv4_bad, reset_cfg),
		cmocka_unit_test_setup(test_ipv4_frag, reset_cfg),
		cmocka_unit_test_setup(test_l4_truncated, reset_cfg),
		cmocka_unit_test_setup(test_ipv6_ext, reset_cfg),
		cmocka_unit_test_setup(test_ipv6_frag, reset_cfg),
		cmocka_unit_test_setup(test_ipv6_truncated, reset_cfg),
		cmocka_unit_test_setup(test_ipv6_bad, reset_cfg),
		cmocka_unit_test_setup(test_build_packet, reset_cfg),
		cmocka_unit_test_setup(test_describe, reset_cfg),
		cmocka_unit_test_setup(test_fuzz_consistency, reset_cfg),
	};

	return cmocka_run_group_tests(tests, setup_tables, teardown_tables);
}
