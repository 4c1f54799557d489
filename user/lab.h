/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * lab.h - the plumbing under "portwarden lab": named network namespaces,
 * a little rtnetlink (bridge, veth, addresses), child processes, and a
 * small JSON reader for the output of the commands the lab runs.
 *
 * Namespaces are made the way iproute2 makes them, so that "ip netns" and
 * the loader's --netns see them: a file /run/netns/NAME onto which the
 * namespace is bind-mounted.  Netlink sockets are opened inside a
 * namespace and then used from anywhere: a socket stays bound to the
 * namespace it was created in, so the lab never has to stay switched.
 */
#ifndef PW_LAB_H
#define PW_LAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "json.h"

#define LAB_NETNS_RUN_DIR "/run/netns"

/* ------------------------------------------------------------------ */
/* Named network namespaces                                            */
/* ------------------------------------------------------------------ */

/* Create /run/netns/@name holding a fresh namespace.  0 or -errno. */
int lab_netns_create(const char *name);
/* Unmount and remove /run/netns/@name; a missing one is not an error. */
int lab_netns_delete(const char *name);
/* O_RDONLY fd of /run/netns/@name, or -errno. */
int lab_netns_open(const char *name);
/* Switch the calling thread into the namespace @fd.  0 or -errno. */
int lab_netns_enter(int fd);
/*
 * Names under /run/netns starting with @prefix, as a malloc'd array of
 * malloc'd strings.  Returns the count (0 when the directory is missing),
 * or -errno.
 */
int lab_netns_list(const char *prefix, char ***names);
/* Write @value to /proc/sys/@path inside the namespace @fd. 0 or -errno. */
int lab_sysctl_in(int fd, const char *path, const char *value);

/* ------------------------------------------------------------------ */
/* rtnetlink                                                           */
/* ------------------------------------------------------------------ */

struct lab_nl {
	int fd;
	uint32_t seq;
};

/* A NETLINK_ROUTE socket in the namespace @nsfd (-1: the current one). */
int lab_nl_open(struct lab_nl *nl, int nsfd);
void lab_nl_close(struct lab_nl *nl);

/* A bridge without STP delays or multicast snooping. 0 or -errno. */
int lab_nl_add_bridge(struct lab_nl *nl, const char *name);
/* A veth pair @name (here) and @peer, moved into the namespace @peer_nsfd. */
int lab_nl_add_veth(struct lab_nl *nl, const char *name, const char *peer,
		    int peer_nsfd);
/* Bring @name up, and enslave it to @master when not NULL. */
int lab_nl_link_up(struct lab_nl *nl, const char *name, const char *master);
/* ifindex of @name in the socket's namespace, or -errno. */
int lab_nl_ifindex(struct lab_nl *nl, const char *name);
/*
 * Add @addr/@plen (family 4 or 6, network order) to @ifindex.  IPv6
 * addresses skip duplicate address detection, so they work at once.
 */
int lab_nl_add_addr(struct lab_nl *nl, int ifindex, int family,
		    const uint8_t *addr, int plen);

/* ------------------------------------------------------------------ */
/* Child processes                                                     */
/* ------------------------------------------------------------------ */

/*
 * Children run in their own process group, so that Ctrl-C reaches the lab
 * alone and the lab decides when they stop (teardown must not be cut short).
 */
pid_t lab_fork(void);

/* Wait for @pid; returns its exit status, 128+signal, or -errno. */
int lab_wait(pid_t pid);

/*
 * Run @argv (argv[0] an absolute path) and wait.  With @capture, stdout is
 * collected into a malloc'd NUL-terminated *@capture; otherwise it is
 * passed through, or sent to /dev/null when @quiet.  stderr always passes
 * through.  Returns the exit status (as lab_wait) or -errno.
 */
int lab_run(char *const argv[], char **capture, bool quiet);

/* ------------------------------------------------------------------ */
/* Traffic                                                             */
/* ------------------------------------------------------------------ */

/* A TCP connection: connect, send a line, read it back.  UDP: datagrams. */
#define LAB_CONNECT_MS 1500
#define LAB_ECHO_MS 1000
#define LAB_UDP_COUNT 3
#define LAB_UDP_WAIT_MS 400

struct lab_listen {
	int family;  /* 4 or 6 */
	int ipproto; /* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t port;
};

/*
 * For a child process: enter the namespace @nsfd, listen on (any address
 * of the family, port) for each of @l, write one byte to @ready once all
 * are bound, and echo whatever arrives until killed.  Exits 1, with a
 * message, when a listener cannot be set up.
 */
__attribute__((noreturn))
void lab_serve(int nsfd, const struct lab_listen *l, int n, int ready);

enum lab_outcome {
	LAB_NOT_RUN = 0,
	LAB_CONNECTED, /* TCP: connected and echoed; UDP: every echo back */
	LAB_PARTIAL,   /* TCP: connected, no echo; UDP: some echoes */
	LAB_TIMED_OUT, /* nothing came back */
	LAB_REFUSED,
	LAB_ERROR,
};

struct lab_probe {
	int family;
	int ipproto;
	const uint8_t *src, *dst; /* network order */
	uint16_t sport, dport;
};

struct lab_probe_result {
	int outcome;       /* enum lab_outcome */
	int sent, echoed;  /* TCP: 1 line; UDP: datagrams */
	int err;           /* errno of a failed step, 0 if none */
};

/*
 * From the namespace @nsfd (entered for good: call it in a child), send
 * @p's traffic from src:sport, with SO_REUSEADDR so that several probes
 * may share the source port towards different peers.
 */
void lab_probe(int nsfd, const struct lab_probe *p,
	       struct lab_probe_result *r);

/* ------------------------------------------------------------------ */
/* JSON reader                                                         */
/* ------------------------------------------------------------------ */

enum lab_jtype {
	LAB_JNULL,
	LAB_JBOOL,
	LAB_JNUM,
	LAB_JSTR,
	LAB_JARR,
	LAB_JOBJ,
};

struct lab_jval {
	enum lab_jtype type;
	bool b;
	double num;
	char *str;             /* LAB_JSTR: decoded; LAB_JNUM: the text */
	char **keys;           /* LAB_JOBJ: one key per item */
	struct lab_jval *items;
	int nitems;
};

/* Parse a whole document.  0, or -1 with a reason in @err. */
int lab_json_parse(const char *text, struct lab_jval *v, char *err,
		   size_t errlen);
void lab_json_free(struct lab_jval *v);
/* Member @key of an object, or NULL. */
const struct lab_jval *lab_json_get(const struct lab_jval *obj,
				    const char *key);
/* Write @v with the project's JSON writer under @key. */
void lab_json_emit(struct pw_json *j, const char *key,
		   const struct lab_jval *v);

#endif /* PW_LAB_H */
