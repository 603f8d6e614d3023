/* SPDX-License-Identifier: Apache-2.0 */
/* The rule kind (kinds/rule.h): its one formatter, for errors and plan
 * lines, and its row of the kind table. */
#include "kinds/rule.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "kinds/desc.h"

static const char *family_str(uint8_t family)
{
	return family == AF_INET ? "ipv4" : family == AF_INET6 ? "ipv6" : "family ?";
}

/* "pref 81 fwmark 0xa00/0xf00 lookup 20928", "pref 82 iif lo lookup
 * 20929": the key after the family (the input device and the mark when
 * there are) */
static int selector(const struct sl_rule_key *k, char *buf, size_t len)
{
	char iif[sizeof(" iif ") + SL_RULE_IIF_MAX] = "", mark[32] = "";

	if (k->iif[0])
		snprintf(iif, sizeof(iif), " iif %.*s", (int)strnlen(k->iif, sizeof(k->iif)), k->iif);
	if (k->fwmark || k->fwmask)
		snprintf(mark, sizeof(mark), " fwmark %#x/%#x", k->fwmark, k->fwmask);
	return snprintf(buf, len, "pref %u%s%s lookup %u", k->priority, iif, mark, k->table);
}

int sl_rule_name(const struct sl_rule_key *k, const struct sl_rule_value *v, char *buf, size_t len)
{
	char sel[128], act[24] = "";

	selector(k, sel, sizeof(sel));
	if (v && v->action != SL_RULE_LOOKUP)
		snprintf(act, sizeof(act), " action %u", v->action);
	return snprintf(buf, len, "rule %s %s%s", family_str(k->family), sel, act);
}

static void describe(const struct sl_desc_ctx *c, const struct sl_view *v, struct sl_desc *d)
{
	const struct sl_rule_key *k = v->key;
	const struct sl_rule_value *b = v->val[SL_BEFORE], *a = v->val[SL_AFTER];
	char name[192], iif[SL_RULE_IIF_MAX + 1];

	(void)c;
	desc_name_copy(iif, sizeof(iif), k->iif, sizeof(k->iif));
	sl_rule_name(k, NULL, name, sizeof(name));
	desc_put(d, &d->line, "%s", name);
	if (a && b) /* (only the action can differ) */
		desc_put(d, &d->line, ": action %u -> %u (made again)", b->action, a->action);
	else if ((a ? a : b)->action != SL_RULE_LOOKUP)
		desc_put(d, &d->line, " action %u", (a ? a : b)->action);
	for (int s = SL_BEFORE; d->fields && s <= SL_AFTER; s++) {
		const struct sl_rule_value *x = v->val[s];

		if (!x)
			continue;
		desc_json_s(d, &d->obj[s], "family", family_str(k->family));
		desc_json_u(d, &d->obj[s], "priority", k->priority);
		/* the input device, null when the rule has none */
		desc_json_s(d, &d->obj[s], "iif", k->iif[0] ? iif : NULL);
		desc_json_u(d, &d->obj[s], "fwmark", k->fwmark);
		desc_json_u(d, &d->obj[s], "fwmask", k->fwmask);
		desc_json_u(d, &d->obj[s], "table", k->table);
		desc_json_s(d, &d->obj[s], "action", x->action == SL_RULE_LOOKUP ? "lookup" : "unknown");
	}
}

/* Added after the routes of their table, removed before them. */
static void group(const struct sl_desc_ctx *c, const struct sl_view *v, int op, struct sl_plan_group *g)
{
	(void)c;
	desc_group_apply_order(v, op, SL_SEC_ROUTES, g);
}

const struct sl_kind sl_kind_rule = {
	.name = "rule",
	.klen = sizeof(struct sl_rule_key),
	.vlen = sizeof(struct sl_rule_value),
	.backend = SL_VIA_ROUTE,
	.rank = 1, /* after the routes of the table it sends packets to */
	.section = SL_SEC_ROUTES,
	.describe = describe,
	.group = group,
};
