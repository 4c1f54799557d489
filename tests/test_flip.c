// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_flip.c - the map writer and generation flips, through the loaded
 * XDP program (BPF_PROG_TEST_RUN).  Needs root.
 *
 * The packet table and the comparison with the reference classifier live
 * in test_xdp.c and test_diff.c; here: writing a generation leaves the one
 * in force untouched, a flip switches verdicts, counter slots survive a
 * reload, every row written reads back, and one smoke packet per reason.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "compile.h"
#include "maps.h"
#include "pktbuild.h"
#include "portwarden.skel.h"
#include "testutil.h"
#include "v6probe.h"

#define XDP_DROP 1
#define XDP_PASS 2
#define IN PW_DIR_INGRESS

/* Small enough that test_reason_unnamed_full can fill it. */
#define TEST_UNNAMED_CAP 4

/* ------------------------------------------------------------ policy -- */

static const char *inventory_text =
	"app 198.18.1.0/24 2001:db8:1::/48\n"
	"db 198.18.2.0/24 2001:db8:2::/48\n"
	"op 198.18.9.7\n";

/* More IPv4 groups and IPv6 prefixes than inventory_text, same roles */
static const char *inventory_wide_text =
	"app 198.18.1.0/24 2001:db8:1::/48 198.19.5.5 198.19.6.0/25\n"
	"app 198.19.7.128/26 198.19.200.1 2001:db8:5:5::/64\n"
	"db 198.18.2.0/24 2001:db8:2::/48 2001:db8:6::1\n"
	"op 198.18.9.7\n";

/* A: app may reach MySQL on db */
static const char *policy_a =
	"role app \"application servers\"\n"
	"role db \"database servers\"\n"
	"role op \"operator\"\n"
	"allow tcp 3306 from app to db note \"mysql\"\n"
	"allow tcp 22 from op to db note \"ssh\"\n"
	"allow icmp 8 from any to db note \"ping\"\n";

/* B: MySQL between databases only, enforced; app on 3306 is dropped */
static const char *policy_b =
	"role app \"application servers\"\n"
	"role db \"database servers\"\n"
	"role op \"operator\"\n"
	"allow tcp 3306 from db to db mode enforce note \"replication\"\n"
	"allow tcp 22 from op to db note \"ssh\"\n"
	"allow icmp 8 from any to db note \"ping\"\n";

struct compiled_policy {
	struct pw_policy pol;
	struct pw_inventory inv;
	struct pw_compiled c;
};

static void compile_policy(struct compiled_policy *cp, const char *text,
			   const char *inventory,
			   const struct pw_compiled *prev_from)
{
	static const char *const host_roles[] = { "db" };
	struct pw_prev_state prev = { 0 };
	struct pw_compile_opts o = { 0 };
	struct pw_diags d = { 0 };
	int rc;

	memset(cp, 0, sizeof(*cp));
	rc = pw_policy_parse_buffer("test.policy", text, &cp->pol, &d);
	if (!rc)
		rc = pw_inventory_parse_buffer("test.inventory", inventory,
					       &cp->pol, &cp->inv, &d);
	if (!rc) {
		o.host_roles = host_roles;
		o.nhost_roles = 1;
		if (prev_from) {
			prev.roles = prev_from->role_names;
			prev.nroles = prev_from->nroles;
			prev.slots = prev_from->slots;
			prev.nslots = prev_from->nslots;
			o.prev = &prev;
		}
		rc = pw_compile(&cp->pol, &cp->inv, &o, &cp->c, &d);
	}
	if (rc)
		pw_diags_print(&d, stderr);
	pw_diags_free(&d);
	assert_int_equal(rc, 0);
}

static void free_policy(struct compiled_policy *cp)
{
	pw_compiled_free(&cp->c);
	pw_inventory_free(&cp->inv);
	pw_policy_free(&cp->pol);
}

/* The rule entry an ingress TCP/ICMP packet of @role to @port meets. */
static const struct pw_rule_entry *entry_for(const struct pw_compiled *c,
					     int proto_idx, unsigned port,
					     const char *role)
{
	unsigned seg = pw_compiled_seg(c, IN, proto_idx, port);
	const struct pw_rule_entry *e;

	assert_int_not_equal(seg, PW_SEG_NONE);
	e = pw_compiled_entry(c, IN, seg, role_id(c, role));
	assert_non_null(e);
	return e;
}

/* ----------------------------------------------------------- fixture -- */

struct fixture {
	struct portwarden *skel;
	struct pw_maps m;
	struct pw_caps caps;
	int prog_fd;
	struct compiled_policy a, b, wide;
	char pin_dir[64]; /* test_open_pinned's, removed in teardown */
};

static char *load_log;
static size_t load_log_len;

/* Keep libbpf's messages (the verifier log among them) for a failure. */
static int capture_print(enum libbpf_print_level level, const char *fmt,
			 va_list ap)
{
	char line[1024];
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	char *grown;

	if (n <= 0)
		return 0;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	grown = realloc(load_log, load_log_len + n + 1);
	if (!grown)
		return 0;
	load_log = grown;
	memcpy(load_log + load_log_len, line, n + 1);
	load_log_len += n;
	return 0;
}

static int quiet_print(enum libbpf_print_level level, const char *fmt,
		       va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int err;

	assert_non_null(f);
	compile_policy(&f->a, policy_a, inventory_text, NULL);
	compile_policy(&f->b, policy_b, inventory_text, &f->a.c);
	compile_policy(&f->wide, policy_b, inventory_wide_text, &f->b.c);
	/* the round trip relies on these */
	assert_true(f->wide.c.v4_ngroups > f->a.c.v4_ngroups);
	assert_true(f->wide.c.nv6 > f->a.c.nv6);
	assert_true(f->wide.c.info.v6_nbuckets > f->a.c.info.v6_nbuckets);

	f->skel = portwarden__open();
	assert_non_null(f->skel);
	pw_caps_default(&f->caps);
	pw_caps_fit(&f->caps, &f->a.c);
	pw_caps_fit(&f->caps, &f->b.c);
	pw_caps_fit(&f->caps, &f->wide.c);
	f->caps.unnamed_cap = TEST_UNNAMED_CAP;
	err = pw_skel_configure(f->skel, &f->caps);
	assert_int_equal(err, 0);

	libbpf_set_print(capture_print);
	err = portwarden__load(f->skel);
	libbpf_set_print(quiet_print);
	if (err) {
		fprintf(stderr, "load failed (%d); libbpf said:\n%s\n", err,
			load_log ? load_log : "");
		fail();
	}
	free(load_log);
	load_log = NULL;
	load_log_len = 0;

	err = pw_maps_from_skel(f->skel, &f->caps, &f->m);
	if (err)
		fprintf(stderr, "%s\n", pw_maps_errmsg());
	assert_int_equal(err, 0);
	f->prog_fd = bpf_program__fd(f->skel->progs.pw_xdp_ingress);
	*state = f;
	return 0;
}

/* Remove what test_open_pinned pinned, even after a failed assert. */
static void unpin_all(struct fixture *f)
{
	struct bpf_map *map;
	char path[256];

	if (!f->pin_dir[0])
		return;
	bpf_object__for_each_map(map, f->skel->obj) {
		snprintf(path, sizeof(path), "%s/%s", f->pin_dir,
			 bpf_map__name(map));
		unlink(path);
	}
	rmdir(f->pin_dir);
	f->pin_dir[0] = '\0';
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unpin_all(f);

	portwarden__destroy(f->skel);
	free_policy(&f->a);
	free_policy(&f->b);
	free_policy(&f->wide);
	free(f);
	return 0;
}

/* Audit mode, no deadline, default unchecked mask, zeroed counters. */
static void reset(struct fixture *f, __u32 mode)
{
	struct pw_config cfg = {
		.mode = mode,
		.unchecked_drop = PW_UNCHECKED_DROP_DEFAULT,
	};

	assert_int_equal(pw_maps_set_config(&f->m, &cfg), 0);
	assert_int_equal(pw_maps_reset_counters(&f->m), 0);
}

static void check(int err)
{
	if (err)
		fprintf(stderr, "maps: %s\n", pw_maps_errmsg());
	assert_int_equal(err, 0);
}

static __u32 active_gen(struct fixture *f)
{
	struct pw_config cfg;

	check(pw_maps_get_config(&f->m, &cfg));
	return cfg.active_gen;
}

/* The CLI's reload: write the generation not in force, then flip. */
static void install(struct fixture *f, const struct pw_compiled *c)
{
	__u32 gen = !(active_gen(f) & 1);

	check(pw_maps_write_gen(&f->m, c, gen));
	check(pw_maps_flip(&f->m, gen));
}

/* ----------------------------------------------------------- packets -- */

static int run(struct fixture *f, const struct pb *p)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->buf,
		    .data_size_in = p->len, .repeat = 1);
	int err;

	err = bpf_prog_test_run_opts(f->prog_fd, &opts);
	assert_int_equal(err, 0);
	return opts.retval;
}

static void v4_tcp(struct pb *p, const char *src, uint16_t dport)
{
	uint8_t s[4], d[4];

	pb_addr4(src, s);
	pb_addr4("198.18.2.1", d);
	pb_init(p);
	pb_eth(p);
	pb_ipv4(p, s, d);
	pb_tcp(p, 40000, dport);
	pb_finish(p);
}

static void v6_tcp(struct pb *p, const char *src, uint16_t dport)
{
	uint8_t s[16], d[16];

	pb_addr6(src, s);
	pb_addr6("2001:db8:2::1", d);
	pb_init(p);
	pb_eth(p);
	pb_ipv6(p, s, d);
	pb_tcp(p, 40000, dport);
	pb_finish(p);
}

static struct pw_counter counter(struct fixture *f, __u32 slot,
				 __u32 verdict)
{
	struct pw_counter sum;

	check(pw_maps_read_counter(&f->m, pw_counter_index(slot, verdict),
				   &sum));
	return sum;
}

static struct pw_counter reason(struct fixture *f, __u32 r)
{
	struct pw_counter sum;

	check(pw_maps_read_reason(&f->m, r, &sum));
	return sum;
}

static void assert_counter(struct pw_counter got, __u64 packets,
			   __u64 bytes)
{
	assert_int_equal(got.packets, packets);
	assert_int_equal(got.bytes, bytes);
}

/* Only @r counted, @n frames of @len bytes. */
static void assert_only_reason(struct fixture *f, __u32 r, __u64 n,
			       __u64 len)
{
	__u32 i;

	for (i = 0; i < PW_NREASON; i++) {
		if (i == r)
			assert_counter(reason(f, i), n, n * len);
		else
			assert_counter(reason(f, i), 0, 0);
	}
}

struct unnamed_seen {
	struct pw_counter_key key;
	struct pw_counter sum;
	int n;
};

static int collect_unnamed(const struct pw_counter_key *key,
			   const struct pw_counter *sum, void *arg)
{
	struct unnamed_seen *s = arg;

	s->key = *key;
	s->sum = *sum;
	s->n++;
	return 0;
}

/* ------------------------------------------------------------- tests -- */

static void test_write_active_refused(void **state)
{
	struct fixture *f = *state;
	__u32 gen = active_gen(f) & 1;

	assert_int_equal(pw_maps_write_gen(&f->m, &f->a.c, gen), -EBUSY);
	assert_non_null(strstr(pw_maps_errmsg(), "in force"));
	assert_int_equal(pw_maps_write_gen(&f->m, &f->a.c, 2), -EINVAL);
	assert_int_equal(pw_maps_flip(&f->m, 2), -EINVAL);
}

/*
 * The brief's scenario: A in generation 0, flip, allowed; B written into
 * generation 1 changes nothing until the flip; after it the same packet
 * is dropped, counted in the same slot, and the allowed count survives.
 */
static void test_flip_switches_policy(void **state)
{
	struct fixture *f = *state;
	const struct pw_rule_entry *ea, *eb;
	struct unnamed_seen seen = { 0 };
	struct pw_gen_info info;
	struct pb p;
	__u64 len;

	reset(f, PW_MODE_AUDIT);
	/* a fresh load has generation 0 in force; make it the inactive one */
	check(pw_maps_flip(&f->m, 1));
	assert_int_equal(active_gen(f), 1);

	check(pw_maps_write_gen(&f->m, &f->a.c, 0));
	v4_tcp(&p, "198.18.1.10", 3306);
	len = p.len;

	/* generation 1 is empty: unknown role, unnamed port, audit */
	assert_int_equal(run(f, &p), XDP_PASS);
	check(pw_maps_foreach_unnamed(&f->m, collect_unnamed, &seen));
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.key.dir, IN);
	assert_int_equal(seen.key.proto, PW_IPPROTO_TCP);
	assert_int_equal(seen.key.role, PW_ROLE_UNKNOWN);
	assert_int_equal(seen.key.port_lo, 3306);
	assert_int_equal(seen.key.port_hi, 3306);
	assert_int_equal(seen.key.verdict, PW_VERDICT_AUDIT);
	assert_counter(seen.sum, 1, len);

	check(pw_maps_flip(&f->m, 0));
	ea = entry_for(&f->a.c, PW_P_TCP, 3306, "app");
	assert_true(ea->flags & PW_ENTRY_ALLOW);
	assert_int_equal(run(f, &p), XDP_PASS);
	assert_counter(counter(f, ea->slot, PW_VERDICT_ALLOW), 1, len);
	assert_counter(reason(f, PW_REASON_CLASSIFIED), 2, 2 * len);

	/* B written into generation 1: A still decides */
	check(pw_maps_write_gen(&f->m, &f->b.c, 1));
	assert_int_equal(run(f, &p), XDP_PASS);
	assert_counter(counter(f, ea->slot, PW_VERDICT_ALLOW), 2, 2 * len);

	/* flip: the same packet is now a violation of an enforced rule */
	check(pw_maps_flip(&f->m, 1));
	eb = entry_for(&f->b.c, PW_P_TCP, 3306, "app");
	assert_false(eb->flags & PW_ENTRY_ALLOW);
	assert_int_equal(eb->mode, PW_MODE_ENFORCE);
	assert_int_equal(eb->slot, ea->slot); /* stable across the reload */
	assert_int_equal(run(f, &p), XDP_DROP);
	assert_counter(counter(f, eb->slot, PW_VERDICT_DROP), 1, len);
	assert_counter(counter(f, eb->slot, PW_VERDICT_AUDIT), 0, 0);
	assert_counter(counter(f, ea->slot, PW_VERDICT_ALLOW), 2, 2 * len);
	assert_counter(reason(f, PW_REASON_CLASSIFIED), 4, 4 * len);

	/* each generation keeps its own scalars */
	check(pw_maps_read_gen_info(&f->m, 0, &info));
	assert_memory_equal(&info, &f->a.c.info, sizeof(info));
	check(pw_maps_read_gen_info(&f->m, 1, &info));
	assert_memory_equal(&info, &f->b.c.info, sizeof(info));

	/* and back again */
	check(pw_maps_write_gen(&f->m, &f->a.c, 0));
	check(pw_maps_flip(&f->m, 0));
	assert_int_equal(run(f, &p), XDP_PASS);
	assert_counter(counter(f, ea->slot, PW_VERDICT_ALLOW), 3, 3 * len);
}

/* A rule's enforce mode drops; host enforce with a past deadline audits. */
static void test_modes_and_deadline(void **state)
{
	struct fixture *f = *state;
	const struct pw_rule_entry *e;
	struct pw_config cfg;
	struct timespec ts;
	struct pb p;

	reset(f, PW_MODE_ENFORCE);
	install(f, &f->a.c);
	/* op may not reach 3306: a violation under the host's mode */
	v4_tcp(&p, "198.18.9.7", 3306);
	e = entry_for(&f->a.c, PW_P_TCP, 3306, "op");
	assert_false(e->flags & PW_ENTRY_ALLOW);
	assert_int_equal(e->mode, PW_MODE_HOST);
	assert_int_equal(run(f, &p), XDP_DROP);
	assert_counter(counter(f, e->slot, PW_VERDICT_DROP), 1, p.len);

	/* a deadline in the past turns enforce into audit */
	check(pw_maps_get_config(&f->m, &cfg));
	clock_gettime(CLOCK_MONOTONIC, &ts);
	cfg.enforce_deadline_ns = (__u64)ts.tv_sec * 1000000000ULL +
				  ts.tv_nsec - 1000;
	check(pw_maps_set_config(&f->m, &cfg));
	assert_int_equal(run(f, &p), XDP_PASS);
	assert_counter(counter(f, e->slot, PW_VERDICT_AUDIT), 1, p.len);

	/* one in the future keeps enforcing */
	cfg.enforce_deadline_ns += 3600ULL * 1000000000ULL;
	check(pw_maps_set_config(&f->m, &cfg));
	assert_int_equal(run(f, &p), XDP_DROP);
	assert_counter(counter(f, e->slot, PW_VERDICT_DROP), 2, 2 * p.len);

	/* set_config never moves active_gen */
	cfg.active_gen ^= 1;
	check(pw_maps_set_config(&f->m, &cfg));
	assert_int_equal(active_gen(f), !cfg.active_gen);
}

/* IPv6 roles through the bucket table, and pw_v6 rewritten per generation. */
static void test_v6_role(void **state)
{
	struct fixture *f = *state;
	const struct pw_rule_entry *e;
	struct pb p;

	reset(f, PW_MODE_AUDIT);
	install(f, &f->a.c);
	install(f, &f->a.c); /* both generations hold A's prefixes */
	v6_tcp(&p, "2001:db8:1:ff::5", 3306);
	e = entry_for(&f->a.c, PW_P_TCP, 3306, "app");
	assert_int_equal(run(f, &p), XDP_PASS);
	assert_counter(counter(f, e->slot, PW_VERDICT_ALLOW), 1, p.len);

	/* outside the inventory: unknown role, a violation */
	v6_tcp(&p, "2001:db8:7::5", 3306);
	e = entry_for(&f->a.c, PW_P_TCP, 3306, "unknown");
	assert_int_equal(run(f, &p), XDP_PASS);
	assert_counter(counter(f, e->slot, PW_VERDICT_AUDIT), 1, p.len);
}

/* Every element of array @fd (@n of @vsize bytes), read in batches. */
static void *read_array(int fd, __u32 n, size_t vsize)
{
	__u32 *keys = malloc((size_t)n * sizeof(*keys));
	char *vals = malloc((size_t)n * vsize);
	__u32 tok_in = 0, tok_out = 0, done = 0, i;
	void *in = NULL;

	assert_non_null(keys);
	assert_non_null(vals);
	while (done < n) {
		__u32 count = n - done;
		int err = bpf_map_lookup_batch(fd, in, &tok_out, keys + done,
					       vals + (size_t)done * vsize,
					       &count, NULL);

		done += count;
		if (err == -ENOENT)
			break;
		assert_int_equal(err, 0);
		tok_in = tok_out;
		in = &tok_in;
	}
	assert_int_equal(done, n);
	for (i = 0; i < n; i++)
		assert_int_equal(keys[i], i);
	free(keys);
	return vals;
}

/* Read back every row of generation @gen and compare with @c. */
static void assert_gen_rows(struct fixture *f, const struct pw_compiled *c,
			    __u32 gen)
{
	const struct pw_caps *caps = &f->m.caps;
	__u32 ngroups = caps->v4_group_cap, i, dir, seg, role;
	const struct pw_rule_entry zero_e = { 0 };
	const struct pw_v6_bucket zero_b = { 0 };
	struct pw_v6_bucket *buckets;
	struct pw_port_row *ports;
	struct pw_rule_entry *rules;
	__u32 *tbl16, *tbl8;

	tbl16 = read_array(f->m.v4_tbl16, PW_NGEN * PW_V4_TBL16_SIZE,
			   sizeof(*tbl16));
	assert_memory_equal(tbl16 + pw_v4_tbl16_index(gen, 0), c->v4_tbl16,
			    PW_V4_TBL16_SIZE * sizeof(*tbl16));
	free(tbl16);

	/* rows of 16 entries, in entry order */
	tbl8 = read_array(f->m.v4_tbl8, PW_NGEN * ngroups * PW_V4_GROUP_ROWS,
			  sizeof(struct pw_v4_row));
	for (i = 0; i < ngroups * PW_V4_GROUP_SIZE; i++)
		assert_int_equal(tbl8[pw_v4_tbl8_index(gen, ngroups, 0, 0) + i],
				 i < c->v4_ngroups * PW_V4_GROUP_SIZE ?
					 c->v4_tbl8[i] : 0);
	free(tbl8);

	ports = read_array(f->m.ports,
			   PW_NGEN * PW_NDIR * PW_NPROTO * PW_PORT_ROWS,
			   sizeof(*ports));
	assert_memory_equal(ports + pw_port_row_index(gen, 0, 0, 0), c->ports,
			    PW_NDIR * PW_NPROTO * PW_PORT_ROWS *
				    sizeof(*ports));
	free(ports);

	rules = read_array(f->m.rules,
			   PW_NGEN * PW_NDIR * caps->seg_cap * caps->role_cap,
			   sizeof(*rules));
	for (dir = 0; dir < PW_NDIR; dir++)
		for (seg = 0; seg < caps->seg_cap; seg++)
			for (role = 0; role < caps->role_cap; role++) {
				const struct pw_rule_entry *want =
					pw_compiled_entry(c, dir, seg, role);

				assert_memory_equal(
					&rules[pw_rule_index(gen, dir,
							     caps->seg_cap,
							     caps->role_cap,
							     seg, role)],
					want ? want : &zero_e, sizeof(zero_e));
			}
	free(rules);

	buckets = read_array(f->m.v6, PW_NGEN * caps->v6_cap,
			     sizeof(*buckets));
	for (i = 0; i < caps->v6_cap; i++)
		assert_memory_equal(&buckets[pw_v6_bucket_index(
					    gen, caps->v6_cap, caps->v6_cap, 0,
					    i)],
				    i < c->info.v6_nbuckets ?
					    &c->v6_buckets[i] : &zero_b,
				    sizeof(zero_b));
	free(buckets);
}

static void rows_round_trip(struct fixture *f, bool no_batch)
{
	__u32 gen;

	f->m.no_batch = no_batch;
	reset(f, PW_MODE_AUDIT);
	gen = !(active_gen(f) & 1);
	/* a wider policy, then A into the same generation: nothing of the
	 * first may remain (IPv4 groups, IPv6 buckets, rule entries) */
	check(pw_maps_write_gen(&f->m, &f->wide.c, gen));
	assert_gen_rows(f, &f->wide.c, gen);
	check(pw_maps_write_gen(&f->m, &f->a.c, gen));
	assert_gen_rows(f, &f->a.c, gen);
	f->m.no_batch = false;
}

static void test_rows_round_trip_batch(void **state)
{
	rows_round_trip(*state, false);
}

static void test_rows_round_trip_single(void **state)
{
	rows_round_trip(*state, true);
}

/* Pinned maps open with the capacities they were created with. */
static void test_open_pinned(void **state)
{
	struct fixture *f = *state;
	char *dir = f->pin_dir, path[256];
	struct bpf_map *map;
	struct pw_config a, b;
	struct pw_maps pm;

	strcpy(dir, "/sys/fs/bpf/pw_test_flip_XXXXXX");
	assert_non_null(mkdtemp(dir));
	/* the pw_* maps, by name, as the loader pins them */
	bpf_object__for_each_map(map, f->skel->obj) {
		if (strncmp(bpf_map__name(map), "pw_", 3))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(map));
		assert_int_equal(bpf_map__pin(map, path), 0);
	}

	check(pw_maps_open_pinned(dir, &pm));
	assert_memory_equal(&pm.caps, &f->caps, sizeof(pm.caps));
	assert_int_equal(pm.ncpus, f->m.ncpus);
	check(pw_maps_flip(&pm, !(active_gen(f) & 1)));
	check(pw_maps_get_config(&f->m, &a));
	check(pw_maps_get_config(&pm, &b));
	assert_memory_equal(&a, &b, sizeof(a));
	pw_maps_close(&pm);
	assert_int_equal(pm.config, -1);

	/* a map missing: named in the error */
	snprintf(path, sizeof(path), "%s/pw_slots", dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(pw_maps_open_pinned(dir, &pm), -ENOENT);
	assert_non_null(strstr(pw_maps_errmsg(), "/pw_slots"));
	unpin_all(f);
}

static void test_caps(void **state)
{
	struct pw_compiled c = { 0 };
	struct pw_caps caps;
	char why[128];

	(void)state;
	pw_caps_default(&caps);
	c.nroles = 3;
	c.nsegs_max = 10;
	c.v4_ngroups = 5000;
	c.info.v6_nbuckets = 32768;
	c.nslots = 100;
	assert_int_equal(pw_caps_check(&caps, &c, why, sizeof(why)), -E2BIG);
	assert_string_equal(why, "v4_group_cap: need 5000, have 4096");

	pw_caps_fit(&caps, &c);
	assert_int_equal(caps.v4_group_cap, 16384);
	assert_int_equal(caps.v6_cap, 65536); /* buckets, x2 headroom */
	assert_int_equal(caps.role_cap, PW_DEFAULT_ROLE_CAP);
	assert_int_equal(pw_caps_check(&caps, &c, why, sizeof(why)), 0);

	c.nroles = 300;
	pw_caps_fit(&caps, &c);
	assert_int_equal(caps.role_cap, PW_MAX_ROLES);
	assert_int_equal(pw_caps_check(&caps, &c, why, sizeof(why)), -E2BIG);
	assert_string_equal(why, "role_cap: need 300, have 256");

	caps.seg_cap = 0;
	assert_int_equal(pw_caps_check(&caps, &c, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "seg_cap 0 is out of range 1..65536");
}

/* ---------------------------------------------- one packet per reason -- */

struct reason_case {
	const char *name;
	enum pw_reason reason;
	int action_audit;   /* host in audit mode */
	int action_enforce; /* host in enforce mode, default unchecked mask */
	void (*build)(struct pb *p);
};

static void b_arp(struct pb *p)
{
	pb_init(p);
	pb_eth(p);
	pb_arp(p);
}

static void b_non_ip(struct pb *p)
{
	pb_init(p);
	pb_eth(p);
	pb_set_next(p, 0x88cc); /* LLDP */
	pb_payload(p, 46);
}

static void b_trunc_l2(struct pb *p)
{
	/* 14 bytes (the least a test run takes): a tag with no room */
	pb_init(p);
	pb_eth(p);
	pb_set_next(p, PB_ETH_P_8021Q);
}

static void b_vlan_too_deep(struct pb *p)
{
	pb_init(p);
	pb_eth(p);
	pb_vlan(p, PB_ETH_P_8021AD, 1);
	pb_vlan(p, PB_ETH_P_8021Q, 2);
	pb_vlan(p, PB_ETH_P_8021Q, 3);
	pb_payload(p, 40);
}

static void b_trunc_l3(struct pb *p)
{
	pb_init(p);
	pb_eth(p);
	pb_set_next(p, PB_ETH_P_IPV4);
	pb_payload(p, 19);
}

static void b_bad_l3(struct pb *p)
{
	uint8_t s[4], d[4];

	pb_addr4("198.18.1.10", s);
	pb_addr4("198.18.2.1", d);
	pb_init(p);
	pb_eth(p);
	pb_ipv4(p, s, d);
	pb_tcp(p, 1, 3306);
	pb_finish(p);
	p->buf[14] = 0x44; /* IHL 4 */
}

static void b_frag_nonfirst(struct pb *p)
{
	uint8_t s[4], d[4];

	pb_addr4("198.18.1.10", s);
	pb_addr4("198.18.2.1", d);
	pb_init(p);
	pb_eth(p);
	pb_ipv4(p, s, d);
	pb_ipv4_frag(p, 185, false);
	pb_set_next(p, PW_IPPROTO_TCP);
	pb_payload(p, 64);
	pb_finish(p);
}

static void b_exthdr_too_deep(struct pb *p)
{
	uint8_t s[16], d[16];
	int i;

	pb_addr6("2001:db8:1::5", s);
	pb_addr6("2001:db8:2::1", d);
	pb_init(p);
	pb_eth(p);
	pb_ipv6(p, s, d);
	for (i = 0; i < PW_MAX_EXTHDR + 1; i++)
		pb_v6_ext(p, PB_V6_DSTOPTS, 8);
	pb_tcp(p, 1, 3306);
	pb_finish(p);
}

static void b_trunc_l4(struct pb *p)
{
	uint8_t s[4], d[4];

	pb_addr4("198.18.1.10", s);
	pb_addr4("198.18.2.1", d);
	pb_init(p);
	pb_eth(p);
	pb_ipv4(p, s, d);
	pb_tcp(p, 1, 3306);
	pb_finish(p);
	pb_truncate(p, p->len - 1);
}

static void b_icmp_pmtu(struct pb *p)
{
	uint8_t s[4], d[4];

	pb_addr4("203.0.113.1", s);
	pb_addr4("198.18.2.1", d);
	pb_init(p);
	pb_eth(p);
	pb_ipv4(p, s, d);
	pb_icmp(p, 3, 4);
	pb_finish(p);
}

static void b_ndp(struct pb *p)
{
	uint8_t s[16], d[16];

	pb_addr6("fe80::1", s);
	pb_addr6("ff02::1", d);
	pb_init(p);
	pb_eth(p);
	pb_ipv6(p, s, d);
	pb_icmp6(p, 135, 0);
	pb_finish(p);
}

static void b_classified(struct pb *p)
{
	v4_tcp(p, "198.18.1.10", 3306);
}

static const struct reason_case reason_cases[] = {
	{ "arp", PW_REASON_ARP, XDP_PASS, XDP_PASS, b_arp },
	{ "non-ip", PW_REASON_NON_IP, XDP_PASS, XDP_PASS, b_non_ip },
	{ "trunc-l2", PW_REASON_TRUNC_L2, XDP_PASS, XDP_DROP, b_trunc_l2 },
	{ "vlan-too-deep", PW_REASON_VLAN_TOO_DEEP, XDP_PASS, XDP_DROP,
	  b_vlan_too_deep },
	{ "trunc-l3", PW_REASON_TRUNC_L3, XDP_PASS, XDP_DROP, b_trunc_l3 },
	{ "bad-l3", PW_REASON_BAD_L3, XDP_PASS, XDP_DROP, b_bad_l3 },
	/* not in PW_UNCHECKED_DROP_DEFAULT */
	{ "frag-nonfirst", PW_REASON_FRAG_NONFIRST, XDP_PASS, XDP_PASS,
	  b_frag_nonfirst },
	{ "exthdr-too-deep", PW_REASON_EXTHDR_TOO_DEEP, XDP_PASS, XDP_DROP,
	  b_exthdr_too_deep },
	{ "trunc-l4", PW_REASON_TRUNC_L4, XDP_PASS, XDP_DROP, b_trunc_l4 },
	{ "icmp-pmtu", PW_REASON_ICMP_PMTU, XDP_PASS, XDP_PASS, b_icmp_pmtu },
	{ "ndp", PW_REASON_NDP, XDP_PASS, XDP_PASS, b_ndp },
	{ "classified", PW_REASON_CLASSIFIED, XDP_PASS, XDP_PASS,
	  b_classified },
};

static void test_reason_smoke(void **state)
{
	struct fixture *f = *state;
	size_t i;

	install(f, &f->a.c);
	for (i = 0; i < sizeof(reason_cases) / sizeof(reason_cases[0]); i++) {
		const struct reason_case *rc = &reason_cases[i];
		struct pb p;

		rc->build(&p);
		reset(f, PW_MODE_AUDIT);
		if (run(f, &p) != rc->action_audit)
			fail_msg("%s: audit action", rc->name);
		assert_only_reason(f, rc->reason, 1, p.len);

		reset(f, PW_MODE_ENFORCE);
		if (run(f, &p) != rc->action_enforce)
			fail_msg("%s: enforce action", rc->name);
		assert_only_reason(f, rc->reason, 1, p.len);
	}
}

/* pw_unnamed full: the frame is counted under UNNAMED_FULL only. */
/* ----------------------------------------------- many IPv6 prefixes -- */

static const char *policy_many6 =
	"role db \"database servers\"\n"
	"role r0 \"r\"\nrole r1 \"r\"\nrole r2 \"r\"\nrole r3 \"r\"\n"
	"role r4 \"r\"\nrole r5 \"r\"\nrole r6 \"r\"\nrole r7 \"r\"\n"
	"allow tcp 3306 from r0,r1,r2,r3,r4,r5,r6,r7 to db note \"mysql\"\n";

/*
 * Sites of v6_nested_inventory(): about 14,000 prefixes, a table ~40%
 * full, so some keys sit past their home bucket.
 */
#define MANY6_SITES 1500

/* Run one TCP SYN to 3306 from @a and count it under the role expected. */
static void many6_packet(struct fixture *f, const struct pw_compiled *c,
			 const uint8_t a[16], uint64_t *want)
{
	char buf[INET6_ADDRSTRLEN];
	struct pb p;

	assert_non_null(inet_ntop(AF_INET6, a, buf, sizeof(buf)));
	v6_tcp(&p, buf, 3306);
	want[pw_compiled_role_v6(c, a)]++;
	run(f, &p);
}

/*
 * The datapath's bucket probe over a table of thousands of nested
 * prefixes: every prefix's address, its neighbour and random addresses in
 * the sites land in the slot of the role the prefix list gives (counted
 * per role; the unknown role's frames are violations).
 */
static void test_v6_many_prefixes(void **state)
{
	struct fixture *f = *state;
	struct compiled_policy cp;
	char *inv = v6_nested_inventory(MANY6_SITES);
	uint64_t want[PW_MAX_ROLES] = { 0 };
	uint32_t x = 2718, i, role;
	const struct pw_compiled *c;

	compile_policy(&cp, policy_many6, inv, NULL);
	c = &cp.c;
	assert_true(c->nv6 > 10000);
	assert_true(c->info.v6_nbuckets <= f->caps.v6_cap);
	assert_true(c->info.v6_max_probe > 1);
	reset(f, PW_MODE_AUDIT);
	install(f, c);

	for (i = 0; i < c->nv6; i++) {
		const struct pw_v6_entry *e = &c->v6[i];
		uint8_t a[16];

		many6_packet(f, c, e->key.addr, want);
		v6_neighbour(a, e->key.addr, e->key.plen);
		many6_packet(f, c, a, want);
	}
	for (i = 0; i < 20000; i++) {
		uint8_t a[16];

		v6_nested_random(a, &x, MANY6_SITES, i % 2);
		many6_packet(f, c, a, want);
	}

	assert_true(want[PW_ROLE_UNKNOWN] > 1000);
	for (role = 0; role < c->nroles; role++) {
		const struct pw_rule_entry *e =
			entry_for(c, PW_P_TCP, 3306, c->role_names[role].name);
		__u32 verdict = e->flags & PW_ENTRY_ALLOW ? PW_VERDICT_ALLOW :
							    PW_VERDICT_AUDIT;

		if (counter(f, e->slot, verdict).packets != want[role])
			fail_msg("role %s: %llu frames, expected %llu",
				 c->role_names[role].name,
				 (unsigned long long)counter(f, e->slot,
							     verdict)
					 .packets,
				 (unsigned long long)want[role]);
	}
	free_policy(&cp);
	free(inv);
}

static void test_reason_unnamed_full(void **state)
{
	struct fixture *f = *state;
	struct unnamed_seen seen = { 0 };
	struct pb p;
	int i;

	reset(f, PW_MODE_AUDIT);
	install(f, &f->a.c);
	for (i = 0; i < TEST_UNNAMED_CAP; i++) {
		v4_tcp(&p, "198.18.1.10", 5000 + i);
		assert_int_equal(run(f, &p), XDP_PASS);
	}
	assert_only_reason(f, PW_REASON_CLASSIFIED, TEST_UNNAMED_CAP, p.len);

	/* a known key still counts, a new one does not fit */
	v4_tcp(&p, "198.18.1.10", 5000);
	assert_int_equal(run(f, &p), XDP_PASS);
	v4_tcp(&p, "198.18.1.10", 6000);
	assert_int_equal(run(f, &p), XDP_PASS);
	assert_counter(reason(f, PW_REASON_CLASSIFIED), TEST_UNNAMED_CAP + 1,
		       (TEST_UNNAMED_CAP + 1) * p.len);
	assert_counter(reason(f, PW_REASON_UNNAMED_FULL), 1, p.len);
	check(pw_maps_foreach_unnamed(&f->m, collect_unnamed, &seen));
	assert_int_equal(seen.n, TEST_UNNAMED_CAP);

	/* enforce: still dropped even though it could not be counted */
	reset(f, PW_MODE_ENFORCE);
	for (i = 0; i < TEST_UNNAMED_CAP; i++) {
		v4_tcp(&p, "198.18.1.10", 5000 + i);
		assert_int_equal(run(f, &p), XDP_DROP);
	}
	v4_tcp(&p, "198.18.1.10", 6000);
	assert_int_equal(run(f, &p), XDP_DROP);
	assert_counter(reason(f, PW_REASON_UNNAMED_FULL), 1, p.len);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_write_active_refused),
		cmocka_unit_test(test_open_pinned),
		cmocka_unit_test(test_flip_switches_policy),
		cmocka_unit_test(test_modes_and_deadline),
		cmocka_unit_test(test_v6_role),
		cmocka_unit_test(test_rows_round_trip_batch),
		cmocka_unit_test(test_rows_round_trip_single),
		cmocka_unit_test(test_reason_smoke),
		cmocka_unit_test(test_reason_unnamed_full),
		cmocka_unit_test(test_v6_many_prefixes),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "test_flip: needs root (BPF_PROG_TEST_RUN), "
				"skipping\n");
		return 77;
	}
	/* e.g. PW_TEST_FILTER='test_v6*' to run one test while working on it */
	if (getenv("PW_TEST_FILTER"))
		cmocka_set_test_filter(getenv("PW_TEST_FILTER"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
