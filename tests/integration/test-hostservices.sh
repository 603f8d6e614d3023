#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Host-reachable services (datapath.hostReachableServices, cgroupPath: the
# cgroup sock_addr programs) with real clients, in the node's own network
# namespace and in endpoints, inside a cgroup the test makes (under the
# cgroup v2 mount, e.g. /sys/fs/cgroup/unified; removed on exit, its
# processes killed first) and outside it. The servers (hsprobe.py) name
# themselves and say which peer they saw; the world outside the cluster
# holds some frontend addresses itself (its server says "world": what
# reaches it was not translated). Checks:
# - the plan attaches the eight hooks (connect, sendmsg, recvmsg,
#   getpeername, both families) to the cgroup, each a bpf_link pinned as
#   link_HOOK; a second apply is an empty plan with no kernel write;
# - in the cgroup, from the node's namespace and from an endpoint, IPv4
#   and IPv6: TCP, connected UDP and unconnected UDP reach the service's
#   backends (each of them), getpeername() returns the frontend, and every
#   UDP reply (recvfrom, connected and unconnected sockets) comes from the
#   frontend; the same through an IPv6 socket to a v4-mapped frontend, and
#   for processes in a cgroup below cgroupPath; an unconnected UDP socket
#   keeps its backend for a frontend; status lists the hooks, show gives
#   the setting back (show | diff - is empty);
# - outside the cgroup: a node process is not translated (the world
#   answers); an endpoint is translated in tc and its flow has a SERVICE
#   conntrack entry, while the same client in the cgroup makes none (its
#   packets go to the backend's address: its EGRESS entry says so);
# - weights 1:3 over 600 new connections (300 with SLUICE_IT_QUICK=1),
#   IPv4 from the node and IPv6 from an endpoint: each backend's share
#   within 12 percentage points of its weight's share (15 with 300: the
#   slot table's own deviation plus sampling; see the check);
# - no active backend (backends: [], all terminating): connect() (TCP,
#   connected UDP) and sendto() (unconnected UDP) fail with ECONNREFUSED
#   at once (within 0.5 s), IPv4, IPv6 and v4-mapped, each counted once as
#   a no-backend drop;
# - hairpin: an endpoint that is the only backend of a service reaches
#   itself through the frontend, TCP, connected and unconnected UDP, both
#   families: outside the cgroup (tc: the server sees 169.254.42.1 /
#   100::42:1) and in it (a local connection: the server sees the
#   endpoint's own address; getpeername() is the frontend);
# - long-lived connections (IPv4 from the node, IPv6 from an endpoint,
#   both in the cgroup) keep exchanging data while their service gains a
#   backend and the backend they use turns terminating; new connections
#   (TCP, and UDP of another service) never reach a terminating backend;
# - an idle unconnected UDP socket (in the cgroup; and, for comparison,
#   outside it in an endpoint: tc) whose backend left the service, and
#   whose backend's id went to another service's backend in a later
#   apply, reaches its service's current backend, never the other
#   service's;
# - drift: a pinned link removed (rm link_connect4) and a link detached
#   (bpftool link detach, sendmsg6 and recvmsg4) each show in traffic
#   (untranslated, or replies from the backend) and in diff (exit 2), and
#   apply repairs them; the pin of sluice_sock_nat removed: diff shows it,
#   apply makes it again and binds the hooks' programs to it; a foreign
#   connect4 program on the same cgroup
#   stays through every apply, the drift, turning the option off and flush;
# - cgroupPath changed (to the cgroup below) and back: the plan changes
#   the eight attachments only; the hooks are on the new cgroup only, and
#   translate for its processes only;
# - off: the plan removes the eight attachments and adds nothing; no sluice
#   program is left on the cgroup, no pin of the hooks (links, programs,
#   sluice_sock_nat), the programs and links are freed; node processes are
#   no longer translated, endpoints still are (tc, with SERVICE entries);
#   a connection made at the socket before keeps exchanging data;
#   on again, then flush: the same, and a second flush has nothing to do.
#
# SLUICE_IT_QUICK=1: 300 connections for each weight check (not 600).
#
# Usage: test-hostservices.sh [PATH-TO-SLUICE]
. "$(dirname "$0")/lib.sh"

# lib.sh's helpers, each check reported on a line of its own, "ok - ..."
# or "not ok - ..."; the end is lib.sh's "N passed, M failed" (which
# .ci/count-checks sums).
it_bad() { IT_FAIL=$((IT_FAIL + 1)); echo "not ok - $*"; }
it_check() {
	local what=$1; shift
	if "$@"; then IT_PASS=$((IT_PASS + 1)); echo "ok - $what"; else it_bad "$what"; fi
}
eval "lib_$(declare -f it_sluice)"
it_sluice() { lib_it_sluice "$@" || return 1; echo "ok - sluice ${*:2} (exit $1)"; }

it_init "$@"
command -v bpftool >/dev/null || it_skip "needs bpftool"
command -v clang >/dev/null || it_skip "needs clang (the foreign cgroup program)"
CGROOT=${SLUICE_IT_CGROUP_ROOT:-$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)}
[ -n "$CGROOT" ] && [ "$(stat -f -c %T "$CGROOT" 2>/dev/null)" = cgroup2fs ] || it_skip "needs cgroup v2 (none mounted)"
HS=$IT_DIR/hsprobe.py
QUICK=${SLUICE_IT_QUICK:-}
NW=600
[ "$QUICK" = 1 ] && NW=300

# ---- the cgroup: made here, emptied (its processes are the test's own)
# and removed on exit, whatever the exit ----
CG=$CGROOT/sluice-it-hostsvc.$$.$RANDOM
mkdir "$CG" || it_skip "cannot make a cgroup under $CGROOT"
# (and one below it: the hooks hold for the processes of its descendants)
SUB=$CG/sub
hs_cleanup() {
	local rc=$? p procs d
	for d in "$SUB" "$CG"; do
		[ -d "$d" ] || continue
		for _ in $(seq 100); do
			procs=$(cat "$d/cgroup.procs")
			[ -n "$procs" ] || break
			for p in $procs; do kill -KILL "$p" 2>/dev/null; done
			sleep 0.05
		done
		for _ in $(seq 100); do rmdir "$d" 2>/dev/null && break; sleep 0.05; done
		[ -d "$d" ] && echo "WARNING: cannot remove $d (processes: $(tr '\n' ' ' < "$d/cgroup.procs"))"
	done
	(exit "$rc")
	it_cleanup
}
trap hs_cleanup EXIT
mkdir "$SUB" || it_die "cannot make $SUB"
it_log "cgroup $CG"

# hs_cmd NS IN ARGS...: the command line (in HS_CMD) of hsprobe.py ARGS in
# NS's network namespace (an endpoint's name, or "node": the test's own),
# in the cgroup (IN=cg), in a cgroup below it (IN=sub) or in neither
# (IN=out: the test's own cgroup, outside CG).
hs_cmd() {
	local ns=$1 in=$2 dir=; shift 2
	case $in in cg) dir=$CG ;; sub) dir=$SUB ;; esac
	HS_CMD=("$IT_PY" "$HS" "$@")
	[ "$ns" = node ] || HS_CMD=(nsenter -t "${IT_PID[$ns]}" -n -- "${HS_CMD[@]}")
	[ -z "$dir" ] || HS_CMD=(sh -c 'echo $$ > "$0/cgroup.procs" || exit 99; exec "$@"' "$dir" "${HS_CMD[@]}")
}
# hs NS IN ARGS...: run it; hs_spawn VAR NS IN ARGS...: the same in the
# background (a helper, see it_spawn).
hs() { hs_cmd "$@"; "${HS_CMD[@]}"; }
hs_spawn() { local v=$1; shift; hs_cmd "$@"; it_spawn "$v" "${HS_CMD[@]}"; }
# conns WHAT NS IN ARGS...: a check that hsprobe conns passes; probe WHAT
# NS IN MODE ARGS...: that hsprobe MODE passes.
conns() { local what=$1 ns=$2 in=$3; shift 3; it_check "$what" hs "$ns" "$in" conns "$@"; }
probe() { local what=$1; shift; it_check "$what" hs "$@"; }
wait_file() { for _ in $(seq 500); do [ -e "$1" ] && return 0; sleep 0.01; done; return 1; }

# ---- topology ----
IT_LABELS[1000]="app: backend"
IT_LABELS[1001]="app: client"
it_endpoint client-1 21 1001
it_endpoint be-1 11 1000
it_endpoint be-2 12 1000
it_endpoint be-3 13 1000
# Frontends the world holds: what reaches them untranslated is answered by
# "world".
it_in "$IT_WORLD" ip -batch - <<-'EOF' || it_die "world: frontend addresses"
	addr add 10.96.0.10/32 dev lo
	addr add fd00:96::10/128 dev lo nodad
EOF
for name in be-1 be-2 be-3 world; do
	rm -f "$IT_WORK/ready.$name"
	if [ "$name" = world ]; then ports=(--tcp 80 --udp 53); else ports=(--tcp 8080 --udp 5353 --udp 5354 --udp 5355); fi
	it_spawn pid nsenter -t "${IT_PID[$name]}" -n -- "$IT_PY" "$HS" server --name "$name" "${ports[@]}" \
		--ready "$IT_WORK/ready.$name"
done
for name in be-1 be-2 be-3 world; do
	wait_file "$IT_WORK/ready.$name" || it_die "the server of $name did not start"
done
it_log "topology up: ${IT_ENDPOINTS[*]}, world"
# Without sluice: the backends answer directly, the world answers for its
# frontends, from the node and from an endpoint, in the cgroup or not.
conns "sanity: be-1 answers client-1 directly (TCP)" client-1 out --dst 10.1.0.11 --port 8080 -n 3 --expect be-1 \
	--peer-seen 10.1.0.21
conns "sanity: be-3 answers the node directly (IPv6 UDP, in the cgroup)" node cg --dst fd00:1::13 --port 5353 \
	--proto udp -n 3 --expect be-3
conns "sanity: the world answers the node for 10.96.0.10 (in the cgroup)" node cg --dst 10.96.0.10 --port 80 -n 3 \
	--expect world
conns "sanity: the world answers client-1 for [fd00:96::10]:53/UDP" client-1 out --dst fd00:96::10 --port 53 \
	--proto udpc -n 3 --expect world
it_check "sanity: the cgroup is empty again" test -z "$(cat "$CG/cgroup.procs")"
[ "$IT_FAIL" -eq 0 ] || it_die "the topology does not work without sluice"

# ---- a foreign connect4 program on the cgroup, before sluice ----
cat > "$IT_WORK/other.bpf.c" <<-'C'
	#include <linux/bpf.h>
	#include <bpf/bpf_helpers.h>
	SEC("cgroup/connect4")
	int other_connect4(struct bpf_sock_addr *ctx) { return 1; }
	char LICENSE[] SEC("license") = "GPL";
C
multiarch=$(gcc -print-multiarch 2>/dev/null || true)
mkdir -p "$IT_BPFFS/other"
clang -target bpf -O2 -g ${multiarch:+-idirafter /usr/include/$multiarch} -c "$IT_WORK/other.bpf.c" \
	-o "$IT_WORK/other.bpf.o" &&
	bpftool prog load "$IT_WORK/other.bpf.o" "$IT_BPFFS/other/connect4" type cgroup/connect4 &&
	bpftool cgroup attach "$CG" connect4 pinned "$IT_BPFFS/other/connect4" multi
cg_progs() { bpftool cgroup show "$CG" 2>/dev/null; }
foreign_there() { cg_progs | grep -q other_connect4; }
it_check "a foreign connect4 program is attached to the cgroup before apply" foreign_there

# ---- the state ----
HOOKS="connect4 connect6 sendmsg4 sendmsg6 recvmsg4 recvmsg6 getpeername4 getpeername6"
SIZES="mapSizes: {ctTcp: 16384, ctAny: 4096, ipcache: 1024, endpoints: 64, policy: 1024, services: 64, backends: 64}"
HRS=true CGPATH=$CG
# live4/live6 (long-lived connections) and tdns4 (a backend turns
# terminating) change between steps.
LIVE4="[{ip: 10.1.0.11, port: 8080}, {ip: 10.1.0.12, port: 8080}]"
LIVE6='[{ip: "fd00:1::11", port: 8080}, {ip: "fd00:1::12", port: 8080}]'
TDNS4="[{ip: 10.1.0.11, port: 5353}, {ip: 10.1.0.12, port: 5353}]"
# idle4 (an idle unconnected UDP socket's backend leaves) and, once S2 is
# set, another service.
IDLE4="[{ip: 10.1.0.11, port: 5354}]"
S2=
state() { # NAME: the state of the variables, as NAME; its path in STATE
	STATE=$(it_state "$1" <<-Y
		datapath: {hostReachableServices: $HRS, cgroupPath: $CGPATH, $SIZES}
		services:
		  - name: web4
		    frontend: {ip: 10.96.0.10, port: 80, protocol: TCP}
		    backends: [{ip: 10.1.0.11, port: 8080}, {ip: 10.1.0.12, port: 8080}]
		  - name: dns4
		    frontend: {ip: 10.96.0.10, port: 53, protocol: UDP}
		    backends: [{ip: 10.1.0.11, port: 5353}, {ip: 10.1.0.12, port: 5353}]
		  - name: web6
		    frontend: {ip: "fd00:96::10", port: 80, protocol: TCP}
		    backends: [{ip: "fd00:1::12", port: 8080}, {ip: "fd00:1::13", port: 8080}]
		  - name: dns6
		    frontend: {ip: "fd00:96::10", port: 53, protocol: UDP}
		    backends: [{ip: "fd00:1::12", port: 5353}, {ip: "fd00:1::13", port: 5353}]
		  - name: weighted4
		    frontend: {ip: 10.96.0.12, port: 80, protocol: TCP}
		    backends: [{ip: 10.1.0.11, port: 8080, weight: 1}, {ip: 10.1.0.12, port: 8080, weight: 3}]
		  - name: weighted6
		    frontend: {ip: "fd00:96::12", port: 80, protocol: TCP}
		    backends: [{ip: "fd00:1::12", port: 8080, weight: 3}, {ip: "fd00:1::13", port: 8080, weight: 1}]
		  - name: none4
		    frontend: {ip: 10.96.0.13, port: 80, protocol: TCP}
		    backends: []
		  - name: noneudp4
		    frontend: {ip: 10.96.0.13, port: 53, protocol: UDP}
		    backends: [{ip: 10.1.0.12, port: 5353, state: terminating}]
		  - name: none6
		    frontend: {ip: "fd00:96::13", port: 80, protocol: TCP}
		    backends: [{ip: "fd00:1::11", port: 8080, state: terminating}]
		  - name: noneudp6
		    frontend: {ip: "fd00:96::13", port: 53, protocol: UDP}
		    backends: []
		  - name: live4
		    frontend: {ip: 10.96.0.30, port: 80, protocol: TCP}
		    backends: $LIVE4
		  - name: live6
		    frontend: {ip: "fd00:96::30", port: 80, protocol: TCP}
		    backends: $LIVE6
		  - name: tdns4
		    frontend: {ip: 10.96.0.31, port: 53, protocol: UDP}
		    backends: $TDNS4
		  - name: hair4
		    frontend: {ip: 10.96.0.40, port: 80, protocol: TCP}
		    backends: [{ip: 10.1.0.11, port: 8080}]
		  - name: hairudp4
		    frontend: {ip: 10.96.0.40, port: 53, protocol: UDP}
		    backends: [{ip: 10.1.0.11, port: 5353}]
		  - name: hair6
		    frontend: {ip: "fd00:96::40", port: 80, protocol: TCP}
		    backends: [{ip: "fd00:1::11", port: 8080}]
		  - name: hairudp6
		    frontend: {ip: "fd00:96::40", port: 53, protocol: UDP}
		    backends: [{ip: "fd00:1::11", port: 5353}]
		  - name: idle4
		    frontend: {ip: 10.96.0.50, port: 53, protocol: UDP}
		    backends: $IDLE4
		$S2
	Y
	)
}
show() { sed 's/^/   | /' "$@"; }
# attach_lines OP FILE: the hooks the plan attaches (OP +) or detaches (-)
# on a cgroup, sorted, one a line.
attach_lines() {
	sed -nE "s/^ *\\$1 attach ([a-z0-9_]+) cgroup .*/\\1/p" "$2" | sort
}
hooks_sorted() { printf '%s\n' $HOOKS | sort; }
# sluice_hooks [DIR]: the hooks of sluice's programs on the cgroup (or
# DIR) (bpftool's attach types, old names or new: connect4 or
# cgroup_inet4_connect), sorted.
# Fails when bpftool does.
sluice_hooks() {
	local j
	j=$(bpftool -j cgroup show "${1:-$CG}") || return 1
	"$IT_PY" -c '
import json, re, sys
def hook(t):
    m = re.fullmatch(r"cgroup_(?:inet|udp)([46])_(connect|sendmsg|recvmsg|getpeername)", t)
    return m.group(2) + m.group(1) if m else t
j = sys.stdin.read().strip()  # (nothing at all for a cgroup without programs)
for h in sorted(hook(p["attach_type"]) for p in (json.loads(j) if j else []) if p.get("name", "").startswith("sluice_")):
    print(h)' <<< "$j"
}
# no_hooks [DIR]: no sluice program on the cgroup (or DIR).
no_hooks() { local h; h=$(sluice_hooks "$@") || return 1; [ -z "$h" ]; }
no_sluice_prog() { local out; out=$(bpftool cgroup show "$CG") || return 1; ! grep -q sluice_ <<< "$out"; }
link_pins() { (cd "$SLUICE_PIN_DIR" 2>/dev/null && for h in $HOOKS; do [ -e "link_$h" ] && echo "link_$h"; done); }
# hook_objects: "prog ID" and "link ID" of sluice's programs on the cgroup
# and their links (bpftool link show: by cgroup id and program).
hook_objects() {
	local progs
	progs=$(bpftool -j cgroup show "$CG" | "$IT_PY" -c '
import json, sys
print(" ".join(str(p["id"]) for p in json.load(sys.stdin) if p.get("name", "").startswith("sluice_")))')
	for p in $progs; do echo "prog $p"; done
	bpftool -j link show | "$IT_PY" -c '
import json, sys
progs, cg = {int(p) for p in sys.argv[1].split()}, int(sys.argv[2])
for l in json.load(sys.stdin):
    if l.get("prog_id") in progs and l.get("cgroup_id") == cg:
        print("link %d" % l["id"])' "$progs" "$(stat -c %i "$CG")"
}
# objects_gone KIND ID ...: none of these kernel objects is left (within 3 s)
objects_gone() {
	local left
	for _ in $(seq 30); do
		left=""
		set -- "$@"
		while [ $# -ge 2 ]; do
			bpftool "$1" show id "$2" >/dev/null 2>&1 && left+="$1 $2 "
			shift 2
		done
		[ -z "$left" ] && return 0
		sleep 0.1
		# shellcheck disable=SC2086
		set -- $left
	done
	echo "   still there: $left"
	return 1
}
# pins_of_hooks: sluice's pins of the hooks (programs, links, the map of
# the sockets' translations), if any.
pins_of_hooks() {
	local f
	for f in "$SLUICE_PIN_DIR"/*; do
		case ${f##*/} in *connect* | *sendmsg* | *recvmsg* | *getpeername* | *sock_lb* | *socklb* | *sock_nat*) echo "${f##*/}" ;; esac
	done
}
all_attached() { # the eight hooks on the cgroup, each with its pinned link
	local got
	got=$(sluice_hooks)
	[ "$got" = "$(hooks_sorted)" ] || { echo "   sluice's programs on the cgroup: $(echo $got)"; return 1; }
	[ "$(link_pins | wc -l)" -eq 8 ] || { echo "   link pins: $(link_pins | tr '\n' ' ')"; return 1; }
}

# ==== apply ====
state on
ON=$STATE
it_sluice 0 validate "$ON"
it_check "validate: no 'not carried out yet' warning about hostReachableServices" \
	sh -c "! grep -qi 'hostReachableServices.*not carried out' '$IT_ERR'"
it_sluice 2 diff "$ON"
cp "$IT_OUT" "$IT_WORK/on.plan"
grep -E 'attach|cgroup' "$IT_WORK/on.plan" | show
it_check "the plan attaches the eight hooks to $CG" test "$(attach_lines + "$IT_WORK/on.plan")" = "$(hooks_sorted)"
it_check "the plan names the cgroup for each of them" \
	test "$(grep -cE "^ *\\+ attach [a-z0-9]+ cgroup $CG\$" "$IT_WORK/on.plan")" -eq 8
it_apply "$ON"
it_converged "$ON"
echo "   cgroup programs:"; cg_progs | show
echo "   pins: $(ls "$SLUICE_PIN_DIR" | tr '\n' ' ')"
it_check "the eight hooks are on the cgroup (sluice_* programs), each a pinned link_HOOK" all_attached
it_check "the foreign connect4 program stays through apply" foreign_there
status_hooks() {
	"$IT_SLUICE" status -o json | "$IT_PY" -c '
import json, sys
print("\n".join(sorted(h["hook"] for h in json.load(sys.stdin)["hostReachableServices"]["hooks"])))'
}
it_check "sluice status -o json lists the eight hooks (hostReachableServices.hooks)" test "$(status_hooks)" = "$(hooks_sorted)"
"$IT_SLUICE" status --no-color > "$IT_WORK/status.txt"
it_check "sluice status (text) has the section of host-reachable services" \
	grep -q "^host-reachable services" "$IT_WORK/status.txt"
"$IT_SLUICE" show > "$IT_WORK/show.yaml"
it_check "sluice show gives hostReachableServices: true back" grep -q "hostReachableServices: true" "$IT_WORK/show.yaml"
if it_sluice 0 diff - < "$IT_WORK/show.yaml"; then
	it_check "sluice show | sluice diff -: No changes." grep -qx "No changes." "$IT_OUT"
else
	show "$IT_WORK/show.yaml"
fi

# ==== in the cgroup: node and endpoint, both families, TCP, connected and unconnected UDP ====
it_log "-- translated at the socket"
for who in node client-1; do
	for p in tcp udpc udp; do
		case $p in tcp) port=80 ;; *) port=53 ;; esac
		conns "$who in the cgroup, $p to 10.96.0.10:$port: reaches be-1 and be-2, the frontend as peer/source" \
			"$who" cg --dst 10.96.0.10 --port $port --proto $p -n 20 --expect be-1,be-2
		conns "$who in the cgroup, $p to [fd00:96::10]:$port: reaches be-2 and be-3, the frontend as peer/source" \
			"$who" cg --dst fd00:96::10 --port $port --proto $p -n 20 --expect be-2,be-3
	done
done
for p in tcp udpc udp; do
	case $p in tcp) port=80 ;; *) port=53 ;; esac
	conns "node in the cgroup, $p on an IPv6 socket to [::ffff:10.96.0.10]:$port (v4-mapped): reaches be-1 and be-2, the frontend as peer/source" \
		node cg --dst ::ffff:10.96.0.10 --port $port --proto $p -n 10 --expect be-1,be-2 --some
done
conns "node in a cgroup below it, tcp to 10.96.0.10:80: reaches be-1 and be-2, the frontend as peer" \
	node sub --dst 10.96.0.10 --port 80 -n 10 --expect be-1,be-2 --some
conns "client-1 in a cgroup below it, udp to [fd00:96::10]:53: reaches be-2 and be-3, replies from the frontend" \
	client-1 sub --dst fd00:96::10 --port 53 --proto udp -n 10 --expect be-2,be-3 --some
it_log "-- unconnected UDP: one backend per socket and frontend"
for who in node client-1; do
	probe "$who in the cgroup: each unconnected UDP socket keeps its backend for 10.96.0.10:53 (20 sockets x 5)" \
		"$who" cg sticky --dst 10.96.0.10 --port 53 --sockets 20 -k 5 --expect be-1,be-2 --spread
	probe "$who in the cgroup: each unconnected UDP socket keeps its backend for [fd00:96::10]:53 (20 sockets x 5)" \
		"$who" cg sticky --dst fd00:96::10 --port 53 --sockets 20 -k 5 --expect be-2,be-3 --spread
done

# ==== outside the cgroup: the node is not translated, an endpoint is (tc) ====
it_log "-- outside the cgroup"
conns "node outside the cgroup, TCP to 10.96.0.10:80: not translated, the world answers" \
	node out --dst 10.96.0.10 --port 80 -n 3 --expect world
conns "node outside the cgroup, connected UDP to [fd00:96::10]:53: not translated, the world answers" \
	node out --dst fd00:96::10 --port 53 --proto udpc -n 3 --expect world
# ct_flows MODE RECORD FRONTEND PORT PROTO(tcp|udp): the client's flows
# (an hsprobe conns --record) in sluice's conntrack map of their family and
# protocol. MODE tc: each has a SERVICE entry (client address and port to
# the frontend). MODE sock: none has a SERVICE entry, and each has an
# EGRESS entry to its backend's own address (its packets went there).
ct_flows() {
	local mode=$1 rec=$2 fe=$3 port=$4 proto=$5 fam=4 map
	case $fe in *:*) fam=6 ;; esac
	if [ "$proto" = tcp ]; then map=sluice_ct${fam}_tcp; else map=sluice_ct${fam}_any; fi
	bpftool -j map dump pinned "$SLUICE_PIN_DIR/$map" > "$IT_WORK/ct.json" || return 1
	"$IT_PY" - "$mode" "$rec" "$fe" "$port" "$IT_WORK/ct.json" "$map" <<-'PY'
		import ipaddress, json, sys
		mode, rec, fe, fport, dump, name = sys.argv[1], sys.argv[2], ipaddress.ip_address(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
		n = 4 if fe.version == 4 else 16
		ents = []
		for e in json.load(open(dump)):
		    k = bytes(int(x, 16) for x in e["key"])
		    ents.append((k[:n], k[n:2 * n], int.from_bytes(k[2 * n:2 * n + 2], "big"),
		                 int.from_bytes(k[2 * n + 2:2 * n + 4], "big"), k[2 * n + 5]))
		flows = [l.split() for l in open(rec) if l.strip()]
		svc = egr = 0
		for backend, seen, server, caddr, cport in flows:
		    c, p, s = ipaddress.ip_address(caddr).packed, int(cport), ipaddress.ip_address(server).packed
		    mine = [x for x in ents if x[0] == c and x[2] == p]
		    svc += any(x[4] == 2 and x[1] == fe.packed and x[3] == fport for x in mine)
		    egr += any(x[4] == 0 and x[1] == s for x in mine)
		print("   %s (%d entries): of %d flows, %d with a SERVICE entry to %s port %d, %d with an EGRESS entry to their backend"
		      % (name, len(ents), len(flows), svc, fe, fport, egr))
		if not flows:
		    sys.exit(1)
		sys.exit(0 if (svc == len(flows) if mode == "tc" else svc == 0 and egr == len(flows)) else 1)
	PY
}
# (same client, same frontends: in tc, then at the socket)
for t in "10.96.0.10 80 tcp be-1,be-2" "fd00:96::10 80 tcp be-2,be-3" "10.96.0.10 53 udpc be-1,be-2" \
	"fd00:96::10 53 udp be-2,be-3"; do
	read -r fe port p exp <<< "$t"
	ctp=tcp; [ "$p" = tcp ] || ctp=udp
	conns "client-1 outside the cgroup, $p to $fe port $port: reaches $exp (translated in tc)" \
		client-1 out --dst "$fe" --port "$port" --proto "$p" -n 5 --expect "$exp" --some --record "$IT_WORK/rec.tc"
	it_check "... each of these flows has a SERVICE conntrack entry (client to the frontend)" \
		ct_flows tc "$IT_WORK/rec.tc" "$fe" "$port" "$ctp"
	conns "client-1 in the cgroup, $p to $fe port $port: reaches $exp (at the socket)" \
		client-1 cg --dst "$fe" --port "$port" --proto "$p" -n 5 --expect "$exp" --some --record "$IT_WORK/rec.sock"
	it_check "... none of these flows has a SERVICE conntrack entry; each went to its backend's address (EGRESS entry)" \
		ct_flows sock "$IT_WORK/rec.sock" "$fe" "$port" "$ctp"
done

# ==== weights ====
it_log "-- weights over $NW new connections each"
# (--timeout 5, not 2: a lost SYN is sent again after 1 s, then 3 s; under
# CI's load one connection of 600 once took longer than 2 s, cause not
# found; the check is about the spread, and a real drop would still fail it)
# The tolerance is two things (sluice-state(5), services): the slot table
# itself, 251 slots each drawn by weighted rendezvous hashing, gives a
# backend a share a few slots off its weight's (fixed by the backends:
# here be-1 holds about 30% of 10.96.0.12's slots, not 25%); and 600 random
# choices sample that share with a standard deviation of 1.9 points (2.6
# with 300). 8 points failed once in CI at 34% (2.2 deviations above the
# table's 30%); 12 (15 with 300) leaves four deviations of sampling and
# still fails a 1:1 spread (25 points off) or a reversed one.
# A connection that still times out (one of 600 did, twice in CI, with
# nothing dropped that anyone saw) is tried once more, at most 3 times per
# run, each reported; what proves it was the machine and not the datapath
# is that the drop counters, every reason, did not move meanwhile.
tol=12
[ "$NW" -ge 600 ] || tol=15
drops_all() {
	"$IT_SLUICE" status -o json | "$IT_PY" -c '
import json, sys
print(sum(v["packets"] for v in json.load(sys.stdin)["drops"].values()))'
}
d0=$(drops_all) || it_die "sluice status -o json: no drop counters"
conns "node in the cgroup: $NW connections to 10.96.0.12:80 spread 1:3 over be-1, be-2 (within $tol points)" \
	node cg --dst 10.96.0.12 --port 80 -n "$NW" --workers 16 --timeout 5 --retry-timeouts 3 \
	--expect be-1,be-2 --weights 1,3 --tol "$tol"
conns "client-1 in the cgroup: $NW connections to [fd00:96::12]:80 spread 3:1 over be-2, be-3 (within $tol points)" \
	client-1 cg --dst fd00:96::12 --port 80 -n "$NW" --workers 16 --timeout 5 --retry-timeouts 3 \
	--expect be-2,be-3 --weights 3,1 --tol "$tol"
d1=$(drops_all) || it_die "sluice status -o json: no drop counters"
it_check "... the datapath dropped nothing meanwhile (drop counters, every reason: $d0 before, $d1 after)" \
	test "$d1" -eq "$d0"

# ==== no active backend ====
it_log "-- no active backend: refused at once, counted"
no_backend_drops() {
	"$IT_SLUICE" status -o json | "$IT_PY" -c 'import json,sys; print(json.load(sys.stdin)["drops"]["no-backend"]["packets"])'
}
d0=$(no_backend_drops)
n=0
for t in "node 10.96.0.13 80 tcp" "node 10.96.0.13 53 udpc" "node 10.96.0.13 53 udp" \
	"node fd00:96::13 80 tcp" "node fd00:96::13 53 udpc" "node fd00:96::13 53 udp" \
	"node ::ffff:10.96.0.13 80 tcp" "node ::ffff:10.96.0.13 53 udp" \
	"client-1 10.96.0.13 80 tcp" "client-1 fd00:96::13 53 udp"; do
	read -r who fe port p <<< "$t"
	case $p in udp) at="sendto()" ;; *) at="connect()" ;; esac
	probe "$who in the cgroup, $p to $fe port $port (no active backend): $at fails with ECONNREFUSED within 0.5 s" \
		"$who" cg refused --dst "$fe" --port "$port" --proto "$p" -n 2 --timeout 3 --limit 0.5
	n=$((n + 2))
done
d1=$(no_backend_drops)
it_check "each of the $n refused attempts is counted once as a no-backend drop (counter ${d0:-?} -> ${d1:-?})" \
	test "$((${d1:-0} - ${d0:-0}))" -eq "$n"
"$IT_SLUICE" status --no-color > "$IT_WORK/status.txt"
it_check "sluice status (text) shows the no-backend drops" grep -Eq "^  no-backend +${d1:-x} " "$IT_WORK/status.txt"

# ==== hairpin: be-1 reaches itself through a frontend ====
it_log "-- hairpin"
for t in "10.96.0.40 169.254.42.1 10.1.0.11" "fd00:96::40 100::42:1 fd00:1::11"; do
	read -r fe snat self <<< "$t"
	for p in tcp udpc udp; do
		case $p in tcp) port=80 ;; *) port=53 ;; esac
		conns "hairpin in tc (be-1 outside the cgroup), $p to $fe port $port: be-1 answers, it saw the peer $snat" \
			be-1 out --dst "$fe" --port "$port" --proto "$p" -n 5 --expect be-1 --peer-seen "$snat"
		conns "hairpin at the socket (be-1 in the cgroup), $p to $fe port $port: be-1 answers, it saw itself ($self)" \
			be-1 cg --dst "$fe" --port "$port" --proto "$p" -n 5 --expect be-1 --peer-seen "$self"
	done
done

# ==== long-lived connections across backend changes ====
it_log "-- long-lived connections"
declare -A STREAM=()
stream_field() { awk -v f="$2" '{ print $f }' "$IT_WORK/stream.$1" 2>/dev/null; } # KEY FIELD(1 backend, 2 ok, 3 errors)
# stream_alive KEY: 3 new good exchanges lately, and no error.
stream_alive() {
	local k=$1 n0 n1
	n0=$(stream_field "$k" 2)
	for _ in $(seq 60); do
		sleep 0.05
		n1=$(stream_field "$k" 2)
		[ "${n1:-0}" -ge $((${n0:-0} + 3)) ] && break
	done
	echo "   stream $k: on $(stream_field "$k" 1), ${n0:-0} -> ${n1:-0} good exchanges, $(stream_field "$k" 3) errors"
	[ "${n1:-0}" -ge $((${n0:-0} + 3)) ] && [ "$(stream_field "$k" 3)" = 0 ]
}
for k in "live4 node 10.96.0.30" "live6 client-1 fd00:96::30"; do
	read -r key who fe <<< "$k"
	rm -f "$IT_WORK/stream.$key"
	hs_spawn pid "$who" cg stream --dst "$fe" --port 80 --status "$IT_WORK/stream.$key" > "$IT_WORK/stream.$key.log"
	STREAM[$key]=$pid
done
for k in live4 live6; do
	for _ in $(seq 300); do
		[ -s "$IT_WORK/stream.$k" ] && break
		kill -0 "${STREAM[$k]}" 2>/dev/null || break
		sleep 0.01
	done
	it_check "stream $k (in the cgroup) got going" stream_alive "$k"
done
ON4=$(stream_field live4 1) ON6=$(stream_field live6 1)
[ -n "$ON4" ] && [ -n "$ON6" ] || it_die "the long-lived connections did not start"
it_log "long-lived connections: live4 on $ON4, live6 on $ON6"
# be-3 joins live4 and live6; the backend each stream is on turns
# terminating; tdns4's be-1 too.
n4=${ON4#be-} n6=${ON6#be-}
LIVE4="[$(for b in 1 2 3; do printf '{ip: 10.1.0.1%s, port: 8080%s}\n' $b "$([ $b = "$n4" ] && echo ', state: terminating')"; done | paste -sd,)]"
LIVE6="[$(for b in 1 2 3; do printf '{ip: "fd00:1::1%s", port: 8080%s}\n' $b "$([ $b = "$n6" ] && echo ', state: terminating')"; done | paste -sd,)]"
TDNS4="[{ip: 10.1.0.11, port: 5353, state: terminating}, {ip: 10.1.0.12, port: 5353}]"
state b-terminate
it_sluice 2 diff "$STATE"
cp "$IT_OUT" "$IT_WORK/b.plan"
show "$IT_WORK/b.plan"
want_b() {
	printf '%s\n' "+ backend 10.1.0.13:8080 weight 1" "~ backend 10.1.0.1$n4:8080: active -> terminating" \
		"+ backend [fd00:1::13]:8080 weight 1" "~ backend [fd00:1::1$n6]:8080: active -> terminating" \
		"~ backend 10.1.0.11:5353: active -> terminating" | sort
}
it_check "the plan adds be-3 and turns $ON4 (live4), $ON6 (live6) and be-1 (tdns4) terminating, nothing else" \
	test "$(grep -E '^ +[-+~] ' "$IT_WORK/b.plan" | sed 's/^ *//' | sort)" = "$(want_b)"
it_apply "$STATE"
it_converged "$STATE"
for k in live4 live6; do
	it_check "stream $k still exchanges after the apply (its backend terminating, be-3 new)" stream_alive "$k"
done
others() { for b in be-1 be-2 be-3; do [ "$b" != "$1" ] && echo "$b"; done | paste -sd,; }
conns "node in the cgroup: 40 new connections to live4 reach $(others "$ON4"), never the terminating $ON4" \
	node cg --dst 10.96.0.30 --port 80 -n 40 --expect "$(others "$ON4")"
conns "client-1 in the cgroup: 40 new connections to live6 reach $(others "$ON6"), never the terminating $ON6" \
	client-1 cg --dst fd00:96::30 --port 80 -n 40 --expect "$(others "$ON6")"
for p in udp udpc; do
	conns "node in the cgroup, $p to tdns4 (10.96.0.31:53): 20 new sockets reach be-2, never the terminating be-1" \
		node cg --dst 10.96.0.31 --port 53 --proto $p -n 20 --expect be-2
done
sleep 0.3
for k in live4 live6; do
	kill -TERM "${STREAM[$k]}" 2>/dev/null
	wait "${STREAM[$k]}"
	rc=$?
	cat "$IT_WORK/stream.$k.log"
	it_check "stream $k saw no error and stayed on its backend to the end (exit $rc)" test "$rc" -eq 0
done
it_check "the streams ended on the backends they started on" test "$(stream_field live4 1) $(stream_field live6 1)" = "$ON4 $ON6"

# ==== an idle unconnected UDP socket while its backend leaves ====
# One socket in the cgroup (the node's) and one outside it in an endpoint
# (client-1: tc, its SERVICE conntrack entry lives 60 s) each send a
# datagram to idle4 (10.96.0.50:53, be-1:5354); be-1:5354 leaves the
# state (be-2:5354 takes its place); in a second apply a backend of
# another service (other4: be-3:5355) comes; then each socket sends
# again: it must reach idle4's backend be-2, never be-1 (gone), never
# be-3 (another service's). (A backend's id is free again once its
# backend is gone: the second apply may give it to be-3:5355.)
it_log "-- an idle unconnected UDP socket while its backend leaves"
backend_ids() { # "ADDR:PORT=ID ..." of sluice_backends
	bpftool -j map dump pinned "$SLUICE_PIN_DIR/sluice_backends" | "$IT_PY" -c '
import ipaddress, json, sys
out = []
for e in json.load(sys.stdin):
    k, v = bytes(int(x, 16) for x in e["key"]), bytes(int(x, 16) for x in e["value"])
    a = ipaddress.ip_address(v[:4] if v[18] == 4 else v[:16])
    out.append("%s:%d=%d" % (a, int.from_bytes(v[16:18], "big"), int.from_bytes(k, "little")))
print(" ".join(sorted(out)))'
}
id_of() { tr ' ' '\n' <<< "$1" | sed -n "s/^$2=//p"; }
declare -A UDIR=() UPID=()
for k in "sock node cg" "tc client-1 out"; do
	read -r key who in <<< "$k"
	UDIR[$key]=$IT_WORK/udpsock.$key
	mkdir -p "${UDIR[$key]}"
	hs_spawn pid "$who" "$in" udpsock --dst 10.96.0.50 --port 53 --timeout 2 --dir "${UDIR[$key]}" --deadline 120
	UPID[$key]=$pid
done
# ask KEY N: the socket's Nth datagram; its reply line in REPLY
ask() {
	local d=${UDIR[$1]}
	touch "$d/req.$2"
	for _ in $(seq 400); do [ -e "$d/rep.$2" ] && break; sleep 0.01; done
	REPLY=$(cat "$d/rep.$2" 2>/dev/null || echo "no reply file")
	echo "   socket $1, datagram $2: $REPLY"
}
for key in sock tc; do
	ask $key 1
	it_check "idle4 ($key path): the socket's first datagram reaches be-1:5354, the reply from the frontend" \
		test "$REPLY" = "be-1 10.96.0.50 53"
done
ids0=$(backend_ids)
IDLE4="[{ip: 10.1.0.12, port: 5354}]"
state idle-a
it_apply "$STATE"
it_converged "$STATE"
S2=$(printf '  - name: other4\n    frontend: {ip: 10.96.0.51, port: 53, protocol: UDP}\n    backends: [{ip: 10.1.0.13, port: 5355}]')
state idle-b
it_apply "$STATE"
it_converged "$STATE"
ids2=$(backend_ids)
echo "   backend ids: be-1:5354 had $(id_of "$ids0" 10.1.0.11:5354); now be-2:5354 has $(id_of "$ids2" 10.1.0.12:5354)," \
	"be-3:5355 (other4) has $(id_of "$ids2" 10.1.0.13:5355)"
for key in sock tc; do
	ask $key 2
	it_check "idle4 ($key path): the same socket, idle meanwhile, now reaches be-2 (idle4's only backend; not be-1, gone; not be-3, other4's)" \
		test "$REPLY" = "be-2 10.96.0.50 53"
done
touch "${UDIR[sock]}/stop" "${UDIR[tc]}/stop"
wait "${UPID[sock]}" "${UPID[tc]}"
conns "idle4: new sockets in the cgroup reach be-2" node cg --dst 10.96.0.50 --port 53 --proto udp -n 10 --expect be-2
conns "other4 (10.96.0.51:53): new sockets in the cgroup reach be-3" node cg --dst 10.96.0.51 --port 53 --proto udp -n 10 --expect be-3

# ==== drift ====
# repaired HOOK: diff (exit 2) names HOOK, apply makes it again, a second
# apply writes nothing, the eight hooks are on the cgroup, the foreign
# program too.
repaired() {
	it_sluice 2 diff "$STATE"
	show "$IT_OUT"
	it_check "diff shows the $1 attachment to make again" grep -Eq "^ *[+~] attach $1 cgroup" "$IT_OUT"
	it_apply "$STATE"
	it_converged "$STATE"
	it_check "repaired: the eight hooks are on the cgroup, each with its pinned link" all_attached
	it_check "the foreign connect4 program is still attached" foreign_there
}
link_id() { bpftool -j link show pinned "$SLUICE_PIN_DIR/link_$1" | "$IT_PY" -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }
hook_gone() { local h; h=$(sluice_hooks) || return 1; ! grep -qx "$1" <<< "$h"; }
# fails_with PATTERN NS IN ARGS...: hsprobe fails, saying PATTERN.
fails_with() {
	local pat=$1 out rc; shift
	out=$(hs "$@" 2>&1); rc=$?
	echo "$out"
	[ "$rc" -ne 0 ] && grep -q -- "$pat" <<< "$out"
}

it_log "---- drift: the pinned link of connect4 removed"
rm "$SLUICE_PIN_DIR/link_connect4"
it_check "without its pinned link, connect4 is off the cgroup" hook_gone connect4
conns "drift: node in the cgroup, TCP to 10.96.0.10:80 is no longer translated (the world answers)" \
	node cg --dst 10.96.0.10 --port 80 -n 3 --expect world
repaired connect4
conns "repaired: node in the cgroup, TCP to 10.96.0.10:80 reaches be-1 and be-2" \
	node cg --dst 10.96.0.10 --port 80 -n 30 --expect be-1,be-2

it_log "---- drift: the links of sendmsg6 and recvmsg4 detached (bpftool link detach)"
for h in sendmsg6 recvmsg4; do
	id=$(link_id $h)
	it_check "bpftool link detach id ${id:-?} ($h)" bpftool link detach id "${id:-0}"
	it_check "$h is off the cgroup" hook_gone $h
done
conns "drift: node in the cgroup, unconnected UDP to [fd00:96::10]:53 is not translated (the world answers)" \
	node cg --dst fd00:96::10 --port 53 --proto udp -n 3 --expect world
it_check "drift: node in the cgroup, unconnected UDP to 10.96.0.10:53: replies come from the backend, not the frontend" \
	fails_with "not from the frontend" node cg conns --dst 10.96.0.10 --port 53 --proto udp -n 3 --expect be-1,be-2 --some
it_sluice 2 diff "$STATE"
it_check "diff shows the sendmsg6 attachment" grep -Eq "^ *[+~] attach sendmsg6 cgroup" "$IT_OUT"
repaired recvmsg4
conns "repaired: node in the cgroup, unconnected UDP to 10.96.0.10:53 reaches be-1, be-2, replies from the frontend" \
	node cg --dst 10.96.0.10 --port 53 --proto udp -n 10 --expect be-1,be-2 --some
conns "repaired: node in the cgroup, unconnected UDP to [fd00:96::10]:53 reaches be-2, be-3, replies from the frontend" \
	node cg --dst fd00:96::10 --port 53 --proto udp -n 10 --expect be-2,be-3 --some

it_log "---- drift: the pin of sluice_sock_nat removed"
rm "$SLUICE_PIN_DIR/sluice_sock_nat"
it_sluice 2 diff "$STATE"
show "$IT_OUT"
it_check "diff shows sluice_sock_nat to make again" grep -Eq '^ *\+ map sluice_sock_nat ' "$IT_OUT"
it_apply "$STATE"
it_converged "$STATE"
it_check "repaired: the eight hooks are on the cgroup, each with its pinned link" all_attached
# progs_use_nat: each hook's program (on the cgroup) uses the pinned map
progs_use_nat() {
	local id
	id=$(bpftool -j map show pinned "$SLUICE_PIN_DIR/sluice_sock_nat" | "$IT_PY" -c 'import json,sys; print(json.load(sys.stdin)["id"])') ||
		return 1
	bpftool -j cgroup show "$CG" | "$IT_PY" -c '
import json, subprocess, sys
nat, bad = int(sys.argv[1]), []
for p in json.load(sys.stdin):
    if p.get("name", "").startswith("sluice_"):
        d = json.loads(subprocess.check_output(["bpftool", "-j", "prog", "show", "id", str(p["id"])]))
        if nat not in d.get("map_ids", []):
            bad.append(p["name"])
print("   programs not using the pinned sluice_sock_nat (id %d): %s" % (nat, bad or "none"))
sys.exit(1 if bad else 0)' "$id"
}
it_check "repaired: every hook's program uses the pinned sluice_sock_nat" progs_use_nat
conns "repaired: node in the cgroup, unconnected UDP to 10.96.0.10:53: replies from the frontend" \
	node cg --dst 10.96.0.10 --port 53 --proto udp -n 10 --expect be-1,be-2 --some
n=$(bpftool -j map dump pinned "$SLUICE_PIN_DIR/sluice_sock_nat" | "$IT_PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')
it_check "repaired: the pinned sluice_sock_nat holds what the sockets were given ($n entries)" test "${n:-0}" -gt 0

# ==== cgroupPath moves to the cgroup below, and back ====
it_log "-- cgroupPath moved to $SUB"
CGPATH=$SUB
state moved
it_sluice 2 diff "$STATE"
show "$IT_OUT"
it_check "the plan moves the eight attachments (and nothing else changes)" \
	test "$(sed -nE 's/^ *[-+~] attach ([a-z0-9]+) cgroup .*/\1/p' "$IT_OUT" | sort -u)" = "$(hooks_sorted)" -a \
	"$(grep -E '^ +[-+~] ' "$IT_OUT" | grep -vcE '^ +[-+~] (attach|program) ')" -eq 0
it_apply "$STATE"
it_converged "$STATE"
it_check "moved: the eight hooks are on $SUB" test "$(sluice_hooks "$SUB")" = "$(hooks_sorted)"
it_check "moved: none is left on $CG" no_hooks "$CG"
it_check "moved: eight link pins ($(link_pins | tr '\n' ' '))" test "$(link_pins | wc -l)" -eq 8
it_check "moved: the foreign connect4 program stays on $CG" foreign_there
conns "moved: node in $CG (no longer cgroupPath), TCP to 10.96.0.10:80: not translated (the world answers)" \
	node cg --dst 10.96.0.10 --port 80 -n 3 --expect world
conns "moved: node in $SUB, TCP to 10.96.0.10:80: reaches be-1 and be-2" \
	node sub --dst 10.96.0.10 --port 80 -n 10 --expect be-1,be-2 --some
conns "moved: client-1 in $SUB, connected UDP to [fd00:96::10]:53: reaches be-2 and be-3, replies from the frontend" \
	client-1 sub --dst fd00:96::10 --port 53 --proto udpc -n 10 --expect be-2,be-3 --some
CGPATH=$CG
state back
it_apply "$STATE"
it_converged "$STATE"
it_check "back: the eight hooks are on $CG, each with its pinned link" all_attached
it_check "back: none is left on $SUB" no_hooks "$SUB"
conns "back: node in $CG, TCP to 10.96.0.10:80: reaches be-1 and be-2" \
	node cg --dst 10.96.0.10 --port 80 -n 10 --expect be-1,be-2 --some

# ==== off: the option turned off ====
it_log "-- hostReachableServices off"
# a connection made at the socket, established before: it keeps working
rm -f "$IT_WORK/stream.off"
hs_spawn pid node cg stream --dst 10.96.0.30 --port 80 --status "$IT_WORK/stream.off" > "$IT_WORK/stream.off.log"
STREAM[off]=$pid
for _ in $(seq 300); do [ -s "$IT_WORK/stream.off" ] && break; sleep 0.01; done
it_check "stream off (node, in the cgroup, through live4) got going" stream_alive off
HRS=false
state off
OFF=$STATE
it_sluice 2 diff "$OFF"
cp "$IT_OUT" "$IT_WORK/off.plan"
show "$IT_WORK/off.plan"
it_check "the plan removes the eight attachments" test "$(attach_lines - "$IT_WORK/off.plan")" = "$(hooks_sorted)"
it_check "the plan adds nothing and leaves the services alone" \
	sh -c "! grep -E '^ +\\+ |^ +[-~] (service|backend) ' '$IT_WORK/off.plan'"
OBJS=$(hook_objects | tr '\n' ' ')
echo "   the hooks' kernel objects: $OBJS"
it_check "the eight programs and their eight links are found (bpftool)" test "$(wc -w <<< "$OBJS")" -eq 32
it_apply "$OFF"
it_converged "$OFF"
# shellcheck disable=SC2086
it_check "off: the hooks' programs and links are freed ($OBJS)" objects_gone $OBJS
it_check "off: no pin of the hooks is left ($(pins_of_hooks | tr '\n' ' '))" test -z "$(pins_of_hooks)"
it_check "off: no sluice program on the cgroup" no_sluice_prog
it_check "off: no link pin of the hooks left ($(link_pins | tr '\n' ' '))" test -z "$(link_pins)"
it_check "off: the foreign connect4 program stays" foreign_there
it_check "off: the connection made at the socket before still exchanges" stream_alive off
kill -TERM "${STREAM[off]}" 2>/dev/null
wait "${STREAM[off]}"
rc=$?
cat "$IT_WORK/stream.off.log"
it_check "off: that connection saw no error to its end (exit $rc)" test "$rc" -eq 0
conns "off: node in the cgroup, TCP to 10.96.0.10:80 is not translated (the world answers)" \
	node cg --dst 10.96.0.10 --port 80 -n 3 --expect world
conns "off: client-1 in the cgroup, TCP to 10.96.0.10:80 still reaches be-1, be-2 (in tc)" \
	client-1 cg --dst 10.96.0.10 --port 80 -n 5 --expect be-1,be-2 --some --record "$IT_WORK/rec.off"
it_check "... with a SERVICE conntrack entry each" ct_flows tc "$IT_WORK/rec.off" 10.96.0.10 80 tcp

# ==== on again, then flush ====
it_log "-- on again, then flush"
HRS=true
state on2
it_apply "$STATE"
it_converged "$STATE"
it_check "on again: the eight hooks are on the cgroup" all_attached
conns "on again: node in the cgroup reaches be-1, be-2 through 10.96.0.10:80" \
	node cg --dst 10.96.0.10 --port 80 -n 10 --expect be-1,be-2
OBJS=$(hook_objects | tr '\n' ' ')
it_sluice 0 flush --yes
it_check "flush: no sluice program on the cgroup" no_sluice_prog
# shellcheck disable=SC2086
it_check "flush: the hooks' programs and links are freed ($OBJS)" objects_gone $OBJS
it_check "flush: no pin dir left" test ! -e "$SLUICE_PIN_DIR"
it_check "flush: the foreign connect4 program stays" foreign_there
conns "flush: node in the cgroup, TCP to 10.96.0.10:80 is not translated (the world answers)" \
	node cg --dst 10.96.0.10 --port 80 -n 3 --expect world
it_sluice 0 flush --yes
it_check "a second flush has nothing to do" grep -qx "No changes." "$IT_OUT"
it_check "the cgroup holds none of the test's clients" test -z "$(cat "$CG/cgroup.procs")"
it_finish
