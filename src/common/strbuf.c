/* SPDX-License-Identifier: Apache-2.0 */
#include "strbuf.h"

#include <stdbool.h>
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

int utf8_decode(const char *str, uint32_t *ret_cp)
{
	const unsigned char *s = (const unsigned char *)str;
	uint32_t cp;
	int n;

	if (s[0] < 0x80) {
		*ret_cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0; /* the NUL at the end stops here too */
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*ret_cp = cp;
	return n;
}

/* Code points that make a terminal do something, or reorder what it shows. */
static bool cp_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

int strbuf_add_json_str(struct strbuf *b, const char *s)
{
	int r = strbuf_add(b, "\"", 1);

	while (r >= 0 && *s) {
		const char *run = s;
		uint32_t cp = 0;
		int n = 0;

		/* Copy the plain run at once. */
		while (*s && *s != '"' && *s != '\\' && (unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f)
			s++;
		if (s > run)
			r = strbuf_add(b, run, (size_t)(s - run));
		if (r < 0 || !*s)
			break;
		switch (*s) {
		case '"':
			r = strbuf_add(b, "\\\"", 2), n = 1;
			break;
		case '\\':
			r = strbuf_add(b, "\\\\", 2), n = 1;
			break;
		case '\n':
			r = strbuf_add(b, "\\n", 2), n = 1;
			break;
		case '\t':
			r = strbuf_add(b, "\\t", 2), n = 1;
			break;
		case '\r':
			r = strbuf_add(b, "\\r", 2), n = 1;
			break;
		default:
			n = utf8_decode(s, &cp);
			if (!n)
				r = strbuf_add(b, "\\ufffd", 6), n = 1;
			else if (cp_control(cp))
				r = strbuf_addf(b, "\\u%04x", (unsigned)cp);
			else
				r = strbuf_add(b, s, (size_t)n);
		}
		s += n;
	}
	return r < 0 ? r : strbuf_add(b, "\"", 1);
}

int strbuf_add_escaped(struct strbuf *b, const char *s)
{
	int r = 0;

	while (r >= 0 && *s) {
		const char *run = s;
		uint32_t cp = 0;
		int n;

		while (*s && (unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f)
			s++;
		if (s > run)
			r = strbuf_add(b, run, (size_t)(s - run));
		if (r < 0 || !*s)
			break;
		n = utf8_decode(s, &cp);
		if (!n) {
			r = strbuf_addf(b, "\\x%02x", (unsigned char)*s);
			n = 1;
		} else if (cp == '\n') {
			r = strbuf_add(b, "\\n", 2);
		} else if (cp == '\r') {
			r = strbuf_add(b, "\\r", 2);
		} else if (cp == '\t') {
			r = strbuf_add(b, "\\t", 2);
		} else if (cp < 0x80 && cp_control(cp)) {
			r = strbuf_addf(b, "\\x%02x", (unsigned)cp);
		} else if (cp_control(cp)) {
			r = strbuf_addf(b, "\\u%04x", (unsigned)cp);
		} else {
			r = strbuf_add(b, s, (size_t)n);
		}
		s += n;
	}
	return r;
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

const char *str_esc(const char *s)
{
	static _Thread_local char bufs[8][1040];
	static _Thread_local unsigned next;
	char *out = bufs[next++ % 8];
	struct strbuf b = {};

	if (!s)
		return "(null)";
	if (strbuf_add_escaped(&b, s) < 0) {
		strbuf_free(&b);
		return "(out of memory)";
	}
	if (b.len > 1024)
		snprintf(out, sizeof(bufs[0]), "%.1021s...", strbuf_str(&b));
	else
		snprintf(out, sizeof(bufs[0]), "%s", strbuf_str(&b));
	strbuf_free(&b);
	return out;
}
