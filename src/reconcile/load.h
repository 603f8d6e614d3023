/* SPDX-License-Identifier: Apache-2.0 */
/* Loading state files: read, parse, check their shape against the schema,
 * and merge the documents into one state. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "diag.h"
#include "model.h"

struct sl_loaded_doc;

struct sl_load {
	struct sl_state state;
	struct diag_list diags;
	struct arena arena;	 /* every string of the state */
	const char **files;	 /* the files read, in order (interned in diags) */
	size_t n_files, cap_files;
	const char **file_dirs;	 /* directory of each file, for relative key files */
	struct sl_loaded_doc *docs; /* loaded, not yet merged */
	size_t n_docs, cap_docs;
	/* FNV-1a over the names and bytes of everything read, in order, and
	 * over the errors of what could not be read: equal digests, equal
	 * input (watch tells drift from a change of its files by it). */
	uint64_t digest;
};

struct sl_loaded_doc {
	struct sl_doc *doc;
	const char *file;
};

/*
 * Load PATHs (files, directories, or "-" for standard input) into ld->state.
 * Problems with the input are collected in ld->diags; the return value is
 * negative only when the loader itself could not go on (out of memory).
 */
int sl_load_paths(struct sl_load *ld, char *const *paths, size_t n_paths);

/* Load one buffer as if it were the file `name` (tests, standard input). */
int sl_load_buffer(struct sl_load *ld, const char *name, const char *dir, const char *buf, size_t len);

/* Merge what was loaded and fill defaults; call once after the loads. */
int sl_load_finish(struct sl_load *ld);

void sl_load_free(struct sl_load *ld);

/* Whether a directory entry is read as state: *.yaml or *.yml, not hidden,
 * not an editor's leftover. */
bool sl_state_file_name(const char *name);
