/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * cmd_lab.c - "portwarden lab": a product's example site in network
 * namespaces, with portwarden loaded where its host profiles say, real
 * traffic, and each host's counters.
 *
 * The site comes from the product's files, nothing is hard-coded:
 *
 *   hosts    one per lab host the example inventory names in its line
 *            comments ("db 198.18.2.11 2001:db8:2::11  # db1"); a host of a
 *            subnet entry takes the address a comment gives ("lab host op1
 *            is 198.18.10.11"), else the subnet's .11 / ::11.  One more
 *            host, "outsider", holds addresses outside the inventory.
 *   loads    every profile in policies/profiles/ that names the product's
 *            policy and example inventory, on the host its comment names
 *            ("(lab host db1)"), in the profile's mode.
 *   flows    for each loaded host, from its compiled rules: an allowed
 *            source for each TCP/UDP port it serves, a violating source
 *            for some, a loopback-only port, and an undocumented port.
 *            The reference classifier (classify.h) says what the datapath
 *            must do with each, so expectations follow the policy.
 *
 * Namespaces are "pwlab-<host>", each with one veth "eth0" whose peer is
 * a port of the bridge in "pwlab-sw".  Every address comes from the
 * inventory (198.18.0.0/15, 2001:db8::/32), on-link across the whole test
 * range, so one bridge joins all the roles' subnets.
 *
 * The lab drives portwarden through its own command line (load, stats,
 * unload, run as children of /proc/self/exe), so it exercises exactly what
 * an operator runs.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "classify.h"
#include "compile.h"
#include "lab.h"
#include "policy.h"
#include "profile.h"
#include "state.h"

#ifndef PW_POLICY_DIR
#define PW_POLICY_DIR "/usr/local/share/portwarden/policies"
#endif

#define LAB_PREFIX "pwlab-"
#define LAB_SWITCH LAB_PREFIX "sw"
#define LAB_BRIDGE "br0"
#define LAB_IFACE "eth0"
#define LAB_OUTSIDER "outsider"
#define LAB_DEFAULT_PRODUCT "replication-manager"
#define LAB_LOCK "/run/portwarden-lab.lock"

#define LAB_MAX_HOSTS 64
#define LAB_MAX_TARGETS 8
#define LAB_MAX_ROLES 4
#define LAB_HOST_NAME_MAX 15 /* it names the host's port on the bridge */

/* Flows per loaded host, by kind. */
#define LAB_MAX_ALLOWED 8
#define LAB_MAX_RULE_VIOLATIONS 3
#define LAB_MAX_LOOPBACK 2

/*
 * Every client binds this source port, so that on an audited source the
 * replies (which the ingress-only datapath judges like any packet) add one
 * counter row per peer role instead of one per ephemeral port.
 */
#define LAB_CLIENT_PORT 47000

extern const struct pw_cmd pw_cmd_lab;

static volatile sig_atomic_t lab_stop;

struct lab_host {
	char name[LAB_HOST_NAME_MAX + 1];
	char netns[sizeof(LAB_PREFIX) + LAB_HOST_NAME_MAX];
	char *roles[LAB_MAX_ROLES]; /* as the inventory names them */
	int nroles;
	bool has4, has6;
	uint8_t v4[4], v6[16];
	int nsfd;
	bool built;
	pid_t server;
	struct lab_target *target; /* portwarden runs here, or NULL */
};

struct lab_target {
	char *profile;   /* path */
	struct pw_profile prof;
	struct lab_host *host;
	struct pw_policy pol;
	struct pw_inventory inv;
	struct pw_compiled c;
	bool have_inv, compiled;
	struct pw_config cfg; /* what load writes, for the classifier */
	bool loaded;
	struct lab_jval stats;
	bool have_stats;
	/* (proto_idx, port) already given flows */
	uint32_t *seen;
	int nseen;
};

enum lab_want {
	LAB_WANT_ALLOW,
	LAB_WANT_RULE_VIOLATION, /* a violation counted under a rule */
	LAB_WANT_UNNAMED,        /* a violation on a port no rule names */
};

struct lab_flow {
	struct lab_host *src, *dst;
	int family;
	int proto_idx;
	uint16_t port;
	/* what the reference classifier says the destination does */
	struct pw_classify_result expect;
	char role[PW_ROLE_NAME_MAX];
	/* what happened */
	enum lab_outcome outcome;
	int sent, echoed, err;
	bool ok;
	bool counted;
};

struct lab_opts {
	const char *product;
	const char *dir;
	bool keep, list, clean;
};

struct lab {
	struct lab_opts o;
	char dir[PATH_MAX];
	char policy[PATH_MAX];
	char inventory[PATH_MAX];
	char exe[PATH_MAX];
	struct lab_host hosts[LAB_MAX_HOSTS];
	int nhosts;
	struct lab_target targets[LAB_MAX_TARGETS];
	int ntargets;
	struct lab_flow *flows;
	int nflows;
	int sw_fd;
	bool sw_built;
	char **failures;
	int nfailures;
	bool judged;
	bool counters_checked;
};

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

static void on_signal(int sig)
{
	lab_stop = sig;
}

__attribute__((format(printf, 2, 3)))
static void lab_fail(struct lab *lab, const char *fmt, ...)
{
	char **grown, *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (!msg)
		return;
	pw_cli_err("lab: %s", msg);
	grown = realloc(lab->failures, (lab->nfailures + 1) * sizeof(*grown));
	if (!grown) {
		free(msg);
		return;
	}
	lab->failures = grown;
	grown[lab->nfailures++] = msg;
}

static bool stopped(struct lab *lab)
{
	if (!lab_stop)
		return false;
	if (!lab->nfailures)
		lab_fail(lab, "interrupted by %s; tearing down",
			 lab_stop == SIGINT ? "SIGINT" : "SIGTERM");
	return true;
}

static const char *family_text(int family)
{
	return family == 4 ? "IPv4" : "IPv6";
}

static void addr_text(int family, const uint8_t *a, char *buf, size_t len)
{
	if (!inet_ntop(family == 4 ? AF_INET : AF_INET6, a, buf, len))
		snprintf(buf, len, "?");
}

static const char *mode_name(int mode)
{
	return mode == PW_MODE_ENFORCE ? "enforce" : "audit";
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static bool valid_host_name(const char *s, size_t len)
{
	size_t i;

	if (!len || len > LAB_HOST_NAME_MAX || s[0] < 'a' || s[0] > 'z')
		return false;
	for (i = 1; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* snprintf for paths: -1 (ENAMETOOLONG) instead of a truncated one. */
__attribute__((format(printf, 3, 4)))
static int path_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f)
		return NULL;
	n = getdelim(&buf, &cap, '\0', f);
	fclose(f);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ------------------------------------------------------------------ */
/* The product's files                                                 */
/* ------------------------------------------------------------------ */

static bool file_exists(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode);
}

static bool dir_has_product(const char *dir, const char *product)
{
	char path[PATH_MAX];

	return !path_fmt(path, sizeof(path), "%s/%s.policy", dir, product) &&
	       file_exists(path);
}

/*
 * --dir, else ./policies (running from a source tree), else the installed
 * copy.  The first that holds the product's policy wins, else the first
 * that exists (which then says the product is unknown).
 */
static int find_policy_dir(struct lab *lab)
{
	const char *cands[] = { "policies", PW_POLICY_DIR };
	const char *product = lab->o.product;
	struct stat st;
	size_t i;

	if (lab->o.dir) {
		if (!realpath(lab->o.dir, lab->dir)) {
			lab_fail(lab, "--dir %s: %s", lab->o.dir,
				 strerror(errno));
			return -1;
		}
		return 0;
	}
	for (i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
		if (dir_has_product(cands[i], product ? product :
					      LAB_DEFAULT_PRODUCT) &&
		    realpath(cands[i], lab->dir))
			return 0;
	}
	for (i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
		if (!stat(cands[i], &st) && S_ISDIR(st.st_mode) &&
		    realpath(cands[i], lab->dir))
			return 0;
	}
	lab_fail(lab, "no policies directory found (tried ./policies and %s); "
		 "give one with --dir DIR", PW_POLICY_DIR);
	return -1;
}

static int set_product_files(struct lab *lab, const char *product)
{
	if (path_fmt(lab->policy, sizeof(lab->policy), "%s/%s.policy",
		     lab->dir, product) ||
	    path_fmt(lab->inventory, sizeof(lab->inventory),
		     "%s/examples/%s.inventory", lab->dir, product))
		return -1;
	if (!file_exists(lab->policy) || !file_exists(lab->inventory))
		return -1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Hosts, from the example inventory                                   */
/* ------------------------------------------------------------------ */

static struct lab_host *find_host(struct lab *lab, const char *name)
{
	int i;

	for (i = 0; i < lab->nhosts; i++)
		if (!strcmp(lab->hosts[i].name, name))
			return &lab->hosts[i];
	return NULL;
}

static struct lab_host *add_host(struct lab *lab, const char *name)
{
	struct lab_host *h = find_host(lab, name);

	if (h)
		return h;
	if (lab->nhosts == LAB_MAX_HOSTS)
		return NULL;
	h = &lab->hosts[lab->nhosts++];
	memset(h, 0, sizeof(*h));
	snprintf(h->name, sizeof(h->name), "%s", name);
	snprintf(h->netns, sizeof(h->netns), LAB_PREFIX "%s", name);
	h->nsfd = -1;
	return h;
}

static bool host_has_role(const struct lab_host *h, const char *role)
{
	int i;

	for (i = 0; i < h->nroles; i++)
		if (!strcmp(h->roles[i], role))
			return true;
	return false;
}

/*
 * "lab host NAME is ADDRESS" anywhere in the file's comments; the address
 * may end a sentence.  Returns 0 and fills @p, or -1.
 */
static int mentioned_address(const char *text, const char *name, int family,
			     struct pw_prefix *p)
{
	const char *s = text, *q;
	char addr[64];
	size_t nlen = strlen(name), alen;
	const char *why;

	while ((s = strstr(s, "lab host "))) {
		s += strlen("lab host ");
		if (strncmp(s, name, nlen) || strncmp(s + nlen, " is ", 4))
			continue;
		q = s + nlen + 4;
		alen = strspn(q, "0123456789abcdefABCDEF.:");
		while (alen && q[alen - 1] == '.')
			alen--;
		if (!alen || alen >= sizeof(addr))
			continue;
		memcpy(addr, q, alen);
		addr[alen] = '\0';
		if (!pw_prefix_parse(addr, p, &why) && p->family == family)
			return 0;
	}
	return -1;
}

/* The lab host's address inside @net, a subnet of its role. */
static void host_in_subnet(const char *text, struct lab_host *h,
			   const struct pw_prefix *net)
{
	struct pw_prefix p;
	unsigned last;
	char digits[8];

	if (!mentioned_address(text, h->name, net->family, &p) &&
	    pw_prefix_contains(net, &p)) {
		memcpy(net->family == 4 ? h->v4 : h->v6, p.addr,
		       net->family == 4 ? 4 : 16);
	} else if (net->family == 4) {
		memcpy(h->v4, net->addr, 4);
		h->v4[3] |= 11;
	} else {
		/*
		 * "A host's IPv6 address ends in the same number as its IPv4
		 * address": the decimal digits, written as hex.
		 */
		snprintf(digits, sizeof(digits), "%u", h->has4 ? h->v4[3] : 11);
		last = strtoul(digits, NULL, 16);
		memcpy(h->v6, net->addr, 16);
		h->v6[14] |= last >> 8;
		h->v6[15] |= last & 0xff;
	}
}

static void host_take_address(const char *text, struct lab_host *h,
			      const char *tok, int family)
{
	char first[64];
	struct pw_prefix p;
	const char *why;
	size_t n = strcspn(tok, "-");

	/* A range FIRST-LAST: the lab host is its first address. */
	if (n >= sizeof(first))
		return;
	memcpy(first, tok, n);
	first[n] = '\0';
	if (pw_prefix_parse(first, &p, &why) || p.family != family)
		return;
	if (family == 4 && !h->has4) {
		if (p.plen == 32)
			memcpy(h->v4, p.addr, 4);
		else
			host_in_subnet(text, h, &p);
		h->has4 = true;
	} else if (family == 6 && !h->has6) {
		if (p.plen == 128)
			memcpy(h->v6, p.addr, 16);
		else
			host_in_subnet(text, h, &p);
		h->has6 = true;
	}
}

/* One inventory line: "role addr... # host ...". */
static int host_from_line(struct lab *lab, const char *text, char *line)
{
	char *hash = strchr(line, '#'), *comment, *tok, *save = NULL;
	char *toks[16];
	int ntoks = 0, i, fam;
	size_t nlen;
	struct lab_host *h;

	if (!hash)
		return 0;
	*hash = '\0';
	comment = hash + 1 + strspn(hash + 1, " \t");
	nlen = strcspn(comment, " \t\r\n(,");
	for (tok = strtok_r(line, " \t\r", &save); tok && ntoks < 16;
	     tok = strtok_r(NULL, " \t\r", &save))
		toks[ntoks++] = tok;
	if (ntoks < 2 || !valid_host_name(comment, nlen))
		return 0;
	comment[nlen] = '\0';
	h = add_host(lab, comment);
	if (!h) {
		lab_fail(lab, "%s: more than %d lab hosts", lab->inventory,
			 LAB_MAX_HOSTS);
		return -1;
	}
	if (!host_has_role(h, toks[0]) && h->nroles < LAB_MAX_ROLES)
		h->roles[h->nroles++] = strdup(toks[0]);
	/* IPv4 first: a derived IPv6 address follows the IPv4 one. */
	for (fam = 4; fam <= 6; fam += 2)
		for (i = 1; i < ntoks; i++)
			host_take_address(text, h, toks[i], fam);
	return 0;
}

static bool in_test_range(int family, const uint8_t *a)
{
	if (family == 4)
		return a[0] == 198 && (a[1] & 0xfe) == 18;
	return a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8;
}

static int read_hosts(struct lab *lab)
{
	char *text = read_text(lab->inventory), *copy, *line, *save = NULL;
	int err = 0, i;

	if (!text) {
		lab_fail(lab, "%s: %s", lab->inventory, strerror(errno));
		return -1;
	}
	copy = strdup(text);
	for (line = copy ? strtok_r(copy, "\n", &save) : NULL; line && !err;
	     line = strtok_r(NULL, "\n", &save))
		err = host_from_line(lab, text, line);
	free(copy);
	free(text);
	if (err)
		return -1;
	for (i = 0; i < lab->nhosts; i++) {
		struct lab_host *h = &lab->hosts[i];

		/* Never put an address outside the test ranges on a link. */
		if (h->has4 && !in_test_range(4, h->v4))
			h->has4 = false;
		if (h->has6 && !in_test_range(6, h->v6))
			h->has6 = false;
	}
	if (!lab->nhosts) {
		lab_fail(lab, "%s names no lab hosts (a comment '# HOST' after "
			 "an entry)", lab->inventory);
		return -1;
	}
	/* The switch's namespace and bridge have these names. */
	if (find_host(lab, "sw") || find_host(lab, LAB_BRIDGE)) {
		lab_fail(lab, "%s: lab hosts cannot be named 'sw' or '%s'",
			 lab->inventory, LAB_BRIDGE);
		return -1;
	}
	return 0;
}

/*
 * The outsider: addresses in the test ranges that no loaded host's
 * inventory covers, so its packets come from role "unknown".
 */
static int add_outsider(struct lab *lab)
{
	const struct pw_compiled *c = &lab->targets[0].c;
	struct lab_host *h;
	int i;

	if (find_host(lab, LAB_OUTSIDER)) {
		lab_fail(lab, "the inventory already has a lab host named "
			 "'%s'", LAB_OUTSIDER);
		return -1;
	}
	h = add_host(lab, LAB_OUTSIDER);
	if (!h) {
		lab_fail(lab, "too many lab hosts");
		return -1;
	}
	for (i = 255; i > 0 && !h->has4; i--) {
		uint8_t a[4] = { 198, 19, i, 11 };

		if (pw_compiled_role_v4(c, a) == PW_ROLE_UNKNOWN) {
			memcpy(h->v4, a, 4);
			h->has4 = true;
		}
	}
	for (i = 0xffff; i > 0 && !h->has6; i--) {
		uint8_t a[16] = { 0x20, 0x01, 0x0d, 0xb8, i >> 8, i & 0xff };

		a[15] = 0x11;
		if (pw_compiled_role_v6(c, a) == PW_ROLE_UNKNOWN) {
			memcpy(h->v6, a, 16);
			h->has6 = true;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Targets: the profiles of the product                                */
/* ------------------------------------------------------------------ */

static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return a && b && !stat(a, &sa) && !stat(b, &sb) &&
	       sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The host a profile's comment names ("lab host db1"), or NULL. */
static struct lab_host *profile_host(struct lab *lab, const char *path,
				     const struct pw_profile *prof)
{
	char *text = read_text(path), *s, name[LAB_HOST_NAME_MAX + 1];
	struct lab_host *h = NULL;
	size_t n;
	int i;

	for (s = text; s && (s = strstr(s, "lab host ")) && !h;) {
		s += strlen("lab host ");
		n = strcspn(s, " \t\r\n),.");
		if (valid_host_name(s, n)) {
			memcpy(name, s, n);
			name[n] = '\0';
			h = find_host(lab, name);
		}
	}
	free(text);
	/* Else the first host of the profile's first role. */
	for (i = 0; !h && i < lab->nhosts; i++)
		if (prof->nroles && host_has_role(&lab->hosts[i],
						  prof->roles[0]))
			h = &lab->hosts[i];
	return h;
}

static int compile_target(struct lab *lab, struct lab_target *t)
{
	struct pw_compile_opts o = {
		.host_roles = (const char *const *)t->prof.roles,
		.nhost_roles = t->prof.nroles,
		.tags = (const char *const *)t->prof.tags,
		.ntags = t->prof.ntags,
	};
	struct pw_diags d = { 0 };
	int err = -1;

	if (pw_policy_parse_file(t->prof.policy, &t->pol, &d))
		goto out;
	if (pw_inventory_parse_file(t->prof.inventory, &t->pol, &t->inv, &d))
		goto out;
	t->have_inv = true;
	if (pw_compile(&t->pol, &t->inv, &o, &t->c, &d))
		goto out;
	t->compiled = true;
	t->cfg.mode = t->prof.mode == PW_MODE_ENFORCE ? PW_MODE_ENFORCE :
							 PW_MODE_AUDIT;
	t->cfg.unchecked_drop = PW_UNCHECKED_DROP_DEFAULT;
	err = 0;
out:
	if (err) {
		pw_diags_print(&d, stderr);
		lab_fail(lab, "%s does not compile", t->profile);
	}
	pw_diags_free(&d);
	return err;
}

/* Is @path a profile of this product?  Then it becomes a target. */
static int consider_profile(struct lab *lab, const char *path)
{
	struct lab_target *t = &lab->targets[lab->ntargets];
	struct pw_diags d = { 0 };
	struct lab_host *h;

	memset(t, 0, sizeof(*t));
	if (pw_profile_parse_file(path, &t->prof, &d)) {
		pw_diags_free(&d);
		return 0; /* not ours to judge: "check" reports it */
	}
	pw_diags_free(&d);
	if (!same_file(t->prof.policy, lab->policy) ||
	    !same_file(t->prof.inventory, lab->inventory))
		goto skip;
	h = profile_host(lab, path, &t->prof);
	if (!h || h->target) {
		pw_cli_warn("lab: %s: %s; not loaded", path,
			    h ? "its lab host already runs another profile" :
				"no lab host holds its role");
		goto skip;
	}
	if (lab->ntargets == LAB_MAX_TARGETS) {
		lab_fail(lab, "more than %d profiles", LAB_MAX_TARGETS);
		pw_profile_free(&t->prof);
		return -1;
	}
	t->profile = strdup(path);
	t->host = h;
	h->target = t;
	lab->ntargets++;
	return compile_target(lab, t);
skip:
	pw_profile_free(&t->prof);
	return 0;
}

static int cmp_dirent(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int is_profile(const struct dirent *de)
{
	size_t n = strlen(de->d_name);

	return n > 8 && !strcmp(de->d_name + n - 8, ".profile");
}

static int read_targets(struct lab *lab)
{
	char dir[PATH_MAX], path[PATH_MAX + 256];
	struct dirent **des;
	int n, i, err = 0;

	if (path_fmt(dir, sizeof(dir), "%s/profiles", lab->dir))
		n = -1;
	else
		n = scandir(dir, &des, is_profile, cmp_dirent);
	if (n < 0) {
		lab_fail(lab, "%s: %s", dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (!err && !path_fmt(path, sizeof(path), "%s/%s", dir,
				      des[i]->d_name))
			err = consider_profile(lab, path);
		free(des[i]);
	}
	free(des);
	if (!err && !lab->ntargets) {
		lab_fail(lab, "no profile in %s names %s and %s", dir,
			 lab->policy, lab->inventory);
		err = -1;
	}
	return err;
}

/* ------------------------------------------------------------------ */
/* Flows                                                               */
/* ------------------------------------------------------------------ */

static bool seen_port(struct lab_target *t, int proto_idx, uint16_t port)
{
	uint32_t key = (uint32_t)proto_idx << 16 | port, *grown;
	int i;

	for (i = 0; i < t->nseen; i++)
		if (t->seen[i] == key)
			return true;
	grown = realloc(t->seen, (t->nseen + 1) * sizeof(*grown));
	if (grown) {
		t->seen = grown;
		t->seen[t->nseen++] = key;
	}
	return false;
}

static void classify_flow(const struct lab_target *t,
			  const struct lab_host *src, int family, int proto_idx,
			  uint16_t port, struct pw_classify_result *res)
{
	uint8_t pkt[128];
	int len;

	len = pw_classify_build_packet(family, family == 4 ? src->v4 : src->v6,
				       family == 4 ? t->host->v4 : t->host->v6,
				       pw_proto_ipproto(proto_idx),
				       LAB_CLIENT_PORT, port, pkt, sizeof(pkt));
	memset(res, 0, sizeof(*res));
	if (len > 0)
		pw_classify(&t->c, &t->cfg, 0, pkt, len, res);
}

static bool result_fits(const struct pw_classify_result *r,
			enum lab_want want)
{
	if (r->reason != PW_REASON_CLASSIFIED)
		return false;
	switch (want) {
	case LAB_WANT_ALLOW:
		return r->verdict == PW_VERDICT_ALLOW;
	case LAB_WANT_RULE_VIOLATION:
		return r->verdict != PW_VERDICT_ALLOW &&
		       r->counter == PW_COUNTER_SLOT;
	case LAB_WANT_UNNAMED:
		return r->counter == PW_COUNTER_UNNAMED;
	}
	return false;
}

/*
 * Can @h send to @t's host?  Not from itself, and not from a host that
 * enforces: the datapath judges packets on ingress only, so the replies
 * an enforcing client gets would be dropped as violations.
 */
static bool usable_source(const struct lab_host *h, const struct lab_target *t)
{
	return h != t->host &&
	       !(h->target && h->target->cfg.mode == PW_MODE_ENFORCE);
}

static int add_flow(struct lab *lab, struct lab_target *t,
		    struct lab_host *src, int family, int proto_idx,
		    uint16_t port, const struct pw_classify_result *res)
{
	struct lab_flow *grown, *f;
	uint32_t role = res->key.role;

	grown = realloc(lab->flows, (lab->nflows + 1) * sizeof(*grown));
	if (!grown) {
		lab_fail(lab, "out of memory");
		return -1;
	}
	lab->flows = grown;
	f = &grown[lab->nflows++];
	memset(f, 0, sizeof(*f));
	f->src = src;
	f->dst = t->host;
	f->family = family;
	f->proto_idx = proto_idx;
	f->port = port;
	f->expect = *res;
	snprintf(f->role, sizeof(f->role), "%s",
		 role < t->c.nroles ? t->c.role_names[role].name : "?");
	return 0;
}

static bool both_have(const struct lab_host *a, const struct lab_host *b,
		      int family)
{
	return family == 4 ? a->has4 && b->has4 : a->has6 && b->has6;
}

/*
 * Find a source whose packet to (proto, port) gets the verdict @want and
 * add that flow.  Sources are tried unloaded hosts first (their counters
 * stay clean), from a rotating start so that flows spread over the site;
 * families alternate so that IPv4 and IPv6 both get traffic.  Returns 1
 * when a flow was added, 0 when no host fits, -1 on error.
 */
static int plan_flow(struct lab *lab, struct lab_target *t, int proto_idx,
		     uint16_t port, enum lab_want want, bool outsider_first)
{
	struct pw_classify_result res;
	struct lab_host *h;
	int pass, i, k, fam, n = lab->nhosts;
	int fams[2] = { lab->nflows % 2 ? 6 : 4, lab->nflows % 2 ? 4 : 6 };

	for (pass = 0; pass < 3; pass++) {
		for (k = 0; k < n; k++) {
			i = (k + lab->nflows) % n;
			h = &lab->hosts[i];
			if (pass == 0 && (!outsider_first ||
					  strcmp(h->name, LAB_OUTSIDER)))
				continue;
			if (pass == 1 && h->target)
				continue;
			if (!usable_source(h, t))
				continue;
			for (fam = 0; fam < 2; fam++) {
				if (!both_have(h, t->host, fams[fam]))
					continue;
				classify_flow(t, h, fams[fam], proto_idx, port,
					      &res);
				if (result_fits(&res, want))
					return add_flow(lab, t, h, fams[fam],
							proto_idx, port, &res) ?
						       -1 : 1;
			}
		}
	}
	return 0;
}

struct plan_count {
	int allowed, violations, loopback;
};

static int plan_rule(struct lab *lab, struct lab_target *t,
		     const struct pw_effective_rule *e, struct plan_count *pc)
{
	const struct pw_rule *r = e->rule;
	int p, got;
	uint16_t port;

	if (e->dir != PW_DIR_INGRESS || !r->nports)
		return 0;
	for (p = PW_P_TCP; p <= PW_P_UDP; p++) {
		if (!(r->protos & (1U << p)))
			continue;
		port = r->ports[0].lo;
		if (seen_port(t, p, port))
			continue;
		if (r->kind == PW_RULE_LOOPBACK) {
			if (pc->loopback >= LAB_MAX_LOOPBACK)
				continue;
			got = plan_flow(lab, t, p, port,
					LAB_WANT_RULE_VIOLATION, false);
			pc->loopback += got > 0;
			if (got < 0)
				return -1;
			continue;
		}
		if (pc->allowed < LAB_MAX_ALLOWED) {
			got = plan_flow(lab, t, p, port, LAB_WANT_ALLOW, false);
			if (got < 0)
				return -1;
			pc->allowed += got;
		}
		if (pc->violations < LAB_MAX_RULE_VIOLATIONS) {
			got = plan_flow(lab, t, p, port,
					LAB_WANT_RULE_VIOLATION, false);
			if (got < 0)
				return -1;
			pc->violations += got;
		}
	}
	return 0;
}

/* A TCP and a UDP port that no rule names at the host. */
static int plan_undocumented(struct lab *lab, struct lab_target *t, int *n)
{
	static const uint16_t cands[] = { 9, 13, 37, 79, 5355, 8081, 9999 };
	size_t i;
	int p, got;

	for (p = PW_P_TCP; p <= PW_P_UDP; p++) {
		for (i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
			if (pw_compiled_seg(&t->c, PW_DIR_INGRESS, p,
					    cands[i]) != PW_SEG_NONE)
				continue;
			got = plan_flow(lab, t, p, cands[i], LAB_WANT_UNNAMED,
					p == PW_P_TCP);
			if (got < 0)
				return -1;
			*n += got;
			break;
		}
	}
	return 0;
}

static int plan_target(struct lab *lab, struct lab_target *t)
{
	struct plan_count pc = { 0 };
	int i, unnamed = 0;

	for (i = 0; i < t->c.neffective; i++)
		if (plan_rule(lab, t, &t->c.effective[i], &pc))
			return -1;
	if (plan_undocumented(lab, t, &unnamed))
		return -1;
	/* A lab that shows nothing is a failed lab. */
	if (!pc.allowed)
		lab_fail(lab, "%s: no lab host may reach %s over TCP or UDP; "
			 "nothing to show", t->profile, t->host->name);
	if (!pc.violations && !pc.loopback && !unnamed)
		lab_fail(lab, "%s: no violating flow could be planned for %s",
			 t->profile, t->host->name);
	return lab->nfailures ? -1 : 0;
}

static int plan_flows(struct lab *lab)
{
	int i;

	for (i = 0; i < lab->ntargets; i++)
		if (plan_target(lab, &lab->targets[i]))
			return -1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The network                                                         */
/* ------------------------------------------------------------------ */

static void pin_name(const char *netns, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s:%s", PW_PIN_ROOT, netns, LAB_IFACE);
}

static int run_self(struct lab *lab, const char *const *args, char **capture,
		    bool quiet)
{
	char *argv[24];
	int n = 0;

	argv[n++] = lab->exe;
	while (*args && n < 23)
		argv[n++] = (char *)*args++;
	argv[n] = NULL;
	return lab_run(argv, capture, quiet);
}

static int unload_netns(struct lab *lab, const char *netns)
{
	const char *args[] = { "unload", "--iface", LAB_IFACE, "--netns",
			       netns, NULL };
	char *out = NULL;
	int status;

	status = run_self(lab, args, &out, false);
	free(out);
	return status;
}

/* Remove a pin directory the loader could not (its namespace is gone). */
static void remove_pins(const char *dir)
{
	struct dirent *de;
	char path[PATH_MAX + 256];
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (!path_fmt(path, sizeof(path), "%s/%s", dir, de->d_name))
			unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* Pins and state files of lab namespaces that no longer exist. */
static void remove_orphans(void)
{
	const char *roots[] = { PW_PIN_ROOT, PW_STATE_ROOT };
	char path[PATH_MAX + 256];
	struct dirent *de;
	size_t i;
	DIR *d;

	for (i = 0; i < 2; i++) {
		d = opendir(roots[i]);
		if (!d)
			continue;
		while ((de = readdir(d))) {
			if (strncmp(de->d_name, LAB_PREFIX, strlen(LAB_PREFIX)))
				continue;
			if (path_fmt(path, sizeof(path), "%s/%s", roots[i],
				     de->d_name))
				continue;
			if (i == 0)
				remove_pins(path);
			else
				unlink(path);
		}
		closedir(d);
	}
}

/*
 * Whatever an earlier run left (killed, or --keep): unload what is
 * loaded in a lab namespace, then delete the namespaces.
 */
static int clean_leftovers(struct lab *lab, bool verbose)
{
	char **names = NULL, pin[PATH_MAX];
	struct stat st;
	int n, i, err = 0;

	n = lab_netns_list(LAB_PREFIX, &names);
	if (n < 0) {
		lab_fail(lab, "cannot list %s: %s", LAB_NETNS_RUN_DIR,
			 strerror(-n));
		return -1;
	}
	for (i = 0; i < n; i++) {
		pin_name(names[i], pin, sizeof(pin));
		if (!stat(pin, &st))
			unload_netns(lab, names[i]);
		if (lab_netns_delete(names[i])) {
			lab_fail(lab, "cannot delete namespace %s: %s",
				 names[i], strerror(errno));
			err = -1;
		}
		free(names[i]);
	}
	free(names);
	remove_orphans();
	if (verbose && n && !pw_out_is_json())
		printf("removed %d namespace%s of an earlier lab\n", n,
		       n == 1 ? "" : "s");
	return err ? err : n;
}

static int build_switch(struct lab *lab)
{
	struct lab_nl nl;
	int err;

	err = lab_netns_create(LAB_SWITCH);
	if (err)
		goto fail;
	lab->sw_built = true;
	lab->sw_fd = lab_netns_open(LAB_SWITCH);
	if (lab->sw_fd < 0) {
		err = lab->sw_fd;
		goto fail;
	}
	err = lab_nl_open(&nl, lab->sw_fd);
	if (err)
		goto fail;
	err = lab_nl_add_bridge(&nl, LAB_BRIDGE) ?:
	      lab_nl_link_up(&nl, LAB_BRIDGE, NULL);
	lab_nl_close(&nl);
	if (!err)
		return 0;
fail:
	lab_fail(lab, "cannot build the switch namespace %s: %s", LAB_SWITCH,
		 strerror(-err));
	return -1;
}

static int address_host(struct lab_nl *nl, struct lab_host *h)
{
	int ifindex, err = 0;

	ifindex = lab_nl_ifindex(nl, LAB_IFACE);
	if (ifindex < 0)
		return ifindex;
	/* On-link across the test ranges: one segment joins every subnet. */
	if (h->has4)
		err = lab_nl_add_addr(nl, ifindex, 4, h->v4, 15);
	if (!err && h->has6)
		err = lab_nl_add_addr(nl, ifindex, 6, h->v6, 32);
	return err;
}

static int build_host(struct lab *lab, struct lab_host *h)
{
	struct lab_nl sw = { .fd = -1 }, nl = { .fd = -1 };
	const char *step = "create";
	int err;

	err = lab_netns_create(h->netns);
	if (err)
		goto out;
	h->built = true;
	step = "open";
	h->nsfd = lab_netns_open(h->netns);
	if (h->nsfd < 0) {
		err = h->nsfd;
		goto out;
	}
	/* Before eth0 exists, so that it inherits "no DAD". */
	step = "configure";
	err = lab_sysctl_in(h->nsfd, "net/ipv6/conf/default/accept_dad", "0");
	if (err)
		goto out;
	step = "link";
	err = lab_nl_open(&sw, lab->sw_fd) ?: lab_nl_open(&nl, h->nsfd);
	if (err)
		goto out;
	err = lab_nl_add_veth(&sw, h->name, LAB_IFACE, h->nsfd) ?:
	      lab_nl_link_up(&sw, h->name, LAB_BRIDGE) ?:
	      lab_nl_link_up(&nl, "lo", NULL) ?:
	      lab_nl_link_up(&nl, LAB_IFACE, NULL);
	if (err)
		goto out;
	step = "address";
	err = address_host(&nl, h);
out:
	lab_nl_close(&sw);
	lab_nl_close(&nl);
	if (err)
		lab_fail(lab, "cannot build host %s (%s, %s step): %s", h->name,
			 h->netns, step, strerror(-err));
	return err ? -1 : 0;
}

static int build_network(struct lab *lab)
{
	int i;

	if (build_switch(lab))
		return -1;
	for (i = 0; i < lab->nhosts; i++) {
		if (stopped(lab) || build_host(lab, &lab->hosts[i]))
			return -1;
	}
	return 0;
}

static void delete_network(struct lab *lab)
{
	struct lab_host *h;
	int i;

	for (i = 0; i < lab->nhosts; i++) {
		h = &lab->hosts[i];
		if (h->nsfd >= 0)
			close(h->nsfd);
		h->nsfd = -1;
		if (h->built && lab_netns_delete(h->netns))
			lab_fail(lab, "cannot delete namespace %s: %s",
				 h->netns, strerror(errno));
		h->built = false;
	}
	if (lab->sw_fd >= 0)
		close(lab->sw_fd);
	lab->sw_fd = -1;
	if (lab->sw_built && lab_netns_delete(LAB_SWITCH))
		lab_fail(lab, "cannot delete namespace %s: %s", LAB_SWITCH,
			 strerror(errno));
	lab->sw_built = false;
}

/* ------------------------------------------------------------------ */
/* Loading                                                             */
/* ------------------------------------------------------------------ */

static int load_target(struct lab *lab, struct lab_target *t)
{
	const char *args[] = { "load", "--iface", LAB_IFACE, "--netns",
			       t->host->netns, "--profile", t->profile, NULL };
	char *out = NULL;
	int status;

	if (!pw_out_is_json())
		printf("  %-10s %-22s %s\n", t->host->name,
		       base_name(t->profile), mode_name(t->cfg.mode));
	/* Its status block is long; "stats" below says what matters. */
	status = run_self(lab, args, &out, false);
	free(out);
	/* Even a failed load may have pinned something: unload tries. */
	t->loaded = true;
	if (status) {
		lab_fail(lab, "portwarden load on %s (%s) failed with status %d",
			 t->host->name, t->host->netns, status);
		return -1;
	}
	return 0;
}

static int load_targets(struct lab *lab)
{
	int i;

	if (!pw_out_is_json())
		printf("\nload (portwarden load --iface %s --netns NS --profile FILE):\n",
		       LAB_IFACE);
	for (i = 0; i < lab->ntargets; i++)
		if (stopped(lab) || load_target(lab, &lab->targets[i]))
			return -1;
	return 0;
}

static void unload_targets(struct lab *lab)
{
	char pin[PATH_MAX];
	struct lab_target *t;
	struct stat st;
	int i, status;

	for (i = 0; i < lab->ntargets; i++) {
		t = &lab->targets[i];
		pin_name(t->host->netns, pin, sizeof(pin));
		/* A load that failed early left nothing to unload. */
		if (!t->loaded || stat(pin, &st))
			continue;
		status = unload_netns(lab, t->host->netns);
		if (status)
			lab_fail(lab, "portwarden unload on %s (%s) failed "
				 "with status %d", t->host->name,
				 t->host->netns, status);
		t->loaded = false;
	}
}

/* ------------------------------------------------------------------ */
/* Traffic                                                             */
/* ------------------------------------------------------------------ */

/*
 * The server child of one host: a listener for each (family, protocol,
 * port) its flows need, echoing until the lab kills it.
 */
static void serve(struct lab *lab, struct lab_host *h, int ready)
{
	struct lab_listen *l = calloc(lab->nflows, sizeof(*l));
	int n = 0, i, j;
	bool dup;

	if (!l)
		_exit(1);
	for (i = 0; i < lab->nflows; i++) {
		struct lab_flow *f = &lab->flows[i];

		if (f->dst != h)
			continue;
		for (dup = false, j = 0; j < n && !dup; j++)
			dup = l[j].family == f->family &&
			      l[j].ipproto == pw_proto_ipproto(f->proto_idx) &&
			      l[j].port == f->port;
		if (!dup)
			l[n++] = (struct lab_listen){
				.family = f->family,
				.ipproto = pw_proto_ipproto(f->proto_idx),
				.port = f->port,
			};
	}
	lab_serve(h->nsfd, l, n, ready);
}

static int start_servers(struct lab *lab)
{
	struct lab_host *h;
	int i, j, p[2];
	bool needed;
	char c;

	for (i = 0; i < lab->nhosts; i++) {
		h = &lab->hosts[i];
		needed = false;
		for (j = 0; j < lab->nflows; j++)
			needed |= lab->flows[j].dst == h;
		if (!needed)
			continue;
		if (pipe2(p, O_CLOEXEC))
			return -1;
		h->server = lab_fork();
		if (h->server == 0) {
			close(p[0]);
			serve(lab, h, p[1]);
		}
		close(p[1]);
		/* EOF instead of the byte: the server died; it said why. */
		if (h->server < 0 || read(p[0], &c, 1) != 1) {
			close(p[0]);
			lab_fail(lab, "cannot start the servers on %s",
				 h->name);
			return -1;
		}
		close(p[0]);
	}
	return 0;
}

static void stop_servers(struct lab *lab)
{
	int i;

	for (i = 0; i < lab->nhosts; i++) {
		if (lab->hosts[i].server <= 0)
			continue;
		kill(lab->hosts[i].server, SIGKILL);
		lab_wait(lab->hosts[i].server);
		lab->hosts[i].server = 0;
	}
}

struct flow_report {
	int index;
	struct lab_probe_result r;
};

/* The client child of one flow; reports through @out and exits. */
static void run_client(struct lab_flow *f, int index, int out)
{
	struct flow_report rep = { .index = index };
	struct lab_probe p = {
		.family = f->family,
		.ipproto = pw_proto_ipproto(f->proto_idx),
		.src = f->family == 4 ? f->src->v4 : f->src->v6,
		.dst = f->family == 4 ? f->dst->v4 : f->dst->v6,
		.sport = LAB_CLIENT_PORT,
		.dport = f->port,
	};

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	lab_probe(f->src->nsfd, &p, &rep.r);
	if (write(out, &rep, sizeof(rep)) != sizeof(rep))
		_exit(1);
	_exit(0);
}

/*
 * Every flow at once, each in its own child, so that the run takes one
 * timeout rather than one per dropped flow.
 */
static int run_flows(struct lab *lab)
{
	struct flow_report rep;
	struct lab_flow *f;
	pid_t *pids;
	ssize_t n;
	int p[2], i;

	pids = calloc(lab->nflows, sizeof(*pids));
	if (!pids || pipe2(p, O_CLOEXEC)) {
		free(pids);
		lab_fail(lab, "cannot start the clients: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < lab->nflows; i++) {
		pids[i] = lab_fork();
		if (pids[i] == 0) {
			close(p[0]);
			run_client(&lab->flows[i], i, p[1]);
		}
	}
	close(p[1]);
	for (;;) {
		n = read(p[0], &rep, sizeof(rep));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != sizeof(rep))
			break;
		if (rep.index < 0 || rep.index >= lab->nflows)
			continue;
		f = &lab->flows[rep.index];
		f->outcome = rep.r.outcome;
		f->sent = rep.r.sent;
		f->echoed = rep.r.echoed;
		f->err = rep.r.err;
	}
	close(p[0]);
	for (i = 0; i < lab->nflows; i++)
		if (pids[i] > 0)
			lab_wait(pids[i]);
	free(pids);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Judging                                                             */
/* ------------------------------------------------------------------ */

static const char *outcome_text(const struct lab_flow *f)
{
	switch (f->outcome) {
	case LAB_CONNECTED:
		return f->proto_idx == PW_P_TCP ? "connected" : "echoed";
	case LAB_PARTIAL:
		return f->proto_idx == PW_P_TCP ? "no echo" : "some echoes";
	case LAB_TIMED_OUT:
		return "timed out";
	case LAB_REFUSED:
		return "refused";
	case LAB_ERROR:
		return "error";
	default:
		return "not run";
	}
}

static bool expect_pass(const struct lab_flow *f)
{
	return f->expect.action == PW_XDP_PASS;
}

static void flow_name(const struct lab_flow *f, char *buf, size_t len)
{
	snprintf(buf, len, "%s -> %s %s/%u over %s", f->src->name,
		 f->dst->name, pw_proto_name(f->proto_idx), f->port,
		 family_text(f->family));
}

/* "violation of rule 33 (enforce: drop)" */
static void expect_text(const struct lab_flow *f, char *buf, size_t len)
{
	const char *v = pw_verdict_name(f->expect.verdict);

	if (f->expect.rule_id != PW_RULE_NONE)
		snprintf(buf, len, "%s (rule %u)", v, f->expect.rule_id);
	else
		snprintf(buf, len, "%s (no rule)", v);
}

/* "allowed by rule 5", "violation of rule 4, audited", "violation on an
 * undocumented port" (a drop says itself) */
static void verdict_words(const struct lab_flow *f, char *buf, size_t len)
{
	const struct pw_classify_result *e = &f->expect;
	const char *how = e->verdict == PW_VERDICT_AUDIT ? ", audited" : "";

	if (e->verdict == PW_VERDICT_ALLOW)
		snprintf(buf, len, "allowed by rule %u", e->rule_id);
	else if (e->rule_id != PW_RULE_NONE)
		snprintf(buf, len, "violation of rule %u%s", e->rule_id, how);
	else
		snprintf(buf, len, "violation on an undocumented port%s", how);
}

static void judge_flows(struct lab *lab)
{
	struct lab_flow *f;
	char name[128], want[96];
	int i;

	lab->judged = true;
	for (i = 0; i < lab->nflows; i++) {
		f = &lab->flows[i];
		if (expect_pass(f))
			f->ok = f->outcome == LAB_CONNECTED;
		else
			f->ok = f->outcome == LAB_TIMED_OUT;
		if (f->ok)
			continue;
		flow_name(f, name, sizeof(name));
		verdict_words(f, want, sizeof(want));
		lab_fail(lab, "%s: expected %s (%s) to %s it (%s), but it %s%s%s",
			 name, f->dst->name,
			 mode_name(f->dst->target->cfg.mode),
			 expect_pass(f) ? "pass" : "drop", want,
			 outcome_text(f), f->err ? ": " : "",
			 f->err ? strerror(f->err) : "");
	}
}

/* ------------------------------------------------------------------ */
/* Counters, through "portwarden stats -j"                             */
/* ------------------------------------------------------------------ */

static const char *jstr(const struct lab_jval *o, const char *key)
{
	const struct lab_jval *v = lab_json_get(o, key);

	return v && v->type == LAB_JSTR ? v->str : NULL;
}

static double jnum(const struct lab_jval *o, const char *key)
{
	const struct lab_jval *v = lab_json_get(o, key);

	return v && v->type == LAB_JNUM ? v->num : -1;
}

static bool streq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

/* Does a stats row count @f's packets under the key the classifier gave? */
static bool row_counts(const struct lab_jval *row, const struct lab_flow *f)
{
	const struct pw_counter_key *k = &f->expect.key;
	const char *dir = jstr(row, "direction"), *role = jstr(row, "role");
	const char *proto = jstr(row, "proto"), *verdict = jstr(row, "verdict");
	double lo = jnum(row, "port_lo"), hi = jnum(row, "port_hi");

	return streq(dir, "ingress") && streq(role, f->role) &&
	       streq(proto, pw_proto_name(f->proto_idx)) &&
	       streq(verdict, pw_verdict_name(f->expect.verdict)) &&
	       lo == k->port_lo && hi == k->port_hi &&
	       jnum(row, "packets") >= 1;
}

static void check_counters(struct lab *lab)
{
	const struct lab_jval *rows;
	struct lab_flow *f;
	char name[128], want[96];
	int i, r;

	for (i = 0; i < lab->nflows; i++) {
		f = &lab->flows[i];
		if (!f->dst->target->have_stats)
			continue;
		rows = lab_json_get(&f->dst->target->stats, "rows");
		if (!rows || rows->type != LAB_JARR)
			continue;
		lab->counters_checked = true;
		for (r = 0; r < rows->nitems && !f->counted; r++)
			f->counted = row_counts(&rows->items[r], f);
		if (f->counted)
			continue;
		flow_name(f, name, sizeof(name));
		verdict_words(f, want, sizeof(want));
		lab_fail(lab, "%s: %s's counters (stats -j) have no %s row "
			 "with packets for role %s (%s)", name, f->dst->name,
			 pw_verdict_name(f->expect.verdict), f->role, want);
	}
}

static int read_stats(struct lab *lab, struct lab_target *t)
{
	const char *args[] = { "stats", "--iface", LAB_IFACE, "--netns",
			       t->host->netns, "-j", NULL };
	char *out = NULL, err[128];
	int status;

	status = run_self(lab, args, &out, false);
	if (status || !out ||
	    lab_json_parse(out, &t->stats, err, sizeof(err))) {
		lab_fail(lab, "portwarden stats -j on %s: %s", t->host->name,
			 status ? "failed" : err);
		free(out);
		return -1;
	}
	free(out);
	t->have_stats = true;
	return 0;
}

static void show_stats(struct lab *lab)
{
	const char *args[] = { "stats", "--iface", LAB_IFACE, "--netns", NULL,
			       NULL };
	struct lab_target *t;
	int i;

	for (i = 0; i < lab->ntargets; i++) {
		t = &lab->targets[i];
		read_stats(lab, t);
		if (pw_out_is_json())
			continue;
		printf("\nstats of %s (portwarden stats --iface %s --netns %s; %s):\n",
		       t->host->name, LAB_IFACE, t->host->netns,
		       mode_name(t->cfg.mode));
		args[4] = t->host->netns;
		if (run_self(lab, args, NULL, false))
			lab_fail(lab, "portwarden stats on %s failed",
				 t->host->name);
	}
}

/* ------------------------------------------------------------------ */
/* Text and JSON output                                                */
/* ------------------------------------------------------------------ */

static void roles_text(const struct lab_host *h, char *buf, size_t len)
{
	size_t used = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < h->nroles && used < len; i++)
		used += snprintf(buf + used, len - used, "%s%s", i ? "," : "",
				 h->roles[i]);
	if (!h->nroles)
		snprintf(buf, len, "(unknown)");
}

static void print_hosts_text(const struct lab *lab, const char *product)
{
	char a4[INET_ADDRSTRLEN], a6[INET6_ADDRSTRLEN], roles[64];
	const struct lab_host *h;
	int i;

	printf("portwarden lab: %s, %d hosts on bridge %s in namespace %s\n",
	       product, lab->nhosts, LAB_BRIDGE, LAB_SWITCH);
	printf("  %-10s %-16s %-16s %-15s %s\n", "host", "namespace", "roles",
	       "IPv4", "IPv6");
	for (i = 0; i < lab->nhosts; i++) {
		h = &lab->hosts[i];
		addr_text(4, h->v4, a4, sizeof(a4));
		addr_text(6, h->v6, a6, sizeof(a6));
		roles_text(h, roles, sizeof(roles));
		printf("  %-10s %-16s %-16s %-15s %s\n", h->name, h->netns,
		       roles, h->has4 ? a4 : "-", h->has6 ? a6 : "-");
	}
}

static void print_flows_text(const struct lab *lab)
{
	const struct lab_flow *f;
	char flow[32], want[64];
	int i;

	printf("\ntraffic: %d flows (TCP: connect and echo; UDP: %d datagrams "
	       "echoed), from port %u\n", lab->nflows, LAB_UDP_COUNT,
	       LAB_CLIENT_PORT);
	printf("  %-10s %-10s %-14s %-15s %-20s %-12s\n", "from", "to", "flow",
	       "source role", "expected", "result");
	for (i = 0; i < lab->nflows; i++) {
		f = &lab->flows[i];
		snprintf(flow, sizeof(flow), "%s/%u v%d",
			 pw_proto_name(f->proto_idx), f->port, f->family);
		expect_text(f, want, sizeof(want));
		printf("  %-10s %-10s %-14s %-15s %-20s %-12s %s\n",
		       f->src->name, f->dst->name, flow, f->role, want,
		       outcome_text(f), f->ok ? "ok" : "FAILED");
	}
}

static void print_result_text(const struct lab *lab)
{
	int i, ok = 0;

	for (i = 0; i < lab->nflows; i++)
		ok += lab->flows[i].ok;
	printf("\n");
	if (lab->judged)
		printf("flows: %d of %d as the policy says\n", ok, lab->nflows);
	if (lab->counters_checked)
		printf("counters: %s\n", lab->nfailures ?
			       "see the failures above" :
			       "every flow counted under its key at its destination");
	if (lab->nfailures)
		printf("lab: FAILED (%d problem%s, first: %s)\n",
		       lab->nfailures, lab->nfailures == 1 ? "" : "s",
		       lab->failures[0]);
	else
		printf("lab: PASSED\n");
}

static void json_host(struct pw_json *j, const struct lab_host *h)
{
	char a[INET6_ADDRSTRLEN];
	int i;

	pw_json_start_object(j, NULL);
	pw_json_string(j, "name", h->name);
	pw_json_string(j, "netns", h->netns);
	pw_json_start_array(j, "roles");
	for (i = 0; i < h->nroles; i++)
		pw_json_string(j, NULL, h->roles[i]);
	pw_json_end_array(j);
	addr_text(4, h->v4, a, sizeof(a));
	pw_json_string(j, "ipv4", h->has4 ? a : NULL);
	addr_text(6, h->v6, a, sizeof(a));
	pw_json_string(j, "ipv6", h->has6 ? a : NULL);
	if (h->target) {
		pw_json_string(j, "profile", h->target->profile);
		pw_json_string(j, "mode", mode_name(h->target->cfg.mode));
	}
	pw_json_end_object(j);
}

static void json_flow(struct pw_json *j, const struct lab_flow *f)
{
	pw_json_start_object(j, NULL);
	pw_json_string(j, "from", f->src->name);
	pw_json_string(j, "to", f->dst->name);
	pw_json_uint(j, "family", f->family);
	pw_json_string(j, "protocol", pw_proto_name(f->proto_idx));
	pw_json_uint(j, "port", f->port);
	pw_json_string(j, "role", f->role);
	pw_json_string(j, "verdict", pw_verdict_name(f->expect.verdict));
	if (f->expect.rule_id != PW_RULE_NONE)
		pw_json_uint(j, "rule", f->expect.rule_id);
	else
		pw_json_null(j, "rule");
	pw_json_string(j, "expected", expect_pass(f) ? "pass" : "drop");
	pw_json_string(j, "result", outcome_text(f));
	pw_json_uint(j, "sent", f->sent);
	pw_json_uint(j, "echoed", f->echoed);
	pw_json_bool(j, "ok", f->ok);
	pw_json_bool(j, "counted", f->counted);
	pw_json_end_object(j);
}

static void print_json(const struct lab *lab, const char *product)
{
	struct pw_json *j = pw_out_json();
	int i;

	pw_json_start_object(j, NULL);
	pw_json_string(j, "product", product);
	pw_json_string(j, "policy", lab->policy);
	pw_json_string(j, "inventory", lab->inventory);
	pw_json_start_array(j, "hosts");
	for (i = 0; i < lab->nhosts; i++)
		json_host(j, &lab->hosts[i]);
	pw_json_end_array(j);
	pw_json_start_array(j, "flows");
	for (i = 0; i < lab->nflows; i++)
		json_flow(j, &lab->flows[i]);
	pw_json_end_array(j);
	pw_json_start_object(j, "stats");
	for (i = 0; i < lab->ntargets; i++)
		if (lab->targets[i].have_stats)
			lab_json_emit(j, lab->targets[i].host->name,
				      &lab->targets[i].stats);
	pw_json_end_object(j);
	pw_json_bool(j, "counters_checked", lab->counters_checked);
	pw_json_bool(j, "kept", lab->o.keep && !lab_stop);
	pw_json_start_array(j, "failures");
	for (i = 0; i < lab->nfailures; i++)
		pw_json_string(j, NULL, lab->failures[i]);
	pw_json_end_array(j);
	pw_json_bool(j, "ok", !lab->nfailures);
	pw_json_end_object(j);
}

/* ------------------------------------------------------------------ */
/* Products                                                            */
/* ------------------------------------------------------------------ */

static bool product_has_profile(struct lab *lab)
{
	char dir[PATH_MAX], path[PATH_MAX + 256];
	struct pw_profile prof;
	struct pw_diags d;
	struct dirent **des;
	bool found = false;
	int n, i;

	if (path_fmt(dir, sizeof(dir), "%s/profiles", lab->dir))
		return false;
	n = scandir(dir, &des, is_profile, cmp_dirent);
	for (i = 0; i < n; i++) {
		memset(&prof, 0, sizeof(prof));
		memset(&d, 0, sizeof(d));
		if (!found &&
		    !path_fmt(path, sizeof(path), "%s/%s", dir,
			      des[i]->d_name) &&
		    !pw_profile_parse_file(path, &prof, &d))
			found = same_file(prof.policy, lab->policy) &&
				same_file(prof.inventory, lab->inventory);
		pw_profile_free(&prof);
		pw_diags_free(&d);
		free(des[i]);
	}
	if (n >= 0)
		free(des);
	return found;
}

/* A product: a policy with an example inventory and a profile for it. */
static int list_products(struct lab *lab)
{
	struct dirent **des;
	char name[256];
	int n, i, count = 0;
	size_t len;

	n = scandir(lab->dir, &des, NULL, cmp_dirent);
	if (n < 0) {
		lab_fail(lab, "%s: %s", lab->dir, strerror(errno));
		return -1;
	}
	if (pw_out_is_json()) {
		pw_json_start_object(pw_out_json(), NULL);
		pw_json_start_array(pw_out_json(), "products");
	}
	for (i = 0; i < n; i++) {
		len = strlen(des[i]->d_name);
		if (len > 7 && len < sizeof(name) &&
		    !strcmp(des[i]->d_name + len - 7, ".policy")) {
			snprintf(name, sizeof(name), "%.*s", (int)len - 7,
				 des[i]->d_name);
			if (!set_product_files(lab, name) &&
			    product_has_profile(lab)) {
				pw_print_string(PW_OUT_ANY, NULL, "%s\n", name);
				count++;
			}
		}
		free(des[i]);
	}
	free(des);
	if (pw_out_is_json()) {
		pw_json_end_array(pw_out_json());
		pw_json_end_object(pw_out_json());
	}
	if (!count)
		lab_fail(lab, "no products in %s", lab->dir);
	return count ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* The command                                                         */
/* ------------------------------------------------------------------ */

static int parse_args(int argc, char **argv, struct lab_opts *o)
{
	static const struct option opts[] = {
		{ "keep", no_argument, NULL, 'k' },
		{ "dir", required_argument, NULL, 'd' },
		{ "list", no_argument, NULL, 'l' },
		{ "clean", no_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":kd:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			o->keep = true;
			break;
		case 'd':
			o->dir = optarg;
			break;
		case 'l':
			o->list = true;
			break;
		case 'c':
			o->clean = true;
			break;
		case 'h':
			pw_cli_cmd_help(&pw_cmd_lab, stdout);
			return -2;
		default:
			pw_cli_bad_option(&pw_cmd_lab, c, argv);
			return -1;
		}
	}
	if (optind < argc)
		o->product = argv[optind++];
	if (optind < argc) {
		pw_cli_err("lab: unexpected argument '%s'", argv[optind]);
		return -1;
	}
	return 0;
}

/* Everything up to the first packet: files, compile, plan.  No root. */
static int prepare(struct lab *lab, const char *product)
{
	if (set_product_files(lab, product)) {
		lab_fail(lab, "no product '%s' in %s (it needs %s.policy and "
			 "examples/%s.inventory); 'portwarden lab --list' "
			 "shows the products", product, lab->dir, product,
			 product);
		return -1;
	}
	if (read_hosts(lab) || read_targets(lab) || add_outsider(lab))
		return -1;
	return plan_flows(lab);
}

static int need_root(struct lab *lab)
{
	if (geteuid() == 0)
		return 0;
	lab_fail(lab, "needs root (network namespaces, BPF); run it with sudo");
	return -1;
}

/*
 * One lab at a time: a second one would start by removing the first's
 * namespaces.  The lock goes with the process (and its forked children).
 */
static int take_lock(struct lab *lab)
{
	int fd = open(LAB_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0) {
		lab_fail(lab, "cannot open %s: %s", LAB_LOCK, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		lab_fail(lab, "another portwarden lab is running (%s is locked)",
			 LAB_LOCK);
		close(fd);
		return -1;
	}
	return 0;
}

static void install_handlers(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	/* No SA_RESTART: a blocking wait returns, and the lab tears down. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* Build, load, drive, report: the part that needs the teardown. */
static void run_lab(struct lab *lab, const char *product)
{
	if (!pw_out_is_json())
		print_hosts_text(lab, product);
	if (build_network(lab) || load_targets(lab) || stopped(lab))
		return;
	if (start_servers(lab) || stopped(lab))
		return;
	run_flows(lab);
	if (stopped(lab))
		return;
	judge_flows(lab);
	if (!pw_out_is_json())
		print_flows_text(lab);
	show_stats(lab);
	check_counters(lab);
}

static void teardown(struct lab *lab)
{
	stop_servers(lab);
	if (lab->o.keep && !lab_stop) {
		if (!pw_out_is_json())
			printf("\nkept: namespaces %s*, portwarden loaded on %d "
			       "host%s; remove with 'portwarden lab --clean'\n",
			       LAB_PREFIX, lab->ntargets,
			       lab->ntargets == 1 ? "" : "s");
		return;
	}
	unload_targets(lab);
	delete_network(lab);
	remove_orphans();
}

static void free_lab(struct lab *lab)
{
	int i, k;

	for (i = 0; i < lab->ntargets; i++) {
		struct lab_target *t = &lab->targets[i];

		if (t->compiled)
			pw_compiled_free(&t->c);
		if (t->have_inv)
			pw_inventory_free(&t->inv);
		pw_policy_free(&t->pol);
		pw_profile_free(&t->prof);
		lab_json_free(&t->stats);
		free(t->seen);
		free(t->profile);
	}
	for (i = 0; i < lab->nhosts; i++)
		for (k = 0; k < lab->hosts[i].nroles; k++)
			free(lab->hosts[i].roles[k]);
	for (i = 0; i < lab->nfailures; i++)
		free(lab->failures[i]);
	free(lab->failures);
	free(lab->flows);
}

static int do_lab(int argc, char **argv)
{
	struct lab *lab = calloc(1, sizeof(*lab));
	const char *product;
	ssize_t n;
	int err;

	if (!lab) {
		pw_cli_err("lab: out of memory");
		return 1;
	}
	lab->sw_fd = -1;
	err = parse_args(argc, argv, &lab->o);
	if (err) {
		free(lab);
		return err == -2 ? 0 : 1;
	}
	product = lab->o.product ? lab->o.product : LAB_DEFAULT_PRODUCT;
	n = readlink("/proc/self/exe", lab->exe, sizeof(lab->exe) - 1);
	if (n < 0) {
		lab_fail(lab, "cannot find my own executable: %s",
			 strerror(errno));
		goto out;
	}
	lab->exe[n] = '\0';
	if (lab->o.clean) {
		if (need_root(lab) || take_lock(lab))
			goto out;
		n = clean_leftovers(lab, true);
		if (pw_out_is_json() && n >= 0) {
			pw_json_start_object(pw_out_json(), NULL);
			pw_json_uint(pw_out_json(), "removed_namespaces", n);
			pw_json_end_object(pw_out_json());
		} else if (n == 0) {
			printf("no lab to clean\n");
		}
		goto out;
	}
	if (find_policy_dir(lab))
		goto out;
	if (lab->o.list) {
		list_products(lab);
		goto out;
	}
	/*
	 * The loader's SSH lockout guard protects the session the operator
	 * came in on; that session does not pass through a lab namespace.
	 */
	unsetenv("SSH_CONNECTION");
	if (prepare(lab, product) || need_root(lab) || take_lock(lab))
		goto out;
	install_handlers();
	if (clean_leftovers(lab, true) >= 0)
		run_lab(lab, product);
	teardown(lab);
	if (pw_out_is_json())
		print_json(lab, product);
	else
		print_result_text(lab);
out:
	err = lab->nfailures ? 1 : 0;
	free_lab(lab);
	free(lab);
	return err;
}

const struct pw_cmd pw_cmd_lab = {
	.name = "lab",
	.usage = "lab [PRODUCT] [--keep] [--dir DIR]\n"
		 "lab --list [--dir DIR]\n"
		 "lab --clean",
	.summary = "Run a product's example site in network namespaces and show portwarden at work.",
	.help =
		"Builds one network namespace per host of the product's example inventory\n"
		"(policies/examples/PRODUCT.inventory; hosts are named in its line comments)\n"
		"plus an \"outsider\" with addresses outside it, all joined by a bridge in\n"
		"namespace pwlab-sw and addressed from 198.18.0.0/15 and 2001:db8::/32 only.\n"
		"Loads portwarden on the host of each profile in policies/profiles/ that names\n"
		"the product (portwarden load --netns), in the profile's mode: for\n"
		"replication-manager, db1 and repman1 in audit mode and bastion1 in enforce\n"
		"mode.  Then sends real TCP and UDP traffic to each loaded host: from\n"
		"sources the policy allows, from sources it does not, to loopback-only and\n"
		"to undocumented ports.  What each flow must do (pass, or be dropped by an\n"
		"enforcing host) and the counter it must land in come from the reference\n"
		"classifier.  Prints each flow, each loaded host's counters (portwarden\n"
		"stats), and tears everything down, also on Ctrl-C or failure.  Leftovers\n"
		"of an earlier run are removed first.  PRODUCT defaults to\n"
		"replication-manager.\n"
		"\n"
		"Options:\n"
		"  -k, --keep      leave the namespaces and loaded programs in place\n"
		"  -d, --dir DIR   the policies directory (default: ./policies, else\n"
		"                  " PW_POLICY_DIR ")\n"
		"  --list          the products that have an example inventory and profiles\n"
		"  --clean         remove the namespaces and pins of a kept or killed lab\n"
		"  -h, --help      this text\n"
		"\n"
		"Needs root.  Exit status: 0 when every flow passed or was dropped as the\n"
		"policy says and was counted under its key; 1 otherwise, with a line that\n"
		"names the flow and what went wrong.\n",
	.run = do_lab,
};
