/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Drops by reason, per CPU: the map alone, in every object (the prefilter
 * includes only this), one pinned map in the end. The endpoint programs
 * count a drop with drop() (drops.h).
 */
#ifndef SLUICE_BPF_DROPS_MAP_H
#define SLUICE_BPF_DROPS_MAP_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include <sluice/abi.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SL_DROP__MAX);
	__type(key, __u32);
	__type(value, struct sl_counter);
} sluice_drops SEC(".maps");

#endif
