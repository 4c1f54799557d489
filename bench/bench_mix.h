/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * bench_mix.h - the traffic the peer benchmarks send to one host: the DB
 * host of the replication-manager example site (policies/profiles/
 * db-host.profile, 198.18.2.11 / 2001:db8:2::11), half of it allowed by
 * the policy and half of it violating it.
 *
 * pw-peers builds one frame per flow for BPF_PROG_TEST_RUN; pw-gen loads
 * the IPv4 flows into its generator, which varies the source address
 * (within the flow's span) and the source port frame by frame.
 */
#ifndef PW_BENCH_MIX_H
#define PW_BENCH_MIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench_gen.h"

/* The host under test: lab host db1. */
#define BENCH_MIX_DST4 "198.18.2.11"
#define BENCH_MIX_DST6 "2001:db8:2::11"

struct bench_mix_flow {
	const char *what;  /* "repman -> 3306/tcp" */
	int family;        /* 4 or 6 */
	const char *src;   /* first source address */
	uint32_t span;     /* IPv4: sources src .. src + span - 1 */
	uint8_t proto;     /* IPPROTO_TCP (a SYN) or IPPROTO_UDP */
	uint16_t dport;
	bool allowed;      /* what the policy says; checked against the oracle */
};

extern const struct bench_mix_flow bench_mix[];
extern const size_t bench_mix_len;

/* Frame bytes: Ethernet + IP + 20 bytes of L4, as bench_gen.bpf.c makes them. */
#define BENCH_MIX_FRAME_MAX (14 + 40 + GEN_L4_LEN)

/* What a TCP frame of the mix carries. */
enum bench_mix_tcp {
	BENCH_MIX_SYN, /* a connection attempt (what pw-gen sends) */
	BENCH_MIX_ACK, /* a segment of a connection under way */
};

/*
 * The frame of flow @f with its first source address and source port
 * 1024, checksums filled in, to @dst_mac from @src_mac.  Returns its
 * length, or -EINVAL for an address that does not parse.
 */
int bench_mix_frame(const struct bench_mix_flow *f, enum bench_mix_tcp tcp,
		    const uint8_t dst_mac[6], const uint8_t src_mac[6],
		    uint8_t *buf);

/* The generator's table entry of an IPv4 flow; -EINVAL for IPv6. */
int bench_mix_gen_flow(const struct bench_mix_flow *f, struct gen_flow *out);

#endif /* PW_BENCH_MIX_H */
