// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * lexer.c - statements and tokens of policy, inventory and profile files.
 *
 * The lexer reads the buffer character by character and keeps the exact
 * physical line and column, instead of joining continued lines first:
 * joining would lose the columns of everything after the first backslash.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lexer.h"
#include "portwarden.h"

_Static_assert(PW_NAME_LEN_MAX < PW_ROLE_NAME_MAX,
	       "a role name must fit struct pw_role_name with its NUL");

/* ------------------------------------------------------------------ */
/* Allocation                                                          */
/* ------------------------------------------------------------------ */

static void *oom(void)
{
	fputs("portwarden: out of memory\n", stderr);
	abort();
}

void *pw_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	return p ? p : oom();
}

void *pw_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	return p ? p : oom();
}

void *pw_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	return p ? p : oom();
}

char *pw_xstrdup(const char *s)
{
	char *p = strdup(s);

	return p ? p : oom();
}

char *pw_xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	return p ? p : oom();
}

void pw_grow(void **v, int *cap, int need, size_t size)
{
	int ncap = *cap ? *cap : 8;

	if (need <= *cap)
		return;
	while (ncap < need)
		ncap *= 2;
	*v = pw_xrealloc(*v, (size_t)ncap * size);
	*cap = ncap;
}

/* ------------------------------------------------------------------ */
/* Files and paths                                                     */
/* ------------------------------------------------------------------ */

int pw_read_file(const char *path, char **buf, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *b = NULL;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	b = pw_xmalloc(cap);
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap) {
			cap *= 2;
			b = pw_xrealloc(b, cap);
		}
		r = read(fd, b + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	b = NULL;
out:
	free(b);
	close(fd);
	return err;
}

char *pw_path_relative_to(const char *base, const char *rel)
{
	const char *slash = strrchr(base, '/');
	size_t dlen;
	char *p;

	if (rel[0] == '/' || !slash)
		return pw_xstrdup(rel);
	dlen = (size_t)(slash - base) + 1; /* keep the slash */
	p = pw_xmalloc(dlen + strlen(rel) + 1);
	memcpy(p, base, dlen);
	strcpy(p + dlen, rel);
	return p;
}

/* ------------------------------------------------------------------ */
/* Names and keywords                                                  */
/* ------------------------------------------------------------------ */

static const char *const keywords[] = {
	"policy", "include", "role", "tag", "allow", "loopback", "from",
	"to", "on", "if", "mode", "note", "bidirectional", "any", "audit",
	"enforce", "tcp", "udp", "sctp", "icmp", "icmpv6",
};

bool pw_is_keyword(const char *s)
{
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (!strcmp(s, keywords[i]))
			return true;
	return false;
}

int pw_check_name(struct pw_diags *d, const struct pw_loc *loc,
		  const char *what, const char *name)
{
	size_t n = strlen(name);

	if (pw_is_keyword(name)) {
		pw_error(d, loc, "'%s' is a keyword and cannot be a %s", name,
			 what);
		return -1;
	}
	if (!strcmp(name, "unknown")) {
		pw_error(d, loc,
			 "'unknown' is reserved for addresses outside the inventory and cannot be a %s",
			 what);
		return -1;
	}
	if (n == 0 || name[0] < 'a' || name[0] > 'z' ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n) {
		pw_error(d, loc,
			 "bad %s '%s': expected a lowercase letter followed by lowercase letters, digits, '_' or '-'",
			 what, name);
		return -1;
	}
	if (n > PW_NAME_LEN_MAX) {
		pw_error(d, loc, "%s '%s' is too long (%zu characters): at most %d",
			 what, name, n, PW_NAME_LEN_MAX);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Tokens                                                              */
/* ------------------------------------------------------------------ */

struct pw_loc tok_loc(const char *file, const struct token *t)
{
	struct pw_loc loc = { .file = file, .line = t->line, .col = t->col };

	return loc;
}

const char *tok_desc(const struct token *t, char *buf, size_t len)
{
	const int max = 48;
	int n = (int)strlen(t->text);
	const char *cut = n > max ? "..." : "";

	if (n > max)
		n = max;
	switch (t->kind) {
	case TOK_EOL:
		snprintf(buf, len, "end of line");
		break;
	case TOK_STRING:
		snprintf(buf, len, "string \"%.*s%s\"", n, t->text, cut);
		break;
	default:
		snprintf(buf, len, "'%.*s%s'", n, t->text, cut);
		break;
	}
	return buf;
}

/* The EOL sentinel's text is a static "": only the other tokens own theirs. */
void tok_line_free(struct tok_line *tl)
{
	for (int i = 0; i < tl->n; i++)
		free(tl->v[i].text);
	free(tl->v);
	memset(tl, 0, sizeof(*tl));
}

static void tok_line_clear(struct tok_line *tl)
{
	for (int i = 0; i < tl->n; i++)
		free(tl->v[i].text);
	tl->n = 0;
}

/* Append a token; always keep room for the EOL sentinel. */
static void tok_push(struct tok_line *tl, enum tok_kind kind, char *text,
		     int line, int col)
{
	pw_grow((void **)&tl->v, &tl->cap, tl->n + 2, sizeof(*tl->v));
	tl->v[tl->n].kind = kind;
	tl->v[tl->n].text = text;
	tl->v[tl->n].line = line;
	tl->v[tl->n].col = col;
	tl->n++;
}

/* ------------------------------------------------------------------ */
/* The scanner                                                         */
/* ------------------------------------------------------------------ */

void lexer_init(struct lexer *lx, const char *file, const char *buf,
		size_t len, struct pw_diags *d)
{
	memset(lx, 0, sizeof(*lx));
	lx->file = file;
	lx->buf = buf;
	lx->len = len;
	lx->line = 1;
	lx->col = 1;
	lx->d = d;
}

/* Character at pos + @ahead, or -1 past the end. */
static int peekc(const struct lexer *lx, size_t ahead)
{
	if (lx->pos + ahead >= lx->len)
		return -1;
	return (unsigned char)lx->buf[lx->pos + ahead];
}

/* Length of the newline at pos + @ahead: 1 for \n, 2 for \r\n, else 0. */
static int newline_len(const struct lexer *lx, size_t ahead)
{
	int c = peekc(lx, ahead);

	if (c == '\n')
		return 1;
	if (c == '\r' && peekc(lx, ahead + 1) == '\n')
		return 2;
	return 0;
}

static void advance(struct lexer *lx, size_t n)
{
	lx->pos += n;
	lx->col += (int)n;
}

static void advance_newline(struct lexer *lx, int nl)
{
	lx->pos += (size_t)nl;
	lx->line++;
	lx->col = 1;
}

static bool is_word_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':' ||
	       c == '/' || c == '-' || c == ',';
}

/* Report once per statement; later errors in it would only be noise. */
__attribute__((format(printf, 4, 5)))
static void lex_error(struct lexer *lx, int line, int col, const char *fmt, ...)
{
	struct pw_loc loc = { .file = lx->file, .line = line, .col = col };
	char *msg = NULL;
	va_list ap;

	if (lx->failed)
		return;
	lx->failed = true;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	pw_error(lx->d, &loc, "%s", msg ? msg : "lexical error");
	free(msg);
}

static void mark_end(struct lexer *lx)
{
	lx->end_line = lx->line;
	lx->end_col = lx->col;
}

static void lex_word(struct lexer *lx, struct tok_line *out)
{
	int line = lx->line, col = lx->col;
	size_t start = lx->pos;

	while (peekc(lx, 0) >= 0 && is_word_char(peekc(lx, 0)))
		advance(lx, 1);
	tok_push(out, TOK_WORD,
		 pw_xstrndup(lx->buf + start, lx->pos - start), line, col);
	mark_end(lx);
}

/*
 * A string: "..." with \" and \\.  A backslash at the end of a physical
 * line continues the string on the next one and stands for one space, as
 * it does outside strings.
 */
static void lex_string(struct lexer *lx, struct tok_line *out)
{
	int line = lx->line, col = lx->col;
	size_t cap = 32, n = 0;
	char *s = pw_xmalloc(cap);

	advance(lx, 1); /* the opening quote */
	for (;;) {
		int c = peekc(lx, 0), nl;

		if (n + 2 >= cap) {
			cap *= 2;
			s = pw_xrealloc(s, cap);
		}
		if (c < 0 || newline_len(lx, 0)) {
			lex_error(lx, line, col,
				  "unterminated string: expected a closing '\"' before the end of the line");
			break;
		}
		if (c == '"') {
			advance(lx, 1);
			break;
		}
		if (c == '\\') {
			int e = peekc(lx, 1);

			nl = newline_len(lx, 1);
			if (nl) {
				advance(lx, 1);
				advance_newline(lx, nl);
				s[n++] = ' ';
				continue;
			}
			if (e == '"' || e == '\\') {
				s[n++] = (char)e;
				advance(lx, 2);
				continue;
			}
			lex_error(lx, lx->line, lx->col,
				  "unknown escape '\\%c' in string: only \\\" and \\\\ are allowed",
				  e >= 0x20 && e < 0x7f ? e : '?');
			advance(lx, 1);
			continue;
		}
		if (c == 0) {
			lex_error(lx, lx->line, lx->col,
				  "NUL byte in string: expected text");
			advance(lx, 1);
			continue;
		}
		s[n++] = (char)c;
		advance(lx, 1);
	}
	s[n] = '\0';
	tok_push(out, TOK_STRING, s, line, col);
	mark_end(lx);
}

/* A backslash that is not the last character of its line. */
static void lex_stray_backslash(struct lexer *lx)
{
	size_t i = 1;

	while (peekc(lx, i) == ' ' || peekc(lx, i) == '\t')
		i++;
	if (newline_len(lx, i) || peekc(lx, i) < 0)
		lex_error(lx, lx->line, lx->col,
			  "blanks after '\\': a continuation backslash must be the last character of the line");
	else
		lex_error(lx, lx->line, lx->col,
			  "unexpected '\\': a backslash continues a line only as its last character");
	advance(lx, 1);
}

static void lex_bad_char(struct lexer *lx, int c)
{
	if (c >= 0x21 && c < 0x7f)
		lex_error(lx, lx->line, lx->col,
			  "unexpected character '%c': expected a word, a \"string\" or a # comment",
			  c);
	else
		lex_error(lx, lx->line, lx->col,
			  "unexpected byte 0x%02x: expected a word, a \"string\" or a # comment",
			  c);
	advance(lx, 1);
}

/* Skip a comment up to (not including) the end of its physical line. */
static void skip_comment(struct lexer *lx)
{
	while (peekc(lx, 0) >= 0 && !newline_len(lx, 0))
		advance(lx, 1);
}

static int finish_statement(struct lexer *lx, struct tok_line *out)
{
	bool failed = lx->failed;

	lx->failed = false;
	if (failed) {
		tok_line_clear(out);
		return -1;
	}
	tok_push(out, TOK_EOL, (char *)"", lx->end_line, lx->end_col);
	out->n--; /* the sentinel sits just past the tokens */
	return 1;
}

int lexer_next(struct lexer *lx, struct tok_line *out)
{
	tok_line_clear(out);
	lx->failed = false;

	for (;;) {
		int c = peekc(lx, 0);
		int nl = newline_len(lx, 0);

		if (c < 0) {
			if (out->n || lx->failed)
				return finish_statement(lx, out);
			return 0;
		}
		if (nl) {
			advance_newline(lx, nl);
			if (out->n || lx->failed)
				return finish_statement(lx, out);
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\f' || c == '\v' ||
		    c == '\r') {
			advance(lx, 1);
		} else if (c == '\\') {
			nl = newline_len(lx, 1);
			if (nl) {
				advance(lx, 1);
				advance_newline(lx, nl);
			} else if (peekc(lx, 1) < 0) {
				/* a continuation into the end of input */
				advance(lx, 1);
			} else {
				lex_stray_backslash(lx);
			}
		} else if (c == '#') {
			skip_comment(lx);
		} else if (c == '"') {
			lex_string(lx, out);
		} else if (is_word_char(c)) {
			lex_word(lx, out);
		} else {
			lex_bad_char(lx, c);
		}
	}
}
