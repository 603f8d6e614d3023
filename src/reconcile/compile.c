/* SPDX-License-Identifier: Apache-2.0 */
#include "compile.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/abi.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "diag.h"
#include "encrypt.h"
#include "features/features.h"
#include "labels.h"

/* ---- identities of peers ---- */

struct ids {
	uint32_t *v;
	size_t n, cap;
	bool any; /* identity 0: every peer */
};

static int ids_add(struct ids *s, uint32_t id)
{
	/* Duplicates are dropped once, by ids_finish: a rule may name 100k peers. */
	if (grow_array((void **)&s->v, &s->cap, s->n + 1, sizeof(*s->v)) < 0)
		return -ENOMEM;
	s->v[s->n++] = id;
	return 0;
}

static void ids_finish(struct ids *s)
{
	size_t w = 0;

	if (s->n > 1) /* qsort(NULL, 0) is undefined */
		qsort(s->v, s->n, sizeof(*s->v), cmp_u32);
	for (size_t i = 0; i < s->n; i++)
		if (!w || s->v[w - 1] != s->v[i])
			s->v[w++] = s->v[i];
	s->n = w;
}

/* A CIDR named by policy, with the identity it is given. */
struct cidr_id {
	struct sl_prefix p;
	uint32_t id;
};

struct ctx {
	const struct sl_state *st;
	const struct sl_compile_prev *prev;
	struct sl_objset *out;
	struct cidr_id *cidrs;
	size_t n_cidrs, cap_cidrs;
	/* policy entries before merging */
	struct pentry {
		struct sl_policy_key k;
		struct sl_policy_value v;
	} *pe;
	size_t n_pe, cap_pe;
	/* The peers of each rule, resolved once: a rule's peers do not
	 * depend on the endpoint it is compiled for (an open-addressed
	 * table keyed by the rule's address; cap a power of two). */
	struct rule_memo {
		const struct sl_rule *r;
		struct ids peers;
		bool no_peer_field;
		int ret;
	} *memo;
	size_t cap_memo;
	/* Which identities each policy selects, resolved once (endpoints
	 * share identities): bit i of row p is policy p selecting identity i. */
	uint8_t *sel_bits;
	size_t sel_row; /* bytes per policy */
	/* sl_compile_count: each endpoint's policy entries are counted, then
	 * dropped, instead of being added to the set */
	bool count_only;
	size_t n_policy_counted;
	/* count_only: an endpoint's entries depend on its identity alone, so
	 * each identity's count is made once (SIZE_MAX: not yet) */
	size_t *count_by_id;
	struct sel_cache *sel_cache; /* selector_ids' */
};

static int prefix_cmp_v(const void *a, const void *b)
{
	return sl_prefix_cmp(&((const struct cidr_id *)a)->p, &((const struct cidr_id *)b)->p);
}

static const struct cidr_id *cidr_find(const struct ctx *c, const struct sl_prefix *p)
{
	struct cidr_id k = { .p = *p };

	if (!c->n_cidrs) /* c->cidrs may be NULL, which bsearch must not be given */
		return NULL;
	return bsearch(&k, c->cidrs, c->n_cidrs, sizeof(*c->cidrs), prefix_cmp_v);
}

static int cidr_collect(struct ctx *c, const struct sl_prefix *p)
{
	if (!p->family)
		return 0;
	if (grow_array((void **)&c->cidrs, &c->cap_cidrs, c->n_cidrs + 1, sizeof(*c->cidrs)) < 0)
		return -ENOMEM;
	c->cidrs[c->n_cidrs++] = (struct cidr_id){ .p = *p };
	return 0;
}

static int rule_cidrs(struct ctx *c, const struct sl_rule *r)
{
	int ret = 0;

	for (uint32_t i = 0; ret >= 0 && r->cidrs_pfx && i < r->n_cidrs; i++)
		ret = cidr_collect(c, &r->cidrs_pfx[i]);
	for (uint32_t i = 0; ret >= 0 && i < r->n_cidr_sets; i++) {
		const struct sl_cidr_set *cs = &r->cidr_sets[i];

		ret = cidr_collect(c, &cs->cidr_pfx);
		for (uint32_t j = 0; ret >= 0 && cs->except_pfx && j < cs->n_except; j++)
			ret = cidr_collect(c, &cs->except_pfx[j]);
	}
	return ret;
}

/* (id, index) pairs by id, then index: the first holder of an id first. */
static int u32_pair_cmp(const void *a, const void *b)
{
	const uint32_t *x = a, *y = b;

	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	return x[1] < y[1] ? -1 : x[1] > y[1];
}

/* Every CIDR policy names gets an identity in the local range: the one it
 * had (prev), else the lowest free. */
static int assign_cidr_identities(struct ctx *c)
{
	const struct sl_state *st = c->st;
	size_t w = 0;
	uint32_t next = SL_ID_CIDR_MIN;
	int r = 0;

	for (uint32_t i = 0; r >= 0 && i < st->n_policies; i++)
		for (int d = 0; r >= 0 && d < SL_DIRECTION__MAX; d++)
			for (uint32_t j = 0; r >= 0 && j < st->policies[i].rules[d].n; j++)
				r = rule_cidrs(c, &st->policies[i].rules[d].v[j]);
	if (r < 0)
		return r;
	if (c->n_cidrs > 1)
		qsort(c->cidrs, c->n_cidrs, sizeof(*c->cidrs), prefix_cmp_v);
	for (size_t i = 0; i < c->n_cidrs; i++)
		if (!w || sl_prefix_cmp(&c->cidrs[w - 1].p, &c->cidrs[i].p) != 0)
			c->cidrs[w++] = c->cidrs[i];
	c->n_cidrs = w;
	/* Keep what was assigned before. */
	for (size_t i = 0; c->prev && i < c->prev->n_cidr; i++) {
		struct cidr_id *ci = (struct cidr_id *)cidr_find(c, &c->prev->cidrs[i]);

		if (ci && c->prev->cidr_ids[i] >= SL_ID_CIDR_MIN)
			ci->id = c->prev->cidr_ids[i];
	}
	/* Two prefixes must not share one: the later loses it. Then the free
	 * ones get the lowest ids not in use, in prefix order. */
	{
		uint32_t *used = malloc((c->n_cidrs + 1) * sizeof(*used));
		size_t n_used = 0, u = 0;

		if (!used)
			return -ENOMEM;
		/* Where two prefixes claim one id, the later prefix loses it. */
		{
			struct pair {
				uint32_t id;
				uint32_t idx;
			} *pr = malloc((c->n_cidrs + 1) * sizeof(*pr));
			size_t np = 0;

			if (!pr) {
				free(used);
				return -ENOMEM;
			}
			for (size_t i = 0; i < c->n_cidrs; i++)
				if (c->cidrs[i].id)
					pr[np++] = (struct pair){ c->cidrs[i].id, (uint32_t)i };
			qsort(pr, np, sizeof(*pr), u32_pair_cmp);
			for (size_t i = 1; i < np; i++)
				if (pr[i].id == pr[i - 1].id)
					c->cidrs[pr[i].idx].id = 0;
			free(pr);
		}
		n_used = 0;
		for (size_t i = 0; i < c->n_cidrs; i++)
			if (c->cidrs[i].id)
				used[n_used++] = c->cidrs[i].id;
		qsort(used, n_used, sizeof(*used), cmp_u32);
		for (size_t i = 0; i < c->n_cidrs; i++) {
			if (c->cidrs[i].id)
				continue;
			while (u < n_used && used[u] < next)
				u++;
			while (u < n_used && used[u] == next) {
				next++;
				u++;
			}
			if (next == 0) {
				free(used);
				return -ERANGE;
			}
			c->cidrs[i].id = next++;
		}
		free(used);
	}
	return 0;
}

/*
 * The identities each distinct selector matches, found once: policies
 * repeat the same selectors (one team, one app) many times over, and
 * matching one against every identity compares labels as strings. Keyed
 * by the selector's text (its labels and expressions, each string ended by
 * a NUL, which no label holds, and each expression led by its operator and
 * its number of values), in an open-addressed table that grows.
 */
struct sel_cache {
	struct sel_entry {
		char *key; /* NULL: free */
		size_t klen;
		uint64_t hash;
		uint32_t *ids;
		size_t n;
	} *v;
	size_t n, cap;
};

static void sel_cache_free(struct sel_cache *sc)
{
	for (size_t i = 0; sc && i < sc->cap; i++) {
		free(sc->v[i].key);
		free(sc->v[i].ids);
	}
	if (sc)
		free(sc->v);
}

static int sel_text(const struct sl_selector *sel, struct strbuf *b)
{
	int r = 0;

	for (uint32_t i = 0; r >= 0 && i < sel->n_match_labels; i++)
		r = strbuf_addf(b, "L%s%c%s%c", sel->match_labels[i].key, 0, sel->match_labels[i].value, 0);
	for (uint32_t i = 0; r >= 0 && i < sel->n_exprs; i++) {
		const struct sl_expr *e = &sel->exprs[i];

		/* the count of values first: a value may be empty */
		r = strbuf_addf(b, "E%d,%u,%s%c", e->op, e->n_values, e->key, 0);
		for (uint32_t j = 0; r >= 0 && j < e->n_values; j++)
			r = strbuf_addf(b, "%s%c", e->values[j], 0);
	}
	return r;
}

static struct sel_entry *sel_slot(struct sel_cache *sc, const char *key, size_t klen, uint64_t h)
{
	for (size_t i = h & (sc->cap - 1);; i = (i + 1) & (sc->cap - 1)) {
		struct sel_entry *e = &sc->v[i];

		if (!e->key || (e->hash == h && e->klen == klen && !memcmp(e->key, key, klen)))
			return e;
	}
}

static int sel_cache_grow(struct sel_cache *sc)
{
	struct sel_cache bigger = { .cap = sc->cap ? sc->cap * 2 : 64 };

	bigger.v = calloc(bigger.cap, sizeof(*bigger.v));
	if (!bigger.v)
		return -ENOMEM;
	for (size_t i = 0; i < sc->cap; i++)
		if (sc->v[i].key)
			*sel_slot(&bigger, sc->v[i].key, sc->v[i].klen, sc->v[i].hash) = sc->v[i];
	bigger.n = sc->n;
	free(sc->v);
	*sc = bigger;
	return 0;
}

/* The identities of the endpoints a selector matches (user identities). */
static int selector_ids(const struct ctx *c, const struct sl_selector *sel, struct ids *out)
{
	struct sel_cache *sc = c->sel_cache;
	struct strbuf b = {};
	struct sel_entry *e;
	struct ids found = {};
	uint64_t h;
	int r = sel_text(sel, &b);

	if (r < 0 || (2 * (sc->n + 1) > sc->cap && (r = sel_cache_grow(sc)) < 0)) {
		strbuf_free(&b);
		return r < 0 ? r : -ENOMEM;
	}
	h = fnv1a64(FNV1A64_INIT, b.s ? b.s : "", b.len);
	e = sel_slot(sc, b.s ? b.s : "", b.len, h);
	if (!e->key) {
		for (uint32_t i = 0; r >= 0 && i < c->st->n_identities; i++) {
			const struct sl_identity *id = &c->st->identities[i];

			if (sl_selector_matches(sel, id->labels, id->n_labels))
				r = ids_add(&found, id->id);
		}
		if (r < 0) {
			free(found.v);
			strbuf_free(&b);
			return r;
		}
		e->key = b.s ? b.s : strdup("");
		b.s = NULL;
		if (!e->key) {
			free(found.v);
			return -ENOMEM;
		}
		e->klen = b.len;
		e->hash = h;
		e->ids = found.v;
		e->n = found.n;
		sc->n++;
	}
	strbuf_free(&b);
	for (size_t i = 0; r >= 0 && i < e->n; i++)
		r = ids_add(out, e->ids[i]);
	return r;
}

static int entity_ids(const struct ctx *c, int entity, struct ids *out)
{
	int r = 0;

	switch (entity) {
	case SL_ENTITY_HOST:
		return ids_add(out, SL_ID_HOST);
	case SL_ENTITY_WORLD:
		/* Outside the cluster: the world identity, and the CIDR
		 * identities, which are parts of the world. */
		r = ids_add(out, SL_ID_WORLD);
		for (size_t i = 0; r >= 0 && i < c->n_cidrs; i++)
			r = ids_add(out, c->cidrs[i].id);
		return r;
	case SL_ENTITY_REMOTE_NODE:
		return ids_add(out, SL_ID_REMOTE_NODE);
	case SL_ENTITY_CLUSTER: {
		static const uint32_t reserved[] = { SL_ID_HOST, SL_ID_HEALTH, SL_ID_INIT, SL_ID_REMOTE_NODE };

		for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(reserved); i++)
			r = ids_add(out, reserved[i]);
		for (uint32_t i = 0; r >= 0 && i < c->st->n_identities; i++)
			r = ids_add(out, c->st->identities[i].id);
		return r;
	}
	case SL_ENTITY_ALL:
		out->any = true;
		return 0;
	default:
		return 0;
	}
}

static int cidr_ids(const struct ctx *c, const struct sl_prefix *p, struct ids *out)
{
	const struct cidr_id *ci = p->family ? cidr_find(c, p) : NULL;

	return ci ? ids_add(out, ci->id) : 0;
}

/* The peers a rule names; *none when it names no peer field at all. */
static int rule_peers(const struct ctx *c, const struct sl_rule *r, struct ids *out, bool *no_peer_field)
{
	int ret = 0;

	*no_peer_field = !SL_GIVEN(r, SL_RULE_ENDPOINTS) && !SL_GIVEN(r, SL_RULE_CIDR) &&
			 !SL_GIVEN(r, SL_RULE_CIDR_SET) && !SL_GIVEN(r, SL_RULE_ENTITIES);
	for (uint32_t i = 0; ret >= 0 && i < r->n_endpoints; i++)
		ret = selector_ids(c, &r->endpoints[i], out);
	for (uint32_t i = 0; ret >= 0 && r->cidrs_pfx && i < r->n_cidrs; i++)
		ret = cidr_ids(c, &r->cidrs_pfx[i], out);
	for (uint32_t i = 0; ret >= 0 && i < r->n_cidr_sets; i++)
		ret = cidr_ids(c, &r->cidr_sets[i].cidr_pfx, out);
	for (uint32_t i = 0; ret >= 0 && i < r->n_entities; i++)
		ret = entity_ids(c, r->entities[i], out);
	return ret;
}

/* ---- policy entries ---- */

int sl_policy_key_level(uint32_t identity, uint8_t proto, uint16_t dport)
{
	int base = identity ? 0 : 3;

	if (!proto)
		return base + 3;
	return base + (dport ? 1 : 2);
}

static int pe_add(struct ctx *c, uint16_t ep_id, uint8_t dir, uint32_t id, uint8_t proto, uint16_t port, bool deny,
		  uint16_t proxy)
{
	struct pentry *e;

	if (grow_array((void **)&c->pe, &c->cap_pe, c->n_pe + 1, sizeof(*c->pe)) < 0)
		return -ENOMEM;
	e = &c->pe[c->n_pe++];
	memset(e, 0, sizeof(*e));
	e->k.ep_id = ep_id;
	e->k.dir = dir;
	e->k.identity = id;
	e->k.proto = proto;
	e->k.dport = htons(port);
	e->v.flags = deny ? SL_POLICY_DENY : 0;
	e->v.proxy_port = deny ? 0 : proxy;
	return 0;
}

/* Entries of one rule for one endpoint. */
/* The memo's slot of r: r's resolved peers, resolved now if they were not. */
static const struct rule_memo *rule_memo_get(struct ctx *c, const struct sl_rule *r)
{
	size_t h = ((uintptr_t)r >> 3) * 0x9E3779B97F4A7C15ull;
	struct rule_memo *m;

	for (size_t i = 0;; i++) {
		m = &c->memo[(h + i) & (c->cap_memo - 1)];
		if (m->r == r)
			return m;
		if (!m->r)
			break;
	}
	m->r = r;
	m->ret = rule_peers(c, r, &m->peers, &m->no_peer_field);
	ids_finish(&m->peers);
	return m;
}

static int rule_entries(struct ctx *c, uint16_t ep_id, uint8_t dir, const struct sl_rule *r, bool deny)
{
	const struct rule_memo *m = rule_memo_get(c, r);
	struct ids peers = m->peers;
	bool no_peer_field = m->no_peer_field;
	int ret = m->ret;

	/* toPorts without a peer field: every peer on those ports. An empty
	 * rule {}: nothing (it only turns enforcement on). */
	if (ret >= 0 && no_peer_field) {
		if (!r->n_to_ports)
			goto out;
		peers.any = true;
	}
	for (size_t pi = 0; ret >= 0 && pi < peers.n + (peers.any ? 1 : 0); pi++) {
		uint32_t id = pi < peers.n ? peers.v[pi] : 0;

		if (!r->n_to_ports) {
			ret = pe_add(c, ep_id, dir, id, 0, 0, deny, 0);
			continue;
		}
		for (uint32_t t = 0; ret >= 0 && t < r->n_to_ports; t++) {
			const struct sl_port_rule *pr = &r->to_ports[t];

			for (uint32_t q = 0; ret >= 0 && q < pr->n_ports; q++) {
				const struct sl_port *port = &pr->ports[q];
				uint16_t pn = (uint16_t)port->port;

				if (port->protocol == SL_PROTO_ANY && pn) {
					/* ANY with a port: one entry per protocol that has ports */
					static const uint8_t protos[] = { SL_PROTO_TCP, SL_PROTO_UDP, SL_PROTO_SCTP };

					for (size_t k = 0; ret >= 0 && k < ARRAY_SIZE(protos); k++)
						ret = pe_add(c, ep_id, dir, id, protos[k], pn, deny,
							     (uint16_t)pr->proxy_port);
				} else {
					ret = pe_add(c, ep_id, dir, id, (uint8_t)port->protocol,
						     port->protocol == SL_PROTO_ANY ? 0 : pn, deny,
						     (uint16_t)pr->proxy_port);
				}
			}
		}
	}
out:
	return ret; /* peers.v is the memo's */
}

static int pe_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct pentry *)a)->k, &((const struct pentry *)b)->k, sizeof(struct sl_policy_key));
}

/* ---- the pieces ---- */

struct local_ep {
	const struct sl_endpoint *ep;
	uint16_t id;
};

static bool is_local(const struct sl_state *st, const struct sl_endpoint *ep)
{
	return !ep->node || (st->node && streq(ep->node, st->node));
}

static int ep_id_cmp(const void *a, const void *b)
{
	return strcmp(((const struct local_ep *)a)->ep->interface, ((const struct local_ep *)b)->ep->interface);
}

/* Endpoint ids: the state's, else the one it had (prev), else the lowest free. */
static int assign_endpoint_ids(const struct ctx *c, struct local_ep *l, size_t n)
{
	static uint8_t used[65536 / 8];
	uint32_t next = 1;

	memset(used, 0, sizeof(used));
	for (size_t i = 0; i < n; i++) {
		if (SL_HAS(l[i].ep, SL_EP_ID))
			l[i].id = (uint16_t)l[i].ep->id;
		for (size_t j = 0; !l[i].id && c->prev && j < c->prev->n_ep; j++)
			if (streq(c->prev->ep_ifnames[j], l[i].ep->interface))
				l[i].id = c->prev->ep_ids[j];
		if (l[i].id && (used[l[i].id / 8] & (1u << (l[i].id % 8))))
			l[i].id = 0; /* taken by an explicit id: assigned anew below */
		if (l[i].id)
			used[l[i].id / 8] |= (uint8_t)(1u << (l[i].id % 8));
	}
	for (size_t i = 0; i < n; i++) {
		if (l[i].id)
			continue;
		while (next < 65536 && (used[next / 8] & (1u << (next % 8))))
			next++;
		if (next >= 65536)
			return -ERANGE;
		l[i].id = (uint16_t)next;
		used[next / 8] |= (uint8_t)(1u << (next % 8));
	}
	return 0;
}

static const struct sl_identity *identity_by_id(const struct sl_state *st, uint32_t id)
{
	for (uint32_t i = 0; i < st->n_identities; i++)
		if (st->identities[i].id == id)
			return &st->identities[i];
	return NULL;
}

static bool selects(const struct sl_policy *p, const struct sl_identity *id)
{
	return p->selector && id && sl_selector_matches(p->selector, id->labels, id->n_labels);
}

static int selects_prepare(struct ctx *c)
{
	const struct sl_state *st = c->st;

	c->sel_row = (st->n_identities + 7) / 8;
	if (!st->n_policies || !c->sel_row)
		return 0;
	c->sel_bits = calloc(st->n_policies, c->sel_row);
	if (!c->sel_bits)
		return -ENOMEM;
	for (uint32_t p = 0; p < st->n_policies; p++)
		for (uint32_t i = 0; i < st->n_identities; i++)
			if (selects(&st->policies[p], &st->identities[i]))
				c->sel_bits[p * c->sel_row + i / 8] |= (uint8_t)(1u << (i % 8));
	return 0;
}

/* selects(), as selects_prepare resolved it. */
static bool policy_selects(const struct ctx *c, uint32_t p, const struct sl_identity *id)
{
	size_t i;

	if (!id || !c->sel_bits)
		return false;
	i = (size_t)(id - c->st->identities);
	return c->sel_bits[p * c->sel_row + i / 8] & (1u << (i % 8));
}

static int compile_endpoint(struct ctx *c, const struct local_ep *l)
{
	const struct sl_state *st = c->st;
	const struct sl_identity *id = identity_by_id(st, l->ep->identity);
	int mode = st->datapath->policy_enforcement;
	struct sl_endpoint_value v = { .identity = l->ep->identity, .id = l->id };
	char key[16] = { 0 };
	size_t first = c->n_pe;
	size_t id_index = id ? (size_t)(id - st->identities) : 0;
	int r = 0;

	/* Counting only (validate's capacity check): another endpoint of the
	 * same identity has the same number of entries. The endpoint's value
	 * is not needed then, and is left without its flags. */
	if (c->count_only && id && c->count_by_id && c->count_by_id[id_index] != SIZE_MAX) {
		c->n_policy_counted += c->count_by_id[id_index];
		snprintf(key, sizeof(key), "%s", l->ep->interface);
		return objset_add(c->out, SL_OBJ_ENDPOINT, key, sizeof(key), &v, sizeof(v));
	}
	for (uint32_t i = 0; r >= 0 && mode != SL_ENFORCE_NEVER && i < st->n_policies; i++) {
		const struct sl_policy *p = &st->policies[i];

		if (!policy_selects(c, i, id))
			continue;
		if (SL_HAS(p, SL_POLICY_INGRESS))
			v.flags |= SL_EP_ENFORCE_INGRESS;
		if (SL_HAS(p, SL_POLICY_EGRESS))
			v.flags |= SL_EP_ENFORCE_EGRESS;
		for (int d = 0; r >= 0 && d < SL_DIRECTION__MAX; d++) {
			uint8_t dir = d == SL_INGRESS || d == SL_INGRESS_DENY ? SL_DIR_INGRESS : SL_DIR_EGRESS;
			bool deny = d == SL_INGRESS_DENY || d == SL_EGRESS_DENY;

			for (uint32_t j = 0; r >= 0 && j < p->rules[d].n; j++)
				r = rule_entries(c, l->id, dir, &p->rules[d].v[j], deny);
		}
	}
	if (r < 0)
		return r;
	if (mode == SL_ENFORCE_ALWAYS)
		v.flags = SL_EP_ENFORCE_INGRESS | SL_EP_ENFORCE_EGRESS;
	/* Merge this endpoint's entries: deny beats allow on the same key;
	 * among allows, the lowest proxy port (a stable choice). */
	if (c->n_pe - first > 1) /* else c->pe may be NULL: NULL + 0 is undefined */
		qsort(c->pe + first, c->n_pe - first, sizeof(*c->pe), pe_cmp);
	{
		size_t w = first;

		for (size_t i = first; i < c->n_pe; i++) {
			struct pentry *e = &c->pe[i];

			if (w > first && !memcmp(&c->pe[w - 1].k, &e->k, sizeof(e->k))) {
				struct sl_policy_value *m = &c->pe[w - 1].v;

				if (e->v.flags & SL_POLICY_DENY) {
					m->flags |= SL_POLICY_DENY;
					m->proxy_port = 0;
				} else if (!(m->flags & SL_POLICY_DENY) && e->v.proxy_port &&
					   (!m->proxy_port || e->v.proxy_port < m->proxy_port)) {
					m->proxy_port = e->v.proxy_port;
				}
				continue;
			}
			c->pe[w++] = *e;
		}
		c->n_pe = w;
	}
	v.policy_levels[SL_DIR_INGRESS] = SL_POLICY_LEVELS_KNOWN;
	v.policy_levels[SL_DIR_EGRESS] = SL_POLICY_LEVELS_KNOWN;
	for (size_t i = first; i < c->n_pe; i++) {
		const struct sl_policy_key *k = &c->pe[i].k;

		v.policy_levels[k->dir] |= (uint8_t)SL_POLICY_LEVEL(sl_policy_key_level(k->identity, k->proto, k->dport));
	}
	if (c->count_only) {
		c->n_policy_counted += c->n_pe - first;
		if (id && c->count_by_id)
			c->count_by_id[id_index] = c->n_pe - first;
		c->n_pe = first;
	}
	snprintf(key, sizeof(key), "%s", l->ep->interface);
	return objset_add(c->out, SL_OBJ_ENDPOINT, key, sizeof(key), &v, sizeof(v));
}

/* ---- ipcache ---- */

static void ipc_key(struct sl_ipcache_key *k, const struct sl_prefix *p)
{
	memset(k, 0, sizeof(*k));
	k->family = p->family;
	k->prefixlen = SL_IPCACHE_PREFIX_BITS(p->len);
	memcpy(k->addr, p->addr, 16);
}

struct ipc {
	struct sl_ipcache_key k;
	struct sl_ipcache_value v;
	int rank; /* which source wins a shared key: endpoint 3, node 2, pod CIDR 1, policy CIDR 0 */
};

static int ipc_cmp(const void *a, const void *b)
{
	const struct ipc *x = a, *y = b;
	int r = memcmp(&x->k, &y->k, sizeof(x->k));

	return r ? r : (x->rank > y->rank ? -1 : x->rank < y->rank);
}

static const struct sl_node *node_by_name(const struct sl_state *st, const char *name)
{
	for (uint32_t i = 0; name && i < st->n_nodes; i++)
		if (streq(st->nodes[i].name, name))
			return &st->nodes[i];
	return NULL;
}

static void remote_info(const struct sl_state *st, const struct sl_node *n, struct sl_ipcache_value *v)
{
	if (!n || (st->node && streq(n->name, st->node)) || !n->ip_pfx.family)
		return;
	v->flags |= SL_IPCACHE_REMOTE;
	v->tunnel_family = n->ip_pfx.family;
	memcpy(v->tunnel_addr, n->ip_pfx.addr, 16);
	v->key = sl_node_key(st, n);
}

static int compile_ipcache(struct ctx *c)
{
	const struct sl_state *st = c->st;
	struct ipc *e = NULL;
	size_t n = 0, cap = 0;
	int r = 0;

#define IPC_ADD(prefix, rank_, init)                                                                   \
	do {                                                                                           \
		if (grow_array((void **)&e, &cap, n + 1, sizeof(*e)) < 0) {                            \
			r = -ENOMEM;                                                                   \
			goto out;                                                                      \
		}                                                                                      \
		memset(&e[n], 0, sizeof(e[n]));                                                        \
		ipc_key(&e[n].k, (prefix));                                                            \
		e[n].rank = (rank_);                                                                   \
		init;                                                                                  \
		n++;                                                                                   \
	} while (0)

	/* Room for every source at once: a doubling array would hold up to
	 * twice what it needs at the peak of a large compile. */
	cap = (size_t)st->n_endpoints * 2 + c->n_cidrs + 1;
	for (uint32_t i = 0; i < st->n_nodes; i++)
		cap += 1 + st->nodes[i].n_pod_cidrs;
	e = malloc(cap * sizeof(*e));
	if (!e)
		return -ENOMEM;
	for (uint32_t i = 0; i < st->n_endpoints; i++) {
		const struct sl_endpoint *ep = &st->endpoints[i];
		const struct sl_prefix *addrs[2] = { &ep->ipv4_pfx, &ep->ipv6_pfx };

		for (int a = 0; a < 2; a++)
			if (addrs[a]->family)
				IPC_ADD(addrs[a], 3, ({
						e[n].v.identity = ep->identity;
						if (!is_local(st, ep))
							remote_info(st, node_by_name(st, ep->node), &e[n].v);
					}));
	}
	for (uint32_t i = 0; i < st->n_nodes; i++) {
		const struct sl_node *nd = &st->nodes[i];
		bool here = st->node && streq(nd->name, st->node);

		if (nd->ip_pfx.family)
			IPC_ADD(&nd->ip_pfx, 2, e[n].v.identity = here ? SL_ID_HOST : SL_ID_REMOTE_NODE);
		for (uint32_t j = 0; !here && nd->pod_cidrs_pfx && j < nd->n_pod_cidrs; j++)
			if (nd->pod_cidrs_pfx[j].family)
				IPC_ADD(&nd->pod_cidrs_pfx[j], 1, ({
						e[n].v.identity = SL_ID_WORLD;
						remote_info(st, nd, &e[n].v);
					}));
	}
	for (size_t i = 0; i < c->n_cidrs; i++)
		IPC_ADD(&c->cidrs[i].p, 0, e[n].v.identity = c->cidrs[i].id);
#undef IPC_ADD
	/* One entry per prefix: the highest rank's identity; a policy CIDR
	 * that is also a remote pod CIDR keeps its identity and gains the
	 * pod CIDR's route. */
	qsort(e, n, sizeof(*e), ipc_cmp);
	r = objset_reserve(c->out, n, n * (sizeof(struct sl_ipcache_key) + sizeof(struct sl_ipcache_value)));
	for (size_t i = 0; r >= 0 && i < n; i++) {
		struct sl_ipcache_value v = e[i].v;

		if (i && !memcmp(&e[i - 1].k, &e[i].k, sizeof(e[i].k)))
			continue;
		for (size_t j = i + 1; j < n && !memcmp(&e[j].k, &e[i].k, sizeof(e[i].k)); j++)
			if (e[i].rank == 1 && e[j].rank == 0)
				v.identity = e[j].v.identity;
		r = objset_add(c->out, SL_OBJ_IPCACHE, &e[i].k, sizeof(e[i].k), &v, sizeof(v));
	}
out:
	free(e);
	return r;
}

/* ---- attachments ---- */

static int compile_attach(struct ctx *c, const char *ifname)
{
	struct sl_attach_key k = { .hook = SL_HOOK_TC_INGRESS };
	struct sl_attach_value v = { .prog = SL_PROG_FROM_ENDPOINT };
	int r;

	if (c->prev)
		v.digest = c->prev->prog_digest[SL_PROG_FROM_ENDPOINT];
	snprintf(k.ifname, sizeof(k.ifname), "%s", ifname);
	r = objset_add(c->out, SL_OBJ_ATTACH, &k, sizeof(k), &v, sizeof(v));
	if (r < 0)
		return r;
	k.hook = SL_HOOK_TC_EGRESS;
	v.prog = SL_PROG_TO_ENDPOINT;
	v.digest = c->prev ? c->prev->prog_digest[SL_PROG_TO_ENDPOINT] : 0;
	return objset_add(c->out, SL_OBJ_ATTACH, &k, sizeof(k), &v, sizeof(v));
}

/* The program of an ATTACH object. Values sit at any alignment in a set's
 * bytes (obj_val), so the value is copied out, not read in place. */
static uint8_t attach_prog(const struct sl_objset *s, const struct sl_obj *o)
{
	struct sl_attach_value v;

	memcpy(&v, obj_val(s, o), sizeof(v));
	return v.prog;
}

/* The maps the state needs: the datapath's when anything but the prefilter
 * is there, the prefilter's with a prefilter, the shared ones with either.
 * An empty state needs none. */
static int compile_maps(struct ctx *c)
{
	const struct sl_compile_prev *prev = c->prev;
	bool need[SL_MAPS__MAX] = { false };
	int r = 0;

	if (!prev || !prev->layouts)
		return 0;
	for (size_t i = 0; i < c->out->n; i++) {
		uint8_t k = c->out->v[i].kind;

		if (k == SL_OBJ_PREFILTER4 || k == SL_OBJ_PREFILTER6)
			need[SL_MAPS_PREFILTER] = true;
		else if (k == SL_OBJ_ATTACH)
			need[attach_prog(c->out, &c->out->v[i]) == SL_PROG_PREFILTER ? SL_MAPS_PREFILTER
										    : SL_MAPS_DATAPATH] = true;
		else if (k != SL_OBJ_XFRM_STATE && k != SL_OBJ_XFRM_POLICY && k != SL_OBJ_ROUTE)
			need[SL_MAPS_DATAPATH] = true;
	}
	need[SL_MAPS_SHARED] = need[SL_MAPS_DATAPATH] || need[SL_MAPS_PREFILTER];
	/* The programs the attachments use, loaded once and pinned. */
	for (int p = 0; p < SL_PROG__MAX && r >= 0; p++) {
		struct sl_prog_key k = { .prog = (uint8_t)p, .digest = prev->prog_digest[p] };
		struct sl_prog_value v = { .current = 1 };
		bool used = false;

		for (size_t i = 0; i < c->out->n && !used; i++)
			used = c->out->v[i].kind == SL_OBJ_ATTACH && attach_prog(c->out, &c->out->v[i]) == p;
		if (used)
			r = objset_add(c->out, SL_OBJ_PROG, &k, sizeof(k), &v, sizeof(v));
	}
	for (size_t i = 0; r >= 0 && i < prev->n_layouts; i++) {
		const struct sl_map_layout *l = &prev->layouts[i];
		struct sl_map_key k = { { 0 } };
		struct sl_map_value v = l->v;

		if (!need[l->group])
			continue;
		if (l->size_from != SL_MAP_SIZE_FIXED)
			v.max_entries = c->st->datapath->map_sizes ? c->st->datapath->map_sizes->size[l->size_from]
								  : sl_map_size_default[l->size_from];
		snprintf(k.name, sizeof(k.name), "%s", l->name);
		r = objset_add(c->out, SL_OBJ_MAP, &k, sizeof(k), &v, sizeof(v));
	}
	return r;
}

static int compile(const struct sl_state *st, const struct sl_compile_prev *prev, struct sl_compile_result *res,
		   bool count_only)
{
	struct sel_cache sc = {};
	struct ctx c = { .st = st, .prev = prev, .out = &res->set, .count_only = count_only, .sel_cache = &sc };
	struct local_ep *l = NULL;
	size_t n = 0;
	int r;

	memset(res, 0, sizeof(*res));
	r = assign_cidr_identities(&c);
	if (r < 0)
		goto out;
	res->n_cidr_identities = c.n_cidrs;
	l = calloc(st->n_endpoints + 1, sizeof(*l));
	if (!l) {
		r = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < st->n_endpoints; i++)
		if (is_local(st, &st->endpoints[i]) && st->endpoints[i].interface)
			l[n++].ep = &st->endpoints[i];
	qsort(l, n, sizeof(*l), ep_id_cmp);
	r = assign_endpoint_ids(&c, l, n);
	if (r >= 0) {
		size_t rules = 0;

		for (uint32_t i = 0; i < st->n_policies; i++)
			for (int d = 0; d < SL_DIRECTION__MAX; d++)
				rules += st->policies[i].rules[d].n;
		c.cap_memo = 16;
		while (c.cap_memo < 2 * rules)
			c.cap_memo *= 2;
		c.memo = calloc(c.cap_memo, sizeof(*c.memo));
		if (!c.memo)
			r = -ENOMEM;
	}
	if (r >= 0 && st->datapath->policy_enforcement != SL_ENFORCE_NEVER)
		r = selects_prepare(&c);
	if (r >= 0 && count_only && st->n_identities) {
		c.count_by_id = malloc(st->n_identities * sizeof(*c.count_by_id));
		if (!c.count_by_id)
			r = -ENOMEM;
		for (uint32_t i = 0; c.count_by_id && i < st->n_identities; i++)
			c.count_by_id[i] = SIZE_MAX;
	}
	for (size_t i = 0; r >= 0 && i < n; i++) {
		r = compile_endpoint(&c, &l[i]);
		if (r >= 0)
			r = compile_attach(&c, l[i].ep->interface);
	}
	if (r >= 0)
		r = objset_reserve(&res->set, c.n_pe,
				   c.n_pe * (sizeof(struct sl_policy_key) + sizeof(struct sl_policy_value)));
	for (size_t i = 0; r >= 0 && i < c.n_pe; i++)
		r = objset_add(&res->set, SL_OBJ_POLICY, &c.pe[i].k, sizeof(c.pe[i].k), &c.pe[i].v, sizeof(c.pe[i].v));
	if (r >= 0)
		r = compile_ipcache(&c);
	if (r >= 0)
		r = prefilter_compile(st, prev ? prev->prog_digest[SL_PROG_PREFILTER] : 0, &res->set);
	if (r >= 0)
		r = sl_lb_compile(st, prev ? &prev->lb : NULL, &res->set);
	if (r >= 0)
		r = sl_compile_encryption(st, prev ? prev->keys : NULL, &res->set);
	if (r >= 0)
		r = compile_maps(&c);
	if (r >= 0) {
		objset_shrink(&res->set);
		objset_sort(&res->set);
	}
out:
	free(l);
	free(c.cidrs);
	free(c.pe);
	for (size_t i = 0; c.memo && i < c.cap_memo; i++)
		free(c.memo[i].peers.v);
	free(c.memo);
	free(c.sel_bits);
	free(c.count_by_id);
	sel_cache_free(&sc);
	if (r < 0)
		sl_compile_result_free(res);
	res->n_policy_counted = c.n_policy_counted;
	return r;
}

int sl_compile(const struct sl_state *st, const struct sl_compile_prev *prev, struct sl_compile_result *res)
{
	return compile(st, prev, res, false);
}

int sl_compile_count(const struct sl_state *st, struct sl_compile_result *res)
{
	return compile(st, NULL, res, true);
}

void sl_compile_result_free(struct sl_compile_result *res)
{
	objset_free(&res->set);
}

int sl_compile_check_capacity(const struct sl_state *st, const struct sl_objset *set, const char *first_file,
			      struct diag_list *d)
{
	return sl_compile_check_capacity_counted(st, set, 0, first_file, d);
}

int sl_compile_check_capacity_counted(const struct sl_state *st, const struct sl_objset *set, size_t policy_counted,
				      const char *first_file, struct diag_list *d)
{
	static const struct {
		int kind, map;
		const char *map_name;
	} t[] = {
		{ SL_OBJ_POLICY, SL_MAP_POLICY, "sluice_policy" },
		{ SL_OBJ_IPCACHE, SL_MAP_IPCACHE, "sluice_ipcache" },
		{ SL_OBJ_ENDPOINT, SL_MAP_ENDPOINTS, "sluice_endpoints" },
		{ SL_OBJ_PREFILTER4, SL_MAP_PREFILTER, "sluice_prefilter_v4" },
		{ SL_OBJ_PREFILTER6, SL_MAP_PREFILTER, "sluice_prefilter_v6" },
		{ SL_OBJ_SERVICE, SL_MAP_SERVICES, "sluice_services" },
		{ SL_OBJ_BACKEND, SL_MAP_BACKENDS, "sluice_backends" },
	};
	const struct sl_map_sizes *ms = st->datapath->map_sizes;
	int bad = 0;

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		size_t need = objset_count(set, t[i].kind) + (t[i].kind == SL_OBJ_POLICY ? policy_counted : 0);
		uint32_t limit = ms ? ms->size[t[i].map] : sl_map_size_default[t[i].map];
		char path[64];

		if (need <= limit)
			continue;
		bad++;
		snprintf(path, sizeof(path), "datapath.mapSizes.%s", sl_map_size_name[t[i].map]);
		if (ms && SL_HAS(ms, t[i].map))
			diag_add(d, DIAG_ERROR, st->datapath_origin.file, SL_AT(ms, t[i].map)->line,
				 SL_AT(ms, t[i].map)->col, path,
				 "the state compiles to %zu entries in map %s, more than its capacity %u", need,
				 t[i].map_name, limit);
		else
			diag_add(d, DIAG_ERROR, st->datapath_origin.file ? st->datapath_origin.file : first_file,
				 st->datapath_origin.file ? st->datapath_origin.mark.line : 1,
				 st->datapath_origin.file ? st->datapath_origin.mark.col : 1, path,
				 "the state compiles to %zu entries in map %s, more than its default capacity %u; "
				 "set datapath.mapSizes.%s",
				 need, t[i].map_name, limit, sl_map_size_name[t[i].map]);
	}
	return bad ? -ENOSPC : 0;
}

/* An object's key and value copied into k and v when it is of that kind
 * and its sizes are klen and vlen: in a set they sit at any alignment
 * (obj_val), and a live set may hold anything. */
static bool obj_read(const struct sl_objset *s, const struct sl_obj *o, enum sl_obj_kind kind, void *k, size_t klen,
		     void *v, size_t vlen)
{
	if (o->kind != kind || o->klen != klen || o->vlen != vlen)
		return false;
	memcpy(k, obj_key(s, o), klen);
	memcpy(v, obj_val(s, o), vlen);
	return true;
}

void sl_compile_prev_from_live(const struct sl_objset *live, struct sl_compile_prev *prev, char (**ret_names)[17])
{
	size_t n_ep = objset_count(live, SL_OBJ_ENDPOINT), n_c = 0, ie = 0;
	char(*names)[17] = calloc(n_ep + 1, sizeof(*names));
	const char **np = calloc(n_ep + 1, sizeof(*np));
	uint16_t *ids = calloc(n_ep + 1, sizeof(*ids));
	struct sl_prefix *cidrs;
	uint32_t *cids;
	struct sl_ipcache_key ik;
	struct sl_ipcache_value iv;
	struct sl_endpoint_value ev;
	char ifname[16];

	for (size_t i = 0; i < live->n; i++)
		if (obj_read(live, &live->v[i], SL_OBJ_IPCACHE, &ik, sizeof(ik), &iv, sizeof(iv)) &&
		    iv.identity >= SL_ID_CIDR_MIN)
			n_c++;
	cidrs = calloc(n_c + 1, sizeof(*cidrs));
	cids = calloc(n_c + 1, sizeof(*cids));
	n_c = 0;
	for (size_t i = 0; names && np && ids && cidrs && cids && i < live->n; i++) {
		const struct sl_obj *o = &live->v[i];

		if (obj_read(live, o, SL_OBJ_ENDPOINT, ifname, sizeof(ifname), &ev, sizeof(ev))) {
			memcpy(names[ie], ifname, 16);
			np[ie] = names[ie];
			ids[ie++] = ev.id;
		} else if (obj_read(live, o, SL_OBJ_IPCACHE, &ik, sizeof(ik), &iv, sizeof(iv))) {
			if (iv.identity < SL_ID_CIDR_MIN)
				continue;
			memset(&cidrs[n_c], 0, sizeof(cidrs[n_c]));
			cidrs[n_c].family = ik.family;
			cidrs[n_c].len = (uint8_t)(ik.prefixlen - 32);
			memcpy(cidrs[n_c].addr, ik.addr, 16);
			cids[n_c++] = iv.identity;
		}
	}
	{
		size_t nb = objset_count(live, SL_OBJ_BACKEND), ns = objset_count(live, SL_OBJ_SERVICE), ib = 0,
		       is = 0;
		struct sl_backend_value *bv = calloc(nb + 1, sizeof(*bv));
		struct sl_service_key *sk = calloc(ns + 1, sizeof(*sk));
		uint32_t *bi = calloc(nb + 1, sizeof(*bi)), *si = calloc(ns + 1, sizeof(*si));

		for (size_t i = 0; bv && sk && bi && si && i < live->n; i++) {
			const struct sl_obj *o = &live->v[i];

			struct sl_backend_key bk;
			struct sl_service_value sv;

			if (obj_read(live, o, SL_OBJ_BACKEND, &bk, sizeof(bk), &bv[ib], sizeof(*bv)))
				bi[ib++] = bk.id;
			else if (obj_read(live, o, SL_OBJ_SERVICE, &sk[is], sizeof(*sk), &sv, sizeof(sv)))
				si[is++] = sv.id;
		}
		prev->lb = (struct sl_lb_prev){ bv, bi, ib, sk, si, is };
	}
	prev->ep_ifnames = (const char *const *)np;
	prev->ep_ids = ids;
	prev->n_ep = ie;
	prev->cidrs = cidrs;
	prev->cidr_ids = cids;
	prev->n_cidr = n_c;
	*ret_names = names;
}

void sl_compile_prev_free(struct sl_compile_prev *prev, char (*names)[17])
{
	free((void *)prev->ep_ifnames);
	free((void *)prev->ep_ids);
	free((void *)prev->cidrs);
	free((void *)prev->cidr_ids);
	free((void *)prev->lb.backends);
	free((void *)prev->lb.backend_ids);
	free((void *)prev->lb.services);
	free((void *)prev->lb.service_ids);
	free(names);
}
