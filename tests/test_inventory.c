// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_inventory.c - site inventories: entries in file order, ranges split
 * into CIDRs (IPv4 and IPv6), every error and warning with its place.
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

#include "policy.h"
#include "portwarden.h"
#include "testutil.h"

/* Roles 0-3 declared, 4 and 5 the implicit roles of literal peers. */
static const char policy_text[] =
	"role repman \"replication-manager\"\n"
	"role db \"database\"\n"
	"role app \"application\"\n"
	"role operator \"operators\"\n"
	"allow tcp 1 from db to 198.18.5.5 note \"x\"\n"
	"allow tcp 2 from db to 2001:db8:9::/48 note \"x\"\n";

enum { REPMAN, DB, APP, OPERATOR, LIT4, LIT6 };

static int setup_policy(void **state)
{
	struct pw_policy *pol = calloc(1, sizeof(*pol));
	struct pw_diags d = { 0 };

	if (!pol || pw_policy_parse_buffer("p.policy", policy_text, pol, &d)) {
		pw_diags_print(&d, stderr);
		free(pol);
		return -1;
	}
	pw_diags_free(&d);
	*state = pol;
	return 0;
}

static int free_policy(void **state)
{
	pw_policy_free(*state);
	free(*state);
	return 0;
}

/* Parse @text as "i.inventory": return value @ret, diagnostics @expected. */
static void parse_expect(const struct pw_policy *pol, const char *text,
			 struct pw_inventory *inv, int ret, const char *expected)
{
	struct pw_diags d = { 0 };
	int got_ret = pw_inventory_parse_buffer("i.inventory", text, pol, inv, &d);
	char *got = diags_text(&d);

	if (got_ret != ret || strcmp(got, expected))
		fail_msg("inventory:\n%.400s\n--- expected (ret %d):\n%s\n--- got (ret %d):\n%s",
			 text, ret, expected, got_ret, got);
	if (ret) {
		static const struct pw_inventory zero;

		assert_memory_equal(inv, &zero, sizeof(zero));
		assert_true(d.nerrors > 0);
	} else {
		assert_int_equal(d.nerrors, 0);
	}
	free(got);
	pw_diags_free(&d);
}

static void assert_entry(const struct pw_inventory *inv, int i, int role,
			 const char *prefix, int line, int col)
{
	char buf[PW_PREFIX_STRLEN];
	const struct pw_inv_entry *e;

	assert_true(i < inv->nentries);
	e = &inv->entries[i];
	pw_prefix_format(&e->prefix, buf, sizeof(buf));
	if (e->role != role || strcmp(buf, prefix) || e->loc.line != line ||
	    e->loc.col != col)
		fail_msg("entry %d: expected role %d %s at %d:%d, got role %d %s at %d:%d",
			 i, role, prefix, line, col, e->role, buf, e->loc.line,
			 e->loc.col);
	assert_ptr_equal(e->loc.file, inv->files[0]);
}

/* ------------------------------------------------------------------ */
/* Entries                                                             */
/* ------------------------------------------------------------------ */

static void test_reference_example(void **state)
{
	struct pw_inventory inv;

	parse_expect(*state,
		     "# role   addresses...\n"
		     "repman   198.18.1.10 2001:db8:1::10\n"
		     "db       198.18.2.0/28 2001:db8:2::/64\n"
		     "db       198.18.3.10-198.18.3.20\n"
		     "operator 198.18.9.0/24\n",
		     &inv, 0, "");
	assert_string_equal(inv.path, "i.inventory");
	assert_int_equal(inv.nfiles, 1);
	assert_string_equal(inv.files[0], "i.inventory");
	assert_int_equal(inv.nentries, 9);
	assert_entry(&inv, 0, REPMAN, "198.18.1.10/32", 2, 10);
	assert_entry(&inv, 1, REPMAN, "2001:db8:1::10/128", 2, 22);
	assert_entry(&inv, 2, DB, "198.18.2.0/28", 3, 10);
	assert_entry(&inv, 3, DB, "2001:db8:2::/64", 3, 24);
	/* the range, split into the fewest CIDRs, all located at the range */
	assert_entry(&inv, 4, DB, "198.18.3.10/31", 4, 10);
	assert_entry(&inv, 5, DB, "198.18.3.12/30", 4, 10);
	assert_entry(&inv, 6, DB, "198.18.3.16/30", 4, 10);
	assert_entry(&inv, 7, DB, "198.18.3.20/32", 4, 10);
	assert_entry(&inv, 8, OPERATOR, "198.18.9.0/24", 5, 10);
	assert_int_equal(inv.entries[8].prefix.family, 4);
	assert_int_equal(inv.entries[8].prefix.plen, 24);
	pw_inventory_free(&inv);
	assert_null(inv.entries);
	assert_int_equal(inv.nentries, 0);
}

static void test_ranges_and_canonical_forms(void **state)
{
	struct pw_inventory inv;

	parse_expect(*state,
		     "app 2001:db8:3::a-2001:db8:3::14 \\\n"
		     "    198.18.7.0-198.18.7.255\n"
		     "app 2001:DB8:4:0::/64 2001:0db8:0004:0000::1 198.18.8.8-198.18.8.8\n"
		     "app 2001:db8:5::-2001:db8:5::ffff:ffff # /96\n"
		     "db\t198.18.4.0/23\n",
		     &inv, 0, "");
	assert_int_equal(inv.nentries, 10);
	assert_entry(&inv, 0, APP, "2001:db8:3::a/127", 1, 5);
	assert_entry(&inv, 1, APP, "2001:db8:3::c/126", 1, 5);
	assert_entry(&inv, 2, APP, "2001:db8:3::10/126", 1, 5);
	assert_entry(&inv, 3, APP, "2001:db8:3::14/128", 1, 5);
	assert_entry(&inv, 4, APP, "198.18.7.0/24", 2, 5);
	assert_entry(&inv, 5, APP, "2001:db8:4::/64", 3, 5);
	assert_entry(&inv, 6, APP, "2001:db8:4::1/128", 3, 23);
	assert_entry(&inv, 7, APP, "198.18.8.8/32", 3, 46);
	assert_entry(&inv, 8, APP, "2001:db8:5::/96", 4, 5);
	assert_entry(&inv, 9, DB, "198.18.4.0/23", 5, 4);
	pw_inventory_free(&inv);

	/* nothing at all is a valid, empty inventory */
	parse_expect(*state, "# nobody yet\n\n", &inv, 0, "");
	assert_int_equal(inv.nentries, 0);
	pw_inventory_free(&inv);
}

/* ------------------------------------------------------------------ */
/* Errors and warnings                                                 */
/* ------------------------------------------------------------------ */

struct inv_case {
	const char *text;
	const char *expected;
};

static const struct inv_case error_cases[] = {
	{ "db 198.18.2.1/24\n",
	  "i.inventory:1:4: error: '198.18.2.1/24' has host bits set: expected a network address such as 198.18.2.0/24" },
	{ "db 2001:db8::1/64\n",
	  "i.inventory:1:4: error: '2001:db8::1/64' has host bits set: expected a network address such as 2001:db8::/64" },
	{ "dbb 198.18.2.1\n",
	  "i.inventory:1:1: error: unknown role 'dbb': declare it in the policy with 'role dbb \"...\"'" },
	{ "db 198.18.1.1\n"
	  "operator 198.18.3.3\n"
	  "app 198.18.1.1\n",
	  "i.inventory:3:5: error: 198.18.1.1/32 is already in role 'db' (i.inventory:1): an address has one role" },
	{ "db 198.18.3.10-198.18.3.20\n"
	  "app 198.18.3.12/30\n",
	  "i.inventory:2:5: error: 198.18.3.12/30 is already in role 'db' (i.inventory:1): an address has one role" },
	{ "db 2001:db8:1::/64\n"
	  "app 2001:DB8:1:0::/64\n",
	  "i.inventory:2:5: error: 2001:db8:1::/64 is already in role 'db' (i.inventory:1): an address has one role" },
	{ "db 198.18.5.5\n",
	  "i.inventory:1:4: error: 198.18.5.5/32 is also a literal peer in the policy (p.policy:5): an address has one role" },
	{ "app 198.18.0.0/24 2001:db8:9::/48\n",
	  "i.inventory:1:19: error: 2001:db8:9::/48 is also a literal peer in the policy (p.policy:6): an address has one role" },
	{ "any 198.18.2.1\n",
	  "i.inventory:1:1: error: 'any' is reserved and holds no addresses: expected a role the policy declares" },
	{ "unknown 198.18.2.1\n",
	  "i.inventory:1:1: error: 'unknown' is reserved and holds no addresses: expected a role the policy declares" },
	{ "198.18.2.1 db\n",
	  "i.inventory:1:1: error: expected a role name at the start of the line, found '198.18.2.1'" },
	{ "\"db\" 198.18.2.1\n",
	  "i.inventory:1:1: error: expected a role name at the start of the line, found string \"db\"" },
	{ "198.18.5.5/32 db\n",
	  "i.inventory:1:1: error: expected a role name at the start of the line, found '198.18.5.5/32'" },
	{ "  db   # no addresses\n",
	  "i.inventory:1:3: error: no addresses after role 'db': expected addresses, CIDRs or ranges" },
	{ "db 198.18.2\n",
	  "i.inventory:1:4: error: bad address '198.18.2': expected an IPv4 or IPv6 address, a CIDR or a range FIRST-LAST" },
	{ "db 198.18.2.0/33\n",
	  "i.inventory:1:4: error: bad prefix length in '198.18.2.0/33': expected /0 to /32" },
	{ "db 198.18.2.0,198.18.2.1\n",
	  "i.inventory:1:4: error: bad address '198.18.2.0,198.18.2.1': expected an IPv4 or IPv6 address, a CIDR or a range FIRST-LAST" },
	{ "db \"198.18.2.1\"\n",
	  "i.inventory:1:4: error: expected an address, a CIDR or a range, found string \"198.18.2.1\"" },
	{ "db 198.18.3.20-198.18.3.10\n",
	  "i.inventory:1:4: error: reversed range '198.18.3.20-198.18.3.10': expected FIRST-LAST with FIRST <= LAST" },
	{ "db 2001:db8::20-2001:db8::10\n",
	  "i.inventory:1:4: error: reversed range '2001:db8::20-2001:db8::10': expected FIRST-LAST with FIRST <= LAST" },
	{ "db 198.18.3.1-2001:db8::1\n",
	  "i.inventory:1:4: error: bad range '198.18.3.1-2001:db8::1': it mixes IPv4 and IPv6; expected two addresses of one family" },
	{ "db 198.18.3.0/24-198.18.4.0\n",
	  "i.inventory:1:4: error: bad range '198.18.3.0/24-198.18.4.0': '198.18.3.0/24' is not an address; expected FIRST-LAST, two addresses of one family" },
	{ "db 198.18.3.1-198.18.3\n",
	  "i.inventory:1:15: error: bad range '198.18.3.1-198.18.3': '198.18.3' is not an address; expected FIRST-LAST, two addresses of one family" },
	{ "db 198.18.3.1-\n",
	  "i.inventory:1:15: error: bad range '198.18.3.1-': '' is not an address; expected FIRST-LAST, two addresses of one family" },
	{ "db x-y\n",
	  "i.inventory:1:4: error: bad range 'x-y': 'x' is not an address; expected FIRST-LAST, two addresses of one family" },
	{ "db 198.18.1.1 \"open\n",
	  "i.inventory:1:15: error: unterminated string: expected a closing '\"' before the end of the line" },
	{ "db 198.18.1.1 ;\n",
	  "i.inventory:1:15: error: unexpected character ';': expected a word, a \"string\" or a # comment" },
};

static void test_errors(void **state)
{
	struct pw_inventory inv;

	for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++)
		parse_expect(*state, error_cases[i].text, &inv, -1,
			     error_cases[i].expected);
}

static void test_same_prefix_one_role(void **state)
{
	struct pw_inventory inv;

	parse_expect(*state,
		     "db 198.18.2.1 198.18.2.2\n"
		     "app 198.18.9.9\n"
		     "db 198.18.2.1\n"
		     "db 198.18.2.2/32 2001:db8::1\n"
		     "db 2001:db8:0::1\n",
		     &inv, 0,
		     "i.inventory:3:4: warning: 198.18.2.1/32 listed twice for role 'db' (first at line 1)\n"
		     "i.inventory:4:4: warning: 198.18.2.2/32 listed twice for role 'db' (first at line 1)\n"
		     "i.inventory:5:4: warning: 2001:db8::1/128 listed twice for role 'db' (first at line 4)");
	assert_int_equal(inv.nentries, 4);
	assert_entry(&inv, 0, DB, "198.18.2.1/32", 1, 4);
	assert_entry(&inv, 1, DB, "198.18.2.2/32", 1, 15);
	assert_entry(&inv, 2, APP, "198.18.9.9/32", 2, 5);
	assert_entry(&inv, 3, DB, "2001:db8::1/128", 4, 18);
	pw_inventory_free(&inv);
}

static void test_overlaps(void **state)
{
	struct pw_inventory inv;

	/*
	 * Narrower after wider: a warning at the narrow one.  Wider after
	 * narrower: one warning at the wide one, counting what it covers.
	 * Nested prefixes of one role say nothing.
	 */
	parse_expect(*state,
		     "db       198.18.2.0/24 198.18.2.0/25\n"
		     "app      198.18.2.5\n"
		     "repman   198.18.4.1 198.18.4.2 2001:db8:1::10\n"
		     "operator 198.18.4.0/24\n"
		     "operator 2001:db8:1::/48 198.18.4.8/29\n"
		     "app      198.18.0.0/16\n",
		     &inv, 0,
		     "i.inventory:2:10: warning: 198.18.2.5/32 of role 'app' lies inside 198.18.2.0/25 of role 'db' (line 1): the longer prefix wins\n"
		     "i.inventory:4:10: warning: 198.18.4.0/24 of role 'operator' contains 198.18.4.1/32 of role 'repman' (line 3) and 1 more of other roles: the longer prefix wins\n"
		     "i.inventory:5:10: warning: 2001:db8:1::/48 of role 'operator' contains 2001:db8:1::10/128 of role 'repman' (line 3): the longer prefix wins\n"
		     "i.inventory:6:10: warning: 198.18.0.0/16 of role 'app' contains 198.18.2.0/24 of role 'db' (line 1) and 1 more of other roles: the longer prefix wins");
	assert_int_equal(inv.nentries, 10);
	pw_inventory_free(&inv);

	/* A literal peer inside an inventory prefix is fine: longest wins. */
	parse_expect(*state, "db 198.18.5.0/24 2001:db8::/32\n", &inv, 0, "");
	pw_inventory_free(&inv);
}

/* Checks that compare entries report in line order, mixed with the rest. */
static void test_diagnostics_in_line_order(void **state)
{
	struct pw_inventory inv;

	parse_expect(*state,
		     "db 198.18.1.1\n"
		     "app 198.18.1.1 198.18.1.0/24\n"
		     "nobody 1.2.3.4\n"
		     "db 198.18.1.1\n"
		     "app 198.18.5.5 198.18.1.1/24\n",
		     &inv, -1,
		     "i.inventory:2:5: error: 198.18.1.1/32 is already in role 'db' (i.inventory:1): an address has one role\n"
		     "i.inventory:2:16: warning: 198.18.1.0/24 of role 'app' contains 198.18.1.1/32 of role 'db' (line 1): the longer prefix wins\n"
		     "i.inventory:3:1: error: unknown role 'nobody': declare it in the policy with 'role nobody \"...\"'\n"
		     "i.inventory:4:4: warning: 198.18.1.1/32 listed twice for role 'db' (first at line 1)\n"
		     "i.inventory:5:5: error: 198.18.5.5/32 is also a literal peer in the policy (p.policy:5): an address has one role\n"
		     "i.inventory:5:16: error: '198.18.1.1/24' has host bits set: expected a network address such as 198.18.1.0/24");
}

static void test_ipv6_length_limit(void **state)
{
	struct pw_inventory inv;
	char text[4096] = "";
	char line[128];

	/* The policy's literal /48 is one length; /113../127 make 16. */
	for (int len = 113; len <= 127; len++) {
		snprintf(line, sizeof(line), "db 2001:db8:7::/%d\n", len);
		strcat(text, line);
	}
	strcat(text, "db 2001:db8:8::/113 2001:db8:8::1\n"); /* /128: 17th */
	parse_expect(*state, text, &inv, -1,
		     "i.inventory:16:21: error: too many distinct IPv6 prefix lengths: at most 16 (this adds /128)");

	text[strlen(text) - strlen(" 2001:db8:8::1\n")] = '\0';
	strcat(text, "\n");
	parse_expect(*state, text, &inv, 0, "");
	assert_int_equal(inv.nentries, 16);
	pw_inventory_free(&inv);
}

/* ------------------------------------------------------------------ */
/* Files and size                                                      */
/* ------------------------------------------------------------------ */

static void test_file(void **state)
{
	char dir[] = "/tmp/pw-test-inventory-XXXXXX";
	char path[128], want[256];
	struct pw_inventory inv;
	struct pw_diags d = { 0 };
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/site.inventory", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("db 198.18.2.0/28\nrepman 198.18.1.10\n", f);
	fclose(f);
	assert_int_equal(pw_inventory_parse_file(path, *state, &inv, &d), 0);
	assert_int_equal(d.n, 0);
	assert_string_equal(inv.path, path);
	assert_string_equal(inv.files[0], path);
	assert_int_equal(inv.nentries, 2);
	assert_entry(&inv, 1, REPMAN, "198.18.1.10/32", 2, 8);
	pw_inventory_free(&inv);
	assert_int_equal(unlink(path), 0);

	assert_int_equal(pw_inventory_parse_file(path, *state, &inv, &d), -1);
	snprintf(want, sizeof(want), "%s: error: cannot open: No such file or directory",
		 path);
	{
		char *got = pw_diag_format(&d.v[0]);

		assert_string_equal(got, want);
		free(got);
	}
	assert_int_equal(d.n, 1);
	pw_diags_free(&d);
	assert_int_equal(rmdir(dir), 0);
}

/*
 * A large inventory: every /32 of 198.19.0.0/16, one of them again, and a range
 * that covers 256 of them.  The cross-entry checks sort, so this is quick.
 */
static void test_large(void **state)
{
	size_t cap = 70000 * 24, len = 0;
	char *text = malloc(cap);
	struct pw_inventory inv;

	assert_non_null(text);
	for (int i = 0; i < 65536; i++)
		len += (size_t)snprintf(text + len, cap - len, "%s 198.19.%d.%d\n",
					i % 2 ? "db" : "app", i >> 8, i & 255);
	/* 198.19.77.77 is i = 19789: db, line 19790 */
	len += (size_t)snprintf(text + len, cap - len, "db 198.19.77.77\n");
	snprintf(text + len, cap - len, "repman 198.19.200.0-198.19.200.255\n");
	parse_expect(*state, text, &inv, 0,
		     "i.inventory:65537:4: warning: 198.19.77.77/32 listed twice for role 'db' (first at line 19790)\n"
		     "i.inventory:65538:8: warning: 198.19.200.0/24 of role 'repman' contains 198.19.200.0/32 of role 'app' (line 51201) and 255 more of other roles: the longer prefix wins");
	assert_int_equal(inv.nentries, 65537);
	assert_entry(&inv, 65535, DB, "198.19.255.255/32", 65536, 4);
	assert_entry(&inv, 65536, REPMAN, "198.19.200.0/24", 65538, 8);
	pw_inventory_free(&inv);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_example),
		cmocka_unit_test(test_ranges_and_canonical_forms),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_same_prefix_one_role),
		cmocka_unit_test(test_overlaps),
		cmocka_unit_test(test_diagnostics_in_line_order),
		cmocka_unit_test(test_ipv6_length_limit),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_large),
	};

	return cmocka_run_group_tests(tests, setup_policy, free_policy);
}
