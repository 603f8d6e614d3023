/* SPDX-License-Identifier: GPL-2.0-only */
/* The monitor's maps (abi.h, "monitor events"): the types flag and the
 * slots, a ring per slot, the lost counters, and a per-CPU event being
 * made. */
#ifndef SLUICE_BPF_MONITOR_MAPS_H
#define SLUICE_BPF_MONITOR_MAPS_H

#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1 + SL_MONITOR_SLOTS);
	__type(key, __u32);
	__type(value, struct sl_monitor_slot);
} sluice_monitor SEC(".maps");

struct sl_monitor_ring {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SL_MONITOR_RING_BYTES);
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, SL_MONITOR_SLOTS);
	__type(key, __u32);
	__array(values, struct sl_monitor_ring);
} sluice_monitor_rings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SL_MONITOR_SLOTS + 1);
	__type(key, __u32);
	__type(value, __u64);
} sluice_monitor_lost SEC(".maps");

/* The names the monitor says (abi.h): no program reads them; they are
 * the datapath's maps so that sluice makes them with the others. Not
 * preallocated: most of their capacity (mapSizes.endpoints, .ipcache)
 * is never used. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct sl_ep_name_value);
} sluice_ep_names SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct sl_id_labels_value);
} sluice_id_labels SEC(".maps");

/* [0]: the trace event of the packet being handled, sent when its verdict
 * is known; [1]: a drop or verdict event, sent at once. Per CPU, so no
 * event takes room on the programs' stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct sl_event);
} sluice_monitor_scratch SEC(".maps");

/* The type of each datapath program's prog array, whose one entry is its
 * twin with events (datapath.bpf.c, WITH_EVENTS). Not one of the pinned
 * maps: each load makes its own, pinned with its program. */
struct sl_events_prog {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
};

#endif
