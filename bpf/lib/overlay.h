/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What arrives from the overlay (sluice_from_overlay, tc ingress of
 * sluice_vxlan): the VNI is the sender's security identity (encap.h puts
 * it there). It travels on to the destination endpoint's sluice_to_endpoint
 * in skb->mark (SL_MARK_IDENTITY, abi.h), which judges the packet by it and
 * takes the mark off (overlay_peer_identity).
 */
#ifndef SLUICE_BPF_OVERLAY_H
#define SLUICE_BPF_OVERLAY_H

#include "config.h"
#include "drops.h"
#include "events.h"
#include "metrics.h"

#ifndef PACKET_HOST
#define PACKET_HOST 0
#endif

/*
 * Mark a packet from the tunnel with its sender's identity and hand it to
 * the stack, which routes it to the endpoint's device. The inner frame's
 * destination MAC is the sending node's (the endpoint's gateway there), so
 * it is made the packet's own (PACKET_HOST), as Cilium's from-overlay does.
 * No tunnel metadata (not from an external-mode device) and a VNI that is
 * no identity (0, or more than 24 bits) are dropped, counted. The host
 * identity is the sending node's, which is a remote node here.
 */
static __inline int overlay_receive(struct __sk_buff *skb, const struct env *env)
{
	struct bpf_tunnel_key tk = {};
	struct sl_event *e;
	__u8 family = SL_FAMILY_IPV4;
	__u32 id;

	if (bpf_skb_get_tunnel_key(skb, &tk, sizeof(tk), 0) < 0) {
		family = SL_FAMILY_IPV6;
		if (bpf_skb_get_tunnel_key(skb, &tk, sizeof(tk), BPF_F_TUNINFO_IPV6) < 0)
			return drop(env, SL_DROP_NO_TUNNEL_KEY, SL_DIR_INGRESS, 0, 0);
	}
	id = (__u32)tk.tunnel_id;
	if (id == SL_ID_UNKNOWN || tk.tunnel_id > SL_MARK_IDENTITY_MAX)
		return drop(env, SL_DROP_BAD_VNI, SL_DIR_INGRESS, id, 0);
	if (id == SL_ID_HOST)
		id = SL_ID_REMOTE_NODE;
	skb->mark = sl_mark_identity(id);
	bpf_skb_change_type(skb, PACKET_HOST);
	metric(SL_METRIC_FROM_TUNNEL, env->len);
	e = event_start(SL_EVENT_FROM_TUNNEL, env);
	if (e) {
		e->dir = SL_DIR_INGRESS;
		e->target = id; /* the VNI */
		e->src_identity = id;
		if (family == SL_FAMILY_IPV4) {
			__u32 a = bpf_htonl(tk.remote_ipv4);

			__builtin_memcpy(e->tunnel_addr, &a, 4);
		} else {
			__builtin_memcpy(e->tunnel_addr, tk.remote_ipv6, 16);
		}
		e->tunnel_family = family;
	}
	return TC_ACT_OK;
}

/*
 * In sluice_to_endpoint: the sender's identity when the packet came from
 * the overlay (SL_MARK_IDENTITY), else 0 (the ipcache says). The mark is
 * taken off: it is for this node's datapath only.
 */
static __inline __u32 overlay_peer_identity(struct __sk_buff *skb)
{
	__u32 mark = skb->mark;

	if ((mark & SL_MARK_MAGIC_MASK) != SL_MARK_IDENTITY)
		return 0;
	skb->mark = 0;
	return sl_mark_identity_of(mark);
}

#endif
