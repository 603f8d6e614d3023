/* SPDX-License-Identifier: Apache-2.0 */
/* The prefilter kinds: entries of sluice_prefilter_v4 and _v6, (prefix
 * length, address) -> 1, the prefixes the XDP program drops. */
#include <stdio.h>
#include <string.h>

#include "kinds/desc.h"
#include "kinds/map.h"
#include "reconcile/model.h"

static void describe(const struct sl_desc_ctx *c, const struct sl_view *v, struct sl_desc *d)
{
	const uint8_t *b = v->val[SL_BEFORE], *a = v->val[SL_AFTER];
	uint32_t len;
	char prefix[80];

	(void)c;
	memcpy(&len, v->key, sizeof(len));
	desc_prefix_format(v->kind == SL_OBJ_PREFILTER4 ? SL_FAMILY_IPV4 : SL_FAMILY_IPV6, len,
			   (const uint8_t *)v->key + sizeof(len), prefix, sizeof(prefix));
	desc_put(d, &d->line, "prefilter deny %s", prefix);
	if (a && b)
		desc_put(d, &d->line, ": value %u -> %u", *b, *a);
	for (int s = SL_BEFORE; d->fields && s <= SL_AFTER; s++) {
		if (!v->val[s])
			continue;
		desc_json_s(d, &d->obj[s], "prefix", prefix);
		desc_json_u(d, &d->obj[s], "value", *(const uint8_t *)v->val[s]);
	}
}

/* IPv4 entries, then IPv6 ones, then the XDP attachment (attach.c). */
static void group(const struct sl_desc_ctx *c, const struct sl_view *v, int op, struct sl_plan_group *g)
{
	(void)c;
	(void)op;
	g->section = SL_SEC_PREFILTER;
	g->rank = v->kind == SL_OBJ_PREFILTER4 ? 0 : 1;
}

const struct sl_kind sl_kind_prefilter4 = {
	.name = "prefilter",
	.klen = 4 + 4,
	.vlen = 1,
	.backend = SL_VIA_ENTRIES,
	.rank = 3,
	.map = SL_MAPNAME_PREFILTER_V4,
	.maps = sl_maps_prefilter,
	.map_size = SL_MAP_PREFILTER,
	.describe = describe,
	.group = group,
};

const struct sl_kind sl_kind_prefilter6 = {
	.name = "prefilter",
	.klen = 4 + 16,
	.vlen = 1,
	.backend = SL_VIA_ENTRIES,
	.rank = 4,
	.map = SL_MAPNAME_PREFILTER_V6,
	.maps = sl_maps_prefilter,
	.map_size = SL_MAP_PREFILTER,
	.describe = describe,
	.group = group,
};
