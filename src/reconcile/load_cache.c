/* SPDX-License-Identifier: Apache-2.0 */
/* Watch's cache of parsed files (sl_load_cache in load.h). */
#include "load_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <xxhash.h>

#include "schema.h"

/* What cache_same reads at a time. */
#define CACHE_READ_CHUNK (64 << 10)

/* ---- the cache of parsed files (sl_load_cache) ----
 *
 * A file is parsed alone into an sl_load of its own (its documents not
 * merged, its diagnostics numbered from 0), an sl_parse, which the cache
 * keeps with the length and a 128-bit fingerprint (XXH3, libxxhash) of
 * the bytes it was parsed from, not the bytes: 3.5 MB of 20,000 services
 * was watch's largest part after the parsed state. A load that reads the
 * same bytes again (the same length and fingerprint) gets that file's
 * diagnostics, renumbered from where they would have started, and its
 * documents: what the load gets is what parsing the file there would have
 * given it, and the merge (sl_load_finish) may take the documents apart as
 * it does parsed ones.
 *
 * The documents' lists of nodes, identities, endpoints and services (the
 * bulk of a large state) are not copied deeper than their arrays: their
 * items' strings, lists and mappings stay the parse's, which the load
 * holds (a reference, sl_load.held) for as long as it has them. A copy of
 * them all was half of watch's memory (7.5 MB of 20,000 services). What a
 * merge and validation write into what items point to is the same for the
 * same bytes (a default, an address parsed), never anything of the load's
 * own: what they make of the load's own (a list of prefixes in its arena)
 * goes into the items themselves, which are the load's. Everything else
 * (policies, the singletons, keys) is copied whole, as before.
 */

struct sl_cached_file {
	char *name;	      /* the file as the diagnostics name it */
	XXH128_hash_t fingerprint; /* of what was parsed */
	size_t len;
	uint64_t bytes_hash; /* the bytes' part of a load's digest (load_digest_fold) */
	struct sl_parse *parse;		/* what it was parsed into (one reference) */
	bool used;			/* read by the current load */
	bool fresh;			/* parsed by the current load */
};

static size_t seq_entry_size(const cyaml_schema_value_t *e)
{
	return e->flags & CYAML_FLAG_POINTER && e->type == CYAML_STRING ? sizeof(char *) : e->data_size;
}

/* Make the struct at obj (a byte copy of another) own nothing yet, so that
 * sl_schema_free_mapping may free it whatever point a copy failed at. */
static void detach_mapping(const cyaml_schema_value_t *s, void *obj)
{
	for (const cyaml_schema_field_t *f = s->mapping.fields; f->key; f++) {
		char *p = (char *)obj + f->data_offset;

		if (f->value.type == CYAML_STRING) {
			*(char **)p = NULL;
		} else if (f->value.type == CYAML_MAPPING) {
			if (f->value.flags & CYAML_FLAG_POINTER)
				*(void **)p = NULL;
			else
				detach_mapping(&f->value, p);
		} else if (f->value.type == CYAML_SEQUENCE) {
			*(char **)p = NULL;
			if (sl_schema_is_scalar_seq(f))
				*(void **)((char *)obj + sl_schema_marks_offset(f)) = NULL;
		}
	}
}

static int copy_str(char **dst, const char *src, struct arena *a)
{
	if (!src)
		return 0;
	*dst = arena_strndup(a, src, strlen(src));
	return *dst ? 0 : -ENOMEM;
}

static int copy_mapping(const cyaml_schema_value_t *s, void *dst, const void *src, struct arena *a);

/* Copy the sequence of field f from the struct at src to the one at dst,
 * which is detached. */
static int copy_sequence(const cyaml_schema_field_t *f, char *dst, const char *src, struct arena *a)
{
	const cyaml_schema_value_t *e = f->value.sequence.entry;
	size_t esize = seq_entry_size(e);
	const char *from = *(char *const *)(src + f->data_offset);
	uint64_t n = sl_schema_load_count(src + f->count_offset, f->count_size);
	char *to;

	if (!from || !n)
		return 0;
	to = malloc(n * esize);
	if (!to)
		return -ENOMEM;
	*(char **)(dst + f->data_offset) = to;
	if (e->type == CYAML_MAPPING) {
		for (uint64_t i = 0; i < n; i++) {
			int r = copy_mapping(e, to + i * esize, from + i * esize, a);

			if (r < 0) {
				/* Free what item i has; the list ends before it. */
				sl_schema_free_mapping(e, to + i * esize);
				load_store_uint(dst + f->count_offset, f->count_size, i);
				return r;
			}
		}
	} else if (e->type == CYAML_STRING) {
		memset(to, 0, n * esize);
		for (uint64_t i = 0; i < n; i++)
			if (copy_str(&((char **)to)[i], ((char *const *)from)[i], a) < 0)
				return -ENOMEM;
	} else {
		memcpy(to, from, n * esize);
	}
	if (sl_schema_is_scalar_seq(f)) {
		const struct sl_mark *fm = *(struct sl_mark *const *)(src + sl_schema_marks_offset(f));
		struct sl_mark *tm;

		if (fm) {
			tm = malloc(n * sizeof(*tm));
			if (!tm)
				return -ENOMEM;
			memcpy(tm, fm, n * sizeof(*tm));
			*(struct sl_mark **)(dst + sl_schema_marks_offset(f)) = tm;
		}
	}
	return 0;
}

/* Deep copy of a loaded mapping, its strings into arena a. On failure dst
 * owns only what was copied: free it with sl_schema_free_mapping. */
static int copy_mapping(const cyaml_schema_value_t *s, void *dst, const void *src, struct arena *a)
{
	int r = 0;

	memcpy(dst, src, s->data_size);
	detach_mapping(s, dst);
	for (const cyaml_schema_field_t *f = s->mapping.fields; f->key && r >= 0; f++) {
		char *d = (char *)dst + f->data_offset;
		const char *p = (const char *)src + f->data_offset;

		if (f->value.type == CYAML_STRING) {
			r = copy_str((char **)d, *(char *const *)p, a);
		} else if (f->value.type == CYAML_MAPPING && !(f->value.flags & CYAML_FLAG_POINTER)) {
			r = copy_mapping(&f->value, d, p, a);
		} else if (f->value.type == CYAML_MAPPING) {
			const void *sub = *(void *const *)p;
			void *copy;

			if (!sub)
				continue;
			copy = malloc(f->value.data_size);
			if (!copy)
				return -ENOMEM;
			*(void **)d = copy;
			r = copy_mapping(&f->value, copy, sub, a);
		} else if (f->value.type == CYAML_SEQUENCE) {
			r = copy_sequence(f, dst, src, a);
		}
	}
	return r;
}

/* Free what one cached file holds (its parse, when no load holds it). */
static void cached_file_clear(struct sl_cached_file *cf)
{
	load_parse_unref(cf->parse);
	cf->parse = NULL;
	cf->fingerprint = (XXH128_hash_t){};
	cf->len = 0;
	cf->bytes_hash = 0;
}

void sl_load_cache_free(struct sl_load_cache *c)
{
	for (size_t i = 0; i < c->n_files; i++) {
		cached_file_clear(&c->files[i]);
		free(c->files[i].name);
	}
	free(c->files);
	*c = (struct sl_load_cache){};
}

static struct sl_cached_file *cache_find(struct sl_load_cache *c, const char *name)
{
	for (size_t k = 0; k < c->n_files; k++) {
		size_t i = (c->next + k) % c->n_files;

		if (streq(c->files[i].name, name)) {
			c->next = i + 1;
			return &c->files[i];
		}
	}
	return NULL;
}

/* Parse bytes (taken: wiped and freed) of fingerprint fp as the file
 * `name` into the cache. */
static int cache_parse(struct sl_load_cache *c, const char *name, unsigned char *bytes, size_t len,
		       XXH128_hash_t fp, struct sl_cached_file **ret)
{
	struct sl_parse *np = calloc(1, sizeof(*np));
	struct sl_cached_file *cf = cache_find(c, name);
	uint64_t bytes_hash;
	int r = np ? 0 : -ENOMEM;

	if (np) {
		np->refs = 1;
		r = load_parse_buffer(&np->ld, name, ".", (const char *)bytes, len);
	}
	bytes_hash = fnv1a64(FNV1A64_INIT, bytes, len);
	load_wipe_free(bytes, len);
	if (r >= 0 && np->ld.diags.out_of_memory)
		r = -ENOMEM;
	if (r >= 0 && !cf) {
		char *copy = strdup(name);

		if (!copy || grow_array((void **)&c->files, &c->cap_files, c->n_files + 1, sizeof(*c->files)) < 0) {
			free(copy);
			r = -ENOMEM;
		} else {
			cf = &c->files[c->n_files++];
			*cf = (struct sl_cached_file){ .name = copy };
		}
	}
	if (r < 0) {
		load_parse_unref(np);
		return r;
	}
	cached_file_clear(cf);
	cf->parse = np;
	cf->fingerprint = fp;
	cf->len = len;
	cf->bytes_hash = bytes_hash;
	*ret = cf;
	return 0;
}

/* Give ld what the cache holds for a file, as if it had been parsed there
 * as `file` (interned in ld->diags): the diagnostics copied, the documents
 * copied but for the items of the shared lists, which stay the parse's
 * (ld holds it). */
static int cache_replay(struct sl_load *ld, const struct sl_cached_file *cf, const char *file)
{
	const struct sl_load *p = &cf->parse->ld;
	size_t base = ld->diags.n;
	struct sl_held *h;

	for (size_t i = 0; i < p->diags.n; i++) {
		const struct diag *d = &p->diags.v[i];
		size_t n = ld->diags.n;

		diag_add(&ld->diags, d->severity, file, d->line, d->col, d->path, "%s", d->message);
		if (ld->diags.n > n)
			ld->diags.v[n].seq = base + d->seq;
	}
	if (!p->n_docs)
		return 0;
	h = realloc(ld->held, (ld->n_held + 1) * sizeof(*h));
	if (!h)
		return -ENOMEM;
	ld->held = h;
	ld->held[ld->n_held++] = (struct sl_held){ .file = file, .parse = load_parse_ref(cf->parse) };
	for (size_t i = 0; i < p->n_docs; i++) {
		const struct sl_doc *src = p->docs[i].doc;
		struct sl_doc tmp = *src, *doc = malloc(sizeof(*doc));
		int r = doc ? 0 : -ENOMEM;

		for (size_t k = 0; k < ARRAY_SIZE(load_shared_lists); k++)
			load_doc_list_set(&tmp, load_shared_lists[k], NULL, 0);
		if (doc)
			r = copy_mapping(&sl_schema_doc, doc, &tmp, &ld->arena);
		for (size_t k = 0; k < ARRAY_SIZE(load_shared_lists) && r >= 0; k++) {
			size_t esize;
			uint64_t n;
			const void *from = load_doc_list(src, load_shared_lists[k], &n, &esize);
			void *to;

			if (!n || !from)
				continue;
			to = malloc(n * esize);
			if (!to) {
				r = -ENOMEM;
				break;
			}
			memcpy(to, from, n * esize);
			load_doc_list_set(doc, load_shared_lists[k], to, n);
		}
		if (r >= 0)
			r = load_add_doc(ld, doc, file);
		if (r < 0) {
			if (doc) {
				load_doc_drop_shared(doc);
				sl_schema_free_mapping(&sl_schema_doc, doc);
			}
			free(doc);
			return r;
		}
	}
	return 0;
}

/*
 * Whether the regular file at fd holds the very bytes the cache parsed
 * last as cf (by length and fingerprint), read through a small buffer:
 * a large file that did not change is not held in memory whole for it.
 * Read with pread: fd stays at its start for the caller's read when not
 * (or on any error, which that read then says).
 */
static bool cache_same(struct sl_cached_file *cf, int fd, size_t size, size_t max)
{
	XXH3_state_t *st = cf && cf->len == size && size <= max ? XXH3_createState() : NULL;
	unsigned char *buf = st ? malloc(CACHE_READ_CHUNK) : NULL;
	size_t len = 0;
	bool same = false;

	if (buf && XXH3_128bits_reset(st) == XXH_OK) {
		for (;;) {
			ssize_t n = pread(fd, buf, CACHE_READ_CHUNK, (off_t)len);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				same = n == 0 && len == cf->len &&
				       XXH128_isEqual(cf->fingerprint, XXH3_128bits_digest(st));
				break;
			}
			len += (size_t)n;
			if (len > cf->len || XXH3_128bits_update(st, buf, (size_t)n) != XXH_OK)
				break;
		}
		explicit_bzero(buf, CACHE_READ_CHUNK);
	}
	free(buf);
	if (st)
		XXH3_freeState(st);
	return same;
}

/* load_fd with a cache: parse the file only if its bytes are not the ones
 * the cache parsed last (by length and fingerprint). A regular file is
 * compared first as it is read (cache_same), else read whole. */
int load_cache_fd(struct sl_load *ld, struct sl_load_cache *c, int fd, size_t size, bool regular,
		  const char *name, const char *dir)
{
	struct sl_cached_file *cf = NULL;
	struct stream_in in = { .ld = ld };
	unsigned char *bytes = NULL;
	const char *file;
	size_t len = 0;
	XXH128_hash_t fp;
	uint64_t h;
	int r;

	load_stream_limit(ld, &in);
	cf = cache_find(c, name);
	if (regular && cache_same(cf, fd, size, in.limit)) {
		close(fd);
		ld->bytes_read += cf->len;
		c->reused++;
		goto have;
	}
	r = load_read_all(fd, size, in.limit, &bytes, &len);
	close(fd);
	if (r == -ENOMEM) {
		load_wipe_free(bytes, len);
		return r;
	}
	if (r == -EFBIG) {
		/* As the stream reader: refused, counted in the digest. */
		ld->bytes_read += len;
		ld->digest = fnv1a64(ld->digest, name, strlen(name) + 1);
		load_digest_fold(ld, fnv1a64(FNV1A64_INIT, bytes, len));
		load_wipe_free(bytes, len);
		in.over = true;
		load_stream_stopped(&in, diag_file(&ld->diags, name));
		return 0;
	}
	if (r < 0) {
		/* As the stream reader: what could be read, then the error. */
		int rr = bytes ? sl_load_buffer(ld, name, dir, (const char *)bytes, len) : r;

		load_wipe_free(bytes, len);
		if (rr < 0)
			return rr;
		diag_add(&ld->diags, DIAG_ERROR, diag_file(&ld->diags, name), 0, 0, "(file)",
			 "error while reading: %s", strerror(-r));
		return 0;
	}
	ld->bytes_read += len;
	fp = XXH3_128bits(bytes, len);
	if (cf && cf->len == len && XXH128_isEqual(cf->fingerprint, fp)) {
		load_wipe_free(bytes, len);
		c->reused++;
	} else {
		r = cache_parse(c, name, bytes, len, fp, &cf);
		if (r < 0)
			return r;
		c->parsed++;
		cf->fresh = true;
	}
have:
	cf->used = true;
	h = fnv1a64(ld->digest, name, strlen(name) + 1);
	ld->digest = h;
	load_digest_fold(ld, cf->bytes_hash);
	file = diag_file(&ld->diags, name);
	if (!file || load_add_file(ld, file, dir) < 0)
		return -ENOMEM;
	return c->scan ? 0 : cache_replay(ld, cf, file);
}

void load_cache_begin(struct sl_load_cache *cache)
{
	cache->parsed = cache->reused = 0;
	cache->next = 0;
	for (size_t i = 0; i < cache->n_files; i++)
		cache->files[i].fresh = false;
}

const struct sl_load *sl_load_cache_fresh(const struct sl_load_cache *cache, size_t *i, const char **name)
{
	for (; *i < cache->n_files; (*i)++) {
		const struct sl_cached_file *cf = &cache->files[*i];

		if (cf->fresh) {
			(*i)++;
			*name = cf->name;
			return &cf->parse->ld;
		}
	}
	return NULL;
}

/* The one list a document holds (SL_DOC_SERVICES or SL_DOC_ENDPOINTS),
 * SL_DOC__MAX for none, or -1 for anything else. */
static int doc_section(const struct sl_doc *d)
{
	if (d->node || d->n_nodes || d->datapath || d->prefilter || d->n_identities || d->n_policies || d->encryption ||
	    (d->n_services && d->n_endpoints))
		return -1;
	return d->n_services ? SL_DOC_SERVICES : d->n_endpoints ? SL_DOC_ENDPOINTS : SL_DOC__MAX;
}

int sl_section_patch_make(const struct sl_load *good, const char *name, const struct sl_load *parsed,
			  struct sl_section_patch *p)
{
	int section = SL_DOC__MAX, r = 0;

	*p = (struct sl_section_patch){};
	for (size_t i = 0; i < good->n_files && !p->file; i++)
		if (streq(good->files[i], name))
			p->file = good->files[i];
	if (!p->file)
		return -EAGAIN;
	/* the list the file holds now, else the one it held */
	for (size_t i = 0; i < parsed->n_docs; i++) {
		int s = doc_section(parsed->docs[i].doc);

		if (s < 0 || (s != SL_DOC__MAX && section != SL_DOC__MAX && s != section))
			return -EAGAIN;
		if (s != SL_DOC__MAX)
			section = s;
	}
	if (section == SL_DOC__MAX) {
		if (sl_load_file_section(good, p->file, SL_DOC_SERVICES, &p->old, &p->n_old) == 0 && p->n_old)
			section = SL_DOC_SERVICES;
		else if (sl_load_file_section(good, p->file, SL_DOC_ENDPOINTS, &p->old, &p->n_old) == 0 && p->n_old)
			section = SL_DOC_ENDPOINTS;
		else
			return -EAGAIN;
	} else if (sl_load_file_section(good, p->file, (unsigned)section, &p->old, &p->n_old) < 0) {
		return -EAGAIN; /* it held something else */
	}
	/* the file's items in good go without their strings and lists,
	 * which are a parse's that good holds (never the case of a file
	 * good has items of from elsewhere) */
	if (p->n_old && !load_file_held(good, p->file))
		return -EAGAIN;
	p->section = (unsigned)section;
	for (size_t i = 0; i < parsed->n_docs && r >= 0; i++) {
		size_t esize;
		uint64_t n;
		const char *items = load_doc_list(parsed->docs[i].doc, (unsigned)section, &n, &esize);
		char *v;

		if (!n || !items)
			continue;
		/* the items, their strings and lists staying the parse's */
		v = realloc(p->v, (p->n + n) * esize);
		if (!v) {
			r = -ENOMEM;
			break;
		}
		memcpy(v + p->n * esize, items, n * esize);
		load_section_items_set(p->section, v + p->n * esize, (uint32_t)n, p->file);
		p->v = v;
		p->n += (uint32_t)n;
	}
	if (r >= 0)
		p->parse = load_parse_ref((struct sl_parse *)((char *)parsed - offsetof(struct sl_parse, ld)));
	if (r < 0)
		sl_section_patch_free(p);
	return r;
}

/* What this load did not read (a file removed or renamed) goes. */
void load_cache_end(struct sl_load_cache *cache)
{
	size_t kept = 0;

	for (size_t i = 0; i < cache->n_files; i++) {
		struct sl_cached_file *cf = &cache->files[i];

		if (!cf->used) {
			cached_file_clear(cf);
			free(cf->name);
			continue;
		}
		cf->used = false;
		cache->files[kept++] = *cf;
	}
	cache->n_files = kept;
	cache->next = 0;
}
