/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Services compiled: backends and frontends with their slot tables
 * (SL_OBJ_BACKEND, SL_OBJ_SERVICE). Pure C; see lb.c.
 */
#pragma once

#include <stdint.h>

#include <sluice/abi.h>

#include "model.h"
#include "net.h"
#include "objset.h"

/* The ids the kernel holds: backends by value (flags ignored), services
 * by frontend. */
struct sl_lb_prev {
	const struct sl_backend_value *backends;
	const uint32_t *backend_ids;
	size_t n_backends;
	const struct sl_service_key *services;
	const uint32_t *service_ids;
	size_t n_services;
};

/* Add st's services and backends to out. prev may be NULL. */
int sl_lb_compile(const struct sl_state *st, const struct sl_lb_prev *prev, struct sl_objset *out);


/*
 * The incremental compile of services (watch): a change that touches only
 * services is compiled alone, against the set watch last verified, with an
 * index of what that set holds (backends by address and by id, with the
 * services that use each, and the services' names). The index is built
 * from a verified set and its state (each of the state's services compiled
 * into the set), and kept up to date by each sl_lb_delta; after anything
 * else the caller drops it.
 */
struct sl_lb_index;

int sl_lb_index_build(const struct sl_objset *verified, const struct sl_state *st, struct sl_lb_index **ret);
void sl_lb_index_free(struct sl_lb_index *ix);

/*
 * The objects that change when the services old (n_old, compiled into
 * verified) are replaced by nw (n_new, validated: their addresses parsed
 * and defaults filled): verified's objects they touch are added to have,
 * what those objects become to want (objects gone: in have only), both
 * sorted; sl_diff(want, have) is then the plan. Ids as sl_lb_compile keeps
 * them (a frontend or a backend keeps its id; a new one takes one that
 * verified does not hold), slot tables as it fills them. ms: the map sizes
 * the result must fit.
 * Returns 0; -EAGAIN when the change is not one this can compile alone and
 * the whole state must be compiled (a name or frontend that another
 * service has, a map that would be too small, verified not what the index
 * says); -ENOMEM. On any error the index is no longer right: free it.
 */
int sl_lb_delta(struct sl_lb_index *ix, const struct sl_objset *verified, const struct sl_service *old, size_t n_old,
		const struct sl_service *nw, size_t n_new, const struct sl_map_sizes *ms, struct sl_objset *want,
		struct sl_objset *have);
