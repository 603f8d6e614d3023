/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kubernetes and Cilium policy documents made into sluice policies (k8s.h).
 *
 * Each keeps its own meaning, as Cilium gives it:
 *  - a namespaced policy (NetworkPolicy, CiliumNetworkPolicy) selects only
 *    endpoints labelled io.kubernetes.pod.namespace=its namespace, and so do
 *    its peer selectors, unless they name the namespace themselves
 *    (CiliumNetworkPolicy) or select namespaces (a NetworkPolicy's
 *    namespaceSelector, matched against the namespace labels endpoints
 *    carry as io.cilium.k8s.namespace.labels.KEY);
 *  - a NetworkPolicy's rule without peers admits every peer, its ports
 *    default to TCP, and policyTypes (or, without it, which sections it
 *    has) says which directions it enforces;
 *  - a Cilium rule's empty `ingress: []` enforces nothing (`[{}]` turns
 *    default-deny on), unlike sluice's own `ingress: []`.
 * What a document asks for and sluice cannot carry out is an error that
 * names it (the loader refuses Cilium's keys sluice lacks by name).
 */
#include "k8s.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "schema.h"

bool sl_k8s_first_key(const char *key)
{
	return streq(key, "apiVersion") || streq(key, "kind") || streq(key, "metadata");
}

static const struct {
	const char *kind, *api;
	enum sl_k8s_kind id;
} kinds[] = {
	{ "NetworkPolicy", "networking.k8s.io/v1", SL_K8S_NP },
	{ "CiliumNetworkPolicy", "cilium.io/v2", SL_K8S_CNP },
	{ "CiliumClusterwideNetworkPolicy", "cilium.io/v2", SL_K8S_CCNP },
	{ "List", "v1", SL_K8S_LIST },
	{ "NetworkPolicyList", "networking.k8s.io/v1", SL_K8S_LIST },
	{ "CiliumNetworkPolicyList", "cilium.io/v2", SL_K8S_LIST },
	{ "CiliumClusterwideNetworkPolicyList", "cilium.io/v2", SL_K8S_LIST },
};

enum sl_k8s_kind sl_k8s_kind_of(const char *kind)
{
	for (size_t i = 0; kind && i < ARRAY_SIZE(kinds); i++)
		if (streq(kinds[i].kind, kind))
			return kinds[i].id;
	return SL_K8S_UNKNOWN;
}

const char *sl_k8s_strip(const char *key)
{
	return strncmp(key, "k8s:", 4) == 0 ? key + 4 : key;
}

/* Cilium's policy keys that sluice does not carry out, and why; parent, when
 * set, is where the key means that. */
static const struct {
	const char *key, *parent, *why;
} refused[] = {
	{ "toFQDNs", NULL,
	  "rules by DNS name need a DNS proxy, which sluice does not have; name the addresses with toCIDR or "
	  "toCIDRSet" },
	{ "rules", "toPorts",
	  "L7 rules (HTTP, Kafka, DNS) are not enforced by sluice; to hand the port's connections to a proxy of "
	  "your own, give the port rule proxyPort" },
	{ "serverNames", "toPorts", "TLS server names need an L7 proxy, which sluice does not have" },
	{ "terminatingTLS", "toPorts", "TLS termination needs an L7 proxy, which sluice does not have" },
	{ "originatingTLS", "toPorts", "TLS origination needs an L7 proxy, which sluice does not have" },
	{ "listener", "toPorts", "Envoy listeners are Cilium's; to hand connections to a proxy, use proxyPort" },
	{ "fromRequires", NULL, "write the required labels into each fromEndpoints selector instead" },
	{ "toRequires", NULL, "write the required labels into each toEndpoints selector instead" },
	{ "toServices", NULL,
	  "rules by Kubernetes service need the service's endpoints, which sluice does not watch; name the "
	  "backends with toEndpoints or toCIDR" },
	{ "toGroups", NULL, "cloud provider groups are unknown to sluice; name the addresses with toCIDR" },
	{ "fromGroups", NULL, "cloud provider groups are unknown to sluice; name the addresses with fromCIDR" },
	{ "fromNodes", NULL, "nodes have no labels in sluice; use fromEntities: [remote-node] or fromCIDR" },
	{ "toNodes", NULL, "nodes have no labels in sluice; use toEntities: [remote-node] or toCIDR" },
	{ "nodeSelector", NULL,
	  "host policies (the node's own firewall) are not carried out by sluice; select endpoints with "
	  "endpointSelector" },
	{ "enableDefaultDeny", NULL,
	  "in sluice a policy with an ingress or egress section always turns default-deny on for it" },
	{ "authentication", NULL, "mutual authentication needs Cilium's agent and SPIRE" },
};

const char *sl_k8s_refused_key(const char *key, const char *parent)
{
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++)
		if (streq(refused[i].key, key) && (!refused[i].parent || (parent && streq(refused[i].parent, parent))))
			return refused[i].why;
	return NULL;
}

void sl_k8s_obj_free(struct sl_k8s_obj *o)
{
	if (o->meta) {
		sl_schema_free_mapping(&sl_schema_k8s_meta, o->meta);
		free(o->meta);
	}
	if (o->np) {
		sl_schema_free_mapping(&sl_schema_np_spec, o->np);
		free(o->np);
	}
	if (o->spec) {
		sl_schema_free_mapping(&sl_schema_cnp_spec, o->spec);
		free(o->spec);
	}
	sl_schema_free_mapping(&sl_schema_cnp_specs, &o->specs);
	*o = (struct sl_k8s_obj){};
}

/* ---- the conversion ---- */

struct conv {
	struct diag_list *diags;
	struct arena *arena;
	struct sl_k8s_obj *o;
	struct sl_doc *doc;
	char *ns; /* NULL: cluster-wide */
	struct sl_mark ns_m;
	const char *name;
	/* SL_K8S_NS_LABEL in the arena: every string of a state is the
	 * load's (watch's cache copies and wipes them). */
	char *ns_key;
	bool oom;
};

static void err(struct conv *c, enum diag_severity sev, const struct sl_mark *at, const char *path, const char *fmt,
		...) _printf_(5, 6);
static void err(struct conv *c, enum diag_severity sev, const struct sl_mark *at, const char *path, const char *fmt,
		...)
{
	struct strbuf p = {};
	va_list ap;

	strbuf_addf(&p, "%s%s%s", c->o->path, *c->o->path && *path ? "." : "", path);
	va_start(ap, fmt);
	diag_vadd(c->diags, sev, c->o->file, at ? at->line : c->o->at.line, at ? at->col : c->o->at.col,
		  strbuf_str(&p), fmt, ap);
	va_end(ap);
	strbuf_free(&p);
}

static char *astr(struct conv *c, const char *fmt, ...) _printf_(2, 3);
static char *astr(struct conv *c, const char *fmt, ...)
{
	_cleanup_free_ char *s = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	return arena_strndup(c->arena, s, (size_t)n);
}

static int sel_add_label(struct sl_selector *s, char *key, char *value, struct sl_mark at)
{
	struct sl_label *v = realloc(s->match_labels, (s->n_match_labels + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	s->match_labels = v;
	v[s->n_match_labels++] = (struct sl_label){ .m = { at, at, at }, .key = key, .value = value };
	if (!SL_HAS(s, SL_SEL_MATCH_LABELS))
		*SL_AT(s, SL_SEL_MATCH_LABELS) = at;
	return 0;
}

/* Append e (its values taken) to s, its key k. */
static int sel_add_expr(struct sl_selector *s, struct sl_expr *e, char *k)
{
	struct sl_expr *v = realloc(s->exprs, (s->n_exprs + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	s->exprs = v;
	v[s->n_exprs] = *e;
	v[s->n_exprs].key = k;
	s->n_exprs++;
	e->values = NULL;
	e->n_values = 0;
	e->values_m = NULL;
	if (!SL_HAS(s, SL_SEL_MATCH_EXPRESSIONS))
		*SL_AT(s, SL_SEL_MATCH_EXPRESSIONS) = e->m[0];
	return 0;
}

static bool sel_names_namespace(const struct sl_selector *s)
{
	for (uint32_t i = 0; i < s->n_match_labels; i++)
		if (streq(s->match_labels[i].key, SL_K8S_NS_LABEL))
			return true;
	for (uint32_t i = 0; i < s->n_exprs; i++)
		if (s->exprs[i].key && streq(s->exprs[i].key, SL_K8S_NS_LABEL))
			return true;
	return false;
}

/* Restrict s to the policy's namespace. */
static int sel_in_namespace(struct conv *c, struct sl_selector *s)
{
	return sel_add_label(s, c->ns_key, c->ns, s->m[0]);
}

static void free_selector(struct sl_selector *s)
{
	if (!s)
		return;
	for (uint32_t i = 0; i < s->n_exprs; i++) {
		free(s->exprs[i].values);
		free(s->exprs[i].values_m);
	}
	free(s->exprs);
	free(s->match_labels);
	free(s);
}

/* A Kubernetes name: a DNS subdomain (metadata.name) or label (namespace). */
static bool dns_name(const char *s, size_t max, bool dots)
{
	size_t len = strlen(s);

	if (!len || len > max || s[0] == '-' || s[0] == '.' || s[len - 1] == '-' || s[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		      (dots && s[i] == '.')))
			return false;
	return true;
}

/* The object's apiVersion, kind, name and namespace; false when it cannot
 * become a policy (reported). */
static bool check_object(struct conv *c)
{
	struct sl_k8s_obj *o = c->o;
	bool ok = true;

	if (!o->api_version) {
		err(c, DIAG_ERROR, &o->at, "", "missing required key 'apiVersion'");
		ok = false;
	}
	if (!o->kind) {
		err(c, DIAG_ERROR, &o->at, "", "missing required key 'kind'");
		return false;
	}
	if (o->kind_id == SL_K8S_UNKNOWN) {
		err(c, DIAG_ERROR, &o->kind_m, "kind",
		    "%s is not read by sluice: a state holds sluice documents (version: 1), NetworkPolicy "
		    "(networking.k8s.io/v1), CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy (cilium.io/v2), "
		    "and Lists of them",
		    diag_q(o->kind));
		return false;
	}
	for (size_t i = 0; o->api_version && i < ARRAY_SIZE(kinds); i++)
		if (streq(kinds[i].kind, o->kind) && !streq(kinds[i].api, o->api_version)) {
			err(c, DIAG_ERROR, &o->api_m, "apiVersion", "a %s is read as %s, not %s", o->kind, kinds[i].api,
			    diag_q(o->api_version));
			ok = false;
		}
	if (o->kind_id == SL_K8S_LIST)
		return ok;
	if (!o->meta || !o->meta->name) {
		err(c, DIAG_ERROR, o->meta ? &o->meta->m[0] : &o->at, o->meta ? "metadata" : "",
		    "missing required key '%s'", o->meta ? "name" : "metadata");
		return false;
	}
	if (!dns_name(o->meta->name, 253, true)) {
		err(c, DIAG_ERROR, SL_AT(o->meta, SL_K8SMETA_NAME), "metadata.name",
		    "%s is not a Kubernetes name (lowercase letters, digits, '-' and '.', at most 253)",
		    diag_q(o->meta->name));
		ok = false;
	}
	if (o->kind_id == SL_K8S_CCNP) {
		if (o->meta->namespace) {
			err(c, DIAG_ERROR, SL_AT(o->meta, SL_K8SMETA_NAMESPACE), "metadata.namespace",
			    "a CiliumClusterwideNetworkPolicy has no namespace: it selects endpoints of every namespace");
			ok = false;
		}
		return ok;
	}
	/* As kubectl applies a document without one: the namespace "default". */
	c->ns = o->meta->namespace ? o->meta->namespace : arena_strndup(c->arena, "default", 7);
	if (!c->ns) {
		c->oom = true;
		return false;
	}
	c->ns_m = o->meta->namespace ? *SL_AT(o->meta, SL_K8SMETA_NAMESPACE) : o->meta->m[0];
	if (!dns_name(c->ns, 63, false)) {
		err(c, DIAG_ERROR, &c->ns_m, "metadata.namespace",
		    "%s is not a Kubernetes namespace (lowercase letters, digits and '-', at most 63)", diag_q(c->ns));
		ok = false;
	}
	return ok;
}

static int add_policy(struct conv *c, struct sl_policy *p)
{
	struct sl_policy *v = realloc(c->doc->policies, (c->doc->n_policies + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	c->doc->policies = v;
	v[c->doc->n_policies++] = *p;
	*SL_AT(c->doc, SL_DOC_POLICIES) = c->o->at;
	return 0;
}

/* Free what a policy made here holds (its name is the arena's): a Cilium
 * rule has the same selector and rules. */
static void free_policy(struct sl_policy *p)
{
	struct sl_cnp_spec tmp = { .selector = p->selector };

	for (int d = 0; d < SL_DIRECTION__MAX; d++) {
		tmp.rules[d].v = p->rules[d].v;
		tmp.rules[d].n = p->rules[d].n;
		p->rules[d].v = NULL;
		p->rules[d].n = 0;
	}
	p->selector = NULL;
	sl_schema_free_mapping(&sl_schema_cnp_spec, &tmp);
}

/* ---- NetworkPolicy ---- */

static int np_port(struct conv *c, struct sl_np_port *in, struct sl_port *out, const char *path)
{
	out->m[0] = in->m[0];
	out->protocol = SL_HAS(in, SL_NPPORT_PROTOCOL) ? in->protocol : SL_PROTO_TCP;
	*SL_AT(out, SL_PORT_PROTOCOL) = SL_HAS(in, SL_NPPORT_PROTOCOL) ? *SL_AT(in, SL_NPPORT_PROTOCOL) : in->m[0];
	if (in->port) {
		const char *s = in->port;
		uint64_t n = 0;
		bool digits = *s;

		for (; *s && digits; s++) {
			digits = *s >= '0' && *s <= '9';
			n = n * 10 + (uint64_t)(*s - '0');
			if (n > 65535)
				break;
		}
		if (!digits) {
			err(c, DIAG_ERROR, SL_AT(in, SL_NPPORT_PORT), path,
			    "%s is a named port; named ports are not supported (sluice's endpoints declare no ports "
			    "by name): write the number",
			    diag_q(in->port));
			return 0;
		}
		if (*s || n == 0) {
			err(c, DIAG_ERROR, SL_AT(in, SL_NPPORT_PORT), path, "%s is not a port (1..65535)", in->port);
			return 0;
		}
		out->port = (uint32_t)n;
		*SL_AT(out, SL_PORT_PORT) = *SL_AT(in, SL_NPPORT_PORT);
	}
	if (SL_HAS(in, SL_NPPORT_END_PORT)) {
		if (!in->port) {
			err(c, DIAG_ERROR, SL_AT(in, SL_NPPORT_END_PORT), path,
			    "endPort needs port: the range is port..endPort");
			return 0;
		}
		out->end_port = in->end_port;
		*SL_AT(out, SL_PORT_END_PORT) = *SL_AT(in, SL_NPPORT_END_PORT);
	}
	return 0;
}

static int np_peer(struct conv *c, struct sl_np_peer *pe, struct sl_rule *r, const char *path)
{
	struct sl_selector *s;
	int ret;

	if (pe->ip_block) {
		struct sl_cidr_set *v;

		if (pe->pod || pe->ns) {
			err(c, DIAG_ERROR, &pe->m[0], path,
			    "ipBlock cannot be given with podSelector or namespaceSelector in one peer (as in Kubernetes)");
			return 0;
		}
		v = realloc(r->cidr_sets, (r->n_cidr_sets + 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		r->cidr_sets = v;
		v[r->n_cidr_sets] = (struct sl_cidr_set){ .cidr = pe->ip_block->cidr,
							   .except = pe->ip_block->except,
							   .n_except = pe->ip_block->n_except,
							   .except_m = pe->ip_block->except_m };
		v[r->n_cidr_sets].m[0] = pe->ip_block->m[0];
		*SL_AT(&v[r->n_cidr_sets], SL_CIDRSET_CIDR) = *SL_AT(pe->ip_block, SL_IPBLOCK_CIDR);
		*SL_AT(&v[r->n_cidr_sets], SL_CIDRSET_EXCEPT) = *SL_AT(pe->ip_block, SL_IPBLOCK_EXCEPT);
		r->n_cidr_sets++;
		if (!SL_HAS(r, SL_RULE_CIDR_SET))
			*SL_AT(r, SL_RULE_CIDR_SET) = pe->m[0];
		pe->ip_block->except = NULL;
		pe->ip_block->except_m = NULL;
		pe->ip_block->n_except = 0;
		return 0;
	}
	if (!pe->pod && !pe->ns) {
		err(c, DIAG_ERROR, &pe->m[0], path, "a peer needs podSelector, namespaceSelector or ipBlock");
		return 0;
	}
	/* The pods the peer's podSelector selects, in the policy's namespace
	 * or in those its namespaceSelector selects. */
	s = pe->pod;
	pe->pod = NULL;
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return -ENOMEM;
		s->m[0] = pe->m[0];
	}
	if (!pe->ns) {
		ret = sel_in_namespace(c, s);
	} else {
		struct sl_selector *ns = pe->ns;
		struct sl_expr exists = { .op = SL_OP_EXISTS };

		ret = 0;
		for (uint32_t i = 0; ret >= 0 && i < ns->n_match_labels; i++) {
			char *k = astr(c, SL_K8S_NS_LABELS_PREFIX "%s", ns->match_labels[i].key);

			ret = k ? sel_add_label(s, k, ns->match_labels[i].value, ns->match_labels[i].m[1]) : -ENOMEM;
			if (ret >= 0)
				s->match_labels[s->n_match_labels - 1].m[2] = ns->match_labels[i].m[2];
		}
		for (uint32_t i = 0; ret >= 0 && i < ns->n_exprs; i++) {
			char *k = ns->exprs[i].key ? astr(c, SL_K8S_NS_LABELS_PREFIX "%s", ns->exprs[i].key) : NULL;

			ret = k ? sel_add_expr(s, &ns->exprs[i], k) : ns->exprs[i].key ? -ENOMEM : 0;
		}
		/* Endpoints in some namespace: namespaceSelector: {} selects
		 * every namespace's pods, not the node nor the world. */
		for (int i = 0; i <= SL_EXPR__MAX; i++)
			exists.m[i] = ns->m[0];
		if (ret >= 0)
			ret = sel_add_expr(s, &exists, c->ns_key);
	}
	if (ret >= 0) {
		struct sl_selector *v = realloc(r->endpoints, (r->n_endpoints + 1) * sizeof(*v));

		if (!v) {
			ret = -ENOMEM;
		} else {
			r->endpoints = v;
			v[r->n_endpoints++] = *s;
			if (!SL_HAS(r, SL_RULE_ENDPOINTS))
				*SL_AT(r, SL_RULE_ENDPOINTS) = pe->m[0];
			free(s); /* its arrays are the rule's now */
			return 0;
		}
	}
	free_selector(s);
	return ret;
}

static int np_rule(struct conv *c, struct sl_np_rule *in, struct sl_rule *r, bool egress, const char *path)
{
	int ret = 0;

	r->m[0] = in->m[0];
	if (!in->n_peers) {
		/* No peers: every peer, the world included (Kubernetes). */
		r->entities = malloc(sizeof(*r->entities));
		r->entities_m = malloc(sizeof(*r->entities_m));
		if (!r->entities || !r->entities_m)
			return -ENOMEM;
		r->entities[0] = SL_ENTITY_ALL;
		r->entities_m[0] = in->m[0];
		r->n_entities = 1;
		*SL_AT(r, SL_RULE_ENTITIES) = in->m[0];
	}
	for (uint32_t i = 0; ret >= 0 && i < in->n_peers; i++) {
		_cleanup_free_ char *p = NULL;

		if (asprintf(&p, "%s.%s[%" PRIu32 "]", path, egress ? "to" : "from", i) < 0)
			return -ENOMEM;
		ret = np_peer(c, &in->peers[i], r, p);
	}
	if (ret >= 0 && in->n_ports) {
		struct sl_port_rule *pr = calloc(1, sizeof(*pr));

		if (!pr)
			return -ENOMEM;
		r->to_ports = pr;
		r->n_to_ports = 1;
		*SL_AT(r, SL_RULE_TO_PORTS) = *SL_AT(in, SL_NPRULE_PORTS);
		pr->m[0] = *SL_AT(in, SL_NPRULE_PORTS);
		*SL_AT(pr, SL_PORTRULE_PORTS) = pr->m[0];
		pr->ports = calloc(in->n_ports, sizeof(*pr->ports));
		if (!pr->ports)
			return -ENOMEM;
		pr->n_ports = in->n_ports;
		for (uint32_t i = 0; ret >= 0 && i < in->n_ports; i++) {
			_cleanup_free_ char *p = NULL;

			if (asprintf(&p, "%s.ports[%" PRIu32 "]", path, i) < 0)
				return -ENOMEM;
			ret = np_port(c, &in->ports[i], &pr->ports[i], p);
		}
	}
	return ret;
}

static int np_convert(struct conv *c)
{
	struct sl_np_spec *sp = c->o->np;
	struct sl_policy p = { .origin = SL_ORIGIN_K8S_NP };
	bool types[2] = { true, sp->n_egress > 0 };
	int ret = 0;

	p.m[0] = c->o->at;
	*SL_AT(&p, SL_POLICY_NAME) = *SL_AT(c->o->meta, SL_K8SMETA_NAME);
	p.name = astr(c, "NetworkPolicy/%s/%s", c->ns, c->name);
	if (!p.name)
		return -ENOMEM;
	if (!sp->pod)
		return 0; /* reported by the loader */
	p.selector = sp->pod;
	sp->pod = NULL;
	*SL_AT(&p, SL_POLICY_SELECTOR) = *SL_AT(sp, SL_NPSPEC_POD);
	if (sel_in_namespace(c, p.selector) < 0) {
		free_policy(&p);
		return -ENOMEM;
	}
	if (SL_HAS(sp, SL_NPSPEC_TYPES)) {
		types[0] = types[1] = false;
		for (uint32_t i = 0; i < sp->n_types; i++)
			types[sp->types[i]] = true;
	}
	for (int e = 0; e < 2; e++) {
		struct sl_np_rule *in = e ? sp->egress : sp->ingress;
		uint32_t n = e ? sp->n_egress : sp->n_ingress;
		int key = e ? SL_NPSPEC_EGRESS : SL_NPSPEC_INGRESS;
		enum sl_direction d = e ? SL_EGRESS : SL_INGRESS;

		if (!types[e]) {
			if (n)
				err(c, DIAG_WARNING, SL_AT(sp, key), e ? "spec.egress" : "spec.ingress",
				    "policyTypes does not name %s: these rules are not enforced (as in Kubernetes)",
				    e ? "Egress" : "Ingress");
			continue;
		}
		/* Enforced, with these rules (none: nothing is allowed). */
		*SL_AT(&p, e ? SL_POLICY_EGRESS : SL_POLICY_INGRESS) =
			SL_HAS(sp, key) ? *SL_AT(sp, key) : SL_HAS(sp, SL_NPSPEC_TYPES) ? *SL_AT(sp, SL_NPSPEC_TYPES) : c->o->spec_m;
		if (!n)
			continue;
		p.rules[d].v = calloc(n, sizeof(*p.rules[d].v));
		if (!p.rules[d].v) {
			free_policy(&p);
			return -ENOMEM;
		}
		p.rules[d].n = n;
		for (uint32_t i = 0; ret >= 0 && i < n; i++) {
			_cleanup_free_ char *path = NULL;

			if (asprintf(&path, "spec.%s[%" PRIu32 "]", e ? "egress" : "ingress", i) < 0)
				ret = -ENOMEM;
			else
				ret = np_rule(c, &in[i], &p.rules[d].v[i], e, path);
		}
	}
	if (ret >= 0)
		ret = add_policy(c, &p);
	if (ret < 0)
		free_policy(&p);
	return ret;
}

/* ---- Cilium's ---- */

static int cnp_convert(struct conv *c, struct sl_cnp_spec *sp, const char *where, const char *suffix)
{
	struct sl_policy p = { .origin = c->ns ? SL_ORIGIN_CNP : SL_ORIGIN_CCNP };
	int ret = 0;

	p.m[0] = sp->m[0];
	*SL_AT(&p, SL_POLICY_NAME) = *SL_AT(c->o->meta, SL_K8SMETA_NAME);
	p.name = c->ns ? astr(c, "%s/%s/%s%s", c->o->kind, c->ns, c->name, suffix)
		       : astr(c, "%s/%s%s", c->o->kind, c->name, suffix);
	if (!p.name)
		return -ENOMEM;
	if (!sp->selector) {
		err(c, DIAG_ERROR, &sp->m[0], where,
		    "missing required key 'endpointSelector' (Cilium's nodeSelector, a host policy, is not "
		    "supported)");
		return 0;
	}
	p.selector = sp->selector;
	sp->selector = NULL;
	*SL_AT(&p, SL_POLICY_SELECTOR) = *SL_AT(sp, SL_CNP_SELECTOR);
	if (c->ns && sel_in_namespace(c, p.selector) < 0)
		ret = -ENOMEM;
	for (int d = 0; ret >= 0 && d < SL_DIRECTION__MAX; d++) {
		p.rules[d].v = sp->rules[d].v;
		p.rules[d].n = sp->rules[d].n;
		sp->rules[d].v = NULL;
		sp->rules[d].n = 0;
		/* Cilium's `ingress: []` enforces nothing; `[{}]` does. */
		if (p.rules[d].n)
			*SL_AT(&p, SL_POLICY_INGRESS + d) = *SL_AT(sp, SL_CNP_INGRESS + d);
		/* A namespaced rule's peers are in its namespace, unless a
		 * selector says which namespace itself. */
		for (uint32_t i = 0; c->ns && ret >= 0 && i < p.rules[d].n; i++)
			for (uint32_t j = 0; ret >= 0 && j < p.rules[d].v[i].n_endpoints; j++)
				if (!sel_names_namespace(&p.rules[d].v[i].endpoints[j]))
					ret = sel_in_namespace(c, &p.rules[d].v[i].endpoints[j]);
	}
	if (ret >= 0)
		ret = add_policy(c, &p);
	if (ret < 0)
		free_policy(&p);
	return ret;
}

int sl_k8s_convert(struct diag_list *diags, struct arena *arena, struct sl_k8s_obj *o, struct sl_doc *doc)
{
	struct conv c = { .diags = diags, .arena = arena, .o = o, .doc = doc };
	int ret = 0;

	/* The document stands as a sluice one of version 1. */
	doc->version = 1;
	if (!SL_HAS(doc, SL_DOC_VERSION))
		*SL_AT(doc, SL_DOC_VERSION) = o->at;
	c.ns_key = arena_strndup(arena, SL_K8S_NS_LABEL, strlen(SL_K8S_NS_LABEL));
	if (!c.ns_key)
		return -ENOMEM;
	if (!check_object(&c) || o->kind_id == SL_K8S_LIST)
		return c.oom ? -ENOMEM : 0;
	c.name = o->meta->name;
	if (o->kind_id == SL_K8S_NP) {
		if (!o->np && !SL_MARK_OK(&o->spec_m)) {
			err(&c, DIAG_ERROR, &o->at, "", "missing required key 'spec'");
			return 0;
		}
		return o->np ? np_convert(&c) : 0;
	}
	if (!o->spec && !o->specs.n && !o->spec_m.line && !o->specs_m.line) {
		err(&c, DIAG_ERROR, &o->at, "", "missing required key 'spec' (or 'specs')");
		return 0;
	}
	if (o->spec)
		ret = cnp_convert(&c, o->spec, "spec", "");
	for (uint32_t i = 0; ret >= 0 && i < o->specs.n; i++) {
		char where[32], suffix[32];

		snprintf(where, sizeof(where), "specs[%" PRIu32 "]", i);
		snprintf(suffix, sizeof(suffix), "/specs[%" PRIu32 "]", i);
		ret = cnp_convert(&c, &o->specs.v[i], where, suffix);
	}
	return ret;
}
