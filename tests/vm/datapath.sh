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
for t in "$build"/tests/test-dp-*; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	echo "== $(basename "$t")"
	"$t" --jobs=1 || fail=1
done
exit "$fail"
