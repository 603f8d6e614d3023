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

#define QUOTE4 (20 + 8) /* what an ICMP error quotes: the IP header and 8 bytes */
#define QUOTE6 (40 + 8)

static __inline __u16 csum_fold32(__s64 sum)
{
	__u32 s = (__u32)sum;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

/* The answer is built whole on the stack, then written over the packet,
 * which is first cut or grown to its length. Two bytes lead the frame so
 * that the IP and L4 headers are 4-aligned (the verifier wants aligned
 * stack access); the frame starts at eth_dst. l4 holds a TCP header (20
 * bytes) or an ICMP header and its quote. */
struct reply4 {
	__u8 lead[2];
	__u8 eth_dst[6], eth_src[6];
	__be16 eth_proto;
	__u8 ip[20];
	__u8 l4[8 + QUOTE4];
} __attribute__((aligned(8)));

struct reply6 {
	__u8 lead[2];
	__u8 eth_dst[6], eth_src[6];
	__be16 eth_proto;
	__u8 ip6[40];
	__u8 l4[8 + QUOTE6];
} __attribute__((aligned(8)));

/* The TCP/UDP/ICMPv6 pseudo-header, from the answer's point of view. */
struct pseudo4 {
	__u8 saddr[4], daddr[4];
	__u8 zero, proto;
	__be16 len;
};

struct pseudo6 {
	__u8 saddr[16], daddr[16];
	__be32 len;
	__u8 zero[3], next;
};

/* Back to where the packet came from: the MAC addresses swapped. */
static __inline int reply_macs(struct __sk_buff *skb, __u8 *eth_dst, __u8 *eth_src)
{
	if (bpf_skb_load_bytes(skb, 0, eth_src, 6) < 0 || bpf_skb_load_bytes(skb, 6, eth_dst, 6) < 0)
		return -1;
	return 0;
}

/* The checksum of l4 (len bytes, a multiple of 4) after a pseudo-header
 * (NULL: none, as ICMP over IPv4). */
static __inline int l4_csum(const void *ph, __u32 ph_len, const __u8 *l4, __u32 len, __u16 *ret)
{
	__s64 sum = 0;

	if (ph) {
		sum = bpf_csum_diff(0, 0, (__be32 *)ph, ph_len, 0);
		if (sum < 0)
			return -1;
	}
	sum = bpf_csum_diff(0, 0, (__be32 *)l4, len, (__u32)sum);
	if (sum < 0)
		return -1;
	*ret = csum_fold32(sum);
	return 0;
}

/* Cut or grow the packet to len bytes and write the frame over it. */
static __inline int reply_write(struct __sk_buff *skb, const __u8 *frame, __u32 len)
{
	if (bpf_skb_change_tail(skb, len, 0) < 0)
		return -1;
	return bpf_skb_store_bytes(skb, 0, frame, len, BPF_F_INVALIDATE_HASH) < 0 ? -1 : 0;
}

/* A TCP reset for the segment (RFC 9293 3.10.7.1) in t (20 bytes): to a
 * segment with ACK, sequence number = its acknowledgment; otherwise
 * sequence 0 and ACK of its sequence plus its length (a SYN counts one).
 * l4_len: the segment's length, header and data. */
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

static __inline int refuse4(struct __sk_buff *skb, const struct pkt *p)
{
	struct reply4 f = {};
	struct iphdr *ip = (struct iphdr *)f.ip;
	struct pseudo4 ph = { .proto = IPPROTO_TCP, .len = bpf_htons(20) };
	__be16 tot_len;
	__u32 l4_len;
	__s64 sum;

	if (p->l4_off - p->l3_off != 20 || reply_macs(skb, f.eth_dst, f.eth_src) < 0)
		return -1;
	if (p->t.proto == IPPROTO_TCP) {
		l4_len = 20;
		if (bpf_skb_load_bytes(skb, p->l3_off + 2, &tot_len, sizeof(tot_len)) < 0 ||
		    bpf_ntohs(tot_len) < 20 || rst_header(skb, p, bpf_ntohs(tot_len) - 20, f.l4) < 0)
			return -1;
		__builtin_memcpy(ph.saddr, p->t.daddr, 4);
		__builtin_memcpy(ph.daddr, p->t.saddr, 4);
		if (l4_csum(&ph, sizeof(ph), f.l4, 20, &((struct tcphdr *)f.l4)->check) < 0)
			return -1;
	} else {
		l4_len = 8 + QUOTE4;
		if (bpf_skb_load_bytes(skb, p->l3_off, f.l4 + 8, QUOTE4) < 0)
			return -1;
		f.l4[0] = ICMP_DEST_UNREACH;
		f.l4[1] = 3; /* port unreachable */
		if (l4_csum(0, 0, f.l4, 8 + QUOTE4, (__u16 *)&f.l4[2]) < 0)
			return -1;
	}
	f.eth_proto = bpf_htons(ETH_P_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = bpf_htons(20 + l4_len);
	ip->ttl = 64;
	ip->protocol = p->t.proto == IPPROTO_TCP ? IPPROTO_TCP : IPPROTO_ICMP;
	__builtin_memcpy(&ip->saddr, p->t.daddr, 4);
	__builtin_memcpy(&ip->daddr, p->t.saddr, 4);
	sum = bpf_csum_diff(0, 0, (__be32 *)f.ip, 20, 0);
	if (sum < 0)
		return -1;
	ip->check = csum_fold32(sum);
	return reply_write(skb, f.eth_dst, ETH_HLEN + 20 + l4_len);
}

static __inline int refuse6(struct __sk_buff *skb, const struct pkt *p)
{
	struct reply6 f = {};
	struct pseudo6 ph = {};
	__u8 next = p->t.proto == IPPROTO_TCP ? IPPROTO_TCP : IPPROTO_ICMPV6;
	__be16 plen;
	__u32 l4_len;
	__u16 *check;

	if (p->l4_off - p->l3_off != 40 || reply_macs(skb, f.eth_dst, f.eth_src) < 0)
		return -1;
	if (next == IPPROTO_TCP) {
		l4_len = 20;
		if (bpf_skb_load_bytes(skb, p->l3_off + 4, &plen, sizeof(plen)) < 0 ||
		    rst_header(skb, p, bpf_ntohs(plen), f.l4) < 0)
			return -1;
		check = &((struct tcphdr *)f.l4)->check;
	} else {
		l4_len = 8 + QUOTE6;
		if (bpf_skb_load_bytes(skb, p->l3_off, f.l4 + 8, QUOTE6) < 0)
			return -1;
		f.l4[0] = ICMPV6_DEST_UNREACH;
		f.l4[1] = ICMPV6_PORT_UNREACH;
		check = (__u16 *)&f.l4[2];
	}
	copy16(ph.saddr, p->t.daddr);
	copy16(ph.daddr, p->t.saddr);
	ph.len = bpf_htonl(l4_len);
	ph.next = next;
	if (l4_csum(&ph, sizeof(ph), f.l4, l4_len, check) < 0)
		return -1;
	f.eth_proto = bpf_htons(ETH_P_IPV6);
	f.ip6[0] = 0x60;
	*(__be16 *)&f.ip6[4] = bpf_htons(l4_len);
	f.ip6[6] = next;
	f.ip6[7] = 64;
	copy16(&f.ip6[8], p->t.daddr);
	copy16(&f.ip6[24], p->t.saddr);
	return reply_write(skb, f.eth_dst, ETH_HLEN + 40 + l4_len);
}

/*
 * Turn the packet into the refusal and send it back where it came from.
 * At tc ingress of an endpoint's host-side device (what the endpoint sent;
 * from_endpoint 0): into the endpoint, the device's peer. At its tc egress
 * (what was sent to the endpoint; from_endpoint 1): into the device's own
 * ingress, as if the endpoint had answered, so that the answer takes the
 * endpoint's egress path back to the client. Returns the verdict, or -1
 * when the packet cannot be answered (the caller drops it).
 */
static __inline int refuse(struct __sk_buff *skb, const struct pkt *p, int from_endpoint)
{
	int r;

	if (p->l3_off != ETH_HLEN)
		return -1;
	r = p->t.family == SL_FAMILY_IPV4 ? refuse4(skb, p) : refuse6(skb, p);
	if (r < 0)
		return -1;
	bpf_skb_change_type(skb, PACKET_HOST);
	if (from_endpoint)
		return bpf_redirect(skb->ifindex, BPF_F_INGRESS);
	return back_into_endpoint(skb);
}

#endif
