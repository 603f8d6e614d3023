/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Host-reachable services (datapath.hostReachableServices): the cgroup
 * sock_addr programs of bpf/sock_lb.bpf.c on the cgroup of
 * datapath.cgroupPath, which translate services at connect() and
 * sendmsg() and show the frontend at recvmsg() and getpeername(). The
 * services themselves are the services feature's (lb.c); sluice_sock_nat
 * comes with the hooks (compile.c, by the kind's map group).
 */
#include "features.h"

#include "kinds/sockhook.h"

int hostservices_compile(const struct sl_state *st, const uint64_t digest[SL_PROG__MAX], uint64_t cgroup_id,
			 struct sl_objset *out)
{
	static const uint8_t hooks[] = {
		SL_SOCKHOOK_CONNECT4, SL_SOCKHOOK_CONNECT6, SL_SOCKHOOK_SENDMSG4,     SL_SOCKHOOK_SENDMSG6,
		SL_SOCKHOOK_RECVMSG4, SL_SOCKHOOK_RECVMSG6, SL_SOCKHOOK_GETPEERNAME4, SL_SOCKHOOK_GETPEERNAME6,
	};

	if (!st->datapath->host_reachable_services)
		return 0;
	return sockhooks_compile(hooks, sizeof(hooks), digest, cgroup_id, out);
}
