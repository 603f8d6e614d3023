/* SPDX-License-Identifier: Apache-2.0 */
/* Diagnostics about the state files: each names file:line:col, the document
 * path and what is wrong. They are collected, sorted, and reported once. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/strbuf.h"
#include "common/util.h"

enum diag_severity { DIAG_ERROR, DIAG_WARNING, DIAG__MAX };

struct diag {
	const char *file; /* owned by the list's file table */
	uint32_t line, col;
	enum diag_severity severity;
	char *path; /* document path, e.g. policies[web-in].ingress[0] */
	char *message;
	size_t seq; /* order of report, to keep the sort stable */
};

struct diag_list {
	struct diag *v;
	size_t n, cap;
	size_t n_errors, n_warnings;
	char **files; /* interned file names */
	size_t n_files, cap_files;
	bool out_of_memory;
};

/* Intern a file name; diagnostics point at the copy, which lives as long as
 * the list. */
const char *diag_file(struct diag_list *l, const char *name);

void diag_add(struct diag_list *l, enum diag_severity sev, const char *file, uint32_t line, uint32_t col,
	      const char *path, const char *fmt, ...) _printf_(7, 8);
void diag_vadd(struct diag_list *l, enum diag_severity sev, const char *file, uint32_t line, uint32_t col,
	       const char *path, const char *fmt, va_list ap);

/* Sort by file (in the order files were interned), line, column, report order. */
void diag_sort(struct diag_list *l);

/* "FILE:LINE:COL: [warning: ]PATH: MESSAGE" lines. */
void diag_print_text(const struct diag_list *l, FILE *out, bool color);
/* The diagnostics as a JSON array. */
int diag_json(const struct diag_list *l, struct strbuf *b);

/* Take back diagnostic i (one that later input showed to be a consequence of
 * another). */
void diag_remove(struct diag_list *l, size_t i);

void diag_list_free(struct diag_list *l);

/* Whether a name can stand in a document path, as in endpoints[web-1]. */
bool diag_path_name_ok(const char *name);

/*
 * How much of the input a diagnostic quotes (sluice-state(5), ERRORS):
 * a value or key of the state up to DIAG_QUOTE_MAX characters, then "..."
 * and its length in bytes; inside the encryption section (where a typo can
 * put key material anywhere) at most DIAG_QUOTE_SECRET characters and no
 * length; a key file's path up to DIAG_QUOTE_PATH_MAX characters. Control
 * characters are not removed here: every text output escapes them
 * (strbuf_add_escaped), JSON escapes them its own way.
 */
#define DIAG_QUOTE_MAX 64
#define DIAG_QUOTE_SECRET 4
#define DIAG_QUOTE_PATH_MAX 256

enum {
	DIAG_Q_QUOTES = 1 << 0, /* 'value' */
	DIAG_Q_LENGTH = 1 << 1, /* when cut: the length in bytes after it, as 'abc...' (70000 bytes) */
};

/*
 * s as a message quotes it: its first `max` characters (never a character
 * cut in two), "..." when there is more, with `flags`. The text lives in
 * one of 8 thread-local buffers used in turn: use it in the call it is
 * made for (up to 8 quotes in one call).
 */
const char *diag_quote(const char *s, size_t max, unsigned flags);

/* 'value', cut at DIAG_QUOTE_MAX characters, with the length when cut. */
static inline const char *diag_q(const char *s)
{
	return diag_quote(s, DIAG_QUOTE_MAX, DIAG_Q_QUOTES | DIAG_Q_LENGTH);
}

/* The same without the quotes (numbers, lists of names). */
static inline const char *diag_cut(const char *s)
{
	return diag_quote(s, DIAG_QUOTE_MAX, DIAG_Q_LENGTH);
}

/* What may be key material: 'abcd...', at most DIAG_QUOTE_SECRET characters. */
static inline const char *diag_q_secret(const char *s)
{
	return diag_quote(s, DIAG_QUOTE_SECRET, DIAG_Q_QUOTES);
}

/* Append a key of the input (a label key) as a segment of a document path:
 * as it is up to DIAG_QUOTE_MAX characters, else cut, with "...". */
int diag_path_add_key(struct strbuf *b, const char *key);
