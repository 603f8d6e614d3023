/* SPDX-License-Identifier: Apache-2.0 */
/* The merge of every loaded document into one state (sl_load_finish), and
 * freeing a load. */
#include "load_internal.h"

#include <dirent.h>
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

void sl_load_free(struct sl_load *ld)
{
	struct sl_state *st = &ld->state;
	struct sl_doc d = {
		.datapath = st->datapath,
		.prefilter = st->prefilter,
		.encryption = st->encryption,
	};

	for (size_t i = 0; i < ld->n_docs; i++) {
		sl_schema_free_mapping(&sl_schema_doc, ld->docs[i].doc);
		free(ld->docs[i].doc);
	}
	free(ld->docs);
	sl_schema_free_mapping(&sl_schema_doc, &d);
	free_list(&sl_schema_doc, SL_DOC_NODES, st->nodes, st->n_nodes);
	free_list(&sl_schema_doc, SL_DOC_IDENTITIES, st->identities, st->n_identities);
	free_list(&sl_schema_doc, SL_DOC_ENDPOINTS, st->endpoints, st->n_endpoints);
	free_list(&sl_schema_doc, SL_DOC_POLICIES, st->policies, st->n_policies);
	free_list(&sl_schema_doc, SL_DOC_SERVICES, st->services, st->n_services);
	diag_list_free(&ld->diags);
	arena_free(&ld->arena);
	for (size_t i = 0; i < ld->n_file_arenas; i++)
		arena_free(&ld->file_arenas[i].arena);
	free(ld->file_arenas);
	free(ld->files);
	free(ld->file_dirs);
	memset(ld, 0, sizeof(*ld));
}

/* ---- a services patch (watch) ---- */

void sl_services_patch_free(struct sl_services_patch *p)
{
	free_list(&sl_schema_doc, SL_DOC_SERVICES, p->v, p->n);
	arena_free(&p->arena);
	*p = (struct sl_services_patch){};
}

/* Whether an origin or an item of a list is the file's. */
#define FROM_FILE(list, n, f)                                        \
	({                                                           \
		bool _yes = false;                                   \
		for (uint32_t _i = 0; _i < (n) && !_yes; _i++)       \
			_yes = (list)[_i].file == (f);               \
		_yes;                                                \
	})

int sl_load_file_services(const struct sl_load *good, const char *file, struct sl_service **v, uint32_t *n)
{
	const struct sl_state *st = &good->state;
	uint32_t first = st->n_services, last = 0;

	if (st->node_origin.file == file || st->datapath_origin.file == file || st->prefilter_origin.file == file ||
	    st->encryption_origin.file == file || FROM_FILE(st->nodes, st->n_nodes, file) ||
	    FROM_FILE(st->identities, st->n_identities, file) || FROM_FILE(st->endpoints, st->n_endpoints, file) ||
	    FROM_FILE(st->policies, st->n_policies, file))
		return -EAGAIN;
	for (uint32_t i = 0; i < st->n_services; i++)
		if (st->services[i].file == file) {
			if (first == st->n_services)
				first = i;
			last = i;
		}
	if (first == st->n_services) {
		*v = NULL;
		*n = 0;
		return 0;
	}
	/* one slice, as the merge makes it */
	for (uint32_t i = first; i <= last; i++)
		if (st->services[i].file != file)
			return -EAGAIN;
	*v = &st->services[first];
	*n = last - first + 1;
	return 0;
}

int sl_load_services_replace(struct sl_load *good, struct sl_services_patch *p)
{
	struct sl_state *st = &good->state;
	struct sl_service *old, *v;
	uint32_t n_old, at = 0, n;
	size_t fi = good->n_files;
	struct sl_file_arena *fa = NULL;
	int r = sl_load_file_services(good, p->file, &old, &n_old);

	if (r < 0)
		return r;
	for (size_t i = 0; i < good->n_files; i++)
		if (good->files[i] == p->file)
			fi = i;
	if (fi == good->n_files)
		return -EAGAIN;
	if (old) {
		at = (uint32_t)(old - st->services);
	} else {
		/* where the file's services go: after those of the files
		 * before it (the services are in the order of their files) */
		size_t cur = 0;
		const char *curf = NULL;

		for (at = 0; at < st->n_services; at++) {
			if (st->services[at].file != curf) {
				curf = st->services[at].file;
				for (cur = 0; cur < good->n_files && good->files[cur] != curf; cur++)
					;
			}
			if (cur > fi)
				break;
		}
	}
	for (size_t i = 0; i < good->n_file_arenas && !fa; i++)
		if (good->file_arenas[i].file == p->file)
			fa = &good->file_arenas[i];
	if (!fa) {
		struct sl_file_arena *a = realloc(good->file_arenas, (good->n_file_arenas + 1) * sizeof(*a));

		if (!a)
			return -ENOMEM;
		good->file_arenas = a;
		fa = &a[good->n_file_arenas++];
		*fa = (struct sl_file_arena){ .file = p->file };
	}
	n = st->n_services - n_old + p->n;
	v = malloc((n ? n : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	memcpy(v, st->services, at * sizeof(*v));
	memcpy(v + at, p->v, p->n * sizeof(*v));
	memcpy(v + at + p->n, st->services + at + n_old, (st->n_services - at - n_old) * sizeof(*v));
	/* the old ones' lists and mappings go; their strings with their
	 * file's arena (or, for those of the first load, with the load) */
	{
		struct sl_service *gone = st->services;

		memmove(gone, gone + at, n_old * sizeof(*gone));
		free_list(&sl_schema_doc, SL_DOC_SERVICES, gone, n_old);
	}
	st->services = v;
	st->n_services = n;
	arena_free(&fa->arena);
	fa->arena = p->arena;
	free(p->v);
	*p = (struct sl_services_patch){};
	return 0;
}
