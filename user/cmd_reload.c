// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * cmd_reload.c - "portwarden reload": put a new policy (or the changed
 * files of the same one) in force on a loaded interface, atomically, with
 * its counters kept.
 */
#include <string.h>

#include "hostopts.h"

extern const struct pw_cmd pw_cmd_reload;

/* The recorded settings, with the host mode and datapath settings the
 * datapath has now. */
static int recorded_settings(const struct pw_hostopts *o, struct pw_state *st,
			     int *mode, struct pw_tunables *tun)
{
	struct pw_loaded l;
	struct pw_config cfg;

	if (pw_hostopts_open(&pw_cmd_reload, o, &l))
		return -1;
	*mode = l.st.mode;
	if (!pw_maps_get_config(&l.maps, &cfg))
		*mode = cfg.mode;
	if (pw_loaded_tunables(&l, tun)) {
		pw_cli_err("%s: %s", l.name, pw_maps_errmsg());
		pw_loaded_close(&l);
		return -1;
	}
	*st = l.st; /* take ownership of the strings */
	memset(&l.st, 0, sizeof(l.st));
	pw_loaded_close(&l);
	return 0;
}

static int do_reload(int argc, char **argv)
{
	struct pw_hostopts o;
	struct pw_diags d = { 0 };
	struct pw_state base = { 0 }, st = { 0 };
	struct pw_tunables base_tun, tun;
	struct pw_load_req req;
	int rc, mode;

	rc = pw_hostopts_parse(&pw_cmd_reload,
			       PW_HO_IFACE | PW_HO_NETNS | PW_HO_HOST |
				       PW_HO_FORCE | PW_HO_TUNE,
			       argc, argv, &o);
	if (rc)
		return rc < 0;
	rc = pw_hostopts_need_iface(&pw_cmd_reload, &o);
	if (!rc)
		rc = recorded_settings(&o, &base, &mode, &base_tun);
	if (!rc) {
		base.mode = mode;
		rc = pw_hostopts_host(&pw_cmd_reload, &o, &base, &base_tun, &st,
				      &tun, &d);
	}
	if (!rc) {
		req = (struct pw_load_req){
			.netns = o.netns,
			.iface = o.iface,
			.st = &st,
			.tun = &tun,
			.force = o.force,
		};
		rc = pw_reload(&req, &d);
	}
	pw_cli_diags(&d);
	if (!rc)
		rc = pw_status_report(o.netns, o.iface);
	pw_diags_free(&d);
	pw_state_free(&st);
	pw_state_free(&base);
	pw_hostopts_free(&o);
	return rc ? 1 : 0;
}

const struct pw_cmd pw_cmd_reload = {
	.name = "reload",
	.usage = "reload --iface IF [--policy FILE] [--inventory FILE] [--role ROLE[,ROLE]] [--tag TAG]...\n"
		 "       [--mode audit|enforce] [--profile FILE] [--force] [--netns NAME]\n"
		 "       [--egress audit|enforce|off] [--flow-timeout-tcp SECONDS] [--flow-timeout-fin SECONDS]\n"
		 "       [--flow-timeout-udp SECONDS] [--event-rate N] [--event-burst N]\n"
		 "       [--event-interval SECONDS] [--flow-table N] [--event-ring BYTES]",
	.summary = "Put a new or changed policy in force, keeping the counters.",
	.help =
		"Compiles the policy with the loaded role ids and counter slots, so that\n"
		"every counter carries on; only when that succeeds and the result fits the\n"
		"loaded maps, writes the generation not in force and flips to it: packets\n"
		"see the old policy or the new one, never a mixture.  On any error the\n"
		"running policy is untouched and the message says why (file:line:col for\n"
		"the policy).  Settings not given are the recorded ones (see status): a\n"
		"bare 'reload --iface IF' rereads the same files.  Then prints the status.\n"
		"\n"
		"Options: as for load (--policy, --inventory, --role, --tag, --mode,\n"
		"--profile, --force, --netns); tags given replace the recorded ones.\n"
		"A policy too big for the loaded maps needs unload and load (counters\n"
		"restart).\n"
		"\n" PW_HOSTOPTS_TUNE_HELP "\n"
		"Each setting not given keeps its running value; with --profile, a key the\n"
		"profile lacks takes its default.  --egress may switch the tc program on\n"
		"or off.  --flow-table and --event-ring size maps, which only a new load\n"
		"can do: a reload asking for other sizes is refused (unload and load\n"
		"again; counters and flows restart).\n",
	.run = do_reload,
};
