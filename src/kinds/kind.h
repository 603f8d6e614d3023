/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kind table: every kind of kernel object sluice owns, described once.
 *
 * An object of the object set (reconcile/objset.h) is (kind, key bytes,
 * value bytes). What those bytes are, what the kind is called, how a plan
 * says a change of it, which backend brings it to the kernel and in which
 * order, and whether its bytes are secret: all of it is a row of this table
 * (kind.c), filled by the kind's own module (kinds/<kind>.c). Nothing
 * outside the table switches on the kind.
 *
 * Adding a kind: a value below, a module kinds/<kind>.c defining
 * `const struct sl_kind sl_kind_<kind>`, and its row in kind.c.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A 64-bit field of an object's key or value as sluice's own structs hold
 * it (a program's digest, a cgroup id): 4-byte aligned, so that an object
 * set keeps every object at a 4-byte boundary (reconcile/objset.h) and
 * still reads these as their structs. A typedef may lower a type's
 * alignment (GCC and clang); the structs' layouts do not change (their
 * 64-bit fields are at 8-byte offsets, after explicit padding).
 */
typedef uint64_t sl_u64_a4 __attribute__((aligned(4)));

enum sl_obj_kind {
	SL_OBJ_ENDPOINT,   /* key: interface name (16 bytes); value: struct sl_endpoint_value */
	SL_OBJ_IPCACHE,	   /* struct sl_ipcache_key -> struct sl_ipcache_value */
	SL_OBJ_POLICY,	   /* struct sl_policy_key -> struct sl_policy_value */
	SL_OBJ_PREFILTER4, /* 4-byte prefix length + 4-byte address -> 1 */
	SL_OBJ_PREFILTER6, /* 4-byte prefix length + 16-byte address -> 1 */
	SL_OBJ_ATTACH,	   /* struct sl_attach_key -> struct sl_attach_value (kinds/attach.h) */
	SL_OBJ_MAP,	   /* struct sl_map_key -> struct sl_map_value (kinds/map.h): a pinned map's layout */
	SL_OBJ_PROG,	   /* struct sl_prog_key -> struct sl_prog_value (kinds/prog.h): a pinned program */
	SL_OBJ_BACKEND,	   /* struct sl_backend_key -> struct sl_backend_value */
	SL_OBJ_SERVICE,	   /* struct sl_service_key -> struct sl_service_value (members and slots) */
	SL_OBJ_XFRM_STATE, /* struct sl_xfrm_state_key -> struct sl_xfrm_state_value (kinds/xfrm.h) */
	SL_OBJ_XFRM_POLICY, /* struct sl_xfrm_policy_key -> struct sl_xfrm_policy_value (kinds/xfrm.h) */
	SL_OBJ_ROUTE,	   /* struct sl_route_key -> struct sl_route_value (kinds/route.h) */
	SL_OBJ_DEVICE,	   /* struct sl_device_key -> struct sl_device_value (kinds/device.h) */
	SL_OBJ_RULE,	   /* struct sl_rule_key -> struct sl_rule_value (kinds/rule.h) */
	SL_OBJ_SOCKHOOK,   /* struct sl_sockhook_key -> struct sl_sockhook_value (kinds/sockhook.h) */
	SL_OBJ_EP_NAME,	   /* interface name (16 bytes) -> struct sl_ep_name_value (kinds/names.c) */
	SL_OBJ_ID_LABELS,  /* identity (4 bytes) -> struct sl_id_labels_value (kinds/names.c) */
	SL_OBJ_EP_NETNS,   /* interface name (16 bytes) -> struct sl_ep_netns_value (kinds/netns.c) */
	SL_OBJ__MAX
};

/* Which backend brings a kind's objects to the kernel (datapath/backend.h). */
enum sl_kind_backend {
	SL_VIA_MAPS,    /* pinned BPF maps, by layout */
	SL_VIA_PROGS,   /* pinned BPF programs, and their socket hooks (cgroup, sockhash) */
	SL_VIA_ENTRIES, /* entries of sluice's BPF maps */
	SL_VIA_ATTACH,  /* tc and XDP attachments */
	SL_VIA_XFRM,    /* xfrm states and policies, by netlink */
	SL_VIA_ROUTE,   /* routes and routing policy rules, by netlink */
	SL_VIA_LINK,    /* devices, by netlink */
	SL_VIA__MAX
};

enum sl_kind_flags {
	/* The value holds key material: a set holding one is wiped whenever
	 * its bytes are given back, copies are wiped once read, and no
	 * output ever shows its bytes. */
	SL_KIND_SECRET = 1u << 0,
	/* The key is an interface name (16 bytes); the kernel's map is keyed
	 * by that device's ifindex. */
	SL_KIND_KEY_IFNAME = 1u << 1,
};

/* How a plan groups a change (cli.md "Plan output"): the sections, in the
 * order they are printed. */
enum sl_plan_section {
	SL_SEC_ENDPOINT, /* one group per endpoint, by interface */
	SL_SEC_GONE,	 /* policy entries of an endpoint id no endpoint has */
	SL_SEC_SERVICE,	 /* one group per service, by frontend */
	SL_SEC_BACKENDS,
	SL_SEC_IDENTITIES,
	SL_SEC_XFRM,
	SL_SEC_ROUTES,
	SL_SEC_DEVICES,
	SL_SEC_IPCACHE,
	SL_SEC_PREFILTER,
	SL_SEC_MAPS,
	SL_SEC_PROGS,
	SL_SEC_OTHER,  /* an object of a kind or size no row describes */
	SL_SEC_HIDDEN, /* said by another line (a backend by its service's lines) */
	SL_SEC__MAX
};

/* Where a plan prints one change. */
struct sl_plan_group {
	/* The group inside its section, compared as bytes: an interface
	 * name, zero-padded (SL_SEC_ENDPOINT), a struct sl_service_key
	 * (SL_SEC_SERVICE). */
	uint8_t name[24];
	uint32_t ep_id;	 /* SL_SEC_GONE: the group's endpoint id */
	uint8_t section; /* enum sl_plan_section */
	uint8_t rank;	 /* the order of kinds inside the group */
};

struct sl_desc;
struct sl_desc_ctx;
struct sl_view;

/* A callback that prints one plan line of the change being described: its
 * op (enum sl_op), its JSON kind, and which sides d->obj[] holds. */
typedef void (*sl_line_fn)(void *arg, int op, const char *kind, bool before, bool after);

struct sl_kind {
	const char *name; /* in plans: the JSON "kind"; in messages */
	uint8_t klen;	  /* key and value sizes: an object of other sizes is "unknown" */
	uint16_t vlen;
	uint8_t flags;	 /* enum sl_kind_flags */
	uint8_t backend; /* enum sl_kind_backend */
	/* Apply order inside a backend: adds by increasing rank (what is
	 * pointed at before what points at it), removals by decreasing. */
	uint8_t rank;
	/* SL_VIA_ENTRIES: the pinned map holding the entries, and the
	 * mapSizes field sizing it (SL_MAP_* of model.h). */
	const char *map;
	int map_size;
	/* The group of maps (enum sl_map_group, kinds/map.h) an object of
	 * the kind needs, or -1; NULL: none. key and val sit at any
	 * alignment. */
	int (*maps)(const void *key, const void *val);
	/* The device an object names, which must exist before anything is
	 * changed (NULL: none), and what the device is to the user. */
	bool (*device)(const void *key, const void *val, char ret_name[17]);
	const char *device_role;

	/* ---- plans (kinds/desc.h) ---- */
	uint8_t section; /* enum sl_plan_section, when group is NULL */
	/* The line of one change, and (d->fields) each side's JSON fields. */
	void (*describe)(const struct sl_desc_ctx *c, const struct sl_view *v, struct sl_desc *d);
	/* Where the change is printed; NULL: `section`, rank 0. */
	void (*group)(const struct sl_desc_ctx *c, const struct sl_view *v, int op, struct sl_plan_group *g);
	/* A change said in more than one line (a service: the service, then
	 * a line per backend that comes, goes or changes); NULL: describe,
	 * one line. */
	void (*lines)(const struct sl_desc_ctx *c, const struct sl_view *v, int op, struct sl_desc *d,
		      sl_line_fn line, void *arg);

	/* ---- the sets' form of a value ----
	 * NULL: an object set holds the kernel's vlen bytes. Else the sets
	 * hold a form of the kind's own (a service's 772-byte value is 58
	 * bytes with two backends): pack writes the form of the kernel's
	 * vlen bytes into out (room for vlen bytes) and returns its length;
	 * unpack writes the kernel's bytes back, false when the bytes are
	 * no form of the kind. pack is a function of the value and unpack
	 * its inverse, so two values are equal exactly when their forms
	 * are: sets, diffs and patches compare forms and never unpack. */
	size_t (*pack)(const void *kval, uint8_t *out);
	bool (*unpack)(const void *form, size_t len, void *kval);
};

/* The row of a kind, or NULL for a number no kind has. */
const struct sl_kind *sl_kind(unsigned kind);
/* Whether an object of that kind and sizes is one its row describes (a
 * kind with a form of its own: a value of 1 to vlen bytes, which
 * sl_kind_value checks). */
bool sl_kind_fits(unsigned kind, size_t klen, size_t vlen);
/* The most bytes a kernel value of any kind has. */
#define SL_KIND_VLEN_MAX 1024
/* Where the kernel's bytes of an object's value are: the set's own, or
 * unpacked into buf (room for the kind's vlen bytes); NULL when the bytes
 * are not a value of the kind. */
const void *sl_kind_value(unsigned kind, const void *val, size_t len, void *buf);
/* (objset_add_kernel, reconcile/objset.h, adds an object from the
 * kernel's bytes of its value: the set gets the kind's form of it.) */
/* The kinds of one backend, by apply rank; returns how many. */
size_t sl_kind_order(enum sl_kind_backend backend, uint8_t ret_kinds[SL_OBJ__MAX]);
/* The kind whose entries live in the pinned map of that name, or -1. */
int sl_kind_by_map(const char *map);
/* The kind's name, "unknown" for a number no kind has. */
const char *sl_kind_name(unsigned kind);

extern const struct sl_kind sl_kind_endpoint, sl_kind_ipcache, sl_kind_policy, sl_kind_prefilter4,
	sl_kind_prefilter6, sl_kind_attach, sl_kind_map, sl_kind_prog, sl_kind_backend, sl_kind_service,
	sl_kind_xfrm_state, sl_kind_xfrm_policy, sl_kind_route, sl_kind_device, sl_kind_rule,
	sl_kind_sockhook, sl_kind_ep_name, sl_kind_id_labels, sl_kind_ep_netns;
