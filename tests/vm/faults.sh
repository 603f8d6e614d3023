#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs inside the VM lane (Debian 12's own kernel, which has ESP): fault
# injection for encryption's kernel objects, which the host kernel cannot
# hold (tests/integration/test-faults.sh covers maps, programs and
# attachments there; docs/fault-injection.md). One node, node-a, in a
# network namespace with an underlay eth0 and one local endpoint, applies
# an encrypted cluster state E1, then E2: node-c removed (its SAs, xfrm
# policies, routes and ipcache entries go), node-d added, node-b given a
# second pod CIDR, and key 4 added beside key 3 (new SAs, policies moved to
# the new key). The apply E1 -> E2 runs once without injection through
# tests/faultshim.so, which lists its kernel writes (each xfrm message and
# route of a batch is one); then for each write, from E1: apply E2 with that
# write failed exits 1 naming the object (the SA by address and spi, the
# xfrm policy by direction and selector, the route by prefix, the map),
# show and status work, diff plans without error, and the next apply exits
# 0 with diff then saying no changes.
# Usage (host): tests/vm/run tests/vm/faults.sh BUILD_DIR
set -u
build=$1
SLUICE=$(readlink -f "$build/sluice")
SHIM=$(readlink -f "$build/tests/faultshim.so")
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
check() { local what=$1; shift; if "$@"; then ok; else bad "$what"; fi; }
log() { echo "[$SECONDS s] $*"; }

[ -x "$SLUICE" ] || { echo "FAIL: no sluice at $build/sluice"; exit 1; }
[ -f "$SHIM" ] || { echo "FAIL: no fault shim at $build/tests/faultshim.so"; exit 1; }
work=$(mktemp -d /tmp/sluice-faults.XXXXXX)
cleanup() {
	SLUICE_PIN_DIR=$work/bpffs/sluice ip netns exec node-a "$SLUICE" flush --yes >/dev/null 2>&1
	for ns in node-a pod-a ul; do ip netns del "$ns" 2>/dev/null; done
	umount "$work/bpffs" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

echo "kernel $(uname -r)"
for m in esp4 xfrm_user gcm authenc veth; do
	grep -q "^$m " /proc/modules || modprobe "$m" 2>/dev/null || true
done
mkdir -p "$work/bpffs" "$work/keys"
mount -t bpf bpf "$work/bpffs" || { echo "FAIL: cannot mount a bpffs"; exit 1; }
export SLUICE_PIN_DIR=$work/bpffs/sluice

# ---- node-a: eth0 on the underlay (the other nodes are addresses on it), pod-a ----
ip netns add ul
ip netns add node-a
ip netns add pod-a
for ns in ul node-a pod-a; do ip -n "$ns" link set lo up; done
ip link add u-a netns ul type veth peer name eth0 netns node-a
ip -n ul link set u-a up
ip -n ul addr add 192.168.50.254/24 dev u-a
ip -n node-a addr add 192.168.50.1/24 dev eth0
ip -n node-a link set eth0 up
ip link add lxc-a netns node-a type veth peer name eth0 netns pod-a
ip -n node-a link set lxc-a up
ip -n node-a route add 10.1.0.10/32 dev lxc-a
ip -n pod-a addr add 10.1.0.10/32 dev eth0
ip -n pod-a link set eth0 up

umask 077
echo "0x5e5e5e5e11223344556677889900aabbccddeeff" >"$work/keys/3"
echo "a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0" >"$work/keys/4.auth"
echo "c1c2c3c4c5c6c7c8c9cacbcccdcecfd0" >"$work/keys/4.enc"
umask 022

head='version: 1
node: node-a
datapath:
  underlayDevice: eth0
  mapSizes: {ctTcp: 4096, ctAny: 4096, ipcache: 1024, endpoints: 64, policy: 4096,
             services: 64, backends: 64, tunnel: 64, prefilter: 64}
identities:
  - {id: 1001, labels: {app: a}}
endpoints:
  - {name: pod-a, interface: lxc-a, ipv4: 10.1.0.10, identity: 1001}'
key3="    - {spi: 3, aead: rfc4106(gcm(aes)), keyFile: $work/keys/3, icvBits: 128}"
key4="    - {spi: 4, auth: hmac(sha256), authKeyFile: $work/keys/4.auth, cipher: cbc(aes), cipherKeyFile: $work/keys/4.enc}"
E1=$work/E1.yaml E2=$work/E2.yaml
cat >"$E1" <<-EOF
	$head
	nodes:
	  - {name: node-a, ip: 192.168.50.1, podCIDRs: [10.1.0.0/24], encryptKeys: [3]}
	  - {name: node-b, ip: 192.168.50.2, podCIDRs: [10.2.0.0/24], encryptKeys: [3]}
	  - {name: node-c, ip: 192.168.50.3, podCIDRs: [10.3.0.0/24, "fd00:3::/64"], encryptKeys: [3]}
	encryption:
	  enabled: true
	  keys:
	$key3
EOF
cat >"$E2" <<-EOF
	$head
	nodes:
	  - {name: node-a, ip: 192.168.50.1, podCIDRs: [10.1.0.0/24], encryptKeys: [3, 4]}
	  - {name: node-b, ip: 192.168.50.2, podCIDRs: [10.2.0.0/24, 10.20.0.0/24], encryptKeys: [3, 4]}
	  - {name: node-d, ip: 192.168.50.4, podCIDRs: [10.4.0.0/24], encryptKeys: [4]}
	encryption:
	  enabled: true
	  keys:
	$key3
	$key4
EOF

# run [ENV...] -- ARGS...: sluice on node-a; exit code in RC, output in run.out/run.err
run() {
	local envs=()
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	ip netns exec node-a env "${envs[@]}" "$SLUICE" "$@" --no-color >"$work/run.out" 2>"$work/run.err"
	RC=$?
}
show_run() { sed 's/^/   | /' "$work/run.out" "$work/run.err" | grep -v -i -E 'key|[0-9a-f]{32}' | head -20; }

# The name a message must hold for the write DESCRIPTOR#K.
expect_name() {
	local op=${1%% *} obj=${1#* }
	obj=${obj%#*}
	case $op in
	rtnl_newtfilter | rtnl_deltfilter | rtnl_newqdisc) obj=${obj%%:*} ;;
	esac
	echo "$obj"
}

log "apply E1"
run -- apply -q "$E1"
[ "$RC" -eq 0 ] || { show_run; echo "FAIL: apply E1 (exit $RC)"; exit 1; }
run SLUICE_FAULT_LOG="$work/ref" SLUICE_FAULT_COUNT="$work/count" LD_PRELOAD="$SHIM" -- apply -q "$E2"
[ "$RC" -eq 0 ] || { show_run; echo "FAIL: apply E2 without injection (exit $RC)"; exit 1; }
w=$(cat "$work/count")
check "the shim saw the writes of E1 -> E2 ($w)" [ "$w" -gt 0 ]
check "E1 -> E2 writes SAs, xfrm policies and routes" \
	grep -q 'xfrm_newsa.*xfrm_newpolicy\|xfrm_newpolicy' "$work/ref"
grep -q rtnl_newroute "$work/ref" || bad "E1 -> E2 adds no route"
grep -q rtnl_delroute "$work/ref" || bad "E1 -> E2 removes no route"
grep -q xfrm_delsa "$work/ref" || bad "E1 -> E2 removes no SA"
log "E1 -> E2: $w writes"
named_n=0 conv_n=0
: >"$work/matrix"
for i in $(seq "$w"); do
	desc=$(sed -n "${i}p" "$work/ref" | cut -d' ' -f2-)
	want=$(expect_name "$desc")
	run -- apply -q "$E1"
	[ "$RC" -eq 0 ] || { show_run; bad "reset to E1 before write $i (exit $RC)"; continue; }
	rm -f "$work/fault"
	run SLUICE_FAULT_LOG="$work/fault" SLUICE_FAULT_AT="$desc" LD_PRELOAD="$SHIM" -- apply -q "$E2"
	frc=$RC named=no conv=no
	msg=$(grep -v 'run apply again to converge' "$work/run.err" | head -1 | cut -c1-150)
	if ! grep -q '^FAULT ' "$work/fault" 2>/dev/null; then
		bad "write $i ($desc): the shim did not reach it"
	elif [ "$frc" -ne 1 ]; then
		bad "write $i ($desc) failed: apply exited $frc, want 1"
		show_run
	elif grep -qF -- "$want" "$work/run.err"; then
		ok
		named=yes
	else
		bad "write $i ($desc) failed: the message does not name $want"
		show_run
	fi
	run -- show
	check "write $i ($desc): show after the failure" [ "$RC" -eq 0 ]
	run -- status
	check "write $i ($desc): status after the failure" [ "$RC" -eq 0 ]
	run -- diff "$E2"
	check "write $i ($desc): diff after the failure exits 0 or 2 (exit $RC)" [ "$RC" -eq 0 -o "$RC" -eq 2 ]
	run -- apply -q "$E2"
	if [ "$RC" -ne 0 ]; then
		bad "write $i ($desc): the apply after the failure exited $RC"
		show_run
	else
		run -- diff "$E2"
		if [ "$RC" -eq 0 ]; then
			ok
			conv=yes
		else
			bad "write $i ($desc): diff after the converging apply exited $RC"
			show_run
		fi
	fi
	[ "$named" = yes ] && named_n=$((named_n + 1))
	[ "$conv" = yes ] && conv_n=$((conv_n + 1))
	printf '   %-3s %-52s exit %s, named %-3s, converged %s\n         %s\n' "$i" "$desc" "$frc" "$named" \
		"$conv" "$msg" >>"$work/matrix"
done
echo "   fault matrix, E1 -> E2 on $(uname -r):"
cat "$work/matrix"
echo "   E1 -> E2: $w injection points, $named_n failed with exit 1 naming the object, $conv_n converged"
run -- flush --yes
check "flush at the end" [ "$RC" -eq 0 ]
log "done"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
