/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup v2 directories by id: the id of a path (what a plan compares),
 * and back, a directory by id (what attaching needs, and show's path). The
 * id is the cgroup's kernfs node id, which its file handle carries.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "common/util.h"
#include "internal.h"

/* The file handle type of kernfs (the kernel's FILEID_KERNFS). */
#define CGROUP_HANDLE_TYPE 0xfe

struct cgroup_handle {
	struct file_handle fh;
	uint64_t id;
};

int sl_cgroup_id(const char *path, uint64_t *ret_id)
{
	struct cgroup_handle h = { .fh.handle_bytes = sizeof(uint64_t) };
	struct statfs sf;
	int mnt;

	if (statfs(path, &sf) < 0)
		return -errno;
	if (sf.f_type != CGROUP2_SUPER_MAGIC)
		return -EMEDIUMTYPE;
	if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mnt, 0) < 0)
		return -errno;
	if (h.fh.handle_bytes != sizeof(uint64_t))
		return -EINVAL;
	*ret_id = h.id;
	return 0;
}

const char *sl_cgroup_strerror(int err)
{
	return err == -EMEDIUMTYPE ? "not a cgroup v2 directory" : strerror(-err);
}

/* Each cgroup2 mount point of /proc/self/mountinfo in turn (fn returns
 * non-zero to stop), its path unescaped. */
static int each_cgroup2_mount(int (*fn)(const char *mnt, void *ctx), void *ctx)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	int r = 0;

	if (!f)
		return -errno;
	while (!r && getline(&line, &cap, f) > 0) {
		char *sep = strstr(line, " - "), mnt[4096], *o = mnt;
		const char *p;
		int field = 0;

		if (!sep || strncmp(sep + 3, "cgroup2 ", 8) != 0)
			continue;
		/* the fifth field, octal escapes (\040) undone */
		for (p = line; *p && field < 4; p++)
			field += *p == ' ';
		while (*p && *p != ' ' && o < mnt + sizeof(mnt) - 1) {
			if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' &&
			    p[3] <= '7') {
				*o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
				p += 4;
			} else {
				*o++ = *p++;
			}
		}
		*o = 0;
		r = fn(mnt, ctx);
	}
	free(line);
	fclose(f);
	return r;
}

struct open_ctx {
	uint64_t id;
	int fd;
};

static int open_in(const char *mnt, void *ctx)
{
	struct open_ctx *c = ctx;
	struct cgroup_handle h = { .fh.handle_bytes = sizeof(uint64_t), .fh.handle_type = CGROUP_HANDLE_TYPE,
				   .id = c->id };
	int m = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (m < 0)
		return 0;
	c->fd = open_by_handle_at(m, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(m);
	return c->fd >= 0;
}

void sl_kernel_set_cgroup_path(struct sl_kernel *k, const char *path)
{
	if (!k)
		return;
	free(k->cgroup_path);
	/* out of memory: NULL, the cgroup is then opened by its id */
	k->cgroup_path = path ? strdup(path) : NULL;
}

int kernel_cgroup_open(struct sl_kernel *k, uint64_t id)
{
	struct open_ctx c = { .id = id, .fd = -1 };
	uint64_t have;
	int r;

	if (k && k->cgroup_path && sl_cgroup_id(k->cgroup_path, &have) >= 0 && have == id) {
		int fd = open(k->cgroup_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd >= 0)
			return fd;
	}
	r = each_cgroup2_mount(open_in, &c);

	if (r < 0)
		return r;
	return c.fd >= 0 ? c.fd : -ENOENT;
}

int sl_cgroup_path(uint64_t id, char *buf, size_t len)
{
	char proc[64];
	int fd = kernel_cgroup_open(NULL, id);
	ssize_t n;

	if (fd < 0)
		return fd;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}
