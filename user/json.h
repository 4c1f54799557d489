/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * json.h - a small streaming JSON writer, and output helpers that print a
 * field either as text or as JSON from one call site.
 *
 * Writer: every value call takes a key, which is used inside objects and
 * must be NULL inside arrays and at the top level.  The writer keeps the
 * nesting itself, so callers never place commas or colons:
 *
 *	struct pw_json *j = pw_json_new(stdout, true);
 *	pw_json_start_object(j, NULL);
 *	pw_json_string(j, "name", "db");
 *	pw_json_start_array(j, "ports");
 *	pw_json_uint(j, NULL, 3306);
 *	pw_json_end_array(j);
 *	pw_json_end_object(j);
 *	pw_json_destroy(j);	(ends the document with a newline)
 *
 * Output helpers: the CLI sets the mode once (pw_out_init()); a command
 * then describes each field once, with a printf format for the text form
 * and a key for the JSON form.  Each helper takes a PW_OUT_* mask saying
 * in which modes it prints, so a field can be text-only or JSON-only.
 */
#ifndef PW_JSON_H
#define PW_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct pw_json;

struct pw_json *pw_json_new(FILE *out, bool pretty);
/* Closes whatever is still open, ends the line, frees.  NULL is fine. */
void pw_json_destroy(struct pw_json *j);
/* True once any value has been written. */
bool pw_json_started(const struct pw_json *j);

void pw_json_start_object(struct pw_json *j, const char *key);
void pw_json_end_object(struct pw_json *j);
void pw_json_start_array(struct pw_json *j, const char *key);
void pw_json_end_array(struct pw_json *j);

/* A NULL @s is written as null. */
void pw_json_string(struct pw_json *j, const char *key, const char *s);
__attribute__((format(printf, 3, 4)))
void pw_json_stringf(struct pw_json *j, const char *key, const char *fmt, ...);
void pw_json_int(struct pw_json *j, const char *key, int64_t v);
void pw_json_uint(struct pw_json *j, const char *key, uint64_t v);
void pw_json_bool(struct pw_json *j, const char *key, bool v);
void pw_json_null(struct pw_json *j, const char *key);

/* Writes @s as a quoted JSON string with every needed escape. */
void pw_json_escape(FILE *out, const char *s);

/* ------------------------------------------------------------------ */
/* Text-or-JSON output                                                 */
/* ------------------------------------------------------------------ */

enum pw_out_kind {
	PW_OUT_TEXT = 1 << 0,
	PW_OUT_JSON = 1 << 1,
	PW_OUT_ANY = PW_OUT_TEXT | PW_OUT_JSON,
};

/* Select the mode for the whole run; JSON goes to @out, as does text. */
void pw_out_init(FILE *out, bool json, bool pretty);
/* Ends the JSON document (if one was started) and frees the writer. */
void pw_out_finish(void);
bool pw_out_is_json(void);
/* The JSON writer in JSON mode, else NULL (for callers that need more). */
struct pw_json *pw_out_json(void);
/* True once anything was printed to the output in JSON mode. */
bool pw_out_json_started(void);

/* JSON only: containers (no-ops in text mode). */
void pw_out_open_object(const char *key);
void pw_out_close_object(void);
void pw_out_open_array(const char *key);
void pw_out_close_array(void);

/*
 * Print a field.  In text mode @fmt is a printf format for the one value
 * (it may carry labels and padding): "%s" for strings and bools (printed
 * "yes"/"no"), "%llu" for unsigned, "%lld" for signed values; a NULL @fmt
 * prints nothing.  In JSON mode @key names the value (NULL inside arrays).
 * @kind restricts the modes.
 */
void pw_print_string(int kind, const char *key, const char *fmt,
		     const char *value);
void pw_print_uint(int kind, const char *key, const char *fmt, uint64_t value);
void pw_print_int(int kind, const char *key, const char *fmt, int64_t value);
void pw_print_bool(int kind, const char *key, const char *fmt, bool value);
/* Text only: free-form text (headings, newlines). */
__attribute__((format(printf, 1, 2)))
void pw_print_text(const char *fmt, ...);

#endif /* PW_JSON_H */
