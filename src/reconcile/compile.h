/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Compile: the validated model becomes the exact set of kernel objects it
 * implies (objset.h). Pure C: no kernel calls. What must stay the same from
 * one apply to the next (endpoint ids, CIDR identities) comes in as the
 * previous assignments, which the caller reads from the live kernel.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "net.h"
#include "objset.h"

struct sl_compile_prev {
	/* endpoint ids in use, by interface name */
	const char *const *ep_ifnames;
	const uint16_t *ep_ids;
	size_t n_ep;
	/* CIDR identities in use, by prefix */
	const struct sl_prefix *cidrs;
	const uint32_t *cidr_ids;
	size_t n_cidr;
};

struct sl_compile_result {
	struct sl_objset set;
	size_t n_cidr_identities;
};

/*
 * Compile st (validated; st->node names this node, or NULL when every
 * endpoint without a node is local) into res->set, sorted. prev may be NULL.
 * Returns 0, or -errno (out of memory, or more endpoints or CIDR identities
 * than ids exist).
 */
int sl_compile(const struct sl_state *st, const struct sl_compile_prev *prev, struct sl_compile_result *res);
void sl_compile_result_free(struct sl_compile_result *res);

/* The lookup level (1..6, abi.h) of a policy key. */
int sl_policy_key_level(uint32_t identity, uint8_t proto, uint16_t dport);
