/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * testutil.h - what the cmocka suites share: diagnostics as one text and
 * asserted against the expected text (test_parser.c, test_inventory.c),
 * and the id a compiled policy gives a role name.
 *
 * Header-only (static functions), like xdprun.h, so that a suite uses it
 * without a change to the meson suite lists.  Include it after <cmocka.h>.
 */
#ifndef PW_TESTS_TESTUTIL_H
#define PW_TESTS_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "diag.h"
#include "policy.h"

/* ------------------------------------------------------ diagnostics -- */

/* All diagnostics, formatted, one per line (no trailing newline). */
static inline char *diags_text(const struct pw_diags *d)
{
	size_t len = 1;
	char *out;

	for (int i = 0; i < d->n; i++) {
		char *s = pw_diag_format(&d->v[i]);

		len += strlen(s) + 1;
		free(s);
	}
	out = calloc(1, len);
	assert_non_null(out);
	for (int i = 0; i < d->n; i++) {
		char *s = pw_diag_format(&d->v[i]);

		if (i)
			strcat(out, "\n");
		strcat(out, s);
		free(s);
	}
	return out;
}

static inline void assert_diags(const struct pw_diags *d, const char *expected)
{
	char *s = diags_text(d);

	if (strcmp(s, expected))
		fail_msg("diagnostics differ\n--- expected:\n%s\n--- got:\n%s",
			 expected, s);
	free(s);
}

/* ------------------------------------------------------------ roles -- */

/* The id @c gives role @name (a test failure when it has none). */
static inline uint32_t role_id(const struct pw_compiled *c, const char *name)
{
	uint32_t id;

	for (id = 0; id < c->nroles; id++)
		if (!strcmp(c->role_names[id].name, name))
			return id;
	fail_msg("no role id for '%s'", name);
	return 0;
}

#endif /* PW_TESTS_TESTUTIL_H */
