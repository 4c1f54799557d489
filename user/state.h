/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * state.h - a loaded interface: its pins in bpffs and its settings file.
 *
 * After `portwarden load` exits, everything the other commands need lives
 * in two places, both removed by `unload`:
 *
 *   /sys/fs/bpf/portwarden/<IF>/     pinned maps (by map name, e.g.
 *                                    pw_counters), the program and the
 *                                    XDP link ("link_xdp")
 *   /run/portwarden/<IF>.state       the settings in force: absolute paths
 *                                    of policy and inventory, roles, tags,
 *                                    mode, xdp mode, load time, digest
 *
 * Rule notes and the effective rule table are not stored: commands that
 * need them recompile the recorded policy with the maps' role ids and
 * slots as previous state; the result's digest must equal the digest in
 * pw_gen of the active generation, else the files changed since the last
 * load/reload and reports say so (counters stay readable either way).
 *
 * In a named network namespace (`--netns NAME`), the pin directory and the
 * state file are named "<NAME>:<IF>" instead of "<IF>".
 */
#ifndef PW_STATE_H
#define PW_STATE_H

#include <stdint.h>
#include <time.h>
#include <net/if.h>

#include "compile.h"
#include "maps.h"

#define PW_PIN_ROOT "/sys/fs/bpf/portwarden"
#define PW_STATE_ROOT "/run/portwarden"

/* Settings in force, as written to the state file (one "key value" a line). */
struct pw_state {
	char *policy;      /* absolute path */
	char *inventory;   /* absolute path, may be NULL */
	char **roles;
	int nroles;
	char **tags;
	int ntags;
	int mode;          /* enum pw_mode, host mode */
	char xdp_mode[16]; /* "native" or "generic" */
	time_t loaded_at;  /* first load */
	time_t reloaded_at;/* last reload, 0 if none */
	uint64_t digest;   /* pw_gen_info.policy_digest of the active gen */
	char *netns;       /* NULL for the initial namespace */
};

/* An opened, loaded interface. */
struct pw_loaded {
	char name[IF_NAMESIZE + 64]; /* "<IF>" or "<NETNS>:<IF>" */
	char iface[IF_NAMESIZE];
	struct pw_maps maps;         /* fds of the pinned maps */
	struct pw_state st;
};

/* Pin directory and state file path for an interface (netns may be NULL). */
void pw_pin_dir(const char *netns, const char *iface, char *buf, size_t len);
void pw_state_path(const char *netns, const char *iface, char *buf, size_t len);

int pw_state_write(const char *path, const struct pw_state *st);
int pw_state_read(const char *path, struct pw_state *st, char *err,
		  size_t errlen);
void pw_state_free(struct pw_state *st);

/*
 * Open the pinned maps and the state of a loaded interface.  Returns 0, or
 * -ENOENT ("not loaded") / another -errno with a message naming the
 * interface and the cause in @err.
 */
int pw_loaded_open(const char *netns, const char *iface, struct pw_loaded *l,
		   char *err, size_t errlen);
void pw_loaded_close(struct pw_loaded *l);

/* Every loaded interface (by scanning PW_PIN_ROOT); names as in pw_loaded.name. */
int pw_loaded_list(char ***names, int *n);

/*
 * Recompile the recorded policy with the maps' role ids and slots as
 * previous state.  Returns 0 and sets *stale when the digest differs from
 * the active generation's (files changed since the last load/reload).
 */
int pw_loaded_recompile(const struct pw_loaded *l, struct pw_policy *pol,
			struct pw_inventory *inv, struct pw_compiled *c,
			int *stale, struct pw_diags *d);

#endif /* PW_STATE_H */
