/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Compile: the validated model becomes the exact set of kernel objects it
 * implies (objset.h). Pure C: no kernel calls. What must stay the same from
 * one apply to the next (endpoint ids, CIDR identities) comes in as the
 * previous assignments, which the caller reads from the live kernel.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lb.h"
#include "model.h"
#include "net.h"
#include "keys.h"
#include "objset.h"
#include "kinds/prog.h"
#include "kinds/map.h"

struct sl_compile_prev {
	/* endpoint ids in use, by interface name */
	const char *const *ep_ifnames;
	const uint16_t *ep_ids;
	size_t n_ep;
	/* CIDR identities in use, by prefix */
	const struct sl_prefix *cidrs;
	const uint32_t *cidr_ids;
	size_t n_cidr;
	/* backend and service ids in use */
	struct sl_lb_prev lb;
	/* What the datapath layer knows (datapath/progs.c): the digest of each
	 * program as it would be loaded for this state, and the layouts of the
	 * maps the programs define. Without layouts no SL_OBJ_MAP is made. */
	uint64_t prog_digest[SL_PROG__MAX];
	const struct sl_map_layout *layouts;
	size_t n_layouts;
	/* The MTU of datapath.underlayDevice (0: not known: the overlay's
	 * device is not compiled; features/overlay.c). */
	uint32_t underlay_mtu;
	/* The id of datapath.cgroupPath's cgroup (0: not known: the socket
	 * hooks are not compiled; features/sockaccel.c). */
	uint64_t cgroup_id;
	/* The decoded keys of encryption.keys (keys.h). NULL: encryption's
	 * SAs, xfrm policies and routes are not compiled (see encrypt.h). */
	const struct sl_keyring *keys;
};

struct sl_compile_result {
	struct sl_objset set;
	size_t n_cidr_identities;
	size_t n_policy_counted; /* sl_compile_count: the policy entries, not in set */
};

/*
 * Compile st (validated: sl_validate parsed its addresses into the model's
 * *_pfx fields, which compile reads; st->node names this node, or NULL when
 * every endpoint without a node is local) into res->set, sorted. Each
 * section's part is its feature's (features/). prev may be NULL.
 * Returns 0, or -errno (out of memory, or more endpoints or CIDR identities
 * than ids exist).
 */
int sl_compile(const struct sl_state *st, const struct sl_compile_prev *prev, struct sl_compile_result *res);
/* As sl_compile with no prev, for the capacity check of validate: the
 * policy entries (the bulk of a large state) are counted per endpoint into
 * res->n_policy_counted and not kept in res->set. */
int sl_compile_count(const struct sl_state *st, struct sl_compile_result *res);
void sl_compile_result_free(struct sl_compile_result *res);

/* The capacity check before any change: the entries per map against
 * mapSizes, as errors in d. Returns 0, or -ENOSPC when one is too big. */
struct diag_list;
int sl_compile_check_capacity(const struct sl_state *st, const struct sl_objset *set, const char *first_file,
			      struct diag_list *d);
/* The same with policy_counted policy entries beside those in set. */
int sl_compile_check_capacity_counted(const struct sl_state *st, const struct sl_objset *set, size_t policy_counted,
				      const char *first_file, struct diag_list *d);

/* What the live set says was assigned (endpoint ids, CIDR identities,
 * backend and service ids), as
 * compile's prev. Free with sl_compile_prev_free(prev, *ret_names). */
void sl_compile_prev_from_live(const struct sl_objset *live, struct sl_compile_prev *prev, char (**ret_names)[17]);
void sl_compile_prev_free(struct sl_compile_prev *prev, char (*names)[17]);

/* Whether some allow rule of the state names a proxyPort: the programs
 * then look for flows to the proxy where packets arrive from outside
 * (bpf/lib/proxy.h, cfg_proxy). No kernel call. */
bool sl_compile_uses_proxy(const struct sl_state *st);

