// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * addr.c - IPv4/IPv6 prefixes: parse, format, compare, ranges to CIDRs.
 *
 * Address text goes through inet_pton/inet_ntop so that what we accept and
 * print is what every other network tool on the host accepts and prints.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"

static unsigned int family_bits(uint8_t family)
{
	return family == 4 ? 32 : 128;
}

static unsigned int family_bytes(uint8_t family)
{
	return family == 4 ? 4 : 16;
}

/* Clear every bit past @plen. Returns true if any was set. */
static bool mask_host_bits(uint8_t *addr, unsigned int nbytes,
			   unsigned int plen)
{
	bool had = false;

	for (unsigned int i = 0; i < nbytes; i++) {
		unsigned int first_bit = i * 8;
		uint8_t keep;

		if (first_bit + 8 <= plen)
			continue;
		if (first_bit >= plen)
			keep = 0;
		else
			keep = (uint8_t)(0xff << (8 - (plen - first_bit)));
		if (addr[i] & ~keep)
			had = true;
		addr[i] &= keep;
	}
	return had;
}

/* Decimal prefix length, digits only, at most 3 of them. */
static int parse_plen(const char *s, unsigned int *out)
{
	unsigned int v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 3)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned int)(s[i] - '0');
	}
	*out = v;
	return 0;
}

int pw_prefix_parse(const char *s, struct pw_prefix *p, const char **why)
{
	char addr[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned int plen;

	memset(p, 0, sizeof(*p));
	if (alen == 0 || alen >= sizeof(addr))
		goto not_addr;
	memcpy(addr, s, alen);
	addr[alen] = '\0';

	if (inet_pton(AF_INET, addr, p->addr) == 1)
		p->family = 4;
	else if (inet_pton(AF_INET6, addr, p->addr) == 1)
		p->family = 6;
	else
		goto not_addr;

	plen = family_bits(p->family);
	if (slash && (parse_plen(slash + 1, &plen) < 0 ||
		      plen > family_bits(p->family))) {
		*why = "prefix length out of range";
		return -1;
	}
	p->plen = (uint8_t)plen;
	/* Keep the masked prefix even on error: callers suggest it. */
	if (mask_host_bits(p->addr, family_bytes(p->family), plen)) {
		*why = "host bits set";
		return -1;
	}
	return 0;

not_addr:
	memset(p, 0, sizeof(*p));
	*why = "not an address";
	return -1;
}

void pw_prefix_format(const struct pw_prefix *p, char *buf, unsigned long len)
{
	char a[INET6_ADDRSTRLEN];
	int af = p->family == 4 ? AF_INET : AF_INET6;

	if (!inet_ntop(af, p->addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, len, "%s/%u", a, p->plen);
}

bool pw_prefix_equal(const struct pw_prefix *a, const struct pw_prefix *b)
{
	return a->family == b->family && a->plen == b->plen &&
	       memcmp(a->addr, b->addr, family_bytes(a->family)) == 0;
}

bool pw_prefix_contains(const struct pw_prefix *outer,
			const struct pw_prefix *inner)
{
	uint8_t tmp[16];

	if (outer->family != inner->family || outer->plen > inner->plen)
		return false;
	memcpy(tmp, inner->addr, sizeof(tmp));
	mask_host_bits(tmp, family_bytes(inner->family), outer->plen);
	return memcmp(tmp, outer->addr, family_bytes(outer->family)) == 0;
}

int pw_prefix_cmp(const struct pw_prefix *a, const struct pw_prefix *b)
{
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	c = memcmp(a->addr, b->addr, family_bytes(a->family));
	if (c)
		return c < 0 ? -1 : 1;
	if (a->plen != b->plen)
		return a->plen < b->plen ? -1 : 1;
	return 0;
}

/*
 * Ranges are walked as 128-bit integers; an IPv4 address is simply a small
 * one.  The shift helper avoids the undefined shift by 128.
 */
typedef unsigned __int128 u128;

static u128 low_mask(unsigned int k)
{
	if (k == 0)
		return 0;
	if (k >= 128)
		return ~(u128)0;
	return ((u128)1 << k) - 1;
}

static u128 prefix_to_int(const struct pw_prefix *p)
{
	u128 v = 0;

	for (unsigned int i = 0; i < family_bytes(p->family); i++)
		v = (v << 8) | p->addr[i];
	return v;
}

static void int_to_prefix(u128 v, uint8_t family, unsigned int plen,
			  struct pw_prefix *p)
{
	unsigned int n = family_bytes(family);

	memset(p, 0, sizeof(*p));
	p->family = family;
	p->plen = (uint8_t)plen;
	for (unsigned int i = n; i-- > 0;) {
		p->addr[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
}

/* Largest k such that @cur is aligned to 2^k and cur + 2^k - 1 <= last. */
static unsigned int largest_block(u128 cur, u128 last, unsigned int bits)
{
	unsigned int k = 0;

	while (k < bits && (cur & low_mask(k + 1)) == 0 &&
	       low_mask(k + 1) <= last - cur)
		k++;
	return k;
}

int pw_range_to_prefixes(const struct pw_prefix *first,
			 const struct pw_prefix *last,
			 int (*emit)(const struct pw_prefix *p, void *arg),
			 void *arg, const char **why)
{
	unsigned int bits;
	u128 cur, end;

	if (first->family != last->family) {
		*why = "range mixes IPv4 and IPv6";
		return -1;
	}
	bits = family_bits(first->family);
	if (first->plen != bits || last->plen != bits) {
		*why = "range ends must be addresses, not prefixes";
		return -1;
	}
	cur = prefix_to_int(first);
	end = prefix_to_int(last);
	if (cur > end) {
		*why = "range is reversed";
		return -1;
	}

	for (;;) {
		unsigned int k = largest_block(cur, end, bits);
		struct pw_prefix p;
		int ret;

		int_to_prefix(cur, first->family, bits - k, &p);
		ret = emit(&p, arg);
		if (ret)
			return ret;
		/* Stop before stepping past the end: cur + 2^k may wrap. */
		if (end - cur == low_mask(k))
			return 0;
		cur += low_mask(k) + 1;
	}
}
