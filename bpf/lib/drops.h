/* SPDX-License-Identifier: GPL-2.0-only */
/* Drops by reason, per CPU: in every object, one pinned map in the end. */
#ifndef SLUICE_BPF_DROPS_H
#define SLUICE_BPF_DROPS_H

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
