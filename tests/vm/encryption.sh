#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs inside the VM lane (Debian 12's own kernel, which has ESP): encryption
# end to end. Three nodes (network namespaces node-a, node-b, node-c) on one
# underlay (a bridge in namespace ul, 192.168.50.0/24 on each node's eth0),
# a pod behind each (10.N.0.10 on a veth whose node side is lxc-N), each
# node applying the same cluster state with its own --node and pin
# directory. Checked:
#   - pods on different nodes reach each other as policy allows (pod-c
#     takes only pod-a), over IPsec: the underlay carries ESP and no
#     plaintext pod packet (captured on the bridge port of node-a), and the
#     xfrm state counters of the SAs count the packets;
#   - a second apply changes nothing;
#   - rotation from key 3 to key 4 in state-format.md's three steps, under a
#     UDP probe every 50 ms from pod-a to pod-b: at most one probe lost, and
#     the plans list the new SAs first and the old ones last;
#   - an SA deleted with `ip xfrm` is drift: diff shows it, apply repairs it;
#   - the same cluster over the overlay (tunnel: vxlan): pods reach each
#     other as policy allows, judged by the identity the VNI carries, and
#     the underlay carries ESP only: no VXLAN and no pod packet in clear;
#   - a foreign SA, xfrm policy and route survive apply and flush, and flush
#     leaves none of sluice's;
#   - no output of any sluice command holds a byte of a key, raw or in hex.
# Usage (host): tests/vm/run tests/vm/encryption.sh BUILD_DIR SOURCE_DIR
set -u
build=$1 src=$2
SLUICE=$(readlink -f "$build/sluice")
PY=/usr/bin/python3
PROBE=$src/tests/integration/probe.py
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
check() { local what=$1; shift; if "$@"; then ok; else bad "$what"; fi; }
log() { echo "[$SECONDS s] $*"; }

work=$(mktemp -d /tmp/sluice-enc.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for n in a b c; do
		SLUICE_PIN_DIR=$work/bpffs/node-$n ip netns exec node-$n "$SLUICE" flush --yes >/dev/null 2>&1
	done
	for ns in node-a node-b node-c pod-a pod-b pod-c ul; do ip netns del "$ns" 2>/dev/null; done
	umount "$work/bpffs" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

echo "kernel $(uname -r)"
for m in esp4 xfrm_user gcm authenc bridge veth; do
	grep -q "^$m " /proc/modules || modprobe "$m" 2>/dev/null || true
done
mkdir -p "$work/bpffs" "$work/keys" "$work/out"
mount -t bpf bpf "$work/bpffs" || { echo "FAIL: cannot mount a bpffs"; exit 1; }

# ---- topology ----
ip netns add ul
ip -n ul link set lo up
ip -n ul link add br0 type bridge
ip -n ul link set br0 up
idx=0
for n in a b c; do
	idx=$((idx + 1))
	ip netns add "node-$n"
	ip netns add "pod-$n"
	ip -n "node-$n" link set lo up
	ip -n "pod-$n" link set lo up
	ip netns exec "node-$n" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0
	ip link add "u-$n" netns ul type veth peer name eth0 netns "node-$n"
	ip -n ul link set "u-$n" master br0 up
	ip -n "node-$n" addr add "192.168.50.$idx/24" dev eth0
	ip -n "node-$n" link set eth0 up
	ip link add "lxc-$n" netns "node-$n" type veth peer name eth0 netns "pod-$n"
	ip netns exec "node-$n" sh -c "echo 1 > /proc/sys/net/ipv4/conf/lxc-$n/proxy_arp;
		echo 0 > /proc/sys/net/ipv4/neigh/lxc-$n/proxy_delay"
	ip -n "node-$n" link set "lxc-$n" up
	ip -n "node-$n" route add "10.$idx.0.10/32" dev "lxc-$n"
	# the pods' gateway: proxy ARP answers for it once the node routes it
	# through another device
	ip -n "node-$n" route add 169.254.1.1/32 dev eth0
	ip -n "pod-$n" addr add "10.$idx.0.10/32" dev eth0
	ip -n "pod-$n" link set eth0 up
	ip -n "pod-$n" route add 169.254.1.1 dev eth0 scope link
	ip -n "pod-$n" route add default via 169.254.1.1 dev eth0
	ip netns exec "pod-$n" "$PY" "$PROBE" server --port 80 --ready "$work/ready.$n" &
	pids+=("$!")
done
for n in a b c; do
	# python under TCG, beside other tests: allow a minute
	for _ in $(seq 1200); do [ -e "$work/ready.$n" ] && break; sleep 0.05; done
	[ -e "$work/ready.$n" ] || { echo "FAIL: the echo server of pod-$n did not start"; exit 1; }
done

# ---- keys and states ----
KEY3=5e5e5e5e11223344556677889900aabbccddeeff
AUTH4=a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0
ENC4=c1c2c3c4c5c6c7c8c9cacbcccdcecfd0
umask 077
echo "0x$KEY3" >"$work/keys/3"
echo "$AUTH4" >"$work/keys/4.auth"
echo "$ENC4" >"$work/keys/4.enc"
umask 022

# state FILE KEYS_OF_A KEYS_OF_B KEYS_OF_C SPIS: the cluster, every node's
# encryptKeys, and the keys of encryption.keys ("3", "4" or "3 4").
state() {
	local f=$1 ka=$2 kb=$3 kc=$4 spis=$5 s
	{
		cat <<-EOF
			version: 1
			datapath:
			  underlayDevice: eth0
			  tunnel: ${TUNNEL:-disabled}
			  mapSizes: {ctTcp: 4096, ctAny: 4096, ipcache: 1024, endpoints: 64, policy: 4096,
			             services: 64, backends: 64, tunnel: 64, prefilter: 64}
			nodes:
			  - {name: node-a, ip: 192.168.50.1, podCIDRs: [10.1.0.0/24], encryptKeys: [$ka]}
			  - {name: node-b, ip: 192.168.50.2, podCIDRs: [10.2.0.0/24], encryptKeys: [$kb]}
			  - {name: node-c, ip: 192.168.50.3, podCIDRs: [10.3.0.0/24], encryptKeys: [$kc]}
			identities:
			  - {id: 1001, labels: {app: a}}
			  - {id: 1002, labels: {app: b}}
			  - {id: 1003, labels: {app: c}}
			endpoints:
			  - {name: pod-a, interface: lxc-a, ipv4: 10.1.0.10, identity: 1001, node: node-a}
			  - {name: pod-b, interface: lxc-b, ipv4: 10.2.0.10, identity: 1002, node: node-b}
			  - {name: pod-c, interface: lxc-c, ipv4: 10.3.0.10, identity: 1003, node: node-c}
			policies:
			  - name: c-from-a
			    endpointSelector: {matchLabels: {app: c}}
			    ingress: [{fromEndpoints: [{matchLabels: {app: a}}]}]
		EOF
		[ -z "${PROXY:-}" ] || cat <<-EOF
			  - name: a-via-proxy
			    endpointSelector: {matchLabels: {app: a}}
			    ingress:
			      - fromEndpoints: [{matchLabels: {app: b}}]
			        toPorts: [{ports: [{port: 80, protocol: TCP}], proxyPort: 15010}]
			      - fromEndpoints: [{matchLabels: {app: c}}]
		EOF
		cat <<-EOF
			encryption:
			  enabled: true
			  keys:
		EOF
		for s in $spis; do
			case $s in
			3) echo "    - {spi: 3, aead: rfc4106(gcm(aes)), keyFile: $work/keys/3, icvBits: 128}" ;;
			4) echo "    - {spi: 4, auth: hmac(sha256), authKeyFile: $work/keys/4.auth, cipher: cbc(aes), cipherKeyFile: $work/keys/4.enc}" ;;
			esac
		done
	} >"$f"
}

# sl NODE ARGS...: sluice on that node; its output is kept for the key sweep.
runs=0
sl() {
	local n=$1 cmd=$2; shift 2
	runs=$((runs + 1))
	case $cmd in apply | diff | validate) set -- --node "node-$n" "$@" ;; esac
	SLUICE_PIN_DIR=$work/bpffs/node-$n ip netns exec "node-$n" "$SLUICE" "$cmd" "$@" \
		>"$work/out/$runs.out" 2>"$work/out/$runs.err"
	local rc=$?
	cat "$work/out/$runs.out" "$work/out/$runs.err" >"$work/last"
	return $rc
}
apply_all() { # STATE: apply on every node, a, b, c
	local n
	for n in a b c; do
		sl "$n" apply "$1" || { bad "apply $1 on node-$n: $(cat "$work/last")"; return 1; }
	done
}

# probes FROM LINES: probe.py client in pod-FROM; prints its result lines.
probes() {
	ip netns exec "pod-$1" "$PY" "$PROBE" client --timeout 5 --port-base $((30000 + RANDOM % 20000)) <<<"$2"
}
expect_probes() { # FROM "ADDR KIND want"...
	local from=$1; shift
	local in="" want="" line got
	for line in "$@"; do
		set -- $line
		in+="$from $1 $2"$'\n'
		want+="$from $1 $2 $3"$'\n'
	done
	got=$(probes "$from" "${in%$'\n'}")
	if [ "$got" = "${want%$'\n'}" ]; then ok; else bad "probes from pod-$from: got"$'\n'"$got"$'\n'"want"$'\n'"$want"; diag; fi
}
# What the nodes say, once, when traffic fails (no key bytes: iproute2's
# key lines are left out).
diagnosed=0
diag() {
	[ "$diagnosed" -eq 0 ] || return 0
	diagnosed=1
	local n
	for n in a b; do
		echo "---- node-$n"
		awk '$2 != 0' "/proc/net/xfrm_stat" 2>/dev/null
		ip netns exec "node-$n" awk '$2 != 0 { print "  xfrm_stat " $0 }' /proc/net/xfrm_stat
		ip -n "node-$n" route | sed 's/^/  route /'
		ip -n "node-$n" xfrm policy | sed 's/^/  pol /'
		ip -n "node-$n" -s xfrm state | grep -v -E '^\s+(aead|auth|enc|auth-trunc) ' | sed 's/^/  sa /'
		SLUICE_PIN_DIR=$work/bpffs/node-$n ip netns exec "node-$n" "$SLUICE" status | sed 's/^/  /'
	done
}

# The SAs sluice owns on a node (reqid 0x51c00..0x51c0f), as "dir spi".
sas() {
	ip -n "node-$1" xfrm state list | awk '
		/^src / { src = $2; dst = $4 }
		/proto esp spi/ { spi = $4 }
		/reqid/ { for (i = 1; i <= NF; i++) if ($i == "reqid") r = $(i + 1) + 0
			if (r >= 334848 && r <= 334863) print (r == 334848 ? "in" : "out") " " dst " " spi }' | sort
}
sa_packets() { # NODE SRC DST SPI: the packets an SA counted
	ip -n "node-$1" -s xfrm state get src "$2" dst "$3" proto esp spi "$4" 2>/dev/null |
		awk '/lifetime current:/ { getline; sub(/\(packets\).*/, ""); sub(/.*, /, ""); print; exit }'
}

# ---- 1. apply, converge, reach ----
state "$work/s0.yaml" 3 3 3 3
log "apply the cluster state (key 3) on the three nodes"
apply_all "$work/s0.yaml"
for n in a b c; do
	sl "$n" diff "$work/s0.yaml"
	check "node-$n: a second plan is empty ($(cat "$work/last"))" grep -qx 'No changes.' "$work/last"
done
check "node-a has the inbound SA of key 3 and out SAs to b and c" test "$(sas a)" = "in 192.168.50.1 0x00000003
out 192.168.50.2 0x00000003
out 192.168.50.3 0x00000003"
check "node-a routes 10.2.0.0/24 via node-b, proto 81 ($(ip -n node-a route show proto 81 | tr '\n' ';'))" \
	grep -q '^10.2.0.0/24 via 192.168.50.2 dev eth0' <<<"$(ip -n node-a route show proto 81)"

# Capture on node-a's bridge port while the pods talk.
cat >"$work/capture.py" <<'EOF'
import signal, socket, struct, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))  # all: taps run before the bridge takes the frame
s.bind((sys.argv[1], 0))
s.settimeout(0.2)
esp = plain = vxlan = 0
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
open(sys.argv[2], "w").close()
while not stop:
    try:
        b = s.recv(65535)
    except socket.timeout:
        continue
    if len(b) < 34 or b[12:14] != b"\x08\x00":
        continue
    proto = b[23]
    src, dst = b[26:30], b[30:34]
    if proto == 50:
        esp += 1
    elif src[0] == 10 or dst[0] == 10:
        plain += 1
    elif proto == 17 and len(b) >= 38 and struct.unpack("!H", b[36:38])[0] == 8472:
        vxlan += 1  # VXLAN in clear: pod packets inside
print(f"esp {esp} plain {plain} vxlan {vxlan}")
EOF
ip netns exec ul "$PY" "$work/capture.py" u-a "$work/capture.ready" >"$work/capture.out" 2>&1 &
cap=$!
pids+=("$cap")
for _ in $(seq 1200); do [ -e "$work/capture.ready" ] && break; sleep 0.05; done
log "pods talk across nodes as the policy allows"
expect_probes a "10.2.0.10 tcp/80 ok" "10.2.0.10 udp/80 ok" "10.2.0.10 icmp ok" "10.3.0.10 tcp/80 ok"
expect_probes b "10.1.0.10 tcp/80 ok" "10.3.0.10 tcp/80 fail" "10.3.0.10 icmp fail"
expect_probes c "10.1.0.10 tcp/80 ok" "10.2.0.10 tcp/80 ok"
kill -TERM "$cap"
wait "$cap"
read -r _ esp _ plain _ _ <"$work/capture.out" || true
log "on node-a's underlay port: $(cat "$work/capture.out")"
check "the underlay carries ESP (${esp:-?} packets)" test "${esp:-0}" -gt 10
check "no plaintext pod packet on the underlay (${plain:-?})" test "${plain:-1}" -eq 0
p=$(sa_packets a 192.168.50.1 192.168.50.2 0x3)
check "node-a's SA to node-b counted packets (${p:-none})" test "${p:-0}" -gt 0
p=$(sa_packets b 0.0.0.0 192.168.50.2 0x3)
[ -n "$p" ] || p=$(ip -n node-b -s xfrm state list | awk '/dst 192.168.50.2/ { f = 1 } f && /lifetime current:/ { getline; sub(/\(packets\).*/, ""); sub(/.*, /, ""); print; exit }')
check "node-b's inbound SA counted packets (${p:-none})" test "${p:-0}" -gt 0

# ---- 2. rotation 3 -> 4 under traffic ----
cat >"$work/pinger.py" <<'EOF'
import signal, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.0)  # lost: no answer within 1 s (TCG beside other tests is slow)
sent = lost = 0
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
open(sys.argv[2], "w").close()
while not stop:
    t = time.monotonic()
    sent += 1
    msg = b"seq %d" % sent
    s.sendto(msg, (sys.argv[1], 80))
    try:
        while True:
            b, _ = s.recvfrom(100)
            if b == msg:
                break
    except socket.timeout:
        lost += 1
        print(f"lost probe {sent} at {time.strftime('%H:%M:%S')}", flush=True)
    time.sleep(max(0, 0.05 - (time.monotonic() - t)))
print(f"sent {sent} lost {lost}", flush=True)
EOF
ip netns exec pod-a "$PY" "$work/pinger.py" 10.2.0.10 "$work/pinger.ready" >"$work/pinger.out" 2>&1 &
pinger=$!
pids+=("$pinger")
for _ in $(seq 1200); do [ -e "$work/pinger.ready" ] && break; sleep 0.05; done
sleep 0.5
state "$work/s1.yaml" 3 3 3 "3 4"
state "$work/s2.yaml" "3, 4" "3, 4" "3, 4" "3 4"
state "$work/s3.yaml" 4 4 4 4
log "rotation, step 1: key 4 on every node (its inbound SAs)"
sl a diff "$work/s1.yaml"
check "step 1 adds node-a's inbound SA of key 4 and nothing else of xfrm ($(grep -c . "$work/last") lines)" \
	test "$(grep -E '^  [-+~] (state|policy)' "$work/last" | sed 's/ key .*//')" = "  + state in any -> 192.168.50.1 spi 0x4 cbc(aes) hmac(sha256)"
apply_all "$work/s1.yaml"
log "rotation, step 2: every node lists key 4: traffic moves to it"
sl a diff "$work/s2.yaml"
grep -E '^  [-+~] (state|policy|route)' "$work/last" | sed 's/ key <redacted>.*//' >"$work/step2"
check "step 2 on node-a: new out SAs and policies first, the old ones after ($(cat "$work/step2"))" \
	test "$(awk '{ print $1 $2 }' "$work/step2" | uniq | tr '\n' ' ')" = "+state +policy -policy -state "
apply_all "$work/s2.yaml"
sleep 0.5
log "rotation, step 3: key 3 goes"
sl a diff "$work/s3.yaml"
grep -E '^  [-+~] (state|policy)' "$work/last" | sed 's/ key <redacted>.*//' >"$work/step3"
check "step 3 on node-a removes key 3's SAs last ($(cat "$work/step3"))" \
	test "$(awk '{ print $1 $2 }' "$work/step3" | uniq | tr '\n' ' ')" = "-state "
apply_all "$work/s3.yaml"
sleep 1
kill -TERM "$pinger"
wait "$pinger"
log "the probe during the rotation: $(tail -n 1 "$work/pinger.out")"
set -- $(tail -n 1 "$work/pinger.out")
sent=${2:-} lost=${4:-}
check "the rotation lost at most one probe of ${sent:-?} ($(cat "$work/pinger.out" | head -5))" test "${lost:-99}" -le 1
check "the probe ran through the rotation (${sent:-0} probes)" test "${sent:-0}" -gt 20
check "node-a now has key 4's SAs only" test "$(sas a)" = "in 192.168.50.1 0x00000004
out 192.168.50.2 0x00000004
out 192.168.50.3 0x00000004"
expect_probes a "10.2.0.10 tcp/80 ok" "10.3.0.10 tcp/80 ok"
p=$(sa_packets a 192.168.50.1 192.168.50.2 0x4)
check "node-a's SA to node-b with key 4 counted packets (${p:-none})" test "${p:-0}" -gt 0
for n in a b c; do
	sl "$n" diff "$work/s3.yaml"
	check "node-$n: converged after the rotation" grep -qx 'No changes.' "$work/last"
done

# ---- 3. drift ----
log "drift: node-a's out SA to node-b deleted with ip xfrm"
ip -n node-a xfrm state delete src 192.168.50.1 dst 192.168.50.2 proto esp spi 4
sl a diff "$work/s3.yaml"
rc=$?
check "diff exits 2 on the drift (exit $rc)" test "$rc" -eq 2
check "diff names the missing SA" grep -q '^  + state out 192.168.50.1 -> 192.168.50.2 spi 0x4 ' "$work/last"
sl a apply "$work/s3.yaml"
check "apply repairs the drift ($(cat "$work/last"))" test "$(sas a | grep -c 'out 192.168.50.2 0x00000004')" -eq 1
expect_probes a "10.2.0.10 tcp/80 ok"

# ---- 3b. the overlay, encrypted ----
TUNNEL=vxlan state "$work/s4.yaml" 4 4 4 4
log "the same cluster over the overlay: tunnel: vxlan, key 4"
apply_all "$work/s4.yaml"
for n in a b c; do
	sl "$n" diff "$work/s4.yaml"
	check "node-$n: converged over the overlay ($(cat "$work/last"))" grep -qx 'No changes.' "$work/last"
done
check "node-a has sluice_vxlan" ip -n node-a link show sluice_vxlan
check "node-a routes the pod CIDRs into sluice_vxlan only, VNI 1, in table 20929 (the overlay's; none of encryption's in the main table) ($(ip -n node-a route show table all proto 81 | tr '\n' ';'))" \
	bash -c "ip -n node-a route show table 20929 proto 81 | grep -q 'encap ip id 1 .*dev sluice_vxlan' &&
		 ! ip -n node-a route show table 20929 proto 81 | grep -v 'encap ip id 1 .*dev sluice_vxlan' &&
		 test -z \"\$(ip -n node-a route show proto 81)\""
check "node-a's own packets, and only those, look table 20929 up ($(ip -n node-a rule show | grep 20929 | tr '\n' ';'))" \
	bash -c "ip -n node-a rule show | grep -q 'iif lo lookup 20929 proto 81'"
check "node-a's out policy to node-b is on the tunnel's port ($(ip -n node-a xfrm policy | grep -A1 'dst 192.168.50.2/32' | tr '\n' ' '))" \
	bash -c "ip -n node-a xfrm policy | grep -A1 'src 192.168.50.1/32 dst 192.168.50.2/32' | grep -q 'proto udp dport 8472'"
p0=$(sa_packets a 192.168.50.1 192.168.50.2 0x4)
rm -f "$work/capture.ready"
ip netns exec ul "$PY" "$work/capture.py" u-a "$work/capture.ready" >"$work/capture.out" 2>&1 &
cap=$!
pids+=("$cap")
for _ in $(seq 1200); do [ -e "$work/capture.ready" ] && break; sleep 0.05; done
expect_probes a "10.2.0.10 tcp/80 ok" "10.2.0.10 udp/80 ok" "10.2.0.10 icmp ok" "10.3.0.10 tcp/80 ok"
expect_probes b "10.1.0.10 tcp/80 ok" "10.3.0.10 tcp/80 fail" "10.3.0.10 icmp fail"
expect_probes c "10.1.0.10 tcp/80 ok"
# node-a's own namespace, through the overlay's route into sluice_vxlan,
# from an address of its pod CIDR (the replies come back through the
# tunnel; to node-a's ip they would cross the underlay in clear)
ip -n node-a addr add 10.1.0.1/32 dev lo
got=$(ip netns exec node-a "$PY" "$PROBE" client --timeout 5 --src4 10.1.0.1 --port-base $((30000 + RANDOM % 20000)) \
	<<<"node-a 10.2.0.10 tcp/80")
check "node-a's own namespace reaches pod-b over the encrypted overlay ($got)" test "$got" = "node-a 10.2.0.10 tcp/80 ok"
ip -n node-a addr del 10.1.0.1/32 dev lo
kill -TERM "$cap"
wait "$cap"
read -r _ esp _ plain _ vxlan <"$work/capture.out" || true
log "on node-a's underlay port, over the overlay: $(cat "$work/capture.out")"
check "the underlay carries ESP over the overlay (${esp:-?} packets)" test "${esp:-0}" -gt 10
check "no VXLAN in clear on the underlay (${vxlan:-?})" test "${vxlan:-1}" -eq 0
check "no plaintext pod packet on the underlay (${plain:-?})" test "${plain:-1}" -eq 0
p=$(sa_packets a 192.168.50.1 192.168.50.2 0x4)
check "node-a's SA to node-b counted the tunnel's packets (${p0:-0} before, ${p:-none} after)" test "${p:-0}" -gt "${p0:-0}"

# ---- 3c. the L7 redirect over the encrypted overlay ----
# pod-b's TCP to pod-a's port 80 goes to a transparent proxy on node-a
# (tests/integration/tproxy.py): the client's packets come through the
# encrypted tunnel and are delivered to the proxy by sluice_from_overlay;
# the proxy answers with pod-a's address through sluice's route into the
# tunnel, encrypted like the rest.
TUNNEL=vxlan PROXY=1 state "$work/s5.yaml" 4 4 4 4
apply_all "$work/s5.yaml"
for n in a b c; do
	sl "$n" diff "$work/s5.yaml"
	check "node-$n: converged with the proxy rule ($(cat "$work/last"))" grep -qx 'No changes.' "$work/last"
done
ip netns exec node-a "$PY" "$(dirname "$PROBE")/tproxy.py" --port 15010 --log "$work/tproxy.log" \
	--ready "$work/tproxy.ready" &
pids+=("$!")
for _ in $(seq 1200); do [ -e "$work/tproxy.ready" ] && break; sleep 0.05; done
rm -f "$work/capture.ready"
ip netns exec ul "$PY" "$work/capture.py" u-a "$work/capture.ready" >"$work/capture.out" 2>&1 &
cap=$!
pids+=("$cap")
for _ in $(seq 1200); do [ -e "$work/capture.ready" ] && break; sleep 0.05; done
expect_probes b "10.1.0.10 tcp/80 ok" "10.1.0.10 icmp fail"
expect_probes c "10.1.0.10 tcp/80 ok"
kill -TERM "$cap"
wait "$cap"
read -r _ esp _ plain _ vxlan <"$work/capture.out" || true
log "on node-a's underlay port, through the proxy: $(cat "$work/capture.out"); proxy: $(tr '\n' ';' <"$work/tproxy.log")"
check "node-a's proxy took pod-b's connection to 10.1.0.10:80" grep -q '^accept 10.2.0.10 [0-9]* 10.1.0.10 80$' "$work/tproxy.log"
check "and only it (pod-c's went directly)" test "$(grep -c . "$work/tproxy.log")" -eq 1
check "the underlay carries ESP through the proxy (${esp:-?} packets)" test "${esp:-0}" -gt 5
check "no VXLAN in clear on the underlay (${vxlan:-?})" test "${vxlan:-1}" -eq 0
check "no plaintext pod packet on the underlay (${plain:-?})" test "${plain:-1}" -eq 0
apply_all "$work/s4.yaml"

# ---- 4. foreign objects ----
log "foreign SA, policy and route on node-a"
ip -n node-a xfrm state add src 192.168.50.1 dst 192.168.50.9 proto esp spi 0x200 reqid 7 mode tunnel \
	aead 'rfc4106(gcm(aes))' 0x0102030405060708090a0b0c0d0e0f1011121314 128
ip -n node-a xfrm policy add src 10.9.0.0/24 dst 10.8.0.0/24 dir out tmpl src 192.168.50.1 dst 192.168.50.9 \
	proto esp reqid 7 mode tunnel
ip -n node-a route add 10.99.0.0/24 via 192.168.50.3 dev eth0
sl a apply "$work/s3.yaml"
sl a diff "$work/s3.yaml"
check "the foreign objects are no change to sluice" grep -qx 'No changes.' "$work/last"
sl a flush --yes
rc=$?
check "flush exits 0 (exit $rc: $(cat "$work/last"))" test "$rc" -eq 0
check "flush removes every SA of sluice's ($(sas a))" test -z "$(sas a)"
check "flush removes sluice's routes" test -z "$(ip -n node-a route show table all proto 81)"
check "and sluice's rules" test -z "$(ip -n node-a rule show | grep 'proto 81')"
check "flush removes sluice's xfrm policies" test "$(ip -n node-a xfrm policy list | grep -cE 'reqid 3348(4[89]|5[0-9]|6[0-3])')" -eq 0
check "the foreign SA survives" ip -n node-a xfrm state get src 192.168.50.1 dst 192.168.50.9 proto esp spi 0x200 >/dev/null
check "the foreign policy survives" ip -n node-a xfrm policy get src 10.9.0.0/24 dst 10.8.0.0/24 dir out >/dev/null
check "the foreign route survives" test -n "$(ip -n node-a route show 10.99.0.0/24)"

# ---- 5. every other command's output, for the key sweep ----
sl b show
sl b show -o json
sl b status
sl b status -o json
sl b apply -v "$work/s3.yaml"
sl b diff -o json "$work/s0.yaml"
sl b diff "$work/s0.yaml"
sl b validate "$work/s0.yaml"
chmod 0644 "$work/keys/3"
sl b apply "$work/s0.yaml"
check "a key file others can read is refused ($(cat "$work/last"))" grep -q 'keys/3 can be read by group and others (mode 0644)' "$work/last"
chmod 0600 "$work/keys/3"

log "key sweep over $runs outputs of sluice"
if "$PY" "$src/tests/tools/key-sweep.py" "$work/out" "$KEY3" "$AUTH4" "$ENC4"; then
	ok
else
	bad "key material in sluice's output"
fi

echo "encryption: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
