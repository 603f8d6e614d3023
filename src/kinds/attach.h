/* SPDX-License-Identifier: Apache-2.0 */
/* The attachment kind: one of sluice's programs on a device's hook. */
#pragma once

#include <stdint.h>

#include "kinds/prog.h"

/* A namespace's path as a tag (FNV-1a; never 0); "" or NULL: 0. */
static inline uint32_t sl_netns_tag(const char *path, size_t max)
{
	uint32_t h = 2166136261u;
	size_t i;

	if (!path || !path[0])
		return 0;
	for (i = 0; i < max && path[i]; i++)
		h = (h ^ (uint8_t)path[i]) * 16777619u;
	return h ? h : 1;
}

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
	uint8_t pad[2];
	/* ipvlan mode: which namespace the device is in (sl_netns_tag of its
	 * path; 0: sluice's own), so that a move is a change */
	uint32_t netns_tag;
	/* Which build of the program with which settings and map layouts
	 * (datapath/programs.c); observed 0 when the attached program is not
	 * the one sluice pinned for that digest. */
	sl_u64_a4 digest;
};
