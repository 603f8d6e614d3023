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
# Of each packet test, its first run (a parameterized test runs once
# per case; harness.c, beyond_sample): under TCG every run verifies the
# programs again, a few seconds each. All the cases run on the host kernel.
SLUICE_DP_CASES=1 SLUICE_DP_CASES_DIR=$(mktemp -d)
export SLUICE_DP_CASES SLUICE_DP_CASES_DIR
# Every packet-test binary but two: dp-policy (map look-ups in policy's
# order) and dp-malformed (header parsing) test logic that is the same on
# every kernel that loads the programs, which every other binary here
# shows; they run on the host kernel in every CI. Under TCG each test costs
# about 1.3 s (the programs verified again), and those two are 150 of them.
for t in "$build"/tests/test-dp-*; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	case ${t##*/} in test-dp-policy | test-dp-malformed) echo "== ${t##*/}: on the host kernel only"; continue ;; esac
	echo "== $(basename "$t")"
	t0=$(date +%s)
	"$t" --jobs=1 || fail=1
	echo "== $(basename "$t"): $(($(date +%s) - t0)) s"
done
rm -rf "$SLUICE_DP_CASES_DIR"
exit "$fail"
