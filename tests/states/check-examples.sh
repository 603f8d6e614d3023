#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every example state is valid, with no warning, and asks for nothing this
# version does not carry out yet (git keeps no file modes: key files get
# 0600 first). The cluster directory is checked as each of its nodes.
set -uo pipefail
sluice=$1 root=$2
ex=$root/examples/states
find "$ex" -path '*/keys/*' -type f ! -name README -exec chmod 0600 {} +
pass=0 fail=0
check() {
	local out rc
	out=$("$sluice" validate --no-color "$@" 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ] && ! grep -q ': warning: ' <<<"$out"; then
		pass=$((pass + 1))
	else
		echo "FAIL validate $*: exit $rc"
		sed 's/^/    /' <<<"$out"
		fail=$((fail + 1))
	fi
}
for f in "$ex"/*.yaml; do
	check "$f"
done
for n in node-a node-b node-c; do
	check --node "$n" "$ex/cluster"
done
# sluice's topology beside Kubernetes and Cilium policy documents
check "$ex/kubernetes"
# All examples at once would clash (same names in several files): make sure
# that is reported, naming both places, rather than crashing.
out=$("$sluice" validate --no-color "$ex/minimal.yaml" "$ex/minimal.yaml" 2>&1)
if [ $? -eq 1 ] && grep -q 'is already used at' <<<"$out"; then
	pass=$((pass + 1))
else
	echo "FAIL: the same file twice is not reported as duplicates"
	fail=$((fail + 1))
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
