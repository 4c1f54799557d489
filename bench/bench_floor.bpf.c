// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Floors for pw-bench: what a test run costs when the program does nothing
 * (hot cases), or nothing but the random source pick (spread cases).
 * Cost over these floors is the cost of the program under test.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "bench_pick.h"

SEC("xdp")
int bench_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int bench_pick(struct xdp_md *ctx)
{
	pw_bench_pick(ctx);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
