/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The ipcache: an address's identity, and for a remote prefix the node to
 * tunnel to and the encryption key (struct sl_ipcache_value). Longest
 * prefix match; an address it does not know is `world`.
 */
#ifndef SLUICE_BPF_IPCACHE_H
#define SLUICE_BPF_IPCACHE_H

#include "maps.h"

static __inline struct sl_ipcache_value *ipcache_lookup(const __u8 *addr, __u8 family)
{
	struct sl_ipcache_key k = {};

	k.prefixlen = SL_IPCACHE_PREFIX_BITS(family == SL_FAMILY_IPV4 ? 32 : 128);
	k.family = family;
	copy16(k.addr, addr);
	return bpf_map_lookup_elem(&sluice_ipcache, &k);
}

static __inline __u32 identity_of(const __u8 *addr, __u8 family)
{
	struct sl_ipcache_value *v = ipcache_lookup(addr, family);

	return v ? v->identity : SL_ID_WORLD;
}

#endif
