/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a scrape reads from the kernel: the fill of each map and the drop
 * and traffic counters as `sluice status` reads them, and the monitor's
 * lost events. A handle of its own, opened read only (no lock, no pin
 * directory made) and closed after the read: watch's handle belongs to
 * watch's thread alone.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/strbuf.h"
#include "datapath/monitor_lost.h"
#include "metrics.h"

int metrics_read_datapath(const char *pin_dir, struct sl_kernel_status *st, uint64_t *ret_lost, char *why,
			  size_t why_len)
{
	struct sl_kernel *k = NULL;
	struct sl_kerr e = { "" };
	int r;

	*ret_lost = 0;
	memset(st, 0, sizeof(*st));
	r = sl_kernel_open(pin_dir, false, &k, &e);
	if (r >= 0)
		r = sl_kernel_status(k, st, &e);
	if (r < 0) {
		snprintf(why, why_len, "%s", e.msg[0] ? e.msg : strerror(-r));
		sl_kernel_status_free(st);
		sl_kernel_close(k);
		return r;
	}
	/* No such map (nothing applied yet, or programs without the
	 * monitor): nothing was lost. */
	r = sl_kernel_monitor_lost(k, ret_lost);
	if (r == -ENOENT)
		r = 0;
	if (r < 0) {
		snprintf(why, why_len, "%s: %s", "sluice_monitor_lost", strerror(-r));
		sl_kernel_status_free(st);
	}
	sl_kernel_close(k);
	return r;
}
