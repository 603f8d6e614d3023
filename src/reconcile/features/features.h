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
#include "kinds/prog.h"

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
/* overlay.c: sluice_vxlan and what it needs (sluice_from_overlay on its tc
 * ingress; digest: that program's, as the previous compile had it, 0:
 * none; the routes on it to the other nodes' pod CIDRs, for the node's own
 * traffic), with tunnel: vxlan and the underlay device's MTU known (0:
 * nothing is compiled). */
int overlay_compile(const struct sl_state *st, uint32_t underlay_mtu, uint64_t digest, struct sl_objset *out);
int prefilter_compile(const struct sl_state *st, uint64_t digest, struct sl_objset *out);
/* sockaccel.c: the socket hooks of socketAcceleration, with the programs'
 * digests (NULL: none) and the id of cgroupPath's cgroup known (0:
 * nothing is compiled). */
int sockaccel_compile(const struct sl_state *st, const uint64_t digest[SL_PROG__MAX], uint64_t cgroup_id,
		      struct sl_objset *out);
/* The hooks (enum sl_sockhook), each with its program, the cgroup hooks on
 * that cgroup; nothing without both (sockaccel.c). */
int sockhooks_compile(const uint8_t *hooks, size_t n, const uint64_t digest[SL_PROG__MAX], uint64_t cgroup_id,
		      struct sl_objset *out);
/* hostservices.c: the socket hooks of hostReachableServices, as
 * sockaccel_compile's. */
int hostservices_compile(const struct sl_state *st, const uint64_t digest[SL_PROG__MAX], uint64_t cgroup_id,
			 struct sl_objset *out);
void identities_validate(struct val *v);
void endpoints_validate(struct val *v);
/* Whether an endpoint lives on this node (st->node, as validation set it). */
bool endpoints_is_local(const struct sl_state *st, const struct sl_endpoint *ep);
struct policies_compile;
/* What the previous compile gave the endpoints (compile.h's sl_compile_prev):
 * ids by interface, and the digests of the programs (SL_PROG__MAX). */
struct endpoints_prev {
	const char *const *ifnames;
	const uint16_t *ids;
	size_t n;
	const uint64_t *prog_digest;
};
/* The local endpoints' objects, each with its policy (pc) and the tc
 * ingress and egress attachments of its device. Ids: the state's, else the
 * one the interface had (prev, which may be NULL), else the lowest free. */
int endpoints_compile(const struct sl_state *st, const struct endpoints_prev *prev, struct policies_compile *pc,
		      struct sl_objset *out);
void policies_validate(struct val *v);

/*
 * Policies' compile, which endpoints_compile drives: a context made once
 * per compile (it assigns every CIDR policies name an identity: the one
 * the previous compile gave it, prev_cidrs[i] -> prev_cidr_ids[i], else the
 * lowest free), then each local endpoint's entries, then the entries added
 * to the set (finish). count_only: each endpoint's entries are counted
 * (policies_compile_counted), not kept. Free with policies_compile_free,
 * also when _new failed.
 */
struct sl_endpoint_value;
/* A CIDR named by policy, with the identity it is given. */
/* Each prefix the policies name (their CIDRs, CIDR sets and the sets'
 * exceptions), as validation parsed them (family 0: none): fn(p, ctx). */
void policies_each_prefix(const struct sl_state *st, void (*fn)(const struct sl_prefix *p, void *ctx), void *ctx);

struct policy_cidr {
	struct sl_prefix p;
	uint32_t id;
};
int policies_compile_new(const struct sl_state *st, const struct sl_prefix *prev_cidrs, const uint32_t *prev_cidr_ids,
			 size_t n_prev_cidrs, bool count_only, struct policies_compile **ret);
/* The entries of the endpoint of this identity and id; sets the
 * enforcement flags and policy levels of its value v. */
int policies_compile_endpoint(struct policies_compile *pc, uint32_t identity, uint16_t ep_id,
			      struct sl_endpoint_value *v);
int policies_compile_finish(struct policies_compile *pc, struct sl_objset *out);
/* The CIDRs policies name, sorted by prefix, with their identities. */
const struct policy_cidr *policies_compile_cidrs(const struct policies_compile *pc, size_t *ret_n);
size_t policies_compile_counted(const struct policies_compile *pc);
void policies_compile_free(struct policies_compile *pc);
/* Also returns the number of distinct backends, for the capacity check. */
void services_validate(struct val *v, size_t *ret_backends);
/* services' compile is sl_lb_compile (lb.h) */
/* The ipcache (ipcache.c): the endpoints' addresses, the nodes' ips and
 * pod CIDRs, and the CIDRs policies name (policies_compile_cidrs). */
int ipcache_compile(const struct sl_state *st, const struct policy_cidr *cidrs, size_t n_cidrs, struct sl_objset *out);
/* names.c: the names the monitor says: endpoints' names, identities'
 * labels (not the CIDR identities': the ipcache holds their prefixes). */
int names_compile(const struct sl_state *st, struct sl_objset *out);
void encryption_validate(struct val *v);
/* encryption's compile is sl_compile_encryption (encrypt.h) */
/* proxy.c: the policy routing of the L7 proxy redirect (a rule and a local
 * route in sluice's proxy table per family of the local endpoints'
 * addresses), when a policy entry already in out (a local endpoint's)
 * carries a proxy port; nothing otherwise. proxyPort's validation is
 * policies_validate's. */
/* policies.c: whether some allow rule names a proxyPort (sl_compile_uses_proxy). */
bool policies_use_proxy(const struct sl_state *st);
int proxy_compile(const struct sl_state *st, uint64_t netdev_digest, struct sl_objset *out);
