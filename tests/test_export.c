// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_export.c - the nftables and iptables renderings of a compiled
 * policy: the address partition, the lines and their order for a small
 * policy, modes, loopback-only ports, multiport chunks, names and
 * comments; then every seed policy, role and profile through nft -c and
 * iptables-restore --test / ip6tables-restore --test.
 *
 * The tools talk to the kernel, so the suite needs root (exit 77 when
 * not) and runs in a network namespace of its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "export.h"
#include "profile.h"
#include "fxcompile.h"
#include "testutil.h"

#ifndef PW_SOURCE_ROOT
#define PW_SOURCE_ROOT "."
#endif

static char tmpdir[] = "/tmp/pw-test-export-XXXXXX";

/* ------------------------------------------------------------------ */
/* Fixtures                                                            */
/* ------------------------------------------------------------------ */

static void fx_buffers(struct fx *f, const char *policy, const char *inv,
		       const char *roles, const char *tags)
{
	fx_parse(f, policy, inv, roles, tags);
	fx_compile_parsed(f);
}

/* The rendering as a string (caller frees). */
static char *render(const struct fx *f, enum pw_export_format fmt, int mode,
		    struct pw_export_counts *n)
{
	struct pw_export_opts o = {
		.format = fmt,
		.mode = mode,
		.host_roles = (const char *const *)f->roles,
		.nhost_roles = f->nroles,
		.tags = (const char *const *)f->tags,
		.ntags = f->ntags,
	};
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);

	assert_non_null(m);
	assert_int_equal(pw_export_render(&f->c, &o, m, n), 0);
	assert_int_equal(fclose(m), 0);
	return text;
}

/* ------------------------------------------------------------------ */
/* Text assertions                                                     */
/* ------------------------------------------------------------------ */

/* @line as a whole line of @text at or after @from (leading tabs
 * ignored); its offset, or -1. */
static long find_line_from(const char *text, long from, const char *line)
{
	const char *p = text + from, *s;
	size_t n = strlen(line);

	for (; *p; p = s ? s + 1 : p + strlen(p)) {
		const char *b = p;

		s = strchr(p, '\n');
		while (*b == '\t')
			b++;
		if ((size_t)((s ? s : b + strlen(b)) - b) == n &&
		    !strncmp(b, line, n))
			return p - text;
		if (!s)
			break;
	}
	return -1;
}

static long find_line(const char *text, const char *line)
{
	return find_line_from(text, 0, line);
}

static void expect_line(const char *text, const char *line)
{
	if (find_line(text, line) < 0) {
		fprintf(stderr, "missing line: %s\n--- in:\n%s\n", line, text);
		fail();
	}
}

static void expect_no_line(const char *text, const char *line)
{
	if (find_line(text, line) >= 0) {
		fprintf(stderr, "unexpected line: %s\n", line);
		fail();
	}
}

/* Every line present, in this order; NULL-terminated. */
static void expect_in_order(const char *text, const char *const *lines)
{
	long from = 0, at;

	for (; *lines; lines++) {
		at = find_line_from(text, from, *lines);
		if (at < 0) {
			fprintf(stderr, "%s line: %s\n--- in:\n%s\n",
				find_line(text, *lines) < 0 ? "missing" :
							      "out of order",
				*lines, text);
			fail();
		}
		from = at + 1;
	}
}

/* Lines that start with @prefix (after tabs), @within them too. */
static unsigned count_lines(const char *text, const char *prefix,
			    const char *within)
{
	const char *p = text, *end;
	unsigned n = 0;
	char *line;

	while (p && *p) {
		while (*p == '\t')
			p++;
		end = strchr(p, '\n');
		line = strndup(p, end ? (size_t)(end - p) : strlen(p));
		if (!strncmp(line, prefix, strlen(prefix)) &&
		    (!within || strstr(line, within)))
			n++;
		free(line);
		p = end ? end + 1 : NULL;
	}
	return n;
}

/* ------------------------------------------------------------------ */
/* A small policy                                                      */
/* ------------------------------------------------------------------ */

static const char small_policy[] =
	"policy t \"export test\"\n"
	"role app \"applications\"\n"
	"role db \"databases\"\n"
	"role op \"operators\"\n"
	"tag extra \"an extra port\"\n"
	"allow tcp 3306 from app to db note \"mysql\"\n"
	"allow tcp,udp 5000-5009,5020 from app,op to db note \"metrics\"\n"
	"allow tcp 22 from op to db mode enforce note \"ssh\"\n"
	"allow icmp 8 from any to db note \"ping\"\n"
	"allow icmpv6 from op to db note \"icmpv6 from operators\"\n"
	"allow tcp 80,70-90 from any to db note \"web, \\\"quoted\\\" \\\\ items\"\n"
	"loopback tcp 5005 on db note \"local only\"\n"
	"allow tcp 9000 from db to 198.18.9.0/24 note \"to a literal\"\n"
	"allow tcp 7000 from app to db if extra note \"tagged\"\n";

static const char small_inventory[] =
	"db  198.18.2.0/24 2001:db8:2::/64\n"
	"app 198.18.2.5 198.18.4.0/24 2001:db8:2::5 2001:db8:4::/64\n"
	"op  198.18.10.0/24\n";

static void expect_cidr(const struct pw_export_cidr *v, size_t i,
			const struct pw_compiled *c, const char *role,
			const char *text)
{
	char buf[PW_PREFIX_STRLEN];

	pw_prefix_format(&v[i].prefix, buf, sizeof(buf));
	assert_string_equal(buf, text);
	assert_string_equal(c->role_names[v[i].role].name, role);
}

/* A longer prefix of another role is cut out of the shorter one. */
static void test_partition_v4(void **state)
{
	static const char *const want[][2] = {
		{ "db", "198.18.2.0/30" },   { "db", "198.18.2.4/32" },
		{ "app", "198.18.2.5/32" },  { "db", "198.18.2.6/31" },
		{ "db", "198.18.2.8/29" },   { "db", "198.18.2.16/28" },
		{ "db", "198.18.2.32/27" },  { "db", "198.18.2.64/26" },
		{ "db", "198.18.2.128/25" }, { "app", "198.18.4.0/24" },
		{ "198.18.9.0/24", "198.18.9.0/24" },
		{ "op", "198.18.10.0/24" },
	};
	struct pw_export_cidr *v;
	struct fx f;
	size_t n, i;

	(void)state;
	fx_buffers(&f, small_policy, small_inventory, "db", NULL);
	assert_int_equal(pw_export_cidrs(&f.c, 4, &v, &n), 0);
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < n; i++)
		expect_cidr(v, i, &f.c, want[i][0], want[i][1]);
	free(v);
	fx_free(&f);
}

static void test_partition_v6(void **state)
{
	struct pw_export_cidr *v;
	uint32_t db;
	struct fx f;
	size_t n, i, ndb = 0;

	(void)state;
	fx_buffers(&f, small_policy, small_inventory, "db", NULL);
	db = role_id(&f.c, "db");
	assert_int_equal(pw_export_cidrs(&f.c, 6, &v, &n), 0);
	/* ::0-::4 (2), ::5 app, ::6 to the end of the /64: /127, then
	 * /125 down to /65 (62), and app's 2001:db8:4::/64 */
	assert_int_equal(n, 2 + 1 + 62 + 1);
	expect_cidr(v, 0, &f.c, "db", "2001:db8:2::/126");
	expect_cidr(v, 1, &f.c, "db", "2001:db8:2::4/128");
	expect_cidr(v, 2, &f.c, "app", "2001:db8:2::5/128");
	expect_cidr(v, 3, &f.c, "db", "2001:db8:2::6/127");
	expect_cidr(v, 4, &f.c, "db", "2001:db8:2::8/125");
	expect_cidr(v, 64, &f.c, "db", "2001:db8:2:0:8000::/65");
	expect_cidr(v, 65, &f.c, "app", "2001:db8:4::/64");
	for (i = 0; i < n; i++)
		ndb += v[i].role == db;
	assert_int_equal(ndb, 64);
	free(v);
	fx_free(&f);
}

/* The datapath's lookup and the partition agree on every CIDR's ends. */
static void test_partition_matches_lookup(void **state)
{
	struct pw_export_cidr *v;
	uint8_t last[16];
	struct fx f;
	size_t n, i;
	int b;

	(void)state;
	fx_buffers(&f, small_policy, small_inventory, "db", NULL);
	assert_int_equal(pw_export_cidrs(&f.c, 6, &v, &n), 0);
	for (i = 0; i < n; i++) {
		memcpy(last, v[i].prefix.addr, 16);
		for (b = v[i].prefix.plen; b < 128; b++)
			last[b / 8] |= 0x80 >> (b % 8);
		assert_int_equal(pw_compiled_role_v6(&f.c, v[i].prefix.addr),
				 v[i].role);
		assert_int_equal(pw_compiled_role_v6(&f.c, last), v[i].role);
	}
	free(v);
	assert_int_equal(pw_export_cidrs(&f.c, 4, &v, &n), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(pw_compiled_role_v4(&f.c, v[i].prefix.addr),
				 v[i].role);
	free(v);
	fx_free(&f);
}

static void test_nft_small_audit(void **state)
{
	static const char *const input_order[] = {
		"table inet portwarden",
		"delete table inet portwarden",
		"table inet portwarden {",
		"set app_v4 {",
		"elements = { 198.18.2.5, 198.18.4.0/24 }",
		"set app_v6 {",
		"elements = { 2001:db8:2::5, 2001:db8:4::/64 }",
		"set op_v4 {",
		"chain input {",
		"type filter hook input priority filter; policy accept;",
		"ct direction reply ct state established,related counter accept comment \"reply of a known flow\"",
		"iif \"lo\" accept comment \"loopback interface\"",
		"icmp type destination-unreachable icmp code frag-needed counter accept comment \"PMTU: fragmentation needed\"",
		"icmpv6 type packet-too-big counter accept comment \"PMTU: packet too big\"",
		"icmpv6 type { 130, 131, 132, 133, 134, 135, 136, 137, 143 } counter accept comment \"neighbour discovery and MLD\"",
		"tcp dport 5005 counter accept comment \"rule 7 loopback-only: local only\"",
		"ip saddr @app_v4 tcp dport 3306 counter accept comment \"rule 1: mysql\"",
		"ip6 saddr @app_v6 tcp dport 3306 counter accept comment \"rule 1: mysql\"",
		"ip saddr @app_v4 meta l4proto { tcp, udp } th dport { 5000-5009, 5020 } counter accept comment \"rule 2: metrics\"",
		"ip6 saddr @app_v6 meta l4proto { tcp, udp } th dport { 5000-5009, 5020 } counter accept comment \"rule 2: metrics\"",
		"ip saddr @op_v4 meta l4proto { tcp, udp } th dport { 5000-5009, 5020 } counter accept comment \"rule 2: metrics\"",
		"ip saddr @op_v4 tcp dport 22 counter accept comment \"rule 3: ssh\"",
		"icmp type 8 counter accept comment \"rule 4: ping\"",
		"# (role op holds no address of the rule's family)",
		"tcp dport 70-90 counter accept comment \"rule 6: web, 'quoted' / items\"",
		"tcp dport 3306 counter accept comment \"rule 1 violation, audit: mysql\"",
		"tcp dport { 5000-5004, 5006-5009, 5020 } counter accept comment \"rule 2 violation, audit: metrics\"",
		"udp dport { 5000-5009, 5020 } counter accept comment \"rule 2 violation, audit: metrics\"",
		"tcp dport 22 counter drop comment \"rule 3 violation, drop: ssh\"",
		"meta l4proto ipv6-icmp counter accept comment \"rule 5 violation, audit: icmpv6 from operators\"",
		"counter accept comment \"undocumented port or protocol, audit\"",
		"chain output {",
		"type filter hook output priority filter; policy accept;",
		"oif \"lo\" accept comment \"loopback interface\"",
		"tcp dport 9000 counter accept comment \"rule 8 violation, audit: to a literal\"",
		"counter accept comment \"undocumented port or protocol, audit\"",
		NULL,
	};
	struct pw_export_counts n;
	char line[128], *t;
	uint32_t lit;
	struct fx f;

	(void)state;
	fx_buffers(&f, small_policy, small_inventory, "db", NULL);
	t = render(&f, PW_EXPORT_NFT, PW_MODE_AUDIT, &n);
	expect_in_order(t, input_order);
	lit = role_id(&f.c, "198.18.9.0/24");
	snprintf(line, sizeof(line), "set PEER%u_v4 {", lit);
	expect_line(t, line);
	expect_line(t, "comment \"literal peer 198.18.9.0/24\"");
	snprintf(line, sizeof(line),
		 "ip daddr @PEER%u_v4 tcp dport 9000 counter accept comment \"rule 8: to a literal\"",
		 lit);
	expect_line(t, line);
	/* "from any to db" holds on egress at db too: db is a destination */
	expect_line(t, "ip daddr @db_v4 tcp dport 70-90 counter accept comment \"rule 6: web, 'quoted' / items\"");
	expect_line(t, "ip daddr @db_v4 icmp type 8 counter accept comment \"rule 4: ping\"");
	/* ICMP is IPv4 only, ICMPv6 IPv6 only */
	assert_null(strstr(t, "ip6 daddr @db_v6 icmp type"));
	/* no IPv6 address: no set; a rule guarded by an unset tag: nothing */
	expect_no_line(t, "set op_v6 {");
	assert_null(strstr(t, "7000"));
	assert_int_equal(n.sets, 6);
	/* app 2 + 2, op 1, db 8 + 64 (cut around app's), the literal 1 */
	assert_int_equal(n.elements, 2 + 2 + 1 + 8 + 64 + 1);
	assert_int_equal(n.chains, 2);
	/* every rule has a comment; sets' comments stand on their own line */
	assert_int_equal(n.rules, count_lines(t, "", " comment \""));
	/* input: 5 always, 1 loopback, 8 allows, 5 violations, 1 final;
	 * output: 5 always, 4 allows, 3 violations, 1 final */
	assert_int_equal(n.rules, 20 + 13);
	free(t);
	fx_free(&f);
}

/* Enforce: the host's verdicts drop, a rule's "mode audit" does not;
 * egress stays audited. */
static void test_nft_enforce(void **state)
{
	static const char policy[] =
		"role a \"a\"\nrole h \"h\"\n"
		"allow tcp 22 from a to h note \"ssh\"\n"
		"allow tcp 8080 from a to h mode audit note \"trial\"\n"
		"loopback udp 53 on h note \"resolver\"\n"
		"allow udp 53 from a to h note \"dns, outvoted\"\n"
		"allow tcp 443 from h to a note \"out\"\n";
	static const char *const want[] = {
		"udp dport 53 counter drop comment \"rule 3 loopback-only: resolver\"",
		"ip saddr @a_v4 tcp dport 22 counter accept comment \"rule 1: ssh\"",
		"ip saddr @a_v4 udp dport 53 counter accept comment \"rule 4: dns, outvoted\"",
		"tcp dport 22 counter drop comment \"rule 1 violation, drop: ssh\"",
		"tcp dport 8080 counter accept comment \"rule 2 violation, audit: trial\"",
		"counter drop comment \"undocumented port or protocol, drop\"",
		"ip daddr @a_v4 tcp dport 443 counter accept comment \"rule 5: out\"",
		"tcp dport 443 counter accept comment \"rule 5 violation, audit: out\"",
		"counter accept comment \"undocumented port or protocol, audit\"",
		NULL,
	};
	struct fx f;
	char *t;

	(void)state;
	fx_buffers(&f, policy, "a 198.18.1.0/24\n", "h", NULL);
	t = render(&f, PW_EXPORT_NFT, PW_MODE_ENFORCE, NULL);
	expect_in_order(t, want);
	expect_line(t, "# host roles h; tags none; mode enforce; egress audited");
	free(t);
	fx_free(&f);
}

/* iptables: role chains, disjoint dispatch, ICMP per family. */
static void test_iptables_small(void **state)
{
	static const char *const v4[] = {
		"*filter",
		":INPUT ACCEPT [0:0]",
		":pw-input - [0:0]",
		":pw-in-app - [0:0]",
		":pw-in-op - [0:0]",
		":pw-output - [0:0]",
		"-A INPUT -j pw-input",
		"-A OUTPUT -j pw-output",
		"-A pw-input -m conntrack --ctstate RELATED,ESTABLISHED --ctdir REPLY -m comment --comment \"reply of a known flow\" -j ACCEPT",
		"-A pw-input -i lo -m comment --comment \"loopback interface\" -j ACCEPT",
		"-A pw-input -p icmp -m icmp --icmp-type 3/4 -m comment --comment \"PMTU: fragmentation needed\" -j ACCEPT",
		"-A pw-input -p tcp -m tcp --dport 5005 -m comment --comment \"rule 7 loopback-only: local only\" -j ACCEPT",
		"-A pw-input -s 198.18.2.5/32 -m comment --comment \"role app\" -j pw-in-app",
		"-A pw-input -s 198.18.4.0/24 -m comment --comment \"role app\" -j pw-in-app",
		"-A pw-input -s 198.18.10.0/24 -m comment --comment \"role op\" -j pw-in-op",
		"-A pw-input -p icmp -m icmp --icmp-type 8 -m comment --comment \"rule 4: ping\" -j ACCEPT",
		"-A pw-input -p tcp -m tcp --dport 70:90 -m comment --comment \"rule 6: web, 'quoted' / items\" -j ACCEPT",
		"-A pw-input -p tcp -m tcp --dport 3306 -m comment --comment \"rule 1 violation, audit: mysql\" -j ACCEPT",
		"-A pw-input -p tcp -m multiport --dports 5000:5004,5006:5009,5020 -m comment --comment \"rule 2 violation, audit: metrics\" -j ACCEPT",
		"-A pw-input -p tcp -m tcp --dport 22 -m comment --comment \"rule 3 violation, drop: ssh\" -j DROP",
		"-A pw-input -m comment --comment \"undocumented port or protocol, audit\" -j ACCEPT",
		"-A pw-in-app -p tcp -m tcp --dport 3306 -m comment --comment \"rule 1: mysql\" -j ACCEPT",
		"-A pw-in-app -p tcp -m multiport --dports 5000:5009,5020 -m comment --comment \"rule 2: metrics\" -j ACCEPT",
		"-A pw-in-app -p udp -m multiport --dports 5000:5009,5020 -m comment --comment \"rule 2: metrics\" -j ACCEPT",
		"-A pw-in-op -p tcp -m multiport --dports 5000:5009,5020 -m comment --comment \"rule 2: metrics\" -j ACCEPT",
		"-A pw-in-op -p tcp -m tcp --dport 22 -m comment --comment \"rule 3: ssh\" -j ACCEPT",
		"-A pw-output -m comment --comment \"undocumented port or protocol, audit\" -j ACCEPT",
		"COMMIT",
		NULL,
	};
	static const char *const v6[] = {
		"-A pw-input -p ipv6-icmp -m icmp6 --icmpv6-type 2 -m comment --comment \"PMTU: packet too big\" -j ACCEPT",
		"-A pw-input -p ipv6-icmp -m icmp6 --icmpv6-type 135 -m comment --comment \"neighbour discovery and MLD\" -j ACCEPT",
		"-A pw-input -p ipv6-icmp -m icmp6 --icmpv6-type 143 -m comment --comment \"neighbour discovery and MLD\" -j ACCEPT",
		"-A pw-input -s 2001:db8:2::5/128 -m comment --comment \"role app\" -j pw-in-app",
		"-A pw-input -s 2001:db8:4::/64 -m comment --comment \"role app\" -j pw-in-app",
		"-A pw-input -p ipv6-icmp -m comment --comment \"rule 5 violation, audit: icmpv6 from operators\" -j ACCEPT",
		"COMMIT",
		NULL,
	};
	struct pw_export_counts n;
	struct fx f;
	char *t;

	(void)state;
	fx_buffers(&f, small_policy, small_inventory, "db", NULL);
	t = render(&f, PW_EXPORT_IPTABLES, PW_MODE_AUDIT, &n);
	expect_in_order(t, v4);
	assert_null(strstr(t, "icmp6"));
	assert_null(strstr(t, "2001:db8"));
	/* app 2, op 1 on ingress; db 8 and the literal on egress */
	assert_int_equal(n.elements, 3 + 8 + 1);
	assert_int_equal(n.sets, 0);
	assert_int_equal(n.chains, 6); /* pw-input, pw-in-app, pw-in-op,
					* pw-output, pw-out-db, pw-out-PEERn */
	assert_int_equal(n.rules, count_lines(t, "-A ", NULL));
	free(t);

	t = render(&f, PW_EXPORT_IP6TABLES, PW_MODE_AUDIT, &n);
	expect_in_order(t, v6);
	assert_null(strstr(t, "--icmp-type"));
	assert_null(strstr(t, "pw-in-op")); /* op has no IPv6 address */
	assert_null(strstr(t, "198.18."));
	assert_int_equal(n.elements, 2 + 64);
	free(t);
	fx_free(&f);
}

/* multiport takes 15 ports, a range counting 2; ICMP types one a line. */
static void test_iptables_chunks(void **state)
{
	static const char policy[] =
		"role a \"a\"\nrole h \"h\"\n"
		"allow udp 1,3,5,7,9,11,13,15,17,19,21,23,25,27,100-200,29,31 "
		"from a to h note \"many\"\n"
		"allow icmp 0,8-10 from a to h note \"some types\"\n";
	static const char *const want[] = {
		"-A pw-in-a -p udp -m multiport --dports 1,3,5,7,9,11,13,15,17,19,21,23,25,27,29 -m comment --comment \"rule 1: many\" -j ACCEPT",
		"-A pw-in-a -p udp -m multiport --dports 31,100:200 -m comment --comment \"rule 1: many\" -j ACCEPT",
		"-A pw-in-a -p icmp -m icmp --icmp-type 0 -m comment --comment \"rule 2: some types\" -j ACCEPT",
		"-A pw-in-a -p icmp -m icmp --icmp-type 8 -m comment --comment \"rule 2: some types\" -j ACCEPT",
		"-A pw-in-a -p icmp -m icmp --icmp-type 9 -m comment --comment \"rule 2: some types\" -j ACCEPT",
		"-A pw-in-a -p icmp -m icmp --icmp-type 10 -m comment --comment \"rule 2: some types\" -j ACCEPT",
		NULL,
	};
	struct fx f;
	char *t;

	(void)state;
	fx_buffers(&f, policy, "a 198.18.1.0/24\n", "h", NULL);
	t = render(&f, PW_EXPORT_IPTABLES, PW_MODE_ENFORCE, NULL);
	expect_in_order(t, want);
	free(t);
	t = render(&f, PW_EXPORT_NFT, PW_MODE_ENFORCE, NULL);
	expect_line(t, "ip saddr @a_v4 icmp type { 0, 8-10 } counter accept comment \"rule 2: some types\"");
	expect_line(t, "icmp type { 0, 8-10 } counter drop comment \"rule 2 violation, drop: some types\"");
	free(t);
	fx_free(&f);
}

/* Long names and notes stay within what the tools take. */
static void test_names_and_comments(void **state)
{
	static const char policy[] =
		"role a-role-name-of-thirty-chars \"long\"\nrole h \"h\"\n"
		"allow tcp 22 from a-role-name-of-thirty-chars to h note \""
		"0123456789012345678901234567890123456789012345678901234567890"
		"1234567890123456789012345678901234567890123456789012345678901"
		"2345678901234567890\"\n";
	struct fx f;
	uint32_t id;
	char line[400], *t;

	(void)state;
	fx_buffers(&f, policy, "a-role-name-of-thirty-chars 198.18.1.1\n", "h",
		   NULL);
	id = role_id(&f.c, "a-role-name-of-thirty-chars");
	t = render(&f, PW_EXPORT_IPTABLES, PW_MODE_AUDIT, NULL);
	snprintf(line, sizeof(line), ":pw-in-R%u - [0:0]", id);
	expect_line(t, line);
	free(t);
	t = render(&f, PW_EXPORT_NFT, PW_MODE_AUDIT, NULL);
	/* "rule 1: " and 109 characters of the note and "...": 120 */
	expect_line(t, "ip saddr @a-role-name-of-thirty-chars_v4 tcp dport 22 counter accept comment \"rule 1: "
		       "0123456789012345678901234567890123456789012345678901234567890"
		       "123456789012345678901234567890123456789012345678...\"");
	free(t);
	fx_free(&f);
}

/* The same compiled policy gives the same bytes. */
static void test_deterministic(void **state)
{
	struct fx f;
	char *a, *b;
	int fmt;

	(void)state;
	fx_buffers(&f, small_policy, small_inventory, "db,app", "extra");
	for (fmt = PW_EXPORT_NFT; fmt <= PW_EXPORT_IP6TABLES; fmt++) {
		a = render(&f, fmt, PW_MODE_ENFORCE, NULL);
		b = render(&f, fmt, PW_MODE_ENFORCE, NULL);
		assert_string_equal(a, b);
		free(a);
		free(b);
	}
	fx_free(&f);
}

static void test_bad_options(void **state)
{
	struct pw_export_opts o = { .format = PW_EXPORT_NFT,
				    .mode = PW_MODE_HOST };
	struct fx f;
	FILE *null = fopen("/dev/null", "w");

	(void)state;
	fx_buffers(&f, small_policy, small_inventory, "db", NULL);
	assert_int_equal(pw_export_render(&f.c, &o, null, NULL), -EINVAL);
	o.mode = PW_MODE_AUDIT;
	o.iface = "eth0\" accept";
	assert_int_equal(pw_export_render(&f.c, &o, null, NULL), -EINVAL);
	o.iface = "eth0";
	assert_int_equal(pw_export_render(&f.c, &o, null, NULL), 0);
	fclose(null);
	fx_free(&f);
}

/* ------------------------------------------------------------------ */
/* The tools accept every seed                                         */
/* ------------------------------------------------------------------ */

/* Run @argv with stdin from @in; 0 when it exits 0, else print its stderr. */
static int run_tool(const char *const argv[], const char *in)
{
	char err[sizeof(tmpdir) + 16];
	int status, fd;
	pid_t pid;
	char buf[4096];
	ssize_t n;

	snprintf(err, sizeof(err), "%s/stderr", tmpdir);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		fd = open(in ? in : "/dev/null", O_RDONLY);
		dup2(fd, 0);
		fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	fd = open(err, O_RDONLY);
	while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, n, stderr);
	if (fd >= 0)
		close(fd);
	return -1;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* Is @tool on the PATH? */
static bool have_tool(const char *tool)
{
	char *path = getenv("PATH"), *copy, *dir, *save = NULL;
	char full[1024];
	bool found = false;

	copy = strdup(path ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
	for (dir = strtok_r(copy, ":", &save); dir && !found;
	     dir = strtok_r(NULL, ":", &save)) {
		snprintf(full, sizeof(full), "%s/%s", dir, tool);
		found = !access(full, X_OK);
	}
	free(copy);
	return found;
}

static void need_tools(void)
{
	static const char *const tools[] = { "nft", "iptables-restore",
					     "ip6tables-restore" };
	size_t i;

	for (i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		if (!have_tool(tools[i])) {
			fprintf(stderr, "%s not installed (scripts/setup.sh "
					"installs it); skipped\n", tools[i]);
			skip();
		}
	}
}

/* Does the tool for @fmt accept @text? */
static int tool_accepts(enum pw_export_format fmt, const char *text)
{
	static const char *const nft[] = { "nft", "-c", "-f", NULL, NULL };
	static const char *const ipt[] = { "iptables-restore", "--test", NULL };
	static const char *const ip6t[] = { "ip6tables-restore", "--test",
					    NULL };
	const char *argv[5];
	char path[sizeof(tmpdir) + 16];

	snprintf(path, sizeof(path), "%s/ruleset", tmpdir);
	write_file(path, text);
	if (fmt == PW_EXPORT_NFT) {
		memcpy(argv, nft, sizeof(nft));
		argv[3] = path;
		return run_tool(argv, NULL);
	}
	return run_tool(fmt == PW_EXPORT_IPTABLES ? ipt : ip6t, path);
}

static int checked;

/*
 * Every "-j TARGET" of an iptables document is a built-in target or a
 * chain it declares: iptables-restore --test does not check that.
 */
static void expect_targets_declared(const char *text)
{
	static const char *const builtin[] = { "ACCEPT", "DROP", "RETURN",
					       "LOG", NULL };
	const char *p = text, *q;
	char target[64], decl[80];
	int i;

	while ((p = strstr(p, " -j "))) {
		p += 4;
		q = p + strcspn(p, " \n");
		snprintf(target, sizeof(target), "%.*s", (int)(q - p), p);
		for (i = 0; builtin[i] && strcmp(builtin[i], target); i++)
			;
		if (builtin[i])
			continue;
		snprintf(decl, sizeof(decl), "\n:%s - [0:0]\n", target);
		if (!strstr(text, decl)) {
			fprintf(stderr, "jump to undeclared chain %s\n",
				target);
			fail();
		}
	}
}

static void check_all_formats(struct fx *f, int mode, const char *what)
{
	int fmt;
	char *t;

	for (fmt = PW_EXPORT_NFT; fmt <= PW_EXPORT_IP6TABLES; fmt++) {
		t = render(f, fmt, mode, NULL);
		if (fmt != PW_EXPORT_NFT)
			expect_targets_declared(t);
		if (tool_accepts(fmt, t)) {
			fprintf(stderr, "%s refused %s (%s):\n%s\n",
				pw_export_format_name(fmt), what,
				mode == PW_MODE_ENFORCE ? "enforce" : "audit",
				t);
			fail();
		}
		free(t);
		checked++;
	}
}

/* The tools do refuse a broken ruleset: the checks below can fail. */
static void test_tools_refuse_broken(void **state)
{
	struct fx f;
	char *t, *p;
	int fmt;

	(void)state;
	need_tools();
	fx_buffers(&f, small_policy, small_inventory, "db", NULL);
	for (fmt = PW_EXPORT_NFT; fmt <= PW_EXPORT_IP6TABLES; fmt++) {
		t = render(&f, fmt, PW_MODE_AUDIT, NULL);
		assert_int_equal(tool_accepts(fmt, t), 0);
		/* (iptables-restore --test does not check jump targets) */
		p = strstr(t, fmt == PW_EXPORT_NFT ? "counter accept" :
						     "-m comment");
		assert_non_null(p);
		memcpy(p, fmt == PW_EXPORT_NFT ? "counter acept " :
						 "-m coment ", fmt ? 10 : 14);
		fprintf(stderr, "(a refusal follows, as it should)\n");
		assert_int_not_equal(tool_accepts(fmt, t), 0);
		free(t);
	}
	fx_free(&f);
}

static void parse_files(struct fx *f, const char *policy, const char *inv)
{
	memset(f, 0, sizeof(*f));
	if (pw_policy_parse_file(policy, &f->pol, &f->d))
		pw_diags_print(&f->d, stderr);
	assert_int_equal(f->d.nerrors, 0);
	if (inv && !access(inv, R_OK)) {
		assert_int_equal(pw_inventory_parse_file(inv, &f->pol, &f->inv,
							 &f->d), 0);
		f->have_inv = true;
	}
}

/* Every declared role of every seed policy, without tags and with all. */
static void test_seed_policies(void **state)
{
	char policy[512], inv[512], name[256], what[600];
	struct dirent *de;
	struct fx f;
	DIR *dir;
	int r, t, all, npol = 0;
	size_t len;

	(void)state;
	need_tools();
	dir = opendir(PW_SOURCE_ROOT "/policies");
	assert_non_null(dir);
	while ((de = readdir(dir))) {
		len = strlen(de->d_name);
		if (len < 8 || strcmp(de->d_name + len - 7, ".policy"))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)len - 7, de->d_name);
		snprintf(policy, sizeof(policy), "%s/policies/%s",
			 PW_SOURCE_ROOT, de->d_name);
		snprintf(inv, sizeof(inv), "%s/policies/examples/%s.inventory",
			 PW_SOURCE_ROOT, name);
		npol++;
		for (all = 0; all < 2; all++) {
			parse_files(&f, policy, inv);
			for (r = 0; r < f.pol.nroles; r++) {
				if (f.pol.roles[r].implicit)
					continue;
				pw_compiled_free(&f.c);
				memset(&f.c, 0, sizeof(f.c));
				f.roles[0] = f.pol.roles[r].name;
				f.nroles = 1;
				f.ntags = 0;
				for (t = 0; all && t < f.pol.ntags; t++)
					f.tags[f.ntags++] = f.pol.tags[t].name;
				fx_compile_parsed(&f);
				snprintf(what, sizeof(what), "%s role %s%s",
					 name, f.roles[0],
					 all ? " all tags" : "");
				check_all_formats(&f, PW_MODE_ENFORCE, what);
			}
			/* the names are the policy's: nothing to free */
			f.nroles = f.ntags = 0;
			fx_free(&f);
		}
	}
	closedir(dir);
	assert_int_equal(npol, 3);
}

/* Every host profile, in both modes. */
static void test_seed_profiles(void **state)
{
	char path[512], what[300];
	struct pw_profile prof;
	struct dirent *de;
	struct fx f;
	DIR *dir;
	int i, mode, nprof = 0;
	size_t len;

	(void)state;
	need_tools();
	dir = opendir(PW_SOURCE_ROOT "/policies/profiles");
	assert_non_null(dir);
	while ((de = readdir(dir))) {
		len = strlen(de->d_name);
		if (len < 9 || strcmp(de->d_name + len - 8, ".profile"))
			continue;
		snprintf(path, sizeof(path), "%s/policies/profiles/%s",
			 PW_SOURCE_ROOT, de->d_name);
		memset(&prof, 0, sizeof(prof));
		memset(&f, 0, sizeof(f));
		assert_int_equal(pw_profile_parse_file(path, &prof, &f.d), 0);
		pw_diags_free(&f.d);
		parse_files(&f, prof.policy, prof.inventory);
		for (i = 0; i < prof.nroles; i++)
			f.roles[f.nroles++] = strdup(prof.roles[i]);
		for (i = 0; i < prof.ntags; i++)
			f.tags[f.ntags++] = strdup(prof.tags[i]);
		fx_compile_parsed(&f);
		for (mode = PW_MODE_AUDIT; mode <= PW_MODE_ENFORCE; mode++) {
			snprintf(what, sizeof(what), "profile %s", de->d_name);
			check_all_formats(&f, mode, what);
		}
		fx_free(&f);
		pw_profile_free(&prof);
		nprof++;
	}
	closedir(dir);
	assert_int_equal(nprof, 5);
}

/* ------------------------------------------------------------------ */

static int group_setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	char path[sizeof(tmpdir) + 16];

	(void)state;
	snprintf(path, sizeof(path), "%s/ruleset", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/stderr", tmpdir);
	unlink(path);
	rmdir(tmpdir);
	fprintf(stderr, "test_export: %d renderings accepted by the tools\n",
		checked);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_partition_v4),
		cmocka_unit_test(test_partition_v6),
		cmocka_unit_test(test_partition_matches_lookup),
		cmocka_unit_test(test_nft_small_audit),
		cmocka_unit_test(test_nft_enforce),
		cmocka_unit_test(test_iptables_small),
		cmocka_unit_test(test_iptables_chunks),
		cmocka_unit_test(test_names_and_comments),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_bad_options),
		cmocka_unit_test(test_tools_refuse_broken),
		cmocka_unit_test(test_seed_policies),
		cmocka_unit_test(test_seed_profiles),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "test_export: needs root (nft -c and "
				"iptables-restore --test talk to the kernel); "
				"skipped\n");
		return 77;
	}
	/* the tools only check, but a namespace of our own makes sure */
	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "test_export: unshare(CLONE_NEWNET): %s\n",
			strerror(errno));
		return 1;
	}
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
