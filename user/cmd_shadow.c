// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * cmd_shadow.c - "portwarden shadow": try a candidate policy on live
 * traffic next to the running one, then promote or drop it.
 */
#include <stdlib.h>
#include <string.h>

#include "hostopts.h"
#include "shadow.h"

extern const struct pw_cmd pw_cmd_shadow;

enum shadow_action {
	SHADOW_SHOW = 0,
	SHADOW_LOAD,
	SHADOW_PROMOTE,
	SHADOW_DROP,
};

/* --promote and --drop, the command's own options; they exclude each other. */
static int take_action(int val, const char *arg, void *ctx)
{
	enum shadow_action *action = ctx;

	if (*action != SHADOW_SHOW && *action != (enum shadow_action)val) {
		pw_cli_err("shadow: --promote and --drop exclude each other");
		return -1;
	}
	*action = val;
	return 0;
}

static bool has_candidate(const struct pw_hostopts *o)
{
	return o->policy || o->inventory || o->profile || o->nroles ||
	       o->ntags;
}

static int check_options(const struct pw_hostopts *o,
			 enum shadow_action *action)
{
	if (pw_hostopts_need_iface(&pw_cmd_shadow, o))
		return -1;
	if (o->mode) {
		pw_cli_err("shadow: --mode does not apply: both policies are "
			   "judged in the host's mode ('portwarden mode' "
			   "changes it)");
		return -1;
	}
	if (!has_candidate(o))
		return 0;
	if (*action != SHADOW_SHOW) {
		pw_cli_err("shadow: --%s acts on the loaded shadow; policy "
			   "options load a new one: give one or the other",
			   *action == SHADOW_PROMOTE ? "promote" : "drop");
		return -1;
	}
	*action = SHADOW_LOAD;
	return 0;
}

/* The candidate's settings: options given, then the running ones. */
static int candidate_settings(const struct pw_hostopts *o,
			      struct pw_state *st, char **profile,
			      struct pw_diags *d)
{
	struct pw_loaded l;
	int rc;

	rc = pw_hostopts_open(&pw_cmd_shadow, o, &l);
	if (rc)
		return rc;
	rc = pw_hostopts_settings(&pw_cmd_shadow, o, &l.st, st, d);
	pw_loaded_close(&l);
	if (rc || !o->profile)
		return rc;
	*profile = realpath(o->profile, NULL);
	if (!*profile)
		*profile = strdup(o->profile);
	if (!*profile) {
		pw_error(d, NULL, "shadow: out of memory");
		return -1;
	}
	return 0;
}

static int shadow_load(const struct pw_hostopts *o, struct pw_diags *d)
{
	struct pw_state st = { 0 };
	struct pw_shadow_req req;
	char *profile = NULL;
	int rc;

	rc = candidate_settings(o, &st, &profile, d);
	if (!rc) {
		req = (struct pw_shadow_req){
			.netns = o->netns,
			.iface = o->iface,
			.st = &st,
			.profile = profile,
		};
		rc = pw_shadow_load(&req, d);
	}
	free(profile);
	pw_state_free(&st);
	return rc;
}

static void print_dropped(const struct pw_hostopts *o)
{
	pw_out_open_object(NULL);
	pw_print_string(PW_OUT_ANY, "iface", "%s: shadow policy dropped\n",
			o->iface);
	pw_print_string(PW_OUT_JSON, "netns", NULL, o->netns);
	pw_print_bool(PW_OUT_JSON, "dropped", NULL, true);
	pw_out_close_object();
}

static int run_action(const struct pw_hostopts *o, enum shadow_action action)
{
	struct pw_diags d = { 0 };
	int rc = 0;

	switch (action) {
	case SHADOW_LOAD:
		rc = shadow_load(o, &d);
		break;
	case SHADOW_PROMOTE:
		rc = pw_shadow_promote(o->netns, o->iface, o->force, &d);
		break;
	case SHADOW_DROP:
		rc = pw_shadow_drop(o->netns, o->iface, &d);
		break;
	case SHADOW_SHOW:
		break;
	}
	pw_cli_diags(&d);
	pw_diags_free(&d);
	if (rc)
		return rc;
	if (action == SHADOW_DROP) {
		print_dropped(o);
		return 0;
	}
	if (action == SHADOW_PROMOTE)
		return pw_status_report(o->netns, o->iface);
	rc = pw_shadow_show(o->netns, o->iface, &d);
	pw_cli_diags(&d);
	pw_diags_free(&d);
	return rc;
}

static int do_shadow(int argc, char **argv)
{
	static const struct option actions[] = {
		{ "promote", no_argument, NULL, SHADOW_PROMOTE },
		{ "drop", no_argument, NULL, SHADOW_DROP },
		{ 0 },
	};
	enum shadow_action action = SHADOW_SHOW;
	const struct pw_ho_own own = { actions, take_action, &action };
	struct pw_hostopts o;
	int rc;

	rc = pw_hostopts_parse_own(&pw_cmd_shadow,
				   PW_HO_IFACE | PW_HO_NETNS | PW_HO_HOST |
					   PW_HO_FORCE,
				   &own, argc, argv, &o);
	if (rc == 1) { /* --help printed */
		rc = 0;
		goto out;
	}
	if (!rc)
		rc = check_options(&o, &action);
	if (!rc)
		rc = run_action(&o, action);
out:
	pw_hostopts_free(&o);
	return rc ? 1 : 0;
}

const struct pw_cmd pw_cmd_shadow = {
	.name = "shadow",
	.usage = "shadow --iface IF [--policy FILE] [--inventory FILE] [--role ROLE[,ROLE]] [--tag TAG]... [--profile FILE] [--netns NAME]\n"
		 "shadow --iface IF --promote [--force] [--netns NAME]\n"
		 "shadow --iface IF --drop [--netns NAME]\n"
		 "shadow --iface IF [--netns NAME]",
	.summary = "Try a candidate policy on live traffic, then promote or drop it.",
	.help =
		"With policy options, compiles a candidate exactly as reload would (role ids\n"
		"and counter slots of the loaded maps; settings not given are the running\n"
		"ones) and writes it into the generation not in force.  From then on every\n"
		"packet is also judged by the candidate, and where its verdict differs from\n"
		"the running policy's, counted per key: 'portwarden stats --shadow' lists\n"
		"them.  The running policy still decides what passes.  A new candidate\n"
		"replaces the loaded one; one that does not compile or fit changes nothing.\n"
		"While a shadow is loaded, reload refuses: promote or drop it first.\n"
		"\n"
		"Options:\n"
		"  --iface IF       the interface (loaded)\n"
		"  --netns NAME     IF was loaded with --netns NAME\n"
		"  --policy, --inventory, --role, --tag, --profile\n"
		"                   the candidate, as for reload (a profile's mode is not\n"
		"                   used: both policies are judged in the host's mode)\n"
		"  --promote        put the candidate in force by one flip, keeping the\n"
		"                   counters; status, stats and reload then name it; the\n"
		"                   mode stays.  Prints the status.\n"
		"  --force          with --promote on an enforcing host: go on even when\n"
		"                   the candidate would cut this SSH session\n"
		"  --drop           stop the trial; its counts are forgotten\n"
		"  -j, --json       JSON output\n"
		"  -h, --help       this text\n"
		"\n"
		"Without an action, shows whether a shadow is loaded, which, and how many\n"
		"packets it would have judged differently.\n",
	.run = do_shadow,
};
