// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Packet generator of pw-gen: run by BPF_PROG_TEST_RUN with
 * BPF_F_TEST_XDP_LIVE_FRAMES, it rewrites each frame into the next flow
 * of a table and redirects it into a veth, so that every repeat is a frame
 * really transmitted to the peer namespace.
 *
 * The frame is Ethernet + IPv4 + 20 bytes of L4 (a TCP SYN, or a UDP
 * header and 12 bytes of payload).  The user fills the Ethernet header,
 * the IPv4 header's fixed fields and the destination; this program writes
 * the protocol, source address, ports and both checksums, computed from
 * scratch over the frame as it is, so it does not matter whether the
 * kernel handed us a fresh copy of the template or a recycled frame.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bench_gen.h"

const volatile __u32 gen_ifindex;   /* the veth to transmit on */
const volatile __u32 gen_nflows = 1; /* entries of gen_flows in use */
const volatile __u64 gen_interval_ns; /* pacing: ns between bursts; 0: none */
const volatile __u32 gen_burst = 1;   /* frames per burst */

/*
 * Pacing state and what happened to the frames.  One test run runs on one
 * CPU, and pw-gen runs one at a time, so plain globals do.
 */
__u64 gen_next_ns;  /* the next burst may leave at this time */
__u32 gen_left;     /* frames of the current burst still to go */
__u64 gen_sent;     /* frames redirected */
__u64 gen_held;     /* frames dropped here to keep the rate */

/* After a gap (the time between two test runs), catch up this many
 * bursts at most: what is sent at once must fit the veth's ring of 256. */
#define GEN_CATCH_UP 2

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GEN_MAX_FLOWS);
	__type(key, __u32);
	__type(value, struct gen_flow);
} gen_flows SEC(".maps");

/* [0]: frames generated so far on this CPU (drives the flow choice) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} gen_seq SEC(".maps");

static __always_inline __u32 fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

/* One's-complement sum of @n 16-bit words at @p (bounds checked by caller). */
static __always_inline __u32 sum16(const __u16 *p, int n, __u32 sum)
{
#pragma unroll
	for (int i = 0; i < n; i++)
		sum += p[i];
	return sum;
}

static __always_inline void fill_l4(void *l4, const struct gen_flow *f,
				    __u16 sport, __u64 seq)
{
	if (f->proto == IPPROTO_TCP) {
		struct tcphdr *tcp = l4;

		tcp->source = bpf_htons(sport);
		tcp->dest = bpf_htons(f->dport);
		tcp->seq = bpf_htonl((__u32)seq);
		tcp->ack_seq = 0;
		/* doff 5, SYN only */
		((__u16 *)tcp)[6] = bpf_htons(5 << 12 | 0x02);
		tcp->window = bpf_htons(64240);
		tcp->check = 0;
		tcp->urg_ptr = 0;
	} else {
		struct udphdr *udp = l4;

		udp->source = bpf_htons(sport);
		udp->dest = bpf_htons(f->dport);
		udp->len = bpf_htons(GEN_L4_LEN);
		udp->check = 0;
	}
}

/*
 * Whether the frame may leave now: bursts of gen_burst frames back to back
 * (they reach the peer in one or two flushes, as a NIC that coalesces its
 * interrupts would deliver them), gen_interval_ns apart.
 */
static __always_inline int gen_pace(void)
{
	__u64 now;

	if (!gen_interval_ns)
		return 1;
	if (gen_left) {
		gen_left--;
		return 1;
	}
	now = bpf_ktime_get_ns();
	if (now < gen_next_ns)
		return 0;
	if (now - gen_next_ns > GEN_CATCH_UP * gen_interval_ns)
		gen_next_ns = now - GEN_CATCH_UP * gen_interval_ns;
	gen_next_ns += gen_interval_ns;
	gen_left = gen_burst - 1;
	return 1;
}

SEC("xdp")
int bench_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	void *l4 = (void *)(ip + 1);
	struct gen_flow *f;
	__u32 key = 0, idx, n, sum;
	__u64 *seq, s;
	__u16 sport;

	if (l4 + GEN_L4_LEN > data_end)
		return XDP_ABORTED;
	if (!gen_pace()) {
		gen_held++;
		return XDP_DROP;
	}
	seq = bpf_map_lookup_elem(&gen_seq, &key);
	if (!seq)
		return XDP_ABORTED;
	s = (*seq)++;
	idx = (__u32)(s % gen_nflows);
	n = (__u32)(s / gen_nflows);
	f = bpf_map_lookup_elem(&gen_flows, &idx);
	if (!f)
		return XDP_ABORTED;

	/* a new source address (within the flow's span) and port each time */
	ip->protocol = f->proto;
	ip->saddr = bpf_htonl(f->saddr + (f->span ? n % f->span : 0));
	ip->check = 0;
	ip->check = (__u16)~fold(sum16((__u16 *)ip, 10, 0));
	sport = (__u16)(1024 + n % 64000);
	fill_l4(l4, f, sport, s);

	/* L4 checksum: pseudo header + the 20 bytes of L4 */
	sum = sum16((__u16 *)&ip->saddr, 4, 0);
	sum += bpf_htons(f->proto) + bpf_htons(GEN_L4_LEN);
	sum = (__u16)~fold(sum16(l4, GEN_L4_LEN / 2, sum));
	if (f->proto == IPPROTO_TCP)
		((struct tcphdr *)l4)->check = (__u16)sum;
	else
		((struct udphdr *)l4)->check = sum ? (__u16)sum : 0xffff;
	gen_sent++;
	return bpf_redirect(gen_ifindex, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
