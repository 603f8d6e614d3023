#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# The overlay's device as an owned object (issue 17): with tunnel: vxlan,
# apply makes sluice_vxlan (VXLAN, external, its port, the underlay's MTU
# less 50), a second apply writes nothing, drift (deleted, made again by
# hand on another port, MTU changed) is planned and repaired; a foreign
# sluice_vxlan, a port another socket holds and a missing underlay are
# refused before any change; a state without the tunnel and flush remove
# it. The node's underlay is a veth pair ul0/ul1 of MTU 1500.
. "$(dirname "$0")/lib.sh"
it_init "$@"

ip link add ul0 type veth peer name ul1 || it_die "underlay"
ip link set ul0 up && ip link set ul1 up
ip addr add 192.168.60.1/24 dev ul0

state() { # NAME [DATAPATH-FLOW]
	local f=$IT_WORK/$1.yaml
	cat > "$f" <<-Y
		version: 1
		node: node-a
		nodes:
		  - {name: node-a, ip: 192.168.60.1, podCIDRs: [10.1.0.0/24]}
		  - {name: node-b, ip: 192.168.60.2, podCIDRs: [10.2.0.0/24]}
		datapath: {${2:-tunnel: vxlan, underlayDevice: ul0}}
	Y
	echo "$f"
}
dev_line() { ip -d -o link show sluice_vxlan 2>/dev/null | sed 's/^[0-9]*: //; s/ link\/ether [^ ]* brd [^ ]*//'; }
has() { dev_line | grep -q -- "$1"; }

ON=$(state on)
# ---- apply makes it; the plan says it ----
it_sluice 2 diff "$ON"
it_check "plan line for a 1500-MTU underlay" grep -qx '  + device sluice_vxlan vxlan port 8472 mtu 1450' "$IT_OUT"
it_sluice 2 diff -o json "$ON"
it_check "JSON plan: the device with its underlay" "$IT_PY" -c '
import json, sys
c = [c for c in json.load(open(sys.argv[1]))["changes"] if c["kind"] == "device"]
a = c[0]["after"]
sys.exit(not (len(c) == 1 and a["port"] == 8472 and a["mtu"] == 1450 and a["underlay"] == "ul0" and a["external"]))' "$IT_OUT"
it_apply "$ON"
it_check "sluice_vxlan is VXLAN external on 8472, nolearning, dev ul0" has "vxlan external id 0 dev ul0 .*dstport 8472 nolearning"
it_check "sluice_vxlan MTU is 1500 - 50" has "mtu 1450 "
it_check "sluice_vxlan is up" has "UP"
it_converged "$ON"
it_sluice 0 status
it_check "status shows the device" grep -q 'sluice_vxlan vxlan port 8472 mtu 1450 dev ul0' "$IT_OUT"
it_sluice 0 status -o json
it_check "status -o json shows the device" "$IT_PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))["devices"]
sys.exit(not (d[0]["name"] == "sluice_vxlan" and d[0]["port"] == 8472 and d[0]["mtu"] == 1450))' "$IT_OUT"
it_sluice 0 show
it_check "show gives back tunnel, vxlanPort and underlayDevice" \
	bash -c "grep -q '^  tunnel: vxlan' '$IT_OUT' && grep -q '^  vxlanPort: 8472' '$IT_OUT' && grep -q '^  underlayDevice: ul0' '$IT_OUT'"
cp "$IT_OUT" "$IT_WORK/shown.yaml"
it_sluice 0 diff --node "$(sed -n 's/^node: //p' "$IT_WORK/shown.yaml")" "$IT_WORK/shown.yaml"
it_check "show | diff: no changes" grep -qx 'No changes.' "$IT_OUT"

# ---- drift ----
ip link del sluice_vxlan
it_sluice 2 diff "$ON"
it_check "deleted: planned again" grep -qx '  + device sluice_vxlan vxlan port 8472 mtu 1450' "$IT_OUT"
it_apply "$ON"
it_check "deleted: made again" has "dstport 8472"
ip link set sluice_vxlan mtu 1400
it_sluice 2 diff "$ON"
it_check "MTU changed: planned in place" grep -qx '  ~ device sluice_vxlan: vxlan port 8472 mtu 1400 -> vxlan port 8472 mtu 1450' "$IT_OUT"
ifindex() { ip -o link show sluice_vxlan | cut -d: -f1; }
idx=$(ifindex)
it_apply "$ON"
it_check "MTU repaired in place (the same device)" test "$(ifindex)" = "$idx"
it_check "MTU repaired" has "mtu 1450 "
ip link del sluice_vxlan
ip link add sluice_vxlan type vxlan external dstport 9000 dev ul0
ip link set sluice_vxlan alias "owned by sluice" up
it_sluice 2 diff "$ON"
it_check "made again by hand on another port: planned as made again" grep -q 'vxlan port 9000 .*-> vxlan port 8472 mtu 1450.*(made again)' "$IT_OUT"
it_apply "$ON"
it_check "port repaired" has "dstport 8472"
it_converged "$ON"

# ---- the state moves the port: the device is made again, and what hangs
# on it (sluice_from_overlay's attachment, programs loaded for its ifindex)
# is redone in the same apply ----
P2=$(state port2 "tunnel: vxlan, vxlanPort: 8473, underlayDevice: ul0")
it_apply "$P2"
it_check "port changed by the state: made again on 8473" has "dstport 8473"
it_check "sluice_from_overlay on the new device" sh -c "tc filter show dev sluice_vxlan ingress | grep -q sluice_from_ove"
it_converged "$P2"
it_apply "$ON"
it_check "and back on 8472" has "dstport 8472"
it_converged "$ON"

# ---- a state without the tunnel removes it ----
OFF=$(state off "tunnel: disabled")
it_sluice 2 diff "$OFF"
it_check "without the tunnel: removal planned" grep -qx '  - device sluice_vxlan vxlan port 8472 mtu 1450' "$IT_OUT"
it_apply "$OFF"
it_check "without the tunnel: removed" test -z "$(dev_line)"

# ---- refusals, before any change ----
ip link add sluice_vxlan type vxlan external dstport 4789
before=$(dev_line)
w0=$(ls "$SLUICE_PIN_DIR" | wc -l)
it_sluice 1 apply "$ON"
it_check "foreign sluice_vxlan: refused, named" grep -q "device sluice_vxlan.*not sluice's.*nothing was changed" "$IT_ERR"
it_sluice 1 diff "$ON"
it_sluice 1 apply --dry-run "$ON"
it_check "foreign sluice_vxlan: untouched" test "$(dev_line)" = "$before"
it_check "foreign sluice_vxlan: nothing else changed" test "$(ls "$SLUICE_PIN_DIR" | wc -l)" = "$w0"
ip link del sluice_vxlan

it_spawn binder "$IT_PY" -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 8472))
open("'"$IT_WORK"'/bound", "w").close(); time.sleep(3600)'
for _ in $(seq 300); do [ -e "$IT_WORK/bound" ] && break; sleep 0.01; done
it_sluice 1 apply "$ON"
it_check "port bound by another socket: refused, named" grep -q "vxlanPort 8472: UDP port 8472 is already bound by another socket.*nothing was changed" "$IT_ERR"
it_check "port bound: no device made" test -z "$(dev_line)"
kill "$binder"; wait "$binder" 2>/dev/null

NOUL=$(state noul "tunnel: vxlan")
it_sluice 1 diff "$NOUL"
it_check "no underlayDevice: refused by validation, named" grep -q "datapath.tunnel: tunnel: vxlan needs datapath.underlayDevice" "$IT_ERR"
it_check "no underlayDevice: nothing was changed" grep -q "nothing was changed" "$IT_ERR"
MISS=$(state miss "tunnel: vxlan, underlayDevice: nosuch0")
for cmd in diff apply "apply --dry-run"; do
	# shellcheck disable=SC2086
	it_sluice 1 $cmd "$MISS"
	it_check "missing underlay ($cmd): refused, named" grep -q "datapath.underlayDevice nosuch0: no such device.*nothing was changed" "$IT_ERR"
done
it_check "missing underlay: no device made" test -z "$(dev_line)"

# ---- flush removes it ----
it_apply "$ON"
it_check "made" has "dstport 8472"
ip link add other_vx type vxlan id 7 dstport 4789
it_sluice 0 flush --yes
it_check "flush removes sluice_vxlan" test -z "$(dev_line)"
it_check "flush leaves a foreign VXLAN device alone" ip link show other_vx
it_finish
