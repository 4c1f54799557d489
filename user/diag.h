/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * diag.h - errors and warnings tied to a place in an input file.
 *
 * Parsers and the compiler push diagnostics instead of printing, so that
 * tests can assert the exact text and the CLI can print them (or put them
 * into JSON) in one place.
 */
#ifndef PW_DIAG_H
#define PW_DIAG_H

#include <stdio.h>

struct pw_loc {
	const char *file; /* owned by the policy/inventory (files[]), or static */
	int line;         /* 1-based; 0 = not tied to a line */
	int col;          /* 1-based; 0 = not tied to a column */
};

enum pw_diag_level {
	PW_DIAG_WARNING = 0,
	PW_DIAG_ERROR = 1,
};

struct pw_diag {
	enum pw_diag_level level;
	char *file; /* copied, may be NULL */
	int line, col;
	char *msg;
};

struct pw_diags {
	struct pw_diag *v;
	int n, cap;
	int nerrors, nwarnings;
};

__attribute__((format(printf, 3, 4)))
void pw_error(struct pw_diags *d, const struct pw_loc *loc, const char *fmt, ...);
__attribute__((format(printf, 3, 4)))
void pw_warn(struct pw_diags *d, const struct pw_loc *loc, const char *fmt, ...);

/* "file:line:col: error: msg" per diagnostic, in order of report. */
void pw_diags_print(const struct pw_diags *d, FILE *out);
/* Formats one diagnostic the way pw_diags_print does; returns a malloc'd string. */
char *pw_diag_format(const struct pw_diag *dg);
void pw_diags_free(struct pw_diags *d);

#endif /* PW_DIAG_H */
