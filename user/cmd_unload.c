// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * cmd_unload.c - "portwarden unload": detach the datapath and remove every
 * pin and the state file of an interface.
 */
#include "hostopts.h"

extern const struct pw_cmd pw_cmd_unload;

static int do_unload(int argc, char **argv)
{
	struct pw_hostopts o;
	struct pw_diags d = { 0 };
	int rc;

	rc = pw_hostopts_parse(&pw_cmd_unload, PW_HO_IFACE | PW_HO_NETNS, argc,
			       argv, &o);
	if (rc)
		return rc < 0;
	rc = pw_hostopts_need_iface(&pw_cmd_unload, &o);
	if (!rc)
		rc = pw_unload(o.netns, o.iface, &d);
	pw_cli_diags(&d);
	if (!rc) {
		pw_out_open_object(NULL);
		pw_print_string(PW_OUT_ANY, "iface", "%s: unloaded\n", o.iface);
		pw_print_string(PW_OUT_JSON, "netns", NULL, o.netns);
		pw_print_bool(PW_OUT_JSON, "unloaded", NULL, true);
		pw_out_close_object();
	}
	pw_diags_free(&d);
	pw_hostopts_free(&o);
	return rc ? 1 : 0;
}

const struct pw_cmd pw_cmd_unload = {
	.name = "unload",
	.usage = "unload --iface IF [--netns NAME]",
	.summary = "Detach the datapath from an interface and remove its pins.",
	.help =
		"Detaches the XDP link, then removes the program, maps and link pins under\n"
		"/sys/fs/bpf/portwarden/IF/ and the state file: nothing of portwarden's\n"
		"stays in the kernel for IF, and its counters are gone.  Also cleans up\n"
		"after an interrupted load.\n"
		"\n"
		"Options:\n"
		"  --iface IF     the interface\n"
		"  --netns NAME   IF was loaded with --netns NAME\n"
		"  -h, --help     this text\n",
	.run = do_unload,
};
