/* SPDX-License-Identifier: Apache-2.0 */
/* A growable NUL-terminated string. */
#pragma once

#include <stdarg.h>
#include <stddef.h>

#include "util.h"

struct strbuf {
	char *s;
	size_t len;
	size_t cap;
};

int strbuf_add(struct strbuf *b, const char *s, size_t len);
int strbuf_adds(struct strbuf *b, const char *s);
int strbuf_addf(struct strbuf *b, const char *fmt, ...) _printf_(2, 3);
int strbuf_vaddf(struct strbuf *b, const char *fmt, va_list ap);
/* Append s as a JSON string literal, quotes included. */
int strbuf_add_json_str(struct strbuf *b, const char *s);
void strbuf_truncate(struct strbuf *b, size_t len);
void strbuf_free(struct strbuf *b);
/* The string; never NULL. */
static inline const char *strbuf_str(const struct strbuf *b)
{
	return b->s ? b->s : "";
}
