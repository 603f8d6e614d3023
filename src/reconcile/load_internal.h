/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the loader's files share (load.h is the API): load.c (files,
 * directories, standard input) calls load_cache.c (watch's cache of parsed
 * files), which calls load_walk.c (the YAML event walker), which calls
 * load_stream.c (limits and reading); load_merge.c merges the documents.
 * Nothing calls upwards.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "load.h"
#include "model.h"
#include "schema.h"

/* A stream being read (a file, standard input, a FIFO): at most `limit`
 * bytes, each added to the load's digest on the way. */
struct stream_in {
	FILE *f;
	struct sl_load *ld;
	size_t limit, total;
	bool total_limit; /* the limit is what is left of the state's, not the file's */
	bool over;	  /* there was more than limit: reading stopped */
	bool reported;
	int err;	  /* a read failed: its errno */
	uint64_t hash;	  /* FNV-1a of the bytes read, from FNV1A64_INIT */
};

/* A file's bytes in the load's digest: their own hash (FNV-1a), folded
 * in after the file's name, so that a file's part is computed once for
 * its bytes whatever came before it (the cache keeps it). */
static inline void load_digest_fold(struct sl_load *ld, uint64_t bytes_hash)
{
	ld->digest = fnv1a64(ld->digest, &bytes_hash, sizeof(bytes_hash));
}

/* ---- load_stream.c ---- */

size_t load_file_max(const struct sl_load *ld);
size_t load_total_max(const struct sl_load *ld);
/* How much more a file may hold, into in->limit. */
void load_stream_limit(const struct sl_load *ld, struct stream_in *in);
void load_too_large(struct sl_load *ld, const char *file, bool total, size_t size);
void load_stream_stopped(struct stream_in *in, const char *file);
int load_read_stream(void *data, unsigned char *buf, size_t size, size_t *size_read);
void load_digest_error(struct sl_load *ld, const char *name, int err);
bool load_fits(struct sl_load *ld, const char *file, size_t size);
void load_wipe_free(void *p, size_t len);
int load_read_all(int fd, size_t size_hint, size_t max, unsigned char **ret, size_t *ret_len);

/* ---- load_walk.c ---- */

/* Store v in an unsigned field of `size` bytes. */
void load_store_uint(void *dst, uint32_t size, uint64_t v);
int load_add_doc(struct sl_load *ld, struct sl_doc *doc, const char *file);
int load_add_file(struct sl_load *ld, const char *file, const char *dir);
/* Parse buf as the file `name` (its bytes are not added to the digest). */
int load_parse_buffer(struct sl_load *ld, const char *name, const char *dir, const char *buf, size_t len);
int load_parse_stream(struct sl_load *ld, const char *name, const char *dir, struct stream_in *in);

/* ---- load_cache.c ---- */

/* load.c's load_fd with a cache: read the whole file, parse it only if its
 * bytes are not the ones the cache parsed last. */
int load_cache_fd(struct sl_load *ld, struct sl_load_cache *c, int fd, size_t size, bool regular, const char *name,
		  const char *dir);
void load_cache_begin(struct sl_load_cache *cache);
/* A file as watch's cache parsed it (load_cache.c), held by reference by
 * the cache, the loads and the section patches given its items. */
struct sl_parse {
	unsigned refs;	   /* the cache's, the loads' and patches' that hold it */
	struct sl_load ld; /* its documents, unmerged, and its diagnostics */
};

static inline struct sl_parse *load_parse_ref(struct sl_parse *p)
{
	p->refs++;
	return p;
}

/* Drop a hold on a parse (the last frees it, wiped; load_merge.c). */
void load_parse_unref(struct sl_parse *p);

/* A document's list of field f (an SL_DOC_* list): its items, *n of them,
 * esize bytes each; and setting it. */
static inline void *load_doc_list(const struct sl_doc *d, unsigned f, uint64_t *n, size_t *esize)
{
	const cyaml_schema_field_t *sf = &sl_schema_doc.mapping.fields[f];

	*n = sl_schema_load_count((const char *)d + sf->count_offset, sf->count_size);
	*esize = sf->value.sequence.entry->data_size;
	return *(void *const *)((const char *)d + sf->data_offset);
}

static inline void load_doc_list_set(struct sl_doc *d, unsigned f, void *v, uint64_t n)
{
	const cyaml_schema_field_t *sf = &sl_schema_doc.mapping.fields[f];

	*(void **)((char *)d + sf->data_offset) = v;
	load_store_uint((char *)d + sf->count_offset, sf->count_size, n);
}

/* The lists of a document whose items a load from watch's cache shares
 * with the cache's parse of their file (sl_load.held). */
static const unsigned load_shared_lists[] = { SL_DOC_NODES, SL_DOC_IDENTITIES, SL_DOC_ENDPOINTS, SL_DOC_SERVICES };
/* Whether ld holds a parse of file (its shared lists' items are one's). */
bool load_file_held(const struct sl_load *ld, const char *file);
/* Free the arrays of a document's shared lists (not their items' strings
 * and lists, a parse's) and empty them: before a document of a load from
 * the cache is freed with the schema. */
void load_doc_drop_shared(struct sl_doc *d);
/* ---- load_merge.c ---- */
/* The defaults a merge fills in a service (its protocol, its backends'
 * ports and weights). */
void load_fill_service_defaults(struct sl_service *svc);
/* A patch's items (section: SL_DOC_SERVICES or SL_DOC_ENDPOINTS): their
 * file and index set, the defaults a merge fills filled. */
void load_section_items_set(unsigned section, void *v, uint32_t n, const char *file);
/* The file's items of a list in good (one slice); -EAGAIN when the file
 * holds anything else, or its items are not together. */
int sl_load_file_section(const struct sl_load *good, const char *file, unsigned section, void **v, uint32_t *n);
void load_cache_end(struct sl_load_cache *cache);
