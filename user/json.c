/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * json.c - streaming JSON writer and text-or-JSON output helpers.
 *
 * The writer tracks one bit of state per open container (has it a member
 * yet?) so that it alone decides where commas go; a caller can therefore
 * never produce invalid JSON by forgetting one.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define JSON_MAX_DEPTH 64

struct pw_json {
	FILE *out;
	bool pretty;
	int depth;
	bool started;
	bool has_member[JSON_MAX_DEPTH + 1]; /* per open container */
	char closer[JSON_MAX_DEPTH + 1];     /* '}' or ']' */
};

struct pw_json *pw_json_new(FILE *out, bool pretty)
{
	struct pw_json *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->out = out;
	j->pretty = pretty;
	return j;
}

bool pw_json_started(const struct pw_json *j)
{
	return j && j->started;
}

static void indent(struct pw_json *j)
{
	int i;

	if (!j->pretty)
		return;
	fputc('\n', j->out);
	for (i = 0; i < j->depth; i++)
		fputs("  ", j->out);
}

void pw_json_escape(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', out);
	for (; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		case '\b':
			fputs("\\b", out);
			break;
		case '\f':
			fputs("\\f", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(out, "\\u%04x", *p);
			else
				fputc(*p, out);
		}
	}
	fputc('"', out);
}

/* Everything that goes before a value: comma, newline, indent, key. */
static void begin_value(struct pw_json *j, const char *key)
{
	if (j->depth > 0) {
		if (j->has_member[j->depth])
			fputc(',', j->out);
		j->has_member[j->depth] = true;
		indent(j);
		if (j->closer[j->depth] == '}') {
			pw_json_escape(j->out, key ? key : "");
			fputs(j->pretty ? ": " : ":", j->out);
		}
	} else if (j->started) {
		/* a second top-level value: keep the stream parseable as
		 * JSON lines */
		fputc('\n', j->out);
	}
	j->started = true;
}

static void open_container(struct pw_json *j, const char *key, char open,
			   char close)
{
	begin_value(j, key);
	fputc(open, j->out);
	if (j->depth < JSON_MAX_DEPTH) {
		j->depth++;
		j->has_member[j->depth] = false;
		j->closer[j->depth] = close;
	}
}

static void close_container(struct pw_json *j)
{
	bool had = j->has_member[j->depth];
	char c = j->closer[j->depth];

	if (j->depth == 0)
		return;
	j->depth--;
	if (had)
		indent(j);
	fputc(c, j->out);
}

void pw_json_start_object(struct pw_json *j, const char *key)
{
	open_container(j, key, '{', '}');
}

void pw_json_end_object(struct pw_json *j)
{
	close_container(j);
}

void pw_json_start_array(struct pw_json *j, const char *key)
{
	open_container(j, key, '[', ']');
}

void pw_json_end_array(struct pw_json *j)
{
	close_container(j);
}

void pw_json_string(struct pw_json *j, const char *key, const char *s)
{
	begin_value(j, key);
	if (s)
		pw_json_escape(j->out, s);
	else
		fputs("null", j->out);
}

void pw_json_stringf(struct pw_json *j, const char *key, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	pw_json_string(j, key, s);
	free(s);
}

void pw_json_int(struct pw_json *j, const char *key, int64_t v)
{
	begin_value(j, key);
	fprintf(j->out, "%lld", (long long)v);
}

void pw_json_uint(struct pw_json *j, const char *key, uint64_t v)
{
	begin_value(j, key);
	fprintf(j->out, "%llu", (unsigned long long)v);
}

void pw_json_bool(struct pw_json *j, const char *key, bool v)
{
	begin_value(j, key);
	fputs(v ? "true" : "false", j->out);
}

void pw_json_null(struct pw_json *j, const char *key)
{
	begin_value(j, key);
	fputs("null", j->out);
}

void pw_json_destroy(struct pw_json *j)
{
	if (!j)
		return;
	while (j->depth > 0)
		close_container(j);
	if (j->started)
		fputc('\n', j->out);
	fflush(j->out);
	free(j);
}

/* ------------------------------------------------------------------ */
/* Text-or-JSON output                                                 */
/* ------------------------------------------------------------------ */

static struct pw_json *out_json;
static FILE *out_file;

void pw_out_init(FILE *out, bool json, bool pretty)
{
	pw_out_finish();
	out_file = out;
	if (json)
		out_json = pw_json_new(out, pretty);
}

void pw_out_finish(void)
{
	pw_json_destroy(out_json);
	out_json = NULL;
	if (out_file)
		fflush(out_file);
}

bool pw_out_is_json(void)
{
	return out_json != NULL;
}

struct pw_json *pw_out_json(void)
{
	return out_json;
}

bool pw_out_json_started(void)
{
	return pw_json_started(out_json);
}

static FILE *text_out(void)
{
	return out_file ? out_file : stdout;
}

/* Should a field of @kind print in the current mode? */
static bool wanted(int kind)
{
	return kind & (out_json ? PW_OUT_JSON : PW_OUT_TEXT);
}

void pw_out_open_object(const char *key)
{
	if (out_json)
		pw_json_start_object(out_json, key);
}

void pw_out_close_object(void)
{
	if (out_json)
		pw_json_end_object(out_json);
}

void pw_out_open_array(const char *key)
{
	if (out_json)
		pw_json_start_array(out_json, key);
}

void pw_out_close_array(void)
{
	if (out_json)
		pw_json_end_array(out_json);
}

void pw_print_string(int kind, const char *key, const char *fmt,
		     const char *value)
{
	if (!wanted(kind))
		return;
	if (out_json)
		pw_json_string(out_json, key, value);
	else if (fmt)
		fprintf(text_out(), fmt, value ? value : "");
}

void pw_print_uint(int kind, const char *key, const char *fmt, uint64_t value)
{
	if (!wanted(kind))
		return;
	if (out_json)
		pw_json_uint(out_json, key, value);
	else if (fmt)
		fprintf(text_out(), fmt, (unsigned long long)value);
}

void pw_print_int(int kind, const char *key, const char *fmt, int64_t value)
{
	if (!wanted(kind))
		return;
	if (out_json)
		pw_json_int(out_json, key, value);
	else if (fmt)
		fprintf(text_out(), fmt, (long long)value);
}

void pw_print_bool(int kind, const char *key, const char *fmt, bool value)
{
	if (!wanted(kind))
		return;
	if (out_json)
		pw_json_bool(out_json, key, value);
	else if (fmt)
		fprintf(text_out(), fmt, value ? "yes" : "no");
}

void pw_print_text(const char *fmt, ...)
{
	va_list ap;

	if (out_json)
		return;
	va_start(ap, fmt);
	vfprintf(text_out(), fmt, ap);
	va_end(ap);
}
