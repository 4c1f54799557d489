// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The floor of the egress benchmark: a tc program that lets everything
 * through.  What BPF_PROG_TEST_RUN costs for an skb with no work in it.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int bench_floor_tc(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
