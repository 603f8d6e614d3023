/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Plan rendering (plan.h): grouping the changes and printing them. What a
 * change of each kind says is its kind's (kinds/<kind>.c, by the kind
 * table); the names of things come from kinds/desc.h.
 */
#include "plan.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "kinds/desc.h"
#include "kinds/service.h"
#include "model.h"

/* One change, with where it is printed. */
struct plan_item {
	struct sl_plan_group g;
	uint32_t change; /* index into the diff */
};

static const char *const section_name[SL_SEC__MAX] = {
	[SL_SEC_BACKENDS] = "backends", [SL_SEC_IDENTITIES] = "identities", [SL_SEC_XFRM] = "xfrm",		[SL_SEC_ROUTES] = "routes",	[SL_SEC_DEVICES] = "devices",
	[SL_SEC_IPCACHE] = "ipcache",	[SL_SEC_PREFILTER] = "prefilter", [SL_SEC_MAPS] = "maps",
	[SL_SEC_PROGS] = "programs",	[SL_SEC_OTHER] = "other"
};

/* ---- grouping ---- */

static void item_init(const struct sl_desc_ctx *c, uint32_t i, struct plan_item *it)
{
	_cleanup_(desc_view_wipe) struct sl_view v;
	const struct sl_kind *k = sl_kind(c->d->v[i].kind);

	desc_view_init(c, &c->d->v[i], &v);
	memset(it, 0, sizeof(*it));
	it->change = i;
	it->g.section = SL_SEC_OTHER;
	if (!desc_view_known(&v))
		return;
	it->g.section = k->section;
	if (k->group)
		k->group(c, &v, c->d->v[i].op, &it->g);
}

static int item_group_cmp(const struct plan_item *x, const struct plan_item *y)
{
	int r;

	if (x->g.section != y->g.section)
		return x->g.section < y->g.section ? -1 : 1;
	r = memcmp(x->g.name, y->g.name, sizeof(x->g.name));
	if (r)
		return r;
	return x->g.ep_id < y->g.ep_id ? -1 : x->g.ep_id > y->g.ep_id;
}

static int item_cmp(const void *a, const void *b)
{
	const struct plan_item *x = a, *y = b;
	int r = item_group_cmp(x, y);

	if (r)
		return r;
	if (x->g.rank != y->g.rank)
		return x->g.rank < y->g.rank ? -1 : 1;
	return x->change < y->change ? -1 : x->change > y->change;
}

static void item_swap(struct plan_item *a, struct plan_item *b)
{
	struct plan_item t = *a;

	*a = *b;
	*b = t;
}

static void item_sift(struct plan_item *v, size_t root, size_t n)
{
	for (size_t c; (c = 2 * root + 1) < n; root = c) {
		if (c + 1 < n && item_cmp(&v[c], &v[c + 1]) < 0)
			c++;
		if (item_cmp(&v[root], &v[c]) >= 0)
			return;
		item_swap(&v[root], &v[c]);
	}
}

/*
 * Sort items in place (an introsort: quicksort on the median of three,
 * insertion sort for short runs, heapsort past a depth): qsort would take
 * a second array the size of a large plan's (1 MB at 60k changes) while
 * the whole state is held. item_cmp is a total order (the change's index
 * last), so any sort gives the one order.
 */
static void items_sort(struct plan_item *v, size_t n, unsigned depth)
{
	while (n > 16) {
		struct plan_item *mid = v + n / 2, *last = v + n - 1;
		size_t i, j;

		if (!depth--) {
			for (size_t k = n / 2; k-- > 0;)
				item_sift(v, k, n);
			for (size_t k = n - 1; k > 0; k--) {
				item_swap(&v[0], &v[k]);
				item_sift(v, 0, k);
			}
			return;
		}
		/* the median of the first, the middle and the last to the end */
		if (item_cmp(mid, v) < 0)
			item_swap(mid, v);
		if (item_cmp(last, v) < 0)
			item_swap(last, v);
		if (item_cmp(mid, last) < 0)
			item_swap(mid, last);
		for (i = 0, j = 0; j < n - 1; j++)
			if (item_cmp(&v[j], last) < 0)
				item_swap(&v[i++], &v[j]);
		item_swap(&v[i], last);
		/* the shorter side first, the longer by the loop */
		if (i < n - i - 1) {
			items_sort(v, i, depth);
			v += i + 1;
			n -= i + 1;
		} else {
			items_sort(v + i + 1, n - i - 1, depth);
			n = i;
		}
	}
	for (size_t k = 1; k < n; k++)
		for (size_t m = k; m > 0 && item_cmp(&v[m - 1], &v[m]) > 0; m--)
			item_swap(&v[m - 1], &v[m]);
}

/* "endpoint web-1 (lxc-web1, id 17)", "endpoint lxc-web1 (id 17)",
 * "endpoint id 7 (gone)", "service web 10.96.0.10:80/TCP", "ipcache"... */
static void put_group(const struct sl_desc_ctx *c, const struct plan_item *it, struct sl_desc *d, struct strbuf *sb)
{
	char ifname[17];
	struct sl_endpoint_value evv;
	bool ev;
	const struct sl_endpoint *ep;

	if (it->g.section == SL_SEC_GONE) {
		desc_put(d, sb, "endpoint id %" PRIu32 " (gone)", it->g.ep_id);
		return;
	}
	if (it->g.section == SL_SEC_SERVICE) {
		struct sl_service_key k;
		const char *name;
		char fe[80];

		memcpy(&k, it->g.name, sizeof(k));
		name = desc_service_name(c, &k);
		sl_service_frontend_format(&k, fe, sizeof(fe));
		desc_put(d, sb, "service %s%s%s", name ? name : "", name ? " " : "", fe);
		return;
	}
	if (it->g.section != SL_SEC_ENDPOINT) {
		desc_put(d, sb, "%s", section_name[it->g.section]);
		return;
	}
	desc_name_copy(ifname, sizeof(ifname), it->g.name, 16);
	ev = desc_ep_value(c, (const char *)it->g.name, &evv);
	ep = desc_st_endpoint(c, ifname);
	if (ep && ep->name)
		desc_put(d, sb, "endpoint %s (%s", ep->name, ifname);
	else
		desc_put(d, sb, "endpoint %s%s", ifname, ev ? " (" : "");
	if (ev)
		desc_put(d, sb, "%sid %u", ep && ep->name ? ", " : "", evv.id);
	if (ev || (ep && ep->name))
		desc_put(d, sb, ")");
}

/* ---- rendering ---- */

/* indexed by enum sl_op */
static const char *const op_sign[] = { [SL_OP_ADD] = "+", [SL_OP_CHANGE] = "~", [SL_OP_REMOVE] = "-" };
static const char *const op_color[] = { [SL_OP_ADD] = "\033[32m", [SL_OP_CHANGE] = "\033[33m",
					[SL_OP_REMOVE] = "\033[31m" };
#define COLOR_BOLD "\033[1m"
#define COLOR_RESET "\033[0m"

/* Where the lines of a plan go, text or JSON. */
struct emitter {
	struct sl_desc *d;
	struct strbuf *out;
	bool json, color;
	bool counts_only;    /* --summary: count the lines, write none */
	struct strbuf group; /* JSON: the current group's name */
	size_t n;	     /* lines so far */
};

/* Hand what is rendered so far to the sink, so that a plan of a million
 * changes is never held whole in memory. */
static void drain(struct sl_desc *d, struct strbuf *out)
{
	if (!d->sink || d->err < 0 || out->len < (1u << 16))
		return;
	if (fwrite(out->s, 1, out->len, d->sink) != out->len)
		d->err = -EIO;
	strbuf_truncate(out, 0);
}

/* One line: the op, d->line and (JSON) d->obj[]. An sl_line_fn. */
static void emit(void *arg, int op, const char *kind, bool before, bool after)
{
	struct emitter *e = arg;
	struct sl_desc *d = e->d;

	if (op >= 0 && op < SL_CHANGE_OPS)
		d->count[op]++;
	if (e->counts_only)
		return;
	if (!e->json) {
		if (op >= 0 && op < (int)ARRAY_SIZE(op_sign))
			desc_put(d, e->out, "  %s%s%s %s\n", e->color ? op_color[op] : "", op_sign[op],
				 e->color ? COLOR_RESET : "", strbuf_str(&d->line));
		else
			desc_put(d, e->out, "  ? %s\n", strbuf_str(&d->line));
		e->n++;
		return;
	}
	desc_put(d, e->out, "%s{\"op\":", e->n++ ? "," : "");
	desc_json_str(d, e->out, op >= 0 && op <= SL_OP_REMOVE ? sl_op_name[op] : "unknown");
	desc_put(d, e->out, ",\"kind\":");
	desc_json_str(d, e->out, kind);
	desc_put(d, e->out, ",\"object\":");
	desc_json_str(d, e->out, strbuf_str(&d->line));
	desc_put(d, e->out, ",\"group\":");
	desc_json_str(d, e->out, strbuf_str(&e->group));
	for (int s = SL_BEFORE; s <= SL_AFTER; s++) {
		desc_put(d, e->out, ",\"%s\":", s == SL_BEFORE ? "before" : "after");
		if (s == SL_BEFORE ? before : after)
			desc_put(d, e->out, "{%s}", strbuf_str(&d->obj[s]));
		else
			desc_put(d, e->out, "null");
	}
	desc_put(d, e->out, "}");
}

/*
 * The plan's lines of items[0..n) in their order; with no items (a
 * summary: the lines counted, none written), of every change in the
 * diff's order but the hidden ones, n then being the diff's length (the
 * counts need no order, nor the memory of one).
 */
static void render_lines(const struct sl_desc_ctx *c, const struct plan_item *items, size_t n, bool json,
			 bool counts_only, bool color, struct sl_desc *d, struct strbuf *out)
{
	struct emitter e = { .d = d, .out = out, .json = json, .color = color, .counts_only = counts_only };
	size_t shown = 0;

	d->fields = json && !counts_only;
	if (json)
		desc_put(d, out, counts_only ? "{\"formatVersion\":" SL_JSON_FORMAT_VERSION
					    : "{\"formatVersion\":" SL_JSON_FORMAT_VERSION ",\"changes\":[");
	else if (!n && items)
		desc_put(d, out, "No changes.\n");
	for (size_t i = 0; i < n && d->err >= 0; i++) {
		struct plan_item one;
		const struct plan_item *it = items ? &items[i] : &one;
		const struct sl_change *ch;

		if (!items) {
			item_init(c, (uint32_t)i, &one);
			if (one.g.section == SL_SEC_HIDDEN)
				continue;
		}
		shown++;
		ch = &c->d->v[it->change];
		const struct sl_kind *k = sl_kind(ch->kind);
		struct sl_view v;

		if (!counts_only && (!i || item_group_cmp(&items[i - 1], it))) {
			if (json) {
				strbuf_truncate(&e.group, 0);
				put_group(c, it, d, &e.group);
			} else {
				desc_put(d, out, "%s", color ? COLOR_BOLD : "");
				put_group(c, it, d, out);
				desc_put(d, out, "%s\n", color ? COLOR_RESET : "");
			}
		}
		desc_view_init(c, ch, &v);
		if (desc_view_known(&v) && k->lines) {
			k->lines(c, &v, ch->op, d, emit, &e);
		} else {
			desc_describe(c, &v, d);
			emit(&e, ch->op, desc_view_known(&v) ? k->name : "unknown", v.val[SL_BEFORE] != NULL,
			     v.val[SL_AFTER] != NULL);
		}
		desc_view_wipe(&v);
		drain(d, out);
	}
	if (json)
		desc_put(d, out, "%s\"summary\":{\"add\":%zu,\"change\":%zu,\"remove\":%zu}}\n", counts_only ? "," : "],",
			 d->count[SL_OP_ADD],
			 d->count[SL_OP_CHANGE], d->count[SL_OP_REMOVE]);
	else if (shown)
		desc_put(d, out, "Plan: %zu to add, %zu to change, %zu to remove.\n", d->count[SL_OP_ADD],
			 d->count[SL_OP_CHANGE], d->count[SL_OP_REMOVE]);
	else if (!items)
		desc_put(d, out, "No changes.\n");
	strbuf_free(&e.group);
}

static int render(const struct sl_objset *want, const struct sl_objset *have, const struct sl_diff *d,
		  const struct sl_state *st, enum sl_plan_format fmt, bool color, FILE *sink, struct strbuf *out,
		  size_t *ret_counts)
{
	struct sl_desc_ctx c;
	struct sl_desc desc = { .sink = sink };
	struct plan_item *items = NULL;
	size_t start = out->len, n;
	bool json = fmt == SL_PLAN_JSON || fmt == SL_PLAN_JSON_SUMMARY;
	bool counts_only = fmt == SL_PLAN_TEXT_SUMMARY || fmt == SL_PLAN_JSON_SUMMARY;
	int r;

	r = desc_ctx_init(&c, want, have, d, st);
	if (r < 0)
		goto out;
	if (counts_only) {
		n = d->n; /* in the diff's order: render_lines */
	} else {
		items = calloc(d->n + 1, sizeof(*items));
		if (!items) {
			r = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < d->n; i++)
			item_init(&c, (uint32_t)i, &items[i]);
		items_sort(items, d->n, 2 * (unsigned)(64 - __builtin_clzll((unsigned long long)d->n | 1)));
		for (n = 0; n < d->n && items[n].g.section != SL_SEC_HIDDEN; n++)
			;
	}
	render_lines(&c, items, n, json, counts_only, color && !json, &desc, out);
	r = desc.err;
	if (ret_counts)
		memcpy(ret_counts, desc.count, sizeof(desc.count));
	if (r >= 0 && sink && fwrite(out->s ? out->s : "", 1, out->len, sink) != out->len)
		r = -EIO;
out:
	if (r < 0 || sink)
		strbuf_truncate(out, start);
	strbuf_free(&desc.line);
	strbuf_free(&desc.obj[SL_BEFORE]);
	strbuf_free(&desc.obj[SL_AFTER]);
	free(items);
	desc_ctx_free(&c);
	return r < 0 ? r : 0;
}

int sl_plan_render(const struct sl_objset *want, const struct sl_objset *have, const struct sl_diff *d,
		   const struct sl_state *st, enum sl_plan_format fmt, bool color, struct strbuf *out)
{
	return render(want, have, d, st, fmt, color, NULL, out, NULL);
}

int sl_plan_write(const struct sl_objset *want, const struct sl_objset *have, const struct sl_diff *d,
		  const struct sl_state *st, enum sl_plan_format fmt, bool color, FILE *f,
		  size_t ret_counts[SL_CHANGE_OPS])
{
	struct strbuf b = {};
	int r = render(want, have, d, st, fmt, color, f, &b, ret_counts);

	strbuf_free(&b);
	return r;
}
