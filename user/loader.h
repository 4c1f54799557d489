/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * loader.h - putting the datapath on an interface, changing it while it
 * runs, and taking it off again.
 *
 * The commands load, unload, reload, mode and confirm are thin shells
 * around these functions: they parse options and print; everything that
 * touches the kernel, bpffs or the state file is here (loader.c), and the
 * state-reading half (pins, state file, previous ids) is in state.c.
 *
 * Every function reports into a struct pw_diags: compiler diagnostics keep
 * their file:line:col, the loader's own messages have no location and
 * always name the interface ("eth0: not loaded ...").  A warning never
 * fails a call.
 */
#ifndef PW_LOADER_H
#define PW_LOADER_H

#include <stdbool.h>

#include "compile.h"
#include "diag.h"
#include "maps.h"
#include "profile.h"
#include "state.h"

/* ------------------------------------------------------------------ */
/* Previous ids of a loaded program; mode names (state.c)             */
/* ------------------------------------------------------------------ */

/*
 * The role names and counter-slot keys the maps hold, in the form the
 * compiler takes as previous state, so that a recompile keeps every id
 * and slot (counters carry on).  @b->prev points into @b's arrays.
 */
struct pw_prev_buf {
	struct pw_prev_state prev;
	struct pw_role_name *roles;
	struct pw_counter_key *slots;
};

int pw_prev_read(const struct pw_maps *m, struct pw_prev_buf *b);
void pw_prev_free(struct pw_prev_buf *b);

/* "audit" / "enforce" (and "host" for PW_MODE_HOST); "?" otherwise. */
const char *pw_mode_name(int mode);

/* "native", "generic": what was attached; "auto" only as a request. */
enum pw_xdp_mode {
	PW_XDP_AUTO = 0,    /* native (driver) mode, else generic (skb) mode */
	PW_XDP_NATIVE = 1,
	PW_XDP_GENERIC = 2,
};

const char *pw_xdp_mode_name(enum pw_xdp_mode mode);
/* Returns 0 and sets *mode, or -1 for an unknown word. */
int pw_xdp_mode_parse(const char *s, enum pw_xdp_mode *mode);

/* ------------------------------------------------------------------ */
/* Network namespaces                                                  */
/* ------------------------------------------------------------------ */

/*
 * Switch this thread's network namespace to /run/netns/@name, leaving the
 * mount namespace alone (bpffs pins stay visible).  *@saved receives an
 * fd of the namespace to return to, -1 when @name is NULL (nothing to
 * do).  pw_netns_leave() goes back and closes it.
 */
int pw_netns_enter(const char *name, int *saved, struct pw_diags *d);
void pw_netns_leave(int saved);

/* ------------------------------------------------------------------ */
/* Datapath settings and the tc egress program                         */
/* ------------------------------------------------------------------ */

/* Every setting at its default (pw_config_defaults, PW_DEFAULT_*). */
void pw_tun_defaults(struct pw_tunables *t);

/*
 * The settings a loaded interface runs with: egress from the state file
 * (off when it records none), sizes from the maps, the rest from
 * pw_config.  Every field set.
 */
int pw_loaded_tunables(const struct pw_loaded *l, struct pw_tunables *t);

/*
 * Our filter on the clsact egress hook: direct action, this handle and
 * priority.  Priority: lower runs first; ours runs before filters added
 * with tc's default priority (49152).
 */
#define PW_TC_HANDLE 0x5057U
#define PW_TC_PRIORITY 0x5057U

/* How the tc egress program is attached, as the state file records it. */
struct pw_tc_record {
	uint32_t egress;    /* enum pw_egress_mode */
	uint32_t handle;    /* 0 when not attached */
	uint32_t priority;
	bool qdisc_created; /* the clsact qdisc is portwarden's to remove */
};

/*
 * Read the tc lines of the state file of @iface.  A missing file or
 * missing lines give egress off and nothing attached.
 */
void pw_tc_record_read(const char *netns, const char *iface,
		       struct pw_tc_record *r);

/* What is attached to an interface, and whether it is ours. */
struct pw_attached {
	uint32_t xdp_prog; /* XDP program id, 0: none */
	uint32_t tc_prog;  /* BPF filter at our tc handle/priority, 0: none */
	bool xdp_ours;     /* the program pinned for the interface */
	bool tc_ours;
};

/*
 * Look at @iface (in @netns): its XDP program, and the tc egress filter
 * at @r's handle and priority (PW_TC_HANDLE/PW_TC_PRIORITY when @r has
 * none).  0, or -errno (no such namespace or interface).
 */
int pw_attached_read(const char *netns, const char *iface,
		     const struct pw_tc_record *r, struct pw_attached *a);

/*
 * The policy digest of the generation in force in the maps pinned for
 * @iface, also when the load that pinned them did not finish.  0 or
 * -errno (no complete set of pins).
 */
int pw_pinned_digest(const char *netns, const char *iface, uint64_t *digest);

/* ------------------------------------------------------------------ */
/* Fault injection                                                     */
/* ------------------------------------------------------------------ */

/*
 * Crash tests: with PW_FAILPOINT=STEP[,N] in the environment, the N-th
 * time (default the first) this process reaches STEP it is killed with
 * SIGKILL on the spot, no cleanup.  Inert without the variable.  The
 * steps, in the order a load, reload or unload reaches them, are
 * pw_failpoint_steps[] (NULL-terminated).
 */
void pw_failpoint(const char *step);
extern const char *const pw_failpoint_steps[];

/* ------------------------------------------------------------------ */
/* Commands                                                            */
/* ------------------------------------------------------------------ */

struct pw_load_req {
	const char *netns;     /* NULL: the namespace we run in */
	const char *iface;
	/* policy (absolute), inventory (absolute or NULL), roles, tags and
	 * mode (PW_MODE_AUDIT or PW_MODE_ENFORCE); other fields ignored */
	const struct pw_state *st;
	enum pw_xdp_mode xdp_mode; /* load only */
	/* every field set; NULL: the defaults (load), as running (reload) */
	const struct pw_tunables *tun;
	/* load: replace a foreign XDP program; load, reload, mode: skip the
	 * lockout guard */
	bool force;
};

/*
 * Compile, load, pin, write and flip generation 0, attach XDP (and the
 * tc egress program unless egress is off), record the state file.  On
 * any failure nothing stays behind (no pin, no program attached, no
 * state file, no qdisc of ours).
 */
int pw_load(const struct pw_load_req *req, struct pw_diags *d);

/*
 * Detach XDP and our tc filter (the clsact qdisc goes too when load
 * created it and nothing else is on it), remove every pin and the state
 * file.  Also cleans up after an interrupted load or unload.
 */
int pw_unload(const char *netns, const char *iface, struct pw_diags *d);

/*
 * Recompile with @req->st, keeping role ids and slots; only when that
 * and the capacity check pass (and @req->tun asks for the loaded map
 * sizes), attach tc egress if it was off, write the inactive generation,
 * flip, set the host config, detach tc egress if it goes off, and update
 * the state file.  On failure the generation in force is untouched.
 */
int pw_reload(const struct pw_load_req *req, struct pw_diags *d);

/*
 * Host mode.  Enforce with @confirm_s > 0 sets a deadline @confirm_s
 * seconds from now after which the datapath itself acts as audit; 0 means
 * none.  @force skips the lockout guard.
 */
int pw_set_mode(const char *netns, const char *iface, int mode,
		unsigned confirm_s, bool force, struct pw_diags *d);

/* Clear a pending deadline: enforce stays.  Fails when there is none
 * or it has already passed. */
int pw_confirm(const char *netns, const char *iface, struct pw_diags *d);

/*
 * Lockout guard: would the SSH session this process runs in (from
 * $SSH_CONNECTION) be dropped by @c in enforce mode?  Error unless @force
 * (then a warning).  Also warns when no role may reach 22/tcp at all.
 * Returns 0 when it is fine to go on.
 */
int pw_lockout_check(const struct pw_compiled *c, const char *name,
		     bool force, struct pw_diags *d);

/* CLOCK_MONOTONIC in ns, the clock of pw_config.enforce_deadline_ns. */
__u64 pw_monotonic_ns(void);

#endif /* PW_LOADER_H */
