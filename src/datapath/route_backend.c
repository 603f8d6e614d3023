/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The route backend: the routes that sluice owns (route.c: remote pod
 * CIDRs, for encryption and the overlay), observed into the live set and
 * changed to match the desired one: added once the programs and policies
 * that handle their packets are in, removed first (backend.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "common/util.h"
#include "internal.h"
#include "route.h"

static int route_cb(void *ctx, const struct sl_route_key *k, const struct sl_route_value *v)
{
	return objset_add(ctx, SL_OBJ_ROUTE, k, sizeof(*k), v, sizeof(*v));
}


static int route_observe_all(struct sl_kernel *k, struct sl_objset *live, struct sl_kerr *e)
{
	struct sl_route *rt = NULL;
	int r;

	(void)k;
	r = route_open(&rt, e);
	if (r >= 0)
		r = route_observe(rt, route_cb, live, e);
	route_close(rt);
	return r;
}

static bool fits(const struct sl_obj *o, size_t klen, size_t vlen)
{
	return o->klen == klen && o->vlen == vlen;
}

static int route_phase(const struct sl_objset *want, const struct sl_objset *have, const struct sl_diff *d,
		       bool remove, struct sl_kerr *e)
{
	struct sl_route_req *reqs;
	struct sl_route *rt = NULL;
	size_t n = 0;
	int r;

	for (size_t i = 0; i < d->n; i++)
		n += d->v[i].kind == SL_OBJ_ROUTE && (d->v[i].op == SL_OP_REMOVE) == remove;
	if (!n)
		return 0;
	reqs = calloc(n, sizeof(*reqs));
	if (!reqs)
		return -ENOMEM;
	n = 0;
	for (size_t i = 0; i < d->n; i++) {
		const struct sl_change *c = &d->v[i];
		const struct sl_obj *w = c->want != SL_DIFF_NONE ? &want->v[c->want] : NULL;
		const struct sl_obj *h = c->have != SL_DIFF_NONE ? &have->v[c->have] : NULL;

		if (c->kind != SL_OBJ_ROUTE || (c->op == SL_OP_REMOVE) != remove)
			continue;
		if ((w && !fits(w, sizeof(struct sl_route_key), sizeof(struct sl_route_value))) ||
		    (h && !fits(h, sizeof(struct sl_route_key), sizeof(struct sl_route_value)))) {
			free(reqs);
			kerr(e, "route: an object of unexpected size; nothing was changed");
			return -EINVAL;
		}
		if (c->op == SL_OP_REMOVE)
			reqs[n++] = (struct sl_route_req){ .op = SL_ROUTE_OP_DEL, .key = obj_key(have, h),
							   .value = obj_val(have, h) };
		else
			reqs[n++] = (struct sl_route_req){ .op = c->op == SL_OP_ADD ? SL_ROUTE_OP_ADD
										    : SL_ROUTE_OP_REPLACE,
							   .key = obj_key(want, w), .value = obj_val(want, w) };
	}
	r = route_open(&rt, e);
	if (r >= 0)
		r = route_batch(rt, reqs, n, NULL, NULL, e);
	route_close(rt);
	free(reqs);
	return r;
}

static int route_apply(struct sl_kernel *k, const struct sl_objset *want, const struct sl_objset *have,
		       const struct sl_diff *d, enum kernel_phase phase, struct sl_kerr *e)
{
	(void)k;
	switch (phase) {
	case KERNEL_PHASE_ROUTES_ADD:
		return route_phase(want, have, d, false, e);
	case KERNEL_PHASE_ROUTES_REMOVE:
		return route_phase(want, have, d, true, e);
	default:
		return 0;
	}
}

const struct kernel_backend kernel_backend_route = {
	.name = "route",
	.observe = route_observe_all,
	.apply = route_apply,
};
