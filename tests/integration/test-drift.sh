#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Drift and ownership. After an apply, the kernel is changed behind sluice's
# back: a policy entry removed and a stray one added with bpftool, a tc
# filter deleted, the XDP prefilter detached. `diff` shows each (exit 2),
# `apply` repairs it, traffic behaves again. Objects sluice does not own
# (a tc filter at another priority, another program's pin in the same bpffs,
# a map pinned outside the pin dir, a foreign XDP program elsewhere) survive
# apply and flush; a foreign program in sluice's own slot makes apply refuse
# and change nothing.
#
# Usage: test-drift.sh [PATH-TO-SLUICE]
. "$(dirname "$0")/lib.sh"
it_init "$@"
command -v bpftool >/dev/null || it_skip "needs bpftool"
command -v tc >/dev/null || it_skip "needs tc"
FOREIGN=${SLUICE_FOREIGN_BPF:-$IT_DIR/foreign.bpf.o}
[ -f "$FOREIGN" ] || it_skip "needs the foreign test programs ($FOREIGN)"

IT_LABELS[1000]="app: web"
IT_LABELS[1001]="app: client"
it_endpoint web-1 11 1000
it_endpoint client-1 21 1001
it_servers

state=$(it_state drift <<-'EOF'
	prefilter:
	  device: wld
	  xdpMode: generic
	  deny: [203.0.113.10/32]
	policies:
	  - name: web-in
	    endpointSelector: {matchLabels: {app: web}}
	    ingress:
	      - fromEndpoints: [{matchLabels: {app: client}}]
	        toPorts: [{ports: [{port: 80, protocol: TCP}]}]
EOF
)

# ---- foreign objects, made before sluice runs ----
# A tc filter of another priority on an endpoint device: a program that
# passes everything on (TC_ACT_UNSPEC), not named sluice_*.
tc qdisc add dev lxc-web-1 clsact
tc filter add dev lxc-web-1 ingress priority 7 handle 0x7 bpf da obj "$FOREIGN" sec tc ||
	it_die "foreign tc filter"
# Another program's pin in the same bpffs, and a map pinned outside the pin dir.
mkdir -p "$IT_BPFFS/other"
bpftool map create "$IT_BPFFS/other/their_map" type hash key 4 value 4 entries 8 name their_map ||
	it_die "foreign map"
bpftool map update pinned "$IT_BPFFS/other/their_map" key 1 0 0 0 value 2 0 0 0
foreign_state() {
	tc filter show dev lxc-web-1 ingress | grep -q 'pref 7 bpf.*other_tc_pass' &&
		bpftool map lookup pinned "$IT_BPFFS/other/their_map" key 1 0 0 0 >/dev/null 2>&1
}
it_check "foreign objects in place before apply" foreign_state

it_apply "$state"
it_converged "$state"
it_check "foreign objects survive apply" foreign_state
POLICY_RULES='ok * * * *
fail * web-1 * *
ok client-1 web-1 * tcp/80
fail world * v4 *
fail * world-a v4 *'
it_matrix "policy applied" <<< "$POLICY_RULES"

# ---- drift 1: a policy entry removed, a stray one added (bpftool) ----
pol=$SLUICE_PIN_DIR/sluice_policy
entries=$(bpftool -j map dump pinned "$pol")
n=$("$IT_PY" -c 'import json,sys; print(len(json.load(sys.stdin)))' <<< "$entries")
it_check "policy map has entries ($n)" [ "$n" -ge 1 ]
# remove the first entry; add a stray allow of everything to web
key=$("$IT_PY" -c 'import json,sys; e=json.load(sys.stdin)[0]; print(" ".join(str(int(b,16)) for b in e["key"]))' <<< "$entries")
# shellcheck disable=SC2086
bpftool map delete pinned "$pol" key $key || it_bad "bpftool delete"
ep_id=$("$IT_PY" -c 'import json,sys; e=json.load(sys.stdin)[0]; print(int(e["key"][0],16) | int(e["key"][1],16) << 8)' <<< "$entries")
# key: ep_id(2) dir(1)=0 proto(1)=17 dport(2)=0 pad(2) identity(4)=0 -> any peer, any UDP port
bpftool map update pinned "$pol" key $((ep_id & 255)) $((ep_id >> 8)) 0 17 0 0 0 0 0 0 0 0 value 0 0 0 0 ||
	it_bad "bpftool update"
it_sluice 2 diff "$state"
it_check "diff names the removed entry" grep -q '^  + policy' "$IT_OUT"
it_check "diff names the stray entry" grep -q '^  - policy ingress any peer any/UDP allow' "$IT_OUT"
cp "$IT_OUT" "$IT_WORK/drift1.plan"
it_apply "$state"
it_converged "$state"

# ---- drift 2: a tc filter deleted ----
tc filter del dev lxc-web-1 egress priority 21 handle 0x51c0 bpf || it_bad "tc filter del"
it_sluice 2 diff "$state"
it_check "diff shows the missing attachment" grep -q '^  + attach tc egress lxc-web-1' "$IT_OUT"
it_matrix "tc egress filter gone: web-1 unprotected" <<-'R'
	ok * * * *
	fail world * v4 *
	fail * world-a v4 *
R
it_apply "$state"
it_converged "$state"
it_matrix "repaired" <<< "$POLICY_RULES"

# ---- drift 3: the XDP prefilter detached ----
ip link set dev wld xdpgeneric off || it_bad "xdp off"
it_sluice 2 diff "$state"
it_check "diff shows the missing XDP attachment" grep -q '^  + attach xdp wld' "$IT_OUT"
it_matrix "prefilter detached" <<-'R'
	ok * * * *
	fail * web-1 * *
	ok client-1 web-1 * tcp/80
R
it_apply "$state"
it_converged "$state"
it_matrix "prefilter back" <<< "$POLICY_RULES"

# ---- a foreign program in sluice's slot: apply refuses, changes nothing ----
tc filter del dev lxc-client-1 ingress priority 21 handle 0x51c0 bpf 2>/dev/null
# Another program at sluice's priority and handle is not sluice's, nor is
# another XDP program on the prefilter device.
tc filter add dev lxc-client-1 ingress priority 21 handle 0x51c0 bpf da obj "$FOREIGN" sec tc ||
	it_bad "foreign filter in sluice's slot"
bpftool map update pinned "$pol" key 0 0 0 6 0 99 0 0 0 0 0 0 value 0 0 0 0 # drift too: must stay unrepaired
before=$(bpftool map dump pinned "$pol" | md5sum)
it_sluice 1 apply "$state"
it_check "apply names the foreign filter" grep -q 'lxc-client-1.*other_tc_pass' "$IT_ERR"
it_check "apply changed nothing" [ "$before" = "$(bpftool map dump pinned "$pol" | md5sum)" ]
it_check "the foreign filter is still there" bash -c "tc filter show dev lxc-client-1 ingress | grep -q other_tc_pass"
tc filter del dev lxc-client-1 ingress priority 21 handle 0x51c0 bpf
ip link set dev wld xdpgeneric off
ip link set dev wld xdpgeneric obj "$FOREIGN" sec xdp || it_bad "foreign XDP"
it_sluice 1 apply "$state"
it_check "apply names the foreign XDP program" grep -q 'wld.*other_xdp_pass' "$IT_ERR"
it_check "the foreign XDP program is still there" bash -c "ip link show dev wld | grep -q xdpgeneric"
ip link set dev wld xdpgeneric off
it_apply "$state"
it_converged "$state"

# ---- flush: everything of sluice's goes, nothing else ----
it_sluice 0 flush --yes
it_check "pin dir removed" [ ! -e "$SLUICE_PIN_DIR" ]
it_check "no sluice tc filter left on lxc-web-1" \
	bash -c '! tc filter show dev lxc-web-1 ingress | grep -q sluice_ && ! tc filter show dev lxc-web-1 egress | grep -q sluice_'
it_check "no XDP left on wld" bash -c '! ip link show dev wld | grep -q xdp'
it_check "the clsact qdisc sluice made stays (it may hold others' filters)" \
	bash -c 'tc qdisc show dev lxc-client-1 | grep -q clsact'
it_check "foreign objects survive flush" foreign_state
it_matrix "after flush: all open" <<-'R'
	ok * * * *
R
it_sluice 0 flush --yes
it_check "a second flush has nothing to do" grep -qx "No changes." "$IT_OUT"
it_finish
