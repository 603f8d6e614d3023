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

/* Not preallocated: a service's value is 772 bytes, and most nodes have
 * far fewer services than the map's capacity. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sl_service_key);
	__type(value, struct sl_service_value);
} sluice_services SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct sl_backend_key);
	__type(value, struct sl_backend_value);
} sluice_backends SEC(".maps");

#include "ct_maps.h"

#include "drops_map.h"

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
