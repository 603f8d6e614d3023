/* SPDX-License-Identifier: Apache-2.0 */
/* Shared inside src/datapath/ only. */
#pragma once

#include <pthread.h>
#include <time.h>

#include "kernel.h"
#include "reconcile/model.h"
#include "kinds/map.h"

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

/* An endpoint's device in a namespace of its own (ipvlan mode; netns.c). */
struct kernel_nsdev {
	char ifname[16];
	char netns[128]; /* "": sluice's own */
	char master[16];
	int ns_fd;	  /* -1: sluice's own namespace */
	uint32_t ifindex; /* in that namespace; 0: not found (err says why) */
	int err;
	bool wanted; /* desired (else only recorded: on its way out) */
};

/* One of sluice's programs attached somewhere, as observed. */
struct kernel_attached {
	char ifname[16];
	char netns[128]; /* the namespace it was seen in; "": sluice's own */
	uint32_t ifindex;
	uint8_t hook;
	uint8_t xdp_mode;
	uint32_t prog_id;
};

/* The maps made on a second thread while the entries are written (maps.c). */
struct kernel_maps_job {
	struct sl_kernel *k;
	const struct sl_objset *want, *have;
	const struct sl_diff *d;
	struct sl_kerr e;
	int r;
	double ms;
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
	/* the endpoints' devices in other namespaces (netns.c) */
	struct kernel_nsdev *nsdevs;
	size_t n_nsdevs;
	const struct sl_objset *nsdevs_want; /* the want the directory was loaded for */
	size_t cap_foreign;
	/* socket hooks as observed (sockhook.c): the program attached to
	 * sluice_sock (0: none) */
	uint32_t sk_msg_prog_id;
	char *cgroup_path; /* sl_kernel_set_cgroup_path (a copy) */
	/* during sl_kernel_apply: the programs' settings; the runtime maps'
	 * thread (maps.c); the kinds whose removals went first (entries.c) */
	const struct sl_prog_settings *settings;
	struct kernel_maps_job maps_job;
	pthread_t maps_helper;
	bool maps_helped;
	bool removed_first[SL_OBJ__MAX]; /* by place in the entry kinds' apply order */
};

static inline double kernel_mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* -v given how many times (sl_kernel_set_verbosity). */
int kernel_verbosity(void);
/* pin_dir/name, in a buffer of the calling thread (valid until its next call). */
const char *kernel_path(struct sl_kernel *k, const char *name);
bool kernel_parent_on_bpffs(const char *path);
/* The fd of a map by name: the new one of a migration, else the pinned one; -1. */
int kernel_map_fd(struct sl_kernel *k, const char *name);
const struct sl_map_layout *kernel_layout(const char *name);
void kernel_prog_pin_name(int prog, uint64_t digest, char *buf, size_t len);
/* The pin of a datapath program's prog array of its twin with events
 * (twins.h), beside the program's own: events_<kind>_<digest>. */
void kernel_twins_pin_name(int prog, uint64_t digest, char *buf, size_t len);

/* Tell sl_kernel_progress's listener, if any: a phase begins (phase not
 * NULL), or n more entries were written or removed. */
static inline void kernel_progress(const char *phase, uint64_t n)
{
	if (phase)
		sl_kernel_progress.phase = phase;
	sl_kernel_progress.entries += n;
	if (sl_kernel_progress.fn)
		sl_kernel_progress.fn(sl_kernel_progress.ctx, sl_kernel_progress.phase, sl_kernel_progress.entries);
}
/* The digest of the pinned, current program of that kind with that id
 * (observed), 0 when it is not one: what an observed attachment holds. */
/* embedded.c: the embedded objects, each once in the binary (a file
 * that calls a skeleton's open holds its own copy of the object, 1 MB for
 * the datapath's). The bytes of the object of a group of maps (enum
 * sl_map_group: datapath, prefilter, sock, sock_lb), or NULL; and the
 * skeletons' opens. */
const void *kernel_embedded_elf(int group, size_t *sz);
struct datapath_bpf;
struct prefilter_bpf;
struct sock_bpf;
struct sock_lb_bpf;
struct datapath_bpf *kernel_open_datapath(void);
struct prefilter_bpf *kernel_open_prefilter(void);
struct sock_bpf *kernel_open_sock(void);
struct sock_lb_bpf *kernel_open_sock_lb(void);
uint64_t kernel_prog_digest(struct sl_kernel *k, uint32_t prog_id, uint8_t prog);
/* The pinned program of that kind and digest, opened; -errno, said in e. */
int kernel_prog_open(struct sl_kernel *k, uint8_t prog, uint64_t digest, struct sl_kerr *e);

/* layout.c: the index of a map in sl_kernel_layouts, -1. (Which kind a
 * map's entries are, and a kind's map: the kind table, kinds/kind.h.) */
int kernel_layout_index(const char *name);

/* cgroup.c: a cgroup v2 directory by id, opened (O_RDONLY), or -errno:
 * k's cgroup path when it is that cgroup, else by file handle. */
int kernel_cgroup_open(struct sl_kernel *k, uint64_t id);

/* netns.c: the endpoints' devices in other namespaces (ipvlan mode), from
 * the record (record_fd: sluice_ep_netns, -1: none) and, when want is not
 * NULL, the desired objects (which win); the previous directory is
 * dropped, unless it is already the one of this want (preflight, then
 * apply, of one plan: the namespaces are entered once). */
int kernel_nsdevs_load(struct sl_kernel *k, int record_fd, const struct sl_objset *want);
void kernel_nsdevs_free(struct sl_kernel *k);
/* The directory's entry for an interface name, or NULL (sluice's own). */
const struct kernel_nsdev *kernel_nsdev(const struct sl_kernel *k, const char *ifname16);
/* An interface's index where it lives; -errno (-ENODEV: not there). */
int kernel_dev_ifindex(const struct sl_kernel *k, const char *name16, uint32_t *ret);
/* An endpoint's interface name by index (the directory's, else sluice's
 * namespace's); false when no device has it. */
bool kernel_dev_name(const struct sl_kernel *k, uint32_t ifindex, char ret[16]);
/* Each desired directory device exists, is an ipvlan slave of its master, and not
 * in mode l3s; else e says which and why. */
int kernel_nsdevs_check(const struct sl_kernel *k, struct sl_kerr *e);
/* Enter d's namespace on this thread (NULL or sluice's own: nothing) and
 * leave it again with what *ret_saved holds. */
int kernel_netns_enter(const struct kernel_nsdev *d, int *ret_saved);
/* The same by path ("": nothing). */
int kernel_netns_enter_path(const char *path, int *ret_saved);
void kernel_netns_leave(int saved);

/* pin.c: open the pinned maps (again: whatever was opened before is closed). */
int kernel_open_maps(struct sl_kernel *k, struct sl_kerr *e);

/* entries.c */
typedef int (*kernel_entry_fn)(void *ctx, const void *key, const void *val);
/* Every entry of a map: batch lookups, or key by key where the map type
 * has no batch operations. */
int kernel_map_dump(int fd, uint32_t ksz, uint32_t vsz, kernel_entry_fn fn, void *ctx);
/* Read the entries of these maps into live, on two threads. */
struct kernel_dump_job {
	int fd, kind;
	uint32_t ksz, vsz, max_entries;
	const char *name;
};
int kernel_dump_maps(const struct sl_kernel *k, struct kernel_dump_job *jobs, size_t n, struct sl_objset *live,
		     struct sl_kerr *e);
/* Fill a new map with every desired entry of its kind. */
int kernel_fill_map(const struct sl_kernel *k, int fd, const char *name, const struct sl_objset *want,
		    struct sl_kerr *e);
/* The entries added and changed, kind by kind in add order (remove false),
 * or removed, in reverse (remove true). */
int kernel_entries_write(struct sl_kernel *k, bool remove, const struct sl_objset *want,
			 const struct sl_objset *have, const struct sl_diff *d, struct sl_kerr *e);
