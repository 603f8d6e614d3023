#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The netlink corpus: seeds built with libmnl, and, as root, the kernel's
# own replies to the dumps sluice makes, captured in a network namespace
# of their own (gone when this ends: nothing is left on the machine).
#   tests/fuzz/gen-netlink-seeds.sh BUILD/tests/fuzz/gen-netlink-seeds OUTDIR
set -euo pipefail
gen=$(realpath "$1")
out=$(realpath "$2")
"$gen" "$out"
if [ "$(id -u)" -ne 0 ]; then
	echo "gen-netlink-seeds.sh: not root: no captured seeds" >&2
	exit 0
fi
unshare --net bash -euc '
ip link set lo up
ip link add v0 type veth peer name v1
ip link set v0 up
ip link set v1 up
ip addr add 192.168.50.1/24 dev v0
ip -6 addr add fd00:50::1/64 dev v0 nodad
# sluice'"'"'s routes (proto 81) and another'"'"'s
ip route add 10.2.0.0/24 via 192.168.50.2 dev v0 proto 81
ip route add 10.3.0.0/24 via inet6 fd00:50::3 dev v0 proto 81 onlink
ip route add 10.4.0.0/16 via 192.168.50.4 dev v0 proto static
ip -6 route add fd00:2::/64 via fd00:50::2 dev v0 proto 81 mtu 1400
# the overlay'"'"'s routes into an external VXLAN device (sluice'"'"'s: scope
# global), one with a TTL, and iproute2'"'"'s default scope (link)
ip link add sluice_vxlan type vxlan external dstport 8472
ip link set sluice_vxlan up
ip route add 10.5.0.0/24 encap ip id 1 dst 192.168.50.5 dev sluice_vxlan proto 81 scope global mtu 1450
ip -6 route add fd00:5::/64 encap ip id 1 dst 192.168.50.5 dev sluice_vxlan proto 81 mtu 1450
ip route add 10.6.0.0/24 encap ip6 id 1 dst fd00:50::6 dev sluice_vxlan proto 81 scope global
ip route add 10.7.0.0/24 encap ip id 1 dst 192.168.50.7 ttl 64 dev sluice_vxlan proto 81 scope global
ip route add 10.8.0.0/24 encap ip id 1 dst 192.168.50.8 dev sluice_vxlan proto 81
# the proxy redirect'"'"'s rules and local routes (sluice'"'"'s), and others
ip rule add fwmark 0xa00/0xf00 lookup 20928 pref 81 proto 81
ip -6 rule add fwmark 0xa00/0xf00 lookup 20928 pref 81 proto 81
ip route add local 0.0.0.0/0 dev lo table 20928 proto 81
ip -6 route add local ::/0 dev lo table 20928 proto 81
ip rule add fwmark 0x5 lookup 100
ip rule add iif v0 fwmark 0xa00/0xf00 lookup 20928 pref 81 proto 81
# the overlay'"'"'s rules (sluice'"'"'s: iif lo) and a route in its table, one
# rule whose input device is not there
ip rule add iif lo lookup 20929 pref 82 proto 81
ip -6 rule add iif lo lookup 20929 pref 82 proto 81
ip rule add iif nosuch0 lookup 20929 pref 83 proto 81
ip route add 10.9.0.0/24 encap ip id 1 dst 192.168.50.9 dev sluice_vxlan table 20929 proto 81 scope global mtu 1450
# sluice'"'"'s policies (reqids 0x51c00..) and another'"'"'s
ip xfrm policy add src 10.1.0.0/24 dst 10.2.0.0/24 dir out mark 0x3e00 mask 0xff00 \
	tmpl src 192.168.50.1 dst 192.168.50.2 proto esp reqid 0x51c03 mode tunnel
ip xfrm policy add src 10.2.0.0/24 dst 10.1.0.0/24 dir in \
	tmpl src 192.168.50.2 dst 192.168.50.1 proto esp reqid 0x51c00 mode tunnel
ip xfrm policy add src 10.2.0.0/24 dst 10.1.0.0/24 dir fwd \
	tmpl src 192.168.50.2 dst 192.168.50.1 proto esp reqid 0x51c00 mode tunnel
ip xfrm policy add src fd00:1::/64 dst fd00:2::/64 dir out mark 0x3e00 mask 0xff00 \
	tmpl src 192.168.50.1 dst 192.168.50.2 proto esp reqid 0x51c03 mode tunnel
ip xfrm policy add src 10.9.0.0/16 dst 10.8.0.0/16 dir out \
	tmpl src 192.168.70.1 dst 192.168.70.2 proto esp reqid 1 mode tunnel
# SAs need ESP in the kernel: kept when it has it
ip xfrm state add src 192.168.50.1 dst 192.168.50.2 proto esp spi 3 reqid 0x51c03 mode tunnel \
	aead "rfc4106(gcm(aes))" 0x2963551297a74421da67fcfe7c70c4d498e429a4 128 2>/dev/null ||
	echo "gen-netlink-seeds.sh: this kernel makes no ESP SA: the SA dump is empty" >&2
"$0" --capture "$1"
' "$gen" "$out"
