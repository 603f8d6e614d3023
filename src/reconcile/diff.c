/* SPDX-License-Identifier: Apache-2.0 */
#include "diff.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

const char *const sl_op_name[SL_CHANGE_OPS] = { "add", "change", "remove" };

static int push(struct sl_diff *d, enum sl_op op, uint8_t kind, size_t want, size_t have)
{
	if (grow_array((void **)&d->v, &d->cap, d->n + 1, sizeof(*d->v)) < 0)
		return -ENOMEM;
	d->v[d->n++] = (struct sl_change){ .op = (uint8_t)op, .kind = kind,
					   .want = want == SIZE_MAX ? SL_DIFF_NONE : (uint32_t)want,
					   .have = have == SIZE_MAX ? SL_DIFF_NONE : (uint32_t)have };
	d->count[op]++;
	return 0;
}

int sl_diff(const struct sl_objset *want, const struct sl_objset *have, struct sl_diff *out)
{
	return sl_diff_seen(want, have, NULL, out);
}

int sl_diff_seen(const struct sl_objset *want, const struct sl_objset *have, const struct sl_objset_filter *seen,
		 struct sl_diff *out)
{
	size_t i = 0, j = 0;
	int r = 0;

	memset(out, 0, sizeof(*out));
	while (r >= 0 && (i < want->n || j < have->n)) {
		const struct sl_obj *w = i < want->n ? &want->v[i] : NULL;
		const struct sl_obj *h = j < have->n ? &have->v[j] : NULL;
		int c = !w ? 1 : !h ? -1 : obj_cmp(want, w, have, h);

		if (c < 0 && objset_filter_seen(seen, i)) {
			i++; /* in the kernel as it should be */
		} else if (c < 0) {
			r = push(out, SL_OP_ADD, w->kind, i++, SIZE_MAX);
		} else if (c > 0) {
			r = push(out, SL_OP_REMOVE, h->kind, SIZE_MAX, j++);
		} else {
			if (w->vlen != h->vlen || memcmp(obj_val(want, w), obj_val(have, h), w->vlen))
				r = push(out, SL_OP_CHANGE, w->kind, i, j);
			i++;
			j++;
		}
	}
	if (r < 0)
		sl_diff_free(out);
	return r;
}

void sl_diff_free(struct sl_diff *d)
{
	free(d->v);
	memset(d, 0, sizeof(*d));
}

/* The first of s's objects not before (kind, key). */
static size_t lower_bound(const struct sl_objset *s, const struct sl_objset *ks, const struct sl_obj *k)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (obj_cmp(s, &s->v[mid], ks, k) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int patch_room(struct sl_objset *s, const struct sl_diff *d, const struct sl_objset *want)
{
	size_t more = 0, bytes = 0;

	for (size_t i = 0; i < d->n; i++) {
		const struct sl_change *c = &d->v[i];

		if (c->op == SL_OP_ADD)
			more++;
		/* an add or a change of length is written at the end: its
		 * bytes and the padding before them (a change of the same
		 * length, in place, counted too: room to spare) */
		if (c->op != SL_OP_REMOVE)
			bytes += obj_span(want->v[c->want].klen, want->v[c->want].vlen) + SL_OBJ_ALIGN - 1;
	}
	if (s->blen + bytes > UINT32_MAX)
		return -E2BIG;
	/* room for more than this change when it grows: not a copy of the
	 * whole array at every change */
	if (s->blen + bytes > s->bcap && bytes < s->blen / 4)
		bytes = s->blen / 4;
	if (s->n + more > s->cap && more < s->n / 4)
		more = s->n / 4;
	return objset_reserve(s, more, bytes);
}

/* Give back the bytes no object points to (a new array, in record order). */
static int patch_compact(struct sl_objset *s)
{
	size_t len = 0, at = 0;
	uint8_t *p;

	for (size_t i = 0; i < s->n; i++)
		len = obj_align(len) + obj_span(s->v[i].klen, s->v[i].vlen);
	p = calloc(1, len ? len : 1); /* the padding zero */
	if (!p)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		struct sl_obj *o = &s->v[i];
		size_t n = obj_span(o->klen, o->vlen);

		at = obj_align(at);
		memcpy(p + at, s->bytes + o->off, n);
		o->off = (uint32_t)at;
		at += n;
	}
	if (s->secret)
		explicit_bzero(s->bytes, s->bcap);
	free(s->bytes);
	s->bytes = p;
	s->blen = s->bcap = at;
	s->garbage = 0;
	return 0;
}

int sl_diff_patch(struct sl_objset *s, const struct sl_objset *want, const struct sl_objset *have,
		  const struct sl_diff *d)
{
	int r;

	/* every change checked first: s is changed all or not at all */
	for (size_t i = 0; i < d->n; i++) {
		const struct sl_change *c = &d->v[i];
		const struct sl_objset *ks = c->op == SL_OP_REMOVE ? have : want;
		const struct sl_obj *k = &ks->v[c->op == SL_OP_REMOVE ? c->have : c->want];
		size_t at = lower_bound(s, ks, k);
		bool there = at < s->n && obj_cmp(s, &s->v[at], ks, k) == 0;

		if (there != (c->op != SL_OP_ADD))
			return -EINVAL;
	}
	r = patch_room(s, d, want);
	if (r < 0)
		return r;
	for (size_t i = 0; i < d->n; i++) {
		const struct sl_change *c = &d->v[i];
		const struct sl_objset *ks = c->op == SL_OP_REMOVE ? have : want;
		const struct sl_obj *k = &ks->v[c->op == SL_OP_REMOVE ? c->have : c->want];
		size_t at = lower_bound(s, ks, k);
		struct sl_obj *o = &s->v[at];

		if (c->op == SL_OP_REMOVE) {
			s->garbage += obj_span(o->klen, o->vlen);
			memmove(o, o + 1, (s->n - at - 1) * sizeof(*o));
			s->n--;
			continue;
		}
		if (c->op == SL_OP_CHANGE && o->vlen == k->vlen) {
			memcpy(s->bytes + o->off + obj_align(o->klen), obj_val(want, k), k->vlen);
			continue;
		}
		if (c->op == SL_OP_CHANGE) {
			s->garbage += obj_span(o->klen, o->vlen);
		} else {
			memmove(o + 1, o, (s->n - at) * sizeof(*o));
			s->n++;
		}
		*o = (struct sl_obj){ .kind = k->kind, .klen = k->klen, .vlen = k->vlen };
		o->off = objset_put_bytes(s, obj_key(want, k), k->klen, obj_val(want, k), k->vlen);
	}
	/* without the memory for a copy, s stays as it is: still right */
	if (s->garbage > s->blen / 2)
		(void)patch_compact(s);
	return 0;
}
