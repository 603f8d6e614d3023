#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# What apply refuses, diff and apply --dry-run refuse the same way (exit 1,
# apply's message), so that CI's dry run tells the truth: a missing
# interface, a state that does not fit its maps. A map at capacity whose
# entries are all replaced (four endpoints renumbered in an ipcache of
# four) converges on the first apply: the replaced entries go first where
# old and new cannot coexist. An unprivileged diff or status says that root
# is needed; a pin directory that is not on a bpffs is named in the hint.
#
# Usage: test-refusals.sh [PATH-TO-SLUICE]
. "$(dirname "$0")/lib.sh"
it_init "$@"
command -v setpriv >/dev/null || it_skip "needs setpriv"

IT_LABELS[1000]="app: web"
IT_LABELS[1001]="app: client"
it_endpoint web-1 11 1000
it_endpoint client-1 21 1001
it_servers

# ---- a map at capacity, every entry replaced ----
# Four more host-side devices, endpoints by IPv4 only: 4 ipcache entries.
for i in 1 2 3 4; do
	ip link add "lxc-f$i" type veth peer name "pf-$i" || it_die "veth lxc-f$i"
	ip link set "lxc-f$i" up
done
full_state() { # NAME THIRD-OCTET
	local f=$IT_WORK/$1.yaml i
	{
		echo "version: 1"
		echo "datapath: {mapSizes: {ipcache: 4}}"
		echo "identities: [{id: 1000, labels: {app: web}}]"
		echo "endpoints:"
		for i in 1 2 3 4; do
			echo "  - {name: f$i, interface: lxc-f$i, ipv4: 10.7.$2.$i, identity: 1000}"
		done
	} > "$f"
	echo "$f"
}
full_a=$(full_state full-a 0)
full_b=$(full_state full-b 1)
it_apply "$full_a"
it_converged "$full_a"
it_sluice 0 apply -v "$full_b"
it_check "the full ipcache's removals went first" grep -q 'sluice_ipcache: 4 live entries and 4 new ones exceed its capacity 4' "$IT_ERR"
it_converged "$full_b"
"$IT_PY" - "$SLUICE_PIN_DIR/sluice_ipcache" <<-'PY' && it_ok || it_bad "the ipcache holds the renumbered addresses"
	import json, subprocess, sys
	d = json.loads(subprocess.check_output(["bpftool", "-j", "map", "dump", "pinned", sys.argv[1]]))
	addrs = sorted(".".join(str(int(b, 16)) for b in e["key"][8:12]) for e in d)
	sys.exit(0 if addrs == ["10.7.1.%d" % i for i in (1, 2, 3, 4)] else 1)
PY
it_sluice 0 apply -q "$full_a"
it_converged "$full_a"
it_sluice 0 flush --yes -q

# ---- refusals: diff, apply --dry-run and apply say the same ----
good=$(it_state good < /dev/null)
it_apply "$good"
snap() { bpftool map dump pinned "$SLUICE_PIN_DIR/sluice_ipcache" | md5sum; ls "$SLUICE_PIN_DIR" | md5sum; }
before=$(snap)
refused() { # NAME STATE PATTERN: diff, apply --dry-run and apply exit 1 with one message; nothing changes
	local name=$1 state=$2 pat=$3 m_diff m_dry m_apply
	it_sluice 1 diff "$state"
	m_diff=$(grep -o "$pat" "$IT_ERR")
	it_check "$name: diff names it ($pat)" test -n "$m_diff"
	it_sluice 1 apply --dry-run "$state"
	m_dry=$(grep -o "$pat" "$IT_ERR")
	it_sluice 1 apply "$state"
	m_apply=$(grep -o "$pat" "$IT_ERR")
	it_check "$name: apply says the same as diff and --dry-run" \
		test -n "$m_apply" -a "$m_apply" = "$m_diff" -a "$m_apply" = "$m_dry"
	it_check "$name: nothing was changed" test "$(snap)" = "$before"
}
sed 's/interface: lxc-web-1/interface: lxc-gone/' "$good" > "$IT_WORK/missing.yaml"
refused "a missing interface" "$IT_WORK/missing.yaml" 'endpoint interface lxc-gone: no such device.*'
{ cat "$good"; echo "datapath: {mapSizes: {ipcache: 2}}"; } > "$IT_WORK/small.yaml"
refused "a state larger than its maps" "$IT_WORK/small.yaml" 'entries in map [a-z_]*, more than its capacity 2'
it_converged "$good"

# ---- --wait N waits N seconds for the lock, not up to one less ----
command -v flock >/dev/null || it_skip "needs flock"
flock "$SLUICE_PIN_DIR" sleep 4 &
holder=$!
sleep 0.3
t0=${EPOCHREALTIME/./}
it_sluice 1 apply --wait 2 "$good"
waited=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
it_check "apply --wait 2 waited 2 s for the lock (${waited} ms)" test "$waited" -ge 2000
it_check "... and then said another sluice holds it" grep -q 'another sluice holds the lock' "$IT_ERR"

# ---- unprivileged: say what is needed ----
# (the state comes on standard input: the work directory is root's alone)
for cmd in "diff -" status show; do
	# shellcheck disable=SC2086
	setpriv --reuid 65534 --regid 65534 --clear-groups --inh-caps=-all -- "$IT_SLUICE" $cmd \
		< "$good" > "$IT_WORK/unpriv.out" 2> "$IT_WORK/unpriv.err"
	rc=$?
	it_check "unprivileged ${cmd%% *} exits 1 (exit $rc)" test "$rc" -eq 1
	it_check "unprivileged ${cmd%% *} says root is needed" grep -q 'needs root' "$IT_WORK/unpriv.err"
done

# ---- a pin directory outside any bpffs: the hint names it ----
mkdir -p "$IT_WORK/plain"
SLUICE_PIN_DIR=$IT_WORK/plain/sluice it_sluice 1 apply "$good"
it_check "the bpffs hint names the pin directory's parent" \
	grep -q "mount -t bpf bpf $IT_WORK/plain)" "$IT_ERR"
it_sluice 0 flush --yes -q
it_finish
