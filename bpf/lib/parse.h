/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Reading a packet's headers into a struct pkt: addresses, protocol, ports,
 * TCP flags, and for ICMP errors the tuple of the packet they are about.
 * Reads go through bpf_skb_load_bytes, so non-linear packets are fine and
 * every bound is checked by the helper, not by pointer arithmetic.
 */
#ifndef SLUICE_BPF_PARSE_H
#define SLUICE_BPF_PARSE_H

#include "common.h"

struct tuple {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport, dport; /* network order; ICMP echo: the id, both */
	__u8 proto;
	__u8 family;
};

struct pkt {
	struct tuple t;
	__u32 l3_off;
	__u32 l4_off;
	__u8 tcp_flags;
	__u8 icmp_error; /* an ICMP error; inner is the tuple it is about */
	__u8 has_ports;	 /* TCP, UDP, SCTP */
	__u8 ndp;	 /* IPv6 neighbour discovery */
	struct tuple inner;
	__u32 inner_l4_off; /* ICMP errors: where the quoted packet's L4 header starts */
};

enum parse_result {
	PARSE_OK = 0,
	PARSE_NOT_IP = 1,
	PARSE_INVALID = 2,
	PARSE_FRAGMENT = 3,
};

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

static __inline int icmp4_is_error(__u8 type)
{
	return type == ICMP_DEST_UNREACH || type == ICMP_TIME_EXCEEDED || type == ICMP_PARAMETERPROB ||
	       type == ICMP_SOURCE_QUENCH;
}

static __inline int icmp6_is_error(__u8 type)
{
	return type == ICMPV6_DEST_UNREACH || type == ICMPV6_PKT_TOOBIG || type == ICMPV6_TIME_EXCEED ||
	       type == ICMPV6_PARAMPROB;
}

/* Ports of a TCP/UDP/SCTP header at off (all three start with them). */
static __inline int load_ports(struct __sk_buff *skb, __u32 off, struct tuple *t)
{
	__u16 ports[2];

	if (bpf_skb_load_bytes(skb, off, ports, sizeof(ports)) < 0)
		return -1;
	t->sport = ports[0];
	t->dport = ports[1];
	return 0;
}

/* IPv4 header at off: addresses and protocol; returns the L4 offset, or a
 * negative parse_result. */
static __inline int parse_ipv4(struct __sk_buff *skb, __u32 off, struct tuple *t, int *frag)
{
	struct iphdr ip;
	__u32 ihl;

	if (bpf_skb_load_bytes(skb, off, &ip, sizeof(ip)) < 0)
		return -PARSE_INVALID;
	ihl = (__u32)ip.ihl * 4;
	if (ip.version != 4 || ihl < sizeof(ip))
		return -PARSE_INVALID;
	__builtin_memset(t->saddr, 0, 16);
	__builtin_memset(t->daddr, 0, 16);
	__builtin_memcpy(t->saddr, &ip.saddr, 4);
	__builtin_memcpy(t->daddr, &ip.daddr, 4);
	t->proto = ip.protocol;
	t->family = SL_FAMILY_IPV4;
	*frag = (ip.frag_off & bpf_htons(IP_MF | IP_OFFSET)) != 0;
	return (int)(off + ihl);
}

/* IPv6 header at off, and the extension headers that may precede L4. */
static __inline int parse_ipv6(struct __sk_buff *skb, __u32 off, struct tuple *t, int *frag)
{
	struct ipv6hdr ip6;
	__u8 nexthdr;
	__u32 l4;

	if (bpf_skb_load_bytes(skb, off, &ip6, sizeof(ip6)) < 0)
		return -PARSE_INVALID;
	if (ip6.version != 6)
		return -PARSE_INVALID;
	copy16(t->saddr, ip6.saddr.in6_u.u6_addr8);
	copy16(t->daddr, ip6.daddr.in6_u.u6_addr8);
	t->family = SL_FAMILY_IPV6;
	nexthdr = ip6.nexthdr;
	l4 = off + sizeof(ip6);
	*frag = 0;
#pragma unroll
	for (int i = 0; i < 4; i++) {
		__u8 ext[2];

		if (nexthdr == NEXTHDR_FRAGMENT) {
			*frag = 1;
			break;
		}
		if (nexthdr != NEXTHDR_HOP && nexthdr != NEXTHDR_ROUTING && nexthdr != NEXTHDR_DEST &&
		    nexthdr != NEXTHDR_AUTH)
			break;
		if (bpf_skb_load_bytes(skb, l4, ext, sizeof(ext)) < 0)
			return -PARSE_INVALID;
		/* AH counts its length in 4-byte units minus 2; the others in
		 * 8-byte units minus 1. The header being skipped decides. */
		l4 += nexthdr == NEXTHDR_AUTH ? ((__u32)ext[1] + 2) * 4 : ((__u32)ext[1] + 1) * 8;
		nexthdr = ext[0];
	}
	t->proto = nexthdr;
	return (int)l4;
}

/* The L4 part of a tuple at off: ports, or the ICMP echo identifier. */
static __inline int parse_l4(struct __sk_buff *skb, __u32 off, struct tuple *t, struct pkt *p)
{
	switch (t->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_SCTP:
		if (load_ports(skb, off, t) < 0)
			return -PARSE_INVALID;
		if (p) {
			p->has_ports = 1;
			if (t->proto == IPPROTO_TCP) {
				__u8 flags;

				if (bpf_skb_load_bytes(skb, off + 13, &flags, 1) < 0)
					return -PARSE_INVALID;
				p->tcp_flags = flags;
			}
		}
		return 0;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: {
		__u8 hdr[8];

		if (bpf_skb_load_bytes(skb, off, hdr, sizeof(hdr)) < 0)
			return -PARSE_INVALID;
		t->sport = 0;
		t->dport = 0;
		if ((t->proto == IPPROTO_ICMP && hdr[0] == ICMP_ECHO) ||
		    (t->proto == IPPROTO_ICMPV6 && hdr[0] == ICMPV6_ECHO_REQUEST)) {
			/* A request and its reply are each other's reverse: the
			 * identifier stands as the request's source port and the
			 * reply's destination port, so a request from the other
			 * side is never taken for a reply. */
			t->sport = *(__u16 *)&hdr[4];
		} else if ((t->proto == IPPROTO_ICMP && hdr[0] == ICMP_ECHOREPLY) ||
			   (t->proto == IPPROTO_ICMPV6 && hdr[0] == ICMPV6_ECHO_REPLY)) {
			t->dport = *(__u16 *)&hdr[4];
		} else if (p && t->proto == IPPROTO_ICMPV6 && hdr[0] >= 133 && hdr[0] <= 137) {
			/* Neighbour discovery (router and neighbour solicitation
			 * and advertisement, redirect): IPv6 does not work without
			 * it, so no policy judges it. */
			p->ndp = 1;
		} else if (p && ((t->proto == IPPROTO_ICMP && icmp4_is_error(hdr[0])) ||
				 (t->proto == IPPROTO_ICMPV6 && icmp6_is_error(hdr[0])))) {
			p->icmp_error = 1;
		}
		return 0;
	}
	default:
		t->sport = 0;
		t->dport = 0;
		return 0;
	}
}

/* The packet an ICMP error carries: its tuple, as that packet had it. */
static __inline int parse_icmp_inner(struct __sk_buff *skb, struct pkt *p)
{
	__u32 off = p->l4_off + 8;
	int frag = 0, l4;

	if (p->t.family == SL_FAMILY_IPV4)
		l4 = parse_ipv4(skb, off, &p->inner, &frag);
	else
		l4 = parse_ipv6(skb, off, &p->inner, &frag);
	if (l4 < 0)
		return l4;
	p->inner_l4_off = (__u32)l4;
	/* An error quotes at least 8 bytes of the L4 header: the ports. */
	return parse_l4(skb, (__u32)l4, &p->inner, NULL);
}

/*
 * The common case read straight from the packet: IPv4 without options or
 * IPv6 without extension headers, not a fragment, TCP or UDP, headers in
 * the linear part. 1 when done, 0 to take the general path.
 */
static __inline int parse_fast(struct __sk_buff *skb, struct pkt *p)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	__u8 *l4;
	__u8 proto;

	if ((void *)(eth + 1) > end)
		return 0;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		__u32 *s = (__u32 *)p->t.saddr, *d = (__u32 *)p->t.daddr;

		if ((void *)(ip + 1) > end || ip->ihl != 5 || ip->version != 4 ||
		    (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET)))
			return 0;
		proto = ip->protocol;
		s[0] = ip->saddr, s[1] = 0, s[2] = 0, s[3] = 0;
		d[0] = ip->daddr, d[1] = 0, d[2] = 0, d[3] = 0;
		p->t.family = SL_FAMILY_IPV4;
		p->l4_off = ETH_HLEN + sizeof(*ip);
		l4 = (__u8 *)(ip + 1);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end || ip6->version != 6)
			return 0;
		proto = ip6->nexthdr;
		__builtin_memcpy(p->t.saddr, ip6->saddr.in6_u.u6_addr8, 16);
		__builtin_memcpy(p->t.daddr, ip6->daddr.in6_u.u6_addr8, 16);
		p->t.family = SL_FAMILY_IPV6;
		p->l4_off = ETH_HLEN + sizeof(*ip6);
		l4 = (__u8 *)(ip6 + 1);
	} else {
		return 0;
	}
	if (proto == IPPROTO_TCP) {
		if ((void *)(l4 + 14) > end)
			return 0;
		p->tcp_flags = l4[13];
	} else if (proto == IPPROTO_UDP) {
		if ((void *)(l4 + 8) > end)
			return 0;
		p->tcp_flags = 0;
	} else {
		return 0;
	}
	p->t.proto = proto;
	p->t.sport = *(__u16 *)l4;
	p->t.dport = *(__u16 *)(l4 + 2);
	p->has_ports = 1;
	p->icmp_error = 0;
	p->ndp = 0;
	p->l3_off = ETH_HLEN;
	return 1;
}

/* Ethernet, then IPv4 or IPv6, then L4. */
static __inline int parse_packet(struct __sk_buff *skb, struct pkt *p)
{
	__u16 proto;
	int l4, frag = 0;

	if (parse_fast(skb, p))
		return PARSE_OK;
	__builtin_memset(p, 0, sizeof(*p));
	if (bpf_skb_load_bytes(skb, 12, &proto, sizeof(proto)) < 0)
		return PARSE_INVALID;
	p->l3_off = ETH_HLEN;
	if (proto == bpf_htons(ETH_P_IP))
		l4 = parse_ipv4(skb, ETH_HLEN, &p->t, &frag);
	else if (proto == bpf_htons(ETH_P_IPV6))
		l4 = parse_ipv6(skb, ETH_HLEN, &p->t, &frag);
	else
		return PARSE_NOT_IP;
	if (l4 < 0)
		return -l4;
	if (frag)
		return PARSE_FRAGMENT;
	p->l4_off = (__u32)l4;
	l4 = parse_l4(skb, p->l4_off, &p->t, p);
	if (l4 < 0)
		return -l4;
	if (p->icmp_error && parse_icmp_inner(skb, p) < 0)
		p->icmp_error = 0; /* too short to say what it is about: a plain ICMP packet */
	return PARSE_OK;
}

#endif
