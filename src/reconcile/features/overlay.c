/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The overlay (state-format.md, "Overlay"; datapath.tunnel: vxlan): the
 * sluice_vxlan device and the program on it that takes what arrives from
 * the tunnel. Traffic into the tunnel is the endpoint programs' (the
 * ipcache gives remote prefixes their node: ipcache.c).
 */
#include "features.h"

#include <string.h>

#include <sluice/abi.h>

#include "kinds/attach.h"
#include "kinds/device.h"
#include "kinds/prog.h"

/* The node this one is, or NULL. */
static const struct sl_node *this_node(const struct sl_state *st)
{
	int i = st->node ? nodes_index(st, st->node) : -1;

	return i >= 0 ? &st->nodes[i] : NULL;
}

/* sluice_vxlan: the MTU is the underlay device's less what VXLAN adds over
 * this node's underlay address family. */
static int overlay_device(const struct sl_state *st, uint32_t underlay_mtu, struct sl_objset *out)
{
	const struct sl_node *me = this_node(st);
	uint32_t overhead = me && me->ip_pfx.family == SL_FAMILY_IPV6 ? SL_VXLAN_OVERHEAD_V6 : SL_VXLAN_OVERHEAD_V4;
	struct sl_device_key k = { { 0 } };
	struct sl_device_value v = {
		.type = SL_DEVICE_VXLAN,
		.up = 1,
		.port = (uint16_t)st->datapath->vxlan_port,
		.mtu = underlay_mtu > overhead ? underlay_mtu - overhead : 0,
		.external = 1,
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

int overlay_compile(const struct sl_state *st, uint32_t underlay_mtu, uint64_t digest, struct sl_objset *out)
{
	int r;

	/* Without the underlay's MTU (validate: no kernel) nothing of the
	 * overlay is compiled. */
	if (st->datapath->tunnel != SL_TUNNEL_VXLAN || !underlay_mtu)
		return 0;
	r = overlay_device(st, underlay_mtu, out);
	if (r >= 0)
		r = overlay_attach(digest, out);
	return r;
}
