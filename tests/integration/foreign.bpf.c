// SPDX-License-Identifier: GPL-2.0-only
/* Programs that are not sluice's, for the ownership tests: they pass
 * everything on and are named so that sluice must leave them alone. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int other_tc_pass(struct __sk_buff *skb __attribute__((unused)))
{
	return -1; /* TC_ACT_UNSPEC: the next filter decides */
}

SEC("xdp")
int other_xdp_pass(struct xdp_md *ctx __attribute__((unused)))
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
