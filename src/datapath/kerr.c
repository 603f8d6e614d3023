/* SPDX-License-Identifier: Apache-2.0 */
/* kerr: an error message for people (kerr.h). */
#include "kerr.h"

#include <stdarg.h>
#include <stdio.h>

void kerr(struct sl_kerr *e, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}
