/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * addr.h - IPv4/IPv6 prefixes: parsing, formatting, ranges to CIDRs.
 */
#ifndef PW_ADDR_H
#define PW_ADDR_H

#include <stdbool.h>
#include <stdint.h>

struct pw_prefix {
	uint8_t family; /* 4 or 6 */
	uint8_t plen;   /* 0..32 or 0..128 */
	uint8_t addr[16]; /* network order; IPv4 in addr[0..3]; host bits zero */
};

/* Longest textual form: an IPv6 address plus "/128". */
#define PW_PREFIX_STRLEN 48

/*
 * Parse "198.18.0.1", "198.18.0.0/24", "2001:db8::1", "2001:db8::/32".
 * A bare address gets the full length.  Returns 0, or -1 with a short
 * reason in *why (static string): "not an address", "prefix length out of
 * range", "host bits set".
 */
int pw_prefix_parse(const char *s, struct pw_prefix *p, const char **why);

/* Canonical text: "198.18.0.0/24"; full-length prefixes keep the "/32". */
void pw_prefix_format(const struct pw_prefix *p, char *buf, unsigned long len);

/* Same family, same length, same bits. */
bool pw_prefix_equal(const struct pw_prefix *a, const struct pw_prefix *b);
/* Does @outer contain @inner (same family, outer->plen <= inner->plen)? */
bool pw_prefix_contains(const struct pw_prefix *outer, const struct pw_prefix *inner);
/* Total order: family, then address bytes, then length. For qsort. */
int pw_prefix_cmp(const struct pw_prefix *a, const struct pw_prefix *b);

/*
 * Split the inclusive range FIRST-LAST (both full-length prefixes of one
 * family, first <= last) into the fewest covering CIDRs.  Calls @emit for
 * each, in address order; stops and returns its non-zero return value.
 * Returns -1 with *why set if the range is reversed or mixes families.
 */
int pw_range_to_prefixes(const struct pw_prefix *first,
			 const struct pw_prefix *last,
			 int (*emit)(const struct pw_prefix *p, void *arg),
			 void *arg, const char **why);

#endif /* PW_ADDR_H */
