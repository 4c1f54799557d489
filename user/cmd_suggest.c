/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * cmd_suggest.c - "portwarden suggest": policy lines that would allow the
 * violations a loaded interface counted, for review.
 *
 * The violations are the audit and drop counters of pw_counters (slot
 * keys) and pw_unnamed; the peers' addresses come from pw_samples.  Each
 * key is judged again against the generation in force, read from the
 * maps as the datapath reads them, so that violations counted before a
 * reload that allowed them are not suggested twice.  The rendering is in
 * suggest.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "cli.h"
#include "hostopts.h"
#include "report.h"
#include "state.h"
#include "suggest.h"

extern const struct pw_cmd pw_cmd_suggest;

/* ------------------------------------------------------------------ */
/* What the generation in force says of a key                          */
/* ------------------------------------------------------------------ */

struct judge {
	const struct pw_maps *m;
	__u32 gen;
	/* the last port row read, to read each row once per key */
	__u32 row_index;
	bool have_row;
	struct pw_port_row row;
};

static int port_segment(struct judge *j, __u32 dir, int proto_idx,
			__u32 port, __u32 *seg)
{
	__u32 idx = pw_port_row_index(j->gen, dir, proto_idx, port);

	if (!j->have_row || j->row_index != idx) {
		if (bpf_map_lookup_elem(j->m->ports, &idx, &j->row))
			return -errno;
		j->row_index = idx;
		j->have_row = true;
	}
	*seg = j->row.seg[port % PW_PORTS_PER_ROW];
	return 0;
}

static int rule_entry(const struct judge *j, __u32 dir, __u32 seg,
		      __u32 role, struct pw_rule_entry *e)
{
	memset(e, 0, sizeof(*e));
	if (seg >= j->m->caps.seg_cap || role >= j->m->caps.role_cap)
		return 0;
	return pw_maps_read_rule_entry(j->m, j->gen, dir, seg, role, e);
}

/*
 * ALLOWED when every port of the key is allowed to its role now;
 * LOOPBACK when its first port is loopback-only; else VIOLATES.
 */
static int judge_now(struct judge *j, const struct pw_counter_key *k,
		     enum pw_suggest_now *now)
{
	int proto_idx = pw_proto_from_ipproto(k->proto);
	__u32 port, seg = PW_SEG_NONE, last_seg = PW_SEG_NONE;
	struct pw_rule_entry e = { 0 };
	int err;

	*now = PW_SUGGEST_VIOLATES;
	if (proto_idx < 0)
		return 0;
	j->have_row = false;
	for (port = k->port_lo; port <= k->port_hi; port++) {
		err = port_segment(j, k->dir, proto_idx, port, &seg);
		if (err)
			return err;
		if (seg == PW_SEG_NONE)
			return 0;
		if (seg != last_seg) {
			err = rule_entry(j, k->dir, seg, k->role, &e);
			if (err)
				return err;
			last_seg = seg;
		}
		if (port == k->port_lo && (e.flags & PW_ENTRY_LOOPBACK)) {
			*now = PW_SUGGEST_LOOPBACK;
			return 0;
		}
		if (!(e.flags & PW_ENTRY_ALLOW))
			return 0;
	}
	*now = PW_SUGGEST_ALLOWED;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Observations from the counters                                      */
/* ------------------------------------------------------------------ */

struct observed {
	struct pw_suggest_obs *obs;
	size_t nobs;
	struct pw_suggest_sample *samples;
	size_t nsamples;
};

static struct pw_suggest_obs *obs_new(struct observed *o)
{
	struct pw_suggest_obs *v;

	v = realloc(o->obs, (o->nobs + 1) * sizeof(*v));
	if (!v)
		return NULL;
	o->obs = v;
	memset(&v[o->nobs], 0, sizeof(v[o->nobs]));
	return &v[o->nobs++];
}

static int add_slots(const struct pw_snap *s, struct observed *o)
{
	struct pw_suggest_obs *ob;
	uint32_t i;

	for (i = 0; i < s->nslots; i++) {
		const struct pw_snap_slot *sl = &s->slots[i];
		const struct pw_counter *a = &sl->sum[PW_VERDICT_AUDIT];
		const struct pw_counter *d = &sl->sum[PW_VERDICT_DROP];

		if (!a->packets && !d->packets)
			continue;
		ob = obs_new(o);
		if (!ob)
			return -ENOMEM;
		ob->key = sl->key;
		ob->key.verdict = 0;
		ob->audit_packets = a->packets;
		ob->drop_packets = d->packets;
		ob->bytes = a->bytes + d->bytes;
		ob->rule_id = sl->in_force ? sl->rule_id : 0;
	}
	return 0;
}

/*
 * The observation of unnamed key @k (verdict aside), made on first use;
 * those of pw_unnamed start at index @first.
 */
static struct pw_suggest_obs *unnamed_obs(struct observed *o, size_t first,
					  const struct pw_counter_key *k)
{
	struct pw_counter_key want = *k;
	struct pw_suggest_obs *ob;
	size_t i;

	want.verdict = 0;
	for (i = first; i < o->nobs; i++)
		if (!memcmp(&o->obs[i].key, &want, sizeof(want)))
			return &o->obs[i];
	ob = obs_new(o);
	if (ob)
		ob->key = want;
	return ob;
}

static int add_unnamed(const struct pw_snap *s, struct observed *o)
{
	size_t first = o->nobs;
	struct pw_suggest_obs *ob;
	uint32_t i;

	for (i = 0; i < s->nunnamed; i++) {
		const struct pw_snap_unnamed *u = &s->unnamed[i];

		if (u->key.verdict != PW_VERDICT_AUDIT &&
		    u->key.verdict != PW_VERDICT_DROP)
			continue;
		if (!u->sum.packets)
			continue;
		ob = unnamed_obs(o, first, &u->key);
		if (!ob)
			return -ENOMEM;
		if (u->key.verdict == PW_VERDICT_AUDIT)
			ob->audit_packets += u->sum.packets;
		else
			ob->drop_packets += u->sum.packets;
		ob->bytes += u->sum.bytes;
	}
	return 0;
}

static int add_sample(const struct pw_counter_key *key,
		      const struct pw_sample *sample, void *arg)
{
	struct observed *o = arg;
	struct pw_suggest_sample *v;

	v = realloc(o->samples, (o->nsamples + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	o->samples = v;
	v[o->nsamples].key = *key;
	v[o->nsamples].s = *sample;
	o->nsamples++;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Peers that were outside the inventory                               */
/* ------------------------------------------------------------------ */

/*
 * A violation by role 0 was counted under the inventory of its time.
 * When the inventory has given its sample peers roles since (a reload
 * with suggest's placeholder lines, say), a placeholder for them would
 * clash with their new entries: judge the key again under each peer's
 * role instead, and keep only the peers still outside the inventory as
 * candidates for placeholders.  The roles come from the recompiled
 * policy, which is the generation in force unless the files changed.
 */

static uint32_t role_now(const struct pw_compiled *c, unsigned family,
			 const __u32 addr[4])
{
	if (family == 4)
		return pw_compiled_role_v4(c, (const uint8_t *)addr);
	return pw_compiled_role_v6(c, (const uint8_t *)addr);
}

static int rejudge_unknown(struct judge *j, const struct pw_compiled *c,
			   const struct observed *o, struct pw_suggest_obs *ob)
{
	bool known = false, unknown = false, allowed = true;
	struct pw_counter_key k = ob->key;
	enum pw_suggest_now now;
	size_t i;
	int a, err;

	for (i = 0; i < o->nsamples; i++) {
		const struct pw_suggest_sample *sm = &o->samples[i];

		if (!pw_suggest_sample_of(sm, &ob->key))
			continue;
		for (a = 0; a < PW_SAMPLE_ADDRS; a++) {
			if (!sm->s.family[a])
				continue;
			k.role = role_now(c, sm->s.family[a], sm->s.addr[a]);
			if (k.role == PW_ROLE_UNKNOWN) {
				unknown = true;
				continue;
			}
			known = true;
			err = judge_now(j, &k, &now);
			if (err)
				return err;
			allowed &= now == PW_SUGGEST_ALLOWED;
		}
	}
	if (known && !unknown)
		ob->now = allowed ? PW_SUGGEST_ALLOWED : PW_SUGGEST_INVENTORIED;
	return 0;
}

/* Sample peers of role-0 keys that hold a role now: no placeholder's. */
static void drop_inventoried(const struct pw_compiled *c, struct observed *o)
{
	size_t i;
	int a;

	for (i = 0; i < o->nsamples; i++) {
		struct pw_suggest_sample *sm = &o->samples[i];

		if (sm->key.role != PW_ROLE_UNKNOWN)
			continue;
		for (a = 0; a < PW_SAMPLE_ADDRS; a++)
			if (sm->s.family[a] &&
			    role_now(c, sm->s.family[a], sm->s.addr[a]))
				sm->s.family[a] = 0;
	}
}

static int observe(const struct pw_loaded *l, const struct pw_snap *s,
		   const struct pw_report_policy *p, struct observed *o)
{
	struct judge j = { .m = &l->maps, .gen = s->cfg.active_gen & 1 };
	bool roles_now = p->ok && !p->stale;
	size_t i;
	int err;

	err = add_slots(s, o);
	if (!err)
		err = add_unnamed(s, o);
	for (i = 0; !err && i < o->nobs; i++)
		err = judge_now(&j, &o->obs[i].key, &o->obs[i].now);
	if (!err)
		err = pw_maps_foreach_sample(&l->maps, add_sample, o);
	for (i = 0; !err && roles_now && i < o->nobs; i++)
		if (o->obs[i].key.role == PW_ROLE_UNKNOWN &&
		    o->obs[i].now == PW_SUGGEST_VIOLATES)
			err = rejudge_unknown(&j, &p->c, o, &o->obs[i]);
	if (!err && roles_now)
		drop_inventoried(&p->c, o);
	return err;
}

/* ------------------------------------------------------------------ */
/* The command                                                         */
/* ------------------------------------------------------------------ */

/* The policy's role names, which a placeholder must not take. */
static const char **policy_roles(const struct pw_report_policy *p, int *n)
{
	const char **v;
	int i;

	*n = 0;
	if (!p->ok || !p->pol.nroles)
		return NULL;
	v = calloc(p->pol.nroles, sizeof(*v));
	if (!v)
		return NULL;
	for (i = 0; i < p->pol.nroles; i++)
		v[i] = p->pol.roles[i].name;
	*n = p->pol.nroles;
	return v;
}

static int render(const struct pw_hostopts *ho, const struct pw_loaded *l,
		  const struct pw_snap *s, const struct pw_report_policy *p,
		  const struct observed *o)
{
	struct pw_suggest_input in = {
		.iface = l->iface,
		.netns = ho->netns,
		.policy = p->name,
		.host_roles = (const char *const *)l->st.roles,
		.nhost_roles = l->st.nroles,
		.roles = s->roles,
		.nroles = s->nroles,
		.obs = o->obs,
		.nobs = o->nobs,
		.samples = o->samples,
		.nsamples = o->nsamples,
	};
	struct pw_suggestion sug;
	const char **taken;
	int err;

	taken = policy_roles(p, &in.ntaken);
	in.taken = taken;
	err = pw_suggest_build(&in, &sug);
	if (err) {
		pw_cli_err("suggest: %s: %s", l->name,
			   err == -EINVAL ? "the state file names no host role" :
					    strerror(-err));
		free(taken);
		return err;
	}
	if (pw_out_is_json())
		pw_suggest_print_json(&sug, pw_out_json());
	else
		pw_suggest_print_text(&sug, stdout);
	pw_suggest_free(&sug);
	free(taken);
	return 0;
}

static int run_suggest(const struct pw_hostopts *ho)
{
	struct pw_report_policy p = { 0 };
	struct observed o = { 0 };
	struct pw_snap s = { 0 };
	struct pw_loaded l;
	int rc;

	rc = pw_hostopts_open(&pw_cmd_suggest, ho, &l);
	if (rc)
		return rc;
	/* the policy only refines things here: failing is no error */
	pw_report_policy_load(&l, &p);
	if (!p.ok)
		pw_cli_warn("suggest: %s: cannot recompile the policy: %s",
			    l.name, p.why);
	else if (p.stale)
		pw_cli_warn("suggest: %s: the policy files changed since the "
			    "last load or reload; peers outside the inventory "
			    "are taken as they were then",
			    l.name);
	rc = pw_snap_read(&l.maps, &s);
	if (!rc)
		rc = observe(&l, &s, &p, &o);
	if (rc) {
		pw_hostopts_read_err(&pw_cmd_suggest, &l,
				     "reading the counters", rc);
		goto out;
	}
	rc = render(ho, &l, &s, &p, &o);
out:
	free(o.obs);
	free(o.samples);
	pw_snap_free(&s);
	pw_report_policy_free(&p);
	pw_loaded_close(&l);
	return rc;
}

static int do_suggest(int argc, char **argv)
{
	struct pw_hostopts ho;
	int err;

	err = pw_hostopts_parse(&pw_cmd_suggest, PW_HO_IFACE | PW_HO_NETNS,
				argc, argv, &ho);
	if (err == 1) { /* --help printed */
		err = 0;
		goto out;
	}
	if (!err)
		err = pw_hostopts_need_iface(&pw_cmd_suggest, &ho);
	if (!err)
		err = run_suggest(&ho);
out:
	pw_hostopts_free(&ho);
	return err ? 1 : 0;
}

const struct pw_cmd pw_cmd_suggest = {
	.name = "suggest",
	.usage = "suggest --iface IF [--netns NAME]",
	.summary = "Suggest policy lines that would allow the violations seen.",
	.help =
		"Reads the violation counters of a loaded interface (audit and drop,\n"
		"on ports rules name and on ports none names) and the sample addresses\n"
		"the datapath kept, and prints the policy lines that would allow that\n"
		"traffic: one allow line per direction, peer role and protocol, its\n"
		"ports merged into lists and ranges, after a comment with the packet\n"
		"counts and the sample addresses.  The host's roles stand on the host's\n"
		"side: the destination on ingress, the source on egress.\n"
		"\n"
		"Peers outside the inventory get placeholder roles (unknown-1, ...), one\n"
		"per set of sample addresses seen on the same ports (so that none is\n"
		"allowed more than it was seen doing), with the role line to declare it\n"
		"and, as a comment, the inventory line that gives it the addresses.\n"
		"Violations no allow line can fix (loopback-only ports, protocols without\n"
		"rules, peers outside the inventory without a sample) are listed as\n"
		"comments, and so are those the policy in force already allows.\n"
		"\n"
		"Nothing is applied: review the lines, give them the vendor's words as\n"
		"notes, append them to the policy, then 'portwarden check' and\n"
		"'portwarden reload'.  The output parses appended to the policy.\n"
		"\n"
		"Options:\n"
		"  --iface IF       the interface\n"
		"  --netns NAME     the interface lives in network namespace NAME\n"
		"  -j, --json       one JSON document: placeholders, rules (with the line\n"
		"                   each would be), skipped keys and why\n"
		"  -h, --help       this text\n"
		"\n"
		"Exit status: 0 when the suggestion was printed, 1 otherwise.\n",
	.run = do_suggest,
};
