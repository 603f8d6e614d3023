/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The L7 redirect (state-format.md, "L7 redirect"; docs/datapath.md, "The
 * proxy redirect"): a TCP flow that a rule with proxyPort allows is handed
 * to the proxy listening on that port in the node's network namespace,
 * transparently: the proxy's accepted socket has the original destination
 * as its local address and the client as its peer.
 *
 * How a packet reaches the proxy: at tc ingress of an endpoint's device
 * (sluice_from_endpoint), the flow's SYN is given to the proxy's listening
 * socket (bpf_sk_assign), and every packet of the flow gets the mark
 * SL_MARK_PROXY | port << 16. sluice's policy-routing rule (fwmark
 * SL_MARK_PROXY/SL_MARK_MAGIC_MASK, table SL_PROXY_TABLE: "local default
 * dev lo") makes the stack deliver marked packets locally although their
 * destination is not the node's: the SYN to the socket assigned, the rest
 * to the socket the proxy accepted, found by the flow's own addresses. No
 * netfilter rule is involved.
 *
 *  - egress (a flow the endpoint opens): its packets are already at tc
 *    ingress; they are delivered there (proxy_deliver).
 *  - ingress (a flow to the endpoint): the decision is taken at tc egress
 *    (sluice_to_endpoint), where no socket can be assigned; the packet is
 *    marked and sent back into the ingress of the same device
 *    (proxy_hairpin), where sluice_from_endpoint sees the mark before
 *    anything else and delivers it (proxy_from_hairpin).
 *
 * Nothing listening: the SYN is refused at once with a reset, as the
 * destination would answer, and counted as "proxy unavailable". Packets
 * the proxy sends onward (SO_MARK SL_MARK_FROM_PROXY) are neither
 * redirected nor judged by policy (proxy_sent).
 */
#ifndef SLUICE_BPF_PROXY_H
#define SLUICE_BPF_PROXY_H

#include "config.h"
#include "ct.h"
#include "drops.h"
#include "events.h"
#include "ipcache.h"
#include "metrics.h"
#include "parse.h"
#include "refuse.h"

/* A bare SYN: the packet that opens a TCP flow. */
static __inline int proxy_is_syn(const struct pkt *p)
{
	return p->t.proto == IPPROTO_TCP && (p->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN;
}

/* Packets the proxy itself sends onward: its SO_MARK. */
static __inline int proxy_sent(__u32 mark)
{
	return (mark & SL_MARK_MAGIC_MASK) == SL_MARK_FROM_PROXY;
}

/* Packets proxy_hairpin sent back into the device: the port, else 0. */
static __inline __u16 proxy_hairpinned(__u32 mark)
{
	return (mark & SL_MARK_MAGIC_MASK) == SL_MARK_PROXY ? (__u16)(mark >> SL_MARK_PROXY_PORT_SHIFT) : 0;
}

/* A listening socket for the tuple t, or NULL; the caller releases it. */
static __inline struct bpf_sock *proxy_lookup(struct __sk_buff *skb, struct bpf_sock_tuple *t, __u32 len)
{
	struct bpf_sock *sk = bpf_sk_lookup_tcp(skb, t, len, BPF_F_CURRENT_NETNS, 0);

	if (sk && sk->state != BPF_TCP_LISTEN) {
		bpf_sk_release(sk);
		sk = NULL;
	}
	return sk;
}

/*
 * The socket listening on port in the namespace of the device the packet
 * is on: one bound to the wildcard address (it listens for every
 * destination, the packet's too), else one bound to the loopback address
 * of the family (127.0.0.1, ::1), or NULL. The caller releases it.
 */
static __inline struct bpf_sock *proxy_listener(struct __sk_buff *skb, const struct pkt *p, __u16 port)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;

	if (p->t.family == SL_FAMILY_IPV4) {
		__builtin_memcpy(&t.ipv4.saddr, p->t.saddr, 4);
		__builtin_memcpy(&t.ipv4.daddr, p->t.daddr, 4);
		t.ipv4.sport = p->t.sport;
		t.ipv4.dport = bpf_htons(port);
		sk = proxy_lookup(skb, &t, sizeof(t.ipv4));
		if (!sk) {
			t.ipv4.daddr = bpf_htonl(0x7f000001);
			sk = proxy_lookup(skb, &t, sizeof(t.ipv4));
		}
	} else {
		__builtin_memcpy(t.ipv6.saddr, p->t.saddr, 16);
		__builtin_memcpy(t.ipv6.daddr, p->t.daddr, 16);
		t.ipv6.sport = p->t.sport;
		t.ipv6.dport = bpf_htons(port);
		sk = proxy_lookup(skb, &t, sizeof(t.ipv6));
		if (!sk) {
			__builtin_memset(t.ipv6.daddr, 0, 16);
			t.ipv6.daddr[3] = bpf_htonl(1);
			sk = proxy_lookup(skb, &t, sizeof(t.ipv6));
		}
	}
	return sk;
}

/* Counted as "proxy unavailable" (src_id, dst_id: the flow's identities). */
static __inline void proxy_unavailable(const struct env *env, __u8 dir, __u32 src_id, __u32 dst_id)
{
	drop(env, SL_DROP_PROXY_UNAVAILABLE, dir, src_id, dst_id);
}

/*
 * At tc ingress: deliver the packet to the proxy on port. A SYN is given to
 * the listening socket; every packet gets the mark that routes it locally.
 * Returns TC_ACT_OK, or -1 when the SYN finds no listener (counted by the
 * caller, which answers it).
 */
static __inline int proxy_deliver(struct __sk_buff *skb, const struct env *env, const struct pkt *p, __u16 port,
				  __u8 dir)
{
	struct sl_event *e;
	__u32 mark = sl_mark_proxy(port);

	if (proxy_is_syn(p)) {
		struct bpf_sock *sk = proxy_listener(skb, p, port);
		long r;

		if (!sk)
			return -1;
		r = bpf_sk_assign(skb, sk, 0);
		bpf_sk_release(sk);
		if (r < 0)
			return -1;
	}
	skb->mark = mark;
	metric(SL_METRIC_PROXY, env->len);
	e = event_start(SL_EVENT_PROXY, env);
	if (e) {
		e->dir = dir;
		e->target = port;
	}
	return TC_ACT_OK;
}

/*
 * What the endpoint sends, to the proxy (sluice_from_endpoint, egress).
 * Nothing listening: the SYN is refused, back into the endpoint.
 */
static __inline int proxy_egress(struct __sk_buff *skb, const struct env *env, const struct pkt *p, __u16 port,
				 __u32 src_id)
{
	int verdict;

	if (proxy_deliver(skb, env, p, port, SL_DIR_EGRESS) == TC_ACT_OK)
		return TC_ACT_OK;
	proxy_unavailable(env, SL_DIR_EGRESS, src_id, identity_of(p->t.daddr, p->t.family));
	verdict = refuse(skb, p, 0);
	return verdict < 0 ? TC_ACT_SHOT : verdict;
}

/*
 * What is sent to the endpoint, to the proxy (sluice_to_endpoint, tc
 * egress): marked and sent back into the device's ingress, where
 * proxy_from_hairpin delivers it, addressed to the device. A SYN nobody listens for is answered
 * with a reset as the endpoint would answer it: built in place and sent
 * into the device's ingress unmarked, so that it leaves by the endpoint's
 * own egress path (conntrack knows it as a reply; the overlay and
 * encryption carry it like any other).
 */
static __inline int proxy_hairpin(struct __sk_buff *skb, const struct env *env, const struct pkt *p, __u16 port,
				  __u32 src_id, __u32 dst_id)
{
	__u8 mac[ETH_ALEN];
	int verdict;

	if (proxy_is_syn(p)) {
		struct bpf_sock *sk = proxy_listener(skb, p, port);

		if (!sk) {
			proxy_unavailable(env, SL_DIR_INGRESS, src_id, dst_id);
			skb->mark = 0;
			verdict = refuse(skb, p, 1);
			return verdict < 0 ? TC_ACT_SHOT : verdict;
		}
		bpf_sk_release(sk);
	}
	/* Addressed to the device itself (its own MAC, the frame's source),
	 * else the stack takes it for another host's and drops it. */
	if (bpf_skb_load_bytes(skb, ETH_ALEN, mac, ETH_ALEN) < 0 || bpf_skb_store_bytes(skb, 0, mac, ETH_ALEN, 0) < 0)
		return drop(env, SL_DROP_INVALID, SL_DIR_INGRESS, src_id, dst_id);
	skb->mark = sl_mark_proxy(port);
	return bpf_redirect(env->ifindex, BPF_F_INGRESS);
}

/*
 * A new flow to a local endpoint goes to the proxy (its ingress policy
 * says so): when the client is a local endpoint too, its own entry for the
 * flow (made by sluice_from_endpoint as it sent the SYN) gets the proxy
 * port, so that its next packets are delivered at its own device's tc
 * ingress (proxy_egress). They must be: once the proxy has accepted the
 * flow, the stack finds the proxy's socket for them by their addresses
 * (early demux) and then refuses to forward them to the endpoint.
 */
static __inline void proxy_divert_client(const struct pkt *p, __u16 port, __u64 now)
{
	struct sl_ct_value *c = ct_lookup(&p->t, SL_CT_EGRESS, 0, now);

	if (c) {
		c->flags |= SL_CT_PROXY;
		c->proxy_port = port;
	}
}

/*
 * The same for what arrives from outside the node (tc ingress of
 * sluice_vxlan): a packet of a flow a local endpoint accepted for the proxy
 * is delivered to the proxy here, before the stack sees it. Returns
 * TC_ACT_OK when it was, -1 when the packet goes on as usual (not such a
 * flow, or a SYN nothing listens for: sluice_to_endpoint refuses it).
 */
static __inline int proxy_arrival(struct __sk_buff *skb, const struct env *env)
{
	struct sl_ct_value *ct;
	struct pkt p;
	__u64 now;

	if (!cfg_proxy || parse_packet(skb, &p) != PARSE_OK || p.t.proto != IPPROTO_TCP)
		return -1;
	now = ct_now();
	ct = ct_lookup(&p.t, SL_CT_INGRESS, 0, now);
	if (!ct || !(ct->flags & SL_CT_PROXY))
		return -1;
	ct_update(ct, &p.t, p.tcp_flags, 0, now);
	if (proxy_deliver(skb, env, &p, ct->proxy_port, SL_DIR_INGRESS) != TC_ACT_OK)
		return -1;
	/* The overlay's inner frame is addressed to the sending node's MAC:
	 * made the packet's own, as overlay_receive does, else the stack
	 * drops it as another host's. */
	bpf_skb_change_type(skb, PACKET_HOST);
	return TC_ACT_OK;
}

/* Back at tc ingress after proxy_hairpin: delivered. A SYN whose listener
 * went away in between is dropped, counted (the client retransmits). */
static __inline int proxy_from_hairpin(struct __sk_buff *skb, const struct env *env, const struct pkt *p,
				       __u16 port)
{
	if (proxy_deliver(skb, env, p, port, SL_DIR_INGRESS) == TC_ACT_OK)
		return TC_ACT_OK;
	return drop(env, SL_DROP_PROXY_UNAVAILABLE, SL_DIR_INGRESS, 0, 0);
}

#endif
