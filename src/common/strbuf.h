/* SPDX-License-Identifier: Apache-2.0 */
/* A growable NUL-terminated string. */
#pragma once

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

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
/* Append s as a JSON string literal, quotes included: control characters
 * (C0, DEL, C1) and the bidirectional controls as escapes, and each byte
 * that is not part of valid UTF-8 as U+FFFD, so that the document is valid
 * JSON whatever bytes s holds. */
int strbuf_add_json_str(struct strbuf *b, const char *s);
/* Append s for a terminal or a log line: what a terminal would act on is
 * written as an escape instead, \n, \r, \t, or \xNN for the other C0
 * controls and DEL and for each byte that is not part of valid UTF-8, and
 * \uNNNN for the C1 controls (U+0080..U+009F) and the bidirectional
 * controls (U+200E, U+200F, U+202A..U+202E, U+2066..U+2069). Everything
 * else, a backslash included, is copied as it is. */
int strbuf_add_escaped(struct strbuf *b, const char *s);
/* s escaped as strbuf_add_escaped does, for a message that names what the
 * user gave (a path, an option's value, a kernel message quoting one):
 * cut at 1024 bytes with "...", in one of 8 thread-local buffers used in
 * turn (up to 8 in one call). */
const char *str_esc(const char *s);
/* The length of the UTF-8 sequence at s (1..4) and its code point, or 0
 * when s does not start a valid one (overlong, surrogate, beyond U+10FFFF,
 * cut short). s is NUL-terminated. */
int utf8_decode(const char *s, uint32_t *ret_cp);
void strbuf_truncate(struct strbuf *b, size_t len);
void strbuf_free(struct strbuf *b);
/* The string; never NULL. */
static inline const char *strbuf_str(const struct strbuf *b)
{
	return b->s ? b->s : "";
}
