#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The L7 redirect (proxyPort) with real proxies and real traffic:
#   - Squid (Debian's package, configured as docs/l7.md tells a user) in
#     front of an HTTP server in web-1: GET /public is 200 and reaches the
#     server, /admin is 403 from Squid and never reaches it; IPv4 and IPv6.
#   - a trivial transparent proxy (tproxy.py) on other ports: the accepted
#     socket's local address is the original destination and its peer the
#     client (ingress and egress rules, both families, through a service
#     frontend); its onward connection (SO_MARK 0xB00) is neither
#     redirected again nor judged.
#   - a proxy port nothing listens on: refused at once (RST, not a
#     timeout), counted as proxy-unavailable in status.
#   - what is never redirected: another port, UDP on a redirected port,
#     traffic the policy denies.
#   - plan, show and status in words; a second apply makes no kernel write;
#     a policy change that adds and removes a proxyPort leaves an unrelated
#     established connection alone; sluice's routing rule deleted by hand
#     is repaired; flush leaves no rule or route of sluice's.
#
# Usage: test-proxy.sh [PATH-TO-SLUICE]
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/l7proxy.sh"
it_init "$@"
command -v squid >/dev/null || [ -x /usr/sbin/squid ] || it_skip "needs squid (Debian package squid)"
PATH=$PATH:/usr/sbin

IT_LABELS[1000]="app: web"
IT_LABELS[1001]="app: client"
IT_LABELS[1002]="app: other"
it_endpoint web-1 11 1000
it_endpoint client-1 21 1001
it_endpoint other-1 31 1002
it_servers
l7_http_server web-1 :: 8000 "$IT_WORK/http.log"

SQUID_PORT=15001 INGRESS_PORT=15010 EGRESS_PORT=15011 NOBODY_PORT=15019  # Squid also takes 15002
TABLE=20928

# The state: web-1 takes HTTP on 8000 through Squid and TCP on 80 through
# the ingress proxy (UDP on 80 directly: protocol ANY); 8080 directly.
# client-1's egress to other-1's 8080 goes through the egress proxy;
# other-1's port 80 names a proxy port nothing listens on. A service
# frontend leads to web-1's port 80.
policies_yaml() { # WEB-80-LINE: web-1's port 80 rule
	cat <<-Y
		datapath: {underlayDevice: wld}
		services:
		  - name: web
		    frontend: {ip: 10.96.0.10, port: 80, protocol: TCP}
		    backends: [{ip: 10.1.0.11, port: 80}]
		  - name: web6
		    frontend: {ip: "fd00:96::10", port: 80, protocol: TCP}
		    backends: [{ip: "fd00:1::11", port: 80}]
		policies:
		  - name: web-in
		    endpointSelector: {matchLabels: {app: web}}
		    ingress:
		      - fromEndpoints: [{matchLabels: {app: client}}]
		        toPorts:
		          - ports: [{port: 8000, protocol: TCP}]
		            proxyPort: $SQUID_PORT
		      - fromEndpoints: [{matchLabels: {app: client}}]
		        toPorts:
		$1
		      - fromEndpoints: [{matchLabels: {app: client}}]
		        toPorts: [{ports: [{port: 8080, protocol: TCP}]}]
		      - fromEntities: [world]
		        toPorts:
		          - ports: [{port: 80, protocol: TCP}]
		            proxyPort: $INGRESS_PORT
		  - name: client-out
		    endpointSelector: {matchLabels: {app: client}}
		    egress:
		      - toEndpoints: [{matchLabels: {app: other}}]
		        toPorts:
		          - ports: [{port: 8080, protocol: TCP}]
		            proxyPort: $EGRESS_PORT
		      - toEndpoints: [{matchLabels: {app: web}}]
		        toPorts:
		          - ports: [{port: 8081, protocol: TCP}]
		            proxyPort: $EGRESS_PORT
		      - toEndpoints: [{matchLabels: {app: web}}]
		      - toEndpoints: [{matchLabels: {app: other}}]
		  - name: other-in
		    endpointSelector: {matchLabels: {app: other}}
		    ingress:
		      - fromEndpoints: [{matchLabels: {app: client}}]
		        toPorts:
		          - ports: [{port: 80, protocol: TCP}]
		            proxyPort: $NOBODY_PORT
		      - fromEndpoints: [{matchLabels: {app: client}}]
		        toPorts: [{ports: [{port: 8080, protocol: TCP}]}]
	Y
}
S1=$(policies_yaml "          - ports: [{port: 80}]
            proxyPort: $INGRESS_PORT" | it_state s1)
S2=$(policies_yaml "          - ports: [{port: 80}]" | it_state s2)

# ---- plan and apply ----
it_sluice 0 validate "$S1"
it_check "validate warns that UDP on port 80 goes without the proxy" \
	grep -q "toPorts\[0\].ports\[0\].port: with proxyPort only TCP connections go to the proxy" "$IT_ERR"
it_sluice 2 diff "$S1"
it_check "the plan says 'allow via proxy $INGRESS_PORT' (ingress, client's identity, 80/TCP)" \
	grep -q "+ policy ingress identity 1001 (app=client) 80/TCP allow via proxy $INGRESS_PORT" "$IT_OUT"
it_check "the plan says 'allow via proxy $EGRESS_PORT' (egress to other-1's 8080/TCP)" \
	grep -q "+ policy egress identity 1002 (app=other) 8080/TCP allow via proxy $EGRESS_PORT" "$IT_OUT"
it_check "UDP on port 80 is allowed without the proxy" \
	grep -q "+ policy ingress identity 1001 (app=client) 80/UDP allow$" "$IT_OUT"
it_check "the plan adds sluice's routing rule for marked packets" grep -q "rule.*0xa00/0xf00" "$IT_OUT"
it_apply "$S1"
it_converged "$S1"
it_check "ip rule: fwmark 0xa00/0xf00 lookup $TABLE" sh -c "ip rule show | grep -q 'fwmark 0xa00/0xf00 lookup $TABLE'"
it_check "ip -6 rule: fwmark 0xa00/0xf00 lookup $TABLE" sh -c "ip -6 rule show | grep -q 'fwmark 0xa00/0xf00 lookup $TABLE'"
it_check "table $TABLE: local default dev lo" sh -c "ip route show table $TABLE | grep -q '^local default dev lo'"
it_check "table $TABLE (IPv6): local default dev lo" sh -c "ip -6 route show table $TABLE | grep -q '^local default dev lo'"

# ---- the proxies ----
l7_squid_start "$IT_ROOT/squid" "$SQUID_PORT"
for p in "$INGRESS_PORT" "$EGRESS_PORT"; do
	rm -f "$IT_WORK/tproxy.$p.ready"
	it_spawn pid "$IT_PY" "$IT_DIR/tproxy.py" --port "$p" --log "$IT_WORK/tproxy.$p.log" \
		--ready "$IT_WORK/tproxy.$p.ready"
	for i in $(seq 300); do [ -e "$IT_WORK/tproxy.$p.ready" ] && break; sleep 0.01; done
	[ -e "$IT_WORK/tproxy.$p.ready" ] || it_die "tproxy.py on $p did not start"
	: > "$IT_WORK/tproxy.$p.log"
done

# probe_is WANT SRC LABEL ADDR KIND [TIMEOUT]: one probe (probe.py client)
# has the result WANT (ok, fail). Each probe gets a source port of its own
# (not in a subshell: the counter must move), so that no probe rides on an
# earlier flow's conntrack entry or socket.
probe_is() {
	local want=$1 src=$2 label=$3 addr=$4 kind=$5 t=${6:-2} got
	IT_PORT_BASE=$((IT_PORT_BASE + 1))
	got=$(echo "$label $addr $kind" | it_in "${IT_PID[$src]}" "$IT_PY" "$IT_PROBE" client --timeout "$t" \
		--port-base "$IT_PORT_BASE" | awk '{ print $NF }')
	[ "$got" = "$want" ]
}
# proxied LOG CLIENT-ADDR DST-ADDR DST-PORT: the proxy accepted a connection
# from CLIENT-ADDR whose local address was DST-ADDR:DST-PORT.
proxied() {
	grep -q "^accept $2 [0-9]* $3 $4\$" "$1"
}

# ---- Squid: a real layer-7 decision ----
for a in 10.1.0.11 "fd00:1::11"; do
	h=$a; case $a in *:*) h="[$a]" ;; esac
	r=$(l7_http_get client-1 "$a" 8000 /public)
	it_check "GET http://$h:8000/public through Squid: 200 (got: $r)" test "${r%% *}" = 200
	r=$(l7_http_get client-1 "$a" 8000 /admin)
	it_check "GET http://$h:8000/admin through Squid: 403 (got: $r)" test "${r%% *}" = 403
done
sed 's/^/   http.log | /' "$IT_WORK/http.log"
l7_squid_log | sed 's/^/   squid | /'
it_check "the server saw both GET /public (IPv4, IPv6)" test "$(grep -c '^GET /public ' "$IT_WORK/http.log")" -eq 2
it_check "the server never saw /admin" sh -c "! grep -q ' /admin' '$IT_WORK/http.log'"
it_check "the server saw Squid's connection from the node (IPv4)" grep -q "^GET /public 192.168.50.1 " "$IT_WORK/http.log"
it_check "Squid saw the client and the original destination (IPv4)" \
	grep -q ' 10.1.0.21 [0-9]* 10.1.0.11 8000 GET /public 200 ' "$IT_ROOT/squid/access.log"
it_check "Squid saw the client and the original destination (IPv6)" \
	grep -q ' fd00:1::21 [0-9]* fd00:1::11 8000 GET /admin 403 ' "$IT_ROOT/squid/access.log"
it_check "Squid's onward connections carried mark 0xb00" grep -q ' 0xb00$' "$IT_ROOT/squid/access.log"

# ---- the ingress proxy: transparency, both families, via a service ----
for fam in 4 6; do
	if [ $fam = 4 ]; then w=10.1.0.11 c=10.1.0.21 fe=10.96.0.10; else w=fd00:1::11 c=fd00:1::21 fe=fd00:96::10; fi
	it_check "client-1 -> web-1 tcp/80 (IPv$fam) through the ingress proxy" probe_is ok client-1 c $w tcp/80
	it_check "the proxy's socket: local $w:80, peer $c (IPv$fam)" proxied "$IT_WORK/tproxy.$INGRESS_PORT.log" "$c" "$w" 80
	n=$(grep -c . "$IT_WORK/tproxy.$INGRESS_PORT.log")
	it_check "client-1 -> frontend $fe:80 (IPv$fam) through the ingress proxy" probe_is ok client-1 c $fe tcp/80
	it_check "the service's flow reached the proxy as $w:80 (IPv$fam)" \
		test "$(grep -c "^accept $c [0-9]* $w 80\$" "$IT_WORK/tproxy.$INGRESS_PORT.log")" -ge 2
	it_check "client-1 -> web-1 udp/80 (IPv$fam) directly" probe_is ok client-1 c $w udp/80
	it_check "client-1 -> web-1 tcp/8080 (IPv$fam) directly" probe_is ok client-1 c $w tcp/8080
	it_check "world -> web-1 tcp/8080 (IPv$fam) stays denied" probe_is fail world x $w tcp/8080 1
	# From outside the node, through datapath.underlayDevice (wld), where
	# sluice_from_netdev delivers the flow's packets after the first.
	if [ $fam = 4 ]; then c=192.168.99.2; else c=2001:db8:99::2; fi
	it_check "world -> web-1 tcp/80 (IPv$fam) through the ingress proxy" probe_is ok world x $w tcp/80
	it_check "the proxy's socket: local $w:80, peer $c (IPv$fam)" proxied "$IT_WORK/tproxy.$INGRESS_PORT.log" "$c" "$w" 80
done
it_check "the ingress proxy never saw port 8080" sh -c "! grep -q ' 8080\$' '$IT_WORK/tproxy.$INGRESS_PORT.log'"
"$IT_SLUICE" status --no-color > "$IT_WORK/status.txt"
it_check "status lists sluice_from_netdev on wld" grep -q "wld  *tc ingress from_netdev  *current" "$IT_WORK/status.txt"
it_check "Squid never saw port 80 or 8080" sh -c "! grep -q -e ' 10.1.0.11 80 ' -e ' 8080 ' '$IT_ROOT/squid/access.log'"

# ---- the egress proxy ----
for fam in 4 6; do
	if [ $fam = 4 ]; then o=10.1.0.31 c=10.1.0.21; else o=fd00:1::31 c=fd00:1::21; fi
	it_check "client-1 -> other-1 tcp/8080 (IPv$fam) through the egress proxy" probe_is ok client-1 c $o tcp/8080
	it_check "the egress proxy's socket: local $o:8080, peer $c (IPv$fam)" \
		proxied "$IT_WORK/tproxy.$EGRESS_PORT.log" "$c" "$o" 8080
done
# web-1's ingress does not allow client-1 on 8081: the egress proxy's
# connection would not be judged, so web-1's policy judges client-1's SYN.
it_check "client-1 -> web-1 tcp/8081 through the egress proxy: web-1's ingress still denies it" \
	probe_is fail client-1 c 10.1.0.11 tcp/8081 1
it_check "the egress proxy saw nothing else" test "$(grep -c . "$IT_WORK/tproxy.$EGRESS_PORT.log")" -eq 2

# ---- nothing listening: refused at once ----
refusal() { # SRC ADDR PORT: "refused SECONDS" or what happened
	it_in "${IT_PID[$1]}" "$IT_PY" - "$2" "$3" <<-'PY'
		import socket, sys, time
		a, p = sys.argv[1], int(sys.argv[2])
		s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET)
		s.settimeout(5)
		t = time.monotonic()
		try:
		    s.connect((a, p))
		    print("connected")
		except ConnectionRefusedError:
		    print("refused %.3f" % (time.monotonic() - t))
		except OSError as e:
		    print(type(e).__name__, "%.3f" % (time.monotonic() - t))
	PY
}
u0=$("$IT_SLUICE" status -o json | "$IT_PY" -c 'import json,sys; print(json.load(sys.stdin)["drops"]["proxy-unavailable"]["packets"])')
for a in 10.1.0.31 fd00:1::31; do
	r=$(refusal client-1 "$a" 80)
	it_check "client-1 -> other-1 $a:80, proxy port $NOBODY_PORT with nothing listening: refused at once ($r)" \
		sh -c "case '$r' in 'refused 0.'*) exit 0 ;; esac; exit 1"
done
u1=$("$IT_SLUICE" status -o json | "$IT_PY" -c 'import json,sys; print(json.load(sys.stdin)["drops"]["proxy-unavailable"]["packets"])')
it_check "status counts both as proxy-unavailable ($u0 -> $u1)" test "$((u1 - u0))" -eq 2
# A proxy that comes later, bound to the loopback address: found too.
rm -f "$IT_WORK/tproxy.lo.ready"
it_spawn pid "$IT_PY" "$IT_DIR/tproxy.py" --port "$NOBODY_PORT" --bind 127.0.0.1 --log "$IT_WORK/tproxy.lo.log" \
	--ready "$IT_WORK/tproxy.lo.ready"
for i in $(seq 300); do [ -e "$IT_WORK/tproxy.lo.ready" ] && break; sleep 0.01; done
it_check "client-1 -> other-1 tcp/80 once a proxy listens on 127.0.0.1:$NOBODY_PORT" probe_is ok client-1 c 10.1.0.31 tcp/80
it_check "... its socket: local 10.1.0.31:80, peer 10.1.0.21" proxied "$IT_WORK/tproxy.lo.log" 10.1.0.21 10.1.0.31 80
kill "$pid"
"$IT_SLUICE" status --no-color > "$IT_WORK/status.txt"
it_check "status prints proxy-unavailable" grep -q "^  proxy-unavailable  *2 " "$IT_WORK/status.txt"
it_check "status counts packets handed to a proxy" sh -c "grep -q '^  proxy  *[1-9]' '$IT_WORK/status.txt'"

# ---- show ----
it_sluice 0 show
it_check "show writes the proxy port back" grep -q "proxyPort: $INGRESS_PORT" "$IT_OUT"
"$IT_SLUICE" show | "$IT_SLUICE" apply - -v > "$IT_WORK/reshow.out" 2>&1
it_check "show | apply - changes nothing" grep -q 'kernel writes: 0$' "$IT_WORK/reshow.out"

# ---- a policy change adds and removes proxyPort; a stream lives on ----
rm -f "$IT_WORK/ready.stream"
it_spawn STREAM nsenter -t "${IT_PID[client-1]}" -n -- "$IT_PY" "$IT_PROBE" stream --dst 10.1.0.11 --port 8080 \
	--ready "$IT_WORK/ready.stream" > "$IT_WORK/stream.out"
for i in $(seq 300); do [ -e "$IT_WORK/ready.stream" ] && break; sleep 0.01; done
it_check "a stream client-1 -> web-1:8080 got going" test -e "$IT_WORK/ready.stream"
n0=$(grep -c . "$IT_WORK/tproxy.$INGRESS_PORT.log")
it_apply "$S2"
it_converged "$S2"
it_check "without proxyPort, client-1 -> web-1 tcp/80 goes directly" probe_is ok client-1 c 10.1.0.11 tcp/80
it_check "... and the proxy saw nothing of it" test "$(grep -c . "$IT_WORK/tproxy.$INGRESS_PORT.log")" -eq "$n0"
it_apply "$S1"
it_check "with proxyPort again, client-1 -> web-1 tcp/80 is proxied" probe_is ok client-1 c 10.1.0.11 tcp/80
it_check "... the proxy saw it" test "$(grep -c . "$IT_WORK/tproxy.$INGRESS_PORT.log")" -eq $((n0 + 1))
sleep 0.5
kill -TERM "$STREAM"; wait "$STREAM"; rc=$?
sed 's/^/   /' "$IT_WORK/stream.out"
it_check "the stream saw no error across both changes (exit $rc)" test "$rc" -eq 0

# ---- drift: sluice's rule deleted by hand ----
ip rule del fwmark 0xa00/0xf00 lookup "$TABLE" || it_bad "ip rule del"
it_check "without the rule, the ingress proxy is not reached" probe_is fail client-1 c 10.1.0.11 tcp/80 1
it_sluice 2 diff "$S1"
it_check "diff plans the rule back" grep -q "+ .*rule.*0xa00/0xf00" "$IT_OUT"
it_apply "$S1"
it_converged "$S1"
it_check "repaired: client-1 -> web-1 tcp/80 through the proxy again" probe_is ok client-1 c 10.1.0.11 tcp/80

# ---- flush ----
l7_squid_stop
it_sluice 0 flush --yes
it_check "flush removes sluice's rules" sh -c "! ip rule show | grep -q 'lookup $TABLE' && ! ip -6 rule show | grep -q 'lookup $TABLE'"
it_check "flush removes sluice's table" sh -c "[ -z \"\$(ip route show table $TABLE)\" ] && [ -z \"\$(ip -6 route show table $TABLE)\" ]"
it_finish
