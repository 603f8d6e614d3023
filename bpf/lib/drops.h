/* SPDX-License-Identifier: GPL-2.0-only */
/* A drop: counted by reason (sluice_drops, drops_map.h) and traced. */
#ifndef SLUICE_BPF_DROPS_H
#define SLUICE_BPF_DROPS_H

#include "events.h"
#include "metrics.h"

/* Count a drop by reason and say TC_ACT_SHOT. */
static __inline int drop(const struct env *env, __u8 reason, __u8 dir, __u32 src_id, __u32 dst_id)
{
	count(&sluice_drops, reason, env->len);
	if (env->mon & SL_MON_DROP)
		event_now(env, EVENT_CODE(SL_EVENT_DROP, reason, dir), src_id, dst_id, 0);
	return TC_ACT_SHOT;
}

#endif
