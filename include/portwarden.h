/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * portwarden.h - the one header shared by the BPF programs and user space.
 *
 * Everything the kernel side and the loader must agree on lives here: map
 * value layouts, index arithmetic, verdict and reason codes, limits.
 *
 * Rules for editing:
 *  - codes (verdicts, reasons, modes, flags) are append-only: a number once
 *    given out keeps its meaning, because pinned maps outlive binaries;
 *  - every shared struct has explicit padding and a _Static_assert on its
 *    size, so that BPF (clang -target bpf) and user space (gcc, x86-64) can
 *    never disagree about a layout;
 *  - only __u8/__u16/__u32/__u64 types, from <linux/types.h>.
 */
#ifndef PORTWARDEN_H
#define PORTWARDEN_H

#include <linux/types.h>

/* ------------------------------------------------------------------ */
/* Generations, directions, protocols                                  */
/* ------------------------------------------------------------------ */

/*
 * Two policy generations live side by side in every table.  The loader
 * fills the inactive one completely and then flips pw_config.active_gen;
 * a packet reads active_gen once and uses only that generation's rows.
 */
#define PW_NGEN 2

enum pw_dir {
	PW_DIR_INGRESS = 0, /* checked at the destination role's hosts */
	PW_DIR_EGRESS = 1,  /* checked at the source role's hosts */
	PW_NDIR = 2,
};

/*
 * Protocol index used to select a port table.  Counter keys carry the IP
 * protocol number instead (6, 17, 132, 1, 58, or anything else seen).
 * For ICMP and ICMPv6 the "port" is the message type (0-255).
 */
enum pw_proto_idx {
	PW_P_TCP = 0,
	PW_P_UDP = 1,
	PW_P_SCTP = 2,
	PW_P_ICMP = 3,
	PW_P_ICMPV6 = 4,
	PW_NPROTO = 5,
};

#define PW_IPPROTO_ICMP 1
#define PW_IPPROTO_TCP 6
#define PW_IPPROTO_UDP 17
#define PW_IPPROTO_ICMPV6 58
#define PW_IPPROTO_SCTP 132

/* ------------------------------------------------------------------ */
/* Verdicts, modes, reasons (append-only)                              */
/* ------------------------------------------------------------------ */

/* The verdict part of a counter key. */
enum pw_verdict {
	PW_VERDICT_ALLOW = 0, /* a rule allows it */
	PW_VERDICT_AUDIT = 1, /* violation, passed because the mode is audit */
	PW_VERDICT_DROP = 2,  /* violation, dropped because the mode is enforce */
	PW_VERDICT_REPLY = 3, /* reply of a tracked flow (egress/flow issue) */
	PW_NVERDICT = 4,
};

/* Host mode (pw_config.mode) and per-rule override (pw_rule_entry.mode). */
enum pw_mode {
	PW_MODE_HOST = 0,    /* rule entries only: follow the host's mode */
	PW_MODE_AUDIT = 1,
	PW_MODE_ENFORCE = 2,
};

/*
 * Why a packet was not (or not only) judged by a rule.  Each has its own
 * per-CPU counter in pw_reasons.  PW_REASON_CLASSIFIED counts packets that
 * went through the role/port lookup.
 */
enum pw_reason {
	PW_REASON_CLASSIFIED = 0,      /* judged by the policy */
	PW_REASON_ARP = 1,             /* ARP: always passes */
	PW_REASON_NON_IP = 2,          /* other ethertype: always passes */
	PW_REASON_TRUNC_L2 = 3,        /* Ethernet or VLAN header cut short */
	PW_REASON_VLAN_TOO_DEEP = 4,   /* more than PW_MAX_VLAN tags */
	PW_REASON_TRUNC_L3 = 5,        /* IPv4/IPv6 header cut short */
	PW_REASON_BAD_L3 = 6,          /* IPv4 IHL < 5 or version mismatch */
	PW_REASON_FRAG_NONFIRST = 7,   /* fragment with offset > 0: no L4 header */
	PW_REASON_EXTHDR_TOO_DEEP = 8, /* IPv6 chain longer than PW_MAX_EXTHDR */
	PW_REASON_TRUNC_L4 = 9,        /* L4 header (or IPv6 ext header) cut short */
	PW_REASON_ICMP_PMTU = 10,      /* frag-needed / packet-too-big: always passes */
	PW_REASON_NDP = 11,            /* ICMPv6 ND 133-137, MLD 130-132/143: always pass */
	PW_REASON_UNNAMED_FULL = 12,   /* pw_unnamed was full: counted here only */
	PW_NREASON = 13,
};

/*
 * Reasons whose verdict the operator may choose (pw_config.unchecked_drop):
 * bit (1 << reason) set means "drop when the host is in enforce mode".
 * ARP, non-IP, PMTU and NDP always pass: dropping them breaks the host.
 */
#define PW_REASON_DROPPABLE_MASK                                              \
	((1U << PW_REASON_TRUNC_L2) | (1U << PW_REASON_VLAN_TOO_DEEP) |       \
	 (1U << PW_REASON_TRUNC_L3) | (1U << PW_REASON_BAD_L3) |              \
	 (1U << PW_REASON_FRAG_NONFIRST) | (1U << PW_REASON_EXTHDR_TOO_DEEP) | \
	 (1U << PW_REASON_TRUNC_L4))

/* Default: in enforce mode drop what cannot be checked, except non-first
 * fragments (their first fragment was judged; dropping it kills the datagram). */
#define PW_UNCHECKED_DROP_DEFAULT \
	(PW_REASON_DROPPABLE_MASK & ~(1U << PW_REASON_FRAG_NONFIRST))

/* ------------------------------------------------------------------ */
/* Limits                                                              */
/* ------------------------------------------------------------------ */

#define PW_MAX_VLAN 2          /* 802.1Q / 802.1ad tags parsed */
#define PW_MAX_EXTHDR 6        /* IPv6 extension headers walked */
#define PW_MAX_ROLES 256       /* role ids 0..255, 0 = unknown */
#define PW_MAX_RULES 65535     /* rule ids 1..65535, 0 = no rule */
#define PW_MAX_V6_PLENS 16     /* distinct IPv6 prefix lengths per generation */
#define PW_ROLE_NAME_MAX 48    /* including the NUL; fits a literal IPv6 /128 */

#define PW_ROLE_UNKNOWN 0
#define PW_RULE_NONE 0

/* Default capacities; the loader sizes maps from the policy (see docs). */
#define PW_DEFAULT_ROLE_CAP 64
#define PW_DEFAULT_SEG_CAP 1024
#define PW_DEFAULT_V4_GROUP_CAP 4096
#define PW_DEFAULT_V6_CAP 16384 /* pw_v6 buckets per generation */
#define PW_DEFAULT_SLOT_CAP 16384
#define PW_DEFAULT_UNNAMED_CAP 4096
#define PW_DEFAULT_FLOW_CAP 65536     /* pw_flows entries */
#define PW_DEFAULT_EVENT_RING (256U * 1024) /* pw_events bytes: a power of 2 */
#define PW_DEFAULT_EV_SEEN_CAP 16384  /* pw_ev_seen entries */
#define PW_DEFAULT_SAMPLE_CAP 4096    /* pw_samples entries */
#define PW_DEFAULT_SHADOW_CAP 4096    /* pw_shadow entries */

/* ------------------------------------------------------------------ */
/* Map: pw_config (ARRAY, 1 entry)                                     */
/* ------------------------------------------------------------------ */

/* pw_config.flags */
enum pw_config_flags {
	/* egress violations drop when the host (or the rule) enforces;
	 * without it egress is audited whatever the mode */
	PW_CFG_EGRESS_ENFORCE = 1 << 0,
	/* the generation that is not active holds a shadow policy: every
	 * packet is judged by it too, and counted in pw_shadow when the
	 * two verdicts differ */
	PW_CFG_SHADOW = 1 << 1,
};

struct pw_config {
	__u32 active_gen;     /* 0 or 1; the only field a flip writes */
	__u32 mode;           /* PW_MODE_AUDIT or PW_MODE_ENFORCE */
	__u64 enforce_deadline_ns; /* CLOCK_MONOTONIC; 0 = none. Past it, enforce acts as audit */
	__u32 unchecked_drop; /* bitmask of enum pw_reason, see above */
	__u32 flags;          /* enum pw_config_flags */
	/* flow table ages (seconds; 0 = the PW_DEFAULT_* value) */
	__u32 flow_tcp_timeout_s; /* TCP and SCTP, idle */
	__u32 flow_fin_timeout_s; /* TCP after a FIN */
	__u32 flow_udp_timeout_s; /* UDP and ICMP echo, idle */
	/* violation events (see struct pw_event) */
	__u32 event_interval_s;   /* a persisting violating flow is reported again after this */
	__u32 event_rate;         /* token bucket: events per second per CPU; 0 = no events */
	__u32 event_burst;        /* token bucket depth */
	__u64 reserved;
};
_Static_assert(sizeof(struct pw_config) == 56, "pw_config layout");

#define PW_DEFAULT_FLOW_TCP_TIMEOUT_S 432000 /* 5 days, as conntrack */
#define PW_DEFAULT_FLOW_FIN_TIMEOUT_S 120
#define PW_DEFAULT_FLOW_UDP_TIMEOUT_S 120
#define PW_DEFAULT_EVENT_INTERVAL_S 60
#define PW_DEFAULT_EVENT_RATE 100
#define PW_DEFAULT_EVENT_BURST 200

/* ------------------------------------------------------------------ */
/* Map: pw_gen (ARRAY, PW_NGEN entries) - per-generation scalars        */
/* ------------------------------------------------------------------ */

/*
 * Where the prefixes of one length lie: the first 64 bits of each (masked,
 * read as a big-endian number) are in [lo, lo + span].  An address whose
 * masked first 64 bits fall outside cannot match a prefix of that length,
 * and the lookup passes the length by without hashing.  Inventories tend to
 * keep each length in its own part of the space (sites, subnets, hosts).
 */
struct pw_v6_span {
	__u64 lo;
	__u64 span;
};
_Static_assert(sizeof(struct pw_v6_span) == 16, "pw_v6_span layout");

struct pw_gen_info {
	__u32 v6_nplens;                 /* entries used in v6_plens */
	__u8 v6_plens[PW_MAX_V6_PLENS];  /* present IPv6 prefix lengths, longest first */
	__u32 nsegs[PW_NDIR];            /* segments used, for bounds in user space */
	__u32 nroles;                    /* role ids used (max id + 1) */
	__u32 v6_nbuckets;               /* pw_v6 buckets in use: a power of two, 0 = none */
	__u64 policy_digest;             /* FNV-1a of the compiled tables */
	__u32 v6_seed;                   /* seed of pw_v6_hash() for this generation */
	__u32 v6_max_probe;              /* buckets a lookup reads at most, 1..PW_V6_MAX_PROBE */
	struct pw_v6_span v6_span[PW_MAX_V6_PLENS]; /* per v6_plens entry */
};
_Static_assert(sizeof(struct pw_gen_info) == 56 + 16 * PW_MAX_V6_PLENS,
	       "pw_gen_info layout");

/* ------------------------------------------------------------------ */
/* Maps: pw_v4_tbl16 (ARRAY of __u32), pw_v4_tbl8 (ARRAY of pw_v4_row)  */
/* ------------------------------------------------------------------ */

/*
 * An IPv4 source address resolves to a role in at most three array reads:
 * tbl16[gen][addr >> 16], and when that entry has PW_V4_GROUP set, the
 * entry (addr >> 8) & 0xff of the 256-wide group it names, and once more for
 * the last octet.  Entries without PW_V4_GROUP hold a role id.  Cost does not
 * depend on how many prefixes the inventory has.
 */
#define PW_V4_GROUP 0x80000000U
#define PW_V4_TBL16_SIZE 65536U
#define PW_V4_GROUP_SIZE 256U

static inline __u32 pw_v4_tbl16_index(__u32 gen, __u32 addr_hbo)
{
	return gen * PW_V4_TBL16_SIZE + (addr_hbo >> 16);
}

/*
 * The entry of tbl8 for @byte in @group (numbered within the generation).
 * tbl8 stores its entries 16 to a 64-byte row (pw_v4_row): the kernel
 * rounds array values up to 8 bytes, so an ARRAY of __u32 would take
 * twice its size in memory and in cache lines.  Entry i is
 * row[pw_v4_tbl8_row(i)].e[pw_v4_tbl8_col(i)]; a group is 16 whole rows.
 */
static inline __u32 pw_v4_tbl8_index(__u32 gen, __u32 group_cap, __u32 group,
				     __u32 byte)
{
	return (gen * group_cap + group) * PW_V4_GROUP_SIZE + (byte & 0xff);
}

#define PW_V4_ROW_ENTRIES 16U
#define PW_V4_GROUP_ROWS (PW_V4_GROUP_SIZE / PW_V4_ROW_ENTRIES)

struct pw_v4_row {
	__u32 e[PW_V4_ROW_ENTRIES];
};
_Static_assert(sizeof(struct pw_v4_row) == 64, "pw_v4_row layout");

static inline __u32 pw_v4_tbl8_row(__u32 index)
{
	return index / PW_V4_ROW_ENTRIES;
}

static inline __u32 pw_v4_tbl8_col(__u32 index)
{
	return index % PW_V4_ROW_ENTRIES;
}

/* ------------------------------------------------------------------ */
/* Map: pw_v6 (ARRAY of pw_v6_bucket) - IPv6 prefixes, hashed            */
/* ------------------------------------------------------------------ */

/*
 * An open-addressing hash table that the compiler builds and the program
 * probes itself with inlined array lookups and pw_v6_hash(): trying a
 * prefix length costs a hash and one array read (rarely two or three),
 * not a kernel hash lookup.  Generation g owns buckets
 * [g * v6_cap, g * v6_cap + pw_gen_info.v6_nbuckets).
 *
 * A key is (prefix length, address masked to it).  Its home bucket is
 * pw_v6_hash() masked to the generation's bucket count (a power of two);
 * it lives in one of the buckets home, home + 1, ... (wrapping), at most
 * pw_gen_info.v6_max_probe <= PW_V6_MAX_PROBE of them, and every bucket
 * before it was full when it went in.  Slots fill in order and keys are
 * never deleted (a new generation is a new table), so a lookup may stop
 * at the first bucket that is not full: the key would have gone there.
 */
#define PW_V6_BUCKET_SLOTS 3
#define PW_V6_MAX_PROBE 4
#define PW_V6_MAX_BUCKETS (1U << 22) /* per generation */

struct pw_v6_slot {
	__u32 addr[4]; /* masked to plen, network order (bytes as on the wire) */
	__u8 plen;
	__u8 used;     /* 1 = holds a key; 0 = empty, and so are the slots after it */
	__u16 role;
};
_Static_assert(sizeof(struct pw_v6_slot) == 20, "pw_v6_slot layout");

/*
 * One 64-byte value: three keys, and in the last word what a lookup needs
 * to pass a bucket by without comparing keys: a one-byte fingerprint of
 * each key (pw_v6_fingerprint() of its hash) and how many slots are used.
 * Most lookups are misses (every prefix length tried before the one that
 * matches), and a miss thus costs one word read per bucket.
 */
struct pw_v6_bucket {
	struct pw_v6_slot slot[PW_V6_BUCKET_SLOTS];
	__u8 fp[PW_V6_BUCKET_SLOTS]; /* 0 in an empty slot */
	__u8 nused;                  /* slots used, 0..PW_V6_BUCKET_SLOTS */
};
_Static_assert(sizeof(struct pw_v6_bucket) == 64, "pw_v6_bucket layout");

#define PW_V6_HASH_M1 0x9e3779b97f4a7c15ULL
#define PW_V6_HASH_M2 0xc2b2ae3d27d4eb4fULL
#define PW_V6_HASH_F1 0xff51afd7ed558ccdULL
#define PW_V6_HASH_F2 0xc4ceb9fe1a85ec53ULL

/*
 * Hash of a masked address, its prefix length and the generation's seed.
 * @lo and @hi are the address's bytes 0-7 and 8-15 loaded as
 * little-endian 64-bit words, as the program and x86-64 both load them.
 * Two independent multiplies take the two words; then the 64-bit
 * finalizer of MurmurHash3 (fmix64) spreads every bit over the low bits
 * that the bucket index and the fingerprint use.  It has to: loaded
 * little-endian, the last address byte, the one that varies most, is the
 * top byte of a word, which a multiply alone never carries downwards.
 * Straight-line 64-bit arithmetic: no loop, no table.
 */
static inline __u32 pw_v6_hash(__u32 seed, __u32 plen, __u64 lo, __u64 hi)
{
	__u64 h = (lo ^ ((__u64)seed << 32 | plen)) * PW_V6_HASH_M1 ^
		  hi * PW_V6_HASH_M2;

	h ^= h >> 33;
	h *= PW_V6_HASH_F1;
	h ^= h >> 33;
	h *= PW_V6_HASH_F2;
	h ^= h >> 33;
	return (__u32)h;
}

/* The top byte of the hash; the bucket index uses at most the low 22 bits. */
static inline __u32 pw_v6_fingerprint(__u32 hash)
{
	return hash >> 24;
}

/* Bucket @probe steps from the home of @hash; @nbuckets a power of two. */
static inline __u32 pw_v6_bucket_index(__u32 gen, __u32 v6_cap,
				       __u32 nbuckets, __u32 hash,
				       __u32 probe)
{
	return gen * v6_cap + ((hash + probe) & (nbuckets - 1));
}

/* ------------------------------------------------------------------ */
/* Map: pw_ports (ARRAY of pw_port_row) - port -> segment               */
/* ------------------------------------------------------------------ */

/*
 * Every port of a protocol in a direction maps to a segment id: a maximal
 * run of ports that the policy treats alike and that one port item of a
 * rule named (a single port, or a range).  Segment 0 means "no rule names
 * this port".  Ranges thus cost one array read, like single ports.
 * Rows hold 32 ports so that a row is one 64-byte cache line.
 */
#define PW_PORTS_PER_ROW 32U
#define PW_PORT_ROWS (65536U / PW_PORTS_PER_ROW) /* 2048 */
#define PW_SEG_NONE 0

struct pw_port_row {
	__u16 seg[PW_PORTS_PER_ROW];
};
_Static_assert(sizeof(struct pw_port_row) == 64, "pw_port_row layout");

static inline __u32 pw_port_row_index(__u32 gen, __u32 dir, __u32 proto_idx,
				      __u32 port)
{
	return ((gen * PW_NDIR + dir) * PW_NPROTO + proto_idx) * PW_PORT_ROWS +
	       ((port & 0xffff) / PW_PORTS_PER_ROW);
}

/* ------------------------------------------------------------------ */
/* Map: pw_rules (ARRAY of pw_rule_entry) - (segment, role) -> verdict  */
/* ------------------------------------------------------------------ */

enum pw_entry_flags {
	PW_ENTRY_ALLOW = 1 << 0,    /* a rule allows this role on this segment */
	PW_ENTRY_LOOPBACK = 1 << 1, /* loopback-only port: from the wire = violation */
};

/*
 * rule_id: the allowing rule, or for a violation the first rule (in file
 * order) that names the segment; its mode decides audit vs drop.
 * slot: counter slot of (dir, role, proto, segment); the per-CPU counter
 * index is slot * PW_NVERDICT + verdict.
 */
struct pw_rule_entry {
	__u16 rule_id;
	__u8 flags;
	__u8 mode; /* enum pw_mode */
	__u32 slot;
};
_Static_assert(sizeof(struct pw_rule_entry) == 8, "pw_rule_entry layout");

static inline __u32 pw_rule_index(__u32 gen, __u32 dir, __u32 seg_cap,
				  __u32 role_cap, __u32 seg, __u32 role)
{
	return ((gen * PW_NDIR + dir) * seg_cap + seg) * role_cap + role;
}

/* ------------------------------------------------------------------ */
/* Counters                                                            */
/* ------------------------------------------------------------------ */

struct pw_counter {
	__u64 packets;
	__u64 bytes;
};
_Static_assert(sizeof(struct pw_counter) == 16, "pw_counter layout");

/*
 * What a counter counts.  Slot counters (pw_counters, PERCPU_ARRAY) are
 * described by pw_slots[slot] (ARRAY, written by the loader only, read by
 * the CLI); slots are stable across reloads so counters survive them.
 * Violations on ports that no rule names are counted in pw_unnamed
 * (PERCPU_HASH, bounded) under the same key with port_lo == port_hi.
 */
struct pw_counter_key {
	__u8 dir;     /* enum pw_dir */
	__u8 proto;   /* IP protocol number */
	__u16 role;   /* source role on ingress, destination role on egress */
	__u16 port_lo;
	__u16 port_hi;
	__u8 verdict; /* enum pw_verdict; unused (0) in pw_slots */
	__u8 pad[3];
};
_Static_assert(sizeof(struct pw_counter_key) == 12, "pw_counter_key layout");

static inline __u32 pw_counter_index(__u32 slot, __u32 verdict)
{
	return slot * PW_NVERDICT + verdict;
}

/*
 * Map: pw_reasons (PERCPU_ARRAY, PW_NDIR * PW_NREASON entries of
 * pw_counter).  Every frame a hook sees lands in exactly one reason of
 * its direction.
 */
static inline __u32 pw_reason_index(__u32 dir, __u32 reason)
{
	return dir * PW_NREASON + reason;
}

/* ------------------------------------------------------------------ */
/* Map: pw_flows (LRU_HASH) - flows the host opened or the policy let in */
/* ------------------------------------------------------------------ */

/*
 * A flow is keyed from the host's side: both directions of one flow have
 * the same key, so a hook needs one lookup to learn whether a packet
 * belongs to a known flow and which side opened it.  On ingress the local
 * address is the destination, on egress the source.  A packet is a reply
 * when its flow was opened from the other side: a flow opened on egress
 * (PW_FLOW_OPENED) and a packet arriving, or a flow let in on ingress
 * (PW_FLOW_INBOUND) and a packet leaving.  Since every field of the key
 * is compared, a reply matches only the exact reversed 5-tuple.
 *
 * Which packets take part: TCP, UDP and SCTP (ports), and ICMP/ICMPv6
 * echo, keyed by its identifier (lport = id, rport = 0): a request may
 * open a flow, only an echo reply is ever taken as its reply.
 */
struct pw_flow_key {
	__u32 local[4];  /* network order; IPv4 in local[0], the rest 0 */
	__u32 remote[4];
	__u16 lport;     /* host order */
	__u16 rport;
	__u8 proto;      /* IP protocol number */
	__u8 family;     /* 4 or 6 */
	__u8 dir;        /* pw_ev_seen only (enum pw_dir); 0 in pw_flows */
	__u8 pad;
};
_Static_assert(sizeof(struct pw_flow_key) == 40, "pw_flow_key layout");

enum pw_flow_origin {
	PW_FLOW_OPENED = 1,  /* first seen leaving: the host opened it */
	PW_FLOW_INBOUND = 2, /* first seen arriving, allowed or audited */
};

enum pw_flow_flags {
	PW_FLOW_FIN = 1 << 0, /* a FIN was seen: the flow ages out after the fin timeout */
};

/*
 * What a reply is counted under: the counter slot of the packet that
 * opened the flow, with verdict PW_VERDICT_REPLY, so that replies show on
 * the row of the rule that let the flow in (or out).  A flow opened on a
 * port no rule names has no slot; its replies go to pw_unnamed under
 * (flow direction, proto, role, port, REPLY).
 */
#define PW_SLOT_NONE 0xffffffffU

struct pw_flow {
	__u64 last_ns;  /* bpf_ktime_get_coarse_ns of the last packet, to about a second */
	__u32 slot;     /* counter slot of the opening packet, or PW_SLOT_NONE */
	__u16 role;     /* the remote side's role when the flow opened */
	__u16 port;     /* the opening packet's destination port */
	__u8 origin;    /* enum pw_flow_origin */
	__u8 flags;     /* enum pw_flow_flags */
	__u8 verdict;   /* of the opening packet: ALLOW or AUDIT */
	__u8 pad;
	__u32 last_jiffies; /* low 32 bits of jiffies when last_ns was written */
};
_Static_assert(sizeof(struct pw_flow) == 24, "pw_flow layout");

/*
 * Idle age after which flow @f (IP protocol @proto) is gone, in ns: the
 * datapath's test and the one `status` uses to count live flows.
 */
static inline __u64 pw_flow_timeout_ns(const struct pw_config *cfg,
				       const struct pw_flow *f, __u32 proto)
{
	__u32 s;

	if (proto == PW_IPPROTO_TCP && (f->flags & PW_FLOW_FIN))
		s = cfg->flow_fin_timeout_s ? cfg->flow_fin_timeout_s :
					      PW_DEFAULT_FLOW_FIN_TIMEOUT_S;
	else if (proto == PW_IPPROTO_TCP || proto == PW_IPPROTO_SCTP)
		s = cfg->flow_tcp_timeout_s ? cfg->flow_tcp_timeout_s :
					      PW_DEFAULT_FLOW_TCP_TIMEOUT_S;
	else
		s = cfg->flow_udp_timeout_s ? cfg->flow_udp_timeout_s :
					      PW_DEFAULT_FLOW_UDP_TIMEOUT_S;
	return (__u64)s * 1000000000ULL;
}

/*
 * A flow seen less than PW_FLOW_QUICK_JIFFIES ago is alive (every age is
 * at least a second, and this is at most a second at HZ >= 100) and its
 * last_ns is fresh enough: the packet reads jiffies, which the JIT inlines,
 * and neither the clock nor the flow's cache line is written.  Past it,
 * the clock decides and last_ns and last_jiffies are rewritten.
 */
#define PW_FLOW_QUICK_JIFFIES 100U

/* ------------------------------------------------------------------ */
/* Map: pw_stats (PERCPU_ARRAY of __u64) - datapath housekeeping       */
/* ------------------------------------------------------------------ */

/*
 * Flow table pressure: the LRU map evicts its least recently used entries
 * when it is full, and says nothing.  User space derives evictions as
 * inserts - closed - expired - entries now in the map.  An evicted flow's
 * later packets are judged like new ones: a reply then is a violation.
 */
enum pw_stat {
	PW_STAT_FLOW_INSERT = 0,      /* flows recorded */
	PW_STAT_FLOW_INSERT_FAIL = 1, /* the update failed (out of memory): not recorded */
	PW_STAT_FLOW_CLOSED = 2,      /* removed on a TCP RST */
	PW_STAT_FLOW_EXPIRED = 3,     /* found past their age and removed */
	PW_STAT_EVENT_SENT = 4,       /* events in the ring buffer */
	PW_STAT_EVENT_RATE_LIMITED = 5, /* not sent: the token bucket was empty */
	PW_STAT_EVENT_LOST = 6,       /* not sent: the ring buffer was full */
	PW_STAT_EVENT_REPEAT = 7,     /* violations of a flow reported less than event_interval_s ago */
	PW_STAT_SHADOW_FULL = 8,      /* verdict differences pw_shadow had no room for */
	PW_NSTAT = 9,
};

/* ------------------------------------------------------------------ */
/* Violation events: pw_events (RINGBUF), pw_ev_seen, pw_tbucket        */
/* ------------------------------------------------------------------ */

enum pw_event_kind {
	PW_EVENT_NOT_ALLOWED = 1, /* a rule names the port, not for this role */
	PW_EVENT_UNNAMED_PORT = 2, /* no rule names the port */
	PW_EVENT_LOOPBACK = 3,    /* a loopback-only port, reached from the wire */
};

/*
 * One record per violating flow (pw_ev_seen remembers which flows were
 * reported, per direction, keyed like pw_flows with .dir set), again
 * every event_interval_s while it persists, within a per-CPU token bucket.
 */
struct pw_event {
	__u64 ts_ns;     /* bpf_ktime_get_ns: CLOCK_MONOTONIC */
	__u32 ifindex;
	__u8 dir;        /* enum pw_dir */
	__u8 family;     /* 4 or 6 */
	__u8 proto;      /* IP protocol number */
	__u8 verdict;    /* PW_VERDICT_AUDIT or PW_VERDICT_DROP */
	__u32 saddr[4];  /* network order; IPv4 in [0] */
	__u32 daddr[4];
	__u16 sport;     /* host order; ICMP echo: the identifier */
	__u16 dport;     /* host order; ICMP: the type */
	__u16 role;      /* source role on ingress, destination role on egress */
	__u16 rule_id;   /* the rule naming the port; 0 for PW_EVENT_UNNAMED_PORT */
	__u8 kind;       /* enum pw_event_kind */
	__u8 tcp_flags;  /* TCP flags byte (a stray ACK shows as 0x10), else 0 */
	__u16 pad;
	__u32 repeats;   /* violating packets of this flow since its previous event */
};
_Static_assert(sizeof(struct pw_event) == 64, "pw_event layout");

struct pw_ev_seen {
	__u64 last_ns;   /* when the flow was last reported */
	__u64 repeats;   /* violating packets since */
};
_Static_assert(sizeof(struct pw_ev_seen) == 16, "pw_ev_seen layout");

/* pw_tbucket (PERCPU_ARRAY, 1 entry): tokens are counted in 1e-9 events */
struct pw_tbucket {
	__u64 tokens;
	__u64 last_ns;
};
_Static_assert(sizeof(struct pw_tbucket) == 16, "pw_tbucket layout");

#define PW_TOKEN 1000000000ULL

/* ------------------------------------------------------------------ */
/* Map: pw_samples (LRU_HASH) - addresses seen violating, per counter   */
/* ------------------------------------------------------------------ */

/*
 * Keyed by a pw_counter_key with port_lo == port_hi == the destination
 * port and verdict 0; written when an event is sent, so that `suggest`
 * can name sample addresses without a reader having run.
 */
#define PW_SAMPLE_ADDRS 4

struct pw_sample {
	__u32 addr[PW_SAMPLE_ADDRS][4]; /* source on ingress, destination on egress */
	__u8 family[PW_SAMPLE_ADDRS];   /* 4 or 6; 0 = empty */
	__u32 next;                     /* where the next new address goes (mod PW_SAMPLE_ADDRS) */
};
_Static_assert(sizeof(struct pw_sample) == 72, "pw_sample layout");

/* ------------------------------------------------------------------ */
/* Map: pw_shadow (PERCPU_HASH) - where a shadow policy would differ    */
/* ------------------------------------------------------------------ */

struct pw_shadow_key {
	__u8 dir;            /* enum pw_dir */
	__u8 proto;          /* IP protocol number */
	__u16 role;          /* role in the running policy */
	__u16 shadow_role;   /* role in the shadow policy */
	__u16 port;          /* destination port (ICMP: type) */
	__u8 verdict;        /* running policy's verdict */
	__u8 shadow_verdict; /* shadow policy's verdict */
	__u8 pad[2];
};
_Static_assert(sizeof(struct pw_shadow_key) == 12, "pw_shadow_key layout");

/* ------------------------------------------------------------------ */
/* Map: pw_role_names (ARRAY, role_cap entries) - stable role ids        */
/* ------------------------------------------------------------------ */

/* Written by the loader; role ids are kept across reloads by name. */
struct pw_role_name {
	char name[PW_ROLE_NAME_MAX];
};
_Static_assert(sizeof(struct pw_role_name) == 48, "pw_role_name layout");

#endif /* PORTWARDEN_H */
