// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_capacity.c - every table filled to its limit, under
 * BPF_PROG_TEST_RUN and through the CLI.  Needs root.
 *
 * Policy tables (sized by struct pw_caps, fixed when the maps are made):
 * a policy that fills a capacity exactly is written and every address or
 * port of it is checked through the program (the counter of the expected
 * role and segment must move, and the reference lookups of compile.h must
 * agree); one more entry is refused with "<cap>: need N, have M" before
 * anything is written.  Limits of the language (roles, rules, segments,
 * IPv6 prefix lengths) are errors of `portwarden check`; a reload that no
 * longer fits the loaded maps is refused by `portwarden reload`.
 *
 * Tables the traffic fills: pw_unnamed counts what it has no room for
 * under the reason UNNAMED_FULL, pw_shadow under the statistic
 * shadow_full; pw_flows, pw_ev_seen and pw_samples are LRU maps that make
 * room.  No verdict ever depends on a table being full.  A full ring
 * buffer (event_lost) is test_events.c's test_ring_full_no_reader.
 *
 * All addresses are from 198.18.0.0/15 and 2001:db8::/32.  Frames only go
 * through test runs; the CLI test attaches to a veth pair inside a
 * namespace of its own (pwcap<pid>) and sends nothing.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "pktbuild.h"
#include "xdprun.h"

#define IN PW_DIR_INGRESS
#define EG PW_DIR_EGRESS
#define ALLOW PW_VERDICT_ALLOW
#define AUDIT PW_VERDICT_AUDIT
#define VDROP PW_VERDICT_DROP
#define TCP PW_IPPROTO_TCP
#define UDP PW_IPPROTO_UDP

/* The host's own addresses, and a peer no inventory names. */
static const uint8_t LOCAL4[4] = { 198, 18, 2, 10 };
static const uint8_t LOCAL6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 2,
				    [15] = 0x10 };
static const uint8_t STRANGER4[4] = { 198, 18, 9, 9 };

/* ------------------------------------------------------------------ */
/* Text                                                                */
/* ------------------------------------------------------------------ */

struct text {
	char *s;
	size_t len, cap;
};

__attribute__((format(printf, 2, 3))) static void add(struct text *t,
						       const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		assert_true(n >= 0);
		if (t->len + n < t->cap)
			break;
		t->cap = 2 * (t->len + n) + 4096;
		t->s = realloc(t->s, t->cap);
		assert_non_null(t->s);
	}
	t->len += n;
}

static void text_free(struct text *t)
{
	free(t->s);
	memset(t, 0, sizeof(*t));
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* ------------------------------------------------------------------ */
/* Policies                                                            */
/* ------------------------------------------------------------------ */

/* Eight peer roles a0..a7 and the host, db: every peer may reach 22. */
static void policy_roles8(struct text *t)
{
	add(t, "role db \"this host\"\n");
	for (int i = 0; i < 8; i++)
		add(t, "role a%d \"peers\"\n", i);
	add(t, "allow tcp 22 from any to db note \"ssh from anywhere\"\n");
}

/*
 * 198.18.0.0/15 at host granularity: in each of its first @n24 /24s a
 * /32, a /26, a /25 and a /32 inside the /25, of roles in turn.  Every
 * /24 becomes a tbl8 group, and so does each of the two /16s.
 */
static void inventory_v4_groups(struct text *t, unsigned n24)
{
	for (unsigned x = 0; x < n24; x++) {
		unsigned o2 = 18 + x / 256, o3 = x % 256;

		add(t, "a%u 198.%u.%u.1\n", x % 8, o2, o3);
		add(t, "a%u 198.%u.%u.64/26\n", (x + 1) % 8, o2, o3);
		add(t, "a%u 198.%u.%u.128/25\n", (x + 2) % 8, o2, o3);
		add(t, "a%u 198.%u.%u.200\n", (x + 3) % 8, o2, o3);
	}
}

/* What inventory_v4_groups() gives address 198.(18 + x/256).(x%256).@host. */
static int v4_group_role(unsigned x, unsigned host, unsigned n24)
{
	if (x >= n24)
		return -1;
	if (host == 1)
		return (int)(x % 8);
	if (host >= 64 && host < 128)
		return (int)((x + 1) % 8);
	if (host == 200)
		return (int)((x + 3) % 8);
	if (host >= 128)
		return (int)((x + 2) % 8);
	return -1;
}

/* Sixteen prefix lengths, each one of the 2001:db8:i::/len prefixes. */
static const unsigned V6_LENS[PW_MAX_V6_PLENS] = {
	48, 52, 56, 60, 64, 68, 72, 76, 80, 88, 96, 104, 112, 120, 124, 128,
};

/* @n prefixes 2001:db8:i::/V6_LENS[i % 16] (i < 65536), role a(i % 8). */
static void inventory_v6_prefixes(struct text *t, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		add(t, "a%u 2001:db8:%x::/%u\n", i % 8, i,
		    V6_LENS[i % PW_MAX_V6_PLENS]);
}

static void v6_addr(uint8_t a[16], unsigned i, unsigned last)
{
	memset(a, 0, 16);
	a[0] = 0x20;
	a[1] = 0x01;
	a[2] = 0x0d;
	a[3] = 0xb8;
	a[4] = (uint8_t)(i >> 8);
	a[5] = (uint8_t)i;
	a[15] = (uint8_t)last;
}

/*
 * 255 roles, the most a policy can have (id 0 is 'unknown'): db, r1..r253
 * and a literal peer.  Every role may reach 22; r1..r126 and the literal
 * may reach 3306.
 */
#define ROLES_DECLARED 253
#define ROLES_3306 126
#define ROLES_LITERAL "198.18.255.7"

static void policy_max_roles(struct text *t, unsigned extra)
{
	add(t, "role db \"this host\"\n");
	for (unsigned k = 1; k <= ROLES_DECLARED + extra; k++)
		add(t, "role r%u \"peer %u\"\n", k, k);
	add(t, "allow tcp 22 from any to db note \"ssh from anywhere\"\n");
	add(t, "allow tcp 3306 from ");
	for (unsigned k = 1; k <= ROLES_3306; k++)
		add(t, "r%u,", k);
	add(t, "%s to db note \"mysql\"\n", ROLES_LITERAL);
}

static void inventory_max_roles(struct text *t)
{
	for (unsigned k = 1; k <= ROLES_DECLARED; k++)
		add(t, "r%u 198.18.%u.1 2001:db8:%x::/64\n", k, k, k);
}

/*
 * PW_MAX_RULES rules at one port: tcp 22 from every non-empty set of
 * r0..r15 but the full one (65534 rules, no two alike), then rule 65535
 * alone on tcp 23.  Two segments, so compiling costs little.
 */
#define RULE_ROLES 16

static void policy_max_rules(struct text *t, bool one_more)
{
	add(t, "role db \"this host\"\n");
	for (int k = 0; k < RULE_ROLES; k++)
		add(t, "role r%d \"peers\"\n", k);
	for (unsigned m = 1; m < (1U << RULE_ROLES) - 1; m++) {
		const char *sep = "";

		add(t, "allow tcp 22 from ");
		for (int k = 0; k < RULE_ROLES; k++) {
			if (!(m >> k & 1))
				continue;
			add(t, "%sr%d", sep, k);
			sep = ",";
		}
		add(t, " to db note \"set %u\"\n", m);
	}
	add(t, "allow tcp 23 from r0 to db note \"rule 65535\"\n");
	if (one_more)
		add(t, "allow udp 1 from r0 to db note \"one too many\"\n");
}

/*
 * Every TCP port its own segment, 65535 on ingress (ids 1..65535, the
 * most a __u16 holds): nested items 1-65535, 2-65534, ... 32768 cut the
 * port space at every port, and each port lies in the first item, so
 * judging a segment stays cheap.  @one_more adds a 65536th.
 */
static void policy_max_segments(struct text *t, bool one_more)
{
	add(t, "role db \"this host\"\n");
	add(t, "role a \"peers\"\n");
	add(t, "allow tcp ");
	for (unsigned k = 1; k <= 32768; k++) {
		if (k == 65536 - k)
			add(t, "%u", k);
		else
			add(t, "%u-%u,", k, 65536 - k);
	}
	add(t, " from a to db note \"every port its own segment\"\n");
	if (one_more)
		add(t, "allow udp 53 from a to db note \"one too many\"\n");
}

/*
 * 255 roles and 32 ports from @first on (every other port, so each is a
 * segment), on ingress only: 32 x 256 = 8192 counter slots, half the
 * default slot_cap.
 */
#define SLOT_PORTS 32

static void policy_slots(struct text *t, unsigned first)
{
	add(t, "role db \"this host\"\n");
	for (unsigned k = 1; k <= 254; k++)
		add(t, "role r%u \"peer %u\"\n", k, k);
	add(t, "allow tcp %u", first);
	for (unsigned i = 1; i < SLOT_PORTS; i++)
		add(t, ",%u", first + 2 * i);
	add(t, " from r1 to db note \"ports from %u\"\n", first);
}

/* Every TCP port, for operators only; UDP and egress: no rule at all. */
static const char policy_all[] =
	"role db \"this host\"\n"
	"role ops \"operators\"\n"
	"allow tcp 1-65535 from ops to db note \"every tcp port, operators only\"\n";
static const char shadow_all_rule[] =
	"allow tcp 1-65535 from any to db note \"shadow: every tcp port, anyone\"\n";
static const char inventory_all[] = "ops 198.18.3.0/24 2001:db8:3::/64\n";

static const char *const host_db[] = { "db" };

/*
 * A policy and the texts it was parsed from (rules point into them);
 * compiled for host role db, keeping the ids of @prev when given.
 */
struct cap_policy {
	struct text pol, inv;
	struct xr_policy p;
};

static void cap_compile(struct cap_policy *cp, const struct pw_compiled *prev)
{
	assert_int_equal(xr_policy_compile_after(&cp->p, false, cp->pol.s,
						 cp->inv.s ? cp->inv.s : "",
						 host_db, 1, NULL, 0, prev),
			 0);
}

static void cap_free(struct cap_policy *cp)
{
	xr_policy_free(&cp->p);
	text_free(&cp->pol);
	text_free(&cp->inv);
}

/* policy_roles8() with what @fill puts in the inventory for @n. */
static void compile_roles8(struct cap_policy *cp,
			   void (*fill)(struct text *, unsigned), unsigned n)
{
	policy_roles8(&cp->pol);
	fill(&cp->inv, n);
	cap_compile(cp, NULL);
}

/* policy_all, and with @shadow the shadow's extra rule. */
static void compile_all(struct cap_policy *cp, bool shadow,
			const struct pw_compiled *prev)
{
	add(&cp->pol, "%s%s", policy_all, shadow ? shadow_all_rule : "");
	add(&cp->inv, "%s", inventory_all);
	cap_compile(cp, prev);
}

/*
 * Compile and expect failure: the diagnostics joined, one a line, for
 * the caller to search.
 */
static char *cap_compile_errors(struct cap_policy *cp)
{
	struct pw_compile_opts opts = { .host_roles = host_db,
					.nhost_roles = 1 };
	struct pw_diags d = { 0 };
	struct pw_compiled c;
	struct text out = { 0 };
	int err;

	err = pw_policy_parse_buffer("cap.policy", cp->pol.s, &cp->p.pol, &d);
	if (!err)
		err = pw_inventory_parse_buffer("cap.inventory",
						cp->inv.s ? cp->inv.s : "",
						&cp->p.pol, &cp->p.inv, &d);
	if (!err)
		err = pw_compile(&cp->p.pol, &cp->p.inv, &opts, &c, &d);
	assert_int_not_equal(err, 0);
	add(&out, "%s", "");
	for (int i = 0; i < d.n; i++) {
		char *s = pw_diag_format(&d.v[i]);

		if (d.v[i].level == PW_DIAG_ERROR)
			add(&out, "%s\n", s);
		free(s);
	}
	pw_diags_free(&d);
	return out.s;
}

/* ------------------------------------------------------------------ */
/* The loaded program                                                  */
/* ------------------------------------------------------------------ */

/*
 * One program for most tests, its maps sized as a host's would be at
 * load: the defaults, but every role id usable, room for exactly 513
 * IPv4 groups, and a ring buffer that holds every event asked for.
 * Each test writes its own policy into it, as a reload does.
 */
#define MAIN_V4_GROUP_CAP 513
#define MAIN_EVENT_RING (1U << 21)

static struct xr MAIN;
static bool main_ok;

static void main_caps(struct pw_caps *caps)
{
	pw_caps_default(caps);
	caps->role_cap = PW_MAX_ROLES;
	caps->v4_group_cap = MAIN_V4_GROUP_CAP;
	caps->event_ring = MAIN_EVENT_RING;
}

/* Mode, flags, events (0: none) and default ages. */
static void configure(struct xr *x, uint32_t mode, uint32_t flags,
		      uint32_t event_rate)
{
	struct pw_config cfg;

	assert_int_equal(pw_maps_get_config(&x->m, &cfg), 0);
	pw_config_defaults(&cfg);
	cfg.mode = mode;
	cfg.flags = flags;
	cfg.enforce_deadline_ns = 0;
	cfg.unchecked_drop = PW_UNCHECKED_DROP_DEFAULT;
	cfg.event_rate = event_rate;
	if (event_rate)
		cfg.event_burst = event_rate;
	assert_int_equal(pw_maps_set_config(&x->m, &cfg), 0);
	assert_int_equal(pw_maps_get_config(&x->m, &x->cfg), 0);
}

/* No flows, zero counters, an empty pw_shadow. */
static void fresh(struct xr *x, uint32_t mode, uint32_t flags,
		  uint32_t event_rate)
{
	assert_int_equal(pw_maps_reset_flows(&x->m), 0);
	assert_int_equal(pw_maps_reset_counters(&x->m), 0);
	assert_int_equal(pw_maps_reset_shadow(&x->m), 0);
	configure(x, mode, flags, event_rate);
}

static void install(struct xr *x, const struct pw_compiled *c)
{
	assert_int_equal(xr_install(x, c), 0);
}

static struct pw_counter reason_of(struct xr *x, unsigned dir, unsigned r)
{
	struct pw_counter sum;

	assert_int_equal(xr_read_reason(x, pw_reason_index(dir, r), &sum), 0);
	return sum;
}

static void read_stats(struct xr *x, __u64 st[PW_NSTAT])
{
	assert_int_equal(pw_maps_read_stats(&x->m, st), 0);
}

/* The generation not in force, as the datapath sees it. */
static void read_inactive_gen(struct xr *x, struct pw_gen_info *info,
			      __u32 *active)
{
	struct pw_config cfg;

	assert_int_equal(pw_maps_get_config(&x->m, &cfg), 0);
	*active = cfg.active_gen & 1;
	assert_int_equal(pw_maps_read_gen_info(&x->m, *active ^ 1, info), 0);
}

/*
 * Writing @c must be refused with exactly @why (after "policy does not
 * fit the maps: "), and leave both generations and the flip as they were:
 * the check comes before the first row is written.
 */
static void assert_write_refused(struct xr *x, const struct pw_compiled *c,
				 const char *why)
{
	struct pw_gen_info before, after;
	__u32 active, active_after;
	char want[256];

	read_inactive_gen(x, &before, &active);
	assert_int_equal(pw_maps_write_gen(&x->m, c, active ^ 1), -E2BIG);
	snprintf(want, sizeof(want), "policy does not fit the maps: %s", why);
	assert_string_equal(pw_maps_errmsg(), want);
	read_inactive_gen(x, &after, &active_after);
	assert_int_equal(active_after, active);
	assert_memory_equal(&before, &after, sizeof(before));
}

/* ------------------------------------------------------------------ */
/* Frames                                                              */
/* ------------------------------------------------------------------ */

static void l4_frame(struct pb *p, int fam, const uint8_t *src,
		     const uint8_t *dst, uint8_t proto, uint16_t sport,
		     uint16_t dport, uint8_t flags)
{
	pb_init(p);
	pb_eth(p);
	if (fam == 4)
		pb_ipv4(p, src, dst);
	else
		pb_ipv6(p, src, dst);
	if (proto == TCP) {
		pb_tcp(p, sport, dport);
		pb_tcp_flags(p, flags);
	} else {
		pb_udp(p, sport, dport);
	}
	pb_payload(p, 8);
	pb_finish(p);
}

/* One frame through the hook of @dir: PW_XDP_PASS or PW_XDP_DROP. */
static int run_frame(struct xr *x, unsigned dir, const struct pb *p)
{
	int action = -1;

	assert_int_equal(xr_run_dir(x, dir, p->buf, (uint32_t)p->len, &action),
			 0);
	return action;
}

static int tcp_in(struct xr *x, const uint8_t src[4], uint16_t sport,
		  uint16_t dport, uint8_t flags)
{
	struct pb p;

	l4_frame(&p, 4, src, LOCAL4, TCP, sport, dport, flags);
	return run_frame(x, IN, &p);
}

/*
 * Role probes: a frame from @src to local TCP port @port on ingress must
 * take the action of @verdict and move the counter of (@role, the port's
 * segment, @verdict) by exactly one, and the compiler's own lookup must
 * name @role too.  ACK frames: the allowed path does no flow work.
 */
struct probes {
	struct xr *x;
	uint64_t *want; /* expected packets per counter index */
	uint32_t n;
	int frames;
};

static void probes_start(struct probes *pr, struct xr *x)
{
	pr->x = x;
	pr->n = x->c->nslots * PW_NVERDICT;
	pr->want = calloc(pr->n ? pr->n : 1, sizeof(*pr->want));
	assert_non_null(pr->want);
	pr->frames = 0;
}

static void probes_end(struct probes *pr)
{
	free(pr->want);
	pr->want = NULL;
}

static void probe(struct probes *pr, int fam, const uint8_t *src,
		  uint16_t port, uint32_t role, uint8_t verdict)
{
	const struct pw_compiled *c = pr->x->c;
	unsigned seg = pw_compiled_seg(c, IN, PW_P_TCP, port);
	const struct pw_rule_entry *e = pw_compiled_entry(c, IN, seg, role);
	uint32_t ref = fam == 4 ? pw_compiled_role_v4(c, src) :
				  pw_compiled_role_v6(c, src);
	char where[INET6_ADDRSTRLEN];
	struct pw_counter sum;
	uint32_t idx;
	struct pb p;
	int action;

	inet_ntop(fam == 4 ? AF_INET : AF_INET6, src, where, sizeof(where));
	if (ref != role)
		fail_msg("%s: the compiler says role %u, expected %u", where,
			 ref, role);
	assert_non_null(e);
	idx = pw_counter_index(e->slot, verdict);
	assert_true(idx < pr->n);
	l4_frame(&p, fam, src, fam == 4 ? LOCAL4 : LOCAL6, TCP, 40000, port,
		 PB_TCP_ACK);
	action = run_frame(pr->x, IN, &p);
	if (action != (verdict == VDROP ? PW_XDP_DROP : PW_XDP_PASS))
		fail_msg("%s port %u: action %d, verdict %u expected", where,
			 port, action, verdict);
	pr->want[idx]++;
	assert_int_equal(xr_read_counter(pr->x, idx, &sum), 0);
	if (sum.packets != pr->want[idx])
		fail_msg("%s port %u: counter of role %u holds %llu, "
			 "expected %llu (resolved to another role?)",
			 where, port, role, (unsigned long long)sum.packets,
			 (unsigned long long)pr->want[idx]);
	pr->frames++;
}

/* ------------------------------------------------------------------ */
/* Capacities and their hard limits (no kernel)                         */
/* ------------------------------------------------------------------ */

/*
 * For each capacity a policy can need: at the hard limit pw_caps_fit()
 * grows to exactly the limit (not twice the need) and the result fits;
 * one more and fit stays at the limit while check refuses with "need N,
 * have M".  test_flip.c's test_caps covers the defaults' growth.
 */
static void test_caps_hard_limits(void **state)
{
	static const struct {
		const char *name;
		__u32 max;
		size_t cap_off;
	} lim[] = {
		{ "role_cap", PW_MAX_ROLES, offsetof(struct pw_caps, role_cap) },
		{ "seg_cap", PW_CAP_SEG_MAX, offsetof(struct pw_caps, seg_cap) },
		{ "v4_group_cap", PW_CAP_V4_GROUP_MAX,
		  offsetof(struct pw_caps, v4_group_cap) },
		{ "v6_cap", PW_CAP_V6_MAX, offsetof(struct pw_caps, v6_cap) },
		{ "slot_cap", PW_CAP_SLOT_MAX,
		  offsetof(struct pw_caps, slot_cap) },
	};
	char why[128], want[128];

	(void)state;
	for (size_t i = 0; i < sizeof(lim) / sizeof(lim[0]); i++) {
		for (__u32 extra = 0; extra <= 1; extra++) {
			struct pw_compiled c = { 0 };
			struct pw_caps caps;
			__u32 *need[] = { &c.nroles, &c.nsegs_max,
					  &c.v4_ngroups, &c.info.v6_nbuckets,
					  &c.nslots };
			__u32 *cap;

			c.nroles = c.nsegs_max = 1;
			*need[i] = lim[i].max + extra;
			pw_caps_default(&caps);
			pw_caps_fit(&caps, &c);
			cap = (__u32 *)((char *)&caps + lim[i].cap_off);
			assert_int_equal(*cap, lim[i].max);
			if (!extra) {
				assert_int_equal(pw_caps_check(&caps, &c, why,
							       sizeof(why)),
						 0);
				continue;
			}
			assert_int_equal(pw_caps_check(&caps, &c, why,
						       sizeof(why)),
					 -E2BIG);
			snprintf(want, sizeof(want), "%s: need %u, have %u",
				 lim[i].name, lim[i].max + 1, lim[i].max);
			assert_string_equal(why, want);
		}
	}
}

/* ------------------------------------------------------------------ */
/* IPv4 groups                                                         */
/* ------------------------------------------------------------------ */

/* Every probe address of the first @n24 /24s of 198.18.0.0/15. */
static void probe_v4_groups(struct probes *pr, unsigned n24)
{
	static const unsigned hosts[] = { 0, 1, 2, 63, 64, 127, 128, 200, 201,
					  255 };
	const struct pw_compiled *c = pr->x->c;
	char name[8];

	for (unsigned x = 0; x < 512; x++) {
		for (size_t h = 0; h < sizeof(hosts) / sizeof(hosts[0]); h++) {
			uint8_t a[4] = { 198, (uint8_t)(18 + x / 256),
					 (uint8_t)(x % 256),
					 (uint8_t)hosts[h] };
			int r = v4_group_role(x, hosts[h], n24);
			uint32_t role = PW_ROLE_UNKNOWN;

			if (r >= 0) {
				snprintf(name, sizeof(name), "a%d", r);
				role = (uint32_t)xr_role_id(c, name);
			}
			probe(pr, 4, a, 22, role, ALLOW);
		}
	}
}

/*
 * The maps hold 513 groups.  A policy needing 513 fits, and every
 * address of its 511 /24s resolves to its role through the program; one
 * more /24 needs 514 and is refused before anything is written.
 */
static void test_v4_groups_at_cap(void **state)
{
	struct cap_policy fits = { 0 }, over = { 0 };
	struct pw_caps caps;
	struct probes pr;
	char why[128];

	(void)state;
	compile_roles8(&fits, inventory_v4_groups, 511);
	compile_roles8(&over, inventory_v4_groups, 512);
	/* two /16 groups and one per /24 */
	assert_int_equal(fits.p.c.v4_ngroups, MAIN_V4_GROUP_CAP);
	assert_int_equal(over.p.c.v4_ngroups, MAIN_V4_GROUP_CAP + 1);

	assert_int_equal(pw_caps_check(&MAIN.caps, &fits.p.c, why,
				       sizeof(why)),
			 0);
	assert_int_equal(pw_caps_check(&MAIN.caps, &over.p.c, why,
				       sizeof(why)),
			 -E2BIG);
	assert_string_equal(why, "v4_group_cap: need 514, have 513");
	/* a load would size for it: twice the need, a power of two */
	caps = MAIN.caps;
	pw_caps_fit(&caps, &over.p.c);
	assert_int_equal(caps.v4_group_cap, 2048);

	fresh(&MAIN, PW_MODE_ENFORCE, 0, 0);
	install(&MAIN, &fits.p.c);
	probes_start(&pr, &MAIN);
	probe_v4_groups(&pr, 511);
	assert_write_refused(&MAIN, &over.p.c,
			     "v4_group_cap: need 514, have 513");
	/* still the policy in force: the last /24 has no roles */
	probe_v4_groups(&pr, 511);
	fprintf(stderr, "capacity: v4: %u groups in %u, %d frames resolved\n",
		fits.p.c.v4_ngroups, MAIN.caps.v4_group_cap, pr.frames);
	probes_end(&pr);
	cap_free(&fits);
	cap_free(&over);
}

/* ------------------------------------------------------------------ */
/* IPv6 buckets and prefix lengths                                     */
/* ------------------------------------------------------------------ */

/*
 * docs/architecture.md: the default v6_cap (16384 buckets) holds up to
 * 24,576 prefixes.  Here they are, over the sixteen lengths a generation
 * may have, and every one resolves through the program (2001:db8:i:: is
 * inside prefix i; 2001:db8:i::1 too, unless it is a /128).  One more
 * prefix doubles the table and is refused by the loaded maps.
 */
#define V6_FITS 24576

static void test_v6_buckets_at_cap(void **state)
{
	struct cap_policy fits = { 0 }, over = { 0 };
	struct probes pr;
	char why[128], name[8];
	uint8_t a[16];

	(void)state;
	compile_roles8(&fits, inventory_v6_prefixes, V6_FITS);
	compile_roles8(&over, inventory_v6_prefixes, V6_FITS + 1);

	assert_int_equal(fits.p.c.nv6, V6_FITS);
	assert_int_equal(fits.p.c.info.v6_nplens, PW_MAX_V6_PLENS);
	assert_int_equal(fits.p.c.info.v6_nbuckets, PW_DEFAULT_V6_CAP);
	assert_true(fits.p.c.info.v6_max_probe >= 1 &&
		    fits.p.c.info.v6_max_probe <= PW_V6_MAX_PROBE);
	assert_int_equal(over.p.c.info.v6_nbuckets, 2 * PW_DEFAULT_V6_CAP);
	assert_int_equal(MAIN.caps.v6_cap, PW_DEFAULT_V6_CAP);
	assert_int_equal(pw_caps_check(&MAIN.caps, &over.p.c, why,
				       sizeof(why)),
			 -E2BIG);
	assert_string_equal(why, "v6_cap: need 32768, have 16384");

	fresh(&MAIN, PW_MODE_ENFORCE, 0, 0);
	install(&MAIN, &fits.p.c);
	probes_start(&pr, &MAIN);
	for (unsigned i = 0; i < V6_FITS; i++) {
		uint32_t role;

		snprintf(name, sizeof(name), "a%u", i % 8);
		role = (uint32_t)xr_role_id(&fits.p.c, name);
		v6_addr(a, i, 0);
		probe(&pr, 6, a, 22, role, ALLOW);
		v6_addr(a, i, 1);
		probe(&pr, 6, a, 22,
		      V6_LENS[i % PW_MAX_V6_PLENS] == 128 ? PW_ROLE_UNKNOWN :
							     role,
		      ALLOW);
	}
	v6_addr(a, 0xffff, 0);
	probe(&pr, 6, a, 22, PW_ROLE_UNKNOWN, ALLOW);
	assert_write_refused(&MAIN, &over.p.c,
			     "v6_cap: need 32768, have 16384");
	v6_addr(a, V6_FITS, 0); /* the refused one's */
	probe(&pr, 6, a, 22, PW_ROLE_UNKNOWN, ALLOW);
	fprintf(stderr,
		"capacity: v6: %u prefixes, %u lengths, %u buckets, "
		"max probe %u; %d frames resolved\n",
		fits.p.c.nv6, fits.p.c.info.v6_nplens,
		fits.p.c.info.v6_nbuckets, fits.p.c.info.v6_max_probe,
		pr.frames);
	probes_end(&pr);
	cap_free(&fits);
	cap_free(&over);
}

/* ------------------------------------------------------------------ */
/* Roles                                                               */
/* ------------------------------------------------------------------ */

/*
 * 255 roles and 'unknown': role ids 0..255, every one of them a row of
 * pw_rules.  Each role's IPv4 and IPv6 addresses resolve to it, and port
 * 3306 sorts the allowed roles from the others at every id.
 */
static void test_roles_at_limit(void **state)
{
	struct cap_policy cp = { 0 };
	struct pw_caps caps;
	struct probes pr;
	uint8_t a4[4], a6[16];
	uint32_t lit;
	char why[128], name[8];

	(void)state;
	policy_max_roles(&cp.pol, 0);
	inventory_max_roles(&cp.inv);
	cap_compile(&cp, NULL);
	assert_int_equal(cp.p.c.nroles, PW_MAX_ROLES);
	lit = (uint32_t)xr_role_id(&cp.p.c, ROLES_LITERAL "/32");
	assert_int_equal(lit, PW_MAX_ROLES - 1);

	/* default caps: too few role ids; fit grows them to the limit */
	pw_caps_default(&caps);
	assert_int_equal(pw_caps_check(&caps, &cp.p.c, why, sizeof(why)),
			 -E2BIG);
	assert_string_equal(why, "role_cap: need 256, have 64");
	pw_caps_fit(&caps, &cp.p.c);
	assert_int_equal(caps.role_cap, PW_MAX_ROLES);
	assert_int_equal(pw_caps_check(&caps, &cp.p.c, why, sizeof(why)), 0);

	fresh(&MAIN, PW_MODE_ENFORCE, 0, 0);
	install(&MAIN, &cp.p.c);
	probes_start(&pr, &MAIN);
	for (unsigned k = 1; k <= ROLES_DECLARED; k++) {
		uint8_t v3306 = k <= ROLES_3306 ? ALLOW : VDROP;
		uint32_t r;

		snprintf(name, sizeof(name), "r%u", k);
		r = (uint32_t)xr_role_id(&cp.p.c, name);
		memcpy(a4, (uint8_t[4]){ 198, 18, (uint8_t)k, 1 }, 4);
		v6_addr(a6, k, 0x99);
		probe(&pr, 4, a4, 22, r, ALLOW);
		probe(&pr, 6, a6, 22, r, ALLOW);
		probe(&pr, 4, a4, 3306, r, v3306);
		probe(&pr, 6, a6, 3306, r, v3306);
	}
	pb_addr4(ROLES_LITERAL, a4);
	probe(&pr, 4, a4, 22, lit, ALLOW);
	probe(&pr, 4, a4, 3306, lit, ALLOW);
	probe(&pr, 4, STRANGER4, 3306, PW_ROLE_UNKNOWN, VDROP);
	fprintf(stderr, "capacity: roles: %u role ids, %d frames resolved\n",
		cp.p.c.nroles, pr.frames);
	probes_end(&pr);
	cap_free(&cp);
}

/* ------------------------------------------------------------------ */
/* Rules                                                               */
/* ------------------------------------------------------------------ */

/*
 * PW_MAX_RULES rules compile and load; rule ids are __u16 in pw_rules,
 * and the last one, 65535, is the one the datapath acts on for tcp 23.
 */
static void test_rules_at_limit(void **state)
{
	struct cap_policy cp = { 0 };
	const struct pw_compiled *c;
	const struct pw_rule_entry *e;
	struct probes pr;
	uint32_t r0, r1, r15;
	unsigned s22, s23;

	(void)state;
	policy_max_rules(&cp.pol, false);
	for (int k = 0; k < RULE_ROLES; k++)
		add(&cp.inv, "r%d 198.18.1.%d\n", k, k + 1);
	cap_compile(&cp, NULL);
	c = &cp.p.c;
	assert_int_equal(cp.p.pol.nrules, PW_MAX_RULES);
	assert_int_equal(cp.p.pol.rules[PW_MAX_RULES - 1].id, PW_MAX_RULES);
	r0 = (uint32_t)xr_role_id(c, "r0");
	r1 = (uint32_t)xr_role_id(c, "r1");
	r15 = (uint32_t)xr_role_id(c, "r15");
	s22 = pw_compiled_seg(c, IN, PW_P_TCP, 22);
	s23 = pw_compiled_seg(c, IN, PW_P_TCP, 23);
	e = pw_compiled_entry(c, IN, s23, r0);
	assert_int_equal(e->rule_id, PW_MAX_RULES);
	assert_true(e->flags & PW_ENTRY_ALLOW);
	e = pw_compiled_entry(c, IN, s23, r1);
	assert_int_equal(e->rule_id, PW_MAX_RULES);
	assert_false(e->flags & PW_ENTRY_ALLOW);
	/* r15 is first in the set 1 << 15, rule 32768 */
	e = pw_compiled_entry(c, IN, s22, r15);
	assert_int_equal(e->rule_id, 1U << 15);

	fresh(&MAIN, PW_MODE_ENFORCE, 0, 0);
	install(&MAIN, c);
	probes_start(&pr, &MAIN);
	probe(&pr, 4, (uint8_t[4]){ 198, 18, 1, 1 }, 23, r0, ALLOW);
	probe(&pr, 4, (uint8_t[4]){ 198, 18, 1, 2 }, 23, r1, VDROP);
	probe(&pr, 4, (uint8_t[4]){ 198, 18, 1, 16 }, 22, r15, ALLOW);
	probe(&pr, 4, STRANGER4, 22, PW_ROLE_UNKNOWN, VDROP);
	probes_end(&pr);
	cap_free(&cp);
}

/* ------------------------------------------------------------------ */
/* Counter slots across reloads                                        */
/* ------------------------------------------------------------------ */

/*
 * A reload keeps every slot of the generation in force, also those of
 * keys the new policy no longer has (their counts stay readable), and
 * puts new keys after them.  Reloads that keep bringing new keys thus
 * fill slot_cap: the second policy fills it exactly, the third is
 * refused although on its own it would need a third of it.
 */
static void test_slots_fill_across_reloads(void **state)
{
	struct cap_policy gen1 = { 0 }, gen2 = { 0 }, gen3 = { 0 },
			  alone = { 0 };
	const uint32_t per = SLOT_PORTS * PW_MAX_ROLES;

	(void)state;
	policy_slots(&gen1.pol, 1000);
	cap_compile(&gen1, NULL);
	policy_slots(&gen2.pol, 2000);
	cap_compile(&gen2, &gen1.p.c);
	policy_slots(&gen3.pol, 3000);
	cap_compile(&gen3, &gen2.p.c);
	policy_slots(&alone.pol, 3000);
	cap_compile(&alone, NULL);
	assert_int_equal(gen1.p.c.nslots, per);
	assert_int_equal(gen2.p.c.nslots, 2 * per);
	assert_int_equal(gen3.p.c.nslots, 3 * per);
	assert_int_equal(alone.p.c.nslots, per);
	assert_int_equal(MAIN.caps.slot_cap, 2 * per);

	fresh(&MAIN, PW_MODE_AUDIT, 0, 0);
	install(&MAIN, &gen1.p.c);
	install(&MAIN, &gen2.p.c);
	assert_write_refused(&MAIN, &gen3.p.c,
			     "slot_cap: need 24576, have 16384");
	cap_free(&alone);
	cap_free(&gen3);
	cap_free(&gen2);
	cap_free(&gen1);
}

/* ------------------------------------------------------------------ */
/* Segments                                                            */
/* ------------------------------------------------------------------ */

/*
 * 65535 ingress segments: seg_cap at its limit, 65536 rows per role.
 * Its own program: the main one's 256 role rows would make pw_rules
 * 512 MiB at this seg_cap.  The maps are sized exactly (role_cap 3).
 */
static void test_segments_at_limit(void **state)
{
	static const uint16_t edge[] = { 1, 2, 3, 1023, 1024, 32767, 32768,
					 32769, 65533, 65534, 65535 };
	struct cap_policy cp = { 0 }, over = { 0 };
	struct pw_caps caps;
	struct xr x;
	struct probes pr;
	uint32_t a, port;
	char *errs;
	char why[128];

	(void)state;
	policy_max_segments(&cp.pol, false);
	add(&cp.inv, "a 198.18.1.1\n");
	cap_compile(&cp, NULL);
	assert_int_equal(cp.p.c.nsegs[IN], PW_CAP_SEG_MAX);
	assert_int_equal(cp.p.c.nsegs_max, PW_CAP_SEG_MAX);
	for (port = 1; port <= 65535; port++)
		if (pw_compiled_seg(&cp.p.c, IN, PW_P_TCP, port) != port)
			fail_msg("tcp %u: segment %u", port,
				 pw_compiled_seg(&cp.p.c, IN, PW_P_TCP, port));

	pw_caps_default(&caps);
	assert_int_equal(pw_caps_check(&caps, &cp.p.c, why, sizeof(why)),
			 -E2BIG);
	assert_string_equal(why, "seg_cap: need 65536, have 1024");
	pw_caps_fit(&caps, &cp.p.c);
	assert_int_equal(caps.seg_cap, PW_CAP_SEG_MAX);
	caps.role_cap = cp.p.c.nroles;
	caps.slot_cap = cp.p.c.nslots;
	assert_int_equal(pw_caps_check(&caps, &cp.p.c, why, sizeof(why)), 0);

	assert_int_equal(xr_open(&x, &caps), 0);
	install(&x, &cp.p.c);
	configure(&x, PW_MODE_ENFORCE, 0, 0);
	a = (uint32_t)xr_role_id(&cp.p.c, "a");
	probes_start(&pr, &x);
	for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++) {
		probe(&pr, 4, (uint8_t[4]){ 198, 18, 1, 1 }, edge[i], a,
		      ALLOW);
		probe(&pr, 4, STRANGER4, edge[i], PW_ROLE_UNKNOWN, VDROP);
	}
	for (port = 7; port <= 65535; port += 257) {
		probe(&pr, 4, (uint8_t[4]){ 198, 18, 1, 1 }, (uint16_t)port, a,
		      ALLOW);
		probe(&pr, 4, STRANGER4, (uint16_t)port, PW_ROLE_UNKNOWN,
		      VDROP);
	}
	fprintf(stderr,
		"capacity: segments: %u ingress, %u slots, %d frames\n",
		cp.p.c.nsegs[IN] - 1, cp.p.c.nslots, pr.frames);
	probes_end(&pr);
	xr_close(&x);

	/* a 65536th segment: an error of the compiler, not a truncation */
	policy_max_segments(&over.pol, true);
	errs = cap_compile_errors(&over);
	assert_string_equal(errs, "error: too many port segments on ingress: "
				  "the limit is 65535\n");
	free(errs);
	cap_free(&over);
	cap_free(&cp);
}

/* ------------------------------------------------------------------ */
/* pw_unnamed                                                          */
/* ------------------------------------------------------------------ */

static int count_unnamed(const struct pw_counter_key *key,
			 const struct pw_counter *sum, void *arg)
{
	(void)key;
	(void)sum;
	(*(int *)arg)++;
	return 0;
}

static int unnamed_keys(struct xr *x)
{
	int n = 0;

	assert_int_equal(pw_maps_foreach_unnamed(&x->m, count_unnamed, &n), 0);
	return n;
}

static struct pw_counter unnamed_of(struct xr *x, unsigned dir, uint8_t proto,
				    uint16_t port, uint8_t verdict)
{
	struct pw_counter_key k = { .dir = (uint8_t)dir, .proto = proto,
				    .port_lo = port, .port_hi = port,
				    .verdict = verdict };
	struct pw_counter sum;

	assert_int_equal(xr_read_unnamed(x, &k, &sum), 0);
	return sum;
}

static void assert_reason(struct xr *x, unsigned dir, unsigned reason,
			  uint64_t packets, uint64_t bytes)
{
	struct pw_counter c = reason_of(x, dir, reason);

	if (c.packets != packets || c.bytes != bytes)
		fail_msg("%s reason %s: {%llu, %llu}, expected {%llu, %llu}",
			 dir == IN ? "ingress" : "egress",
			 pw_reason_name(reason), (unsigned long long)c.packets,
			 (unsigned long long)c.bytes,
			 (unsigned long long)packets,
			 (unsigned long long)bytes);
}

static int udp_frame(struct xr *x, unsigned dir, uint16_t sport,
		     uint16_t dport, uint32_t *len)
{
	struct pb p;

	if (dir == IN)
		l4_frame(&p, 4, STRANGER4, LOCAL4, UDP, sport, dport, 0);
	else
		l4_frame(&p, 4, LOCAL4, STRANGER4, UDP, sport, dport, 0);
	*len = (uint32_t)p.len;
	return run_frame(x, dir, &p);
}

/*
 * UDP has no rule: every UDP violation is counted in pw_unnamed under its
 * own (direction, port, verdict).  At the default 4096 keys, a new key is
 * counted under UNNAMED_FULL alone, with the verdict it would have had;
 * the keys already there keep counting.  Replies of flows opened on
 * unnamed ports too.
 */
#define UNNAMED_BASE 10000
#define UNNAMED_EXTRA 100

static void test_unnamed_full(void **state)
{
	struct cap_policy cp = { 0 };
	const uint32_t cap = MAIN.caps.unnamed_cap;
	struct pw_counter c;
	uint32_t len = 0;
	uint64_t full_in = 0, full_eg = 0;

	(void)state;
	compile_all(&cp, false, NULL);
	fresh(&MAIN, PW_MODE_AUDIT, 0, 0);
	install(&MAIN, &cp.p.c);
	assert_int_equal(cap, PW_DEFAULT_UNNAMED_CAP);

	for (uint32_t i = 0; i < cap; i++)
		assert_int_equal(udp_frame(&MAIN, IN, 5353,
					   (uint16_t)(UNNAMED_BASE + i), &len),
				 PW_XDP_PASS);
	assert_int_equal(unnamed_keys(&MAIN), cap);
	assert_reason(&MAIN, IN, PW_REASON_CLASSIFIED, cap,
		      (uint64_t)cap * len);
	assert_reason(&MAIN, IN, PW_REASON_UNNAMED_FULL, 0, 0);

	/* full: new ports pass (audit) and count under UNNAMED_FULL only */
	for (uint32_t i = 0; i < UNNAMED_EXTRA; i++)
		assert_int_equal(udp_frame(&MAIN, IN, 5353,
					   (uint16_t)(UNNAMED_BASE + cap + i),
					   &len),
				 PW_XDP_PASS);
	full_in = UNNAMED_EXTRA;
	assert_reason(&MAIN, IN, PW_REASON_UNNAMED_FULL, full_in,
		      full_in * len);
	assert_reason(&MAIN, IN, PW_REASON_CLASSIFIED, cap,
		      (uint64_t)cap * len);
	assert_int_equal(unnamed_keys(&MAIN), cap);
	c = unnamed_of(&MAIN, IN, UDP, UNNAMED_BASE + cap, AUDIT);
	assert_int_equal(c.packets, 0);

	/* a key already there keeps counting */
	assert_int_equal(udp_frame(&MAIN, IN, 5353, UNNAMED_BASE, &len),
			 PW_XDP_PASS);
	c = unnamed_of(&MAIN, IN, UDP, UNNAMED_BASE, AUDIT);
	assert_int_equal(c.packets, 2);
	assert_reason(&MAIN, IN, PW_REASON_CLASSIFIED, cap + 1,
		      (uint64_t)(cap + 1) * len);

	/* enforce: (port, drop) is a new key: dropped all the same */
	configure(&MAIN, PW_MODE_ENFORCE, 0, 0);
	assert_int_equal(udp_frame(&MAIN, IN, 5353, UNNAMED_BASE, &len),
			 PW_XDP_DROP);
	full_in++;
	assert_reason(&MAIN, IN, PW_REASON_UNNAMED_FULL, full_in,
		      full_in * len);

	/* egress: audited unless egress is enforced */
	assert_int_equal(udp_frame(&MAIN, EG, 40000, 30000, &len),
			 PW_XDP_PASS);
	full_eg++;
	configure(&MAIN, PW_MODE_ENFORCE, PW_CFG_EGRESS_ENFORCE, 0);
	assert_int_equal(udp_frame(&MAIN, EG, 40001, 30001, &len),
			 PW_XDP_DROP);
	full_eg++;
	assert_reason(&MAIN, EG, PW_REASON_UNNAMED_FULL, full_eg,
		      full_eg * len);
	assert_reason(&MAIN, EG, PW_REASON_CLASSIFIED, 0, 0);

	/* the answer to the audited egress flow: a reply, whose key (egress,
	 * 30000, reply) finds no room either; it passes all the same */
	assert_int_equal(udp_frame(&MAIN, IN, 30000, 40000, &len),
			 PW_XDP_PASS);
	full_in++;
	assert_reason(&MAIN, IN, PW_REASON_UNNAMED_FULL, full_in,
		      full_in * len);
	assert_int_equal(unnamed_keys(&MAIN), cap);
	cap_free(&cp);
}

/* ------------------------------------------------------------------ */
/* pw_shadow                                                           */
/* ------------------------------------------------------------------ */

static int count_shadow(const struct pw_shadow_key *key,
			const struct pw_counter *sum, void *arg)
{
	(void)key;
	(void)sum;
	(*(int *)arg)++;
	return 0;
}

struct shadow_find {
	struct pw_shadow_key key;
	struct pw_counter sum;
};

static int find_shadow(const struct pw_shadow_key *key,
		       const struct pw_counter *sum, void *arg)
{
	struct shadow_find *f = arg;

	if (memcmp(key, &f->key, sizeof(*key)))
		return 0;
	f->sum = *sum;
	return 1;
}

/*
 * The shadow policy lets anyone reach every TCP port, the running one
 * only operators: a stranger's SYN to each port is one more pw_shadow key
 * (the port is part of it).  Past PW_DEFAULT_SHADOW_CAP keys the
 * difference counts as shadow_full; the running verdict never changes.
 */
#define SHADOW_EXTRA 100

static void test_shadow_full(void **state)
{
	struct cap_policy run = { 0 }, shadow = { 0 };
	struct shadow_find f = { 0 };
	struct pw_config cfg;
	__u64 s0[PW_NSTAT], s1[PW_NSTAT];
	struct pw_counter c;
	uint32_t stranger, slot, n = PW_DEFAULT_SHADOW_CAP + SHADOW_EXTRA;
	int keys = 0;

	(void)state;
	compile_all(&run, false, NULL);
	compile_all(&shadow, true, &run.p.c);

	fresh(&MAIN, PW_MODE_AUDIT, 0, 0);
	install(&MAIN, &run.p.c);
	assert_int_equal(pw_maps_get_config(&MAIN.m, &cfg), 0);
	assert_int_equal(pw_maps_write_gen(&MAIN.m, &shadow.p.c,
					   (cfg.active_gen & 1) ^ 1),
			 0);
	configure(&MAIN, PW_MODE_AUDIT, PW_CFG_SHADOW, 0);
	stranger = PW_ROLE_UNKNOWN;
	slot = pw_compiled_entry(&run.p.c, IN,
				 pw_compiled_seg(&run.p.c, IN, PW_P_TCP, 1),
				 stranger)
		       ->slot;

	read_stats(&MAIN, s0);
	for (uint32_t i = 1; i <= n; i++)
		assert_int_equal(tcp_in(&MAIN, STRANGER4, 1000, (uint16_t)i,
					PB_TCP_SYN),
				 PW_XDP_PASS);
	read_stats(&MAIN, s1);
	assert_int_equal(pw_maps_foreach_shadow(&MAIN.m, count_shadow, &keys),
			 0);
	assert_int_equal(keys, PW_DEFAULT_SHADOW_CAP);
	assert_int_equal(s1[PW_STAT_SHADOW_FULL] - s0[PW_STAT_SHADOW_FULL],
			 SHADOW_EXTRA);
	assert_int_equal(xr_read_counter(&MAIN, pw_counter_index(slot, AUDIT),
					 &c),
			 0);
	assert_int_equal(c.packets, n);

	/* a key already there keeps counting (port 1, a new flow) */
	assert_int_equal(tcp_in(&MAIN, STRANGER4, 1001, 1, PB_TCP_SYN),
			 PW_XDP_PASS);
	f.key = (struct pw_shadow_key){ .dir = IN, .proto = TCP,
					.role = (uint16_t)stranger,
					.shadow_role = (uint16_t)stranger,
					.port = 1, .verdict = AUDIT,
					.shadow_verdict = ALLOW };
	assert_int_equal(pw_maps_foreach_shadow(&MAIN.m, find_shadow, &f), 1);
	assert_int_equal(f.sum.packets, 2);

	/* enforce: dropped as before, the new difference has no room */
	configure(&MAIN, PW_MODE_ENFORCE, PW_CFG_SHADOW, 0);
	assert_int_equal(tcp_in(&MAIN, STRANGER4, 1002, 1, PB_TCP_SYN),
			 PW_XDP_DROP);
	read_stats(&MAIN, s0);
	assert_int_equal(s0[PW_STAT_SHADOW_FULL] - s1[PW_STAT_SHADOW_FULL], 1);
	/* agreeing verdicts need no key */
	assert_int_equal(tcp_in(&MAIN, (uint8_t[4]){ 198, 18, 3, 1 }, 1003,
				5000, PB_TCP_SYN),
			 PW_XDP_PASS);
	read_stats(&MAIN, s1);
	assert_int_equal(s1[PW_STAT_SHADOW_FULL], s0[PW_STAT_SHADOW_FULL]);

	configure(&MAIN, PW_MODE_AUDIT, 0, 0);
	cap_free(&shadow);
	cap_free(&run);
}

/* ------------------------------------------------------------------ */
/* pw_ev_seen and pw_samples                                           */
/* ------------------------------------------------------------------ */

/* The pw_ev_seen key of a stranger's TCP frame to local port @dport. */
static struct pw_flow_key ev_key(uint16_t sport, uint16_t dport)
{
	struct pw_flow_key k = { 0 };

	memcpy(k.local, LOCAL4, 4);
	memcpy(k.remote, STRANGER4, 4);
	k.lport = dport;
	k.rport = sport;
	k.proto = TCP;
	k.family = 4;
	k.dir = IN;
	return k;
}

static uint32_t hash_entries(int fd, size_t key_size)
{
	char cur[64], next[64];
	uint32_t n = 0;
	int err;

	assert_true(key_size <= sizeof(cur));
	for (err = bpf_map_get_next_key(fd, NULL, next); !err;
	     err = bpf_map_get_next_key(fd, cur, next)) {
		memcpy(cur, next, key_size);
		n++;
	}
	return n;
}

struct sample_find {
	struct pw_counter_key key;
	struct pw_sample s;
	uint32_t entries;
	bool found;
};

static int find_sample(const struct pw_counter_key *key,
		       const struct pw_sample *s, void *arg)
{
	struct sample_find *f = arg;

	f->entries++;
	if (!memcmp(key, &f->key, sizeof(*key))) {
		f->s = *s;
		f->found = true;
	}
	return 0;
}

/*
 * More violating flows than pw_ev_seen holds (16384), on more ports than
 * pw_samples holds keys (4096): both are LRU maps, so every flow is
 * reported (nothing lost, nothing refused) and the newest sample is kept.
 * A flow whose pw_ev_seen entry was pushed out is reported again on its
 * next packet; one still remembered is a repeat.
 */
#define EV_FLOWS (PW_DEFAULT_EV_SEEN_CAP + 2048)

static void test_ev_seen_and_samples_lru(void **state)
{
	struct cap_policy cp = { 0 };
	struct sample_find sf = { 0 };
	__u64 s0[PW_NSTAT], s1[PW_NSTAT], s2[PW_NSTAT];
	struct pw_ev_seen seen;
	struct pw_flow_key k;
	uint32_t entries, gone = 0;

	(void)state;
	compile_all(&cp, false, NULL);
	fresh(&MAIN, PW_MODE_AUDIT, 0, 1000000);
	install(&MAIN, &cp.p.c);

	read_stats(&MAIN, s0);
	for (uint32_t i = 0; i < EV_FLOWS; i++)
		assert_int_equal(tcp_in(&MAIN, STRANGER4, 7000,
					(uint16_t)(1 + i), PB_TCP_SYN),
				 PW_XDP_PASS);
	read_stats(&MAIN, s1);
	assert_int_equal(s1[PW_STAT_EVENT_SENT] - s0[PW_STAT_EVENT_SENT],
			 EV_FLOWS);
	assert_int_equal(s1[PW_STAT_EVENT_LOST], s0[PW_STAT_EVENT_LOST]);
	assert_int_equal(s1[PW_STAT_EVENT_RATE_LIMITED],
			 s0[PW_STAT_EVENT_RATE_LIMITED]);
	assert_int_equal(s1[PW_STAT_EVENT_REPEAT], s0[PW_STAT_EVENT_REPEAT]);

	entries = hash_entries(MAIN.m.ev_seen, sizeof(struct pw_flow_key));
	assert_true(entries <= PW_DEFAULT_EV_SEEN_CAP);
	for (uint32_t i = 0; i < EV_FLOWS; i++) {
		k = ev_key(7000, (uint16_t)(1 + i));
		gone += bpf_map_lookup_elem(MAIN.m.ev_seen, &k, &seen) != 0;
	}
	assert_int_equal(gone, EV_FLOWS - entries);

	sf.key = (struct pw_counter_key){ .dir = IN, .proto = TCP,
					  .port_lo = EV_FLOWS,
					  .port_hi = EV_FLOWS };
	assert_int_equal(pw_maps_foreach_sample(&MAIN.m, find_sample, &sf), 0);
	assert_true(sf.entries <= PW_DEFAULT_SAMPLE_CAP);
	assert_true(sf.found);
	assert_int_equal(sf.s.family[0], 4);
	assert_memory_equal(sf.s.addr[0], STRANGER4, 4);

	/* again: forgotten flows are reported, remembered ones repeat */
	k = ev_key(7000, 1);
	bool first_gone = bpf_map_lookup_elem(MAIN.m.ev_seen, &k, &seen) != 0;
	assert_int_equal(tcp_in(&MAIN, STRANGER4, 7000, 1, PB_TCP_ACK),
			 PW_XDP_PASS);
	assert_int_equal(tcp_in(&MAIN, STRANGER4, 7000, EV_FLOWS, PB_TCP_ACK),
			 PW_XDP_PASS);
	read_stats(&MAIN, s2);
	assert_int_equal(s2[PW_STAT_EVENT_SENT] - s1[PW_STAT_EVENT_SENT],
			 first_gone ? 1 : 0);
	assert_int_equal(s2[PW_STAT_EVENT_REPEAT] - s1[PW_STAT_EVENT_REPEAT],
			 first_gone ? 1 : 2);
	fprintf(stderr,
		"capacity: events: %u flows reported, pw_ev_seen keeps %u, "
		"pw_samples %u keys; the first flow %s\n",
		EV_FLOWS, entries, sf.entries,
		first_gone ? "was forgotten and reported again" :
			     "was remembered");
	configure(&MAIN, PW_MODE_AUDIT, 0, 0);
	cap_free(&cp);
}

/* ------------------------------------------------------------------ */
/* pw_flows                                                            */
/* ------------------------------------------------------------------ */

/*
 * Operators' SYNs open inbound flows.  Some are closed by a RST and some
 * expire; the table is then filled to flow_cap, and three times as many
 * new flows come: the LRU map makes room, no insert fails, every SYN
 * passes, and the books close: inserted = closed + expired + entries +
 * evicted.  test_flow.c's test_flow_table_full shows what eviction does
 * to replies.
 *
 * Ageing is done by hand (pw_flows written from user space) while the
 * table has room: an update of an LRU map takes a free node first, and
 * on a full map that evicts up to a batch of old entries, perhaps the
 * one being updated.
 */
#define FLOW_CAP 512
#define FLOW_FIRST 64
#define FLOW_CLOSE 10
#define FLOW_AGE 10

static void assert_flow_books(struct xr *x, struct pw_flow_usage *u)
{
	assert_int_equal(pw_maps_flow_usage(&x->m, 0, u), 0);
	assert_int_equal(u->insert_failed, 0);
	assert_int_equal(u->inserted,
			 u->closed + u->expired + u->entries + u->evicted);
	assert_true(u->entries <= u->capacity);
}

static void age_flow(struct xr *x, uint16_t sport, uint16_t dport)
{
	struct pw_flow_key k = { 0 };
	struct pw_flow f;

	memcpy(k.local, LOCAL4, 4);
	memcpy(k.remote, (uint8_t[4]){ 198, 18, 3, 1 }, 4);
	k.lport = dport;
	k.rport = sport;
	k.proto = TCP;
	k.family = 4;
	assert_int_equal(bpf_map_lookup_elem(x->m.flows, &k, &f), 0);
	f.flags |= PW_FLOW_FIN; /* ages out after the FIN timeout */
	f.last_ns = 0;
	f.last_jiffies -= 1U << 30; /* past PW_FLOW_QUICK_JIFFIES */
	assert_int_equal(bpf_map_update_elem(x->m.flows, &k, &f, BPF_EXIST),
			 0);
}

/* A SYN (or @flags) from an operator's port 1024 + @hi to local @port. */
static int ops_tcp(struct xr *x, uint16_t hi, uint16_t port, uint8_t flags)
{
	static const uint8_t ops[4] = { 198, 18, 3, 1 };

	return tcp_in(x, ops, (uint16_t)(1024 + hi), port, flags);
}

static void test_flow_table_lru(void **state)
{
	struct cap_policy cp = { 0 };
	struct pw_flow_usage u;
	struct pw_caps caps;
	struct xr x;
	uint32_t i, n = 0, inserts = 0;

	(void)state;
	compile_all(&cp, false, NULL);
	pw_caps_default(&caps);
	pw_caps_fit(&caps, &cp.p.c);
	caps.flow_cap = FLOW_CAP;
	assert_int_equal(xr_open(&x, &caps), 0);
	install(&x, &cp.p.c);
	configure(&x, PW_MODE_ENFORCE, 0, 0);

	/* a few flows; some end, some age out and start again */
	for (i = 1; i <= FLOW_FIRST; i++, n++, inserts++)
		assert_int_equal(ops_tcp(&x, 0, (uint16_t)i, PB_TCP_SYN),
				 PW_XDP_PASS);
	for (i = 1; i <= FLOW_CLOSE; i++, n++)
		assert_int_equal(ops_tcp(&x, 0, (uint16_t)i,
					 PB_TCP_RST | PB_TCP_ACK),
				 PW_XDP_PASS);
	for (i = FLOW_CLOSE + 1; i <= FLOW_CLOSE + FLOW_AGE; i++)
		age_flow(&x, 1024, (uint16_t)i);
	for (i = FLOW_CLOSE + 1; i <= FLOW_CLOSE + FLOW_AGE; i++, n++, inserts++)
		assert_int_equal(ops_tcp(&x, 0, (uint16_t)i, PB_TCP_SYN),
				 PW_XDP_PASS);
	assert_flow_books(&x, &u);
	assert_int_equal(u.closed, FLOW_CLOSE);
	assert_int_equal(u.expired, FLOW_AGE);
	assert_int_equal(u.entries, FLOW_FIRST - FLOW_CLOSE);
	assert_int_equal(u.evicted, 0);

	/* exactly full */
	for (i = 1; u.entries + i <= FLOW_CAP; i++, n++, inserts++)
		assert_int_equal(ops_tcp(&x, 1, (uint16_t)i, PB_TCP_SYN),
				 PW_XDP_PASS);
	assert_flow_books(&x, &u);
	fprintf(stderr, "capacity: flows: filled to %u of %u, evicted %llu\n",
		u.entries, u.capacity, (unsigned long long)u.evicted);
	assert_int_equal(u.entries, FLOW_CAP);
	assert_true(u.full);
	assert_int_equal(u.evicted, 0);

	/* three tables' worth more */
	for (i = 1; i <= 3 * FLOW_CAP; i++, n++, inserts++)
		assert_int_equal(ops_tcp(&x, 2, (uint16_t)i, PB_TCP_SYN),
				 PW_XDP_PASS);
	assert_flow_books(&x, &u);
	assert_int_equal(u.inserted, inserts);
	assert_true(u.evicted >= 3 * FLOW_CAP - FLOW_CAP);
	assert_int_equal(u.live, u.entries);
	assert_int_equal(u.inbound, u.entries);
	/* every frame judged and passed, full table or not */
	assert_int_equal(reason_of(&x, IN, PW_REASON_CLASSIFIED).packets, n);
	fprintf(stderr,
		"capacity: flows: inserted %llu = closed %llu + expired %llu "
		"+ entries %u + evicted %llu\n",
		(unsigned long long)u.inserted, (unsigned long long)u.closed,
		(unsigned long long)u.expired, u.entries,
		(unsigned long long)u.evicted);
	xr_close(&x);
	cap_free(&cp);
}

/* ------------------------------------------------------------------ */
/* The CLI                                                             */
/* ------------------------------------------------------------------ */

static char pw_bin[4096];
static char tmpdir[] = "/tmp/pwcap-XXXXXX";
static bool have_tmpdir;

/* Run @argv; its stdout and stderr into *@out (malloc'd); exit status. */
static int run_cmd(const char *const argv[], char **out)
{
	struct text t = { 0 };
	char buf[65536];
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	add(&t, "%s", "");
	while ((n = read(fds[0], buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		add(&t, "%s", buf);
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	*out = t.s;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* @name in the test's directory, written from @t. */
static const char *put(const char *name, const struct text *t)
{
	static char paths[16][256];
	static int next;
	char *p = paths[next++ % 16];

	snprintf(p, 256, "%s/%s", tmpdir, name);
	write_file(p, t->s);
	return p;
}

static bool have_cli(void)
{
	const char *root = getenv("PW_BUILD_ROOT");

	if (!root)
		return false;
	snprintf(pw_bin, sizeof(pw_bin), "%s/portwarden", root);
	return access(pw_bin, X_OK) == 0 && have_tmpdir;
}

static bool have_ip(void)
{
	const char *argv[] = { "ip", "-V", NULL };
	char *out;
	int rc = run_cmd(argv, &out);

	free(out);
	return rc == 0;
}

/* "line:col" of the first @needle in @text. */
static void loc_of(const char *text, const char *needle, char *buf,
		   size_t len)
{
	const char *at = strstr(text, needle), *bol = text;
	int line = 1;

	assert_non_null(at);
	for (const char *p = text; p < at; p++) {
		if (*p == '\n') {
			line++;
			bol = p + 1;
		}
	}
	snprintf(buf, len, "%d:%d", line, (int)(at - bol) + 1);
}

/* Does @out hold a line that is exactly @line? */
static bool has_line(const char *out, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = out; (p = strstr(p, line)); p++)
		if ((p == out || p[-1] == '\n') &&
		    (p[n] == '\n' || p[n] == '\0'))
			return true;
	return false;
}

/* `portwarden check` must fail with @want among its lines. */
static void check_fails(const char *policy, const char *inventory,
			const char *want)
{
	const char *argv[] = { pw_bin, "check", "--policy", policy,
			       "--role", "db", inventory ? "--inventory" : NULL,
			       inventory, NULL };
	char *out;

	assert_int_equal(run_cmd(argv, &out), 1);
	if (!has_line(out, want))
		fail_msg("check: no line '%s' in:\n%.2000s", want, out);
	free(out);
}

/*
 * The limits of the language, as `check` reports them: with the place
 * where the limit is crossed, except for segments (a property of all the
 * rules together, reported without one).
 */
static void test_cli_check_limits(void **state)
{
	struct text pol = { 0 }, inv = { 0 };
	char want[512], at[32];
	const char *pp, *ip;

	(void)state;
	if (!have_cli())
		skip();

	/* a 17th IPv6 prefix length, in the inventory ... */
	policy_roles8(&pol);
	for (unsigned k = 0; k < PW_MAX_V6_PLENS; k++)
		add(&inv, "a0 2001:db8:%x::/%u\n", k, V6_LENS[k]);
	add(&inv, "a1 2001:db8:ff00::/40\n");
	pp = put("plens.policy", &pol);
	ip = put("plens.inventory", &inv);
	snprintf(want, sizeof(want),
		 "%s:17:4: error: too many distinct IPv6 prefix lengths: at "
		 "most 16 (this adds /40)", ip);
	check_fails(pp, ip, want);
	text_free(&pol);

	/* ... or as literal peers of the policy */
	add(&pol, "role db \"this host\"\n");
	for (unsigned k = 0; k <= PW_MAX_V6_PLENS; k++)
		add(&pol, "allow tcp 22 from 2001:db8:%x::/%u to db note \"x\"\n",
		    (k + 1) << 4, k < PW_MAX_V6_PLENS ? V6_LENS[k] : 44);
	pp = put("literals.policy", &pol);
	snprintf(want, sizeof(want),
		 "%s:18:19: error: too many distinct IPv6 prefix lengths "
		 "(/44 is one more): the limit is 16", pp);
	check_fails(pp, NULL, want);
	text_free(&pol);

	/* a 256th role: r254 fills the last id, the literal is one more */
	policy_max_roles(&pol, 1);
	pp = put("roles.policy", &pol);
	loc_of(pol.s, ROLES_LITERAL, at, sizeof(at));
	snprintf(want, sizeof(want),
		 "%s:%s: error: too many roles: at most 255, literal peers "
		 "included (role id 0 is 'unknown', limit 256)", pp, at);
	check_fails(pp, NULL, want);
	text_free(&pol);

	/* a 65536th rule */
	policy_max_rules(&pol, true);
	pp = put("rules.policy", &pol);
	snprintf(want, sizeof(want),
		 "%s:%d:1: error: too many rules: at most 65535", pp,
		 count_lines(pol.s));
	check_fails(pp, NULL, want);
	text_free(&pol);

	/* a 65536th segment */
	policy_max_segments(&pol, true);
	pp = put("segments.policy", &pol);
	check_fails(pp, NULL,
		    "error: too many port segments on ingress: the limit is "
		    "65535");
	text_free(&pol);
	text_free(&inv);
}

/* A namespace of our own, and what an earlier, killed run left behind. */
#define NS_PREFIX "pwcap"
#define NS_IFACE "pwcap0"

static char ns_name[32];

static void ns_cleanup_stale(void)
{
	DIR *d = opendir("/run/netns");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		const char *p = e->d_name, *digits = p + strlen(NS_PREFIX);
		const char *unload[] = { pw_bin, "unload", "--netns", p,
					 "--iface", NS_IFACE, NULL };
		const char *del[] = { "ip", "netns", "del", p, NULL };
		char *end, *out;
		long pid;

		if (strncmp(p, NS_PREFIX, strlen(NS_PREFIX)))
			continue;
		pid = strtol(digits, &end, 10);
		if (end == digits || *end)
			continue; /* not a name of ours */
		if (!kill((pid_t)pid, 0) || errno != ESRCH)
			continue; /* its run is still going */
		run_cmd(unload, &out);
		free(out);
		run_cmd(del, &out);
		free(out);
	}
	closedir(d);
}

static int ns_setup(void)
{
	const char *add_ns[] = { "ip", "netns", "add", ns_name, NULL };
	const char *veth[] = { "ip", "-n", ns_name, "link", "add", NS_IFACE,
			       "type", "veth", "peer", "name", "pwcap1",
			       NULL };
	const char *up0[] = { "ip", "-n", ns_name, "link", "set", NS_IFACE,
			      "up", NULL };
	const char *up1[] = { "ip", "-n", ns_name, "link", "set", "pwcap1",
			      "up", NULL };
	const char *const *steps[] = { add_ns, veth, up0, up1 };
	char *out;
	int rc = 0;

	snprintf(ns_name, sizeof(ns_name), NS_PREFIX "%d", (int)getpid());
	for (size_t i = 0; !rc && i < sizeof(steps) / sizeof(steps[0]); i++) {
		rc = run_cmd(steps[i], &out);
		if (rc)
			fprintf(stderr, "capacity: %s: %s\n", steps[i][0],
				out);
		free(out);
	}
	return rc;
}

static void ns_teardown(void)
{
	const char *unload[] = { pw_bin, "unload", "--netns", ns_name,
				 "--iface", NS_IFACE, NULL };
	const char *del[] = { "ip", "netns", "del", ns_name, NULL };
	char *out;

	run_cmd(unload, &out);
	free(out);
	run_cmd(del, &out);
	free(out);
}

/* The policy digest `status` shows. */
static void status_digest(char *digest, size_t len)
{
	const char *argv[] = { pw_bin, "status", "--netns", ns_name,
			       "--iface", NS_IFACE, NULL };
	char *out, *p;

	assert_int_equal(run_cmd(argv, &out), 0);
	p = strstr(out, "digest");
	assert_non_null(p);
	p += strlen("digest");
	p += strspn(p, " ");
	snprintf(digest, len, "%.*s", (int)strcspn(p, "\n"), p);
	free(out);
}

/* `portwarden load` or `reload` of @policy and @inventory for role db. */
static int load_cmd(const char *cmd, const char *policy,
		    const char *inventory, char **out)
{
	const char *argv[] = { pw_bin, cmd, "--netns", ns_name, "--iface",
			       NS_IFACE, "--policy", policy, "--inventory",
			       inventory, "--role", "db", NULL };

	return run_cmd(argv, out);
}

/* `portwarden reload`: refused with @why, the running policy kept. */
static void reload_refused(const char *policy, const char *inventory,
			   const char *why)
{
	char want[512], *out;

	snprintf(want, sizeof(want),
		 "portwarden: %s:%s: reload refused: the new policy does not "
		 "fit the loaded maps (%s); unload and load again to size "
		 "them for it (counters restart); the running policy is "
		 "untouched",
		 ns_name, NS_IFACE, why);
	assert_int_equal(load_cmd("reload", policy, inventory, &out), 1);
	if (!has_line(out, want))
		fail_msg("reload: no line '%s' in:\n%.2000s", want, out);
	free(out);
}

static void load_ok(const char *cmd, const char *policy,
		    const char *inventory)
{
	char *out;
	int rc = load_cmd(cmd, policy, inventory, &out);

	if (rc)
		fail_msg("%s: exit %d:\n%.2000s", cmd, rc, out);
	free(out);
}

/* Roles r1 and r2 for the policy the CLI test loads. */
static void inventory_v6_two_roles(struct text *t, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		add(t, "r%u 2001:db8:%x::/%u\n", 1 + i % 2, i,
		    V6_LENS[i % PW_MAX_V6_PLENS]);
}

/*
 * Maps are sized when `load` creates them.  A small policy is loaded; a
 * reload that needs more IPv6 buckets, role ids or segments than that is
 * refused with the capacity, what it needs and what the maps have, and
 * the policy in force stays.  A reload that fills v6_cap exactly works.
 */
static void test_cli_reload_past_caps(void **state)
{
	struct text pol = { 0 }, inv = { 0 };
	const char *small;
	char d0[64], d1[64];

	(void)state;
	if (!have_cli() || !have_ip())
		skip();
	ns_cleanup_stale();
	if (ns_setup())
		fail_msg("cannot make namespace %s", ns_name);

	add(&pol, "role db \"this host\"\nrole r1 \"a\"\nrole r2 \"b\"\n"
		  "allow tcp 22 from r1,r2 to db note \"ssh\"\n");
	small = put("small.policy", &pol);
	inventory_v6_two_roles(&inv, 2);
	load_ok("load", small, put("small.inventory", &inv));
	status_digest(d0, sizeof(d0));

	/* one IPv6 prefix more than the default buckets hold */
	text_free(&inv);
	inventory_v6_two_roles(&inv, V6_FITS + 1);
	reload_refused(small, put("v6over.inventory", &inv),
		       "v6_cap: need 32768, have 16384");

	/* 255 roles in maps made for 64 */
	text_free(&pol);
	text_free(&inv);
	policy_max_roles(&pol, 0);
	inventory_max_roles(&inv);
	reload_refused(put("roles.policy", &pol), put("roles.inventory", &inv),
		       "role_cap: need 256, have 64");

	/* every port its own segment in maps made for 1024 */
	text_free(&pol);
	text_free(&inv);
	policy_max_segments(&pol, false);
	add(&inv, "a 198.18.1.1\n");
	reload_refused(put("segments.policy", &pol),
		       put("segments.inventory", &inv),
		       "seg_cap: need 65536, have 1024");

	status_digest(d1, sizeof(d1));
	assert_string_equal(d0, d1);

	/* the most prefixes the loaded v6_cap holds: in force */
	text_free(&inv);
	inventory_v6_two_roles(&inv, V6_FITS);
	load_ok("reload", small, put("v6fits.inventory", &inv));
	status_digest(d1, sizeof(d1));
	assert_string_not_equal(d0, d1);
	text_free(&pol);
	text_free(&inv);
}

/* Whatever the test left: its namespace, with the program in it. */
static int cli_teardown(void **state)
{
	(void)state;
	if (ns_name[0])
		ns_teardown();
	ns_name[0] = '\0';
	return 0;
}

/* ------------------------------------------------------------------ */
/* Suite                                                               */
/* ------------------------------------------------------------------ */

static int rm_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096];

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	return rmdir(dir);
}

static int setup(void **state)
{
	struct pw_caps caps;
	cpu_set_t one;

	(void)state;
	/* per-CPU free lists of the hash maps: keep every test run on one
	 * CPU, so that "full" means the same from one run to the next */
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &one);
	if (sched_setaffinity(0, sizeof(one), &one))
		fprintf(stderr, "capacity: cannot pin to one CPU\n");
	have_tmpdir = mkdtemp(tmpdir) != NULL;
	main_caps(&caps);
	if (xr_open(&MAIN, &caps))
		return -1;
	main_ok = true;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (main_ok)
		xr_close(&MAIN);
	if (have_tmpdir)
		rm_tree(tmpdir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_caps_hard_limits),
		cmocka_unit_test(test_v4_groups_at_cap),
		cmocka_unit_test(test_v6_buckets_at_cap),
		cmocka_unit_test(test_roles_at_limit),
		cmocka_unit_test(test_rules_at_limit),
		cmocka_unit_test(test_slots_fill_across_reloads),
		cmocka_unit_test(test_segments_at_limit),
		cmocka_unit_test(test_unnamed_full),
		cmocka_unit_test(test_shadow_full),
		cmocka_unit_test(test_ev_seen_and_samples_lru),
		cmocka_unit_test(test_flow_table_lru),
		cmocka_unit_test(test_cli_check_limits),
		cmocka_unit_test_teardown(test_cli_reload_past_caps,
					  cli_teardown),
	};

	xr_require_root("test_capacity");
	if (getenv("PW_TEST_FILTER"))
		cmocka_set_test_filter(getenv("PW_TEST_FILTER"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
