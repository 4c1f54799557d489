// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * portwarden XDP ingress program: count (and, in enforce mode, drop) each
 * frame by (source role, protocol, destination port) against the policy
 * generation in force.
 *
 * The classification follows the datapath spec step by step; a plain-C
 * reference classifier (user/classify.c) implements the same text and the
 * differential test holds the two to the same verdicts and counters.
 *
 * Cost: an allowed IPv4 TCP frame does one config read, the parse, and five
 * array lookups (role, port row, rule entry, slot counter, reason counter),
 * all inlined by the verifier, and no helper call.  IPv6 adds a hash
 * computed here and inlined reads of its bucket table.  Kernel hash
 * lookups, the clock and map updates are only on the violation path.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "portwarden.h"
#include "parse.h"

#ifdef PW_BENCH_SPREAD
#include "bench_pick.h"
#endif

#define PW_EEXIST 17 /* errno.h is not usable with -target bpf */

/*
 * Capacities the loader chose for this policy (set before load together
 * with the maps' max_entries; see user/maps.c).  Being read-only data, the
 * verifier sees them as constants.
 */
const volatile __u32 pw_role_cap = PW_DEFAULT_ROLE_CAP;
const volatile __u32 pw_seg_cap = PW_DEFAULT_SEG_CAP;
const volatile __u32 pw_v4_group_cap = PW_DEFAULT_V4_GROUP_CAP;
const volatile __u32 pw_v6_cap = PW_DEFAULT_V6_CAP;

/* ------------------------------------------------------------- maps -- */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pw_config);
} pw_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PW_NGEN);
	__type(key, __u32);
	__type(value, struct pw_gen_info);
} pw_gen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PW_NGEN * PW_V4_TBL16_SIZE);
	__type(key, __u32);
	__type(value, __u32);
} pw_v4_tbl16 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries,
	       PW_NGEN * PW_DEFAULT_V4_GROUP_CAP * PW_V4_GROUP_ROWS);
	__type(key, __u32);
	__type(value, struct pw_v4_row);
} pw_v4_tbl8 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PW_NGEN * PW_DEFAULT_V6_CAP);
	__type(key, __u32);
	__type(value, struct pw_v6_bucket);
} pw_v6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PW_NGEN * PW_NDIR * PW_NPROTO * PW_PORT_ROWS);
	__type(key, __u32);
	__type(value, struct pw_port_row);
} pw_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries,
	       PW_NGEN * PW_NDIR * PW_DEFAULT_SEG_CAP * PW_DEFAULT_ROLE_CAP);
	__type(key, __u32);
	__type(value, struct pw_rule_entry);
} pw_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PW_DEFAULT_SLOT_CAP * PW_NVERDICT);
	__type(key, __u32);
	__type(value, struct pw_counter);
} pw_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PW_DEFAULT_SLOT_CAP);
	__type(key, __u32);
	__type(value, struct pw_counter_key);
} pw_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, PW_DEFAULT_UNNAMED_CAP);
	__type(key, struct pw_counter_key);
	__type(value, struct pw_counter);
} pw_unnamed SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PW_NDIR * PW_NREASON);
	__type(key, __u32);
	__type(value, struct pw_counter);
} pw_reasons SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PW_DEFAULT_FLOW_CAP);
	__type(key, struct pw_flow_key);
	__type(value, struct pw_flow);
} pw_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PW_NSTAT);
	__type(key, __u32);
	__type(value, __u64);
} pw_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PW_DEFAULT_EVENT_RING);
} pw_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PW_DEFAULT_EV_SEEN_CAP);
	__type(key, struct pw_flow_key);
	__type(value, struct pw_ev_seen);
} pw_ev_seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pw_tbucket);
} pw_tbucket SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PW_DEFAULT_SAMPLE_CAP);
	__type(key, struct pw_counter_key);
	__type(value, struct pw_sample);
} pw_samples SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, PW_DEFAULT_SHADOW_CAP);
	__type(key, struct pw_shadow_key);
	__type(value, struct pw_counter);
} pw_shadow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PW_DEFAULT_ROLE_CAP);
	__type(key, __u32);
	__type(value, struct pw_role_name);
} pw_role_names SEC(".maps");

/* ---------------------------------------------------------- helpers -- */

/* Per-CPU value: nobody else writes it, a plain add is enough. */
static __always_inline void pw_count(struct pw_counter *c, __u32 len)
{
	c->packets += 1;
	c->bytes += len;
}

/*
 * host_enforce(): does a violation under @mode drop?  The clock is read
 * only when enforcing with a deadline set, i.e. never on the allowed path.
 */
static __always_inline int pw_enforcing(const struct pw_config *cfg,
					__u32 mode)
{
	__u32 m = mode != PW_MODE_HOST ? mode : cfg->mode;
	__u64 deadline;

	if (m != PW_MODE_ENFORCE)
		return 0;
	deadline = cfg->enforce_deadline_ns;
	return deadline == 0 || bpf_ktime_get_ns() <= deadline;
}

/*
 * Entry @byte of tbl8 group @v (PW_V4_GROUP set) into *@v; 0 when the
 * row is out of the map (a group number past the caps).
 */
static __always_inline int pw_v4_group_step(__u32 gen, __u32 *v, __u32 byte)
{
	const struct pw_v4_row *row;
	__u32 idx, rowidx;

	idx = pw_v4_tbl8_index(gen, pw_v4_group_cap, *v & ~PW_V4_GROUP, byte);
	rowidx = pw_v4_tbl8_row(idx);
	row = bpf_map_lookup_elem(&pw_v4_tbl8, &rowidx);
	if (!row)
		return 0;
	*v = row->e[pw_v4_tbl8_col(idx)];
	return 1;
}

/* IPv4 address role: DIR-16-8-8, at most three array reads. */
static __always_inline __u32 pw_role_v4(__u32 gen, __u32 addr)
{
	__u32 idx, *e, v;

	idx = pw_v4_tbl16_index(gen, addr);
	e = bpf_map_lookup_elem(&pw_v4_tbl16, &idx);
	if (!e)
		return PW_ROLE_UNKNOWN;
	v = *e;
	if (v & PW_V4_GROUP) {
		if (!pw_v4_group_step(gen, &v, addr >> 8))
			return PW_ROLE_UNKNOWN;
		if ((v & PW_V4_GROUP) && !pw_v4_group_step(gen, &v, addr))
			return PW_ROLE_UNKNOWN;
	}
	/* a group pointer three levels down means a corrupt table */
	if ((v & PW_V4_GROUP) || v >= pw_role_cap)
		return PW_ROLE_UNKNOWN;
	return v;
}

/*
 * IPv6 prefix masks, [plen][half]: the mask's bytes 0-7 and 8-15 as
 * little-endian 64-bit words, like the address halves they apply to;
 * folded by the compiler.
 * A table read instead of per-word branches: the branches made the
 * verifier walk 3^4 paths per prefix length tried.  One row per possible
 * __u8 plen, so no clamp is needed (longer than 128 keeps every bit).
 * The "& 31" only silences warnings about the arms never evaluated.
 */
#define PW_MASK_WORD(p, k)                                                    \
	((p) >= 32 * (k) + 32 ? 0xffffffffU :                                 \
	 (p) <= 32 * (k)      ? 0U :                                          \
				__builtin_bswap32(~0U << ((32 - ((p) - 32 * (k))) & 31)))
#define PW_MASK_HALF(p, k)                                                    \
	((__u64)PW_MASK_WORD(p, 2 * (k) + 1) << 32 | PW_MASK_WORD(p, 2 * (k)))
#define PW_MASK_ROW(p) { PW_MASK_HALF(p, 0), PW_MASK_HALF(p, 1) }
#define PW_MASK_ROW4(p)                                                       \
	PW_MASK_ROW(p), PW_MASK_ROW((p) + 1), PW_MASK_ROW((p) + 2),           \
		PW_MASK_ROW((p) + 3)
#define PW_MASK_ROW16(p)                                                      \
	PW_MASK_ROW4(p), PW_MASK_ROW4((p) + 4), PW_MASK_ROW4((p) + 8),        \
		PW_MASK_ROW4((p) + 12)
#define PW_MASK_ROW64(p)                                                      \
	PW_MASK_ROW16(p), PW_MASK_ROW16((p) + 16), PW_MASK_ROW16((p) + 32),   \
		PW_MASK_ROW16((p) + 48)

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "PW_MASK_WORD assumes a little-endian BPF target"
#endif

static const __u64 pw_v6_masks[256][2] = {
	PW_MASK_ROW64(0),
	PW_MASK_ROW64(64),
	PW_MASK_ROW64(128),
	PW_MASK_ROW64(192),
};

/*
 * A look at one bucket for the key (plen, lo, hi) whose fingerprint is
 * in each of the low three bytes of @fp3: the key's role if it is there,
 * else PW_V6_NEXT (not there, the bucket is full and @more says that the
 * generation allows another probe) or PW_V6_ABSENT (not there, and it is
 * in no bucket: the bucket had room when the key would have gone in).
 *
 * The bucket's last word (three fingerprints and the slot count) settles
 * most misses.  When a fingerprint matches, the keys are compared without
 * a branch per slot: a key is in at most one slot, so the role is the OR
 * of each slot's role masked with "this slot matches".  Each branch here
 * would be one more path for the verifier to walk, for every prefix
 * length and every probe, so the code computes what it can.
 */
#define PW_V6_NEXT 0x10000U
#define PW_V6_ABSENT 0x20000U

/*
 * All ones when @diff is 0, else 0, without a branch: diff - 1 computed
 * in 64 bits has its top bit set only when diff was 0.  The empty asm
 * hides that from clang, which would otherwise see "diff == 0" and emit
 * a branch for it.
 */
static __always_inline __u32 pw_zero_mask(__u32 diff)
{
	__s64 t = (__s64)diff - 1;

	asm volatile("" : "+r"(t));
	return t >> 63;
}

/* 1 when @a < @b, else 0, without a branch (both below 2^32). */
static __always_inline __u32 pw_bit_lt(__u32 a, __u32 b)
{
	__u64 t = (__u64)a - b;

	asm volatile("" : "+r"(t));
	return t >> 63;
}

static __always_inline __u32 pw_v6_bucket_find(const struct pw_v6_bucket *b,
					       __u32 fp3, __u32 plen, __u64 lo,
					       __u64 hi, __u32 more)
{
	/* plen and used as one number; an empty slot never equals it */
	__u32 tag = plen | 1U << 8, hit = 0, role = 0, meta, x, eq, full;
	int k;

	/* fp[0], fp[1], fp[2], nused, little-endian; @fp3 is the key's
	 * fingerprint in each of the low three bytes */
	__builtin_memcpy(&meta, b->fp, sizeof(meta));
	x = meta ^ fp3;
	/* a zero byte among the low three: a fingerprint matches (or, now
	 * and then, seems to: the keys decide) */
	if (((x - 0x010101U) & ~x & 0x808080U) == 0)
		goto miss;

#pragma unroll
	for (k = 0; k < PW_V6_BUCKET_SLOTS; k++) {
		const struct pw_v6_slot *s = &b->slot[k];

		eq = pw_zero_mask((s->addr[0] ^ (__u32)lo) |
				  (s->addr[1] ^ (__u32)(lo >> 32)) |
				  (s->addr[2] ^ (__u32)hi) |
				  (s->addr[3] ^ (__u32)(hi >> 32)) |
				  ((s->plen | (__u32)s->used << 8) ^ tag));
		hit |= eq;
		role |= eq & s->role;
	}
	if (hit)
		return role;
miss:
	/* NEXT when the bucket is full (nused, the top byte, is 3) and
	 * @more probes are allowed, else ABSENT; by arithmetic, as the
	 * branches would double the paths at each probe */
	full = pw_bit_lt(PW_V6_BUCKET_SLOTS - 1, meta >> 24);
	return PW_V6_ABSENT - (full & more) * (PW_V6_ABSENT - PW_V6_NEXT);
}

/*
 * IPv6 address role: for each prefix length present, longest first, hash
 * the masked address and look at the buckets from its home (see pw_v6 in
 * portwarden.h); the first hit wins.  Inlined array reads only.  A length
 * whose prefixes all lie elsewhere (pw_v6_span) costs a compare; another
 * miss usually costs the hash and one word of one bucket.
 */
/*
 * A global function: the verifier checks it once, on its own, and its
 * callers see an unknown role coming back.  Inlined, the many ways out of
 * the probe loops multiplied every path that follows the lookup (flows,
 * events, the shadow judgement) past the verifier's limit.
 * @a_lo, @a_hi: the address's bytes 0-7 and 8-15, loaded little-endian.
 */
__attribute__((noinline)) __u32 pw_role_v6(__u32 gen, __u64 a_lo, __u64 a_hi)
{
	const struct pw_gen_info *info;
	__u32 i, nbuckets, seed, cap = pw_v6_cap;

	gen &= 1;
	info = bpf_map_lookup_elem(&pw_gen, &gen);
	if (!info)
		return PW_ROLE_UNKNOWN;
	nbuckets = info->v6_nbuckets;
	if (nbuckets == 0)
		return PW_ROLE_UNKNOWN;
	seed = info->v6_seed;

	for (i = 0; i < PW_MAX_V6_PLENS; i++) {
		__u32 plen, hash, fp3, idx, j, r, more;
		const struct pw_v6_bucket *b;
		const __u64 *mask;
		__u64 lo, hi;

		/* the bound is read afresh at each step: kept in a register
		 * it would carry what each comparison taught the verifier
		 * into the next step's states, and paths that differ only
		 * in that would never be found equal (the probe bound is
		 * used without a comparison at all, in pw_v6_bucket_find) */
		if (i >= *(volatile __u32 *)&info->v6_nplens)
			break;
		plen = info->v6_plens[i];
		mask = pw_v6_masks[plen];
		lo = a_lo & mask[0];
		/* outside where this length's prefixes lie: next length */
		if (__builtin_bswap64(lo) - info->v6_span[i].lo >
		    info->v6_span[i].span)
			continue;
		hi = a_hi & mask[1];
		hash = pw_v6_hash(seed, plen, lo, hi);
		fp3 = pw_v6_fingerprint(hash) * 0x010101U;
		r = PW_V6_ABSENT;
		for (j = 0; j < PW_V6_MAX_PROBE; j++) {
			idx = pw_v6_bucket_index(gen, cap, nbuckets, hash, j);
			b = bpf_map_lookup_elem(&pw_v6, &idx);
			if (!b)
				break;
			/* whether the generation allows probe j + 1 */
			more = pw_bit_lt(j + 1, info->v6_max_probe);
			r = pw_v6_bucket_find(b, fp3, plen, lo, hi, more);
			if (r != PW_V6_NEXT)
				break;
		}
		if (r < PW_V6_NEXT)
			return r;
	}
	return PW_ROLE_UNKNOWN;
}

/* ------------------------------------------------------------ stats -- */

static __always_inline void pw_stat(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&pw_stats, &which);

	if (v)
		*v += 1;
}

/* ---------------------------------------------------------- judging -- */

/*
 * What the policy says of one packet, before anything is counted: the
 * peer's role (source on ingress, destination on egress), the verdict,
 * the counter slot (PW_SLOT_NONE: a port no rule names) and, for a
 * violation, the rule that names the port and what kind it is.
 */
struct pw_judgement {
	__u32 dir;
	__u32 role;
	__u32 verdict;
	__u32 slot;
	__u32 rule_id;
	__u32 kind; /* enum pw_event_kind; 0 when allowed */
};

/*
 * Does a violation in direction @dir under @mode drop?  Egress violations
 * drop only when the host asked for egress enforcement.
 */
static __always_inline int pw_enforcing_dir(const struct pw_config *cfg,
					    __u32 dir, __u32 mode)
{
	if (dir == PW_DIR_EGRESS && !(cfg->flags & PW_CFG_EGRESS_ENFORCE))
		return 0;
	return pw_enforcing(cfg, mode);
}

/* The peer's role: who sent it on ingress, who it goes to on egress. */
static __always_inline __u32 pw_peer_role(__u32 gen, __u32 dir,
					  const struct pw_hdrs *h)
{
	const __be32 *addr = dir == PW_DIR_INGRESS ? h->saddr : h->daddr;

	__u64 lo, hi;

	if (h->l3_proto == bpf_htons(ETH_P_IP))
		return pw_role_v4(gen, bpf_ntohl(addr[0]));
	__builtin_memcpy(&lo, &addr[0], sizeof(lo));
	__builtin_memcpy(&hi, &addr[2], sizeof(hi));
	return pw_role_v6(gen, lo, hi);
}

/*
 * The rule entry of (@role, @port) for protocol @proto_idx in direction
 * @dir, NULL when no rule names the port (or the protocol is not parsed).
 */
static __always_inline const struct pw_rule_entry *
pw_entry_of(__u32 gen, __u32 dir, __u32 proto_idx, __u32 port, __u32 role)
{
	const struct pw_port_row *row;
	__u32 idx, seg;

	if (proto_idx >= PW_NPROTO)
		return NULL;
	idx = pw_port_row_index(gen, dir, proto_idx, port);
	row = bpf_map_lookup_elem(&pw_ports, &idx);
	if (!row)
		return NULL;
	seg = row->seg[port % PW_PORTS_PER_ROW];
	if (seg == PW_SEG_NONE)
		return NULL;
	idx = pw_rule_index(gen, dir, pw_seg_cap, pw_role_cap, seg, role);
	return bpf_map_lookup_elem(&pw_rules, &idx);
}

/*
 * Steps 8-9 of the spec without the counting: generation @gen's verdict
 * for a packet from (ingress) or to (egress) a peer of role @role.
 */
static __always_inline void pw_judge_role(const struct pw_config *cfg,
					  __u32 gen, __u32 dir,
					  const struct pw_hdrs *h, __u32 role,
					  struct pw_judgement *j)
{
	const struct pw_rule_entry *entry;
	__u32 mode = PW_MODE_HOST;

	j->dir = dir;
	j->role = role;
	j->slot = PW_SLOT_NONE;
	j->rule_id = PW_RULE_NONE;
	j->kind = PW_EVENT_UNNAMED_PORT;

	entry = pw_entry_of(gen, dir, h->proto_idx, h->dport, role);
	if (entry) {
		if (entry->flags & PW_ENTRY_ALLOW) {
			j->verdict = PW_VERDICT_ALLOW;
			j->slot = entry->slot;
			j->rule_id = entry->rule_id;
			j->kind = 0;
			return;
		}
		j->slot = entry->slot;
		j->rule_id = entry->rule_id;
		j->kind = entry->flags & PW_ENTRY_LOOPBACK ?
				  PW_EVENT_LOOPBACK :
				  PW_EVENT_NOT_ALLOWED;
		mode = entry->mode;
	}
	/* a violation: the rule's mode, or for an unnamed port the host's */
	j->verdict = pw_enforcing_dir(cfg, dir, mode) ? PW_VERDICT_DROP :
							PW_VERDICT_AUDIT;
}

/* Steps 7-9: the peer's role, then the verdict. */
static __always_inline void pw_judge(const struct pw_config *cfg, __u32 gen,
				     __u32 dir, const struct pw_hdrs *h,
				     struct pw_judgement *j)
{
	pw_judge_role(cfg, gen, dir, h, pw_peer_role(gen, dir, h), j);
}

/*
 * Count @len bytes under @key in @map, a bounded PERCPU_HASH of
 * pw_counter (pw_unnamed, pw_shadow): a new key is inserted, and when
 * another CPU inserted it in between, counted there.  Returns 0, or -1
 * when the map had no room for a new key.
 */
static __always_inline int pw_hash_count(void *map, const void *key,
					 __u32 len)
{
	struct pw_counter *c, first = { .packets = 1, .bytes = len };
	long err;

	c = bpf_map_lookup_elem(map, key);
	if (!c) {
		err = bpf_map_update_elem(map, key, &first, BPF_NOEXIST);
		if (!err)
			return 0;
		if (err != -PW_EEXIST)
			return -1;
		c = bpf_map_lookup_elem(map, key);
		if (!c)
			return -1;
	}
	pw_count(c, len);
	return 0;
}

/*
 * Count a packet under (dir, proto, role, port, verdict): at counter slot
 * @slot, or, when no rule names the port (PW_SLOT_NONE), in pw_unnamed.
 * Returns the reason the frame is counted under: CLASSIFIED, or
 * UNNAMED_FULL when pw_unnamed had no room for a new key.
 */
static __always_inline int pw_count_at(__u32 slot, __u32 dir, __u32 proto,
				       __u32 role, __u32 port, __u32 verdict,
				       __u32 len)
{
	struct pw_counter_key key = {
		.dir = dir,
		.proto = proto,
		.role = role,
		.port_lo = port,
		.port_hi = port,
		.verdict = verdict,
	};
	struct pw_counter *c;
	__u32 idx;

	if (slot == PW_SLOT_NONE)
		return pw_hash_count(&pw_unnamed, &key, len) ?
			       PW_REASON_UNNAMED_FULL :
			       PW_REASON_CLASSIFIED;
	idx = pw_counter_index(slot, verdict);
	c = bpf_map_lookup_elem(&pw_counters, &idx);
	if (c)
		pw_count(c, len);
	return PW_REASON_CLASSIFIED;
}

/* Count a judged packet; returns its reason (see pw_count_at). */
static __always_inline int pw_count_judgement(__u32 dir,
					      const struct pw_hdrs *h,
					      const struct pw_judgement *j,
					      __u32 len)
{
	return pw_count_at(j->slot, dir, h->ip_proto, j->role, h->dport,
			   j->verdict, len);
}

/* ------------------------------------------------------------ flows -- */

static __always_inline int pw_is_icmp(const struct pw_hdrs *h)
{
	return h->proto_idx == PW_P_ICMP || h->proto_idx == PW_P_ICMPV6;
}

#define PW_TCP_FIN 0x01
#define PW_TCP_SYN 0x02
#define PW_TCP_RST 0x04
#define PW_TCP_ACK 0x10

/*
 * The packet's flow key, seen from the host (see pw_flow_key).  Returns 1
 * when the packet takes part in flows: TCP, UDP, SCTP, ICMP echo.  The key
 * is filled either way (events use it for any protocol).
 */
static __always_inline int pw_flow_key_of(const struct pw_hdrs *h, __u32 dir,
					  struct pw_flow_key *k)
{
	const __be32 *local = dir == PW_DIR_INGRESS ? h->daddr : h->saddr;
	const __be32 *remote = dir == PW_DIR_INGRESS ? h->saddr : h->daddr;
	int v4 = h->l3_proto == bpf_htons(ETH_P_IP);

	k->local[0] = local[0];
	k->remote[0] = remote[0];
	if (!v4) {
		k->local[1] = local[1];
		k->local[2] = local[2];
		k->local[3] = local[3];
		k->remote[1] = remote[1];
		k->remote[2] = remote[2];
		k->remote[3] = remote[3];
	}
	k->family = v4 ? 4 : 6;
	k->proto = h->ip_proto;

	switch (h->proto_idx) {
	case PW_P_TCP:
	case PW_P_UDP:
	case PW_P_SCTP:
		k->lport = dir == PW_DIR_INGRESS ? h->dport : h->sport;
		k->rport = dir == PW_DIR_INGRESS ? h->sport : h->dport;
		return 1;
	case PW_P_ICMP:
	case PW_P_ICMPV6:
		/* both directions of an echo carry the same identifier */
		k->lport = h->sport;
		return pw_is_echo(h->ip_proto, h->dport);
	}
	return 0;
}

/*
 * Is the packet a reply of flow @f: going the other way than the packet
 * that opened it?  An echo is answered only by an echo reply.
 */
static __always_inline int pw_flow_is_reply(const struct pw_flow *f,
					    __u32 dir, const struct pw_hdrs *h)
{
	__u32 want = dir == PW_DIR_INGRESS ? PW_FLOW_OPENED : PW_FLOW_INBOUND;

	if (f->origin != want)
		return 0;
	if (pw_is_icmp(h))
		return pw_is_echo_reply(h->ip_proto, h->dport);
	return 1;
}

/*
 * A packet of a known flow went through: a RST ends the flow at once, a
 * FIN lets it age out soon, anything else keeps it alive.
 */
static __always_inline void pw_flow_touch(struct pw_flow *f,
					  const struct pw_flow_key *k,
					  const struct pw_hdrs *h, __u64 now)
{
	if (h->tcp_flags & PW_TCP_RST) {
		if (bpf_map_delete_elem(&pw_flows, k) == 0)
			pw_stat(PW_STAT_FLOW_CLOSED);
		return;
	}
	if ((h->tcp_flags & PW_TCP_FIN) && !(f->flags & PW_FLOW_FIN)) {
		f->flags |= PW_FLOW_FIN;
		now = now ?: bpf_ktime_get_coarse_ns();
	}
	/* 0: seen within PW_FLOW_QUICK_JIFFIES, nothing to rewrite */
	if (now) {
		f->last_ns = now;
		f->last_jiffies = bpf_jiffies64();
	}
}

/*
 * Add a flow opened by a packet that @j judged (its destination port
 * @port, its direction given by @origin).  A key already there means
 * another CPU recorded it first.
 */
static __always_inline void pw_flow_insert(const struct pw_flow_key *k,
					   const struct pw_judgement *j,
					   __u32 port, __u32 origin)
{
	struct pw_flow f = {
		.last_ns = bpf_ktime_get_coarse_ns(),
		.last_jiffies = bpf_jiffies64(),
		.slot = j->slot,
		.role = j->role,
		.port = port,
		.origin = origin,
		.verdict = j->verdict,
	};

	if (bpf_map_update_elem(&pw_flows, k, &f, BPF_NOEXIST) == 0)
		pw_stat(PW_STAT_FLOW_INSERT);
	else
		/* EEXIST: another CPU recorded it first; else no memory */
		pw_stat(PW_STAT_FLOW_INSERT_FAIL);
}

/* Record a flow whose first packet the policy let through. */
static __always_inline void pw_flow_open(const struct pw_flow_key *k,
					 __u32 dir, const struct pw_hdrs *h,
					 const struct pw_judgement *j)
{
	/* a RST opens nothing; an echo flow starts with a request */
	if (h->tcp_flags & PW_TCP_RST)
		return;
	if (pw_is_icmp(h) && !pw_is_echo_request(h->ip_proto, h->dport))
		return;
	pw_flow_insert(k, j, h->dport,
		       dir == PW_DIR_INGRESS ? PW_FLOW_INBOUND :
					       PW_FLOW_OPENED);
}

/*
 * Count a reply of flow @f (of IP protocol @proto) on the row of the
 * packet that opened it.  Returns the reason the frame is counted under.
 */
static __always_inline int pw_count_reply(const struct pw_flow *f,
					  __u32 proto, __u32 len)
{
	__u32 dir = f->origin == PW_FLOW_OPENED ? PW_DIR_EGRESS :
						  PW_DIR_INGRESS;

	return pw_count_at(f->slot, dir, proto, f->role, f->port,
			   PW_VERDICT_REPLY, len);
}

/* ----------------------------------------------------------- events -- */

/*
 * Take one event's worth from this CPU's token bucket: event_rate tokens
 * a second, at most event_burst saved up.  Per CPU, so no atomics.
 */
static __always_inline int pw_token_take(const struct pw_config *cfg,
					 __u64 now)
{
	struct pw_tbucket *tb;
	__u64 rate = cfg->event_rate, cap, elapsed;
	__u32 zero = 0;

	tb = bpf_map_lookup_elem(&pw_tbucket, &zero);
	if (!tb || rate == 0)
		return 0;
	cap = (__u64)(cfg->event_burst ?: 1) * PW_TOKEN;
	if (tb->last_ns == 0)
		tb->tokens = cap; /* a new bucket starts full */
	elapsed = now - tb->last_ns;
	/* the cap keeps elapsed * rate far from overflowing */
	if (elapsed > 10 * PW_TOKEN)
		elapsed = 10 * PW_TOKEN;
	tb->tokens += elapsed * rate;
	if (tb->tokens > cap)
		tb->tokens = cap;
	tb->last_ns = now;
	if (tb->tokens < PW_TOKEN)
		return 0;
	tb->tokens -= PW_TOKEN;
	return 1;
}

static const struct pw_sample pw_sample_empty;

/* Remember @addr among the few sample addresses of its counter key. */
static __always_inline void pw_sample_add(__u32 dir, const struct pw_hdrs *h,
					  __u32 role, const __u32 *addr,
					  __u32 family)
{
	struct pw_counter_key key = {
		.dir = dir,
		.proto = h->ip_proto,
		.role = role,
		.port_lo = h->dport,
		.port_hi = h->dport,
	};
	struct pw_sample *s;
	__u32 i, n;

	s = bpf_map_lookup_elem(&pw_samples, &key);
	if (!s) {
		/* from a zeroed value in .rodata: 72 bytes of stack are
		 * more than the program can spare */
		bpf_map_update_elem(&pw_samples, &key, &pw_sample_empty,
				    BPF_NOEXIST);
		s = bpf_map_lookup_elem(&pw_samples, &key);
		if (!s)
			return;
	}
#pragma unroll
	for (i = 0; i < PW_SAMPLE_ADDRS; i++)
		if (s->family[i] == family && s->addr[i][0] == addr[0] &&
		    s->addr[i][1] == addr[1] && s->addr[i][2] == addr[2] &&
		    s->addr[i][3] == addr[3])
			return;
	n = s->next % PW_SAMPLE_ADDRS;
	__builtin_memcpy(s->addr[n], addr, 16);
	s->family[n] = family;
	s->next = n + 1;
}

/*
 * A global function, like pw_role_v6 and for the same reason: checked
 * once on its own, the violation path's branches no longer multiply the
 * paths of the rest of the program.
 *
 * A violation: send an event if its flow was not reported within
 * event_interval_s and the token bucket allows, and keep a sample of the
 * peer's address.  @k is the packet's flow key with .dir set: pw_ev_seen
 * keeps the two directions of a flow apart.
 */
__attribute__((noinline)) int pw_report(const struct pw_config *cfg,
					 __u32 ifindex,
					 const struct pw_hdrs *h,
					 const struct pw_judgement *j,
					 struct pw_flow_key *k)
{
	struct pw_ev_seen *seen, fresh = {};
	struct pw_event *e;
	__u64 now, interval;
	__u32 dir;

	/* a global function may be handed NULL, says the verifier */
	if (!cfg || !h || !j || !k || cfg->event_rate == 0)
		return 0;
	dir = j->dir == PW_DIR_EGRESS ? PW_DIR_EGRESS : PW_DIR_INGRESS;
	now = bpf_ktime_get_ns();
	seen = bpf_map_lookup_elem(&pw_ev_seen, k);
	interval = (__u64)(cfg->event_interval_s ?:
			   PW_DEFAULT_EVENT_INTERVAL_S) * 1000000000ULL;
	if (seen && now - seen->last_ns < interval) {
		__sync_fetch_and_add(&seen->repeats, 1);
		pw_stat(PW_STAT_EVENT_REPEAT);
		return 0;
	}
	if (!pw_token_take(cfg, now)) {
		pw_stat(PW_STAT_EVENT_RATE_LIMITED);
		return 0;
	}
	e = bpf_ringbuf_reserve(&pw_events, sizeof(*e), 0);
	if (!e) {
		pw_stat(PW_STAT_EVENT_LOST);
		return 0;
	}
	e->ts_ns = now;
	e->ifindex = ifindex;
	e->dir = dir;
	e->family = k->family;
	e->proto = h->ip_proto;
	e->verdict = j->verdict;
	/* the key has the addresses zero-padded for IPv4 */
	__builtin_memcpy(e->saddr, dir == PW_DIR_INGRESS ? k->remote : k->local,
			 16);
	__builtin_memcpy(e->daddr, dir == PW_DIR_INGRESS ? k->local : k->remote,
			 16);
	e->sport = h->sport;
	e->dport = h->dport;
	e->role = j->role;
	e->rule_id = j->rule_id;
	e->kind = j->kind;
	e->tcp_flags = h->tcp_flags;
	e->pad = 0;
	e->repeats = seen ? seen->repeats : 0;
	bpf_ringbuf_submit(e, 0);
	pw_stat(PW_STAT_EVENT_SENT);

	if (seen) {
		seen->last_ns = now;
		seen->repeats = 0;
	} else {
		fresh.last_ns = now;
		bpf_map_update_elem(&pw_ev_seen, k, &fresh, BPF_ANY);
	}
	pw_sample_add(dir, h, j->role, k->remote, k->family);
	return 0;
}

/* ----------------------------------------------------------- shadow -- */

/*
 * Judge the packet by the shadow policy too (generation @sgen) and count
 * it in pw_shadow when the shadow verdict differs from @run's.  Global,
 * like pw_report: a shadow doubles the judging, not the verifier's work.
 */
__attribute__((noinline)) int pw_shadow_judge(const struct pw_config *cfg,
					       __u32 sgen,
					       const struct pw_hdrs *h,
					       const struct pw_judgement *run,
					       __u32 len)
{
	struct pw_judgement sj;
	struct pw_shadow_key key = {};
	__u32 dir;

	if (!cfg || !h || !run)
		return 0;
	sgen &= 1;
	dir = run->dir == PW_DIR_EGRESS ? PW_DIR_EGRESS : PW_DIR_INGRESS;
	pw_judge(cfg, sgen, dir, h, &sj);
	if (sj.verdict == run->verdict)
		return 0;
	key.dir = dir;
	key.proto = h->ip_proto;
	key.role = run->role;
	key.shadow_role = sj.role;
	key.port = h->dport;
	key.verdict = run->verdict;
	key.shadow_verdict = sj.verdict;
	if (pw_hash_count(&pw_shadow, &key, len))
		pw_stat(PW_STAT_SHADOW_FULL);
	return 0;
}

/* ------------------------------------------------------------ hooks -- */

/*
 * Does the packet start a flow: a TCP SYN without ACK, an echo request?
 * Only those are recorded when they arrive allowed: the rest of an allowed
 * inbound flow costs no flow-table work at all, and its replies are known
 * on egress by the entry the SYN made (or, for UDP and for flows older
 * than the load, by pw_egress_reverse_allowed()).
 */
static __always_inline int pw_opens_flow(const struct pw_hdrs *h)
{
	if (h->proto_idx == PW_P_TCP)
		return (h->tcp_flags & (PW_TCP_SYN | PW_TCP_ACK)) == PW_TCP_SYN;
	if (pw_is_icmp(h))
		return pw_is_echo_request(h->ip_proto, h->dport);
	return 0;
}

/*
 * The flow of @key, NULL when there is none or it has aged out (then it
 * is removed here: nothing else sweeps the table).  *@now is the clock,
 * or 0 when the flow was seen within PW_FLOW_QUICK_JIFFIES: it is alive
 * then, and pw_flow_touch() leaves it be.
 */
static __always_inline struct pw_flow *pw_flow_find(const struct pw_config *cfg,
						    const struct pw_flow_key *key,
						    __u64 *now)
{
	struct pw_flow *f = bpf_map_lookup_elem(&pw_flows, key);

	*now = 0;
	if (!f)
		return NULL;
	if ((__u32)bpf_jiffies64() - f->last_jiffies < PW_FLOW_QUICK_JIFFIES)
		return f;
	*now = bpf_ktime_get_coarse_ns();
	if (*now - f->last_ns <= pw_flow_timeout_ns(cfg, f, key->proto))
		return f;
	if (bpf_map_delete_elem(&pw_flows, key) == 0)
		pw_stat(PW_STAT_FLOW_EXPIRED);
	return NULL;
}

/* Count a judged packet (and the shadow's opinion); returns its reason. */
static __always_inline int pw_account(const struct pw_config *cfg, __u32 gen,
				      __u32 dir, const struct pw_hdrs *h,
				      const struct pw_judgement *j, __u32 len,
				      __u32 ifindex, struct pw_flow_key *key)
{
	if (cfg->flags & PW_CFG_SHADOW)
		pw_shadow_judge(cfg, gen ^ 1, h, j, len);
	if (j->verdict != PW_VERDICT_ALLOW && cfg->event_rate) {
		/* the same key serves pw_ev_seen, with the direction in
		 * and, for ICMP, the type, so that each type of message
		 * from a peer is a violation of its own; pw_flows keys
		 * have both 0 */
		__u16 rport = key->rport;

		key->dir = dir;
		if (pw_is_icmp(h))
			key->rport = h->dport;
		pw_report(cfg, ifindex, h, j, key);
		key->dir = 0;
		key->rport = rport;
	}
	return pw_count_judgement(dir, h, j, len);
}

/*
 * Is ICMP error @h about a known flow?  The packet it quotes went the
 * other way: on ingress the host sent it, on egress the host received it.
 * If its flow is known the error is counted as a reply of that flow (as
 * conntrack calls such errors related) and passes.  Returns 1 then.
 */
static __always_inline int pw_related(const struct pw_config *cfg,
				      const struct pw_hdrs *h, void *data_end,
				      __u32 dir, __u32 len, int *reason)
{
	struct pw_flow_key key = {};
	struct pw_flow *f;
	__u64 now;

	if (!pw_is_icmp(h) || !pw_is_icmp_error(h->ip_proto, h->dport) ||
	    !pw_quoted_key(h, data_end, dir == PW_DIR_INGRESS, &key))
		return 0;
	f = pw_flow_find(cfg, &key, &now);
	if (!f)
		return 0;
	*reason = pw_count_reply(f, key.proto, len);
	return 1;
}

/*
 * Ingress.  An allowed packet is counted and passes; only a SYN or an
 * echo request is recorded, and a FIN or RST updates its flow.  A violation may still be the reply of a flow
 * the host opened: that takes one lookup, on the violation path only.  An
 * audited violation that passes is recorded, so that the host's answers
 * count as replies rather than as egress violations too.
 */
static __always_inline int pw_ingress(const struct pw_config *cfg, __u32 gen,
				      const struct pw_hdrs *h, void *data_end,
				      __u32 len, __u32 ifindex, int *reason)
{
	struct pw_flow_key key = {};
	struct pw_judgement j;
	struct pw_flow *f = NULL;
	__u64 now = 0;
	int tracked;

	tracked = pw_flow_key_of(h, PW_DIR_INGRESS, &key);
	pw_judge(cfg, gen, PW_DIR_INGRESS, h, &j);
	if (j.verdict == PW_VERDICT_ALLOW) {
		*reason = pw_account(cfg, gen, PW_DIR_INGRESS, h, &j, len,
				     ifindex, &key);
		if (!tracked)
			return 0;
		if (pw_opens_flow(h)) {
			f = pw_flow_find(cfg, &key, &now);
			if (f)
				pw_flow_touch(f, &key, h, now);
			else
				pw_flow_open(&key, PW_DIR_INGRESS, h, &j);
		} else if (h->tcp_flags & (PW_TCP_FIN | PW_TCP_RST)) {
			/* the peer ends the flow: a FIN or RST is rare
			 * enough to pay a lookup, and without it the flow
			 * would live until the host's own FIN, or days */
			f = pw_flow_find(cfg, &key, &now);
			if (f)
				pw_flow_touch(f, &key, h, now);
		}
		return 0;
	}

	if (tracked)
		f = pw_flow_find(cfg, &key, &now);
	else if (pw_related(cfg, h, data_end, PW_DIR_INGRESS, len, reason))
		return 0;
	if (f && pw_flow_is_reply(f, PW_DIR_INGRESS, h)) {
		*reason = pw_count_reply(f, h->ip_proto, len);
		pw_flow_touch(f, &key, h, now);
		return 0;
	}
	*reason = pw_account(cfg, gen, PW_DIR_INGRESS, h, &j, len, ifindex,
			     &key);
	if (j.verdict == PW_VERDICT_DROP)
		return 1;
	if (f)
		pw_flow_touch(f, &key, h, now);
	else if (tracked)
		pw_flow_open(&key, PW_DIR_INGRESS, h, &j);
	return 0;
}

/*
 * An egress packet with no flow that is not the start of one: would the
 * packet it answers have been allowed in?  That packet came from the
 * peer's port (our destination port) to our source port, or was the echo
 * request this echo reply answers.  This is how replies of allowed UDP
 * flows, and of flows older than the load (the host's own SSH session,
 * say), are known; *@rj gets the ingress rule's slot and role, *@port
 * the port (or ICMP type) that packet went to.
 */
static __always_inline int pw_egress_reverse_allowed(__u32 gen,
						     const struct pw_hdrs *h,
						     __u32 role,
						     struct pw_judgement *rj,
						     __u32 *port)
{
	const struct pw_rule_entry *entry;
	__u32 in_port = h->sport;

	if (pw_is_icmp(h)) {
		if (!pw_is_echo_reply(h->ip_proto, h->dport))
			return 0;
		in_port = h->proto_idx == PW_P_ICMP ? PW_ICMP_ECHO_REQUEST :
						      PW_ICMPV6_ECHO_REQUEST;
	}
	entry = pw_entry_of(gen, PW_DIR_INGRESS, h->proto_idx, in_port, role);
	if (!entry || !(entry->flags & PW_ENTRY_ALLOW) ||
	    (entry->flags & PW_ENTRY_LOOPBACK))
		return 0;
	rj->dir = PW_DIR_INGRESS;
	rj->role = role;
	rj->slot = entry->slot;
	rj->rule_id = entry->rule_id;
	rj->kind = 0;
	rj->verdict = PW_VERDICT_ALLOW;
	*port = in_port;
	return 1;
}

/*
 * Record the inbound flow that egress packet @h answers (allowed in by
 * @rj's rule on @port) and count @h as its reply.  Returns the reason.
 */
static __always_inline int pw_flow_adopt(const struct pw_flow_key *key,
					 const struct pw_hdrs *h,
					 const struct pw_judgement *rj,
					 __u32 port, __u32 len)
{
	if (!(h->tcp_flags & PW_TCP_RST))
		pw_flow_insert(key, rj, port, PW_FLOW_INBOUND);
	return pw_count_at(rj->slot, PW_DIR_INGRESS, h->ip_proto, rj->role,
			   port, PW_VERDICT_REPLY, len);
}

/*
 * Egress.  Every packet the host sends looks its flow up: a reply of an
 * inbound flow passes as such; anything else is judged by the egress
 * rules and, when it leaves, recorded as a flow the host opened (at any
 * point of a TCP connection, so that connections older than the load are
 * picked up by the host's next packet).
 */
static __always_inline int pw_egress(const struct pw_config *cfg, __u32 gen,
				     const struct pw_hdrs *h, void *data_end,
				     __u32 len, __u32 ifindex, int *reason)
{
	struct pw_flow_key key = {};
	struct pw_judgement j;
	struct pw_flow *f = NULL;
	__u64 now = 0;
	__u32 role, port;
	int tracked;

	tracked = pw_flow_key_of(h, PW_DIR_EGRESS, &key);
	if (tracked)
		f = pw_flow_find(cfg, &key, &now);
	else if (pw_related(cfg, h, data_end, PW_DIR_EGRESS, len, reason))
		return 0;
	if (f && pw_flow_is_reply(f, PW_DIR_EGRESS, h)) {
		*reason = pw_count_reply(f, h->ip_proto, len);
		pw_flow_touch(f, &key, h, now);
		return 0;
	}
	role = pw_peer_role(gen, PW_DIR_EGRESS, h);
	if (!f && tracked && !pw_opens_flow(h) &&
	    pw_egress_reverse_allowed(gen, h, role, &j, &port)) {
		*reason = pw_flow_adopt(&key, h, &j, port, len);
		return 0;
	}
	pw_judge_role(cfg, gen, PW_DIR_EGRESS, h, role, &j);
	*reason = pw_account(cfg, gen, PW_DIR_EGRESS, h, &j, len, ifindex,
			     &key);
	if (j.verdict == PW_VERDICT_DROP)
		return 1;
	if (f)
		pw_flow_touch(f, &key, h, now);
	else if (tracked)
		pw_flow_open(&key, PW_DIR_EGRESS, h, &j);
	return 0;
}

/* Step 10: frames that could not be checked.  Returns 1 to drop. */
static __always_inline int pw_unchecked_drop(const struct pw_config *cfg,
					     __u32 dir, int reason)
{
	/* ARP, non-IP, PMTU and NDP are not in the mask: they always pass */
	if (!(cfg->unchecked_drop & PW_REASON_DROPPABLE_MASK &
	      (1U << reason)))
		return 0;
	return pw_enforcing_dir(cfg, dir, PW_MODE_HOST);
}

/*
 * Everything a hook does with the frame [data, data_end) of @len bytes;
 * returns 1 to drop it.
 */
static __always_inline int pw_frame(void *data, void *data_end, __u32 len,
				    __u32 dir, __u32 ifindex)
{
	const struct pw_config *cfg;
	struct pw_counter *c;
	struct pw_hdrs h;
	__u32 zero = 0, gen, idx;
	int reason, drop;

	cfg = bpf_map_lookup_elem(&pw_config, &zero);
	if (!cfg)
		return 0; /* a one-entry array: cannot happen */
	/* read once: a flip while this frame is judged must not mix the
	 * two generations' tables */
	gen = *(volatile __u32 *)&cfg->active_gen & 1;

	reason = pw_parse_frame(data, data_end, &h);
	if (reason == PW_REASON_CLASSIFIED && dir == PW_DIR_INGRESS)
		drop = pw_ingress(cfg, gen, &h, data_end, len, ifindex,
				  &reason);
	else if (reason == PW_REASON_CLASSIFIED)
		drop = pw_egress(cfg, gen, &h, data_end, len, ifindex,
				 &reason);
	else
		drop = pw_unchecked_drop(cfg, dir, reason);

	idx = pw_reason_index(dir, reason);
	c = bpf_map_lookup_elem(&pw_reasons, &idx);
	if (c)
		pw_count(c, len);
	return drop;
}

SEC("xdp")
int pw_xdp_ingress(struct xdp_md *ctx)
{
#ifdef PW_BENCH_SPREAD
	pw_bench_pick(ctx);
#endif
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	return pw_frame(data, data_end, data_end - data, PW_DIR_INGRESS,
			ctx->ingress_ifindex) ?
		       XDP_DROP :
		       XDP_PASS;
}

/*
 * Bytes the egress parse may need in the linear part of an skb: Ethernet,
 * two VLAN tags, IPv6 with its walk of extension headers, an L4 header.
 * Locally built packets have them there already; a pull is the rare case.
 */
#define PW_TC_PULL_LEN 256

SEC("tc")
int pw_tc_egress(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u32 want = skb->len < PW_TC_PULL_LEN ? skb->len : PW_TC_PULL_LEN;

	if (data + want > data_end) {
		bpf_skb_pull_data(skb, want);
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
	}
	/* TC_ACT_UNSPEC, not TC_ACT_OK, for a packet that passes: OK would
	 * end the filter chain, and the filters after ours on the hook
	 * (other tools' too) would never see the packet */
	return pw_frame(data, data_end, skb->len, PW_DIR_EGRESS,
			skb->ifindex) ?
		       TC_ACT_SHOT :
		       TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
