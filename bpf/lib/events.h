/* SPDX-License-Identifier: GPL-2.0-only */
/* Trace events into sluice_events, when cfg_trace is set. */
#ifndef SLUICE_BPF_EVENTS_H
#define SLUICE_BPF_EVENTS_H

#include "config.h"
#include "maps.h"

/* A zeroed event of this type to fill in and submit, or NULL (tracing off,
 * or the ring is full). */
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

#endif
