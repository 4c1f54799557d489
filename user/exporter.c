/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * exporter.c - listen address, one scrape of every loaded interface, and
 * the HTTP side (libmicrohttpd).  See exporter.h.
 *
 * libmicrohttpd runs one internal thread that serves every connection, so
 * scrapes never run concurrently: the map readers and the policy compiler
 * need no locking, and a slow scrape only delays the next one.
 */
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "cli.h"
#include "exporter.h"
#include "report.h"
#include "state.h"

#ifndef PW_VERSION
#define PW_VERSION "0.1.0"
#endif

/* ------------------------------------------------------------------ */
/* Listen address                                                      */
/* ------------------------------------------------------------------ */

static int parse_port(const char *text, const char *port, char *err,
		      size_t errlen)
{
	unsigned long v;
	char *end;

	if (!*port || strspn(port, "0123456789") != strlen(port) ||
	    strlen(port) > 5) {
		snprintf(err, errlen, "'%s': the port must be a number 0-65535",
			 text);
		return -1;
	}
	v = strtoul(port, &end, 10);
	if (v > 65535) {
		snprintf(err, errlen, "'%s': port %lu is out of range (0-65535)",
			 text, v);
		return -1;
	}
	return (int)v;
}

/* Split "HOST:PORT" / "[HOST]:PORT" into @host and @port (both copies). */
static int split_host_port(const char *text, char *host, size_t hostlen,
			   const char **port, bool *bracketed, char *err,
			   size_t errlen)
{
	const char *colon, *close;
	size_t n;

	*bracketed = text[0] == '[';
	if (*bracketed) {
		close = strchr(text, ']');
		if (!close || close[1] != ':') {
			snprintf(err, errlen,
				 "'%s': expected [IPV6-ADDRESS]:PORT, as in "
				 "[::1]:%d",
				 text, PW_EXPORTER_PORT);
			return -1;
		}
		n = close - (text + 1);
		text++;
		*port = close + 2;
	} else {
		colon = strrchr(text, ':');
		if (!colon) {
			snprintf(err, errlen,
				 "'%s': expected ADDRESS:PORT, as in "
				 "127.0.0.1:%d, [::1]:%d or :%d",
				 text, PW_EXPORTER_PORT, PW_EXPORTER_PORT,
				 PW_EXPORTER_PORT);
			return -1;
		}
		if (memchr(text, ':', colon - text)) {
			snprintf(err, errlen,
				 "'%s': an IPv6 address goes in brackets, as "
				 "in [::1]:%d",
				 text, PW_EXPORTER_PORT);
			return -1;
		}
		n = colon - text;
		*port = colon + 1;
	}
	if (n >= hostlen) {
		snprintf(err, errlen, "'%s': the address is too long", text);
		return -1;
	}
	memcpy(host, text, n);
	host[n] = '\0';
	return 0;
}

int pw_listen_parse(const char *text, struct pw_listen *l, char *err,
		    size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST };
	struct addrinfo *res = NULL;
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	struct sockaddr_in6 *any;
	const char *port_text;
	bool bracketed;
	int port;

	memset(l, 0, sizeof(*l));
	if (split_host_port(text, host, sizeof(host), &port_text, &bracketed,
			    err, errlen))
		return -1;
	port = parse_port(text, port_text, err, errlen);
	if (port < 0)
		return -1;
	if (!*host && !bracketed) {
		/* every address: IPv6 with IPv4 mapped; serve falls back */
		any = (struct sockaddr_in6 *)&l->addr;
		any->sin6_family = AF_INET6;
		any->sin6_addr = in6addr_any;
		any->sin6_port = htons(port);
		l->addrlen = sizeof(*any);
		l->any = 1;
		return 0;
	}
	hints.ai_family = bracketed ? AF_INET6 : AF_INET;
	if (getaddrinfo(host, NULL, &hints, &res) || !res) {
		snprintf(err, errlen,
			 bracketed ? "'%s': '%s' is not a numeric IPv6 address"
				   : "'%s': '%s' is not a numeric IPv4 address "
				     "(an IPv6 address goes in brackets)",
			 text, host);
		return -1;
	}
	memcpy(&l->addr, res->ai_addr, res->ai_addrlen);
	l->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	if (bracketed)
		((struct sockaddr_in6 *)&l->addr)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)&l->addr)->sin_port = htons(port);
	return 0;
}

void pw_listen_format(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const void *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(s4->sin_port));
	}
}

/* ------------------------------------------------------------------ */
/* Scrape                                                              */
/* ------------------------------------------------------------------ */

/*
 * Problems with one interface are logged once per distinct message: a
 * broken interface would otherwise repeat itself every scrape.  The
 * metric portwarden_interface_up says it every time.
 */
#define LOGGED_MAX 128
static char *logged[LOGGED_MAX];
static int nlogged;

__attribute__((format(printf, 1, 2)))
static void log_once(const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	int i;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (!msg)
		return;
	for (i = 0; i < nlogged; i++) {
		if (!strcmp(logged[i], msg)) {
			free(msg);
			return;
		}
	}
	pw_cli_warn("exporter: %s", msg);
	if (nlogged < LOGGED_MAX)
		logged[nlogged++] = msg;
	else
		free(msg);
}

/* One listed interface during a scrape. */
struct scraped {
	const char *netns; /* NULL: the initial namespace */
	const char *iface;
	const char *name;  /* "<IF>" or "<NETNS>:<IF>" */
	struct pw_loaded l;
	struct pw_report_policy p;
	struct pw_report r;
	bool opened; /* l is open */
	bool gone;   /* unloaded between the listing and the read */
	bool up;     /* r holds its counters */
};

/* @name is "<IF>" or "<NETNS>:<IF>"; it is cut at the colon. */
static void scrape_one(struct scraped *s, char *name, char *display)
{
	char err[1024], *colon = strrchr(name, ':');
	int rc;

	s->name = display;
	s->iface = colon ? colon + 1 : name;
	if (colon) {
		*colon = '\0';
		s->netns = name;
	}
	rc = pw_loaded_open(s->netns, s->iface, &s->l, err, sizeof(err));
	if (rc == -ENOENT) {
		s->gone = true;
		return;
	}
	if (rc) {
		log_once("%s", err);
		return;
	}
	s->opened = true;
	pw_report_policy_load(&s->l, &s->p);
	if (!s->p.ok)
		log_once("%s: cannot recompile the policy (no unused rules, "
			 "stale reported): %s",
			 display, s->p.why);
	rc = pw_report_loaded(&s->l, s->netns, &s->p, PW_REPORT_ALL, &s->r);
	if (rc) {
		log_once("%s: reading the counters: %s", display,
			 *pw_maps_errmsg() ? pw_maps_errmsg() : strerror(-rc));
		return;
	}
	s->up = true;
}

static void scraped_free(struct scraped *s)
{
	pw_report_free(&s->r);
	pw_report_policy_free(&s->p);
	if (s->opened)
		pw_loaded_close(&s->l);
}

static void write_interface_up(FILE *out, const struct scraped *v, int n)
{
	int i;

	pw_prom_header(out, "portwarden_interface_up", "gauge",
		       "1 when the counters of a loaded interface were read in "
		       "this scrape, 0 when they could not be.");
	for (i = 0; i < n; i++) {
		if (v[i].gone)
			continue;
		fputs("portwarden_interface_up{iface=", out);
		pw_prom_label_value(out, v[i].iface);
		fputs(",netns=", out);
		pw_prom_label_value(out, v[i].netns ? v[i].netns : "");
		fprintf(out, "} %d\n", v[i].up);
	}
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) + (t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void write_exporter_info(FILE *out, const struct timespec *t0)
{
	pw_prom_header(out, "portwarden_exporter_build_info", "gauge",
		       "The version of portwarden serving these metrics; "
		       "always 1.");
	fputs("portwarden_exporter_build_info{version=", out);
	pw_prom_label_value(out, PW_VERSION);
	fputs("} 1\n", out);
	pw_prom_header(out, "portwarden_exporter_scrape_duration_seconds",
		       "gauge",
		       "How long this scrape took to read every interface.");
	fprintf(out, "portwarden_exporter_scrape_duration_seconds %.6f\n",
		seconds_since(t0));
}

int pw_exporter_scrape(FILE *out, char *err, size_t errlen)
{
	const struct pw_report **reports = NULL;
	struct scraped *v = NULL;
	char **names = NULL, **display = NULL;
	struct timespec t0;
	int n = 0, nup = 0, i, rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = pw_loaded_list(&names, &n);
	if (rc) {
		snprintf(err, errlen, "cannot list %s: %s%s", PW_PIN_ROOT,
			 strerror(-rc), rc == -EACCES ? " (run as root)" : "");
		return rc;
	}
	v = calloc(n ? n : 1, sizeof(*v));
	reports = calloc(n ? n : 1, sizeof(*reports));
	display = calloc(n ? n : 1, sizeof(*display));
	for (i = 0; v && reports && display && i < n; i++) {
		display[i] = strdup(names[i]);
		if (!display[i])
			break;
	}
	if (!v || !reports || !display || i < n) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		scrape_one(&v[i], names[i], display[i]);
		if (v[i].up)
			reports[nup++] = &v[i].r;
	}
	pw_prom_write_reports(reports, nup, out);
	write_interface_up(out, v, n);
	write_exporter_info(out, &t0);
out:
	for (i = 0; v && i < n; i++)
		scraped_free(&v[i]);
	if (display)
		pw_cli_free_list(display, n);
	pw_cli_free_list(names, n);
	free(reports);
	free(v);
	return rc;
}

int pw_exporter_check(char *err, size_t errlen)
{
	FILE *null = fopen("/dev/null", "w");
	int rc;

	if (!null) {
		snprintf(err, errlen, "/dev/null: %s", strerror(errno));
		return -errno;
	}
	rc = pw_exporter_scrape(null, err, errlen);
	fclose(null);
	return rc;
}

/* ------------------------------------------------------------------ */
/* HTTP                                                                */
/* ------------------------------------------------------------------ */

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

static const char index_page[] =
	"<!DOCTYPE html>\n"
	"<html><head><title>portwarden exporter</title></head>\n"
	"<body><h1>portwarden exporter</h1>\n"
	"<p>The counters of every interface portwarden is loaded on: "
	"<a href=\"/metrics\">/metrics</a>.</p>\n"
	"</body></html>\n";

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status,
			     const char *type, void *body, size_t len,
			     enum MHD_ResponseMemoryMode mem)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(len, body, mem);
	if (!resp) {
		if (mem == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
					"GET, HEAD");
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status,
				  const char *text)
{
	return reply(c, status, "text/plain; charset=utf-8", (void *)text,
		     strlen(text), MHD_RESPMEM_PERSISTENT);
}

static enum MHD_Result reply_metrics(struct MHD_Connection *c)
{
	char err[512], *body = NULL, *msg = NULL;
	size_t len = 0;
	FILE *out;
	int rc;

	out = open_memstream(&body, &len);
	if (!out)
		return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
				  "out of memory\n");
	rc = pw_exporter_scrape(out, err, sizeof(err));
	fclose(out);
	if (!rc)
		return reply(c, MHD_HTTP_OK, PROM_CONTENT_TYPE, body, len,
			     MHD_RESPMEM_MUST_FREE);
	free(body);
	log_once("%s", err);
	if (asprintf(&msg, "portwarden exporter: %s\n", err) < 0)
		return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
				  "scrape failed\n");
	return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
		     "text/plain; charset=utf-8", msg, strlen(msg),
		     MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c,
			      const char *url, const char *method,
			      const char *version, const char *upload,
			      size_t *upload_len, void **req)
{
	if (strcmp(method, MHD_HTTP_METHOD_GET) &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED,
				  "only GET and HEAD\n");
	if (!strcmp(url, "/metrics"))
		return reply_metrics(c);
	if (!strcmp(url, "/"))
		return reply(c, MHD_HTTP_OK, "text/html; charset=utf-8",
			     (void *)index_page, sizeof(index_page) - 1,
			     MHD_RESPMEM_PERSISTENT);
	return reply_text(c, MHD_HTTP_NOT_FOUND,
			  "not found: the metrics are at /metrics\n");
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	pw_cli_warn("exporter: http: %s", msg);
}

static const char *bind_hint(int err)
{
	switch (err) {
	case EADDRINUSE:
		return " (another program, or another exporter, holds that "
		       "port)";
	case EADDRNOTAVAIL:
		return " (no interface of this host has that address)";
	case EACCES:
		return " (ports below 1024 need root or "
		       "CAP_NET_BIND_SERVICE)";
	default:
		return "";
	}
}

/* ":PORT" on a host without IPv6: every IPv4 address instead. */
static void any_ipv4(const struct pw_listen *l, struct pw_listen *v4)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&v4->addr;

	memset(v4, 0, sizeof(*v4));
	s4->sin_family = AF_INET;
	s4->sin_addr.s_addr = htonl(INADDR_ANY);
	s4->sin_port = ((const struct sockaddr_in6 *)&l->addr)->sin6_port;
	v4->addrlen = sizeof(*s4);
}

/* A bound, listening socket, or -1 with the reason in @err. */
static int open_listener(const struct pw_listen *l, char *err, size_t errlen)
{
	const struct sockaddr *sa = (const struct sockaddr *)&l->addr;
	char where[INET6_ADDRSTRLEN + 16];
	struct pw_listen v4;
	int fd, one = 1, zero = 0, e;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 && l->any && errno == EAFNOSUPPORT) {
		any_ipv4(l, &v4);
		return open_listener(&v4, err, errlen);
	}
	pw_listen_format(sa, where, sizeof(where));
	if (fd < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", where,
			 strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l->any)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, sa, l->addrlen) || listen(fd, 64)) {
		e = errno;
		close(fd);
		snprintf(err, errlen, "cannot listen on %s: %s%s", where,
			 strerror(e), bind_hint(e));
		return -1;
	}
	return fd;
}

/* SIGINT and SIGTERM, blocked in every thread and taken by sigwait(). */
static void block_stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int pw_exporter_serve(const struct pw_listen *l, char *err, size_t errlen)
{
	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);
	struct MHD_Daemon *d;
	char where[INET6_ADDRSTRLEN + 16];
	sigset_t stop;
	int fd, sig;

	block_stop_signals(&stop);
	fd = open_listener(l, err, errlen);
	if (fd < 0)
		return -1;
	getsockname(fd, (struct sockaddr *)&bound, &blen);
	pw_listen_format((struct sockaddr *)&bound, where, sizeof(where));
	d = MHD_start_daemon(
		MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG |
			(bound.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
		0, NULL, NULL, answer, NULL, MHD_OPTION_EXTERNAL_LOGGER,
		mhd_log, NULL, MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_CONNECTION_TIMEOUT, 30U,
		MHD_OPTION_CONNECTION_LIMIT, 64U, MHD_OPTION_END);
	if (!d) {
		close(fd);
		snprintf(err, errlen, "cannot start the HTTP server on %s",
			 where);
		return -1;
	}
	printf("listening on %s\n", where);
	fflush(stdout);
	do {
		sig = 0;
		sigwait(&stop, &sig);
	} while (sig != SIGINT && sig != SIGTERM);
	/* closes the listening socket and every connection */
	MHD_stop_daemon(d);
	fprintf(stderr, "portwarden: exporter: stopped (%s)\n",
		sig == SIGINT ? "SIGINT" : "SIGTERM");
	return 0;
}
