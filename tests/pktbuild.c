// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * pktbuild.c - Ethernet frame builder for packet tests (see pktbuild.h).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pktbuild.h"

static void die(const char *what)
{
	fprintf(stderr, "pktbuild: %s\n", what);
	abort();
}

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = v >> 8;
	b[1] = v & 0xff;
}

void pb_init(struct pb *p)
{
	memset(p, 0, sizeof(*p));
}

/* Reserve @n zeroed bytes for a header of kind @hdr; returns its start. */
static uint8_t *push(struct pb *p, size_t n, enum pb_hdr hdr)
{
	uint8_t *h;

	if (n > PB_MAX - p->len)
		die("frame too long");
	if (p->nmarks == PB_MAX_MARKS)
		die("too many headers");
	p->mark[p->nmarks] = p->len;
	p->mark_hdr[p->nmarks++] = hdr;
	h = p->buf + p->len;
	memset(h, 0, n);
	p->len += n;
	return h;
}

void pb_set_next(struct pb *p, uint16_t type)
{
	switch (p->next_kind) {
	case PB_NEXT_ETHERTYPE:
		put16(p->buf + p->next_off, type);
		break;
	case PB_NEXT_PROTO:
		p->buf[p->next_off] = (uint8_t)type;
		break;
	default:
		break;
	}
}

static void expect_next(struct pb *p, size_t off, enum pb_next_kind kind)
{
	p->next_off = off;
	p->next_kind = kind;
}

void pb_eth(struct pb *p)
{
	uint8_t *h = push(p, 14, PB_H_ETH);

	memcpy(h, "\x02\x00\x5e\x00\x00\x01", 6);
	memcpy(h + 6, "\x02\x00\x5e\x00\x00\x02", 6);
	expect_next(p, p->len - 2, PB_NEXT_ETHERTYPE);
}

void pb_vlan(struct pb *p, uint16_t tpid, uint16_t vid)
{
	uint8_t *h;

	pb_set_next(p, tpid);
	h = push(p, 4, PB_H_VLAN);
	put16(h, vid & 0x0fff);
	expect_next(p, p->len - 2, PB_NEXT_ETHERTYPE);
}

void pb_ipv4_opts(struct pb *p, const uint8_t src[4], const uint8_t dst[4],
		  size_t optlen)
{
	uint8_t *h;

	if (optlen % 4 || optlen > 40)
		die("bad IPv4 option length");
	pb_set_next(p, PB_ETH_P_IPV4);
	h = push(p, 20 + optlen, PB_H_IPV4);
	h[0] = (uint8_t)(0x40 | (5 + optlen / 4));
	h[8] = 64;
	memcpy(h + 12, src, 4);
	memcpy(h + 16, dst, 4);
	/* options: NOPs, then an end-of-list */
	if (optlen) {
		memset(h + 20, 1, optlen - 1);
		h[20 + optlen - 1] = 0;
	}
	p->ipv4_off = p->len - 20 - optlen;
	p->has_ipv4 = true;
	expect_next(p, p->ipv4_off + 9, PB_NEXT_PROTO);
}

void pb_ipv4_frag(struct pb *p, uint16_t offset8, bool more)
{
	if (!p->has_ipv4)
		die("no IPv4 header");
	put16(p->buf + p->ipv4_off + 6,
	      (uint16_t)((more ? 0x2000 : 0) | (offset8 & 0x1fff)));
}

void pb_ipv6(struct pb *p, const uint8_t src[16], const uint8_t dst[16])
{
	uint8_t *h;

	pb_set_next(p, PB_ETH_P_IPV6);
	h = push(p, 40, PB_H_IPV6);
	h[0] = 0x60;
	h[7] = 64;
	memcpy(h + 8, src, 16);
	memcpy(h + 24, dst, 16);
	p->ipv6_off = p->len - 40;
	p->has_ipv6 = true;
	expect_next(p, p->ipv6_off + 6, PB_NEXT_PROTO);
}

void pb_v6_ext(struct pb *p, uint8_t type, size_t len)
{
	uint8_t *h;

	if (type == PB_V6_AH ? (len % 4 || len < 12 || len > 1028) :
			       (len % 8 || len < 8 || len > 2048))
		die("bad extension header length");
	pb_set_next(p, type);
	h = push(p, len, PB_H_V6EXT);
	h[1] = (uint8_t)(type == PB_V6_AH ? len / 4 - 2 : len / 8 - 1);
	if (type == PB_V6_HOP || type == PB_V6_DSTOPTS) {
		/* one PadN option fills the rest */
		h[2] = 1;
		h[3] = (uint8_t)(len - 4 > 255 ? 255 : len - 4);
	}
	/* routing: type 0 and segments left 0 are already zero */
	expect_next(p, p->len - len, PB_NEXT_PROTO);
}

void pb_v6_frag(struct pb *p, uint16_t offset8, bool more)
{
	uint8_t *h;

	pb_set_next(p, PB_V6_FRAGMENT);
	h = push(p, 8, PB_H_V6EXT);
	put16(h + 2, (uint16_t)((offset8 & 0x1fff) << 3 | (more ? 1 : 0)));
	memcpy(h + 4, "\x12\x34\x56\x78", 4); /* identification */
	expect_next(p, p->len - 8, PB_NEXT_PROTO);
}

static uint8_t *push_l4(struct pb *p, uint8_t proto, size_t n)
{
	pb_set_next(p, proto);
	expect_next(p, 0, PB_NEXT_NONE);
	p->l4_off = p->len;
	p->l4_proto = proto;
	return push(p, n, PB_H_L4);
}

void pb_tcp(struct pb *p, uint16_t sport, uint16_t dport)
{
	uint8_t *h = push_l4(p, 6, 20);

	put16(h, sport);
	put16(h + 2, dport);
	h[12] = 5 << 4;
	h[13] = 0x02; /* SYN */
	put16(h + 14, 64240);
}

void pb_tcp_flags(struct pb *p, uint8_t flags)
{
	if (p->l4_proto != 6 || p->l4_off + 20 > p->len)
		die("no TCP header to set flags on");
	p->buf[p->l4_off + 13] = flags;
}

void pb_udp(struct pb *p, uint16_t sport, uint16_t dport)
{
	uint8_t *h = push_l4(p, 17, 8);

	put16(h, sport);
	put16(h + 2, dport);
	p->udp_off = p->len - 8;
	p->has_udp = true;
}

void pb_sctp(struct pb *p, uint16_t sport, uint16_t dport)
{
	uint8_t *h = push_l4(p, 132, 12);

	put16(h, sport);
	put16(h + 2, dport);
	memcpy(h + 4, "\xca\xfe\xf0\x0d", 4); /* verification tag */
}

void pb_icmp(struct pb *p, uint8_t type, uint8_t code)
{
	uint8_t *h = push_l4(p, 1, 8);

	h[0] = type;
	h[1] = code;
}

void pb_icmp6(struct pb *p, uint8_t type, uint8_t code)
{
	uint8_t *h = push_l4(p, 58, 8);

	h[0] = type;
	h[1] = code;
}

void pb_icmp_echo(struct pb *p, bool v6, uint8_t type, uint16_t id,
		  uint16_t seq)
{
	uint8_t *h = push_l4(p, v6 ? 58 : 1, 8);

	h[0] = type;
	put16(h + 4, id);
	put16(h + 6, seq);
}

void pb_l4_raw(struct pb *p, uint8_t proto, size_t n, uint8_t fill)
{
	uint8_t *h = push_l4(p, proto, n);

	memset(h, fill, n);
}

void pb_arp(struct pb *p)
{
	static const uint8_t req[8] = { 0, 1, 0x08, 0, 6, 4, 0, 1 };
	uint8_t *h;

	pb_set_next(p, PB_ETH_P_ARP);
	expect_next(p, 0, PB_NEXT_NONE);
	h = push(p, 28, PB_H_ARP);
	memcpy(h, req, sizeof(req));
	memcpy(h + 8, "\x02\x00\x5e\x00\x00\x02", 6);
	memcpy(h + 14, "\xc6\x12\x00\x02", 4); /* 198.18.0.2 */
	memcpy(h + 24, "\xc6\x12\x00\x01", 4); /* 198.18.0.1 */
}

void pb_payload(struct pb *p, size_t n)
{
	uint8_t *h = push(p, n, PB_H_PAYLOAD);

	for (size_t i = 0; i < n; i++)
		h[i] = (uint8_t)(0xa0 + i);
}

void pb_bytes(struct pb *p, const void *data, size_t n)
{
	memcpy(push(p, n, PB_H_PAYLOAD), data, n);
}

static uint16_t csum16(const uint8_t *b, size_t n)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

void pb_finish(struct pb *p)
{
	if (p->has_ipv4) {
		uint8_t *ip = p->buf + p->ipv4_off;
		size_t hl = (ip[0] & 0xf) * 4;

		put16(ip + 2, (uint16_t)(p->len - p->ipv4_off));
		put16(ip + 10, 0);
		put16(ip + 10, csum16(ip, hl));
	}
	if (p->has_ipv6)
		put16(p->buf + p->ipv6_off + 4,
		      (uint16_t)(p->len - p->ipv6_off - 40));
	if (p->has_udp)
		put16(p->buf + p->udp_off + 4, (uint16_t)(p->len - p->udp_off));
}

void pb_truncate(struct pb *p, size_t len)
{
	if (len > p->len)
		die("truncate beyond the end");
	p->len = len;
}

void pb_addr4(const char *s, uint8_t out[4])
{
	if (inet_pton(AF_INET, s, out) != 1)
		die("bad IPv4 address");
}

void pb_addr6(const char *s, uint8_t out[16])
{
	if (inet_pton(AF_INET6, s, out) != 1)
		die("bad IPv6 address");
}

char *pb_hex(const uint8_t *b, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	char *o = out;

	for (size_t i = 0; i < len; i++) {
		*o++ = digits[b[i] >> 4];
		*o++ = digits[b[i] & 0xf];
		*o++ = (i + 1) % 16 ? ' ' : '\n';
	}
	*o = '\0';
	return out;
}
