/* SPDX-License-Identifier: Apache-2.0 */
/* The policies section: its validation (selectors, rules, peers and ports)
 * and its compile, below: the identities of the CIDRs policies name, each
 * selector and each rule's peers resolved once, and each local endpoint's
 * policy entries, merged (deny beats allow). */
#include "features.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <sluice/abi.h>

#include "common.h"
#include "reconcile/labels.h"
#include "reconcile/net.h"

static bool validate_selector(struct val *v, const char *file, const struct sl_selector *s)
{
	size_t before = v->d->n_errors, saved;

	saved = v_path_lit(v, ".matchLabels");
	v_check_labels(v, file, s->match_labels, s->n_match_labels);
	v_pop(v, saved);
	bool refused = false;

	for (uint32_t i = 0; i < s->n_exprs; i++) {
		const struct sl_expr *e = &s->exprs[i];
		const char *pk;

		/* What the loader refused was reported there; judge the rest. */
		if (!SL_HAS(e, SL_EXPR_KEY) || !SL_HAS(e, SL_EXPR_OPERATOR) ||
		    (SL_GIVEN(e, SL_EXPR_VALUES) && !SL_HAS(e, SL_EXPR_VALUES))) {
			refused = true;
			continue;
		}
		pk = sl_label_key_problem(e->key);
		saved = v_path_idx(v, ".matchExpressions", i);
		if (pk)
			v_err(v, file, SL_AT(e, SL_EXPR_KEY), "key", "%s is not a label key: %s", diag_q(e->key), pk);
		if ((e->op == SL_OP_IN || e->op == SL_OP_NOT_IN) && !e->n_values)
			v_err(v, file, SL_HAS(e, SL_EXPR_VALUES) ? SL_AT(e, SL_EXPR_VALUES) : SL_AT(e, SL_EXPR_OPERATOR),
			  SL_HAS(e, SL_EXPR_VALUES) ? "values" : "operator", "%s needs at least one value",
			  e->op == SL_OP_IN ? "In" : "NotIn");
		if ((e->op == SL_OP_EXISTS || e->op == SL_OP_DOES_NOT_EXIST) && e->n_values)
			v_err(v, file, SL_AT(e, SL_EXPR_VALUES), "values", "%s takes no values",
			  e->op == SL_OP_EXISTS ? "Exists" : "DoesNotExist");
		for (uint32_t j = 0; j < e->n_values; j++) {
			const char *pv;

			if (!SL_MARK_OK(&e->values_m[j]) || !e->values[j]) {
				refused = true;
				continue;
			}
			pv = sl_label_value_problem(e->values[j]);

			if (pv) {
				size_t s2 = v_path_idx(v, ".values", j);

				v_err(v, file, &e->values_m[j], NULL, "%s is not a label value: %s", diag_q(e->values[j]), pv);
				v_pop(v, s2);
			}
		}
		v_pop(v, saved);
	}
	if (SL_GIVEN(s, SL_SEL_MATCH_LABELS) && !SL_HAS(s, SL_SEL_MATCH_LABELS))
		refused = true;
	if (SL_GIVEN(s, SL_SEL_MATCH_EXPRESSIONS) && !SL_HAS(s, SL_SEL_MATCH_EXPRESSIONS))
		refused = true;
	return !refused && v->d->n_errors == before;
}

static const char *const dir_key[SL_DIRECTION__MAX] = {
	[SL_INGRESS] = "ingress",
	[SL_EGRESS] = "egress",
	[SL_INGRESS_DENY] = "ingressDeny",
	[SL_EGRESS_DENY] = "egressDeny",
};


/*
 * proxyPort (state-format.md, "L7 redirect"): a port, and only TCP goes to
 * the proxy. A UDP or SCTP port beside it is an error (the rule would
 * allow it without the proxy the user asked for); an ANY port is a
 * warning: its TCP connections go to the proxy, the rest is allowed
 * without it.
 */
static void proxy_port_check(struct val *v, const char *file, const struct sl_port_rule *pr)
{
	if (!v_check_range(v, file, SL_AT(pr, SL_PORTRULE_PROXY_PORT), "proxyPort", pr->proxy_port, 1, 65535,
			   "a port"))
		return;
	if (v->st->datapath->mode == SL_MODE_IPVLAN)
		v_err(v, file, SL_AT(pr, SL_PORTRULE_PROXY_PORT), "proxyPort",
		      "the L7 redirect needs mode: veth: in ipvlan mode the endpoint's packets never reach the node's "
		      "stack, where the proxy listens (as Cilium's ipvlan mode, which has no L7 policy)");
	for (uint32_t j = 0; j < pr->n_ports; j++) {
		const struct sl_port *p = &pr->ports[j];
		size_t s = v_path_idx(v, ".ports", j);

		if (p->protocol == SL_PROTO_UDP || p->protocol == SL_PROTO_SCTP)
			v_err(v, file, SL_AT(p, SL_PORT_PROTOCOL), "protocol",
			      "%s cannot go to a proxy: proxyPort redirects TCP connections only", sl_proto_name(p->protocol));
		else if (p->protocol == SL_PROTO_ANY)
			v_warn(v, file, SL_HAS(p, SL_PORT_PROTOCOL) ? SL_AT(p, SL_PORT_PROTOCOL) : SL_AT(p, SL_PORT_PORT),
			       SL_HAS(p, SL_PORT_PROTOCOL) ? "protocol" : "port",
			       "with proxyPort only TCP connections go to the proxy; UDP and SCTP on this port are "
			       "allowed without it (write protocol: TCP to say so)");
		v_pop(v, s);
	}
}

/*
 * A port, and endPort (Cilium's and Kubernetes'): the range port..endPort,
 * which needs a port to start from and may not run backwards. Each port of
 * a range is an entry of its own (compile), so the capacity check counts
 * them.
 */
static void port_check(struct val *v, const char *file, const struct sl_port *p)
{
	if (!v_check_range(v, file, SL_AT(p, SL_PORT_PORT), "port", p->port, 0, 65535, "a port") ||
	    !SL_HAS(p, SL_PORT_END_PORT) ||
	    !v_check_range(v, file, SL_AT(p, SL_PORT_END_PORT), "endPort", p->end_port, 0, 65535, "a port"))
		return;
	if (!p->port)
		v_err(v, file, SL_AT(p, SL_PORT_END_PORT), "endPort",
		      "endPort %" PRIu32 " needs a port to start the range from (port: 1..65535); without endPort, "
		      "port 0 means all ports", p->end_port);
	else if (p->end_port < p->port)
		v_err(v, file, SL_AT(p, SL_PORT_END_PORT), "endPort",
		      "endPort %" PRIu32 " is below port %" PRIu32 ": the range is port..endPort", p->end_port, p->port);
}

/*
 * An ICMP type of icmps (Cilium's): a number 0..255 or a name of its
 * family. Its reading goes to type_num, for compile: -1 when refused.
 */
static void icmp_field_check(struct val *v, const char *file, struct sl_icmp_field *f)
{
	static const char *const family_name[SL_ICMP__MAX] = { [SL_ICMP_IPV4] = "IPv4", [SL_ICMP_IPV6] = "IPv6" };
	int other = f->family == SL_ICMP_IPV6 ? SL_ICMP_IPV4 : SL_ICMP_IPV6;
	char names[1024], hint[128] = "";
	size_t digits;

	f->type_num = -1;
	/* What the loader refused (no type, a family that is none) was
	 * reported there. */
	if (!f->type || !SL_HAS(f, SL_ICMPF_TYPE) || (SL_GIVEN(f, SL_ICMPF_FAMILY) && !SL_HAS(f, SL_ICMPF_FAMILY)))
		return;
	f->type_num = sl_icmp_type_parse(f->type, f->family);
	if (f->type_num >= 0)
		return;
	digits = strspn(f->type, "0123456789");
	if (digits && !f->type[digits]) {
		v_err(v, file, SL_AT(f, SL_ICMPF_TYPE), "type", "%s is not an ICMP type (0..255)", f->type);
		return;
	}
	if (sl_icmp_type_parse(f->type, other) >= 0)
		snprintf(hint, sizeof(hint), " (%s is an %s type: write family: %s)", f->type, family_name[other],
			 family_name[other]);
	sl_icmp_type_names(f->family, names, sizeof(names));
	v_err(v, file, SL_AT(f, SL_ICMPF_TYPE), "type", "%s is not an ICMP type of %s: give a number 0..255 or one of %s%s",
	      diag_q(f->type), family_name[f->family], names, hint);
}

/* Whether an ingress rule may admit peers from outside this node: CIDRs,
 * entities other than host, or no peer field at all (every peer). */
static bool rule_admits_outside(const struct sl_rule *r)
{
	if (r->n_cidrs || r->n_cidr_sets)
		return true;
	for (uint32_t i = 0; i < r->n_entities; i++)
		if (r->entities[i] != SL_ENTITY_HOST)
			return true;
	return !r->n_endpoints && !r->n_entities;
}

static void validate_rule(struct val *v, const char *file, struct sl_rule *r, enum sl_direction dir)
{
	bool from = dir == SL_INGRESS || dir == SL_INGRESS_DENY, deny = dir >= SL_INGRESS_DENY;
	const char *pfx = from ? "from" : "to";
	size_t saved;

	for (uint32_t i = 0; i < r->n_endpoints; i++) {
		saved = v_path(v, ".%sEndpoints[%" PRIu32 "]", pfx, i);
		if (validate_selector(v, file, &r->endpoints[i]) && !v_selector_matches_any(v, &r->endpoints[i], false))
			v_warn(v, file, &r->endpoints[i].m[0], NULL, "this selector matches no identity");
		v_pop(v, saved);
	}
	r->cidrs_pfx = v_prefixes(v, r->n_cidrs);
	for (uint32_t i = 0; r->cidrs_pfx && i < r->n_cidrs; i++) {
		saved = v_path(v, ".%sCIDR[%" PRIu32 "]", pfx, i);
		v_check_prefix(v, file, &r->cidrs_m[i], NULL, r->cidrs[i], true, &r->cidrs_pfx[i]);
		v_pop(v, saved);
	}
	for (uint32_t i = 0; i < r->n_cidr_sets; i++) {
		struct sl_cidr_set *cs = &r->cidr_sets[i];
		const struct sl_prefix *outer = &cs->cidr_pfx;
		bool ok;

		saved = v_path(v, ".%sCIDRSet[%" PRIu32 "]", pfx, i);
		ok = v_check_prefix(v, file, SL_AT(cs, SL_CIDRSET_CIDR), "cidr", cs->cidr, true, &cs->cidr_pfx);
		cs->except_pfx = v_prefixes(v, cs->n_except);
		for (uint32_t j = 0; cs->except_pfx && j < cs->n_except; j++) {
			const struct sl_prefix *p = &cs->except_pfx[j];
			size_t s2 = v_path_idx(v, ".except", j);

			if (v_check_prefix(v, file, &cs->except_m[j], NULL, cs->except[j], true, &cs->except_pfx[j]) &&
			    ok && !(sl_prefix_contains(outer, p) && p->len > outer->len))
				v_err(v, file, &cs->except_m[j], NULL, "%s is not inside %s, so it cannot be excepted from it",
				  cs->except[j], cs->cidr);
			v_pop(v, s2);
		}
		v_pop(v, saved);
	}
	for (uint32_t i = 0; i < r->n_entities; i++)
		for (uint32_t j = 0; j < i && SL_MARK_OK(&r->entities_m[i]); j++)
			if (SL_MARK_OK(&r->entities_m[j]) && r->entities[i] == r->entities[j]) {
				saved = v_path(v, ".%sEntities[%" PRIu32 "]", pfx, i);
				v_warn(v, file, &r->entities_m[i], NULL, "this entity is listed twice");
				v_pop(v, saved);
			}
	for (uint32_t i = 0; i < r->n_to_ports; i++) {
		const struct sl_port_rule *pr = &r->to_ports[i];

		saved = v_path_idx(v, ".toPorts", i);
		if (SL_HAS(pr, SL_PORTRULE_PORTS) && !pr->n_ports)
			v_warn(v, file, SL_AT(pr, SL_PORTRULE_PORTS), "ports", "an empty list of ports matches nothing");
		for (uint32_t j = 0; j < pr->n_ports; j++) {
			size_t s2 = v_path_idx(v, ".ports", j);

			port_check(v, file, &pr->ports[j]);
			v_pop(v, s2);
		}
		if (SL_HAS(pr, SL_PORTRULE_PROXY_PORT)) {
			if (deny)
				v_err(v, file, SL_AT(pr, SL_PORTRULE_PROXY_PORT), "proxyPort",
				  "a deny rule cannot redirect to a proxy");
			else
				proxy_port_check(v, file, pr);
			/* docs/l7.md: the flow's packets after the first must
			 * meet a sluice program where they enter the node */
			if (!deny && from && rule_admits_outside(r) &&
			    !(v->st->datapath && v->st->datapath->underlay_device))
				v_warn(v, file, SL_AT(pr, SL_PORTRULE_PROXY_PORT), "proxyPort",
				       "clients from outside this node reach the proxy only through the overlay or "
				       "datapath.underlayDevice, which is not set: name the device they arrive on, or "
				       "their connections stall after the first packet (docs/l7.md)");
		}
		v_pop(v, saved);
	}
	for (uint32_t i = 0; i < r->n_icmps; i++) {
		struct sl_icmp_rule *ir = &r->icmps[i];

		saved = v_path_idx(v, ".icmps", i);
		if (SL_HAS(ir, SL_ICMPRULE_FIELDS) && !ir->n_fields)
			v_warn(v, file, SL_AT(ir, SL_ICMPRULE_FIELDS), "fields",
			       "an empty list of fields matches nothing");
		for (uint32_t j = 0; j < ir->n_fields; j++) {
			size_t s2 = v_path_idx(v, ".fields", j);

			icmp_field_check(v, file, &ir->fields[j]);
			v_pop(v, s2);
		}
		v_pop(v, saved);
	}
}

void policies_validate(struct val *v)
{
	struct sl_state *st = v->st;
	struct dups names = { .what = "policy name", .list = "policies", .field = "name" };

	for (uint32_t i = 0; i < st->n_policies; i++) {
		struct sl_policy *p = &st->policies[i];
		size_t saved = v_path_item(v, "policies", p->name, p->doc_index);

		/* A Kubernetes or Cilium document's name was checked as such (k8s.c). */
		if (p->origin == SL_ORIGIN_SLUICE)
			v_check_name(v, p->file, SL_AT(p, SL_POLICY_NAME), p->name);
		v_dup_add(v, &names, p->name, p->file, SL_AT(p, SL_POLICY_NAME), p->name, p->doc_index);
		if (p->selector) {
			size_t s2 = v_path_lit(v, ".endpointSelector");

			if (validate_selector(v, p->file, p->selector) && !v_selector_matches_any(v, p->selector, true))
				v_warn(v, p->file, &p->selector->m[0], NULL, "this selector matches no endpoint");
			v_pop(v, s2);
		}
		for (int d = 0; d < SL_DIRECTION__MAX; d++) {
			for (uint32_t j = 0; j < p->rules[d].n; j++) {
				size_t s2 = v_path(v, ".%s[%" PRIu32 "]", dir_key[d], j);

				validate_rule(v, p->file, &p->rules[d].v[j], (enum sl_direction)d);
				v_pop(v, s2);
			}
		}
		v_pop(v, saved);
	}
	v_dup_report(v, &names);
}

/* ---- compile: identities of peers ---- */

struct ids {
	uint32_t *v;
	size_t n, cap;
	bool any; /* identity 0: every peer */
};

static int ids_add(struct ids *s, uint32_t id)
{
	/* Duplicates are dropped once, by ids_finish: a rule may name 100k peers. */
	if (grow_array((void **)&s->v, &s->cap, s->n + 1, sizeof(*s->v)) < 0)
		return -ENOMEM;
	s->v[s->n++] = id;
	return 0;
}

static void ids_finish(struct ids *s)
{
	size_t w = 0;

	if (s->n > 1) /* qsort(NULL, 0) is undefined */
		qsort(s->v, s->n, sizeof(*s->v), cmp_u32);
	for (size_t i = 0; i < s->n; i++)
		if (!w || s->v[w - 1] != s->v[i])
			s->v[w++] = s->v[i];
	s->n = w;
}

struct policies_compile {
	const struct sl_state *st;
	/* the CIDR identities an earlier compile gave, by prefix */
	const struct sl_prefix *prev_cidrs;
	const uint32_t *prev_cidr_ids;
	size_t n_prev_cidrs;
	struct policy_cidr *cidrs;
	size_t n_cidrs, cap_cidrs;
	/* policy entries before merging */
	struct pentry {
		struct sl_policy_key k;
		struct sl_policy_value v;
	} *pe;
	size_t n_pe, cap_pe;
	/* The peers of each rule, resolved once: a rule's peers do not
	 * depend on the endpoint it is compiled for (an open-addressed
	 * table keyed by the rule's address; cap a power of two). */
	struct rule_memo {
		const struct sl_rule *r;
		struct ids peers;
		bool no_peer_field;
		int ret;
	} *memo;
	size_t cap_memo;
	/* Which identities each policy selects, resolved once (endpoints
	 * share identities): bit i of row p is policy p selecting identity i. */
	uint8_t *sel_bits;
	size_t sel_row; /* bytes per policy */
	/* sl_compile_count: each endpoint's policy entries are counted, then
	 * dropped, instead of being added to the set */
	bool count_only;
	size_t n_policy_counted;
	/* count_only: an endpoint's entries depend on its identity alone, so
	 * each identity's count is made once (SIZE_MAX: not yet) */
	size_t *count_by_id;
	struct sel_cache *sel_cache; /* selector_ids' */
};

static int prefix_cmp_v(const void *a, const void *b)
{
	return sl_prefix_cmp(&((const struct policy_cidr *)a)->p, &((const struct policy_cidr *)b)->p);
}

static const struct policy_cidr *cidr_find(const struct policies_compile *c, const struct sl_prefix *p)
{
	struct policy_cidr k = { .p = *p };

	if (!c->n_cidrs) /* c->cidrs may be NULL, which bsearch must not be given */
		return NULL;
	return bsearch(&k, c->cidrs, c->n_cidrs, sizeof(*c->cidrs), prefix_cmp_v);
}

static int cidr_collect(struct policies_compile *c, const struct sl_prefix *p)
{
	if (!p->family)
		return 0;
	if (grow_array((void **)&c->cidrs, &c->cap_cidrs, c->n_cidrs + 1, sizeof(*c->cidrs)) < 0)
		return -ENOMEM;
	c->cidrs[c->n_cidrs++] = (struct policy_cidr){ .p = *p };
	return 0;
}

static int rule_cidrs(struct policies_compile *c, const struct sl_rule *r)
{
	int ret = 0;

	for (uint32_t i = 0; ret >= 0 && r->cidrs_pfx && i < r->n_cidrs; i++)
		ret = cidr_collect(c, &r->cidrs_pfx[i]);
	for (uint32_t i = 0; ret >= 0 && i < r->n_cidr_sets; i++) {
		const struct sl_cidr_set *cs = &r->cidr_sets[i];

		ret = cidr_collect(c, &cs->cidr_pfx);
		for (uint32_t j = 0; ret >= 0 && cs->except_pfx && j < cs->n_except; j++)
			ret = cidr_collect(c, &cs->except_pfx[j]);
	}
	return ret;
}

/* (id, index) pairs by id, then index: the first holder of an id first. */
static int u32_pair_cmp(const void *a, const void *b)
{
	const uint32_t *x = a, *y = b;

	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	return x[1] < y[1] ? -1 : x[1] > y[1];
}

/* Every CIDR policy names gets an identity in the local range: the one it
 * had (prev), else the lowest free. */
static int assign_cidr_identities(struct policies_compile *c)
{
	const struct sl_state *st = c->st;
	size_t w = 0;
	uint32_t next = SL_ID_CIDR_MIN;
	int r = 0;

	for (uint32_t i = 0; r >= 0 && i < st->n_policies; i++)
		for (int d = 0; r >= 0 && d < SL_DIRECTION__MAX; d++)
			for (uint32_t j = 0; r >= 0 && j < st->policies[i].rules[d].n; j++)
				r = rule_cidrs(c, &st->policies[i].rules[d].v[j]);
	if (r < 0)
		return r;
	if (c->n_cidrs > 1)
		qsort(c->cidrs, c->n_cidrs, sizeof(*c->cidrs), prefix_cmp_v);
	for (size_t i = 0; i < c->n_cidrs; i++)
		if (!w || sl_prefix_cmp(&c->cidrs[w - 1].p, &c->cidrs[i].p) != 0)
			c->cidrs[w++] = c->cidrs[i];
	c->n_cidrs = w;
	/* Keep what was assigned before. */
	for (size_t i = 0; i < c->n_prev_cidrs; i++) {
		struct policy_cidr *ci = (struct policy_cidr *)cidr_find(c, &c->prev_cidrs[i]);

		if (ci && c->prev_cidr_ids[i] >= SL_ID_CIDR_MIN)
			ci->id = c->prev_cidr_ids[i];
	}
	/* Two prefixes must not share one: the later loses it. Then the free
	 * ones get the lowest ids not in use, in prefix order. */
	{
		uint32_t *used = malloc((c->n_cidrs + 1) * sizeof(*used));
		size_t n_used = 0, u = 0;

		if (!used)
			return -ENOMEM;
		/* Where two prefixes claim one id, the later prefix loses it. */
		{
			struct pair {
				uint32_t id;
				uint32_t idx;
			} *pr = malloc((c->n_cidrs + 1) * sizeof(*pr));
			size_t np = 0;

			if (!pr) {
				free(used);
				return -ENOMEM;
			}
			for (size_t i = 0; i < c->n_cidrs; i++)
				if (c->cidrs[i].id)
					pr[np++] = (struct pair){ c->cidrs[i].id, (uint32_t)i };
			qsort(pr, np, sizeof(*pr), u32_pair_cmp);
			for (size_t i = 1; i < np; i++)
				if (pr[i].id == pr[i - 1].id)
					c->cidrs[pr[i].idx].id = 0;
			free(pr);
		}
		n_used = 0;
		for (size_t i = 0; i < c->n_cidrs; i++)
			if (c->cidrs[i].id)
				used[n_used++] = c->cidrs[i].id;
		qsort(used, n_used, sizeof(*used), cmp_u32);
		for (size_t i = 0; i < c->n_cidrs; i++) {
			if (c->cidrs[i].id)
				continue;
			while (u < n_used && used[u] < next)
				u++;
			while (u < n_used && used[u] == next) {
				next++;
				u++;
			}
			if (next == 0) {
				free(used);
				return -ERANGE;
			}
			c->cidrs[i].id = next++;
		}
		free(used);
	}
	return 0;
}

/*
 * The identities each distinct selector matches, found once: policies
 * repeat the same selectors (one team, one app) many times over, and
 * matching one against every identity compares labels as strings. Keyed
 * by the selector's text (its labels and expressions, each string ended by
 * a NUL, which no label holds, and each expression led by its operator and
 * its number of values), in an open-addressed table that grows.
 */
struct sel_cache {
	struct sel_entry {
		char *key; /* NULL: free */
		size_t klen;
		uint64_t hash;
		uint32_t *ids;
		size_t n;
	} *v;
	size_t n, cap;
};

static void sel_cache_free(struct sel_cache *sc)
{
	for (size_t i = 0; sc && i < sc->cap; i++) {
		free(sc->v[i].key);
		free(sc->v[i].ids);
	}
	if (sc)
		free(sc->v);
}

static int sel_text(const struct sl_selector *sel, struct strbuf *b)
{
	int r = 0;

	for (uint32_t i = 0; r >= 0 && i < sel->n_match_labels; i++)
		r = strbuf_addf(b, "L%s%c%s%c", sel->match_labels[i].key, 0, sel->match_labels[i].value, 0);
	for (uint32_t i = 0; r >= 0 && i < sel->n_exprs; i++) {
		const struct sl_expr *e = &sel->exprs[i];

		/* the count of values first: a value may be empty */
		r = strbuf_addf(b, "E%d,%u,%s%c", e->op, e->n_values, e->key, 0);
		for (uint32_t j = 0; r >= 0 && j < e->n_values; j++)
			r = strbuf_addf(b, "%s%c", e->values[j], 0);
	}
	return r;
}

static struct sel_entry *sel_slot(struct sel_cache *sc, const char *key, size_t klen, uint64_t h)
{
	for (size_t i = h & (sc->cap - 1);; i = (i + 1) & (sc->cap - 1)) {
		struct sel_entry *e = &sc->v[i];

		if (!e->key || (e->hash == h && e->klen == klen && !memcmp(e->key, key, klen)))
			return e;
	}
}

static int sel_cache_grow(struct sel_cache *sc)
{
	struct sel_cache bigger = { .cap = sc->cap ? sc->cap * 2 : 64 };

	bigger.v = calloc(bigger.cap, sizeof(*bigger.v));
	if (!bigger.v)
		return -ENOMEM;
	for (size_t i = 0; i < sc->cap; i++)
		if (sc->v[i].key)
			*sel_slot(&bigger, sc->v[i].key, sc->v[i].klen, sc->v[i].hash) = sc->v[i];
	bigger.n = sc->n;
	free(sc->v);
	*sc = bigger;
	return 0;
}

/* The identities of the endpoints a selector matches (user identities). */
static int selector_ids(const struct policies_compile *c, const struct sl_selector *sel, struct ids *out)
{
	struct sel_cache *sc = c->sel_cache;
	struct strbuf b = {};
	struct sel_entry *e;
	struct ids found = {};
	uint64_t h;
	int r = sel_text(sel, &b);

	if (r < 0 || (2 * (sc->n + 1) > sc->cap && (r = sel_cache_grow(sc)) < 0)) {
		strbuf_free(&b);
		return r < 0 ? r : -ENOMEM;
	}
	h = fnv1a64(FNV1A64_INIT, b.s ? b.s : "", b.len);
	e = sel_slot(sc, b.s ? b.s : "", b.len, h);
	if (!e->key) {
		for (uint32_t i = 0; r >= 0 && i < c->st->n_identities; i++) {
			const struct sl_identity *id = &c->st->identities[i];

			if (sl_selector_matches(sel, id->labels, id->n_labels))
				r = ids_add(&found, id->id);
		}
		if (r < 0) {
			free(found.v);
			strbuf_free(&b);
			return r;
		}
		e->key = b.s ? b.s : strdup("");
		b.s = NULL;
		if (!e->key) {
			free(found.v);
			return -ENOMEM;
		}
		e->klen = b.len;
		e->hash = h;
		e->ids = found.v;
		e->n = found.n;
		sc->n++;
	}
	strbuf_free(&b);
	for (size_t i = 0; r >= 0 && i < e->n; i++)
		r = ids_add(out, e->ids[i]);
	return r;
}

static int entity_ids(const struct policies_compile *c, int entity, struct ids *out)
{
	int r = 0;

	switch (entity) {
	case SL_ENTITY_HOST:
		return ids_add(out, SL_ID_HOST);
	case SL_ENTITY_WORLD:
		/* Outside the cluster: the world identity, and the CIDR
		 * identities, which are parts of the world. */
		r = ids_add(out, SL_ID_WORLD);
		for (size_t i = 0; r >= 0 && i < c->n_cidrs; i++)
			r = ids_add(out, c->cidrs[i].id);
		return r;
	case SL_ENTITY_REMOTE_NODE:
		return ids_add(out, SL_ID_REMOTE_NODE);
	case SL_ENTITY_CLUSTER: {
		static const uint32_t reserved[] = { SL_ID_HOST, SL_ID_HEALTH, SL_ID_INIT, SL_ID_REMOTE_NODE };

		for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(reserved); i++)
			r = ids_add(out, reserved[i]);
		for (uint32_t i = 0; r >= 0 && i < c->st->n_identities; i++)
			r = ids_add(out, c->st->identities[i].id);
		return r;
	}
	case SL_ENTITY_ALL:
		out->any = true;
		return 0;
	default:
		return 0;
	}
}

static int cidr_ids(const struct policies_compile *c, const struct sl_prefix *p, struct ids *out)
{
	const struct policy_cidr *ci = p->family ? cidr_find(c, p) : NULL;

	return ci ? ids_add(out, ci->id) : 0;
}

/* The peers a rule names; *none when it names no peer field at all. */
static int rule_peers(const struct policies_compile *c, const struct sl_rule *r, struct ids *out, bool *no_peer_field)
{
	int ret = 0;

	*no_peer_field = !SL_GIVEN(r, SL_RULE_ENDPOINTS) && !SL_GIVEN(r, SL_RULE_CIDR) &&
			 !SL_GIVEN(r, SL_RULE_CIDR_SET) && !SL_GIVEN(r, SL_RULE_ENTITIES);
	for (uint32_t i = 0; ret >= 0 && i < r->n_endpoints; i++)
		ret = selector_ids(c, &r->endpoints[i], out);
	for (uint32_t i = 0; ret >= 0 && r->cidrs_pfx && i < r->n_cidrs; i++)
		ret = cidr_ids(c, &r->cidrs_pfx[i], out);
	for (uint32_t i = 0; ret >= 0 && i < r->n_cidr_sets; i++)
		ret = cidr_ids(c, &r->cidr_sets[i].cidr_pfx, out);
	for (uint32_t i = 0; ret >= 0 && i < r->n_entities; i++)
		ret = entity_ids(c, r->entities[i], out);
	return ret;
}

/* ---- policy entries ---- */

static int pe_add(struct policies_compile *c, uint16_t ep_id, uint8_t dir, uint32_t id, uint8_t proto, uint16_t port,
		  bool deny, uint16_t proxy)
{
	struct pentry *e;

	if (grow_array((void **)&c->pe, &c->cap_pe, c->n_pe + 1, sizeof(*c->pe)) < 0)
		return -ENOMEM;
	e = &c->pe[c->n_pe++];
	memset(e, 0, sizeof(*e));
	e->k.ep_id = ep_id;
	e->k.dir = dir;
	e->k.identity = id;
	e->k.proto = proto;
	e->k.dport = htons(port);
	e->v.flags = deny ? SL_POLICY_DENY : 0;
	/* Only TCP goes to a proxy: an entry of another protocol allows
	 * without it (validate warns about ANY; UDP and SCTP are refused). */
	e->v.proxy_port = deny || (proto != SL_PROTO_TCP && proto != SL_PROTO_ANY) ? 0 : proxy;
	return 0;
}

/*
 * The entries of one port of a rule: one per port of its range (the map is
 * a hash: a range has no key of its own), and per protocol for ANY with a
 * port. A range over every port, 1..65535, is port 0: one entry.
 */
static int port_entries(struct policies_compile *c, uint16_t ep_id, uint8_t dir, uint32_t id,
			const struct sl_port *port, bool deny, uint16_t proxy)
{
	/* ANY with a port: one entry per protocol that has ports */
	static const uint8_t any[] = { SL_PROTO_TCP, SL_PROTO_UDP, SL_PROTO_SCTP };
	uint8_t one = (uint8_t)port->protocol;
	const uint8_t *protos = port->protocol == SL_PROTO_ANY ? any : &one;
	size_t n_protos = port->protocol == SL_PROTO_ANY ? ARRAY_SIZE(any) : 1;
	uint32_t lo = port->port, hi = port->end_port > lo ? port->end_port : lo;
	int ret = 0;

	if (lo <= 1 && hi == 65535)
		lo = hi = 0;
	if (!lo) /* every port: of the protocol, or of every protocol for ANY */
		return pe_add(c, ep_id, dir, id, one, 0, deny, proxy);
	for (uint32_t pn = lo; ret >= 0 && pn <= hi; pn++)
		for (size_t k = 0; ret >= 0 && k < n_protos; k++)
			ret = pe_add(c, ep_id, dir, id, protos[k], (uint16_t)pn, deny, proxy);
	return ret;
}

/* The memo's slot of r: r's resolved peers, resolved now if they were not. */
static const struct rule_memo *rule_memo_get(struct policies_compile *c, const struct sl_rule *r)
{
	size_t h = ((uintptr_t)r >> 3) * 0x9E3779B97F4A7C15ull;
	struct rule_memo *m;

	for (size_t i = 0;; i++) {
		m = &c->memo[(h + i) & (c->cap_memo - 1)];
		if (m->r == r)
			return m;
		if (!m->r)
			break;
	}
	m->r = r;
	m->ret = rule_peers(c, r, &m->peers, &m->no_peer_field);
	ids_finish(&m->peers);
	return m;
}

/* Entries of one rule for one endpoint. */
static int rule_entries(struct policies_compile *c, uint16_t ep_id, uint8_t dir, const struct sl_rule *r, bool deny)
{
	const struct rule_memo *m = rule_memo_get(c, r);
	struct ids peers = m->peers;
	bool no_peer_field = m->no_peer_field;
	int ret = m->ret;
	/* its L4 part: toPorts, icmps, their union when it has both */
	bool l4 = r->n_to_ports || r->n_icmps;

	/* L4 without a peer field: every peer on those ports and types. An
	 * empty rule {}: nothing (it only turns enforcement on). */
	if (ret >= 0 && no_peer_field) {
		if (!l4)
			goto out;
		peers.any = true;
	}
	for (size_t pi = 0; ret >= 0 && pi < peers.n + (peers.any ? 1 : 0); pi++) {
		uint32_t id = pi < peers.n ? peers.v[pi] : 0;

		if (!l4) {
			ret = pe_add(c, ep_id, dir, id, 0, 0, deny, 0);
			continue;
		}
		for (uint32_t t = 0; ret >= 0 && t < r->n_to_ports; t++) {
			const struct sl_port_rule *pr = &r->to_ports[t];

			for (uint32_t q = 0; ret >= 0 && q < pr->n_ports; q++)
				ret = port_entries(c, ep_id, dir, id, &pr->ports[q], deny, (uint16_t)pr->proxy_port);
		}
		for (uint32_t t = 0; ret >= 0 && t < r->n_icmps; t++) {
			const struct sl_icmp_rule *ir = &r->icmps[t];

			for (uint32_t q = 0; ret >= 0 && q < ir->n_fields; q++) {
				const struct sl_icmp_field *f = &ir->fields[q];

				if (f->type_num >= 0) /* -1: validation refused it */
					ret = pe_add(c, ep_id, dir, id,
						     f->family == SL_ICMP_IPV6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP,
						     sl_policy_icmp_port((uint8_t)f->type_num), deny, 0);
			}
		}
	}
out:
	return ret; /* peers.v is the memo's */
}

static int pe_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct pentry *)a)->k, &((const struct pentry *)b)->k, sizeof(struct sl_policy_key));
}

/* ---- compile: an endpoint's entries ---- */

static const struct sl_identity *identity_by_id(const struct sl_state *st, uint32_t id)
{
	for (uint32_t i = 0; i < st->n_identities; i++)
		if (st->identities[i].id == id)
			return &st->identities[i];
	return NULL;
}

static bool selects(const struct sl_policy *p, const struct sl_identity *id)
{
	return p->selector && id && sl_selector_matches(p->selector, id->labels, id->n_labels);
}

static int selects_prepare(struct policies_compile *c)
{
	const struct sl_state *st = c->st;

	c->sel_row = (st->n_identities + 7) / 8;
	if (!st->n_policies || !c->sel_row)
		return 0;
	c->sel_bits = calloc(st->n_policies, c->sel_row);
	if (!c->sel_bits)
		return -ENOMEM;
	for (uint32_t p = 0; p < st->n_policies; p++)
		for (uint32_t i = 0; i < st->n_identities; i++)
			if (selects(&st->policies[p], &st->identities[i]))
				c->sel_bits[p * c->sel_row + i / 8] |= (uint8_t)(1u << (i % 8));
	return 0;
}

/* selects(), as selects_prepare resolved it. */
static bool policy_selects(const struct policies_compile *c, uint32_t p, const struct sl_identity *id)
{
	size_t i;

	if (!id || !c->sel_bits)
		return false;
	i = (size_t)(id - c->st->identities);
	return c->sel_bits[p * c->sel_row + i / 8] & (1u << (i % 8));
}

int policies_compile_endpoint(struct policies_compile *c, uint32_t identity, uint16_t ep_id,
			      struct sl_endpoint_value *v)
{
	const struct sl_state *st = c->st;
	const struct sl_identity *id = identity_by_id(st, identity);
	int mode = st->datapath->policy_enforcement;
	size_t first = c->n_pe;
	size_t id_index = id ? (size_t)(id - st->identities) : 0;
	int r = 0;

	/* Counting only (validate's capacity check): another endpoint of the
	 * same identity has the same number of entries. The endpoint's value
	 * is not needed then, and is left without its flags. */
	if (c->count_only && id && c->count_by_id && c->count_by_id[id_index] != SIZE_MAX) {
		c->n_policy_counted += c->count_by_id[id_index];
		return 0;
	}
	for (uint32_t i = 0; r >= 0 && mode != SL_ENFORCE_NEVER && i < st->n_policies; i++) {
		const struct sl_policy *p = &st->policies[i];

		if (!policy_selects(c, i, id))
			continue;
		if (SL_HAS(p, SL_POLICY_INGRESS))
			v->flags |= SL_EP_ENFORCE_INGRESS;
		if (SL_HAS(p, SL_POLICY_EGRESS))
			v->flags |= SL_EP_ENFORCE_EGRESS;
		for (int d = 0; r >= 0 && d < SL_DIRECTION__MAX; d++) {
			uint8_t dir = d == SL_INGRESS || d == SL_INGRESS_DENY ? SL_DIR_INGRESS : SL_DIR_EGRESS;
			bool deny = d == SL_INGRESS_DENY || d == SL_EGRESS_DENY;

			for (uint32_t j = 0; r >= 0 && j < p->rules[d].n; j++)
				r = rule_entries(c, ep_id, dir, &p->rules[d].v[j], deny);
		}
	}
	if (r < 0)
		return r;
	if (mode == SL_ENFORCE_ALWAYS)
		v->flags = SL_EP_ENFORCE_INGRESS | SL_EP_ENFORCE_EGRESS;
	/* allowLocalhost: always: the node reaches the endpoint, as if its
	 * ingress had fromEntities: [host] (merged below: a deny naming host
	 * on the same key still wins, and deny entries win at any level) */
	if ((v->flags & SL_EP_ENFORCE_INGRESS) && st->datapath->allow_localhost == SL_LOCALHOST_ALWAYS)
		r = pe_add(c, ep_id, SL_DIR_INGRESS, SL_ID_HOST, 0, 0, false, 0);
	if (r < 0)
		return r;
	/* Merge this endpoint's entries: deny beats allow on the same key;
	 * among allows, the lowest proxy port (a stable choice). */
	if (c->n_pe - first > 1) /* else c->pe may be NULL: NULL + 0 is undefined */
		qsort(c->pe + first, c->n_pe - first, sizeof(*c->pe), pe_cmp);
	{
		size_t w = first;

		for (size_t i = first; i < c->n_pe; i++) {
			struct pentry *e = &c->pe[i];

			if (w > first && !memcmp(&c->pe[w - 1].k, &e->k, sizeof(e->k))) {
				struct sl_policy_value *m = &c->pe[w - 1].v;

				if (e->v.flags & SL_POLICY_DENY) {
					m->flags |= SL_POLICY_DENY;
					m->proxy_port = 0;
				} else if (!(m->flags & SL_POLICY_DENY) && e->v.proxy_port &&
					   (!m->proxy_port || e->v.proxy_port < m->proxy_port)) {
					m->proxy_port = e->v.proxy_port;
				}
				continue;
			}
			c->pe[w++] = *e;
		}
		c->n_pe = w;
	}
	v->policy_levels[SL_DIR_INGRESS] = SL_POLICY_LEVELS_KNOWN;
	v->policy_levels[SL_DIR_EGRESS] = SL_POLICY_LEVELS_KNOWN;
	for (size_t i = first; i < c->n_pe; i++) {
		const struct sl_policy_key *k = &c->pe[i].k;

		v->policy_levels[k->dir] |= (uint8_t)SL_POLICY_LEVEL(sl_policy_key_level(k->identity, k->proto, k->dport));
	}
	if (c->count_only) {
		c->n_policy_counted += c->n_pe - first;
		if (id && c->count_by_id)
			c->count_by_id[id_index] = c->n_pe - first;
		c->n_pe = first;
	}
	return 0;
}

int policies_compile_new(const struct sl_state *st, const struct sl_prefix *prev_cidrs, const uint32_t *prev_cidr_ids,
			 size_t n_prev_cidrs, bool count_only, struct policies_compile **ret)
{
	struct policies_compile *c = calloc(1, sizeof(*c));
	size_t rules = 0;
	int r;

	*ret = c;
	if (!c)
		return -ENOMEM;
	*c = (struct policies_compile){ .st = st, .prev_cidrs = prev_cidrs, .prev_cidr_ids = prev_cidr_ids,
					.n_prev_cidrs = n_prev_cidrs, .count_only = count_only };
	c->sel_cache = calloc(1, sizeof(*c->sel_cache));
	if (!c->sel_cache)
		return -ENOMEM;
	r = assign_cidr_identities(c);
	if (r < 0)
		return r;
	for (uint32_t i = 0; i < st->n_policies; i++)
		for (int d = 0; d < SL_DIRECTION__MAX; d++)
			rules += st->policies[i].rules[d].n;
	c->cap_memo = 16;
	while (c->cap_memo < 2 * rules)
		c->cap_memo *= 2;
	c->memo = calloc(c->cap_memo, sizeof(*c->memo));
	if (!c->memo)
		return -ENOMEM;
	if (st->datapath->policy_enforcement != SL_ENFORCE_NEVER)
		r = selects_prepare(c);
	if (r >= 0 && count_only && st->n_identities) {
		c->count_by_id = malloc(st->n_identities * sizeof(*c->count_by_id));
		if (!c->count_by_id)
			return -ENOMEM;
		for (uint32_t i = 0; i < st->n_identities; i++)
			c->count_by_id[i] = SIZE_MAX;
	}
	return r;
}

const struct policy_cidr *policies_compile_cidrs(const struct policies_compile *c, size_t *ret_n)
{
	*ret_n = c->n_cidrs;
	return c->cidrs;
}

int policies_compile_finish(struct policies_compile *c, struct sl_objset *out)
{
	int r = objset_reserve(out, c->n_pe, c->n_pe * (sizeof(struct sl_policy_key) + sizeof(struct sl_policy_value)));

	for (size_t i = 0; r >= 0 && i < c->n_pe; i++)
		r = objset_add(out, SL_OBJ_POLICY, &c->pe[i].k, sizeof(c->pe[i].k), &c->pe[i].v, sizeof(c->pe[i].v));
	return r;
}

size_t policies_compile_counted(const struct policies_compile *c)
{
	return c ? c->n_policy_counted : 0;
}

void policies_compile_free(struct policies_compile *c)
{
	if (!c)
		return;
	free(c->cidrs);
	free(c->pe);
	for (size_t i = 0; c->memo && i < c->cap_memo; i++)
		free(c->memo[i].peers.v);
	free(c->memo);
	free(c->sel_bits);
	free(c->count_by_id);
	sel_cache_free(c->sel_cache);
	free(c->sel_cache);
	free(c);
}

static bool rules_use_proxy(const struct sl_rule *r, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t t = 0; t < r[i].n_to_ports; t++)
			if (r[i].to_ports[t].proxy_port)
				return true;
	return false;
}

bool policies_use_proxy(const struct sl_state *st)
{
	for (uint32_t i = 0; i < st->n_policies; i++) {
		const struct sl_policy *p = &st->policies[i];

		for (int d = SL_INGRESS; d <= SL_EGRESS; d++) /* allow rules: validate refuses it in deny rules */
			if (rules_use_proxy(p->rules[d].v, p->rules[d].n))
				return true;
	}
	return false;
}

void policies_each_prefix(const struct sl_state *st, void (*fn)(const struct sl_prefix *p, void *ctx), void *ctx)
{
	for (uint32_t i = 0; i < st->n_policies; i++)
		for (int d = 0; d < SL_DIRECTION__MAX; d++)
			for (uint32_t j = 0; j < st->policies[i].rules[d].n; j++) {
				const struct sl_rule *r = &st->policies[i].rules[d].v[j];

				for (uint32_t q = 0; r->cidrs_pfx && q < r->n_cidrs; q++)
					fn(&r->cidrs_pfx[q], ctx);
				for (uint32_t q = 0; q < r->n_cidr_sets; q++) {
					const struct sl_cidr_set *cs = &r->cidr_sets[q];

					fn(&cs->cidr_pfx, ctx);
					for (uint32_t x = 0; cs->except_pfx && x < cs->n_except; x++)
						fn(&cs->except_pfx[x], ctx);
				}
			}
}
