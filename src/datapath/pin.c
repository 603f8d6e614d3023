/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pin directory: opened (made, checked to be on a bpffs), locked,
 * removed; the names in it, and the pinned maps opened from it.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "common/util.h"
#include "internal.h"
#include "kinds/prog.h"
#include "kinds/map.h"

const char *kernel_path(struct sl_kernel *k, const char *name)
{
	static __thread char path[4096];

	snprintf(path, sizeof(path), "%s/%s", k->pin_dir, name);
	return path;
}

void kernel_prog_pin_name(int prog, uint64_t digest, char *buf, size_t len)
{
	snprintf(buf, len, "prog_%s_%016" PRIx64, sl_prog_names[prog], digest);
}

void kernel_twins_pin_name(int prog, uint64_t digest, char *buf, size_t len)
{
	snprintf(buf, len, "events_%s_%016" PRIx64, sl_prog_names[prog], digest);
}

uint64_t kernel_prog_digest(struct sl_kernel *k, uint32_t prog_id, uint8_t prog)
{
	for (size_t i = 0; i < k->n_progs; i++)
		if (k->progs[i].id == prog_id && k->progs[i].current && k->progs[i].prog == prog)
			return k->progs[i].digest;
	return 0;
}

int kernel_prog_open(struct sl_kernel *k, uint8_t prog, uint64_t digest, struct sl_kerr *e)
{
	char name[64];
	int fd;

	kernel_prog_pin_name(prog, digest, name, sizeof(name));
	fd = bpf_obj_get(kernel_path(k, name));
	if (fd < 0) {
		kerr(e, "program %s: %s: %s", sl_prog_names[prog], kernel_path(k, name), strerror(errno));
		return -errno;
	}
	return fd;
}

int kernel_map_fd(struct sl_kernel *k, const char *name)
{
	int i = kernel_layout_index(name);

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
int kernel_open_maps(struct sl_kernel *k, struct sl_kerr *e)
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
	kernel_nsdevs_free(k);
	if (k->dir_fd >= 0)
		close(k->dir_fd);
	free(k->foreign);
	free(k->attached);
	free(k->progs);
	free(k->pin_dir);
	free(k->cgroup_path);
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
	double start = kernel_mono_ms();
	int r;

	if (k->dir_fd < 0) {
		kerr(e, "pin directory %s does not exist", k->pin_dir);
		return -ENOENT;
	}
	for (;;) {
		if (flock(k->dir_fd, LOCK_EX | LOCK_NB) == 0) {
			if (dir_still_pinned(k)) {
				k->locked = true;
				return kernel_open_maps(k, e);
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
		if (kernel_mono_ms() - start >= (double)wait_s * 1000.0) {
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
