/* SPDX-License-Identifier: Apache-2.0 */
/* The endpoints section: its validation (where each lives, its device,
 * addresses and identity; duplicates) and its compile, below: the local
 * endpoints' objects, their ids and their programs' attachments. */
#include "features.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/abi.h>

#include "common.h"
#include "reconcile/labels.h"
#include "reconcile/net.h"
#include "kinds/attach.h"
#include "kinds/prog.h"

/* Whether an endpoint lives on this node; *known false when that cannot be
 * told (it names a node, and which node this is is not known). */
static bool endpoint_local(const struct val *v, const struct sl_endpoint *ep, bool *known)
{
	*known = true;
	if (!ep->node)
		return true;
	*known = v->node_known;
	return v->node_known && streq(ep->node, v->node);
}

static void endpoint_in_pod_cidrs(struct val *v, const struct sl_endpoint *ep, const struct sl_node *owner,
				  const struct sl_prefix *a, int field)
{
	bool any = false;

	/* (a pod CIDR that is not one has family 0: never a's) */
	for (uint32_t j = 0; owner->pod_cidrs_pfx && j < owner->n_pod_cidrs; j++) {
		if (owner->pod_cidrs_pfx[j].family != a->family)
			continue;
		if (sl_prefix_contains(&owner->pod_cidrs_pfx[j], a))
			return;
		any = true;
	}
	if (any)
		v_warn(v, ep->file, SL_AT(ep, field), field == SL_EP_IPV4 ? "ipv4" : "ipv6",
		  "%s is outside the pod CIDRs of node %s", field == SL_EP_IPV4 ? ep->ipv4 : ep->ipv6,
		  diag_cut(owner->name));
}

/* An address no endpoint can have: refused (0.0.0.0, loopback, ...). */
static bool endpoint_addr_ok(struct val *v, const struct sl_endpoint *ep, int field, const struct sl_prefix *a)
{
	const char *why = sl_addr_endpoint_problem(a);
	bool v4 = field == SL_EP_IPV4;

	if (!why)
		return true;
	v_err(v, ep->file, SL_AT(ep, field), v4 ? "ipv4" : "ipv6", "%s is %s, which no endpoint can have%s",
	  v4 ? ep->ipv4 : ep->ipv6, why, strstr(why, "IPv4-mapped") ? "; give the IPv4 address as ipv4" : "");
	return false;
}

static void validate_endpoint(struct val *v, struct sl_endpoint *ep)
{
	struct sl_state *st = v->st;
	size_t saved = v_path_item(v, "endpoints", ep->name, ep->doc_index);
	int owner_idx = v->node_idx;
	bool local_known, local = endpoint_local(v, ep, &local_known);
	bool has4, has6;

	v_check_name(v, ep->file, SL_AT(ep, SL_EP_NAME), ep->name);
	/* Where it lives. */
	if (SL_HAS(ep, SL_EP_NODE)) {
		owner_idx = nodes_index(st, ep->node);
		if (owner_idx < 0 && st->n_nodes)
			v_err(v, ep->file, SL_AT(ep, SL_EP_NODE), "node", "%s is not one of the nodes (%s)", diag_q(ep->node),
			  nodes_names(v));
		else if (owner_idx < 0 && !(v->node_known && streq(ep->node, v->node)))
			v_err(v, ep->file, SL_AT(ep, SL_EP_NODE), "node",
			  "%s is not a known node: the state has no 'nodes' section", diag_q(ep->node));
	}
	/* Its device, on this node. */
	if (SL_HAS(ep, SL_EP_INTERFACE))
		v_check_ifname(v, ep->file, SL_AT(ep, SL_EP_INTERFACE), "interface", ep->interface);
	else if (local && local_known && !SL_GIVEN(ep, SL_EP_INTERFACE))
		v_err(v, ep->file, &ep->m[0], NULL, "missing required key 'interface' (the endpoint's device on this node)");
	/* The namespace of its ipvlan slave. */
	if (SL_HAS(ep, SL_EP_NETNS)) {
		if (ep->netns[0] != '/' || strlen(ep->netns) >= SL_NETNS_PATH_LEN)
			v_err(v, ep->file, SL_AT(ep, SL_EP_NETNS), "netns",
			      "%s is not an absolute path of at most %d bytes (for example /run/netns/%s)", diag_q(ep->netns),
			      SL_NETNS_PATH_LEN - 1, ep->name ? ep->name : "web-1");
		else if (st->datapath->mode != SL_MODE_IPVLAN)
			v_err(v, ep->file, SL_AT(ep, SL_EP_NETNS), "netns",
			      "netns is for mode: ipvlan, where the endpoint's device is its ipvlan slave; in veth mode "
			      "interface is the host side of the pair, in the node's namespace");
	}
	/* Addresses, inside the pod CIDRs of the node that owns it. */
	has4 = v_check_addr(v, ep->file, SL_AT(ep, SL_EP_IPV4), "ipv4", ep->ipv4, 4, &ep->ipv4_pfx);
	has6 = v_check_addr(v, ep->file, SL_AT(ep, SL_EP_IPV6), "ipv6", ep->ipv6, 6, &ep->ipv6_pfx);
	has4 = has4 && endpoint_addr_ok(v, ep, SL_EP_IPV4, &ep->ipv4_pfx);
	has6 = has6 && endpoint_addr_ok(v, ep, SL_EP_IPV6, &ep->ipv6_pfx);
	if (!SL_GIVEN(ep, SL_EP_IPV4) && !SL_GIVEN(ep, SL_EP_IPV6))
		v_err(v, ep->file, &ep->m[0], NULL, "an endpoint needs an address: give ipv4, ipv6 or both");
	if (owner_idx >= 0) {
		if (has4)
			endpoint_in_pod_cidrs(v, ep, &st->nodes[owner_idx], &ep->ipv4_pfx, SL_EP_IPV4);
		if (has6)
			endpoint_in_pod_cidrs(v, ep, &st->nodes[owner_idx], &ep->ipv6_pfx, SL_EP_IPV6);
	}
	/* Identity: by number, or by labels equal to one identity's. */
	if (SL_GIVEN(ep, SL_EP_IDENTITY) && SL_GIVEN(ep, SL_EP_LABELS)) {
		v_err(v, ep->file, SL_AT(ep, SL_EP_LABELS), "labels", "give either identity or labels, not both");
	} else if (SL_HAS(ep, SL_EP_IDENTITY)) {
		uint32_t idx;

		if (v_identity_by_id(v, ep->identity, &idx))
			v->id_used[idx] = true;
		else if (ep->identity < SL_IDENTITY_MIN)
			v_err(v, ep->file, SL_AT(ep, SL_EP_IDENTITY), "identity",
			  "identity %" PRIu32 " is reserved; an endpoint takes one of the identities listed in "
			  "'identities'",
			  ep->identity);
		else
			v_err(v, ep->file, SL_AT(ep, SL_EP_IDENTITY), "identity",
			  "identity %" PRIu32 " is not defined in 'identities'", ep->identity);
	} else if (SL_HAS(ep, SL_EP_LABELS)) {
		size_t before = v->d->n_errors, s2 = v_path_lit(v, ".labels");
		const struct lidx_slot *cand = NULL;
		bool found = false;

		v_check_labels(v, ep->file, ep->labels, ep->n_labels);
		v_pop(v, s2);
		if (ep->n_labels && v->d->n_errors == before) {
			char key[1024];

			v_label_pair_key(key, sizeof(key), ep->labels[0].key, ep->labels[0].value);
			cand = v_lidx_find(v, key, false);
		}
		for (uint32_t j = 0; cand && j < cand->n && !found; j++) {
			const struct sl_identity *id = &st->identities[cand->v[j]];

			if (sl_labels_equal(ep->labels, ep->n_labels, id->labels, id->n_labels)) {
				ep->identity = id->id;
				v->id_used[cand->v[j]] = true;
				found = true;
			}
		}
		if (!found && v->d->n_errors == before)
			v_err(v, ep->file, SL_AT(ep, SL_EP_LABELS), "labels",
			  "these labels are not the labels of any identity; an endpoint's labels must equal one "
			  "identity's labels exactly");
	} else if (!SL_GIVEN(ep, SL_EP_IDENTITY) && !SL_GIVEN(ep, SL_EP_LABELS)) {
		v_err(v, ep->file, &ep->m[0], NULL, "an endpoint needs an identity: give identity or labels");
	}
	v_check_range(v, ep->file, SL_AT(ep, SL_EP_ID), "id", ep->id, 1, 65535, "an endpoint id");
	v_pop(v, saved);
}

/* Duplicates among endpoints, one kind at a time so that a large state
 * holds one index at once. */
enum { EP_DUP_NAME, EP_DUP_INTERFACE, EP_DUP_ADDRESS, EP_DUP_ID, EP_DUP__MAX };

static void endpoint_duplicates(struct val *v, int kind)
{
	static const struct {
		const char *what, *field;
	} kinds[EP_DUP__MAX] = {
		[EP_DUP_NAME] = { "endpoint name", "name" },
		[EP_DUP_INTERFACE] = { "interface", "interface" },
		[EP_DUP_ADDRESS] = { "address", NULL },
		[EP_DUP_ID] = { "endpoint id", "id" },
	};
	struct dups ds = { .what = kinds[kind].what, .list = "endpoints", .field = kinds[kind].field };
	const struct sl_state *st = v->st;

	for (uint32_t i = 0; i < st->n_endpoints; i++) {
		const struct sl_endpoint *ep = &st->endpoints[i];
		bool known, local = endpoint_local(v, ep, &known);

		switch (kind) {
		case EP_DUP_NAME:
			v_dup_add(v, &ds, ep->name, ep->file, SL_AT(ep, SL_EP_NAME), ep->name, ep->doc_index);
			break;
		case EP_DUP_INTERFACE:
			/* Interfaces are per node: only this node's count. */
			if (local && known)
				v_dup_add(v, &ds, ep->interface, ep->file, SL_AT(ep, SL_EP_INTERFACE), ep->name,
					ep->doc_index);
			break;
		case EP_DUP_ADDRESS:
			if (ep->ipv4_pfx.family)
				v_dup_add(v, &ds, v_addr_key(v, &ep->ipv4_pfx), ep->file, SL_AT(ep, SL_EP_IPV4),
					ep->name, ep->doc_index);
			if (ep->ipv6_pfx.family)
				v_dup_add(v, &ds, v_addr_key(v, &ep->ipv6_pfx), ep->file, SL_AT(ep, SL_EP_IPV6),
					ep->name, ep->doc_index);
			break;
		case EP_DUP_ID:
			if ((local || !known) && SL_HAS(ep, SL_EP_ID) && ep->id >= 1 && ep->id <= 65535)
				v_dup_add(v, &ds, v_u32_key(v, ep->id), ep->file, SL_AT(ep, SL_EP_ID), ep->name,
					ep->doc_index);
			break;
		}
	}
	if (kind == EP_DUP_ADDRESS) {
		/* The path names the field that holds the address. */
		if (ds.n > 1)
			qsort(ds.v, ds.n, sizeof(*ds.v), v_dup_cmp);
		for (size_t i = 1; i < ds.n; i++) {
			const struct dup *first = &ds.v[i], *d = &ds.v[i];
			size_t saved;

			while (first > ds.v && streq(first[-1].key, d->key))
				first--;
			if (first == d)
				continue;
			saved = v_path_item(v, "endpoints", d->name, d->doc_index);
			v_err(v, d->file, &d->mark, strchr(d->key, ':') ? "ipv6" : "ipv4",
			  "address %s is already used at %s:%u:%u", d->key, first->file, first->mark.line,
			  first->mark.col);
			v_pop(v, saved);
		}
		free(ds.v);
		return;
	}
	v_dup_report(v, &ds);
}

void endpoints_validate(struct val *v)
{
	struct sl_state *st = v->st;

	for (uint32_t i = 0; i < st->n_endpoints; i++)
		validate_endpoint(v, &st->endpoints[i]);
	for (int k = 0; k < EP_DUP__MAX; k++)
		endpoint_duplicates(v, k);
}

/* ---- compile ---- */

struct local_ep {
	const struct sl_endpoint *ep;
	uint16_t id;
};

bool endpoints_is_local(const struct sl_state *st, const struct sl_endpoint *ep)
{
	return !ep->node || (st->node && streq(ep->node, st->node));
}

static int ep_id_cmp(const void *a, const void *b)
{
	return strcmp(((const struct local_ep *)a)->ep->interface, ((const struct local_ep *)b)->ep->interface);
}

/* Endpoint ids: the state's, else the one it had (prev), else the lowest free. */
static int assign_endpoint_ids(const struct endpoints_prev *prev, struct local_ep *l, size_t n)
{
	static uint8_t used[65536 / 8];
	uint32_t next = 1;

	memset(used, 0, sizeof(used));
	for (size_t i = 0; i < n; i++) {
		if (SL_HAS(l[i].ep, SL_EP_ID))
			l[i].id = (uint16_t)l[i].ep->id;
		for (size_t j = 0; !l[i].id && prev && j < prev->n; j++)
			if (streq(prev->ifnames[j], l[i].ep->interface))
				l[i].id = prev->ids[j];
		if (l[i].id && (used[l[i].id / 8] & (1u << (l[i].id % 8))))
			l[i].id = 0; /* taken by an explicit id: assigned anew below */
		if (l[i].id)
			used[l[i].id / 8] |= (uint8_t)(1u << (l[i].id % 8));
	}
	for (size_t i = 0; i < n; i++) {
		if (l[i].id)
			continue;
		while (next < 65536 && (used[next / 8] & (1u << (next % 8))))
			next++;
		if (next >= 65536)
			return -ERANGE;
		l[i].id = (uint16_t)next;
		used[next / 8] |= (uint8_t)(1u << (next % 8));
	}
	return 0;
}

/* The programs of an endpoint, on its device: what the endpoint sends
 * meets sluice_from_endpoint, what it is sent sluice_to_endpoint. The host
 * side of a veth pair sends what the endpoint sent: from on its tc ingress,
 * to on its egress. An ipvlan slave is the endpoint's own device, in its
 * namespace: from on its egress, to on its ingress (the ipvlan driver
 * delivers to a slave through its ingress whether the packet came from the
 * master or from another slave). */
static int endpoint_attach(const struct sl_state *st, const struct endpoints_prev *prev, const struct sl_endpoint *ep,
			   struct sl_objset *out)
{
	bool ipvlan = st->datapath->mode == SL_MODE_IPVLAN;
	const char *ifname = ep->interface;
	struct sl_attach_key k = { .hook = ipvlan ? SL_HOOK_TC_EGRESS : SL_HOOK_TC_INGRESS };
	struct sl_attach_value v = { .prog = SL_PROG_FROM_ENDPOINT,
				     .netns_tag = ipvlan ? sl_netns_tag(ep->netns, SL_NETNS_PATH_LEN) : 0 };
	int r;

	if (prev)
		v.digest = prev->prog_digest[SL_PROG_FROM_ENDPOINT];
	snprintf(k.ifname, sizeof(k.ifname), "%s", ifname);
	r = objset_add(out, SL_OBJ_ATTACH, &k, sizeof(k), &v, sizeof(v));
	if (r < 0)
		return r;
	k.hook = ipvlan ? SL_HOOK_TC_INGRESS : SL_HOOK_TC_EGRESS;
	v.prog = SL_PROG_TO_ENDPOINT;
	v.digest = prev ? prev->prog_digest[SL_PROG_TO_ENDPOINT] : 0;
	return objset_add(out, SL_OBJ_ATTACH, &k, sizeof(k), &v, sizeof(v));
}

int endpoints_compile(const struct sl_state *st, const struct endpoints_prev *prev, struct policies_compile *pc,
		      struct sl_objset *out)
{
	struct local_ep *l = calloc(st->n_endpoints + 1, sizeof(*l));
	size_t n = 0;
	int r;

	if (!l)
		return -ENOMEM;
	for (uint32_t i = 0; i < st->n_endpoints; i++)
		if (endpoints_is_local(st, &st->endpoints[i]) && st->endpoints[i].interface)
			l[n++].ep = &st->endpoints[i];
	qsort(l, n, sizeof(*l), ep_id_cmp);
	r = assign_endpoint_ids(prev, l, n);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		struct sl_endpoint_value v = { .identity = l[i].ep->identity, .id = l[i].id };
		char key[16] = { 0 };

		r = policies_compile_endpoint(pc, l[i].ep->identity, l[i].id, &v);
		if (r < 0)
			break;
		snprintf(key, sizeof(key), "%s", l[i].ep->interface);
		r = objset_add(out, SL_OBJ_ENDPOINT, key, sizeof(key), &v, sizeof(v));
		if (r >= 0 && st->datapath->mode == SL_MODE_IPVLAN) {
			struct sl_ep_netns_value nv = { 0 };

			if (l[i].ep->netns)
				snprintf(nv.netns, sizeof(nv.netns), "%s", l[i].ep->netns);
			if (st->datapath->ipvlan_master)
				snprintf(nv.master, sizeof(nv.master), "%s", st->datapath->ipvlan_master);
			r = objset_add(out, SL_OBJ_EP_NETNS, key, sizeof(key), &nv, sizeof(nv));
		}
		if (r >= 0)
			r = endpoint_attach(st, prev, l[i].ep, out);
	}
	free(l);
	return r;
}
