/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The programs backend: sluice's pinned programs (loaded against the
 * pinned maps, observed, unpinned) and, through attach.c, their tc and XDP
 * attachments, through sockhook.c, their cgroup and sockhash hooks.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sluice/abi.h>

#include "attach.h"
#include "backend.h"
#include "common/util.h"
#include "datapath.skel.h"
#include "internal.h"
#include "prefilter.skel.h"
#include "sock.skel.h"
#include "sock_lb.skel.h"
#include "sockhook.h"
#include "twins.h"
#include "kinds/device.h"
#include "kinds/prog.h"
#include "kinds/map.h"

/* Bind every map of obj to the fd the pin directory holds for it: the one
 * k holds open, else (a handle that read no map: the monitor's) the pin. */
static int reuse_maps(struct sl_kernel *k, struct bpf_object *obj, struct sl_kerr *e)
{
	struct bpf_map *m;

	bpf_object__for_each_map(m, obj)
	{
		int fd, own = -1, r;

		if (bpf_map__is_internal(m) || kernel_twins_map(m))
			continue; /* the object's own */
		fd = kernel_map_fd(k, bpf_map__name(m));
		if (fd < 0)
			fd = own = bpf_obj_get(kernel_path(k, bpf_map__name(m)));
		if (fd < 0) {
			kerr(e, "program load: map %s is not there", bpf_map__name(m));
			return -ENOENT;
		}
		r = bpf_map__reuse_fd(m, fd) < 0 ? -errno : 0;
		if (own >= 0)
			close(own);
		if (r < 0) {
			kerr(e, "program load: reusing map %s: %s", bpf_map__name(m), strerror(-r));
			return r;
		}
	}
	return 0;
}

/* The ids of the maps the program fd uses (at most cap) into ids, and the
 * program's id: their number, or -errno. */
static int prog_map_ids(int fd, uint32_t *ids, uint32_t cap, uint32_t *ret_id)
{
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info), n;

	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return -errno;
	*ret_id = info.id;
	n = info.nr_map_ids < cap ? info.nr_map_ids : cap;
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = n;
	info.map_ids = (uint64_t)(uintptr_t)ids;
	len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return -errno;
	return (int)n;
}

/* Call fn for each pin PREFIX<kind>_<16 hex digits> of the pin directory
 * whose kind is a program's (the kind has underscores itself), with its
 * name, program and digest, until fn fails. */
typedef int (*pin_fn)(struct sl_kernel *k, const char *name, int prog, uint64_t digest, void *ctx,
		      struct sl_kerr *e);

static int pins_each(struct sl_kernel *k, const char *prefix, pin_fn fn, void *ctx, struct sl_kerr *e)
{
	const size_t pl = strlen(prefix);
	struct dirent *de;
	DIR *d;
	int dfd, r = 0;

	if (k->dir_fd < 0)
		return 0;
	dfd = dup(k->dir_fd);
	if (dfd < 0 || !(d = fdopendir(dfd))) {
		if (dfd >= 0)
			close(dfd);
		kerr(e, "pin directory %s: %s", k->pin_dir, strerror(errno));
		return -errno;
	}
	rewinddir(d);
	while (r >= 0 && (de = readdir(d))) {
		const char *us = strrchr(de->d_name, '_');
		size_t kl = us ? (size_t)(us - de->d_name) - pl : 0;
		char kind[32], *end;
		uint64_t digest;
		int p;

		if (strncmp(de->d_name, prefix, pl) != 0 || !us || kl == 0 || kl >= sizeof(kind) ||
		    strlen(us + 1) != 16)
			continue;
		memcpy(kind, de->d_name + pl, kl);
		kind[kl] = 0;
		digest = strtoull(us + 1, &end, 16);
		for (p = 0; p < SL_PROG__MAX && !streq(sl_prog_names[p], kind); p++)
			;
		if (*end || p == SL_PROG__MAX)
			continue;
		r = fn(k, de->d_name, p, digest, ctx, e);
	}
	closedir(d);
	return r;
}

/* Pin what holds the program's twin with events (twins.h), before the
 * program: a prog array whose last pin or descriptor goes is emptied. */
static int pin_twins(struct sl_kernel *k, int prog, uint64_t digest, const struct bpf_map *m, struct sl_kerr *e)
{
	char name[64];

	kernel_twins_pin_name(prog, digest, name, sizeof(name));
	if (unlinkat(k->dir_fd, name, 0) == 0)
		sl_kernel_writes++;
	sl_kernel_writes++;
	if (bpf_obj_pin(bpf_map__fd(m), kernel_path(k, name)) < 0) {
		int r = -errno;

		kerr(e, "program %s: pinning its events' twin at %s: %s", sl_prog_names[prog], kernel_path(k, name),
		     strerror(-r));
		return r;
	}
	return 0;
}

static int pin_prog(struct sl_kernel *k, int prog, uint64_t digest, int fd, struct sl_kerr *e)
{
	char name[64];

	kernel_prog_pin_name(prog, digest, name, sizeof(name));
	if (unlinkat(k->dir_fd, name, 0) == 0)
		sl_kernel_writes++;
	sl_kernel_writes++;
	if (bpf_obj_pin(fd, kernel_path(k, name)) < 0) {
		int r = -errno;

		kerr(e, "program %s: pinning at %s: %s", sl_prog_names[prog], kernel_path(k, name), strerror(-r));
		return r;
	}
	return 0;
}

/* Whether some `sluice monitor` runs: the union of the types the
 * monitors want (sluice_monitor[0]) is not 0. */
static bool monitor_running(struct sl_kernel *k)
{
	int fd = kernel_map_fd(k, SL_MAPNAME_MONITOR);
	struct sl_monitor_slot s = { 0 };
	uint32_t zero = 0;

	return fd >= 0 && bpf_map_lookup_elem(fd, &zero, &s) == 0 && s.types != 0;
}

/* The overlay device's ifindex in this network namespace now, 0: none. */
static uint32_t tunnel_ifindex(void)
{
	return if_nametoindex(SL_DEVICE_VXLAN_NAME);
}

/* The datapath object's programs: from_endpoint, to_endpoint and
 * from_overlay are one object, loaded together; only those the plan adds
 * or changes (pin) are pinned, so that a program that stays keeps the
 * instance its attachments use. */
static int load_datapath(struct sl_kernel *k, const struct sl_prog_settings *s, const uint64_t digest[SL_PROG__MAX],
			 const bool pin[SL_PROG__MAX], struct sl_kerr *e)
{
	struct datapath_bpf *d;
	uint32_t tun = 0;
	bool twins;
	int r;

	if (s->tunnel && !(tun = tunnel_ifindex())) {
		kerr(e, "program from_endpoint: the overlay device %s is not there", SL_DEVICE_VXLAN_NAME);
		return -ENODEV;
	}
	d = kernel_open_datapath();
	if (!d) {
		kerr(e, "program from_endpoint: open: %s", strerror(errno));
		return -errno;
	}
	d->rodata->cfg_hz = s->hz;
	d->rodata->cfg_tunnel_ifindex = tun;
	d->rodata->cfg_encrypt = s->encrypt;
	d->rodata->cfg_proxy = s->proxy;
	d->rodata->cfg_ipvlan = s->ipvlan;
	/* The twins with events only while some monitor runs (it loads them
	 * itself when they are not there: sl_kernel_twins_ensure): the
	 * verifier's time for them would double every load. */
	twins = monitor_running(k);
	if (!twins)
		kernel_twins_autoload(d->obj, NULL);
	r = reuse_maps(k, d->obj, e);
	if (r >= 0 && (r = datapath_bpf__load(d)) < 0)
		kerr(e, "program from_endpoint/to_endpoint/from_overlay: the kernel refused to load it: %s "
			"(run with -vv for the verifier's log)", strerror(-r));
	if (r >= 0 && twins) {
		const char *what = "";

		r = kernel_twins_fill(d->obj, &what);
		if (r < 0)
			kerr(e, "program from_endpoint: its twins with events (%s): %s", what, strerror(-r));
	}
	{
		const struct {
			int prog;
			const struct bpf_program *p;
		} pins[] = {
			{ SL_PROG_FROM_ENDPOINT, d->progs.sluice_from_endpoint },
			{ SL_PROG_TO_ENDPOINT, d->progs.sluice_to_endpoint },
			{ SL_PROG_FROM_OVERLAY, d->progs.sluice_from_overlay },
			{ SL_PROG_FROM_NETDEV, d->progs.sluice_from_netdev },
		};

		for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(pins); i++) {
			const struct bpf_map *arr = kernel_twins_map_of(d->obj, bpf_program__name(pins[i].p));

			if (!pin[pins[i].prog] || !digest[pins[i].prog])
				continue;
			if (arr)
				r = pin_twins(k, pins[i].prog, digest[pins[i].prog], arr, e);
			if (r >= 0)
				r = pin_prog(k, pins[i].prog, digest[pins[i].prog], bpf_program__fd(pins[i].p), e);
		}
	}
	datapath_bpf__destroy(d);
	return r;
}

/* The socket programs' object: sockops and sk_msg. */
static int load_sock(struct sl_kernel *k, const uint64_t digest[SL_PROG__MAX], const bool pin[SL_PROG__MAX],
		     struct sl_kerr *e)
{
	struct sock_bpf *so = kernel_open_sock();
	int r;

	if (!so) {
		kerr(e, "program sockops: open: %s", strerror(errno));
		return -errno;
	}
	r = reuse_maps(k, so->obj, e);
	if (r >= 0 && (r = sock_bpf__load(so)) < 0)
		kerr(e, "program sockops/sk_msg: the kernel refused to load it: %s (run with -vv for the verifier's log)",
		     strerror(-r));
	if (r >= 0 && pin[SL_PROG_SOCKOPS] && digest[SL_PROG_SOCKOPS])
		r = pin_prog(k, SL_PROG_SOCKOPS, digest[SL_PROG_SOCKOPS], bpf_program__fd(so->progs.sluice_sockops), e);
	if (r >= 0 && pin[SL_PROG_SK_MSG] && digest[SL_PROG_SK_MSG])
		r = pin_prog(k, SL_PROG_SK_MSG, digest[SL_PROG_SK_MSG], bpf_program__fd(so->progs.sluice_sk_msg), e);
	sock_bpf__destroy(so);
	return r;
}

/* The socket hooks of services' object: connect4/6, sendmsg4/6,
 * recvmsg4/6, getpeername4/6, each program named sluice_<its name>. */
static int load_sock_lb(struct sl_kernel *k, const uint64_t digest[SL_PROG__MAX], const bool pin[SL_PROG__MAX],
			struct sl_kerr *e)
{
	struct sock_lb_bpf *lb = kernel_open_sock_lb();
	int r;

	if (!lb) {
		kerr(e, "program connect4: open: %s", strerror(errno));
		return -errno;
	}
	r = reuse_maps(k, lb->obj, e);
	if (r >= 0 && (r = sock_lb_bpf__load(lb)) < 0)
		kerr(e, "programs connect4/6, sendmsg4/6, recvmsg4/6, getpeername4/6: the kernel refused to load them: "
			"%s (run with -vv for the verifier's log)", strerror(-r));
	for (int p = SL_PROG_CONNECT4; r >= 0 && p <= SL_PROG_GETPEERNAME6; p++) {
		char name[32];
		struct bpf_program *prog;

		if (!pin[p] || !digest[p])
			continue;
		snprintf(name, sizeof(name), SL_PROG_PREFIX "%s", sl_prog_names[p]);
		prog = bpf_object__find_program_by_name(lb->obj, name);
		if (!prog) {
			kerr(e, "program %s: not in the embedded object", sl_prog_names[p]);
			r = -ENOENT;
			break;
		}
		r = pin_prog(k, p, digest[p], bpf_program__fd(prog), e);
	}
	sock_lb_bpf__destroy(lb);
	return r;
}

/* Which object a program is in, by the map group it loads against. */
static int prog_group(uint8_t prog)
{
	switch (prog) {
	case SL_PROG_PREFILTER:
		return SL_MAPS_PREFILTER;
	case SL_PROG_SOCKOPS:
	case SL_PROG_SK_MSG:
		return SL_MAPS_SOCK;
	case SL_PROG_CONNECT4:
	case SL_PROG_CONNECT6:
	case SL_PROG_SENDMSG4:
	case SL_PROG_SENDMSG6:
	case SL_PROG_RECVMSG4:
	case SL_PROG_RECVMSG6:
	case SL_PROG_GETPEERNAME4:
	case SL_PROG_GETPEERNAME6:
		return SL_MAPS_SOCK_LB;
	default:
		return SL_MAPS_DATAPATH;
	}
}

static int load_progs(struct sl_kernel *k, int group, const struct sl_prog_settings *s, const uint64_t digest[SL_PROG__MAX],
		      const bool pin[SL_PROG__MAX], struct sl_kerr *e)
{
	int r;

	sl_kernel_writes++;
	if (group == SL_MAPS_DATAPATH) {
		r = load_datapath(k, s, digest, pin, e);
	} else if (group == SL_MAPS_SOCK) {
		r = load_sock(k, digest, pin, e);
	} else if (group == SL_MAPS_SOCK_LB) {
		r = load_sock_lb(k, digest, pin, e);
	} else {
		struct prefilter_bpf *p = kernel_open_prefilter();

		if (!p) {
			kerr(e, "program prefilter: open: %s", strerror(errno));
			return -errno;
		}
		r = reuse_maps(k, p->obj, e);
		if (r >= 0 && (r = prefilter_bpf__load(p)) < 0)
			kerr(e, "program prefilter: the kernel refused to load it: %s", strerror(-r));
		if (r >= 0)
			r = pin_prog(k, SL_PROG_PREFILTER, digest[SL_PROG_PREFILTER],
				     bpf_program__fd(p->progs.sluice_prefilter), e);
		prefilter_bpf__destroy(p);
	}
	return r;
}

/* Whether a datapath program's .rodata (mfd, described by mi) has the
 * cfg_tunnel_ifindex of sluice_vxlan now: 0 (loaded without the overlay,
 * which its digest says) or the device's ifindex. A device made again has
 * another ifindex, and the program would redirect into nothing. */
static bool rodata_current(int mfd, const struct bpf_map_info *mi)
{
	const size_t off = offsetof(struct datapath_bpf__rodata, cfg_tunnel_ifindex);
	uint32_t zero = 0, ifindex;
	uint8_t *v;
	bool ok;

	/* the kernel has the object's map name cut to 15 characters */
	if (strncmp(mi->name, "datapath.rodata", sizeof(mi->name) - 1) != 0 ||
	    mi->value_size < sizeof(struct datapath_bpf__rodata))
		return true; /* not the settings */
	v = calloc(1, mi->value_size);
	if (!v)
		return false;
	ok = bpf_map_lookup_elem(mfd, &zero, v) == 0;
	if (ok) {
		memcpy(&ifindex, v + off, sizeof(ifindex));
		ok = ifindex == 0 || ifindex == tunnel_ifindex();
	}
	free(v);
	return ok;
}

/* Whether the prog array of program `prog` (digest) pinned beside it is
 * the map map_id. */
static bool twins_pinned(struct sl_kernel *k, int prog, uint64_t digest, uint32_t map_id)
{
	struct bpf_map_info mi = {};
	uint32_t len = sizeof(mi);
	char name[64];
	bool ok;
	int fd;

	kernel_twins_pin_name(prog, digest, name, sizeof(name));
	fd = bpf_obj_get(kernel_path(k, name));
	if (fd < 0)
		return false;
	ok = bpf_obj_get_info_by_fd(fd, &mi, &len) == 0 && mi.id == map_id;
	close(fd);
	return ok;
}

/* One pinned program (pins_each): into k->progs and live. */
static int observe_prog(struct sl_kernel *k, const char *name, int p, uint64_t digest, void *ctx, struct sl_kerr *e)
{
	struct sl_objset *live = ctx;
	struct kernel_pinned_prog pp = { .prog = (uint8_t)p, .digest = digest, .current = true };
	uint32_t ids[64];
	int fd = bpf_obj_get(kernel_path(k, name)), n;

	(void)e;
	if (fd < 0)
		return 0;
	n = prog_map_ids(fd, ids, 64, &pp.id);
	close(fd);
	if (n < 0 && !pp.id)
		return 0; /* not readable: not observed */
	pp.current = n >= 0;
	for (int i = 0; pp.current && i < n; i++) {
		struct bpf_map_info mi = {};
		uint32_t mlen = sizeof(mi);
		int mfd = bpf_map_get_fd_by_id(ids[i]);
		bool ok = false;

		if (mfd < 0 || bpf_obj_get_info_by_fd(mfd, &mi, &mlen) < 0) {
			pp.current = false;
		} else if (mi.type == BPF_MAP_TYPE_PROG_ARRAY) {
			/* the array of its twin with events (twins.h):
			 * pinned beside it, else nobody can fill it */
			ok = twins_pinned(k, p, digest, ids[i]);
		} else if (strchr(mi.name, '.')) {
			/* the program's own .rodata: loaded for the overlay
			 * device there is now? */
			ok = p == SL_PROG_PREFILTER || rodata_current(mfd, &mi);
		} else {
			for (int j = 0; j < KERNEL_MAX_MAPS && !ok; j++)
				ok = k->map_fd[j] >= 0 && k->map_id[j] == ids[i];
		}
		if (mfd >= 0)
			close(mfd);
		pp.current = pp.current && ok;
	}
	if (grow_array((void **)&k->progs, &k->cap_progs, k->n_progs + 1, sizeof(*k->progs)) < 0)
		return -ENOMEM;
	k->progs[k->n_progs++] = pp;
	{
		struct sl_prog_key key = { .prog = (uint8_t)p, .digest = digest };
		struct sl_prog_value val = { .current = pp.current };

		return objset_add(live, SL_OBJ_PROG, &key, sizeof(key), &val, sizeof(val));
	}
}

static int observe_progs(struct sl_kernel *k, struct sl_objset *live, struct sl_kerr *e)
{
	return pins_each(k, "prog_", observe_prog, live, e);
}

/* The .rodata of the pinned program fd into buf (size len): 0, or -errno
 * (-ENOENT: it has none of that size). */
static int prog_rodata(int fd, void *buf, size_t len)
{
	uint32_t ids[64], id;
	int n = prog_map_ids(fd, ids, 64, &id), r = -ENOENT;

	if (n < 0)
		return n;
	for (int i = 0; i < n && r == -ENOENT; i++) {
		struct bpf_map_info mi = {};
		uint32_t mlen = sizeof(mi), zero = 0;
		int mfd = bpf_map_get_fd_by_id(ids[i]);

		if (mfd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(mfd, &mi, &mlen) == 0 && strstr(mi.name, ".rodata") &&
		    mi.value_size == len)
			r = bpf_map_lookup_elem(mfd, &zero, buf) == 0 ? 0 : -errno;
		close(mfd);
	}
	return r;
}

/* Load the twin with events of the pinned datapath program `prog`
 * (digest) with that program's own settings (its .rodata), against the
 * pinned maps, into the prog array arr_fd. */
static int twin_load(struct sl_kernel *k, int prog, uint64_t digest, int arr_fd, struct sl_kerr *e)
{
	struct datapath_bpf *d;
	char name[64], twin[64];
	int pfd, r;

	kernel_prog_pin_name(prog, digest, name, sizeof(name));
	pfd = bpf_obj_get(kernel_path(k, name));
	if (pfd < 0)
		return 0; /* its program is gone: nothing to trace */
	d = kernel_open_datapath();
	if (!d) {
		r = -errno;
		close(pfd);
		kerr(e, "program %s: its twin with events: open: %s", sl_prog_names[prog], strerror(-r));
		return r;
	}
	{
		size_t sz = 0;
		void *ro = bpf_map__initial_value(d->maps.rodata, &sz) && sz ? malloc(sz) : NULL;

		r = ro ? prog_rodata(pfd, ro, sz) : -ENOENT;
		if (r >= 0 && bpf_map__set_initial_value(d->maps.rodata, ro, sz) < 0)
			r = -errno;
		free(ro);
	}
	close(pfd);
	if (r == -ENOENT) {
		r = 0; /* not this build's program: the next apply loads it again */
		goto out;
	}
	if (r < 0) {
		kerr(e, "program %s: reading its settings: %s", sl_prog_names[prog], strerror(-r));
		goto out;
	}
	snprintf(twin, sizeof(twin), SL_PROG_PREFIX "%s_ev", sl_prog_names[prog]);
	kernel_twins_autoload(d->obj, twin);
	r = reuse_maps(k, d->obj, e);
	if (r == -ENOENT) {
		r = 0; /* a map gone: the next apply makes it and the programs again */
		goto out;
	}
	if (r < 0)
		goto out;
	sl_kernel_writes++;
	r = datapath_bpf__load(d);
	if (r < 0) {
		kerr(e, "program %s: the kernel refused to load its twin with events: %s", sl_prog_names[prog],
		     strerror(-r));
		goto out;
	}
	{
		const struct bpf_program *p = bpf_object__find_program_by_name(d->obj, twin);
		uint32_t zero = 0;
		int fd = p ? bpf_program__fd(p) : -1;

		sl_kernel_writes++;
		if (fd < 0 || bpf_map_update_elem(arr_fd, &zero, &fd, BPF_ANY) < 0) {
			r = fd < 0 ? -ENOENT : -errno;
			kerr(e, "program %s: putting its twin with events in place: %s", sl_prog_names[prog], strerror(-r));
		}
	}
out:
	datapath_bpf__destroy(d);
	return r;
}

/* One prog array of twins (pins_each): its twin loaded when it has none. */
static int twin_ensure(struct sl_kernel *k, const char *name, int p, uint64_t digest, void *ctx, struct sl_kerr *e)
{
	uint32_t zero = 0, id;
	int fd = bpf_obj_get(kernel_path(k, name)), r = 0;

	(void)ctx;
	if (fd < 0)
		return 0;
	if (bpf_map_lookup_elem(fd, &zero, &id) < 0)
		r = twin_load(k, p, digest, fd, e);
	close(fd);
	return r;
}

int sl_kernel_twins_ensure(struct sl_kernel *k, struct sl_kerr *e)
{
	return pins_each(k, "events_", twin_ensure, NULL, e);
}

static int progs_load(struct sl_kernel *k, const struct sl_objset *want, const struct sl_diff *d,
		      const struct sl_prog_settings *s, struct sl_kerr *e)
{
	uint64_t digest[SL_PROG__MAX] = { 0 };
	bool load[SL_MAPS__MAX] = { false }, pin[SL_PROG__MAX] = { false };

	for (size_t i = 0; i < want->n; i++)
		if (want->v[i].kind == SL_OBJ_PROG) {
			const struct sl_prog_key *pk = obj_key(want, &want->v[i]);

			digest[pk->prog] = pk->digest;
		}
	for (size_t i = 0; i < d->n; i++) {
		const struct sl_prog_key *pk;

		if (d->v[i].kind != SL_OBJ_PROG || d->v[i].op == SL_OP_REMOVE)
			continue;
		pk = obj_key(want, &want->v[d->v[i].want]);
		load[prog_group(pk->prog)] = true;
		if (pk->prog < SL_PROG__MAX)
			pin[pk->prog] = true;
	}
	for (int g = 0; g < SL_MAPS__MAX; g++) {
		int r;

		if (!load[g])
			continue;
		r = load_progs(k, g, s, digest, pin, e);
		if (r < 0)
			return r;
	}
	return 0;
}

/* A twins pin whose program's pin is gone (a run stopped between the
 * two pins): removed with the other removals, so that nothing of sluice's
 * stays behind (flush removes the pin directory after). */
static int unpin_stray_twin(struct sl_kernel *k, const char *name, int p, uint64_t digest, void *ctx,
			    struct sl_kerr *e)
{
	char prog[64];

	(void)ctx;
	kernel_prog_pin_name(p, digest, prog, sizeof(prog));
	if (faccessat(k->dir_fd, prog, F_OK, 0) == 0 || errno != ENOENT)
		return 0;
	sl_kernel_writes++;
	if (unlinkat(k->dir_fd, name, 0) < 0 && errno != ENOENT) {
		int r = -errno;

		kerr(e, "unpinning %s: %s", kernel_path(k, name), strerror(-r));
		return r;
	}
	return 0;
}

static int unpin_stray_twins(struct sl_kernel *k, struct sl_kerr *e)
{
	return pins_each(k, "events_", unpin_stray_twin, NULL, e);
}

static int progs_unpin(struct sl_kernel *k, const struct sl_objset *have, const struct sl_diff *d, struct sl_kerr *e)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct sl_prog_key *pk;
		char name[64];

		if (d->v[i].kind != SL_OBJ_PROG || d->v[i].op != SL_OP_REMOVE)
			continue;
		pk = obj_key(have, &have->v[d->v[i].have]);
		kernel_prog_pin_name(pk->prog, pk->digest, name, sizeof(name));
		sl_kernel_writes++;
		if (unlinkat(k->dir_fd, name, 0) < 0 && errno != ENOENT) {
			kerr(e, "program %s: unpinning %s: %s", sl_prog_names[pk->prog], kernel_path(k, name),
			     strerror(errno));
			return -errno;
		}
		kernel_twins_pin_name(pk->prog, pk->digest, name, sizeof(name));
		if (unlinkat(k->dir_fd, name, 0) == 0)
			sl_kernel_writes++;
	}
	return unpin_stray_twins(k, e);
}

static int programs_observe(struct sl_kernel *k, struct sl_objset *live, struct sl_kerr *e)
{
	int r;

	free(k->progs);
	k->progs = NULL;
	k->n_progs = k->cap_progs = 0;
	r = observe_progs(k, live, e);
	if (r >= 0)
		r = attach_observe(k, live, e);
	if (r >= 0)
		r = sockhook_observe(k, live, e);
	return r;
}

static int programs_preflight(struct sl_kernel *k, const struct sl_objset *want, const struct sl_objset *have,
			      struct sl_kerr *e)
{
	(void)have;
	return attach_preflight(k, want, e);
}

static int programs_apply(struct sl_kernel *k, const struct sl_objset *want, const struct sl_objset *have,
			  const struct sl_diff *d, enum kernel_phase phase, struct sl_kerr *e)
{
	int r;

	switch (phase) {
	case KERNEL_PHASE_PROGRAMS:
		r = progs_load(k, want, d, k->settings, e);
		if (r >= 0)
			r = attach_apply(k, want, have, d, false, e);
		if (r >= 0)
			r = sockhook_apply(k, want, have, d, false, e);
		return r;
	case KERNEL_PHASE_DETACH:
		r = sockhook_apply(k, want, have, d, true, e);
		if (r >= 0)
			r = attach_apply(k, want, have, d, true, e);
		return r;
	case KERNEL_PHASE_FINISH:
		return progs_unpin(k, have, d, e);
	default:
		return 0;
	}
}

const struct kernel_backend kernel_backend_programs = {
	.name = "programs",
	.observe = programs_observe,
	.preflight = programs_preflight,
	.apply = programs_apply,
};
