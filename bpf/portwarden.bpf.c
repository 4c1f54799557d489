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
	__uint(max_entries, PW_NREASON);
	__type(key, __u32);
	__type(value, struct pw_counter);
} pw_reasons SEC(".maps");

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

/* IPv4 source role: DIR-16-8-8, at most three array reads. */
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
 * IPv6 source role: for each prefix length present, longest first, hash
 * the masked address and look at the buckets from its home (see pw_v6 in
 * portwarden.h); the first hit wins.  Inlined array reads only.  A length
 * whose prefixes all lie elsewhere (pw_v6_span) costs a compare; another
 * miss usually costs the hash and one word of one bucket.
 */
static __always_inline __u32 pw_role_v6(__u32 gen, const struct pw_hdrs *h)
{
	const struct pw_gen_info *info;
	__u32 i, nbuckets, seed, cap = pw_v6_cap;
	__u64 a_lo, a_hi;

	info = bpf_map_lookup_elem(&pw_gen, &gen);
	if (!info)
		return PW_ROLE_UNKNOWN;
	nbuckets = info->v6_nbuckets;
	if (nbuckets == 0)
		return PW_ROLE_UNKNOWN;
	seed = info->v6_seed;
	__builtin_memcpy(&a_lo, &h->saddr[0], sizeof(a_lo));
	__builtin_memcpy(&a_hi, &h->saddr[2], sizeof(a_hi));

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

/*
 * A violation on a port no rule names: count it in pw_unnamed under its
 * own key.  Returns the reason the frame is counted under: CLASSIFIED, or
 * UNNAMED_FULL when the table had no room for a new key.
 */
static __always_inline int pw_count_unnamed(const struct pw_hdrs *h,
					    __u32 role, __u32 verdict,
					    __u32 len)
{
	struct pw_counter_key key = {
		.dir = PW_DIR_INGRESS,
		.proto = h->ip_proto,
		.role = role,
		.port_lo = h->dport,
		.port_hi = h->dport,
		.verdict = verdict,
	};
	struct pw_counter *c, first = { .packets = 1, .bytes = len };
	long err;

	c = bpf_map_lookup_elem(&pw_unnamed, &key);
	if (!c) {
		err = bpf_map_update_elem(&pw_unnamed, &key, &first,
					  BPF_NOEXIST);
		if (!err)
			return PW_REASON_CLASSIFIED;
		if (err != -PW_EEXIST)
			return PW_REASON_UNNAMED_FULL;
		/* another CPU inserted the key in between */
		c = bpf_map_lookup_elem(&pw_unnamed, &key);
		if (!c)
			return PW_REASON_UNNAMED_FULL;
	}
	pw_count(c, len);
	return PW_REASON_CLASSIFIED;
}

/* Step 7: the source role, from the family's own table. */
static __always_inline __u32 pw_src_role(__u32 gen, const struct pw_hdrs *h)
{
	if (h->l3_proto == bpf_htons(ETH_P_IP))
		return pw_role_v4(gen, bpf_ntohl(h->saddr[0]));
	return pw_role_v6(gen, h);
}

/*
 * Steps 8-9 of the spec for a parsed frame: segment, verdict, counter.
 * Returns the XDP action; *reason may become UNNAMED_FULL.
 */
static __always_inline int pw_judge(const struct pw_config *cfg, __u32 gen,
				    const struct pw_hdrs *h, __u32 role,
				    __u32 len, int *reason)
{
	const struct pw_port_row *row;
	const struct pw_rule_entry *entry;
	struct pw_counter *c;
	__u32 seg = PW_SEG_NONE, idx, verdict;

	if (h->proto_idx < PW_NPROTO) {
		idx = pw_port_row_index(gen, PW_DIR_INGRESS, h->proto_idx,
					h->dport);
		row = bpf_map_lookup_elem(&pw_ports, &idx);
		if (row)
			seg = row->seg[h->dport % PW_PORTS_PER_ROW];
	}

	if (seg != PW_SEG_NONE) {
		idx = pw_rule_index(gen, PW_DIR_INGRESS, pw_seg_cap,
				    pw_role_cap, seg, role);
		entry = bpf_map_lookup_elem(&pw_rules, &idx);
		if (entry) {
			if (entry->flags & PW_ENTRY_ALLOW)
				verdict = PW_VERDICT_ALLOW;
			else if (pw_enforcing(cfg, entry->mode))
				verdict = PW_VERDICT_DROP;
			else
				verdict = PW_VERDICT_AUDIT;
			idx = pw_counter_index(entry->slot, verdict);
			c = bpf_map_lookup_elem(&pw_counters, &idx);
			if (c)
				pw_count(c, len);
			return verdict == PW_VERDICT_DROP ? XDP_DROP : XDP_PASS;
		}
	}

	/* undocumented port, or a protocol we do not parse */
	verdict = pw_enforcing(cfg, PW_MODE_HOST) ? PW_VERDICT_DROP :
						    PW_VERDICT_AUDIT;
	*reason = pw_count_unnamed(h, role, verdict, len);
	return verdict == PW_VERDICT_DROP ? XDP_DROP : XDP_PASS;
}

/* Step 10: frames that could not be checked. */
static __always_inline int pw_unchecked_action(const struct pw_config *cfg,
					       int reason)
{
	/* ARP, non-IP, PMTU and NDP are not in the mask: they always pass */
	if (!(cfg->unchecked_drop & PW_REASON_DROPPABLE_MASK &
	      (1U << reason)))
		return XDP_PASS;
	return pw_enforcing(cfg, PW_MODE_HOST) ? XDP_DROP : XDP_PASS;
}

/* ---------------------------------------------------------- program -- */

SEC("xdp")
int pw_xdp_ingress(struct xdp_md *ctx)
{
#ifdef PW_BENCH_SPREAD
	pw_bench_pick(ctx);
#endif
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 len = data_end - data, zero = 0, gen, role;
	const struct pw_config *cfg;
	struct pw_counter *c;
	struct pw_hdrs h;
	int reason, action;

	cfg = bpf_map_lookup_elem(&pw_config, &zero);
	if (!cfg)
		return XDP_PASS; /* a one-entry array: cannot happen */
	/* read once: a flip while this frame is judged must not mix the
	 * two generations' tables */
	gen = *(volatile __u32 *)&cfg->active_gen & 1;

	reason = pw_parse_frame(data, data_end, &h);
	if (reason == PW_REASON_CLASSIFIED) {
		role = pw_src_role(gen, &h);
		action = pw_judge(cfg, gen, &h, role, len, &reason);
	} else {
		action = pw_unchecked_action(cfg, reason);
	}

	c = bpf_map_lookup_elem(&pw_reasons, &reason);
	if (c)
		pw_count(c, len);
	return action;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
