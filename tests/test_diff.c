// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_diff.c - the XDP ingress and tc egress programs against the
 * reference classifier, on random and mutated frames.
 *
 * For each host configuration (the seed policies with their example
 * inventories, several role and tag sets; and randomly generated policies
 * with random inventories) frames of every shape are generated, some cut
 * short or with bytes flipped, and each goes through BPF_PROG_TEST_RUN of
 * one of the two programs (a random direction: arriving through XDP,
 * leaving through tc) and through pw_classify_dir().  They must agree on
 * the action, on which counter moved and by how much, and on the reason.
 *
 * The classifier is stateless: it judges every frame by the policy.  So
 * that the programs do too, the flow a frame may have recorded is removed
 * right after it (pw_flows is empty before every frame; checked at the end
 * of each batch), and no frame is ever taken as a reply.  Flows themselves
 * are tested in test_flow.c.  Random host configurations also turn egress
 * enforcement and the shadow judgement (of whichever policy the inactive
 * generation holds) on and off: neither may change what the policy in
 * force counts.
 *
 * Cost is kept down by reading, per frame, only the counter and the reason
 * the oracle names and comparing them with a running model; at the end of
 * each batch every counter, every reason and all of pw_unnamed are compared
 * with the model, so a counter the oracle did not name cannot move
 * unnoticed.  On a mismatch the batch is replayed frame by frame with full
 * snapshots to find the first culprit.
 *
 * Replay with PW_DIFF_SEED=N (printed at start); PW_DIFF_PACKETS=N
 * changes the frame count; PW_DIFF_DUMP=1 prints the random policies.
 * Needs root.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>

#include "pktbuild.h"
#include "profile.h"
#include "xdprun.h"

#ifndef PW_SOURCE_ROOT
#define PW_SOURCE_ROOT "."
#endif

#define DEFAULT_PACKETS 102000
#define BATCH 2000
#define MAX_CONFIGS 32
#define N_RANDOM_POLICIES 8

/* ------------------------------------------------------------------ */
/* Random numbers (xorshift64*), one stream for the whole run           */
/* ------------------------------------------------------------------ */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static uint32_t rn(uint32_t n)
{
	return n ? (uint32_t)((rnd() >> 16) % n) : 0;
}

static bool chance(unsigned pct)
{
	return rn(100) < pct;
}

/* ------------------------------------------------------------------ */
/* Host configurations                                                 */
/* ------------------------------------------------------------------ */

struct pool_entry {
	struct pw_prefix p;
	uint32_t role; /* role id in the compiled policy */
};

struct config {
	char name[160];
	char *policy_text;    /* random policies: generated text */
	char *inventory_text;
	char policy_path[512]; /* seed policies */
	char inventory_path[512];
	char *roles[4];
	int nroles;
	char *tags[16];
	int ntags;
	struct xr_policy p;
	/* addresses for sources: inventory entries and literal peers */
	struct pool_entry *pool;
	int npool;
};

static struct config configs[MAX_CONFIGS];
static int nconfigs;
static uint64_t seed;
static long total_packets, packets_run, batches_run;

static void config_free(struct config *c)
{
	xr_policy_free(&c->p);
	free(c->policy_text);
	free(c->inventory_text);
	for (int i = 0; i < c->nroles; i++)
		free(c->roles[i]);
	for (int i = 0; i < c->ntags; i++)
		free(c->tags[i]);
	free(c->pool);
	memset(c, 0, sizeof(*c));
}

/* Role id of policy role @index (0 if it has none). */
static uint32_t role_id_of(const struct pw_compiled *comp, int index)
{
	for (uint32_t id = 1; id < comp->nroles; id++)
		if (comp->role_index[id] == index)
			return id;
	return 0;
}

static void collect_pool(struct config *c)
{
	const struct pw_policy *pol = &c->p.pol;
	const struct pw_inventory *inv = &c->p.inv;
	int n = 0;

	c->pool = calloc(inv->nentries + pol->nroles + 1, sizeof(*c->pool));
	assert_non_null(c->pool);
	for (int i = 0; i < inv->nentries; i++) {
		c->pool[n].p = inv->entries[i].prefix;
		c->pool[n++].role = role_id_of(&c->p.c, inv->entries[i].role);
	}
	for (int i = 0; i < pol->nroles; i++) {
		if (pol->roles[i].implicit) {
			c->pool[n].p = pol->roles[i].literal;
			c->pool[n++].role = role_id_of(&c->p.c, i);
		}
	}
	c->npool = n;
}

static int compile_config(struct config *c)
{
	bool files = c->policy_text == NULL;

	if (xr_policy_compile(&c->p, files,
			      files ? c->policy_path : c->policy_text,
			      files ? c->inventory_path : c->inventory_text,
			      (const char *const *)c->roles, c->nroles,
			      (const char *const *)c->tags, c->ntags)) {
		if (!files)
			fprintf(stderr, "diff: random policy failed:\n%s\n--\n%s\n",
				c->policy_text, c->inventory_text);
		return -1;
	}
	collect_pool(c);
	return 0;
}

/* Declared (not implicit) role names of a parsed policy. */
static int declared_roles(const struct pw_policy *pol, const char **out,
			  int max)
{
	int n = 0;

	for (int i = 0; i < pol->nroles && n < max; i++)
		if (!pol->roles[i].implicit)
			out[n++] = pol->roles[i].name;
	return n;
}

/* The role of @pol whose hosts get the most segments, both directions. */
static const char *busiest_role(const char *policy, const char *inventory,
				const char **roles, int nr, const char **tags,
				int ntags)
{
	const char *best = roles[0];
	uint32_t most = 0;

	for (int i = 0; i < nr; i++) {
		struct xr_policy p;
		uint32_t nsegs;

		if (xr_policy_compile(&p, true, policy, inventory, &roles[i], 1,
				      tags, ntags))
			continue;
		nsegs = p.c.nsegs[PW_DIR_INGRESS] + p.c.nsegs[PW_DIR_EGRESS];
		if (nsegs > most) {
			most = nsegs;
			best = roles[i];
		}
		xr_policy_free(&p);
	}
	return best;
}

static struct config *new_config(const char *policy, const char *inventory)
{
	struct config *c;

	if (nconfigs == MAX_CONFIGS)
		return NULL;
	c = &configs[nconfigs++];
	snprintf(c->policy_path, sizeof(c->policy_path), "%s", policy);
	snprintf(c->inventory_path, sizeof(c->inventory_path), "%s",
		 inventory);
	return c;
}

static void name_config(struct config *c, const char *what)
{
	const char *base = strrchr(c->policy_path, '/');

	snprintf(c->name, sizeof(c->name), "%s %.60s role %s%s%s, %d tags", what,
		 base ? base + 1 : c->policy_path, c->roles[0],
		 c->nroles > 1 ? "," : "", c->nroles > 1 ? c->roles[1] : "",
		 c->ntags);
}

/*
 * Two hosts per seed policy besides its profiles: the role with the most
 * ingress segments with every tag on, and one or two random roles with a
 * random half of the tags.
 */
static void add_seed_configs(const char *policy, const char *inventory)
{
	struct pw_policy pol = { 0 };
	struct pw_diags d = { 0 };
	const char *roles[256], *tags[16];
	struct config *c;
	int nr, nt = 0;

	if (pw_policy_parse_file(policy, &pol, &d)) {
		pw_diags_print(&d, stderr);
		fail_msg("diff: seed policy %s does not parse", policy);
	}
	pw_diags_free(&d);
	nr = declared_roles(&pol, roles, 256);
	for (int t = 0; t < pol.ntags && t < 16; t++)
		tags[nt++] = pol.tags[t].name;
	c = nr ? new_config(policy, inventory) : NULL;
	if (c) {
		c->roles[c->nroles++] = strdup(
			busiest_role(policy, inventory, roles, nr, tags, nt));
		for (int t = 0; t < nt; t++)
			c->tags[c->ntags++] = strdup(tags[t]);
		name_config(c, "busiest");
	}
	c = nr ? new_config(policy, inventory) : NULL;
	if (c) {
		int first = rn(nr), nhost = nr > 1 && chance(50) ? 2 : 1;

		for (int k = 0; k < nhost; k++)
			c->roles[c->nroles++] = strdup(roles[(first + k) % nr]);
		for (int t = 0; t < nt; t++)
			if (chance(50))
				c->tags[c->ntags++] = strdup(tags[t]);
		name_config(c, "random");
	}
	pw_policy_free(&pol);
}

/* The hosts of policies/profiles/: the roles portwarden targets. */
static void add_profiles(void)
{
	const char *dir = PW_SOURCE_ROOT "/policies/profiles";
	struct dirent **names;
	char path[512];
	int n;

	n = scandir(dir, &names, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		const char *f = names[i]->d_name;
		size_t len = strlen(f);
		struct pw_profile prof = { 0 };
		struct pw_diags d = { 0 };
		struct config *c;

		snprintf(path, sizeof(path), "%s/%s", dir, f);
		if (len > 8 && !strcmp(f + len - 8, ".profile") &&
		    !pw_profile_parse_file(path, &prof, &d) && prof.inventory &&
		    (c = new_config(prof.policy, prof.inventory))) {
			for (int k = 0; k < prof.nroles && k < 4; k++)
				c->roles[c->nroles++] = strdup(prof.roles[k]);
			for (int k = 0; k < prof.ntags && k < 16; k++)
				c->tags[c->ntags++] = strdup(prof.tags[k]);
			snprintf(c->name, sizeof(c->name), "profile %s", f);
		}
		pw_profile_free(&prof);
		pw_diags_free(&d);
		free(names[i]);
	}
	free(n >= 0 ? names : NULL);
}

static void add_seed_policies(void)
{
	const char *dir = PW_SOURCE_ROOT "/policies";
	char policy[512], inventory[512];
	struct dirent **names;
	int n;

	n = scandir(dir, &names, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		const char *f = names[i]->d_name;
		size_t len = strlen(f);

		if (len > 7 && !strcmp(f + len - 7, ".policy")) {
			snprintf(policy, sizeof(policy), "%s/%s", dir, f);
			snprintf(inventory, sizeof(inventory),
				 "%s/examples/%.*s.inventory", dir,
				 (int)(len - 7), f);
			if (!access(inventory, R_OK))
				add_seed_configs(policy, inventory);
		}
		free(names[i]);
	}
	free(n >= 0 ? names : NULL);
}

/* ------------------------------------------------------------------ */
/* Random policies                                                     */
/* ------------------------------------------------------------------ */

struct text {
	char *s;
	size_t len, cap;
};

__attribute__((format(printf, 2, 3))) static void put(struct text *t,
						      const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < t->cap - t->len)
			break;
		t->cap = t->cap * 2 + 256;
		t->s = realloc(t->s, t->cap);
		assert_non_null(t->s);
	}
	t->len += n;
}

/* IPv6 prefix lengths a random policy may use (at most 16 distinct). */
static const uint8_t v6_plens[] = { 32, 40, 48, 56, 60, 64, 80, 96,
				    112, 120, 124, 127, 128 };

/* A prefix the random policy already used (an address has one role). */
static struct pw_prefix used[512];
static int nused;

static bool prefix_used(const struct pw_prefix *p)
{
	for (int i = 0; i < nused; i++)
		if (pw_prefix_equal(&used[i], p))
			return true;
	return false;
}

static void mask_prefix(struct pw_prefix *p)
{
	int bytes = p->family == 4 ? 4 : 16;

	for (int i = 0; i < bytes; i++) {
		int bits = p->plen > i * 8 ? p->plen - i * 8 : 0;

		if (bits < 8)
			p->addr[i] &= (uint8_t)(0xff00 >> bits);
	}
}

/*
 * A fresh prefix inside the test ranges: IPv4 in 198.18.0.0/15 with a
 * length of 15-32 (mostly long), IPv6 in 2001:db8::/32.  Literal peers
 * (@literal) take the upper half of each range so that random lengths
 * still nest around inventory entries.
 */
static void random_prefix(int family, bool literal, struct pw_prefix *p)
{
	do {
		memset(p, 0, sizeof(*p));
		p->family = family;
		if (family == 4) {
			static const uint8_t lens[] = { 15, 16, 20, 22, 24, 24,
							26, 28, 30, 31, 32, 32,
							32 };

			p->plen = lens[rn(sizeof(lens))];
			p->addr[0] = 198;
			p->addr[1] = 18 + (literal ? 1 : rn(2));
			p->addr[2] = (uint8_t)(literal ? 128 + rn(8) : rn(8));
			p->addr[3] = (uint8_t)rn(256);
			if (literal && p->plen < 17)
				p->plen = 17 + rn(16);
		} else {
			p->plen = v6_plens[rn(sizeof(v6_plens))];
			p->addr[0] = 0x20;
			p->addr[1] = 0x01;
			p->addr[2] = 0x0d;
			p->addr[3] = 0xb8;
			p->addr[4] = (uint8_t)(literal ? 0x80 : 0) | rn(4);
			for (int i = 5; i < 16; i++)
				p->addr[i] = (uint8_t)(rn(4) ? 0 : rnd());
			if (literal && p->plen < 33)
				p->plen = 48;
		}
		mask_prefix(p);
	} while (prefix_used(p) && nused < 512);
	if (nused < 512)
		used[nused++] = *p;
}

static void put_prefix(struct text *t, const struct pw_prefix *p)
{
	char buf[PW_PREFIX_STRLEN];

	pw_prefix_format(p, buf, sizeof(buf));
	put(t, "%s", buf);
}

static int range_piece(const struct pw_prefix *p, void *arg)
{
	struct pw_prefix *pieces = arg;
	int n = pieces[0].plen;

	if (n == 63 || prefix_used(p))
		return -1;
	pieces[1 + n] = *p;
	pieces[0].plen = (uint8_t)(n + 1);
	return 0;
}

/*
 * An IPv4 range FIRST-LAST, if none of the CIDRs it splits into is taken
 * (an address has one role).  Returns whether it wrote one.
 */
static bool put_range(struct text *t)
{
	struct pw_prefix first = { .family = 4, .plen = 32 }, last, pieces[64];
	const char *why;
	char a[PW_PREFIX_STRLEN], b[PW_PREFIX_STRLEN];

	first.addr[0] = 198;
	first.addr[1] = 18 + rn(2);
	first.addr[2] = (uint8_t)rn(8);
	first.addr[3] = (uint8_t)rn(256);
	last = first;
	last.addr[3] = (uint8_t)(first.addr[3] + rn(256 - first.addr[3]));
	memset(pieces, 0, sizeof(pieces));
	if (pw_range_to_prefixes(&first, &last, range_piece, pieces, &why))
		return false;
	for (int i = 0; i < pieces[0].plen && nused < 512; i++)
		used[nused++] = pieces[1 + i];
	pw_prefix_format(&first, a, sizeof(a));
	pw_prefix_format(&last, b, sizeof(b));
	/* the canonical text keeps "/32"; a range takes plain addresses */
	*strchr(a, '/') = '\0';
	*strchr(b, '/') = '\0';
	put(t, "%s-%s", a, b);
	return true;
}

/* Ports that several rules share, so that segments overlap and split. */
static uint16_t hot_ports[12];

static void put_port_item(struct text *t, bool icmp)
{
	unsigned max = icmp ? 255 : 65535, lo, hi;

	switch (rn(5)) {
	case 0: /* a wide range */
		lo = 1 + rn(max);
		hi = lo + rn(max - lo + 1);
		break;
	case 1: /* a short range */
		lo = icmp ? rn(250) : 1 + rn(65000);
		hi = lo + rn(6);
		break;
	case 2:
		lo = hi = icmp ? rn(256) : 1 + rn(65535);
		break;
	default:
		lo = hot_ports[rn(12)];
		if (icmp)
			lo &= 0xff;
		hi = lo + (chance(30) ? rn(4) : 0);
		break;
	}
	if (lo > max)
		lo = max;
	if (hi > max)
		hi = max;
	if (!icmp && lo == 0)
		lo = 1;
	if (hi < lo)
		hi = lo;
	if (lo == hi)
		put(t, "%u", lo);
	else
		put(t, "%u-%u", lo, hi);
}

static void put_ports(struct text *t, bool icmp)
{
	int n = 1 + rn(3);

	for (int i = 0; i < n; i++) {
		if (i)
			put(t, ",");
		put_port_item(t, icmp);
	}
}

/*
 * Peers: "any", or 1-3 of roles and literal addresses.  @host_bias names
 * a host role to include often, so that rules apply at the host.
 */
static void put_peers(struct text *t, int nroles, int host_bias)
{
	int n;

	if (chance(12)) {
		put(t, "any");
		return;
	}
	n = 1 + rn(3);
	for (int i = 0; i < n; i++) {
		struct pw_prefix p;

		if (i)
			put(t, ",");
		if (i == 0 && host_bias >= 0 && chance(65)) {
			put(t, "r%d", host_bias);
		} else if (chance(15)) {
			random_prefix(chance(50) ? 4 : 6, true, &p);
			put_prefix(t, &p);
		} else {
			put(t, "r%d", rn(nroles));
		}
	}
}

static const char *const port_protos[] = { "tcp", "udp", "sctp", "tcp,udp",
					   "udp,sctp", "tcp,udp,sctp" };

static void put_options(struct text *t, int ntags, bool loopback)
{
	if (!loopback && chance(10))
		put(t, " bidirectional");
	if (ntags && chance(25))
		put(t, " if t%d", rn(ntags));
	if (chance(20))
		put(t, " mode %s", chance(50) ? "audit" : "enforce");
	put(t, " note \"random rule\"");
}

static void put_rule(struct text *t, int nroles, int ntags, int host)
{
	int kind = rn(10);

	if (kind == 0) {
		put(t, "loopback %s ", port_protos[rn(6)]);
		put_ports(t, false);
		put(t, " on r%d", chance(70) ? host : (int)rn(nroles));
		put_options(t, ntags, true);
	} else {
		bool icmp = kind == 1 || kind == 2;

		put(t, "allow %s ", icmp ? (kind == 1 ? "icmp" : "icmpv6") :
					   port_protos[rn(6)]);
		if (!icmp || chance(70)) {
			put_ports(t, icmp);
			put(t, " ");
		}
		put(t, "from ");
		put_peers(t, nroles, -1);
		put(t, " to ");
		put_peers(t, nroles, host);
		put_options(t, ntags, false);
	}
	put(t, "\n");
}

/* "r3", "t1": names of random roles and tags. */
static char *name_of(char kind, int i)
{
	char buf[16];
	char *s;

	snprintf(buf, sizeof(buf), "%c%d", kind, i);
	s = strdup(buf);
	assert_non_null(s);
	return s;
}

static void add_random_config(int index)
{
	struct config *c = &configs[nconfigs++];
	struct text pol = { 0 }, inv = { 0 };
	int nroles = 3 + rn(8), ntags = rn(3), nrules = 8 + rn(40);
	int host = rn(nroles);

	nused = 0;
	for (int i = 0; i < 12; i++)
		hot_ports[i] = (uint16_t)(1 + rn(65535));
	put(&pol, "policy rnd%d \"random policy %d\"\n", index, index);
	for (int i = 0; i < nroles; i++)
		put(&pol, "role r%d \"random role\"\n", i);
	for (int i = 0; i < ntags; i++)
		put(&pol, "tag t%d \"random tag\"\n", i);
	for (int i = 0; i < nrules; i++)
		put_rule(&pol, nroles, ntags, host);

	put(&inv, "# random inventory %d\n", index);
	for (int r = 0; r < nroles; r++) {
		int lines = rn(4);

		for (int l = 0; l < lines; l++) {
			struct pw_prefix p;

			put(&inv, "r%d ", r);
			if (chance(15) && put_range(&inv)) {
				put(&inv, "\n");
				continue;
			}
			random_prefix(chance(50) ? 4 : 6, false, &p);
			put_prefix(&inv, &p);
			put(&inv, "\n");
		}
	}
	c->policy_text = pol.s;
	c->inventory_text = inv.s;
	c->roles[c->nroles++] = name_of('r', host);
	if (chance(30) && nroles > 1)
		c->roles[c->nroles++] = name_of('r', (host + 1) % nroles);
	for (int i = 0; i < ntags; i++)
		if (chance(60))
			c->tags[c->ntags++] = name_of('t', i);
	snprintf(c->name, sizeof(c->name),
		 "random policy %d (%d roles, %d rules, %d tags on)", index,
		 nroles, nrules, c->ntags);
}

/* ------------------------------------------------------------------ */
/* Random frames                                                       */
/* ------------------------------------------------------------------ */

/*
 * What a frame aims at: sometimes a segment of its direction and a role
 * that a rule allows there, so that allowed traffic is as common as
 * violations.
 */
struct aim {
	bool on;
	bool answer; /* egress: from the port (an ingress segment), not to it */
	uint8_t proto;
	uint16_t port;
	int role; /* role id to take the peer from, or -1 */
};

static void choose_aim(const struct config *c, unsigned dir, struct aim *a)
{
	const struct pw_compiled *comp = &c->p.c;
	uint32_t n = comp->nsegs[dir], seg, allowed[PW_MAX_ROLES];
	const struct pw_counter_key *k;
	int nallowed = 0;

	memset(a, 0, sizeof(*a));
	a->role = -1;
	if (n <= 1 || !chance(40))
		return;
	seg = 1 + rn(n - 1);
	k = &comp->segs[dir][seg];
	a->on = true;
	a->proto = k->proto;
	a->port = (uint16_t)(k->port_lo + rn(k->port_hi - k->port_lo + 1));
	for (uint32_t r = 0; r < comp->nroles; r++) {
		const struct pw_rule_entry *e =
			pw_compiled_entry(comp, dir, seg, r);

		if (e && (e->flags & PW_ENTRY_ALLOW))
			allowed[nallowed++] = r;
	}
	if (nallowed && chance(85))
		a->role = (int)allowed[rn(nallowed)];
}

/* A pool entry of @role (any role if -1) and @family (any if 0). */
static const struct pool_entry *pick_pool(const struct config *c, int role,
					  int family)
{
	int start = rn(c->npool ? c->npool : 1);

	for (int i = 0; i < c->npool; i++) {
		const struct pool_entry *e = &c->pool[(start + i) % c->npool];

		if ((role < 0 || e->role == (uint32_t)role) &&
		    (!family || e->p.family == family))
			return e;
	}
	return NULL;
}

/*
 * A random address of @family: in or next to an inventory prefix (of
 * @role, when >= 0) or anywhere in the test range.
 */
static void random_addr(const struct config *c, int family, int role,
			uint8_t *out)
{
	int bytes = family == 4 ? 4 : 16, tries = 4;

	while (c->npool && (role >= 0 || chance(70)) && tries--) {
		const struct pool_entry *pe = pick_pool(c, role, family);
		const struct pw_prefix *p = pe ? &pe->p : NULL;
		int edge = role >= 0 ? 0 : rn(6);

		if (!p)
			break;
		memcpy(out, p->addr, bytes);
		/* host bits: random, all zero, all one, or one step outside */
		for (int bit = p->plen; bit < bytes * 8; bit++) {
			bool one = edge == 1 || edge == 3 ? false :
				   edge == 2 || edge == 4 ? true :
							    (rnd() >> 40) & 1;

			if (one)
				out[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
		}
		if (edge == 3 || edge == 4) {
			/* the address just before or after the prefix */
			int i = bytes - 1;

			if (edge == 3)
				while (i >= 0 && out[i]-- == 0)
					i--;
			else
				while (i >= 0 && ++out[i] == 0)
					i--;
		}
		/* stay inside the test ranges */
		if (family == 4 && out[0] == 198 && (out[1] & 0xfe) == 18)
			return;
		if (family == 6 && !memcmp(out, "\x20\x01\x0d\xb8", 4))
			return;
	}
	if (family == 4) {
		out[0] = 198;
		out[1] = 18 + rn(2);
		out[2] = (uint8_t)(chance(50) ? rn(8) : rnd());
		out[3] = (uint8_t)rnd();
	} else {
		memcpy(out, "\x20\x01\x0d\xb8", 4);
		for (int i = 4; i < 16; i++)
			out[i] = (uint8_t)(chance(60) ? 0 : rnd());
	}
}

/* A destination port or ICMP type for IP protocol @proto in @dir. */
static uint16_t random_port(const struct pw_compiled *comp, unsigned dir,
			    uint8_t proto)
{
	static const uint16_t icmp_types[] = { 0, 2, 3, 3, 8, 11, 128, 129,
					       133, 134, 135, 136, 137, 138,
					       130, 131, 132, 142, 143, 144,
					       255 };
	uint32_t n = comp->nsegs[dir];

	if (n > 1 && chance(70)) {
		for (int tries = 0; tries < 8; tries++) {
			const struct pw_counter_key *s =
				&comp->segs[dir][1 + rn(n - 1)];

			if (s->proto != proto && !chance(10))
				continue;
			switch (rn(5)) {
			case 0:
				return s->port_lo;
			case 1:
				return s->port_hi;
			case 2:
				return (uint16_t)(s->port_lo - 1);
			case 3:
				return (uint16_t)(s->port_hi + 1);
			default:
				return (uint16_t)(s->port_lo +
						  rn(s->port_hi - s->port_lo + 1));
			}
		}
	}
	if (proto == 1 || proto == 58)
		return chance(60) ? icmp_types[rn(16)] : (uint16_t)rn(256);
	return (uint16_t)rnd();
}

static uint8_t random_l4_proto(int family)
{
	static const uint8_t odd[] = { 0, 2, 4, 41, 43, 44, 47, 50, 51, 59,
				       60, 89, 103, 136, 255 };
	unsigned x = rn(100);

	if (x < 35)
		return 6;
	if (x < 60)
		return 17;
	if (x < 70)
		return 132;
	if (x < 82)
		return family == 4 ? (chance(90) ? 1 : 58) :
				     (chance(90) ? 58 : 1);
	if (x < 92)
		return odd[rn(sizeof(odd))];
	return (uint8_t)rnd();
}

static void random_l4(struct pb *p, const struct pw_compiled *comp,
		      unsigned dir, uint8_t proto)
{
	uint16_t port = random_port(comp, dir, proto);

	switch (proto) {
	case 6:
		pb_tcp(p, (uint16_t)rnd(), port);
		break;
	case 17:
		pb_udp(p, (uint16_t)rnd(), port);
		break;
	case 132:
		pb_sctp(p, (uint16_t)rnd(), port);
		break;
	case 1:
		pb_icmp(p, (uint8_t)port,
			port == 3 && chance(50) ? 4 : (uint8_t)rn(16));
		break;
	case 58:
		pb_icmp6(p, (uint8_t)port, (uint8_t)rn(4));
		break;
	default:
		pb_l4_raw(p, proto, rn(24), (uint8_t)rnd());
		break;
	}
}

/*
 * The L4 header of an aimed frame: to the aimed port, or for an answer
 * from it (to any port; an ICMP answer is an echo reply).
 */
static void aimed_l4(struct pb *p, const struct aim *a)
{
	uint16_t sport = (uint16_t)rnd(), dport = a->port;
	uint8_t type = (uint8_t)a->port;

	if (a->answer) {
		sport = a->port;
		dport = (uint16_t)rnd();
		type = a->proto == 1 ? 0 : 129;
	}
	switch (a->proto) {
	case 6:
		pb_tcp(p, sport, dport);
		if (a->answer)
			pb_tcp_flags(p, chance(50) ? 0x12 : 0x10);
		break;
	case 17:
		pb_udp(p, sport, dport);
		break;
	case 132:
		pb_sctp(p, sport, dport);
		break;
	case 1:
		pb_icmp(p, type, (uint8_t)rn(16));
		break;
	default:
		pb_icmp6(p, type, (uint8_t)rn(4));
		break;
	}
}

static void random_v6_ext(struct pb *p)
{
	static const uint8_t types[] = { PB_V6_HOP, PB_V6_ROUTING,
					 PB_V6_DSTOPTS, PB_V6_AH,
					 PB_V6_FRAGMENT };
	uint8_t t = types[rn(5)];

	/* BPF_PROG_TEST_RUN takes a frame of up to about 3.5 KB */
	if (p->len > 2000)
		return;
	if (t == PB_V6_FRAGMENT)
		pb_v6_frag(p, chance(60) ? 0 : (uint16_t)rn(8192), chance(50));
	else if (t == PB_V6_AH)
		pb_v6_ext(p, t, 12 + 4 * rn(14));
	else
		pb_v6_ext(p, t, 8 + 8 * rn(chance(80) ? 4 : 40));
}

/* Address fields of the frame, restored after byte flips. */
struct addr_span {
	size_t off, len;
};

/*
 * The IP header (and what follows) of a frame in direction @dir: the peer,
 * the source of an arriving frame or the destination of a leaving one,
 * has the aimed role; the host's side has any address.
 */
static void random_ip(struct pb *p, const struct config *c, unsigned dir,
		      int family, const struct aim *aim, struct addr_span *span)
{
	uint8_t peer[16], local[16];
	const uint8_t *src = dir == PW_DIR_INGRESS ? peer : local;
	const uint8_t *dst = dir == PW_DIR_INGRESS ? local : peer;

	random_addr(c, family, aim->role, peer);
	random_addr(c, family, -1, local);
	span->off = p->len + (family == 4 ? 12 : 8);
	span->len = family == 4 ? 8 : 32;
	if (family == 4) {
		pb_ipv4_opts(p, src, dst, chance(75) ? 0 : 4 * rn(11));
		if (chance(8))
			pb_ipv4_frag(p, 0, true);
		else if (chance(8))
			pb_ipv4_frag(p, (uint16_t)(1 + rn(8191)), chance(50));
	} else {
		int n = chance(50) ? 0 : chance(70) ? 1 + rn(3) : 4 + rn(5);

		pb_ipv6(p, src, dst);
		for (int i = 0; i < n; i++)
			random_v6_ext(p);
	}
	if (aim->on)
		aimed_l4(p, aim);
	else
		random_l4(p, &c->p.c, dir, random_l4_proto(family));
	/* now and then a TCP segment that is not a SYN */
	if (p->l4_proto == 6 && chance(30)) {
		static const uint8_t flags[] = { 0x10, 0x12, 0x04, 0x14, 0x11,
						 0x01, 0x18, 0x00, 0xff };

		pb_tcp_flags(p, flags[rn(sizeof(flags))]);
	}
}

/* A random frame, seen in direction @dir. */
static void random_frame(const struct config *c, unsigned dir, struct pb *p)
{
	struct addr_span span = { 0, 0 };
	uint8_t saved[32];
	unsigned x = rn(100);
	struct aim aim;
	const struct pool_entry *pe;
	int ntags = chance(70) ? 0 : chance(40) ? 1 : chance(70) ? 2 : 3;

	pb_init(p);
	pb_eth(p);
	for (int i = 0; i < ntags; i++)
		pb_vlan(p, chance(50) ? PB_ETH_P_8021Q : PB_ETH_P_8021AD,
			(uint16_t)rn(4096));
	/* an egress frame may answer what an ingress rule lets in */
	if (dir == PW_DIR_EGRESS && chance(20)) {
		choose_aim(c, PW_DIR_INGRESS, &aim);
		aim.answer = aim.on;
	} else {
		choose_aim(c, dir, &aim);
	}
	if (aim.on && x < 90) {
		/* the family of an address of the role, else by the protocol */
		pe = aim.role >= 0 ? pick_pool(c, aim.role, 0) : NULL;
		x = pe ? (pe->p.family == 4 ? 0 : 50) :
		    aim.proto == 1 ? 0 : aim.proto == 58 ? 50 : x;
	}
	if (x < 45) {
		random_ip(p, c, dir, 4, &aim, &span);
	} else if (x < 90) {
		random_ip(p, c, dir, 6, &aim, &span);
	} else if (x < 93) {
		pb_arp(p);
	} else {
		static const uint16_t types[] = { 0x0800, 0x86dd, 0x8100,
						  0x88a8, 0x88cc, 0x8847,
						  0x0000, 0xffff };

		pb_set_next(p, chance(70) ? types[rn(8)] : (uint16_t)rnd());
		for (size_t n = rn(80); n--;)
			p->buf[p->len++] = (uint8_t)rnd();
	}
	if (chance(40))
		pb_payload(p, rn(64));
	pb_finish(p);

	/* mutations: byte flips in the headers, then a cut */
	if (chance(12)) {
		size_t hdr = p->len < 128 ? p->len : 128;
		int flips = 1 + rn(4);

		memcpy(saved, p->buf + span.off, span.len);
		for (int i = 0; i < flips; i++) {
			size_t at = rn((uint32_t)hdr);

			p->buf[at] = chance(50) ? (uint8_t)rnd() :
						  p->buf[at] ^ (uint8_t)(1 << rn(8));
		}
		memcpy(p->buf + span.off, saved, span.len);
	}
	if (chance(15) && p->len > 14)
		p->len = 14 + rn((uint32_t)(p->len - 14));
}

/* ------------------------------------------------------------------ */
/* The model: what the counters must hold since the batch began         */
/* ------------------------------------------------------------------ */

#define MODEL_HASH 8192

struct model {
	struct pw_counter reasons[PW_NDIR * PW_NREASON]; /* pw_reason_index */
	struct pw_counter *counters;
	uint32_t ncounters;
	struct xr_unnamed_entry unnamed[MODEL_HASH];
	bool used[MODEL_HASH];
	int nunnamed;
};

static struct model M;

static void model_reset(const struct pw_compiled *comp)
{
	free(M.counters);
	memset(&M, 0, sizeof(M));
	M.ncounters = comp->nslots * PW_NVERDICT;
	M.counters = calloc(M.ncounters ? M.ncounters : 1, sizeof(*M.counters));
	assert_non_null(M.counters);
}

static struct pw_counter *model_unnamed(const struct pw_counter_key *k,
					bool create)
{
	uint32_t h = 2166136261u;
	const uint8_t *b = (const uint8_t *)k;

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ b[i]) * 16777619u;
	for (uint32_t i = 0; i < MODEL_HASH; i++) {
		uint32_t at = (h + i) % MODEL_HASH;

		if (!M.used[at]) {
			if (!create)
				return NULL;
			assert_true(M.nunnamed < MODEL_HASH / 2);
			M.used[at] = true;
			M.unnamed[at].key = *k;
			M.nunnamed++;
			return &M.unnamed[at].sum;
		}
		if (!memcmp(&M.unnamed[at].key, k, sizeof(*k)))
			return &M.unnamed[at].sum;
	}
	return NULL;
}

static void bump(struct pw_counter *c, uint32_t len)
{
	c->packets++;
	c->bytes += len;
}

static const struct pw_counter *model_apply(const struct pw_classify_result *r)
{
	bump(&M.reasons[pw_reason_index(r->dir, r->reason)], r->len);
	if (r->counter == PW_COUNTER_SLOT) {
		assert_true(r->counter_index < M.ncounters);
		bump(&M.counters[r->counter_index], r->len);
		return &M.counters[r->counter_index];
	}
	if (r->counter == PW_COUNTER_UNNAMED) {
		struct pw_counter *u = model_unnamed(&r->key, true);

		bump(u, r->len);
		return u;
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Running and comparing                                               */
/* ------------------------------------------------------------------ */

static struct xr X;

struct frame {
	uint32_t len;
	uint8_t dir; /* enum pw_dir: which program runs it */
	uint8_t b[PB_MAX];
};

static struct frame *batch;

/* The oracle's answer for frame @i of the batch. */
static void classify_frame(int i, struct pw_classify_result *r)
{
	pw_classify_dir(X.c, &X.cfg, xr_now(), batch[i].dir, batch[i].b,
			batch[i].len, r);
}

static bool is_echo(uint8_t ipproto, uint16_t type)
{
	if (ipproto == PW_IPPROTO_ICMP)
		return type == 0 || type == 8;
	return ipproto == PW_IPPROTO_ICMPV6 && (type == 128 || type == 129);
}

/*
 * Remove the flow the frame of @r may have recorded, so that the next
 * frame meets an empty table as the stateless classifier assumes.  The
 * key is built from what the classifier parsed, as the program builds it
 * (see pw_flow_key).  An echo flow is keyed by the echo identifier, which
 * the classifier does not report: after one of those (rare) frames the
 * whole table is emptied instead.
 */
static void forget_flow(const struct pw_classify_result *r)
{
	bool in = r->dir == PW_DIR_INGRESS;
	struct pw_flow_key k;

	if (r->reason != PW_REASON_CLASSIFIED &&
	    r->reason != PW_REASON_UNNAMED_FULL)
		return;
	if (is_echo(r->ipproto, r->port)) {
		assert_int_equal(pw_maps_reset_flows(&X.m), 0);
		return;
	}
	if (r->ipproto != PW_IPPROTO_TCP && r->ipproto != PW_IPPROTO_UDP &&
	    r->ipproto != PW_IPPROTO_SCTP)
		return;
	memset(&k, 0, sizeof(k));
	memcpy(k.local, in ? r->daddr : r->saddr, sizeof(k.local));
	memcpy(k.remote, in ? r->saddr : r->daddr, sizeof(k.remote));
	k.lport = in ? r->port : r->sport;
	k.rport = in ? r->sport : r->port;
	k.proto = r->ipproto;
	k.family = r->family;
	if (bpf_map_delete_elem(X.m.flows, &k) && errno != ENOENT)
		fail_msg("diff: deleting a flow: %s", strerror(errno));
}

/* pw_flows must be empty between frames: else forget_flow() missed one. */
static bool flows_empty(void)
{
	struct pw_flow_key k;

	if (bpf_map_get_next_key(X.m.flows, NULL, &k))
		return true;
	fprintf(stderr,
		"diff: a flow was left in pw_flows: proto %u family %u "
		"lport %u rport %u\n",
		k.proto, k.family, k.lport, k.rport);
	return false;
}

static void print_mismatch(const char *what, const struct config *c,
			   long index, const uint8_t *pkt, uint32_t len,
			   const struct pw_classify_result *r, int retval)
{
	char hex[3 * PB_MAX + 1], text[256];

	xr_result_text(r, text, sizeof(text));
	fprintf(stderr,
		"diff: MISMATCH (%s) seed=%llu config '%s' packet #%ld\n"
		"  host mode %u deadline %llu unchecked_drop 0x%x flags 0x%x\n"
		"  oracle:  %s\n  program: action %s\n  frame (%u bytes):\n%s\n",
		what, (unsigned long long)seed, c->name, index, X.cfg.mode,
		(unsigned long long)X.cfg.enforce_deadline_ns,
		X.cfg.unchecked_drop, X.cfg.flags, text,
		retval == PW_XDP_DROP ? "DROP" :
		retval == PW_XDP_PASS ? "PASS" : "?",
		len, pb_hex(pkt, len, hex));
}

/*
 * An egress frame the kernel will not run through tc (see xr_tc_refuses):
 * the test run must say so, and the frame counts nowhere.
 */
static bool refused(int i)
{
	int retval;

	if (batch[i].dir != PW_DIR_EGRESS ||
	    !xr_tc_refuses(batch[i].b, batch[i].len))
		return false;
	assert_int_equal(xr_run_tc(&X, batch[i].b, batch[i].len, &retval),
			 -EINVAL);
	return true;
}

/*
 * Replay the batch so far with full snapshots: the first frame whose
 * counters do not move as the oracle says is the culprit.
 */
static void pinpoint(const struct config *c, int upto)
{
	struct pw_classify_result r;
	struct xr_snap before, after;
	char why[256];
	int retval = -1;

	assert_int_equal(pw_maps_reset_counters(&X.m), 0);
	assert_int_equal(pw_maps_reset_flows(&X.m), 0);
	for (int i = 0; i <= upto; i++) {
		if (refused(i))
			continue;
		classify_frame(i, &r);
		assert_int_equal(xr_snap_take(&X, &before), 0);
		assert_int_equal(xr_run_dir(&X, batch[i].dir, batch[i].b,
					    batch[i].len, &retval),
				 0);
		assert_int_equal(xr_snap_take(&X, &after), 0);
		forget_flow(&r);
		if (retval != r.action ||
		    !xr_snap_delta_ok(&before, &after, &r, why, sizeof(why))) {
			if (retval == r.action)
				fprintf(stderr, "diff: counters: %s\n", why);
			print_mismatch("first culprit in the batch", c, i,
				       batch[i].b, batch[i].len, &r, retval);
			xr_snap_free(&before);
			xr_snap_free(&after);
			return;
		}
		xr_snap_free(&before);
		xr_snap_free(&after);
	}
	fprintf(stderr, "diff: replay of the batch found no culprit\n");
}

/* What the run covered, printed at the end. */
static long by_reason[PW_NREASON], by_counter[3], by_verdict[PW_NVERDICT],
	by_action[3], by_family[7], by_dir[PW_NDIR], refused_frames;

static void tally(const struct pw_classify_result *r)
{
	by_dir[r->dir]++;
	by_reason[r->reason]++;
	by_counter[r->counter]++;
	if (r->counter != PW_COUNTER_NONE)
		by_verdict[r->verdict]++;
	by_action[r->action == PW_XDP_DROP ? 1 : 2]++;
	by_family[r->family]++;
}

static void print_tally(void)
{
	fprintf(stderr, "diff: reasons:");
	for (int i = 0; i < PW_NREASON; i++)
		fprintf(stderr, " %s %ld", pw_reason_name(i), by_reason[i]);
	fprintf(stderr,
		"\ndiff: counters: slot %ld, unnamed %ld, none %ld; verdicts: allow %ld, audit %ld, drop %ld, reply %ld; actions: pass %ld, drop %ld; ipv4 %ld, ipv6 %ld; ingress %ld, egress %ld\n",
		by_counter[PW_COUNTER_SLOT], by_counter[PW_COUNTER_UNNAMED],
		by_counter[PW_COUNTER_NONE], by_verdict[PW_VERDICT_ALLOW],
		by_verdict[PW_VERDICT_AUDIT], by_verdict[PW_VERDICT_DROP],
		by_verdict[PW_VERDICT_REPLY],
		by_action[2], by_action[1], by_family[4], by_family[6],
		by_dir[PW_DIR_INGRESS], by_dir[PW_DIR_EGRESS]);
	fprintf(stderr,
		"diff: %ld egress frames too short for an skb test run\n",
		refused_frames);
}

static bool same(const struct pw_counter *a, const struct pw_counter *b)
{
	return a->packets == b->packets && a->bytes == b->bytes;
}

/* One frame: program and oracle agree, per the model. */
static bool check_one(const struct config *c, int i)
{
	struct pw_classify_result r;
	const struct pw_counter *want;
	struct pw_counter got = { 0, 0 };
	int retval = -1;

	if (refused(i)) {
		refused_frames++;
		return true;
	}
	classify_frame(i, &r);
	want = model_apply(&r);
	tally(&r);
	assert_int_equal(xr_run_dir(&X, batch[i].dir, batch[i].b, batch[i].len,
				    &retval),
			 0);
	forget_flow(&r);
	if (retval != r.action) {
		print_mismatch("action", c, i, batch[i].b, batch[i].len, &r,
			       retval);
		return false;
	}
	if (want) {
		assert_int_equal(xr_read_result_counter(&X, &r, &got), 0);
		if (!same(&got, want)) {
			fprintf(stderr,
				"diff: counter holds {%llu, %llu}, model {%llu, %llu}\n",
				(unsigned long long)got.packets,
				(unsigned long long)got.bytes,
				(unsigned long long)want->packets,
				(unsigned long long)want->bytes);
			print_mismatch("counter", c, i, batch[i].b,
				       batch[i].len, &r, retval);
			return false;
		}
	}
	assert_int_equal(xr_read_reason(&X, pw_reason_index(r.dir, r.reason),
				       &got),
			 0);
	if (!same(&got, &M.reasons[pw_reason_index(r.dir, r.reason)])) {
		print_mismatch("reason counter", c, i, batch[i].b,
			       batch[i].len, &r, retval);
		return false;
	}
	return true;
}

static int unnamed_compare_cb(const struct pw_counter_key *key,
			      const struct pw_counter *sum, void *arg)
{
	const struct pw_counter *want = model_unnamed(key, false);
	int *seen = arg;

	(*seen)++;
	if (!want || !same(want, sum)) {
		fprintf(stderr,
			"diff: pw_unnamed {dir %u proto %u role %u port %u verdict %u} holds {%llu, %llu}, model %s\n",
			key->dir, key->proto, key->role, key->port_lo,
			key->verdict,
			(unsigned long long)sum->packets,
			(unsigned long long)sum->bytes,
			want ? "differs" : "has no such key");
		return -1;
	}
	return 0;
}

/* End of batch: every counter equals the model. */
static bool check_all(void)
{
	struct pw_counter got = { 0, 0 };
	int seen = 0;

	for (uint32_t i = 0; i < PW_NDIR * PW_NREASON; i++) {
		assert_int_equal(xr_read_reason(&X, i, &got), 0);
		if (!same(&got, &M.reasons[i])) {
			fprintf(stderr,
				"diff: reason %s (%s) differs from the model\n",
				pw_reason_name(i % PW_NREASON),
				i / PW_NREASON == PW_DIR_EGRESS ? "egress" :
								  "ingress");
			return false;
		}
	}
	for (uint32_t i = 0; i < M.ncounters; i++) {
		assert_int_equal(xr_read_counter(&X, i, &got), 0);
		if (!same(&got, &M.counters[i])) {
			fprintf(stderr,
				"diff: counter %u (slot %u verdict %u) holds {%llu, %llu}, model {%llu, %llu}\n",
				i, i / PW_NVERDICT, i % PW_NVERDICT,
				(unsigned long long)got.packets,
				(unsigned long long)got.bytes,
				(unsigned long long)M.counters[i].packets,
				(unsigned long long)M.counters[i].bytes);
			return false;
		}
	}
	if (pw_maps_foreach_unnamed(&X.m, unnamed_compare_cb, &seen))
		return false;
	if (seen != M.nunnamed) {
		fprintf(stderr, "diff: pw_unnamed has %d keys, model %d\n",
			seen, M.nunnamed);
		return false;
	}
	return flows_empty();
}

/* A random host configuration for one batch. */
static void random_host_config(void)
{
	uint32_t mode = chance(50) ? PW_MODE_ENFORCE : PW_MODE_AUDIT;
	uint64_t deadline = 0;
	uint32_t mask = PW_UNCHECKED_DROP_DEFAULT;

	if (chance(8))
		mode = chance(50) ? 0 : 3 + rn(100); /* invalid: audit */
	if (chance(15))
		deadline = 1;
	else if (chance(15))
		deadline = UINT64_MAX - 1;
	if (chance(25))
		mask = PW_REASON_DROPPABLE_MASK;
	else if (chance(30))
		mask = (uint32_t)rnd();
	assert_int_equal(xr_set_config(&X, mode, deadline, mask), 0);
	/* egress enforcement; the shadow judgement must change nothing */
	X.cfg.flags = (chance(50) ? PW_CFG_EGRESS_ENFORCE : 0) |
		      (chance(30) ? PW_CFG_SHADOW : 0);
	assert_int_equal(pw_maps_set_config(&X.m, &X.cfg), 0);
}

static void run_config(struct config *c, long packets)
{
	assert_int_equal(xr_install(&X, &c->p.c), 0);
	while (packets > 0) {
		int n = packets < BATCH ? (int)packets : BATCH;
		struct pb p;

		random_host_config();
		assert_int_equal(pw_maps_reset_counters(&X.m), 0);
		model_reset(&c->p.c);
		for (int i = 0; i < n; i++) {
			batch[i].dir = chance(50) ? PW_DIR_INGRESS :
						    PW_DIR_EGRESS;
			random_frame(c, batch[i].dir, &p);
			batch[i].len = (uint32_t)p.len;
			memcpy(batch[i].b, p.buf, p.len);
			if (!check_one(c, i)) {
				pinpoint(c, i);
				fail_msg("diff: mismatch, replay with PW_DIFF_SEED=%llu",
					 (unsigned long long)seed);
			}
			packets_run++;
		}
		if (!check_all()) {
			pinpoint(c, n - 1);
			fail_msg("diff: counters differ at the end of a batch, replay with PW_DIFF_SEED=%llu",
				 (unsigned long long)seed);
		}
		batches_run++;
		packets -= n;
	}
}

/* ------------------------------------------------------------------ */
/* Suite                                                               */
/* ------------------------------------------------------------------ */

static int setup(void **state)
{
	const char *env = getenv("PW_DIFF_SEED");
	struct pw_caps caps;

	seed = env ? strtoull(env, NULL, 0) :
		     (uint64_t)time(NULL) * 2654435761ULL ^ (uint64_t)getpid();
	if (!seed)
		seed = 1;
	fprintf(stderr, "diff: seed=%llu\n", (unsigned long long)seed);
	rng_state = seed;
	env = getenv("PW_DIFF_PACKETS");
	total_packets = env ? atol(env) : DEFAULT_PACKETS;

	add_profiles();
	add_seed_policies();
	for (int i = 0; i < N_RANDOM_POLICIES && nconfigs < MAX_CONFIGS; i++)
		add_random_config(i);
	pw_caps_default(&caps);
	for (int i = 0; i < nconfigs; i++) {
		if (getenv("PW_DIFF_DUMP") && configs[i].policy_text)
			fprintf(stderr, "diff: %s, host %s:\n%s--\n%s--\n",
				configs[i].name, configs[i].roles[0],
				configs[i].policy_text,
				configs[i].inventory_text);
		if (compile_config(&configs[i]))
			return -1;
		pw_caps_fit(&caps, &configs[i].p.c);
	}
	/* room for every unnamed key of a batch: never full here */
	if (caps.unnamed_cap < 4 * BATCH)
		caps.unnamed_cap = 4 * BATCH;
	batch = calloc(BATCH, sizeof(*batch));
	if (!batch || xr_open(&X, &caps))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	fprintf(stderr,
		"diff: %ld frames in %ld batches over %d configurations, seed=%llu\n",
		packets_run, batches_run, nconfigs, (unsigned long long)seed);
	print_tally();
	for (int i = 0; i < nconfigs; i++)
		fprintf(stderr,
			"diff: config %d: %s: %u slots, %u+%u segments\n", i,
			configs[i].name, configs[i].p.c.nslots,
			configs[i].p.c.nsegs[PW_DIR_INGRESS],
			configs[i].p.c.nsegs[PW_DIR_EGRESS]);
	xr_close(&X);
	for (int i = 0; i < nconfigs; i++)
		config_free(&configs[i]);
	free(batch);
	free(M.counters);
	return 0;
}

static void test_differential(void **state)
{
	long per = (total_packets + nconfigs - 1) / nconfigs;

	assert_true(nconfigs > 0);
	for (int i = 0; i < nconfigs; i++)
		run_config(&configs[i], per);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_differential),
	};

	xr_require_root("test_diff");
	return cmocka_run_group_tests(tests, setup, teardown);
}
