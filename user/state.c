// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * state.c - a loaded interface as the reporting commands find it: pin
 * directory, state file, the maps' previous ids, and a recompile of the
 * recorded policy to tell whether the files changed since the load.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "loader.h"
#include "state.h"

/* ------------------------------------------------------------ names -- */

/* "<IF>" or "<NETNS>:<IF>": interface names cannot hold ':' or '/'. */
static void loaded_name(const char *netns, const char *iface, char *buf,
			size_t len)
{
	if (netns && *netns)
		snprintf(buf, len, "%s:%s", netns, iface);
	else
		snprintf(buf, len, "%s", iface);
}

/*
 * bpffs refuses names with a '.', which VLAN interfaces ("eth0.100") have:
 * the pin directory spells '.' as '%', which no interface name keeps
 * (the kernel takes a '%' in a name as a template for a number).
 */
#define PW_PIN_DOT '%'

static void pin_escape(char *s, char from, char to)
{
	for (; *s; s++)
		if (*s == from)
			*s = to;
}

void pw_pin_dir(const char *netns, const char *iface, char *buf, size_t len)
{
	char name[IF_NAMESIZE + 300];

	loaded_name(netns, iface, name, sizeof(name));
	pin_escape(name, '.', PW_PIN_DOT);
	snprintf(buf, len, "%s/%s", PW_PIN_ROOT, name);
}

void pw_state_path(const char *netns, const char *iface, char *buf,
		   size_t len)
{
	char name[IF_NAMESIZE + 300];

	loaded_name(netns, iface, name, sizeof(name));
	snprintf(buf, len, "%s/%s.state", PW_STATE_ROOT, name);
}

/* ------------------------------------------------------- state file -- */

const char *pw_mode_name(int mode)
{
	switch (mode) {
	case PW_MODE_HOST:
		return "host";
	case PW_MODE_AUDIT:
		return "audit";
	case PW_MODE_ENFORCE:
		return "enforce";
	default:
		return "?";
	}
}

/* A value goes on one line: refuse what would break the format. */
static bool one_line(const char *s)
{
	return !s || !strpbrk(s, "\n\r");
}

static int state_check(const struct pw_state *st)
{
	int i;

	if (!st->policy || !one_line(st->policy) || !one_line(st->inventory) ||
	    !one_line(st->netns))
		return -EINVAL;
	for (i = 0; i < st->nroles; i++)
		if (!one_line(st->roles[i]))
			return -EINVAL;
	for (i = 0; i < st->ntags; i++)
		if (!one_line(st->tags[i]))
			return -EINVAL;
	return 0;
}

static void state_print_fields(FILE *f, const struct pw_state *st)
{
	int i;

	fprintf(f, "policy %s\n", st->policy);
	if (st->inventory)
		fprintf(f, "inventory %s\n", st->inventory);
	for (i = 0; i < st->nroles; i++)
		fprintf(f, "role %s\n", st->roles[i]);
	for (i = 0; i < st->ntags; i++)
		fprintf(f, "tag %s\n", st->tags[i]);
	fprintf(f, "mode %s\n", pw_mode_name(st->mode));
	fprintf(f, "xdp_mode %s\n", st->xdp_mode);
	fprintf(f, "loaded_at %lld\n", (long long)st->loaded_at);
	fprintf(f, "reloaded_at %lld\n", (long long)st->reloaded_at);
	fprintf(f, "digest %016" PRIx64 "\n", st->digest);
	if (st->netns)
		fprintf(f, "netns %s\n", st->netns);
}

static void state_print(FILE *f, const void *arg)
{
	fprintf(f, "# portwarden: settings in force; written by load, reload "
		   "and mode, removed by unload\n");
	state_print_fields(f, arg);
}

/* Written to a temporary file and renamed: a reader sees old or new. */
static int write_renamed(const char *path,
			 void (*print)(FILE *f, const void *arg),
			 const void *arg)
{
	char tmp[4096];
	FILE *f;
	int err = 0;

	if (mkdir(PW_STATE_ROOT, 0755) && errno != EEXIST)
		return -errno;
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	print(f, arg);
	if (fflush(f) || fsync(fileno(f)))
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

int pw_state_write(const char *path, const struct pw_state *st)
{
	int err = state_check(st);

	return err ? err : write_renamed(path, state_print, st);
}

static int push_str(char ***v, int *n, const char *s)
{
	char **grown = realloc(*v, (*n + 1) * sizeof(**v));

	if (!grown)
		return -ENOMEM;
	*v = grown;
	grown[*n] = strdup(s);
	if (!grown[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

static int set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = strdup(s);
	return *dst ? 0 : -ENOMEM;
}

static int parse_mode(const char *s)
{
	if (!strcmp(s, "audit"))
		return PW_MODE_AUDIT;
	if (!strcmp(s, "enforce"))
		return PW_MODE_ENFORCE;
	return -1;
}

/* One "key value" line; unknown keys are skipped (newer writers). */
static int state_line(struct pw_state *st, const char *key, const char *val,
		      const char **why)
{
	char *end;

	*why = NULL;
	if (!strcmp(key, "policy"))
		return set_str(&st->policy, val);
	if (!strcmp(key, "inventory"))
		return set_str(&st->inventory, val);
	if (!strcmp(key, "netns"))
		return set_str(&st->netns, val);
	if (!strcmp(key, "role"))
		return push_str(&st->roles, &st->nroles, val);
	if (!strcmp(key, "tag"))
		return push_str(&st->tags, &st->ntags, val);
	if (!strcmp(key, "mode")) {
		st->mode = parse_mode(val);
		if (st->mode < 0)
			*why = "unknown mode";
	} else if (!strcmp(key, "xdp_mode")) {
		snprintf(st->xdp_mode, sizeof(st->xdp_mode), "%s", val);
	} else if (!strcmp(key, "loaded_at")) {
		st->loaded_at = strtoll(val, &end, 10);
		if (*end)
			*why = "bad number";
	} else if (!strcmp(key, "reloaded_at")) {
		st->reloaded_at = strtoll(val, &end, 10);
		if (*end)
			*why = "bad number";
	} else if (!strcmp(key, "digest")) {
		st->digest = strtoull(val, &end, 16);
		if (*end)
			*why = "bad digest";
	}
	return *why ? -EINVAL : 0;
}

/* Takes one "key value" line of a file into @arg. */
typedef int (*line_fn)(void *arg, const char *key, const char *val,
		       const char **why);

static int state_line_fn(void *arg, const char *key, const char *val,
			 const char **why)
{
	return state_line(arg, key, val, why);
}

static int parse_lines(FILE *f, const char *path, line_fn take, void *arg,
		       char *err, size_t errlen)
{
	char *line = NULL, *val;
	const char *why;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, rc = 0;

	while (!rc && (len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (!len || line[0] == '#')
			continue;
		val = strchr(line, ' ');
		if (!val) {
			snprintf(err, errlen, "%s:%d: expected 'key value'",
				 path, lineno);
			rc = -EINVAL;
			break;
		}
		*val++ = '\0';
		rc = take(arg, line, val, &why);
		if (rc && why)
			snprintf(err, errlen, "%s:%d: %s '%s'", path, lineno,
				 why, val);
	}
	free(line);
	return rc;
}

/* The lines every settings file has. */
static int state_complete(const struct pw_state *st, const char *path,
			  char *err, size_t errlen)
{
	if (st->policy && st->nroles && st->mode)
		return 0;
	snprintf(err, errlen, "%s: no %s line", path,
		 !st->policy ? "policy" : !st->nroles ? "role" : "mode");
	return -EINVAL;
}

/* Parse @path with @take into @arg, whose settings part is @st. */
static int read_settings(const char *path, line_fn take, void *arg,
			 struct pw_state *st, char *err, size_t errlen)
{
	FILE *f;
	int rc;

	f = fopen(path, "r");
	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	rc = parse_lines(f, path, take, arg, err, errlen);
	if (!rc)
		rc = state_complete(st, path, err, errlen);
	if (rc == -ENOMEM)
		snprintf(err, errlen, "%s: out of memory", path);
	fclose(f);
	return rc;
}

int pw_state_read(const char *path, struct pw_state *st, char *err,
		  size_t errlen)
{
	int rc;

	memset(st, 0, sizeof(*st));
	rc = read_settings(path, state_line_fn, st, st, err, errlen);
	if (rc)
		pw_state_free(st);
	return rc;
}

void pw_state_free(struct pw_state *st)
{
	int i;

	free(st->policy);
	free(st->inventory);
	free(st->netns);
	for (i = 0; i < st->nroles; i++)
		free(st->roles[i]);
	free(st->roles);
	for (i = 0; i < st->ntags; i++)
		free(st->tags[i]);
	free(st->tags);
	memset(st, 0, sizeof(*st));
}

/* ------------------------------------------------------ previous ids -- */

/* Role ids: every non-empty name up to the last one. */
static int prev_read_roles(const struct pw_maps *m, struct pw_prev_buf *b)
{
	__u32 id, n = 0;
	int err;

	b->roles = calloc(m->caps.role_cap, sizeof(*b->roles));
	if (!b->roles)
		return -ENOMEM;
	for (id = 0; id < m->caps.role_cap; id++) {
		err = bpf_map_lookup_elem(m->role_names, &id, &b->roles[id]);
		if (err)
			return -errno;
		if (b->roles[id].name[0])
			n = id + 1;
	}
	b->prev.roles = b->roles;
	b->prev.nroles = n;
	return 0;
}

/*
 * Slots are handed out from 0 without holes and every key names a
 * protocol, so the first all-zero key ends the list.
 */
static int prev_read_slots(const struct pw_maps *m, struct pw_prev_buf *b)
{
	static const struct pw_counter_key zero;
	__u32 slot;
	int err;

	b->slots = calloc(m->caps.slot_cap ? m->caps.slot_cap : 1,
			  sizeof(*b->slots));
	if (!b->slots)
		return -ENOMEM;
	for (slot = 0; slot < m->caps.slot_cap; slot++) {
		err = bpf_map_lookup_elem(m->slots, &slot, &b->slots[slot]);
		if (err)
			return -errno;
		if (!memcmp(&b->slots[slot], &zero, sizeof(zero)))
			break;
	}
	b->prev.slots = b->slots;
	b->prev.nslots = slot;
	return 0;
}

int pw_prev_read(const struct pw_maps *m, struct pw_prev_buf *b)
{
	int err;

	memset(b, 0, sizeof(*b));
	err = prev_read_roles(m, b);
	if (!err)
		err = prev_read_slots(m, b);
	if (err)
		pw_prev_free(b);
	return err;
}

void pw_prev_free(struct pw_prev_buf *b)
{
	free(b->roles);
	free(b->slots);
	memset(b, 0, sizeof(*b));
}

/* ------------------------------------------------------ loaded ifaces -- */

static int open_fail(int err, char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int open_fail(int err, char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return err;
}

static int open_pins(const char *netns, const char *dir, struct pw_loaded *l,
		     char *err, size_t errlen)
{
	const char *name = l->name;
	struct stat sb;
	int rc;

	if (stat(dir, &sb)) {
		rc = -errno;
		if (rc == -ENOENT)
			return open_fail(rc, err, errlen,
					 "%s: not loaded (no %s)", name, dir);
		if (rc == -EACCES || rc == -EPERM)
			return open_fail(rc, err, errlen,
					 "%s: permission denied reading %s: "
					 "run as root", name, dir);
		return open_fail(rc, err, errlen, "%s: %s: %s", name, dir,
				 strerror(-rc));
	}
	rc = pw_maps_open_pinned(dir, &l->maps);
	if (rc == -EPERM || rc == -EACCES)
		return open_fail(rc, err, errlen,
				 "%s: permission denied opening the pinned "
				 "maps: run as root (CAP_BPF)", name);
	if (rc == -ENOENT)
		return open_fail(-EUCLEAN, err, errlen,
				 "%s: incomplete pins (%s): a load was "
				 "interrupted; run 'portwarden unload%s%s "
				 "--iface %s'", name, pw_maps_errmsg(),
				 netns ? " --netns " : "", netns ? netns : "",
				 l->iface);
	if (rc)
		return open_fail(rc, err, errlen, "%s: %s", name,
				 pw_maps_errmsg());
	return 0;
}

int pw_loaded_open(const char *netns, const char *iface, struct pw_loaded *l,
		   char *err, size_t errlen)
{
	char dir[4096], path[4096], why[512];
	int rc;

	memset(l, 0, sizeof(*l));
	l->maps.own_fds = false;
	snprintf(l->iface, sizeof(l->iface), "%s", iface);
	loaded_name(netns, iface, l->name, sizeof(l->name));
	pw_pin_dir(netns, iface, dir, sizeof(dir));
	pw_state_path(netns, iface, path, sizeof(path));

	rc = open_pins(netns, dir, l, err, errlen);
	if (rc)
		return rc;
	rc = pw_state_read(path, &l->st, why, sizeof(why));
	if (rc == -ENOENT)
		rc = open_fail(-EUCLEAN, err, errlen,
			       "%s: no state file %s: a load was interrupted; "
			       "run 'portwarden unload%s%s --iface %s'",
			       l->name, path, netns ? " --netns " : "",
			       netns ? netns : "", iface);
	else if (rc)
		rc = open_fail(rc, err, errlen, "%s: bad state file: %s",
			       l->name, why);
	if (rc)
		pw_maps_close(&l->maps);
	return rc;
}

void pw_loaded_close(struct pw_loaded *l)
{
	pw_maps_close(&l->maps);
	pw_state_free(&l->st);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Directories under PW_PIN_ROOT, without the loader's staging ones (they
 * start with ':', which a loaded name cannot: namespaces have names).
 */
int pw_loaded_list(char ***names, int *n)
{
	struct dirent *de;
	DIR *dir;
	int err = 0;

	*names = NULL;
	*n = 0;
	dir = opendir(PW_PIN_ROOT);
	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while (!err && (de = readdir(dir))) {
		if (de->d_name[0] == '.' || de->d_name[0] == ':' ||
		    de->d_type != DT_DIR)
			continue;
		err = push_str(names, n, de->d_name);
		if (!err)
			pin_escape((*names)[*n - 1], PW_PIN_DOT, '.');
	}
	closedir(dir);
	if (err) {
		while (*n > 0)
			free((*names)[--(*n)]);
		free(*names);
		*names = NULL;
		return err;
	}
	if (*n > 1) /* qsort's base must not be NULL, even for nothing */
		qsort(*names, *n, sizeof(**names), name_cmp);
	return 0;
}

/* ---------------------------------------------------- shadow file -- */

void pw_shadow_state_path(const char *netns, const char *iface, char *buf,
			  size_t len)
{
	char name[IF_NAMESIZE + 300];

	loaded_name(netns, iface, name, sizeof(name));
	snprintf(buf, len, "%s/%s.shadow", PW_STATE_ROOT, name);
}

static void shadow_print(FILE *f, const void *arg)
{
	const struct pw_shadow_state *s = arg;

	fprintf(f, "# portwarden: shadow policy on trial; written by shadow, "
		   "removed by shadow --promote, --drop and unload\n");
	state_print_fields(f, &s->st);
	fprintf(f, "shadow_name %s\n", s->name);
	if (s->profile)
		fprintf(f, "shadow_profile %s\n", s->profile);
	fprintf(f, "shadow_gen %u\n", s->gen);
	fprintf(f, "shadow_base_roles %u\n", s->base_nroles);
	fprintf(f, "shadow_base_slots %u\n", s->base_nslots);
}

int pw_shadow_state_write(const char *path, const struct pw_shadow_state *s)
{
	int err = state_check(&s->st);

	if (!err && (!s->name || !one_line(s->name) || !one_line(s->profile)))
		err = -EINVAL;
	return err ? err : write_renamed(path, shadow_print, s);
}

static int parse_u32(const char *val, uint32_t *out, const char **why)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(val, &end, 10);
	if (errno || end == val || *end || v > UINT32_MAX) {
		*why = "bad number";
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

static int shadow_line(void *arg, const char *key, const char *val,
		       const char **why)
{
	struct pw_shadow_state *s = arg;

	*why = NULL;
	if (!strcmp(key, "shadow_name"))
		return set_str(&s->name, val);
	if (!strcmp(key, "shadow_profile"))
		return set_str(&s->profile, val);
	if (!strcmp(key, "shadow_gen"))
		return parse_u32(val, &s->gen, why);
	if (!strcmp(key, "shadow_base_roles"))
		return parse_u32(val, &s->base_nroles, why);
	if (!strcmp(key, "shadow_base_slots"))
		return parse_u32(val, &s->base_nslots, why);
	return state_line(&s->st, key, val, why);
}

int pw_shadow_state_read(const char *path, struct pw_shadow_state *s,
			 char *err, size_t errlen)
{
	int rc;

	memset(s, 0, sizeof(*s));
	s->gen = PW_NGEN; /* none until read */
	rc = read_settings(path, shadow_line, s, &s->st, err, errlen);
	if (!rc && (!s->name || s->gen >= PW_NGEN)) {
		snprintf(err, errlen, "%s: no %s line", path,
			 !s->name ? "shadow_name" : "valid shadow_gen");
		rc = -EINVAL;
	}
	if (rc)
		pw_shadow_state_free(s);
	return rc;
}

void pw_shadow_state_free(struct pw_shadow_state *s)
{
	pw_state_free(&s->st);
	free(s->profile);
	free(s->name);
	memset(s, 0, sizeof(*s));
}

int pw_shadow_state_remove(const char *netns, const char *iface)
{
	char path[4096];

	pw_shadow_state_path(netns, iface, path, sizeof(path));
	if (unlink(path) && errno != ENOENT)
		return -errno;
	return 0;
}

int pw_shadow_state_current(const struct pw_loaded *l,
			    const struct pw_config *cfg,
			    struct pw_shadow_state *s)
{
	char path[4096], why[512];

	memset(s, 0, sizeof(*s));
	if (!(cfg->flags & PW_CFG_SHADOW))
		return -ENOENT;
	pw_shadow_state_path(l->st.netns, l->iface, path, sizeof(path));
	if (pw_shadow_state_read(path, s, why, sizeof(why)))
		return -ENOENT;
	if (s->gen == (cfg->active_gen & 1)) {
		pw_shadow_state_free(s);
		return -ENOENT;
	}
	return 0;
}

/*
 * While a shadow is loaded, the shared role names and slots also hold
 * what the candidate added.  The running policy was compiled without
 * them; recompiled with them, its digest would differ and every report
 * would call the files stale.
 */
static void shadow_trim_prev(const struct pw_loaded *l,
			     const struct pw_config *cfg,
			     struct pw_prev_state *prev)
{
	struct pw_shadow_state s;

	if (pw_shadow_state_current(l, cfg, &s))
		return;
	if (prev->nroles > s.base_nroles)
		prev->nroles = s.base_nroles;
	if (prev->nslots > s.base_nslots)
		prev->nslots = s.base_nslots;
	pw_shadow_state_free(&s);
}

/* ------------------------------------------------------- recompile -- */

int pw_state_compile(const struct pw_state *st,
		     const struct pw_prev_state *prev, struct pw_policy *pol,
		     struct pw_inventory *inv, struct pw_compiled *c,
		     struct pw_diags *d)
{
	struct pw_compile_opts o = {
		.host_roles = (const char *const *)st->roles,
		.nhost_roles = st->nroles,
		.tags = (const char *const *)st->tags,
		.ntags = st->ntags,
		.prev = prev,
	};

	if (pw_policy_parse_file(st->policy, pol, d))
		return -EINVAL;
	if (st->inventory &&
	    pw_inventory_parse_file(st->inventory, pol, inv, d))
		return -EINVAL;
	if (pw_compile(pol, st->inventory ? inv : NULL, &o, c, d))
		return -EINVAL;
	return 0;
}

int pw_loaded_recompile(const struct pw_loaded *l, struct pw_policy *pol,
			struct pw_inventory *inv, struct pw_compiled *c,
			int *stale, struct pw_diags *d)
{
	struct pw_prev_buf pb;
	struct pw_gen_info info;
	struct pw_config cfg;
	int err;

	memset(pol, 0, sizeof(*pol));
	memset(inv, 0, sizeof(*inv));
	memset(c, 0, sizeof(*c));
	*stale = 0;
	err = pw_prev_read(&l->maps, &pb);
	if (err) {
		pw_error(d, NULL, "%s: cannot read role ids and slots: %s",
			 l->name, strerror(-err));
		return err;
	}
	err = pw_maps_get_config(&l->maps, &cfg);
	if (!err)
		err = pw_maps_read_gen_info(&l->maps, cfg.active_gen & 1,
					    &info);
	if (err) {
		pw_error(d, NULL, "%s: %s", l->name, pw_maps_errmsg());
	} else {
		shadow_trim_prev(l, &cfg, &pb.prev);
		err = pw_state_compile(&l->st, &pb.prev, pol, inv, c, d);
	}
	pw_prev_free(&pb);
	if (err) {
		pw_compiled_free(c);
		pw_inventory_free(inv);
		pw_policy_free(pol);
		memset(c, 0, sizeof(*c));
		return err;
	}
	*stale = c->info.policy_digest != info.policy_digest;
	return 0;
}
