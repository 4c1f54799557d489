// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_suggest.c - suggestions from crafted violation counters and
 * samples (no kernel).
 *
 * The counters are keyed like the ones a compiled test policy gives; the
 * suggestion is then appended to that policy, parsed by the real parser,
 * compiled with the placeholder inventory lines added, and every key it
 * suggested is checked to be allowed by the result, while the keys it
 * left out are not.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "compile.h"
#include "policy.h"
#include "suggest.h"
#include "testutil.h"

static const char policy_text[] =
	"policy sgtest \"suggest tests\"\n"
	"role app \"application\"\n"
	"role db \"database, this host\"\n"
	"role ops \"operators\"\n"
	"role unknown-1 \"a role named like a placeholder\"\n"
	"allow tcp 3306 from app to db note \"client port\"\n"
	"allow tcp 4000-4003 from db to db note \"range\"\n"
	"loopback tcp 2003 on db note \"carbon\"\n"
	"allow udp 53 from any to db note \"dns\"\n"
	"allow tcp 443 from db to ops note \"egress\"\n"
	"allow icmp 0 from db to db note \"echo reply\"\n";

static const char inventory_text[] = "app 198.18.1.0/24\n"
				     "db 198.18.2.10\n"
				     "ops 198.18.3.0/28\n"
				     "unknown-1 198.18.7.0/24\n";

static const char *const host_roles[] = { "db" };

#define TCP PW_IPPROTO_TCP
#define UDP PW_IPPROTO_UDP
#define ICMP PW_IPPROTO_ICMP
#define IN PW_DIR_INGRESS
#define OUT PW_DIR_EGRESS

struct compiled {
	struct pw_policy pol;
	struct pw_inventory inv;
	struct pw_compiled c;
};

static void compile_for_db(struct compiled *x, const char *policy,
			   const char *inventory, bool quiet_ok)
{
	struct pw_compile_opts opts = { .host_roles = host_roles,
					.nhost_roles = 1 };
	struct pw_diags d = { 0 };

	memset(x, 0, sizeof(*x));
	if (pw_policy_parse_buffer("sg.policy", policy, &x->pol, &d) ||
	    pw_inventory_parse_buffer("sg.inventory", inventory, &x->pol,
				      &x->inv, &d) ||
	    pw_compile(&x->pol, &x->inv, &opts, &x->c, &d) ||
	    (quiet_ok && d.n)) {
		pw_diags_print(&d, stderr);
		fprintf(stderr, "--- policy:\n%s--- inventory:\n%s", policy,
			inventory);
		fail_msg("the policy did not compile cleanly");
	}
	pw_diags_free(&d);
}

static void compiled_free(struct compiled *x)
{
	pw_compiled_free(&x->c);
	pw_inventory_free(&x->inv);
	pw_policy_free(&x->pol);
}

static struct pw_counter_key key(uint8_t dir, uint8_t proto, uint16_t role,
				 uint16_t lo, uint16_t hi)
{
	struct pw_counter_key k = {
		.dir = dir,
		.proto = proto,
		.role = role,
		.port_lo = lo,
		.port_hi = hi,
	};

	return k;
}

/* A sample entry of key (dir, proto, role, port) holding @addrs. */
static struct pw_suggest_sample sample(uint8_t dir, uint8_t proto,
				       uint16_t role, uint16_t port,
				       const char *const *addrs, int n)
{
	struct pw_suggest_sample s = { .key = key(dir, proto, role, port,
						  port) };

	for (int i = 0; i < n; i++) {
		int v6 = strchr(addrs[i], ':') != NULL;

		assert_int_equal(inet_pton(v6 ? AF_INET6 : AF_INET, addrs[i],
					   s.s.addr[i]),
				 1);
		s.s.family[i] = v6 ? 6 : 4;
	}
	s.s.next = (uint32_t)n;
	return s;
}

/* ------------------------------------------------------------------ */
/* The scene: every kind of violation                                   */
/* ------------------------------------------------------------------ */

struct scene {
	struct compiled orig;
	struct pw_suggest_obs obs[32];
	size_t nobs;
	struct pw_suggest_sample samples[16];
	size_t nsamples;
	struct pw_suggest_input in;
	struct pw_suggestion s;
	char *text;
};

static void obs(struct scene *sc, struct pw_counter_key k, uint64_t audit,
		uint64_t drop, uint32_t rule, enum pw_suggest_now now)
{
	struct pw_suggest_obs *o = &sc->obs[sc->nobs++];

	o->key = k;
	o->audit_packets = audit;
	o->drop_packets = drop;
	o->bytes = (audit + drop) * 60;
	o->rule_id = rule;
	o->now = now;
}

#define S(...) ((const char *const[]){ __VA_ARGS__ })
#define NS(...) (int)(sizeof(S(__VA_ARGS__)) / sizeof(char *))
#define SAMPLE(sc, dir, proto, role, port, ...)                        \
	((sc)->samples[(sc)->nsamples++] = sample(dir, proto, role, port, \
						  S(__VA_ARGS__),         \
						  NS(__VA_ARGS__)))

static void scene_fill(struct scene *sc)
{
	const struct pw_compiled *c = &sc->orig.c;
	uint16_t app = role_id(c, "app"), ops = role_id(c, "ops");
	const enum pw_suggest_now V = PW_SUGGEST_VIOLATES;

	/* ops on a named port and on an unnamed one: one line, two ports */
	obs(sc, key(IN, TCP, ops, 3306, 3306), 10, 0, 1, V);
	obs(sc, key(IN, TCP, ops, 8080, 8080), 2, 0, 0, V);
	SAMPLE(sc, IN, TCP, ops, 3306, "198.18.3.2");
	SAMPLE(sc, IN, TCP, ops, 8080, "198.18.3.2", "198.18.3.3");
	/* app on a range, dropped, and the next port: merged */
	obs(sc, key(IN, TCP, app, 4000, 4003), 0, 5, 2, V);
	obs(sc, key(IN, TCP, app, 4004, 4004), 1, 0, 0, V);
	/* app on a loopback-only port: no line can open it */
	obs(sc, key(IN, TCP, app, 2003, 2003), 7, 0, 3, PW_SUGGEST_LOOPBACK);
	/* peers outside the inventory: 198.18.9.9 and .10 were seen on the
	 * same two keys (one placeholder), 2001:db8:99::1 on one of them */
	obs(sc, key(IN, TCP, 0, 22, 22), 4, 0, 0, V);
	SAMPLE(sc, IN, TCP, 0, 22, "198.18.9.9", "198.18.9.10");
	obs(sc, key(IN, UDP, 0, 161, 161), 3, 0, 0, V);
	SAMPLE(sc, IN, UDP, 0, 161, "198.18.9.10", "2001:db8:99::1",
	       "198.18.9.9");
	obs(sc, key(IN, TCP, 0, 23, 23), 1, 0, 0, V);
	SAMPLE(sc, IN, TCP, 0, 23, "198.18.8.8");
	obs(sc, key(IN, TCP, 0, 25, 25), 9, 0, 0, V); /* no sample */
	/* protocols the language has no rule for */
	obs(sc, key(IN, 47, app, 0, 0), 6, 0, 0, V);
	/* egress: to a named role, and to a peer outside the inventory */
	obs(sc, key(OUT, TCP, app, 443, 443), 8, 0, 5, V);
	SAMPLE(sc, OUT, TCP, app, 443, "198.18.1.7");
	obs(sc, key(OUT, TCP, 0, 8443, 8443), 2, 0, 0, V);
	SAMPLE(sc, OUT, TCP, 0, 8443, "198.18.6.6");
	/* icmp echo from ops */
	obs(sc, key(IN, ICMP, ops, 8, 8), 3, 0, 0, V);
	/* allowed since a reload; a role id without a name; no packets */
	obs(sc, key(IN, UDP, app, 53, 53), 11, 0, 4, PW_SUGGEST_ALLOWED);
	obs(sc, key(IN, TCP, 200, 80, 80), 1, 0, 0, V);
	obs(sc, key(IN, TCP, app, 9999, 9999), 0, 0, 0, V);

	sc->in = (struct pw_suggest_input){
		.iface = "eth0",
		.netns = "lab",
		.policy = "sgtest",
		.host_roles = host_roles,
		.nhost_roles = 1,
		.roles = c->role_names,
		.nroles = c->nroles,
		.obs = sc->obs,
		.nobs = sc->nobs,
		.samples = sc->samples,
		.nsamples = sc->nsamples,
	};
}

static char *text_of(const struct pw_suggestion *s)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);

	assert_non_null(m);
	pw_suggest_print_text(s, m);
	fclose(m);
	return text;
}

static char *json_of(const struct pw_suggestion *s)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	struct pw_json *j = pw_json_new(m, false);

	pw_suggest_print_json(s, j);
	pw_json_destroy(j);
	fclose(m);
	return text;
}

static int setup(void **state)
{
	struct scene *sc = calloc(1, sizeof(*sc));

	assert_non_null(sc);
	compile_for_db(&sc->orig, policy_text, inventory_text, false);
	scene_fill(sc);
	assert_int_equal(pw_suggest_build(&sc->in, &sc->s), 0);
	sc->text = text_of(&sc->s);
	*state = sc;
	return 0;
}

static int teardown(void **state)
{
	struct scene *sc = *state;

	free(sc->text);
	pw_suggest_free(&sc->s);
	compiled_free(&sc->orig);
	free(sc);
	return 0;
}

static void expect_in(const char *text, const char *want)
{
	if (!strstr(text, want)) {
		fprintf(stderr, "--- output:\n%s--- wanted:\n%s\n", text, want);
		fail_msg("missing text");
	}
}

#define NOTE " note \"" PW_SUGGEST_NOTE "\""

/* ------------------------------------------------------------------ */
/* Content                                                             */
/* ------------------------------------------------------------------ */

static void test_placeholders(void **state)
{
	struct scene *sc = *state;
	const struct pw_suggestion *s = &sc->s;

	/* unknown-1 is the policy's: numbering goes on past it, in the
	 * order of each group's lowest address */
	assert_int_equal(s->nph, 4);
	assert_string_equal(s->ph[0].name, "unknown-2");
	assert_int_equal(s->ph[0].naddrs, 1); /* 198.18.6.6 */
	assert_string_equal(s->ph[1].name, "unknown-3");
	assert_int_equal(s->ph[1].naddrs, 1); /* 198.18.8.8 */
	assert_string_equal(s->ph[2].name, "unknown-4");
	assert_int_equal(s->ph[2].naddrs, 2); /* 198.18.9.9 and .10 */
	assert_string_equal(s->ph[3].name, "unknown-5");
	assert_int_equal(s->ph[3].naddrs, 1); /* 2001:db8:99::1 */
	expect_in(sc->text, "role unknown-2 \"placeholder for peers outside "
			    "the inventory (portwarden suggest)\"\n"
			    "#   inventory: unknown-2 198.18.6.6\n");
	expect_in(sc->text, "#   inventory: unknown-3 198.18.8.8\n");
	expect_in(sc->text, "#   inventory: unknown-4 198.18.9.9 198.18.9.10\n"
			    "role unknown-5 ");
	expect_in(sc->text, "#   inventory: unknown-5 2001:db8:99::1\n");
}

static void test_rules(void **state)
{
	struct scene *sc = *state;
	const struct pw_suggestion *s = &sc->s;

	assert_int_equal(s->nrules, 9);
	/* ingress first, by peer then protocol; egress last */
	assert_string_equal(s->rules[0].line,
			    "allow tcp 4000-4004 from app to db" NOTE);
	assert_string_equal(s->rules[1].line, "allow tcp 3306,8080 from ops "
					      "to db" NOTE);
	assert_string_equal(s->rules[2].line,
			    "allow icmp 8 from ops to db" NOTE);
	assert_string_equal(s->rules[3].line,
			    "allow tcp 23 from unknown-3 to db" NOTE);
	assert_string_equal(s->rules[4].line,
			    "allow tcp 22 from unknown-4 to db" NOTE);
	assert_string_equal(s->rules[5].line,
			    "allow udp 161 from unknown-4 to db" NOTE);
	assert_string_equal(s->rules[6].line,
			    "allow udp 161 from unknown-5 to db" NOTE);
	assert_string_equal(s->rules[7].line,
			    "allow tcp 443 from db to app" NOTE);
	assert_string_equal(s->rules[8].line,
			    "allow tcp 8443 from db to unknown-2" NOTE);
	/* a placeholder's line names its own samples only */
	assert_int_equal(s->rules[5].nsamples, 2);
	assert_int_equal(s->rules[6].nsamples, 1);

	assert_int_equal(s->rules[0].drop_packets, 5);
	assert_int_equal(s->rules[0].audit_packets, 1);
	assert_int_equal(s->rules[1].audit_packets, 12);
	assert_int_equal(s->rules[1].nsamples, 2);
	assert_int_equal(s->rules[1].rule_id, 1);

	expect_in(sc->text, "\n# ingress tcp 3306,8080 from ops: 12 packets "
			    "audited, 0 dropped (3306: 10, 8080: 2); rule 1 "
			    "names the port for other peers\n"
			    "#   sample sources: 198.18.3.2, 198.18.3.3\n"
			    "allow tcp 3306,8080 from ops to db" NOTE "\n");
	expect_in(sc->text, "\n# ingress tcp 4000-4004 from app: 1 packets "
			    "audited, 5 dropped (4000-4003: 5, 4004: 1); rule 2 "
			    "names the port for other peers\n"
			    "allow tcp 4000-4004 from app to db");
	expect_in(sc->text, "\n# egress tcp 443 to app: 8 packets audited, 0 "
			    "dropped; rule 5 names the port for other peers\n"
			    "#   sample destinations: 198.18.1.7\n"
			    "allow tcp 443 from db to app");
	expect_in(sc->text, "# portwarden suggest: interface eth0 (netns lab), "
			    "policy sgtest, host roles db\n");
}

static void test_skips(void **state)
{
	struct scene *sc = *state;

	assert_int_equal(sc->s.nskips, 5);
	expect_in(sc->text,
		  "\n# Not suggested:\n"
		  "#   ingress tcp 2003 from app: 7 packets (rule 3): "
		  "loopback-only port: no allow rule opens it to the wire\n"
		  "#   ingress udp 53 from app: 11 packets (rule 4): allowed by "
		  "the policy in force (counted before a reload)\n"
		  "#   ingress proto-47 from app: 6 packets: the policy "
		  "language has rules for tcp, udp, sctp, icmp and icmpv6 "
		  "only\n"
		  "#   ingress tcp 80 from role#200: 1 packets: the role id has "
		  "no name in the maps\n"
		  "#   ingress tcp 25 from unknown: 9 packets: peer outside the "
		  "inventory, and no sample address was kept (events off, "
		  "rate-limited or lost)\n");
	assert_null(strstr(sc->text, "9999"));
}

static void test_json(void **state)
{
	struct scene *sc = *state;
	char *json = json_of(&sc->s);

	expect_in(json, "{\"iface\":\"eth0\",\"netns\":\"lab\","
			"\"policy\":\"sgtest\",\"host_roles\":[\"db\"],"
			"\"placeholders\":[{\"role\":\"unknown-2\","
			"\"addresses\":[\"198.18.6.6\"],");
	expect_in(json, "\"inventory\":\"unknown-4 198.18.9.9 198.18.9.10\"}");
	expect_in(json, "{\"dir\":\"ingress\",\"proto\":\"tcp\","
			"\"ports\":\"3306,8080\",\"peer\":\"ops\","
			"\"placeholder\":false,\"from\":\"ops\",\"to\":\"db\","
			"\"packets\":12,\"audit_packets\":12,"
			"\"drop_packets\":0,\"bytes\":720,\"rule_id\":1,"
			"\"per_port\":[{\"ports\":\"3306\",\"packets\":10},"
			"{\"ports\":\"8080\",\"packets\":2}],"
			"\"samples\":[\"198.18.3.2\",\"198.18.3.3\"],"
			"\"line\":\"allow tcp 3306,8080 from ops to db note "
			"\\\"" PW_SUGGEST_NOTE "\\\"\"}");
	expect_in(json, "\"peer\":\"unknown-2\",\"placeholder\":true,"
			"\"from\":\"db\",\"to\":\"unknown-2\"");
	expect_in(json, "\"skipped\":[{\"dir\":\"ingress\","
			"\"proto\":\"tcp\",\"ports\":\"2003\","
			"\"role\":\"app\",\"packets\":7,\"rule_id\":3,");
	expect_in(json, "{\"dir\":\"ingress\",\"proto\":\"proto-47\","
			"\"ports\":\"\",\"role\":\"app\",\"packets\":6,"
			"\"rule_id\":null,");
	free(json);
}

/* ------------------------------------------------------------------ */
/* The suggestion in the real parser and compiler                      */
/* ------------------------------------------------------------------ */

/* The original inventory plus one line per placeholder. */
static char *inventory_with_placeholders(const struct pw_suggestion *s)
{
	char *text = NULL, addr[INET6_ADDRSTRLEN];
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);

	fputs(inventory_text, m);
	for (size_t i = 0; i < s->nph; i++) {
		fprintf(m, "%s", s->ph[i].name);
		for (size_t k = 0; k < s->ph[i].naddrs; k++) {
			const struct pw_suggest_addr *a = &s->ph[i].addrs[k];

			inet_ntop(a->family == 6 ? AF_INET6 : AF_INET, a->addr,
				  addr, sizeof(addr));
			fprintf(m, " %s", addr);
		}
		fputc('\n', m);
	}
	fclose(m);
	return text;
}

static char *concat(const char *a, const char *b)
{
	char *out = malloc(strlen(a) + strlen(b) + 1);

	assert_non_null(out);
	strcpy(out, a);
	strcat(out, b);
	return out;
}

/* Role of a key's peer in @c: by name, or by a sample address. */
static uint32_t peer_role(const struct scene *sc, const struct pw_compiled *c,
			  const struct pw_suggest_obs *o)
{
	const char *name;

	if (o->key.role >= sc->orig.c.nroles)
		return PW_ROLE_UNKNOWN; /* an id without a name */
	if (o->key.role != PW_ROLE_UNKNOWN) {
		name = sc->orig.c.role_names[o->key.role].name;
		return role_id(c, name);
	}
	for (size_t i = 0; i < sc->nsamples; i++) {
		const struct pw_suggest_sample *sm = &sc->samples[i];

		if (sm->key.dir != o->key.dir ||
		    sm->key.proto != o->key.proto ||
		    sm->key.role != 0 || sm->key.port_lo != o->key.port_lo)
			continue;
		if (sm->s.family[0] == 4)
			return pw_compiled_role_v4(c, (void *)sm->s.addr[0]);
		return pw_compiled_role_v6(c, (void *)sm->s.addr[0]);
	}
	return PW_ROLE_UNKNOWN;
}

/* Does @c allow every port of the key to its peer? */
static bool allowed(const struct scene *sc, const struct pw_compiled *c,
		    const struct pw_suggest_obs *o)
{
	int idx = pw_proto_from_ipproto(o->key.proto);
	uint32_t role = peer_role(sc, c, o);

	if (idx < 0)
		return false;
	for (uint32_t p = o->key.port_lo; p <= o->key.port_hi; p++) {
		unsigned seg = pw_compiled_seg(c, o->key.dir, idx, p);
		const struct pw_rule_entry *e =
			pw_compiled_entry(c, o->key.dir, seg, role);

		if (seg == PW_SEG_NONE || !e || !(e->flags & PW_ENTRY_ALLOW))
			return false;
	}
	return true;
}

static void test_suggestion_parses_and_allows(void **state)
{
	struct scene *sc = *state;
	char *policy = concat(policy_text, sc->text);
	char *inventory = inventory_with_placeholders(&sc->s);
	struct compiled after;
	int nallowed = 0;

	/* no error and no warning: every line has a note, none repeats */
	compile_for_db(&after, policy, inventory, true);
	assert_int_equal(after.pol.nrules, sc->orig.pol.nrules + 9);
	/* every placeholder address has its placeholder's role now */
	for (size_t i = 0; i < sc->s.nph; i++)
		for (size_t k = 0; k < sc->s.ph[i].naddrs; k++) {
			const struct pw_suggest_addr *a = &sc->s.ph[i].addrs[k];
			uint32_t id = a->family == 4 ?
				pw_compiled_role_v4(&after.c, a->addr) :
				pw_compiled_role_v6(&after.c, a->addr);

			assert_int_equal(id, role_id(&after.c,
						     sc->s.ph[i].name));
		}
	for (size_t i = 0; i < sc->nobs; i++) {
		const struct pw_suggest_obs *o = &sc->obs[i];
		bool want = o->now == PW_SUGGEST_VIOLATES &&
			    o->audit_packets + o->drop_packets &&
			    pw_proto_from_ipproto(o->key.proto) >= 0 &&
			    o->key.role != 200 && o->key.port_lo != 25;

		if (o->now == PW_SUGGEST_ALLOWED)
			continue; /* allowed before, allowed after */
		if (allowed(sc, &after.c, o) != want)
			fail_msg("key %zu (dir %u proto %u role %u port %u): "
				 "allowed %d, expected %d",
				 i, o->key.dir, o->key.proto, o->key.role,
				 o->key.port_lo, !want, want);
		nallowed += want;
	}
	assert_int_equal(nallowed, 10);
	/* the one peer of udp 161 that allowed() does not look at */
	{
		unsigned seg = pw_compiled_seg(&after.c, IN, PW_P_UDP, 161);
		const struct pw_rule_entry *e = pw_compiled_entry(
			&after.c, IN, seg, role_id(&after.c, "unknown-5"));

		assert_non_null(e);
		assert_true(e->flags & PW_ENTRY_ALLOW);
	}
	compiled_free(&after);
	free(policy);
	free(inventory);
}

static void test_nothing_to_suggest(void **state)
{
	struct scene *sc = *state;
	struct pw_suggest_input in = sc->in;
	struct pw_suggestion s;
	char *text;

	in.nobs = 0;
	assert_int_equal(pw_suggest_build(&in, &s), 0);
	text = text_of(&s);
	expect_in(text, "# Nothing to suggest: no violation was counted.\n");
	assert_null(strstr(text, "\nallow"));
	free(text);
	pw_suggest_free(&s);

	in.nhost_roles = 0;
	assert_int_equal(pw_suggest_build(&in, &s), -EINVAL);
}

static void test_two_host_roles_and_icmp_all_types(void **state)
{
	struct scene *sc = *state;
	static const char *const two[] = { "db", "ops" };
	struct pw_suggest_obs o[3] = {
		{ .key = key(IN, ICMP, 1, 0, 255), .audit_packets = 1 },
		{ .key = key(IN, TCP, 1, 0, 0), .audit_packets = 1 },
		{ .key = key(IN, TCP, 1, 0, 7), .audit_packets = 2 },
	};
	struct pw_suggest_input in = sc->in;
	struct pw_suggestion s;

	in.host_roles = two;
	in.nhost_roles = 2;
	in.obs = o;
	in.nobs = 3;
	in.nsamples = 0;
	assert_int_equal(pw_suggest_build(&in, &s), 0);
	assert_int_equal(s.nrules, 2);
	/* a range reaching down to port 0 keeps the ports that exist */
	assert_string_equal(s.rules[0].line,
			    "allow tcp 1-7 from app to db,ops" NOTE);
	/* every ICMP type: no types written */
	assert_string_equal(s.rules[1].line,
			    "allow icmp from app to db,ops" NOTE);
	assert_int_equal(s.nskips, 1);
	assert_string_equal(s.skips[0].why, "port 0 cannot be named in a rule");
	pw_suggest_free(&s);
}

static void test_ports_text(void **state)
{
	struct pw_port_range p[3] = { { 1, 1 }, { 5, 9 }, { 65535, 65535 } };
	char buf[64], small[6];

	pw_suggest_ports_text(p, 3, buf, sizeof(buf));
	assert_string_equal(buf, "1,5-9,65535");
	pw_suggest_ports_text(p, 3, small, sizeof(small));
	assert_string_equal(small, "1,5-9");
	pw_suggest_ports_text(p, 0, buf, sizeof(buf));
	assert_string_equal(buf, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_placeholders),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_skips),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_suggestion_parses_and_allows),
		cmocka_unit_test(test_nothing_to_suggest),
		cmocka_unit_test(test_two_host_roles_and_icmp_all_types),
		cmocka_unit_test(test_ports_text),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
