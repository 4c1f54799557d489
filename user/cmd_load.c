// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * cmd_load.c - "portwarden load": compile a policy for this host and put
 * the datapath on an interface, pinned so that it outlives the command.
 */
#include "hostopts.h"

extern const struct pw_cmd pw_cmd_load;

static int do_load(int argc, char **argv)
{
	struct pw_hostopts o;
	struct pw_diags d = { 0 };
	struct pw_state st = { 0 };
	struct pw_tunables tun;
	struct pw_load_req req;
	int rc;

	rc = pw_hostopts_parse(&pw_cmd_load,
			       PW_HO_IFACE | PW_HO_NETNS | PW_HO_HOST |
				       PW_HO_XDP | PW_HO_FORCE | PW_HO_TUNE,
			       argc, argv, &o);
	if (rc)
		return rc < 0;
	rc = pw_hostopts_need_iface(&pw_cmd_load, &o);
	if (!rc)
		rc = pw_hostopts_host(&pw_cmd_load, &o, NULL, NULL, &st, &tun,
				      &d);
	if (!rc) {
		req = (struct pw_load_req){
			.netns = o.netns,
			.iface = o.iface,
			.st = &st,
			.xdp_mode = o.xdp_mode,
			.tun = &tun,
			.force = o.force,
		};
		rc = pw_load(&req, &d);
	}
	pw_cli_diags(&d);
	if (!rc)
		rc = pw_status_report(o.netns, o.iface);
	pw_diags_free(&d);
	pw_state_free(&st);
	pw_hostopts_free(&o);
	return rc ? 1 : 0;
}

const struct pw_cmd pw_cmd_load = {
	.name = "load",
	.usage = "load --iface IF --policy FILE [--inventory FILE] --role ROLE[,ROLE] [--tag TAG]...\n"
		 "     [--mode audit|enforce] [--xdp-mode native|generic|auto] [--force] [--netns NAME]\n"
		 "     [--egress audit|enforce|off] [--flow-table N] [--flow-timeout-tcp SECONDS]\n"
		 "     [--flow-timeout-fin SECONDS] [--flow-timeout-udp SECONDS] [--event-rate N]\n"
		 "     [--event-burst N] [--event-interval SECONDS] [--event-ring BYTES]\n"
		 "load --iface IF --profile FILE [options as above]",
	.summary = "Compile a policy and attach the datapath to an interface.",
	.help =
		"Compiles the policy for this host's roles and tags (errors: nothing is\n"
		"loaded), loads the programs with maps sized for the policy, writes the\n"
		"tables, attaches the XDP program to IF's ingress and the tc program to\n"
		"IF's clsact egress hook (adding the clsact qdisc when there is none, and\n"
		"keeping an existing one with its filters), and pins programs, maps and\n"
		"link under /sys/fs/bpf/portwarden/IF/ (mounting bpffs if needed), so\n"
		"that the datapath and its counters stay after the command exits.  The\n"
		"settings go to /run/portwarden/IF.state for status, stats, reload and\n"
		"unload.  Then prints the status of IF.\n"
		"\n"
		"Options:\n"
		"  --iface IF         the interface to watch (ingress)\n"
		"  --policy FILE      the policy file\n"
		"  --inventory FILE   the site inventory (addresses of each role)\n"
		"  --role ROLE[,ROLE] the roles this host holds (repeatable)\n"
		"  --tag TAG[,TAG]    enable the rules guarded by TAG (repeatable)\n"
		"  --mode MODE        audit (count, pass everything; the default) or\n"
		"                     enforce (drop violations)\n"
		"  --profile FILE     take policy, inventory, roles, tags and mode from a\n"
		"                     host profile; options given too take precedence\n"
		"  --xdp-mode MODE    native (driver), generic (skb) or auto (native when\n"
		"                     the driver has it, else generic; the default)\n"
		"  --force            replace another XDP program on IF; skip the SSH\n"
		"                     lockout guard\n"
		"  --netns NAME       IF lives in network namespace NAME (/run/netns/NAME)\n"
		"  -h, --help         this text\n"
		"\n" PW_HOSTOPTS_TUNE_HELP "\n"
		"Refuses an interface where portwarden is loaded already (use reload),\n"
		"where another XDP program is attached, or where a tc egress filter sits at\n"
		"portwarden's handle and priority (unless --force).  In enforce mode,\n"
		"refuses a policy that would drop the SSH session the command runs in\n"
		"(from $SSH_CONNECTION) unless --force, and warns when no role may reach\n"
		"22/tcp.\n",
	.run = do_load,
};
