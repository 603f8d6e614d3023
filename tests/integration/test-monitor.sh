#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# sluice monitor (cli.md "monitor") with real traffic. Three endpoints:
# web (ingress: TCP 80 and UDP 80/9 from client allowed, TCP 8080 from
# client denied by an ingressDeny rule, anything else refused), client
# (no policy) and db (egress: TCP 80 to web only, and a deny of the
# world's /24 by CIDR). Monitors run in the
# background while probes cross the node. Checks:
# - with nothing applied, monitor exits 1 and says so;
# - the text line of a drop: time, "drop", the reason as status names it
#   (policy-deny for the deny rule, policy for what no rule allows),
#   direction, endpoint name and interface, addr:port -> addr:port, the
#   protocol, both identities with their labels; ICMP too (no ports); a
#   CIDR identity named cidr:PREFIX (the ipcache's prefix that holds it);
# - -o json: every line parses and the drop and verdict objects carry the
#   same fields (type, reason/verdict, endpoint, direction, protocol,
#   source/destination address, port, identity, labels);
# - --type verdict: "allow" for the allowed connection, "deny
#   (policy-deny)" for the denied one;
# - --type trace --endpoint client-1 and --endpoint db-1: only that
#   endpoint's events;
# - two monitors at once both get the same drop (the same line);
# - SIGINT and SIGTERM each end a monitor with exit 0 within 1 s and a
#   summary line on stderr;
# - after every monitor has exited, sluice_monitor holds only zeros (slots
#   and the union flag); a monitor killed with SIGKILL leaves its slot,
#   which the next monitor takes back;
# - lost events: a text and a JSON monitor whose standard output is a pipe
#   nobody reads during a UDP flood report "lost N events" /
#   {"type":"lost","count":N}, N > 0, and N is what the kernel counted
#   (sluice_monitor_lost: the monitor's slot, and index 8 for all).
#
# Usage: test-monitor.sh [PATH-TO-SLUICE]
. "$(dirname "$0")/lib.sh"
it_init "$@"
command -v bpftool >/dev/null || it_skip "needs bpftool"

check() { # DESCRIPTION COMMAND...: it_check, printing ok/not ok
	local what=$1; shift
	if "$@"; then it_ok; echo "ok - $what"; else it_bad "$what"; echo "not ok - $what"; fi
}

IT_LABELS[1000]="app: web"
IT_LABELS[1001]="app: client"
IT_LABELS[1002]="app: db"
it_endpoint web-1 11 1000
it_endpoint client-1 21 1001
it_endpoint db-1 22 1002

# ---- nothing applied: a clear refusal ----
"$IT_SLUICE" monitor > "$IT_WORK/none.out" 2> "$IT_WORK/none.err"
rc=$?
check "monitor with nothing applied exits 1 (exit $rc)" test "$rc" -eq 1
check "... and says nothing is applied" grep -q 'nothing is applied here' "$IT_WORK/none.err"
sed 's/^/   | /' "$IT_WORK/none.err"

X4=${IT_A4[world-a]}
XNET=${X4%.*}.0/24
state=$(it_state monitor <<-EOF
	policies:
	  - name: web-in
	    endpointSelector: {matchLabels: {app: web}}
	    ingress:
	      - fromEndpoints: [{matchLabels: {app: client}}]
	        toPorts: [{ports: [{port: 80, protocol: TCP}, {port: 80, protocol: UDP}, {port: 9, protocol: UDP}]}]
	    ingressDeny:
	      - fromEndpoints: [{matchLabels: {app: client}}]
	        toPorts: [{ports: [{port: 8080, protocol: TCP}]}]
	  - name: db-out
	    endpointSelector: {matchLabels: {app: db}}
	    egress:
	      - toEndpoints: [{matchLabels: {app: web}}]
	        toPorts: [{ports: [{port: 80, protocol: TCP}]}]
	    egressDeny:
	      - toCIDR: [$XNET]
	EOF
)
it_apply "$state"
it_servers

# ---- helpers ----
PYH=$IT_WORK/mon.py
cat > "$PYH" <<-'PY'
	"""mon.py json FILE SPEC | slots PIN | lost PIN | flood DST PORT N"""
	import json, re, socket, subprocess, sys

	def subset(want, got):
	    if isinstance(want, dict):
	        return isinstance(got, dict) and all(k in got and subset(v, got[k]) for k, v in want.items())
	    return want == got

	def dump(pin):
	    return json.loads(subprocess.check_output(["bpftool", "-j", "map", "dump", "pinned", pin]))

	def raw(e, key):
	    """an entry's value(s) as bytes, whatever bpftool's form"""
	    v = e.get(key)
	    if v is None and "formatted" in e:
	        return None
	    return bytes(int(b, 16) for b in v)

	def u32(b, off):
	    return int.from_bytes(b[off:off + 4], "little")

	cmd = sys.argv[1]
	if cmd == "json":
	    # every line parses; some object has every field of SPEC
	    want, bad, hit = json.loads(sys.argv[3]), 0, None
	    for n, line in enumerate(open(sys.argv[2]), 1):
	        try:
	            o = json.loads(line)
	        except ValueError as e:
	            print("   line %d does not parse: %s: %r" % (n, e, line)); bad += 1
	            continue
	        if hit is None and subset(want, o):
	            hit = o
	    if hit is None:
	        print("   no object has %s" % json.dumps(want))
	    sys.exit(1 if bad or hit is None else 0)
	elif cmd == "slots":
	    # "INDEX TYPES PID" of each entry of sluice_monitor
	    for e in dump(sys.argv[2] + "/sluice_monitor"):
	        k = raw(e, "key")
	        if k is None:
	            f = e["formatted"]; v = f["value"]
	            print(f["key"], v["types"], v["pid"])
	        else:
	            v = raw(e, "value")
	            print(u32(k, 0), u32(v, 0), u32(v, 4))
	elif cmd == "lost":
	    # "INDEX COUNT" of sluice_monitor_lost, summed over CPUs
	    for e in dump(sys.argv[2] + "/sluice_monitor_lost"):
	        if "formatted" in e:
	            f = e["formatted"]
	            print(f["key"], sum(c["value"] for c in f["values"]))
	        else:
	            k = raw(e, "key")
	            print(u32(k, 0), sum(int.from_bytes(bytes(int(b, 16) for b in c["value"]), "little")
	                                for c in e["values"]))
	elif cmd == "flood":
	    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	    s.connect((sys.argv[2], int(sys.argv[3])))
	    for i in range(int(sys.argv[4])):
	        try:
	            s.send(b"x")
	        except OSError:
	            pass
	PY
slots() { "$IT_PY" "$PYH" slots "$SLUICE_PIN_DIR"; }
lost_at() { "$IT_PY" "$PYH" lost "$SLUICE_PIN_DIR" | awk -v i="$1" '$1 == i { print $2 }'; }
all_zero() { [ -z "$(slots | awk '$2 != 0 || $3 != 0')" ]; }

# mon NAME ARGS...: a monitor in the background, its output in NAME.out,
# NAME.err, its pid in MON[NAME]; returns when it says it is running.
declare -A MON=()
mon_wait() { # NAME
	local i
	for _ in $(seq 300); do
		grep -q 'Ctrl-C to stop' "$IT_WORK/$1.err" 2>/dev/null && return 0
		sleep 0.01
	done
	it_bad "monitor $1 did not start"; sed 's/^/   | /' "$IT_WORK/$1.err"
	return 1
}
mon() {
	local name=$1 pid; shift
	it_spawn pid "$IT_SLUICE" monitor "$@" > "$IT_WORK/$name.out" 2> "$IT_WORK/$name.err"
	MON[$name]=$pid
	mon_wait "$name"
}
# stop NAME SIGNAL: signal it, wait; "RC MS" in STOP_RC, STOP_MS
stop() {
	local t0
	t0=${EPOCHREALTIME/./}
	kill "-$2" "${MON[$1]}"
	wait "${MON[$1]}"
	STOP_RC=$? STOP_MS=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
}

# ---- monitors, then traffic ----
# The twins with events are loaded only while some monitor runs
# (docs/datapath.md): the apply above, with none running, pinned their
# prog arrays empty; the first monitor loads them.
twin_entries() { # the entries of every events_* prog array pinned
	local f n=0
	for f in "$SLUICE_PIN_DIR"/events_*; do
		[ -e "$f" ] || continue
		n=$((n + $(bpftool -j map dump pinned "$f" | "$IT_PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')))
	done
	echo "$n"
}
n_arrays=$(ls "$SLUICE_PIN_DIR" | grep -c '^events_')
check "no monitor yet: $n_arrays prog arrays of twins pinned, all empty" test "$n_arrays" -ge 2 -a "$(twin_entries)" = 0
mon drops-a
check "the first monitor loaded the twins: each array holds one ($(twin_entries) of $n_arrays)" \
	test "$(twin_entries)" = "$n_arrays"
mon drops-b
mon verdict --type verdict
mon trace-client --type trace --endpoint client-1
mon drops-db --endpoint db-1
mon json -o json --type drop --type verdict
check "six monitors hold six slots" test "$(slots | awk '$1 >= 1 && $3 != 0' | wc -l)" -eq 6
check "the union flag is drop|verdict|trace (7)" test "$(slots | awk '$1 == 0 { print $2 }')" = 7

C4=${IT_A4[client-1]} W4=${IT_A4[web-1]} D4=${IT_A4[db-1]} X4=${IT_A4[world-a]}
# Probe i of a client binds source port BASE + i.
printf '%s\n' "web $W4 tcp/80" "web $W4 tcp/8080" "web $W4 udp/80" "web $W4 icmp" |
	it_in "${IT_PID[client-1]}" "$IT_PY" "$IT_PROBE" client --port-base 30000 --timeout 1 > "$IT_WORK/probe.client"
printf '%s\n' "web $W4 tcp/80" "world $X4 tcp/80" |
	it_in "${IT_PID[db-1]}" "$IT_PY" "$IT_PROBE" client --port-base 31000 --timeout 1 > "$IT_WORK/probe.db"
sed 's/^/   probe client-1: /' "$IT_WORK/probe.client"
sed 's/^/   probe db-1: /' "$IT_WORK/probe.db"
check "the probes get what the policy says" test "$(cat "$IT_WORK/probe.client" "$IT_WORK/probe.db" | awk '{print $NF}' | tr '\n' ' ')" = "ok fail ok fail fail fail "
sleep 0.5

# ---- signals: exit 0 at once, a summary ----
stop drops-a INT
check "SIGINT: exit 0 (exit $STOP_RC)" test "$STOP_RC" -eq 0
check "SIGINT: exit within 1 s (${STOP_MS} ms)" test "$STOP_MS" -lt 1000
check "SIGINT: a summary on stderr" grep -Eq '^sluice monitor: [0-9]+ events shown, 0 lost$' "$IT_WORK/drops-a.err"
stop drops-b TERM
check "SIGTERM: exit 0 (exit $STOP_RC)" test "$STOP_RC" -eq 0
check "SIGTERM: exit within 1 s (${STOP_MS} ms)" test "$STOP_MS" -lt 1000
check "SIGTERM: a summary on stderr" grep -Eq '^sluice monitor: [0-9]+ events shown, 0 lost$' "$IT_WORK/drops-b.err"
for m in verdict trace-client drops-db json; do stop "$m" INT; done
for m in drops-a verdict trace-client drops-db json; do
	echo "   --- $m:"; sed 's/^/   | /' "$IT_WORK/$m.out" | head -20
done

# ---- text: drops ----
T='^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6} '
ID_C='identity 1001 \(app=client\)' ID_D='identity 1002 \(app=db\)' TO_W='-> 1000 \(app=web\)'
line_deny="drop policy-deny ingress web-1 \(lxc-web-1\): $C4:30001 -> $W4:8080 TCP, $ID_C $TO_W"
line_pol="drop policy ingress web-1 \(lxc-web-1\): $D4:31000 -> $W4:80 TCP, $ID_D $TO_W"
line_icmp="drop policy ingress web-1 \(lxc-web-1\): $C4 -> $W4 ICMP, $ID_C $TO_W"
line_egr="drop policy-deny egress db-1 \(lxc-db-1\): $D4:31001 -> $X4:80 TCP, $ID_D -> 16777216 \(cidr:$XNET\)"
check "text: the deny rule's drop (policy-deny, ingress, web-1, ports, TCP, identities and labels)" \
	grep -Eq "$T$line_deny\$" "$IT_WORK/drops-a.out"
check "text: a drop no rule allows (policy)" grep -Eq "$T$line_pol\$" "$IT_WORK/drops-a.out"
check "text: an ICMP drop (no ports)" grep -Eq "$T$line_icmp\$" "$IT_WORK/drops-a.out"
check "text: an egress drop at db-1, to the world's CIDR identity (named by the ipcache's prefix)" grep -Eq "$T$line_egr\$" "$IT_WORK/drops-a.out"
check "text: the default type is drops only" test -z "$(grep -Ev "$T"'drop ' "$IT_WORK/drops-a.out")"
check "two monitors at once: both got the same drop" \
	test -n "$(grep -E "$line_deny" "$IT_WORK/drops-a.out")" -a \
	"$(grep -E "$line_deny" "$IT_WORK/drops-a.out")" = "$(grep -E "$line_deny" "$IT_WORK/drops-b.out")"
# (not all their events: drops-b started after drops-a and stopped after it)
# (sorted: events of two CPUs at the same time, two probes' SYNs sent
# again by their timers, may reach two rings in either order)
four() { grep -E "$line_deny|$line_pol|$line_icmp|$line_egr" "$1" | sort; }
check "two monitors at once: both got the four drops (SYNs sent again too), the same lines" \
	test "$(four "$IT_WORK/drops-a.out" | sed -E "s/^[^ ]+ //" | sort -u | wc -l)" = 4 -a "$(four "$IT_WORK/drops-a.out")" = "$(four "$IT_WORK/drops-b.out")"
diff "$IT_WORK/drops-a.out" "$IT_WORK/drops-b.out" | sed 's/^/   drops-a vs drops-b: /'

# ---- verdicts ----
check "--type verdict: allow for the allowed connection" grep -Eq \
	"${T}verdict allow ingress web-1 \(lxc-web-1\): $C4:30000 -> $W4:80 TCP, $ID_C $TO_W\$" "$IT_WORK/verdict.out"
check "--type verdict: allow for the UDP exchange" grep -Eq \
	"${T}verdict allow ingress web-1 \(lxc-web-1\): $C4:30002 -> $W4:80 UDP, " "$IT_WORK/verdict.out"
check "--type verdict: the denial (policy-deny)" grep -Eq \
	"${T}verdict deny \(policy-deny\) ingress web-1 \(lxc-web-1\): $C4:30001 -> $W4:8080 TCP, " "$IT_WORK/verdict.out"
check "--type verdict: the denial no rule allows (policy)" grep -Eq \
	"${T}verdict deny \(policy\) ingress web-1 \(lxc-web-1\): $D4:31000 -> $W4:80 TCP, " "$IT_WORK/verdict.out"
check "--type verdict: verdicts only" test -z "$(grep -Ev "$T"'verdict ' "$IT_WORK/verdict.out")"

# ---- filters ----
check "--type trace --endpoint client-1: some events" test -s "$IT_WORK/trace-client.out"
check "--type trace --endpoint client-1: the allowed connection forwarded" grep -Eq \
	"${T}trace forward [a-z]+ client-1 \(lxc-client-1\): $C4:30000 -> $W4:80 TCP, " "$IT_WORK/trace-client.out"
check "--type trace --endpoint client-1: traces of client-1 only" \
	test -z "$(grep -Ev "${T}trace [a-z-]+ [a-z]+ client-1 \(lxc-client-1\): " "$IT_WORK/trace-client.out")"
check "--endpoint db-1: db-1's drop" grep -Eq "$T$line_egr\$" "$IT_WORK/drops-db.out"
check "--endpoint db-1: db-1's events only" test -z "$(grep -v ' db-1 (lxc-db-1): ' "$IT_WORK/drops-db.out")"

# ---- JSON ----
jcheck() { # DESCRIPTION SPEC
	check "$1" "$IT_PY" "$PYH" json "$IT_WORK/json.out" "$2"
}
jcheck "json: the deny rule's drop, every field" '{"type": "drop", "reason": "policy-deny", "endpoint": "web-1",
	"interface": "lxc-web-1", "direction": "ingress", "protocol": "TCP",
	"source": {"address": "'"$C4"'", "port": 30001, "identity": 1001, "labels": ["app=client"]},
	"destination": {"address": "'"$W4"'", "port": 8080, "identity": 1000, "labels": ["app=web"]}}'
jcheck "json: a drop no rule allows" '{"type": "drop", "reason": "policy", "endpoint": "web-1", "direction": "ingress",
	"protocol": "TCP", "source": {"address": "'"$D4"'", "port": 31000, "identity": 1002, "labels": ["app=db"]}}'
jcheck "json: the egress deny to a CIDR identity, its labels the prefix" '{"type": "drop", "reason": "policy-deny",
	"endpoint": "db-1", "direction": "egress", "destination": {"address": "'"$X4"'", "port": 80,
	"identity": 16777216, "labels": ["cidr:'"$XNET"'"]}}'
jcheck "json: the verdict allow" '{"type": "verdict", "verdict": "allow", "endpoint": "web-1", "direction": "ingress",
	"protocol": "TCP", "source": {"address": "'"$C4"'", "port": 30000, "identity": 1001, "labels": ["app=client"]},
	"destination": {"address": "'"$W4"'", "port": 80, "identity": 1000, "labels": ["app=web"]}}'
jcheck "json: the verdict policy-deny" '{"type": "verdict", "verdict": "policy-deny", "endpoint": "web-1",
	"source": {"port": 30001}, "destination": {"port": 8080}}'
check "json: every object has a time in RFC 3339, UTC" "$IT_PY" -c '
import json, re, sys
ok = [re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", json.loads(l)["time"]) for l in open(sys.argv[1])]
sys.exit(0 if ok and all(ok) else 1)' "$IT_WORK/json.out"

# ---- slots: free after exit; a killed monitor's slot taken back ----
check "every monitor gone: sluice_monitor all zero" all_zero
slots | sed 's/^/   slot /' | grep -v ' 0 0$'
mon killed --type trace
kpid=${MON[killed]}
kill -KILL "$kpid"; wait "$kpid" 2>/dev/null
check "a monitor killed with SIGKILL leaves its slot" test "$(slots | awk -v p="$kpid" '$3 == p' | wc -l)" -eq 1
mon next
npid=${MON[next]}
check "the next monitor takes the dead one's slot back" \
	test "$(slots | awk '$1 >= 1 && $3 != 0 { print $1 ":" $3 }')" = "1:$npid"
check "the union flag is the live monitor's types (drop)" test "$(slots | awk '$1 == 0 { print $2 }')" = 1
check "the dead monitor's ring is gone from sluice_monitor_rings" \
	test "$(bpftool -j map dump pinned "$SLUICE_PIN_DIR/sluice_monitor_rings" | "$IT_PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 1
stop next TERM
check "and all zero again after it" all_zero

# ---- lost events ----
# Two trace monitors whose standard output is a pipe that nobody reads
# until the flood is over: a reader waits for a file, then copies.
lost0=$(lost_at 8)
# by slot (0-7, 8 the total), to say whose ring lost them when one did
lost_slots=$("$IT_PY" "$PYH" lost "$SLUICE_PIN_DIR" | awk '$2 != 0 { printf "%s%s=%s", n++ ? " " : "", $1, $2 }')
check "nothing lost so far (sluice_monitor_lost[8] = ${lost0:-none}${lost_slots:+; by slot: $lost_slots})" \
	test "${lost0:-x}" = 0
declare -A LATE=()
late_mon() { # NAME ARGS...
	local name=$1; shift
	( trap '' INT
	  "$IT_SLUICE" monitor "$@" 2> "$IT_WORK/$name.err" &
	  echo $! > "$IT_WORK/$name.pid"
	  wait ) |
		( until [ -e "$IT_WORK/go" ]; do sleep 0.05; done; cat > "$IT_WORK/$name.out" ) &
	LATE[$name]=$!
	IT_HELPERS+=("$!")
	until [ -s "$IT_WORK/$name.pid" ]; do sleep 0.01; done
	MON[$name]=$(cat "$IT_WORK/$name.pid")
	IT_HELPERS+=("${MON[$name]}")
	mon_wait "$name"
}
rm -f "$IT_WORK/go"
late_mon lost-text --type trace
late_mon lost-json --type trace -o json
slot_text=$(slots | awk -v p="${MON[lost-text]}" '$3 == p { print $1 - 1 }')
slot_json=$(slots | awk -v p="${MON[lost-json]}" '$3 == p { print $1 - 1 }')
t0=$SECONDS
it_in "${IT_PID[client-1]}" "$IT_PY" "$PYH" flood "$W4" 9 200000
it_log "flood of 200000 datagrams sent in $((SECONDS - t0))s"
touch "$IT_WORK/go"
sleep 2.5 # the readers drain the pipes, the monitors their rings, and tick
for m in lost-text lost-json; do
	kill -INT "${MON[$m]}"
	for _ in $(seq 300); do kill -0 "${MON[$m]}" 2>/dev/null || break; sleep 0.01; done
	check "$m: exited after SIGINT" test ! -e "/proc/${MON[$m]}"
	sed 's/^/   | /' "$IT_WORK/$m.err"
done
for m in lost-text lost-json; do wait "${LATE[$m]}"; done
n_text=$(awk '$2 == "lost" { n += $3 } END { print n + 0 }' "$IT_WORK/lost-text.out")
n_json=$("$IT_PY" -c '
import json, sys
print(sum(o["count"] for o in map(json.loads, open(sys.argv[1])) if o["type"] == "lost"))' "$IT_WORK/lost-json.out")
k_text=$(lost_at "$slot_text") k_json=$(lost_at "$slot_json") k_all=$(lost_at 8)
echo "   lost: text monitor says $n_text (kernel, slot $slot_text: $k_text), json monitor says $n_json" \
	"(kernel, slot $slot_json: $k_json), kernel total $k_all"
grep -m2 ' lost ' "$IT_WORK/lost-text.out" | sed 's/^/   | /'
grep -m2 '"lost"' "$IT_WORK/lost-json.out" | sed 's/^/   | /'
check "text: a 'lost N events' line, N > 0" grep -Eq "${T}lost [1-9][0-9]* events" "$IT_WORK/lost-text.out"
check "json: a {\"type\":\"lost\",...} object, count > 0" test "$n_json" -gt 0
check "text: the lost lines count what the kernel counted for its slot ($n_text = $k_text)" test "$n_text" = "$k_text"
check "json: the lost objects count what the kernel counted for its slot ($n_json = $k_json)" test "$n_json" = "$k_json"
check "the kernel's total (index 8) is the sum ($k_all = $n_text + $n_json)" test "$k_all" = $((n_text + n_json))
check "text: the summary line counts them too" grep -Eq "^sluice monitor: [0-9]+ events shown, $k_text lost\$" "$IT_WORK/lost-text.err"
check "json: the summary line counts them too" grep -Eq "^sluice monitor: [0-9]+ events shown, $k_json lost\$" "$IT_WORK/lost-json.err"
# Every datagram makes two trace events (out of lxc-client-1, into
# lxc-web-1): each is either shown or counted lost.
for m in lost-text lost-json; do
	shown=$(sed -En 's/^sluice monitor: ([0-9]+) events shown, ([0-9]+) lost$/\1 \2/p' "$IT_WORK/$m.err")
	shown=${shown:-0 0}
	lines=$(grep -Evc ' lost [0-9]+ events|"type":"lost"' "$IT_WORK/$m.out")
	check "$m: every event it says it showed is in its output (${shown% *} shown, $lines lines)" test "$lines" = "${shown% *}"
	check "$m: shown + lost ($shown) account for the flood's 400000 events" test $((${shown% *} + ${shown#* })) -ge 400000
done
check "every line of the JSON monitor parses" "$IT_PY" -c '
import json, sys
[json.loads(l) for l in open(sys.argv[1])]' "$IT_WORK/lost-json.out"
check "after the lost-events monitors: sluice_monitor all zero" all_zero

# ---- the programs' twins with events (docs/datapath.md, "Monitor events") ----
# Each datapath program pinned has its twin's prog array pinned beside
# it; a twin lost (its pin deleted: the kernel empties the array) counts
# every packet the program could not trace as lost, the packet still
# handled; diff sees the program as changed, apply repairs it, events
# come again.
pins() { # PREFIX: the digests' kinds "kind_digest" of the pins PREFIX*
	(cd "$SLUICE_PIN_DIR" && for f in "$1"*; do [ -e "$f" ] && echo "${f#"$1"}"; done) | sort | tr '\n' ' '
}
dp_progs=$(pins prog_ | tr ' ' '\n' | grep -E '^(from_endpoint|to_endpoint|from_overlay|from_netdev)_' | tr '\n' ' ')
echo "   datapath programs: $dp_progs; twins: $(pins events_)"
check "each datapath program pinned has its twin's prog array pinned beside it" \
	test -n "$dp_progs" -a "$(pins events_)" = "$dp_progs"
it_converged "$state"
mon twin
twin_pin=$(cd "$SLUICE_PIN_DIR" && echo events_to_endpoint_*)
rm "$SLUICE_PIN_DIR/$twin_pin"
lost0=$(lost_at 8)
echo "web $W4 tcp/8080" | it_in "${IT_PID[client-1]}" "$IT_PY" "$IT_PROBE" client --port-base 32000 --timeout 1 \
	> "$IT_WORK/probe.twin"
sleep 0.5
lost1=$(lost_at 8)
check "the twin gone: the probe is still refused ($(cat "$IT_WORK/probe.twin"))" grep -q 'fail$' "$IT_WORK/probe.twin"
check "the twin gone: its packets count as lost ($lost0 -> $lost1)" test "$lost1" -gt "$lost0"
check "the twin gone: no drop event for it" test "$(grep -c ":32000 " "$IT_WORK/twin.out")" = 0
if it_sluice 2 diff "$state"; then
	sed 's/^/   | /' "$IT_OUT"
	check "diff: to_endpoint's program to load again" grep -q 'program' "$IT_OUT"
	cp "$IT_OUT" "$IT_WORK/plan.full"
fi
# --summary (sluice(8)): only the counts, text and JSON, the same exit
if it_sluice 2 diff --summary "$state"; then
	check "diff --summary: only the plan's count line ($(cat "$IT_OUT"))" \
		test "$(cat "$IT_OUT")" = "$(grep '^Plan: ' "$IT_WORK/plan.full")"
fi
if it_sluice 2 diff --summary -o json "$state"; then
	check "diff --summary -o json: formatVersion and the summary, no changes" "$IT_PY" -c '
import json, re, sys
d = json.load(open(sys.argv[1]))
n = [int(x) for x in re.findall(r"\d+", open(sys.argv[2]).read().split("Plan: ")[1])]
assert list(d) == ["formatVersion", "summary"] and d["formatVersion"] == 1, d
assert [d["summary"][k] for k in ("add", "change", "remove")] == n, (d, n)' "$IT_OUT" "$IT_WORK/plan.full"
fi
if it_sluice 0 apply --summary "$state"; then
	sed 's/^/   | /' "$IT_OUT"
	check "apply --summary: the count line and the outcome, no plan lines" \
		test "$(grep -vc '^Plan: \|^Apply complete: ' "$IT_OUT")" = 0
fi
check "with a monitor running, apply loaded the twin with the program" test "$(twin_entries)" = "$n_arrays"
check "apply pinned the twin again" test -n "$(pins events_to_endpoint_)"
it_converged "$state"
echo "web $W4 tcp/8080" | it_in "${IT_PID[client-1]}" "$IT_PY" "$IT_PROBE" client --port-base 32100 --timeout 1 \
	> "$IT_WORK/probe.twin"
sleep 0.5
check "repaired: the drop is an event again" grep -Eq ":32100 -> .*:8080 " "$IT_WORK/twin.out"
check "repaired: nothing more lost ($(lost_at 8))" test "$(lost_at 8)" = "$lost1"
stop twin INT

it_sluice 0 flush --yes -q
check "flush: no pin left" test ! -e "$SLUICE_PIN_DIR"
it_finish
