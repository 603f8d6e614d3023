/* SPDX-License-Identifier: Apache-2.0 */
/* Walking a table of kernel backends (backend.h): no kernel call of its own. */
#include "backend.h"

struct sl_kernel_progress sl_kernel_progress;

const char *const kernel_phase_name[KERNEL_PHASE__MAX] = {
	"create",	"entries", "settle", "programs", "routes-add", "routes-remove",
	"detach",	"devices-remove", "entries-remove", "xfrm-remove", "finish",
};

int kernel_walk_observe(const struct kernel_backend *const *t, size_t n, struct sl_kernel *k,
			struct sl_objset *live, struct sl_kerr *e)
{
	int r = 0;

	for (size_t i = 0; r >= 0 && i < n; i++)
		if (t[i]->observe)
			r = t[i]->observe(k, live, e);
	return r;
}

int kernel_walk_preflight(const struct kernel_backend *const *t, size_t n, struct sl_kernel *k,
			  const struct sl_objset *want, const struct sl_objset *have, struct sl_kerr *e)
{
	int r = 0;

	for (size_t i = 0; r >= 0 && i < n; i++)
		if (t[i]->preflight)
			r = t[i]->preflight(k, want, have, e);
	return r;
}

int kernel_walk_apply(const struct kernel_backend *const *t, size_t n, struct sl_kernel *k,
		      const struct sl_objset *want, const struct sl_objset *have, const struct sl_diff *d,
		      double ms[KERNEL_PHASE__MAX], struct sl_kerr *e)
{
	int r = 0;

	for (int p = 0; p < KERNEL_PHASE__MAX; p++) {
		double t0 = kernel_mono_ms();

		kernel_progress(kernel_phase_name[p], 0);
		for (size_t i = 0; i < n; i++) {
			if (!t[i]->apply)
				continue;
			if (r >= 0) {
				r = t[i]->apply(k, want, have, d, (enum kernel_phase)p, e);
			} else if (kernel_phase_always((enum kernel_phase)p)) {
				struct sl_kerr ignored;

				t[i]->apply(k, want, have, d, (enum kernel_phase)p, &ignored);
			}
		}
		if (ms)
			ms[p] = kernel_mono_ms() - t0;
	}
	return r;
}
