// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_events.c - violation events of the XDP program under
 * BPF_PROG_TEST_RUN: one event per violating flow, repeats, the token
 * bucket, a full ring buffer, a reader that keeps up, the sample
 * addresses, and every field of an event.  Needs root.
 *
 * The test pins itself to one CPU: the token bucket is per CPU, and a
 * test run executes on the CPU of its caller, so that the bound "sent <=
 * burst + rate * elapsed" holds for the one bucket used.  Time passing is
 * never waited for: where an event interval must have passed, the
 * pw_ev_seen entries are aged by hand.
 */
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "events.h"
#include "pktbuild.h"
#include "xdprun.h"

#define PASS PW_XDP_PASS
#define DROP PW_XDP_DROP

static const char policy_text[] =
	"policy evdp \"event datapath tests\"\n"
	"role app \"application servers\"\n"
	"role db \"database servers (this host)\"\n"
	"role ops \"operators\"\n"
	"allow tcp 3306 from app to db note \"client port\"\n"
	"loopback tcp 2003 on db note \"carbon, loopback only\"\n"
	"allow icmp 8 from ops to db note \"ping\"\n";

static const char inventory_text[] = "app 198.18.1.0/24 2001:db8:1::/64\n"
				     "db  198.18.2.10 2001:db8:2::10\n"
				     "ops 198.18.3.0/24 2001:db8:3::/64\n";

#define DB4 "198.18.2.10"
#define DB6 "2001:db8:2::10"
#define TCP_SYN 0x02
#define TCP_ACK 0x10

/* Enough for every event a test asks for. */
#define LOG_CAP 4096

struct evlog {
	struct pw_event v[LOG_CAP];
	int n;
};

struct fixture {
	struct xr_policy pol;
	struct xr x;	  /* default capacities */
	struct xr small;  /* a one-page ring buffer */
	struct pw_event_reader *r, *small_r;
	struct evlog log;
	int app, ops;
};

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static int collect(const struct pw_event *e, void *arg)
{
	struct evlog *log = arg;

	if (log->n < LOG_CAP)
		log->v[log->n++] = *e;
	return 0;
}

/* Everything waiting in the ring, into @log (appended). */
static int drain(struct pw_event_reader *r)
{
	int n, total = 0;

	while ((n = pw_event_reader_poll(r, 0)) > 0)
		total += n;
	assert_true(n == 0);
	return total;
}

static void read_stats(struct xr *x, __u64 stats[PW_NSTAT])
{
	assert_int_equal(pw_maps_read_stats(&x->m, stats), 0);
}

static void set_events(struct xr *x, __u32 mode, __u32 interval, __u32 rate,
		       __u32 burst)
{
	struct pw_config cfg;

	assert_int_equal(pw_maps_get_config(&x->m, &cfg), 0);
	cfg.mode = mode;
	cfg.event_interval_s = interval;
	cfg.event_rate = rate;
	cfg.event_burst = burst;
	assert_int_equal(pw_maps_set_config(&x->m, &cfg), 0);
	assert_int_equal(pw_maps_get_config(&x->m, &x->cfg), 0);
}

/* An empty token bucket on every CPU: the next take refills it. */
static void reset_tbucket(struct xr *x)
{
	struct pw_tbucket *v = calloc(x->m.ncpus, sizeof(*v));
	__u32 zero = 0;

	assert_non_null(v);
	assert_int_equal(bpf_map_update_elem(x->m.tbucket, &zero, v, BPF_ANY),
			 0);
	free(v);
}

/* Flows, reported flows, counters, samples, tokens and the ring: empty. */
static void fresh_state(struct fixture *f, struct xr *x,
			struct pw_event_reader *r)
{
	assert_int_equal(pw_maps_reset_flows(&x->m), 0);
	assert_int_equal(pw_maps_reset_counters(&x->m), 0);
	reset_tbucket(x);
	drain(r);
	f->log.n = 0;
}

struct frame {
	int fam; /* 4 or 6 */
	const char *src, *dst;
	uint8_t proto;
	uint16_t sport, dport; /* ICMP: dport is the type */
	uint8_t tcp_flags;     /* TCP only; 0 means SYN */
};

static size_t build(const struct frame *fr, struct pb *p)
{
	uint8_t src[16], dst[16];
	int i;

	pb_init(p);
	pb_eth(p);
	if (fr->fam == 6) {
		pb_addr6(fr->src, src);
		pb_addr6(fr->dst, dst);
		pb_ipv6(p, src, dst);
	} else {
		pb_addr4(fr->src, src);
		pb_addr4(fr->dst, dst);
		pb_ipv4(p, src, dst);
	}
	switch (fr->proto) {
	case PW_IPPROTO_TCP:
		pb_tcp(p, fr->sport, fr->dport);
		break;
	case PW_IPPROTO_UDP:
		pb_udp(p, fr->sport, fr->dport);
		break;
	case PW_IPPROTO_ICMP:
		pb_icmp(p, (uint8_t)fr->dport, 0);
		break;
	case PW_IPPROTO_ICMPV6:
		pb_icmp6(p, (uint8_t)fr->dport, 0);
		break;
	default:
		pb_l4_raw(p, fr->proto, 8, 0);
		break;
	}
	pb_finish(p);
	if (fr->proto == PW_IPPROTO_TCP && fr->tcp_flags)
		for (i = 0; i < p->nmarks; i++)
			if (p->mark_hdr[i] == PB_H_L4)
				p->buf[p->mark[i] + 13] = fr->tcp_flags;
	return p->len;
}

/* One frame through the program; returns the XDP action. */
static int run(struct xr *x, const struct frame *fr)
{
	struct pb p;
	int retval = -1;

	build(fr, &p);
	assert_int_equal(xr_run(x, p.buf, (uint32_t)p.len, &retval), 0);
	return retval;
}

/* A TCP SYN from @src:@sport to the host's @dport. */
static int tcp4(struct xr *x, const char *src, uint16_t sport, uint16_t dport)
{
	struct frame fr = { 4, src, DB4, PW_IPPROTO_TCP, sport, dport, 0 };

	return run(x, &fr);
}

static uint64_t mono_ns(void)
{
	return xr_now();
}

/*
 * Pretend every reported flow was last reported @ns ago: the next
 * violation of each is past its interval.  The keys are listed first:
 * an update moves a key to the head of its hash bucket, so updating
 * while walking could visit keys again and again.
 */
static void age_ev_seen(struct xr *x, uint64_t ns)
{
	struct pw_flow_key *keys = calloc(PW_DEFAULT_EV_SEEN_CAP,
					  sizeof(*keys));
	struct pw_ev_seen v;
	void *prev = NULL;
	size_t n = 0, i;

	assert_non_null(keys);
	while (n < PW_DEFAULT_EV_SEEN_CAP &&
	       !bpf_map_get_next_key(x->m.ev_seen, prev, &keys[n])) {
		prev = &keys[n];
		n++;
	}
	for (i = 0; i < n; i++) {
		if (bpf_map_lookup_elem(x->m.ev_seen, &keys[i], &v))
			continue;
		v.last_ns -= ns;
		assert_int_equal(bpf_map_update_elem(x->m.ev_seen, &keys[i], &v,
						     BPF_EXIST),
				 0);
	}
	free(keys);
}

static void addr_of(int fam, const char *s, __u32 out[4])
{
	memset(out, 0, 16);
	if (fam == 6)
		pb_addr6(s, (uint8_t *)out);
	else
		pb_addr4(s, (uint8_t *)out);
}

/* ------------------------------------------------------------------ */
/* Set up                                                              */
/* ------------------------------------------------------------------ */

static int setup(void **state)
{
	static const char *const roles[] = { "db" };
	struct fixture *f = calloc(1, sizeof(*f));
	struct pw_caps caps;
	cpu_set_t cpus;

	xr_require_root("test_events");
	assert_non_null(f);
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	assert_int_equal(sched_setaffinity(0, sizeof(cpus), &cpus), 0);

	assert_int_equal(xr_policy_compile(&f->pol, false, policy_text,
					   inventory_text, roles, 1, NULL, 0),
			 0);
	pw_caps_default(&caps);
	pw_caps_fit(&caps, &f->pol.c);
	assert_int_equal(xr_open(&f->x, &caps), 0);
	assert_int_equal(xr_install(&f->x, &f->pol.c), 0);
	caps.event_ring = PW_CAP_EVENT_RING_MIN;
	assert_int_equal(xr_open(&f->small, &caps), 0);
	assert_int_equal(xr_install(&f->small, &f->pol.c), 0);

	f->r = pw_event_reader_new(f->x.m.events, collect, &f->log);
	f->small_r = pw_event_reader_new(f->small.m.events, collect, &f->log);
	assert_non_null(f->r);
	assert_non_null(f->small_r);
	f->app = xr_role_id(&f->pol.c, "app");
	f->ops = xr_role_id(&f->pol.c, "ops");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pw_event_reader_free(f->r);
	pw_event_reader_free(f->small_r);
	xr_close(&f->x);
	xr_close(&f->small);
	xr_policy_free(&f->pol);
	free(f);
	return 0;
}

/* ------------------------------------------------------------------ */
/* One event per flow, repeats                                         */
/* ------------------------------------------------------------------ */

#define NFLOWS 64

static void test_each_flow_once(void **state)
{
	struct fixture *f = *state;
	struct xr *x = &f->x;
	__u64 s0[PW_NSTAT], s1[PW_NSTAT], s2[PW_NSTAT];
	int i, k;

	set_events(x, PW_MODE_AUDIT, 60, 1000000, 1000);
	fresh_state(f, x, f->r);
	read_stats(x, s0);

	/* a burst of violating flows: one event each */
	for (i = 0; i < NFLOWS; i++)
		assert_int_equal(tcp4(x, "198.18.3.2", 20000 + i, 3306), PASS);
	assert_int_equal(drain(f->r), NFLOWS);
	for (i = 0; i < NFLOWS; i++) {
		assert_int_equal(f->log.v[i].sport, 20000 + i);
		assert_int_equal(f->log.v[i].repeats, 0);
	}
	read_stats(x, s1);
	assert_int_equal(s1[PW_STAT_EVENT_SENT] - s0[PW_STAT_EVENT_SENT],
			 NFLOWS);
	assert_int_equal(s1[PW_STAT_EVENT_REPEAT] - s0[PW_STAT_EVENT_REPEAT],
			 0);

	/* the same flows again, twice: no event, counted as repeats */
	for (k = 0; k < 2; k++)
		for (i = 0; i < NFLOWS; i++)
			assert_int_equal(tcp4(x, "198.18.3.2", 20000 + i, 3306),
					 PASS);
	assert_int_equal(drain(f->r), 0);
	read_stats(x, s2);
	assert_int_equal(s2[PW_STAT_EVENT_SENT], s1[PW_STAT_EVENT_SENT]);
	assert_int_equal(s2[PW_STAT_EVENT_REPEAT] - s1[PW_STAT_EVENT_REPEAT],
			 2 * NFLOWS);
	assert_int_equal(s2[PW_STAT_EVENT_RATE_LIMITED],
			 s0[PW_STAT_EVENT_RATE_LIMITED]);
	assert_int_equal(s2[PW_STAT_EVENT_LOST], s0[PW_STAT_EVENT_LOST]);

	/* past the interval: one event each again, carrying the repeats */
	age_ev_seen(x, 61ULL * 1000000000ULL);
	f->log.n = 0;
	for (i = 0; i < NFLOWS; i++)
		assert_int_equal(tcp4(x, "198.18.3.2", 20000 + i, 3306), PASS);
	assert_int_equal(drain(f->r), NFLOWS);
	for (i = 0; i < NFLOWS; i++) {
		assert_int_equal(f->log.v[i].sport, 20000 + i);
		assert_int_equal(f->log.v[i].repeats, 2);
	}
	/* and the count starts again */
	assert_int_equal(tcp4(x, "198.18.3.2", 20000, 3306), PASS);
	age_ev_seen(x, 61ULL * 1000000000ULL);
	f->log.n = 0;
	assert_int_equal(tcp4(x, "198.18.3.2", 20000, 3306), PASS);
	assert_int_equal(drain(f->r), 1);
	assert_int_equal(f->log.v[0].repeats, 1);
}

/*
 * Ten SYNs from @src to port 3306 with event rate @rate: no event, and
 * no event counter moves.
 */
static void expect_silence(struct fixture *f, const char *src, __u32 rate)
{
	struct xr *x = &f->x;
	__u64 s0[PW_NSTAT], s1[PW_NSTAT];
	int i;

	set_events(x, PW_MODE_AUDIT, 60, rate, 1000);
	fresh_state(f, x, f->r);
	read_stats(x, s0);
	for (i = 0; i < 10; i++)
		assert_int_equal(tcp4(x, src, 30000 + i, 3306), PASS);
	assert_int_equal(drain(f->r), 0);
	read_stats(x, s1);
	for (i = PW_STAT_EVENT_SENT; i <= PW_STAT_EVENT_REPEAT; i++)
		assert_int_equal(s1[i], s0[i]);
}

/* Allowed packets send nothing. */
static void test_allowed_sends_nothing(void **state)
{
	expect_silence(*state, "198.18.1.20", 1000000);
}

/* event_rate 0: violations send nothing either. */
static void test_events_off(void **state)
{
	expect_silence(*state, "198.18.3.2", 0);
}

/* ------------------------------------------------------------------ */
/* Token bucket                                                        */
/* ------------------------------------------------------------------ */

#define FLOOD 400

static void test_rate_limit(void **state)
{
	struct fixture *f = *state;
	struct xr *x = &f->x;
	const __u32 rate = 5, burst = 8;
	__u64 s0[PW_NSTAT], s1[PW_NSTAT], sent, limited, bound;
	uint64_t t0, t1;
	int i, got;

	set_events(x, PW_MODE_AUDIT, 60, rate, burst);
	fresh_state(f, x, f->r);
	read_stats(x, s0);
	t0 = mono_ns();
	for (i = 0; i < FLOOD; i++)
		assert_int_equal(tcp4(x, "198.18.3.7", 1024 + i, 3306), PASS);
	t1 = mono_ns();
	got = drain(f->r);
	read_stats(x, s1);
	sent = s1[PW_STAT_EVENT_SENT] - s0[PW_STAT_EVENT_SENT];
	limited = s1[PW_STAT_EVENT_RATE_LIMITED] -
		  s0[PW_STAT_EVENT_RATE_LIMITED];
	/* a whole bucket at first (it was empty long enough), then the rate */
	bound = burst + rate * (t1 - t0) / 1000000000ULL + 1;
	if (sent < burst || sent > bound)
		fail_msg("%llu events sent in %llu ms: expected %u to %llu",
			 (unsigned long long)sent,
			 (unsigned long long)((t1 - t0) / 1000000), burst,
			 (unsigned long long)bound);
	assert_int_equal(got, sent);
	assert_int_equal(sent + limited, FLOOD);
	assert_int_equal(s1[PW_STAT_EVENT_LOST], s0[PW_STAT_EVENT_LOST]);

	/* a rate-limited flow is not marked reported: it is tried again */
	reset_tbucket(x);
	read_stats(x, s0);
	assert_int_equal(tcp4(x, "198.18.3.7", 1024 + FLOOD - 1, 3306), PASS);
	read_stats(x, s1);
	assert_int_equal(s1[PW_STAT_EVENT_SENT] - s0[PW_STAT_EVENT_SENT], 1);
	assert_int_equal(drain(f->r), 1);
}

/* ------------------------------------------------------------------ */
/* A full ring buffer                                                  */
/* ------------------------------------------------------------------ */

/* 64-byte records and an 8-byte header each: 56 fit in one page. */
#define RING_RECORDS (PW_CAP_EVENT_RING_MIN / (sizeof(struct pw_event) + 8))

static void test_ring_full_no_reader(void **state)
{
	struct fixture *f = *state;
	struct xr *x = &f->small;
	__u64 s0[PW_NSTAT], s1[PW_NSTAT], sent, lost;
	int i;

	set_events(x, PW_MODE_AUDIT, 60, 1000000, 100000);
	fresh_state(f, x, f->small_r);
	read_stats(x, s0);
	/* audit: violations pass whatever becomes of their events */
	for (i = 0; i < 200; i++)
		assert_int_equal(tcp4(x, "198.18.3.2", 1000 + i, 3306), PASS);
	/* enforce: they drop, and allowed packets pass */
	set_events(x, PW_MODE_ENFORCE, 60, 1000000, 100000);
	for (i = 0; i < 100; i++) {
		assert_int_equal(tcp4(x, "198.18.3.2", 5000 + i, 3306), DROP);
		assert_int_equal(tcp4(x, "198.18.1.2", 5000 + i, 3306), PASS);
		assert_int_equal(tcp4(x, "198.18.9.9", 5000 + i, 2003), DROP);
	}
	read_stats(x, s1);
	sent = s1[PW_STAT_EVENT_SENT] - s0[PW_STAT_EVENT_SENT];
	lost = s1[PW_STAT_EVENT_LOST] - s0[PW_STAT_EVENT_LOST];
	assert_int_equal(sent, RING_RECORDS);
	assert_int_equal(sent + lost, 400);
	assert_int_equal(s1[PW_STAT_EVENT_RATE_LIMITED],
			 s0[PW_STAT_EVENT_RATE_LIMITED]);
	/* what was sent is all there, in order */
	assert_int_equal(drain(f->small_r), RING_RECORDS);
	for (i = 0; i < (int)RING_RECORDS; i++)
		assert_int_equal(f->log.v[i].sport, 1000 + i);
	set_events(x, PW_MODE_AUDIT, 60, 1000000, 100000);
}

static void test_reader_keeps_up(void **state)
{
	struct fixture *f = *state;
	struct xr *x = &f->small;
	const int batch = (int)RING_RECORDS - 6, nbatches = 20;
	__u64 s0[PW_NSTAT], s1[PW_NSTAT];
	int b, i, got = 0;

	set_events(x, PW_MODE_AUDIT, 60, 1000000, 100000);
	fresh_state(f, x, f->small_r);
	read_stats(x, s0);
	for (b = 0; b < nbatches; b++) {
		for (i = 0; i < batch; i++)
			assert_int_equal(tcp4(x, "198.18.3.2",
					      (uint16_t)(1000 + b * batch + i),
					      3306),
					 PASS);
		got += drain(f->small_r);
	}
	read_stats(x, s1);
	assert_int_equal(got, batch * nbatches);
	assert_int_equal(s1[PW_STAT_EVENT_SENT] - s0[PW_STAT_EVENT_SENT],
			 batch * nbatches);
	assert_int_equal(s1[PW_STAT_EVENT_LOST], s0[PW_STAT_EVENT_LOST]);
	for (i = 0; i < got; i++)
		assert_int_equal(f->log.v[i].sport, 1000 + i);
}

/* ------------------------------------------------------------------ */
/* Samples                                                             */
/* ------------------------------------------------------------------ */

struct sample_find {
	struct pw_counter_key key;
	struct pw_sample s;
	int found;
};

static int find_sample(const struct pw_counter_key *key,
		       const struct pw_sample *s, void *arg)
{
	struct sample_find *sf = arg;

	if (!memcmp(key, &sf->key, sizeof(*key))) {
		sf->s = *s;
		sf->found++;
	}
	return 0;
}

static void test_samples(void **state)
{
	struct fixture *f = *state;
	struct xr *x = &f->x;
	struct sample_find sf = { .key = { .dir = PW_DIR_INGRESS,
					   .proto = PW_IPPROTO_TCP,
					   .role = PW_ROLE_UNKNOWN,
					   .port_lo = 8080,
					   .port_hi = 8080 } };
	char src[32];
	bool seen[7] = { false };
	int i, k;

	set_events(x, PW_MODE_AUDIT, 60, 1000000, 1000);
	fresh_state(f, x, f->r);
	/* six peers, the first two twice (new flows, same address) */
	for (i = 1; i <= 6; i++) {
		snprintf(src, sizeof(src), "198.18.9.%d", i);
		assert_int_equal(tcp4(x, src, 40000, 8080), PASS);
		if (i <= 2)
			assert_int_equal(tcp4(x, src, 40001, 8080), PASS);
	}
	assert_int_equal(drain(f->r), 8);
	assert_int_equal(pw_maps_foreach_sample(&x->m, find_sample, &sf), 0);
	assert_int_equal(sf.found, 1);
	/* four distinct addresses: the last four peers */
	for (k = 0; k < PW_SAMPLE_ADDRS; k++) {
		uint8_t *a = (uint8_t *)sf.s.addr[k];

		assert_int_equal(sf.s.family[k], 4);
		assert_int_equal(a[0], 198);
		assert_int_equal(a[2], 9);
		assert_true(a[3] >= 3 && a[3] <= 6);
		assert_false(seen[a[3]]);
		seen[a[3]] = true;
		assert_int_equal(sf.s.addr[k][1], 0);
	}
	/* a repeat of a kept address changes nothing */
	assert_int_equal(tcp4(x, "198.18.9.6", 40002, 8080), PASS);
	{
		struct sample_find again = { .key = sf.key };

		assert_int_equal(pw_maps_foreach_sample(&x->m, find_sample,
							&again),
				 0);
		assert_memory_equal(&again.s, &sf.s, sizeof(sf.s));
	}
	drain(f->r);
}

/* ------------------------------------------------------------------ */
/* Fields                                                              */
/* ------------------------------------------------------------------ */

static void expect_event(const struct pw_event *e, const struct frame *fr,
			 uint8_t dir, uint8_t verdict, int role,
			 uint16_t rule_id, uint8_t kind, uint8_t tcp_flags,
			 uint64_t t0, uint64_t t1)
{
	__u32 s[4], d[4];

	addr_of(fr->fam, fr->src, s);
	addr_of(fr->fam, fr->dst, d);
	assert_true(e->ts_ns >= t0 && e->ts_ns <= t1);
	assert_int_equal(e->dir, dir);
	assert_int_equal(e->family, fr->fam);
	assert_int_equal(e->proto, fr->proto);
	assert_int_equal(e->verdict, verdict);
	assert_memory_equal(e->saddr, s, 16);
	assert_memory_equal(e->daddr, d, 16);
	assert_int_equal(e->dport, fr->dport);
	assert_int_equal(e->role, role);
	assert_int_equal(e->rule_id, rule_id);
	assert_int_equal(e->kind, kind);
	assert_int_equal(e->tcp_flags, tcp_flags);
	assert_int_equal(e->pad, 0);
	assert_int_equal(e->repeats, 0);
}

static void test_fields(void **state)
{
	struct fixture *f = *state;
	struct xr *x = &f->x;
	const struct frame v4 = { 4, "198.18.3.2", DB4, PW_IPPROTO_TCP, 41000,
				  3306, 0 };
	const struct frame v6 = { 6, "2001:db8:1::20", DB6, PW_IPPROTO_UDP,
				  41001, 5353, 0 };
	const struct frame loop = { 6, "2001:db8:3::9", DB6, PW_IPPROTO_TCP,
				    41002, 2003, TCP_ACK };
	const struct frame icmp = { 4, "198.18.9.9", DB4, PW_IPPROTO_ICMP, 0,
				    8, 0 };
	const struct frame gre = { 4, "198.18.1.5", DB4, 47, 0, 0, 0 };
	uint64_t t0, t1;

	set_events(x, PW_MODE_AUDIT, 60, 1000000, 1000);
	fresh_state(f, x, f->r);
	t0 = mono_ns();
	assert_int_equal(run(x, &v4), PASS);
	assert_int_equal(run(x, &v6), PASS);
	assert_int_equal(run(x, &icmp), PASS);
	assert_int_equal(run(x, &gre), PASS);
	set_events(x, PW_MODE_ENFORCE, 60, 1000000, 1000);
	assert_int_equal(run(x, &loop), DROP);
	t1 = mono_ns();
	assert_int_equal(drain(f->r), 5);

	expect_event(&f->log.v[0], &v4, PW_DIR_INGRESS, PW_VERDICT_AUDIT,
		     f->ops, 1, PW_EVENT_NOT_ALLOWED, TCP_SYN, t0, t1);
	assert_int_equal(f->log.v[0].sport, 41000);
	expect_event(&f->log.v[1], &v6, PW_DIR_INGRESS, PW_VERDICT_AUDIT,
		     f->app, 0, PW_EVENT_UNNAMED_PORT, 0, t0, t1);
	assert_int_equal(f->log.v[1].sport, 41001);
	expect_event(&f->log.v[2], &icmp, PW_DIR_INGRESS, PW_VERDICT_AUDIT,
		     PW_ROLE_UNKNOWN, 3, PW_EVENT_NOT_ALLOWED, 0, t0, t1);
	expect_event(&f->log.v[3], &gre, PW_DIR_INGRESS, PW_VERDICT_AUDIT,
		     f->app, 0, PW_EVENT_UNNAMED_PORT, 0, t0, t1);
	/* a stray ACK on a loopback-only port, dropped */
	expect_event(&f->log.v[4], &loop, PW_DIR_INGRESS, PW_VERDICT_DROP,
		     f->ops, 2, PW_EVENT_LOOPBACK, TCP_ACK, t0, t1);
	assert_true(pw_event_stray_ack(&f->log.v[4]));
	assert_int_equal(f->log.v[0].ifindex, f->log.v[1].ifindex);
	set_events(x, PW_MODE_AUDIT, 60, 1000000, 1000);
}

/*
 * Each ICMP type from a peer is a violation of its own: the pw_ev_seen key
 * carries the type, so a second type within the interval is reported too
 * (it used to share the first's key and pass as a repeat).
 */
static void test_icmp_types_apart(void **state)
{
	struct fixture *f = *state;
	struct xr *x = &f->x;
	const struct frame ts = { 4, "198.18.9.9", DB4, PW_IPPROTO_ICMP, 0,
				  13, 0 };
	const struct frame info = { 4, "198.18.9.9", DB4, PW_IPPROTO_ICMP, 0,
				    15, 0 };

	set_events(x, PW_MODE_AUDIT, 60, 1000000, 1000);
	fresh_state(f, x, f->r);
	assert_int_equal(run(x, &ts), PASS);
	assert_int_equal(run(x, &info), PASS);
	assert_int_equal(drain(f->r), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_flow_once),
		cmocka_unit_test(test_allowed_sends_nothing),
		cmocka_unit_test(test_events_off),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_ring_full_no_reader),
		cmocka_unit_test(test_reader_keeps_up),
		cmocka_unit_test(test_samples),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_icmp_types_apart),
	};

	xr_require_root("test_events");
	return cmocka_run_group_tests(tests, setup, teardown);
}
