/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * cmd_check.c - "portwarden check": parse and compile a policy for one
 * host, print the diagnostics and the rules in force there.
 *
 * Nothing is loaded; this is what an operator runs before "load", and what
 * CI runs on every policy.  Exit 0 when the policy, inventory, roles and
 * tags are valid (warnings allowed), 1 otherwise.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "compile.h"
#include "loader.h"
#include "policy.h"
#include "profile.h"

struct check_args {
	const char *policy;
	const char *inventory;
	const char *profile;
	char **roles;
	int nroles;
	char **tags;
	int ntags;
	int mode; /* from a profile; PW_MODE_HOST when none */
};

struct check_run {
	struct pw_policy pol;
	struct pw_inventory inv;
	struct pw_compiled c;
	struct pw_diags d;
	bool have_inv;
	bool compiled;
};

extern const struct pw_cmd pw_cmd_check;

/* ------------------------------------------------------------------ */
/* Formatting pieces                                                   */
/* ------------------------------------------------------------------ */

static const char *peer_name(const struct pw_policy *pol,
			     const struct pw_peer *p)
{
	if (p->role == PW_PEER_ANY)
		return "any";
	if (p->role < 0 || p->role >= pol->nroles)
		return "?";
	return pol->roles[p->role].name;
}

/* The peers a packet comes from (ingress) or goes to (egress). */
static void effective_peers(const struct pw_effective_rule *e,
			    const struct pw_peer **p, int *n)
{
	const struct pw_rule *r = e->rule;
	bool sources = (e->dir == PW_DIR_INGRESS) != e->reversed;

	*p = sources ? r->src : r->dst;
	*n = sources ? r->nsrc : r->ndst;
}

/* "repman,proxy,db" into a malloc'd string. */
static char *join_peers(const struct pw_policy *pol, const struct pw_peer *p,
			int n)
{
	size_t len = 1;
	char *s;
	int i;

	for (i = 0; i < n; i++)
		len += strlen(peer_name(pol, &p[i])) + 1;
	s = calloc(1, len);
	for (i = 0; s && i < n; i++) {
		if (i)
			strcat(s, ",");
		strcat(s, peer_name(pol, &p[i]));
	}
	return s;
}

static void port_item_text(const struct pw_port_range *r, char *buf,
			   size_t len)
{
	if (r->lo == r->hi)
		snprintf(buf, len, "%u", r->lo);
	else
		snprintf(buf, len, "%u-%u", r->lo, r->hi);
}

/* "3306,4000-4003"; an ICMP rule without types is every type. */
static char *join_ports(const struct pw_rule *r)
{
	char item[16];
	size_t len = 16;
	char *s;
	int i;

	if (r->nports == 0)
		return strdup("0-255");
	len += (size_t)r->nports * sizeof(item);
	s = calloc(1, len);
	for (i = 0; s && i < r->nports; i++) {
		port_item_text(&r->ports[i], item, sizeof(item));
		if (i)
			strcat(s, ",");
		strcat(s, item);
	}
	return s;
}

static char *join_protos(const struct pw_rule *r)
{
	char *s = calloc(1, 64);
	int p;

	for (p = 0; s && p < PW_NPROTO; p++) {
		if (!(r->protos & (1U << p)))
			continue;
		if (*s)
			strcat(s, ",");
		strcat(s, pw_proto_name(p));
	}
	return s;
}

static void json_protos(struct pw_json *j, const struct pw_rule *r)
{
	int p;

	pw_json_start_array(j, "protocols");
	for (p = 0; p < PW_NPROTO; p++)
		if (r->protos & (1U << p))
			pw_json_string(j, NULL, pw_proto_name(p));
	pw_json_end_array(j);
}

static void json_ports(struct pw_json *j, const struct pw_rule *r)
{
	char item[16];
	int i;

	pw_json_start_array(j, "ports");
	if (r->nports == 0)
		pw_json_string(j, NULL, "0-255");
	for (i = 0; i < r->nports; i++) {
		port_item_text(&r->ports[i], item, sizeof(item));
		pw_json_string(j, NULL, item);
	}
	pw_json_end_array(j);
}

static void json_peers(struct pw_json *j, const char *key,
		       const struct pw_policy *pol, const struct pw_peer *p,
		       int n)
{
	int i;

	pw_json_start_array(j, key);
	for (i = 0; i < n; i++)
		pw_json_string(j, NULL, peer_name(pol, &p[i]));
	pw_json_end_array(j);
}

static void json_rule_tags(struct pw_json *j, const struct pw_policy *pol,
			   const struct pw_rule *r)
{
	int i;

	pw_json_start_array(j, "tags");
	for (i = 0; i < r->ntags; i++)
		if (r->tags[i] >= 0 && r->tags[i] < pol->ntags)
			pw_json_string(j, NULL, pol->tags[r->tags[i]].name);
	pw_json_end_array(j);
}

/* ------------------------------------------------------------------ */
/* Text output                                                         */
/* ------------------------------------------------------------------ */

struct col_widths {
	int proto, ports, peers;
};

static int max_int(int a, int b)
{
	return a > b ? a : b;
}

static struct col_widths measure(const struct check_run *cr)
{
	struct col_widths w = { 5, 5, 5 };
	const struct pw_peer *p;
	char *s;
	int i, n;

	for (i = 0; i < cr->c.neffective; i++) {
		const struct pw_effective_rule *e = &cr->c.effective[i];

		effective_peers(e, &p, &n);
		s = join_protos(e->rule);
		w.proto = max_int(w.proto, s ? strlen(s) : 0);
		free(s);
		s = join_ports(e->rule);
		w.ports = max_int(w.ports, s ? strlen(s) : 0);
		free(s);
		s = join_peers(&cr->pol, p, n);
		w.peers = max_int(w.peers, (s ? strlen(s) : 0) +
					   (e->reversed ? 6 : 0));
		free(s);
	}
	return w;
}

static void text_rule_row(const struct check_run *cr,
			  const struct pw_effective_rule *e,
			  const struct col_widths *w)
{
	const struct pw_rule *r = e->rule;
	const struct pw_peer *p;
	char *protos, *ports, *peers, peer_col[512];
	int n;

	effective_peers(e, &p, &n);
	protos = join_protos(r);
	ports = join_ports(r);
	peers = join_peers(&cr->pol, p, n);
	snprintf(peer_col, sizeof(peer_col), "%s%s", peers ? peers : "",
		 e->reversed ? " (rev)" : "");
	printf("%-8s %-*s %-*s %-*s %5u %-7s %s\n",
	       e->dir == PW_DIR_INGRESS ? "ingress" : "egress", w->proto,
	       protos ? protos : "", w->ports, ports ? ports : "", w->peers,
	       peer_col, r->id, pw_mode_name(r->mode), r->note ? r->note : "");
	free(protos);
	free(ports);
	free(peers);
}

static void text_loopback_row(const struct check_run *cr,
			      const struct pw_rule *r,
			      const struct col_widths *w)
{
	char *protos = join_protos(r), *ports = join_ports(r);
	char *on = join_peers(&cr->pol, r->dst, r->ndst);

	printf("%-8s %-*s %-*s %-*s %5u %-7s %s\n", "loopback", w->proto,
	       protos ? protos : "", w->ports, ports ? ports : "", w->peers,
	       on ? on : "", r->id, pw_mode_name(r->mode),
	       r->note ? r->note : "");
	free(protos);
	free(ports);
	free(on);
}

static void text_rules(const struct check_run *cr)
{
	struct col_widths w = measure(cr);
	bool any_loop = false;
	int i;

	printf("%-8s %-*s %-*s %-*s %5s %-7s %s\n", "DIR", w.proto, "PROTO",
	       w.ports, "PORTS", w.peers, "PEERS", "RULE", "MODE", "NOTE");
	for (i = 0; i < cr->c.neffective; i++)
		if (cr->c.effective[i].rule->kind == PW_RULE_ALLOW)
			text_rule_row(cr, &cr->c.effective[i], &w);
	for (i = 0; i < cr->c.neffective; i++) {
		if (cr->c.effective[i].rule->kind != PW_RULE_LOOPBACK)
			continue;
		if (!any_loop)
			printf("\nLoopback-only ports (from the wire: always a violation):\n");
		any_loop = true;
		text_loopback_row(cr, cr->c.effective[i].rule, &w);
	}
}

/* ------------------------------------------------------------------ */
/* JSON output                                                         */
/* ------------------------------------------------------------------ */

static void json_rules(const struct check_run *cr, struct pw_json *j)
{
	const struct pw_peer *p;
	int i, n;

	pw_json_start_array(j, "rules");
	for (i = 0; i < cr->c.neffective; i++) {
		const struct pw_effective_rule *e = &cr->c.effective[i];
		const struct pw_rule *r = e->rule;

		if (r->kind != PW_RULE_ALLOW)
			continue;
		effective_peers(e, &p, &n);
		pw_json_start_object(j, NULL);
		pw_json_string(j, "direction", e->dir == PW_DIR_INGRESS ?
						       "ingress" : "egress");
		json_protos(j, r);
		json_ports(j, r);
		json_peers(j, "peers", &cr->pol, p, n);
		pw_json_uint(j, "rule_id", r->id);
		pw_json_string(j, "mode", pw_mode_name(r->mode));
		pw_json_string(j, "note", r->note);
		pw_json_bool(j, "bidirectional", r->bidirectional);
		pw_json_bool(j, "reversed", e->reversed);
		json_rule_tags(j, &cr->pol, r);
		pw_json_string(j, "file", r->loc.file);
		pw_json_int(j, "line", r->loc.line);
		pw_json_end_object(j);
	}
	pw_json_end_array(j);

	pw_json_start_array(j, "loopback");
	for (i = 0; i < cr->c.neffective; i++) {
		const struct pw_rule *r = cr->c.effective[i].rule;

		if (r->kind != PW_RULE_LOOPBACK)
			continue;
		pw_json_start_object(j, NULL);
		json_protos(j, r);
		json_ports(j, r);
		json_peers(j, "on", &cr->pol, r->dst, r->ndst);
		pw_json_uint(j, "rule_id", r->id);
		pw_json_string(j, "mode", pw_mode_name(r->mode));
		pw_json_string(j, "note", r->note);
		json_rule_tags(j, &cr->pol, r);
		pw_json_string(j, "file", r->loc.file);
		pw_json_int(j, "line", r->loc.line);
		pw_json_end_object(j);
	}
	pw_json_end_array(j);
}

static void json_diags(struct pw_json *j, const char *key,
		       const struct pw_diags *d, enum pw_diag_level level)
{
	char *text;
	int i;

	pw_json_start_array(j, key);
	for (i = 0; i < d->n; i++) {
		const struct pw_diag *dg = &d->v[i];

		if (dg->level != level)
			continue;
		text = pw_diag_format(dg);
		pw_json_start_object(j, NULL);
		pw_json_string(j, "file", dg->file);
		pw_json_int(j, "line", dg->line);
		pw_json_int(j, "col", dg->col);
		pw_json_string(j, "message", dg->msg);
		pw_json_string(j, "text", text);
		pw_json_end_object(j);
		free(text);
	}
	pw_json_end_array(j);
}

/* ------------------------------------------------------------------ */
/* Summary (both forms, one call site per field)                       */
/* ------------------------------------------------------------------ */

/* Inventory prefixes per policy role; a literal peer is its own one. */
static int role_prefixes(const struct check_run *cr, int idx)
{
	int i, n = 0;

	if (idx < 0)
		return 0;
	if (cr->pol.roles[idx].implicit)
		return 1;
	for (i = 0; cr->have_inv && i < cr->inv.nentries; i++)
		if (cr->inv.entries[i].role == idx)
			n++;
	return n;
}

static bool is_host_role(const struct check_args *a, const char *name)
{
	int i;

	for (i = 0; i < a->nroles; i++)
		if (!strcmp(a->roles[i], name))
			return true;
	return false;
}

static void print_summary(const struct check_run *cr,
			  const struct check_args *a)
{
	const struct pw_compiled *c = &cr->c;
	char digest[24];
	uint32_t id;
	int idx;

	snprintf(digest, sizeof(digest), "%016llx",
		 (unsigned long long)c->info.policy_digest);
	pw_print_text("\nSummary:\n");
	pw_out_open_object("summary");
	pw_print_string(PW_OUT_ANY, "policy", "  policy     %s\n",
			cr->pol.name);
	pw_print_text("  roles      %u ids (0 = unknown)\n", c->nroles);
	pw_out_open_array("roles");
	for (id = 0; id < c->nroles; id++) {
		const char *name = c->role_names[id].name;

		idx = c->role_index[id];
		pw_out_open_object(NULL);
		pw_print_uint(PW_OUT_ANY, "id", "    %3llu ", id);
		pw_print_string(PW_OUT_ANY, "name", "%-24s", name);
		pw_print_int(PW_OUT_ANY, "prefixes", " %4lld prefixes", role_prefixes(cr, idx));
		pw_print_bool(PW_OUT_JSON, "implicit", NULL,
			      idx >= 0 && cr->pol.roles[idx].implicit);
		pw_print_bool(PW_OUT_JSON, "host", NULL,
			      idx >= 0 && is_host_role(a, name));
		if (idx >= 0 && is_host_role(a, name))
			pw_print_text("  (this host)");
		else if (idx >= 0 && cr->pol.roles[idx].implicit)
			pw_print_text("  (literal peer)");
		pw_print_text("\n");
		pw_out_close_object();
	}
	pw_out_close_array();
	pw_out_open_object("segments");
	pw_print_uint(PW_OUT_ANY, "ingress", "  segments   %llu ingress",
		      c->nsegs[PW_DIR_INGRESS] - 1);
	pw_print_uint(PW_OUT_ANY, "egress", ", %llu egress\n",
		      c->nsegs[PW_DIR_EGRESS] - 1);
	pw_out_close_object();
	pw_print_uint(PW_OUT_ANY, "slots", "  slots      %llu\n", c->nslots);
	pw_print_uint(PW_OUT_ANY, "v4_groups", "  addresses  %llu IPv4 groups",
		      c->v4_ngroups);
	pw_print_uint(PW_OUT_ANY, "v6_prefixes", ", %llu IPv6 prefixes\n",
		      c->nv6);
	pw_print_string(PW_OUT_ANY, "digest", "  digest     %s\n", digest);
	pw_out_close_object();
}

static void print_header(const struct check_run *cr,
			 const struct check_args *a)
{
	struct pw_json *j = pw_out_json();
	int i;

	if (j) {
		pw_json_start_object(j, "policy");
		pw_json_string(j, "name", cr->pol.name);
		pw_json_string(j, "description", cr->pol.desc);
		pw_json_string(j, "path", cr->pol.path);
		pw_json_string(j, "inventory",
			       cr->have_inv ? cr->inv.path : NULL);
		pw_json_end_object(j);
		pw_json_start_object(j, "host");
		pw_json_start_array(j, "roles");
		for (i = 0; i < a->nroles; i++)
			pw_json_string(j, NULL, a->roles[i]);
		pw_json_end_array(j);
		pw_json_start_array(j, "tags");
		for (i = 0; i < a->ntags; i++)
			pw_json_string(j, NULL, a->tags[i]);
		pw_json_end_array(j);
		if (a->mode != PW_MODE_HOST)
			pw_json_string(j, "mode", pw_mode_name(a->mode));
		pw_json_end_object(j);
		return;
	}
	printf("Policy %s (%s)", cr->pol.name, cr->pol.path);
	if (cr->have_inv)
		printf(", inventory %s", cr->inv.path);
	printf("\nHost roles:");
	for (i = 0; i < a->nroles; i++)
		printf(" %s", a->roles[i]);
	printf("; tags:");
	for (i = 0; i < a->ntags; i++)
		printf(" %s", a->tags[i]);
	printf("%s", a->ntags ? "" : " none");
	if (a->mode != PW_MODE_HOST)
		printf("; mode: %s (from the profile)", pw_mode_name(a->mode));
	printf("\n\n");
}

static void print_report(const struct check_run *cr,
			 const struct check_args *a)
{
	struct pw_json *j = pw_out_json();

	if (j)
		pw_json_start_object(j, NULL);
	print_header(cr, a);
	if (j) {
		json_rules(cr, j);
		json_diags(j, "warnings", &cr->d, PW_DIAG_WARNING);
	} else {
		text_rules(cr);
	}
	print_summary(cr, a);
	if (j)
		pw_json_end_object(j);
}

/* On failure, the JSON document carries the error and every diagnostic. */
static void print_failure(const struct check_run *cr)
{
	struct pw_json *j = pw_out_json();
	char *first = NULL;
	int i;

	for (i = 0; i < cr->d.n && !first; i++)
		if (cr->d.v[i].level == PW_DIAG_ERROR)
			first = pw_diag_format(&cr->d.v[i]);
	if (!j) {
		fprintf(stderr, "portwarden: check: %d error%s\n",
			cr->d.nerrors, cr->d.nerrors == 1 ? "" : "s");
		free(first);
		return;
	}
	pw_json_start_object(j, NULL);
	pw_json_string(j, "error", first ? first : "check failed");
	json_diags(j, "errors", &cr->d, PW_DIAG_ERROR);
	json_diags(j, "warnings", &cr->d, PW_DIAG_WARNING);
	pw_json_end_object(j);
	free(first);
}

/* ------------------------------------------------------------------ */
/* Arguments                                                           */
/* ------------------------------------------------------------------ */

static int parse_args(int argc, char **argv, struct check_args *a)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'P' },
		{ "inventory", required_argument, NULL, 'i' },
		{ "role", required_argument, NULL, 'r' },
		{ "tag", required_argument, NULL, 't' },
		{ "profile", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":P:i:r:t:f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'P':
			a->policy = optarg;
			break;
		case 'i':
			a->inventory = optarg;
			break;
		case 'r':
			if (pw_cli_split_list(optarg, &a->roles, &a->nroles))
				goto nomem;
			break;
		case 't':
			if (pw_cli_split_list(optarg, &a->tags, &a->ntags))
				goto nomem;
			break;
		case 'f':
			a->profile = optarg;
			break;
		case 'h':
			pw_cli_cmd_help(&pw_cmd_check, stdout);
			return -2;
		default:
			pw_cli_bad_option(&pw_cmd_check, c, argv);
			return -1;
		}
	}
	if (optind < argc) {
		pw_cli_err("check: unexpected argument '%s'", argv[optind]);
		return -1;
	}
	return 0;
nomem:
	pw_cli_err("check: out of memory");
	return -1;
}

/*
 * Settings from a profile fill what the command line left out; tags add
 * up.  The profile's paths are already relative to the profile.
 */
static int apply_profile(struct check_args *a, struct pw_profile *prof,
			 struct pw_diags *d)
{
	int i;

	if (pw_profile_parse_file(a->profile, prof, d))
		return -1;
	if (!a->policy)
		a->policy = prof->policy;
	if (!a->inventory)
		a->inventory = prof->inventory;
	if (!a->nroles)
		for (i = 0; i < prof->nroles; i++)
			if (pw_cli_split_list(prof->roles[i], &a->roles,
					      &a->nroles))
				return -1;
	for (i = 0; i < prof->ntags; i++)
		if (pw_cli_split_list(prof->tags[i], &a->tags, &a->ntags))
			return -1;
	a->mode = prof->mode;
	return 0;
}

static int check_required(const struct check_args *a)
{
	if (!a->policy) {
		pw_cli_err("check: --policy FILE or --profile FILE is needed");
		return -1;
	}
	if (!a->nroles) {
		pw_cli_err("check: --role ROLE is needed (the roles this host holds)");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The command                                                         */
/* ------------------------------------------------------------------ */

static int compile_host(struct check_run *cr, const struct check_args *a)
{
	struct pw_compile_opts o = {
		.host_roles = (const char *const *)a->roles,
		.nhost_roles = a->nroles,
		.tags = (const char *const *)a->tags,
		.ntags = a->ntags,
	};

	if (pw_policy_parse_file(a->policy, &cr->pol, &cr->d))
		return -1;
	if (a->inventory) {
		if (pw_inventory_parse_file(a->inventory, &cr->pol, &cr->inv,
					    &cr->d))
			return -1;
		cr->have_inv = true;
	}
	if (pw_compile(&cr->pol, cr->have_inv ? &cr->inv : NULL, &o, &cr->c,
		       &cr->d))
		return -1;
	cr->compiled = true;
	return 0;
}

static int do_check(int argc, char **argv)
{
	struct check_args a = { 0 };
	struct check_run cr = { 0 };
	struct pw_profile prof = { 0 };
	int err;

	err = parse_args(argc, argv, &a);
	if (err == -2) {
		err = 0;
		goto out;
	}
	if (!err && a.profile)
		err = apply_profile(&a, &prof, &cr.d);
	if (!err && !cr.d.nerrors)
		err = check_required(&a);
	if (err && !cr.d.nerrors)
		goto out;
	if (!err)
		err = compile_host(&cr, &a);
	pw_diags_print(&cr.d, stderr);
	if (err || cr.d.nerrors) {
		print_failure(&cr);
		err = -1;
		goto out;
	}
	print_report(&cr, &a);
out:
	if (cr.compiled)
		pw_compiled_free(&cr.c);
	if (cr.have_inv)
		pw_inventory_free(&cr.inv);
	pw_policy_free(&cr.pol);
	pw_profile_free(&prof);
	pw_diags_free(&cr.d);
	pw_cli_free_list(a.roles, a.nroles);
	pw_cli_free_list(a.tags, a.ntags);
	return err ? 1 : 0;
}

const struct pw_cmd pw_cmd_check = {
	.name = "check",
	.usage = "check --policy FILE [--inventory FILE] --role ROLE[,ROLE]... [--tag TAG[,TAG]]...\n"
		 "check --profile FILE [--tag TAG[,TAG]]...",
	.summary = "Validate a policy and an inventory and show the rules in force at a host.",
	.help =
		"Parses the policy (and its includes) and the inventory, compiles them for\n"
		"the host's roles and tags, prints every diagnostic as file:line:col on\n"
		"stderr, then the host's effective rules: direction, protocols, ports, peer\n"
		"roles (sources on ingress, destinations on egress), rule id, mode, note;\n"
		"the loopback-only ports; and a summary of roles, segments, counter slots\n"
		"and the policy digest.  Nothing is loaded into the kernel.\n"
		"\n"
		"Options:\n"
		"  --policy FILE      the policy file\n"
		"  --inventory FILE   the site inventory (addresses of each role)\n"
		"  --role ROLE[,ROLE] the roles this host holds (repeatable)\n"
		"  --tag TAG[,TAG]    enable the rules guarded by TAG (repeatable)\n"
		"  --profile FILE     take policy, inventory, roles and tags from a host\n"
		"                     profile; options given too take precedence, tags add up\n"
		"  -h, --help         this text\n"
		"\n"
		"Exit status: 0 when everything is valid (warnings allowed), 1 otherwise.\n",
	.run = do_check,
};
