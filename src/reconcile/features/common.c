/* SPDX-License-Identifier: Apache-2.0 */
/* What the validation of every feature shares: the path of the value being
 * checked, reports at it, duplicates across files, small checks of names,
 * addresses and prefixes, and the indexes of identities by id and label. */
#include "common.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <sluice/abi.h>

#include "reconcile/labels.h"
#include "reconcile/net.h"

size_t v_path(struct val *v, const char *fmt, ...)
{
	size_t saved = v->path.len;
	va_list ap;

	va_start(ap, fmt);
	if (strbuf_vaddf(&v->path, fmt, ap) < 0)
		v->oom = true;
	va_end(ap);
	return saved;
}

void v_pop(struct val *v, size_t saved)
{
	strbuf_truncate(&v->path, saved);
}

/* The shapes nearly every path step has, without printf: validation
 * builds a path for every item of a large state and prints few. */
void v_path_add(struct val *v, const char *s, size_t len)
{
	if (strbuf_add(&v->path, s, len) < 0)
		v->oom = true;
}

size_t v_path_lit(struct val *v, const char *s)
{
	size_t saved = v->path.len;

	v_path_add(v, s, strlen(s));
	return saved;
}

/* Decimal digits of n into buf (at least 10 bytes); returns their count. */
size_t v_u32_digits(uint32_t n, char *buf)
{
	char tmp[10];
	size_t k = 0;

	do
		tmp[k++] = (char)('0' + n % 10);
	while ((n /= 10));
	for (size_t i = 0; i < k; i++)
		buf[i] = tmp[k - 1 - i];
	return k;
}

/* "s[i]" */
size_t v_path_idx(struct val *v, const char *s, uint32_t i)
{
	size_t saved = v->path.len;
	char num[12];
	size_t n = v_u32_digits(i, num + 1);

	num[0] = '[';
	num[n + 1] = ']';
	v_path_add(v, s, strlen(s));
	v_path_add(v, num, n + 2);
	return saved;
}

/* "list[name]", or "list[i]" (index in its document) for a bad name. */
size_t v_path_item(struct val *v, const char *list, const char *name, uint32_t doc_index)
{
	size_t saved = v->path.len;

	if (!diag_path_name_ok(name))
		return v_path_idx(v, list, doc_index);
	v_path_add(v, list, strlen(list));
	v_path_add(v, "[", 1);
	v_path_add(v, name, strlen(name));
	v_path_add(v, "]", 1);
	return saved;
}

static void report(struct val *v, enum diag_severity sev, const char *file, const struct sl_mark *m,
		   const char *field, const char *fmt, va_list ap)
{
	size_t saved = v->path.len;

	if (field)
		v_path(v, "%s%s", v->path.len ? "." : "", field);
	diag_vadd(v->d, sev, file, m ? m->line : 0, m ? m->col : 0, strbuf_str(&v->path), fmt, ap);
	v_pop(v, saved);
}

/* An error at the current path (plus .field when not NULL). */
void v_err(struct val *v, const char *file, const struct sl_mark *m, const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(v, DIAG_ERROR, file, m, field, fmt, ap);
	va_end(ap);
}

void v_warn(struct val *v, const char *file, const struct sl_mark *m, const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(v, DIAG_WARNING, file, m, field, fmt, ap);
	va_end(ap);
}

void v_dup_reserve(struct val *v, struct dups *ds, size_t n)
{
	if (!n)
		return;
	if (grow_array((void **)&ds->v, &ds->cap, n, sizeof(*ds->v)) < 0)
		v->oom = true;
	else
		prefault(ds->v + ds->n, (ds->cap - ds->n) * sizeof(*ds->v));
}

void v_dup_add(struct val *v, struct dups *ds, const char *key, const char *file, const struct sl_mark *m,
		    const char *name, uint32_t doc_index)
{
	if (!key || !SL_MARK_OK(m))
		return;
	if (grow_array((void **)&ds->v, &ds->cap, ds->n + 1, sizeof(*ds->v)) < 0) {
		v->oom = true;
		return;
	}
	ds->v[ds->n] = (struct dup){ key, file, *m, (uint32_t)ds->n, doc_index, name };
	ds->n++;
}

int v_dup_cmp(const void *pa, const void *pb)
{
	const struct dup *a = pa, *b = pb;
	int r = strcmp(a->key, b->key);

	return r ? r : (a->order < b->order ? -1 : a->order > b->order);
}

/* Whether some key is there twice: one pass over a table of the keys by
 * hash (true also when the table cannot be made: the caller then sorts). */
static bool dup_any(const struct dup *v, size_t n)
{
	size_t cap = 16, mask;
	uint32_t *slot;

	while (cap < 2 * n)
		cap *= 2;
	if (n > UINT32_MAX - 1 || !(slot = calloc(cap, sizeof(*slot))))
		return true;
	mask = cap - 1;
	for (size_t i = 0; i < n; i++) {
		size_t h = (size_t)fnv1a64(FNV1A64_INIT, v[i].key, strlen(v[i].key)) & mask;

		for (; slot[h]; h = (h + 1) & mask)
			if (streq(v[slot[h] - 1].key, v[i].key)) {
				free(slot);
				return true;
			}
		slot[h] = (uint32_t)i + 1;
	}
	free(slot);
	return false;
}

/* Report every later occurrence of a key, naming the first. Most lists
 * hold none: the keys' table says so without sorting them (a sort of
 * 20,000 services' keys by strcmp was a fifth of their validation). */
void v_dup_report(struct val *v, struct dups *ds)
{
	if (ds->n > 1 && !dup_any(ds->v, ds->n))
		ds->n = 0;
	if (ds->n > 1) /* qsort(NULL, 0) is undefined */
		qsort(ds->v, ds->n, sizeof(*ds->v), v_dup_cmp);
	for (size_t i = 1; i < ds->n; i++) {
		const struct dup *first = &ds->v[i], *d = &ds->v[i];
		size_t saved;

		while (first > ds->v && streq(first[-1].key, d->key))
			first--;
		if (first == d)
			continue;
		saved = v_path_item(v, ds->list, d->name, d->doc_index);
		v_err(v, d->file, &d->mark, ds->field, "%s %s is already used at %s:%u:%u", ds->what, diag_q(d->key),
		  first->file, first->mark.line, first->mark.col);
		v_pop(v, saved);
	}
	free(ds->v);
	ds->v = NULL;
	ds->n = ds->cap = 0;
}

const char *v_astrf(struct val *v, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	const char *p;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	p = arena_strndup(&v->scratch, buf, n < 0 ? 0 : (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
	if (!p)
		v->oom = true;
	return p;
}

/* Text kept for as long as the validation (keys that must outlive the
 * caller): in its scratch arena. */
const char *v_astr(struct val *v, const char *s, size_t len)
{
	const char *p = arena_strndup(&v->scratch, s, len);

	if (!p)
		v->oom = true;
	return p;
}

const char *v_u32_key(struct val *v, uint32_t n)
{
	char buf[12];

	return v_astr(v, buf, v_u32_digits(n, buf));
}

const char *v_prefix_key(struct val *v, const struct sl_prefix *p)
{
	char buf[64];

	sl_prefix_format(p, buf, sizeof(buf));
	return v_astr(v, buf, strlen(buf));
}

/* An address as one canonical text: "10.1.0.10", "fd00::10". */
const char *v_addr_key(struct val *v, const struct sl_prefix *p)
{
	char buf[64];

	inet_ntop(p->family == 4 ? AF_INET : AF_INET6, p->addr, buf, sizeof(buf));
	return v_astr(v, buf, strlen(buf));
}

/* ---- small checks ---- */

bool v_check_range(struct val *v, const char *file, const struct sl_mark *m, const char *field, uint64_t val,
			uint64_t lo, uint64_t hi, const char *what)
{
	if (!SL_MARK_OK(m) || (val >= lo && val <= hi))
		return true;
	v_err(v, file, m, field, "%" PRIu64 " is not %s (%" PRIu64 "..%" PRIu64 ")", val, what, lo, hi);
	return false;
}

bool v_check_addr(struct val *v, const char *file, const struct sl_mark *m, const char *field, const char *s,
		       int family, struct sl_prefix *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (!s || !SL_MARK_OK(m))
		return false;
	if (!sl_addr_parse(s, ret)) {
		v_err(v, file, m, field, "%s is not an %s address", diag_q(s),
		  family == 4 ? "IPv4" : family == 6 ? "IPv6" : "IPv4 or IPv6");
		return false;
	}
	if (family && ret->family != family) {
		v_err(v, file, m, field, "%s is an IPv%u address; %s takes an IPv%d address", s, ret->family, field,
		  family);
		return false;
	}
	return true;
}

bool v_check_prefix(struct val *v, const char *file, const struct sl_mark *m, const char *field, const char *s,
			 bool allow_bare, struct sl_prefix *ret)
{
	char why[256];

	if (!s || !SL_MARK_OK(m)) {
		memset(ret, 0, sizeof(*ret));
		return false;
	}
	if (!sl_prefix_parse(s, allow_bare, ret, why, sizeof(why))) {
		memset(ret, 0, sizeof(*ret));
		v_err(v, file, m, field, "%s", why);
		return false;
	}
	return true;
}

struct sl_prefix *v_prefixes(struct val *v, uint32_t n)
{
	struct sl_prefix *p;

	if (!n)
		return NULL;
	p = arena_alloc(&v->ld->arena, (size_t)n * sizeof(*p));
	if (!p) {
		v->oom = true;
		return NULL;
	}
	memset(p, 0, (size_t)n * sizeof(*p));
	return p;
}

void v_check_ifname(struct val *v, const char *file, const struct sl_mark *m, const char *field, const char *n)
{
	const char *p = n ? sl_ifname_problem(n) : NULL;

	if (p)
		v_err(v, file, m, field, "%s: %s", diag_q(n), p);
}

bool v_check_name(struct val *v, const char *file, const struct sl_mark *m, const char *n)
{
	const char *p = n ? sl_name_problem(n) : NULL;

	if (p)
		v_err(v, file, m, "name", "%s: %s", diag_q(n), p);
	return !p;
}

void v_check_labels(struct val *v, const char *file, const struct sl_label *l, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		const char *pk = sl_label_key_problem(l[i].key), *pv = sl_label_value_problem(l[i].value);
		size_t saved = v_path_lit(v, ".");

		if (diag_path_add_key(&v->path, l[i].key) < 0)
			v->oom = true;
		if (pk)
			v_err(v, file, &l[i].m[1], NULL, "%s is not a label key: %s", diag_q(l[i].key), pk);
		if (pv)
			v_err(v, file, &l[i].m[2], NULL, "%s is not a label value: %s", diag_q(l[i].value), pv);
		v_pop(v, saved);
	}
}

const char *v_reserved_identity(uint32_t id)
{
	static const char *const names[] = { NULL, "host", "world", "unmanaged", "health", "init", "remote-node" };

	return id < ARRAY_SIZE(names) ? names[id] : NULL;
}

/* ---- identity indexes ---- */

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

struct lidx_slot *v_lidx_find(struct val *v, const char *key, bool create)
{
	size_t mask, i;

	if (create && (v->lidx_n + 1) * 2 > v->lidx_cap) {
		size_t ncap = v->lidx_cap ? v->lidx_cap * 2 : 1024;
		struct lidx_slot *n = calloc(ncap, sizeof(*n));

		if (!n) {
			v->oom = true;
			return NULL;
		}
		for (size_t j = 0; j < v->lidx_cap; j++) {
			if (!v->lidx[j].key)
				continue;
			for (i = hash_str(v->lidx[j].key) & (ncap - 1); n[i].key; i = (i + 1) & (ncap - 1))
				;
			n[i] = v->lidx[j];
		}
		free(v->lidx);
		v->lidx = n;
		v->lidx_cap = ncap;
	}
	if (!v->lidx_cap)
		return NULL;
	mask = v->lidx_cap - 1;
	for (i = hash_str(key) & mask; v->lidx[i].key; i = (i + 1) & mask)
		if (streq(v->lidx[i].key, key))
			return &v->lidx[i];
	if (!create)
		return NULL;
	v->lidx[i].key = arena_strndup(&v->scratch, key, strlen(key));
	if (!v->lidx[i].key) {
		v->oom = true;
		return NULL;
	}
	v->lidx_n++;
	return &v->lidx[i];
}

void v_lidx_add(struct val *v, const char *key, uint32_t idx)
{
	struct lidx_slot *s = v_lidx_find(v, key, true);
	size_t cap;

	if (!s)
		return;
	cap = s->cap;
	if (grow_array((void **)&s->v, &cap, s->n + 1, sizeof(*s->v)) < 0) {
		v->oom = true;
		return;
	}
	s->cap = (uint32_t)cap;
	s->v[s->n++] = idx;
}

int v_id_ref_cmp(const void *a, const void *b)
{
	const struct id_ref *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id ? 1 : (x->idx < y->idx ? -1 : x->idx > y->idx);
}

const struct sl_identity *v_identity_by_id(struct val *v, uint32_t id, uint32_t *ret_idx)
{
	size_t lo = 0, hi = v->st->n_identities;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (v->ids[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < v->st->n_identities && v->ids[lo].id == id) {
		if (ret_idx)
			*ret_idx = v->ids[lo].idx;
		return &v->st->identities[v->ids[lo].idx];
	}
	return NULL;
}

void v_label_pair_key(char *buf, size_t len, const char *k, const char *val)
{
	snprintf(buf, len, "%s\x01%s", k, val);
}

/* Whether the selector matches an identity (used by an endpoint, when
 * endpoints_only). */
bool v_selector_matches_any(struct val *v, const struct sl_selector *s, bool endpoints_only)
{
	const struct sl_identity *ids = v->st->identities;
	const struct lidx_slot *cand = NULL;
	char key[1024];

	if (s->n_match_labels) {
		v_label_pair_key(key, sizeof(key), s->match_labels[0].key, s->match_labels[0].value);
		cand = v_lidx_find(v, key, false);
		if (!cand)
			return false;
	} else {
		for (uint32_t i = 0; i < s->n_exprs && !cand; i++) {
			if (s->exprs[i].op == SL_OP_EXISTS || s->exprs[i].op == SL_OP_IN) {
				cand = v_lidx_find(v, s->exprs[i].key, false);
				if (!cand)
					return false;
			}
		}
	}
	if (cand) {
		for (uint32_t i = 0; i < cand->n; i++) {
			uint32_t k = cand->v[i];

			if ((!endpoints_only || v->id_used[k]) &&
			    sl_selector_matches(s, ids[k].labels, ids[k].n_labels))
				return true;
		}
		return false;
	}
	for (uint32_t k = 0; k < v->st->n_identities; k++)
		if ((!endpoints_only || v->id_used[k]) && sl_selector_matches(s, ids[k].labels, ids[k].n_labels))
			return true;
	return false;
}

/* A label set as one string, keys sorted: for duplicate detection. */
static int label_ptr_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct sl_label *const *)a)->key, (*(const struct sl_label *const *)b)->key);
}

const char *v_label_set_key(struct val *v, const struct sl_label *l, uint32_t n)
{
	const struct sl_label **sorted = calloc(n + 1, sizeof(*sorted));
	struct strbuf b = {};
	const char *r;

	if (!sorted) {
		v->oom = true;
		return NULL;
	}
	for (uint32_t i = 0; i < n; i++)
		sorted[i] = &l[i];
	qsort(sorted, n, sizeof(*sorted), label_ptr_cmp);
	for (uint32_t i = 0; i < n; i++)
		strbuf_addf(&b, "%s%s=%s", i ? "," : "", sorted[i]->key, sorted[i]->value);
	free(sorted);
	r = arena_strndup(&v->scratch, strbuf_str(&b), b.len);
	strbuf_free(&b);
	if (!r)
		v->oom = true;
	return r;
}
