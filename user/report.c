/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * report.c - counter snapshot, rows, and their text, JSON and Prometheus
 * forms.  See report.h for the three steps.
 */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "classify.h"
#include "policy.h"
#include "report.h"

/* ------------------------------------------------------------------ */
/* Snapshot                                                            */
/* ------------------------------------------------------------------ */

void pw_snap_free(struct pw_snap *s)
{
	free(s->slots);
	free(s->unnamed);
	free(s->roles);
	memset(s, 0, sizeof(*s));
}

static int snap_read_roles(const struct pw_maps *m, struct pw_snap *s)
{
	uint32_t id;
	int err;

	s->roles = calloc(m->caps.role_cap ? m->caps.role_cap : 1,
			  sizeof(*s->roles));
	if (!s->roles)
		return -ENOMEM;
	for (id = 0; id < m->caps.role_cap; id++) {
		err = pw_maps_read_role_name(m, id, &s->roles[id]);
		if (err)
			return err;
		s->roles[id].name[PW_ROLE_NAME_MAX - 1] = '\0';
		if (s->roles[id].name[0])
			s->nroles = id + 1;
	}
	return 0;
}

/*
 * Slot ids are handed out from 0 upwards without holes and never given
 * back (a reload keeps the old keys reserved), and a key in use always
 * has a protocol, so the first key without one ends the list.
 */
static int snap_read_slots(const struct pw_maps *m, struct pw_snap *s)
{
	uint32_t slot, v;
	int err;

	s->slots = calloc(m->caps.slot_cap ? m->caps.slot_cap : 1,
			  sizeof(*s->slots));
	if (!s->slots)
		return -ENOMEM;
	for (slot = 0; slot < m->caps.slot_cap; slot++) {
		err = pw_maps_read_slot(m, slot, &s->slots[slot].key);
		if (err)
			return err;
		if (!s->slots[slot].key.proto)
			break;
		s->nslots = slot + 1;
	}
	for (slot = 0; slot < s->nslots; slot++) {
		for (v = 0; v < PW_NVERDICT; v++) {
			err = pw_maps_read_counter(m, pw_counter_index(slot, v),
						   &s->slots[slot].sum[v]);
			if (err)
				return err;
		}
	}
	return 0;
}

/*
 * Which rule decides each slot now: walk the rule entries of the active
 * generation (every segment of each direction, every role id it uses).
 */
static int snap_read_entries(const struct pw_maps *m, struct pw_snap *s)
{
	uint32_t gen = s->cfg.active_gen & 1, dir, seg, role;
	struct pw_rule_entry e;
	struct pw_snap_slot *sl;
	int err;

	for (dir = 0; dir < PW_NDIR; dir++) {
		uint32_t nsegs = s->gen.nsegs[dir], nroles = s->gen.nroles;

		if (nsegs > m->caps.seg_cap)
			nsegs = m->caps.seg_cap;
		if (nroles > m->caps.role_cap)
			nroles = m->caps.role_cap;
		for (seg = 1; seg < nsegs; seg++) {
			for (role = 0; role < nroles; role++) {
				err = pw_maps_read_rule_entry(m, gen, dir, seg,
							      role, &e);
				if (err)
					return err;
				if (e.slot >= s->nslots)
					continue;
				sl = &s->slots[e.slot];
				sl->in_force = true;
				sl->rule_id = e.rule_id;
				sl->entry_flags = e.flags;
			}
		}
	}
	return 0;
}

static int snap_add_unnamed(const struct pw_counter_key *key,
			    const struct pw_counter *sum, void *arg)
{
	struct pw_snap *s = arg;
	struct pw_snap_unnamed *grown;

	/* capacity doubles each time the count reaches a power of two */
	if (!(s->nunnamed & (s->nunnamed - 1))) {
		grown = realloc(s->unnamed,
				(s->nunnamed ? s->nunnamed * 2 : 1) *
					sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		s->unnamed = grown;
	}
	s->unnamed[s->nunnamed].key = *key;
	s->unnamed[s->nunnamed].sum = *sum;
	s->nunnamed++;
	return 0;
}

static void read_clocks(struct pw_snap *s)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	s->read_mono_ns = (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	s->read_wall = time(NULL);
}

int pw_snap_read(const struct pw_maps *m, struct pw_snap *s)
{
	uint32_t reason;
	int err;

	memset(s, 0, sizeof(*s));
	read_clocks(s);
	err = pw_maps_get_config(m, &s->cfg);
	if (!err)
		err = pw_maps_read_gen_info(m, s->cfg.active_gen & 1, &s->gen);
	if (!err)
		err = snap_read_roles(m, s);
	if (!err)
		err = snap_read_slots(m, s);
	if (!err)
		err = snap_read_entries(m, s);
	for (reason = 0; !err && reason < PW_NREASON; reason++)
		err = pw_maps_read_reason(
			m, pw_reason_index(PW_DIR_INGRESS, reason),
			&s->reasons[reason]);
	for (reason = 0; !err && reason < PW_NREASON; reason++)
		err = pw_maps_read_reason(
			m, pw_reason_index(PW_DIR_EGRESS, reason),
			&s->egress_reasons[reason]);
	if (!err)
		err = pw_maps_flow_usage(m, 0, &s->flows);
	if (!err)
		err = pw_maps_read_stats(m, s->stats);
	if (!err)
		err = pw_maps_foreach_unnamed(m, snap_add_unnamed, s);
	if (err)
		pw_snap_free(s);
	return err;
}

/* ------------------------------------------------------------------ */
/* Rows                                                                */
/* ------------------------------------------------------------------ */

void pw_report_free(struct pw_report *r)
{
	free(r->rows);
	free(r->unused);
	free(r->role_text);
	memset(r, 0, sizeof(*r));
}

static bool row_wanted(enum pw_report_filter f, unsigned verdict,
		       const struct pw_counter *sum)
{
	if (!sum->packets)
		return false;
	if (f == PW_REPORT_VIOLATIONS)
		return verdict == PW_VERDICT_AUDIT ||
		       verdict == PW_VERDICT_DROP;
	return true;
}

/* Room for the rows of every verdict of every slot, and every unnamed key. */
static int rows_alloc(const struct pw_snap *s, struct pw_report *r)
{
	size_t n = (size_t)s->nslots * PW_NVERDICT + s->nunnamed;

	r->rows = calloc(n ? n : 1, sizeof(*r->rows));
	return r->rows ? 0 : -ENOMEM;
}

/* Role names by id, covering every id a row uses. */
static int role_text_fill(const struct pw_snap *s, struct pw_report *r)
{
	uint32_t n = s->nroles, i;

	for (i = 0; i < s->nslots; i++)
		if (s->slots[i].key.role >= n)
			n = s->slots[i].key.role + 1U;
	for (i = 0; i < s->nunnamed; i++)
		if (s->unnamed[i].key.role >= n)
			n = s->unnamed[i].key.role + 1U;
	r->role_text = calloc(n ? n : 1, sizeof(*r->role_text));
	if (!r->role_text)
		return -ENOMEM;
	r->nrole_text = n;
	for (i = 0; i < n; i++) {
		if (i < s->nroles && s->roles[i].name[0])
			snprintf(r->role_text[i], sizeof(r->role_text[i]), "%s",
				 s->roles[i].name);
		else
			snprintf(r->role_text[i], sizeof(r->role_text[i]),
				 "role#%u", i);
	}
	return 0;
}

static const char *rule_note(const struct pw_compiled *c, enum pw_notes notes,
			     uint32_t rule_id)
{
	const struct pw_rule *rule;

	if (notes == PW_NOTES_UNAVAILABLE || !c)
		return PW_NOTE_UNAVAILABLE;
	rule = pw_compiled_rule(c, rule_id);
	if (!rule)
		return "(rule not in the policy files)";
	return rule->note ? rule->note : "";
}

static void add_slot_rows(const struct pw_snap *s, const struct pw_compiled *c,
			  const struct pw_report_opts *o, struct pw_report *r)
{
	uint32_t slot, v;

	for (slot = 0; slot < s->nslots; slot++) {
		const struct pw_snap_slot *sl = &s->slots[slot];

		for (v = 0; v < PW_NVERDICT; v++) {
			struct pw_report_row *row = &r->rows[r->nrows];

			if (!row_wanted(o->filter, v, &sl->sum[v]))
				continue;
			row->key = sl->key;
			row->key.verdict = v;
			row->sum = sl->sum[v];
			row->slot = slot;
			row->rule_id = sl->in_force ? sl->rule_id : 0;
			row->earlier = !sl->in_force;
			row->role = r->role_text[sl->key.role];
			row->note = sl->in_force ? rule_note(c, o->notes,
							     sl->rule_id)
						 : PW_NOTE_GONE;
			r->nrows++;
		}
	}
}

static void add_unnamed_rows(const struct pw_snap *s,
			     const struct pw_report_opts *o,
			     struct pw_report *r)
{
	uint32_t i;

	for (i = 0; i < s->nunnamed; i++) {
		const struct pw_snap_unnamed *u = &s->unnamed[i];
		struct pw_report_row *row = &r->rows[r->nrows];

		if (!row_wanted(o->filter, u->key.verdict, &u->sum))
			continue;
		row->key = u->key;
		row->sum = u->sum;
		row->unnamed = true;
		row->rule_id = PW_RULE_NONE;
		row->role = r->role_text[u->key.role];
		row->note = PW_NOTE_NO_RULE;
		r->nrows++;
	}
}

static int cmp_u32(uint32_t a, uint32_t b)
{
	return (a > b) - (a < b);
}

/* Packets descending; ties in key order, so the output is reproducible. */
static int row_cmp(const void *a, const void *b)
{
	const struct pw_report_row *x = a, *y = b;
	const struct pw_counter_key *p = &x->key, *q = &y->key;
	int d;

	if (x->sum.packets != y->sum.packets)
		return x->sum.packets < y->sum.packets ? 1 : -1;
	d = cmp_u32(p->dir, q->dir);
	if (!d)
		d = cmp_u32(p->proto, q->proto);
	if (!d)
		d = cmp_u32(p->port_lo, q->port_lo);
	if (!d)
		d = cmp_u32(p->port_hi, q->port_hi);
	if (!d)
		d = cmp_u32(p->role, q->role);
	if (!d)
		d = cmp_u32(p->verdict, q->verdict);
	/* a slot and an unnamed key cannot be equal, but be total anyway */
	if (!d)
		d = cmp_u32(x->unnamed, y->unnamed);
	return d;
}

/*
 * An allow rule is unused when no slot it decides in the maps has an
 * allowed packet.  A rule shadowed by earlier ones decides no slot and
 * is unused too: it never let anything through.
 */
static int find_unused(const struct pw_snap *s, const struct pw_compiled *c,
		       struct pw_report *r)
{
	uint32_t slot, nslots;
	uint64_t hits;
	int i;

	r->unused =
		calloc(c->neffective ? c->neffective : 1, sizeof(*r->unused));
	if (!r->unused)
		return -ENOMEM;
	for (i = 0; i < c->neffective; i++) {
		const struct pw_effective_rule *e = &c->effective[i];

		if (e->rule->kind != PW_RULE_ALLOW)
			continue;
		hits = 0;
		nslots = 0;
		for (slot = 0; slot < s->nslots; slot++) {
			const struct pw_snap_slot *sl = &s->slots[slot];

			if (!sl->in_force || sl->rule_id != e->rule_id ||
			    sl->key.dir != e->dir ||
			    !(sl->entry_flags & PW_ENTRY_ALLOW))
				continue;
			nslots++;
			hits += sl->sum[PW_VERDICT_ALLOW].packets;
		}
		if (hits)
			continue;
		r->unused[r->nunused].eff = e;
		r->unused[r->nunused].nslots = nslots;
		r->nunused++;
	}
	return 0;
}

/*
 * The datapath compares the deadline with the monotonic clock; an operator
 * (and an alert) wants the wall-clock time.  A snapshot without a read
 * time (made by hand) places it at its monotonic value.
 */
static void place_deadline(const struct pw_snap *s, struct pw_report *r)
{
	uint64_t deadline = s->cfg.enforce_deadline_ns;
	int64_t ahead_ns;

	if (s->cfg.mode != PW_MODE_ENFORCE || !deadline)
		return;
	ahead_ns = (int64_t)(deadline - s->read_mono_ns);
	r->enforce_deadline = s->read_wall + ahead_ns / 1000000000LL;
	r->reverted = deadline <= s->read_mono_ns;
}

static void counter_add(struct pw_counter *to, const struct pw_counter *c)
{
	to->packets += c->packets;
	to->bytes += c->bytes;
}

static void sum_verdicts(const struct pw_snap *s, struct pw_report *r)
{
	uint32_t i, v;

	for (i = 0; i < s->nslots; i++)
		for (v = 0; v < PW_NVERDICT; v++)
			counter_add(&r->verdicts[s->slots[i].key.dir & 1][v],
				    &s->slots[i].sum[v]);
	for (i = 0; i < s->nunnamed; i++) {
		const struct pw_snap_unnamed *u = &s->unnamed[i];

		if (u->key.verdict < PW_NVERDICT)
			counter_add(&r->verdicts[u->key.dir & 1][u->key.verdict],
				    &u->sum);
	}
}

int pw_report_build(const struct pw_snap *s, const struct pw_compiled *c,
		    const struct pw_report_opts *o, struct pw_report *r)
{
	int err;

	memset(r, 0, sizeof(*r));
	r->notes = c ? o->notes : PW_NOTES_UNAVAILABLE;
	r->digest = s->gen.policy_digest;
	r->mode = s->cfg.mode;
	place_deadline(s, r);
	sum_verdicts(s, r);
	memcpy(r->reasons, s->reasons, sizeof(r->reasons));
	memcpy(r->egress_reasons, s->egress_reasons,
	       sizeof(r->egress_reasons));
	r->flows = s->flows;
	memcpy(r->stats, s->stats, sizeof(r->stats));
	err = role_text_fill(s, r);
	if (!err)
		err = rows_alloc(s, r);
	if (err)
		goto fail;
	add_slot_rows(s, c, o, r);
	add_unnamed_rows(s, o, r);
	qsort(r->rows, r->nrows, sizeof(*r->rows), row_cmp);
	if (c) {
		r->have_policy = true;
		r->pol = c->pol;
		err = find_unused(s, c, r);
		if (err)
			goto fail;
	}
	return 0;
fail:
	pw_report_free(r);
	return err;
}

int pw_report_collect(const struct pw_maps *m, const struct pw_compiled *c,
		      const struct pw_report_opts *o, struct pw_report *r)
{
	struct pw_snap s;
	int err;

	err = pw_snap_read(m, &s);
	if (err)
		return err;
	err = pw_report_build(&s, c, o, r);
	pw_snap_free(&s);
	return err;
}

/* ------------------------------------------------------------------ */
/* A loaded interface                                                  */
/* ------------------------------------------------------------------ */

/* "/etc/portwarden/shop.policy" -> "shop", the parser's default name. */
static void name_from_path(const char *path, char *buf, size_t len)
{
	char *copy = strdup(path ? path : "?"), *base, *dot;

	if (!copy) {
		snprintf(buf, len, "?");
		return;
	}
	base = basename(copy);
	dot = strrchr(base, '.');
	if (dot && !strcmp(dot, ".policy"))
		*dot = '\0';
	snprintf(buf, len, "%s", base);
	free(copy);
}

static void first_error(const struct pw_diags *d, char *buf, size_t len)
{
	char *text = NULL;
	int i;

	for (i = 0; i < d->n && !text; i++)
		if (d->v[i].level == PW_DIAG_ERROR)
			text = pw_diag_format(&d->v[i]);
	snprintf(buf, len, "%s", text ? text : "unknown error");
	free(text);
}

void pw_report_policy_load(const struct pw_loaded *l,
			   struct pw_report_policy *p)
{
	struct pw_diags d = { 0 };
	int stale = 0;

	memset(p, 0, sizeof(*p));
	if (pw_loaded_recompile(l, &p->pol, &p->inv, &p->c, &stale, &d)) {
		first_error(&d, p->why, sizeof(p->why));
		name_from_path(l->st.policy, p->name, sizeof(p->name));
	} else {
		p->ok = true;
		p->stale = stale;
		snprintf(p->name, sizeof(p->name), "%s", p->pol.name);
	}
	pw_diags_free(&d);
}

void pw_report_policy_free(struct pw_report_policy *p)
{
	if (p->ok) {
		pw_compiled_free(&p->c);
		pw_inventory_free(&p->inv);
		pw_policy_free(&p->pol);
	}
	memset(p, 0, sizeof(*p));
}

int pw_report_loaded(const struct pw_loaded *l, const char *netns,
		     const struct pw_report_policy *p,
		     enum pw_report_filter filter, struct pw_report *r)
{
	struct pw_report_opts o = {
		.filter = filter,
		.notes = p->stale ? PW_NOTES_STALE : PW_NOTES_CURRENT,
	};
	int err;

	err = pw_report_collect(&l->maps, p->ok ? &p->c : NULL, &o, r);
	if (err)
		return err;
	r->iface = l->iface;
	r->netns = netns;
	r->policy = p->name;
	r->st = &l->st;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Names                                                               */
/* ------------------------------------------------------------------ */

void pw_report_proto_name(unsigned ipproto, char *buf, size_t len)
{
	int idx = pw_proto_from_ipproto(ipproto);

	if (idx >= 0)
		snprintf(buf, len, "%s", pw_proto_name(idx));
	else
		snprintf(buf, len, "proto-%u", ipproto);
}

void pw_report_port_text(const struct pw_counter_key *k, char *buf, size_t len)
{
	if (pw_proto_from_ipproto(k->proto) < 0)
		snprintf(buf, len, "%s", "");
	else if (k->port_lo == k->port_hi)
		snprintf(buf, len, "%u", k->port_lo);
	else
		snprintf(buf, len, "%u-%u", k->port_lo, k->port_hi);
}

void pw_report_proto_port(const struct pw_counter_key *k, char *buf, size_t len)
{
	char proto[16], port[16];

	pw_report_proto_name(k->proto, proto, sizeof(proto));
	pw_report_port_text(k, port, sizeof(port));
	snprintf(buf, len, "%s%s%s", proto, *port ? "/" : "", port);
}

static const char *dir_name(unsigned dir)
{
	return dir == PW_DIR_EGRESS ? "egress" : "ingress";
}

static const char *mode_name(uint32_t mode)
{
	switch (mode) {
	case PW_MODE_AUDIT:
		return "audit";
	case PW_MODE_ENFORCE:
		return "enforce";
	default:
		return "unknown";
	}
}

static void digest_text(uint64_t digest, char *buf, size_t len)
{
	snprintf(buf, len, "%016" PRIx64, digest);
}

static void rule_id_text(uint32_t id, char *buf, size_t len)
{
	if (id == PW_RULE_NONE)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%u", id);
}

/* ------------------------------------------------------------------ */
/* Text                                                                */
/* ------------------------------------------------------------------ */

static void print_heading(const struct pw_report *r, FILE *out)
{
	char digest[24];

	digest_text(r->digest, digest, sizeof(digest));
	fprintf(out, "Interface %s", r->iface ? r->iface : "?");
	if (r->netns)
		fprintf(out, " (netns %s)", r->netns);
	fprintf(out, ": policy %s, digest %s, mode %s\n",
		r->policy ? r->policy : "?", digest, mode_name(r->mode));
	if (r->notes == PW_NOTES_STALE)
		fprintf(out, "The policy files changed since the last load or "
			     "reload: notes may be outdated.\n");
	else if (r->notes == PW_NOTES_UNAVAILABLE)
		fprintf(out, "The policy files cannot be read: no notes.\n");
	fputc('\n', out);
}

/* The last column: no trailing blanks when there is no note. */
static void print_note(FILE *out, const char *note)
{
	if (note && *note)
		fprintf(out, "  %s", note);
	fputc('\n', out);
}

struct row_widths {
	int role, port, verdict, packets, bytes, rule;
};

static int width_of_u64(uint64_t v)
{
	int n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

static int max_int(int a, int b)
{
	return a > b ? a : b;
}

static struct row_widths measure_rows(const struct pw_report *r)
{
	struct row_widths w = { 4, 10, 7, 7, 5, 4 };
	char buf[64];
	uint32_t i;

	for (i = 0; i < r->nrows; i++) {
		const struct pw_report_row *row = &r->rows[i];

		w.role = max_int(w.role, strlen(row->role));
		pw_report_proto_port(&row->key, buf, sizeof(buf));
		w.port = max_int(w.port, strlen(buf));
		w.packets = max_int(w.packets, width_of_u64(row->sum.packets));
		w.bytes = max_int(w.bytes, width_of_u64(row->sum.bytes));
		rule_id_text(row->rule_id, buf, sizeof(buf));
		w.rule = max_int(w.rule, strlen(buf));
	}
	return w;
}

static void print_rows(const struct pw_report *r, FILE *out)
{
	struct row_widths w = measure_rows(r);
	char port[64], rule[16];
	uint32_t i;

	fprintf(out, "%-7s  %-*s  %-*s  %-*s  %*s  %*s  %*s  %s\n", "DIR",
		w.role, "ROLE", w.port, "PROTO/PORT", w.verdict, "VERDICT",
		w.packets, "PACKETS", w.bytes, "BYTES", w.rule, "RULE", "NOTE");
	for (i = 0; i < r->nrows; i++) {
		const struct pw_report_row *row = &r->rows[i];

		pw_report_proto_port(&row->key, port, sizeof(port));
		rule_id_text(row->rule_id, rule, sizeof(rule));
		fprintf(out,
			"%-7s  %-*s  %-*s  %-*s  %*" PRIu64 "  %*" PRIu64
			"  %*s",
			dir_name(row->key.dir), w.role, row->role, w.port, port,
			w.verdict, pw_verdict_name(row->key.verdict), w.packets,
			(uint64_t)row->sum.packets, w.bytes,
			(uint64_t)row->sum.bytes, w.rule, rule);
		print_note(out, row->note);
	}
}

static void print_reasons(const struct pw_report *r, FILE *out)
{
	const struct pw_counter *judged = &r->reasons[PW_REASON_CLASSIFIED];
	bool any = false;
	unsigned i;

	fprintf(out,
		"\nJudged by the policy: %" PRIu64 " packets, %" PRIu64
		" bytes\n",
		(uint64_t)judged->packets, (uint64_t)judged->bytes);
	fprintf(out, "Not judged by a rule:\n");
	for (i = 0; i < PW_NREASON; i++) {
		const struct pw_counter *c = &r->reasons[i];

		if (i == PW_REASON_CLASSIFIED || !c->packets)
			continue;
		any = true;
		fprintf(out,
			"  %-16s %12" PRIu64 " packets %14" PRIu64 " bytes\n",
			pw_reason_name(i), (uint64_t)c->packets,
			(uint64_t)c->bytes);
	}
	if (!any)
		fprintf(out, "  none\n");
}

void pw_report_print_text(const struct pw_report *r, FILE *out)
{
	print_heading(r, out);
	if (r->nrows)
		print_rows(r, out);
	else
		fprintf(out, "No packets counted under a rule key.\n");
	print_reasons(r, out);
}

/* ---------------------------------------------- rule descriptions -- */

static const char *peer_text(const struct pw_policy *pol,
			     const struct pw_peer *p)
{
	if (p->role == PW_PEER_ANY)
		return "any";
	if (!pol || p->role < 0 || p->role >= pol->nroles)
		return "?";
	return pol->roles[p->role].name;
}

/* The peer roles of an effective rule: sources on ingress, else targets. */
static void eff_peers(const struct pw_effective_rule *e,
		      const struct pw_peer **p, int *n)
{
	bool sources = (e->dir == PW_DIR_INGRESS) != e->reversed;

	*p = sources ? e->rule->src : e->rule->dst;
	*n = sources ? e->rule->nsrc : e->rule->ndst;
}

/* Appends to a fixed buffer, truncating (the text is for display only). */
static void append(char *buf, size_t len, const char *s)
{
	size_t used = strlen(buf);

	if (used < len)
		snprintf(buf + used, len - used, "%s", s);
}

static void peers_text(const struct pw_policy *pol,
		       const struct pw_effective_rule *e, char *buf, size_t len)
{
	const struct pw_peer *p;
	int n, i;

	buf[0] = '\0';
	eff_peers(e, &p, &n);
	for (i = 0; i < n; i++) {
		if (i)
			append(buf, len, ",");
		append(buf, len, peer_text(pol, &p[i]));
	}
}

/* "tcp,udp/3306,4000-4003"; an ICMP rule without types is every type. */
static void rule_ports_text(const struct pw_rule *rule, char *buf, size_t len)
{
	char item[24];
	bool first = true;
	int p, i;

	buf[0] = '\0';
	for (p = 0; p < PW_NPROTO; p++) {
		if (!(rule->protos & (1U << p)))
			continue;
		if (!first)
			append(buf, len, ",");
		append(buf, len, pw_proto_name(p));
		first = false;
	}
	append(buf, len, "/");
	if (!rule->nports)
		append(buf, len, "0-255");
	for (i = 0; i < rule->nports; i++) {
		const struct pw_port_range *pr = &rule->ports[i];

		if (pr->lo == pr->hi)
			snprintf(item, sizeof(item), "%s%u", i ? "," : "",
				 pr->lo);
		else
			snprintf(item, sizeof(item), "%s%u-%u", i ? "," : "",
				 pr->lo, pr->hi);
		append(buf, len, item);
	}
}

void pw_report_print_unused_text(const struct pw_report *r, FILE *out)
{
	char ports[256], peers[512];
	int wports = 11, wpeers = 5;
	uint32_t i;

	print_heading(r, out);
	if (!r->have_policy) {
		fprintf(out, "Unused rules cannot be listed without the "
			     "policy files.\n");
		return;
	}
	if (!r->nunused) {
		fprintf(out, "Every allow rule in force has been hit since "
			     "load.\n");
		return;
	}
	for (i = 0; i < r->nunused; i++) {
		const struct pw_effective_rule *e = r->unused[i].eff;

		rule_ports_text(e->rule, ports, sizeof(ports));
		peers_text(r->pol, e, peers, sizeof(peers));
		wports = max_int(wports, strlen(ports));
		wpeers = max_int(wpeers, strlen(peers));
	}
	fprintf(out, "Allow rules in force with no hits since load:\n");
	fprintf(out, "%-7s  %5s  %-*s  %-*s  %s\n", "DIR", "RULE", wports,
		"PROTO/PORTS", wpeers, "PEERS", "NOTE");
	for (i = 0; i < r->nunused; i++) {
		const struct pw_effective_rule *e = r->unused[i].eff;

		rule_ports_text(e->rule, ports, sizeof(ports));
		peers_text(r->pol, e, peers, sizeof(peers));
		fprintf(out, "%-7s  %5u  %-*s  %-*s", dir_name(e->dir),
			e->rule_id, wports, ports, wpeers, peers);
		print_note(out, e->rule->note);
	}
}

/* ------------------------------------------------------------------ */
/* JSON                                                                */
/* ------------------------------------------------------------------ */

static const char *notes_name(enum pw_notes n)
{
	switch (n) {
	case PW_NOTES_CURRENT:
		return "current";
	case PW_NOTES_STALE:
		return "stale";
	default:
		return "unavailable";
	}
}

static void json_row(struct pw_json *j, const struct pw_report_row *row)
{
	char buf[64];

	pw_json_start_object(j, NULL);
	pw_json_string(j, "direction", dir_name(row->key.dir));
	pw_json_string(j, "role", row->role);
	pw_json_uint(j, "role_id", row->key.role);
	pw_report_proto_name(row->key.proto, buf, sizeof(buf));
	pw_json_string(j, "proto", buf);
	pw_json_uint(j, "ipproto", row->key.proto);
	pw_report_port_text(&row->key, buf, sizeof(buf));
	pw_json_string(j, "port", buf);
	pw_json_uint(j, "port_lo", row->key.port_lo);
	pw_json_uint(j, "port_hi", row->key.port_hi);
	pw_json_string(j, "verdict", pw_verdict_name(row->key.verdict));
	pw_json_uint(j, "packets", row->sum.packets);
	pw_json_uint(j, "bytes", row->sum.bytes);
	if (row->rule_id)
		pw_json_uint(j, "rule_id", row->rule_id);
	else
		pw_json_null(j, "rule_id");
	pw_json_string(j, "note", row->note);
	pw_json_string(j, "counter", row->unnamed ? "unnamed" : "slot");
	if (row->unnamed)
		pw_json_null(j, "slot");
	else
		pw_json_uint(j, "slot", row->slot);
	pw_json_end_object(j);
}

static void json_unused(struct pw_json *j, const struct pw_report *r,
			const struct pw_report_unused *u)
{
	const struct pw_effective_rule *e = u->eff;
	char buf[512];

	pw_json_start_object(j, NULL);
	pw_json_uint(j, "rule_id", e->rule_id);
	pw_json_string(j, "direction", dir_name(e->dir));
	rule_ports_text(e->rule, buf, sizeof(buf));
	pw_json_string(j, "ports", buf);
	peers_text(r->pol, e, buf, sizeof(buf));
	pw_json_string(j, "peers", buf);
	pw_json_bool(j, "reversed", e->reversed);
	pw_json_string(j, "note", e->rule->note);
	pw_json_string(j, "file", e->rule->loc.file);
	pw_json_int(j, "line", e->rule->loc.line);
	pw_json_uint(j, "slots", u->nslots);
	pw_json_end_object(j);
}

static void json_reasons(struct pw_json *j, const struct pw_report *r)
{
	unsigned i;

	pw_json_start_object(j, "reasons");
	for (i = 0; i < PW_NREASON; i++) {
		pw_json_start_object(j, pw_reason_name(i));
		pw_json_uint(j, "packets", r->reasons[i].packets);
		pw_json_uint(j, "bytes", r->reasons[i].bytes);
		pw_json_end_object(j);
	}
	pw_json_end_object(j);
}

void pw_report_print_json(const struct pw_report *r, struct pw_json *j,
			  bool unused)
{
	char digest[24];
	uint32_t i;

	digest_text(r->digest, digest, sizeof(digest));
	pw_json_start_object(j, NULL);
	pw_json_string(j, "iface", r->iface);
	pw_json_string(j, "netns", r->netns);
	pw_json_string(j, "policy", r->policy);
	pw_json_string(j, "digest", digest);
	pw_json_string(j, "mode", mode_name(r->mode));
	pw_json_bool(j, "stale", r->notes == PW_NOTES_STALE);
	pw_json_string(j, "notes", notes_name(r->notes));
	if (unused) {
		pw_json_start_array(j, "unused");
		for (i = 0; i < r->nunused; i++)
			json_unused(j, r, &r->unused[i]);
		pw_json_end_array(j);
	} else {
		pw_json_start_array(j, "rows");
		for (i = 0; i < r->nrows; i++)
			json_row(j, &r->rows[i]);
		pw_json_end_array(j);
	}
	json_reasons(j, r);
	pw_json_end_object(j);
}

/* ------------------------------------------------------------------ */
/* Prometheus                                                          */
/* ------------------------------------------------------------------ */

/* Label values escape backslash, double quote and line feed. */
void pw_prom_label_value(FILE *out, const char *s)
{
	fputc('"', out);
	for (; s && *s; s++) {
		if (*s == '\\')
			fputs("\\\\", out);
		else if (*s == '"')
			fputs("\\\"", out);
		else if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
	fputc('"', out);
}

void pw_prom_header(FILE *out, const char *name, const char *type,
		    const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void prom_label(FILE *out, const char *name, const char *value)
{
	fprintf(out, ",%s=", name);
	pw_prom_label_value(out, value);
}

/*
 * Opens a sample with the labels that name the interface.  netns is always
 * there ("" for the initial namespace), so that every series of a family
 * has the same label names.
 */
static void prom_open(FILE *out, const char *metric, const struct pw_report *r)
{
	fprintf(out, "%s{iface=", metric);
	pw_prom_label_value(out, r->iface);
	prom_label(out, "netns", r->netns ? r->netns : "");
}

static void prom_close(FILE *out, uint64_t value)
{
	fprintf(out, "} %" PRIu64 "\n", value);
}

/*
 * The rule label: the deciding rule's id; "none" on a port no rule names;
 * "earlier" for a slot that only a policy loaded before counted into (a
 * slot and an unnamed key may then share every other label).
 */
static void prom_rule_text(const struct pw_report_row *row, char *buf,
			   size_t len)
{
	if (row->unnamed)
		snprintf(buf, len, "none");
	else if (row->earlier)
		snprintf(buf, len, "earlier");
	else
		snprintf(buf, len, "%u", row->rule_id);
}

static void prom_row(FILE *out, const char *metric, const struct pw_report *r,
		     const struct pw_report_row *row, uint64_t value)
{
	char buf[64];

	prom_open(out, metric, r);
	prom_label(out, "dir", dir_name(row->key.dir));
	/* the peer: the source on ingress, the destination on egress */
	prom_label(out, "role", row->role);
	pw_report_proto_name(row->key.proto, buf, sizeof(buf));
	prom_label(out, "proto", buf);
	pw_report_port_text(&row->key, buf, sizeof(buf));
	prom_label(out, "port", buf);
	prom_label(out, "verdict", pw_verdict_name(row->key.verdict));
	prom_rule_text(row, buf, sizeof(buf));
	prom_label(out, "rule", buf);
	prom_close(out, value);
}

static void prom_packets(FILE *out, const char *name, const struct pw_report *r)
{
	uint32_t i;

	for (i = 0; i < r->nrows; i++)
		prom_row(out, name, r, &r->rows[i], r->rows[i].sum.packets);
}

static void prom_bytes(FILE *out, const char *name, const struct pw_report *r)
{
	uint32_t i;

	for (i = 0; i < r->nrows; i++)
		prom_row(out, name, r, &r->rows[i], r->rows[i].sum.bytes);
}

static void prom_reasons(FILE *out, const char *name,
			 const struct pw_report *r, bool bytes)
{
	unsigned i;

	unsigned dir;

	for (dir = 0; dir < PW_NDIR; dir++) {
		const struct pw_counter *c = dir == PW_DIR_INGRESS
						     ? r->reasons
						     : r->egress_reasons;

		for (i = 0; i < PW_NREASON; i++) {
			prom_open(out, name, r);
			prom_label(out, "dir", dir_name(dir));
			prom_label(out, "reason", pw_reason_name(i));
			prom_close(out, bytes ? c[i].bytes : c[i].packets);
		}
	}
}

static void prom_reason_packets(FILE *out, const char *name,
				const struct pw_report *r)
{
	prom_reasons(out, name, r, false);
}

static void prom_reason_bytes(FILE *out, const char *name,
			      const struct pw_report *r)
{
	prom_reasons(out, name, r, true);
}

/*
 * Per direction and verdict, every series there from the load on: an
 * increase() over it sees the first violation, which a series of
 * portwarden_packets_total, born with it, cannot show.
 */
static void prom_verdicts(FILE *out, const char *name,
			  const struct pw_report *r, bool bytes)
{
	unsigned dir, v;

	for (dir = 0; dir < PW_NDIR; dir++) {
		for (v = 0; v < PW_NVERDICT; v++) {
			const struct pw_counter *c = &r->verdicts[dir][v];

			prom_open(out, name, r);
			prom_label(out, "dir", dir_name(dir));
			prom_label(out, "verdict", pw_verdict_name(v));
			prom_close(out, bytes ? c->bytes : c->packets);
		}
	}
}

static void prom_verdict_packets(FILE *out, const char *name,
				 const struct pw_report *r)
{
	prom_verdicts(out, name, r, false);
}

static void prom_verdict_bytes(FILE *out, const char *name,
			       const struct pw_report *r)
{
	prom_verdicts(out, name, r, true);
}

static void host_roles_text(const struct pw_state *st, char *buf, size_t len)
{
	int i;

	buf[0] = '\0';
	for (i = 0; st && i < st->nroles; i++) {
		if (i)
			append(buf, len, ",");
		append(buf, len, st->roles[i]);
	}
}

static void prom_policy_info(FILE *out, const char *name,
			     const struct pw_report *r)
{
	char buf[512];

	prom_open(out, name, r);
	prom_label(out, "policy", r->policy ? r->policy : "");
	digest_text(r->digest, buf, sizeof(buf));
	prom_label(out, "digest", buf);
	host_roles_text(r->st, buf, sizeof(buf));
	prom_label(out, "roles", buf);
	prom_label(out, "xdp_mode", r->st ? r->st->xdp_mode : "");
	prom_close(out, 1);
}


static void prom_deadline(FILE *out, const char *name,
			  const struct pw_report *r)
{
	if (!r->enforce_deadline)
		return;
	prom_open(out, name, r);
	prom_close(out, (uint64_t)r->enforce_deadline);
}

static void prom_unused_count(FILE *out, const char *name,
			      const struct pw_report *r)
{
	if (!r->have_policy)
		return;
	prom_open(out, name, r);
	prom_close(out, r->nunused);
}

static void prom_unused_rules(FILE *out, const char *name,
			      const struct pw_report *r)
{
	char buf[512];
	uint32_t i;

	for (i = 0; i < r->nunused; i++) {
		const struct pw_effective_rule *e = r->unused[i].eff;

		prom_open(out, name, r);
		snprintf(buf, sizeof(buf), "%u", e->rule_id);
		prom_label(out, "rule", buf);
		prom_label(out, "dir", dir_name(e->dir));
		rule_ports_text(e->rule, buf, sizeof(buf));
		prom_label(out, "ports", buf);
		peers_text(r->pol, e, buf, sizeof(buf));
		prom_label(out, "peers", buf);
		prom_close(out, 1);
	}
}

static void prom_load_time(FILE *out, const char *name,
			   const struct pw_report *r)
{
	if (!r->st || !r->st->loaded_at)
		return;
	prom_open(out, name, r);
	prom_close(out, (uint64_t)r->st->loaded_at);
}

static void prom_policy_time(FILE *out, const char *name,
			     const struct pw_report *r)
{
	time_t t;

	if (!r->st || !r->st->loaded_at)
		return;
	t = r->st->reloaded_at > r->st->loaded_at ? r->st->reloaded_at
						  : r->st->loaded_at;
	prom_open(out, name, r);
	prom_close(out, (uint64_t)t);
}

/* ------------------------------------------------ plain and labelled -- */

/* The values that are one sample per interface, without labels of their own. */
enum prom_plain {
	PLAIN_NONE = 0, /* the family has a samples function instead */
	PLAIN_POLICY_STALE,
	PLAIN_FLOW_CAPACITY,
	PLAIN_FLOW_ENTRIES,
	PLAIN_FLOW_FULL,
	PLAIN_FLOW_INSERTED,
	PLAIN_FLOW_INSERT_FAILED,
	PLAIN_FLOW_CLOSED,
	PLAIN_FLOW_EXPIRED,
	PLAIN_FLOW_EVICTED,
	PLAIN_EVENTS_SENT,
	PLAIN_EVENTS_LOST,
};

static uint64_t plain_value(const struct pw_report *r, enum prom_plain which)
{
	const struct pw_flow_usage *u = &r->flows;

	switch (which) {
	case PLAIN_POLICY_STALE:
		return r->notes != PW_NOTES_CURRENT;
	case PLAIN_FLOW_CAPACITY:
		return u->capacity;
	case PLAIN_FLOW_ENTRIES:
		return u->entries;
	case PLAIN_FLOW_FULL:
		return u->full;
	case PLAIN_FLOW_INSERTED:
		return u->inserted;
	case PLAIN_FLOW_INSERT_FAILED:
		return u->insert_failed;
	case PLAIN_FLOW_CLOSED:
		return u->closed;
	case PLAIN_FLOW_EXPIRED:
		return u->expired;
	case PLAIN_FLOW_EVICTED:
		return u->evicted;
	case PLAIN_EVENTS_SENT:
		return r->stats[PW_STAT_EVENT_SENT];
	case PLAIN_EVENTS_LOST:
		return r->stats[PW_STAT_EVENT_LOST];
	default:
		return 0;
	}
}

/* One series per value of @label. */
static void prom_labelled(FILE *out, const char *name,
			  const struct pw_report *r, const char *label,
			  const char *const *values, const uint64_t *counts,
			  unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		prom_open(out, name, r);
		prom_label(out, label, values[i]);
		prom_close(out, counts[i]);
	}
}

/* One series per mode, 1 for the one the datapath acts in. */
static void prom_mode(FILE *out, const char *name, const struct pw_report *r)
{
	static const char *const modes[] = { "audit", "enforce" };
	bool enforcing = r->mode == PW_MODE_ENFORCE && !r->reverted;
	const uint64_t in_force[] = { !enforcing, enforcing };

	prom_labelled(out, name, r, "mode", modes, in_force, 2);
}

static void prom_flows_live(FILE *out, const char *name,
			    const struct pw_report *r)
{
	static const char *const origins[] = { "opened", "inbound" };
	const uint64_t live[] = { r->flows.opened, r->flows.inbound };

	prom_labelled(out, name, r, "origin", origins, live, 2);
}

static void prom_events_suppressed(FILE *out, const char *name,
				   const struct pw_report *r)
{
	static const char *const why[] = { "rate_limited", "repeat" };
	const uint64_t n[] = { r->stats[PW_STAT_EVENT_RATE_LIMITED],
			       r->stats[PW_STAT_EVENT_REPEAT] };

	prom_labelled(out, name, r, "reason", why, n, 2);
}

struct prom_family {
	const char *name;
	const char *type;
	const char *help;
	/* the samples of one interface, or one sample of a plain value */
	void (*samples)(FILE *out, const char *name, const struct pw_report *r);
	enum prom_plain plain;
};

static const struct prom_family prom_families[] = {
	{ "portwarden_packets_total", "counter",
	  "Packets per counter key: direction, peer role, protocol, port, "
	  "verdict, deciding rule.",
	  .samples = prom_packets },
	{ "portwarden_bytes_total", "counter",
	  "Bytes per counter key: direction, peer role, protocol, port, "
	  "verdict, deciding rule.",
	  .samples = prom_bytes },
	{ "portwarden_verdict_packets_total", "counter",
	  "Packets judged by the policy, per direction and verdict (the sum "
	  "of portwarden_packets_total; every series from the load on).",
	  .samples = prom_verdict_packets },
	{ "portwarden_verdict_bytes_total", "counter",
	  "Bytes judged by the policy, per direction and verdict (the sum "
	  "of portwarden_bytes_total; every series from the load on).",
	  .samples = prom_verdict_bytes },
	{ "portwarden_reason_packets_total", "counter",
	  "Packets seen by portwarden, by how they were handled (classified: "
	  "judged by the policy).",
	  .samples = prom_reason_packets },
	{ "portwarden_reason_bytes_total", "counter",
	  "Bytes seen by portwarden, by how they were handled (classified: "
	  "judged by the policy).",
	  .samples = prom_reason_bytes },
	{ "portwarden_flow_table_capacity", "gauge",
	  "Entries the flow table holds at most.", .plain = PLAIN_FLOW_CAPACITY },
	{ "portwarden_flow_table_entries", "gauge",
	  "Entries in the flow table now, live or past their age.",
	  .plain = PLAIN_FLOW_ENTRIES },
	{ "portwarden_flows", "gauge",
	  "Live flows, by who opened them: the host (opened) or a peer let in "
	  "on ingress (inbound).",
	  .samples = prom_flows_live },
	{ "portwarden_flow_table_full", "gauge",
	  "1 when the flow table's entries reached its capacity: new flows "
	  "evict the least recently used.",
	  .plain = PLAIN_FLOW_FULL },
	{ "portwarden_flow_inserts_total", "counter",
	  "Flows recorded in the flow table.", .plain = PLAIN_FLOW_INSERTED },
	{ "portwarden_flow_insert_failures_total", "counter",
	  "Flows the datapath could not record.", .plain = PLAIN_FLOW_INSERT_FAILED },
	{ "portwarden_flow_closed_total", "counter",
	  "Flows removed from the flow table on a TCP RST.", .plain = PLAIN_FLOW_CLOSED },
	{ "portwarden_flow_expired_total", "counter",
	  "Flows removed from the flow table past their age.",
	  .plain = PLAIN_FLOW_EXPIRED },
	{ "portwarden_flow_evictions", "gauge",
	  "Flows the full table dropped to make room, since load: inserts - "
	  "closed - expired - entries (a gauge: derived, it may step back "
	  "while flows come in during a scrape).",
	  .plain = PLAIN_FLOW_EVICTED },
	{ "portwarden_events_emitted_total", "counter",
	  "Violation events put in the ring buffer.", .plain = PLAIN_EVENTS_SENT },
	{ "portwarden_events_suppressed_total", "counter",
	  "Violation events not sent: the token bucket was empty "
	  "(rate_limited), or the flow was reported less than the event "
	  "interval ago (repeat).",
	  .samples = prom_events_suppressed },
	{ "portwarden_events_lost_total", "counter",
	  "Violation events lost because the ring buffer was full.",
	  .plain = PLAIN_EVENTS_LOST },
	{ "portwarden_policy_info", "gauge",
	  "The policy in force, the digest of its compiled tables, the "
	  "host's roles and the XDP mode; always 1.",
	  .samples = prom_policy_info },
	{ "portwarden_policy_stale", "gauge",
	  "1 when the policy files changed (or cannot be read) since the last "
	  "load or reload.",
	  .plain = PLAIN_POLICY_STALE },
	{ "portwarden_mode", "gauge",
	  "1 for the mode the datapath acts in (an enforce past its "
	  "unconfirmed deadline acts as audit), 0 for the other.",
	  .samples = prom_mode },
	{ "portwarden_enforce_deadline_timestamp_seconds", "gauge",
	  "When an enforce mode that waits for 'portwarden confirm' reverts "
	  "to audit (Unix time).",
	  .samples = prom_deadline },
	{ "portwarden_unused_rules", "gauge",
	  "Allow rules in force that nothing has hit since load or reset.",
	  .samples = prom_unused_count },
	{ "portwarden_unused_rule_info", "gauge",
	  "One series per allow rule in force that nothing has hit since "
	  "load or reset; always 1.",
	  .samples = prom_unused_rules },
	{ "portwarden_load_timestamp_seconds", "gauge",
	  "When portwarden was loaded on the interface (Unix time).",
	  .samples = prom_load_time },
	{ "portwarden_policy_load_timestamp_seconds", "gauge",
	  "When the policy in force was loaded or last reloaded (Unix time).",
	  .samples = prom_policy_time },
};

void pw_prom_write_reports(const struct pw_report *const *r, size_t n,
			   FILE *out)
{
	const struct prom_family *f;
	size_t i;

	for (f = prom_families;
	     f < prom_families + sizeof(prom_families) / sizeof(*f); f++) {
		pw_prom_header(out, f->name, f->type, f->help);
		for (i = 0; i < n; i++) {
			if (f->samples) {
				f->samples(out, f->name, r[i]);
				continue;
			}
			prom_open(out, f->name, r[i]);
			prom_close(out, plain_value(r[i], f->plain));
		}
	}
}

void pw_report_print_prometheus(const struct pw_report *r, FILE *out)
{
	pw_prom_write_reports(&r, 1, out);
}
