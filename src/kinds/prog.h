/* SPDX-License-Identifier: Apache-2.0 */
/* The program kind: a loaded program pinned under the pin directory. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kinds/kind.h"

/* The programs sluice loads. */
enum sl_prog {
	SL_PROG_FROM_ENDPOINT,
	SL_PROG_TO_ENDPOINT,
	SL_PROG_PREFILTER,
	SL_PROG_FROM_OVERLAY, /* tc ingress of sluice_vxlan (one object with the endpoint programs) */
	SL_PROG_FROM_NETDEV,  /* tc ingress of datapath.underlayDevice, with a proxyPort (the same object) */
	SL_PROG_SOCKOPS,      /* sockops on datapath.cgroupPath (bpf/sock.bpf.c) */
	SL_PROG_SK_MSG,	      /* sk_msg on sluice_sock (the same object) */
	/* cgroup sock_addr hooks on datapath.cgroupPath (bpf/sock_lb.bpf.c) */
	SL_PROG_CONNECT4,
	SL_PROG_CONNECT6,
	SL_PROG_SENDMSG4,
	SL_PROG_SENDMSG6,
	SL_PROG_RECVMSG4,
	SL_PROG_RECVMSG6,
	SL_PROG_GETPEERNAME4,
	SL_PROG_GETPEERNAME6,
	SL_PROG__MAX
};

/* By kind and digest (which build, with which settings and map layouts:
 * datapath/programs.c). current: it uses the maps pinned now (a program
 * bound to a map that a migration replaced is not current), and the
 * settings that are not in the digest hold now (the overlay device's
 * ifindex: a program loaded for a sluice_vxlan since made again is not
 * current). */
struct sl_prog_key {
	uint8_t prog; /* enum sl_prog */
	uint8_t pad[7];
	sl_u64_a4 digest;
};
struct sl_prog_value {
	uint8_t current;
	uint8_t pad[3];
};

/* Their names: in pins (prog_<name>_<digest>), messages and plans. */
extern const char *const sl_prog_names[SL_PROG__MAX];
/* "from_endpoint", "to_endpoint", "prefilter", "from_overlay", "from_netdev", "sockops", "sk_msg",
 * "connect4", ..., "getpeername6"; "program N" in buf. */
const char *sl_prog_name(unsigned prog, char *buf, size_t len);

struct sl_desc;
/* A plan's words for an attachment whose program changed (kind or build),
 * after desc_sep's separator; nothing when neither did. */
void sl_prog_desc_change(struct sl_desc *d, bool *first, uint8_t bprog, uint64_t bdigest, uint8_t aprog,
			 uint64_t adigest);
