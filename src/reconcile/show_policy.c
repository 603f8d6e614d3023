/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Show: policy entries back into rules, and the policies section.
 *
 * Policy entries are the merged product of rules (compile.c): one entry per
 * (peer, protocol, port) with a verdict. They are written back as one rule
 * per verdict and set of ports whose peers are the same, so the rules
 * multiply out to exactly those entries. Entities that expand to several
 * identities (world, cluster) are written only where every identity they
 * add has an entry that the rule cannot change; where that does not hold
 * the rule is written anyway and a note says that the round trip adds
 * entries.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include <sluice/abi.h>

#include "show_internal.h"

static const char *const dir_key[SL_DIRECTION__MAX] = {
	[SL_INGRESS] = "ingress",
	[SL_EGRESS] = "egress",
	[SL_INGRESS_DENY] = "ingressDeny",
	[SL_EGRESS_DENY] = "egressDeny",
};

static const char *const entity_name[SL_ENTITY__MAX] = {
	[SL_ENTITY_HOST] = "host",
	[SL_ENTITY_WORLD] = "world",
	[SL_ENTITY_REMOTE_NODE] = "remote-node",
	[SL_ENTITY_CLUSTER] = "cluster",
	[SL_ENTITY_ALL] = "all",
};

/* ---- policy: entries back into rules ---- */

/* An icmps rule's entries: ICMP or ICMPv6, the type as the port (abi.h). */
static bool is_icmp(uint8_t proto)
{
	return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

/* The entries of one endpoint (dir < 0: both directions). */
static const struct pent *pe_range(const struct show *s, uint16_t ep_id, int dir, size_t *ret_n)
{
	size_t lo = 0, hi = s->n_pe, end;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct pent *e = &s->pe[mid];

		if (e->ep_id < ep_id || (e->ep_id == ep_id && dir > 0 && e->dir < dir))
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; end < s->n_pe && s->pe[end].ep_id == ep_id && (dir < 0 || s->pe[end].dir == dir); end++)
		;
	*ret_n = end - lo;
	return *ret_n ? s->pe + lo : NULL; /* s->pe may be NULL: NULL + 0 is undefined */
}

static bool same_entries(const struct pent *a, size_t na, const struct pent *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (a[i].dir != b[i].dir || a[i].id != b[i].id || a[i].proto != b[i].proto || a[i].port != b[i].port ||
		    a[i].deny != b[i].deny || a[i].proxy != b[i].proxy)
			return false;
	return true;
}

static int peer_cmp(const void *a, const void *b)
{
	const struct pent *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return x->port < y->port ? -1 : x->port > y->port;
}

/* Ports first (all ports before any port), then peers. */
static int port_peer_cmp(const void *a, const void *b)
{
	const struct pent *x = a, *y = b;
	bool xa = !x->proto, ya = !y->proto;

	if (xa != ya)
		return xa ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Whether a rule that gives class c to (id, port) leaves the entry there
 * as it is: compile merges deny over allow, and the lowest proxy port. */
static bool covered(const struct pent *E, size_t nE, uint32_t id, const struct pspec *ps, const struct pclass *c)
{
	struct pent k = { .id = id, .proto = ps->proto, .port = ps->port };
	const struct pent *f = nE ? bsearch(&k, E, nE, sizeof(*E), peer_cmp) : NULL;

	if (!f)
		return false;
	if (f->deny)
		return true;
	if (c->deny)
		return false;
	return !c->proxy || (f->proxy && f->proxy <= c->proxy);
}

struct pgroup {
	struct pspec *ports;
	size_t n_ports, cap_ports;
	const struct pent *peers;
	size_t n_peers;
	bool all_ports;
};

static void ports_text(const struct pgroup *g, char *buf, size_t len)
{
	size_t o = 0;

	if (g->all_ports) {
		snprintf(buf, len, "all ports");
		return;
	}
	buf[0] = '\0';
	for (size_t i = 0; i < g->n_ports && o < len; i++) {
		const struct pspec *p = &g->ports[i];
		int w = is_icmp(p->proto) ? snprintf(buf + o, len - o, "%s%s type %d", i ? ", " : "",
						     p->proto == IPPROTO_ICMP ? "ICMP" : "ICMPv6",
						     sl_policy_icmp_type(p->port))
			: p->port ? snprintf(buf + o, len - o, "%s%u/%s", i ? ", " : "", p->port, sl_proto_name(p->proto))
				  : snprintf(buf + o, len - o, "%s%s", i ? ", " : "", sl_proto_name(p->proto));
		if (w < 0)
			break;
		o += (size_t)w;
	}
}

/* Whether a rule of group g may name id too without changing an entry. */
static bool group_covers(const struct pgroup *g, const struct pclass *c, const struct pent *E, size_t nE, uint32_t id)
{
	for (size_t i = 0; i < g->n_ports; i++)
		if (!covered(E, nE, id, &g->ports[i], c))
			return false;
	return true;
}

int show_add_rule(struct show *s, struct spolicy *pol, const struct srule *r)
{
	struct srule *x = PUSH(s, pol->rules, pol->n_rules, pol->cap_rules);

	if (!x)
		return -ENOMEM;
	*x = *r;
	return 0;
}

static int make_rule(struct show *s, struct spolicy *pol, uint8_t dir, const struct pclass *c,
		     const struct pgroup *g, const struct pent *E, size_t nE)
{
	struct srule r = { .dir = dir, .proxy = c->proxy, .to_ports = !g->all_ports, .n_ports = g->n_ports };
	bool cluster = false, any = false;
	char ports[128];

	r.ids = show_alloc(s, g->n_peers * sizeof(*r.ids));
	r.cidrs = show_alloc(s, g->n_peers * sizeof(*r.cidrs));
	r.cidr_drop = show_alloc(s, g->n_peers * sizeof(*r.cidr_drop));
	r.ports = show_alloc(s, g->n_ports * sizeof(*r.ports));
	if (s->oom)
		return -ENOMEM;
	memcpy(r.ports, g->ports, g->n_ports * sizeof(*r.ports));
	ports_text(g, ports, sizeof(ports));
	for (size_t i = 0; i < g->n_peers; i++) {
		uint32_t id = g->peers[i].id;
		int ci;

		switch (id) {
		case SL_ID_UNKNOWN:
			r.ent[SL_ENTITY_ALL] = true;
			continue;
		case SL_ID_HOST:
			r.ent[SL_ENTITY_HOST] = true;
			continue;
		case SL_ID_WORLD:
			r.ent[SL_ENTITY_WORLD] = true;
			continue;
		case SL_ID_REMOTE_NODE:
			r.ent[SL_ENTITY_REMOTE_NODE] = true;
			continue;
		case SL_ID_HEALTH:
		case SL_ID_INIT:
			cluster = true;
			continue;
		default:
			break;
		}
		if (show_user_id(id)) {
			r.ids[r.n_ids++] = id;
		} else if (id >= SL_ID_CIDR_MIN && (ci = show_cidr_index(s, id)) >= 0) {
			r.cidrs[r.n_cidrs++] = (size_t)ci;
		} else if (id >= SL_ID_CIDR_MIN) {
			show_note(s, "policy %s, %s (%s): CIDR identity %" PRIu32 " has no ipcache entry, so its prefix is "
				"unknown: not shown", pol->name, dir_key[dir], ports, id);
		} else {
			show_note(s, "policy %s, %s (%s): reserved identity %" PRIu32 " cannot be named in a rule: not shown",
			     pol->name, dir_key[dir], ports, id);
		}
	}
	if (cluster) {
		/* Health and init are named only by cluster, which names
		 * every identity, the host and the remote nodes too. */
		static const uint32_t reserved[] = { SL_ID_HOST, SL_ID_HEALTH, SL_ID_INIT, SL_ID_REMOTE_NODE };
		bool ok = true;

		for (size_t i = 0; ok && i < ARRAY_SIZE(reserved); i++)
			ok = group_covers(g, c, E, nE, reserved[i]);
		for (size_t i = 0; ok && i < s->n_ids; i++)
			ok = group_covers(g, c, E, nE, s->ids[i]);
		if (!ok)
			show_note(s, "policy %s, %s (%s): identities 4 (health) and 5 (init) are written as the entity "
				"cluster, which also names identities that have no such entry here: the round trip adds "
				"entries", pol->name, dir_key[dir], ports);
		r.ent[SL_ENTITY_CLUSTER] = true;
		r.ent[SL_ENTITY_HOST] = r.ent[SL_ENTITY_REMOTE_NODE] = false;
		r.n_ids = 0;
	}
	if (r.ent[SL_ENTITY_WORLD]) {
		/* world names the CIDR identities too. */
		bool ok = true;

		for (size_t i = 0; ok && i < s->n_cidrs; i++)
			ok = group_covers(g, c, E, nE, s->cidrs[i].id);
		if (!ok)
			show_note(s, "policy %s, %s (%s): identity 2 (world) is written as the entity world, which also names "
				"CIDR identities that have no such entry here: the round trip adds entries", pol->name,
			     dir_key[dir], ports);
	}
	for (int e = 0; e < SL_ENTITY__MAX; e++)
		any |= r.ent[e];
	if (!any && !r.n_ids && !r.n_cidrs)
		return 0;
	return show_add_rule(s, pol, &r);
}

static bool same_peers(const struct pent *a, size_t na, const struct pent *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (a[i].id != b[i].id)
			return false;
	return true;
}

/* The rules of one verdict: ports whose peers are the same share a rule. */
static int class_rules(struct show *s, struct spolicy *pol, uint8_t dir, const struct pclass *c,
		       const struct pent *sub, size_t n, const struct pent *E, size_t nE)
{
	struct pgroup *g = NULL;
	size_t ng = 0, cap = 0;
	int r = 0;

	for (size_t i = 0, j; i < n && r >= 0; i = j) {
		struct pgroup *x = NULL;
		struct pspec *ps;
		bool all = !sub[i].proto;

		for (j = i + 1; j < n && sub[j].proto == sub[i].proto && sub[j].port == sub[i].port; j++)
			;
		for (size_t k = 0; !all && k < ng && !x; k++)
			if (!g[k].all_ports && same_peers(g[k].peers, g[k].n_peers, sub + i, j - i))
				x = &g[k];
		if (!x) {
			x = PUSH(s, g, ng, cap);
			if (!x) {
				r = -ENOMEM;
				break;
			}
			x->peers = sub + i;
			x->n_peers = j - i;
			x->all_ports = all;
		}
		ps = PUSH(s, x->ports, x->n_ports, x->cap_ports);
		if (!ps) {
			r = -ENOMEM;
			break;
		}
		ps->proto = sub[i].proto;
		ps->port = sub[i].port;
	}
	for (size_t k = 0; k < ng; k++) {
		if (r >= 0)
			r = make_rule(s, pol, dir, c, &g[k], E, nE);
		free(g[k].ports);
	}
	free(g);
	return r;
}

static int pclass_cmp(const void *a, const void *b)
{
	const struct pclass *x = a, *y = b;

	if (x->deny != y->deny)
		return x->deny ? 1 : -1;
	return x->proxy < y->proxy ? -1 : x->proxy > y->proxy;
}

/* The rules of one direction from its entries E (sorted by peer). */
static int direction_rules(struct show *s, struct spolicy *pol, bool egress, const struct pent *E, size_t nE)
{
	struct pclass *cls = NULL;
	size_t ncls = 0, cap = 0, n = 0;
	struct pent *ok = malloc((nE + 1) * sizeof(*ok)), *sub = malloc((nE + 1) * sizeof(*sub));
	int r = 0;

	if (!ok || !sub) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nE; i++) {
		const struct pent *e = &E[i];
		bool found = false;

		if (is_icmp(e->proto) && sl_policy_icmp_type(e->port) < 0) {
			show_note(s, "policy %s: the %s entry for %s port %u is no ICMP type, and cannot be written as a "
				"rule: not shown", pol->name, egress ? "egress" : "ingress",
			     e->proto == IPPROTO_ICMP ? "ICMP" : "ICMPv6", e->port);
			continue;
		}
		if (e->proto && e->proto != SL_PROTO_TCP && e->proto != SL_PROTO_UDP && e->proto != SL_PROTO_SCTP &&
		    !is_icmp(e->proto)) {
			show_note(s, "policy %s: the %s entry for protocol %u cannot be written as a rule: not shown",
			     pol->name, egress ? "egress" : "ingress", e->proto);
			continue;
		}
		if (!e->proto && e->port) {
			show_note(s, "policy %s: the %s entry for port %u of any protocol cannot be written as a rule: not "
				"shown", pol->name, egress ? "egress" : "ingress", e->port);
			continue;
		}
		ok[n++] = *e;
		for (size_t k = 0; k < ncls && !found; k++)
			found = cls[k].deny == e->deny && cls[k].proxy == e->proxy;
		if (!found) {
			struct pclass *c = PUSH(s, cls, ncls, cap);

			if (!c) {
				r = -ENOMEM;
				goto out;
			}
			c->deny = e->deny;
			c->proxy = e->proxy;
		}
	}
	show_sort(cls, ncls, sizeof(*cls), pclass_cmp);
	for (size_t k = 0; k < ncls && r >= 0; k++) {
		size_t m = 0;
		uint8_t dir = cls[k].deny ? (egress ? SL_EGRESS_DENY : SL_INGRESS_DENY) : (egress ? SL_EGRESS : SL_INGRESS);

		for (size_t i = 0; i < n; i++)
			if (ok[i].deny == cls[k].deny && ok[i].proxy == cls[k].proxy)
				sub[m++] = ok[i];
		show_sort(sub, m, sizeof(*sub), port_peer_cmp);
		r = class_rules(s, pol, dir, &cls[k], sub, m, E, nE);
	}
out:
	free(ok);
	free(sub);
	free(cls);
	return r;
}

static void add_id(struct show *s, uint32_t id)
{
	uint32_t *x = PUSH(s, s->ids, s->n_ids, s->cap_ids);

	if (x)
		*x = id;
}

/* Every identity the document names: endpoints' and policy peers', and
 * every one whose labels the kernel keeps (an identity nothing uses yet). */
static void collect_identities(struct show *s)
{
	size_t w = 0;

	for (size_t i = 0; i < s->n_labels; i++)
		add_id(s, s->labels[i].id);
	for (size_t g = 0; g < s->n_groups; g++) {
		size_t n;
		const struct pent *E = pe_range(s, s->eps[s->groups[g].rep].v.id, -1, &n);

		add_id(s, s->groups[g].identity);
		for (size_t i = 0; i < n; i++)
			if (show_user_id(E[i].id))
				add_id(s, E[i].id);
	}
	for (size_t i = 0; i < s->n_reps; i++)
		add_id(s, s->reps[i].identity);
	show_sort(s->ids, s->n_ids, sizeof(*s->ids), cmp_u32);
	for (size_t i = 0; i < s->n_ids; i++)
		if (!w || s->ids[w - 1] != s->ids[i])
			s->ids[w++] = s->ids[i];
	s->n_ids = w;
}

struct spolicy *show_new_policy(struct show *s, const char *name, const char *subject)
{
	struct spolicy *p = PUSH(s, s->pols, s->n_pols, s->cap_pols);

	if (!p)
		return NULL;
	p->name = name;
	p->subject = subject;
	if (!name || !subject) {
		s->n_pols--;
		return NULL;
	}
	return p;
}

static bool host_allow(const struct pent *e)
{
	return e->dir == SL_DIR_INGRESS && e->id == SL_ID_HOST && !e->proto && !e->port && !e->deny;
}

/* allowLocalhost: always puts an allow of host, every port, on every
 * endpoint under ingress enforcement: then those entries are taken off and
 * the default is not said; when some such endpoint has none, the state
 * said allowLocalhost: policy (any host rule of its own is shown as one). */
static void show_localhost(struct show *s)
{
	uint8_t *has = calloc(65536 / 8, 1), *in = calloc(65536 / 8, 1);
	size_t n_in = 0, n_has = 0, w = 0;

	if (!has || !in) {
		s->oom = true;
		goto out;
	}
	for (size_t i = 0; i < s->n_pe; i++)
		if (host_allow(&s->pe[i]))
			has[s->pe[i].ep_id / 8] |= (uint8_t)(1u << (s->pe[i].ep_id % 8));
	for (size_t i = 0; i < s->n_eps; i++) {
		uint16_t id = s->eps[i].v.id;

		if (s->eps[i].skip || !(s->eps[i].v.flags & SL_EP_ENFORCE_INGRESS))
			continue;
		n_in++;
		n_has += !!(has[id / 8] & (1u << (id % 8)));
		in[id / 8] |= (uint8_t)(1u << (id % 8));
	}
	if (n_in && n_has < n_in) {
		s->localhost_policy = true;
		goto out;
	}
	for (size_t i = 0; i < s->n_pe; i++)
		if (!(host_allow(&s->pe[i]) && (in[s->pe[i].ep_id / 8] & (1u << (s->pe[i].ep_id % 8)))))
			s->pe[w++] = s->pe[i];
	s->n_pe = w;
out:
	free(has);
	free(in);
}

void show_policies(struct show *s)
{
	uint8_t *shown = calloc(65536 / 8, 1);
	size_t n_local = 0, n_enforced = 0, orphans = 0;

	if (!shown) {
		s->oom = true;
		return;
	}
	for (size_t i = 0; i < s->n_eps; i++) {
		if (s->eps[i].skip)
			continue;
		n_local++;
		n_enforced += (s->eps[i].v.flags & (SL_EP_ENFORCE_INGRESS | SL_EP_ENFORCE_EGRESS)) ==
			      (SL_EP_ENFORCE_INGRESS | SL_EP_ENFORCE_EGRESS);
		shown[s->eps[i].v.id / 8] |= (uint8_t)(1u << (s->eps[i].v.id % 8));
	}
	/* Every endpoint under enforcement both ways: that is what
	 * policyEnforcement: always makes, and the shortest way to say it. */
	if (n_local && n_enforced == n_local)
		s->enforcement = SL_ENFORCE_ALWAYS;
	show_localhost(s);
	for (size_t i = 0; i < s->n_pe; i++)
		if (!(shown[s->pe[i].ep_id / 8] & (1u << (s->pe[i].ep_id % 8))))
			orphans++;
	if (orphans)
		show_note(s, "%zu policy entries belong to no endpoint that is shown: not shown", orphans);
	free(shown);
	collect_identities(s);

	for (size_t g = 0; g < s->n_groups && !s->oom; g++) {
		const struct sep *rep = &s->eps[s->groups[g].rep];
		uint32_t id = s->groups[g].identity;
		size_t n_all, n_in, n_eg;
		const struct pent *all = pe_range(s, rep->v.id, -1, &n_all);
		const struct pent *in = pe_range(s, rep->v.id, SL_DIR_INGRESS, &n_in);
		const struct pent *eg = pe_range(s, rep->v.id, SL_DIR_EGRESS, &n_eg);
		uint8_t flags = rep->v.flags & (SL_EP_ENFORCE_INGRESS | SL_EP_ENFORCE_EGRESS);
		struct spolicy *p;

		/* The other endpoints of the identity have the same policy. */
		for (size_t i = 1; i < s->groups[g].n; i++) {
			const struct sep *e = &s->eps[s->order[s->groups[g].first + i]];
			size_t n;
			const struct pent *E;

			E = pe_range(s, e->v.id, -1, &n);
			if ((e->v.flags & (SL_EP_ENFORCE_INGRESS | SL_EP_ENFORCE_EGRESS)) != flags ||
			    !same_entries(E, n, all, n_all))
				show_note(s, "endpoints %s and %s have identity %" PRIu32 " but different policy; the policy of "
					"%s is shown for both", rep->ifname, e->ifname, id, rep->ifname);
		}
		if (s->enforcement == SL_ENFORCE_ALWAYS)
			flags = 0;
		if (!n_all && !flags)
			continue;
		p = show_new_policy(s, show_fmt(s, "identity-%" PRIu32, id), show_fmt(s, "%" PRIu32, id));
		if (!p)
			break;
		p->key[SL_INGRESS] = flags & SL_EP_ENFORCE_INGRESS;
		p->key[SL_EGRESS] = flags & SL_EP_ENFORCE_EGRESS;
		for (int d = 0; d < 2; d++) {
			const struct pent *E = d ? eg : in;
			size_t n = d ? n_eg : n_in;
			bool allow = false;

			for (size_t i = 0; i < n && !allow; i++)
				allow = !E[i].deny;
			if (allow && s->enforcement != SL_ENFORCE_ALWAYS &&
			    !(flags & (d ? SL_EP_ENFORCE_EGRESS : SL_EP_ENFORCE_INGRESS)))
				show_note(s, "policy %s: %s allow entries without %s enforcement cannot be written (an allow "
					"rule turns enforcement on): the round trip enforces %s", p->name,
				     d ? "egress" : "ingress", d ? "egress" : "ingress", d ? "egress" : "ingress");
			if (direction_rules(s, p, d, E, n) < 0)
				s->oom = true;
		}
	}
}

/* The selector of an identity (by number), or of none ("none": a policy
 * that selects no endpoint). */
static void identity_selector(struct show *s, struct doc_node *parent, const char *key, const char *id)
{
	char *end;
	unsigned long n = strtoul(id, &end, 10);

	if (*id && !*end) {
		show_emit_selector(s, parent, key, (uint32_t)n);
		return;
	}
	doc_str(&s->doc, doc_map(&s->doc, doc_map(&s->doc, parent, key, DOC_BLOCK), "matchLabels", DOC_FLOW),
		SL_SHOW_IDENTITY_LABEL, id);
}

/* A port item of toPorts: port..hi of one protocol, or (proto 0) of TCP,
 * UDP and SCTP at once, which is what ANY with a port makes. */
struct prange {
	uint16_t lo, hi;
	uint8_t proto;
};

static int prange_cmp(const void *a, const void *b)
{
	const struct prange *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	return x->proto < y->proto ? -1 : x->proto > y->proto;
}

/* Whether x is the range of r in protocol proto. */
static bool same_range(const struct prange *x, const struct prange *r, uint8_t proto)
{
	return x->lo == r->lo && x->hi == r->hi && x->proto == proto;
}

/*
 * A rule's ports and ICMP types: the ports as toPorts, consecutive ports of
 * a protocol as one range (port, endPort: compile makes one entry per port
 * of it), the same range of TCP, UDP and SCTP as one without a protocol;
 * the types as icmps.
 */
static void emit_ports(struct show *s, struct doc_node *rule, const struct srule *r)
{
	static const uint8_t protos[] = { SL_PROTO_TCP, SL_PROTO_UDP, SL_PROTO_SCTP };
	struct prange *rg = show_alloc(s, (r->n_ports + 1) * sizeof(*rg));
	struct doc_node *fields = NULL;
	size_t n = 0, w = 0;

	if (!rg)
		return;
	/* r->ports are by port, then protocol: each protocol's in order */
	for (size_t k = 0; k < ARRAY_SIZE(protos); k++)
		for (size_t i = 0; i < r->n_ports; i++) {
			const struct pspec *p = &r->ports[i];
			struct prange *last = n ? &rg[n - 1] : NULL;

			if (p->proto != protos[k])
				continue;
			/* (1..65535 in one range would be port 0, every port) */
			if (p->port && last && last->proto == p->proto && last->lo && last->hi + 1 == p->port &&
			    !(last->lo == 1 && p->port == 65535))
				last->hi = p->port;
			else
				rg[n++] = (struct prange){ p->port, p->port, p->proto };
		}
	show_sort(rg, n, sizeof(*rg), prange_cmp);
	for (size_t i = 0; i < n; i++) {
		/* port 0 of every protocol is no ANY: that would be every protocol */
		if (rg[i].lo && rg[i].proto == SL_PROTO_TCP && i + 2 < n && same_range(&rg[i + 1], &rg[i], SL_PROTO_UDP) &&
		    same_range(&rg[i + 2], &rg[i], SL_PROTO_SCTP)) {
			rg[w++] = (struct prange){ rg[i].lo, rg[i].hi, 0 };
			i += 2;
			continue;
		}
		rg[w++] = rg[i];
	}
	n = w;
	if (n) {
		struct doc_node *pr = doc_map(&s->doc, doc_seq(&s->doc, rule, "toPorts", DOC_BLOCK), NULL, DOC_BLOCK);
		struct doc_node *ports = doc_seq(&s->doc, pr, "ports", DOC_FLOW);

		for (size_t i = 0; i < n; i++) {
			struct doc_node *it = doc_map(&s->doc, ports, NULL, DOC_FLOW);

			doc_u64(&s->doc, it, "port", rg[i].lo);
			if (rg[i].hi != rg[i].lo)
				doc_u64(&s->doc, it, "endPort", rg[i].hi);
			if (rg[i].proto)
				doc_str(&s->doc, it, "protocol", sl_proto_name(rg[i].proto));
		}
		if (r->proxy)
			doc_u64(&s->doc, pr, "proxyPort", r->proxy);
	}
	for (size_t i = 0; i < r->n_ports; i++) {
		const struct pspec *p = &r->ports[i];
		int family = p->proto == IPPROTO_ICMPV6 ? SL_ICMP_IPV6 : SL_ICMP_IPV4;
		int type = sl_policy_icmp_type(p->port);
		const char *name = sl_icmp_type_name(family, type);
		struct doc_node *it;

		if (!is_icmp(p->proto))
			continue;
		if (!fields)
			fields = doc_seq(&s->doc, doc_map(&s->doc, doc_seq(&s->doc, rule, "icmps", DOC_BLOCK), NULL,
							  DOC_BLOCK), "fields", DOC_FLOW);
		it = doc_map(&s->doc, fields, NULL, DOC_FLOW);
		if (name)
			doc_str(&s->doc, it, "type", name);
		else
			doc_u64(&s->doc, it, "type", (uint64_t)type);
		doc_str(&s->doc, it, "family", family == SL_ICMP_IPV6 ? "IPv6" : "IPv4");
	}
}

static void emit_rule(struct show *s, struct doc_node *seq, const struct srule *r)
{
	bool from = r->dir == SL_INGRESS || r->dir == SL_INGRESS_DENY;
	struct doc_node *m = doc_map(&s->doc, seq, NULL, DOC_BLOCK), *plain = NULL, *sets = NULL, *ents = NULL;

	if (r->n_ids) {
		struct doc_node *eps = doc_seq(&s->doc, m, from ? "fromEndpoints" : "toEndpoints", DOC_BLOCK);

		for (size_t i = 0; i < r->n_ids; i++)
			identity_selector(s, eps, NULL, show_fmt(s, "%" PRIu32, r->ids[i]));
	}
	for (size_t i = 0; i < r->n_cidrs; i++) {
		const struct scidr *c = &s->cidrs[r->cidrs[i]];

		if (r->cidr_drop[i] || (c->except_head >= 0 && c->first_rule == r))
			continue;
		if (!plain)
			plain = doc_seq(&s->doc, m, from ? "fromCIDR" : "toCIDR", DOC_FLOW);
		doc_str(&s->doc, plain, NULL, show_prefix_str(s, &c->p));
	}
	for (size_t i = 0; i < r->n_cidrs; i++) {
		const struct scidr *c = &s->cidrs[r->cidrs[i]];
		struct doc_node *it, *ex;

		if (r->cidr_drop[i] || c->except_head < 0 || c->first_rule != r)
			continue;
		if (!sets)
			sets = doc_seq(&s->doc, m, from ? "fromCIDRSet" : "toCIDRSet", DOC_BLOCK);
		it = doc_map(&s->doc, sets, NULL, DOC_FLOW);
		doc_str(&s->doc, it, "cidr", show_prefix_str(s, &c->p));
		ex = doc_seq(&s->doc, it, "except", DOC_FLOW);
		for (int e = c->except_head; e >= 0; e = s->cidrs[e].except_next)
			doc_str(&s->doc, ex, NULL, show_prefix_str(s, &s->cidrs[e].p));
	}
	for (int e = 0; e < SL_ENTITY__MAX; e++) {
		if (!r->ent[e])
			continue;
		if (!ents)
			ents = doc_seq(&s->doc, m, from ? "fromEntities" : "toEntities", DOC_FLOW);
		doc_str(&s->doc, ents, NULL, entity_name[e]);
	}
	if (r->to_ports)
		emit_ports(s, m, r);
}

/* The policies section. */
void show_emit_policies(struct show *s)
{
	struct doc_node *q;

	if (!s->n_pols)
		return;
	q = doc_seq(&s->doc, doc_root(&s->doc), "policies", DOC_BLOCK);
	for (size_t i = 0; i < s->n_pols; i++) {
		const struct spolicy *p = &s->pols[i];
		struct doc_node *m = doc_map(&s->doc, q, NULL, DOC_BLOCK);

		doc_str(&s->doc, m, "name", p->name);
		identity_selector(s, m, "endpointSelector", p->subject);
		for (int d = 0; d < SL_DIRECTION__MAX; d++) {
			struct doc_node *rules = NULL;

			if (p->key[d])
				rules = doc_seq(&s->doc, m, dir_key[d], DOC_BLOCK);
			for (size_t j = 0; j < p->n_rules; j++) {
				if (p->rules[j].dir != d)
					continue;
				if (!rules)
					rules = doc_seq(&s->doc, m, dir_key[d], DOC_BLOCK);
				emit_rule(s, rules, &p->rules[j]);
			}
		}
	}
}
