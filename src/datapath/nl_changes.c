/* SPDX-License-Identifier: Apache-2.0 */
/* A diff's changes of a netlink kind as the netlink engine's requests
 * (backend.h): what the xfrm and route backends, and the next netlink
 * kinds, share. */
#include <errno.h>
#include <stdlib.h>

#include "backend.h"
#include "common/util.h"
#include "internal.h"
#include "nlreq.h"

static int req_add(struct sl_nl_req **reqs, size_t *n, size_t *cap, uint8_t op, uint8_t nl_kind,
		   const struct sl_objset *s, const struct sl_obj *o)
{
	if (grow_array((void **)reqs, cap, *n + 1, sizeof(**reqs)) < 0)
		return -ENOMEM;
	(*reqs)[(*n)++] = (struct sl_nl_req){ .op = op, .kind = nl_kind, .key = obj_key(s, o), .value = obj_val(s, o) };
	return 0;
}

int kernel_nl_changes(const struct sl_objset *want, const struct sl_objset *have, const struct sl_diff *d,
		      uint8_t kind, bool remove, uint8_t nl_kind, bool (*readd)(const void *have_val, const void *want_val),
		      struct sl_nl_req **reqs, size_t *n, size_t *cap, struct sl_kerr *e)
{
	int r = 0;

	for (size_t i = 0; i < d->n && r >= 0; i++) {
		const struct sl_change *c = &d->v[i];
		const struct sl_obj *w = c->want != SL_DIFF_NONE ? &want->v[c->want] : NULL;
		const struct sl_obj *h = c->have != SL_DIFF_NONE ? &have->v[c->have] : NULL;

		if (c->kind != kind || (c->op == SL_OP_REMOVE) != remove)
			continue;
		if ((w && !sl_kind_fits(kind, w->klen, w->vlen)) || (h && !sl_kind_fits(kind, h->klen, h->vlen))) {
			kerr(e, "%s: an object of unexpected size; nothing was changed", sl_kind_name(kind));
			return -EINVAL;
		}
		if (c->op == SL_OP_REMOVE) {
			r = req_add(reqs, n, cap, SL_NL_OP_DEL, nl_kind, have, h);
		} else if (c->op == SL_OP_ADD) {
			r = req_add(reqs, n, cap, SL_NL_OP_ADD, nl_kind, want, w);
		} else if (!readd || !readd(obj_val(have, h), obj_val(want, w))) {
			r = req_add(reqs, n, cap, SL_NL_OP_CHANGE, nl_kind, want, w);
		} else {
			/* removed and added again: in one batch, so in one
			 * message where the engine can */
			r = req_add(reqs, n, cap, SL_NL_OP_DEL, nl_kind, have, h);
			if (r >= 0)
				r = req_add(reqs, n, cap, SL_NL_OP_ADD, nl_kind, want, w);
		}
	}
	return r;
}
