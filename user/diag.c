// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * diag.c - collect errors and warnings; format them as "file:line:col: ...".
 *
 * Diagnostics are kept rather than printed so that tests can compare the
 * exact text and the CLI can choose plain or JSON output in one place.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

/* A diagnostic we cannot store is still worth showing: print it. */
static void diag_fallback(enum pw_diag_level level, const char *msg)
{
	fprintf(stderr, "portwarden: out of memory while reporting %s: %s\n",
		level == PW_DIAG_ERROR ? "an error" : "a warning",
		msg ? msg : "(message lost)");
}

static void diag_push(struct pw_diags *d, enum pw_diag_level level,
		      const struct pw_loc *loc, const char *fmt, va_list ap)
{
	struct pw_diag *dg;
	char *msg = NULL;

	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;

	/* Count first: running out of memory must not hide an error. */
	if (level == PW_DIAG_ERROR)
		d->nerrors++;
	else
		d->nwarnings++;

	if (d->n == d->cap) {
		int cap = d->cap ? d->cap * 2 : 16;
		struct pw_diag *v = realloc(d->v, cap * sizeof(*v));

		if (!v) {
			diag_fallback(level, msg);
			free(msg);
			return;
		}
		d->v = v;
		d->cap = cap;
	}
	if (!msg) {
		diag_fallback(level, NULL);
		return;
	}

	dg = &d->v[d->n++];
	dg->level = level;
	dg->file = loc && loc->file ? strdup(loc->file) : NULL;
	dg->line = loc ? loc->line : 0;
	dg->col = loc ? loc->col : 0;
	dg->msg = msg;
}

void pw_error(struct pw_diags *d, const struct pw_loc *loc, const char *fmt,
	      ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_push(d, PW_DIAG_ERROR, loc, fmt, ap);
	va_end(ap);
}

void pw_warn(struct pw_diags *d, const struct pw_loc *loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_push(d, PW_DIAG_WARNING, loc, fmt, ap);
	va_end(ap);
}

static const char *level_name(enum pw_diag_level level)
{
	return level == PW_DIAG_ERROR ? "error" : "warning";
}

/*
 * "file:line:col: level: msg".  The column is left out when it is 0, and
 * line and column both when the line is 0; without a file the text starts
 * at the level.
 */
char *pw_diag_format(const struct pw_diag *dg)
{
	const char *lvl = level_name(dg->level);
	char *s = NULL;
	int n;

	if (!dg->file)
		n = asprintf(&s, "%s: %s", lvl, dg->msg);
	else if (dg->line <= 0)
		n = asprintf(&s, "%s: %s: %s", dg->file, lvl, dg->msg);
	else if (dg->col <= 0)
		n = asprintf(&s, "%s:%d: %s: %s", dg->file, dg->line, lvl,
			     dg->msg);
	else
		n = asprintf(&s, "%s:%d:%d: %s: %s", dg->file, dg->line,
			     dg->col, lvl, dg->msg);
	return n < 0 ? NULL : s;
}

void pw_diags_print(const struct pw_diags *d, FILE *out)
{
	for (int i = 0; i < d->n; i++) {
		char *s = pw_diag_format(&d->v[i]);

		if (s)
			fprintf(out, "%s\n", s);
		free(s);
	}
}

void pw_diags_free(struct pw_diags *d)
{
	for (int i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}
