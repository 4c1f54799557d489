// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * pw-flows - what the flow table costs, per packet, under
 * BPF_PROG_TEST_RUN, against the empty program of the same hook measured
 * in the same run:
 *
 *   ingress  an allowed packet of an established flow (no flow lookup),
 *            the reply of a flow the host opened (one lookup), a SYN that
 *            records its flow, a violation with no flow behind it;
 *   egress   a packet of a flow the host opened, the reply of an inbound
 *            flow.
 *
 * The host is a replication-manager bastion (policies/), enforcing both
 * ways.  Rounds alternate program and floor so that drift on a noisy
 * machine hits both; the median of the rounds is printed.
 *
 *	pw-flows [--rounds N] [--repeat N]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/pkt_cls.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench_util.h"
#include "bench_floor.skel.h"
#include "bench_floor_tc.skel.h"
#include "classify.h"
#include "compile.h"
#include "diag.h"
#include "maps.h"
#include "policy.h"
#include "portwarden.skel.h"
#include "state.h"

#ifndef PW_SOURCE_ROOT
#define PW_SOURCE_ROOT "."
#endif

#define MAX_ROUNDS 51
#define TCP_FLAGS_OFF4 (14 + 20 + 13) /* Ethernet, IPv4, TCP byte 13 */

enum { PW_SYN = 0x02, PW_ACK = 0x10 };

struct policy {
	struct pw_policy pol;
	struct pw_inventory inv;
	struct pw_compiled c;
};

struct host {
	struct portwarden *skel;
	struct pw_maps maps;
	struct pw_caps caps;
	int xdp_fd, tc_fd;
};

/* An IPv4 TCP frame from @src:@sport to @dst:@dport with @flags. */
static void frame(struct bench_pkt *pkt, const char *src, uint16_t sport,
		  const char *dst, uint16_t dport, uint8_t flags)
{
	uint8_t s[4], d[4];
	int len;

	inet_pton(AF_INET, src, s);
	inet_pton(AF_INET, dst, d);
	len = pw_classify_build_packet(4, s, d, PW_IPPROTO_TCP, sport, dport,
				       pkt->data, sizeof(pkt->data));
	if (len < 0) {
		fprintf(stderr, "pw-flows: cannot build a frame\n");
		exit(1);
	}
	pkt->len = len;
	pkt->data[TCP_FLAGS_OFF4] = flags;
}

static int compile(struct policy *p)
{
	static char *roles[] = { "bastion" };
	const struct pw_state st = {
		.policy = PW_SOURCE_ROOT "/policies/replication-manager.policy",
		.inventory = PW_SOURCE_ROOT
		"/policies/examples/replication-manager.inventory",
		.roles = roles,
		.nroles = 1,
	};
	struct pw_diags d = { 0 };
	int err;

	memset(p, 0, sizeof(*p));
	err = pw_state_compile(&st, NULL, &p->pol, &p->inv, &p->c, &d);
	if (err || d.nerrors)
		pw_diags_print(&d, stderr);
	pw_diags_free(&d);
	return err || d.nerrors ? -1 : 0;
}

static int host_load(struct host *h, const struct pw_compiled *c)
{
	struct pw_config cfg;

	memset(h, 0, sizeof(*h));
	pw_caps_default(&h->caps);
	pw_caps_fit(&h->caps, c);
	h->skel = portwarden__open();
	if (!h->skel || pw_skel_configure(h->skel, &h->caps) ||
	    portwarden__load(h->skel) ||
	    pw_maps_from_skel(h->skel, &h->caps, &h->maps) ||
	    pw_maps_write_gen(&h->maps, c, 1) || pw_maps_flip(&h->maps, 1)) {
		fprintf(stderr, "pw-flows: cannot load portwarden: %s\n",
			pw_maps_errmsg());
		return -1;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.mode = PW_MODE_ENFORCE;
	cfg.flags = PW_CFG_EGRESS_ENFORCE;
	cfg.unchecked_drop = PW_UNCHECKED_DROP_DEFAULT;
	pw_config_defaults(&cfg);
	cfg.event_rate = 0; /* the violation case measures judging, not events */
	if (pw_maps_set_config(&h->maps, &cfg))
		return -1;
	h->xdp_fd = bpf_program__fd(h->skel->progs.pw_xdp_ingress);
	h->tc_fd = bpf_program__fd(h->skel->progs.pw_tc_egress);
	return 0;
}

/* Run the SYN of @src:@sport -> @dst:@dport once through @prog_fd. */
static int open_flow(int prog_fd, const char *src, uint16_t sport,
		     const char *dst, uint16_t dport, uint32_t want)
{
	struct bench_pkt syn;
	struct bench_run r;

	frame(&syn, src, sport, dst, dport, PW_SYN);
	if (bench_test_run(prog_fd, &syn, 1, &r) || r.retval != want) {
		fprintf(stderr, "pw-flows: opening %s:%u -> %s:%u failed\n",
			src, sport, dst, dport);
		return -1;
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

struct bench_case {
	const char *name;
	int dir;
	struct bench_pkt pkt;
	int want; /* the program's return: XDP_PASS/XDP_DROP, TC_ACT_UNSPEC */
};

static int run_case(struct host *h, int floor_fd, const struct bench_case *bc,
		    int rounds, uint32_t repeat, double *ns, double *floor_ns)
{
	double v[MAX_ROUNDS], f[MAX_ROUNDS];
	struct bench_run r;
	int prog = bc->dir == PW_DIR_INGRESS ? h->xdp_fd : h->tc_fd;
	int i, err;

	for (i = 0; i < rounds; i++) {
		err = bench_test_run(floor_fd, &bc->pkt, repeat, &r);
		if (err)
			return err;
		f[i] = r.ns;
		err = bench_test_run(prog, &bc->pkt, repeat, &r);
		if (err)
			return err;
		v[i] = r.ns;
		if ((int)r.retval != bc->want) {
			fprintf(stderr, "pw-flows: %s: the program returned %u, "
					"expected %d\n",
				bc->name, r.retval, bc->want);
			return -EINVAL;
		}
	}
	*ns = median(v, rounds);
	*floor_ns = median(f, rounds);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rounds", required_argument, NULL, 'r' },
		{ "repeat", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *bastion = "198.18.5.10", *db = "198.18.2.11",
		   *op = "198.18.10.5";
	struct bench_floor_tc *ftc = NULL;
	struct bench_floor *fxdp = NULL;
	struct bench_case cases[6];
	uint32_t repeat = 1000000;
	int rounds = 7, c, i, n = 0, cpu = -1;
	struct policy p;
	struct host h;

	while ((c = getopt_long(argc, argv, "r:n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			rounds = atoi(optarg);
			break;
		case 'n':
			repeat = strtoul(optarg, NULL, 10);
			break;
		default:
			printf("usage: pw-flows [--rounds N] [--repeat N]\n");
			return c == 'h' ? 0 : 1;
		}
	}
	if (rounds < 1 || rounds > MAX_ROUNDS || repeat < 100) {
		fprintf(stderr, "pw-flows: rounds 1..%d, repeat >= 100\n",
			MAX_ROUNDS);
		return 1;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "pw-flows: needs root (BPF_PROG_TEST_RUN)\n");
		return 1;
	}
	bench_pin_cpu(&cpu);
	if (compile(&p) || host_load(&h, &p.c))
		return 1;
	fxdp = bench_floor__open_and_load();
	ftc = bench_floor_tc__open_and_load();
	if (!fxdp || !ftc) {
		fprintf(stderr, "pw-flows: cannot load the floor programs\n");
		return 1;
	}

	/* the bastion's SSH session to db, and an operator's into it */
	memset(cases, 0, sizeof(cases));
	cases[n] = (struct bench_case){ .name = "ingress allowed, established (ACK)",
					.dir = PW_DIR_INGRESS };
	frame(&cases[n++].pkt, op, 40000, bastion, 22, PW_ACK);
	cases[n] = (struct bench_case){ .name = "ingress allowed, SYN (records)",
					.dir = PW_DIR_INGRESS };
	frame(&cases[n++].pkt, op, 40001, bastion, 22, PW_SYN);
	cases[n] = (struct bench_case){ .name = "ingress reply of a flow opened here",
					.dir = PW_DIR_INGRESS };
	frame(&cases[n++].pkt, db, 22, bastion, 50000, PW_ACK);
	cases[n] = (struct bench_case){ .name = "ingress violation, no flow (drop)",
					.dir = PW_DIR_INGRESS, .want = XDP_DROP };
	frame(&cases[n++].pkt, db, 22, bastion, 50001, PW_ACK);
	cases[n] = (struct bench_case){ .name = "egress, flow opened here (ACK)",
					.dir = PW_DIR_EGRESS };
	frame(&cases[n++].pkt, bastion, 50000, db, 22, PW_ACK);
	cases[n] = (struct bench_case){ .name = "egress reply of an inbound flow",
					.dir = PW_DIR_EGRESS };
	frame(&cases[n++].pkt, bastion, 22, op, 40000, PW_ACK);
	for (i = 0; i < n; i++)
		if (cases[i].dir == PW_DIR_INGRESS && !cases[i].want)
			cases[i].want = XDP_PASS;
		else if (!cases[i].want)
			cases[i].want = TC_ACT_UNSPEC;

	/* the flows the reply cases answer, opened by the hooks themselves */
	if (open_flow(h.tc_fd, bastion, 50000, db, 22, (uint32_t)TC_ACT_UNSPEC) ||
	    open_flow(h.xdp_fd, op, 40000, bastion, 22, XDP_PASS))
		return 1;

	printf("ns per packet, median of %d rounds of %u; floor: the empty "
	       "program of the same hook, same run\n\n",
	       rounds, repeat);
	printf("%-40s %8s %8s %8s\n", "case", "ns/pkt", "floor", "over");
	for (i = 0; i < n; i++) {
		int floor_fd = cases[i].dir == PW_DIR_INGRESS ?
				       bpf_program__fd(fxdp->progs.bench_pass) :
				       bpf_program__fd(ftc->progs.bench_floor_tc);
		double ns, floor_ns;

		if (run_case(&h, floor_fd, &cases[i], rounds, repeat, &ns,
			     &floor_ns))
			return 1;
		printf("%-40s %8.1f %8.1f %8.1f\n", cases[i].name, ns,
		       floor_ns, ns - floor_ns);
	}
	bench_floor_tc__destroy(ftc);
	bench_floor__destroy(fxdp);
	portwarden__destroy(h.skel);
	pw_compiled_free(&p.c);
	pw_inventory_free(&p.inv);
	pw_policy_free(&p.pol);
	return 0;
}
