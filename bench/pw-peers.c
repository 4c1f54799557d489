// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * pw-peers - portwarden against a peer XDP filter (xdp-filter of
 * xdp-tools) under BPF_PROG_TEST_RUN: same frames, same run.
 *
 *   pw-peers rules --profile FILE
 *	the nearest xdp-filter rules for the host of FILE: one line of
 *	xdp-filter arguments per port and per peer address
 *   pw-peers testrun --profile FILE --prog-id ID [--peer NAME]
 *		      [--repeat N] [--rounds N]
 *	the empty XDP program (floor), portwarden compiled for FILE in
 *	enforce mode, and the loaded program ID (the peer), each frame of
 *	the traffic mix (bench_mix.c) back to back, rounds interleaved;
 *	prints a markdown table
 *
 * Run as root.  See bench/README.md.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "classify.h"
#include "compile.h"
#include "policy.h"
#include "profile.h"

#include "bench_mix.h"
#include "bench_pw.h"
#include "bench_util.h"
#include "bench_floor.skel.h"

#define PEERS_MAX_ROUNDS 51
#define PEERS_MAX_FRAMES 32
#define PEERS_RANGE_MAX 64 /* a wider port range cannot become xdp-filter ports */
#define PEERS_TARGET_RATIO 2.0

struct peers_opts {
	const char *profile;
	int prog_id;
	const char *peer;
	enum bench_mix_tcp tcp;
	uint32_t repeat;
	int rounds;
};

/* The host of a profile, compiled. */
struct host {
	struct pw_profile prof;
	struct pw_policy pol;
	struct pw_inventory inv;
	struct pw_compiled c;
};

static void host_free(struct host *h)
{
	pw_compiled_free(&h->c);
	pw_inventory_free(&h->inv);
	pw_policy_free(&h->pol);
	pw_profile_free(&h->prof);
}

static int host_compile(const char *profile, struct host *h)
{
	struct pw_diags d = { 0 };
	struct pw_compile_opts co = { 0 };
	int err = -EINVAL;

	memset(h, 0, sizeof(*h));
	if (pw_profile_parse_file(profile, &h->prof, &d))
		goto out;
	if (!h->prof.inventory) {
		fprintf(stderr, "pw-peers: %s names no inventory\n", profile);
		goto out;
	}
	if (pw_policy_parse_file(h->prof.policy, &h->pol, &d) ||
	    pw_inventory_parse_file(h->prof.inventory, &h->pol, &h->inv, &d))
		goto out;
	co.host_roles = (const char *const *)h->prof.roles;
	co.nhost_roles = h->prof.nroles;
	co.tags = (const char *const *)h->prof.tags;
	co.ntags = h->prof.ntags;
	if (pw_compile(&h->pol, &h->inv, &co, &h->c, &d))
		goto out;
	err = 0;
out:
	if (d.nerrors)
		pw_diags_print(&d, stderr);
	pw_diags_free(&d);
	return err;
}

/* ------------------------------------------------------------- rules -- */

/* The roles (policy indexes) a rule lets reach this host. */
static void rule_peers(const struct pw_effective_rule *e, bool *peer,
		       bool *any)
{
	const struct pw_peer *p = e->reversed ? e->rule->dst : e->rule->src;
	int n = e->reversed ? e->rule->ndst : e->rule->nsrc;

	for (int i = 0; i < n; i++) {
		if (p[i].role == PW_PEER_ANY)
			*any = true;
		else
			peer[p[i].role] = true;
	}
}

static void print_ports(const struct pw_effective_rule *e)
{
	static const int protos[] = { PW_P_TCP, PW_P_UDP };

	for (int k = 0; k < 2; k++) {
		if (!(e->rule->protos & (1U << protos[k])))
			continue;
		for (int i = 0; i < e->rule->nports; i++) {
			const struct pw_port_range *r = &e->rule->ports[i];

			if (r->hi - r->lo >= PEERS_RANGE_MAX) {
				fprintf(stderr,
					"pw-peers: rule %u: ports %u-%u left out (too wide for port rules)\n",
					e->rule_id, r->lo, r->hi);
				continue;
			}
			for (unsigned port = r->lo; port <= r->hi; port++)
				printf("port --mode dst --proto %s %u\n",
				       pw_proto_name(protos[k]), port);
		}
	}
}

static void print_addrs(const struct host *h, const bool *peer)
{
	for (int i = 0; i < h->inv.nentries; i++) {
		const struct pw_inv_entry *e = &h->inv.entries[i];
		char buf[64];

		if (!peer[e->role])
			continue;
		pw_prefix_format(&e->prefix, buf, sizeof(buf));
		if (e->prefix.plen != (e->prefix.family == 4 ? 32 : 128)) {
			fprintf(stderr,
				"pw-peers: %s (%s) left out: xdp-filter matches single addresses\n",
				buf, h->pol.roles[e->role].name);
			continue;
		}
		printf("ip --mode src %s\n", strtok(buf, "/"));
	}
}

/*
 * xdp-filter with policy "deny" passes a packet when any one of its rules
 * matches (a port, or an address), and drops the rest: the nearest it
 * comes to "these peers on these ports" is the union of the host's
 * ingress ports and of its peers' addresses.  Duplicate lines are
 * harmless (xdp-filter adds to a set).
 */
static int cmd_rules(const struct peers_opts *o)
{
	struct host h;
	bool *peer, any = false;

	if (host_compile(o->profile, &h))
		return 1;
	peer = calloc((size_t)h.pol.nroles, sizeof(*peer));
	if (!peer) {
		host_free(&h);
		return 1;
	}
	for (int i = 0; i < h.c.neffective; i++) {
		const struct pw_effective_rule *e = &h.c.effective[i];

		if (e->dir != PW_DIR_INGRESS)
			continue;
		print_ports(e);
		rule_peers(e, peer, &any);
	}
	if (any)
		fprintf(stderr, "pw-peers: a rule allows any source; its peers are not listed\n");
	print_addrs(&h, peer);
	free(peer);
	host_free(&h);
	return 0;
}

/* ----------------------------------------------------------- testrun -- */

struct frame_row {
	const struct bench_mix_flow *flow;
	struct bench_pkt pkt;
	__u32 pw_action, peer_action;
	double floor_r[PEERS_MAX_ROUNDS], pw_r[PEERS_MAX_ROUNDS],
		peer_r[PEERS_MAX_ROUNDS];
	double floor_ns, pw_ns, pw_over, peer_ns, peer_over;
};

static const char *action_name(__u32 a)
{
	switch (a) {
	case XDP_ABORTED:
		return "ABORTED";
	case XDP_DROP:
		return "drop";
	case XDP_PASS:
		return "pass";
	case XDP_TX:
		return "TX";
	case XDP_REDIRECT:
		return "REDIRECT";
	default:
		return "?";
	}
}

/*
 * Build the frames; check that portwarden returns for each what the
 * reference classifier says, and that the classifier agrees with the
 * mix's own label (so the mix is what it claims to be).
 */
static int make_frames(const struct host *h, const struct pw_config *cfg,
		       enum bench_mix_tcp tcp, int pw_fd, int peer_fd,
		       struct frame_row *rows)
{
	static const uint8_t dmac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	static const uint8_t smac[6] = { 0x02, 0, 0, 0, 0, 0x01 };

	for (size_t i = 0; i < bench_mix_len; i++) {
		struct frame_row *r = &rows[i];
		struct pw_classify_result res;
		struct bench_run run;
		int len, err;

		r->flow = &bench_mix[i];
		len = bench_mix_frame(r->flow, tcp, dmac, smac, r->pkt.data);
		if (len < 0)
			return len;
		r->pkt.len = (size_t)len;
		pw_classify(&h->c, cfg, 0, r->pkt.data, (uint32_t)len, &res);
		if ((res.action == PW_XDP_PASS) != r->flow->allowed) {
			fprintf(stderr, "pw-peers: %s: the policy says %s\n",
				r->flow->what,
				res.action == PW_XDP_PASS ? "pass" : "drop");
			return -EPROTO;
		}
		err = bench_test_run(pw_fd, &r->pkt, 1, &run);
		if (err)
			return err;
		r->pw_action = run.retval;
		if (run.retval !=
		    (res.action == PW_XDP_PASS ? XDP_PASS : XDP_DROP)) {
			fprintf(stderr, "pw-peers: %s: portwarden says %s\n",
				r->flow->what, action_name(run.retval));
			return -EPROTO;
		}
		err = bench_test_run(peer_fd, &r->pkt, 1, &run);
		if (err)
			return err;
		r->peer_action = run.retval;
	}
	return 0;
}

static int timed(int fd, const struct frame_row *r, uint32_t repeat,
		 __u32 expect, double *ns)
{
	struct bench_run run;
	int err = bench_test_run(fd, &r->pkt, repeat, &run);

	if (err)
		return err;
	if (expect != (__u32)-1 && run.retval != expect) {
		fprintf(stderr, "pw-peers: %s: action %s, was %s\n",
			r->flow->what, action_name(run.retval),
			action_name(expect));
		return -EPROTO;
	}
	*ns = run.ns;
	return 0;
}

/* One round (round < 0: the warm-up, not kept). */
static int measure_round(struct frame_row *rows, size_t n, int floor_fd,
			 int pw_fd, int peer_fd, uint32_t repeat, int round)
{
	double scratch;
	int err = 0;

	for (size_t i = 0; i < n && !err; i++) {
		struct frame_row *r = &rows[i];
		bool keep = round >= 0;

		err = timed(floor_fd, r, repeat, XDP_PASS,
			    keep ? &r->floor_r[round] : &scratch);
		if (!err)
			err = timed(pw_fd, r, repeat, r->pw_action,
				    keep ? &r->pw_r[round] : &scratch);
		if (!err)
			err = timed(peer_fd, r, repeat, r->peer_action,
				    keep ? &r->peer_r[round] : &scratch);
	}
	return err;
}

static void print_table(struct frame_row *rows, size_t n,
			const struct peers_opts *o)
{
	double floor = 0, pw = 0, pw_over = 0, peer = 0, peer_over = 0, ratio;

	printf("BPF_PROG_TEST_RUN, repeat %u, %d rounds (median); portwarden "
	       "in enforce mode for %s; peer: %s (prog id %d); TCP frames are "
	       "%s\n\n",
	       o->repeat, o->rounds, o->profile, o->peer, o->prog_id,
	       o->tcp == BENCH_MIX_SYN ? "SYNs (connection attempts)"
				       : "ACKs (segments of connections under way)");
	printf("| frame | policy | portwarden | %s | floor ns | portwarden ns | over floor | %s ns | over floor | ratio |\n",
	       o->peer, o->peer);
	printf("|---|---|---|---|---:|---:|---:|---:|---:|---:|\n");
	for (size_t i = 0; i < n; i++) {
		struct frame_row *r = &rows[i];

		r->floor_ns = bench_median(r->floor_r, o->rounds);
		r->pw_ns = bench_median(r->pw_r, o->rounds);
		r->pw_over = bench_median_diff(r->pw_r, r->floor_r, o->rounds);
		r->peer_ns = bench_median(r->peer_r, o->rounds);
		r->peer_over = bench_median_diff(r->peer_r, r->floor_r, o->rounds);
		printf("| %s | %s | %s | %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1fx |\n",
		       r->flow->what, r->flow->allowed ? "allow" : "violation",
		       action_name(r->pw_action), action_name(r->peer_action),
		       r->floor_ns, r->pw_ns, r->pw_over, r->peer_ns,
		       r->peer_over,
		       r->pw_over > 0 ? r->peer_over / r->pw_over : 0);
		floor += r->floor_ns;
		pw += r->pw_ns;
		pw_over += r->pw_over;
		peer += r->peer_ns;
		peer_over += r->peer_over;
	}
	ratio = pw_over > 0 ? peer_over / pw_over : 0;
	printf("| **mean of the %zu frames** | | | | %.1f | %.1f | %.1f | %.1f | %.1f | %.1fx |\n",
	       n, floor / (double)n, pw / (double)n, pw_over / (double)n,
	       peer / (double)n, peer_over / (double)n, ratio);
	printf("\nratio = %s ns over floor / portwarden ns over floor.  "
	       "Target: portwarden at least %.0fx faster over the floor "
	       "(mean of the frames): %.1fx %s\n",
	       o->peer, PEERS_TARGET_RATIO, ratio,
	       ratio >= PEERS_TARGET_RATIO ? "PASS" : "MISS");
}

static int cmd_testrun(const struct peers_opts *o)
{
	struct frame_row rows[PEERS_MAX_FRAMES] = { 0 };
	struct bench_floor *floor = NULL;
	struct bench_pw pw = { 0 };
	struct pw_config cfg;
	int peer_fd = -1, err, cpu;
	struct host h;
	size_t n = bench_mix_len;

	if (n > PEERS_MAX_FRAMES || host_compile(o->profile, &h))
		return 1;
	if (bench_pin_cpu(&cpu))
		fprintf(stderr, "pw-peers: could not pin to a CPU; going on\n");
	floor = bench_floor__open_and_load();
	err = floor ? 0 : -errno;
	if (!err)
		err = bench_pw_load(&pw, &h.c);
	if (!err)
		err = bench_pw_set_mode(&pw, PW_MODE_ENFORCE);
	if (!err)
		err = pw_maps_get_config(&pw.maps, &cfg);
	if (!err) {
		peer_fd = bpf_prog_get_fd_by_id((__u32)o->prog_id);
		if (peer_fd < 0) {
			err = -errno;
			fprintf(stderr, "pw-peers: prog id %d: %s\n",
				o->prog_id, strerror(-err));
		}
	}
	if (!err)
		err = make_frames(&h, &cfg, o->tcp, pw.prog_fd, peer_fd, rows);
	for (int r = -1; r < o->rounds && !err; r++) {
		fprintf(stderr, "pw-peers: round %d of %d\n", r + 1, o->rounds);
		err = measure_round(rows, n,
				    bpf_program__fd(floor->progs.bench_pass),
				    pw.prog_fd, peer_fd,
				    r < 0 ? o->repeat / 10 + 1 : o->repeat, r);
	}
	if (!err)
		print_table(rows, n, o);
	else
		fprintf(stderr, "pw-peers: failed: %s\n", strerror(-err));
	if (peer_fd >= 0)
		close(peer_fd);
	bench_pw_destroy(&pw);
	bench_floor__destroy(floor);
	host_free(&h);
	return err ? 1 : 0;
}

/* -------------------------------------------------------------- main -- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: pw-peers rules --profile FILE\n"
		"       pw-peers testrun --profile FILE --prog-id ID [--peer NAME]\n"
		"                        [--tcp syn|ack] [--repeat N] [--rounds N]\n"
		"  rules     xdp-filter arguments (one command a line) nearest to\n"
		"            the host's ingress rules\n"
		"  testrun   floor, portwarden (enforce) and program ID on the\n"
		"            same frames; markdown table on stdout\n"
		"  --tcp syn|ack  TCP frames are SYNs (default) or ACKs\n"
		"  --repeat N  test-run repeat count (default 1000000)\n"
		"  --rounds N  rounds, median reported (default 5, max %d)\n",
		PEERS_MAX_ROUNDS);
}

static int parse_args(int argc, char **argv, struct peers_opts *o)
{
	static const struct option longopts[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "prog-id", required_argument, NULL, 'i' },
		{ "peer", required_argument, NULL, 'n' },
		{ "tcp", required_argument, NULL, 't' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "rounds", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int opt;

	*o = (struct peers_opts){ .prog_id = -1, .peer = "xdp-filter",
				  .repeat = 1000000, .rounds = 5 };
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			o->profile = optarg;
			break;
		case 'i':
			o->prog_id = atoi(optarg);
			break;
		case 'n':
			o->peer = optarg;
			break;
		case 't':
			if (strcmp(optarg, "syn") && strcmp(optarg, "ack"))
				return -EINVAL;
			o->tcp = strcmp(optarg, "syn") ? BENCH_MIX_ACK
						       : BENCH_MIX_SYN;
			break;
		case 'r':
			o->repeat = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'R':
			o->rounds = atoi(optarg);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -EINVAL;
		}
	}
	if (!o->profile || o->repeat == 0 || o->rounds < 1 ||
	    o->rounds > PEERS_MAX_ROUNDS)
		return -EINVAL;
	return 0;
}

int main(int argc, char **argv)
{
	struct peers_opts o;
	const char *cmd = argc > 1 ? argv[1] : "";

	if (parse_args(argc - 1, argv + 1, &o)) {
		usage(stderr);
		return 2;
	}
	libbpf_set_print(bench_libbpf_quiet);
	if (strcmp(cmd, "rules") == 0)
		return cmd_rules(&o);
	if (strcmp(cmd, "testrun") != 0 || o.prog_id < 0) {
		usage(stderr);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "pw-peers: needs root for BPF_PROG_TEST_RUN; skipped\n");
		return 77;
	}
	return cmd_testrun(&o);
}
