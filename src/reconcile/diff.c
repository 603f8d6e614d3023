/* SPDX-License-Identifier: Apache-2.0 */
#include "diff.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

const char *const sl_op_name[SL_CHANGE_OPS] = { "add", "change", "remove" };

static int push(struct sl_diff *d, enum sl_op op, uint8_t kind, size_t want, size_t have)
{
	if (grow_array((void **)&d->v, &d->cap, d->n + 1, sizeof(*d->v)) < 0)
		return -ENOMEM;
	d->v[d->n++] = (struct sl_change){ .op = (uint8_t)op, .kind = kind,
					   .want = want == SIZE_MAX ? SL_DIFF_NONE : (uint32_t)want,
					   .have = have == SIZE_MAX ? SL_DIFF_NONE : (uint32_t)have };
	d->count[op]++;
	return 0;
}

int sl_diff(const struct sl_objset *want, const struct sl_objset *have, struct sl_diff *out)
{
	size_t i = 0, j = 0;
	int r = 0;

	memset(out, 0, sizeof(*out));
	while (r >= 0 && (i < want->n || j < have->n)) {
		const struct sl_obj *w = i < want->n ? &want->v[i] : NULL;
		const struct sl_obj *h = j < have->n ? &have->v[j] : NULL;
		int c = !w ? 1 : !h ? -1 : obj_cmp(want, w, have, h);

		if (c < 0) {
			r = push(out, SL_OP_ADD, w->kind, i++, SIZE_MAX);
		} else if (c > 0) {
			r = push(out, SL_OP_REMOVE, h->kind, SIZE_MAX, j++);
		} else {
			if (w->vlen != h->vlen || memcmp(obj_val(want, w), obj_val(have, h), w->vlen))
				r = push(out, SL_OP_CHANGE, w->kind, i, j);
			i++;
			j++;
		}
	}
	if (r < 0)
		sl_diff_free(out);
	return r;
}

void sl_diff_free(struct sl_diff *d)
{
	free(d->v);
	memset(d, 0, sizeof(*d));
}
