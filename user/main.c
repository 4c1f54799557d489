/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * main.c - the portwarden command line: global options, the subcommand
 * table, help, and the exit-status and JSON-error conventions.
 *
 *	portwarden [-j|--json] [-p|--pretty] COMMAND [ARGS]
 *
 * Exit status is 0 on success and 1 on any error, never anything else.
 * With -j, stdout carries exactly one JSON document, errors included.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#ifndef PW_VERSION
#define PW_VERSION "0.1.0"
#endif

/*
 * Every command, in the order "help" lists them.  A command NAME is the
 * object pw_cmd_NAME defined in cmd_NAME.c (help is defined below).
 */
#define PW_COMMANDS(X) \
	X(check)       \
	X(export)      \
	X(load)        \
	X(unload)      \
	X(status)      \
	X(reload)      \
	X(mode)        \
	X(confirm)     \
	X(stats)       \
	X(shadow)      \
	X(exporter)    \
	X(watch)       \
	X(suggest)     \
	X(lab)         \
	X(help)

#define DECLARE_CMD(name) extern const struct pw_cmd pw_cmd_##name;
PW_COMMANDS(DECLARE_CMD)
#define LIST_CMD(name) &pw_cmd_##name,
static const struct pw_cmd *const commands[] = { PW_COMMANDS(LIST_CMD) };
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static char *first_error;

/* ------------------------------------------------------------------ */
/* Helpers for commands                                                */
/* ------------------------------------------------------------------ */

static void vreport(const char *level, const char *fmt, va_list ap,
		    bool keep)
{
	char *msg = NULL;

	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	fprintf(stderr, "portwarden: %s%s\n", level, msg ? msg : fmt);
	if (keep && !first_error && msg) {
		first_error = msg;
		return;
	}
	free(msg);
}

void pw_cli_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("", fmt, ap, true);
	va_end(ap);
}

void pw_cli_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("warning: ", fmt, ap, false);
	va_end(ap);
}

int pw_cli_bad_option(const struct pw_cmd *cmd, int c, char **argv)
{
	const char *arg = argv[optind - 1];

	if (c == ':')
		pw_cli_err("%s: option '%s' needs a value; see 'portwarden help %s'",
			   cmd->name, arg, cmd->name);
	else if (optopt && strncmp(arg, "--", 2))
		pw_cli_err("%s: unknown option '-%c'; see 'portwarden help %s'",
			   cmd->name, optopt, cmd->name);
	else
		pw_cli_err("%s: unknown option '%s'; see 'portwarden help %s'",
			   cmd->name, arg, cmd->name);
	return 1;
}

int pw_cli_split_list(const char *arg, char ***v, int *n)
{
	const char *p = arg, *end;
	char **grown;

	while (*p) {
		end = strchrnul(p, ',');
		if (end > p) {
			grown = realloc(*v, (*n + 1) * sizeof(**v));
			if (!grown)
				return -1;
			*v = grown;
			grown[*n] = strndup(p, end - p);
			if (!grown[*n])
				return -1;
			(*n)++;
		}
		p = *end ? end + 1 : end;
	}
	return 0;
}

void pw_cli_free_list(char **v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void print_usage_lines(const char *usage, FILE *out)
{
	const char *p = usage, *nl;
	bool first = true;

	while (*p) {
		nl = strchrnul(p, '\n');
		fprintf(out, "%s portwarden %.*s\n", first ? "Usage:" : "      ",
			(int)(nl - p), p);
		first = false;
		p = *nl ? nl + 1 : nl;
	}
}

void pw_cli_cmd_help(const struct pw_cmd *cmd, FILE *out)
{
	print_usage_lines(cmd->usage, out);
	fprintf(out, "\n%s\n", cmd->summary);
	if (cmd->help && *cmd->help)
		fprintf(out, "\n%s", cmd->help);
}

/* ------------------------------------------------------------------ */
/* help                                                                */
/* ------------------------------------------------------------------ */

static void main_usage(FILE *out)
{
	size_t i;

	fprintf(out,
		"Usage: portwarden [-j|--json] [-p|--pretty] COMMAND [ARGS]\n"
		"       portwarden help [COMMAND]\n"
		"       portwarden --version\n"
		"\nCommands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-10s %s\n", commands[i]->name,
			commands[i]->summary);
	fprintf(out,
		"\nGlobal options (before or after COMMAND):\n"
		"  -j, --json     print JSON on stdout (errors too)\n"
		"  -p, --pretty   indented JSON (implies --json)\n"
		"  -h, --help     this text; 'COMMAND --help' for one command\n"
		"  -V, --version  print the version\n"
		"\nA command may be shortened to any prefix that names only it.\n");
}

static void help_json(const struct pw_cmd *only)
{
	struct pw_json *j = pw_out_json();
	size_t i;

	pw_json_start_object(j, NULL);
	pw_json_start_array(j, "commands");
	for (i = 0; i < NCOMMANDS; i++) {
		if (only && only != commands[i])
			continue;
		pw_json_start_object(j, NULL);
		pw_json_string(j, "name", commands[i]->name);
		pw_json_string(j, "usage", commands[i]->usage);
		pw_json_string(j, "summary", commands[i]->summary);
		if (only)
			pw_json_string(j, "help", commands[i]->help);
		pw_json_end_object(j);
	}
	pw_json_end_array(j);
	pw_json_end_object(j);
}

static const struct pw_cmd *find_command(const char *name);

static int do_help(int argc, char **argv)
{
	const struct pw_cmd *cmd = NULL;

	if (argc > 2) {
		pw_cli_err("help: too many arguments");
		return 1;
	}
	if (argc == 2) {
		cmd = find_command(argv[1]);
		if (!cmd)
			return 1;
	}
	if (pw_out_is_json())
		help_json(cmd);
	else if (cmd)
		pw_cli_cmd_help(cmd, stdout);
	else
		main_usage(stdout);
	return 0;
}

const struct pw_cmd pw_cmd_help = {
	.name = "help",
	.usage = "help [COMMAND]",
	.summary = "Show the commands, or the usage and options of one.",
	.help = "",
	.run = do_help,
};

/* ------------------------------------------------------------------ */
/* Dispatch                                                            */
/* ------------------------------------------------------------------ */

/* An exact name, or a prefix of exactly one command. */
static const struct pw_cmd *find_command(const char *name)
{
	const struct pw_cmd *hit = NULL;
	size_t i, len = strlen(name), nhits = 0, len_list;
	char list[256] = "";

	for (i = 0; i < NCOMMANDS; i++) {
		if (!strcmp(commands[i]->name, name))
			return commands[i];
		if (len && !strncmp(commands[i]->name, name, len)) {
			hit = commands[i];
			nhits++;
			len_list = strlen(list);
			snprintf(list + len_list, sizeof(list) - len_list,
				 "%s%s", len_list ? ", " : "",
				 commands[i]->name);
		}
	}
	if (nhits == 1)
		return hit;
	if (nhits > 1)
		pw_cli_err("ambiguous command '%s': could be %s", name, list);
	else
		pw_cli_err("unknown command '%s'; see 'portwarden help'", name);
	return NULL;
}

/*
 * -j and -p may come anywhere before a "--", also after the command, so
 * that "portwarden check ... -j" works; take them out of argv before
 * anybody's getopt sees them.
 */
static void strip_global_flags(int *argc, char **argv, bool *json,
			       bool *pretty)
{
	int i, k = 1;
	bool rest = false;

	for (i = 1; i < *argc; i++) {
		const char *a = argv[i];

		if (!rest && !strcmp(a, "--"))
			rest = true;
		if (!rest && (!strcmp(a, "-j") || !strcmp(a, "--json"))) {
			*json = true;
			continue;
		}
		if (!rest && (!strcmp(a, "-p") || !strcmp(a, "--pretty"))) {
			*json = *pretty = true;
			continue;
		}
		if (!rest && (!strcmp(a, "-jp") || !strcmp(a, "-pj"))) {
			*json = *pretty = true;
			continue;
		}
		argv[k++] = argv[i];
	}
	argv[k] = NULL;
	*argc = k;
}

static int run(int argc, char **argv)
{
	const struct pw_cmd *cmd;
	const char *a;

	if (argc < 2) {
		main_usage(stderr);
		pw_cli_err("no command given");
		return 1;
	}
	a = argv[1];
	if (!strcmp(a, "-h") || !strcmp(a, "--help"))
		return do_help(1, argv);
	if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
		if (pw_out_is_json()) {
			pw_json_start_object(pw_out_json(), NULL);
			pw_json_string(pw_out_json(), "version", PW_VERSION);
			pw_json_end_object(pw_out_json());
		} else {
			printf("portwarden %s\n", PW_VERSION);
		}
		return 0;
	}
	if (a[0] == '-') {
		pw_cli_err("unknown option '%s'; see 'portwarden help'", a);
		return 1;
	}
	cmd = find_command(a);
	if (!cmd)
		return 1;
	argv[1] = (char *)cmd->name;
	optind = 0; /* glibc: full getopt reset for the command */
	return cmd->run(argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
	bool json = false, pretty = false;
	int rc;

	strip_global_flags(&argc, argv, &json, &pretty);
	pw_out_init(stdout, json, pretty);
	rc = run(argc, argv);
	if (rc && json && !pw_out_json_started()) {
		pw_json_start_object(pw_out_json(), NULL);
		pw_json_string(pw_out_json(), "error",
			       first_error ? first_error : "failed");
		pw_json_end_object(pw_out_json());
	}
	pw_out_finish();
	free(first_error);
	return rc ? 1 : 0;
}
