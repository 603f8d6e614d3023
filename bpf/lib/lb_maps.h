/* SPDX-License-Identifier: GPL-2.0-only */
/* The services and their backends, apart so that the socket hooks
 * (sock_lb.bpf.c) can translate at connect() without defining every map
 * of the datapath. */
#ifndef SLUICE_BPF_LB_MAPS_H
#define SLUICE_BPF_LB_MAPS_H

#include "common.h"

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

/* The backend a hash picks among a service's active ones: the slot it
 * names (n_slots must not be 0), its member, that member's backend. NULL:
 * the table names what is gone. */
static __inline struct sl_backend_value *lb_slot_backend(const struct sl_service_value *svc, __u32 hash,
							 __u32 *ret_id)
{
	__u32 slot = hash % svc->n_slots, m;
	struct sl_backend_key bk;

	if (slot >= SL_LB_SLOTS)
		return NULL;
	m = svc->slot[slot];
	if (m >= SL_LB_MAX_BACKENDS || m >= svc->n_members)
		return NULL;
	bk.id = svc->member[m].backend_id;
	*ret_id = bk.id;
	return bpf_map_lookup_elem(&sluice_backends, &bk);
}

#endif
