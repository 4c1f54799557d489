/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * v6probe.h - addresses to probe the IPv6 bucket table with, for
 * test_compile.c (the table as compiled) and test_flip.c (the table the
 * datapath reads): a site plan of nested prefixes, random addresses in
 * and around its sites, a prefix's neighbour.
 *
 * Header-only (static functions), like xdprun.h, so that a suite uses it
 * without a change to the meson suite lists.  Include it after <cmocka.h>.
 */
#ifndef PW_TESTS_V6PROBE_H
#define PW_TESTS_V6PROBE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* xorshift32: a fixed sequence for a fixed seed, so failures repeat */
static inline uint32_t v6_rand(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/*
 * Nested prefixes, as a site plan has them: @nsites /48 sites
 * 2001:db8:S::/48, in each of the first ones a few /64 subnets
 * 2001:db8:S:T::/64, and in each subnet a few hosts 2001:db8:S:T::H/128,
 * roles r0..r7 in turn.  Every length spans the same space, so lookups go
 * to the buckets for every length.  Returns the inventory text.
 */
static inline char *v6_nested_inventory(unsigned nsites)
{
	size_t cap = (size_t)nsites * 16 * 64 + 1, len = 0;
	char *text = malloc(cap);
	unsigned site, net, host;

	assert_non_null(text);
	for (site = 0; site < nsites; site++) {
		len += snprintf(text + len, cap - len,
				"r%u 2001:db8:%x::/48\n", site % 8, site);
		for (net = 0; net < (site % 4) * 2; net++) {
			len += snprintf(text + len, cap - len,
					"r%u 2001:db8:%x:%x::/64\n",
					(site + net + 1) % 8, site, net);
			for (host = 1; host <= net; host++)
				len += snprintf(text + len, cap - len,
						"r%u 2001:db8:%x:%x::%x\n",
						(site + host + 2) % 8, site,
						net, host);
		}
		assert_true(len < cap);
	}
	return text;
}

/*
 * A random address of v6_nested_inventory(@nsites)'s plan: a site (some
 * of them past the last), a small subnet number, and a small host number
 * (@small_host) or random host bits.
 */
static inline void v6_nested_random(uint8_t a[16], uint32_t *x,
				    unsigned nsites, bool small_host)
{
	uint32_t site = v6_rand(x) % (nsites + 100);
	unsigned b;

	memset(a, 0, 16);
	a[0] = 0x20, a[1] = 0x01, a[2] = 0x0d, a[3] = 0xb8;
	a[4] = site >> 8;
	a[5] = site & 0xff;
	a[7] = v6_rand(x) % 8;
	if (small_host)
		a[15] = v6_rand(x) % 8;
	else
		for (b = 8; b < 16; b++)
			a[b] = v6_rand(x);
}

/* @addr/@plen's neighbour: its last prefix bit flipped, into @a */
static inline void v6_neighbour(uint8_t a[16], const uint8_t addr[16],
				unsigned plen)
{
	unsigned last = plen - 1;

	memcpy(a, addr, 16);
	a[last / 8] ^= 0x80 >> (last % 8);
}

#endif /* PW_TESTS_V6PROBE_H */
