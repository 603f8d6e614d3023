/* SPDX-License-Identifier: Apache-2.0 */
/* The map kind: a map under the pin directory, by its pin name. Only the
 * layout is compared: runtime maps (conntrack, counters) are never diffed
 * by entry. */
#pragma once

#include <stdint.h>

struct sl_map_key {
	char name[32];
};
struct sl_map_value {
	uint32_t type; /* enum bpf_map_type */
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;
	uint32_t flags;
};

/* Where a map's capacity comes from: an index of mapSizes, or fixed. */
#define SL_MAP_SIZE_FIXED (-1)
/* SOCK: socket acceleration's own (sluice_sock), SOCK_LB: the socket
 * hooks of services' (sluice_sock_nat); both use the datapath's maps too:
 * sl_map_group_uses_datapath. */
enum sl_map_group { SL_MAPS_DATAPATH, SL_MAPS_PREFILTER, SL_MAPS_SHARED, SL_MAPS_SOCK, SL_MAPS_SOCK_LB, SL_MAPS__MAX };
/* Whether a group's programs use the datapath's maps (so a state that
 * needs the group needs the datapath's maps, and the maps those programs
 * share with the datapath stay the datapath's). */
static inline int sl_map_group_uses_datapath(unsigned group)
{
	return group == SL_MAPS_SOCK || group == SL_MAPS_SOCK_LB;
}
/* One map the embedded programs define (datapath/layout.c fills these). */
struct sl_map_layout {
	const char *name;
	struct sl_map_value v; /* max_entries: used when size_from is fixed */
	int size_from;	       /* SL_MAP_* of model.h, or SL_MAP_SIZE_FIXED */
	uint8_t group;	       /* enum sl_map_group */
};

/* The maps objects of the datapath's kinds need, and the prefilter's
 * (struct sl_kind's maps). */
int sl_maps_datapath(const void *key, const void *val);
int sl_maps_prefilter(const void *key, const void *val);

/* A BPF map type by name (hash, lru_hash, lpm_trie, ...), "other" if unknown. */
const char *sl_map_type_name(uint32_t type);
