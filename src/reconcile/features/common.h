/* SPDX-License-Identifier: Apache-2.0 */
/* The context of validation (validate.c) that every feature's
 * <feature>_validate() works in, and the helpers they share (common.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "features.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "reconcile/diag.h"
#include "reconcile/load.h"
#include "reconcile/model.h"
#include "reconcile/net.h"

struct id_ref {
	uint32_t id;
	uint32_t idx; /* into st->identities */
};

/* label "key=value" (and "key" alone) -> identities carrying it */
struct lidx_slot {
	const char *key;   /* arena: "k\x01v" or "k" */
	uint32_t *v;       /* identity indices */
	uint32_t n, cap;
};

struct val {
	struct sl_load *ld;
	struct sl_state *st;
	struct diag_list *d;
	const struct sl_validate_opts *o;
	struct strbuf path;
	const char *node; /* this node's name, when known */
	int node_idx;	  /* in st->nodes, or -1 */
	bool node_known;  /* whether "local" can be told for endpoints naming a node */
	struct id_ref *ids;
	bool *id_used;
	struct lidx_slot *lidx;
	size_t lidx_cap, lidx_n;
	/* the validation's own text (keys of duplicates, the label index):
	 * given back at its end, not kept with the state */
	struct arena scratch;
	bool oom;
};

struct dup {
	const char *key; /* what must be unique */
	const char *file;
	struct sl_mark mark;
	uint32_t order;
	uint32_t doc_index;
	const char *name; /* the item's name, or NULL */
};

struct dups {
	struct dup *v;
	size_t n, cap;
	const char *what;  /* "endpoint name" */
	const char *list;  /* "endpoints" */
	const char *field; /* "ipv4", or NULL */
};


/* The words of every warning about a setting that this version reads and
 * checks but does not carry out (sluice-state(5) marks each "Not yet"). */
#define NOT_YET "is not carried out yet by this version of sluice"

/* The path of the value being checked ("endpoints[web].ipv4"): each
 * v_path* adds to it and returns the length to give v_pop to take it back. */
size_t v_path(struct val *v, const char *fmt, ...) _printf_(2, 3);
void v_pop(struct val *v, size_t saved);
void v_path_add(struct val *v, const char *s, size_t len);
size_t v_path_lit(struct val *v, const char *s);
/* Decimal digits of n into buf (at least 10 bytes); returns their count. */
size_t v_u32_digits(uint32_t n, char *buf);
size_t v_path_idx(struct val *v, const char *s, uint32_t i);
size_t v_path_item(struct val *v, const char *list, const char *name, uint32_t doc_index);
/* An error (a warning) at the current path (plus .field when not NULL). */
void v_err(struct val *v, const char *file, const struct sl_mark *m, const char *field, const char *fmt, ...)
	_printf_(5, 6);
void v_warn(struct val *v, const char *file, const struct sl_mark *m, const char *field, const char *fmt, ...)
	_printf_(5, 6);
/* Duplicates across files: add each key, then report every later
 * occurrence of a key, naming the first. */
void v_dup_add(struct val *v, struct dups *ds, const char *key, const char *file, const struct sl_mark *m,
		const char *name, uint32_t doc_index);
int v_dup_cmp(const void *pa, const void *pb);
void v_dup_report(struct val *v, struct dups *ds);
/* Room for n keys at once (a large list grown by doubling is copied again
 * at each step). */
void v_dup_reserve(struct val *v, struct dups *ds, size_t n);
const char *v_astrf(struct val *v, const char *fmt, ...) _printf_(2, 3);
const char *v_astr(struct val *v, const char *s, size_t len);
const char *v_u32_key(struct val *v, uint32_t n);
const char *v_prefix_key(struct val *v, const struct sl_prefix *p);
const char *v_addr_key(struct val *v, const struct sl_prefix *p);
bool v_check_range(struct val *v, const char *file, const struct sl_mark *m, const char *field, uint64_t val,
		uint64_t lo, uint64_t hi, const char *what);
/* An address (of family 4 or 6, or either: 0), or a prefix, checked, with
 * an error when it is not one. *ret is what the text parses to whether it
 * is fit or not (family 0: absent, or no address or prefix): the model's
 * *_pfx field beside the text (model.h). */
bool v_check_addr(struct val *v, const char *file, const struct sl_mark *m, const char *field, const char *s,
		int family, struct sl_prefix *ret);
bool v_check_prefix(struct val *v, const char *file, const struct sl_mark *m, const char *field, const char *s,
		bool allow_bare, struct sl_prefix *ret);
/* n prefixes, zeroed, in the load's arena: a list's *_pfx (NULL when n is 0,
 * or out of memory, which sets v->oom). */
struct sl_prefix *v_prefixes(struct val *v, uint32_t n);
void v_check_ifname(struct val *v, const char *file, const struct sl_mark *m, const char *field, const char *n);
bool v_check_name(struct val *v, const char *file, const struct sl_mark *m, const char *n);
void v_check_labels(struct val *v, const char *file, const struct sl_label *l, uint32_t n);
const char *v_reserved_identity(uint32_t id);
/* Identities by label ("key\x01value" and "key") and by id. */
struct lidx_slot *v_lidx_find(struct val *v, const char *key, bool create);
void v_lidx_add(struct val *v, const char *key, uint32_t idx);
int v_id_ref_cmp(const void *a, const void *b);
const struct sl_identity *v_identity_by_id(struct val *v, uint32_t id, uint32_t *ret_idx);
void v_label_pair_key(char *buf, size_t len, const char *k, const char *val);
bool v_selector_matches_any(struct val *v, const struct sl_selector *s, bool endpoints_only);
const char *v_label_set_key(struct val *v, const struct sl_label *l, uint32_t n);
