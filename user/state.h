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

#include <stdbool.h>
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

/*
 * Compile the settings @st (policy, inventory, roles, tags) with @prev
 * as previous state (may be NULL).  Returns 0, or -EINVAL with the
 * compiler's errors in @d; either way free @pol, @inv and @c after.
 */
int pw_state_compile(const struct pw_state *st,
		     const struct pw_prev_state *prev, struct pw_policy *pol,
		     struct pw_inventory *inv, struct pw_compiled *c,
		     struct pw_diags *d);

/* ------------------------------------------------------------------ */
/* A shadow policy on trial (portwarden shadow; shadow.h)              */
/* ------------------------------------------------------------------ */

/*
 * While pw_config.flags has PW_CFG_SHADOW, the generation not in force
 * holds a candidate policy that judges every packet too.  The flag in the
 * maps says whether a shadow is loaded; the file
 *
 *   /run/portwarden/<IF>.shadow   (or <NETNS>:<IF>.shadow)
 *
 * says what it is: the state file's "key value" lines for the candidate
 * (policy, inventory, roles, tags, digest; loaded_at = when it was
 * shadowed) and the keys below.  A file without the flag, or naming the
 * generation in force, is left over from an interrupted command and
 * describes nothing.
 */
struct pw_shadow_state {
	struct pw_state st;
	char *profile;        /* absolute path, NULL when none was given */
	char *name;           /* the candidate policy's name */
	uint32_t gen;         /* the generation it was written to */
	/*
	 * Role names and counter slots of the running policy before the
	 * candidate added its own to the shared pw_role_names and pw_slots:
	 * the running policy is recompiled with no more than these, and a
	 * drop clears what lies past them.
	 */
	uint32_t base_nroles;
	uint32_t base_nslots;
};

void pw_shadow_state_path(const char *netns, const char *iface, char *buf,
			  size_t len);
int pw_shadow_state_write(const char *path, const struct pw_shadow_state *s);
int pw_shadow_state_read(const char *path, struct pw_shadow_state *s,
			 char *err, size_t errlen);
void pw_shadow_state_free(struct pw_shadow_state *s);
/* Remove the shadow file of an interface; none is fine (unload). */
int pw_shadow_state_remove(const char *netns, const char *iface);

/*
 * The shadow file of a loaded interface when it describes the shadow
 * the maps hold (flag set, generation not in force): 0, or -ENOENT.
 */
int pw_shadow_state_current(const struct pw_loaded *l,
			    const struct pw_config *cfg,
			    struct pw_shadow_state *s);

/* For the loader (defined in shadow.c): is a shadow policy loaded? */
bool pw_shadow_active(const struct pw_maps *m);

/*
 * reload writes the generation not in force, which a shadow occupies:
 * -EBUSY with an error saying to drop or promote it first, else 0.
 */
int pw_shadow_refuse_reload(const struct pw_loaded *l, struct pw_diags *d);

#endif /* PW_STATE_H */
