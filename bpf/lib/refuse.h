/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Refusing a new flow at once, as a host with no listener would: the packet
 * the endpoint sent becomes an ICMP "port unreachable" (ICMPv6 type 1 code
 * 4) from the address it was sent to, quoting its IP header and the first 8
 * bytes after it, and goes straight back into the endpoint's namespace.
 * A TCP connect() then fails with ECONNREFUSED, and a connected UDP socket
 * gets ECONNREFUSED, instead of waiting for a timeout. kube-proxy's REJECT
 * rules for services without endpoints answer the same way.
 *
 * Only for plain Ethernet frames with no IPv4 options or IPv6 extension
 * headers; anything else is dropped (and counted) as before.
 */
#ifndef SLUICE_BPF_REFUSE_H
#define SLUICE_BPF_REFUSE_H

#include "parse.h"

#ifndef PACKET_HOST
#define PACKET_HOST 0
#endif

#define REFUSE_QUOTE_L4 8
#define REFUSE4_LEN (ETH_HLEN + 20 + 8 + 20 + REFUSE_QUOTE_L4) /* 70 */
#define REFUSE6_LEN (ETH_HLEN + 40 + 8 + 40 + REFUSE_QUOTE_L4) /* 110 */

static __inline __u16 csum_fold32(__s64 sum)
{
	__u32 s = (__u32)sum;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

/* The reply is built whole on the stack, then written over the packet,
 * which is first cut or grown to its length. Two bytes lead the frame so
 * that the IP and ICMP headers are 4-aligned (the verifier wants aligned
 * stack access); the frame starts at eth_dst. */
struct refuse4_frame {
	__u8 lead[2];
	__u8 eth_dst[6], eth_src[6];
	__be16 eth_proto;
	__u8 ip[20];
	__u8 icmp[8];
	__u8 quote[20 + REFUSE_QUOTE_L4];
} __attribute__((aligned(8)));

struct refuse6_frame {
	__u8 lead[2];
	__u8 eth_dst[6], eth_src[6];
	__be16 eth_proto;
	__u8 ip6[40];
	__u8 icmp[8];
	__u8 quote[40 + REFUSE_QUOTE_L4];
} __attribute__((aligned(8)));

static __inline int refuse4(struct __sk_buff *skb, const struct pkt *p)
{
	struct refuse4_frame f = {};
	struct iphdr *ip = (struct iphdr *)f.ip;
	__s64 sum;

	if (p->l4_off - p->l3_off != 20)
		return -1;
	if (bpf_skb_load_bytes(skb, 0, f.eth_src, 6) < 0 || bpf_skb_load_bytes(skb, 6, f.eth_dst, 6) < 0 ||
	    bpf_skb_load_bytes(skb, p->l3_off, f.quote, sizeof(f.quote)) < 0)
		return -1;
	f.eth_proto = bpf_htons(ETH_P_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = bpf_htons(20 + 8 + sizeof(f.quote));
	ip->ttl = 64;
	ip->protocol = IPPROTO_ICMP;
	__builtin_memcpy(&ip->saddr, p->t.daddr, 4);
	__builtin_memcpy(&ip->daddr, p->t.saddr, 4);
	sum = bpf_csum_diff(0, 0, (__be32 *)f.ip, 20, 0);
	if (sum < 0)
		return -1;
	ip->check = csum_fold32(sum);
	f.icmp[0] = ICMP_DEST_UNREACH;
	f.icmp[1] = 3; /* port unreachable */
	sum = bpf_csum_diff(0, 0, (__be32 *)f.icmp, 8 + sizeof(f.quote), 0);
	if (sum < 0)
		return -1;
	*(__u16 *)&f.icmp[2] = csum_fold32(sum);
	if (bpf_skb_change_tail(skb, REFUSE4_LEN, 0) < 0)
		return -1;
	if (bpf_skb_store_bytes(skb, 0, f.eth_dst, REFUSE4_LEN, BPF_F_INVALIDATE_HASH) < 0)
		return -1;
	return 0;
}

static __inline int refuse6(struct __sk_buff *skb, const struct pkt *p)
{
	struct refuse6_frame f = {};
	struct {
		__u8 saddr[16], daddr[16];
		__be32 len;
		__u8 zero[3], next;
	} ph = {};
	__s64 sum;

	if (p->l4_off - p->l3_off != 40)
		return -1;
	if (bpf_skb_load_bytes(skb, 0, f.eth_src, 6) < 0 || bpf_skb_load_bytes(skb, 6, f.eth_dst, 6) < 0 ||
	    bpf_skb_load_bytes(skb, p->l3_off, f.quote, sizeof(f.quote)) < 0)
		return -1;
	f.eth_proto = bpf_htons(ETH_P_IPV6);
	f.ip6[0] = 0x60;
	*(__be16 *)&f.ip6[4] = bpf_htons(8 + sizeof(f.quote));
	f.ip6[6] = IPPROTO_ICMPV6;
	f.ip6[7] = 64;
	copy16(&f.ip6[8], p->t.daddr);
	copy16(&f.ip6[24], p->t.saddr);
	copy16(ph.saddr, p->t.daddr);
	copy16(ph.daddr, p->t.saddr);
	ph.len = bpf_htonl(8 + sizeof(f.quote));
	ph.next = IPPROTO_ICMPV6;
	f.icmp[0] = ICMPV6_DEST_UNREACH;
	f.icmp[1] = ICMPV6_PORT_UNREACH;
	sum = bpf_csum_diff(0, 0, (__be32 *)&ph, sizeof(ph), 0);
	if (sum < 0)
		return -1;
	sum = bpf_csum_diff(0, 0, (__be32 *)f.icmp, 8 + sizeof(f.quote), (__u32)sum);
	if (sum < 0)
		return -1;
	*(__u16 *)&f.icmp[2] = csum_fold32(sum);
	if (bpf_skb_change_tail(skb, REFUSE6_LEN, 0) < 0)
		return -1;
	if (bpf_skb_store_bytes(skb, 0, f.eth_dst, REFUSE6_LEN, BPF_F_INVALIDATE_HASH) < 0)
		return -1;
	return 0;
}

/* Turn the packet into the refusal and send it back to the endpoint (the
 * peer of the host-side device it came in on). Returns the verdict, or -1
 * when the packet cannot be answered (the caller drops it). */
static __inline int refuse(struct __sk_buff *skb, const struct pkt *p)
{
	int r;

	if (p->l3_off != ETH_HLEN)
		return -1;
	r = p->t.family == SL_FAMILY_IPV4 ? refuse4(skb, p) : refuse6(skb, p);
	if (r < 0)
		return -1;
	bpf_skb_change_type(skb, PACKET_HOST);
	return bpf_redirect_peer(skb->ifindex, 0);
}

#endif
