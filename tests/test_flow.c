// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_flow.c - the flow table, the tc egress program and the shadow
 * policy, under BPF_PROG_TEST_RUN.  Needs root.
 *
 * One host holds the roles bastion and db of the replication-manager seed
 * policy (with the galera tag, and two site rules for ping).  Frames go
 * through pw_tc_egress (leaving the host) and pw_xdp_ingress (arriving) in
 * the order a conversation has them, and after every frame the test
 * checks the return code and that exactly the expected counter moved:
 * one reason of the hook's direction, one slot counter or one pw_unnamed
 * key, by {1, frame length}, and the flow statistics by what the frame
 * should have done to the table (insert, close, expire), and one event
 * statistic per violation.  Frames that no recorded flow explains (judged
 * by the policy, or egress answers to what an ingress rule lets in) are
 * also put to the reference classifier, which must agree.
 *
 * Covered: flows the host opens (egress first) and flows let in (ingress
 * SYN, echo request, audited violations), their replies on the opening
 * rule's row, the exact 5-tuple match, RST, FIN and ages, UDP and ICMP
 * echo, IPv4 and IPv6, VLAN tags on both hooks, egress answers without a
 * flow, egress enforcement, a full LRU table, and the shadow policy.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "pktbuild.h"
#include "xdprun.h"

#ifndef PW_SOURCE_ROOT
#define PW_SOURCE_ROOT "."
#endif

#define IN PW_DIR_INGRESS
#define EG PW_DIR_EGRESS
#define PASS PW_XDP_PASS
#define DROP PW_XDP_DROP
#define ALLOW PW_VERDICT_ALLOW
#define AUDIT PW_VERDICT_AUDIT
#define VDROP PW_VERDICT_DROP
#define REPLY PW_VERDICT_REPLY
#define TCP 6
#define UDP 17
#define ICMP 1
#define ICMP6 58
#define SYN PB_TCP_SYN
#define SYNACK (PB_TCP_SYN | PB_TCP_ACK)
#define ACK PB_TCP_ACK

#define SEED_POLICY PW_SOURCE_ROOT "/policies/replication-manager.policy"
#define SEED_INVENTORY \
	PW_SOURCE_ROOT "/policies/examples/replication-manager.inventory"

/* Site additions to the seed policy: the only ICMP rules. */
static const char site_rules[] =
	"\n# test site additions\n"
	"allow icmp 8 from bastion,repman to db note \"site: ping\"\n"
	"allow icmpv6 128 from bastion,repman to db note \"site: ping6\"\n";

/*
 * The shadow policy differs from the running one in four places: repman
 * may no longer reach 3306, app and db may reach each other on 8080, and
 * a new role (monitor, an address the running policy does not know) may
 * reach 9100.
 */
static const char shadow_drop_rule[] =
	"allow tcp 3306 from repman to db note";
static const char shadow_rules[] =
	"allow tcp 8080 from app to db bidirectional note \"shadow: app\"\n"
	"allow tcp 9100 from monitor to db note \"shadow: node exporter\"\n";
static const char shadow_role[] =
	"role monitor \"monitoring scrapers (shadow only)\"\n";
static const char shadow_inventory[] = "monitor 198.18.9.9\n";

/* Addresses of one family: the host's own, and peers of each role. */
struct fam {
	uint8_t fam;
	const char *local, *local_b; /* this host (no role needed) */
	const char *db, *db_b;       /* role db */
	const char *repman, *app, *bastion, *operator, *unknown;
};

static const struct fam F4 = {
	.fam = 4,
	.local = "198.18.5.10",
	.local_b = "198.18.5.99",
	.db = "198.18.2.12",
	.db_b = "198.18.2.13",
	.repman = "198.18.1.10",
	.app = "198.18.4.11",
	.bastion = "198.18.5.10",
	.operator = "198.18.10.11",
	.unknown = "198.18.9.9",
};

static const struct fam F6 = {
	.fam = 6,
	.local = "2001:db8:5::10",
	.local_b = "2001:db8:5::99",
	.db = "2001:db8:2::12",
	.db_b = "2001:db8:2::13",
	.repman = "2001:db8:1::10",
	.app = "2001:db8:4::11",
	.bastion = "2001:db8:5::10",
	.operator = "2001:db8:10::11",
	.unknown = "2001:db8:99::1",
};

/* ------------------------------------------------------------------ */
/* Frames                                                              */
/* ------------------------------------------------------------------ */

/* A packet's 5-tuple.  ICMP: sport is the echo identifier, dport the type. */
struct tuple {
	uint8_t fam;
	const char *src, *dst;
	uint8_t proto;
	uint16_t sport, dport;
	uint8_t flags;      /* TCP flags */
	const char *vlan;   /* one char per tag: q = 802.1Q, s = 802.1ad */
	/* ICMP errors: the packet quoted (dport is the type, sport the
	 * code); NULL for anything else */
	const struct tuple *quote;
};

/* A tuple without VLAN tags. */
#define TUPLE(f, s, d, pr, sp, dp, fl)                                        \
	((struct tuple){ .fam = (f), .src = (s), .dst = (d), .proto = (pr),   \
			 .sport = (sp), .dport = (dp), .flags = (fl) })

static void addr_of(uint8_t fam, const char *s, uint8_t out[16])
{
	memset(out, 0, 16);
	if (fam == 4)
		pb_addr4(s, out);
	else
		pb_addr6(s, out);
}

static bool is_icmp(uint8_t proto)
{
	return proto == ICMP || proto == ICMP6;
}

static void build(const struct tuple *t, struct pb *p);

/* ICMP error @t: its header, then t->quote from its IP header on. */
static void quote(const struct tuple *t, struct pb *p)
{
	struct pb inner;

	if (t->proto == ICMP)
		pb_icmp(p, (uint8_t)t->dport, (uint8_t)t->sport);
	else
		pb_icmp6(p, (uint8_t)t->dport, (uint8_t)t->sport);
	build(t->quote, &inner);
	/* the quote starts after the inner frame's Ethernet header */
	pb_bytes(p, inner.buf + 14, inner.len - 14);
	pb_finish(p);
}

static void build(const struct tuple *t, struct pb *p)
{
	uint8_t s[16], d[16];

	addr_of(t->fam, t->src, s);
	addr_of(t->fam, t->dst, d);
	pb_init(p);
	pb_eth(p);
	for (const char *v = t->vlan; v && *v; v++)
		pb_vlan(p, *v == 's' ? PB_ETH_P_8021AD : PB_ETH_P_8021Q,
			(uint16_t)(10 + (v - t->vlan)));
	if (t->fam == 4)
		pb_ipv4(p, s, d);
	else
		pb_ipv6(p, s, d);
	switch (t->proto) {
	case TCP:
		pb_tcp(p, t->sport, t->dport);
		pb_tcp_flags(p, t->flags);
		break;
	case UDP:
		pb_udp(p, t->sport, t->dport);
		break;
	case ICMP:
	case ICMP6:
		if (t->quote) {
			quote(t, p);
			return;
		}
		pb_icmp_echo(p, t->proto == ICMP6, (uint8_t)t->dport, t->sport,
			     1);
		break;
	default:
		fail_msg("no frame for protocol %u", t->proto);
	}
	pb_payload(p, 12);
	pb_finish(p);
}

/* The other way round: the answer's tuple, with TCP flags @flags. */
static struct tuple reverse(const struct tuple *t, uint8_t flags)
{
	struct tuple r = *t;

	r.src = t->dst;
	r.dst = t->src;
	if (is_icmp(t->proto)) {
		/* an echo reply answers a request: same identifier */
		r.dport = t->proto == ICMP ? PB_ICMP_ECHO_REPLY :
					     PB_ICMP6_ECHO_REPLY;
	} else {
		r.sport = t->dport;
		r.dport = t->sport;
	}
	r.flags = flags;
	return r;
}

/* The pw_flows key of @t as hook @hook sees it (see pw_flow_key). */
static void key_of(const struct tuple *t, unsigned hook,
		   struct pw_flow_key *k)
{
	uint8_t s[16], d[16];

	addr_of(t->fam, t->src, s);
	addr_of(t->fam, t->dst, d);
	memset(k, 0, sizeof(*k));
	memcpy(k->local, hook == IN ? d : s, 16);
	memcpy(k->remote, hook == IN ? s : d, 16);
	k->proto = t->proto;
	k->family = t->fam;
	if (is_icmp(t->proto)) {
		k->lport = t->sport;
	} else {
		k->lport = hook == IN ? t->dport : t->sport;
		k->rport = hook == IN ? t->sport : t->dport;
	}
}

/* ------------------------------------------------------------------ */
/* The program and the policies                                        */
/* ------------------------------------------------------------------ */

static struct xr X;
static struct xr_policy RUN, SHADOW;
static bool have_seed;
static int frames_run;

/* The whole file at @path, NUL-terminated; NULL when it cannot be read. */
static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return NULL;
	do {
		if (cap - len < 4096) {
			cap = cap * 2 + 4096;
			s = realloc(s, cap + 1);
			assert_non_null(s);
		}
		n = fread(s + len, 1, cap - len, f);
		len += n;
	} while (n);
	fclose(f);
	s[len] = '\0';
	return s;
}

/*
 * A copy of @text without the lines that start with @drop, and with @add
 * inserted before the first line that starts with @at.
 */
static char *edit_text(const char *text, const char *drop, const char *at,
		       const char *add)
{
	size_t cap = strlen(text) + strlen(add) + 1, o = 0;
	char *out = malloc(cap);
	const char *p = text;

	assert_non_null(out);
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p + 1) : strlen(p);

		if (at && !strncmp(p, at, strlen(at))) {
			memcpy(out + o, add, strlen(add));
			o += strlen(add);
			at = NULL;
		}
		if (!drop || strncmp(p, drop, strlen(drop))) {
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
	}
	out[o] = '\0';
	return out;
}

static char *concat(const char *a, const char *b)
{
	char *s = malloc(strlen(a) + strlen(b) + 1);

	assert_non_null(s);
	strcpy(s, a);
	strcat(s, b);
	return s;
}

/* For this host: roles bastion and db, the galera tag on. */
static int compile_policy(struct xr_policy *p, const char *policy,
			  const char *inventory,
			  const struct pw_compiled *prev_from)
{
	static const char *const roles[] = { "bastion", "db" };
	static const char *const tags[] = { "galera" };

	return xr_policy_compile_after(p, false, policy, inventory, roles, 2,
				       tags, 1, prev_from);
}

/*
 * The policy texts stay alive as long as the compiled policies: rules
 * keep pointers into the parsed text.
 */
static char *run_text, *shadow_text, *inv_text, *shadow_inv_text;

static int compile_policies(void)
{
	char *seed = read_text(SEED_POLICY), *with_role;

	inv_text = read_text(SEED_INVENTORY);
	if (!seed || !inv_text) {
		free(seed);
		return 1;
	}
	run_text = concat(seed, site_rules);
	with_role = edit_text(run_text, shadow_drop_rule, "role bastion",
			      shadow_role);
	shadow_text = concat(with_role, shadow_rules);
	shadow_inv_text = concat(inv_text, shadow_inventory);
	free(with_role);
	free(seed);
	if (compile_policy(&RUN, run_text, inv_text, NULL) ||
	    compile_policy(&SHADOW, shadow_text, shadow_inv_text, &RUN.c))
		return -1;
	return 0;
}

/* Capacities for both policies, with @flow_cap flows (0: the default). */
static void caps_for_both(struct pw_caps *caps, uint32_t flow_cap)
{
	pw_caps_default(caps);
	pw_caps_fit(caps, &RUN.c);
	pw_caps_fit(caps, &SHADOW.c);
	if (flow_cap)
		caps->flow_cap = flow_cap;
}

static int setup_suite(void **state)
{
	struct pw_caps caps;
	int err = compile_policies();

	if (err > 0) {
		fprintf(stderr, "flow: no seed policy, tests skipped\n");
		return 0;
	}
	if (err)
		return -1;
	have_seed = true;
	caps_for_both(&caps, 0);
	if (xr_open(&X, &caps))
		return -1;
	return xr_install(&X, &RUN.c) ? -1 : 0;
}

static int teardown_suite(void **state)
{
	if (have_seed)
		xr_close(&X);
	xr_policy_free(&SHADOW);
	xr_policy_free(&RUN);
	free(run_text);
	free(shadow_text);
	free(inv_text);
	free(shadow_inv_text);
	fprintf(stderr, "flow: %d frames checked\n", frames_run);
	return 0;
}

/* Host mode and flags; ages and event limits at their defaults. */
static void configure(uint32_t mode, uint32_t flags)
{
	struct pw_config cfg;

	assert_int_equal(pw_maps_get_config(&X.m, &cfg), 0);
	pw_config_defaults(&cfg);
	cfg.mode = mode;
	cfg.flags = flags;
	cfg.enforce_deadline_ns = 0;
	cfg.unchecked_drop = PW_UNCHECKED_DROP_DEFAULT;
	assert_int_equal(pw_maps_set_config(&X.m, &cfg), 0);
	assert_int_equal(pw_maps_get_config(&X.m, &X.cfg), 0);
}

/* Every test starts with no flows, zero counters, enforce mode. */
static int fresh(void **state)
{
	if (!have_seed)
		return 0;
	assert_int_equal(pw_maps_reset_flows(&X.m), 0);
	assert_int_equal(pw_maps_reset_counters(&X.m), 0);
	assert_int_equal(pw_maps_reset_shadow(&X.m), 0);
	configure(PW_MODE_ENFORCE, 0);
	return 0;
}

static uint32_t role(const char *name)
{
	int id = xr_role_id(X.c, name);

	if (id < 0)
		fail_msg("no role '%s'", name);
	return (uint32_t)id;
}

static unsigned proto_idx(uint8_t proto)
{
	switch (proto) {
	case TCP:
		return PW_P_TCP;
	case UDP:
		return PW_P_UDP;
	case ICMP:
		return PW_P_ICMP;
	default:
		return PW_P_ICMPV6;
	}
}

/* The slot of the rule entry (dir, proto, port, role) of policy @c. */
static uint32_t slot_in(const struct pw_compiled *c, unsigned dir,
			uint8_t proto, uint16_t port, const char *rname)
{
	unsigned seg = pw_compiled_seg(c, dir, proto_idx(proto), port);
	const struct pw_rule_entry *e;

	if (seg == PW_SEG_NONE)
		fail_msg("%s %u/%u: no rule names the port",
			 dir == IN ? "ingress" : "egress", proto, port);
	e = pw_compiled_entry(c, dir, seg, role(rname));
	if (!e)
		fail_msg("no entry for %s", rname);
	return e->slot;
}

static uint32_t slot(unsigned dir, uint8_t proto, uint16_t port,
		     const char *rname)
{
	return slot_in(X.c, dir, proto, port, rname);
}

/* ------------------------------------------------------------------ */
/* One frame and what it must do                                       */
/* ------------------------------------------------------------------ */

struct expect {
	int action;               /* PASS or DROP, whichever hook */
	enum pw_counter_kind ck;  /* the one counter that moves */
	uint32_t index;           /* SLOT: pw_counter_index(slot, verdict) */
	struct pw_counter_key key; /* UNNAMED: the key */
	enum pw_reason reason;
	bool flow_reply;          /* a reply of a recorded flow: the
				   * stateless classifier is not asked */
	int insert, closed, expired; /* pw_stats deltas */
};

static struct expect at_slot(uint32_t s, uint8_t verdict)
{
	struct expect e = {
		.action = verdict == VDROP ? DROP : PASS,
		.ck = PW_COUNTER_SLOT,
		.index = pw_counter_index(s, verdict),
		.flow_reply = verdict == REPLY,
	};

	return e;
}

static struct expect at_unnamed(unsigned dir, uint8_t proto, uint32_t r,
				uint16_t port, uint8_t verdict)
{
	struct expect e = {
		.action = verdict == VDROP ? DROP : PASS,
		.ck = PW_COUNTER_UNNAMED,
		.key = { .dir = (uint8_t)dir, .proto = proto,
			 .role = (uint16_t)r, .port_lo = port,
			 .port_hi = port, .verdict = verdict },
		.flow_reply = verdict == REPLY,
	};

	return e;
}

static struct expect opening(struct expect e)
{
	e.insert = 1;
	return e;
}

/*
 * An egress reply with no flow behind it: it answers what an ingress rule
 * lets in, which the classifier knows too.  The datapath records the
 * inbound flow then (adopted), unless the answer is a RST.
 */
static struct expect answer(struct expect e)
{
	e.flow_reply = false;
	return e;
}

static struct expect adopted(struct expect e)
{
	return opening(answer(e));
}

static void read_stats(__u64 st[PW_NSTAT])
{
	assert_int_equal(pw_maps_read_stats(&X.m, st), 0);
}

static __u64 event_stats(const __u64 st[PW_NSTAT])
{
	return st[PW_STAT_EVENT_SENT] + st[PW_STAT_EVENT_RATE_LIMITED] +
	       st[PW_STAT_EVENT_LOST] + st[PW_STAT_EVENT_REPEAT];
}

/* The classifier's answer must be @e (for frames that are judged). */
static void check_oracle(const char *name, unsigned hook, const struct pb *p,
			 const struct expect *e)
{
	struct pw_classify_result r;
	char text[256];

	pw_classify_dir(X.c, &X.cfg, xr_now(), hook, p->buf, (uint32_t)p->len,
			&r);
	xr_result_text(&r, text, sizeof(text));
	if (r.action != e->action || r.reason != e->reason ||
	    r.counter != e->ck ||
	    (e->ck == PW_COUNTER_SLOT && r.counter_index != e->index) ||
	    (e->ck == PW_COUNTER_UNNAMED &&
	     memcmp(&r.key, &e->key, sizeof(r.key))))
		fail_msg("%s: the classifier says %s", name, text);
}

/*
 * Run tuple @t through hook @hook and check @e: the action, exactly one
 * reason and one counter moved by {1, len}, the flow statistics, and one
 * event statistic per violation.
 */
static void frame(const char *name, unsigned hook, const struct tuple *t,
		  struct expect e)
{
	struct pw_classify_result want = { 0 };
	struct xr_snap before, after;
	__u64 st0[PW_NSTAT], st1[PW_NSTAT];
	char why[256], hex[3 * PB_MAX + 1];
	bool violation;
	int action = -1, verdict;
	struct pb p;

	build(t, &p);
	if (!e.flow_reply)
		check_oracle(name, hook, &p, &e);
	want.dir = (uint8_t)hook;
	want.reason = e.reason;
	want.counter = e.ck;
	want.counter_index = e.index;
	want.key = e.key;
	want.len = (uint32_t)p.len;

	read_stats(st0);
	assert_int_equal(xr_snap_take(&X, &before), 0);
	assert_int_equal(xr_run_dir(&X, hook, p.buf, (uint32_t)p.len, &action),
			 0);
	assert_int_equal(xr_snap_take(&X, &after), 0);
	read_stats(st1);
	if (action != e.action)
		fail_msg("%s: %s returned %s (%d), expected %s\n%s", name,
			 hook == IN ? "xdp" : "tc",
			 action == DROP ? "drop" : "pass", action,
			 e.action == DROP ? "drop" : "pass",
			 pb_hex(p.buf, p.len, hex));
	if (!xr_snap_delta_ok(&before, &after, &want, why, sizeof(why)))
		fail_msg("%s: counters: %s", name, why);
	xr_snap_free(&before);
	xr_snap_free(&after);

	verdict = e.ck == PW_COUNTER_UNNAMED ? e.key.verdict :
					       e.index % PW_NVERDICT;
	violation = verdict == AUDIT || verdict == VDROP;
	if (st1[PW_STAT_FLOW_INSERT] - st0[PW_STAT_FLOW_INSERT] !=
		    (__u64)e.insert ||
	    st1[PW_STAT_FLOW_CLOSED] - st0[PW_STAT_FLOW_CLOSED] !=
		    (__u64)e.closed ||
	    st1[PW_STAT_FLOW_EXPIRED] - st0[PW_STAT_FLOW_EXPIRED] !=
		    (__u64)e.expired ||
	    st1[PW_STAT_FLOW_INSERT_FAIL] != st0[PW_STAT_FLOW_INSERT_FAIL])
		fail_msg("%s: flow stats moved by insert %lld closed %lld "
			 "expired %lld insert_fail %lld, expected %d %d %d 0",
			 name,
			 (long long)(st1[PW_STAT_FLOW_INSERT] -
				     st0[PW_STAT_FLOW_INSERT]),
			 (long long)(st1[PW_STAT_FLOW_CLOSED] -
				     st0[PW_STAT_FLOW_CLOSED]),
			 (long long)(st1[PW_STAT_FLOW_EXPIRED] -
				     st0[PW_STAT_FLOW_EXPIRED]),
			 (long long)(st1[PW_STAT_FLOW_INSERT_FAIL] -
				     st0[PW_STAT_FLOW_INSERT_FAIL]),
			 e.insert, e.closed, e.expired);
	if (event_stats(st1) - event_stats(st0) != (violation ? 1 : 0))
		fail_msg("%s: event stats moved by %lld, expected %d", name,
			 (long long)(event_stats(st1) - event_stats(st0)),
			 violation ? 1 : 0);
	frames_run++;
}

/* pw_flows[key of @t at @hook]; false when absent. */
static bool flow_get(const struct tuple *t, unsigned hook, struct pw_flow *f)
{
	struct pw_flow_key k;

	key_of(t, hook, &k);
	if (bpf_map_lookup_elem(X.m.flows, &k, f)) {
		assert_int_equal(errno, ENOENT);
		return false;
	}
	return true;
}

static void flow_put(const struct tuple *t, unsigned hook,
		     const struct pw_flow *f)
{
	struct pw_flow_key k;

	key_of(t, hook, &k);
	assert_int_equal(bpf_map_update_elem(X.m.flows, &k, f, BPF_EXIST), 0);
}

/* The flow of @t must be there, opened as @origin with @slot, @rname, @port. */
static void assert_flow(const struct tuple *t, unsigned hook, uint8_t origin,
			uint32_t s, const char *rname, uint16_t port,
			uint8_t verdict)
{
	struct pw_flow f;

	if (!flow_get(t, hook, &f))
		fail_msg("no flow for %s -> %s proto %u %u -> %u", t->src,
			 t->dst, t->proto, t->sport, t->dport);
	assert_int_equal(f.origin, origin);
	assert_int_equal(f.slot, s);
	assert_int_equal(f.role, role(rname));
	assert_int_equal(f.port, port);
	assert_int_equal(f.verdict, verdict);
}

static void assert_no_flow(const struct tuple *t, unsigned hook)
{
	struct pw_flow f;

	if (flow_get(t, hook, &f))
		fail_msg("a flow for %s -> %s proto %u %u -> %u is left",
			 t->src, t->dst, t->proto, t->sport, t->dport);
}

/* CLOCK_MONOTONIC_COARSE: the clock of bpf_ktime_get_coarse_ns(). */
static __u64 coarse_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

/* Make the flow of @t look idle for @age_s seconds. */
static void age_flow(const struct tuple *t, unsigned hook, __u64 age_s)
{
	struct pw_flow f;

	assert_true(flow_get(t, hook, &f));
	/* wraps below zero on a young machine: the program's
	 * "now - last_ns" wraps back the same way */
	f.last_ns = coarse_now() - age_s * 1000000000ULL;
	/* and long ago in jiffies, or the program takes it as just seen
	 * without looking at the clock (PW_FLOW_QUICK_JIFFIES) */
	f.last_jiffies -= 1U << 30;
	flow_put(t, hook, &f);
}

#define SKIP_WITHOUT_SEED()       \
	do {                      \
		if (!have_seed)   \
			skip();   \
	} while (0)

/* test_@fn_v4 and test_@fn_v6: @fn(family) for each address family. */
#define BOTH_FAMILIES(fn)                        \
	static void test_##fn##_v4(void **state) \
	{                                        \
		SKIP_WITHOUT_SEED();             \
		fn(&F4);                         \
	}                                        \
	static void test_##fn##_v6(void **state) \
	{                                        \
		SKIP_WITHOUT_SEED();             \
		fn(&F6);                         \
	}

/*
 * A TCP handshake started by @syn through hook @hook and allowed at slot
 * @s (the rule's row for role @rname): the SYN records the flow, and the
 * SYN-ACK and ACK coming back are replies on the same row.
 */
static void handshake(const char *what, unsigned hook,
		      const struct tuple *syn, uint32_t s, const char *rname)
{
	unsigned back = hook == IN ? EG : IN;
	char name[128];
	struct tuple t;

	snprintf(name, sizeof(name), "%s: SYN", what);
	frame(name, hook, syn, opening(at_slot(s, ALLOW)));
	assert_flow(syn, hook, hook == IN ? PW_FLOW_INBOUND : PW_FLOW_OPENED,
		    s, rname, syn->dport, ALLOW);
	t = reverse(syn, SYNACK);
	snprintf(name, sizeof(name), "%s: SYN-ACK", what);
	frame(name, back, &t, at_slot(s, REPLY));
	t = reverse(syn, ACK);
	snprintf(name, sizeof(name), "%s: ACK", what);
	frame(name, back, &t, at_slot(s, REPLY));
}

/* ------------------------------------------------------------------ */
/* Flows the host opens: egress first, replies arrive                  */
/* ------------------------------------------------------------------ */

static void egress_open_and_reply(const struct fam *a)
{
	struct tuple syn = TUPLE(a->fam, a->local, a->db, TCP, 40000, 22, SYN);
	struct tuple synack = reverse(&syn, SYNACK), t;
	uint32_t s22 = slot(EG, TCP, 22, "db");
	uint32_t db = role("db");

	/* bastion -> db:22, allowed by the egress rule: a flow opens, and
	 * its answers are replies on the egress rule's row, in enforce */
	handshake("ssh to db", EG, &syn, s22, "db");
	/* the host's next packet is judged again and keeps the flow */
	t = syn;
	t.flags = ACK;
	frame("egress ACK to db:22", EG, &t, at_slot(s22, ALLOW));

	/* any one field of the tuple changed: no flow, a violation */
	t = synack;
	t.sport = 23;
	frame("reply from another remote port", IN, &t,
	      at_unnamed(IN, TCP, db, 40000, VDROP));
	t = synack;
	t.dport = 40001;
	frame("reply to another local port", IN, &t,
	      at_unnamed(IN, TCP, db, 40001, VDROP));
	t = synack;
	t.src = a->db_b;
	frame("reply from another db address", IN, &t,
	      at_unnamed(IN, TCP, db, 40000, VDROP));
	t = synack;
	t.dst = a->local_b;
	frame("reply to another local address", IN, &t,
	      at_unnamed(IN, TCP, db, 40000, VDROP));
	t = synack;
	t.proto = UDP;
	frame("reply over UDP", IN, &t, at_unnamed(IN, UDP, db, 40000, VDROP));

	/* crafted packets from db:22 that no flow explains */
	t = TUPLE(a->fam, a->db, a->local, TCP, 22, 41000, ACK);
	frame("stray ACK from db:22", IN, &t,
	      at_unnamed(IN, TCP, db, 41000, VDROP));
	t = TUPLE(a->fam, a->db, a->local, UDP, 22, 41001, 0);
	frame("UDP from db:22", IN, &t, at_unnamed(IN, UDP, db, 41001, VDROP));

	/* none of that touched the flow */
	frame("SYN-ACK again", IN, &synack, at_slot(s22, REPLY));
	assert_flow(&syn, EG, PW_FLOW_OPENED, s22, "db", 22, ALLOW);
}

BOTH_FAMILIES(egress_open_and_reply)

/* ------------------------------------------------------------------ */
/* Flows let in: ingress first, the host answers                       */
/* ------------------------------------------------------------------ */

static void inbound_and_answer(const struct fam *a)
{
	struct tuple syn =
		TUPLE(a->fam, a->repman, a->local, TCP, 50000, 3306, SYN);
	struct tuple t = reverse(&syn, SYNACK);
	uint32_t s3306 = slot(IN, TCP, 3306, "repman");
	uint32_t repman = role("repman");

	/* the answers leave on the ingress rule's row, not as violations */
	handshake("repman to 3306", IN, &syn, s3306, "repman");
	/* a retransmitted SYN finds its flow: nothing new is recorded */
	frame("repman SYN again", IN, &syn, at_slot(s3306, ALLOW));
	/* the same answer from another local port: egress to repman's
	 * ephemeral port, which no rule names */
	t = reverse(&syn, SYNACK);
	t.sport = 3307;
	frame("answer from another port", EG, &t,
	      opening(at_unnamed(EG, TCP, repman, 50000, AUDIT)));

	/* the db opens an undocumented port: an egress violation, audited
	 * whatever the host mode until egress enforcement is on */
	t = TUPLE(a->fam, a->local, a->repman, TCP, 41000, 8080, SYN);
	frame("egress to repman:8080, enforce", EG, &t,
	      opening(at_unnamed(EG, TCP, repman, 8080, AUDIT)));
	configure(PW_MODE_AUDIT, PW_CFG_EGRESS_ENFORCE);
	t.sport = 41001;
	frame("egress to repman:8080, egress enforce, audit", EG, &t,
	      opening(at_unnamed(EG, TCP, repman, 8080, AUDIT)));
	configure(PW_MODE_ENFORCE, PW_CFG_EGRESS_ENFORCE);
	t.sport = 41002;
	frame("egress to repman:8080, egress enforce, enforce", EG, &t,
	      at_unnamed(EG, TCP, repman, 8080, VDROP));
	assert_no_flow(&t, EG);

	/* a named egress port to a role the rule does not name */
	t = TUPLE(a->fam, a->local, a->app, TCP, 41003, 3306, SYN);
	frame("egress to app:3306, egress enforce", EG, &t,
	      at_slot(slot(EG, TCP, 3306, "app"), VDROP));
	configure(PW_MODE_ENFORCE, 0);
	t.sport = 41004;
	frame("egress to app:3306", EG, &t,
	      opening(at_slot(slot(EG, TCP, 3306, "app"), AUDIT)));

	/* the audited egress flow's reply goes to pw_unnamed as a reply */
	t = TUPLE(a->fam, a->repman, a->local, TCP, 8080, 41000, SYNACK);
	frame("reply of the audited egress flow", IN, &t,
	      at_unnamed(EG, TCP, repman, 8080, REPLY));
	t = TUPLE(a->fam, a->local, a->repman, TCP, 41000, 8080, 0);
	assert_flow(&t, EG, PW_FLOW_OPENED, PW_SLOT_NONE, "repman", 8080,
		    AUDIT);

	/* an audited inbound violation is let in and recorded: the host's
	 * answer is a reply, on the ingress pw_unnamed row */
	configure(PW_MODE_AUDIT, 0);
	t = TUPLE(a->fam, a->app, a->local, TCP, 50200, 8080, SYN);
	frame("app SYN to 8080, audit", IN, &t,
	      opening(at_unnamed(IN, TCP, role("app"), 8080, AUDIT)));
	assert_flow(&t, IN, PW_FLOW_INBOUND, PW_SLOT_NONE, "app", 8080, AUDIT);
	t = reverse(&t, SYNACK);
	frame("answer to app", EG, &t,
	      at_unnamed(IN, TCP, role("app"), 8080, REPLY));
}

BOTH_FAMILIES(inbound_and_answer)

/* ------------------------------------------------------------------ */
/* RST, FIN and age                                                    */
/* ------------------------------------------------------------------ */

static void test_rst_fin_expiry(void **state)
{
	const struct fam *a = &F4;
	struct tuple syn = TUPLE(a->fam, a->local, a->db, TCP, 40100, 22, SYN);
	struct tuple t;
	uint32_t s22, s3306, db;
	struct pw_flow f;
	__u64 fin_s = PW_DEFAULT_FLOW_FIN_TIMEOUT_S;

	SKIP_WITHOUT_SEED();
	s22 = slot(EG, TCP, 22, "db");
	db = role("db");

	/* a RST from the peer is a reply, and ends the flow */
	frame("open for RST", EG, &syn, opening(at_slot(s22, ALLOW)));
	t = reverse(&syn, PB_TCP_RST | ACK);
	frame("RST from db:22", IN, &t,
	      (struct expect){ .action = PASS, .ck = PW_COUNTER_SLOT,
			       .index = pw_counter_index(s22, REPLY),
			       .flow_reply = true, .closed = 1 });
	assert_no_flow(&syn, EG);
	t = reverse(&syn, ACK);
	frame("ACK after the RST", IN, &t,
	      at_unnamed(IN, TCP, db, 40100, VDROP));

	/* a RST from the host ends it too (judged, allowed) */
	syn.sport = 40101;
	frame("open for own RST", EG, &syn, opening(at_slot(s22, ALLOW)));
	t = syn;
	t.flags = PB_TCP_RST;
	frame("own RST", EG, &t,
	      (struct expect){ .action = PASS, .ck = PW_COUNTER_SLOT,
			       .index = pw_counter_index(s22, ALLOW),
			       .closed = 1 });
	assert_no_flow(&syn, EG);

	/* a FIN: the flow now ages out after the FIN timeout */
	syn.sport = 40102;
	frame("open for FIN", EG, &syn, opening(at_slot(s22, ALLOW)));
	t = reverse(&syn, PB_TCP_FIN | ACK);
	frame("FIN from db:22", IN, &t, at_slot(s22, REPLY));
	assert_true(flow_get(&syn, EG, &f));
	assert_int_equal(f.flags, PW_FLOW_FIN);
	assert_true(pw_flow_timeout_ns(&X.cfg, &f, TCP) ==
		    fin_s * 1000000000ULL);
	/* an open flow idle just as long is alive: the TCP age is days */
	t = syn;
	t.sport = 40103;
	frame("open without FIN", EG, &t, opening(at_slot(s22, ALLOW)));
	age_flow(&t, EG, fin_s + 30);
	t = reverse(&t, ACK);
	frame("reply of an idle open flow", IN, &t, at_slot(s22, REPLY));
	/* the FIN flow idle past the FIN timeout is expired by the next
	 * packet, which is then judged afresh */
	age_flow(&syn, EG, fin_s + 30);
	t = reverse(&syn, ACK);
	frame("reply after the FIN timeout", IN, &t,
	      (struct expect){ .action = DROP, .ck = PW_COUNTER_UNNAMED,
			       .key = at_unnamed(IN, TCP, db, 40102, VDROP).key,
			       .expired = 1 });
	assert_no_flow(&syn, EG);

	/* an expired flow's own side opens it again */
	syn.sport = 40104;
	frame("open for expiry", EG, &syn, opening(at_slot(s22, ALLOW)));
	age_flow(&syn, EG, PW_DEFAULT_FLOW_TCP_TIMEOUT_S + 1);
	t = syn;
	t.flags = ACK;
	frame("own packet after the TCP timeout", EG, &t,
	      (struct expect){ .action = PASS, .ck = PW_COUNTER_SLOT,
			       .index = pw_counter_index(s22, ALLOW),
			       .insert = 1, .expired = 1 });
	t = reverse(&syn, ACK);
	frame("reply of the reopened flow", IN, &t, at_slot(s22, REPLY));

	/* an inbound flow: the host's RST ends it */
	syn = TUPLE(a->fam, a->repman, a->local, TCP, 50400, 3306, SYN);
	s3306 = slot(IN, TCP, 3306, "repman");
	frame("repman SYN for RST", IN, &syn, opening(at_slot(s3306, ALLOW)));
	t = reverse(&syn, PB_TCP_RST | ACK);
	frame("host's RST to repman", EG, &t,
	      (struct expect){ .action = PASS, .ck = PW_COUNTER_SLOT,
			       .index = pw_counter_index(s3306, REPLY),
			       .flow_reply = true, .closed = 1 });
	assert_no_flow(&syn, IN);
	/* an aged inbound flow: the next SYN expires it and records it anew */
	syn.sport = 50401;
	frame("repman SYN to age", IN, &syn, opening(at_slot(s3306, ALLOW)));
	age_flow(&syn, IN, PW_DEFAULT_FLOW_TCP_TIMEOUT_S + 1);
	frame("repman SYN after the TCP timeout", IN, &syn,
	      (struct expect){ .action = PASS, .ck = PW_COUNTER_SLOT,
			       .index = pw_counter_index(s3306, ALLOW),
			       .insert = 1, .expired = 1 });
	assert_flow(&syn, IN, PW_FLOW_INBOUND, s3306, "repman", 3306, ALLOW);
}

/* ------------------------------------------------------------------ */
/* UDP and ICMP echo                                                   */
/* ------------------------------------------------------------------ */

static void udp_flows(const struct fam *a)
{
	struct tuple out = TUPLE(a->fam, a->local, a->db, UDP, 45000, 4567, 0);
	struct tuple t;
	uint32_t s4567 = slot(EG, UDP, 4567, "db"), db = role("db");

	/* galera group communication to another db node */
	frame("udp to db:4567", EG, &out, opening(at_slot(s4567, ALLOW)));
	t = reverse(&out, 0);
	frame("udp reply from db:4567", IN, &t, at_slot(s4567, REPLY));
	t.sport = 4568;
	frame("udp from db:4568", IN, &t,
	      at_unnamed(IN, UDP, db, 45000, VDROP));

	/* an undocumented UDP port: audited on egress, its reply counted
	 * as a reply of that unnamed port */
	out.sport = 45001;
	out.dport = 9999;
	frame("udp to db:9999", EG, &out,
	      opening(at_unnamed(EG, UDP, db, 9999, AUDIT)));
	assert_flow(&out, EG, PW_FLOW_OPENED, PW_SLOT_NONE, "db", 9999, AUDIT);
	t = reverse(&out, 0);
	frame("udp reply from db:9999", IN, &t,
	      at_unnamed(EG, UDP, db, 9999, REPLY));

	/* UDP ages after the UDP timeout */
	age_flow(&out, EG, PW_DEFAULT_FLOW_UDP_TIMEOUT_S + 1);
	frame("udp reply after the UDP timeout", IN, &t,
	      (struct expect){ .action = DROP, .ck = PW_COUNTER_UNNAMED,
			       .key = at_unnamed(IN, UDP, db, 45001, VDROP).key,
			       .expired = 1 });
}

static void echo_flows(const struct fam *a)
{
	uint8_t icmp = a->fam == 4 ? ICMP : ICMP6;
	bool v4 = a->fam == 4;
	uint8_t req = v4 ? PB_ICMP_ECHO_REQUEST : PB_ICMP6_ECHO_REQUEST;
	uint8_t rep = v4 ? PB_ICMP_ECHO_REPLY : PB_ICMP6_ECHO_REPLY;
	struct tuple ping =
		TUPLE(a->fam, a->local, a->db, icmp, 0x1234, req, 0);
	struct tuple t;
	uint32_t s_out = slot(EG, icmp, req, "db"), db = role("db");
	uint32_t s_in = slot(IN, icmp, req, "repman");

	/* the host pings a db node: the request opens, by identifier */
	frame("echo request to db", EG, &ping, opening(at_slot(s_out, ALLOW)));
	assert_flow(&ping, EG, PW_FLOW_OPENED, s_out, "db", req, ALLOW);
	t = reverse(&ping, 0);
	frame("echo reply from db", IN, &t, at_slot(s_out, REPLY));
	t.sport = 0x1235;
	frame("echo reply, other identifier", IN, &t,
	      at_unnamed(IN, icmp, db, rep, VDROP));
	/* only an echo reply answers: a request with the same identifier
	 * is judged (db may not ping this host) */
	t = ping;
	t.src = a->db;
	t.dst = a->local;
	frame("echo request from db, same identifier", IN, &t,
	      at_slot(slot(IN, icmp, req, "db"), VDROP));

	/* repman pings the host: let in, the host's echo reply is a reply */
	ping = TUPLE(a->fam, a->repman, a->local, icmp, 0x2222, req, 0);
	frame("echo request from repman", IN, &ping,
	      opening(at_slot(s_in, ALLOW)));
	assert_flow(&ping, IN, PW_FLOW_INBOUND, s_in, "repman", req, ALLOW);
	t = reverse(&ping, 0);
	frame("echo reply to repman", EG, &t, at_slot(s_in, REPLY));
	/* a request of the host's with that identifier is judged: the
	 * egress rule only names db */
	t.dport = req;
	frame("echo request to repman, same identifier", EG, &t,
	      at_slot(slot(EG, icmp, req, "repman"), AUDIT));
}

static void udp_and_echo(const struct fam *a)
{
	udp_flows(a);
	echo_flows(a);
}

BOTH_FAMILIES(udp_and_echo)

/*
 * ICMP errors about a known flow (unreachable, time exceeded) are replies
 * of that flow, as conntrack calls them related: they pass in enforce on
 * both hooks.  About a flow nobody knows, they are judged like any ICMP.
 */
static void icmp_errors(const struct fam *a)
{
	bool v4 = a->fam == 4;
	uint8_t icmp = v4 ? ICMP : ICMP6;
	uint16_t unreach = v4 ? 3 : 1, port_code = v4 ? 3 : 4;
	uint32_t s22 = slot(EG, TCP, 22, "db");
	uint32_t s3306 = slot(IN, TCP, 3306, "repman");
	uint32_t db = role("db"), repman = role("repman");
	struct tuple out, in, err, stray;

	configure(PW_MODE_ENFORCE, PW_CFG_EGRESS_ENFORCE);

	/* the host SSHes to a db host; a router says it is unreachable */
	out = TUPLE(a->fam, a->local, a->db, TCP, 50600, 22, SYN);
	frame("syn to db:22", EG, &out, opening(at_slot(s22, ALLOW)));
	err = TUPLE(a->fam, a->db, a->local, icmp, 1, unreach, 0);
	err.quote = &out;
	frame("host unreachable about it", IN, &err, at_slot(s22, REPLY));

	/* repman's connection in; the host answers with an ICMP error */
	in = TUPLE(a->fam, a->repman, a->local, TCP, 50601, 3306, SYN);
	frame("syn from repman to 3306", IN, &in,
	      opening(at_slot(s3306, ALLOW)));
	err = TUPLE(a->fam, a->local, a->repman, icmp, port_code, unreach, 0);
	err.quote = &in;
	frame("port unreachable to repman", EG, &err, at_slot(s3306, REPLY));

	/* an error quoting a packet of no known flow: judged, dropped */
	stray = TUPLE(a->fam, a->local, a->db, TCP, 50602, 22, SYN);
	err = TUPLE(a->fam, a->db, a->local, icmp, 1, unreach, 0);
	err.quote = &stray;
	frame("unreachable about nothing", IN, &err,
	      at_unnamed(IN, icmp, db, unreach, VDROP));
	(void)repman;
}

BOTH_FAMILIES(icmp_errors)

/*
 * Egress packets with no flow that answer what an ingress rule lets in:
 * the replies of allowed UDP (which has no SYN to record) and of
 * connections older than the load.  They count as replies of the ingress
 * rule, pass whatever the egress enforcement, and record the flow.
 */
static void answers(const struct fam *a)
{
	bool v4 = a->fam == 4;
	uint8_t icmp = v4 ? ICMP : ICMP6;
	uint8_t req = v4 ? PB_ICMP_ECHO_REQUEST : PB_ICMP6_ECHO_REQUEST;
	uint8_t rep = v4 ? PB_ICMP_ECHO_REPLY : PB_ICMP6_ECHO_REPLY;
	uint32_t s4567 = slot(IN, UDP, 4567, "db");
	uint32_t s22 = slot(IN, TCP, 22, "operator");
	uint32_t operator = role("operator"), app = role("app");
	struct tuple t, r;

	configure(PW_MODE_ENFORCE, PW_CFG_EGRESS_ENFORCE);

	/* allowed UDP in records nothing; the host's answer is a reply */
	t = TUPLE(a->fam, a->db, a->local, UDP, 45100, 4567, 0);
	frame("udp from db to 4567", IN, &t, at_slot(s4567, ALLOW));
	assert_no_flow(&t, IN);
	r = reverse(&t, 0);
	frame("udp answer to db", EG, &r, adopted(at_slot(s4567, REPLY)));
	assert_flow(&t, IN, PW_FLOW_INBOUND, s4567, "db", 4567, ALLOW);
	frame("udp answer again", EG, &r, at_slot(s4567, REPLY));

	/* an operator's SSH session older than the load: its packets are
	 * allowed and record nothing, the host's answer is adopted */
	t = TUPLE(a->fam, a->operator, a->local, TCP, 50300, 22, ACK);
	frame("operator ACK to 22", IN, &t, at_slot(s22, ALLOW));
	assert_no_flow(&t, IN);
	r = reverse(&t, ACK | PB_TCP_PSH);
	frame("answer to the operator", EG, &r,
	      adopted(at_slot(s22, REPLY)));
	assert_flow(&t, IN, PW_FLOW_INBOUND, s22, "operator", 22, ALLOW);
	/* a RST from port 22 answers too, and records nothing */
	r = TUPLE(a->fam, a->local, a->operator, TCP, 22, 50301,
		  PB_TCP_RST | ACK);
	frame("RST from 22 to the operator", EG, &r,
	      answer(at_slot(s22, REPLY)));
	assert_no_flow(&r, EG);

	/* a SYN from port 22 starts a flow: judged by the egress rules */
	r = TUPLE(a->fam, a->local, a->operator, TCP, 22, 50302, SYN);
	frame("SYN from 22 to the operator", EG, &r,
	      at_unnamed(EG, TCP, operator, 50302, VDROP));
	/* and from port 22 to a role the rule does not let in, too */
	r = TUPLE(a->fam, a->local, a->app, TCP, 22, 50303, ACK);
	frame("ACK from 22 to app", EG, &r,
	      at_unnamed(EG, TCP, app, 50303, VDROP));
	configure(PW_MODE_ENFORCE, 0);
	r.dport = 50304;
	frame("ACK from 22 to app, egress audited", EG, &r,
	      opening(at_unnamed(EG, TCP, app, 50304, AUDIT)));

	/* an echo reply with no flow answers the echo request repman may
	 * send in: adopted, keyed by its identifier */
	r = TUPLE(a->fam, a->local, a->repman, icmp, 0x3333, rep, 0);
	frame("echo reply to repman, no flow", EG, &r,
	      adopted(at_slot(slot(IN, icmp, req, "repman"), REPLY)));
	assert_flow(&r, EG, PW_FLOW_INBOUND, slot(IN, icmp, req, "repman"),
		    "repman", req, ALLOW);
	/* to db, whose echo requests are not let in: judged, and an echo
	 * reply opens no flow */
	r = TUPLE(a->fam, a->local, a->db, icmp, 0x3334, rep, 0);
	frame("echo reply to db, no flow", EG, &r,
	      at_unnamed(EG, icmp, role("db"), rep, AUDIT));
}

BOTH_FAMILIES(answers)

/* Tagged frames on both hooks: tags are not part of a flow. */
static void test_vlan(void **state)
{
	struct tuple syn = TUPLE(4, F4.local, F4.db, TCP, 40200, 22, SYN);
	struct tuple t;
	uint32_t s22;

	SKIP_WITHOUT_SEED();
	s22 = slot(EG, TCP, 22, "db");
	syn.vlan = "q";
	frame("tagged SYN to db:22", EG, &syn, opening(at_slot(s22, ALLOW)));
	t = reverse(&syn, SYNACK);
	t.vlan = "sq";
	frame("double-tagged SYN-ACK", IN, &t, at_slot(s22, REPLY));
	t.vlan = NULL;
	frame("untagged ACK", IN, &t, at_slot(s22, REPLY));

	t = TUPLE(6, F6.repman, F6.local, TCP, 50100, 3306, SYN);
	t.vlan = "s";
	frame("tagged v6 SYN to 3306", IN, &t,
	      opening(at_slot(slot(IN, TCP, 3306, "repman"), ALLOW)));
	t = reverse(&t, SYNACK);
	t.vlan = "q";
	frame("tagged v6 SYN-ACK", EG, &t,
	      at_slot(slot(IN, TCP, 3306, "repman"), REPLY));
	/* from 3306 to another port of repman: no flow, but it answers
	 * what the rule lets in, and that inbound flow is recorded */
	t.dport = 50101;
	frame("tagged v6 answer to another port", EG, &t,
	      adopted(at_slot(slot(IN, TCP, 3306, "repman"), REPLY)));
}

/* ------------------------------------------------------------------ */
/* A full flow table                                                   */
/* ------------------------------------------------------------------ */

#define SMALL_FLOW_CAP 256
#define MANY_FLOWS 2048

static void test_flow_table_full(void **state)
{
	struct tuple syn = TUPLE(4, F4.local, F4.db, TCP, 0, 22, SYN);
	struct pw_flow_usage u;
	struct xr saved = X;
	struct pw_caps caps;
	struct pw_flow f;
	struct tuple t;
	uint32_t s22, evicted_port = 0;
	int action;
	struct pb p;

	SKIP_WITHOUT_SEED();
	caps_for_both(&caps, SMALL_FLOW_CAP);
	assert_int_equal(xr_open(&X, &caps), 0);
	assert_int_equal(xr_install(&X, &RUN.c), 0);
	configure(PW_MODE_ENFORCE, 0);
	s22 = slot(EG, TCP, 22, "db");

	for (int i = 0; i < MANY_FLOWS; i++) {
		syn.sport = (uint16_t)(20000 + i);
		build(&syn, &p);
		assert_int_equal(xr_run_tc(&X, p.buf, (uint32_t)p.len,
					   &action),
				 0);
		assert_int_equal(action, XR_TC_ACT_UNSPEC);
	}
	assert_int_equal(pw_maps_flow_usage(&X.m, 0, &u), 0);
	fprintf(stderr,
		"flow: %u flows into %u: %u entries, inserted %llu, "
		"evicted %llu\n",
		MANY_FLOWS, u.capacity, u.entries,
		(unsigned long long)u.inserted,
		(unsigned long long)u.evicted);
	assert_int_equal(u.capacity, SMALL_FLOW_CAP);
	assert_true(u.entries <= SMALL_FLOW_CAP);
	assert_true(u.entries > 0);
	assert_int_equal(u.inserted + u.insert_failed, MANY_FLOWS);
	assert_int_equal(u.closed, 0);
	assert_int_equal(u.expired, 0);
	assert_true(u.evicted > 0);
	assert_int_equal(u.inserted, u.closed + u.expired + u.entries +
					     u.evicted);
	assert_int_equal(u.live, u.entries);
	assert_int_equal(u.opened, u.entries);

	/* the oldest flows went first: find one, its reply is a violation */
	for (int i = 0; i < MANY_FLOWS / 2 && !evicted_port; i++) {
		syn.sport = (uint16_t)(20000 + i);
		if (!flow_get(&syn, EG, &f))
			evicted_port = syn.sport;
	}
	assert_int_not_equal(evicted_port, 0);
	syn.sport = (uint16_t)evicted_port;
	t = reverse(&syn, SYNACK);
	frame("reply of an evicted flow", IN, &t,
	      at_unnamed(IN, TCP, role("db"), (uint16_t)evicted_port, VDROP));
	/* the newest flow is still there */
	syn.sport = 20000 + MANY_FLOWS - 1;
	assert_true(flow_get(&syn, EG, &f));
	t = reverse(&syn, SYNACK);
	frame("reply of the newest flow", IN, &t, at_slot(s22, REPLY));

	xr_close(&X);
	X = saved;
}

/* ------------------------------------------------------------------ */
/* Shadow policy                                                       */
/* ------------------------------------------------------------------ */

struct shadow_seen {
	struct pw_shadow_key key[16];
	struct pw_counter sum[16];
	int n;
};

static int shadow_cb(const struct pw_shadow_key *key,
		     const struct pw_counter *sum, void *arg)
{
	struct shadow_seen *s = arg;

	if (s->n == 16)
		return -E2BIG;
	s->key[s->n] = *key;
	s->sum[s->n++] = *sum;
	return 0;
}

struct shadow_want {
	struct pw_shadow_key key;
	uint64_t packets, bytes;
};

/* pw_shadow must hold exactly @want[0..n). */
static void assert_shadow(const struct shadow_want *want, int n)
{
	struct shadow_seen seen = { .n = 0 };

	assert_int_equal(pw_maps_foreach_shadow(&X.m, shadow_cb, &seen), 0);
	for (int i = 0; i < seen.n; i++) {
		const struct pw_shadow_key *k = &seen.key[i];
		bool found = false;

		for (int j = 0; j < n && !found; j++) {
			if (memcmp(k, &want[j].key, sizeof(*k)))
				continue;
			found = true;
			if (seen.sum[i].packets == want[j].packets &&
			    seen.sum[i].bytes == want[j].bytes)
				continue;
			fail_msg("shadow key %d holds {%llu, %llu}, expected "
				 "{%llu, %llu}",
				 j, (unsigned long long)seen.sum[i].packets,
				 (unsigned long long)seen.sum[i].bytes,
				 (unsigned long long)want[j].packets,
				 (unsigned long long)want[j].bytes);
		}
		if (!found)
			fail_msg("unexpected shadow key {dir %u proto %u role "
				 "%u shadow_role %u port %u verdict %u "
				 "shadow_verdict %u}",
				 k->dir, k->proto, k->role, k->shadow_role,
				 k->port, k->verdict, k->shadow_verdict);
	}
	assert_int_equal(seen.n, n);
}

static uint32_t frame_len(const struct tuple *t)
{
	struct pb p;

	build(t, &p);
	return (uint32_t)p.len;
}

static struct pw_shadow_key skey(unsigned dir, uint8_t proto, uint32_t r,
				 uint32_t sr, uint16_t port, uint8_t v,
				 uint8_t sv)
{
	struct pw_shadow_key k = { 0 };

	k.dir = (uint8_t)dir;
	k.proto = proto;
	k.role = (uint16_t)r;
	k.shadow_role = (uint16_t)sr;
	k.port = port;
	k.verdict = v;
	k.shadow_verdict = sv;
	return k;
}

/* The frames of the shadow test; @round keeps their flows apart. */
static void shadow_frames(int round, struct shadow_want *want)
{
	const struct fam *a = &F4;
	uint16_t base = (uint16_t)(51000 + 100 * round);
	struct tuple repman1 =
		TUPLE(4, a->repman, a->local, TCP, base, 3306, SYN);
	struct tuple repman2 = repman1, app_in, app_out, mon, t;
	uint32_t unknown = PW_ROLE_UNKNOWN, app = role("app");
	uint32_t monitor = (uint32_t)xr_role_id(&SHADOW.c, "monitor");

	repman2.sport = base + 1;
	app_in = TUPLE(4, a->app, a->local, TCP, base + 2, 8080, SYN);
	app_out = TUPLE(4, a->local, a->app, TCP, base + 3, 8080, SYN);
	mon = TUPLE(4, a->unknown, a->local, TCP, base + 4, 9100, SYN);

	/* verdicts that differ */
	frame("repman to 3306 (shadow: drop)", IN, &repman1,
	      opening(at_slot(slot(IN, TCP, 3306, "repman"), ALLOW)));
	frame("repman to 3306 again", IN, &repman2,
	      opening(at_slot(slot(IN, TCP, 3306, "repman"), ALLOW)));
	frame("app to 8080 (shadow: allow)", IN, &app_in,
	      at_unnamed(IN, TCP, app, 8080, VDROP));
	frame("egress to app:8080 (shadow: allow)", EG, &app_out,
	      opening(at_unnamed(EG, TCP, app, 8080, AUDIT)));
	frame("monitor to 9100 (shadow: a new role)", IN, &mon,
	      at_unnamed(IN, TCP, unknown, 9100, VDROP));

	/* verdicts that agree */
	t = TUPLE(4, a->bastion, a->local, TCP, base + 5, 22, SYN);
	frame("bastion to 22", IN, &t,
	      opening(at_slot(slot(IN, TCP, 22, "bastion"), ALLOW)));
	t = TUPLE(4, a->unknown, a->local, TCP, base + 6, 9999, SYN);
	frame("unknown to 9999", IN, &t,
	      at_unnamed(IN, TCP, unknown, 9999, VDROP));
	t = TUPLE(4, a->local, a->db, TCP, base + 7, 22, SYN);
	frame("egress to db:22", EG, &t,
	      opening(at_slot(slot(EG, TCP, 22, "db"), ALLOW)));

	/* replies are never judged, by either policy */
	t = reverse(&repman1, SYNACK);
	frame("reply to repman", EG, &t,
	      at_slot(slot(IN, TCP, 3306, "repman"), REPLY));
	t = reverse(&app_out, SYNACK);
	frame("reply from app:8080", IN, &t,
	      at_unnamed(EG, TCP, app, 8080, REPLY));

	want[0] = (struct shadow_want){
		skey(IN, TCP, role("repman"), role("repman"), 3306, ALLOW,
		     VDROP),
		2, frame_len(&repman1) + frame_len(&repman2)
	};
	want[1] = (struct shadow_want){
		skey(IN, TCP, app, app, 8080, VDROP, ALLOW), 1,
		frame_len(&app_in)
	};
	want[2] = (struct shadow_want){
		skey(EG, TCP, app, app, 8080, AUDIT, ALLOW), 1,
		frame_len(&app_out)
	};
	want[3] = (struct shadow_want){
		skey(IN, TCP, unknown, monitor, 9100, VDROP, ALLOW), 1,
		frame_len(&mon)
	};
}

static void test_shadow(void **state)
{
	struct shadow_want want[4], scratch[4];
	struct pw_config cfg;

	SKIP_WITHOUT_SEED();
	/* same role ids, and the shadow's new role got a new one */
	for (uint32_t i = 0; i < RUN.c.nroles; i++)
		assert_string_equal(RUN.c.role_names[i].name,
				    SHADOW.c.role_names[i].name);
	assert_true(xr_role_id(&SHADOW.c, "monitor") >= (int)RUN.c.nroles);

	assert_int_equal(pw_maps_get_config(&X.m, &cfg), 0);
	assert_int_equal(pw_maps_write_gen(&X.m, &SHADOW.c,
					   (cfg.active_gen & 1) ^ 1),
			 0);
	configure(PW_MODE_ENFORCE, PW_CFG_SHADOW);
	shadow_frames(0, want);
	assert_shadow(want, 4);

	/* without the flag nothing more is counted */
	configure(PW_MODE_ENFORCE, 0);
	shadow_frames(1, scratch);
	assert_shadow(want, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_egress_open_and_reply_v4, fresh),
		cmocka_unit_test_setup(test_egress_open_and_reply_v6, fresh),
		cmocka_unit_test_setup(test_inbound_and_answer_v4, fresh),
		cmocka_unit_test_setup(test_inbound_and_answer_v6, fresh),
		cmocka_unit_test_setup(test_rst_fin_expiry, fresh),
		cmocka_unit_test_setup(test_udp_and_echo_v4, fresh),
		cmocka_unit_test_setup(test_udp_and_echo_v6, fresh),
		cmocka_unit_test_setup(test_icmp_errors_v4, fresh),
		cmocka_unit_test_setup(test_icmp_errors_v6, fresh),
		cmocka_unit_test_setup(test_answers_v4, fresh),
		cmocka_unit_test_setup(test_answers_v6, fresh),
		cmocka_unit_test_setup(test_vlan, fresh),
		cmocka_unit_test_setup(test_flow_table_full, fresh),
		cmocka_unit_test_setup(test_shadow, fresh),
	};

	xr_require_root("test_flow");
	return cmocka_run_group_tests(tests, setup_suite, teardown_suite);
}
