/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The overlay: with cfg_tunnel_ifindex set, a packet to a prefix behind
 * another node gets a tunnel key (the node's address, VNI = the source
 * endpoint's identity, TTL 64) and is redirected into sluice_vxlan. Not
 * yet: sluice loads the programs with the overlay off; only the packet
 * tests turn it on, with a stand-in device.
 */
#ifndef SLUICE_BPF_ENCAP_H
#define SLUICE_BPF_ENCAP_H

#include "config.h"
#include "drops.h"

/* Whether dst is behind another node that the overlay reaches. */
static __inline int encap_wanted(const struct sl_ipcache_value *dst)
{
	return dst && cfg_tunnel_ifindex && (dst->flags & SL_IPCACHE_REMOTE) && dst->tunnel_family;
}

/* Into the tunnel, to dst's node; ep may be NULL (then it is looked up).
 * mark: what the packet is already marked with, for the trace. */
static __inline int encap_redirect(struct __sk_buff *skb, const struct env *env, const struct sl_endpoint_value *ep,
				   const struct sl_ipcache_value *dst, __u32 mark)
{
	struct bpf_tunnel_key tk = {};
	struct sl_event *e;
	__u64 flags = 0;

	if (dst->tunnel_family == SL_FAMILY_IPV4) {
		tk.remote_ipv4 = bpf_ntohl(*(const __u32 *)dst->tunnel_addr);
	} else {
		__builtin_memcpy(tk.remote_ipv6, dst->tunnel_addr, 16);
		flags = BPF_F_TUNINFO_IPV6;
	}
	if (!ep) {
		struct sl_endpoint_key ek = { .ifindex = env->ifindex };

		ep = bpf_map_lookup_elem(&sluice_endpoints, &ek);
		if (!ep)
			return drop(env, SL_DROP_NO_ENDPOINT, SL_DIR_EGRESS, 0, dst->identity);
	}
	tk.tunnel_id = ep->identity;
	tk.tunnel_ttl = 64;
	if (bpf_skb_set_tunnel_key(skb, &tk, sizeof(tk), flags) < 0)
		return drop(env, SL_DROP_TUNNEL_FAILED, SL_DIR_EGRESS, ep->identity, dst->identity);
	metric(SL_METRIC_TUNNEL, env->len);
	e = event_start(SL_EVENT_TUNNEL, env);
	if (e) {
		e->dir = SL_DIR_EGRESS;
		e->target = cfg_tunnel_ifindex;
		e->src_identity = ep->identity;
		e->dst_identity = dst->identity;
		copy16(e->tunnel_addr, dst->tunnel_addr);
		e->tunnel_family = dst->tunnel_family;
	}
	return bpf_redirect(cfg_tunnel_ifindex, 0);
}

#endif
