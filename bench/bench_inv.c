// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * bench_inv.c - synthetic policies and inventories for pw-bench.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_inv.h"

const char *const bench_role_names[BENCH_NROLES] = {
	"app", "proxy", "repman", "monitor", "backup", "batch", "etl", "web",
};

#define V4_BASE 0xc6120000U /* 198.18.0.0 */
#define V4_SPACE 131072U    /* addresses in 198.18.0.0/15 */

/*
 * A small policy in the shape of the vendor tables: one single port every
 * inventory role may use, an admin-only port, a short range and a wide one.
 */
static const char bench_policy_text[] =
	"policy bench \"pw-bench synthetic policy\"\n"
	"role admin \"operator workstations\"\n"
	"role db \"database hosts: the host under test\"\n"
	"role app \"application servers\"\n"
	"role proxy \"SQL proxies\"\n"
	"role repman \"replication managers\"\n"
	"role monitor \"monitoring collectors\"\n"
	"role backup \"backup servers\"\n"
	"role batch \"batch workers\"\n"
	"role etl \"ETL workers\"\n"
	"role web \"web front ends\"\n"
	"allow tcp 22 from admin to db note \"Secure shell\"\n"
	"allow tcp 3306 from app,proxy,repman,monitor,backup,batch,etl,web "
	"to db note \"MariaDB client protocol\"\n"
	"allow tcp 4000-4003 from db,repman to db note \"SST streams\"\n"
	"allow tcp 20000-65535 from repman,backup to db "
	"note \"ephemeral transfer ports\"\n"
	"allow tcp,udp 4567 from db to db note \"group communication\"\n"
	"allow icmp 8 from monitor,admin to db note \"ping\"\n";

/* Lengths used in turn for an IPv4 mix; 288 addresses per cycle. */
static const unsigned v4_mix[] = { 32, 29, 32, 28, 32, 30, 24, 32 };
#define V4_MIX_LEN (sizeof(v4_mix) / sizeof(v4_mix[0]))
#define V4_MIX_SPAN 288U

static const unsigned v6_mix[] = { 48, 56, 64, 128 };
#define V6_MIX_LEN (sizeof(v6_mix) / sizeof(v6_mix[0]))

/* Cheap deterministic scrambler for host bits (no rand(): repeatable). */
static uint32_t mix32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352dU;
	x ^= x >> 15;
	x *= 0x846ca68bU;
	x ^= x >> 16;
	return x;
}

static int role_of(size_t i, size_t n)
{
	return (int)(i * BENCH_NROLES / n);
}

static void put_v4(uint8_t out[16], uint32_t hbo)
{
	uint32_t nbo = htonl(hbo);

	memset(out, 0, 16);
	memcpy(out, &nbo, 4);
}

static void gen_v4(size_t n, struct bench_prefix *pfx)
{
	int mixed = (size_t)V4_SPACE / n >= V4_MIX_SPAN / V4_MIX_LEN;
	uint32_t cursor = 0;

	for (size_t i = 0; i < n; i++) {
		struct bench_prefix *p = &pfx[i];
		unsigned plen = mixed ? v4_mix[i % V4_MIX_LEN] : 32;
		uint32_t size = 1U << (32 - plen);
		uint32_t off;

		if (mixed) {
			cursor = (cursor + size - 1) & ~(size - 1);
			off = cursor;
			cursor += size;
		} else {
			off = (uint32_t)((uint64_t)i * V4_SPACE / n);
		}
		p->family = 4;
		p->plen = plen;
		p->role = role_of(i, n);
		put_v4(p->addr, V4_BASE + off);
		put_v4(p->src, V4_BASE + off + (mix32(i) & (size - 1)));
	}
}

/*
 * Each length has its own part of 2001:db8::/32 (third 16-bit group), so
 * that prefixes never overlap:
 *   /48  2001:db8:J::/48                    J < 0x8000
 *   /56  2001:db8:8000+J/256:(J%256)<<8::/56
 *   /64  2001:db8:c000+J/65536:J%65536::/64
 *   /128 2001:db8:e000+J/2^32::J           (low 32 bits)
 */
static void gen_v6(size_t n, struct bench_prefix *pfx)
{
	for (size_t i = 0; i < n; i++) {
		struct bench_prefix *p = &pfx[i];
		unsigned plen = v6_mix[i % V6_MIX_LEN];
		uint32_t j = (uint32_t)(i / V6_MIX_LEN);
		uint16_t g[8] = { 0x2001, 0x0db8 };
		uint32_t h = mix32((uint32_t)i);

		switch (plen) {
		case 48:
			g[2] = (uint16_t)j;
			break;
		case 56:
			g[2] = (uint16_t)(0x8000 + j / 256);
			g[3] = (uint16_t)((j % 256) << 8);
			break;
		case 64:
			g[2] = (uint16_t)(0xc000 + j / 65536);
			g[3] = (uint16_t)(j % 65536);
			break;
		default:
			g[2] = 0xe000;
			g[6] = (uint16_t)(j >> 16);
			g[7] = (uint16_t)j;
			break;
		}
		p->family = 6;
		p->plen = plen;
		p->role = role_of(i, n);
		for (int k = 0; k < 8; k++) {
			p->addr[2 * k] = g[k] >> 8;
			p->addr[2 * k + 1] = g[k] & 0xff;
		}
		memcpy(p->src, p->addr, 16);
		if (plen < 128) {
			/* some host bits inside the prefix, none above it */
			p->src[12] = h >> 24;
			p->src[13] = h >> 16;
			p->src[14] = h >> 8;
			p->src[15] = h | 1;
			if (plen == 48)
				p->src[7] = 1;
			if (plen <= 56)
				p->src[7] |= 0x20;
		}
	}
}

/* policy text + "role prefix/len" per line */
static int write_texts(struct bench_inv *inv)
{
	size_t len = 0;
	FILE *f = open_memstream(&inv->inventory, &len);

	if (!f)
		return -ENOMEM;
	fprintf(f, "# pw-bench: %zu IPv%d prefixes\n", inv->npfx, inv->family);
	for (size_t i = 0; i < inv->npfx; i++) {
		const struct bench_prefix *p = &inv->pfx[i];
		char buf[INET6_ADDRSTRLEN];

		inet_ntop(p->family == 4 ? AF_INET : AF_INET6, p->addr, buf,
			  sizeof(buf));
		fprintf(f, "%s %s/%u\n", bench_role_names[p->role], buf,
			p->plen);
	}
	if (fclose(f) != 0)
		return -ENOMEM;
	inv->policy = strdup(bench_policy_text);
	return inv->policy ? 0 : -ENOMEM;
}

static int bench_inv_make(size_t n, int family, struct bench_inv *inv)
{
	int err;

	memset(inv, 0, sizeof(*inv));
	if (n == 0)
		return -EINVAL;
	if (family == 4 && n > V4_SPACE)
		return -ENOSPC;
	inv->pfx = calloc(n, sizeof(*inv->pfx));
	if (!inv->pfx)
		return -ENOMEM;
	inv->npfx = n;
	inv->family = family;
	if (family == 4)
		gen_v4(n, inv->pfx);
	else
		gen_v6(n, inv->pfx);
	err = write_texts(inv);
	if (err)
		bench_inv_free(inv);
	return err;
}

int bench_inv_v4(size_t n, struct bench_inv *inv)
{
	return bench_inv_make(n, 4, inv);
}

int bench_inv_v6(size_t n, struct bench_inv *inv)
{
	/* the /128 part has 2^32 addresses per 16-bit group; far more than needed */
	if (n / V6_MIX_LEN >= 0x8000)
		return -ENOSPC;
	return bench_inv_make(n, 6, inv);
}

const struct bench_prefix *bench_inv_find(const struct bench_inv *inv,
					  const char *role_name, unsigned plen)
{
	for (size_t i = 0; i < inv->npfx; i++) {
		const struct bench_prefix *p = &inv->pfx[i];

		if (p->plen == plen &&
		    strcmp(bench_role_names[p->role], role_name) == 0)
			return p;
	}
	return NULL;
}

size_t bench_inv_count_plen(const struct bench_inv *inv, unsigned plen)
{
	size_t count = 0;

	for (size_t i = 0; i < inv->npfx; i++)
		count += inv->pfx[i].plen == plen;
	return count;
}

void bench_inv_free(struct bench_inv *inv)
{
	free(inv->policy);
	free(inv->inventory);
	free(inv->pfx);
	memset(inv, 0, sizeof(*inv));
}
