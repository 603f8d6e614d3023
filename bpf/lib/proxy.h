/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Handing a flow to its proxy port: the packet is marked
 * SL_MARK_PROXY | port << 16 and passed. Not yet: nothing on the host
 * takes marked packets, so they go on as if there were no proxy port.
 */
#ifndef SLUICE_BPF_PROXY_H
#define SLUICE_BPF_PROXY_H

#include "events.h"
#include "metrics.h"

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

#endif
