// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * LPM-trie baseline for pw-bench: the plain design portwarden is compared
 * against.  Source address -> role through a kernel LPM trie, then a per-CPU
 * counter per role.  No port lookup, no verdict: the baseline does less work
 * than portwarden, so the comparison can only flatter the baseline.
 *
 * Built twice: as is (hot cases) and with -DPW_BENCH_SPREAD, where the
 * random source pick of bench_pick.h runs first (spread cases).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "portwarden.h"

#ifdef PW_BENCH_SPREAD
#include "bench_pick.h"
#endif

struct bench_lpm_v4_key {
	__u32 prefixlen;
	__u8 addr[4];
};

struct bench_lpm_v6_key {
	__u32 prefixlen;
	__u8 addr[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1); /* sized by the bench */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct bench_lpm_v4_key);
	__type(value, __u32); /* role id */
} bench_lpm_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1); /* sized by the bench */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct bench_lpm_v6_key);
	__type(value, __u32); /* role id */
} bench_lpm_v6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PW_MAX_ROLES);
	__type(key, __u32);
	__type(value, struct pw_counter);
} bench_lpm_counters SEC(".maps");

static __always_inline __u32 lookup_v4(struct iphdr *ip)
{
	struct bench_lpm_v4_key key = { .prefixlen = 32 };
	__u32 *role;

	__builtin_memcpy(key.addr, &ip->saddr, 4);
	role = bpf_map_lookup_elem(&bench_lpm_v4, &key);
	return role ? *role : PW_ROLE_UNKNOWN;
}

static __always_inline __u32 lookup_v6(struct ipv6hdr *ip6)
{
	struct bench_lpm_v6_key key = { .prefixlen = 128 };
	__u32 *role;

	__builtin_memcpy(key.addr, &ip6->saddr, 16);
	role = bpf_map_lookup_elem(&bench_lpm_v6, &key);
	return role ? *role : PW_ROLE_UNKNOWN;
}

SEC("xdp")
int bench_lpm(struct xdp_md *ctx)
{
	void *data, *data_end;
	struct ethhdr *eth;
	struct pw_counter *c;
	__u32 role;

#ifdef PW_BENCH_SPREAD
	pw_bench_pick(ctx);
#endif
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;

	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end)
			return XDP_PASS;
		role = lookup_v4(ip);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end)
			return XDP_PASS;
		role = lookup_v6(ip6);
	} else {
		return XDP_PASS;
	}

	c = bpf_map_lookup_elem(&bench_lpm_counters, &role);
	if (c) {
		c->packets++;
		c->bytes += data_end - data;
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
