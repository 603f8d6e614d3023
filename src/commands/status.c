/* SPDX-License-Identifier: Apache-2.0 */
/* sluice status: attachments, map fill, drop counters; read only. */
#include <inttypes.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>

#include <sluice/abi.h>

#include <arpa/inet.h>

#include "common/util.h"
#include "cli.h"
#include "datapath/xfrm.h"
#include "common/doc.h"
#include "common/strbuf.h"
#include "datapath/kernel.h"
#include "reconcile/plan.h"
#include "kinds/desc.h"
#include "kinds/attach.h"
#include "kinds/device.h"
#include "kinds/prog.h"
#include "kinds/map.h"
#include "kinds/route.h"
#include "kinds/rule.h"
#include "kinds/sockhook.h"

int cli_observe(const struct cli *c, const char *cmd, struct sl_kernel **k, struct sl_objset *live)
{
	struct sl_kerr e = { "" };
	int r;

	sl_kernel_set_verbosity(c->verbose);
	r = sl_kernel_open(cli_pin_dir(c), false, k, &e);

	if (r >= 0)
		r = sl_kernel_observe(*k, live, &e);
	if (r < 0) {
		cli_kernel_error(stderr, cmd, r, &e);
		return 1;
	}
	return 0;
}

/* Counters [from, to) by name: members of the map m (JSON), else text lines. */
static void add_counters(struct strbuf *b, struct doc *d, struct doc_node *m, const char *const *names, size_t from,
			 size_t to, const uint64_t (*v)[2])
{
	for (size_t i = from; i < to; i++) {
		if (d) {
			struct doc_node *c = doc_map(d, m, names[i], DOC_BLOCK);

			doc_u64(d, c, "packets", v[i][0]);
			doc_u64(d, c, "bytes", v[i][1]);
		} else {
			strbuf_addf(b, "  %-17s %12" PRIu64 " %14" PRIu64 "\n", names[i], v[i][0], v[i][1]);
		}
	}
}

static const char *const hook_names[SL_HOOK__MAX] = { "tc ingress", "tc egress", "xdp" };

/* The xfrm error counters of this network namespace that are not zero
 * (/proc/net/xfrm_stat), as "name value" pairs, members of the map m
 * (JSON) or text lines; see docs/encryption.md. */
static void xfrm_stats(struct strbuf *b, struct doc *d, struct doc_node *m)
{
	FILE *f = fopen("/proc/net/xfrm_stat", "re");
	char name[64];
	unsigned long long v;
	bool first = true;

	while (f && fscanf(f, "%63s %llu", name, &v) == 2) {
		if (!v)
			continue;
		if (d)
			doc_u64(d, m, name, v);
		else
			strbuf_addf(b, "  %-26s %12llu\n", name, v);
		first = false;
	}
	if (first && !d)
		strbuf_adds(b, f ? "  (none: every counter of /proc/net/xfrm_stat is zero)\n"
				 : "  (no /proc/net/xfrm_stat: this kernel has no xfrm)\n");
	if (f)
		fclose(f);
}

/* The SAs sluice owns, without their keys; the policies and routes by
 * number: the encryption member of the document d (JSON), else text. */
static void encryption(struct strbuf *b, struct doc *d, const struct sl_objset *live)
{
	static const uint8_t zero[16];
	size_t n_pol = objset_count(live, SL_OBJ_XFRM_POLICY), n_rt = 0;
	struct doc_node *enc = d ? doc_map(d, doc_root(d), "encryption", DOC_BLOCK) : NULL;
	struct doc_node *states = d ? doc_seq(d, enc, "states", DOC_BLOCK) : NULL;
	bool first = true;

	/* encryption's routes: those of the main table without an
	 * encapsulation (the proxy table's are the proxy redirect's, the
	 * overlay table's, into the tunnel, the overlay's) */
	for (size_t i = 0; i < live->n; i++) {
		struct sl_route_key rk;
		struct sl_route_value rv;

		if (live->v[i].kind != SL_OBJ_ROUTE || !sl_kind_fits(live->v[i].kind, live->v[i].klen, live->v[i].vlen))
			continue;
		memcpy(&rk, obj_key(live, &live->v[i]), sizeof(rk));
		memcpy(&rv, obj_val(live, &live->v[i]), sizeof(rv));
		n_rt += rk.table == SL_ROUTE_TABLE_MAIN && !rv.encap.type;
	}
	if (!d)
		strbuf_adds(b, "\nencryption (xfrm states; keys are never shown):\n");
	for (size_t i = 0; i < live->n; i++) {
		const struct sl_xfrm_state_key *k;
		const struct sl_xfrm_state_value *v;
		char dst[INET6_ADDRSTRLEN], src[INET6_ADDRSTRLEN] = "any";
		bool in;

		if (live->v[i].kind != SL_OBJ_XFRM_STATE || live->v[i].klen != sizeof(*k) ||
		    live->v[i].vlen != sizeof(*v))
			continue;
		k = obj_key(live, &live->v[i]);
		v = obj_val(live, &live->v[i]);
		in = !memcmp(v->saddr, zero, 16);
		inet_ntop(k->family, k->daddr, dst, sizeof(dst));
		if (!in)
			inet_ntop(k->family, v->saddr, src, sizeof(src));
		if (d) {
			struct doc_node *m = doc_map(d, states, NULL, DOC_BLOCK);

			doc_str(d, m, "direction", in ? "in" : "out");
			doc_str(d, m, "src", src);
			doc_str(d, m, "dst", dst);
			doc_u64(d, m, "spi", k->spi);
			doc_strf(d, m, "algorithm", "%.64s", v->enc_name);
		} else {
			char name[160];

			/* the SA's own end is the local one: its name says in or out */
			xfrm_state_name(k, v, in ? k->daddr : v->saddr, name, sizeof(name));
			strbuf_addf(b, "  %s %.64s%s%.64s\n", name + strlen("xfrm state "), v->enc_name,
				    v->auth_name[0] ? " " : "", v->auth_name);
		}
		first = false;
	}
	if (d) {
		doc_u64(d, enc, "policies", n_pol);
		doc_u64(d, enc, "routes", n_rt);
		xfrm_stats(b, d, doc_map(d, enc, "xfrmErrors", DOC_BLOCK));
		return;
	}
	if (first)
		strbuf_adds(b, "  (none)\n");
	strbuf_addf(b, "  %zu xfrm policies, %zu routes (ip xfrm policy; ip route show proto 81)\n", n_pol, n_rt);
	strbuf_adds(b, "\nxfrm errors (/proc/net/xfrm_stat):\n");
	xfrm_stats(b, NULL, NULL);
}

/* The endpoints whose device MTU is more than the tunnel carries: what
 * they send to other nodes at full size is fragmented on the underlay
 * (docs/datapath.md, "MTU"). A warning line each (text), or their names
 * (JSON). */
static void over_mtu(struct strbuf *b, struct doc *d, struct doc_node *names, const struct sl_objset *live,
		     uint32_t tunnel_mtu)
{
	for (size_t i = 0; i < live->n; i++) {
		const struct sl_obj *o = &live->v[i];
		char ifname[17] = "";
		int mtu;

		if (o->kind != SL_OBJ_ENDPOINT || !sl_kind_fits(o->kind, o->klen, o->vlen))
			continue;
		memcpy(ifname, obj_key(live, o), 16);
		mtu = sl_kernel_device_mtu(ifname);
		if (mtu <= 0 || (uint32_t)mtu <= tunnel_mtu)
			continue;
		if (d)
			doc_str(d, names, NULL, ifname);
		else
			strbuf_addf(b,
				    "  warning: endpoint device %s has MTU %d, more than the tunnel carries (%u): what it "
				    "sends to other nodes at full size is fragmented on the underlay; give pods an MTU "
				    "of %u\n",
				    str_esc(ifname), mtu, tunnel_mtu, tunnel_mtu);
	}
}

/* How many of sluice's routes send into the device name with an
 * encapsulation (the overlay's, to remote pod CIDRs). */
static size_t encap_routes(const struct sl_objset *live, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < live->n; i++) {
		const struct sl_obj *o = &live->v[i];
		struct sl_route_value v;

		if (o->kind != SL_OBJ_ROUTE || !sl_kind_fits(o->kind, o->klen, o->vlen))
			continue;
		memcpy(&v, obj_val(live, o), sizeof(v));
		n += v.encap.type && !strncmp(v.dev, name, sizeof(v.dev));
	}
	return n;
}

/* The devices sluice owns (the overlay's sluice_vxlan), as observed, with
 * the routes into it. */
static void devices(struct strbuf *b, struct doc *d, const struct sl_objset *live)
{
	struct doc_node *seq = d ? doc_seq(d, doc_root(d), "devices", DOC_BLOCK) : NULL;
	bool any = false;

	if (!d)
		strbuf_adds(b, "\ndevices:\n");
	for (size_t i = 0; i < live->n; i++) {
		const struct sl_obj *o = &live->v[i];
		struct sl_device_key k;
		struct sl_device_value v;
		char name[17] = "", under[17] = "";
		struct doc_node *m = NULL;

		if (o->kind != SL_OBJ_DEVICE || !sl_kind_fits(o->kind, o->klen, o->vlen))
			continue;
		memcpy(&k, obj_key(live, o), sizeof(k));
		memcpy(&v, obj_val(live, o), sizeof(v));
		memcpy(name, k.name, sizeof(k.name));
		memcpy(under, v.underlay, sizeof(v.underlay));
		if (d) {
			m = doc_map(d, seq, NULL, DOC_BLOCK);
			doc_str(d, m, "name", name);
			doc_str(d, m, "type", v.type == SL_DEVICE_VXLAN ? "vxlan" : "unknown");
			doc_u64(d, m, "port", v.port);
			doc_u64(d, m, "mtu", v.mtu);
			doc_bool(d, m, "up", v.up);
			doc_bool(d, m, "external", v.external);
			doc_str(d, m, "underlay", under);
			doc_u64(d, m, "routes", encap_routes(live, name));
		} else {
			char line[128];

			sl_device_name(&k, &v, line, sizeof(line));
			strbuf_addf(b, "  %s%s%s\n", str_esc(line + strlen("device ")), under[0] ? " dev " : "",
				    str_esc(under));
			strbuf_addf(b,
				    "    %zu routes to remote pod CIDRs into it, for the node's own traffic only (ip route "
				    "show table %u proto 81 dev %s; ip rule show iif %s)\n",
				    encap_routes(live, name), SL_OVERLAY_TABLE, str_esc(name), SL_OVERLAY_RULE_IIF);
		}
		if (v.type == SL_DEVICE_VXLAN)
			over_mtu(b, d, d ? doc_seq(d, m, "endpointsOverMtu", DOC_FLOW) : NULL, live, v.mtu);
		any = true;
	}
	if (!any && !d)
		strbuf_adds(b, "  (none)\n");
}

/* The policy routing of the L7 proxy redirect (kinds/route.h): sluice's
 * rules into its proxy table and that table's routes, as observed. */
static void proxy_routing(struct strbuf *b, struct doc *d, const struct sl_objset *live)
{
	struct doc_node *m = d ? doc_map(d, doc_root(d), "proxyRouting", DOC_BLOCK) : NULL;
	struct doc_node *rules = d ? doc_seq(d, m, "rules", DOC_BLOCK) : NULL;
	struct doc_node *routes = d ? doc_seq(d, m, "routes", DOC_BLOCK) : NULL;
	bool any = false;

	if (!d)
		strbuf_addf(b, "\nproxy redirect (ip rule; ip route show table %u):\n", SL_PROXY_TABLE);
	for (size_t i = 0; i < live->n; i++) {
		const struct sl_obj *o = &live->v[i];
		char line[192], dst[64];

		if (!sl_kind_fits(o->kind, o->klen, o->vlen))
			continue;
		if (o->kind == SL_OBJ_RULE) {
			struct sl_rule_key k;
			struct sl_rule_value v;

			memcpy(&k, obj_key(live, o), sizeof(k));
			memcpy(&v, obj_val(live, o), sizeof(v));
			/* (the overlay's, into its own table, are not the
			 * proxy redirect's) */
			if (k.table != SL_PROXY_TABLE)
				continue;
			if (d) {
				struct doc_node *r = doc_map(d, rules, NULL, DOC_BLOCK);

				doc_str(d, r, "family", k.family == AF_INET6 ? "ipv6" : "ipv4");
				doc_u64(d, r, "priority", k.priority);
				doc_u64(d, r, "fwmark", k.fwmark);
				doc_u64(d, r, "fwmask", k.fwmask);
				doc_u64(d, r, "table", k.table);
			} else {
				sl_rule_name(&k, &v, line, sizeof(line));
				strbuf_addf(b, "  %s\n", line);
			}
		} else if (o->kind == SL_OBJ_ROUTE) {
			struct sl_route_key k;
			struct sl_route_value v;

			memcpy(&k, obj_key(live, o), sizeof(k));
			memcpy(&v, obj_val(live, o), sizeof(v));
			if (k.table != SL_PROXY_TABLE)
				continue;
			if (d) {
				struct doc_node *r = doc_map(d, routes, NULL, DOC_BLOCK);
				char dev[SL_ROUTE_DEV_MAX + 1] = "";

				memcpy(dev, v.dev, sizeof(v.dev));
				route_prefix_name(&k, dst, sizeof(dst));
				doc_str(d, r, "type", k.type == SL_ROUTE_LOCAL ? "local" : "unicast");
				doc_str(d, r, "dst", dst);
				doc_str(d, r, "dev", dev);
				doc_u64(d, r, "table", k.table);
			} else {
				route_name(&k, &v, line, sizeof(line));
				strbuf_addf(b, "  %s\n", str_esc(line));
			}
		} else {
			continue;
		}
		any = true;
	}
	if (!any && !d)
		strbuf_adds(b, "  (none)\n");
}

/* The socket hooks of one feature as observed: socket acceleration's
 * (sockops on its cgroup, by path where this mount namespace shows it;
 * sk_msg on its sockhash) and the sockets accelerated now (sluice_sock's
 * entries), or host-reachable services' (the cgroup sock_addr hooks) and
 * the translations remembered now (sluice_sock_nat's entries). */
static void sockets(struct strbuf *b, struct doc *d, const struct sl_objset *live, const struct sl_kernel_status *st,
		    bool services)
{
	struct doc_node *m =
		d ? doc_map(d, doc_root(d), services ? "hostReachableServices" : "socketAcceleration", DOC_BLOCK) : NULL;
	struct doc_node *hooks = d ? doc_seq(d, m, "hooks", DOC_BLOCK) : NULL;
	bool any = false;

	if (!d)
		strbuf_adds(b, services ? "\nhost-reachable services (cgroup socket hooks):\n"
					: "\nsocket acceleration (sockops, sk_msg):\n");
	for (size_t i = 0; i < live->n; i++) {
		const struct sl_obj *o = &live->v[i];
		struct sl_sockhook_key k;
		struct sl_sockhook_value v;
		char hbuf[16], where[4096] = "";
		const char *hook;

		if (o->kind != SL_OBJ_SOCKHOOK || !sl_kind_fits(o->kind, o->klen, o->vlen))
			continue;
		memcpy(&k, obj_key(live, o), sizeof(k));
		memcpy(&v, obj_val(live, o), sizeof(v));
		if (services == (k.hook == SL_SOCKHOOK_SOCK_OPS || k.hook == SL_SOCKHOOK_SK_MSG))
			continue;
		hook = sl_sockhook_name(k.hook, hbuf, sizeof(hbuf));
		if (!sl_sockhook_on_cgroup(k.hook))
			snprintf(where, sizeof(where), "map %s", SL_MAPNAME_SOCK);
		else if (sl_cgroup_path(v.cgroup_id, where + 7, sizeof(where) - 7) == 0)
			memcpy(where, "cgroup ", 7);
		else
			snprintf(where, sizeof(where), "cgroup id %" PRIu64, v.cgroup_id);
		if (d) {
			struct doc_node *h = doc_map(d, hooks, NULL, DOC_BLOCK);

			doc_str(d, h, "hook", hook);
			doc_str(d, h, "program", sl_prog_names[v.prog % SL_PROG__MAX]);
			doc_str(d, h, "on", where);
			if (sl_sockhook_on_cgroup(k.hook))
				doc_u64(d, h, "cgroupId", v.cgroup_id);
			doc_bool(d, h, "current", v.digest);
		} else {
			strbuf_addf(b, "  %-12s on %s, %s\n", hook, str_esc(where),
				    v.digest ? "current" : "stale (apply replaces it)");
		}
		any = true;
	}
	for (size_t i = 0; i < st->n_maps; i++) {
		if (!streq(st->maps[i].name, services ? SL_MAPNAME_SOCK_NAT : SL_MAPNAME_SOCK))
			continue;
		if (d)
			doc_u64(d, m, services ? "translations" : "sockets", st->maps[i].entries);
		else if (services)
			strbuf_addf(b, "  %u socket translations remembered (entries of %s)\n", st->maps[i].entries,
				    SL_MAPNAME_SOCK_NAT);
		else
			strbuf_addf(b, "  %u sockets accelerated now (entries of %s)\n", st->maps[i].entries,
				    SL_MAPNAME_SOCK);
		any = true;
	}
	if (!any && !d)
		strbuf_adds(b, "  (off)\n");
}

int cmd_status(const struct cli *c)
{
	struct sl_kernel *k = NULL;
	struct sl_objset live = {};
	struct sl_kernel_status st = {};
	struct sl_kerr e = { "" };
	struct strbuf b = {};
	struct doc doc = {};
	struct doc *d = NULL; /* -o json: the document; else text in b */
	struct doc_node *atts = NULL, *maps = NULL;
	bool first = true;
	int r;

	if (c->n_args) {
		fprintf(stderr, "sluice status: takes no PATH\n");
		return 1;
	}
	r = cli_observe(c, "status", &k, &live);
	if (!r && sl_kernel_status(k, &st, &e) < 0) {
		fprintf(stderr, "sluice status: %s\n", str_esc(e.msg));
		r = 1;
	}
	if (r)
		goto out;
	if (c->output == CLI_OUTPUT_JSON) {
		d = &doc;
		doc_init(d);
		doc_u64(d, doc_root(d), "formatVersion", SL_JSON_FORMAT_VERSION_N);
		doc_str(d, doc_root(d), "pinDir", cli_pin_dir(c));
		atts = doc_seq(d, doc_root(d), "attachments", DOC_BLOCK);
	} else {
		strbuf_addf(&b, "pin directory: %s\n", str_esc(cli_pin_dir(c)));
		strbuf_adds(&b, "\nattachments:\n");
	}
	for (size_t i = 0; i < live.n; i++) {
		const struct sl_attach_key *ak;
		const struct sl_attach_value *av;
		char dev[17] = { 0 };
		const char *state;

		if (live.v[i].kind != SL_OBJ_ATTACH)
			continue;
		ak = obj_key(&live, &live.v[i]);
		av = obj_val(&live, &live.v[i]);
		memcpy(dev, ak->ifname, 16);
		state = av->digest ? "current" : "stale (apply replaces it)";
		if (d) {
			struct doc_node *m = doc_map(d, atts, NULL, DOC_BLOCK);

			doc_str(d, m, "device", dev);
			doc_str(d, m, "hook", hook_names[ak->hook]);
			doc_str(d, m, "program", sl_prog_names[av->prog % SL_PROG__MAX]);
			doc_bool(d, m, "current", av->digest);
		} else {
			strbuf_addf(&b, "  %-16s %-10s %-14s %s%s\n", dev, hook_names[ak->hook],
				    sl_prog_names[av->prog % SL_PROG__MAX], state,
				    ak->hook == SL_HOOK_XDP ? (av->xdp_mode ? ", generic" : ", native") : "");
		}
		first = false;
	}
	if (first && !d)
		strbuf_adds(&b, "  (none)\n");
	devices(&b, d, &live);
	if (d)
		maps = doc_seq(d, doc_root(d), "maps", DOC_BLOCK);
	else
		strbuf_adds(&b, "\nmaps:\n");
	for (size_t i = 0; i < st.n_maps; i++) {
		const struct sl_map_fill *f = &st.maps[i];
		double pct = f->max_entries ? 100.0 * f->entries / f->max_entries : 0;

		if (d) {
			struct doc_node *m = doc_map(d, maps, NULL, DOC_BLOCK);

			doc_str(d, m, "name", f->name);
			doc_str(d, m, "type", sl_map_type_name(f->type));
			doc_u64(d, m, "entries", f->entries);
			doc_u64(d, m, "maxEntries", f->max_entries);
			doc_bool(d, m, "runtime", f->runtime);
		} else if (f->type == BPF_MAP_TYPE_RINGBUF) {
			strbuf_addf(&b, "  %-20s %-12s %u bytes\n", f->name, sl_map_type_name(f->type), f->max_entries);
		} else {
			strbuf_addf(&b, "  %-20s %-12s %9u / %-9u %5.1f%%%s\n", f->name, sl_map_type_name(f->type), f->entries,
				    f->max_entries, pct, f->runtime ? "  (runtime)" : "");
		}
	}
	if (!st.n_maps && !d)
		strbuf_adds(&b, "  (none)\n");
	if (!d)
		strbuf_adds(&b, "\ndrops by reason (packets, bytes):\n");
	add_counters(&b, d, d ? doc_map(d, doc_root(d), "drops", DOC_BLOCK) : NULL, sl_drop_names, 1,
		     st.n_drops < SL_DROP__MAX ? st.n_drops : SL_DROP__MAX, st.drops);
	if (!st.have_counters && !d)
		strbuf_adds(&b, "  (no counters: nothing is applied)\n");
	if (!d)
		strbuf_adds(&b, "\ntraffic (packets, bytes):\n");
	add_counters(&b, d, d ? doc_map(d, doc_root(d), "metrics", DOC_BLOCK) : NULL, sl_metric_names, 0,
		     st.n_metrics < SL_METRIC__MAX ? st.n_metrics : SL_METRIC__MAX, st.metrics);
	if (!st.n_metrics && !d)
		strbuf_adds(&b, "  (none)\n");
	encryption(&b, d, &live);
	proxy_routing(&b, d, &live);
	sockets(&b, d, &live, &st, false);
	sockets(&b, d, &live, &st, true);
	if (d && doc_json(d, DOC_JSON_COMPACT, &b) < 0) {
		fprintf(stderr, "sluice status: out of memory\n");
		r = 1;
		goto out;
	}
	fputs(strbuf_str(&b), stdout);
out:
	doc_free(&doc);
	strbuf_free(&b);
	sl_kernel_status_free(&st);
	objset_free(&live);
	sl_kernel_close(k);
	return r;
}
