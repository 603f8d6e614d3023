/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kernel backend: what sluice owns under one pin directory (maps,
 * pinned programs) and the tc/XDP attachments of its programs in this
 * network namespace, read into an object set and changed to match one.
 * src/reconcile/ talks to the kernel only through this header.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "datapath/kerr.h"
#include "reconcile/diff.h"
#include "reconcile/objset.h"
#include "kinds/prog.h"
#include "kinds/map.h"

#define SL_PIN_DIR_DEFAULT "/sys/fs/bpf/sluice"

/* sluice's tc filters: this priority and handle, programs named sluice_*. */
#define SL_TC_PRIORITY 21
#define SL_TC_HANDLE 0x51c0

/* An error for people: struct sl_kerr (datapath/kerr.h). */

/* Node-wide settings of the programs (const volatile globals). tunnel:
 * the overlay is on; the programs are loaded with cfg_tunnel_ifindex the
 * ifindex sluice_vxlan has then (the apply makes the device before it
 * loads programs). The digest covers "on", not the ifindex, which the plan
 * cannot know; observe finds a program loaded for another ifindex than
 * sluice_vxlan's now not current, so that the next apply loads it again. */
struct sl_prog_settings {
	uint32_t hz; /* the kernel's CONFIG_HZ */
	uint8_t tunnel;
	uint8_t encrypt;
	uint8_t proxy; /* some policy names a proxyPort (bpf/lib/proxy.h) */
	uint8_t ipvlan; /* datapath.mode: ipvlan (bpf/lib/config.h) */
};

/* Kernel writes made by this process: bpf() commands that change state
 * (create, update, delete, pin, load) and netlink requests that change
 * state (filters, qdiscs, XDP). Reads are not counted. */
extern _Atomic unsigned long sl_kernel_writes;

/* Where the last sl_kernel_apply spent its time (for -v and the benches). */
struct sl_kernel_timing {
	/* maps: the data maps, plus any wait for the runtime maps, which are
	 * made by a second thread while the entries are written (runtime_ms) */
	double maps_ms, runtime_ms, entries_ms, programs_ms, removals_ms;
};
extern struct sl_kernel_timing sl_kernel_timing;

/* What an apply is doing, for a progress line (the command layer sets fn):
 * called when a phase begins and after each batch of map entries written
 * or removed, with the phase's name and the entries so far. */
struct sl_kernel_progress {
	void (*fn)(void *ctx, const char *phase, uint64_t entries);
	void *ctx;
	const char *phase;
	uint64_t entries;
};
extern struct sl_kernel_progress sl_kernel_progress;

/* Load the twins with events of the pinned datapath programs whose prog
 * arrays have none (apply loads them only while some monitor runs): what a
 * monitor does when it starts and every second. 0 or -errno. */
struct sl_kernel;
struct sl_kerr;
int sl_kernel_twins_ensure(struct sl_kernel *k, struct sl_kerr *e);

struct sl_kernel;

/* Route libbpf's messages: shown from -vv on. */
void sl_kernel_set_verbosity(int verbose);
/* The pages of the embedded programs' objects given back to the page
 * cache (they are read-only data of the binary, read again from it when
 * next needed): a long-running watch keeps only what it holds between
 * applies resident, not the 1 MB of objects the last apply read. */
void sl_kernel_release_embedded(void);

/* The maps the embedded programs define. Static; no kernel call. */
int sl_kernel_layouts(const struct sl_map_layout **ret, size_t *ret_n);
/* The digest of each program as it would be loaded with these settings and
 * map sizes (SL_MAP__MAX of them, indexed by SL_MAP_* of
 * reconcile/model.h). No kernel call. */
int sl_kernel_digests(const struct sl_prog_settings *s, const uint32_t *sizes,
		      uint64_t ret[SL_PROG__MAX]);
/* The kernel's CONFIG_HZ (for conntrack lifetimes), or 250 when unknown. */
uint32_t sl_kernel_hz(void);

/*
 * Open the pin directory. With create, make it (and its parents) when
 * missing; it must be on a bpffs. Without create, a missing directory is
 * an empty one (*ret is still set).
 */
int sl_kernel_open(const char *pin_dir, bool create, struct sl_kernel **ret, struct sl_kerr *e);
void sl_kernel_close(struct sl_kernel *k);
/* Whether the pin directory exists (opened without create, it may not). */
bool sl_kernel_exists(const struct sl_kernel *k);
/* flock the pin directory, waiting up to wait_s seconds. */
int sl_kernel_lock(struct sl_kernel *k, int wait_s, struct sl_kerr *e);

/* Read what sluice owns into live (sorted). A filter set in live before
 * (objset.h) stays: a verify reads only what differs. */
int sl_kernel_observe(struct sl_kernel *k, struct sl_objset *live, struct sl_kerr *e);

/*
 * watch's incremental applies (cli.md, watch): between resyncs, a change is
 * planned against the set watch last verified, and only the objects it
 * touches are read, written and verified, by key. Possible for the kinds
 * for which sl_kernel_entry_kind_exact holds: map entries (hash maps, keyed
 * by object or by a device's index, and LPM tries).
 *
 * sl_kernel_entries_check compares the kernel's entries with what d's
 * changes expect: before they are written (after false: a change's or a
 * removal's key holds have's value, an add's key is absent), or after
 * (after true: want's). Returns how many differ (the first described in
 * what), or -errno with e set; -EINVAL for a kind that is not exact.
 * sl_kernel_entries_apply writes d's entries only (adds and changes, then
 * removals).
 */
bool sl_kernel_entry_kind_exact(int kind);
int sl_kernel_entries_check(struct sl_kernel *k, const struct sl_objset *want, const struct sl_objset *have,
			    const struct sl_diff *d, bool after, char *what, size_t len, struct sl_kerr *e);
int sl_kernel_entries_apply(struct sl_kernel *k, const struct sl_objset *want, const struct sl_objset *have,
			    const struct sl_diff *d, struct sl_kerr *e);

/*
 * Make the kernel match want, given have = the live set just observed and
 * d = sl_diff(want, have). Order: maps (new ones, migrations), entries
 * added and changed (ipcache, policy, endpoints, prefilter), programs
 * (attach, replace), then removals in reverse. Interface names must
 * resolve (see sl_kernel_preflight).
 */
int sl_kernel_apply(struct sl_kernel *k, const struct sl_objset *want, const struct sl_objset *have,
		    const struct sl_diff *d, const struct sl_prog_settings *s, struct sl_kerr *e);

/* Checks before any change: every device named by want exists, and no
 * foreign program holds sluice's tc slot or the XDP hook of a device. */
int sl_kernel_preflight(struct sl_kernel *k, const struct sl_objset *want, const struct sl_objset *have,
			struct sl_kerr *e);

/* For status: per map its fill; per drop reason its packets. */
struct sl_map_fill {
	char name[32];
	uint32_t type, max_entries, entries;
	bool runtime;
};
struct sl_kernel_status {
	struct sl_map_fill *maps;
	size_t n_maps;
	uint64_t drops[32][2]; /* [reason][packets, bytes] summed over CPUs */
	uint64_t metrics[32][2];
	size_t n_drops, n_metrics;
	bool have_counters;
};
int sl_kernel_status(struct sl_kernel *k, struct sl_kernel_status *st, struct sl_kerr *e);
void sl_kernel_status_free(struct sl_kernel_status *st);

/* The MTU of a device of this network namespace, by name (the overlay's
 * underlay): > 0, or -errno (-ENODEV: no such device). No kernel write. */
int sl_kernel_device_mtu(const char *name);

/* Where the state says its cgroup is (datapath.cgroupPath): attaching
 * there opens this path when its id is the one planned, else the cgroup by
 * id (which needs CAP_DAC_READ_SEARCH). k keeps a copy of the string
 * (apply frees the state before it writes). */
void sl_kernel_set_cgroup_path(struct sl_kernel *k, const char *path);
/* cgroup.c: the id of a cgroup v2 directory (datapath.cgroupPath), what a
 * socket hook's value holds; -EMEDIUMTYPE: not cgroup v2. */
int sl_cgroup_id(const char *path, uint64_t *ret_id);
/* sl_cgroup_id's errors in words. */
const char *sl_cgroup_strerror(int err);
/* The path of a cgroup by id, under a cgroup2 mount of this mount
 * namespace (-ENOENT: none shows it). */
int sl_cgroup_path(uint64_t id, char *buf, size_t len);

/* ---- monitor.c: a `sluice monitor`'s slot (abi.h, "monitor events") ---- */
struct sl_monitor;
struct sl_event;
/* Called for each event; a negative return stops the poll with it. */
typedef int (*sl_monitor_event_fn)(void *arg, const struct sl_event *ev);
/* Claim a slot for these types (SL_MON_* bits) and a ring of its own;
 * -ENOENT: no datapath here, -EBUSY: every slot taken. */
int sl_monitor_open(struct sl_kernel *k, uint32_t types, sl_monitor_event_fn fn, void *arg, struct sl_monitor **ret,
		    struct sl_kerr *e);
/* Wait up to timeout_ms for events and hand each to fn (0: read what the
 * ring holds now, without waiting); 0 or -errno. */
int sl_monitor_poll(struct sl_monitor *m, int timeout_ms);
/* Keep the slot and the programs' flag right, and load the twins with
 * events of programs that have none (call about once a second); the
 * events the kernel could not deliver to this monitor since the last
 * call. 0, or -errno when a twin could not be loaded (said in *e). */
int sl_monitor_tick(struct sl_monitor *m, uint64_t *ret_lost, struct sl_kerr *e);
/* Give the slot back (the flag follows). */
void sl_monitor_close(struct sl_monitor *m);
/* An endpoint's name by its device, an identity's labels as text (-ENOENT:
 * not kept), the identity of an address by the ipcache (world if none). */
int sl_monitor_ep_name(struct sl_monitor *m, uint32_t ifindex, char *buf, size_t len);
int sl_monitor_labels(struct sl_monitor *m, uint32_t id, char *buf, size_t len);
uint32_t sl_monitor_identity_of(struct sl_monitor *m, const uint8_t addr[16], uint8_t family);
/* The length of the ipcache's prefix holding addr that carries identity id
 * (a CIDR identity's prefix: the kernel keeps no name for it but that), or
 * -ENOENT. */
int sl_monitor_prefix_of(struct sl_monitor *m, uint32_t id, const uint8_t addr[16], uint8_t family);

/* Remove the pin directory itself when it is empty (after flush). */
int sl_kernel_remove_dir(struct sl_kernel *k);
