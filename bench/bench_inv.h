/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * bench_inv.h - synthetic policies and inventories for pw-bench.
 *
 * An inventory of N prefixes is generated in memory as policy-language text
 * (so that it goes through the real parser and compiler), together with the
 * same prefixes in binary form for the LPM baseline and one source address
 * inside each prefix for the spread cases.
 *
 * Only documentation/benchmark space is used: IPv4 inside 198.18.0.0/15,
 * IPv6 inside 2001:db8::/32.
 */
#ifndef PW_BENCH_INV_H
#define PW_BENCH_INV_H

#include <stddef.h>
#include <stdint.h>

/* Inventory roles, in block order: prefix i belongs to role i * 8 / N. */
#define BENCH_NROLES 8
extern const char *const bench_role_names[BENCH_NROLES];

/* The role holding the hot sources, and the host's own role. */
#define BENCH_HOT_ROLE "app"
#define BENCH_HOST_ROLE "db"

/* Ports of the synthetic policy the cases use. */
#define BENCH_PORT_ALLOWED 3306 /* every inventory role may reach it */
#define BENCH_PORT_ADMIN 22     /* admin only: a violation from any inventory role */

struct bench_prefix {
	uint8_t family; /* 4 or 6 */
	uint8_t plen;
	uint8_t addr[16];  /* network order, host bits zero */
	uint8_t src[16];   /* an address inside the prefix */
	int role;          /* index into bench_role_names */
};

struct bench_inv {
	char *policy;    /* policy text */
	char *inventory; /* inventory text */
	struct bench_prefix *pfx;
	size_t npfx;
	int family;
};

/*
 * IPv4: N prefixes inside 198.18.0.0/15.  When there is room, a mix of
 * /24../32 (aligned, disjoint); otherwise N distinct /32s spread evenly
 * over the /15.  Returns 0 or -ENOMEM / -ENOSPC.
 */
int bench_inv_v4(size_t n, struct bench_inv *inv);

/* IPv6: N prefixes inside 2001:db8::/32, lengths /48, /56, /64, /128 in turn. */
int bench_inv_v6(size_t n, struct bench_inv *inv);

/* First prefix of @role_name with length @plen, or NULL. */
const struct bench_prefix *bench_inv_find(const struct bench_inv *inv,
					  const char *role_name, unsigned plen);

/* Count of prefixes with length @plen. */
size_t bench_inv_count_plen(const struct bench_inv *inv, unsigned plen);

void bench_inv_free(struct bench_inv *inv);

#endif /* PW_BENCH_INV_H */
