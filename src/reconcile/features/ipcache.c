/* SPDX-License-Identifier: Apache-2.0 */
/* The ipcache: what identity each address has, and the node it lives on
 * when remote. Its entries come from several sections (endpoints' addresses,
 * nodes' ips and pod CIDRs, the CIDRs policies name), each prefix once. */
#include "features.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/abi.h>

#include "common/counts.h"
#include "common/util.h"
#include "reconcile/epdelta.h"
#include "reconcile/encrypt.h"

static const struct sl_node *node_by_name(const struct sl_state *st, const char *name)
{
	int i = nodes_index(st, name);

	return i >= 0 ? &st->nodes[i] : NULL;
}

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

static void remote_info(const struct sl_state *st, const struct sl_node *n, struct sl_ipcache_value *v)
{
	if (!n || (st->node && streq(n->name, st->node)) || !n->ip_pfx.family)
		return;
	v->flags |= SL_IPCACHE_REMOTE;
	v->tunnel_family = n->ip_pfx.family;
	memcpy(v->tunnel_addr, n->ip_pfx.addr, 16);
	v->key = sl_node_key(st, n);
}

int ipcache_compile(const struct sl_state *st, const struct policy_cidr *cidrs, size_t n_cidrs, struct sl_objset *out)
{
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
	cap = (size_t)st->n_endpoints * 2 + n_cidrs + 1;
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
						if (!endpoints_is_local(st, ep))
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
	for (size_t i = 0; i < n_cidrs; i++)
		IPC_ADD(&cidrs[i].p, 0, e[n].v.identity = cidrs[i].id);
#undef IPC_ADD
	/* One entry per prefix: the highest rank's identity; a policy CIDR
	 * that is also a remote pod CIDR keeps its identity and gains the
	 * pod CIDR's route. */
	qsort(e, n, sizeof(*e), ipc_cmp);
	r = objset_reserve(out, n, n * (sizeof(struct sl_ipcache_key) + sizeof(struct sl_ipcache_value)));
	for (size_t i = 0; r >= 0 && i < n; i++) {
		struct sl_ipcache_value v = e[i].v;

		if (i && !memcmp(&e[i - 1].k, &e[i].k, sizeof(e[i].k)))
			continue;
		for (size_t j = i + 1; j < n && !memcmp(&e[j].k, &e[i].k, sizeof(e[i].k)); j++)
			if (e[i].rank == 1 && e[j].rank == 0)
				v.identity = e[j].v.identity;
		r = objset_add(out, SL_OBJ_IPCACHE, &e[i].k, sizeof(e[i].k), &v, sizeof(v));
	}
out:
	free(e);
	return r;
}

/* ---- the incremental compile of remote endpoints (epdelta.h) ---- */

struct sl_ep_index {
	struct counts names;	/* endpoints by name */
	struct counts used;	/* endpoints by identity */
	struct counts others;	/* the ipcache keys nodes and policies give */
	size_t n_ipcache;
};

static uint64_t ipc_key_hash(const struct sl_prefix *p)
{
	struct sl_ipcache_key k;

	ipc_key(&k, p);
	return counts_key(&k, sizeof(k));
}

struct other_ctx {
	struct counts *c;
	int r;
};

static void other_add(const struct sl_prefix *p, void *ctx)
{
	struct other_ctx *o = ctx;

	if (p->family && counts_add(o->c, ipc_key_hash(p), 1) < 0)
		o->r = -ENOMEM;
}

void sl_ep_index_free(struct sl_ep_index *ix)
{
	if (!ix)
		return;
	counts_free(&ix->names);
	counts_free(&ix->used);
	counts_free(&ix->others);
	free(ix);
}

int sl_ep_index_build(const struct sl_objset *verified, const struct sl_state *st, struct sl_ep_index **ret)
{
	struct sl_ep_index *ix = calloc(1, sizeof(*ix));
	int r = ix ? 0 : -ENOMEM;

	if (ix)
		ix->n_ipcache = objset_count(verified, SL_OBJ_IPCACHE);
	/* sized once: no table grown by doubling on the way */
	if (ix && counts_reserve(&ix->names, st->n_endpoints) < 0)
		r = -ENOMEM;
	for (uint32_t i = 0; r >= 0 && i < st->n_endpoints; i++) {
		const struct sl_endpoint *ep = &st->endpoints[i];

		if ((ep->name && counts_add(&ix->names, counts_key(ep->name, strlen(ep->name)), 1) < 0) ||
		    counts_add(&ix->used, (uint64_t)ep->identity + 1, 1) < 0)
			r = -ENOMEM;
	}
	if (r >= 0) {
		struct other_ctx o = { &ix->others, 0 };

		for (uint32_t i = 0; i < st->n_nodes; i++) {
			const struct sl_node *nd = &st->nodes[i];

			other_add(&nd->ip_pfx, &o);
			for (uint32_t j = 0; nd->pod_cidrs_pfx && j < nd->n_pod_cidrs; j++)
				other_add(&nd->pod_cidrs_pfx[j], &o);
		}
		policies_each_prefix(st, other_add, &o);
		r = o.r;
	}
	if (r < 0) {
		sl_ep_index_free(ix);
		ix = NULL;
	}
	*ret = ix;
	return r;
}

/* The ipcache keys of an endpoint (its addresses), into k; how many. */
static int ep_keys(const struct sl_endpoint *ep, struct sl_ipcache_key k[2])
{
	int n = 0;

	if (ep->ipv4_pfx.family)
		ipc_key(&k[n++], &ep->ipv4_pfx);
	if (ep->ipv6_pfx.family)
		ipc_key(&k[n++], &ep->ipv6_pfx);
	return n;
}

static int ipc_key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct sl_ipcache_key));
}

int sl_ep_delta(struct sl_ep_index *ix, const struct sl_state *st, const struct sl_objset *verified,
		const struct sl_endpoint *old, size_t n_old, const struct sl_endpoint *nw, size_t n_new,
		struct sl_objset *want, struct sl_objset *have)
{
	struct sl_ipcache_key *okeys = calloc(2 * n_old + 1, sizeof(*okeys));
	uint32_t *ids = calloc(n_old + n_new + 1, sizeof(*ids)), *before = calloc(n_old + n_new + 1, sizeof(*before));
	size_t n_okeys = 0, n_ids = n_old + n_new, n_keys_new = 0;
	int r = okeys && ids && before ? 0 : -ENOMEM;

	/* remote endpoints only: a local one has a device, programs, an id */
	for (size_t i = 0; r >= 0 && i < n_old + n_new; i++) {
		const struct sl_endpoint *ep = i < n_old ? &old[i] : &nw[i - n_old];

		if (endpoints_is_local(st, ep) || !node_by_name(st, ep->node))
			r = -EAGAIN;
		else
			ids[i] = ep->identity;
	}
	/* names: the old ones go, the new ones must be alone */
	for (size_t i = 0; r >= 0 && i < n_old; i++)
		if (old[i].name && counts_add(&ix->names, counts_key(old[i].name, strlen(old[i].name)), -1) < 0)
			r = -ENOMEM;
	for (size_t i = 0; r >= 0 && i < n_new; i++) {
		long c = nw[i].name ? counts_add(&ix->names, counts_key(nw[i].name, strlen(nw[i].name)), 1) : 0;

		r = c < 0 ? -ENOMEM : c > 1 ? -EAGAIN : 0;
	}
	/* Identities in use: one that gains its first endpoint or loses its
	 * last changes what the policies' selectors match among endpoints
	 * (their warnings): the whole state's way. */
	for (size_t i = 0; r >= 0 && i < n_ids; i++)
		before[i] = counts_get(&ix->used, (uint64_t)ids[i] + 1);
	for (size_t i = 0; r >= 0 && i < n_ids; i++)
		if (counts_add(&ix->used, (uint64_t)ids[i] + 1, i < n_old ? -1 : 1) < 0)
			r = -ENOMEM;
	for (size_t i = 0; r >= 0 && i < n_ids; i++)
		if (!before[i] != !counts_get(&ix->used, (uint64_t)ids[i] + 1))
			r = -EAGAIN;
	/* the old entries: as verified holds them, and the endpoint's alone */
	for (size_t i = 0; r >= 0 && i < n_old; i++) {
		struct sl_ipcache_key k[2];
		int n = ep_keys(&old[i], k);

		for (int a = 0; r >= 0 && a < n; a++) {
			const struct sl_obj *o = objset_find(verified, SL_OBJ_IPCACHE, &k[a], sizeof(k[a]));

			if (!o || counts_get(&ix->others, counts_key(&k[a], sizeof(k[a]))))
				r = -EAGAIN;
			else
				r = objset_add(have, SL_OBJ_IPCACHE, &k[a], sizeof(k[a]), obj_val(verified, o), o->vlen);
			okeys[n_okeys++] = k[a];
		}
	}
	if (r >= 0 && n_okeys > 1)
		qsort(okeys, n_okeys, sizeof(*okeys), ipc_key_cmp);
	/* the new ones, as ipcache_compile makes them */
	for (size_t i = 0; r >= 0 && i < n_new; i++) {
		struct sl_ipcache_key k[2];
		int n = ep_keys(&nw[i], k);

		for (int a = 0; r >= 0 && a < n; a++) {
			struct sl_ipcache_value v = { .identity = nw[i].identity };

			if (counts_get(&ix->others, counts_key(&k[a], sizeof(k[a]))) ||
			    (objset_find(verified, SL_OBJ_IPCACHE, &k[a], sizeof(k[a])) &&
			     !bsearch(&k[a], okeys, n_okeys, sizeof(*okeys), ipc_key_cmp))) {
				r = -EAGAIN; /* another source's prefix: the whole compile ranks them */
				break;
			}
			remote_info(st, node_by_name(st, nw[i].node), &v);
			r = objset_add(want, SL_OBJ_IPCACHE, &k[a], sizeof(k[a]), &v, sizeof(v));
			n_keys_new++;
		}
	}
	if (r >= 0) {
		ix->n_ipcache = ix->n_ipcache - n_okeys + n_keys_new;
		if (ix->n_ipcache > st->datapath->map_sizes->size[SL_MAP_IPCACHE])
			r = -EAGAIN;
	}
	if (r >= 0) {
		objset_sort(want);
		objset_sort(have);
	}
	free(okeys);
	free(ids);
	free(before);
	return r;
}
