/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The xfrm backend: the IPsec SAs and policies that sluice owns (xfrm.c),
 * observed into the live set and changed to match the desired one: added
 * before the marks that use them, removed once nothing marks packets for
 * them (backend.h). Its preflight tries the new SAs in a scratch namespace.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "common/util.h"
#include "internal.h"
#include "xfrm.h"

static int state_cb(void *ctx, const struct sl_xfrm_state_key *k, const struct sl_xfrm_state_value *v)
{
	return objset_add(ctx, SL_OBJ_XFRM_STATE, k, sizeof(*k), v, sizeof(*v));
}

static int policy_cb(void *ctx, const struct sl_xfrm_policy_key *k, const struct sl_xfrm_policy_value *v)
{
	return objset_add(ctx, SL_OBJ_XFRM_POLICY, k, sizeof(*k), v, sizeof(*v));
}


/* A kernel without the xfrm netlink interface (no CONFIG_XFRM_USER) holds
 * no SA of sluice's: observing it finds none; adding one fails. */
static bool no_xfrm(int r)
{
	return r == -EPROTONOSUPPORT || r == -EAFNOSUPPORT;
}


static int xfrm_observe(struct sl_kernel *k, struct sl_objset *live, struct sl_kerr *e)
{
	struct sl_xfrm *x = NULL;
	int r;

	(void)k;
	r = xfrm_open(&x, e);
	if (r >= 0) {
		r = xfrm_state_observe(x, state_cb, live, e);
		if (r >= 0)
			r = xfrm_policy_observe(x, policy_cb, live, e);
		xfrm_close(x);
	} else if (no_xfrm(r)) {
		r = 0;
		e->msg[0] = '\0';
	}
	return r;
}

/* This node's underlay address: the destination of an inbound SA (one with
 * no source), for the direction in xfrm's object names. */
static void set_local(struct sl_xfrm *x, const struct sl_objset *want, const struct sl_objset *have)
{
	static const uint8_t zero[16];
	const struct sl_objset *sets[2] = { want, have };

	for (int s = 0; s < 2; s++)
		for (size_t i = 0; i < sets[s]->n; i++) {
			const struct sl_obj *o = &sets[s]->v[i];
			const struct sl_xfrm_state_key *sk;
			const struct sl_xfrm_state_value *sv;

			if (o->kind != SL_OBJ_XFRM_STATE || !sl_kind_fits(o->kind, o->klen, o->vlen))
				continue;
			sk = obj_key(sets[s], o);
			sv = obj_val(sets[s], o);
			if (!memcmp(sv->saddr, zero, 16)) {
				xfrm_set_local(x, sk->family, sk->daddr);
				return;
			}
		}
}

static bool sa_readd(const void *have_val, const void *want_val)
{
	/* the kernel changes no SA's key or algorithm in place */
	return !xfrm_state_update_in_place(have_val, want_val);
}

static int xfrm_phase(const struct sl_objset *want, const struct sl_objset *have, const struct sl_diff *d,
		      bool remove, struct sl_kerr *e)
{
	/* by the kinds' apply rank (states before the policies that use
	 * them); removals the other way */
	uint8_t kinds[SL_OBJ__MAX];
	size_t n_kinds = sl_kind_order(SL_VIA_XFRM, kinds);
	struct sl_xfrm_req *reqs = NULL;
	struct sl_xfrm *x = NULL;
	size_t n = 0, cap = 0, first[SL_OBJ__MAX + 1];
	int r = 0;

	for (size_t p = 0; r >= 0 && p < n_kinds; p++) {
		uint8_t kind = kinds[remove ? n_kinds - 1 - p : p];
		bool state = kind == SL_OBJ_XFRM_STATE;

		first[p] = n;
		r = kernel_nl_changes(want, have, d, kind, remove, state ? SL_XFRM_STATE : SL_XFRM_POLICY,
				      state ? sa_readd : NULL, &reqs, &n, &cap, e);
	}
	if (r < 0 || !n) {
		free(reqs);
		return r;
	}
	first[n_kinds] = n;
	r = xfrm_open(&x, e);
	if (no_xfrm(r))
		kerr(e, "xfrm: this kernel has no xfrm netlink interface (CONFIG_XFRM_USER), so sluice cannot "
			"%s IPsec SAs and policies", remove ? "remove" : "add");
	if (r >= 0)
		set_local(x, want, have);
	/* one batch per kind: policies only once the SAs they use are in
	 * (adding), SAs only once no policy uses them (removing) */
	for (size_t p = 0; r >= 0 && p < n_kinds; p++)
		if (first[p + 1] > first[p])
			r = xfrm_batch(x, reqs + first[p], first[p + 1] - first[p], NULL, NULL, e);
	xfrm_close(x);
	free(reqs);
	return r;
}

/*
 * Whether this kernel can hold the SAs the plan adds, asked before any
 * change: each is added in a scratch network namespace of a thread of its
 * own (unshare(CLONE_NEWNET) moves only that thread), which goes away with
 * the thread's socket. A kernel without ESP or without an algorithm is
 * then refused by name before anything is written, instead of failing
 * half way. Without the right to make a namespace, nothing is probed.
 */
struct sa_probe {
	const struct sl_objset *want, *have;
	struct sl_kerr e;
	int r;
};

static void *sa_probe_work(void *arg)
{
	struct sa_probe *p = arg;
	struct sl_xfrm *x = NULL;

	if (unshare(CLONE_NEWNET) < 0) {
		p->r = 0; /* cannot probe: the apply itself will say */
		return NULL;
	}
	p->r = xfrm_open(&x, &p->e);
	for (size_t i = 0; p->r >= 0 && i < p->want->n; i++) {
		const struct sl_obj *o = &p->want->v[i];
		const struct sl_obj *h;

		if (o->kind != SL_OBJ_XFRM_STATE || !sl_kind_fits(o->kind, o->klen, o->vlen))
			continue;
		h = objset_find(p->have, SL_OBJ_XFRM_STATE, obj_key(p->want, o), o->klen);
		if (h && h->vlen == o->vlen && !memcmp(obj_val(p->have, h), obj_val(p->want, o), o->vlen))
			continue; /* there already */
		p->r = xfrm_state_add(x, obj_key(p->want, o), obj_val(p->want, o), &p->e);
	}
	xfrm_close(x);
	return NULL;
}

static int xfrm_preflight(struct sl_kernel *k, const struct sl_objset *want, const struct sl_objset *have,
			  struct sl_kerr *e)
{
	struct sa_probe p = { .want = want, .have = have, .e = { "" } };
	pthread_t t;
	bool any = false;

	(void)k;
	for (size_t i = 0; i < want->n && !any; i++)
		any = want->v[i].kind == SL_OBJ_XFRM_STATE;
	if (!any)
		return 0;
	if (pthread_create(&t, NULL, sa_probe_work, &p) != 0)
		return 0;
	pthread_join(t, NULL);
	if (p.r >= 0)
		return 0;
	if (no_xfrm(p.r))
		kerr(e, "encryption: this kernel has no xfrm netlink interface (CONFIG_XFRM_USER); nothing was changed");
	else
		kerr(e, "encryption: this kernel cannot hold the SAs the state needs: %s (tried in a scratch network "
			"namespace); nothing was changed", p.e.msg);
	return p.r;
}

static int xfrm_apply(struct sl_kernel *k, const struct sl_objset *want, const struct sl_objset *have,
		      const struct sl_diff *d, enum kernel_phase phase, struct sl_kerr *e)
{
	(void)k;
	switch (phase) {
	case KERNEL_PHASE_CREATE:
		return xfrm_phase(want, have, d, false, e);
	case KERNEL_PHASE_XFRM_REMOVE:
		return xfrm_phase(want, have, d, true, e);
	default:
		return 0;
	}
}

const struct kernel_backend kernel_backend_xfrm = {
	.name = "xfrm",
	.observe = xfrm_observe,
	.preflight = xfrm_preflight,
	.apply = xfrm_apply,
};
