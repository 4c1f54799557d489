// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_loader.c - the loader end to end, as an operator runs it: the
 * portwarden binary loads the datapath on one end of a veth pair inside a
 * network namespace (--netns), real TCP and UDP sockets send from the
 * other end, and the pinned counters are read back with pw_loaded_open().
 * Needs root.
 *
 * Expected counts come from a packet socket on the sending veth: every
 * frame the client sends there reaches the loaded end, so for each flow
 * the counters must equal what the tap saw, key by key.
 *
 * Addresses: 198.18.0.0/24 and 2001:db8::/64 only, inside namespaces
 * "pwlt<pid>s" (server, portwarden loaded) and "pwlt<pid>c" (client).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "classify.h"
#include "loader.h"
#include "netns.h"
#include "report.h"
#include "state.h"

#define PREFIX "pwlt"
#define SRV_IF "pwlts0"
#define CLI_IF "pwltc0"

#define SRV4 "198.18.0.1"
#define APP4 "198.18.0.2"
#define OP4 "198.18.0.3"
#define UNK4 "198.18.0.4"
#define SRV6 "2001:db8::1"
#define APP6 "2001:db8::2"
#define OP6 "2001:db8::3"

#define TCP PW_IPPROTO_TCP
#define UDP PW_IPPROTO_UDP

static char srv_ns[64], cli_ns[64];
static char tmpdir[] = "/tmp/pwlt-XXXXXX";
static char pw_bin[4096];
static char policy_a[256], policy_a2[256], policy_b[256], policy_bad[256],
	inventory[256];

/* ------------------------------------------------------------ files -- */

/* A: the audit/enforce policy.  A2: A plus one rule (new digest, same
 * keys for A's traffic).  B: the other side of the flip test. */
static const char *text_a =
	"policy loadertest \"loader test\"\n"
	"role app \"application\"\n"
	"role db \"database\"\n"
	"role op \"operator\"\n"
	"allow tcp 3306 from app to db note \"mysql\"\n"
	"allow udp 5000-5009 from app to db note \"udp range\"\n"
	"allow tcp 22 from op to db note \"ssh\"\n";

static const char *text_a2_extra =
	"allow tcp 9000 from app to db note \"added by the reload\"\n";

static const char *text_b =
	"policy loadertest \"loader test, other side\"\n"
	"role app \"application\"\n"
	"role db \"database\"\n"
	"role op \"operator\"\n"
	"allow tcp 3306 from app to db note \"mysql\"\n"
	"allow udp 5005 from app to db note \"one port\"\n"
	"allow udp 5000-5004 from op to db note \"low ports, op only\"\n"
	"allow tcp 22 from op to db note \"ssh\"\n";

static const char *text_bad =
	"role app \"application\"\n"
	"allow tcp 3306 from app to\n";

static const char *text_inventory =
	"app 198.18.0.2 2001:db8::2\n"
	"op 198.18.0.3 2001:db8::3\n"
	"db 198.18.0.1 2001:db8::1\n";

static void write_file(char *path, size_t len, const char *name,
		       const char *a, const char *b)
{
	FILE *f;

	snprintf(path, len, "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(a, f);
	if (b)
		fputs(b, f);
	fclose(f);
}

/* ------------------------------------------------------------- CLI -- */

static char cli_out[65536], cli_err[65536];
static const char *cli_failpoint; /* PW_FAILPOINT for the commands run */
static int cli_signal;            /* what killed the last one, or 0 */

static void slurp(int fd, char *buf, size_t len)
{
	ssize_t n;
	size_t got = 0;

	lseek(fd, 0, SEEK_SET);
	while (got + 1 < len && (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += n;
	buf[got] = '\0';
	close(fd);
}

/* Run the portwarden binary; stdout/stderr in cli_out/cli_err. */
static int cli_argv(const char *const *args)
{
	char out[] = "/tmp/pwlt-out-XXXXXX", err[] = "/tmp/pwlt-err-XXXXXX";
	const char *argv[64];
	int fo, fe, status, i, n = 0;
	pid_t pid;

	argv[n++] = pw_bin;
	for (i = 0; args[i] && n < 63; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	fo = mkstemp(out);
	fe = mkstemp(err);
	assert_true(fo >= 0 && fe >= 0);
	unlink(out);
	unlink(err);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		dup2(fo, 1);
		dup2(fe, 2);
		if (cli_failpoint)
			setenv("PW_FAILPOINT", cli_failpoint, 1);
		execv(pw_bin, (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	slurp(fo, cli_out, sizeof(cli_out));
	slurp(fe, cli_err, sizeof(cli_err));
	cli_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	if (!WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

#define cli(...) cli_argv((const char *const[]){ __VA_ARGS__, NULL })

/* Run and insist on exit 0, showing stderr otherwise. */
#define cli_ok(...)                                                       \
	do {                                                              \
		int rc_ = cli(__VA_ARGS__);                               \
		if (rc_)                                                  \
			fprintf(stderr, "stderr: %s", cli_err);           \
		assert_int_equal(rc_, 0);                                 \
	} while (0)

#define ON "--netns", srv_ns, "--iface", SRV_IF

static void load(const char *policy, const char *mode)
{
	cli_ok("load", ON, "--policy", policy, "--inventory", inventory,
	       "--role", "db", "--mode", mode);
}

static void unload(void)
{
	cli_ok("unload", ON);
}

/* ---------------------------------------------------------- counters -- */

struct counters {
	struct pw_loaded l;
	struct pw_snap s;
};

static void counters_read(struct counters *c)
{
	char err[1024];
	int rc;

	rc = pw_loaded_open(srv_ns, SRV_IF, &c->l, err, sizeof(err));
	if (rc)
		fprintf(stderr, "pw_loaded_open: %s\n", err);
	assert_int_equal(rc, 0);
	assert_int_equal(pw_snap_read(&c->l.maps, &c->s), 0);
}

static void counters_free(struct counters *c)
{
	pw_snap_free(&c->s);
	pw_loaded_close(&c->l);
}

static uint32_t role_id(const struct pw_snap *s, const char *name)
{
	uint32_t id;

	for (id = 0; id < s->nroles; id++)
		if (!strcmp(s->roles[id].name, name))
			return id;
	fail_msg("role '%s' not in pw_role_names", name);
	return 0;
}

static bool key_is(const struct pw_counter_key *k, unsigned dir, int proto,
		   uint32_t role, unsigned lo, unsigned hi)
{
	return k->dir == dir && k->proto == proto && k->role == role &&
	       k->port_lo == lo && k->port_hi == hi;
}

/* Packets counted under one key of @dir, slot and unnamed counters together. */
static uint64_t packets_dir(const struct pw_snap *s, unsigned dir, int proto,
			    const char *role, unsigned lo, unsigned hi,
			    unsigned verdict)
{
	uint32_t id = role_id(s, role), i;
	uint64_t n = 0;

	for (i = 0; i < s->nslots; i++)
		if (key_is(&s->slots[i].key, dir, proto, id, lo, hi))
			n += s->slots[i].sum[verdict].packets;
	for (i = 0; i < s->nunnamed; i++)
		if (key_is(&s->unnamed[i].key, dir, proto, id, lo, hi) &&
		    s->unnamed[i].key.verdict == verdict)
			n += s->unnamed[i].sum.packets;
	return n;
}

static uint64_t packets(const struct pw_snap *s, int proto, const char *role,
			unsigned lo, unsigned hi, unsigned verdict)
{
	return packets_dir(s, PW_DIR_INGRESS, proto, role, lo, hi, verdict);
}

/* ------------------------------------------------------------- tap -- */

/*
 * Frames on the client's veth, per (way, client address, protocol,
 * source port, destination port): "out" frames the client sent from that
 * address (they reach the loaded end's ingress), "in" frames it received
 * on it (they left the loaded end's egress).
 */
#define TAP_FLOWS 1024

struct tap_flow {
	bool in;
	int family;
	uint8_t addr[16]; /* the client's side */
	uint8_t proto;
	uint16_t sport, dport;
	uint64_t packets;
};

struct tap {
	int fd;
	struct tap_flow flows[TAP_FLOWS];
	int n;
};

static void tap_open(struct tap *t)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(ETH_P_ALL) };
	int size = 8 << 20;

	memset(t, 0, sizeof(*t));
	t->fd = nst_socket(cli_ns, AF_PACKET, SOCK_RAW | SOCK_NONBLOCK,
			   htons(ETH_P_ALL));
	assert_true(t->fd >= 0);
	setsockopt(t->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
	sll.sll_ifindex = nst_ifindex(cli_ns, CLI_IF);
	assert_int_not_equal(sll.sll_ifindex, 0);
	assert_int_equal(bind(t->fd, (struct sockaddr *)&sll, sizeof(sll)), 0);
}

static struct tap_flow *tap_slot(struct tap *t, const struct tap_flow *k)
{
	size_t alen = k->family == 4 ? 4 : 16;
	int i;

	for (i = 0; i < t->n; i++)
		if (t->flows[i].in == k->in &&
		    t->flows[i].family == k->family &&
		    !memcmp(t->flows[i].addr, k->addr, alen) &&
		    t->flows[i].proto == k->proto &&
		    t->flows[i].sport == k->sport &&
		    t->flows[i].dport == k->dport)
			return &t->flows[i];
	assert_true(t->n < TAP_FLOWS);
	t->flows[t->n] = *k;
	t->flows[t->n].packets = 0;
	return &t->flows[t->n++];
}

/* Parse one frame: IPv4 or IPv6 (no extension headers), TCP or UDP. */
static void tap_frame(struct tap *t, bool in, const uint8_t *f, ssize_t len)
{
	struct tap_flow k = { .in = in };
	const uint8_t *l4;
	uint16_t type;

	if (len < 14)
		return;
	type = (f[12] << 8) | f[13];
	if (type == ETH_P_IP && len >= 14 + 20) {
		k.family = 4;
		k.proto = f[14 + 9];
		memcpy(k.addr, f + 14 + (in ? 16 : 12), 4);
		l4 = f + 14 + (f[14] & 0xf) * 4;
	} else if (type == ETH_P_IPV6 && len >= 14 + 40) {
		k.family = 6;
		k.proto = f[14 + 6];
		memcpy(k.addr, f + 14 + (in ? 24 : 8), 16);
		l4 = f + 14 + 40;
	} else {
		return;
	}
	if ((k.proto != TCP && k.proto != UDP) || l4 + 4 > f + len)
		return;
	k.sport = (l4[0] << 8) | l4[1];
	k.dport = (l4[2] << 8) | l4[3];
	tap_slot(t, &k)->packets++;
}

static void tap_drain(struct tap *t)
{
	struct sockaddr_ll from;
	socklen_t flen;
	uint8_t buf[2048];
	ssize_t n;

	for (;;) {
		flen = sizeof(from);
		n = recvfrom(t->fd, buf, sizeof(buf), MSG_TRUNC,
			     (struct sockaddr *)&from, &flen);
		if (n < 0)
			break;
		if (n > (ssize_t)sizeof(buf))
			n = sizeof(buf);
		if (from.sll_pkttype == PACKET_OUTGOING)
			tap_frame(t, false, buf, n);
		else if (from.sll_pkttype == PACKET_HOST)
			tap_frame(t, true, buf, n);
	}
}

/* Frames one way to or from the client's @addr, these ports (0: any). */
static uint64_t tap_sum(struct tap *t, bool in, const char *addr,
			uint8_t proto, uint16_t sport, uint16_t dport)
{
	int family = strchr(addr, ':') ? 6 : 4, i;
	size_t alen = family == 4 ? 4 : 16;
	const struct tap_flow *f;
	uint8_t a[16];
	uint64_t n = 0;

	assert_int_equal(inet_pton(family == 4 ? AF_INET : AF_INET6, addr, a),
			 1);
	for (i = 0; i < t->n; i++) {
		f = &t->flows[i];
		if (f->in == in && f->family == family &&
		    !memcmp(f->addr, a, alen) && f->proto == proto &&
		    (!sport || f->sport == sport) &&
		    (!dport || f->dport == dport))
			n += f->packets;
	}
	return n;
}

/* Frames the client sent from @src to @dport. */
static uint64_t tap_count(struct tap *t, const char *src, uint8_t proto,
			  uint16_t dport)
{
	return tap_sum(t, false, src, proto, 0, dport);
}

/* ----------------------------------------------------------- sockets -- */

static void sockaddr_of(const char *addr, uint16_t port,
			struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		assert_int_equal(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1);
		*len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		assert_int_equal(inet_pton(AF_INET, addr, &s4->sin_addr), 1);
		*len = sizeof(*s4);
	}
}

/* A socket in @ns bound to @addr:@port. */
static int bound_socket(const char *ns, int type, const char *addr,
			uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	sockaddr_of(addr, port, &ss, &len);
	fd = nst_socket(ns, ss.ss_family, type, 0);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	assert_int_equal(bind(fd, (struct sockaddr *)&ss, len), 0);
	return fd;
}

/* Send @n datagrams from @src in @ns to @dst:@port. */
static void udp_send_from(const char *ns, const char *src, const char *dst,
			  uint16_t port, int n)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, i;

	fd = bound_socket(ns, SOCK_DGRAM, src, 0);
	sockaddr_of(dst, port, &ss, &len);
	for (i = 0; i < n; i++)
		assert_int_equal(sendto(fd, "portwarden", 10, 0,
					(struct sockaddr *)&ss, len),
				 10);
	close(fd);
}

/* From the client's namespace to the loaded end. */
static void udp_send(const char *src, const char *dst, uint16_t port, int n)
{
	udp_send_from(cli_ns, src, dst, port, n);
}

/* Datagrams waiting on @fd, waiting up to @ms for each next one. */
static int udp_received(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[64];
	int n = 0;

	while (poll(&p, 1, ms) == 1) {
		if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) < 0)
			break;
		n++;
	}
	return n;
}

/*
 * One TCP exchange from @src in @ns: connect (up to 500 ms), send,
 * half-close, the server reads it all and closes, the client reads the
 * close.  Returns whether the connection was made.
 */
static bool tcp_flow_from(const char *ns, int listener, const char *src,
			  const char *dst, uint16_t port)
{
	struct pollfd p = { .events = POLLOUT };
	struct sockaddr_storage ss;
	socklen_t len;
	char buf[64];
	int fd, srv, soerr = 0, flags;
	socklen_t elen = sizeof(soerr);
	bool ok = false;

	fd = bound_socket(ns, SOCK_STREAM, src, 0);
	sockaddr_of(dst, port, &ss, &len);
	flags = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	if (connect(fd, (struct sockaddr *)&ss, len) && errno != EINPROGRESS)
		goto out;
	p.fd = fd;
	if (poll(&p, 1, 500) != 1)
		goto out;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &elen);
	if (soerr)
		goto out;
	fcntl(fd, F_SETFL, flags);
	ok = true;
	if (listener < 0)
		goto out;
	assert_int_equal(send(fd, "hello", 5, 0), 5);
	shutdown(fd, SHUT_WR);
	p.fd = listener;
	p.events = POLLIN;
	assert_int_equal(poll(&p, 1, 2000), 1);
	srv = accept(listener, NULL, NULL);
	assert_true(srv >= 0);
	while (recv(srv, buf, sizeof(buf), 0) > 0)
		;
	close(srv);
	while (recv(fd, buf, sizeof(buf), 0) > 0)
		;
out:
	close(fd);
	return ok;
}

/* From the client's namespace, to the loaded end. */
static bool tcp_flow(int listener, const char *src, const char *dst,
		     uint16_t port)
{
	return tcp_flow_from(cli_ns, listener, src, dst, port);
}

static int tcp_listener_in(const char *ns, const char *addr, uint16_t port)
{
	int fd = bound_socket(ns, SOCK_STREAM, addr, port);

	assert_int_equal(listen(fd, 16), 0);
	return fd;
}

static int tcp_listener(const char *addr, uint16_t port)
{
	return tcp_listener_in(srv_ns, addr, port);
}

/* ------------------------------------------------------------ flows -- */

/* A flow and the counter key the datapath must count it under. */
struct flow {
	const char *src, *dst;
	int proto;
	uint16_t port;
	const char *role;
	uint16_t lo, hi;
	bool allowed;
};

static const struct flow flows[] = {
	{ APP4, SRV4, TCP, 3306, "app", 3306, 3306, true },
	{ APP6, SRV6, TCP, 3306, "app", 3306, 3306, true },
	{ OP4, SRV4, TCP, 3306, "op", 3306, 3306, false },
	{ OP6, SRV6, TCP, 3306, "op", 3306, 3306, false },
	{ UNK4, SRV4, TCP, 3306, "unknown", 3306, 3306, false },
	{ APP4, SRV4, TCP, 8080, "app", 8080, 8080, false }, /* no rule */
	{ APP4, SRV4, UDP, 5003, "app", 5000, 5009, true },
	{ APP6, SRV6, UDP, 5007, "app", 5000, 5009, true },
	{ OP4, SRV4, UDP, 5004, "op", 5000, 5009, false },
	{ OP6, SRV6, UDP, 5001, "op", 5000, 5009, false },
	{ APP4, SRV4, UDP, 7777, "app", 7777, 7777, false }, /* no rule */
	{ OP6, SRV6, UDP, 7778, "op", 7778, 7778, false },   /* no rule */
};

#define NFLOWS (sizeof(flows) / sizeof(flows[0]))
#define UDP_PER_FLOW 7

struct flow_result {
	bool connected;   /* TCP */
	int received;     /* UDP datagrams that arrived */
};

/* Drive every flow once; servers listen where rules or tests need them. */
static void run_flows(struct flow_result *res)
{
	int l4, l6, u[NFLOWS];
	size_t i;

	l4 = tcp_listener(SRV4, 3306);
	l6 = tcp_listener(SRV6, 3306);
	for (i = 0; i < NFLOWS; i++) {
		const struct flow *f = &flows[i];

		u[i] = -1;
		if (f->proto == UDP)
			u[i] = bound_socket(srv_ns, SOCK_DGRAM, f->dst, f->port);
	}
	for (i = 0; i < NFLOWS; i++) {
		const struct flow *f = &flows[i];
		int l = f->port != 3306 ? -1 : strchr(f->dst, ':') ? l6 : l4;

		if (f->proto == TCP) {
			res[i].connected = tcp_flow(l, f->src, f->dst, f->port);
		} else {
			udp_send(f->src, f->dst, f->port, UDP_PER_FLOW);
			res[i].received = udp_received(u[i], 200);
		}
	}
	for (i = 0; i < NFLOWS; i++)
		if (u[i] >= 0)
			close(u[i]);
	close(l4);
	close(l6);
}

/*
 * Sum of the tap counts of the flows counted under @f's key: what the
 * client sent, or (@replies) what came back to it from the flow's port,
 * which the egress program counts as replies of the flow.
 */
static uint64_t expected_for(struct tap *t, const struct flow *key,
			     bool replies)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < NFLOWS; i++) {
		const struct flow *f = &flows[i];

		if (f->proto != key->proto || strcmp(f->role, key->role) ||
		    f->lo != key->lo || f->hi != key->hi)
			continue;
		if (replies)
			n += tap_sum(t, true, f->src, f->proto, f->port, 0);
		else
			n += tap_count(t, f->src, f->proto, f->port);
	}
	return n;
}

/* What a key must count under verdict @v when its flows get @want. */
static uint64_t expected_verdict(struct tap *t, const struct flow *f,
				 unsigned want, unsigned v)
{
	if (v == PW_VERDICT_REPLY)
		return expected_for(t, f, true);
	return v == want ? expected_for(t, f, false) : 0;
}

/*
 * Compare every flow key's counters with the tap, for the verdict the
 * flow gets (@violation_verdict for violations), for replies (what came
 * back, counted by the tc egress program under the flow's key), and zero
 * for the other verdicts.  The last frames of a flow may still be on their way through
 * the veth, so read until both sides agree (or 5 s have passed).
 */
static void check_counts(struct tap *t, unsigned violation_verdict)
{
	struct counters c;
	bool same = false;
	unsigned v;
	size_t i;
	int tries;

	for (tries = 0; tries < 100 && !same; tries++) {
		if (tries)
			counters_free(&c);
		usleep(50000);
		tap_drain(t);
		counters_read(&c);
		same = true;
		for (i = 0; i < NFLOWS && same; i++) {
			const struct flow *f = &flows[i];
			unsigned want = f->allowed ? PW_VERDICT_ALLOW
						   : violation_verdict;

			for (v = 0; v < PW_NVERDICT && same; v++)
				same = packets(&c.s, f->proto, f->role, f->lo,
					       f->hi, v) ==
				       expected_verdict(t, f, want, v);
		}
	}
	for (i = 0; i < NFLOWS; i++) {
		const struct flow *f = &flows[i];
		unsigned want = f->allowed ? PW_VERDICT_ALLOW
					   : violation_verdict;
		uint64_t exp;

		assert_true(expected_for(t, f, false) > 0);
		for (v = 0; v < PW_NVERDICT; v++) {
			uint64_t got = packets(&c.s, f->proto, f->role, f->lo,
					       f->hi, v);

			exp = expected_verdict(t, f, want, v);
			if (got != exp)
				fail_msg("%s -> %u/%u (%s %u-%u) verdict %s: "
					 "counted %llu, expected %llu (the tap "
					 "saw %llu frames out, %llu back under "
					 "this key)",
					 f->src, f->proto, f->port, f->role,
					 f->lo, f->hi, pw_verdict_name(v),
					 (unsigned long long)got,
					 (unsigned long long)exp,
					 (unsigned long long)expected_for(t, f,
									  false),
					 (unsigned long long)expected_for(t, f,
									  true));
		}
	}
	counters_free(&c);
}

/* ------------------------------------------------------------ tests -- */

static void audit_counts(const char *xdp_mode)
{
	struct flow_result res[NFLOWS] = { 0 };
	struct tap t;
	char want[64];
	size_t i;

	cli_ok("-j", "load", ON, "--policy", policy_a, "--inventory",
	       inventory, "--role", "db", "--xdp-mode", xdp_mode);
	snprintf(want, sizeof(want), "\"xdp_mode\":\"%s\"",
		 strcmp(xdp_mode, "auto") ? xdp_mode : "native");
	assert_non_null(strstr(cli_out, want));
	tap_open(&t);
	run_flows(res);
	for (i = 0; i < NFLOWS; i++) {
		const struct flow *f = &flows[i];

		/* audit passes everything: what has a server gets through */
		if (f->proto == TCP && f->port == 3306)
			assert_true(res[i].connected);
		if (f->proto == UDP)
			assert_int_equal(res[i].received, UDP_PER_FLOW);
	}
	check_counts(&t, PW_VERDICT_AUDIT);
	close(t.fd);
	unload();
}

/* auto picks native mode on a veth */
static void test_audit_counts(void **state)
{
	audit_counts("auto");
}

static void test_audit_counts_generic(void **state)
{
	audit_counts("generic");
}

static void test_enforce_drops(void **state)
{
	struct flow_result res[NFLOWS] = { 0 };
	struct tap t;
	size_t i;

	load(policy_a, "enforce");
	tap_open(&t);
	run_flows(res);
	for (i = 0; i < NFLOWS; i++) {
		const struct flow *f = &flows[i];

		if (f->proto == TCP && f->port == 3306)
			assert_int_equal(res[i].connected, f->allowed);
		if (f->proto == TCP && f->port == 8080)
			assert_false(res[i].connected);
		if (f->proto == UDP)
			assert_int_equal(res[i].received,
					 f->allowed ? UDP_PER_FLOW : 0);
	}
	check_counts(&t, PW_VERDICT_DROP);
	close(t.fd);
	unload();
}

/* Packets counted for app and op on udp/5000-5009, once settled. */
static void udp_totals(uint64_t *allow, uint64_t *audit, uint64_t want_allow,
		       uint64_t want_audit)
{
	struct counters c;
	int tries;

	for (tries = 0; tries < 100; tries++) {
		if (tries)
			usleep(50000);
		counters_read(&c);
		*allow = packets(&c.s, UDP, "app", 5000, 5009,
				 PW_VERDICT_ALLOW);
		*audit = packets(&c.s, UDP, "op", 5000, 5009, PW_VERDICT_AUDIT);
		counters_free(&c);
		if (*allow == want_allow && *audit == want_audit)
			return;
	}
}

static void gen_and_digest(uint32_t *gen, uint64_t *digest)
{
	struct counters c;

	counters_read(&c);
	*gen = c.s.cfg.active_gen;
	*digest = c.s.gen.policy_digest;
	counters_free(&c);
}

static void test_counters_survive(void **state)
{
	uint64_t allow, audit, d0, d1, d2;
	uint32_t g0, g1, g2;

	load(policy_a, "audit");
	udp_send(APP4, SRV4, 5003, 5);
	udp_send(OP4, SRV4, 5004, 3);
	/* the loader has exited: the counters live in the pinned maps */
	udp_totals(&allow, &audit, 5, 3);
	assert_int_equal(allow, 5);
	assert_int_equal(audit, 3);
	gen_and_digest(&g0, &d0);

	cli_ok("reload", ON, "--policy", policy_a2);
	gen_and_digest(&g1, &d1);
	assert_int_not_equal(g1, g0);
	assert_true(d1 != d0);
	udp_totals(&allow, &audit, 5, 3);
	assert_int_equal(allow, 5);
	assert_int_equal(audit, 3);

	cli_ok("mode", ON, "enforce");
	udp_totals(&allow, &audit, 5, 3);
	assert_int_equal(allow, 5);
	assert_int_equal(audit, 3);
	cli_ok("mode", ON, "audit");

	/* a broken policy leaves everything as it was */
	assert_int_equal(cli("reload", ON, "--policy", policy_bad), 1);
	assert_non_null(strstr(cli_err, "bad.policy:2:27: error:"));
	assert_non_null(strstr(cli_err, "running policy is untouched"));
	gen_and_digest(&g2, &d2);
	assert_int_equal(g2, g1);
	assert_true(d2 == d1);

	udp_send(APP6, SRV6, 5009, 4);
	udp_totals(&allow, &audit, 9, 3);
	assert_int_equal(allow, 9);
	assert_int_equal(audit, 3);
	unload();
}

static void test_bad_input(void **state)
{
	char dir[4096];
	struct stat sb;

	pw_pin_dir(srv_ns, SRV_IF, dir, sizeof(dir));
	/* a policy that does not compile loads nothing */
	assert_int_equal(cli("load", ON, "--policy", policy_bad, "--role",
			     "db"), 1);
	assert_non_null(strstr(cli_err, "bad.policy:2:27: error:"));
	assert_non_null(strstr(cli_err, "nothing loaded"));
	assert_int_not_equal(stat(dir, &sb), 0);
	assert_int_equal(cli("load", ON, "--policy", "/nonexistent.policy",
			     "--role", "db"), 1);
	assert_int_not_equal(stat(dir, &sb), 0);
	assert_int_equal(cli("load", ON, "--policy", policy_a, "--inventory",
			     inventory, "--role", "nosuchrole"), 1);
	assert_non_null(strstr(cli_err, "nosuchrole"));

	/* flags */
	assert_int_equal(cli("load", "--policy", policy_a, "--role", "db"), 1);
	assert_non_null(strstr(cli_err, "--iface"));
	assert_int_equal(cli("load", ON, "--policy", policy_a, "--role", "db",
			     "--mode", "sideways"), 1);
	assert_non_null(strstr(cli_err, "sideways"));
	assert_int_equal(cli("load", ON, "--policy", policy_a, "--role", "db",
			     "--xdp-mode", "turbo"), 1);
	assert_int_equal(cli("load", "--netns", srv_ns, "--iface", "nosuch0",
			     "--policy", policy_a, "--role", "db"), 1);
	assert_non_null(strstr(cli_err, "nosuch0: no such interface"));
	assert_int_equal(cli("load", "--netns", "pwlt-nosuchns", "--iface",
			     SRV_IF, "--policy", policy_a, "--role", "db"), 1);
	assert_non_null(strstr(cli_err, "no such namespace"));

	/* commands on an interface that is not loaded */
	assert_int_equal(cli("status", ON), 1);
	assert_non_null(strstr(cli_err, "not loaded"));
	assert_int_equal(cli("unload", ON), 1);
	assert_non_null(strstr(cli_err, "not loaded"));
	assert_int_equal(cli("reload", ON), 1);
	assert_int_equal(cli("mode", ON, "enforce"), 1);

	load(policy_a, "audit");
	assert_int_equal(cli("load", ON, "--policy", policy_a, "--role", "db"),
			 1);
	assert_non_null(strstr(cli_err, "already loaded"));
	assert_int_equal(cli("reload", ON, "--bogus"), 1);
	assert_non_null(strstr(cli_err, "unknown option '--bogus'"));
	assert_int_equal(cli("mode", ON, "sideways"), 1);
	assert_int_equal(cli("mode", ON, "audit", "--confirm", "5"), 1);
	assert_int_equal(cli("mode", ON, "enforce", "--confirm", "0"), 1);
	assert_int_equal(cli("confirm", ON), 1);
	assert_non_null(strstr(cli_err, "nothing to confirm"));
	assert_int_equal(cli("-j", "reload", ON, "--policy", policy_bad), 1);
	assert_non_null(strstr(cli_out, "{\"error\":"));
	unload();
}

/* --------------------------------------------------- flips under load -- */

struct sender_share {
	volatile int stop;
	volatile uint64_t sent[2];
};

/* Child: app sends to 5005 and 5002 until told to stop. */
static void sender_loop(struct sender_share *sh, int fd)
{
	static const uint16_t ports[2] = { 5005, 5002 };
	struct sockaddr_storage ss;
	socklen_t len;
	int i;

	while (!sh->stop) {
		for (i = 0; i < 2; i++) {
			sockaddr_of(SRV4, ports[i], &ss, &len);
			if (sendto(fd, "flip", 4, 0, (struct sockaddr *)&ss,
				   len) == 4)
				sh->sent[i]++;
		}
		usleep(200);
	}
	_exit(0);
}

static bool flip_key_ok(const struct pw_counter_key *k, unsigned verdict)
{
	/* A: 5000-5009 allowed.  B: 5005 allowed, 5000-5004 a violation. */
	if (k->port_lo == 5000 && k->port_hi == 5009)
		return verdict == PW_VERDICT_ALLOW;
	if (k->port_lo == 5005 && k->port_hi == 5005)
		return verdict == PW_VERDICT_ALLOW;
	if (k->port_lo == 5000 && k->port_hi == 5004)
		return verdict == PW_VERDICT_AUDIT;
	return false;
}

/* Every udp packet from app counted so far; fails on a wrong key. */
static uint64_t flip_check(const struct pw_snap *s)
{
	uint32_t app = role_id(s, "app"), i, v;
	uint64_t total = 0, n;

	for (i = 0; i < s->nslots; i++) {
		const struct pw_counter_key *k = &s->slots[i].key;

		if (k->dir != PW_DIR_INGRESS || k->proto != UDP ||
		    k->role != app)
			continue;
		for (v = 0; v < PW_NVERDICT; v++) {
			/* replies are the host's: its port-unreachable
			 * answers to the datagrams nobody listens for, an
			 * ICMP error that quotes a recorded flow */
			if (v == PW_VERDICT_REPLY)
				continue;
			n = s->slots[i].sum[v].packets;
			if (n && !flip_key_ok(k, v))
				fail_msg("%llu packets under the wrong key "
					 "udp/%u-%u %s",
					 (unsigned long long)n, k->port_lo,
					 k->port_hi, pw_verdict_name(v));
			total += n;
		}
	}
	for (i = 0; i < s->nunnamed; i++) {
		const struct pw_counter_key *k = &s->unnamed[i].key;

		if (k->proto == UDP && k->role == app &&
		    k->verdict != PW_VERDICT_REPLY)
			fail_msg("%llu packets to udp/%u from app counted as "
				 "an unnamed port",
				 (unsigned long long)s->unnamed[i].sum.packets,
				 k->port_lo);
	}
	return total;
}

static void test_reload_flips_under_traffic(void **state)
{
	struct sender_share *sh;
	struct counters c;
	uint64_t total = 0, sent;
	int fd, i, status, tries;
	pid_t pid;

	load(policy_a, "audit");
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(sh != MAP_FAILED);
	memset(sh, 0, sizeof(*sh));
	fd = bound_socket(cli_ns, SOCK_DGRAM, APP4, 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid)
		sender_loop(sh, fd);
	for (i = 0; i < 100; i++) {
		int rc = cli("reload", ON, "--policy",
			     i % 2 ? policy_a : policy_b);

		if (rc)
			fprintf(stderr, "reload %d: %s", i, cli_err);
		assert_int_equal(rc, 0);
	}
	sh->stop = 1;
	waitpid(pid, &status, 0);
	close(fd);
	sent = sh->sent[0] + sh->sent[1];
	assert_true(sent > 1000);

	for (tries = 0; tries < 100 && total != sent; tries++) {
		usleep(50000);
		counters_read(&c);
		total = flip_check(&c.s);
		if (total == sent) {
			/* both policies were in force while packets flowed */
			assert_true(packets(&c.s, UDP, "app", 5000, 5009,
					    PW_VERDICT_ALLOW) > 0);
			assert_true(packets(&c.s, UDP, "app", 5005, 5005,
					    PW_VERDICT_ALLOW) > 0);
			assert_true(packets(&c.s, UDP, "app", 5000, 5004,
					    PW_VERDICT_AUDIT) > 0);
		}
		counters_free(&c);
	}
	assert_int_equal(total, sent);
	munmap(sh, sizeof(*sh));
	unload();
}

/* --------------------------------------------------------- tc egress -- */

#define PW_TC_QUERY_NONE 0 /* no filter of any kind at our handle/priority */

/* `tc ARGS...` inside the server's namespace; its output in @buf. */
static int tc_in_srv(char *buf, size_t len, const char *const *args)
{
	const char *argv[24] = { "ip", "netns", "exec", srv_ns, "tc" };
	char scratch[256];
	int n = 5, i;

	for (i = 0; args[i] && n < 23; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return nst_capture(argv, buf ? buf : scratch,
			   buf ? len : sizeof(scratch));
}

#define tc_ok(...)                                                       \
	do {                                                             \
		char out_[2048];                                         \
		int rc_ = tc_in_srv(out_, sizeof(out_),                  \
				    (const char *const[]){ __VA_ARGS__,  \
							   NULL });      \
		if (rc_)                                                 \
			fprintf(stderr, "tc: %s", out_);                 \
		assert_int_equal(rc_, 0);                                \
	} while (0)

/* `tc filter show dev SRV_IF egress|ingress`, or `tc qdisc show`. */
static void tc_show(const char *what, char *buf, size_t len)
{
	if (!strcmp(what, "qdisc"))
		assert_int_equal(tc_in_srv(buf, len, (const char *const[]){
						   "qdisc", "show", "dev",
						   SRV_IF, NULL }),
				 0);
	else
		assert_int_equal(tc_in_srv(buf, len, (const char *const[]){
						   "filter", "show", "dev",
						   SRV_IF, what, NULL }),
				 0);
}

static bool tc_has(const char *what, const char *needle)
{
	char buf[8192];

	tc_show(what, buf, sizeof(buf));
	return strstr(buf, needle) != NULL;
}

/*
 * The program of the BPF filter at portwarden's handle and priority on
 * the egress hook (bpf_tc_query), 0 when there is none.
 */
static uint32_t tc_prog_at_ours(void)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, o, .handle = PW_TC_HANDLE,
		    .priority = PW_TC_PRIORITY);
	int saved, err;

	libbpf_print_fn_t print;

	hook.ifindex = nst_ifindex(srv_ns, SRV_IF);
	saved = nst_enter(srv_ns);
	assert_true(saved >= 0);
	print = libbpf_set_print(NULL); /* "Parent Qdisc doesn't exists" */
	err = bpf_tc_query(&hook, &o);
	libbpf_set_print(print);
	nst_leave(saved);
	/* no clsact qdisc or no filter chain: EINVAL; no filter: ENOENT */
	if (err == -ENOENT || err == -EINVAL)
		return PW_TC_QUERY_NONE;
	assert_int_equal(err, 0);
	return o.prog_id;
}

/* Id of the program pinned as @pin for the server's interface, or 0. */
static uint32_t pinned_prog(const char *pin)
{
	struct bpf_prog_info info = { 0 };
	char dir[4096], path[4352];
	__u32 len = sizeof(info);
	int fd;

	pw_pin_dir(srv_ns, SRV_IF, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%s", dir, pin);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	close(fd);
	return info.id;
}

static uint32_t xdp_prog_on_srv(void)
{
	__u32 id = 0;
	int saved = nst_enter(srv_ns);

	assert_true(saved >= 0);
	assert_int_equal(bpf_xdp_query_id(nst_ifindex(srv_ns, SRV_IF), 0,
					  &id), 0);
	nst_leave(saved);
	return id;
}

/* Our tc filter is attached and runs the pinned pw_tc_egress. */
static void assert_tc_ours(void)
{
	uint32_t id = tc_prog_at_ours();

	assert_int_not_equal(id, 0);
	assert_int_equal(id, pinned_prog("pw_tc_egress"));
}

static void state_file_has(const char *line)
{
	char path[4096], buf[8192];
	size_t n;
	FILE *f;

	pw_state_path(srv_ns, SRV_IF, path, sizeof(path));
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	if (!strstr(buf, line))
		fail_msg("state file lacks '%s':\n%s", line, buf);
}

/* Both hooks empty and no qdisc: the server's interface as tests find it. */
static void tc_clean(void)
{
	tc_in_srv(NULL, 0, (const char *const[]){ "qdisc", "del", "dev", SRV_IF,
						  "clsact", NULL });
	assert_false(tc_has("qdisc", "clsact"));
}

/* --------------------------------------------------------- unload -- */

static bool id_listed(const char *json, uint32_t id)
{
	char pat[2][32];

	snprintf(pat[0], sizeof(pat[0]), "\"id\":%u,", id);
	snprintf(pat[1], sizeof(pat[1]), "\"id\":%u}", id);
	return strstr(json, pat[0]) || strstr(json, pat[1]);
}

/* bpftool OBJ show -j into a buffer */
static void bpftool_show(const char *obj, char *buf, size_t len)
{
	char cmd[128];
	size_t n;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "bpftool -j %s show 2>/dev/null", obj);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(buf, 1, len - 1, p);
	buf[n] = '\0';
	pclose(p);
}

struct our_ids {
	uint32_t prog, tc_prog, link, maps[32];
	uint32_t nmaps;
};

/* Maps only user space reads (pw_slots, ...) are held by their pins. */
static void add_pinned_map_ids(const char *dir, struct our_ids *ids)
{
	struct bpf_map_info info;
	char path[4352];
	struct dirent *de;
	uint32_t i;
	__u32 len;
	DIR *d;
	int fd;

	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "pw_", 3) ||
		    !strcmp(de->d_name, "pw_xdp_ingress") ||
		    !strcmp(de->d_name, "pw_tc_egress"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		fd = bpf_obj_get(path);
		assert_true(fd >= 0);
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
		close(fd);
		for (i = 0; i < ids->nmaps && ids->maps[i] != info.id; i++)
			;
		if (i == ids->nmaps && ids->nmaps < 32)
			ids->maps[ids->nmaps++] = info.id;
	}
	closedir(d);
}

static void collect_ids(const char *dir, struct our_ids *ids)
{
	struct bpf_prog_info pinfo = { 0 };
	struct bpf_link_info linfo = { 0 };
	__u32 len, map_ids[32];
	char path[4352];
	int fd;

	memset(ids, 0, sizeof(*ids));
	snprintf(path, sizeof(path), "%s/pw_xdp_ingress", dir);
	fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	pinfo.nr_map_ids = 32;
	pinfo.map_ids = (__u64)(unsigned long)map_ids;
	len = sizeof(pinfo);
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &pinfo, &len), 0);
	close(fd);
	ids->prog = pinfo.id;
	ids->nmaps = pinfo.nr_map_ids < 16 ? pinfo.nr_map_ids : 16;
	memcpy(ids->maps, map_ids, ids->nmaps * sizeof(__u32));
	add_pinned_map_ids(dir, ids);
	assert_true(ids->nmaps >= 13); /* 12 pw_* maps and .rodata */

	snprintf(path, sizeof(path), "%s/link_xdp", dir);
	fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	len = sizeof(linfo);
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &linfo, &len), 0);
	close(fd);
	ids->link = linfo.id;
	assert_int_equal(linfo.prog_id, ids->prog);
	assert_int_equal(linfo.xdp.ifindex, nst_ifindex(srv_ns, SRV_IF));

	ids->tc_prog = pinned_prog("pw_tc_egress");
	assert_int_not_equal(ids->tc_prog, 0);
}

static bool any_listed(const struct our_ids *ids, char *buf, size_t len)
{
	uint32_t i;

	bpftool_show("prog", buf, len);
	if (id_listed(buf, ids->prog) || id_listed(buf, ids->tc_prog))
		return true;
	bpftool_show("link", buf, len);
	if (id_listed(buf, ids->link))
		return true;
	bpftool_show("map", buf, len);
	for (i = 0; i < ids->nmaps; i++)
		if (id_listed(buf, ids->maps[i]))
			return true;
	return false;
}

static void test_unload_leaves_nothing(void **state)
{
	static char buf[1 << 21];
	char dir[4096], path[4096];
	struct our_ids ids;
	struct stat sb;
	__u32 prog_id = 1;
	int saved, tries;
	bool listed = true;

	load(policy_a, "audit");
	pw_pin_dir(srv_ns, SRV_IF, dir, sizeof(dir));
	collect_ids(dir, &ids);
	assert_true(any_listed(&ids, buf, sizeof(buf)));
	unload();

	assert_int_not_equal(stat(dir, &sb), 0);
	pw_state_path(srv_ns, SRV_IF, path, sizeof(path));
	assert_int_not_equal(stat(path, &sb), 0);
	saved = nst_enter(srv_ns);
	assert_true(saved >= 0);
	assert_int_equal(bpf_xdp_query_id(nst_ifindex(srv_ns, SRV_IF), 0,
					  &prog_id), 0);
	nst_leave(saved);
	assert_int_equal(prog_id, 0);
	assert_int_equal(tc_prog_at_ours(), 0);
	assert_false(tc_has("qdisc", "clsact"));
	/* the kernel frees links and maps from a work queue: give it time */
	for (tries = 0; tries < 50 && listed; tries++) {
		if (tries)
			usleep(100000);
		listed = any_listed(&ids, buf, sizeof(buf));
	}
	assert_false(listed);
}

/* --------------------------------------------------------- deadline -- */

static void test_confirm_deadline(void **state)
{
	int u;

	load(policy_a, "audit");
	u = bound_socket(srv_ns, SOCK_DGRAM, SRV4, 5003);

	cli_ok("mode", ON, "enforce", "--confirm", "2");
	udp_send(OP4, SRV4, 5003, 3);
	assert_int_equal(udp_received(u, 200), 0);
	cli_ok("-j", "status", ON);
	assert_non_null(strstr(cli_out, "\"mode\":\"enforce\""));
	/* no confirm: past the deadline the datapath is audit again */
	sleep(3);
	udp_send(OP4, SRV4, 5003, 3);
	assert_int_equal(udp_received(u, 200), 3);
	cli_ok("-j", "status", ON);
	assert_non_null(strstr(cli_out, "\"mode\":\"audit\""));
	assert_non_null(strstr(cli_out, "\"deadline_passed\":true"));
	assert_int_equal(cli("confirm", ON), 1);
	assert_non_null(strstr(cli_err, "too late"));

	/* confirmed in time: enforce stays */
	cli_ok("mode", ON, "enforce", "--confirm", "2");
	cli_ok("confirm", ON);
	sleep(3);
	udp_send(OP4, SRV4, 5003, 3);
	assert_int_equal(udp_received(u, 200), 0);
	udp_send(APP4, SRV4, 5003, 2);
	assert_int_equal(udp_received(u, 200), 2);
	cli_ok("-j", "status", ON);
	assert_non_null(strstr(cli_out, "\"mode\":\"enforce\""));
	assert_non_null(strstr(cli_out, "\"confirm_deadline\":null"));
	close(u);
	unload();
}

/* ---------------------------------------------------- lockout guard -- */

static void test_lockout_guard(void **state)
{
	load(policy_a, "audit");
	/* app may not reach 22/tcp: its SSH session would be cut */
	setenv("SSH_CONNECTION", APP4 " 40000 " SRV4 " 22", 1);
	assert_int_equal(cli("mode", ON, "enforce"), 1);
	assert_non_null(strstr(cli_err, "SSH session"));
	cli_ok("-j", "status", ON);
	assert_non_null(strstr(cli_out, "\"mode\":\"audit\""));
	assert_int_equal(cli("reload", ON, "--mode", "enforce"), 1);
	cli_ok("mode", ON, "enforce", "--force");
	cli_ok("mode", ON, "audit");
	/* op may */
	setenv("SSH_CONNECTION", OP6 " 40000 " SRV6 " 22", 1);
	cli_ok("mode", ON, "enforce");
	unsetenv("SSH_CONNECTION");
	unload();

	/* load in enforce is guarded too */
	setenv("SSH_CONNECTION", "::ffff:" APP4 " 40000 ::ffff:" SRV4 " 22", 1);
	assert_int_equal(cli("load", ON, "--policy", policy_b, "--inventory",
			     inventory, "--role", "db", "--mode", "enforce"),
			 1);
	assert_non_null(strstr(cli_err, "SSH session"));
	unsetenv("SSH_CONNECTION");
	assert_int_equal(cli("status", ON), 1);
}

/* --------------------------------------------------- foreign program -- */

static void test_foreign_program(void **state)
{
	char obj[4096];
	const char *root = getenv("PW_BUILD_ROOT");

	snprintf(obj, sizeof(obj), "%s/bench_floor.bpf.o", root);
	if (access(obj, R_OK))
		skip();
	assert_int_equal(nst_run((const char *const[]){
				 "ip", "-n", srv_ns, "link", "set", "dev",
				 SRV_IF, "xdpgeneric", "obj", obj, "sec", "xdp",
				 NULL }),
			 0);
	assert_int_equal(cli("load", ON, "--policy", policy_a, "--inventory",
			     inventory, "--role", "db"), 1);
	assert_non_null(strstr(cli_err, "not portwarden's"));
	cli_ok("load", ON, "--policy", policy_a, "--inventory", inventory,
	       "--role", "db", "--force");
	assert_non_null(strstr(cli_err, "replaced"));
	unload();
}

/* ---------------------------------------------------- egress tests -- */

static void remove_tree(const char *dir);

/*
 * A TCP connection the loaded end opens to the client: every frame it
 * sends is judged on egress (no egress rule in policy A: an audited
 * unnamed-port violation towards role app), every frame back is a reply
 * counted under the same key, and nothing of it is judged on ingress.
 */
static void test_egress_counts(void **state)
{
	struct counters c;
	struct tap t;
	uint64_t sent, back, got_sent = 0, got_back = 0;
	int l, tries, v;

	load(policy_a, "audit");
	assert_tc_ours();
	state_file_has("egress audit\ntc_handle 0x5057\ntc_priority 20567\n"
		       "tc_qdisc created\n");
	assert_true(tc_has("qdisc", "clsact"));
	tap_open(&t);
	l = tcp_listener_in(cli_ns, APP4, 8443);
	assert_true(tcp_flow_from(srv_ns, l, SRV4, APP4, 8443));
	close(l);
	for (tries = 0; tries < 100; tries++) {
		usleep(50000);
		tap_drain(&t);
		sent = tap_sum(&t, true, APP4, TCP, 0, 8443);
		back = tap_sum(&t, false, APP4, TCP, 8443, 0);
		counters_read(&c);
		got_sent = packets_dir(&c.s, PW_DIR_EGRESS, TCP, "app", 8443,
				       8443, PW_VERDICT_AUDIT);
		got_back = packets_dir(&c.s, PW_DIR_EGRESS, TCP, "app", 8443,
				       8443, PW_VERDICT_REPLY);
		for (v = 0; v < PW_NVERDICT; v++)
			if (v == PW_VERDICT_ALLOW || v == PW_VERDICT_DROP)
				assert_int_equal(packets_dir(&c.s,
							     PW_DIR_EGRESS, TCP,
							     "app", 8443, 8443,
							     v),
						 0);
		/* replies are never judged: no ingress row for app/tcp */
		for (v = 0; v < (int)c.s.nunnamed; v++)
			assert_false(c.s.unnamed[v].key.dir == PW_DIR_INGRESS &&
				     c.s.unnamed[v].key.proto == TCP);
		counters_free(&c);
		if (sent >= 3 && got_sent == sent && got_back == back)
			break;
	}
	assert_true(sent >= 3 && back >= 3); /* SYN, ACK, data, FIN ... */
	assert_int_equal(got_sent, sent);
	assert_int_equal(got_back, back);
	close(t.fd);
	cli_ok("-j", "status", ON);
	assert_non_null(strstr(cli_out, "\"egress\":{\"mode\":\"audit\","
					"\"attached\":true,\"tc_handle\":20567,"
					"\"tc_priority\":20567,\"qdisc\":"
					"\"created\""));
	assert_non_null(strstr(cli_out, "\"opened\":1,"));
	unload();
	assert_int_equal(tc_prog_at_ours(), 0);
	assert_false(tc_has("qdisc", "clsact"));
}

/* Datagrams of the loaded end to the client, and how many arrived. */
static int udp_out(uint16_t port, int n)
{
	int u = bound_socket(cli_ns, SOCK_DGRAM, APP4, port), got;

	udp_send_from(srv_ns, SRV4, APP4, port, n);
	got = udp_received(u, 200);
	close(u);
	return got;
}

/* Egress packets judged so far (the egress "classified" reason). */
static uint64_t egress_judged(void)
{
	struct counters c;
	uint64_t n;

	counters_read(&c);
	n = 0;
	for (uint32_t i = 0; i < c.s.nunnamed; i++)
		if (c.s.unnamed[i].key.dir == PW_DIR_EGRESS)
			n += c.s.unnamed[i].sum.packets;
	counters_free(&c);
	return n;
}

/*
 * A clsact qdisc and filters that were there before load stay through
 * load and unload; ours runs before the default-priority one.  (u32:
 * this kernel has no matchall and no gact.)
 */
static void test_egress_foreign_filters(void **state)
{
	tc_clean();
	tc_ok("qdisc", "add", "dev", SRV_IF, "clsact");
	tc_ok("filter", "add", "dev", SRV_IF, "egress", "u32", "match", "u32",
	      "0", "0");
	tc_ok("filter", "add", "dev", SRV_IF, "ingress", "u32", "match", "u32",
	      "0", "0");
	load(policy_a, "audit");
	assert_tc_ours();
	state_file_has("tc_qdisc existing\n");
	assert_true(tc_has("egress", "u32"));
	assert_true(tc_has("ingress", "u32"));
	assert_int_equal(udp_out(7000, 4), 4);
	assert_true(egress_judged() >= 4);
	cli_ok("-j", "status", ON);
	assert_non_null(strstr(cli_out, "\"qdisc\":\"existing\""));
	unload();
	assert_int_equal(tc_prog_at_ours(), 0);
	assert_false(tc_has("egress", "pw_tc_egress"));
	assert_true(tc_has("egress", "u32"));
	assert_true(tc_has("ingress", "u32"));
	assert_true(tc_has("qdisc", "clsact"));
	tc_clean();

	/* our qdisc, but somebody added a filter since: the qdisc stays */
	load(policy_a, "audit");
	tc_ok("filter", "add", "dev", SRV_IF, "ingress", "u32", "match", "u32",
	      "0", "0");
	unload();
	assert_int_equal(tc_prog_at_ours(), 0);
	assert_true(tc_has("ingress", "u32"));
	assert_true(tc_has("qdisc", "clsact"));
	tc_clean();
}

/* Something else at our priority: refused, nothing left behind. */
static void test_egress_priority_taken(void **state)
{
	char dir[4096], path[4096];
	struct stat sb;
	uint32_t stale;

	pw_pin_dir(srv_ns, SRV_IF, dir, sizeof(dir));
	pw_state_path(srv_ns, SRV_IF, path, sizeof(path));
	tc_clean();
	tc_ok("qdisc", "add", "dev", SRV_IF, "clsact");
	tc_ok("filter", "add", "dev", SRV_IF, "egress", "prio", "20567", "u32",
	      "match", "u32", "0", "0");
	assert_int_equal(cli("load", ON, "--policy", policy_a, "--inventory",
			     inventory, "--role", "db", "--force"),
			 1);
	assert_non_null(strstr(cli_err, "priority 20567 that portwarden uses "
					"is taken by a 'u32' filter"));
	assert_int_not_equal(stat(dir, &sb), 0);
	assert_int_equal(xdp_prog_on_srv(), 0);
	assert_true(tc_has("egress", "u32"));
	/* without the tc program there is no conflict */
	cli_ok("load", ON, "--policy", policy_a, "--inventory", inventory,
	       "--role", "db", "--egress", "off");
	unload();
	assert_true(tc_has("egress", "u32"));
	tc_clean();

	/* a portwarden filter whose pins were removed by hand */
	load(policy_a, "audit");
	stale = pinned_prog("pw_tc_egress");
	remove_tree(dir);
	unlink(path);
	assert_int_equal(tc_prog_at_ours(), stale);
	assert_int_equal(cli("load", ON, "--policy", policy_a, "--inventory",
			     inventory, "--role", "db"),
			 1);
	assert_non_null(strstr(cli_err, "left by a portwarden whose pins are "
					"gone"));
	assert_int_not_equal(stat(dir, &sb), 0);
	cli_ok("load", ON, "--policy", policy_a, "--inventory", inventory,
	       "--role", "db", "--force");
	assert_non_null(strstr(cli_err, "replacing the tc egress filter"));
	assert_tc_ours();
	assert_int_not_equal(tc_prog_at_ours(), stale);
	state_file_has("tc_qdisc existing\n");
	unload();
	assert_int_equal(tc_prog_at_ours(), 0);
	/* that qdisc was there before this load: it stays */
	assert_true(tc_has("qdisc", "clsact"));
	tc_clean();
}

/* egress off attaches nothing; reload switches it on and off again. */
static void test_egress_off_and_reload(void **state)
{
	uint32_t id;

	cli_ok("load", ON, "--policy", policy_a, "--inventory", inventory,
	       "--role", "db", "--egress", "off");
	assert_non_null(strstr(cli_err, "egress off: the tc egress program is "
					"not attached"));
	assert_int_equal(tc_prog_at_ours(), 0);
	assert_false(tc_has("qdisc", "clsact"));
	state_file_has("egress off\n");
	cli_ok("-j", "status", ON);
	assert_non_null(strstr(cli_out, "\"egress\":{\"mode\":\"off\","
					"\"attached\":false"));
	assert_int_equal(udp_out(7000, 3), 3);
	assert_int_equal(egress_judged(), 0);

	cli_ok("reload", ON, "--egress", "audit");
	assert_tc_ours();
	id = tc_prog_at_ours();
	assert_int_equal(udp_out(7000, 3), 3);
	assert_int_equal(egress_judged(), 3);
	/* a reload that leaves egress alone keeps the same filter */
	cli_ok("reload", ON, "--policy", policy_a2);
	assert_int_equal(tc_prog_at_ours(), id);
	cli_ok("reload", ON);
	assert_int_equal(tc_prog_at_ours(), id);
	cli_ok("mode", ON, "enforce");
	assert_int_equal(tc_prog_at_ours(), id);
	cli_ok("mode", ON, "audit");
	state_file_has("egress audit\ntc_handle 0x5057\n");

	cli_ok("reload", ON, "--egress", "off");
	assert_int_equal(tc_prog_at_ours(), 0);
	assert_false(tc_has("qdisc", "clsact"));
	state_file_has("egress off\n");
	unload();
}

/*
 * Datapath settings from flags and profiles, kept by mode, changed by
 * reload except the map sizes.
 */
static void test_settings(void **state)
{
	char prof[256], text[1024];

	cli_ok("load", ON, "--policy", policy_a, "--inventory", inventory,
	       "--role", "db", "--mode", "enforce", "--egress", "enforce",
	       "--flow-table", "1024", "--event-ring", "8K",
	       "--flow-timeout-udp", "30", "--event-rate", "7");
	cli_ok("-j", "status", ON);
	assert_non_null(strstr(cli_out, "\"egress\":{\"mode\":\"enforce\""));
	assert_non_null(strstr(cli_out, "\"capacity\":1024,"));
	assert_non_null(strstr(cli_out, "\"timeout_udp_s\":30}"));
	assert_non_null(strstr(cli_out, "\"rate\":7,\"burst\":200,"
					"\"interval_s\":60,\"ring_bytes\":8192}"));
	/* host enforces, egress enforces: no rule lets db send to 7000 */
	assert_int_equal(udp_out(7000, 3), 0);
	cli_ok("mode", ON, "audit");
	assert_int_equal(udp_out(7000, 3), 3);
	cli_ok("mode", ON, "enforce");
	cli_ok("-j", "status", ON);
	assert_non_null(strstr(cli_out, "\"egress\":{\"mode\":\"enforce\""));
	assert_non_null(strstr(cli_out, "\"timeout_udp_s\":30}"));
	assert_non_null(strstr(cli_out, "\"rate\":7,"));
	assert_int_equal(udp_out(7000, 3), 0);
	/* egress audit: counted, never dropped */
	cli_ok("reload", ON, "--egress", "audit", "--event-rate", "9");
	assert_int_equal(udp_out(7000, 3), 3);
	cli_ok("-j", "status", ON);
	assert_non_null(strstr(cli_out, "\"mode\":\"enforce\""));
	assert_non_null(strstr(cli_out, "\"rate\":9,"));
	assert_non_null(strstr(cli_out, "\"timeout_udp_s\":30}"));

	assert_int_equal(cli("reload", ON, "--flow-table", "2048"), 1);
	assert_non_null(strstr(cli_err, "flow-table 2048 asked, but the loaded "
					"map has 1024"));
	assert_non_null(strstr(cli_err, "unload and load again"));
	assert_int_equal(cli("reload", ON, "--event-ring", "16K"), 1);
	assert_non_null(strstr(cli_err, "event-ring 16384 asked"));
	assert_int_equal(cli("reload", ON, "--event-burst", "0"), 1);
	assert_non_null(strstr(cli_err, "--event-burst: bad value '0'"));

	/* a profile: what it lacks takes the default, but the sizes stay */
	snprintf(text, sizeof(text),
		 "policy %s\ninventory %s\nrole db\nmode audit\n"
		 "event-burst 50\n", policy_a, inventory);
	write_file(prof, sizeof(prof), "settings.profile", text, NULL);
	cli_ok("-j", "reload", ON, "--profile", prof);
	assert_non_null(strstr(cli_out, "\"egress\":{\"mode\":\"audit\""));
	assert_non_null(strstr(cli_out, "\"capacity\":1024,"));
	assert_non_null(strstr(cli_out, "\"timeout_udp_s\":120}"));
	assert_non_null(strstr(cli_out, "\"rate\":100,\"burst\":50,"));
	unload();

	snprintf(text, sizeof(text),
		 "policy %s\ninventory %s\nrole db\nflow-table 10\n",
		 policy_a, inventory);
	write_file(prof, sizeof(prof), "settings.profile", text, NULL);
	assert_int_equal(cli("load", ON, "--profile", prof), 1);
	assert_non_null(strstr(cli_err, "settings.profile:4:12: error: bad "
					"flow-table '10': expected a number of "
					"flow table entries from 64 to "
					"16777216"));
}

/* ------------------------------------------------------ failpoints -- */

/* Which policy judges the server's UDP port 5002 in enforce mode. */
enum judged { JUDGED_BY_NONE, JUDGED_BY_A, JUDGED_BY_B, JUDGED_MIXED };

static const char *judged_name(int j)
{
	static const char *const names[] = { "nothing", "policy A",
					     "policy B", "a mixture" };

	return names[j];
}

/*
 * A allows app on 5000-5009; B only op on 5000-5004: app's datagrams to
 * 5002 pass and op's drop under A, the other way round under B, and both
 * pass when nothing judges.
 */
static int judged_by(void)
{
	int u = bound_socket(srv_ns, SOCK_DGRAM, SRV4, 5002), app, op;

	udp_send(APP4, SRV4, 5002, 2);
	app = udp_received(u, 200);
	udp_send(OP4, SRV4, 5002, 2);
	op = udp_received(u, 200);
	close(u);
	if (app == 2 && op == 2)
		return JUDGED_BY_NONE;
	if (app == 2 && !op)
		return JUDGED_BY_A;
	if (!app && op == 2)
		return JUDGED_BY_B;
	return JUDGED_MIXED;
}

/* The policy digest of the generation in force in the pinned maps. */
static bool pinned_digest(uint64_t *digest)
{
	return !pw_pinned_digest(srv_ns, SRV_IF, digest);
}

static void digest_text(uint64_t d, char *buf, size_t len)
{
	snprintf(buf, len, "\"digest\":\"%016llx\"", (unsigned long long)d);
}

/* Position of @step in pw_failpoint_steps (the order they are reached). */
static int step_index(const char *step)
{
	int i;

	for (i = 0; pw_failpoint_steps[i]; i++)
		if (!strcmp(pw_failpoint_steps[i], step))
			return i;
	fail_msg("no failpoint step '%s'", step);
	return -1;
}

static bool step_before(const char *step, const char *other)
{
	return step_index(step) < step_index(other);
}

/* The kernel may take a moment to drop a link whose last fd went. */
static uint32_t xdp_prog_settled(bool want)
{
	uint32_t id = xdp_prog_on_srv();
	int tries;

	for (tries = 0; tries < 20 && !id != !want; tries++) {
		usleep(50000);
		id = xdp_prog_on_srv();
	}
	return id;
}

/* Nothing of portwarden's on the server's interface, bpffs or /run. */
static void assert_nothing_left(const char *step)
{
	char dir[4096], path[4096], prefix[256];
	struct dirent *de;
	struct stat sb;
	DIR *d;

	pw_pin_dir(srv_ns, SRV_IF, dir, sizeof(dir));
	pw_state_path(srv_ns, SRV_IF, path, sizeof(path));
	if (!stat(dir, &sb))
		fail_msg("%s: %s left", step, dir);
	if (!stat(path, &sb))
		fail_msg("%s: %s left", step, path);
	snprintf(prefix, sizeof(prefix), ":staging:%s:%s:", srv_ns, SRV_IF);
	d = opendir(PW_PIN_ROOT);
	assert_non_null(d);
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, prefix, strlen(prefix)))
			fail_msg("%s: staging directory %s left", step,
				 de->d_name);
	closedir(d);
	if (xdp_prog_settled(false))
		fail_msg("%s: an XDP program is left", step);
	if (tc_prog_at_ours())
		fail_msg("%s: a tc filter is left", step);
	if (tc_has("qdisc", "clsact"))
		fail_msg("%s: the clsact qdisc is left", step);
}

/* Run a portwarden command that PW_FAILPOINT=@step must kill. */
#define cli_killed_at(step, ...)                                          \
	do {                                                              \
		int rc_;                                                  \
		cli_failpoint = (step);                                   \
		rc_ = cli(__VA_ARGS__);                                   \
		cli_failpoint = NULL;                                     \
		if (cli_signal != SIGKILL)                                \
			fail_msg("%s: not killed (exit %d): %s", (step),  \
				 rc_, cli_err);                           \
		assert_non_null(strstr(cli_err, "failpoint"));            \
	} while (0)

/*
 * After a load killed at @step: the datapath is complete with policy A,
 * or not there at all; status says which, or that the load was
 * interrupted.
 */
static void check_killed_load(const char *step, uint64_t da)
{
	bool xdp = !step_before(step, "load-xdp-pinned");
	bool tc = !step_before(step, "load-tc");
	bool renamed = !step_before(step, "load-renamed");
	uint64_t d;
	char want[64];
	int j, rc;

	assert_int_equal(xdp_prog_settled(xdp) != 0, xdp);
	if (xdp)
		assert_int_equal(xdp_prog_on_srv(),
				 pinned_prog("pw_xdp_ingress"));
	assert_int_equal(tc_prog_at_ours() != 0, tc);
	if (tc)
		assert_tc_ours();
	j = judged_by();
	if (j != (xdp ? JUDGED_BY_A : JUDGED_BY_NONE))
		fail_msg("%s: traffic judged by %s", step, judged_name(j));
	if (renamed) {
		assert_true(pinned_digest(&d));
		assert_true(d == da);
	}
	rc = cli("-j", "status", ON);
	digest_text(da, want, sizeof(want));
	if (!strcmp(step, "load-state")) {
		assert_int_equal(rc, 0);
		assert_non_null(strstr(cli_out, "\"interrupted\":null"));
		assert_non_null(strstr(cli_out, want));
		return;
	}
	assert_int_equal(rc, 1);
	if (!renamed) {
		assert_non_null(strstr(cli_err, "not loaded"));
		return;
	}
	assert_non_null(strstr(cli_out, "\"interrupted\":\"load\""));
	assert_non_null(strstr(cli_out, want));
	assert_non_null(strstr(cli_err, "a load was interrupted; run "
					"'portwarden unload"));
	snprintf(want, sizeof(want), "\"xdp_attached\":%s,\"tc_attached\":%s",
		 xdp ? "true" : "false", tc ? "true" : "false");
	assert_non_null(strstr(cli_out, want));
}

/* Unload whatever a killed command left; nothing may remain. */
static void recover_by_unload(const char *step)
{
	int rc = cli("unload", ON);

	if (rc)
		assert_non_null(strstr(cli_err, "not loaded"));
	assert_nothing_left(step);
}

static void test_failpoints_load(void **state)
{
	const char *step;
	uint64_t da;
	int i;

	tc_clean();
	load(policy_a, "enforce");
	assert_true(pinned_digest(&da));
	assert_int_equal(judged_by(), JUDGED_BY_A);
	unload();
	assert_nothing_left("control");
	for (i = 0; (step = pw_failpoint_steps[i]); i++) {
		if (strncmp(step, "load-", 5))
			continue;
		cli_killed_at(step, "load", ON, "--policy", policy_a,
			      "--inventory", inventory, "--role", "db",
			      "--mode", "enforce");
		check_killed_load(step, da);
		recover_by_unload(step);
		/* and the interface loads again */
		load(policy_a, "enforce");
		assert_int_equal(judged_by(), JUDGED_BY_A);
		unload();
		assert_nothing_left(step);
	}
}

/* How each reload step is reached: egress on or off at load and reload. */
static void reload_args(const char *step, const char **load_egress,
			const char **reload_egress, const char **rate)
{
	*load_egress = *reload_egress = "audit";
	*rate = "100";
	if (!strcmp(step, "reload-tc-on"))
		*load_egress = "off";
	if (!strcmp(step, "reload-tc-off"))
		*reload_egress = "off";
	if (!strcmp(step, "reload-config"))
		*rate = "5"; /* a setting that changes */
}

/*
 * After a reload from A to B killed at @step: A in force before the
 * flip, B after, whole either way, and status tells when the state file
 * is behind.  A bare reload then settles everything.
 */
static void check_killed_reload(const char *step, uint64_t da, uint64_t db,
				bool egress_now)
{
	bool flipped = !step_before(step, "reload-flip");
	uint64_t d;
	char want[64];
	int j;

	assert_true(pinned_digest(&d));
	if (d != (flipped ? db : da))
		fail_msg("%s: digest %016llx in force, expected %s's", step,
			 (unsigned long long)d, flipped ? "B" : "A");
	j = judged_by();
	if (j != (flipped ? JUDGED_BY_B : JUDGED_BY_A))
		fail_msg("%s: traffic judged by %s", step, judged_name(j));
	assert_int_equal(tc_prog_at_ours() != 0, egress_now);
	cli_ok("-j", "status", ON);
	digest_text(d, want, sizeof(want));
	assert_non_null(strstr(cli_out, want));
	if (flipped && strcmp(step, "reload-state"))
		assert_non_null(strstr(cli_out, "\"interrupted\":\"reload\""));
	else
		assert_non_null(strstr(cli_out, "\"interrupted\":null"));
}

static void test_failpoints_reload(void **state)
{
	const char *step, *load_eg, *reload_eg, *rate;
	uint64_t da, db;
	bool egress_now;
	int i;

	tc_clean();
	load(policy_a, "enforce");
	assert_true(pinned_digest(&da));
	cli_ok("reload", ON, "--policy", policy_b);
	assert_true(pinned_digest(&db));
	assert_int_equal(judged_by(), JUDGED_BY_B);
	unload();
	for (i = 0; (step = pw_failpoint_steps[i]); i++) {
		if (strncmp(step, "reload-", 7))
			continue;
		reload_args(step, &load_eg, &reload_eg, &rate);
		cli_ok("load", ON, "--policy", policy_a, "--inventory",
		       inventory, "--role", "db", "--mode", "enforce",
		       "--egress", load_eg);
		cli_killed_at(step, "reload", ON, "--policy", policy_b,
			      "--egress", reload_eg, "--event-rate", rate);
		if (!strcmp(load_eg, "off"))
			egress_now = !step_before(step, "reload-tc-on");
		else if (!strcmp(reload_eg, "off"))
			egress_now = step_before(step, "reload-tc-off");
		else
			egress_now = true;
		check_killed_reload(step, da, db, egress_now);
		/* the recorded settings go in force again, whole */
		cli_ok("-j", "reload", ON);
		assert_non_null(strstr(cli_out, "\"interrupted\":null"));
		assert_int_equal(tc_prog_at_ours() != 0,
				 !strstr(cli_out, "\"egress\":{\"mode\":\"off\""));
		if (tc_prog_at_ours())
			assert_tc_ours();
		unload();
		assert_nothing_left(step);
	}
}

/* A killed unload or mode leaves what the next command cleans up. */
static void test_failpoints_unload_mode(void **state)
{
	const char *step;
	int i;

	tc_clean();
	for (i = 0; (step = pw_failpoint_steps[i]); i++) {
		if (strncmp(step, "unload-", 7))
			continue;
		load(policy_a, "enforce");
		cli_killed_at(step, "unload", ON);
		/* the XDP link goes first: nothing judges any more */
		assert_int_equal(judged_by(), JUDGED_BY_NONE);
		cli_ok("unload", ON);
		assert_nothing_left(step);
	}
	load(policy_a, "audit");
	cli_killed_at("mode-config", "mode", ON, "enforce");
	assert_int_equal(judged_by(), JUDGED_BY_A);
	cli_ok("-j", "status", ON);
	assert_non_null(strstr(cli_out, "\"mode\":\"enforce\""));
	cli_ok("mode", ON, "audit");
	assert_int_equal(judged_by(), JUDGED_BY_NONE); /* audit drops nothing */
	unload();
	assert_nothing_left("mode-config");
}

/* ------------------------------------------------------------ setup -- */

static bool set_up;

static void remove_tree(const char *dir)
{
	const char *argv[] = { "rm", "-rf", dir, NULL };

	nst_run(argv);
}

/* Unload what a killed run left behind (its pid is gone). */
static void cleanup_stale_loads(void)
{
	char **names = NULL, *colon;
	int i, n = 0;

	if (pw_loaded_list(&names, &n))
		return;
	for (i = 0; i < n; i++) {
		colon = strrchr(names[i], ':');
		if (!colon)
			continue;
		*colon = '\0';
		if (nst_is_stale(PREFIX, names[i]))
			cli("unload", "--netns", names[i], "--iface",
			    colon + 1);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static void cleanup_all(void)
{
	if (!set_up)
		return;
	set_up = false;
	cli("unload", ON); /* fails quietly when not loaded */
	nst_delete(srv_ns);
	nst_delete(cli_ns);
	remove_tree(tmpdir);
}

static void on_signal(int sig)
{
	cleanup_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int group_setup(void **state)
{
	const char *root = getenv("PW_BUILD_ROOT");
	static const char *const addrs_srv[] = { "198.18.0.1/24",
						 "2001:db8::1/64" };
	static const char *const addrs_cli[] = {
		"198.18.0.2/24", "198.18.0.3/24", "198.18.0.4/24",
		"2001:db8::2/64", "2001:db8::3/64",
	};
	size_t i;
	int err;

	if (!root) {
		fprintf(stderr, "PW_BUILD_ROOT is not set (meson test sets it)\n");
		return -1;
	}
	snprintf(pw_bin, sizeof(pw_bin), "%s/portwarden", root);
	unsetenv("SSH_CONNECTION");
	unsetenv("PW_FAILPOINT");
	cleanup_stale_loads();
	nst_cleanup_stale(PREFIX);
	if (!mkdtemp(tmpdir))
		return -1;
	set_up = true;
	atexit(cleanup_all);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	err = nst_create(PREFIX, "s", srv_ns, sizeof(srv_ns)) ||
	      nst_create(PREFIX, "c", cli_ns, sizeof(cli_ns)) ||
	      nst_veth(srv_ns, SRV_IF, cli_ns, CLI_IF);
	for (i = 0; !err && i < 2; i++)
		err = nst_addr(srv_ns, SRV_IF, addrs_srv[i]);
	for (i = 0; !err && i < 5; i++)
		err = nst_addr(cli_ns, CLI_IF, addrs_cli[i]);
	if (err)
		return -1;
	write_file(policy_a, sizeof(policy_a), "a.policy", text_a, NULL);
	write_file(policy_a2, sizeof(policy_a2), "a2.policy", text_a,
		   text_a2_extra);
	write_file(policy_b, sizeof(policy_b), "b.policy", text_b, NULL);
	write_file(policy_bad, sizeof(policy_bad), "bad.policy", text_bad,
		   NULL);
	write_file(inventory, sizeof(inventory), "site.inventory",
		   text_inventory, NULL);
	return 0;
}

static int group_teardown(void **state)
{
	cleanup_all();
	return 0;
}

/* A failed test may leave the interface loaded: the next starts clean. */
static int test_setup(void **state)
{
	cli_failpoint = NULL;
	cli("unload", ON);
	tc_in_srv(NULL, 0, (const char *const[]){ "qdisc", "del", "dev", SRV_IF,
						  "clsact", NULL });
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_audit_counts, test_setup),
		cmocka_unit_test_setup(test_audit_counts_generic, test_setup),
		cmocka_unit_test_setup(test_enforce_drops, test_setup),
		cmocka_unit_test_setup(test_counters_survive, test_setup),
		cmocka_unit_test_setup(test_bad_input, test_setup),
		cmocka_unit_test_setup(test_reload_flips_under_traffic,
				       test_setup),
		cmocka_unit_test_setup(test_unload_leaves_nothing, test_setup),
		cmocka_unit_test_setup(test_confirm_deadline, test_setup),
		cmocka_unit_test_setup(test_lockout_guard, test_setup),
		cmocka_unit_test_setup(test_foreign_program, test_setup),
		cmocka_unit_test_setup(test_egress_counts, test_setup),
		cmocka_unit_test_setup(test_egress_foreign_filters, test_setup),
		cmocka_unit_test_setup(test_egress_priority_taken, test_setup),
		cmocka_unit_test_setup(test_egress_off_and_reload, test_setup),
		cmocka_unit_test_setup(test_settings, test_setup),
		cmocka_unit_test_setup(test_failpoints_load, test_setup),
		cmocka_unit_test_setup(test_failpoints_reload, test_setup),
		cmocka_unit_test_setup(test_failpoints_unload_mode,
				       test_setup),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "test_loader: needs root (network namespaces, "
				"BPF); skipped\n");
		return 77;
	}
	/* PW_TEST_FILTER=test_egress* runs some tests only */
	if (getenv("PW_TEST_FILTER"))
		cmocka_set_test_filter(getenv("PW_TEST_FILTER"));
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
