#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The command line as cli.md describes it: exit codes, option placement,
# standard input, JSON output, help listing only what works.
set -uo pipefail
sluice=$1 root=$2
ex=$root/examples/states
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
expect_rc() { # want cmd...
	local want=$1; shift
	"$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
	if [ "$rc" -eq "$want" ]; then ok; else bad "$* exited $rc, want $want"; cat "$tmp/out" "$tmp/err"; fi
}

expect_rc 0 "$sluice" validate "$ex/minimal.yaml"
expect_rc 0 "$sluice" validate -q "$ex/minimal.yaml"
[ ! -s "$tmp/out" ] && [ ! -s "$tmp/err" ] && ok || bad "-q printed something for a valid state"
expect_rc 0 "$sluice" validate "$ex/minimal.yaml" --no-color -q
printf 'version: 1\nbogus: 1\n' > "$tmp/bad.yaml"
expect_rc 1 "$sluice" validate "$tmp/bad.yaml"
grep -q "bad.yaml:2:1: (document): unknown key 'bogus'" "$tmp/err" && ok || bad "diagnostic text"
grep -q '^invalid: 1 file, 1 error, 0 warnings$' "$tmp/err" && ok || bad "summary line"
# standard input
expect_rc 0 "$sluice" validate - < "$ex/minimal.yaml"
expect_rc 1 "$sluice" validate - < "$tmp/bad.yaml"
grep -q "^-:2:1: " "$tmp/err" && ok || bad "standard input is named -"
# options after the paths, and --node=VALUE
expect_rc 0 "$sluice" validate "$ex/cluster" --node node-a
expect_rc 0 "$sluice" validate --node=node-c "$ex/cluster" -o text
expect_rc 1 "$sluice" validate "$ex/cluster" --node node-q
grep -q "(command line): --node: 'node-q' is not one of the nodes" "$tmp/err" && ok || bad "--node error"
# JSON: one document on stdout, nothing on stderr
expect_rc 1 "$sluice" validate -o json "$tmp/bad.yaml"
/usr/bin/python3 - "$tmp/out" <<'PY' && ok || bad "json output"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["valid"] is False and d["errors"] == 1 and d["warnings"] == 0, d
x = d["diagnostics"][0]
assert (x["line"], x["column"], x["path"], x["severity"]) == (2, 1, "(document)", "error"), x
assert x["file"].endswith("bad.yaml") and "bogus" in x["message"], x
PY
[ ! -s "$tmp/err" ] && ok || bad "json mode wrote to stderr"
expect_rc 0 "$sluice" validate -o json "$ex/minimal.yaml"
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["valid"] and d["diagnostics"]==[]' "$tmp/out" && ok || bad "json valid"
# usage errors
expect_rc 1 "$sluice" validate
expect_rc 1 "$sluice" validate -o yaml "$ex/minimal.yaml"
expect_rc 1 "$sluice" validate --bogus "$ex/minimal.yaml"
expect_rc 1 "$sluice" frobnicate
expect_rc 1 "$sluice"
# help lists exactly the commands that exist
expect_rc 0 "$sluice" --help
cmds=$(awk '/^Commands:/{f=1;next} /^$/{f=0} f{print $1}' "$tmp/out" | tr '\n' ' ')
[ "$cmds" = "validate diff apply watch show status flush version " ] && ok || bad "help lists: $cmds"
for c in $cmds; do
	expect_rc 0 "$sluice" "$c" --help
done
# watch: what it refuses before it starts
expect_rc 1 "$sluice" watch
expect_rc 1 "$sluice" watch "$tmp/no-such-dir"
grep -q "no-such-dir: No such file or directory" "$tmp/err" && ok || bad "watch of a missing DIR names it"
expect_rc 1 "$sluice" watch "$ex/minimal.yaml"
grep -q "not a directory" "$tmp/err" && ok || bad "watch of a file says it is not a directory"
expect_rc 1 "$sluice" watch "$ex" "$ex"
expect_rc 1 "$sluice" watch --debounce -1 "$ex"
expect_rc 1 "$sluice" watch --debounce 5s "$ex"
expect_rc 1 "$sluice" watch --resync x "$ex"
expect_rc 1 "$sluice" watch --log-format xml "$ex"
expect_rc 1 "$sluice" watch --health-file "" "$ex"
expect_rc 1 "$sluice" apply --resync 5 "$ex/minimal.yaml"
grep -q "does not apply to this command" "$tmp/err" && ok || bad "--resync is refused by apply"
expect_rc 1 "$sluice" validate --log-format json "$ex/minimal.yaml"
# the common options are accepted by every command (cli.md), so that a
# wrapper or an alias can always pass them
for c in validate diff apply watch show status flush version; do
	"$sluice" "$c" --pin-dir "$tmp/nowhere" --node node-a -q -v --no-color --help >"$tmp/out" 2>"$tmp/err" &&
		ok || bad "sluice $c refuses a common option: $(cat "$tmp/err")"
done
expect_rc 0 "$sluice" validate --pin-dir "$tmp/nowhere" "$ex/minimal.yaml"
expect_rc 0 "$sluice" version --pin-dir "$tmp/nowhere" --node x -o json
# version
expect_rc 0 "$sluice" version
grep -q '^sluice 0\.1\.0$' "$tmp/out" && grep -q '^libbpf ' "$tmp/out" && grep -q '^libcyaml 1\.' "$tmp/out" &&
	grep -q '^  program load ' "$tmp/out" && ok || bad "version output"
expect_rc 0 "$sluice" version -o json
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert "features" in d and d["libcyaml"]' "$tmp/out" && ok || bad "version json"
# validate never needs privileges: as nobody it works the same
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	cp "$ex/minimal.yaml" "$tmp/m.yaml"; chmod 755 "$tmp"; chmod 644 "$tmp/m.yaml"
	expect_rc 0 setpriv --reuid=65534 --regid=65534 --clear-groups "$sluice" validate "$tmp/m.yaml"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
