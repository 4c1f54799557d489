// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fuzz_classify.c - libFuzzer harness for the reference classifier
 * (user/classify.c).
 *
 * Three host profiles of the replication-manager site (db-host: audit,
 * repman-host: audit with loopback ports, bastion: enforce) are compiled
 * once.  Each input is one ingress frame, classified against every one of
 * them under four host configurations.  Besides memory safety (libFuzzer
 * hands over a buffer of exactly the input's size, so any read past the
 * frame is an ASan report) the result must obey the datapath
 * specification: a reason below PW_NREASON, a verdict below PW_NVERDICT,
 * counters inside the compiled tables, never a drop of what always passes,
 * a drop exactly when the mode in force enforces.
 *
 * The first 38 bytes of an input also make a 5-tuple for
 * pw_classify_build_packet(); the frame it builds must classify back to
 * that tuple.
 */
#include <stddef.h>
#include <stdint.h>

#include "classify.h"
#include "compile.h"
#include "fuzz_common.h"
#include "policy.h"
#include "portwarden.h"
#include "profile.h"

static const char *const profile_files[] = {
	"policies/profiles/db-host.profile",
	"policies/profiles/repman-host.profile",
	"policies/profiles/bastion.profile",
};
#define NHOSTS (sizeof(profile_files) / sizeof(profile_files[0]))

struct host {
	struct pw_profile prof;
	struct pw_policy pol;
	struct pw_inventory inv;
	struct pw_compiled c;
};

static struct host hosts[NHOSTS];

/* A fixed "now"; the third configuration's deadline lies before it. */
#define NOW_NS 2000

static const struct pw_config configs[] = {
	{ .mode = PW_MODE_AUDIT, .unchecked_drop = PW_UNCHECKED_DROP_DEFAULT },
	{ .mode = PW_MODE_ENFORCE, .unchecked_drop = PW_UNCHECKED_DROP_DEFAULT },
	{ .mode = PW_MODE_ENFORCE, .unchecked_drop = ~0U,
	  .enforce_deadline_ns = NOW_NS - 1 },
	{ .mode = PW_MODE_ENFORCE, .unchecked_drop = ~0U,
	  .enforce_deadline_ns = NOW_NS + 1 },
};
#define NCONFIGS (sizeof(configs) / sizeof(configs[0]))

static void load_host(struct host *h, const char *profile)
{
	struct pw_compile_opts opts = { 0 };
	struct pw_diags d = { 0 };
	char path[PATH_MAX];

	fz_source_path(profile, path, sizeof(path));
	if (pw_profile_parse_file(path, &h->prof, &d) ||
	    pw_policy_parse_file(h->prof.policy, &h->pol, &d) ||
	    pw_inventory_parse_file(h->prof.inventory, &h->pol, &h->inv, &d))
		goto fail;
	opts.host_roles = (const char *const *)h->prof.roles;
	opts.nhost_roles = h->prof.nroles;
	opts.tags = (const char *const *)h->prof.tags;
	opts.ntags = h->prof.ntags;
	if (pw_compile(&h->pol, &h->inv, &opts, &h->c, &d))
		goto fail;
	pw_diags_free(&d);
	return;
fail:
	pw_diags_print(&d, stderr);
	fz_fail("seed profile %s does not compile", path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	for (size_t i = 0; i < NHOSTS; i++)
		load_host(&hosts[i], profile_files[i]);
	return 0;
}

static bool enforcing(const struct pw_config *cfg, unsigned mode)
{
	unsigned m = mode != PW_MODE_HOST ? mode : cfg->mode;

	return m == PW_MODE_ENFORCE &&
	       (cfg->enforce_deadline_ns == 0 ||
		NOW_NS <= cfg->enforce_deadline_ns);
}

/* A packet that parsed: the counter and verdict it got. */
static void check_judged(const struct pw_compiled *c,
			 const struct pw_config *cfg,
			 const struct pw_classify_result *r)
{
	unsigned mode = PW_MODE_HOST;

	if (r->family != 4 && r->family != 6)
		fz_fail("classified with family %u", r->family);
	if (r->role >= c->nroles)
		fz_fail("role %u of %u", r->role, c->nroles);
	if (r->verdict >= PW_NVERDICT || r->verdict == PW_VERDICT_REPLY)
		fz_fail("verdict %u", r->verdict);
	if (r->key.verdict != r->verdict)
		fz_fail("key verdict %u, verdict %u", r->key.verdict,
			r->verdict);
	if (r->counter == PW_COUNTER_SLOT) {
		if (r->slot >= c->nslots)
			fz_fail("slot %u of %u", r->slot, c->nslots);
		if (r->counter_index != pw_counter_index(r->slot, r->verdict))
			fz_fail("counter index %u for slot %u verdict %u",
				r->counter_index, r->slot, r->verdict);
		if (r->seg == PW_SEG_NONE || r->rule_id == PW_RULE_NONE ||
		    !pw_compiled_rule(c, r->rule_id))
			fz_fail("slot counter without segment or rule");
		mode = r->entry_mode;
	} else if (r->counter == PW_COUNTER_UNNAMED) {
		if (r->verdict == PW_VERDICT_ALLOW)
			fz_fail("an unnamed port allowed");
		if (r->key.role != r->role || r->key.port_lo != r->port ||
		    r->key.port_hi != r->port || r->key.proto != r->ipproto)
			fz_fail("unnamed key differs from the packet");
	} else {
		fz_fail("a judged packet with counter kind %d", r->counter);
	}
	if (r->verdict != PW_VERDICT_ALLOW &&
	    (r->verdict == PW_VERDICT_DROP) != enforcing(cfg, mode))
		fz_fail("verdict %u but enforcing=%d", r->verdict,
			enforcing(cfg, mode));
	if ((r->action == PW_XDP_DROP) != (r->verdict == PW_VERDICT_DROP))
		fz_fail("action %d for verdict %u", r->action, r->verdict);
}

/* A packet that stopped early: only the reason counter, maybe a drop. */
static void check_unchecked(const struct pw_config *cfg,
			    const struct pw_classify_result *r)
{
	bool droppable = (1U << r->reason) & PW_REASON_DROPPABLE_MASK &
			 cfg->unchecked_drop;

	if (r->counter != PW_COUNTER_NONE || r->rule_id != PW_RULE_NONE)
		fz_fail("reason %u with a counter", r->reason);
	if (r->reason == PW_REASON_UNNAMED_FULL)
		fz_fail("unnamed-full from pw_classify itself");
	if ((r->action == PW_XDP_DROP) !=
	    (droppable && enforcing(cfg, PW_MODE_HOST)))
		fz_fail("reason %s: action %d", pw_reason_name(r->reason),
			r->action);
}

static void check_describe(const struct pw_compiled *c,
			   const struct pw_classify_result *r)
{
	char line[512], small[9];
	int n = pw_classify_describe(c, r, line, sizeof(line));
	int m = pw_classify_describe(c, r, small, sizeof(small));

	if (n <= 0 || n >= (int)sizeof(line) || (size_t)n != strlen(line))
		fz_fail("describe returned %d for '%s'", n, line);
	if (m != n || strlen(small) != sizeof(small) - 1 ||
	    memcmp(small, line, sizeof(small) - 1))
		fz_fail("describe into 9 bytes: %d '%s'", m, small);
}

static void check_result(const struct pw_compiled *c,
			 const struct pw_config *cfg, uint32_t len, int ret,
			 const struct pw_classify_result *r)
{
	struct pw_classify_result full = *r;

	if (ret != r->action ||
	    (r->action != PW_XDP_PASS && r->action != PW_XDP_DROP))
		fz_fail("returned %d, action %d", ret, r->action);
	if (r->reason >= PW_NREASON)
		fz_fail("reason %u", r->reason);
	if (r->len != len)
		fz_fail("len %u for a %u-byte frame", r->len, len);
	if (r->nvlan > PW_MAX_VLAN)
		fz_fail("%u VLAN tags", r->nvlan);
	if (r->proto_idx < -1 || r->proto_idx >= PW_NPROTO)
		fz_fail("proto_idx %d", r->proto_idx);
	if (r->reason == PW_REASON_CLASSIFIED)
		check_judged(c, cfg, r);
	else
		check_unchecked(cfg, r);
	check_describe(c, r);
	pw_classify_unnamed_full(&full);
	if (r->counter == PW_COUNTER_UNNAMED &&
	    (full.reason != PW_REASON_UNNAMED_FULL ||
	     full.counter != PW_COUNTER_NONE || full.action != r->action))
		fz_fail("unnamed-full did not turn the result");
	check_describe(c, &full);
}

static void classify_everywhere(const uint8_t *pkt, uint32_t len)
{
	struct pw_classify_result r, again;

	for (size_t h = 0; h < NHOSTS; h++) {
		for (size_t k = 0; k < NCONFIGS; k++) {
			const struct pw_compiled *c = &hosts[h].c;
			int ret = pw_classify(c, &configs[k], NOW_NS, pkt, len,
					      &r);

			check_result(c, &configs[k], len, ret, &r);
			pw_classify(c, &configs[k], NOW_NS, pkt, len, &again);
			if (memcmp(&r, &again, sizeof(r)))
				fz_fail("two classifications differ");
		}
	}
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The tuple in the first 38 bytes, built and classified back. */
static void check_built(const uint8_t *data, size_t size)
{
	int family = data[0] & 1 ? 6 : 4;
	const uint8_t *src = data + 1, *dst = data + 17;
	uint8_t proto = data[33];
	uint16_t sport = be16(data + 34), dport = be16(data + 36);
	struct pw_classify_result r;
	uint8_t frame[128];
	int len;

	len = pw_classify_build_packet(family, src, dst, proto, sport, dport,
				       frame, sizeof(frame));
	if (len <= 0)
		fz_fail("build_packet failed: %d", len);
	pw_classify(&hosts[0].c, &configs[0], NOW_NS, frame, (uint32_t)len,
		    &r);
	if (family == 6 && (proto == 0 || proto == 43 || proto == 44 ||
			    proto == 51 || proto == 60))
		return; /* an extension header: parsing goes on into zeros */
	if (r.family != family || r.ipproto != proto ||
	    memcmp(r.saddr, src, family == 4 ? 4 : 16) ||
	    memcmp(r.daddr, dst, family == 4 ? 4 : 16))
		fz_fail("built frame reads back as another packet");
	if ((proto == PW_IPPROTO_TCP || proto == PW_IPPROTO_UDP ||
	     proto == PW_IPPROTO_SCTP) &&
	    (r.reason != PW_REASON_CLASSIFIED || r.port != dport ||
	     r.sport != sport))
		fz_fail("built %u/%u reads back as reason %u port %u/%u",
			proto, dport, r.reason, r.port, r.sport);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > UINT32_MAX)
		return 0;
	classify_everywhere(data, (uint32_t)size);
	if (size >= 38)
		check_built(data, size);
	return 0;
}
