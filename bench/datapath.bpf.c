// SPDX-License-Identifier: GPL-2.0-only
/*
 * Programs for bench/datapath: baselines, and wrappers that make every
 * BPF_PROG_TEST_RUN iteration a new flow. The test run reuses one skb for
 * all its iterations, so a wrapper gives each a fresh source port (1024 +
 * n % 60000) and, every 60,000 iterations, a fresh source address (out of
 * the endpoint: egress policy is the endpoint's, whatever its source) or
 * destination port (into the endpoint), so that no tuple comes back for
 * 3.9 billion iterations (with the port alone, every iteration after the
 * first 60,000 found its flow's conntrack entries), and puts the frontend
 * back as the destination; bench_rewrite_only and
 * bench_rewrite_sport_only do the same rewriting and nothing else, so
 * that its cost can be taken out.
 */
#define SLUICE_BENCH
#include "../bpf/datapath.bpf.c"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} bench_seq SEC(".maps");

/* The frontend the wrappers restore, set before load (network order). */
const volatile __u32 bench_frontend_addr = 0;
const volatile __u16 bench_frontend_port = 0;

static __inline int renew(struct __sk_buff *skb)
{
	__u32 zero = 0, *seq = bpf_map_lookup_elem(&bench_seq, &zero);
	__u32 addr = bench_frontend_addr;
	__u16 port = bench_frontend_port, sport;

	if (!seq)
		return -1;
	__u32 src;

	*seq += 1;
	sport = bpf_htons((__u16)(1024 + (*seq % 60000)));
	src = bpf_htonl(0x0a400000 | ((*seq / 60000) & 0xffff)); /* 10.64.0.0/16 */
	/* Ethernet 14 + IPv4 20: TCP source port at 34, destination at 36. */
	if (bpf_skb_store_bytes(skb, 34, &sport, 2, 0) < 0 || bpf_skb_store_bytes(skb, 36, &port, 2, 0) < 0 ||
	    bpf_skb_store_bytes(skb, 30, &addr, 4, 0) < 0 || bpf_skb_store_bytes(skb, 26, &src, 4, 0) < 0)
		return -1;
	return 0;
}

/* A fresh source port, and destination port every 60,000 (the addresses
 * kept): a new flow into the endpoint each iteration. */
static __inline int renew_sport(struct __sk_buff *skb)
{
	__u32 zero = 0, *seq = bpf_map_lookup_elem(&bench_seq, &zero);
	__u16 sport, dport;

	if (!seq)
		return -1;
	*seq += 1;
	sport = bpf_htons((__u16)(1024 + (*seq % 60000)));
	dport = bpf_htons((__u16)(1024 + (*seq / 60000) % 60000));
	return bpf_skb_store_bytes(skb, 34, &sport, 2, 0) < 0 || bpf_skb_store_bytes(skb, 36, &dport, 2, 0) < 0 ? -1
														      : 0;
}

SEC("tc")
int bench_empty_tc(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

SEC("xdp")
int bench_empty_xdp(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("tc")
int bench_rewrite_only(struct __sk_buff *skb)
{
	return renew(skb) < 0 ? TC_ACT_SHOT : TC_ACT_OK;
}

SEC("tc")
int bench_new_flow(struct __sk_buff *skb)
{
	if (renew(skb) < 0)
		return TC_ACT_SHOT;
	return from_endpoint(skb);
}

SEC("tc")
int bench_rewrite_sport_only(struct __sk_buff *skb)
{
	return renew_sport(skb) < 0 ? TC_ACT_SHOT : TC_ACT_OK;
}

/* A new flow into the endpoint each iteration (to_endpoint; the mark
 * cleared, as bench_to_endpoint does). */
SEC("tc")
int bench_new_flow_in(struct __sk_buff *skb)
{
	skb->mark = 0;
	if (renew_sport(skb) < 0)
		return TC_ACT_SHOT;
	return to_endpoint(skb);
}

SEC("tc")
int bench_from_endpoint(struct __sk_buff *skb)
{
	return from_endpoint(skb);
}

/* to_endpoint with and without the overlay's identity mark: the test run
 * reuses the skb, whose mark to_endpoint takes off, so each iteration sets
 * it again (and the plain one clears it, for the same cost). */
SEC("tc")
int bench_to_endpoint(struct __sk_buff *skb)
{
	skb->mark = 0;
	return to_endpoint(skb);
}

SEC("tc")
int bench_to_endpoint_marked(struct __sk_buff *skb)
{
	skb->mark = sl_mark_identity(2000);
	return to_endpoint(skb);
}

/* from_endpoint with the mark cleared each iteration: a flow delivered to
 * the proxy leaves its mark on the reused skb. */
SEC("tc")
int bench_from_endpoint_unmarked(struct __sk_buff *skb)
{
	skb->mark = 0;
	return from_endpoint(skb);
}

/* What sluice_to_endpoint hairpins for the proxy, back at from_endpoint:
 * the mark set again each iteration (from_endpoint keeps it; the same
 * store for both). */
SEC("tc")
int bench_from_endpoint_hairpinned(struct __sk_buff *skb)
{
	skb->mark = sl_mark_proxy(15001);
	return from_endpoint(skb);
}

SEC("tc")
int bench_from_overlay(struct __sk_buff *skb)
{
	skb->mark = 0;
	return from_overlay(skb);
}

/* The floor of the tunnel's egress: a redirect alone, and a tunnel key
 * put then a redirect (the helper allocates the packet's tunnel metadata),
 * nothing else. */
SEC("tc")
int bench_redirect_only(struct __sk_buff *skb)
{
	return bpf_redirect(1, 0);
}

SEC("tc")
int bench_tunnel_key_only(struct __sk_buff *skb)
{
	struct bpf_tunnel_key tk = { .remote_ipv4 = 0xc0a83c02, .tunnel_id = 1001, .tunnel_ttl = 64 };

	if (bpf_skb_set_tunnel_key(skb, &tk, sizeof(tk), 0) < 0)
		return TC_ACT_SHOT;
	return bpf_redirect(1, 0);
}

char LICENSE[] SEC("license") = "GPL";
