/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Show: a live object set back into a state document (see show.h).
 *
 * Reading goes kind by kind: the ipcache gives the nodes, the addresses of
 * local and remote endpoints, the remote pod CIDRs and the CIDR identities;
 * the endpoints map gives the local endpoints; the policy entries of one
 * endpoint per identity give that identity's policy. Then a document tree
 * is built and rendered as YAML or JSON.
 *
 * Policy entries are the merged product of rules (compile.c): one entry per
 * (peer, protocol, port) with a verdict. They are written back as one rule
 * per verdict and set of ports whose peers are the same, so the rules
 * multiply out to exactly those entries. Entities that expand to several
 * identities (world, cluster) are written only where every identity they
 * add has an entry that the rule cannot change; where that does not hold
 * the rule is written anyway and a note says that the round trip adds
 * entries.
 *
 * Every CIDR identity in the ipcache must be named by some rule, or the
 * document would not give it one: by a rule of the entries, else as an
 * exception (fromCIDRSet except) of the narrowest such CIDR around it,
 * else beside world in a rule that names world, else by a policy that
 * selects no endpoint of this node (SHOW_HOLDER_POLICY).
 */
#include "show.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sluice/abi.h>

#include "common/arena.h"
#include "common/doc.h"
#include "common/util.h"
#include "kinds/xfrm.h"
#include "labels.h"
#include "model.h"
#include "net.h"

#define SHOW_MAX_NOTES 40
#define SHOW_IFNAME_LEN 16
#define SHOW_HOLDER_POLICY "unused-cidrs"

/* ---- what was read from the live set ---- */

struct snode {
	struct sl_prefix ip;
	bool here;
	const char *name;
	struct sl_prefix *pods;
	size_t n_pods, cap_pods;
	uint32_t keys; /* bit k: encryption key index k toward this node */
};

/* A host address of an endpoint. */
struct saddr {
	struct sl_prefix p;
	uint32_t identity;
	int node; /* -1: local; else the remote endpoint's node */
};

struct sep {
	char ifname[SHOW_IFNAME_LEN + 1];
	struct sl_endpoint_value v;
	const char *name;
	int a4, a6; /* index in addrs, or -1 */
	bool skip;
};

struct srep {
	const char *name;
	uint32_t identity;
	int node;
	int a4, a6;
};

struct srule;

struct scidr {
	struct sl_prefix p;
	uint32_t id;
	size_t strong;		       /* rules without world that name it */
	const struct srule *first_rule; /* the first of those */
	int except_of;		       /* the CIDR it is written as an exception of, or -1 */
	int except_head, except_tail, except_next;
	bool placed;
};

/* A policy entry, decoded. */
struct pent {
	uint16_t ep_id;
	uint8_t dir;
	uint8_t proto;
	uint16_t port; /* host order */
	uint16_t proxy;
	uint32_t id;
	bool deny;
};

struct pspec {
	uint8_t proto;
	uint16_t port;
};

/* A verdict: deny, or allow with a proxy port (0: none). */
struct pclass {
	bool deny;
	uint16_t proxy;
};

struct srule {
	uint8_t dir; /* enum sl_direction */
	bool ent[SL_ENTITY__MAX];
	uint32_t *ids; /* user identities: fromEndpoints */
	size_t n_ids;
	size_t *cidrs; /* indexes in cidrs */
	bool *cidr_drop;
	size_t n_cidrs;
	struct pspec *ports;
	size_t n_ports;
	bool to_ports;
	uint16_t proxy;
};

struct spolicy {
	const char *name;
	const char *subject; /* the sluice.io/identity value it selects */
	bool key[SL_DIRECTION__MAX]; /* write the key even with no rule */
	struct srule *rules;
	size_t n_rules, cap_rules;
};

/* Local endpoints of one identity, eps[order[first..first+n)], in
 * interface order: their policy is that of the first, the rep. */
struct sgroup {
	uint32_t identity;
	size_t first, n;
	size_t rep; /* index in eps */
};

struct nameset {
	const char **v;
	size_t n, cap;
};

struct show {
	const struct sl_objset *live;
	const struct sl_map_layout *layouts;
	size_t n_layouts;
	struct arena arena;
	bool oom;
	struct strbuf notes;
	size_t n_notes, n_more;
	/* encryption's objects: counted, never shown (SAs hold keys) */
	size_t n_sa, n_xpol, n_routes;
	uint32_t sa_spis; /* bit k: an SA with SPI k */

	struct snode *nodes;
	size_t n_nodes, cap_nodes;
	int here;
	struct saddr *addrs;
	size_t n_addrs, cap_addrs;
	struct sep *eps;
	size_t n_eps, cap_eps;
	struct srep *reps;
	size_t n_reps, cap_reps;
	struct scidr *cidrs; /* by id */
	size_t n_cidrs, cap_cidrs;
	struct pent *pe; /* by (ep_id, dir, id, proto, port) */
	size_t n_pe, cap_pe;
	struct sgroup *groups; /* by identity */
	size_t n_groups, cap_groups;
	size_t *order; /* shown local endpoints, by identity and interface */
	uint32_t *ids; /* the identities written, sorted */
	size_t n_ids, cap_ids;
	struct spolicy *pols;
	size_t n_pols, cap_pols;
	struct sl_prefix *deny;
	size_t n_deny, cap_deny;
	bool has_pf;
	char pf_device[SHOW_IFNAME_LEN + 1];
	uint8_t xdp_mode;
	uint32_t map_size[SL_MAP__MAX];
	bool map_size_set[SL_MAP__MAX];
	int enforcement; /* enum sl_enforcement */
	struct nameset names;
	struct doc doc;
	size_t svc_first, n_svcs; /* the SERVICE objects: a run of the live set */
	bool has_svcs;
};

/* ---- small helpers ---- */

static void *salloc(struct show *s, size_t size)
{
	void *p = arena_alloc(&s->arena, size ? size : 1);

	if (!p) {
		s->oom = true;
		return NULL;
	}
	memset(p, 0, size ? size : 1);
	return p;
}

static char *sfmt(struct show *s, const char *fmt, ...) _printf_(2, 3);
static char *sfmt(struct show *s, const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !(p = salloc(s, (size_t)n + 1)))
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

/* Append one element to a growable array; NULL (and oom) when out of memory. */
#define PUSH(s, arr, n, cap)                                                                \
	(grow_array((void **)&(arr), &(cap), (n) + 1, sizeof(*(arr))) < 0 ? ((s)->oom = true, NULL) \
									   : memset(&(arr)[(n)++], 0, sizeof(*(arr))))

static void note(struct show *s, const char *fmt, ...) _printf_(2, 3);
static void note(struct show *s, const char *fmt, ...)
{
	struct strbuf line = {};
	va_list ap;

	if (s->n_notes >= SHOW_MAX_NOTES) {
		s->n_more++;
		return;
	}
	/* Escaped (strbuf_add_escaped): a note names what the kernel holds,
	 * and a device's name may have control characters, even a newline,
	 * which would end the YAML comment the note becomes. */
	va_start(ap, fmt);
	if (strbuf_vaddf(&line, fmt, ap) < 0 || strbuf_add_escaped(&s->notes, strbuf_str(&line)) < 0 ||
	    strbuf_add(&s->notes, "\n", 1) < 0)
		s->oom = true;
	va_end(ap);
	strbuf_free(&line);
	s->n_notes++;
}

static bool user_id(uint32_t id)
{
	return id >= SL_ID_USER_MIN && id < SL_ID_CIDR_MIN;
}

static bool is_host(const struct sl_prefix *p)
{
	return p->len == (p->family == 4 ? 32 : 128);
}

static void addr_text(const struct sl_prefix *p, char *buf, size_t len)
{
	if (!inet_ntop(p->family == 4 ? AF_INET : AF_INET6, p->addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

static const char *addr_str(struct show *s, const struct sl_prefix *p)
{
	char b[INET6_ADDRSTRLEN];

	addr_text(p, b, sizeof(b));
	return sfmt(s, "%s", b);
}

static const char *prefix_str(struct show *s, const struct sl_prefix *p)
{
	char b[64];

	sl_prefix_format(p, b, sizeof(b));
	return sfmt(s, "%s", b);
}

/* "<what>-10-1-0-10", "<what>-fd00-1--10": a valid name for an address. */
static const char *addr_name(struct show *s, const char *what, const struct sl_prefix *p)
{
	char b[INET6_ADDRSTRLEN + 1];
	size_t n;

	addr_text(p, b, INET6_ADDRSTRLEN);
	for (char *c = b; *c; c++)
		if (*c == '.' || *c == ':')
			*c = '-';
	n = strlen(b);
	if (n && b[n - 1] == '-') /* "fd00::" */
		memcpy(b + n, "0", 2);
	return sfmt(s, "%s-%s", what, b);
}

/* Keep the first len bits of p's address. */
static void prefix_mask(struct sl_prefix *p, uint8_t len)
{
	for (unsigned i = 0; i < 16; i++) {
		unsigned bits = len > i * 8 ? len - i * 8 : 0;

		if (bits < 8)
			p->addr[i] &= (uint8_t)(0xff00u >> bits);
	}
	p->len = len;
}

static int prefix_cmp_v(const void *a, const void *b)
{
	return sl_prefix_cmp(a, b);
}

static const char *const dir_key[SL_DIRECTION__MAX] = {
	[SL_INGRESS] = "ingress",
	[SL_EGRESS] = "egress",
	[SL_INGRESS_DENY] = "ingressDeny",
	[SL_EGRESS_DENY] = "egressDeny",
};

static const char *const entity_name[SL_ENTITY__MAX] = {
	[SL_ENTITY_HOST] = "host",
	[SL_ENTITY_WORLD] = "world",
	[SL_ENTITY_REMOTE_NODE] = "remote-node",
	[SL_ENTITY_CLUSTER] = "cluster",
	[SL_ENTITY_ALL] = "all",
};

/* ---- names: unique among endpoints ---- */

static uint64_t name_hash(const char *p)
{
	uint64_t h = 1469598103934665603ull;

	for (; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	return h;
}

static bool nameset_has(const struct nameset *ns, const char *name)
{
	if (!ns->cap)
		return false;
	for (size_t i = name_hash(name) & (ns->cap - 1); ns->v[i]; i = (i + 1) & (ns->cap - 1))
		if (streq(ns->v[i], name))
			return true;
	return false;
}

static void nameset_put(const char **v, size_t cap, const char *name)
{
	size_t i;

	for (i = name_hash(name) & (cap - 1); v[i]; i = (i + 1) & (cap - 1))
		;
	v[i] = name;
}

static int nameset_add(struct nameset *ns, const char *name)
{
	if ((ns->n + 1) * 2 > ns->cap) {
		size_t ncap = ns->cap ? ns->cap * 2 : 64;
		const char **nv = calloc(ncap, sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		for (size_t j = 0; j < ns->cap; j++)
			if (ns->v[j])
				nameset_put(nv, ncap, ns->v[j]);
		free(ns->v);
		ns->v = nv;
		ns->cap = ncap;
	}
	nameset_put(ns->v, ns->cap, name);
	ns->n++;
	return 0;
}

/* base, else base-2, base-3...: a name no other endpoint has. */
static const char *unique_name(struct show *s, const char *base)
{
	const char *name = base;

	for (unsigned i = 2; name && nameset_has(&s->names, name); i++)
		name = sfmt(s, "%s-%u", base, i);
	if (name && nameset_add(&s->names, name) < 0) {
		s->oom = true;
		return NULL;
	}
	return name;
}

/* ---- reading: nodes, addresses, CIDR identities (the ipcache) ---- */

static bool ipc_prefix(const struct sl_ipcache_key *k, struct sl_prefix *p)
{
	unsigned max = k->family == SL_FAMILY_IPV4 ? 32 : k->family == SL_FAMILY_IPV6 ? 128 : 0;

	memset(p, 0, sizeof(*p));
	if (!max || k->prefixlen < 32 || k->prefixlen - 32 > max)
		return false;
	p->family = k->family;
	p->len = (uint8_t)(k->prefixlen - 32);
	memcpy(p->addr, k->addr, max / 8);
	return true;
}

static int snode_cmp(const void *a, const void *b)
{
	return sl_prefix_cmp(&((const struct snode *)a)->ip, &((const struct snode *)b)->ip);
}

/* The node with that address (nodes are sorted by address), or -1. */
static int node_by_addr(const struct show *s, uint8_t family, const uint8_t *addr)
{
	struct snode k = { .ip = { .family = family, .len = family == 4 ? 32 : 128 } };
	const struct snode *n;

	if (family != 4 && family != 6)
		return -1;
	memcpy(k.ip.addr, addr, family == 4 ? 4 : 16);
	n = s->n_nodes ? bsearch(&k, s->nodes, s->n_nodes, sizeof(*s->nodes), snode_cmp) : NULL;
	return n ? (int)(n - s->nodes) : -1;
}

/* qsort, which must not be given NULL, not even with no elements. */
static void sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

/* An object's key and value copied into k and v when their sizes are klen
 * and vlen: in a set they sit at any alignment (obj_val), so they are
 * never read in place as structs. */
static bool obj_copy(const struct show *s, const struct sl_obj *o, void *k, size_t klen, void *v, size_t vlen)
{
	if (o->klen != klen || o->vlen != vlen)
		return false;
	memcpy(k, obj_key(s->live, o), klen);
	memcpy(v, obj_val(s->live, o), vlen);
	return true;
}

static bool ipc_obj(const struct show *s, const struct sl_obj *o, struct sl_ipcache_key *k,
		    struct sl_ipcache_value *v)
{
	return o->kind == SL_OBJ_IPCACHE && obj_copy(s, o, k, sizeof(*k), v, sizeof(*v));
}

static void add_pod(struct show *s, struct snode *n, const struct sl_prefix *p)
{
	struct sl_prefix *x = PUSH(s, n->pods, n->n_pods, n->cap_pods);

	if (x)
		*x = *p;
}

static void read_ipcache(struct show *s)
{
	const struct sl_objset *l = s->live;
	struct sl_ipcache_key kc;
	struct sl_ipcache_value vc;
	const struct sl_ipcache_key *k = &kc;
	const struct sl_ipcache_value *v = &vc;
	struct sl_prefix p;
	char t[64];

	/* The nodes first: remote entries name theirs by address. */
	for (size_t i = 0; i < l->n; i++) {
		struct snode *n;

		if (!ipc_obj(s, &l->v[i], &kc, &vc) || !ipc_prefix(k, &p) || (v->flags & SL_IPCACHE_REMOTE) ||
		    !is_host(&p) || (v->identity != SL_ID_HOST && v->identity != SL_ID_REMOTE_NODE))
			continue;
		n = PUSH(s, s->nodes, s->n_nodes, s->cap_nodes);
		if (!n)
			return;
		n->ip = p;
		n->name = addr_name(s, "node", &p);
		if (v->identity == SL_ID_HOST && s->here < 0) {
			n->here = true;
			s->here = 0;
		} else if (v->identity == SL_ID_HOST) {
			addr_text(&p, t, sizeof(t));
			note(s, "several addresses have the identity of this node (host); %s is shown as another node",
			     t);
		}
	}
	sort(s->nodes, s->n_nodes, sizeof(*s->nodes), snode_cmp);
	for (size_t i = 0; i < s->n_nodes; i++)
		if (s->nodes[i].here)
			s->here = (int)i;
	for (size_t i = 0; i < l->n; i++) {
		struct saddr *a;
		int node = -1;

		if (l->v[i].kind != SL_OBJ_IPCACHE)
			continue;
		if (!ipc_obj(s, &l->v[i], &kc, &vc) || !ipc_prefix(k, &p)) {
			note(s, "an ipcache entry of an unknown form is not shown");
			continue;
		}
		sl_prefix_format(&p, t, sizeof(t));
		if (v->flags & SL_IPCACHE_REMOTE) {
			node = node_by_addr(s, v->tunnel_family, v->tunnel_addr);
			if (node < 0 || s->nodes[node].here) {
				note(s, "ipcache entry %s leads to a node that is not in the ipcache: its route is not shown", t);
				node = -2;
			} else if (v->key && v->key < 32) {
				s->nodes[node].keys |= 1u << v->key;
			}
		}
		if (v->identity >= SL_ID_CIDR_MIN) {
			/* A CIDR that policy names (and perhaps also a remote pod CIDR). */
			struct scidr *c = PUSH(s, s->cidrs, s->n_cidrs, s->cap_cidrs);

			if (!c)
				return;
			c->p = p;
			c->id = v->identity;
			c->except_of = c->except_head = c->except_tail = c->except_next = -1;
			if (node >= 0)
				add_pod(s, &s->nodes[node], &p);
			continue;
		}
		if (node == -2)
			continue;
		if (node >= 0 && !(is_host(&p) && user_id(v->identity))) {
			/* A remote pod CIDR. */
			if (v->identity != SL_ID_WORLD)
				note(s, "remote prefix %s has identity %" PRIu32 "; it is shown as a pod CIDR of %s, "
					"which has identity 2 (world)", t, v->identity, s->nodes[node].name);
			add_pod(s, &s->nodes[node], &p);
			continue;
		}
		if (node < 0 && is_host(&p) && (v->identity == SL_ID_HOST || v->identity == SL_ID_REMOTE_NODE))
			continue; /* a node, read above */
		if (!is_host(&p) || !user_id(v->identity)) {
			note(s, "ipcache entry %s with identity %" PRIu32 " is not one that a state makes: not shown", t,
			     v->identity);
			continue;
		}
		/* An endpoint's address, local or remote. */
		a = PUSH(s, s->addrs, s->n_addrs, s->cap_addrs);
		if (!a)
			return;
		a->p = p;
		a->identity = v->identity;
		a->node = node;
	}
}

static int cidr_id_cmp(const void *a, const void *b)
{
	const struct scidr *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id ? 1 : sl_prefix_cmp(&x->p, &y->p);
}

static void sort_cidrs(struct show *s)
{
	size_t w = 0;

	sort(s->cidrs, s->n_cidrs, sizeof(*s->cidrs), cidr_id_cmp);
	for (size_t i = 0; i < s->n_cidrs; i++) {
		if (w && s->cidrs[w - 1].id == s->cidrs[i].id) {
			char t[64];

			sl_prefix_format(&s->cidrs[i].p, t, sizeof(t));
			note(s, "CIDR identity %" PRIu32 " is on several prefixes; %s is not shown", s->cidrs[i].id, t);
			continue;
		}
		s->cidrs[w++] = s->cidrs[i];
	}
	s->n_cidrs = w;
}

static int cidr_index(const struct show *s, uint32_t id)
{
	size_t lo = 0, hi = s->n_cidrs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (s->cidrs[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->n_cidrs && s->cidrs[lo].id == id ? (int)lo : -1;
}

/* ---- reading: everything else, kind by kind ---- */

static int pent_cmp(const void *a, const void *b)
{
	const struct pent *x = a, *y = b;

	if (x->ep_id != y->ep_id)
		return x->ep_id < y->ep_id ? -1 : 1;
	if (x->dir != y->dir)
		return x->dir < y->dir ? -1 : 1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return x->port < y->port ? -1 : x->port > y->port;
}

static void read_policy(struct show *s, const struct sl_obj *o)
{
	struct sl_policy_key k;
	struct sl_policy_value v;
	struct pent *e;

	if (!obj_copy(s, o, &k, sizeof(k), &v, sizeof(v)) || k.dir > SL_DIR_EGRESS) {
		note(s, "a policy entry of an unknown form is not shown");
		return;
	}
	e = PUSH(s, s->pe, s->n_pe, s->cap_pe);
	if (!e)
		return;
	e->ep_id = k.ep_id;
	e->dir = k.dir;
	e->proto = k.proto;
	e->port = ntohs(k.dport);
	e->id = k.identity;
	e->deny = v.flags & SL_POLICY_DENY;
	e->proxy = e->deny ? 0 : v.proxy_port;
}

static void read_endpoint(struct show *s, const struct sl_obj *o)
{
	char ifname[SHOW_IFNAME_LEN];
	struct sl_endpoint_value v;
	struct sep *e;

	if (!obj_copy(s, o, ifname, sizeof(ifname), &v, sizeof(v))) {
		note(s, "an endpoint of an unknown form is not shown");
		return;
	}
	e = PUSH(s, s->eps, s->n_eps, s->cap_eps);
	if (!e)
		return;
	memcpy(e->ifname, ifname, SHOW_IFNAME_LEN);
	e->v = v;
	e->a4 = e->a6 = -1;
}

static void read_attach(struct show *s, const struct sl_obj *o)
{
	struct sl_attach_key k;
	struct sl_attach_value v;
	char ifname[SHOW_IFNAME_LEN + 1] = { 0 };

	if (!obj_copy(s, o, &k, sizeof(k), &v, sizeof(v))) {
		note(s, "an attachment of an unknown form is not shown");
		return;
	}
	memcpy(ifname, k.ifname, SHOW_IFNAME_LEN);
	if (k.hook == SL_HOOK_XDP && v.prog == SL_PROG_PREFILTER) {
		if (s->has_pf) {
			note(s, "the prefilter is attached to several devices; only %s is shown", s->pf_device);
			return;
		}
		s->has_pf = true;
		memcpy(s->pf_device, ifname, sizeof(s->pf_device));
		s->xdp_mode = v.xdp_mode < SL_XDP__MAX ? v.xdp_mode : SL_XDP_NATIVE;
		if (v.xdp_mode >= SL_XDP__MAX)
			note(s, "the prefilter on %s is in an unknown XDP mode; shown as native", ifname);
		return;
	}
	if ((k.hook == SL_HOOK_TC_INGRESS && v.prog == SL_PROG_FROM_ENDPOINT) ||
	    (k.hook == SL_HOOK_TC_EGRESS && v.prog == SL_PROG_TO_ENDPOINT)) {
		/* Made for every endpoint; one without its endpoint is drift. */
		if (s->live->sorted && !objset_find(s->live, SL_OBJ_ENDPOINT, k.ifname, SHOW_IFNAME_LEN))
			note(s, "the programs on %s, which is no endpoint, are not shown", ifname);
		return;
	}
	note(s, "program %u at hook %u of %s is not one that a state attaches: not shown", v.prog, k.hook, ifname);
}

static void read_prefilter(struct show *s, const struct sl_obj *o)
{
	size_t alen = o->kind == SL_OBJ_PREFILTER4 ? 4 : 16;
	const uint8_t *k = obj_key(s->live, o);
	struct sl_prefix p = { .family = o->kind == SL_OBJ_PREFILTER4 ? 4 : 6 }, *d;
	uint32_t len;

	if (o->klen != 4 + alen) {
		note(s, "a prefilter entry of an unknown form is not shown");
		return;
	}
	memcpy(&len, k, 4);
	if (len > alen * 8) {
		note(s, "a prefilter entry of an unknown form is not shown");
		return;
	}
	p.len = (uint8_t)len;
	memcpy(p.addr, k + 4, alen);
	d = PUSH(s, s->deny, s->n_deny, s->cap_deny);
	if (d)
		*d = p;
}

static void read_map(struct show *s, const struct sl_obj *o)
{
	struct sl_map_key k;
	struct sl_map_value v;

	if (!obj_copy(s, o, &k, sizeof(k), &v, sizeof(v)))
		return;
	for (size_t i = 0; i < s->n_layouts; i++) {
		const struct sl_map_layout *l = &s->layouts[i];
		int f = l->size_from;

		if (!l->name || strncmp(l->name, k.name, sizeof(k.name)) != 0)
			continue;
		if (f < 0 || f >= SL_MAP__MAX)
			return;
		/* What validate takes (1..2^26): a map pinned under that name
		 * by another program may have any size. */
		if (v.max_entries < 1 || v.max_entries > (1u << 26)) {
			note(s, "map %s has %" PRIu32 " entries, which no state asks for: mapSizes.%s is not shown",
			     l->name, v.max_entries, sl_map_size_name[f]);
			return;
		}
		if (s->map_size_set[f] && s->map_size[f] != v.max_entries) {
			note(s, "the maps sized by mapSizes.%s differ (%" PRIu32 " and %" PRIu32 "); shown: %" PRIu32,
			     sl_map_size_name[f], s->map_size[f], v.max_entries, s->map_size[f]);
			return;
		}
		s->map_size[f] = v.max_entries;
		s->map_size_set[f] = true;
		return;
	}
}

static void read_live(struct show *s)
{
	const struct sl_objset *l = s->live;
	size_t unknown[256] = { 0 };

	for (size_t i = 0; i < l->n && !s->oom; i++) {
		const struct sl_obj *o = &l->v[i];

		switch (o->kind) {
		case SL_OBJ_ENDPOINT:
			read_endpoint(s, o);
			break;
		case SL_OBJ_IPCACHE:
			break; /* read_ipcache */
		case SL_OBJ_POLICY:
			read_policy(s, o);
			break;
		case SL_OBJ_PREFILTER4:
		case SL_OBJ_PREFILTER6:
			read_prefilter(s, o);
			break;
		case SL_OBJ_ATTACH:
			read_attach(s, o);
			break;
		case SL_OBJ_MAP:
			read_map(s, o);
			break;
		case SL_OBJ_PROG:
			break; /* follows from the rest */
		case SL_OBJ_BACKEND:
			break; /* with the services that name them */
		case SL_OBJ_SERVICE:
			if (o->klen != sizeof(struct sl_service_key) || o->vlen != sizeof(struct sl_service_value)) {
				note(s, "a service of an unknown form is not shown");
				break;
			}
			if (!s->has_svcs)
				s->svc_first = i;
			s->has_svcs = true;
			s->n_svcs = i + 1 - s->svc_first;
			break;
		case SL_OBJ_XFRM_STATE:
			s->n_sa++;
			if (o->klen == sizeof(struct sl_xfrm_state_key)) {
				struct sl_xfrm_state_key sk;

				memcpy(&sk, obj_key(l, o), sizeof(sk)); /* at any alignment */
				if (sk.spi < 32)
					s->sa_spis |= 1u << sk.spi;
			}
			break;
		case SL_OBJ_XFRM_POLICY:
			s->n_xpol++;
			break;
		case SL_OBJ_ROUTE:
			s->n_routes++;
			break;
		default:
			unknown[o->kind]++;
		}
	}
	for (size_t k = 0; k < ARRAY_SIZE(unknown); k++)
		if (unknown[k])
			note(s, "%zu objects of kind %zu are not shown (this version cannot show them)", unknown[k], k);
	if (s->n_deny && !s->has_pf) {
		note(s, "%zu prefilter entries are not shown: the prefilter is attached to no device", s->n_deny);
		s->n_deny = 0;
	}
	sort(s->deny, s->n_deny, sizeof(*s->deny), prefix_cmp_v);
	sort(s->pe, s->n_pe, sizeof(*s->pe), pent_cmp);
	read_ipcache(s);
	sort_cidrs(s);
	for (size_t i = 0; i < s->n_nodes; i++)
		sort(s->nodes[i].pods, s->nodes[i].n_pods, sizeof(*s->nodes[i].pods), prefix_cmp_v);
}

/* ---- endpoints: which is local, which address is whose ---- */

static int ep_cmp_ifname(const void *a, const void *b)
{
	return memcmp(((const struct sep *)a)->ifname, ((const struct sep *)b)->ifname, SHOW_IFNAME_LEN);
}

static const struct sep *sort_eps_base;

static int ep_idx_cmp(const void *a, const void *b)
{
	const struct sep *x = &sort_eps_base[*(const size_t *)a], *y = &sort_eps_base[*(const size_t *)b];

	if (x->v.identity != y->v.identity)
		return x->v.identity < y->v.identity ? -1 : 1;
	return memcmp(x->ifname, y->ifname, SHOW_IFNAME_LEN);
}

static int addr_cmp(const void *a, const void *b)
{
	const struct saddr *x = a, *y = b;

	if (x->node != y->node)
		return x->node < y->node ? -1 : 1;
	if (x->identity != y->identity)
		return x->identity < y->identity ? -1 : 1;
	return sl_prefix_cmp(&x->p, &y->p);
}

static void orphan_addr(struct show *s, const struct saddr *a)
{
	char t[INET6_ADDRSTRLEN];

	addr_text(&a->p, t, sizeof(t));
	note(s, "address %s (identity %" PRIu32 ") belongs to no endpoint of this node: not shown", t, a->identity);
}

/* Give the endpoints eps[idx[0..n)] of one identity the addresses
 * addrs[a0..a1) (IPv4 before IPv6, each in address order): one IPv4 and
 * one IPv6 each, so that every endpoint has one at least. */
static void hand_out(struct show *s, const size_t *idx, size_t n, size_t a0, size_t a1)
{
	size_t m4 = a0, n4, n6, j = 0;

	while (m4 < a1 && s->addrs[m4].p.family == 4)
		m4++;
	n4 = m4 - a0;
	n6 = a1 - m4;
	for (size_t i = 0; i < n && i < n4; i++)
		s->eps[idx[i]].a4 = (int)(a0 + i);
	/* IPv6 first to those without an IPv4 address. */
	for (size_t pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++)
			if ((pass == 0) == (s->eps[idx[i]].a4 < 0) && j < n6)
				s->eps[idx[i]].a6 = (int)(m4 + j++);
	for (size_t i = n; i < n4; i++)
		orphan_addr(s, &s->addrs[a0 + i]);
	for (; j < n6; j++)
		orphan_addr(s, &s->addrs[m4 + j]);
	for (size_t i = 0; i < n; i++) {
		struct sep *e = &s->eps[idx[i]];

		if (e->a4 < 0 && e->a6 < 0) {
			note(s, "endpoint %s (identity %" PRIu32 ") has no address in the ipcache: not shown", e->ifname,
			     e->v.identity);
			e->skip = true;
		}
	}
	if (n > 1) {
		struct strbuf b = {};

		for (size_t i = 0; i < n; i++)
			if (strbuf_addf(&b, "%s%s", i ? ", " : "", s->eps[idx[i]].ifname) < 0)
				s->oom = true;
		note(s, "endpoints %s share identity %" PRIu32 ": the kernel does not record which of them has which "
			"address; they are handed out in address order", strbuf_str(&b), s->eps[idx[0]].v.identity);
		strbuf_free(&b);
	}
}

static void local_endpoints(struct show *s)
{
	uint8_t *id_used = calloc(65536 / 8, 1);
	size_t *idx = calloc(s->n_eps + 1, sizeof(*idx));
	size_t n = 0, ai = 0, ei = 0, a_end;

	if (!id_used || !idx) {
		s->oom = true;
		goto out;
	}
	sort(s->eps, s->n_eps, sizeof(*s->eps), ep_cmp_ifname);
	sort(s->addrs, s->n_addrs, sizeof(*s->addrs), addr_cmp);
	for (size_t i = 0; i < s->n_eps; i++) {
		struct sep *e = &s->eps[i];
		const char *why = NULL;

		if (!e->ifname[0] || sl_ifname_problem(e->ifname))
			why = "its interface name is not one";
		else if (!user_id(e->v.identity))
			why = "its identity is not one an endpoint can have";
		else if (!e->v.id)
			why = "it has no endpoint id";
		else if (id_used[e->v.id / 8] & (1u << (e->v.id % 8)))
			why = "another endpoint has its id";
		if (why) {
			note(s, "endpoint %s (id %u, identity %" PRIu32 ") is not shown: %s", e->ifname, e->v.id,
			     e->v.identity, why);
			e->skip = true;
			continue;
		}
		id_used[e->v.id / 8] |= (uint8_t)(1u << (e->v.id % 8));
		idx[n++] = i;
	}
	sort_eps_base = s->eps;
	sort(idx, n, sizeof(*idx), ep_idx_cmp);
	sort_eps_base = NULL;
	for (a_end = 0; a_end < s->n_addrs && s->addrs[a_end].node < 0; a_end++)
		;
	while (ei < n) {
		uint32_t id = s->eps[idx[ei]].v.identity;
		size_t ej = ei, aj;

		while (ej < n && s->eps[idx[ej]].v.identity == id)
			ej++;
		for (; ai < a_end && s->addrs[ai].identity < id; ai++)
			orphan_addr(s, &s->addrs[ai]);
		for (aj = ai; aj < a_end && s->addrs[aj].identity == id; aj++)
			;
		hand_out(s, idx + ei, ej - ei, ai, aj);
		ai = aj;
		ei = ej;
	}
	for (; ai < a_end; ai++)
		orphan_addr(s, &s->addrs[ai]);
	/* Names, in interface order. */
	for (size_t i = 0; i < s->n_eps; i++) {
		struct sep *e = &s->eps[i];

		if (e->skip)
			continue;
		e->name = unique_name(s, sl_name_problem(e->ifname) ? sfmt(s, "ep-%u", e->v.id) : e->ifname);
	}
	/* The groups of one identity. */
	for (size_t i = 0, w = 0; i < n; i++) {
		const struct sep *e = &s->eps[idx[i]];
		struct sgroup *g;

		if (e->skip)
			continue;
		idx[w++] = idx[i];
		if (s->n_groups && s->groups[s->n_groups - 1].identity == e->v.identity) {
			s->groups[s->n_groups - 1].n++;
			continue;
		}
		g = PUSH(s, s->groups, s->n_groups, s->cap_groups);
		if (!g)
			break;
		g->identity = e->v.identity;
		g->first = w - 1;
		g->n = 1;
		g->rep = idx[i];
	}
	s->order = TAKE_PTR(idx);
out:
	free(id_used);
	free(idx);
}

/* Remote endpoints: per node and identity, one IPv4 and one IPv6 address
 * each, in address order. */
static void remote_endpoints(struct show *s)
{
	size_t i = 0;
	bool guessed = false;

	while (i < s->n_addrs && s->addrs[i].node < 0)
		i++;
	while (i < s->n_addrs) {
		size_t j = i, m4;

		while (j < s->n_addrs && s->addrs[j].node == s->addrs[i].node &&
		       s->addrs[j].identity == s->addrs[i].identity)
			j++;
		for (m4 = i; m4 < j && s->addrs[m4].p.family == 4; m4++)
			;
		if (m4 > i && j > m4 && (m4 - i > 1 || j - m4 > 1))
			guessed = true;
		for (size_t k = 0; k < m4 - i || k < j - m4; k++) {
			struct srep *r = PUSH(s, s->reps, s->n_reps, s->cap_reps);
			int first;

			if (!r)
				return;
			r->identity = s->addrs[i].identity;
			r->node = s->addrs[i].node;
			r->a4 = k < m4 - i ? (int)(i + k) : -1;
			r->a6 = k < j - m4 ? (int)(m4 + k) : -1;
			first = r->a4 >= 0 ? r->a4 : r->a6;
			r->name = unique_name(s, addr_name(s, "remote", &s->addrs[first].p));
		}
		i = j;
	}
	if (guessed)
		note(s, "remote endpoints: the kernel does not record which IPv4 and IPv6 addresses belong to one "
			"endpoint; they are paired in address order");
}

/* ---- policy: entries back into rules ---- */

/* The entries of one endpoint (dir < 0: both directions). */
static const struct pent *pe_range(const struct show *s, uint16_t ep_id, int dir, size_t *ret_n)
{
	size_t lo = 0, hi = s->n_pe, end;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct pent *e = &s->pe[mid];

		if (e->ep_id < ep_id || (e->ep_id == ep_id && dir > 0 && e->dir < dir))
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; end < s->n_pe && s->pe[end].ep_id == ep_id && (dir < 0 || s->pe[end].dir == dir); end++)
		;
	*ret_n = end - lo;
	return *ret_n ? s->pe + lo : NULL; /* s->pe may be NULL: NULL + 0 is undefined */
}

static bool same_entries(const struct pent *a, size_t na, const struct pent *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (a[i].dir != b[i].dir || a[i].id != b[i].id || a[i].proto != b[i].proto || a[i].port != b[i].port ||
		    a[i].deny != b[i].deny || a[i].proxy != b[i].proxy)
			return false;
	return true;
}

static int peer_cmp(const void *a, const void *b)
{
	const struct pent *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return x->port < y->port ? -1 : x->port > y->port;
}

/* Ports first (all ports before any port), then peers. */
static int port_peer_cmp(const void *a, const void *b)
{
	const struct pent *x = a, *y = b;
	bool xa = !x->proto, ya = !y->proto;

	if (xa != ya)
		return xa ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Whether a rule that gives class c to (id, port) leaves the entry there
 * as it is: compile merges deny over allow, and the lowest proxy port. */
static bool covered(const struct pent *E, size_t nE, uint32_t id, const struct pspec *ps, const struct pclass *c)
{
	struct pent k = { .id = id, .proto = ps->proto, .port = ps->port };
	const struct pent *f = nE ? bsearch(&k, E, nE, sizeof(*E), peer_cmp) : NULL;

	if (!f)
		return false;
	if (f->deny)
		return true;
	if (c->deny)
		return false;
	return !c->proxy || (f->proxy && f->proxy <= c->proxy);
}

struct pgroup {
	struct pspec *ports;
	size_t n_ports, cap_ports;
	const struct pent *peers;
	size_t n_peers;
	bool all_ports;
};

static void ports_text(const struct pgroup *g, char *buf, size_t len)
{
	size_t o = 0;

	if (g->all_ports) {
		snprintf(buf, len, "all ports");
		return;
	}
	buf[0] = '\0';
	for (size_t i = 0; i < g->n_ports && o < len; i++) {
		int w = g->ports[i].port ? snprintf(buf + o, len - o, "%s%u/%s", i ? ", " : "", g->ports[i].port,
						    sl_proto_name(g->ports[i].proto))
					 : snprintf(buf + o, len - o, "%s%s", i ? ", " : "",
						    sl_proto_name(g->ports[i].proto));
		if (w < 0)
			break;
		o += (size_t)w;
	}
}

/* Whether a rule of group g may name id too without changing an entry. */
static bool group_covers(const struct pgroup *g, const struct pclass *c, const struct pent *E, size_t nE, uint32_t id)
{
	for (size_t i = 0; i < g->n_ports; i++)
		if (!covered(E, nE, id, &g->ports[i], c))
			return false;
	return true;
}

static int add_rule(struct show *s, struct spolicy *pol, const struct srule *r)
{
	struct srule *x = PUSH(s, pol->rules, pol->n_rules, pol->cap_rules);

	if (!x)
		return -ENOMEM;
	*x = *r;
	return 0;
}

static int make_rule(struct show *s, struct spolicy *pol, uint8_t dir, const struct pclass *c,
		     const struct pgroup *g, const struct pent *E, size_t nE)
{
	struct srule r = { .dir = dir, .proxy = c->proxy, .to_ports = !g->all_ports, .n_ports = g->n_ports };
	bool cluster = false, any = false;
	char ports[128];

	r.ids = salloc(s, g->n_peers * sizeof(*r.ids));
	r.cidrs = salloc(s, g->n_peers * sizeof(*r.cidrs));
	r.cidr_drop = salloc(s, g->n_peers * sizeof(*r.cidr_drop));
	r.ports = salloc(s, g->n_ports * sizeof(*r.ports));
	if (s->oom)
		return -ENOMEM;
	memcpy(r.ports, g->ports, g->n_ports * sizeof(*r.ports));
	ports_text(g, ports, sizeof(ports));
	for (size_t i = 0; i < g->n_peers; i++) {
		uint32_t id = g->peers[i].id;
		int ci;

		switch (id) {
		case SL_ID_UNKNOWN:
			r.ent[SL_ENTITY_ALL] = true;
			continue;
		case SL_ID_HOST:
			r.ent[SL_ENTITY_HOST] = true;
			continue;
		case SL_ID_WORLD:
			r.ent[SL_ENTITY_WORLD] = true;
			continue;
		case SL_ID_REMOTE_NODE:
			r.ent[SL_ENTITY_REMOTE_NODE] = true;
			continue;
		case SL_ID_HEALTH:
		case SL_ID_INIT:
			cluster = true;
			continue;
		default:
			break;
		}
		if (user_id(id)) {
			r.ids[r.n_ids++] = id;
		} else if (id >= SL_ID_CIDR_MIN && (ci = cidr_index(s, id)) >= 0) {
			r.cidrs[r.n_cidrs++] = (size_t)ci;
		} else if (id >= SL_ID_CIDR_MIN) {
			note(s, "policy %s, %s (%s): CIDR identity %" PRIu32 " has no ipcache entry, so its prefix is "
				"unknown: not shown", pol->name, dir_key[dir], ports, id);
		} else {
			note(s, "policy %s, %s (%s): reserved identity %" PRIu32 " cannot be named in a rule: not shown",
			     pol->name, dir_key[dir], ports, id);
		}
	}
	if (cluster) {
		/* Health and init are named only by cluster, which names
		 * every identity, the host and the remote nodes too. */
		static const uint32_t reserved[] = { SL_ID_HOST, SL_ID_HEALTH, SL_ID_INIT, SL_ID_REMOTE_NODE };
		bool ok = true;

		for (size_t i = 0; ok && i < ARRAY_SIZE(reserved); i++)
			ok = group_covers(g, c, E, nE, reserved[i]);
		for (size_t i = 0; ok && i < s->n_ids; i++)
			ok = group_covers(g, c, E, nE, s->ids[i]);
		if (!ok)
			note(s, "policy %s, %s (%s): identities 4 (health) and 5 (init) are written as the entity "
				"cluster, which also names identities that have no such entry here: the round trip adds "
				"entries", pol->name, dir_key[dir], ports);
		r.ent[SL_ENTITY_CLUSTER] = true;
		r.ent[SL_ENTITY_HOST] = r.ent[SL_ENTITY_REMOTE_NODE] = false;
		r.n_ids = 0;
	}
	if (r.ent[SL_ENTITY_WORLD]) {
		/* world names the CIDR identities too. */
		bool ok = true;

		for (size_t i = 0; ok && i < s->n_cidrs; i++)
			ok = group_covers(g, c, E, nE, s->cidrs[i].id);
		if (!ok)
			note(s, "policy %s, %s (%s): identity 2 (world) is written as the entity world, which also names "
				"CIDR identities that have no such entry here: the round trip adds entries", pol->name,
			     dir_key[dir], ports);
	}
	for (int e = 0; e < SL_ENTITY__MAX; e++)
		any |= r.ent[e];
	if (!any && !r.n_ids && !r.n_cidrs)
		return 0;
	return add_rule(s, pol, &r);
}

static bool same_peers(const struct pent *a, size_t na, const struct pent *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (a[i].id != b[i].id)
			return false;
	return true;
}

/* The rules of one verdict: ports whose peers are the same share a rule. */
static int class_rules(struct show *s, struct spolicy *pol, uint8_t dir, const struct pclass *c,
		       const struct pent *sub, size_t n, const struct pent *E, size_t nE)
{
	struct pgroup *g = NULL;
	size_t ng = 0, cap = 0;
	int r = 0;

	for (size_t i = 0, j; i < n && r >= 0; i = j) {
		struct pgroup *x = NULL;
		struct pspec *ps;
		bool all = !sub[i].proto;

		for (j = i + 1; j < n && sub[j].proto == sub[i].proto && sub[j].port == sub[i].port; j++)
			;
		for (size_t k = 0; !all && k < ng && !x; k++)
			if (!g[k].all_ports && same_peers(g[k].peers, g[k].n_peers, sub + i, j - i))
				x = &g[k];
		if (!x) {
			x = PUSH(s, g, ng, cap);
			if (!x) {
				r = -ENOMEM;
				break;
			}
			x->peers = sub + i;
			x->n_peers = j - i;
			x->all_ports = all;
		}
		ps = PUSH(s, x->ports, x->n_ports, x->cap_ports);
		if (!ps) {
			r = -ENOMEM;
			break;
		}
		ps->proto = sub[i].proto;
		ps->port = sub[i].port;
	}
	for (size_t k = 0; k < ng; k++) {
		if (r >= 0)
			r = make_rule(s, pol, dir, c, &g[k], E, nE);
		free(g[k].ports);
	}
	free(g);
	return r;
}

static int pclass_cmp(const void *a, const void *b)
{
	const struct pclass *x = a, *y = b;

	if (x->deny != y->deny)
		return x->deny ? 1 : -1;
	return x->proxy < y->proxy ? -1 : x->proxy > y->proxy;
}

/* The rules of one direction from its entries E (sorted by peer). */
static int direction_rules(struct show *s, struct spolicy *pol, bool egress, const struct pent *E, size_t nE)
{
	struct pclass *cls = NULL;
	size_t ncls = 0, cap = 0, n = 0;
	struct pent *ok = malloc((nE + 1) * sizeof(*ok)), *sub = malloc((nE + 1) * sizeof(*sub));
	int r = 0;

	if (!ok || !sub) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nE; i++) {
		const struct pent *e = &E[i];
		bool found = false;

		if (e->proto && e->proto != SL_PROTO_TCP && e->proto != SL_PROTO_UDP && e->proto != SL_PROTO_SCTP) {
			note(s, "policy %s: the %s entry for protocol %u cannot be written as a rule: not shown",
			     pol->name, egress ? "egress" : "ingress", e->proto);
			continue;
		}
		if (!e->proto && e->port) {
			note(s, "policy %s: the %s entry for port %u of any protocol cannot be written as a rule: not "
				"shown", pol->name, egress ? "egress" : "ingress", e->port);
			continue;
		}
		ok[n++] = *e;
		for (size_t k = 0; k < ncls && !found; k++)
			found = cls[k].deny == e->deny && cls[k].proxy == e->proxy;
		if (!found) {
			struct pclass *c = PUSH(s, cls, ncls, cap);

			if (!c) {
				r = -ENOMEM;
				goto out;
			}
			c->deny = e->deny;
			c->proxy = e->proxy;
		}
	}
	sort(cls, ncls, sizeof(*cls), pclass_cmp);
	for (size_t k = 0; k < ncls && r >= 0; k++) {
		size_t m = 0;
		uint8_t dir = cls[k].deny ? (egress ? SL_EGRESS_DENY : SL_INGRESS_DENY) : (egress ? SL_EGRESS : SL_INGRESS);

		for (size_t i = 0; i < n; i++)
			if (ok[i].deny == cls[k].deny && ok[i].proxy == cls[k].proxy)
				sub[m++] = ok[i];
		sort(sub, m, sizeof(*sub), port_peer_cmp);
		r = class_rules(s, pol, dir, &cls[k], sub, m, E, nE);
	}
out:
	free(ok);
	free(sub);
	free(cls);
	return r;
}

static void add_id(struct show *s, uint32_t id)
{
	uint32_t *x = PUSH(s, s->ids, s->n_ids, s->cap_ids);

	if (x)
		*x = id;
}

/* Every identity the document names: endpoints' and policy peers'. */
static void collect_identities(struct show *s)
{
	size_t w = 0;

	for (size_t g = 0; g < s->n_groups; g++) {
		size_t n;
		const struct pent *E = pe_range(s, s->eps[s->groups[g].rep].v.id, -1, &n);

		add_id(s, s->groups[g].identity);
		for (size_t i = 0; i < n; i++)
			if (user_id(E[i].id))
				add_id(s, E[i].id);
	}
	for (size_t i = 0; i < s->n_reps; i++)
		add_id(s, s->reps[i].identity);
	sort(s->ids, s->n_ids, sizeof(*s->ids), cmp_u32);
	for (size_t i = 0; i < s->n_ids; i++)
		if (!w || s->ids[w - 1] != s->ids[i])
			s->ids[w++] = s->ids[i];
	s->n_ids = w;
}

static struct spolicy *new_policy(struct show *s, const char *name, const char *subject)
{
	struct spolicy *p = PUSH(s, s->pols, s->n_pols, s->cap_pols);

	if (!p)
		return NULL;
	p->name = name;
	p->subject = subject;
	if (!name || !subject) {
		s->n_pols--;
		return NULL;
	}
	return p;
}

static void policies(struct show *s)
{
	uint8_t *shown = calloc(65536 / 8, 1);
	size_t n_local = 0, n_enforced = 0, orphans = 0;

	if (!shown) {
		s->oom = true;
		return;
	}
	for (size_t i = 0; i < s->n_eps; i++) {
		if (s->eps[i].skip)
			continue;
		n_local++;
		n_enforced += (s->eps[i].v.flags & (SL_EP_ENFORCE_INGRESS | SL_EP_ENFORCE_EGRESS)) ==
			      (SL_EP_ENFORCE_INGRESS | SL_EP_ENFORCE_EGRESS);
		shown[s->eps[i].v.id / 8] |= (uint8_t)(1u << (s->eps[i].v.id % 8));
	}
	/* Every endpoint under enforcement both ways: that is what
	 * policyEnforcement: always makes, and the shortest way to say it. */
	if (n_local && n_enforced == n_local)
		s->enforcement = SL_ENFORCE_ALWAYS;
	for (size_t i = 0; i < s->n_pe; i++)
		if (!(shown[s->pe[i].ep_id / 8] & (1u << (s->pe[i].ep_id % 8))))
			orphans++;
	if (orphans)
		note(s, "%zu policy entries belong to no endpoint that is shown: not shown", orphans);
	free(shown);
	collect_identities(s);

	for (size_t g = 0; g < s->n_groups && !s->oom; g++) {
		const struct sep *rep = &s->eps[s->groups[g].rep];
		uint32_t id = s->groups[g].identity;
		size_t n_all, n_in, n_eg;
		const struct pent *all = pe_range(s, rep->v.id, -1, &n_all);
		const struct pent *in = pe_range(s, rep->v.id, SL_DIR_INGRESS, &n_in);
		const struct pent *eg = pe_range(s, rep->v.id, SL_DIR_EGRESS, &n_eg);
		uint8_t flags = rep->v.flags & (SL_EP_ENFORCE_INGRESS | SL_EP_ENFORCE_EGRESS);
		struct spolicy *p;

		/* The other endpoints of the identity have the same policy. */
		for (size_t i = 1; i < s->groups[g].n; i++) {
			const struct sep *e = &s->eps[s->order[s->groups[g].first + i]];
			size_t n;
			const struct pent *E;

			E = pe_range(s, e->v.id, -1, &n);
			if ((e->v.flags & (SL_EP_ENFORCE_INGRESS | SL_EP_ENFORCE_EGRESS)) != flags ||
			    !same_entries(E, n, all, n_all))
				note(s, "endpoints %s and %s have identity %" PRIu32 " but different policy; the policy of "
					"%s is shown for both", rep->ifname, e->ifname, id, rep->ifname);
		}
		if (s->enforcement == SL_ENFORCE_ALWAYS)
			flags = 0;
		if (!n_all && !flags)
			continue;
		p = new_policy(s, sfmt(s, "identity-%" PRIu32, id), sfmt(s, "%" PRIu32, id));
		if (!p)
			break;
		p->key[SL_INGRESS] = flags & SL_EP_ENFORCE_INGRESS;
		p->key[SL_EGRESS] = flags & SL_EP_ENFORCE_EGRESS;
		for (int d = 0; d < 2; d++) {
			const struct pent *E = d ? eg : in;
			size_t n = d ? n_eg : n_in;
			bool allow = false;

			for (size_t i = 0; i < n && !allow; i++)
				allow = !E[i].deny;
			if (allow && s->enforcement != SL_ENFORCE_ALWAYS &&
			    !(flags & (d ? SL_EP_ENFORCE_EGRESS : SL_EP_ENFORCE_INGRESS)))
				note(s, "policy %s: %s allow entries without %s enforcement cannot be written (an allow "
					"rule turns enforcement on): the round trip enforces %s", p->name,
				     d ? "egress" : "ingress", d ? "egress" : "ingress", d ? "egress" : "ingress");
			if (direction_rules(s, p, d, E, n) < 0)
				s->oom = true;
		}
	}
}

/* ---- CIDRs: every CIDR identity must be named somewhere ---- */

static const struct scidr *sort_cidrs_base;

static int cidr_idx_prefix_cmp(const void *a, const void *b)
{
	return sl_prefix_cmp(&sort_cidrs_base[*(const size_t *)a].p, &sort_cidrs_base[*(const size_t *)b].p);
}

static void place_cidrs(struct show *s)
{
	size_t *order = calloc(s->n_cidrs + 1, sizeof(*order)), n_held = 0;
	size_t *strong = calloc(s->n_cidrs + 1, sizeof(*strong)), n_strong = 0;
	struct srule holder = { .dir = SL_INGRESS_DENY };
	const char *subject = NULL;
	struct spolicy *p;
	struct strbuf list = {};

	if (!order || !strong) {
		free(order);
		free(strong);
		s->oom = true;
		return;
	}
	for (size_t i = 0; i < s->n_cidrs; i++)
		order[i] = i;
	sort_cidrs_base = s->cidrs;
	sort(order, s->n_cidrs, sizeof(*order), cidr_idx_prefix_cmp);
	sort_cidrs_base = NULL;
	/* Named by a rule without world: named for good. */
	for (size_t i = 0; i < s->n_pols; i++)
		for (size_t j = 0; j < s->pols[i].n_rules; j++) {
			const struct srule *r = &s->pols[i].rules[j];

			for (size_t k = 0; !r->ent[SL_ENTITY_WORLD] && k < r->n_cidrs; k++) {
				struct scidr *c = &s->cidrs[r->cidrs[k]];

				c->strong++;
				c->placed = true;
				if (!c->first_rule)
					c->first_rule = r;
			}
		}
	/* Otherwise an exception of the narrowest such prefix around it. */
	for (size_t o = 0; o < s->n_cidrs; o++)
		if (s->cidrs[order[o]].strong)
			strong[n_strong++] = order[o];
	for (size_t o = 0; o < s->n_cidrs; o++) {
		struct scidr *c = &s->cidrs[order[o]];
		int best = -1;

		for (int len = c->strong ? -1 : c->p.len - 1; len >= 0 && best < 0; len--) {
			struct sl_prefix outer = c->p;
			size_t lo = 0, hi = n_strong;

			prefix_mask(&outer, (uint8_t)len);
			while (lo < hi) {
				size_t mid = (lo + hi) / 2;
				int r = sl_prefix_cmp(&s->cidrs[strong[mid]].p, &outer);

				if (!r)
					best = (int)strong[mid];
				if (r < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
		}
		if (best < 0)
			continue;
		c->except_of = best;
		c->placed = true;
		if (s->cidrs[best].except_tail >= 0)
			s->cidrs[s->cidrs[best].except_tail].except_next = (int)order[o];
		else
			s->cidrs[best].except_head = (int)order[o];
		s->cidrs[best].except_tail = (int)order[o];
	}
	free(strong);
	/* A rule with world lists the CIDRs it covers that are named
	 * nowhere else, once. */
	for (size_t i = 0; i < s->n_pols; i++)
		for (size_t j = 0; j < s->pols[i].n_rules; j++) {
			struct srule *r = &s->pols[i].rules[j];

			for (size_t k = 0; r->ent[SL_ENTITY_WORLD] && k < r->n_cidrs; k++) {
				struct scidr *c = &s->cidrs[r->cidrs[k]];

				r->cidr_drop[k] = c->placed;
				c->placed = true;
			}
		}
	/* The rest: a policy that selects no endpoint of this node. */
	holder.cidrs = salloc(s, (s->n_cidrs + 1) * sizeof(*holder.cidrs));
	holder.cidr_drop = salloc(s, s->n_cidrs + 1);
	for (size_t o = 0; holder.cidrs && o < s->n_cidrs; o++)
		if (!s->cidrs[order[o]].placed) {
			char t[64];

			sl_prefix_format(&s->cidrs[order[o]].p, t, sizeof(t));
			if (strbuf_addf(&list, "%s%s", n_held ? ", " : "", t) < 0)
				s->oom = true;
			holder.cidrs[n_held++] = order[o];
		}
	free(order);
	if (!n_held || s->oom)
		goto out;
	holder.n_cidrs = n_held;
	/* An identity that only remote endpoints have selects nothing here. */
	for (size_t i = 0; i < s->n_reps && !subject; i++) {
		bool local = false;

		for (size_t g = 0; g < s->n_groups && !local; g++)
			local = s->groups[g].identity == s->reps[i].identity;
		if (!local)
			subject = sfmt(s, "%" PRIu32, s->reps[i].identity);
	}
	if (subject) {
		note(s, "policy " SHOW_HOLDER_POLICY " selects only remote endpoints: it keeps the identities of CIDRs "
			"that no policy entry of this node uses (%s)", strbuf_str(&list));
	} else if (!s->n_pols && s->n_groups && s->enforcement == SL_ENFORCE_DEFAULT) {
		/* No endpoint here is under any policy: that is what
		 * policyEnforcement: never makes of any policy. */
		s->enforcement = SL_ENFORCE_NEVER;
		subject = sfmt(s, "%" PRIu32, s->groups[0].identity);
		note(s, "no endpoint of this node is under policy, yet CIDRs have identities (%s): shown as "
			"policyEnforcement: never with policy " SHOW_HOLDER_POLICY " naming them", strbuf_str(&list));
	} else {
		subject = "none";
		note(s, "policy " SHOW_HOLDER_POLICY " selects no endpoint (validate warns about it): it keeps the "
			"identities of CIDRs that no policy entry of this node uses (%s)", strbuf_str(&list));
	}
	p = new_policy(s, SHOW_HOLDER_POLICY, subject);
	if (p && add_rule(s, p, &holder) < 0)
		s->oom = true;
out:
	strbuf_free(&list);
}

/* ---- the document ---- */

static void emit_services(struct show *s);

static void identity_selector(struct show *s, struct doc_node *parent, const char *key, const char *id)
{
	struct doc_node *m = doc_map(&s->doc, parent, key, DOC_BLOCK);

	doc_str(&s->doc, doc_map(&s->doc, m, "matchLabels", DOC_FLOW), SL_SHOW_IDENTITY_LABEL, id);
}

static void emit_ports(struct show *s, struct doc_node *rule, const struct srule *r)
{
	struct doc_node *pr = doc_map(&s->doc, doc_seq(&s->doc, rule, "toPorts", DOC_BLOCK), NULL, DOC_BLOCK);
	struct doc_node *ports = doc_seq(&s->doc, pr, "ports", DOC_FLOW);

	for (size_t i = 0; i < r->n_ports; i++) {
		const struct pspec *p = &r->ports[i];
		struct doc_node *it = doc_map(&s->doc, ports, NULL, DOC_FLOW);

		doc_u64(&s->doc, it, "port", p->port);
		/* TCP, UDP and SCTP on one port: what ANY with a port makes. */
		if (p->port && p->proto == SL_PROTO_TCP && i + 2 < r->n_ports && r->ports[i + 1].port == p->port &&
		    r->ports[i + 1].proto == SL_PROTO_UDP && r->ports[i + 2].port == p->port &&
		    r->ports[i + 2].proto == SL_PROTO_SCTP) {
			i += 2;
			continue;
		}
		doc_str(&s->doc, it, "protocol", sl_proto_name(p->proto));
	}
	if (r->proxy)
		doc_u64(&s->doc, pr, "proxyPort", r->proxy);
}

static void emit_rule(struct show *s, struct doc_node *seq, const struct srule *r)
{
	bool from = r->dir == SL_INGRESS || r->dir == SL_INGRESS_DENY;
	struct doc_node *m = doc_map(&s->doc, seq, NULL, DOC_BLOCK), *plain = NULL, *sets = NULL, *ents = NULL;

	if (r->n_ids) {
		struct doc_node *eps = doc_seq(&s->doc, m, from ? "fromEndpoints" : "toEndpoints", DOC_BLOCK);

		for (size_t i = 0; i < r->n_ids; i++)
			identity_selector(s, eps, NULL, sfmt(s, "%" PRIu32, r->ids[i]));
	}
	for (size_t i = 0; i < r->n_cidrs; i++) {
		const struct scidr *c = &s->cidrs[r->cidrs[i]];

		if (r->cidr_drop[i] || (c->except_head >= 0 && c->first_rule == r))
			continue;
		if (!plain)
			plain = doc_seq(&s->doc, m, from ? "fromCIDR" : "toCIDR", DOC_FLOW);
		doc_str(&s->doc, plain, NULL, prefix_str(s, &c->p));
	}
	for (size_t i = 0; i < r->n_cidrs; i++) {
		const struct scidr *c = &s->cidrs[r->cidrs[i]];
		struct doc_node *it, *ex;

		if (r->cidr_drop[i] || c->except_head < 0 || c->first_rule != r)
			continue;
		if (!sets)
			sets = doc_seq(&s->doc, m, from ? "fromCIDRSet" : "toCIDRSet", DOC_BLOCK);
		it = doc_map(&s->doc, sets, NULL, DOC_FLOW);
		doc_str(&s->doc, it, "cidr", prefix_str(s, &c->p));
		ex = doc_seq(&s->doc, it, "except", DOC_FLOW);
		for (int e = c->except_head; e >= 0; e = s->cidrs[e].except_next)
			doc_str(&s->doc, ex, NULL, prefix_str(s, &s->cidrs[e].p));
	}
	for (int e = 0; e < SL_ENTITY__MAX; e++) {
		if (!r->ent[e])
			continue;
		if (!ents)
			ents = doc_seq(&s->doc, m, from ? "fromEntities" : "toEntities", DOC_FLOW);
		doc_str(&s->doc, ents, NULL, entity_name[e]);
	}
	if (r->to_ports)
		emit_ports(s, m, r);
}

static void emit_node(struct show *s, struct doc_node *seq, const struct snode *n)
{
	struct doc_node *m = doc_map(&s->doc, seq, NULL, DOC_BLOCK);

	doc_str(&s->doc, m, "name", n->name);
	doc_str(&s->doc, m, "ip", addr_str(s, &n->ip));
	if (n->n_pods) {
		struct doc_node *pods = doc_seq(&s->doc, m, "podCIDRs", DOC_FLOW);

		for (size_t i = 0; i < n->n_pods; i++)
			doc_str(&s->doc, pods, NULL, prefix_str(s, &n->pods[i]));
	}
}

static void emit_endpoint(struct show *s, struct doc_node *seq, const char *name, const char *ifname, int a4, int a6,
			 uint32_t identity, const char *node, unsigned id)
{
	struct doc_node *m = doc_map(&s->doc, seq, NULL, DOC_BLOCK);

	doc_str(&s->doc, m, "name", name);
	if (ifname)
		doc_str(&s->doc, m, "interface", ifname);
	if (a4 >= 0)
		doc_str(&s->doc, m, "ipv4", addr_str(s, &s->addrs[a4].p));
	if (a6 >= 0)
		doc_str(&s->doc, m, "ipv6", addr_str(s, &s->addrs[a6].p));
	doc_u64(&s->doc, m, "identity", identity);
	if (node)
		doc_str(&s->doc, m, "node", node);
	if (id)
		doc_u64(&s->doc, m, "id", id);
}

static void build_doc(struct show *s)
{
	struct doc_node *root = doc_root(&s->doc), *q;
	bool sizes = false;

	doc_u64(&s->doc, root, "version", 1);
	if (s->here >= 0)
		doc_str(&s->doc, root, "node", s->nodes[s->here].name);
	if (s->n_nodes) {
		q = doc_seq(&s->doc, root, "nodes", DOC_BLOCK);
		if (s->here >= 0)
			emit_node(s, q, &s->nodes[s->here]);
		for (size_t i = 0; i < s->n_nodes; i++)
			if (!s->nodes[i].here)
				emit_node(s, q, &s->nodes[i]);
	}
	for (int i = 0; i < SL_MAP__MAX; i++)
		sizes |= s->map_size_set[i] && s->map_size[i] != sl_map_size_default[i];
	if (s->enforcement != SL_ENFORCE_DEFAULT || sizes) {
		struct doc_node *dp = doc_map(&s->doc, root, "datapath", DOC_BLOCK);

		if (s->enforcement != SL_ENFORCE_DEFAULT)
			doc_str(&s->doc, dp, "policyEnforcement", s->enforcement == SL_ENFORCE_ALWAYS ? "always" : "never");
		if (sizes) {
			struct doc_node *ms = doc_map(&s->doc, dp, "mapSizes", DOC_BLOCK);

			for (int i = 0; i < SL_MAP__MAX; i++)
				if (s->map_size_set[i] && s->map_size[i] != sl_map_size_default[i])
					doc_u64(&s->doc, ms, sl_map_size_name[i], s->map_size[i]);
		}
	}
	if (s->has_pf) {
		struct doc_node *pf = doc_map(&s->doc, root, "prefilter", DOC_BLOCK);

		doc_str(&s->doc, pf, "device", s->pf_device);
		doc_str(&s->doc, pf, "xdpMode", s->xdp_mode == SL_XDP_GENERIC ? "generic" : "native");
		if (s->n_deny) {
			struct doc_node *d = doc_seq(&s->doc, pf, "deny", DOC_FLOW);

			for (size_t i = 0; i < s->n_deny; i++)
				doc_str(&s->doc, d, NULL, prefix_str(s, &s->deny[i]));
		}
	}
	if (s->n_ids) {
		q = doc_seq(&s->doc, root, "identities", DOC_BLOCK);
		for (size_t i = 0; i < s->n_ids; i++) {
			struct doc_node *m = doc_map(&s->doc, q, NULL, DOC_BLOCK);

			doc_u64(&s->doc, m, "id", s->ids[i]);
			doc_str(&s->doc, doc_map(&s->doc, m, "labels", DOC_FLOW), SL_SHOW_IDENTITY_LABEL, sfmt(s, "%" PRIu32, s->ids[i]));
		}
	}
	if (s->n_groups || s->n_reps) {
		q = doc_seq(&s->doc, root, "endpoints", DOC_BLOCK);
		for (size_t i = 0; i < s->n_eps; i++) {
			const struct sep *e = &s->eps[i];

			if (!e->skip)
				emit_endpoint(s, q, e->name, e->ifname, e->a4, e->a6, e->v.identity, NULL, e->v.id);
		}
		for (size_t i = 0; i < s->n_reps; i++) {
			const struct srep *r = &s->reps[i];

			emit_endpoint(s, q, r->name, NULL, r->a4, r->a6, r->identity, s->nodes[r->node].name, 0);
		}
	}
	if (s->n_pols) {
		q = doc_seq(&s->doc, root, "policies", DOC_BLOCK);
		for (size_t i = 0; i < s->n_pols; i++) {
			const struct spolicy *p = &s->pols[i];
			struct doc_node *m = doc_map(&s->doc, q, NULL, DOC_BLOCK);

			doc_str(&s->doc, m, "name", p->name);
			identity_selector(s, m, "endpointSelector", p->subject);
			for (int d = 0; d < SL_DIRECTION__MAX; d++) {
				struct doc_node *rules = NULL;

				if (p->key[d])
					rules = doc_seq(&s->doc, m, dir_key[d], DOC_BLOCK);
				for (size_t j = 0; j < p->n_rules; j++) {
					if (p->rules[j].dir != d)
						continue;
					if (!rules)
						rules = doc_seq(&s->doc, m, dir_key[d], DOC_BLOCK);
					emit_rule(s, rules, &p->rules[j]);
				}
			}
		}
	}
	emit_services(s);
}

/* ---- services ---- */

/* The backend entry of that id into ret; false when there is none. */
static bool backend_value(struct show *s, uint32_t id, struct sl_backend_value *ret)
{
	struct sl_backend_key k = { .id = id };
	const struct sl_obj *o = objset_find(s->live, SL_OBJ_BACKEND, &k, sizeof(k));

	if (!o || o->vlen != sizeof(*ret))
		return false;
	memcpy(ret, obj_val(s->live, o), sizeof(*ret)); /* at any alignment */
	return true;
}

static const char *addr_of(struct show *s, uint8_t family, const uint8_t *addr)
{
	struct sl_prefix p = { .family = family, .len = family == SL_FAMILY_IPV4 ? 32 : 128 };

	memcpy(p.addr, addr, 16);
	return addr_str(s, &p);
}

/* "svc-10-96-0-10-80-tcp": a name from the frontend. */
static const char *service_name(struct show *s, const struct sl_service_key *k)
{
	const char *a = addr_of(s, k->family, k->addr), *pn = sl_proto_name(k->proto);
	char base[96], *p;

	snprintf(base, sizeof(base), "svc-%s-%u-%s", a ? a : "x", ntohs(k->port), pn ? pn : "any");
	for (p = base; *p; p++) {
		if (*p == '.' || *p == ':')
			*p = '-';
		else if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	}
	return unique_name(s, sfmt(s, "%s", base));
}

static void emit_services(struct show *s)
{
	struct doc_node *q;
	size_t missing = 0;

	if (!s->has_svcs)
		return;
	q = doc_seq(&s->doc, doc_root(&s->doc), "services", DOC_BLOCK);
	for (size_t i = s->svc_first; i < s->svc_first + s->n_svcs; i++) {
		const struct sl_obj *o = &s->live->v[i];
		struct sl_service_key kc;
		struct sl_service_value vc;
		const struct sl_service_key *k = &kc;
		const struct sl_service_value *v = &vc;
		struct doc_node *m, *fe, *bes;

		if (o->kind != SL_OBJ_SERVICE || !obj_copy(s, o, &kc, sizeof(kc), &vc, sizeof(vc)))
			continue;
		m = doc_map(&s->doc, q, NULL, DOC_BLOCK);
		doc_str(&s->doc, m, "name", service_name(s, k));
		fe = doc_map(&s->doc, m, "frontend", DOC_FLOW);
		doc_str(&s->doc, fe, "ip", addr_of(s, k->family, k->addr));
		doc_u64(&s->doc, fe, "port", ntohs(k->port));
		doc_str(&s->doc, fe, "protocol", sl_proto_name(k->proto));
		bes = doc_seq(&s->doc, m, "backends", DOC_BLOCK);
		for (uint8_t j = 0; j < v->n_members && j < SL_LB_MAX_BACKENDS; j++) {
			const struct sl_lb_member *mb = &v->member[j];
			struct sl_backend_value bv;
			const struct sl_backend_value *b = &bv;
			struct doc_node *bm;

			if (!backend_value(s, mb->backend_id, &bv)) {
				missing++;
				continue;
			}
			bm = doc_map(&s->doc, bes, NULL, DOC_FLOW);
			doc_str(&s->doc, bm, "ip", addr_of(s, b->family, b->addr));
			doc_u64(&s->doc, bm, "port", ntohs(b->port));
			if (mb->weight != 1)
				doc_u64(&s->doc, bm, "weight", mb->weight);
			if (mb->flags & SL_LB_MEMBER_TERMINATING)
				doc_str(&s->doc, bm, "state", "terminating");
		}
	}
	if (missing)
		note(s, "%zu backends that services name have no backend entry: not shown", missing);
}

static void encryption_note(struct show *s)
{
	struct strbuf b = {};

	for (size_t i = 0; i < s->n_nodes; i++) {
		if (!s->nodes[i].keys)
			continue;
		if (strbuf_addf(&b, "%s%s (key", b.len ? ", " : "", s->nodes[i].name) < 0)
			s->oom = true;
		for (unsigned k = 0; k < 32; k++)
			if (s->nodes[i].keys & (1u << k) && strbuf_addf(&b, " %u", k) < 0)
				s->oom = true;
		if (strbuf_adds(&b, ")") < 0)
			s->oom = true;
	}
	if (b.len)
		note(s, "encryption is not shown (key material is never printed), so the encryption key indexes of "
			"the ipcache entries toward %s do not round-trip", strbuf_str(&b));
	strbuf_truncate(&b, 0);
	for (unsigned k = 0; k < 32; k++)
		if (s->sa_spis & (1u << k) && strbuf_addf(&b, "%s%u", b.len ? ", " : "", k) < 0)
			s->oom = true;
	if (s->n_sa || s->n_xpol || s->n_routes)
		note(s, "encryption's %zu xfrm states%s%s%s, %zu xfrm policies and %zu routes are not shown: the "
			"encryption section names key files, which the kernel does not know (see sluice status)",
		     s->n_sa, b.len ? " (SPI " : "", b.len ? strbuf_str(&b) : "", b.len ? ")" : "", s->n_xpol,
		     s->n_routes);
	strbuf_free(&b);
}

/* The notes, at the top of the YAML document. */
static void notes_comments(struct show *s)
{
	const char *p = strbuf_str(&s->notes);
	struct strbuf line = {};

	doc_comment(&s->doc, "sluice show: notes on what the kernel does not record");
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		strbuf_truncate(&line, 0);
		if (strbuf_adds(&line, "- ") < 0 || strbuf_add(&line, p, len) < 0) {
			s->oom = true;
			break;
		}
		doc_comment(&s->doc, strbuf_str(&line));
		p += len + (nl ? 1 : 0);
	}
	strbuf_free(&line);
}

static void show_free(struct show *s)
{
	for (size_t i = 0; i < s->n_nodes; i++)
		free(s->nodes[i].pods);
	for (size_t i = 0; i < s->n_pols; i++)
		free(s->pols[i].rules);
	free(s->nodes);
	free(s->addrs);
	free(s->eps);
	free(s->reps);
	free(s->cidrs);
	free(s->pe);
	free(s->groups);
	free(s->order);
	free(s->ids);
	free(s->pols);
	free(s->deny);
	free(s->names.v);
	strbuf_free(&s->notes);
	doc_free(&s->doc);
	arena_free(&s->arena);
}

int sl_show_render(const struct sl_objset *live, const struct sl_map_layout *layouts, size_t n_layouts,
		   enum sl_show_format fmt, struct strbuf *out, struct strbuf *ret_notes)
{
	struct show s = {
		.live = live,
		.layouts = layouts,
		.n_layouts = layouts ? n_layouts : 0,
		.here = -1,
		.enforcement = SL_ENFORCE_DEFAULT,
	};
	int r = 0;

	if ((int)fmt < 0 || (int)fmt >= SL_SHOW__MAX || !live || !out)
		return -EINVAL;
	if (doc_init(&s.doc) < 0)
		s.oom = true;
	if (!s.oom)
		read_live(&s);
	if (!s.oom)
		local_endpoints(&s);
	if (!s.oom)
		remote_endpoints(&s);
	if (!s.oom)
		policies(&s);
	if (!s.oom)
		place_cidrs(&s);
	if (!s.oom)
		encryption_note(&s);
	if (!s.oom && s.n_more && strbuf_addf(&s.notes, "(and %zu more notes)\n", s.n_more) < 0)
		s.oom = true;
	if (!s.oom)
		build_doc(&s);
	if (!s.oom && fmt == SL_SHOW_YAML && s.n_notes)
		notes_comments(&s);
	if (s.oom)
		r = -ENOMEM;
	if (r >= 0)
		r = fmt == SL_SHOW_JSON ? doc_json(&s.doc, DOC_JSON_PRETTY, out) : doc_yaml(&s.doc, out);
	if (r >= 0 && ret_notes && s.notes.len && strbuf_add(ret_notes, s.notes.s, s.notes.len) < 0)
		r = -ENOMEM;
	show_free(&s);
	return r;
}
