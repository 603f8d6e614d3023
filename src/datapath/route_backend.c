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

static int route_phase(const struct sl_objset *want, const struct sl_objset *have, const struct sl_diff *d,
		       bool remove, struct sl_kerr *e)
{
	struct sl_route_req *reqs = NULL;
	struct sl_route *rt = NULL;
	size_t n = 0, cap = 0;
	int r;

	r = kernel_nl_changes(want, have, d, SL_OBJ_ROUTE, remove, 0, NULL, &reqs, &n, &cap, e);
	if (r < 0 || !n) {
		free(reqs);
		return r;
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
