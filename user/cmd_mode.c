// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * cmd_mode.c - "portwarden mode" and "portwarden confirm": switch a loaded
 * interface between audit and enforce, with an optional deadline after
 * which the datapath itself goes back to audit unless confirmed.
 */
#include <string.h>
#include <time.h>

#include "hostopts.h"

extern const struct pw_cmd pw_cmd_mode;
extern const struct pw_cmd pw_cmd_confirm;

static void print_mode_result(const struct pw_hostopts *o, int mode)
{
	char when[64], hint[300] = "";

	pw_out_open_object(NULL);
	pw_print_string(PW_OUT_ANY, "iface", "%s: ", o->iface);
	pw_print_string(PW_OUT_JSON, "netns", NULL, o->netns);
	pw_print_string(PW_OUT_ANY, "mode", "%s", pw_mode_name(mode));
	if (mode == PW_MODE_ENFORCE && o->confirm) {
		pw_format_time(time(NULL) + o->confirm, when, sizeof(when));
		if (o->netns)
			snprintf(hint, sizeof(hint), " --netns %s", o->netns);
		pw_print_string(PW_OUT_ANY, "confirm_deadline",
				" until %s", when);
		pw_print_uint(PW_OUT_JSON, "confirm_seconds", NULL, o->confirm);
		pw_print_text(": run 'portwarden confirm%s --iface %s' within "
			      "%u s to keep it, else it goes back to audit",
			      hint, o->iface, o->confirm);
	}
	pw_print_text("\n");
	pw_out_close_object();
}

static int do_mode(int argc, char **argv)
{
	struct pw_hostopts o;
	struct pw_diags d = { 0 };
	int rc, mode = 0;

	rc = pw_hostopts_parse(&pw_cmd_mode,
			       PW_HO_IFACE | PW_HO_NETNS | PW_HO_FORCE |
				       PW_HO_CONFIRM | PW_HO_ARGS,
			       argc, argv, &o);
	if (rc)
		return rc < 0;
	rc = pw_hostopts_need_iface(&pw_cmd_mode, &o);
	if (!rc && o.nargs != 1) {
		pw_cli_err("mode: expected one mode, audit or enforce; see "
			   "'portwarden help mode'");
		rc = -1;
	} else if (!rc) {
		mode = !strcmp(o.args[0], "audit")     ? PW_MODE_AUDIT
		       : !strcmp(o.args[0], "enforce") ? PW_MODE_ENFORCE
						       : 0;
		if (!mode) {
			pw_cli_err("mode: unknown mode '%s': expected audit or "
				   "enforce", o.args[0]);
			rc = -1;
		}
	}
	if (!rc && o.confirm && mode != PW_MODE_ENFORCE) {
		pw_cli_err("mode: --confirm goes with enforce only");
		rc = -1;
	}
	if (!rc)
		rc = pw_set_mode(o.netns, o.iface, mode, o.confirm, o.force,
				 &d);
	pw_cli_diags(&d);
	if (!rc)
		print_mode_result(&o, mode);
	pw_diags_free(&d);
	pw_hostopts_free(&o);
	return rc ? 1 : 0;
}

const struct pw_cmd pw_cmd_mode = {
	.name = "mode",
	.usage = "mode --iface IF audit|enforce [--confirm SECONDS] [--force] [--netns NAME]",
	.summary = "Switch a loaded interface between audit and enforce.",
	.help =
		"audit counts violations and passes them; enforce drops them (rules with\n"
		"their own 'mode' keep it).  Counters carry on.\n"
		"\n"
		"With --confirm SECONDS, enforce holds only until that deadline unless\n"
		"'portwarden confirm' is run in time: the datapath itself compares the\n"
		"deadline with the kernel clock and acts as audit past it, so the revert\n"
		"happens even if this command is killed or user space hangs.\n"
		"\n"
		"Options:\n"
		"  --iface IF         the interface\n"
		"  --confirm SECONDS  enforce only until confirmed within SECONDS (1-86400)\n"
		"  --force            skip the SSH lockout guard\n"
		"  --netns NAME       IF was loaded with --netns NAME\n"
		"  -h, --help         this text\n"
		"\n"
		"Switching to enforce refuses when the policy would drop the SSH session\n"
		"the command runs in (from $SSH_CONNECTION) unless --force, and warns when\n"
		"no role may reach 22/tcp.\n",
	.run = do_mode,
};

static int do_confirm(int argc, char **argv)
{
	struct pw_hostopts o;
	struct pw_diags d = { 0 };
	int rc;

	rc = pw_hostopts_parse(&pw_cmd_confirm, PW_HO_IFACE | PW_HO_NETNS,
			       argc, argv, &o);
	if (rc)
		return rc < 0;
	rc = pw_hostopts_need_iface(&pw_cmd_confirm, &o);
	if (!rc)
		rc = pw_confirm(o.netns, o.iface, &d);
	pw_cli_diags(&d);
	if (!rc) {
		pw_out_open_object(NULL);
		pw_print_string(PW_OUT_ANY, "iface", "%s: ", o.iface);
		pw_print_string(PW_OUT_JSON, "netns", NULL, o.netns);
		pw_print_string(PW_OUT_ANY, "mode", "%s (confirmed)\n",
				"enforce");
		pw_print_bool(PW_OUT_JSON, "confirmed", NULL, true);
		pw_out_close_object();
	}
	pw_diags_free(&d);
	pw_hostopts_free(&o);
	return rc ? 1 : 0;
}

const struct pw_cmd pw_cmd_confirm = {
	.name = "confirm",
	.usage = "confirm --iface IF [--netns NAME]",
	.summary = "Keep enforce mode that was switched on with a deadline.",
	.help =
		"Clears the deadline set by 'mode enforce --confirm SECONDS': enforce stays.\n"
		"Fails when no deadline is pending, or when it has already passed (the\n"
		"datapath is back in audit; switch to enforce again).\n"
		"\n"
		"Options:\n"
		"  --iface IF     the interface\n"
		"  --netns NAME   IF was loaded with --netns NAME\n"
		"  -h, --help     this text\n",
	.run = do_confirm,
};
