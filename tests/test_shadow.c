// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_shadow.c - the shadow report (rows sorted, names, totals, text and
 * JSON) from hand-made keys, and the shadow file: written, read back, and
 * still readable as a plain state file.  The end-to-end test with a real
 * datapath is shadow_netns.sh.
 *
 * The report tests need nothing; the file tests write under
 * /run/portwarden and are skipped when that is not writable.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "json.h"
#include "shadow.h"

/* ------------------------------------------------------------ report -- */

static struct pw_shadow_key key(__u8 dir, __u16 role, __u16 shadow_role,
				__u8 proto, __u16 port, __u8 verdict,
				__u8 shadow_verdict)
{
	struct pw_shadow_key k = {
		.dir = dir,
		.proto = proto,
		.role = role,
		.shadow_role = shadow_role,
		.port = port,
		.verdict = verdict,
		.shadow_verdict = shadow_verdict,
	};
	return k;
}

static void add(struct pw_shadow_report *r, struct pw_shadow_key k,
		__u64 packets, __u64 bytes)
{
	struct pw_counter c = { .packets = packets, .bytes = bytes };

	assert_int_equal(pw_shadow_report_add(r, &k, &c), 0);
}

/* Roles 0 unknown, 1 app, 2 db, 3 backup; keys in no order. */
static void build(struct pw_shadow_report *r)
{
	static const char *names[] = { "unknown", "app", "db", "backup" };
	unsigned i;

	memset(r, 0, sizeof(*r));
	r->iface = "eth9";
	r->running_policy = "/etc/portwarden/run.policy";
	r->running_digest = 0x1122334455667788ULL;
	r->active_gen = 1;
	r->role_text = calloc(4, sizeof(*r->role_text));
	assert_non_null(r->role_text);
	for (i = 0; i < 4; i++)
		strcpy(r->role_text[i], names[i]);
	r->nrole_text = 4;
	add(r, key(PW_DIR_INGRESS, 0, 3, 17, 7100, PW_VERDICT_AUDIT,
		   PW_VERDICT_ALLOW), 2, 86);
	add(r, key(PW_DIR_INGRESS, 1, 1, 17, 5002, PW_VERDICT_ALLOW,
		   PW_VERDICT_AUDIT), 6, 298);
	/* as many packets as the first: the key decides (egress after) */
	add(r, key(PW_DIR_EGRESS, 2, 2, 6, 443, PW_VERDICT_ALLOW,
		   PW_VERDICT_DROP), 2, 120);
	/* a role id past the names */
	add(r, key(PW_DIR_INGRESS, 9, 1, 6, 22, PW_VERDICT_AUDIT,
		   PW_VERDICT_ALLOW), 1, 60);
	pw_shadow_report_finish(r);
}

static void test_rows_sorted_named_summed(void **state)
{
	struct pw_shadow_report r;

	(void)state;
	build(&r);
	assert_int_equal(r.nrows, 4);
	assert_int_equal(r.rows[0].key.port, 5002);
	assert_string_equal(r.rows[0].role, "app");
	assert_string_equal(r.rows[0].shadow_role, "app");
	assert_int_equal(r.rows[1].key.port, 7100);
	assert_string_equal(r.rows[1].role, "unknown");
	assert_string_equal(r.rows[1].shadow_role, "backup");
	assert_int_equal(r.rows[2].key.port, 443);
	assert_int_equal(r.rows[2].key.dir, PW_DIR_EGRESS);
	assert_int_equal(r.rows[3].key.port, 22);
	assert_string_equal(r.rows[3].role, "role#?");
	assert_int_equal(r.total.packets, 11);
	assert_int_equal(r.total.bytes, 564);
	pw_shadow_report_free(&r);
}

/* Render @r with @print in text or JSON into a string (free it). */
static char *render(const struct pw_shadow_report *r, bool json,
		    void (*print)(const struct pw_shadow_report *r))
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);

	assert_non_null(m);
	pw_out_init(m, json, false);
	print(r);
	pw_out_finish();
	fclose(m);
	return text;
}

static void test_rows_text(void **state)
{
	struct pw_shadow_report r;
	char *text;

	(void)state;
	build(&r);
	text = render(&r, false, pw_shadow_print_rows);
	assert_string_equal(
		text,
		"eth9: no shadow policy is loaded\n"
		"  running     /etc/portwarden/run.policy, digest "
		"1122334455667788 (generation 1)\n"
		"  (the counts of the last shadow, promoted)\n"
		"\n"
		"DIR      ROLE -> SHADOW     PROTO/PORT  VERDICT -> SHADOW  "
		"PACKETS  BYTES\n"
		"ingress  app -> app         udp/5002    allow -> audit        "
		"6    298\n"
		"ingress  unknown -> backup  udp/7100    audit -> allow        "
		"2     86\n"
		"egress   db -> db           tcp/443     allow -> drop         "
		"2    120\n"
		"ingress  role#? -> app      tcp/22      audit -> allow        "
		"1     60\n"
		"\n"
		"  differences 11 packets, 564 bytes under 4 keys\n");
	free(text);
	pw_shadow_report_free(&r);
}

static void test_rows_json(void **state)
{
	struct pw_shadow_report r;
	char *text;

	(void)state;
	build(&r);
	r.not_counted = 3;
	text = render(&r, true, pw_shadow_print_rows);
	assert_non_null(strstr(
		text, "{\"iface\":\"eth9\",\"netns\":null,\"loaded\":false,"
		      "\"shadow\":null,\"running\":{\"path\":"
		      "\"/etc/portwarden/run.policy\",\"digest\":"
		      "\"1122334455667788\",\"generation\":1},\"rows\":[{"));
	assert_non_null(strstr(
		text, "{\"direction\":\"ingress\",\"role\":\"unknown\","
		      "\"role_id\":0,\"shadow_role\":\"backup\","
		      "\"shadow_role_id\":3,\"proto\":\"udp\",\"ipproto\":17,"
		      "\"port\":\"7100\",\"verdict\":\"audit\","
		      "\"shadow_verdict\":\"allow\",\"packets\":2,"
		      "\"bytes\":86}"));
	assert_non_null(strstr(text, "\"totals\":{\"packets\":11,\"bytes\":564,"
				     "\"keys\":4,\"not_counted\":3}}"));
	free(text);
	pw_shadow_report_free(&r);
}

static void test_summary_of_a_loaded_shadow(void **state)
{
	static char *roles[] = { "db", "backup" };
	struct pw_shadow_report r;
	char *text;

	(void)state;
	build(&r);
	r.loaded = true;
	r.described = true;
	r.desc.st.policy = strdup("/srv/cand.policy");
	r.desc.name = strdup("cand");
	r.desc.st.roles = calloc(2, sizeof(char *));
	assert_non_null(r.desc.st.roles);
	r.desc.st.roles[0] = strdup(roles[0]);
	r.desc.st.roles[1] = strdup(roles[1]);
	r.desc.st.nroles = 2;
	r.desc.st.digest = 0xabcdefULL;
	r.desc.gen = 0;
	r.shadow_digest = 0xabcdefULL;
	text = render(&r, true, pw_shadow_print_summary);
	assert_non_null(strstr(
		text, "\"loaded\":true,\"shadow\":{\"name\":\"cand\",\"path\":"
		      "\"/srv/cand.policy\",\"inventory\":null,\"profile\":null,"
		      "\"roles\":[\"db\",\"backup\"],\"tags\":[],\"digest\":"
		      "\"0000000000abcdef\",\"generation\":0,\"stale\":false,"));
	assert_null(strstr(text, "\"rows\""));
	free(text);
	pw_shadow_report_free(&r);
}

/* -------------------------------------------------------------- file -- */

static char file_path[256];

static int file_setup(void **state)
{
	(void)state;
	file_path[0] = '\0';
	if (access(PW_STATE_ROOT, W_OK) && !(errno == ENOENT && !geteuid()))
		return 0;
	snprintf(file_path, sizeof(file_path), "%s/test-shadow-%d.shadow",
		 PW_STATE_ROOT, (int)getpid());
	return 0;
}

static int file_teardown(void **state)
{
	(void)state;
	if (*file_path)
		unlink(file_path);
	return 0;
}

static void test_file_round_trip(void **state)
{
	char *roles[] = { "db" }, *tags[] = { "tls", "ha" };
	struct pw_shadow_state in = {
		.st = {
			.policy = "/srv/p/cand.policy",
			.inventory = "/srv/p/site.inventory",
			.roles = roles,
			.nroles = 1,
			.tags = tags,
			.ntags = 2,
			.mode = PW_MODE_ENFORCE,
			.xdp_mode = "generic",
			.loaded_at = 1700000000,
			.digest = 0x0123456789abcdefULL,
			.netns = "lab1",
		},
		.profile = "/etc/portwarden/db.profile",
		.name = "cand",
		.gen = 1,
		.base_nroles = 5,
		.base_nslots = 42,
	};
	struct pw_shadow_state out;
	struct pw_state plain;
	char err[512];

	(void)state;
	if (!*file_path)
		skip();
	assert_int_equal(pw_shadow_state_write(file_path, &in), 0);
	assert_int_equal(pw_shadow_state_read(file_path, &out, err,
					      sizeof(err)), 0);
	assert_string_equal(out.st.policy, in.st.policy);
	assert_string_equal(out.st.inventory, in.st.inventory);
	assert_int_equal(out.st.nroles, 1);
	assert_string_equal(out.st.roles[0], "db");
	assert_int_equal(out.st.ntags, 2);
	assert_string_equal(out.st.tags[1], "ha");
	assert_int_equal(out.st.mode, PW_MODE_ENFORCE);
	assert_int_equal(out.st.loaded_at, 1700000000);
	assert_true(out.st.digest == 0x0123456789abcdefULL);
	assert_string_equal(out.st.netns, "lab1");
	assert_string_equal(out.profile, in.profile);
	assert_string_equal(out.name, "cand");
	assert_int_equal(out.gen, 1);
	assert_int_equal(out.base_nroles, 5);
	assert_int_equal(out.base_nslots, 42);
	pw_shadow_state_free(&out);

	/* the settings reader takes it, skipping the shadow keys */
	assert_int_equal(pw_state_read(file_path, &plain, err, sizeof(err)),
			 0);
	assert_string_equal(plain.policy, in.st.policy);
	assert_true(plain.digest == in.st.digest);
	pw_state_free(&plain);
}

static void test_file_without_generation(void **state)
{
	struct pw_shadow_state out;
	char err[512];
	FILE *f;

	(void)state;
	if (!*file_path)
		skip();
	f = fopen(file_path, "w");
	assert_non_null(f);
	fputs("policy /p\nrole db\nmode audit\nshadow_name p\n", f);
	fclose(f);
	assert_int_equal(pw_shadow_state_read(file_path, &out, err,
					      sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "no valid shadow_gen line"));

	f = fopen(file_path, "w");
	assert_non_null(f);
	fputs("policy /p\nrole db\nmode audit\nshadow_name p\n"
	      "shadow_gen 1\nshadow_base_slots many\n", f);
	fclose(f);
	assert_int_equal(pw_shadow_state_read(file_path, &out, err,
					      sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":6: bad number 'many'"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows_sorted_named_summed),
		cmocka_unit_test(test_rows_text),
		cmocka_unit_test(test_rows_json),
		cmocka_unit_test(test_summary_of_a_loaded_shadow),
		cmocka_unit_test_setup_teardown(test_file_round_trip,
						file_setup, file_teardown),
		cmocka_unit_test_setup_teardown(test_file_without_generation,
						file_setup, file_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
