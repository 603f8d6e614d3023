/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The endpoint namespace kind (ipvlan mode): an entry of sluice_ep_netns,
 * by the endpoint's interface: the namespace that holds its ipvlan slave
 * (a path; "" for sluice's own) and the master it hangs off. The kernel
 * keeps no list of namespaces, so this is how sluice finds its programs
 * in them again (datapath/netns.c); it is written before the programs are
 * attached there and removed after they are detached.
 */
#include <stdio.h>
#include <string.h>

#include <sluice/abi.h>

#include "kinds/desc.h"
#include "kinds/map.h"
#include "reconcile/model.h"

static void text(const struct sl_ep_netns_value *e, char *ns, size_t nsz, char *master, size_t msz)
{
	desc_name_copy(ns, nsz, e->netns, sizeof(e->netns));
	desc_name_copy(master, msz, e->master, sizeof(e->master));
}

static void describe(const struct sl_desc_ctx *c, const struct sl_view *v, struct sl_desc *d)
{
	char ns[2][SL_NETNS_PATH_LEN + 1], master[2][17];

	(void)c;
	for (int s = SL_BEFORE; s <= SL_AFTER; s++)
		if (v->val[s])
			text(v->val[s], ns[s], sizeof(ns[s]), master[s], sizeof(master[s]));
	if (v->val[SL_BEFORE] && v->val[SL_AFTER])
		desc_put(d, &d->line, "ipvlan slave of %s in %s -> of %s in %s", str_esc(master[SL_BEFORE]),
			 ns[SL_BEFORE][0] ? str_esc(ns[SL_BEFORE]) : "sluice's namespace", str_esc(master[SL_AFTER]),
			 ns[SL_AFTER][0] ? str_esc(ns[SL_AFTER]) : "sluice's namespace");
	else {
		int s = v->val[SL_AFTER] ? SL_AFTER : SL_BEFORE;

		desc_put(d, &d->line, "ipvlan slave of %s in %s", str_esc(master[s]),
			 ns[s][0] ? str_esc(ns[s]) : "sluice's namespace");
	}
	for (int s = SL_BEFORE; d->fields && s <= SL_AFTER; s++)
		if (v->val[s]) {
			desc_json_s(d, &d->obj[s], "netns", ns[s]);
			desc_json_s(d, &d->obj[s], "ipvlanMaster", master[s]);
		}
}

/* In its endpoint's group, first: the record goes before the programs. */
static void group(const struct sl_desc_ctx *c, const struct sl_view *v, int op, struct sl_plan_group *g)
{
	(void)c;
	(void)op;
	desc_group_ifname(g, v->key);
	g->rank = 0;
}

const struct sl_kind sl_kind_ep_netns = {
	.name = "endpoint namespace",
	.klen = sizeof(struct sl_ep_netns_key),
	.vlen = sizeof(struct sl_ep_netns_value),
	.backend = SL_VIA_ENTRIES,
	.rank = 1,
	.map = SL_MAPNAME_EP_NETNS,
	.maps = sl_maps_datapath,
	.map_size = SL_MAP_ENDPOINTS,
	.device = desc_device_in_key,
	.device_role = "endpoint interface",
	.describe = describe,
	.group = group,
};
