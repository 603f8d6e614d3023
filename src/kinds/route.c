/* SPDX-License-Identifier: Apache-2.0 */
/* The route kind (kinds/route.h): its one formatter, for errors and plan
 * lines, and its row of the kind table. */
#include "kinds/route.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "kinds/desc.h"

static bool family_ok(uint8_t f)
{
	return f == AF_INET || f == AF_INET6;
}

static const char *addr_str(uint8_t family, const uint8_t *a, char *buf, size_t len)
{
	if (!family_ok(family) || !inet_ntop(family, a, buf, len))
		return "?";
	return buf;
}

int route_prefix_name(const struct sl_route_key *k, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	return snprintf(buf, len, "%s/%u", addr_str(k->family, k->prefix, a, sizeof(a)), k->prefix_len);
}

/* The family of an IP tunnel encapsulation's outer address, or 0. */
static uint8_t encap_family(uint8_t type)
{
	return type == SL_ROUTE_ENCAP_IP ? AF_INET : type == SL_ROUTE_ENCAP_IP6 ? AF_INET6 : 0;
}

/* "encap vni 1 to 192.168.50.2" (the tunnel id is what sluice_vxlan
 * sends as the VNI), "encap type 1" (another kind of encapsulation, as
 * observed), then " with other tunnel settings" when the kernel holds
 * some that sluice's routes do not have. "" without one. */
static int encap_str(const struct sl_route_encap *x, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	uint8_t f = encap_family(x->type);
	int n;

	if (!x->type)
		return snprintf(buf, len, "%s", "");
	if (f)
		n = snprintf(buf, len, "encap vni %u to %s", x->id, addr_str(f, x->dst, a, sizeof(a)));
	else
		n = snprintf(buf, len, "encap type %u", x->type);
	if (n >= 0 && (size_t)n < len && (x->flags & SL_ROUTE_ENCAP_F_OTHER))
		n += snprintf(buf + n, len - (size_t)n, " with other tunnel settings");
	return n;
}

/*
 * Where the route sends: "via 192.168.50.2 dev eth0", "via inet
 * 192.168.50.2 dev eth0" (a gateway of the other family), "encap vni 1 to
 * 192.168.50.2 dev sluice_vxlan" (an encapsulation), then " metric N",
 * " mtu N", " onlink", " table N" when set. exact: the metric unless 0
 * (what `ip route` matches on); otherwise unless the family's default.
 */
static int route_target(const struct sl_route_key *k, const struct sl_route_value *v, bool exact, char *buf,
			size_t len)
{
	size_t m = 0;
	char a[INET6_ADDRSTRLEN];
	bool metric = exact ? k->metric != 0 : k->metric != (k->family == AF_INET6 ? SL_ROUTE_METRIC_V6 : 0);

#define ADD(...)                                                                  \
	do {                                                                      \
		if (m < len)                                                      \
			m += (size_t)snprintf(buf + m, len - m, __VA_ARGS__);     \
	} while (0)
	buf[0] = '\0';
	if (v && v->gw_family == k->family)
		ADD("via %s", addr_str(v->gw_family, v->gw, a, sizeof(a)));
	else if (v && v->gw_family)
		ADD("via %s %s", v->gw_family == AF_INET ? "inet" : "inet6", addr_str(v->gw_family, v->gw, a, sizeof(a)));
	if (v && v->encap.type) {
		char x[128];

		encap_str(&v->encap, x, sizeof(x));
		ADD("%s%s", m ? " " : "", x);
	}
	if (v && memchr(v->dev, '\0', sizeof(v->dev)) && v->dev[0])
		ADD("%sdev %s", m ? " " : "", v->dev);
	if (metric)
		ADD("%smetric %u", m ? " " : "", k->metric);
	if (v && v->mtu)
		ADD("%smtu %u", m ? " " : "", v->mtu);
	if (v && (v->flags & SL_ROUTE_F_ONLINK))
		ADD("%sonlink", m ? " " : "");
	if (k->table != SL_ROUTE_TABLE_MAIN)
		ADD("%stable %u", m ? " " : "", k->table);
#undef ADD
	return (int)m;
}

/* "local " for a local route, "" for a unicast one (what `ip route`
 * leaves out), "type N " otherwise. */
static const char *type_str(uint8_t type, char *buf, size_t len)
{
	if (type == SL_ROUTE_UNICAST)
		return "";
	if (type == SL_ROUTE_LOCAL)
		return "local ";
	snprintf(buf, len, "type %u ", type);
	return buf;
}

int route_name(const struct sl_route_key *k, const struct sl_route_value *v, char *buf, size_t len)
{
	char p[64], t[288], ty[16];

	route_prefix_name(k, p, sizeof(p));
	route_target(k, v, true, t, sizeof(t));
	return snprintf(buf, len, "route %s%s%s%s", type_str(k->type, ty, sizeof(ty)), p, t[0] ? " " : "", t);
}

/* Routes added before the rules that send packets to their table (the
 * rule kind's rank), removed after them. */
static void group(const struct sl_desc_ctx *c, const struct sl_view *v, int op, struct sl_plan_group *g)
{
	(void)c;
	desc_group_apply_order(v, op, SL_SEC_ROUTES, g);
}

/* A unicast route's device is the underlay, which the user names; a local
 * route's is lo, which every network namespace has. */
static bool device(const void *key, const void *val, char ret_name[17])
{
	const struct sl_route_value *v = val;
	uint8_t type;

	/* (key and val sit at any alignment: the byte is copied) */
	memcpy(&type, (const uint8_t *)key + offsetof(struct sl_route_key, type), 1);
	if (type != SL_ROUTE_UNICAST)
		return false;
	desc_name_copy(ret_name, 17, v->dev, sizeof(v->dev));
	return true;
}

static void describe(const struct sl_desc_ctx *c, const struct sl_view *v, struct sl_desc *d)
{
	const struct sl_route_key *k = v->key;
	const struct sl_route_value *b = v->val[SL_BEFORE], *a = v->val[SL_AFTER];
	char dst[80], rb[288], ra[288], ty[16];

	(void)c;
	desc_prefix_format(k->family == AF_INET ? SL_FAMILY_IPV4 : k->family == AF_INET6 ? SL_FAMILY_IPV6 : k->family,
			   k->prefix_len, k->prefix, dst, sizeof(dst));
	if (b)
		route_target(k, b, false, rb, sizeof(rb));
	if (a)
		route_target(k, a, false, ra, sizeof(ra));
	desc_put(d, &d->line, "route %s%s", type_str(k->type, ty, sizeof(ty)), dst);
	if (a && b)
		desc_put(d, &d->line, ": %s -> %s", rb, ra);
	else
		desc_put(d, &d->line, " %s", a ? ra : rb);
	for (int s = SL_BEFORE; d->fields && s <= SL_AFTER; s++) {
		const struct sl_route_value *x = v->val[s];
		char gwb[INET6_ADDRSTRLEN + 8], dev[SL_ROUTE_DEV_MAX + 1];
		const char *gw;

		if (!x)
			continue;
		/* "?" for a family no address is written in (gwb untouched) */
		gw = addr_str(x->gw_family, x->gw, gwb, sizeof(gwb));
		desc_name_copy(dev, sizeof(dev), x->dev, sizeof(x->dev));
		desc_json_s(d, &d->obj[s], "dst", dst);
		desc_json_s(d, &d->obj[s], "type",
			    k->type == SL_ROUTE_UNICAST ? "unicast" : k->type == SL_ROUTE_LOCAL ? "local" : "unknown");
		desc_json_s(d, &d->obj[s], "via", x->gw_family ? gw : NULL);
		desc_json_s(d, &d->obj[s], "dev", dev);
		desc_json_u(d, &d->obj[s], "table", k->table);
		desc_json_u(d, &d->obj[s], "metric", k->metric);
		desc_json_u(d, &d->obj[s], "mtu", x->mtu);
		/* an encapsulation: "ip", "ip6" (then its id, the VNI, and
		 * its outer destination), "type N" (another kind, observed);
		 * a route without one has none of these fields */
		if (x->encap.type) {
			char ty2[16], ed[INET6_ADDRSTRLEN];
			uint8_t f = encap_family(x->encap.type);

			snprintf(ty2, sizeof(ty2), "type %u", x->encap.type);
			desc_json_s(d, &d->obj[s], "encap",
				    x->encap.type == SL_ROUTE_ENCAP_IP	? "ip"
				    : x->encap.type == SL_ROUTE_ENCAP_IP6 ? "ip6"
									: ty2);
			if (f) {
				desc_json_u(d, &d->obj[s], "encap_id", x->encap.id);
				desc_json_s(d, &d->obj[s], "encap_dst", addr_str(f, x->encap.dst, ed, sizeof(ed)));
			}
			if (x->encap.flags & SL_ROUTE_ENCAP_F_OTHER)
				desc_json_bool(d, &d->obj[s], "encap_other", true);
		}
	}
}

const struct sl_kind sl_kind_route = {
	.name = "route",
	.klen = sizeof(struct sl_route_key),
	.vlen = sizeof(struct sl_route_value),
	.backend = SL_VIA_ROUTE,
	.device = device,
	.device_role = "underlay device (datapath.underlayDevice)",
	.rank = 0, /* before the rules that send packets to their table */
	.section = SL_SEC_ROUTES,
	.describe = describe,
	.group = group,
};
