/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Hairpin: an endpoint that connects to a service whose backend it gave
 * is itself. Translated in tc, the flow would reach the endpoint with its
 * own address as the source, which its stack refuses (or answers to
 * itself, locally, past the translation back). So the flow's source
 * becomes the hairpin address (SL_HAIRPIN_V4/V6, abi.h) and the packet
 * goes straight back into the endpoint (bpf_redirect_peer, past its
 * to_endpoint: an endpoint reaching itself is not judged by its ingress
 * policy, as loopback is not); the endpoint's replies go to the hairpin
 * address, out through its default route to from_endpoint, which finds
 * the flow's EGRESS entry (the endpoint to itself) and turns them back:
 * from the frontend, to the endpoint, and into the endpoint again.
 */
#ifndef SLUICE_BPF_HAIRPIN_H
#define SLUICE_BPF_HAIRPIN_H

#include "ct.h"
#include "metrics.h"
#include "nat.h"

#ifndef PACKET_HOST
#define PACKET_HOST 0
#endif

/* The hairpin address of a family, 16 bytes (IPv4 in the first 4). */
static __inline void hairpin_addr(__u8 family, __u8 *out)
{
	__u32 w[4] = {};

	if (family == SL_FAMILY_IPV4) {
		w[0] = bpf_htonl(SL_HAIRPIN_V4);
	} else {
		w[0] = bpf_htonl(SL_HAIRPIN_V6_HI);
		w[3] = bpf_htonl(SL_HAIRPIN_V6_LO);
	}
	__builtin_memcpy(out, w, 16);
}

static __inline int hairpin_is(const __u8 *addr, __u8 family)
{
	__u32 w[4];

	__builtin_memcpy(w, addr, 16);
	if (family == SL_FAMILY_IPV4)
		return w[0] == bpf_htonl(SL_HAIRPIN_V4);
	return w[0] == bpf_htonl(SL_HAIRPIN_V6_HI) && !w[1] && !w[2] && w[3] == bpf_htonl(SL_HAIRPIN_V6_LO);
}

/* Whether a translated packet goes from an endpoint to itself. */
static __inline int hairpin_wanted(const struct pkt *p)
{
	return eq16(p->t.saddr, p->t.daddr);
}

/* Back into the endpoint it came from: the Ethernet addresses swapped
 * (to it from its host side), then to the device's peer. */
static __inline int hairpin_deliver(struct __sk_buff *skb, const struct pkt *p)
{
	__u8 mac[12], sw[12];

	if (p->l3_off != ETH_HLEN || bpf_skb_load_bytes(skb, 0, mac, 12) < 0)
		return TC_ACT_SHOT;
	__builtin_memcpy(sw, mac + 6, 6);
	__builtin_memcpy(sw + 6, mac, 6);
	if (bpf_skb_store_bytes(skb, 0, sw, 12, 0) < 0)
		return TC_ACT_SHOT;
	bpf_skb_change_type(skb, PACKET_HOST);
	return back_into_endpoint(skb);
}

/* A translated packet of a flow from an endpoint to itself (p: after the
 * translation): from the hairpin address, back in. */
static __inline int hairpin_out(struct __sk_buff *skb, const struct pkt *p)
{
	__u8 addr[16];

	hairpin_addr(p->t.family, addr);
	if (nat_rewrite(skb, p, 1, addr, p->t.sport) < 0)
		return -1;
	return hairpin_deliver(skb, p);
}

/*
 * A reply to the hairpin address, from the endpoint: its flow is the one
 * from the endpoint (its source) to itself, whose EGRESS entry says which
 * frontend it went to. Returns the verdict; -1: no such flow (the caller
 * goes on as with any packet).
 */
static __inline int hairpin_reply(struct __sk_buff *skb, const struct pkt *p, __u64 now)
{
	struct tuple t = p->t;
	struct sl_ct_value *ct;
	__u8 addr[16];
	__u16 port;

	copy16(t.daddr, t.saddr);
	ct = ct_lookup(&t, SL_CT_EGRESS, 1, now);
	if (!ct || !(ct->flags & SL_CT_REV_NAT))
		return -1;
	ct_update(ct, &t, p->tcp_flags, 1, now);
	copy16(addr, ct->nat_addr);
	port = ct->nat_port;
	if (nat_rewrite(skb, p, 0, p->t.saddr, p->t.dport) < 0 || nat_rewrite(skb, p, 1, addr, port) < 0)
		return TC_ACT_SHOT;
	metric(SL_METRIC_REV_NAT, skb->len);
	return hairpin_deliver(skb, p);
}

#endif
