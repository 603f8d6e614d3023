#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The VM lane's own test, meant to run inside it:
#
#   tests/vm/run tests/vm/selftest.sh
#
# It checks what the later VM tests need and the host kernel lacks: Debian's
# 6.1 kernel, network namespaces and veth, ipvlan, an ESP SA with
# rfc4106(gcm(aes)) (IPv4 and IPv6), bpffs at /sys/fs/bpf, cgroup2 at
# /sys/fs/cgroup/unified, the kernel's module autoload, and that sluice's own
# BPF objects load ("sluice version"). It removes what it made.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
sluice=${SLUICE:-$root/build/sluice}
ns=sluice-vmself-$$
pass=0 fail=0

cleanup() {
	ip netns del "$ns" 2>/dev/null
	ip link del svm-self0 2>/dev/null
	ip link del svm-dummy0 2>/dev/null
	return 0
}
trap cleanup EXIT

# check DESCRIPTION COMMAND...: run it, show its output when it fails.
check() {
	local what=$1 out
	shift
	if out=$("$@" 2>&1); then
		echo "ok   $what"
		pass=$((pass + 1))
	else
		echo "FAIL $what"
		[ -z "$out" ] || printf '       %s\n' "${out//$'\n'/$'\n'       }"
		fail=$((fail + 1))
	fi
}

fs_type() {
	[ "$(stat -f -c %T "$1")" = "$2" ] || {
		echo "$1 is $(stat -f -c %T "$1"), not $2"
		return 1
	}
}

# 20 bytes: a 16-byte AES key and the 4-byte salt of rfc4106.
key=0x$(od -An -tx1 -N20 /dev/urandom | tr -d ' \n')

echo "kernel $(uname -r): $(cat /proc/version)"
release=$(uname -r)
check "kernel is 6.1.x ($release)" test "${release#6.1.}" != "$release"
check "network namespace" ip netns add "$ns"
check "veth pair" ip link add svm-self0 type veth peer name svm-self1 netns "$ns"
check "veth up with addresses" bash -c "
	ip addr add 192.0.2.1/24 dev svm-self0 && ip link set svm-self0 up &&
	ip -n $ns addr add 192.0.2.2/24 dev svm-self1 && ip -n $ns link set svm-self1 up &&
	ip -n $ns link set lo up"
check "ipvlan" ip -n "$ns" link add link svm-self1 name svm-ipvl0 type ipvlan mode l2
check "ESP SA, IPv4, rfc4106(gcm(aes))" ip -n "$ns" xfrm state add \
	src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x1001 reqid 1 mode tunnel \
	aead 'rfc4106(gcm(aes))' "$key" 128
check "ESP SA, IPv6, rfc4106(gcm(aes))" ip -n "$ns" xfrm state add \
	src 2001:db8::1 dst 2001:db8::2 proto esp spi 0x1002 reqid 2 mode tunnel \
	aead 'rfc4106(gcm(aes))' "$key" 128
check "ESP SAs listed" bash -c "
	[ \"\$(ip -n $ns xfrm state list | grep -c 'rfc4106(gcm(aes))')\" = 2 ]"
check "module autoload (dummy)" ip link add svm-dummy0 type dummy
if command -v ping >/dev/null; then ping=(ping); else ping=(busybox ping); fi
check "ping over the veth" "${ping[@]}" -c 1 -W 5 192.0.2.2
check "bpffs at /sys/fs/bpf" fs_type /sys/fs/bpf bpf_fs
check "cgroup2 at /sys/fs/cgroup/unified" fs_type /sys/fs/cgroup/unified cgroup2fs

if [ -x "$sluice" ]; then
	out=$("$sluice" version 2>&1)
	rc=$?
	echo "$sluice version:"
	printf '  %s\n' "${out//$'\n'/$'\n'  }"
	check "sluice version" test "$rc" -eq 0
	check "sluice's programs load" grep -Eq '^ *program load +available' <<<"$out"
else
	echo "skip sluice version: no $sluice (not built)"
fi

cleanup
check "clean up" bash -c "! ip netns list | grep -q $ns && ! ip link show svm-self0 2>/dev/null"
echo "selftest: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
