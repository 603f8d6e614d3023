/* SPDX-License-Identifier: Apache-2.0 */
/* Checks of meaning on a loaded state: ranges, names, addresses, references,
 * duplicates across files, what each mode needs, key material, capacity. */
#pragma once

#include <stdbool.h>

#include "features/features.h"
#include "load.h"

/*
 * Validate ld->state (after sl_load_finish). Diagnostics go to ld->diags;
 * resolves each endpoint's identity from its labels and sets state.node to
 * this node's name when it can be told. Returns negative only when out of
 * memory.
 */
int sl_validate(struct sl_load *ld, const struct sl_validate_opts *opts);

/* The checks of one list alone (section: SL_DOC_SERVICES, or
 * SL_DOC_ENDPOINTS with ld->state's nodes, identities, datapath and node
 * those of the whole state, only read): watch's section patch, whose items
 * are checked against the others' by the incremental compile (sl_lb_delta,
 * sl_ep_delta). */
int sl_validate_section(struct sl_load *ld, unsigned section, const struct sl_validate_opts *opts);
