/* SPDX-License-Identifier: GPL-2.0-only */
/* Drop and metric counters, and trace events. */
#ifndef SLUICE_BPF_COUNTERS_H
#define SLUICE_BPF_COUNTERS_H

#include "maps.h"

/* Set before load: emit trace events into sluice_events. */
const volatile __u8 cfg_trace = 0;

static __inline void count(void *map, __u32 idx, __u32 bytes)
{
	struct sl_counter *c = bpf_map_lookup_elem(map, &idx);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

static __inline void metric(__u32 m, __u32 bytes)
{
	count(&sluice_metrics, m, bytes);
}

static __inline struct sl_event *event_start(__u8 type, __u32 ifindex)
{
	struct sl_event *e;

	if (!cfg_trace)
		return NULL;
	e = bpf_ringbuf_reserve(&sluice_events, sizeof(*e), 0);
	if (!e)
		return NULL;
	__builtin_memset(e, 0, sizeof(*e));
	e->type = type;
	e->ifindex = ifindex;
	return e;
}

/*
 * What the programs read of the context once, at entry: the verifier refuses
 * a context pointer that the compiler has moved, so helpers get values, not
 * skb fields.
 */
struct env {
	__u32 ifindex;
	__u32 len;
};

/* A new flow's verdict, for the trace. */
static __inline void policy_event(const struct env *env, __u8 dir, __u8 proto, __u32 src_id, __u32 dst_id,
				  __u16 proxy_port)
{
	struct sl_event *e = event_start(SL_EVENT_POLICY, env->ifindex);

	if (e) {
		e->dir = dir;
		e->proto = proto;
		e->src_identity = src_id;
		e->dst_identity = dst_id;
		e->target = proxy_port;
		bpf_ringbuf_submit(e, 0);
	}
}

/* Count a drop by reason and say TC_ACT_SHOT. */
static __inline int drop(const struct env *env, __u8 reason, __u8 dir, __u32 src_id, __u32 dst_id)
{
	struct sl_event *e;

	count(&sluice_drops, reason, env->len);
	e = event_start(SL_EVENT_DROP, env->ifindex);
	if (e) {
		e->reason = reason;
		e->dir = dir;
		e->src_identity = src_id;
		e->dst_identity = dst_id;
		bpf_ringbuf_submit(e, 0);
	}
	return TC_ACT_SHOT;
}

#endif
