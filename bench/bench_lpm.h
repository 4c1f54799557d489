/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * bench_lpm.h - the LPM-trie baseline of pw-bench (bench_lpm.bpf.c), loaded
 * with the same inventory as portwarden.
 */
#ifndef PW_BENCH_LPM_H
#define PW_BENCH_LPM_H

#include <stdbool.h>

#include <bpf/libbpf.h>

#include "bench_inv.h"

struct bench_lpm_prog {
	void *skel;             /* struct bench_lpm or struct bench_lpm_spread */
	struct bpf_object *obj; /* borrowed from skel */
	int prog_fd;
	int counters_fd;        /* role id -> per-CPU pw_counter */
	bool spread;
};

/*
 * Load the baseline (@spread: the variant that picks a random source from
 * @inv first) and insert every prefix of @inv; role id = inventory role + 1.
 */
int bench_lpm_load(struct bench_lpm_prog *lp, const struct bench_inv *inv,
		   bool spread);
void bench_lpm_destroy(struct bench_lpm_prog *lp);

#endif /* PW_BENCH_LPM_H */
