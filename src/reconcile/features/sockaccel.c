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

int sockaccel_compile(const struct sl_state *st, const uint64_t digest[SL_PROG__MAX], uint64_t cgroup_id,
		      struct sl_objset *out)
{
	const struct {
		uint8_t hook, prog;
		uint64_t cgroup_id;
	} hooks[] = {
		{ SL_SOCKHOOK_SOCK_OPS, SL_PROG_SOCKOPS, cgroup_id },
		{ SL_SOCKHOOK_SK_MSG, SL_PROG_SK_MSG, 0 },
	};
	int r = 0;

	/* without a cgroup or the programs' digests (validate knows neither),
	 * nothing */
	if (!st->datapath->socket_acceleration || !cgroup_id || !digest)
		return 0;
	for (size_t i = 0; r >= 0 && i < sizeof(hooks) / sizeof(hooks[0]); i++) {
		struct sl_sockhook_key k = { .hook = hooks[i].hook };
		struct sl_sockhook_value v = { .prog = hooks[i].prog, .digest = digest[hooks[i].prog],
					       .cgroup_id = hooks[i].cgroup_id };

		if (!v.digest)
			return 0;
		r = objset_add(out, SL_OBJ_SOCKHOOK, &k, sizeof(k), &v, sizeof(v));
	}
	return r;
}
