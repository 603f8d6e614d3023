// SPDX-License-Identifier: GPL-2.0-only
/*
 * The endpoint programs, generic for every endpoint: what differs between
 * endpoints comes from the sluice_endpoints map, keyed by the host-side
 * device's ifindex, so one loaded program serves them all.
 *
 *   sluice_from_endpoint  tc ingress of the host-side device: traffic the
 *                         endpoint sends. Service translation, conntrack,
 *                         egress policy, encryption mark, tunnel redirect,
 *                         proxy redirect.
 *   sluice_to_endpoint    tc egress of the host-side device: traffic to the
 *                         endpoint. Reverse translation of service replies,
 *                         conntrack, ingress policy, proxy redirect.
 *
 * docs/datapath.md walks through both.
 */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/counters.h"
#include "lib/parse.h"
#include "lib/ct.h"
#include "lib/policy.h"
#include "lib/nat.h"
#include "lib/refuse.h"

/* Node settings, set before load; a change replaces the programs. */
const volatile __u32 cfg_tunnel_ifindex = 0; /* sluice_vxlan; 0: no overlay */
const volatile __u8 cfg_encrypt = 0;	     /* mark traffic whose ipcache entry has a key */

static __inline struct sl_ipcache_value *ipcache_lookup(const __u8 *addr, __u8 family)
{
	struct sl_ipcache_key k = {};

	k.prefixlen = SL_IPCACHE_PREFIX_BITS(family == SL_FAMILY_IPV4 ? 32 : 128);
	k.family = family;
	copy16(k.addr, addr);
	return bpf_map_lookup_elem(&sluice_ipcache, &k);
}

static __inline __u32 identity_of(const __u8 *addr, __u8 family)
{
	struct sl_ipcache_value *v = ipcache_lookup(addr, family);

	return v ? v->identity : SL_ID_WORLD;
}

/*
 * What both programs do once the fast conntrack paths have not decided:
 * pass what is not IP and IPv6 neighbour discovery (IPv6 does not work
 * without it, so no policy judges it), find the endpoint entry, drop what
 * cannot be read. Returns the entry, or NULL with *verdict set.
 */
static __inline struct sl_endpoint_value *admit(const struct env *env, const struct pkt *p, int parse_result,
						__u8 dir, int *verdict)
{
	struct sl_endpoint_key ek = { .ifindex = env->ifindex };
	struct sl_endpoint_value *ep;
	__u32 id;

	if (parse_result == PARSE_NOT_IP || (parse_result == PARSE_OK && p->ndp)) {
		metric(parse_result == PARSE_NOT_IP ? SL_METRIC_NOT_IP : SL_METRIC_FORWARD, env->len);
		*verdict = TC_ACT_OK;
		return NULL;
	}
	ep = bpf_map_lookup_elem(&sluice_endpoints, &ek);
	if (!ep) {
		*verdict = drop(env, SL_DROP_NO_ENDPOINT, dir, 0, 0);
		return NULL;
	}
	if (parse_result == PARSE_OK)
		return ep;
	id = ep->identity;
	*verdict = drop(env, parse_result == PARSE_FRAGMENT ? SL_DROP_FRAGMENT : SL_DROP_INVALID, dir,
			dir == SL_DIR_EGRESS ? id : 0, dir == SL_DIR_EGRESS ? 0 : id);
	return NULL;
}

/* The port policy sees: none for protocols without ports. */
static __inline __u16 policy_port(const struct pkt *p)
{
	return p->has_ports ? p->t.dport : 0;
}

static __inline int to_proxy(struct __sk_buff *skb, const struct env *env, __u16 port, __u8 dir)
{
	__u32 mark = sl_mark_proxy(port);
	struct sl_event *e;

	skb->mark = mark;
	metric(SL_METRIC_PROXY, env->len);
	e = event_start(SL_EVENT_PROXY, env->ifindex);
	if (e) {
		e->dir = dir;
		e->target = port;
		e->mark = mark;
		bpf_ringbuf_submit(e, 0);
	}
	return TC_ACT_OK;
}

/* Send on what the endpoint sent: to the proxy, marked for encryption,
 * into the overlay, or to the stack. */
static __inline int from_forward(struct __sk_buff *skb, const struct env *env, const struct pkt *p,
				 const struct sl_endpoint_value *ep, __u16 proxy_port)
{
	struct sl_ipcache_value *dst;
	__u32 mark = 0;

	if (proxy_port)
		return to_proxy(skb, env, proxy_port, SL_DIR_EGRESS);
	if (!cfg_encrypt && !cfg_tunnel_ifindex) {
		metric(SL_METRIC_FORWARD, env->len);
		return TC_ACT_OK;
	}
	dst = ipcache_lookup(p->t.daddr, p->t.family);
	if (dst && cfg_encrypt && dst->key) {
		mark = sl_mark_encrypt(dst->key);
		skb->mark = mark;
		metric(SL_METRIC_ENCRYPT, env->len);
	}
	if (dst && cfg_tunnel_ifindex && (dst->flags & SL_IPCACHE_REMOTE) && dst->tunnel_family) {
		struct bpf_tunnel_key tk = {};
		struct sl_event *e;
		__u64 flags = 0;

		if (dst->tunnel_family == SL_FAMILY_IPV4) {
			tk.remote_ipv4 = bpf_ntohl(*(__u32 *)dst->tunnel_addr);
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
		e = event_start(SL_EVENT_TUNNEL, env->ifindex);
		if (e) {
			e->target = cfg_tunnel_ifindex;
			e->src_identity = ep->identity;
			e->dst_identity = dst->identity;
			e->mark = mark;
			copy16(e->tunnel_addr, dst->tunnel_addr);
			e->tunnel_family = dst->tunnel_family;
			bpf_ringbuf_submit(e, 0);
		}
		return bpf_redirect(cfg_tunnel_ifindex, 0);
	}
	metric(SL_METRIC_FORWARD, env->len);
	return TC_ACT_OK;
}

/*
 * The backend for a packet to a frontend: the one conntrack gave this flow
 * while it still exists (terminating or not), else the slot the flow's hash
 * picks among the active ones. Returns a drop reason, 0 when found.
 */
static __inline int lb_select(struct __sk_buff *skb, const struct pkt *p, const struct sl_service_value *svc,
			      __u64 now, struct sl_backend_value **ret, struct sl_ct_value **ret_ct)
{
	struct sl_ct_value *ct = ct_lookup(&p->t, SL_CT_SERVICE, 0, now);
	struct sl_backend_value *be;
	struct sl_ct_value init = {};

	if (ct) {
		struct sl_backend_key bk = { .id = ct->backend_id };

		be = bpf_map_lookup_elem(&sluice_backends, &bk);
		if (be) {
			ct_update(ct, &p->t, p->tcp_flags, 0, now);
			*ret = be;
			*ret_ct = ct;
			return 0;
		}
		/* Its backend is gone: the flow is given a new one. */
	}
	if (!svc->n_slots)
		return SL_DROP_NO_BACKEND;
	{
		__u32 slot = bpf_get_hash_recalc(skb) % svc->n_slots, m;
		struct sl_backend_key bk;

		if (slot >= SL_LB_SLOTS)
			return SL_DROP_BACKEND_GONE;
		m = svc->slot[slot];
		if (m >= SL_LB_MAX_BACKENDS || m >= svc->n_members)
			return SL_DROP_BACKEND_GONE;
		bk.id = svc->member[m].backend_id;
		be = bpf_map_lookup_elem(&sluice_backends, &bk);
		if (!be)
			return SL_DROP_BACKEND_GONE;
		init.backend_id = bk.id;
	}
	ct_create(&p->t, SL_CT_SERVICE, &init, now);
	*ret = be;
	*ret_ct = NULL; /* a new flow of the service */
	return 0;
}

/*
 * A service flow's SERVICE entry sees only the client's packets; its EGRESS
 * entry sees the replies too. The SERVICE entry follows the flow's state and
 * deadline, so that an established flow keeps its backend as long as it
 * lives, idle or not.
 */
static __inline void lb_follow(struct sl_ct_value *svc_ct, const struct sl_ct_value *ct)
{
	const __u16 state = SL_CT_SEEN_REPLY | SL_CT_FIN_FWD | SL_CT_FIN_REV | SL_CT_CLOSING;
	__u16 flags = (svc_ct->flags & (__u16)~state) | (ct->flags & state);

	if (flags != svc_ct->flags)
		svc_ct->flags = flags;
	if (svc_ct->expires != ct->expires)
		svc_ct->expires = ct->expires;
}

static __inline int from_endpoint(struct __sk_buff *skb)
{
	struct env env = { .ifindex = skb->ifindex, .len = skb->len };
	struct sl_endpoint_value *ep;
	struct sl_ct_value *ct, init = {};
	struct pkt p;
	__u32 dst_id;
	__u16 proxy_port = 0;
	int r, verdict;
	__u64 now;

	r = parse_packet(skb, &p);
	now = ct_now();
	/* A flow this endpoint opened, to an address that is no frontend:
	 * the common case first, before even the endpoint entry (the program
	 * is attached to endpoints only; the entry is looked up where needed). */
	if (r == PARSE_OK) {
		ct = ct_lookup(&p.t, SL_CT_EGRESS, 0, now);
		if (ct) {
			ct_update(ct, &p.t, p.tcp_flags, 0, now);
			return from_forward(skb, &env, &p, NULL, ct->flags & SL_CT_PROXY ? ct->proxy_port : 0);
		}
	}
	ep = admit(&env, &p, r, SL_DIR_EGRESS, &verdict);
	if (!ep)
		return verdict;
	/* A reply of a flow it accepted (a bare SYN opens, never replies). */
	ct = p.t.proto == IPPROTO_TCP && (p.tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN
		     ? NULL
		     : ct_lookup(&p.t, SL_CT_INGRESS, 1, now);
	if (ct) {
		ct_update(ct, &p.t, p.tcp_flags, 1, now);
		metric(SL_METRIC_REPLY, env.len);
		return from_forward(skb, &env, &p, ep, 0);
	}
	if (p.icmp_error) {
		/* An error about a reply of a service flow, which came from the
		 * frontend: it goes to the flow's backend, about what the
		 * backend sent. */
		struct sl_ct_value *svc_ct = p.inner.proto == IPPROTO_ICMP || p.inner.proto == IPPROTO_ICMPV6
						     ? NULL
						     : ct_lookup(&p.inner, SL_CT_SERVICE, 1, now);

		if (svc_ct) {
			struct sl_backend_key bk = { .id = svc_ct->backend_id };
			struct sl_backend_value *be = bpf_map_lookup_elem(&sluice_backends, &bk);

			if (be && be->family == p.t.family) {
				if (nat_icmp_error(skb, &p, 1, be->addr, be->port) < 0)
					return drop(&env, SL_DROP_NAT_FAILED, SL_DIR_EGRESS, ep->identity, 0);
				metric(SL_METRIC_DNAT, env.len);
				metric(SL_METRIC_RELATED, env.len);
				copy16(p.t.daddr, be->addr);
				return from_forward(skb, &env, &p, ep, 0);
			}
		}
		if (ct_related(&p, now)) {
			metric(SL_METRIC_RELATED, env.len);
			return from_forward(skb, &env, &p, ep, 0);
		}
	}

	/* To a frontend: translate to its backend. */
	if (p.has_ports) {
		struct sl_service_key sk = {};
		struct sl_service_value *svc;

		copy16(sk.addr, p.t.daddr);
		sk.port = p.t.dport;
		sk.proto = p.t.proto;
		sk.family = p.t.family;
		svc = bpf_map_lookup_elem(&sluice_services, &sk);
		if (svc) {
			struct sl_backend_value *be = 0;
			struct sl_ct_value *svc_ct = 0;

			r = lb_select(skb, &p, svc, now, &be, &svc_ct);
			if (r == SL_DROP_NO_BACKEND) {
				/* Counted as "no backend", and answered at once. */
				drop(&env, r, SL_DIR_EGRESS, ep->identity, 0);
				verdict = refuse(skb, &p);
				return verdict < 0 ? TC_ACT_SHOT : verdict;
			}
			if (r || !be)
				return drop(&env, r ? r : SL_DROP_BACKEND_GONE, SL_DIR_EGRESS, ep->identity, 0);
			if (be->family != p.t.family)
				return drop(&env, SL_DROP_FAMILY, SL_DIR_EGRESS, ep->identity, 0);
			copy16(init.nat_addr, p.t.daddr);
			init.nat_port = p.t.dport;
			init.flags = SL_CT_REV_NAT;
			if (nat_rewrite(skb, &p, 0, be->addr, be->port) < 0)
				return drop(&env, SL_DROP_NAT_FAILED, SL_DIR_EGRESS, ep->identity, 0);
			metric(SL_METRIC_DNAT, env.len);
			copy16(p.t.daddr, be->addr);
			if (p.t.proto != IPPROTO_SCTP)
				p.t.dport = be->port;
			/* A flow the service just gave a backend has no entry yet. */
			ct = svc_ct ? ct_lookup(&p.t, SL_CT_EGRESS, 0, now) : NULL;
			if (ct) {
				ct_update(ct, &p.t, p.tcp_flags, 0, now);
				lb_follow(svc_ct, ct);
				return from_forward(skb, &env, &p, ep, ct->flags & SL_CT_PROXY ? ct->proxy_port : 0);
			}
		}
	}

	/* A new flow: the endpoint's egress policy. Deny rules apply even
	 * where egress is not enforced. */
	dst_id = identity_of(p.t.daddr, p.t.family);
	verdict = policy_lookup(ep->id, SL_DIR_EGRESS, ep->policy_levels[SL_DIR_EGRESS], dst_id, p.t.proto, policy_port(&p), &proxy_port);
	if (verdict == POLICY_DENY)
		return drop(&env, SL_DROP_POLICY_DENY, SL_DIR_EGRESS, ep->identity, dst_id);
	if ((ep->flags & SL_EP_ENFORCE_EGRESS) && verdict != POLICY_ALLOW)
		return drop(&env, SL_DROP_POLICY, SL_DIR_EGRESS, ep->identity, dst_id);
	if (verdict != POLICY_ALLOW)
		proxy_port = 0;
	init.peer_identity = dst_id;
	if (proxy_port) {
		init.flags |= SL_CT_PROXY;
		init.proxy_port = proxy_port;
	}
	ct_create(&p.t, SL_CT_EGRESS, &init, now);
	metric(SL_METRIC_NEW, env.len);
	policy_event(&env, SL_DIR_EGRESS, p.t.proto, ep->identity, dst_id, proxy_port);
	return from_forward(skb, &env, &p, ep, proxy_port);
}

static __inline int to_endpoint(struct __sk_buff *skb)
{
	struct env env = { .ifindex = skb->ifindex, .len = skb->len };
	struct sl_endpoint_value *ep;
	struct sl_ct_value *ct, init = {};
	struct pkt p;
	__u32 src_id;
	__u16 proxy_port = 0;
	int r, verdict;
	__u64 now;

	r = parse_packet(skb, &p);
	now = ct_now();
	if (r == PARSE_OK) {
		/* A reply of a flow this endpoint opened: undo service translation. */
		ct = ct_lookup(&p.t, SL_CT_EGRESS, 1, now);
		if (ct) {
			ct_update(ct, &p.t, p.tcp_flags, 1, now);
			if (ct->flags & SL_CT_REV_NAT) {
				__u8 addr[16];
				__u16 port = ct->nat_port;

				copy16(addr, ct->nat_addr);
				if (nat_rewrite(skb, &p, 1, addr, port) < 0)
					return drop(&env, SL_DROP_NAT_FAILED, SL_DIR_INGRESS, 0, 0);
				metric(SL_METRIC_REV_NAT, env.len);
			}
			metric(SL_METRIC_REPLY, env.len);
			return TC_ACT_OK;
		}
		/* A flow it accepted. */
		ct = ct_lookup(&p.t, SL_CT_INGRESS, 0, now);
		if (ct) {
			ct_update(ct, &p.t, p.tcp_flags, 0, now);
			if (ct->flags & SL_CT_PROXY)
				return to_proxy(skb, &env, ct->proxy_port, SL_DIR_INGRESS);
			metric(SL_METRIC_FORWARD, env.len);
			return TC_ACT_OK;
		}
	}
	ep = admit(&env, &p, r, SL_DIR_INGRESS, &verdict);
	if (!ep)
		return verdict;
	if (p.icmp_error) {
		/* An error about a service flow this endpoint opened (from its
		 * backend, or on the way there): about the flow to the
		 * frontend, as the endpoint knows it. */
		ct = ct_lookup(&p.inner, SL_CT_EGRESS, 0, now);
		if (ct && (ct->flags & SL_CT_REV_NAT)) {
			__u8 addr[16];
			__u16 port = ct->nat_port;

			copy16(addr, ct->nat_addr);
			if (nat_icmp_error(skb, &p, 0, addr, port) < 0)
				return drop(&env, SL_DROP_NAT_FAILED, SL_DIR_INGRESS, 0, ep->identity);
			metric(SL_METRIC_REV_NAT, env.len);
			metric(SL_METRIC_RELATED, env.len);
			return TC_ACT_OK;
		}
		if (ct || ct_related(&p, now)) {
			metric(SL_METRIC_RELATED, env.len);
			return TC_ACT_OK;
		}
	}

	/* A new flow: the endpoint's ingress policy. */
	src_id = identity_of(p.t.saddr, p.t.family);
	verdict = policy_lookup(ep->id, SL_DIR_INGRESS, ep->policy_levels[SL_DIR_INGRESS], src_id, p.t.proto, policy_port(&p), &proxy_port);
	if (verdict == POLICY_DENY)
		return drop(&env, SL_DROP_POLICY_DENY, SL_DIR_INGRESS, src_id, ep->identity);
	if ((ep->flags & SL_EP_ENFORCE_INGRESS) && verdict != POLICY_ALLOW)
		return drop(&env, SL_DROP_POLICY, SL_DIR_INGRESS, src_id, ep->identity);
	if (verdict != POLICY_ALLOW)
		proxy_port = 0;
	init.peer_identity = src_id;
	if (proxy_port) {
		init.flags = SL_CT_PROXY;
		init.proxy_port = proxy_port;
	}
	ct_create(&p.t, SL_CT_INGRESS, &init, now);
	metric(SL_METRIC_NEW, env.len);
	policy_event(&env, SL_DIR_INGRESS, p.t.proto, src_id, ep->identity, proxy_port);
	if (proxy_port)
		return to_proxy(skb, &env, proxy_port, SL_DIR_INGRESS);
	metric(SL_METRIC_FORWARD, env.len);
	return TC_ACT_OK;
}

/* bench/datapath.bpf.c includes this file for the bodies above and brings
 * programs of its own. */
#ifndef SLUICE_BENCH
SEC("tc")
int sluice_from_endpoint(struct __sk_buff *skb)
{
	return from_endpoint(skb);
}

SEC("tc")
int sluice_to_endpoint(struct __sk_buff *skb)
{
	return to_endpoint(skb);
}

char LICENSE[] SEC("license") = "GPL";
#endif
