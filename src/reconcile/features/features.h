/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The features: one module per section of the state, each holding that
 * section's <feature>_validate() (called by sl_validate in validate.c, in
 * this order) and, where the section compiles to objects of its own, its
 * <feature>_compile() (called by sl_compile in compile.c).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reconcile/model.h"
#include "reconcile/objset.h"

/* The options of sl_validate (validate.h). */
struct sl_validate_opts {
	const char *node;     /* --node; NULL: the state's node:, else hostname */
	const char *hostname; /* this machine's host name, or NULL */
	/* Not knowing which node this is when the state needs it (vxlan,
	 * encryption) is an error when set (apply), a warning otherwise. */
	bool strict_node;
};

/* Bytes of key needed for an algorithm: fills up to `max` accepted lengths
 * and returns how many. Exposed for the tests. */
unsigned sl_key_lengths(int aead, int auth, int cipher, const char *which, unsigned *lens, unsigned max);

struct val;

void nodes_validate(struct val *v);
void nodes_resolve_this_node(struct val *v);
int nodes_index(const struct sl_state *st, const char *name);
const char *nodes_names(struct val *v);
void datapath_validate(struct val *v);
void prefilter_validate(struct val *v);
/* `digest`: the prefilter program's, as the previous compile had it (0: none). */
int prefilter_compile(const struct sl_state *st, uint64_t digest, struct sl_objset *out);
void identities_validate(struct val *v);
void endpoints_validate(struct val *v);
void policies_validate(struct val *v);
/* Also returns the number of distinct backends, for the capacity check. */
void services_validate(struct val *v, size_t *ret_backends);
/* services' compile is sl_lb_compile (lb.h) */
void encryption_validate(struct val *v);
/* encryption's compile is sl_compile_encryption (encrypt.h) */
