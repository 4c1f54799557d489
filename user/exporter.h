/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * exporter.h - "portwarden exporter": the counters of every loaded
 * interface as a Prometheus scrape target.
 *
 * No state is kept between scrapes: each one lists the pinned interfaces,
 * opens their maps, recompiles their policies (for the policy name, the
 * stale flag and the unused rules) and renders one exposition.  An
 * interface loaded or unloaded while the exporter runs thus appears or
 * disappears at the next scrape.
 */
#ifndef PW_EXPORTER_H
#define PW_EXPORTER_H

#include <stdio.h>
#include <sys/socket.h>

#define PW_EXPORTER_PORT 9610
#define PW_EXPORTER_LISTEN "127.0.0.1:9610"

/* Where to listen: a numeric address and a port. */
struct pw_listen {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int any; /* ":PORT": every address (IPv6 and IPv4 when possible) */
};

/*
 * Parse "198.18.0.1:9610", "[2001:db8::1]:9610" or ":9610" (every
 * address).  Port 0 asks the kernel for a free one.  Returns 0, or -1
 * with the reason in @err.
 */
int pw_listen_parse(const char *text, struct pw_listen *l, char *err,
		    size_t errlen);

/* "198.18.0.1:9610" or "[2001:db8::1]:9610", from a socket address. */
void pw_listen_format(const struct sockaddr *sa, char *buf, size_t len);

/*
 * Write one exposition of every loaded interface to @out.  Interfaces
 * that cannot be read are reported on stderr (once per distinct message)
 * and in portwarden_interface_up.  Returns 0, or a negative errno when the
 * interfaces cannot even be listed (with the reason in @err).
 */
int pw_exporter_scrape(FILE *out, char *err, size_t errlen);

/*
 * One scrape thrown away: fails now, rather than at the first scrape,
 * when the pins cannot be read, and logs broken interfaces at start.
 */
int pw_exporter_check(char *err, size_t errlen);

/*
 * Listen on @l and serve /metrics (and a page at /) until SIGINT or
 * SIGTERM.  Prints "listening on ADDR:PORT" on stdout once it accepts
 * connections.  Returns 0 after a signal, or -1 with the reason in @err
 * when it cannot listen.
 */
int pw_exporter_serve(const struct pw_listen *l, char *err, size_t errlen);

#endif /* PW_EXPORTER_H */
