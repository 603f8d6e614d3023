/* SPDX-License-Identifier: Apache-2.0 */
/* Libraries loaded when first needed (dlib.h). */
#include "dlib.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>

int sl_dlib_load(const char *soname, const char *const *names, void **ret_fns, size_t n, char *why, size_t why_len)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		snprintf(why, why_len, "%s", dlerror());
		return -ENOENT;
	}
	for (size_t i = 0; i < n; i++) {
		dlerror();
		ret_fns[i] = dlsym(h, names[i]);
		if (!ret_fns[i]) {
			const char *e = dlerror();

			snprintf(why, why_len, "%s: %s", soname, e ? e : "a function is missing");
			dlclose(h);
			return -ENOENT;
		}
	}
	return 0;
}
