/* SPDX-License-Identifier: Apache-2.0 */
/* The backend kind (backend.c); its key and value are in sluice/abi.h. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct sl_desc_ctx;

/* A backend's address by id ("10.1.0.11:8080"): from set s (SL_WANT or
 * SL_HAVE), else the other; "#id" if neither has it. */
void sl_backend_by_id(const struct sl_desc_ctx *c, int s, uint32_t id, char *buf, size_t len);
