/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * classify.h - the reference classifier.
 *
 * A plain C reading of the datapath classification (the algorithm the XDP
 * ingress and tc egress programs implement), written apart from the BPF
 * code so that the two can be compared packet by packet.  It reads one
 * compiled generation (struct pw_compiled) directly and never touches a
 * map.  `portwarden explain` uses it to say what the datapath would do
 * with a packet.
 *
 * It is stateless on purpose: it says what the datapath does with a packet
 * that belongs to no known flow.  Replies of tracked flows (pw_flows) are
 * not modelled; a test that compares the two empties the flow table
 * between packets.  One kind of reply needs no flow and is modelled: an
 * egress packet that is not the start of a flow (not a TCP SYN without
 * ACK, not an echo request) and answers what an ingress rule lets in (its
 * source port, or for an echo reply the echo request, allowed in from the
 * destination's role).  The datapath counts it as a reply on that ingress
 * rule's row and records the flow then; here it has verdict
 * PW_VERDICT_REPLY.
 */
#ifndef PW_CLASSIFY_H
#define PW_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portwarden.h"
#include "compile.h"

/*
 * What happens to the packet, in XDP's numbers (without pulling in
 * <linux/bpf.h>) whatever the direction: the tc egress program says the
 * same with TC_ACT_SHOT and TC_ACT_OK.
 */
#define PW_XDP_DROP 1
#define PW_XDP_PASS 2

/* Which counter map a classified packet touches. */
enum pw_counter_kind {
	PW_COUNTER_NONE = 0,    /* only the reason counter (not classified) */
	PW_COUNTER_SLOT = 1,    /* pw_counters[counter_index] */
	PW_COUNTER_UNNAMED = 2, /* pw_unnamed[key] */
};

struct pw_classify_result {
	int action;             /* PW_XDP_PASS or PW_XDP_DROP */
	uint8_t dir;            /* enum pw_dir the packet was classified in */
	enum pw_reason reason;  /* the one reason counter incremented, at
				 * pw_reason_index(dir, reason) */
	enum pw_counter_kind counter;
	uint32_t slot;          /* PW_COUNTER_SLOT: the slot */
	uint32_t counter_index; /* slot * PW_NVERDICT + verdict */
	/*
	 * The counter key with its verdict: for a slot, pw_slots[slot] with
	 * the verdict filled in (zeroed when the slot is out of range); for
	 * an unnamed violation, exactly the pw_unnamed key.
	 */
	struct pw_counter_key key;
	uint8_t verdict;        /* enum pw_verdict, when counter != NONE;
				 * REPLY: an egress answer, counted on the
				 * ingress rule's slot */
	uint32_t rule_id;       /* PW_RULE_NONE unless a rule entry decided */
	uint8_t entry_flags;    /* pw_rule_entry.flags of that entry */
	uint8_t entry_mode;     /* pw_rule_entry.mode of that entry */
	uint32_t seg;           /* segment, PW_SEG_NONE if none */

	/* What the parser saw; valid from the point the parse reached. */
	uint8_t family;         /* 4, 6, or 0 (not IP) */
	uint8_t saddr[16];      /* network order; IPv4 in [0..3] */
	uint8_t daddr[16];
	uint16_t ethertype;     /* after VLAN tags */
	uint8_t nvlan;
	uint8_t ipproto;        /* L4 protocol number */
	int proto_idx;          /* enum pw_proto_idx, or -1 if not parsed */
	uint16_t port;          /* destination port / ICMP type; 0 if none */
	uint16_t sport;         /* source port / ICMP code; 0 if none */
	uint8_t tcp_flags;      /* TCP: the flags byte; 0 otherwise */
	uint32_t role;          /* peer role id (0 = unknown): the source's
				 * on ingress, the destination's on egress */
	uint32_t len;           /* bytes counted: the whole frame */
};

/*
 * Classify one frame of @len bytes seen in direction @dir (PW_DIR_INGRESS:
 * arriving, the XDP program; PW_DIR_EGRESS: leaving, the tc program)
 * against @c with host config @cfg at monotonic time @now (ns).  On egress
 * the peer is the destination, the egress tables apply, and a violation
 * (or an unchecked frame) drops only when @cfg has PW_CFG_EGRESS_ENFORCE.
 * Always fills @res and returns its action.  The unnamed-counter table is
 * not modelled: a result with counter == PW_COUNTER_UNNAMED assumes the
 * insert succeeded; see pw_classify_unnamed_full() for the other case.
 */
int pw_classify_dir(const struct pw_compiled *c, const struct pw_config *cfg,
		    uint64_t now, enum pw_dir dir, const void *pkt,
		    uint32_t len, struct pw_classify_result *res);

/* pw_classify_dir() for an ingress frame. */
int pw_classify(const struct pw_compiled *c, const struct pw_config *cfg,
		uint64_t now, const void *pkt, uint32_t len,
		struct pw_classify_result *res);

/*
 * Turn a result whose unnamed insert would fail (table full) into what the
 * datapath does then: reason UNNAMED_FULL and no counter, same action.
 * No-op for other results.
 */
void pw_classify_unnamed_full(struct pw_classify_result *res);

/* Static names: "classified", "trunc-l2", ...; "?" when out of range. */
const char *pw_reason_name(unsigned reason);
const char *pw_verdict_name(unsigned verdict);

/*
 * One human line describing @res, e.g.
 *   "tcp/3306 from 198.18.1.10 (role repman): allowed by rule 4 -> pass"
 *   "egress tcp/8080 to 198.18.1.10 (role repman): violation ... -> pass"
 * @c (may be NULL) gives role names and rule lines.  Returns what
 * snprintf would (the length of the full line).
 */
int pw_classify_describe(const struct pw_compiled *c,
			 const struct pw_classify_result *res, char *buf,
			 size_t size);

/*
 * Build an untagged Ethernet frame for a 5-tuple, for `explain`.
 * @family 4 or 6; @src/@dst network order (4 or 16 bytes); @ipproto any IP
 * protocol number.  TCP/UDP/SCTP get @sport/@dport; ICMP and ICMPv6 take
 * @dport as the message type and @sport as the code; other protocols get
 * 8 zero bytes of payload.  Returns the frame length, or -1 if @cap is too
 * small or the family is unknown.
 */
int pw_classify_build_packet(int family, const uint8_t *src,
			     const uint8_t *dst, uint8_t ipproto,
			     uint16_t sport, uint16_t dport, uint8_t *buf,
			     size_t cap);

#endif /* PW_CLASSIFY_H */
