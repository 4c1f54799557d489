// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * pw-bench - per-packet cost of portwarden's XDP program under
 * BPF_PROG_TEST_RUN, against floors measured in the same run and against
 * a plain LPM-trie design holding the same inventory.
 *
 * Hot cases repeat one packet (one source): the tables the packet touches
 * stay in cache, and the floor is an empty XDP_PASS program.  Spread cases
 * draw the source at random from the whole inventory on every repeat
 * (bpf/bench_pick.h), so the inventory's size shows up as cache misses;
 * their floor is a program that makes the same pick and nothing else.
 *
 * Each round measures, per case, the floor, portwarden and the baseline
 * back to back; the table shows medians over rounds, and "over" is the
 * median of the per-round differences (so it need not equal ns - floor).
 * See bench/README.md.  Run as root.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "compile.h"
#include "policy.h"

#include "bench_inv.h"
#include "bench_lpm.h"
#include "bench_pw.h"
#include "bench_scale.h"
#include "bench_util.h"
#include "bench_floor.skel.h"
#include "portwarden.skel.h"

#define BENCH_REPEAT_FULL 1000000U
#define BENCH_ROUNDS_FULL 7
#define BENCH_REPEAT_QUICK 100000U
#define BENCH_MAX_CASES 16
#define BENCH_MAX_ROUNDS 101
#define BENCH_MEM_TARGET (64ULL << 20)
#define BENCH_CHECK_REPEAT 100000U

struct bench_opts {
	uint32_t repeat;
	int rounds;
	bool verbose;
	bool scaling;
};

enum bench_kind { BENCH_HOT, BENCH_SPREAD };

/* One row of the result table. */
struct bench_case {
	enum bench_kind kind;
	char name[80];
	struct bench_pkt pkt;
	int floor_fd;
	int pw_fd;
	int lpm_fd;               /* -1: no baseline for this case */
	struct bench_pw *pw;      /* for the host mode and counters */
	__u32 mode;               /* host mode while measuring */
	__u32 expect;             /* XDP action all three must return */
	double target_over;       /* ns over floor; 0 = none */
	double target_ratio;      /* LPM over / portwarden over; 0 = none */

	double floor_r[BENCH_MAX_ROUNDS], pw_r[BENCH_MAX_ROUNDS],
		lpm_r[BENCH_MAX_ROUNDS];
	double floor_ns, pw_ns, pw_over, lpm_ns, lpm_over;
};

/* One inventory, and the cases measured with it. */
struct bench_set {
	int family;
	size_t n;
	bool spread;          /* spread cases (IPv4 only) */
	bool violation;       /* the enforce-mode drop case */
	bool report;          /* memory and compile/write time */
	double hot_target;    /* ns over floor; 0 = none */
	double spread_target; /* ns over floor; 0 = none */
	double spread_ratio;  /* LPM over / portwarden over; 0 = none */
};

static const struct bench_set bench_sets[] = {
	{ .family = 4, .n = 10, .spread = true, .hot_target = 15 },
	{ .family = 4, .n = 1000, .spread = true },
	{ .family = 4, .n = 100000, .spread = true, .violation = true,
	  .report = true, .hot_target = 15, .spread_target = 60,
	  .spread_ratio = 2 },
	{ .family = 6, .n = 10000, .hot_target = 40 },
};

/* What the 100,000-CIDR set reports besides the table. */
struct bench_report {
	size_t n;
	long long pw_mem, lpm_mem;
	double parse_policy_ms, parse_inv_ms, compile_ms, write_ms;
};

static struct bench_case cases[BENCH_MAX_CASES];
static int ncases;
static struct bench_report report;

/* --------------------------------------------------------------- util -- */

static void fmt_count(char *buf, size_t len, size_t n)
{
	if (n >= 1000000)
		snprintf(buf, len, "%zu,%03zu,%03zu", n / 1000000,
			 n / 1000 % 1000, n % 1000);
	else if (n >= 1000)
		snprintf(buf, len, "%zu,%03zu", n / 1000, n % 1000);
	else
		snprintf(buf, len, "%zu", n);
}

static struct bench_case *new_case(enum bench_kind kind, const char *fmt, ...)
{
	struct bench_case *cs;
	va_list ap;

	if (ncases == BENCH_MAX_CASES)
		return NULL;
	cs = &cases[ncases++];
	memset(cs, 0, sizeof(*cs));
	cs->kind = kind;
	cs->lpm_fd = -1;
	cs->mode = PW_MODE_AUDIT;
	cs->expect = XDP_PASS;
	va_start(ap, fmt);
	vsnprintf(cs->name, sizeof(cs->name), fmt, ap);
	va_end(ap);
	return cs;
}

/* ------------------------------------------------------ compile step -- */

static int compile_inventory(const struct bench_inv *inv,
			     struct pw_policy *pol, struct pw_inventory *pinv,
			     struct pw_compiled *c, struct bench_report *rep)
{
	static const char *const host_roles[] = { BENCH_HOST_ROLE };
	struct pw_compile_opts co = { .host_roles = host_roles,
				      .nhost_roles = 1 };
	struct pw_diags d = { 0 };
	double t0, t1, t2, t3;
	int err = -EINVAL;

	t0 = bench_now_ms();
	if (pw_policy_parse_buffer("bench.policy", inv->policy, pol, &d))
		goto out;
	t1 = bench_now_ms();
	if (pw_inventory_parse_buffer("bench.inventory", inv->inventory, pol,
				      pinv, &d))
		goto out;
	t2 = bench_now_ms();
	if (pw_compile(pol, pinv, &co, c, &d))
		goto out;
	t3 = bench_now_ms();
	if (rep) {
		rep->parse_policy_ms = t1 - t0;
		rep->parse_inv_ms = t2 - t1;
		rep->compile_ms = t3 - t2;
	}
	err = 0;
out:
	if (d.nerrors)
		pw_diags_print(&d, stderr);
	pw_diags_free(&d);
	return err;
}

/* ------------------------------------------------------------ checks -- */

/* Counter index of (source, dport) for the hot program, per the compiler. */
static int expected_counter(const struct pw_compiled *c, int family,
			    const uint8_t *src, uint16_t dport, __u32 verdict,
			    __u32 *index)
{
	uint32_t role = family == 4 ? pw_compiled_role_v4(c, src)
				    : pw_compiled_role_v6(c, src);
	uint16_t seg = pw_compiled_seg(c, PW_DIR_INGRESS, PW_P_TCP, dport);
	const struct pw_rule_entry *e;

	if (role >= c->nroles ||
	    strcmp(c->role_names[role].name, BENCH_HOT_ROLE) != 0) {
		fprintf(stderr, "pw-bench: hot source is not of role %s\n",
			BENCH_HOT_ROLE);
		return -EINVAL;
	}
	e = pw_compiled_entry(c, PW_DIR_INGRESS, seg, role);
	if (seg == PW_SEG_NONE || !e) {
		fprintf(stderr, "pw-bench: no rule entry for port %u\n", dport);
		return -EINVAL;
	}
	*index = pw_counter_index(e->slot, verdict);
	return 0;
}

/*
 * One run of the case's portwarden program must return the expected
 * action and add exactly one packet to the counter the compiler predicts:
 * this proves the hot packet really takes the path the row is named after.
 */
static int check_pw_counter(const struct bench_case *cs, __u32 index)
{
	const struct pw_maps *m = &cs->pw->maps;
	struct pw_counter before, after;
	struct bench_run run;
	int err;

	err = pw_maps_read_counter(m, index, &before);
	if (!err)
		err = bench_test_run(cs->pw_fd, &cs->pkt, 1, &run);
	if (!err)
		err = pw_maps_read_counter(m, index, &after);
	if (err)
		return err;
	if (run.retval != cs->expect ||
	    after.packets - before.packets != 1) {
		fprintf(stderr,
			"pw-bench: %s: action %u (want %u), counter +%llu (want +1)\n",
			cs->name, run.retval, cs->expect,
			(unsigned long long)(after.packets - before.packets));
		return -EPROTO;
	}
	return 0;
}

/*
 * The spread programs must classify every drawn source as allowed and
 * reach every role: count allowed packets over all slots (portwarden) or
 * over all role counters (LPM) across a run.
 */
struct spread_tally {
	uint64_t packets;
	int keys_hit;
};

static int tally_counters(int fd, __u32 nkeys, __u32 stride, __u32 offset,
			  struct pw_counter *snap, struct spread_tally *t)
{
	for (__u32 k = 0; k < nkeys; k++) {
		struct pw_counter now;
		int err = bench_percpu_counter(fd, k * stride + offset, &now);

		if (err)
			return err;
		if (t) {
			t->packets += now.packets - snap[k].packets;
			t->keys_hit += now.packets != snap[k].packets;
		}
		snap[k] = now;
	}
	return 0;
}

static int check_spread(const char *what, int prog_fd, int counters_fd,
			__u32 nkeys, __u32 stride, __u32 offset,
			const struct bench_pkt *pkt)
{
	struct pw_counter *snap = calloc(nkeys, sizeof(*snap));
	struct spread_tally t = { 0 };
	struct bench_run run;
	int err = -ENOMEM;

	if (!snap)
		goto out;
	err = tally_counters(counters_fd, nkeys, stride, offset, snap, NULL);
	if (!err)
		err = bench_test_run(prog_fd, pkt, BENCH_CHECK_REPEAT, &run);
	if (!err)
		err = tally_counters(counters_fd, nkeys, stride, offset, snap,
				     &t);
	if (err)
		goto out;
	if (t.packets != BENCH_CHECK_REPEAT || t.keys_hit < BENCH_NROLES) {
		fprintf(stderr,
			"pw-bench: %s: %llu of %u picks allowed, %d counters hit (want >= %d)\n",
			what, (unsigned long long)t.packets,
			BENCH_CHECK_REPEAT, t.keys_hit, BENCH_NROLES);
		err = -EPROTO;
	}
out:
	free(snap);
	return err;
}

/* ---------------------------------------------------------- measuring -- */

static int run_checked(int fd, const struct bench_case *cs, uint32_t repeat,
		       double *ns, bool verbose, const char *who)
{
	struct bench_run run;
	int err = bench_test_run(fd, &cs->pkt, repeat, &run);

	if (err) {
		fprintf(stderr, "pw-bench: %s (%s): test run: %s\n", cs->name,
			who, strerror(-err));
		return err;
	}
	if (run.retval != cs->expect && fd != cs->floor_fd) {
		fprintf(stderr, "pw-bench: %s (%s): action %u, want %u\n",
			cs->name, who, run.retval, cs->expect);
		return -EPROTO;
	}
	if (verbose)
		fprintf(stderr, "  %-44s %-10s %8.2f ns (kernel %u ns)\n",
			cs->name, who, run.ns, run.kernel_ns);
	if (ns)
		*ns = run.ns;
	return 0;
}

/*
 * Put the host into the case's mode (@on) or back to audit; only the
 * enforce-mode case changes anything.
 */
static int case_mode(const struct bench_case *cs, bool on)
{
	if (cs->mode == PW_MODE_AUDIT)
		return 0;
	return bench_pw_set_mode(cs->pw, on ? cs->mode : PW_MODE_AUDIT);
}

static int measure_case(struct bench_case *cs, const struct bench_opts *o,
			int round)
{
	double *floor = round < 0 ? NULL : &cs->floor_r[round];
	double *pw = round < 0 ? NULL : &cs->pw_r[round];
	double *lpm = round < 0 ? NULL : &cs->lpm_r[round];
	uint32_t repeat = round < 0 ? o->repeat / 10 + 1 : o->repeat;
	bool v = o->verbose && round >= 0;
	int err, err2;

	err = case_mode(cs, true);
	if (err)
		return err;
	err = run_checked(cs->floor_fd, cs, repeat, floor, v, "floor");
	if (!err)
		err = run_checked(cs->pw_fd, cs, repeat, pw, v, "portwarden");
	if (!err && cs->lpm_fd >= 0)
		err = run_checked(cs->lpm_fd, cs, repeat, lpm, v, "lpm");
	err2 = case_mode(cs, false);
	return err ? err : err2;
}

static void summarise(struct bench_case *cs, int rounds)
{
	cs->floor_ns = bench_median(cs->floor_r, rounds);
	cs->pw_ns = bench_median(cs->pw_r, rounds);
	cs->pw_over = bench_median_diff(cs->pw_r, cs->floor_r, rounds);
	if (cs->lpm_fd >= 0) {
		cs->lpm_ns = bench_median(cs->lpm_r, rounds);
		cs->lpm_over = bench_median_diff(cs->lpm_r, cs->floor_r, rounds);
	}
}

/* Warm up, then all rounds; rounds interleave the set's cases. */
static int measure_set(struct bench_case *first, int n,
		       const struct bench_opts *o)
{
	int err = 0;

	for (int i = 0; i < n && !err; i++)
		err = measure_case(&first[i], o, -1);
	for (int r = 0; r < o->rounds && !err; r++)
		for (int i = 0; i < n && !err; i++)
			err = measure_case(&first[i], o, r);
	for (int i = 0; i < n && !err; i++)
		summarise(&first[i], o->rounds);
	return err;
}

/* ------------------------------------------------------------- a set -- */

struct set_progs {
	struct bench_floor *floor;
	struct bench_pw pw;
	struct bench_lpm_prog lpm_hot, lpm_spread;
};

static int load_floor(struct set_progs *p, const struct bench_inv *inv)
{
	int err;

	p->floor = bench_floor__open();
	if (!p->floor)
		return -errno;
	err = bench_srcs_size(p->floor->obj, inv);
	if (!err && bench_floor__load(p->floor))
		err = -errno;
	if (!err)
		err = bench_srcs_fill(p->floor->obj, inv);
	return err;
}

static int load_progs(struct set_progs *p, const struct bench_set *set,
		      const struct bench_inv *inv, const struct pw_compiled *c)
{
	int err = load_floor(p, inv);

	if (!err)
		err = bench_pw_load(&p->pw, c);
	if (!err)
		err = bench_lpm_load(&p->lpm_hot, inv, false);
	if (!err && set->spread)
		err = bench_pw_load_spread(&p->pw, inv);
	if (!err && set->spread)
		err = bench_lpm_load(&p->lpm_spread, inv, true);
	if (err)
		fprintf(stderr, "pw-bench: loading programs: %s\n",
			strerror(-err));
	return err;
}

static void destroy_progs(struct set_progs *p)
{
	bench_lpm_destroy(&p->lpm_spread);
	bench_lpm_destroy(&p->lpm_hot);
	bench_pw_destroy(&p->pw);
	bench_floor__destroy(p->floor);
}

static struct bench_case *add_hot(struct set_progs *p,
				  const struct pw_compiled *c,
				  const struct bench_prefix *src, int family,
				  uint16_t dport, __u32 verdict,
				  const char *name)
{
	struct bench_case *cs = new_case(BENCH_HOT, "%s", name);
	__u32 index;

	if (!cs || !src ||
	    expected_counter(c, family, src->src, dport, verdict, &index))
		return NULL;
	bench_pkt_tcp_ack(&cs->pkt, family, src->src, dport);
	cs->floor_fd = bpf_program__fd(p->floor->progs.bench_pass);
	cs->pw = &p->pw;
	cs->pw_fd = p->pw.prog_fd;
	if (verdict == PW_VERDICT_DROP) {
		cs->mode = PW_MODE_ENFORCE;
		cs->expect = XDP_DROP;
	} else {
		cs->lpm_fd = p->lpm_hot.prog_fd;
	}
	if (case_mode(cs, true) || check_pw_counter(cs, index) ||
	    case_mode(cs, false))
		return NULL;
	return cs;
}

static struct bench_case *add_spread(struct set_progs *p,
				     const struct pw_compiled *c,
				     const struct bench_inv *inv,
				     const char *count)
{
	struct bench_case *cs =
		new_case(BENCH_SPREAD, "spread IPv4 allowed, %s CIDRs", count);

	if (!cs)
		return NULL;
	bench_pkt_tcp_ack(&cs->pkt, 4, inv->pfx[0].src, BENCH_PORT_ALLOWED);
	cs->floor_fd = bpf_program__fd(p->floor->progs.bench_pick);
	cs->pw = &p->pw;
	cs->pw_fd = p->pw.spread_fd;
	cs->lpm_fd = p->lpm_spread.prog_fd;
	if (check_spread(cs->name, cs->pw_fd, p->pw.maps.counters, c->nslots,
			 PW_NVERDICT, PW_VERDICT_ALLOW, &cs->pkt) ||
	    check_spread(cs->name, cs->lpm_fd, p->lpm_spread.counters_fd,
			 BENCH_NROLES, 1, 1, &cs->pkt))
		return NULL;
	return cs;
}

static int add_cases(const struct bench_set *set, struct set_progs *p,
		     const struct bench_inv *inv, const struct pw_compiled *c)
{
	char count[16], name[80];

	fmt_count(count, sizeof(count), set->n);
	if (set->family == 4) {
		const struct bench_prefix *hot =
			bench_inv_find(inv, BENCH_HOT_ROLE, 32);
		struct bench_case *cs;

		snprintf(name, sizeof(name), "hot IPv4 allowed, %s CIDRs",
			 count);
		cs = add_hot(p, c, hot, 4, BENCH_PORT_ALLOWED,
			     PW_VERDICT_ALLOW, name);
		if (!cs)
			return -EPROTO;
		cs->target_over = set->hot_target;
		if (set->violation) {
			snprintf(name, sizeof(name),
				 "hot IPv4 violation, enforce, %s CIDRs",
				 count);
			if (!add_hot(p, c, hot, 4, BENCH_PORT_ADMIN,
				     PW_VERDICT_DROP, name))
				return -EPROTO;
		}
		if (set->spread) {
			cs = add_spread(p, c, inv, count);
			if (!cs)
				return -EPROTO;
			cs->target_over = set->spread_target;
			cs->target_ratio = set->spread_ratio;
		}
		return 0;
	}

	/* IPv6: a /128 hit is the first probe, a /48 hit the last of four */
	static const unsigned v6_plens[] = { 128, 48 };

	for (unsigned i = 0; i < 2; i++) {
		struct bench_case *cs;

		snprintf(name, sizeof(name), "hot IPv6 allowed /%u, %s prefixes",
			 v6_plens[i], count);
		cs = add_hot(p, c,
			     bench_inv_find(inv, BENCH_HOT_ROLE, v6_plens[i]),
			     6, BENCH_PORT_ALLOWED, PW_VERDICT_ALLOW, name);
		if (!cs)
			return -EPROTO;
		cs->target_over = set->hot_target;
	}
	return 0;
}

static int run_set(const struct bench_set *set, const struct bench_opts *o)
{
	struct bench_report *rep = set->report ? &report : NULL;
	struct pw_inventory pinv = { 0 };
	struct pw_compiled c = { 0 };
	struct pw_policy pol = { 0 };
	struct set_progs p = { 0 };
	struct bench_inv inv;
	int first = ncases, err;

	err = set->family == 4 ? bench_inv_v4(set->n, &inv)
			       : bench_inv_v6(set->n, &inv);
	if (err)
		return err;
	fprintf(stderr, "pw-bench: IPv%d, %zu prefixes...\n", set->family,
		set->n);
	err = compile_inventory(&inv, &pol, &pinv, &c, rep);
	if (!err)
		err = load_progs(&p, set, &inv, &c);
	if (!err)
		err = add_cases(set, &p, &inv, &c);
	if (!err)
		err = measure_set(&cases[first], ncases - first, o);
	if (!err && rep) {
		rep->n = set->n;
		rep->write_ms = p.pw.write_ms;
		FILE *detail = o->verbose ? stderr : NULL;

		if (detail)
			fprintf(stderr, "  portwarden maps:\n");
		rep->pw_mem = bench_obj_memlock(p.pw.skel->obj, detail);
		if (detail)
			fprintf(stderr, "  LPM baseline maps:\n");
		rep->lpm_mem = bench_obj_memlock(p.lpm_hot.obj, detail);
	}
	destroy_progs(&p);
	pw_compiled_free(&c);
	pw_inventory_free(&pinv);
	pw_policy_free(&pol);
	bench_inv_free(&inv);
	return err;
}

/* ------------------------------------------------------------ output -- */

static const char *verdict_word(bool ok)
{
	return ok ? "PASS" : "MISS";
}

static void print_row(const struct bench_case *cs)
{
	char target[24] = "", lpm[40] = "", ratio_target[24] = "";

	if (cs->target_over > 0)
		snprintf(target, sizeof(target), "<=%-3.0f %s",
			 cs->target_over,
			 verdict_word(cs->pw_over <= cs->target_over));
	if (cs->lpm_fd >= 0) {
		double ratio = cs->pw_over > 0 ? cs->lpm_over / cs->pw_over : 0;

		snprintf(lpm, sizeof(lpm), "%8.1f %7.1f %6.1fx", cs->lpm_ns,
			 cs->lpm_over, ratio);
		if (cs->target_ratio > 0)
			snprintf(ratio_target, sizeof(ratio_target),
				 ">=%.0fx %s", cs->target_ratio,
				 verdict_word(ratio >= cs->target_ratio));
	} else {
		snprintf(lpm, sizeof(lpm), "%8s %7s %7s", "-", "-", "-");
	}
	printf("%-42s %7.1f %6.1f %6.1f  %-10s %s  %s\n", cs->name, cs->pw_ns,
	       cs->floor_ns, cs->pw_over, target, lpm, ratio_target);
}

static void print_table(const struct bench_opts *o, int cpu)
{
	struct utsname u;

	uname(&u);
	printf("pw-bench: BPF_PROG_TEST_RUN, repeat %u, %d round%s (median), "
	       "kernel %s, pinned to CPU %d\n",
	       o->repeat, o->rounds, o->rounds == 1 ? "" : "s", u.release,
	       cpu);
	printf("ns per packet; floor: empty XDP_PASS (hot) or the random "
	       "source pick alone (spread)\n\n");
	printf("%-42s %7s %6s %6s  %-10s %8s %7s %7s  %s\n", "case", "ns/pkt",
	       "floor", "over", "target", "LPM ns", "over", "ratio",
	       "target");
	for (int kind = BENCH_HOT; kind <= BENCH_SPREAD; kind++)
		for (int i = 0; i < ncases; i++)
			if (cases[i].kind == (enum bench_kind)kind)
				print_row(&cases[i]);
	printf("\nratio = LPM ns over floor / portwarden ns over floor\n");
}

static void print_report(void)
{
	char count[32];

	if (report.n == 0)
		return;
	fmt_count(count, sizeof(count), report.n);
	printf("\nkernel memory of the maps at %s IPv4 CIDRs (fdinfo memlock):\n",
	       count);
	printf("  portwarden %8.1f MiB   target < 64 MiB %s\n",
	       report.pw_mem / 1048576.0,
	       verdict_word(report.pw_mem >= 0 &&
			    (unsigned long long)report.pw_mem <
				    BENCH_MEM_TARGET));
	printf("  LPM trie   %8.1f MiB\n", report.lpm_mem / 1048576.0);
	printf("compile + map write at %s IPv4 CIDRs (informational):\n",
	       count);
	printf("  parse policy %.1f ms, parse inventory %.1f ms, compile %.1f ms, "
	       "write + flip %.1f ms; total %.1f ms\n",
	       report.parse_policy_ms, report.parse_inv_ms, report.compile_ms,
	       report.write_ms,
	       report.parse_policy_ms + report.parse_inv_ms +
		       report.compile_ms + report.write_ms);
}

/* -------------------------------------------------------------- main -- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: pw-bench [--quick] [--repeat N] [--rounds N] [--verbose] [--scaling]\n"
		"  --quick      repeat %u, one round (a smoke run)\n"
		"  --repeat N   test-run repeat count (default %u)\n"
		"  --rounds N   rounds, median reported (default %d, max %d)\n"
		"  --verbose    every measurement, and the kernel's own figure\n"
		"  --scaling    instead: cost, compile + load time and memory from\n"
		"               10 to 100,000 CIDRs and 10 to 10,000 rules (markdown)\n"
		"Needs root (BPF_PROG_TEST_RUN).\n",
		BENCH_REPEAT_QUICK, BENCH_REPEAT_FULL, BENCH_ROUNDS_FULL,
		BENCH_MAX_ROUNDS);
}

static int parse_args(int argc, char **argv, struct bench_opts *o)
{
	static const struct option longopts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "rounds", required_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "scaling", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int opt;
	char *end;

	o->repeat = BENCH_REPEAT_FULL;
	o->rounds = BENCH_ROUNDS_FULL;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'q':
			o->repeat = BENCH_REPEAT_QUICK;
			o->rounds = 1;
			break;
		case 'r':
			o->repeat = (uint32_t)strtoul(optarg, &end, 10);
			if (*end || o->repeat == 0)
				return -EINVAL;
			break;
		case 'n':
			o->rounds = (int)strtol(optarg, &end, 10);
			if (*end || o->rounds < 1 ||
			    o->rounds > BENCH_MAX_ROUNDS)
				return -EINVAL;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 's':
			o->scaling = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -EINVAL;
		}
	}
	return optind == argc ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
	struct bench_opts o = { 0 };
	int cpu = -1, err = 0;

	if (parse_args(argc, argv, &o)) {
		usage(stderr);
		return 1;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "pw-bench: needs root for BPF_PROG_TEST_RUN; skipped\n");
		return 77;
	}
	libbpf_set_print(bench_libbpf_quiet);
	if (bench_pin_cpu(&cpu))
		fprintf(stderr, "pw-bench: could not pin to a CPU; going on\n");

	if (o.scaling) {
		struct bench_scale_opts so = { .repeat = o.repeat,
					       .rounds = o.rounds };

		err = bench_scale_run(&so);
		if (err)
			fprintf(stderr, "pw-bench: failed: %s\n", strerror(-err));
		return err ? 1 : 0;
	}
	for (size_t i = 0; i < sizeof(bench_sets) / sizeof(bench_sets[0]); i++) {
		err = run_set(&bench_sets[i], &o);
		if (err) {
			fprintf(stderr, "pw-bench: failed: %s\n", strerror(-err));
			return 1;
		}
	}
	print_table(&o, cpu);
	print_report();
	return 0;
}
