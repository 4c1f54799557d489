// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * bench_util.c - pw-bench plumbing: test runs, packets, map helpers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>

#include "bench_util.h"

/* The host under test: 198.19.255.1 / 2001:db8:ffff::1 (never inventoried). */
static const uint8_t bench_dst4[4] = { 198, 19, 255, 1 };
static const uint8_t bench_dst6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff,
					0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };

static uint16_t ip_checksum(const void *hdr, size_t len)
{
	const uint8_t *b = hdr;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

static size_t put_ipv4(uint8_t *p, const uint8_t *src, size_t l4len)
{
	struct iphdr *ip = (struct iphdr *)p;

	memset(ip, 0, sizeof(*ip));
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons((uint16_t)(sizeof(*ip) + l4len));
	ip->id = htons(1);
	ip->ttl = 64;
	ip->protocol = IPPROTO_TCP;
	memcpy(&ip->saddr, src, 4);
	memcpy(&ip->daddr, bench_dst4, 4);
	ip->check = ip_checksum(ip, sizeof(*ip));
	return sizeof(*ip);
}

static size_t put_ipv6(uint8_t *p, const uint8_t *src, size_t l4len)
{
	struct ipv6hdr *ip6 = (struct ipv6hdr *)p;

	memset(ip6, 0, sizeof(*ip6));
	ip6->version = 6;
	ip6->payload_len = htons((uint16_t)l4len);
	ip6->nexthdr = IPPROTO_TCP;
	ip6->hop_limit = 64;
	memcpy(&ip6->saddr, src, 16);
	memcpy(&ip6->daddr, bench_dst6, 16);
	return sizeof(*ip6);
}

void bench_pkt_tcp_syn(struct bench_pkt *pkt, int family, const uint8_t *src,
		       uint16_t dport)
{
	static const uint8_t mac_dst[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x02 };
	static const uint8_t mac_src[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x01 };
	struct ethhdr *eth = (struct ethhdr *)pkt->data;
	struct tcphdr *tcp;
	size_t off = sizeof(*eth);

	memset(pkt, 0, sizeof(*pkt));
	memcpy(eth->h_dest, mac_dst, ETH_ALEN);
	memcpy(eth->h_source, mac_src, ETH_ALEN);
	eth->h_proto = htons(family == 4 ? ETH_P_IP : ETH_P_IPV6);
	if (family == 4)
		off += put_ipv4(pkt->data + off, src, sizeof(*tcp));
	else
		off += put_ipv6(pkt->data + off, src, sizeof(*tcp));

	tcp = (struct tcphdr *)(pkt->data + off);
	tcp->source = htons(40000);
	tcp->dest = htons(dport);
	tcp->seq = htonl(1);
	tcp->doff = sizeof(*tcp) / 4;
	tcp->syn = 1;
	tcp->window = htons(64240);
	pkt->len = off + sizeof(*tcp);
}

void bench_pkt_tcp_ack(struct bench_pkt *pkt, int family, const uint8_t *src,
		       uint16_t dport)
{
	struct tcphdr *tcp;

	bench_pkt_tcp_syn(pkt, family, src, dport);
	tcp = (struct tcphdr *)(pkt->data + pkt->len - sizeof(*tcp));
	tcp->syn = 0;
	tcp->ack = 1;
	tcp->ack_seq = htonl(1);
}

static double thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int bench_test_run(int prog_fd, const struct bench_pkt *pkt, uint32_t repeat,
		   struct bench_run *run)
{
	/* the program may rewrite the packet (random source): give it a copy */
	uint8_t data[BENCH_PKT_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data,
		    .data_size_in = (__u32)pkt->len, .repeat = repeat);
	double t0;

	memcpy(data, pkt->data, pkt->len);
	t0 = thread_cpu_ns();
	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -errno;
	run->ns = (thread_cpu_ns() - t0) / (repeat ? repeat : 1);
	run->kernel_ns = opts.duration;
	run->retval = opts.retval;
	return 0;
}

static struct bpf_map *find_rodata(const struct bpf_object *obj)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj) {
		const char *name = bpf_map__name(map);
		size_t len = strlen(name);

		if (bpf_map__is_internal(map) && len >= 7 &&
		    strcmp(name + len - 7, ".rodata") == 0)
			return map;
	}
	return NULL;
}

/* Offset of @var in the .rodata datasec, or -ENOENT. */
static long rodata_offset(const struct bpf_object *obj, const char *var)
{
	struct btf *btf = bpf_object__btf(obj);
	const struct btf_var_secinfo *vsi;
	const struct btf_type *sec;
	int id;

	if (!btf)
		return -ENOENT;
	id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
	if (id < 0)
		return -ENOENT;
	sec = btf__type_by_id(btf, id);
	vsi = btf_var_secinfos(sec);
	for (int i = 0; i < btf_vlen(sec); i++, vsi++) {
		const struct btf_type *v = btf__type_by_id(btf, vsi->type);

		if (strcmp(btf__name_by_offset(btf, v->name_off), var) == 0)
			return vsi->size == sizeof(uint32_t) ? (long)vsi->offset
							     : -EINVAL;
	}
	return -ENOENT;
}

int bench_rodata_set_u32(struct bpf_object *obj, const char *var, uint32_t val)
{
	struct bpf_map *map = find_rodata(obj);
	long off = rodata_offset(obj, var);
	size_t size;
	uint8_t *data;

	if (!map || off < 0)
		return off < 0 ? (int)off : -ENOENT;
	/* const in libbpf < 1.2, but writable until load: it is the
	 * buffer the skeleton's rodata pointer points at */
	data = (uint8_t *)bpf_map__initial_value(map, &size);
	if (!data || (size_t)off + sizeof(val) > size)
		return -EINVAL;
	memcpy(data + off, &val, sizeof(val));
	return 0;
}

int bench_srcs_size(struct bpf_object *obj, const struct bench_inv *inv)
{
	struct bpf_map *m4 = bpf_object__find_map_by_name(obj, "pw_bench_src4");
	struct bpf_map *m6 = bpf_object__find_map_by_name(obj, "pw_bench_src6");
	uint32_t n = (uint32_t)inv->npfx;
	int err;

	if (!m4 || !m6)
		return 0;
	/* the other family's table keeps one unused entry (count 0) */
	err = bpf_map__set_max_entries(inv->family == 4 ? m4 : m6, n);
	if (!err)
		err = bench_rodata_set_u32(obj, inv->family == 4 ? "pw_bench_n4"
								 : "pw_bench_n6",
					   n);
	return err;
}

int bench_srcs_fill(struct bpf_object *obj, const struct bench_inv *inv)
{
	int fd = bench_map_fd(obj, inv->family == 4 ? "pw_bench_src4"
						    : "pw_bench_src6");

	if (fd == -ENOENT)
		return 0;
	for (uint32_t i = 0; i < inv->npfx; i++) {
		const void *val = inv->pfx[i].src; /* first 4 bytes for IPv4 */

		if (bpf_map_update_elem(fd, &i, val, BPF_ANY))
			return -errno;
	}
	return 0;
}

static long long fd_memlock(int fd)
{
	char path[64], line[256];
	long long bytes = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %lld", &bytes) == 1)
			break;
	fclose(f);
	return bytes;
}

long long bench_obj_memlock(const struct bpf_object *obj, FILE *detail)
{
	struct bpf_map *map;
	long long total = 0;

	bpf_object__for_each_map(map, obj) {
		long long bytes = fd_memlock(bpf_map__fd(map));

		if (bytes < 0)
			return bytes;
		if (detail)
			fprintf(detail, "    %-20s %10.1f KiB\n",
				bpf_map__name(map), bytes / 1024.0);
		total += bytes;
	}
	return total;
}

int bench_map_fd(const struct bpf_object *obj, const char *name)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, name);

	return map ? bpf_map__fd(map) : -ENOENT;
}

int bench_percpu_counter(int map_fd, uint32_t key, struct pw_counter *sum)
{
	int ncpu = libbpf_num_possible_cpus();
	struct pw_counter *vals;
	int err = 0;

	if (ncpu < 0)
		return ncpu;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	memset(sum, 0, sizeof(*sum));
	if (bpf_map_lookup_elem(map_fd, &key, vals)) {
		err = -errno;
		goto out;
	}
	for (int i = 0; i < ncpu; i++) {
		sum->packets += vals[i].packets;
		sum->bytes += vals[i].bytes;
	}
out:
	free(vals);
	return err;
}

int bench_pin_cpu(int *cpu)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;

	if (n < 1)
		return -EINVAL;
	CPU_ZERO(&set);
	CPU_SET((int)(n - 1), &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return -errno;
	*cpu = (int)(n - 1);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_median(const double *v, int n)
{
	double *s = n > 0 ? malloc(sizeof(*s) * (size_t)n) : NULL;
	double m;

	if (!s)
		return 0;
	memcpy(s, v, sizeof(*s) * (size_t)n);
	qsort(s, (size_t)n, sizeof(*s), cmp_double);
	m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	free(s);
	return m;
}

double bench_median_diff(const double *a, const double *b, int n)
{
	double *d = n > 0 ? malloc(sizeof(*d) * (size_t)n) : NULL;
	double m;

	if (!d)
		return 0;
	for (int i = 0; i < n; i++)
		d[i] = a[i] - b[i];
	m = bench_median(d, n);
	free(d);
	return m;
}

int bench_libbpf_quiet(enum libbpf_print_level level, const char *fmt,
		       va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

double bench_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
