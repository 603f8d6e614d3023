/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kubernetes NetworkPolicy and Cilium policy documents (src/reconcile/k8s.c):
 * each compiles to exactly the entries of the sluice policy that spells out
 * its meaning (namespaces as labels, Kubernetes' defaults, Cilium's empty
 * lists), and what sluice cannot carry out is refused with file:line:col
 * and the document path.
 */
#include "helpers.h"

/* Endpoints in two namespaces, their labels as Cilium gives them. */
#define TOPOLOGY                                                                                          \
	"version: 1\n"                                                                                    \
	"identities:\n"                                                                                   \
	"  - id: 1000\n"                                                                                  \
	"    labels: {app: web, io.kubernetes.pod.namespace: prod, io.cilium.k8s.namespace.labels.team: a}\n" \
	"  - id: 1001\n"                                                                                  \
	"    labels: {app: client, io.kubernetes.pod.namespace: prod, io.cilium.k8s.namespace.labels.team: a}\n" \
	"  - id: 1002\n"                                                                                  \
	"    labels: {app: client, io.kubernetes.pod.namespace: dev, io.cilium.k8s.namespace.labels.team: b}\n" \
	"  - id: 1003\n"                                                                                  \
	"    labels: {app: web, io.kubernetes.pod.namespace: dev, io.cilium.k8s.namespace.labels.team: b}\n" \
	"endpoints:\n"                                                                                    \
	"  - {name: web-1, interface: lxc-w1, ipv4: 10.1.0.10, identity: 1000}\n"                         \
	"  - {name: client-1, interface: lxc-c1, ipv4: 10.1.0.11, identity: 1001}\n"                      \
	"  - {name: client-2, interface: lxc-c2, ipv4: 10.1.0.12, identity: 1002}\n"                      \
	"  - {name: web-2, interface: lxc-w2, ipv4: 10.1.0.13, identity: 1003}\n"

/* The documents compile to the very entries of the sluice policies. */
static void assert_same(const char *docs, const char *sluice)
{
	_cleanup_free_ char *a = NULL, *b = NULL;
	char *plan;

	cr_assert(asprintf(&a, TOPOLOGY "---\n%s", docs) > 0);
	cr_assert(asprintf(&b, TOPOLOGY "%s", sluice) > 0);
	plan = plan_between(a, NULL, b, NULL, false, SL_PLAN_TEXT);
	cr_assert_str_eq(plan, "No changes.\n", "the documents and the sluice policies differ:\n%s", plan);
	free(plan);
	/* and they are not both empty */
	plan = plan_between(TOPOLOGY, NULL, a, NULL, false, SL_PLAN_TEXT);
	cr_assert_str_neq(plan, "No changes.\n");
	free(plan);
}

Test(k8s, network_policy_namespaces_defaults)
{
	assert_same("apiVersion: networking.k8s.io/v1\n"
		    "kind: NetworkPolicy\n"
		    "metadata: {name: web, namespace: prod}\n"
		    "spec:\n"
		    "  podSelector: {matchLabels: {app: web}}\n"
		    "  ingress:\n"
		    "    - from:\n"
		    "        - podSelector: {matchLabels: {app: client}}\n"
		    "        - namespaceSelector: {matchLabels: {team: b}}\n"
		    "          podSelector: {matchLabels: {app: client}}\n"
		    "        - ipBlock: {cidr: 192.0.2.0/24, except: [192.0.2.8/29]}\n"
		    "      ports: [{port: 80}, {protocol: UDP, port: \"53\"}]\n",
		    "policies:\n"
		    "  - name: web\n"
		    "    endpointSelector: {matchLabels: {app: web, io.kubernetes.pod.namespace: prod}}\n"
		    "    ingress:\n"
		    "      - fromEndpoints:\n"
		    "          - matchLabels: {app: client, io.kubernetes.pod.namespace: prod}\n"
		    "          - matchLabels: {app: client, io.cilium.k8s.namespace.labels.team: b}\n"
		    "            matchExpressions: [{key: io.kubernetes.pod.namespace, operator: Exists}]\n"
		    "        fromCIDRSet: [{cidr: 192.0.2.0/24, except: [192.0.2.8/29]}]\n"
		    "        toPorts: [{ports: [{port: 80, protocol: TCP}, {port: 53, protocol: UDP}]}]\n");
}

Test(k8s, network_policy_rules_without_peers_admit_everyone)
{
	/* No `from`: every peer, the world too; `ingress: [{}]`: everything. */
	assert_same("apiVersion: networking.k8s.io/v1\n"
		    "kind: NetworkPolicy\n"
		    "metadata: {name: a, namespace: prod}\n"
		    "spec:\n"
		    "  podSelector: {matchLabels: {app: web}}\n"
		    "  ingress: [{ports: [{port: 80}]}]\n"
		    "---\n"
		    "apiVersion: networking.k8s.io/v1\n"
		    "kind: NetworkPolicy\n"
		    "metadata: {name: b, namespace: dev}\n"
		    "spec:\n"
		    "  podSelector: {}\n"
		    "  ingress: [{}]\n",
		    "policies:\n"
		    "  - name: a\n"
		    "    endpointSelector: {matchLabels: {app: web, io.kubernetes.pod.namespace: prod}}\n"
		    "    ingress: [{fromEntities: [all], toPorts: [{ports: [{port: 80, protocol: TCP}]}]}]\n"
		    "  - name: b\n"
		    "    endpointSelector: {matchLabels: {io.kubernetes.pod.namespace: dev}}\n"
		    "    ingress: [{fromEntities: [all]}]\n");
}

Test(k8s, network_policy_types)
{
	/* policyTypes [Egress] without rules: egress denied, ingress free;
	 * without policyTypes, an egress section makes it enforce egress. */
	assert_same("apiVersion: networking.k8s.io/v1\n"
		    "kind: NetworkPolicy\n"
		    "metadata: {name: deny-egress, namespace: dev}\n"
		    "spec: {podSelector: {}, policyTypes: [Egress]}\n"
		    "---\n"
		    "apiVersion: networking.k8s.io/v1\n"
		    "kind: NetworkPolicy\n"
		    "metadata: {name: both}\n" /* namespace default: selects nobody here */
		    "spec:\n"
		    "  podSelector: {}\n"
		    "  egress: [{to: [{namespaceSelector: {}}]}]\n",
		    "policies:\n"
		    "  - name: deny-egress\n"
		    "    endpointSelector: {matchLabels: {io.kubernetes.pod.namespace: dev}}\n"
		    "    egress: []\n"
		    "  - name: both\n"
		    "    endpointSelector: {matchLabels: {io.kubernetes.pod.namespace: default}}\n"
		    "    ingress: []\n"
		    "    egress: [{toEndpoints: [{matchExpressions: [{key: io.kubernetes.pod.namespace, operator: "
		    "Exists}]}]}]\n");
}

Test(k8s, cilium_policies)
{
	/* A namespaced rule's peers stay in its namespace unless they name
	 * one; `ingress: []` enforces nothing, `[{}]` turns default-deny on;
	 * a cluster-wide policy adds no namespace; k8s: prefixes mean
	 * nothing more; specs are several rules. */
	assert_same("apiVersion: cilium.io/v2\n"
		    "kind: CiliumNetworkPolicy\n"
		    "metadata: {name: web, namespace: prod}\n"
		    "specs:\n"
		    "  - endpointSelector: {matchLabels: {\"k8s:app\": web}}\n"
		    "    ingress:\n"
		    "      - fromEndpoints: [{matchLabels: {app: client}}]\n"
		    "        toPorts: [{ports: [{port: \"80\", protocol: TCP}]}]\n"
		    "      - fromEndpoints:\n"
		    "          - matchExpressions: [{key: \"k8s:io.kubernetes.pod.namespace\", operator: In, values: "
		    "[dev]}]\n"
		    "    egress: []\n"
		    "  - endpointSelector: {matchLabels: {app: client}}\n"
		    "    egress: [{}]\n"
		    "---\n"
		    "apiVersion: cilium.io/v2\n"
		    "kind: CiliumClusterwideNetworkPolicy\n"
		    "metadata: {name: deny-world}\n"
		    "spec:\n"
		    "  endpointSelector: {}\n"
		    "  ingressDeny: [{fromEntities: [world]}]\n",
		    "policies:\n"
		    "  - name: web\n"
		    "    endpointSelector: {matchLabels: {app: web, io.kubernetes.pod.namespace: prod}}\n"
		    "    ingress:\n"
		    "      - fromEndpoints: [{matchLabels: {app: client, io.kubernetes.pod.namespace: prod}}]\n"
		    "        toPorts: [{ports: [{port: 80, protocol: TCP}]}]\n"
		    "      - fromEndpoints:\n"
		    "          - matchExpressions: [{key: io.kubernetes.pod.namespace, operator: In, values: [dev]}]\n"
		    "  - name: client\n"
		    "    endpointSelector: {matchLabels: {app: client, io.kubernetes.pod.namespace: prod}}\n"
		    "    egress: [{}]\n"
		    "  - name: deny-world\n"
		    "    endpointSelector: {}\n"
		    "    ingressDeny: [{fromEntities: [world]}]\n");
}

Test(k8s, list_and_names)
{
	struct sl_load ld;
	_cleanup_free_ char *d = NULL;

	/* A List's items are read one by one; names are (kind, namespace,
	 * name): the same name in two namespaces is two policies, twice in
	 * one is an error naming both places. */
	load_text(&ld,
		  TOPOLOGY "---\n"
			   "apiVersion: v1\n"
			   "kind: List\n"
			   "items:\n"
			   "  - apiVersion: networking.k8s.io/v1\n"
			   "    kind: NetworkPolicy\n"
			   "    metadata: {name: x, namespace: prod}\n"
			   "    spec: {podSelector: {}}\n"
			   "  - apiVersion: networking.k8s.io/v1\n"
			   "    kind: NetworkPolicy\n"
			   "    metadata: {name: x, namespace: dev}\n"
			   "    spec: {podSelector: {}}\n"
			   "  - apiVersion: networking.k8s.io/v1\n"
			   "    kind: NetworkPolicy\n"
			   "    metadata: {name: x, namespace: dev, uid: 7, resourceVersion: \"9\"}\n"
			   "    spec: {podSelector: {}}\n"
			   "    status: {}\n",
		  true);
	cr_assert_eq(ld.state.n_policies, 3);
	cr_assert_str_eq(ld.state.policies[0].name, "NetworkPolicy/prod/x");
	cr_assert_str_eq(ld.state.policies[1].name, "NetworkPolicy/dev/x");
	d = diag_lines(&ld);
	cr_assert_eq(ld.diags.n_errors, 1, "%s", d);
	cr_assert(strstr(d, "30:22: ") && strstr(d, "is already used at t.yaml:26:22"), "%s", d);
	sl_load_free(&ld);
}

Test(k8s, refusals_name_the_field)
{
	struct sl_load ld;

	load_text(&ld,
		  "apiVersion: networking.k8s.io/v1\n"
		  "kind: NetworkPolicy\n"
		  "metadata: {name: p, namespace: prod}\n"
		  "spec:\n"
		  "  podSelector: {}\n"
		  "  ingress:\n"
		  "    - from:\n"
		  "        - ipBlock: {cidr: 10.0.0.0/8}\n"
		  "          podSelector: {}\n"
		  "      ports:\n"
		  "        - port: http\n"
		  "        - endPort: 90\n"
		  "---\n"
		  "apiVersion: cilium.io/v2\n"
		  "kind: CiliumNetworkPolicy\n"
		  "metadata: {name: c}\n"
		  "spec:\n"
		  "  endpointSelector: {}\n"
		  "  egress:\n"
		  "    - toFQDNs: [{matchName: example.com}]\n"
		  "      toPorts:\n"
		  "        - ports: [{port: dns}]\n"
		  "          rules: {dns: [{matchPattern: \"*\"}]}\n"
		  "---\n"
		  "apiVersion: cilium.io/v2\n"
		  "kind: CiliumClusterwideNetworkPolicy\n"
		  "metadata: {name: h, namespace: prod}\n"
		  "spec:\n"
		  "  nodeSelector: {}\n"
		  "---\n"
		  "apiVersion: cilium.io/v1\n"
		  "kind: CiliumNetworkPolicy\n"
		  "metadata: {name: Bad_Name}\n"
		  "spec: {endpointSelector: {}}\n"
		  "---\n"
		  "apiVersion: v1\n"
		  "spec: {}\n"
		  "kind: NetworkPolicy\n"
		  "---\n"
		  "apiVersion: apps/v1\n"
		  "kind: Deployment\n",
		  true);
	assert_diags(&ld,
		     "5:16: warning: policies[NetworkPolicy/prod/p].endpointSelector: this selector matches no "
		     "endpoint\n"
		     "8:11: spec.ingress[0].from[0]: ipBlock cannot be given with podSelector or namespaceSelector in "
		     "one peer (as in Kubernetes)\n"
		     "11:17: spec.ingress[0].ports[0]: 'http' is a named port; named ports are not supported "
		     "(sluice's endpoints declare no ports by name): write the number\n"
		     "12:20: spec.ingress[0].ports[1]: endPort needs port: the range is port..endPort\n"
		     "18:21: warning: policies[CiliumNetworkPolicy/default/c].endpointSelector: this selector matches "
		     "no endpoint\n"
		     "20:7: spec.egress[0]: 'toFQDNs' is not supported by sluice: rules by DNS name need a DNS proxy, "
		     "which sluice does not have; name the addresses with toCIDR or toCIDRSet\n"
		     "22:26: spec.egress[0].toPorts[0].ports[0].port: 'dns' is not a port number; named ports are not "
		     "supported (sluice's endpoints declare no ports by name): write the number\n"
		     "23:11: spec.egress[0].toPorts[0]: 'rules' is not supported by sluice: L7 rules (HTTP, Kafka, "
		     "DNS) are not enforced by sluice; to hand the port's connections to a proxy of your own, give "
		     "the port rule proxyPort\n"
		     "27:32: metadata.namespace: a CiliumClusterwideNetworkPolicy has no namespace: it selects "
		     "endpoints of every namespace\n"
		     "29:3: spec: 'nodeSelector' is not supported by sluice: host policies (the node's own firewall) "
		     "are not carried out by sluice; select endpoints with endpointSelector\n"
		     "31:13: apiVersion: a CiliumNetworkPolicy is read as cilium.io/v2, not 'cilium.io/v1'\n"
		     "33:18: metadata.name: 'Bad_Name' is not a Kubernetes name (lowercase letters, digits, '-' and "
		     "'.', at most 253)\n"
		     "36:1: (document): missing required key 'metadata'\n"
		     "36:13: apiVersion: a NetworkPolicy is read as networking.k8s.io/v1, not 'v1'\n"
		     "37:7: spec: 'kind' must be given before 'spec' (the kind says how to read it)\n"
		     "41:7: kind: 'Deployment' is not read by sluice: a state holds sluice documents (version: 1), "
		     "NetworkPolicy (networking.k8s.io/v1), CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy "
		     "(cilium.io/v2), and Lists of them\n");
	sl_load_free(&ld);
}

Test(k8s, sluice_files_take_the_k8s_prefix)
{
	struct sl_load ld;

	/* In sluice's own files too, and a key given with and without it
	 * is given twice. */
	load_text(&ld,
		  "version: 1\n"
		  "identities:\n"
		  "  - id: 1000\n"
		  "    labels: {\"k8s:app\": web, app: db}\n"
		  "policies:\n"
		  "  - name: p\n"
		  "    endpointSelector:\n"
		  "      matchExpressions: [{key: \"k8s:app\", operator: Exists}]\n",
		  true);
	assert_diags(&ld, "4:30: identities[1000].labels.app: duplicate label key (first given at line 4)\n"
			  "8:7: warning: policies[p].endpointSelector: this selector matches no endpoint\n");
	cr_assert_str_eq(ld.state.policies[0].selector->exprs[0].key, "app");
	sl_load_free(&ld);
}
