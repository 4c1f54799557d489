// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * cmd_status.c - "portwarden status": what is loaded where, in which mode,
 * with which policy, and how many packets went each way.
 *
 * Everything comes from the pins and the state file (state.h); the
 * recorded policy is recompiled only to tell its name and whether the
 * files changed since the last load or reload.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "classify.h"
#include "hostopts.h"
#include "report.h"

extern const struct pw_cmd pw_cmd_status;

struct status_info {
	struct pw_loaded l;
	struct pw_snap snap;
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

static int status_read(struct status_info *s, const char *netns,
		       const char *iface)
{
	struct pw_diags d = { 0 };
	char err[1024];
	int rc;

	rc = pw_loaded_open(netns, iface, &s->l, err, sizeof(err));
	if (rc) {
		pw_cli_err("%s", err);
		return -1;
	}
	rc = pw_snap_read(&s->l.maps, &s->snap);
	if (rc) {
		pw_cli_err("%s: cannot read the counters: %s", s->l.name,
			   pw_maps_errmsg());
		pw_loaded_close(&s->l);
		return -1;
	}
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

/* ----------------------------------------------------------- totals -- */

static void sum_verdicts(const struct pw_snap *snap,
			 struct pw_counter tot[PW_NVERDICT])
{
	uint32_t i, v;

	memset(tot, 0, PW_NVERDICT * sizeof(*tot));
	for (i = 0; i < snap->nslots; i++) {
		for (v = 0; v < PW_NVERDICT; v++) {
			tot[v].packets += snap->slots[i].sum[v].packets;
			tot[v].bytes += snap->slots[i].sum[v].bytes;
		}
	}
	for (i = 0; i < snap->nunnamed; i++) {
		v = snap->unnamed[i].key.verdict;
		if (v >= PW_NVERDICT)
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

static void print_totals(const struct pw_snap *snap)
{
	struct pw_counter tot[PW_NVERDICT];
	unsigned v, r, shown = 0;

	sum_verdicts(snap, tot);
	pw_out_open_object("totals");
	pw_print_text("  packets    ");
	for (v = 0; v < PW_NVERDICT; v++) {
		print_counter(pw_verdict_name(v), &tot[v]);
		pw_print_text(" %s %llu (%llu B)%s", pw_verdict_name(v),
			      (unsigned long long)tot[v].packets,
			      (unsigned long long)tot[v].bytes,
			      v + 1 < PW_NVERDICT ? "," : "\n");
	}
	pw_out_close_object();

	pw_out_open_object("reasons");
	pw_print_text("  reasons    ");
	for (r = 0; r < PW_NREASON; r++) {
		print_counter(pw_reason_name(r), &snap->reasons[r]);
		if (!snap->reasons[r].packets)
			continue;
		pw_print_text("%s %s %llu", shown++ ? "," : "",
			      pw_reason_name(r),
			      (unsigned long long)snap->reasons[r].packets);
	}
	pw_print_text("%s\n", shown ? "" : " none");
	pw_out_close_object();
}

/* ------------------------------------------------------------ report -- */

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
	print_totals(&s->snap);
	pw_out_close_object();
}

static int status_one(const char *netns, const char *iface)
{
	struct status_info s;

	memset(&s, 0, sizeof(s));
	if (status_read(&s, netns, iface))
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
