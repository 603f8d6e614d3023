/* SPDX-License-Identifier: Apache-2.0 */
/* Small helpers shared by every module: cleanup attributes, array sizes. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The version of the form of every JSON document and line sluice prints
 * ("formatVersion", its first member; sluice(8), "JSON output"): adding a
 * member keeps it, renaming or removing one raises it. */
#define SL_JSON_FORMAT_VERSION_N 1
#define SL_JSON_FORMAT_VERSION "1"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _unused_ __attribute__((unused))

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Hand a pointer over to someone else: returns it and clears the variable. */
#define TAKE_PTR(p)                      \
	({                               \
		__typeof__(p) _p_ = (p); \
		(p) = NULL;              \
		_p_;                     \
	})

/* Grow a dynamic array so that it holds at least `need` elements. */
int grow_array(void **v, size_t *cap, size_t need, size_t elem_size);
/* Fault in the pages of [p, p + len) that are about to be written, in one
 * system call (madvise MADV_POPULATE_WRITE, Linux 5.14) instead of a fault
 * per page, which a virtual machine makes costly; only for large ranges,
 * and nothing happens where the kernel cannot. */
void prefault(void *p, size_t len);
/* madvise(advice) over the whole units of unit bytes (a power of two: a
 * page, a huge page) inside [from, to); nothing when there is none. */
void madvise_within(const void *from, const void *to, size_t unit, int advice);

/* The slots of an open-addressing table for n keys, kept at most three
 * quarters full (linear probing stays short): cap, or doubled from it
 * (from 64 when 0) until they fit. */
static inline size_t table_cap_for(size_t n, size_t cap)
{
	for (cap = cap ? cap : 64; n * 4 > cap * 3; cap *= 2)
		;
	return cap;
}

static inline bool streq(const char *a, const char *b)
{
	return a && b && __builtin_strcmp(a, b) == 0;
}

/* qsort/bsearch comparison of two uint32_t. */
static inline int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

#define FNV1A64_INIT 0xcbf29ce484222325ULL

/* FNV-1a over n bytes, continuing from h (FNV1A64_INIT to start). */
static inline uint64_t fnv1a64(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* A 64-bit hash of a large buffer, continuing from h: eight bytes a step
 * (the round of xxHash64, its primes), the tail by FNV-1a, then mixed
 * (splitmix64's finaliser). About 8x faster than fnv1a64 over the 800 KB
 * of an embedded BPF object; not a cryptographic hash. */
static inline uint64_t hash64_bytes(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t w;

	for (; n >= 8; b += 8, n -= 8) {
		memcpy(&w, b, sizeof(w));
		h += w * 0xc2b2ae3d27d4eb4fULL;
		h = (h << 31 | h >> 33) * 0x9e3779b185ebca87ULL;
	}
	h = fnv1a64(h, b, n);
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
	return h ^ (h >> 31);
}
