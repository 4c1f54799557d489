// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * cmd_status.c - "portwarden status": what is loaded where, in which mode,
 * with which policy, and how many packets went each way.
 *
 * Everything comes from the pins, the state file (state.h) and the
 * interface itself (what is attached); the recorded policy is recompiled
 * only to tell its name and whether the files changed since the last
 * load or reload.  An interface left half loaded or half reloaded by a
 * command that died is shown as such ("interrupted").
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include "classify.h"
#include "hostopts.h"
#include "report.h"

extern const struct pw_cmd pw_cmd_status;

struct status_info {
	struct pw_loaded l;
	struct pw_snap snap;
	struct pw_tc_record tc;    /* as the state file records it */
	struct pw_attached att;    /* as the interface has it */
	struct pw_flow_usage flows;
	__u64 stats[PW_NSTAT];
	struct pw_counter egress_reasons[PW_NREASON];
	struct pw_policy pol;
	struct pw_inventory inv;
	struct pw_compiled c;
	bool compiled;
	int stale;
	char *compile_error; /* why the recorded policy does not compile */
};

/* ------------------------------------------------------------ reading -- */

static char *first_error(const struct pw_diags *d)
{
	int i;

	for (i = 0; i < d->n; i++)
		if (d->v[i].level == PW_DIAG_ERROR)
			return pw_diag_format(&d->v[i]);
	return strdup("does not compile");
}

/* Flow table, housekeeping counters, egress reasons. */
static int status_read_datapath(struct status_info *s)
{
	unsigned r;
	int rc;

	rc = pw_maps_flow_usage(&s->l.maps, 0, &s->flows);
	if (!rc)
		rc = pw_maps_read_stats(&s->l.maps, s->stats);
	for (r = 0; !rc && r < PW_NREASON; r++)
		rc = pw_maps_read_reason(&s->l.maps,
					 pw_reason_index(PW_DIR_EGRESS, r),
					 &s->egress_reasons[r]);
	return rc;
}

/*
 * Returns 0, -EUCLEAN when a load or unload was interrupted (@err says
 * how), or -1 after reporting why not.
 */
static int status_read(struct status_info *s, const char *netns,
		       const char *iface, char *err, size_t errlen)
{
	struct pw_diags d = { 0 };
	char path[512];
	struct stat sb;
	int rc;

	rc = pw_loaded_open(netns, iface, &s->l, err, errlen);
	if (rc == -ENOENT) {
		pw_state_path(netns, iface, path, sizeof(path));
		if (!stat(path, &sb)) {
			snprintf(err, errlen,
				 "%s%s%s: no pins but a state file (%s): an "
				 "unload was interrupted; run 'portwarden "
				 "unload%s%s --iface %s'", netns ? netns : "",
				 netns ? ":" : "", iface, path,
				 netns ? " --netns " : "", netns ? netns : "",
				 iface);
			rc = -EUCLEAN;
		}
	}
	if (rc == -EUCLEAN)
		return rc;
	if (rc) {
		pw_cli_err("%s", err);
		return -1;
	}
	rc = pw_snap_read(&s->l.maps, &s->snap);
	if (!rc)
		rc = status_read_datapath(s);
	if (rc) {
		pw_cli_err("%s: cannot read the counters: %s", s->l.name,
			   pw_maps_errmsg());
		pw_snap_free(&s->snap);
		pw_loaded_close(&s->l);
		return -1;
	}
	pw_tc_record_read(netns, iface, &s->tc);
	pw_attached_read(netns, iface, &s->tc, &s->att);
	if (pw_loaded_recompile(&s->l, &s->pol, &s->inv, &s->c, &s->stale,
				&d))
		s->compile_error = first_error(&d);
	else
		s->compiled = true;
	pw_diags_free(&d);
	return 0;
}

static void status_free(struct status_info *s)
{
	if (s->compiled) {
		pw_compiled_free(&s->c);
		pw_inventory_free(&s->inv);
		pw_policy_free(&s->pol);
	}
	free(s->compile_error);
	pw_snap_free(&s->snap);
	pw_loaded_close(&s->l);
}

/* ------------------------------------------------------------- mode -- */

struct mode_view {
	const char *effective;  /* what the datapath does now */
	const char *configured; /* pw_config.mode */
	bool deadline;          /* a deadline is set */
	bool passed;            /* ... and has passed */
	time_t deadline_wall;   /* the deadline in wall-clock time */
	long long left_s;       /* seconds left (0 when passed) */
};

static void mode_view(const struct pw_config *cfg, struct mode_view *v)
{
	__u64 now = pw_monotonic_ns();
	long long delta_ns;

	memset(v, 0, sizeof(*v));
	v->configured = pw_mode_name(cfg->mode);
	v->effective = v->configured;
	if (cfg->mode != PW_MODE_ENFORCE || !cfg->enforce_deadline_ns)
		return;
	v->deadline = true;
	delta_ns = (long long)(cfg->enforce_deadline_ns - now);
	v->deadline_wall = time(NULL) + delta_ns / 1000000000LL;
	if (cfg->enforce_deadline_ns <= now) {
		v->passed = true;
		v->effective = pw_mode_name(PW_MODE_AUDIT);
	} else {
		v->left_s = (delta_ns + 999999999LL) / 1000000000LL;
	}
}

static void print_mode(const struct pw_config *cfg)
{
	struct mode_view v;
	char when[64];

	mode_view(cfg, &v);
	pw_format_time(v.deadline_wall, when, sizeof(when));
	pw_print_string(PW_OUT_JSON, "mode", NULL, v.effective);
	pw_print_string(PW_OUT_JSON, "configured_mode", NULL, v.configured);
	pw_print_string(PW_OUT_JSON, "confirm_deadline", NULL,
			v.deadline ? when : NULL);
	pw_print_bool(PW_OUT_JSON, "deadline_passed", NULL, v.passed);
	pw_print_int(PW_OUT_JSON, "confirm_seconds_left", NULL, v.left_s);
	if (!v.deadline)
		pw_print_text("  mode        %s\n", v.effective);
	else if (v.passed)
		pw_print_text("  mode        audit (enforce reverted to audit "
			      "at the deadline %s, not confirmed)\n", when);
	else
		pw_print_text("  mode        enforce until %s (%lld s left; "
			      "'portwarden confirm' keeps it)\n", when,
			      v.left_s);
}

/* ----------------------------------------------------------- policy -- */

static void print_policy(const struct status_info *s)
{
	const struct pw_state *st = &s->l.st;
	char digest[24];

	snprintf(digest, sizeof(digest), "%016llx",
		 (unsigned long long)s->snap.gen.policy_digest);
	pw_out_open_object("policy");
	pw_print_string(PW_OUT_JSON, "name", NULL,
			s->compiled ? s->pol.name : NULL);
	pw_print_string(PW_OUT_JSON, "path", NULL, st->policy);
	pw_print_string(PW_OUT_JSON, "inventory", NULL, st->inventory);
	pw_print_string(PW_OUT_JSON, "digest", NULL, digest);
	pw_print_bool(PW_OUT_JSON, "stale", NULL,
		      !s->compiled || s->stale);
	pw_print_string(PW_OUT_JSON, "error", NULL, s->compile_error);
	pw_out_close_object();

	pw_print_text("  policy      %s (%s)\n",
		      s->compiled ? s->pol.name : "?", st->policy);
	if (st->inventory)
		pw_print_text("  inventory   %s\n", st->inventory);
	pw_print_text("  digest      %s", digest);
	if (s->compile_error)
		pw_print_text("  (cannot recompile the recorded files: %s)",
			      s->compile_error);
	else if (s->stale)
		pw_print_text("  (stale: the files changed since the last "
			      "load or reload)");
	pw_print_text("\n");
}

static void print_list(const char *key, const char *label, char **v, int n)
{
	int i;

	pw_out_open_array(key);
	pw_print_text("  %-11s ", label);
	for (i = 0; i < n; i++) {
		pw_print_string(PW_OUT_JSON, NULL, NULL, v[i]);
		pw_print_text("%s%s", i ? ", " : "", v[i]);
	}
	pw_print_text("%s\n", n ? "" : "none");
	pw_out_close_array();
}

/* ----------------------------------------------------------- egress -- */

/* What egress does: off, or audit/enforce as pw_config has it. */
static const char *egress_mode(const struct status_info *s)
{
	if (s->tc.egress == PW_EGRESS_OFF)
		return pw_egress_name(PW_EGRESS_OFF);
	return pw_egress_name(s->snap.cfg.flags & PW_CFG_EGRESS_ENFORCE
				      ? PW_EGRESS_ENFORCE
				      : PW_EGRESS_AUDIT);
}

static void print_egress(const struct status_info *s)
{
	const struct pw_tc_record *r = &s->tc;
	bool on = r->egress != PW_EGRESS_OFF;

	pw_out_open_object("egress");
	pw_print_string(PW_OUT_JSON, "mode", NULL, egress_mode(s));
	pw_print_bool(PW_OUT_JSON, "attached", NULL, s->att.tc_ours);
	if (r->handle) {
		pw_print_uint(PW_OUT_JSON, "tc_handle", NULL, r->handle);
		pw_print_uint(PW_OUT_JSON, "tc_priority", NULL, r->priority);
	} else {
		pw_print_string(PW_OUT_JSON, "tc_handle", NULL, NULL);
		pw_print_string(PW_OUT_JSON, "tc_priority", NULL, NULL);
	}
	pw_print_string(PW_OUT_JSON, "qdisc", NULL,
			!r->handle && !r->qdisc_created ? NULL
			: r->qdisc_created		? "created"
							: "existing");
	pw_print_uint(PW_OUT_JSON, "prog_id", NULL, s->att.tc_prog);
	pw_out_close_object();

	pw_print_text("  egress      %s", egress_mode(s));
	if (!on && s->att.tc_ours)
		pw_print_text(", but portwarden's tc filter is attached (a "
			      "reload died): reload to settle it\n");
	else if (!on)
		pw_print_text(" (no tc program: replies to this host's own "
			      "connections are judged on ingress)\n");
	else if (s->att.tc_ours)
		pw_print_text(" (tc clsact egress, handle 0x%x priority %u, "
			      "qdisc %s)\n", r->handle, r->priority,
			      r->qdisc_created ? "added by portwarden"
					       : "kept as found");
	else if (s->att.tc_prog)
		pw_print_text(", but the tc filter at handle 0x%x priority %u "
			      "is not portwarden's (program id %u)\n",
			      r->handle, r->priority, s->att.tc_prog);
	else
		pw_print_text(", but NOT attached: no tc filter at handle "
			      "0x%x priority %u; reload to attach it again\n",
			      r->handle, r->priority);
}

/* ------------------------------------------------- flows and events -- */

static void print_flows(const struct status_info *s)
{
	const struct pw_flow_usage *u = &s->flows;
	const struct pw_config *cfg = &s->snap.cfg;

	pw_out_open_object("flows");
	pw_print_uint(PW_OUT_JSON, "capacity", NULL, u->capacity);
	pw_print_uint(PW_OUT_JSON, "entries", NULL, u->entries);
	pw_print_uint(PW_OUT_JSON, "live", NULL, u->live);
	pw_print_uint(PW_OUT_JSON, "opened", NULL, u->opened);
	pw_print_uint(PW_OUT_JSON, "inbound", NULL, u->inbound);
	pw_print_uint(PW_OUT_JSON, "inserted", NULL, u->inserted);
	pw_print_uint(PW_OUT_JSON, "closed", NULL, u->closed);
	pw_print_uint(PW_OUT_JSON, "expired", NULL, u->expired);
	pw_print_uint(PW_OUT_JSON, "evicted", NULL, u->evicted);
	pw_print_uint(PW_OUT_JSON, "insert_failed", NULL, u->insert_failed);
	pw_print_bool(PW_OUT_JSON, "full", NULL, u->full);
	pw_print_uint(PW_OUT_JSON, "timeout_tcp_s", NULL,
		      cfg->flow_tcp_timeout_s);
	pw_print_uint(PW_OUT_JSON, "timeout_fin_s", NULL,
		      cfg->flow_fin_timeout_s);
	pw_print_uint(PW_OUT_JSON, "timeout_udp_s", NULL,
		      cfg->flow_udp_timeout_s);
	pw_out_close_object();

	pw_print_text("  flows       %u of %u entries%s (live %u: %u opened by "
		      "this host, %u let in), evicted %llu, insert failures "
		      "%llu\n", u->entries, u->capacity,
		      u->full ? " FULL" : "", u->live, u->opened, u->inbound,
		      (unsigned long long)u->evicted,
		      (unsigned long long)u->insert_failed);
	pw_print_text("  flow ages   tcp %u s, tcp after fin %u s, udp %u s\n",
		      cfg->flow_tcp_timeout_s, cfg->flow_fin_timeout_s,
		      cfg->flow_udp_timeout_s);
}

static void print_events(const struct status_info *s)
{
	const struct pw_config *cfg = &s->snap.cfg;
	const __u64 *st = s->stats;

	pw_out_open_object("events");
	pw_print_uint(PW_OUT_JSON, "sent", NULL, st[PW_STAT_EVENT_SENT]);
	pw_print_uint(PW_OUT_JSON, "rate_limited", NULL,
		      st[PW_STAT_EVENT_RATE_LIMITED]);
	pw_print_uint(PW_OUT_JSON, "lost", NULL, st[PW_STAT_EVENT_LOST]);
	pw_print_uint(PW_OUT_JSON, "repeat", NULL, st[PW_STAT_EVENT_REPEAT]);
	pw_print_uint(PW_OUT_JSON, "rate", NULL, cfg->event_rate);
	pw_print_uint(PW_OUT_JSON, "burst", NULL, cfg->event_burst);
	pw_print_uint(PW_OUT_JSON, "interval_s", NULL, cfg->event_interval_s);
	pw_print_uint(PW_OUT_JSON, "ring_bytes", NULL,
		      s->l.maps.caps.event_ring);
	pw_out_close_object();

	pw_print_text("  events      sent %llu, rate-limited %llu, lost %llu, "
		      "repeats %llu (%u/s per CPU, burst %u, every %u s, ring "
		      "%u B)\n",
		      (unsigned long long)st[PW_STAT_EVENT_SENT],
		      (unsigned long long)st[PW_STAT_EVENT_RATE_LIMITED],
		      (unsigned long long)st[PW_STAT_EVENT_LOST],
		      (unsigned long long)st[PW_STAT_EVENT_REPEAT],
		      cfg->event_rate, cfg->event_burst, cfg->event_interval_s,
		      s->l.maps.caps.event_ring);
}

/* ----------------------------------------------------------- totals -- */

/* Packets and bytes per verdict of direction @dir. */
static void sum_verdicts(const struct pw_snap *snap, unsigned dir,
			 struct pw_counter tot[PW_NVERDICT])
{
	uint32_t i, v;

	memset(tot, 0, PW_NVERDICT * sizeof(*tot));
	for (i = 0; i < snap->nslots; i++) {
		if (snap->slots[i].key.dir != dir)
			continue;
		for (v = 0; v < PW_NVERDICT; v++) {
			tot[v].packets += snap->slots[i].sum[v].packets;
			tot[v].bytes += snap->slots[i].sum[v].bytes;
		}
	}
	for (i = 0; i < snap->nunnamed; i++) {
		v = snap->unnamed[i].key.verdict;
		if (v >= PW_NVERDICT || snap->unnamed[i].key.dir != dir)
			continue;
		tot[v].packets += snap->unnamed[i].sum.packets;
		tot[v].bytes += snap->unnamed[i].sum.bytes;
	}
}

static void print_counter(const char *key, const struct pw_counter *c)
{
	pw_out_open_object(key);
	pw_print_uint(PW_OUT_JSON, "packets", NULL, c->packets);
	pw_print_uint(PW_OUT_JSON, "bytes", NULL, c->bytes);
	pw_out_close_object();
}

/* One direction's verdict totals: a JSON object and a text line. */
static void print_verdicts(const char *key, const char *label,
			   const struct pw_counter tot[PW_NVERDICT])
{
	unsigned v;

	pw_out_open_object(key);
	pw_print_text("  %-11s", label);
	for (v = 0; v < PW_NVERDICT; v++) {
		print_counter(pw_verdict_name(v), &tot[v]);
		pw_print_text(" %s %llu (%llu B)%s", pw_verdict_name(v),
			      (unsigned long long)tot[v].packets,
			      (unsigned long long)tot[v].bytes,
			      v + 1 < PW_NVERDICT ? "," : "\n");
	}
	pw_out_close_object();
}

static void print_reasons(const char *key, const char *label,
			  const struct pw_counter reasons[PW_NREASON])
{
	unsigned r, shown = 0;

	pw_out_open_object(key);
	pw_print_text("  %-11s", label);
	for (r = 0; r < PW_NREASON; r++) {
		print_counter(pw_reason_name(r), &reasons[r]);
		if (!reasons[r].packets)
			continue;
		pw_print_text("%s %s %llu", shown++ ? "," : "",
			      pw_reason_name(r),
			      (unsigned long long)reasons[r].packets);
	}
	pw_print_text("%s\n", shown ? "" : " none");
	pw_out_close_object();
}

/*
 * "totals" and "reasons" are both directions and ingress, as before
 * egress existed; "by_direction" and "egress_reasons" split them.
 */
static void print_totals(const struct status_info *s)
{
	struct pw_counter in[PW_NVERDICT], out[PW_NVERDICT], all[PW_NVERDICT];
	unsigned v;

	sum_verdicts(&s->snap, PW_DIR_INGRESS, in);
	sum_verdicts(&s->snap, PW_DIR_EGRESS, out);
	for (v = 0; v < PW_NVERDICT; v++) {
		all[v].packets = in[v].packets + out[v].packets;
		all[v].bytes = in[v].bytes + out[v].bytes;
	}
	pw_out_open_object("totals");
	for (v = 0; v < PW_NVERDICT; v++)
		print_counter(pw_verdict_name(v), &all[v]);
	pw_out_close_object();
	pw_out_open_object("by_direction");
	print_verdicts("ingress", "inbound", in);
	print_verdicts("egress", "outbound", out);
	pw_out_close_object();
	print_reasons("reasons", "reasons in", s->snap.reasons);
	print_reasons("egress_reasons", "reasons out", s->egress_reasons);
}

/* ------------------------------------------------------------ report -- */

/*
 * The state file records the digest of the policy each load or reload
 * put in force; when the maps hold another, a reload died after its flip
 * and before the state file (the datapath runs the new policy, whole).
 */
static void print_interrupted_reload(const struct status_info *s)
{
	bool differ = s->l.st.digest != s->snap.gen.policy_digest;

	pw_print_string(PW_OUT_JSON, "interrupted", NULL,
			differ ? "reload" : NULL);
	if (!differ)
		return;
	pw_print_text("  INTERRUPTED a reload died after putting policy digest "
		      "%016llx in force; the state file still records "
		      "%016llx and its settings: run reload again\n",
		      (unsigned long long)s->snap.gen.policy_digest,
		      (unsigned long long)s->l.st.digest);
}

/*
 * A shadow policy judges every packet next to the running one: worth a
 * line, since reload refuses while it is there.  "shadow": null when none.
 */
static void print_shadow(const struct status_info *s)
{
	struct pw_shadow_state desc;
	bool described;

	if (!(s->snap.cfg.flags & PW_CFG_SHADOW)) {
		pw_print_string(PW_OUT_JSON, "shadow", NULL, NULL);
		return;
	}
	memset(&desc, 0, sizeof(desc));
	described = !pw_shadow_state_current(&s->l, &s->snap.cfg, &desc);
	pw_out_open_object("shadow");
	pw_print_uint(PW_OUT_JSON, "generation", NULL,
		      !(s->snap.cfg.active_gen & 1));
	pw_print_string(PW_OUT_JSON, "policy", NULL,
			described ? desc.st.policy : NULL);
	pw_out_open_array("roles");
	for (int i = 0; described && i < desc.st.nroles; i++)
		pw_print_string(PW_OUT_JSON, NULL, NULL, desc.st.roles[i]);
	pw_out_close_array();
	pw_out_close_object();
	if (described) {
		pw_print_text("  shadow      %s, roles", desc.st.policy);
		for (int i = 0; i < desc.st.nroles; i++)
			pw_print_text("%s %s", i ? "," : "", desc.st.roles[i]);
		pw_print_text(" (portwarden stats --shadow: what it would "
			      "change)\n");
	} else
		pw_print_text("  shadow      loaded, its shadow file is missing: "
			      "drop it with portwarden shadow --drop\n");
	if (described)
		pw_shadow_state_free(&desc);
}

static void print_status(const struct status_info *s)
{
	const struct pw_state *st = &s->l.st;
	char loaded[64], reloaded[64];

	pw_format_time(st->loaded_at, loaded, sizeof(loaded));
	pw_format_time(st->reloaded_at, reloaded, sizeof(reloaded));
	pw_out_open_object(NULL);
	pw_print_string(PW_OUT_JSON, "iface", NULL, s->l.iface);
	pw_print_string(PW_OUT_JSON, "netns", NULL, st->netns);
	pw_print_text("%s", s->l.iface);
	if (st->netns)
		pw_print_text(" (netns %s)", st->netns);
	pw_print_text("\n");
	print_interrupted_reload(s);
	print_mode(&s->snap.cfg);
	print_policy(s);
	print_list("roles", "roles", st->roles, st->nroles);
	print_list("tags", "tags", st->tags, st->ntags);
	pw_print_uint(PW_OUT_ANY, "generation", "  generation  %llu\n",
		      s->snap.cfg.active_gen);
	pw_print_string(PW_OUT_ANY, "xdp_mode", "  xdp mode    %s\n",
			st->xdp_mode);
	pw_print_string(PW_OUT_ANY, "loaded_at", "  loaded      %s\n", loaded);
	pw_print_string(PW_OUT_JSON, "reloaded_at", NULL,
			st->reloaded_at ? reloaded : NULL);
	pw_print_text("  reloaded    %s\n", reloaded);
	pw_print_int(PW_OUT_JSON, "loaded_at_unix", NULL, st->loaded_at);
	print_egress(s);
	print_flows(s);
	print_events(s);
	print_shadow(s);
	print_totals(s);
	pw_out_close_object();
}

/*
 * What a load or unload that died left on an interface: which programs
 * are still attached, and which policy the pinned maps hold.
 */
static void print_interrupted(const char *netns, const char *iface,
			      const char *why)
{
	struct pw_tc_record r;
	struct pw_attached a;
	char digest[24];
	uint64_t d = 0;
	bool have_digest;

	pw_tc_record_read(netns, iface, &r);
	pw_attached_read(netns, iface, &r, &a);
	have_digest = !pw_pinned_digest(netns, iface, &d);
	snprintf(digest, sizeof(digest), "%016llx", (unsigned long long)d);
	pw_out_open_object(NULL);
	pw_print_string(PW_OUT_JSON, "iface", NULL, iface);
	pw_print_string(PW_OUT_JSON, "netns", NULL, netns);
	pw_print_string(PW_OUT_JSON, "interrupted", NULL, "load");
	pw_print_string(PW_OUT_JSON, "problem", NULL, why);
	pw_print_bool(PW_OUT_JSON, "xdp_attached", NULL, a.xdp_ours);
	pw_print_bool(PW_OUT_JSON, "tc_attached", NULL, a.tc_ours);
	pw_out_open_object("policy");
	pw_print_string(PW_OUT_JSON, "digest", NULL,
			have_digest ? digest : NULL);
	pw_out_close_object();
	pw_print_text("%s", iface);
	if (netns)
		pw_print_text(" (netns %s)", netns);
	pw_print_text("\n  INTERRUPTED a load or unload did not finish\n"
		      "  xdp         %s\n  egress      tc filter %s\n"
		      "  digest      %s\n",
		      a.xdp_ours ? "attached (judging with the pinned maps)"
				 : "not attached",
		      a.tc_ours ? "attached" : "not attached",
		      have_digest ? digest : "none (no complete maps)");
	pw_out_close_object();
}

static int status_one(const char *netns, const char *iface)
{
	struct status_info s;
	char err[1024];
	int rc;

	memset(&s, 0, sizeof(s));
	rc = status_read(&s, netns, iface, err, sizeof(err));
	if (rc == -EUCLEAN) {
		print_interrupted(netns, iface, err);
		pw_cli_err("%s", err);
		return -1;
	}
	if (rc)
		return -1;
	print_status(&s);
	status_free(&s);
	return 0;
}

int pw_status_report(const char *netns, const char *iface)
{
	int err;

	pw_out_open_object(NULL);
	pw_out_open_array("interfaces");
	err = status_one(netns, iface);
	pw_out_close_array();
	pw_out_close_object();
	return err;
}

/* "<NETNS>:<IF>" splits at the last ':' (interface names have none). */
static int status_all(void)
{
	char **names = NULL, *colon;
	int i, n = 0, err, failed = 0;

	err = pw_loaded_list(&names, &n);
	if (err) {
		pw_cli_err("status: cannot list %s: %s%s", PW_PIN_ROOT,
			   strerror(-err),
			   err == -EACCES ? " (run as root)" : "");
		return -1;
	}
	pw_out_open_object(NULL);
	pw_out_open_array("interfaces");
	if (!n)
		pw_print_text("portwarden is not loaded on any interface\n");
	for (i = 0; i < n; i++) {
		if (i)
			pw_print_text("\n");
		colon = strrchr(names[i], ':');
		if (colon) {
			*colon = '\0';
			failed |= status_one(names[i], colon + 1);
		} else {
			failed |= status_one(NULL, names[i]);
		}
	}
	pw_out_close_array();
	pw_out_close_object();
	pw_cli_free_list(names, n);
	return failed ? -1 : 0;
}

static int do_status(int argc, char **argv)
{
	struct pw_hostopts o;
	int rc;

	rc = pw_hostopts_parse(&pw_cmd_status, PW_HO_IFACE | PW_HO_NETNS, argc,
			       argv, &o);
	if (rc)
		return rc < 0;
	if (o.iface)
		rc = pw_status_report(o.netns, o.iface);
	else
		rc = status_all();
	pw_hostopts_free(&o);
	return rc ? 1 : 0;
}

const struct pw_cmd pw_cmd_status = {
	.name = "status",
	.usage = "status [--iface IF] [--netns NAME]",
	.summary = "Show where portwarden is loaded, its mode, policy and totals.",
	.help =
		"For each loaded interface (or only IF): the mode in force (and an enforce\n"
		"deadline waiting for 'confirm', or the revert to audit when it passed),\n"
		"the policy's name, path and digest (stale when the files changed since\n"
		"the last load or reload), roles, tags, active generation, XDP mode, load\n"
		"and reload times, packets and bytes by verdict, and the reasons counted\n"
		"for frames that were not judged by the policy.\n"
		"\n"
		"Options:\n"
		"  --iface IF     only this interface\n"
		"  --netns NAME   IF lives in network namespace NAME (/run/netns/NAME)\n"
		"  -j, --json     JSON: {\"interfaces\": [...]}\n"
		"  -h, --help     this text\n",
	.run = do_status,
};
