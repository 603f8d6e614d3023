/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Refusing a new flow at once, as a host with no listener would: the packet
 * the endpoint sent is turned into the answer and goes straight back into
 * the endpoint's namespace. TCP gets a reset (RST): an ICMP error that
 * reaches a socket still inside connect() (which holds the socket's lock,
 * and the answer comes back that fast) is only a soft error, and connect()
 * would wait for the SYN's retransmission; a reset is queued and handled
 * when connect() lets go. Other protocols get an ICMP "port unreachable"
 * (ICMPv6 type 1 code 4) from the address the packet was sent to, quoting
 * its IP header and the first 8 bytes after it, as kube-proxy's REJECT
 * rules answer. Either way the client sees ECONNREFUSED, not a timeout.
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

/* A TCP reset for the segment (RFC 9293 3.10.7.1): to a segment with ACK,
 * sequence number = its acknowledgment; otherwise sequence 0 and ACK of
 * its sequence plus its length (a SYN counts one). */
struct rst4_frame {
	__u8 lead[2];
	__u8 eth_dst[6], eth_src[6];
	__be16 eth_proto;
	__u8 ip[20];
	__u8 tcp[20];
} __attribute__((aligned(8)));

struct rst6_frame {
	__u8 lead[2];
	__u8 eth_dst[6], eth_src[6];
	__be16 eth_proto;
	__u8 ip6[40];
	__u8 tcp[20];
} __attribute__((aligned(8)));

#define RST4_LEN (ETH_HLEN + 20 + 20)
#define RST6_LEN (ETH_HLEN + 40 + 20)

/* The reset's TCP header in t (20 bytes), from the segment's; l4_len: the
 * segment's length, header and data. */
static __inline int rst_header(struct __sk_buff *skb, const struct pkt *p, __u32 l4_len, __u8 *t)
{
	struct tcphdr in;
	struct tcphdr *out = (struct tcphdr *)t;
	__u32 data;

	if (bpf_skb_load_bytes(skb, p->l4_off, &in, sizeof(in)) < 0)
		return -1;
	if (in.rst || (__u32)in.doff * 4 < 20 || (__u32)in.doff * 4 > l4_len)
		return -1; /* never answer a reset, nor a header that does not add up */
	data = l4_len - (__u32)in.doff * 4;
	out->source = in.dest;
	out->dest = in.source;
	out->doff = 5;
	out->rst = 1;
	if (in.ack) {
		out->seq = in.ack_seq;
	} else {
		out->ack = 1;
		out->ack_seq = bpf_htonl(bpf_ntohl(in.seq) + data + in.syn + in.fin);
	}
	return 0;
}

static __inline int refuse_tcp4(struct __sk_buff *skb, const struct pkt *p)
{
	struct rst4_frame f = {};
	struct iphdr *ip = (struct iphdr *)f.ip;
	struct {
		__u8 saddr[4], daddr[4];
		__u8 zero, proto;
		__be16 len;
	} ph = {};
	struct iphdr in;
	__s64 sum;

	if (p->l4_off - p->l3_off != 20)
		return -1;
	if (bpf_skb_load_bytes(skb, 0, f.eth_src, 6) < 0 || bpf_skb_load_bytes(skb, 6, f.eth_dst, 6) < 0 ||
	    bpf_skb_load_bytes(skb, p->l3_off, &in, sizeof(in)) < 0)
		return -1;
	if (bpf_ntohs(in.tot_len) < 20 || rst_header(skb, p, bpf_ntohs(in.tot_len) - 20, f.tcp) < 0)
		return -1;
	f.eth_proto = bpf_htons(ETH_P_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = bpf_htons(40);
	ip->ttl = 64;
	ip->protocol = IPPROTO_TCP;
	__builtin_memcpy(&ip->saddr, p->t.daddr, 4);
	__builtin_memcpy(&ip->daddr, p->t.saddr, 4);
	sum = bpf_csum_diff(0, 0, (__be32 *)f.ip, 20, 0);
	if (sum < 0)
		return -1;
	ip->check = csum_fold32(sum);
	__builtin_memcpy(ph.saddr, p->t.daddr, 4);
	__builtin_memcpy(ph.daddr, p->t.saddr, 4);
	ph.proto = IPPROTO_TCP;
	ph.len = bpf_htons(20);
	sum = bpf_csum_diff(0, 0, (__be32 *)&ph, sizeof(ph), 0);
	if (sum < 0)
		return -1;
	sum = bpf_csum_diff(0, 0, (__be32 *)f.tcp, 20, (__u32)sum);
	if (sum < 0)
		return -1;
	((struct tcphdr *)f.tcp)->check = csum_fold32(sum);
	if (bpf_skb_change_tail(skb, RST4_LEN, 0) < 0)
		return -1;
	if (bpf_skb_store_bytes(skb, 0, f.eth_dst, RST4_LEN, BPF_F_INVALIDATE_HASH) < 0)
		return -1;
	return 0;
}

static __inline int refuse_tcp6(struct __sk_buff *skb, const struct pkt *p)
{
	struct rst6_frame f = {};
	struct {
		__u8 saddr[16], daddr[16];
		__be32 len;
		__u8 zero[3], next;
	} ph = {};
	__be16 plen;
	__s64 sum;

	if (p->l4_off - p->l3_off != 40)
		return -1;
	if (bpf_skb_load_bytes(skb, 0, f.eth_src, 6) < 0 || bpf_skb_load_bytes(skb, 6, f.eth_dst, 6) < 0 ||
	    bpf_skb_load_bytes(skb, p->l3_off + 4, &plen, sizeof(plen)) < 0)
		return -1;
	if (rst_header(skb, p, bpf_ntohs(plen), f.tcp) < 0)
		return -1;
	f.eth_proto = bpf_htons(ETH_P_IPV6);
	f.ip6[0] = 0x60;
	*(__be16 *)&f.ip6[4] = bpf_htons(20);
	f.ip6[6] = IPPROTO_TCP;
	f.ip6[7] = 64;
	copy16(&f.ip6[8], p->t.daddr);
	copy16(&f.ip6[24], p->t.saddr);
	copy16(ph.saddr, p->t.daddr);
	copy16(ph.daddr, p->t.saddr);
	ph.len = bpf_htonl(20);
	ph.next = IPPROTO_TCP;
	sum = bpf_csum_diff(0, 0, (__be32 *)&ph, sizeof(ph), 0);
	if (sum < 0)
		return -1;
	sum = bpf_csum_diff(0, 0, (__be32 *)f.tcp, 20, (__u32)sum);
	if (sum < 0)
		return -1;
	((struct tcphdr *)f.tcp)->check = csum_fold32(sum);
	if (bpf_skb_change_tail(skb, RST6_LEN, 0) < 0)
		return -1;
	if (bpf_skb_store_bytes(skb, 0, f.eth_dst, RST6_LEN, BPF_F_INVALIDATE_HASH) < 0)
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
	if (p->t.proto == IPPROTO_TCP)
		r = p->t.family == SL_FAMILY_IPV4 ? refuse_tcp4(skb, p) : refuse_tcp6(skb, p);
	else
		r = p->t.family == SL_FAMILY_IPV4 ? refuse4(skb, p) : refuse6(skb, p);
	if (r < 0)
		return -1;
	bpf_skb_change_type(skb, PACKET_HOST);
	return bpf_redirect_peer(skb->ifindex, 0);
}

#endif
