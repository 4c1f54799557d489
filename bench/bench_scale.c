// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * bench_scale.c - pw-bench --scaling: what the size of the inventory and
 * of the policy cost, per packet, in compile and load time, and in kernel
 * memory.
 *
 * Inventory sizes 10 .. 100,000 IPv4 CIDRs under the synthetic policy of
 * bench_inv.c; policy sizes 10 .. 10,000 rules (one port each, from the
 * eight inventory roles in turn) over 1,000 CIDRs.  Each size is parsed,
 * compiled, loaded and written as `portwarden load` does it, then measured
 * under BPF_PROG_TEST_RUN against the floors of pw-bench (bench_floor.bpf.c):
 * one repeated packet (hot), and a source drawn at random from the whole
 * inventory on every repeat (spread).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "classify.h"
#include "compile.h"
#include "policy.h"

#include "bench_inv.h"
#include "bench_pw.h"
#include "bench_scale.h"
#include "bench_util.h"
#include "bench_floor.skel.h"
#include "portwarden.skel.h"

#define SCALE_MAX_ROUNDS 101
#define SCALE_FLAT_LIMIT 1.20   /* cost at the largest size / at the smallest */
#define SCALE_LOAD_TARGET_MS 1000.0
#define SCALE_RULES_CIDRS 1000
#define SCALE_RULE_PORT_BASE 10000

static const size_t scale_cidrs[] = { 10, 100, 1000, 10000, 100000 };
static const unsigned scale_rules[] = { 10, 100, 1000, 10000 };

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct scale_row {
	size_t ncidr;
	unsigned nrules;   /* 0: the synthetic policy of bench_inv.c */
	double parse_ms, compile_ms, load_ms, write_ms;
	double cpu_ms;     /* CPU time of the four: the machine may be busy */
	long long mem;
	double hot_ns, hot_over, spread_ns, spread_over;
	double syn_ns, syn_over; /* spread, but SYNs: a new flow each */
};

/* A measurement: the program and its floor, round after round. */
struct scale_pair {
	int fd, floor_fd;
	struct bench_pkt pkt;
	double ns[SCALE_MAX_ROUNDS], floor[SCALE_MAX_ROUNDS];
};

static double cpu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ------------------------------------------------------------ policy -- */

/*
 * @nrules rules, one port each (SCALE_RULE_PORT_BASE + i), from the
 * inventory roles in turn; plus 3306 from every role, so that the spread
 * packet is allowed whatever source it draws.
 */
static char *rules_policy(unsigned nrules)
{
	size_t len = 0;
	char *text = NULL;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	fprintf(f, "policy scale \"pw-bench --scaling: %u rules\"\n", nrules);
	fprintf(f, "role %s \"the host under test\"\n", BENCH_HOST_ROLE);
	for (int r = 0; r < BENCH_NROLES; r++)
		fprintf(f, "role %s \"inventory role %d\"\n",
			bench_role_names[r], r);
	fprintf(f, "allow tcp %u from ", BENCH_PORT_ALLOWED);
	for (int r = 0; r < BENCH_NROLES; r++)
		fprintf(f, "%s%s", r ? "," : "", bench_role_names[r]);
	fprintf(f, " to %s\n", BENCH_HOST_ROLE);
	for (unsigned i = 1; i < nrules; i++)
		fprintf(f, "allow tcp %u from %s to %s\n",
			SCALE_RULE_PORT_BASE + i,
			bench_role_names[i % BENCH_NROLES], BENCH_HOST_ROLE);
	if (fclose(f)) {
		free(text);
		return NULL;
	}
	return text;
}

/* ----------------------------------------------------------- one size -- */

static int compile_timed(const struct bench_inv *inv, struct pw_policy *pol,
			 struct pw_inventory *pinv, struct pw_compiled *c,
			 struct scale_row *row)
{
	static const char *const host_roles[] = { BENCH_HOST_ROLE };
	struct pw_compile_opts co = { .host_roles = host_roles,
				      .nhost_roles = 1 };
	struct pw_diags d = { 0 };
	double t0, t1, t2;
	int err = -EINVAL;

	t0 = bench_now_ms();
	if (pw_policy_parse_buffer("scale.policy", inv->policy, pol, &d) ||
	    pw_inventory_parse_buffer("scale.inventory", inv->inventory, pol,
				      pinv, &d))
		goto out;
	t1 = bench_now_ms();
	if (pw_compile(pol, pinv, &co, c, &d))
		goto out;
	t2 = bench_now_ms();
	row->parse_ms = t1 - t0;
	row->compile_ms = t2 - t1;
	err = 0;
out:
	if (d.nerrors)
		pw_diags_print(&d, stderr);
	pw_diags_free(&d);
	return err;
}

static struct bench_floor *load_floor(const struct bench_inv *inv)
{
	struct bench_floor *fl = bench_floor__open();
	int err;

	if (!fl)
		return NULL;
	err = bench_srcs_size(fl->obj, inv);
	if (!err && bench_floor__load(fl))
		err = -errno;
	if (!err)
		err = bench_srcs_fill(fl->obj, inv);
	if (err) {
		bench_floor__destroy(fl);
		errno = -err;
		return NULL;
	}
	return fl;
}

static int run_pair(struct scale_pair *p, uint32_t repeat, int round)
{
	struct bench_run run;
	int err = bench_test_run(p->floor_fd, &p->pkt, repeat, &run);

	if (err)
		return err;
	if (round >= 0)
		p->floor[round] = run.ns;
	err = bench_test_run(p->fd, &p->pkt, repeat, &run);
	if (err)
		return err;
	if (run.retval != XDP_PASS) {
		fprintf(stderr, "pw-bench: scaling: action %u, want XDP_PASS\n",
			run.retval);
		return -EPROTO;
	}
	if (round >= 0)
		p->ns[round] = run.ns;
	return 0;
}

static int measure(struct scale_pair *pairs, int n, uint32_t repeat,
		   int rounds)
{
	int err = 0;

	for (int i = 0; i < n && !err; i++)
		err = run_pair(&pairs[i], repeat / 10 + 1, -1);
	for (int r = 0; r < rounds && !err; r++)
		for (int i = 0; i < n && !err; i++)
			err = run_pair(&pairs[i], repeat, r);
	return err;
}

/*
 * The hot packet: TCP SYN from a /32 of role @role to @dport, which the
 * reference classifier must call allowed.
 */
static int hot_packet(const struct pw_compiled *c, const struct bench_inv *inv,
		      const char *role, uint16_t dport, struct bench_pkt *pkt)
{
	const struct bench_prefix *src = bench_inv_find(inv, role, 32);
	struct pw_config cfg = { .mode = PW_MODE_ENFORCE };
	struct pw_classify_result res;

	if (!src)
		return -ENOENT;
	bench_pkt_tcp_ack(pkt, 4, src->src, dport);
	pw_classify(c, &cfg, 0, pkt->data, (uint32_t)pkt->len, &res);
	if (res.action != PW_XDP_PASS || res.verdict != PW_VERDICT_ALLOW) {
		fprintf(stderr, "pw-bench: scaling: hot packet is not allowed\n");
		return -EPROTO;
	}
	return 0;
}

static int scale_one(struct scale_row *row, const struct bench_scale_opts *o)
{
	struct pw_inventory pinv = { 0 };
	struct pw_compiled c = { 0 };
	struct pw_policy pol = { 0 };
	struct scale_pair pairs[3] = { 0 };
	struct bench_floor *fl = NULL;
	struct bench_pw pw = { 0 };
	struct bench_inv inv;
	uint16_t hot_port = BENCH_PORT_ALLOWED;
	const char *hot_role = BENCH_HOT_ROLE;
	double t0, c0;
	int err;

	err = bench_inv_v4(row->ncidr, &inv);
	if (err)
		return err;
	if (row->nrules) {
		unsigned mid = row->nrules / 2 ? row->nrules / 2 : 1;

		free(inv.policy);
		inv.policy = rules_policy(row->nrules);
		if (!inv.policy) {
			err = -ENOMEM;
			goto out;
		}
		if (row->nrules > 1) {
			hot_port = (uint16_t)(SCALE_RULE_PORT_BASE + mid);
			hot_role = bench_role_names[mid % BENCH_NROLES];
		}
	}
	c0 = cpu_now_ms();
	err = compile_timed(&inv, &pol, &pinv, &c, row);
	if (err)
		goto out;
	t0 = bench_now_ms();
	err = bench_pw_load(&pw, &c);
	row->write_ms = pw.write_ms;
	row->load_ms = bench_now_ms() - t0 - pw.write_ms;
	row->cpu_ms = cpu_now_ms() - c0;
	if (!err)
		err = bench_pw_load_spread(&pw, &inv);
	if (!err) {
		fl = load_floor(&inv);
		err = fl ? 0 : -errno;
	}
	if (!err)
		err = hot_packet(&c, &inv, hot_role, hot_port, &pairs[0].pkt);
	if (err)
		goto out;
	row->mem = bench_obj_memlock(pw.skel->obj, NULL);
	pairs[0].fd = pw.prog_fd;
	pairs[0].floor_fd = bpf_program__fd(fl->progs.bench_pass);
	bench_pkt_tcp_ack(&pairs[1].pkt, 4, inv.pfx[0].src, BENCH_PORT_ALLOWED);
	pairs[1].fd = pw.spread_fd;
	pairs[1].floor_fd = bpf_program__fd(fl->progs.bench_pick);
	bench_pkt_tcp_syn(&pairs[2].pkt, 4, inv.pfx[0].src, BENCH_PORT_ALLOWED);
	pairs[2].fd = pw.spread_fd;
	pairs[2].floor_fd = pairs[1].floor_fd;
	err = measure(pairs, 3, o->repeat, o->rounds);
	if (err)
		goto out;
	row->hot_ns = bench_median(pairs[0].ns, o->rounds);
	row->hot_over = bench_median_diff(pairs[0].ns, pairs[0].floor, o->rounds);
	row->spread_ns = bench_median(pairs[1].ns, o->rounds);
	row->spread_over = bench_median_diff(pairs[1].ns, pairs[1].floor, o->rounds);
	row->syn_ns = bench_median(pairs[2].ns, o->rounds);
	row->syn_over = bench_median_diff(pairs[2].ns, pairs[2].floor, o->rounds);
out:
	if (err)
		fprintf(stderr, "pw-bench: scaling %zu CIDRs, %u rules: %s\n",
			row->ncidr, row->nrules, strerror(-err));
	bench_floor__destroy(fl);
	bench_pw_destroy(&pw);
	pw_compiled_free(&c);
	pw_inventory_free(&pinv);
	pw_policy_free(&pol);
	bench_inv_free(&inv);
	return err;
}

/* ------------------------------------------------------------ output -- */

static void print_rows(const char *first, const struct scale_row *rows,
		       size_t n)
{
	printf("| %s | parse ms | compile ms | load ms | write ms | total ms | CPU ms | maps MiB | hot ns/pkt | over floor | spread ns/pkt | over floor | spread SYN ns/pkt | over floor |\n",
	       first);
	printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (size_t i = 0; i < n; i++) {
		const struct scale_row *r = &rows[i];

		printf("| %zu | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |\n",
		       r->nrules ? r->nrules : r->ncidr, r->parse_ms,
		       r->compile_ms, r->load_ms, r->write_ms,
		       r->parse_ms + r->compile_ms + r->load_ms + r->write_ms,
		       r->cpu_ms, r->mem / 1048576.0, r->hot_ns, r->hot_over,
		       r->spread_ns, r->spread_over, r->syn_ns, r->syn_over);
	}
}

static const char *pass_word(bool ok)
{
	return ok ? "PASS" : "MISS";
}

static void print_flat(const char *what, double lo, double hi)
{
	double r = hi / lo;

	printf("- flat per-packet cost, %s: %.1f -> %.1f ns/pkt (%+.0f%%, within %.0f%%?) %s\n",
	       what, lo, hi, (r - 1) * 100, (SCALE_FLAT_LIMIT - 1) * 100,
	       pass_word(r <= SCALE_FLAT_LIMIT));
}

static void print_targets(const struct scale_row *rows, size_t n)
{
	const struct scale_row *lo = &rows[0], *hi = &rows[n - 1];
	double total = hi->parse_ms + hi->compile_ms + hi->load_ms +
		       hi->write_ms;
	double reload = hi->parse_ms + hi->compile_ms + hi->write_ms;

	printf("\nTargets (%zu against %zu CIDRs):\n\n", hi->ncidr, lo->ncidr);
	print_flat("hot", lo->hot_ns, hi->hot_ns);
	print_flat("spread", lo->spread_ns, hi->spread_ns);
	print_flat("spread SYN (informational: a new flow each)", lo->syn_ns,
		   hi->syn_ns);
	printf("- compile + load of %zu CIDRs under %.0f ms, in CPU time: %.0f ms %s "
	       "(wall clock %.0f ms, of which load with the verifier %.0f ms)\n",
	       hi->ncidr, SCALE_LOAD_TARGET_MS, hi->cpu_ms,
	       pass_word(hi->cpu_ms < SCALE_LOAD_TARGET_MS), total,
	       hi->load_ms);
	printf("- wall clock without the program load (parse + compile + "
	       "write, what a reload costs): %.0f ms %s\n",
	       reload, pass_word(reload < SCALE_LOAD_TARGET_MS));
}

int bench_scale_run(const struct bench_scale_opts *o)
{
	struct scale_row cidr_rows[ARRAY_LEN(scale_cidrs)] = { 0 };
	struct scale_row rule_rows[ARRAY_LEN(scale_rules)] = { 0 };
	int err = 0;

	if (o->rounds < 1 || o->rounds > SCALE_MAX_ROUNDS)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_LEN(scale_cidrs) && !err; i++) {
		fprintf(stderr, "pw-bench: scaling: %zu CIDRs...\n",
			scale_cidrs[i]);
		cidr_rows[i].ncidr = scale_cidrs[i];
		err = scale_one(&cidr_rows[i], o);
	}
	for (size_t i = 0; i < ARRAY_LEN(scale_rules) && !err; i++) {
		fprintf(stderr, "pw-bench: scaling: %u rules...\n",
			scale_rules[i]);
		rule_rows[i].ncidr = SCALE_RULES_CIDRS;
		rule_rows[i].nrules = scale_rules[i];
		err = scale_one(&rule_rows[i], o);
	}
	if (err)
		return err;

	printf("BPF_PROG_TEST_RUN, repeat %u, %d round%s (median).  Times of one "
	       "run each, wall clock (parse = policy + inventory; load = open, "
	       "create the maps, verify and load the programs; write = one "
	       "generation + flip), and the CPU time of all four\n\n",
	       o->repeat, o->rounds, o->rounds == 1 ? "" : "s");
	printf("Inventory size (IPv4 CIDRs; synthetic policy of 6 rules):\n\n");
	print_rows("CIDRs", cidr_rows, ARRAY_LEN(cidr_rows));
	print_targets(cidr_rows, ARRAY_LEN(cidr_rows));
	printf("\nPolicy size (rules, one port each, over %d CIDRs):\n\n",
	       SCALE_RULES_CIDRS);
	print_rows("rules", rule_rows, ARRAY_LEN(rule_rows));
	return 0;
}
