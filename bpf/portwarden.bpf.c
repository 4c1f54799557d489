// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* portwarden XDP ingress program (pass-through until the datapath lands). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "portwarden.h"

SEC("xdp")
int pw_xdp_ingress(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
