/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The object set: every kernel object a state compiles to (or the kernel
 * holds), in one representation, (kind, key bytes, value bytes), kept in
 * flat arrays and sorted by (kind, key). An object costs an 8-byte record
 * plus its key and value bytes, so millions fit in little memory.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sl_obj_kind {
	SL_OBJ_ENDPOINT,   /* key: interface name (16 bytes); value: struct sl_endpoint_value */
	SL_OBJ_IPCACHE,	   /* struct sl_ipcache_key -> struct sl_ipcache_value */
	SL_OBJ_POLICY,	   /* struct sl_policy_key -> struct sl_policy_value */
	SL_OBJ_PREFILTER4, /* 4-byte prefix key (prefixlen + address) -> 1 */
	SL_OBJ_PREFILTER6,
	SL_OBJ_ATTACH,	   /* struct sl_attach_key -> struct sl_attach_value */
	SL_OBJ_MAP,	   /* struct sl_map_key -> struct sl_map_value: a pinned map's layout */
	SL_OBJ_PROG,	   /* struct sl_prog_key -> struct sl_prog_value: a pinned program */
	SL_OBJ_BACKEND,	   /* struct sl_backend_key -> struct sl_backend_value */
	SL_OBJ_SERVICE,	   /* struct sl_service_key -> struct sl_service_value (members and slots) */
	SL_OBJ_XFRM_STATE, /* struct sl_xfrm_state_key -> struct sl_xfrm_state_value (datapath/xfrm.h) */
	SL_OBJ_XFRM_POLICY, /* struct sl_xfrm_policy_key -> struct sl_xfrm_policy_value */
	SL_OBJ_ROUTE,	   /* struct sl_route_key -> struct sl_route_value (datapath/route.h) */
	SL_OBJ__MAX
};

/* Where a program is attached: a device by name and a hook. */
enum sl_hook { SL_HOOK_TC_INGRESS, SL_HOOK_TC_EGRESS, SL_HOOK_XDP, SL_HOOK__MAX };
struct sl_attach_key {
	char ifname[16];
	uint8_t hook; /* enum sl_hook */
	uint8_t pad[3];
};
enum sl_prog { SL_PROG_FROM_ENDPOINT, SL_PROG_TO_ENDPOINT, SL_PROG_PREFILTER, SL_PROG__MAX };
struct sl_attach_value {
	uint8_t prog;	  /* enum sl_prog */
	uint8_t xdp_mode; /* enum sl_xdp_mode, for SL_HOOK_XDP */
	uint8_t pad[6];
	/* Which build of the program with which settings and map layouts
	 * (datapath/progs.c); observed 0 when the attached program is not the
	 * one sluice pinned for that digest. */
	uint64_t digest;
};

/* A map under the pin directory, by its pin name. Only the layout is
 * compared: runtime maps (conntrack, counters) are never diffed by entry. */
struct sl_map_key {
	char name[32];
};
struct sl_map_value {
	uint32_t type; /* enum bpf_map_type */
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;
	uint32_t flags;
};

/* A loaded program pinned under the pin directory, by kind and digest.
 * current: it uses the maps pinned now (a program bound to a map that a
 * migration replaced is not current). */
struct sl_prog_key {
	uint8_t prog; /* enum sl_prog */
	uint8_t pad[7];
	uint64_t digest;
};
struct sl_prog_value {
	uint8_t current;
	uint8_t pad[3];
};

/* Where a map's capacity comes from: an index of mapSizes, or fixed. */
#define SL_MAP_SIZE_FIXED (-1)
enum sl_map_group { SL_MAPS_DATAPATH, SL_MAPS_PREFILTER, SL_MAPS_SHARED, SL_MAPS__MAX };
/* One map the embedded programs define (datapath/progs.c fills these). */
struct sl_map_layout {
	const char *name;
	struct sl_map_value v; /* max_entries: used when size_from is fixed */
	int size_from;	       /* SL_MAP_* of model.h, or SL_MAP_SIZE_FIXED */
	uint8_t group;	       /* enum sl_map_group */
};

struct sl_obj {
	uint8_t kind;
	uint8_t klen;
	uint16_t vlen;
	uint32_t off; /* key bytes at bytes + off, value right after */
};

struct sl_objset {
	struct sl_obj *v;
	size_t n, cap;
	uint8_t *bytes;
	size_t blen, bcap;
	bool sorted;
	/* It holds key material (an xfrm state): bytes are wiped whenever
	 * they are given back (growth, shrink, free). */
	bool secret;
};

int objset_add(struct sl_objset *s, enum sl_obj_kind kind, const void *key, size_t klen, const void *val,
	       size_t vlen);
/* Make room for `more` objects of `more_bytes` key and value bytes in all,
 * exactly (growth by doubling leaves up to half unused). */
int objset_reserve(struct sl_objset *s, size_t more, size_t more_bytes);
/* Sort by (kind, key). Objects with equal kind and key must not be there. */
void objset_sort(struct sl_objset *s);
/* Give back the room reserved for growth. */
void objset_shrink(struct sl_objset *s);
/* The object of that kind and key in a sorted set, or NULL. */
const struct sl_obj *objset_find(const struct sl_objset *s, enum sl_obj_kind kind, const void *key, size_t klen);
size_t objset_count(const struct sl_objset *s, enum sl_obj_kind kind);
/* Whether an object of that kind and key was added (linear; for small kinds
 * before sorting). */
bool objset_find_unsorted(const struct sl_objset *s, enum sl_obj_kind kind, const void *key, size_t klen);
/* Add every object of src to dst (dst is then unsorted). */
int objset_append(struct sl_objset *dst, const struct sl_objset *src);
void objset_free(struct sl_objset *s);

static inline const void *obj_key(const struct sl_objset *s, const struct sl_obj *o)
{
	return s->bytes + o->off;
}

static inline const void *obj_val(const struct sl_objset *s, const struct sl_obj *o)
{
	return s->bytes + o->off + o->klen;
}

/* Compare two objects of possibly different sets by (kind, key). */
int obj_cmp(const struct sl_objset *a, const struct sl_obj *x, const struct sl_objset *b, const struct sl_obj *y);
