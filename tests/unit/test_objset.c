/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The object set's sort: random sets of several kinds, key lengths and
 * sizes (below and above the radix sort's threshold), checked against the
 * order obj_cmp defines and for losing or duplicating nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "reconcile/diff.h"
#include "reconcile/objset.h"

/* A key of klen bytes from a seed; few distinct values in some bytes, so
 * that the sort meets constant bytes, ties in prefixes, and full spreads. */
static void make_key(uint8_t *k, size_t klen, unsigned seed)
{
	for (size_t b = 0; b < klen; b++) {
		unsigned x = seed * 2654435761u + (unsigned)b * 40503u;

		x ^= x >> 13;
		k[b] = b % 4 == 1 ? 7 : b % 4 == 2 ? (uint8_t)(x & 1) : (uint8_t)(x >> 5);
	}
}

static void check_sorted(size_t n, size_t klen, int kinds)
{
	struct sl_objset s = {};
	uint8_t key[64], val[2];
	size_t *seen;

	for (size_t i = 0; i < n; i++) {
		make_key(key, klen, (unsigned)i);
		memcpy(key + klen, &i, sizeof(i)); /* unique: the index follows */
		val[0] = (uint8_t)i;
		val[1] = (uint8_t)(i >> 8);
		cr_assert_eq(objset_add(&s, (enum sl_obj_kind)((i * 7) % (size_t)kinds), key, klen + sizeof(i), val,
					sizeof(val)),
			     0);
	}
	objset_sort(&s);
	cr_assert(s.sorted);
	cr_assert_eq(s.n, n);
	seen = calloc(n ? n : 1, sizeof(*seen));
	for (size_t i = 0; i < n; i++) {
		const uint8_t *k = obj_key(&s, &s.v[i]), *v = obj_val(&s, &s.v[i]);
		size_t idx;

		memcpy(&idx, k + klen, sizeof(idx));
		cr_assert_lt(idx, n);
		cr_assert_eq(seen[idx]++, 0, "object %zu appears twice", idx);
		cr_assert_eq(v[0], (uint8_t)idx, "object %zu lost its value", idx);
		cr_assert_eq(s.v[i].kind, (idx * 7) % (size_t)kinds);
		if (i)
			cr_assert_lt(obj_cmp(&s, &s.v[i - 1], &s, &s.v[i]), 0, "objects %zu and %zu out of order",
				     i - 1, i);
	}
	free(seen);
	objset_free(&s);
}

Test(objset, sort_small_sets)
{
	for (size_t n = 0; n < 40; n++)
		check_sorted(n, 4, 3);
}

Test(objset, sort_large_sets_by_radix)
{
	check_sorted(5000, 24, 1);
	check_sorted(20000, 12, 2);
	check_sorted(3000, 16, SL_OBJ__MAX);
	check_sorted(100000, 4, 2);
}

Test(objset, sort_mixed_key_lengths_in_one_kind)
{
	struct sl_objset s = {};
	char key[32];

	for (int i = 0; i < 1000; i++) {
		int len = snprintf(key, sizeof(key), "%d", (i * 7919) % 1000);

		cr_assert_eq(objset_add(&s, SL_OBJ_POLICY, key, (size_t)len, "", 0), 0);
	}
	objset_sort(&s);
	for (size_t i = 1; i < s.n; i++)
		cr_assert_lt(obj_cmp(&s, &s.v[i - 1], &s, &s.v[i]), 0);
	objset_free(&s);
}

/* Every key and value starts at a 4-byte boundary, whatever the lengths
 * before it (a program's key, whose 64-bit digest is 4-byte aligned, is
 * read as its struct), through adds, appends, patches (values changed in
 * place and grown, objects added and removed) and the patch's compaction,
 * and the bytes between are zero. */
static void check_aligned(const struct sl_objset *s, const char *what)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct sl_obj *o = &s->v[i];

		cr_assert_eq((uintptr_t)obj_key(s, o) % SL_OBJ_ALIGN, 0, "%s: object %zu's key at %u", what, i,
			     o->off);
		cr_assert_eq((uintptr_t)obj_val(s, o) % SL_OBJ_ALIGN, 0, "%s: object %zu's value (key %u bytes)",
			     what, i, o->klen);
		for (size_t b = o->klen; b < obj_align(o->klen); b++)
			cr_assert_eq(s->bytes[o->off + b], 0, "%s: object %zu: padding byte %zu", what, i, b);
	}
}

static void add_odd(struct sl_objset *s, unsigned i, size_t vlen)
{
	uint8_t key[13] = { 0 }, val[64];

	memcpy(key, &i, sizeof(i));
	memset(val, (int)(i & 0xff) | 1, sizeof(val));
	cr_assert_eq(objset_add(s, SL_OBJ_BACKEND, key, 5 + i % 9, val, vlen), 0);
}

Test(objset, keys_and_values_aligned)
{
	struct sl_objset a = {}, b = {}, want = {}, have = {};
	struct sl_diff d = {};

	for (unsigned i = 0; i < 300; i++)
		add_odd(&a, i, 1 + i % 37);
	check_aligned(&a, "added");
	for (unsigned i = 300; i < 330; i++)
		add_odd(&b, i, 3 + i % 11);
	cr_assert_eq(objset_append(&a, &b), 0);
	check_aligned(&a, "appended");
	objset_sort(&a);
	objset_shrink(&a);
	check_aligned(&a, "sorted and shrunk");
	/* a patch: the first 100 changed (a longer value), 100-199 removed,
	 * 40 added */
	for (unsigned i = 0; i < 330; i++)
		if (i < 100 || i >= 200)
			add_odd(&want, i, i < 100 ? 50 : 1 + i % 37);
	for (unsigned i = 330; i < 370; i++)
		add_odd(&want, i, 7);
	for (unsigned i = 0; i < 330; i++) {
		const struct sl_obj *o = &a.v[i];

		cr_assert_eq(objset_add(&have, (enum sl_obj_kind)o->kind, obj_key(&a, o), o->klen, obj_val(&a, o),
					o->vlen),
			     0);
	}
	objset_sort(&want);
	objset_sort(&have);
	cr_assert_eq(sl_diff(&want, &have, &d), 0);
	cr_assert_eq(sl_diff_patch(&a, &want, &have, &d), 0);
	check_aligned(&a, "patched");
	cr_assert_eq(a.n, want.n);
	for (size_t i = 0; i < a.n; i++) {
		cr_assert_eq(obj_cmp(&a, &a.v[i], &want, &want.v[i]), 0);
		cr_assert_eq(a.v[i].vlen, want.v[i].vlen);
		cr_assert_eq(memcmp(obj_val(&a, &a.v[i]), obj_val(&want, &want.v[i]), want.v[i].vlen), 0);
	}
	sl_diff_free(&d);
	objset_free(&a);
	objset_free(&b);
	objset_free(&want);
	objset_free(&have);
}
