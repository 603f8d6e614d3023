#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One harness as the fuzz suite runs it (meson test --suite fuzz):
#   run.sh FUZZER NAME FUZZ_SOURCE_DIR ARTIFACT_DIR
# 1. every input of corpus/NAME, once;
# 2. every input of regressions/NAME (crashes found before), once;
# 3. a campaign of SLUICE_FUZZ_SECONDS seconds (20 unless set; 0: none),
#    starting from both; what it finds new is kept in a temporary
#    directory, never in the source tree.
# Ends with "N passed, N failed" (one check per step) for .ci/count-checks.
# A crash leaves its input in ARTIFACT_DIR and prints it in hex.
set -u
fuzzer=$1 name=$2 src=$3 artifacts=$4
secs=${SLUICE_FUZZ_SECONDS:-20}
corpus=$src/corpus/$name
regressions=$src/regressions/$name
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$artifacts"
passed=0 failed=0
# Bounded inputs and time per input: a slow input is a finding too.
common=(-timeout=10 -rss_limit_mb=2048 -artifact_prefix="$artifacts/$name-")

show_crash() {
	local f
	for f in "$artifacts/$name-"*; do
		[ -f "$f" ] || continue
		echo "fuzz-$name: input $f ($(stat -c %s "$f") bytes):"
		od -An -tx1 -v "$f" | head -64
	done
}

replay() { # what dir
	local what=$1 dir=$2 n
	if [ ! -d "$dir" ]; then
		echo "fuzz-$name: no $what"
		return
	fi
	n=$(find "$dir" -type f | wc -l)
	if "$fuzzer" "${common[@]}" -runs=0 "$dir" >"$work/$what.log" 2>&1; then
		echo "fuzz-$name: $what: $n inputs, ok"
		passed=$((passed + 1))
	else
		echo "fuzz-$name: $what: FAILED"
		tail -n 60 "$work/$what.log"
		show_crash
		failed=$((failed + 1))
	fi
}

rm -f "$artifacts/$name-"*
replay corpus "$corpus"
replay regressions "$regressions"
if [ "$secs" -gt 0 ]; then
	mkdir "$work/new"
	dirs=("$work/new")
	for d in "$corpus" "$regressions"; do
		[ -d "$d" ] && dirs+=("$d")
	done
	if "$fuzzer" "${common[@]}" -max_total_time="$secs" -print_final_stats=1 "${dirs[@]}" \
		>"$work/campaign.log" 2>&1; then
		cov=$(sed -n 's/^#[0-9]*[[:space:]]*DONE[[:space:]]*cov: \([0-9]*\) ft: \([0-9]*\).*/cov \1, ft \2/p' \
			"$work/campaign.log" | tail -n 1)
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/campaign.log")
		rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/campaign.log")
		echo "fuzz-$name: campaign of ${secs}s: ${execs:-?} executions (${rate:-?}/s), ${cov:-cov ?}, ok"
		passed=$((passed + 1))
	else
		echo "fuzz-$name: campaign of ${secs}s: FAILED"
		tail -n 60 "$work/campaign.log"
		show_crash
		echo "fuzz-$name: keep the input under tests/fuzz/regressions/$name/ with the fix (docs/fuzzing.md)"
		failed=$((failed + 1))
	fi
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
