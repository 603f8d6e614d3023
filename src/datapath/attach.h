/* SPDX-License-Identifier: Apache-2.0 */
/* tc and XDP attachments of sluice's programs (attach.c). */
#pragma once

#include "internal.h"

/* Add every attachment of sluice's programs to live; note foreign
 * programs in sluice's slots. Pinned programs must be observed first. */
int attach_observe(struct sl_kernel *k, struct sl_objset *live, struct sl_kerr *e);
/* Refuse when a foreign program holds a slot that want needs. */
int attach_preflight(struct sl_kernel *k, const struct sl_objset *want, struct sl_kerr *e);
/* Attach and replace (remove false), or detach (remove true). */
int attach_apply(struct sl_kernel *k, const struct sl_objset *want, const struct sl_objset *have,
		 const struct sl_diff *d, bool remove, struct sl_kerr *e);
