/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * pktbuild.h - build Ethernet frames for packet tests.
 *
 * Headers are pushed outermost first.  Each push writes the header and
 * fills the previous header's "next" field (EtherType, IPv4 protocol, IPv6
 * next header) with its own type, so a frame reads naturally:
 *
 *	pb_init(&p);
 *	pb_eth(&p);
 *	pb_vlan(&p, PB_ETH_P_8021Q, 10);
 *	pb_ipv6(&p, src, dst);
 *	pb_v6_ext(&p, PB_V6_HOP, 8);
 *	pb_tcp(&p, 40000, 3306);
 *	pb_finish(&p);
 *
 * Every header start is recorded as a boundary (p.mark[]), so tests can cut
 * the frame at each boundary, or one byte short of it, with pb_truncate().
 * All functions abort() on overflow: a test that builds a bad frame is a
 * broken test.
 */
#ifndef PW_PKTBUILD_H
#define PW_PKTBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PB_MAX 4096
#define PB_MAX_MARKS 32

#define PB_ETH_P_IPV4 0x0800
#define PB_ETH_P_IPV6 0x86DD
#define PB_ETH_P_ARP 0x0806
#define PB_ETH_P_8021Q 0x8100
#define PB_ETH_P_8021AD 0x88A8

#define PB_V6_HOP 0
#define PB_V6_ROUTING 43
#define PB_V6_FRAGMENT 44
#define PB_V6_AH 51
#define PB_V6_DSTOPTS 60

/* TCP flags (byte 13 of the header) */
#define PB_TCP_FIN 0x01
#define PB_TCP_SYN 0x02
#define PB_TCP_RST 0x04
#define PB_TCP_PSH 0x08
#define PB_TCP_ACK 0x10

/* ICMP and ICMPv6 echo types */
#define PB_ICMP_ECHO_REPLY 0
#define PB_ICMP_ECHO_REQUEST 8
#define PB_ICMP6_ECHO_REQUEST 128
#define PB_ICMP6_ECHO_REPLY 129

enum pb_next_kind {
	PB_NEXT_NONE = 0,
	PB_NEXT_ETHERTYPE, /* a 16-bit EtherType field */
	PB_NEXT_PROTO,     /* an 8-bit IP protocol / next header field */
};

enum pb_hdr {
	PB_H_ETH, PB_H_VLAN, PB_H_IPV4, PB_H_IPV6, PB_H_V6EXT, PB_H_L4,
	PB_H_ARP, PB_H_PAYLOAD,
};

struct pb {
	uint8_t buf[PB_MAX];
	size_t len;
	/* header starts, in push order, and what each header is */
	size_t mark[PB_MAX_MARKS];
	enum pb_hdr mark_hdr[PB_MAX_MARKS];
	int nmarks;
	/* the field the next push fills with its type */
	size_t next_off;
	enum pb_next_kind next_kind;
	/* for pb_finish: length fields to fix */
	size_t ipv4_off, ipv6_off, udp_off;
	bool has_ipv4, has_ipv6, has_udp;
	/* the last L4 header pushed, for pb_tcp_flags() and pb_icmp_echo() */
	size_t l4_off;
	uint8_t l4_proto;
};

void pb_init(struct pb *p);

/* Ethernet header; the EtherType is filled by the next push. */
void pb_eth(struct pb *p);
/* An 802.1Q/802.1ad tag; @tpid goes into the previous type field. */
void pb_vlan(struct pb *p, uint16_t tpid, uint16_t vid);

/* IPv4 with @optlen bytes of options (multiple of 4, 0..40, NOPs and EOL). */
void pb_ipv4_opts(struct pb *p, const uint8_t src[4], const uint8_t dst[4],
		  size_t optlen);
static inline void pb_ipv4(struct pb *p, const uint8_t src[4],
			   const uint8_t dst[4])
{
	pb_ipv4_opts(p, src, dst, 0);
}
/* Fragment fields of the last IPv4 header: offset in 8-byte units, MF. */
void pb_ipv4_frag(struct pb *p, uint16_t offset8, bool more);

void pb_ipv6(struct pb *p, const uint8_t src[16], const uint8_t dst[16]);
/*
 * An IPv6 extension header of type @type (hop, routing, dstopts: @len a
 * multiple of 8, >= 8; AH: @len a multiple of 4, >= 12).  Its length
 * byte is derived from @len.
 */
void pb_v6_ext(struct pb *p, uint8_t type, size_t len);
/* Fragment header with offset in 8-byte units and the M flag. */
void pb_v6_frag(struct pb *p, uint16_t offset8, bool more);

/* A TCP header with only SYN set; pb_tcp_flags() changes that. */
void pb_tcp(struct pb *p, uint16_t sport, uint16_t dport);
/* Set the flags byte of the last header, which must be TCP. */
void pb_tcp_flags(struct pb *p, uint8_t flags);
void pb_udp(struct pb *p, uint16_t sport, uint16_t dport);
void pb_sctp(struct pb *p, uint16_t sport, uint16_t dport);
void pb_icmp(struct pb *p, uint8_t type, uint8_t code);
void pb_icmp6(struct pb *p, uint8_t type, uint8_t code);
/*
 * An echo request or reply of the family's ICMP (@v6: ICMPv6) with
 * identifier @id and sequence number @seq.
 */
void pb_icmp_echo(struct pb *p, bool v6, uint8_t type, uint16_t id,
		  uint16_t seq);
/* @n bytes of header for any other IP protocol @proto (filled with @fill). */
void pb_l4_raw(struct pb *p, uint8_t proto, size_t n, uint8_t fill);

void pb_arp(struct pb *p);
/* Sets the pending type field to @type (any EtherType or protocol). */
void pb_set_next(struct pb *p, uint16_t type);
/* @n bytes of payload (a recognisable pattern). */
void pb_payload(struct pb *p, size_t n);
/* Raw bytes appended as-is (no type field is filled). */
void pb_bytes(struct pb *p, const void *data, size_t n);

/* Fix IP/UDP length fields and the IPv4 header checksum. */
void pb_finish(struct pb *p);

/* Cut the frame to @len bytes (len <= current length). */
void pb_truncate(struct pb *p, size_t len);

/* Address helpers for tests: parse text, abort() on error. */
void pb_addr4(const char *s, uint8_t out[4]);
void pb_addr6(const char *s, uint8_t out[16]);

/* Hex dump of @len bytes into @out (size >= 3*len+1); returns @out. */
char *pb_hex(const uint8_t *b, size_t len, char *out);

#endif /* PW_PKTBUILD_H */
