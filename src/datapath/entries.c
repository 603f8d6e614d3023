/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Map entries: read (batch lookups, on two threads), written and removed
 * (batch updates and deletes), kind by kind in the order that writes what
 * is pointed at before what points at it.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sluice/abi.h>

#include "common/util.h"
#include "internal.h"

/* Entries read by one batch lookup: about 512 KB of keys and values (a
 * whole 4,096 of 20,000 services' 772-byte values was 3.2 MB of watch's
 * peak), between 64 and 4,096 entries. */
#define DUMP_CHUNK_BYTES (512u << 10)

static uint32_t dump_chunk(uint32_t ksz, uint32_t vsz)
{
	uint32_t n = DUMP_CHUNK_BYTES / (ksz + vsz ? ksz + vsz : 1);

	return n < 64 ? 64 : n > 4096 ? 4096 : n;
}

int kernel_map_dump(int fd, uint32_t ksz, uint32_t vsz, kernel_entry_fn fn, void *ctx)
{
	uint32_t chunk = dump_chunk(ksz, vsz), count;
	uint8_t *keys = malloc((size_t)chunk * ksz), *vals = malloc((size_t)chunk * vsz);
	/* Batch tokens: a bucket number for hash maps, a key for the generic
	 * batch ops (LPM tries), so room for either. */
	uint8_t in_tok[256] = { 0 }, out_tok[256] = { 0 };
	bool first = true, done = false;
	int r = 0;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);

	if (!keys || !vals) {
		r = -ENOMEM;
		goto out;
	}
	while (!done && r >= 0) {
		count = chunk;
		r = bpf_map_lookup_batch(fd, first ? NULL : in_tok, out_tok, keys, vals, &count, &opts);
		if (r < 0) {
			r = -errno;
			if (r == -ENOSPC && !count && chunk < (1u << 20)) {
				/* one hash bucket holds more than a chunk: the
				 * same batch again with room for it */
				uint8_t *nk = realloc(keys, (size_t)chunk * 4 * ksz), *nv;

				if (nk)
					keys = nk;
				nv = nk ? realloc(vals, (size_t)chunk * 4 * vsz) : NULL;
				if (!nv) {
					r = -ENOMEM;
					break;
				}
				vals = nv;
				chunk *= 4;
				r = 0;
				continue;
			}
			if (r == -ENOENT) {
				done = true;
				r = 0;
			} else if (first && (r == -EINVAL || r == -524 /* ENOTSUPP */ || r == -EOPNOTSUPP)) {
				goto slow;
			}
		}
		for (uint32_t i = 0; r >= 0 && i < count; i++)
			r = fn(ctx, keys + (size_t)i * ksz, vals + (size_t)i * vsz);
		memcpy(in_tok, out_tok, sizeof(in_tok));
		first = false;
	}
	goto out;
slow:
	r = 0;
	{
		uint8_t *prev = NULL;

		while (r >= 0 && bpf_map_get_next_key(fd, prev, keys) == 0) {
			if (bpf_map_lookup_elem(fd, keys, vals) == 0)
				r = fn(ctx, keys, vals);
			memcpy(keys + ksz, keys, ksz);
			prev = keys + ksz;
		}
	}
out:
	free(keys);
	free(vals);
	return r;
}

struct dump_ctx {
	const struct sl_kernel *k;
	struct sl_objset *set;
	int kind;
	uint32_t ksz, vsz;
};

static int dump_entry(void *ctx, const void *key, const void *val)
{
	struct dump_ctx *d = ctx;

	if (sl_kind((unsigned)d->kind)->flags & SL_KIND_KEY_IFNAME) {
		char name[16] = { 0 };
		uint32_t ifindex;

		memcpy(&ifindex, key, sizeof(ifindex));
		if (!kernel_dev_name(d->k, ifindex, name))
			snprintf(name, sizeof(name), "#%u", ifindex); /* the device is gone */
		return objset_add_kernel(d->set, (enum sl_obj_kind)d->kind, name, sizeof(name), val, d->vsz);
	}
	return objset_add_kernel(d->set, (enum sl_obj_kind)d->kind, key, d->ksz, val, d->vsz);
}

/* The interface index behind an endpoint key: "#N" is a device gone. */
static int endpoint_ifindex(const struct sl_kernel *k, const char *name, uint32_t *ret)
{
	char buf[17];
	unsigned idx;

	memcpy(buf, name, 16);
	buf[16] = 0;
	if (buf[0] == '#' && sscanf(buf + 1, "%u", &idx) == 1) {
		*ret = idx;
		return 0;
	}
	return kernel_dev_ifindex(k, name, ret);
}

/* Write n entries (keys and values packed); LPM tries have no batch
 * update. progress: tell sl_kernel_progress (the calling thread only). */
static int map_update_range(int fd, const char *name, const uint8_t *keys, const uint8_t *vals, uint32_t n,
			    uint32_t ksz, uint32_t vsz, bool progress, struct sl_kerr *e)
{
	uint32_t done = 0;
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);

	while (done < n) {
		uint32_t count = n - done > 65536 ? 65536 : n - done;

		sl_kernel_writes++;
		if (bpf_map_update_batch(fd, keys + (size_t)done * ksz, vals + (size_t)done * vsz, &count, &opts) == 0) {
			done += count;
			if (progress)
				kernel_progress(NULL, count);
			continue;
		}
		if (errno != EINVAL && errno != 524 /* ENOTSUPP */ && errno != EOPNOTSUPP) {
			kerr(e, "map %s: writing %u entries: %s", name, n - done, strerror(errno));
			return -errno;
		}
		for (; done < n; done++) {
			sl_kernel_writes++;
			if (bpf_map_update_elem(fd, keys + (size_t)done * ksz, vals + (size_t)done * vsz, BPF_ANY) < 0) {
				kerr(e, "map %s: writing an entry: %s", name, strerror(errno));
				return -errno;
			}
			if (progress && (done + 1) % 4096 == 0)
				kernel_progress(NULL, 4096);
		}
	}
	return 0;
}

struct update_half {
	int fd;
	const char *name;
	const uint8_t *keys, *vals;
	uint32_t n, ksz, vsz;
	struct sl_kerr e;
	int r;
};

static void *update_half_work(void *arg)
{
	struct update_half *h = arg;

	h->r = map_update_range(h->fd, h->name, h->keys, h->vals, h->n, h->ksz, h->vsz, false, &h->e);
	return NULL;
}

/* From this many entries on, a hash map's are written by two threads. */
#define UPDATE_SPLIT_MIN 512

/*
 * Write n entries. parallel (a hash map: its buckets have their own locks,
 * its preallocated elements per-CPU free lists; an LPM trie: one lock, but
 * each of its entries is a system call of its own, whose copying and
 * allocation run beside the other thread's): from UPDATE_SPLIT_MIN entries
 * on, the second half is written by a second thread at the same time (the
 * kernel's work is most of an apply's). The entries of one write have no
 * order among them either way; the next map is written once both halves
 * are in.
 */
static int map_update_many(int fd, const char *name, const uint8_t *keys, const uint8_t *vals, uint32_t n,
			   uint32_t ksz, uint32_t vsz, bool parallel, struct sl_kerr *e)
{
	struct update_half h;
	pthread_t helper;
	int r;

	if (!parallel || n < UPDATE_SPLIT_MIN)
		return map_update_range(fd, name, keys, vals, n, ksz, vsz, true, e);
	h = (struct update_half){ .fd = fd, .name = name, .keys = keys + (size_t)(n / 2) * ksz,
				  .vals = vals + (size_t)(n / 2) * vsz, .n = n - n / 2, .ksz = ksz, .vsz = vsz,
				  .e = { "" } };
	if (pthread_create(&helper, NULL, update_half_work, &h) != 0)
		return map_update_range(fd, name, keys, vals, n, ksz, vsz, true, e);
	r = map_update_range(fd, name, keys, vals, n / 2, ksz, vsz, true, e);
	pthread_join(helper, NULL);
	if (r >= 0 && h.r < 0) {
		kerr(e, "%s", h.e.msg);
		r = h.r;
	}
	if (r >= 0)
		kernel_progress(NULL, h.n);
	return r;
}

static int map_delete_many(int fd, const char *name, const uint8_t *keys, uint32_t n, uint32_t ksz,
			   struct sl_kerr *e)
{
	uint32_t done = 0;
	int err;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);

	while (done < n) {
		uint32_t count = n - done > 65536 ? 65536 : n - done;

		sl_kernel_writes++;
		if (bpf_map_delete_batch(fd, keys + (size_t)done * ksz, &count, &opts) == 0) {
			done += count;
			kernel_progress(NULL, count);
			continue;
		}
		/* A batch stops at the first missing key, having removed
		 * count keys before it; a map type without batch deletes
		 * removes none (and leaves count as it was): go one by one.
		 * Any other error is the kernel refusing the removal. */
		err = errno;
		if (err == ENOENT) {
			done += count;
		} else if (err != EINVAL && err != 524 /* ENOTSUPP */ && err != EOPNOTSUPP) {
			kerr(e, "map %s: removing %u entries: %s", name, n - done, strerror(err));
			return -err;
		}
		for (; done < n; done++) {
			sl_kernel_writes++;
			if (bpf_map_delete_elem(fd, keys + (size_t)done * ksz) < 0 && errno != ENOENT) {
				kerr(e, "map %s: removing an entry: %s", name, strerror(errno));
				return -errno;
			}
		}
	}
	return 0;
}

/*
 * Reading the maps' entries is time spent in the kernel copying, one map at
 * a time: two threads (this one and a helper) take the maps in turn, each
 * into a set of its own, largest maps first.
 */

struct dump_pool {
	const struct sl_kernel *k;
	struct kernel_dump_job *jobs;
	size_t n;
	atomic_size_t next;
	atomic_int failed;
};

struct dump_worker {
	struct dump_pool *pool;
	struct sl_objset *set;
	struct sl_kerr e;
	int r;
};

static void *dump_work(void *arg)
{
	struct dump_worker *w = arg;

	while (!atomic_load(&w->pool->failed)) {
		size_t i = atomic_fetch_add(&w->pool->next, 1);
		const struct kernel_dump_job *j;
		struct dump_ctx d;

		if (i >= w->pool->n)
			break;
		j = &w->pool->jobs[i];
		d = (struct dump_ctx){ w->pool->k, w->set, j->kind, j->ksz, j->vsz };
		w->r = kernel_map_dump(j->fd, j->ksz, j->vsz, dump_entry, &d);
		if (w->r < 0) {
			kerr(&w->e, "map %s: reading its entries: %s", j->name, strerror(-w->r));
			atomic_store(&w->pool->failed, 1);
		}
	}
	return NULL;
}

static int job_cmp(const void *a, const void *b)
{
	const struct kernel_dump_job *x = a, *y = b;

	return x->max_entries < y->max_entries ? 1 : x->max_entries > y->max_entries ? -1 : 0;
}

int kernel_dump_maps(const struct sl_kernel *k, struct kernel_dump_job *jobs, size_t n, struct sl_objset *live,
		     struct sl_kerr *e)
{
	struct dump_pool pool = { .k = k, .jobs = jobs, .n = n };
	struct sl_objset other = { .filter = live->filter }; /* a verify's filter is both threads' */
	struct dump_worker main_w = { &pool, live }, help_w = { &pool, &other };
	pthread_t helper;
	bool helped;
	int r;

	qsort(jobs, n, sizeof(*jobs), job_cmp);
	helped = n > 1 && pthread_create(&helper, NULL, dump_work, &help_w) == 0;
	dump_work(&main_w);
	if (helped)
		pthread_join(helper, NULL);
	r = main_w.r < 0 ? main_w.r : help_w.r;
	if (r < 0) {
		kerr(e, "%s", main_w.r < 0 ? main_w.e.msg : help_w.e.msg);
	} else {
		/* the smaller set is copied into the larger one (a large map's
		 * values are not copied a second time) */
		if (other.blen > live->blen) {
			struct sl_objset t = *live;

			*live = other;
			other = t;
		}
		r = objset_append(live, &other);
	}
	objset_free(&other);
	return r;
}

struct batch {
	uint8_t *keys, *vals;
	uint32_t n;
	size_t kcap, vcap;
};

/* An entry: its key, and (vsz) the kernel's bytes of the object's value
 * (the set holds the kind's form of it: kinds/kind.h). */
static int batch_add(struct batch *b, const void *key, uint32_t ksz, int kind, const struct sl_objset *s,
		     const struct sl_obj *o, uint32_t vsz)
{
	if (grow_array((void **)&b->keys, &b->kcap, (size_t)(b->n + 1) * ksz, 1) < 0 ||
	    (vsz && grow_array((void **)&b->vals, &b->vcap, (size_t)(b->n + 1) * vsz, 1) < 0))
		return -ENOMEM;
	memcpy(b->keys + (size_t)b->n * ksz, key, ksz);
	if (vsz) {
		uint8_t *at = b->vals + (size_t)b->n * vsz;
		const void *v = sl_kind_value((unsigned)kind, obj_val(s, o), o->vlen, at);

		if (!v)
			return -EINVAL;
		if (v != at)
			memcpy(at, v, vsz);
	}
	b->n++;
	return 0;
}

/* Room for n entries at once (a batch of a large map grown by doubling
 * was copied again at each step). */
static int batch_reserve(struct batch *b, size_t n, uint32_t ksz, uint32_t vsz)
{
	if (!n)
		return 0;
	if (grow_array((void **)&b->keys, &b->kcap, n * ksz, 1) < 0 ||
	    (vsz && grow_array((void **)&b->vals, &b->vcap, n * vsz, 1) < 0))
		return -ENOMEM;
	return 0;
}

/* Entries go to the kernel a chunk at a time, about 1 MiB of keys and
 * values: that buffer is made once and used again, where one for every
 * entry of a large kind (16 MB for 20,000 services) was fresh memory that
 * the kernel faulted in page by page, as long as the write itself. */
static uint32_t batch_chunk(uint32_t ksz, uint32_t vsz)
{
	size_t n = ((size_t)1 << 20) / (ksz + vsz ? ksz + vsz : 1);

	return n < 256 ? 256 : n > 65536 ? 65536 : (uint32_t)n;
}

/* Whether sluice's map of that name is written by two threads
 * (map_update_many). */
static bool map_is_hash(const char *name)
{
	const struct sl_map_layout *l = kernel_layout(name);

	return l && (l->v.type == BPF_MAP_TYPE_HASH || l->v.type == BPF_MAP_TYPE_LRU_HASH || l->v.type == BPF_MAP_TYPE_LPM_TRIE);
}

static int batch_flush(int fd, const char *name, bool remove, struct batch *b, uint32_t ksz, uint32_t vsz,
		       struct sl_kerr *e)
{
	int r = 0;

	if (!b->n)
		return 0;
	if (fd < 0) {
		kerr(e, "map %s is missing", name);
		r = -ENOENT;
	} else if (remove) {
		r = map_delete_many(fd, name, b->keys, b->n, ksz, e);
	} else {
		r = map_update_many(fd, name, b->keys, b->vals, b->n, ksz, vsz, map_is_hash(name), e);
	}
	b->n = 0;
	return r;
}

static void batch_free(struct batch *b)
{
	free(b->keys);
	free(b->vals);
	memset(b, 0, sizeof(*b));
}

/* The map key of an object: an interface name goes to its ifindex. */
static int entry_key(const struct sl_kernel *k, int kind, const uint8_t *okey, uint8_t *buf, uint32_t *ksz,
		     struct sl_kerr *e)
{
	if (sl_kind((unsigned)kind)->flags & SL_KIND_KEY_IFNAME) {
		uint32_t idx;

		if (endpoint_ifindex(k, (const char *)okey, &idx) < 0) {
			kerr(e, "%s %.16s does not exist", sl_kind((unsigned)kind)->device_role, (const char *)okey);
			return -ENODEV;
		}
		memcpy(buf, &idx, sizeof(idx));
		*ksz = sizeof(idx);
		return 0;
	}
	return 1; /* use the object key as is */
}

/* Whether a desired object of this kind (keyed by interface) has the map
 * key kkey: a removed "#N" (a device observed under no name, say an ipvlan
 * slave whose record was lost) whose index is an added one's is not
 * deleted, or it would take the new entry with it. */
static bool wanted_key(const struct sl_kernel *k, int kind, const struct sl_objset *want, const uint8_t *kkey)
{
	for (size_t i = 0; i < want->n; i++) {
		const struct sl_obj *o = &want->v[i];
		uint32_t idx;

		if (o->kind == kind && endpoint_ifindex(k, (const char *)obj_key(want, o), &idx) == 0 &&
		    !memcmp(&idx, kkey, sizeof(idx)))
			return true;
	}
	return false;
}

/* Write the adds and changes (remove: the removes) of one kind. migrated:
 * the map was made anew and already holds everything. */
static int write_kind(struct sl_kernel *k, int kind, bool remove, const struct sl_objset *want,
		      const struct sl_objset *have, const struct sl_diff *d, struct sl_kerr *e)
{
	const char *name = sl_kind(kind)->map;
	int li = name ? kernel_layout_index(name) : -1;
	struct batch b = {};
	uint32_t ksz = 0, vsz = 0, chunk;
	int fd, r = 0;

	if (li < 0)
		return 0;
	/* A migrated map was filled whole when made; the old one goes whole. */
	if (k->new_fd[li] >= 0)
		return 0;
	fd = k->map_fd[li];
	{
		/* room for a chunk of this kind's entries: the objects' sizes
		 * bound the entries' (a device's name becomes its index) */
		size_t n = 0;
		uint32_t kmax = 0, vmax = 0;

		for (size_t i = 0; i < d->n; i++) {
			const struct sl_change *c = &d->v[i];
			const struct sl_objset *s = remove ? have : want;
			const struct sl_obj *o;

			if (c->kind != kind || (remove != (c->op == SL_OP_REMOVE)))
				continue;
			o = &s->v[remove ? c->have : c->want];
			kmax = o->klen > kmax ? o->klen : kmax;
			vmax = remove ? 0 : sl_kind((unsigned)kind)->vlen;
			n++;
		}
		chunk = batch_chunk(kmax, vmax);
		r = batch_reserve(&b, n < chunk ? n : chunk, kmax, vmax);
	}
	for (size_t i = 0; r >= 0 && i < d->n; i++) {
		const struct sl_change *c = &d->v[i];
		const struct sl_objset *s = remove ? have : want;
		const struct sl_obj *o;
		uint8_t kbuf[64];
		const uint8_t *key;
		int t;

		if (c->kind != kind || (remove != (c->op == SL_OP_REMOVE)))
			continue;
		o = &s->v[remove ? c->have : c->want];
		key = obj_key(s, o);
		ksz = o->klen;
		vsz = remove ? 0 : sl_kind((unsigned)kind)->vlen;
		t = entry_key(k, kind, key, kbuf, &ksz, e);
		if (t < 0) {
			r = t;
			break;
		}
		if (remove && t == 0 && key[0] == '#' && wanted_key(k, kind, want, kbuf))
			continue;
		r = batch_add(&b, t == 0 ? kbuf : key, ksz, kind, s, o, vsz);
		if (r == -EINVAL)
			kerr(e, "map %s: an entry's value is not one of its kind", name);
		else if (r >= 0 && b.n >= chunk)
			r = batch_flush(fd, name, remove, &b, ksz, vsz, e);
	}
	if (r >= 0)
		r = batch_flush(fd, name, remove, &b, ksz, vsz, e);
	batch_free(&b);
	return r;
}

/* Fill a new map with every desired entry of its kind. */
int kernel_fill_map(const struct sl_kernel *k, int fd, const char *name, const struct sl_objset *want,
		    struct sl_kerr *e)
{
	int kind = sl_kind_by_map(name);
	struct batch b = {};
	uint32_t ksz = 0, vsz = 0, chunk = kind >= 0 ? batch_chunk(64, sl_kind((unsigned)kind)->vlen) : 0;
	int r = 0;

	for (size_t i = 0; kind >= 0 && r >= 0 && i < want->n; i++) {
		const struct sl_obj *o = &want->v[i];
		uint8_t kbuf[64];
		int t;

		if (o->kind != kind)
			continue;
		ksz = o->klen;
		vsz = sl_kind((unsigned)kind)->vlen;
		t = entry_key(k, kind, obj_key(want, o), kbuf, &ksz, e);
		if (t < 0)
			r = t;
		else if ((r = batch_add(&b, t == 0 ? kbuf : obj_key(want, o), ksz, kind, want, o, vsz)) == -EINVAL)
			kerr(e, "map %s: an entry's value is not one of its kind", name);
		else if (r >= 0 && b.n >= chunk)
			r = batch_flush(fd, name, false, &b, ksz, vsz, e);
	}
	if (r >= 0)
		r = batch_flush(fd, name, false, &b, ksz, vsz, e);
	batch_free(&b);
	return r;
}

/*
 * Whether the adds of a kind would not fit beside the entries they replace:
 * the live entries plus the new keys exceed the map's capacity. Make before
 * break needs old and new side by side; where the map cannot hold both, the
 * kind's removals go first (the final state fits: compile's capacity check
 * has made sure), so that a rerun converges instead of failing with ENOSPC
 * every time. The removed entries are ones the state no longer has.
 */
static bool kind_removes_first(struct sl_kernel *k, int kind, const struct sl_objset *have,
			       const struct sl_diff *d)
{
	const char *name = sl_kind(kind)->map;
	int li = name ? kernel_layout_index(name) : -1;
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);
	size_t adds = 0, removes = 0;

	if (li < 0 || k->new_fd[li] >= 0 || k->map_fd[li] < 0)
		return false;
	for (size_t i = 0; i < d->n; i++) {
		if (d->v[i].kind != kind)
			continue;
		adds += d->v[i].op == SL_OP_ADD;
		removes += d->v[i].op == SL_OP_REMOVE;
	}
	if (!adds || !removes || bpf_obj_get_info_by_fd(k->map_fd[li], &info, &len) < 0)
		return false;
	if (objset_count(have, kind) + adds <= info.max_entries)
		return false;
	if (kernel_verbosity() > 0)
		fprintf(stderr,
			"sluice: map %s: %zu live entries and %zu new ones exceed its capacity %u; its %zu removals "
			"go first\n",
			name, objset_count(have, kind), adds, info.max_entries, removes);
	return true;
}

int kernel_entries_write(struct sl_kernel *k, bool remove, const struct sl_objset *want,
			 const struct sl_objset *have, const struct sl_diff *d, struct sl_kerr *e)
{
	/* By the kinds' apply rank: what is pointed at before what points at
	 * it (identities before the policy that names them, backends before
	 * the services that use them); removals the other way. */
	uint8_t add_order[SL_OBJ__MAX];
	size_t n = sl_kind_order(SL_VIA_ENTRIES, add_order);
	int r = 0;

	_Static_assert(SL_OBJ__MAX <= sizeof(k->removed_first), "removed_first too small");
	if (remove) {
		for (size_t i = n; r >= 0 && i-- > 0;)
			if (!k->removed_first[i])
				r = write_kind(k, add_order[i], true, want, have, d, e);
		return r;
	}
	memset(k->removed_first, 0, sizeof(k->removed_first));
	for (size_t i = 0; r >= 0 && i < n; i++) {
		if (kind_removes_first(k, add_order[i], have, d)) {
			k->removed_first[i] = true;
			r = write_kind(k, add_order[i], true, want, have, d, e);
		}
		if (r >= 0)
			r = write_kind(k, add_order[i], false, want, have, d, e);
	}
	return r;
}

/* ---- one by one: watch's incremental applies (cli.md, watch) ---- */

bool sl_kernel_entry_kind_exact(int kind)
{
	const struct sl_kind *kd = kind >= 0 ? sl_kind((unsigned)kind) : NULL;
	const char *name = kd && kd->backend == SL_VIA_ENTRIES ? kd->map : NULL;
	const struct sl_map_layout *l = name ? kernel_layout(name) : NULL;

	/* a hash map (keyed as the objects are, or by the index of the
	 * device an object names), or an LPM trie (lpm_has tells its exact
	 * keys) */
	return l && (l->v.type == BPF_MAP_TYPE_HASH || l->v.type == BPF_MAP_TYPE_LRU_HASH ||
		     l->v.type == BPF_MAP_TYPE_LPM_TRIE);
}

/*
 * Whether an LPM trie holds exactly key (its lookup answers for the
 * longest prefix that covers the key, so cannot tell). The trie's next
 * key after a key it holds comes after it in the trie's order, or there is
 * none (-ENOENT); after a key it does not hold, the kernel gives the first
 * key of all (trie_get_next_key). So: held when there is no next key while
 * the trie is not empty, or the next key is not the first. Returns 1, 0,
 * or -errno.
 */
static int lpm_has(int fd, const void *key, uint32_t ksz)
{
	uint8_t first[64], next[64];

	if (ksz > sizeof(first))
		return -EINVAL;
	if (bpf_map_get_next_key(fd, NULL, first) < 0)
		return errno == ENOENT ? 0 : -errno; /* empty: holds nothing */
	if (bpf_map_get_next_key(fd, key, next) < 0)
		return errno == ENOENT ? 1 : -errno; /* the last key */
	return memcmp(next, first, ksz) != 0;
}

/* Before the entries keyed by devices are looked up or written: where the
 * endpoints' devices are (ipvlan slaves in their namespaces). */
static int entries_prepare(struct sl_kernel *k, const struct sl_objset *want, struct sl_kerr *e)
{
	int r = 0;

	if (!k->maps_open)
		r = kernel_open_maps(k, e);
	if (r >= 0 && (r = kernel_nsdevs_load(k, kernel_map_fd(k, SL_MAPNAME_EP_NETNS), want)) < 0)
		kerr(e, "reading the endpoints' namespaces: %s", strerror(-r));
	return r;
}

int sl_kernel_entries_check(struct sl_kernel *k, const struct sl_objset *want, const struct sl_objset *have,
			    const struct sl_diff *d, bool after, char *what, size_t len, struct sl_kerr *e)
{
	const struct sl_map_layout *layouts;
	size_t n_layouts, vmax = 0;
	uint8_t *val = NULL;
	int differ = 0, r;

	for (size_t i = 0; i < d->n; i++)
		if (!sl_kernel_entry_kind_exact(d->v[i].kind))
			return -EINVAL; /* the caller asks for exact kinds only */
	r = sl_kernel_layouts(&layouts, &n_layouts);
	for (size_t i = 0; r >= 0 && i < n_layouts; i++)
		vmax = layouts[i].v.value_size > vmax ? layouts[i].v.value_size : vmax;
	if (r >= 0 && !(val = malloc(vmax ? vmax : 1)))
		r = -ENOMEM;
	if (r >= 0)
		r = entries_prepare(k, want, e);
	for (size_t i = 0; r >= 0 && i < d->n; i++) {
		const struct sl_change *c = &d->v[i];
		const char *name = sl_kind(c->kind)->map;
		const struct sl_map_layout *l = kernel_layout(name);
		int li = kernel_layout_index(name);
		/* what the entry must be now: have's side before the write,
		 * want's after */
		bool present = after ? c->op != SL_OP_REMOVE : c->op != SL_OP_ADD;
		bool from_have = c->op == SL_OP_REMOVE || (!after && c->op == SL_OP_CHANGE);
		const struct sl_objset *s = from_have ? have : want;
		const struct sl_obj *o = &s->v[from_have ? c->have : c->want];
		const uint8_t *key = obj_key(s, o);
		uint8_t kbuf[64];
		uint32_t ksz = o->klen;
		const char *why = NULL;
		int t = entry_key(k, c->kind, key, kbuf, &ksz, e);

		if (t < 0) {
			r = t;
			break;
		}
		if (k->map_fd[li] < 0) {
			why = "its map is missing";
		} else if (l->v.type == BPF_MAP_TYPE_LPM_TRIE && (t = lpm_has(k->map_fd[li], key, ksz)) <= 0) {
			if (t < 0) {
				r = t;
				kerr(e, "map %s: reading an entry: %s", name, strerror(-r));
				break;
			}
			if (present)
				why = "missing";
		} else if (bpf_map_lookup_elem(k->map_fd[li], t == 0 ? kbuf : key, val) < 0) {
			if (errno != ENOENT) {
				r = -errno;
				kerr(e, "map %s: reading an entry: %s", name, strerror(-r));
				break;
			}
			if (present)
				why = "missing";
		} else if (!present) {
			why = "present";
		} else {
			uint8_t buf[SL_KIND_VLEN_MAX];
			const void *v = sl_kind_value(c->kind, obj_val(s, o), o->vlen, buf);

			if (!v || sl_kind(c->kind)->vlen != l->v.value_size || memcmp(val, v, l->v.value_size) != 0)
				why = "of another value";
		}
		if (why && !differ++ && what)
			snprintf(what, len, "an entry of %s %s", name, why);
	}
	if (val)
		explicit_bzero(val, vmax);
	free(val);
	return r < 0 ? r : differ;
}

int sl_kernel_entries_apply(struct sl_kernel *k, const struct sl_objset *want, const struct sl_objset *have,
			    const struct sl_diff *d, struct sl_kerr *e)
{
	int r;

	for (size_t i = 0; i < d->n; i++)
		if (!sl_kernel_entry_kind_exact(d->v[i].kind))
			return -EINVAL;
	r = entries_prepare(k, want, e);
	kernel_progress("entries", 0);
	if (r >= 0)
		r = kernel_entries_write(k, false, want, have, d, e);
	if (r >= 0)
		r = kernel_entries_write(k, true, want, have, d, e);
	return r;
}
