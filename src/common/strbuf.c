/* SPDX-License-Identifier: Apache-2.0 */
#include "strbuf.h"

#include <stdio.h>
#include <string.h>

static int strbuf_reserve(struct strbuf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	size_t cap = b->cap ? b->cap : 64;
	char *p;

	if (need <= b->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	p = realloc(b->s, cap);
	if (!p)
		return -ENOMEM;
	b->s = p;
	b->cap = cap;
	return 0;
}

int strbuf_add(struct strbuf *b, const char *s, size_t len)
{
	int r = strbuf_reserve(b, len);

	if (r < 0)
		return r;
	memcpy(b->s + b->len, s, len);
	b->len += len;
	b->s[b->len] = '\0';
	return 0;
}

int strbuf_adds(struct strbuf *b, const char *s)
{
	return strbuf_add(b, s, strlen(s));
}

int strbuf_vaddf(struct strbuf *b, const char *fmt, va_list ap)
{
	va_list aq;
	int n, r;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return -EINVAL;
	r = strbuf_reserve(b, (size_t)n);
	if (r < 0)
		return r;
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int strbuf_addf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = strbuf_vaddf(b, fmt, ap);
	va_end(ap);
	return r;
}

int strbuf_add_json_str(struct strbuf *b, const char *s)
{
	int r = strbuf_add(b, "\"", 1);

	for (; r >= 0 && *s; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '"':
			r = strbuf_add(b, "\\\"", 2);
			break;
		case '\\':
			r = strbuf_add(b, "\\\\", 2);
			break;
		case '\n':
			r = strbuf_add(b, "\\n", 2);
			break;
		case '\t':
			r = strbuf_add(b, "\\t", 2);
			break;
		case '\r':
			r = strbuf_add(b, "\\r", 2);
			break;
		default:
			if (c < 0x20)
				r = strbuf_addf(b, "\\u%04x", c);
			else
				r = strbuf_add(b, s, 1);
		}
	}
	return r < 0 ? r : strbuf_add(b, "\"", 1);
}

void strbuf_truncate(struct strbuf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->s[len] = '\0';
	}
}

void strbuf_free(struct strbuf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}
