/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * parse.h - bounds-checked header parsing for the portwarden programs.
 *
 * Header-only and hook-agnostic: every function works on a (data, data_end)
 * pair, so the XDP ingress program and the tc egress program share one parse
 * path.  Each step returns an enum pw_reason: PW_REASON_CLASSIFIED (0) means
 * "parsed, go on", anything else is the counter the frame ends up in.  The
 * steps follow docs/datapath-spec (notes) to the letter, because a plain-C
 * reference classifier implements the same text and is compared against
 * this code packet by packet.
 *
 * Every access is preceded by an explicit "pointer + size > data_end" test
 * on the very pointer that is then dereferenced: that is the shape the
 * verifier understands, and it keeps each check next to its read.
 */
#ifndef PW_PARSE_H
#define PW_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "portwarden.h"

#define PW_ETH_HLEN 14
#define PW_VLAN_HLEN 4
#define PW_IPV4_MIN_HLEN 20
#define PW_IPV6_HLEN 40

/* IPv6 extension headers the walk steps over (RFC 8200 section 4). */
#define PW_NH_HOPOPTS 0
#define PW_NH_ROUTING 43
#define PW_NH_FRAGMENT 44
#define PW_NH_AH 51
#define PW_NH_DSTOPTS 60

/*
 * What the parser found; only meaningful when it returned CLASSIFIED.
 * The addresses are copied out of the packet by the family's own parser:
 * code after the parse then never needs a packet read that depends on the
 * family, which the verifier could not tie back to the right bounds check.
 * Fields a program does not use cost nothing (the struct lives in
 * registers once everything is inlined).
 */
struct pw_hdrs {
	void *l3;         /* IPv4 or IPv6 header */
	void *l4;         /* first byte after the IP header chain */
	__be16 l3_proto;  /* bpf_htons(ETH_P_IP) or bpf_htons(ETH_P_IPV6) */
	__u8 ip_proto;    /* L4 protocol number */
	__u8 proto_idx;   /* enum pw_proto_idx; PW_NPROTO: not parsed */
	__u16 sport;      /* host order; ICMP echo: the identifier; else 0 for
			   * ICMP and unparsed protocols */
	__u16 dport;      /* host order; ICMP/ICMPv6: the message type */
	__u8 tcp_flags;   /* TCP: the flags byte (FIN 0x01, SYN 0x02, RST 0x04,
			   * ACK 0x10); 0 for other protocols */
	__be32 saddr[4];  /* network order; IPv4 uses saddr[0] only */
	__be32 daddr[4];
};

/* true when the @n bytes at @p are not all inside the frame */
static __always_inline int pw_short(const void *p, __u32 n,
				    const void *data_end)
{
	return (const __u8 *)p + n > (const __u8 *)data_end;
}

static __always_inline int pw_is_vlan(__be16 proto)
{
	return proto == bpf_htons(ETH_P_8021Q) ||
	       proto == bpf_htons(ETH_P_8021AD);
}

/*
 * Ethernet plus up to PW_MAX_VLAN 802.1Q/802.1ad tags.  On success *l3
 * points after the last tag and *proto is the inner ethertype.
 */
static __always_inline int pw_parse_eth(void *data, void *data_end,
					void **l3, __be16 *proto)
{
	void *pos = data + PW_ETH_HLEN;
	__be16 type;
	int i;

	if (pw_short(data, PW_ETH_HLEN, data_end))
		return PW_REASON_TRUNC_L2;
	/* not struct ethhdr: it is packed, and clang would then read the
	 * type a byte at a time */
	type = *(__be16 *)(data + 12);

	/* unrolled: no loop on the IPv4 path */
#pragma unroll
	for (i = 0; i < PW_MAX_VLAN; i++) {
		if (!pw_is_vlan(type))
			break;
		if (pw_short(pos, PW_VLAN_HLEN, data_end))
			return PW_REASON_TRUNC_L2;
		/* tag: TCI (2 bytes), then the encapsulated ethertype */
		type = *(__be16 *)(pos + 2);
		pos += PW_VLAN_HLEN;
	}
	if (pw_is_vlan(type))
		return PW_REASON_VLAN_TOO_DEEP;

	*l3 = pos;
	*proto = type;
	return PW_REASON_CLASSIFIED;
}

/* IPv4 header with options; non-first fragments stop here. */
static __always_inline int pw_parse_ipv4(void *l3, void *data_end,
					 struct pw_hdrs *h)
{
	__u8 *b = l3;
	__u32 hlen;

	if (pw_short(b, PW_IPV4_MIN_HLEN, data_end))
		return PW_REASON_TRUNC_L3;
	/* byte 0 is version (high nibble) and IHL (low nibble) */
	if ((b[0] >> 4) != 4 || (b[0] & 0xf) < 5)
		return PW_REASON_BAD_L3;
	hlen = (b[0] & 0xf) * 4;
	if (pw_short(b, hlen, data_end))
		return PW_REASON_TRUNC_L3;
	/* fragment offset: low 13 bits of bytes 6-7; MF with offset 0 is
	 * a first fragment and carries the L4 header */
	if (*(__be16 *)(b + 6) & bpf_htons(0x1fff))
		return PW_REASON_FRAG_NONFIRST;

	h->ip_proto = b[9];
	h->saddr[0] = *(__be32 *)(b + 12);
	h->daddr[0] = *(__be32 *)(b + 16);
	h->l4 = b + hlen;
	return PW_REASON_CLASSIFIED;
}

/*
 * Largest offset of an L4 header from the start of the IPv6 header that
 * the walk can produce: 40 + PW_MAX_EXTHDR * 2048 = 12328, below 0x4000.
 */
#define PW_IPV6_WALK_MASK 0x3fffU
_Static_assert(PW_IPV6_HLEN + PW_MAX_EXTHDR * 2048 <= PW_IPV6_WALK_MASK,
	       "the walk's offsets must fit the mask");

/*
 * @off as a value the verifier knows only as "below 0x4000".  Every path
 * through the extension header walk leaves @off with its own exact range,
 * and the verifier would check all that follows once per range (tens of
 * thousands of instructions).  The distance between two packet pointers is
 * an unknown scalar to the verifier, the same on every path, so the states
 * merge.  The mask never changes the value (see PW_IPV6_WALK_MASK); the
 * empty asm only stops the compiler from folding (b + off) - b back to off.
 */
static __always_inline __u32 pw_walk_offset(__u8 *base, __u32 off)
{
	__u8 *p = base + off;

	asm volatile("" : "+r"(p));
	return (__u64)(p - base) & PW_IPV6_WALK_MASK;
}

static __always_inline int pw_is_ipv6_exthdr(__u8 nh)
{
	return nh == PW_NH_HOPOPTS || nh == PW_NH_ROUTING ||
	       nh == PW_NH_FRAGMENT || nh == PW_NH_AH || nh == PW_NH_DSTOPTS;
}

/*
 * IPv6 header and at most PW_MAX_EXTHDR extension headers.  @off is kept
 * opaque to the verifier between steps, see pw_walk_offset().
 */
static __always_inline int pw_parse_ipv6(void *l3, void *data_end,
					 struct pw_hdrs *h)
{
	__u8 *b = l3;
	__u32 off = PW_IPV6_HLEN;
	__u8 nh;
	int i;

	if (pw_short(b, PW_IPV6_HLEN, data_end))
		return PW_REASON_TRUNC_L3;
	if ((b[0] >> 4) != 6)
		return PW_REASON_BAD_L3;
	nh = b[6];
	for (i = 0; i < 4; i++) {
		h->saddr[i] = *(__be32 *)(b + 8 + 4 * i);
		h->daddr[i] = *(__be32 *)(b + 24 + 4 * i);
	}

	for (i = 0; i < PW_MAX_EXTHDR; i++) {
		__u8 *x = b + off;

		if (!pw_is_ipv6_exthdr(nh))
			break;
		if (nh == PW_NH_FRAGMENT) {
			if (pw_short(x, 8, data_end))
				return PW_REASON_TRUNC_L4;
			/* fragment offset: the top 13 bits of bytes 2-3 */
			if (*(__be16 *)(x + 2) & bpf_htons(0xfff8))
				return PW_REASON_FRAG_NONFIRST;
			nh = x[0];
			off = pw_walk_offset(b, off + 8);
			continue;
		}
		if (pw_short(x, 2, data_end))
			return PW_REASON_TRUNC_L4;
		/* AH counts its length in 4-byte units minus 2, the options
		 * and routing headers in 8-byte units minus 1 */
		if (nh == PW_NH_AH)
			off += ((__u32)x[1] + 2) * 4;
		else
			off += ((__u32)x[1] + 1) * 8;
		off = pw_walk_offset(b, off);
		nh = x[0];
	}
	if (pw_is_ipv6_exthdr(nh))
		return PW_REASON_EXTHDR_TOO_DEEP;

	h->ip_proto = nh;
	h->l4 = b + off;
	return PW_REASON_CLASSIFIED;
}

/* ICMP and ICMPv6 echo request and reply types */
#define PW_ICMP_ECHO_REPLY 0
#define PW_ICMP_ECHO_REQUEST 8
#define PW_ICMPV6_ECHO_REQUEST 128
#define PW_ICMPV6_ECHO_REPLY 129

static __always_inline int pw_is_echo_request(__u8 proto, __u32 type)
{
	return proto == PW_IPPROTO_ICMP ? type == PW_ICMP_ECHO_REQUEST :
					  type == PW_ICMPV6_ECHO_REQUEST;
}

static __always_inline int pw_is_echo_reply(__u8 proto, __u32 type)
{
	return proto == PW_IPPROTO_ICMP ? type == PW_ICMP_ECHO_REPLY :
					  type == PW_ICMPV6_ECHO_REPLY;
}

static __always_inline int pw_is_echo(__u8 proto, __u32 type)
{
	return pw_is_echo_request(proto, type) || pw_is_echo_reply(proto, type);
}

/*
 * The L4 header, chosen by protocol number whatever the IP family.  A
 * protocol we do not parse is not an error: it is judged as an unnamed
 * port 0 (proto_idx PW_NPROTO).
 */
static __always_inline int pw_parse_l4(void *data_end, struct pw_hdrs *h)
{
	__u8 *b = h->l4;

	h->sport = 0;
	h->dport = 0;
	h->tcp_flags = 0;
	h->proto_idx = PW_NPROTO;

	switch (h->ip_proto) {
	case PW_IPPROTO_TCP:
		if (pw_short(b, 20, data_end))
			return PW_REASON_TRUNC_L4;
		h->sport = bpf_ntohs(*(__be16 *)b);
		h->dport = bpf_ntohs(*(__be16 *)(b + 2));
		h->tcp_flags = b[13];
		h->proto_idx = PW_P_TCP;
		break;
	case PW_IPPROTO_UDP:
		if (pw_short(b, 8, data_end))
			return PW_REASON_TRUNC_L4;
		h->sport = bpf_ntohs(*(__be16 *)b);
		h->dport = bpf_ntohs(*(__be16 *)(b + 2));
		h->proto_idx = PW_P_UDP;
		break;
	case PW_IPPROTO_SCTP:
		if (pw_short(b, 12, data_end))
			return PW_REASON_TRUNC_L4;
		h->sport = bpf_ntohs(*(__be16 *)b);
		h->dport = bpf_ntohs(*(__be16 *)(b + 2));
		h->proto_idx = PW_P_SCTP;
		break;
	case PW_IPPROTO_ICMP:
		if (pw_short(b, 8, data_end))
			return PW_REASON_TRUNC_L4;
		/* destination unreachable / fragmentation needed */
		if (b[0] == 3 && b[1] == 4)
			return PW_REASON_ICMP_PMTU;
		h->dport = b[0];
		if (pw_is_echo(PW_IPPROTO_ICMP, b[0]))
			h->sport = bpf_ntohs(*(__be16 *)(b + 4));
		h->proto_idx = PW_P_ICMP;
		break;
	case PW_IPPROTO_ICMPV6:
		if (pw_short(b, 8, data_end))
			return PW_REASON_TRUNC_L4;
		if (b[0] == 2) /* packet too big */
			return PW_REASON_ICMP_PMTU;
		/* neighbour discovery (133-137) and multicast listener
		 * discovery (130-132, 143): without them IPv6 stops working
		 * on the link, whatever the policy says */
		if ((b[0] >= 130 && b[0] <= 137) || b[0] == 143)
			return PW_REASON_NDP;
		h->dport = b[0];
		if (pw_is_echo(PW_IPPROTO_ICMPV6, b[0]))
			h->sport = bpf_ntohs(*(__be16 *)(b + 4));
		h->proto_idx = PW_P_ICMPV6;
		break;
	default:
		break;
	}
	return PW_REASON_CLASSIFIED;
}

/*
 * ICMP errors that quote the packet they answer: destination unreachable,
 * time exceeded, parameter problem (ICMPv6 1, 3, 4).  PMTU messages never
 * get here: they pass under their own reason.
 */
static __always_inline int pw_is_icmp_error(__u8 proto, __u32 type)
{
	if (proto == PW_IPPROTO_ICMP)
		return type == 3 || type == 11 || type == 12;
	return type == 1 || type == 3 || type == 4;
}

/*
 * The flow key of the packet that ICMP error @h quotes, from the host's
 * side: on ingress the host sent that packet (its source is local), on
 * egress the host received it.  The quote is its IP header (same family;
 * IPv6 without extension headers) and the 8 bytes after it, which hold
 * the ports (RFC 792 and 4443 promise at least that much).  Returns 1
 * when they are all there and the protocol is one that flows track; @k
 * must be zeroed.
 */
static __always_inline int pw_quoted_key(const struct pw_hdrs *h,
					 void *data_end, int ingress,
					 struct pw_flow_key *k)
{
	__u8 *b = (__u8 *)h->l4 + 8, *l4;
	__u32 *src = ingress ? k->local : k->remote;
	__u32 *dst = ingress ? k->remote : k->local;
	__u16 sport, dport;
	int i;

	if (h->l3_proto == bpf_htons(ETH_P_IP)) {
		if (pw_short(b, PW_IPV4_MIN_HLEN, data_end) ||
		    (b[0] >> 4) != 4 || (b[0] & 0xf) < 5)
			return 0;
		k->proto = b[9];
		k->family = 4;
		src[0] = *(__be32 *)(b + 12);
		dst[0] = *(__be32 *)(b + 16);
		l4 = b + (b[0] & 0xf) * 4;
	} else {
		if (pw_short(b, PW_IPV6_HLEN, data_end) || (b[0] >> 4) != 6)
			return 0;
		k->proto = b[6];
		k->family = 6;
		for (i = 0; i < 4; i++) {
			src[i] = *(__be32 *)(b + 8 + 4 * i);
			dst[i] = *(__be32 *)(b + 24 + 4 * i);
		}
		l4 = b + PW_IPV6_HLEN;
	}
	if (pw_short(l4, 8, data_end))
		return 0;
	if (k->proto == PW_IPPROTO_TCP || k->proto == PW_IPPROTO_UDP ||
	    k->proto == PW_IPPROTO_SCTP) {
		sport = bpf_ntohs(*(__be16 *)l4);
		dport = bpf_ntohs(*(__be16 *)(l4 + 2));
		k->lport = ingress ? sport : dport;
		k->rport = ingress ? dport : sport;
		return 1;
	}
	/* an echo request that went unanswered: keyed by its identifier */
	if (k->proto == h->ip_proto && pw_is_echo_request(k->proto, l4[0])) {
		k->lport = bpf_ntohs(*(__be16 *)(l4 + 4));
		return 1;
	}
	return 0;
}

/*
 * The whole parse: Ethernet, VLANs, IPv4/IPv6, L4.  Returns
 * PW_REASON_CLASSIFIED when @h describes a frame to judge, else the reason
 * the frame is counted under (ARP, non-IP, truncations, ...).
 */
static __always_inline int pw_parse_frame(void *data, void *data_end,
					  struct pw_hdrs *h)
{
	int reason;

	reason = pw_parse_eth(data, data_end, &h->l3, &h->l3_proto);
	if (reason != PW_REASON_CLASSIFIED)
		return reason;

	if (h->l3_proto == bpf_htons(ETH_P_IP))
		reason = pw_parse_ipv4(h->l3, data_end, h);
	else if (h->l3_proto == bpf_htons(ETH_P_IPV6))
		reason = pw_parse_ipv6(h->l3, data_end, h);
	else if (h->l3_proto == bpf_htons(ETH_P_ARP))
		return PW_REASON_ARP;
	else
		return PW_REASON_NON_IP;
	if (reason != PW_REASON_CLASSIFIED)
		return reason;

	return pw_parse_l4(data_end, h);
}

#endif /* PW_PARSE_H */
