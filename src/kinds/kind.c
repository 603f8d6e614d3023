/* SPDX-License-Identifier: Apache-2.0 */
/* The kind table (kind.h): one row per kind, each filled by its module. */
#include "kinds/kind.h"

#include <string.h>

#include <sluice/abi.h>


_Static_assert(sizeof(struct sl_service_value) <= SL_KIND_VLEN_MAX, "SL_KIND_VLEN_MAX");

static const struct sl_kind *const kinds[SL_OBJ__MAX] = {
	[SL_OBJ_ENDPOINT] = &sl_kind_endpoint,	     [SL_OBJ_IPCACHE] = &sl_kind_ipcache,
	[SL_OBJ_POLICY] = &sl_kind_policy,	     [SL_OBJ_PREFILTER4] = &sl_kind_prefilter4,
	[SL_OBJ_PREFILTER6] = &sl_kind_prefilter6,   [SL_OBJ_ATTACH] = &sl_kind_attach,
	[SL_OBJ_MAP] = &sl_kind_map,		     [SL_OBJ_PROG] = &sl_kind_prog,
	[SL_OBJ_BACKEND] = &sl_kind_backend,	     [SL_OBJ_SERVICE] = &sl_kind_service,
	[SL_OBJ_XFRM_STATE] = &sl_kind_xfrm_state,   [SL_OBJ_XFRM_POLICY] = &sl_kind_xfrm_policy,
	[SL_OBJ_ROUTE] = &sl_kind_route,	     [SL_OBJ_DEVICE] = &sl_kind_device,
	[SL_OBJ_RULE] = &sl_kind_rule,		     [SL_OBJ_SOCKHOOK] = &sl_kind_sockhook,
	[SL_OBJ_EP_NAME] = &sl_kind_ep_name,	     [SL_OBJ_ID_LABELS] = &sl_kind_id_labels,
	[SL_OBJ_EP_NETNS] = &sl_kind_ep_netns,
};

const struct sl_kind *sl_kind(unsigned kind)
{
	return kind < SL_OBJ__MAX ? kinds[kind] : NULL;
}

bool sl_kind_fits(unsigned kind, size_t klen, size_t vlen)
{
	const struct sl_kind *k = sl_kind(kind);

	return k && k->klen == klen && (k->pack ? vlen >= 1 && vlen <= k->vlen : k->vlen == vlen);
}

const void *sl_kind_value(unsigned kind, const void *val, size_t len, void *buf)
{
	const struct sl_kind *k = sl_kind(kind);

	if (!k || !k->unpack)
		return k && len == k->vlen ? val : NULL;
	return k->unpack(val, len, buf) ? buf : NULL;
}

const char *sl_kind_name(unsigned kind)
{
	const struct sl_kind *k = sl_kind(kind);

	return k ? k->name : "unknown";
}

size_t sl_kind_order(enum sl_kind_backend backend, uint8_t ret_kinds[SL_OBJ__MAX])
{
	size_t n = 0;

	for (unsigned k = 0; k < SL_OBJ__MAX; k++) {
		size_t i = n++;

		if (kinds[k]->backend != backend) {
			n--;
			continue;
		}
		/* an insertion sort: a dozen kinds */
		for (; i > 0 && kinds[ret_kinds[i - 1]]->rank > kinds[k]->rank; i--)
			ret_kinds[i] = ret_kinds[i - 1];
		ret_kinds[i] = (uint8_t)k;
	}
	return n;
}

int sl_kind_by_map(const char *map)
{
	for (unsigned k = 0; k < SL_OBJ__MAX; k++)
		if (kinds[k]->map && !strcmp(kinds[k]->map, map))
			return (int)k;
	return -1;
}
