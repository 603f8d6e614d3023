/* SPDX-License-Identifier: Apache-2.0 */
/* The policy kind: an entry of sluice_policy, (endpoint id, direction,
 * peer identity, protocol, port) -> verdict. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "kinds/desc.h"
#include "kinds/map.h"
#include "reconcile/model.h"

/* "allow", "deny", "allow via proxy 15001". */
static void verdict_format(const struct sl_policy_value *v, char *buf, size_t len)
{
	if (v->flags & SL_POLICY_DENY)
		snprintf(buf, len, "deny");
	else if (v->proxy_port)
		snprintf(buf, len, "allow via proxy %u", v->proxy_port);
	else
		snprintf(buf, len, "allow");
}

static void describe(const struct sl_desc_ctx *c, const struct sl_view *v, struct sl_desc *d)
{
	const struct sl_policy_key *k = v->key;
	const struct sl_policy_value *b = v->val[SL_BEFORE], *a = v->val[SL_AFTER];
	uint16_t port = ntohs(k->dport);
	char dirbuf[16], pbuf[8], vb[32], va[32];
	const char *dir = k->dir == SL_DIR_INGRESS ? "ingress" : k->dir == SL_DIR_EGRESS ? "egress" : NULL;
	const char *proto = desc_proto_name(k->proto, pbuf, sizeof(pbuf));

	if (!dir) {
		snprintf(dirbuf, sizeof(dirbuf), "dir %u", k->dir);
		dir = dirbuf;
	}
	desc_put(d, &d->line, "policy %s ", dir);
	if (k->identity) {
		desc_put(d, &d->line, "identity ");
		desc_put_identity(c, d, &d->line, k->identity);
	} else {
		desc_put(d, &d->line, "any peer");
	}
	/* Ports: "80/TCP"; a protocol's every port "any/TCP"; every protocol
	 * "any"; an ICMP type (abi.h: the port stands for it) "type 8/ICMP". */
	if ((k->proto == IPPROTO_ICMP || k->proto == IPPROTO_ICMPV6) && sl_policy_icmp_type(port) >= 0)
		desc_put(d, &d->line, " type %d/%s", sl_policy_icmp_type(port), proto);
	else if (k->proto && port)
		desc_put(d, &d->line, " %u/%s", port, proto);
	else if (k->proto)
		desc_put(d, &d->line, " any/%s", proto);
	else if (port)
		desc_put(d, &d->line, " %u/any", port);
	else
		desc_put(d, &d->line, " any");
	if (b)
		verdict_format(b, vb, sizeof(vb));
	if (a)
		verdict_format(a, va, sizeof(va));
	if (a && b && strcmp(vb, va))
		desc_put(d, &d->line, ": %s -> %s", vb, va);
	else if (a && b)
		desc_put(d, &d->line, ": value differs");
	else
		desc_put(d, &d->line, " %s", a ? va : vb);
	for (int s = SL_BEFORE; d->fields && s <= SL_AFTER; s++) {
		const struct sl_policy_value *e = v->val[s];
		struct strbuf *sb = &d->obj[s];

		if (!e)
			continue;
		desc_json_u(d, sb, "endpoint_id", k->ep_id);
		desc_json_s(d, sb, "direction", dir);
		desc_json_u(d, sb, "identity", k->identity);
		desc_json_s(d, sb, "protocol", proto);
		desc_json_u(d, sb, "port", port);
		desc_json_s(d, sb, "verdict", e->flags & SL_POLICY_DENY ? "deny" : "allow");
		desc_json_u(d, sb, "proxy_port", e->proxy_port);
	}
}

/* In its endpoint's group, after the endpoint entry: the endpoint of the
 * set the entry is in, else of the other; "gone" when neither has it. */
static void group(const struct sl_desc_ctx *c, const struct sl_view *v, int op, struct sl_plan_group *g)
{
	const struct sl_policy_key *k = v->key;
	int first = v->val[SL_AFTER] ? SL_WANT : SL_HAVE;
	const char *ifname = desc_ep_ifname(c, first, k->ep_id);

	(void)op;
	if (!ifname)
		ifname = desc_ep_ifname(c, !first, k->ep_id);
	if (ifname) {
		desc_group_ifname(g, ifname);
	} else {
		g->section = SL_SEC_GONE;
		g->ep_id = k->ep_id;
	}
	g->rank = 1;
}

const struct sl_kind sl_kind_policy = {
	.name = "policy",
	.klen = sizeof(struct sl_policy_key),
	.vlen = sizeof(struct sl_policy_value),
	.backend = SL_VIA_ENTRIES,
	.rank = 1, /* after the ipcache entries whose identities it names */
	.map = SL_MAPNAME_POLICY,
	.maps = sl_maps_datapath,
	.map_size = SL_MAP_POLICY,
	.describe = describe,
	.group = group,
};
