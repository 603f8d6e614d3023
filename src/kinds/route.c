/* SPDX-License-Identifier: Apache-2.0 */
/* The names of the route kind (kinds/route.h), as errors and plan lines
 * show them. */
#include "kinds/route.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

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

int route_name(const struct sl_route_key *k, const struct sl_route_value *v, char *buf, size_t len)
{
	char p[64], gw[INET6_ADDRSTRLEN + 16] = "", dev[SL_ROUTE_DEV_MAX + 8] = "", tail[96] = "";
	size_t m = 0;

	route_prefix_name(k, p, sizeof(p));
	if (v) {
		char a[INET6_ADDRSTRLEN];

		if (v->gw_family == k->family)
			snprintf(gw, sizeof(gw), " via %s", addr_str(v->gw_family, v->gw, a, sizeof(a)));
		else if (v->gw_family)
			snprintf(gw, sizeof(gw), " via %s %s", v->gw_family == AF_INET ? "inet" : "inet6",
				 addr_str(v->gw_family, v->gw, a, sizeof(a)));
		if (memchr(v->dev, '\0', sizeof(v->dev)) && v->dev[0])
			snprintf(dev, sizeof(dev), " dev %s", v->dev);
	}
	if (k->metric)
		m += (size_t)snprintf(tail + m, sizeof(tail) - m, " metric %u", k->metric);
	if (v && v->mtu && m < sizeof(tail))
		m += (size_t)snprintf(tail + m, sizeof(tail) - m, " mtu %u", v->mtu);
	if (v && (v->flags & SL_ROUTE_F_ONLINK) && m < sizeof(tail))
		m += (size_t)snprintf(tail + m, sizeof(tail) - m, " onlink");
	if (k->table != SL_ROUTE_TABLE_MAIN && m < sizeof(tail))
		snprintf(tail + m, sizeof(tail) - m, " table %u", k->table);
	return snprintf(buf, len, "route %s%s%s%s", p, gw, dev, tail);
}
