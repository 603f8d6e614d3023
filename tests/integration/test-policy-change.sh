#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Policy changes under traffic. While client-1 holds two long-lived TCP
# connections to web-1 (IPv4 and IPv6, a line every 100 ms, each echoed)
# and opens new ones all the time (churn: a new connection every 20 ms,
# both families), applies add and remove other policy entries, then
# change web-1's and client-1's endpoint entries. Checks:
# - each apply's plan (its own JSON output) holds exactly the changed
#   entries: nothing unchanged is removed and re-added, no program, map or
#   attachment is touched;
# - after each apply, `diff` says no changes and a second apply writes
#   nothing; the new policy holds (a small reachability matrix);
# - neither the connections nor the churn ever saw an error: no gap for
#   traffic that stays allowed (make before break);
# - last, an apply removes the very rules that allowed the connections:
#   new connections are refused, the established ones go on (connection
#   tracking: "replies of allowed connections are allowed").
#
# Usage: test-policy-change.sh [PATH-TO-SLUICE]
. "$(dirname "$0")/lib.sh"
it_init "$@"

IT_LABELS[1000]="app: web"
IT_LABELS[1001]="app: client"
IT_LABELS[1002]="app: db"
IT_LABELS[1003]="app: other"
it_endpoint client-1 21 1001
it_endpoint web-1 11 1000
it_endpoint db-1 31 1002
it_endpoint other-1 41 1003
it_servers
it_log "topology up: ${IT_ENDPOINTS[*]}"
it_matrix "sanity, no sluice state" "${IT_ENDPOINTS[*]}" "${IT_ENDPOINTS[*]}" <<-'R' ||
	ok * * * *
R
	it_die "the topology does not work without sluice"

SRCS="client-1 db-1 other-1" DSTS="web-1 db-1 other-1"

# step NAME < YAML: diff (changes pending, shown), apply -o json, converged.
# The plan's expected changes follow with it_plan_check.
step() {
	local name=$1 f
	f=$(it_state "$name")
	it_log "---- $name"
	it_sluice 2 diff "$f" && sed 's/^/   | /' "$IT_OUT"
	local t0=$SECONDS
	it_sluice 0 apply -o json "$f"
	cp "$IT_OUT" "$IT_WORK/$name.plan.json"
	it_log "applied $name in $((SECONDS - t0))s"
	it_converged "$f"
}

# S1: web accepts client on TCP 80 and other on TCP 8080; client may send
# to web on TCP 80 and to db on anything; db accepts web.
step s1 <<-'Y'
	policies:
	  - name: web-in
	    endpointSelector: {matchLabels: {app: web}}
	    ingress:
	      - fromEndpoints: [{matchLabels: {app: client}}]
	        toPorts: [{ports: [{port: 80, protocol: TCP}]}]
	      - fromEndpoints: [{matchLabels: {app: other}}]
	        toPorts: [{ports: [{port: 8080, protocol: TCP}]}]
	  - name: client-out
	    endpointSelector: {matchLabels: {app: client}}
	    egress:
	      - toEndpoints: [{matchLabels: {app: web}}]
	        toPorts: [{ports: [{port: 80, protocol: TCP}]}]
	      - toEndpoints: [{matchLabels: {app: db}}]
	  - name: db-in
	    endpointSelector: {matchLabels: {app: db}}
	    ingress:
	      - fromEndpoints: [{matchLabels: {app: web}}]
Y
IT_CHECK_DROPS=1  # each matrix: one policy drop per refused probe, no more
it_matrix s1 "$SRCS" "$DSTS" <<-'R'
	ok   *        *       * *
	fail *        web-1   * *
	fail *        db-1    * *
	fail client-1 *       * *
	ok   client-1 web-1   * tcp/80
	ok   other-1  web-1   * tcp/8080
R

# The traffic that must never notice an apply.
declare -A TRAFFIC=()
for mode in stream churn; do
	for fam in v4 v6; do
		if [ $fam = v4 ]; then dst=${IT_A4[web-1]}; else dst=${IT_A6[web-1]}; fi
		rm -f "$IT_WORK/ready.$mode.$fam"
		it_spawn pid nsenter -t "${IT_PID[client-1]}" -n -- "$IT_PY" "$IT_PROBE" "$mode" \
			--dst "$dst" --port 80 --ready "$IT_WORK/ready.$mode.$fam" > "$IT_WORK/traffic.$mode.$fam"
		TRAFFIC[$mode.$fam]=$pid
	done
done
for k in "${!TRAFFIC[@]}"; do
	for i in $(seq 300); do
		[ -e "$IT_WORK/ready.$k" ] && break
		kill -0 "${TRAFFIC[$k]}" 2>/dev/null || break
		sleep 0.01
	done
	it_check "$k to web-1 got going" test -e "$IT_WORK/ready.$k"
done
T_START=$SECONDS
sleep 1

# S2: other entries change: web-1 accepts db instead of other on TCP 8080
# (one entry added, one removed, the client's entry stays); client-1 gains
# a CIDR rule (a new ipcache entry); db-in goes (db-1 no longer enforces
# ingress); other-1 gets an ingress policy.
step s2 <<-'Y'
	policies:
	  - name: web-in
	    endpointSelector: {matchLabels: {app: web}}
	    ingress:
	      - fromEndpoints: [{matchLabels: {app: client}}]
	        toPorts: [{ports: [{port: 80, protocol: TCP}]}]
	      - fromEndpoints: [{matchLabels: {app: db}}]
	        toPorts: [{ports: [{port: 8080, protocol: TCP}]}]
	  - name: client-out
	    endpointSelector: {matchLabels: {app: client}}
	    egress:
	      - toEndpoints: [{matchLabels: {app: web}}]
	        toPorts: [{ports: [{port: 80, protocol: TCP}]}]
	      - toEndpoints: [{matchLabels: {app: db}}]
	      - toCIDR: [203.0.113.0/24]
	  - name: other-in
	    endpointSelector: {matchLabels: {app: other}}
	    ingress:
	      - fromEndpoints: [{matchLabels: {app: db}}]
	        toPorts: [{ports: [{port: 8080, protocol: UDP}]}]
Y
it_plan_check s2 "$IT_WORK/s2.plan.json" <<-'E'
	add    policy web-1 ingress 1002 TCP 8080 allow
	remove policy web-1 ingress 1003 TCP 8080 allow
	add    policy client-1 egress cidr:203.0.113.0/24 any 0 allow
	change endpoint db-1
	remove policy db-1 ingress 1000 any 0 allow
	remove policy db-1 ingress 1 any 0 allow
	change endpoint other-1
	add    policy other-1 ingress 1002 UDP 8080 allow
	add    policy other-1 ingress 1 any 0 allow
	add    ipcache 203.0.113.0/24
E
it_matrix s2 "$SRCS" "$DSTS" <<-'R'
	ok   *        *       * *
	fail *        web-1   * *
	fail *        other-1 * *
	fail client-1 *       * *
	ok   client-1 web-1   * tcp/80
	ok   client-1 db-1    * *
	ok   db-1     web-1   * tcp/8080
	ok   db-1     other-1 * udp/8080
R
sleep 1

# S3: web-1's own endpoint entry changes (egress enforced: to the world
# only; its replies to client-1 are replies of accepted connections) and
# other-1's rule moves from UDP to TCP. The client's entries stay.
step s3 <<-'Y'
	policies:
	  - name: web-in
	    endpointSelector: {matchLabels: {app: web}}
	    ingress:
	      - fromEndpoints: [{matchLabels: {app: client}}]
	        toPorts: [{ports: [{port: 80, protocol: TCP}]}]
	      - fromEndpoints: [{matchLabels: {app: db}}]
	        toPorts: [{ports: [{port: 8080, protocol: TCP}]}]
	    egress:
	      - toEntities: [world]
	  - name: client-out
	    endpointSelector: {matchLabels: {app: client}}
	    egress:
	      - toEndpoints: [{matchLabels: {app: web}}]
	        toPorts: [{ports: [{port: 80, protocol: TCP}]}]
	      - toEndpoints: [{matchLabels: {app: db}}]
	      - toCIDR: [203.0.113.0/24]
	  - name: other-in
	    endpointSelector: {matchLabels: {app: other}}
	    ingress:
	      - fromEndpoints: [{matchLabels: {app: db}}]
	        toPorts: [{ports: [{port: 8080, protocol: TCP}]}]
Y
it_plan_check s3 "$IT_WORK/s3.plan.json" <<-'E'
	change endpoint web-1
	add    policy web-1 egress 2 any 0 allow
	add    policy web-1 egress cidr:203.0.113.0/24 any 0 allow
	remove policy other-1 ingress 1002 UDP 8080 allow
	add    policy other-1 ingress 1002 TCP 8080 allow
E
it_matrix s3 "web-1 $SRCS" "$DSTS" <<-'R'
	ok   *        *       * *
	fail *        web-1   * *
	fail *        other-1 * *
	fail client-1 *       * *
	fail web-1    *       * *
	ok   client-1 web-1   * tcp/80
	ok   client-1 db-1    * *
	ok   db-1     web-1   * tcp/8080
	ok   db-1     other-1 * tcp/8080
R
sleep 1

# The churn has seen every apply that kept its flow allowed; stop it
# before the one that does not.
stop_traffic() { # KEY MIN-RATE: SIGTERM, wait, check it saw no error and
	# made at least MIN-RATE exchanges a second (a fifth of its pace)
	local k=$1 rate=$2 rc n secs=$((SECONDS - T_START - 1))
	kill -TERM "${TRAFFIC[$k]}" 2>/dev/null
	wait "${TRAFFIC[$k]}"
	rc=$?
	sed 's/^/   /' "$IT_WORK/traffic.$k"
	it_check "$k to web-1 saw no error (exit $rc)" test "$rc" -eq 0
	n=$(sed -n 's/.*: \([0-9]*\) exchanges, \([0-9]*\) ok.*/\2/p' "$IT_WORK/traffic.$k")
	it_check "$k to web-1 made ${n:-no} good exchanges in ${secs}s, want $((secs * rate)) at least" \
		test "${n:-0}" -ge $((secs * rate))
}
for k in churn.v4 churn.v6; do stop_traffic "$k" 10; done

# S4: the rules that allowed client-1 -> web-1 TCP 80 go, on both sides.
# New connections are refused; the established ones go on.
step s4 <<-'Y'
	policies:
	  - name: web-in
	    endpointSelector: {matchLabels: {app: web}}
	    ingress:
	      - fromEndpoints: [{matchLabels: {app: db}}]
	        toPorts: [{ports: [{port: 8080, protocol: TCP}]}]
	    egress:
	      - toEntities: [world]
	  - name: client-out
	    endpointSelector: {matchLabels: {app: client}}
	    egress:
	      - toEndpoints: [{matchLabels: {app: db}}]
	      - toCIDR: [203.0.113.0/24]
	  - name: other-in
	    endpointSelector: {matchLabels: {app: other}}
	    ingress:
	      - fromEndpoints: [{matchLabels: {app: db}}]
	        toPorts: [{ports: [{port: 8080, protocol: TCP}]}]
Y
it_plan_check s4 "$IT_WORK/s4.plan.json" <<-'E'
	remove policy web-1 ingress 1001 TCP 80 allow
	change endpoint client-1
	remove policy client-1 egress 1000 TCP 80 allow
E
it_matrix s4 "$SRCS" "$DSTS" <<-'R'
	ok   *        *       * *
	fail *        web-1   * *
	fail *        other-1 * *
	fail client-1 *       * *
	ok   client-1 db-1    * *
	ok   db-1     web-1   * tcp/8080
	ok   db-1     other-1 * tcp/8080
R
sleep 1
for k in stream.v4 stream.v6; do stop_traffic "$k" 2; done
it_log "the connections ran for $((SECONDS - T_START))s"
it_finish
