/* SPDX-License-Identifier: Apache-2.0 */
/* The socket hooks of sluice's socket programs (sockhook.c). */
#pragma once

#include "internal.h"

/* Add the socket hooks sluice holds to live. Pinned programs and maps must
 * be observed first. */
int sockhook_observe(struct sl_kernel *k, struct sl_objset *live, struct sl_kerr *e);
/* Attach and replace (remove false), or detach (remove true). */
int sockhook_apply(struct sl_kernel *k, const struct sl_objset *want, const struct sl_objset *have,
		   const struct sl_diff *d, bool remove, struct sl_kerr *e);
