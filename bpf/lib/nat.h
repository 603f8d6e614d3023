/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Rewriting addresses and ports with the checksums kept right: the IPv4
 * header checksum, and the TCP/UDP checksum through its pseudo-header.
 * SCTP's CRC does not cover addresses; a port change there is not
 * supported (user space refuses it), so only addresses are rewritten.
 */
#ifndef SLUICE_BPF_NAT_H
#define SLUICE_BPF_NAT_H

#include "parse.h"

static __inline int l4_csum_off(const struct pkt *p, __u32 *off, __u64 *flags)
{
	switch (p->t.proto) {
	case IPPROTO_TCP:
		*off = p->l4_off + 16;
		*flags = 0;
		return 1;
	case IPPROTO_UDP:
		*off = p->l4_off + 6;
		*flags = BPF_F_MARK_MANGLED_0; /* IPv4 UDP without checksum stays without */
		return 1;
	default:
		return 0;
	}
}

/*
 * Replace one address (source when is_src) and its port. new_addr is 16
 * bytes (IPv4 in the first 4).
 */
static __inline int nat_rewrite(struct __sk_buff *skb, const struct pkt *p, int is_src, const __u8 *new_addr,
				__u16 new_port)
{
	const __u8 *old_addr = is_src ? p->t.saddr : p->t.daddr;
	__u16 old_port = is_src ? p->t.sport : p->t.dport;
	__u32 alen = p->t.family == SL_FAMILY_IPV4 ? 4 : 16;
	__u32 aoff = p->t.family == SL_FAMILY_IPV4 ? p->l3_off + (is_src ? 12 : 16) : p->l3_off + (is_src ? 8 : 24);
	__u32 csum_off = 0;
	__u64 csum_flags = 0;
	int has_csum = l4_csum_off(p, &csum_off, &csum_flags);
	__s64 diff;
	__u8 oldb[16], newb[16];

	copy16(oldb, old_addr);
	copy16(newb, new_addr);
	if (alen == 4)
		diff = bpf_csum_diff((__be32 *)oldb, 4, (__be32 *)newb, 4, 0);
	else
		diff = bpf_csum_diff((__be32 *)oldb, 16, (__be32 *)newb, 16, 0);
	if (diff < 0)
		return -1;
	if (alen == 4 && bpf_l3_csum_replace(skb, p->l3_off + 10, 0, (__u32)diff, 0) < 0)
		return -1;
	if (has_csum && bpf_l4_csum_replace(skb, csum_off, 0, (__u32)diff, BPF_F_PSEUDO_HDR | csum_flags) < 0)
		return -1;
	if (bpf_skb_store_bytes(skb, aoff, newb, alen, 0) < 0)
		return -1;
	if (p->has_ports && new_port != old_port && p->t.proto != IPPROTO_SCTP) {
		__u32 poff = p->l4_off + (is_src ? 0 : 2);

		if (has_csum && bpf_l4_csum_replace(skb, csum_off, old_port, new_port, sizeof(__u16) | csum_flags) < 0)
			return -1;
		if (bpf_skb_store_bytes(skb, poff, &new_port, sizeof(new_port), 0) < 0)
			return -1;
	}
	return 0;
}

#endif
