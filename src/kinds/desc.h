/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the kind modules describe changes with: a change as both sides'
 * bytes (struct sl_view), the output of a description (struct sl_desc: the
 * line, each side's JSON fields, a sticky error), the indexes that give
 * objects human names (struct sl_desc_ctx: endpoints by id, CIDR
 * identities, the state's identities, endpoints and services), and the
 * formatting helpers every kind shares. Pure: no kernel calls.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <sluice/abi.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "kinds/kind.h"
#include "reconcile/diff.h"
#include "reconcile/objset.h"

struct sl_state;
struct sl_endpoint;

enum { SL_BEFORE, SL_AFTER }; /* the sides of a change: the live value, the desired one */
enum { SL_WANT, SL_HAVE };    /* the two object sets */

/* What a change says: its line (the text after the sign, also JSON's
 * "object") and, for JSON, each side's decoded fields. */
struct sl_desc {
	struct strbuf line;
	struct strbuf obj[2]; /* by SL_BEFORE/SL_AFTER: fields, without the braces */
	bool fields;	      /* fill obj[] */
	int err;	      /* the first failed append; later appends do nothing */
	FILE *sink;	      /* if set, the output is written here as it grows */
	size_t count[SL_CHANGE_OPS]; /* lines rendered, by op: the plan's summary */
};

/* The largest key or value a describe function reads as a struct. */
#define SL_VIEW_BYTES_MAX sizeof(struct sl_service_value)

/* A key or a value, copied out of a set's bytes (where it sits at any
 * alignment) to be read as a struct. */
union sl_view_bytes {
	uint64_t align;
	uint8_t b[SL_VIEW_BYTES_MAX];
};

/* One change as the describe functions see it. key and val[] point at
 * aligned copies (kbuf, vbuf) when they fit, else (an object of a size no
 * describe function reads as a struct) at the set's bytes. */
struct sl_view {
	uint8_t kind;
	const void *key;
	uint8_t klen;
	const void *val[2]; /* SL_BEFORE (have's value), SL_AFTER (want's); NULL when absent */
	uint16_t vlen[2];
	union sl_view_bytes kbuf, vbuf[2];
};

struct desc_ep_ref;
struct desc_cidr_ref;
struct desc_svc_ref;

struct sl_desc_ctx {
	const struct sl_objset *set[2]; /* SL_WANT, SL_HAVE */
	const struct sl_diff *d;
	const struct sl_state *st; /* may be NULL */
	struct desc_ep_ref *eps[2]; /* ENDPOINT objects of each set by id */
	size_t n_eps[2];
	struct desc_cidr_ref *cidrs; /* IPCACHE objects of CIDR identities, both sets */
	size_t n_cidrs;
	const struct sl_identity **idents; /* st's, by id */
	size_t n_idents;
	const struct sl_endpoint **st_eps; /* st's local endpoints, by interface */
	size_t n_st_eps;
	struct desc_svc_ref *svcs; /* st's services, by frontend */
	size_t n_svcs;
	uint32_t *said_backends; /* backend ids the service changes' lines name, sorted */
	size_t n_said_backends;
};

/* ---- the context ---- */

int desc_ctx_init(struct sl_desc_ctx *c, const struct sl_objset *want, const struct sl_objset *have,
		  const struct sl_diff *d, const struct sl_state *st);
void desc_ctx_free(struct sl_desc_ctx *c);
/* The interface name of the endpoint with that id in set s, or NULL. */
const char *desc_ep_ifname(const struct sl_desc_ctx *c, int s, uint16_t id);
/* The ENDPOINT value of an interface: want's, else have's; false if neither. */
bool desc_ep_value(const struct sl_desc_ctx *c, const char ifname[16], struct sl_endpoint_value *ret);
/* Whether either set holds a device (SL_OBJ_DEVICE) of that name. */
bool desc_owned_device(const struct sl_desc_ctx *c, const char ifname[16]);
/* The state's local endpoint on that interface, or NULL. */
const struct sl_endpoint *desc_st_endpoint(const struct sl_desc_ctx *c, const char *ifname);
/* The state's name of the service with that frontend, or NULL. */
const char *desc_service_name(const struct sl_desc_ctx *c, const struct sl_service_key *k);
/* Whether a service change's lines name the backend with that id. */
bool desc_backend_said(const struct sl_desc_ctx *c, uint32_t id);

/* ---- views ---- */

void desc_view_init(const struct sl_desc_ctx *c, const struct sl_change *ch, struct sl_view *v);
/* A secret kind's copies are wiped once read. */
void desc_view_wipe(struct sl_view *v);
/* Whether the view's kind has a row and its sizes are the row's. */
bool desc_view_known(const struct sl_view *v);
/* Describe any change: by its kind's row, else its kind and bytes (never
 * a secret kind's value). */
void desc_describe(const struct sl_desc_ctx *c, const struct sl_view *v, struct sl_desc *d);

/* ---- output, with a sticky error ---- */

void desc_put(struct sl_desc *d, struct strbuf *sb, const char *fmt, ...) _printf_(3, 4);
void desc_json_str(struct sl_desc *d, struct strbuf *sb, const char *s);
void desc_json_key(struct sl_desc *d, struct strbuf *sb, const char *name);
void desc_json_u(struct sl_desc *d, struct strbuf *sb, const char *name, uint64_t v);
/* A string, or null when s is NULL. */
void desc_json_s(struct sl_desc *d, struct strbuf *sb, const char *name, const char *s);
void desc_json_bool(struct sl_desc *d, struct strbuf *sb, const char *name, bool v);
/* The separator before the next item of a list of differences. */
void desc_sep(struct sl_desc *d, bool *first);
/* Empty the line and both sides' fields. */
void desc_reset(struct sl_desc *d);

/* ---- names of things ---- */

/* A fixed-size name field, NUL-terminated. */
void desc_name_copy(char *buf, size_t size, const void *field, size_t flen);
void desc_addr_format(uint8_t family, const uint8_t *addr, char *buf, size_t len);
/* "10.1.0.0/24"; false when family or length make no prefix. */
bool desc_prefix_format(uint8_t family, uint32_t len, const uint8_t *addr, char *buf, size_t size);
/* "TCP", "any", "ICMPv6", or the number. */
const char *desc_proto_name(uint8_t proto, char *buf, size_t len);
/* An entry of a name table, or "<what> N" in buf. */
const char *desc_table_name(const char *const *t, size_t n, unsigned v, const char *what, char *buf, size_t len);
#define DESC_TABLE_NAME(t, v, what, buf) desc_table_name(t, ARRAY_SIZE(t), (v), what, buf, sizeof(buf))
/* "1001 (app=client)", "2 (world)", "16777216 (cidr 192.0.2.0/24)", "1005". */
void desc_put_identity(const struct sl_desc_ctx *c, struct sl_desc *d, struct strbuf *sb, uint32_t id);
/* ", identity 1000 (app=a) -> 1001 (app=b)" in a list of differences,
 * when the identities differ. */
void desc_identity_change(const struct sl_desc_ctx *c, struct sl_desc *d, bool *first, uint32_t before,
			  uint32_t after);
/* A kind's device hook for a key that starts with an interface name (16
 * bytes). */
bool desc_device_in_key(const void *key, const void *val, char ret_name[17]);
/* Set g to the endpoint group of an interface name. */
void desc_group_ifname(struct sl_plan_group *g, const char *name);
/* Set g to section, with the changes of its kinds in the order apply takes
 * them: adds by increasing apply rank, then removals by decreasing. */
void desc_group_apply_order(const struct sl_view *v, int op, uint8_t section, struct sl_plan_group *g);

/* The names of drop reasons (enum sl_drop_reason) and of the datapath's
 * counters (enum sl_metric), as status, monitor and the metrics say them. */
extern const char *const sl_drop_names[];
/* A reserved identity's name (host, world, ...), NULL for any other. */
const char *sl_reserved_identity_name(uint32_t id);
extern const char *const sl_metric_names[];
