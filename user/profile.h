/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * profile.h - host profiles: which policy, inventory, roles, tags and mode
 * one host runs with (docs/policy-language.md, "Host profiles").
 */
#ifndef PW_PROFILE_H
#define PW_PROFILE_H

#include "diag.h"

struct pw_profile {
	char *policy;    /* path, already relative to the profile's directory */
	char *inventory; /* same; NULL when the profile names none */
	char **roles;    /* one name each (comma lists are split) */
	int nroles;
	char **tags;     /* one name each */
	int ntags;
	int mode;        /* enum pw_mode; 0 (PW_MODE_HOST) when unset */
};

/*
 * Parse a profile.  Returns 0, or -1 with errors in @d; on failure @p is
 * left freed-and-zeroed.  Role and tag names are checked for form only:
 * whether the policy declares them is the compiler's question.
 */
int pw_profile_parse_file(const char *path, struct pw_profile *p,
			  struct pw_diags *d);
/* Same, from memory; paths in it are relative to the directory of @name. */
int pw_profile_parse_buffer(const char *name, const char *text,
			    struct pw_profile *p, struct pw_diags *d);
void pw_profile_free(struct pw_profile *p);

#endif /* PW_PROFILE_H */
