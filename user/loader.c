// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * loader.c - load, unload, reload, mode and confirm: everything that puts
 * the datapath on an interface or changes it while it runs.
 *
 * Load order, chosen so that an interrupted load leaves either nothing or
 * a complete datapath behind, and never an attached program in front of
 * half-written tables:
 *
 *	compile → open skeleton → size maps → pin paths in a staging dir
 *	→ load (maps pinned there) → write + flip a generation, set config
 *	→ pin the programs → rename staging dir to the pin dir → attach XDP
 *	→ pin the link → clsact qdisc (+ mark) → tc egress filter
 *	→ state file
 *
 * A crash before the rename leaves only a staging directory named after
 * a dead process, which the next load or unload of that interface
 * removes.  A crash between attach and the link pin detaches by itself:
 * an unpinned link dies with the last fd.  A crash after the link pin
 * leaves a pin directory without a state file: status calls it an
 * interrupted load, and unload finds the tc filter at our handle and
 * priority (PW_TC_HANDLE, PW_TC_PRIORITY) and the qdisc by its mark.
 *
 * pw_failpoint() marks each step for the crash tests.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <arpa/inet.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "classify.h"
#include "loader.h"
#include "portwarden.skel.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

#define PW_BPFFS "/sys/fs/bpf"
#define PW_LINK_PIN "link_xdp"
#define PW_PROG_PIN "pw_xdp_ingress"
#define PW_TC_PIN "pw_tc_egress"
/*
 * A directory in the pin directory, made right after load created the
 * clsact qdisc: unload removes the qdisc (when nothing else is on it)
 * even after a load that died before writing the state file.
 */
#define PW_QDISC_MARK "clsact_created"
#define PW_LOCK_FILE PW_STATE_ROOT "/.lock"
/*
 * Staging directories: ":staging:<name>:<pid>".  A loaded name never
 * starts with ':' and bpffs allows no '.' in names.
 */
#define PW_STAGING_PREFIX ":staging:"

/* A directory path, and room for a file name under it. */
#define PW_DIR_MAX 4096
#define PW_FILE_MAX (PW_DIR_MAX + 256)

/* ------------------------------------------------------------ names -- */

const char *pw_xdp_mode_name(enum pw_xdp_mode mode)
{
	switch (mode) {
	case PW_XDP_AUTO:
		return "auto";
	case PW_XDP_NATIVE:
		return "native";
	case PW_XDP_GENERIC:
		return "generic";
	}
	return "?";
}

int pw_xdp_mode_parse(const char *s, enum pw_xdp_mode *mode)
{
	if (!strcmp(s, "auto"))
		*mode = PW_XDP_AUTO;
	else if (!strcmp(s, "native") || !strcmp(s, "driver"))
		*mode = PW_XDP_NATIVE;
	else if (!strcmp(s, "generic") || !strcmp(s, "skb"))
		*mode = PW_XDP_GENERIC;
	else
		return -1;
	return 0;
}

__u64 pw_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* "<IF>" or "<NETNS>:<IF>", as the pin directory is named. */
static void display_name(const char *netns, const char *iface, char *buf,
			 size_t len)
{
	if (netns)
		snprintf(buf, len, "%s:%s", netns, iface);
	else
		snprintf(buf, len, "%s", iface);
}

/* " --netns NAME" for hints, or "". */
static const char *netns_flag(const char *netns, char *buf, size_t len)
{
	if (!netns)
		return "";
	snprintf(buf, len, " --netns %s", netns);
	return buf;
}

/* ------------------------------------------------------ failpoints -- */

const char *const pw_failpoint_steps[] = {
	"load-compiled",   /* policy compiled, nothing touched yet */
	"load-staged",     /* maps created and pinned in the staging dir */
	"load-gen",        /* a generation written, not in force */
	"load-flip",       /* the generation in force */
	"load-config",     /* pw_config written */
	"load-pinned",     /* programs pinned in the staging dir */
	"load-renamed",    /* the staging dir is the pin dir */
	"load-xdp",        /* XDP attached, its link not pinned yet */
	"load-xdp-pinned", /* the XDP link pinned */
	"load-qdisc",      /* clsact qdisc there (created and marked) */
	"load-tc",         /* tc egress filter attached */
	"load-state",      /* state file written: the load is complete */
	"reload-compiled", /* new policy compiled and checked */
	"reload-tc-on",    /* tc egress attached (egress was off) */
	"reload-gen",      /* inactive generation written */
	"reload-flip",     /* new generation in force */
	"reload-config",   /* pw_config written */
	"reload-tc-off",   /* tc egress detached (egress goes off) */
	"reload-state",    /* state file updated */
	"unload-xdp",      /* XDP detached */
	"unload-tc",       /* tc egress filter detached */
	"unload-qdisc",    /* our clsact qdisc removed */
	"unload-pins",     /* pins removed, state file still there */
	"mode-config",     /* pw_config written, state file not yet */
	NULL,
};

struct failpoint {
	bool parsed;
	char step[32];
	long nth, seen;
};

static void failpoint_parse(struct failpoint *fp)
{
	const char *env = getenv("PW_FAILPOINT");
	const char *comma;
	size_t len;
	int i;

	fp->parsed = true;
	if (!env || !*env)
		return;
	comma = strchr(env, ',');
	len = comma ? (size_t)(comma - env) : strlen(env);
	fp->nth = comma ? strtol(comma + 1, NULL, 10) : 1;
	for (i = 0; pw_failpoint_steps[i]; i++)
		if (strlen(pw_failpoint_steps[i]) == len &&
		    !strncmp(pw_failpoint_steps[i], env, len))
			break;
	if (!pw_failpoint_steps[i] || fp->nth < 1) {
		fprintf(stderr, "portwarden: PW_FAILPOINT=%s: not STEP[,N] "
				"with a known step; ignored\n", env);
		return;
	}
	memcpy(fp->step, env, len);
	fp->step[len] = '\0';
}

void pw_failpoint(const char *step)
{
	static struct failpoint fp;

	if (!step)
		return;
	if (!fp.parsed)
		failpoint_parse(&fp);
	if (!fp.step[0] || strcmp(step, fp.step) || ++fp.seen < fp.nth)
		return;
	fprintf(stderr, "portwarden: failpoint %s reached: killed\n", step);
	raise(SIGKILL);
	_exit(128 + SIGKILL); /* not reached */
}

/* ----------------------------------------------------- libbpf's log -- */

/*
 * libbpf speaks through a print callback; during a load we keep what it
 * says and show the tail (the verifier's last words) only on failure.
 */
static char libbpf_log[16384];
static size_t libbpf_log_len;

static int libbpf_keep(enum libbpf_print_level level, const char *fmt,
		       va_list ap)
{
	size_t room = sizeof(libbpf_log) - libbpf_log_len;
	int n;

	if (level == LIBBPF_DEBUG)
		return 0;
	if (room < 2) {
		/* keep the newest: drop the older half */
		memmove(libbpf_log, libbpf_log + sizeof(libbpf_log) / 2,
			sizeof(libbpf_log) / 2);
		libbpf_log_len = sizeof(libbpf_log) / 2;
		room = sizeof(libbpf_log) - libbpf_log_len;
	}
	n = vsnprintf(libbpf_log + libbpf_log_len, room, fmt, ap);
	if (n > 0)
		libbpf_log_len += (size_t)n < room ? (size_t)n : room - 1;
	return 0;
}

static void libbpf_log_start(void)
{
	libbpf_log_len = 0;
	libbpf_log[0] = '\0';
	libbpf_set_print(libbpf_keep);
}

/* The last lines libbpf printed, as one warning (the error says why). */
static void libbpf_log_report(struct pw_diags *d)
{
	const char *tail = libbpf_log;
	int lines = 0;
	size_t i;

	for (i = libbpf_log_len; i > 0; i--) {
		if (libbpf_log[i - 1] == '\n' && ++lines > 12) {
			tail = libbpf_log + i;
			break;
		}
	}
	if (*tail)
		pw_warn(d, NULL, "libbpf said:\n%s", tail);
}

/* ------------------------------------------------ kernel diagnosis -- */

/* Why the kernel may have refused: permission, or features it lacks. */
static void explain_kernel_error(struct pw_diags *d, const char *name,
				 const char *what, int err)
{
	struct utsname u;
	int major = 0, minor = 0;

	if (err == -EPERM || err == -EACCES) {
		pw_error(d, NULL,
			 "%s: %s: permission denied: loading needs CAP_BPF, "
			 "CAP_NET_ADMIN and CAP_PERFMON (run as root)",
			 name, what);
		return;
	}
	if (!uname(&u))
		sscanf(u.release, "%d.%d", &major, &minor);
	if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_XDP, NULL) <= 0) {
		pw_error(d, NULL,
			 "%s: %s: kernel %s too old or built without XDP "
			 "(BPF_PROG_TYPE_XDP, Linux 4.8); portwarden needs "
			 "Linux 5.15 or newer", name, what, u.release);
		return;
	}
	if (libbpf_probe_bpf_map_type(BPF_MAP_TYPE_PERCPU_HASH, NULL) <= 0) {
		pw_error(d, NULL,
			 "%s: %s: kernel %s lacks per-CPU maps (Linux 4.6); "
			 "portwarden needs Linux 5.15 or newer", name, what,
			 u.release);
		return;
	}
	if (major && (major < 5 || (major == 5 && minor < 15))) {
		pw_error(d, NULL,
			 "%s: %s: %s; kernel %s is older than 5.15, the oldest "
			 "portwarden supports (bounded loops need 5.3, XDP "
			 "links 5.9)", name, what, strerror(-err), u.release);
		return;
	}
	pw_error(d, NULL, "%s: %s: %s", name, what, strerror(-err));
}

/* ----------------------------------------------------------- locking -- */

/*
 * One writer at a time across all interfaces: loads, reloads and mode
 * changes assume they are the only writer of the maps they touch.
 */
static int lock_take(const char *name, struct pw_diags *d)
{
	int fd;

	if (mkdir(PW_STATE_ROOT, 0755) && errno != EEXIST) {
		pw_error(d, NULL, "%s: cannot create %s: %s%s", name,
			 PW_STATE_ROOT, strerror(errno),
			 errno == EACCES ? " (run as root)" : "");
		return -1;
	}
	fd = open(PW_LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		pw_error(d, NULL, "%s: cannot open %s: %s%s", name,
			 PW_LOCK_FILE, strerror(errno),
			 errno == EACCES ? " (run as root)" : "");
		return -1;
	}
	if (flock(fd, LOCK_EX)) {
		pw_error(d, NULL, "%s: cannot lock %s: %s", name,
			 PW_LOCK_FILE, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void lock_release(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* ----------------------------------------------------------- netns -- */

int pw_netns_enter(const char *name, int *saved, struct pw_diags *d)
{
	char path[PW_FILE_MAX];
	int fd, err;

	*saved = -1;
	if (!name)
		return 0;
	if (!*name || strchr(name, '/')) {
		pw_error(d, NULL, "bad network namespace name '%s'", name);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		pw_error(d, NULL, "network namespace %s: %s", name,
			 err == -ENOENT ? "no such namespace (no /run/netns entry)"
					: strerror(-err));
		return err;
	}
	*saved = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*saved < 0 || setns(fd, CLONE_NEWNET)) {
		err = -errno;
		pw_error(d, NULL, "cannot enter network namespace %s: %s%s",
			 name, strerror(-err),
			 err == -EPERM ? " (needs CAP_SYS_ADMIN)" : "");
		if (*saved >= 0)
			close(*saved);
		*saved = -1;
		close(fd);
		return err;
	}
	close(fd);
	return 0;
}

void pw_netns_leave(int saved)
{
	if (saved < 0)
		return;
	if (setns(saved, CLONE_NEWNET))
		fprintf(stderr, "portwarden: cannot return to the original "
				"network namespace: %s\n", strerror(errno));
	close(saved);
}

/* pw_netns_enter() with the loaded name in front of its messages. */
static int netns_enter_named(const char *netns, const char *name,
			     int *saved, struct pw_diags *d)
{
	struct pw_diags local = { 0 };
	int i, err;

	err = pw_netns_enter(netns, saved, &local);
	for (i = 0; i < local.n; i++)
		pw_error(d, NULL, "%s: %s", name, local.v[i].msg);
	pw_diags_free(&local);
	return err;
}

/* Interface index in @netns; 0 with an error naming the cause. */
static unsigned iface_index(const char *netns, const char *iface,
			    const char *name, struct pw_diags *d)
{
	unsigned idx;
	int saved;

	if (!*iface || strlen(iface) >= IF_NAMESIZE) {
		pw_error(d, NULL, "%s: not a valid interface name", name);
		return 0;
	}
	if (netns_enter_named(netns, name, &saved, d))
		return 0;
	idx = if_nametoindex(iface);
	pw_netns_leave(saved);
	if (!idx)
		pw_error(d, NULL, "%s: no such interface%s%s", name,
			 netns ? " in network namespace " : "",
			 netns ? netns : "");
	return idx;
}

/* ------------------------------------------------------------- bpffs -- */

static int ensure_bpffs(struct pw_diags *d)
{
	struct statfs sfs;

	if (!statfs(PW_BPFFS, &sfs) && sfs.f_type == BPF_FS_MAGIC)
		return 0;
	if (mkdir(PW_BPFFS, 0700) && errno != EEXIST) {
		pw_error(d, NULL, "cannot create %s: %s", PW_BPFFS,
			 strerror(errno));
		return -errno;
	}
	if (mount("bpf", PW_BPFFS, "bpf", 0, "mode=0700")) {
		pw_error(d, NULL, "cannot mount bpffs on %s: %s%s", PW_BPFFS,
			 strerror(errno),
			 errno == EPERM ? " (run as root)" : "");
		return -errno;
	}
	return 0;
}

/* Unpin every file in @dir, then the directory.  Missing is fine. */
static int remove_pin_dir(const char *dir)
{
	char path[PW_FILE_MAX];
	struct dirent *de;
	DIR *dh;
	int err = 0;

	dh = opendir(dir);
	if (!dh)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(dh))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (!unlink(path) || errno == ENOENT)
			continue;
		if (errno == EISDIR && !rmdir(path))
			continue; /* PW_QDISC_MARK */
		if (!err)
			err = -errno;
	}
	closedir(dh);
	if (rmdir(dir) && errno != ENOENT && !err)
		err = -errno;
	return err;
}

/* "PW_PIN_ROOT/:staging:<name>:" with '.' spelt as in pin directories. */
static void staging_name(const char *name, char *buf, size_t len)
{
	char *p;

	snprintf(buf, len, "%s/" PW_STAGING_PREFIX "%s:", PW_PIN_ROOT, name);
	for (p = buf + strlen(PW_PIN_ROOT) + 1; *p; p++)
		if (*p == '.')
			*p = '%';
}

/*
 * Staging directories of @name left by loads that died: removed when
 * their process is gone.
 */
static void remove_dead_staging(const char *name)
{
	char prefix[512], path[PW_FILE_MAX], *end;
	struct dirent *de;
	size_t plen;
	long pid;
	DIR *dh;

	staging_name(name, path, sizeof(path));
	snprintf(prefix, sizeof(prefix), "%s", strrchr(path, '/') + 1);
	plen = strlen(prefix);
	dh = opendir(PW_PIN_ROOT);
	if (!dh)
		return;
	while ((de = readdir(dh))) {
		if (strncmp(de->d_name, prefix, plen))
			continue;
		pid = strtol(de->d_name + plen, &end, 10);
		if (*end || pid <= 0)
			continue;
		if (kill((pid_t)pid, 0) && errno == ESRCH) {
			snprintf(path, sizeof(path), "%s/%s", PW_PIN_ROOT,
				 de->d_name);
			remove_pin_dir(path);
		}
	}
	closedir(dh);
}

/* ------------------------------------------------------ compiling -- */

struct pw_build {
	struct pw_policy pol;
	struct pw_inventory inv;
	struct pw_compiled c;
	bool compiled;
};

static int build_compile(struct pw_build *b, const struct pw_state *st,
			 const struct pw_prev_state *prev, struct pw_diags *d)
{
	int err;

	memset(b, 0, sizeof(*b));
	err = pw_state_compile(st, prev, &b->pol, &b->inv, &b->c, d);
	b->compiled = !err;
	return err;
}

static void build_free(struct pw_build *b)
{
	if (b->compiled)
		pw_compiled_free(&b->c);
	pw_inventory_free(&b->inv);
	pw_policy_free(&b->pol);
}

/* ---------------------------------------------------- lockout guard -- */

/* "a.b.c.d", "x::y", "::ffff:a.b.c.d", "fe80::1%eth0" -> family 4 or 6. */
static int parse_ssh_addr(const char *s, uint8_t addr[16])
{
	char buf[INET6_ADDRSTRLEN + 32], *pct;
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	snprintf(buf, sizeof(buf), "%s", s);
	pct = strchr(buf, '%');
	if (pct)
		*pct = '\0';
	if (inet_pton(AF_INET, buf, addr) == 1)
		return 4;
	if (inet_pton(AF_INET6, buf, addr) != 1)
		return 0;
	if (!memcmp(addr, mapped, sizeof(mapped))) {
		memmove(addr, addr + 12, 4);
		return 4;
	}
	return 6;
}

struct ssh_session {
	int family;
	uint8_t client[16], server[16];
	unsigned client_port, server_port;
};

/* SSH_CONNECTION is "CLIENT_IP CLIENT_PORT SERVER_IP SERVER_PORT". */
static bool ssh_session_from_env(struct ssh_session *s)
{
	const char *env = getenv("SSH_CONNECTION");
	char cip[128], sip[128];
	int fc, fs;

	if (!env || sscanf(env, "%127s %u %127s %u", cip, &s->client_port,
			   sip, &s->server_port) != 4)
		return false;
	fc = parse_ssh_addr(cip, s->client);
	fs = parse_ssh_addr(sip, s->server);
	if (!fc || fc != fs || s->client_port > 65535 ||
	    s->server_port > 65535)
		return false;
	s->family = fc;
	return true;
}

/* Does any source role get through to 22/tcp in enforce mode? */
static bool anyone_reaches_ssh(const struct pw_compiled *c)
{
	const struct pw_rule_entry *e;
	unsigned seg, role;

	seg = pw_compiled_seg(c, PW_DIR_INGRESS, PW_P_TCP, 22);
	if (seg == PW_SEG_NONE)
		return false;
	for (role = 0; role < c->nroles; role++) {
		e = pw_compiled_entry(c, PW_DIR_INGRESS, seg, role);
		if (!e)
			continue;
		if ((e->flags & PW_ENTRY_ALLOW) && !(e->flags & PW_ENTRY_LOOPBACK))
			return true;
		if (e->mode == PW_MODE_AUDIT)
			return true; /* a violation, but passed */
	}
	return false;
}

int pw_lockout_check(const struct pw_compiled *c, const char *name,
		     bool force, struct pw_diags *d)
{
	struct pw_config cfg = { .mode = PW_MODE_ENFORCE,
				 .unchecked_drop = PW_UNCHECKED_DROP_DEFAULT };
	struct pw_classify_result res;
	struct ssh_session s;
	uint8_t pkt[256];
	char why[256];
	int len;

	if (!anyone_reaches_ssh(c))
		pw_warn(d, NULL,
			"%s: no role may reach 22/tcp: in enforce mode nobody "
			"can open an SSH session to this host through it",
			name);
	if (!ssh_session_from_env(&s))
		return 0;
	len = pw_classify_build_packet(s.family, s.client, s.server,
				       PW_IPPROTO_TCP, s.client_port,
				       s.server_port, pkt, sizeof(pkt));
	if (len < 0)
		return 0;
	if (pw_classify(c, &cfg, 0, pkt, len, &res) != PW_XDP_DROP)
		return 0;
	pw_classify_describe(c, &res, why, sizeof(why));
	if (force) {
		pw_warn(d, NULL,
			"%s: enforce drops the SSH session this command runs "
			"in (%s); going on because of --force", name, why);
		return 0;
	}
	pw_error(d, NULL,
		 "%s: refusing enforce: it would drop the SSH session this "
		 "command runs in (%s); allow it in the policy, or use "
		 "--force", name, why);
	return -EPERM;
}

/* ------------------------------------------------------- XDP attach -- */

static const char *attach_mode_name(__u8 mode)
{
	switch (mode) {
	case XDP_ATTACHED_DRV:
		return "native";
	case XDP_ATTACHED_SKB:
		return "generic";
	case XDP_ATTACHED_HW:
		return "offloaded";
	case XDP_ATTACHED_MULTI:
		return "several modes";
	}
	return "none";
}

/* "id 42 'xdp_dispatcher', native mode" */
static void describe_prog(__u32 id, __u8 mode, char *buf, size_t len)
{
	struct bpf_prog_info info = { 0 };
	__u32 ilen = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);

	if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &ilen))
		snprintf(buf, len, "id %u '%s', %s mode", id, info.name,
			 attach_mode_name(mode));
	else
		snprintf(buf, len, "id %u, %s mode", id,
			 attach_mode_name(mode));
	if (fd >= 0)
		close(fd);
}

/* Detach whatever XDP program is on @ifindex: netlink, else a link. */
static int detach_foreign(unsigned ifindex, const struct bpf_xdp_query_opts *q)
{
	struct bpf_link_info info;
	__u32 id = 0, len;
	int fd, err = 0;

	if (q->skb_prog_id)
		err = bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE, NULL);
	if (!err && q->drv_prog_id)
		err = bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
	if (!err && q->hw_prog_id)
		err = bpf_xdp_detach(ifindex, XDP_FLAGS_HW_MODE, NULL);
	if (err != -EBUSY)
		return err;
	/* attached through a bpf_link: netlink cannot remove it */
	while (!bpf_link_get_next_id(id, &id)) {
		fd = bpf_link_get_fd_by_id(id);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) &&
		    info.type == BPF_LINK_TYPE_XDP &&
		    info.xdp.ifindex == ifindex)
			err = bpf_link_detach(fd);
		close(fd);
	}
	return err;
}

/*
 * Refuse (or with @force remove) a program somebody else attached.
 * Runs inside the interface's namespace.
 */
static int check_foreign(unsigned ifindex, const char *name, bool force,
			 struct pw_diags *d)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	char prog[128];
	int err;

	err = bpf_xdp_query(ifindex, 0, &q);
	if (err) {
		explain_kernel_error(d, name, "cannot query its XDP program",
				     err);
		return err;
	}
	if (!q.prog_id && !q.drv_prog_id && !q.skb_prog_id && !q.hw_prog_id)
		return 0;
	describe_prog(q.prog_id ? q.prog_id : q.skb_prog_id ? q.skb_prog_id
					     : q.drv_prog_id,
		      q.attach_mode, prog, sizeof(prog));
	if (!force) {
		pw_error(d, NULL,
			 "%s: already has an XDP program that is not "
			 "portwarden's (%s); remove it or use --force to "
			 "replace it", name, prog);
		return -EBUSY;
	}
	err = detach_foreign(ifindex, &q);
	if (err) {
		pw_error(d, NULL, "%s: cannot remove its XDP program (%s): %s",
			 name, prog, strerror(-err));
		return err;
	}
	pw_warn(d, NULL, "%s: replaced its XDP program (%s) (--force)", name,
		prog);
	return 0;
}

static int link_create(int prog_fd, unsigned ifindex, __u32 flags)
{
	LIBBPF_OPTS(bpf_link_create_opts, o, .flags = flags);

	return bpf_link_create(prog_fd, ifindex, BPF_XDP, &o);
}

/*
 * Attach in the requested mode; auto tries the driver first.  The link
 * is created with bpf_link_create rather than bpf_program__attach_xdp,
 * which cannot ask for a mode.  Returns the link fd or -errno.
 */
static int attach_xdp(int prog_fd, unsigned ifindex, enum pw_xdp_mode want,
		      enum pw_xdp_mode *got, const char *name,
		      struct pw_diags *d)
{
	int fd;

	if (want != PW_XDP_GENERIC) {
		fd = link_create(prog_fd, ifindex, XDP_FLAGS_DRV_MODE);
		if (fd >= 0) {
			*got = PW_XDP_NATIVE;
			return fd;
		}
		if (want == PW_XDP_NATIVE || fd == -EPERM || fd == -EBUSY)
			goto fail;
	}
	fd = link_create(prog_fd, ifindex, XDP_FLAGS_SKB_MODE);
	if (fd >= 0) {
		*got = PW_XDP_GENERIC;
		return fd;
	}
fail:
	if (fd == -EOPNOTSUPP && want == PW_XDP_NATIVE)
		pw_error(d, NULL,
			 "%s: the driver does not support native XDP; use "
			 "--xdp-mode generic or auto", name);
	else if (fd == -EBUSY || fd == -EEXIST)
		pw_error(d, NULL,
			 "%s: another XDP program was attached meanwhile",
			 name);
	else
		explain_kernel_error(d, name, "cannot attach the XDP program",
				     fd);
	return fd;
}

/* --------------------------------------------------------- settings -- */

static void tun_from_config(const struct pw_config *cfg, struct pw_tunables *t)
{
	struct pw_config def = { 0 };

	pw_config_defaults(&def);
	/* 0 in an age means the default to the datapath */
	t->v[PW_TUN_FLOW_TCP] =
		cfg->flow_tcp_timeout_s ?: def.flow_tcp_timeout_s;
	t->v[PW_TUN_FLOW_FIN] =
		cfg->flow_fin_timeout_s ?: def.flow_fin_timeout_s;
	t->v[PW_TUN_FLOW_UDP] =
		cfg->flow_udp_timeout_s ?: def.flow_udp_timeout_s;
	t->v[PW_TUN_EVENT_RATE] = cfg->event_rate;
	t->v[PW_TUN_EVENT_BURST] = cfg->event_burst;
	t->v[PW_TUN_EVENT_INTERVAL] = cfg->event_interval_s;
}

void pw_tun_defaults(struct pw_tunables *t)
{
	struct pw_config cfg = { 0 };

	pw_config_defaults(&cfg);
	memset(t, 0, sizeof(*t));
	t->v[PW_TUN_EGRESS] = PW_EGRESS_AUDIT;
	t->v[PW_TUN_FLOW_TABLE] = PW_DEFAULT_FLOW_CAP;
	t->v[PW_TUN_EVENT_RING] = PW_DEFAULT_EVENT_RING;
	tun_from_config(&cfg, t);
	t->set = (1U << PW_NTUN) - 1;
}

/* The pw_config fields the settings own; the others stay. */
static void tun_to_config(const struct pw_tunables *t, struct pw_config *cfg)
{
	cfg->flags &= ~PW_CFG_EGRESS_ENFORCE;
	if (t->v[PW_TUN_EGRESS] == PW_EGRESS_ENFORCE)
		cfg->flags |= PW_CFG_EGRESS_ENFORCE;
	cfg->flow_tcp_timeout_s = t->v[PW_TUN_FLOW_TCP];
	cfg->flow_fin_timeout_s = t->v[PW_TUN_FLOW_FIN];
	cfg->flow_udp_timeout_s = t->v[PW_TUN_FLOW_UDP];
	cfg->event_rate = t->v[PW_TUN_EVENT_RATE];
	cfg->event_burst = t->v[PW_TUN_EVENT_BURST];
	cfg->event_interval_s = t->v[PW_TUN_EVENT_INTERVAL];
}

int pw_loaded_tunables(const struct pw_loaded *l, struct pw_tunables *t)
{
	struct pw_tc_record rec;
	struct pw_config cfg;
	int err;

	pw_tun_defaults(t);
	err = pw_maps_get_config(&l->maps, &cfg);
	if (err)
		return err;
	tun_from_config(&cfg, t);
	pw_tc_record_read(l->st.netns, l->iface, &rec);
	t->v[PW_TUN_EGRESS] = rec.egress;
	t->v[PW_TUN_FLOW_TABLE] = l->maps.caps.flow_cap;
	t->v[PW_TUN_EVENT_RING] = l->maps.caps.event_ring;
	return 0;
}

/* ---------------------------------------------- state file: tc lines -- */

/*
 * The state file's own lines come from pw_state_write() (state.c); the
 * loader adds the tc lines after them, and state.c skips keys it does
 * not know.  The whole file still appears at once: it is written under a
 * temporary name and renamed.
 */
static int state_write(const char *path, const struct pw_state *st,
		       const struct pw_tc_record *r)
{
	char tmp[PW_FILE_MAX];
	FILE *f;
	int err;

	snprintf(tmp, sizeof(tmp), "%s.new.%d", path, (int)getpid());
	err = pw_state_write(tmp, st);
	if (err)
		return err;
	f = fopen(tmp, "a");
	if (!f) {
		err = -errno;
		unlink(tmp);
		return err;
	}
	fprintf(f, "egress %s\n", pw_egress_name(r->egress));
	if (r->handle) {
		fprintf(f, "tc_handle 0x%x\n", r->handle);
		fprintf(f, "tc_priority %u\n", r->priority);
	}
	if (r->handle || r->qdisc_created)
		fprintf(f, "tc_qdisc %s\n",
			r->qdisc_created ? "created" : "existing");
	if (fflush(f) || fsync(fileno(f)))
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

static void tc_record_line(struct pw_tc_record *r, const char *key,
			   const char *val)
{
	if (!strcmp(key, "egress")) {
		for (r->egress = PW_EGRESS_AUDIT; r->egress < PW_EGRESS_OFF;
		     r->egress++)
			if (!strcmp(val, pw_egress_name(r->egress)))
				break;
	} else if (!strcmp(key, "tc_handle")) {
		r->handle = strtoul(val, NULL, 0);
	} else if (!strcmp(key, "tc_priority")) {
		r->priority = strtoul(val, NULL, 0);
	} else if (!strcmp(key, "tc_qdisc")) {
		r->qdisc_created = !strcmp(val, "created");
	}
}

void pw_tc_record_read(const char *netns, const char *iface,
		       struct pw_tc_record *r)
{
	char path[PW_DIR_MAX], *line = NULL, *val;
	size_t cap = 0;
	ssize_t len;
	FILE *f;

	memset(r, 0, sizeof(*r));
	r->egress = PW_EGRESS_OFF;
	pw_state_path(netns, iface, path, sizeof(path));
	f = fopen(path, "r");
	if (!f)
		return;
	while ((len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[len - 1] = '\0';
		val = strchr(line, ' ');
		if (!val || line[0] == '#')
			continue;
		*val++ = '\0';
		tc_record_line(r, line, val);
	}
	free(line);
	fclose(f);
	if (!r->priority)
		r->handle = 0;
}

/* ------------------------------------------------------ tc egress -- */

/*
 * The filters on one clsact hook, from an RTM_GETTFILTER dump: libbpf's
 * bpf_tc_query() answers for one (handle, priority) only, and cannot
 * tell "nothing there" from "another kind of filter has the priority".
 * A dump also lists each classifier instance once with handle 0.
 */
struct tc_filter {
	__u32 prio, handle, prog_id;
	char kind[16];
};

#define TC_MAX_FILTERS 64

static void tc_filter_parse(const struct nlmsghdr *nh, struct tc_filter *f)
{
	const struct tcmsg *t = NLMSG_DATA(nh);
	const struct rtattr *a, *o;
	int len = nh->nlmsg_len - NLMSG_LENGTH(sizeof(*t)), olen;

	memset(f, 0, sizeof(*f));
	f->prio = TC_H_MAJ(t->tcm_info) >> 16;
	f->handle = t->tcm_handle;
	a = (const struct rtattr *)((const char *)t + NLMSG_ALIGN(sizeof(*t)));
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == TCA_KIND) {
			snprintf(f->kind, sizeof(f->kind), "%.*s",
				 (int)RTA_PAYLOAD(a), (const char *)RTA_DATA(a));
			continue;
		}
		if (a->rta_type != TCA_OPTIONS)
			continue;
		olen = RTA_PAYLOAD(a);
		for (o = RTA_DATA(a); RTA_OK(o, olen); o = RTA_NEXT(o, olen))
			if (o->rta_type == TCA_BPF_ID &&
			    RTA_PAYLOAD(o) >= sizeof(__u32))
				memcpy(&f->prog_id, RTA_DATA(o), sizeof(__u32));
	}
}

/* Read the dump's answers; returns how many filters, or -errno. */
static int tc_dump_read(int fd, __u32 seq, struct tc_filter *v, int max)
{
	char buf[32768];
	struct nlmsghdr *nh;
	int n = 0, len;

	for (;;) {
		len = recv(fd, buf, sizeof(buf), 0);
		if (len < 0 && errno == EINTR)
			continue;
		if (len <= 0)
			return len ? -errno : -EIO;
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, len);
		     nh = NLMSG_NEXT(nh, len)) {
			if (nh->nlmsg_seq != seq)
				continue;
			if (nh->nlmsg_type == NLMSG_DONE)
				return n;
			if (nh->nlmsg_type == NLMSG_ERROR)
				return ((struct nlmsgerr *)NLMSG_DATA(nh))->error
					       ?: n;
			if (nh->nlmsg_type != RTM_NEWTFILTER)
				continue;
			if (n < max)
				tc_filter_parse(nh, &v[n]);
			n++;
		}
	}
}

/* Every filter on the clsact hook of @ifindex (this netns). */
static int tc_dump(unsigned ifindex, bool egress, struct tc_filter *v, int max)
{
	struct {
		struct nlmsghdr nh;
		struct tcmsg tc;
	} req = {
		.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct tcmsg)),
		.nh.nlmsg_type = RTM_GETTFILTER,
		.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		.nh.nlmsg_seq = (__u32)time(NULL),
		.tc.tcm_family = AF_UNSPEC,
		.tc.tcm_ifindex = (int)ifindex,
		.tc.tcm_parent = TC_H_MAKE(TC_H_CLSACT,
					   egress ? TC_H_MIN_EGRESS
						  : TC_H_MIN_INGRESS),
	};
	int fd, n;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (send(fd, &req, req.nh.nlmsg_len, 0) < 0)
		n = -errno;
	else
		n = tc_dump_read(fd, req.nh.nlmsg_seq, v, max);
	close(fd);
	return n;
}

static __u32 prog_id_of_fd(int fd)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

/* Id of the program pinned as @pin in @pin_dir, 0 when there is none. */
static __u32 pinned_id(const char *pin_dir, const char *pin)
{
	char path[PW_FILE_MAX];
	__u32 id;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pin_dir, pin);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	id = prog_id_of_fd(fd);
	close(fd);
	return id;
}

/* "id 42 'pw_tc_egress'" or "a 'matchall' filter" for messages. */
static void describe_filter(const struct tc_filter *f, char *buf, size_t len)
{
	struct bpf_prog_info info = { 0 };
	__u32 ilen = sizeof(info);
	int fd;

	if (strcmp(f->kind, "bpf") || !f->prog_id) {
		snprintf(buf, len, "a '%s' filter", f->kind);
		return;
	}
	fd = bpf_prog_get_fd_by_id(f->prog_id);
	if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &ilen))
		snprintf(buf, len, "BPF program id %u '%s'", f->prog_id,
			 info.name);
	else
		snprintf(buf, len, "BPF program id %u", f->prog_id);
	if (fd >= 0)
		close(fd);
}

/* Is @id a pw_tc_egress program (of a load whose pins are gone)? */
static bool prog_is_portwarden(__u32 id)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);
	bool yes;
	int fd;

	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return false;
	yes = !bpf_obj_get_info_by_fd(fd, &info, &len) &&
	      !strcmp(info.name, PW_TC_PIN);
	close(fd);
	return yes;
}

/*
 * The filter at our priority on the egress hook: 1 and *@f when there is
 * one (another kind of filter, or another handle, counts too), 0 when
 * the priority is free, -errno.
 */
static int tc_find(unsigned ifindex, __u32 handle, __u32 prio,
		   struct tc_filter *f)
{
	struct tc_filter v[TC_MAX_FILTERS];
	int n, i, found = 0;

	n = tc_dump(ifindex, true, v, TC_MAX_FILTERS);
	if (n < 0)
		return n;
	for (i = 0; i < n && i < TC_MAX_FILTERS; i++) {
		if (v[i].prio != prio || (!v[i].handle && found))
			continue;
		*f = v[i]; /* the classifier entry, then its filters */
		found = 1;
		if (v[i].handle == handle)
			break;
	}
	return found;
}

/* Anything on either clsact hook?  1 yes, 0 no, -errno: do not know. */
static int tc_hooks_busy(unsigned ifindex)
{
	struct tc_filter v[1];
	int n;

	n = tc_dump(ifindex, false, v, 1);
	if (!n)
		n = tc_dump(ifindex, true, v, 1);
	return n < 0 ? n : n > 0;
}

/* pw_attached_read() once inside the namespace. */
static int attached_here(const char *iface, const char *pin_dir,
			 __u32 handle, __u32 prio, struct pw_attached *a)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	unsigned ifindex = if_nametoindex(iface);
	struct tc_filter f;
	int rc;

	memset(a, 0, sizeof(*a));
	if (!ifindex)
		return -ENODEV;
	if (!bpf_xdp_query(ifindex, 0, &q))
		a->xdp_prog = q.prog_id ?: q.drv_prog_id ?: q.skb_prog_id;
	a->xdp_ours = a->xdp_prog &&
		      a->xdp_prog == pinned_id(pin_dir, PW_PROG_PIN);
	rc = tc_find(ifindex, handle, prio, &f);
	if (rc > 0 && f.handle == handle && !strcmp(f.kind, "bpf"))
		a->tc_prog = f.prog_id;
	a->tc_ours = a->tc_prog && a->tc_prog == pinned_id(pin_dir, PW_TC_PIN);
	return rc < 0 ? rc : 0;
}

int pw_attached_read(const char *netns, const char *iface,
		     const struct pw_tc_record *r, struct pw_attached *a)
{
	char pin_dir[PW_DIR_MAX];
	struct pw_diags d = { 0 };
	int saved, err;

	memset(a, 0, sizeof(*a));
	pw_pin_dir(netns, iface, pin_dir, sizeof(pin_dir));
	err = pw_netns_enter(netns, &saved, &d);
	pw_diags_free(&d);
	if (err)
		return err;
	err = attached_here(iface, pin_dir, r->handle ?: PW_TC_HANDLE,
			    r->handle ? r->priority : PW_TC_PRIORITY, a);
	pw_netns_leave(saved);
	return err;
}

int pw_pinned_digest(const char *netns, const char *iface, uint64_t *digest)
{
	struct pw_gen_info info;
	struct pw_config cfg;
	struct pw_maps m;
	char dir[PW_DIR_MAX];
	int err;

	pw_pin_dir(netns, iface, dir, sizeof(dir));
	err = pw_maps_open_pinned(dir, &m);
	if (err)
		return err;
	err = pw_maps_get_config(&m, &cfg);
	if (!err)
		err = pw_maps_read_gen_info(&m, cfg.active_gen & 1, &info);
	if (!err)
		*digest = info.policy_digest;
	pw_maps_close(&m);
	return err;
}

/*
 * Before attaching: our (handle, priority) must be free.  A filter there
 * is refused, or with @force replaced when it is a BPF filter (*@replace);
 * another kind of filter on our priority cannot be replaced by ours.
 */
static int tc_check_free(unsigned ifindex, const char *name, bool force,
			 bool *replace, struct pw_diags *d)
{
	struct tc_filter f;
	char what[128];
	int rc;

	*replace = false;
	rc = tc_find(ifindex, PW_TC_HANDLE, PW_TC_PRIORITY, &f);
	if (rc < 0) {
		explain_kernel_error(d, name, "cannot list its tc filters", rc);
		return rc;
	}
	if (!rc)
		return 0;
	describe_filter(&f, what, sizeof(what));
	if (strcmp(f.kind, "bpf")) {
		pw_error(d, NULL,
			 "%s: the tc egress priority %u that portwarden uses is "
			 "taken by %s; remove it ('tc filter del dev IF egress "
			 "prio %u') or use 'egress off'", name, PW_TC_PRIORITY,
			 what, PW_TC_PRIORITY);
		return -EBUSY;
	}
	if (!force) {
		pw_error(d, NULL,
			 "%s: already has a tc egress filter at portwarden's "
			 "handle 0x%x priority %u that is not this load's "
			 "(%s%s); remove it or use --force to replace it",
			 name, PW_TC_HANDLE, PW_TC_PRIORITY, what,
			 prog_is_portwarden(f.prog_id)
				 ? ", left by a portwarden whose pins are gone"
				 : "");
		return -EBUSY;
	}
	pw_warn(d, NULL, "%s: replacing the tc egress filter at handle 0x%x "
			 "priority %u (%s) (--force)", name, PW_TC_HANDLE,
		PW_TC_PRIORITY, what);
	*replace = true;
	return 0;
}

/*
 * The clsact qdisc: one that is already there is kept, with whatever is
 * on it; one we create gets the mark in @pin_dir at once.
 */
static int tc_qdisc_add(struct bpf_tc_hook *hook, const char *pin_dir,
			struct pw_tc_record *r, const char *name,
			struct pw_diags *d)
{
	char path[PW_FILE_MAX];
	int err;

	err = bpf_tc_hook_create(hook);
	if (err == -EEXIST)
		return 0;
	if (err) {
		explain_kernel_error(d, name, "cannot add a clsact qdisc", err);
		return err;
	}
	r->qdisc_created = true;
	snprintf(path, sizeof(path), "%s/%s", pin_dir, PW_QDISC_MARK);
	if (mkdir(path, 0700) && errno != EEXIST)
		pw_warn(d, NULL, "%s: cannot mark the clsact qdisc as ours (%s): "
				 "an interrupted load would leave it behind",
			name, strerror(errno));
	return 0;
}

/*
 * The clsact qdisc, then our filter.  Runs inside the interface's
 * namespace; *@r says what was done, also on failure.
 */
static int tc_attach(int prog_fd, unsigned ifindex, const char *pin_dir,
		     bool replace, const char *fp_qdisc, struct pw_tc_record *r,
		     const char *name, struct pw_diags *d)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)ifindex,
		    .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, o, .prog_fd = prog_fd,
		    .handle = PW_TC_HANDLE, .priority = PW_TC_PRIORITY,
		    .flags = replace ? BPF_TC_F_REPLACE : 0);
	libbpf_print_fn_t print;
	int err;

	/* libbpf would print the kernel's complaints too: we explain them */
	print = libbpf_set_print(NULL);
	err = tc_qdisc_add(&hook, pin_dir, r, name, d);
	if (!err) {
		pw_failpoint(fp_qdisc);
		err = bpf_tc_attach(&hook, &o);
		if (err)
			explain_kernel_error(d, name, "cannot attach the tc "
						      "egress program", err);
	}
	if (!err) {
		r->handle = PW_TC_HANDLE;
		r->priority = PW_TC_PRIORITY;
	}
	libbpf_set_print(print);
	return err;
}

/*
 * Our filter: at @r's handle and priority, a BPF filter running the
 * program pinned in @pin_dir (or, when that pin is gone, a program named
 * pw_tc_egress).  Anything else there is left alone.
 */
static int tc_detach_filter(unsigned ifindex, const char *pin_dir,
			    struct pw_tc_record *r, const char *name,
			    struct pw_diags *d)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)ifindex,
		    .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, o, .handle = r->handle,
		    .priority = r->priority);
	__u32 pinned = pinned_id(pin_dir, PW_TC_PIN);
	struct tc_filter f;
	char what[128];
	bool ours;
	int rc;

	rc = r->handle ? tc_find(ifindex, r->handle, r->priority, &f) : 0;
	if (rc <= 0)
		return rc;
	ours = f.handle == r->handle && !strcmp(f.kind, "bpf") && f.prog_id &&
	       (pinned ? f.prog_id == pinned : prog_is_portwarden(f.prog_id));
	if (!ours) {
		describe_filter(&f, what, sizeof(what));
		pw_warn(d, NULL, "%s: the tc egress filter at priority %u is "
				 "not portwarden's (%s): left alone", name,
			r->priority, what);
		return 0;
	}
	rc = bpf_tc_detach(&hook, &o);
	if (rc && rc != -ENOENT) {
		explain_kernel_error(d, name,
				     "cannot detach the tc egress program", rc);
		return rc;
	}
	r->handle = r->priority = 0;
	return 0;
}

/* The clsact qdisc, when it is ours and nothing at all is on it. */
static void tc_remove_qdisc(unsigned ifindex, const char *pin_dir,
			    struct pw_tc_record *r, const char *name,
			    struct pw_diags *d)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)ifindex,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	char path[PW_FILE_MAX];
	int err;

	if (!r->qdisc_created || tc_hooks_busy(ifindex))
		return; /* not ours, in use, or cannot tell: it stays */
	err = bpf_tc_hook_destroy(&hook);
	if (err && err != -ENOENT && err != -EINVAL) {
		pw_warn(d, NULL, "%s: cannot remove the clsact qdisc it added: "
				 "%s", name, strerror(-err));
		return;
	}
	r->qdisc_created = false;
	snprintf(path, sizeof(path), "%s/%s", pin_dir, PW_QDISC_MARK);
	rmdir(path);
}

/*
 * Remove our filter, then the qdisc when @r says we created it and
 * nothing else is on it.  Inside the namespace.  @r is updated: no
 * handle once the filter is gone, qdisc_created false once the qdisc
 * is.  @fp: the failpoints after each, { NULL, NULL } for none.
 */
static int tc_detach(unsigned ifindex, const char *pin_dir,
		     struct pw_tc_record *r, const char *const fp[2],
		     const char *name, struct pw_diags *d)
{
	libbpf_print_fn_t print = libbpf_set_print(NULL);
	int err;

	err = tc_detach_filter(ifindex, pin_dir, r, name, d);
	if (!err) {
		pw_failpoint(fp[0]);
		tc_remove_qdisc(ifindex, pin_dir, r, name, d);
		pw_failpoint(fp[1]);
	}
	libbpf_set_print(print);
	return err;
}

/* ------------------------------------------------------------- load -- */

struct load_ctx {
	const struct pw_load_req *req;
	struct pw_diags *d;
	char name[IF_NAMESIZE + 300];
	char pin_dir[PW_DIR_MAX], staging[PW_DIR_MAX], state_path[PW_DIR_MAX];
	unsigned ifindex;
	struct pw_build b;
	struct portwarden *skel;
	struct pw_caps caps;
	struct pw_maps maps;
	struct pw_tunables tun;    /* every field set */
	struct pw_tc_record tc;    /* what was attached so far */
	bool staged, renamed;
	int link_fd;
	enum pw_xdp_mode xdp_got;
};

/* Pins of the loader's own making would be "already loaded". */
static int load_check_free(struct load_ctx *x)
{
	char hint[300];
	struct stat sb;

	if (!stat(x->pin_dir, &sb)) {
		pw_error(x->d, NULL,
			 "%s: already loaded by portwarden; use 'portwarden "
			 "reload%s --iface %s' to change the policy, or "
			 "'portwarden unload' first", x->name,
			 netns_flag(x->req->netns, hint, sizeof(hint)),
			 x->req->iface);
		return -EEXIST;
	}
	if (!stat(x->state_path, &sb)) {
		pw_warn(x->d, NULL, "%s: removing a stale state file %s",
			x->name, x->state_path);
		unlink(x->state_path);
	}
	return 0;
}

static int load_compile(struct load_ctx *x)
{
	int err;

	err = build_compile(&x->b, x->req->st, NULL, x->d);
	if (err) {
		pw_error(x->d, NULL, "%s: nothing loaded: the policy does not "
				     "compile", x->name);
		return err;
	}
	if (x->req->st->mode == PW_MODE_ENFORCE)
		err = pw_lockout_check(&x->b.c, x->name, x->req->force, x->d);
	if (!err)
		pw_failpoint("load-compiled");
	return err;
}

/*
 * Without the egress program, the host's own connections are not in the
 * flow table: what comes back to them is judged like a new connection.
 */
static void warn_egress_off(const char *name, struct pw_diags *d)
{
	pw_warn(d, NULL,
		"%s: egress off: the tc egress program is not attached, so "
		"connections this host opens are not recorded, and their "
		"replies are judged on ingress as if they opened connections "
		"(violations, dropped in enforce mode, unless the policy allows "
		"them)", name);
}

/* Open the skeleton, size it, point every map's pin at the staging dir. */
static int load_open(struct load_ctx *x)
{
	struct bpf_map *map;
	char path[PW_FILE_MAX];
	int err;

	x->skel = portwarden__open();
	if (!x->skel) {
		err = -errno;
		pw_error(x->d, NULL, "%s: cannot open the BPF object: %s",
			 x->name, strerror(-err));
		return err;
	}
	pw_caps_default(&x->caps);
	x->caps.flow_cap = x->tun.v[PW_TUN_FLOW_TABLE];
	x->caps.event_ring = x->tun.v[PW_TUN_EVENT_RING];
	pw_caps_fit(&x->caps, &x->b.c);
	err = pw_caps_check(&x->caps, &x->b.c, path, sizeof(path));
	if (!err)
		err = pw_skel_configure(x->skel, &x->caps);
	if (err) {
		pw_error(x->d, NULL, "%s: the policy is too big for the "
				     "datapath: %s", x->name,
			 err == -E2BIG ? path : pw_maps_errmsg());
		return err;
	}
	bpf_object__for_each_map(map, x->skel->obj) {
		if (bpf_map__is_internal(map))
			continue; /* .rodata: the program holds it */
		snprintf(path, sizeof(path), "%s/%s", x->staging,
			 bpf_map__name(map));
		err = bpf_map__set_pin_path(map, path);
		if (err) {
			pw_error(x->d, NULL, "%s: %s: %s", x->name, path,
				 strerror(-err));
			return err;
		}
	}
	return 0;
}

static int load_stage(struct load_ctx *x)
{
	int err;

	err = ensure_bpffs(x->d);
	if (err)
		return err;
	if (mkdir(PW_PIN_ROOT, 0700) && errno != EEXIST) {
		err = -errno;
		pw_error(x->d, NULL, "cannot create %s: %s", PW_PIN_ROOT,
			 strerror(-err));
		return err;
	}
	remove_dead_staging(x->name);
	if (mkdir(x->staging, 0700)) {
		err = -errno;
		pw_error(x->d, NULL, "cannot create %s: %s", x->staging,
			 strerror(-err));
		return err;
	}
	x->staged = true;
	return 0;
}

/* Load the program; the maps get pinned into the staging dir. */
static int load_program(struct load_ctx *x)
{
	int err;

	libbpf_log_start();
	err = portwarden__load(x->skel);
	libbpf_set_print(NULL);
	if (err) {
		explain_kernel_error(x->d, x->name,
				     "the kernel refused the program", err);
		libbpf_log_report(x->d);
		return err;
	}
	err = pw_maps_from_skel(x->skel, &x->caps, &x->maps);
	if (err)
		pw_error(x->d, NULL, "%s: %s", x->name, pw_maps_errmsg());
	else
		pw_failpoint("load-staged");
	return err;
}

/* A complete generation in force and the host config, before attach. */
static int load_fill(struct load_ctx *x)
{
	struct pw_config cfg;
	__u32 gen;
	int err;

	err = pw_maps_get_config(&x->maps, &cfg);
	if (err)
		goto fail;
	gen = !(cfg.active_gen & 1);
	err = pw_maps_write_gen(&x->maps, &x->b.c, gen);
	if (err)
		goto fail;
	pw_failpoint("load-gen");
	err = pw_maps_flip(&x->maps, gen);
	if (err)
		goto fail;
	pw_failpoint("load-flip");
	memset(&cfg, 0, sizeof(cfg));
	cfg.mode = x->req->st->mode;
	cfg.unchecked_drop = PW_UNCHECKED_DROP_DEFAULT;
	pw_config_defaults(&cfg);
	tun_to_config(&x->tun, &cfg);
	err = pw_maps_set_config(&x->maps, &cfg);
	if (err)
		goto fail;
	pw_failpoint("load-config");
	return 0;
fail:
	pw_error(x->d, NULL, "%s: writing the tables: %s", x->name,
		 pw_maps_errmsg());
	return err;
}

static int pin_prog(struct load_ctx *x, struct bpf_program *prog,
		    const char *pin)
{
	char path[PW_FILE_MAX];
	int err;

	snprintf(path, sizeof(path), "%s/%s", x->staging, pin);
	err = bpf_program__pin(prog, path);
	if (err)
		pw_error(x->d, NULL, "%s: cannot pin the program at %s: %s",
			 x->name, path, strerror(-err));
	return err;
}

/*
 * Programs pinned next to their maps (the tc one also when egress is
 * off: a reload may attach it), then the whole set takes its name.
 */
static int load_publish(struct load_ctx *x)
{
	int err;

	err = pin_prog(x, x->skel->progs.pw_xdp_ingress, PW_PROG_PIN);
	if (!err)
		err = pin_prog(x, x->skel->progs.pw_tc_egress, PW_TC_PIN);
	if (err)
		return err;
	pw_failpoint("load-pinned");
	if (rename(x->staging, x->pin_dir)) {
		err = -errno;
		if (err == -ENOTEMPTY || err == -EEXIST)
			pw_error(x->d, NULL, "%s: loaded by another portwarden "
					     "meanwhile", x->name);
		else
			pw_error(x->d, NULL, "%s: cannot rename %s to %s: %s",
				 x->name, x->staging, x->pin_dir,
				 strerror(-err));
		return err;
	}
	x->renamed = true;
	pw_failpoint("load-renamed");
	return 0;
}

static int load_attach_xdp(struct load_ctx *x)
{
	char path[PW_FILE_MAX];
	int err;

	x->link_fd = attach_xdp(bpf_program__fd(x->skel->progs.pw_xdp_ingress),
				x->ifindex, x->req->xdp_mode, &x->xdp_got,
				x->name, x->d);
	if (x->link_fd < 0)
		return x->link_fd;
	pw_failpoint("load-xdp");
	snprintf(path, sizeof(path), "%s/%s", x->pin_dir, PW_LINK_PIN);
	if (bpf_obj_pin(x->link_fd, path)) {
		err = -errno;
		pw_error(x->d, NULL, "%s: cannot pin the XDP link at %s: %s",
			 x->name, path, strerror(-err));
		return err;
	}
	pw_failpoint("load-xdp-pinned");
	return 0;
}

/*
 * Inside the interface's namespace: refuse what is in the way (another
 * XDP program, a filter at our tc priority) before attaching anything,
 * then XDP ingress, then tc egress.
 */
static int load_attach(struct load_ctx *x)
{
	const struct pw_load_req *req = x->req;
	bool egress = x->tun.v[PW_TUN_EGRESS] != PW_EGRESS_OFF;
	bool replace = false;
	int saved, err;

	err = netns_enter_named(req->netns, x->name, &saved, x->d);
	if (err)
		return err;
	/* tc first: with --force, check_foreign() already detaches */
	if (egress)
		err = tc_check_free(x->ifindex, x->name, req->force, &replace,
				    x->d);
	if (!err)
		err = check_foreign(x->ifindex, x->name, req->force, x->d);
	if (!err)
		err = load_attach_xdp(x);
	if (!err && egress) {
		err = tc_attach(bpf_program__fd(x->skel->progs.pw_tc_egress),
				x->ifindex, x->pin_dir, replace, "load-qdisc",
				&x->tc, x->name, x->d);
		if (!err)
			pw_failpoint("load-tc");
	}
	pw_netns_leave(saved);
	return err;
}

static int load_record(struct load_ctx *x)
{
	struct pw_state st = *x->req->st;
	int err;

	st.loaded_at = time(NULL);
	st.reloaded_at = 0;
	st.digest = x->b.c.info.policy_digest;
	st.netns = (char *)x->req->netns;
	snprintf(st.xdp_mode, sizeof(st.xdp_mode), "%s",
		 pw_xdp_mode_name(x->xdp_got));
	x->tc.egress = x->tun.v[PW_TUN_EGRESS];
	err = state_write(x->state_path, &st, &x->tc);
	if (err)
		pw_error(x->d, NULL, "%s: cannot write %s: %s", x->name,
			 x->state_path, strerror(-err));
	else
		pw_failpoint("load-state");
	return err;
}

/* Undo a failed load: detach, unpin everything (the state file is the
 * last step, so there is none to remove). */
static void load_undo(struct load_ctx *x)
{
	static const char *const no_fp[2] = { NULL, NULL };
	int saved;

	if ((x->tc.handle || x->tc.qdisc_created) &&
	    !netns_enter_named(x->req->netns, x->name, &saved, x->d)) {
		tc_detach(x->ifindex, x->pin_dir, &x->tc, no_fp, x->name,
			  x->d);
		pw_netns_leave(saved);
	}
	if (x->link_fd >= 0) {
		bpf_link_detach(x->link_fd);
		close(x->link_fd);
		x->link_fd = -1;
	}
	if (x->renamed)
		remove_pin_dir(x->pin_dir);
	else if (x->staged)
		remove_pin_dir(x->staging);
}

int pw_load(const struct pw_load_req *req, struct pw_diags *d)
{
	struct load_ctx x = { .req = req, .d = d, .link_fd = -1 };
	int lock, err;

	display_name(req->netns, req->iface, x.name, sizeof(x.name));
	pw_pin_dir(req->netns, req->iface, x.pin_dir, sizeof(x.pin_dir));
	pw_state_path(req->netns, req->iface, x.state_path,
		      sizeof(x.state_path));
	staging_name(x.name, x.staging, sizeof(x.staging));
	snprintf(x.staging + strlen(x.staging),
		 sizeof(x.staging) - strlen(x.staging), "%d", (int)getpid());
	if (req->tun)
		x.tun = *req->tun;
	else
		pw_tun_defaults(&x.tun);
	if (x.tun.v[PW_TUN_EGRESS] == PW_EGRESS_OFF)
		warn_egress_off(x.name, d);

	err = load_compile(&x);
	if (err)
		goto out_free;
	x.ifindex = iface_index(req->netns, req->iface, x.name, d);
	if (!x.ifindex) {
		err = -ENODEV;
		goto out_free;
	}
	lock = lock_take(x.name, d);
	if (lock < 0) {
		err = -EACCES;
		goto out_free;
	}
	err = load_check_free(&x);
	if (!err)
		err = load_stage(&x);
	if (!err)
		err = load_open(&x);
	if (!err)
		err = load_program(&x);
	if (!err)
		err = load_fill(&x);
	if (!err)
		err = load_publish(&x);
	if (!err)
		err = load_attach(&x);
	if (!err)
		err = load_record(&x);
	if (err)
		load_undo(&x);
	else if (x.link_fd >= 0)
		close(x.link_fd); /* the pin holds it now */
	lock_release(lock);
out_free:
	portwarden__destroy(x.skel);
	build_free(&x.b);
	return err;
}

/* ----------------------------------------------------------- unload -- */

/* Detach the XDP link; a link already gone is fine. */
static int unload_xdp(const char *dir, const char *name, struct pw_diags *d)
{
	char path[PW_FILE_MAX];
	int fd, err;

	snprintf(path, sizeof(path), "%s/%s", dir, PW_LINK_PIN);
	fd = bpf_obj_get(path);
	if (fd < 0 && (errno == EPERM || errno == EACCES)) {
		err = -errno;
		pw_error(d, NULL, "%s: permission denied opening %s: run as "
				  "root", name, path);
		return err;
	}
	if (fd >= 0) {
		if (bpf_link_detach(fd) && errno != ENOLINK)
			pw_warn(d, NULL, "%s: detaching the XDP link: %s", name,
				strerror(errno));
		close(fd);
	}
	pw_failpoint("unload-xdp");
	return 0;
}

/*
 * Our tc filter and qdisc, as the state file records them; after a load
 * that died before writing it, at PW_TC_HANDLE/PW_TC_PRIORITY, and the
 * qdisc is ours when the pin directory has its mark.  An interface or
 * namespace that is gone took its filters with it.
 */
static void unload_tc(const char *netns, const char *iface, const char *dir,
		      const char *name, struct pw_diags *d)
{
	static const char *const fp[2] = { "unload-tc", "unload-qdisc" };
	char path[PW_FILE_MAX];
	struct pw_diags quiet = { 0 };
	struct pw_tc_record r;
	struct stat sb;
	unsigned ifindex;
	int saved;

	pw_tc_record_read(netns, iface, &r);
	if (!r.handle) {
		r.handle = PW_TC_HANDLE;
		r.priority = PW_TC_PRIORITY;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, PW_QDISC_MARK);
	if (!stat(path, &sb))
		r.qdisc_created = true;
	if (pw_netns_enter(netns, &saved, &quiet)) {
		pw_diags_free(&quiet);
		return;
	}
	ifindex = if_nametoindex(iface);
	if (ifindex)
		tc_detach(ifindex, dir, &r, fp, name, d);
	pw_netns_leave(saved);
}

int pw_unload(const char *netns, const char *iface, struct pw_diags *d)
{
	char name[IF_NAMESIZE + 300], dir[PW_DIR_MAX], state[PW_DIR_MAX];
	struct stat sb;
	bool pins, have_state;
	int lock, err = 0;

	display_name(netns, iface, name, sizeof(name));
	pw_pin_dir(netns, iface, dir, sizeof(dir));
	pw_state_path(netns, iface, state, sizeof(state));
	lock = lock_take(name, d);
	if (lock < 0)
		return -EACCES;
	remove_dead_staging(name);
	pins = !stat(dir, &sb);
	have_state = !stat(state, &sb);
	if (!pins && !have_state) {
		pw_error(d, NULL, "%s: not loaded (no %s)", name, dir);
		err = -ENOENT;
		goto out;
	}
	/* detach first: the datapath stops before its tables go */
	err = unload_xdp(dir, name, d);
	if (err)
		goto out;
	unload_tc(netns, iface, dir, name, d);
	err = remove_pin_dir(dir);
	if (err)
		pw_error(d, NULL, "%s: cannot remove %s: %s", name, dir,
			 strerror(-err));
	else
		pw_failpoint("unload-pins");
	if (unlink(state) && errno != ENOENT && !err) {
		err = -errno;
		pw_error(d, NULL, "%s: cannot remove %s: %s", name, state,
			 strerror(-err));
	}
	pw_shadow_state_remove(netns, iface);
out:
	lock_release(lock);
	return err;
}

/* ----------------------------------------------------------- reload -- */

static int open_loaded(const char *netns, const char *iface,
		       struct pw_loaded *l, struct pw_diags *d)
{
	char err[1024];
	int rc;

	rc = pw_loaded_open(netns, iface, l, err, sizeof(err));
	if (rc)
		pw_error(d, NULL, "%s", err);
	return rc;
}

/*
 * Settings in @l->st take the values of @next; times and digest stay.
 * @tc: the tc lines to write.
 */
static int state_update(struct pw_loaded *l, const struct pw_state *next,
			uint64_t digest, bool reloaded,
			const struct pw_tc_record *tc, struct pw_diags *d)
{
	char path[PW_FILE_MAX];
	struct pw_state st = l->st;
	int err;

	if (next) {
		st.policy = next->policy;
		st.inventory = next->inventory;
		st.roles = next->roles;
		st.nroles = next->nroles;
		st.tags = next->tags;
		st.ntags = next->ntags;
		st.mode = next->mode;
	}
	st.digest = digest;
	if (reloaded)
		st.reloaded_at = time(NULL);
	pw_state_path(l->st.netns, l->iface, path, sizeof(path));
	err = state_write(path, &st, tc);
	if (err)
		pw_error(d, NULL, "%s: cannot write %s: %s", l->name, path,
			 strerror(-err));
	return err;
}

static int reload_compile(struct pw_loaded *l, const struct pw_load_req *req,
			  struct pw_build *b, struct pw_diags *d)
{
	struct pw_prev_buf pb;
	char why[256];
	int err;

	err = pw_prev_read(&l->maps, &pb);
	if (err) {
		pw_error(d, NULL, "%s: cannot read role ids and slots: %s",
			 l->name, strerror(-err));
		return err;
	}
	err = build_compile(b, req->st, &pb.prev, d);
	pw_prev_free(&pb);
	if (err) {
		pw_error(d, NULL, "%s: reload refused: the policy does not "
				  "compile; the running policy is untouched",
			 l->name);
		return err;
	}
	err = pw_caps_check(&l->maps.caps, &b->c, why, sizeof(why));
	if (err) {
		pw_error(d, NULL,
			 "%s: reload refused: the new policy does not fit the "
			 "loaded maps (%s); unload and load again to size them "
			 "for it (counters restart); the running policy is "
			 "untouched", l->name,
			 err == -E2BIG ? why : pw_maps_errmsg());
		return err;
	}
	if (req->st->mode == PW_MODE_ENFORCE)
		return pw_lockout_check(&b->c, l->name, req->force, d);
	return 0;
}

/* Map sizes are fixed when the maps are created. */
static int reload_check_sizes(const struct pw_loaded *l,
			      const struct pw_tunables *t, struct pw_diags *d)
{
	static const enum pw_tun sized[] = { PW_TUN_FLOW_TABLE,
					     PW_TUN_EVENT_RING };
	__u32 have[] = { l->maps.caps.flow_cap, l->maps.caps.event_ring };
	unsigned i;
	int err = 0;

	for (i = 0; i < sizeof(sized) / sizeof(sized[0]); i++) {
		if (t->v[sized[i]] == have[i])
			continue;
		pw_error(d, NULL,
			 "%s: reload refused: %s %u asked, but the loaded map "
			 "has %u; a map's size is fixed when load creates it: "
			 "unload and load again to change it (counters and "
			 "flows restart); the running policy is untouched",
			 l->name, pw_tun_desc(sized[i])->key, t->v[sized[i]],
			 have[i]);
		err = -EINVAL;
	}
	return err;
}

struct reload_ctx {
	const struct pw_load_req *req;
	struct pw_diags *d;
	struct pw_loaded l;
	struct pw_build b;
	struct pw_tunables tun; /* every field set */
	struct pw_tc_record tc; /* as recorded, then as changed */
	char pin_dir[PW_DIR_MAX];
	bool tc_added;          /* attached by this reload */
};

/* Egress was off and goes on: attach the pinned tc program. */
static int reload_tc_on(struct reload_ctx *x)
{
	char path[PW_FILE_MAX];
	unsigned ifindex;
	bool replace;
	int fd, saved, err;

	snprintf(path, sizeof(path), "%s/%s", x->pin_dir, PW_TC_PIN);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		err = -errno;
		pw_error(x->d, NULL, "%s: reload refused: no tc egress program "
				     "pinned (%s: %s); unload and load again "
				     "to switch egress on", x->l.name, path,
			 strerror(-err));
		return err;
	}
	err = netns_enter_named(x->req->netns, x->l.name, &saved, x->d);
	if (err)
		goto out;
	ifindex = if_nametoindex(x->l.iface);
	err = ifindex ? 0 : -ENODEV;
	if (err)
		pw_error(x->d, NULL, "%s: no such interface", x->l.name);
	if (!err)
		err = tc_check_free(ifindex, x->l.name, x->req->force,
				    &replace, x->d);
	if (!err)
		err = tc_attach(fd, ifindex, x->pin_dir, replace, NULL,
				&x->tc, x->l.name, x->d);
	x->tc_added = x->tc.handle != 0;
	if (err && x->tc.qdisc_created) /* the qdisc alone: take it back */
		tc_detach(ifindex, x->pin_dir, &x->tc,
			  (const char *const[2]){ NULL, NULL }, x->l.name,
			  x->d);
	pw_netns_leave(saved);
out:
	close(fd);
	if (!err)
		pw_failpoint("reload-tc-on");
	return err;
}

/* Detach what reload_tc_on() attached, or what egress off removes. */
static void reload_tc_off(struct reload_ctx *x, const char *fp)
{
	unsigned ifindex;
	int saved;

	if (netns_enter_named(x->req->netns, x->l.name, &saved, x->d))
		return;
	ifindex = if_nametoindex(x->l.iface);
	if (ifindex)
		tc_detach(ifindex, x->pin_dir, &x->tc,
			  (const char *const[2]){ NULL, NULL }, x->l.name,
			  x->d);
	pw_netns_leave(saved);
	pw_failpoint(fp);
}

/* The generation not in force, then the flip. */
static int reload_flip(struct reload_ctx *x, struct pw_config *cfg)
{
	__u32 gen;
	int err;

	err = pw_maps_get_config(&x->l.maps, cfg);
	if (err)
		return err;
	gen = !(cfg->active_gen & 1);
	err = pw_maps_write_gen(&x->l.maps, &x->b.c, gen);
	if (err)
		return err;
	pw_failpoint("reload-gen");
	err = pw_maps_flip(&x->l.maps, gen);
	if (!err)
		pw_failpoint("reload-flip");
	return err;
}

/* Host mode and settings, after the flip: written only when changed. */
static int reload_config(struct reload_ctx *x, const struct pw_config *cfg)
{
	struct pw_config next = *cfg;
	int err;

	if (next.mode != (__u32)x->req->st->mode) {
		next.mode = x->req->st->mode;
		next.enforce_deadline_ns = 0;
	}
	tun_to_config(&x->tun, &next);
	if (!memcmp(&next, cfg, sizeof(next)))
		return 0;
	err = pw_maps_set_config(&x->l.maps, &next);
	if (err) {
		pw_error(x->d, NULL, "%s: reload: the new policy is in force, "
				     "but writing its settings failed: %s; "
				     "run reload again", x->l.name,
			 pw_maps_errmsg());
		return err;
	}
	pw_failpoint("reload-config");
	return 0;
}

/*
 * A load, reload or unload that died may have left the state file's tc
 * lines behind what the interface has: believe the interface.
 */
static void reload_reconcile_tc(struct reload_ctx *x)
{
	char path[PW_FILE_MAX];
	struct pw_attached a;
	struct stat sb;

	if (pw_attached_read(x->req->netns, x->req->iface, &x->tc, &a))
		return;
	if (a.tc_ours && !x->tc.handle) {
		x->tc.egress = PW_EGRESS_AUDIT; /* on; pw_config says how */
		x->tc.handle = PW_TC_HANDLE;
		x->tc.priority = PW_TC_PRIORITY;
	} else if (!a.tc_ours && x->tc.handle) {
		x->tc.egress = PW_EGRESS_OFF;
		x->tc.handle = x->tc.priority = 0;
	}
	snprintf(path, sizeof(path), "%s/%s", x->pin_dir, PW_QDISC_MARK);
	if (!stat(path, &sb))
		x->tc.qdisc_created = true;
}

/* Checks that change nothing; then tc egress when it goes on. */
static int reload_prepare(struct reload_ctx *x)
{
	int err;

	if (x->req->tun)
		x->tun = *x->req->tun;
	else
		pw_loaded_tunables(&x->l, &x->tun);
	err = reload_check_sizes(&x->l, &x->tun, x->d);
	if (!err)
		err = reload_compile(&x->l, x->req, &x->b, x->d);
	if (!err)
		err = pw_shadow_refuse_reload(&x->l, x->d);
	if (err)
		return err;
	pw_failpoint("reload-compiled");
	if (x->tun.v[PW_TUN_EGRESS] == PW_EGRESS_OFF)
		warn_egress_off(x->l.name, x->d);
	else if (x->tc.egress == PW_EGRESS_OFF)
		return reload_tc_on(x);
	return 0;
}

int pw_reload(const struct pw_load_req *req, struct pw_diags *d)
{
	char name[IF_NAMESIZE + 300];
	struct reload_ctx x = { .req = req, .d = d };
	struct pw_config cfg;
	int lock, err;

	display_name(req->netns, req->iface, name, sizeof(name));
	lock = lock_take(name, d);
	if (lock < 0)
		return -EACCES;
	err = open_loaded(req->netns, req->iface, &x.l, d);
	if (err)
		goto out_unlock;
	pw_pin_dir(req->netns, req->iface, x.pin_dir, sizeof(x.pin_dir));
	pw_tc_record_read(req->netns, req->iface, &x.tc);
	reload_reconcile_tc(&x);
	err = reload_prepare(&x);
	if (err)
		goto out;
	err = reload_flip(&x, &cfg);
	if (err) {
		pw_error(d, NULL, "%s: reload failed: %s; the running policy "
				  "is untouched", x.l.name, pw_maps_errmsg());
		if (x.tc_added)
			reload_tc_off(&x, NULL);
		goto out;
	}
	err = reload_config(&x, &cfg);
	if (err)
		goto out;
	if (x.tun.v[PW_TUN_EGRESS] == PW_EGRESS_OFF &&
	    x.tc.egress != PW_EGRESS_OFF)
		reload_tc_off(&x, "reload-tc-off");
	x.tc.egress = x.tun.v[PW_TUN_EGRESS];
	err = state_update(&x.l, req->st, x.b.c.info.policy_digest, true,
			   &x.tc, d);
	if (!err)
		pw_failpoint("reload-state");
out:
	pw_loaded_close(&x.l);
out_unlock:
	build_free(&x.b);
	lock_release(lock);
	return err;
}

/* ------------------------------------------------------------- mode -- */

/* The lockout guard against the recorded policy (what the maps hold). */
static int mode_guard(struct pw_loaded *l, bool force, struct pw_diags *d)
{
	struct pw_policy pol;
	struct pw_inventory inv;
	struct pw_compiled c;
	int stale, err;

	err = pw_loaded_recompile(l, &pol, &inv, &c, &stale, d);
	if (err) {
		if (force) {
			pw_warn(d, NULL, "%s: cannot check the SSH lockout "
					 "guard; going on because of --force",
				l->name);
			return 0;
		}
		pw_error(d, NULL,
			 "%s: cannot check the SSH lockout guard because the "
			 "recorded policy does not compile; reload it, or use "
			 "--force", l->name);
		return err;
	}
	if (stale)
		pw_warn(d, NULL, "%s: the policy files changed since the last "
				 "load or reload; the lockout guard judged "
				 "the files as they are now", l->name);
	err = pw_lockout_check(&c, l->name, force, d);
	pw_compiled_free(&c);
	pw_inventory_free(&inv);
	pw_policy_free(&pol);
	return err;
}

int pw_set_mode(const char *netns, const char *iface, int mode,
		unsigned confirm_s, bool force, struct pw_diags *d)
{
	char name[IF_NAMESIZE + 300];
	struct pw_loaded l;
	struct pw_config cfg;
	struct pw_state next;
	struct pw_tc_record tc;
	int lock, err;

	display_name(netns, iface, name, sizeof(name));
	lock = lock_take(name, d);
	if (lock < 0)
		return -EACCES;
	err = open_loaded(netns, iface, &l, d);
	if (err)
		goto out_unlock;
	if (mode == PW_MODE_ENFORCE) {
		err = mode_guard(&l, force, d);
		if (err)
			goto out;
	}
	err = pw_maps_get_config(&l.maps, &cfg);
	if (!err) {
		/* every other field (egress flag, ages, events) stays */
		cfg.mode = mode;
		cfg.enforce_deadline_ns = 0;
		if (mode == PW_MODE_ENFORCE && confirm_s)
			cfg.enforce_deadline_ns =
				pw_monotonic_ns() +
				(__u64)confirm_s * 1000000000ULL;
		err = pw_maps_set_config(&l.maps, &cfg);
	}
	if (err) {
		pw_error(d, NULL, "%s: %s", l.name, pw_maps_errmsg());
		goto out;
	}
	pw_failpoint("mode-config");
	next = l.st;
	next.mode = mode;
	pw_tc_record_read(netns, iface, &tc);
	err = state_update(&l, &next, l.st.digest, false, &tc, d);
out:
	pw_loaded_close(&l);
out_unlock:
	lock_release(lock);
	return err;
}

int pw_confirm(const char *netns, const char *iface, struct pw_diags *d)
{
	char name[IF_NAMESIZE + 300], hint[300];
	struct pw_loaded l;
	struct pw_config cfg;
	int lock, err;

	display_name(netns, iface, name, sizeof(name));
	lock = lock_take(name, d);
	if (lock < 0)
		return -EACCES;
	err = open_loaded(netns, iface, &l, d);
	if (err)
		goto out_unlock;
	err = pw_maps_get_config(&l.maps, &cfg);
	if (err) {
		pw_error(d, NULL, "%s: %s", l.name, pw_maps_errmsg());
		goto out;
	}
	if (cfg.mode != PW_MODE_ENFORCE || !cfg.enforce_deadline_ns) {
		pw_error(d, NULL, "%s: nothing to confirm: no enforce deadline "
				  "is pending", l.name);
		err = -ENOENT;
		goto out;
	}
	if (pw_monotonic_ns() >= cfg.enforce_deadline_ns) {
		pw_error(d, NULL,
			 "%s: too late: the deadline has passed and the "
			 "datapath is back in audit; run 'portwarden mode%s "
			 "--iface %s enforce' again", l.name,
			 netns_flag(netns, hint, sizeof(hint)), iface);
		err = -ETIME;
		goto out;
	}
	cfg.enforce_deadline_ns = 0;
	err = pw_maps_set_config(&l.maps, &cfg);
	if (err)
		pw_error(d, NULL, "%s: %s", l.name, pw_maps_errmsg());
out:
	pw_loaded_close(&l);
out_unlock:
	lock_release(lock);
	return err;
}
