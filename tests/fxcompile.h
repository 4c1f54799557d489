/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * fxcompile.h - a policy compiled from buffers, for test_compile.c and
 * test_export.c: the parsed policy and inventory, the host's role and tag
 * names, the compiled tables and every diagnostic kept together in one
 * struct fx, and freed together.
 *
 * Header-only (static functions), like xdprun.h, so that a suite uses it
 * without a change to the meson suite lists.  Include it after <cmocka.h>.
 */
#ifndef PW_TESTS_FXCOMPILE_H
#define PW_TESTS_FXCOMPILE_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "diag.h"
#include "policy.h"

#define FX_MAX_NAMES 64

/* A policy, its inventory, the host's roles and tags, compiled. */
struct fx {
	struct pw_policy pol;
	struct pw_inventory inv;
	struct pw_compiled c;
	struct pw_diags d;
	bool have_inv;
	char *roles[FX_MAX_NAMES];
	int nroles;
	char *tags[FX_MAX_NAMES];
	int ntags;
};

/* "a,b" (or NULL for none) -> @v[], @n: copies the caller frees */
static inline void fx_split(const char *list, char **v, int *n)
{
	char *copy, *tok, *save = NULL;

	*n = 0;
	if (!list)
		return;
	copy = strdup(list);
	assert_non_null(copy);
	for (tok = strtok_r(copy, ",", &save); tok && *n < FX_MAX_NAMES;
	     tok = strtok_r(NULL, ",", &save))
		v[(*n)++] = strdup(tok);
	free(copy);
}

/*
 * A fresh @f: @policy and @inventory (NULL for none) parsed as
 * test.policy and test.inventory (both must parse), the host's @roles and
 * @tags ("a,b" lists, NULL for none).  Nothing compiled yet.
 */
static inline void fx_parse(struct fx *f, const char *policy,
			    const char *inventory, const char *roles,
			    const char *tags)
{
	int rc;

	memset(f, 0, sizeof(*f));
	rc = pw_policy_parse_buffer("test.policy", policy, &f->pol, &f->d);
	if (rc)
		pw_diags_print(&f->d, stderr);
	assert_int_equal(rc, 0);
	if (inventory) {
		rc = pw_inventory_parse_buffer("test.inventory", inventory,
					       &f->pol, &f->inv, &f->d);
		if (rc)
			pw_diags_print(&f->d, stderr);
		assert_int_equal(rc, 0);
		f->have_inv = true;
	}
	fx_split(roles, f->roles, &f->nroles);
	fx_split(tags, f->tags, &f->ntags);
}

/*
 * Compile what @f holds for its roles and tags, keeping the role ids and
 * slots of @prev (NULL for none); pw_compile's result, diagnostics in
 * f->d.
 */
static inline int fx_compile_prev(struct fx *f,
				  const struct pw_prev_state *prev)
{
	struct pw_compile_opts o = {
		.host_roles = (const char *const *)f->roles,
		.nhost_roles = f->nroles,
		.tags = (const char *const *)f->tags,
		.ntags = f->ntags,
		.prev = prev,
	};

	return pw_compile(&f->pol, f->have_inv ? &f->inv : NULL, &o, &f->c,
			  &f->d);
}

/* Compile what @f holds; it must compile (the diagnostics shown if not). */
static inline void fx_compile_parsed(struct fx *f)
{
	int rc = fx_compile_prev(f, NULL);

	if (rc)
		pw_diags_print(&f->d, stderr);
	assert_int_equal(rc, 0);
}

static inline void fx_free(struct fx *f)
{
	int i;

	pw_compiled_free(&f->c);
	if (f->have_inv)
		pw_inventory_free(&f->inv);
	pw_policy_free(&f->pol);
	pw_diags_free(&f->d);
	for (i = 0; i < f->nroles; i++)
		free(f->roles[i]);
	for (i = 0; i < f->ntags; i++)
		free(f->tags[i]);
}

#endif /* PW_TESTS_FXCOMPILE_H */
