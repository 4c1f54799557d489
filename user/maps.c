// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * maps.c - capacities, skeleton sizing, and writing compiled generations
 * into the datapath maps.  See maps.h for the load path.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "maps.h"
#include "portwarden.skel.h"

#ifndef ENOTSUPP
#define ENOTSUPP 524 /* kernel-internal, but bpf() lets it out */
#endif

/* Elements per batch call, and the most bytes of values one call carries. */
#define PW_BATCH_MAX 8192U
#define PW_BATCH_BYTES (1U << 20)

/* ---------------------------------------------------------- errors -- */

static __thread char pw_errbuf[256];

const char *pw_maps_errmsg(void)
{
	return pw_errbuf;
}

/* Leave a message for pw_maps_errmsg() and return @err. */
__attribute__((format(printf, 2, 3))) static int pw_fail(int err,
							  const char *fmt,
							  ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(pw_errbuf, sizeof(pw_errbuf), fmt, ap);
	va_end(ap);
	return err;
}

/* ------------------------------------------------------------ caps -- */

void pw_caps_default(struct pw_caps *caps)
{
	caps->role_cap = PW_DEFAULT_ROLE_CAP;
	caps->seg_cap = PW_DEFAULT_SEG_CAP;
	caps->v4_group_cap = PW_DEFAULT_V4_GROUP_CAP;
	caps->v6_cap = PW_DEFAULT_V6_CAP;
	caps->slot_cap = PW_DEFAULT_SLOT_CAP;
	caps->unnamed_cap = PW_DEFAULT_UNNAMED_CAP;
	caps->flow_cap = PW_DEFAULT_FLOW_CAP;
	caps->event_ring = PW_DEFAULT_EVENT_RING;
}

/* What one generation of @c needs. */
static void pw_caps_need(const struct pw_compiled *c, struct pw_caps *need)
{
	need->role_cap = c->nroles;
	need->seg_cap = c->nsegs_max;
	need->v4_group_cap = c->v4_ngroups;
	need->v6_cap = c->info.v6_nbuckets;
	need->slot_cap = c->nslots;
	need->unnamed_cap = 0;
	need->flow_cap = 0;   /* traffic decides, not the policy */
	need->event_ring = 0;
}

/* One capacity: its name, where it lives in struct pw_caps, its range. */
struct pw_cap_desc {
	const char *name;
	size_t off;
	__u32 max;
};

static const struct pw_cap_desc pw_cap_descs[] = {
	{ "role_cap", offsetof(struct pw_caps, role_cap), PW_MAX_ROLES },
	{ "seg_cap", offsetof(struct pw_caps, seg_cap), PW_CAP_SEG_MAX },
	{ "v4_group_cap", offsetof(struct pw_caps, v4_group_cap),
	  PW_CAP_V4_GROUP_MAX },
	{ "v6_cap", offsetof(struct pw_caps, v6_cap), PW_CAP_V6_MAX },
	{ "slot_cap", offsetof(struct pw_caps, slot_cap), PW_CAP_SLOT_MAX },
	{ "unnamed_cap", offsetof(struct pw_caps, unnamed_cap),
	  PW_CAP_UNNAMED_MAX },
	{ "flow_cap", offsetof(struct pw_caps, flow_cap), PW_CAP_FLOW_MAX },
	{ "event_ring", offsetof(struct pw_caps, event_ring),
	  PW_CAP_EVENT_RING_MAX },
};

#define PW_NCAPS (sizeof(pw_cap_descs) / sizeof(pw_cap_descs[0]))

static __u32 *pw_cap_field(struct pw_caps *caps, const struct pw_cap_desc *d)
{
	return (__u32 *)((char *)caps + d->off);
}

static __u32 pw_cap_get(const struct pw_caps *caps,
			const struct pw_cap_desc *d)
{
	return *(const __u32 *)((const char *)caps + d->off);
}

void pw_caps_fit(struct pw_caps *caps, const struct pw_compiled *c)
{
	struct pw_caps need;
	size_t i;

	pw_caps_need(c, &need);
	for (i = 0; i < PW_NCAPS; i++) {
		const struct pw_cap_desc *d = &pw_cap_descs[i];
		__u32 *cap = pw_cap_field(caps, d);
		__u64 want = 1, n = pw_cap_get(&need, d);

		if (n <= *cap)
			continue;
		while (want < 2 * n)
			want <<= 1;
		if (want > d->max)
			want = d->max;
		if (want > *cap)
			*cap = want;
	}
}

/* Every capacity within 1..max: a zero-sized map cannot be created. */
static int pw_caps_valid(const struct pw_caps *caps)
{
	size_t i;

	for (i = 0; i < PW_NCAPS; i++) {
		const struct pw_cap_desc *d = &pw_cap_descs[i];
		__u32 v = pw_cap_get(caps, d);

		if (v == 0 || v > d->max)
			return pw_fail(-EINVAL, "%s %u is out of range 1..%u",
				       d->name, v, d->max);
	}
	/* the kernel's rule for a ring buffer's size */
	if (caps->event_ring < PW_CAP_EVENT_RING_MIN ||
	    (caps->event_ring & (caps->event_ring - 1)))
		return pw_fail(-EINVAL,
			       "event_ring %u is not a power of two of at "
			       "least %u bytes",
			       caps->event_ring, PW_CAP_EVENT_RING_MIN);
	return 0;
}

int pw_caps_check(const struct pw_caps *caps, const struct pw_compiled *c,
		  char *why, size_t len)
{
	struct pw_caps need;
	size_t i;
	int err;

	err = pw_caps_valid(caps);
	if (err) {
		if (why && len)
			snprintf(why, len, "%s", pw_errbuf);
		return err;
	}
	pw_caps_need(c, &need);
	for (i = 0; i < PW_NCAPS; i++) {
		const struct pw_cap_desc *d = &pw_cap_descs[i];
		__u32 n = pw_cap_get(&need, d), have = pw_cap_get(caps, d);

		if (n <= have)
			continue;
		pw_fail(-E2BIG, "%s: need %u, have %u", d->name, n, have);
		if (why && len)
			snprintf(why, len, "%s", pw_errbuf);
		return -E2BIG;
	}
	if (why && len)
		why[0] = '\0';
	return 0;
}

/* ------------------------------------------------------------ layout -- */

/* What a map must look like for @caps. */
struct pw_map_spec {
	const char *name;
	__u32 type, key_size, value_size, max_entries;
};

enum {
	PW_M_CONFIG, PW_M_GEN, PW_M_V4_TBL16, PW_M_V4_TBL8, PW_M_V6,
	PW_M_PORTS, PW_M_RULES, PW_M_COUNTERS, PW_M_SLOTS, PW_M_UNNAMED,
	PW_M_REASONS, PW_M_ROLE_NAMES, PW_M_FLOWS, PW_M_STATS, PW_M_EVENTS,
	PW_M_EV_SEEN, PW_M_TBUCKET, PW_M_SAMPLES, PW_M_SHADOW, PW_NMAPS,
};

static void pw_map_specs(const struct pw_caps *caps,
			 struct pw_map_spec spec[PW_NMAPS])
{
	const __u32 A = BPF_MAP_TYPE_ARRAY, U4 = sizeof(__u32);

	spec[PW_M_CONFIG] = (struct pw_map_spec){
		"pw_config", A, U4, sizeof(struct pw_config), 1 };
	spec[PW_M_GEN] = (struct pw_map_spec){
		"pw_gen", A, U4, sizeof(struct pw_gen_info), PW_NGEN };
	spec[PW_M_V4_TBL16] = (struct pw_map_spec){
		"pw_v4_tbl16", A, U4, U4, PW_NGEN * PW_V4_TBL16_SIZE };
	spec[PW_M_V4_TBL8] = (struct pw_map_spec){
		"pw_v4_tbl8", A, U4, sizeof(struct pw_v4_row),
		PW_NGEN * caps->v4_group_cap * PW_V4_GROUP_ROWS };
	spec[PW_M_V6] = (struct pw_map_spec){
		"pw_v6", A, U4, sizeof(struct pw_v6_bucket),
		PW_NGEN * caps->v6_cap };
	spec[PW_M_PORTS] = (struct pw_map_spec){
		"pw_ports", A, U4, sizeof(struct pw_port_row),
		PW_NGEN * PW_NDIR * PW_NPROTO * PW_PORT_ROWS };
	spec[PW_M_RULES] = (struct pw_map_spec){
		"pw_rules", A, U4, sizeof(struct pw_rule_entry),
		PW_NGEN * PW_NDIR * caps->seg_cap * caps->role_cap };
	spec[PW_M_COUNTERS] = (struct pw_map_spec){
		"pw_counters", BPF_MAP_TYPE_PERCPU_ARRAY, U4,
		sizeof(struct pw_counter), caps->slot_cap * PW_NVERDICT };
	spec[PW_M_SLOTS] = (struct pw_map_spec){
		"pw_slots", A, U4, sizeof(struct pw_counter_key),
		caps->slot_cap };
	spec[PW_M_UNNAMED] = (struct pw_map_spec){
		"pw_unnamed", BPF_MAP_TYPE_PERCPU_HASH,
		sizeof(struct pw_counter_key), sizeof(struct pw_counter),
		caps->unnamed_cap };
	spec[PW_M_REASONS] = (struct pw_map_spec){
		"pw_reasons", BPF_MAP_TYPE_PERCPU_ARRAY, U4,
		sizeof(struct pw_counter), PW_NDIR * PW_NREASON };
	spec[PW_M_ROLE_NAMES] = (struct pw_map_spec){
		"pw_role_names", A, U4, sizeof(struct pw_role_name),
		caps->role_cap };
	spec[PW_M_FLOWS] = (struct pw_map_spec){
		"pw_flows", BPF_MAP_TYPE_LRU_HASH, sizeof(struct pw_flow_key),
		sizeof(struct pw_flow), caps->flow_cap };
	spec[PW_M_STATS] = (struct pw_map_spec){
		"pw_stats", BPF_MAP_TYPE_PERCPU_ARRAY, U4, sizeof(__u64),
		PW_NSTAT };
	spec[PW_M_EVENTS] = (struct pw_map_spec){
		"pw_events", BPF_MAP_TYPE_RINGBUF, 0, 0, caps->event_ring };
	spec[PW_M_EV_SEEN] = (struct pw_map_spec){
		"pw_ev_seen", BPF_MAP_TYPE_LRU_HASH, sizeof(struct pw_flow_key),
		sizeof(struct pw_ev_seen), PW_DEFAULT_EV_SEEN_CAP };
	spec[PW_M_TBUCKET] = (struct pw_map_spec){
		"pw_tbucket", BPF_MAP_TYPE_PERCPU_ARRAY, U4,
		sizeof(struct pw_tbucket), 1 };
	spec[PW_M_SAMPLES] = (struct pw_map_spec){
		"pw_samples", BPF_MAP_TYPE_LRU_HASH,
		sizeof(struct pw_counter_key), sizeof(struct pw_sample),
		PW_DEFAULT_SAMPLE_CAP };
	spec[PW_M_SHADOW] = (struct pw_map_spec){
		"pw_shadow", BPF_MAP_TYPE_PERCPU_HASH,
		sizeof(struct pw_shadow_key), sizeof(struct pw_counter),
		PW_DEFAULT_SHADOW_CAP };
}

static struct bpf_map *pw_skel_map(struct portwarden *skel, int which)
{
	switch (which) {
	case PW_M_CONFIG: return skel->maps.pw_config;
	case PW_M_GEN: return skel->maps.pw_gen;
	case PW_M_V4_TBL16: return skel->maps.pw_v4_tbl16;
	case PW_M_V4_TBL8: return skel->maps.pw_v4_tbl8;
	case PW_M_V6: return skel->maps.pw_v6;
	case PW_M_PORTS: return skel->maps.pw_ports;
	case PW_M_RULES: return skel->maps.pw_rules;
	case PW_M_COUNTERS: return skel->maps.pw_counters;
	case PW_M_SLOTS: return skel->maps.pw_slots;
	case PW_M_UNNAMED: return skel->maps.pw_unnamed;
	case PW_M_REASONS: return skel->maps.pw_reasons;
	case PW_M_ROLE_NAMES: return skel->maps.pw_role_names;
	case PW_M_FLOWS: return skel->maps.pw_flows;
	case PW_M_STATS: return skel->maps.pw_stats;
	case PW_M_EVENTS: return skel->maps.pw_events;
	case PW_M_EV_SEEN: return skel->maps.pw_ev_seen;
	case PW_M_TBUCKET: return skel->maps.pw_tbucket;
	case PW_M_SAMPLES: return skel->maps.pw_samples;
	case PW_M_SHADOW: return skel->maps.pw_shadow;
	}
	return NULL;
}

static int *pw_maps_fd(struct pw_maps *m, int which)
{
	int *fds[PW_NMAPS] = {
		&m->config, &m->gen, &m->v4_tbl16, &m->v4_tbl8, &m->v6,
		&m->ports, &m->rules, &m->counters, &m->slots, &m->unnamed,
		&m->reasons, &m->role_names, &m->flows, &m->stats,
		&m->events, &m->ev_seen, &m->tbucket, &m->samples,
		&m->shadow,
	};

	return fds[which];
}

int pw_skel_configure(struct portwarden *skel, const struct pw_caps *caps)
{
	struct pw_map_spec spec[PW_NMAPS];
	int i, err;

	err = pw_caps_valid(caps);
	if (err)
		return err;
	pw_map_specs(caps, spec);
	for (i = 0; i < PW_NMAPS; i++) {
		err = bpf_map__set_max_entries(pw_skel_map(skel, i),
					       spec[i].max_entries);
		if (err)
			return pw_fail(err, "%s: cannot set max_entries %u: %s",
				       spec[i].name, spec[i].max_entries,
				       strerror(-err));
	}
	skel->rodata->pw_role_cap = caps->role_cap;
	skel->rodata->pw_seg_cap = caps->seg_cap;
	skel->rodata->pw_v4_group_cap = caps->v4_group_cap;
	skel->rodata->pw_v6_cap = caps->v6_cap;
	return 0;
}

/* The kernel's view of @fd against @spec. */
static int pw_map_check(int fd, const struct pw_map_spec *spec)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	int err;

	memset(&info, 0, sizeof(info));
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (err)
		return pw_fail(err, "%s: cannot get map info: %s", spec->name,
			       strerror(-err));
	if (info.type != spec->type || info.key_size != spec->key_size ||
	    info.value_size != spec->value_size ||
	    info.max_entries != spec->max_entries)
		return pw_fail(-EINVAL,
			       "%s: type %u key %u value %u entries %u, "
			       "expected %u/%u/%u/%u for these capacities",
			       spec->name, info.type, info.key_size,
			       info.value_size, info.max_entries, spec->type,
			       spec->key_size, spec->value_size,
			       spec->max_entries);
	return 0;
}

int pw_maps_from_skel(struct portwarden *skel, const struct pw_caps *caps,
		      struct pw_maps *m)
{
	struct pw_map_spec spec[PW_NMAPS];
	int i, err, ncpus;

	err = pw_caps_valid(caps);
	if (err)
		return err;
	if (skel->rodata->pw_role_cap != caps->role_cap ||
	    skel->rodata->pw_seg_cap != caps->seg_cap ||
	    skel->rodata->pw_v4_group_cap != caps->v4_group_cap ||
	    skel->rodata->pw_v6_cap != caps->v6_cap)
		return pw_fail(-EINVAL, "program was loaded with other "
					"capacities than the maps expect");
	ncpus = libbpf_num_possible_cpus();
	if (ncpus < 0)
		return pw_fail(ncpus, "cannot count possible CPUs");

	memset(m, 0, sizeof(*m));
	m->caps = *caps;
	m->ncpus = ncpus;
	pw_map_specs(caps, spec);
	for (i = 0; i < PW_NMAPS; i++) {
		int fd = bpf_map__fd(pw_skel_map(skel, i));

		if (fd < 0)
			return pw_fail(-EBADF, "%s: not loaded", spec[i].name);
		err = pw_map_check(fd, &spec[i]);
		if (err)
			return err;
		*pw_maps_fd(m, i) = fd;
	}
	return 0;
}

/*
 * Capacities as the maps' sizes say (pinned maps have no skeleton).
 * Whatever comes out is checked against every map afterwards.
 */
static int pw_caps_from_fds(const struct pw_maps *m, struct pw_caps *caps)
{
	const struct { int fd; const char *name; } src[] = {
		{ m->role_names, "pw_role_names" }, { m->rules, "pw_rules" },
		{ m->v4_tbl8, "pw_v4_tbl8" }, { m->v6, "pw_v6" },
		{ m->slots, "pw_slots" }, { m->unnamed, "pw_unnamed" },
		{ m->flows, "pw_flows" }, { m->events, "pw_events" },
	};
	__u32 entries[8], per_seg;
	size_t i;

	for (i = 0; i < 8; i++) {
		struct bpf_map_info info;
		__u32 len = sizeof(info);
		int err;

		memset(&info, 0, sizeof(info));
		err = bpf_obj_get_info_by_fd(src[i].fd, &info, &len);
		if (err)
			return pw_fail(err, "%s: cannot get map info: %s",
				       src[i].name, strerror(-err));
		entries[i] = info.max_entries;
	}
	caps->role_cap = entries[0];
	per_seg = PW_NGEN * PW_NDIR * caps->role_cap;
	caps->seg_cap = per_seg ? entries[1] / per_seg : 0;
	caps->v4_group_cap = entries[2] / (PW_NGEN * PW_V4_GROUP_ROWS);
	caps->v6_cap = entries[3] / PW_NGEN;
	caps->slot_cap = entries[4];
	caps->unnamed_cap = entries[5];
	caps->flow_cap = entries[6];
	caps->event_ring = entries[7];
	return pw_caps_valid(caps);
}

int pw_maps_open_pinned(const char *dir, struct pw_maps *m)
{
	struct pw_caps none = { 0 };
	struct pw_map_spec spec[PW_NMAPS];
	char path[4096];
	int i, err, ncpus;

	pw_map_specs(&none, spec); /* the names, for now */
	ncpus = libbpf_num_possible_cpus();
	if (ncpus < 0)
		return pw_fail(ncpus, "cannot count possible CPUs");
	memset(m, 0, sizeof(*m));
	for (i = 0; i < PW_NMAPS; i++)
		*pw_maps_fd(m, i) = -1;
	m->own_fds = true;
	m->ncpus = ncpus;

	for (i = 0; i < PW_NMAPS; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/%s", dir, spec[i].name);
		fd = bpf_obj_get(path);
		if (fd < 0) {
			err = pw_fail(fd, "%s: %s", path, strerror(-fd));
			goto fail;
		}
		*pw_maps_fd(m, i) = fd;
	}
	err = pw_caps_from_fds(m, &m->caps);
	if (err)
		goto fail;
	pw_map_specs(&m->caps, spec);
	for (i = 0; i < PW_NMAPS; i++) {
		err = pw_map_check(*pw_maps_fd(m, i), &spec[i]);
		if (err)
			goto fail;
	}
	return 0;
fail:
	pw_maps_close(m);
	return err;
}

void pw_maps_close(struct pw_maps *m)
{
	int i;

	if (!m->own_fds)
		return;
	for (i = 0; i < PW_NMAPS; i++) {
		int *fd = pw_maps_fd(m, i);

		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
	m->own_fds = false;
}

/* ---------------------------------------------------------- writing -- */

/* Bytes per element in a batch/lookup buffer (per-CPU maps hold ncpus). */
static size_t pw_stride(const struct pw_maps *m, size_t value_size,
			bool percpu)
{
	return percpu ? (size_t)m->ncpus * ((value_size + 7) & ~(size_t)7) :
			value_size;
}

static bool pw_batch_unsupported(int err)
{
	return err == -EINVAL || err == -EOPNOTSUPP || err == -ENOTSUPP;
}

/*
 * Write @count elements of @stride bytes at @keys (@key_size bytes each)
 * from @values, with batch updates when the kernel has them.  Stops at the
 * first failure and returns it.
 */
static int pw_update_many(const struct pw_maps *m, int fd, const void *keys,
			  size_t key_size, const void *values, size_t stride,
			  __u32 count, __u64 flags, bool *batch)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = flags);
	const char *k = keys, *v = values;
	__u32 i, n;
	int err;

	if (*batch && !m->no_batch && count) {
		n = count;
		err = bpf_map_update_batch(fd, keys, values, &n, &opts);
		if (!err)
			return 0;
		if (!(n == 0 && pw_batch_unsupported(err)))
			return err;
		*batch = false; /* retry element by element */
	}
	for (i = 0; i < count; i++) {
		err = bpf_map_update_elem(fd, k + i * key_size,
					  v + i * stride, flags);
		if (err)
			return err;
	}
	return 0;
}

/*
 * Array elements first..first+count-1 <- @values (@value_size each), or
 * zeros when @values is NULL.  Goes in chunks so that buffers stay small
 * whatever the map size.
 */
static int pw_array_write(const struct pw_maps *m, int fd, const char *name,
			  __u32 first, const void *values, __u32 count,
			  size_t value_size, bool percpu)
{
	size_t stride = pw_stride(m, value_size, percpu);
	__u32 chunk = PW_BATCH_BYTES / stride, done, i;
	bool batch = true;
	__u32 *keys = NULL;
	void *zeros = NULL;
	int err = 0;

	if (chunk > PW_BATCH_MAX)
		chunk = PW_BATCH_MAX;
	if (chunk == 0)
		chunk = 1;
	keys = malloc(chunk * sizeof(*keys));
	if (!values)
		zeros = calloc(chunk, stride);
	if (!keys || (!values && !zeros)) {
		err = pw_fail(-ENOMEM, "%s: out of memory", name);
		goto out;
	}

	for (done = 0; done < count; done += i) {
		__u32 n = count - done < chunk ? count - done : chunk;
		const void *src = values ? (const char *)values + done * stride :
					   zeros;

		for (i = 0; i < n; i++)
			keys[i] = first + done + i;
		err = pw_update_many(m, fd, keys, sizeof(*keys), src, stride,
				     n, BPF_ANY, &batch);
		if (err) {
			err = pw_fail(err, "%s: writing entries %u..%u: %s",
				      name, first + done, first + done + n - 1,
				      strerror(-err));
			goto out;
		}
	}
out:
	free(keys);
	free(zeros);
	return err;
}

/* Keys of a hash map, all of them, or only those @keep accepts. */
static int pw_hash_keys(int fd, size_t key_size,
			bool (*keep)(const void *key, const void *arg),
			const void *arg, void **out, __u32 *nout,
			__u32 *ntotal)
{
	char *v = NULL, *cur = NULL, *next = NULL;
	__u32 n = 0, cap = 0, total = 0;
	int err;

	cur = malloc(key_size);
	next = malloc(key_size);
	if (!cur || !next) {
		err = -ENOMEM;
		goto fail;
	}
	for (err = bpf_map_get_next_key(fd, NULL, next); !err;
	     err = bpf_map_get_next_key(fd, cur, next)) {
		total++;
		if (!keep || keep(next, arg)) {
			if (n == cap) {
				char *nv;

				cap = cap ? 2 * cap : 256;
				nv = realloc(v, (size_t)cap * key_size);
				if (!nv) {
					err = -ENOMEM;
					goto fail;
				}
				v = nv;
			}
			memcpy(v + (size_t)n * key_size, next, key_size);
			n++;
		}
		memcpy(cur, next, key_size);
	}
	if (err != -ENOENT)
		goto fail;
	free(cur);
	free(next);
	*out = v;
	*nout = n;
	if (ntotal)
		*ntotal = total;
	return 0;
fail:
	free(cur);
	free(next);
	free(v);
	return err;
}

static int pw_hash_delete(const struct pw_maps *m, int fd, const void *keys,
			  size_t key_size, __u32 count)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	const char *k = keys;
	__u32 i = 0, n = count;
	int err;

	if (!m->no_batch && count) {
		err = bpf_map_delete_batch(fd, keys, &n, &opts);
		if (!err)
			return 0;
		/* unsupported, or a key went away meanwhile (-ENOENT stops
		 * a batch): go on one by one from where it stopped */
		if (n < count)
			i = n;
	}
	for (; i < count; i++) {
		err = bpf_map_delete_elem(fd, k + i * key_size);
		if (err && err != -ENOENT)
			return err;
	}
	return 0;
}

/*
 * pw_v6 buckets of generation @gen: the compiled table, then zeros up to
 * v6_cap, so that no bucket of an older table survives in the generation.
 */
static int pw_write_v6(const struct pw_maps *m, const struct pw_compiled *c,
		       __u32 gen)
{
	__u32 first = pw_v6_bucket_index(gen, m->caps.v6_cap, 1, 0, 0);
	__u32 used = c->info.v6_nbuckets;
	int err;

	err = pw_array_write(m, m->v6, "pw_v6", first, c->v6_buckets, used,
			     sizeof(struct pw_v6_bucket), false);
	if (err)
		return err;
	return pw_array_write(m, m->v6, "pw_v6", first + used, NULL,
			      m->caps.v6_cap - used,
			      sizeof(struct pw_v6_bucket), false);
}

/* pw_v4_tbl16 and pw_v4_tbl8 rows of generation @gen. */
static int pw_write_v4(const struct pw_maps *m, const struct pw_compiled *c,
		       __u32 gen)
{
	__u32 group_cap = m->caps.v4_group_cap;
	__u32 used = c->v4_ngroups * PW_V4_GROUP_ROWS;
	__u32 first8 = pw_v4_tbl8_row(pw_v4_tbl8_index(gen, group_cap, 0, 0));
	int err;

	err = pw_array_write(m, m->v4_tbl16, "pw_v4_tbl16",
			     pw_v4_tbl16_index(gen, 0), c->v4_tbl16,
			     PW_V4_TBL16_SIZE, sizeof(__u32), false);
	if (err)
		return err;
	/* the compiler's groups, 256 entries each, are 16 rows each */
	err = pw_array_write(m, m->v4_tbl8, "pw_v4_tbl8", first8, c->v4_tbl8,
			     used, sizeof(struct pw_v4_row), false);
	if (err)
		return err;
	/* groups past the ones in use: zero, so no stale group survives */
	return pw_array_write(m, m->v4_tbl8, "pw_v4_tbl8", first8 + used,
			      NULL, group_cap * PW_V4_GROUP_ROWS - used,
			      sizeof(struct pw_v4_row), false);
}

/*
 * pw_rules rows of generation @gen: the dense (dir, seg, role) layout of
 * the compiler spread over the caps' (dir, seg_cap, role_cap) layout.
 */
static int pw_write_rules(const struct pw_maps *m,
			  const struct pw_compiled *c, __u32 gen)
{
	__u32 seg_cap = m->caps.seg_cap, role_cap = m->caps.role_cap;
	__u32 per_gen = PW_NDIR * seg_cap * role_cap;
	struct pw_rule_entry *rows;
	__u32 dir, seg, role;
	int err;

	rows = calloc(per_gen, sizeof(*rows));
	if (!rows)
		return pw_fail(-ENOMEM, "pw_rules: out of memory");
	for (dir = 0; dir < PW_NDIR; dir++)
		for (seg = 0; seg < c->nsegs_max; seg++)
			for (role = 0; role < c->nroles; role++)
				rows[pw_rule_index(0, dir, seg_cap, role_cap,
						   seg, role)] =
					c->entries[((size_t)dir * c->nsegs_max +
						    seg) * c->nroles + role];
	err = pw_array_write(m, m->rules, "pw_rules",
			     pw_rule_index(gen, 0, seg_cap, role_cap, 0, 0),
			     rows, per_gen, sizeof(*rows), false);
	free(rows);
	return err;
}

int pw_maps_write_gen(const struct pw_maps *m, const struct pw_compiled *c,
		      __u32 gen)
{
	struct pw_config cfg;
	char why[160];
	int err;

	if (gen >= PW_NGEN)
		return pw_fail(-EINVAL, "generation %u: there are only 0 and 1",
			       gen);
	err = pw_caps_check(&m->caps, c, why, sizeof(why));
	if (err)
		return pw_fail(err, "policy does not fit the maps: %s", why);
	err = pw_maps_get_config(m, &cfg);
	if (err)
		return err;
	if ((cfg.active_gen & 1) == gen)
		return pw_fail(-EBUSY, "generation %u is in force; write the "
				       "other one, then flip", gen);

	err = pw_write_v4(m, c, gen);
	if (err)
		return err;
	err = pw_write_v6(m, c, gen);
	if (err)
		return err;
	err = pw_array_write(m, m->ports, "pw_ports",
			     pw_port_row_index(gen, 0, 0, 0), c->ports,
			     PW_NDIR * PW_NPROTO * PW_PORT_ROWS,
			     sizeof(struct pw_port_row), false);
	if (err)
		return err;
	err = pw_write_rules(m, c, gen);
	if (err)
		return err;
	/* shared by both generations; stable ids make this safe while the
	 * other generation is in force */
	err = pw_array_write(m, m->slots, "pw_slots", 0, c->slots, c->nslots,
			     sizeof(struct pw_counter_key), false);
	if (err)
		return err;
	err = pw_array_write(m, m->role_names, "pw_role_names", 0,
			     c->role_names, c->nroles,
			     sizeof(struct pw_role_name), false);
	if (err)
		return err;
	/* last: its bucket count and prefix lengths make the new pw_v6
	 * table reachable */
	return pw_array_write(m, m->gen, "pw_gen", gen, &c->info, 1,
			      sizeof(c->info), false);
}

/* ----------------------------------------------------------- config -- */

int pw_maps_get_config(const struct pw_maps *m, struct pw_config *cfg)
{
	__u32 zero = 0;
	int err;

	err = bpf_map_lookup_elem(m->config, &zero, cfg);
	if (err)
		return pw_fail(err, "pw_config: %s", strerror(-err));
	return 0;
}

/*
 * Both writers below read the whole value, change their fields and write
 * it back; bytes rewritten with the value they already hold are never
 * seen changing by a packet.  A flip thus changes one byte (active_gen
 * goes 0 <-> 1), and a packet sees the old generation or the new one.
 * The generation's rows were all written by earlier bpf() calls.
 */
int pw_maps_flip(const struct pw_maps *m, __u32 gen)
{
	struct pw_config cfg;
	__u32 zero = 0;
	int err;

	if (gen >= PW_NGEN)
		return pw_fail(-EINVAL, "generation %u: there are only 0 and 1",
			       gen);
	err = pw_maps_get_config(m, &cfg);
	if (err)
		return err;
	cfg.active_gen = gen;
	err = bpf_map_update_elem(m->config, &zero, &cfg, BPF_EXIST);
	if (err)
		return pw_fail(err, "pw_config: flip: %s", strerror(-err));
	return 0;
}

int pw_maps_set_config(const struct pw_maps *m, const struct pw_config *cfg)
{
	struct pw_config cur, next = *cfg;
	__u32 zero = 0;
	int err;

	err = pw_maps_get_config(m, &cur);
	if (err)
		return err;
	next.active_gen = cur.active_gen;
	err = bpf_map_update_elem(m->config, &zero, &next, BPF_EXIST);
	if (err)
		return pw_fail(err, "pw_config: %s", strerror(-err));
	return 0;
}

/* ---------------------------------------------------------- reading -- */

int pw_maps_read_gen_info(const struct pw_maps *m, __u32 gen,
			  struct pw_gen_info *info)
{
	int err;

	if (gen >= PW_NGEN)
		return pw_fail(-EINVAL, "generation %u: there are only 0 and 1",
			       gen);
	err = bpf_map_lookup_elem(m->gen, &gen, info);
	if (err)
		return pw_fail(err, "pw_gen[%u]: %s", gen, strerror(-err));
	return 0;
}

int pw_maps_read_slot(const struct pw_maps *m, __u32 slot,
		      struct pw_counter_key *key)
{
	int err = bpf_map_lookup_elem(m->slots, &slot, key);

	if (err)
		return pw_fail(err, "pw_slots[%u]: %s", slot, strerror(-err));
	return 0;
}

int pw_maps_read_role_name(const struct pw_maps *m, __u32 role,
			   struct pw_role_name *name)
{
	int err = bpf_map_lookup_elem(m->role_names, &role, name);

	if (err)
		return pw_fail(err, "pw_role_names[%u]: %s", role,
			       strerror(-err));
	return 0;
}

int pw_maps_read_rule_entry(const struct pw_maps *m, __u32 gen, __u32 dir,
			    __u32 seg, __u32 role, struct pw_rule_entry *e)
{
	__u32 idx;
	int err;

	if (gen >= PW_NGEN || dir >= PW_NDIR || seg >= m->caps.seg_cap ||
	    role >= m->caps.role_cap)
		return pw_fail(-EINVAL,
			       "pw_rules: generation %u, direction %u, segment "
			       "%u, role %u: out of range",
			       gen, dir, seg, role);
	idx = pw_rule_index(gen, dir, m->caps.seg_cap, m->caps.role_cap, seg,
			    role);
	err = bpf_map_lookup_elem(m->rules, &idx, e);
	if (err)
		return pw_fail(err, "pw_rules[%u]: %s", idx, strerror(-err));
	return 0;
}

/* The sum of a per-CPU pw_counter value @v (m->ncpus copies). */
static void pw_counter_sum(const struct pw_maps *m, const struct pw_counter *v,
			   struct pw_counter *sum)
{
	int cpu;

	memset(sum, 0, sizeof(*sum));
	for (cpu = 0; cpu < m->ncpus; cpu++) {
		sum->packets += v[cpu].packets;
		sum->bytes += v[cpu].bytes;
	}
}

/* Sum the per-CPU values of @key in @fd. */
static int pw_percpu_sum(const struct pw_maps *m, int fd, const void *key,
			 struct pw_counter *sum)
{
	struct pw_counter *v;
	int err;

	v = calloc(m->ncpus, sizeof(*v));
	if (!v)
		return -ENOMEM;
	err = bpf_map_lookup_elem(fd, key, v);
	if (!err)
		pw_counter_sum(m, v, sum);
	free(v);
	return err;
}

int pw_maps_read_counter(const struct pw_maps *m, __u32 index,
			 struct pw_counter *sum)
{
	int err = pw_percpu_sum(m, m->counters, &index, sum);

	if (err)
		return pw_fail(err, "pw_counters[%u]: %s", index,
			       strerror(-err));
	return 0;
}

int pw_maps_read_reason(const struct pw_maps *m, __u32 reason,
			struct pw_counter *sum)
{
	int err = pw_percpu_sum(m, m->reasons, &reason, sum);

	if (err)
		return pw_fail(err, "pw_reasons[%u]: %s", reason,
			       strerror(-err));
	return 0;
}

/* Delete every key of hash map @fd. */
static int pw_hash_empty(const struct pw_maps *m, int fd, const char *name,
			 size_t key_size)
{
	void *keys = NULL;
	__u32 n = 0;
	int err;

	err = pw_hash_keys(fd, key_size, NULL, NULL, &keys, &n, NULL);
	if (err)
		return pw_fail(err, "%s: listing keys: %s", name,
			       strerror(-err));
	err = pw_hash_delete(m, fd, keys, key_size, n);
	free(keys);
	if (err)
		return pw_fail(err, "%s: deleting: %s", name, strerror(-err));
	return 0;
}

int pw_maps_reset_counters(const struct pw_maps *m)
{
	int err;

	err = pw_array_write(m, m->counters, "pw_counters", 0, NULL,
			     m->caps.slot_cap * PW_NVERDICT,
			     sizeof(struct pw_counter), true);
	if (err)
		return err;
	err = pw_array_write(m, m->reasons, "pw_reasons", 0, NULL,
			     PW_NDIR * PW_NREASON, sizeof(struct pw_counter),
			     true);
	if (err)
		return err;
	err = pw_hash_empty(m, m->unnamed, "pw_unnamed",
			    sizeof(struct pw_counter_key));
	if (err)
		return err;
	return pw_hash_empty(m, m->samples, "pw_samples",
			     sizeof(struct pw_counter_key));
}

int pw_maps_reset_shadow(const struct pw_maps *m)
{
	return pw_hash_empty(m, m->shadow, "pw_shadow",
			     sizeof(struct pw_shadow_key));
}

int pw_maps_reset_flows(const struct pw_maps *m)
{
	int err = pw_hash_empty(m, m->flows, "pw_flows",
				sizeof(struct pw_flow_key));

	if (err)
		return err;
	return pw_hash_empty(m, m->ev_seen, "pw_ev_seen",
			     sizeof(struct pw_flow_key));
}

/* ------------------------------------------------- flows and events -- */

static const char *const pw_stat_names[PW_NSTAT] = {
	[PW_STAT_FLOW_INSERT] = "flow_insert",
	[PW_STAT_FLOW_INSERT_FAIL] = "flow_insert_fail",
	[PW_STAT_FLOW_CLOSED] = "flow_closed",
	[PW_STAT_FLOW_EXPIRED] = "flow_expired",
	[PW_STAT_EVENT_SENT] = "event_sent",
	[PW_STAT_EVENT_RATE_LIMITED] = "event_rate_limited",
	[PW_STAT_EVENT_LOST] = "event_lost",
	[PW_STAT_EVENT_REPEAT] = "event_repeat",
	[PW_STAT_SHADOW_FULL] = "shadow_full",
};

const char *pw_stat_name(__u32 stat)
{
	return stat < PW_NSTAT ? pw_stat_names[stat] : "?";
}

int pw_maps_read_stats(const struct pw_maps *m, __u64 out[PW_NSTAT])
{
	__u64 *v;
	__u32 i;
	int cpu, err = 0;

	v = calloc(m->ncpus, sizeof(*v));
	if (!v)
		return pw_fail(-ENOMEM, "pw_stats: out of memory");
	for (i = 0; i < PW_NSTAT && !err; i++) {
		err = bpf_map_lookup_elem(m->stats, &i, v);
		if (err) {
			err = pw_fail(err, "pw_stats[%u]: %s", i,
				      strerror(-err));
			break;
		}
		out[i] = 0;
		for (cpu = 0; cpu < m->ncpus; cpu++)
			out[i] += v[cpu];
	}
	free(v);
	return err;
}

void pw_config_defaults(struct pw_config *cfg)
{
	cfg->flow_tcp_timeout_s = PW_DEFAULT_FLOW_TCP_TIMEOUT_S;
	cfg->flow_fin_timeout_s = PW_DEFAULT_FLOW_FIN_TIMEOUT_S;
	cfg->flow_udp_timeout_s = PW_DEFAULT_FLOW_UDP_TIMEOUT_S;
	cfg->event_interval_s = PW_DEFAULT_EVENT_INTERVAL_S;
	cfg->event_rate = PW_DEFAULT_EVENT_RATE;
	cfg->event_burst = PW_DEFAULT_EVENT_BURST;
}

/*
 * Walk a hash map: keys first (the datapath keeps changing it while we
 * read), then each value; a key gone in between is skipped.  @value_size
 * is per CPU for per-CPU maps, whose values come as @ncpus copies.
 */
static int pw_hash_walk(const struct pw_maps *m, int fd, const char *name,
			size_t key_size, size_t value_size, bool percpu,
			int (*visit)(const void *key, const void *value,
				     void *arg),
			void *arg)
{
	void *keys = NULL, *value;
	__u32 n = 0, i;
	int err;

	err = pw_hash_keys(fd, key_size, NULL, NULL, &keys, &n, NULL);
	if (err)
		return pw_fail(err, "%s: listing keys: %s", name,
			       strerror(-err));
	value = calloc(1, pw_stride(m, value_size, percpu));
	if (!value) {
		free(keys);
		return pw_fail(-ENOMEM, "%s: out of memory", name);
	}
	for (i = 0; i < n; i++) {
		const void *key = (const char *)keys + (size_t)i * key_size;

		err = bpf_map_lookup_elem(fd, key, value);
		if (err == -ENOENT)
			continue;
		if (err) {
			err = pw_fail(err, "%s: %s", name, strerror(-err));
			break;
		}
		err = visit(key, value, arg);
		if (err)
			break;
	}
	free(value);
	free(keys);
	return err;
}

struct pw_walk_ctx {
	const struct pw_maps *m;
	void *cb;
	void *arg;
};

static int pw_visit_flow(const void *key, const void *value, void *arg)
{
	struct pw_walk_ctx *w = arg;

	return ((pw_flow_cb)w->cb)(key, value, w->arg);
}

int pw_maps_foreach_flow(const struct pw_maps *m, pw_flow_cb cb, void *arg)
{
	struct pw_walk_ctx w = { m, (void *)cb, arg };

	return pw_hash_walk(m, m->flows, "pw_flows",
			    sizeof(struct pw_flow_key), sizeof(struct pw_flow),
			    false, pw_visit_flow, &w);
}

static int pw_visit_sample(const void *key, const void *value, void *arg)
{
	struct pw_walk_ctx *w = arg;

	return ((pw_sample_cb)w->cb)(key, value, w->arg);
}

int pw_maps_foreach_sample(const struct pw_maps *m, pw_sample_cb cb,
			   void *arg)
{
	struct pw_walk_ctx w = { m, (void *)cb, arg };

	return pw_hash_walk(m, m->samples, "pw_samples",
			    sizeof(struct pw_counter_key),
			    sizeof(struct pw_sample), false, pw_visit_sample,
			    &w);
}

static int pw_visit_unnamed(const void *key, const void *value, void *arg)
{
	struct pw_walk_ctx *w = arg;
	struct pw_counter sum;

	pw_counter_sum(w->m, value, &sum);
	return ((pw_unnamed_cb)w->cb)(key, &sum, w->arg);
}

int pw_maps_foreach_unnamed(const struct pw_maps *m, pw_unnamed_cb cb,
			    void *arg)
{
	struct pw_walk_ctx w = { m, (void *)cb, arg };

	return pw_hash_walk(m, m->unnamed, "pw_unnamed",
			    sizeof(struct pw_counter_key),
			    sizeof(struct pw_counter), true, pw_visit_unnamed,
			    &w);
}

static int pw_visit_shadow(const void *key, const void *value, void *arg)
{
	struct pw_walk_ctx *w = arg;
	struct pw_counter sum;

	pw_counter_sum(w->m, value, &sum);
	return ((pw_shadow_cb)w->cb)(key, &sum, w->arg);
}

int pw_maps_foreach_shadow(const struct pw_maps *m, pw_shadow_cb cb,
			   void *arg)
{
	struct pw_walk_ctx w = { m, (void *)cb, arg };

	return pw_hash_walk(m, m->shadow, "pw_shadow",
			    sizeof(struct pw_shadow_key),
			    sizeof(struct pw_counter), true, pw_visit_shadow,
			    &w);
}

struct pw_usage_ctx {
	struct pw_flow_usage *u;
	struct pw_config cfg;
	__u64 now;
};

static int pw_count_flow(const struct pw_flow_key *key,
			 const struct pw_flow *f, void *arg)
{
	struct pw_usage_ctx *c = arg;

	c->u->entries++;
	if (c->now - f->last_ns > pw_flow_timeout_ns(&c->cfg, f, key->proto))
		return 0;
	c->u->live++;
	if (f->origin == PW_FLOW_OPENED)
		c->u->opened++;
	else
		c->u->inbound++;
	return 0;
}

int pw_maps_flow_usage(const struct pw_maps *m, __u64 now_ns,
		       struct pw_flow_usage *u)
{
	struct pw_usage_ctx c = { .u = u, .now = now_ns };
	__u64 st[PW_NSTAT], gone;
	struct timespec ts;
	int err;

	memset(u, 0, sizeof(*u));
	u->capacity = m->caps.flow_cap;
	if (!c.now) {
		clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
		c.now = (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	}
	err = pw_maps_get_config(m, &c.cfg);
	if (err)
		return err;
	err = pw_maps_read_stats(m, st);
	if (err)
		return err;
	err = pw_maps_foreach_flow(m, pw_count_flow, &c);
	if (err)
		return err;
	u->inserted = st[PW_STAT_FLOW_INSERT];
	u->closed = st[PW_STAT_FLOW_CLOSED];
	u->expired = st[PW_STAT_FLOW_EXPIRED];
	u->insert_failed = st[PW_STAT_FLOW_INSERT_FAIL];
	gone = u->closed + u->expired + u->entries;
	/* counters and the walk are not one snapshot: never below 0 */
	u->evicted = u->inserted > gone ? u->inserted - gone : 0;
	u->full = u->entries >= u->capacity;
	return 0;
}
