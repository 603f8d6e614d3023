/* SPDX-License-Identifier: GPL-2.0-only */
/* The conntrack maps, apart so that the socket programs (sock.bpf.c) can
 * look flows up without defining every map of the datapath. */
#ifndef SLUICE_BPF_CT_MAPS_H
#define SLUICE_BPF_CT_MAPS_H

#include "common.h"

/* Conntrack: LRU, with per-CPU LRU lists so that making room for a new
 * flow takes no global lock. */
#define SL_CT_MAP(name, key_type)                              \
	struct {                                               \
		__uint(type, BPF_MAP_TYPE_LRU_HASH);           \
		__uint(max_entries, 1);                        \
		__uint(map_flags, BPF_F_NO_COMMON_LRU);        \
		__type(key, struct key_type);                  \
		__type(value, struct sl_ct_value);             \
	} name SEC(".maps")

SL_CT_MAP(sluice_ct4_tcp, sl_ct4_key);
SL_CT_MAP(sluice_ct4_any, sl_ct4_key);
SL_CT_MAP(sluice_ct6_tcp, sl_ct6_key);
SL_CT_MAP(sluice_ct6_any, sl_ct6_key);

#endif
