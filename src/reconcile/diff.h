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
/* The same, have read through a filter of want (objset.h): an object of
 * want that have lacks but the filter saw is no change. */
int sl_diff_seen(const struct sl_objset *want, const struct sl_objset *have, const struct sl_objset_filter *seen,
		 struct sl_diff *out);
void sl_diff_free(struct sl_diff *d);

/*
 * Make s (sorted, holding have's objects among others) hold what d says
 * instead: each added or changed object as want has it, each removed one
 * gone. In place, in time of d's changes times a move of s's records (no
 * copy of its bytes: a changed value of the same size is written over, a
 * new one appended, and the bytes left unused given back when they are
 * more than half). watch keeps its verified set up to date with it.
 * Returns 0, -EINVAL when s does not hold what have says (an object to
 * change or remove missing, one to add there already: s is then as
 * before), or -ENOMEM (s as before).
 */
int sl_diff_patch(struct sl_objset *s, const struct sl_objset *want, const struct sl_objset *have,
		  const struct sl_diff *d);

extern const char *const sl_op_name[SL_CHANGE_OPS];
