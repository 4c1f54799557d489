// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * classify.c - the reference classifier (see classify.h).
 *
 * This file follows the datapath specification step by step and shares no
 * code with bpf/: it is the oracle the BPF programs are tested against, so
 * it favours plain, obviously-bounded reads over speed.  Every read of the
 * packet goes through need(), which checks it against the frame length.
 * Both directions parse alike; they differ in whose role is looked up,
 * which tables apply and when a violation may drop (see judge()).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "classify.h"

#define ETH_HLEN_ 14
#define ETH_P_IPV4_ 0x0800
#define ETH_P_IPV6_ 0x86DD
#define ETH_P_ARP_ 0x0806
#define ETH_P_8021Q_ 0x8100
#define ETH_P_8021AD_ 0x88A8

#define V6_HOP 0
#define V6_ROUTING 43
#define V6_FRAGMENT 44
#define V6_AH 51
#define V6_DSTOPTS 60

/* A read-only view of the frame. */
struct frame {
	const uint8_t *b;
	uint64_t len;
};

/* Are the @n bytes at @off inside the frame? */
static bool need(const struct frame *f, uint64_t off, uint64_t n)
{
	return off <= f->len && n <= f->len - off;
}

static uint16_t rd16(const struct frame *f, uint64_t off)
{
	return (uint16_t)(f->b[off] << 8 | f->b[off + 1]);
}

/* ------------------------------------------------------------------ */
/* Mode                                                                */
/* ------------------------------------------------------------------ */

static bool host_enforce(const struct pw_config *cfg, uint64_t now,
			 unsigned mode)
{
	unsigned m = mode != PW_MODE_HOST ? mode : cfg->mode;

	if (m != PW_MODE_ENFORCE)
		return false;
	/* past the deadline, enforce acts as audit */
	return cfg->enforce_deadline_ns == 0 || now <= cfg->enforce_deadline_ns;
}

/* Egress only drops when the host opted in; else it is always audited. */
static bool dir_enforce(const struct pw_config *cfg, uint64_t now,
			unsigned dir, unsigned mode)
{
	if (dir == PW_DIR_EGRESS && !(cfg->flags & PW_CFG_EGRESS_ENFORCE))
		return false;
	return host_enforce(cfg, now, mode);
}

/* ------------------------------------------------------------------ */
/* Source role                                                         */
/* ------------------------------------------------------------------ */

/* One DIR-16-8-8 step into group @e's entry @byte; false if out of range. */
static bool v4_group_step(const struct pw_compiled *c, uint32_t *e,
			  uint32_t byte)
{
	uint32_t group = *e & ~PW_V4_GROUP;

	if (!c->v4_tbl8 || group >= c->v4_ngroups)
		return false;
	*e = c->v4_tbl8[(uint64_t)group * PW_V4_GROUP_SIZE + (byte & 0xff)];
	return true;
}

static uint32_t role_of_v4(const struct pw_compiled *c, const uint8_t a[4])
{
	uint32_t addr = (uint32_t)a[0] << 24 | a[1] << 16 | a[2] << 8 | a[3];
	uint32_t e;

	if (!c->v4_tbl16)
		return PW_ROLE_UNKNOWN;
	e = c->v4_tbl16[addr >> 16];
	if ((e & PW_V4_GROUP) && !v4_group_step(c, &e, addr >> 8))
		return PW_ROLE_UNKNOWN;
	if ((e & PW_V4_GROUP) && !v4_group_step(c, &e, addr))
		return PW_ROLE_UNKNOWN;
	if ((e & PW_V4_GROUP) || e >= c->nroles)
		return PW_ROLE_UNKNOWN;
	return e;
}

static void mask_v6(uint8_t out[16], const uint8_t in[16], unsigned plen)
{
	for (unsigned i = 0; i < 16; i++) {
		unsigned bits = plen > i * 8 ? plen - i * 8 : 0;

		if (bits >= 8)
			out[i] = in[i];
		else
			out[i] = in[i] & (uint8_t)(0xff00 >> bits);
	}
}

/* Linear search of the prefix list stands in for the per-length hash. */
static bool v6_find(const struct pw_compiled *c, unsigned plen,
		    const uint8_t masked[16], uint32_t *role)
{
	for (uint32_t i = 0; i < c->nv6; i++) {
		const struct pw_v6_key *k = &c->v6[i].key;

		if (k->plen == plen && !memcmp(k->addr, masked, 16)) {
			*role = c->v6[i].role;
			return true;
		}
	}
	return false;
}

static uint32_t role_of_v6(const struct pw_compiled *c, const uint8_t a[16])
{
	uint32_t n = c->info.v6_nplens;
	uint8_t masked[16];
	uint32_t role;

	if (n > PW_MAX_V6_PLENS)
		n = PW_MAX_V6_PLENS;
	for (uint32_t i = 0; i < n; i++) {
		unsigned plen = c->info.v6_plens[i];

		mask_v6(masked, a, plen);
		if (v6_find(c, plen, masked, &role))
			return role;
	}
	return PW_ROLE_UNKNOWN;
}

/* ------------------------------------------------------------------ */
/* Parsing                                                             */
/* ------------------------------------------------------------------ */

/*
 * Each parse step returns the reason that ends classification early, or
 * PW_REASON_CLASSIFIED to go on.
 */

/* Steps 1-3: Ethernet and VLAN tags; leaves the L3 offset in *off. */
static enum pw_reason parse_l2(const struct frame *f, uint64_t *off,
			       struct pw_classify_result *r)
{
	uint16_t type;

	if (!need(f, 0, ETH_HLEN_))
		return PW_REASON_TRUNC_L2;
	type = rd16(f, 12);
	*off = ETH_HLEN_;
	while (type == ETH_P_8021Q_ || type == ETH_P_8021AD_) {
		if (r->nvlan == PW_MAX_VLAN)
			return PW_REASON_VLAN_TOO_DEEP;
		if (!need(f, *off, 4))
			return PW_REASON_TRUNC_L2;
		type = rd16(f, *off + 2);
		*off += 4;
		r->nvlan++;
	}
	r->ethertype = type;
	if (type == ETH_P_ARP_)
		return PW_REASON_ARP;
	if (type != ETH_P_IPV4_ && type != ETH_P_IPV6_)
		return PW_REASON_NON_IP;
	return PW_REASON_CLASSIFIED;
}

/* Step 4: IPv4; *off moves from the IP header to the L4 header. */
static enum pw_reason parse_ipv4(const struct frame *f, uint64_t *off,
				 struct pw_classify_result *r)
{
	uint64_t ip = *off;
	unsigned ihl;

	if (!need(f, ip, 20))
		return PW_REASON_TRUNC_L3;
	ihl = f->b[ip] & 0x0f;
	if ((f->b[ip] >> 4) != 4 || ihl < 5)
		return PW_REASON_BAD_L3;
	if (!need(f, ip, ihl * 4))
		return PW_REASON_TRUNC_L3;
	r->family = 4;
	memcpy(r->saddr, f->b + ip + 12, 4);
	memcpy(r->daddr, f->b + ip + 16, 4);
	r->ipproto = f->b[ip + 9];
	if (rd16(f, ip + 6) & 0x1fff)
		return PW_REASON_FRAG_NONFIRST;
	*off = ip + ihl * 4;
	return PW_REASON_CLASSIFIED;
}

static bool v6_is_ext(unsigned nh)
{
	return nh == V6_HOP || nh == V6_ROUTING || nh == V6_FRAGMENT ||
	       nh == V6_DSTOPTS || nh == V6_AH;
}

/* One extension header at *off: advance past it, update *nh. */
static enum pw_reason v6_ext_step(const struct frame *f, uint64_t *off,
				  uint8_t *nh)
{
	uint64_t o = *off;

	switch (*nh) {
	case V6_FRAGMENT:
		if (!need(f, o, 8))
			return PW_REASON_TRUNC_L4;
		if ((rd16(f, o + 2) >> 3) & 0x1fff)
			return PW_REASON_FRAG_NONFIRST;
		*nh = f->b[o];
		*off = o + 8;
		return PW_REASON_CLASSIFIED;
	case V6_AH:
		if (!need(f, o, 2))
			return PW_REASON_TRUNC_L4;
		*nh = f->b[o];
		*off = o + ((uint64_t)f->b[o + 1] + 2) * 4;
		return PW_REASON_CLASSIFIED;
	default: /* hop-by-hop, routing, destination options */
		if (!need(f, o, 2))
			return PW_REASON_TRUNC_L4;
		*nh = f->b[o];
		*off = o + ((uint64_t)f->b[o + 1] + 1) * 8;
		return PW_REASON_CLASSIFIED;
	}
}

/* Step 5: IPv6 and its extension header chain. */
static enum pw_reason parse_ipv6(const struct frame *f, uint64_t *off,
				 struct pw_classify_result *r)
{
	uint64_t ip = *off, o = ip + 40;
	enum pw_reason why;
	uint8_t nh;

	if (!need(f, ip, 40))
		return PW_REASON_TRUNC_L3;
	if ((f->b[ip] >> 4) != 6)
		return PW_REASON_BAD_L3;
	r->family = 6;
	memcpy(r->saddr, f->b + ip + 8, 16);
	memcpy(r->daddr, f->b + ip + 24, 16);
	nh = f->b[ip + 6];
	for (int i = 0; i < PW_MAX_EXTHDR && v6_is_ext(nh); i++) {
		why = v6_ext_step(f, &o, &nh);
		if (why != PW_REASON_CLASSIFIED)
			return why;
	}
	if (v6_is_ext(nh))
		return PW_REASON_EXTHDR_TOO_DEEP;
	r->ipproto = nh;
	*off = o;
	return PW_REASON_CLASSIFIED;
}

/* Step 6: the L4 header at @l4. */
static enum pw_reason parse_l4(const struct frame *f, uint64_t l4,
			       struct pw_classify_result *r)
{
	switch (r->ipproto) {
	case PW_IPPROTO_TCP:
	case PW_IPPROTO_UDP:
	case PW_IPPROTO_SCTP: {
		unsigned hlen = r->ipproto == PW_IPPROTO_TCP ? 20 :
				r->ipproto == PW_IPPROTO_UDP ? 8 : 12;

		if (!need(f, l4, hlen))
			return PW_REASON_TRUNC_L4;
		r->sport = rd16(f, l4);
		r->port = rd16(f, l4 + 2);
		if (r->ipproto == PW_IPPROTO_TCP)
			r->tcp_flags = f->b[l4 + 13];
		r->proto_idx = r->ipproto == PW_IPPROTO_TCP ? PW_P_TCP :
			       r->ipproto == PW_IPPROTO_UDP ? PW_P_UDP :
							      PW_P_SCTP;
		return PW_REASON_CLASSIFIED;
	}
	case PW_IPPROTO_ICMP:
		if (!need(f, l4, 8))
			return PW_REASON_TRUNC_L4;
		r->port = f->b[l4];
		r->sport = f->b[l4 + 1];
		r->proto_idx = PW_P_ICMP;
		if (r->port == 3 && r->sport == 4)
			return PW_REASON_ICMP_PMTU;
		return PW_REASON_CLASSIFIED;
	case PW_IPPROTO_ICMPV6:
		if (!need(f, l4, 8))
			return PW_REASON_TRUNC_L4;
		r->port = f->b[l4];
		r->sport = f->b[l4 + 1];
		r->proto_idx = PW_P_ICMPV6;
		if (r->port == 2)
			return PW_REASON_ICMP_PMTU;
		/* ND 133-137 and MLD 130-132, 143 always pass */
		if ((r->port >= 130 && r->port <= 137) || r->port == 143)
			return PW_REASON_NDP;
		return PW_REASON_CLASSIFIED;
	default:
		r->port = 0;
		r->proto_idx = -1;
		return PW_REASON_CLASSIFIED;
	}
}

static enum pw_reason parse(const struct frame *f,
			    struct pw_classify_result *r)
{
	enum pw_reason why;
	uint64_t off;

	why = parse_l2(f, &off, r);
	if (why != PW_REASON_CLASSIFIED)
		return why;
	if (r->ethertype == ETH_P_IPV4_)
		why = parse_ipv4(f, &off, r);
	else
		why = parse_ipv6(f, &off, r);
	if (why != PW_REASON_CLASSIFIED)
		return why;
	return parse_l4(f, off, r);
}

/* ------------------------------------------------------------------ */
/* Verdict                                                             */
/* ------------------------------------------------------------------ */

static uint16_t seg_of(const struct pw_compiled *c, unsigned dir,
		       int proto_idx, uint16_t port)
{
	uint64_t row;

	if (proto_idx < 0 || proto_idx >= PW_NPROTO || !c->ports)
		return PW_SEG_NONE;
	row = (uint64_t)dir * PW_NPROTO + proto_idx;
	row = row * PW_PORT_ROWS + port / PW_PORTS_PER_ROW;
	return c->ports[row].seg[port % PW_PORTS_PER_ROW];
}

static const struct pw_rule_entry *entry_of(const struct pw_compiled *c,
					    unsigned dir, uint32_t seg,
					    uint32_t role)
{
	if (!c->entries || seg >= c->nsegs_max || role >= c->nroles)
		return NULL;
	return &c->entries[((uint64_t)dir * c->nsegs_max + seg) * c->nroles +
			   role];
}

static void judge_by_entry(const struct pw_compiled *c,
			   const struct pw_config *cfg, uint64_t now,
			   const struct pw_rule_entry *e,
			   struct pw_classify_result *r)
{
	if (e->flags & PW_ENTRY_ALLOW)
		r->verdict = PW_VERDICT_ALLOW;
	else if (dir_enforce(cfg, now, r->dir, e->mode))
		r->verdict = PW_VERDICT_DROP;
	else
		r->verdict = PW_VERDICT_AUDIT;
	r->rule_id = e->rule_id;
	r->entry_flags = e->flags;
	r->entry_mode = e->mode;
	r->counter = PW_COUNTER_SLOT;
	r->slot = e->slot;
	r->counter_index = pw_counter_index(e->slot, r->verdict);
	if (c->slots && e->slot < c->nslots)
		r->key = c->slots[e->slot];
	r->key.verdict = r->verdict;
}

static void judge_unnamed(const struct pw_config *cfg, uint64_t now,
			  struct pw_classify_result *r)
{
	r->verdict = dir_enforce(cfg, now, r->dir, PW_MODE_HOST) ?
			     PW_VERDICT_DROP :
			     PW_VERDICT_AUDIT;
	r->counter = PW_COUNTER_UNNAMED;
	r->key.dir = r->dir;
	r->key.proto = r->ipproto;
	r->key.role = (uint16_t)r->role;
	r->key.port_lo = r->port;
	r->key.port_hi = r->port;
	r->key.verdict = r->verdict;
}

#define TCP_SYN 0x02
#define TCP_ACK 0x10
#define ICMP_ECHO_REPLY 0
#define ICMP_ECHO_REQUEST 8
#define ICMPV6_ECHO_REQUEST 128
#define ICMPV6_ECHO_REPLY 129

/*
 * The port an egress packet answers: the one the packet it answers went
 * to.  False when the packet takes no part in flows (neither TCP, UDP,
 * SCTP nor an ICMP echo), or starts one (a SYN without ACK, an echo
 * request): those are judged.
 */
static bool answered_port(const struct pw_classify_result *r, uint16_t *port)
{
	switch (r->proto_idx) {
	case PW_P_TCP:
		if ((r->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN)
			return false;
		*port = r->sport;
		return true;
	case PW_P_UDP:
	case PW_P_SCTP:
		*port = r->sport;
		return true;
	case PW_P_ICMP:
		*port = ICMP_ECHO_REQUEST;
		return r->port == ICMP_ECHO_REPLY;
	case PW_P_ICMPV6:
		*port = ICMPV6_ECHO_REQUEST;
		return r->port == ICMPV6_ECHO_REPLY;
	default:
		return false;
	}
}

/*
 * An egress packet that answers what an ingress rule lets in from the
 * destination's role: with no flow known, the datapath takes it as the
 * reply of that inbound flow (a flow older than the load, or UDP, which
 * has no SYN to remember).  Counted on the ingress rule's slot.
 */
static bool judge_answer(const struct pw_compiled *c,
			 struct pw_classify_result *r)
{
	const struct pw_rule_entry *e = NULL;
	uint16_t port;
	uint32_t seg;

	if (r->dir != PW_DIR_EGRESS || !answered_port(r, &port))
		return false;
	seg = seg_of(c, PW_DIR_INGRESS, r->proto_idx, port);
	if (seg != PW_SEG_NONE)
		e = entry_of(c, PW_DIR_INGRESS, seg, r->role);
	if (!e || !(e->flags & PW_ENTRY_ALLOW) ||
	    (e->flags & PW_ENTRY_LOOPBACK))
		return false;
	r->verdict = PW_VERDICT_REPLY;
	r->rule_id = e->rule_id;
	r->entry_flags = e->flags;
	r->entry_mode = e->mode;
	r->seg = seg;
	r->counter = PW_COUNTER_SLOT;
	r->slot = e->slot;
	r->counter_index = pw_counter_index(e->slot, PW_VERDICT_REPLY);
	if (c->slots && e->slot < c->nslots)
		r->key = c->slots[e->slot];
	r->key.verdict = PW_VERDICT_REPLY;
	r->action = PW_XDP_PASS;
	return true;
}

/*
 * Steps 7-9, for a packet that parsed up to its L4 port.  The peer is the
 * source of an arriving packet and the destination of a leaving one; the
 * port is the destination port both ways (the service being reached).
 */
static void judge(const struct pw_compiled *c, const struct pw_config *cfg,
		  uint64_t now, struct pw_classify_result *r)
{
	const uint8_t *peer = r->dir == PW_DIR_EGRESS ? r->daddr : r->saddr;
	const struct pw_rule_entry *e = NULL;

	r->role = r->family == 4 ? role_of_v4(c, peer) : role_of_v6(c, peer);
	if (judge_answer(c, r))
		return;
	r->seg = seg_of(c, r->dir, r->proto_idx, r->port);
	if (r->seg != PW_SEG_NONE)
		e = entry_of(c, r->dir, r->seg, r->role);
	if (e)
		judge_by_entry(c, cfg, now, e, r);
	else
		judge_unnamed(cfg, now, r);
	r->action = r->verdict == PW_VERDICT_DROP ? PW_XDP_DROP : PW_XDP_PASS;
}

/* Step 10: what happens to a packet that could not be judged. */
static int unchecked_action(const struct pw_config *cfg, uint64_t now,
			    unsigned dir, enum pw_reason why)
{
	uint32_t bit = 1U << why;

	if (!(cfg->unchecked_drop & PW_REASON_DROPPABLE_MASK & bit))
		return PW_XDP_PASS;
	return dir_enforce(cfg, now, dir, PW_MODE_HOST) ? PW_XDP_DROP :
							  PW_XDP_PASS;
}

int pw_classify_dir(const struct pw_compiled *c, const struct pw_config *cfg,
		    uint64_t now, enum pw_dir dir, const void *pkt,
		    uint32_t len, struct pw_classify_result *res)
{
	struct frame f = { .b = pkt, .len = len };
	enum pw_reason why;

	memset(res, 0, sizeof(*res));
	res->dir = dir == PW_DIR_EGRESS ? PW_DIR_EGRESS : PW_DIR_INGRESS;
	res->proto_idx = -1;
	res->len = len;
	why = parse(&f, res);
	res->reason = why;
	if (why != PW_REASON_CLASSIFIED) {
		res->action = unchecked_action(cfg, now, res->dir, why);
		return res->action;
	}
	judge(c, cfg, now, res);
	return res->action;
}

int pw_classify(const struct pw_compiled *c, const struct pw_config *cfg,
		uint64_t now, const void *pkt, uint32_t len,
		struct pw_classify_result *res)
{
	return pw_classify_dir(c, cfg, now, PW_DIR_INGRESS, pkt, len, res);
}

void pw_classify_unnamed_full(struct pw_classify_result *res)
{
	if (res->counter != PW_COUNTER_UNNAMED)
		return;
	res->counter = PW_COUNTER_NONE;
	res->reason = PW_REASON_UNNAMED_FULL;
}

/* ------------------------------------------------------------------ */
/* Names and descriptions                                              */
/* ------------------------------------------------------------------ */

static const char *const reason_names[PW_NREASON] = {
	[PW_REASON_CLASSIFIED] = "classified",
	[PW_REASON_ARP] = "arp",
	[PW_REASON_NON_IP] = "non-ip",
	[PW_REASON_TRUNC_L2] = "trunc-l2",
	[PW_REASON_VLAN_TOO_DEEP] = "vlan-too-deep",
	[PW_REASON_TRUNC_L3] = "trunc-l3",
	[PW_REASON_BAD_L3] = "bad-l3",
	[PW_REASON_FRAG_NONFIRST] = "frag-nonfirst",
	[PW_REASON_EXTHDR_TOO_DEEP] = "exthdr-too-deep",
	[PW_REASON_TRUNC_L4] = "trunc-l4",
	[PW_REASON_ICMP_PMTU] = "icmp-pmtu",
	[PW_REASON_NDP] = "ndp",
	[PW_REASON_UNNAMED_FULL] = "unnamed-full",
};

const char *pw_reason_name(unsigned reason)
{
	return reason < PW_NREASON ? reason_names[reason] : "?";
}

const char *pw_verdict_name(unsigned verdict)
{
	static const char *const names[PW_NVERDICT] = { "allow", "audit",
							"drop", "reply" };

	return verdict < PW_NVERDICT ? names[verdict] : "?";
}

/* Why a reason that stops classification was given, in words. */
static const char *reason_words(enum pw_reason why)
{
	switch (why) {
	case PW_REASON_ARP:
		return "ARP always passes";
	case PW_REASON_NON_IP:
		return "not IP, always passes";
	case PW_REASON_TRUNC_L2:
		return "Ethernet/VLAN header cut short";
	case PW_REASON_VLAN_TOO_DEEP:
		return "more than 2 VLAN tags";
	case PW_REASON_TRUNC_L3:
		return "IP header cut short";
	case PW_REASON_BAD_L3:
		return "bad IP version or header length";
	case PW_REASON_FRAG_NONFIRST:
		return "non-first fragment, no L4 header to check";
	case PW_REASON_EXTHDR_TOO_DEEP:
		return "IPv6 extension header chain too long";
	case PW_REASON_TRUNC_L4:
		return "L4 or extension header cut short";
	case PW_REASON_ICMP_PMTU:
		return "path MTU message always passes";
	case PW_REASON_NDP:
		return "neighbour discovery always passes";
	case PW_REASON_UNNAMED_FULL:
		return "unnamed counter table full";
	default:
		return "classified";
	}
}

static const char *proto_word(uint8_t ipproto)
{
	switch (ipproto) {
	case PW_IPPROTO_TCP:
		return "tcp";
	case PW_IPPROTO_UDP:
		return "udp";
	case PW_IPPROTO_SCTP:
		return "sctp";
	case PW_IPPROTO_ICMP:
		return "icmp";
	case PW_IPPROTO_ICMPV6:
		return "icmpv6";
	default:
		return NULL;
	}
}

static const char *role_word(const struct pw_compiled *c, uint32_t role)
{
	if (role == PW_ROLE_UNKNOWN)
		return "unknown";
	if (c && c->role_names && role < c->nroles &&
	    c->role_names[role].name[0])
		return c->role_names[role].name;
	return "?";
}

static int rule_line(const struct pw_compiled *c, uint32_t rule_id)
{
	const struct pw_policy *pol = c ? c->pol : NULL;

	if (!pol || rule_id == PW_RULE_NONE)
		return 0;
	for (int i = 0; i < pol->nrules; i++)
		if (pol->rules[i].id == rule_id)
			return pol->rules[i].loc.line;
	return 0;
}

/*
 * "tcp/3306 from 198.18.1.10 (role db)", "ip proto 47 from ...", and on
 * egress "egress tcp/3306 to 198.18.1.10 (role db)".
 */
static int describe_flow(const struct pw_compiled *c,
			 const struct pw_classify_result *r, char *buf,
			 size_t size)
{
	const char *pw = proto_word(r->ipproto);
	bool egress = r->dir == PW_DIR_EGRESS;
	char addr[INET6_ADDRSTRLEN] = "?";
	char what[32];

	inet_ntop(r->family == 4 ? AF_INET : AF_INET6,
		  egress ? r->daddr : r->saddr, addr, sizeof(addr));
	if (!pw)
		snprintf(what, sizeof(what), "ip proto %u", r->ipproto);
	else if (r->proto_idx == PW_P_ICMP || r->proto_idx == PW_P_ICMPV6)
		snprintf(what, sizeof(what), "%s type %u", pw, r->port);
	else
		snprintf(what, sizeof(what), "%s/%u", pw, r->port);
	return snprintf(buf, size, "%s%s %s %s (role %s)",
			egress ? "egress " : "", what, egress ? "to" : "from",
			addr, role_word(c, r->role));
}

static const char *action_word(int action)
{
	return action == PW_XDP_DROP ? "drop" : "pass";
}

static int describe_verdict(const struct pw_compiled *c,
			    const struct pw_classify_result *r, char *buf,
			    size_t size)
{
	int line = rule_line(c, r->rule_id);
	char at[32] = "";

	if (line > 0)
		snprintf(at, sizeof(at), " (line %d)", line);
	if (r->counter == PW_COUNTER_SLOT && r->verdict == PW_VERDICT_REPLY)
		return snprintf(buf, size,
				"answers what rule %u%s lets in (%u-%u), reply",
				r->rule_id, at, r->key.port_lo,
				r->key.port_hi);
	if (r->counter == PW_COUNTER_SLOT && r->verdict == PW_VERDICT_ALLOW)
		return snprintf(buf, size, "allowed by rule %u%s",
				r->rule_id, at);
	if (r->counter == PW_COUNTER_SLOT)
		return snprintf(buf, size, "%sviolation of rule %u%s, %s",
				(r->entry_flags & PW_ENTRY_LOOPBACK) ?
					"loopback-only port: " : "",
				r->rule_id, at, pw_verdict_name(r->verdict));
	if (r->reason == PW_REASON_UNNAMED_FULL)
		return snprintf(buf, size,
				"violation on a port no rule names (%s)",
				reason_words(r->reason));
	return snprintf(buf, size, "violation on a port no rule names, %s",
			pw_verdict_name(r->verdict));
}

int pw_classify_describe(const struct pw_compiled *c,
			 const struct pw_classify_result *r, char *buf,
			 size_t size)
{
	char flow[128], verdict[128];

	if (r->reason != PW_REASON_CLASSIFIED &&
	    r->reason != PW_REASON_UNNAMED_FULL)
		return snprintf(buf, size, "not classified: %s (%s) -> %s",
				pw_reason_name(r->reason),
				reason_words(r->reason),
				action_word(r->action));
	describe_flow(c, r, flow, sizeof(flow));
	describe_verdict(c, r, verdict, sizeof(verdict));
	return snprintf(buf, size, "%s: %s -> %s", flow, verdict,
			action_word(r->action));
}

/* ------------------------------------------------------------------ */
/* Packet for a 5-tuple                                                */
/* ------------------------------------------------------------------ */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static uint16_t ipv4_csum(const uint8_t *h, size_t n)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < n; i += 2)
		sum += (uint32_t)(h[i] << 8 | h[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* L4 header for the tuple; returns its length. */
static size_t put_l4(uint8_t *l4, uint8_t ipproto, uint16_t sport,
		     uint16_t dport)
{
	switch (ipproto) {
	case PW_IPPROTO_TCP:
		put16(l4, sport);
		put16(l4 + 2, dport);
		l4[12] = 5 << 4; /* data offset */
		l4[13] = 0x02;   /* SYN */
		put16(l4 + 14, 65535);
		return 20;
	case PW_IPPROTO_UDP:
		put16(l4, sport);
		put16(l4 + 2, dport);
		put16(l4 + 4, 8);
		return 8;
	case PW_IPPROTO_SCTP:
		put16(l4, sport);
		put16(l4 + 2, dport);
		return 12;
	case PW_IPPROTO_ICMP:
	case PW_IPPROTO_ICMPV6:
		l4[0] = (uint8_t)dport;
		l4[1] = (uint8_t)sport;
		return 8;
	default:
		return 8;
	}
}

int pw_classify_build_packet(int family, const uint8_t *src,
			     const uint8_t *dst, uint8_t ipproto,
			     uint16_t sport, uint16_t dport, uint8_t *buf,
			     size_t cap)
{
	size_t l3 = family == 4 ? 20 : 40, l4len, total = ETH_HLEN_ + l3 + 20;
	uint8_t *ip = buf + ETH_HLEN_;

	if ((family != 4 && family != 6) || cap < total)
		return -1;
	memset(buf, 0, total);
	/* locally administered MACs */
	memcpy(buf, "\x02\x00\x00\x00\x00\x01", 6);
	memcpy(buf + 6, "\x02\x00\x00\x00\x00\x02", 6);
	put16(buf + 12, family == 4 ? ETH_P_IPV4_ : ETH_P_IPV6_);
	l4len = put_l4(ip + l3, ipproto, sport, dport);
	if (family == 4) {
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(20 + l4len));
		ip[8] = 64;
		ip[9] = ipproto;
		memcpy(ip + 12, src, 4);
		memcpy(ip + 16, dst, 4);
		put16(ip + 10, ipv4_csum(ip, 20));
	} else {
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)l4len);
		ip[6] = ipproto;
		ip[7] = 64;
		memcpy(ip + 8, src, 16);
		memcpy(ip + 24, dst, 16);
	}
	return (int)(ETH_HLEN_ + l3 + l4len);
}
