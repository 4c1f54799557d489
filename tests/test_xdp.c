// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_xdp.c - the XDP program under BPF_PROG_TEST_RUN, row by row.
 *
 * Each row is a frame, a host configuration and the hand-worked answer:
 * XDP action, reason, and the one counter that must move (a slot named by
 * its key, or an unnamed key).  For every row the test checks that
 *   - the program returns that action,
 *   - the reference classifier predicts the same answer,
 *   - across all reason counters, all slot counters and all of pw_unnamed,
 *     exactly the predicted reason and counter moved, by {1, frame length}.
 * Needs root.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "pktbuild.h"
#include "xdprun.h"

#ifndef PW_SOURCE_ROOT
#define PW_SOURCE_ROOT "."
#endif

#define PASS PW_XDP_PASS
#define DROP PW_XDP_DROP
#define A PW_MODE_AUDIT
#define E PW_MODE_ENFORCE

/* ------------------------------------------------------------------ */
/* The test policy                                                     */
/* ------------------------------------------------------------------ */

static const char test_policy[] =
	"policy pwtest \"portwarden packet tests\"\n"
	"role app \"application servers\"\n"
	"role db \"database servers (this host)\"\n"
	"role ops \"operators\"\n"
	"role web \"web front ends\"\n"
	"tag extra \"extra rules\"\n"
	"allow tcp 3306 from app to db note \"client port\"\n"
	"allow tcp 4000-4003 from db to db mode enforce note \"range, enforced\"\n"
	"allow udp 53 from any to db note \"dns\"\n"
	"allow sctp 9000 from app to db note \"sctp\"\n"
	"allow icmp 8 from ops to db note \"ping\"\n"
	"allow icmpv6 128 from any to db note \"ping6\"\n"
	"loopback tcp,udp 2003 on db note \"carbon, loopback only\"\n"
	"allow tcp 5000 from ops to db mode audit note \"audited\"\n"
	"allow tcp 22 from 198.18.200.7,2001:db8:200::7 to db note \"literal peers\"\n"
	"allow tcp 8443 from ops to db if extra note \"tagged, off here\"\n"
	"allow tcp 20000-65535 from web to db note \"high ports\"\n";

static const char test_inventory[] =
	"app 198.18.1.0/24 2001:db8:1::/64\n"
	"db  198.18.2.10 2001:db8:2::10\n"
	"ops 198.18.3.0/28 2001:db8:3::/48\n"
	"web 198.18.4.5 198.19.4.0/22 2001:db8:4::5\n";

#define APP4 "198.18.1.20"
#define APP6 "2001:db8:1::20"
#define DB4 "198.18.2.10"
#define OPS4 "198.18.3.2"
#define OPS6 "2001:db8:3:ff::1"
#define WEB4 "198.18.4.5"
#define WEB4B "198.19.5.1"
#define UNK4 "198.18.9.9"
#define UNK6 "2001:db8:99::1"
#define LIT4 "198.18.200.7"
#define LIT6 "2001:db8:200::7"

/* ------------------------------------------------------------------ */
/* Rows                                                                */
/* ------------------------------------------------------------------ */

enum { DL_NONE = 0, DL_PAST, DL_FUTURE };

struct row {
	const char *name;
	/* frame */
	uint8_t fam;          /* 4, 6, 'A' (ARP), 'E' (other ethertype) */
	const char *src;
	uint8_t proto;
	uint16_t port;        /* destination port, ICMP type */
	uint8_t code;         /* ICMP code */
	const char *vlan;     /* one char per tag: q = 0x8100, s = 0x88a8 */
	uint8_t v4opt;        /* IPv4 option bytes */
	uint16_t frag;        /* IPv4 fragment offset (8-byte units) */
	bool mf;
	const char *ext;      /* IPv6 chain: h H r d a f F (see add_ext) */
	uint16_t ethertype;   /* fam 'E' */
	bool poke;            /* write poke_val at L3 start + poke_at */
	uint8_t poke_at, poke_val;
	/* host */
	uint8_t mode;
	uint8_t deadline;
	bool mask_set;
	uint32_t mask;
	/* answer */
	int act;
	enum pw_reason why;
	enum pw_counter_kind ck;
	const char *krole;
	uint8_t kproto;
	uint16_t klo, khi;
	uint8_t kverdict;
};

#define P4(s, pr, po) .fam = 4, .src = (s), .proto = (pr), .port = (po)
#define P6(s, pr, po) .fam = 6, .src = (s), .proto = (pr), .port = (po)
#define MASK(v) .mask_set = true, .mask = (v)
#define SLOT(r, pr, lo, hi, v)                                              \
	.ck = PW_COUNTER_SLOT, .krole = (r), .kproto = (pr), .klo = (lo), \
	.khi = (hi), .kverdict = (v)
#define UNNAMED(r, pr, po, v)                                                 \
	.ck = PW_COUNTER_UNNAMED, .krole = (r), .kproto = (pr), .klo = (po), \
	.khi = (po), .kverdict = (v)
#define ALLOW PW_VERDICT_ALLOW
#define AUDIT PW_VERDICT_AUDIT
#define VDROP PW_VERDICT_DROP
#define ALLM PW_REASON_DROPPABLE_MASK

static const struct row basic_rows[] = {
	/* allowed, violations on named and unnamed ports, unknown source */
	{ "v4 tcp allowed", P4(APP4, 6, 3306), .mode = A, .act = PASS,
	  SLOT("app", 6, 3306, 3306, ALLOW) },
	{ "v6 tcp allowed, enforce", P6(APP6, 6, 3306), .mode = E, .act = PASS,
	  SLOT("app", 6, 3306, 3306, ALLOW) },
	{ "v4 named violation, audit", P4(OPS4, 6, 3306), .mode = A,
	  .act = PASS, SLOT("ops", 6, 3306, 3306, AUDIT) },
	{ "v4 named violation, enforce", P4(OPS4, 6, 3306), .mode = E,
	  .act = DROP, SLOT("ops", 6, 3306, 3306, VDROP) },
	{ "v6 named violation, enforce", P6(OPS6, 6, 3306), .mode = E,
	  .act = DROP, SLOT("ops", 6, 3306, 3306, VDROP) },
	{ "v4 unknown source, enforce", P4(UNK4, 6, 3306), .mode = E,
	  .act = DROP, SLOT("unknown", 6, 3306, 3306, VDROP) },
	{ "v6 unknown source, audit", P6(UNK6, 6, 3306), .mode = A,
	  .act = PASS, SLOT("unknown", 6, 3306, 3306, AUDIT) },
	{ "v4 unnamed port, audit", P4(APP4, 6, 8080), .mode = A, .act = PASS,
	  UNNAMED("app", 6, 8080, AUDIT) },
	{ "v4 unnamed port, enforce", P4(APP4, 6, 8080), .mode = E,
	  .act = DROP, UNNAMED("app", 6, 8080, VDROP) },
	{ "v6 udp unnamed, unknown source", P6(UNK6, 17, 9999), .mode = E,
	  .act = DROP, UNNAMED("unknown", 17, 9999, VDROP) },
	{ "tcp-only port is unnamed for udp", P4(APP4, 17, 3306), .mode = A,
	  .act = PASS, UNNAMED("app", 17, 3306, AUDIT) },
	{ "tagged rule off: unnamed", P4(OPS4, 6, 8443), .mode = E,
	  .act = DROP, UNNAMED("ops", 6, 8443, VDROP) },
	{ "unparsed protocol v4", P4(APP4, 47, 0), .mode = E, .act = DROP,
	  UNNAMED("app", 47, 0, VDROP) },
	{ "unparsed protocol v6", P6(APP6, 59, 0), .mode = A, .act = PASS,
	  UNNAMED("app", 59, 0, AUDIT) },
	/* ranges */
	{ "range allowed", P4(DB4, 6, 4001), .mode = E, .act = PASS,
	  SLOT("db", 6, 4000, 4003, ALLOW) },
	{ "high range, low end", P4(WEB4, 6, 20000), .mode = E, .act = PASS,
	  SLOT("web", 6, 20000, 65535, ALLOW) },
	{ "high range, top port, /22 source", P4(WEB4B, 6, 65535), .mode = E,
	  .act = PASS, SLOT("web", 6, 20000, 65535, ALLOW) },
	{ "below the high range", P4(WEB4, 6, 19999), .mode = E, .act = DROP,
	  UNNAMED("web", 6, 19999, VDROP) },
	{ "high range, other role", P6(APP6, 6, 40000), .mode = A,
	  .act = PASS, SLOT("app", 6, 20000, 65535, AUDIT) },
	/* per-rule mode overrides and the deadline */
	{ "rule enforce while host audits", P4(APP4, 6, 4002), .mode = A,
	  .act = DROP, SLOT("app", 6, 4000, 4003, VDROP) },
	{ "rule enforce, deadline past", P4(APP4, 6, 4002), .mode = A,
	  .deadline = DL_PAST, .act = PASS, SLOT("app", 6, 4000, 4003, AUDIT) },
	{ "rule enforce, deadline ahead", P4(APP4, 6, 4002), .mode = A,
	  .deadline = DL_FUTURE, .act = DROP,
	  SLOT("app", 6, 4000, 4003, VDROP) },
	{ "rule audit while host enforces", P4(APP4, 6, 5000), .mode = E,
	  .act = PASS, SLOT("app", 6, 5000, 5000, AUDIT) },
	{ "rule audit port allowed", P4(OPS4, 6, 5000), .mode = E,
	  .act = PASS, SLOT("ops", 6, 5000, 5000, ALLOW) },
	{ "host enforce, deadline past", P4(OPS4, 6, 3306), .mode = E,
	  .deadline = DL_PAST, .act = PASS, SLOT("ops", 6, 3306, 3306, AUDIT) },
	{ "host enforce, deadline ahead", P4(OPS4, 6, 3306), .mode = E,
	  .deadline = DL_FUTURE, .act = DROP,
	  SLOT("ops", 6, 3306, 3306, VDROP) },
	{ "unnamed, deadline past", P4(APP4, 6, 8081), .mode = E,
	  .deadline = DL_PAST, .act = PASS, UNNAMED("app", 6, 8081, AUDIT) },
	/* loopback-only port */
	{ "loopback port, audit", P4(APP4, 6, 2003), .mode = A, .act = PASS,
	  SLOT("app", 6, 2003, 2003, AUDIT) },
	{ "loopback port, enforce", P6(APP6, 6, 2003), .mode = E, .act = DROP,
	  SLOT("app", 6, 2003, 2003, VDROP) },
	{ "loopback udp from the host's own role", P4(DB4, 17, 2003),
	  .mode = E, .act = DROP, SLOT("db", 17, 2003, 2003, VDROP) },
	/* other protocols */
	{ "udp allowed from any", P6(UNK6, 17, 53), .mode = E, .act = PASS,
	  SLOT("unknown", 17, 53, 53, ALLOW) },
	{ "sctp allowed", P4(APP4, 132, 9000), .mode = E, .act = PASS,
	  SLOT("app", 132, 9000, 9000, ALLOW) },
	{ "sctp violation", P6(OPS6, 132, 9000), .mode = E, .act = DROP,
	  SLOT("ops", 132, 9000, 9000, VDROP) },
	{ "sctp unnamed", P4(APP4, 132, 9001), .mode = A, .act = PASS,
	  UNNAMED("app", 132, 9001, AUDIT) },
	{ "icmp echo allowed", P4(OPS4, 1, 8), .mode = E, .act = PASS,
	  SLOT("ops", 1, 8, 8, ALLOW) },
	{ "icmp echo violation", P4(APP4, 1, 8), .mode = E, .act = DROP,
	  SLOT("app", 1, 8, 8, VDROP) },
	{ "icmp echo reply unnamed", P4(APP4, 1, 0), .mode = E, .act = DROP,
	  UNNAMED("app", 1, 0, VDROP) },
	{ "icmp frag-needed passes", P4(UNK4, 1, 3), .code = 4, .mode = E,
	  .act = PASS, .why = PW_REASON_ICMP_PMTU },
	{ "icmp port unreachable judged", P4(UNK4, 1, 3), .code = 3,
	  .mode = E, .act = DROP, UNNAMED("unknown", 1, 3, VDROP) },
	{ "icmpv6 echo allowed", P6(UNK6, 58, 128), .mode = E, .act = PASS,
	  SLOT("unknown", 58, 128, 128, ALLOW) },
	{ "icmpv6 echo reply unnamed", P6(UNK6, 58, 129), .mode = E,
	  .act = DROP, UNNAMED("unknown", 58, 129, VDROP) },
	{ "icmpv6 packet-too-big passes", P6(UNK6, 58, 2), .mode = E,
	  .act = PASS, .why = PW_REASON_ICMP_PMTU },
	{ "ndp router solicitation", P6(UNK6, 58, 133), .mode = E,
	  .act = PASS, .why = PW_REASON_NDP },
	{ "ndp neighbour solicitation", P6(UNK6, 58, 135), .mode = E,
	  .act = PASS, .why = PW_REASON_NDP },
	{ "ndp neighbour advertisement", P6(UNK6, 58, 136), .mode = E,
	  .act = PASS, .why = PW_REASON_NDP },
	{ "ndp redirect", P6(UNK6, 58, 137), .mode = E, .act = PASS,
	  .why = PW_REASON_NDP },
	{ "mld query", P6(UNK6, 58, 130), .mode = E, .act = PASS,
	  .why = PW_REASON_NDP },
	{ "mld done", P6(UNK6, 58, 132), .mode = E, .act = PASS,
	  .why = PW_REASON_NDP },
	{ "mldv2 report", P6(UNK6, 58, 143), .mode = E, .act = PASS,
	  .why = PW_REASON_NDP },
	{ "icmpv6 142 judged", P6(UNK6, 58, 142), .mode = E, .act = DROP,
	  UNNAMED("unknown", 58, 142, VDROP) },
	{ "icmpv6 138 judged", P6(UNK6, 58, 138), .mode = E, .act = DROP,
	  UNNAMED("unknown", 58, 138, VDROP) },
	/* literal peers */
	{ "literal v4 peer", P4(LIT4, 6, 22), .mode = E, .act = PASS,
	  SLOT("198.18.200.7/32", 6, 22, 22, ALLOW) },
	{ "literal v6 peer", P6(LIT6, 6, 22), .mode = E, .act = PASS,
	  SLOT("2001:db8:200::7/128", 6, 22, 22, ALLOW) },
	{ "next to the literal peer", P4("198.18.200.8", 6, 22), .mode = E,
	  .act = DROP, SLOT("unknown", 6, 22, 22, VDROP) },
	/* VLAN tags */
	{ "one 802.1Q tag", P4(APP4, 6, 3306), .vlan = "q", .mode = E,
	  .act = PASS, SLOT("app", 6, 3306, 3306, ALLOW) },
	{ "one 802.1ad tag", P6(OPS6, 6, 3306), .vlan = "s", .mode = E,
	  .act = DROP, SLOT("ops", 6, 3306, 3306, VDROP) },
	{ "802.1ad + 802.1Q", P4(APP4, 6, 3306), .vlan = "sq", .mode = E,
	  .act = PASS, SLOT("app", 6, 3306, 3306, ALLOW) },
	{ "two 802.1Q tags, v6", P6(APP6, 6, 3306), .vlan = "qq", .mode = E,
	  .act = PASS, SLOT("app", 6, 3306, 3306, ALLOW) },
	{ "three tags, enforce", P4(APP4, 6, 3306), .vlan = "sqq", .mode = E,
	  .act = DROP, .why = PW_REASON_VLAN_TOO_DEEP },
	{ "three tags, audit", P4(APP4, 6, 3306), .vlan = "qqq", .mode = A,
	  .act = PASS, .why = PW_REASON_VLAN_TOO_DEEP },
	{ "three tags, enforce, not in mask", P4(APP4, 6, 3306), .vlan = "sss",
	  .mode = E, MASK(0), .act = PASS, .why = PW_REASON_VLAN_TOO_DEEP },
	/* IPv4 options and fragments */
	{ "v4 4 option bytes", P4(APP4, 6, 3306), .v4opt = 4, .mode = E,
	  .act = PASS, SLOT("app", 6, 3306, 3306, ALLOW) },
	{ "v4 40 option bytes", P4(OPS4, 17, 53), .v4opt = 40, .mode = E,
	  .act = PASS, SLOT("ops", 17, 53, 53, ALLOW) },
	{ "v4 first fragment judged", P4(OPS4, 6, 3306), .mf = true,
	  .mode = E, .act = DROP, SLOT("ops", 6, 3306, 3306, VDROP) },
	{ "v4 non-first fragment, default mask", P4(OPS4, 6, 0), .frag = 100,
	  .mf = true, .mode = E, .act = PASS, .why = PW_REASON_FRAG_NONFIRST },
	{ "v4 last fragment, all droppable", P4(OPS4, 6, 0), .frag = 1,
	  .mode = E, MASK(ALLM), .act = DROP, .why = PW_REASON_FRAG_NONFIRST },
	{ "v4 non-first fragment, audit", P4(OPS4, 6, 0), .frag = 1,
	  .mode = A, MASK(ALLM), .act = PASS, .why = PW_REASON_FRAG_NONFIRST },
	{ "v4 DF set is not a fragment", P4(APP4, 6, 3306), .poke = true,
	  .poke_at = 6, .poke_val = 0x40, .mode = E, .act = PASS,
	  SLOT("app", 6, 3306, 3306, ALLOW) },
	/* IPv6 extension headers */
	{ "v6 hop-by-hop", P6(APP6, 6, 3306), .ext = "h", .mode = E,
	  .act = PASS, SLOT("app", 6, 3306, 3306, ALLOW) },
	{ "v6 routing", P6(OPS6, 6, 3306), .ext = "r", .mode = E, .act = DROP,
	  SLOT("ops", 6, 3306, 3306, VDROP) },
	{ "v6 destination options", P6(APP6, 17, 53), .ext = "d", .mode = E,
	  .act = PASS, SLOT("app", 17, 53, 53, ALLOW) },
	{ "v6 first fragment", P6(APP6, 6, 3306), .ext = "f", .mode = E,
	  .act = PASS, SLOT("app", 6, 3306, 3306, ALLOW) },
	{ "v6 AH", P6(APP6, 132, 9000), .ext = "a", .mode = E, .act = PASS,
	  SLOT("app", 132, 9000, 9000, ALLOW) },
	{ "v6 AH then icmpv6", P6(UNK6, 58, 128), .ext = "ha", .mode = E,
	  .act = PASS, SLOT("unknown", 58, 128, 128, ALLOW) },
	{ "v6 non-first fragment, default mask", P6(APP6, 6, 0), .ext = "F",
	  .mode = E, .act = PASS, .why = PW_REASON_FRAG_NONFIRST },
	{ "v6 non-first fragment, all droppable", P6(APP6, 6, 0), .ext = "hF",
	  .mode = E, MASK(ALLM), .act = DROP, .why = PW_REASON_FRAG_NONFIRST },
	{ "v6 six headers", P6(APP6, 6, 3306), .ext = "hrdfad", .mode = E,
	  .act = PASS, SLOT("app", 6, 3306, 3306, ALLOW) },
	{ "v6 seven headers, enforce", P6(APP6, 6, 3306), .ext = "hrdfadd",
	  .mode = E, .act = DROP, .why = PW_REASON_EXTHDR_TOO_DEEP },
	{ "v6 seven headers, audit", P6(APP6, 6, 3306), .ext = "Hrrrrrr",
	  .mode = A, .act = PASS, .why = PW_REASON_EXTHDR_TOO_DEEP },
	{ "v6 six headers, tagged", P6(OPS6, 58, 129), .vlan = "sq",
	  .ext = "aaaaaa", .mode = E, .act = DROP,
	  UNNAMED("ops", 58, 129, VDROP) },
	/* not IP */
	{ "arp", .fam = 'A', .mode = E, MASK(~0U), .act = PASS,
	  .why = PW_REASON_ARP },
	{ "arp behind a tag", .fam = 'A', .vlan = "q", .mode = E, MASK(~0U),
	  .act = PASS, .why = PW_REASON_ARP },
	{ "lldp", .fam = 'E', .ethertype = 0x88cc, .mode = E, MASK(~0U),
	  .act = PASS, .why = PW_REASON_NON_IP },
	{ "mpls behind two tags", .fam = 'E', .ethertype = 0x8847,
	  .vlan = "sq", .mode = E, MASK(~0U), .act = PASS,
	  .why = PW_REASON_NON_IP },
	/* bad L3 */
	{ "v4 ihl 4", P4(APP4, 6, 3306), .poke = true, .poke_at = 0,
	  .poke_val = 0x44, .mode = E, .act = DROP, .why = PW_REASON_BAD_L3 },
	{ "v4 version 6", P4(APP4, 6, 3306), .poke = true, .poke_at = 0,
	  .poke_val = 0x65, .mode = A, .act = PASS, .why = PW_REASON_BAD_L3 },
	{ "v6 version 4", P6(APP6, 6, 3306), .poke = true, .poke_at = 0,
	  .poke_val = 0x40, .mode = E, .act = DROP, .why = PW_REASON_BAD_L3 },
	{ "v4 ihl 15, short", P4(APP4, 6, 3306), .poke = true, .poke_at = 0,
	  .poke_val = 0x4f, .mode = E, .act = DROP, .why = PW_REASON_TRUNC_L3 },
	{ "v4 ihl 6 moves the ports", P4(APP4, 17, 53), .poke = true,
	  .poke_at = 0, .poke_val = 0x46, .mode = E, .act = DROP,
	  .why = PW_REASON_TRUNC_L4 },
	{ "v6 ext length runs past the end", P6(APP6, 6, 3306), .ext = "d",
	  .poke = true, .poke_at = 41, .poke_val = 9, .mode = E, .act = DROP,
	  .why = PW_REASON_TRUNC_L4 },
	/* the unchecked mask */
	{ "bad l3, mask without it", P4(APP4, 6, 3306), .poke = true,
	  .poke_at = 0, .poke_val = 0x43, .mode = E,
	  MASK(1U << PW_REASON_TRUNC_L3), .act = PASS,
	  .why = PW_REASON_BAD_L3 },
	{ "bad l3, mask with only it", P4(APP4, 6, 3306), .poke = true,
	  .poke_at = 0, .poke_val = 0x43, .mode = E,
	  MASK(1U << PW_REASON_BAD_L3), .act = DROP, .why = PW_REASON_BAD_L3 },
	{ "bad l3, enforce past deadline", P4(APP4, 6, 3306), .poke = true,
	  .poke_at = 0, .poke_val = 0x43, .mode = E, .deadline = DL_PAST,
	  MASK(ALLM), .act = PASS, .why = PW_REASON_BAD_L3 },
	{ "pmtu with every mask bit", P4(APP4, 1, 3), .code = 4, .mode = E,
	  MASK(~0U), .act = PASS, .why = PW_REASON_ICMP_PMTU },
};

/* The replication-manager seed policy, at a DB host with Galera. */
static const struct row repman_db_rows[] = {
	{ "repman -> db 3306", P4("198.18.1.10", 6, 3306), .mode = E,
	  .act = PASS, SLOT("repman", 6, 3306, 3306, ALLOW) },
	{ "repman -> db 3306 v6", P6("2001:db8:1::10", 6, 3306), .mode = E,
	  .act = PASS, SLOT("repman", 6, 3306, 3306, ALLOW) },
	{ "galera tcp 4567", P4("198.18.2.12", 6, 4567), .mode = E,
	  .act = PASS, SLOT("db", 6, 4567, 4567, ALLOW) },
	{ "galera udp 4567", P6("2001:db8:2::13", 17, 4567), .mode = E,
	  .act = PASS, SLOT("db", 17, 4567, 4567, ALLOW) },
	{ "app on galera port, audit", P4("198.18.4.11", 6, 4567), .mode = A,
	  .act = PASS, SLOT("app", 6, 4567, 4567, AUDIT) },
	{ "app -> db 3306, enforce", P4("198.18.4.11", 6, 3306), .mode = E,
	  .act = DROP, SLOT("app", 6, 3306, 3306, VDROP) },
	{ "bastion ssh", P4("198.18.5.10", 6, 22), .mode = E, .act = PASS,
	  SLOT("bastion", 6, 22, 22, ALLOW) },
	{ "operator ssh straight to db", P6("2001:db8:10::11", 6, 22),
	  .mode = E, .act = DROP, SLOT("operator", 6, 22, 22, VDROP) },
	{ "api port is not a db port", P4("198.18.10.11", 6, 10005),
	  .mode = A, .act = PASS, UNNAMED("operator", 6, 10005, AUDIT) },
};

/* The same policy at the repman host. */
static const struct row repman_host_rows[] = {
	{ "grafana -> api", P4("198.18.6.10", 6, 10005), .mode = E,
	  .act = PASS, SLOT("grafana", 6, 10005, 10005, ALLOW) },
	{ "carbon from the wire", P4("198.18.6.10", 6, 2003), .mode = E,
	  .act = DROP, SLOT("grafana", 6, 2003, 2003, VDROP) },
	{ "sst stream", P6("2001:db8:2::11", 6, 4002), .mode = E, .act = PASS,
	  SLOT("db", 6, 4000, 4003, ALLOW) },
	{ "sst stream from app", P4("198.18.4.200", 6, 4003), .mode = A,
	  .act = PASS, SLOT("app", 6, 4000, 4003, AUDIT) },
};

/* ------------------------------------------------------------------ */
/* Frames                                                              */
/* ------------------------------------------------------------------ */

static const uint8_t dst4[4] = { 198, 18, 2, 10 };
static const uint8_t dst6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 2,
				  [15] = 0x10 };

static void add_ext(struct pb *p, char e)
{
	switch (e) {
	case 'h':
		pb_v6_ext(p, PB_V6_HOP, 8);
		break;
	case 'H':
		pb_v6_ext(p, PB_V6_HOP, 16);
		break;
	case 'r':
		pb_v6_ext(p, PB_V6_ROUTING, 24);
		break;
	case 'd':
		pb_v6_ext(p, PB_V6_DSTOPTS, 8);
		break;
	case 'a':
		pb_v6_ext(p, PB_V6_AH, 16);
		break;
	case 'f':
		pb_v6_frag(p, 0, true);
		break;
	case 'F':
		pb_v6_frag(p, 100, false);
		break;
	default:
		fail_msg("bad extension header code '%c'", e);
	}
}

static void add_l4(struct pb *p, uint8_t proto, uint16_t port, uint8_t code)
{
	switch (proto) {
	case 6:
		pb_tcp(p, 40000, port);
		break;
	case 17:
		pb_udp(p, 40000, port);
		break;
	case 132:
		pb_sctp(p, 40000, port);
		break;
	case 1:
		pb_icmp(p, (uint8_t)port, code);
		break;
	case 58:
		pb_icmp6(p, (uint8_t)port, code);
		break;
	default:
		pb_l4_raw(p, proto, 8, 0x5a);
		break;
	}
}

/* The frame of @r, finished. Returns the offset of the L3 header. */
static size_t build_row_frame(const struct row *r, struct pb *p)
{
	uint8_t src[16];
	size_t l3;

	pb_init(p);
	pb_eth(p);
	for (const char *v = r->vlan; v && *v; v++)
		pb_vlan(p, *v == 's' ? PB_ETH_P_8021AD : PB_ETH_P_8021Q,
			(uint16_t)(100 + (v - r->vlan)));
	l3 = p->len;
	switch (r->fam) {
	case 4:
		pb_addr4(r->src, src);
		pb_ipv4_opts(p, src, dst4, r->v4opt);
		if (r->frag || r->mf)
			pb_ipv4_frag(p, r->frag, r->mf);
		break;
	case 6:
		pb_addr6(r->src, src);
		pb_ipv6(p, src, dst6);
		for (const char *e = r->ext; e && *e; e++)
			add_ext(p, *e);
		break;
	case 'A':
		pb_arp(p);
		break;
	default:
		pb_set_next(p, r->ethertype);
		pb_payload(p, 46);
		break;
	}
	if (r->fam == 4 || r->fam == 6)
		add_l4(p, r->proto, r->port, r->code);
	pb_finish(p);
	if (r->poke)
		p->buf[l3 + r->poke_at] = r->poke_val;
	return l3;
}

/* ------------------------------------------------------------------ */
/* Checking one frame                                                  */
/* ------------------------------------------------------------------ */

static struct xr X;
static int rows_run;
/* The oracle does not model pw_unnamed: tell it when the table is full. */
static bool unnamed_table_full;

static uint64_t deadline_ns(uint8_t d)
{
	return d == DL_PAST ? 1 : d == DL_FUTURE ? UINT64_MAX - 1 : 0;
}

static void configure(uint8_t mode, uint8_t deadline, bool mask_set,
		      uint32_t mask)
{
	int err = xr_set_config(&X, mode, deadline_ns(deadline),
				mask_set ? mask : PW_UNCHECKED_DROP_DEFAULT);

	assert_int_equal(err, 0);
}

/*
 * Run @pkt through the program and the oracle; the oracle must match the
 * expectation @want (action, reason, counter kind, counter index or key),
 * and the program must return the action and move exactly that counter.
 */
static void check_frame(const char *name, const uint8_t *pkt, uint32_t len,
			const struct pw_classify_result *want)
{
	struct pw_classify_result got;
	struct xr_snap before, after;
	char why[256], a[256], b[256], hex[3 * PB_MAX + 1];
	int retval = -1, err;

	pw_classify(X.c, &X.cfg, xr_now(), pkt, len, &got);
	if (unnamed_table_full)
		pw_classify_unnamed_full(&got);
	xr_result_text(&got, a, sizeof(a));
	xr_result_text(want, b, sizeof(b));
	if (got.action != want->action || got.reason != want->reason ||
	    got.counter != want->counter ||
	    (want->counter == PW_COUNTER_SLOT &&
	     got.counter_index != want->counter_index) ||
	    (want->counter == PW_COUNTER_UNNAMED &&
	     memcmp(&got.key, &want->key, sizeof(got.key))))
		fail_msg("%s: oracle says\n  %s\nexpected\n  %s\n%s", name, a,
			 b, pb_hex(pkt, len, hex));

	assert_int_equal(xr_snap_take(&X, &before), 0);
	err = xr_run(&X, pkt, len, &retval);
	if (err)
		fail_msg("%s: test run failed: %d", name, err);
	assert_int_equal(xr_snap_take(&X, &after), 0);
	if (retval != want->action)
		fail_msg("%s: program returned %d, expected %d\n%s", name,
			 retval, want->action, pb_hex(pkt, len, hex));
	if (!xr_snap_delta_ok(&before, &after, want, why, sizeof(why)))
		fail_msg("%s: counters: %s; expected %s\n%s", name, why, b,
			 pb_hex(pkt, len, hex));
	xr_snap_free(&before);
	xr_snap_free(&after);
	rows_run++;
}

/* The hand-worked answer of @r as a classifier result. */
static void expected_result(const struct row *r, uint32_t len,
			    struct pw_classify_result *w)
{
	int role;

	memset(w, 0, sizeof(*w));
	w->action = r->act;
	w->reason = r->why;
	w->counter = r->ck;
	w->len = len;
	if (r->ck == PW_COUNTER_NONE)
		return;
	role = xr_role_id(X.c, r->krole);
	if (role < 0)
		fail_msg("%s: no role '%s' in the compiled policy", r->name,
			 r->krole);
	w->key = (struct pw_counter_key){ .dir = PW_DIR_INGRESS,
					  .proto = r->kproto,
					  .role = (uint16_t)role,
					  .port_lo = r->klo,
					  .port_hi = r->khi,
					  .verdict = r->kverdict };
	if (r->ck == PW_COUNTER_SLOT) {
		int64_t slot = xr_find_slot(X.c, r->kproto, role, r->klo,
					    r->khi);

		if (slot < 0)
			fail_msg("%s: no slot for %s %u %u-%u", r->name,
				 r->krole, r->kproto, r->klo, r->khi);
		w->slot = (uint32_t)slot;
		w->counter_index = pw_counter_index(w->slot, r->kverdict);
	}
}

static void run_rows(const struct row *rows, size_t n)
{
	struct pw_classify_result want;
	struct pb p;

	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];

		build_row_frame(r, &p);
		configure(r->mode, r->deadline, r->mask_set, r->mask);
		expected_result(r, (uint32_t)p.len, &want);
		check_frame(r->name, p.buf, (uint32_t)p.len, &want);
	}
}

/* ------------------------------------------------------------------ */
/* Suites                                                              */
/* ------------------------------------------------------------------ */

static struct xr_policy TP;

static int setup_program(void **state)
{
	static const char *const roles[] = { "db" };
	struct pw_caps caps;

	if (xr_policy_compile(&TP, false, test_policy, test_inventory, roles,
			      1, NULL, 0))
		return -1;
	pw_caps_default(&caps);
	pw_caps_fit(&caps, &TP.c);
	if (xr_open(&X, &caps))
		return -1;
	return xr_install(&X, &TP.c) ? -1 : 0;
}

static int teardown_program(void **state)
{
	xr_close(&X);
	xr_policy_free(&TP);
	fprintf(stderr, "xdp: %d frames checked\n", rows_run);
	return 0;
}

static int install_test_policy(void **state)
{
	return xr_install(&X, &TP.c);
}

static void test_rows(void **state)
{
	run_rows(basic_rows, sizeof(basic_rows) / sizeof(basic_rows[0]));
}

/* A frame cut inside header @h: which reason that is. */
static enum pw_reason reason_for_cut(enum pb_hdr h)
{
	switch (h) {
	case PB_H_ETH:
	case PB_H_VLAN:
		return PW_REASON_TRUNC_L2;
	case PB_H_IPV4:
	case PB_H_IPV6:
		return PW_REASON_TRUNC_L3;
	default:
		return PW_REASON_TRUNC_L4;
	}
}

/* The header that byte @cut falls in (the first incomplete one). */
static enum pb_hdr header_at(const struct pb *p, size_t cut)
{
	int i = 0;

	while (i + 1 < p->nmarks && p->mark[i + 1] <= cut)
		i++;
	return p->mark_hdr[i];
}

/*
 * Cut each frame at every header boundary and one byte short of it, and
 * one byte short of the end.  Frames shorter than an Ethernet header are
 * refused by BPF_PROG_TEST_RUN itself; the oracle still calls them
 * trunc-l2.
 */
static void test_truncated(void **state)
{
	static const struct row shapes[] = {
		{ "v4 sq opts tcp", P4(APP4, 6, 3306), .vlan = "sq", .v4opt = 8 },
		{ "v4 udp", P4(OPS4, 17, 53) },
		{ "v4 q sctp", P4(APP4, 132, 9000), .vlan = "q" },
		{ "v4 icmp", P4(OPS4, 1, 8) },
		{ "v6 chain tcp", P6(APP6, 6, 3306), .ext = "hrfad" },
		{ "v6 s icmpv6", P6(UNK6, 58, 128), .vlan = "s" },
		{ "v6 AH udp", P6(APP6, 17, 53), .ext = "aH" },
		{ "v6 qq frag sctp", P6(APP6, 132, 9000), .vlan = "qq", .ext = "f" },
	};
	struct pw_classify_result want, oracle;
	char name[96];
	struct pb full;

	configure(E, DL_NONE, false, 0);
	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		build_row_frame(&shapes[s], &full);
		size_t cuts[2 * PB_MAX_MARKS + 2];
		int ncuts = 0;

		for (int m = 1; m < full.nmarks; m++) {
			cuts[ncuts++] = full.mark[m];
			cuts[ncuts++] = full.mark[m] - 1;
		}
		cuts[ncuts++] = full.len - 1;
		cuts[ncuts++] = 13;
		for (int i = 0; i < ncuts; i++) {
			size_t cut = cuts[i];
			int retval;

			snprintf(name, sizeof(name), "%s cut at %zu of %zu",
				 shapes[s].name, cut, full.len);
			memset(&want, 0, sizeof(want));
			want.reason = reason_for_cut(header_at(&full, cut));
			want.action = DROP;
			want.len = (uint32_t)cut;
			if (cut >= 14) {
				check_frame(name, full.buf, (uint32_t)cut,
					    &want);
				continue;
			}
			pw_classify(X.c, &X.cfg, 0, full.buf, (uint32_t)cut,
				    &oracle);
			assert_int_equal(oracle.reason, PW_REASON_TRUNC_L2);
			assert_int_equal(xr_run(&X, full.buf, (uint32_t)cut,
						&retval),
					 -EINVAL);
		}
		/* the whole frame is judged */
		pw_classify(X.c, &X.cfg, 0, full.buf, (uint32_t)full.len,
			    &oracle);
		assert_int_equal(oracle.reason, PW_REASON_CLASSIFIED);
	}
	/* truncated frames pass in audit mode and with an empty mask */
	build_row_frame(&shapes[4], &full);
	configure(A, DL_NONE, false, 0);
	memset(&want, 0, sizeof(want));
	want.action = PASS;
	want.reason = PW_REASON_TRUNC_L4;
	want.len = (uint32_t)full.len - 1;
	check_frame("v6 chain cut, audit", full.buf, want.len, &want);
	configure(E, DL_NONE, true, 0);
	check_frame("v6 chain cut, empty mask", full.buf, want.len, &want);
}

/* The policy switch flips generations; rows still hold after several. */
static void test_reinstall(void **state)
{
	for (int i = 0; i < 3; i++)
		assert_int_equal(xr_install(&X, &TP.c), 0);
	run_rows(basic_rows, 8);
}

static struct xr_policy RP;

static int load_repman(const char *role)
{
	const char *roles[] = { role };
	const char *tags[] = { "galera" };

	xr_policy_free(&RP);
	if (access(PW_SOURCE_ROOT "/policies/replication-manager.policy", R_OK))
		return 1;
	if (xr_policy_compile(&RP, true,
			      PW_SOURCE_ROOT "/policies/replication-manager.policy",
			      PW_SOURCE_ROOT "/policies/examples/replication-manager.inventory",
			      roles, 1, tags, 1))
		return -1;
	return xr_install(&X, &RP.c);
}

static void test_seed_policy(void **state)
{
	struct pw_caps need = X.caps;
	int err = load_repman("db");

	if (err == 1)
		skip();
	assert_int_equal(err, 0);
	pw_caps_fit(&need, &RP.c);
	assert_memory_equal(&need, &X.caps, sizeof(need));
	run_rows(repman_db_rows,
		 sizeof(repman_db_rows) / sizeof(repman_db_rows[0]));
	assert_int_equal(load_repman("repman"), 0);
	run_rows(repman_host_rows,
		 sizeof(repman_host_rows) / sizeof(repman_host_rows[0]));
	assert_int_equal(xr_install(&X, &TP.c), 0);
	xr_policy_free(&RP);
}

/*
 * A tiny pw_unnamed: once it holds unnamed_cap keys, a new key is counted
 * only as reason unnamed-full (same action), while keys already present
 * keep counting.  Uses its own program instance.
 */
static void test_unnamed_full(void **state)
{
	struct pw_classify_result want;
	struct xr saved = X;
	struct pw_caps caps;
	char name[64];
	struct pb p;
	const unsigned cap = 4;

	pw_caps_default(&caps);
	pw_caps_fit(&caps, &TP.c);
	caps.unnamed_cap = cap;
	assert_int_equal(xr_open(&X, &caps), 0);
	assert_int_equal(xr_install(&X, &TP.c), 0);
	configure(E, DL_NONE, false, 0);
	for (unsigned i = 0; i < cap + 3; i++) {
		struct row r = { "unnamed", P4(APP4, 6, (uint16_t)(7000 + i)),
				 .act = DROP };

		build_row_frame(&r, &p);
		pw_classify(X.c, &X.cfg, 0, p.buf, (uint32_t)p.len, &want);
		assert_int_equal(want.counter, PW_COUNTER_UNNAMED);
		if (i >= cap)
			pw_classify_unnamed_full(&want);
		snprintf(name, sizeof(name), "unnamed key %u of cap %u", i + 1,
			 cap);
		unnamed_table_full = i >= cap;
		check_frame(name, p.buf, (uint32_t)p.len, &want);
		unnamed_table_full = false;
		assert_int_equal(want.action, DROP);
	}
	/* an existing key still counts; a named slot is unaffected */
	{
		struct row again = { "again", P4(APP4, 6, 7001) };
		struct row named = { "named", P4(APP4, 6, 3306) };

		build_row_frame(&again, &p);
		pw_classify(X.c, &X.cfg, 0, p.buf, (uint32_t)p.len, &want);
		check_frame("existing unnamed key", p.buf, (uint32_t)p.len,
			    &want);
		build_row_frame(&named, &p);
		pw_classify(X.c, &X.cfg, 0, p.buf, (uint32_t)p.len, &want);
		assert_int_equal(want.counter, PW_COUNTER_SLOT);
		check_frame("named slot with a full table", p.buf,
			    (uint32_t)p.len, &want);
		/* after a reset there is room again */
		assert_int_equal(pw_maps_reset_counters(&X.m), 0);
		build_row_frame(&again, &p);
		pw_classify(X.c, &X.cfg, 0, p.buf, (uint32_t)p.len, &want);
		check_frame("unnamed after reset", p.buf, (uint32_t)p.len,
			    &want);
	}
	xr_close(&X);
	X = saved;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_rows, install_test_policy),
		cmocka_unit_test_setup(test_truncated, install_test_policy),
		cmocka_unit_test_setup(test_reinstall, install_test_policy),
		cmocka_unit_test_setup(test_seed_policy, install_test_policy),
		cmocka_unit_test_setup(test_unnamed_full, install_test_policy),
	};

	xr_require_root("test_xdp");
	return cmocka_run_group_tests(tests, setup_program, teardown_program);
}
