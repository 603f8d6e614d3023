#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Socket acceleration (datapath.socketAcceleration, cgroupPath) with real
# processes in a cgroup the test makes (under the cgroup v2 mount, e.g.
# /sys/fs/cgroup/unified; a name of its own, removed on exit), and real traffic (sockload.py: every byte
# checked):
#   - accelerated: a transfer between two endpoints, client and server in
#     the cgroup: a capture on the host-side devices sees the handshake and
#     no payload; IPv4 (dual-stack and IPv4-only servers) and IPv6.
#   - not accelerated, payload on the device: acceleration off (the
#     control); processes outside the cgroup (both, or the server only);
#     a peer outside the node (the world).
#   - policy holds: a denied connection never establishes.
#   - every sockload check passes accelerated (bulk 16 MB each way,
#     50 concurrent connections, ping-pong, half-close, sendfile, splice,
#     resets from either side), both families, with sockets as event loops
#     use them (O_NONBLOCK, poll); after 10,000 short connections the
#     sockhash is back to ~0 entries.
#   - the kernel's limitation (docs/datapath.md): with blocking sockets,
#     half-close and resets 20 times each, and a full-duplex transfer whose
#     server is outside the cgroup, are run and the spurious EAGAINs of
#     recv() counted and reported as such (a KNOWN KERNEL LIMITATION line,
#     neither a pass nor a failure); any other failure, or a byte wrong,
#     fails the test.
#   - the local proxy (proxyPort): the client's connection to tproxy.py
#     (in the node, in the cgroup) carries no payload on the client's device.
#   - a second apply makes no kernel write; the sockops program detached
#     behind sluice's back is found by diff and repaired by apply.
#   - turning acceleration off, and flush, while a long connection is
#     established: it keeps working (every echo checked), the programs are
#     gone from the cgroup; a foreign sockops program on the same cgroup
#     stays through apply, off and flush; flush leaves no pin.
#
# Usage: test-sockaccel.sh [PATH-TO-SLUICE]
. "$(dirname "$0")/lib.sh"
it_init "$@"
command -v bpftool >/dev/null || it_skip "needs bpftool"
# cgroup v2: SLUICE_IT_CGROUP_ROOT, else where it is mounted (/sys/fs/cgroup
# on a pure v2 system, /sys/fs/cgroup/unified on a hybrid one)
CGROOT=${SLUICE_IT_CGROUP_ROOT:-$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)}
[ -n "$CGROOT" ] && [ "$(stat -f -c %T "$CGROOT" 2>/dev/null)" = cgroup2fs ] || it_skip "needs cgroup v2 (none mounted)"
LOAD=$IT_DIR/sockload.py

# ---- the cgroup: made here, emptied (its processes are the test's own,
# killed by pid) and removed on exit, whatever the exit ----
CG=$CGROOT/sluice-it-sockaccel.$$.$RANDOM
mkdir "$CG" || it_skip "cannot make a cgroup under $CGROOT"
sa_cleanup() {
	local rc=$? p procs
	if [ -d "$CG" ]; then
		for _ in $(seq 100); do
			procs=$(cat "$CG/cgroup.procs")
			[ -n "$procs" ] || break
			for p in $procs; do kill -KILL "$p" 2>/dev/null; done
			sleep 0.05
		done
		for _ in $(seq 100); do rmdir "$CG" 2>/dev/null && break; sleep 0.05; done
		[ -d "$CG" ] && echo "WARNING: cannot remove $CG (processes: $(tr '\n' ' ' < "$CG/cgroup.procs"))"
	fi
	(exit "$rc")
	it_cleanup
}
trap sa_cleanup EXIT

# cg_run NS CMD...: run CMD in NS's network namespace (an endpoint, world,
# or "node" for the test's own), inside the cgroup; cg_spawn VAR NS CMD...:
# the same in the background, a helper (it_spawn).
cg_cmd() {
	local ns=$1; shift
	if [ "$ns" = node ]; then
		CG_CMD=(sh -c 'echo $$ > "$0/cgroup.procs" || exit 99; exec "$@"' "$CG" "$@")
	else
		CG_CMD=(sh -c 'echo $$ > "$0/cgroup.procs" || exit 99; p=$1; shift; exec nsenter -t "$p" -n -- "$@"'
			"$CG" "${IT_PID[$ns]}" "$@")
	fi
}
cg_run() { cg_cmd "$@"; "${CG_CMD[@]}"; }
cg_spawn() { local v=$1; shift; cg_cmd "$@"; it_spawn "$v" "${CG_CMD[@]}"; }

IT_LABELS[1000]="app: web"
IT_LABELS[1001]="app: client"
IT_LABELS[1002]="app: other"
it_endpoint web-1 11 1000
it_endpoint client-1 21 1001
it_endpoint other-1 31 1002
IT_A4[world]=203.0.113.10 IT_A6[world]=2001:db8:100::10

# Servers. In the cgroup: web-1 on 7000 (dual-stack: IPv4 arrives on an
# AF_INET6 socket, v4-mapped), 7001 (IPv4 only), 7100 (behind the proxy);
# the world on 7000. Outside it: web-1 on 7200.
wait_file() { local i; for i in $(seq 500); do [ -e "$1" ] && return 0; sleep 0.01; done; return 1; }
server() { # NS PORT BIND IN-CGROUP(yes/no)
	local f=$IT_WORK/ready.$1.$2 pid
	rm -f "$f"
	if [ "$4" = yes ]; then
		cg_spawn pid "$1" "$IT_PY" "$LOAD" server --port "$2" --bind "$3" --ready "$f" 2>> "$IT_WORK/servers.err"
	else
		it_spawn pid nsenter -t "${IT_PID[$1]}" -n -- "$IT_PY" "$LOAD" server --port "$2" --bind "$3" --ready "$f" \
			2>> "$IT_WORK/servers.err"
	fi
	wait_file "$f" || it_die "sockload server $1:$2 did not start"
}
server web-1 7000 :: yes
server web-1 7001 0.0.0.0 yes
server web-1 7009 :: yes
server web-1 7100 :: yes
server web-1 7200 :: no
server world 7000 :: yes
it_check "the servers' processes are in the cgroup" test "$(wc -l < "$CG/cgroup.procs")" -eq 5

PROXY_PORT=15010
state_yaml() { # DATAPATH-LINE
	cat <<-Y
		$1
		policies:
		  - name: web-in
		    endpointSelector: {matchLabels: {app: web}}
		    ingress:
		      - fromEndpoints: [{matchLabels: {app: client}}]
		        toPorts: [{ports: [{port: 7000, protocol: TCP}, {port: 7001, protocol: TCP}, {port: 7200, protocol: TCP}]}]
		      - fromEndpoints: [{matchLabels: {app: client}}]
		        toPorts:
		          - ports: [{port: 7100, protocol: TCP}]
		            proxyPort: $PROXY_PORT
	Y
}
# (small maps: the VM lane's guest has 256 MB)
SIZES_YAML="mapSizes: {ctTcp: 16384, ctAny: 4096, ipcache: 4096, endpoints: 64, policy: 4096, services: 64, backends: 64}"
ON=$(state_yaml "datapath: {socketAcceleration: true, cgroupPath: $CG, $SIZES_YAML}" | it_state on)
OFF=$(state_yaml "datapath: {cgroupPath: $CG, $SIZES_YAML}" | it_state off)

# ---- helpers: capture, the sockhash, the cgroup's programs ----
# cap_start DEV PORT: count TCP packets of PORT on DEV (sockload.py capture);
# cap_stop: the counts, as "packets N syn N payload_packets N payload_bytes N fin N rst N".
cap_start() {
	CAP_OUT=$IT_WORK/cap.$1.$2.$RANDOM
	rm -f "$CAP_OUT.ready"
	it_spawn CAP_PID "$IT_PY" "$LOAD" capture --dev "$1" --port "$2" --ready "$CAP_OUT.ready" > "$CAP_OUT"
	wait_file "$CAP_OUT.ready" || it_die "capture on $1 did not start"
}
cap_stop() {
	sleep 0.2
	kill -TERM "$CAP_PID"
	wait "$CAP_PID"
	CAP=$(head -1 "$CAP_OUT")
	tail -n +2 "$CAP_OUT" | sed 's/^/   capture |/'
}
cap_field() { awk -v k="$1" 'NR == 1 { for (i = 1; i < NF; i += 2) if ($i == k) print $(i + 1) }' <<< "$CAP"; }
# handshake seen (SYN and SYN-ACK), no payload byte
no_payload() { [ "$(cap_field syn)" -ge 2 ] && [ "$(cap_field payload_bytes)" -eq 0 ]; }
# at least BYTES of payload seen (a capture may miss packets: the checks ask
# for a quarter of what crossed)
payload_ge() { [ "$(cap_field payload_bytes)" -ge "$1" ]; }

# sock_entries: the entries of sluice_sock (status -o json; else bpftool),
# "none" without the map.
sock_entries() {
	"$IT_SLUICE" status -o json 2>/dev/null | "$IT_PY" -c '
import json, sys
try:
    d = json.load(sys.stdin)
except ValueError:
    sys.exit(1)
n = [m["entries"] for m in d.get("maps", []) if m.get("name") == "sluice_sock"]
print(n[0] if n else "none")' && return
	if [ -e "$SLUICE_PIN_DIR/sluice_sock" ]; then
		bpftool -j map dump pinned "$SLUICE_PIN_DIR/sluice_sock" 2>/dev/null |
			"$IT_PY" -c 'import json, sys; print(len(json.load(sys.stdin)))'
	else
		echo none
	fi
}
cg_progs() { bpftool cgroup show "$CG" 2>/dev/null; }
has_sluice_sockops() { cg_progs | grep -q sluice_sockops; }
no_sluice_prog() { ! cg_progs | grep -q sluice_; }
FOREIGN=no
foreign_there() { [ "$FOREIGN" = no ] || cg_progs | grep -q other_sockops; }

# load CHECK-ARGS...: sockload client from client-1 in the cgroup; output in $LOAD_OUT
# The client's sockets (and the server's, for those connections): O_NONBLOCK
# and poll(), as event loops use them, unless LOAD_IO says blocking (the
# kernel's limitation with blocking sockets is measured on its own below).
LOAD_IO=poll
client_run() { # NS IN-CGROUP(yes/no) ARGS...
	local ns=$1 in=$2 rc; shift 2
	LOAD_OUT=$IT_WORK/load.$RANDOM
	if [ "$in" = yes ]; then
		cg_run "$ns" "$IT_PY" "$LOAD" client --timeout 5 --deadline 120 --io "$LOAD_IO" "$@" > "$LOAD_OUT" 2>&1
	else
		it_in "${IT_PID[$ns]}" "$IT_PY" "$LOAD" client --timeout 5 --deadline 120 --io "$LOAD_IO" "$@" \
			> "$LOAD_OUT" 2>&1
	fi
	rc=$?
	sed 's/^/   sockload | /' "$LOAD_OUT"
	return "$rc"
}

# transfer DEV PORT DST NS IN-CGROUP BYTES: a bulk transfer (BYTES each way)
# to DST:PORT, captured on DEV; the counts in $CAP.
transfer() {
	local dev=$1 port=$2 dst=$3 ns=$4 in=$5 bytes=$6 rc
	cap_start "$dev" "$port"
	client_run "$ns" "$in" --dst "$dst" --port "$port" --up "$bytes" --down "$bytes" bulk
	rc=$?
	cap_stop
	echo "   capture on $dev, port $port: $CAP"
	return "$rc"
}

# ---- a foreign sockops program on the cgroup, before sluice ----
if command -v clang >/dev/null; then
	cat > "$IT_WORK/other_sockops.bpf.c" <<-'C'
		#include <linux/bpf.h>
		#include <bpf/bpf_helpers.h>
		SEC("sockops")
		int other_sockops(struct bpf_sock_ops *s) { return 1; }
		char LICENSE[] SEC("license") = "GPL";
	C
	multiarch=$(gcc -print-multiarch 2>/dev/null || true)
	mkdir -p "$IT_BPFFS/other"
	if clang -target bpf -O2 -g ${multiarch:+-idirafter /usr/include/$multiarch} -c "$IT_WORK/other_sockops.bpf.c" \
		-o "$IT_WORK/other_sockops.bpf.o" &&
		bpftool prog load "$IT_WORK/other_sockops.bpf.o" "$IT_BPFFS/other/sockops" type sockops &&
		bpftool cgroup attach "$CG" sock_ops pinned "$IT_BPFFS/other/sockops" multi; then
		FOREIGN=yes
	else
		it_bad "cannot attach a foreign sockops program to $CG"
	fi
else
	echo "   (no clang: no foreign sockops program on the cgroup)"
fi
it_check "the foreign sockops program is attached before apply" foreign_there

# ---- apply ----
it_sluice 0 validate "$ON"
it_check "validate: no 'not carried out yet' warning" sh -c "! grep -q 'not carried out yet' '$IT_ERR'"
it_sluice 2 diff "$ON"
it_apply "$ON"
it_converged "$ON"
echo "   cgroup programs:"; cg_progs | sed 's/^/   | /'
echo "   pins: $(ls "$SLUICE_PIN_DIR" | tr '\n' ' ')"
it_check "sluice_sockops is attached to the cgroup" has_sluice_sockops
it_check "the foreign sockops program stays through apply" foreign_there
"$IT_SLUICE" status --no-color > "$IT_WORK/status.txt"
it_check "status lists the sockhash sluice_sock" grep -q sluice_sock "$IT_WORK/status.txt"
it_check "status shows the sockops program (issue 19: 'status shows the programs')" grep -q sockops "$IT_WORK/status.txt"
n=$(sock_entries)
it_check "sluice_sock is empty before any connection ($n)" test "$n" = 0

# ---- accelerated or not: the capture ----
MB=$((4 << 20))
# SLUICE_IT_QUICK=1 (the VM lane, under TCG): the same checks with smaller
# amounts: transfers of 1 MB, 3 repeats, 300 short connections.
REPEAT=20 SHORT=10000 SIZES=()
if [ "${SLUICE_IT_QUICK:-}" = 1 ]; then
	MB=$((1 << 20)) REPEAT=3 SHORT=300
	SIZES=(--up $MB --down $MB --conns 10 --conn-bytes 65536 --half-bytes 65536 --rounds 40)
fi
for fam in 4 6; do
	if [ $fam = 4 ]; then w=${IT_A4[web-1]}; else w=${IT_A6[web-1]}; fi
	transfer lxc-web-1 7000 "$w" client-1 yes $MB
	it_check "IPv$fam, both in the cgroup: the transfer passes" test $? -eq 0
	it_check "IPv$fam, both in the cgroup: handshake on lxc-web-1, no payload ($CAP)" no_payload
done
transfer lxc-client-1 7001 10.1.0.11 client-1 yes $MB
it_check "IPv4 to an IPv4-only server: the transfer passes" test $? -eq 0
it_check "IPv4 to an IPv4-only server: handshake on lxc-client-1, no payload ($CAP)" no_payload
transfer lxc-web-1 7200 10.1.0.11 client-1 no $MB
it_check "both outside the cgroup: the transfer passes" test $? -eq 0
it_check "both outside the cgroup: payload on lxc-web-1 ($CAP)" payload_ge $MB
transfer lxc-web-1 7200 fd00:1::11 client-1 yes $MB
it_check "client in the cgroup, server outside: the transfer passes" test $? -eq 0
it_check "client in the cgroup, server outside: payload on lxc-web-1 ($CAP)" payload_ge $MB
transfer lxc-client-1 7000 "${IT_A4[world]}" client-1 yes $MB
it_check "to the world (not local), both in the cgroup: the transfer passes" test $? -eq 0
it_check "to the world: payload on lxc-client-1 ($CAP)" payload_ge $MB
transfer lxc-client-1 7000 "${IT_A6[world]}" client-1 yes $MB
it_check "to the world (IPv6): the transfer passes" test $? -eq 0
it_check "to the world (IPv6): payload on lxc-client-1 ($CAP)" payload_ge $MB

# ---- policy holds ----
deny() { # NS DST PORT
	client_run "$1" yes --dst "$2" --port "$3" --timeout 1 bulk
	[ $? -ne 0 ] && grep -q "FAIL bulk.*connect to .*no answer" "$LOAD_OUT"
}
it_check "other-1 -> web-1:7000 (denied by policy), in the cgroup: never connects" deny other-1 10.1.0.11 7000
it_check "other-1 -> web-1:7000 (IPv6, denied): never connects" deny other-1 fd00:1::11 7000
it_check "client-1 -> web-1:7009 (a port the policy does not allow): never connects" deny client-1 10.1.0.11 7009
n=$(sock_entries)
it_check "sluice_sock holds nothing of these ($n)" test "$n" = 0

# ---- every check, accelerated, both families ----
# Half-close and resets each 20 times (their failures depend on timing),
# the rest once; each with the same checks outside the cgroup as the
# tool's own control.
STREAMS="bulk concurrent pingpong sendfile splice short"
ENDINGS="halfclose reset-client reset-server"
cap_start lxc-web-1 7000
client_run client-1 yes --dst 10.1.0.11 --port 7000 "${SIZES[@]}" --count "$((SHORT / 10))" $STREAMS
it_check "sockload $STREAMS: IPv4 to a dual-stack server" test $? -eq 0
cap_stop
echo "   capture on lxc-web-1: $CAP"
it_check "... no payload on lxc-web-1 for any of them ($CAP)" test "$(cap_field payload_bytes)" -eq 0
cap_start lxc-web-1 7000
client_run client-1 yes --dst 10.1.0.11 --port 7000 "${SIZES[@]}" --repeat "$REPEAT" $ENDINGS
it_check "sockload $ENDINGS ($REPEAT times each): IPv4" test $? -eq 0
cap_stop
echo "   capture on lxc-web-1: $CAP"
# (IPv6 and the IPv4-only server: on the host's kernel only, the VM lane is slow)
if [ "${SLUICE_IT_QUICK:-}" != 1 ]; then
	client_run client-1 yes --dst fd00:1::11 --port 7000 "${SIZES[@]}" --count "$((SHORT / 10))" $STREAMS
	it_check "sockload $STREAMS: IPv6" test $? -eq 0
	client_run client-1 yes --dst fd00:1::11 --port 7000 "${SIZES[@]}" --repeat "$REPEAT" $ENDINGS
	it_check "sockload $ENDINGS ($REPEAT times each): IPv6" test $? -eq 0
	client_run client-1 yes --dst 10.1.0.11 --port 7001 "${SIZES[@]}" --count 100 bulk sendfile splice $ENDINGS
	it_check "sockload, IPv4 to an IPv4-only server" test $? -eq 0
fi
# (the tool's own control: on the host's kernel only, the VM lane is slow)
if [ "${SLUICE_IT_QUICK:-}" != 1 ]; then
	client_run client-1 no --dst 10.1.0.11 --port 7200 "${SIZES[@]}" --count 100 $STREAMS
	it_check "sockload $STREAMS, not accelerated (outside the cgroup): the tool's own control" test $? -eq 0
	client_run client-1 no --dst 10.1.0.11 --port 7200 "${SIZES[@]}" --repeat "$REPEAT" $ENDINGS
	it_check "sockload $ENDINGS ($REPEAT times each), not accelerated: the tool's own control" test $? -eq 0
fi

# ---- blocking sockets: the kernel's limitation, measured ----
# Linux's tcp_bpf_recvmsg (6.1 to 6.18 at least) returns EAGAIN from a
# blocking recv() woken without data: the ACK of the reader's own FIN
# (half-close), a reset (before ECONNRESET), write space while another
# thread sends. sockload exits 3 when every failure was such a spurious
# EAGAIN: that is reported, not counted as a pass; anything else fails.
known() { # WHAT RC: rc 0 passes, 3 is the limitation (reported), else fails
	case $2 in
	0) it_ok ;;
	3) echo "KNOWN KERNEL LIMITATION (not a pass): $1: spurious EAGAIN from blocking calls on sockets in" \
		"sluice_sock in $(grep -oE '^FAIL [a-z-]+ \([^)]*\): [0-9]+ of [0-9]+' "$LOAD_OUT" |
			sed -E 's/^FAIL ([a-z-]+) \([^)]*\): /\1 /' | paste -sd, | sed 's/,/, /g') (docs/datapath.md)" ;;
	*) it_bad "$1: a failure other than the kernel's spurious EAGAIN (rc $2)" ;;
	esac
}
errs_before=$(stat -c %s "$IT_WORK/servers.err" 2>/dev/null || echo 0)
LOAD_IO=blocking
client_run client-1 yes --dst 10.1.0.11 --port 7000 "${SIZES[@]}" --repeat "$REPEAT" $ENDINGS
known "blocking sockets, $ENDINGS ($REPEAT times each), IPv4" $?
if [ "${SLUICE_IT_QUICK:-}" != 1 ]; then
	client_run client-1 yes --dst fd00:1::11 --port 7000 "${SIZES[@]}" --repeat "$REPEAT" $ENDINGS
	known "blocking sockets, $ENDINGS ($REPEAT times each), IPv6" $?
fi
client_run client-1 yes --dst 10.1.0.11 --port 7200 --repeat "$((REPEAT / 2 + 1))" --up $MB --down $MB bulk
known "blocking sockets, a full-duplex transfer to a server outside the cgroup (10 times)" $?
LOAD_IO=poll
sleep 0.5
errs_after=$(stat -c %s "$IT_WORK/servers.err" 2>/dev/null || echo 0)

# ---- 10,000 short connections: the sockhash empties ----
t0=$SECONDS
client_run client-1 yes --dst 10.1.0.11 --port 7000 --count "$SHORT" short
it_check "$SHORT short connections in a row" test $? -eq 0
for i in $(seq 20); do n=$(sock_entries); [ "$n" != none ] && [ "$n" -le 2 ] && break; sleep 0.1; done
it_check "after them, sluice_sock has ~0 entries ($n)" test "$n" != none -a "$n" -le 2
it_log "short connections in $((SECONDS - t0))s"

# ---- the local proxy ----
rm -f "$IT_WORK/tproxy.ready"
cg_spawn pid node "$IT_PY" "$IT_DIR/tproxy.py" --port "$PROXY_PORT" --log "$IT_WORK/tproxy.log" --ready "$IT_WORK/tproxy.ready"
wait_file "$IT_WORK/tproxy.ready" || it_die "tproxy.py did not start"
for w in 10.1.0.11 fd00:1::11; do
	# the proxy's own connection onward to web-1 (marked 0xB00), seen on
	# lxc-web-1: reported, not checked (the contract names the client's side)
	rm -f "$IT_WORK/cap2.ready"
	it_spawn cap2 "$IT_PY" "$LOAD" capture --dev lxc-web-1 --port 7100 --ready "$IT_WORK/cap2.ready" > "$IT_WORK/cap2.out"
	wait_file "$IT_WORK/cap2.ready" || it_die "capture on lxc-web-1 did not start"
	transfer lxc-client-1 7100 "$w" client-1 yes $MB
	it_check "client-1 -> $w:7100 through the proxy: the transfer passes" test $? -eq 0
	it_check "... the proxy saw it" grep -q "^accept [0-9a-f.:]* [0-9]* $w 7100\$" "$IT_WORK/tproxy.log"
	it_check "... no payload on lxc-client-1 ($CAP)" no_payload
	kill -TERM "$cap2"
	wait "$cap2"
	echo "   (the proxy's connection onward, on lxc-web-1: $(head -1 "$IT_WORK/cap2.out"))"
done
kill "$pid"

# drifted WHAT: a transfer still passes, through TCP (payload on the device)
drifted() {
	transfer lxc-web-1 7000 10.1.0.11 client-1 yes $MB
	it_check "drift: $1: the transfer passes" test $? -eq 0
	it_check "drift: $1: not accelerated, payload on lxc-web-1 ($CAP)" payload_ge $MB
}
# repaired HOOK: diff names HOOK's attachment, apply makes it again (and a
# second apply nothing), and a transfer is accelerated again
repaired() {
	it_sluice 2 diff "$ON"
	sed 's/^/   | /' "$IT_OUT"
	it_check "diff shows the $1 attachment to make again" grep -qi "$1" "$IT_OUT"
	it_apply "$ON"
	it_converged "$ON"
	transfer lxc-web-1 7000 10.1.0.11 client-1 yes $MB
	it_check "repaired ($1): the transfer passes" test $? -eq 0
	it_check "repaired ($1): accelerated again, no payload on lxc-web-1 ($CAP)" no_payload
}

# ---- drift: the sockops program detached behind sluice's back ----
cgid=$(stat -c %i "$CG")
prog=$(bpftool -j cgroup show "$CG" | "$IT_PY" -c '
import json, sys
print(next((str(p["id"]) for p in json.load(sys.stdin) if p.get("name") == "sluice_sockops"), ""))')
link=$(bpftool -j link show | "$IT_PY" -c '
import json, sys
prog, cg = int(sys.argv[1] or 0), int(sys.argv[2])
print(next((str(l["id"]) for l in json.load(sys.stdin) if l.get("prog_id") == prog and l.get("cgroup_id") == cg), ""))' \
	"$prog" "$cgid")
echo "   sluice_sockops: program $prog, link $link (cgroup id $cgid)"
if [ -n "$link" ]; then
	bpftool link detach id "$link" || it_bad "bpftool link detach id $link"
else
	it_bad "no bpf_link of sluice_sockops on $CG (bpftool link show)"
	bpftool cgroup detach "$CG" sock_ops id "$prog" || it_bad "bpftool cgroup detach"
fi
it_check "drift: sluice_sockops is off the cgroup" sh -c "! bpftool cgroup show '$CG' | grep -q sluice_sockops"
drifted "sockops link detached"
repaired sockops
it_check "repaired: sluice_sockops is on the cgroup" has_sluice_sockops
it_check "the foreign sockops program is still attached" foreign_there

# ---- drift: the pinned link removed; the sk_msg program detached from the map ----
# (on the host's kernel only: the VM lane is slow)
if [ "${SLUICE_IT_QUICK:-}" != 1 ]; then
	links=$(find "$SLUICE_PIN_DIR" -maxdepth 1 -name 'link_*sockops*')
	if [ -n "$links" ]; then
		rm -f $links
		it_check "drift: without its pinned link ($(basename "$links")), sluice_sockops is off the cgroup" \
			sh -c "! bpftool cgroup show '$CG' | grep -q sluice_sockops"
		repaired sockops
		it_check "repaired: sluice_sockops is on the cgroup" has_sluice_sockops
	else
		it_bad "no pinned link of sluice_sockops in $SLUICE_PIN_DIR ($(ls "$SLUICE_PIN_DIR" | tr '\n' ' '))"
	fi
	msgprog=$(find "$SLUICE_PIN_DIR" -maxdepth 1 -name 'prog_sk_msg*' | head -1)
	if [ -n "$msgprog" ] && bpftool prog detach pinned "$msgprog" msg_verdict pinned "$SLUICE_PIN_DIR/sluice_sock"; then
		drifted "sk_msg detached from the map"
		repaired sk_msg
	else
		it_bad "cannot detach the sk_msg program ($msgprog) from sluice_sock with bpftool"
	fi
fi

# ---- off, then flush, with a long connection established ----
# long_start: an echoed message every 50 ms from client-1 to web-1:7000;
# long_count: its exchanges so far; long_stop: its exit code.
# (--io poll: non-blocking sockets, as an event loop's: what this checks is
# that the connection survives acceleration going away, not the kernel's
# spurious EAGAIN on blocking sockets in a sockmap, which the blocking runs
# above report on their own; a blocking reader met it here once in CI, at
# the EOF after a flush)
long_start() {
	rm -f "$IT_WORK/long.ready" "$IT_WORK/long.progress"
	cg_spawn LONG client-1 "$IT_PY" "$LOAD" client --io poll --dst 10.1.0.11 --port 7000 --timeout 5 --deadline 120 \
		--ready "$IT_WORK/long.ready" --progress "$IT_WORK/long.progress" long > "$IT_WORK/long.out" 2>&1
	wait_file "$IT_WORK/long.ready"
}
long_count() { cut -d' ' -f1 "$IT_WORK/long.progress" 2>/dev/null || echo 0; }
long_moves() { # the long connection makes exchanges (within 2 s)
	local n0
	n0=$(long_count)
	for _ in $(seq 40); do [ "$(long_count)" -gt $((n0 + 5)) ] && return 0; sleep 0.05; done
	return 1
}
objects_gone() { # KIND ID...: none of these kernel objects is left (within 3 s)
	local i left
	for i in $(seq 30); do
		left=""
		set -- "$@"
		while [ $# -ge 2 ]; do
			bpftool "$1" show id "$2" >/dev/null 2>&1 && left+="$1 $2 "
			shift 2
		done
		[ -z "$left" ] && return 0
		sleep 0.1
		set -- $left
	done
	echo "   still there: $left"
	return 1
}
long_stop() {
	kill -TERM "$LONG"
	wait "$LONG"
	local rc=$?
	sed 's/^/   long | /' "$IT_WORK/long.out"
	return "$rc"
}
for how in off flush; do
	it_check "($how) the long connection is established" long_start
	n=$(sock_entries)
	it_check "($how) while it is open, sluice_sock has its two sockets ($n)" test "$n" != none -a "$n" -ge 2
	# the kernel objects of acceleration: gone once nothing uses them
	ids="map $(bpftool -j map show pinned "$SLUICE_PIN_DIR/sluice_sock" | "$IT_PY" -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
	for f in "$SLUICE_PIN_DIR"/prog_sk_msg* "$SLUICE_PIN_DIR"/prog_sockops*; do
		ids+=" prog $(bpftool -j prog show pinned "$f" | "$IT_PY" -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
	done
	cap_start lxc-web-1 7000
	if [ $how = off ]; then it_apply "$OFF"; else it_sluice 0 flush --yes; fi
	it_check "($how) sluice's programs are off the cgroup" no_sluice_prog
	it_check "($how) the foreign sockops program is still attached" foreign_there
	it_check "($how) the long connection keeps exchanging" long_moves
	cap_stop
	echo "   ($how) capture on lxc-web-1 of the long connection meanwhile: $CAP"
	it_check "($how) the long connection ends well, every echo checked" long_stop
	it_check "($how) then sluice_sock and both programs are freed ($ids)" objects_gone $ids
	transfer lxc-web-1 7000 10.1.0.11 client-1 yes $MB
	it_check "($how) a new connection passes" test $? -eq 0
	it_check "($how) not accelerated: payload on lxc-web-1 ($CAP)" payload_ge $MB
	if [ $how = off ]; then
		it_converged "$OFF"
		it_apply "$ON"
		it_check "on again: sluice_sockops is on the cgroup" has_sluice_sockops
	fi
done
it_check "flush: no pin dir left" test ! -e "$SLUICE_PIN_DIR"
it_check "flush: no sluice program on the cgroup" no_sluice_prog
it_sluice 0 flush --yes
it_check "a second flush has nothing to do" grep -qx "No changes." "$IT_OUT"
sed 's/token [0-9a-f]*/token T/' "$IT_WORK/servers.err" | sort | uniq -c | sed 's/^/   server | /'
# (the blocking runs' own, from the limitation above, aside)
server_errors() {
	local total
	total=$(stat -c %s "$IT_WORK/servers.err" 2>/dev/null || echo 0)
	[ "$errs_before" -eq 0 ] && [ "$total" -eq "$errs_after" ]
}
it_check "the servers reported no error (but the blocking runs' own)" server_errors
[ "$errs_after" -gt "$errs_before" ] && echo "   (the servers' errors in the blocking runs: $(tail -c +$((errs_before + 1)) "$IT_WORK/servers.err" | head -c "$((errs_after - errs_before))" | grep -c EAGAIN) spurious EAGAIN)"
it_finish
