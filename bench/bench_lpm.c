// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * bench_lpm.c - load and fill the LPM-trie baseline.
 */
#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench_lpm.h"
#include "bench_util.h"
#include "bench_lpm.skel.h"
#include "bench_lpm_spread.skel.h"

/* Same layout as the BPF side's keys: prefix length, then the address. */
struct lpm_key {
	__u32 prefixlen;
	__u8 addr[16];
};

static int size_trie(struct bpf_object *obj, const struct bench_inv *inv)
{
	const char *name = inv->family == 4 ? "bench_lpm_v4" : "bench_lpm_v6";
	struct bpf_map *map = bpf_object__find_map_by_name(obj, name);

	if (!map)
		return -ENOENT;
	return bpf_map__set_max_entries(map, (__u32)inv->npfx);
}

static int fill_trie(struct bpf_object *obj, const struct bench_inv *inv)
{
	const char *name = inv->family == 4 ? "bench_lpm_v4" : "bench_lpm_v6";
	int fd = bench_map_fd(obj, name);

	if (fd < 0)
		return fd;
	for (size_t i = 0; i < inv->npfx; i++) {
		const struct bench_prefix *p = &inv->pfx[i];
		struct lpm_key key = { .prefixlen = p->plen };
		__u32 role = (__u32)p->role + 1;

		memcpy(key.addr, p->addr, sizeof(key.addr));
		if (bpf_map_update_elem(fd, &key, &role, BPF_NOEXIST))
			return -errno;
	}
	return 0;
}

static int open_skel(struct bench_lpm_prog *lp)
{
	if (lp->spread) {
		struct bench_lpm_spread *s = bench_lpm_spread__open();

		if (!s)
			return -errno;
		lp->skel = s;
		lp->obj = s->obj;
	} else {
		struct bench_lpm *s = bench_lpm__open();

		if (!s)
			return -errno;
		lp->skel = s;
		lp->obj = s->obj;
	}
	return 0;
}

static int load_skel(struct bench_lpm_prog *lp)
{
	int err = lp->spread ? bench_lpm_spread__load(lp->skel)
			     : bench_lpm__load(lp->skel);

	return err ? -errno : 0;
}

int bench_lpm_load(struct bench_lpm_prog *lp, const struct bench_inv *inv,
		   bool spread)
{
	struct bpf_program *prog;
	int err;

	memset(lp, 0, sizeof(*lp));
	lp->spread = spread;
	err = open_skel(lp);
	if (err)
		return err;
	err = size_trie(lp->obj, inv);
	if (!err && spread)
		err = bench_srcs_size(lp->obj, inv);
	if (!err)
		err = load_skel(lp);
	if (!err)
		err = fill_trie(lp->obj, inv);
	if (!err && spread)
		err = bench_srcs_fill(lp->obj, inv);
	if (err)
		goto fail;

	prog = bpf_object__find_program_by_name(lp->obj, "bench_lpm");
	lp->prog_fd = prog ? bpf_program__fd(prog) : -ENOENT;
	lp->counters_fd = bench_map_fd(lp->obj, "bench_lpm_counters");
	if (lp->prog_fd < 0 || lp->counters_fd < 0) {
		err = -ENOENT;
		goto fail;
	}
	return 0;
fail:
	bench_lpm_destroy(lp);
	return err;
}

void bench_lpm_destroy(struct bench_lpm_prog *lp)
{
	if (lp->spread)
		bench_lpm_spread__destroy(lp->skel);
	else
		bench_lpm__destroy(lp->skel);
	memset(lp, 0, sizeof(*lp));
}
