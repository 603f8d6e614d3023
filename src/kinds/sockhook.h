/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The socket hook kind: one of sluice's socket-layer programs where it
 * runs, a cgroup (datapath.cgroupPath) or sluice's own sockhash. One of
 * each hook per instance: the key is the hook alone, the value says which
 * program (by digest) and, for a cgroup hook, which cgroup (by id, the
 * cgroup2 directory's inode number; a changed cgroupPath is a change).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kinds/prog.h"

enum sl_sockhook {
	SL_SOCKHOOK_SOCK_OPS, /* sockops, on the cgroup, by a bpf_link pinned in the pin directory */
	SL_SOCKHOOK_SK_MSG,   /* sk_msg verdict, on sluice_sock */
	/* host-reachable services: cgroup sock_addr hooks, each by a bpf_link
	 * pinned as link_<name> (the program of the same name) */
	SL_SOCKHOOK_CONNECT4,
	SL_SOCKHOOK_CONNECT6,
	SL_SOCKHOOK_SENDMSG4,
	SL_SOCKHOOK_SENDMSG6,
	SL_SOCKHOOK_RECVMSG4,
	SL_SOCKHOOK_RECVMSG6,
	SL_SOCKHOOK_GETPEERNAME4,
	SL_SOCKHOOK_GETPEERNAME6,
	SL_SOCKHOOK__MAX
};
struct sl_sockhook_key {
	uint8_t hook; /* enum sl_sockhook */
	uint8_t pad[7];
};
struct sl_sockhook_value {
	uint8_t prog; /* enum sl_prog */
	uint8_t pad[7];
	/* as struct sl_attach_value's: 0 when not the program sluice pinned */
	sl_u64_a4 digest;
	sl_u64_a4 cgroup_id; /* cgroup hooks; 0 for the sockhash's */
};

/* "sockops", "sk_msg", "connect4", ...; "hook N" in buf. */
const char *sl_sockhook_name(unsigned hook, char *buf, size_t len);
/* Whether the hook is on a cgroup (else on sluice_sock). */
static inline int sl_sockhook_on_cgroup(unsigned hook)
{
	return hook != SL_SOCKHOOK_SK_MSG;
}
/* The program a hook runs (enum sl_prog), SL_PROG__MAX for none. */
int sl_sockhook_prog(unsigned hook);
