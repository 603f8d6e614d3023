/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Socket acceleration (datapath.socketAcceleration): the sockops program
 * on the cgroup of datapath.cgroupPath and the sk_msg program on
 * sluice_sock (bpf/sock.bpf.c; the map comes with them, the programs with
 * the hooks that use them: compile.c).
 */
#include "features.h"

#include <sluice/abi.h>

#include "kinds/sockhook.h"

/* Each hook with the program sl_sockhook_prog names, on the cgroup when
 * it is a cgroup hook; nothing without the cgroup or the programs'
 * digests (validate knows neither). */
int sockhooks_compile(const uint8_t *hooks, size_t n, const uint64_t digest[SL_PROG__MAX], uint64_t cgroup_id,
		      struct sl_objset *out)
{
	int r = 0;

	if (!cgroup_id || !digest)
		return 0;
	for (size_t i = 0; r >= 0 && i < n; i++) {
		struct sl_sockhook_key k = { .hook = hooks[i] };
		int prog = sl_sockhook_prog(hooks[i]);
		struct sl_sockhook_value v = { .prog = (uint8_t)prog };

		if (prog >= SL_PROG__MAX || !digest[prog])
			return 0;
		v.digest = digest[prog];
		v.cgroup_id = sl_sockhook_on_cgroup(hooks[i]) ? cgroup_id : 0;
		r = objset_add(out, SL_OBJ_SOCKHOOK, &k, sizeof(k), &v, sizeof(v));
	}
	return r;
}

int sockaccel_compile(const struct sl_state *st, const uint64_t digest[SL_PROG__MAX], uint64_t cgroup_id,
		      struct sl_objset *out)
{
	static const uint8_t hooks[] = { SL_SOCKHOOK_SOCK_OPS, SL_SOCKHOOK_SK_MSG };

	if (!st->datapath->socket_acceleration)
		return 0;
	return sockhooks_compile(hooks, sizeof(hooks), digest, cgroup_id, out);
}
