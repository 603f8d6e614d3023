/* SPDX-License-Identifier: Apache-2.0 */
/* The device kind (device.h): its formatter and its row. */
#include "kinds/device.h"

#include <stdio.h>
#include <string.h>

#include "kinds/desc.h"

bool sl_device_change_in_place(const struct sl_device_value *have, const struct sl_device_value *want)
{
	return have->type == want->type && have->port == want->port && have->external == want->external &&
	       !memcmp(have->underlay, want->underlay, sizeof(have->underlay));
}

/* "vxlan port 8472 mtu 1450", "vxlan port 8472 mtu 1450 down", "... arp"
 * (what sluice's device is not) */
static int settings(const struct sl_device_value *v, char *buf, size_t len)
{
	return snprintf(buf, len, "%s port %u mtu %u%s%s%s", v->type == SL_DEVICE_VXLAN ? "vxlan" : "type ?", v->port,
			v->mtu, v->up ? "" : " down", v->external ? "" : " not external", v->noarp ? "" : " arp");
}

int sl_device_name(const struct sl_device_key *k, const struct sl_device_value *v, char *buf, size_t len)
{
	char name[17], s[96] = "";

	desc_name_copy(name, sizeof(name), k->name, sizeof(k->name));
	if (v)
		settings(v, s, sizeof(s));
	return snprintf(buf, len, "device %s%s%s", name, v ? " " : "", s);
}

static void describe(const struct sl_desc_ctx *c, const struct sl_view *v, struct sl_desc *d)
{
	const struct sl_device_value *b = v->val[SL_BEFORE], *a = v->val[SL_AFTER];
	char name[128], sb[96];

	(void)c;
	if (a && b) {
		sl_device_name(v->key, NULL, name, sizeof(name));
		settings(b, sb, sizeof(sb));
		desc_put(d, &d->line, "%s: %s -> ", name, sb);
		settings(a, sb, sizeof(sb));
		if (memcmp(b->underlay, a->underlay, sizeof(a->underlay))) {
			char ub[17], ua[17];

			desc_name_copy(ub, sizeof(ub), b->underlay, sizeof(b->underlay));
			desc_name_copy(ua, sizeof(ua), a->underlay, sizeof(a->underlay));
			desc_put(d, &d->line, "%s, underlay %s -> %s", sb, ub[0] ? ub : "none", ua[0] ? ua : "none");
		} else {
			desc_put(d, &d->line, "%s", sb);
		}
		desc_put(d, &d->line, "%s", sl_device_change_in_place(b, a) ? "" : " (made again)");
	} else {
		sl_device_name(v->key, a ? a : b, name, sizeof(name));
		desc_put(d, &d->line, "%s", name);
	}
	for (int s = SL_BEFORE; d->fields && s <= SL_AFTER; s++) {
		const struct sl_device_value *x = v->val[s];
		char n[17];

		if (!x)
			continue;
		desc_name_copy(n, sizeof(n), v->key, 16);
		desc_json_s(d, &d->obj[s], "name", n);
		desc_json_s(d, &d->obj[s], "type", x->type == SL_DEVICE_VXLAN ? "vxlan" : "unknown");
		desc_json_u(d, &d->obj[s], "port", x->port);
		desc_json_u(d, &d->obj[s], "mtu", x->mtu);
		desc_json_bool(d, &d->obj[s], "up", x->up);
		desc_json_bool(d, &d->obj[s], "external", x->external);
		desc_json_bool(d, &d->obj[s], "noarp", x->noarp);
		desc_name_copy(n, sizeof(n), x->underlay, sizeof(x->underlay));
		desc_json_s(d, &d->obj[s], "underlay", n);
	}
}

const struct sl_kind sl_kind_device = {
	.name = "device",
	.klen = sizeof(struct sl_device_key),
	.vlen = sizeof(struct sl_device_value),
	.backend = SL_VIA_LINK,
	.section = SL_SEC_DEVICES,
	.describe = describe,
};
