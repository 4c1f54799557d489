/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * bench_util.h - pw-bench plumbing: test runs, packets, map helpers.
 */
#ifndef PW_BENCH_UTIL_H
#define PW_BENCH_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <bpf/libbpf.h>

#include "portwarden.h"
#include "bench_inv.h"

/* Large enough for Ethernet + IPv6 + TCP. */
#define BENCH_PKT_MAX 128

struct bench_pkt {
	uint8_t data[BENCH_PKT_MAX];
	size_t len;
};

/* An Ethernet + IPv4/IPv6 + TCP SYN frame from @src to @dport. */
void bench_pkt_tcp_syn(struct bench_pkt *pkt, int family, const uint8_t *src,
		       uint16_t dport);

/*
 * The same frame as an ACK: a segment of a connection under way.  The
 * datapath does flow-table work for SYNs only, so this is the common
 * packet, and the SYN the cost of a new connection.
 */
void bench_pkt_tcp_ack(struct bench_pkt *pkt, int family, const uint8_t *src,
		       uint16_t dport);

struct bench_run {
	double ns;          /* thread CPU time of the call / repeat */
	uint32_t kernel_ns; /* the kernel's own figure: whole ns only */
	uint32_t retval;    /* the program's return on the last repeat */
};

/*
 * Run @prog_fd on @pkt @repeat times with BPF_PROG_TEST_RUN.  The thread's
 * CPU time is used rather than the kernel's figure because that one is
 * truncated to whole nanoseconds; both exclude time spent scheduled out.
 */
int bench_test_run(int prog_fd, const struct bench_pkt *pkt, uint32_t repeat,
		   struct bench_run *run);

/* Set a `const volatile __u32` of the object's .rodata; before load. */
int bench_rodata_set_u32(struct bpf_object *obj, const char *var, uint32_t val);

/*
 * Random-source tables of bench_pick.h: size them and set the counts from
 * @inv (before load), then fill them (after load).  Objects without the
 * tables are left alone by both.
 */
int bench_srcs_size(struct bpf_object *obj, const struct bench_inv *inv);
int bench_srcs_fill(struct bpf_object *obj, const struct bench_inv *inv);

/*
 * Sum of "memlock:" in /proc/self/fdinfo of every map of @obj, or -errno;
 * each map's share goes to @detail unless it is NULL.
 */
long long bench_obj_memlock(const struct bpf_object *obj, FILE *detail);

/* A map's fd by name, or -ENOENT. */
int bench_map_fd(const struct bpf_object *obj, const char *name);

/* Sum over CPUs of a per-CPU pw_counter at @key. */
int bench_percpu_counter(int map_fd, uint32_t key, struct pw_counter *sum);

/* Pin the calling thread to the last online CPU; 0 or -errno. */
int bench_pin_cpu(int *cpu);

double bench_now_ms(void);

/* The median of @n values; of the @n differences a[i] - b[i]. */
double bench_median(const double *v, int n);
double bench_median_diff(const double *a, const double *b, int n);

/* libbpf's print callback for the benches: warnings only. */
int bench_libbpf_quiet(enum libbpf_print_level level, const char *fmt,
		       va_list ap);

#endif /* PW_BENCH_UTIL_H */
