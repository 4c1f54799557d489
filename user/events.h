/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * events.h - violation events (struct pw_event) as lines an operator
 * reads, and the ring buffer they come from.
 *
 * Formatting needs no kernel: a struct pw_event and a context (interface
 * name, role names, the compiled policy for rule notes, the clock offset)
 * make one text line or one JSON line, so tests feed crafted events.
 *
 *	struct pw_event_ctx ctx = { .iface = "eth0", .roles = names, ... };
 *	pw_event_ctx_sync_clock(&ctx);
 *	pw_event_format_text(&e, &ctx, line, sizeof(line));
 *	pw_event_print_json(&e, &ctx, stdout);
 *
 * The reader wraps libbpf's ring_buffer around the pinned pw_events map
 * and hands each well-formed record to a callback.
 *
 * Losses: the datapath counts in pw_stats what it could not send (token
 * bucket empty, ring buffer full); pw_event_loss_* turn two readings of
 * those counters into a report when they moved.
 */
#ifndef PW_EVENTS_H
#define PW_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "portwarden.h"
#include "compile.h"

/* What an event is shown with. */
struct pw_event_ctx {
	const char *iface;               /* NULL: "if<ifindex>" */
	const struct pw_role_name *roles; /* index = role id; may be NULL */
	uint32_t nroles;
	const struct pw_compiled *c;     /* rule notes and lines; may be NULL */
	int64_t mono_to_wall_ns;         /* CLOCK_REALTIME - CLOCK_MONOTONIC */
};

/* Measure the offset that turns the datapath's clock into wall time. */
void pw_event_ctx_sync_clock(struct pw_event_ctx *ctx);

/* Name of role @id: from ctx->roles, "unknown" for 0, else "role#N". */
void pw_event_role_name(const struct pw_event_ctx *ctx, uint32_t id,
			char *buf, size_t len);
/* Does ctx->roles name role @id (0 always counts as named)? */
bool pw_event_role_known(const struct pw_event_ctx *ctx, uint32_t id);

/* "not-allowed", "unnamed-port", "loopback"; "kind-N" otherwise (static). */
const char *pw_event_kind_name(unsigned kind);
/* "role not allowed", "unnamed port", "loopback-only port" (static). */
const char *pw_event_reason_text(unsigned kind);
/* "audited", "dropped" for the text; "audit", "drop" for JSON (static). */
const char *pw_event_verdict_text(unsigned verdict);
const char *pw_event_verdict_name(unsigned verdict);

/*
 * A TCP segment with ACK and without SYN that violates: the middle of a
 * connection nobody saw open - older than the load, or its flow record
 * expired or was evicted.  Worth a hint, not a different verdict.
 */
bool pw_event_stray_ack(const struct pw_event *e);

/* "198.18.0.1" or "2001:db8::1" of an event address (family 4 or 6). */
void pw_event_addr_text(unsigned family, const __u32 addr[4], char *buf,
			size_t len);

/*
 * Wall time of @ts_ns (CLOCK_MONOTONIC) as ISO 8601 with milliseconds:
 * local time with its offset ("2026-11-21T10:15:03.120+0100"), or UTC
 * ending in "Z" when @utc.
 */
void pw_event_time_text(const struct pw_event_ctx *ctx, uint64_t ts_ns,
			bool utc, char *buf, size_t len);

/*
 * One line (no newline) describing @e:
 *   TIME IF DIR SRC -> DST PROTO from|to ROLE: VERDICT, REASON[ by rule N
 *   "note" (file:line)][; stray TCP ACK ...][; N repeats]
 * Returns what snprintf would (the length of the full line).
 */
int pw_event_format_text(const struct pw_event *e,
			 const struct pw_event_ctx *ctx, char *buf, size_t len);

/* The same as one JSON object on one line ({"type":"event",...}\n). */
void pw_event_print_json(const struct pw_event *e,
			 const struct pw_event_ctx *ctx, FILE *out);

/* ------------------------------------------------------------------ */
/* Losses                                                              */
/* ------------------------------------------------------------------ */

/* The event counters of pw_stats, summed over CPUs. */
struct pw_event_counts {
	uint64_t sent, rate_limited, lost, repeat;
};

void pw_event_counts_from_stats(const __u64 stats[PW_NSTAT],
				struct pw_event_counts *c);

/* Did lost or rate_limited move from @prev to @now? */
bool pw_event_loss_moved(const struct pw_event_counts *prev,
			 const struct pw_event_counts *now);

/*
 * "IF: N events lost (ring buffer full), M rate-limited in the last S s
 * (since start: ...)" (no newline).  Returns what snprintf would.
 */
int pw_event_loss_text(const struct pw_event_ctx *ctx,
		       const struct pw_event_counts *prev,
		       const struct pw_event_counts *now, uint64_t seconds,
		       char *buf, size_t len);

/*
 * {"type":"loss","time":...,"iface":...,"seconds":S,"lost":N,
 *  "rate_limited":M,"sent":...,"repeat":...,"total":{...}} on one line;
 * the plain counts are the moves since @prev, "total" the counters.
 * @wall_ns: CLOCK_REALTIME of the reading.
 */
void pw_event_loss_print_json(const struct pw_event_ctx *ctx,
			      const struct pw_event_counts *prev,
			      const struct pw_event_counts *now,
			      uint64_t seconds, uint64_t wall_ns, FILE *out);

/* ------------------------------------------------------------------ */
/* Reader                                                              */
/* ------------------------------------------------------------------ */

struct pw_event_reader;

/*
 * Called for each record; a negative return stops the reading (the
 * record counts as consumed) and is what pw_event_reader_poll returns.
 */
typedef int (*pw_event_cb)(const struct pw_event *e, void *arg);

/* Read the ring buffer map @fd.  NULL with errno set on failure. */
struct pw_event_reader *pw_event_reader_new(int fd, pw_event_cb cb,
					    void *arg);
/*
 * Wait up to @timeout_ms (0: do not wait, -1: forever) for records and
 * hand each to the callback.  Returns the records handled, -EINTR when a
 * signal came, a callback's negative return, or another -errno.
 */
int pw_event_reader_poll(struct pw_event_reader *r, int timeout_ms);
/* Records whose size was not sizeof(struct pw_event): skipped. */
uint64_t pw_event_reader_malformed(const struct pw_event_reader *r);
void pw_event_reader_free(struct pw_event_reader *r);

#endif /* PW_EVENTS_H */
