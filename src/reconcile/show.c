/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Show: a live object set back into a state document (see show.h).
 *
 * Reading goes kind by kind: the ipcache gives the nodes, the addresses of
 * local and remote endpoints, the remote pod CIDRs and the CIDR identities;
 * the endpoints map gives the local endpoints; the policy entries of one
 * endpoint per identity give that identity's policy. Then a document tree
 * is built (common/doc.h) and rendered as YAML or JSON.
 *
 * This file runs the stages (show_internal.h lists them and their files)
 * and writes the sections of the document that are not their own.
 */
#include "show.h"
#include "show_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/abi.h>

#include "common/arena.h"
#include "common/doc.h"
#include "common/util.h"
#include "model.h"

static int (*cgroup_path_fn)(uint64_t id, char *buf, size_t len);

void sl_show_set_cgroup_path_fn(int (*fn)(uint64_t id, char *buf, size_t len))
{
	cgroup_path_fn = fn;
}
#include "net.h"
#include "kinds/attach.h"
#include "kinds/prog.h"
#include "kinds/map.h"

static void emit_node(struct show *s, struct doc_node *seq, const struct snode *n)
{
	struct doc_node *m = doc_map(&s->doc, seq, NULL, DOC_BLOCK);

	doc_str(&s->doc, m, "name", n->name);
	doc_str(&s->doc, m, "ip", show_addr_str(s, &n->ip));
	if (n->n_pods) {
		struct doc_node *pods = doc_seq(&s->doc, m, "podCIDRs", DOC_FLOW);

		for (size_t i = 0; i < n->n_pods; i++)
			doc_str(&s->doc, pods, NULL, show_prefix_str(s, &n->pods[i]));
	}
}

static void build_doc(struct show *s)
{
	struct doc_node *root = doc_root(&s->doc), *q;
	bool sizes = false;

	doc_u64(&s->doc, root, "version", 1);
	if (s->here >= 0)
		doc_str(&s->doc, root, "node", s->nodes[s->here].name);
	if (s->n_nodes) {
		q = doc_seq(&s->doc, root, "nodes", DOC_BLOCK);
		if (s->here >= 0)
			emit_node(s, q, &s->nodes[s->here]);
		for (size_t i = 0; i < s->n_nodes; i++)
			if (!s->nodes[i].here)
				emit_node(s, q, &s->nodes[i]);
	}
	for (int i = 0; i < SL_MAP__MAX; i++)
		sizes |= s->map_size_set[i] && s->map_size[i] != sl_map_size_default[i];
	/* device names the kernel holds that are no interface name are not
	 * given back (the state would not load), but said */
	if (s->underlay[0] && sl_ifname_problem(s->underlay)) {
		show_note(s, "the underlay device's name is not an interface name: not shown");
		s->underlay[0] = '\0';
	}
	if (s->ipvlan_master[0] && sl_ifname_problem(s->ipvlan_master)) {
		show_note(s, "the ipvlan master's name is not an interface name: not shown");
		s->ipvlan_master[0] = '\0';
	}
	if (s->enforcement != SL_ENFORCE_DEFAULT || sizes || s->has_tunnel || s->underlay[0] || s->sock_accel ||
	    s->host_services || s->ipvlan_master[0] || s->localhost_policy) {
		struct doc_node *dp = doc_map(&s->doc, root, "datapath", DOC_BLOCK);

		if (s->ipvlan_master[0]) {
			doc_str(&s->doc, dp, "mode", "ipvlan");
			doc_str(&s->doc, dp, "ipvlanMaster", s->ipvlan_master);
		}
		if (s->has_tunnel) {
			doc_str(&s->doc, dp, "tunnel", "vxlan");
			doc_u64(&s->doc, dp, "vxlanPort", s->vxlan_port);
		}
		/* from the overlay's device, else from sluice_from_netdev's */
		if (s->underlay[0])
			doc_str(&s->doc, dp, "underlayDevice", s->underlay);

		if (s->enforcement != SL_ENFORCE_DEFAULT)
			doc_str(&s->doc, dp, "policyEnforcement", s->enforcement == SL_ENFORCE_ALWAYS ? "always" : "never");
		if (s->localhost_policy)
			doc_str(&s->doc, dp, "allowLocalhost", "policy");
		if (s->sock_accel)
			doc_bool(&s->doc, dp, "socketAcceleration", true);
		if (s->host_services)
			doc_bool(&s->doc, dp, "hostReachableServices", true);
		if (s->sock_accel || s->host_services) {
			char path[4096];

			if (!s->cgroup_id)
				show_note(s, "the socket programs are on no cgroup");
			else if (!cgroup_path_fn || cgroup_path_fn(s->cgroup_id, path, sizeof(path)) < 0)
				show_note(s, "the cgroup of the socket programs (id %llu) has no path here: cgroupPath is "
					     "not shown", (unsigned long long)s->cgroup_id);
			else if (strcmp(path, SL_CGROUP_PATH_DEFAULT) != 0)
				doc_str(&s->doc, dp, "cgroupPath", path);
		}
		if (sizes) {
			struct doc_node *ms = doc_map(&s->doc, dp, "mapSizes", DOC_BLOCK);

			for (int i = 0; i < SL_MAP__MAX; i++)
				if (s->map_size_set[i] && s->map_size[i] != sl_map_size_default[i])
					doc_u64(&s->doc, ms, sl_map_size_name[i], s->map_size[i]);
		}
	}
	if (s->has_pf) {
		struct doc_node *pf = doc_map(&s->doc, root, "prefilter", DOC_BLOCK);

		doc_str(&s->doc, pf, "device", s->pf_device);
		doc_str(&s->doc, pf, "xdpMode", s->xdp_mode == SL_XDP_GENERIC ? "generic" : "native");
		if (s->n_deny) {
			struct doc_node *d = doc_seq(&s->doc, pf, "deny", DOC_FLOW);

			for (size_t i = 0; i < s->n_deny; i++)
				doc_str(&s->doc, d, NULL, show_prefix_str(s, &s->deny[i]));
		}
	}
	if (s->n_ids) {
		q = doc_seq(&s->doc, root, "identities", DOC_BLOCK);
		for (size_t i = 0; i < s->n_ids; i++) {
			struct doc_node *m = doc_map(&s->doc, q, NULL, DOC_BLOCK);

			doc_u64(&s->doc, m, "id", s->ids[i]);
			show_emit_identity_labels(s, m, s->ids[i]);
		}
	}
	show_emit_endpoints(s);
	show_emit_policies(s);
	show_emit_services(s);
}

/* The notes, at the top of the YAML document. */
static void notes_comments(struct show *s)
{
	const char *p = strbuf_str(&s->notes);
	struct strbuf line = {};

	doc_comment(&s->doc, "sluice show: notes on what the kernel does not record");
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		strbuf_truncate(&line, 0);
		if (strbuf_adds(&line, "- ") < 0 || strbuf_add(&line, p, len) < 0) {
			s->oom = true;
			break;
		}
		doc_comment(&s->doc, strbuf_str(&line));
		p += len + (nl ? 1 : 0);
	}
	strbuf_free(&line);
}

static void show_free(struct show *s)
{
	for (size_t i = 0; i < s->n_nodes; i++)
		free(s->nodes[i].pods);
	for (size_t i = 0; i < s->n_pols; i++)
		free(s->pols[i].rules);
	free(s->nodes);
	free(s->addrs);
	free(s->eps);
	free(s->reps);
	free(s->cidrs);
	free(s->pe);
	free(s->groups);
	free(s->order);
	free(s->ids);
	free(s->labels);
	free(s->pols);
	free(s->deny);
	free(s->names.v);
	strbuf_free(&s->notes);
	doc_free(&s->doc);
	arena_free(&s->arena);
}

int sl_show_render(const struct sl_objset *live, const struct sl_map_layout *layouts, size_t n_layouts,
		   enum sl_show_format fmt, struct strbuf *out, struct strbuf *ret_notes)
{
	struct show s = {
		.live = live,
		.layouts = layouts,
		.n_layouts = layouts ? n_layouts : 0,
		.here = -1,
		.enforcement = SL_ENFORCE_DEFAULT,
	};
	int r = 0;

	if ((int)fmt < 0 || (int)fmt >= SL_SHOW__MAX || !live || !out)
		return -EINVAL;
	if (doc_init(&s.doc) < 0)
		s.oom = true;
	if (!s.oom)
		show_read_live(&s);
	if (!s.oom)
		show_local_endpoints(&s);
	if (!s.oom)
		show_remote_endpoints(&s);
	if (!s.oom)
		show_policies(&s);
	if (!s.oom)
		show_place_cidrs(&s);
	if (!s.oom)
		show_encryption_note(&s);
	if (!s.oom && s.n_more && strbuf_addf(&s.notes, "(and %zu more notes)\n", s.n_more) < 0)
		s.oom = true;
	if (!s.oom)
		build_doc(&s);
	if (!s.oom && fmt == SL_SHOW_YAML && s.n_notes)
		notes_comments(&s);
	if (s.oom)
		r = -ENOMEM;
	if (r >= 0)
		r = fmt == SL_SHOW_JSON ? doc_json(&s.doc, DOC_JSON_PRETTY, out) : doc_yaml(&s.doc, out);
	if (r >= 0 && ret_notes && s.notes.len && strbuf_add(ret_notes, s.notes.s, s.notes.len) < 0)
		r = -ENOMEM;
	show_free(&s);
	return r;
}
