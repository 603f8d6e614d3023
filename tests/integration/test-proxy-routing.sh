#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The L7 proxy redirect's policy routing as owned objects (issue 18): a
# state with a proxyPort rule makes apply add, per family, the rule
# `fwmark 0xa00/0xf00 lookup 20928 pref 81 proto 81` and the route
# `local default dev lo table 20928 proto 81`; a second apply writes
# nothing; `ip rule del` and `ip route del` are planned and repaired as
# drift; a state without proxyPort removes them (rules first); flush
# removes them; foreign rules (`fwmark 0x5 lookup 100`, one at sluice's
# priority, mark and table of another protocol) and a foreign route in
# another table are never touched. No traffic: the redirect itself is the
# datapath's.
#
# Usage: test-proxy-routing.sh [PATH-TO-SLUICE]
. "$(dirname "$0")/lib.sh"
it_init "$@"

IT_LABELS[1000]="app: web"
IT_LABELS[1001]="app: client"
it_endpoint web-1 11 1000
it_endpoint client-1 21 1001

policy() { # NAME [PROXY-PORT-FLOW]
	it_state "$1" <<-EOF
		policies:
		  - name: web-in
		    endpointSelector: {matchLabels: {app: web}}
		    ingress:
		      - fromEndpoints: [{matchLabels: {app: client}}]
		        toPorts: [{ports: [{port: 80, protocol: TCP}]${2:+, $2}}]
	EOF
}
PROXY=$(policy proxy "proxyPort: 15001")
PLAIN=$(policy plain)

rules() { ip -4 rule; ip -6 rule; }
# sluice's, as iproute2 prints them
has_rule4() { ip -4 rule | grep -qx $'81:\tfrom all fwmark 0xa00/0xf00 lookup 20928 proto 81'; }
has_rule6() { ip -6 rule | grep -qx $'81:\tfrom all fwmark 0xa00/0xf00 lookup 20928 proto 81'; }
has_route4() { ip -4 route show table 20928 | grep -qx 'local default dev lo proto 81 scope host '; }
has_route6() { ip -6 route show table 20928 | grep -q '^local default dev lo proto 81 metric 1024'; }
none_of_sluices() {
	! rules | grep -q 'proto 81' &&
		[ -z "$(ip -4 route show table all proto 81)" ] && [ -z "$(ip -6 route show table all proto 81)" ]
}

# ---- foreign rules and routes, made before sluice runs ----
ip rule add fwmark 0x5 lookup 100 || it_die "a foreign rule"
ip rule add fwmark 0xa00/0xf00 lookup 20928 pref 81 proto static || it_die "a foreign rule at sluice's priority"
ip -6 rule add fwmark 0x5 lookup 100 || it_die "a foreign IPv6 rule"
ip route add local 0.0.0.0/0 dev lo table 100 || it_die "a foreign route"
foreign() { rules | grep -v 'proto 81'; ip -4 route show table 100; }
FOREIGN=$(foreign)
it_check "no rule or route of sluice's before apply" none_of_sluices

# ---- apply adds them; the plan says them ----
it_sluice 2 diff "$PROXY"
it_check "plan: the IPv4 local route" grep -qx '  + route local 0.0.0.0/0 dev lo table 20928' "$IT_OUT"
it_check "plan: the IPv6 local route" grep -qx '  + route local ::/0 dev lo table 20928' "$IT_OUT"
it_check "plan: the IPv4 rule" grep -qx '  + rule ipv4 pref 81 fwmark 0xa00/0xf00 lookup 20928' "$IT_OUT"
it_check "plan: the IPv6 rule" grep -qx '  + rule ipv6 pref 81 fwmark 0xa00/0xf00 lookup 20928' "$IT_OUT"
it_apply "$PROXY"
it_check "ip rule: sluice's IPv4 rule" has_rule4
it_check "ip -6 rule: sluice's IPv6 rule" has_rule6
it_check "ip route show table 20928: local default dev lo" has_route4
it_check "ip -6 route show table 20928: local default dev lo" has_route6
it_check "foreign rules and routes untouched by apply" test "$(foreign)" = "$FOREIGN"
it_converged "$PROXY"
it_sluice 0 status
it_check "status shows the rule" grep -q '^  rule ipv4 pref 81 fwmark 0xa00/0xf00 lookup 20928$' "$IT_OUT"
it_check "status shows the local route" grep -q '^  route local ::/0 dev lo metric 1024 table 20928$' "$IT_OUT"
it_sluice 0 status -o json
it_check "status -o json: two rules, two routes in proxyRouting" "$IT_PY" -c '
import json, sys
p = json.load(open(sys.argv[1]))["proxyRouting"]
sys.exit(not (len(p["rules"]) == 2 and len(p["routes"]) == 2 and
              {r["table"] for r in p["rules"]} == {20928} and {r["fwmark"] for r in p["rules"]} == {0xa00}))' "$IT_OUT"
it_sluice 0 show
cp "$IT_OUT" "$IT_WORK/shown.yaml"
it_check "show gives back the proxy port" grep -q 'proxyPort: 15001' "$IT_WORK/shown.yaml"
it_sluice 0 diff "$IT_WORK/shown.yaml"
it_check "show | diff: no changes (the routing follows from the proxy port)" grep -qx 'No changes.' "$IT_OUT"

# ---- drift: repaired by the next apply ----
ip rule del fwmark 0xa00/0xf00 lookup 20928 pref 81 proto 81 || it_die "ip rule del"
it_sluice 2 diff "$PROXY"
it_check "rule deleted: planned again" grep -qx '  + rule ipv4 pref 81 fwmark 0xa00/0xf00 lookup 20928' "$IT_OUT"
it_check "rule deleted: nothing else planned" grep -qx 'Plan: 1 to add, 0 to change, 0 to remove.' "$IT_OUT"
it_apply "$PROXY"
it_check "rule deleted: made again" has_rule4
it_check "the foreign rule at sluice's priority is still there" \
	bash -c "ip -4 rule | grep -qx $'81:\tfrom all fwmark 0xa00/0xf00 lookup 20928 proto static'"
ip -6 route del local ::/0 dev lo table 20928 || it_die "ip route del"
it_sluice 2 diff "$PROXY"
it_check "route deleted: planned again" grep -qx '  + route local ::/0 dev lo table 20928' "$IT_OUT"
it_apply "$PROXY"
it_check "route deleted: made again" has_route6
it_converged "$PROXY"

# ---- a state without proxyPort removes them, rules first ----
it_sluice 2 diff "$PLAIN"
it_check "plan: the rules removed before the routes" "$IT_PY" -c '
import sys
lines = [l.strip() for l in open(sys.argv[1]) if l.startswith("  - r")]
want = ["- rule ipv4 pref 81 fwmark 0xa00/0xf00 lookup 20928", "- rule ipv6 pref 81 fwmark 0xa00/0xf00 lookup 20928",
        "- route local 0.0.0.0/0 dev lo table 20928", "- route local ::/0 dev lo table 20928"]
sys.exit(lines != want)' "$IT_OUT"
it_apply "$PLAIN"
it_check "without proxyPort: no rule or route of sluice's" none_of_sluices
it_check "foreign rules and routes untouched" test "$(foreign)" = "$FOREIGN"
it_converged "$PLAIN"

# ---- flush removes them, and nothing else ----
it_apply "$PROXY"
it_check "applied again" has_rule4
it_sluice 0 flush --yes
it_check "flush: sluice's rules and routes are gone" none_of_sluices
it_check "flush: the foreign rule 'fwmark 0x5 lookup 100' is still there" \
	bash -c "ip -4 rule | grep -q 'from all fwmark 0x5 lookup 100'"
it_check "flush: foreign rules and routes untouched" test "$(foreign)" = "$FOREIGN"
it_sluice 0 flush --yes
it_check "a second flush has nothing to do" grep -qx "No changes." "$IT_OUT"

it_finish
