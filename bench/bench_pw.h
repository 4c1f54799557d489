/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * bench_pw.h - portwarden's own XDP program, loaded for pw-bench through
 * the real map writer (user/maps.c).
 *
 * Two programs share one set of maps: the program as built (hot cases)
 * and the same source built with -DPW_BENCH_SPREAD (spread cases: the
 * random source pick of bench_pick.h runs first).  The spread object
 * reuses the maps of the first, so both judge against the very tables the
 * map writer wrote, and the memory figure is that of one load.
 */
#ifndef PW_BENCH_PW_H
#define PW_BENCH_PW_H

#include "compile.h"
#include "maps.h"
#include "bench_inv.h"

struct portwarden;
struct bench_pw_spread;

struct bench_pw {
	struct portwarden *skel;
	struct bench_pw_spread *spread_skel; /* NULL until loaded */
	struct pw_caps caps;
	struct pw_maps maps;
	int prog_fd;
	int spread_fd;   /* -1 until loaded */
	double write_ms; /* writing one generation and flipping to it */
};

/*
 * Load portwarden sized for @c (pw_caps_fit), write @c into the inactive
 * generation, flip to it and set the host mode to audit.  0 or -errno,
 * with the map writer's message printed.
 */
int bench_pw_load(struct bench_pw *pw, const struct pw_compiled *c);

/* Load the spread variant over the same maps, drawing sources from @inv. */
int bench_pw_load_spread(struct bench_pw *pw, const struct bench_inv *inv);

/* Host mode: PW_MODE_AUDIT or PW_MODE_ENFORCE. */
int bench_pw_set_mode(struct bench_pw *pw, __u32 mode);

/* NULL-safe on a zeroed or half-loaded @pw. */
void bench_pw_destroy(struct bench_pw *pw);

#endif /* PW_BENCH_PW_H */
