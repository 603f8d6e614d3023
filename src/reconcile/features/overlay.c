/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The overlay (state-format.md, "Overlay"; datapath.tunnel: vxlan): the
 * sluice_vxlan device, the program on it that takes what arrives from the
 * tunnel, and the routes that take the node's own traffic to remote pod
 * CIDRs into it (in sluice's overlay table, which a rule has only the
 * node's own packets look up: not what it forwards). The endpoints' traffic into the tunnel is the endpoint
 * programs' (the ipcache gives remote prefixes their node: ipcache.c).
 */
#include "features.h"

#include <string.h>
#include <sys/socket.h>

#include <sluice/abi.h>

#include "kinds/attach.h"
#include "kinds/device.h"
#include "kinds/prog.h"
#include "kinds/route.h"
#include "kinds/rule.h"

/* The node this one is, or NULL. */
static const struct sl_node *this_node(const struct sl_state *st)
{
	int i = st->node ? nodes_index(st, st->node) : -1;

	return i >= 0 ? &st->nodes[i] : NULL;
}

/* The tunnel's MTU: the underlay device's less what VXLAN adds over this
 * node's underlay address family (0 when nothing is left). */
static uint32_t overlay_mtu(const struct sl_state *st, uint32_t underlay_mtu)
{
	const struct sl_node *me = this_node(st);
	uint32_t overhead = me && me->ip_pfx.family == SL_FAMILY_IPV6 ? SL_VXLAN_OVERHEAD_V6 : SL_VXLAN_OVERHEAD_V4;

	return underlay_mtu > overhead ? underlay_mtu - overhead : 0;
}

/* sluice_vxlan, of the tunnel's MTU. */
static int overlay_device(const struct sl_state *st, uint32_t mtu, struct sl_objset *out)
{
	struct sl_device_key k = { { 0 } };
	struct sl_device_value v = {
		.type = SL_DEVICE_VXLAN,
		.up = 1,
		.port = (uint16_t)st->datapath->vxlan_port,
		.mtu = mtu,
		.external = 1,
		/* the node's own packets into it (overlay_routes) need no
		 * neighbour */
		.noarp = 1,
	};

	memcpy(k.name, SL_DEVICE_VXLAN_NAME, sizeof(SL_DEVICE_VXLAN_NAME) - 1);
	if (st->datapath->underlay_device)
		memcpy(v.underlay, st->datapath->underlay_device,
		       strnlen(st->datapath->underlay_device, sizeof(v.underlay) - 1));
	return objset_add(out, SL_OBJ_DEVICE, &k, sizeof(k), &v, sizeof(v));
}

/* sluice_from_overlay on the device's tc ingress: it marks what arrives
 * with the sender's identity (the VNI) for the endpoints' ingress policy. */
static int overlay_attach(uint64_t digest, struct sl_objset *out)
{
	struct sl_attach_key k = { .hook = SL_HOOK_TC_INGRESS };
	struct sl_attach_value v = { .prog = SL_PROG_FROM_OVERLAY, .digest = digest };

	memcpy(k.ifname, SL_DEVICE_VXLAN_NAME, sizeof(SL_DEVICE_VXLAN_NAME) - 1);
	return objset_add(out, SL_OBJ_ATTACH, &k, sizeof(k), &v, sizeof(v));
}

static uint8_t af_of(uint8_t family)
{
	return family == SL_FAMILY_IPV6 ? AF_INET6 : AF_INET;
}

/*
 * The node's own traffic (a process in its network namespace, the L7
 * proxy among them) to a remote node's pod CIDR: a route on sluice_vxlan
 * whose IP tunnel encapsulation gives the device its tunnel key, the host
 * identity as the VNI (the receiving node's sluice_from_overlay takes it
 * as remote-node) and the node's ip as the outer destination, in sluice's
 * overlay table,
 *
 *     route 10.2.0.0/24 encap vni 1 to 192.168.50.2 dev sluice_vxlan mtu 1450 table 20929
 *
 * for each pod CIDR of each other node whose ip is of this node's ip's
 * family (the underlay carries no other), IPv4 and IPv6 pod CIDRs alike;
 * and, per family of those routes, the rule that has the node's own
 * packets, and only those, look that table up (kinds/route.h, "sluice's
 * policy routing"):
 *
 *     rule ipv4 pref 82 iif lo lookup 20929
 *
 * The kernel routes what the node sends with the loopback as the input
 * device, what it forwards with the device the packet came in on: a
 * packet the node forwards finds no route of sluice's into the tunnel, so
 * nothing that merely passes through the node reaches remote pods as the
 * host (remote-node).
 */
static int overlay_rule(uint8_t af, struct sl_objset *out)
{
	struct sl_rule_key k = {
		.priority = SL_OVERLAY_RULE_PRIORITY,
		.table = SL_OVERLAY_TABLE,
		.iif = SL_OVERLAY_RULE_IIF,
		.family = af,
	};
	struct sl_rule_value v = { .action = SL_RULE_LOOKUP };

	return objset_add(out, SL_OBJ_RULE, &k, sizeof(k), &v, sizeof(v));
}

static int overlay_routes(const struct sl_state *st, uint32_t mtu, struct sl_objset *out)
{
	const struct sl_node *me = this_node(st);
	bool v4 = false, v6 = false;
	int r = 0;

	if (!me || !me->ip_pfx.family)
		return 0;
	for (uint32_t i = 0; r >= 0 && i < st->n_nodes; i++) {
		const struct sl_node *n = &st->nodes[i];

		if (n == me || n->ip_pfx.family != me->ip_pfx.family || !n->pod_cidrs_pfx)
			continue;
		for (uint32_t c = 0; r >= 0 && c < n->n_pod_cidrs; c++) {
			const struct sl_prefix *p = &n->pod_cidrs_pfx[c];
			struct sl_route_key rk;
			struct sl_route_value rv;

			if (!p->family)
				continue;
			sl_route_key_init(&rk, af_of(p->family), p->addr, p->len);
			rk.table = SL_OVERLAY_TABLE;
			r = sl_route_value_init(&rv, 0, NULL, SL_DEVICE_VXLAN_NAME);
			if (r >= 0)
				r = sl_route_value_encap(&rv, SL_ID_HOST, af_of(n->ip_pfx.family), n->ip_pfx.addr);
			rv.mtu = mtu;
			if (r >= 0)
				r = objset_add(out, SL_OBJ_ROUTE, &rk, sizeof(rk), &rv, sizeof(rv));
			v4 |= rk.family == AF_INET;
			v6 |= rk.family == AF_INET6;
		}
	}
	if (r >= 0 && v4)
		r = overlay_rule(AF_INET, out);
	if (r >= 0 && v6)
		r = overlay_rule(AF_INET6, out);
	return r;
}

int overlay_compile(const struct sl_state *st, uint32_t underlay_mtu, uint64_t digest, struct sl_objset *out)
{
	uint32_t mtu;
	int r;

	/* Without the underlay's MTU (validate: no kernel) nothing of the
	 * overlay is compiled. */
	if (st->datapath->tunnel != SL_TUNNEL_VXLAN || !underlay_mtu)
		return 0;
	mtu = overlay_mtu(st, underlay_mtu);
	r = overlay_device(st, mtu, out);
	if (r >= 0)
		r = overlay_attach(digest, out);
	if (r >= 0)
		r = overlay_routes(st, mtu, out);
	return r;
}
