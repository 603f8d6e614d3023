/* SPDX-License-Identifier: Apache-2.0 */
#include "util.h"

#include <stdint.h>

int grow_array(void **v, size_t *cap, size_t need, size_t elem_size)
{
	size_t n = *cap ? *cap : 8;
	void *p;

	if (need <= *cap)
		return 0;
	while (n < need) {
		if (n > SIZE_MAX / 2 / elem_size)
			return -ENOMEM;
		n *= 2;
	}
	p = realloc(*v, n * elem_size);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = n;
	return 0;
}
