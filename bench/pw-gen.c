// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * pw-gen - a packet generator on BPF_PROG_TEST_RUN with
 * BPF_F_TEST_XDP_LIVE_FRAMES (kernel 5.18+).
 *
 * bench_gen.bpf.c rewrites every frame into the next flow of the traffic
 * mix (bench_mix.c: IPv4 flows to the DB host, half allowed, half
 * violating), varying source address and port, and redirects it into a
 * veth: each repeat of the test run is a frame really transmitted to the
 * veth's peer.  Run it inside the namespace that holds the veth.
 *
 *   pw-gen --iface IF --dst-mac MAC [--seconds S] [--rate PPS] [--cpu N]
 *
 * --rate paces the frames inside the program (bpf_ktime_get_ns()): a
 * frame that would leave too early is dropped there instead, so that one
 * test run can last long (each one costs tens of milliseconds to set up,
 * which rules out pacing between short runs).
 *
 * Prints key=value lines: frames (redirected into the veth; whether the
 * peer took them is the peer's business: read its counters), seconds,
 * pps, held (frames dropped by the pacing), cpu_ns_per_frame (this
 * thread's CPU time per frame sent).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "bench_gen.h"
#include "bench_mix.h"
#include "bench_util.h"
#include "bench_gen.skel.h"

#define GEN_BATCH_MAX 256 /* the kernel's TEST_XDP_MAX_BATCH */

struct gen_opts {
	const char *iface;
	uint8_t dst_mac[6];
	double seconds;
	double rate;      /* frames per second; 0: as fast as it goes */
	uint32_t chunk;   /* frames per test run */
	uint32_t batch;   /* frames per redirect flush */
	uint32_t burst;   /* paced frames sent back to back */
	int cpu;          /* -1: leave as is */
};

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double thread_cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int iface_mac(const char *iface, uint8_t mac[6])
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), err = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", iface);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		err = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	return err;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned b[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4],
		   &b[5]) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

/* The IPv4 flows of the mix into the generator's table; their count. */
static int fill_flows(struct bench_gen *skel)
{
	int fd = bpf_map__fd(skel->maps.gen_flows);
	__u32 n = 0;

	for (size_t i = 0; i < bench_mix_len; i++) {
		struct gen_flow g;

		if (bench_mix[i].family != 4)
			continue;
		if (bench_mix_gen_flow(&bench_mix[i], &g) || n >= GEN_MAX_FLOWS)
			return -EINVAL;
		if (bpf_map_update_elem(fd, &n, &g, BPF_ANY))
			return -errno;
		n++;
	}
	return (int)n;
}

/* The first IPv4 flow's frame: the template the generator rewrites. */
static int template_frame(const struct gen_opts *o, uint8_t *buf)
{
	uint8_t src_mac[6];
	int err = iface_mac(o->iface, src_mac);

	if (err)
		return err;
	for (size_t i = 0; i < bench_mix_len; i++)
		if (bench_mix[i].family == 4)
			return bench_mix_frame(&bench_mix[i], BENCH_MIX_SYN,
					       o->dst_mac, src_mac, buf);
	return -ENOENT;
}

static int run(struct bench_gen *skel, const uint8_t *frame, int len,
	       const struct gen_opts *o)
{
	int prog_fd = bpf_program__fd(skel->progs.bench_gen);
	uint8_t data[BENCH_MIX_FRAME_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data,
		    .data_size_in = (__u32)len,
		    .flags = BPF_F_TEST_XDP_LIVE_FRAMES,
		    .batch_size = o->batch);
	double t0, c0, t, now;
	unsigned long long sent;

	memcpy(data, frame, (size_t)len);
	t0 = mono_s();
	c0 = thread_cpu_s();
	now = t0;
	while (now - t0 < o->seconds) {
		opts.repeat = o->chunk;
		if (bpf_prog_test_run_opts(prog_fd, &opts)) {
			int err = -errno;

			fprintf(stderr, "pw-gen: test run: %s\n", strerror(-err));
			return err;
		}
		now = mono_s();
	}
	t = now - t0;
	sent = skel->bss->gen_sent;
	printf("frames=%llu\n", sent);
	printf("seconds=%.6f\n", t);
	printf("pps=%.0f\n", (double)sent / t);
	printf("held=%llu\n", (unsigned long long)skel->bss->gen_held);
	printf("cpu_ns_per_frame=%.1f\n",
	       sent ? (thread_cpu_s() - c0) * 1e9 / (double)sent : 0);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: pw-gen --iface IF --dst-mac MAC [--seconds S] [--rate PPS]\n"
		"              [--chunk N] [--batch N] [--burst N] [--cpu N]\n"
		"  --iface IF     veth to transmit on (in this namespace)\n"
		"  --dst-mac MAC  the peer's MAC address\n"
		"  --seconds S    how long (default 5)\n"
		"  --rate PPS     offered load; 0 (default): as fast as it goes\n"
		"  --chunk N      frames per test run (default 1048576)\n"
		"  --batch N      frames per redirect flush, <= 256 (default 64)\n"
		"  --burst N      paced frames sent back to back, <= 128 (default 32)\n"
		"  --cpu N        pin to CPU N\n");
}

static int parse_args(int argc, char **argv, struct gen_opts *o)
{
	static const struct option longopts[] = {
		{ "iface", required_argument, NULL, 'i' },
		{ "dst-mac", required_argument, NULL, 'm' },
		{ "seconds", required_argument, NULL, 's' },
		{ "rate", required_argument, NULL, 'r' },
		{ "chunk", required_argument, NULL, 'n' },
		{ "batch", required_argument, NULL, 'b' },
		{ "burst", required_argument, NULL, 'B' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool have_mac = false;
	int opt;

	*o = (struct gen_opts){ .seconds = 5, .chunk = 1U << 20, .batch = 64,
				.burst = 32,
				.cpu = -1 };
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'i':
			o->iface = optarg;
			break;
		case 'm':
			if (parse_mac(optarg, o->dst_mac))
				return -EINVAL;
			have_mac = true;
			break;
		case 's':
			o->seconds = atof(optarg);
			break;
		case 'r':
			o->rate = atof(optarg);
			break;
		case 'n':
			o->chunk = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'b':
			o->batch = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'B':
			o->burst = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'c':
			o->cpu = atoi(optarg);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -EINVAL;
		}
	}
	if (!o->iface || !have_mac || o->seconds <= 0 || o->chunk == 0 ||
	    o->batch == 0 || o->batch > GEN_BATCH_MAX || o->burst == 0 ||
	    o->burst > GEN_BATCH_MAX / 2 || optind != argc)
		return -EINVAL;
	return 0;
}

static int pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

/* The generator, loaded with the mix's IPv4 flows; NULL on failure. */
static struct bench_gen *load_gen(unsigned ifindex, const struct gen_opts *o)
{
	struct bench_gen *skel = bench_gen__open();
	__u32 n = 0;
	int err;

	if (!skel)
		return NULL;
	for (size_t i = 0; i < bench_mix_len; i++)
		n += bench_mix[i].family == 4;
	skel->rodata->gen_ifindex = ifindex;
	skel->rodata->gen_nflows = n;
	skel->rodata->gen_burst = o->burst;
	skel->rodata->gen_interval_ns =
		o->rate > 0 ? (__u64)(1e9 * o->burst / o->rate) : 0;
	err = bench_gen__load(skel);
	if (!err)
		err = fill_flows(skel) == (int)n ? 0 : -EINVAL;
	if (err) {
		bench_gen__destroy(skel);
		errno = -err;
		return NULL;
	}
	return skel;
}

int main(int argc, char **argv)
{
	uint8_t frame[BENCH_MIX_FRAME_MAX];
	struct bench_gen *skel;
	struct gen_opts o;
	unsigned ifindex;
	int err, len;

	if (parse_args(argc, argv, &o)) {
		usage(stderr);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "pw-gen: needs root; skipped\n");
		return 77;
	}
	libbpf_set_print(bench_libbpf_quiet);
	ifindex = if_nametoindex(o.iface);
	if (!ifindex) {
		fprintf(stderr, "pw-gen: %s: no such interface here\n", o.iface);
		return 1;
	}
	if (o.cpu >= 0 && pin_cpu(o.cpu))
		fprintf(stderr, "pw-gen: could not pin to CPU %d\n", o.cpu);
	len = template_frame(&o, frame);
	if (len < 0) {
		fprintf(stderr, "pw-gen: template frame: %s\n", strerror(-len));
		return 1;
	}
	skel = load_gen(ifindex, &o);
	if (!skel) {
		fprintf(stderr, "pw-gen: loading the generator: %s\n",
			strerror(errno));
		return 1;
	}
	printf("flows=%u\n", skel->rodata->gen_nflows);
	err = run(skel, frame, len, &o);
	bench_gen__destroy(skel);
	return err ? 1 : 0;
}
