/* SPDX-License-Identifier: Apache-2.0 */
#include "validate.h"
#include "keys.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/stat.h>

#include <sluice/abi.h>

#include "labels.h"
#include "net.h"

/* ---- context, paths and reports ---- */

struct id_ref {
	uint32_t id;
	uint32_t idx; /* into st->identities */
};

/* label "key=value" (and "key" alone) -> identities carrying it */
struct lidx_slot {
	const char *key;   /* arena: "k\x01v" or "k" */
	uint32_t *v;       /* identity indices */
	uint32_t n, cap;
};

struct v {
	struct sl_load *ld;
	struct sl_state *st;
	struct diag_list *d;
	const struct sl_validate_opts *o;
	struct strbuf path;
	const char *node; /* this node's name, when known */
	int node_idx;	  /* in st->nodes, or -1 */
	bool node_known;  /* whether "local" can be told for endpoints naming a node */
	struct id_ref *ids;
	bool *id_used;
	struct lidx_slot *lidx;
	size_t lidx_cap, lidx_n;
	bool oom;
};

static size_t P(struct v *v, const char *fmt, ...) _printf_(2, 3);
static size_t P(struct v *v, const char *fmt, ...)
{
	size_t saved = v->path.len;
	va_list ap;

	va_start(ap, fmt);
	if (strbuf_vaddf(&v->path, fmt, ap) < 0)
		v->oom = true;
	va_end(ap);
	return saved;
}

static void PR(struct v *v, size_t saved)
{
	strbuf_truncate(&v->path, saved);
}

/* The shapes nearly every path step has, without printf: validation
 * builds a path for every item of a large state and prints few. */
static void P_add(struct v *v, const char *s, size_t len)
{
	if (strbuf_add(&v->path, s, len) < 0)
		v->oom = true;
}

static size_t P_lit(struct v *v, const char *s)
{
	size_t saved = v->path.len;

	P_add(v, s, strlen(s));
	return saved;
}

/* Decimal digits of n into buf (at least 10 bytes); returns their count. */
static size_t u32_digits(uint32_t n, char *buf)
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
static size_t P_idx(struct v *v, const char *s, uint32_t i)
{
	size_t saved = v->path.len;
	char num[12];
	size_t n = u32_digits(i, num + 1);

	num[0] = '[';
	num[n + 1] = ']';
	P_add(v, s, strlen(s));
	P_add(v, num, n + 2);
	return saved;
}

/* "list[name]", or "list[i]" (index in its document) for a bad name. */
static size_t P_item(struct v *v, const char *list, const char *name, uint32_t doc_index)
{
	size_t saved = v->path.len;

	if (!diag_path_name_ok(name))
		return P_idx(v, list, doc_index);
	P_add(v, list, strlen(list));
	P_add(v, "[", 1);
	P_add(v, name, strlen(name));
	P_add(v, "]", 1);
	return saved;
}

static void report(struct v *v, enum diag_severity sev, const char *file, const struct sl_mark *m,
		   const char *field, const char *fmt, va_list ap)
{
	size_t saved = v->path.len;

	if (field)
		P(v, "%s%s", v->path.len ? "." : "", field);
	diag_vadd(v->d, sev, file, m ? m->line : 0, m ? m->col : 0, strbuf_str(&v->path), fmt, ap);
	PR(v, saved);
}

/* An error at the current path (plus .field when not NULL). */
static void E(struct v *v, const char *file, const struct sl_mark *m, const char *field, const char *fmt, ...)
	_printf_(5, 6);
static void E(struct v *v, const char *file, const struct sl_mark *m, const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(v, DIAG_ERROR, file, m, field, fmt, ap);
	va_end(ap);
}

static void W(struct v *v, const char *file, const struct sl_mark *m, const char *field, const char *fmt, ...)
	_printf_(5, 6);
static void W(struct v *v, const char *file, const struct sl_mark *m, const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(v, DIAG_WARNING, file, m, field, fmt, ap);
	va_end(ap);
}

/* ---- duplicates across files ---- */

struct dup {
	const char *key; /* what must be unique */
	const char *file;
	struct sl_mark mark;
	uint32_t order;
	uint32_t doc_index;
	const char *name; /* the item's name, or NULL */
};

struct dups {
	struct dup *v;
	size_t n, cap;
	const char *what;  /* "endpoint name" */
	const char *list;  /* "endpoints" */
	const char *field; /* "ipv4", or NULL */
};

static void dup_add(struct v *v, struct dups *ds, const char *key, const char *file, const struct sl_mark *m,
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

static int dup_cmp(const void *pa, const void *pb)
{
	const struct dup *a = pa, *b = pb;
	int r = strcmp(a->key, b->key);

	return r ? r : (a->order < b->order ? -1 : a->order > b->order);
}

/* Report every later occurrence of a key, naming the first. */
static void dup_report(struct v *v, struct dups *ds)
{
	if (ds->n > 1) /* qsort(NULL, 0) is undefined */
		qsort(ds->v, ds->n, sizeof(*ds->v), dup_cmp);
	for (size_t i = 1; i < ds->n; i++) {
		const struct dup *first = &ds->v[i], *d = &ds->v[i];
		size_t saved;

		while (first > ds->v && streq(first[-1].key, d->key))
			first--;
		if (first == d)
			continue;
		saved = P_item(v, ds->list, d->name, d->doc_index);
		E(v, d->file, &d->mark, ds->field, "%s %s is already used at %s:%u:%u", ds->what, diag_q(d->key),
		  first->file, first->mark.line, first->mark.col);
		PR(v, saved);
	}
	free(ds->v);
	ds->v = NULL;
	ds->n = ds->cap = 0;
}

static const char *astrf(struct v *v, const char *fmt, ...) _printf_(2, 3);
static const char *astrf(struct v *v, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	const char *p;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	p = arena_strndup(&v->ld->arena, buf, n < 0 ? 0 : (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
	if (!p)
		v->oom = true;
	return p;
}

/* Text kept in the loader's arena (keys that must outlive the caller). */
static const char *astr(struct v *v, const char *s, size_t len)
{
	const char *p = arena_strndup(&v->ld->arena, s, len);

	if (!p)
		v->oom = true;
	return p;
}

static const char *u32_key(struct v *v, uint32_t n)
{
	char buf[12];

	return astr(v, buf, u32_digits(n, buf));
}

static const char *prefix_key(struct v *v, const struct sl_prefix *p)
{
	char buf[64];

	sl_prefix_format(p, buf, sizeof(buf));
	return astr(v, buf, strlen(buf));
}

/* An address as one canonical text: "10.1.0.10", "fd00::10". */
static const char *addr_key(struct v *v, const struct sl_prefix *p)
{
	char buf[64];

	inet_ntop(p->family == 4 ? AF_INET : AF_INET6, p->addr, buf, sizeof(buf));
	return astr(v, buf, strlen(buf));
}

/* ---- small checks ---- */

static bool check_range(struct v *v, const char *file, const struct sl_mark *m, const char *field, uint64_t val,
			uint64_t lo, uint64_t hi, const char *what)
{
	if (!SL_MARK_OK(m) || (val >= lo && val <= hi))
		return true;
	E(v, file, m, field, "%" PRIu64 " is not %s (%" PRIu64 "..%" PRIu64 ")", val, what, lo, hi);
	return false;
}

static bool check_addr(struct v *v, const char *file, const struct sl_mark *m, const char *field, const char *s,
		       int family, struct sl_prefix *ret)
{
	struct sl_prefix p;

	if (!s || !SL_MARK_OK(m))
		return false;
	if (!sl_addr_parse(s, &p)) {
		E(v, file, m, field, "%s is not an %s address", diag_q(s),
		  family == 4 ? "IPv4" : family == 6 ? "IPv6" : "IPv4 or IPv6");
		return false;
	}
	if (family && p.family != family) {
		E(v, file, m, field, "%s is an IPv%u address; %s takes an IPv%d address", s, p.family, field, family);
		return false;
	}
	if (ret)
		*ret = p;
	return true;
}

static bool check_prefix(struct v *v, const char *file, const struct sl_mark *m, const char *field, const char *s,
			 bool allow_bare, struct sl_prefix *ret)
{
	char why[256];

	if (!s || !SL_MARK_OK(m))
		return false;
	if (!sl_prefix_parse(s, allow_bare, ret, why, sizeof(why))) {
		E(v, file, m, field, "%s", why);
		return false;
	}
	return true;
}

static void check_ifname(struct v *v, const char *file, const struct sl_mark *m, const char *field, const char *n)
{
	const char *p = n ? sl_ifname_problem(n) : NULL;

	if (p)
		E(v, file, m, field, "%s: %s", diag_q(n), p);
}

static bool check_name(struct v *v, const char *file, const struct sl_mark *m, const char *n)
{
	const char *p = n ? sl_name_problem(n) : NULL;

	if (p)
		E(v, file, m, "name", "%s: %s", diag_q(n), p);
	return !p;
}

static void check_labels(struct v *v, const char *file, const struct sl_label *l, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		const char *pk = sl_label_key_problem(l[i].key), *pv = sl_label_value_problem(l[i].value);
		size_t saved = P_lit(v, ".");

		if (diag_path_add_key(&v->path, l[i].key) < 0)
			v->oom = true;
		if (pk)
			E(v, file, &l[i].m[1], NULL, "%s is not a label key: %s", diag_q(l[i].key), pk);
		if (pv)
			E(v, file, &l[i].m[2], NULL, "%s is not a label value: %s", diag_q(l[i].value), pv);
		PR(v, saved);
	}
}

static const char *reserved_identity(uint32_t id)
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

static struct lidx_slot *lidx_find(struct v *v, const char *key, bool create)
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
	v->lidx[i].key = arena_strndup(&v->ld->arena, key, strlen(key));
	if (!v->lidx[i].key) {
		v->oom = true;
		return NULL;
	}
	v->lidx_n++;
	return &v->lidx[i];
}

static void lidx_add(struct v *v, const char *key, uint32_t idx)
{
	struct lidx_slot *s = lidx_find(v, key, true);
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

static int id_ref_cmp(const void *a, const void *b)
{
	const struct id_ref *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id ? 1 : (x->idx < y->idx ? -1 : x->idx > y->idx);
}

static const struct sl_identity *identity_by_id(struct v *v, uint32_t id, uint32_t *ret_idx)
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

static void label_pair_key(char *buf, size_t len, const char *k, const char *val)
{
	snprintf(buf, len, "%s\x01%s", k, val);
}

/* Whether the selector matches an identity (used by an endpoint, when
 * endpoints_only). */
static bool selector_matches_any(struct v *v, const struct sl_selector *s, bool endpoints_only)
{
	const struct sl_identity *ids = v->st->identities;
	const struct lidx_slot *cand = NULL;
	char key[1024];

	if (s->n_match_labels) {
		label_pair_key(key, sizeof(key), s->match_labels[0].key, s->match_labels[0].value);
		cand = lidx_find(v, key, false);
		if (!cand)
			return false;
	} else {
		for (uint32_t i = 0; i < s->n_exprs && !cand; i++) {
			if (s->exprs[i].op == SL_OP_EXISTS || s->exprs[i].op == SL_OP_IN) {
				cand = lidx_find(v, s->exprs[i].key, false);
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

static const char *label_set_key(struct v *v, const struct sl_label *l, uint32_t n)
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
	r = arena_strndup(&v->ld->arena, strbuf_str(&b), b.len);
	strbuf_free(&b);
	if (!r)
		v->oom = true;
	return r;
}

/* ---- nodes ---- */

struct pod_cidr {
	struct sl_prefix p;
	const struct sl_node *node;
	uint32_t idx; /* in node->pod_cidrs */
};

static int pod_cidr_cmp(const void *a, const void *b)
{
	const struct pod_cidr *x = a, *y = b;

	return sl_prefix_cmp(&x->p, &y->p);
}

static void validate_nodes(struct v *v)
{
	struct sl_state *st = v->st;
	struct dups names = { .what = "node name", .list = "nodes", .field = "name" },
		    ips = { .what = "node address", .list = "nodes", .field = "ip" };
	struct pod_cidr *pcs = NULL, *cur = NULL;
	size_t n_pcs = 0, cap_pcs = 0;

	for (uint32_t i = 0; i < st->n_nodes; i++) {
		const struct sl_node *nd = &st->nodes[i];
		size_t saved = P_item(v, "nodes", nd->name, nd->doc_index);
		struct sl_prefix ip;

		check_name(v, nd->file, SL_AT(nd, SL_NODE_NAME), nd->name);
		dup_add(v, &names, nd->name, nd->file, SL_AT(nd, SL_NODE_NAME), nd->name, nd->doc_index);
		if (check_addr(v, nd->file, SL_AT(nd, SL_NODE_IP), "ip", nd->ip, 0, &ip))
			dup_add(v, &ips, addr_key(v, &ip), nd->file, SL_AT(nd, SL_NODE_IP), nd->name, nd->doc_index);
		for (uint32_t j = 0; j < nd->n_pod_cidrs; j++) {
			size_t s2 = P_idx(v, ".podCIDRs", j);
			struct sl_prefix p;

			if (check_prefix(v, nd->file, &nd->pod_cidrs_m[j], NULL, nd->pod_cidrs[j], false, &p)) {
				if (grow_array((void **)&pcs, &cap_pcs, n_pcs + 1, sizeof(*pcs)) < 0)
					v->oom = true;
				else
					pcs[n_pcs++] = (struct pod_cidr){ p, nd, j };
			}
			PR(v, s2);
		}
		for (uint32_t j = 0; j < nd->n_encrypt_keys; j++) {
			size_t s2 = P_idx(v, ".encryptKeys", j);

			check_range(v, nd->file, &nd->encrypt_keys_m[j], NULL, nd->encrypt_keys[j], 1, SL_SPI_MAX,
				    "an SPI");
			/* (a value the loader refused is no key: not a duplicate) */
			for (uint32_t k = 0; k < j && SL_MARK_OK(&nd->encrypt_keys_m[j]); k++)
				if (SL_MARK_OK(&nd->encrypt_keys_m[k]) && nd->encrypt_keys[k] == nd->encrypt_keys[j])
					E(v, nd->file, &nd->encrypt_keys_m[j], NULL, "key %" PRIu32 " is listed twice",
					  nd->encrypt_keys[j]);
			PR(v, s2);
		}
		PR(v, saved);
	}
	dup_report(v, &names);
	dup_report(v, &ips);
	/* Pod CIDRs of different nodes (or the same) must not overlap. Sorted,
	 * a prefix that overlaps an earlier one is inside the earlier prefix
	 * reaching furthest. */
	if (n_pcs > 1)
		qsort(pcs, n_pcs, sizeof(*pcs), pod_cidr_cmp);
	for (size_t i = 0; i < n_pcs; i++) {
		struct pod_cidr *pc = &pcs[i];

		if (cur && cur->p.family == pc->p.family && sl_prefix_contains(&cur->p, &pc->p)) {
			size_t saved = P_item(v, "nodes", pc->node->name, pc->node->doc_index);

			P_idx(v, ".podCIDRs", pc->idx);
			E(v, pc->node->file, &pc->node->pod_cidrs_m[pc->idx], NULL,
			  "%s overlaps %s of node %s (%s:%u:%u)", pc->node->pod_cidrs[pc->idx],
			  cur->node->pod_cidrs[cur->idx], diag_cut(cur->node->name), cur->node->file,
			  cur->node->pod_cidrs_m[cur->idx].line, cur->node->pod_cidrs_m[cur->idx].col);
			PR(v, saved);
		} else {
			cur = pc;
		}
	}
	free(pcs);
}

static int node_index(const struct sl_state *st, const char *name)
{
	for (uint32_t i = 0; name && i < st->n_nodes; i++)
		if (streq(st->nodes[i].name, name))
			return (int)i;
	return -1;
}

static const char *node_names(struct v *v)
{
	struct strbuf b = {};
	const char *r;

	/* (names cut without diag_q's buffers: a message quotes beside it) */
	for (uint32_t i = 0; i < v->st->n_nodes && i < 10; i++) {
		strbuf_adds(&b, i ? ", " : "");
		diag_path_add_key(&b, v->st->nodes[i].name ? v->st->nodes[i].name : "?");
	}
	if (v->st->n_nodes > 10)
		strbuf_addf(&b, ", ... (%" PRIu32 " in all)", v->st->n_nodes);
	r = astrf(v, "%s", strbuf_str(&b));
	strbuf_free(&b);
	return r;
}

/* Which node this machine is. */
static void resolve_this_node(struct v *v)
{
	struct sl_state *st = v->st;
	const struct sl_datapath *dp = st->datapath;
	bool from_flag = v->o->node != NULL, from_file = !from_flag && st->node;
	const char *name = from_flag ? v->o->node : from_file ? st->node : v->o->hostname;
	bool needs = dp->tunnel == SL_TUNNEL_VXLAN || (st->encryption && st->encryption->enabled);

	v->node_idx = node_index(st, name);
	v->node = name;
	v->node_known = name != NULL;
	if (st->n_nodes && v->node_idx < 0 && name) {
		if (from_flag) {
			diag_add(v->d, DIAG_ERROR, "(command line)", 0, 0, "--node",
				 "%s is not one of the nodes (%s)", diag_q(name), node_names(v));
		} else if (from_file) {
			size_t saved = P_lit(v, "node");

			E(v, st->node_origin.file, &st->node_origin.mark, NULL, "%s is not one of the nodes (%s)",
			  diag_q(name), node_names(v));
			PR(v, saved);
		} else {
			/* The host name is a guess, not something the user said. */
			v->node_known = false;
			v->node = NULL;
		}
	}
	if (needs && !st->n_nodes) {
		if (dp->tunnel == SL_TUNNEL_VXLAN) {
			size_t saved = P_lit(v, "datapath");

			E(v, st->datapath_origin.file, SL_AT(dp, SL_DP_TUNNEL), "tunnel",
			  "tunnel: vxlan needs the nodes to tunnel to: add a 'nodes' section");
			PR(v, saved);
		}
		if (st->encryption && st->encryption->enabled) {
			size_t saved = P_lit(v, "encryption");

			E(v, st->encryption_origin.file, SL_AT(st->encryption, SL_ENC_ENABLED), "enabled",
			  "encryption needs the nodes to encrypt to: add a 'nodes' section");
			PR(v, saved);
		}
	} else if (needs && v->node_idx < 0 && !from_flag && !from_file) {
		const struct sl_node *n0 = &st->nodes[0];
		const char *why = st->encryption && st->encryption->enabled ? "encryption" : "tunnel: vxlan";

		diag_add(v->d, v->o->strict_node ? DIAG_ERROR : DIAG_WARNING, n0->file, n0->m[0].line, n0->m[0].col,
			 "node",
			 "%s needs to know which node this machine is, and the host name%s%s%s is not one of the "
			 "nodes; set 'node:' or give --node",
			 why, v->o->hostname ? " '" : "", v->o->hostname ? v->o->hostname : "",
			 v->o->hostname ? "'" : "");
	}
	if (v->node_idx >= 0 || (v->node_known && !st->n_nodes))
		st->node = (char *)v->node;
}

/* ---- datapath, prefilter ---- */

/* The words of every warning about a setting that this version reads and
 * checks but does not carry out (sluice-state(5) marks each "Not yet"). */
#define NOT_YET "is not carried out yet by this version of sluice"

static void validate_datapath(struct v *v)
{
	const struct sl_datapath *dp = v->st->datapath;
	const char *f = v->st->datapath_origin.file;
	size_t saved = P_lit(v, "datapath");

	bool mode_ok = !SL_GIVEN(dp, SL_DP_MODE) || SL_HAS(dp, SL_DP_MODE),
	     tunnel_ok = !SL_GIVEN(dp, SL_DP_TUNNEL) || SL_HAS(dp, SL_DP_TUNNEL);

	if (dp->mode == SL_MODE_IPVLAN && !SL_GIVEN(dp, SL_DP_IPVLAN_MASTER))
		E(v, f, SL_AT(dp, SL_DP_MODE), "mode", "mode: ipvlan needs ipvlanMaster, the device the endpoints' "
						       "ipvlan slaves hang off");
	if (mode_ok && dp->mode != SL_MODE_IPVLAN && SL_HAS(dp, SL_DP_IPVLAN_MASTER))
		W(v, f, SL_AT(dp, SL_DP_IPVLAN_MASTER), "ipvlanMaster",
		  "ipvlanMaster is used only with mode: ipvlan and is ignored");
	check_ifname(v, f, SL_AT(dp, SL_DP_IPVLAN_MASTER), "ipvlanMaster", dp->ipvlan_master);
	check_ifname(v, f, SL_AT(dp, SL_DP_UNDERLAY_DEVICE), "underlayDevice", dp->underlay_device);
	check_range(v, f, SL_AT(dp, SL_DP_VXLAN_PORT), "vxlanPort", dp->vxlan_port, 1, 65535, "a port");
	if (tunnel_ok && SL_HAS(dp, SL_DP_VXLAN_PORT) && dp->vxlan_port >= 1 && dp->vxlan_port <= 65535 &&
	    dp->tunnel != SL_TUNNEL_VXLAN)
		W(v, f, SL_AT(dp, SL_DP_VXLAN_PORT), "vxlanPort", "vxlanPort is used only with tunnel: vxlan");
	if (dp->cgroup_path && dp->cgroup_path[0] != '/')
		E(v, f, SL_AT(dp, SL_DP_CGROUP_PATH), "cgroupPath", "%s is not an absolute path", diag_q(dp->cgroup_path));
	if (SL_HAS(dp, SL_DP_MODE) && dp->mode == SL_MODE_IPVLAN)
		W(v, f, SL_AT(dp, SL_DP_MODE), "mode",
		  "ipvlan " NOT_YET ": the programs are attached to each endpoint's interface as on the host side "
		  "of a veth, and ipvlanMaster is not used");
	if (SL_HAS(dp, SL_DP_TUNNEL) && dp->tunnel == SL_TUNNEL_VXLAN)
		W(v, f, SL_AT(dp, SL_DP_TUNNEL), "tunnel",
		  "vxlan " NOT_YET ": no sluice_vxlan device is created and traffic to other nodes is not "
		  "encapsulated");
	if (SL_HAS(dp, SL_DP_SOCKET_ACCELERATION) && dp->socket_acceleration)
		W(v, f, SL_AT(dp, SL_DP_SOCKET_ACCELERATION), "socketAcceleration",
		  "socket acceleration " NOT_YET ": no sockops or sk_msg program is attached, and connections "
		  "between local endpoints take the usual path");
	if (SL_HAS(dp, SL_DP_HOST_REACHABLE_SERVICES) && dp->host_reachable_services)
		W(v, f, SL_AT(dp, SL_DP_HOST_REACHABLE_SERVICES), "hostReachableServices",
		  "hostReachableServices " NOT_YET ": services are translated for the traffic of local "
		  "endpoints only, not at connect() or sendmsg() of the node's own processes");
	if (dp->map_sizes) {
		P_lit(v, ".mapSizes");
		for (unsigned i = 0; i < SL_MAP__MAX; i++)
			check_range(v, f, SL_AT(dp->map_sizes, i), sl_map_size_name[i], dp->map_sizes->size[i], 1,
				    1u << 26, "a map size");
	}
	PR(v, saved);
}

static void validate_prefilter(struct v *v)
{
	const struct sl_prefilter *pf = v->st->prefilter;
	const char *f = v->st->prefilter_origin.file;
	size_t saved;
	struct dups seen = { .what = "prefix", .list = "prefilter.deny" };

	if (!pf)
		return;
	saved = P_lit(v, "prefilter");
	check_ifname(v, f, SL_AT(pf, SL_PF_DEVICE), "device", pf->device);
	for (uint32_t i = 0; i < pf->n_deny; i++) {
		size_t s2 = P_idx(v, ".deny", i);
		struct sl_prefix p;

		if (check_prefix(v, f, &pf->deny_m[i], NULL, pf->deny[i], true, &p)) {
			dup_add(v, &seen, prefix_key(v, &p), f, &pf->deny_m[i], NULL, i);
			if (p.len == 0)
				W(v, f, &pf->deny_m[i], NULL,
				  "%s drops every IPv%u packet that arrives on %s, whatever its source (replies to "
				  "the node's own connections included)",
				  pf->deny[i], p.family, pf->device ? diag_cut(pf->device) : "the device");
		}
		PR(v, s2);
	}
	PR(v, saved);
	/* A repeated prefix is harmless; say so as a warning. */
	if (seen.n > 1)
		qsort(seen.v, seen.n, sizeof(*seen.v), dup_cmp);
	for (size_t i = 1; i < seen.n; i++)
		if (streq(seen.v[i].key, seen.v[i - 1].key)) {
			size_t s2 = P_idx(v, "prefilter.deny", seen.v[i].doc_index);

			W(v, f, &seen.v[i].mark, NULL, "%s is listed more than once", seen.v[i].key);
			PR(v, s2);
		}
	free(seen.v);
}

/* ---- identities ---- */

static void validate_identities(struct v *v)
{
	struct sl_state *st = v->st;
	struct dups ids = { .what = "identity", .list = "identities", .field = "id" },
		    sets = { .what = "label set", .list = "identities", .field = "labels" };

	v->ids = calloc(st->n_identities + 1, sizeof(*v->ids));
	v->id_used = calloc(st->n_identities + 1, sizeof(*v->id_used));
	if (!v->ids || !v->id_used) {
		v->oom = true;
		return;
	}
	for (uint32_t i = 0; i < st->n_identities; i++) {
		const struct sl_identity *id = &st->identities[i];
		bool has_id = SL_HAS(id, SL_IDENTITY_ID);
		size_t saved = P_idx(v, "identities", has_id ? id->id : id->doc_index);
		const char *reserved = reserved_identity(id->id);

		if (!has_id)
			; /* refused by the loader, and reported there */
		else if (id->id == 0)
			E(v, id->file, SL_AT(id, SL_IDENTITY_ID), "id", "0 is not an identity (256..16777215)");
		else if (id->id < SL_IDENTITY_MIN)
			E(v, id->file, SL_AT(id, SL_IDENTITY_ID), "id",
			  "identity %" PRIu32 " is reserved%s%s%s; identities of your own are 256..16777215", id->id,
			  reserved ? " (" : "", reserved ? reserved : "", reserved ? ")" : "");
		else if (id->id > SL_IDENTITY_MAX)
			E(v, id->file, SL_AT(id, SL_IDENTITY_ID), "id",
			  "identity %" PRIu32 " is in the range sluice gives CIDRs (16777216 and up); identities "
			  "of your own are 256..16777215",
			  id->id);
		if (!id->n_labels && SL_HAS(id, SL_IDENTITY_LABELS))
			E(v, id->file, SL_AT(id, SL_IDENTITY_LABELS), "labels", "an identity needs at least one label");
		P_lit(v, ".labels");
		check_labels(v, id->file, id->labels, id->n_labels);
		PR(v, saved);
		if (has_id)
			dup_add(v, &ids, astrf(v, "%" PRIu32, id->id), id->file, SL_AT(id, SL_IDENTITY_ID), astrf(v, "%" PRIu32, id->id), id->doc_index);
		if (id->n_labels && SL_HAS(id, SL_IDENTITY_LABELS))
			dup_add(v, &sets, label_set_key(v, id->labels, id->n_labels), id->file, SL_AT(id, SL_IDENTITY_LABELS), astrf(v, "%" PRIu32, id->id), id->doc_index);
		v->ids[i] = (struct id_ref){ id->id, i };
		for (uint32_t j = 0; j < id->n_labels; j++) {
			char key[1024];

			label_pair_key(key, sizeof(key), id->labels[j].key, id->labels[j].value);
			lidx_add(v, key, i);
			lidx_add(v, id->labels[j].key, i);
		}
	}
	dup_report(v, &ids);
	dup_report(v, &sets);
	qsort(v->ids, st->n_identities, sizeof(*v->ids), id_ref_cmp);
}

/* ---- endpoints ---- */

/* Whether an endpoint lives on this node; *known false when that cannot be
 * told (it names a node, and which node this is is not known). */
static bool endpoint_local(const struct v *v, const struct sl_endpoint *ep, bool *known)
{
	*known = true;
	if (!ep->node)
		return true;
	*known = v->node_known;
	return v->node_known && streq(ep->node, v->node);
}

/* Parsed pod CIDRs of every node, parsed once. */
struct node_cidrs {
	struct sl_prefix *v;
	uint32_t n;
};

static void endpoint_in_pod_cidrs(struct v *v, const struct sl_endpoint *ep, const struct sl_node *owner,
				  const struct node_cidrs *nc, const struct sl_prefix *a, int field)
{
	bool any = false;

	for (uint32_t j = 0; j < nc->n; j++) {
		if (nc->v[j].family != a->family)
			continue;
		if (sl_prefix_contains(&nc->v[j], a))
			return;
		any = true;
	}
	if (any)
		W(v, ep->file, SL_AT(ep, field), field == SL_EP_IPV4 ? "ipv4" : "ipv6",
		  "%s is outside the pod CIDRs of node %s", field == SL_EP_IPV4 ? ep->ipv4 : ep->ipv6,
		  diag_cut(owner->name));
}

/* An address no endpoint can have: refused (0.0.0.0, loopback, ...). */
static bool endpoint_addr_ok(struct v *v, const struct sl_endpoint *ep, int field, const struct sl_prefix *a)
{
	const char *why = sl_addr_endpoint_problem(a);
	bool v4 = field == SL_EP_IPV4;

	if (!why)
		return true;
	E(v, ep->file, SL_AT(ep, field), v4 ? "ipv4" : "ipv6", "%s is %s, which no endpoint can have%s",
	  v4 ? ep->ipv4 : ep->ipv6, why, strstr(why, "IPv4-mapped") ? "; give the IPv4 address as ipv4" : "");
	return false;
}

static void validate_endpoint(struct v *v, struct sl_endpoint *ep, const struct node_cidrs *ncs)
{
	struct sl_state *st = v->st;
	size_t saved = P_item(v, "endpoints", ep->name, ep->doc_index);
	int owner_idx = v->node_idx;
	bool local_known, local = endpoint_local(v, ep, &local_known);
	struct sl_prefix a4, a6;
	bool has4, has6;

	check_name(v, ep->file, SL_AT(ep, SL_EP_NAME), ep->name);
	/* Where it lives. */
	if (SL_HAS(ep, SL_EP_NODE)) {
		owner_idx = node_index(st, ep->node);
		if (owner_idx < 0 && st->n_nodes)
			E(v, ep->file, SL_AT(ep, SL_EP_NODE), "node", "%s is not one of the nodes (%s)", diag_q(ep->node),
			  node_names(v));
		else if (owner_idx < 0 && !(v->node_known && streq(ep->node, v->node)))
			E(v, ep->file, SL_AT(ep, SL_EP_NODE), "node",
			  "%s is not a known node: the state has no 'nodes' section", diag_q(ep->node));
	}
	/* Its device, on this node. */
	if (SL_HAS(ep, SL_EP_INTERFACE))
		check_ifname(v, ep->file, SL_AT(ep, SL_EP_INTERFACE), "interface", ep->interface);
	else if (local && local_known && !SL_GIVEN(ep, SL_EP_INTERFACE))
		E(v, ep->file, &ep->m[0], NULL, "missing required key 'interface' (the endpoint's device on this node)");
	/* Addresses, inside the pod CIDRs of the node that owns it. */
	has4 = check_addr(v, ep->file, SL_AT(ep, SL_EP_IPV4), "ipv4", ep->ipv4, 4, &a4);
	has6 = check_addr(v, ep->file, SL_AT(ep, SL_EP_IPV6), "ipv6", ep->ipv6, 6, &a6);
	has4 = has4 && endpoint_addr_ok(v, ep, SL_EP_IPV4, &a4);
	has6 = has6 && endpoint_addr_ok(v, ep, SL_EP_IPV6, &a6);
	if (!SL_GIVEN(ep, SL_EP_IPV4) && !SL_GIVEN(ep, SL_EP_IPV6))
		E(v, ep->file, &ep->m[0], NULL, "an endpoint needs an address: give ipv4, ipv6 or both");
	if (owner_idx >= 0) {
		if (has4)
			endpoint_in_pod_cidrs(v, ep, &st->nodes[owner_idx], &ncs[owner_idx], &a4, SL_EP_IPV4);
		if (has6)
			endpoint_in_pod_cidrs(v, ep, &st->nodes[owner_idx], &ncs[owner_idx], &a6, SL_EP_IPV6);
	}
	/* Identity: by number, or by labels equal to one identity's. */
	if (SL_GIVEN(ep, SL_EP_IDENTITY) && SL_GIVEN(ep, SL_EP_LABELS)) {
		E(v, ep->file, SL_AT(ep, SL_EP_LABELS), "labels", "give either identity or labels, not both");
	} else if (SL_HAS(ep, SL_EP_IDENTITY)) {
		uint32_t idx;

		if (identity_by_id(v, ep->identity, &idx))
			v->id_used[idx] = true;
		else if (ep->identity < SL_IDENTITY_MIN)
			E(v, ep->file, SL_AT(ep, SL_EP_IDENTITY), "identity",
			  "identity %" PRIu32 " is reserved; an endpoint takes one of the identities listed in "
			  "'identities'",
			  ep->identity);
		else
			E(v, ep->file, SL_AT(ep, SL_EP_IDENTITY), "identity",
			  "identity %" PRIu32 " is not defined in 'identities'", ep->identity);
	} else if (SL_HAS(ep, SL_EP_LABELS)) {
		size_t before = v->d->n_errors, s2 = P_lit(v, ".labels");
		const struct lidx_slot *cand = NULL;
		bool found = false;

		check_labels(v, ep->file, ep->labels, ep->n_labels);
		PR(v, s2);
		if (ep->n_labels && v->d->n_errors == before) {
			char key[1024];

			label_pair_key(key, sizeof(key), ep->labels[0].key, ep->labels[0].value);
			cand = lidx_find(v, key, false);
		}
		for (uint32_t j = 0; cand && j < cand->n && !found; j++) {
			const struct sl_identity *id = &st->identities[cand->v[j]];

			if (sl_labels_equal(ep->labels, ep->n_labels, id->labels, id->n_labels)) {
				ep->identity = id->id;
				v->id_used[cand->v[j]] = true;
				found = true;
			}
		}
		if (!found && v->d->n_errors == before)
			E(v, ep->file, SL_AT(ep, SL_EP_LABELS), "labels",
			  "these labels are not the labels of any identity; an endpoint's labels must equal one "
			  "identity's labels exactly");
	} else if (!SL_GIVEN(ep, SL_EP_IDENTITY) && !SL_GIVEN(ep, SL_EP_LABELS)) {
		E(v, ep->file, &ep->m[0], NULL, "an endpoint needs an identity: give identity or labels");
	}
	check_range(v, ep->file, SL_AT(ep, SL_EP_ID), "id", ep->id, 1, 65535, "an endpoint id");
	PR(v, saved);
}

/* Duplicates among endpoints, one kind at a time so that a large state
 * holds one index at once. */
enum { EP_DUP_NAME, EP_DUP_INTERFACE, EP_DUP_ADDRESS, EP_DUP_ID, EP_DUP__MAX };

static void endpoint_duplicates(struct v *v, int kind)
{
	static const struct {
		const char *what, *field;
	} kinds[EP_DUP__MAX] = {
		[EP_DUP_NAME] = { "endpoint name", "name" },
		[EP_DUP_INTERFACE] = { "interface", "interface" },
		[EP_DUP_ADDRESS] = { "address", NULL },
		[EP_DUP_ID] = { "endpoint id", "id" },
	};
	struct dups ds = { .what = kinds[kind].what, .list = "endpoints", .field = kinds[kind].field };
	const struct sl_state *st = v->st;
	struct sl_prefix a;

	for (uint32_t i = 0; i < st->n_endpoints; i++) {
		const struct sl_endpoint *ep = &st->endpoints[i];
		bool known, local = endpoint_local(v, ep, &known);

		switch (kind) {
		case EP_DUP_NAME:
			dup_add(v, &ds, ep->name, ep->file, SL_AT(ep, SL_EP_NAME), ep->name, ep->doc_index);
			break;
		case EP_DUP_INTERFACE:
			/* Interfaces are per node: only this node's count. */
			if (local && known)
				dup_add(v, &ds, ep->interface, ep->file, SL_AT(ep, SL_EP_INTERFACE), ep->name,
					ep->doc_index);
			break;
		case EP_DUP_ADDRESS:
			if (SL_HAS(ep, SL_EP_IPV4) && sl_addr_parse(ep->ipv4, &a))
				dup_add(v, &ds, addr_key(v, &a), ep->file, SL_AT(ep, SL_EP_IPV4), ep->name,
					ep->doc_index);
			if (SL_HAS(ep, SL_EP_IPV6) && sl_addr_parse(ep->ipv6, &a))
				dup_add(v, &ds, addr_key(v, &a), ep->file, SL_AT(ep, SL_EP_IPV6), ep->name,
					ep->doc_index);
			break;
		case EP_DUP_ID:
			if ((local || !known) && SL_HAS(ep, SL_EP_ID) && ep->id >= 1 && ep->id <= 65535)
				dup_add(v, &ds, u32_key(v, ep->id), ep->file, SL_AT(ep, SL_EP_ID), ep->name,
					ep->doc_index);
			break;
		}
	}
	if (kind == EP_DUP_ADDRESS) {
		/* The path names the field that holds the address. */
		if (ds.n > 1)
			qsort(ds.v, ds.n, sizeof(*ds.v), dup_cmp);
		for (size_t i = 1; i < ds.n; i++) {
			const struct dup *first = &ds.v[i], *d = &ds.v[i];
			size_t saved;

			while (first > ds.v && streq(first[-1].key, d->key))
				first--;
			if (first == d)
				continue;
			saved = P_item(v, "endpoints", d->name, d->doc_index);
			E(v, d->file, &d->mark, strchr(d->key, ':') ? "ipv6" : "ipv4",
			  "address %s is already used at %s:%u:%u", d->key, first->file, first->mark.line,
			  first->mark.col);
			PR(v, saved);
		}
		free(ds.v);
		return;
	}
	dup_report(v, &ds);
}

static void validate_endpoints(struct v *v)
{
	struct sl_state *st = v->st;
	struct node_cidrs *ncs = calloc(st->n_nodes + 1, sizeof(*ncs));

	if (!ncs) {
		v->oom = true;
		return;
	}
	for (uint32_t i = 0; i < st->n_nodes; i++) {
		const struct sl_node *nd = &st->nodes[i];

		ncs[i].v = calloc(nd->n_pod_cidrs + 1, sizeof(*ncs[i].v));
		for (uint32_t j = 0; ncs[i].v && j < nd->n_pod_cidrs; j++) {
			char why[128];

			if (SL_MARK_OK(&nd->pod_cidrs_m[j]) &&
			    sl_prefix_parse(nd->pod_cidrs[j], false, &ncs[i].v[ncs[i].n], why, sizeof(why)))
				ncs[i].n++;
		}
	}
	for (uint32_t i = 0; i < st->n_endpoints; i++)
		validate_endpoint(v, &st->endpoints[i], ncs);
	for (int k = 0; k < EP_DUP__MAX; k++)
		endpoint_duplicates(v, k);
	for (uint32_t i = 0; i < st->n_nodes; i++)
		free(ncs[i].v);
	free(ncs);
}

/* ---- policies ---- */

static bool validate_selector(struct v *v, const char *file, const struct sl_selector *s)
{
	size_t before = v->d->n_errors, saved;

	saved = P_lit(v, ".matchLabels");
	check_labels(v, file, s->match_labels, s->n_match_labels);
	PR(v, saved);
	bool refused = false;

	for (uint32_t i = 0; i < s->n_exprs; i++) {
		const struct sl_expr *e = &s->exprs[i];
		const char *pk;

		/* What the loader refused was reported there; judge the rest. */
		if (!SL_HAS(e, SL_EXPR_KEY) || !SL_HAS(e, SL_EXPR_OPERATOR) ||
		    (SL_GIVEN(e, SL_EXPR_VALUES) && !SL_HAS(e, SL_EXPR_VALUES))) {
			refused = true;
			continue;
		}
		pk = sl_label_key_problem(e->key);
		saved = P_idx(v, ".matchExpressions", i);
		if (pk)
			E(v, file, SL_AT(e, SL_EXPR_KEY), "key", "%s is not a label key: %s", diag_q(e->key), pk);
		if ((e->op == SL_OP_IN || e->op == SL_OP_NOT_IN) && !e->n_values)
			E(v, file, SL_HAS(e, SL_EXPR_VALUES) ? SL_AT(e, SL_EXPR_VALUES) : SL_AT(e, SL_EXPR_OPERATOR),
			  SL_HAS(e, SL_EXPR_VALUES) ? "values" : "operator", "%s needs at least one value",
			  e->op == SL_OP_IN ? "In" : "NotIn");
		if ((e->op == SL_OP_EXISTS || e->op == SL_OP_DOES_NOT_EXIST) && e->n_values)
			E(v, file, SL_AT(e, SL_EXPR_VALUES), "values", "%s takes no values",
			  e->op == SL_OP_EXISTS ? "Exists" : "DoesNotExist");
		for (uint32_t j = 0; j < e->n_values; j++) {
			const char *pv;

			if (!SL_MARK_OK(&e->values_m[j]) || !e->values[j]) {
				refused = true;
				continue;
			}
			pv = sl_label_value_problem(e->values[j]);

			if (pv) {
				size_t s2 = P_idx(v, ".values", j);

				E(v, file, &e->values_m[j], NULL, "%s is not a label value: %s", diag_q(e->values[j]), pv);
				PR(v, s2);
			}
		}
		PR(v, saved);
	}
	if (SL_GIVEN(s, SL_SEL_MATCH_LABELS) && !SL_HAS(s, SL_SEL_MATCH_LABELS))
		refused = true;
	if (SL_GIVEN(s, SL_SEL_MATCH_EXPRESSIONS) && !SL_HAS(s, SL_SEL_MATCH_EXPRESSIONS))
		refused = true;
	return !refused && v->d->n_errors == before;
}

static const char *const dir_key[SL_DIRECTION__MAX] = {
	[SL_INGRESS] = "ingress",
	[SL_EGRESS] = "egress",
	[SL_INGRESS_DENY] = "ingressDeny",
	[SL_EGRESS_DENY] = "egressDeny",
};

static void validate_rule(struct v *v, const char *file, const struct sl_rule *r, enum sl_direction dir)
{
	bool from = dir == SL_INGRESS || dir == SL_INGRESS_DENY, deny = dir >= SL_INGRESS_DENY;
	const char *pfx = from ? "from" : "to";
	size_t saved;

	for (uint32_t i = 0; i < r->n_endpoints; i++) {
		saved = P(v, ".%sEndpoints[%" PRIu32 "]", pfx, i);
		if (validate_selector(v, file, &r->endpoints[i]) && !selector_matches_any(v, &r->endpoints[i], false))
			W(v, file, &r->endpoints[i].m[0], NULL, "this selector matches no identity");
		PR(v, saved);
	}
	for (uint32_t i = 0; i < r->n_cidrs; i++) {
		struct sl_prefix p;

		saved = P(v, ".%sCIDR[%" PRIu32 "]", pfx, i);
		check_prefix(v, file, &r->cidrs_m[i], NULL, r->cidrs[i], true, &p);
		PR(v, saved);
	}
	for (uint32_t i = 0; i < r->n_cidr_sets; i++) {
		const struct sl_cidr_set *cs = &r->cidr_sets[i];
		struct sl_prefix outer;
		bool ok;

		saved = P(v, ".%sCIDRSet[%" PRIu32 "]", pfx, i);
		ok = cs->cidr && check_prefix(v, file, SL_AT(cs, SL_CIDRSET_CIDR), "cidr", cs->cidr, true, &outer);
		for (uint32_t j = 0; j < cs->n_except; j++) {
			struct sl_prefix p;
			size_t s2 = P_idx(v, ".except", j);

			if (check_prefix(v, file, &cs->except_m[j], NULL, cs->except[j], true, &p) && ok &&
			    !(sl_prefix_contains(&outer, &p) && p.len > outer.len))
				E(v, file, &cs->except_m[j], NULL, "%s is not inside %s, so it cannot be excepted from it",
				  cs->except[j], cs->cidr);
			PR(v, s2);
		}
		PR(v, saved);
	}
	for (uint32_t i = 0; i < r->n_entities; i++)
		for (uint32_t j = 0; j < i && SL_MARK_OK(&r->entities_m[i]); j++)
			if (SL_MARK_OK(&r->entities_m[j]) && r->entities[i] == r->entities[j]) {
				saved = P(v, ".%sEntities[%" PRIu32 "]", pfx, i);
				W(v, file, &r->entities_m[i], NULL, "this entity is listed twice");
				PR(v, saved);
			}
	for (uint32_t i = 0; i < r->n_to_ports; i++) {
		const struct sl_port_rule *pr = &r->to_ports[i];

		saved = P_idx(v, ".toPorts", i);
		if (SL_HAS(pr, SL_PORTRULE_PORTS) && !pr->n_ports)
			W(v, file, SL_AT(pr, SL_PORTRULE_PORTS), "ports", "an empty list of ports matches nothing");
		for (uint32_t j = 0; j < pr->n_ports; j++) {
			size_t s2 = P_idx(v, ".ports", j);

			check_range(v, file, SL_AT(&pr->ports[j], SL_PORT_PORT), "port", pr->ports[j].port, 0, 65535,
				    "a port");
			PR(v, s2);
		}
		if (SL_HAS(pr, SL_PORTRULE_PROXY_PORT)) {
			if (deny)
				E(v, file, SL_AT(pr, SL_PORTRULE_PROXY_PORT), "proxyPort",
				  "a deny rule cannot redirect to a proxy");
			else if (check_range(v, file, SL_AT(pr, SL_PORTRULE_PROXY_PORT), "proxyPort", pr->proxy_port, 1,
					     65535, "a port"))
				W(v, file, SL_AT(pr, SL_PORTRULE_PROXY_PORT), "proxyPort",
				  "proxyPort " NOT_YET ": the connections are allowed and marked, not redirected to a "
				  "proxy, so they reach their destination as if the rule had no proxyPort");
		}
		PR(v, saved);
	}
}

static void validate_policies(struct v *v)
{
	struct sl_state *st = v->st;
	struct dups names = { .what = "policy name", .list = "policies", .field = "name" };

	for (uint32_t i = 0; i < st->n_policies; i++) {
		const struct sl_policy *p = &st->policies[i];
		size_t saved = P_item(v, "policies", p->name, p->doc_index);

		check_name(v, p->file, SL_AT(p, SL_POLICY_NAME), p->name);
		dup_add(v, &names, p->name, p->file, SL_AT(p, SL_POLICY_NAME), p->name, p->doc_index);
		if (p->selector) {
			size_t s2 = P_lit(v, ".endpointSelector");

			if (validate_selector(v, p->file, p->selector) && !selector_matches_any(v, p->selector, true))
				W(v, p->file, &p->selector->m[0], NULL, "this selector matches no endpoint");
			PR(v, s2);
		}
		for (int d = 0; d < SL_DIRECTION__MAX; d++) {
			for (uint32_t j = 0; j < p->rules[d].n; j++) {
				size_t s2 = P(v, ".%s[%" PRIu32 "]", dir_key[d], j);

				validate_rule(v, p->file, &p->rules[d].v[j], (enum sl_direction)d);
				PR(v, s2);
			}
		}
		PR(v, saved);
	}
	dup_report(v, &names);
}

/* ---- services ---- */

/* A backend entry's identity: address and port, whatever the protocol. */
struct be_key {
	uint8_t family;
	uint8_t addr[16];
	uint8_t pad;
	uint16_t port;
};

static int be_key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct be_key));
}

static const char *proto_name(int p)
{
	switch (p) {
	case SL_PROTO_TCP:
		return "TCP";
	case SL_PROTO_UDP:
		return "UDP";
	case SL_PROTO_SCTP:
		return "SCTP";
	default:
		return "ANY";
	}
}

static void validate_services(struct v *v, size_t *ret_backends)
{
	struct sl_state *st = v->st;
	struct dups names = { .what = "service name", .list = "services", .field = "name" },
		    fes = { .what = "frontend", .list = "services", .field = "frontend" };
	struct be_key *bkeys = NULL;
	size_t nb = 0, capb = 0, unique = 0;

	for (uint32_t i = 0; i < st->n_services; i++) {
		const struct sl_service *svc = &st->services[i];
		const struct sl_frontend *fe = svc->frontend;
		size_t saved = P_item(v, "services", svc->name, svc->doc_index);
		struct sl_prefix fa = {};
		bool fe_ok = false;

		check_name(v, svc->file, SL_AT(svc, SL_SVC_NAME), svc->name);
		dup_add(v, &names, svc->name, svc->file, SL_AT(svc, SL_SVC_NAME), svc->name, svc->doc_index);
		if (fe) {
			size_t s2 = P_lit(v, ".frontend");

			fe_ok = check_addr(v, svc->file, SL_AT(fe, SL_FE_IP), "ip", fe->ip, 0, &fa);
			fe_ok &= check_range(v, svc->file, SL_AT(fe, SL_FE_PORT), "port", fe->port, 1, 65535, "a port");
			PR(v, s2);
			if (fe_ok && (!SL_GIVEN(fe, SL_FE_PROTOCOL) || SL_HAS(fe, SL_FE_PROTOCOL))) {
				/* "10.96.0.10:80/TCP", "[fd00::10]:80/TCP" */
				char k[96], *e = k;
				const char *proto = proto_name(fe->protocol);

				if (fa.family == 6)
					*e++ = '[';
				inet_ntop(fa.family == 4 ? AF_INET : AF_INET6, fa.addr, e, INET6_ADDRSTRLEN);
				e += strlen(e);
				if (fa.family == 6)
					*e++ = ']';
				*e++ = ':';
				e += u32_digits(fe->port, e);
				*e++ = '/';
				memcpy(e, proto, strlen(proto) + 1);
				e += strlen(proto);
				dup_add(v, &fes, astr(v, k, (size_t)(e - k)), svc->file, &fe->m[0], svc->name,
					svc->doc_index);
			}
		}
		if (svc->n_backends > SL_LB_MAX_BACKENDS) {
			size_t s2 = P_lit(v, ".backends");

			E(v, svc->file, SL_AT(svc, SL_SVC_BACKENDS), NULL,
			  "%" PRIu32 " backends; a service has at most %d (its slot table has %d slots)",
			  svc->n_backends, SL_LB_MAX_BACKENDS, SL_LB_SLOTS);
			PR(v, s2);
		}
		for (uint32_t j = 0; j < svc->n_backends; j++) {
			const struct sl_backend *be = &svc->backends[j];
			size_t s2 = P_idx(v, ".backends", j);
			struct sl_prefix ba;
			bool ok = check_addr(v, svc->file, SL_AT(be, SL_BE_IP), "ip", be->ip, 0, &ba);

			if (ok && fe_ok && ba.family != fa.family) {
				E(v, svc->file, SL_AT(be, SL_BE_IP), "ip",
				  "%s is an IPv%u address but the frontend %s is IPv%u; a service's backends share its "
				  "family",
				  be->ip, ba.family, fe->ip, fa.family);
				ok = false;
			}
			if (SL_HAS(be, SL_BE_PORT))
				ok &= check_range(v, svc->file, SL_AT(be, SL_BE_PORT), "port", be->port, 1, 65535,
						  "a port");
			if (SL_HAS(be, SL_BE_PORT) && fe && fe->protocol == SL_PROTO_SCTP && be->port != fe->port) {
				E(v, svc->file, SL_AT(be, SL_BE_PORT), "port",
				  "an SCTP backend listens on the frontend's port (%" PRIu32 "): SCTP ports are not "
				  "translated",
				  fe->port);
				ok = false;
			}
			check_range(v, svc->file, SL_AT(be, SL_BE_WEIGHT), "weight", be->weight, 1, 65535, "a weight");
			if (ok) {
				/* one entry per address and port, whatever the protocol */
				struct be_key k = { .family = ba.family, .port = (uint16_t)be->port };

				for (uint32_t q = 0; q < j; q++) {
					const struct sl_backend *o = &svc->backends[q];

					if (o->port == be->port && o->ip && streq(o->ip, be->ip))
						E(v, svc->file, &be->m[0], NULL,
						  "backend %s:%" PRIu32 " is listed twice (first at line %u)", be->ip,
						  be->port, o->m[0].line);
				}
				memcpy(k.addr, ba.addr, sizeof(k.addr));
				if (grow_array((void **)&bkeys, &capb, nb + 1, sizeof(*bkeys)) >= 0)
					bkeys[nb++] = k;
				else
					v->oom = true;
			}
			PR(v, s2);
		}
		PR(v, saved);
	}
	dup_report(v, &names);
	dup_report(v, &fes);
	/* Backends shared by several services are one backend entry. */
	if (nb > 1)
		qsort(bkeys, nb, sizeof(*bkeys), be_key_cmp);
	for (size_t i = 0; i < nb; i++)
		if (!i || be_key_cmp(&bkeys[i], &bkeys[i - 1]) != 0)
			unique++;
	free(bkeys);
	*ret_backends = unique;
}

/* ---- encryption ---- */

unsigned sl_key_lengths(int aead, int auth, int cipher, const char *which, unsigned *lens, unsigned max)
{
	static const unsigned gcm[] = { 20, 28, 36 }, sha256[] = { 32 }, cbc[] = { 16, 24, 32 };
	const unsigned *src = NULL;
	unsigned n = 0;

	if (streq(which, "key") && aead == SL_AEAD_RFC4106_GCM_AES)
		src = gcm, n = ARRAY_SIZE(gcm);
	else if (streq(which, "authKey") && auth == SL_AUTH_HMAC_SHA256)
		src = sha256, n = ARRAY_SIZE(sha256);
	else if (streq(which, "cipherKey") && cipher == SL_CIPHER_CBC_AES)
		src = cbc, n = ARRAY_SIZE(cbc);
	for (unsigned i = 0; i < n && i < max; i++)
		lens[i] = src[i];
	return n < max ? n : max;
}

/*
 * A key file's path as messages show it: whole up to DIAG_QUOTE_PATH_MAX
 * characters, unless the value as written holds 8 hex digits in a row, as
 * every key does and a path rarely: then it may be a key given in the wrong
 * field, and only its first characters are shown.
 */
static const char *key_path_shown(const char *value, const char *path)
{
	size_t run = 0;

	for (const char *c = value; *c; c++) {
		bool hex = (*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f') || (*c >= 'A' && *c <= 'F');

		run = hex ? run + 1 : 0;
		if (run >= 8)
			return diag_q_secret(value);
	}
	return diag_quote(path, DIAG_QUOTE_PATH_MAX, DIAG_Q_LENGTH);
}

/* Write `shown` for every `path` in the message why. */
static void show_path(char *why, size_t len, const char *path, const char *shown)
{
	struct strbuf b = {};
	const char *p = why, *hit;
	size_t pl = strlen(path);

	while (pl && (hit = strstr(p, path))) {
		strbuf_add(&b, p, (size_t)(hit - p));
		strbuf_adds(&b, shown);
		p = hit + pl;
	}
	strbuf_adds(&b, p);
	snprintf(why, len, "%s", strbuf_str(&b));
	strbuf_free(&b);
}

/* Check one key of a key entry: inline or from a file. */
static void validate_key_material(struct v *v, const struct sl_key *k, const char *which, int f_inline,
				  int f_file, const char *inline_val, const char *file_val, const char *algo)
{
	char file_key[32];
	unsigned lens[4], nl = sl_key_lengths(k->aead, k->auth, k->cipher, which, lens, 4);
	long bytes;

	snprintf(file_key, sizeof(file_key), "%sFile", which);
	if (inline_val)
		W(v, k->file, SL_AT(k, f_inline), which,
		  "the key sits in the state file; anyone who can read the file can read the key (prefer %s)",
		  file_key);
	if (inline_val && file_val) {
		E(v, k->file, SL_AT(k, f_file), file_key, "give either %s or %s, not both", which, file_key);
		return;
	}
	if (!inline_val && !file_val) {
		E(v, k->file, &k->m[0], NULL, "%s needs key material: give %s (a file holding the key in hex)", algo,
		  file_key);
		return;
	}
	if (inline_val) {
		bytes = sl_key_hex_decode(inline_val, strlen(inline_val), NULL, 0);
		if (bytes < 0) {
			E(v, k->file, SL_AT(k, f_inline), which, "the key is not %s (<redacted>)",
			  bytes == -1 ? "hexadecimal" : "a whole number of bytes in hex");
			return;
		}
	} else {
		char path[4096], buf[4097], why[4400];
		const char *shown;
		long n;

		sl_key_path(v->ld, k->file, file_val, path, sizeof(path));
		n = sl_key_file_read(path, buf, sizeof(buf), why, sizeof(why));
		shown = key_path_shown(file_val, path);
		if (n < 0) {
			show_path(why, sizeof(why), path, shown);
			E(v, k->file, SL_AT(k, f_file), file_key, "%s", why);
			return;
		}
		bytes = sl_key_hex_decode(buf, (size_t)n, NULL, 0);
		explicit_bzero(buf, sizeof(buf));
		if (bytes < 0) {
			E(v, k->file, SL_AT(k, f_file), file_key, "%s does not hold %s", shown,
			  bytes == -1 ? "a key in hex (only hex digits, an optional 0x and white space)"
				      : "a whole number of bytes in hex");
			return;
		}
		if (bytes == 0) {
			E(v, k->file, SL_AT(k, f_file), file_key, "%s is empty", shown);
			return;
		}
	}
	for (unsigned i = 0; i < nl; i++)
		if ((unsigned long)bytes == lens[i])
			return;
	{
		char accepted[64] = "";

		for (unsigned i = 0; i < nl; i++)
			snprintf(accepted + strlen(accepted), sizeof(accepted) - strlen(accepted), "%s%u",
				 i ? (i + 1 == nl ? " or " : ", ") : "", lens[i]);
		E(v, k->file, SL_AT(k, inline_val ? f_inline : f_file), inline_val ? which : file_key,
		  "the key is %ld byte%s long; %s takes %s%s", bytes, bytes == 1 ? "" : "s", algo, accepted,
		  streq(algo, "rfc4106(gcm(aes))") ? " (an AES key of 16, 24 or 32 bytes and a 4-byte salt)" : "");
	}
}

/* A number of the encryption section as messages write it: a number of
 * more than 4 digits may be key material (spi: 0x4b1d...), and is not. */
static const char *enc_number(uint32_t n)
{
	static _Thread_local char buf[16];

	if (n >= 10000)
		return "this number";
	snprintf(buf, sizeof(buf), "%" PRIu32, n);
	return buf;
}

static void validate_encryption(struct v *v)
{
	struct sl_state *st = v->st;
	const struct sl_encryption *enc = st->encryption;
	struct dups spis = { .what = "SPI", .list = "encryption.keys", .field = "spi" };
	const char *f;
	size_t saved;

	if (enc) {
		f = st->encryption_origin.file;
		saved = P_lit(v, "encryption");
		if (enc->enabled && !enc->n_keys)
			E(v, f, SL_AT(enc, SL_ENC_ENABLED), "enabled", "encryption is enabled but has no keys");
		if (enc->enabled && st->datapath->tunnel == SL_TUNNEL_VXLAN)
			E(v, f, SL_AT(enc, SL_ENC_ENABLED), "enabled",
			  "encryption with tunnel: vxlan is not supported by this version of sluice; encryption "
			  "works in direct routing (datapath.tunnel: disabled)");
		else if (enc->enabled && !st->datapath->underlay_device)
			E(v, f, SL_AT(enc, SL_ENC_ENABLED), "enabled",
			  "encryption routes the remote nodes' pod CIDRs through the device toward them: set "
			  "datapath.underlayDevice");
		if (!enc->enabled && enc->n_keys)
			W(v, f, SL_HAS(enc, SL_ENC_ENABLED) ? SL_AT(enc, SL_ENC_ENABLED) : &enc->m[0],
			  SL_HAS(enc, SL_ENC_ENABLED) ? "enabled" : NULL,
			  "encryption has keys but is not enabled (enabled: true): traffic is not encrypted");
		PR(v, saved);
		for (uint32_t i = 0; i < enc->n_keys; i++) {
			const struct sl_key *k = &enc->keys[i];
			bool is_aead = SL_GIVEN(k, SL_KEY_AEAD),
			     is_auth = SL_GIVEN(k, SL_KEY_AUTH) || SL_GIVEN(k, SL_KEY_CIPHER),
			     algo_ok = (!SL_GIVEN(k, SL_KEY_AEAD) || SL_HAS(k, SL_KEY_AEAD)) &&
				       (!SL_GIVEN(k, SL_KEY_AUTH) || SL_HAS(k, SL_KEY_AUTH)) &&
				       (!SL_GIVEN(k, SL_KEY_CIPHER) || SL_HAS(k, SL_KEY_CIPHER));

			saved = P_idx(v, "encryption.keys", SL_HAS(k, SL_KEY_SPI) && k->spi < 10000 ? k->spi : i);
			if (SL_HAS(k, SL_KEY_SPI) && (k->spi < 1 || k->spi > SL_SPI_MAX))
				E(v, k->file, SL_AT(k, SL_KEY_SPI), "spi", "%s is not an SPI (1..%u)", enc_number(k->spi),
				  SL_SPI_MAX);
			else if (SL_HAS(k, SL_KEY_SPI))
				dup_add(v, &spis, astrf(v, "%" PRIu32, k->spi), k->file, SL_AT(k, SL_KEY_SPI), astrf(v, "%" PRIu32, k->spi), i);
			if (is_aead && is_auth) {
				E(v, k->file, SL_AT(k, SL_HAS(k, SL_KEY_AUTH) ? SL_KEY_AUTH : SL_KEY_CIPHER),
				  SL_HAS(k, SL_KEY_AUTH) ? "auth" : "cipher",
				  "a key is either aead, or auth with cipher, not both");
			} else if (is_aead) {
				static const int not_here[] = { SL_KEY_AUTH_KEY, SL_KEY_AUTH_KEY_FILE, SL_KEY_CIPHER_KEY,
								SL_KEY_CIPHER_KEY_FILE };
				static const char *const names[] = { "authKey", "authKeyFile", "cipherKey",
								     "cipherKeyFile" };

				for (unsigned j = 0; j < ARRAY_SIZE(not_here); j++)
					if (SL_HAS(k, not_here[j]))
						E(v, k->file, SL_AT(k, not_here[j]), names[j],
						  "%s goes with auth and cipher, not with aead", names[j]);
				if (SL_HAS(k, SL_KEY_ICV_BITS) && k->icv_bits != 64 && k->icv_bits != 96 &&
				    k->icv_bits != 128)
					E(v, k->file, SL_AT(k, SL_KEY_ICV_BITS), "icvBits",
					  "%s is not an ICV length of rfc4106(gcm(aes)) (64, 96 or 128)",
					  enc_number(k->icv_bits));
				if (algo_ok)
					validate_key_material(v, k, "key", SL_KEY_KEY, SL_KEY_KEY_FILE, k->key, k->key_file,
						      "rfc4106(gcm(aes))");
			} else if (is_auth) {
				static const int not_here[] = { SL_KEY_KEY, SL_KEY_KEY_FILE, SL_KEY_ICV_BITS };
				static const char *const names[] = { "key", "keyFile", "icvBits" };

				for (unsigned j = 0; j < ARRAY_SIZE(not_here); j++)
					if (SL_HAS(k, not_here[j]))
						E(v, k->file, SL_AT(k, not_here[j]), names[j],
						  "%s goes with aead, not with auth and cipher", names[j]);
				if (!SL_GIVEN(k, SL_KEY_AUTH))
					E(v, k->file, SL_AT(k, SL_KEY_CIPHER), "cipher",
					  "cipher needs auth (hmac(sha256)) beside it");
				else if (!SL_GIVEN(k, SL_KEY_CIPHER))
					E(v, k->file, SL_AT(k, SL_KEY_AUTH), "auth",
					  "auth needs cipher (cbc(aes)) beside it");
				else if (algo_ok) {
					validate_key_material(v, k, "authKey", SL_KEY_AUTH_KEY, SL_KEY_AUTH_KEY_FILE,
							      k->auth_key, k->auth_key_file, "hmac(sha256)");
					validate_key_material(v, k, "cipherKey", SL_KEY_CIPHER_KEY,
							      SL_KEY_CIPHER_KEY_FILE, k->cipher_key,
							      k->cipher_key_file, "cbc(aes)");
				}
			} else {
				E(v, k->file, &k->m[0], NULL,
				  "a key needs an algorithm: aead: rfc4106(gcm(aes)), or auth: hmac(sha256) with "
				  "cipher: cbc(aes)");
			}
			PR(v, saved);
		}
		dup_report(v, &spis);
	}
	/* Keys the nodes name must exist here; the tunnel between two nodes
	 * is of one family. */
	for (uint32_t i = 0; i < st->n_nodes; i++) {
		const struct sl_node *nd = &st->nodes[i];
		const struct sl_node *me = v->node_idx >= 0 ? &st->nodes[v->node_idx] : NULL;
		struct sl_prefix a, b;

		if (enc && enc->enabled && me && me != nd && nd->ip && me->ip && sl_addr_parse(nd->ip, &a) &&
		    sl_addr_parse(me->ip, &b) && a.family != b.family) {
			saved = P_item(v, "nodes", nd->name, nd->doc_index);
			E(v, nd->file, SL_AT(nd, SL_NODE_IP), "ip",
			  "%s is an IPv%u address and this node's ip (%s) is IPv%u: encryption tunnels between "
			  "node ips of one family",
			  nd->ip, a.family, me->ip, b.family);
			PR(v, saved);
		}

		saved = P_item(v, "nodes", nd->name, nd->doc_index);
		for (uint32_t j = 0; j < nd->n_encrypt_keys; j++) {
			bool found = false;

			for (uint32_t q = 0; enc && q < enc->n_keys && !found; q++)
				found = enc->keys[q].spi == nd->encrypt_keys[j];
			if (!found && nd->encrypt_keys[j] >= 1 && nd->encrypt_keys[j] <= SL_SPI_MAX) {
				size_t s2 = P_idx(v, ".encryptKeys", j);

				E(v, nd->file, &nd->encrypt_keys_m[j], NULL,
				  "key %" PRIu32 " is not one of encryption.keys", nd->encrypt_keys[j]);
				PR(v, s2);
			}
		}
		if (enc && enc->enabled && enc->n_keys && !nd->n_encrypt_keys)
			E(v, nd->file, &nd->m[0], NULL,
			  "encryption is enabled, so every node names the keys it has installed (encryptKeys)");
		PR(v, saved);
	}
}

/* ---- capacity ---- */

static void capacity(struct v *v, unsigned map, size_t need, const char *file, const struct sl_mark *fallback)
{
	const struct sl_datapath *dp = v->st->datapath;
	const struct sl_map_sizes *ms = dp->map_sizes;
	uint32_t limit = ms->size[map];
	size_t saved;

	if (need <= limit)
		return;
	saved = P(v, "datapath.mapSizes.%s", sl_map_size_name[map]);
	if (SL_HAS(ms, map))
		E(v, v->st->datapath_origin.file, SL_AT(ms, map), NULL,
		  "the state needs %zu entries in map %s, more than its capacity %" PRIu32, need,
		  sl_map_size_name[map], limit);
	else
		E(v, file, fallback, NULL,
		  "the state needs %zu entries in map %s, more than its default capacity %" PRIu32
		  "; set datapath.mapSizes.%s",
		  need, sl_map_size_name[map], limit, sl_map_size_name[map]);
	PR(v, saved);
}

static int cstr_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void validate_capacity(struct v *v, size_t backends)
{
	struct sl_state *st = v->st;
	size_t local = 0, n = 0, cap = 0, uniq = 0, remote_cidrs = 0;
	const char **keys = NULL;

#define ADD_KEY(s)                                                                        \
	do {                                                                              \
		struct sl_prefix _p;                                                      \
		char _why[8];                                                             \
		if ((s) && sl_prefix_parse((s), true, &_p, _why, sizeof(_why)) &&         \
		    grow_array((void **)&keys, &cap, n + 1, sizeof(*keys)) >= 0)          \
			keys[n++] = prefix_key(v, &_p);                                   \
	} while (0)

	for (uint32_t i = 0; i < st->n_endpoints; i++) {
		const struct sl_endpoint *ep = &st->endpoints[i];

		if (!ep->node || (v->node && streq(ep->node, v->node)))
			local++;
		ADD_KEY(ep->ipv4);
		ADD_KEY(ep->ipv6);
	}
	for (uint32_t i = 0; i < st->n_nodes; i++) {
		for (uint32_t j = 0; j < st->nodes[i].n_pod_cidrs; j++)
			ADD_KEY(st->nodes[i].pod_cidrs[j]);
		if ((int)i != v->node_idx)
			remote_cidrs += st->nodes[i].n_pod_cidrs;
	}
	for (uint32_t i = 0; i < st->n_policies; i++)
		for (int d = 0; d < SL_DIRECTION__MAX; d++)
			for (uint32_t j = 0; j < st->policies[i].rules[d].n; j++) {
				const struct sl_rule *r = &st->policies[i].rules[d].v[j];

				for (uint32_t q = 0; q < r->n_cidrs; q++)
					ADD_KEY(r->cidrs[q]);
				for (uint32_t q = 0; q < r->n_cidr_sets; q++) {
					ADD_KEY(r->cidr_sets[q].cidr);
					for (uint32_t x = 0; x < r->cidr_sets[q].n_except; x++)
						ADD_KEY(r->cidr_sets[q].except[x]);
				}
			}
#undef ADD_KEY
	if (n > 1)
		qsort(keys, n, sizeof(*keys), cstr_cmp);
	for (size_t i = 0; i < n; i++)
		if (!i || strcmp(keys[i], keys[i - 1]) != 0)
			uniq++;
	free(keys);

	if (st->n_endpoints)
		capacity(v, SL_MAP_ENDPOINTS, local, st->endpoints[0].file, &st->endpoints[0].m[0]);
	if (st->n_endpoints)
		capacity(v, SL_MAP_IPCACHE, uniq, st->endpoints[0].file, &st->endpoints[0].m[0]);
	else if (st->n_nodes)
		capacity(v, SL_MAP_IPCACHE, uniq, st->nodes[0].file, &st->nodes[0].m[0]);
	if (st->prefilter)
		capacity(v, SL_MAP_PREFILTER, st->prefilter->n_deny, st->prefilter_origin.file,
			 &st->prefilter_origin.mark);
	if (st->n_nodes && st->datapath->tunnel == SL_TUNNEL_VXLAN)
		capacity(v, SL_MAP_TUNNEL, remote_cidrs, st->nodes[0].file, &st->nodes[0].m[0]);
	if (st->n_services) {
		capacity(v, SL_MAP_BACKENDS, backends, st->services[0].file, &st->services[0].m[0]);
	}
}

int sl_validate(struct sl_load *ld, const struct sl_validate_opts *opts)
{
	struct v v = {
		.ld = ld,
		.st = &ld->state,
		.d = &ld->diags,
		.o = opts,
		.node_idx = -1,
	};
	size_t backends = 0;

	validate_nodes(&v);
	resolve_this_node(&v);
	validate_datapath(&v);
	validate_prefilter(&v);
	validate_identities(&v);
	if (!v.oom) {
		validate_endpoints(&v);
		validate_policies(&v);
	}
	validate_services(&v, &backends);
	validate_encryption(&v);
	validate_capacity(&v, backends);

	for (size_t i = 0; i < v.lidx_cap; i++)
		free(v.lidx[i].v);
	free(v.lidx);
	free(v.ids);
	free(v.id_used);
	strbuf_free(&v.path);
	return v.oom || ld->diags.out_of_memory ? -ENOMEM : 0;
}
