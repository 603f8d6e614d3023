/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The L7 proxy redirect's policy routing (state-format.md, "L7 redirect";
 * kinds/route.h, "the policy routing of the L7 proxy redirect"). A rule
 * with proxyPort compiles to policy entries carrying the port
 * (policies.c); the programs then hand the flow's SYN to the proxy's socket
 * and mark each packet of it SL_MARK_PROXY. For the kernel to deliver
 * those packets to this host although their destination is not one of its
 * addresses, each family the local endpoints have an address of gets
 *
 *     rule <family> pref 81 fwmark 0xa00/0xf00 lookup 20928
 *     route local 0.0.0.0/0 dev lo table 20928     (::/0 for IPv6)
 *
 * and nothing at all when no entry of a local endpoint carries a proxy
 * port, so that a state without proxyPort compiles as it always did. The
 * validation of proxyPort is policies.c's.
 */
#include "features.h"

#include <string.h>
#include <sys/socket.h>

#include <sluice/abi.h>

#include "kinds/attach.h"
#include "kinds/prog.h"
#include "kinds/route.h"
#include "kinds/rule.h"

/* The device a local route names: the loopback, which every network
 * namespace has. */
#define PROXY_ROUTE_DEV "lo"

/* Whether a policy entry already in out carries a proxy port: out holds
 * the entries of the local endpoints only (endpoints_compile). */
static bool any_proxy_port(const struct sl_objset *out)
{
	for (size_t i = 0; i < out->n; i++) {
		const struct sl_obj *o = &out->v[i];
		struct sl_policy_value v;

		if (o->kind != SL_OBJ_POLICY || !sl_kind_fits(o->kind, o->klen, o->vlen))
			continue;
		memcpy(&v, obj_val(out, o), sizeof(v));
		if (!(v.flags & SL_POLICY_DENY) && v.proxy_port)
			return true;
	}
	return false;
}

static int proxy_family(uint8_t af, struct sl_objset *out)
{
	static const uint8_t any[16];
	struct sl_route_key rk;
	struct sl_route_value rv;
	struct sl_rule_key k = {
		.priority = SL_PROXY_RULE_PRIORITY,
		.fwmark = SL_MARK_PROXY,
		.fwmask = SL_MARK_MAGIC_MASK,
		.table = SL_PROXY_TABLE,
		.family = af,
	};
	struct sl_rule_value v = { .action = SL_RULE_LOOKUP };
	int r;

	sl_route_key_init(&rk, af, any, 0);
	rk.table = SL_PROXY_TABLE;
	rk.type = SL_ROUTE_LOCAL;
	r = sl_route_value_init(&rv, 0, NULL, PROXY_ROUTE_DEV);
	if (r >= 0)
		r = objset_add(out, SL_OBJ_ROUTE, &rk, sizeof(rk), &rv, sizeof(rv));
	if (r >= 0)
		r = objset_add(out, SL_OBJ_RULE, &k, sizeof(k), &v, sizeof(v));
	return r;
}

/*
 * sluice_from_netdev on the tc ingress of datapath.underlayDevice: what
 * arrives there on a flow a local endpoint accepted for its proxy (a client
 * by native routing, or outside the cluster) is delivered to the proxy
 * before the stack sees it (bpf/lib/proxy.h, proxy_arrival); everything
 * else passes untouched. Not compiled without a program digest (validate
 * makes no kernel call and knows none).
 */
static int proxy_netdev_attach(const struct sl_state *st, uint64_t digest, struct sl_objset *out)
{
	const char *dev = st->datapath->underlay_device;
	struct sl_attach_key k = { .hook = SL_HOOK_TC_INGRESS };
	struct sl_attach_value v = { .prog = SL_PROG_FROM_NETDEV, .digest = digest };

	if (!dev || !digest || strlen(dev) >= sizeof(k.ifname))
		return 0;
	memcpy(k.ifname, dev, strlen(dev));
	return objset_add(out, SL_OBJ_ATTACH, &k, sizeof(k), &v, sizeof(v));
}

int proxy_compile(const struct sl_state *st, uint64_t netdev_digest, struct sl_objset *out)
{
	bool v4 = false, v6 = false;
	int r = 0;

	if (!any_proxy_port(out))
		return 0;
	for (uint32_t i = 0; i < st->n_endpoints; i++) {
		const struct sl_endpoint *ep = &st->endpoints[i];

		if (!endpoints_is_local(st, ep) || !ep->interface)
			continue;
		v4 |= ep->ipv4 && ep->ipv4_pfx.family == SL_FAMILY_IPV4;
		v6 |= ep->ipv6 && ep->ipv6_pfx.family == SL_FAMILY_IPV6;
	}
	if (v4)
		r = proxy_family(AF_INET, out);
	if (r >= 0 && v6)
		r = proxy_family(AF_INET6, out);
	if (r >= 0)
		r = proxy_netdev_attach(st, netdev_digest, out);
	return r;
}
