/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The object set: every kernel object a state compiles to (or the kernel
 * holds), in one representation, (kind, key bytes, value bytes), kept in
 * flat arrays and sorted by (kind, key). An object costs an 8-byte record
 * plus its key and value bytes, so millions fit in little memory.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kinds/kind.h"

struct sl_obj {
	uint8_t kind;
	uint8_t klen;
	uint16_t vlen;
	uint32_t off; /* key bytes at bytes + off, value at the next 4-byte boundary after */
};

/*
 * An object's key starts at a 4-byte boundary of the set's bytes and its
 * value at the first one after the key (the bytes between are zero), so
 * that both may be read as their structs whatever came before (a
 * service's form is 58 bytes with two backends): obj_key, obj_val. The
 * structs of keys and values are at most 4-byte aligned (their 64-bit
 * fields sl_u64_a4, kinds/kind.h); most are whole 4-byte words, so
 * objects cost no padding. An object spans obj_span bytes from its key.
 */
#define SL_OBJ_ALIGN 4
static inline size_t obj_align(size_t n)
{
	return (n + SL_OBJ_ALIGN - 1) & ~(size_t)(SL_OBJ_ALIGN - 1);
}
static inline size_t obj_span(size_t klen, size_t vlen)
{
	return obj_align(klen) + vlen;
}
/* The most an object takes, with the padding before it and in it. */
#define SL_OBJ_PAD_MAX (2 * (SL_OBJ_ALIGN - 1))

/*
 * What a verify reads the kernel into: an object equal (kind, key and
 * value) to one of same (sorted) is not added to the set but marked in
 * seen, a bit per object of same, by its index. The set then holds only
 * what differs, and sl_diff_seen says what still differs without a
 * second copy of everything that is as it should be.
 */
struct sl_objset_filter {
	const struct sl_objset *same;
	uint64_t *seen;
	/* same's objects by a hash of kind and key: index + 1, 0 empty (a
	 * binary search of a large set per object read costs its misses) */
	uint32_t *slot;
	size_t mask;
};

struct sl_objset {
	struct sl_obj *v;
	size_t n, cap;
	uint8_t *bytes;
	size_t blen, bcap;
	bool sorted;
	/* Bytes no object points to any more (sl_diff_patch), given back
	 * when they are more than the half. */
	size_t garbage;
	/* It holds key material (an xfrm state): bytes are wiped whenever
	 * they are given back (growth, shrink, free). */
	bool secret;
	/* Set: objects equal to the filter's are only marked (above). */
	const struct sl_objset_filter *filter;
};

int objset_add(struct sl_objset *s, enum sl_obj_kind kind, const void *key, size_t klen, const void *val,
	       size_t vlen);
/* Add an object from the kernel's bytes of its value (kvlen): the set gets
 * its kind's form of it (kinds/kind.h, pack), or the bytes themselves. */
int objset_add_kernel(struct sl_objset *s, enum sl_obj_kind kind, const void *key, size_t klen, const void *kval,
		      size_t kvlen);
/* Make room for `more` objects of `more_bytes` key and value bytes in all
 * (and their padding), exactly (growth by doubling leaves up to half
 * unused). */
int objset_reserve(struct sl_objset *s, size_t more, size_t more_bytes);
/* Sort by (kind, key). Objects with equal kind and key must not be there. */
void objset_sort(struct sl_objset *s);
/* Give back the room reserved for growth. */
void objset_shrink(struct sl_objset *s);
/* The object of that kind and key in a sorted set, or NULL. */
const struct sl_obj *objset_find(const struct sl_objset *s, enum sl_obj_kind kind, const void *key, size_t klen);
size_t objset_count(const struct sl_objset *s, enum sl_obj_kind kind);
/* Whether an object of that kind and key was added (linear; for small kinds
 * before sorting). */
bool objset_find_unsorted(const struct sl_objset *s, enum sl_obj_kind kind, const void *key, size_t klen);
/* Add every object of src to dst (dst is then unsorted). */
int objset_append(struct sl_objset *dst, const struct sl_objset *src);
/* Write an object at the end of s's bytes (room reserved before: at most
 * obj_span + SL_OBJ_PAD_MAX bytes); its record's offset. */
uint32_t objset_put_bytes(struct sl_objset *s, const void *key, size_t klen, const void *val, size_t vlen);
void objset_free(struct sl_objset *s);
/* A filter of same's objects for a verify's set (every bit clear; its
 * objects found by a hash table of theirs, 8 bytes per object at most);
 * 0 or -ENOMEM. */
int objset_filter_init(struct sl_objset_filter *f, const struct sl_objset *same);
void objset_filter_free(struct sl_objset_filter *f);
static inline bool objset_filter_seen(const struct sl_objset_filter *f, size_t i)
{
	return f && (__atomic_load_n(&f->seen[i / 64], __ATOMIC_RELAXED) >> (i % 64)) & 1;
}

static inline const void *obj_key(const struct sl_objset *s, const struct sl_obj *o)
{
	return s->bytes + o->off;
}

static inline const void *obj_val(const struct sl_objset *s, const struct sl_obj *o)
{
	return s->bytes + o->off + obj_align(o->klen);
}

/* Compare two objects of possibly different sets by (kind, key). */
int obj_cmp(const struct sl_objset *a, const struct sl_obj *x, const struct sl_objset *b, const struct sl_obj *y);
