/* SPDX-License-Identifier: Apache-2.0 */
/* The nodes section: names, addresses, pod CIDRs, encryption keys; which node this machine is. */
#include "features.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/abi.h>

#include "common.h"

struct pod_cidr {
	struct sl_prefix p;
	const struct sl_node *node;
	uint32_t idx; /* in node->pod_cidrs */
};

static int pod_cidr_cmp(const void *a, const void *b)
{
	const struct pod_cidr *x = a, *y = b;

	return sl_prefix_cmp(&x->p, &y->p);
}

void nodes_validate(struct val *v)
{
	struct sl_state *st = v->st;
	struct dups names = { .what = "node name", .list = "nodes", .field = "name" },
		    ips = { .what = "node address", .list = "nodes", .field = "ip" };
	struct pod_cidr *pcs = NULL, *cur = NULL;
	size_t n_pcs = 0, cap_pcs = 0;

	for (uint32_t i = 0; i < st->n_nodes; i++) {
		struct sl_node *nd = &st->nodes[i];
		size_t saved = v_path_item(v, "nodes", nd->name, nd->doc_index);

		v_check_name(v, nd->file, SL_AT(nd, SL_NODE_NAME), nd->name);
		v_dup_add(v, &names, nd->name, nd->file, SL_AT(nd, SL_NODE_NAME), nd->name, nd->doc_index);
		if (v_check_addr(v, nd->file, SL_AT(nd, SL_NODE_IP), "ip", nd->ip, 0, &nd->ip_pfx))
			v_dup_add(v, &ips, v_addr_key(v, &nd->ip_pfx), nd->file, SL_AT(nd, SL_NODE_IP), nd->name,
				  nd->doc_index);
		nd->pod_cidrs_pfx = v_prefixes(v, nd->n_pod_cidrs);
		for (uint32_t j = 0; nd->pod_cidrs_pfx && j < nd->n_pod_cidrs; j++) {
			size_t s2 = v_path_idx(v, ".podCIDRs", j);
			const struct sl_prefix *p = &nd->pod_cidrs_pfx[j];

			if (v_check_prefix(v, nd->file, &nd->pod_cidrs_m[j], NULL, nd->pod_cidrs[j], false,
					   &nd->pod_cidrs_pfx[j])) {
				if (grow_array((void **)&pcs, &cap_pcs, n_pcs + 1, sizeof(*pcs)) < 0)
					v->oom = true;
				else
					pcs[n_pcs++] = (struct pod_cidr){ *p, nd, j };
			}
			v_pop(v, s2);
		}
		for (uint32_t j = 0; j < nd->n_encrypt_keys; j++) {
			size_t s2 = v_path_idx(v, ".encryptKeys", j);

			v_check_range(v, nd->file, &nd->encrypt_keys_m[j], NULL, nd->encrypt_keys[j], 1, SL_SPI_MAX,
				    "an SPI");
			/* (a value the loader refused is no key: not a duplicate) */
			for (uint32_t k = 0; k < j && SL_MARK_OK(&nd->encrypt_keys_m[j]); k++)
				if (SL_MARK_OK(&nd->encrypt_keys_m[k]) && nd->encrypt_keys[k] == nd->encrypt_keys[j])
					v_err(v, nd->file, &nd->encrypt_keys_m[j], NULL, "key %" PRIu32 " is listed twice",
					  nd->encrypt_keys[j]);
			v_pop(v, s2);
		}
		v_pop(v, saved);
	}
	v_dup_report(v, &names);
	v_dup_report(v, &ips);
	/* Pod CIDRs of different nodes (or the same) must not overlap. Sorted,
	 * a prefix that overlaps an earlier one is inside the earlier prefix
	 * reaching furthest. */
	if (n_pcs > 1)
		qsort(pcs, n_pcs, sizeof(*pcs), pod_cidr_cmp);
	for (size_t i = 0; i < n_pcs; i++) {
		struct pod_cidr *pc = &pcs[i];

		if (cur && cur->p.family == pc->p.family && sl_prefix_contains(&cur->p, &pc->p)) {
			size_t saved = v_path_item(v, "nodes", pc->node->name, pc->node->doc_index);

			v_path_idx(v, ".podCIDRs", pc->idx);
			v_err(v, pc->node->file, &pc->node->pod_cidrs_m[pc->idx], NULL,
			  "%s overlaps %s of node %s (%s:%u:%u)", pc->node->pod_cidrs[pc->idx],
			  cur->node->pod_cidrs[cur->idx], diag_cut(cur->node->name), cur->node->file,
			  cur->node->pod_cidrs_m[cur->idx].line, cur->node->pod_cidrs_m[cur->idx].col);
			v_pop(v, saved);
		} else {
			cur = pc;
		}
	}
	free(pcs);
}

int nodes_index(const struct sl_state *st, const char *name)
{
	for (uint32_t i = 0; name && i < st->n_nodes; i++)
		if (streq(st->nodes[i].name, name))
			return (int)i;
	return -1;
}

const char *nodes_names(struct val *v)
{
	struct strbuf b = {};
	const char *r;

	/* (names cut without diag_q's buffers: a message quotes beside it) */
	for (uint32_t i = 0; i < v->st->n_nodes && i < 10; i++) {
		strbuf_adds(&b, i ? ", " : "");
		diag_path_add_key(&b, v->st->nodes[i].name ? v->st->nodes[i].name : "?");
	}
	if (v->st->n_nodes > 10)
		strbuf_addf(&b, ", ... (%" PRIu32 " in all)", v->st->n_nodes);
	r = v_astrf(v, "%s", strbuf_str(&b));
	strbuf_free(&b);
	return r;
}

/* Which node this machine is. */
void nodes_resolve_this_node(struct val *v)
{
	struct sl_state *st = v->st;
	const struct sl_datapath *dp = st->datapath;
	bool from_flag = v->o->node != NULL, from_file = !from_flag && st->node;
	const char *name = from_flag ? v->o->node : from_file ? st->node : v->o->hostname;
	bool needs = dp->tunnel == SL_TUNNEL_VXLAN || (st->encryption && st->encryption->enabled);

	v->node_idx = nodes_index(st, name);
	v->node = name;
	v->node_known = name != NULL;
	if (st->n_nodes && v->node_idx < 0 && name) {
		if (from_flag) {
			diag_add(v->d, DIAG_ERROR, "(command line)", 0, 0, "--node",
				 "%s is not one of the nodes (%s)", diag_q(name), nodes_names(v));
		} else if (from_file) {
			size_t saved = v_path_lit(v, "node");

			v_err(v, st->node_origin.file, &st->node_origin.mark, NULL, "%s is not one of the nodes (%s)",
			  diag_q(name), nodes_names(v));
			v_pop(v, saved);
		} else {
			/* The host name is a guess, not something the user said. */
			v->node_known = false;
			v->node = NULL;
		}
	}
	if (needs && !st->n_nodes) {
		if (dp->tunnel == SL_TUNNEL_VXLAN) {
			size_t saved = v_path_lit(v, "datapath");

			v_err(v, st->datapath_origin.file, SL_AT(dp, SL_DP_TUNNEL), "tunnel",
			  "tunnel: vxlan needs the nodes to tunnel to: add a 'nodes' section");
			v_pop(v, saved);
		}
		if (st->encryption && st->encryption->enabled) {
			size_t saved = v_path_lit(v, "encryption");

			v_err(v, st->encryption_origin.file, SL_AT(st->encryption, SL_ENC_ENABLED), "enabled",
			  "encryption needs the nodes to encrypt to: add a 'nodes' section");
			v_pop(v, saved);
		}
	} else if (needs && v->node_idx < 0 && !from_flag && !from_file) {
		const struct sl_node *n0 = &st->nodes[0];
		const char *why = st->encryption && st->encryption->enabled ? "encryption" : "tunnel: vxlan";

		diag_add(v->d, v->o->strict_node ? DIAG_ERROR : DIAG_WARNING, n0->file, n0->m[0].line, n0->m[0].col,
			 "node",
			 "%s needs to know which node this machine is, and the host name%s%s%s is not one of the "
			 "nodes; set 'node:' or give --node",
			 why, v->o->hostname ? " '" : "", v->o->hostname ? v->o->hostname : "",
			 v->o->hostname ? "'" : "");
	}
	if (v->node_idx >= 0 || (v->node_known && !st->n_nodes))
		st->node = (char *)v->node;
	/* The overlay tunnels between node ips of one family: each node is
	 * compared with this one (else the first). Encryption says the same
	 * of the same pairs (encryption.c): said once. */
	if (dp->tunnel == SL_TUNNEL_VXLAN && st->n_nodes && !(st->encryption && st->encryption->enabled)) {
		const struct sl_node *ref = v->node_idx >= 0 ? &st->nodes[v->node_idx] : &st->nodes[0];

		for (uint32_t i = 0; i < st->n_nodes && ref->ip_pfx.family; i++) {
			const struct sl_node *nd = &st->nodes[i];
			size_t saved;

			if (nd == ref || !nd->ip_pfx.family || nd->ip_pfx.family == ref->ip_pfx.family)
				continue;
			saved = v_path_item(v, "nodes", nd->name, nd->doc_index);
			v_err(v, nd->file, SL_AT(nd, SL_NODE_IP), "ip",
			  "%s is an IPv%u address and %s node's ip (%s) is IPv%u: tunnel: vxlan tunnels between node "
			  "ips of one family",
			  nd->ip, nd->ip_pfx.family, v->node_idx >= 0 ? "this" : "the first", ref->ip, ref->ip_pfx.family);
			v_pop(v, saved);
		}
	}
}
