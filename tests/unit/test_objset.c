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

/*
 * A verify's read through a filter of want (objset_filter_init,
 * sl_diff_seen) says exactly what a full read and sl_diff say: random
 * sets of several kinds with objects equal, changed (value or its
 * length), only wanted and only there, read in a random order; the
 * filtered set keeps only what differs.
 */
Test(objset, filtered_read_diffs_as_a_full_read)
{
	for (unsigned round = 0; round < 40; round++) {
		struct sl_objset want = {}, full = {}, kept = {};
		struct sl_objset_filter f;
		struct sl_diff a, b;
		size_t n = 1 + (size_t)(round * 97 % 3000), n_have = 0, differ = 0;
		unsigned seed = round * 7919 + 1;
		size_t *order;

		for (size_t i = 0; i < n; i++) {
			uint8_t key[12], val[9] = { 0 };
			unsigned fate = (seed = seed * 1103515245u + 12345u) >> 16;
			enum sl_obj_kind kind = (enum sl_obj_kind)(i % 3);

			make_key(key, 4, (unsigned)i);
			memcpy(key + 4, &i, sizeof(i));
			memcpy(val, &fate, sizeof(fate));
			/* 0-5 equal, 6 value changed, 7 longer, 8 only wanted, 9 only there */
			switch (fate % 10) {
			case 9:
				cr_assert_eq(objset_add(&full, kind, key, sizeof(key), val, 5), 0);
				differ++;
				break;
			case 8:
				cr_assert_eq(objset_add(&want, kind, key, sizeof(key), val, 5), 0);
				break;
			default:
				cr_assert_eq(objset_add(&want, kind, key, sizeof(key), val, 5), 0);
				if (fate % 10 == 6)
					val[4] ^= 1;
				cr_assert_eq(objset_add(&full, kind, key, sizeof(key), val, fate % 10 == 7 ? 9 : 5), 0);
				differ += fate % 10 >= 6;
			}
		}
		objset_sort(&want);
		/* the kernel's order is any order: full's, shuffled */
		n_have = full.n;
		order = malloc((n_have + 1) * sizeof(*order));
		for (size_t i = 0; i < n_have; i++)
			order[i] = i;
		for (size_t i = n_have; i > 1; i--) {
			size_t j = (seed = seed * 1103515245u + 12345u) % i, t = order[i - 1];

			order[i - 1] = order[j];
			order[j] = t;
		}
		cr_assert_eq(objset_filter_init(&f, &want), 0);
		kept.filter = &f;
		for (size_t i = 0; i < n_have; i++) {
			const struct sl_obj *o = &full.v[order[i]];

			cr_assert_eq(objset_add(&kept, (enum sl_obj_kind)o->kind, obj_key(&full, o), o->klen,
						obj_val(&full, o), o->vlen),
				     0);
		}
		kept.filter = NULL;
		objset_sort(&full);
		objset_sort(&kept);
		cr_assert_eq(kept.n, differ, "round %u: %zu kept, %zu differ", round, kept.n, differ);
		cr_assert_eq(sl_diff(&want, &full, &a), 0);
		cr_assert_eq(sl_diff_seen(&want, &kept, &f, &b), 0);
		cr_assert_eq(a.n, b.n, "round %u: %zu changes from the full read, %zu through the filter", round, a.n,
			     b.n);
		for (size_t i = 0; i < a.n; i++) {
			const struct sl_change *x = &a.v[i], *y = &b.v[i];

			cr_assert_eq(x->op, y->op);
			cr_assert_eq(x->kind, y->kind);
			cr_assert_eq(x->want, y->want);
			cr_assert_eq(x->have == SL_DIFF_NONE, y->have == SL_DIFF_NONE);
			if (x->have != SL_DIFF_NONE) {
				const struct sl_obj *p = &full.v[x->have], *q = &kept.v[y->have];

				cr_assert_eq(obj_cmp(&full, p, &kept, q), 0);
				cr_assert_eq(p->vlen, q->vlen);
				cr_assert_eq(memcmp(obj_val(&full, p), obj_val(&kept, q), p->vlen), 0);
			}
		}
		for (int op = 0; op < SL_CHANGE_OPS; op++)
			cr_assert_eq(a.count[op], b.count[op]);
		sl_diff_free(&a);
		sl_diff_free(&b);
		objset_filter_free(&f);
		free(order);
		objset_free(&want);
		objset_free(&full);
		objset_free(&kept);
	}
}
