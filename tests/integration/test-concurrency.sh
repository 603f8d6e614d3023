#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The lock serializes everything (cli.md, apply). Two applies of different
# states are started at the same moment, many times over: on a node that
# sluice already manages and on a fresh one (no pin directory), with and
# without a change of map capacity between the two states (a map
# replacement). Each time, both exit 0 in turn and the kernel then matches
# exactly one of the two states: the one whose apply finished last.
# Before the lock was taken ahead of opening the map pins, the loser of a
# map replacement planned and wrote through the replaced, unpinned map, and
# two applies on a fresh node raced on pinning ("File exists").
#
# Usage: test-concurrency.sh [PATH-TO-SLUICE]   (SLUICE_CONCURRENCY_TRIALS=N)
. "$(dirname "$0")/lib.sh"
it_init "$@"

TRIALS=${SLUICE_CONCURRENCY_TRIALS:-12}
IT_LABELS[1000]="app: web"
IT_LABELS[1001]="app: client"
it_endpoint web-1 11 1000
it_endpoint client-1 21 1001

# Two states that differ in policy, services and, for the replacement
# variants, in the policy map's capacity.
mk_state() { # NAME PORT POLICY-MAP-SIZE
	it_state "$1" <<-EOF
	datapath:
	  mapSizes: {policy: $3, services: 1024, backends: 1024}
	policies:
	  - name: web-in
	    endpointSelector: {matchLabels: {app: web}}
	    ingress:
	      - fromEndpoints: [{matchLabels: {app: client}}]
	        toPorts: [{ports: [{port: $2, protocol: TCP}]}]
	services:
	  - name: svc
	    frontend: {ip: 10.96.0.$(( $2 % 200 )), port: $2, protocol: TCP}
	    backends: [{ip: 10.1.0.11, port: $2}]
	EOF
}
a_same=$(mk_state a-same 80 4096)
b_same=$(mk_state b-same 81 4096)
a_repl=$(mk_state a-repl 80 4096)
b_repl=$(mk_state b-repl 81 8192)

# matches STATE: diff exits 0 (the kernel is that state)
matches() { "$IT_SLUICE" diff -q "$1" > /dev/null 2>&1; }

# One trial: both applies at once; the later one to finish wins.
trial() { # VARIANT A B
	local variant=$1 a=$2 b=$3 ra rb ea eb pa pb
	rm -f "$IT_WORK"/end-[ab] "$IT_WORK"/err-[ab]
	# Both wait for one file to appear, so that they start together.
	rm -f "$IT_WORK/go"
	( until [ -e "$IT_WORK/go" ]; do sleep 0.002; done
	  "$IT_SLUICE" apply -q --wait 60 "$a" 2> "$IT_WORK/err-a"; echo $? > "$IT_WORK/rc-a"
	  date +%s%N > "$IT_WORK/end-a" ) &
	pa=$!
	( until [ -e "$IT_WORK/go" ]; do sleep 0.002; done
	  "$IT_SLUICE" apply -q --wait 60 "$b" 2> "$IT_WORK/err-b"; echo $? > "$IT_WORK/rc-b"
	  date +%s%N > "$IT_WORK/end-b" ) &
	pb=$!
	sleep 0.05
	: > "$IT_WORK/go"
	wait "$pa" "$pb"
	ra=$(cat "$IT_WORK/rc-a") rb=$(cat "$IT_WORK/rc-b")
	ea=$(cat "$IT_WORK/end-a") eb=$(cat "$IT_WORK/end-b")
	if [ "$ra" != 0 ] || [ "$rb" != 0 ]; then
		it_bad "$variant: the applies exited $ra and $rb, want 0 and 0"
		sed 's/^/   a| /' "$IT_WORK/err-a"; sed 's/^/   b| /' "$IT_WORK/err-b"
		return
	fi
	local ma=0 mb=0
	matches "$a" && ma=1
	matches "$b" && mb=1
	if [ $((ma + mb)) -ne 1 ]; then
		it_bad "$variant: the kernel matches $((ma + mb)) of the two states, want exactly 1"
		"$IT_SLUICE" diff "$a" | sed 's/^/   diff a| /'
		"$IT_SLUICE" diff "$b" | sed 's/^/   diff b| /'
		return
	fi
	# The later finisher holds the lock last; within 30 ms the order of the
	# end stamps cannot tell (a process may be scheduled out between its
	# exit and the stamp).
	local d=$(( (eb - ea) / 1000000 ))
	if [ "$d" -gt 30 ] && [ "$mb" -ne 1 ]; then
		it_bad "$variant: b finished ${d} ms after a, but the kernel matches a"
		return
	fi
	if [ "$d" -lt -30 ] && [ "$ma" -ne 1 ]; then
		it_bad "$variant: a finished $((-d)) ms after b, but the kernel matches b"
		return
	fi
	it_ok
	WINS=$((WINS + mb))
}

fresh() {
	"$IT_SLUICE" flush --yes -q > /dev/null 2>&1 || it_bad "flush"
	[ ! -e "$SLUICE_PIN_DIR" ] || it_bad "flush left $SLUICE_PIN_DIR"
}

for variant in existing existing-replace fresh fresh-replace; do
	case $variant in
	*-replace) a=$a_repl b=$b_repl ;;
	*) a=$a_same b=$b_same ;;
	esac
	WINS=0 fail0=$IT_FAIL
	for i in $(seq "$TRIALS"); do
		case $variant in
		fresh*) fresh ;;
		*) [ "$i" -eq 1 ] && { "$IT_SLUICE" apply -q "$a" > /dev/null || it_bad "initial apply"; } ;;
		esac
		trial "$variant #$i" "$a" "$b"
	done
	it_log "$variant: $TRIALS trials, $((IT_FAIL - fail0)) failed; the second state won $WINS times"
done

# Traffic still flows under the state that won last (a one-off check that
# the maps the kernel's programs use are the pinned ones).
"$IT_SLUICE" apply -q "$b_repl" > /dev/null || it_bad "final apply"
it_check "after the races, diff of the last state is empty" matches "$b_repl"
"$IT_SLUICE" flush --yes -q > /dev/null 2>&1 || it_bad "final flush"
it_finish
