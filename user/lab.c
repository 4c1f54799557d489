/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * lab.c - namespaces, rtnetlink, children and a JSON reader for the lab.
 * See lab.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "lab.h"

/* ------------------------------------------------------------------ */
/* Named network namespaces                                            */
/* ------------------------------------------------------------------ */

static void netns_path(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", LAB_NETNS_RUN_DIR, name);
}

/*
 * Like iproute2: /run/netns is a shared mount point, so that a namespace
 * mounted there later shows in every mount namespace that has the
 * directory (the loader's setns looks it up by path).
 */
static int make_run_dir_shared(void)
{
	bool bound = false;

	if (mkdir(LAB_NETNS_RUN_DIR, 0755) && errno != EEXIST)
		return -errno;
	while (mount("", LAB_NETNS_RUN_DIR, "none", MS_SHARED | MS_REC,
		     NULL)) {
		if (errno != EINVAL || bound)
			return -errno;
		if (mount(LAB_NETNS_RUN_DIR, LAB_NETNS_RUN_DIR, "none",
			  MS_BIND | MS_REC, NULL))
			return -errno;
		bound = true;
	}
	return 0;
}

int lab_netns_create(const char *name)
{
	char path[256];
	pid_t pid;
	int fd, err, status;

	err = make_run_dir_shared();
	if (err)
		return err;
	netns_path(name, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL, 0);
	if (fd < 0)
		return -errno;
	close(fd);

	/* A child makes the namespace, so the lab itself never moves. */
	pid = fork();
	if (pid < 0) {
		err = -errno;
		unlink(path);
		return err;
	}
	if (pid == 0) {
		if (unshare(CLONE_NEWNET))
			_exit(errno & 0x7f);
		if (mount("/proc/self/ns/net", path, "none", MS_BIND, NULL))
			_exit(errno & 0x7f);
		_exit(0);
	}
	status = lab_wait(pid);
	if (status) {
		unlink(path);
		return status > 0 && status < 128 ? -status : -ECHILD;
	}
	return 0;
}

int lab_netns_delete(const char *name)
{
	char path[256];

	netns_path(name, path, sizeof(path));
	if (umount2(path, MNT_DETACH) && errno != EINVAL && errno != ENOENT)
		return -errno;
	if (unlink(path) && errno != ENOENT)
		return -errno;
	return 0;
}

int lab_netns_open(const char *name)
{
	char path[256];
	int fd;

	netns_path(name, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int lab_netns_enter(int fd)
{
	return setns(fd, CLONE_NEWNET) ? -errno : 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int lab_netns_list(const char *prefix, char ***names)
{
	size_t plen = strlen(prefix);
	struct dirent *de;
	char **v = NULL, **grown;
	int n = 0, err = 0;
	DIR *dir;

	*names = NULL;
	dir = opendir(LAB_NETNS_RUN_DIR);
	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(dir))) {
		if (strncmp(de->d_name, prefix, plen))
			continue;
		grown = realloc(v, (n + 1) * sizeof(*v));
		if (!grown || !(grown[n] = strdup(de->d_name))) {
			v = grown ? grown : v;
			err = -ENOMEM;
			break;
		}
		v = grown;
		n++;
	}
	closedir(dir);
	if (err) {
		while (n--)
			free(v[n]);
		free(v);
		return err;
	}
	if (n > 1) /* qsort's base must not be NULL, even for nothing */
		qsort(v, n, sizeof(*v), cmp_names);
	*names = v;
	return n;
}

/*
 * /proc/sys/net shows the namespace of whoever opens the file, so switch
 * for the open only.
 */
int lab_sysctl_in(int nsfd, const char *path, const char *value)
{
	char full[256];
	int self, fd, err = 0;
	size_t len = strlen(value);

	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -errno;
	err = lab_netns_enter(nsfd);
	if (err)
		goto out;
	snprintf(full, sizeof(full), "/proc/sys/%s", path);
	fd = open(full, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		err = -errno;
	if (lab_netns_enter(self)) {
		/* Staying in a lab namespace would be worse than dying. */
		perror("portwarden: lab: cannot return to my namespace");
		abort();
	}
	if (fd >= 0) {
		if (write(fd, value, len) != (ssize_t)len)
			err = -errno;
		close(fd);
	}
out:
	close(self);
	return err;
}

/* ------------------------------------------------------------------ */
/* rtnetlink                                                           */
/* ------------------------------------------------------------------ */

/*
 * A request is built in place in one buffer; the header is reached through
 * a pointer into the buffer, so the compiler sees the whole buffer as the
 * object that attributes are appended to.
 */
#define NL_REQ_SIZE 1024

struct nl_req {
	char buf[NL_REQ_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nh;
};

int lab_nl_open(struct lab_nl *nl, int nsfd)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int self = -1, err = 0;

	nl->fd = -1;
	nl->seq = 1;
	if (nsfd >= 0) {
		self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (self < 0)
			return -errno;
		err = lab_netns_enter(nsfd);
		if (err)
			goto out;
	}
	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (nl->fd < 0)
		err = -errno;
	else if (bind(nl->fd, (struct sockaddr *)&sa, sizeof(sa)))
		err = -errno;
	if (self >= 0 && lab_netns_enter(self)) {
		perror("portwarden: lab: cannot return to my namespace");
		abort();
	}
out:
	if (self >= 0)
		close(self);
	if (err && nl->fd >= 0) {
		close(nl->fd);
		nl->fd = -1;
	}
	return err;
}

void lab_nl_close(struct lab_nl *nl)
{
	if (nl->fd >= 0)
		close(nl->fd);
	nl->fd = -1;
}

static struct rtattr *nl_tail(struct nlmsghdr *nh)
{
	return (struct rtattr *)((char *)nh + NLMSG_ALIGN(nh->nlmsg_len));
}

static int nl_attr(struct nlmsghdr *nh, size_t cap, int type,
		   const void *data, size_t len)
{
	struct rtattr *rta = nl_tail(nh);
	size_t need = NLMSG_ALIGN(nh->nlmsg_len) + RTA_SPACE(len);

	if (need > cap)
		return -EMSGSIZE;
	rta->rta_type = type;
	rta->rta_len = RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(rta), data, len);
	nh->nlmsg_len = need;
	return 0;
}

static int nl_attr_str(struct nlmsghdr *nh, size_t cap, int type,
		       const char *s)
{
	return nl_attr(nh, cap, type, s, strlen(s) + 1);
}

static int nl_attr_u32(struct nlmsghdr *nh, size_t cap, int type,
		       uint32_t v)
{
	return nl_attr(nh, cap, type, &v, sizeof(v));
}

static int nl_attr_u8(struct nlmsghdr *nh, size_t cap, int type, uint8_t v)
{
	return nl_attr(nh, cap, type, &v, sizeof(v));
}

static struct rtattr *nl_nest_start(struct nlmsghdr *nh, size_t cap,
				    int type)
{
	struct rtattr *nest = nl_tail(nh);

	return nl_attr(nh, cap, type, NULL, 0) ? NULL : nest;
}

static void nl_nest_end(struct nlmsghdr *nh, struct rtattr *nest)
{
	nest->rta_len = (char *)nl_tail(nh) - (char *)nest;
}

/*
 * Send @nh and read the answer: the kernel's ack (0 or -errno), or with
 * @reply, the first message that is not an ack, copied there.
 */
static int nl_talk(struct lab_nl *nl, struct nlmsghdr *nh, void *reply,
		   size_t reply_len)
{
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };
	char buf[8192];
	struct nlmsghdr *r;
	ssize_t len;

	nh->nlmsg_seq = ++nl->seq;
	if (sendto(nl->fd, nh, nh->nlmsg_len, 0, (struct sockaddr *)&to,
		   sizeof(to)) < 0)
		return -errno;
	for (;;) {
		len = recv(nl->fd, buf, sizeof(buf), 0);
		if (len < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (r = (struct nlmsghdr *)buf; NLMSG_OK(r, (size_t)len);
		     r = NLMSG_NEXT(r, len)) {
			if (r->nlmsg_seq != nl->seq)
				continue;
			if (r->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(r);

				return e->error;
			}
			if (reply) {
				memcpy(reply, r, r->nlmsg_len < reply_len ?
						 r->nlmsg_len : reply_len);
				return 0;
			}
		}
	}
}

/* Start a request whose fixed header (ifinfomsg, ifaddrmsg) is @hdrlen. */
static void *nl_msg_init(struct nl_req *req, int type, int flags,
			 size_t hdrlen)
{
	memset(req->buf, 0, sizeof(req->buf));
	req->nh = (struct nlmsghdr *)req->buf;
	req->nh->nlmsg_len = NLMSG_LENGTH(hdrlen);
	req->nh->nlmsg_type = type;
	req->nh->nlmsg_flags = NLM_F_REQUEST | flags;
	return NLMSG_DATA(req->nh);
}

static struct ifinfomsg *nl_link_msg(struct nl_req *req, int type, int flags)
{
	struct ifinfomsg *ifi;

	ifi = nl_msg_init(req, type, flags, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	return ifi;
}

int lab_nl_add_bridge(struct lab_nl *nl, const char *name)
{
	struct nl_req req;
	struct rtattr *info, *data;
	size_t cap = NL_REQ_SIZE;
	int err;

	nl_link_msg(&req, RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
	err = nl_attr_str(req.nh, cap, IFLA_IFNAME, name);
	info = nl_nest_start(req.nh, cap, IFLA_LINKINFO);
	if (err || !info)
		return -EMSGSIZE;
	err = nl_attr_str(req.nh, cap, IFLA_INFO_KIND, "bridge");
	data = nl_nest_start(req.nh, cap, IFLA_INFO_DATA);
	if (err || !data)
		return -EMSGSIZE;
	/*
	 * Forward at once, and flood multicast: without a querier, snooping
	 * could starve IPv6 neighbour discovery.
	 */
	err = nl_attr_u32(req.nh, cap, IFLA_BR_STP_STATE, 0) ?:
	      nl_attr_u32(req.nh, cap, IFLA_BR_FORWARD_DELAY, 0) ?:
	      nl_attr_u8(req.nh, cap, IFLA_BR_MCAST_SNOOPING, 0);
	if (err)
		return err;
	nl_nest_end(req.nh, data);
	nl_nest_end(req.nh, info);
	return nl_talk(nl, req.nh, NULL, 0);
}

int lab_nl_add_veth(struct lab_nl *nl, const char *name, const char *peer,
		    int peer_nsfd)
{
	struct nl_req req;
	struct rtattr *info, *data, *peer_attr;
	struct ifinfomsg peer_ifi = { .ifi_family = AF_UNSPEC };
	size_t cap = NL_REQ_SIZE;
	int err;

	nl_link_msg(&req, RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
	err = nl_attr_str(req.nh, cap, IFLA_IFNAME, name);
	info = nl_nest_start(req.nh, cap, IFLA_LINKINFO);
	if (err || !info)
		return -EMSGSIZE;
	err = nl_attr_str(req.nh, cap, IFLA_INFO_KIND, "veth");
	data = nl_nest_start(req.nh, cap, IFLA_INFO_DATA);
	if (err || !data)
		return -EMSGSIZE;
	/* VETH_INFO_PEER carries a struct ifinfomsg, then the peer's attrs. */
	peer_attr = nl_nest_start(req.nh, cap, VETH_INFO_PEER);
	if (!peer_attr)
		return -EMSGSIZE;
	if (NLMSG_ALIGN(req.nh->nlmsg_len) + sizeof(peer_ifi) > cap)
		return -EMSGSIZE;
	memcpy(nl_tail(req.nh), &peer_ifi, sizeof(peer_ifi));
	req.nh->nlmsg_len = NLMSG_ALIGN(req.nh->nlmsg_len) + sizeof(peer_ifi);
	err = nl_attr_str(req.nh, cap, IFLA_IFNAME, peer) ?:
	      nl_attr_u32(req.nh, cap, IFLA_NET_NS_FD, peer_nsfd);
	if (err)
		return err;
	nl_nest_end(req.nh, peer_attr);
	nl_nest_end(req.nh, data);
	nl_nest_end(req.nh, info);
	return nl_talk(nl, req.nh, NULL, 0);
}

int lab_nl_ifindex(struct lab_nl *nl, const char *name)
{
	struct nl_req req;
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
		char attrs[4096];
	} reply;
	int err;

	nl_link_msg(&req, RTM_GETLINK, 0);
	err = nl_attr_str(req.nh, NL_REQ_SIZE, IFLA_IFNAME, name);
	if (err)
		return err;
	memset(&reply, 0, sizeof(reply));
	err = nl_talk(nl, req.nh, &reply, sizeof(reply));
	if (err)
		return err;
	if (reply.nh.nlmsg_type != RTM_NEWLINK || reply.ifi.ifi_index <= 0)
		return -ENODEV;
	return reply.ifi.ifi_index;
}

int lab_nl_link_up(struct lab_nl *nl, const char *name, const char *master)
{
	struct nl_req req;
	struct ifinfomsg *ifi;
	int err, master_index;

	ifi = nl_link_msg(&req, RTM_NEWLINK, NLM_F_ACK);
	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = IFF_UP;
	err = nl_attr_str(req.nh, NL_REQ_SIZE, IFLA_IFNAME, name);
	if (err)
		return err;
	if (master) {
		master_index = lab_nl_ifindex(nl, master);
		if (master_index < 0)
			return master_index;
		err = nl_attr_u32(req.nh, NL_REQ_SIZE, IFLA_MASTER,
				  master_index);
		if (err)
			return err;
	}
	return nl_talk(nl, req.nh, NULL, 0);
}

int lab_nl_add_addr(struct lab_nl *nl, int ifindex, int family,
		    const uint8_t *addr, int plen)
{
	struct nl_req req;
	struct ifaddrmsg *ifa;
	size_t alen = family == 4 ? 4 : 16;
	int err;

	ifa = nl_msg_init(&req, RTM_NEWADDR,
			  NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifa));
	ifa->ifa_family = family == 4 ? AF_INET : AF_INET6;
	ifa->ifa_prefixlen = plen;
	ifa->ifa_index = ifindex;
	ifa->ifa_flags = family == 6 ? IFA_F_NODAD : 0;
	err = nl_attr(req.nh, NL_REQ_SIZE, IFA_LOCAL, addr, alen) ?:
	      nl_attr(req.nh, NL_REQ_SIZE, IFA_ADDRESS, addr, alen);
	if (!err && family == 6)
		err = nl_attr_u32(req.nh, NL_REQ_SIZE, IFA_FLAGS,
				  IFA_F_NODAD);
	if (err)
		return err;
	return nl_talk(nl, req.nh, NULL, 0);
}

/* ------------------------------------------------------------------ */
/* Child processes                                                     */
/* ------------------------------------------------------------------ */

pid_t lab_fork(void)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
	} else if (pid > 0) {
		/* Both sides set it: whichever runs first wins the race. */
		setpgid(pid, pid);
	}
	return pid;
}

int lab_wait(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -ECHILD;
}

static int read_all(int fd, char **out)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *grown;
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (cap - len < 1024) {
			grown = realloc(buf, cap * 2);
			if (!grown) {
				free(buf);
				return -ENOMEM;
			}
			buf = grown;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

int lab_run(char *const argv[], char **capture, bool quiet)
{
	int pipefd[2] = { -1, -1 }, devnull, err = 0, status;
	pid_t pid;

	if (capture) {
		*capture = NULL;
		if (pipe2(pipefd, O_CLOEXEC))
			return -errno;
	}
	pid = lab_fork();
	if (pid < 0) {
		err = -errno;
		goto out;
	}
	if (pid == 0) {
		if (capture) {
			dup2(pipefd[1], STDOUT_FILENO);
		} else if (quiet) {
			devnull = open("/dev/null", O_WRONLY);
			if (devnull >= 0)
				dup2(devnull, STDOUT_FILENO);
		}
		execv(argv[0], argv);
		fprintf(stderr, "portwarden: lab: cannot run %s: %s\n",
			argv[0], strerror(errno));
		_exit(127);
	}
	if (capture) {
		close(pipefd[1]);
		pipefd[1] = -1;
		err = read_all(pipefd[0], capture);
	}
	status = lab_wait(pid);
	if (!err)
		err = status;
out:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	return err;
}

/* ------------------------------------------------------------------ */
/* Traffic                                                             */
/* ------------------------------------------------------------------ */

static void fill_sockaddr(int family, const uint8_t *a, uint16_t port,
			  struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (family == 4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		if (a)
			memcpy(&s4->sin_addr, a, 4);
		*len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		if (a)
			memcpy(&s6->sin6_addr, a, 16);
		*len = sizeof(*s6);
	}
}

static int new_socket(int family, int ipproto)
{
	int one = 1, fd;

	fd = socket(family == 4 ? AF_INET : AF_INET6,
		    (ipproto == IPPROTO_TCP ? SOCK_STREAM : SOCK_DGRAM) |
			    SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == 6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	return fd;
}

/* Listening TCP or bound UDP, on every address of the family. */
static int listen_socket(const struct lab_listen *l)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = new_socket(l->family, l->ipproto);

	if (fd < 0)
		return -1;
	fill_sockaddr(l->family, NULL, l->port, &ss, &len);
	if (bind(fd, (struct sockaddr *)&ss, len) ||
	    (l->ipproto == IPPROTO_TCP && listen(fd, 64))) {
		close(fd);
		return -1;
	}
	return fd;
}

#define SERVE_MAX_FDS 256
#define SERVE_EVENTS (POLLIN | POLLHUP | POLLERR)

struct serve_set {
	struct pollfd pfd[SERVE_MAX_FDS];
	bool listening[SERVE_MAX_FDS];
	int n;
};

static void serve_add(struct serve_set *set, int fd, bool listening)
{
	if (set->n == SERVE_MAX_FDS) {
		close(fd);
		return;
	}
	set->listening[set->n] = listening;
	set->pfd[set->n++] = (struct pollfd){ .fd = fd, .events = POLLIN };
}

/* Returns false when the socket at @i went away and was removed. */
static bool serve_one(struct serve_set *set, int i)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char buf[2048];
	ssize_t len;
	int fd;

	if (set->listening[i]) {
		fd = accept4(set->pfd[i].fd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0)
			serve_add(set, fd, false);
		return true;
	}
	len = recvfrom(set->pfd[i].fd, buf, sizeof(buf), 0,
		       (struct sockaddr *)&ss, &sl);
	if (len > 0) {
		/* A connected TCP socket ignores the address. */
		sendto(set->pfd[i].fd, buf, len, MSG_NOSIGNAL,
		       (struct sockaddr *)&ss, sl);
		return true;
	}
	if (len < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	/* A TCP peer went away. */
	close(set->pfd[i].fd);
	set->n--;
	set->pfd[i] = set->pfd[set->n];
	set->listening[i] = set->listening[set->n];
	return false;
}

void lab_serve(int nsfd, const struct lab_listen *l, int n, int ready)
{
	static struct serve_set set;
	int i, fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (lab_netns_enter(nsfd))
		_exit(1);
	for (i = 0; i < n && i < SERVE_MAX_FDS / 2; i++) {
		fd = listen_socket(&l[i]);
		if (fd < 0) {
			fprintf(stderr, "portwarden: lab: cannot serve %s/%u over IPv%d: %s\n",
				l[i].ipproto == IPPROTO_TCP ? "tcp" : "udp",
				l[i].port, l[i].family, strerror(errno));
			_exit(1);
		}
		serve_add(&set, fd, l[i].ipproto == IPPROTO_TCP);
	}
	if (write(ready, "R", 1) != 1)
		_exit(1);
	close(ready);
	for (;;) {
		if (poll(set.pfd, set.n, -1) < 0)
			continue;
		for (i = 0; i < set.n; i++) {
			if (!(set.pfd[i].revents & SERVE_EVENTS))
				continue;
			if (!serve_one(&set, i))
				i--; /* another socket moved into slot i */
		}
	}
}

/* Wait up to @ms for @events on @fd. */
static bool wait_fd(int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n;

	do {
		n = poll(&p, 1, ms);
	} while (n < 0 && errno == EINTR);
	return n == 1;
}

static void probe_tcp(int fd, const struct sockaddr *to, socklen_t tolen,
		      struct lab_probe_result *r)
{
	static const char msg[] = "portwarden lab\n";
	char buf[sizeof(msg)];
	socklen_t sl = sizeof(r->err);

	r->sent = 1;
	if (connect(fd, to, tolen) && errno != EINPROGRESS) {
		r->err = errno;
		return;
	}
	if (!wait_fd(fd, POLLOUT, LAB_CONNECT_MS)) {
		r->outcome = LAB_TIMED_OUT;
		return;
	}
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &r->err, &sl);
	if (r->err) {
		r->outcome = r->err == ECONNREFUSED ? LAB_REFUSED : LAB_ERROR;
		return;
	}
	r->outcome = LAB_PARTIAL;
	if (send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL) !=
	    (ssize_t)sizeof(msg) - 1)
		return;
	if (wait_fd(fd, POLLIN, LAB_ECHO_MS) &&
	    recv(fd, buf, sizeof(buf), 0) > 0) {
		r->echoed = 1;
		r->outcome = LAB_CONNECTED;
	}
}

static void probe_udp(int fd, const struct sockaddr *to, socklen_t tolen,
		      struct lab_probe_result *r)
{
	char buf[64];
	int i;

	if (connect(fd, to, tolen)) {
		r->err = errno;
		return;
	}
	for (i = 0; i < LAB_UDP_COUNT; i++) {
		snprintf(buf, sizeof(buf), "portwarden lab %d\n", i);
		if (send(fd, buf, strlen(buf), 0) < 0) {
			r->err = errno;
			break;
		}
		r->sent++;
		if (wait_fd(fd, POLLIN, LAB_UDP_WAIT_MS) &&
		    recv(fd, buf, sizeof(buf), 0) > 0)
			r->echoed++;
	}
	if (!r->sent)
		return;
	r->outcome = r->echoed == r->sent ? LAB_CONNECTED :
		     r->echoed             ? LAB_PARTIAL :
					     LAB_TIMED_OUT;
}

void lab_probe(int nsfd, const struct lab_probe *p,
	       struct lab_probe_result *r)
{
	struct sockaddr_storage from, to;
	socklen_t flen, tlen;
	int fd;

	memset(r, 0, sizeof(*r));
	r->outcome = LAB_ERROR;
	if (lab_netns_enter(nsfd)) {
		r->err = errno;
		return;
	}
	fd = new_socket(p->family, p->ipproto);
	if (fd < 0) {
		r->err = errno;
		return;
	}
	fill_sockaddr(p->family, p->src, p->sport, &from, &flen);
	fill_sockaddr(p->family, p->dst, p->dport, &to, &tlen);
	if (bind(fd, (struct sockaddr *)&from, flen))
		r->err = errno;
	else if (p->ipproto == IPPROTO_TCP)
		probe_tcp(fd, (struct sockaddr *)&to, tlen, r);
	else
		probe_udp(fd, (struct sockaddr *)&to, tlen, r);
	close(fd);
}

/* ------------------------------------------------------------------ */
/* JSON reader                                                         */
/* ------------------------------------------------------------------ */

#define JSON_MAX_DEPTH 64

struct jparser {
	const char *p;
	const char *start;
	char *err;
	size_t errlen;
	bool failed;
};

static void jfail(struct jparser *jp, const char *what)
{
	if (!jp->failed)
		snprintf(jp->err, jp->errlen, "%s at offset %td", what,
			 jp->p - jp->start);
	jp->failed = true;
}

static void jskip(struct jparser *jp)
{
	while (*jp->p == ' ' || *jp->p == '\t' || *jp->p == '\n' ||
	       *jp->p == '\r')
		jp->p++;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void put_utf8(char **o, unsigned cp)
{
	char *q = *o;

	if (cp < 0x80) {
		*q++ = cp;
	} else if (cp < 0x800) {
		*q++ = 0xc0 | (cp >> 6);
		*q++ = 0x80 | (cp & 0x3f);
	} else if (cp < 0x10000) {
		*q++ = 0xe0 | (cp >> 12);
		*q++ = 0x80 | ((cp >> 6) & 0x3f);
		*q++ = 0x80 | (cp & 0x3f);
	} else {
		*q++ = 0xf0 | (cp >> 18);
		*q++ = 0x80 | ((cp >> 12) & 0x3f);
		*q++ = 0x80 | ((cp >> 6) & 0x3f);
		*q++ = 0x80 | (cp & 0x3f);
	}
	*o = q;
}

static int read_hex4(struct jparser *jp, unsigned *cp)
{
	int i, h;

	*cp = 0;
	for (i = 0; i < 4; i++) {
		h = hexval(jp->p[i]);
		if (h < 0) {
			jfail(jp, "bad \\u escape");
			return -1;
		}
		*cp = *cp << 4 | h;
	}
	jp->p += 4;
	return 0;
}

/* At the opening quote; returns the decoded string (malloc'd) or NULL. */
static char *jstring(struct jparser *jp)
{
	const char *end = jp->p + 1;
	char *s, *o;
	unsigned cp, lo;

	while (*end && *end != '"')
		end += *end == '\\' && end[1] ? 2 : 1;
	if (*end != '"') {
		jfail(jp, "unterminated string");
		return NULL;
	}
	/* Decoding never grows the text: 6 escaped bytes give at most 4. */
	s = o = malloc(end - jp->p + 1);
	if (!s) {
		jfail(jp, "out of memory");
		return NULL;
	}
	jp->p++;
	while (*jp->p != '"') {
		if (*jp->p != '\\') {
			*o++ = *jp->p++;
			continue;
		}
		jp->p++;
		switch (*jp->p++) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u':
			if (read_hex4(jp, &cp))
				goto bad;
			if (cp >= 0xd800 && cp < 0xdc00 && jp->p[0] == '\\' &&
			    jp->p[1] == 'u') {
				jp->p += 2;
				if (read_hex4(jp, &lo))
					goto bad;
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				     (lo - 0xdc00);
			}
			put_utf8(&o, cp);
			break;
		default:
			jfail(jp, "bad escape");
			goto bad;
		}
	}
	jp->p++;
	*o = '\0';
	return s;
bad:
	free(s);
	return NULL;
}

static void jvalue(struct jparser *jp, struct lab_jval *v, int depth);

static bool jgrow(struct jparser *jp, struct lab_jval *v, bool keys)
{
	struct lab_jval *items;
	char **k;

	items = realloc(v->items, (v->nitems + 1) * sizeof(*items));
	if (!items) {
		jfail(jp, "out of memory");
		return false;
	}
	v->items = items;
	memset(&items[v->nitems], 0, sizeof(*items));
	if (keys) {
		k = realloc(v->keys, (v->nitems + 1) * sizeof(*k));
		if (!k) {
			jfail(jp, "out of memory");
			return false;
		}
		v->keys = k;
		k[v->nitems] = NULL;
	}
	v->nitems++;
	return true;
}

static void jcontainer(struct jparser *jp, struct lab_jval *v, int depth)
{
	bool obj = *jp->p == '{';
	char close = obj ? '}' : ']';

	v->type = obj ? LAB_JOBJ : LAB_JARR;
	jp->p++;
	jskip(jp);
	if (*jp->p == close) {
		jp->p++;
		return;
	}
	while (!jp->failed) {
		if (!jgrow(jp, v, obj))
			return;
		if (obj) {
			jskip(jp);
			if (*jp->p != '"') {
				jfail(jp, "expected a key");
				return;
			}
			v->keys[v->nitems - 1] = jstring(jp);
			jskip(jp);
			if (jp->failed || *jp->p++ != ':') {
				jfail(jp, "expected ':'");
				return;
			}
		}
		jvalue(jp, &v->items[v->nitems - 1], depth + 1);
		jskip(jp);
		if (*jp->p == ',') {
			jp->p++;
			continue;
		}
		if (*jp->p == close) {
			jp->p++;
			return;
		}
		jfail(jp, "expected ',' or the end of a container");
	}
}

static bool jword(struct jparser *jp, const char *w)
{
	size_t n = strlen(w);

	if (strncmp(jp->p, w, n))
		return false;
	jp->p += n;
	return true;
}

static void jvalue(struct jparser *jp, struct lab_jval *v, int depth)
{
	char *end;

	memset(v, 0, sizeof(*v));
	if (depth > JSON_MAX_DEPTH) {
		jfail(jp, "nested too deep");
		return;
	}
	jskip(jp);
	if (*jp->p == '{' || *jp->p == '[') {
		jcontainer(jp, v, depth);
	} else if (*jp->p == '"') {
		v->type = LAB_JSTR;
		v->str = jstring(jp);
	} else if (jword(jp, "true") || jword(jp, "false")) {
		v->type = LAB_JBOOL;
		v->b = jp->p[-1] == 'e' && jp->p[-2] == 'u';
	} else if (jword(jp, "null")) {
		v->type = LAB_JNULL;
	} else {
		v->type = LAB_JNUM;
		v->num = strtod(jp->p, &end);
		if (end == jp->p) {
			jfail(jp, "expected a value");
			return;
		}
		/* The text too: counters past 2^53 must not lose bits. */
		v->str = strndup(jp->p, end - jp->p);
		if (!v->str)
			jfail(jp, "out of memory");
		jp->p = end;
	}
}

int lab_json_parse(const char *text, struct lab_jval *v, char *err,
		   size_t errlen)
{
	struct jparser jp = {
		.p = text, .start = text, .err = err, .errlen = errlen,
	};

	jvalue(&jp, v, 0);
	jskip(&jp);
	if (!jp.failed && *jp.p)
		jfail(&jp, "text after the document");
	if (jp.failed) {
		lab_json_free(v);
		return -1;
	}
	return 0;
}

void lab_json_free(struct lab_jval *v)
{
	int i;

	for (i = 0; i < v->nitems; i++) {
		lab_json_free(&v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->str);
	memset(v, 0, sizeof(*v));
}

const struct lab_jval *lab_json_get(const struct lab_jval *obj,
				    const char *key)
{
	int i;

	if (!obj || obj->type != LAB_JOBJ)
		return NULL;
	for (i = 0; i < obj->nitems; i++)
		if (obj->keys[i] && !strcmp(obj->keys[i], key))
			return &obj->items[i];
	return NULL;
}

void lab_json_emit(struct pw_json *j, const char *key,
		   const struct lab_jval *v)
{
	int i;
	bool obj = v->type == LAB_JOBJ;

	switch (v->type) {
	case LAB_JNULL:
		pw_json_null(j, key);
		break;
	case LAB_JBOOL:
		pw_json_bool(j, key, v->b);
		break;
	case LAB_JNUM:
		/*
		 * The writer has integers only, and the commands the lab runs
		 * print nothing else; a fraction would come out as a string.
		 */
		if (strpbrk(v->str, ".eE"))
			pw_json_string(j, key, v->str);
		else if (v->str[0] == '-')
			pw_json_int(j, key, strtoll(v->str, NULL, 10));
		else
			pw_json_uint(j, key, strtoull(v->str, NULL, 10));
		break;
	case LAB_JSTR:
		pw_json_string(j, key, v->str);
		break;
	case LAB_JARR:
	case LAB_JOBJ:
		if (obj)
			pw_json_start_object(j, key);
		else
			pw_json_start_array(j, key);
		for (i = 0; i < v->nitems; i++)
			lab_json_emit(j, obj ? v->keys[i] : NULL,
				      &v->items[i]);
		if (obj)
			pw_json_end_object(j);
		else
			pw_json_end_array(j);
		break;
	}
}
