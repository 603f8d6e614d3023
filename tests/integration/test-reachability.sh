#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Reachability under policy, with real traffic: five endpoints, the node
# itself ("host") and a world outside the cluster; ICMP echo, TCP and UDP
# on ports 80 and 8080, IPv4 and IPv6, every ordered pair, measured against
# the matrix that state-format.md's policy semantics (Cilium's) imply, for
# a series of policy sets applied in turn to the same topology. After each
# apply: `diff` says no changes and a second `apply -v` writes nothing.
#
# Usage: test-reachability.sh [PATH-TO-SLUICE]
. "$(dirname "$0")/lib.sh"
it_init "$@"
command -v tc >/dev/null || it_skip "needs tc"

IT_LABELS[1000]="app: web, tier: front"
IT_LABELS[1001]="app: client"
IT_LABELS[1002]="app: db, tier: data"
IT_LABELS[1003]="app: other"
it_endpoint web-1 11 1000
it_endpoint web-2 12 1000
it_endpoint client-1 21 1001
it_endpoint db-1 31 1002
it_endpoint other-1 41 1003
it_servers
it_log "topology up: ${IT_ENDPOINTS[*]}, world, host"

# Everything reaches everything before sluice is involved; the rest
# means nothing otherwise.
it_matrix "sanity, no sluice state" <<-'R' || it_die "the topology does not work without sluice"
	ok * * * *
R

# policy_set NAME EXPECT-RULES-FILE [DENY-DROPS] < POLICY-YAML: diff
# (changes pending), apply, converged, matrix; once drops are checked,
# DENY-DROPS (default 0) of the refused probes are policy-deny drops.
policy_set() {
	local name=$1 rules=$2 deny=${3:-0} f
	f=$(it_state "$name")
	it_log "---- policy set $name"
	it_sluice 2 diff "$f"
	it_apply "$f"
	it_converged "$f"
	it_matrix "$name" < "$rules"
	[ -n "${IT_CHECK_DROPS:-}" ] &&
		it_check "$name: $deny refused probes are counted as policy-deny, not $IT_DROP_DENY" \
			test "$IT_DROP_DENY" -eq "$deny"
}
rules() { cat > "$IT_WORK/rules.$1"; echo "$IT_WORK/rules.$1"; }

# (a) No policies: nothing is enforced, all is allowed.
policy_set a-no-policy "$(rules a <<-'R'
	ok * * * *
R
)" <<-'Y'
Y

it_sluice 0 status
it_check "status names the endpoint programs' attachment" grep -q 'lxc-web-1' "$IT_OUT"
# From here on, every matrix also checks the drop counters: one policy or
# policy-deny drop per refused probe.
IT_CHECK_DROPS=1

# (b) Ingress to web only from client on TCP 80: ICMP, UDP and 8080 to web
# are refused, also from the host and the world; web's own egress stays
# free (not selected for egress), its replies pass.
policy_set b-web-ingress "$(rules b <<-'R'
	ok   *        *     * *
	fail *        web-* * *
	ok   client-1 web-* * tcp/80
R
)" <<-'Y'
	policies:
	  - name: web-in
	    endpointSelector: {matchLabels: {app: web}}
	    ingress:
	      - fromEndpoints: [{matchLabels: {app: client}}]
	        toPorts: [{ports: [{port: 80, protocol: TCP}]}]
Y

# (c) policyEnforcement: always: default deny in both directions for every
# endpoint (the host and the world included as peers); only what both
# sides' rules allow passes: client -> web on TCP 80 (client's egress and
# web's ingress), web -> db on anything (web's egress, db's ingress).
C_POLICIES='policies:
  - name: web
    endpointSelector: {matchLabels: {app: web}}
    ingress:
      - fromEndpoints: [{matchLabels: {app: client}}]
        toPorts: [{ports: [{port: 80, protocol: TCP}]}]
    egress:
      - toEndpoints: [{matchLabels: {app: db}}]
  - name: client-out
    endpointSelector: {matchLabels: {app: client}}
    egress:
      - toEndpoints: [{matchLabels: {app: web}}]
        toPorts: [{ports: [{port: 80, protocol: TCP}]}]
  - name: db-in
    endpointSelector: {matchLabels: {app: db}}
    ingress:
      - fromEndpoints: [{matchLabels: {app: web}}]'
policy_set c-always "$(rules c <<-'R'
	fail *        *     * *
	ok   client-1 web-* * tcp/80
	ok   web-*    db-1  * *
R
)" <<-Y
	datapath: {policyEnforcement: always}
	$C_POLICIES
Y

# (d) policyEnforcement: never, same policies: all allowed.
policy_set d-never "$(rules d <<-'R'
	ok * * * *
R
)" <<-Y
	datapath: {policyEnforcement: never}
	$C_POLICIES
Y

# (e) Deny wins over allow, whatever the levels: web allows client on every
# port and denies it TCP 80 (deny more specific than the allow); db allows
# every peer and client on TCP 8080 but denies client altogether (deny
# less specific than an allow); deny keys alone enforce nothing: db's
# egress deny to other and other's ingress deny from the world block only
# that; client denies port 8080 (both protocols) to every peer. (Up to set
# h, the state names no node, so no address of the host is in the ipcache:
# the host's traffic is world's, as anything unknown.) Refused by a deny,
# per family: client -> web TCP 80 (2), client -> db (5), db -> other (5),
# world -> other (5), host -> other (5), 8080 to client from the six other
# sources (12): 34, so 68 policy-deny drops; the rest are policy drops.
E_POLICIES='policies:
  - name: web
    endpointSelector: {matchLabels: {app: web}}
    ingress:
      - fromEndpoints: [{matchLabels: {app: client}}]
      - fromEntities: [world]
    ingressDeny:
      - fromEndpoints: [{matchLabels: {app: client}}]
        toPorts: [{ports: [{port: 80, protocol: TCP}]}]
  - name: db
    endpointSelector: {matchLabels: {app: db}}
    ingress:
      - fromEntities: [all]
      - fromEndpoints: [{matchLabels: {app: client}}]
        toPorts: [{ports: [{port: 8080, protocol: TCP}]}]
    ingressDeny:
      - fromEndpoints: [{matchLabels: {app: client}}]
    egressDeny:
      - toEndpoints: [{matchLabels: {app: other}}]
  - name: other
    endpointSelector: {matchLabels: {app: other}}
    ingressDeny:
      - fromEntities: [world]
  - name: client
    endpointSelector: {matchLabels: {app: client}}
    ingressDeny:
      - toPorts: [{ports: [{port: 8080}]}]'
policy_set e-deny "$(rules e <<-'R'
	ok   *        *        * *
	fail *        web-*    * *
	ok   client-1 web-*    * *
	fail client-1 web-*    * tcp/80
	ok   world    web-*    * *
	ok   host     web-*    * *
	fail client-1 db-1     * *
	fail db-1     other-1  * *
	fail world    other-1  * *
	fail host     other-1  * *
	fail *        client-1 * tcp/8080
	fail *        client-1 * udp/8080
R
)" 68 <<-Y
	$E_POLICIES
Y

# (d2) policyEnforcement: never with (e)'s deny rules: `never` allows all,
# deny rules included.
policy_set d2-never-deny "$(rules d2 <<-'R'
	ok * * * *
R
)" <<-Y
	datapath: {policyEnforcement: never}
	$E_POLICIES
Y

# (f) Egress rules: client may reach web on TCP 80 and the data tier
# (matchExpressions) on anything; db may reach any peer on port 8080 (a
# rule with toPorts and no peer; protocol ANY: TCP and UDP); other has
# `egress: []` and web `egress: [{}]`: enforced, nothing allowed. Replies
# to what they accept still leave (ingress is free).
policy_set f-egress "$(rules f <<-'R'
	ok   *        *     * *
	fail client-1 *     * *
	ok   client-1 web-* * tcp/80
	ok   client-1 db-1  * *
	fail db-1     *     * *
	ok   db-1     *     * tcp/8080
	ok   db-1     *     * udp/8080
	fail other-1  *     * *
	fail web-*    *     * *
R
)" <<-'Y'
	policies:
	  - name: client-out
	    endpointSelector: {matchLabels: {app: client}}
	    egress:
	      - toEndpoints: [{matchLabels: {app: web}}]
	        toPorts: [{ports: [{port: 80, protocol: TCP}]}]
	      - toEndpoints:
	          - matchExpressions: [{key: tier, operator: In, values: [data]}]
	  - name: db-out
	    endpointSelector: {matchLabels: {app: db}}
	    egress:
	      - toPorts: [{ports: [{port: 8080}]}]
	  - name: other-out
	    endpointSelector: {matchLabels: {app: other}}
	    egress: []
	  - name: web-out
	    endpointSelector: {matchLabels: {app: web}}
	    egress: [{}]
Y

# (g) CIDR rules select peers that are not endpoints. client: the world's
# 203.0.113.0/24 and 2001:db8:100::/48 except the .128/25 and :ff::/64
# holes (world-a in, world-x in the hole); db: the endpoints' own prefixes,
# which select no endpoint (endpoints go by labels); web: world-x's /32 and
# /128 on TCP 80 only; other: ingress only from the world's prefixes.
policy_set g-cidr "$(rules g <<-'R'
	ok   *        *        * *
	fail client-1 *        * *
	ok   client-1 world-a  * *
	fail db-1     *        * *
	fail web-*    *        * *
	ok   web-*    world-x  * tcp/80
	fail *        other-1  * *
	ok   world    other-1  * *
R
)" <<-'Y'
	policies:
	  - name: client-out
	    endpointSelector: {matchLabels: {app: client}}
	    egress:
	      - toCIDRSet:
	          - {cidr: 203.0.113.0/24, except: [203.0.113.128/25]}
	          - {cidr: "2001:db8:100::/48", except: ["2001:db8:100:ff::/64"]}
	  - name: db-out
	    endpointSelector: {matchLabels: {app: db}}
	    egress:
	      - toCIDR: [10.1.0.0/24, "fd00:1::/64"]
	  - name: web-out
	    endpointSelector: {matchLabels: {app: web}}
	    egress:
	      - toCIDR: [203.0.113.200/32, "2001:db8:100:ff::10/128"]
	        toPorts: [{ports: [{port: 80, protocol: TCP}]}]
	  - name: other-in
	    endpointSelector: {matchLabels: {app: other}}
	    ingress:
	      - fromCIDR: [203.0.113.0/24, "2001:db8:100::/48"]
Y

# (h) Entities. The node's `ip` is the host's address in the ipcache
# (identity host); the node's address of the other family is in no
# ipcache entry, so it is world, as anything unknown (the spec's
# ipcache has one address per node). Run once with the node ip IPv4
# (h4) and once IPv6 (h6). web: ingress from the host, egress to the
# world; db: ingress from the world; client: ingress from the cluster
# (endpoints and the host); other: ingress from all, egress to the cluster.
H_POLICIES='policies:
  - name: web
    endpointSelector: {matchLabels: {app: web}}
    ingress: [{fromEntities: [host]}]
    egress: [{toEntities: [world]}]
  - name: db
    endpointSelector: {matchLabels: {app: db}}
    ingress: [{fromEntities: [world]}]
  - name: client
    endpointSelector: {matchLabels: {app: client}}
    ingress: [{fromEntities: [cluster]}]
  - name: other
    endpointSelector: {matchLabels: {app: other}}
    ingress: [{fromEntities: [all]}]
    egress: [{toEntities: [cluster]}]'
h_rules() { # FAMILY-OF-THE-NODE-IP OTHER-FAMILY
	cat <<-R
		ok   *       *        *  *
		fail *       web-*    *  *
		ok   host    web-*    $1 *
		fail web-*   *        *  *
		ok   web-*   world-*  *  *
		fail *       db-1     *  *
		ok   world   db-1     *  *
		ok   host    db-1     $2 *
		fail world   client-1 *  *
		fail host    client-1 $2 *
		fail other-1 world-*  *  *
	R
}
# With allowLocalhost: policy the host is a peer like any other: only the
# rules that name it (web's, client's cluster, other's all) admit it.
policy_set h4-entities "$(h_rules v4 v6 | rules h4)" <<-Y
	node: node-a
	nodes: [{name: node-a, ip: $IT_HOST4}]
	datapath: {allowLocalhost: policy}
	$H_POLICIES
Y
policy_set h6-entities "$(h_rules v6 v4 | rules h6)" <<-Y
	node: node-a
	nodes: [{name: node-a, ip: "$IT_HOST6"}]
	datapath: {allowLocalhost: policy}
	$H_POLICIES
Y
# (h-always) allowLocalhost: always, the default (Cilium's allow-localhost):
# the host, by the node's ip, reaches every endpoint whatever its ingress
# policy (db admits only the world); from its other address it is world.
policy_set h4-always "$({ h_rules v4 v6; echo "ok host * v4 *"; } | rules h4a)" <<-Y
	node: node-a
	nodes: [{name: node-a, ip: $IT_HOST4}]
	$H_POLICIES
Y

# Flush: nothing of sluice's is left on the endpoints' devices nor in the
# pin directory, and everything is reachable again.
it_log "---- flush"
unset IT_CHECK_DROPS  # the counters go too
it_sluice 0 flush --yes
for e in "${IT_ENDPOINTS[@]}"; do
	left=$(tc filter show dev "lxc-$e" ingress; tc filter show dev "lxc-$e" egress)
	it_check "no tc filter left on lxc-$e after flush: $left" test -z "$left"
done
left=$(ls -A "$SLUICE_PIN_DIR" 2>/dev/null)
it_check "the pin directory is gone or empty after flush: $left" test -z "$left"
it_matrix "after flush" <<-'R'
	ok * * * *
R
it_sluice 2 diff "$IT_WORK/a-no-policy.yaml"
it_finish
