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

/* One's complement sums of raw (network order) 16-bit words, as checksums
 * are: folded to 16 bits, and a checksum field adjusted by the difference
 * d of the words it covers (RFC 1624: HC' = ~(~HC + ~m + m')). */
static __inline __u16 csum_fold(__u64 s)
{
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)((s & 0xffff) + (s >> 16));
}

static __inline __u16 csum_adjust(__u16 csum, __u64 d)
{
	return (__u16)~csum_fold((__u64)(__u16)~csum + d);
}

/* m' - m, as a sum to add. */
static __inline __u64 csum_change(__u16 old, __u16 new)
{
	return (__u64)new + (__u16)~old;
}

/* Adjust the 16-bit checksum field at off by d; its own change is added to
 * *outer (the checksum of a header that covers the field). A UDP checksum
 * of 0 (IPv4: none) stays 0, and one that comes out 0 is sent as 0xffff. */
static __inline int csum_store(struct __sk_buff *skb, __u32 off, __u64 d, int udp, __u64 *outer)
{
	__u16 old, new;

	if (bpf_skb_load_bytes(skb, off, &old, sizeof(old)) < 0)
		return -1;
	if (udp && !old)
		return 0;
	new = csum_adjust(old, d);
	if (udp && !new)
		new = 0xffff;
	if (outer)
		*outer += csum_change(old, new);
	return bpf_skb_store_bytes(skb, off, &new, sizeof(new), BPF_F_RECOMPUTE_CSUM);
}

/*
 * An ICMP error about a translated flow, made to be about the flow as the
 * endpoint it reaches knows it (what netfilter does for errors RELATED to
 * a NATed connection). The quoted packet's source (inner_src) or
 * destination address and port become new_addr/new_port, with its IPv4
 * header checksum and its TCP/UDP checksum (when the quote holds it) kept
 * right. The outer address on the other side, when it is the one replaced
 * (the error came from the backend itself, or goes to the frontend), is
 * replaced too. The ICMP checksum follows all of it (for ICMPv6 the
 * pseudo-header too). SCTP ports are never translated, so they stay.
 */
static __inline int nat_icmp_error(struct __sk_buff *skb, const struct pkt *p, int inner_src, const __u8 *new_addr,
				   __u16 new_port)
{
	int v4 = p->t.family == SL_FAMILY_IPV4;
	__u32 alen = v4 ? 4 : 16;
	__u32 in3 = p->l4_off + 8, in4 = p->inner_l4_off;
	__u32 in_aoff = in3 + (v4 ? (inner_src ? 12 : 16) : (inner_src ? 8 : 24));
	__u32 out_aoff = p->l3_off + (v4 ? (inner_src ? 16 : 12) : (inner_src ? 24 : 8));
	__u16 old_port = inner_src ? p->inner.sport : p->inner.dport;
	__u8 proto = p->inner.proto;
	__u8 oldb[16], newb[16];
	__u64 d, d_l4, d_icmp;
	__s64 diff;

	copy16(oldb, inner_src ? p->inner.saddr : p->inner.daddr);
	copy16(newb, new_addr);
	if (v4)
		diff = bpf_csum_diff((__be32 *)oldb, 4, (__be32 *)newb, 4, 0);
	else
		diff = bpf_csum_diff((__be32 *)oldb, 16, (__be32 *)newb, 16, 0);
	if (diff < 0)
		return -1;
	d = (__u32)diff;
	d_icmp = d;
	d_l4 = d; /* the quoted L4 checksum covers the address in its pseudo-header */

	/* The quoted packet: its address, IPv4 header checksum, port, L4 checksum. */
	if (bpf_skb_store_bytes(skb, in_aoff, newb, alen, BPF_F_RECOMPUTE_CSUM) < 0)
		return -1;
	if (v4 && csum_store(skb, in3 + 10, d, 0, &d_icmp) < 0)
		return -1;
	if (proto != IPPROTO_SCTP && new_port != old_port) {
		__u64 dp = csum_change(old_port, new_port);

		if (bpf_skb_store_bytes(skb, in4 + (inner_src ? 0 : 2), &new_port, sizeof(new_port),
					BPF_F_RECOMPUTE_CSUM) < 0)
			return -1;
		d_l4 += dp;
		d_icmp += dp;
	}
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		__u32 off = in4 + (proto == IPPROTO_TCP ? 16 : 6);
		__u16 probe;

		/* A quote of 8 bytes holds no TCP checksum: nothing to keep. */
		if (bpf_skb_load_bytes(skb, off, &probe, sizeof(probe)) == 0 &&
		    csum_store(skb, off, d_l4, proto == IPPROTO_UDP, &d_icmp) < 0)
			return -1;
	}

	/* The outer address, when it is the one replaced. */
	if (eq16(inner_src ? p->t.daddr : p->t.saddr, oldb)) {
		if (bpf_skb_store_bytes(skb, out_aoff, newb, alen, BPF_F_RECOMPUTE_CSUM) < 0)
			return -1;
		if (v4 && csum_store(skb, p->l3_off + 10, d, 0, NULL) < 0)
			return -1;
		if (!v4)
			d_icmp += d; /* ICMPv6's pseudo-header */
	}
	return csum_store(skb, p->l4_off + 2, d_icmp, 0, NULL);
}

#endif
