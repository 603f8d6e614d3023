/* SPDX-License-Identifier: Apache-2.0 */
/* What this kernel can do, for `sluice version` and, later, for refusing a
 * state the kernel cannot carry before touching anything. */
#pragma once

#include <stdbool.h>

enum probe_result {
	PROBE_AVAILABLE,
	PROBE_MISSING,
	PROBE_UNKNOWN, /* could not tell; see `note` */
};

struct probe_feature {
	const char *name;
	enum probe_result result;
	char note[96]; /* "built in", "module", "needs CAP_BPF", ... */
};

enum {
	PROBE_BPF_SYSCALL,
	PROBE_BPFFS,
	PROBE_BTF,
	PROBE_SKELETON,
	PROBE_BATCH_OPS,
	PROBE_TC_BPF,
	PROBE_XDP,
	PROBE_SOCKOPS,
	PROBE_SOCKMAP,
	PROBE_SOCK_ADDR,
	PROBE_LRU_LPM,
	PROBE_XFRM,
	PROBE_ESP,
	PROBE_IPVLAN,
	PROBE_VXLAN,
	PROBE__MAX
};

void probe_kernel(struct probe_feature features[PROBE__MAX]);

/* A numeric option of the kernel's build configuration (/proc/config.gz or
 * /boot/config-RELEASE), e.g. CONFIG_HZ; fallback when unknown. */
long probe_kconfig_number(const char *option, long fallback);
