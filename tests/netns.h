/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * netns.h - network namespaces and veth pairs for tests.
 *
 * Namespaces are named "<prefix><pid><suffix>" so that a test can find and
 * remove what an earlier, killed run of itself left behind (the pid is no
 * longer alive) without touching a concurrent run's.  Addresses must come
 * from 198.18.0.0/15 and 2001:db8::/32.  Everything here needs root.
 *
 *	nst_cleanup_stale("pwlt");
 *	nst_create("pwlt", "s", srv, sizeof(srv));
 *	nst_create("pwlt", "c", cli, sizeof(cli));
 *	nst_veth(srv, "pwlts0", cli, "pwltc0");
 *	nst_addr(srv, "pwlts0", "198.18.0.1/24");
 *	fd = nst_socket(cli, AF_INET, SOCK_DGRAM, 0);
 *	...
 *	nst_delete(srv); nst_delete(cli);
 */
#ifndef PW_TEST_NETNS_H
#define PW_TEST_NETNS_H

#include <stddef.h>

/*
 * Run a program (no shell) with its output thrown away unless it fails;
 * argv is NULL-terminated.  Returns its exit status, or -1 when it could
 * not run or died of a signal.
 */
int nst_run(const char *const argv[]);
/* Same, but the output (stdout and stderr) goes to @buf, whatever the
 * status, and nothing is printed. */
int nst_capture(const char *const argv[], char *buf, size_t len);

/* Create namespace "<prefix><pid><suffix>"; its name goes to @name. */
int nst_create(const char *prefix, const char *suffix, char *name,
	       size_t len);
/* Delete a namespace (and with it its interfaces); missing is fine. */
void nst_delete(const char *name);
/* Delete every "<prefix><pid>..." namespace whose pid is not running. */
void nst_cleanup_stale(const char *prefix);
/* True when the pid embedded in @name after @prefix is not running. */
int nst_is_stale(const char *prefix, const char *name);

/* A veth pair: @if_a in @ns_a, @if_b in @ns_b, both up, lo up in both. */
int nst_veth(const char *ns_a, const char *if_a, const char *ns_b,
	     const char *if_b);
/* Add an address ("198.18.0.1/24", "2001:db8::1/64": no DAD) to @ifname. */
int nst_addr(const char *ns, const char *ifname, const char *cidr);

/* Enter @ns for this thread; returns the fd to go back with, or -1. */
int nst_enter(const char *ns);
void nst_leave(int saved);

/* A socket created inside @ns (it stays there), or -1. */
int nst_socket(const char *ns, int domain, int type, int protocol);
/* ifindex of @ifname inside @ns, 0 when missing. */
unsigned nst_ifindex(const char *ns, const char *ifname);

#endif /* PW_TEST_NETNS_H */
