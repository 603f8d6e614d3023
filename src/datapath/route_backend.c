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
 *
 * The overlay's routes are on sluice_vxlan, which the link backend makes
 * in the create phase, before any route is added, and removes after the
 * routes are (backend.h). A device that the diff makes again (removed and
 * made anew: the kernel changes no VXLAN port or lower device in place)
 * takes its routes with it when removed: they are added again on the new
 * one, also those the diff leaves as they are, and those to remove are
 * gone already.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "common/util.h"
#include "internal.h"
#include "kinds/device.h"
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

/* The devices d makes again (at most ARRAY_SIZE(name); sluice owns one). */
struct remade {
	char name[4][sizeof(((struct sl_device_key *)0)->name)];
	size_t n;
};

static void remade_find(const struct sl_objset *want, const struct sl_objset *have, const struct sl_diff *d,
			struct remade *m)
{
	m->n = 0;
	for (size_t i = 0; i < d->n && m->n < ARRAY_SIZE(m->name); i++) {
		const struct sl_change *c = &d->v[i];
		const struct sl_obj *w, *h;
		struct sl_device_value wv, hv;

		if (c->kind != SL_OBJ_DEVICE || c->op != SL_OP_CHANGE)
			continue;
		w = &want->v[c->want];
		h = &have->v[c->have];
		if (!sl_kind_fits(c->kind, w->klen, w->vlen) || !sl_kind_fits(c->kind, h->klen, h->vlen))
			continue;
		memcpy(&wv, obj_val(want, w), sizeof(wv));
		memcpy(&hv, obj_val(have, h), sizeof(hv));
		if (!sl_device_change_in_place(&hv, &wv))
			memcpy(m->name[m->n++], obj_key(want, w), sizeof(m->name[0]));
	}
}

/* Whether a route's value (at any alignment) names a device of m. */
static bool on_remade(const struct remade *m, const void *val)
{
	char dev[SL_ROUTE_DEV_MAX];

	memcpy(dev, (const uint8_t *)val + offsetof(struct sl_route_value, dev), sizeof(dev));
	for (size_t i = 0; i < m->n; i++)
		if (!strncmp(m->name[i], dev, sizeof(m->name[i])))
			return true;
	return false;
}

/*
 * The route requests of a phase, for the routes on the devices m makes
 * again: in the add phase, each such route of want is added (a change
 * becomes an add; one the diff leaves alone is added too); in the remove
 * phase, their removals are dropped (the kernel removed them with the
 * device).
 */
static int remade_routes(const struct remade *m, const struct sl_objset *want, bool remove, struct sl_nl_req **reqs,
			 size_t *n, size_t *cap)
{
	size_t n0 = *n, j = 0;

	if (remove) {
		for (size_t i = 0; i < *n; i++)
			if (!(*reqs)[i].value || !on_remade(m, (*reqs)[i].value))
				(*reqs)[j++] = (*reqs)[i];
		*n = j;
		return 0;
	}
	for (size_t i = 0; i < n0; i++)
		if (on_remade(m, (*reqs)[i].value))
			(*reqs)[i].op = SL_NL_OP_ADD;
	for (size_t i = 0; i < want->n; i++) {
		const struct sl_obj *o = &want->v[i];
		const void *k = obj_key(want, o);
		bool listed = false;

		if (o->kind != SL_OBJ_ROUTE || !sl_kind_fits(o->kind, o->klen, o->vlen) ||
		    !on_remade(m, obj_val(want, o)))
			continue;
		for (size_t q = 0; q < n0 && !listed; q++)
			listed = (*reqs)[q].key == k;
		if (listed)
			continue;
		if (grow_array((void **)reqs, cap, *n + 1, sizeof(**reqs)) < 0)
			return -ENOMEM;
		(*reqs)[(*n)++] = (struct sl_nl_req){ .op = SL_NL_OP_ADD, .key = k, .value = obj_val(want, o) };
	}
	return 0;
}

/* One kind's changes of a phase, in one batch of its module. */
static int kind_phase(uint8_t kind, const struct sl_objset *want, const struct sl_objset *have,
		      const struct sl_diff *d, bool remove, struct sl_kerr *e)
{
	struct sl_nl_req *reqs = NULL;
	size_t n = 0, cap = 0;
	struct remade m;
	int r;

	r = kernel_nl_changes(want, have, d, kind, remove, 0, kind == SL_OBJ_RULE ? rule_readd : NULL, &reqs, &n,
			      &cap, e);
	if (r >= 0 && kind == SL_OBJ_ROUTE) {
		remade_find(want, have, d, &m);
		if (m.n)
			r = remade_routes(&m, want, remove, &reqs, &n, &cap);
	}
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
