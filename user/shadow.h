/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * shadow.h - a candidate policy on trial next to the running one.
 *
 * The two generations of every table make room for it: the candidate is
 * compiled as a reload would compile it (the maps' role ids and slots as
 * previous state) and written into the generation not in force; then
 * PW_CFG_SHADOW makes the datapath judge every packet by it too and count
 * in pw_shadow each (direction, running role, shadow role, protocol,
 * port, running verdict, shadow verdict) where the two verdicts differ.
 * Nothing the running policy does changes.
 *
 *	pw_shadow_load()     compile, write the inactive generation, empty
 *	                     pw_shadow, set the flag, record the shadow file
 *	pw_shadow_promote()  the candidate goes in force by one flip
 *	pw_shadow_drop()     the flag goes, and with it the trial's counts
 *
 * While a shadow is loaded, reload refuses (it would write the shadow's
 * generation): pw_shadow_refuse_reload(), declared in state.h for the
 * loader.  The shadow file is described in state.h.
 *
 * Every function reports into a struct pw_diags, with messages that name
 * the interface, like the loader's.
 */
#ifndef PW_SHADOW_H
#define PW_SHADOW_H

#include <stdbool.h>
#include <stdint.h>

#include "diag.h"
#include "state.h"

struct pw_shadow_req {
	const char *netns; /* NULL: the namespace we run in */
	const char *iface;
	/* the candidate: policy, inventory (absolute paths), roles, tags;
	 * its mode is not used (the host's mode judges both policies) */
	const struct pw_state *st;
	const char *profile; /* absolute path it came from, or NULL */
};

/*
 * Load @req's candidate as the shadow of a loaded interface, replacing
 * the shadow loaded now, if any.  When the candidate does not compile or
 * does not fit the maps, nothing changes.
 */
int pw_shadow_load(const struct pw_shadow_req *req, struct pw_diags *d);

/*
 * Put the shadow in force: flip to its generation, clear the flag, and
 * record its settings in the state file (reloaded now).  The host mode
 * stays.  In enforce mode the SSH lockout guard judges the candidate
 * first (@force: a warning only).
 */
int pw_shadow_promote(const char *netns, const char *iface, bool force,
		      struct pw_diags *d);

/* Stop the trial: clear the flag, forget its counts and its record. */
int pw_shadow_drop(const char *netns, const char *iface, struct pw_diags *d);

/* ------------------------------------------------------------------ */
/* What the shadow would change                                        */
/* ------------------------------------------------------------------ */

struct pw_shadow_row {
	struct pw_shadow_key key;
	struct pw_counter sum;
	const char *role;        /* names; point into the report */
	const char *shadow_role;
};

struct pw_shadow_report {
	/* identification, borrowed */
	const char *iface;
	const char *netns;
	const char *running_policy; /* path in the state file, may be NULL */
	uint32_t active_gen;
	uint64_t running_digest;    /* of the generation in force */
	bool loaded;                /* PW_CFG_SHADOW is set */
	bool described;             /* @desc is the loaded shadow's file */
	struct pw_shadow_state desc;
	uint64_t shadow_digest;     /* what the shadow generation holds */

	struct pw_shadow_row *rows; /* packets descending, then by key */
	uint32_t nrows;
	struct pw_counter total;
	uint64_t not_counted;       /* differences pw_shadow had no room for */

	/* role names, index = role id; "role#N" for an id without one */
	char (*role_text)[PW_ROLE_NAME_MAX];
	uint32_t nrole_text;
};

/*
 * Read the shadow of a loaded interface: flag, file, digests, rows.
 * Returns 0 or a negative errno (with a message for pw_maps_errmsg()).
 */
int pw_shadow_report_read(const struct pw_loaded *l, const char *netns,
			  struct pw_shadow_report *r);

/*
 * Building by hand (tests): set role_text/nrole_text, add every key,
 * then finish: names resolved, rows sorted, totals summed.
 */
int pw_shadow_report_add(struct pw_shadow_report *r,
			 const struct pw_shadow_key *key,
			 const struct pw_counter *sum);
void pw_shadow_report_finish(struct pw_shadow_report *r);
void pw_shadow_report_free(struct pw_shadow_report *r);

/*
 * Rendering in the current output mode (json.h): the rows and totals
 * (stats --shadow), or what the shadow is and how much it differs
 * (shadow --iface IF).
 */
void pw_shadow_print_rows(const struct pw_shadow_report *r);
void pw_shadow_print_summary(const struct pw_shadow_report *r);

/* Open, read and print, for the commands; 0, or an error in @d. */
int pw_shadow_stats(const char *netns, const char *iface, struct pw_diags *d);
int pw_shadow_show(const char *netns, const char *iface, struct pw_diags *d);

#endif /* PW_SHADOW_H */
