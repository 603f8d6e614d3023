#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2317 # functions called through it_check and w_check
#
# `sluice watch --metrics-address` (cli.md "watch", sluice(8) "Metrics"),
# the real binary against the real kernel:
#  1. The page: GET /metrics is 200 in the text format, and promtool
#     (Prometheus's own checker) finds nothing wrong with it; / is 404, a
#     POST 405. At start: state valid, one apply applied, a last success,
#     the duration histogram counted it; each map's entries and capacity
#     are what `sluice status -o json` says.
#  2. Denied traffic (ICMP and TCP from client-1 to web-1, which denies
#     client-1): sluice_drops_total{reason="policy-deny"} and its bytes
#     move, as status counts them; forwarded packets move.
#     Lost monitor events: the total index of sluice_monitor_lost,
#     written with bpftool on every CPU, is their sum on the page.
#  3. Drift: an endpoint entry deleted with bpftool is repaired by a
#     resync (--resync 1): sluice_drift_repairs_total{kind="endpoint"}
#     goes up by one; the last success and the duration count move.
#  4. An invalid file: sluice_state_valid 0 and
#     sluice_applies_total{result="invalid"} up; fixed: valid again.
#  5. Without the flag nothing listens; a port in use, a bad address:
#     exit 1 naming the address and why; the option is watch's only.
#  6. Every query of the Grafana dashboard (deploy/grafana/) parses, by
#     promtool check rules.
#
# promtool comes from tests/tools/promtool.sh (Debian's prometheus package
# unpacked into a cache, not installed), fetched before the test enters its
# namespaces (they have no network). With SLUICE_METRICS_RECORD=DIR set, a
# scrape every 0.5 s of the whole run is kept in DIR, and the traffic lasts
# longer: what deploy/grafana/render.py draws the dashboard from.
#
# Usage: test-metrics.sh [PATH-TO-SLUICE]
if [ -z "${SLUICE_IT_OUTSIDE:-}" ] && [ "$(id -u)" -eq 0 ]; then
	# outside the namespaces, where the network is: fetch (or find) it once
	SLUICE_PROMTOOL=$(bash "$(dirname "$0")/../tools/promtool.sh") || SLUICE_PROMTOOL=
	export SLUICE_PROMTOOL
fi
. "$(dirname "$0")/lib.sh"
it_init "$@"
. "$IT_DIR/watch_lib.sh"
for t in bpftool ss; do
	command -v "$t" >/dev/null || it_skip "needs $t"
done
PROM="$IT_PY $IT_DIR/prom.py"
RECORD=${SLUICE_METRICS_RECORD:-}

IT_LABELS[1000]="app: web"
IT_LABELS[1001]="app: client"
it_endpoint web-1 11 1000
it_endpoint client-1 21 1001
it_servers
D=$IT_WORK/state.d
mkdir -p "$D"
it_topology_yaml > "$D/00-topo.yaml"
cat > "$D/10-deny.yaml" <<-EOF
	version: 1
	policies:
	  - name: web-deny-client
	    endpointSelector: {matchLabels: {app: web}}
	    ingressDeny:
	      - fromEndpoints: [{matchLabels: {app: client}}]
	EOF

PORT=$($PROM port)
URL=http://127.0.0.1:$PORT/metrics
N=0
# scrape: the page into $IT_WORK/sN.prom ($S), checked by promtool
scrape() {
	N=$((N + 1))
	S=$IT_WORK/s$N.prom
	local got
	got=$($PROM get "$URL" "$S")
	it_check "scrape $N: 200 in the text format 0.0.4 (got $got)" \
		test "$got" = "200 text/plain;version=0.0.4;charset=utf-8"
	if [ -n "${SLUICE_PROMTOOL:-}" ]; then
		if "$SLUICE_PROMTOOL" check metrics < "$S" > "$IT_WORK/promtool.out" 2>&1; then
			it_ok
		else
			it_bad "scrape $N: promtool check metrics finds problems:"
			sed 's/^/   | /' "$IT_WORK/promtool.out"
		fi
	else
		it_bad "scrape $N: no promtool to check the page (tests/tools/promtool.sh failed)"
	fi
}
val() { $PROM val "${2:-$S}" "$1"; }
# gt A B: the number A is more than B
gt() { "$IT_PY" -c 'import sys; sys.exit(0 if float(sys.argv[1]) > float(sys.argv[2]) else 1)' "$1" "$2"; }
# eqv SERIES WANT: the value of SERIES in the last scrape
eqv() {
	local got
	got=$(val "$1")
	[ "$got" = "$2" ] && return 0
	echo "   $1 is $got, want $2"
	return 1
}
# denied N: N ICMP and N TCP probes from client-1 to web-1, all denied
denied() {
	local i
	for i in $(seq "$1"); do echo "p$i ${IT_A4[web-1]} icmp"; echo "t$i ${IT_A4[web-1]} tcp/80"; done |
		it_in "${IT_PID[client-1]}" "$IT_PY" "$IT_PROBE" client --timeout 0.5 --port-base $((30000 + RANDOM % 20000)) \
			> "$IT_WORK/probes.out"
	it_check "every probe from client-1 to web-1 is denied" test "$(grep -c ' ok$' "$IT_WORK/probes.out")" -eq 0
}

it_log "== 1. the page at start"
w_start m "$D" --metrics-address "127.0.0.1:$PORT" --resync 1
w_wait applied 1 20 '.*\(start\)' || it_die "watch did not apply the start state"
w_check "watch logs where it serves metrics" test "$(w_count metrics "^serving Prometheus metrics at $URL")" -eq 1
if [ -n "$RECORD" ]; then
	mkdir -p "$RECORD"
	it_spawn REC_PID $PROM record "$URL" "$RECORD" 0.5
fi
# status before and after the page: what traffic changes (conntrack)
# may change between two reads
"$IT_SLUICE" status -o json > "$IT_WORK/status0.json"
scrape
"$IT_SLUICE" status -o json > "$IT_WORK/status.json"
it_check "state valid at start" eqv sluice_state_valid 1
it_check "one apply applied" eqv 'sluice_applies_total{result="applied"}' 1
it_check "no apply invalid" eqv 'sluice_applies_total{result="invalid"}' 0
it_check "the duration histogram counted it" eqv sluice_apply_duration_seconds_count 1
it_check "it is under +Inf" eqv 'sluice_apply_duration_seconds_bucket{le="+Inf"}' 1
T0=$(val sluice_last_success_timestamp_seconds)
it_check "a last success, in Unix seconds ($T0)" gt "$T0" "$(($(date +%s) - 60))"
it_check "the datapath was read" eqv sluice_datapath_read_success 1
it_check "ss shows watch listening on 127.0.0.1:$PORT" \
	grep -q "127.0.0.1:$PORT .*pid=$W_PID," <<<"$(ss -Hltnp)"
out=$($PROM maps "$S" "$IT_WORK/status0.json" "$IT_WORK/status.json")
it_check "map entries and capacity are status's ($out)" grep -q '^same [1-9]' <<<"$out"
it_check "sluice_endpoints holds the 2 endpoints" eqv 'sluice_map_entries{map="sluice_endpoints",type="hash"}' 2
it_check "drift repairs by kind, 0 at start" eqv 'sluice_drift_repairs_total{kind="endpoint"}' 0
got=$($PROM get "http://127.0.0.1:$PORT/" "$IT_WORK/404")
it_check "GET / is 404 ($got)" test "${got%% *}" = 404
got=$($PROM get "$URL" "$IT_WORK/405" POST)
it_check "POST /metrics is 405 ($got)" test "${got%% *}" = 405

it_log "== 2. drops by reason after denied traffic"
D0=$(val 'sluice_drops_total{reason="policy-deny"}')
B0=$(val 'sluice_drop_bytes_total{reason="policy-deny"}')
F0=$(val sluice_forwarded_packets_total)
denied 5
if [ -n "$RECORD" ]; then
	for _ in $(seq 20); do denied 5; sleep 0.5; done
fi
scrape
D1=$(val 'sluice_drops_total{reason="policy-deny"}')
it_check "policy-deny drops went up by at least 10 ($D0 -> $D1)" test "$D1" -ge $((D0 + 10))
it_check "their bytes went up ($B0 -> $(val 'sluice_drop_bytes_total{reason="policy-deny"}'))" \
	gt "$(val 'sluice_drop_bytes_total{reason="policy-deny"}')" "$B0"
it_check "forwarded packets went up ($F0 -> $(val sluice_forwarded_packets_total))" \
	gt "$(val sluice_forwarded_packets_total)" "$F0"
st=$("$IT_SLUICE" status -o json | "$IT_PY" -c 'import json,sys; print(json.load(sys.stdin)["drops"]["policy-deny"]["packets"])')
it_check "policy-deny drops are what status says ($D1, status $st)" test "$D1" = "$st"
it_check "the same series in the datapath counters" \
	eqv 'sluice_datapath_packets_total{counter="forward"}' "$(val sluice_forwarded_packets_total)"

it_log "== 2b. lost monitor events: the total index of sluice_monitor_lost, summed over CPUs"
# No monitor runs, so nothing is lost: write the total by hand (bpftool
# writes the value to every possible CPU) and read it back through the page.
it_check "none lost yet" eqv sluice_monitor_events_lost_total 0
slots=$(bpftool -j map show pinned "$SLUICE_PIN_DIR/sluice_monitor_lost" |
	"$IT_PY" -c 'import json,sys; print(json.load(sys.stdin)["max_entries"] - 1)')
ncpu=$("$IT_PY" -c 'import sys
n = 0
for part in open("/sys/devices/system/cpu/possible").read().strip().split(","):
    a, _, b = part.partition("-")
    n += int(b or a) - int(a) + 1
print(n)')
if [ -n "$RECORD" ]; then
	# a recording is drawn as the dashboard's picture: real counts only
	it_log "   not in a recording run (SLUICE_METRICS_RECORD): no count is written by hand"
elif bpftool map update pinned "$SLUICE_PIN_DIR/sluice_monitor_lost" key "$slots" 0 0 0 value 7 0 0 0 0 0 0 0; then
	scrape
	it_check "7 lost on each of $ncpu CPUs: $((7 * ncpu))" eqv sluice_monitor_events_lost_total $((7 * ncpu))
else
	it_bad "bpftool could not write sluice_monitor_lost[$slots]"
fi

it_log "== 3. a drift repair"
R0=$(val 'sluice_drift_repairs_total{kind="endpoint"}')
C0=$(val sluice_apply_duration_seconds_count)
w_mark
key=$(bpftool -j map dump pinned "$SLUICE_PIN_DIR/sluice_endpoints" |
	"$IT_PY" -c 'import json,sys; print(" ".join(str(int(b,16)) for b in json.load(sys.stdin)[0]["key"]))')
# shellcheck disable=SC2086
it_check "bpftool deletes an endpoint entry" bpftool map delete pinned "$SLUICE_PIN_DIR/sluice_endpoints" key $key
w_wait drift 1 5 || it_bad "no drift repaired within 5 s (--resync 1)"
scrape
it_check "drift repairs of kind endpoint: $R0 -> $(val 'sluice_drift_repairs_total{kind="endpoint"}')" \
	eqv 'sluice_drift_repairs_total{kind="endpoint"}' $((R0 + 1))
it_check "no repair of another kind" \
	test "$(grep '^sluice_drift_repairs_total{' "$S" | grep -v 'kind="endpoint"' | grep -cv ' 0$')" -eq 0
T1=$(val sluice_last_success_timestamp_seconds)
it_check "the last success moved ($T0 -> $T1)" gt "$T1" "$T0"
it_check "the duration count moved ($C0 -> $(val sluice_apply_duration_seconds_count))" \
	gt "$(val sluice_apply_duration_seconds_count)" "$C0"
it_check "sluice_endpoints holds 2 again" eqv 'sluice_map_entries{map="sluice_endpoints",type="hash"}' 2

it_log "== 4. an invalid file, then fixed"
I0=$(val 'sluice_applies_total{result="invalid"}')
w_mark
printf 'version: 1\nendpoints: 5\n' > "$D/20-bad.yaml"
w_wait rejected 1 5 || it_bad "the invalid file was not rejected"
scrape
it_check "state not valid" eqv sluice_state_valid 0
it_check "applies invalid: $I0 -> $(val 'sluice_applies_total{result="invalid"}')" \
	eqv 'sluice_applies_total{result="invalid"}' $((I0 + 1))
[ -n "$RECORD" ] && sleep 5
w_mark
rm "$D/20-bad.yaml"
w_wait 'applied|unchanged' 1 5 '.*\(change\)' || it_bad "the fixed directory was not applied"
scrape
it_check "state valid again" eqv sluice_state_valid 1
it_check "still one invalid" eqv 'sluice_applies_total{result="invalid"}' $((I0 + 1))
if [ -n "$RECORD" ]; then
	for _ in $(seq 10); do denied 3; sleep 0.5; done
	kill "$REC_PID"
	wait "$REC_PID" 2>/dev/null
	it_log "recorded $(find "$RECORD" -name '*.prom' | wc -l) scrapes in $RECORD"
fi

it_log "== 5. a port in use, a bad address; without the flag"
"$IT_SLUICE" watch "$D" --metrics-address "127.0.0.1:$PORT" > /dev/null 2> "$IT_WORK/inuse.err"
rc=$?
it_check "a second watch on the same port exits 1 ($rc)" test "$rc" -eq 1
it_check "...naming the address and why: $(cat "$IT_WORK/inuse.err")" \
	grep -q "^sluice watch: --metrics-address 127.0.0.1:$PORT: Address already in use" "$IT_WORK/inuse.err"
for bad in "127.0.0.1" "::1:$PORT" "localhost:$PORT" "127.0.0.1:70000" "192.0.2.1:$PORT"; do
	"$IT_SLUICE" watch "$D" --metrics-address "$bad" > /dev/null 2> "$IT_WORK/bad.err"
	rc=$?
	it_check "--metrics-address $bad: exit 1 ($rc): $(cat "$IT_WORK/bad.err")" \
		grep -q "^sluice watch: --metrics-address $bad: " "$IT_WORK/bad.err"
	[ "$rc" -eq 1 ] || it_bad "--metrics-address $bad: exit $rc, want 1"
done
"$IT_SLUICE" status --metrics-address "127.0.0.1:$PORT" > /dev/null 2> "$IT_WORK/status.err"
it_check "status refuses --metrics-address" grep -q 'does not apply to this command' "$IT_WORK/status.err"
w_stop TERM
it_check "watch exits 0 on SIGTERM" test "$W_RC" = 0
got=$($PROM get "$URL" "$IT_WORK/gone" 2>&1)
it_check "after it exits, nothing answers on the port" test "${got%% *}" != 200
w_start plain "$D" --resync 0
w_wait 'applied|unchanged' 1 20 '.*\(start\)' || it_bad "watch without the flag did not start"
it_check "watch without --metrics-address has no TCP or UDP socket" test -z "$(ss -Hanp -t -u | grep "pid=$W_PID,")"
w_stop TERM
it_log "== 6. the dashboard's PromQL parses (promtool check rules)"
# each query of deploy/grafana/sluice-dashboard.json as a recording rule,
# Grafana's variables given values
"$IT_PY" - "$IT_DIR/../../deploy/grafana/sluice-dashboard.json" > "$IT_WORK/rules.yaml" <<-'PY'
	import json, sys
	d = json.load(open(sys.argv[1]))
	rules = [{"record": "dashboard:panel%d_%s" % (p["id"], t["refId"]),
	          "expr": t["expr"].replace("$__rate_interval", "1m").replace("$instance", ".*")}
	         for p in d["panels"] for t in p["targets"]]
	print(json.dumps({"groups": [{"name": "dashboard", "rules": rules}]}))
PY
if [ -z "${SLUICE_PROMTOOL:-}" ]; then
	it_bad "no promtool to check the dashboard's queries"
elif "$SLUICE_PROMTOOL" check rules "$IT_WORK/rules.yaml" > "$IT_WORK/rules.out" 2>&1; then
	it_check "promtool checked the $(grep -o "\"record\"" "$IT_WORK/rules.yaml" | wc -l) queries: $(grep SUCCESS "$IT_WORK/rules.out")" grep -q 'SUCCESS: [1-9][0-9]* rules found' "$IT_WORK/rules.out"
else
	it_bad "promtool check rules finds problems in the dashboard's queries:"
	sed 's/^/   | /' "$IT_WORK/rules.out"
fi
"$IT_SLUICE" flush --yes -q > /dev/null 2>&1 || it_bad "flush"
it_finish
