#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Kubernetes NetworkPolicy and Cilium policies read as they are, with real
# traffic: a state directory holds sluice's topology (endpoints in two
# namespaces, prod and dev, whose labels carry the namespace as Cilium's
# do) beside unchanged NetworkPolicy, CiliumNetworkPolicy and
# CiliumClusterwideNetworkPolicy documents; after each apply, every
# ordered pair of endpoints, the node and the world is probed (ICMP echo,
# TCP and UDP on 80 and 8080, both families) against the matrix that the
# documents' own semantics imply. The cases follow the Kubernetes e2e
# NetworkPolicy tests (test/e2e/network/netpol) and the examples of
# Cilium's policy documentation. Then what sluice cannot carry out (a
# named port, toFQDNs, L7 rules) is refused with file:line:col, and
# nothing changes.
#
# Usage: test-k8s-policies.sh [PATH-TO-SLUICE]
. "$(dirname "$0")/lib.sh"
it_init "$@"
command -v tc >/dev/null || it_skip "needs tc"

prod="k8s:io.kubernetes.pod.namespace: prod, io.cilium.k8s.namespace.labels.team: a"
prod+=", io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name: prod"
dev="io.kubernetes.pod.namespace: dev, io.cilium.k8s.namespace.labels.team: b"
dev+=", io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name: dev"
IT_LABELS[1000]="app: web, $prod"
IT_LABELS[1000]="app: web, $prod" IT_LABELS[1001]="app: client, $prod"
IT_LABELS[1002]="app: client, $dev" IT_LABELS[1003]="app: other, $prod"
IT_LABELS[1003]="app: other, $prod"
it_endpoint web-1 11 1000
it_endpoint client-1 21 1001
it_endpoint client-2 22 1002
it_endpoint other-1 41 1003
it_servers
it_log "topology up: ${IT_ENDPOINTS[*]} (web-1, client-1, other-1 in prod; client-2 in dev), world, host"

# The node, by its IPv4 address, is the host (identity host, which
# allowLocalhost lets reach every endpoint); from its IPv6 address, which
# no entry names, it is the world.
topology() {
	it_topology_yaml
	echo "node: node-a"
	echo "nodes: [{name: node-a, ip: $IT_HOST4}]"
}

# k8s_set NAME RULES < DOCUMENTS: a state directory of the topology
# (00-topology.yaml, sluice's) and the documents (10-policies.yaml, as
# they are); diff (changes pending), apply, converged, matrix.
k8s_set() {
	local name=$1 rules=$2 dir=$IT_WORK/$1
	mkdir -p "$dir"
	topology > "$dir/00-topology.yaml"
	cat > "$dir/10-policies.yaml"
	it_log "---- $name"
	it_sluice 2 diff "$dir"
	it_apply "$dir"
	it_converged "$dir"
	it_matrix "$name" < "$rules"
}
rules() { cat > "$IT_WORK/rules.$1"; echo "$IT_WORK/rules.$1"; }

# (1) e2e "should support a 'default-deny-ingress' policy": every pod of
# prod refuses all ingress; dev is untouched; the node still reaches its
# endpoints (allowLocalhost: always, for kubelet's probes).
k8s_set 1-default-deny-ingress "$(rules 1 <<-'R'
	ok   *    *        * *
	fail *    web-1    * *
	fail *    client-1 * *
	fail *    other-1  * *
	ok   host *        v4 *
R
)" <<-'Y'
	apiVersion: networking.k8s.io/v1
	kind: NetworkPolicy
	metadata:
	  name: default-deny-ingress
	  namespace: prod
	spec:
	  podSelector: {}
	  policyTypes: [Ingress]
Y

# (2) e2e "should enforce policy to allow traffic only from a pod in a
# different namespace based on PodSelector and NamespaceSelector": web-1
# admits client pods of namespaces labelled team=b (client-2), not the
# client of its own namespace. Written as kubectl prints a list.
k8s_set 2-pod-and-namespace-selector "$(rules 2 <<-'R'
	ok   *        *     * *
	fail *        web-1 * *
	ok   client-2 web-1 * *
	ok   host     web-1 v4 *
R
)" <<-'Y'
	apiVersion: v1
	kind: List
	items:
	  - apiVersion: networking.k8s.io/v1
	    kind: NetworkPolicy
	    metadata:
	      name: allow-client-b
	      namespace: prod
	      resourceVersion: "4711"
	      uid: 0b1c5e0a-2f4e-4d55-9a57-1c1e0bb1a8a9
	      annotations: {kubectl.kubernetes.io/last-applied-configuration: "{}"}
	    spec:
	      podSelector: {matchLabels: {app: web}}
	      ingress:
	        - from:
	            - namespaceSelector: {matchLabels: {team: b}}
	              podSelector: {matchLabels: {app: client}}
Y

# (3) e2e "should enforce policy based on PodSelector with
# MatchExpressions" and "based on Ports": web-1 admits the clients of its
# own namespace (a podSelector alone stays in the policy's namespace) on
# port 80, TCP by Kubernetes' default.
k8s_set 3-match-expressions-ports "$(rules 3 <<-'R'
	ok   *        *     * *
	fail *        web-1 * *
	ok   client-1 web-1 * tcp/80
	ok   host     web-1 v4 *
R
)" <<-'Y'
	apiVersion: networking.k8s.io/v1
	kind: NetworkPolicy
	metadata: {name: web-from-clients, namespace: prod}
	spec:
	  podSelector: {matchLabels: {app: web}}
	  ingress:
	    - from:
	        - podSelector:
	            matchExpressions:
	              - {key: app, operator: In, values: [client]}
	      ports:
	        - port: 80
Y

# (4) Several policies at once, their union: e2e "should not allow access
# by TCP when a policy specifies only UDP" (web-1: UDP 80 from every
# peer, the world included: no `from`), "should enforce except clause
# while egress access to server in CIDR block" (client-1 to the world's
# /24 but world-x), "egress ... to a server in a different namespace based
# on NamespaceSelector", with a port range (endPort).
k8s_set 4-udp-cidr-except-egress-namespace "$(rules 4 <<-'R'
	ok   *        *        *  *
	fail *        web-1    *  *
	ok   *        web-1    *  udp/80
	ok   host     web-1    v4 *
	fail client-1 *        *  *
	ok   client-1 world-a  v4 *
	ok   client-1 client-2 *  tcp/8080
R
)" <<-'Y'
	apiVersion: networking.k8s.io/v1
	kind: NetworkPolicy
	metadata: {name: web-udp-only, namespace: prod}
	spec:
	  podSelector: {matchLabels: {app: web}}
	  ingress:
	    - ports: [{protocol: UDP, port: 80}]
	---
	apiVersion: networking.k8s.io/v1
	kind: NetworkPolicy
	metadata: {name: client-egress, namespace: prod}
	spec:
	  podSelector: {matchLabels: {app: client}}
	  policyTypes: [Egress]
	  egress:
	    - to:
	        - ipBlock: {cidr: 203.0.113.0/24, except: [203.0.113.200/32]}
	    - to:
	        - namespaceSelector:
	            matchLabels: {kubernetes.io/metadata.name: dev}
	      ports:
	        - {port: 8000, endPort: 8080, protocol: TCP}
Y

# (5) Cilium's documentation: a label-based L3 rule (web-1 admits the
# clients of its namespace), an L4 egress rule (other-1 sends only TCP 80,
# anywhere), a cluster-wide deny of the world for every client, a rule
# whose peer names its namespace itself (client-2 in dev admits web-1 of
# prod), and an `ingress: []` that, in Cilium's meaning, enforces nothing.
k8s_set 5-cilium-examples "$(rules 5 <<-'R'
	ok   *       *        * *
	fail other-1 *        * *
	ok   other-1 *        * tcp/80
	fail *       web-1    * *
	ok   client-1 web-1   * *
	ok   host    web-1    v4 *
	fail world   client-* * *
	fail host    client-* v6 *
	fail *       client-2 * *
	ok   web-1   client-2 * *
	ok   host    client-2 v4 *
R
)" <<-'Y'
	apiVersion: cilium.io/v2
	kind: CiliumNetworkPolicy
	metadata: {name: l3-rule, namespace: prod}
	spec:
	  description: "L3 policy: web admits clients"
	  endpointSelector:
	    matchLabels: {app: web}
	  ingress:
	    - fromEndpoints:
	        - matchLabels: {"k8s:app": client}
	---
	apiVersion: cilium.io/v2
	kind: CiliumNetworkPolicy
	metadata: {name: l4-rule, namespace: prod}
	specs:
	  - endpointSelector: {matchLabels: {app: other}}
	    egress:
	      - toPorts:
	          - ports: [{port: "80", protocol: TCP}]
	  - endpointSelector: {matchLabels: {app: other}}
	    ingress: []
	---
	apiVersion: cilium.io/v2
	kind: CiliumClusterwideNetworkPolicy
	metadata: {name: clients-deny-world}
	spec:
	  endpointSelector: {matchLabels: {app: client}}
	  ingressDeny:
	    - fromEntities: [world]
	---
	apiVersion: cilium.io/v2
	kind: CiliumNetworkPolicy
	metadata: {name: from-prod-web, namespace: dev}
	spec:
	  endpointSelector: {matchLabels: {app: client}}
	  ingress:
	    - fromEndpoints:
	        - matchLabels: {k8s:io.kubernetes.pod.namespace: prod, app: web}
Y

# (5b) Cilium's ICMP rule (icmps, by type number and by name): the pods of
# web-1's namespace may ping it, in both families, and send it nothing
# else; the documentation's L3 example stays.
k8s_set 5b-cilium-icmps "$(rules 5b <<-'R'
	ok   *        *     * *
	fail *        web-1 * *
	ok   client-1 web-1 * icmp
	ok   other-1  web-1 * icmp
	ok   host     web-1 v4 *
R
)" <<-'Y'
	apiVersion: cilium.io/v2
	kind: CiliumNetworkPolicy
	metadata: {name: web-ping, namespace: prod}
	spec:
	  endpointSelector: {matchLabels: {app: web}}
	  ingress:
	    - fromEndpoints: [{}]
	      icmps:
	        - fields:
	            - {type: 8, family: IPv4}
	            - {type: EchoRequest, family: IPv6}
Y

# (5c) e2e "should allow ingress access from updated namespace" and "should
# deny ingress access to updated pod": the policy of (2) stays; dev's
# team becomes a, prod's b (the namespaces' labels, which endpoints carry),
# and client-2 turns into a server: the policy now admits client-1 alone.
for id in 1000 1001 1003; do IT_LABELS[$id]=${IT_LABELS[$id]//team: a/team: b}; done
IT_LABELS[1002]="app: server, ${dev//team: b/team: a}"
k8s_set 5c-updated-namespace-and-pod "$(rules 5c <<-'R'
	ok   *        *     * *
	fail *        web-1 * *
	ok   client-1 web-1 * *
	ok   host     web-1 v4 *
R
)" < "$IT_WORK/2-pod-and-namespace-selector/10-policies.yaml"
IT_LABELS[1000]="app: web, $prod" IT_LABELS[1001]="app: client, $prod"
IT_LABELS[1002]="app: client, $dev" IT_LABELS[1003]="app: other, $prod"

# (6) What sluice cannot carry out is refused, naming the field and its
# place, and the kernel keeps the last state: a named port, Cilium's
# toFQDNs and L7 rules, and a kind that is no policy.
refused() {
	local what=$1 want=$2 dir=$IT_WORK/refused-$3
	mkdir -p "$dir"
	topology > "$dir/00-topology.yaml"
	cat > "$dir/10-policies.yaml"
	it_sluice 1 apply "$dir"
	it_check "refused: $what, with file:line:col" grep -q "10-policies.yaml:$want" "$IT_ERR"
	grep -q "10-policies.yaml:$want" "$IT_ERR" || sed 's/^/   | /' "$IT_ERR"
}
refused "a named port" "12:17: spec.ingress\[0\].ports\[0\]: 'http' is a named port" named <<-'Y'
	apiVersion: networking.k8s.io/v1
	kind: NetworkPolicy
	metadata: {name: named-port, namespace: prod}
	spec:
	  podSelector: {matchLabels: {app: web}}
	  ingress:
	    - from:
	        - podSelector: {}
	      ports:
	        - protocol: TCP
	          # the pod's container port named http
	          port: http
Y
refused "toFQDNs" "8:7: spec.egress\[1\]: 'toFQDNs' is not supported" fqdn <<-'Y'
	apiVersion: cilium.io/v2
	kind: CiliumNetworkPolicy
	metadata: {name: to-fqdn, namespace: prod}
	spec:
	  endpointSelector: {matchLabels: {app: client}}
	  egress:
	    - toEndpoints: [{}]
	    - toFQDNs:
	        - matchName: example.com
Y
refused "L7 rules" "10:11: spec.ingress\[0\].toPorts\[0\]: 'rules' is not supported" l7 <<-'Y'
	apiVersion: cilium.io/v2
	kind: CiliumNetworkPolicy
	metadata: {name: l7, namespace: prod}
	spec:
	  endpointSelector: {matchLabels: {app: web}}
	  ingress:
	    - fromEndpoints: [{}]
	      toPorts:
	        - ports: [{port: "80", protocol: TCP}]
	          rules:
	            http: [{method: GET}]
Y
refused "a kind that is no policy" "2:7: kind: 'Deployment' is not read by sluice" kind <<-'Y'
	apiVersion: apps/v1
	kind: Deployment
	metadata: {name: web}
	spec: {replicas: 1}
Y
# The last state applied (5c) still holds: nothing was half-applied.
it_converged "$IT_WORK/5c-updated-namespace-and-pod"
it_matrix "5c still holds after the refusals" < "$IT_WORK/rules.5c"

# Without the documents (a file of only `version: 1`), nothing is enforced.
k8s_set 7-no-policies "$(rules 7 <<-'R'
	ok * * * *
R
)" <<< "version: 1"

it_finish
