// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_addr.c - prefixes (parse, format, compare), ranges to CIDRs, and
 * the diagnostic format.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "addr.h"
#include "diag.h"

/* Parse @s, which must succeed, and return its canonical text. */
static const char *canon(const char *s)
{
	static char buf[PW_PREFIX_STRLEN];
	struct pw_prefix p;
	const char *why = NULL;

	if (pw_prefix_parse(s, &p, &why) != 0)
		fail_msg("'%s' did not parse: %s", s, why);
	pw_prefix_format(&p, buf, sizeof(buf));
	return buf;
}

static struct pw_prefix pfx(const char *s)
{
	struct pw_prefix p;
	const char *why = NULL;

	if (pw_prefix_parse(s, &p, &why) != 0)
		fail_msg("'%s' did not parse: %s", s, why);
	return p;
}

/* Parse @s, which must fail with @reason. */
static void bad(const char *s, const char *reason)
{
	struct pw_prefix p;
	const char *why = NULL;

	assert_int_equal(pw_prefix_parse(s, &p, &why), -1);
	assert_non_null(why);
	if (strcmp(why, reason))
		fail_msg("'%s': expected '%s', got '%s'", s, reason, why);
}

static void test_parse_ipv4(void **state)
{
	struct pw_prefix p = pfx("198.18.0.1");

	assert_int_equal(p.family, 4);
	assert_int_equal(p.plen, 32);
	assert_int_equal(p.addr[0], 198);
	assert_int_equal(p.addr[1], 18);
	assert_int_equal(p.addr[2], 0);
	assert_int_equal(p.addr[3], 1);
	for (int i = 4; i < 16; i++)
		assert_int_equal(p.addr[i], 0);

	p = pfx("198.18.0.0/24");
	assert_int_equal(p.family, 4);
	assert_int_equal(p.plen, 24);

	assert_string_equal(canon("198.18.0.1"), "198.18.0.1/32");
	assert_string_equal(canon("198.18.0.1/32"), "198.18.0.1/32");
	assert_string_equal(canon("198.18.0.0/24"), "198.18.0.0/24");
	assert_string_equal(canon("198.18.0.0/15"), "198.18.0.0/15");
	assert_string_equal(canon("0.0.0.0/0"), "0.0.0.0/0");
	assert_string_equal(canon("198.18.3.128/25"), "198.18.3.128/25");
	assert_string_equal(canon("255.255.255.255"), "255.255.255.255/32");
}

static void test_parse_ipv6(void **state)
{
	struct pw_prefix p = pfx("2001:db8::1");

	assert_int_equal(p.family, 6);
	assert_int_equal(p.plen, 128);
	assert_int_equal(p.addr[0], 0x20);
	assert_int_equal(p.addr[1], 0x01);
	assert_int_equal(p.addr[2], 0x0d);
	assert_int_equal(p.addr[3], 0xb8);
	assert_int_equal(p.addr[15], 1);

	/* Canonical text is inet_ntop's: lower case, longest zero run as :: */
	assert_string_equal(canon("2001:DB8::1"), "2001:db8::1/128");
	assert_string_equal(canon("2001:0db8:0000:0000:0000:0000:0000:0001"),
			    "2001:db8::1/128");
	assert_string_equal(canon("2001:db8::/32"), "2001:db8::/32");
	assert_string_equal(canon("2001:db8:0:0::/64"), "2001:db8::/64");
	assert_string_equal(canon("2001:db8:1::10"), "2001:db8:1::10/128");
	assert_string_equal(canon("::/0"), "::/0");
	assert_string_equal(canon("::1"), "::1/128");
	assert_string_equal(canon("::ffff:198.18.0.1"), "::ffff:198.18.0.1/128");
	assert_string_equal(canon("2001:db8:8000::/33"), "2001:db8:8000::/33");
	assert_int_equal(pfx("::ffff:198.18.0.1").family, 6);
}

static void test_parse_errors(void **state)
{
	struct pw_prefix p;
	const char *why;
	char buf[PW_PREFIX_STRLEN];

	bad("", "not an address");
	bad("1.2.3", "not an address");
	bad("1.2.3.4.5", "not an address");
	bad("256.0.0.1", "not an address");
	bad("010.0.0.1", "not an address"); /* no octal guessing */
	bad("db", "not an address");
	bad("2001:db8::g", "not an address");
	bad("2001:db8:::1", "not an address");
	bad("/24", "not an address");
	bad(" 1.2.3.4", "not an address");
	bad("1.2.3.4/33", "prefix length out of range");
	bad("1.2.3.4/", "prefix length out of range");
	bad("1.2.3.4/x", "prefix length out of range");
	bad("1.2.3.4/-1", "prefix length out of range");
	bad("1.2.3.4/0024", "prefix length out of range");
	bad("2001:db8::/129", "prefix length out of range");
	bad("198.18.2.1/24", "host bits set");
	bad("2001:db8::1/64", "host bits set");
	bad("0.0.0.1/0", "host bits set");
	bad("198.18.3.129/25", "host bits set");

	/* A prefix with host bits set comes back masked, for a suggestion. */
	assert_int_equal(pw_prefix_parse("198.18.2.77/24", &p, &why), -1);
	pw_prefix_format(&p, buf, sizeof(buf));
	assert_string_equal(buf, "198.18.2.0/24");
	assert_int_equal(pw_prefix_parse("2001:db8:1:2:3::5/48", &p, &why), -1);
	pw_prefix_format(&p, buf, sizeof(buf));
	assert_string_equal(buf, "2001:db8:1::/48");
	assert_int_equal(pw_prefix_parse("198.18.3.255/31", &p, &why), -1);
	pw_prefix_format(&p, buf, sizeof(buf));
	assert_string_equal(buf, "198.18.3.254/31");
}

static void test_longest_text_fits(void **state)
{
	char buf[PW_PREFIX_STRLEN];
	struct pw_prefix p = pfx("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");

	pw_prefix_format(&p, buf, sizeof(buf));
	assert_string_equal(buf, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
	p = pfx("::ffff:255.255.255.255");
	pw_prefix_format(&p, buf, sizeof(buf));
	assert_string_equal(buf, "::ffff:255.255.255.255/128");
}

static void test_equal_contains_cmp(void **state)
{
	struct pw_prefix a = pfx("198.18.2.0/24"), b = pfx("198.18.2.5");
	struct pw_prefix c = pfx("198.18.3.0/24"), d = pfx("198.18.2.0/24");
	struct pw_prefix e = pfx("198.18.2.0/25"), all4 = pfx("0.0.0.0/0");
	struct pw_prefix v6 = pfx("2001:db8::/32"), v6h = pfx("2001:db8:1::10");
	struct pw_prefix v6o = pfx("2001:db9::1"), all6 = pfx("::/0");
	struct pw_prefix z4 = pfx("0.0.0.0"), z6 = pfx("::");

	assert_true(pw_prefix_equal(&a, &d));
	assert_false(pw_prefix_equal(&a, &e));
	assert_false(pw_prefix_equal(&a, &c));
	assert_false(pw_prefix_equal(&z4, &z6)); /* families differ */

	assert_true(pw_prefix_contains(&a, &b));
	assert_true(pw_prefix_contains(&a, &a));
	assert_true(pw_prefix_contains(&a, &e));
	assert_false(pw_prefix_contains(&e, &a)); /* shorter inside longer */
	assert_false(pw_prefix_contains(&c, &b));
	assert_true(pw_prefix_contains(&all4, &b));
	assert_false(pw_prefix_contains(&all4, &v6));
	assert_true(pw_prefix_contains(&v6, &v6h));
	assert_false(pw_prefix_contains(&v6, &v6o));
	assert_true(pw_prefix_contains(&all6, &v6o));
	assert_false(pw_prefix_contains(&all6, &b));

	/* family, then address, then length */
	assert_int_equal(pw_prefix_cmp(&a, &d), 0);
	assert_int_equal(pw_prefix_cmp(&a, &e), -1);
	assert_int_equal(pw_prefix_cmp(&e, &a), 1);
	assert_int_equal(pw_prefix_cmp(&a, &b), -1);
	assert_int_equal(pw_prefix_cmp(&b, &c), -1);
	assert_int_equal(pw_prefix_cmp(&c, &v6), -1);
	assert_int_equal(pw_prefix_cmp(&v6, &all4), 1);
	assert_int_equal(pw_prefix_cmp(&all6, &v6), -1);
}

/* ------------------------------------------------------------------ */
/* Ranges                                                              */
/* ------------------------------------------------------------------ */

struct collect {
	char text[64][PW_PREFIX_STRLEN];
	struct pw_prefix p[64];
	int n;
	int stop_after; /* 0 = never */
};

static int collect_emit(const struct pw_prefix *p, void *arg)
{
	struct collect *c = arg;

	assert_true(c->n < 64);
	c->p[c->n] = *p;
	pw_prefix_format(p, c->text[c->n], sizeof(c->text[0]));
	c->n++;
	if (c->stop_after && c->n == c->stop_after)
		return 7;
	return 0;
}

/* Range @a-@b as a comma-joined CIDR list. */
static const char *range(const char *a, const char *b)
{
	static char out[64 * PW_PREFIX_STRLEN];
	struct pw_prefix pa = pfx(a), pb = pfx(b);
	struct collect c = { .n = 0 };
	const char *why = NULL;

	assert_int_equal(pw_range_to_prefixes(&pa, &pb, collect_emit, &c, &why),
			 0);
	out[0] = '\0';
	for (int i = 0; i < c.n; i++) {
		if (i)
			strcat(out, ",");
		strcat(out, c.text[i]);
	}
	return out;
}

static void test_range_ipv4(void **state)
{
	assert_string_equal(range("198.18.3.10", "198.18.3.20"),
			    "198.18.3.10/31,198.18.3.12/30,198.18.3.16/30,"
			    "198.18.3.20/32");
	assert_string_equal(range("198.18.3.10", "198.18.3.10"),
			    "198.18.3.10/32");
	assert_string_equal(range("198.18.3.0", "198.18.3.255"),
			    "198.18.3.0/24");
	assert_string_equal(range("198.18.0.0", "198.19.255.255"),
			    "198.18.0.0/15");
	assert_string_equal(range("198.18.3.255", "198.18.4.0"),
			    "198.18.3.255/32,198.18.4.0/32");
	assert_string_equal(range("198.18.0.1", "198.18.0.6"),
			    "198.18.0.1/32,198.18.0.2/31,198.18.0.4/31,"
			    "198.18.0.6/32");
	assert_string_equal(range("0.0.0.0", "255.255.255.255"), "0.0.0.0/0");
	assert_string_equal(range("255.255.255.254", "255.255.255.255"),
			    "255.255.255.254/31");
	assert_string_equal(range("0.0.0.1", "255.255.255.255"),
			    "0.0.0.1/32,0.0.0.2/31,0.0.0.4/30,0.0.0.8/29,"
			    "0.0.0.16/28,0.0.0.32/27,0.0.0.64/26,0.0.0.128/25,"
			    "0.0.1.0/24,0.0.2.0/23,0.0.4.0/22,0.0.8.0/21,"
			    "0.0.16.0/20,0.0.32.0/19,0.0.64.0/18,0.0.128.0/17,"
			    "0.1.0.0/16,0.2.0.0/15,0.4.0.0/14,0.8.0.0/13,"
			    "0.16.0.0/12,0.32.0.0/11,0.64.0.0/10,0.128.0.0/9,"
			    "1.0.0.0/8,2.0.0.0/7,4.0.0.0/6,8.0.0.0/5,"
			    "16.0.0.0/4,32.0.0.0/3,64.0.0.0/2,128.0.0.0/1");
}

static void test_range_ipv6(void **state)
{
	assert_string_equal(range("2001:db8::a", "2001:db8::14"),
			    "2001:db8::a/127,2001:db8::c/126,2001:db8::10/126,"
			    "2001:db8::14/128");
	assert_string_equal(range("2001:db8:1::", "2001:db8:1::ffff"),
			    "2001:db8:1::/112");
	assert_string_equal(range("2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"),
			    "2001:db8::/32");
	assert_string_equal(range("2001:db8::ffff", "2001:db8::1:0"),
			    "2001:db8::ffff/128,2001:db8::1:0/128");
	assert_string_equal(range("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
			    "::/0");
	assert_string_equal(range("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe",
				  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
			    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127");
	/* the upper half of the space: one /1, no wrap-around at the top */
	assert_string_equal(range("8000::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
			    "8000::/1");
	assert_string_equal(range("::1", "::3"), "::1/128,::2/127");
}

static void range_fails(const char *a, const char *b, const char *reason)
{
	struct pw_prefix pa = pfx(a), pb = pfx(b);
	struct collect c = { .n = 0 };
	const char *why = NULL;

	assert_int_equal(pw_range_to_prefixes(&pa, &pb, collect_emit, &c, &why),
			 -1);
	assert_int_equal(c.n, 0);
	assert_string_equal(why, reason);
}

static void test_range_errors(void **state)
{
	range_fails("198.18.3.20", "198.18.3.10", "range is reversed");
	range_fails("2001:db8::2", "2001:db8::1", "range is reversed");
	range_fails("198.18.3.20", "2001:db8::1", "range mixes IPv4 and IPv6");
	range_fails("198.18.3.0/24", "198.18.4.0",
		    "range ends must be addresses, not prefixes");
}

static void test_range_emit_stops(void **state)
{
	struct pw_prefix a = pfx("198.18.0.1"), b = pfx("198.18.0.6");
	struct collect c = { .n = 0, .stop_after = 2 };
	const char *why = NULL;

	assert_int_equal(pw_range_to_prefixes(&a, &b, collect_emit, &c, &why),
			 7);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.text[1], "198.18.0.2/31");
}

/*
 * Every range inside a small IPv4 window: the CIDRs must be aligned, in
 * order, tile the range exactly, and be as few as possible (no two
 * neighbours could merge into one block, and no block could grow).
 */
static uint32_t ip4(const struct pw_prefix *p)
{
	return (uint32_t)p->addr[0] << 24 | (uint32_t)p->addr[1] << 16 |
	       (uint32_t)p->addr[2] << 8 | p->addr[3];
}

static int count_minimal(uint32_t lo, uint32_t hi)
{
	/* independent count: greedy from the top end downwards */
	int n = 0;
	uint64_t end = (uint64_t)hi + 1;

	while (end > lo) {
		uint64_t size = 1;

		while ((end & (size * 2 - 1)) == 0 && end - size * 2 >= lo)
			size *= 2;
		end -= size;
		n++;
	}
	return n;
}

static void test_range_exhaustive(void **state)
{
	const uint32_t base = 0xc6120000; /* 198.18.0.0 */

	for (uint32_t lo = 0; lo < 70; lo++) {
		for (uint32_t hi = lo; hi < 70; hi++) {
			struct pw_prefix a = { .family = 4, .plen = 32 };
			struct pw_prefix b = { .family = 4, .plen = 32 };
			struct collect c = { .n = 0 };
			const char *why = NULL;
			uint32_t next = base + lo;

			for (int i = 0; i < 4; i++) {
				a.addr[i] = (uint8_t)((base + lo) >> (24 - 8 * i));
				b.addr[i] = (uint8_t)((base + hi) >> (24 - 8 * i));
			}
			assert_int_equal(pw_range_to_prefixes(&a, &b, collect_emit,
							      &c, &why), 0);
			for (int i = 0; i < c.n; i++) {
				uint32_t start = ip4(&c.p[i]);
				uint32_t size = 1U << (32 - c.p[i].plen);

				assert_int_equal(start, next);
				assert_int_equal(start & (size - 1), 0);
				next = start + size;
			}
			assert_int_equal(next, base + hi + 1);
			assert_int_equal(c.n, count_minimal(lo, hi));
		}
	}
}

/* ------------------------------------------------------------------ */
/* Diagnostics                                                         */
/* ------------------------------------------------------------------ */

static void test_diag_format(void **state)
{
	struct pw_diags d = { 0 };
	struct pw_loc full = { "a.policy", 3, 14 };
	struct pw_loc noline = { "a.policy", 0, 5 };
	struct pw_loc nocol = { "a.policy", 7, 0 };
	char *s;

	pw_error(&d, &full, "port %d out of range: expected %s", 70000,
		 "1-65535");
	pw_warn(&d, &full, "rule has no note");
	pw_error(&d, &noline, "cannot open: %s", "No such file or directory");
	pw_warn(&d, &nocol, "something about line %d", 7);
	pw_error(&d, NULL, "no file at all");
	assert_int_equal(d.n, 5);
	assert_int_equal(d.nerrors, 3);
	assert_int_equal(d.nwarnings, 2);

	s = pw_diag_format(&d.v[0]);
	assert_string_equal(s, "a.policy:3:14: error: port 70000 out of range: expected 1-65535");
	free(s);
	s = pw_diag_format(&d.v[1]);
	assert_string_equal(s, "a.policy:3:14: warning: rule has no note");
	free(s);
	s = pw_diag_format(&d.v[2]);
	assert_string_equal(s, "a.policy: error: cannot open: No such file or directory");
	free(s);
	s = pw_diag_format(&d.v[3]);
	assert_string_equal(s, "a.policy:7: warning: something about line 7");
	free(s);
	s = pw_diag_format(&d.v[4]);
	assert_string_equal(s, "error: no file at all");
	free(s);

	assert_int_equal(d.v[0].level, PW_DIAG_ERROR);
	assert_int_equal(d.v[1].level, PW_DIAG_WARNING);
	assert_int_equal(d.v[0].line, 3);
	assert_int_equal(d.v[0].col, 14);
	pw_diags_free(&d);
	assert_int_equal(d.n, 0);
	assert_null(d.v);
}

/* The file name is copied: the caller's buffer may go away. */
static void test_diag_copies_file(void **state)
{
	struct pw_diags d = { 0 };
	char name[] = "x.policy";
	struct pw_loc loc = { name, 1, 1 };
	char out[256] = "";
	FILE *f;

	pw_error(&d, &loc, "first");
	pw_warn(&d, &loc, "second %s", "one");
	strcpy(name, "gone!!!!");
	f = fmemopen(out, sizeof(out), "w");
	assert_non_null(f);
	pw_diags_print(&d, f);
	fclose(f);
	assert_string_equal(out, "x.policy:1:1: error: first\n"
				 "x.policy:1:1: warning: second one\n");
	pw_diags_free(&d);
}

static void test_diag_many(void **state)
{
	struct pw_diags d = { 0 };
	struct pw_loc loc = { "m", 1, 1 };

	for (int i = 0; i < 1000; i++)
		pw_warn(&d, &loc, "w%d", i);
	assert_int_equal(d.n, 1000);
	assert_int_equal(d.nerrors, 0);
	assert_string_equal(d.v[999].msg, "w999");
	pw_diags_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ipv4),
		cmocka_unit_test(test_parse_ipv6),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_longest_text_fits),
		cmocka_unit_test(test_equal_contains_cmp),
		cmocka_unit_test(test_range_ipv4),
		cmocka_unit_test(test_range_ipv6),
		cmocka_unit_test(test_range_errors),
		cmocka_unit_test(test_range_emit_stops),
		cmocka_unit_test(test_range_exhaustive),
		cmocka_unit_test(test_diag_format),
		cmocka_unit_test(test_diag_copies_file),
		cmocka_unit_test(test_diag_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
