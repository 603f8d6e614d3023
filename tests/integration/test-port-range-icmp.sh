#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Port ranges (endPort) and ICMP types (icmps) with real traffic:
# - web-1 accepts TCP 8000..8002 from client-1: 8000, 8001 and 8002 pass,
#   8003 does not, nor does any port from other-1;
# - an icmps rule without a peer allowing EchoRequest (IPv4) and type 128
#   (IPv6) lets every peer's ping through, both families, and the replies
#   come back (conntrack); the same policy without it drops the pings;
# - an icmps rule allowing only EchoReply (type 0) is that type, not every
#   ICMP message: the pings are dropped;
# - after each apply, diff says no changes and a second apply writes
#   nothing, and `sluice show` gives the rules back (endPort, icmps) so
#   that `show | diff -` says no changes.
#
# Usage: test-port-range-icmp.sh [PATH-TO-SLUICE]
. "$(dirname "$0")/lib.sh"
it_init "$@"

IT_PORTS="8000 8001 8002 8003"
IT_KINDS="icmp tcp/8000 tcp/8001 tcp/8002 tcp/8003"
IT_LABELS[1000]="app: web"
IT_LABELS[1001]="app: client"
IT_LABELS[1002]="app: other"
it_endpoint client-1 21 1001
it_endpoint web-1 11 1000
it_endpoint other-1 31 1002
it_servers
it_log "topology up: ${IT_ENDPOINTS[*]}"
it_matrix "sanity, no sluice state" "${IT_ENDPOINTS[*]}" "${IT_ENDPOINTS[*]}" <<-'R' ||
	ok * * * *
R
	it_die "the topology does not work without sluice"

SRCS="client-1 other-1 world" DSTS="web-1"

# step NAME < YAML: apply, converged, and show's document applies as no
# change; WANT (grep -E patterns, one per argument) must be in show's output.
step() {
	local name=$1 f p; shift
	f=$(it_state "$name")
	it_log "---- $name"
	it_apply "$f"
	it_converged "$f"
	if it_sluice 0 show; then
		cp "$IT_OUT" "$IT_WORK/$name.show.yaml"
		for p in "$@"; do
			it_check "$name: sluice show says /$p/" grep -qE -- "$p" "$IT_WORK/$name.show.yaml"
		done
		if it_sluice 0 diff - < "$IT_WORK/$name.show.yaml"; then
			it_check "$name: sluice show | sluice diff -: No changes." grep -qx "No changes." "$IT_OUT"
		fi
		grep -qx "No changes." "$IT_OUT" || sed 's/^/   | /' "$IT_WORK/$name.show.yaml" "$IT_OUT"
	fi
}

# A: a range from client-1, and ping from every peer by type.
step range-and-ping 'endPort: 8002' 'icmps:' 'type: EchoRequest, family: IPv4' \
	'type: EchoRequest, family: IPv6' <<-'Y'
	policies:
	  - name: web-in
	    endpointSelector: {matchLabels: {app: web}}
	    ingress:
	      - fromEndpoints: [{matchLabels: {app: client}}]
	        toPorts: [{ports: [{port: 8000, endPort: 8002, protocol: TCP}]}]
	      - icmps:
	          - fields:
	              - {type: EchoRequest}
	              - {type: 128, family: IPv6}
Y
IT_CHECK_DROPS=1 # each matrix: one policy drop per refused probe, no more
it_matrix range-and-ping "$SRCS" "$DSTS" <<-'R'
	fail *        web-1 * *
	ok   *        web-1 * icmp
	ok   client-1 web-1 * tcp/8000
	ok   client-1 web-1 * tcp/8001
	ok   client-1 web-1 * tcp/8002
R

# B: the same range, no icmps: ping is dropped (both families).
step range-only 'endPort: 8002' <<-'Y'
	policies:
	  - name: web-in
	    endpointSelector: {matchLabels: {app: web}}
	    ingress:
	      - fromEndpoints: [{matchLabels: {app: client}}]
	        toPorts: [{ports: [{port: 8000, endPort: 8002, protocol: TCP}]}]
Y
it_matrix range-only "$SRCS" "$DSTS" <<-'R'
	fail *        web-1 * *
	ok   client-1 web-1 * tcp/8000
	ok   client-1 web-1 * tcp/8001
	ok   client-1 web-1 * tcp/8002
R

# C: icmps for the echo reply only (type 0 of IPv4, 129 of IPv6): no echo
# request passes; type 0 does not widen to every ICMP message. client-1
# gets ping by a rule of its own, so that its echo replies come back as
# replies whatever the rules say of type 0.
step echo-reply-only 'type: EchoReply, family: IPv4' 'type: EchoRequest, family: IPv4' <<-'Y'
	policies:
	  - name: web-in
	    endpointSelector: {matchLabels: {app: web}}
	    ingress:
	      - icmps: [{fields: [{type: 0}, {type: EchoReply, family: IPv6}]}]
	      - fromEndpoints: [{matchLabels: {app: client}}]
	        icmps: [{fields: [{type: 8}, {type: EchoRequest, family: IPv6}]}]
Y
it_matrix echo-reply-only "$SRCS" "$DSTS" <<-'R'
	fail *        web-1 * *
	ok   client-1 web-1 * icmp
R
it_finish
