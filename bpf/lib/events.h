/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Monitor events (abi.h, "monitor events"): made only for the types some
 * `sluice monitor` wants, which each program reads once per packet
 * (env->mon, one array element); a type nobody monitors costs the test
 * of that flag. Drops and verdicts are sent at once; the trace event of a
 * packet (what happened to it: forwarded, into the overlay, to the proxy,
 * from the overlay) is made while the packet is handled and sent when its
 * verdict is known (event_trace_end). Events live in a per-CPU map, not
 * on the stack, and are copied into the ring of every monitor that wants
 * them; a ring that is full counts the event as lost.
 */
#ifndef SLUICE_BPF_EVENTS_H
#define SLUICE_BPF_EVENTS_H

#include "maps.h"
#include "parse.h"

/* The event types some monitor wants. */
static __inline __u32 monitor_types(void)
{
	__u32 zero = 0;
	struct sl_monitor_slot *s = bpf_map_lookup_elem(&sluice_monitor, &zero);

	return s ? s->types : 0;
}

/* An event lost for all monitors: counted where `sluice monitor` and the
 * metrics read the total (sluice_monitor_lost[SL_MONITOR_SLOTS]). */
static __inline void events_lost(void)
{
	__u32 all = SL_MONITOR_SLOTS;
	__u64 *lost = bpf_map_lookup_elem(&sluice_monitor_lost, &all);

	if (lost)
		*lost += 1;
}

/* Copy e into the ring of every monitor that wants `bit`. A global
 * function: the verifier checks it once, not at every place an event is
 * made. */
__attribute__((noinline)) int sluice_event_send(struct sl_event *e, __u32 bit)
{
	if (!e)
		return 0;
	for (__u32 i = 0; i < SL_MONITOR_SLOTS; i++) {
		__u32 idx = i + 1, slot = i, all = SL_MONITOR_SLOTS;
		struct sl_monitor_slot *s = bpf_map_lookup_elem(&sluice_monitor, &idx);
		__u64 *lost;
		void *ring;

		if (!s || !(s->types & bit))
			continue;
		ring = bpf_map_lookup_elem(&sluice_monitor_rings, &slot);
		if (!ring || bpf_ringbuf_output(ring, (void *)e, sizeof(*e), 0) == 0)
			continue;
		lost = bpf_map_lookup_elem(&sluice_monitor_lost, &slot);
		if (lost)
			*lost += 1;
		lost = bpf_map_lookup_elem(&sluice_monitor_lost, &all);
		if (lost)
			*lost += 1;
	}
	return 0;
}

/* Where an event happened: what event_tuple reads, copied out of the
 * program's env so that env's address is never taken by a function that
 * is not inlined (then the compiler keeps env in registers, and a program
 * built with a constant env->mon of 0 has no event code at all). */
struct event_at {
	const struct pkt *p;
	__u32 ifindex;
	__u32 len;
};

/* The packet's addresses, ports and protocol into e. */
static __inline void event_tuple(struct sl_event *e, const struct event_at *at)
{
	const struct pkt *p = at->p;

	e->time_ns = bpf_ktime_get_tai_ns();
	e->ifindex = at->ifindex;
	e->len = at->len;
	if (!p)
		return;
	e->family = p->t.family;
	e->proto = p->t.proto;
	copy16(e->saddr, p->t.saddr);
	copy16(e->daddr, p->t.daddr);
	e->sport = p->t.sport;
	e->dport = p->t.dport;
}

/* The per-CPU event at idx, zeroed, of this type. */
static __inline struct sl_event *event_scratch(__u32 idx, __u8 type)
{
	struct sl_event *e = bpf_map_lookup_elem(&sluice_monitor_scratch, &idx);

	if (e) {
		__builtin_memset(e, 0, sizeof(*e));
		e->type = type;
	}
	return e;
}

/* What event_now is told of an event, in one argument (a BPF function
 * takes five). */
#define EVENT_CODE(type, reason, dir) ((__u32)(type) | (__u32)(reason) << 8 | (__u32)(dir) << 16)

/* A drop or a verdict (code: EVENT_CODE), sent at once. */
static __attribute__((noinline)) void event_now_at(const struct event_at *at, __u32 code, __u32 src_id,
						   __u32 dst_id, __u32 target)
{
	__u8 type = (__u8)code;
	struct sl_event *e = event_scratch(1, type);

	if (!e)
		return;
	event_tuple(e, at);
	e->reason = (__u8)(code >> 8);
	e->dir = (__u8)(code >> 16);
	e->src_identity = src_id;
	e->dst_identity = dst_id;
	e->target = target;
	sluice_event_send(e, type == SL_EVENT_DROP ? SL_MON_DROP : SL_MON_VERDICT);
}

static __inline void event_now(const struct env *env, __u32 code, __u32 src_id, __u32 dst_id, __u32 target)
{
	struct event_at at = { .p = env->p, .ifindex = env->ifindex, .len = env->len };

	event_now_at(&at, code, src_id, dst_id, target);
}

/* A new flow's verdict (enum sl_verdict). */
static __inline void verdict_event(const struct env *env, __u8 dir, __u8 verdict, __u32 src_id, __u32 dst_id,
				   __u16 proxy_port)
{
	if (env->mon & SL_MON_VERDICT)
		event_now(env, EVENT_CODE(SL_EVENT_POLICY, verdict, dir), src_id, dst_id, proxy_port);
}

/* The start of a packet's trace: nothing said yet. */
static __inline void event_trace_begin(const struct env *env)
{
	if (env->mon & SL_MON_TRACE)
		event_scratch(0, 0);
}

/* What happened to the packet, when tracing, for the caller to fill in
 * (sent with the packet's verdict); NULL when nobody traces. */
static __inline struct sl_event *event_start(__u8 type, const struct env *env)
{
	__u32 zero = 0;
	struct sl_event *e;

	if (!(env->mon & SL_MON_TRACE))
		return NULL;
	e = bpf_map_lookup_elem(&sluice_monitor_scratch, &zero);
	if (e)
		e->type = type;
	return e;
}

/* The packet's trace, with its verdict: what was said of it, else
 * "forwarded" (in direction dir: from or to the endpoint); a dropped
 * packet has its drop event instead. */
static __inline void event_trace_end(const struct env *env, int verdict, __u8 dir)
{
	__u32 zero = 0;
	struct sl_event *e;

	if (!(env->mon & SL_MON_TRACE) || verdict == TC_ACT_SHOT)
		return;
	e = bpf_map_lookup_elem(&sluice_monitor_scratch, &zero);
	if (!e)
		return;
	if (!e->type) {
		e->type = SL_EVENT_FORWARD;
		e->dir = dir;
	}
	{
		struct event_at at = { .p = env->p, .ifindex = env->ifindex, .len = env->len };

		event_tuple(e, &at);
	}
	sluice_event_send(e, SL_MON_TRACE);
}

#endif
