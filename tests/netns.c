// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * netns.c - network namespaces and veth pairs for tests, built with
 * iproute2's "ip" (the namespaces land in /run/netns where the loader's
 * --netns looks for them).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netns.h"

/* Run @argv with its stdout and stderr into @fd; exit status or -1. */
static int run_into(const char *const argv[], int fd)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		dup2(fd, 1);
		dup2(fd, 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int nst_capture(const char *const argv[], char *buf, size_t len)
{
	char out[] = "/tmp/nst-run-XXXXXX";
	size_t got = 0;
	ssize_t n;
	int rc, fd;

	fd = mkstemp(out);
	if (fd < 0)
		return -1;
	unlink(out);
	rc = run_into(argv, fd);
	lseek(fd, 0, SEEK_SET);
	while (len && got + 1 < len &&
	       (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += n;
	if (len)
		buf[got] = '\0';
	close(fd);
	return rc;
}

int nst_run(const char *const argv[])
{
	char buf[4096];
	int rc, i;

	rc = nst_capture(argv, buf, sizeof(buf));
	if (rc) {
		fprintf(stderr, "nst_run failed:");
		for (i = 0; argv[i]; i++)
			fprintf(stderr, " %s", argv[i]);
		fprintf(stderr, "\n%s", buf);
	}
	return rc;
}

int nst_create(const char *prefix, const char *suffix, char *name,
	       size_t len)
{
	snprintf(name, len, "%s%d%s", prefix, (int)getpid(), suffix);
	nst_delete(name);
	return nst_run((const char *const[]){ "ip", "netns", "add", name,
					      NULL });
}

void nst_delete(const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	if (access(path, F_OK))
		return;
	nst_run((const char *const[]){ "ip", "netns", "del", name, NULL });
}

int nst_is_stale(const char *prefix, const char *name)
{
	size_t plen = strlen(prefix);
	long pid;

	if (strncmp(name, prefix, plen))
		return 0;
	pid = strtol(name + plen, NULL, 10);
	if (pid <= 0)
		return 0;
	return kill((pid_t)pid, 0) && errno == ESRCH;
}

void nst_cleanup_stale(const char *prefix)
{
	struct dirent *de;
	DIR *d = opendir("/run/netns");

	if (!d)
		return;
	while ((de = readdir(d)))
		if (nst_is_stale(prefix, de->d_name))
			nst_delete(de->d_name);
	closedir(d);
}

static int link_up(const char *ns, const char *ifname)
{
	return nst_run((const char *const[]){ "ip", "-n", ns, "link", "set",
					      "dev", ifname, "up", NULL });
}

int nst_veth(const char *ns_a, const char *if_a, const char *ns_b,
	     const char *if_b)
{
	int err;

	err = nst_run((const char *const[]){ "ip", "link", "add", if_a,
					     "netns", ns_a, "type", "veth",
					     "peer", "name", if_b, "netns",
					     ns_b, NULL });
	if (!err)
		err = link_up(ns_a, if_a);
	if (!err)
		err = link_up(ns_b, if_b);
	if (!err)
		err = link_up(ns_a, "lo");
	if (!err)
		err = link_up(ns_b, "lo");
	return err;
}

int nst_addr(const char *ns, const char *ifname, const char *cidr)
{
	if (strchr(cidr, ':'))
		return nst_run((const char *const[]){ "ip", "-n", ns, "addr",
						      "add", cidr, "dev",
						      ifname, "nodad", NULL });
	return nst_run((const char *const[]){ "ip", "-n", ns, "addr", "add",
					      cidr, "dev", ifname, NULL });
}

int nst_enter(const char *ns)
{
	char path[512];
	int fd, saved;

	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	saved = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (saved < 0 || setns(fd, CLONE_NEWNET)) {
		if (saved >= 0)
			close(saved);
		close(fd);
		return -1;
	}
	close(fd);
	return saved;
}

void nst_leave(int saved)
{
	if (saved < 0)
		return;
	if (setns(saved, CLONE_NEWNET))
		perror("nst_leave: setns");
	close(saved);
}

int nst_socket(const char *ns, int domain, int type, int protocol)
{
	int saved = nst_enter(ns), fd;

	if (saved < 0)
		return -1;
	fd = socket(domain, type | SOCK_CLOEXEC, protocol);
	nst_leave(saved);
	return fd;
}

unsigned nst_ifindex(const char *ns, const char *ifname)
{
	int saved = nst_enter(ns);
	unsigned idx;

	if (saved < 0)
		return 0;
	idx = if_nametoindex(ifname);
	nst_leave(saved);
	return idx;
}
