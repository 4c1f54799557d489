/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * bench_gen.h - what pw-gen (user) and bench_gen.bpf.c (generator) share:
 * the flow table's entry and the frame layout.
 */
#ifndef PW_BENCH_GEN_H
#define PW_BENCH_GEN_H

#include <linux/types.h>

#define GEN_MAX_FLOWS 64
#define GEN_L4_LEN 20 /* TCP header, or UDP header + 12 bytes of payload */
#define GEN_FRAME_LEN (14 + 20 + GEN_L4_LEN)

/*
 * Frame i of the run takes flow i % nflows; its source address is
 * saddr + (i / nflows) % span, its source port varies too.
 */
struct gen_flow {
	__u32 saddr; /* host order */
	__u32 span;  /* 0 or 1: always saddr */
	__u16 dport;
	__u8 proto;  /* IPPROTO_TCP (SYN) or IPPROTO_UDP */
	__u8 pad;
};

#endif /* PW_BENCH_GEN_H */
