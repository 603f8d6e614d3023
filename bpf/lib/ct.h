/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Connection tracking. LRU maps per family, for TCP and for the rest. Each
 * direction of policy has entries of its own (struct sl_ct_key.dir): a flow
 * between two local endpoints has an EGRESS entry (made where it left the
 * client) and an INGRESS entry (made where it reached the server); a flow to
 * a service also has a SERVICE entry keyed by the frontend, holding the
 * backend it was given. Lifetimes are refreshed on every packet; TCP flows
 * that closed (RST, or FIN both ways) expire after SL_CT_LIFETIME_TCP_CLOSING.
 */
#ifndef SLUICE_BPF_CT_H
#define SLUICE_BPF_CT_H

#include "config.h"
#include "maps.h"
#include "parse.h"

static __inline __u64 ct_now(void)
{
	return bpf_jiffies64();
}

static __inline void *ct_map(const struct tuple *t)
{
	if (t->family == SL_FAMILY_IPV4)
		return t->proto == IPPROTO_TCP ? (void *)&sluice_ct4_tcp : (void *)&sluice_ct4_any;
	return t->proto == IPPROTO_TCP ? (void *)&sluice_ct6_tcp : (void *)&sluice_ct6_any;
}

union ct_key {
	struct sl_ct4_key v4;
	struct sl_ct6_key v6;
};

static __inline void ct_key(union ct_key *k, const struct tuple *t, __u8 dir, int reverse)
{
	const __u8 *s = reverse ? t->daddr : t->saddr, *d = reverse ? t->saddr : t->daddr;
	__u16 sport = reverse ? t->dport : t->sport, dport = reverse ? t->sport : t->dport;

	if (t->family == SL_FAMILY_IPV4) {
		__builtin_memcpy(k->v4.saddr, s, 4);
		__builtin_memcpy(k->v4.daddr, d, 4);
		k->v4.sport = sport;
		k->v4.dport = dport;
		k->v4.proto = t->proto;
		k->v4.dir = dir;
		k->v4.pad = 0;
	} else {
		copy16(k->v6.saddr, s);
		copy16(k->v6.daddr, d);
		k->v6.sport = sport;
		k->v6.dport = dport;
		k->v6.proto = t->proto;
		k->v6.dir = dir;
		k->v6.pad = 0;
	}
}

/* A live entry, or NULL: an entry past its deadline is gone. */
static __inline struct sl_ct_value *ct_lookup(const struct tuple *t, __u8 dir, int reverse, __u64 now)
{
	union ct_key k;
	struct sl_ct_value *v;

	ct_key(&k, t, dir, reverse);
	v = bpf_map_lookup_elem(ct_map(t), &k);
	/* Past its deadline it is as good as gone; a new flow overwrites it,
	 * the LRU or user space's sweep removes it. */
	if (v && v->expires < now)
		return NULL;
	return v;
}

static __inline __u64 ct_lifetime(const struct tuple *t, __u16 flags)
{
	__u64 s;

	if (t->proto != IPPROTO_TCP)
		s = SL_CT_LIFETIME_ANY;
	else if (flags & SL_CT_CLOSING)
		s = SL_CT_LIFETIME_TCP_CLOSING;
	else if (flags & SL_CT_SEEN_REPLY)
		s = SL_CT_LIFETIME_TCP;
	else
		s = SL_CT_LIFETIME_TCP_SYN;
	return s * cfg_hz;
}

/* A packet of a tracked flow: advance the TCP state and the deadline. */
static __inline void ct_update(struct sl_ct_value *v, const struct tuple *t, __u8 tcp_flags, int is_reply,
			       __u64 now)
{
	__u16 flags = v->flags;

	if (is_reply)
		flags |= SL_CT_SEEN_REPLY;
	if (t->proto == IPPROTO_TCP) {
		if (tcp_flags & TCP_RST)
			flags |= SL_CT_CLOSING;
		if (tcp_flags & TCP_FIN)
			flags |= is_reply ? SL_CT_FIN_REV : SL_CT_FIN_FWD;
		if ((flags & (SL_CT_FIN_FWD | SL_CT_FIN_REV)) == (SL_CT_FIN_FWD | SL_CT_FIN_REV))
			flags |= SL_CT_CLOSING;
		/* A new SYN on a closing tuple starts the flow again. */
		if ((tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN && !is_reply && (flags & SL_CT_CLOSING))
			flags &= (__u16) ~(SL_CT_CLOSING | SL_CT_FIN_FWD | SL_CT_FIN_REV | SL_CT_SEEN_REPLY);
	}
	/* Write only what changed, and the deadline at most once a second:
	 * a cache line left clean is cheaper on the next packet. */
	if (flags != v->flags) {
		v->flags = flags;
		v->expires = now + ct_lifetime(t, flags);
	} else if (now + ct_lifetime(t, flags) > v->expires + cfg_hz) {
		v->expires = now + ct_lifetime(t, flags);
	}
}

static __inline int ct_create(const struct tuple *t, __u8 dir, const struct sl_ct_value *init, __u64 now)
{
	union ct_key k;
	struct sl_ct_value v = *init;

	ct_key(&k, t, dir, 0);
	v.expires = now + ct_lifetime(t, v.flags);
	return bpf_map_update_elem(ct_map(t), &k, &v, BPF_ANY);
}

/* Whether an ICMP error is about a flow conntrack knows, either way. */
static __inline int ct_related(const struct pkt *p, __u64 now)
{
	const struct tuple *in = &p->inner;

	return ct_lookup(in, SL_CT_EGRESS, 0, now) || ct_lookup(in, SL_CT_INGRESS, 0, now) ||
	       ct_lookup(in, SL_CT_EGRESS, 1, now) || ct_lookup(in, SL_CT_INGRESS, 1, now);
}

#endif
