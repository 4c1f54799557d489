/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * bench_pick.h - benchmark only: give each test-run packet a random source.
 *
 * BPF_PROG_TEST_RUN repeats one packet.  To measure a lookup whose working
 * set is the whole inventory (cache misses included), the program under
 * test calls pw_bench_pick() first: it draws an entry of a source table at
 * random and writes it into the packet's IPv4 or IPv6 source address.  The
 * "spread floor" is a program that makes the same pick and nothing else, so
 * that cost over that floor is the cost of the program proper.
 *
 * The tables hold exactly the addresses to draw from; user space sizes them
 * (bpf_map__set_max_entries) and sets the counts in rodata before load.  A
 * count of 0 leaves packets of that family untouched.  IPv4 and IPv6 have
 * separate tables so that an IPv4 pick touches 4 bytes per entry, not 16:
 * the pick's own cache footprint should disturb the measured program as
 * little as possible.
 *
 * Never built into the product: only under -DPW_BENCH_SPREAD and in the
 * bench programs.
 */
#ifndef PW_BENCH_PICK_H
#define PW_BENCH_PICK_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct pw_bench_addr6 {
	__u8 addr[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* sized by the bench */
	__type(key, __u32);
	__type(value, __u32); /* IPv4 address, network order */
} pw_bench_src4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* sized by the bench */
	__type(key, __u32);
	__type(value, struct pw_bench_addr6);
} pw_bench_src6 SEC(".maps");

/* Entries in use in each table; set before load. */
const volatile __u32 pw_bench_n4 = 0;
const volatile __u32 pw_bench_n6 = 0;

/* Uniform index in [0, n) without a division: (rand * n) / 2^32. */
static __always_inline __u32 pw_bench_index(__u32 n)
{
	return ((__u64)bpf_get_prandom_u32() * n) >> 32;
}

static __always_inline void pw_bench_pick(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 idx;

	if ((void *)(eth + 1) > data_end)
		return;

	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		__u32 *a4;

		if ((void *)(ip + 1) > data_end || pw_bench_n4 == 0)
			return;
		idx = pw_bench_index(pw_bench_n4);
		a4 = bpf_map_lookup_elem(&pw_bench_src4, &idx);
		if (a4)
			ip->saddr = *a4;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		struct pw_bench_addr6 *a6;

		if ((void *)(ip6 + 1) > data_end || pw_bench_n6 == 0)
			return;
		idx = pw_bench_index(pw_bench_n6);
		a6 = bpf_map_lookup_elem(&pw_bench_src6, &idx);
		if (a6)
			__builtin_memcpy(&ip6->saddr, a6->addr, 16);
	}
}

#endif /* PW_BENCH_PICK_H */
