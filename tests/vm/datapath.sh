#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs inside the VM lane (Debian 12's own kernel): sluice's BPF objects pass
# that kernel's verifier, and the packet tests hold there too.
# Usage (host): tests/vm/run tests/vm/datapath.sh BUILD_DIR
set -eu
build=$1
echo "kernel $(uname -r)"
out=$("$build/sluice" version)
echo "$out" | grep '^  program load'
echo "$out" | grep -q '^  program load       available' || { echo "FAIL: the probe program does not load"; exit 1; }
fail=0
# Every packet-test binary but two: dp-policy (map look-ups in policy's
# order) and dp-malformed (header parsing) test logic that is the same on
# every kernel that loads the programs, which every other binary here
# shows; they run on the host kernel in every CI. Under TCG each test costs
# about 1.3 s (the programs verified again), and those two are 150 of them.
for t in "$build"/tests/test-dp-*; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	case ${t##*/} in test-dp-policy | test-dp-malformed) echo "== ${t##*/}: on the host kernel only"; continue ;; esac
	echo "== $(basename "$t")"
	"$t" --jobs=1 || fail=1
done
exit "$fail"
