/* SPDX-License-Identifier: GPL-2.0-only */
/* Counters per CPU: packets and bytes, by metric in sluice_metrics (and by
 * drop reason in sluice_drops, through drops.h). */
#ifndef SLUICE_BPF_METRICS_H
#define SLUICE_BPF_METRICS_H

#include "metrics_map.h"

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

#endif
