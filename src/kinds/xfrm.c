/* SPDX-License-Identifier: Apache-2.0 */
/* The names of the xfrm kinds (kinds/xfrm.h), as errors and plan lines
 * show them. */
#include "kinds/xfrm.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static const char *addr_str(uint8_t family, const uint8_t a[16], char *buf, size_t len)
{
	if (family != AF_INET && family != AF_INET6)
		return "?";
	if (!inet_ntop(family, a, buf, len))
		return "?";
	return buf;
}

static bool addr_is_zero(const uint8_t a[16])
{
	static const uint8_t zero[16];

	return memcmp(a, zero, 16) == 0;
}

static size_t addr_len(uint8_t family)
{
	return family == AF_INET ? 4 : 16;
}

static const char *const dir_name[SL_XFRM_DIR__MAX] = { "in", "out", "fwd" };

int xfrm_state_name(const struct sl_xfrm_state_key *k, const struct sl_xfrm_state_value *v, const uint8_t *local,
		    char *buf, size_t len)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN], mark[48] = "";
	const char *dir = "";
	size_t al = addr_len(k->family);

	if (local && v && memcmp(v->saddr, local, al) == 0)
		dir = "out ";
	else if (local && memcmp(k->daddr, local, al) == 0)
		dir = "in ";
	if (k->mark || k->mark_mask)
		snprintf(mark, sizeof(mark), " mark 0x%x/0x%x", k->mark, k->mark_mask);
	if (!v)
		return snprintf(buf, len, "xfrm state %s-> %s spi 0x%x%s", dir, addr_str(k->family, k->daddr, d, sizeof(d)),
				k->spi, mark);
	return snprintf(buf, len, "xfrm state %s%s -> %s spi 0x%x%s", dir,
			addr_is_zero(v->saddr) ? "any" : addr_str(k->family, v->saddr, s, sizeof(s)),
			addr_str(k->family, k->daddr, d, sizeof(d)), k->spi, mark);
}

int xfrm_policy_name(const struct sl_xfrm_policy_key *k, char *buf, size_t len)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN], more[160] = "";
	size_t m = 0;

	if (k->mark || k->mark_mask)
		m += (size_t)snprintf(more + m, sizeof(more) - m, " mark 0x%x/0x%x", k->mark, k->mark_mask);
	if (k->proto && m < sizeof(more))
		m += (size_t)snprintf(more + m, sizeof(more) - m, " proto %u", k->proto);
	if ((k->sport || k->sport_mask) && m < sizeof(more))
		m += (size_t)snprintf(more + m, sizeof(more) - m, " sport %u/0x%x", k->sport, k->sport_mask);
	if ((k->dport || k->dport_mask) && m < sizeof(more))
		m += (size_t)snprintf(more + m, sizeof(more) - m, " dport %u/0x%x", k->dport, k->dport_mask);
	if (k->ifindex && m < sizeof(more))
		m += (size_t)snprintf(more + m, sizeof(more) - m, " ifindex %d", k->ifindex);
	if (k->user && m < sizeof(more))
		m += (size_t)snprintf(more + m, sizeof(more) - m, " user %u", k->user);
	if (k->type && m < sizeof(more))
		m += (size_t)snprintf(more + m, sizeof(more) - m, " type sub");
	if (k->if_id && m < sizeof(more))
		snprintf(more + m, sizeof(more) - m, " if_id 0x%x", k->if_id);
	return snprintf(buf, len, "xfrm policy %s %s/%u -> %s/%u%s", k->dir < SL_XFRM_DIR__MAX ? dir_name[k->dir] : "?",
			addr_str(k->family, k->src, s, sizeof(s)), k->src_len, addr_str(k->family, k->dst, d, sizeof(d)),
			k->dst_len, more);
}
