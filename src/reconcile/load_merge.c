/* SPDX-License-Identifier: Apache-2.0 */
/* The merge of every loaded document into one state (sl_load_finish), and
 * freeing a load. */
#include "load_internal.h"

#include <dirent.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "schema.h"

/* Append a document's list to the state's, recording each item's file. */
#define APPEND(st, list, count, d, file)                                                               \
	({                                                                                             \
		int _r = 0;                                                                            \
		if ((d)->count) {                                                                      \
			/* The first list is taken as it is; later ones are appended. */         \
			__typeof__((st)->list) _v = !(st)->list ? (d)->list :                          \
				realloc((st)->list, ((st)->count + (d)->count) * sizeof(*(st)->list)); \
			if (!_v) {                                                                     \
				_r = -ENOMEM;                                                          \
			} else {                                                                       \
				if (_v != (d)->list)                                                   \
					memcpy(_v + (st)->count, (d)->list, (d)->count * sizeof(*_v)); \
				for (uint32_t _i = 0; _i < (d)->count; _i++)                           \
				{                                                                      \
					_v[(st)->count + _i].file = (file);                            \
					_v[(st)->count + _i].doc_index = _i;                           \
				}                                                                      \
				(st)->list = _v;                                                       \
				(st)->count += (d)->count;                                             \
				if (_v != (d)->list)                                                   \
					free((d)->list);                                               \
				(d)->list = NULL;                                                      \
				(d)->count = 0;                                                        \
			}                                                                              \
		}                                                                                      \
		_r;                                                                                    \
	})

/* Take a singleton section, or report that it was given twice. */
static void take_singleton(struct sl_load *ld, void **dst, struct sl_origin *origin, void **src,
			   const struct sl_mark *mark, const char *file, const char *section)
{
	if (!*src)
		return;
	if (*dst) {
		diag_add(&ld->diags, DIAG_ERROR, file, mark->line, mark->col, section,
			 "given again; '%s' was first given at %s:%u:%u, and a state has one, in one file", section,
			 origin->file, origin->mark.line, origin->mark.col);
		return;
	}
	*dst = *src;
	*src = NULL;
	*origin = (struct sl_origin){ .file = file, .mark = *mark };
}

void load_fill_service_defaults(struct sl_service *svc)
{
	if (!svc->frontend)
		return;
	if (!SL_HAS(svc->frontend, SL_FE_PROTOCOL))
		svc->frontend->protocol = SL_PROTO_TCP;
	for (uint32_t j = 0; j < svc->n_backends; j++) {
		struct sl_backend *be = &svc->backends[j];

		if (!SL_HAS(be, SL_BE_PORT))
			be->port = svc->frontend->port;
		if (!SL_HAS(be, SL_BE_WEIGHT))
			be->weight = 1;
	}
}

static void fill_defaults(struct sl_state *st)
{
	struct sl_datapath *dp = st->datapath;

	if (!SL_HAS(dp, SL_DP_VXLAN_PORT))
		dp->vxlan_port = SL_VXLAN_PORT_DEFAULT;
	for (unsigned i = 0; i < SL_MAP__MAX; i++)
		if (!SL_HAS(dp->map_sizes, i))
			dp->map_sizes->size[i] = sl_map_size_default[i];
	for (uint32_t i = 0; i < st->n_services; i++)
		load_fill_service_defaults(&st->services[i]);
	for (uint32_t i = 0; st->encryption && i < st->encryption->n_keys; i++) {
		struct sl_key *k = &st->encryption->keys[i];

		if (!SL_HAS(k, SL_KEY_ICV_BITS))
			k->icv_bits = SL_ICV_BITS_DEFAULT;
	}
}

int sl_load_finish(struct sl_load *ld)
{
	struct sl_state *st = &ld->state;
	int r = 0;

	for (size_t i = 0; i < ld->n_docs; i++) {
		struct sl_doc *d = ld->docs[i].doc;
		const char *file = ld->docs[i].file;

		take_singleton(ld, (void **)&st->node, &st->node_origin, (void **)&d->node, SL_AT(d, SL_DOC_NODE), file,
			       "node");
		take_singleton(ld, (void **)&st->datapath, &st->datapath_origin, (void **)&d->datapath,
			       SL_AT(d, SL_DOC_DATAPATH), file, "datapath");
		take_singleton(ld, (void **)&st->prefilter, &st->prefilter_origin, (void **)&d->prefilter,
			       SL_AT(d, SL_DOC_PREFILTER), file, "prefilter");
		take_singleton(ld, (void **)&st->encryption, &st->encryption_origin, (void **)&d->encryption,
			       SL_AT(d, SL_DOC_ENCRYPTION), file, "encryption");
		if (r >= 0)
			r = APPEND(st, nodes, n_nodes, d, file);
		if (r >= 0)
			r = APPEND(st, identities, n_identities, d, file);
		if (r >= 0)
			r = APPEND(st, endpoints, n_endpoints, d, file);
		if (r >= 0)
			r = APPEND(st, policies, n_policies, d, file);
		if (r >= 0)
			r = APPEND(st, services, n_services, d, file);
		for (uint32_t k = 0; st->encryption && k < st->encryption->n_keys; k++) {
			st->encryption->keys[k].file = st->encryption_origin.file;
			st->encryption->keys[k].doc_index = k;
		}
		/* what the lists left behind (an error above) is the parse's */
		if (load_file_held(ld, file))
			load_doc_drop_shared(d);
		sl_schema_free_mapping(&sl_schema_doc, d);
		free(d);
		ld->docs[i].doc = NULL;
	}
	free(ld->docs);
	ld->docs = NULL;
	ld->n_docs = ld->cap_docs = 0;
	if (r < 0)
		return r;
	if (!st->datapath && !(st->datapath = calloc(1, sizeof(*st->datapath))))
		return -ENOMEM;
	if (!st->datapath->map_sizes && !(st->datapath->map_sizes = calloc(1, sizeof(*st->datapath->map_sizes))))
		return -ENOMEM;
	fill_defaults(st);
	return 0;
}

/* The state as one big mapping, to free it with the schema walker. */
static void free_list(const cyaml_schema_value_t *doc_schema, unsigned field, void *list, uint32_t n)
{
	struct sl_doc d = {};
	const cyaml_schema_field_t *f = &doc_schema->mapping.fields[field];

	*(void **)((char *)&d + f->data_offset) = list;
	*(uint32_t *)((char *)&d + f->count_offset) = n;
	sl_schema_free_mapping(doc_schema, &d);
}

bool load_file_held(const struct sl_load *ld, const char *file)
{
	for (size_t i = 0; i < ld->n_held; i++)
		if (ld->held[i].file == file)
			return true;
	return false;
}

void load_doc_drop_shared(struct sl_doc *d)
{
	for (size_t k = 0; k < ARRAY_SIZE(load_shared_lists); k++) {
		size_t esize;
		uint64_t n;

		free(load_doc_list(d, load_shared_lists[k], &n, &esize));
		load_doc_list_set(d, load_shared_lists[k], NULL, 0);
	}
}

/* A list of the state that may share items (load_shared_lists): the items
 * of a file ld holds a parse of keep their strings and lists (the
 * parse's); the others are freed with the schema. Items come grouped by
 * file. */
static void free_items(const struct sl_load *ld, unsigned field, void *list, uint32_t n, size_t off_file)
{
	const cyaml_schema_value_t *e = sl_schema_doc.mapping.fields[field].value.sequence.entry;
	const char *last = NULL;
	bool held = false;

	if (!ld->n_held) {
		free_list(&sl_schema_doc, field, list, n);
		return;
	}
	for (uint32_t i = 0; list && i < n; i++) {
		char *item = (char *)list + (size_t)i * e->data_size;
		const char *file = *(const char **)(item + off_file);

		if (!i || file != last) {
			last = file;
			held = load_file_held(ld, file);
		}
		if (!held)
			sl_schema_free_mapping(e, item);
	}
	free(list);
}

void sl_load_free(struct sl_load *ld)
{
	struct sl_state *st = &ld->state;
	struct sl_doc d = {
		.datapath = st->datapath,
		.prefilter = st->prefilter,
		.encryption = st->encryption,
	};

	for (size_t i = 0; i < ld->n_docs; i++) {
		if (load_file_held(ld, ld->docs[i].file))
			load_doc_drop_shared(ld->docs[i].doc);
		sl_schema_free_mapping(&sl_schema_doc, ld->docs[i].doc);
		free(ld->docs[i].doc);
	}
	free(ld->docs);
	sl_schema_free_mapping(&sl_schema_doc, &d);
	free_items(ld, SL_DOC_NODES, st->nodes, st->n_nodes, offsetof(struct sl_node, file));
	free_items(ld, SL_DOC_IDENTITIES, st->identities, st->n_identities, offsetof(struct sl_identity, file));
	free_items(ld, SL_DOC_ENDPOINTS, st->endpoints, st->n_endpoints, offsetof(struct sl_endpoint, file));
	free_list(&sl_schema_doc, SL_DOC_POLICIES, st->policies, st->n_policies);
	free_items(ld, SL_DOC_SERVICES, st->services, st->n_services, offsetof(struct sl_service, file));
	diag_list_free(&ld->diags);
	arena_free(&ld->arena);
	for (size_t i = 0; i < ld->n_held; i++)
		load_parse_unref(ld->held[i].parse);
	free(ld->held);
	free(ld->files);
	free(ld->file_dirs);
	memset(ld, 0, sizeof(*ld));
}

/* ---- a file's parse (watch's cache), held by reference ---- */

static void wipe_str(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
}

/* Overwrite every string the mapping at obj points to (they live in an
 * arena, which is freed without being wiped). */
static void wipe_mapping(const cyaml_schema_value_t *s, void *obj)
{
	for (const cyaml_schema_field_t *f = s->mapping.fields; f->key; f++) {
		char *p = (char *)obj + f->data_offset;

		if (f->value.type == CYAML_STRING) {
			wipe_str(*(char **)p);
		} else if (f->value.type == CYAML_MAPPING) {
			void *sub = f->value.flags & CYAML_FLAG_POINTER ? *(void **)p : p;

			if (sub)
				wipe_mapping(&f->value, sub);
		} else if (f->value.type == CYAML_SEQUENCE) {
			const cyaml_schema_value_t *e = f->value.sequence.entry;
			char *arr = *(char **)p;
			uint64_t n = sl_schema_load_count((char *)obj + f->count_offset, f->count_size);

			for (uint64_t i = 0; arr && i < n; i++) {
				if (e->type == CYAML_MAPPING)
					wipe_mapping(e, arr + i * e->data_size);
				else if (e->type == CYAML_STRING)
					wipe_str(((char **)arr)[i]);
			}
		}
	}
}

/* Drop a reference; the last frees the parse, wiping it first. */
void load_parse_unref(struct sl_parse *p)
{
	struct sl_load *ld;

	if (!p || --p->refs)
		return;
	ld = &p->ld;
	for (size_t i = 0; i < ld->n_docs; i++)
		wipe_mapping(&sl_schema_doc, ld->docs[i].doc);
	for (size_t i = 0; i < ld->diags.n; i++) {
		wipe_str(ld->diags.v[i].path);
		wipe_str(ld->diags.v[i].message);
	}
	sl_load_free(ld);
	free(p);
}

/* ---- a section patch (watch) ---- */

/* The lists a patch may be of, as the state holds them. */
struct section {
	void **list;
	uint32_t *n;
	size_t esize, off_file, off_doc;
};

static int section_of(struct sl_state *st, unsigned section, struct section *s)
{
	if (section == SL_DOC_SERVICES)
		*s = (struct section){ (void **)&st->services, &st->n_services, sizeof(struct sl_service),
				       offsetof(struct sl_service, file), offsetof(struct sl_service, doc_index) };
	else if (section == SL_DOC_ENDPOINTS)
		*s = (struct section){ (void **)&st->endpoints, &st->n_endpoints, sizeof(struct sl_endpoint),
				       offsetof(struct sl_endpoint, file), offsetof(struct sl_endpoint, doc_index) };
	else
		return -EAGAIN;
	return 0;
}

static const char **item_file(const struct section *s, void *base, size_t i)
{
	return (const char **)((char *)base + i * s->esize + s->off_file);
}

void load_section_items_set(unsigned section, void *v, uint32_t n, const char *file)
{
	struct sl_state st = {};
	struct section s;

	if (section_of(&st, section, &s) < 0)
		return;
	for (uint32_t i = 0; i < n; i++) {
		*item_file(&s, v, i) = file;
		*(uint32_t *)((char *)v + i * s.esize + s.off_doc) = i;
		if (section == SL_DOC_SERVICES)
			load_fill_service_defaults(&((struct sl_service *)v)[i]);
	}
}

void sl_section_patch_free(struct sl_section_patch *p)
{
	/* the items' strings and lists are the parse's */
	free(p->v);
	load_parse_unref(p->parse);
	*p = (struct sl_section_patch){};
}

/* Whether an origin or an item of a list is the file's. */
#define FROM_FILE(list, n, f)                                        \
	({                                                           \
		bool _yes = false;                                   \
		for (uint32_t _i = 0; _i < (n) && !_yes; _i++)       \
			_yes = (list)[_i].file == (f);               \
		_yes;                                                \
	})

int sl_load_file_section(const struct sl_load *good, const char *file, unsigned section, void **v, uint32_t *n)
{
	struct sl_state *st = (struct sl_state *)&good->state;
	struct section s;
	uint32_t first, last = 0;

	if (section_of(st, section, &s) < 0)
		return -EAGAIN;
	if (st->node_origin.file == file || st->datapath_origin.file == file || st->prefilter_origin.file == file ||
	    st->encryption_origin.file == file || FROM_FILE(st->nodes, st->n_nodes, file) ||
	    FROM_FILE(st->identities, st->n_identities, file) || FROM_FILE(st->policies, st->n_policies, file) ||
	    (section != SL_DOC_ENDPOINTS && FROM_FILE(st->endpoints, st->n_endpoints, file)) ||
	    (section != SL_DOC_SERVICES && FROM_FILE(st->services, st->n_services, file)))
		return -EAGAIN;
	first = *s.n;
	for (uint32_t i = 0; i < *s.n; i++)
		if (*item_file(&s, *s.list, i) == file) {
			if (first == *s.n)
				first = i;
			last = i;
		}
	if (first == *s.n) {
		*v = NULL;
		*n = 0;
		return 0;
	}
	/* one slice, as the merge makes it */
	for (uint32_t i = first; i <= last; i++)
		if (*item_file(&s, *s.list, i) != file)
			return -EAGAIN;
	*v = (char *)*s.list + first * s.esize;
	*n = last - first + 1;
	return 0;
}

int sl_load_section_replace(struct sl_load *good, struct sl_section_patch *p)
{
	struct sl_state *st = &good->state;
	struct sl_held *held;
	struct section s;
	void *old = p->old, *v;
	uint32_t n_old = p->n_old, at = 0, n;
	size_t fi = good->n_files;

	if (section_of(st, p->section, &s) < 0)
		return -EAGAIN;
	for (size_t i = 0; i < good->n_files; i++)
		if (good->files[i] == p->file)
			fi = i;
	if (fi == good->n_files)
		return -EAGAIN;
	if (old) {
		at = (uint32_t)(((char *)old - (char *)*s.list) / s.esize);
	} else {
		/* where the file's items go: after those of the files before
		 * it (a list is in the order of its files) */
		size_t cur = 0;
		const char *curf = NULL;

		for (at = 0; at < *s.n; at++) {
			const char *f = *item_file(&s, *s.list, at);

			if (f != curf) {
				curf = f;
				for (cur = 0; cur < good->n_files && good->files[cur] != curf; cur++)
					;
			}
			if (cur > fi)
				break;
		}
	}
	n = *s.n - n_old + p->n;
	held = realloc(good->held, (good->n_held + 1) * sizeof(*held));
	if (!held)
		return -ENOMEM;
	good->held = held;
	/* In place: a list of a large state is not copied for one file's
	 * items (a change of the same number of them moves nothing). */
	if (p->n > n_old) {
		v = realloc(*s.list, n * s.esize);
		if (!v)
			return -ENOMEM;
		*s.list = v;
	}
	v = *s.list;
	if (p->n != n_old)
		memmove((char *)v + (at + p->n) * s.esize, (char *)v + (at + n_old) * s.esize,
			(*s.n - at - n_old) * s.esize);
	if (p->n)
		memcpy((char *)v + at * s.esize, p->v, p->n * s.esize);
	if (p->n < n_old && (v = realloc(*s.list, (n ? n : 1) * s.esize)))
		*s.list = v;
	*s.n = n;
	/* the old items' strings and lists are the file's old parse's,
	 * which good holds no more: the patch's instead */
	for (size_t i = 0, kept = 0, n_held = good->n_held; i < n_held; i++) {
		if (good->held[i].file == p->file)
			load_parse_unref(good->held[i].parse);
		else
			good->held[kept++] = good->held[i];
		good->n_held = kept;
	}
	good->held[good->n_held++] = (struct sl_held){ .file = p->file, .parse = p->parse };
	p->parse = NULL;
	free(p->v);
	*p = (struct sl_section_patch){};
	return 0;
}
