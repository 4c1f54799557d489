// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * mkframes.c - write the seed frames of fuzz_classify into a directory.
 *
 * One file per frame, each a case the classifier must tell apart: allowed
 * and violating flows of the replication-manager site (addresses of
 * policies/examples/replication-manager.inventory), VLAN tags up to too
 * deep, IPv4 options and fragments, IPv6 extension chains, ICMP messages
 * that always pass, ARP, non-IP, and frames cut at a header boundary.
 * The output is committed in fuzz/corpus/classify/; run this again after
 * changing it:
 *
 *   cc -Itests fuzz/mkframes.c tests/pktbuild.c -o /tmp/mkframes &&
 *   /tmp/mkframes fuzz/corpus/classify
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pktbuild.h"

static const char *out_dir;

static void save(const char *name, const struct pb *p)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", out_dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p->buf, 1, p->len, f) != p->len || fclose(f)) {
		perror(path);
		exit(1);
	}
}

static void finish_save(struct pb *p, const char *name)
{
	pb_finish(p);
	save(name, p);
}

/* 198.18.@c.@d and 2001:db8:@c::@d, the site's address plan. */
static void v4(uint8_t a[4], int c, int d)
{
	a[0] = 198;
	a[1] = 18;
	a[2] = (uint8_t)c;
	a[3] = (uint8_t)d;
}

static void v6(uint8_t a[16], int c, int d)
{
	char s[64];

	snprintf(s, sizeof(s), "2001:db8:%x::%x", c, d);
	pb_addr6(s, a);
}

/* Ethernet + IPv4 from 198.18.@sc.@sd to db1, ready for an L4 header. */
static void ip4(struct pb *p, int sc, int sd)
{
	uint8_t s[4], d[4];

	v4(s, sc, sd);
	v4(d, 2, 11);
	pb_init(p);
	pb_eth(p);
	pb_ipv4(p, s, d);
}

static void ip6(struct pb *p, int sc, int sd)
{
	uint8_t s[16], d[16];

	v6(s, sc, sd);
	v6(d, 2, 0x11);
	pb_init(p);
	pb_eth(p);
	pb_ipv6(p, s, d);
}

static void flows(void)
{
	struct pb p;

	ip4(&p, 1, 10); /* repman -> db 3306: allowed */
	pb_tcp(&p, 40000, 3306);
	finish_save(&p, "v4-tcp-3306-repman");

	ip4(&p, 4, 11); /* app -> db 3306: a violation of that rule */
	pb_tcp(&p, 40000, 3306);
	finish_save(&p, "v4-tcp-3306-app");

	ip4(&p, 99, 1); /* unknown source, undocumented port */
	pb_udp(&p, 5353, 53);
	finish_save(&p, "v4-udp-53-unknown");

	ip4(&p, 2, 12); /* db -> db: SCTP */
	pb_sctp(&p, 9000, 9000);
	finish_save(&p, "v4-sctp");

	ip4(&p, 10, 11); /* operator ping; frag-needed always passes */
	pb_icmp(&p, 8, 0);
	finish_save(&p, "v4-icmp-echo");
	ip4(&p, 10, 11);
	pb_icmp(&p, 3, 4);
	finish_save(&p, "v4-icmp-frag-needed");

	ip4(&p, 1, 10); /* GRE: a protocol without ports */
	pb_l4_raw(&p, 47, 8, 0);
	finish_save(&p, "v4-gre");

	ip6(&p, 1, 0x10);
	pb_tcp(&p, 40000, 4444);
	finish_save(&p, "v6-tcp-4444-repman");

	ip6(&p, 10, 0x11);
	pb_icmp6(&p, 128, 0);
	finish_save(&p, "v6-icmp-echo");
	ip6(&p, 10, 0x11);
	pb_icmp6(&p, 135, 0);
	finish_save(&p, "v6-ndp");
	ip6(&p, 10, 0x11);
	pb_icmp6(&p, 2, 0);
	finish_save(&p, "v6-packet-too-big");
}

static void headers(void)
{
	uint8_t s[4], d[4];
	struct pb p;

	v4(s, 1, 10);
	v4(d, 2, 11);
	pb_init(&p); /* two tags: still parsed */
	pb_eth(&p);
	pb_vlan(&p, PB_ETH_P_8021AD, 100);
	pb_vlan(&p, PB_ETH_P_8021Q, 10);
	pb_ipv4_opts(&p, s, d, 8);
	pb_tcp(&p, 40000, 3306);
	finish_save(&p, "v4-qinq-options");

	pb_init(&p); /* three tags: too deep */
	pb_eth(&p);
	pb_vlan(&p, PB_ETH_P_8021AD, 100);
	pb_vlan(&p, PB_ETH_P_8021Q, 10);
	pb_vlan(&p, PB_ETH_P_8021Q, 11);
	pb_ipv4(&p, s, d);
	finish_save(&p, "vlan-too-deep");

	ip4(&p, 1, 10); /* first fragment is judged, the next is not */
	pb_ipv4_frag(&p, 0, true);
	pb_udp(&p, 4567, 4567);
	finish_save(&p, "v4-frag-first");
	ip4(&p, 1, 10);
	pb_ipv4_frag(&p, 185, false);
	pb_payload(&p, 16);
	finish_save(&p, "v4-frag-next");

	ip6(&p, 2, 0x12); /* an extension chain the parser walks */
	pb_v6_ext(&p, PB_V6_HOP, 8);
	pb_v6_ext(&p, PB_V6_DSTOPTS, 16);
	pb_v6_ext(&p, PB_V6_ROUTING, 8);
	pb_v6_frag(&p, 0, true);
	pb_v6_ext(&p, PB_V6_AH, 12);
	pb_tcp(&p, 40000, 4567);
	finish_save(&p, "v6-ext-chain");

	ip6(&p, 2, 0x12); /* seven: one too many */
	for (int i = 0; i < 7; i++)
		pb_v6_ext(&p, PB_V6_DSTOPTS, 8);
	pb_tcp(&p, 40000, 4567);
	finish_save(&p, "v6-ext-too-deep");

	ip6(&p, 2, 0x12);
	pb_v6_frag(&p, 100, false);
	pb_payload(&p, 8);
	finish_save(&p, "v6-frag-next");
}

static void others(void)
{
	struct pb p;

	pb_init(&p);
	pb_eth(&p);
	pb_arp(&p);
	finish_save(&p, "arp");

	pb_init(&p); /* LLDP */
	pb_eth(&p);
	pb_set_next(&p, 0x88cc);
	pb_payload(&p, 32);
	save("non-ip", &p);

	ip4(&p, 1, 10); /* cut inside the TCP header, and inside IPv4 */
	pb_tcp(&p, 40000, 3306);
	pb_finish(&p);
	pb_truncate(&p, p.len - 1);
	save("v4-trunc-l4", &p);
	pb_truncate(&p, 14 + 19);
	save("v4-trunc-l3", &p);
	pb_truncate(&p, 13);
	save("trunc-l2", &p);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	out_dir = argv[1];
	flows();
	headers();
	others();
	return 0;
}
