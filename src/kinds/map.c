/* SPDX-License-Identifier: Apache-2.0 */
/* The map kind (map.h). */
#include "kinds/map.h"

#include <inttypes.h>
#include <stdio.h>

#include <linux/bpf.h>

#include "kinds/desc.h"

static const char *const map_type_name[] = {
	[BPF_MAP_TYPE_HASH] = "hash",
	[BPF_MAP_TYPE_ARRAY] = "array",
	[BPF_MAP_TYPE_PROG_ARRAY] = "prog_array",
	[BPF_MAP_TYPE_PERF_EVENT_ARRAY] = "perf_event_array",
	[BPF_MAP_TYPE_PERCPU_HASH] = "percpu_hash",
	[BPF_MAP_TYPE_PERCPU_ARRAY] = "percpu_array",
	[BPF_MAP_TYPE_LRU_HASH] = "lru_hash",
	[BPF_MAP_TYPE_LRU_PERCPU_HASH] = "lru_percpu_hash",
	[BPF_MAP_TYPE_LPM_TRIE] = "lpm_trie",
	[BPF_MAP_TYPE_ARRAY_OF_MAPS] = "array_of_maps",
	[BPF_MAP_TYPE_HASH_OF_MAPS] = "hash_of_maps",
	[BPF_MAP_TYPE_DEVMAP] = "devmap",
	[BPF_MAP_TYPE_SOCKMAP] = "sockmap",
	[BPF_MAP_TYPE_CPUMAP] = "cpumap",
	[BPF_MAP_TYPE_XSKMAP] = "xskmap",
	[BPF_MAP_TYPE_SOCKHASH] = "sockhash",
	[BPF_MAP_TYPE_DEVMAP_HASH] = "devmap_hash",
	[BPF_MAP_TYPE_RINGBUF] = "ringbuf",
};

const char *sl_map_type_name(uint32_t type)
{
	return type < ARRAY_SIZE(map_type_name) && map_type_name[type] ? map_type_name[type] : "other";
}

int sl_maps_datapath(const void *key, const void *val)
{
	(void)key;
	(void)val;
	return SL_MAPS_DATAPATH;
}

int sl_maps_prefilter(const void *key, const void *val)
{
	(void)key;
	(void)val;
	return SL_MAPS_PREFILTER;
}

static void changes(const struct sl_map_value *b, const struct sl_map_value *a, struct sl_desc *d)
{
	char tb[24], ta[24];
	bool first = true;
	/* The entries fit a map of another size or flags; another type or
	 * entry size drops them. */
	bool layout = b->type != a->type || b->key_size != a->key_size || b->value_size != a->value_size;

	desc_put(d, &d->line, ": ");
	if (b->type != a->type) {
		desc_sep(d, &first);
		desc_put(d, &d->line, "type %s -> %s", DESC_TABLE_NAME(map_type_name, b->type, "type", tb),
			 DESC_TABLE_NAME(map_type_name, a->type, "type", ta));
	}
	if (b->key_size != a->key_size) {
		desc_sep(d, &first);
		desc_put(d, &d->line, "key %" PRIu32 " -> %" PRIu32, b->key_size, a->key_size);
	}
	if (b->value_size != a->value_size) {
		desc_sep(d, &first);
		desc_put(d, &d->line, "value %" PRIu32 " -> %" PRIu32, b->value_size, a->value_size);
	}
	if (b->max_entries != a->max_entries) {
		desc_sep(d, &first);
		desc_put(d, &d->line, "max %" PRIu32 " -> %" PRIu32, b->max_entries, a->max_entries);
	}
	if (b->flags != a->flags) {
		desc_sep(d, &first);
		desc_put(d, &d->line, "flags 0x%" PRIx32 " -> 0x%" PRIx32, b->flags, a->flags);
	}
	if (first)
		desc_put(d, &d->line, "value differs");
	else
		desc_put(d, &d->line, layout ? " (recreated: entries dropped)" : " (migrated: entries carried over)");
}

static void describe(const struct sl_desc_ctx *c, const struct sl_view *v, struct sl_desc *d)
{
	const struct sl_map_value *b = v->val[SL_BEFORE], *a = v->val[SL_AFTER];
	char name[33], tb[24];

	(void)c;
	desc_name_copy(name, sizeof(name), v->key, sizeof(((struct sl_map_key *)0)->name));
	desc_put(d, &d->line, "map %s", name);
	if (!a || !b) {
		const struct sl_map_value *e = a ? a : b;

		desc_put(d, &d->line, " %s key %" PRIu32 " value %" PRIu32 " max %" PRIu32,
			 DESC_TABLE_NAME(map_type_name, e->type, "type", tb), e->key_size, e->value_size, e->max_entries);
		if (e->flags)
			desc_put(d, &d->line, " flags 0x%" PRIx32, e->flags);
	} else {
		changes(b, a, d);
	}
	for (int s = SL_BEFORE; d->fields && s <= SL_AFTER; s++) {
		const struct sl_map_value *e = v->val[s];
		struct strbuf *sb = &d->obj[s];
		char t[24];

		if (!e)
			continue;
		desc_json_s(d, sb, "name", name);
		desc_json_s(d, sb, "type", DESC_TABLE_NAME(map_type_name, e->type, "type", t));
		desc_json_u(d, sb, "keySize", e->key_size);
		desc_json_u(d, sb, "valueSize", e->value_size);
		desc_json_u(d, sb, "maxEntries", e->max_entries);
		desc_json_u(d, sb, "flags", e->flags);
	}
}

const struct sl_kind sl_kind_map = {
	.name = "map",
	.klen = sizeof(struct sl_map_key),
	.vlen = sizeof(struct sl_map_value),
	.backend = SL_VIA_MAPS,
	.section = SL_SEC_MAPS,
	.describe = describe,
};
