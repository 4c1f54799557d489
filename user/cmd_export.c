// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * cmd_export.c - "portwarden export": the host's compiled policy as an
 * nftables ruleset or iptables-restore input, for hosts where XDP is not
 * an option and as the twin of the datapath in benchmarks.
 *
 * The host settings are those of load and check (hostopts.c merges the
 * command line and the profile); the ruleset comes from user/export.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "hostopts.h"

extern const struct pw_cmd pw_cmd_export;

struct export_args {
	struct pw_hostopts ho;
	int format; /* enum pw_export_format, -1 until given */
	bool log;
};

struct export_run {
	struct pw_state st;
	struct pw_policy pol;
	struct pw_inventory inv;
	struct pw_compiled c;
	struct pw_tunables tun; /* egress decides the output chain's verdict */
	struct pw_diags d;
	bool compiled;
};

/* ------------------------------------------------------------------ */
/* Arguments                                                           */
/* ------------------------------------------------------------------ */

/* The format flags (val: the format) and --log: export's own. */
#define EXPORT_LOG (-1)

static int take_flag(int val, const char *arg, void *ctx)
{
	struct export_args *a = ctx;

	if (val == EXPORT_LOG) {
		a->log = true;
		return 0;
	}
	if (a->format >= 0 && a->format != val) {
		pw_cli_err("export: give one of --nft, --iptables and "
			   "--ip6tables");
		return -1;
	}
	a->format = val;
	return 0;
}

/*
 * Export's own flags and the host settings, spelled and checked as for
 * load.  Returns 0, 1 after --help, -1 after an error.
 */
static int parse_args(int argc, char **argv, struct export_args *a)
{
	static const struct option flags[] = {
		{ "nft", no_argument, NULL, PW_EXPORT_NFT },
		{ "iptables", no_argument, NULL, PW_EXPORT_IPTABLES },
		{ "ip6tables", no_argument, NULL, PW_EXPORT_IP6TABLES },
		{ "log", no_argument, NULL, EXPORT_LOG },
		{ 0 },
	};
	const struct pw_ho_own own = { flags, take_flag, a };
	int rc;

	rc = pw_hostopts_parse_own(&pw_cmd_export,
				   PW_HO_IFACE | PW_HO_HOST | PW_HO_TUNE, &own,
				   argc, argv, &a->ho);
	if (!rc && a->format < 0) {
		pw_cli_err("export: --nft, --iptables or --ip6tables is needed "
			   "(the ruleset to write)");
		rc = -1;
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* Compile                                                             */
/* ------------------------------------------------------------------ */

static int compile_host(const struct export_args *a, struct export_run *r)
{
	if (pw_hostopts_host(&pw_cmd_export, &a->ho, NULL, NULL, &r->st,
			     &r->tun, &r->d))
		return -1;
	if (pw_state_compile(&r->st, NULL, &r->pol, &r->inv, &r->c, &r->d))
		return -1;
	r->compiled = true;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

static void export_opts(const struct export_args *a,
			const struct export_run *r, struct pw_export_opts *eo)
{
	*eo = (struct pw_export_opts){
		.format = a->format,
		.mode = r->st.mode,
		/* egress off has no twin here: the ruleset audits it */
		.egress_enforce = r->tun.v[PW_TUN_EGRESS] == PW_EGRESS_ENFORCE,
		.iface = a->ho.iface,
		.log = a->log,
		.host_roles = (const char *const *)r->st.roles,
		.nhost_roles = r->st.nroles,
		.tags = (const char *const *)r->st.tags,
		.ntags = r->st.ntags,
	};
}

static void json_list(struct pw_json *j, const char *key, char **v, int n)
{
	int i;

	pw_json_start_array(j, key);
	for (i = 0; i < n; i++)
		pw_json_string(j, NULL, v[i]);
	pw_json_end_array(j);
}

static void json_report(const struct export_run *r,
			const struct pw_export_opts *eo, const char *text,
			const struct pw_export_counts *n)
{
	struct pw_json *j = pw_out_json();

	pw_json_start_object(j, NULL);
	pw_json_string(j, "format", pw_export_format_name(eo->format));
	pw_json_string(j, "policy", r->pol.name);
	pw_json_stringf(j, "digest", "%016llx",
			(unsigned long long)r->c.info.policy_digest);
	json_list(j, "roles", r->st.roles, r->st.nroles);
	json_list(j, "tags", r->st.tags, r->st.ntags);
	pw_json_string(j, "mode", eo->mode == PW_MODE_ENFORCE ? "enforce"
							     : "audit");
	pw_json_string(j, "egress", eo->egress_enforce ? "rules" : "audit");
	pw_json_string(j, "iface", eo->iface);
	pw_json_start_object(j, "counts");
	pw_json_uint(j, "rules", n->rules);
	pw_json_uint(j, "sets", n->sets);
	pw_json_uint(j, "elements", n->elements);
	pw_json_uint(j, "chains", n->chains);
	pw_json_end_object(j);
	pw_json_string(j, "text", text);
	pw_json_end_object(j);
}

/* Text: the ruleset itself on stdout.  JSON: the same text in a document. */
static int print_ruleset(const struct export_args *a,
			 const struct export_run *r)
{
	struct pw_export_opts eo;
	struct pw_export_counts n;
	char *text = NULL;
	size_t len = 0;
	FILE *mem;
	int err;

	export_opts(a, r, &eo);
	if (!pw_out_is_json()) {
		err = pw_export_render(&r->c, &eo, stdout, &n);
		goto out;
	}
	mem = open_memstream(&text, &len);
	if (!mem) {
		err = -errno;
		goto out;
	}
	err = pw_export_render(&r->c, &eo, mem, &n);
	if (fclose(mem) && !err)
		err = -EIO;
	if (!err)
		json_report(r, &eo, text, &n);
out:
	if (err == -EINVAL && a->ho.iface)
		pw_cli_err("export: --iface '%s' is not an interface name "
			   "(1-15 letters, digits, '.', '_', '-', '@', ':')",
			   a->ho.iface);
	else if (err)
		pw_cli_err("export: cannot write the ruleset: %s",
			   strerror(-err));
	free(text);
	return err;
}

static void run_free(struct export_run *r)
{
	if (r->compiled)
		pw_compiled_free(&r->c);
	pw_inventory_free(&r->inv);
	pw_policy_free(&r->pol);
	pw_state_free(&r->st);
	pw_diags_free(&r->d);
}

static int do_export(int argc, char **argv)
{
	struct export_args a = { .format = -1 };
	struct export_run r = { 0 };
	int rc;

	rc = parse_args(argc, argv, &a);
	if (rc) {
		pw_hostopts_free(&a.ho);
		return rc < 0;
	}
	rc = compile_host(&a, &r);
	pw_cli_diags(&r.d);
	if (!rc && r.d.nerrors)
		rc = -1;
	if (!rc)
		rc = print_ruleset(&a, &r);
	run_free(&r);
	pw_hostopts_free(&a.ho);
	return rc ? 1 : 0;
}

const struct pw_cmd pw_cmd_export = {
	.name = "export",
	.usage = "export --nft|--iptables|--ip6tables --policy FILE [--inventory FILE] --role ROLE[,ROLE]\n"
		 "       [--tag TAG]... [--mode audit|enforce] [--iface IF] [--log]\n"
		 "export --nft|--iptables|--ip6tables --profile FILE [options as above]",
	.summary = "Write the host's policy as an nftables or iptables ruleset.",
	.help =
		"Compiles the policy for this host exactly as load does and writes a\n"
		"netfilter ruleset that judges packets as the datapath would: the same\n"
		"role for every address, the same allowed ports, loopback-only ports,\n"
		"violations in the mode of the rule that names the port, the rest in the\n"
		"host's mode.  Replies of judged flows pass through conntrack.  Egress is\n"
		"counted and accepted.  Nothing is loaded: pipe the output into the tool.\n"
		"\n"
		"Formats (one):\n"
		"  --nft              table inet portwarden, for nft -f; loading it again\n"
		"                     replaces the table and nothing else\n"
		"  --iptables         the IPv4 filter table, for iptables-restore\n"
		"  --ip6tables        the IPv6 filter table, for ip6tables-restore\n"
		"\n"
		"Options:\n"
		"  --policy FILE      the policy file\n"
		"  --inventory FILE   the site inventory (addresses of each role)\n"
		"  --role ROLE[,ROLE] the roles this host holds (repeatable)\n"
		"  --tag TAG[,TAG]    enable the rules guarded by TAG (repeatable)\n"
		"  --mode MODE        audit (the default) or enforce\n"
		"  --profile FILE     take policy, inventory, roles, tags and mode from a\n"
		"                     host profile; options given too take precedence\n"
		"  --iface IF         judge only packets on IF, as the XDP program on IF\n"
		"                     does; other interfaces pass\n"
		"  --log              log violations to the kernel log (10 a second)\n"
		"  -h, --help         this text\n"
		"\n"
		"With -j: a JSON document with the ruleset as \"text\" and its counts\n"
		"(rules, sets, elements, chains).  docs/export.md tells what maps to what.\n",
	.run = do_export,
};
