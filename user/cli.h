/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * cli.h - what a portwarden subcommand provides and may use.
 *
 * Adding a command: write user/cmd_<name>.c defining
 *
 *	const struct pw_cmd pw_cmd_<name> = { .name = "<name>", ... };
 *
 * add one X(<name>) line to PW_COMMANDS in main.c and the file to the
 * executable's sources in meson.build.  main.c strips the global options
 * (-j, -p) wherever they appear, sets up text or JSON output, resolves
 * abbreviations, and turns any non-zero return into exit status 1.
 */
#ifndef PW_CLI_H
#define PW_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "json.h"

struct pw_cmd {
	const char *name;
	/* usage lines after "portwarden ", '\n' between forms */
	const char *usage;
	const char *summary; /* one line, for the command list */
	const char *help;    /* what it does and its options */
	/* argv[0] is the command's full name; return 0, or non-zero on error */
	int (*run)(int argc, char **argv);
};

/* Print the usage of @cmd ("Usage: portwarden ...") and its help. */
void pw_cli_cmd_help(const struct pw_cmd *cmd, FILE *out);

/*
 * Report an error: "portwarden: <msg>" on stderr.  In JSON mode the first
 * one also becomes {"error": "<msg>"} on stdout if the command printed no
 * document of its own.
 */
__attribute__((format(printf, 1, 2)))
void pw_cli_err(const char *fmt, ...);
/* Same, for a warning; never changes the exit status. */
__attribute__((format(printf, 1, 2)))
void pw_cli_warn(const char *fmt, ...);

/*
 * For getopt_long loops (optstring starting with ':'): report the option
 * getopt rejected, with the command's name.  Always returns 1.
 */
int pw_cli_bad_option(const struct pw_cmd *cmd, int c, char **argv);

/* Split "a,b,c" and append each non-empty part to a growing array of
 * strdup'd strings.  Returns 0 or -1 (out of memory). */
int pw_cli_split_list(const char *arg, char ***v, int *n);
void pw_cli_free_list(char **v, int n);

#endif /* PW_CLI_H */
