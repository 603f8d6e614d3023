/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kernel backend's part for encryption: xfrm states and policies and
 * owned routes, observed and applied. sl_kernel_apply runs the phases in
 * this order around the map entries and programs:
 *   1. KERNEL_XFRM_ADD: SAs added and changed, then policies: a new key's
 *      SAs exist before a policy or a mark uses them;
 *   (map entries: the marks the programs set; programs)
 *   2. KERNEL_ROUTES_ADD: only now are remote pod CIDRs routed, when the
 *      programs mark their packets and the policies encrypt them;
 *   (removals of attachments and entries)
 *   3. KERNEL_ROUTES_REMOVE (first among the removals), then
 *   4. KERNEL_XFRM_REMOVE last: policies, then SAs, once nothing marks
 *      packets for them.
 */
#pragma once

#include "internal.h"

enum kernel_encrypt_phase { KERNEL_XFRM_ADD, KERNEL_ROUTES_ADD, KERNEL_ROUTES_REMOVE, KERNEL_XFRM_REMOVE };

/* Add the xfrm states, policies and routes that sluice owns to live. */
/* Refuse, before any change, SAs this kernel cannot hold (no ESP, an
 * algorithm missing): each new SA is tried in a scratch namespace. */
int kernel_encrypt_preflight(const struct sl_objset *want, const struct sl_objset *have, struct sl_kerr *e);
int kernel_encrypt_observe(struct sl_kernel *k, struct sl_objset *live, struct sl_kerr *e);
int kernel_encrypt_apply(struct sl_kernel *k, const struct sl_objset *want, const struct sl_objset *have,
			 const struct sl_diff *d, enum kernel_encrypt_phase phase, struct sl_kerr *e);
