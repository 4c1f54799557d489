// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fuzz_common.c - helpers shared by the libFuzzer harnesses (see
 * fuzz_common.h).
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "lexer.h"

#ifndef PW_SOURCE_ROOT
#define PW_SOURCE_ROOT "."
#endif

void fz_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("fuzz invariant broken: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

const char *fz_source_path(const char *rel, char *buf, size_t len)
{
	const char *root = getenv("PW_SOURCE_ROOT");

	snprintf(buf, len, "%s/%s", root && *root ? root : PW_SOURCE_ROOT,
		 rel);
	return buf;
}

char *fz_strdup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

bool fz_has_nul(const uint8_t *data, size_t size)
{
	return memchr(data, '\0', size) != NULL;
}

void fz_write_file(const char *path, const void *data, size_t size)
{
	FILE *f = fopen(path, "wb");

	if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f))
		fz_fail("cannot write %s", path);
}

static char fz_dir[PATH_MAX]; /* the sandbox */

void fz_sandbox_init(void)
{
	const char *env = getenv("PW_FUZZ_WORKDIR");
	char tmpl[] = "/tmp/pw-fuzz-XXXXXX";

	if (env && *env) {
		snprintf(fz_dir, sizeof(fz_dir), "%s", env);
		return;
	}
	if (!mkdtemp(tmpl))
		fz_fail("mkdtemp failed");
	snprintf(fz_dir, sizeof(fz_dir), "%s", tmpl);
}

const char *fz_sandbox_path(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", fz_dir, name);
	return buf;
}

static bool token_has_slash(const struct tok_line *tl)
{
	for (int i = 0; i < tl->n; i++)
		if (strchr(tl->v[i].text, '/'))
			return true;
	return false;
}

/*
 * Would an "include" in @text name something outside the sandbox?  The
 * input is cut into statements by the parsers' own lexer, so this sees
 * exactly the statements the policy parser will see.  A path without a
 * slash can only name an entry of the including file's directory.
 */
bool fz_include_escapes(const char *text, size_t len)
{
	struct pw_diags d = { 0 };
	struct tok_line tl = { 0 };
	struct lexer lx;
	bool escapes = false;
	int r;

	lexer_init(&lx, "scan", text, len, &d);
	while (!escapes && (r = lexer_next(&lx, &tl)) != 0)
		if (r > 0 && tl.n > 0 && tl.v[0].kind == TOK_WORD &&
		    !strcmp(tl.v[0].text, "include"))
			escapes = token_has_slash(&tl);
	tok_line_free(&tl);
	pw_diags_free(&d);
	return escapes;
}

bool fz_has_include(const char *text, size_t len)
{
	return memmem(text, len, "include", 7) != NULL;
}

void fz_check_diags(const struct pw_diags *d, int rc)
{
	static FILE *null_out;

	if (!null_out)
		null_out = fopen("/dev/null", "w");
	if (d->n != d->nerrors + d->nwarnings)
		fz_fail("%d diagnostics but %d errors + %d warnings", d->n,
			d->nerrors, d->nwarnings);
	if ((rc != 0) != (d->nerrors > 0))
		fz_fail("parse returned %d with %d errors", rc, d->nerrors);
	if (rc != 0 && rc != -1)
		fz_fail("parse returned %d, expected 0 or -1", rc);
	for (int i = 0; i < d->n; i++) {
		const struct pw_diag *dg = &d->v[i];
		char *s;

		if (dg->level != PW_DIAG_ERROR && dg->level != PW_DIAG_WARNING)
			fz_fail("diagnostic %d has level %d", i, dg->level);
		if (!dg->msg || !dg->msg[0])
			fz_fail("diagnostic %d has no message", i);
		if (dg->line < 0 || dg->col < 0)
			fz_fail("diagnostic %d at line %d col %d", i, dg->line,
				dg->col);
		s = pw_diag_format(dg);
		if (!s)
			fz_fail("diagnostic %d does not format", i);
		free(s);
	}
	if (null_out)
		pw_diags_print(d, null_out);
}

bool fz_is_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}
