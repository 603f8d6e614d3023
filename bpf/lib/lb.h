/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Load balancing: a packet to a frontend (sluice_services) gets one of the
 * service's backends (sluice_backends), the same for the whole flow: its
 * SERVICE conntrack entry, keyed by the frontend, names the backend it was
 * given. The translation itself is nat.h's.
 */
#ifndef SLUICE_BPF_LB_H
#define SLUICE_BPF_LB_H

#include "ct.h"

/* The service of the packet's destination, or NULL: only TCP, UDP and
 * SCTP reach a frontend. */
static __inline struct sl_service_value *lb_lookup(const struct pkt *p)
{
	struct sl_service_key sk = {};

	if (!p->has_ports)
		return NULL;
	copy16(sk.addr, p->t.daddr);
	sk.port = p->t.dport;
	sk.proto = p->t.proto;
	sk.family = p->t.family;
	return bpf_map_lookup_elem(&sluice_services, &sk);
}

/* Whether a backend is still the one an entry was given: the same address
 * and port (a backend deleted leaves its id free for another). */
static __inline int lb_same_backend(const struct sl_backend_value *be, const __u8 *addr, __u16 port)
{
	return be->port == port && eq16(be->addr, addr);
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
		/* (an entry made before entries held the address has port 0) */
		if (be && (!ct->nat_port || lb_same_backend(be, ct->nat_addr, ct->nat_port))) {
			ct_update(ct, &p->t, p->tcp_flags, 0, now);
			*ret = be;
			*ret_ct = ct;
			return 0;
		}
		/* Its backend is gone (its id may name another one now):
		 * the flow is given a new one. */
	}
	if (!svc->n_slots)
		return SL_DROP_NO_BACKEND;
	be = lb_slot_backend(svc, bpf_get_hash_recalc(skb), &init.backend_id);
	if (!be)
		return SL_DROP_BACKEND_GONE;
	copy16(init.nat_addr, be->addr);
	init.nat_port = be->port;
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

#endif
