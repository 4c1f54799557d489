// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_stats.c - stats from real maps: load the program, install a
 * policy, run frames through it (BPF_PROG_TEST_RUN), then read the rows
 * back with pw_report_collect() and through `portwarden stats` on maps
 * pinned the way the loader pins them.  Needs root.
 *
 * Every count is exact: the frames sent are the only traffic.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "pktbuild.h"
#include "report.h"
#include "state.h"
#include "xdprun.h"

#define IN PW_DIR_INGRESS

static const char *policy_text =
	"policy shop \"a small shop\"\n"
	"role app \"application servers\"\n"
	"role db \"database servers\"\n"
	"role op \"operator\"\n"
	"allow tcp 3306 from app to db note \"mysql\"\n"
	"allow tcp 22 from op to db note \"ssh\"\n"
	"allow icmp 8 from any to db note \"ping\"\n"
	"allow udp 4000-4003 from app to db note \"stats\"\n";

/* The same policy with one more rule: a changed file, a new digest. */
static const char *policy_changed_text =
	"policy shop \"a small shop\"\n"
	"role app \"application servers\"\n"
	"role db \"database servers\"\n"
	"role op \"operator\"\n"
	"allow tcp 3306 from app to db note \"mysql, renamed\"\n"
	"allow tcp 22 from op to db note \"ssh\"\n"
	"allow icmp 8 from any to db note \"ping\"\n"
	"allow udp 4000-4003 from app to db note \"stats\"\n"
	"allow tcp 443 from app to db note \"https\"\n";

static const char *inventory_text = "app 198.18.1.0/24\n"
				    "db 198.18.2.0/24\n"
				    "op 198.18.9.7\n";

struct fx {
	char dir[64];        /* temporary policy files */
	char policy[128];
	char inventory[128];
	struct xr_policy p;
	struct xr x;
	char name[IF_NAMESIZE]; /* fake interface the pins are named for */
	char pin_dir[256];
	char state_path[256];
	bool pinned;
	/* bytes sent per row, for exact checks */
	uint64_t bytes_app_3306, bytes_unknown_23, bytes_unknown_3306,
		bytes_op_ping, bytes_arp;
	char *out; /* last command's stdout */
	int status;
};

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* ---------------------------------------------------------- traffic -- */

static uint32_t send_frame(struct fx *f, struct pb *p)
{
	int action = -1;

	pb_finish(p);
	assert_int_equal(xr_run(&f->x, p->buf, p->len, &action), 0);
	assert_int_equal(action, PW_XDP_PASS); /* audit: all pass */
	return p->len;
}

static uint32_t send_tcp(struct fx *f, const char *src, uint16_t dport,
			 size_t payload)
{
	uint8_t s[4], d[4];
	struct pb p;

	pb_addr4(src, s);
	pb_addr4("198.18.2.1", d);
	pb_init(&p);
	pb_eth(&p);
	pb_ipv4(&p, s, d);
	pb_tcp(&p, 40000, dport);
	pb_payload(&p, payload);
	return send_frame(f, &p);
}

static uint32_t send_ping(struct fx *f, const char *src)
{
	uint8_t s[4], d[4];
	struct pb p;

	pb_addr4(src, s);
	pb_addr4("198.18.2.1", d);
	pb_init(&p);
	pb_eth(&p);
	pb_ipv4(&p, s, d);
	pb_icmp(&p, 8, 0);
	pb_payload(&p, 56);
	return send_frame(f, &p);
}

static uint32_t send_arp(struct fx *f)
{
	struct pb p;

	pb_init(&p);
	pb_eth(&p);
	pb_arp(&p);
	return send_frame(f, &p);
}

/*
 * app -> 3306 three times (allow), unknown -> 23 twice (no rule: audit),
 * unknown -> 3306 once (audit under rule 1), op -> ping once, one ARP.
 */
static void send_traffic(struct fx *f)
{
	f->bytes_app_3306 = send_tcp(f, "198.18.1.10", 3306, 10) +
			    send_tcp(f, "198.18.1.11", 3306, 100) +
			    send_tcp(f, "198.18.1.10", 3306, 0);
	f->bytes_unknown_23 = send_tcp(f, "198.19.0.5", 23, 0) +
			      send_tcp(f, "198.19.0.6", 23, 7);
	f->bytes_unknown_3306 = send_tcp(f, "198.19.0.5", 3306, 1);
	f->bytes_op_ping = send_ping(f, "198.18.9.7");
	f->bytes_arp = send_arp(f);
}

/* ---------------------------------------------------------- fixture -- */

static int setup(void **state)
{
	static const char *const host[] = { "db" };
	struct fx *f = calloc(1, sizeof(*f));
	struct pw_caps caps;

	assert_non_null(f);
	strcpy(f->dir, "/tmp/pw-test-stats-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->policy, sizeof(f->policy), "%s/shop.policy", f->dir);
	snprintf(f->inventory, sizeof(f->inventory), "%s/shop.inventory",
		 f->dir);
	write_file(f->policy, policy_text);
	write_file(f->inventory, inventory_text);
	assert_int_equal(xr_policy_compile(&f->p, true, f->policy,
					   f->inventory, host, 1, NULL, 0),
			 0);
	pw_caps_default(&caps);
	pw_caps_fit(&caps, &f->p.c);
	assert_int_equal(xr_open(&f->x, &caps), 0);
	assert_int_equal(xr_install(&f->x, &f->p.c), 0);
	assert_int_equal(xr_set_config(&f->x, PW_MODE_AUDIT, 0,
				       PW_UNCHECKED_DROP_DEFAULT),
			 0);
	snprintf(f->name, sizeof(f->name), "pwst%d", (int)getpid() % 100000);
	*state = f;
	return 0;
}

static void unpin(struct fx *f)
{
	struct bpf_map *map;
	char path[512];

	if (!f->pinned)
		return;
	bpf_object__for_each_map(map, f->x.skel->obj) {
		snprintf(path, sizeof(path), "%s/%s", f->pin_dir,
			 bpf_map__name(map));
		unlink(path);
	}
	rmdir(f->pin_dir);
	unlink(f->state_path);
	f->pinned = false;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char path[256];

	unpin(f);
	xr_close(&f->x);
	xr_policy_free(&f->p);
	unlink(f->policy);
	unlink(f->inventory);
	snprintf(path, sizeof(path), "%s/metrics.prom", f->dir);
	unlink(path);
	rmdir(f->dir);
	free(f->out);
	free(f);
	return 0;
}

/*
 * What `portwarden load` leaves behind: the pw_* maps pinned under
 * PW_PIN_ROOT/<[netns:]name>/ and the state file.
 */
static void pin_as_loaded(struct fx *f, const char *netns)
{
	struct pw_state st = { 0 };
	char *roles[] = { "db" };
	struct bpf_map *map;
	char path[512];

	pw_pin_dir(netns, f->name, f->pin_dir, sizeof(f->pin_dir));
	pw_state_path(netns, f->name, f->state_path, sizeof(f->state_path));
	mkdir(PW_PIN_ROOT, 0700);
	assert_int_equal(mkdir(f->pin_dir, 0700), 0);
	f->pinned = true;
	bpf_object__for_each_map(map, f->x.skel->obj) {
		if (strncmp(bpf_map__name(map), "pw_", 3))
			continue;
		snprintf(path, sizeof(path), "%s/%s", f->pin_dir,
			 bpf_map__name(map));
		assert_int_equal(bpf_map__pin(map, path), 0);
	}
	st.policy = f->policy;
	st.inventory = f->inventory;
	st.roles = roles;
	st.nroles = 1;
	st.mode = PW_MODE_AUDIT;
	snprintf(st.xdp_mode, sizeof(st.xdp_mode), "generic");
	st.loaded_at = time(NULL);
	st.digest = f->p.c.info.policy_digest;
	st.netns = (char *)netns;
	assert_int_equal(pw_state_write(f->state_path, &st), 0);
}

/* Run the CLI with @args (a shell word list); stdout into f->out. */
static void cli(struct fx *f, const char *args)
{
	const char *root = getenv("PW_BUILD_ROOT");
	char cmd[1024], buf[4096];
	size_t n, len = 0;
	FILE *p;

	if (!root)
		root = "build";
	snprintf(cmd, sizeof(cmd), "%s/portwarden %s", root, args);
	p = popen(cmd, "r");
	assert_non_null(p);
	free(f->out);
	f->out = NULL;
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0) {
		f->out = realloc(f->out, len + n + 1);
		assert_non_null(f->out);
		memcpy(f->out + len, buf, n);
		len += n;
		f->out[len] = '\0';
	}
	if (!f->out)
		f->out = strdup("");
	f->status = pclose(p);
	f->status = WIFEXITED(f->status) ? WEXITSTATUS(f->status) : -1;
}

static void expect_in_output(struct fx *f, const char *want)
{
	if (!strstr(f->out, want))
		fprintf(stderr, "--- want in output:\n%s\n--- got:\n%s---\n",
			want, f->out);
	assert_non_null(strstr(f->out, want));
}

/* --------------------------------------------------------- collect -- */

static const struct pw_report_row *row_of(const struct pw_report *r,
					  uint8_t proto, const char *role,
					  uint16_t port, uint8_t verdict)
{
	uint32_t i;

	for (i = 0; i < r->nrows; i++) {
		const struct pw_report_row *row = &r->rows[i];

		if (row->key.proto == proto && !strcmp(row->role, role) &&
		    row->key.port_lo == port && row->key.verdict == verdict)
			return row;
	}
	fail_msg("no row %u/%s/%u verdict %u", proto, role, port, verdict);
	return NULL;
}

static void test_collect(void **state)
{
	struct fx *f = *state;
	struct pw_report_opts o = { 0 };
	const struct pw_report_row *row;
	struct pw_report r;

	send_traffic(f);
	assert_int_equal(pw_report_collect(&f->x.m, &f->p.c, &o, &r), 0);
	assert_int_equal(r.nrows, 4);
	assert_int_equal(r.digest, f->p.c.info.policy_digest);
	assert_int_equal(r.mode, PW_MODE_AUDIT);

	row = &r.rows[0];
	assert_ptr_equal(row, row_of(&r, 6, "app", 3306, PW_VERDICT_ALLOW));
	assert_int_equal(row->sum.packets, 3);
	assert_int_equal(row->sum.bytes, f->bytes_app_3306);
	assert_int_equal(row->rule_id, 1);
	assert_string_equal(row->note, "mysql");

	row = &r.rows[1];
	assert_ptr_equal(row, row_of(&r, 6, "unknown", 23, PW_VERDICT_AUDIT));
	assert_true(row->unnamed);
	assert_int_equal(row->sum.packets, 2);
	assert_int_equal(row->sum.bytes, f->bytes_unknown_23);
	assert_string_equal(row->note, PW_NOTE_NO_RULE);

	/* one packet each: icmp (1) before tcp (6) */
	row = &r.rows[2];
	assert_ptr_equal(row, row_of(&r, 1, "op", 8, PW_VERDICT_ALLOW));
	assert_int_equal(row->sum.bytes, f->bytes_op_ping);
	assert_string_equal(row->note, "ping");
	row = &r.rows[3];
	assert_ptr_equal(row,
			 row_of(&r, 6, "unknown", 3306, PW_VERDICT_AUDIT));
	assert_int_equal(row->sum.packets, 1);
	assert_int_equal(row->sum.bytes, f->bytes_unknown_3306);
	assert_int_equal(row->rule_id, 1);

	assert_int_equal(r.reasons[PW_REASON_CLASSIFIED].packets, 7);
	assert_int_equal(r.reasons[PW_REASON_ARP].packets, 1);
	assert_int_equal(r.reasons[PW_REASON_ARP].bytes, f->bytes_arp);

	/* ssh and the udp range were never used; ping out of db neither */
	assert_int_equal(r.nunused, 3);
	assert_int_equal(r.unused[0].eff->rule_id, 2);
	assert_int_equal(r.unused[1].eff->rule_id, 4);
	assert_int_equal(r.unused[2].eff->rule_id, 3);
	assert_int_equal(r.unused[2].eff->dir, PW_DIR_EGRESS);
	pw_report_free(&r);

	o.filter = PW_REPORT_VIOLATIONS;
	assert_int_equal(pw_report_collect(&f->x.m, NULL, &o, &r), 0);
	assert_int_equal(r.nrows, 2);
	assert_string_equal(r.rows[1].note, PW_NOTE_UNAVAILABLE);
	assert_false(r.have_policy);
	pw_report_free(&r);
}

/* A reload keeps the slots: counters of both generations add up. */
static void test_collect_after_reload(void **state)
{
	static const char *const host[] = { "db" };
	struct fx *f = *state;
	struct pw_report_opts o = { 0 };
	struct pw_prev_state prev = {
		.roles = f->p.c.role_names,
		.nroles = f->p.c.nroles,
		.slots = f->p.c.slots,
		.nslots = f->p.c.nslots,
	};
	struct pw_compile_opts co = { .host_roles = host, .nhost_roles = 1,
				      .prev = &prev };
	struct pw_policy pol = { 0 };
	struct pw_compiled c2;
	struct pw_diags d = { 0 };
	const struct pw_report_row *row;
	struct pw_report r;

	send_traffic(f);
	assert_int_equal(pw_policy_parse_buffer("b.policy",
						policy_changed_text, &pol, &d),
			 0);
	assert_int_equal(pw_compile(&pol, &f->p.inv, &co, &c2, &d), 0);
	assert_int_equal(xr_install(&f->x, &c2), 0);
	assert_int_equal(send_tcp(f, "198.18.1.10", 3306, 0) > 0, 1);

	assert_int_equal(pw_report_collect(&f->x.m, &c2, &o, &r), 0);
	row = row_of(&r, 6, "app", 3306, PW_VERDICT_ALLOW);
	assert_int_equal(row->sum.packets, 4);
	assert_string_equal(row->note, "mysql, renamed");
	pw_report_free(&r);

	pw_compiled_free(&c2);
	pw_policy_free(&pol);
	pw_diags_free(&d);
}

/* ------------------------------------------------------------- CLI -- */

static void test_cli_table(void **state)
{
	struct fx *f = *state;
	char args[256], line[256];

	send_traffic(f);
	pin_as_loaded(f, NULL);
	snprintf(args, sizeof(args), "stats --iface %s 2>/dev/null", f->name);
	cli(f, args);
	assert_int_equal(f->status, 0);
	expect_in_output(f, "policy shop, digest ");
	expect_in_output(f, "mode audit\n\n"
			    "DIR      ROLE     PROTO/PORT  VERDICT  PACKETS  "
			    "BYTES  RULE  NOTE\n");
	snprintf(line, sizeof(line),
		 "ingress  app      tcp/3306    allow          3  %5llu     "
		 "1  mysql\n",
		 (unsigned long long)f->bytes_app_3306);
	expect_in_output(f, line);
	snprintf(line, sizeof(line),
		 "ingress  unknown  tcp/23      audit          2  %5llu     "
		 "-  no rule\n",
		 (unsigned long long)f->bytes_unknown_23);
	expect_in_output(f, line);
	expect_in_output(f, "Judged by the policy: 7 packets");
	expect_in_output(f, "  arp                         1 packets");

	snprintf(args, sizeof(args), "stats --iface %s --violations -j",
		 f->name);
	cli(f, args);
	assert_int_equal(f->status, 0);
	expect_in_output(f, "\"policy\":\"shop\"");
	expect_in_output(f, "\"stale\":false");
	expect_in_output(f, "\"rows\":[{\"direction\":\"ingress\","
			    "\"role\":\"unknown\",\"role_id\":0,"
			    "\"proto\":\"tcp\",\"ipproto\":6,\"port\":\"23\"");
	assert_null(strstr(f->out, "\"verdict\":\"allow\""));

	snprintf(args, sizeof(args), "stats --iface %s --unused", f->name);
	cli(f, args);
	assert_int_equal(f->status, 0);
	expect_in_output(f, "ingress      2  tcp/22         op     ssh\n");
	expect_in_output(f, "ingress      4  udp/4000-4003  app    stats\n");
}

static void test_cli_prometheus(void **state)
{
	struct fx *f = *state;
	char args[512], line[256], path[256];
	int rc;

	send_traffic(f);
	pin_as_loaded(f, "labns");
	snprintf(args, sizeof(args),
		 "stats --netns labns --iface %s --prometheus", f->name);
	cli(f, args);
	assert_int_equal(f->status, 0);
	snprintf(line, sizeof(line),
		 "portwarden_packets_total{iface=\"%s\",netns=\"labns\","
		 "dir=\"ingress\",role=\"app\",proto=\"tcp\","
		 "port=\"3306\",verdict=\"allow\",rule=\"1\"} 3\n",
		 f->name);
	expect_in_output(f, line);
	snprintf(line, sizeof(line),
		 "portwarden_bytes_total{iface=\"%s\",netns=\"labns\","
		 "dir=\"ingress\",role=\"unknown\",proto=\"tcp\","
		 "port=\"23\",verdict=\"audit\",rule=\"none\"} %llu\n",
		 f->name, (unsigned long long)f->bytes_unknown_23);
	expect_in_output(f, line);
	if (system("command -v promtool >/dev/null 2>&1")) {
		fprintf(stderr, "promtool not installed: check skipped\n");
		return;
	}
	snprintf(path, sizeof(path), "%s/metrics.prom", f->dir);
	write_file(path, f->out);
	snprintf(args, sizeof(args), "promtool check metrics < %s", path);
	rc = system(args);
	assert_int_equal(rc, 0);
}

static void test_cli_stale_and_missing_policy(void **state)
{
	struct fx *f = *state;
	char args[256];

	send_traffic(f);
	pin_as_loaded(f, NULL);
	write_file(f->policy, policy_changed_text);
	snprintf(args, sizeof(args), "stats --iface %s 2>&1", f->name);
	cli(f, args);
	assert_int_equal(f->status, 0);
	expect_in_output(f, "notes may be outdated");
	/* notes from the files as they are now; counters all there */
	expect_in_output(f, "tcp/3306    allow          3");
	expect_in_output(f, "mysql, renamed\n");

	unlink(f->policy);
	cli(f, args);
	assert_int_equal(f->status, 0);
	expect_in_output(f, "cannot recompile the policy");
	expect_in_output(f, "tcp/3306    allow          3");
	expect_in_output(f, "1  (policy unavailable)\n");
	expect_in_output(f, "-  no rule\n");

	snprintf(args, sizeof(args), "stats --iface %s -j 2>/dev/null",
		 f->name);
	cli(f, args);
	assert_int_equal(f->status, 0);
	expect_in_output(f, "\"notes\":\"unavailable\"");

	snprintf(args, sizeof(args), "stats --iface %s --unused 2>&1",
		 f->name);
	cli(f, args);
	assert_int_equal(f->status, 1);
	expect_in_output(f, "--unused needs the policy files");
}

static void test_cli_reset(void **state)
{
	struct fx *f = *state;
	struct pw_counter sum;
	char args[256];

	send_traffic(f);
	pin_as_loaded(f, NULL);
	snprintf(args, sizeof(args), "stats --iface %s --reset", f->name);
	cli(f, args);
	assert_int_equal(f->status, 0);
	/* printed before the reset */
	expect_in_output(f, "tcp/3306    allow          3");
	assert_int_equal(pw_maps_read_reason(&f->x.m, PW_REASON_CLASSIFIED,
					     &sum),
			 0);
	assert_int_equal(sum.packets, 0);
	snprintf(args, sizeof(args), "stats --iface %s", f->name);
	cli(f, args);
	assert_int_equal(f->status, 0);
	expect_in_output(f, "No packets counted under a rule key.\n");
	expect_in_output(f, "Judged by the policy: 0 packets, 0 bytes\n");
}

static void test_cli_errors(void **state)
{
	struct fx *f = *state;

	cli(f, "stats --iface pw-no-such 2>&1");
	assert_int_equal(f->status, 1);
	expect_in_output(f, "stats: pw-no-such: not loaded");
	cli(f, "stats 2>&1");
	assert_int_equal(f->status, 1);
	expect_in_output(f, "--iface IF is needed");
	cli(f, "stats --iface x --prometheus -j 2>/dev/null");
	assert_int_equal(f->status, 1);
	expect_in_output(f, "{\"error\":\"stats: --prometheus and -j");
	cli(f, "stats --iface x --unused --violations 2>&1");
	assert_int_equal(f->status, 1);
	expect_in_output(f, "does not combine with --violations");
	cli(f, "stats --iface x --bogus 2>&1");
	assert_int_equal(f->status, 1);
	expect_in_output(f, "unknown option '--bogus'");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_collect),
		T(test_collect_after_reload),
		T(test_cli_table),
		T(test_cli_prometheus),
		T(test_cli_stale_and_missing_policy),
		T(test_cli_reset),
		T(test_cli_errors),
	};

	xr_require_root("test_stats");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
