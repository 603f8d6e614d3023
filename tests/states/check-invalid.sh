#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The invalid-input corpus: every case must be refused (exit 1) with exactly
# the output recorded beside it, byte for byte.
#
# A case is NAME.yaml or a directory NAME/ (several files forming one state),
# with NAME.expected (standard output and error of 'sluice validate') and, if
# the case needs them, NAME.args (extra arguments, one line).
# Key files under keys/: *.open get mode 0644 (to be refused), others 0600.
# SLUICE_WRAPPER, when set, runs sluice under it (valgrind in CI).
set -uo pipefail
sluice=$(readlink -f "$1") dir=$2
cd "$dir" || exit 1
find keys -type f -name '*.open' -exec chmod 0644 {} + 2>/dev/null
find keys -type f ! -name '*.open' -exec chmod 0600 {} + 2>/dev/null
pass=0 fail=0
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for exp in *.expected; do
	name=${exp%.expected}
	if [ -d "$name" ]; then input=$name; else input=$name.yaml; fi
	args=()
	[ -f "$name.args" ] && read -r -a args < "$name.args"
	# shellcheck disable=SC2086
	${SLUICE_WRAPPER:-} "$sluice" validate --no-color "${args[@]}" "$input" > "$tmp" 2>&1
	rc=$?
	if [ "$rc" -ne 1 ]; then
		echo "FAIL $name: exit $rc, expected 1"
		sed 's/^/    /' "$tmp"
		fail=$((fail + 1))
	elif ! cmp -s "$tmp" "$exp"; then
		echo "FAIL $name: output differs"
		diff -u "$exp" "$tmp" | sed 's/^/    /'
		fail=$((fail + 1))
	else
		pass=$((pass + 1))
	fi
done
n=$(ls ./*.expected 2>/dev/null | wc -l)
if [ "$n" -lt 30 ]; then
	echo "FAIL: only $n cases; the corpus keeps at least 30"
	fail=$((fail + 1))
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
