/* SPDX-License-Identifier: Apache-2.0 */
/* Show: reading the live set, kind by kind, into what the document is made of. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <string.h>

#include <sluice/abi.h>

#include "kinds/device.h"
#include "kinds/route.h"
#include "kinds/xfrm.h"
#include "show_internal.h"
#include "kinds/sockhook.h"
#include "kinds/attach.h"
#include "kinds/prog.h"
#include "kinds/map.h"

static int prefix_cmp_v(const void *a, const void *b)
{
	return sl_prefix_cmp(a, b);
}

/* ---- reading: nodes, addresses, CIDR identities (the ipcache) ---- */

static bool ipc_prefix(const struct sl_ipcache_key *k, struct sl_prefix *p)
{
	unsigned max = k->family == SL_FAMILY_IPV4 ? 32 : k->family == SL_FAMILY_IPV6 ? 128 : 0;

	memset(p, 0, sizeof(*p));
	if (!max || k->prefixlen < 32 || k->prefixlen - 32 > max)
		return false;
	p->family = k->family;
	p->len = (uint8_t)(k->prefixlen - 32);
	memcpy(p->addr, k->addr, max / 8);
	return true;
}

static int snode_cmp(const void *a, const void *b)
{
	return sl_prefix_cmp(&((const struct snode *)a)->ip, &((const struct snode *)b)->ip);
}

/* The node with that address (nodes are sorted by address), or -1. */
static int node_by_addr(const struct show *s, uint8_t family, const uint8_t *addr)
{
	struct snode k = { .ip = { .family = family, .len = family == 4 ? 32 : 128 } };
	const struct snode *n;

	if (family != 4 && family != 6)
		return -1;
	memcpy(k.ip.addr, addr, family == 4 ? 4 : 16);
	n = s->n_nodes ? bsearch(&k, s->nodes, s->n_nodes, sizeof(*s->nodes), snode_cmp) : NULL;
	return n ? (int)(n - s->nodes) : -1;
}

static bool ipc_obj(const struct show *s, const struct sl_obj *o, struct sl_ipcache_key *k,
		    struct sl_ipcache_value *v)
{
	return o->kind == SL_OBJ_IPCACHE && show_obj_copy(s, o, k, sizeof(*k), v, sizeof(*v));
}

static void add_pod(struct show *s, struct snode *n, const struct sl_prefix *p)
{
	struct sl_prefix *x = PUSH(s, n->pods, n->n_pods, n->cap_pods);

	if (x)
		*x = *p;
}

static void read_ipcache(struct show *s)
{
	const struct sl_objset *l = s->live;
	struct sl_ipcache_key kc;
	struct sl_ipcache_value vc;
	const struct sl_ipcache_key *k = &kc;
	const struct sl_ipcache_value *v = &vc;
	struct sl_prefix p;
	char t[64];

	/* The nodes first: remote entries name theirs by address. */
	for (size_t i = 0; i < l->n; i++) {
		struct snode *n;

		if (!ipc_obj(s, &l->v[i], &kc, &vc) || !ipc_prefix(k, &p) || (v->flags & SL_IPCACHE_REMOTE) ||
		    !show_is_host(&p) || (v->identity != SL_ID_HOST && v->identity != SL_ID_REMOTE_NODE))
			continue;
		n = PUSH(s, s->nodes, s->n_nodes, s->cap_nodes);
		if (!n)
			return;
		n->ip = p;
		n->name = show_addr_name(s, "node", &p);
		if (v->identity == SL_ID_HOST && s->here < 0) {
			n->here = true;
			s->here = 0;
		} else if (v->identity == SL_ID_HOST) {
			show_addr_text(&p, t, sizeof(t));
			show_note(s, "several addresses have the identity of this node (host); %s is shown as another node",
			     t);
		}
	}
	show_sort(s->nodes, s->n_nodes, sizeof(*s->nodes), snode_cmp);
	for (size_t i = 0; i < s->n_nodes; i++)
		if (s->nodes[i].here)
			s->here = (int)i;
	for (size_t i = 0; i < l->n; i++) {
		struct saddr *a;
		int node = -1;

		if (l->v[i].kind != SL_OBJ_IPCACHE)
			continue;
		if (!ipc_obj(s, &l->v[i], &kc, &vc) || !ipc_prefix(k, &p)) {
			show_note(s, "an ipcache entry of an unknown form is not shown");
			continue;
		}
		sl_prefix_format(&p, t, sizeof(t));
		if (v->flags & SL_IPCACHE_REMOTE) {
			node = node_by_addr(s, v->tunnel_family, v->tunnel_addr);
			if (node < 0 || s->nodes[node].here) {
				show_note(s, "ipcache entry %s leads to a node that is not in the ipcache: its route is not shown", t);
				node = -2;
			} else if (v->key && v->key < 32) {
				s->nodes[node].keys |= 1u << v->key;
			}
		}
		if (v->identity >= SL_ID_CIDR_MIN) {
			/* A CIDR that policy names (and perhaps also a remote pod CIDR). */
			struct scidr *c = PUSH(s, s->cidrs, s->n_cidrs, s->cap_cidrs);

			if (!c)
				return;
			c->p = p;
			c->id = v->identity;
			c->except_of = c->except_head = c->except_tail = c->except_next = -1;
			if (node >= 0)
				add_pod(s, &s->nodes[node], &p);
			continue;
		}
		if (node == -2)
			continue;
		if (node >= 0 && !(show_is_host(&p) && show_user_id(v->identity))) {
			/* A remote pod CIDR. */
			if (v->identity != SL_ID_WORLD)
				show_note(s, "remote prefix %s has identity %" PRIu32 "; it is shown as a pod CIDR of %s, "
					"which has identity 2 (world)", t, v->identity, s->nodes[node].name);
			add_pod(s, &s->nodes[node], &p);
			continue;
		}
		if (node < 0 && show_is_host(&p) && (v->identity == SL_ID_HOST || v->identity == SL_ID_REMOTE_NODE))
			continue; /* a node, read above */
		if (!show_is_host(&p) || !show_user_id(v->identity)) {
			show_note(s, "ipcache entry %s with identity %" PRIu32 " is not one that a state makes: not shown", t,
			     v->identity);
			continue;
		}
		/* An endpoint's address, local or remote. */
		a = PUSH(s, s->addrs, s->n_addrs, s->cap_addrs);
		if (!a)
			return;
		a->p = p;
		a->identity = v->identity;
		a->node = node;
	}
}

static int cidr_id_cmp(const void *a, const void *b)
{
	const struct scidr *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id ? 1 : sl_prefix_cmp(&x->p, &y->p);
}

static void sort_cidrs(struct show *s)
{
	size_t w = 0;

	show_sort(s->cidrs, s->n_cidrs, sizeof(*s->cidrs), cidr_id_cmp);
	for (size_t i = 0; i < s->n_cidrs; i++) {
		if (w && s->cidrs[w - 1].id == s->cidrs[i].id) {
			char t[64];

			sl_prefix_format(&s->cidrs[i].p, t, sizeof(t));
			show_note(s, "CIDR identity %" PRIu32 " is on several prefixes; %s is not shown", s->cidrs[i].id, t);
			continue;
		}
		s->cidrs[w++] = s->cidrs[i];
	}
	s->n_cidrs = w;
}

int show_cidr_index(const struct show *s, uint32_t id)
{
	size_t lo = 0, hi = s->n_cidrs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (s->cidrs[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->n_cidrs && s->cidrs[lo].id == id ? (int)lo : -1;
}

/* ---- reading: everything else, kind by kind ---- */

static int pent_cmp(const void *a, const void *b)
{
	const struct pent *x = a, *y = b;

	if (x->ep_id != y->ep_id)
		return x->ep_id < y->ep_id ? -1 : 1;
	if (x->dir != y->dir)
		return x->dir < y->dir ? -1 : 1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return x->port < y->port ? -1 : x->port > y->port;
}

static void read_policy(struct show *s, size_t at, const struct sl_obj *o)
{
	struct sl_policy_key k;
	struct sl_policy_value v;
	struct pent *e;

	(void)at;
	if (!show_obj_copy(s, o, &k, sizeof(k), &v, sizeof(v)) || k.dir > SL_DIR_EGRESS) {
		show_note(s, "a policy entry of an unknown form is not shown");
		return;
	}
	e = PUSH(s, s->pe, s->n_pe, s->cap_pe);
	if (!e)
		return;
	e->ep_id = k.ep_id;
	e->dir = k.dir;
	e->proto = k.proto;
	e->port = ntohs(k.dport);
	e->id = k.identity;
	e->deny = v.flags & SL_POLICY_DENY;
	e->proxy = e->deny ? 0 : v.proxy_port;
}

static void read_endpoint(struct show *s, size_t at, const struct sl_obj *o)
{
	char ifname[SHOW_IFNAME_LEN];
	struct sl_endpoint_value v;
	struct sep *e;

	(void)at;
	if (!show_obj_copy(s, o, ifname, sizeof(ifname), &v, sizeof(v))) {
		show_note(s, "an endpoint of an unknown form is not shown");
		return;
	}
	e = PUSH(s, s->eps, s->n_eps, s->cap_eps);
	if (!e)
		return;
	memcpy(e->ifname, ifname, SHOW_IFNAME_LEN);
	e->v = v;
	e->a4 = e->a6 = -1;
}

static void read_attach(struct show *s, size_t at, const struct sl_obj *o)
{
	struct sl_attach_key k;
	struct sl_attach_value v;
	char ifname[SHOW_IFNAME_LEN + 1] = { 0 };

	(void)at;
	if (!show_obj_copy(s, o, &k, sizeof(k), &v, sizeof(v))) {
		show_note(s, "an attachment of an unknown form is not shown");
		return;
	}
	memcpy(ifname, k.ifname, SHOW_IFNAME_LEN);
	if (k.hook == SL_HOOK_XDP && v.prog == SL_PROG_PREFILTER) {
		if (s->has_pf) {
			show_note(s, "the prefilter is attached to several devices; only %s is shown", s->pf_device);
			return;
		}
		s->has_pf = true;
		memcpy(s->pf_device, ifname, sizeof(s->pf_device));
		s->xdp_mode = v.xdp_mode < SL_XDP__MAX ? v.xdp_mode : SL_XDP_NATIVE;
		if (v.xdp_mode >= SL_XDP__MAX)
			show_note(s, "the prefilter on %s is in an unknown XDP mode; shown as native", ifname);
		return;
	}
	if (v.prog == SL_PROG_FROM_ENDPOINT || v.prog == SL_PROG_TO_ENDPOINT) {
		/* (on a veth's host side: from on ingress, to on egress; on an
		 * ipvlan slave the other way round) */
		/* Made for every endpoint; one without its endpoint is drift. */
		if (s->live->sorted && !objset_find(s->live, SL_OBJ_ENDPOINT, k.ifname, SHOW_IFNAME_LEN))
			show_note(s, "the programs on %s, which is no endpoint, are not shown", ifname);
		return;
	}
	if (k.hook == SL_HOOK_TC_INGRESS && v.prog == SL_PROG_FROM_OVERLAY)
		return; /* made with the overlay's device (tunnel: vxlan) */
	if (k.hook == SL_HOOK_TC_INGRESS && v.prog == SL_PROG_FROM_NETDEV) {
		/* made with a proxyPort and datapath.underlayDevice: gives the latter back */
		if (!s->underlay[0])
			memcpy(s->underlay, k.ifname, sizeof(k.ifname) < SHOW_IFNAME_LEN ? sizeof(k.ifname) : SHOW_IFNAME_LEN);
		return;
	}
	show_note(s, "program %u at hook %u of %s is not one that a state attaches: not shown", v.prog, k.hook, ifname);
}

static void read_prefilter(struct show *s, size_t at, const struct sl_obj *o)
{
	size_t alen = o->kind == SL_OBJ_PREFILTER4 ? 4 : 16;
	const uint8_t *k = obj_key(s->live, o);
	struct sl_prefix p = { .family = o->kind == SL_OBJ_PREFILTER4 ? 4 : 6 }, *d;
	uint32_t len;

	(void)at;
	if (o->klen != 4 + alen) {
		show_note(s, "a prefilter entry of an unknown form is not shown");
		return;
	}
	memcpy(&len, k, 4);
	if (len > alen * 8) {
		show_note(s, "a prefilter entry of an unknown form is not shown");
		return;
	}
	p.len = (uint8_t)len;
	memcpy(p.addr, k + 4, alen);
	d = PUSH(s, s->deny, s->n_deny, s->cap_deny);
	if (d)
		*d = p;
}

static void read_map(struct show *s, size_t at, const struct sl_obj *o)
{
	struct sl_map_key k;
	struct sl_map_value v;

	(void)at;
	if (!show_obj_copy(s, o, &k, sizeof(k), &v, sizeof(v)))
		return;
	for (size_t i = 0; i < s->n_layouts; i++) {
		const struct sl_map_layout *l = &s->layouts[i];
		int f = l->size_from;

		if (!l->name || strncmp(l->name, k.name, sizeof(k.name)) != 0)
			continue;
		if (f < 0 || f >= SL_MAP__MAX)
			return;
		/* What validate takes (1..2^26): a map pinned under that name
		 * by another program may have any size. */
		if (v.max_entries < 1 || v.max_entries > (1u << 26)) {
			show_note(s, "map %s has %" PRIu32 " entries, which no state asks for: mapSizes.%s is not shown",
			     l->name, v.max_entries, sl_map_size_name[f]);
			return;
		}
		if (s->map_size_set[f] && s->map_size[f] != v.max_entries) {
			show_note(s, "the maps sized by mapSizes.%s differ (%" PRIu32 " and %" PRIu32 "); shown: %" PRIu32,
			     sl_map_size_name[f], s->map_size[f], v.max_entries, s->map_size[f]);
			return;
		}
		s->map_size[f] = v.max_entries;
		s->map_size_set[f] = true;
		return;
	}
}

/* Of the services: where they are in the set (services_section reads them). */
static void read_service(struct show *s, size_t at, const struct sl_obj *o)
{
	struct sl_service_value v;

	if (!sl_kind_fits(o->kind, o->klen, o->vlen) || !sl_kind_value(o->kind, obj_val(s->live, o), o->vlen, &v)) {
		show_note(s, "a service of an unknown form is not shown");
		return;
	}
	if (!s->has_svcs)
		s->svc_first = at;
	s->has_svcs = true;
	s->n_svcs = at + 1 - s->svc_first;
}

/* Of the SAs, policies and routes: how many, and the SAs' SPIs (the
 * encryption note says what the state cannot). */
static void read_sa(struct show *s, size_t at, const struct sl_obj *o)
{
	(void)at;
	s->n_sa++;
	if (o->klen == sizeof(struct sl_xfrm_state_key)) {
		struct sl_xfrm_state_key sk;

		memcpy(&sk, obj_key(s->live, o), sizeof(sk)); /* at any alignment */
		if (sk.spi < 32)
			s->sa_spis |= 1u << sk.spi;
	}
}

static void read_xfrm_policy(struct show *s, size_t at, const struct sl_obj *o)
{
	(void)at;
	(void)o;
	s->n_xpol++;
}

/* Encryption's routes (unicast, main table) are counted for the note on
 * encryption; the local routes of the proxy table, like the rules that
 * send packets there (read_later), follow from the policies' proxy ports,
 * which the policy entries give back; the overlay's routes into the tunnel
 * (with an encapsulation, in the overlay table), like the rule that sends
 * the node's own packets there, follow from the nodes and tunnel: vxlan,
 * which the ipcache and the device give back. */
static void read_route(struct show *s, size_t at, const struct sl_obj *o)
{
	struct sl_route_key k;
	struct sl_route_value v;

	(void)at;
	if (show_obj_copy(s, o, &k, sizeof(k), &v, sizeof(v)) &&
	    ((k.type == SL_ROUTE_LOCAL && k.table == SL_PROXY_TABLE) || v.encap.type))
		return;
	s->n_routes++;
}

/* The overlay's device gives back datapath.tunnel, vxlanPort and
 * underlayDevice. */
static void read_device(struct show *s, size_t at, const struct sl_obj *o)
{
	struct sl_device_key k;
	struct sl_device_value v;

	(void)at;
	if (!show_obj_copy(s, o, &k, sizeof(k), &v, sizeof(v))) {
		show_note(s, "a device of an unknown form is not shown");
		return;
	}
	if (v.type != SL_DEVICE_VXLAN || strncmp(k.name, SL_DEVICE_VXLAN_NAME, sizeof(k.name))) {
		show_note(s, "device %.16s is sluice's but not the overlay's sluice_vxlan: not shown", k.name);
		return;
	}
	s->has_tunnel = true;
	s->vxlan_port = v.port;
	memcpy(s->underlay, v.underlay, sizeof(v.underlay) < SHOW_IFNAME_LEN ? sizeof(v.underlay) : SHOW_IFNAME_LEN);
}

/* What show reads of an object that says nothing on its own: the ipcache
 * is read as a whole after the endpoints (read_ipcache), programs follow
 * from the attachments, backends come with the services that name them,
 * rules from the policies' proxy ports (the proxy redirect's) and from the
 * nodes and tunnel: vxlan (the overlay's, as its routes). */
static void read_later(struct show *s, size_t at, const struct sl_obj *o)
{
	(void)s;
	(void)at;
	(void)o;
}

/* Socket acceleration's hooks give socketAcceleration, the socket hooks
 * of services hostReachableServices, and a cgroup hook its cgroup (by id:
 * show.c finds its path). */
static void read_sockhook(struct show *s, size_t at, const struct sl_obj *o)
{
	struct sl_sockhook_key k;
	struct sl_sockhook_value v;

	(void)at;
	if (!show_obj_copy(s, o, &k, sizeof(k), &v, sizeof(v))) {
		show_note(s, "a socket hook of an unknown form is not shown");
		return;
	}
	if (k.hook == SL_SOCKHOOK_SOCK_OPS || k.hook == SL_SOCKHOOK_SK_MSG)
		s->sock_accel = true;
	else
		s->host_services = true;
	if (sl_sockhook_on_cgroup(k.hook))
		s->cgroup_id = v.cgroup_id;
}

/* An endpoint's name, for its endpoint (read before: the kinds come in
 * order). */
static void read_ep_name(struct show *s, size_t at, const struct sl_obj *o)
{
	char ifname[SHOW_IFNAME_LEN];
	struct sl_ep_name_value v;

	(void)at;
	if (!show_obj_copy(s, o, ifname, sizeof(ifname), &v, sizeof(v)))
		return;
	for (size_t i = 0; i < s->n_eps; i++)
		if (!strncmp(s->eps[i].ifname, ifname, SHOW_IFNAME_LEN))
			snprintf(s->eps[i].given, sizeof(s->eps[i].given), "%.*s", (int)sizeof(v.name), v.name);
}

/* ipvlan mode: where an endpoint's slave is, and the master it hangs off */
static void read_ep_netns(struct show *s, size_t at, const struct sl_obj *o)
{
	char ifname[SHOW_IFNAME_LEN];
	struct sl_ep_netns_value v;

	(void)at;
	if (!show_obj_copy(s, o, ifname, sizeof(ifname), &v, sizeof(v)))
		return;
	if (!s->ipvlan_master[0])
		snprintf(s->ipvlan_master, sizeof(s->ipvlan_master), "%.*s", (int)sizeof(v.master), v.master);
	else if (strncmp(s->ipvlan_master, v.master, sizeof(v.master)))
		show_note(s, "endpoint interface %.16s hangs off ipvlan master %.16s, not %s", ifname, v.master,
			  s->ipvlan_master);
	/* a path the state can take back: absolute, printable */
	for (size_t k = 0; k < sizeof(v.netns) && v.netns[k]; k++)
		if ((unsigned char)v.netns[k] < 0x20 || (unsigned char)v.netns[k] >= 0x7f || v.netns[0] != '/') {
			show_note(s, "endpoint interface %.16s: its namespace's path is not one: not shown", ifname);
			return;
		}
	for (size_t i = 0; i < s->n_eps; i++)
		if (!strncmp(s->eps[i].ifname, ifname, SHOW_IFNAME_LEN))
			snprintf(s->eps[i].netns, sizeof(s->eps[i].netns), "%.*s", (int)sizeof(v.netns) - 1, v.netns);
}

static void read_id_labels(struct show *s, size_t at, const struct sl_obj *o)
{
	struct sl_id_labels_value v;
	uint32_t id;

	(void)at;
	if (show_obj_copy(s, o, &id, sizeof(id), &v, sizeof(v)))
		show_labels_add(s, id, v.text, sizeof(v.text));
}

/* show's reader of each kind (kinds/kind.h): what of the state it gives
 * back. A kind without a reader is one this version cannot show. */
static void (*const readers[SL_OBJ__MAX])(struct show *s, size_t i, const struct sl_obj *o) = {
	[SL_OBJ_ENDPOINT] = read_endpoint,     [SL_OBJ_IPCACHE] = read_later,	      [SL_OBJ_POLICY] = read_policy,
	[SL_OBJ_PREFILTER4] = read_prefilter,  [SL_OBJ_PREFILTER6] = read_prefilter,  [SL_OBJ_ATTACH] = read_attach,
	[SL_OBJ_MAP] = read_map,	       [SL_OBJ_PROG] = read_later,	      [SL_OBJ_BACKEND] = read_later,
	[SL_OBJ_SERVICE] = read_service,       [SL_OBJ_XFRM_STATE] = read_sa,	      [SL_OBJ_XFRM_POLICY] = read_xfrm_policy,
	[SL_OBJ_ROUTE] = read_route,	       [SL_OBJ_DEVICE] = read_device,	      [SL_OBJ_RULE] = read_later,
	[SL_OBJ_SOCKHOOK] = read_sockhook,
	[SL_OBJ_EP_NAME] = read_ep_name,       [SL_OBJ_ID_LABELS] = read_id_labels,
	[SL_OBJ_EP_NETNS] = read_ep_netns,
};

void show_read_live(struct show *s)
{
	const struct sl_objset *l = s->live;
	size_t unknown[256] = { 0 };

	for (size_t i = 0; i < l->n && !s->oom; i++) {
		const struct sl_obj *o = &l->v[i];

		if (o->kind < SL_OBJ__MAX && readers[o->kind])
			readers[o->kind](s, i, o);
		else
			unknown[o->kind]++;
	}
	for (size_t k = 0; k < ARRAY_SIZE(unknown); k++)
		if (unknown[k])
			show_note(s, "%zu objects of kind %zu are not shown (this version cannot show them)", unknown[k], k);
	if (s->n_deny && !s->has_pf) {
		show_note(s, "%zu prefilter entries are not shown: the prefilter is attached to no device", s->n_deny);
		s->n_deny = 0;
	}
	show_sort(s->deny, s->n_deny, sizeof(*s->deny), prefix_cmp_v);
	show_sort(s->pe, s->n_pe, sizeof(*s->pe), pent_cmp);
	read_ipcache(s);
	sort_cidrs(s);
	for (size_t i = 0; i < s->n_nodes; i++)
		show_sort(s->nodes[i].pods, s->nodes[i].n_pods, sizeof(*s->nodes[i].pods), prefix_cmp_v);
}

void show_encryption_note(struct show *s)
{
	struct strbuf b = {};

	for (size_t i = 0; i < s->n_nodes; i++) {
		if (!s->nodes[i].keys)
			continue;
		if (strbuf_addf(&b, "%s%s (key", b.len ? ", " : "", s->nodes[i].name) < 0)
			s->oom = true;
		for (unsigned k = 0; k < 32; k++)
			if (s->nodes[i].keys & (1u << k) && strbuf_addf(&b, " %u", k) < 0)
				s->oom = true;
		if (strbuf_adds(&b, ")") < 0)
			s->oom = true;
	}
	if (b.len)
		show_note(s, "encryption is not shown (key material is never printed), so the encryption key indexes of "
			"the ipcache entries toward %s do not round-trip", strbuf_str(&b));
	strbuf_truncate(&b, 0);
	for (unsigned k = 0; k < 32; k++)
		if (s->sa_spis & (1u << k) && strbuf_addf(&b, "%s%u", b.len ? ", " : "", k) < 0)
			s->oom = true;
	if (s->n_sa || s->n_xpol || s->n_routes)
		show_note(s, "encryption's %zu xfrm states%s%s%s, %zu xfrm policies and %zu routes are not shown: the "
			"encryption section names key files, which the kernel does not know (see sluice status)",
		     s->n_sa, b.len ? " (SPI " : "", b.len ? strbuf_str(&b) : "", b.len ? ")" : "", s->n_xpol,
		     s->n_routes);
	strbuf_free(&b);
}
