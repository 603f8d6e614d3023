/* SPDX-License-Identifier: Apache-2.0 */
/* The service kind (service.c); its key and value are in sluice/abi.h. */
#pragma once

#include <stddef.h>

#include <sluice/abi.h>

/* "10.96.0.10:80/TCP", "[fd00::10]:80/TCP" */
void sl_service_frontend_format(const struct sl_service_key *k, char *buf, size_t len);
