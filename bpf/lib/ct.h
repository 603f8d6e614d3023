/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Connection tracking. One LRU map for TCP, one for everything else. Each
 * direction of policy has entries of its own (struct sl_ct_key.dir): a flow
 * between two local endpoints has an EGRESS entry (made where it left the
 * client) and an INGRESS entry (made where it reached the server); a flow to
 * a service also has a SERVICE entry keyed by the frontend, holding the
 * backend it was given. Lifetimes are refreshed on every packet; TCP flows
 * that closed (RST, or FIN both ways) expire after SL_CT_LIFETIME_TCP_CLOSING.
 */
#ifndef SLUICE_BPF_CT_H
#define SLUICE_BPF_CT_H

#include "parse.h"

/* The kernel's HZ, set before load (CONFIG_HZ): conntrack counts time in
 * jiffies, which cost a load where the clocks cost a call that reads the
 * time source. A tick's precision is plenty for lifetimes of seconds. */
const volatile __u32 cfg_hz = 250;

static __inline __u64 ct_now(void)
{
	return bpf_jiffies64();
}

static __inline void *ct_map(__u8 proto)
{
	return proto == IPPROTO_TCP ? (void *)&sluice_ct_tcp : (void *)&sluice_ct_any;
}

static __inline void ct_key(struct sl_ct_key *k, const struct tuple *t, __u8 dir, int reverse)
{
	__builtin_memset(k, 0, sizeof(*k));
	if (reverse) {
		copy16(k->saddr, t->daddr);
		copy16(k->daddr, t->saddr);
		k->sport = t->dport;
		k->dport = t->sport;
	} else {
		copy16(k->saddr, t->saddr);
		copy16(k->daddr, t->daddr);
		k->sport = t->sport;
		k->dport = t->dport;
	}
	k->proto = t->proto;
	k->family = t->family;
	k->dir = dir;
}

/* A live entry, or NULL: an entry past its deadline is gone. */
static __inline struct sl_ct_value *ct_lookup(const struct tuple *t, __u8 dir, int reverse, __u64 now)
{
	struct sl_ct_key k;
	struct sl_ct_value *v;

	ct_key(&k, t, dir, reverse);
	v = bpf_map_lookup_elem(ct_map(t->proto), &k);
	if (v && v->expires < now) {
		bpf_map_delete_elem(ct_map(t->proto), &k);
		return NULL;
	}
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
	struct sl_ct_key k;
	struct sl_ct_value v = *init;

	ct_key(&k, t, dir, 0);
	v.expires = now + ct_lifetime(t, v.flags);
	return bpf_map_update_elem(ct_map(t->proto), &k, &v, BPF_ANY);
}

/* Whether an ICMP error is about a flow conntrack knows, either way. */
static __inline int ct_related(const struct pkt *p, __u64 now)
{
	const struct tuple *in = &p->inner;

	return ct_lookup(in, SL_CT_EGRESS, 0, now) || ct_lookup(in, SL_CT_INGRESS, 0, now) ||
	       ct_lookup(in, SL_CT_EGRESS, 1, now) || ct_lookup(in, SL_CT_INGRESS, 1, now);
}

#endif
