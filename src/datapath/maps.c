/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The maps backend: sluice's BPF maps (made, migrated, pinned, unpinned)
 * and, through entries.c, their entries.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sluice/abi.h>

#include "backend.h"
#include "common/util.h"
#include "internal.h"
#include "kinds/map.h"

/* The maps, and the entries of those whose entries are desired state. */
static int maps_observe(struct sl_kernel *k, struct sl_objset *live, struct sl_kerr *e)
{
	const struct sl_map_layout *l;
	struct kernel_dump_job jobs[KERNEL_MAX_MAPS];
	size_t n, n_jobs = 0;
	int r = sl_kernel_layouts(&l, &n);

	if (r >= 0 && !k->maps_open)
		r = kernel_open_maps(k, e);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		struct bpf_map_info info = {};
		uint32_t len = sizeof(info);
		struct sl_map_key mk = { { 0 } };
		struct sl_map_value mv;
		int kind = sl_kind_by_map(l[i].name);

		if (k->map_fd[i] < 0)
			continue;
		if (bpf_obj_get_info_by_fd(k->map_fd[i], &info, &len) < 0) {
			r = -errno;
			kerr(e, "map %s: %s", l[i].name, strerror(-r));
			break;
		}
		k->map_id[i] = info.id;
		mv = (struct sl_map_value){ .type = info.type, .key_size = info.key_size, .value_size = info.value_size,
					    .max_entries = info.max_entries, .flags = info.map_flags };
		snprintf(mk.name, sizeof(mk.name), "%s", l[i].name);
		r = objset_add(live, SL_OBJ_MAP, &mk, sizeof(mk), &mv, sizeof(mv));
		/* Entries of a map in another layout are not read: a migration
		 * writes them all anew. */
		if (r >= 0 && kind >= 0 && info.key_size == l[i].v.key_size && info.value_size == l[i].v.value_size &&
		    n_jobs < ARRAY_SIZE(jobs))
			jobs[n_jobs++] = (struct kernel_dump_job){ k->map_fd[i], kind, info.key_size, info.value_size,
							    info.max_entries, l[i].name };
	}
	/* where the endpoints' devices are (ipvlan mode), before the entries
	 * keyed by them are read */
	if (r >= 0) {
		r = kernel_nsdevs_load(k, kernel_map_fd(k, SL_MAPNAME_EP_NETNS), NULL);
		if (r < 0)
			kerr(e, "map %s: reading the endpoints' namespaces: %s", SL_MAPNAME_EP_NETNS, strerror(-r));
	}
	if (r >= 0)
		r = kernel_dump_maps(k, jobs, n_jobs, live, e);
	return r;
}

struct copy_ctx {
	int fd;
	uint32_t copied, failed;
};

static int copy_entry(void *ctx, const void *key, const void *val)
{
	struct copy_ctx *c = ctx;

	sl_kernel_writes++;
	if (bpf_map_update_elem(c->fd, key, val, BPF_ANY) == 0)
		c->copied++;
	else
		c->failed++;
	return 0;
}

static int create_map(const char *name, const struct sl_map_value *v, struct sl_kerr *e)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = v->flags);
	char kname[16];
	int fd, inner = -1;

	snprintf(kname, sizeof(kname), "%.15s", name);
	/* A map of maps is made with a map like those it will hold: the
	 * monitor's rings (the only one sluice has) */
	if (v->type == BPF_MAP_TYPE_HASH_OF_MAPS || v->type == BPF_MAP_TYPE_ARRAY_OF_MAPS) {
		sl_kernel_writes++;
		inner = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "sluice_ring", 0, 0, SL_MONITOR_RING_BYTES, NULL);
		if (inner < 0) {
			int r = -errno;

			kerr(e, "map %s: creating sluice_ring, the ring buffer its entries are like: %s", name,
			     strerror(-r));
			return r;
		}
		opts.inner_map_fd = inner;
	}
	sl_kernel_writes++;
	fd = bpf_map_create((enum bpf_map_type)v->type, kname, v->key_size, v->value_size, v->max_entries, &opts);
	if (inner >= 0)
		close(inner);
	if (fd < 0) {
		int r = -errno;

		kerr(e, "map %s: creating it (%u entries of %u+%u bytes): %s", name, v->max_entries, v->key_size,
		     v->value_size, strerror(-r));
		return r;
	}
	return fd;
}

/* Make the new maps and the new halves of migrations: the runtime maps
 * (conntrack, counters), or the others. */
static int maps_prepare(struct sl_kernel *k, const struct sl_objset *want, const struct sl_objset *have,
			const struct sl_diff *d, bool runtime, struct sl_kerr *e)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct sl_change *c = &d->v[i];
		const struct sl_map_key *mk;
		const struct sl_map_value *mv;
		int li, fd, r;

		if (c->kind != SL_OBJ_MAP || c->op == SL_OP_REMOVE)
			continue;
		mk = obj_key(want, &want->v[c->want]);
		mv = obj_val(want, &want->v[c->want]);
		li = kernel_layout_index(mk->name);
		if (li < 0 || (sl_kind_by_map(mk->name) < 0) != runtime)
			continue;
		fd = create_map(mk->name, mv, e);
		if (fd < 0)
			return fd;
		if (c->op == SL_OP_ADD) {
			sl_kernel_writes++;
			if (bpf_obj_pin(fd, kernel_path(k, mk->name)) < 0) {
				r = -errno;
				kerr(e, "map %s: pinning at %s: %s", mk->name, kernel_path(k, mk->name), strerror(-r));
				close(fd);
				return r;
			}
			if (k->map_fd[li] >= 0)
				close(k->map_fd[li]);
			k->map_fd[li] = fd;
			r = 0; /* its entries are adds of the entries phase */
		} else {
			/* A migration: the new map gets the desired entries, or a
			 * runtime map the old one's entries; the pin moves at the end. */
			const struct sl_map_value *old = obj_val(have, &have->v[c->have]);

			k->new_fd[li] = fd;
			if (sl_kind_by_map(mk->name) >= 0) {
				r = kernel_fill_map(k, fd, mk->name, want, e);
			} else if (old->type == mv->type && old->key_size == mv->key_size &&
				   old->value_size == mv->value_size && k->map_fd[li] >= 0 &&
				   mv->type != BPF_MAP_TYPE_RINGBUF) {
				struct copy_ctx cc = { .fd = fd };

				r = kernel_map_dump(k->map_fd[li], old->key_size, old->value_size, copy_entry, &cc);
			} else {
				r = 0;
			}
		}
		if (r < 0)
			return r;
	}
	return 0;
}

static int maps_finish(struct sl_kernel *k, const struct sl_objset *want, const struct sl_objset *have,
		       const struct sl_diff *d, struct sl_kerr *e)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct sl_change *c = &d->v[i];
		const struct sl_map_key *mk;
		int li;

		if (c->kind != SL_OBJ_MAP || c->op == SL_OP_ADD)
			continue;
		mk = c->op == SL_OP_REMOVE ? obj_key(have, &have->v[c->have]) : obj_key(want, &want->v[c->want]);
		li = kernel_layout_index(mk->name);
		sl_kernel_writes++;
		if (unlinkat(k->dir_fd, mk->name, 0) < 0 && errno != ENOENT) {
			kerr(e, "map %s: unpinning %s: %s", mk->name, kernel_path(k, mk->name), strerror(errno));
			return -errno;
		}
		if (li >= 0 && k->map_fd[li] >= 0) {
			close(k->map_fd[li]);
			k->map_fd[li] = -1;
		}
		if (c->op == SL_OP_CHANGE && li >= 0 && k->new_fd[li] >= 0) {
			sl_kernel_writes++;
			if (bpf_obj_pin(k->new_fd[li], kernel_path(k, mk->name)) < 0) {
				kerr(e, "map %s: pinning the migrated map at %s: %s", mk->name,
				     kernel_path(k, mk->name), strerror(errno));
				return -errno;
			}
			k->map_fd[li] = k->new_fd[li];
			k->new_fd[li] = -1;
		}
	}
	return 0;
}

/* The runtime maps are large preallocated tables whose making is the
 * kernel clearing memory: a second thread makes them while this one
 * writes the entries. */
static bool runtime_maps_change(const struct sl_objset *want, const struct sl_diff *d)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].kind == SL_OBJ_MAP && d->v[i].op != SL_OP_REMOVE &&
		    sl_kind_by_map(((const struct sl_map_key *)obj_key(want, &want->v[d->v[i].want]))->name) < 0)
			return true;
	return false;
}

static void *maps_work(void *arg)
{
	struct kernel_maps_job *j = arg;
	double t0 = kernel_mono_ms();

	j->r = maps_prepare(j->k, j->want, j->have, j->d, true, &j->e);
	j->ms = kernel_mono_ms() - t0;
	return NULL;
}

static int maps_apply(struct sl_kernel *k, const struct sl_objset *want, const struct sl_objset *have,
		      const struct sl_diff *d, enum kernel_phase phase, struct sl_kerr *e)
{
	struct kernel_maps_job *rt = &k->maps_job;

	switch (phase) {
	case KERNEL_PHASE_CREATE:
		*rt = (struct kernel_maps_job){ k, want, have, d, { "" }, 0, 0 };
		k->maps_helped = false;
		if (runtime_maps_change(want, d))
			k->maps_helped = pthread_create(&k->maps_helper, NULL, maps_work, rt) == 0;
		if (!k->maps_helped)
			maps_work(rt);
		return maps_prepare(k, want, have, d, false, e);
	case KERNEL_PHASE_ENTRIES:
		return kernel_entries_write(k, false, want, have, d, e);
	case KERNEL_PHASE_SETTLE:
		if (k->maps_helped)
			pthread_join(k->maps_helper, NULL);
		k->maps_helped = false;
		sl_kernel_timing.runtime_ms = rt->ms;
		if (rt->r < 0) {
			kerr(e, "%s", rt->e.msg);
			return rt->r;
		}
		return 0;
	case KERNEL_PHASE_ENTRIES_REMOVE:
		return kernel_entries_write(k, true, want, have, d, e);
	case KERNEL_PHASE_FINISH:
		return maps_finish(k, want, have, d, e);
	default:
		return 0;
	}
}

const struct kernel_backend kernel_backend_maps = {
	.name = "maps",
	.observe = maps_observe,
	.apply = maps_apply,
};
