/* SPDX-License-Identifier: GPL-2.0-only */
/* Includes, helpers and small utilities every program uses. */
#ifndef SLUICE_BPF_COMMON_H
#define SLUICE_BPF_COMMON_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmpv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include <sluice/abi.h>

#ifndef IPPROTO_SCTP
#define IPPROTO_SCTP 132
#endif
#ifndef IPPROTO_ICMPV6
#define IPPROTO_ICMPV6 58
#endif
/* From linux/icmp.h, which drags in the C library's socket headers. */
#define ICMP_ECHOREPLY 0
#define ICMP_DEST_UNREACH 3
#define ICMP_SOURCE_QUENCH 4
#define ICMP_ECHO 8
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETERPROB 12

#define NEXTHDR_HOP 0
#define NEXTHDR_ROUTING 43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_DEST 60
#define NEXTHDR_NONE 59
#define NEXTHDR_AUTH 51

#define IP_MF 0x2000
#define IP_OFFSET 0x1FFF

#define __inline __attribute__((always_inline)) inline

static __inline void copy16(__u8 *dst, const __u8 *src)
{
	__builtin_memcpy(dst, src, 16);
}

static __inline int eq16(const __u8 *a, const __u8 *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;

	return x[0] == y[0] && x[1] == y[1];
}

/*
 * What the programs read of the context once, at entry: the verifier refuses
 * a context pointer that the compiler has moved, so helpers get values, not
 * skb fields.
 */
struct pkt;

/* What a program knows of the packet it handles, for every step. */
struct env {
	__u32 ifindex;
	__u32 len;
	__u32 mon;	      /* the event types some monitor wants (events.h) */
	const struct pkt *p;  /* the parsed packet, for events; NULL until parsed */
};

#endif
