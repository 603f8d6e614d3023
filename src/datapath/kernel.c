/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kernel backend: the pin directory, its lock, and what it holds.
 * Maps are read and written here (map entries are this file's concern);
 * attachments are in attach.c, programs in programs.c.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <net/if.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <sluice/abi.h>

#include "attach.h"
#include "encrypt.h"
#include "route.h"
#include "common/util.h"
#include "internal.h"

struct sl_kernel_timing sl_kernel_timing;

static double mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

const char *kernel_path(struct sl_kernel *k, const char *name)
{
	static __thread char path[4096];

	snprintf(path, sizeof(path), "%s/%s", k->pin_dir, name);
	return path;
}

void kernel_prog_pin_name(int prog, uint64_t digest, char *buf, size_t len)
{
	snprintf(buf, len, "prog_%s_%016" PRIx64, kernel_prog_name[prog], digest);
}

static int layout_index(const char *name)
{
	const struct sl_map_layout *l;
	size_t n;

	if (sl_kernel_layouts(&l, &n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (streq(l[i].name, name))
			return (int)i;
	return -1;
}

int kernel_map_fd(struct sl_kernel *k, const char *name)
{
	int i = layout_index(name);

	if (i < 0)
		return -1;
	return k->new_fd[i] >= 0 ? k->new_fd[i] : k->map_fd[i];
}

/* ---- open, lock ---- */

static int mkdir_p(const char *path)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static void close_maps(struct sl_kernel *k)
{
	for (int i = 0; i < KERNEL_MAX_MAPS; i++) {
		if (k->map_fd[i] >= 0)
			close(k->map_fd[i]);
		if (k->new_fd[i] >= 0)
			close(k->new_fd[i]);
		k->map_fd[i] = k->new_fd[i] = -1;
		k->map_id[i] = 0;
	}
	k->maps_open = false;
}

/* Open the pinned maps (again: whatever was opened before is closed). */
static int open_maps(struct sl_kernel *k, struct sl_kerr *e)
{
	const struct sl_map_layout *l;
	size_t n;
	int r = sl_kernel_layouts(&l, &n);

	close_maps(k);
	k->maps_open = true;

	if (r < 0) {
		kerr(e, "opening the embedded programs: %s", strerror(-r));
		return r;
	}
	for (size_t i = 0; i < n && k->dir_fd >= 0; i++) {
		struct bpf_map_info info = {};
		uint32_t len = sizeof(info);
		int fd;

		if (faccessat(k->dir_fd, l[i].name, F_OK, 0) < 0)
			continue;
		fd = bpf_obj_get(kernel_path(k, l[i].name));
		if (fd < 0) {
			r = -errno;
			kerr(e, "map %s: %s", kernel_path(k, l[i].name), strerror(-r));
			return r;
		}
		if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0) {
			r = -errno;
			close(fd);
			kerr(e, "map %s: not a map sluice can read: %s", kernel_path(k, l[i].name), strerror(-r));
			return r;
		}
		k->map_fd[i] = fd;
		k->map_id[i] = info.id;
	}
	return 0;
}

/* Where a bpffs would hold pin_dir: its parent directory, for the hint
 * "mount -t bpf bpf DIR" (the pin directory actually used, not the
 * default). */
static const char *bpffs_mount_point(const char *pin_dir, char *buf, size_t len)
{
	char *slash;

	snprintf(buf, len, "%s", pin_dir);
	slash = strrchr(buf, '/');
	while (slash && slash > buf && slash[1] == '\0') { /* trailing slashes */
		*slash = '\0';
		slash = strrchr(buf, '/');
	}
	if (!slash)
		snprintf(buf, len, ".");
	else if (slash == buf)
		buf[1] = '\0';
	else
		*slash = '\0';
	return buf;
}

int sl_kernel_open(const char *pin_dir, bool create, struct sl_kernel **ret, struct sl_kerr *e)
{
	char mnt[4096];

	struct sl_kernel *k = calloc(1, sizeof(*k));
	struct statfs sfs;
	int r;

	*ret = NULL;
	if (!k || !(k->pin_dir = strdup(pin_dir))) {
		free(k);
		return -ENOMEM;
	}
	k->dir_fd = -1;
	k->create = create;
	for (int i = 0; i < KERNEL_MAX_MAPS; i++)
		k->map_fd[i] = k->new_fd[i] = -1;
	if (create && !kernel_parent_on_bpffs(pin_dir)) {
		kerr(e, "pin directory %s is not on a bpffs; nothing was made (mount one: mount -t bpf bpf %s)",
		     pin_dir, bpffs_mount_point(pin_dir, mnt, sizeof(mnt)));
		sl_kernel_close(k);
		return -ENOTDIR;
	}
	if (create && (r = mkdir_p(pin_dir)) < 0) {
		kerr(e, "pin directory %s: cannot create it: %s%s%s%s", pin_dir, strerror(-r),
		     r == -ENOENT || r == -EPERM ? " (is a bpffs mounted? mount -t bpf bpf " : "",
		     r == -ENOENT || r == -EPERM ? bpffs_mount_point(pin_dir, mnt, sizeof(mnt)) : "",
		     r == -ENOENT || r == -EPERM ? ")" : "");
		sl_kernel_close(k);
		return r;
	}
	k->dir_fd = open(pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (k->dir_fd < 0 && (errno != ENOENT || create)) {
		r = -errno;
		kerr(e, "pin directory %s: %s", pin_dir, strerror(-r));
		sl_kernel_close(k);
		return r;
	}
	if (k->dir_fd >= 0 && (fstatfs(k->dir_fd, &sfs) < 0 || sfs.f_type != BPF_FS_MAGIC)) {
		kerr(e, "pin directory %s is not on a bpffs (mount one: mount -t bpf bpf %s)", pin_dir,
		     bpffs_mount_point(pin_dir, mnt, sizeof(mnt)));
		sl_kernel_close(k);
		return -ENOTDIR;
	}
	/* The map pins are opened by sl_kernel_lock, once the lock is held,
	 * or by the first observe of a reader that takes no lock: an apply
	 * that waited behind another must see the maps that one left. */
	*ret = k;
	return 0;
}

bool sl_kernel_exists(const struct sl_kernel *k)
{
	return k && k->dir_fd >= 0;
}

/* The deepest existing directory on the way to path must be on a bpffs:
 * nothing is made elsewhere. */
bool kernel_parent_on_bpffs(const char *path)
{
	char buf[4096];
	struct statfs sfs;

	snprintf(buf, sizeof(buf), "%s", path);
	for (;;) {
		char *slash;

		if (statfs(buf, &sfs) == 0)
			return sfs.f_type == BPF_FS_MAGIC;
		slash = strrchr(buf, '/');
		if (!slash || slash == buf)
			return false;
		*slash = 0;
	}
}

void sl_kernel_close(struct sl_kernel *k)
{
	if (!k)
		return;
	close_maps(k);
	if (k->dir_fd >= 0)
		close(k->dir_fd);
	free(k->foreign);
	free(k->attached);
	free(k->progs);
	free(k->pin_dir);
	free(k);
}

/* Whether dir_fd is still the directory at pin_dir: a flush that held the
 * lock before us removes it. */
static bool dir_still_pinned(struct sl_kernel *k)
{
	struct stat a, b;

	return fstat(k->dir_fd, &a) == 0 && stat(k->pin_dir, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

static int reopen_dir(struct sl_kernel *k, struct sl_kerr *e)
{
	int r;

	close(k->dir_fd);
	k->dir_fd = -1;
	if (k->create && (r = mkdir_p(k->pin_dir)) < 0) {
		kerr(e, "pin directory %s: cannot create it: %s", k->pin_dir, strerror(-r));
		return r;
	}
	k->dir_fd = open(k->pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (k->dir_fd < 0) {
		r = -errno;
		if (r == -ENOENT)
			kerr(e, "pin directory %s does not exist", k->pin_dir);
		else
			kerr(e, "pin directory %s: %s", k->pin_dir, strerror(-r));
		return r;
	}
	return 0;
}

/*
 * Take the lock, then open the map pins: nothing that sluice plans or
 * writes is read before the lock is held. The wait is measured in
 * milliseconds, so --wait N waits N seconds.
 */
int sl_kernel_lock(struct sl_kernel *k, int wait_s, struct sl_kerr *e)
{
	double start = mono_ms();
	int r;

	if (k->dir_fd < 0) {
		kerr(e, "pin directory %s does not exist", k->pin_dir);
		return -ENOENT;
	}
	for (;;) {
		if (flock(k->dir_fd, LOCK_EX | LOCK_NB) == 0) {
			if (dir_still_pinned(k)) {
				k->locked = true;
				return open_maps(k, e);
			}
			/* removed (a flush) or replaced while we waited:
			 * lock the directory that is there now */
			flock(k->dir_fd, LOCK_UN);
			r = reopen_dir(k, e);
			if (r < 0)
				return r;
			continue;
		}
		if (errno != EWOULDBLOCK) {
			r = -errno;
			kerr(e, "locking %s: %s", k->pin_dir, strerror(-r));
			return r;
		}
		if (mono_ms() - start >= (double)wait_s * 1000.0) {
			kerr(e, "another sluice holds the lock on %s; waited %d s (--wait SECONDS to wait longer)",
			     k->pin_dir, wait_s);
			return -EWOULDBLOCK;
		}
		usleep(20 * 1000);
	}
}

int sl_kernel_remove_dir(struct sl_kernel *k)
{
	if (k->dir_fd < 0)
		return 0;
	if (rmdir(k->pin_dir) == 0) {
		sl_kernel_writes++;
		return 0;
	}
	return -errno;
}

/* ---- map entries ---- */

/* Which object kind a map's entries are, for the maps whose entries are desired state. */
static int map_kind(const char *name)
{
	if (streq(name, SL_MAPNAME_ENDPOINTS))
		return SL_OBJ_ENDPOINT;
	if (streq(name, SL_MAPNAME_IPCACHE))
		return SL_OBJ_IPCACHE;
	if (streq(name, SL_MAPNAME_POLICY))
		return SL_OBJ_POLICY;
	if (streq(name, SL_MAPNAME_PREFILTER_V4))
		return SL_OBJ_PREFILTER4;
	if (streq(name, SL_MAPNAME_PREFILTER_V6))
		return SL_OBJ_PREFILTER6;
	if (streq(name, SL_MAPNAME_SERVICES))
		return SL_OBJ_SERVICE;
	if (streq(name, SL_MAPNAME_BACKENDS))
		return SL_OBJ_BACKEND;
	return -1;
}

static const char *kind_map(int kind)
{
	switch (kind) {
	case SL_OBJ_ENDPOINT:
		return SL_MAPNAME_ENDPOINTS;
	case SL_OBJ_IPCACHE:
		return SL_MAPNAME_IPCACHE;
	case SL_OBJ_POLICY:
		return SL_MAPNAME_POLICY;
	case SL_OBJ_PREFILTER4:
		return SL_MAPNAME_PREFILTER_V4;
	case SL_OBJ_PREFILTER6:
		return SL_MAPNAME_PREFILTER_V6;
	case SL_OBJ_SERVICE:
		return SL_MAPNAME_SERVICES;
	case SL_OBJ_BACKEND:
		return SL_MAPNAME_BACKENDS;
	default:
		return NULL;
	}
}

typedef int (*entry_fn)(void *ctx, const void *key, const void *val);

/* Every entry of a map: batch lookups, or key by key where the map type
 * has no batch operations. */
static int map_dump(int fd, uint32_t ksz, uint32_t vsz, entry_fn fn, void *ctx)
{
	uint32_t chunk = 4096, count;
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
	struct sl_objset *set;
	int kind;
	uint32_t ksz, vsz;
};

static int dump_entry(void *ctx, const void *key, const void *val)
{
	struct dump_ctx *d = ctx;

	if (d->kind == SL_OBJ_ENDPOINT) {
		char name[16] = { 0 };
		uint32_t ifindex;

		memcpy(&ifindex, key, sizeof(ifindex));
		if (!if_indextoname(ifindex, name))
			snprintf(name, sizeof(name), "#%u", ifindex); /* the device is gone */
		return objset_add(d->set, SL_OBJ_ENDPOINT, name, sizeof(name), val, d->vsz);
	}
	return objset_add(d->set, (enum sl_obj_kind)d->kind, key, d->ksz, val, d->vsz);
}

/* The interface index behind an endpoint key. */
static int endpoint_ifindex(const char *name, uint32_t *ret)
{
	char buf[17];
	unsigned idx;

	memcpy(buf, name, 16);
	buf[16] = 0;
	if (buf[0] == '#' && sscanf(buf + 1, "%u", &idx) == 1) {
		*ret = idx;
		return 0;
	}
	idx = if_nametoindex(buf);
	if (!idx)
		return -ENODEV;
	*ret = idx;
	return 0;
}

/* Write n entries (keys and values packed); LPM tries have no batch update. */
static int map_update_many(int fd, const char *name, const uint8_t *keys, const uint8_t *vals, uint32_t n,
			   uint32_t ksz, uint32_t vsz, struct sl_kerr *e)
{
	uint32_t done = 0;
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);

	while (done < n) {
		uint32_t count = n - done > 65536 ? 65536 : n - done;

		sl_kernel_writes++;
		if (bpf_map_update_batch(fd, keys + (size_t)done * ksz, vals + (size_t)done * vsz, &count, &opts) == 0) {
			done += count;
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
		}
	}
	return 0;
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

/* ---- observe ---- */

static int observe_progs(struct sl_kernel *k, struct sl_objset *live, struct sl_kerr *e)
{
	DIR *d;
	struct dirent *de;
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
		struct bpf_prog_info info = {};
		uint32_t len = sizeof(info), ids[64];
		struct kernel_pinned_prog pp = { 0 };
		char kind[32];
		uint64_t digest;
		int fd, p;

		if (strncmp(de->d_name, "prog_", 5) != 0)
			continue;
		{
			/* prog_<kind>_<16 hex digits>; the kind has underscores itself */
			const char *us = strrchr(de->d_name, '_');
			size_t kl = us ? (size_t)(us - de->d_name) - 5 : 0;
			char *end;

			if (!us || kl == 0 || kl >= sizeof(kind) || strlen(us + 1) != 16)
				continue;
			memcpy(kind, de->d_name + 5, kl);
			kind[kl] = 0;
			digest = strtoull(us + 1, &end, 16);
			if (*end)
				continue;
		}
		for (p = 0; p < SL_PROG__MAX && !streq(kernel_prog_name[p], kind); p++)
			;
		if (p == SL_PROG__MAX)
			continue;
		fd = bpf_obj_get(kernel_path(k, de->d_name));
		if (fd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0) {
			close(fd);
			continue;
		}
		pp = (struct kernel_pinned_prog){ .prog = (uint8_t)p, .digest = digest, .id = info.id, .current = true };
		{
			uint32_t n = info.nr_map_ids < 64 ? info.nr_map_ids : 64;

			memset(&info, 0, sizeof(info));
			info.nr_map_ids = n;
			info.map_ids = (uint64_t)(uintptr_t)ids;
			len = sizeof(info);
			if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
				pp.current = false;
			for (uint32_t i = 0; pp.current && i < n; i++) {
				struct bpf_map_info mi = {};
				uint32_t mlen = sizeof(mi);
				int mfd = bpf_map_get_fd_by_id(ids[i]);
				bool ok = false;

				if (mfd < 0 || bpf_obj_get_info_by_fd(mfd, &mi, &mlen) < 0) {
					pp.current = false;
				} else if (strchr(mi.name, '.')) {
					ok = true; /* the program's own .rodata */
				} else {
					for (int j = 0; j < KERNEL_MAX_MAPS && !ok; j++)
						ok = k->map_fd[j] >= 0 && k->map_id[j] == ids[i];
				}
				if (mfd >= 0)
					close(mfd);
				pp.current = pp.current && ok;
			}
		}
		close(fd);
		if (grow_array((void **)&k->progs, &k->cap_progs, k->n_progs + 1, sizeof(*k->progs)) <
		    0) {
			r = -ENOMEM;
			break;
		}
		k->progs[k->n_progs++] = pp;
		{
			struct sl_prog_key key = { .prog = (uint8_t)p, .digest = digest };
			struct sl_prog_value val = { .current = pp.current };

			r = objset_add(live, SL_OBJ_PROG, &key, sizeof(key), &val, sizeof(val));
		}
	}
	closedir(d);
	return r;
}

/*
 * Reading the maps' entries is time spent in the kernel copying, one map at
 * a time: two threads (this one and a helper) take the maps in turn, each
 * into a set of its own, largest maps first.
 */
struct dump_job {
	int fd, kind;
	uint32_t ksz, vsz, max_entries;
	const char *name;
};

struct dump_pool {
	struct dump_job *jobs;
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
		const struct dump_job *j;
		struct dump_ctx d;

		if (i >= w->pool->n)
			break;
		j = &w->pool->jobs[i];
		d = (struct dump_ctx){ w->set, j->kind, j->ksz, j->vsz };
		w->r = map_dump(j->fd, j->ksz, j->vsz, dump_entry, &d);
		if (w->r < 0) {
			kerr(&w->e, "map %s: reading its entries: %s", j->name, strerror(-w->r));
			atomic_store(&w->pool->failed, 1);
		}
	}
	return NULL;
}

static int job_cmp(const void *a, const void *b)
{
	const struct dump_job *x = a, *y = b;

	return x->max_entries < y->max_entries ? 1 : x->max_entries > y->max_entries ? -1 : 0;
}

static int dump_maps(struct dump_job *jobs, size_t n, struct sl_objset *live, struct sl_kerr *e)
{
	struct dump_pool pool = { .jobs = jobs, .n = n };
	struct sl_objset other = {};
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
	if (r < 0)
		kerr(e, "%s", main_w.r < 0 ? main_w.e.msg : help_w.e.msg);
	else
		r = objset_append(live, &other);
	objset_free(&other);
	return r;
}

int sl_kernel_observe(struct sl_kernel *k, struct sl_objset *live, struct sl_kerr *e)
{
	const struct sl_map_layout *l;
	struct dump_job jobs[KERNEL_MAX_MAPS];
	size_t n, n_jobs = 0;
	int r = sl_kernel_layouts(&l, &n);

	memset(live, 0, sizeof(*live));
	free(k->progs);
	k->progs = NULL;
	k->n_progs = k->cap_progs = 0;
	if (r >= 0 && !k->maps_open)
		r = open_maps(k, e);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		struct bpf_map_info info = {};
		uint32_t len = sizeof(info);
		struct sl_map_key mk = { { 0 } };
		struct sl_map_value mv;
		int kind = map_kind(l[i].name);

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
			jobs[n_jobs++] = (struct dump_job){ k->map_fd[i], kind, info.key_size, info.value_size,
							    info.max_entries, l[i].name };
	}
	if (r >= 0)
		r = dump_maps(jobs, n_jobs, live, e);
	if (r >= 0)
		r = observe_progs(k, live, e);
	if (r >= 0)
		r = attach_observe(k, live, e);
	if (r >= 0)
		r = kernel_encrypt_observe(k, live, e);
	if (r < 0) {
		objset_free(live);
		return r;
	}
	objset_shrink(live);
	objset_sort(live);
	return 0;
}

/* ---- apply ---- */

struct batch {
	uint8_t *keys, *vals;
	uint32_t n;
	size_t kcap, vcap;
};

static int batch_add(struct batch *b, const void *key, uint32_t ksz, const void *val, uint32_t vsz)
{
	if (grow_array((void **)&b->keys, &b->kcap, (size_t)(b->n + 1) * ksz, 1) < 0 ||
	    (vsz && grow_array((void **)&b->vals, &b->vcap, (size_t)(b->n + 1) * vsz, 1) < 0))
		return -ENOMEM;
	memcpy(b->keys + (size_t)b->n * ksz, key, ksz);
	if (vsz)
		memcpy(b->vals + (size_t)b->n * vsz, val, vsz);
	b->n++;
	return 0;
}

static void batch_free(struct batch *b)
{
	free(b->keys);
	free(b->vals);
	memset(b, 0, sizeof(*b));
}

/* The map key of an object: endpoints go from name to ifindex. */
static int entry_key(int kind, const uint8_t *okey, uint8_t *buf, uint32_t *ksz, struct sl_kerr *e)
{
	if (kind == SL_OBJ_ENDPOINT) {
		uint32_t idx;

		if (endpoint_ifindex((const char *)okey, &idx) < 0) {
			kerr(e, "endpoint interface %.16s does not exist", (const char *)okey);
			return -ENODEV;
		}
		memcpy(buf, &idx, sizeof(idx));
		*ksz = sizeof(idx);
		return 0;
	}
	return 1; /* use the object key as is */
}

/* Write the adds and changes (remove: the removes) of one kind. migrated:
 * the map was made anew and already holds everything. */
static int write_kind(struct sl_kernel *k, int kind, bool remove, const struct sl_objset *want,
		      const struct sl_objset *have, const struct sl_diff *d, struct sl_kerr *e)
{
	const char *name = kind_map(kind);
	int li = name ? layout_index(name) : -1;
	struct batch b = {};
	uint32_t ksz = 0, vsz = 0;
	int fd, r = 0;

	if (li < 0)
		return 0;
	/* A migrated map was filled whole when made; the old one goes whole. */
	if (k->new_fd[li] >= 0)
		return 0;
	fd = k->map_fd[li];
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
		vsz = remove ? 0 : o->vlen;
		t = entry_key(kind, key, kbuf, &ksz, e);
		if (t < 0) {
			r = t;
			break;
		}
		r = batch_add(&b, t == 0 ? kbuf : key, ksz, obj_val(s, o), vsz);
	}
	if (r >= 0 && b.n) {
		if (fd < 0) {
			kerr(e, "map %s is missing", name);
			r = -ENOENT;
		} else if (remove) {
			r = map_delete_many(fd, name, b.keys, b.n, ksz, e);
		} else {
			r = map_update_many(fd, name, b.keys, b.vals, b.n, ksz, vsz, e);
		}
	}
	batch_free(&b);
	return r;
}

/* Fill a new map with every desired entry of its kind. */
static int fill_map(int fd, const char *name, const struct sl_objset *want, struct sl_kerr *e)
{
	int kind = map_kind(name);
	struct batch b = {};
	uint32_t ksz = 0, vsz = 0;
	int r = 0;

	for (size_t i = 0; kind >= 0 && r >= 0 && i < want->n; i++) {
		const struct sl_obj *o = &want->v[i];
		uint8_t kbuf[64];
		int t;

		if (o->kind != kind)
			continue;
		ksz = o->klen;
		vsz = o->vlen;
		t = entry_key(kind, obj_key(want, o), kbuf, &ksz, e);
		if (t < 0)
			r = t;
		else
			r = batch_add(&b, t == 0 ? kbuf : obj_key(want, o), ksz, obj_val(want, o), vsz);
	}
	if (r >= 0 && b.n)
		r = map_update_many(fd, name, b.keys, b.vals, b.n, ksz, vsz, e);
	batch_free(&b);
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
	int fd;

	snprintf(kname, sizeof(kname), "%.15s", name);
	sl_kernel_writes++;
	fd = bpf_map_create((enum bpf_map_type)v->type, kname, v->key_size, v->value_size, v->max_entries, &opts);
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
		li = layout_index(mk->name);
		if (li < 0 || (map_kind(mk->name) < 0) != runtime)
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
			if (map_kind(mk->name) >= 0) {
				r = fill_map(fd, mk->name, want, e);
			} else if (old->type == mv->type && old->key_size == mv->key_size &&
				   old->value_size == mv->value_size && k->map_fd[li] >= 0 &&
				   mv->type != BPF_MAP_TYPE_RINGBUF) {
				struct copy_ctx cc = { .fd = fd };

				r = map_dump(k->map_fd[li], old->key_size, old->value_size, copy_entry, &cc);
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
		li = layout_index(mk->name);
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

static int progs_load(struct sl_kernel *k, const struct sl_objset *want, const struct sl_diff *d,
		      const struct sl_prog_settings *s, struct sl_kerr *e)
{
	uint64_t digest[SL_PROG__MAX] = { 0 };
	bool load[SL_MAPS__MAX] = { false };

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
		load[pk->prog == SL_PROG_PREFILTER ? SL_MAPS_PREFILTER : SL_MAPS_DATAPATH] = true;
	}
	for (int g = 0; g < SL_MAPS__MAX; g++) {
		int r;

		if (!load[g])
			continue;
		/* Both endpoint programs are one object: a missing digest would
		 * pin a program under a name no attachment asks for. */
		if (g == SL_MAPS_DATAPATH && (!digest[SL_PROG_FROM_ENDPOINT] || !digest[SL_PROG_TO_ENDPOINT]))
			continue;
		r = kernel_load_progs(k, g, s, digest, e);
		if (r < 0)
			return r;
	}
	return 0;
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
			kerr(e, "program %s: unpinning %s: %s", kernel_prog_name[pk->prog], kernel_path(k, name),
			     strerror(errno));
			return -errno;
		}
	}
	return 0;
}

int sl_kernel_preflight(struct sl_kernel *k, const struct sl_objset *want, const struct sl_objset *have,
			struct sl_kerr *e)
{
	int r;

	for (size_t i = 0; i < want->n; i++) {
		const struct sl_obj *o = &want->v[i];
		char name[17] = { 0 };

		if (o->kind == SL_OBJ_ROUTE && o->vlen == sizeof(struct sl_route_value)) {
			const struct sl_route_value *rv = obj_val(want, o);

			memcpy(name, rv->dev, sizeof(name) - 1 < sizeof(rv->dev) ? sizeof(name) - 1 : sizeof(rv->dev));
		} else if (o->kind == SL_OBJ_ENDPOINT || o->kind == SL_OBJ_ATTACH) {
			memcpy(name, obj_key(want, o), 16);
		} else {
			continue;
		}
		if (!if_nametoindex(name)) {
			kerr(e, "%s %s: no such device in this network namespace; nothing was changed",
			     o->kind == SL_OBJ_ENDPOINT ? "endpoint interface"
			     : o->kind == SL_OBJ_ROUTE	? "underlay device (datapath.underlayDevice)"
							: "device",
			     name);
			return -ENODEV;
		}
	}
	r = attach_preflight(k, want, e);
	if (r >= 0)
		r = kernel_encrypt_preflight(want, have, e);
	return r;
}

/* The runtime maps are large preallocated tables whose making is the
 * kernel clearing memory: a second thread makes them while this one
 * writes the entries. */
struct maps_job {
	struct sl_kernel *k;
	const struct sl_objset *want, *have;
	const struct sl_diff *d;
	struct sl_kerr e;
	int r;
	double ms;
};

static bool runtime_maps_change(const struct sl_objset *want, const struct sl_diff *d)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].kind == SL_OBJ_MAP && d->v[i].op != SL_OP_REMOVE &&
		    map_kind(((const struct sl_map_key *)obj_key(want, &want->v[d->v[i].want]))->name) < 0)
			return true;
	return false;
}

static void *maps_work(void *arg)
{
	struct maps_job *j = arg;
	double t0 = mono_ms();

	j->r = maps_prepare(j->k, j->want, j->have, j->d, true, &j->e);
	j->ms = mono_ms() - t0;
	return NULL;
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
	const char *name = kind_map(kind);
	int li = name ? layout_index(name) : -1;
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

int sl_kernel_apply(struct sl_kernel *k, const struct sl_objset *want, const struct sl_objset *have,
		    const struct sl_diff *d, const struct sl_prog_settings *s, struct sl_kerr *e)
{
	/* What is pointed at before what points at it: identities before the
	 * policy that names them, backends before the services that use them. */
	static const int add_order[] = { SL_OBJ_IPCACHE, SL_OBJ_POLICY,	    SL_OBJ_ENDPOINT, SL_OBJ_PREFILTER4,
					 SL_OBJ_PREFILTER6, SL_OBJ_BACKEND, SL_OBJ_SERVICE };
	struct maps_job rt = { k, want, have, d, { "" }, 0, 0 };
	bool removed_first[ARRAY_SIZE(add_order)] = { false };
	double t0 = mono_ms(), t1, t2, t3, t4;
	pthread_t helper;
	bool helped = false;
	int r;

	if (!d->n)
		return 0;
	/* 1. maps: new ones, and the new halves of migrations */
	if (runtime_maps_change(want, d))
		helped = pthread_create(&helper, NULL, maps_work, &rt) == 0;
	if (!helped)
		maps_work(&rt);
	r = maps_prepare(k, want, have, d, false, e);
	/* SAs and xfrm policies before the marks that use them */
	if (r >= 0)
		r = kernel_encrypt_apply(k, want, have, d, KERNEL_XFRM_ADD, e);
	t1 = mono_ms();
	/* 2. entries added and changed: what is pointed at first */
	for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(add_order); i++) {
		if (kind_removes_first(k, add_order[i], have, d)) {
			removed_first[i] = true;
			r = write_kind(k, add_order[i], true, want, have, d, e);
		}
		if (r >= 0)
			r = write_kind(k, add_order[i], false, want, have, d, e);
	}
	t2 = mono_ms();
	if (helped)
		pthread_join(helper, NULL);
	if (r >= 0 && rt.r < 0) {
		r = rt.r;
		kerr(e, "%s", rt.e.msg);
	}
	t3 = mono_ms();
	/* 3. programs: load what is new, then attach or replace atomically */
	if (r >= 0)
		r = progs_load(k, want, d, s, e);
	if (r >= 0)
		r = attach_apply(k, want, have, d, false, e);
	/* remote pod CIDRs are routed once their packets are encrypted */
	if (r >= 0)
		r = kernel_encrypt_apply(k, want, have, d, KERNEL_ROUTES_ADD, e);
	t4 = mono_ms();
	sl_kernel_timing.maps_ms = (t1 - t0) + (t3 - t2);
	sl_kernel_timing.runtime_ms = rt.ms;
	sl_kernel_timing.entries_ms = t2 - t1;
	sl_kernel_timing.programs_ms = t4 - t3;
	/* 4. removals, in reverse */
	if (r >= 0)
		r = kernel_encrypt_apply(k, want, have, d, KERNEL_ROUTES_REMOVE, e);
	if (r >= 0)
		r = attach_apply(k, want, have, d, true, e);
	for (size_t i = ARRAY_SIZE(add_order); r >= 0 && i-- > 0;)
		if (!removed_first[i])
			r = write_kind(k, add_order[i], true, want, have, d, e);
	if (r >= 0)
		r = kernel_encrypt_apply(k, want, have, d, KERNEL_XFRM_REMOVE, e);
	if (r >= 0)
		r = maps_finish(k, want, have, d, e);
	if (r >= 0)
		r = progs_unpin(k, have, d, e);
	sl_kernel_timing.removals_ms = mono_ms() - t4;
	return r;
}

/* ---- status ---- */

static int count_entry(void *ctx, const void *key, const void *val)
{
	(void)key;
	(void)val;
	(*(uint32_t *)ctx)++;
	return 0;
}

static void sum_counters(int fd, uint32_t n, uint64_t out[][2])
{
	int ncpu = libbpf_num_possible_cpus();
	struct sl_counter *v;

	if (ncpu <= 0 || !(v = calloc((size_t)ncpu, sizeof(*v))))
		return;
	for (uint32_t i = 0; i < n; i++) {
		if (bpf_map_lookup_elem(fd, &i, v) < 0)
			continue;
		for (int c = 0; c < ncpu; c++) {
			out[i][0] += v[c].packets;
			out[i][1] += v[c].bytes;
		}
	}
	free(v);
}

int sl_kernel_status(struct sl_kernel *k, struct sl_kernel_status *st, struct sl_kerr *e)
{
	const struct sl_map_layout *l;
	size_t n;
	int r = sl_kernel_layouts(&l, &n);

	memset(st, 0, sizeof(*st));
	if (r >= 0 && !k->maps_open)
		r = open_maps(k, e);
	if (r < 0)
		return r;
	st->maps = calloc(n, sizeof(*st->maps));
	if (!st->maps)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct bpf_map_info info = {};
		uint32_t len = sizeof(info);
		struct sl_map_fill *f;

		if (k->map_fd[i] < 0 || bpf_obj_get_info_by_fd(k->map_fd[i], &info, &len) < 0)
			continue;
		f = &st->maps[st->n_maps++];
		snprintf(f->name, sizeof(f->name), "%s", l[i].name);
		f->type = info.type;
		f->max_entries = info.max_entries;
		f->runtime = strstr(l[i].name, "_ct") || streq(l[i].name, SL_MAPNAME_DROPS) ||
			     streq(l[i].name, SL_MAPNAME_METRICS) || streq(l[i].name, SL_MAPNAME_EVENTS);
		if (info.type == BPF_MAP_TYPE_ARRAY || info.type == BPF_MAP_TYPE_PERCPU_ARRAY)
			f->entries = info.max_entries;
		else if (info.type != BPF_MAP_TYPE_RINGBUF)
			map_dump(k->map_fd[i], info.key_size, info.value_size, count_entry, &f->entries);
		if (streq(l[i].name, SL_MAPNAME_DROPS)) {
			st->n_drops = info.max_entries < 32 ? info.max_entries : 32;
			sum_counters(k->map_fd[i], (uint32_t)st->n_drops, st->drops);
			st->have_counters = true;
		}
		if (streq(l[i].name, SL_MAPNAME_METRICS)) {
			st->n_metrics = info.max_entries < 32 ? info.max_entries : 32;
			sum_counters(k->map_fd[i], (uint32_t)st->n_metrics, st->metrics);
		}
	}
	return 0;
}

void sl_kernel_status_free(struct sl_kernel_status *st)
{
	free(st->maps);
	memset(st, 0, sizeof(*st));
}
