/* SPDX-License-Identifier: Apache-2.0 */
/* What the kind modules describe changes with (desc.h). */
#include "kinds/desc.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/abi.h>

#include "reconcile/model.h"
#include "reconcile/net.h"

/* ---- output with a sticky error ---- */

void desc_put(struct sl_desc *d, struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (d->err < 0)
		return;
	va_start(ap, fmt);
	r = strbuf_vaddf(sb, fmt, ap);
	va_end(ap);
	if (r < 0)
		d->err = r;
}

void desc_json_str(struct sl_desc *d, struct strbuf *sb, const char *s)
{
	int r;

	if (d->err < 0)
		return;
	r = strbuf_add_json_str(sb, s);
	if (r < 0)
		d->err = r;
}

void desc_json_key(struct sl_desc *d, struct strbuf *sb, const char *name)
{
	desc_put(d, sb, "%s\"%s\":", sb->len ? "," : "", name);
}

void desc_json_u(struct sl_desc *d, struct strbuf *sb, const char *name, uint64_t v)
{
	desc_json_key(d, sb, name);
	desc_put(d, sb, "%" PRIu64, v);
}

void desc_json_s(struct sl_desc *d, struct strbuf *sb, const char *name, const char *s)
{
	desc_json_key(d, sb, name);
	if (s)
		desc_json_str(d, sb, s);
	else
		desc_put(d, sb, "null");
}

void desc_json_bool(struct sl_desc *d, struct strbuf *sb, const char *name, bool v)
{
	desc_json_key(d, sb, name);
	desc_put(d, sb, v ? "true" : "false");
}

void desc_sep(struct sl_desc *d, bool *first)
{
	if (!*first)
		desc_put(d, &d->line, ", ");
	*first = false;
}

void desc_reset(struct sl_desc *d)
{
	strbuf_truncate(&d->line, 0);
	strbuf_truncate(&d->obj[SL_BEFORE], 0);
	strbuf_truncate(&d->obj[SL_AFTER], 0);
}

/* ---- the context: indexes for human names ---- */

struct desc_ep_ref {
	uint16_t id;
	uint32_t obj; /* the ENDPOINT object with that id */
};

struct desc_cidr_ref {
	uint32_t identity;
	uint8_t set;  /* SL_WANT or SL_HAVE: want's first */
	uint32_t obj; /* an IPCACHE object carrying that identity */
};

/* A service of the state by its frontend, for its name. */
struct desc_svc_ref {
	struct sl_service_key k;
	const char *name;
};

static int ep_ref_cmp(const void *a, const void *b)
{
	const struct desc_ep_ref *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->obj < y->obj ? -1 : x->obj > y->obj;
}

static int cidr_ref_cmp(const void *a, const void *b)
{
	const struct desc_cidr_ref *x = a, *y = b;

	if (x->identity != y->identity)
		return x->identity < y->identity ? -1 : 1;
	if (x->set != y->set)
		return x->set < y->set ? -1 : 1;
	return x->obj < y->obj ? -1 : x->obj > y->obj;
}

static int ident_cmp(const void *a, const void *b)
{
	const struct sl_identity *x = *(const struct sl_identity *const *)a, *y = *(const struct sl_identity *const *)b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int st_ep_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct sl_endpoint *const *)a)->interface,
		      (*(const struct sl_endpoint *const *)b)->interface);
}

static int svc_key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct sl_service_key));
}

static int index_endpoints(struct sl_desc_ctx *c)
{
	for (int s = SL_WANT; s <= SL_HAVE; s++) {
		const struct sl_objset *set = c->set[s];

		c->eps[s] = calloc(objset_count(set, SL_OBJ_ENDPOINT) + 1, sizeof(*c->eps[s]));
		if (!c->eps[s])
			return -ENOMEM;
		for (size_t i = 0; i < set->n; i++) {
			const struct sl_obj *o = &set->v[i];
			struct sl_endpoint_value v;

			if (o->kind != SL_OBJ_ENDPOINT || !sl_kind_fits(o->kind, o->klen, o->vlen))
				continue;
			memcpy(&v, obj_val(set, o), sizeof(v)); /* at any alignment */
			c->eps[s][c->n_eps[s]++] = (struct desc_ep_ref){ .id = v.id, .obj = (uint32_t)i };
		}
		qsort(c->eps[s], c->n_eps[s], sizeof(*c->eps[s]), ep_ref_cmp);
	}
	return 0;
}

static int index_cidrs(struct sl_desc_ctx *c)
{
	c->cidrs = calloc(objset_count(c->set[SL_WANT], SL_OBJ_IPCACHE) + objset_count(c->set[SL_HAVE], SL_OBJ_IPCACHE) + 1,
			  sizeof(*c->cidrs));
	if (!c->cidrs)
		return -ENOMEM;
	for (int s = SL_WANT; s <= SL_HAVE; s++) {
		const struct sl_objset *set = c->set[s];

		for (size_t i = 0; i < set->n; i++) {
			const struct sl_obj *o = &set->v[i];
			struct sl_ipcache_value v;

			if (o->kind != SL_OBJ_IPCACHE || !sl_kind_fits(o->kind, o->klen, o->vlen))
				continue;
			memcpy(&v, obj_val(set, o), sizeof(v));
			if (v.identity >= SL_ID_CIDR_MIN)
				c->cidrs[c->n_cidrs++] = (struct desc_cidr_ref){ .identity = v.identity, .set = (uint8_t)s,
										 .obj = (uint32_t)i };
		}
	}
	qsort(c->cidrs, c->n_cidrs, sizeof(*c->cidrs), cidr_ref_cmp);
	return 0;
}

static int index_state(struct sl_desc_ctx *c)
{
	const struct sl_state *st = c->st;

	c->idents = calloc(st->n_identities + 1, sizeof(*c->idents));
	c->st_eps = calloc(st->n_endpoints + 1, sizeof(*c->st_eps));
	c->svcs = calloc(st->n_services + 1, sizeof(*c->svcs));
	if (!c->idents || !c->st_eps || !c->svcs)
		return -ENOMEM;
	for (uint32_t i = 0; i < st->n_identities; i++)
		c->idents[c->n_idents++] = &st->identities[i];
	qsort(c->idents, c->n_idents, sizeof(*c->idents), ident_cmp);
	/* The endpoints compile makes objects of: those of this node. */
	for (uint32_t i = 0; i < st->n_endpoints; i++) {
		const struct sl_endpoint *ep = &st->endpoints[i];

		if (ep->interface && (!ep->node || (st->node && streq(ep->node, st->node))))
			c->st_eps[c->n_st_eps++] = ep;
	}
	qsort(c->st_eps, c->n_st_eps, sizeof(*c->st_eps), st_ep_cmp);
	for (uint32_t i = 0; i < st->n_services; i++) {
		const struct sl_service *svc = &st->services[i];
		struct desc_svc_ref *r = &c->svcs[c->n_svcs];

		/* the address validation parsed (family 0: none) */
		if (!svc->frontend || !svc->frontend->ip_pfx.family)
			continue;
		memcpy(r->k.addr, svc->frontend->ip_pfx.addr, 16);
		r->k.family = svc->frontend->ip_pfx.family;
		r->k.port = htons((uint16_t)svc->frontend->port);
		r->k.proto = (uint8_t)svc->frontend->protocol;
		r->name = svc->name;
		c->n_svcs++;
	}
	qsort(c->svcs, c->n_svcs, sizeof(*c->svcs), svc_key_cmp);
	return 0;
}

/* The backends whose ids a service change's lines name. */
static int index_said_backends(struct sl_desc_ctx *c)
{
	size_t cap = 0;

	for (size_t i = 0; i < c->d->n; i++) {
		struct sl_view v;

		if (c->d->v[i].kind != SL_OBJ_SERVICE)
			continue;
		desc_view_init(c, &c->d->v[i], &v);
		if (!desc_view_known(&v))
			continue;
		for (int s = SL_BEFORE; s <= SL_AFTER; s++) {
			const struct sl_service_value *x = v.val[s];

			for (uint8_t m = 0; x && m < x->n_members && m < SL_LB_MAX_BACKENDS; m++) {
				if (grow_array((void **)&c->said_backends, &cap, c->n_said_backends + 1,
					       sizeof(*c->said_backends)) < 0)
					return -ENOMEM;
				c->said_backends[c->n_said_backends++] = x->member[m].backend_id;
			}
		}
	}
	if (c->n_said_backends > 1) /* qsort(NULL, 0) is undefined */
		qsort(c->said_backends, c->n_said_backends, sizeof(*c->said_backends), cmp_u32);
	return 0;
}

int desc_ctx_init(struct sl_desc_ctx *c, const struct sl_objset *want, const struct sl_objset *have,
		  const struct sl_diff *d, const struct sl_state *st)
{
	int r;

	*c = (struct sl_desc_ctx){ .set = { want, have }, .d = d, .st = st };
	r = index_endpoints(c);
	if (r >= 0)
		r = index_cidrs(c);
	if (r >= 0 && d)
		r = index_said_backends(c);
	if (r >= 0 && st)
		r = index_state(c);
	return r;
}

void desc_ctx_free(struct sl_desc_ctx *c)
{
	free(c->eps[SL_WANT]);
	free(c->eps[SL_HAVE]);
	free(c->cidrs);
	free(c->idents);
	free(c->st_eps);
	free(c->svcs);
	free(c->said_backends);
}

const char *desc_ep_ifname(const struct sl_desc_ctx *c, int s, uint16_t id)
{
	size_t lo = 0, hi = c->n_eps[s];

	/* the first entry with that id */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (c->eps[s][mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == c->n_eps[s] || c->eps[s][lo].id != id)
		return NULL;
	return obj_key(c->set[s], &c->set[s]->v[c->eps[s][lo].obj]);
}

bool desc_ep_value(const struct sl_desc_ctx *c, const char ifname[16], struct sl_endpoint_value *ret)
{
	for (int s = SL_WANT; s <= SL_HAVE; s++) {
		const struct sl_obj *o = objset_find(c->set[s], SL_OBJ_ENDPOINT, ifname, 16);

		if (o && sl_kind_fits(o->kind, o->klen, o->vlen)) {
			memcpy(ret, obj_val(c->set[s], o), sizeof(*ret)); /* at any alignment */
			return true;
		}
	}
	return false;
}

bool desc_owned_device(const struct sl_desc_ctx *c, const char ifname[16])
{
	char key[16] = { 0 };

	memcpy(key, ifname, strnlen(ifname, sizeof(key)));
	return objset_find(c->set[SL_WANT], SL_OBJ_DEVICE, key, sizeof(key)) ||
	       objset_find(c->set[SL_HAVE], SL_OBJ_DEVICE, key, sizeof(key));
}

const struct sl_endpoint *desc_st_endpoint(const struct sl_desc_ctx *c, const char *ifname)
{
	struct sl_endpoint k = { .interface = (char *)ifname };
	const struct sl_endpoint *kp = &k;
	const struct sl_endpoint *const *r = c->n_st_eps ? bsearch(&kp, c->st_eps, c->n_st_eps, sizeof(*c->st_eps),
								    st_ep_cmp)
							  : NULL;

	return r ? *r : NULL;
}

static const struct sl_identity *st_identity(const struct sl_desc_ctx *c, uint32_t id)
{
	struct sl_identity k = { .id = id };
	const struct sl_identity *kp = &k;
	const struct sl_identity *const *r = c->n_idents ? bsearch(&kp, c->idents, c->n_idents, sizeof(*c->idents),
								   ident_cmp)
							 : NULL;

	return r ? *r : NULL;
}

const char *desc_service_name(const struct sl_desc_ctx *c, const struct sl_service_key *k)
{
	const struct desc_svc_ref *r = c->n_svcs ? bsearch(k, c->svcs, c->n_svcs, sizeof(*c->svcs), svc_key_cmp)
						 : NULL;

	return r ? r->name : NULL;
}

bool desc_backend_said(const struct sl_desc_ctx *c, uint32_t id)
{
	return c->n_said_backends &&
	       bsearch(&id, c->said_backends, c->n_said_backends, sizeof(*c->said_backends), cmp_u32);
}

/* ---- views ---- */

/* p (n bytes) copied into buf when it fits: what is read as a struct must
 * be aligned. */
static const void *view_copy(union sl_view_bytes *buf, const void *p, size_t n)
{
	if (n > sizeof(buf->b))
		return p;
	memcpy(buf->b, p, n);
	return buf->b;
}

/* A value as the kernel has it (a kind with a form of its own unpacked:
 * kinds/kind.h); a form that is none is left as it is, said in hex. */
static const void *view_value(union sl_view_bytes *buf, unsigned kind, const void *p, uint16_t n, uint16_t *ret_len)
{
	const struct sl_kind *k = sl_kind(kind);

	*ret_len = n;
	if (k && k->unpack && k->vlen <= sizeof(buf->b) && k->unpack(p, n, buf->b)) {
		*ret_len = k->vlen;
		return buf->b;
	}
	return view_copy(buf, p, n);
}

void desc_view_init(const struct sl_desc_ctx *c, const struct sl_change *ch, struct sl_view *v)
{
	const struct sl_objset *w = c->set[SL_WANT], *h = c->set[SL_HAVE];
	const struct sl_obj *a = ch->want != SL_DIFF_NONE ? &w->v[ch->want] : NULL;
	const struct sl_obj *b = ch->have != SL_DIFF_NONE ? &h->v[ch->have] : NULL;

	v->kind = ch->kind;
	v->key = NULL;
	v->klen = 0;
	v->val[SL_BEFORE] = v->val[SL_AFTER] = NULL;
	v->vlen[SL_BEFORE] = v->vlen[SL_AFTER] = 0;
	if (b) {
		v->key = view_copy(&v->kbuf, obj_key(h, b), b->klen);
		v->klen = b->klen;
		v->val[SL_BEFORE] = view_value(&v->vbuf[SL_BEFORE], ch->kind, obj_val(h, b), b->vlen,
					       &v->vlen[SL_BEFORE]);
	}
	if (a) {
		v->key = view_copy(&v->kbuf, obj_key(w, a), a->klen);
		v->klen = a->klen;
		v->val[SL_AFTER] = view_value(&v->vbuf[SL_AFTER], ch->kind, obj_val(w, a), a->vlen,
					      &v->vlen[SL_AFTER]);
	}
}

void desc_view_wipe(struct sl_view *v)
{
	const struct sl_kind *k = sl_kind(v->kind);

	if (k && (k->flags & SL_KIND_SECRET))
		explicit_bzero(v->vbuf, sizeof(v->vbuf));
}

bool desc_view_known(const struct sl_view *v)
{
	const struct sl_kind *k = sl_kind(v->kind);

	if (!k || !k->describe || v->klen != k->klen)
		return false;
	for (int s = SL_BEFORE; s <= SL_AFTER; s++)
		if (v->val[s] && v->vlen[s] != k->vlen)
			return false;
	return true;
}

static void put_hex(struct sl_desc *d, struct strbuf *sb, const void *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		desc_put(d, sb, "%02x", ((const uint8_t *)p)[i]);
}

/* Any other object: its kind and bytes; a secret kind's value never. */
static void describe_generic(const struct sl_view *v, struct sl_desc *d)
{
	const struct sl_kind *k = sl_kind(v->kind);
	bool secret = k && (k->flags & SL_KIND_SECRET);

	if (k)
		desc_put(d, &d->line, "%s (unexpected size) key ", k->name);
	else
		desc_put(d, &d->line, "object kind %u key ", v->kind);
	put_hex(d, &d->line, v->key, v->klen);
	if (secret) {
		desc_put(d, &d->line, " value <redacted>");
		return;
	}
	desc_put(d, &d->line, " value ");
	if (v->val[SL_BEFORE] && v->val[SL_AFTER]) {
		put_hex(d, &d->line, v->val[SL_BEFORE], v->vlen[SL_BEFORE]);
		desc_put(d, &d->line, " -> ");
	}
	put_hex(d, &d->line, v->val[SL_AFTER] ? v->val[SL_AFTER] : v->val[SL_BEFORE],
		v->val[SL_AFTER] ? v->vlen[SL_AFTER] : v->vlen[SL_BEFORE]);
	for (int s = SL_BEFORE; d->fields && s <= SL_AFTER; s++) {
		if (!v->val[s])
			continue;
		desc_json_key(d, &d->obj[s], "key");
		desc_put(d, &d->obj[s], "\"");
		put_hex(d, &d->obj[s], v->key, v->klen);
		desc_put(d, &d->obj[s], "\"");
		desc_json_key(d, &d->obj[s], "value");
		desc_put(d, &d->obj[s], "\"");
		put_hex(d, &d->obj[s], v->val[s], v->vlen[s]);
		desc_put(d, &d->obj[s], "\"");
	}
}

void desc_describe(const struct sl_desc_ctx *c, const struct sl_view *v, struct sl_desc *d)
{
	desc_reset(d);
	if (desc_view_known(v))
		sl_kind(v->kind)->describe(c, v, d);
	else
		describe_generic(v, d);
}

/* ---- names of things ---- */

void desc_name_copy(char *buf, size_t size, const void *field, size_t flen)
{
	size_t n = strnlen(field, flen);

	if (n >= size)
		n = size - 1;
	memcpy(buf, field, n);
	buf[n] = '\0';
}

void desc_addr_format(uint8_t family, const uint8_t *addr, char *buf, size_t len)
{
	if (family == SL_FAMILY_IPV4 || family == SL_FAMILY_IPV6)
		inet_ntop(family == SL_FAMILY_IPV4 ? AF_INET : AF_INET6, addr, buf, (socklen_t)len);
	else
		snprintf(buf, len, "family %u", family);
}

bool desc_prefix_format(uint8_t family, uint32_t len, const uint8_t *addr, char *buf, size_t size)
{
	struct sl_prefix p = { .family = family, .len = (uint8_t)len };

	if ((family != SL_FAMILY_IPV4 || len > 32) && (family != SL_FAMILY_IPV6 || len > 128)) {
		snprintf(buf, size, "<family %u, length %u>", family, len);
		return false;
	}
	memcpy(p.addr, addr, family == SL_FAMILY_IPV4 ? 4 : 16);
	sl_prefix_format(&p, buf, size);
	return true;
}

const char *desc_proto_name(uint8_t proto, char *buf, size_t len)
{
	switch (proto) {
	case 0:
		return "any";
	case 1:
		return "ICMP";
	case SL_PROTO_TCP:
		return "TCP";
	case SL_PROTO_UDP:
		return "UDP";
	case 58:
		return "ICMPv6";
	case SL_PROTO_SCTP:
		return "SCTP";
	default:
		snprintf(buf, len, "%u", proto);
		return buf;
	}
}

const char *desc_table_name(const char *const *t, size_t n, unsigned v, const char *what, char *buf, size_t len)
{
	if (v < n && t[v])
		return t[v];
	snprintf(buf, len, "%s %u", what, v);
	return buf;
}

const char *sl_reserved_identity_name(uint32_t id)
{
	static const char *const n[] = {
		[SL_ID_HOST] = "host",	   [SL_ID_WORLD] = "world", [SL_ID_UNMANAGED] = "unmanaged",
		[SL_ID_HEALTH] = "health", [SL_ID_INIT] = "init",   [SL_ID_REMOTE_NODE] = "remote-node",
	};

	return id < ARRAY_SIZE(n) ? n[id] : NULL;
}

/* Whether label l comes after p, by key (then by place: keys are unique). */
static bool label_after(const struct sl_label *l, const struct sl_label *p)
{
	int r = strcmp(l->key, p->key);

	return r > 0 || (r == 0 && l > p);
}

/* "k=v,k2=v2", by key (a selection sort: label sets are small). */
static void put_labels(struct sl_desc *d, struct strbuf *sb, const struct sl_identity *id)
{
	const struct sl_label *prev = NULL;

	for (uint32_t n = 0; n < id->n_labels; n++) {
		const struct sl_label *next = NULL;

		for (uint32_t i = 0; i < id->n_labels; i++) {
			const struct sl_label *l = &id->labels[i];

			if ((!prev || label_after(l, prev)) && (!next || label_after(next, l)))
				next = l;
		}
		desc_put(d, sb, "%s%s=%s", n ? "," : "", next->key, next->value ? next->value : "");
		prev = next;
	}
}

/* The prefix of a CIDR identity, from an IPCACHE object carrying it. */
static bool cidr_of(const struct sl_desc_ctx *c, uint32_t id, char *buf, size_t len)
{
	size_t lo = 0, hi = c->n_cidrs;
	const struct sl_objset *set;
	struct sl_ipcache_key k;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (c->cidrs[mid].identity < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == c->n_cidrs || c->cidrs[lo].identity != id)
		return false;
	set = c->set[c->cidrs[lo].set];
	memcpy(&k, obj_key(set, &set->v[c->cidrs[lo].obj]), sizeof(k)); /* at any alignment */
	desc_prefix_format(k.family, k.prefixlen - SL_IPCACHE_PREFIX_BITS(0), k.addr, buf, len);
	return true;
}

void desc_put_identity(const struct sl_desc_ctx *c, struct sl_desc *d, struct strbuf *sb, uint32_t id)
{
	desc_put(d, sb, "%" PRIu32, id);
	if (sl_reserved_identity_name(id)) {
		desc_put(d, sb, " (%s)", sl_reserved_identity_name(id));
	} else if (id && id < SL_ID_USER_MIN) {
		desc_put(d, sb, " (reserved)");
	} else if (id >= SL_ID_CIDR_MIN) {
		char p[64];

		if (cidr_of(c, id, p, sizeof(p)))
			desc_put(d, sb, " (cidr %s)", p);
		else
			desc_put(d, sb, " (cidr)");
	} else if (id) {
		const struct sl_identity *ident = st_identity(c, id);

		if (ident && ident->n_labels) {
			desc_put(d, sb, " (");
			put_labels(d, sb, ident);
			desc_put(d, sb, ")");
		}
	}
}

void desc_identity_change(const struct sl_desc_ctx *c, struct sl_desc *d, bool *first, uint32_t before,
			  uint32_t after)
{
	if (before == after)
		return;
	desc_sep(d, first);
	desc_put(d, &d->line, "identity ");
	desc_put_identity(c, d, &d->line, before);
	desc_put(d, &d->line, " -> ");
	desc_put_identity(c, d, &d->line, after);
}

bool desc_device_in_key(const void *key, const void *val, char ret_name[17])
{
	(void)val;
	desc_name_copy(ret_name, 17, key, 16);
	return true;
}

void desc_group_ifname(struct sl_plan_group *g, const char *name)
{
	g->section = SL_SEC_ENDPOINT;
	memset(g->name, 0, sizeof(g->name));
	memcpy(g->name, name, strnlen(name, 16));
}

void desc_group_apply_order(const struct sl_view *v, int op, uint8_t section, struct sl_plan_group *g)
{
	uint8_t rank = sl_kind(v->kind)->rank;

	g->section = section;
	g->rank = op != SL_OP_REMOVE ? rank : (uint8_t)(2 * SL_OBJ__MAX - rank);
}

/* Drop reasons and datapath counters as status, monitor and metrics name them. */
const char *const sl_drop_names[SL_DROP__MAX] = {
	[SL_DROP_NONE] = "none",
	[SL_DROP_POLICY] = "policy",
	[SL_DROP_POLICY_DENY] = "policy-deny",
	[SL_DROP_NO_BACKEND] = "no-backend",
	[SL_DROP_PREFILTER] = "prefilter",
	[SL_DROP_INVALID] = "invalid",
	[SL_DROP_FRAGMENT] = "fragment",
	[SL_DROP_NO_ENDPOINT] = "no-endpoint",
	[SL_DROP_NAT_FAILED] = "nat-failed",
	[SL_DROP_BACKEND_GONE] = "backend-gone",
	[SL_DROP_TUNNEL_FAILED] = "tunnel-failed",
	[SL_DROP_FAMILY] = "family",
	[SL_DROP_NO_TUNNEL_KEY] = "no-tunnel-key",
	[SL_DROP_BAD_VNI] = "bad-vni",
	[SL_DROP_PROXY_UNAVAILABLE] = "proxy-unavailable",
};

const char *const sl_metric_names[SL_METRIC__MAX] = {
	"forward", "reply", "new", "dnat", "rev-nat", "tunnel", "encrypt", "proxy", "related", "not-ip", "from-tunnel",
};

