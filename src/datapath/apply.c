/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kernel backend's entry points: observe, preflight and apply walk one
 * table of backends (backend.h), in this order.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/abi.h>

#include "backend.h"
#include "common/util.h"
#include "internal.h"
#include "kinds/device.h"
#include "kinds/route.h"

struct sl_kernel_timing sl_kernel_timing;

static const struct kernel_backend *const backends[] = {
	&kernel_backend_maps,
	&kernel_backend_programs,
	&kernel_backend_xfrm,
	&kernel_backend_route,
	&kernel_backend_link,
};

int sl_kernel_observe(struct sl_kernel *k, struct sl_objset *live, struct sl_kerr *e)
{
	const struct sl_objset_filter *f = live->filter;
	int r;

	memset(live, 0, sizeof(*live));
	live->filter = f;
	r = kernel_walk_observe(backends, ARRAY_SIZE(backends), k, live, e);
	if (r < 0) {
		objset_free(live);
		return r;
	}
	objset_shrink(live);
	objset_sort(live);
	return 0;
}

/* Whether want makes the device name itself (sluice_vxlan, made in the
 * create phase, before anything is attached to it). */
static bool made_by(const struct sl_objset *want, const char *name)
{
	struct sl_device_key dk = { { 0 } };

	if (strlen(name) >= sizeof(dk.name))
		return false;
	memcpy(dk.name, name, strlen(name));
	return want->sorted ? objset_find(want, SL_OBJ_DEVICE, &dk, sizeof(dk)) != NULL
			    : objset_find_unsorted(want, SL_OBJ_DEVICE, &dk, sizeof(dk));
}

int sl_kernel_preflight(struct sl_kernel *k, const struct sl_objset *want, const struct sl_objset *have,
			struct sl_kerr *e)
{
	int r;

	/* where the endpoints' ipvlan slaves are, and that they are */
	r = kernel_nsdevs_load(k, kernel_map_fd(k, SL_MAPNAME_EP_NETNS), want);
	if (r < 0) {
		kerr(e, "reading the endpoints' namespaces: %s", strerror(-r));
		return r;
	}
	r = kernel_nsdevs_check(k, e);
	if (r < 0)
		return r;
	/* every device an object names */
	for (size_t i = 0; i < want->n; i++) {
		const struct sl_obj *o = &want->v[i];
		const struct sl_kind *kind = sl_kind(o->kind);
		char name[17] = { 0 };
		uint32_t ifindex;

		if (!kind || !kind->device || !sl_kind_fits(o->kind, o->klen, o->vlen) ||
		    !kind->device(obj_key(want, o), obj_val(want, o), name))
			continue;
		if (kernel_dev_ifindex(k, name, &ifindex) < 0 && !made_by(want, name)) {
			kerr(e, "%s %s: no such device in this network namespace; nothing was changed", kind->device_role,
			     name);
			return -ENODEV;
		}
	}
	/* then the backends': foreign programs in sluice's slots, SAs */
	return kernel_walk_preflight(backends, ARRAY_SIZE(backends), k, want, have, e);
}

int sl_kernel_apply(struct sl_kernel *k, const struct sl_objset *want, const struct sl_objset *have,
		    const struct sl_diff *d, const struct sl_prog_settings *s, struct sl_kerr *e)
{
	double ms[KERNEL_PHASE__MAX] = { 0 };
	int r;

	if (!d->n)
		return 0;
	/* the endpoints' namespaces as want has them (the observation read
	 * the record's) */
	r = kernel_nsdevs_load(k, kernel_map_fd(k, SL_MAPNAME_EP_NETNS), want);
	if (r < 0) {
		kerr(e, "reading the endpoints' namespaces: %s", strerror(-r));
		return r;
	}
	k->settings = s;
	r = kernel_walk_apply(backends, ARRAY_SIZE(backends), k, want, have, d, ms, e);
	k->settings = NULL;
	sl_kernel_timing.maps_ms = ms[KERNEL_PHASE_CREATE] + ms[KERNEL_PHASE_SETTLE];
	sl_kernel_timing.entries_ms = ms[KERNEL_PHASE_ENTRIES];
	sl_kernel_timing.programs_ms = ms[KERNEL_PHASE_PROGRAMS] + ms[KERNEL_PHASE_ROUTES_ADD];
	sl_kernel_timing.removals_ms = 0;
	for (int p = KERNEL_PHASE_ROUTES_REMOVE; p < KERNEL_PHASE__MAX; p++)
		sl_kernel_timing.removals_ms += ms[p];
	return r;
}
