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
[ "$cmds" = "validate diff apply watch show status flush monitor version help " ] && ok || bad "help lists: $cmds"
cmds=${cmds% help }
for c in $cmds; do
	expect_rc 0 "$sluice" "$c" --help
	cp "$tmp/out" "$tmp/help-flag"
	expect_rc 0 "$sluice" help "$c"
	cmp -s "$tmp/out" "$tmp/help-flag" && ok || bad "sluice help $c differs from sluice $c --help"
done
expect_rc 0 "$sluice" help
grep -q '^Commands:' "$tmp/out" && ok || bad "sluice help prints the usage"
# Each command's help: every option it takes, each with a description,
# and examples that are that command's. The completions (dist/completion,
# installed by meson install) offer exactly the same options.
for c in $cmds; do
	"$sluice" help "$c" >"$tmp/h" 2>&1
	opts=$(awk '/^Options:/{f=1;next} /^$/{f=0} f' "$tmp/h" | grep -oE '^ +(-[a-z], )?--[a-z-]+' | grep -oE -- '--[a-z-]+' | sort | tr '\n' ' ')
	common=$(awk '/^Common options/{f=1;next} /^$/{f=0} f' "$tmp/h" | grep -oE '^ +(-[a-z], )?--[a-z-]+' | grep -oE -- '--[a-z-]+' | sort | tr '\n' ' ')
	[ "$common" = "--help --no-color --node --pin-dir --quiet --verbose " ] && ok || bad "help $c: common options: $common"
	# an option line without a description is one that ends after its name
	awk '/^(Options:|Common options)/{f=1;next} /^$/{f=0} f && /^ +(-[a-z], )?--[a-z-]+( [A-Z:]+)?$/ {n++} END {exit n > 0}' "$tmp/h" &&
		ok || bad "help $c: an option without a description"
	grep -A1 '^Examples:' "$tmp/h" | grep -q "^  sluice $c" && ok || bad "help $c: no example of $c"
	for o in $opts; do
		# accepted: not refused as an option of another command
		case $o in --output) continue ;; esac
		if "$sluice" "$c" "$o" --help >/dev/null 2>"$tmp/e" || ! grep -q 'does not apply' "$tmp/e"; then ok; else bad "help $c lists $o, which $c refuses"; fi
	done
	# bash: the same options, from the completion function itself
	got=$(bash -c '. "$1"; COMP_WORDS=(sluice "$2" --); COMP_CWORD=2; _sluice; printf "%s\n" "${COMPREPLY[@]}"' _ \
		"$root/dist/completion/sluice.bash" "$c" | sort | tr '\n' ' ')
	[ "$got" = "$(printf '%s\n' $opts $common | sort -u | tr '\n' ' ')" ] && ok || bad "bash completion of 'sluice $c --': $got; help: $opts $common"
	# zsh: every option of the command's help appears in its case
	for o in $opts; do
		awk -v c="$c" '$1 ~ "^" c "([) |]|$)" {f=1} f {print} f && /;;/ {f=0}' "$root/dist/completion/_sluice" | grep -q -- "$o" && ok ||
			bad "zsh completion of $c lacks $o"
	done
done
got=$(bash -c '. "$1"; COMP_WORDS=(sluice ""); COMP_CWORD=1; _sluice; printf "%s\n" "${COMPREPLY[@]}"' _ "$root/dist/completion/sluice.bash" | tr '\n' ' ')
[ "$got" = "$cmds help " ] && ok || bad "bash completion of the commands: $got"
got=$(bash -c '. "$1"; COMP_WORDS=(sluice monitor --type ""); COMP_CWORD=3; _sluice; printf "%s\n" "${COMPREPLY[@]}"' _ "$root/dist/completion/sluice.bash" | tr '\n' ' ')
[ "$got" = "drop verdict trace " ] && ok || bad "bash completion of --type: $got"
# with bash-completion's own helpers loaded, as an interactive shell has them
if [ -f /usr/share/bash-completion/bash_completion ]; then
	got=$(bash -c '. /usr/share/bash-completion/bash_completion; . "$1"; COMP_WORDS=(sluice apply --s); COMP_CWORD=2
		COMP_LINE="sluice apply --s"; COMP_POINT=${#COMP_LINE}; _sluice; echo "${COMPREPLY[@]}"' _ "$root/dist/completion/sluice.bash")
	[ "$got" = "--summary" ] && ok || bad "bash completion with bash-completion loaded, 'sluice apply --s': $got"
fi
# zsh: the file parses, and compinit binds it to sluice
if command -v zsh >/dev/null; then
	zsh -n "$root/dist/completion/_sluice" && ok || bad "zsh: _sluice does not parse"
	mkdir -p "$tmp/zfunc" && cp "$root/dist/completion/_sluice" "$tmp/zfunc/"
	got=$(zsh -f -c 'fpath=($1 $fpath); autoload -Uz compinit; compinit -u -D; print -r -- ${_comps[sluice]}' _ "$tmp/zfunc")
	[ "$got" = _sluice ] && ok || bad "zsh: compinit does not bind _sluice to sluice ($got)"
fi
# JSON: every document carries formatVersion 1 (sluice(8), "JSON output")
for args in "validate -o json $ex/minimal.yaml" "version -o json"; do
	"$sluice" $args >"$tmp/j" 2>/dev/null
	/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert list(d)[0] == "formatVersion" and d["formatVersion"] == 1, d' "$tmp/j" &&
		ok || bad "sluice $args: no formatVersion 1 first"
done
expect_rc 1 "$sluice" help frobnicate
grep -q "unknown command 'frobnicate'" "$tmp/err" && ok || bad "sluice help of an unknown command says so"
expect_rc 0 "$sluice" --version
[ "$(cat "$tmp/out")" = "sluice $("$sluice" version | head -n 1 | cut -d' ' -f2)" ] && ok ||
	bad "sluice --version: $(cat "$tmp/out")"
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
expect_rc 1 "$sluice" watch --metrics-address "" "$ex"
expect_rc 1 "$sluice" watch --metrics-address 127.0.0.1 "$ex"
grep -q "^sluice watch: --metrics-address 127.0.0.1: give HOST:PORT" "$tmp/err" && ok || bad "watch --metrics-address without a port says so"
expect_rc 1 "$sluice" apply --metrics-address 127.0.0.1:9962 "$ex/minimal.yaml"
grep -q "does not apply to this command" "$tmp/err" && ok || bad "--metrics-address is refused by apply"
expect_rc 1 "$sluice" apply --resync 5 "$ex/minimal.yaml"
grep -q "does not apply to this command" "$tmp/err" && ok || bad "--resync is refused by apply"
# monitor: its options, refused elsewhere; checked before any kernel access
expect_rc 1 "$sluice" monitor --type bogus
grep -q "takes drop, verdict or trace" "$tmp/err" && ok || bad "monitor --type bogus: $(cat "$tmp/err")"
expect_rc 1 "$sluice" apply --type drop "$ex/minimal.yaml"
grep -q "does not apply to this command" "$tmp/err" && ok || bad "--type is refused by apply"
expect_rc 1 "$sluice" status --endpoint web-1
grep -q "does not apply to this command" "$tmp/err" && ok || bad "--endpoint is refused by status"
expect_rc 1 "$sluice" monitor some/path
grep -q "takes no PATH" "$tmp/err" && ok || bad "monitor takes no PATH"
expect_rc 1 "$sluice" validate --log-format json "$ex/minimal.yaml"
# the common options are accepted by every command (cli.md), so that a
# wrapper or an alias can always pass them
for c in validate diff apply watch show status flush version; do
	"$sluice" "$c" --pin-dir "$tmp/nowhere" --node node-a -q -v --no-color --help >"$tmp/out" 2>"$tmp/err" &&
		ok || bad "sluice $c refuses a common option: $(cat "$tmp/err")"
done
expect_rc 0 "$sluice" validate --pin-dir "$tmp/nowhere" "$ex/minimal.yaml"
expect_rc 0 "$sluice" version --pin-dir "$tmp/nowhere" --node x -o json
# what the user typed is escaped in every message: a command, an option, a value
for args in $'bo\x1b[31mgus' $'apply\n--wait\nx\x07' $'apply\n--b\x1bogus' $'watch\n/nonexistent\x1b[2J'; do
	mapfile -t argv <<< "$args"
	"$sluice" "${argv[@]}" >"$tmp/out" 2>"$tmp/err"
	if LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$tmp/err" "$tmp/out"; then
		bad "a control character reached the terminal: sluice $(printf '%q ' "${argv[@]}")"
	else
		ok
	fi
	grep -q '\\x1b\|\\x07' "$tmp/err" && ok || bad "no escape in: $(cat -A "$tmp/err")"
done
# version
expect_rc 0 "$sluice" version
grep -q '^sluice 0\.1\.0$' "$tmp/out" && grep -q '^libbpf ' "$tmp/out" && grep -q '^libcyaml 1\.' "$tmp/out" &&
	grep -q '^  program load ' "$tmp/out" && ok || bad "version output"
expect_rc 0 "$sluice" version -o json
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert "features" in d and d["libcyaml"]' "$tmp/out" && ok || bad "version json"
# ---- hostile input (issue 15, items 3 and 4) ----
# /dev/zero, an endless standard input and an endless FIFO are refused, never
# read forever: at once (a NUL is no text) or at the 64 MiB limit
expect_rc 1 timeout 20 "$sluice" validate --no-color /dev/zero
grep -qx '/dev/zero:1:1: (file): not valid text: control characters are not allowed (U+0000)' "$tmp/err" && ok ||
	bad "/dev/zero is refused at once"
yes '# an endless comment' | timeout 60 "$sluice" validate --no-color - > "$tmp/out" 2> "$tmp/err"
rc=$?
[ "$rc" -eq 1 ] && grep -qx -- '-: (file): the file holds more than 64 MiB, the most a state file may hold; reading stopped there' "$tmp/err" &&
	ok || bad "an endless standard input stops at 64 MiB (rc $rc): $(cat "$tmp/err")"
mkfifo "$tmp/fifo.yaml"
(yes '# an endless comment' > "$tmp/fifo.yaml" 2> /dev/null &)
expect_rc 1 timeout 60 "$sluice" validate --no-color "$tmp/fifo.yaml"
grep -qx "$tmp/fifo.yaml: (file): the file holds more than 64 MiB, the most a state file may hold; reading stopped there" "$tmp/err" &&
	ok || bad "a FIFO as PATH is read as a stream, up to 64 MiB"
truncate -s 65M "$tmp/huge.yaml"
expect_rc 1 "$sluice" validate --no-color "$tmp/huge.yaml"
grep -qx "$tmp/huge.yaml: (file): the file holds more than 64 MiB, the most a state file may hold; the file (68157440 bytes) is not read" "$tmp/err" &&
	ok || bad "a file over 64 MiB is refused by its size"
rm -f "$tmp/huge.yaml"
# *.yaml entries of a directory that are no files: each named, none read
# (a FIFO there would block)
mkdir "$tmp/d" "$tmp/d/20-dir.yaml"
printf 'version: 1\n' > "$tmp/d/10-ok.yaml"
mkfifo "$tmp/d/30-fifo.yaml"
ln -s missing.yaml "$tmp/d/40-dangling.yaml"
expect_rc 1 timeout 20 "$sluice" validate --no-color "$tmp/d"
for e in "20-dir.yaml: (file): not a regular file (a directory): " "30-fifo.yaml: (file): not a regular file (a FIFO): " \
	"40-dangling.yaml: (file): cannot read: a symbolic link to 'missing.yaml', which does not exist"; do
	grep -qF "$tmp/d/$e" "$tmp/err" && ok || bad "a directory entry that is no file: $e"
done
# Terminal escapes never reach the terminal raw: in a file name, in values,
# in validate's and diff's diagnostics (diff refuses an invalid state before
# it looks at the kernel); JSON carries them escaped its own way.
bad_name="$tmp/x"$'\033'"[31m"$'\a'".yaml"
printf 'version: 1\nidentities: [{id: 1000, labels: {app: "\\e]0;pwned\\a"}}]\nnodes: [{name: "a\\rb", ip: 10.0.0.1}]\n' > "$bad_name"
for cmd in validate diff; do
	expect_rc 1 "$sluice" "$cmd" --pin-dir "$tmp/no-pins" "$bad_name"
	if grep -q $'[\033\a\r]' "$tmp/err"; then
		bad "$cmd: a control character reaches stderr raw: $(od -c "$tmp/err" | head -5)"
	else
		ok
	fi
	grep -qF 'x\x1b[31m\x07.yaml:2:' "$tmp/err" && grep -qF "'\\x1b]0;pwned\\x07' is not a label value" "$tmp/err" &&
		grep -qF "'a\\rb': a name may contain only" "$tmp/err" && ok || bad "$cmd: escapes: $(cat "$tmp/err")"
done
expect_rc 1 "$sluice" validate -o json "$bad_name"
/usr/bin/python3 - "$tmp/out" <<'PY' && ok || bad "json of control characters"
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
assert d["files"][0].endswith("x\x1b[31m\x07.yaml"), d["files"]
assert any("\x1b]0;pwned\x07" in x["message"] for x in d["diagnostics"]), d
PY
# Key material typed into any field of a key entry, or as the name of a
# key: no output of validate or diff (text, JSON, standard error) holds 4
# bytes of it (tests/tools/key-sweep.py), yet every field is reported.
K=4b1d00112233445566778899aabbccddeeff00112233445566
cat > "$tmp/keys.yaml" <<EOF
version: 1
node: a
nodes: [{name: a, ip: 192.168.50.1, encryptKeys: [3]}]
datapath: {underlayDevice: eth0}
encryption:
  enabled: true
  keys:
    - {spi: 3, aead: rfc4106(gcm(aes)), key "0x$K"}
    - {spi: 0x$K, aead: 0x$K, key: 0x$K, keyFile: 0x$K, icvBits: 0x$K}
    - {spi: 4, auth: 0x$K, authKey: 0x$K, authKeyFile: 0x$K, cipher: 0x$K, cipherKey: 0x$K, cipherKeyFile: 0x$K}
    - {spi: 5, aead: rfc4106(gcm(aes)), keyFile: keys/$K, 0x$K: 0x$K, other: $K}
    - {spi: 6, auth: hmac(sha256), authKeyFile: 0x$K, cipher: cbc(aes), cipherKeyFile: /etc/$K}
    - {spi: 7, aead: rfc4106(gcm(aes)), key: "0x$K", icvBits: 0x4b1d0011}
  0x$K: 0x$K
EOF
mkdir "$tmp/sweep"
for cmd in validate diff; do
	for o in text json; do
		"$sluice" "$cmd" --pin-dir "$tmp/no-pins" -o "$o" "$tmp/keys.yaml" > "$tmp/sweep/$cmd-$o.out" 2> "$tmp/sweep/$cmd-$o.err"
	done
done
n=$(grep -c 'encryption' "$tmp/sweep/validate-text.err")
[ "$n" -ge 12 ] && ok || bad "the key sweep state gives its errors ($n lines)"
/usr/bin/python3 "$root/tests/tools/key-sweep.py" "$tmp/sweep" "$K" > "$tmp/out" && ok ||
	bad "key material in an output: $(cat "$tmp/out")"
# validate never needs privileges: as nobody it works the same
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	cp "$ex/minimal.yaml" "$tmp/m.yaml"; chmod 755 "$tmp"; chmod 644 "$tmp/m.yaml"
	expect_rc 0 setpriv --reuid=65534 --regid=65534 --clear-groups "$sluice" validate "$tmp/m.yaml"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
