/* SPDX-License-Identifier: Apache-2.0 */
/* The datapath section: mode, tunnel, devices, map sizes. */
#include "features.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/abi.h>

#include "common.h"

void datapath_validate(struct val *v)
{
	const struct sl_datapath *dp = v->st->datapath;
	const char *f = v->st->datapath_origin.file;
	size_t saved = v_path_lit(v, "datapath");

	bool mode_ok = !SL_GIVEN(dp, SL_DP_MODE) || SL_HAS(dp, SL_DP_MODE),
	     tunnel_ok = !SL_GIVEN(dp, SL_DP_TUNNEL) || SL_HAS(dp, SL_DP_TUNNEL);

	if (dp->mode == SL_MODE_IPVLAN && !SL_GIVEN(dp, SL_DP_IPVLAN_MASTER))
		v_err(v, f, SL_AT(dp, SL_DP_MODE), "mode", "mode: ipvlan needs ipvlanMaster, the device the endpoints' "
						       "ipvlan slaves hang off");
	if (mode_ok && dp->mode != SL_MODE_IPVLAN && SL_HAS(dp, SL_DP_IPVLAN_MASTER))
		v_warn(v, f, SL_AT(dp, SL_DP_IPVLAN_MASTER), "ipvlanMaster",
		  "ipvlanMaster is used only with mode: ipvlan and is ignored");
	v_check_ifname(v, f, SL_AT(dp, SL_DP_IPVLAN_MASTER), "ipvlanMaster", dp->ipvlan_master);
	v_check_ifname(v, f, SL_AT(dp, SL_DP_UNDERLAY_DEVICE), "underlayDevice", dp->underlay_device);
	v_check_range(v, f, SL_AT(dp, SL_DP_VXLAN_PORT), "vxlanPort", dp->vxlan_port, 1, 65535, "a port");
	if (tunnel_ok && SL_HAS(dp, SL_DP_VXLAN_PORT) && dp->vxlan_port >= 1 && dp->vxlan_port <= 65535 &&
	    dp->tunnel != SL_TUNNEL_VXLAN)
		v_warn(v, f, SL_AT(dp, SL_DP_VXLAN_PORT), "vxlanPort", "vxlanPort is used only with tunnel: vxlan");
	if (dp->cgroup_path && dp->cgroup_path[0] != '/')
		v_err(v, f, SL_AT(dp, SL_DP_CGROUP_PATH), "cgroupPath", "%s is not an absolute path", diag_q(dp->cgroup_path));
	if (mode_ok && dp->mode == SL_MODE_IPVLAN && SL_HAS(dp, SL_DP_TUNNEL) && dp->tunnel == SL_TUNNEL_VXLAN)
		v_err(v, f, SL_AT(dp, SL_DP_TUNNEL), "tunnel",
		  "tunnel: vxlan in ipvlan mode " NOT_YET ": the endpoint's program runs in the endpoint's own "
		  "namespace and cannot hand a packet to sluice_vxlan in the node's; route the pod CIDRs through "
		  "the underlay (tunnel: disabled), as Cilium's ipvlan mode does");
	if (SL_HAS(dp, SL_DP_TUNNEL) && dp->tunnel == SL_TUNNEL_VXLAN && !dp->underlay_device)
		v_err(v, f, SL_AT(dp, SL_DP_TUNNEL), "tunnel",
		  "tunnel: vxlan needs datapath.underlayDevice, the device toward the other nodes (sluice_vxlan's "
		  "MTU is its MTU less the encapsulation)");
	if (dp->map_sizes) {
		v_path_lit(v, ".mapSizes");
		for (unsigned i = 0; i < SL_MAP__MAX; i++)
			v_check_range(v, f, SL_AT(dp->map_sizes, i), sl_map_size_name[i], dp->map_sizes->size[i], 1,
				    1u << 26, "a map size");
	}
	v_pop(v, saved);
}
