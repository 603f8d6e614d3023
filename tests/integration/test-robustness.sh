#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The reconciler under stress: zero kernel writes on a converged node,
# counted by sluice and checked against strace; an invalid state, a state
# that does not fit its maps and a missing interface change nothing; key
# material typed into any field reaches no output of apply, settings not
# carried out yet are warnings in diff and apply, and control characters
# reach watch's log escaped; an
# apply killed with SIGKILL in the middle of a large state, after which the
# next apply converges; two applies at once, serialized by the lock; a
# change of map capacity planned and carried out as a migration that keeps
# conntrack entries and an established connection; a long apply on a
# terminal shows its progress on stderr, and nothing of it without one.
#
# Usage: test-robustness.sh [PATH-TO-SLUICE]
. "$(dirname "$0")/lib.sh"
it_init "$@"
command -v strace >/dev/null || it_skip "needs strace"
command -v bpftool >/dev/null || it_skip "needs bpftool"
command -v flock >/dev/null || it_skip "needs flock"

IT_LABELS[1000]="app: web"
IT_LABELS[1001]="app: client"
it_endpoint web-1 11 1000
it_endpoint client-1 21 1001
it_servers

WEB_IN='policies:
  - name: web-in
    endpointSelector: {matchLabels: {app: web}}
    ingress:
      - fromEndpoints: [{matchLabels: {app: client}}]
        toPorts: [{ports: [{port: 80, protocol: TCP}]}]'
small=$(it_state small <<< "$WEB_IN")
RULES='ok * * * *
fail * web-1 * *
ok client-1 web-1 * tcp/80'
count_json() { "$IT_PY" -c 'import json,sys; print(len(json.load(sys.stdin)))'; }

# ---- zero writes, counted two ways ----
it_apply "$small"
it_converged "$small"
strace -f -qq -e trace=bpf,sendto,sendmsg -e signal=none -o "$IT_WORK/strace" \
	"$IT_SLUICE" apply -v "$small" > "$IT_WORK/out" 2> "$IT_WORK/err"
writes=$(grep -cE 'BPF_(MAP_(CREATE|UPDATE|DELETE)|PROG_LOAD|OBJ_PIN|LINK|PROG_(ATTACH|DETACH))|RTM_(NEW|DEL)(TFILTER|QDISC)|RTM_SETLINK' "$IT_WORK/strace")
reads=$(grep -cE 'BPF_MAP_LOOKUP_BATCH|BPF_OBJ_GET|RTM_GETTFILTER' "$IT_WORK/strace")
it_check "strace: the second apply makes no bpf() or netlink write (saw $writes)" [ "$writes" -eq 0 ]
it_check "strace: the second apply did read the kernel ($reads reads)" [ "$reads" -gt 0 ]
it_check "sluice counts 0 writes too" grep -q 'kernel writes: 0$' "$IT_WORK/err"
# The counter is no constant: a change of one rule's port counts the same
# map writes as strace sees.
change=$(it_state change <<< "${WEB_IN/port: 80/port: 81}")
strace -f -qq -e trace=bpf -e signal=none -o "$IT_WORK/strace2" \
	"$IT_SLUICE" apply -v "$change" > /dev/null 2> "$IT_WORK/err2"
n_strace=$(grep -cE 'BPF_MAP_(UPDATE|DELETE)' "$IT_WORK/strace2")
n_sluice=$(sed -n 's/.*kernel writes: \([0-9]*\)$/\1/p' "$IT_WORK/err2")
it_check "a one-rule change: sluice counts ${n_sluice:-?} writes, strace sees $n_strace map writes" \
	test "${n_sluice:-0}" -ge 1 -a "${n_sluice:-0}" -eq "$n_strace"
it_apply "$small"

# ---- refused states change nothing ----
snap() { bpftool map dump pinned "$SLUICE_PIN_DIR/sluice_policy" | sort | md5sum; }
before=$(snap)
bad=$(it_state bad <<< "${WEB_IN/port: 80/port: 70000}")
it_sluice 1 apply "$bad"
it_check "invalid state: the error names file:line:col" grep -q "bad.yaml:[0-9]*:[0-9]*: .*70000" "$IT_ERR"
it_check "invalid state: nothing changed" [ "$before" = "$(snap)" ]
full=$(it_state full <<'EOF'
datapath:
  mapSizes: {policy: 2}
policies:
  - name: web-in
    endpointSelector: {}
    ingress:
      - toPorts: [{ports: [{port: 1, protocol: TCP}, {port: 2, protocol: TCP}, {port: 3, protocol: TCP}]}]
EOF
)
it_sluice 1 apply "$full"
# (two endpoints x (three ports + host's entry, allowLocalhost: always))
it_check "capacity: the error names the map, the count and the limit" \
	grep -q "full.yaml:[0-9]*:[0-9]*: datapath.mapSizes.policy: .*8 entries in map sluice_policy, more than its capacity 2" "$IT_ERR"
it_check "capacity: nothing changed" [ "$before" = "$(snap)" ]
ghost=$IT_WORK/ghost.yaml
{ it_topology_yaml; echo "  - {name: ghost, interface: lxc-ghost, ipv4: 10.1.0.99, identity: 1000}"; } > "$ghost"
it_sluice 1 apply "$ghost"
it_check "a missing interface is named" grep -q "lxc-ghost" "$IT_ERR"
it_check "a missing interface: nothing changed" [ "$before" = "$(snap)" ]
it_matrix "after refused applies" <<< "$RULES"

# ---- input that must never reach an output (issue 15, items 3, 4, 8) ----
# Key material typed into any field of a key entry, or as a key's name:
# apply (text, JSON, --dry-run) refuses it, changes nothing, and none of its
# output holds 4 bytes of it.
K=4b1d00112233445566778899aabbccddeeff00112233445566
keys=$(it_state keys <<EOF
node: a
nodes: [{name: a, ip: 192.168.50.1, encryptKeys: [3]}]
datapath: {underlayDevice: lo}
encryption:
  enabled: true
  keys:
    - {spi: 3, aead: rfc4106(gcm(aes)), key "0x$K"}
    - {spi: 0x$K, aead: 0x$K, key: 0x$K, keyFile: 0x$K, icvBits: 0x$K}
    - {spi: 4, auth: 0x$K, authKey: 0x$K, authKeyFile: 0x$K, cipher: 0x$K, cipherKey: 0x$K, cipherKeyFile: 0x$K}
    - {spi: 5, aead: rfc4106(gcm(aes)), keyFile: keys/$K, 0x$K: 0x$K, other: $K}
    - {spi: 6, auth: hmac(sha256), authKeyFile: 0x$K, cipher: cbc(aes), cipherKeyFile: /etc/$K}
  0x$K: 0x$K
EOF
)
mkdir "$IT_WORK/sweep"
n=0
for args in "apply" "apply -o json" "apply --dry-run" "diff -o json"; do
	n=$((n + 1))
	# shellcheck disable=SC2086 # the words of args
	"$IT_SLUICE" $args "$keys" > "$IT_WORK/sweep/$n.out" 2> "$IT_WORK/sweep/$n.err"
	rc=$?
	it_check "sluice $args of key material in every field: exit 1 (got $rc)" [ "$rc" -eq 1 ]
done
it_check "the key material state is refused field by field" \
	test "$(grep -c '^.*keys.yaml:[0-9]*:[0-9]*: .*encryption' "$IT_WORK/sweep/1.err")" -ge 12
it_check "key material in any field: nothing changed" [ "$before" = "$(snap)" ]
it_check "key material in any field: no output holds 4 bytes of it" "$IT_PY" "$IT_DIR/../tools/key-sweep.py" "$IT_WORK/sweep" "$K"
# ipvlan mode on devices that are not ipvlan slaves (this kernel has no
# ipvlan; the VM lane tests the mode itself): apply refuses before any
# write, naming the device and the master, and changes nothing.
ipvl=$(it_state ipvl <<< "datapath: {mode: ipvlan, ipvlanMaster: lo}
$WEB_IN")
before=$(snap)
it_sluice 1 apply "$ipvl"
it_check "apply in ipvlan mode on a veth: refused, naming the device and the master" \
	grep -q 'endpoint interface [a-z0-9-]* in sluice.s network namespace is not an ipvlan slave of lo (datapath.ipvlanMaster); nothing was changed' "$IT_ERR"
it_check "apply in ipvlan mode on a veth: nothing changed" [ "$before" = "$(snap)" ]
# Control characters in a file name and in values reach watch's log
# escaped, one line each, never raw.
wdir=$IT_WORK/watch-escapes
mkdir "$wdir"
cp "$small" "$wdir/00-state.yaml"
printf 'version: 1\nidentities: [{id: 2000, labels: {app: "\\e]0;pwned\\a\\nforged line"}}]\n' > "$wdir/10-x"$'\033'"[31m.yaml"
"$IT_SLUICE" watch "$wdir" > "$IT_WORK/watch-escapes.out" 2> "$IT_WORK/watch-escapes.log" < /dev/null &
wpid=$!
for i in $(seq 100); do grep -q ' invalid: ' "$IT_WORK/watch-escapes.log" && break; sleep 0.1; done
kill -TERM "$wpid"
wait "$wpid"
it_check "watch logs the invalid state" grep -qF '10-x\x1b[31m.yaml:2:' "$IT_WORK/watch-escapes.log"
it_check "watch's log holds no raw control character" bash -c "! grep -q \$'[\\033\\a]' '$IT_WORK/watch-escapes.log'"
it_check "a newline in a value forges no log line" bash -c "! grep -q '^forged line' '$IT_WORK/watch-escapes.log'"
it_check "the value is escaped in the log" grep -qF "'\\x1b]0;pwned\\x07\\nforged line' is not a label value" "$IT_WORK/watch-escapes.log"
it_sluice 0 apply -q "$small"

# ---- SIGKILL in the middle of a large state ----
big=$IT_WORK/big.yaml
{
	it_topology_yaml
	echo "$WEB_IN"
	echo "  - name: to-many"
	echo "    endpointSelector: {matchLabels: {app: client}}"
	echo "    egress:"
	echo "      - toEndpoints: [{}]"
	echo "      - toCIDR:"
	"$IT_PY" -c 'for i in range(150000): print(f"          - 100.{64 + (i >> 16)}.{(i >> 8) & 255}.{i & 255}/32")'
} > "$big"
killed=0 midway=0
for delay in 0.3 0.5 0.8 1.1; do
	"$IT_SLUICE" apply -q "$big" > /dev/null 2>&1 &
	pid=$!
	sleep "$delay"
	if kill -KILL "$pid" 2>/dev/null; then
		wait "$pid" 2>/dev/null
		killed=$((killed + 1))
		# killed before its writes (nothing or part applied: exit 2) or
		# while verifying (all applied: exit 0); never an error
		"$IT_SLUICE" diff "$big" > "$IT_OUT" 2> "$IT_ERR"
		rc=$?
		it_check "diff after SIGKILL runs (rc $rc)" [ "$rc" -ne 1 ]
		[ "$rc" -eq 2 ] && midway=$((midway + 1))
		it_log "killed after ${delay}s: $(tail -1 "$IT_OUT")"
	else
		wait "$pid"
		it_log "the apply finished within ${delay}s"
	fi
done
it_check "at least one apply was killed with changes pending ($midway of $killed)" [ "$midway" -ge 1 ]
it_sluice 0 apply -q "$big"
it_converged "$big"
# client-1's egress is now enforced: endpoints and the named CIDRs only
it_matrix "large state converged after SIGKILL" <<< "$RULES
fail client-1 world-* * *"

# ---- two applies at once: the lock ----
it_sluice 0 apply -q "$small"
"$IT_SLUICE" apply -q "$big" > "$IT_WORK/a.out" 2>&1 &
pa=$!
for i in $(seq 300); do # until the first holds the lock
	flock -n "$SLUICE_PIN_DIR" true || break
	sleep 0.01
done
it_sluice 1 apply --wait 0 "$small"
it_check "apply --wait 0 fails on the lock, clearly" grep -q "another sluice holds the lock" "$IT_ERR"
it_sluice 0 apply --wait 60 "$small"
wait "$pa"
rca=$?
it_check "the first apply succeeded (rc $rca)" [ "$rca" -eq 0 ]
it_converged "$small"
it_matrix "the later apply won" <<< "$RULES"

# ---- a long apply on a terminal shows its progress on stderr ----
# (sluice(8), apply; SLUICE_PROGRESS_AFTER_MS=0 shows it from the start
# instead of after a second). The large state from the small one, under a
# pseudo-terminal (--summary: the plan's 300k lines would only slow the
# terminal); the same without a terminal says nothing of it.
it_sluice 0 apply -q "$small"
"$IT_PY" - "$IT_SLUICE" "$big" > "$IT_WORK/pty.out" <<'PY'
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.environ["SLUICE_PROGRESS_AFTER_MS"] = "0"
    os.execv(sys.argv[1], [sys.argv[1], "apply", "--summary", sys.argv[2]])
chunks = []
while True:
    try:
        b = os.read(fd, 65536)
    except OSError:
        break
    if not b:
        break
    chunks.append(b)
out = b"".join(chunks)
_, st = os.waitpid(pid, 0)
sys.stdout.write(repr(out.decode(errors="replace")) + "\n" + str(os.waitstatus_to_exitcode(st)) + "\n")
PY
"$IT_PY" - "$IT_WORK/pty.out" <<'PY' > "$IT_WORK/pty.check"
import ast, re, sys
text, rc = open(sys.argv[1]).read().rsplit("\n", 2)[:2]
out = ast.literal_eval(text)
lines = re.findall(r"\r\x1b\[Ksluice apply: ([a-z-]+), (\d+) entries written, [\d.]+ s", out)
print("exit", rc)
print("progress lines", len(lines), "phases", " ".join(sorted({p for p, _ in lines})), "max", max((int(n) for _, n in lines), default=0))
last = out.rfind("sluice apply: ")
print("wiped", out.find("\r\x1b[K", last) > last)
print("complete", "Apply complete:" in out[last:])
PY
sed 's/^/   /' "$IT_WORK/pty.check"
it_check "on a terminal: the apply succeeds" grep -qx 'exit 0' "$IT_WORK/pty.check"
it_check "on a terminal: progress lines, in the entries phase, counting 150000 entries and more" \
	"$IT_PY" -c 'import re,sys; t=open(sys.argv[1]).read(); m=re.search(r"progress lines (\d+) phases (.*) max (\d+)", t)
sys.exit(0 if m and int(m.group(1)) > 0 and "entries" in m.group(2).split() and int(m.group(3)) >= 150000 else 1)' "$IT_WORK/pty.check"
it_check "on a terminal: the progress line is wiped before the outcome is printed" \
	grep -qx 'wiped True' "$IT_WORK/pty.check"
it_check "on a terminal: then 'Apply complete'" grep -qx 'complete True' "$IT_WORK/pty.check"
it_sluice 0 apply -q "$small"
SLUICE_PROGRESS_AFTER_MS=0 it_sluice 0 apply --summary "$big"
it_check "without a terminal: no progress line" test "$(grep -c 'entries written' "$IT_ERR")" = 0
it_sluice 0 apply -q "$small"

# ---- migration: capacities change; conntrack and a connection survive ----
rm -f "$IT_WORK/ready.stream"
it_spawn hold nsenter -t "${IT_PID[client-1]}" -n -- "$IT_PY" "$IT_PROBE" stream \
	--dst "${IT_A4[web-1]}" --port 80 --ready "$IT_WORK/ready.stream"
for i in $(seq 300); do [ -e "$IT_WORK/ready.stream" ] && break; sleep 0.01; done
ct_before=$(bpftool -j map dump pinned "$SLUICE_PIN_DIR/sluice_ct4_tcp" | count_json)
bigger=$(it_state bigger <<< "datapath:
  mapSizes: {ctTcp: 524288, policy: 300000}
$WEB_IN")
it_apply "$bigger"
it_check "the plan says the conntrack map is migrated" \
	grep -q 'map sluice_ct4_tcp: max 1048576 -> 524288 (migrated' "$IT_OUT"
it_check "the plan says the policy map is migrated" grep -q 'map sluice_policy: max 1048576 -> 300000' "$IT_OUT"
it_check "the programs are replaced" grep -q '~ attach tc ingress lxc-web-1' "$IT_OUT"
ct_after=$(bpftool -j map dump pinned "$SLUICE_PIN_DIR/sluice_ct4_tcp" | count_json)
it_check "conntrack entries carried over ($ct_before before, $ct_after after)" \
	test "$ct_before" -ge 1 -a "$ct_after" -ge "$ct_before"
max=$(bpftool -j map show pinned "$SLUICE_PIN_DIR/sluice_ct4_tcp" | "$IT_PY" -c 'import json,sys; print(json.load(sys.stdin)["max_entries"])')
it_check "the pinned conntrack map has the new capacity ($max)" [ "$max" -eq 524288 ]
it_converged "$bigger"
sleep 0.5
kill -TERM "$hold"
wait "$hold"
rch=$?
it_check "an established connection kept working across the migration (rc $rch)" [ "$rch" -eq 0 ]
it_matrix "after the migration" <<< "$RULES"
it_finish
