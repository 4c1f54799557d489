/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * lexer.h - internal: the tokenizer shared by the policy, inventory and
 * profile parsers, plus the few helpers they all need.
 *
 * Input is cut into statements: one logical line each, after joining
 * physical lines that end in a backslash.  Every token keeps the 1-based
 * line and column of its first character in its physical line, so that a
 * diagnostic can point at it exactly.
 */
#ifndef PW_LEXER_H
#define PW_LEXER_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

enum tok_kind {
	TOK_WORD,   /* letters, digits and _ . : / - , */
	TOK_STRING, /* "..." with the escapes resolved */
	TOK_EOL,    /* end of the statement */
};

struct token {
	enum tok_kind kind;
	char *text; /* NUL-terminated; "" for TOK_EOL */
	int line, col;
};

/* The tokens of one statement; v[n] is always a TOK_EOL token. */
struct tok_line {
	struct token *v;
	int n, cap;
};

struct lexer {
	const char *file; /* for diagnostics; not owned */
	const char *buf;
	size_t len, pos;
	int line, col;           /* of buf[pos] */
	int end_line, end_col;   /* just past the last token of the statement */
	bool failed;             /* the statement being read had an error */
	struct pw_diags *d;
};

void lexer_init(struct lexer *lx, const char *file, const char *buf,
		size_t len, struct pw_diags *d);

/*
 * Read the next statement into @out (emptied first).  Returns 1 when a
 * statement was read, 0 at the end of the input, and -1 when the statement
 * had a lexical error: it has been reported, its tokens are dropped, and
 * the caller simply asks for the next one.
 */
int lexer_next(struct lexer *lx, struct tok_line *out);
void tok_line_free(struct tok_line *tl);

/* Location of a token in @file. */
struct pw_loc tok_loc(const char *file, const struct token *t);

/*
 * Describe a token for a message: 'word', string "text", end of line.
 * Long texts are cut.  Returns @buf.
 */
const char *tok_desc(const struct token *t, char *buf, size_t len);
#define TOK_DESC_MAX 96

/*
 * Longest name (role, tag, policy) the language allows.  Role names live
 * in pw_role_name entries too, which are sized for literal IPv6 peers.
 */
#define PW_NAME_LEN_MAX 31

/* Is @s one of the language's keywords? */
bool pw_is_keyword(const char *s);

/*
 * Check a name (role, tag, policy) against [a-z][a-z0-9_-]*, at most 31
 * characters, not a keyword, not a reserved word.  On failure reports an
 * error at @loc that names @what ("role name", ...) and returns -1.
 */
int pw_check_name(struct pw_diags *d, const struct pw_loc *loc,
		  const char *what, const char *name);

/* Read a whole file; NUL-terminated.  Returns 0 or -errno. */
int pw_read_file(const char *path, char **buf, size_t *len);

/* Path of @rel as seen from the directory of @base (malloc'd). */
char *pw_path_relative_to(const char *base, const char *rel);

/*
 * Allocation that cannot fail: a parser has nothing sensible to do when
 * memory runs out halfway through a file, so it stops the program with a
 * message instead of returning half-built trees.
 */
void *pw_xmalloc(size_t n);
void *pw_xcalloc(size_t n, size_t size);
void *pw_xrealloc(void *p, size_t n);
char *pw_xstrdup(const char *s);
char *pw_xstrndup(const char *s, size_t n);

/* Grow an array of @size-byte elements so that it holds @need. */
void pw_grow(void **v, int *cap, int need, size_t size);

#endif /* PW_LEXER_H */
