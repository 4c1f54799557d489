// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * bench_pw.c - load portwarden for pw-bench, through the map writer.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "bench_pw.h"
#include "bench_util.h"
#include "portwarden.skel.h"
#include "bench_pw_spread.skel.h"

static int maps_fail(const char *what, int err)
{
	fprintf(stderr, "pw-bench: %s: %s\n", what,
		*pw_maps_errmsg() ? pw_maps_errmsg() : strerror(-err));
	return err;
}

static int write_and_flip(struct bench_pw *pw, const struct pw_compiled *c)
{
	struct pw_config cfg;
	double t0;
	__u32 gen;
	int err;

	err = pw_maps_get_config(&pw->maps, &cfg);
	if (err)
		return maps_fail("read config", err);
	gen = !(cfg.active_gen & 1);
	t0 = bench_now_ms();
	err = pw_maps_write_gen(&pw->maps, c, gen);
	if (err)
		return maps_fail("write generation", err);
	err = pw_maps_flip(&pw->maps, gen);
	if (err)
		return maps_fail("flip", err);
	pw->write_ms = bench_now_ms() - t0;
	return 0;
}

int bench_pw_load(struct bench_pw *pw, const struct pw_compiled *c)
{
	int err;

	memset(pw, 0, sizeof(*pw));
	pw->spread_fd = -1;
	pw->skel = portwarden__open();
	if (!pw->skel)
		return -errno;
	pw_caps_default(&pw->caps);
	pw_caps_fit(&pw->caps, c);
	err = pw_skel_configure(pw->skel, &pw->caps);
	if (err)
		return maps_fail("configure", err);
	err = portwarden__load(pw->skel);
	if (err)
		return err;
	err = pw_maps_from_skel(pw->skel, &pw->caps, &pw->maps);
	if (err)
		return maps_fail("maps", err);
	err = write_and_flip(pw, c);
	if (!err)
		err = bench_pw_set_mode(pw, PW_MODE_AUDIT);
	pw->prog_fd = bpf_program__fd(pw->skel->progs.pw_xdp_ingress);
	return err;
}

/* Point every map of @to that @from has by name at @from's map. */
static int reuse_maps(struct bpf_object *to, const struct bpf_object *from)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, from) {
		struct bpf_map *twin;
		int err;

		if (bpf_map__is_internal(map))
			continue; /* .rodata etc.: each program has its own */
		twin = bpf_object__find_map_by_name(to, bpf_map__name(map));
		if (!twin)
			return -ENOENT;
		err = bpf_map__reuse_fd(twin, bpf_map__fd(map));
		if (err)
			return err;
	}
	return 0;
}

/* The capacities pw_skel_configure() puts into the hot program's rodata. */
static int set_caps_rodata(struct bpf_object *obj, const struct pw_caps *caps)
{
	int err = bench_rodata_set_u32(obj, "pw_role_cap", caps->role_cap);

	if (!err)
		err = bench_rodata_set_u32(obj, "pw_seg_cap", caps->seg_cap);
	if (!err)
		err = bench_rodata_set_u32(obj, "pw_v4_group_cap",
					   caps->v4_group_cap);
	if (!err)
		err = bench_rodata_set_u32(obj, "pw_v6_cap", caps->v6_cap);
	return err;
}

int bench_pw_load_spread(struct bench_pw *pw, const struct bench_inv *inv)
{
	struct bpf_object *obj;
	int err;

	pw->spread_skel = bench_pw_spread__open();
	if (!pw->spread_skel)
		return -errno;
	obj = pw->spread_skel->obj;
	if (!bpf_object__find_map_by_name(obj, "pw_bench_src4")) {
		fprintf(stderr, "pw-bench: bpf/portwarden.bpf.c does not call "
				"pw_bench_pick() under PW_BENCH_SPREAD\n");
		return -ENOENT;
	}
	err = set_caps_rodata(obj, &pw->caps);
	if (!err)
		err = reuse_maps(obj, pw->skel->obj);
	if (!err)
		err = bench_srcs_size(obj, inv);
	if (!err)
		err = bench_pw_spread__load(pw->spread_skel);
	if (!err)
		err = bench_srcs_fill(obj, inv);
	if (!err)
		pw->spread_fd =
			bpf_program__fd(pw->spread_skel->progs.pw_xdp_ingress);
	return err;
}

int bench_pw_set_mode(struct bench_pw *pw, __u32 mode)
{
	struct pw_config cfg;
	int err = pw_maps_get_config(&pw->maps, &cfg);

	if (err)
		return maps_fail("read config", err);
	cfg.mode = mode;
	cfg.enforce_deadline_ns = 0;
	cfg.unchecked_drop = PW_UNCHECKED_DROP_DEFAULT;
	err = pw_maps_set_config(&pw->maps, &cfg);
	return err ? maps_fail("set config", err) : 0;
}

void bench_pw_destroy(struct bench_pw *pw)
{
	bench_pw_spread__destroy(pw->spread_skel);
	portwarden__destroy(pw->skel);
	memset(pw, 0, sizeof(*pw));
	pw->spread_fd = -1;
}
