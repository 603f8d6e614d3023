/* SPDX-License-Identifier: Apache-2.0 */
/* The monitor's lost events (abi.h, "monitor events"), for the metrics of
 * `sluice watch`. */
#pragma once

#include <stdint.h>

struct sl_kernel;

/* The events the datapath could not deliver to any monitor since
 * sluice_monitor_lost was made: its index SL_MONITOR_SLOTS summed over
 * the CPUs. -ENOENT: the map is not pinned (nothing applied yet); other
 * -errno: it could not be read. No kernel write. */
int sl_kernel_monitor_lost(struct sl_kernel *k, uint64_t *ret_total);
