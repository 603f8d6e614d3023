#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# An integration test run with the fuzz build's sluice, which is compiled
# with ASan and UBSan like everything of that build (meson.build, -Dfuzz):
# the paths only a kernel reaches (apply's writes, the socket hooks,
# watch) are not the fuzzers', and a use after free hid there (a state's
# string read after apply freed the state). As the fuzz suite runs it:
#   sanitized.sh TEST SLUICE
# The test's own checks, then one more: no sanitizer report from any
# sluice process (each writes its reports to a file of its own; UBSan
# stops the process at the first, -fno-sanitize-recover). Root only: the
# test skips (77) otherwise.
set -u
test=$1 sluice=$2
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
# leaks: a one-shot process need not free what exit gives back
export ASAN_OPTIONS="detect_leaks=0:log_path=$logs/report"
export UBSAN_OPTIONS="print_stacktrace=1:log_path=$logs/report"
bash "$test" "$sluice"
rc=$?
[ "$rc" -eq 77 ] && exit 77
reports=$(find "$logs" -type f | wc -l)
for f in "$logs"/*; do
	[ -f "$f" ] || continue
	echo "== sanitizer report $(basename "$f"):"
	head -60 "$f"
done
if [ "$reports" -eq 0 ]; then
	echo "ok - no sanitizer report from sluice"
	echo "1 passed, 0 failed"
else
	echo "not ok - $reports sanitizer reports from sluice (above)"
	echo "0 passed, 1 failed"
	rc=1
fi
exit "$rc"
