/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The link backend: the devices sluice owns (link.c: the overlay's
 * sluice_vxlan), observed into the live set and changed to match the
 * desired one: made and changed before the programs, which are loaded with
 * their ifindex and attached to them, removed once nothing is attached to
 * them (backend.h). Its preflight refuses a device of that name that is
 * not sluice's and a UDP port another socket holds.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "common/util.h"
#include "internal.h"
#include "link.h"

static int device_cb(void *ctx, const void *k, const void *v)
{
	return objset_add(ctx, SL_OBJ_DEVICE, k, sizeof(struct sl_device_key), v, sizeof(struct sl_device_value));
}

static int link_observe_all(struct sl_kernel *k, struct sl_objset *live, struct sl_kerr *e)
{
	struct sl_link *l = NULL;
	int r;

	(void)k;
	r = link_open(&l, e);
	if (r >= 0)
		r = link_observe(l, device_cb, live, e);
	link_close(l);
	return r;
}

static bool device_readd(const void *have_val, const void *want_val)
{
	return !sl_device_change_in_place(have_val, want_val);
}

static int link_phase(const struct sl_objset *want, const struct sl_objset *have, const struct sl_diff *d,
		      bool remove, struct sl_kerr *e)
{
	struct sl_link_req *reqs = NULL;
	struct sl_link *l = NULL;
	size_t n = 0, cap = 0;
	int r;

	r = kernel_nl_changes(want, have, d, SL_OBJ_DEVICE, remove, 0, device_readd, &reqs, &n, &cap, e);
	if (r < 0 || !n) {
		free(reqs);
		return r;
	}
	r = link_open(&l, e);
	if (r >= 0)
		r = link_batch(l, reqs, n, NULL, NULL, e);
	link_close(l);
	free(reqs);
	return r;
}

static int link_apply(struct sl_kernel *k, const struct sl_objset *want, const struct sl_objset *have,
		      const struct sl_diff *d, enum kernel_phase phase, struct sl_kerr *e)
{
	(void)k;
	switch (phase) {
	case KERNEL_PHASE_CREATE:
		return link_phase(want, have, d, false, e);
	case KERNEL_PHASE_DEVICES_REMOVE:
		return link_phase(want, have, d, true, e);
	default:
		return 0;
	}
}

/*
 * Before any change, for each device the plan makes or changes: a device
 * of that name that is not sluice's is refused (never touched), and so is
 * a UDP port that another socket holds, when the device is to take it (it
 * is made, moved to another port, or brought up: a device that is down
 * holds no socket, and sluice's device up on its port holds that port
 * itself, also when it is made again).
 */
static int link_preflight(struct sl_kernel *k, const struct sl_objset *want, const struct sl_objset *have,
			  struct sl_kerr *e)
{
	struct sl_link *l = NULL;
	int r = 0;

	(void)k;
	for (size_t i = 0; r >= 0 && i < want->n; i++) {
		const struct sl_obj *o = &want->v[i];
		const struct sl_obj *h;
		struct sl_device_key dk;
		struct sl_device_value wv, hv;
		char name[17], obj[128];

		if (o->kind != SL_OBJ_DEVICE || !sl_kind_fits(o->kind, o->klen, o->vlen))
			continue;
		memcpy(&dk, obj_key(want, o), sizeof(dk));
		memcpy(&wv, obj_val(want, o), sizeof(wv));
		h = objset_find(have, SL_OBJ_DEVICE, &dk, sizeof(dk));
		if (h && !sl_kind_fits(h->kind, h->klen, h->vlen))
			h = NULL;
		if (h)
			memcpy(&hv, obj_val(have, h), sizeof(hv));
		if (h && !memcmp(&hv, &wv, sizeof(wv)))
			continue; /* there already */
		memcpy(name, dk.name, sizeof(dk.name));
		name[16] = '\0';
		sl_device_name(&dk, &wv, obj, sizeof(obj));
		if (!h) {
			if (!l && (r = link_open(&l, e)) < 0)
				break;
			r = link_holder(l, name, e);
			if (r < 0)
				break;
			if (r == 2) {
				kerr(e, "%s: a device named %s exists and is not sluice's (its alias is not '%s'); sluice "
					"never touches it: remove or rename it; nothing was changed",
				     obj, name, SL_DEVICE_ALIAS);
				r = -EEXIST;
				break;
			}
			r = 0;
		}
		/* (sluice's device, up on that port, holds it itself) */
		if (!h || hv.port != wv.port || !hv.up) {
			r = link_udp_port_free(wv.port);
			if (r == -EADDRINUSE) {
				kerr(e, "%s: datapath.vxlanPort %u: UDP port %u is already bound by another socket in "
					"this network namespace; nothing was changed",
				     obj, wv.port, wv.port);
				break;
			}
			if (r < 0) {
				kerr(e, "%s: checking whether UDP port %u is free: %s; nothing was changed", obj, wv.port,
				     strerror(-r));
				break;
			}
		}
	}
	link_close(l);
	return r < 0 ? r : 0;
}

int sl_kernel_device_mtu(const char *name)
{
	return link_mtu(name);
}

const struct kernel_backend kernel_backend_link = {
	.name = "link",
	.observe = link_observe_all,
	.preflight = link_preflight,
	.apply = link_apply,
};
