/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Policy: the verdict for a new flow (abi.h: struct sl_policy_key), and the
 * decision both programs take on it, written once (policy_decide).
 */
#ifndef SLUICE_BPF_POLICY_H
#define SLUICE_BPF_POLICY_H

#include "ct.h"
#include "drops.h"
#include "events.h"
#include "ipcache.h"
#include "maps.h"
#include "metrics.h"
#include "parse.h"

enum policy_verdict {
	POLICY_NONE = 0,  /* no entry matched */
	POLICY_ALLOW = 1,
	POLICY_DENY = 2,
};

static __inline int policy_level(struct sl_policy_key *k, __u32 identity, __u8 proto, __u16 dport, int *verdict,
				 __u16 *proxy_port)
{
	struct sl_policy_value *v;

	k->identity = identity;
	k->proto = proto;
	k->dport = dport;
	v = bpf_map_lookup_elem(&sluice_policy, k);
	if (!v)
		return 0;
	if (v->flags & SL_POLICY_DENY) {
		*verdict = POLICY_DENY;
		return 1; /* deny wins: look no further */
	}
	if (*verdict == POLICY_NONE) {
		*verdict = POLICY_ALLOW;
		*proxy_port = v->proxy_port; /* the most specific allow says */
	}
	return 0;
}

/*
 * Look up the six levels, most specific first, skipping those the endpoint
 * has no entries at (levels: its mask for this direction); any deny wins
 * over every allow; the most specific allow decides the proxy port.
 */
static __inline int policy_lookup(__u16 ep_id, __u8 dir, __u8 levels, __u32 identity, __u8 proto, __u16 dport,
				  __u16 *proxy_port)
{
	struct sl_policy_key k = { .ep_id = ep_id, .dir = dir };
	int verdict = POLICY_NONE;

	if (!(levels & SL_POLICY_LEVELS_KNOWN))
		levels = 0xff;
	*proxy_port = 0;
#pragma unroll
	for (int l = 1; l <= 6; l++) {
		/* a packet without a port has no key at the port levels */
		if (!(levels & SL_POLICY_LEVEL(l)) || (SL_POLICY_LEVEL_KEEPS_PORT(l) && !dport))
			continue;
		if (policy_level(&k, SL_POLICY_LEVEL_KEEPS_IDENTITY(l) ? identity : SL_ID_UNKNOWN,
				 SL_POLICY_LEVEL_KEEPS_PROTO(l) ? proto : 0, SL_POLICY_LEVEL_KEEPS_PORT(l) ? dport : 0,
				 &verdict, proxy_port))
			return verdict;
	}
	return verdict;
}

/*
 * The port policy sees: for ICMP and ICMPv6 the message type, as icmps
 * rules are filed (abi.h, sl_policy_icmp_port); none for other protocols
 * without ports. The type is read from the packet here, on the way of a
 * new flow only: kept in struct pkt from parse to policy, it would hold a
 * stack slot through the whole program, which has none to spare.
 */
static __inline __u16 policy_port(struct __sk_buff *skb, const struct pkt *p)
{
	__u8 type;

	if (p->has_ports)
		return p->t.dport;
	if ((p->t.proto != IPPROTO_ICMP && p->t.proto != IPPROTO_ICMPV6) ||
	    bpf_skb_load_bytes(skb, p->l4_off, &type, 1) < 0)
		return 0;
	return bpf_htons(sl_policy_icmp_port(type));
}

/*
 * The policy of endpoint ep in direction dir for a flow whose peer has
 * peer_id: a deny drops it (`policy-deny`), also where dir is not
 * enforced; where it is, no allow drops it (`policy`). Returns TC_ACT_OK
 * with *verdict (POLICY_*) and *proxy_port set, or TC_ACT_SHOT, counted
 * (src_id, dst_id: the flow's identities; dport: policy_port's).
 */
static __always_inline int policy_judge(const struct env *env, const struct pkt *p,
					const struct sl_endpoint_value *ep, const __u8 dir, __u32 peer_id,
					__u32 src_id, __u32 dst_id, __u16 dport, int *verdict, __u16 *proxy_port)
{
	*verdict = policy_lookup(ep->id, dir, ep->policy_levels[dir], peer_id, p->t.proto, dport, proxy_port);
	if (*verdict == POLICY_DENY) {
		verdict_event(env, dir, SL_VERDICT_DENY_RULE, src_id, dst_id, 0);
		return drop(env, SL_DROP_POLICY_DENY, dir, src_id, dst_id);
	}
	if ((ep->flags & (dir == SL_DIR_EGRESS ? SL_EP_ENFORCE_EGRESS : SL_EP_ENFORCE_INGRESS)) &&
	    *verdict != POLICY_ALLOW) {
		verdict_event(env, dir, SL_VERDICT_DENY, src_id, dst_id, 0);
		return drop(env, SL_DROP_POLICY, dir, src_id, dst_id);
	}
	return TC_ACT_OK;
}

/*
 * A flow that an egress rule hands to the proxy goes to the destination
 * from the proxy, whose connection is not judged again (SL_MARK_FROM_PROXY):
 * so when the destination is a local endpoint, its ingress policy judges
 * the flow now, for the sender's identity, as it would without the proxy.
 * The destination's device comes from the FIB; an address that no local
 * endpoint's device leads to is for the policy of its own node. Returns
 * TC_ACT_OK or TC_ACT_SHOT, counted. (Only TCP goes to a proxy: the flow
 * has ports, its destination port is policy's.)
 */
static __inline int policy_peer_ingress(struct __sk_buff *skb, const struct env *env, const struct pkt *p,
					__u32 src_id, __u32 dst_id)
{
	struct bpf_fib_lookup fib = { .ifindex = env->ifindex, .l4_protocol = p->t.proto,
				      .sport = p->t.sport, .dport = p->t.dport };
	struct sl_endpoint_value *peer;
	struct sl_endpoint_key ek = {};
	__u16 port;
	int verdict;
	long r;

	if (p->t.family == SL_FAMILY_IPV4) {
		fib.family = 2; /* AF_INET */
		__builtin_memcpy(&fib.ipv4_src, p->t.saddr, 4);
		__builtin_memcpy(&fib.ipv4_dst, p->t.daddr, 4);
	} else {
		fib.family = 10; /* AF_INET6 */
		__builtin_memcpy(fib.ipv6_src, p->t.saddr, 16);
		__builtin_memcpy(fib.ipv6_dst, p->t.daddr, 16);
	}
	/* The device is known also when the neighbour is not (yet). */
	r = bpf_fib_lookup(skb, &fib, sizeof(fib), 0);
	if (r != BPF_FIB_LKUP_RET_SUCCESS && r != BPF_FIB_LKUP_RET_NO_NEIGH)
		return TC_ACT_OK;
	ek.ifindex = fib.ifindex;
	peer = bpf_map_lookup_elem(&sluice_endpoints, &ek);
	if (!peer)
		return TC_ACT_OK;
	return policy_judge(env, p, peer, SL_DIR_INGRESS, src_id, src_id, dst_id, p->t.dport, &verdict, &port);
}

/*
 * A new flow, for the endpoint ep in direction dir (SL_DIR_EGRESS: ep
 * sends it; SL_DIR_INGRESS: it is sent to ep), judged by ep's policy for
 * the peer's identity (peer_id when not 0: what the overlay said, overlay.h;
 * else the ipcache's, `world` when unknown). A deny drops it
 * (`policy-deny`), also where the direction is not enforced; where it is
 * enforced, no allow drops it (`policy`). Otherwise the flow gets its
 * conntrack entry: init with the peer's identity and, when the allowing
 * entry names one, the proxy port (init may already hold a service's
 * reverse translation, SL_CT_REV_NAT, which it keeps). Returns TC_ACT_OK
 * with *proxy_port set (0: none), or TC_ACT_SHOT, counted.
 *
 * dir is a constant at both call sites: inlined, each program gets a
 * straight path of its own direction, as if written out there.
 */
static __always_inline int policy_decide(struct __sk_buff *skb, const struct env *env, const struct pkt *p,
					 const struct sl_endpoint_value *ep, const __u8 dir, __u32 peer_id,
					 struct sl_ct_value *init, __u64 now, __u16 *proxy_port)
{
	const int egress = dir == SL_DIR_EGRESS;

	__u32 src_id, dst_id;
	__u16 port = 0;
	int verdict;

	if (!peer_id)
		peer_id = identity_of(egress ? p->t.daddr : p->t.saddr, p->t.family);
	src_id = egress ? ep->identity : peer_id;
	dst_id = egress ? peer_id : ep->identity;
	if (policy_judge(env, p, ep, dir, peer_id, src_id, dst_id, policy_port(skb, p), &verdict, &port) != TC_ACT_OK)
		return TC_ACT_SHOT;
	if (verdict != POLICY_ALLOW || p->t.proto != IPPROTO_TCP)
		port = 0; /* only TCP is redirected */
	if (egress && port && policy_peer_ingress(skb, env, p, src_id, dst_id) != TC_ACT_OK)
		return TC_ACT_SHOT;
	init->peer_identity = peer_id;
	if (port) {
		init->flags |= SL_CT_PROXY;
		init->proxy_port = port;
	}
	ct_create(&p->t, egress ? SL_CT_EGRESS : SL_CT_INGRESS, init, now);
	metric(SL_METRIC_NEW, env->len);
	verdict_event(env, dir, port ? SL_VERDICT_REDIRECT : SL_VERDICT_ALLOW, src_id, dst_id, port);
	*proxy_port = port;
	return TC_ACT_OK;
}

#endif
