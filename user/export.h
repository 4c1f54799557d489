/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * export.h - a compiled host policy as a netfilter ruleset: nftables (one
 * `table inet portwarden`) or iptables-restore / ip6tables-restore input.
 *
 * The ruleset does what the datapath does with the same struct
 * pw_compiled: the same role of every source address (longest prefix of
 * the inventory and the literal peers), the same allowed (role, protocol,
 * port) cells, loopback-only ports, violations in the mode of the first
 * rule that names the port, everything else in the host's mode.  It is
 * the fallback for hosts where XDP is not an option and the twin the
 * benchmarks compare against.  docs/export.md says what maps to what and
 * where the two differ (conntrack, counters, ICMP, loopback).
 *
 * Rendering writes to a FILE * and does no other I/O.  The output is
 * deterministic: the same compiled policy and options give the same bytes.
 */
#ifndef PW_EXPORT_H
#define PW_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "addr.h"
#include "compile.h"

enum pw_export_format {
	PW_EXPORT_NFT = 0,       /* nft -f */
	PW_EXPORT_IPTABLES = 1,  /* iptables-restore (IPv4 only) */
	PW_EXPORT_IP6TABLES = 2, /* ip6tables-restore (IPv6 only) */
};

struct pw_export_opts {
	enum pw_export_format format;
	int mode;            /* host mode: PW_MODE_AUDIT or PW_MODE_ENFORCE */
	/*
	 * Egress is audited (counted, accepted) unless this is set; then
	 * egress violations follow the same modes as ingress.  Profiles
	 * have no option for it yet, so the CLI leaves it false.
	 */
	bool egress_enforce;
	const char *iface;   /* judge only this interface, like the XDP
			      * program attached there; NULL = every one */
	bool log;            /* rate-limited kernel log line per violation */
	/* for the header comment only; may be NULL/0 */
	const char *const *host_roles;
	int nhost_roles;
	const char *const *tags;
	int ntags;
};

/* What a rendering holds. */
struct pw_export_counts {
	unsigned rules;    /* nft rules, or iptables -A lines */
	unsigned sets;     /* nft named sets (iptables: 0) */
	unsigned elements; /* nft set elements, or iptables -s/-d CIDRs */
	unsigned chains;   /* chains the document declares */
};

/*
 * Write the ruleset for @c to @out.  Returns 0, -ENOMEM, -EINVAL (a bad
 * format or mode) or -EIO (a write failed).  @counts may be NULL.
 */
int pw_export_render(const struct pw_compiled *c,
		     const struct pw_export_opts *o, FILE *out,
		     struct pw_export_counts *counts);

/* One CIDR of the address partition, and the role that holds it. */
struct pw_export_cidr {
	uint32_t role; /* role id of @c, never PW_ROLE_UNKNOWN */
	struct pw_prefix prefix;
};

/*
 * The addresses of @family (4 or 6) that resolve to a known role, as the
 * fewest CIDRs per run of one role, in address order.  A prefix of one
 * role that holds a longer prefix of another is cut around it, so the
 * CIDRs are disjoint and a CIDR-set match gives the role the datapath's
 * longest-prefix lookup gives.  Returns 0 or -ENOMEM; free(*v) after.
 */
int pw_export_cidrs(const struct pw_compiled *c, int family,
		    struct pw_export_cidr **v, size_t *n);

/* "nft", "iptables", "ip6tables". */
const char *pw_export_format_name(enum pw_export_format f);

#endif /* PW_EXPORT_H */
