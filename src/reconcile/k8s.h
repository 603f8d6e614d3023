/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kubernetes NetworkPolicy (networking.k8s.io/v1) and Cilium's
 * CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy (cilium.io/v2)
 * documents, read as they are beside sluice's own (state-format.md, "Files
 * and directories"): the loader (load_walk.c) reads an object's parts with
 * the schema tables (schema.c), and sl_k8s_convert makes them policies with
 * the document's own meaning.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/arena.h"
#include "diag.h"
#include "model.h"

/* The label by which a namespaced policy selects its namespace's
 * endpoints, and the prefix under which endpoints carry their namespace's
 * labels (as Cilium's). */
#define SL_K8S_NS_LABEL "io.kubernetes.pod.namespace"
#define SL_K8S_NS_LABELS_PREFIX "io.cilium.k8s.namespace.labels."

enum sl_k8s_kind { SL_K8S_UNKNOWN, SL_K8S_NP, SL_K8S_CNP, SL_K8S_CCNP, SL_K8S_LIST };

/* One object as the loader read it. */
struct sl_k8s_obj {
	const char *file;
	const char *path; /* its place in the document ("" or "items[2]") */
	struct sl_mark at;
	const char *api_version, *kind;
	struct sl_mark api_m, kind_m;
	int kind_id; /* enum sl_k8s_kind, by kind */
	struct sl_k8s_meta *meta;
	struct sl_np_spec *np;	  /* NetworkPolicy's spec */
	struct sl_cnp_spec *spec; /* Cilium's spec */
	struct sl_cnp_specs specs; /* Cilium's specs */
	struct sl_mark spec_m, specs_m;
};

/* Whether a document whose first key is `key` is a Kubernetes object. */
bool sl_k8s_first_key(const char *key);

enum sl_k8s_kind sl_k8s_kind_of(const char *kind);

/* A label key without Cilium's source prefix `k8s:`. */
const char *sl_k8s_strip(const char *key);

/* Why a key of Cilium's policy language is refused (NULL: it is not one).
 * parent: the nearest key above it in the document. */
const char *sl_k8s_refused_key(const char *key, const char *parent);

/* Make o's policies (appended to doc->policies; what they take is taken
 * from o, strings new to them are the load's arena's), reporting into
 * diags what the document's kind does not allow. Negative only when out
 * of memory. */
int sl_k8s_convert(struct diag_list *diags, struct arena *arena, struct sl_k8s_obj *o, struct sl_doc *doc);

void sl_k8s_obj_free(struct sl_k8s_obj *o);
