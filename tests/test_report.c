// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_report.c - stats rows and their text, JSON and Prometheus forms,
 * from hand-made counter snapshots (no kernel, no root).
 *
 * The snapshot is what pw_snap_read() would find in maps loaded with the
 * compiled policy below: slot keys and rule entries from the compiled
 * tables, counters set by each test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "compile.h"
#include "report.h"
#include "testutil.h"

#define IN PW_DIR_INGRESS
#define EG PW_DIR_EGRESS

static const char *policy_text =
	"policy shop \"a small shop\"\n"
	"role app \"application servers\"\n"
	"role db \"database servers\"\n"
	"role op \"operator\"\n"
	"allow tcp 3306 from app to db note \"mysql, \\\"main\\\" pool\"\n"
	"allow tcp 22 from op to db note \"ssh\"\n"
	"allow icmp 8 from any to db note \"ping\"\n"
	"allow udp 4000-4003 from app to db note \"stats\"\n"
	"allow tcp 8080 from db to app note \"callbacks\"\n";

static const char *inventory_text = "app 198.18.1.0/24\n"
				    "db 198.18.2.0/24\n"
				    "op 198.18.9.7\n";

struct fx {
	struct pw_policy pol;
	struct pw_inventory inv;
	struct pw_compiled c;
	struct pw_snap s;
	struct pw_report r;
	char *out;
	size_t outlen;
};

/* The slot of (dir, proto, role, lo, hi). */
static struct pw_snap_slot *slot_of(struct fx *f, unsigned dir, unsigned proto,
				    const char *role, unsigned lo, unsigned hi)
{
	uint32_t id = role_id(&f->c, role), i;

	for (i = 0; i < f->s.nslots; i++) {
		const struct pw_counter_key *k = &f->s.slots[i].key;

		if (k->dir == dir && k->proto == proto && k->role == id &&
		    k->port_lo == lo && k->port_hi == hi)
			return &f->s.slots[i];
	}
	fail_msg("no slot for %u/%u/%s/%u-%u", dir, proto, role, lo, hi);
	return NULL;
}

static void set(struct pw_snap_slot *sl, unsigned verdict, uint64_t packets,
		uint64_t bytes)
{
	sl->sum[verdict].packets = packets;
	sl->sum[verdict].bytes = bytes;
}

/* What pw_snap_read() would read from maps holding @c, counters zero. */
static void snap_from_compiled(struct pw_snap *s, const struct pw_compiled *c)
{
	uint32_t dir, seg, role, i;

	memset(s, 0, sizeof(*s));
	s->nslots = c->nslots;
	s->slots = calloc(c->nslots, sizeof(*s->slots));
	assert_non_null(s->slots);
	for (i = 0; i < c->nslots; i++)
		s->slots[i].key = c->slots[i];
	for (dir = 0; dir < PW_NDIR; dir++) {
		for (seg = 1; seg < c->nsegs[dir]; seg++) {
			for (role = 0; role < c->nroles; role++) {
				const struct pw_rule_entry *e =
					pw_compiled_entry(c, dir, seg, role);
				struct pw_snap_slot *sl = &s->slots[e->slot];

				sl->in_force = true;
				sl->rule_id = e->rule_id;
				sl->entry_flags = e->flags;
			}
		}
	}
	s->nroles = c->nroles;
	s->roles = calloc(c->nroles, sizeof(*s->roles));
	assert_non_null(s->roles);
	memcpy(s->roles, c->role_names, c->nroles * sizeof(*s->roles));
	s->cfg.mode = PW_MODE_AUDIT;
	s->gen = c->info;
	s->gen.policy_digest = 0x0123456789abcdefULL;
}

static void add_unnamed(struct pw_snap *s, unsigned proto, unsigned role,
			unsigned port, unsigned verdict, uint64_t packets,
			uint64_t bytes)
{
	struct pw_snap_unnamed *u;

	s->unnamed = realloc(s->unnamed, (s->nunnamed + 1) * sizeof(*u));
	assert_non_null(s->unnamed);
	u = &s->unnamed[s->nunnamed++];
	memset(u, 0, sizeof(*u));
	u->key.dir = IN;
	u->key.proto = proto;
	u->key.role = role;
	u->key.port_lo = u->key.port_hi = port;
	u->key.verdict = verdict;
	u->sum.packets = packets;
	u->sum.bytes = bytes;
}

static int setup(void **state)
{
	static const char *const host[] = { "db" };
	struct pw_compile_opts o = { .host_roles = host, .nhost_roles = 1 };
	struct pw_diags d = { 0 };
	struct fx *f = calloc(1, sizeof(*f));
	int rc;

	assert_non_null(f);
	rc = pw_policy_parse_buffer("shop.policy", policy_text, &f->pol, &d);
	if (!rc)
		rc = pw_inventory_parse_buffer("shop.inventory", inventory_text,
					       &f->pol, &f->inv, &d);
	if (!rc)
		rc = pw_compile(&f->pol, &f->inv, &o, &f->c, &d);
	if (rc)
		pw_diags_print(&d, stderr);
	pw_diags_free(&d);
	assert_int_equal(rc, 0);
	snap_from_compiled(&f->s, &f->c);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	pw_report_free(&f->r);
	pw_snap_free(&f->s);
	pw_compiled_free(&f->c);
	pw_inventory_free(&f->inv);
	pw_policy_free(&f->pol);
	free(f->out);
	free(f);
	return 0;
}

/*
 * The traffic every rendering test sees:
 *   app -> tcp/3306 allowed 120 packets; op -> tcp/22 allowed 5;
 *   app -> icmp/8 allowed 7; unknown -> tcp/3306 audited 3;
 *   unknown -> tcp/23 (no rule) audited 7; db -> app tcp/8080 (egress) 2;
 *   4 ARP frames, and the sum of the above as judged.
 */
static void fill_traffic(struct fx *f)
{
	set(slot_of(f, IN, 6, "app", 3306, 3306), PW_VERDICT_ALLOW, 120,
	    14400);
	set(slot_of(f, IN, 6, "op", 22, 22), PW_VERDICT_ALLOW, 5, 330);
	set(slot_of(f, IN, 1, "app", 8, 8), PW_VERDICT_ALLOW, 7, 686);
	set(slot_of(f, IN, 6, "unknown", 3306, 3306), PW_VERDICT_AUDIT, 3,
	    180);
	set(slot_of(f, EG, 6, "app", 8080, 8080), PW_VERDICT_ALLOW, 2, 148);
	add_unnamed(&f->s, 6, 0, 23, PW_VERDICT_AUDIT, 7, 420);
	f->s.reasons[PW_REASON_CLASSIFIED].packets = 144;
	f->s.reasons[PW_REASON_CLASSIFIED].bytes = 16164;
	f->s.reasons[PW_REASON_ARP].packets = 4;
	f->s.reasons[PW_REASON_ARP].bytes = 240;
}

static void build(struct fx *f, enum pw_report_filter filter,
		  enum pw_notes notes, bool with_policy)
{
	struct pw_report_opts o = { .filter = filter, .notes = notes };

	pw_report_free(&f->r);
	assert_int_equal(pw_report_build(&f->s, with_policy ? &f->c : NULL,
					 &o, &f->r),
			 0);
	f->r.iface = "eth0";
	f->r.policy = "shop";
}

static FILE *capture(struct fx *f)
{
	FILE *fp;

	free(f->out);
	f->out = NULL;
	fp = open_memstream(&f->out, &f->outlen);
	assert_non_null(fp);
	return fp;
}

/* f->r in Prometheus form, into f->out. */
static void render_prometheus(struct fx *f)
{
	FILE *fp = capture(f);

	pw_report_print_prometheus(&f->r, fp);
	fclose(fp);
}

static void expect_output(struct fx *f, FILE *fp, const char *want)
{
	fclose(fp);
	if (strcmp(f->out, want))
		fprintf(stderr, "--- want\n%s--- got\n%s---\n", want, f->out);
	assert_string_equal(f->out, want);
}

/* ------------------------------------------------------------- rows -- */

static void test_rows_sorted_named(void **state)
{
	struct fx *f = *state;
	const struct pw_report_row *r;

	fill_traffic(f);
	build(f, PW_REPORT_ALL, PW_NOTES_CURRENT, true);
	assert_int_equal(f->r.nrows, 6);
	r = f->r.rows;
	/* 120 app tcp/3306 allow, rule 1 */
	assert_int_equal(r[0].sum.packets, 120);
	assert_string_equal(r[0].role, "app");
	assert_int_equal(r[0].rule_id, 1);
	assert_string_equal(r[0].note, "mysql, \"main\" pool");
	/* two rows of 7: icmp (proto 1) sorts before tcp (proto 6) */
	assert_int_equal(r[1].sum.packets, 7);
	assert_int_equal(r[1].key.proto, 1);
	assert_int_equal(r[1].rule_id, 3);
	assert_int_equal(r[2].sum.packets, 7);
	assert_true(r[2].unnamed);
	assert_int_equal(r[2].key.port_lo, 23);
	assert_int_equal(r[2].rule_id, 0);
	assert_string_equal(r[2].note, PW_NOTE_NO_RULE);
	assert_string_equal(r[2].role, "unknown");
	assert_int_equal(r[3].sum.packets, 5);
	assert_string_equal(r[3].note, "ssh");
	/* violation on a named port: the rule naming it */
	assert_int_equal(r[4].sum.packets, 3);
	assert_int_equal(r[4].key.verdict, PW_VERDICT_AUDIT);
	assert_int_equal(r[4].rule_id, 1);
	assert_int_equal(r[5].key.dir, EG);
	assert_string_equal(r[5].note, "callbacks");
	assert_int_equal(f->r.digest, 0x0123456789abcdefULL);
}

static void test_violations_only(void **state)
{
	struct fx *f = *state;

	fill_traffic(f);
	build(f, PW_REPORT_VIOLATIONS, PW_NOTES_CURRENT, true);
	assert_int_equal(f->r.nrows, 2);
	assert_int_equal(f->r.rows[0].key.port_lo, 23);
	assert_int_equal(f->r.rows[1].key.port_lo, 3306);
	assert_int_equal(f->r.rows[1].key.verdict, PW_VERDICT_AUDIT);
}

static void test_zero_rows_omitted(void **state)
{
	struct fx *f = *state;

	/* bytes without packets cannot happen, but must not make a row */
	set(slot_of(f, IN, 6, "app", 3306, 3306), PW_VERDICT_DROP, 0, 60);
	build(f, PW_REPORT_ALL, PW_NOTES_CURRENT, true);
	assert_int_equal(f->r.nrows, 0);
}

/* Equal packet counts keep the key order, whatever the input order. */
static void test_ties_by_key(void **state)
{
	struct fx *f = *state;

	add_unnamed(&f->s, 17, 0, 9000, PW_VERDICT_DROP, 1, 60);
	add_unnamed(&f->s, 6, 2, 9000, PW_VERDICT_AUDIT, 1, 60);
	add_unnamed(&f->s, 6, 1, 9000, PW_VERDICT_AUDIT, 1, 60);
	add_unnamed(&f->s, 6, 1, 25, PW_VERDICT_AUDIT, 1, 60);
	build(f, PW_REPORT_ALL, PW_NOTES_CURRENT, true);
	assert_int_equal(f->r.nrows, 4);
	assert_int_equal(f->r.rows[0].key.port_lo, 25);
	assert_int_equal(f->r.rows[1].key.role, 1);
	assert_int_equal(f->r.rows[2].key.role, 2);
	assert_int_equal(f->r.rows[3].key.proto, 17);
}

static void test_without_policy(void **state)
{
	struct fx *f = *state;

	fill_traffic(f);
	build(f, PW_REPORT_ALL, PW_NOTES_CURRENT, false);
	assert_int_equal(f->r.notes, PW_NOTES_UNAVAILABLE);
	assert_false(f->r.have_policy);
	assert_int_equal(f->r.nrows, 6);
	/* rule ids come from the maps, so they stay */
	assert_int_equal(f->r.rows[0].rule_id, 1);
	assert_string_equal(f->r.rows[0].note, PW_NOTE_UNAVAILABLE);
	/* a violation without a rule needs no policy to say so */
	assert_string_equal(f->r.rows[2].note, PW_NOTE_NO_RULE);
}

/* A slot no entry in force uses (kept from an earlier policy). */
static void test_slot_of_earlier_policy(void **state)
{
	struct fx *f = *state;
	struct pw_snap_slot *sl = slot_of(f, IN, 6, "op", 22, 22);

	set(sl, PW_VERDICT_ALLOW, 9, 540);
	sl->in_force = false;
	build(f, PW_REPORT_ALL, PW_NOTES_CURRENT, true);
	assert_int_equal(f->r.nrows, 1);
	assert_int_equal(f->r.rows[0].rule_id, 0);
	assert_string_equal(f->r.rows[0].note, PW_NOTE_GONE);
}

/* Role ids past the names read (a gap) still get a readable name. */
static void test_role_without_name(void **state)
{
	struct fx *f = *state;

	add_unnamed(&f->s, 6, 40, 99, PW_VERDICT_AUDIT, 1, 60);
	build(f, PW_REPORT_ALL, PW_NOTES_CURRENT, true);
	assert_int_equal(f->r.nrows, 1);
	assert_string_equal(f->r.rows[0].role, "role#40");
}

static void test_unused(void **state)
{
	struct fx *f = *state;
	const struct pw_report_unused *u;

	fill_traffic(f);
	build(f, PW_REPORT_ALL, PW_NOTES_CURRENT, true);
	/*
	 * Never hit: udp 4000-4003 (rule 4), and ping sent by this host
	 * ("from any" makes rule 3 apply on egress too, to role db).  The
	 * list follows the effective rules: ingress first, file order.
	 */
	assert_int_equal(f->r.nunused, 2);
	u = &f->r.unused[0];
	assert_int_equal(u->eff->rule_id, 4);
	assert_int_equal(u->eff->dir, IN);
	assert_int_equal(u->nslots, 1);
	u = &f->r.unused[1];
	assert_int_equal(u->eff->rule_id, 3);
	assert_int_equal(u->eff->dir, EG);

	/* violations do not count as use: 3306 from unknown is not a hit */
	set(slot_of(f, IN, 6, "app", 3306, 3306), PW_VERDICT_ALLOW, 0, 0);
	set(slot_of(f, EG, 1, "db", 8, 8), PW_VERDICT_ALLOW, 1, 98);
	build(f, PW_REPORT_ALL, PW_NOTES_CURRENT, true);
	assert_int_equal(f->r.nunused, 2);
	assert_int_equal(f->r.unused[0].eff->rule_id, 1);
	assert_int_equal(f->r.unused[1].eff->rule_id, 4);
}

/* ------------------------------------------------------------- text -- */

static void test_text(void **state)
{
	struct fx *f = *state;
	FILE *fp;

	fill_traffic(f);
	build(f, PW_REPORT_ALL, PW_NOTES_CURRENT, true);
	fp = capture(f);
	pw_report_print_text(&f->r, fp);
	expect_output(f, fp,
		"Interface eth0: policy shop, digest 0123456789abcdef, mode audit\n"
		"\n"
		"DIR      ROLE     PROTO/PORT  VERDICT  PACKETS  BYTES  RULE  NOTE\n"
		"ingress  app      tcp/3306    allow        120  14400     1  mysql, \"main\" pool\n"
		"ingress  app      icmp/8      allow          7    686     3  ping\n"
		"ingress  unknown  tcp/23      audit          7    420     -  no rule\n"
		"ingress  op       tcp/22      allow          5    330     2  ssh\n"
		"ingress  unknown  tcp/3306    audit          3    180     1  mysql, \"main\" pool\n"
		"egress   app      tcp/8080    allow          2    148     5  callbacks\n"
		"\n"
		"Judged by the policy: 144 packets, 16164 bytes\n"
		"Not judged by a rule:\n"
		"  arp                         4 packets            240 bytes\n");
}

static void test_text_stale_and_empty(void **state)
{
	struct fx *f = *state;
	FILE *fp;

	build(f, PW_REPORT_VIOLATIONS, PW_NOTES_STALE, true);
	f->r.netns = "lab";
	fp = capture(f);
	pw_report_print_text(&f->r, fp);
	expect_output(f, fp,
		"Interface eth0 (netns lab): policy shop, digest 0123456789abcdef, mode audit\n"
		"The policy files changed since the last load or reload: notes may be outdated.\n"
		"\n"
		"No packets counted under a rule key.\n"
		"\n"
		"Judged by the policy: 0 packets, 0 bytes\n"
		"Not judged by a rule:\n"
		"  none\n");
}

static void test_text_unused(void **state)
{
	struct fx *f = *state;
	FILE *fp;

	fill_traffic(f);
	set(slot_of(f, EG, 6, "app", 8080, 8080), PW_VERDICT_ALLOW, 0, 0);
	build(f, PW_REPORT_ALL, PW_NOTES_CURRENT, true);
	fp = capture(f);
	pw_report_print_unused_text(&f->r, fp);
	expect_output(f, fp,
		"Interface eth0: policy shop, digest 0123456789abcdef, mode audit\n"
		"\n"
		"Allow rules in force with no hits since load:\n"
		"DIR       RULE  PROTO/PORTS    PEERS  NOTE\n"
		"ingress      4  udp/4000-4003  app    stats\n"
		"egress       3  icmp/8         db     ping\n"
		"egress       5  tcp/8080       app    callbacks\n");
}

static void test_text_unused_without_policy(void **state)
{
	struct fx *f = *state;
	FILE *fp;

	build(f, PW_REPORT_ALL, PW_NOTES_CURRENT, false);
	fp = capture(f);
	pw_report_print_unused_text(&f->r, fp);
	expect_output(f, fp,
		"Interface eth0: policy shop, digest 0123456789abcdef, mode audit\n"
		"The policy files cannot be read: no notes.\n"
		"\n"
		"Unused rules cannot be listed without the policy files.\n");
}

/* ------------------------------------------------------------- JSON -- */

static void test_json(void **state)
{
	struct fx *f = *state;
	struct pw_json *j;
	FILE *fp;

	fill_traffic(f);
	build(f, PW_REPORT_VIOLATIONS, PW_NOTES_STALE, true);
	fp = capture(f);
	j = pw_json_new(fp, false);
	pw_report_print_json(&f->r, j, false);
	pw_json_destroy(j);
	expect_output(f, fp,
		"{\"iface\":\"eth0\",\"netns\":null,\"policy\":\"shop\","
		"\"digest\":\"0123456789abcdef\",\"mode\":\"audit\","
		"\"stale\":true,\"notes\":\"stale\",\"rows\":["
		"{\"direction\":\"ingress\",\"role\":\"unknown\",\"role_id\":0,"
		"\"proto\":\"tcp\",\"ipproto\":6,\"port\":\"23\",\"port_lo\":23,"
		"\"port_hi\":23,\"verdict\":\"audit\",\"packets\":7,"
		"\"bytes\":420,\"rule_id\":null,\"note\":\"no rule\","
		"\"counter\":\"unnamed\",\"slot\":null},"
		"{\"direction\":\"ingress\",\"role\":\"unknown\",\"role_id\":0,"
		"\"proto\":\"tcp\",\"ipproto\":6,\"port\":\"3306\","
		"\"port_lo\":3306,\"port_hi\":3306,\"verdict\":\"audit\","
		"\"packets\":3,\"bytes\":180,\"rule_id\":1,"
		"\"note\":\"mysql, \\\"main\\\" pool\",\"counter\":\"slot\","
		"\"slot\":4}],"
		"\"reasons\":{"
		"\"classified\":{\"packets\":144,\"bytes\":16164},"
		"\"arp\":{\"packets\":4,\"bytes\":240},"
		"\"non-ip\":{\"packets\":0,\"bytes\":0},"
		"\"trunc-l2\":{\"packets\":0,\"bytes\":0},"
		"\"vlan-too-deep\":{\"packets\":0,\"bytes\":0},"
		"\"trunc-l3\":{\"packets\":0,\"bytes\":0},"
		"\"bad-l3\":{\"packets\":0,\"bytes\":0},"
		"\"frag-nonfirst\":{\"packets\":0,\"bytes\":0},"
		"\"exthdr-too-deep\":{\"packets\":0,\"bytes\":0},"
		"\"trunc-l4\":{\"packets\":0,\"bytes\":0},"
		"\"icmp-pmtu\":{\"packets\":0,\"bytes\":0},"
		"\"ndp\":{\"packets\":0,\"bytes\":0},"
		"\"unnamed-full\":{\"packets\":0,\"bytes\":0}}}\n");
}

static void test_json_unused(void **state)
{
	struct fx *f = *state;
	struct pw_json *j;
	FILE *fp;
	char *rest;

	fill_traffic(f);
	build(f, PW_REPORT_ALL, PW_NOTES_CURRENT, true);
	fp = capture(f);
	j = pw_json_new(fp, false);
	pw_report_print_json(&f->r, j, true);
	pw_json_destroy(j);
	fclose(fp);
	rest = strstr(f->out, "\"unused\":");
	assert_non_null(rest);
	assert_null(strstr(f->out, "\"rows\":"));
	assert_memory_equal(rest,
		"\"unused\":[{\"rule_id\":4,\"direction\":\"ingress\","
		"\"ports\":\"udp/4000-4003\",\"peers\":\"app\","
		"\"reversed\":false,\"note\":\"stats\","
		"\"file\":\"shop.policy\",\"line\":8,\"slots\":1},",
		strlen("\"unused\":[{\"rule_id\":4,\"direction\":\"ingress\","
		       "\"ports\":\"udp/4000-4003\",\"peers\":\"app\","
		       "\"reversed\":false,\"note\":\"stats\","
		       "\"file\":\"shop.policy\",\"line\":8,\"slots\":1},"));
}

/* ------------------------------------------------------- Prometheus -- */

static const char *prom_want =
	"# HELP portwarden_packets_total Packets per counter key: direction, peer role, protocol, port, verdict, deciding rule.\n"
	"# TYPE portwarden_packets_total counter\n"
	"portwarden_packets_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",role=\"app\",proto=\"tcp\",port=\"3306\",verdict=\"allow\",rule=\"1\"} 120\n"
	"portwarden_packets_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",role=\"app\",proto=\"icmp\",port=\"8\",verdict=\"allow\",rule=\"3\"} 7\n"
	"portwarden_packets_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",role=\"unknown\",proto=\"tcp\",port=\"23\",verdict=\"audit\",rule=\"none\"} 7\n"
	"portwarden_packets_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",role=\"op\",proto=\"tcp\",port=\"22\",verdict=\"allow\",rule=\"2\"} 5\n"
	"portwarden_packets_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",role=\"unknown\",proto=\"tcp\",port=\"3306\",verdict=\"audit\",rule=\"1\"} 3\n"
	"portwarden_packets_total{iface=\"eth0\",netns=\"\",dir=\"egress\",role=\"app\",proto=\"tcp\",port=\"8080\",verdict=\"allow\",rule=\"5\"} 2\n"
	"# HELP portwarden_bytes_total Bytes per counter key: direction, peer role, protocol, port, verdict, deciding rule.\n"
	"# TYPE portwarden_bytes_total counter\n"
	"portwarden_bytes_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",role=\"app\",proto=\"tcp\",port=\"3306\",verdict=\"allow\",rule=\"1\"} 14400\n"
	"portwarden_bytes_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",role=\"app\",proto=\"icmp\",port=\"8\",verdict=\"allow\",rule=\"3\"} 686\n"
	"portwarden_bytes_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",role=\"unknown\",proto=\"tcp\",port=\"23\",verdict=\"audit\",rule=\"none\"} 420\n"
	"portwarden_bytes_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",role=\"op\",proto=\"tcp\",port=\"22\",verdict=\"allow\",rule=\"2\"} 330\n"
	"portwarden_bytes_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",role=\"unknown\",proto=\"tcp\",port=\"3306\",verdict=\"audit\",rule=\"1\"} 180\n"
	"portwarden_bytes_total{iface=\"eth0\",netns=\"\",dir=\"egress\",role=\"app\",proto=\"tcp\",port=\"8080\",verdict=\"allow\",rule=\"5\"} 148\n"
	"# HELP portwarden_verdict_packets_total Packets judged by the policy, per direction and verdict (the sum of portwarden_packets_total; every series from the load on).\n"
	"# TYPE portwarden_verdict_packets_total counter\n"
	"portwarden_verdict_packets_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",verdict=\"allow\"} 132\n"
	"portwarden_verdict_packets_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",verdict=\"audit\"} 10\n"
	"portwarden_verdict_packets_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",verdict=\"drop\"} 0\n"
	"portwarden_verdict_packets_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",verdict=\"reply\"} 0\n"
	"portwarden_verdict_packets_total{iface=\"eth0\",netns=\"\",dir=\"egress\",verdict=\"allow\"} 2\n"
	"portwarden_verdict_packets_total{iface=\"eth0\",netns=\"\",dir=\"egress\",verdict=\"audit\"} 0\n"
	"portwarden_verdict_packets_total{iface=\"eth0\",netns=\"\",dir=\"egress\",verdict=\"drop\"} 0\n"
	"portwarden_verdict_packets_total{iface=\"eth0\",netns=\"\",dir=\"egress\",verdict=\"reply\"} 0\n"
	"# HELP portwarden_verdict_bytes_total Bytes judged by the policy, per direction and verdict (the sum of portwarden_bytes_total; every series from the load on).\n"
	"# TYPE portwarden_verdict_bytes_total counter\n"
	"portwarden_verdict_bytes_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",verdict=\"allow\"} 15416\n"
	"portwarden_verdict_bytes_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",verdict=\"audit\"} 600\n"
	"portwarden_verdict_bytes_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",verdict=\"drop\"} 0\n"
	"portwarden_verdict_bytes_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",verdict=\"reply\"} 0\n"
	"portwarden_verdict_bytes_total{iface=\"eth0\",netns=\"\",dir=\"egress\",verdict=\"allow\"} 148\n"
	"portwarden_verdict_bytes_total{iface=\"eth0\",netns=\"\",dir=\"egress\",verdict=\"audit\"} 0\n"
	"portwarden_verdict_bytes_total{iface=\"eth0\",netns=\"\",dir=\"egress\",verdict=\"drop\"} 0\n"
	"portwarden_verdict_bytes_total{iface=\"eth0\",netns=\"\",dir=\"egress\",verdict=\"reply\"} 0\n"
	"# HELP portwarden_reason_packets_total Packets seen by portwarden, by how they were handled (classified: judged by the policy).\n"
	"# TYPE portwarden_reason_packets_total counter\n"
	"portwarden_reason_packets_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",reason=\"classified\"} 144\n"
	"portwarden_reason_packets_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",reason=\"arp\"} 4\n"
	"portwarden_reason_packets_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",reason=\"non-ip\"} 0\n"
	"portwarden_reason_packets_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",reason=\"trunc-l2\"} 0\n"
	"portwarden_reason_packets_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",reason=\"vlan-too-deep\"} 0\n"
	"portwarden_reason_packets_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",reason=\"trunc-l3\"} 0\n"
	"portwarden_reason_packets_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",reason=\"bad-l3\"} 0\n"
	"portwarden_reason_packets_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",reason=\"frag-nonfirst\"} 0\n"
	"portwarden_reason_packets_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",reason=\"exthdr-too-deep\"} 0\n"
	"portwarden_reason_packets_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",reason=\"trunc-l4\"} 0\n"
	"portwarden_reason_packets_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",reason=\"icmp-pmtu\"} 0\n"
	"portwarden_reason_packets_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",reason=\"ndp\"} 0\n"
	"portwarden_reason_packets_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",reason=\"unnamed-full\"} 0\n"
	"portwarden_reason_packets_total{iface=\"eth0\",netns=\"\",dir=\"egress\",reason=\"classified\"} 0\n"
	"portwarden_reason_packets_total{iface=\"eth0\",netns=\"\",dir=\"egress\",reason=\"arp\"} 0\n"
	"portwarden_reason_packets_total{iface=\"eth0\",netns=\"\",dir=\"egress\",reason=\"non-ip\"} 0\n"
	"portwarden_reason_packets_total{iface=\"eth0\",netns=\"\",dir=\"egress\",reason=\"trunc-l2\"} 0\n"
	"portwarden_reason_packets_total{iface=\"eth0\",netns=\"\",dir=\"egress\",reason=\"vlan-too-deep\"} 0\n"
	"portwarden_reason_packets_total{iface=\"eth0\",netns=\"\",dir=\"egress\",reason=\"trunc-l3\"} 0\n"
	"portwarden_reason_packets_total{iface=\"eth0\",netns=\"\",dir=\"egress\",reason=\"bad-l3\"} 0\n"
	"portwarden_reason_packets_total{iface=\"eth0\",netns=\"\",dir=\"egress\",reason=\"frag-nonfirst\"} 0\n"
	"portwarden_reason_packets_total{iface=\"eth0\",netns=\"\",dir=\"egress\",reason=\"exthdr-too-deep\"} 0\n"
	"portwarden_reason_packets_total{iface=\"eth0\",netns=\"\",dir=\"egress\",reason=\"trunc-l4\"} 0\n"
	"portwarden_reason_packets_total{iface=\"eth0\",netns=\"\",dir=\"egress\",reason=\"icmp-pmtu\"} 0\n"
	"portwarden_reason_packets_total{iface=\"eth0\",netns=\"\",dir=\"egress\",reason=\"ndp\"} 0\n"
	"portwarden_reason_packets_total{iface=\"eth0\",netns=\"\",dir=\"egress\",reason=\"unnamed-full\"} 0\n"
	"# HELP portwarden_reason_bytes_total Bytes seen by portwarden, by how they were handled (classified: judged by the policy).\n"
	"# TYPE portwarden_reason_bytes_total counter\n"
	"portwarden_reason_bytes_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",reason=\"classified\"} 16164\n"
	"portwarden_reason_bytes_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",reason=\"arp\"} 240\n"
	"portwarden_reason_bytes_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",reason=\"non-ip\"} 0\n"
	"portwarden_reason_bytes_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",reason=\"trunc-l2\"} 0\n"
	"portwarden_reason_bytes_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",reason=\"vlan-too-deep\"} 0\n"
	"portwarden_reason_bytes_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",reason=\"trunc-l3\"} 0\n"
	"portwarden_reason_bytes_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",reason=\"bad-l3\"} 0\n"
	"portwarden_reason_bytes_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",reason=\"frag-nonfirst\"} 0\n"
	"portwarden_reason_bytes_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",reason=\"exthdr-too-deep\"} 0\n"
	"portwarden_reason_bytes_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",reason=\"trunc-l4\"} 0\n"
	"portwarden_reason_bytes_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",reason=\"icmp-pmtu\"} 0\n"
	"portwarden_reason_bytes_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",reason=\"ndp\"} 0\n"
	"portwarden_reason_bytes_total{iface=\"eth0\",netns=\"\",dir=\"ingress\",reason=\"unnamed-full\"} 0\n"
	"portwarden_reason_bytes_total{iface=\"eth0\",netns=\"\",dir=\"egress\",reason=\"classified\"} 0\n"
	"portwarden_reason_bytes_total{iface=\"eth0\",netns=\"\",dir=\"egress\",reason=\"arp\"} 0\n"
	"portwarden_reason_bytes_total{iface=\"eth0\",netns=\"\",dir=\"egress\",reason=\"non-ip\"} 0\n"
	"portwarden_reason_bytes_total{iface=\"eth0\",netns=\"\",dir=\"egress\",reason=\"trunc-l2\"} 0\n"
	"portwarden_reason_bytes_total{iface=\"eth0\",netns=\"\",dir=\"egress\",reason=\"vlan-too-deep\"} 0\n"
	"portwarden_reason_bytes_total{iface=\"eth0\",netns=\"\",dir=\"egress\",reason=\"trunc-l3\"} 0\n"
	"portwarden_reason_bytes_total{iface=\"eth0\",netns=\"\",dir=\"egress\",reason=\"bad-l3\"} 0\n"
	"portwarden_reason_bytes_total{iface=\"eth0\",netns=\"\",dir=\"egress\",reason=\"frag-nonfirst\"} 0\n"
	"portwarden_reason_bytes_total{iface=\"eth0\",netns=\"\",dir=\"egress\",reason=\"exthdr-too-deep\"} 0\n"
	"portwarden_reason_bytes_total{iface=\"eth0\",netns=\"\",dir=\"egress\",reason=\"trunc-l4\"} 0\n"
	"portwarden_reason_bytes_total{iface=\"eth0\",netns=\"\",dir=\"egress\",reason=\"icmp-pmtu\"} 0\n"
	"portwarden_reason_bytes_total{iface=\"eth0\",netns=\"\",dir=\"egress\",reason=\"ndp\"} 0\n"
	"portwarden_reason_bytes_total{iface=\"eth0\",netns=\"\",dir=\"egress\",reason=\"unnamed-full\"} 0\n"
	"# HELP portwarden_flow_table_capacity Entries the flow table holds at most.\n"
	"# TYPE portwarden_flow_table_capacity gauge\n"
	"portwarden_flow_table_capacity{iface=\"eth0\",netns=\"\"} 0\n"
	"# HELP portwarden_flow_table_entries Entries in the flow table now, live or past their age.\n"
	"# TYPE portwarden_flow_table_entries gauge\n"
	"portwarden_flow_table_entries{iface=\"eth0\",netns=\"\"} 0\n"
	"# HELP portwarden_flows Live flows, by who opened them: the host (opened) or a peer let in on ingress (inbound).\n"
	"# TYPE portwarden_flows gauge\n"
	"portwarden_flows{iface=\"eth0\",netns=\"\",origin=\"opened\"} 0\n"
	"portwarden_flows{iface=\"eth0\",netns=\"\",origin=\"inbound\"} 0\n"
	"# HELP portwarden_flow_table_full 1 when the flow table's entries reached its capacity: new flows evict the least recently used.\n"
	"# TYPE portwarden_flow_table_full gauge\n"
	"portwarden_flow_table_full{iface=\"eth0\",netns=\"\"} 0\n"
	"# HELP portwarden_flow_inserts_total Flows recorded in the flow table.\n"
	"# TYPE portwarden_flow_inserts_total counter\n"
	"portwarden_flow_inserts_total{iface=\"eth0\",netns=\"\"} 0\n"
	"# HELP portwarden_flow_insert_failures_total Flows the datapath could not record.\n"
	"# TYPE portwarden_flow_insert_failures_total counter\n"
	"portwarden_flow_insert_failures_total{iface=\"eth0\",netns=\"\"} 0\n"
	"# HELP portwarden_flow_closed_total Flows removed from the flow table on a TCP RST.\n"
	"# TYPE portwarden_flow_closed_total counter\n"
	"portwarden_flow_closed_total{iface=\"eth0\",netns=\"\"} 0\n"
	"# HELP portwarden_flow_expired_total Flows removed from the flow table past their age.\n"
	"# TYPE portwarden_flow_expired_total counter\n"
	"portwarden_flow_expired_total{iface=\"eth0\",netns=\"\"} 0\n"
	"# HELP portwarden_flow_evictions Flows the full table dropped to make room, since load: inserts - closed - expired - entries (a gauge: derived, it may step back while flows come in during a scrape).\n"
	"# TYPE portwarden_flow_evictions gauge\n"
	"portwarden_flow_evictions{iface=\"eth0\",netns=\"\"} 0\n"
	"# HELP portwarden_events_emitted_total Violation events put in the ring buffer.\n"
	"# TYPE portwarden_events_emitted_total counter\n"
	"portwarden_events_emitted_total{iface=\"eth0\",netns=\"\"} 0\n"
	"# HELP portwarden_events_suppressed_total Violation events not sent: the token bucket was empty (rate_limited), or the flow was reported less than the event interval ago (repeat).\n"
	"# TYPE portwarden_events_suppressed_total counter\n"
	"portwarden_events_suppressed_total{iface=\"eth0\",netns=\"\",reason=\"rate_limited\"} 0\n"
	"portwarden_events_suppressed_total{iface=\"eth0\",netns=\"\",reason=\"repeat\"} 0\n"
	"# HELP portwarden_events_lost_total Violation events lost because the ring buffer was full.\n"
	"# TYPE portwarden_events_lost_total counter\n"
	"portwarden_events_lost_total{iface=\"eth0\",netns=\"\"} 0\n"
	"# HELP portwarden_policy_info The policy in force, the digest of its compiled tables, the host's roles and the XDP mode; always 1.\n"
	"# TYPE portwarden_policy_info gauge\n"
	"portwarden_policy_info{iface=\"eth0\",netns=\"\",policy=\"shop\",digest=\"0123456789abcdef\",roles=\"\",xdp_mode=\"\"} 1\n"
	"# HELP portwarden_policy_stale 1 when the policy files changed (or cannot be read) since the last load or reload.\n"
	"# TYPE portwarden_policy_stale gauge\n"
	"portwarden_policy_stale{iface=\"eth0\",netns=\"\"} 0\n"
	"# HELP portwarden_mode 1 for the mode the datapath acts in (an enforce past its unconfirmed deadline acts as audit), 0 for the other.\n"
	"# TYPE portwarden_mode gauge\n"
	"portwarden_mode{iface=\"eth0\",netns=\"\",mode=\"audit\"} 1\n"
	"portwarden_mode{iface=\"eth0\",netns=\"\",mode=\"enforce\"} 0\n"
	"# HELP portwarden_enforce_deadline_timestamp_seconds When an enforce mode that waits for 'portwarden confirm' reverts to audit (Unix time).\n"
	"# TYPE portwarden_enforce_deadline_timestamp_seconds gauge\n"
	"# HELP portwarden_unused_rules Allow rules in force that nothing has hit since load or reset.\n"
	"# TYPE portwarden_unused_rules gauge\n"
	"portwarden_unused_rules{iface=\"eth0\",netns=\"\"} 2\n"
	"# HELP portwarden_unused_rule_info One series per allow rule in force that nothing has hit since load or reset; always 1.\n"
	"# TYPE portwarden_unused_rule_info gauge\n"
	"portwarden_unused_rule_info{iface=\"eth0\",netns=\"\",rule=\"4\",dir=\"ingress\",ports=\"udp/4000-4003\",peers=\"app\"} 1\n"
	"portwarden_unused_rule_info{iface=\"eth0\",netns=\"\",rule=\"3\",dir=\"egress\",ports=\"icmp/8\",peers=\"db\"} 1\n"
	"# HELP portwarden_load_timestamp_seconds When portwarden was loaded on the interface (Unix time).\n"
	"# TYPE portwarden_load_timestamp_seconds gauge\n"
	"# HELP portwarden_policy_load_timestamp_seconds When the policy in force was loaded or last reloaded (Unix time).\n"
	"# TYPE portwarden_policy_load_timestamp_seconds gauge\n";

static void test_prometheus(void **state)
{
	struct fx *f = *state;
	FILE *fp;

	fill_traffic(f);
	build(f, PW_REPORT_ALL, PW_NOTES_CURRENT, true);
	fp = capture(f);
	pw_report_print_prometheus(&f->r, fp);
	expect_output(f, fp, prom_want);
}

static void test_prom_escape(void **state)
{
	struct fx *f = *state;
	FILE *fp = capture(f);

	pw_prom_label_value(fp, "a\"b\\c\nd\te");
	expect_output(f, fp, "\"a\\\"b\\\\c\\nd\te\"");
}

/* A netns label on every sample; quotes and newlines in values escaped. */
static void test_prometheus_netns_escaped(void **state)
{
	struct fx *f = *state;

	build(f, PW_REPORT_ALL, PW_NOTES_STALE, true);
	f->r.netns = "lab";
	f->r.policy = "odd \"name\"\\\n";
	render_prometheus(f);
	assert_non_null(strstr(f->out,
		"portwarden_policy_info{iface=\"eth0\",netns=\"lab\","
		"policy=\"odd \\\"name\\\"\\\\\\n\",digest=\"0123456789abcdef\","
		"roles=\"\",xdp_mode=\"\"} 1\n"));
	assert_non_null(strstr(f->out,
		"portwarden_policy_stale{iface=\"eth0\",netns=\"lab\"} 1\n"));
	assert_non_null(strstr(f->out,
		"portwarden_reason_packets_total{iface=\"eth0\",netns=\"lab\","
		"dir=\"ingress\",reason=\"arp\"} 0\n"));
}

/* Roles, XDP mode and load times come from the state file's settings. */
static void test_prometheus_settings(void **state)
{
	static char *roles[] = { "db", "app" };
	struct pw_state st = {
		.roles = roles,
		.nroles = 2,
		.xdp_mode = "generic",
		.loaded_at = 1700000000,
		.reloaded_at = 1700000100,
	};
	struct fx *f = *state;

	build(f, PW_REPORT_ALL, PW_NOTES_CURRENT, true);
	f->r.st = &st;
	render_prometheus(f);
	assert_non_null(strstr(f->out,
		"portwarden_policy_info{iface=\"eth0\",netns=\"\","
		"policy=\"shop\",digest=\"0123456789abcdef\","
		"roles=\"db,app\",xdp_mode=\"generic\"} 1\n"));
	assert_non_null(strstr(f->out,
		"\nportwarden_load_timestamp_seconds{iface=\"eth0\","
		"netns=\"\"} 1700000000\n"));
	assert_non_null(strstr(f->out,
		"\nportwarden_policy_load_timestamp_seconds{iface=\"eth0\","
		"netns=\"\"} 1700000100\n"));
	/* never reloaded: the policy in force is the one of the load */
	st.reloaded_at = 0;
	render_prometheus(f);
	assert_non_null(strstr(f->out,
		"\nportwarden_policy_load_timestamp_seconds{iface=\"eth0\","
		"netns=\"\"} 1700000000\n"));
}

/*
 * Enforce with a confirm deadline: the deadline in wall time, and the
 * mode the datapath acts in, enforce before the deadline, audit after.
 */
static void test_prometheus_deadline(void **state)
{
	struct fx *f = *state;

	f->s.cfg.mode = PW_MODE_ENFORCE;
	f->s.cfg.enforce_deadline_ns = 5000000000ULL;
	f->s.read_mono_ns = 2000000000ULL;
	f->s.read_wall = 1700000000;
	build(f, PW_REPORT_ALL, PW_NOTES_CURRENT, true);
	render_prometheus(f);
	assert_non_null(strstr(f->out,
		"\nportwarden_enforce_deadline_timestamp_seconds{iface=\"eth0\","
		"netns=\"\"} 1700000003\n"));
	assert_non_null(strstr(f->out,
		"portwarden_mode{iface=\"eth0\",netns=\"\",mode=\"audit\"} 0\n"
		"portwarden_mode{iface=\"eth0\",netns=\"\",mode=\"enforce\"} 1\n"));

	f->s.read_mono_ns = 9000000000ULL;
	build(f, PW_REPORT_ALL, PW_NOTES_CURRENT, true);
	assert_true(f->r.reverted);
	assert_int_equal(f->r.mode, PW_MODE_ENFORCE);
	render_prometheus(f);
	assert_non_null(strstr(f->out,
		"\nportwarden_enforce_deadline_timestamp_seconds{iface=\"eth0\","
		"netns=\"\"} 1699999996\n"));
	assert_non_null(strstr(f->out,
		"portwarden_mode{iface=\"eth0\",netns=\"\",mode=\"audit\"} 1\n"
		"portwarden_mode{iface=\"eth0\",netns=\"\",mode=\"enforce\"} 0\n"));

	/* confirmed: no deadline, no sample */
	f->s.cfg.enforce_deadline_ns = 0;
	build(f, PW_REPORT_ALL, PW_NOTES_CURRENT, true);
	render_prometheus(f);
	assert_null(strstr(f->out,
		"\nportwarden_enforce_deadline_timestamp_seconds{"));
	assert_non_null(strstr(f->out,
		"portwarden_mode{iface=\"eth0\",netns=\"\",mode=\"enforce\"} 1\n"));
}

/*
 * Replies of tracked flows have their own verdict.  A slot of an earlier
 * policy and a key of pw_unnamed with the same direction, role, port and
 * verdict stay two series (rule "earlier" and "none").
 */
static void test_prometheus_reply_and_earlier(void **state)
{
	struct fx *f = *state;
	struct pw_snap_slot *sl;

	set(slot_of(f, EG, 6, "app", 8080, 8080), PW_VERDICT_REPLY, 9, 540);
	sl = slot_of(f, IN, 6, "unknown", 3306, 3306);
	sl->in_force = false;
	set(sl, PW_VERDICT_AUDIT, 3, 180);
	add_unnamed(&f->s, 6, 0, 3306, PW_VERDICT_AUDIT, 2, 120);
	build(f, PW_REPORT_ALL, PW_NOTES_CURRENT, true);
	render_prometheus(f);
	assert_non_null(strstr(f->out,
		"portwarden_packets_total{iface=\"eth0\",netns=\"\","
		"dir=\"egress\",role=\"app\",proto=\"tcp\",port=\"8080\","
		"verdict=\"reply\",rule=\"5\"} 9\n"));
	assert_non_null(strstr(f->out,
		"portwarden_packets_total{iface=\"eth0\",netns=\"\","
		"dir=\"ingress\",role=\"unknown\",proto=\"tcp\",port=\"3306\","
		"verdict=\"audit\",rule=\"earlier\"} 3\n"));
	assert_non_null(strstr(f->out,
		"portwarden_packets_total{iface=\"eth0\",netns=\"\","
		"dir=\"ingress\",role=\"unknown\",proto=\"tcp\",port=\"3306\","
		"verdict=\"audit\",rule=\"none\"} 2\n"));
}

/* Flow table, events, and the reasons of the egress hook. */
static void test_prometheus_flows_events(void **state)
{
	struct fx *f = *state;

	f->s.flows = (struct pw_flow_usage){
		.capacity = 65536, .entries = 70, .live = 60, .opened = 45,
		.inbound = 15, .inserted = 1000, .closed = 400,
		.expired = 500, .insert_failed = 2, .evicted = 30,
		.full = false,
	};
	f->s.stats[PW_STAT_EVENT_SENT] = 12;
	f->s.stats[PW_STAT_EVENT_RATE_LIMITED] = 3;
	f->s.stats[PW_STAT_EVENT_REPEAT] = 40;
	f->s.stats[PW_STAT_EVENT_LOST] = 1;
	f->s.egress_reasons[PW_REASON_NON_IP].packets = 9;
	build(f, PW_REPORT_ALL, PW_NOTES_CURRENT, true);
	render_prometheus(f);
#define L "{iface=\"eth0\",netns=\"\""
	assert_non_null(strstr(f->out,
		"\nportwarden_flow_table_capacity" L "} 65536\n"));
	assert_non_null(strstr(f->out,
		"\nportwarden_flow_table_entries" L "} 70\n"));
	assert_non_null(strstr(f->out,
		"\nportwarden_flows" L ",origin=\"opened\"} 45\n"
		"portwarden_flows" L ",origin=\"inbound\"} 15\n"));
	assert_non_null(strstr(f->out, "\nportwarden_flow_table_full" L "} 0\n"));
	assert_non_null(strstr(f->out,
		"\nportwarden_flow_inserts_total" L "} 1000\n"));
	assert_non_null(strstr(f->out,
		"\nportwarden_flow_insert_failures_total" L "} 2\n"));
	assert_non_null(strstr(f->out,
		"\nportwarden_flow_closed_total" L "} 400\n"));
	assert_non_null(strstr(f->out,
		"\nportwarden_flow_expired_total" L "} 500\n"));
	assert_non_null(strstr(f->out, "\nportwarden_flow_evictions" L "} 30\n"));
	assert_non_null(strstr(f->out,
		"\nportwarden_events_emitted_total" L "} 12\n"));
	assert_non_null(strstr(f->out,
		"\nportwarden_events_suppressed_total" L
		",reason=\"rate_limited\"} 3\n"
		"portwarden_events_suppressed_total" L ",reason=\"repeat\"} 40\n"));
	assert_non_null(strstr(f->out,
		"\nportwarden_events_lost_total" L "} 1\n"));
	assert_non_null(strstr(f->out,
		"\nportwarden_reason_packets_total" L
		",dir=\"egress\",reason=\"non-ip\"} 9\n"));
	assert_non_null(strstr(f->out,
		"\nportwarden_reason_packets_total" L
		",dir=\"ingress\",reason=\"non-ip\"} 0\n"));
#undef L
}

/* The sums by verdict cover every key, whatever the rows leave out. */
static void test_prometheus_verdicts_unfiltered(void **state)
{
	struct fx *f = *state;

	fill_traffic(f);
	build(f, PW_REPORT_VIOLATIONS, PW_NOTES_CURRENT, true);
	assert_int_equal(f->r.nrows, 2);
	render_prometheus(f);
	assert_non_null(strstr(f->out,
		"portwarden_verdict_packets_total{iface=\"eth0\",netns=\"\","
		"dir=\"ingress\",verdict=\"allow\"} 132\n"
		"portwarden_verdict_packets_total{iface=\"eth0\",netns=\"\","
		"dir=\"ingress\",verdict=\"audit\"} 10\n"));
	assert_non_null(strstr(f->out,
		"portwarden_verdict_bytes_total{iface=\"eth0\",netns=\"\","
		"dir=\"egress\",verdict=\"allow\"} 148\n"));
	assert_null(strstr(f->out, "verdict=\"allow\",rule="));
}

/*
 * Checks the shape of an exposition: each family's HELP and TYPE exactly
 * once, HELP right before TYPE, and every sample under the TYPE of its own
 * family.  Returns the number of samples of @family.
 */
static int exposition_check(const char *text, const char *family)
{
	char seen[64][128], current[128] = "", name[128];
	int nseen = 0, nsamples = 0, i;
	const char *line = text, *end;

	for (; *line; line = end + 1) {
		end = strchr(line, '\n');
		assert_non_null(end);
		if (!strncmp(line, "# HELP ", 7)) {
			assert_int_equal(sscanf(line + 7, "%127s", name), 1);
			for (i = 0; i < nseen; i++)
				assert_string_not_equal(seen[i], name);
			assert_true(nseen < 64);
			strcpy(seen[nseen++], name);
			assert_int_equal(strncmp(end + 1, "# TYPE ", 7), 0);
			assert_int_equal(strncmp(end + 8, name, strlen(name)),
					 0);
			snprintf(current, sizeof(current), "%s", name);
			end = strchr(end + 1, '\n');
			assert_non_null(end);
			continue;
		}
		assert_true(line[0] != '#');
		assert_int_equal(sscanf(line, "%127[^{ ]", name), 1);
		assert_string_equal(name, current);
		if (!strcmp(name, family))
			nsamples++;
	}
	return nsamples;
}

/* Several interfaces in one exposition: each family once, whole. */
static void test_prometheus_several(void **state)
{
	struct fx *f = *state;
	struct pw_report second;
	const struct pw_report *both[2];
	struct pw_report_opts o = { .filter = PW_REPORT_ALL };
	FILE *fp;

	fill_traffic(f);
	build(f, PW_REPORT_ALL, PW_NOTES_CURRENT, true);
	assert_int_equal(pw_report_build(&f->s, NULL, &o, &second), 0);
	second.iface = "eth0";
	second.netns = "lab";
	second.policy = "shop";
	both[0] = &f->r;
	both[1] = &second;
	fp = capture(f);
	pw_prom_write_reports(both, 2, fp);
	fclose(fp);
	pw_report_free(&second);

	assert_int_equal(exposition_check(f->out, "portwarden_packets_total"),
			 12);
	assert_int_equal(exposition_check(f->out, "portwarden_mode"), 4);
	/* the second has no policy: no unused rules for it */
	assert_int_equal(exposition_check(f->out, "portwarden_unused_rules"),
			 1);
	assert_int_equal(exposition_check(f->out, "portwarden_policy_stale"),
			 2);
	assert_non_null(strstr(f->out,
		"portwarden_policy_stale{iface=\"eth0\",netns=\"\"} 0\n"
		"portwarden_policy_stale{iface=\"eth0\",netns=\"lab\"} 1\n"));
	/* and one interface alone passes the same check */
	render_prometheus(f);
	assert_int_equal(exposition_check(f->out, "portwarden_packets_total"),
			 6);
}

/*
 * promtool (Debian package prometheus) checks the exposition format and
 * the naming conventions; skipped when it is not installed.
 */
static void test_promtool(void **state)
{
	struct fx *f = *state;
	char path[] = "/tmp/pw-test-report-XXXXXX", cmd[256];
	FILE *fp;
	int fd, rc;

	if (system("command -v promtool >/dev/null 2>&1")) {
		fprintf(stderr, "promtool not installed: check skipped\n");
		skip();
	}
	fill_traffic(f);
	build(f, PW_REPORT_ALL, PW_NOTES_CURRENT, true);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	assert_non_null(fp);
	f->r.policy = "quote\" and \\ backslash";
	pw_report_print_prometheus(&f->r, fp);
	fclose(fp);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
	rc = system(cmd);
	unlink(path);
	assert_int_equal(rc, 0);
}

/* ------------------------------------------------------------ names -- */

static void test_proto_port_names(void **state)
{
	struct pw_counter_key k = { .proto = 17, .port_lo = 4000,
				    .port_hi = 4003 };
	char buf[32];

	(void)state;
	pw_report_proto_port(&k, buf, sizeof(buf));
	assert_string_equal(buf, "udp/4000-4003");
	k.proto = 58;
	k.port_lo = k.port_hi = 128;
	pw_report_proto_port(&k, buf, sizeof(buf));
	assert_string_equal(buf, "icmpv6/128");
	k.proto = 132;
	pw_report_proto_port(&k, buf, sizeof(buf));
	assert_string_equal(buf, "sctp/128");
	k.proto = 47;
	k.port_lo = k.port_hi = 0;
	pw_report_proto_port(&k, buf, sizeof(buf));
	assert_string_equal(buf, "proto-47");
	pw_report_port_text(&k, buf, sizeof(buf));
	assert_string_equal(buf, "");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_rows_sorted_named),
		T(test_violations_only),
		T(test_zero_rows_omitted),
		T(test_ties_by_key),
		T(test_without_policy),
		T(test_slot_of_earlier_policy),
		T(test_role_without_name),
		T(test_unused),
		T(test_text),
		T(test_text_stale_and_empty),
		T(test_text_unused),
		T(test_text_unused_without_policy),
		T(test_json),
		T(test_json_unused),
		T(test_prometheus),
		T(test_prom_escape),
		T(test_prometheus_netns_escaped),
		T(test_prometheus_settings),
		T(test_prometheus_deadline),
		T(test_prometheus_reply_and_earlier),
		T(test_prometheus_several),
		T(test_prometheus_verdicts_unfiltered),
		T(test_prometheus_flows_events),
		T(test_promtool),
		cmocka_unit_test(test_proto_port_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
