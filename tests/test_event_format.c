// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_event_format.c - violation events as text and JSON lines, and
 * the loss reports, from crafted struct pw_event values (no kernel).
 *
 * The clock offset is fixed and TZ is UTC, so every line is compared
 * whole.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "compile.h"
#include "events.h"
#include "policy.h"
#include "testutil.h"

static const char policy_text[] =
	"policy evtest \"event tests\"\n"
	"role app \"application\"\n"
	"role db \"database\"\n"
	"role ops \"operators\"\n"
	"allow tcp 3306 from app to db note \"client \\\"port\\\"\"\n"
	"loopback tcp 2003 on db note \"carbon, loopback only\"\n"
	"allow icmp 8 from app to db note \"ping\"\n"
	"allow tcp 443 from db to app note \"egress to app\"\n";

/* 2026-11-21T10:15:03Z, plus 120 ms: ts_ns below is 5 s + 120 ms. */
#define WALL_S 1795256103LL
#define TS_NS 5120000000ULL

struct fixture {
	struct pw_policy pol;
	struct pw_inventory inv;
	struct pw_compiled c;
	struct pw_event_ctx ctx;
	uint16_t app, db, ops;
};

static int setup(void **state)
{
	static const char *const host[] = { "db" };
	struct pw_compile_opts opts = { .host_roles = host, .nhost_roles = 1 };
	struct fixture *f = calloc(1, sizeof(*f));
	struct pw_diags d = { 0 };

	setenv("TZ", "UTC", 1);
	tzset();
	assert_non_null(f);
	assert_int_equal(pw_policy_parse_buffer("ev.policy", policy_text,
						&f->pol, &d),
			 0);
	assert_int_equal(pw_inventory_parse_buffer("ev.inventory",
						   "app 198.18.1.0/24\n",
						   &f->pol, &f->inv, &d),
			 0);
	assert_int_equal(pw_compile(&f->pol, &f->inv, &opts, &f->c, &d), 0);
	pw_diags_free(&d);
	f->ctx.iface = "eth0";
	f->ctx.roles = f->c.role_names;
	f->ctx.nroles = f->c.nroles;
	f->ctx.c = &f->c;
	f->ctx.mono_to_wall_ns =
		WALL_S * 1000000000LL - (int64_t)(TS_NS - 120000000ULL);
	f->app = role_id(&f->c, "app");
	f->db = role_id(&f->c, "db");
	f->ops = role_id(&f->c, "ops");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pw_compiled_free(&f->c);
	pw_inventory_free(&f->inv);
	pw_policy_free(&f->pol);
	free(f);
	return 0;
}

static void addr4(__u32 out[4], const char *s)
{
	memset(out, 0, 16);
	assert_int_equal(inet_pton(AF_INET, s, out), 1);
}

static void addr6(__u32 out[4], const char *s)
{
	assert_int_equal(inet_pton(AF_INET6, s, out), 1);
}

static struct pw_event event4(const char *src, uint16_t sport,
			      const char *dst, uint16_t dport, uint8_t proto)
{
	struct pw_event e = {
		.ts_ns = TS_NS,
		.ifindex = 7,
		.dir = PW_DIR_INGRESS,
		.family = 4,
		.proto = proto,
		.verdict = PW_VERDICT_AUDIT,
		.sport = sport,
		.dport = dport,
		.kind = PW_EVENT_UNNAMED_PORT,
		.tcp_flags = proto == PW_IPPROTO_TCP ? 0x02 : 0,
	};

	addr4(e.saddr, src);
	addr4(e.daddr, dst);
	return e;
}

static struct pw_event event6(const char *src, uint16_t sport,
			      const char *dst, uint16_t dport, uint8_t proto)
{
	struct pw_event e = event4("0.0.0.0", sport, "0.0.0.0", dport, proto);

	e.family = 6;
	addr6(e.saddr, src);
	addr6(e.daddr, dst);
	return e;
}

static void expect_text(const struct fixture *f, const struct pw_event *e,
			const char *want)
{
	char buf[1024];
	int n = pw_event_format_text(e, &f->ctx, buf, sizeof(buf));

	assert_string_equal(buf, want);
	assert_int_equal(n, (int)strlen(want));
}

static char *json_of(const struct fixture *f, const struct pw_event *e)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);

	assert_non_null(m);
	pw_event_print_json(e, &f->ctx, m);
	fclose(m);
	return text;
}

/* ------------------------------------------------------------------ */
/* Text                                                                */
/* ------------------------------------------------------------------ */

static void test_text_v4_not_allowed(void **state)
{
	struct fixture *f = *state;
	struct pw_event e = event4("198.18.3.2", 40000, "198.18.2.10", 3306,
				   PW_IPPROTO_TCP);

	e.role = f->ops;
	e.kind = PW_EVENT_NOT_ALLOWED;
	e.rule_id = 1;
	expect_text(f, &e,
		    "2026-11-21T10:15:03.120+0000 eth0 ingress "
		    "198.18.3.2:40000 -> 198.18.2.10:3306 tcp from ops: "
		    "audited, role not allowed by rule 1 "
		    "\"client \"port\"\" (ev.policy:5)");
}

static void test_text_v6_unnamed_drop_repeats(void **state)
{
	struct fixture *f = *state;
	struct pw_event e = event6("2001:db8:1::20", 51000, "2001:db8:2::10",
				   8080, PW_IPPROTO_TCP);

	e.role = f->app;
	e.verdict = PW_VERDICT_DROP;
	e.repeats = 5;
	expect_text(f, &e,
		    "2026-11-21T10:15:03.120+0000 eth0 ingress "
		    "[2001:db8:1::20]:51000 -> [2001:db8:2::10]:8080 tcp "
		    "from app: dropped, unnamed port; 5 repeats");
}

static void test_text_loopback(void **state)
{
	struct fixture *f = *state;
	struct pw_event e = event4("198.18.1.20", 3000, "198.18.2.10", 2003,
				   PW_IPPROTO_UDP);

	e.role = f->app;
	e.kind = PW_EVENT_LOOPBACK;
	e.rule_id = 2;
	expect_text(f, &e,
		    "2026-11-21T10:15:03.120+0000 eth0 ingress "
		    "198.18.1.20:3000 -> 198.18.2.10:2003 udp from app: "
		    "audited, loopback-only port of rule 2 "
		    "\"carbon, loopback only\" (ev.policy:6)");
}

static void test_text_stray_ack(void **state)
{
	struct fixture *f = *state;
	struct pw_event e = event4("198.18.9.9", 40001, "198.18.2.10", 22,
				   PW_IPPROTO_TCP);

	e.tcp_flags = 0x10;
	expect_text(f, &e,
		    "2026-11-21T10:15:03.120+0000 eth0 ingress "
		    "198.18.9.9:40001 -> 198.18.2.10:22 tcp from unknown: "
		    "audited, unnamed port; stray TCP ACK: a connection older "
		    "than the load, or whose flow record expired");
	/* SYN+ACK is a reply, not a stray ACK; FIN+ACK is one */
	e.tcp_flags = 0x12;
	assert_false(pw_event_stray_ack(&e));
	e.tcp_flags = 0x11;
	assert_true(pw_event_stray_ack(&e));
	e.proto = PW_IPPROTO_UDP;
	assert_false(pw_event_stray_ack(&e));
}

static void test_text_icmp_and_other(void **state)
{
	struct fixture *f = *state;
	struct pw_event e = event4("198.18.3.2", 77, "198.18.2.10", 8,
				   PW_IPPROTO_ICMP);

	e.role = f->ops;
	e.kind = PW_EVENT_NOT_ALLOWED;
	e.rule_id = 3;
	expect_text(f, &e,
		    "2026-11-21T10:15:03.120+0000 eth0 ingress "
		    "198.18.3.2 -> 198.18.2.10 icmp type 8 from ops: audited, "
		    "role not allowed by rule 3 \"ping\" (ev.policy:7)");

	e = event6("2001:db8:3::1", 0, "2001:db8:2::10", 0, 47);
	e.role = 9; /* no name */
	expect_text(f, &e,
		    "2026-11-21T10:15:03.120+0000 eth0 ingress "
		    "2001:db8:3::1 -> 2001:db8:2::10 proto-47 from role#9: "
		    "audited, unnamed port");
}

static void test_text_egress(void **state)
{
	struct fixture *f = *state;
	struct pw_event e = event4("198.18.2.10", 45000, "198.18.9.9", 443,
				   PW_IPPROTO_TCP);

	e.dir = PW_DIR_EGRESS;
	expect_text(f, &e,
		    "2026-11-21T10:15:03.120+0000 eth0 egress "
		    "198.18.2.10:45000 -> 198.18.9.9:443 tcp to unknown: "
		    "audited, unnamed port");
	e.role = f->app;
	e.kind = PW_EVENT_NOT_ALLOWED;
	e.rule_id = 4;
	e.verdict = PW_VERDICT_DROP;
	expect_text(f, &e,
		    "2026-11-21T10:15:03.120+0000 eth0 egress "
		    "198.18.2.10:45000 -> 198.18.9.9:443 tcp to app: "
		    "dropped, role not allowed by rule 4 \"egress to app\" "
		    "(ev.policy:8)");
}

static void test_text_without_policy(void **state)
{
	struct fixture *f = *state;
	struct pw_event_ctx bare = {
		.mono_to_wall_ns = f->ctx.mono_to_wall_ns,
	};
	struct pw_event e = event4("198.18.3.2", 40000, "198.18.2.10", 3306,
				   PW_IPPROTO_SCTP);
	char buf[1024];

	e.role = 2;
	e.kind = PW_EVENT_NOT_ALLOWED;
	e.rule_id = 1;
	pw_event_format_text(&e, &bare, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-21T10:15:03.120+0000 if7 ingress "
				 "198.18.3.2:40000 -> 198.18.2.10:3306 sctp "
				 "from role#2: audited, role not allowed by "
				 "rule 1");
}

static void test_text_truncates(void **state)
{
	struct fixture *f = *state;
	struct pw_event e = event4("198.18.3.2", 40000, "198.18.2.10", 3306,
				   PW_IPPROTO_TCP);
	char full[1024], small[20];
	int n;

	n = pw_event_format_text(&e, &f->ctx, full, sizeof(full));
	assert_int_equal(pw_event_format_text(&e, &f->ctx, small,
					      sizeof(small)),
			 n);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_memory_equal(small, full, sizeof(small) - 1);
}

static void test_time_local_zone(void **state)
{
	struct fixture *f = *state;
	char buf[64];

	setenv("TZ", "CET-1", 1);
	tzset();
	pw_event_time_text(&f->ctx, TS_NS, false, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-21T11:15:03.120+0100");
	pw_event_time_text(&f->ctx, TS_NS, true, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-21T10:15:03.120Z");
	setenv("TZ", "UTC", 1);
	tzset();
}

/* ------------------------------------------------------------------ */
/* JSON                                                                */
/* ------------------------------------------------------------------ */

static void test_json_v4(void **state)
{
	struct fixture *f = *state;
	struct pw_event e = event4("198.18.3.2", 40000, "198.18.2.10", 3306,
				   PW_IPPROTO_TCP);
	char *json;

	e.role = f->ops;
	e.kind = PW_EVENT_NOT_ALLOWED;
	e.rule_id = 1;
	e.repeats = 3;
	json = json_of(f, &e);
	assert_string_equal(
		json,
		"{\"type\":\"event\",\"time\":\"2026-11-21T10:15:03.120Z\","
		"\"ts_ns\":5120000000,\"iface\":\"eth0\",\"ifindex\":7,"
		"\"dir\":\"ingress\",\"family\":4,\"proto\":\"tcp\","
		"\"src\":\"198.18.3.2\",\"sport\":40000,"
		"\"dst\":\"198.18.2.10\",\"dport\":3306,\"role\":\"ops\","
		"\"role_id\":3,\"verdict\":\"audit\",\"kind\":\"not-allowed\","
		"\"reason\":\"role not allowed\",\"rule_id\":1,"
		"\"rule_note\":\"client \\\"port\\\"\","
		"\"rule_line\":\"ev.policy:5\",\"tcp_flags\":2,"
		"\"stray_ack\":false,\"repeats\":3}\n");
	free(json);
}

static void test_json_v6_unnamed(void **state)
{
	struct fixture *f = *state;
	struct pw_event e = event6("2001:db8:1::20", 51000, "2001:db8:2::10",
				   8080, PW_IPPROTO_TCP);
	char *json;

	e.dir = PW_DIR_EGRESS;
	e.verdict = PW_VERDICT_DROP;
	e.tcp_flags = 0x10;
	json = json_of(f, &e);
	assert_string_equal(
		json,
		"{\"type\":\"event\",\"time\":\"2026-11-21T10:15:03.120Z\","
		"\"ts_ns\":5120000000,\"iface\":\"eth0\",\"ifindex\":7,"
		"\"dir\":\"egress\",\"family\":6,\"proto\":\"tcp\","
		"\"src\":\"2001:db8:1::20\",\"sport\":51000,"
		"\"dst\":\"2001:db8:2::10\",\"dport\":8080,"
		"\"role\":\"unknown\",\"role_id\":0,\"verdict\":\"drop\","
		"\"kind\":\"unnamed-port\",\"reason\":\"unnamed port\","
		"\"rule_id\":null,\"tcp_flags\":16,\"stray_ack\":true,"
		"\"repeats\":0}\n");
	free(json);
}

static void test_json_loopback_icmp6(void **state)
{
	struct fixture *f = *state;
	struct pw_event e = event6("2001:db8:1::20", 9, "2001:db8:2::10", 2003,
				   PW_IPPROTO_UDP);
	char *json;

	e.kind = PW_EVENT_LOOPBACK;
	e.rule_id = 2;
	e.role = f->app;
	json = json_of(f, &e);
	assert_non_null(strstr(json, "\"kind\":\"loopback\","
				     "\"reason\":\"loopback-only port\","
				     "\"rule_id\":2,"
				     "\"rule_note\":\"carbon, loopback only\","
				     "\"rule_line\":\"ev.policy:6\""));
	free(json);

	e = event6("2001:db8:1::20", 0, "2001:db8:2::10", 128,
		   PW_IPPROTO_ICMPV6);
	json = json_of(f, &e);
	assert_non_null(strstr(json, "\"proto\":\"icmpv6\","
				     "\"src\":\"2001:db8:1::20\",\"sport\":0,"
				     "\"dst\":\"2001:db8:2::10\","
				     "\"dport\":128,"));
	assert_int_equal(strcspn(json, "\n"), strlen(json) - 1);
	free(json);
}

/* ------------------------------------------------------------------ */
/* Losses                                                              */
/* ------------------------------------------------------------------ */

static void test_loss(void **state)
{
	struct fixture *f = *state;
	__u64 stats[PW_NSTAT] = { 0 };
	struct pw_event_counts a, b;
	char buf[512], *json = NULL;
	size_t len = 0;
	FILE *m;

	stats[PW_STAT_EVENT_SENT] = 10;
	stats[PW_STAT_EVENT_RATE_LIMITED] = 4;
	stats[PW_STAT_EVENT_LOST] = 1;
	stats[PW_STAT_EVENT_REPEAT] = 30;
	stats[PW_STAT_FLOW_INSERT] = 99;
	pw_event_counts_from_stats(stats, &a);
	assert_int_equal(a.sent, 10);
	assert_int_equal(a.rate_limited, 4);
	assert_int_equal(a.lost, 1);
	assert_int_equal(a.repeat, 30);

	b = a;
	b.sent = 20;
	b.repeat = 31;
	assert_false(pw_event_loss_moved(&a, &b)); /* only sent and repeat */
	b.lost = 3;
	assert_true(pw_event_loss_moved(&a, &b));
	b.lost = 1;
	b.rate_limited = 5;
	assert_true(pw_event_loss_moved(&a, &b));
	b.lost = 3;

	pw_event_loss_text(&f->ctx, &a, &b, 10, buf, sizeof(buf));
	assert_string_equal(buf, "eth0: 2 events lost (ring buffer full), 1 "
				 "rate-limited in the last 10 s (totals: 20 "
				 "sent, 3 lost, 5 rate-limited)");

	m = open_memstream(&json, &len);
	pw_event_loss_print_json(&f->ctx, &a, &b, 10,
				 (uint64_t)WALL_S * 1000000000ULL, m);
	fclose(m);
	assert_string_equal(
		json, "{\"type\":\"loss\",\"time\":\"2026-11-21T10:15:03.000Z\","
		      "\"iface\":\"eth0\",\"seconds\":10,\"sent\":10,\"lost\":2,"
		      "\"rate_limited\":1,\"repeat\":1,\"total\":{\"sent\":20,"
		      "\"lost\":3,\"rate_limited\":5,\"repeat\":31}}\n");
	free(json);
}

static void test_names(void **state)
{
	assert_string_equal(pw_event_kind_name(PW_EVENT_NOT_ALLOWED),
			    "not-allowed");
	assert_string_equal(pw_event_kind_name(PW_EVENT_UNNAMED_PORT),
			    "unnamed-port");
	assert_string_equal(pw_event_kind_name(PW_EVENT_LOOPBACK), "loopback");
	assert_string_equal(pw_event_kind_name(0), "unknown-kind");
	assert_string_equal(pw_event_verdict_text(PW_VERDICT_AUDIT), "audited");
	assert_string_equal(pw_event_verdict_text(PW_VERDICT_DROP), "dropped");
	assert_string_equal(pw_event_verdict_name(PW_VERDICT_DROP), "drop");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_v4_not_allowed),
		cmocka_unit_test(test_text_v6_unnamed_drop_repeats),
		cmocka_unit_test(test_text_loopback),
		cmocka_unit_test(test_text_stray_ack),
		cmocka_unit_test(test_text_icmp_and_other),
		cmocka_unit_test(test_text_egress),
		cmocka_unit_test(test_text_without_policy),
		cmocka_unit_test(test_text_truncates),
		cmocka_unit_test(test_time_local_zone),
		cmocka_unit_test(test_json_v4),
		cmocka_unit_test(test_json_v6_unnamed),
		cmocka_unit_test(test_json_loopback_icmp6),
		cmocka_unit_test(test_loss),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
