/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * cmd_exporter.c - "portwarden exporter": serve the counters of every
 * loaded interface, in every namespace, to Prometheus over HTTP.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "cli.h"
#include "exporter.h"

extern const struct pw_cmd pw_cmd_exporter;

struct exporter_args {
	const char *listen;
	bool once;
};

static int parse_args(int argc, char **argv, struct exporter_args *a)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "once", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":l:h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			a->listen = optarg;
			break;
		case 'o':
			a->once = true;
			break;
		case 'h':
			pw_cli_cmd_help(&pw_cmd_exporter, stdout);
			return -2;
		default:
			pw_cli_bad_option(&pw_cmd_exporter, c, argv);
			return -1;
		}
	}
	if (optind < argc) {
		pw_cli_err("exporter: unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (a->once && a->listen) {
		pw_cli_err("exporter: --once prints one scrape and listens on "
			   "nothing: it does not combine with --listen");
		return -1;
	}
	if (pw_out_is_json()) {
		pw_cli_err("exporter: the output is Prometheus text; -j does "
			   "not apply");
		return -1;
	}
	return 0;
}

static int scrape_to_stdout(void)
{
	char err[512];

	if (pw_exporter_scrape(stdout, err, sizeof(err))) {
		pw_cli_err("exporter: %s", err);
		return -1;
	}
	fflush(stdout);
	return 0;
}

static int serve(const char *listen)
{
	struct pw_listen l;
	char err[512];

	if (pw_listen_parse(listen, &l, err, sizeof(err))) {
		pw_cli_err("exporter: --listen %s", err);
		return -1;
	}
	if (pw_exporter_check(err, sizeof(err))) {
		pw_cli_err("exporter: %s", err);
		return -1;
	}
	if (pw_exporter_serve(&l, err, sizeof(err))) {
		pw_cli_err("exporter: %s", err);
		return -1;
	}
	return 0;
}

static int do_exporter(int argc, char **argv)
{
	struct exporter_args a = { 0 };
	int err;

	err = parse_args(argc, argv, &a);
	if (err == -2)
		return 0;
	if (!err)
		err = a.once ? scrape_to_stdout()
			     : serve(a.listen ? a.listen : PW_EXPORTER_LISTEN);
	return err ? 1 : 0;
}

const struct pw_cmd pw_cmd_exporter = {
	.name = "exporter",
	.usage = "exporter [--listen ADDRESS:PORT]\n"
		 "exporter --once",
	.summary = "Serve the counters of every loaded interface to Prometheus.",
	.help =
		"Serves http://ADDRESS:PORT/metrics in the Prometheus text format: the\n"
		"counters, reasons, policy, mode and unused rules of every interface\n"
		"portwarden is loaded on, in every network namespace.  Each scrape reads\n"
		"the pinned maps afresh, so interfaces loaded or unloaded later appear or\n"
		"disappear by themselves.  / links to /metrics; other paths are 404.\n"
		"Runs until SIGINT or SIGTERM.  The metrics are listed in docs/metrics.md.\n"
		"\n"
		"Options:\n"
		"  --listen ADDRESS:PORT\n"
		"                   where to listen (default " PW_EXPORTER_LISTEN "): an IPv4\n"
		"                   address, an IPv6 one in brackets ([::1]:9610), or none\n"
		"                   for every address (:9610); port 0 takes a free port.\n"
		"                   Prints \"listening on ADDRESS:PORT\" once it listens.\n"
		"  --once           print one scrape on stdout and exit (every interface in\n"
		"                   one file, e.g. for node_exporter's textfile collector)\n"
		"  -h, --help       this text\n"
		"\n"
		"Exit status: 0 after SIGINT or SIGTERM (or a --once scrape), 1 when the\n"
		"address is bad, the port is taken, or the pins cannot be read.\n",
	.run = do_exporter,
};
