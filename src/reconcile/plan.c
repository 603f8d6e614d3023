/* SPDX-License-Identifier: Apache-2.0 */
#include "plan.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <linux/bpf.h>

#include <sluice/abi.h>

#include "common/util.h"
#include "kinds/route.h"
#include "kinds/xfrm.h"
#include "keys.h"
#include "model.h"
#include "net.h"

enum { BEFORE, AFTER };	 /* the sides of a change: the live value, the desired one */
enum { WANT, HAVE };	 /* the two object sets */

/* ---- output with a sticky error ---- */

/* What a change says: its line (the text after the sign, also JSON's
 * "object") and, for JSON, each side's decoded fields. */
struct plan_desc {
	struct strbuf line;
	struct strbuf obj[2]; /* indexed by BEFORE/AFTER: fields, without the braces */
	bool fields;	      /* fill obj[] */
	int err;	      /* the first failed append; later appends do nothing */
	FILE *sink;	      /* if set, the output is written here as it grows */
	size_t count[SL_CHANGE_OPS]; /* lines rendered, by op: the plan's summary */
};

/* Between two changes: hand what is rendered so far to the sink, so that a
 * plan of a million changes is never held whole in memory. */
static void drain(struct plan_desc *d, struct strbuf *out)
{
	if (!d->sink || d->err < 0 || out->len < (1u << 16))
		return;
	if (fwrite(out->s, 1, out->len, d->sink) != out->len)
		d->err = -EIO;
	strbuf_truncate(out, 0);
}

static void put(struct plan_desc *d, struct strbuf *sb, const char *fmt, ...) _printf_(3, 4);
static void put(struct plan_desc *d, struct strbuf *sb, const char *fmt, ...)
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

static void put_json_str(struct plan_desc *d, struct strbuf *sb, const char *s)
{
	int r;

	if (d->err < 0)
		return;
	r = strbuf_add_json_str(sb, s);
	if (r < 0)
		d->err = r;
}

static void json_key(struct plan_desc *d, struct strbuf *sb, const char *name)
{
	put(d, sb, "%s\"%s\":", sb->len ? "," : "", name);
}

static void json_u(struct plan_desc *d, struct strbuf *sb, const char *name, uint64_t v)
{
	json_key(d, sb, name);
	put(d, sb, "%" PRIu64, v);
}

/* A string, or null when s is NULL. */
static void json_s(struct plan_desc *d, struct strbuf *sb, const char *name, const char *s)
{
	json_key(d, sb, name);
	if (s)
		put_json_str(d, sb, s);
	else
		put(d, sb, "null");
}

static void json_bool(struct plan_desc *d, struct strbuf *sb, const char *name, bool v)
{
	json_key(d, sb, name);
	put(d, sb, v ? "true" : "false");
}

/* The separator before the next item of a list of differences. */
static void put_sep(struct plan_desc *d, bool *first)
{
	if (!*first)
		put(d, &d->line, ", ");
	*first = false;
}

/* ---- the context: indexes for human names ---- */

struct ep_ref {
	uint16_t id;
	uint32_t obj; /* the ENDPOINT object with that id */
};

struct cidr_ref {
	uint32_t identity;
	uint8_t set; /* WANT or HAVE: want's first */
	uint32_t obj; /* an IPCACHE object carrying that identity */
};

enum plan_section {
	SEC_ENDPOINT,
	SEC_GONE,
	SEC_SERVICE,
	SEC_BACKENDS,
	SEC_XFRM,
	SEC_ROUTES,
	SEC_IPCACHE,
	SEC_PREFILTER,
	SEC_MAPS,
	SEC_PROGS,
	SEC_OTHER,
	SEC_HIDDEN, /* said by another line (a backend by its service's lines) */
};
static const char *const section_name[] = {
	[SEC_BACKENDS] = "backends", [SEC_XFRM] = "xfrm", [SEC_ROUTES] = "routes", [SEC_IPCACHE] = "ipcache", [SEC_PREFILTER] = "prefilter",
	[SEC_MAPS] = "maps",	     [SEC_PROGS] = "programs",	  [SEC_OTHER] = "other"
};

/* A service of the state by its frontend, for its name. */
struct svc_ref {
	struct sl_service_key k;
	const char *name;
};

/* One change, with where it is printed. */
struct plan_item {
	char ifname[16]; /* SEC_ENDPOINT: the group's interface */
	uint32_t ep_id;	 /* SEC_GONE: the group's endpoint id */
	uint8_t section; /* enum plan_section */
	uint8_t rank;	 /* order of kinds inside the group */
	uint32_t change; /* index into the diff */
	/* SEC_SERVICE: the group's frontend, the bytes of a struct
	 * sl_service_key in a set (at any alignment: copy before reading) */
	const uint8_t *svc;
};

struct plan_ctx {
	const struct sl_objset *set[2]; /* WANT, HAVE */
	const struct sl_diff *d;
	const struct sl_state *st;
	struct ep_ref *eps[2]; /* ENDPOINT objects of each set by id */
	size_t n_eps[2];
	struct cidr_ref *cidrs; /* IPCACHE objects of CIDR identities, both sets */
	size_t n_cidrs;
	const struct sl_identity **idents; /* st's, by id */
	size_t n_idents;
	const struct sl_endpoint **st_eps; /* st's local endpoints, by interface */
	size_t n_st_eps;
	struct svc_ref *svcs; /* st's services, by frontend */
	size_t n_svcs;
	struct plan_item *items;
};

/* The largest key or value a describe function reads as a struct. */
#define PLAN_BYTES_MAX sizeof(struct sl_service_value)

/* A key or a value, copied out of a set's bytes (where it sits at any
 * alignment: obj_val) to be read as a struct. */
union plan_bytes {
	uint64_t align;
	uint8_t b[PLAN_BYTES_MAX];
};

/* One change as the describe functions see it. key and val[] point at
 * aligned copies (kbuf, vbuf) when they fit, else (an object of a size no
 * describe function reads as a struct) at the set's bytes. */
struct plan_view {
	uint8_t kind;
	const void *key;
	uint8_t klen;
	const void *val[2]; /* BEFORE (have's value), AFTER (want's); NULL when absent */
	uint16_t vlen[2];
	union plan_bytes kbuf, vbuf[2];
};

static int ep_ref_cmp(const void *a, const void *b)
{
	const struct ep_ref *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->obj < y->obj ? -1 : x->obj > y->obj;
}

static int cidr_ref_cmp(const void *a, const void *b)
{
	const struct cidr_ref *x = a, *y = b;

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

static bool obj_fits(const struct sl_obj *o, size_t klen, size_t vlen)
{
	return o->klen == klen && o->vlen == vlen;
}

static int ctx_init(struct plan_ctx *c)
{
	const struct sl_state *st = c->st;

	for (int s = WANT; s <= HAVE; s++) {
		const struct sl_objset *set = c->set[s];

		c->eps[s] = calloc(objset_count(set, SL_OBJ_ENDPOINT) + 1, sizeof(*c->eps[s]));
		if (!c->eps[s])
			return -ENOMEM;
		for (size_t i = 0; i < set->n; i++) {
			const struct sl_obj *o = &set->v[i];

			struct sl_endpoint_value v;

			if (o->kind != SL_OBJ_ENDPOINT || !obj_fits(o, 16, sizeof(v)))
				continue;
			memcpy(&v, obj_val(set, o), sizeof(v)); /* at any alignment */
			c->eps[s][c->n_eps[s]++] = (struct ep_ref){ .id = v.id, .obj = (uint32_t)i };
		}
		qsort(c->eps[s], c->n_eps[s], sizeof(*c->eps[s]), ep_ref_cmp);
	}
	c->cidrs = calloc(objset_count(c->set[WANT], SL_OBJ_IPCACHE) + objset_count(c->set[HAVE], SL_OBJ_IPCACHE) + 1,
			  sizeof(*c->cidrs));
	if (!c->cidrs)
		return -ENOMEM;
	for (int s = WANT; s <= HAVE; s++) {
		const struct sl_objset *set = c->set[s];

		for (size_t i = 0; i < set->n; i++) {
			const struct sl_obj *o = &set->v[i];
			struct sl_ipcache_value v;

			if (o->kind != SL_OBJ_IPCACHE || !obj_fits(o, sizeof(struct sl_ipcache_key), sizeof(v)))
				continue;
			memcpy(&v, obj_val(set, o), sizeof(v));
			if (v.identity >= SL_ID_CIDR_MIN)
				c->cidrs[c->n_cidrs++] = (struct cidr_ref){ .identity = v.identity, .set = (uint8_t)s,
									    .obj = (uint32_t)i };
		}
	}
	qsort(c->cidrs, c->n_cidrs, sizeof(*c->cidrs), cidr_ref_cmp);
	if (!st)
		return 0;
	c->idents = calloc(st->n_identities + 1, sizeof(*c->idents));
	c->st_eps = calloc(st->n_endpoints + 1, sizeof(*c->st_eps));
	if (!c->idents || !c->st_eps)
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
	c->svcs = calloc(st->n_services + 1, sizeof(*c->svcs));
	if (!c->svcs)
		return -ENOMEM;
	for (uint32_t i = 0; i < st->n_services; i++) {
		const struct sl_service *svc = &st->services[i];
		struct sl_prefix a;
		struct svc_ref *r = &c->svcs[c->n_svcs];

		if (!svc->frontend || !sl_addr_parse(svc->frontend->ip, &a))
			continue;
		memcpy(r->k.addr, a.addr, 16);
		r->k.family = a.family;
		r->k.port = htons((uint16_t)svc->frontend->port);
		r->k.proto = (uint8_t)svc->frontend->protocol;
		r->name = svc->name;
		c->n_svcs++;
	}
	qsort(c->svcs, c->n_svcs, sizeof(*c->svcs), svc_key_cmp);
	return 0;
}

static void ctx_free(struct plan_ctx *c)
{
	free(c->eps[WANT]);
	free(c->eps[HAVE]);
	free(c->cidrs);
	free(c->idents);
	free(c->st_eps);
	free(c->svcs);
	free(c->items);
}

/* The interface name of the endpoint with that id in one set, or NULL. */
static const char *ep_ifname_by_id(const struct plan_ctx *c, int s, uint16_t id)
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

/* The ENDPOINT value of an interface into ret: want's, else have's; false
 * when neither set has it. */
static bool ep_value(const struct plan_ctx *c, const char ifname[16], struct sl_endpoint_value *ret)
{
	for (int s = WANT; s <= HAVE; s++) {
		const struct sl_obj *o = objset_find(c->set[s], SL_OBJ_ENDPOINT, ifname, 16);

		if (o && obj_fits(o, 16, sizeof(*ret))) {
			memcpy(ret, obj_val(c->set[s], o), sizeof(*ret)); /* at any alignment */
			return true;
		}
	}
	return false;
}

static const struct sl_endpoint *st_endpoint(const struct plan_ctx *c, const char *ifname)
{
	struct sl_endpoint k = { .interface = (char *)ifname };
	const struct sl_endpoint *kp = &k;
	const struct sl_endpoint *const *r = c->n_st_eps ? bsearch(&kp, c->st_eps, c->n_st_eps, sizeof(*c->st_eps),
								    st_ep_cmp)
							  : NULL;

	return r ? *r : NULL;
}

static const struct sl_identity *st_identity(const struct plan_ctx *c, uint32_t id)
{
	struct sl_identity k = { .id = id };
	const struct sl_identity *kp = &k;
	const struct sl_identity *const *r = c->n_idents ? bsearch(&kp, c->idents, c->n_idents, sizeof(*c->idents),
								   ident_cmp)
							 : NULL;

	return r ? *r : NULL;
}

/* ---- names of things ---- */

/* A fixed-size name field, NUL-terminated. */
static void name_copy(char *buf, size_t size, const void *field, size_t flen)
{
	size_t n = strnlen(field, flen);

	if (n >= size)
		n = size - 1;
	memcpy(buf, field, n);
	buf[n] = '\0';
}

static void addr_format(uint8_t family, const uint8_t *addr, char *buf, size_t len)
{
	if (family == SL_FAMILY_IPV4 || family == SL_FAMILY_IPV6)
		inet_ntop(family == SL_FAMILY_IPV4 ? AF_INET : AF_INET6, addr, buf, (socklen_t)len);
	else
		snprintf(buf, len, "family %u", family);
}

/* "10.1.0.0/24"; false when family or length make no prefix. */
static bool prefix_format(uint8_t family, uint32_t len, const uint8_t *addr, char *buf, size_t size)
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

static const char *const reserved_identity_name[] = {
	[SL_ID_HOST] = "host",	     [SL_ID_WORLD] = "world", [SL_ID_UNMANAGED] = "unmanaged",
	[SL_ID_HEALTH] = "health",   [SL_ID_INIT] = "init",   [SL_ID_REMOTE_NODE] = "remote-node",
};

/* Whether label l comes after p, by key (then by place: keys are unique). */
static bool label_after(const struct sl_label *l, const struct sl_label *p)
{
	int r = strcmp(l->key, p->key);

	return r > 0 || (r == 0 && l > p);
}

/* "k=v,k2=v2", by key (a selection sort: label sets are small). */
static void put_labels(struct plan_desc *d, struct strbuf *sb, const struct sl_identity *id)
{
	const struct sl_label *prev = NULL;

	for (uint32_t n = 0; n < id->n_labels; n++) {
		const struct sl_label *next = NULL;

		for (uint32_t i = 0; i < id->n_labels; i++) {
			const struct sl_label *l = &id->labels[i];

			if ((!prev || label_after(l, prev)) && (!next || label_after(next, l)))
				next = l;
		}
		put(d, sb, "%s%s=%s", n ? "," : "", next->key, next->value ? next->value : "");
		prev = next;
	}
}

/* "1001 (app=client)", "2 (world)", "16777216 (cidr 192.0.2.0/24)", "1005". */
static void put_identity(const struct plan_ctx *c, struct plan_desc *d, struct strbuf *sb, uint32_t id)
{
	put(d, sb, "%" PRIu32, id);
	if (id && id < ARRAY_SIZE(reserved_identity_name) && reserved_identity_name[id]) {
		put(d, sb, " (%s)", reserved_identity_name[id]);
	} else if (id && id < SL_ID_USER_MIN) {
		put(d, sb, " (reserved)");
	} else if (id >= SL_ID_CIDR_MIN) {
		size_t lo = 0, hi = c->n_cidrs;
		char p[64];

		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (c->cidrs[mid].identity < id)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < c->n_cidrs && c->cidrs[lo].identity == id) {
			const struct sl_objset *set = c->set[c->cidrs[lo].set];
			struct sl_ipcache_key k;

			memcpy(&k, obj_key(set, &set->v[c->cidrs[lo].obj]), sizeof(k)); /* at any alignment */
			prefix_format(k.family, k.prefixlen - SL_IPCACHE_PREFIX_BITS(0), k.addr, p, sizeof(p));
			put(d, sb, " (cidr %s)", p);
		} else {
			put(d, sb, " (cidr)");
		}
	} else if (id) {
		const struct sl_identity *ident = st_identity(c, id);

		if (ident && ident->n_labels) {
			put(d, sb, " (");
			put_labels(d, sb, ident);
			put(d, sb, ")");
		}
	}
}

static const char *proto_name(uint8_t proto, char *buf, size_t len)
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

static const char *const hook_name[SL_HOOK__MAX] = {
	[SL_HOOK_TC_INGRESS] = "tc ingress", [SL_HOOK_TC_EGRESS] = "tc egress", [SL_HOOK_XDP] = "xdp"
};
static const char *const prog_name[SL_PROG__MAX] = {
	[SL_PROG_FROM_ENDPOINT] = "from_endpoint", [SL_PROG_TO_ENDPOINT] = "to_endpoint",
	[SL_PROG_PREFILTER] = "prefilter"
};
static const char *const xdp_mode_name[SL_XDP__MAX] = { [SL_XDP_NATIVE] = "native", [SL_XDP_GENERIC] = "generic" };

static const char *const map_type_name[] = {
	[BPF_MAP_TYPE_HASH] = "hash",
	[BPF_MAP_TYPE_ARRAY] = "array",
	[BPF_MAP_TYPE_PROG_ARRAY] = "prog_array",
	[BPF_MAP_TYPE_PERF_EVENT_ARRAY] = "perf_event_array",
	[BPF_MAP_TYPE_PERCPU_HASH] = "percpu_hash",
	[BPF_MAP_TYPE_PERCPU_ARRAY] = "percpu_array",
	[BPF_MAP_TYPE_LRU_HASH] = "lru_hash",
	[BPF_MAP_TYPE_LRU_PERCPU_HASH] = "lru_percpu_hash",
	[BPF_MAP_TYPE_LPM_TRIE] = "lpm_trie",
	[BPF_MAP_TYPE_ARRAY_OF_MAPS] = "array_of_maps",
	[BPF_MAP_TYPE_HASH_OF_MAPS] = "hash_of_maps",
	[BPF_MAP_TYPE_DEVMAP] = "devmap",
	[BPF_MAP_TYPE_SOCKMAP] = "sockmap",
	[BPF_MAP_TYPE_CPUMAP] = "cpumap",
	[BPF_MAP_TYPE_XSKMAP] = "xskmap",
	[BPF_MAP_TYPE_SOCKHASH] = "sockhash",
	[BPF_MAP_TYPE_DEVMAP_HASH] = "devmap_hash",
	[BPF_MAP_TYPE_RINGBUF] = "ringbuf",
};

const char *sl_map_type_name(uint32_t type)
{
	return type < ARRAY_SIZE(map_type_name) && map_type_name[type] ? map_type_name[type] : "other";
}

/* An entry of a name table, or "<what> N" in buf. */
static const char *table_name(const char *const *t, size_t n, unsigned v, const char *what, char *buf, size_t len)
{
	if (v < n && t[v])
		return t[v];
	snprintf(buf, len, "%s %u", what, v);
	return buf;
}

#define TABLE_NAME(t, v, what, buf) table_name(t, ARRAY_SIZE(t), (v), what, buf, sizeof(buf))

/* ---- one describe function per kind: the line, and each side's fields ---- */

/* The endpoint's enforced directions. */
static const char *enforce_name(uint8_t flags)
{
	static const char *const n[] = { "none", "ingress", "egress", "ingress,egress" };

	return n[flags & (SL_EP_ENFORCE_INGRESS | SL_EP_ENFORCE_EGRESS)];
}

/* The policy levels a mask names: "1,5", "none", or "all" (not filled in). */
static void levels_format(uint8_t mask, char *buf, size_t len)
{
	size_t w = 0;

	if (!(mask & SL_POLICY_LEVELS_KNOWN)) {
		snprintf(buf, len, "all");
		return;
	}
	buf[0] = '\0';
	for (int l = 1; l <= 6; l++)
		if (mask & SL_POLICY_LEVEL(l))
			w += (size_t)snprintf(buf + w, len - w, "%s%d", w ? "," : "", l);
	if (!w)
		snprintf(buf, len, "none");
}

static void describe_endpoint(const struct plan_ctx *c, const struct plan_view *v, struct plan_desc *d)
{
	static const char *const dir[2] = { "ingress", "egress" };
	const struct sl_endpoint_value *b = v->val[BEFORE], *a = v->val[AFTER];
	char ifname[17];

	if (!a || !b) {
		const struct sl_endpoint_value *e = a ? a : b;

		put(d, &d->line, "endpoint identity ");
		put_identity(c, d, &d->line, e->identity);
		put(d, &d->line, " enforce %s", enforce_name(e->flags));
	} else {
		bool first = true;

		put(d, &d->line, "endpoint: ");
		if (b->identity != a->identity) {
			put_sep(d, &first);
			put(d, &d->line, "identity ");
			put_identity(c, d, &d->line, b->identity);
			put(d, &d->line, " -> ");
			put_identity(c, d, &d->line, a->identity);
		}
		if (b->id != a->id) {
			put_sep(d, &first);
			put(d, &d->line, "id %u -> %u", b->id, a->id);
		}
		if (strcmp(enforce_name(b->flags), enforce_name(a->flags))) {
			put_sep(d, &first);
			put(d, &d->line, "enforce %s -> %s", enforce_name(b->flags), enforce_name(a->flags));
		}
		for (int i = 0; i < 2; i++) {
			char lb[32], la[32];

			if (b->policy_levels[i] == a->policy_levels[i])
				continue;
			levels_format(b->policy_levels[i], lb, sizeof(lb));
			levels_format(a->policy_levels[i], la, sizeof(la));
			put_sep(d, &first);
			put(d, &d->line, "%s levels %s -> %s", dir[i], lb, la);
		}
		if (first)
			put(d, &d->line, "value differs");
	}
	name_copy(ifname, sizeof(ifname), v->key, 16);
	for (int s = BEFORE; d->fields && s <= AFTER; s++) {
		const struct sl_endpoint_value *e = v->val[s];
		struct strbuf *sb = &d->obj[s];

		if (!e)
			continue;
		json_s(d, sb, "interface", ifname);
		json_u(d, sb, "id", e->id);
		json_u(d, sb, "identity", e->identity);
		json_bool(d, sb, "enforce_ingress", e->flags & SL_EP_ENFORCE_INGRESS);
		json_bool(d, sb, "enforce_egress", e->flags & SL_EP_ENFORCE_EGRESS);
		/* the levels with entries, or null: not filled in, every level is looked up */
		for (int i = 0; i < 2; i++) {
			uint8_t m = e->policy_levels[i];
			char name[32];

			snprintf(name, sizeof(name), "%s_levels", dir[i]);
			json_key(d, sb, name);
			if (!(m & SL_POLICY_LEVELS_KNOWN)) {
				put(d, sb, "null");
				continue;
			}
			put(d, sb, "[");
			for (int l = 1, n = 0; l <= 6; l++)
				if (m & SL_POLICY_LEVEL(l))
					put(d, sb, "%s%d", n++ ? "," : "", l);
			put(d, sb, "]");
		}
	}
}

/* "allow", "deny", "allow proxy 15001". */
static void verdict_format(const struct sl_policy_value *v, char *buf, size_t len)
{
	if (v->flags & SL_POLICY_DENY)
		snprintf(buf, len, "deny");
	else if (v->proxy_port)
		snprintf(buf, len, "allow proxy %u", v->proxy_port);
	else
		snprintf(buf, len, "allow");
}

static void describe_policy(const struct plan_ctx *c, const struct plan_view *v, struct plan_desc *d)
{
	const struct sl_policy_key *k = v->key;
	const struct sl_policy_value *b = v->val[BEFORE], *a = v->val[AFTER];
	uint16_t port = ntohs(k->dport);
	char dirbuf[16], pbuf[8], vb[32], va[32];
	const char *dir = k->dir == SL_DIR_INGRESS ? "ingress" : k->dir == SL_DIR_EGRESS ? "egress" : NULL;
	const char *proto = proto_name(k->proto, pbuf, sizeof(pbuf));

	if (!dir) {
		snprintf(dirbuf, sizeof(dirbuf), "dir %u", k->dir);
		dir = dirbuf;
	}
	put(d, &d->line, "policy %s ", dir);
	if (k->identity) {
		put(d, &d->line, "identity ");
		put_identity(c, d, &d->line, k->identity);
	} else {
		put(d, &d->line, "any peer");
	}
	/* Ports: "80/TCP"; a protocol's every port "any/TCP"; every protocol "any". */
	if (k->proto && port)
		put(d, &d->line, " %u/%s", port, proto);
	else if (k->proto)
		put(d, &d->line, " any/%s", proto);
	else if (port)
		put(d, &d->line, " %u/any", port);
	else
		put(d, &d->line, " any");
	if (b)
		verdict_format(b, vb, sizeof(vb));
	if (a)
		verdict_format(a, va, sizeof(va));
	if (a && b && strcmp(vb, va))
		put(d, &d->line, ": %s -> %s", vb, va);
	else if (a && b)
		put(d, &d->line, ": value differs");
	else
		put(d, &d->line, " %s", a ? va : vb);
	for (int s = BEFORE; d->fields && s <= AFTER; s++) {
		const struct sl_policy_value *e = v->val[s];
		struct strbuf *sb = &d->obj[s];

		if (!e)
			continue;
		json_u(d, sb, "endpoint_id", k->ep_id);
		json_s(d, sb, "direction", dir);
		json_u(d, sb, "identity", k->identity);
		json_s(d, sb, "protocol", proto);
		json_u(d, sb, "port", port);
		json_s(d, sb, "verdict", e->flags & SL_POLICY_DENY ? "deny" : "allow");
		json_u(d, sb, "proxy_port", e->proxy_port);
	}
}

/* The tunnel endpoint of an ipcache entry, "none" when it has none. */
static void tunnel_format(const struct sl_ipcache_value *e, char *buf, size_t len)
{
	if (e->tunnel_family)
		addr_format(e->tunnel_family, e->tunnel_addr, buf, len);
	else
		snprintf(buf, len, "none");
}

static void describe_ipcache(const struct plan_ctx *c, const struct plan_view *v, struct plan_desc *d)
{
	const struct sl_ipcache_key *k = v->key;
	const struct sl_ipcache_value *b = v->val[BEFORE], *a = v->val[AFTER];
	char prefix[80], tb[INET6_ADDRSTRLEN + 16], ta[INET6_ADDRSTRLEN + 16];

	/* prefixlen counts the family byte and padding: 32 bits */
	if (k->prefixlen < SL_IPCACHE_PREFIX_BITS(0))
		snprintf(prefix, sizeof(prefix), "<family %u, prefixlen %u>", k->family, k->prefixlen);
	else
		prefix_format(k->family, k->prefixlen - SL_IPCACHE_PREFIX_BITS(0), k->addr, prefix, sizeof(prefix));
	put(d, &d->line, "ipcache %s", prefix);
	if (b)
		tunnel_format(b, tb, sizeof(tb));
	if (a)
		tunnel_format(a, ta, sizeof(ta));
	if (!a || !b) {
		const struct sl_ipcache_value *e = a ? a : b;

		put(d, &d->line, " identity ");
		put_identity(c, d, &d->line, e->identity);
		if (e->tunnel_family)
			put(d, &d->line, " via %s", a ? ta : tb);
		if (e->key)
			put(d, &d->line, " key %u", e->key);
		if ((e->flags & SL_IPCACHE_REMOTE) && !e->tunnel_family)
			put(d, &d->line, " remote");
	} else {
		bool first = true;

		put(d, &d->line, ": ");
		if (b->identity != a->identity) {
			put_sep(d, &first);
			put(d, &d->line, "identity ");
			put_identity(c, d, &d->line, b->identity);
			put(d, &d->line, " -> ");
			put_identity(c, d, &d->line, a->identity);
		}
		if (strcmp(tb, ta)) {
			put_sep(d, &first);
			put(d, &d->line, "via %s -> %s", tb, ta);
		}
		if (b->key != a->key) {
			put_sep(d, &first);
			if (!b->key)
				put(d, &d->line, "key none -> %u", a->key);
			else if (!a->key)
				put(d, &d->line, "key %u -> none", b->key);
			else
				put(d, &d->line, "key %u -> %u", b->key, a->key);
		}
		if ((b->flags ^ a->flags) & SL_IPCACHE_REMOTE) {
			put_sep(d, &first);
			put(d, &d->line, "remote %s -> %s", b->flags & SL_IPCACHE_REMOTE ? "yes" : "no",
			    a->flags & SL_IPCACHE_REMOTE ? "yes" : "no");
		}
		if (first)
			put(d, &d->line, "value differs");
	}
	for (int s = BEFORE; d->fields && s <= AFTER; s++) {
		const struct sl_ipcache_value *e = v->val[s];
		struct strbuf *sb = &d->obj[s];

		if (!e)
			continue;
		json_s(d, sb, "prefix", prefix);
		json_u(d, sb, "identity", e->identity);
		json_s(d, sb, "tunnel", e->tunnel_family ? (s == BEFORE ? tb : ta) : NULL);
		json_u(d, sb, "key", e->key);
		json_bool(d, sb, "remote", e->flags & SL_IPCACHE_REMOTE);
	}
}

/* PREFILTER4 and PREFILTER6: (prefixlen, address) -> 1. */
static void describe_prefilter(const struct plan_ctx *c, const struct plan_view *v, struct plan_desc *d)
{
	const uint8_t *b = v->val[BEFORE], *a = v->val[AFTER];
	uint32_t len;
	char prefix[80];

	(void)c;
	memcpy(&len, v->key, sizeof(len));
	prefix_format(v->kind == SL_OBJ_PREFILTER4 ? SL_FAMILY_IPV4 : SL_FAMILY_IPV6, len,
		      (const uint8_t *)v->key + sizeof(len), prefix, sizeof(prefix));
	put(d, &d->line, "prefilter deny %s", prefix);
	if (a && b)
		put(d, &d->line, ": value %u -> %u", *b, *a);
	for (int s = BEFORE; d->fields && s <= AFTER; s++) {
		if (!v->val[s])
			continue;
		json_s(d, &d->obj[s], "prefix", prefix);
		json_u(d, &d->obj[s], "value", *(const uint8_t *)v->val[s]);
	}
}

static void describe_attach(const struct plan_ctx *c, const struct plan_view *v, struct plan_desc *d)
{
	const struct sl_attach_key *k = v->key;
	const struct sl_attach_value *b = v->val[BEFORE], *a = v->val[AFTER];
	bool xdp = k->hook == SL_HOOK_XDP;
	char ifname[17], hbuf[16], pb[16], pa[16], mb[16], ma[16];
	const char *hook = TABLE_NAME(hook_name, k->hook, "hook", hbuf);

	(void)c;
	name_copy(ifname, sizeof(ifname), k->ifname, sizeof(k->ifname));
	put(d, &d->line, "attach %s %s", hook, ifname);
	if (!a || !b) {
		const struct sl_attach_value *e = a ? a : b;

		if (xdp)
			put(d, &d->line, " %s", TABLE_NAME(xdp_mode_name, e->xdp_mode, "mode", ma));
	} else {
		bool first = true;

		put(d, &d->line, ": ");
		if (b->prog != a->prog) {
			put_sep(d, &first);
			put(d, &d->line, "program %s -> %s", TABLE_NAME(prog_name, b->prog, "program", pb),
			    TABLE_NAME(prog_name, a->prog, "program", pa));
		} else if (b->digest != a->digest) {
			put_sep(d, &first);
			put(d, &d->line, "program changed%s", b->digest ? "" : " (not sluice's current build)");
		}
		if (xdp && b->xdp_mode != a->xdp_mode) {
			put_sep(d, &first);
			put(d, &d->line, "mode %s -> %s", TABLE_NAME(xdp_mode_name, b->xdp_mode, "mode", mb),
			    TABLE_NAME(xdp_mode_name, a->xdp_mode, "mode", ma));
		}
		if (first)
			put(d, &d->line, "value differs");
	}
	for (int s = BEFORE; d->fields && s <= AFTER; s++) {
		const struct sl_attach_value *e = v->val[s];
		struct strbuf *sb = &d->obj[s];
		char digest[17], prog[16], mode[16];

		if (!e)
			continue;
		snprintf(digest, sizeof(digest), "%016" PRIx64, e->digest);
		json_s(d, sb, "device", ifname);
		json_s(d, sb, "hook", hook);
		json_s(d, sb, "program", TABLE_NAME(prog_name, e->prog, "program", prog));
		json_s(d, sb, "digest", digest);
		if (xdp)
			json_s(d, sb, "xdp_mode", TABLE_NAME(xdp_mode_name, e->xdp_mode, "mode", mode));
	}
}

static void describe_map(const struct plan_ctx *c, const struct plan_view *v, struct plan_desc *d)
{
	const struct sl_map_value *b = v->val[BEFORE], *a = v->val[AFTER];
	char name[33], tb[24], ta[24];

	(void)c;
	name_copy(name, sizeof(name), v->key, sizeof(((struct sl_map_key *)0)->name));
	put(d, &d->line, "map %s", name);
	if (!a || !b) {
		const struct sl_map_value *e = a ? a : b;

		put(d, &d->line, " %s key %" PRIu32 " value %" PRIu32 " max %" PRIu32,
		    TABLE_NAME(map_type_name, e->type, "type", tb), e->key_size, e->value_size, e->max_entries);
		if (e->flags)
			put(d, &d->line, " flags 0x%" PRIx32, e->flags);
	} else {
		bool first = true;
		/* The entries fit a map of another size or flags; another
		 * type or entry size drops them. */
		bool layout = b->type != a->type || b->key_size != a->key_size || b->value_size != a->value_size;

		put(d, &d->line, ": ");
		if (b->type != a->type) {
			put_sep(d, &first);
			put(d, &d->line, "type %s -> %s", TABLE_NAME(map_type_name, b->type, "type", tb),
			    TABLE_NAME(map_type_name, a->type, "type", ta));
		}
		if (b->key_size != a->key_size) {
			put_sep(d, &first);
			put(d, &d->line, "key %" PRIu32 " -> %" PRIu32, b->key_size, a->key_size);
		}
		if (b->value_size != a->value_size) {
			put_sep(d, &first);
			put(d, &d->line, "value %" PRIu32 " -> %" PRIu32, b->value_size, a->value_size);
		}
		if (b->max_entries != a->max_entries) {
			put_sep(d, &first);
			put(d, &d->line, "max %" PRIu32 " -> %" PRIu32, b->max_entries, a->max_entries);
		}
		if (b->flags != a->flags) {
			put_sep(d, &first);
			put(d, &d->line, "flags 0x%" PRIx32 " -> 0x%" PRIx32, b->flags, a->flags);
		}
		if (first)
			put(d, &d->line, "value differs");
		else
			put(d, &d->line, layout ? " (recreated: entries dropped)" : " (migrated: entries carried over)");
	}
	for (int s = BEFORE; d->fields && s <= AFTER; s++) {
		const struct sl_map_value *e = v->val[s];
		struct strbuf *sb = &d->obj[s];
		char t[24];

		if (!e)
			continue;
		json_s(d, sb, "name", name);
		json_s(d, sb, "type", TABLE_NAME(map_type_name, e->type, "type", t));
		json_u(d, sb, "key_size", e->key_size);
		json_u(d, sb, "value_size", e->value_size);
		json_u(d, sb, "max_entries", e->max_entries);
		json_u(d, sb, "flags", e->flags);
	}
}

/* A program is current when it uses the maps pinned now. */
static const char *prog_state_name(const struct sl_prog_value *v)
{
	return v->current ? "current" : "stale (bound to replaced maps)";
}

static void describe_prog(const struct plan_ctx *c, const struct plan_view *v, struct plan_desc *d)
{
	const struct sl_prog_key *k = v->key;
	const struct sl_prog_value *b = v->val[BEFORE], *a = v->val[AFTER];
	char pbuf[24], digest[17];
	const char *prog = TABLE_NAME(prog_name, k->prog, "program", pbuf);

	(void)c;
	snprintf(digest, sizeof(digest), "%016" PRIx64, k->digest);
	put(d, &d->line, "program %s %s", prog, digest);
	if (a && b)
		put(d, &d->line, ": %s -> %s", prog_state_name(b), prog_state_name(a));
	else if (!(a ? a : b)->current)
		put(d, &d->line, " %s", prog_state_name(a ? a : b));
	for (int s = BEFORE; d->fields && s <= AFTER; s++) {
		const struct sl_prog_value *e = v->val[s];

		if (!e)
			continue;
		json_s(d, &d->obj[s], "program", prog);
		json_s(d, &d->obj[s], "digest", digest);
		json_bool(d, &d->obj[s], "current", e->current);
	}
}

/* ---- services and backends ---- */

/* "10.96.0.10:80/TCP", "[fd00::10]:80/TCP" */
static void frontend_format(const struct sl_service_key *k, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN], pb[8];

	addr_format(k->family, k->addr, a, sizeof(a));
	snprintf(buf, len, k->family == SL_FAMILY_IPV6 ? "[%s]:%u/%s" : "%s:%u/%s", a, ntohs(k->port),
		 proto_name(k->proto, pb, sizeof(pb)));
}

static void backend_format(const struct sl_backend_value *b, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	addr_format(b->family, b->addr, a, sizeof(a));
	snprintf(buf, len, b->family == SL_FAMILY_IPV6 ? "[%s]:%u" : "%s:%u", a, ntohs(b->port));
}

/* A backend's address by id: from set s, else the other; "#id" if neither
 * has it. */
static void backend_by_id(const struct plan_ctx *c, int s, uint32_t id, char *buf, size_t len)
{
	struct sl_backend_key k = { .id = id };

	for (int i = 0; i < 2; i++) {
		const struct sl_objset *set = c->set[i ? !s : s];
		const struct sl_obj *o = objset_find(set, SL_OBJ_BACKEND, &k, sizeof(k));

		if (o && obj_fits(o, sizeof(k), sizeof(struct sl_backend_value))) {
			struct sl_backend_value v;

			memcpy(&v, obj_val(set, o), sizeof(v)); /* at any alignment */
			backend_format(&v, buf, len);
			return;
		}
	}
	snprintf(buf, len, "#%u", id);
}

static const char *member_state(const struct sl_lb_member *m)
{
	return m->flags & SL_LB_MEMBER_TERMINATING ? "terminating" : "active";
}

static uint8_t active_members(const struct sl_service_value *v)
{
	uint8_t n = 0;

	for (uint8_t m = 0; m < v->n_members && m < SL_LB_MAX_BACKENDS; m++)
		n += !(v->member[m].flags & SL_LB_MEMBER_TERMINATING);
	return n;
}

/* One line of a service group, said as a whole service (add, remove, or a
 * change of something other than its backends). */
static void describe_service(const struct plan_ctx *c, const struct plan_view *v, struct plan_desc *d)
{
	const struct sl_service_value *b = v->val[BEFORE], *a = v->val[AFTER];
	char fe[80];

	(void)c;
	frontend_format(v->key, fe, sizeof(fe));
	put(d, &d->line, "service %s", fe);
	if (a && b) {
		bool first = true;
		unsigned moved = 0;

		for (int i = 0; i < SL_LB_SLOTS; i++)
			moved += a->slot[i] != b->slot[i];
		put(d, &d->line, ":");
		if (a->id != b->id) {
			put_sep(d, &first);
			put(d, &d->line, " id %u -> %u", b->id, a->id);
		}
		if (a->n_slots != b->n_slots) {
			put_sep(d, &first);
			put(d, &d->line, " %u -> %u slots", b->n_slots, a->n_slots);
		}
		if (moved) {
			put_sep(d, &first);
			put(d, &d->line, " slot table: %u of %u slots changed", moved, SL_LB_SLOTS);
		}
		if (first)
			put(d, &d->line, " value changed");
	} else if (a && !active_members(a)) {
		put(d, &d->line, " (no active backend: new connections are refused)");
	}
	for (int s = BEFORE; d->fields && s <= AFTER; s++) {
		const struct sl_service_value *x = v->val[s];

		if (!x)
			continue;
		json_s(d, &d->obj[s], "frontend", fe);
		json_u(d, &d->obj[s], "id", x->id);
		json_u(d, &d->obj[s], "backends", x->n_members);
		json_u(d, &d->obj[s], "active", active_members(x));
		json_u(d, &d->obj[s], "slots", x->n_slots);
	}
}

/* A backend entry said on its own: one no service change names. */
static void describe_backend(const struct plan_ctx *c, const struct plan_view *v, struct plan_desc *d)
{
	const struct sl_backend_key *k = v->key;
	const struct sl_backend_value *b = v->val[BEFORE], *a = v->val[AFTER];
	char addr[80], was[80];

	(void)c;
	backend_format(a ? a : b, addr, sizeof(addr));
	put(d, &d->line, "backend %s (id %u)", addr, k->id);
	if (a && b) {
		backend_format(b, was, sizeof(was));
		if (strcmp(was, addr))
			put(d, &d->line, ": %s -> %s", was, addr);
		else
			put(d, &d->line, ": flags %u -> %u", b->flags, a->flags);
	}
	for (int s = BEFORE; d->fields && s <= AFTER; s++) {
		const struct sl_backend_value *x = v->val[s];

		if (!x)
			continue;
		backend_format(x, was, sizeof(was));
		json_u(d, &d->obj[s], "id", k->id);
		json_s(d, &d->obj[s], "backend", was);
		json_bool(d, &d->obj[s], "terminating", x->flags & SL_BACKEND_F_TERMINATING);
	}
}

/* A member line: "backend 10.1.0.11:8080 weight 2", or what changed. */
static void describe_member(const struct plan_ctx *c, const struct sl_lb_member *b, const struct sl_lb_member *a,
			    struct plan_desc *d)
{
	const struct sl_lb_member *m = a ? a : b;
	char addr[80];

	strbuf_truncate(&d->line, 0);
	strbuf_truncate(&d->obj[BEFORE], 0);
	strbuf_truncate(&d->obj[AFTER], 0);
	backend_by_id(c, a ? WANT : HAVE, m->backend_id, addr, sizeof(addr));
	put(d, &d->line, "backend %s", addr);
	if (a && b) {
		bool first = true;

		put(d, &d->line, ":");
		if (a->weight != b->weight) {
			put_sep(d, &first);
			put(d, &d->line, " weight %u -> %u", b->weight, a->weight);
		}
		if ((a->flags ^ b->flags) & SL_LB_MEMBER_TERMINATING) {
			put_sep(d, &first);
			put(d, &d->line, " %s -> %s", member_state(b), member_state(a));
		}
	} else {
		put(d, &d->line, " weight %u%s", m->weight, m->flags & SL_LB_MEMBER_TERMINATING ? " terminating" : "");
	}
	for (int s = BEFORE; d->fields && s <= AFTER; s++) {
		const struct sl_lb_member *x = s == BEFORE ? b : a;

		if (!x)
			continue;
		json_s(d, &d->obj[s], "backend", addr);
		json_u(d, &d->obj[s], "id", x->backend_id);
		json_u(d, &d->obj[s], "weight", x->weight);
		json_s(d, &d->obj[s], "state", member_state(x));
	}
}

/* ---- xfrm states and policies, routes ---- */

/* SL_FAMILY_* of an AF_* family (xfrm and route objects carry AF_*). */
static uint8_t sl_family(uint8_t af)
{
	return af == AF_INET ? SL_FAMILY_IPV4 : af == AF_INET6 ? SL_FAMILY_IPV6 : af;
}

/* An address of an xfrm or route object; "any" when zero and zero_any. */
static void af_addr_format(uint8_t af, const uint8_t *a, bool zero_any, char *buf, size_t len)
{
	static const uint8_t zero[16];

	if (zero_any && (af == AF_INET || af == AF_INET6) && !memcmp(a, zero, af == AF_INET ? 4 : 16))
		snprintf(buf, len, "any");
	else
		addr_format(sl_family(af), a, buf, len);
}

static void af_prefix_format(uint8_t af, const uint8_t *a, uint8_t plen, char *buf, size_t len)
{
	if (!plen && (af == AF_INET || af == AF_INET6))
		snprintf(buf, len, "any");
	else
		prefix_format(sl_family(af), plen, a, buf, len);
}

static void sa_fingerprint(const struct sl_xfrm_state_value *v, char out[9])
{
	sl_key_fingerprint(v->enc_key, v->enc_key_len < SL_XFRM_ENC_KEY_MAX ? v->enc_key_len : SL_XFRM_ENC_KEY_MAX,
			   v->auth_key,
			   v->auth_key_len < SL_XFRM_AUTH_KEY_MAX ? v->auth_key_len : SL_XFRM_AUTH_KEY_MAX, out);
}

static void sa_algorithms(const struct sl_xfrm_state_value *v, char *buf, size_t len)
{
	char enc[SL_XFRM_ALG_NAME_MAX + 1], auth[SL_XFRM_ALG_NAME_MAX + 1];

	name_copy(enc, sizeof(enc), v->enc_name, sizeof(v->enc_name));
	name_copy(auth, sizeof(auth), v->auth_name, sizeof(v->auth_name));
	if (auth[0])
		snprintf(buf, len, "%s %s", enc, auth);
	else
		snprintf(buf, len, "%s", enc);
}

/* "state out 192.168.50.1 -> 192.168.50.2 spi 0x4", "state in any ->
 * 192.168.50.1 spi 0x4": an SA with a source is this node's outbound one,
 * an inbound SA has none (the kernel finds it by destination and SPI). */
static void describe_xfrm_state(const struct plan_ctx *c, const struct plan_view *v, struct plan_desc *d)
{
	const struct sl_xfrm_state_key *k = v->key;
	const struct sl_xfrm_state_value *b = v->val[BEFORE], *a = v->val[AFTER], *e = a ? a : b;
	static const uint8_t zero[16];
	char src[INET6_ADDRSTRLEN + 8], dst[INET6_ADDRSTRLEN + 8], alg[2 * SL_XFRM_ALG_NAME_MAX + 2], fb[9], fa[9];
	bool in = !memcmp(e->saddr, zero, 16);

	(void)c;
	af_addr_format(k->family, e->saddr, true, src, sizeof(src));
	af_addr_format(k->family, k->daddr, false, dst, sizeof(dst));
	put(d, &d->line, "state %s %s -> %s spi 0x%x", in ? "in" : "out", src, dst, k->spi);
	if (k->mark || k->mark_mask)
		put(d, &d->line, " mark 0x%x/0x%x", k->mark, k->mark_mask);
	if (b)
		sa_fingerprint(b, fb);
	if (a)
		sa_fingerprint(a, fa);
	if (!a || !b) {
		sa_algorithms(e, alg, sizeof(alg));
		put(d, &d->line, " %s key <redacted> (fingerprint %s) reqid 0x%x", alg, a ? fa : fb, e->reqid);
	} else {
		bool first = true;
		char ab[sizeof(alg)];

		put(d, &d->line, ": ");
		sa_algorithms(b, ab, sizeof(ab));
		sa_algorithms(a, alg, sizeof(alg));
		if (strcmp(ab, alg)) {
			put_sep(d, &first);
			put(d, &d->line, "algorithms %s -> %s", ab, alg);
		}
		if (strcmp(fb, fa) || b->enc_key_len != a->enc_key_len || b->auth_key_len != a->auth_key_len ||
		    memcmp(b->enc_key, a->enc_key, sizeof(a->enc_key)) || memcmp(b->auth_key, a->auth_key, sizeof(a->auth_key))) {
			put_sep(d, &first);
			put(d, &d->line, "key <redacted> (fingerprint %s -> %s)", fb, fa);
		}
		if (memcmp(b->saddr, a->saddr, 16)) {
			char sb[INET6_ADDRSTRLEN + 8];

			af_addr_format(k->family, b->saddr, true, sb, sizeof(sb));
			put_sep(d, &first);
			put(d, &d->line, "source %s -> %s", sb, src);
		}
		if (b->reqid != a->reqid) {
			put_sep(d, &first);
			put(d, &d->line, "reqid 0x%x -> 0x%x", b->reqid, a->reqid);
		}
		if (b->icv_bits != a->icv_bits) {
			put_sep(d, &first);
			put(d, &d->line, "icv %u -> %u bits", b->icv_bits, a->icv_bits);
		}
		if (b->replay_window != a->replay_window) {
			put_sep(d, &first);
			put(d, &d->line, "replay window %u -> %u", b->replay_window, a->replay_window);
		}
		if (first)
			put(d, &d->line, "settings differ");
		if (!first)
			put(d, &d->line, " (replaced: removed and added in one message)");
	}
	for (int s = BEFORE; d->fields && s <= AFTER; s++) {
		const struct sl_xfrm_state_value *x = v->val[s];
		struct strbuf *sb = &d->obj[s];
		char xs[INET6_ADDRSTRLEN + 8];

		if (!x)
			continue;
		af_addr_format(k->family, x->saddr, true, xs, sizeof(xs));
		sa_algorithms(x, alg, sizeof(alg));
		json_s(d, sb, "direction", memcmp(x->saddr, zero, 16) ? "out" : "in");
		json_s(d, sb, "src", xs);
		json_s(d, sb, "dst", dst);
		json_u(d, sb, "spi", k->spi);
		json_u(d, sb, "reqid", x->reqid);
		json_s(d, sb, "algorithms", alg);
		json_u(d, sb, "icvBits", x->icv_bits);
		json_u(d, sb, "replayWindow", x->replay_window);
		json_s(d, sb, "key", "<redacted>");
		json_s(d, sb, "keyFingerprint", s == BEFORE ? fb : fa);
	}
}

static const char *const xfrm_dir_name[] = { "in", "out", "fwd" };

static void describe_xfrm_policy(const struct plan_ctx *c, const struct plan_view *v, struct plan_desc *d)
{
	const struct sl_xfrm_policy_key *k = v->key;
	const struct sl_xfrm_policy_value *b = v->val[BEFORE], *a = v->val[AFTER], *e = a ? a : b;
	char src[80], dst[80], ts[INET6_ADDRSTRLEN + 8], td[INET6_ADDRSTRLEN + 8];
	const char *dir = k->dir < ARRAY_SIZE(xfrm_dir_name) ? xfrm_dir_name[k->dir] : "?";

	(void)c;
	af_prefix_format(k->family, k->src, k->src_len, src, sizeof(src));
	af_prefix_format(k->family, k->dst, k->dst_len, dst, sizeof(dst));
	put(d, &d->line, "policy %s %s -> %s", dir, src, dst);
	if (k->mark || k->mark_mask)
		put(d, &d->line, " mark 0x%x/0x%x", k->mark, k->mark_mask);
	af_addr_format(e->tmpl_family, e->tmpl_src, true, ts, sizeof(ts));
	af_addr_format(e->tmpl_family, e->tmpl_dst, true, td, sizeof(td));
	if (!a || !b) {
		put(d, &d->line, " tmpl %s -> %s", ts, td);
		if (e->spi)
			put(d, &d->line, " spi 0x%x", e->spi);
		else
			put(d, &d->line, " any spi");
		put(d, &d->line, " reqid 0x%x", e->reqid);
	} else {
		char bs[INET6_ADDRSTRLEN + 8], bd[INET6_ADDRSTRLEN + 8];
		bool first = true;

		af_addr_format(b->tmpl_family, b->tmpl_src, true, bs, sizeof(bs));
		af_addr_format(b->tmpl_family, b->tmpl_dst, true, bd, sizeof(bd));
		put(d, &d->line, ": ");
		if (strcmp(bs, ts) || strcmp(bd, td)) {
			put_sep(d, &first);
			put(d, &d->line, "tmpl %s -> %s to %s -> %s", bs, bd, ts, td);
		}
		if (b->spi != a->spi) {
			put_sep(d, &first);
			put(d, &d->line, "spi 0x%x -> 0x%x", b->spi, a->spi);
		}
		if (b->reqid != a->reqid) {
			put_sep(d, &first);
			put(d, &d->line, "reqid 0x%x -> 0x%x", b->reqid, a->reqid);
		}
		if (b->priority != a->priority) {
			put_sep(d, &first);
			put(d, &d->line, "priority %u -> %u", b->priority, a->priority);
		}
		if (first)
			put(d, &d->line, "settings differ");
	}
	for (int s = BEFORE; d->fields && s <= AFTER; s++) {
		const struct sl_xfrm_policy_value *x = v->val[s];
		struct strbuf *sb = &d->obj[s];
		char xs[INET6_ADDRSTRLEN + 8], xd[INET6_ADDRSTRLEN + 8];

		if (!x)
			continue;
		af_addr_format(x->tmpl_family, x->tmpl_src, true, xs, sizeof(xs));
		af_addr_format(x->tmpl_family, x->tmpl_dst, true, xd, sizeof(xd));
		json_s(d, sb, "direction", dir);
		json_s(d, sb, "src", src);
		json_s(d, sb, "dst", dst);
		json_u(d, sb, "mark", k->mark);
		json_u(d, sb, "markMask", k->mark_mask);
		json_s(d, sb, "tmplSrc", xs);
		json_s(d, sb, "tmplDst", xd);
		json_u(d, sb, "spi", x->spi);
		json_u(d, sb, "reqid", x->reqid);
		json_u(d, sb, "priority", x->priority);
	}
}

static void route_format(const struct sl_route_key *k, const struct sl_route_value *x, char *buf, size_t len)
{
	char gw[INET6_ADDRSTRLEN + 8], dev[SL_ROUTE_DEV_MAX + 1], metric[24] = "", mtu[24] = "";

	af_addr_format(x->gw_family, x->gw, false, gw, sizeof(gw));
	name_copy(dev, sizeof(dev), x->dev, sizeof(x->dev));
	if (k->family == AF_INET ? k->metric != 0 : k->metric != SL_ROUTE_METRIC_V6)
		snprintf(metric, sizeof(metric), " metric %u", k->metric);
	if (x->mtu)
		snprintf(mtu, sizeof(mtu), " mtu %u", x->mtu);
	snprintf(buf, len, "%s%s%sdev %s%s%s", x->gw_family ? "via " : "", x->gw_family ? gw : "",
		 x->gw_family ? " " : "", dev, metric, mtu);
}

static void describe_route(const struct plan_ctx *c, const struct plan_view *v, struct plan_desc *d)
{
	const struct sl_route_key *k = v->key;
	const struct sl_route_value *b = v->val[BEFORE], *a = v->val[AFTER];
	char dst[80], rb[INET6_ADDRSTRLEN + 80], ra[INET6_ADDRSTRLEN + 80];

	(void)c;
	prefix_format(sl_family(k->family), k->prefix_len, k->prefix, dst, sizeof(dst));
	if (b)
		route_format(k, b, rb, sizeof(rb));
	if (a)
		route_format(k, a, ra, sizeof(ra));
	put(d, &d->line, "route %s", dst);
	if (a && b)
		put(d, &d->line, ": %s -> %s", rb, ra);
	else
		put(d, &d->line, " %s", a ? ra : rb);
	for (int s = BEFORE; d->fields && s <= AFTER; s++) {
		const struct sl_route_value *x = v->val[s];
		char gw[INET6_ADDRSTRLEN + 8], dev[SL_ROUTE_DEV_MAX + 1];

		if (!x)
			continue;
		af_addr_format(x->gw_family, x->gw, false, gw, sizeof(gw));
		name_copy(dev, sizeof(dev), x->dev, sizeof(x->dev));
		json_s(d, &d->obj[s], "dst", dst);
		json_s(d, &d->obj[s], "via", x->gw_family ? gw : NULL);
		json_s(d, &d->obj[s], "dev", dev);
		json_u(d, &d->obj[s], "metric", k->metric);
		json_u(d, &d->obj[s], "mtu", x->mtu);
	}
}

static void put_hex(struct plan_desc *d, struct strbuf *sb, const void *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		put(d, sb, "%02x", ((const uint8_t *)p)[i]);
}

struct plan_kind {
	const char *name; /* JSON's "kind" */
	uint8_t klen;
	uint16_t vlen;
	void (*describe)(const struct plan_ctx *c, const struct plan_view *v, struct plan_desc *d);
};

static const struct plan_kind plan_kinds[SL_OBJ__MAX] = {
	[SL_OBJ_ENDPOINT] = { "endpoint", 16, sizeof(struct sl_endpoint_value), describe_endpoint },
	[SL_OBJ_IPCACHE] = { "ipcache", sizeof(struct sl_ipcache_key), sizeof(struct sl_ipcache_value),
			     describe_ipcache },
	[SL_OBJ_POLICY] = { "policy", sizeof(struct sl_policy_key), sizeof(struct sl_policy_value), describe_policy },
	[SL_OBJ_PREFILTER4] = { "prefilter", 4 + 4, 1, describe_prefilter },
	[SL_OBJ_PREFILTER6] = { "prefilter", 4 + 16, 1, describe_prefilter },
	[SL_OBJ_ATTACH] = { "attach", sizeof(struct sl_attach_key), sizeof(struct sl_attach_value), describe_attach },
	[SL_OBJ_MAP] = { "map", sizeof(struct sl_map_key), sizeof(struct sl_map_value), describe_map },
	[SL_OBJ_PROG] = { "program", sizeof(struct sl_prog_key), sizeof(struct sl_prog_value), describe_prog },
	[SL_OBJ_BACKEND] = { "backend", sizeof(struct sl_backend_key), sizeof(struct sl_backend_value),
			     describe_backend },
	[SL_OBJ_SERVICE] = { "service", sizeof(struct sl_service_key), sizeof(struct sl_service_value),
			     describe_service },
	[SL_OBJ_XFRM_STATE] = { "xfrm-state", sizeof(struct sl_xfrm_state_key), sizeof(struct sl_xfrm_state_value),
				describe_xfrm_state },
	[SL_OBJ_XFRM_POLICY] = { "xfrm-policy", sizeof(struct sl_xfrm_policy_key),
				 sizeof(struct sl_xfrm_policy_value), describe_xfrm_policy },
	[SL_OBJ_ROUTE] = { "route", sizeof(struct sl_route_key), sizeof(struct sl_route_value), describe_route },
};

/* Whether the renderer knows the object's kind and sizes. */
static bool view_known(const struct plan_view *v)
{
	const struct plan_kind *k = v->kind < SL_OBJ__MAX ? &plan_kinds[v->kind] : NULL;

	if (!k || !k->describe || v->klen != k->klen)
		return false;
	for (int s = BEFORE; s <= AFTER; s++)
		if (v->val[s] && v->vlen[s] != k->vlen)
			return false;
	return true;
}

/* Any other object: its kind and bytes. */
static void describe_generic(const struct plan_ctx *c, const struct plan_view *v, struct plan_desc *d)
{
	const char *name = v->kind < SL_OBJ__MAX ? plan_kinds[v->kind].name : NULL;

	(void)c;
	if (name)
		put(d, &d->line, "%s (unexpected size) key ", name);
	else
		put(d, &d->line, "object kind %u key ", v->kind);
	put_hex(d, &d->line, v->key, v->klen);
	if (v->kind == SL_OBJ_XFRM_STATE) {
		/* an SA's value holds its key: never its bytes */
		put(d, &d->line, " value <redacted>");
		return;
	}
	put(d, &d->line, " value ");
	if (v->val[BEFORE] && v->val[AFTER]) {
		put_hex(d, &d->line, v->val[BEFORE], v->vlen[BEFORE]);
		put(d, &d->line, " -> ");
	}
	put_hex(d, &d->line, v->val[AFTER] ? v->val[AFTER] : v->val[BEFORE],
		v->val[AFTER] ? v->vlen[AFTER] : v->vlen[BEFORE]);
	for (int s = BEFORE; d->fields && s <= AFTER; s++) {
		if (!v->val[s])
			continue;
		json_key(d, &d->obj[s], "key");
		put(d, &d->obj[s], "\"");
		put_hex(d, &d->obj[s], v->key, v->klen);
		put(d, &d->obj[s], "\"");
		json_key(d, &d->obj[s], "value");
		put(d, &d->obj[s], "\"");
		put_hex(d, &d->obj[s], v->val[s], v->vlen[s]);
		put(d, &d->obj[s], "\"");
	}
}

static const char *kind_name(const struct plan_view *v)
{
	return view_known(v) ? plan_kinds[v->kind].name : "unknown";
}

/* p (n bytes) copied into buf when it fits: what is read as a struct must
 * be aligned. */
static const void *view_copy(union plan_bytes *buf, const void *p, size_t n)
{
	if (n > sizeof(buf->b))
		return p;
	memcpy(buf->b, p, n);
	return buf->b;
}

/* An SA's value holds its key: the copies are wiped once read. */
static void view_wipe(struct plan_view *v)
{
	if (v->kind == SL_OBJ_XFRM_STATE)
		explicit_bzero(v->vbuf, sizeof(v->vbuf));
}

static void view_init(const struct plan_ctx *c, const struct sl_change *ch, struct plan_view *v)
{
	const struct sl_objset *w = c->set[WANT], *h = c->set[HAVE];
	const struct sl_obj *a = ch->want != SL_DIFF_NONE ? &w->v[ch->want] : NULL;
	const struct sl_obj *b = ch->have != SL_DIFF_NONE ? &h->v[ch->have] : NULL;

	v->kind = ch->kind;
	v->key = NULL;
	v->klen = 0;
	v->val[BEFORE] = v->val[AFTER] = NULL;
	v->vlen[BEFORE] = v->vlen[AFTER] = 0;
	if (b) {
		v->key = view_copy(&v->kbuf, obj_key(h, b), b->klen);
		v->klen = b->klen;
		v->val[BEFORE] = view_copy(&v->vbuf[BEFORE], obj_val(h, b), b->vlen);
		v->vlen[BEFORE] = b->vlen;
	}
	if (a) {
		v->key = view_copy(&v->kbuf, obj_key(w, a), a->klen);
		v->klen = a->klen;
		v->val[AFTER] = view_copy(&v->vbuf[AFTER], obj_val(w, a), a->vlen);
		v->vlen[AFTER] = a->vlen;
	}
}

static void describe(const struct plan_ctx *c, const struct plan_view *v, struct plan_desc *d)
{
	strbuf_truncate(&d->line, 0);
	strbuf_truncate(&d->obj[BEFORE], 0);
	strbuf_truncate(&d->obj[AFTER], 0);
	if (view_known(v))
		plan_kinds[v->kind].describe(c, v, d);
	else
		describe_generic(c, v, d);
}

/* ---- grouping ---- */

/* The group's interface: the name up to its NUL, zero-padded, so that
 * every kind's copy of one name groups together. */
static void item_ifname(struct plan_item *it, const char *name)
{
	memset(it->ifname, 0, sizeof(it->ifname));
	memcpy(it->ifname, name, strnlen(name, sizeof(it->ifname)));
}

static void item_init(const struct plan_ctx *c, uint32_t i, struct plan_item *it)
{
	_cleanup_(view_wipe) struct plan_view v;

	view_init(c, &c->d->v[i], &v);
	memset(it, 0, sizeof(*it));
	it->change = i;
	it->section = SEC_OTHER;
	if (!view_known(&v))
		return;
	switch (v.kind) {
	case SL_OBJ_ENDPOINT:
		it->section = SEC_ENDPOINT;
		item_ifname(it, v.key);
		break;
	case SL_OBJ_POLICY: {
		const struct sl_policy_key *k = v.key;
		/* the endpoint of the set the entry is in, else of the other */
		int first = v.val[AFTER] ? WANT : HAVE;
		const char *ifname = ep_ifname_by_id(c, first, k->ep_id);

		if (!ifname)
			ifname = ep_ifname_by_id(c, !first, k->ep_id);
		it->rank = 1;
		if (ifname) {
			it->section = SEC_ENDPOINT;
			item_ifname(it, ifname);
		} else {
			it->section = SEC_GONE;
			it->ep_id = k->ep_id;
		}
		break;
	}
	case SL_OBJ_ATTACH: {
		const struct sl_attach_key *k = v.key;

		it->rank = 2;
		if (k->hook == SL_HOOK_TC_INGRESS || k->hook == SL_HOOK_TC_EGRESS) {
			it->section = SEC_ENDPOINT;
			item_ifname(it, k->ifname);
		} else if (k->hook == SL_HOOK_XDP) {
			it->section = SEC_PREFILTER;
		}
		break;
	}
	case SL_OBJ_IPCACHE:
		it->section = SEC_IPCACHE;
		break;
	case SL_OBJ_PREFILTER4:
	case SL_OBJ_PREFILTER6:
		it->section = SEC_PREFILTER;
		it->rank = v.kind == SL_OBJ_PREFILTER4 ? 0 : 1;
		break;
	case SL_OBJ_MAP:
		it->section = SEC_MAPS;
		break;
	case SL_OBJ_PROG:
		it->section = SEC_PROGS;
		break;
	case SL_OBJ_SERVICE:
		it->section = SEC_SERVICE;
		it->svc = c->d->v[i].want != SL_DIFF_NONE ? obj_key(c->set[WANT], &c->set[WANT]->v[c->d->v[i].want])
							   : obj_key(c->set[HAVE], &c->set[HAVE]->v[c->d->v[i].have]);
		break;
	case SL_OBJ_BACKEND:
		it->section = SEC_BACKENDS;
		break;
	case SL_OBJ_XFRM_STATE:
	case SL_OBJ_XFRM_POLICY:
		/* in the order apply takes: states added, policies added,
		 * policies removed, states removed (a new key's SAs before
		 * anything uses them, the old ones after nothing does) */
		it->section = SEC_XFRM;
		if (c->d->v[i].op != SL_OP_REMOVE)
			it->rank = v.kind == SL_OBJ_XFRM_STATE ? 0 : 1;
		else
			it->rank = v.kind == SL_OBJ_XFRM_POLICY ? 2 : 3;
		break;
	case SL_OBJ_ROUTE:
		it->section = SEC_ROUTES;
		break;
	}
}

/* Backend entries that a service change names are said by its lines: hide
 * them. Returns 0 or -ENOMEM. */
static int hide_named_backends(const struct plan_ctx *c, struct plan_item *items, size_t n)
{
	uint32_t *ids = NULL;
	size_t n_ids = 0, cap = 0;

	for (size_t i = 0; i < n; i++) {
		struct plan_view v;

		if (items[i].section != SEC_SERVICE)
			continue;
		view_init(c, &c->d->v[items[i].change], &v);
		for (int s = BEFORE; s <= AFTER; s++) {
			const struct sl_service_value *x = v.val[s];

			for (uint8_t m = 0; x && m < x->n_members && m < SL_LB_MAX_BACKENDS; m++) {
				if (grow_array((void **)&ids, &cap, n_ids + 1, sizeof(*ids)) < 0) {
					free(ids);
					return -ENOMEM;
				}
				ids[n_ids++] = x->member[m].backend_id;
			}
		}
	}
	if (n_ids > 1) /* qsort(NULL, 0) is undefined */
		qsort(ids, n_ids, sizeof(*ids), cmp_u32);
	for (size_t i = 0; n_ids && i < n; i++) {
		struct plan_view v;
		uint32_t id;

		if (items[i].section != SEC_BACKENDS)
			continue;
		view_init(c, &c->d->v[items[i].change], &v);
		id = ((const struct sl_backend_key *)v.key)->id;
		if (bsearch(&id, ids, n_ids, sizeof(*ids), cmp_u32))
			items[i].section = SEC_HIDDEN;
	}
	free(ids);
	return 0;
}

static int item_group_cmp(const struct plan_item *x, const struct plan_item *y)
{
	int r;

	if (x->section != y->section)
		return x->section < y->section ? -1 : 1;
	if (x->section == SEC_SERVICE)
		return memcmp(x->svc, y->svc, sizeof(struct sl_service_key));
	r = memcmp(x->ifname, y->ifname, sizeof(x->ifname));
	if (r)
		return r;
	return x->ep_id < y->ep_id ? -1 : x->ep_id > y->ep_id;
}

static int item_cmp(const void *a, const void *b)
{
	const struct plan_item *x = a, *y = b;
	int r = item_group_cmp(x, y);

	if (r)
		return r;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->change < y->change ? -1 : x->change > y->change;
}

/* "endpoint web-1 (lxc-web1, id 17)", "endpoint lxc-web1 (id 17)",
 * "endpoint id 7 (gone)", "ipcache"... */
static void put_group(const struct plan_ctx *c, const struct plan_item *it, struct plan_desc *d, struct strbuf *sb)
{
	char ifname[17];
	struct sl_endpoint_value evv;
	bool ev;
	const struct sl_endpoint *ep;

	if (it->section == SEC_GONE) {
		put(d, sb, "endpoint id %" PRIu32 " (gone)", it->ep_id);
		return;
	}
	if (it->section == SEC_SERVICE) {
		const struct svc_ref *r = c->n_svcs ? bsearch(it->svc, c->svcs, c->n_svcs, sizeof(*c->svcs), svc_key_cmp)
						    : NULL;
		struct sl_service_key k;
		char fe[80];

		memcpy(&k, it->svc, sizeof(k));
		frontend_format(&k, fe, sizeof(fe));
		put(d, sb, "service %s%s%s", r && r->name ? r->name : "", r && r->name ? " " : "", fe);
		return;
	}
	if (it->section != SEC_ENDPOINT) {
		put(d, sb, "%s", section_name[it->section]);
		return;
	}
	name_copy(ifname, sizeof(ifname), it->ifname, sizeof(it->ifname));
	ev = ep_value(c, it->ifname, &evv);
	ep = st_endpoint(c, ifname);
	if (ep && ep->name)
		put(d, sb, "endpoint %s (%s", ep->name, ifname);
	else
		put(d, sb, "endpoint %s%s", ifname, ev ? " (" : "");
	if (ev)
		put(d, sb, "%sid %u", ep && ep->name ? ", " : "", evv.id);
	if (ev || (ep && ep->name))
		put(d, sb, ")");
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
	const struct plan_ctx *c;
	struct plan_desc *d;
	struct strbuf *out;
	bool json, color;
	struct strbuf group; /* JSON: the current group's name */
	size_t n;	     /* lines so far */
};

/* One line: the op, d->line and (JSON) d->obj[]. */
static void emit(struct emitter *e, int op, const char *kind, bool before, bool after)
{
	struct plan_desc *d = e->d;

	if (op >= 0 && op < SL_CHANGE_OPS)
		d->count[op]++;
	if (!e->json) {
		if (op >= 0 && op < (int)ARRAY_SIZE(op_sign))
			put(d, e->out, "  %s%s%s %s\n", e->color ? op_color[op] : "", op_sign[op],
			    e->color ? COLOR_RESET : "", strbuf_str(&d->line));
		else
			put(d, e->out, "  ? %s\n", strbuf_str(&d->line));
		e->n++;
		return;
	}
	put(d, e->out, "%s{\"op\":", e->n++ ? "," : "");
	put_json_str(d, e->out, op >= 0 && op <= SL_OP_REMOVE ? sl_op_name[op] : "unknown");
	put(d, e->out, ",\"kind\":");
	put_json_str(d, e->out, kind);
	put(d, e->out, ",\"object\":");
	put_json_str(d, e->out, strbuf_str(&d->line));
	put(d, e->out, ",\"group\":");
	put_json_str(d, e->out, strbuf_str(&e->group));
	for (int s = BEFORE; s <= AFTER; s++) {
		put(d, e->out, ",\"%s\":", s == BEFORE ? "before" : "after");
		if (s == BEFORE ? before : after)
			put(d, e->out, "{%s}", strbuf_str(&d->obj[s]));
		else
			put(d, e->out, "null");
	}
	put(d, e->out, "}");
}

static const struct sl_lb_member *member_find(const struct sl_service_value *v, uint32_t backend_id)
{
	for (uint8_t m = 0; v && m < v->n_members && m < SL_LB_MAX_BACKENDS; m++)
		if (v->member[m].backend_id == backend_id)
			return &v->member[m];
	return NULL;
}

/* A service's lines: the service itself when it comes or goes (or changes
 * in something other than its backends), then one line per backend that
 * comes, goes or changes weight or state. Never the slot table's bytes. */
static void emit_service(struct emitter *e, const struct sl_change *ch, const struct plan_view *v)
{
	const struct sl_service_value *b = v->val[BEFORE], *a = v->val[AFTER];
	bool members_differ = false;

	if (a && b) {
		members_differ = a->n_members != b->n_members;
		for (uint8_t m = 0; !members_differ && m < a->n_members && m < SL_LB_MAX_BACKENDS; m++)
			members_differ = memcmp(&a->member[m], &b->member[m], sizeof(a->member[m])) != 0;
	}
	if (!a || !b || !members_differ || a->id != b->id) {
		describe(e->c, v, e->d);
		emit(e, ch->op, "service", b != NULL, a != NULL);
	}
	/* removed and changed members, in the order of the live value */
	for (uint8_t m = 0; b && m < b->n_members && m < SL_LB_MAX_BACKENDS; m++) {
		const struct sl_lb_member *now = member_find(a, b->member[m].backend_id);

		if (!now) {
			describe_member(e->c, &b->member[m], NULL, e->d);
			emit(e, SL_OP_REMOVE, "backend", true, false);
		} else if (now->weight != b->member[m].weight ||
			   ((now->flags ^ b->member[m].flags) & SL_LB_MEMBER_TERMINATING)) {
			describe_member(e->c, &b->member[m], now, e->d);
			emit(e, SL_OP_CHANGE, "backend", true, true);
		}
	}
	for (uint8_t m = 0; a && m < a->n_members && m < SL_LB_MAX_BACKENDS; m++)
		if (!member_find(b, a->member[m].backend_id)) {
			describe_member(e->c, NULL, &a->member[m], e->d);
			emit(e, SL_OP_ADD, "backend", false, true);
		}
}

static void render_lines(const struct plan_ctx *c, size_t n, bool json, bool color, struct plan_desc *d,
			 struct strbuf *out)
{
	struct emitter e = { .c = c, .d = d, .out = out, .json = json, .color = color };

	d->fields = json;
	if (json)
		put(d, out, "{\"changes\":[");
	else if (!n)
		put(d, out, "No changes.\n");
	for (size_t i = 0; i < n && d->err >= 0; i++) {
		const struct plan_item *it = &c->items[i];
		const struct sl_change *ch = &c->d->v[it->change];
		struct plan_view v;

		if (!i || item_group_cmp(&c->items[i - 1], it)) {
			if (json) {
				strbuf_truncate(&e.group, 0);
				put_group(c, it, d, &e.group);
			} else {
				put(d, out, "%s", color ? COLOR_BOLD : "");
				put_group(c, it, d, out);
				put(d, out, "%s\n", color ? COLOR_RESET : "");
			}
		}
		view_init(c, ch, &v);
		if (it->section == SEC_SERVICE && view_known(&v)) {
			emit_service(&e, ch, &v);
		} else {
			describe(c, &v, d);
			emit(&e, ch->op, kind_name(&v), v.val[BEFORE] != NULL, v.val[AFTER] != NULL);
		}
		view_wipe(&v);
		drain(d, out);
	}
	if (json)
		put(d, out, "],\"summary\":{\"add\":%zu,\"change\":%zu,\"remove\":%zu}}\n", d->count[SL_OP_ADD],
		    d->count[SL_OP_CHANGE], d->count[SL_OP_REMOVE]);
	else if (n)
		put(d, out, "Plan: %zu to add, %zu to change, %zu to remove.\n", d->count[SL_OP_ADD],
		    d->count[SL_OP_CHANGE], d->count[SL_OP_REMOVE]);
	strbuf_free(&e.group);
}

static int render(const struct sl_objset *want, const struct sl_objset *have, const struct sl_diff *d,
		  const struct sl_state *st, enum sl_plan_format fmt, bool color, FILE *sink, struct strbuf *out,
		  size_t *ret_counts)
{
	struct plan_ctx c = { .set = { want, have }, .d = d, .st = st };
	struct plan_desc desc = { .sink = sink };
	size_t start = out->len, n;
	int r;

	r = ctx_init(&c);
	if (r < 0)
		goto out;
	c.items = calloc(d->n + 1, sizeof(*c.items));
	if (!c.items) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < d->n; i++)
		item_init(&c, (uint32_t)i, &c.items[i]);
	r = hide_named_backends(&c, c.items, d->n);
	if (r < 0)
		goto out;
	qsort(c.items, d->n, sizeof(*c.items), item_cmp);
	for (n = 0; n < d->n && c.items[n].section != SEC_HIDDEN; n++)
		;
	render_lines(&c, n, fmt == SL_PLAN_JSON, color && fmt != SL_PLAN_JSON, &desc, out);
	r = desc.err;
	if (ret_counts)
		memcpy(ret_counts, desc.count, sizeof(desc.count));
	if (r >= 0 && sink && fwrite(out->s ? out->s : "", 1, out->len, sink) != out->len)
		r = -EIO;
out:
	if (r < 0 || sink)
		strbuf_truncate(out, start);
	strbuf_free(&desc.line);
	strbuf_free(&desc.obj[BEFORE]);
	strbuf_free(&desc.obj[AFTER]);
	ctx_free(&c);
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
