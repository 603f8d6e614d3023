#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The overlay as a cluster (state-format.md, "Overlay"): three node
# namespaces joined by an underlay bridge (IPv4, MTU 1500), two pod
# namespaces on each node, one cluster file with `tunnel: vxlan` applied on
# every node with --node and a pin directory of its own. The underlay has
# no route to any pod CIDR: what crosses goes through sluice_vxlan.
#   - sluice's routes into the tunnel on every node, one per pod CIDR of
#     every other node, in sluice's overlay table (20929), which only the
#     node's own packets look up (`iif lo lookup 20929 pref 82`): a process
#     in a node's namespace reaches pods on the other nodes through the
#     overlay (VNI 1, the host identity), seen on the underlay as VXLAN; a
#     route or rule deleted by hand is planned and repaired, a second apply
#     writes nothing;
#   - traffic a node forwards (from a namespace routed through node-a)
#     does not enter the overlay: no probe to a remote pod passes, no
#     VXLAN on the underlay, while the same namespace reaches node-a's own
#     pod;
#   - reachability truth tables for every ordered pod pair (ICMP, TCP, UDP;
#     IPv4 and IPv6 pod addresses over the IPv4 underlay), measured with
#     real probes, for three policy sets: policy by identity is enforced on
#     the receiving node by the identity the VNI carries;
#   - a capture on the underlay: VXLAN on the port between node addresses,
#     never a pod address as an outer address, the VNI the sender's
#     identity;
#   - 1 MB over TCP between pods on two nodes (pod MTU 1500 over an
#     underlay of MTU 1500): nothing too big is dropped in silence;
#   - zero writes on a second apply, `show | diff -` empty on every node;
#   - drift: the device deleted, shown by diff, repaired by apply;
#   - a node removed, then re-addressed: the next apply on every node
#     takes it in, with the minimal plan.
# Usage: test-overlay.sh [PATH-TO-SLUICE]
source "$(dirname "$0")/lib.sh"
it_init "$@"
command -v tcpdump >/dev/null || it_skip "needs tcpdump"

NODES="a b c"
declare -A NODE_PID=() NODE_IP=() NODE_N=([a]=1 [b]=2 [c]=3)
PODS=()

# ---- the cluster ----

# The underlay: a bridge in the test's own namespace, a port per node.
ip link add ulbr type bridge || it_die "underlay bridge"
ip link set ulbr up

# cl_node NAME: a node namespace with eth0 on the underlay at 192.168.60.N,
# its default route toward a gateway of the underlay (which is not there:
# only sluice_vxlan takes pod traffic across; the route is what lets the
# node answer its pods' ARP for 169.254.1.1 by proxy).
cl_node() {
	local name=$1 n=${NODE_N[$1]} pid
	it_netns pid
	NODE_PID[$name]=$pid NODE_IP[$name]=192.168.60.$n
	it_sysctls it_in "$pid"
	it_in "$pid" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 >/dev/null ||
		it_die "node $name: forwarding"
	ip link add "ul-$name" type veth peer name eth0 netns "$pid" || it_die "node $name: underlay veth"
	ip link set "ul-$name" master ulbr up
	it_in "$pid" ip -batch - <<-EOF || it_die "node $name: addresses"
		link set lo up
		link set eth0 up
		addr add 192.168.60.$n/24 dev eth0
		route add default via 192.168.60.254 dev eth0
	EOF
}

# cl_pod NODE NAME M IDENTITY: a pod on NODE with 10.N.0.M and fd00:N::M,
# host side lxc-NAME in the node's namespace (as it_endpoint does on one
# node).
cl_pod() {
	local node=$1 name=$2 m=$3 ident=$4 n=${NODE_N[$1]} npid=${NODE_PID[$1]} pid dev=lxc-$2
	it_netns pid
	IT_PID[$name]=$pid IT_A4[$name]=10.$n.0.$m IT_A6[$name]=fd00:$n::$m IT_IDENT[$name]=$ident
	IT_ENDPOINTS+=("$name")
	PODS+=("$name")
	POD_NODE[$name]=$node
	it_sysctls it_in "$pid"
	it_in "$npid" ip link add "$dev" type veth peer name eth0 netns "$pid" || it_die "$name: veth"
	it_in "$npid" sh -c "echo 1 > /proc/sys/net/ipv4/conf/$dev/proxy_arp; echo 0 > /proc/sys/net/ipv4/neigh/$dev/proxy_delay"
	it_in "$npid" ip -batch - <<-EOF || it_die "$name: node side"
		link set $dev up
		addr add fe80::1/64 dev $dev nodad
		route add 10.$n.0.$m/32 dev $dev
		route add fd00:$n::$m/128 dev $dev
	EOF
	it_in "$pid" ip -batch - <<-EOF || it_die "$name: pod side"
		link set lo up
		link set eth0 up
		addr add 10.$n.0.$m/32 dev eth0
		addr add fd00:$n::$m/128 dev eth0 nodad
		route add 169.254.1.1 dev eth0 scope link
		route add default via 169.254.1.1 dev eth0
		route add default via fe80::1 dev eth0
	EOF
	IT_LINK_T=${EPOCHREALTIME/./}
}

declare -A POD_NODE=()
for n in $NODES; do cl_node "$n"; done
IT_LABELS[1001]="app: web" IT_LABELS[1002]="app: client" IT_LABELS[1003]="app: db"
cl_pod a a1 11 1001; cl_pod a a2 12 1002
cl_pod b b1 11 1001; cl_pod b b2 12 1003
cl_pod c c1 11 1002; cl_pod c c2 12 1003
it_servers

# cl_state NAME [NODES] < POLICIES: the cluster file (identities, every
# pod as an endpoint of its node, the nodes, tunnel: vxlan) plus the given
# sections; prints its path.
cl_state() {
	local f=$IT_WORK/$1.yaml nodes=${2:-$NODES} id p n
	{
		echo "version: 1"
		echo "datapath: {tunnel: vxlan, underlayDevice: eth0}"
		echo "nodes:"
		for n in $nodes; do
			echo "  - {name: node-$n, ip: ${NODE_IP[$n]}, podCIDRs: [10.${NODE_N[$n]}.0.0/24, \"fd00:${NODE_N[$n]}::/64\"]}"
		done
		echo "identities:"
		for id in 1001 1002 1003; do echo "  - {id: $id, labels: {${IT_LABELS[$id]}}}"; done
		echo "endpoints:"
		for p in "${PODS[@]}"; do
			case " $nodes " in *" ${POD_NODE[$p]} "*) ;; *) continue ;; esac
			echo "  - {name: $p, node: node-${POD_NODE[$p]}, interface: lxc-$p, ipv4: ${IT_A4[$p]}," \
				"ipv6: \"${IT_A6[$p]}\", identity: ${IT_IDENT[$p]}}"
		done
		cat
	} > "$f"
	echo "$f"
}

# cl_sluice NODE WANT-RC ARGS...: sluice in the node's namespace, with the
# node's pin directory and name.
cl_sluice() {
	local node=$1; shift
	local want=$1; shift
	local rc
	IT_OUT=$IT_WORK/sluice.out IT_ERR=$IT_WORK/sluice.err
	it_in "${NODE_PID[$node]}" env SLUICE_PIN_DIR="$IT_BPFFS/node-$node" \
		"$IT_SLUICE" "$@" --node "node-$node" --no-color > "$IT_OUT" 2> "$IT_ERR"
	rc=$?
	if [ "$rc" -eq "$want" ]; then
		it_ok
		return 0
	fi
	it_bad "node-$node: sluice $* exited $rc, want $want"
	sed 's/^/   | /' "$IT_OUT" "$IT_ERR"
	return 1
}

# cl_apply STATE [NODES]: apply on each node, then check each converged:
# diff says "No changes." and a second apply writes nothing.
cl_apply() {
	local f=$1 nodes=${2:-$NODES} n
	for n in $nodes; do
		cl_sluice "$n" 0 apply "$f" || continue
		sed "s/^/   node-$n | /" "$IT_OUT"
	done
	for n in $nodes; do
		cl_sluice "$n" 0 diff "$f" &&
			it_check "node-$n: diff after apply of $(basename "$f") prints 'No changes.'" grep -qx 'No changes.' "$IT_OUT"
		cl_sluice "$n" 0 apply -v "$f" &&
			it_check "node-$n: second apply of $(basename "$f") makes no kernel write" \
				grep -q 'kernel writes: 0$' "$IT_ERR"
	done
}

# cl_routes NODE [NODES]: the node's routes in sluice's overlay table
# (20929) are exactly one per pod CIDR of each other node of NODES, of
# protocol 81, on sluice_vxlan with an IP tunnel encapsulation of id 1 (the
# host identity) to that node's ip, of the tunnel's MTU; the node's own
# packets, and only those, look that table up (`ip rule`: 82, iif lo, both
# families, protocol 81); and no route of the main table leads to a remote
# pod CIDR (so that what the node forwards does not enter the tunnel).
cl_routes() {
	local n=$1 nodes=${2:-$NODES} m want=() got others rules
	local rule=$'82:\tfrom all iif lo lookup 20929 proto 81'
	for m in $nodes; do
		[ "$m" = "$n" ] && continue
		want+=("10.${NODE_N[$m]}.0.0/24 encap ip id 1 src 0.0.0.0 dst ${NODE_IP[$m]} ttl 0 tos 0 dev sluice_vxlan mtu 1450")
		want+=("fd00:${NODE_N[$m]}::/64 encap ip id 1 src 0.0.0.0 dst ${NODE_IP[$m]} ttl 0 tos 0 dev sluice_vxlan metric 1024 mtu 1450 pref medium")
	done
	got=$(it_in "${NODE_PID[$n]}" sh -c 'ip -4 route show table 20929; ip -6 route show table 20929' |
		sed 's/  */ /g; s/ proto 81 / /; s/ $//' | sort)
	others=$(it_in "${NODE_PID[$n]}" sh -c 'ip -4 route show; ip -6 route show' |
		grep -Ec '^(10\.[123]\.0\.0/24|fd00:[123]::/64) ')
	rules=$(it_in "${NODE_PID[$n]}" sh -c 'ip -4 rule show; ip -6 rule show' | grep -c 'proto 81')
	if [ "$got" = "$(printf '%s\n' "${want[@]}" | sort)" ] && [ "$others" = 0 ] && [ "$rules" = 2 ] &&
		[ "$(it_in "${NODE_PID[$n]}" ip -4 rule show | grep -cx "$rule")" = 1 ] &&
		[ "$(it_in "${NODE_PID[$n]}" ip -6 rule show | grep -cx "$rule")" = 1 ]; then
		return 0
	fi
	echo "   node-$n's routes in table 20929 ($others to pod CIDRs in the main table):"
	echo "$got" | sed 's/^/   | /'
	echo "   node-$n's rules:"
	it_in "${NODE_PID[$n]}" sh -c 'ip -4 rule show; ip -6 rule show' | sed 's/^/   | /'
	return 1
}

# ---- no policy: everything crosses ----

S0=$(cl_state open < /dev/null)
cl_sluice a 2 diff "$S0" # exit 2: there are changes to make
it_check "the plan makes sluice_vxlan: vxlan, port 8472, MTU 1500 - 50" \
	grep -qx '  + device sluice_vxlan vxlan port 8472 mtu 1450' "$IT_OUT"
cl_apply "$S0"
for n in $NODES; do
	it_check "node-$n: sluice_vxlan is an external vxlan device on 8472, MTU 1450, without ARP" bash -c \
		"nsenter -t ${NODE_PID[$n]} -n ip -d link show sluice_vxlan | grep -q 'vxlan external .*dstport 8472' &&
		 nsenter -t ${NODE_PID[$n]} -n ip link show sluice_vxlan | grep -q 'NOARP.* mtu 1450'"
	it_check "node-$n: the remote pod CIDRs are routed into sluice_vxlan by sluice's routes only, for the node's own packets" \
		cl_routes "$n"
done
# status: pod devices of MTU 1500 are more than the tunnel carries
it_in "${NODE_PID[a]}" ip link set lxc-a2 mtu 1450
if cl_sluice a 0 status; then
	it_check "status warns that lxc-a1 (MTU 1500) is more than the tunnel carries (1450)" \
		grep -q 'warning: endpoint device lxc-a1 has MTU 1500, more than the tunnel carries (1450)' "$IT_OUT"
	it_check "and not about lxc-a2 (MTU 1450)" bash -c "! grep -q 'device lxc-a2 has MTU' '$IT_OUT'"
	it_check "status lists the 4 routes into sluice_vxlan, for the node's own traffic (table 20929)" \
		grep -q "^    4 routes to remote pod CIDRs into it, for the node's own traffic only (ip route show table 20929 " "$IT_OUT"
	it_check "and not the overlay's rule as the proxy redirect's" bash -c "! grep -q 'rule ipv. pref 82' '$IT_OUT'"
fi
if cl_sluice a 0 status -o json; then
	it_check "status -o json lists lxc-a1 as over the tunnel's MTU" "$IT_PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))["devices"][0]
sys.exit(0 if d["endpointsOverMtu"] == ["lxc-a1"] else 1)' "$IT_OUT"
fi
it_in "${NODE_PID[a]}" ip link set lxc-a2 mtu 1500
PAIRS="${PODS[*]}"
it_matrix "no policy" "$PAIRS" "$PAIRS" <<-'EOF'
	ok * * * *
EOF

# ---- the node's own traffic to remote pods, through sluice's routes ----

# cl_node_probes OUT ARGS...: TCP and UDP probes from a process in node-a's
# namespace (probe.py client ARGS: its source addresses) to b1 (node-b)
# and c2 (node-c), both families.
cl_node_probes() {
	local out=$1 d fam k addr n=0
	shift
	: > "$IT_WORK/node-probes"
	for d in b1 c2; do
		for fam in v4 v6; do
			if [ $fam = v4 ]; then addr=${IT_A4[$d]}; else addr=${IT_A6[$d]}; fi
			for k in tcp/80 udp/8080; do
				echo "node-a $d $fam $addr $k" >> "$IT_WORK/node-probes"
				n=$((n + 1))
			done
		done
	done
	it_in "${NODE_PID[a]}" "$IT_PY" "$IT_PROBE" client --timeout 2 --port-base "$IT_PORT_BASE" "$@" \
		< "$IT_WORK/node-probes" > "$out"
	IT_PORT_BASE=$((IT_PORT_BASE + n))
}

# IPv4 from node-a's underlay address, the source the kernel picks
# (sluice_vxlan has no address: the first of universe scope in the
# namespace); then from addresses of node-a's own pod CIDRs on its
# loopback, IPv4 and IPv6 (node-a has no IPv6 address of its own). A
# capture on node-a's underlay port meanwhile.
cap=$IT_WORK/node-underlay.txt
it_spawn capture_pid tcpdump -l -nn -i ul-a -c 2000 > "$cap" 2> "$IT_WORK/tcpdump.err"
sleep 1
cl_node_probes "$IT_WORK/node-probes.underlay"
grep ' v4 ' "$IT_WORK/node-probes.underlay" > "$IT_WORK/node-probes.underlay4"
it_in "${NODE_PID[a]}" ip addr add 10.1.0.1/32 dev lo
it_in "${NODE_PID[a]}" ip addr add fd00:1::1/128 dev lo nodad
cl_node_probes "$IT_WORK/node-probes.pod" --src4 10.1.0.1 --src6 fd00:1::1
sleep 0.5
kill "$capture_pid" 2> /dev/null
wait "$capture_pid" 2> /dev/null
it_in "${NODE_PID[a]}" ip addr del 10.1.0.1/32 dev lo
it_in "${NODE_PID[a]}" ip addr del fd00:1::1/128 dev lo
it_check "node-a (its underlay address) reaches b1 and c2 over IPv4, TCP and UDP" \
	test "$(grep -c ' ok$' "$IT_WORK/node-probes.underlay4")" = 4
it_check "node-a (an address of its pod CIDRs) reaches b1 and c2, IPv4 and IPv6, TCP and UDP" \
	test "$(grep -c ' ok$' "$IT_WORK/node-probes.pod")" = 8
grep -hv ' ok$' "$IT_WORK/node-probes.underlay4" "$IT_WORK/node-probes.pod" | sed 's/^/   not ok: /'
"$IT_PY" - "$cap" > "$IT_WORK/node-capture.summary" <<-'PY'
	import re, sys
	outer = re.compile(r"^\d\d:\d\d:\d\d\.\d+ ")
	tun = re.compile(r"(192\.168\.60\.\d+)\.\d+ > (192\.168\.60\.\d+)\.8472: (?:OTV|VXLAN).*(?:instance|vni) (\d+)")
	plain = re.compile(r"IP6? (\S+?)\.\d+ > (\S+?)\.\d+: ")
	pod = re.compile(r"^(10\.[123]\.0\.\d+|fd00:[123]::\w+)$")
	seen = set()
	for line in open(sys.argv[1]):
	    if not outer.match(line):
	        continue
	    m = tun.search(line)
	    if m:
	        seen.add("tunnel %s>%s vni %s" % m.groups())
	        continue
	    m = plain.search(line)
	    if m and (pod.match(m.group(1)) or pod.match(m.group(2))):
	        seen.add("plain %s>%s" % (m.group(1), m.group(2)))
	for s in sorted(seen):
	    print(s)
PY
sed 's/^/   capture: /' "$IT_WORK/node-capture.summary"
it_check "node-a's packets to node-b's pods cross as VXLAN to 192.168.60.2 with VNI 1 (the host)" \
	grep -qx 'tunnel 192.168.60.1>192.168.60.2 vni 1' "$IT_WORK/node-capture.summary"
it_check "and to node-c's pods to 192.168.60.3" \
	grep -qx 'tunnel 192.168.60.1>192.168.60.3 vni 1' "$IT_WORK/node-capture.summary"
it_check "no packet from node-a to a pod crosses the underlay unencapsulated" \
	bash -c "! grep -Eq '^plain (192\\.168\\.60\\.1|10\\.1\\.0\\.1|fd00:1::1)>' '$IT_WORK/node-capture.summary'"
it_check "the replies to node-a's pod-CIDR addresses come back through the tunnel (VNI b1's 1001, c2's 1003)" \
	bash -c "grep -qx 'tunnel 192.168.60.2>192.168.60.1 vni 1001' '$IT_WORK/node-capture.summary' &&
		 grep -qx 'tunnel 192.168.60.3>192.168.60.1 vni 1003' '$IT_WORK/node-capture.summary'"
# The replies to node-a's underlay address: node-b and node-c route them
# to it on the underlay, unencapsulated (the ipcache has no tunnel for a
# node's ip). Said, not checked.
if grep -q '^plain 10\.[23]\.0\.[0-9]*>192\.168\.60\.1$' "$IT_WORK/node-capture.summary"; then
	echo "   (the replies to node-a's underlay address came back on the underlay, unencapsulated)"
fi

# Drift: a route and a rule deleted by hand are planned and added again.
it_in "${NODE_PID[a]}" ip route del 10.2.0.0/24 table 20929 proto 81
it_in "${NODE_PID[a]}" ip -6 rule del iif lo lookup 20929 pref 82
cl_sluice a 2 diff "$S0"
it_check "a route deleted by hand: planned again" \
	grep -qx '  + route 10.2.0.0/24 encap vni 1 to 192.168.60.2 dev sluice_vxlan mtu 1450 table 20929' "$IT_OUT"
it_check "a rule deleted by hand: planned again" grep -qx '  + rule ipv6 pref 82 iif lo lookup 20929' "$IT_OUT"
it_check "and nothing else" grep -qx 'Plan: 2 to add, 0 to change, 0 to remove.' "$IT_OUT"
cl_apply "$S0" a
it_check "node-a: the route and the rule are back" cl_routes a

# ---- traffic node-a forwards does not enter the overlay ----

# A namespace behind node-a (fw: 172.31.0.2/30 and fd00:31::2/64 on a
# veth to node-a's fwd-a) routes 10.0.0.0/8 and fd00::/16 through node-a.
# node-a forwards what comes from it; sluice's routes into the tunnel are
# in a table that only the node's own packets look up (iif lo), so a
# probe to b1 (node-b) finds no route into the overlay: nothing of it
# crosses the underlay, as VXLAN or otherwise. node-a's own pod a1 is the
# control: fw reaches it (node-a forwards; no policy yet).
it_netns FW_PID
it_sysctls it_in "$FW_PID"
it_in "${NODE_PID[a]}" ip link add fwd-a type veth peer name eth0 netns "$FW_PID" || it_die "fw: veth"
it_in "${NODE_PID[a]}" ip -batch - <<-EOF || it_die "fw: node-a's side"
	link set fwd-a up
	addr add 172.31.0.1/30 dev fwd-a
	addr add fd00:31::1/64 dev fwd-a nodad
EOF
it_in "$FW_PID" ip -batch - <<-EOF || it_die "fw: its side"
	link set lo up
	link set eth0 up
	addr add 172.31.0.2/30 dev eth0
	addr add fd00:31::2/64 dev eth0 nodad
	route add 10.0.0.0/8 via 172.31.0.1
	route add fd00::/16 via fd00:31::1
EOF
got=$(it_in "${NODE_PID[a]}" ip route get 10.2.0.11 from 172.31.0.2 iif fwd-a 2>&1)
it_check "node-a routes a packet from fw to b1 elsewhere than into sluice_vxlan ($got)" \
	bash -c "! grep -q sluice_vxlan <<< '$got'"
got=$(it_in "${NODE_PID[a]}" ip -6 route get fd00:2::11 from fd00:31::2 iif fwd-a 2>&1)
it_check "and over IPv6 ($got)" bash -c "! grep -q sluice_vxlan <<< '$got'"
got=$(it_in "${NODE_PID[a]}" ip route get 10.2.0.11 2>&1)
it_check "its own packets to b1 into sluice_vxlan, by table 20929 ($got)" \
	bash -c "grep -q 'encap ip id 1 .*dst 192.168.60.2 .*dev sluice_vxlan table 20929' <<< '$got'"
cap=$IT_WORK/fw-underlay.txt
it_spawn capture_pid tcpdump -l -nn -i ul-a -c 2000 "udp port 8472 or host 172.31.0.2 or host fd00:31::2" \
	> "$cap" 2> "$IT_WORK/tcpdump.err"
sleep 1
: > "$IT_WORK/fw-probes"
for d in a1 b1; do
	for k in tcp/80 udp/8080 icmp; do
		echo "fw $d v4 ${IT_A4[$d]} $k" >> "$IT_WORK/fw-probes"
		echo "fw $d v6 ${IT_A6[$d]} $k" >> "$IT_WORK/fw-probes"
	done
done
it_in "$FW_PID" "$IT_PY" "$IT_PROBE" client --timeout 2 --port-base "$IT_PORT_BASE" \
	< "$IT_WORK/fw-probes" > "$IT_WORK/fw-probes.out"
IT_PORT_BASE=$((IT_PORT_BASE + 12))
sleep 0.5
kill "$capture_pid" 2> /dev/null
wait "$capture_pid" 2> /dev/null
sed 's/^/   /' "$IT_WORK/fw-probes.out"
it_check "fw reaches a1 through node-a (node-a forwards), both families, TCP, UDP, ICMP" \
	test "$(grep -c '^fw a1 .* ok$' "$IT_WORK/fw-probes.out")" = 6
it_check "fw does not reach b1 through node-a: forwarded traffic does not enter the overlay" \
	test "$(grep -c '^fw b1 .* fail$' "$IT_WORK/fw-probes.out")" = 6
it_check "the capture on node-a's underlay port ran" grep -q 'listening on ul-a' "$IT_WORK/tcpdump.err"
it_check "no VXLAN and no packet of fw's on it ($(grep -c . "$cap") packets)" test "$(grep -c . "$cap")" = 0
grep . "$cap" | head -20 | sed 's/^/   | /'
# node-a's own traffic still crosses (the section above), now with fw there
cl_node_probes "$IT_WORK/node-probes.after-fw"
it_check "node-a itself still reaches b1 and c2 over IPv4" \
	test "$(grep -c ' v4 .* ok$' "$IT_WORK/node-probes.after-fw")" = 4

# ---- the wire: a capture on node-a's underlay port during cross-node probes ----

cap=$IT_WORK/underlay.txt
it_spawn capture_pid tcpdump -l -nn -i ul-a -c 400 -e > "$cap" 2> "$IT_WORK/tcpdump.err"
sleep 1
# probes from a1 (node-a) to b2 (node-b) and from c1 (node-c) to a2
it_measure "$IT_WORK/capture-probes" "a1 c1" "b2 a2"
sleep 1
kill "$capture_pid" 2> /dev/null
wait "$capture_pid" 2> /dev/null
# tcpdump prints each frame on a line of its own that starts with the
# time, and what it decodes inside a tunnel on the following lines; port
# 8472 it names OTV ("instance" is the VNI), 4789 VXLAN ("vni").
"$IT_PY" - "$cap" > "$IT_WORK/capture.summary" <<-'PY'
	import re, sys
	outer = re.compile(r"^\d\d:\d\d:\d\d\.\d+ ")
	tun = re.compile(r"(192\.168\.60\.\d+)\.\d+ > (192\.168\.60\.\d+)\.8472: (?:OTV|VXLAN).*(?:instance|vni) (\d+)")
	pod = re.compile(r"\b(10\.[123]\.0\.\d+|fd00:[123]::\w+)\b")
	frames = tunnelled = leaks = 0
	pairs, vnis, inner6 = set(), set(), 0
	last_tunnel = False
	for line in open(sys.argv[1]):
	    if outer.match(line):
	        frames += 1
	        m = tun.search(line)
	        last_tunnel = bool(m)
	        if m:
	            tunnelled += 1
	            pairs.add(m.group(1) + ">" + m.group(2))
	            vnis.add(m.group(3))
	        elif pod.search(line):
	            leaks += 1
	    elif last_tunnel and "IP6 " in line or (last_tunnel and "ethertype IPv6" in line):
	        inner6 += 1
	print("frames", frames, "tunnelled", tunnelled, "leaks", leaks, "inner6", inner6)
	print("pairs", " ".join(sorted(pairs)))
	print("vnis", " ".join(sorted(vnis)))
PY
sed 's/^/   capture: /' "$IT_WORK/capture.summary"
it_check "the capture saw VXLAN on port 8472 from node-a to node-b" \
	grep -q '^pairs.*192\.168\.60\.1>192\.168\.60\.2' "$IT_WORK/capture.summary"
it_check "and from node-c to node-a" grep -q '^pairs.*192\.168\.60\.3>192\.168\.60\.1' "$IT_WORK/capture.summary"
it_check "IPv6 pod packets cross inside VXLAN between IPv4 node addresses" \
	bash -c "! grep -q ' inner6 0$' '$IT_WORK/capture.summary'"
it_check "no frame on the underlay has a pod address as its outer address" \
	grep -q ' leaks 0 ' "$IT_WORK/capture.summary"
it_check "the VNIs are the senders' identities (a1 1001, c1 1002) and the repliers' (b2, a2)" \
	grep -qx 'vnis 1001 1002 1003' "$IT_WORK/capture.summary"
grep -q ' tunnelled 0 ' "$IT_WORK/capture.summary" && { echo "   the capture:"; head -20 "$cap" "$IT_WORK/tcpdump.err" | sed 's/^/   | /'; }

# ---- 1 MB over TCP between nodes, pod MTU 1500 over underlay MTU 1500 ----

big=$IT_WORK/big.py
cat > "$big" <<-'PY'
	import socket, sys
	mode, addr = sys.argv[1], sys.argv[2]
	fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
	if mode == "server":
	    s = socket.socket(fam, socket.SOCK_STREAM)
	    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	    s.bind((addr, 9000)); s.listen(1)
	    open(sys.argv[3], "w").close()
	    c, _ = s.accept(); n = 0
	    while True:
	        b = c.recv(65536)
	        if not b: break
	        n += len(b)
	    c.sendall(str(n).encode()); c.close()
	else:
	    s = socket.create_connection((addr, 9000), timeout=20)
	    s.sendall(b"x" * (1 << 20)); s.shutdown(socket.SHUT_WR)
	    print(s.recv(64).decode())
PY
for fam in 4 6; do
	if [ $fam = 4 ]; then dst=${IT_A4[b1]}; else dst=${IT_A6[b1]}; fi
	rm -f "$IT_WORK/big.ready"
	it_spawn big_pid nsenter -t "${IT_PID[b1]}" -n -- "$IT_PY" "$big" server "$dst" "$IT_WORK/big.ready"
	for i in $(seq 200); do [ -e "$IT_WORK/big.ready" ] && break; sleep 0.02; done
	got=$(timeout 30 nsenter -t "${IT_PID[a2]}" -n -- "$IT_PY" "$big" client "$dst" 2>&1)
	it_check "1 MB over TCP/IPv$fam from a2 (node-a) to b1 (node-b) arrives whole ($got bytes)" test "$got" = 1048576
	kill "$big_pid" 2> /dev/null
done

# ---- policy by identity, enforced on the receiving node ----

# web (a1, b1) takes only TCP/80 from clients (a2, c1).
S1=$(cl_state web-from-clients <<-'EOF'
	policies:
	  - name: web-from-clients
	    endpointSelector: {matchLabels: {app: web}}
	    ingress:
	      - fromEndpoints: [{matchLabels: {app: client}}]
	        toPorts: [{ports: [{port: 80, protocol: TCP}]}]
EOF
)
cl_apply "$S1"
it_matrix "web takes TCP/80 from clients only" "$PAIRS" "$PAIRS" <<-'EOF'
	ok * * * *
	fail * [ab]1 * *
	ok [ac][12] [ab]1 * tcp/80
	fail [ab]1 [ab]1 * tcp/80
	fail b2 [ab]1 * *
	fail c2 [ab]1 * *
EOF

# db (b2, c2) takes anything from web only, and sends nothing new to web.
DB_POLICY=$(cat <<-'EOF'
	policies:
	  - name: db-from-web
	    endpointSelector: {matchLabels: {app: db}}
	    ingress:
	      - fromEndpoints: [{matchLabels: {app: web}}]
	    egressDeny:
	      - toEndpoints: [{matchLabels: {app: web}}]
EOF
)
S2=$(cl_state db-from-web <<< "$DB_POLICY")
cl_apply "$S2"
it_matrix "db takes only web, says nothing new to web" "$PAIRS" "$PAIRS" <<-'EOF'
	ok * * * *
	fail * [bc]2 * *
	ok [ab]1 [bc]2 * *
	fail [bc]2 [ab]1 * *
EOF

# ---- the L7 redirect across nodes ----

# web (a1, b1) takes TCP/80 from clients (a2, c1) through a proxy on its
# own node (tests/integration/tproxy.py on port 15010 of node-a and of
# node-b). c1's packets come to node-b through the overlay: the first to
# b1's device, which hands it to the proxy; the next ones are delivered by
# sluice_from_overlay. The proxy answers c1 with b1's address, through
# sluice's route into the tunnel.
SP=$(cl_state web-via-proxy <<-'EOF'
	policies:
	  - name: web-via-proxy
	    endpointSelector: {matchLabels: {app: web}}
	    ingress:
	      - fromEndpoints: [{matchLabels: {app: client}}]
	        toPorts:
	          - ports: [{port: 80, protocol: TCP}]
	            proxyPort: 15010
EOF
)
cl_apply "$SP"
declare -A PX=()
for n in a b; do
	rm -f "$IT_WORK/px-$n.ready"
	it_spawn pid nsenter -t "${NODE_PID[$n]}" -n -- "$IT_PY" "$IT_DIR/tproxy.py" --port 15010 \
		--log "$IT_WORK/px-$n.log" --ready "$IT_WORK/px-$n.ready"
	PX[$n]=$pid
	for i in $(seq 300); do [ -e "$IT_WORK/px-$n.ready" ] && break; sleep 0.01; done
	it_check "node-$n: the proxy listens" test -e "$IT_WORK/px-$n.ready"
done
it_matrix "web takes TCP/80 from clients, through the proxy of its node" "$PAIRS" "$PAIRS" <<-'EOF'
	ok * * * *
	fail * [ab]1 * *
	ok [ac][12] [ab]1 * tcp/80
	fail [ab]1 [ab]1 * tcp/80
	fail b2 [ab]1 * *
	fail c2 [ab]1 * *
EOF
for c in a2 c1; do
	for fam in 4 6; do
		if [ $fam = 4 ]; then src=${IT_A4[$c]} dst=${IT_A4[b1]}; else src=${IT_A6[$c]} dst=${IT_A6[b1]}; fi
		it_check "node-b's proxy took $c -> b1:80 (IPv$fam), with b1's address as its local one" \
			grep -q "^accept $src [0-9]* $dst 80\$" "$IT_WORK/px-b.log"
	done
done
for fam in 4 6; do
	if [ $fam = 4 ]; then src=${IT_A4[a2]} dst=${IT_A4[a1]}; else src=${IT_A6[a2]} dst=${IT_A6[a1]}; fi
	it_check "node-a's proxy took a2 -> a1:80 (IPv$fam)" grep -q "^accept $src [0-9]* $dst 80\$" "$IT_WORK/px-a.log"
done
it_check "no proxy saw any other port" sh -c "! grep -vq ' 80\$' '$IT_WORK/px-a.log' '$IT_WORK/px-b.log'"
for n in a b; do kill "${PX[$n]}"; done

# The rest goes on from the db policy.
cl_apply "$S2"

# ---- show | diff - on every node ----

for n in $NODES; do
	if cl_sluice "$n" 0 show; then
		cp "$IT_OUT" "$IT_WORK/show-$n.yaml"
		# show names the nodes it rebuilds from their ips, and says which
		# one this is (node:)
		it_in "${NODE_PID[$n]}" env SLUICE_PIN_DIR="$IT_BPFFS/node-$n" "$IT_SLUICE" diff - \
			--no-color < "$IT_WORK/show-$n.yaml" > "$IT_WORK/show-diff" 2>&1
		it_check "node-$n: show | diff - is empty" grep -qx 'No changes.' "$IT_WORK/show-diff"
		grep -qx 'No changes.' "$IT_WORK/show-diff" || sed 's/^/   | /' "$IT_WORK/show-diff"
	fi
done

# ---- drift: the device deleted ----

it_in "${NODE_PID[b]}" ip link del sluice_vxlan
cl_sluice b 2 diff "$S2"
it_check "diff shows the device to make again" grep -qx '  + device sluice_vxlan vxlan port 8472 mtu 1450' "$IT_OUT"
cl_apply "$S2" b
it_matrix "after repairing node-b's device" "a1 b1 c2" "a1 b1 c2" <<-'EOF'
	ok * * * *
	fail * [bc]2 * *
	ok [ab]1 [bc]2 * *
	fail [bc]2 [ab]1 * *
EOF

# ---- a node removed, then re-addressed ----

# node-c leaves the cluster file: a and b drop its pods and CIDRs, and
# nothing else (the policy stays).
S3=$(cl_state without-c "a b" <<< "$DB_POLICY")
cl_sluice a 2 diff -o json "$S3"
cp "$IT_OUT" "$IT_WORK/plan-without-c.json"
it_plan_check "node-c removed, as node-a sees it" "$IT_WORK/plan-without-c.json" <<-EOF
	remove ipcache 10.3.0.0/24
	remove ipcache fd00:3::/64
	remove ipcache 10.3.0.11/32
	remove ipcache fd00:3::11/128
	remove ipcache 10.3.0.12/32
	remove ipcache fd00:3::12/128
	remove ipcache 192.168.60.3/32
	remove route route 10.3.0.0/24 encap vni 1 to 192.168.60.3 dev sluice_vxlan mtu 1450 table 20929
	remove route route fd00:3::/64 encap vni 1 to 192.168.60.3 dev sluice_vxlan mtu 1450 table 20929
EOF
cl_apply "$S3" "a b"
for n in a b; do it_check "node-$n: no route to node-c's pod CIDRs" cl_routes "$n" "a b"; done
it_matrix "without node-c" "a1 a2 b1 b2" "a1 a2 b1 b2" <<-'EOF'
	ok * * * *
	fail * b2 * *
	ok [ab]1 b2 * *
	fail b2 [ab]1 * *
EOF

# node-b moves to 192.168.60.22 on the underlay.
it_in "${NODE_PID[b]}" ip addr del 192.168.60.2/24 dev eth0
it_in "${NODE_PID[b]}" ip addr add 192.168.60.22/24 dev eth0
NODE_IP[b]=192.168.60.22
S4=$(cl_state b-moved "a b" <<< "$DB_POLICY")
cl_sluice a 2 diff "$S4"
it_check "node-a's plan moves node-b's entries to the new address" \
	grep -q '~ ipcache 10.2.0.0/24: via 192.168.60.2 -> 192.168.60.22' "$IT_OUT"
it_check "and its routes" grep -qx '  ~ route 10.2.0.0/24: encap vni 1 to 192.168.60.2 dev sluice_vxlan mtu 1450 table 20929 -> encap vni 1 to 192.168.60.22 dev sluice_vxlan mtu 1450 table 20929' "$IT_OUT"
cl_apply "$S4" "a b"
it_check "node-a: the routes to node-b's pod CIDRs go to its new address" cl_routes a "a b"
it_matrix "node-b re-addressed" "a1 a2 b1 b2" "a1 a2 b1 b2" <<-'EOF'
	ok * * * *
	fail * b2 * *
	ok [ab]1 b2 * *
	fail b2 [ab]1 * *
EOF

# ---- flush ----

for n in $NODES; do
	cl_sluice "$n" 0 flush --yes
	it_check "node-$n: flush removes sluice_vxlan" bash -c "! nsenter -t ${NODE_PID[$n]} -n ip link show sluice_vxlan 2>/dev/null"
	it_check "node-$n: and the routes into it, and the rules" \
		test -z "$(it_in "${NODE_PID[$n]}" sh -c 'ip -4 route show table all proto 81; ip -6 route show table all proto 81
			ip -4 rule show | grep "proto 81"; ip -6 rule show | grep "proto 81"')"
done
it_finish
