/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attachments: sluice's tc filters (clsact ingress/egress at its own
 * priority and handle) and its XDP programs, found on every device of the
 * network namespace, and on the endpoints' ipvlan slaves in their own
 * namespaces (netns.c). A program that sluice did not load (its name does
 * not start with sluice_) is never replaced or removed.
 */
#include "attach.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sluice/abi.h>

#include "common/util.h"
#include "kinds/attach.h"
#include "kinds/prog.h"

static const char *const hook_name[SL_HOOK__MAX] = { "tc ingress", "tc egress", "xdp" };

struct name_cache {
	uint32_t id;
	char name[16];
};

/* A program's name by id (cached: most attachments share a program). */
static const char *prog_name(uint32_t id, struct name_cache *c, size_t n)
{
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info);
	struct name_cache *slot = &c[id % n];
	int fd;

	if (slot->id == id)
		return slot->name;
	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return "";
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		info.name[0] = 0;
	close(fd);
	slot->id = id;
	snprintf(slot->name, sizeof(slot->name), "%s", info.name);
	return slot->name;
}

static uint8_t prog_kind(const char *name, uint8_t hook)
{
	if (hook == SL_HOOK_XDP)
		return SL_PROG_PREFILTER;
	/* kernel names are cut at 15 characters: sluice_from_end, sluice_to_endpo,
	 * sluice_from_ove, sluice_from_net */
	if (strncmp(name, "sluice_from_ove", 15) == 0)
		return SL_PROG_FROM_OVERLAY;
	if (strncmp(name, "sluice_from_net", 15) == 0)
		return SL_PROG_FROM_NETDEV;
	return strncmp(name, "sluice_from", 11) == 0 ? SL_PROG_FROM_ENDPOINT : SL_PROG_TO_ENDPOINT;
}

static int note(struct sl_kernel *k, const struct kernel_nsdev *ns, const char *ifname, uint32_t ifindex,
		uint8_t hook, uint32_t prog_id, const char *name, uint8_t xdp_mode, struct sl_objset *live)
{
	if (strncmp(name, SL_PROG_PREFIX, strlen(SL_PROG_PREFIX)) != 0) {
		struct kernel_foreign *f;

		if (grow_array((void **)&k->foreign, &k->cap_foreign, k->n_foreign + 1, sizeof(*k->foreign)) < 0)
			return -ENOMEM;
		f = &k->foreign[k->n_foreign++];
		snprintf(f->ifname, sizeof(f->ifname), "%s", ifname);
		f->hook = hook;
		snprintf(f->prog, sizeof(f->prog), "%s", name[0] ? name : "(unnamed)");
		return 0;
	}
	{
		struct kernel_attached *a;
		struct sl_attach_key key = { .hook = hook };
		struct sl_attach_value val = { .prog = prog_kind(name, hook), .xdp_mode = xdp_mode };

		if (grow_array((void **)&k->attached, &k->cap_attached, k->n_attached + 1, sizeof(*k->attached)) < 0)
			return -ENOMEM;
		a = &k->attached[k->n_attached++];
		memset(a, 0, sizeof(*a));
		snprintf(a->ifname, sizeof(a->ifname), "%s", ifname);
		if (ns && ns->ns_fd >= 0)
			snprintf(a->netns, sizeof(a->netns), "%s", ns->netns);
		a->ifindex = ifindex;
		val.netns_tag = ns ? sl_netns_tag(ns->netns, sizeof(ns->netns)) : 0;
		a->hook = hook;
		a->xdp_mode = xdp_mode;
		a->prog_id = prog_id;
		memcpy(key.ifname, a->ifname, sizeof(key.ifname));
		val.digest = kernel_prog_digest(k, prog_id, val.prog);
		return objset_add(live, SL_OBJ_ATTACH, &key, sizeof(key), &val, sizeof(val));
	}
}

/* sluice's tc filters on one device of the current namespace */
static int observe_tc(struct sl_kernel *k, const struct kernel_nsdev *ns, const char *ifname, uint32_t ifindex,
		      struct name_cache *cache, size_t n_cache, struct sl_objset *live)
{
	int r = 0;

	for (int h = SL_HOOK_TC_INGRESS; r >= 0 && h <= SL_HOOK_TC_EGRESS; h++) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)ifindex,
			    .attach_point = h == SL_HOOK_TC_INGRESS ? BPF_TC_INGRESS : BPF_TC_EGRESS);
		LIBBPF_OPTS(bpf_tc_opts, q, .handle = SL_TC_HANDLE, .priority = SL_TC_PRIORITY);

		if (bpf_tc_query(&hook, &q) < 0 || !q.prog_id)
			continue;
		r = note(k, ns, ifname, ifindex, (uint8_t)h, q.prog_id, prog_name(q.prog_id, cache, n_cache), 0, live);
	}
	return r;
}

/* The endpoints' slaves in namespaces of their own (the directory was
 * loaded from the record by the maps' observation, which goes first). */
static int observe_nsdevs(struct sl_kernel *k, struct name_cache *cache, size_t n_cache, struct sl_objset *live,
			  struct sl_kerr *e)
{
	int r = 0;

	for (size_t i = 0; r >= 0 && i < k->n_nsdevs; i++) {
		const struct kernel_nsdev *d = &k->nsdevs[i];
		char name[17] = { 0 };
		int saved;

		if (d->ns_fd < 0 || !d->ifindex)
			continue; /* in sluice's namespace (seen there), or gone */
		memcpy(name, d->ifname, 16);
		r = kernel_netns_enter(d, &saved);
		if (r < 0) {
			kerr(e, "entering network namespace %s: %s", d->netns, strerror(-r));
			break;
		}
		r = observe_tc(k, d, name, d->ifindex, cache, n_cache, live);
		kernel_netns_leave(saved);
	}
	return r;
}

int attach_observe(struct sl_kernel *k, struct sl_objset *live, struct sl_kerr *e)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	struct name_cache cache[61] = { { 0 } };
	int r = 0;

	k->n_attached = 0;
	k->n_foreign = 0;
	if (!ifs) {
		kerr(e, "listing network devices: %s", strerror(errno));
		return -errno;
	}
	for (i = ifs; r >= 0 && i->if_index; i++) {
		const struct kernel_nsdev *ns = kernel_nsdev(k, i->if_name);
		LIBBPF_OPTS(bpf_xdp_query_opts, xq);

		/* a device named as an endpoint's slave in another namespace
		 * is not that endpoint's */
		if (ns && ns->ns_fd >= 0)
			continue;
		r = observe_tc(k, ns, i->if_name, i->if_index, cache, ARRAY_SIZE(cache), live);
		if (r < 0 || bpf_xdp_query((int)i->if_index, 0, &xq) < 0)
			continue;
		if (xq.drv_prog_id)
			r = note(k, NULL, i->if_name, i->if_index, SL_HOOK_XDP, xq.drv_prog_id,
				 prog_name(xq.drv_prog_id, cache, ARRAY_SIZE(cache)), SL_XDP_NATIVE, live);
		if (r >= 0 && xq.skb_prog_id)
			r = note(k, NULL, i->if_name, i->if_index, SL_HOOK_XDP, xq.skb_prog_id,
				 prog_name(xq.skb_prog_id, cache, ARRAY_SIZE(cache)), SL_XDP_GENERIC, live);
	}
	if_freenameindex(ifs);
	if (r < 0) {
		kerr(e, "reading attachments: %s", strerror(-r));
		return r;
	}
	return observe_nsdevs(k, cache, ARRAY_SIZE(cache), live, e);
}

int attach_preflight(struct sl_kernel *k, const struct sl_objset *want, struct sl_kerr *e)
{
	for (size_t i = 0; i < want->n; i++) {
		const struct sl_attach_key *ak;

		if (want->v[i].kind != SL_OBJ_ATTACH)
			continue;
		ak = obj_key(want, &want->v[i]);
		for (size_t j = 0; j < k->n_foreign; j++) {
			const struct kernel_foreign *f = &k->foreign[j];

			if (strncmp(f->ifname, ak->ifname, sizeof(f->ifname)) || f->hook != ak->hook)
				continue;
			if (ak->hook == SL_HOOK_XDP)
				kerr(e, "device %.16s: XDP program %s is attached and is not sluice's; sluice will "
					"not replace it (detach it first); nothing was changed",
				     ak->ifname, f->prog);
			else
				kerr(e, "device %.16s: %s filter priority %d handle 0x%x holds program %s, which is "
					"not sluice's; sluice will not replace it; nothing was changed",
				     ak->ifname, hook_name[ak->hook], SL_TC_PRIORITY, SL_TC_HANDLE, f->prog);
			return -EBUSY;
		}
	}
	return 0;
}

static const struct kernel_attached *attached(struct sl_kernel *k, const struct sl_attach_key *ak)
{
	for (size_t i = 0; i < k->n_attached; i++)
		if (!strncmp(k->attached[i].ifname, ak->ifname, 16) && k->attached[i].hook == ak->hook)
			return &k->attached[i];
	return NULL;
}

static uint32_t xdp_flags(uint8_t mode)
{
	return mode == SL_XDP_GENERIC ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
}

static int detach_one(struct sl_kernel *k, const struct sl_attach_key *ak, struct sl_kerr *e)
{
	const struct kernel_attached *a = attached(k, ak);
	int r = 0;

	int saved;

	if (!a)
		return 0;
	r = kernel_netns_enter_path(a->netns, &saved);
	if (r == -ENOENT)
		return 0; /* the namespace is gone, and its devices with it */
	if (r < 0) {
		kerr(e, "detaching %s from %.16s: entering network namespace %s: %s", hook_name[ak->hook], ak->ifname,
		     a->netns, strerror(-r));
		return r;
	}
	sl_kernel_writes++;
	if (ak->hook == SL_HOOK_XDP) {
		int old = bpf_prog_get_fd_by_id(a->prog_id);
		LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = old);

		if (old < 0)
			return 0; /* gone already */
		r = bpf_xdp_detach((int)a->ifindex, xdp_flags(a->xdp_mode) | XDP_FLAGS_REPLACE, &o);
		close(old);
	} else {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)a->ifindex,
			    .attach_point = ak->hook == SL_HOOK_TC_INGRESS ? BPF_TC_INGRESS : BPF_TC_EGRESS);
		LIBBPF_OPTS(bpf_tc_opts, o, .handle = SL_TC_HANDLE, .priority = SL_TC_PRIORITY);

		r = bpf_tc_detach(&hook, &o);
		if (r == -ENOENT)
			r = 0;
	}
	kernel_netns_leave(saved);
	if (r < 0)
		kerr(e, "detaching %s from %.16s: %s", hook_name[ak->hook], ak->ifname, strerror(-r));
	return r;
}

static int attach_one(struct sl_kernel *k, const struct sl_attach_key *ak, const struct sl_attach_value *av,
		      struct sl_kerr *e)
{
	char ifname[17] = { 0 };
	const struct kernel_attached *a = attached(k, ak);
	const struct kernel_nsdev *ns = kernel_nsdev(k, ak->ifname);
	uint32_t ifindex;
	int fd, r, saved;

	memcpy(ifname, ak->ifname, 16);
	r = kernel_dev_ifindex(k, ak->ifname, &ifindex);
	if (r < 0) {
		kerr(e, "device %s%s%s: %s", ifname, ns && ns->netns[0] ? " in " : "", ns ? ns->netns : "", strerror(-r));
		return r;
	}
	if (a && strcmp(a->netns, ns && ns->ns_fd >= 0 ? ns->netns : "")) {
		/* the slave moved to another namespace: off the old one first */
		r = detach_one(k, ak, e);
		if (r < 0)
			return r;
		a = NULL;
	}
	fd = kernel_prog_open(k, av->prog, av->digest, e);
	if (fd < 0)
		return fd;
	if (ak->hook == SL_HOOK_XDP) {
		int old = a ? bpf_prog_get_fd_by_id(a->prog_id) : -1;
		LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = old);
		uint32_t flags = xdp_flags(av->xdp_mode);

		if (a && a->xdp_mode != av->xdp_mode) {
			/* native and generic cannot both be attached: detach first */
			r = detach_one(k, ak, e);
			if (old >= 0)
				close(old);
			old = -1;
			o.old_prog_fd = -1;
			if (r < 0) {
				close(fd);
				return r;
			}
		}
		flags |= old >= 0 ? XDP_FLAGS_REPLACE : XDP_FLAGS_UPDATE_IF_NOEXIST;
		sl_kernel_writes++;
		r = bpf_xdp_attach((int)ifindex, fd, flags, old >= 0 ? &o : NULL);
		if (old >= 0)
			close(old);
		if (r < 0)
			kerr(e, "device %s: attaching XDP program %s (%s): %s", ifname, sl_prog_names[av->prog],
			     av->xdp_mode == SL_XDP_GENERIC ? "generic" : "native", strerror(-r));
	} else {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)ifindex,
			    .attach_point = ak->hook == SL_HOOK_TC_INGRESS ? BPF_TC_INGRESS : BPF_TC_EGRESS);
		LIBBPF_OPTS(bpf_tc_opts, o, .handle = SL_TC_HANDLE, .priority = SL_TC_PRIORITY, .prog_fd = fd,
			    .flags = BPF_TC_F_REPLACE);

		r = kernel_netns_enter(ns, &saved);
		if (r < 0) {
			kerr(e, "device %s: entering network namespace %s: %s", ifname, ns->netns, strerror(-r));
			close(fd);
			return r;
		}
		if (!a) {
			sl_kernel_writes++;
			r = bpf_tc_hook_create(&hook);
			if (r == -EEXIST)
				r = 0;
			if (r < 0)
				kerr(e, "device %s: creating its clsact qdisc: %s", ifname, strerror(-r));
		}
		if (r >= 0) {
			sl_kernel_writes++;
			r = bpf_tc_attach(&hook, &o);
			if (r < 0)
				kerr(e, "device %s: attaching %s to %s: %s", ifname, sl_prog_names[av->prog],
				     hook_name[ak->hook], strerror(-r));
		}
		kernel_netns_leave(saved);
	}
	close(fd);
	return r;
}

int attach_apply(struct sl_kernel *k, const struct sl_objset *want, const struct sl_objset *have,
		 const struct sl_diff *d, bool remove, struct sl_kerr *e)
{
	int r = 0;

	for (size_t i = 0; r >= 0 && i < d->n; i++) {
		const struct sl_change *c = &d->v[i];

		if (c->kind != SL_OBJ_ATTACH || remove != (c->op == SL_OP_REMOVE))
			continue;
		if (remove)
			r = detach_one(k, obj_key(have, &have->v[c->have]), e);
		else
			r = attach_one(k, obj_key(want, &want->v[c->want]), obj_val(want, &want->v[c->want]), e);
	}
	return r;
}
