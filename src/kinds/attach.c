/* SPDX-License-Identifier: Apache-2.0 */
/* The attachment kind (attach.h). */
#include "kinds/attach.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "kinds/desc.h"
#include "kinds/map.h"
#include "reconcile/model.h"

_Static_assert(offsetof(struct sl_attach_key, ifname) == 0, "the device name starts the key");

static const char *const hook_name[SL_HOOK__MAX] = {
	[SL_HOOK_TC_INGRESS] = "tc ingress", [SL_HOOK_TC_EGRESS] = "tc egress", [SL_HOOK_XDP] = "xdp"
};
static const char *const xdp_mode_name[SL_XDP__MAX] = { [SL_XDP_NATIVE] = "native", [SL_XDP_GENERIC] = "generic" };

static void changes(const struct sl_attach_value *b, const struct sl_attach_value *a, bool xdp, struct sl_desc *d)
{
	char mb[16], ma[16];
	bool first = true;

	desc_put(d, &d->line, ": ");
	sl_prog_desc_change(d, &first, b->prog, b->digest, a->prog, a->digest);
	if (b->netns_tag != a->netns_tag) {
		desc_sep(d, &first);
		desc_put(d, &d->line, "moved to another network namespace");
	}
	if (xdp && b->xdp_mode != a->xdp_mode) {
		desc_sep(d, &first);
		desc_put(d, &d->line, "mode %s -> %s", DESC_TABLE_NAME(xdp_mode_name, b->xdp_mode, "mode", mb),
			 DESC_TABLE_NAME(xdp_mode_name, a->xdp_mode, "mode", ma));
	}
	if (first)
		desc_put(d, &d->line, "value differs");
}

static void describe(const struct sl_desc_ctx *c, const struct sl_view *v, struct sl_desc *d)
{
	const struct sl_attach_key *k = v->key;
	const struct sl_attach_value *b = v->val[SL_BEFORE], *a = v->val[SL_AFTER];
	bool xdp = k->hook == SL_HOOK_XDP;
	char ifname[17], hbuf[16], ma[16];
	const char *hook = DESC_TABLE_NAME(hook_name, k->hook, "hook", hbuf);

	(void)c;
	desc_name_copy(ifname, sizeof(ifname), k->ifname, sizeof(k->ifname));
	desc_put(d, &d->line, "attach %s %s", hook, ifname);
	if (!a || !b) {
		const struct sl_attach_value *e = a ? a : b;

		if (xdp)
			desc_put(d, &d->line, " %s", DESC_TABLE_NAME(xdp_mode_name, e->xdp_mode, "mode", ma));
	} else {
		changes(b, a, xdp, d);
	}
	for (int s = SL_BEFORE; d->fields && s <= SL_AFTER; s++) {
		const struct sl_attach_value *e = v->val[s];
		struct strbuf *sb = &d->obj[s];
		char digest[17], prog[16], mode[16];

		if (!e)
			continue;
		snprintf(digest, sizeof(digest), "%016" PRIx64, e->digest);
		desc_json_s(d, sb, "device", ifname);
		desc_json_s(d, sb, "hook", hook);
		desc_json_s(d, sb, "program", sl_prog_name(e->prog, prog, sizeof(prog)));
		desc_json_s(d, sb, "digest", digest);
		if (xdp)
			desc_json_s(d, sb, "xdp_mode", DESC_TABLE_NAME(xdp_mode_name, e->xdp_mode, "mode", mode));
	}
}

/* tc attachments in their endpoint's group, after its entries, or with
 * the devices when on a device sluice owns (sluice_vxlan); the XDP one
 * with the prefilter's entries. */
static void group(const struct sl_desc_ctx *c, const struct sl_view *v, int op, struct sl_plan_group *g)
{
	const struct sl_attach_key *k = v->key;

	(void)op;
	g->rank = 2;
	if (k->hook == SL_HOOK_XDP) {
		g->section = SL_SEC_PREFILTER;
	} else if (k->hook == SL_HOOK_TC_INGRESS || k->hook == SL_HOOK_TC_EGRESS) {
		const struct sl_attach_value *av = v->val[SL_AFTER] ? v->val[SL_AFTER] : v->val[SL_BEFORE];

		/* sluice_from_netdev on the underlay device: with the overlay's
		 * device, among the node's devices, not as an endpoint */
		if (desc_owned_device(c, k->ifname) || (av && av->prog == SL_PROG_FROM_NETDEV)) {
			g->section = SL_SEC_DEVICES;
			g->rank = 1;
		} else {
			desc_group_ifname(g, k->ifname);
		}
	}
}

/* The prefilter's maps for the XDP program, the datapath's for the others. */
static int maps(const void *key, const void *val)
{
	struct sl_attach_value v;

	(void)key;
	memcpy(&v, val, sizeof(v)); /* at any alignment */
	return v.prog == SL_PROG_PREFILTER ? SL_MAPS_PREFILTER : SL_MAPS_DATAPATH;
}

const struct sl_kind sl_kind_attach = {
	.name = "attach",
	.klen = sizeof(struct sl_attach_key),
	.vlen = sizeof(struct sl_attach_value),
	.backend = SL_VIA_ATTACH,
	.maps = maps,
	.device = desc_device_in_key, /* struct sl_attach_key starts with the name */
	.device_role = "device",
	.section = SL_SEC_OTHER,
	.describe = describe,
	.group = group,
};
