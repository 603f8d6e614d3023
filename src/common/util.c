/* SPDX-License-Identifier: Apache-2.0 */
#include "util.h"

#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

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

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

void madvise_within(const void *from, const void *to, size_t unit, int advice)
{
	uintptr_t a = ((uintptr_t)from + unit - 1) & ~(uintptr_t)(unit - 1), b = (uintptr_t)to & ~(uintptr_t)(unit - 1);

	if (b > a)
		(void)madvise((void *)a, b - a, advice);
}

void prefault(void *p, size_t len)
{
	static long page;

	if (len < ((size_t)1 << 20))
		return;
	if (!page)
		page = sysconf(_SC_PAGESIZE) > 0 ? sysconf(_SC_PAGESIZE) : 4096;
	madvise_within(p, (char *)p + len, (size_t)page, MADV_POPULATE_WRITE);
}
