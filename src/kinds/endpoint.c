/* SPDX-License-Identifier: Apache-2.0 */
/* The endpoint kind: an entry of sluice_endpoints, by interface name. */
#include <stdio.h>
#include <string.h>

#include "kinds/desc.h"
#include "kinds/map.h"
#include "reconcile/model.h"

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

static void changes(const struct sl_desc_ctx *c, const struct sl_endpoint_value *b, const struct sl_endpoint_value *a,
		    struct sl_desc *d)
{
	static const char *const dir[2] = { "ingress", "egress" };
	bool first = true;

	desc_put(d, &d->line, "endpoint: ");
	desc_identity_change(c, d, &first, b->identity, a->identity);
	if (b->id != a->id) {
		desc_sep(d, &first);
		desc_put(d, &d->line, "id %u -> %u", b->id, a->id);
	}
	if (strcmp(enforce_name(b->flags), enforce_name(a->flags))) {
		desc_sep(d, &first);
		desc_put(d, &d->line, "enforce %s -> %s", enforce_name(b->flags), enforce_name(a->flags));
	}
	for (int i = 0; i < 2; i++) {
		char lb[32], la[32];

		if (b->policy_levels[i] == a->policy_levels[i])
			continue;
		levels_format(b->policy_levels[i], lb, sizeof(lb));
		levels_format(a->policy_levels[i], la, sizeof(la));
		desc_sep(d, &first);
		desc_put(d, &d->line, "%s levels %s -> %s", dir[i], lb, la);
	}
	if (first)
		desc_put(d, &d->line, "value differs");
}

static void fields(const struct sl_endpoint_value *e, const char *ifname, struct sl_desc *d, struct strbuf *sb)
{
	static const char *const dir[2] = { "ingress", "egress" };

	desc_json_s(d, sb, "interface", ifname);
	desc_json_u(d, sb, "id", e->id);
	desc_json_u(d, sb, "identity", e->identity);
	desc_json_bool(d, sb, "enforce_ingress", e->flags & SL_EP_ENFORCE_INGRESS);
	desc_json_bool(d, sb, "enforce_egress", e->flags & SL_EP_ENFORCE_EGRESS);
	/* the levels with entries, or null: not filled in, every level is looked up */
	for (int i = 0; i < 2; i++) {
		uint8_t m = e->policy_levels[i];
		char name[32];

		snprintf(name, sizeof(name), "%s_levels", dir[i]);
		desc_json_key(d, sb, name);
		if (!(m & SL_POLICY_LEVELS_KNOWN)) {
			desc_put(d, sb, "null");
			continue;
		}
		desc_put(d, sb, "[");
		for (int l = 1, n = 0; l <= 6; l++)
			if (m & SL_POLICY_LEVEL(l))
				desc_put(d, sb, "%s%d", n++ ? "," : "", l);
		desc_put(d, sb, "]");
	}
}

static void describe(const struct sl_desc_ctx *c, const struct sl_view *v, struct sl_desc *d)
{
	const struct sl_endpoint_value *b = v->val[SL_BEFORE], *a = v->val[SL_AFTER];
	char ifname[17];

	if (!a || !b) {
		const struct sl_endpoint_value *e = a ? a : b;

		desc_put(d, &d->line, "endpoint identity ");
		desc_put_identity(c, d, &d->line, e->identity);
		desc_put(d, &d->line, " enforce %s", enforce_name(e->flags));
	} else {
		changes(c, b, a, d);
	}
	desc_name_copy(ifname, sizeof(ifname), v->key, 16);
	for (int s = SL_BEFORE; d->fields && s <= SL_AFTER; s++)
		if (v->val[s])
			fields(v->val[s], ifname, d, &d->obj[s]);
}

static void group(const struct sl_desc_ctx *c, const struct sl_view *v, int op, struct sl_plan_group *g)
{
	(void)c;
	(void)op;
	desc_group_ifname(g, v->key);
}

const struct sl_kind sl_kind_endpoint = {
	.name = "endpoint",
	.klen = 16,
	.vlen = sizeof(struct sl_endpoint_value),
	.flags = SL_KIND_KEY_IFNAME,
	.backend = SL_VIA_ENTRIES,
	.rank = 2, /* after the ipcache and policy entries its programs look up */
	.map = SL_MAPNAME_ENDPOINTS,
	.maps = sl_maps_datapath,
	.map_size = SL_MAP_ENDPOINTS,
	.device = desc_device_in_key,
	.device_role = "endpoint interface",
	.describe = describe,
	.group = group,
};
