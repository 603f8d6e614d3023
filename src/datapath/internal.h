/* SPDX-License-Identifier: Apache-2.0 */
/* Shared inside src/datapath/ only. */
#pragma once

#include "kernel.h"
#include "reconcile/model.h"

#define KERNEL_MAX_MAPS 24

struct kernel_foreign {
	char ifname[16];
	uint8_t hook; /* enum sl_hook */
	char prog[16];
};

struct kernel_pinned_prog {
	uint8_t prog;
	uint64_t digest;
	uint32_t id;
	bool current;
};

/* One of sluice's programs attached somewhere, as observed. */
struct kernel_attached {
	char ifname[16];
	uint32_t ifindex;
	uint8_t hook;
	uint8_t xdp_mode;
	uint32_t prog_id;
};

struct sl_kernel {
	char *pin_dir;
	int dir_fd; /* -1: the pin directory does not exist */
	bool locked;
	bool maps_open; /* map_fd holds what was pinned when last opened */
	bool create; /* make the pin directory when it is missing */
	/* by layout index: the pinned map, and a new one made by a migration */
	int map_fd[KERNEL_MAX_MAPS];
	uint32_t map_id[KERNEL_MAX_MAPS];
	int new_fd[KERNEL_MAX_MAPS];
	struct kernel_foreign *foreign;
	size_t n_foreign;
	struct kernel_pinned_prog *progs;
	size_t n_progs, cap_progs;
	struct kernel_attached *attached;
	size_t n_attached, cap_attached;
	size_t cap_foreign;
};

/* -v given how many times (sl_kernel_set_verbosity). */
int kernel_verbosity(void);
void kerr(struct sl_kerr *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* pin_dir/name, in a buffer of the calling thread (valid until its next call). */
const char *kernel_path(struct sl_kernel *k, const char *name);
bool kernel_parent_on_bpffs(const char *path);
/* The fd of a map by name: the new one of a migration, else the pinned one; -1. */
int kernel_map_fd(struct sl_kernel *k, const char *name);
const struct sl_map_layout *kernel_layout(const char *name);
void kernel_prog_pin_name(int prog, uint64_t digest, char *buf, size_t len);
int kernel_load_progs(struct sl_kernel *k, int group, const struct sl_prog_settings *s,
		      const uint64_t digest[SL_PROG__MAX], struct sl_kerr *e);
extern const char *const kernel_prog_name[SL_PROG__MAX];
