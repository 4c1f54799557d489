// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * hostopts.c - the options of the commands that act on a loaded
 * interface, parsed and checked in one place; host settings merged from
 * the command line, a profile and the recorded state.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hostopts.h"
#include "maps.h"
#include "profile.h"

struct ho_option {
	struct option opt;
	unsigned needs; /* enum pw_ho_flags */
};

/* Short codes are private: the commands take long options only. */
static const struct ho_option ho_options[] = {
	{ { "iface", required_argument, NULL, 'I' }, PW_HO_IFACE },
	{ { "netns", required_argument, NULL, 'N' }, PW_HO_NETNS },
	{ { "policy", required_argument, NULL, 'P' }, PW_HO_HOST },
	{ { "inventory", required_argument, NULL, 'i' }, PW_HO_HOST },
	{ { "role", required_argument, NULL, 'r' }, PW_HO_HOST },
	{ { "tag", required_argument, NULL, 't' }, PW_HO_HOST },
	{ { "mode", required_argument, NULL, 'm' }, PW_HO_HOST },
	{ { "profile", required_argument, NULL, 'f' }, PW_HO_HOST },
	{ { "xdp-mode", required_argument, NULL, 'x' }, PW_HO_XDP },
	{ { "force", no_argument, NULL, 'F' }, PW_HO_FORCE },
	{ { "confirm", required_argument, NULL, 'c' }, PW_HO_CONFIRM },
	{ { "help", no_argument, NULL, 'h' }, 0 },
};

#define HO_NOPTIONS (sizeof(ho_options) / sizeof(ho_options[0]))

/* The datapath settings come after: option value HO_TUN_BASE + enum pw_tun. */
#define HO_TUN_BASE 0x100

static int parse_mode_word(const char *s)
{
	if (!strcmp(s, "audit"))
		return PW_MODE_AUDIT;
	if (!strcmp(s, "enforce"))
		return PW_MODE_ENFORCE;
	return -1;
}

/* 1..86400 seconds: a deadline longer than a day is a mistake. */
static int parse_seconds(const char *s, unsigned *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 86400)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int take_tunable(const struct pw_cmd *cmd, enum pw_tun t,
			struct pw_hostopts *o)
{
	char why[160];

	if (pw_tun_parse(t, optarg, &o->tun.v[t], why, sizeof(why))) {
		pw_cli_err("%s: --%s: bad value '%s': %s", cmd->name,
			   pw_tun_desc(t)->key, optarg, why);
		return -EINVAL;
	}
	o->tun.set |= 1U << t;
	return 0;
}

static int take_option(const struct pw_cmd *cmd, int c, struct pw_hostopts *o)
{
	if (c >= HO_TUN_BASE && c < HO_TUN_BASE + PW_NTUN)
		return take_tunable(cmd, (enum pw_tun)(c - HO_TUN_BASE), o);
	switch (c) {
	case 'I':
		o->iface = optarg;
		return 0;
	case 'N':
		o->netns = optarg;
		return 0;
	case 'P':
		o->policy = optarg;
		return 0;
	case 'i':
		o->inventory = optarg;
		return 0;
	case 'f':
		o->profile = optarg;
		return 0;
	case 'r':
		return pw_cli_split_list(optarg, &o->roles, &o->nroles) ? -ENOMEM
									: 0;
	case 't':
		return pw_cli_split_list(optarg, &o->tags, &o->ntags) ? -ENOMEM
								      : 0;
	case 'F':
		o->force = true;
		return 0;
	case 'm':
		o->mode = parse_mode_word(optarg);
		if (o->mode > 0)
			return 0;
		pw_cli_err("%s: unknown mode '%s': expected audit or enforce",
			   cmd->name, optarg);
		return -EINVAL;
	case 'x':
		if (!pw_xdp_mode_parse(optarg, &o->xdp_mode))
			return 0;
		pw_cli_err("%s: unknown XDP mode '%s': expected native, "
			   "generic or auto", cmd->name, optarg);
		return -EINVAL;
	case 'c':
		if (!parse_seconds(optarg, &o->confirm))
			return 0;
		pw_cli_err("%s: --confirm takes a number of seconds from 1 to "
			   "86400, not '%s'", cmd->name, optarg);
		return -EINVAL;
	}
	return -EINVAL;
}

/* The command's own options come last: option value HO_OWN_BASE + index. */
#define HO_OWN_BASE 0x200

static size_t count_own(const struct pw_ho_own *own)
{
	size_t n = 0;

	while (own && own->opts[n].name)
		n++;
	return n;
}

/* Every option @cmd takes, into @longopts (ended by a zero entry). */
static void build_longopts(unsigned accept, const struct pw_ho_own *own,
			   size_t nown, struct option *longopts)
{
	size_t i, n = 0;

	for (i = 0; i < HO_NOPTIONS; i++)
		if (!ho_options[i].needs || (ho_options[i].needs & accept))
			longopts[n++] = ho_options[i].opt;
	for (i = 0; (accept & PW_HO_TUNE) && i < PW_NTUN; i++)
		longopts[n++] = (struct option){ pw_tun_desc(i)->key,
						 required_argument, NULL,
						 HO_TUN_BASE + (int)i };
	for (i = 0; i < nown; i++) {
		longopts[n] = own->opts[i];
		longopts[n].flag = NULL;
		longopts[n++].val = HO_OWN_BASE + (int)i;
	}
	memset(&longopts[n], 0, sizeof(longopts[n]));
}

int pw_hostopts_parse(const struct pw_cmd *cmd, unsigned accept, int argc,
		      char **argv, struct pw_hostopts *o)
{
	return pw_hostopts_parse_own(cmd, accept, NULL, argc, argv, o);
}

int pw_hostopts_parse_own(const struct pw_cmd *cmd, unsigned accept,
			  const struct pw_ho_own *own, int argc, char **argv,
			  struct pw_hostopts *o)
{
	struct option longopts[HO_NOPTIONS + PW_NTUN + PW_HO_MAX_OWN + 1];
	size_t nown = count_own(own);
	int c, err;

	memset(o, 0, sizeof(*o));
	if (nown > PW_HO_MAX_OWN) {
		pw_cli_err("%s: more than %d options of its own", cmd->name,
			   PW_HO_MAX_OWN);
		return -1;
	}
	build_longopts(accept, own, nown, longopts);

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		if (c == 'h') {
			pw_cli_cmd_help(cmd, stdout);
			return 1;
		}
		if (c == '?' || c == ':') {
			pw_cli_bad_option(cmd, c, argv);
			return -1;
		}
		if (c >= HO_OWN_BASE) {
			if (own->take(own->opts[c - HO_OWN_BASE].val, optarg,
				      own->ctx))
				return -1;
			continue;
		}
		err = take_option(cmd, c, o);
		if (err == -ENOMEM)
			pw_cli_err("%s: out of memory", cmd->name);
		if (err)
			return -1;
	}
	if (optind < argc && !(accept & PW_HO_ARGS)) {
		pw_cli_err("%s: unexpected argument '%s'; see 'portwarden help "
			   "%s'", cmd->name, argv[optind], cmd->name);
		return -1;
	}
	o->args = argv + optind;
	o->nargs = argc - optind;
	return 0;
}

void pw_hostopts_free(struct pw_hostopts *o)
{
	pw_cli_free_list(o->roles, o->nroles);
	pw_cli_free_list(o->tags, o->ntags);
	memset(o, 0, sizeof(*o));
}

int pw_hostopts_need_iface(const struct pw_cmd *cmd,
			   const struct pw_hostopts *o)
{
	if (o->iface)
		return 0;
	pw_cli_err("%s: --iface IF is needed (the interface)", cmd->name);
	return -1;
}

int pw_hostopts_open(const struct pw_cmd *cmd, const struct pw_hostopts *o,
		     struct pw_loaded *l)
{
	char err[1024];
	int rc;

	rc = pw_loaded_open(o->netns, o->iface, l, err, sizeof(err));
	if (rc)
		pw_cli_err("%s: %s", cmd->name, err);
	return rc;
}

void pw_hostopts_read_err(const struct pw_cmd *cmd, const struct pw_loaded *l,
			  const char *doing, int err)
{
	const char *why = pw_maps_errmsg();

	pw_cli_err("%s: %s: %s: %s", cmd->name, l->name, doing,
		   *why ? why : strerror(-err));
}

/* ------------------------------------------------------------------ */
/* Settings                                                            */
/* ------------------------------------------------------------------ */

/*
 * Absolute path: the state file outlives the working directory.  A file
 * that cannot be resolved is kept as given; the parser then says why.
 */
static char *abs_path(const char *path)
{
	char *real = realpath(path, NULL);

	return real ? real : strdup(path);
}

static int copy_list(char **src, int n, char ***dst, int *dn)
{
	int i;

	for (i = 0; i < n; i++)
		if (pw_cli_split_list(src[i], dst, dn))
			return -1;
	return 0;
}

/* Roles: command line, else profile, else base. */
static int merge_roles(const struct pw_hostopts *o,
		       const struct pw_profile *prof,
		       const struct pw_state *base, struct pw_state *out)
{
	if (o->nroles)
		return copy_list(o->roles, o->nroles, &out->roles,
				 &out->nroles);
	if (prof && prof->nroles)
		return copy_list(prof->roles, prof->nroles, &out->roles,
				 &out->nroles);
	if (base)
		return copy_list(base->roles, base->nroles, &out->roles,
				 &out->nroles);
	return 0;
}

/* Tags: command line plus profile; when neither has any, base's. */
static int merge_tags(const struct pw_hostopts *o,
		      const struct pw_profile *prof,
		      const struct pw_state *base, struct pw_state *out)
{
	if (copy_list(o->tags, o->ntags, &out->tags, &out->ntags))
		return -1;
	if (prof && copy_list(prof->tags, prof->ntags, &out->tags, &out->ntags))
		return -1;
	if (!o->ntags && !(prof && prof->ntags) && base && !prof)
		return copy_list(base->tags, base->ntags, &out->tags,
				 &out->ntags);
	return 0;
}

static int merge_paths(const struct pw_hostopts *o,
		       const struct pw_profile *prof,
		       const struct pw_state *base, struct pw_state *out)
{
	const char *policy = o->policy, *inventory = o->inventory;

	if (!policy && prof)
		policy = prof->policy;
	if (!inventory && prof)
		inventory = prof->inventory;
	/* a new policy with no inventory named keeps the recorded one
	 * only when neither the command line nor a profile changed it */
	if (!policy && base)
		policy = base->policy;
	if (!inventory && base && !prof)
		inventory = base->inventory;
	if (policy) {
		out->policy = abs_path(policy);
		if (!out->policy)
			return -1;
	}
	if (inventory) {
		out->inventory = abs_path(inventory);
		if (!out->inventory)
			return -1;
	}
	return 0;
}

/* Each setting: command line, else profile (or default), else base. */
static void merge_tunables(const struct pw_hostopts *o,
			   const struct pw_profile *prof,
			   const struct pw_tunables *base,
			   struct pw_tunables *out)
{
	struct pw_tunables def;
	unsigned t, bit;

	pw_tun_defaults(&def);
	for (t = 0; t < PW_NTUN; t++) {
		bit = 1U << t;
		if (o->tun.set & bit)
			out->v[t] = o->tun.v[t];
		else if (prof && (prof->tun.set & bit))
			out->v[t] = prof->tun.v[t];
		else if (base && (!prof || pw_tun_desc(t)->load_only))
			out->v[t] = base->v[t];
		else
			out->v[t] = def.v[t];
	}
	out->set = def.set;
}

int pw_hostopts_settings(const struct pw_cmd *cmd, const struct pw_hostopts *o,
			 const struct pw_state *base, struct pw_state *out,
			 struct pw_diags *d)
{
	return pw_hostopts_host(cmd, o, base, NULL, out, NULL, d);
}

int pw_hostopts_host(const struct pw_cmd *cmd, const struct pw_hostopts *o,
		     const struct pw_state *base,
		     const struct pw_tunables *base_tun, struct pw_state *out,
		     struct pw_tunables *tun, struct pw_diags *d)
{
	struct pw_profile prof = { 0 };
	bool have_prof = false;
	int err = -1;

	memset(out, 0, sizeof(*out));
	if (o->profile) {
		if (pw_profile_parse_file(o->profile, &prof, d))
			goto out;
		have_prof = true;
	}
	if (merge_paths(o, have_prof ? &prof : NULL, base, out) ||
	    merge_roles(o, have_prof ? &prof : NULL, base, out) ||
	    merge_tags(o, have_prof ? &prof : NULL, base, out)) {
		pw_error(d, NULL, "%s: out of memory", cmd->name);
		goto out;
	}
	out->mode = o->mode;
	if (!out->mode && have_prof)
		out->mode = prof.mode;
	if (!out->mode && base)
		out->mode = base->mode;
	if (!out->mode)
		out->mode = PW_MODE_AUDIT;
	if (tun)
		merge_tunables(o, have_prof ? &prof : NULL, base_tun, tun);
	if (!out->policy) {
		pw_error(d, NULL, "%s: --policy FILE or --profile FILE is needed",
			 cmd->name);
		goto out;
	}
	if (!out->nroles) {
		pw_error(d, NULL, "%s: --role ROLE is needed (the roles this "
				  "host holds)", cmd->name);
		goto out;
	}
	err = 0;
out:
	pw_profile_free(&prof);
	if (err)
		pw_state_free(out);
	return err;
}

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

void pw_cli_diags(const struct pw_diags *d)
{
	int i;

	for (i = 0; i < d->n; i++) {
		const struct pw_diag *dg = &d->v[i];
		char *s = dg->file ? pw_diag_format(dg) : NULL;
		const char *text = s ? s : dg->msg;

		if (dg->level == PW_DIAG_ERROR)
			pw_cli_err("%s", text);
		else
			pw_cli_warn("%s", text);
		free(s);
	}
}

void pw_format_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (!t || !localtime_r(&t, &tm)) {
		snprintf(buf, len, "never");
		return;
	}
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}
