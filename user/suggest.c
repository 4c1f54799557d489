/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * suggest.c - allow lines from violation counters and sample addresses.
 * See suggest.h for what is suggested and why.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "suggest.h"

#define PLACEHOLDER_PREFIX "unknown-"

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

/* Grow *@v (of *@cap elements of @size) to hold @need; 0 or -ENOMEM. */
static int grow(void **v, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 8;
	void *p;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	p = realloc(*v, n * size);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = n;
	return 0;
}

/* Room for one more element after the @n of *@v; for short arrays. */
static int room_for_one(void **v, size_t n, size_t size)
{
	void *p = realloc(*v, (n + 1) * size);

	if (!p)
		return -ENOMEM;
	*v = p;
	return 0;
}

static int addr_cmp(const struct pw_suggest_addr *a,
		    const struct pw_suggest_addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->addr, b->addr, sizeof(a->addr));
}

/* qsort() of what may be nothing: its base must not be NULL even then */
static void sort(void *base, size_t n, size_t size,
		 int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

static int addr_qsort_cmp(const void *a, const void *b)
{
	return addr_cmp(a, b);
}

static void addr_text(const struct pw_suggest_addr *a, char *buf, size_t len)
{
	char text[INET6_ADDRSTRLEN];

	if (!inet_ntop(a->family == 6 ? AF_INET6 : AF_INET, a->addr, text,
		       sizeof(text)))
		snprintf(text, sizeof(text), "?");
	snprintf(buf, len, "%s", text);
}

static bool proto_has_ports(unsigned ipproto)
{
	return ipproto == PW_IPPROTO_TCP || ipproto == PW_IPPROTO_UDP ||
	       ipproto == PW_IPPROTO_SCTP;
}

static const char *dir_text(unsigned dir)
{
	return dir == PW_DIR_EGRESS ? "egress" : "ingress";
}

void pw_suggest_ports_text(const struct pw_port_range *p, size_t n, char *buf,
			   size_t len)
{
	size_t i, pos = 0;
	int w;

	if (len)
		buf[0] = '\0';
	for (i = 0; i < n && pos < len; i++) {
		if (p[i].lo == p[i].hi)
			w = snprintf(buf + pos, len - pos, "%s%u", i ? "," : "",
				     p[i].lo);
		else
			w = snprintf(buf + pos, len - pos, "%s%u-%u",
				     i ? "," : "", p[i].lo, p[i].hi);
		if (w < 0)
			break;
		pos += (size_t)w;
	}
}

static void key_ports_text(const struct pw_counter_key *k, char *buf,
			   size_t len)
{
	struct pw_port_range r = { k->port_lo, k->port_hi };

	if (pw_proto_from_ipproto(k->proto) < 0)
		snprintf(buf, len, "%s", "");
	else
		pw_suggest_ports_text(&r, 1, buf, len);
}

/* Name of role @id ("" when the maps have none for it). */
static const char *role_name(const struct pw_suggest_input *in, uint32_t id)
{
	if (id == PW_ROLE_UNKNOWN)
		return "unknown";
	if (!in->roles || id >= in->nroles)
		return "";
	return in->roles[id].name;
}

/* ------------------------------------------------------------------ */
/* Build state                                                         */
/* ------------------------------------------------------------------ */

/*
 * Distinct addresses of peers outside the inventory, each with the
 * violations (indexes into the input's obs, ascending) it was a sample
 * of, and the placeholder it went to.
 */
struct unk_addr {
	struct pw_suggest_addr a;
	size_t *obs;
	size_t nobs;
	int group;
};

struct build {
	const struct pw_suggest_input *in;
	struct pw_suggestion *s;
	size_t rules_cap, skips_cap;
	struct unk_addr *unk;
	size_t nunk;
};

static int skip_add(struct build *b, const struct pw_suggest_obs *o,
		    const char *why)
{
	struct pw_suggestion *s = b->s;
	struct pw_suggest_skip *k;
	const char *name;

	if (grow((void **)&s->skips, &b->skips_cap, s->nskips + 1,
		 sizeof(*s->skips)))
		return -ENOMEM;
	k = &s->skips[s->nskips++];
	memset(k, 0, sizeof(*k));
	k->key = o->key;
	k->key.verdict = 0;
	k->packets = o->audit_packets + o->drop_packets;
	k->rule_id = o->rule_id;
	name = role_name(b->in, o->key.role);
	if (*name)
		snprintf(k->role, sizeof(k->role), "%s", name);
	else
		snprintf(k->role, sizeof(k->role), "role#%u", o->key.role);
	k->why = why;
	return 0;
}

/* Why @o gets no allow line, or NULL when it can get one. */
static const char *obs_unfit(const struct build *b,
			     const struct pw_suggest_obs *o)
{
	int idx = pw_proto_from_ipproto(o->key.proto);

	if (o->now == PW_SUGGEST_LOOPBACK)
		return "loopback-only port: no allow rule opens it to the wire";
	if (o->now == PW_SUGGEST_ALLOWED)
		return "allowed by the policy in force (counted before a "
		       "reload)";
	if (o->now == PW_SUGGEST_INVENTORIED)
		return "the peers are in the inventory now: their traffic "
		       "counts under their roles";
	if (idx < 0)
		return "the policy language has rules for tcp, udp, sctp, "
		       "icmp and icmpv6 only";
	if (proto_has_ports(o->key.proto) && o->key.port_hi == 0)
		return "port 0 cannot be named in a rule";
	if (!proto_has_ports(o->key.proto) && o->key.port_hi > 255)
		return "not an ICMP type (0-255)";
	if (o->key.port_lo > o->key.port_hi)
		return "bad port range";
	if (o->key.role != PW_ROLE_UNKNOWN && !*role_name(b->in, o->key.role))
		return "the role id has no name in the maps";
	return NULL;
}

bool pw_suggest_sample_of(const struct pw_suggest_sample *sm,
			  const struct pw_counter_key *k)
{
	return sm->key.dir == k->dir && sm->key.proto == k->proto &&
	       sm->key.role == k->role && sm->key.port_lo >= k->port_lo &&
	       sm->key.port_lo <= k->port_hi;
}

/* Calls @fn for each sample address of key @k; stops on non-zero. */
static int foreach_sample_addr(const struct pw_suggest_input *in,
			       const struct pw_counter_key *k,
			       int (*fn)(const struct pw_suggest_addr *a,
					 void *arg),
			       void *arg)
{
	struct pw_suggest_addr a;
	size_t i;
	int j, err;

	for (i = 0; i < in->nsamples; i++) {
		const struct pw_suggest_sample *sm = &in->samples[i];

		if (!pw_suggest_sample_of(sm, k))
			continue;
		for (j = 0; j < PW_SAMPLE_ADDRS; j++) {
			if (sm->s.family[j] != 4 && sm->s.family[j] != 6)
				continue;
			memset(&a, 0, sizeof(a));
			a.family = sm->s.family[j];
			memcpy(a.addr, sm->s.addr[j], a.family == 4 ? 4 : 16);
			err = fn(&a, arg);
			if (err)
				return err;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Peers outside the inventory: groups of addresses, placeholders      */
/* ------------------------------------------------------------------ */

static long unk_find(const struct build *b, const struct pw_suggest_addr *a)
{
	size_t i;

	for (i = 0; i < b->nunk; i++)
		if (!addr_cmp(&b->unk[i].a, a))
			return (long)i;
	return -1;
}

struct unk_add {
	struct build *b;
	size_t obs; /* the violation the address is a sample of */
	int err;
};

static int unk_add_addr(const struct pw_suggest_addr *a, void *arg)
{
	struct unk_add *x = arg;
	struct build *b = x->b;
	long i = unk_find(b, a);
	struct unk_addr *u;

	if (i < 0) {
		if (room_for_one((void **)&b->unk, b->nunk, sizeof(*b->unk)))
			return x->err = -ENOMEM;
		i = (long)b->nunk++;
		memset(&b->unk[i], 0, sizeof(b->unk[i]));
		b->unk[i].a = *a;
		b->unk[i].group = -1;
	}
	u = &b->unk[i];
	/* one sample entry per port: a range key may meet it twice */
	if (u->nobs && u->obs[u->nobs - 1] == x->obs)
		return 0;
	if (room_for_one((void **)&u->obs, u->nobs, sizeof(*u->obs)))
		return x->err = -ENOMEM;
	u->obs[u->nobs++] = x->obs;
	return 0;
}

static bool name_taken(const struct build *b, const char *name)
{
	const struct pw_suggest_input *in = b->in;
	uint32_t id;
	size_t i;
	int k;

	for (id = 0; in->roles && id < in->nroles; id++)
		if (!strcmp(in->roles[id].name, name))
			return true;
	for (k = 0; k < in->ntaken; k++)
		if (in->taken[k] && !strcmp(in->taken[k], name))
			return true;
	for (i = 0; i < b->s->nph; i++)
		if (!strcmp(b->s->ph[i].name, name))
			return true;
	return false;
}

static void placeholder_name(const struct build *b, unsigned *next, char *buf,
			     size_t len)
{
	do
		snprintf(buf, len, PLACEHOLDER_PREFIX "%u", (*next)++);
	while (name_taken(b, buf));
}

/* Same violations: the same list of obs indexes. */
static bool same_obs(const struct unk_addr *x, const struct unk_addr *y)
{
	return x->nobs == y->nobs &&
	       !memcmp(x->obs, y->obs, x->nobs * sizeof(*x->obs));
}

static int unk_addr_cmp(const void *a, const void *b)
{
	return addr_cmp(&((const struct unk_addr *)a)->a,
			&((const struct unk_addr *)b)->a);
}

/* Put every address with the same violations as @first into @ph. */
static int fill_placeholder(struct build *b, size_t first, int ph)
{
	struct pw_suggest_placeholder *p = &b->s->ph[ph];
	size_t i;

	for (i = first; i < b->nunk; i++) {
		if (b->unk[i].group >= 0 || !same_obs(&b->unk[i], &b->unk[first]))
			continue;
		if (room_for_one((void **)&p->addrs, p->naddrs,
				 sizeof(*p->addrs)))
			return -ENOMEM;
		p->addrs[p->naddrs++] = b->unk[i].a;
		b->unk[i].group = ph;
	}
	return 0;
}

/*
 * One placeholder per set of addresses seen on exactly the same
 * violations: such peers behave alike, as the hosts of one role do, and
 * none of them is allowed more than it was seen doing.  With the
 * addresses sorted first, placeholders are numbered by their lowest
 * address, whatever order the counters were read in.
 */
static int make_placeholders(struct build *b)
{
	struct pw_suggestion *s = b->s;
	unsigned next = 1;
	size_t i;
	int err = 0;

	if (!b->nunk)
		return 0;
	qsort(b->unk, b->nunk, sizeof(*b->unk), unk_addr_cmp);
	s->ph = calloc(b->nunk, sizeof(*s->ph));
	if (!s->ph)
		return -ENOMEM;
	for (i = 0; !err && i < b->nunk; i++) {
		if (b->unk[i].group >= 0)
			continue;
		placeholder_name(b, &next, s->ph[s->nph].name,
				 sizeof(s->ph[s->nph].name));
		err = fill_placeholder(b, i, (int)s->nph++);
	}
	return err;
}

/* The sample addresses of every violation by a peer outside the inventory. */
static int collect_unknown(struct build *b)
{
	const struct pw_suggest_input *in = b->in;
	size_t i;

	for (i = 0; i < in->nobs; i++) {
		const struct pw_suggest_obs *o = &in->obs[i];
		struct unk_add x = { .b = b, .obs = i };

		if (o->key.role != PW_ROLE_UNKNOWN || obs_unfit(b, o) ||
		    !(o->audit_packets + o->drop_packets))
			continue;
		foreach_sample_addr(in, &o->key, unk_add_addr, &x);
		if (x.err)
			return x.err;
	}
	return make_placeholders(b);
}

static void unk_free(struct build *b)
{
	size_t i;

	for (i = 0; i < b->nunk; i++)
		free(b->unk[i].obs);
	free(b->unk);
}

/* ------------------------------------------------------------------ */
/* Rules                                                               */
/* ------------------------------------------------------------------ */

static struct pw_suggest_rule *rule_for(struct build *b, unsigned dir,
					unsigned proto, const char *peer,
					int placeholder)
{
	struct pw_suggestion *s = b->s;
	struct pw_suggest_rule *r;
	size_t i;

	for (i = 0; i < s->nrules; i++) {
		r = &s->rules[i];
		if (r->dir == dir && r->proto == proto &&
		    r->placeholder == placeholder && !strcmp(r->peer, peer))
			return r;
	}
	if (grow((void **)&s->rules, &b->rules_cap, s->nrules + 1,
		 sizeof(*s->rules)))
		return NULL;
	r = &s->rules[s->nrules++];
	memset(r, 0, sizeof(*r));
	r->dir = dir;
	r->proto = proto;
	r->placeholder = placeholder;
	snprintf(r->peer, sizeof(r->peer), "%s", peer);
	return r;
}

struct rule_add {
	const struct build *b;
	struct pw_suggest_rule *r;
};

/* A sample address into the rule; a placeholder's rule takes its own only. */
static int rule_add_sample(const struct pw_suggest_addr *a, void *arg)
{
	const struct rule_add *x = arg;
	struct pw_suggest_rule *r = x->r;
	size_t i;

	if (r->placeholder >= 0 &&
	    x->b->unk[unk_find(x->b, a)].group != r->placeholder)
		return 0;
	for (i = 0; i < r->nsamples; i++)
		if (!addr_cmp(&r->samples[i], a))
			return 0;
	if (room_for_one((void **)&r->samples, r->nsamples,
			 sizeof(*r->samples)))
		return -ENOMEM;
	r->samples[r->nsamples++] = *a;
	return 0;
}

static int rule_add_obs(struct build *b, struct pw_suggest_rule *r,
			const struct pw_suggest_obs *o)
{
	struct rule_add x = { .b = b, .r = r };
	struct pw_suggest_part *p;

	if (room_for_one((void **)&r->parts, r->nparts, sizeof(*r->parts)))
		return -ENOMEM;
	p = &r->parts[r->nparts++];
	/* port 0 cannot be written; a key reaching down to it keeps the rest */
	p->lo = proto_has_ports(o->key.proto) && o->key.port_lo == 0 ?
			1 :
			o->key.port_lo;
	p->hi = o->key.port_hi;
	p->packets = o->audit_packets + o->drop_packets;
	r->audit_packets += o->audit_packets;
	r->drop_packets += o->drop_packets;
	r->bytes += o->bytes;
	if (!r->rule_id)
		r->rule_id = o->rule_id;
	return foreach_sample_addr(b->in, &o->key, rule_add_sample, &x);
}

static int part_cmp(const void *a, const void *b)
{
	const struct pw_suggest_part *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return (x->hi > y->hi) - (x->hi < y->hi);
}

/* Sorted parts into ports: overlapping and adjacent ranges joined. */
static int merge_ports(struct pw_suggest_rule *r)
{
	size_t i;

	sort(r->parts, r->nparts, sizeof(*r->parts), part_cmp);
	r->ports = calloc(r->nparts ? r->nparts : 1, sizeof(*r->ports));
	if (!r->ports)
		return -ENOMEM;
	for (i = 0; i < r->nparts; i++) {
		struct pw_port_range *last =
			r->nports ? &r->ports[r->nports - 1] : NULL;

		if (last && r->parts[i].lo <= (uint32_t)last->hi + 1) {
			if (r->parts[i].hi > last->hi)
				last->hi = r->parts[i].hi;
			continue;
		}
		r->ports[r->nports].lo = r->parts[i].lo;
		r->ports[r->nports].hi = r->parts[i].hi;
		r->nports++;
	}
	return 0;
}

static int render_line(const struct pw_suggestion *s,
		       struct pw_suggest_rule *r)
{
	char proto[16], ports[1024], where[64] = "";
	bool all_types = !proto_has_ports(r->proto) && r->nports == 1 &&
			 r->ports[0].lo == 0 && r->ports[0].hi == 255;
	int n;

	pw_report_proto_name(r->proto, proto, sizeof(proto));
	pw_suggest_ports_text(r->ports, r->nports, ports, sizeof(ports));
	if (!all_types)
		snprintf(where, sizeof(where), " ");
	n = asprintf(&r->line, "allow %s%s%s from %s to %s note \"%s\"", proto,
		     where, all_types ? "" : ports,
		     r->dir == PW_DIR_EGRESS ? s->host : r->peer,
		     r->dir == PW_DIR_EGRESS ? r->peer : s->host,
		     PW_SUGGEST_NOTE);
	if (n < 0) {
		r->line = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int rule_cmp(const void *a, const void *b)
{
	const struct pw_suggest_rule *x = a, *y = b;
	int c;

	if (x->dir != y->dir)
		return x->dir < y->dir ? -1 : 1;
	c = strcmp(x->peer, y->peer);
	if (c)
		return c;
	return pw_proto_from_ipproto(x->proto) -
	       pw_proto_from_ipproto(y->proto);
}

static int skip_cmp(const void *a, const void *b)
{
	const struct pw_suggest_skip *x = a, *y = b;
	int c;

	if (x->key.dir != y->key.dir)
		return x->key.dir < y->key.dir ? -1 : 1;
	c = strcmp(x->role, y->role);
	if (c)
		return c;
	if (x->key.proto != y->key.proto)
		return x->key.proto < y->key.proto ? -1 : 1;
	return (x->key.port_lo > y->key.port_lo) -
	       (x->key.port_lo < y->key.port_lo);
}

static bool obs_has_group(const struct build *b, size_t obs, size_t group)
{
	size_t i, k;

	for (i = 0; i < b->nunk; i++) {
		if (b->unk[i].group != (int)group)
			continue;
		for (k = 0; k < b->unk[i].nobs; k++)
			if (b->unk[i].obs[k] == obs)
				return true;
		return false; /* a group's addresses share their violations */
	}
	return false;
}

/* A violation by peers outside the inventory: a part of each of their
 * placeholders' rules. */
static int place_unknown(struct build *b, size_t i)
{
	const struct pw_suggest_obs *o = &b->in->obs[i];
	struct pw_suggest_rule *r;
	size_t g;
	int err = 0, n = 0;

	for (g = 0; !err && g < b->s->nph; g++) {
		if (!obs_has_group(b, i, g))
			continue;
		r = rule_for(b, o->key.dir, o->key.proto, b->s->ph[g].name,
			     (int)g);
		err = r ? rule_add_obs(b, r, o) : -ENOMEM;
		n++;
	}
	if (!err && !n)
		err = skip_add(b, o,
			       "peer outside the inventory, and no sample "
			       "address was kept (events off, rate-limited or "
			       "lost)");
	return err;
}

/* Each observation: an allow line's part, or a skip. */
static int place_obs(struct build *b)
{
	const struct pw_suggest_input *in = b->in;
	struct pw_suggest_rule *r;
	size_t i;
	int err = 0;

	for (i = 0; !err && i < in->nobs; i++) {
		const struct pw_suggest_obs *o = &in->obs[i];
		const char *why = obs_unfit(b, o);

		if (!(o->audit_packets + o->drop_packets))
			continue;
		if (why) {
			err = skip_add(b, o, why);
		} else if (o->key.role == PW_ROLE_UNKNOWN) {
			err = place_unknown(b, i);
		} else {
			r = rule_for(b, o->key.dir, o->key.proto,
				     role_name(in, o->key.role), -1);
			err = r ? rule_add_obs(b, r, o) : -ENOMEM;
		}
	}
	return err;
}

static int finish_rules(struct build *b)
{
	struct pw_suggestion *s = b->s;
	size_t i;
	int err = 0;

	sort(s->rules, s->nrules, sizeof(*s->rules), rule_cmp);
	for (i = 0; !err && i < s->nrules; i++) {
		struct pw_suggest_rule *r = &s->rules[i];

		sort(r->samples, r->nsamples, sizeof(*r->samples),
		     addr_qsort_cmp);
		err = merge_ports(r);
		if (!err)
			err = render_line(s, r);
	}
	sort(s->skips, s->nskips, sizeof(*s->skips), skip_cmp);
	return err;
}

static int host_text(const struct pw_suggest_input *in, char **out)
{
	size_t len = 1;
	int i;

	for (i = 0; i < in->nhost_roles; i++)
		len += strlen(in->host_roles[i]) + 1;
	*out = calloc(1, len);
	if (!*out)
		return -ENOMEM;
	for (i = 0; i < in->nhost_roles; i++) {
		if (i)
			strcat(*out, ",");
		strcat(*out, in->host_roles[i]);
	}
	return 0;
}

int pw_suggest_build(const struct pw_suggest_input *in,
		     struct pw_suggestion *s)
{
	struct build b = { .in = in, .s = s };
	int err;

	memset(s, 0, sizeof(*s));
	s->in = in;
	if (in->nhost_roles < 1)
		return -EINVAL;
	err = host_text(in, &s->host);
	if (!err)
		err = collect_unknown(&b);
	if (!err)
		err = place_obs(&b);
	if (!err)
		err = finish_rules(&b);
	unk_free(&b);
	if (err)
		pw_suggest_free(s);
	return err;
}

void pw_suggest_free(struct pw_suggestion *s)
{
	size_t i;

	for (i = 0; i < s->nph; i++)
		free(s->ph[i].addrs);
	for (i = 0; i < s->nrules; i++) {
		free(s->rules[i].ports);
		free(s->rules[i].parts);
		free(s->rules[i].samples);
		free(s->rules[i].line);
	}
	free(s->ph);
	free(s->rules);
	free(s->skips);
	free(s->host);
	memset(s, 0, sizeof(*s));
}

/* ------------------------------------------------------------------ */
/* Text                                                                */
/* ------------------------------------------------------------------ */

static void print_addrs(FILE *out, const struct pw_suggest_addr *a, size_t n,
			const char *sep)
{
	char text[INET6_ADDRSTRLEN];
	size_t i;

	for (i = 0; i < n; i++) {
		addr_text(&a[i], text, sizeof(text));
		fprintf(out, "%s%s", i ? sep : "", text);
	}
}

static void print_heading(const struct pw_suggestion *s, FILE *out)
{
	const struct pw_suggest_input *in = s->in;

	fprintf(out, "# portwarden suggest: interface %s",
		in->iface ? in->iface : "?");
	if (in->netns)
		fprintf(out, " (netns %s)", in->netns);
	fprintf(out, ", policy %s, host roles %s\n",
		in->policy ? in->policy : "?", s->host);
	fprintf(out,
		"# Policy lines that would allow the violations counted since "
		"the load\n"
		"# (or the last 'stats --reset').  For review: nothing here is "
		"applied.\n"
		"# Check each line, give it the vendor's words as its note, "
		"append it to\n"
		"# the policy and run 'portwarden reload'.\n");
}

static void print_placeholders(const struct pw_suggestion *s, FILE *out)
{
	size_t i;

	if (!s->nph)
		return;
	fprintf(out,
		"\n# Peers outside the inventory: one placeholder role per "
		"set of sample\n"
		"# addresses seen on the same ports (the packet counts are "
		"the ports',\n"
		"# whoever sent them).  Rename each, and add its addresses "
		"to the\n"
		"# inventory (the commented line after it):\n");
	for (i = 0; i < s->nph; i++) {
		const struct pw_suggest_placeholder *ph = &s->ph[i];

		fprintf(out,
			"role %s \"placeholder for peers outside the "
			"inventory (portwarden suggest)\"\n",
			ph->name);
		fprintf(out, "#   inventory: %s ", ph->name);
		print_addrs(out, ph->addrs, ph->naddrs, " ");
		fputc('\n', out);
	}
}

static void print_parts(const struct pw_suggest_rule *r, FILE *out)
{
	struct pw_port_range p;
	char text[32];
	size_t i;

	if (r->nparts < 2)
		return;
	fprintf(out, " (");
	for (i = 0; i < r->nparts; i++) {
		p.lo = r->parts[i].lo;
		p.hi = r->parts[i].hi;
		pw_suggest_ports_text(&p, 1, text, sizeof(text));
		fprintf(out, "%s%s: %" PRIu64, i ? ", " : "", text,
			r->parts[i].packets);
	}
	fputc(')', out);
}

static void print_rule(const struct pw_suggestion *s,
		       const struct pw_suggest_rule *r, FILE *out)
{
	char proto[16], ports[1024];

	pw_report_proto_name(r->proto, proto, sizeof(proto));
	pw_suggest_ports_text(r->ports, r->nports, ports, sizeof(ports));
	fprintf(out, "\n# %s %s %s %s %s: %" PRIu64 " packets audited, %" PRIu64
		" dropped",
		dir_text(r->dir), proto, ports,
		r->dir == PW_DIR_EGRESS ? "to" : "from", r->peer,
		r->audit_packets, r->drop_packets);
	print_parts(r, out);
	if (r->rule_id)
		fprintf(out, "; rule %u names the port for other peers",
			r->rule_id);
	fputc('\n', out);
	if (r->nsamples) {
		fprintf(out, "#   sample %s: ",
			r->dir == PW_DIR_EGRESS ? "destinations" : "sources");
		print_addrs(out, r->samples, r->nsamples, ", ");
		fputc('\n', out);
	}
	fprintf(out, "%s\n", r->line);
}

static void print_skips(const struct pw_suggestion *s, FILE *out)
{
	char proto[16], ports[32];
	size_t i;

	if (!s->nskips)
		return;
	fprintf(out, "\n# Not suggested:\n");
	for (i = 0; i < s->nskips; i++) {
		const struct pw_suggest_skip *k = &s->skips[i];

		pw_report_proto_name(k->key.proto, proto, sizeof(proto));
		key_ports_text(&k->key, ports, sizeof(ports));
		fprintf(out, "#   %s %s%s%s %s %s: %" PRIu64 " packets",
			dir_text(k->key.dir), proto, *ports ? " " : "", ports,
			k->key.dir == PW_DIR_EGRESS ? "to" : "from", k->role,
			k->packets);
		if (k->rule_id)
			fprintf(out, " (rule %u)", k->rule_id);
		fprintf(out, ": %s\n", k->why);
	}
}

void pw_suggest_print_text(const struct pw_suggestion *s, FILE *out)
{
	size_t i;

	print_heading(s, out);
	if (!s->nrules && !s->nskips)
		fprintf(out, "\n# Nothing to suggest: no violation was "
			     "counted.\n");
	print_placeholders(s, out);
	for (i = 0; i < s->nrules; i++)
		print_rule(s, &s->rules[i], out);
	print_skips(s, out);
}

/* ------------------------------------------------------------------ */
/* JSON                                                                */
/* ------------------------------------------------------------------ */

static void json_addrs(struct pw_json *j, const char *key,
		       const struct pw_suggest_addr *a, size_t n)
{
	char text[INET6_ADDRSTRLEN];
	size_t i;

	pw_json_start_array(j, key);
	for (i = 0; i < n; i++) {
		addr_text(&a[i], text, sizeof(text));
		pw_json_string(j, NULL, text);
	}
	pw_json_end_array(j);
}

static void json_placeholder(struct pw_json *j,
			     const struct pw_suggest_placeholder *ph)
{
	char *inv = NULL, text[INET6_ADDRSTRLEN];
	size_t i, len = strlen(ph->name) + 1;

	pw_json_start_object(j, NULL);
	pw_json_string(j, "role", ph->name);
	json_addrs(j, "addresses", ph->addrs, ph->naddrs);
	pw_json_stringf(j, "declaration",
			"role %s \"placeholder for peers outside the inventory "
			"(portwarden suggest)\"",
			ph->name);
	inv = malloc(len + ph->naddrs * (INET6_ADDRSTRLEN + 1));
	if (inv) {
		strcpy(inv, ph->name);
		for (i = 0; i < ph->naddrs; i++) {
			addr_text(&ph->addrs[i], text, sizeof(text));
			strcat(inv, " ");
			strcat(inv, text);
		}
	}
	pw_json_string(j, "inventory", inv);
	free(inv);
	pw_json_end_object(j);
}

static void json_rule(struct pw_json *j, const struct pw_suggestion *s,
		      const struct pw_suggest_rule *r)
{
	char proto[16], ports[1024];
	struct pw_port_range p;
	size_t i;

	pw_report_proto_name(r->proto, proto, sizeof(proto));
	pw_suggest_ports_text(r->ports, r->nports, ports, sizeof(ports));
	pw_json_start_object(j, NULL);
	pw_json_string(j, "dir", dir_text(r->dir));
	pw_json_string(j, "proto", proto);
	pw_json_string(j, "ports", ports);
	pw_json_string(j, "peer", r->peer);
	pw_json_bool(j, "placeholder", r->placeholder >= 0);
	pw_json_string(j, "from", r->dir == PW_DIR_EGRESS ? s->host : r->peer);
	pw_json_string(j, "to", r->dir == PW_DIR_EGRESS ? r->peer : s->host);
	pw_json_uint(j, "packets", r->audit_packets + r->drop_packets);
	pw_json_uint(j, "audit_packets", r->audit_packets);
	pw_json_uint(j, "drop_packets", r->drop_packets);
	pw_json_uint(j, "bytes", r->bytes);
	if (r->rule_id)
		pw_json_uint(j, "rule_id", r->rule_id);
	else
		pw_json_null(j, "rule_id");
	pw_json_start_array(j, "per_port");
	for (i = 0; i < r->nparts; i++) {
		p.lo = r->parts[i].lo;
		p.hi = r->parts[i].hi;
		pw_suggest_ports_text(&p, 1, ports, sizeof(ports));
		pw_json_start_object(j, NULL);
		pw_json_string(j, "ports", ports);
		pw_json_uint(j, "packets", r->parts[i].packets);
		pw_json_end_object(j);
	}
	pw_json_end_array(j);
	json_addrs(j, "samples", r->samples, r->nsamples);
	pw_json_string(j, "line", r->line);
	pw_json_end_object(j);
}

static void json_skip(struct pw_json *j, const struct pw_suggest_skip *k)
{
	char proto[16], ports[32];

	pw_report_proto_name(k->key.proto, proto, sizeof(proto));
	key_ports_text(&k->key, ports, sizeof(ports));
	pw_json_start_object(j, NULL);
	pw_json_string(j, "dir", dir_text(k->key.dir));
	pw_json_string(j, "proto", proto);
	pw_json_string(j, "ports", ports);
	pw_json_string(j, "role", k->role);
	pw_json_uint(j, "packets", k->packets);
	if (k->rule_id)
		pw_json_uint(j, "rule_id", k->rule_id);
	else
		pw_json_null(j, "rule_id");
	pw_json_string(j, "why", k->why);
	pw_json_end_object(j);
}

void pw_suggest_print_json(const struct pw_suggestion *s, struct pw_json *j)
{
	const struct pw_suggest_input *in = s->in;
	size_t i;
	int k;

	pw_json_start_object(j, NULL);
	pw_json_string(j, "iface", in->iface);
	pw_json_string(j, "netns", in->netns);
	pw_json_string(j, "policy", in->policy);
	pw_json_start_array(j, "host_roles");
	for (k = 0; k < in->nhost_roles; k++)
		pw_json_string(j, NULL, in->host_roles[k]);
	pw_json_end_array(j);
	pw_json_start_array(j, "placeholders");
	for (i = 0; i < s->nph; i++)
		json_placeholder(j, &s->ph[i]);
	pw_json_end_array(j);
	pw_json_start_array(j, "rules");
	for (i = 0; i < s->nrules; i++)
		json_rule(j, s, &s->rules[i]);
	pw_json_end_array(j);
	pw_json_start_array(j, "skipped");
	for (i = 0; i < s->nskips; i++)
		json_skip(j, &s->skips[i]);
	pw_json_end_array(j);
	pw_json_end_object(j);
}
