// SPDX-License-Identifier: GPL-2.0-only
/*
 * The smallest program sluice loads: `sluice version` loads it to prove that
 * this kernel accepts sluice's BPF objects (verifier, BTF, global data). The
 * datapath programs live beside it and are built the same way.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

/* Set before load, like the datapath's node settings. */
const volatile __u32 probe_cookie = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} sluice_probe_runs SEC(".maps");

SEC("tc")
int sluice_probe(struct __sk_buff *skb)
{
	__u32 zero = 0;
	__u64 *runs = bpf_map_lookup_elem(&sluice_probe_runs, &zero);

	if (runs)
		__sync_fetch_and_add(runs, 1);
	skb->mark = probe_cookie;
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
