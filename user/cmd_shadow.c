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

/*
 * --promote and --drop are the command's own; the rest is the loader's
 * option set.  Takes them out of @argv into @out (argv[0] stays).
 */
static int take_actions(int argc, char **argv, char **out, int *outc,
			enum shadow_action *action)
{
	enum shadow_action want;
	int i, n = 0;

	*action = SHADOW_SHOW;
	for (i = 0; i < argc; i++) {
		if (i && !strcmp(argv[i], "--promote"))
			want = SHADOW_PROMOTE;
		else if (i && !strcmp(argv[i], "--drop"))
			want = SHADOW_DROP;
		else if (i && !strcmp(argv[i], "--"))
			break;
		else {
			out[n++] = argv[i];
			continue;
		}
		if (*action != SHADOW_SHOW && *action != want) {
			pw_cli_err("shadow: --promote and --drop exclude "
				   "each other");
			return -1;
		}
		*action = want;
	}
	for (; i < argc; i++)
		out[n++] = argv[i];
	out[n] = NULL;
	*outc = n;
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
	char err[1024];
	int rc;

	rc = pw_loaded_open(o->netns, o->iface, &l, err, sizeof(err));
	if (rc) {
		pw_error(d, NULL, "%s", err);
		return rc;
	}
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
	enum shadow_action action;
	struct pw_hostopts o;
	char **args;
	int rc, nargs;

	args = calloc(argc + 1, sizeof(*args));
	if (!args) {
		pw_cli_err("shadow: out of memory");
		return 1;
	}
	rc = take_actions(argc, argv, args, &nargs, &action);
	if (rc) {
		free(args);
		return 1;
	}
	rc = pw_hostopts_parse(&pw_cmd_shadow,
			       PW_HO_IFACE | PW_HO_NETNS | PW_HO_HOST |
				       PW_HO_FORCE,
			       nargs, args, &o);
	if (rc) {
		free(args);
		return rc < 0;
	}
	rc = check_options(&o, &action);
	if (!rc)
		rc = run_action(&o, action);
	pw_hostopts_free(&o);
	free(args);
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
