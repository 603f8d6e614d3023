/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Streams: the limits on what a state may hold, the reader libyaml calls for
 * a file, standard input or a FIFO (counting bytes and adding them to the
 * digest), and the whole read of a file that the cache keeps.
 */
#include "load_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "schema.h"

size_t load_file_max(const struct sl_load *ld)
{
	return ld->max_file_bytes ? ld->max_file_bytes : SL_LOAD_FILE_MAX;
}

size_t load_total_max(const struct sl_load *ld)
{
	return ld->max_total_bytes ? ld->max_total_bytes : SL_LOAD_TOTAL_MAX;
}

/* "64 MiB", or bytes when the limit is no whole number of MiB. */
static const char *size_text(size_t n, char buf[32])
{
	if (n && n % ((size_t)1 << 20) == 0)
		snprintf(buf, 32, "%zu MiB", n >> 20);
	else
		snprintf(buf, 32, "%zu bytes", n);
	return buf;
}

/* How much more a file may hold: its own limit, or what is left of the
 * state's when that is less. */
void load_stream_limit(const struct sl_load *ld, struct stream_in *in)
{
	size_t left = load_total_max(ld) > ld->bytes_read ? load_total_max(ld) - ld->bytes_read : 0;

	in->limit = load_file_max(ld);
	in->total_limit = left < in->limit;
	if (in->total_limit)
		in->limit = left;
}

/* A file over a limit: `size` is its size when known before reading (0:
 * found while reading, which then stopped). */
void load_too_large(struct sl_load *ld, const char *file, bool total, size_t size)
{
	char lim[32], what[64] = "reading stopped there";

	if (size)
		snprintf(what, sizeof(what), "the file (%zu bytes) is not read", size);
	if (total)
		diag_add(&ld->diags, DIAG_ERROR, file, 0, 0, "(file)",
			 "the state's files hold more than %s together, the most a state may hold; %s",
			 size_text(load_total_max(ld), lim), what);
	else
		diag_add(&ld->diags, DIAG_ERROR, file, 0, 0, "(file)",
			 "the file holds more than %s, the most a state file may hold; %s", size_text(load_file_max(ld), lim),
			 what);
}

/* Why a stream stopped before its end: once. */
void load_stream_stopped(struct stream_in *in, const char *file)
{
	if (in->reported)
		return;
	in->reported = true;
	if (in->over)
		load_too_large(in->ld, file, in->total_limit, 0);
	else if (in->err)
		diag_add(&in->ld->diags, DIAG_ERROR, file, 0, 0, "(file)", "error while reading: %s",
			 strerror(in->err));
}

/* libyaml's read handler (1: fine, *size_read 0 at the end; 0: stop). */
int load_read_stream(void *data, unsigned char *buf, size_t size, size_t *size_read)
{
	struct stream_in *in = data;
	size_t n;

	*size_read = 0;
	if (in->over || in->err)
		return 0;
	n = fread(buf, 1, size, in->f);
	if (ferror(in->f)) {
		in->err = errno ? errno : EIO;
		return 0;
	}
	if (!in->ld->no_digest)
		in->hash = fnv1a64(in->hash, buf, n);
	in->total += n;
	if (in->total > in->limit) {
		in->over = true;
		return 0;
	}
	*size_read = n;
	return 1;
}

/* A file that could not be read still counts in the digest, by its error. */
void load_digest_error(struct sl_load *ld, const char *name, int err)
{
	ld->digest = fnv1a64(ld->digest, name, strlen(name) + 1);
	ld->digest = fnv1a64(ld->digest, &err, sizeof(err));
}

/* Whether a file of `size` bytes fits the limits; if not, says so. */
bool load_fits(struct sl_load *ld, const char *file, size_t size)
{
	struct stream_in in = { .ld = ld };

	load_stream_limit(ld, &in);
	if (size <= in.limit)
		return true;
	load_too_large(ld, file, in.total_limit, size);
	return false;
}

void load_wipe_free(void *p, size_t len)
{
	if (p)
		explicit_bzero(p, len);
	free(p);
}

/* Read all of fd into *ret (and its length into *ret_len), also when a
 * read fails part way: then what was read and -errno; -EFBIG when there is
 * more than max bytes (max + 1 are read). Buffers outgrown are wiped. */
int load_read_all(int fd, size_t size_hint, size_t max, unsigned char **ret, size_t *ret_len)
{
	size_t cap = size_hint + 1 > 4096 ? size_hint + 1 : 4096, len = 0;
	unsigned char *buf = malloc(cap);
	int r = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			unsigned char *bigger = malloc(cap * 2);

			if (!bigger) {
				r = -ENOMEM;
				break;
			}
			memcpy(bigger, buf, len);
			load_wipe_free(buf, len);
			buf = bigger;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			r = -EFBIG;
			break;
		}
	}
	*ret = buf;
	*ret_len = len;
	return r;
}
