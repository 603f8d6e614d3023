/* SPDX-License-Identifier: Apache-2.0 */
/* The policies section: selectors, rules, peers and ports. */
#include "features.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

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

			v_check_range(v, file, SL_AT(&pr->ports[j], SL_PORT_PORT), "port", pr->ports[j].port, 0, 65535,
				    "a port");
			v_pop(v, s2);
		}
		if (SL_HAS(pr, SL_PORTRULE_PROXY_PORT)) {
			if (deny)
				v_err(v, file, SL_AT(pr, SL_PORTRULE_PROXY_PORT), "proxyPort",
				  "a deny rule cannot redirect to a proxy");
			else if (v_check_range(v, file, SL_AT(pr, SL_PORTRULE_PROXY_PORT), "proxyPort", pr->proxy_port, 1,
					     65535, "a port"))
				v_warn(v, file, SL_AT(pr, SL_PORTRULE_PROXY_PORT), "proxyPort",
				  "proxyPort " NOT_YET ": the connections are allowed and marked, not redirected to a "
				  "proxy, so they reach their destination as if the rule had no proxyPort");
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
