/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * fuzz_common.h - what the libFuzzer harnesses share: a private directory
 * for the files a parser may open, the "no include may leave it" check,
 * and the invariants every diagnostics list must satisfy.
 *
 * A harness that finds a broken invariant calls fz_fail(), which aborts:
 * libFuzzer then saves the input as a crash artifact like any other crash.
 */
#ifndef PW_FUZZ_COMMON_H
#define PW_FUZZ_COMMON_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

/* Report a broken invariant and abort. */
__attribute__((format(printf, 1, 2), noreturn))
void fz_fail(const char *fmt, ...);

/* "$PW_SOURCE_ROOT/@rel", or under the tree the harness was built from. */
const char *fz_source_path(const char *rel, char *buf, size_t len);

/* The input as a NUL-terminated string (which stops at an inner NUL). */
char *fz_strdup(const uint8_t *data, size_t size);
bool fz_has_nul(const uint8_t *data, size_t size);
void fz_write_file(const char *path, const void *data, size_t size);

/*
 * The sandbox: a directory that holds only what the harness puts there.
 * Inputs that reach files are written into it and parsed from there, so
 * their relative includes resolve inside it.  $PW_FUZZ_WORKDIR names it
 * (fuzz/run.sh makes and removes one); otherwise a fresh one under /tmp.
 */
void fz_sandbox_init(void);
/* Path of @name inside the sandbox. */
const char *fz_sandbox_path(const char *name, char *buf, size_t len);

/* Does the text hold the word "include" anywhere (a cheap first test)? */
bool fz_has_include(const char *text, size_t len);
/* Would an include statement in @text name a path with a slash? */
bool fz_include_escapes(const char *text, size_t len);

/*
 * What holds for any diagnostics list after any parse returning @rc: the
 * counts match the entries, every entry formats, and the parse failed
 * exactly when an error was reported.
 */
void fz_check_diags(const struct pw_diags *d, int rc);

/* Is the object all zero bytes (what a failed parse leaves)? */
bool fz_is_zero(const void *p, size_t n);

#endif /* PW_FUZZ_COMMON_H */
