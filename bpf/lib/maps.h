/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The datapath's maps. max_entries here are placeholders: user space sets
 * each from the state's mapSizes before load (bpf_map__set_max_entries).
 */
#ifndef SLUICE_BPF_MAPS_H
#define SLUICE_BPF_MAPS_H

#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct sl_endpoint_key);
	__type(value, struct sl_endpoint_value);
} sluice_endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sl_ipcache_key);
	__type(value, struct sl_ipcache_value);
} sluice_ipcache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct sl_policy_key);
	__type(value, struct sl_policy_value);
} sluice_policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct sl_service_key);
	__type(value, struct sl_service_value);
} sluice_services SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sl_lb_slot_key);
	__type(value, struct sl_lb_slot_value);
} sluice_lb_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct sl_backend_key);
	__type(value, struct sl_backend_value);
} sluice_backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1);
	/* Per-CPU LRU lists: making room for a new flow takes no global lock. */
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct sl_ct4_key);
	__type(value, struct sl_ct_value);
} sluice_ct4_tcp SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1);
	/* Per-CPU LRU lists: making room for a new flow takes no global lock. */
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct sl_ct4_key);
	__type(value, struct sl_ct_value);
} sluice_ct4_any SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1);
	/* Per-CPU LRU lists: making room for a new flow takes no global lock. */
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct sl_ct6_key);
	__type(value, struct sl_ct_value);
} sluice_ct6_tcp SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1);
	/* Per-CPU LRU lists: making room for a new flow takes no global lock. */
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct sl_ct6_key);
	__type(value, struct sl_ct_value);
} sluice_ct6_any SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SL_DROP__MAX);
	__type(key, __u32);
	__type(value, struct sl_counter);
} sluice_drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SL_METRIC__MAX);
	__type(key, __u32);
	__type(value, struct sl_counter);
} sluice_metrics SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} sluice_events SEC(".maps");

#endif
