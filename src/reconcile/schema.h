/* SPDX-License-Identifier: Apache-2.0 */
/* The state format as libcyaml schema tables: the one definition of which keys
 * exist, their types and their C layout (model.h). */
#pragma once

#include <cyaml/cyaml.h>

/* A whole document (struct sl_doc). */
extern const cyaml_schema_value_t sl_schema_doc;

/* The parts of Kubernetes and Cilium documents that k8s.c reads: metadata
 * (struct sl_k8s_meta), a NetworkPolicy's spec (struct sl_np_spec), a
 * Cilium rule (struct sl_cnp_spec). */
extern const cyaml_schema_value_t sl_schema_k8s_meta;
extern const cyaml_schema_value_t sl_schema_np_spec;
extern const cyaml_schema_value_t sl_schema_cnp_spec;
/* Cilium's specs (struct sl_cnp_specs: the list of rules, its one field). */
extern const cyaml_schema_value_t sl_schema_cnp_specs;

/* The entry schema of every label map. In libcyaml's terms a label map is a
 * sequence of {key, value} pairs; in YAML it is a mapping of strings, and the
 * loader reads it as one. */
extern const cyaml_schema_value_t sl_schema_label_entry;

/* Lists whose items diagnostics name by a field instead of an index:
 * endpoints[web-1], identities[1000], encryption.keys[3]. */
struct sl_named_list {
	const cyaml_schema_value_t *entry;
	unsigned name_field; /* index into the entry's fields */
};
extern const struct sl_named_list sl_named_lists[];
extern const unsigned sl_n_named_lists;

/* Is this sequence field one of scalars, with element positions beside it? */
static inline int sl_schema_is_scalar_seq(const cyaml_schema_field_t *f)
{
	return f->value.type == CYAML_SEQUENCE && f->value.sequence.entry->type != CYAML_MAPPING;
}

/* Offset of the element positions of a scalar sequence (SL_SCALAR_SEQ). */
static inline unsigned sl_schema_marks_offset(const cyaml_schema_field_t *f)
{
	return (f->count_offset + f->count_size + 7u) & ~7u;
}

/* Number of fields of a mapping schema. */
unsigned sl_schema_n_fields(const cyaml_schema_value_t *mapping);

/* Whether a null value for this field differs from what a user may mean by
 * it (policy directions: absent means "not enforced", [] means "deny all"). */
int sl_schema_presence_matters(const cyaml_schema_field_t *f);

/* A sequence's count as libcyaml stores it: size bytes (1, 2, 4 or 8) at p. */
uint64_t sl_schema_load_count(const void *p, uint32_t size);

/* Free what the struct at obj (loaded as mapping schema s) points to, not obj
 * itself. Strings live in the loader's arena and are not freed here. */
void sl_schema_free_mapping(const cyaml_schema_value_t *s, void *obj);
