/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kernel backends: how each sort of kernel object reaches the kernel,
 * as one table of ops (apply.c) that sl_kernel_observe, sl_kernel_preflight
 * and sl_kernel_apply walk (walk.c):
 *   maps      BPF maps and their entries (maps.c, entries.c)
 *   programs  BPF programs and their tc/XDP attachments (programs.c, attach.c)
 *   xfrm      IPsec SAs and policies (xfrm_backend.c over xfrm.c)
 *   route     owned routes (route_backend.c over route.c)
 *   link      owned devices: sluice_vxlan (link_backend.c over link.c)
 * An apply runs the phases in order; in each phase, the backends in table
 * order. What is pointed at comes before what points at it, and nothing
 * sends plaintext where the state says to encrypt.
 */
#pragma once

#include "internal.h"

enum kernel_phase {
	/* maps: new ones, the new halves of migrations (the runtime maps on
	 * a second thread); xfrm: SAs added and changed, then policies: a new
	 * key's SAs exist before a policy or a mark uses them; link: devices
	 * made and changed (the programs are loaded with their ifindex and
	 * attached to them) */
	KERNEL_PHASE_CREATE,
	/* maps: entries added and changed, what is pointed at first */
	KERNEL_PHASE_ENTRIES,
	/* maps: wait for the second thread. Runs even after a failure. */
	KERNEL_PHASE_SETTLE,
	/* programs: load what is new, then attach or replace atomically */
	KERNEL_PHASE_PROGRAMS,
	/* route: remote pod CIDRs are routed once the programs mark their
	 * packets and the policies encrypt them */
	KERNEL_PHASE_ROUTES_ADD,
	/* the removals, in reverse: routes first, */
	KERNEL_PHASE_ROUTES_REMOVE,
	/* programs: detach */
	KERNEL_PHASE_DETACH,
	/* link: devices removed, once nothing is attached to them */
	KERNEL_PHASE_DEVICES_REMOVE,
	/* maps: entries removed, kinds in reverse add order */
	KERNEL_PHASE_ENTRIES_REMOVE,
	/* xfrm: policies, then SAs, once nothing marks packets for them */
	KERNEL_PHASE_XFRM_REMOVE,
	/* maps: unpinned, migrations' pins moved; programs: unpinned */
	KERNEL_PHASE_FINISH,
	KERNEL_PHASE__MAX
};

extern const char *const kernel_phase_name[KERNEL_PHASE__MAX];

/* A phase that runs after an earlier failure too (its error is then not
 * reported): it ends what an earlier phase started. */
static inline bool kernel_phase_always(enum kernel_phase p)
{
	return p == KERNEL_PHASE_SETTLE;
}

/* Every op may be NULL; apply returns 0 for the phases it has nothing in. */
struct kernel_backend {
	const char *name;
	/* Add what this backend owns to live (unsorted). */
	int (*observe)(struct sl_kernel *k, struct sl_objset *live, struct sl_kerr *e);
	/* Refuse, before any change, what this kernel cannot do. */
	int (*preflight)(struct sl_kernel *k, const struct sl_objset *want, const struct sl_objset *have,
			 struct sl_kerr *e);
	int (*apply)(struct sl_kernel *k, const struct sl_objset *want, const struct sl_objset *have,
		     const struct sl_diff *d, enum kernel_phase phase, struct sl_kerr *e);
};

extern const struct kernel_backend kernel_backend_maps, kernel_backend_programs, kernel_backend_xfrm,
	kernel_backend_route, kernel_backend_link;

struct sl_nl_req;

/*
 * nl_changes.c: the changes of one netlink kind in d for an add phase
 * (adds and changes) or a remove phase, as the netlink engine's requests
 * (nlreq.h), appended to *reqs (room for *cap, grown): each names the set's
 * bytes. nl_kind is the request's kind for the backend. readd (may be
 * NULL): whether a change must be a removal then an add, because the
 * kernel cannot change that in place. An object of unexpected size fails
 * the whole phase (-EINVAL) before anything is sent.
 */
int kernel_nl_changes(const struct sl_objset *want, const struct sl_objset *have, const struct sl_diff *d,
		      uint8_t kind, bool remove, uint8_t nl_kind, bool (*readd)(const void *have_val, const void *want_val),
		      struct sl_nl_req **reqs, size_t *n, size_t *cap, struct sl_kerr *e);

/* walk.c: each op of a table, in table order; apply: phase by phase, the
 * time of each in ms (may be NULL). The first failure stops the walk,
 * except for the phases that always run. */
int kernel_walk_observe(const struct kernel_backend *const *t, size_t n, struct sl_kernel *k,
			struct sl_objset *live, struct sl_kerr *e);
int kernel_walk_preflight(const struct kernel_backend *const *t, size_t n, struct sl_kernel *k,
			  const struct sl_objset *want, const struct sl_objset *have, struct sl_kerr *e);
int kernel_walk_apply(const struct kernel_backend *const *t, size_t n, struct sl_kernel *k,
		      const struct sl_objset *want, const struct sl_objset *have, const struct sl_diff *d,
		      double ms[KERNEL_PHASE__MAX], struct sl_kerr *e);
