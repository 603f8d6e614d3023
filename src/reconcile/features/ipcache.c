/* SPDX-License-Identifier: Apache-2.0 */
/* The ipcache: what identity each address has, and the node it lives on
 * when remote. Its entries come from several sections (endpoints' addresses,
 * nodes' ips and pod CIDRs, the CIDRs policies name), each prefix once. */
#include "features.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/abi.h>

#include "common/util.h"
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
