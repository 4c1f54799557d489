/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * hostopts.h - command-line pieces shared by the commands that act on a
 * loaded interface (load, unload, status, reload, mode, confirm, shadow,
 * stats, suggest, watch):
 * --iface/--netns, the host settings (--policy, --inventory, --role,
 * --tag, --mode, --profile), and how their results are printed.
 *
 * One parser, told which options the command takes, so that every command
 * spells and checks them the same way.
 */
#ifndef PW_HOSTOPTS_H
#define PW_HOSTOPTS_H

#include <getopt.h>
#include <stdbool.h>

#include "cli.h"
#include "diag.h"
#include "loader.h"
#include "state.h"

/* Which options a command accepts. */
enum pw_ho_flags {
	PW_HO_IFACE = 1 << 0,    /* --iface IF */
	PW_HO_NETNS = 1 << 1,    /* --netns NAME */
	PW_HO_HOST = 1 << 2,     /* --policy --inventory --role --tag --mode --profile */
	PW_HO_XDP = 1 << 3,      /* --xdp-mode native|generic|auto */
	PW_HO_FORCE = 1 << 4,    /* --force */
	PW_HO_CONFIRM = 1 << 5,  /* --confirm SECONDS */
	PW_HO_ARGS = 1 << 6,     /* positional arguments (else an error) */
	PW_HO_TUNE = 1 << 7,     /* --egress, --flow-table ...: pw_tunables */
};

struct pw_hostopts {
	const char *iface;
	const char *netns;
	const char *policy;
	const char *inventory;
	const char *profile;
	char **roles;
	int nroles;
	char **tags;
	int ntags;
	int mode;                /* PW_MODE_HOST when --mode was not given */
	enum pw_xdp_mode xdp_mode;
	bool force;
	unsigned confirm;        /* seconds; 0 when not given */
	struct pw_tunables tun;  /* datapath settings given (tun.set) */
	char **args;             /* positional arguments (borrowed from argv) */
	int nargs;
};

/*
 * Parse @argv for @cmd.  Returns 0; 1 when --help was printed (the
 * command then exits 0); -1 after reporting an error.  Global options are
 * already gone (main.c).
 */
int pw_hostopts_parse(const struct pw_cmd *cmd, unsigned accept, int argc,
		      char **argv, struct pw_hostopts *o);
void pw_hostopts_free(struct pw_hostopts *o);

/*
 * A command's own options, parsed along with the shared ones: @opts ends
 * with { 0 } (at most PW_HO_MAX_OWN); for each one given, @take gets the
 * option's val and its argument (NULL without one) and returns 0, or -1
 * after reporting what is wrong with it.
 */
struct pw_ho_own {
	const struct option *opts;
	int (*take)(int val, const char *arg, void *ctx);
	void *ctx;
};

#define PW_HO_MAX_OWN 16

/* pw_hostopts_parse(), and @own's options too (NULL: none). */
int pw_hostopts_parse_own(const struct pw_cmd *cmd, unsigned accept,
			  const struct pw_ho_own *own, int argc, char **argv,
			  struct pw_hostopts *o);

/* --iface given?  Reports "CMD: --iface IF is needed" when not. */
int pw_hostopts_need_iface(const struct pw_cmd *cmd,
			   const struct pw_hostopts *o);

/*
 * Open the loaded interface that --iface/--netns name.  Returns 0, or a
 * negative errno after reporting "CMD: why" ("CMD: NAME: not loaded").
 */
int pw_hostopts_open(const struct pw_cmd *cmd, const struct pw_hostopts *o,
		     struct pw_loaded *l);

/*
 * Report that reading @l's maps failed with @err (a negative errno) while
 * @doing ("reading the counters"): "CMD: NAME: DOING: why", the maps'
 * own message when they left one.
 */
void pw_hostopts_read_err(const struct pw_cmd *cmd, const struct pw_loaded *l,
			  const char *doing, int err);

/*
 * The host settings to compile with, into @out (free with
 * pw_state_free()): command-line options first, then the profile's, then
 * @base's (the recorded settings, for reload; NULL for load).  Tags from
 * the command line and the profile add up; either replaces @base's.
 * Paths become absolute.  Mode defaults to @base's, else audit.  Errors
 * (a bad profile, no policy, no role) go to @d; returns 0 or -1.
 */
int pw_hostopts_settings(const struct pw_cmd *cmd, const struct pw_hostopts *o,
			 const struct pw_state *base, struct pw_state *out,
			 struct pw_diags *d);

/*
 * pw_hostopts_settings(), and the datapath settings into @tun (every
 * field set): each from the command line, else from the profile when one
 * is given (a key it lacks means the default, except the map sizes,
 * which then stay @base_tun's), else @base_tun's (NULL: the defaults).
 */
int pw_hostopts_host(const struct pw_cmd *cmd, const struct pw_hostopts *o,
		     const struct pw_state *base,
		     const struct pw_tunables *base_tun, struct pw_state *out,
		     struct pw_tunables *tun, struct pw_diags *d);

/* The lines of help that describe the datapath setting options. */
#define PW_HOSTOPTS_TUNE_HELP                                                  \
	"Datapath settings (also profile keys of the same names; see\n" \
	"portwarden-policy(5)):\n" \
	"  --egress MODE      audit (the default: the tc egress program counts and\n" \
	"                     judges what the host sends, drops nothing), enforce\n" \
	"                     (egress violations drop when the host enforces), off\n" \
	"                     (no tc program: replies to the host's own connections\n" \
	"                     are then judged on ingress as violations)\n" \
	"  --flow-table N     flow table entries (default 65536; fixed by load)\n" \
	"  --flow-timeout-tcp SECONDS, --flow-timeout-fin SECONDS,\n" \
	"  --flow-timeout-udp SECONDS\n" \
	"                     idle age of a TCP/SCTP flow (432000), of a TCP flow\n" \
	"                     after a FIN (120), of a UDP/ICMP echo flow (120)\n" \
	"  --event-rate N     violation events per second per CPU (100; 0: none)\n" \
	"  --event-burst N    events in a burst (200)\n" \
	"  --event-interval SECONDS\n" \
	"                     a violating flow is reported again after (60)\n" \
	"  --event-ring BYTES event ring buffer, a power of two (256K; fixed by\n" \
	"                     load)\n"

/*
 * Print @d through the CLI: every error with pw_cli_err (the first also
 * becomes the JSON error), every warning with pw_cli_warn; compiler
 * diagnostics keep their file:line:col.
 */
void pw_cli_diags(const struct pw_diags *d);

/*
 * The status report of one loaded interface (cmd_status.c), in the
 * current output mode: for load and reload, which show what they put in
 * force.  Returns 0, or -1 after reporting why not.
 */
int pw_status_report(const char *netns, const char *iface);

/* Local time as "2006-01-02 15:04:05", for reports. */
void pw_format_time(time_t t, char *buf, size_t len);

#endif /* PW_HOSTOPTS_H */
