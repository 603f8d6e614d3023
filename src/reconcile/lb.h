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

