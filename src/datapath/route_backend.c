/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The route backend: the routes and routing policy rules that sluice owns
 * (route.c: remote pod CIDRs, for encryption and the overlay, and the local
 * routes of the proxy table; rule.c: the rules that send marked packets to
 * that table), observed into the live set and changed to match the desired
 * one: added once the programs and policies that handle their packets are
 * in, removed first (backend.h). Within a phase, by the kinds' apply rank:
 * routes added before the rules that send packets to their table, rules
 * removed before the routes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "common/util.h"
#include "internal.h"
#include "route.h"
#include "rule.h"

static int route_cb(void *ctx, const struct sl_route_key *k, const struct sl_route_value *v)
{
	return objset_add(ctx, SL_OBJ_ROUTE, k, sizeof(*k), v, sizeof(*v));
}

static int rule_cb(void *ctx, const void *k, const void *v)
{
	return objset_add(ctx, SL_OBJ_RULE, k, sizeof(struct sl_rule_key), v, sizeof(struct sl_rule_value));
}

static int route_observe_all(struct sl_kernel *k, struct sl_objset *live, struct sl_kerr *e)
{
	struct sl_route *rt = NULL;
	struct sl_rule *ru = NULL;
	int r;

	(void)k;
	r = route_open(&rt, e);
	if (r >= 0)
		r = route_observe(rt, route_cb, live, e);
	route_close(rt);
	if (r >= 0)
		r = rule_open(&ru, e);
	if (r >= 0)
		r = rule_observe(ru, rule_cb, live, e);
	rule_close(ru);
	return r;
}

/* The kernel changes no rule in place. */
static bool rule_readd(const void *have_val, const void *want_val)
{
	(void)have_val;
	(void)want_val;
	return true;
}

/* One kind's changes of a phase, in one batch of its module. */
static int kind_phase(uint8_t kind, const struct sl_objset *want, const struct sl_objset *have,
		      const struct sl_diff *d, bool remove, struct sl_kerr *e)
{
	struct sl_nl_req *reqs = NULL;
	size_t n = 0, cap = 0;
	int r;

	r = kernel_nl_changes(want, have, d, kind, remove, 0, kind == SL_OBJ_RULE ? rule_readd : NULL, &reqs, &n,
			      &cap, e);
	if (r < 0 || !n) {
		free(reqs);
		return r;
	}
	if (kind == SL_OBJ_RULE) {
		struct sl_rule *ru = NULL;

		r = rule_open(&ru, e);
		if (r >= 0)
			r = rule_batch(ru, reqs, n, NULL, NULL, e);
		rule_close(ru);
	} else {
		struct sl_route *rt = NULL;

		r = route_open(&rt, e);
		if (r >= 0)
			r = route_batch(rt, reqs, n, NULL, NULL, e);
		route_close(rt);
	}
	free(reqs);
	return r;
}

static int route_phase(const struct sl_objset *want, const struct sl_objset *have, const struct sl_diff *d,
		       bool remove, struct sl_kerr *e)
{
	/* by the kinds' apply rank (routes before the rules that send
	 * packets to their table); removals the other way */
	uint8_t kinds[SL_OBJ__MAX];
	size_t n_kinds = sl_kind_order(SL_VIA_ROUTE, kinds);
	int r = 0;

	for (size_t p = 0; r >= 0 && p < n_kinds; p++)
		r = kind_phase(kinds[remove ? n_kinds - 1 - p : p], want, have, d, remove, e);
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
