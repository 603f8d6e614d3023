/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Encryption: with cfg_encrypt on, a packet whose destination's ipcache
 * entry has a key is marked SL_MARK_ENCRYPT | key << 12; the xfrm policies
 * sluice installs match that mark (docs/encryption.md).
 */
#ifndef SLUICE_BPF_ENCRYPT_H
#define SLUICE_BPF_ENCRYPT_H

#include "config.h"
#include "metrics.h"

/* Mark the packet for dst's key, if it has one: returns the mark, or 0. */
static __inline __u32 encrypt_mark(struct __sk_buff *skb, const struct env *env, const struct sl_ipcache_value *dst)
{
	__u32 mark = 0;

	if (dst && cfg_encrypt && dst->key) {
		mark = sl_mark_encrypt(dst->key);
		skb->mark = mark;
		metric(SL_METRIC_ENCRYPT, env->len);
	}
	return mark;
}

#endif
