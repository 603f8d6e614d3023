/* SPDX-License-Identifier: GPL-2.0-only */
/* The policy verdict for a new flow (abi.h: struct sl_policy_key). */
#ifndef SLUICE_BPF_POLICY_H
#define SLUICE_BPF_POLICY_H

#include "maps.h"

enum policy_verdict {
	POLICY_NONE = 0,  /* no entry matched */
	POLICY_ALLOW = 1,
	POLICY_DENY = 2,
};

static __inline int policy_level(struct sl_policy_key *k, __u32 identity, __u8 proto, __u16 dport, int *verdict,
				 __u16 *proxy_port)
{
	struct sl_policy_value *v;

	k->identity = identity;
	k->proto = proto;
	k->dport = dport;
	v = bpf_map_lookup_elem(&sluice_policy, k);
	if (!v)
		return 0;
	if (v->flags & SL_POLICY_DENY) {
		*verdict = POLICY_DENY;
		return 1; /* deny wins: look no further */
	}
	if (*verdict == POLICY_NONE) {
		*verdict = POLICY_ALLOW;
		*proxy_port = v->proxy_port; /* the most specific allow says */
	}
	return 0;
}

/*
 * Look up the six levels, most specific first, skipping those the endpoint
 * has no entries at (levels: its mask for this direction); any deny wins
 * over every allow; the most specific allow decides the proxy port.
 */
static __inline int policy_lookup(__u16 ep_id, __u8 dir, __u8 levels, __u32 identity, __u8 proto, __u16 dport,
				  __u16 *proxy_port)
{
	struct sl_policy_key k = { .ep_id = ep_id, .dir = dir };
	int verdict = POLICY_NONE;

	if (!(levels & SL_POLICY_LEVELS_KNOWN))
		levels = 0xff;
	*proxy_port = 0;
	if (dport && (levels & SL_POLICY_LEVEL(1)) && policy_level(&k, identity, proto, dport, &verdict, proxy_port))
		return verdict;
	if ((levels & SL_POLICY_LEVEL(2)) && policy_level(&k, identity, proto, 0, &verdict, proxy_port))
		return verdict;
	if ((levels & SL_POLICY_LEVEL(3)) && policy_level(&k, identity, 0, 0, &verdict, proxy_port))
		return verdict;
	if (dport && (levels & SL_POLICY_LEVEL(4)) &&
	    policy_level(&k, SL_ID_UNKNOWN, proto, dport, &verdict, proxy_port))
		return verdict;
	if ((levels & SL_POLICY_LEVEL(5)) && policy_level(&k, SL_ID_UNKNOWN, proto, 0, &verdict, proxy_port))
		return verdict;
	if (levels & SL_POLICY_LEVEL(6))
		policy_level(&k, SL_ID_UNKNOWN, 0, 0, &verdict, proxy_port);
	return verdict;
}

#endif
