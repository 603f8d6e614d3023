#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# watch's resync re-plans the last good state, as parsed, against the
# kernel; it never reads DIR. A state file written slowly in place (its
# first part valid on its own: 6 of 10 endpoints) while the debounce waits
# for quiet is not applied by the resyncs in between, which still repair
# drift from the 10-endpoint state; once the write completes and goes
# quiet, the change is applied.
#
# Usage: test-watch-resync.sh [PATH-TO-SLUICE]
. "$(dirname "$0")/lib.sh"
it_init "$@"
. "$IT_DIR/watch_lib.sh"
command -v bpftool >/dev/null || it_skip "needs bpftool"

N=10
for i in $(seq $N); do
	ip link add "lxc-r$i" type veth peer name "pr-$i" || it_die "veth lxc-r$i"
	ip link set "lxc-r$i" up
done
ep_line() { echo "  - {name: r$1, interface: lxc-r$1, ipv4: 10.8.0.$1, identity: 1000}"; }
head_yaml() {
	echo "version: 1"
	echo "identities: [{id: 1000, labels: {app: web}}]"
	echo "endpoints:"
}
mkdir -p "$IT_WORK/dir"
F=$IT_WORK/dir/state.yaml
{ head_yaml; for i in $(seq $N); do ep_line "$i"; done; } > "$F"
n_endpoints() { bpftool -j map dump pinned "$SLUICE_PIN_DIR/sluice_endpoints" | "$IT_PY" -c 'import json,sys; print(len(json.load(sys.stdin)))'; }

w_start resync "$IT_WORK/dir" --resync 1 --debounce 6000
w_wait applied 1 20 || it_die "watch did not apply the start state"
it_check "the start state's $N endpoints are in the kernel" test "$(n_endpoints)" -eq $N

# A slow in-place write: the first part (valid YAML, 6 endpoints) now,
# the rest 4 s later; resyncs run every second in between.
w_mark
{ head_yaml; for i in $(seq 6); do ep_line "$i"; done; } > "$F"
sleep 1.2
# drift meanwhile: an endpoint entry deleted behind sluice's back
key=$(bpftool -j map dump pinned "$SLUICE_PIN_DIR/sluice_endpoints" |
	"$IT_PY" -c 'import json,sys; print(" ".join(str(int(b,16)) for b in json.load(sys.stdin)[0]["key"]))')
# shellcheck disable=SC2086
bpftool map delete pinned "$SLUICE_PIN_DIR/sluice_endpoints" key $key || it_bad "bpftool delete"
sleep 2.3
w_check "a resync repaired the drift from the last good state" test "$(w_count applied '\(resync\)')" -ge 1
w_check "no resync applied the half-written file ($(n_endpoints) endpoints in the kernel)" \
	test "$(n_endpoints)" -eq $N
w_check "no apply removed anything while the file was half written" test -z "$(w_lines applied | grep -v ' 0 removed')"
# the write completes (now 9 endpoints: the change is real) and goes quiet
{ head_yaml; for i in $(seq 9); do ep_line "$i"; done; } > "$F"
w_wait applied 1 20 '.*\(change\)' || it_bad "the completed write was not applied"
it_check "the completed write is applied: 9 endpoints" test "$(n_endpoints)" -eq 9
w_stop TERM
it_check "watch exits 0 on SIGTERM" test "$W_RC" = 0
"$IT_SLUICE" flush --yes -q > /dev/null 2>&1 || it_bad "flush"
it_finish
