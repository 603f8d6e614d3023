/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The name kinds: what the kernel keeps of the state's names so that the
 * monitor can say them (sluice has no record but the kernel):
 *   endpoint name   an entry of sluice_ep_names, by the endpoint's
 *                   interface (the map is keyed by its ifindex): the
 *                   endpoint's name;
 *   identity labels an entry of sluice_id_labels, by identity: its labels
 *                   as text ("app=web,env=prod"); a CIDR identity has
 *                   none (the monitor finds its prefix in the ipcache).
 */
#include <stdio.h>
#include <string.h>

#include <sluice/abi.h>

#include "kinds/desc.h"
#include "kinds/map.h"
#include "reconcile/model.h"

static void text_of(const void *val, size_t len, char *buf, size_t size)
{
	desc_name_copy(buf, size, val, len);
}

static void describe_ep(const struct sl_desc_ctx *c, const struct sl_view *v, struct sl_desc *d)
{
	char b[SL_EP_NAME_LEN + 1], a[SL_EP_NAME_LEN + 1];

	(void)c;
	if (v->val[SL_BEFORE])
		text_of(v->val[SL_BEFORE], SL_EP_NAME_LEN, b, sizeof(b));
	if (v->val[SL_AFTER])
		text_of(v->val[SL_AFTER], SL_EP_NAME_LEN, a, sizeof(a));
	if (v->val[SL_BEFORE] && v->val[SL_AFTER])
		desc_put(d, &d->line, "name %s -> %s", str_esc(b), str_esc(a));
	else
		desc_put(d, &d->line, "name %s", str_esc(v->val[SL_AFTER] ? a : b));
	for (int s = SL_BEFORE; d->fields && s <= SL_AFTER; s++)
		if (v->val[s])
			desc_json_s(d, &d->obj[s], "name", s == SL_BEFORE ? b : a);
}

/* In its endpoint's group, after the endpoint and its attachments. */
static void group_ep(const struct sl_desc_ctx *c, const struct sl_view *v, int op, struct sl_plan_group *g)
{
	(void)c;
	(void)op;
	desc_group_ifname(g, v->key);
	g->rank = 9;
}

const struct sl_kind sl_kind_ep_name = {
	.name = "endpoint name",
	.klen = 16,
	.vlen = sizeof(struct sl_ep_name_value),
	.flags = SL_KIND_KEY_IFNAME,
	.backend = SL_VIA_ENTRIES,
	.rank = 2,
	.map = SL_MAPNAME_EP_NAMES,
	.maps = sl_maps_datapath,
	.map_size = SL_MAP_ENDPOINTS,
	.device = desc_device_in_key,
	.device_role = "endpoint interface",
	.describe = describe_ep,
	.group = group_ep,
};

static void describe_labels(const struct sl_desc_ctx *c, const struct sl_view *v, struct sl_desc *d)
{
	char b[SL_LABELS_LEN + 1], a[SL_LABELS_LEN + 1];
	uint32_t id;

	(void)c;
	memcpy(&id, v->key, sizeof(id));
	if (v->val[SL_BEFORE])
		text_of(v->val[SL_BEFORE], SL_LABELS_LEN, b, sizeof(b));
	if (v->val[SL_AFTER])
		text_of(v->val[SL_AFTER], SL_LABELS_LEN, a, sizeof(a));
	desc_put(d, &d->line, "identity %u labels ", id);
	if (v->val[SL_BEFORE] && v->val[SL_AFTER])
		desc_put(d, &d->line, "%s -> %s", str_esc(b), str_esc(a));
	else
		desc_put(d, &d->line, "%s", str_esc(v->val[SL_AFTER] ? a : b));
	for (int s = SL_BEFORE; d->fields && s <= SL_AFTER; s++) {
		if (!v->val[s])
			continue;
		desc_json_u(d, &d->obj[s], "identity", id);
		desc_json_s(d, &d->obj[s], "labels", s == SL_BEFORE ? b : a);
	}
}

const struct sl_kind sl_kind_id_labels = {
	.name = "identity labels",
	.klen = 4,
	.vlen = sizeof(struct sl_id_labels_value),
	.backend = SL_VIA_ENTRIES,
	.rank = 0,
	.map = SL_MAPNAME_ID_LABELS,
	.maps = sl_maps_datapath,
	.map_size = SL_MAP_IPCACHE,
	.section = SL_SEC_IDENTITIES,
	.describe = describe_labels,
};
