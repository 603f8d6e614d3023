/* SPDX-License-Identifier: Apache-2.0 */
/* The validation driver: each section's checks are its feature's
 * <feature>_validate() (features/), called here in a fixed order; what needs
 * several sections at once (the capacity of the maps) is checked here. */
#include "validate.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/abi.h>

#include "features/common.h"
#include "features/features.h"
#include "net.h"

/* ---- capacity ---- */

static void capacity(struct val *v, unsigned map, size_t need, const char *file, const struct sl_mark *fallback)
{
	const struct sl_datapath *dp = v->st->datapath;
	const struct sl_map_sizes *ms = dp->map_sizes;
	uint32_t limit = ms->size[map];
	size_t saved;

	if (need <= limit)
		return;
	saved = v_path(v, "datapath.mapSizes.%s", sl_map_size_name[map]);
	if (SL_HAS(ms, map))
		v_err(v, v->st->datapath_origin.file, SL_AT(ms, map), NULL,
		  "the state needs %zu entries in map %s, more than its capacity %" PRIu32, need,
		  sl_map_size_name[map], limit);
	else
		v_err(v, file, fallback, NULL,
		  "the state needs %zu entries in map %s, more than its default capacity %" PRIu32
		  "; set datapath.mapSizes.%s",
		  need, sl_map_size_name[map], limit, sl_map_size_name[map]);
	v_pop(v, saved);
}

static int prefix_cmp_v(const void *a, const void *b)
{
	return sl_prefix_cmp(a, b);
}

struct keys {
	struct sl_prefix *v;
	size_t n, cap;
};

static void add_key(const struct sl_prefix *p, void *ctx)
{
	struct keys *k = ctx;

	if (p->family && grow_array((void **)&k->v, &k->cap, k->n + 1, sizeof(*k->v)) >= 0)
		k->v[k->n++] = *p;
}

static void validate_capacity(struct val *v, size_t backends)
{
	struct sl_state *st = v->st;
	size_t local = 0, n = 0, cap = 0, uniq = 0, remote_cidrs = 0;
	struct sl_prefix *keys = NULL;
	struct keys pk;

	/* The ipcache's prefixes, each once. (A list's prefixes are NULL when
	 * validation ran out of memory.) */
#define ADD_KEY(p)                                                                                       \
	do {                                                                                             \
		const struct sl_prefix *_p = (p);                                                        \
		if (_p->family && grow_array((void **)&keys, &cap, n + 1, sizeof(*keys)) >= 0)           \
			keys[n++] = *_p;                                                                 \
	} while (0)

	for (uint32_t i = 0; i < st->n_endpoints; i++) {
		const struct sl_endpoint *ep = &st->endpoints[i];

		if (!ep->node || (v->node && streq(ep->node, v->node)))
			local++;
		ADD_KEY(&ep->ipv4_pfx);
		ADD_KEY(&ep->ipv6_pfx);
	}
	for (uint32_t i = 0; i < st->n_nodes; i++) {
		for (uint32_t j = 0; st->nodes[i].pod_cidrs_pfx && j < st->nodes[i].n_pod_cidrs; j++)
			ADD_KEY(&st->nodes[i].pod_cidrs_pfx[j]);
		if ((int)i != v->node_idx)
			remote_cidrs += st->nodes[i].n_pod_cidrs;
	}
#undef ADD_KEY
	pk = (struct keys){ keys, n, cap };
	policies_each_prefix(st, add_key, &pk);
	keys = pk.v;
	n = pk.n;
	if (n > 1)
		qsort(keys, n, sizeof(*keys), prefix_cmp_v);
	for (size_t i = 0; i < n; i++)
		if (!i || sl_prefix_cmp(&keys[i], &keys[i - 1]) != 0)
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

static struct val val_new(struct sl_load *ld, const struct sl_validate_opts *opts)
{
	return (struct val){ .ld = ld, .st = &ld->state, .d = &ld->diags, .o = opts, .node_idx = -1 };
}

/* What a validation held, given back; its result. */
static int val_end(struct val *v)
{
	for (size_t i = 0; i < v->lidx_cap; i++)
		free(v->lidx[i].v);
	free(v->lidx);
	free(v->ids);
	free(v->id_used);
	strbuf_free(&v->path);
	arena_free(&v->scratch);
	return v->oom || v->d->out_of_memory ? -ENOMEM : 0;
}

int sl_validate(struct sl_load *ld, const struct sl_validate_opts *opts)
{
	struct val v = val_new(ld, opts);
	size_t backends = 0;

	nodes_validate(&v);
	nodes_resolve_this_node(&v);
	datapath_validate(&v);
	prefilter_validate(&v);
	identities_validate(&v);
	if (!v.oom) {
		endpoints_validate(&v);
		policies_validate(&v);
	}
	services_validate(&v, &backends);
	encryption_validate(&v);
	validate_capacity(&v, backends);
	return val_end(&v);
}

int sl_validate_section(struct sl_load *ld, unsigned section, const struct sl_validate_opts *opts)
{
	struct val v = val_new(ld, opts);
	size_t backends = 0;

	if (section == SL_DOC_SERVICES) {
		services_validate(&v, &backends);
	} else {
		/* which node this is, and the identities' index (the nodes and
		 * identities were checked with the whole state: read only) */
		nodes_resolve_this_node(&v);
		identities_validate(&v);
		if (!v.oom)
			endpoints_validate(&v);
	}
	return val_end(&v);
}
