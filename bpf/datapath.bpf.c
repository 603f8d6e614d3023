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
 *                         conntrack, ingress policy (by the identity the
 *                         overlay marked, else the ipcache's), proxy redirect.
 *   sluice_from_overlay   tc ingress of sluice_vxlan: what other nodes'
 *                         endpoints send; marks it with the sender's
 *                         identity (the VNI) for sluice_to_endpoint.
 *
 * This file is the order of the steps: the steps themselves are in lib/,
 * one header per concern (parse, ct, ipcache, policy, lb, nat, refuse,
 * proxy, encrypt, encap, overlay, hairpin; config, metrics, events, drops). The new-flow
 * decision is policy_decide(), one function for both directions, inlined
 * into each program with its direction a constant. docs/datapath.md walks
 * through both programs.
 */
#include "lib/common.h"
#include "lib/config.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/metrics.h"
#include "lib/drops.h"
#include "lib/ct.h"
#include "lib/ipcache.h"
#include "lib/policy.h"
#include "lib/lb.h"
#include "lib/nat.h"
#include "lib/hairpin.h"
#include "lib/refuse.h"
#include "lib/proxy.h"
#include "lib/encrypt.h"
#include "lib/encap.h"
#include "lib/overlay.h"

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

/* Send on what the endpoint sent: to the proxy, marked for encryption,
 * into the overlay, or to the stack. */
static __inline int from_forward(struct __sk_buff *skb, const struct env *env, const struct pkt *p,
				 const struct sl_endpoint_value *ep, __u16 proxy_port)
{
	struct sl_ipcache_value *dst;
	__u32 mark;

	if (proxy_port)
		return proxy_egress(skb, env, p, proxy_port, ep ? ep->identity : 0);
	if (!cfg_encrypt && !cfg_tunnel_ifindex) {
		metric(SL_METRIC_FORWARD, env->len);
		return TC_ACT_OK;
	}
	dst = ipcache_lookup(p->t.daddr, p->t.family);
	mark = encrypt_mark(skb, env, dst);
	if (encap_wanted(dst))
		return encap_redirect(skb, env, ep, dst, mark);
	metric(SL_METRIC_FORWARD, env->len);
	return TC_ACT_OK;
}

/* A service flow whose backend is its own client: back into it. */
static __inline int hairpin(struct __sk_buff *skb, const struct env *env, const struct pkt *p,
			    const struct sl_endpoint_value *ep)
{
	int verdict = hairpin_out(skb, p);

	return verdict < 0 ? drop(env, SL_DROP_NAT_FAILED, SL_DIR_EGRESS, ep->identity, 0) : verdict;
}

static __inline int from_endpoint_steps(struct __sk_buff *skb, struct env *env, struct pkt *p)
{
	struct sl_endpoint_value *ep;
	struct sl_ct_value *ct, init = {};
	struct sl_service_value *svc;
	__u16 proxy_port = 0;
	int r, verdict;
	__u64 now;

	/* ipvlan mode: the mark that lets an answer into the endpoint
	 * (back_into_endpoint) is sluice's to set; an endpoint that sets it
	 * itself (SO_MARK) must not carry it to a slave in its own namespace,
	 * which no namespace crossing would clear. */
	if (cfg_ipvlan && skb->mark == SL_MARK_RETURNED)
		skb->mark = 0;
	r = parse_packet(skb, p);
	if (r == PARSE_OK)
		env->p = p; /* what events say of the packet */
	now = ct_now();
	/* A flow this endpoint opened, to an address that is no frontend:
	 * the common case first, before even the endpoint entry (the program
	 * is attached to endpoints only; the entry is looked up where needed).
	 * Before it, what sluice_to_endpoint sent back in for the proxy. */
	if (r == PARSE_OK) {
		__u16 hairpin = proxy_hairpinned(skb->mark);

		if (hairpin)
			return proxy_from_hairpin(skb, env, p, hairpin);
		/* A bare SYN to a frontend opens a service flow, whose EGRESS
		 * entry is keyed by its backend: looked up by the frontend it
		 * would only miss, which in a full table costs about what an
		 * insert does. The services map is small and stays in cache. */
		ct = p->t.proto == IPPROTO_TCP && (p->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN && lb_lookup(p)
			     ? NULL
			     : ct_lookup(&p->t, SL_CT_EGRESS, 0, now);
		if (ct) {
			ct_update(ct, &p->t, p->tcp_flags, 0, now);
			return from_forward(skb, env, p, NULL, ct->flags & SL_CT_PROXY ? ct->proxy_port : 0);
		}
		/* A reply of a service flow from this endpoint to itself. */
		if (hairpin_is(p->t.daddr, p->t.family)) {
			verdict = hairpin_reply(skb, p, now);
			if (verdict >= 0)
				return verdict;
		}
	}
	ep = admit(env, p, r, SL_DIR_EGRESS, &verdict);
	if (!ep)
		return verdict;
	/* A reply of a flow it accepted (a bare SYN opens, never replies). */
	ct = p->t.proto == IPPROTO_TCP && (p->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN
		     ? NULL
		     : ct_lookup(&p->t, SL_CT_INGRESS, 1, now);
	if (ct) {
		ct_update(ct, &p->t, p->tcp_flags, 1, now);
		metric(SL_METRIC_REPLY, env->len);
		return from_forward(skb, env, p, ep, 0);
	}
	if (p->icmp_error) {
		/* An error about a reply of a service flow, which came from the
		 * frontend: it goes to the flow's backend, about what the
		 * backend sent. */
		struct sl_ct_value *svc_ct = p->inner.proto == IPPROTO_ICMP || p->inner.proto == IPPROTO_ICMPV6
						     ? NULL
						     : ct_lookup(&p->inner, SL_CT_SERVICE, 1, now);

		if (svc_ct) {
			struct sl_backend_key bk = { .id = svc_ct->backend_id };
			struct sl_backend_value *be = bpf_map_lookup_elem(&sluice_backends, &bk);

			if (be && be->family == p->t.family) {
				if (nat_icmp_error(skb, p, 1, be->addr, be->port) < 0)
					return drop(env, SL_DROP_NAT_FAILED, SL_DIR_EGRESS, ep->identity, 0);
				metric(SL_METRIC_DNAT, env->len);
				metric(SL_METRIC_RELATED, env->len);
				copy16(p->t.daddr, be->addr);
				return from_forward(skb, env, p, ep, 0);
			}
		}
		if (ct_related(p, now)) {
			metric(SL_METRIC_RELATED, env->len);
			return from_forward(skb, env, p, ep, 0);
		}
	}

	/* To a frontend: translate to its backend. */
	svc = lb_lookup(p);
	if (svc) {
		struct sl_backend_value *be = 0;
		struct sl_ct_value *svc_ct = 0;

		r = lb_select(skb, p, svc, now, &be, &svc_ct);
		if (r == SL_DROP_NO_BACKEND) {
			/* Counted as "no backend", and answered at once. */
			drop(env, r, SL_DIR_EGRESS, ep->identity, 0);
			verdict = refuse(skb, p, 0);
			return verdict < 0 ? TC_ACT_SHOT : verdict;
		}
		if (r || !be)
			return drop(env, r ? r : SL_DROP_BACKEND_GONE, SL_DIR_EGRESS, ep->identity, 0);
		if (be->family != p->t.family)
			return drop(env, SL_DROP_FAMILY, SL_DIR_EGRESS, ep->identity, 0);
		copy16(init.nat_addr, p->t.daddr);
		init.nat_port = p->t.dport;
		init.flags = SL_CT_REV_NAT;
		if (nat_rewrite(skb, p, 0, be->addr, be->port) < 0)
			return drop(env, SL_DROP_NAT_FAILED, SL_DIR_EGRESS, ep->identity, 0);
		metric(SL_METRIC_DNAT, env->len);
		copy16(p->t.daddr, be->addr);
		if (p->t.proto != IPPROTO_SCTP)
			p->t.dport = be->port;
		/* A flow the service just gave a backend has no entry yet. */
		ct = svc_ct ? ct_lookup(&p->t, SL_CT_EGRESS, 0, now) : NULL;
		if (ct) {
			ct_update(ct, &p->t, p->tcp_flags, 0, now);
			lb_follow(svc_ct, ct);
			if (!(ct->flags & SL_CT_PROXY) && hairpin_wanted(p))
				return hairpin(skb, env, p, ep);
			return from_forward(skb, env, p, ep, ct->flags & SL_CT_PROXY ? ct->proxy_port : 0);
		}
	}

	/* A new flow: the endpoint's egress policy. */
	verdict = policy_decide(skb, env, p, ep, SL_DIR_EGRESS, 0, &init, now, &proxy_port);
	if (verdict != TC_ACT_OK)
		return verdict;
	if (svc && !proxy_port && hairpin_wanted(p))
		return hairpin(skb, env, p, ep);
	return from_forward(skb, env, p, ep, proxy_port);
}

static __inline int from_endpoint_as(struct __sk_buff *skb, __u32 mon)
{
	struct env env = { .ifindex = skb->ifindex, .len = skb->len, .mon = mon };
	struct pkt p;
	int verdict;

	event_trace_begin(&env);
	verdict = from_endpoint_steps(skb, &env, &p);
	event_trace_end(&env, verdict, SL_DIR_EGRESS);
	return verdict;
}

static __inline int to_endpoint_steps(struct __sk_buff *skb, struct env *env, struct pkt *p)
{
	struct sl_endpoint_value *ep;
	struct sl_ct_value *ct, init = {};
	__u16 proxy_port = 0;
	int r, verdict;
	__u64 now;
	/* Sent by the local proxy (its SO_MARK): read before the overlay's
	 * identity mark is taken off. */
	__u32 from_proxy = proxy_sent(skb->mark);
	/* From another node through the overlay: its sender's identity. */
	__u32 peer_id = cfg_tunnel_ifindex ? overlay_peer_identity(skb) : 0;

	if (cfg_ipvlan && skb->mark == SL_MARK_RETURNED) {
		skb->mark = 0;
		return TC_ACT_OK;
	}
	r = parse_packet(skb, p);
	if (r == PARSE_OK)
		env->p = p; /* what events say of the packet */
	now = ct_now();
	if (r == PARSE_OK) {
		/* A reply of a flow this endpoint opened: undo service translation. */
		ct = ct_lookup(&p->t, SL_CT_EGRESS, 1, now);
		if (ct) {
			ct_update(ct, &p->t, p->tcp_flags, 1, now);
			if (ct->flags & SL_CT_REV_NAT) {
				__u8 addr[16];
				__u16 port = ct->nat_port;

				copy16(addr, ct->nat_addr);
				if (nat_rewrite(skb, p, 1, addr, port) < 0)
					return drop(env, SL_DROP_NAT_FAILED, SL_DIR_INGRESS, 0, 0);
				metric(SL_METRIC_REV_NAT, env->len);
			}
			metric(SL_METRIC_REPLY, env->len);
			return TC_ACT_OK;
		}
		/* A flow it accepted (to its proxy, unless the proxy sends it). */
		ct = ct_lookup(&p->t, SL_CT_INGRESS, 0, now);
		if (ct) {
			ct_update(ct, &p->t, p->tcp_flags, 0, now);
			if ((ct->flags & SL_CT_PROXY) && !from_proxy)
				return proxy_hairpin(skb, env, p, ct->proxy_port, ct->peer_identity, 0);
			metric(SL_METRIC_FORWARD, env->len);
			return TC_ACT_OK;
		}
	}
	ep = admit(env, p, r, SL_DIR_INGRESS, &verdict);
	if (!ep)
		return verdict;
	if (p->icmp_error) {
		/* An error about a service flow this endpoint opened (from its
		 * backend, or on the way there): about the flow to the
		 * frontend, as the endpoint knows it. */
		ct = ct_lookup(&p->inner, SL_CT_EGRESS, 0, now);
		if (ct && (ct->flags & SL_CT_REV_NAT)) {
			__u8 addr[16];
			__u16 port = ct->nat_port;

			copy16(addr, ct->nat_addr);
			if (nat_icmp_error(skb, p, 0, addr, port) < 0)
				return drop(env, SL_DROP_NAT_FAILED, SL_DIR_INGRESS, 0, ep->identity);
			metric(SL_METRIC_REV_NAT, env->len);
			metric(SL_METRIC_RELATED, env->len);
			return TC_ACT_OK;
		}
		if (ct || ct_related(p, now)) {
			metric(SL_METRIC_RELATED, env->len);
			return TC_ACT_OK;
		}
	}

	/* The proxy's own connection onward (its SO_MARK): the proxy has
	 * decided; tracked, so that the endpoint's replies pass. */
	if (from_proxy) {
		init.peer_identity = peer_id ? peer_id : identity_of(p->t.saddr, p->t.family);
		ct_create(&p->t, SL_CT_INGRESS, &init, now);
		metric(SL_METRIC_NEW, env->len);
		return TC_ACT_OK;
	}

	/* A new flow: the endpoint's ingress policy. */
	verdict = policy_decide(skb, env, p, ep, SL_DIR_INGRESS, peer_id, &init, now, &proxy_port);
	if (verdict != TC_ACT_OK)
		return verdict;
	if (proxy_port) {
		proxy_divert_client(p, proxy_port, now);
		return proxy_hairpin(skb, env, p, proxy_port, init.peer_identity, ep->identity);
	}
	metric(SL_METRIC_FORWARD, env->len);
	return TC_ACT_OK;
}

static __inline int to_endpoint_as(struct __sk_buff *skb, __u32 mon)
{
	struct env env = { .ifindex = skb->ifindex, .len = skb->len, .mon = mon };
	struct pkt p;
	int verdict;

	event_trace_begin(&env);
	verdict = to_endpoint_steps(skb, &env, &p);
	event_trace_end(&env, verdict, SL_DIR_INGRESS);
	return verdict;
}

static __inline int from_overlay_as(struct __sk_buff *skb, __u32 mon)
{
	struct env env = { .ifindex = skb->ifindex, .len = skb->len, .mon = mon };
	int verdict;

	event_trace_begin(&env);
	verdict = proxy_arrival(skb, &env) == TC_ACT_OK ? TC_ACT_OK : overlay_receive(skb, &env);
	event_trace_end(&env, verdict, SL_DIR_INGRESS);
	return verdict;
}

static __inline int from_netdev_as(struct __sk_buff *skb, __u32 mon)
{
	struct env env = { .ifindex = skb->ifindex, .len = skb->len, .mon = mon };

	/* only what it delivers to the proxy is traced */
	event_trace_begin(&env);
	if (proxy_arrival(skb, &env) == TC_ACT_OK)
		event_trace_end(&env, TC_ACT_OK, SL_DIR_INGRESS);
	return TC_ACT_OK;
}

/*
 * Each program twice (issue 21: a type nobody monitors costs the check of
 * one flag): the program itself, built with no event at all (env.mon the
 * constant 0, so the compiler leaves no event code in it), which every
 * packet takes while nobody monitors; and its twin with events,
 * sluice_<name>_ev, which it tail-calls while some monitor wants some
 * type. The twin is the one entry of the program's own prog array,
 * sluice_ev_<name>, filled when the programs are loaded and pinned beside
 * the program (src/datapath/programs.c). A tail call, not a call: the
 * twin's stack does not come on top of the program's. A tail call that
 * fails (the entry gone) counts as an event lost, and the packet is
 * handled without events. SLUICE_NO_EVENTS (bench/datapath's baseline)
 * builds the programs without the flag: the same paths, no events.
 */
#ifdef SLUICE_NO_EVENTS
#define WITH_EVENTS(name)                                                                                              \
	static __inline int name(struct __sk_buff *skb)                                                                \
	{                                                                                                              \
		return name##_as(skb, 0);                                                                              \
	}
#else
#define WITH_EVENTS(name)                                                                                              \
	struct sl_events_prog sluice_ev_##name SEC(".maps");                                                          \
	SEC("tc") int sluice_##name##_ev(struct __sk_buff *skb)                                                        \
	{                                                                                                              \
		return name##_as(skb, monitor_types());                                                                \
	}                                                                                                              \
	static __inline int name(struct __sk_buff *skb)                                                                \
	{                                                                                                              \
		if (monitor_types()) {                                                                                 \
			bpf_tail_call(skb, &sluice_ev_##name, 0);                                                      \
			events_lost();                                                                                 \
		}                                                                                                      \
		return name##_as(skb, 0);                                                                              \
	}
#endif
WITH_EVENTS(from_endpoint)
WITH_EVENTS(to_endpoint)
WITH_EVENTS(from_overlay)
WITH_EVENTS(from_netdev)

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

SEC("tc")
int sluice_from_overlay(struct __sk_buff *skb)
{
	return from_overlay(skb);
}

/* tc ingress of datapath.underlayDevice, with a proxyPort in the state:
 * what arrives on a flow handed to the proxy is delivered to it here;
 * everything else passes untouched. */
SEC("tc")
int sluice_from_netdev(struct __sk_buff *skb)
{
	return from_netdev(skb);
}

char LICENSE[] SEC("license") = "GPL";
#endif
