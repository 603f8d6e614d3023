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

#include "lb_maps.h"
#include "ct_maps.h"
#include "drops_map.h"
#include "metrics_map.h"
#include "monitor_maps.h"

/* ipvlan mode: where each endpoint's slave is (abi.h). No program reads it:
 * it is the record that lets sluice find its programs in the endpoints'
 * namespaces again. Not preallocated, as the names. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sl_ep_netns_key);
	__type(value, struct sl_ep_netns_value);
} sluice_ep_netns SEC(".maps");

#endif
