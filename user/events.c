/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * events.c - violation events as text and JSON lines, loss reports, and
 * the ring buffer reader.  See events.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/libbpf.h>

#include "events.h"
#include "json.h"
#include "report.h"

#define PW_TCP_SYN 0x02
#define PW_TCP_ACK 0x10

/* ------------------------------------------------------------------ */
/* Names                                                               */
/* ------------------------------------------------------------------ */

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

void pw_event_ctx_sync_clock(struct pw_event_ctx *ctx)
{
	uint64_t mono = clock_ns(CLOCK_MONOTONIC);
	uint64_t wall = clock_ns(CLOCK_REALTIME);

	ctx->mono_to_wall_ns = (int64_t)(wall - mono);
}

bool pw_event_role_known(const struct pw_event_ctx *ctx, uint32_t id)
{
	if (id == PW_ROLE_UNKNOWN)
		return true;
	return ctx->roles && id < ctx->nroles && ctx->roles[id].name[0];
}

void pw_event_role_name(const struct pw_event_ctx *ctx, uint32_t id,
			char *buf, size_t len)
{
	if (id != PW_ROLE_UNKNOWN && pw_event_role_known(ctx, id))
		snprintf(buf, len, "%.*s", PW_ROLE_NAME_MAX - 1,
			 ctx->roles[id].name);
	else if (id == PW_ROLE_UNKNOWN)
		snprintf(buf, len, "unknown");
	else
		snprintf(buf, len, "role#%u", id);
}

const char *pw_event_kind_name(unsigned kind)
{
	switch (kind) {
	case PW_EVENT_NOT_ALLOWED:
		return "not-allowed";
	case PW_EVENT_UNNAMED_PORT:
		return "unnamed-port";
	case PW_EVENT_LOOPBACK:
		return "loopback";
	default:
		return "unknown-kind";
	}
}

const char *pw_event_reason_text(unsigned kind)
{
	switch (kind) {
	case PW_EVENT_NOT_ALLOWED:
		return "role not allowed";
	case PW_EVENT_UNNAMED_PORT:
		return "unnamed port";
	case PW_EVENT_LOOPBACK:
		return "loopback-only port";
	default:
		return "unknown reason";
	}
}

const char *pw_event_verdict_text(unsigned verdict)
{
	switch (verdict) {
	case PW_VERDICT_AUDIT:
		return "audited";
	case PW_VERDICT_DROP:
		return "dropped";
	case PW_VERDICT_ALLOW:
		return "allowed";
	default:
		return "unknown verdict";
	}
}

const char *pw_event_verdict_name(unsigned verdict)
{
	switch (verdict) {
	case PW_VERDICT_AUDIT:
		return "audit";
	case PW_VERDICT_DROP:
		return "drop";
	case PW_VERDICT_ALLOW:
		return "allow";
	default:
		return "unknown";
	}
}

bool pw_event_stray_ack(const struct pw_event *e)
{
	return e->proto == PW_IPPROTO_TCP && (e->tcp_flags & PW_TCP_ACK) &&
	       !(e->tcp_flags & PW_TCP_SYN);
}

void pw_event_addr_text(unsigned family, const __u32 addr[4], char *buf,
			size_t len)
{
	char text[INET6_ADDRSTRLEN];

	if (!inet_ntop(family == 6 ? AF_INET6 : AF_INET, addr, text,
		       sizeof(text)))
		snprintf(text, sizeof(text), "?");
	snprintf(buf, len, "%s", text);
}

void pw_event_time_text(const struct pw_event_ctx *ctx, uint64_t ts_ns,
			bool utc, char *buf, size_t len)
{
	uint64_t wall = ts_ns + (uint64_t)ctx->mono_to_wall_ns;
	time_t secs = (time_t)(wall / 1000000000ULL);
	unsigned ms = (unsigned)(wall % 1000000000ULL / 1000000U);
	char date[32], zone[8] = "Z";
	struct tm tm;

	if (utc) {
		gmtime_r(&secs, &tm);
	} else {
		localtime_r(&secs, &tm);
		strftime(zone, sizeof(zone), "%z", &tm);
	}
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03u%s", date, ms, zone);
}

/* ------------------------------------------------------------------ */
/* One event                                                           */
/* ------------------------------------------------------------------ */

static bool has_ports(unsigned ipproto)
{
	return ipproto == PW_IPPROTO_TCP || ipproto == PW_IPPROTO_UDP ||
	       ipproto == PW_IPPROTO_SCTP;
}

static bool is_icmp(unsigned ipproto)
{
	return ipproto == PW_IPPROTO_ICMP || ipproto == PW_IPPROTO_ICMPV6;
}

/* "198.18.0.1:80", "[2001:db8::1]:80", or the bare address. */
static void endpoint_text(const struct pw_event *e, const __u32 addr[4],
			  unsigned port, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	pw_event_addr_text(e->family, addr, a, sizeof(a));
	if (!has_ports(e->proto))
		snprintf(buf, len, "%s", a);
	else if (e->family == 6)
		snprintf(buf, len, "[%s]:%u", a, port);
	else
		snprintf(buf, len, "%s:%u", a, port);
}

/* The rule an event names, when the policy is known. */
static const struct pw_rule *event_rule(const struct pw_event *e,
					const struct pw_event_ctx *ctx)
{
	if (!ctx->c || e->rule_id == PW_RULE_NONE)
		return NULL;
	return pw_compiled_rule(ctx->c, e->rule_id);
}

/* "file.policy:12": the rule's place, without the directories. */
static void rule_place(const struct pw_rule *rule, char *buf, size_t len)
{
	const char *file = rule->loc.file ? rule->loc.file : "?";
	const char *slash = strrchr(file, '/');

	snprintf(buf, len, "%s:%d", slash ? slash + 1 : file, rule->loc.line);
}

/* Appends to a fixed buffer, keeping the length snprintf would give. */
struct line {
	char *buf;
	size_t len;
	size_t pos;
};

__attribute__((format(printf, 2, 3)))
static void line_add(struct line *l, const char *fmt, ...)
{
	size_t room = l->pos < l->len ? l->len - l->pos : 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(room ? l->buf + l->pos : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->pos += (size_t)n;
}

static void text_flow(struct line *l, const struct pw_event *e)
{
	char src[INET6_ADDRSTRLEN + 8], dst[INET6_ADDRSTRLEN + 8], proto[16];

	endpoint_text(e, e->saddr, e->sport, src, sizeof(src));
	endpoint_text(e, e->daddr, e->dport, dst, sizeof(dst));
	pw_report_proto_name(e->proto, proto, sizeof(proto));
	line_add(l, " %s -> %s %s", src, dst, proto);
	if (is_icmp(e->proto))
		line_add(l, " type %u", e->dport);
}

static void text_rule(struct line *l, const struct pw_event *e,
		      const struct pw_event_ctx *ctx)
{
	const struct pw_rule *rule = event_rule(e, ctx);
	char place[128];

	if (e->rule_id == PW_RULE_NONE)
		return;
	line_add(l, " %s rule %u", e->kind == PW_EVENT_LOOPBACK ? "of" : "by",
		 e->rule_id);
	if (!rule)
		return;
	rule_place(rule, place, sizeof(place));
	if (rule->note)
		line_add(l, " \"%s\"", rule->note);
	line_add(l, " (%s)", place);
}

int pw_event_format_text(const struct pw_event *e,
			 const struct pw_event_ctx *ctx, char *buf, size_t len)
{
	struct line l = { .buf = buf, .len = len };
	char when[48], role[PW_ROLE_NAME_MAX + 16];

	if (len)
		buf[0] = '\0';
	pw_event_time_text(ctx, e->ts_ns, false, when, sizeof(when));
	pw_event_role_name(ctx, e->role, role, sizeof(role));
	line_add(&l, "%s ", when);
	if (ctx->iface)
		line_add(&l, "%s", ctx->iface);
	else
		line_add(&l, "if%u", e->ifindex);
	line_add(&l, " %s", e->dir == PW_DIR_EGRESS ? "egress" : "ingress");
	text_flow(&l, e);
	/* the peer: who sent it on ingress, who it goes to on egress */
	line_add(&l, " %s %s: %s, %s", e->dir == PW_DIR_EGRESS ? "to" : "from",
		 role, pw_event_verdict_text(e->verdict),
		 pw_event_reason_text(e->kind));
	text_rule(&l, e, ctx);
	if (pw_event_stray_ack(e))
		line_add(&l, "; stray TCP ACK: a connection older than the "
			     "load, or whose flow record expired");
	if (e->repeats)
		line_add(&l, "; %u repeats", e->repeats);
	return (int)l.pos;
}

static void json_addr(struct pw_json *j, const char *key,
		      const struct pw_event *e, const __u32 addr[4])
{
	char a[INET6_ADDRSTRLEN];

	pw_event_addr_text(e->family, addr, a, sizeof(a));
	pw_json_string(j, key, a);
}

static void json_rule(struct pw_json *j, const struct pw_event *e,
		      const struct pw_event_ctx *ctx)
{
	const struct pw_rule *rule = event_rule(e, ctx);
	char place[128];

	if (e->rule_id == PW_RULE_NONE)
		pw_json_null(j, "rule_id");
	else
		pw_json_uint(j, "rule_id", e->rule_id);
	if (!rule)
		return;
	rule_place(rule, place, sizeof(place));
	pw_json_string(j, "rule_note", rule->note);
	pw_json_string(j, "rule_line", place);
}

void pw_event_print_json(const struct pw_event *e,
			 const struct pw_event_ctx *ctx, FILE *out)
{
	struct pw_json *j = pw_json_new(out, false);
	char when[48], role[PW_ROLE_NAME_MAX + 16], proto[16];

	if (!j)
		return;
	pw_event_time_text(ctx, e->ts_ns, true, when, sizeof(when));
	pw_event_role_name(ctx, e->role, role, sizeof(role));
	pw_report_proto_name(e->proto, proto, sizeof(proto));
	pw_json_start_object(j, NULL);
	pw_json_string(j, "type", "event");
	pw_json_string(j, "time", when);
	pw_json_uint(j, "ts_ns", e->ts_ns);
	if (ctx->iface)
		pw_json_string(j, "iface", ctx->iface);
	else
		pw_json_null(j, "iface");
	pw_json_uint(j, "ifindex", e->ifindex);
	pw_json_string(j, "dir", e->dir == PW_DIR_EGRESS ? "egress" :
							   "ingress");
	pw_json_uint(j, "family", e->family);
	pw_json_string(j, "proto", proto);
	json_addr(j, "src", e, e->saddr);
	pw_json_uint(j, "sport", e->sport);
	json_addr(j, "dst", e, e->daddr);
	pw_json_uint(j, "dport", e->dport);
	pw_json_string(j, "role", role);
	pw_json_uint(j, "role_id", e->role);
	pw_json_string(j, "verdict", pw_event_verdict_name(e->verdict));
	pw_json_string(j, "kind", pw_event_kind_name(e->kind));
	pw_json_string(j, "reason", pw_event_reason_text(e->kind));
	json_rule(j, e, ctx);
	pw_json_uint(j, "tcp_flags", e->tcp_flags);
	pw_json_bool(j, "stray_ack", pw_event_stray_ack(e));
	pw_json_uint(j, "repeats", e->repeats);
	pw_json_end_object(j);
	pw_json_destroy(j);
}

/* ------------------------------------------------------------------ */
/* Losses                                                              */
/* ------------------------------------------------------------------ */

void pw_event_counts_from_stats(const __u64 stats[PW_NSTAT],
				struct pw_event_counts *c)
{
	c->sent = stats[PW_STAT_EVENT_SENT];
	c->rate_limited = stats[PW_STAT_EVENT_RATE_LIMITED];
	c->lost = stats[PW_STAT_EVENT_LOST];
	c->repeat = stats[PW_STAT_EVENT_REPEAT];
}

bool pw_event_loss_moved(const struct pw_event_counts *prev,
			 const struct pw_event_counts *now)
{
	return now->lost != prev->lost ||
	       now->rate_limited != prev->rate_limited;
}

int pw_event_loss_text(const struct pw_event_ctx *ctx,
		       const struct pw_event_counts *prev,
		       const struct pw_event_counts *now, uint64_t seconds,
		       char *buf, size_t len)
{
	return snprintf(buf, len,
			"%s: %" PRIu64 " events lost (ring buffer full), %" PRIu64
			" rate-limited in the last %" PRIu64 " s (totals: %" PRIu64
			" sent, %" PRIu64 " lost, %" PRIu64 " rate-limited)",
			ctx->iface ? ctx->iface : "?", now->lost - prev->lost,
			now->rate_limited - prev->rate_limited, seconds,
			now->sent, now->lost, now->rate_limited);
}

static void json_counts(struct pw_json *j, const struct pw_event_counts *c)
{
	pw_json_uint(j, "sent", c->sent);
	pw_json_uint(j, "lost", c->lost);
	pw_json_uint(j, "rate_limited", c->rate_limited);
	pw_json_uint(j, "repeat", c->repeat);
}

void pw_event_loss_print_json(const struct pw_event_ctx *ctx,
			      const struct pw_event_counts *prev,
			      const struct pw_event_counts *now,
			      uint64_t seconds, uint64_t wall_ns, FILE *out)
{
	struct pw_json *j = pw_json_new(out, false);
	struct pw_event_counts moved = {
		.sent = now->sent - prev->sent,
		.rate_limited = now->rate_limited - prev->rate_limited,
		.lost = now->lost - prev->lost,
		.repeat = now->repeat - prev->repeat,
	};
	struct pw_event_ctx utc = { .mono_to_wall_ns = 0 };
	char when[48];

	if (!j)
		return;
	/* wall_ns is wall time already: format it with a zero offset */
	pw_event_time_text(&utc, wall_ns, true, when, sizeof(when));
	pw_json_start_object(j, NULL);
	pw_json_string(j, "type", "loss");
	pw_json_string(j, "time", when);
	if (ctx->iface)
		pw_json_string(j, "iface", ctx->iface);
	else
		pw_json_null(j, "iface");
	pw_json_uint(j, "seconds", seconds);
	json_counts(j, &moved);
	pw_json_start_object(j, "total");
	json_counts(j, now);
	pw_json_end_object(j);
	pw_json_end_object(j);
	pw_json_destroy(j);
}

/* ------------------------------------------------------------------ */
/* Reader                                                              */
/* ------------------------------------------------------------------ */

struct pw_event_reader {
	struct ring_buffer *rb;
	pw_event_cb cb;
	void *arg;
	uint64_t malformed;
	int handled; /* records of the current poll */
};

static int reader_sample(void *ctx, void *data, size_t size)
{
	struct pw_event_reader *r = ctx;
	struct pw_event e;

	if (size != sizeof(e)) {
		r->malformed++;
		return 0;
	}
	/* the record sits in the shared ring: copy it out before use */
	memcpy(&e, data, sizeof(e));
	r->handled++;
	return r->cb(&e, r->arg);
}

struct pw_event_reader *pw_event_reader_new(int fd, pw_event_cb cb, void *arg)
{
	struct pw_event_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->cb = cb;
	r->arg = arg;
	r->rb = ring_buffer__new(fd, reader_sample, r, NULL);
	if (!r->rb) {
		int err = errno;

		free(r);
		errno = err;
		return NULL;
	}
	return r;
}

int pw_event_reader_poll(struct pw_event_reader *r, int timeout_ms)
{
	int err;

	r->handled = 0;
	err = timeout_ms == 0 ? ring_buffer__consume(r->rb) :
				ring_buffer__poll(r->rb, timeout_ms);
	if (err < 0)
		return err; /* libbpf 1.x: a negative errno */
	return r->handled;
}

uint64_t pw_event_reader_malformed(const struct pw_event_reader *r)
{
	return r->malformed;
}

void pw_event_reader_free(struct pw_event_reader *r)
{
	if (!r)
		return;
	ring_buffer__free(r->rb);
	free(r);
}
