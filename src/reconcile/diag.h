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
