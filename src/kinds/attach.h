/* SPDX-License-Identifier: Apache-2.0 */
/* The attachment kind: one of sluice's programs on a device's hook. */
#pragma once

#include <stdint.h>

#include "kinds/prog.h"

/* Where a program is attached: a device by name and a hook. */
enum sl_hook { SL_HOOK_TC_INGRESS, SL_HOOK_TC_EGRESS, SL_HOOK_XDP, SL_HOOK__MAX };
struct sl_attach_key {
	char ifname[16];
	uint8_t hook; /* enum sl_hook */
	uint8_t pad[3];
};
struct sl_attach_value {
	uint8_t prog;	  /* enum sl_prog */
	uint8_t xdp_mode; /* enum sl_xdp_mode, for SL_HOOK_XDP */
	uint8_t pad[6];
	/* Which build of the program with which settings and map layouts
	 * (datapath/programs.c); observed 0 when the attached program is not
	 * the one sluice pinned for that digest. */
	uint64_t digest;
};
