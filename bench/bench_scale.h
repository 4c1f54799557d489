/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * bench_scale.h - pw-bench --scaling: per-packet cost, compile and load
 * time and map memory against the size of the inventory and of the
 * policy.  Prints markdown tables and the targets on stdout.
 */
#ifndef PW_BENCH_SCALE_H
#define PW_BENCH_SCALE_H

#include <stdint.h>

struct bench_scale_opts {
	uint32_t repeat; /* test-run repeat count */
	int rounds;      /* rounds; the tables show medians */
};

/* Run every size; 0 or -errno (with a message on stderr). */
int bench_scale_run(const struct bench_scale_opts *o);

#endif /* PW_BENCH_SCALE_H */
