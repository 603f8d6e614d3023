/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The loader's entry points (load.h): files, directories and standard input,
 * each file read as a stream (load_stream.c) by the walker (load_walk.c), or
 * through watch's cache (load_cache.c). The merge is load_merge.c.
 */
#include "load_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

/* Read a file as a stream: a large state is never held twice. `regular`:
 * a regular file, whose bytes after a parse that stopped early are read for
 * the digest too (a stream, such as standard input, is left as it is). */
static int load_fd(struct sl_load *ld, int fd, const char *name, const char *dir, bool regular)
{
	FILE *f = fdopen(fd, "r");
	struct stream_in in = { .f = f, .ld = ld, .hash = FNV1A64_INIT };
	int r;

	if (!f) {
		close(fd);
		return -errno;
	}
	load_stream_limit(ld, &in);
	r = load_parse_stream(ld, name, dir, &in);
	/* A parse that stopped early (a syntax error) has not read all of the
	 * file: the rest counts in the digest too, so that equal digests mean
	 * equal bytes; never more than the limit. */
	if (r >= 0 && regular && !in.over && !in.err && !ld->no_digest) {
		unsigned char rest[4096];
		size_t n;

		while (!in.over && (n = fread(rest, 1, sizeof(rest), f)) > 0) {
			in.hash = fnv1a64(in.hash, rest, n);
			in.total += n;
			in.over = in.total > in.limit;
		}
		if (ferror(f))
			in.err = errno ? errno : EIO;
		explicit_bzero(rest, sizeof(rest));
	}
	load_digest_fold(ld, in.hash);
	if (r >= 0 && (in.over || in.err))
		load_stream_stopped(&in, diag_file(&ld->diags, name));
	ld->bytes_read += in.total;
	fclose(f);
	return r;
}

static const char *file_kind(mode_t m)
{
	return S_ISDIR(m)    ? "a directory"
	       : S_ISFIFO(m) ? "a FIFO"
	       : S_ISSOCK(m) ? "a socket"
	       : S_ISCHR(m)  ? "a character device"
	       : S_ISBLK(m)  ? "a block device"
			     : "of another kind";
}

static void cannot_read(struct sl_load *ld, const char *display, int r, const char *fmt, ...) _printf_(4, 5);
static void cannot_read(struct sl_load *ld, const char *display, int r, const char *fmt, ...)
{
	_cleanup_free_ char *why = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&why, fmt, ap) < 0)
		why = NULL;
	va_end(ap);
	load_digest_error(ld, display, r);
	diag_add(&ld->diags, DIAG_ERROR, diag_file(&ld->diags, display), 0, 0, "(file)", "%s",
		 why ? why : "cannot read");
}

/*
 * One file: standard input ("-"), a PATH (dirfd AT_FDCWD), or an entry of a
 * directory. An entry is opened without blocking and must be a regular
 * file (a FIFO there would stall the read of the directory); a PATH may be
 * a stream, read as standard input is, up to the limit.
 */
static int load_file(struct sl_load *ld, struct sl_load_cache *cache, const char *display, const char *dir,
		     int dirfd, const char *name, bool entry)
{
	bool in = streq(display, "-");
	int fd = in ? dup(STDIN_FILENO)
		    : openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | (entry ? O_NONBLOCK : 0));
	struct stat st;

	if (fd < 0) {
		int r = -errno;
		struct stat lst;
		char target[256];
		ssize_t tl;

		if (entry && r == -ENOENT && fstatat(dirfd, name, &lst, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(lst.st_mode) && (tl = readlinkat(dirfd, name, target, sizeof(target) - 1)) >= 0) {
			target[tl] = '\0';
			cannot_read(ld, display, r, "cannot read: a symbolic link to %s, which does not exist",
				    diag_q(target));
		} else {
			cannot_read(ld, display, r, "cannot read: %s", strerror(-r));
		}
		return 0;
	}
	if (fstat(fd, &st) < 0) {
		int r = -errno;

		close(fd);
		cannot_read(ld, display, r, "cannot read: %s", strerror(-r));
		return 0;
	}
	if (S_ISDIR(st.st_mode) || (entry && !S_ISREG(st.st_mode))) {
		int r = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;

		close(fd);
		if (entry)
			cannot_read(ld, display, r,
				    "not a regular file (%s): the *.yaml and *.yml entries of a directory are read "
				    "as state files and must be regular files or symbolic links to them",
				    file_kind(st.st_mode));
		else
			cannot_read(ld, display, r, "cannot read: %s", strerror(-r));
		return 0;
	}
	if (entry && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		int r = -errno;

		close(fd);
		cannot_read(ld, display, r, "cannot read: %s", strerror(-r));
		return 0;
	}
	if (S_ISREG(st.st_mode) && !load_fits(ld, diag_file(&ld->diags, display), (size_t)st.st_size)) {
		close(fd);
		load_digest_error(ld, display, -EFBIG);
		return 0;
	}
	if (cache && !in)
		return load_cache_fd(ld, cache, fd, (size_t)st.st_size, S_ISREG(st.st_mode), display, dir);
	return load_fd(ld, fd, display, dir, S_ISREG(st.st_mode) && !in);
}

bool sl_state_file_name(const char *n)
{
	size_t len = strlen(n);

	if (n[0] == '.' || n[len - 1] == '~')
		return false;
	if (len > 4 && (streq(n + len - 4, ".swp") || streq(n + len - 4, ".tmp")))
		return false;
	return (len > 5 && streq(n + len - 5, ".yaml")) || (len > 4 && streq(n + len - 4, ".yml"));
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_dir(struct sl_load *ld, struct sl_load_cache *cache, const char *path)
{
	DIR *d = opendir(path);
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int r = 0;

	if (!d) {
		r = -errno;
		load_digest_error(ld, path, r);
		diag_add(&ld->diags, DIAG_ERROR, diag_file(&ld->diags, path), 0, 0, "(file)", "cannot read: %s",
			 strerror(-r));
		return 0;
	}
	while ((de = readdir(d))) {
		/* Symlinks are followed; what they point at must be a file,
		 * which load_file checks (anything else is reported). */
		if (!sl_state_file_name(de->d_name))
			continue;
		if (grow_array((void **)&names, &cap, n + 1, sizeof(*names)) < 0 ||
		    !(names[n] = strdup(de->d_name))) {
			r = -ENOMEM;
			goto out;
		}
		n++;
	}
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n && r >= 0; i++) {
		_cleanup_free_ char *display = NULL;
		size_t pl = strlen(path);

		if (asprintf(&display, "%s%s%s", path, pl && path[pl - 1] == '/' ? "" : "/", names[i]) < 0) {
			r = -ENOMEM;
			break;
		}
		r = load_file(ld, cache, display, path, dirfd(d), names[i], true);
	}
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return r;
}

static int load_paths(struct sl_load *ld, struct sl_load_cache *cache, char *const *paths, size_t n_paths)
{
	for (size_t i = 0; i < n_paths; i++) {
		const char *p = paths[i];
		struct stat st;
		int r;

		if (streq(p, "-")) {
			r = load_file(ld, cache, "-", ".", AT_FDCWD, NULL, false);
		} else if (stat(p, &st) < 0) {
			r = -errno;
			load_digest_error(ld, p, r);
			diag_add(&ld->diags, DIAG_ERROR, diag_file(&ld->diags, p), 0, 0, "(file)", "cannot read: %s",
				 strerror(-r));
			r = 0;
		} else if (S_ISDIR(st.st_mode)) {
			r = load_dir(ld, cache, p);
		} else {
			_cleanup_free_ char *dir = strdup(p);
			char *slash;

			if (!dir)
				return -ENOMEM;
			slash = strrchr(dir, '/');
			if (slash)
				slash[slash == dir ? 1 : 0] = '\0';
			r = load_file(ld, cache, p, slash ? dir : ".", AT_FDCWD, p, false);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

int sl_load_paths(struct sl_load *ld, char *const *paths, size_t n_paths)
{
	return load_paths(ld, NULL, paths, n_paths);
}

int sl_load_paths_scan(struct sl_load *ld, struct sl_load_cache *cache, char *const *paths, size_t n_paths)
{
	int r;

	cache->scan = true;
	r = sl_load_paths_cached(ld, cache, paths, n_paths);
	cache->scan = false;
	return r;
}

int sl_load_paths_cached(struct sl_load *ld, struct sl_load_cache *cache, char *const *paths, size_t n_paths)
{
	int r;

	if (!cache)
		return load_paths(ld, NULL, paths, n_paths);
	load_cache_begin(cache);
	r = load_paths(ld, cache, paths, n_paths);
	load_cache_end(cache);
	return r;
}
