#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Encryption on this machine's kernel, which has xfrm policies but no ESP
# (kernel-lanes.md): the SAs themselves are tested in the VM lane
# (tests/vm/encryption.sh). Here, with the real binary and kernel:
#   - the plan of an encrypted cluster state (text and JSON): SAs, xfrm
#     policies and routes, keys redacted with a fingerprint;
#   - apply: the kernel refuses the first SA; sluice says which SA and what
#     the kernel said, exits 1, and leaves no xfrm policy or route behind
#     (policies are only added once their SAs are in), no foreign object
#     touched; a rerun says the same, and flush leaves things clean;
#   - key files: a key file that others can read is refused before any
#     change, a key file changed after validation is caught;
#   - no output of any command (validate, diff, apply at -v and -vv, show,
#     status, flush, watch's log) holds a byte of a key, raw or in hex.
# Usage: test-encryption.sh [PATH-TO-SLUICE]
source "$(dirname "$0")/lib.sh"
it_init "$@"

# The underlay: a namespace "peer" as node-b, behind a veth "ul0".
it_netns PEER
it_sysctls it_in "$PEER"
ip link add ul0 type veth peer name eth0 netns "$PEER" || it_die "underlay veth"
ip addr add 192.168.60.1/24 dev ul0
ip link set ul0 up
it_in "$PEER" ip addr add 192.168.60.2/24 dev eth0
it_in "$PEER" ip link set eth0 up
it_endpoint web 10 1000

KEY3=5e5e5e5e11223344556677889900aabbccddeeff
AUTH4=a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0
ENC4=c1c2c3c4c5c6c7c8c9cacbcccdcecfd0
INLINE=0x77777777111111112222222233333333aaaabbbb
mkdir -m 700 "$IT_WORK/keys"
(umask 077; echo "0x$KEY3" > "$IT_WORK/keys/3"; echo "$AUTH4" > "$IT_WORK/keys/4.auth"
	echo "$ENC4" > "$IT_WORK/keys/4.enc")

enc_state() { # FILE [EXTRA KEY LINE]
	cat > "$1" <<-EOF
		version: 1
		node: node-a
		datapath: {underlayDevice: ul0}
		nodes:
		  - {name: node-a, ip: 192.168.60.1, podCIDRs: [10.1.0.0/24], encryptKeys: [3, 4]}
		  - {name: node-b, ip: 192.168.60.2, podCIDRs: [10.2.0.0/24, "fd00:2::/64"], encryptKeys: [4]}
		identities:
		  - {id: 1000, labels: {app: web}}
		endpoints:
		  - {name: web, interface: lxc-web, ipv4: 10.1.0.10, identity: 1000}
		encryption:
		  enabled: true
		  keys:
		    - {spi: 3, aead: rfc4106(gcm(aes)), keyFile: keys/3}
		    - {spi: 4, auth: hmac(sha256), authKeyFile: keys/4.auth, cipher: cbc(aes), cipherKeyFile: keys/4.enc}
		${2:-}
	EOF
}
S=$IT_WORK/enc.yaml
enc_state "$S"
mkdir "$IT_WORK/outputs"
n_out=0
keep() { # keep the last outputs for the key sweep
	n_out=$((n_out + 1))
	cat "$IT_OUT" "$IT_ERR" > "$IT_WORK/outputs/$n_out.$1"
}

# ---- validate, diff ----
it_sluice 0 validate "$S"; keep validate
# This kernel has no ESP: diff prints the plan, then refuses it as apply
# would (exit 1), naming the SA and the kernel's answer.
it_sluice 1 diff "$S"; keep diff
it_check "diff refuses what apply would: the SAs this kernel cannot hold" \
	grep -q 'cannot hold the SAs the state needs: xfrm state .*spi 0x[34]' "$IT_ERR"
cp "$IT_ERR" "$IT_WORK/diff-refusal"
it_check "the plan has the inbound SA of each key" \
	grep -q '^  + state in any -> 192.168.60.1 spi 0x4 cbc(aes) hmac(sha256) key <redacted> (fingerprint [0-9a-f]\{8\}) reqid 0x51c00$' "$IT_OUT"
it_check "the out SA toward node-b uses key 4, the highest both have" \
	grep -q '^  + state out 192.168.60.1 -> 192.168.60.2 spi 0x4 ' "$IT_OUT"
it_check "no out SA with key 3" test "$(grep -c 'state out .* spi 0x3' "$IT_OUT")" -eq 0
it_check "the out policy matches the datapath's mark of key 4" \
	grep -q '^  + policy out any -> 10.2.0.0/24 mark 0x4e00/0xff00 tmpl 192.168.60.1 -> 192.168.60.2 spi 0x4 reqid 0x51c04$' "$IT_OUT"
it_check "an IPv6 pod CIDR gets its out policy too" grep -q '^  + policy out any -> fd00:2::/64 mark 0x4e00/0xff00' "$IT_OUT"
it_check "in and fwd policies accept any key of this node" \
	grep -q '^  + policy fwd 10.2.0.0/24 -> 10.1.0.0/24 tmpl any -> 192.168.60.1 any spi reqid 0x51c00$' "$IT_OUT"
it_check "routes to node-b's pod CIDRs" grep -q '^  + route 10.2.0.0/24 via 192.168.60.2 dev ul0$' "$IT_OUT"
it_check "an IPv6 pod CIDR behind an IPv4 node ip is routed on the device" \
	grep -q '^  + route fd00:2::/64 dev ul0$' "$IT_OUT"
it_check "the ipcache marks node-b's CIDR with key 4" grep -q '^  + ipcache 10.2.0.0/24 .* key 4' "$IT_OUT"
it_sluice 1 diff -o json "$S"; keep diff-json
it_check "JSON plan: SAs with key redacted and a fingerprint" "$IT_PY" -c '
import json, sys
p = json.load(open(sys.argv[1]))
sas = [c for c in p["changes"] if c["kind"] == "xfrm-state"]
assert len(sas) == 3, sas
for c in sas:
    a = c["after"]
    assert a["key"] == "<redacted>" and len(a["keyFingerprint"]) == 8, a
kinds = {c["kind"] for c in p["changes"]}
assert {"xfrm-policy", "route"} <= kinds, kinds
' "$IT_OUT"

# ---- apply without ESP ----
ip xfrm policy add src 10.9.0.0/24 dst 10.8.0.0/24 dir out tmpl src 192.168.60.1 dst 192.168.60.9 proto esp \
	reqid 7 mode tunnel || it_die "a foreign xfrm policy"
ip route add 10.99.0.0/24 via 192.168.60.2 dev ul0 || it_die "a foreign route"
it_sluice 1 apply -vv "$S"; keep apply-vv
grep "^sluice apply" "$IT_ERR" | sed "s/^/   | /"
it_check "the error names the SA and the kernel's answer ($(tail -n 2 "$IT_ERR" | tr '\n' ' '))" \
	grep -q 'xfrm state in 192.168.60.1 spi 0x3\|xfrm state .*spi 0x[34]' "$IT_ERR"
it_check "... refused before any change, not left to a rerun" \
	sh -c "grep -q 'nothing was changed' '$IT_ERR' && ! grep -q 'run apply again' '$IT_ERR'"
it_check "... no pin directory was made" test ! -e "$SLUICE_PIN_DIR"
it_check "... with the message diff gave" \
	test "$(grep -o 'cannot hold.*' "$IT_ERR")" = "$(grep -o 'cannot hold.*' "$IT_WORK/diff-refusal")"
it_sluice 1 apply --dry-run "$S"
it_check "apply --dry-run refuses it the same way" \
	test "$(grep -o 'cannot hold.*' "$IT_ERR")" = "$(grep -o 'cannot hold.*' "$IT_WORK/diff-refusal")"
it_check "no xfrm policy of sluice's was added without its SA" \
	test "$(ip xfrm policy list | grep -cE 'reqid 3348(4[89]|5[0-9]|6[0-3])')" -eq 0
it_check "no route of sluice's was added" test -z "$(ip route show proto 81)"
it_check "the foreign policy is untouched" ip xfrm policy get src 10.9.0.0/24 dst 10.8.0.0/24 dir out >/dev/null
it_check "the foreign route is untouched" test -n "$(ip route show 10.99.0.0/24)"
it_sluice 1 apply "$S"; keep apply-again
it_check "a rerun fails the same way" grep -q 'xfrm state' "$IT_ERR"

# ---- key files ----
chmod 0604 "$IT_WORK/keys/3"
it_sluice 1 apply "$S"; keep apply-open-key
it_check "a key file others can read is refused" grep -q 'keys/3 can be read by others (mode 0604)' "$IT_ERR"
it_check "... before anything else" grep -q 'nothing was changed' "$IT_ERR"
chmod 0600 "$IT_WORK/keys/3"
enc_state "$IT_WORK/inline.yaml" "    - {spi: 5, aead: rfc4106(gcm(aes)), key: '$INLINE'}"
it_sluice 1 diff "$IT_WORK/inline.yaml"; keep diff-inline
it_check "an inline key is warned about" grep -q 'the key sits in the state file' "$IT_ERR"

# ---- the rest of the commands ----
it_sluice 0 show; keep show
it_sluice 0 show -o json; keep show-json
it_sluice 0 status; keep status
it_sluice 0 status -o json; keep status-json
it_sluice 0 flush --yes; keep flush
it_check "flush leaves no route of sluice's" test -z "$(ip route show proto 81)"
it_check "flush leaves the foreign policy" ip xfrm policy get src 10.9.0.0/24 dst 10.8.0.0/24 dir out >/dev/null
it_check "flush leaves the foreign route" test -n "$(ip route show 10.99.0.0/24)"

# watch: one failing apply, its log.
mkdir "$IT_WORK/dir"
cp "$S" "$IT_WORK/dir/enc.yaml"
sed -i "s#keyFile: keys/#keyFile: $IT_WORK/keys/#; s#authKeyFile: keys/#authKeyFile: $IT_WORK/keys/#; s#cipherKeyFile: keys/#cipherKeyFile: $IT_WORK/keys/#" \
	"$IT_WORK/dir/enc.yaml"
timeout 5 "$IT_SLUICE" watch "$IT_WORK/dir" --resync 0 -v > "$IT_WORK/outputs/watch.out" 2>&1
it_check "watch logs the failed apply" grep -q 'failed' "$IT_WORK/outputs/watch.out"
it_sluice 0 flush --yes; keep flush-2

# ---- the key sweep ----
it_log "key sweep over $(ls "$IT_WORK/outputs" | wc -l) outputs"
if "$IT_PY" "$IT_DIR/../tools/key-sweep.py" "$IT_WORK/outputs" "$KEY3" "$AUTH4" "$ENC4" "$INLINE"; then
	it_ok
else
	it_bad "key bytes in an output"
fi
ip xfrm policy delete src 10.9.0.0/24 dst 10.8.0.0/24 dir out
it_finish
