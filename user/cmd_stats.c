/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * cmd_stats.c - "portwarden stats": the counters of a loaded interface,
 * one row per counter key, as a table, JSON, or Prometheus textfile.
 *
 * The counters come from the pinned maps; the rule notes from the policy
 * files recorded at load time, recompiled with the maps' role ids and
 * slots.  Counters are printed whatever happened to those files: when they
 * changed (digest differs) the notes may be outdated, when they are gone
 * the notes say so.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hostopts.h"
#include "report.h"
#include "shadow.h"
#include "state.h"

extern const struct pw_cmd pw_cmd_stats;

struct stats_args {
	struct pw_hostopts ho; /* --iface, --netns */
	bool violations;
	bool unused;
	bool prometheus;
	bool reset;
	bool shadow;
};

static int take_flag(int val, const char *arg, void *ctx)
{
	struct stats_args *a = ctx;

	switch (val) {
	case 'v':
		a->violations = true;
		break;
	case 'u':
		a->unused = true;
		break;
	case 'P':
		a->prometheus = true;
		break;
	case 'r':
		a->reset = true;
		break;
	case 'S':
		a->shadow = true;
		break;
	}
	return 0;
}

/* Returns 0; 1 when --help was printed; -1 after reporting an error. */
static int parse_args(int argc, char **argv, struct stats_args *a)
{
	static const struct option opts[] = {
		{ "violations", no_argument, NULL, 'v' },
		{ "unused", no_argument, NULL, 'u' },
		{ "prometheus", no_argument, NULL, 'P' },
		{ "reset", no_argument, NULL, 'r' },
		{ "shadow", no_argument, NULL, 'S' },
		{ 0 },
	};
	const struct pw_ho_own own = { opts, take_flag, a };

	return pw_hostopts_parse_own(&pw_cmd_stats, PW_HO_IFACE | PW_HO_NETNS,
				     &own, argc, argv, &a->ho);
}

static int check_args(const struct stats_args *a)
{
	if (pw_hostopts_need_iface(&pw_cmd_stats, &a->ho))
		return -1;
	if (a->prometheus && pw_out_is_json()) {
		pw_cli_err("stats: --prometheus and -j are two output formats; "
			   "choose one");
		return -1;
	}
	if (a->shadow && (a->violations || a->unused || a->prometheus ||
			  a->reset)) {
		pw_cli_err("stats: --shadow lists where a shadow policy differs: "
			   "it combines with -j only");
		return -1;
	}
	if (a->unused && (a->violations || a->prometheus)) {
		pw_cli_err("stats: --unused lists rules, not counters: it does "
			   "not combine with %s",
			   a->violations ? "--violations" : "--prometheus");
		return -1;
	}
	return 0;
}

/*
 * Recompile the policy for the notes.  Failing is not an error for stats:
 * the counters are still worth printing, without notes.
 */
static void load_policy(const struct pw_loaded *l, struct pw_report_policy *p)
{
	pw_report_policy_load(l, p);
	if (!p->ok)
		pw_cli_warn("stats: %s: cannot recompile the policy, so no "
			    "notes: %s", l->name, p->why);
	else if (p->stale)
		pw_cli_warn("stats: %s: the policy files changed since the "
			    "last load or reload; notes may be outdated "
			    "('portwarden reload' puts them in force)",
			    l->name);
}

static void print_report(const struct stats_args *a,
			 const struct pw_report *r)
{
	if (pw_out_is_json())
		pw_report_print_json(r, pw_out_json(), a->unused);
	else if (a->prometheus)
		pw_report_print_prometheus(r, stdout);
	else if (a->unused)
		pw_report_print_unused_text(r, stdout);
	else
		pw_report_print_text(r, stdout);
}

static int run_stats(const struct stats_args *a)
{
	struct pw_report_policy p = { 0 };
	struct pw_report r = { 0 };
	struct pw_loaded l;
	int rc;

	rc = pw_hostopts_open(&pw_cmd_stats, &a->ho, &l);
	if (rc)
		return rc;
	load_policy(&l, &p);
	if (a->unused && !p.ok) {
		pw_cli_err("stats: %s: --unused needs the policy files "
			   "(see the warning above)", l.name);
		rc = -ENOENT;
		goto out;
	}
	rc = pw_report_loaded(&l, a->ho.netns, &p,
			      a->violations ? PW_REPORT_VIOLATIONS :
					      PW_REPORT_ALL,
			      &r);
	if (rc) {
		pw_hostopts_read_err(&pw_cmd_stats, &l, "reading the counters",
				     rc);
		goto out;
	}
	print_report(a, &r);
	fflush(stdout);
	if (a->reset) {
		rc = pw_maps_reset_counters(&l.maps);
		if (rc)
			pw_hostopts_read_err(&pw_cmd_stats, &l,
					     "resetting the counters", rc);
	}
out:
	pw_report_free(&r);
	pw_report_policy_free(&p);
	pw_loaded_close(&l);
	return rc;
}

/* --shadow: the pw_shadow keys (shadow.c renders them). */
static int run_shadow_stats(const struct stats_args *a)
{
	struct pw_diags d = { 0 };
	int rc;

	rc = pw_shadow_stats(a->ho.netns, a->ho.iface, &d);
	pw_cli_diags(&d);
	pw_diags_free(&d);
	return rc;
}

static int do_stats(int argc, char **argv)
{
	struct stats_args a = { 0 };
	int err;

	err = parse_args(argc, argv, &a);
	if (err == 1) { /* --help printed */
		err = 0;
		goto out;
	}
	if (!err)
		err = check_args(&a);
	if (!err)
		err = a.shadow ? run_shadow_stats(&a) : run_stats(&a);
out:
	pw_hostopts_free(&a.ho);
	return err ? 1 : 0;
}

const struct pw_cmd pw_cmd_stats = {
	.name = "stats",
	.usage = "stats --iface IF [--netns NAME] [--violations] [--prometheus] [--reset]\n"
		 "stats --iface IF [--netns NAME] --unused\n"
		 "stats --iface IF [--netns NAME] --shadow",
	.summary = "Show the counters of a loaded interface, per rule key.",
	.help =
		"Prints one row per counter key with packets: direction, peer role (the\n"
		"source on ingress, the destination on egress), protocol and port or port\n"
		"range, verdict (allow, audit, drop, reply), packets, bytes, the deciding\n"
		"rule and its note (\"no rule\" for a port no rule names).  Rows come by\n"
		"packets, most first.  Then the packets not judged by a rule, by reason\n"
		"(ARP, non-IP, truncated, fragments, PMTU, NDP, unnamed table full).\n"
		"\n"
		"Notes come from the policy files recorded at load time.  When they changed\n"
		"since, the counters are printed with a warning that notes may be outdated;\n"
		"when they cannot be read, without notes.\n"
		"\n"
		"Options:\n"
		"  --iface IF       the interface\n"
		"  --netns NAME     the interface lives in network namespace NAME\n"
		"  --violations     only audit and drop rows\n"
		"  --unused         instead of counters, the allow rules in force that\n"
		"                   nothing has hit since load (or the last --reset)\n"
		"  --prometheus     node_exporter textfile format: the metrics of\n"
		"                   'portwarden exporter' for this interface\n"
		"                   (portwarden_packets_total, portwarden_bytes_total,\n"
		"                   portwarden_policy_info, ...; see docs/metrics.md)\n"
		"  --reset          zero every counter after printing\n"
		"  --shadow         instead, where the shadow policy (see 'portwarden\n"
		"                   shadow') judged differently: one row per direction,\n"
		"                   running -> shadow role, protocol/port, running ->\n"
		"                   shadow verdict, with packets and bytes, and totals\n"
		"  -j, --json       one JSON document: rows (or unused rules), reasons,\n"
		"                   policy name, digest, stale flag\n"
		"  -h, --help       this text\n"
		"\n"
		"Exit status: 0 when the counters were printed, 1 otherwise.\n",
	.run = do_stats,
};
