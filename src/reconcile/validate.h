/* SPDX-License-Identifier: Apache-2.0 */
/* Checks of meaning on a loaded state: ranges, names, addresses, references,
 * duplicates across files, what each mode needs, key material, capacity. */
#pragma once

#include <stdbool.h>

#include "load.h"

struct sl_validate_opts {
	const char *node;     /* --node; NULL: the state's node:, else hostname */
	const char *hostname; /* this machine's host name, or NULL */
	/* Not knowing which node this is when the state needs it (vxlan,
	 * encryption) is an error when set (apply), a warning otherwise. */
	bool strict_node;
};

/*
 * Validate ld->state (after sl_load_finish). Diagnostics go to ld->diags;
 * resolves each endpoint's identity from its labels and sets state.node to
 * this node's name when it can be told. Returns negative only when out of
 * memory.
 */
int sl_validate(struct sl_load *ld, const struct sl_validate_opts *opts);

/* Bytes of key needed for an algorithm: fills up to `max` accepted lengths
 * and returns how many. Exposed for the tests. */
unsigned sl_key_lengths(int aead, int auth, int cipher, const char *which, unsigned *lens, unsigned max);
