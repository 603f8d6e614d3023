/* SPDX-License-Identifier: Apache-2.0 */
#include "objset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "common/util.h"

/* Give the byte array cap bytes. A secret set's old array is wiped, not
 * left to the allocator as realloc would. */
static int bytes_resize(struct sl_objset *s, size_t cap)
{
	uint8_t *p;

	if (!s->secret) {
		p = realloc(s->bytes, cap ? cap : 1);
		if (!p)
			return -ENOMEM;
	} else {
		p = malloc(cap ? cap : 1);
		if (!p)
			return -ENOMEM;
		if (s->bytes) {
			memcpy(p, s->bytes, s->blen < cap ? s->blen : cap);
			explicit_bzero(s->bytes, s->bcap);
			free(s->bytes);
		}
	}
	s->bytes = p;
	s->bcap = cap;
	return 0;
}

static size_t filter_hash(enum sl_obj_kind kind, const void *key, size_t klen)
{
	return (size_t)XXH3_64bits_withSeed(key, klen, (XXH64_hash_t)kind);
}

int objset_filter_init(struct sl_objset_filter *f, const struct sl_objset *same)
{
	size_t cap = 16;

	while (cap < 2 * same->n)
		cap *= 2;
	*f = (struct sl_objset_filter){ .same = same, .mask = cap - 1 };
	f->seen = calloc(same->n / 64 + 1, sizeof(*f->seen));
	f->slot = same->n < UINT32_MAX ? calloc(cap, sizeof(*f->slot)) : NULL;
	if (!f->seen || !f->slot) {
		objset_filter_free(f);
		return -ENOMEM;
	}
	for (size_t i = 0; i < same->n; i++) {
		const struct sl_obj *o = &same->v[i];
		size_t h = filter_hash((enum sl_obj_kind)o->kind, obj_key(same, o), o->klen) & f->mask;

		while (f->slot[h])
			h = (h + 1) & f->mask;
		f->slot[h] = (uint32_t)i + 1;
	}
	return 0;
}

void objset_filter_free(struct sl_objset_filter *f)
{
	free(f->seen);
	free(f->slot);
	memset(f, 0, sizeof(*f));
}

/* The filter's object of that kind and key, or NULL. */
static const struct sl_obj *filter_find(const struct sl_objset_filter *f, enum sl_obj_kind kind, const void *key,
					size_t klen)
{
	const struct sl_objset *s = f->same;

	for (size_t h = filter_hash(kind, key, klen) & f->mask; f->slot[h]; h = (h + 1) & f->mask) {
		const struct sl_obj *o = &s->v[f->slot[h] - 1];

		if (o->kind == kind && o->klen == klen && !memcmp(obj_key(s, o), key, klen))
			return o;
	}
	return NULL;
}

/* Whether the filter's set holds this very object: then it is marked.
 * Threads may share a filter: the bits are set atomically. */
static bool filter_marks(const struct sl_objset_filter *f, enum sl_obj_kind kind, const void *key, size_t klen,
			 const void *val, size_t vlen)
{
	const struct sl_obj *o = filter_find(f, kind, key, klen);
	size_t i;

	if (!o || o->vlen != vlen || (vlen && memcmp(obj_val(f->same, o), val, vlen)))
		return false;
	i = (size_t)(o - f->same->v);
	/* two threads read maps into one filter (kernel_dump_maps) */
	__atomic_fetch_or(&f->seen[i / 64], (uint64_t)1 << (i % 64), __ATOMIC_RELAXED);
	return true;
}

int objset_add(struct sl_objset *s, enum sl_obj_kind kind, const void *key, size_t klen, const void *val,
	       size_t vlen)
{
	if (klen > UINT8_MAX || vlen > UINT16_MAX)
		return -EINVAL;
	if (s->filter && filter_marks(s->filter, kind, key, klen, val, vlen))
		return 0;
	if (sl_kind(kind) && (sl_kind(kind)->flags & SL_KIND_SECRET))
		s->secret = true;
	if (grow_array((void **)&s->v, &s->cap, s->n + 1, sizeof(*s->v)) < 0)
		return -ENOMEM;
	/* bytes is allocated by the first add, empty key and value or not:
	 * NULL + 0 below would be undefined */
	if (!s->bytes || obj_align(s->blen) + obj_span(klen, vlen) > s->bcap) {
		size_t cap = s->bcap ? s->bcap * 2 : 256;

		while (cap < obj_align(s->blen) + obj_span(klen, vlen))
			cap *= 2;
		if (bytes_resize(s, cap) < 0)
			return -ENOMEM;
	}
	s->v[s->n].off = objset_put_bytes(s, key, klen, val, vlen);
	s->v[s->n].kind = (uint8_t)kind;
	s->v[s->n].klen = (uint8_t)klen;
	s->v[s->n].vlen = (uint16_t)vlen;
	s->n++;
	s->sorted = false;
	return 0;
}

uint32_t objset_put_bytes(struct sl_objset *s, const void *key, size_t klen, const void *val, size_t vlen)
{
	size_t at = obj_align(s->blen);

	memset(s->bytes + s->blen, 0, at - s->blen);
	if (klen)
		memcpy(s->bytes + at, key, klen);
	memset(s->bytes + at + klen, 0, obj_align(klen) - klen);
	if (vlen)
		memcpy(s->bytes + at + obj_align(klen), val, vlen);
	s->blen = at + obj_span(klen, vlen);
	return (uint32_t)at;
}

int objset_add_kernel(struct sl_objset *s, enum sl_obj_kind kind, const void *key, size_t klen, const void *kval,
		      size_t kvlen)
{
	const struct sl_kind *k = sl_kind(kind);
	uint8_t form[SL_KIND_VLEN_MAX];

	if (k && k->pack && kvlen == k->vlen)
		return objset_add(s, kind, key, klen, form, k->pack(kval, form));
	return objset_add(s, kind, key, klen, kval, kvlen);
}

static int reserve(struct sl_objset *s, size_t more, size_t more_bytes)
{
	void *p;

	if (s->n + more > s->cap) {
		p = realloc(s->v, (s->n + more) * sizeof(*s->v));
		if (!p)
			return -ENOMEM;
		s->v = p;
		s->cap = s->n + more;
	}
	/* bytes exists once anything is reserved, empty keys and values or
	 * not: NULL + 0 would be undefined (objset_append's memcpy) */
	if ((s->blen + more_bytes > s->bcap || !s->bytes) && bytes_resize(s, s->blen + more_bytes) < 0)
		return -ENOMEM;
	/* what is reserved is about to be written (a reservation is exact,
	 * never a doubling's slack) */
	if (more_bytes)
		prefault(s->bytes + s->blen, more_bytes);
	if (more)
		prefault(s->v + s->n, more * sizeof(*s->v));
	return 0;
}

int objset_reserve(struct sl_objset *s, size_t more, size_t more_bytes)
{
	return reserve(s, more, more_bytes + more * SL_OBJ_PAD_MAX);
}

int objset_append(struct sl_objset *dst, const struct sl_objset *src)
{
	size_t base = dst->blen;

	if (!src->n)
		return 0;
	if (base + src->blen > UINT32_MAX)
		return -E2BIG;
	if (src->secret && !dst->secret) {
		/* from now on: what dst held so far is no secret, but its
		 * arrays to come will hold one */
		dst->secret = true;
	}
	if (reserve(dst, src->n, src->blen + SL_OBJ_ALIGN - 1) < 0)
		return -ENOMEM;
	/* src's objects are at SL_OBJ_ALIGN boundaries of its bytes: so they stay */
	base = obj_align(dst->blen);
	memset(dst->bytes + dst->blen, 0, base - dst->blen);
	memcpy(dst->bytes + base, src->bytes, src->blen);
	dst->blen = base + src->blen;
	for (size_t i = 0; i < src->n; i++) {
		dst->v[dst->n] = src->v[i];
		dst->v[dst->n++].off += (uint32_t)base;
	}
	dst->sorted = false;
	return 0;
}

int obj_cmp(const struct sl_objset *a, const struct sl_obj *x, const struct sl_objset *b, const struct sl_obj *y)
{
	int r;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	r = memcmp(obj_key(a, x), obj_key(b, y), x->klen < y->klen ? x->klen : y->klen);
	if (r)
		return r;
	return x->klen < y->klen ? -1 : x->klen > y->klen;
}

static const struct sl_objset *sort_set;

static int sort_cmp(const void *a, const void *b)
{
	return obj_cmp(sort_set, a, sort_set, b);
}

/*
 * Sort a run whose keys all have klen bytes into memcmp order: a stable
 * least-significant-byte radix sort, one counting pass per key byte that is
 * not the same in every key (a /32 IPv4 ipcache key varies in about 5 of its
 * 24 bytes). About 4x faster than qsort with memcmp at a million keys.
 * tmp has room for n objects.
 */
static int radix_sort(struct sl_obj *run, size_t n, const uint8_t *bytes, size_t klen, struct sl_obj *tmp)
{
	const uint8_t *first = bytes + run[0].off;
	uint8_t varies[256] = { 0 };
	uint16_t at[256];
	size_t m = 0, (*hist)[256];
	struct sl_obj *src = run, *dst = tmp, *t;

	if (klen > 256)
		return -E2BIG;
	/* Which key bytes differ from the first key's somewhere: only they
	 * are counted and ordered (a policy key varies in ~14 of its 68). */
	for (size_t i = 1; i < n; i++) {
		const uint8_t *k = bytes + run[i].off;
		size_t b = 0;

		for (; b + 8 <= klen; b += 8) {
			uint64_t x, y;

			memcpy(&x, k + b, 8);
			memcpy(&y, first + b, 8);
			if (x != y) /* then byte by byte: any byte order */
				for (size_t j = b; j < b + 8; j++)
					varies[j] |= k[j] ^ first[j];
		}
		for (; b < klen; b++)
			varies[b] |= k[b] ^ first[b];
	}
	for (size_t b = 0; b < klen; b++)
		if (varies[b])
			at[m++] = (uint16_t)b;
	if (!m)
		return 0;
	hist = calloc(m, sizeof(*hist));
	if (!hist)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *k = bytes + run[i].off;

		for (size_t j = 0; j < m; j++)
			hist[j][k[at[j]]]++;
	}
	for (size_t j = m; j-- > 0;) {
		size_t pos[256], sum = 0, b = at[j];

		for (int v = 0; v < 256; v++) {
			pos[v] = sum;
			sum += hist[j][v];
		}
		for (size_t i = 0; i < n; i++)
			dst[pos[bytes[src[i].off + b]]++] = src[i];
		t = src;
		src = dst;
		dst = t;
	}
	if (src != run)
		memcpy(run, src, n * sizeof(*run));
	free(hist);
	return 0;
}

void objset_sort(struct sl_objset *s)
{
	size_t count[SL_OBJ__MAX + 1] = { 0 }, start[SL_OBJ__MAX + 1];
	struct sl_obj *tmp;

	if (s->n < 2) {
		s->sorted = true;
		return;
	}
	/* Bucket by kind (a counting sort), then sort each kind's run. */
	tmp = malloc(s->n * sizeof(*tmp));
	if (!tmp) {
		sort_set = s;
		qsort(s->v, s->n, sizeof(*s->v), sort_cmp);
		sort_set = NULL;
		s->sorted = true;
		return;
	}
	for (size_t i = 0; i < s->n; i++)
		count[s->v[i].kind < SL_OBJ__MAX ? s->v[i].kind : SL_OBJ__MAX]++;
	start[0] = 0;
	for (int k = 1; k <= SL_OBJ__MAX; k++)
		start[k] = start[k - 1] + count[k - 1];
	for (size_t i = 0; i < s->n; i++)
		tmp[start[s->v[i].kind < SL_OBJ__MAX ? s->v[i].kind : SL_OBJ__MAX]++] = s->v[i];
	memcpy(s->v, tmp, s->n * sizeof(*tmp));
	sort_set = s;
	for (size_t k = 0, at = 0; k <= SL_OBJ__MAX; at += count[k], k++) {
		struct sl_obj *run = s->v + at;
		bool fixed = true;

		if (count[k] < 2)
			continue;
		for (size_t i = 1; i < count[k] && fixed; i++)
			fixed = run[i].klen == run[0].klen;
		if (!fixed || count[k] < 256 || radix_sort(run, count[k], s->bytes, run[0].klen, tmp) < 0)
			qsort(run, count[k], sizeof(*run), sort_cmp);
	}
	free(tmp);
	sort_set = NULL;
	s->sorted = true;
}

void objset_shrink(struct sl_objset *s)
{
	void *p;

	if (s->n && s->cap > s->n && (p = realloc(s->v, s->n * sizeof(*s->v)))) {
		s->v = p;
		s->cap = s->n;
	}
	if (s->blen && s->bcap > s->blen)
		bytes_resize(s, s->blen); /* on failure the larger array stays */
}

const struct sl_obj *objset_find(const struct sl_objset *s, enum sl_obj_kind kind, const void *key, size_t klen)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct sl_obj *o = &s->v[mid];
		int r = o->kind != kind ? (o->kind < kind ? -1 : 1) : memcmp(obj_key(s, o), key, o->klen < klen ? o->klen : klen);

		if (!r && o->kind == kind)
			r = o->klen < klen ? -1 : o->klen > klen;
		if (r < 0)
			lo = mid + 1;
		else if (r > 0)
			hi = mid;
		else
			return o;
	}
	return NULL;
}

size_t objset_count(const struct sl_objset *s, enum sl_obj_kind kind)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		n += s->v[i].kind == kind;
	return n;
}

bool objset_find_unsorted(const struct sl_objset *s, enum sl_obj_kind kind, const void *key, size_t klen)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].kind == kind && s->v[i].klen == klen && !memcmp(obj_key(s, &s->v[i]), key, klen))
			return true;
	return false;
}

void objset_free(struct sl_objset *s)
{
	if (s->secret && s->bytes)
		explicit_bzero(s->bytes, s->bcap);
	free(s->v);
	free(s->bytes);
	memset(s, 0, sizeof(*s));
}
