// SPDX-License-Identifier: GPL-2.0-only
/*
 * The XDP prefilter: packets whose source is inside a denied prefix are
 * dropped before the stack sees them. Anything it cannot read (not IP, VLAN
 * tagged, truncated) is passed: a prefilter drops only what it knows.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include <sluice/abi.h>

struct prefilter_v4_key {
	__u32 prefixlen;
	__u8 addr[4];
};

struct prefilter_v6_key {
	__u32 prefixlen;
	__u8 addr[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct prefilter_v4_key);
	__type(value, __u8);
} sluice_prefilter_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct prefilter_v6_key);
	__type(value, __u8);
} sluice_prefilter_v6 SEC(".maps");

/* The endpoint programs' drop counters: user space shares one pinned map
 * between the objects. */
#include "lib/drops_map.h"

static __attribute__((always_inline)) inline int deny(struct xdp_md *ctx)
{
	__u32 idx = SL_DROP_PREFILTER;
	struct sl_counter *c = bpf_map_lookup_elem(&sluice_drops, &idx);

	if (c) {
		c->packets++;
		c->bytes += (__u64)(ctx->data_end - ctx->data);
	}
	return XDP_DROP;
}

SEC("xdp")
int sluice_prefilter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		struct prefilter_v4_key k = { .prefixlen = 32 };

		if ((void *)(ip + 1) > end)
			return XDP_PASS;
		__builtin_memcpy(k.addr, &ip->saddr, 4);
		if (bpf_map_lookup_elem(&sluice_prefilter_v4, &k))
			return deny(ctx);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		struct prefilter_v6_key k = { .prefixlen = 128 };

		if ((void *)(ip6 + 1) > end)
			return XDP_PASS;
		__builtin_memcpy(k.addr, &ip6->saddr, 16);
		if (bpf_map_lookup_elem(&sluice_prefilter_v6, &k))
			return deny(ctx);
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
