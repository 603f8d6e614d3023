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

/*
 * Limits on the input (sluice-state(5), LIMITS): bytes of one state file,
 * bytes of all the files of one load together, how deep mappings and lists
 * may nest (a state needs 10 levels at most), and the errors of shape one
 * file may give before the rest of it is not read.
 */
#define SL_LOAD_FILE_MAX ((size_t)64 << 20)
#define SL_LOAD_TOTAL_MAX ((size_t)256 << 20)
#define SL_LOAD_DEPTH_MAX 64
#define SL_LOAD_ERRORS_MAX 1000

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
	/* Set by a caller that never reads the digest (apply, diff,
	 * validate: only watch compares digests) before it loads: the files'
	 * bytes are then not hashed (1.3 MB of 10,000 services took 3-4 ms). */
	bool no_digest;
	/* The limits, 0 for SL_LOAD_FILE_MAX and SL_LOAD_TOTAL_MAX (tests set
	 * small ones), and the bytes read so far against the second. */
	size_t max_file_bytes, max_total_bytes;
	size_t bytes_read;
	/* What a load from watch's cache shares with the cache's parses: by
	 * file (one reference each), the parse whose items the file's nodes,
	 * identities, endpoints and services are; their strings, lists and
	 * mappings are the parse's, the items themselves the load's. A
	 * file's items are shared if and only if the file is here. */
	struct sl_held *held;
	size_t n_held;
};

struct sl_parse;
struct sl_held {
	const char *file;
	struct sl_parse *parse;
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

/*
 * What a load parsed, by file, for the next load of the same paths (watch):
 * a file whose bytes are the same as last time is not parsed again, its
 * documents and diagnostics are copied from here. Every file is still read
 * in full each time and compared with what was parsed by its length and a
 * 128-bit fingerprint (XXH3) of its bytes (the files are the truth; no
 * stat or mtime decides anything), and the result is the same sl_load,
 * digest included, as a load without the cache. Files the last load did
 * not read (deleted, renamed) are dropped from it. It holds strings that
 * may be key material (not the files' bytes, wiped once parsed): all of
 * it is wiped when it is freed or replaced.
 */
struct sl_cached_file;
struct sl_load_cache {
	bool scan; /* sl_load_paths_scan: no document copied into the load */
	struct sl_cached_file *files;
	size_t n_files, cap_files;
	size_t next;		/* where the next lookup starts (files come in order) */
	size_t parsed, reused;	/* files parsed and files copied from here by the last load */
};

/* sl_load_paths with a cache (NULL: none). Standard input is never cached. */
int sl_load_paths_cached(struct sl_load *ld, struct sl_load_cache *cache, char *const *paths, size_t n_paths);

/* Free (and wipe) everything the cache holds; it can be used again after. */
void sl_load_cache_free(struct sl_load_cache *cache);

/*
 * The scan of watch's incremental path: sl_load_paths_cached without
 * copying any document into ld (ld gets the files read, the digest, and
 * the errors of what could not be read); the cache marks the files whose
 * bytes it parsed anew, which sl_load_cache_fresh then gives, one by one
 * (*i from 0; NULL after the last).
 */
int sl_load_paths_scan(struct sl_load *ld, struct sl_load_cache *cache, char *const *paths, size_t n_paths);
const struct sl_load *sl_load_cache_fresh(const struct sl_load_cache *cache, size_t *i, const char **name);

/*
 * A change of one file that holds one list and nothing else, before and
 * after (services, or endpoints), made to a loaded state without loading
 * the others again (watch). sl_section_patch_make copies that list from
 * parsed (the file as the cache parsed it anew), with the defaults a load
 * fills (the items' strings and lists stay parsed's, which the patch
 * holds); after validation and the apply, sl_load_section_replace puts the
 * items in place of the file's old ones in good (taking p's memory and
 * its hold).
 * The patch holds the file's items in good (old, n_old: one slice, as a
 * merge keeps a file's items together). Each returns 0; -EAGAIN
 * when the change is not of that kind (the file holds or held something
 * else, or two lists; it is not one of good's files); -ENOMEM.
 */
struct sl_section_patch {
	unsigned section; /* SL_DOC_SERVICES or SL_DOC_ENDPOINTS */
	const char *file; /* as good names it */
	void *v;	  /* struct sl_service or struct sl_endpoint items */
	uint32_t n;
	struct sl_parse *parse; /* whose the items' strings and lists are (held) */
	void *old;	    /* the file's items in good (a slice of its list) */
	uint32_t n_old;
};
int sl_section_patch_make(const struct sl_load *good, const char *name, const struct sl_load *parsed,
			  struct sl_section_patch *p);
int sl_load_section_replace(struct sl_load *good, struct sl_section_patch *p);
void sl_section_patch_free(struct sl_section_patch *p);

/* Merge what was loaded and fill defaults; call once after the loads. */
int sl_load_finish(struct sl_load *ld);

void sl_load_free(struct sl_load *ld);

/* Whether a directory entry is read as state: *.yaml or *.yml, not hidden,
 * not an editor's leftover. Such an entry must be a regular file or a
 * symlink to one; anything else (a directory, a FIFO, a dangling symlink)
 * is an error that names it. */
bool sl_state_file_name(const char *name);
