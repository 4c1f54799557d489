/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * cmd_watch.c - "portwarden watch": stream the violation events of a
 * loaded interface, one line each, until a signal, a count or a timeout.
 *
 * Events come from the pinned ring buffer pw_events.  The datapath sends
 * one per violating flow per event_interval_s, within a token bucket;
 * what it could not send is only counted (pw_stats), so the loss counters
 * are read every --loss-interval seconds and at exit, and reported when
 * they moved.  A reload shows as a new policy digest: role names and rule
 * notes are then read again.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "hostopts.h"
#include "events.h"
#include "report.h"
#include "state.h"

extern const struct pw_cmd pw_cmd_watch;

#define WATCH_LOSS_INTERVAL_S 10
#define WATCH_POLL_MS 500

struct watch_args {
	struct pw_hostopts ho;	/* --iface, --netns */
	unsigned long count;	/* 0: no limit */
	unsigned long timeout_s; /* 0: none */
	unsigned long loss_interval_s;
};

struct watcher {
	const struct watch_args *a;
	struct pw_loaded l;
	struct pw_report_policy p; /* for rule notes; p.ok says if usable */
	struct pw_role_name *roles;
	uint32_t nroles;
	uint64_t digest; /* of the generation the names were read for */
	struct pw_event_ctx ctx;
	struct pw_event_counts reported; /* loss counters at the last report */
	uint64_t reported_ns;		 /* CLOCK_MONOTONIC of that report */
	unsigned long printed;
	bool json;
};

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
	stop_requested = 1;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* ------------------------------------------------------------------ */
/* Arguments                                                           */
/* ------------------------------------------------------------------ */

static int parse_number(const char *opt, const char *arg, unsigned long min,
			unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || v < min ||
	    v > INT_MAX) {
		pw_cli_err("watch: %s '%s': expected a whole number from %lu",
			   opt, arg, min);
		return -1;
	}
	*out = v;
	return 0;
}

static int take_number(int val, const char *arg, void *ctx)
{
	struct watch_args *a = ctx;

	switch (val) {
	case 'c':
		return parse_number("--count", arg, 1, &a->count);
	case 't':
		return parse_number("--timeout", arg, 1, &a->timeout_s);
	case 'L':
		return parse_number("--loss-interval", arg, 1,
				    &a->loss_interval_s);
	}
	return -1;
}

/* Returns 0; 1 when --help was printed; -1 after reporting an error. */
static int parse_args(int argc, char **argv, struct watch_args *a)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "loss-interval", required_argument, NULL, 'L' },
		{ 0 },
	};
	const struct pw_ho_own own = { opts, take_number, a };
	int err;

	err = pw_hostopts_parse_own(&pw_cmd_watch, PW_HO_IFACE | PW_HO_NETNS,
				    &own, argc, argv, &a->ho);
	if (!err)
		err = pw_hostopts_need_iface(&pw_cmd_watch, &a->ho);
	return err;
}

/* ------------------------------------------------------------------ */
/* Names: roles and rule notes, read again after a reload              */
/* ------------------------------------------------------------------ */

static int read_roles(struct watcher *w)
{
	const struct pw_maps *m = &w->l.maps;
	uint32_t n = m->caps.role_cap, id;
	struct pw_role_name *roles = calloc(n ? n : 1, sizeof(*roles));
	int err = roles ? 0 : -ENOMEM;

	for (id = 0; !err && id < n; id++) {
		err = pw_maps_read_role_name(m, id, &roles[id]);
		roles[id].name[PW_ROLE_NAME_MAX - 1] = '\0';
	}
	if (err) {
		free(roles);
		return err;
	}
	free(w->roles);
	w->roles = roles;
	w->nroles = n;
	w->ctx.roles = roles;
	w->ctx.nroles = n;
	return 0;
}

static int active_digest(const struct watcher *w, uint64_t *digest)
{
	struct pw_gen_info info;
	struct pw_config cfg;
	int err;

	err = pw_maps_get_config(&w->l.maps, &cfg);
	if (!err)
		err = pw_maps_read_gen_info(&w->l.maps, cfg.active_gen & 1,
					    &info);
	if (!err)
		*digest = info.policy_digest;
	return err;
}

/* The settings file as the last load or reload left it. */
static void reread_state(struct watcher *w)
{
	char path[4096], why[512];
	struct pw_state st = { 0 };

	pw_state_path(w->a->ho.netns, w->a->ho.iface, path, sizeof(path));
	if (pw_state_read(path, &st, why, sizeof(why)))
		return; /* keep the old one: notes are a courtesy */
	pw_state_free(&w->l.st);
	w->l.st = st;
}

static void load_notes(struct watcher *w, bool warn)
{
	pw_report_policy_free(&w->p);
	pw_report_policy_load(&w->l, &w->p);
	w->ctx.c = w->p.ok ? &w->p.c : NULL;
	if (!warn)
		return;
	if (!w->p.ok)
		pw_cli_warn("watch: %s: cannot recompile the policy, so no "
			    "rule notes: %s",
			    w->l.name, w->p.why);
	else if (w->p.stale)
		pw_cli_warn("watch: %s: the policy files changed since the "
			    "last load or reload; rule notes may be outdated",
			    w->l.name);
}

/* Role names and notes for the generation in force. */
static int refresh_names(struct watcher *w, bool first)
{
	uint64_t digest;
	int err;

	err = active_digest(w, &digest);
	if (err)
		return err;
	if (!first && digest == w->digest)
		return 0;
	w->digest = digest;
	if (!first)
		reread_state(w);
	err = read_roles(w);
	if (!err)
		load_notes(w, first);
	return err;
}

/* ------------------------------------------------------------------ */
/* Events and losses                                                   */
/* ------------------------------------------------------------------ */

static int print_event(const struct pw_event *e, void *arg)
{
	struct watcher *w = arg;
	char line[1024];

	/* a role the names do not have yet came with a reload */
	if (!pw_event_role_known(&w->ctx, e->role))
		refresh_names(w, false);
	if (!pw_event_role_known(&w->ctx, e->role))
		read_roles(w);
	if (w->json) {
		pw_event_print_json(e, &w->ctx, stdout);
	} else {
		pw_event_format_text(e, &w->ctx, line, sizeof(line));
		printf("%s\n", line);
	}
	w->printed++;
	if (w->a->count && w->printed >= w->a->count)
		return -ECANCELED; /* stops the reading: enough */
	return 0;
}

static int read_counts(const struct watcher *w, struct pw_event_counts *c)
{
	__u64 stats[PW_NSTAT];
	int err;

	err = pw_maps_read_stats(&w->l.maps, stats);
	if (!err)
		pw_event_counts_from_stats(stats, c);
	return err;
}

/* Report the loss counters if they moved since the last report. */
static void report_losses(struct watcher *w)
{
	struct pw_event_counts now;
	uint64_t t = mono_ns(), secs;
	char text[512];

	if (read_counts(w, &now))
		return;
	secs = (t - w->reported_ns + 500000000ULL) / 1000000000ULL;
	if (pw_event_loss_moved(&w->reported, &now)) {
		if (w->json) {
			pw_event_loss_print_json(&w->ctx, &w->reported, &now,
						 secs, wall_ns(), stdout);
		} else {
			pw_event_loss_text(&w->ctx, &w->reported, &now, secs,
					   text, sizeof(text));
			pw_cli_warn("watch: %s", text);
		}
	}
	w->reported = now;
	w->reported_ns = t;
}

/* Is the interface still loaded (its ring buffer still pinned)? */
static bool still_loaded(const struct watcher *w)
{
	char dir[4096], path[4200];

	pw_pin_dir(w->a->ho.netns, w->a->ho.iface, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/pw_events", dir);
	return access(path, F_OK) == 0;
}

/* Every loss interval: losses, the clock offset, a reload, an unload. */
static bool tick(struct watcher *w)
{
	report_losses(w);
	pw_event_ctx_sync_clock(&w->ctx);
	refresh_names(w, false);
	if (!still_loaded(w)) {
		pw_cli_warn("watch: %s was unloaded; stopping", w->l.name);
		return false;
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* The loop                                                            */
/* ------------------------------------------------------------------ */

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };

	/* no SA_RESTART: the wait for events must return on a signal */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* Milliseconds to wait next: never past the timeout or the next tick. */
static int next_wait_ms(const struct watcher *w, uint64_t deadline_ns)
{
	uint64_t now = mono_ns(), until = now + WATCH_POLL_MS * 1000000ULL;
	uint64_t tick_at =
		w->reported_ns + w->a->loss_interval_s * 1000000000ULL;

	if (deadline_ns && deadline_ns < until)
		until = deadline_ns;
	if (tick_at < until)
		until = tick_at;
	return until > now ? (int)((until - now + 999999) / 1000000) : 0;
}

enum watch_end { END_SIGNAL, END_COUNT, END_TIMEOUT, END_UNLOADED,
		 END_ERROR };

static enum watch_end watch_loop(struct watcher *w,
				 struct pw_event_reader *r)
{
	uint64_t deadline = w->a->timeout_s ?
		mono_ns() + w->a->timeout_s * 1000000000ULL : 0;
	int n;

	while (!stop_requested) {
		n = pw_event_reader_poll(r, next_wait_ms(w, deadline));
		if (n == -ECANCELED)
			return END_COUNT;
		if (n < 0 && n != -EINTR) {
			pw_cli_err("watch: %s: reading events: %s", w->l.name,
				   strerror(-n));
			return END_ERROR;
		}
		if (deadline && mono_ns() >= deadline)
			return END_TIMEOUT;
		if (mono_ns() - w->reported_ns >=
			    w->a->loss_interval_s * 1000000000ULL &&
		    !tick(w))
			return END_UNLOADED;
	}
	return END_SIGNAL;
}

static int watcher_open(struct watcher *w)
{
	struct pw_config cfg;
	int rc;

	rc = pw_hostopts_open(&pw_cmd_watch, &w->a->ho, &w->l);
	if (rc)
		return rc;
	w->ctx.iface = w->l.iface;
	pw_event_ctx_sync_clock(&w->ctx);
	rc = refresh_names(w, true);
	if (!rc)
		rc = read_counts(w, &w->reported);
	if (rc) {
		pw_hostopts_read_err(&pw_cmd_watch, &w->l, "reading the maps",
				     rc);
		return rc;
	}
	w->reported_ns = mono_ns();
	if (!pw_maps_get_config(&w->l.maps, &cfg) && cfg.event_rate == 0)
		pw_cli_warn("watch: %s: the event rate is 0, so the datapath "
			    "sends no events",
			    w->l.name);
	return 0;
}

static void watcher_close(struct watcher *w)
{
	pw_report_policy_free(&w->p);
	free(w->roles);
	pw_loaded_close(&w->l);
}

static int run_watch(const struct watch_args *a)
{
	struct watcher w = { .a = a, .json = pw_out_is_json() };
	struct pw_event_reader *r = NULL;
	enum watch_end end = END_ERROR;
	int rc;

	rc = watcher_open(&w);
	if (rc)
		goto out;
	r = pw_event_reader_new(w.l.maps.events, print_event, &w);
	if (!r) {
		rc = -errno;
		pw_cli_err("watch: %s: cannot read the ring buffer pw_events: "
			   "%s", w.l.name, strerror(errno));
		goto out;
	}
	end = watch_loop(&w, r);
	report_losses(&w);
	if (pw_event_reader_malformed(r))
		pw_cli_warn("watch: %s: %llu records of an unexpected size "
			    "skipped (portwarden binary older than the loaded "
			    "program?)",
			    w.l.name,
			    (unsigned long long)pw_event_reader_malformed(r));
	if (end == END_ERROR) {
		rc = -EIO;
	} else if (end == END_TIMEOUT && a->count) {
		pw_cli_err("watch: %s: %lu of %lu events in %lu s", w.l.name,
			   w.printed, a->count, a->timeout_s);
		rc = -ETIMEDOUT;
	}
out:
	fflush(stdout);
	pw_event_reader_free(r);
	watcher_close(&w);
	return rc;
}

static int do_watch(int argc, char **argv)
{
	struct watch_args a = { .loss_interval_s = WATCH_LOSS_INTERVAL_S };
	int err;

	/* one line at a time, also into a pipe or the journal */
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* first: a stop asked for while the maps open is a stop too */
	install_signals();
	err = parse_args(argc, argv, &a);
	if (err == 1) { /* --help printed */
		err = 0;
		goto out;
	}
	if (!err)
		err = run_watch(&a);
out:
	pw_hostopts_free(&a.ho);
	return err ? 1 : 0;
}

const struct pw_cmd pw_cmd_watch = {
	.name = "watch",
	.usage = "watch --iface IF [--netns NAME] [--count N] [--timeout S] "
		 "[--loss-interval S]",
	.summary = "Stream the violation events of a loaded interface.",
	.help =
		"Prints one line per violation event as the datapath reports it: the\n"
		"time, interface, direction, source address:port -> destination\n"
		"address:port, protocol, the peer's role (the source on ingress, the\n"
		"destination on egress), audited or dropped, and why: the role is not\n"
		"allowed by the rule naming the port (with its note and line), no rule\n"
		"names the port, or the port is loopback-only.  A TCP ACK without SYN\n"
		"gets a hint (a connection older than the load); 'N repeats' counts the\n"
		"flow's violating packets since its previous event.\n"
		"\n"
		"The datapath reports a violating flow once per event interval (60 s by\n"
		"default), within a rate limit; events it could not send are counted.\n"
		"Those counters are checked every --loss-interval seconds and at exit,\n"
		"and a warning (with -j a {\"type\":\"loss\"} line) says when they moved.\n"
		"Output is line-buffered, so that under systemd each event is one journal\n"
		"entry (contrib/systemd/portwarden-watch@.service).  Reading consumes:\n"
		"two watch processes on one interface share the events out between them.\n"
		"\n"
		"Options:\n"
		"  --iface IF           the interface\n"
		"  --netns NAME         the interface lives in network namespace NAME\n"
		"  --count N            stop after N events\n"
		"  --timeout S          stop after S seconds\n"
		"  --loss-interval S    check the loss counters every S seconds (10)\n"
		"  -j, --json           one JSON object per line: {\"type\":\"event\",...}\n"
		"                       and {\"type\":\"loss\",...}\n"
		"  -h, --help           this text\n"
		"\n"
		"Exit status: 0 when stopped by SIGINT or SIGTERM, by --count, or by\n"
		"--timeout without --count; 1 on an error, or when --timeout came before\n"
		"--count events.\n",
	.run = do_watch,
};
