/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Diff: what must change so that the live object set becomes the desired
 * one. A merge of two sets sorted by (kind, key): O(n), no kernel calls.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "objset.h"

enum sl_op { SL_OP_ADD, SL_OP_CHANGE, SL_OP_REMOVE, SL_CHANGE_OPS };

#define SL_DIFF_NONE UINT32_MAX

struct sl_change {
	uint8_t op;   /* enum sl_op */
	uint8_t kind; /* enum sl_obj_kind */
	uint8_t pad[2];
	uint32_t want; /* index into the desired set's v[], or SL_DIFF_NONE (remove) */
	uint32_t have; /* index into the live set's v[], or SL_DIFF_NONE (add) */
};

struct sl_diff {
	struct sl_change *v; /* in (kind, key) order */
	size_t n, cap;
	size_t count[SL_CHANGE_OPS];
};

/* Both sets sorted. Returns 0 or -ENOMEM. */
int sl_diff(const struct sl_objset *want, const struct sl_objset *have, struct sl_diff *out);
void sl_diff_free(struct sl_diff *d);

extern const char *const sl_op_name[SL_CHANGE_OPS];
