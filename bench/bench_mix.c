// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * bench_mix.c - the traffic mix of the peer benchmarks (see bench_mix.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include "bench_mix.h"

#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP

/*
 * Rules in force at db1 (portwarden check --profile db-host.profile):
 * 3306 from repman, db, proxy; 3307 and 4444 from repman; 4444, 4567
 * (tcp and udp) and 4568 from db; 22 from repman and bastion.
 */
const struct bench_mix_flow bench_mix[] = {
	{ "repman -> 3306/tcp", 4, "198.18.1.10", 2, TCP, 3306, true },
	{ "repman -> 3307/tcp", 4, "198.18.1.10", 2, TCP, 3307, true },
	{ "repman -> 4444/tcp", 4, "198.18.1.10", 2, TCP, 4444, true },
	{ "db -> 3306/tcp", 4, "198.18.2.12", 2, TCP, 3306, true },
	{ "db -> 4567/tcp", 4, "198.18.2.12", 2, TCP, 4567, true },
	{ "db -> 4567/udp", 4, "198.18.2.12", 2, UDP, 4567, true },
	{ "proxy -> 3306/tcp", 4, "198.18.3.1", 2, TCP, 3306, true },
	{ "bastion -> 22/tcp", 4, "198.18.5.10", 1, TCP, 22, true },
	{ "app -> 22/tcp", 4, "198.18.4.1", 254, TCP, 22, false },
	{ "app -> 3306/tcp", 4, "198.18.4.1", 254, TCP, 3306, false },
	{ "app -> 4567/udp", 4, "198.18.4.1", 254, UDP, 4567, false },
	{ "grafana -> 4444/tcp", 4, "198.18.6.10", 1, TCP, 4444, false },
	{ "operator -> 22/tcp", 4, "198.18.10.1", 254, TCP, 22, false },
	{ "unknown -> 3306/tcp", 4, "198.19.1.1", 254, TCP, 3306, false },
	{ "unknown -> 8080/tcp", 4, "198.19.2.1", 254, TCP, 8080, false },
	{ "db -> 53/udp", 4, "198.18.2.12", 2, UDP, 53, false },
	{ "repman -> 3306/tcp (IPv6)", 6, "2001:db8:1::10", 1, TCP, 3306, true },
	{ "app -> 22/tcp (IPv6)", 6, "2001:db8:4::99", 1, TCP, 22, false },
};
const size_t bench_mix_len = sizeof(bench_mix) / sizeof(bench_mix[0]);

static uint32_t sum16(const void *p, size_t len, uint32_t sum)
{
	const uint8_t *b = p;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The 20 bytes of L4 with the checksum over @pseudo (pseudo header sum). */
static void put_l4(uint8_t *l4, const struct bench_mix_flow *f,
		   enum bench_mix_tcp flags, uint32_t pseudo)
{
	uint16_t check;

	memset(l4, 0, GEN_L4_LEN);
	if (f->proto == TCP) {
		struct tcphdr *tcp = (struct tcphdr *)l4;

		tcp->source = htons(1024);
		tcp->dest = htons(f->dport);
		tcp->doff = 5;
		if (flags == BENCH_MIX_SYN) {
			tcp->syn = 1;
		} else {
			tcp->ack = 1;
			tcp->seq = htonl(1);
			tcp->ack_seq = htonl(1);
		}
		tcp->window = htons(64240);
	} else {
		struct udphdr *udp = (struct udphdr *)l4;

		udp->source = htons(1024);
		udp->dest = htons(f->dport);
		udp->len = htons(GEN_L4_LEN);
	}
	check = htons(fold(sum16(l4, GEN_L4_LEN, pseudo)));
	if (f->proto == TCP)
		((struct tcphdr *)l4)->check = check;
	else
		((struct udphdr *)l4)->check = check ? check : 0xffff;
}

static int put_ipv4(uint8_t *p, const struct bench_mix_flow *f,
		    enum bench_mix_tcp tcp)
{
	struct iphdr *ip = (struct iphdr *)p;
	uint32_t pseudo;

	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, f->src, &ip->saddr) != 1 ||
	    inet_pton(AF_INET, BENCH_MIX_DST4, &ip->daddr) != 1)
		return -EINVAL;
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons(sizeof(*ip) + GEN_L4_LEN);
	ip->ttl = 64;
	ip->protocol = f->proto;
	ip->check = htons(fold(sum16(ip, sizeof(*ip), 0)));
	pseudo = sum16(&ip->saddr, 8, f->proto + GEN_L4_LEN);
	put_l4(p + sizeof(*ip), f, tcp, pseudo);
	return sizeof(*ip) + GEN_L4_LEN;
}

static int put_ipv6(uint8_t *p, const struct bench_mix_flow *f,
		    enum bench_mix_tcp tcp)
{
	struct ipv6hdr *ip6 = (struct ipv6hdr *)p;
	uint32_t pseudo;

	memset(ip6, 0, sizeof(*ip6));
	if (inet_pton(AF_INET6, f->src, &ip6->saddr) != 1 ||
	    inet_pton(AF_INET6, BENCH_MIX_DST6, &ip6->daddr) != 1)
		return -EINVAL;
	ip6->version = 6;
	ip6->payload_len = htons(GEN_L4_LEN);
	ip6->nexthdr = f->proto;
	ip6->hop_limit = 64;
	pseudo = sum16(&ip6->saddr, 32, f->proto + GEN_L4_LEN);
	put_l4(p + sizeof(*ip6), f, tcp, pseudo);
	return sizeof(*ip6) + GEN_L4_LEN;
}

int bench_mix_frame(const struct bench_mix_flow *f, enum bench_mix_tcp tcp,
		    const uint8_t dst_mac[6], const uint8_t src_mac[6],
		    uint8_t *buf)
{
	struct ethhdr *eth = (struct ethhdr *)buf;
	int len;

	memcpy(eth->h_dest, dst_mac, ETH_ALEN);
	memcpy(eth->h_source, src_mac, ETH_ALEN);
	eth->h_proto = htons(f->family == 4 ? ETH_P_IP : ETH_P_IPV6);
	len = f->family == 4 ? put_ipv4(buf + sizeof(*eth), f, tcp)
			     : put_ipv6(buf + sizeof(*eth), f, tcp);
	return len < 0 ? len : (int)sizeof(*eth) + len;
}

int bench_mix_gen_flow(const struct bench_mix_flow *f, struct gen_flow *out)
{
	struct in_addr a;

	if (f->family != 4 || inet_pton(AF_INET, f->src, &a) != 1)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->saddr = ntohl(a.s_addr);
	out->span = f->span;
	out->dport = f->dport;
	out->proto = f->proto;
	return 0;
}
