#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2317 # functions called through it_check and w_check
#
# `sluice watch`, the real binary against the real kernel (cli.md "watch",
# notes/watch-spec.md). Each group below logs "== N. ..." and checks:
#  0. DIR missing or not a directory: exit 1 with a message.
#  1. Start: DIR is applied at start (maps, programs, traffic), the log
#     has `start` then `applied (start)`, every line in the text format.
#  2. Real writers, each judged by the kernel (show, diff DIR) and the
#     log: an editor's temp file + rename (with swap and lock files
#     beside it), vim's backup dance, cp over a file, a new file, a file
#     deleted; DIR a symlink swapped to a new directory (ln -sfn +
#     mv -T), twice, and writes into the new target; a directory renamed
#     onto DIR; a Kubernetes ConfigMap volume (..data swaps, keys added
#     and removed); a file moved in and out; a symlink to a file in
#     another directory, whose target is written in place.
#  3. An invalid write: `invalid` with file:line:col (the same error as
#     `sluice validate`), `rejected`, the kernel unchanged, watch running;
#     the next valid write applied. Watch started on an invalid DIR keeps
#     running and applies when it is fixed; with --log-format json the
#     invalid line carries file/line/col.
#  4. A burst of 100 writes: few applies (<= 5), the last write in the
#     kernel.
#  5. Drift (--resync 2): a policy entry deleted with bpftool and the tc
#     egress program detached are repaired within a period + margin,
#     each named by a `drift` line (warning); traffic enforced again.
#     SIGHUP repairs at once (an ipcache entry deleted).
#  6. Signals: SIGHUP applies now (`unchanged (signal)`); SIGTERM and
#     SIGINT while idle: exit 0, maps pinned, programs attached, DIR's
#     state still in the kernel; SIGTERM while the apply of 100k remote
#     endpoints holds the lock: the apply finishes (converged), exit 0.
#  7. The apply lock: a manual apply of another state runs while watch
#     does, and the next resync restores DIR's state as drift; a manual
#     apply of DIR's own state causes no drift. A lock held from outside
#     holds back watch's apply until it is released; with --wait 1, watch
#     logs `failed` and converges on a retry (reason retry).
#  8. Bad entries never stop watch: random bytes, a binary, a directory
#     x.yaml, an unreadable file (watch without CAP_DAC_OVERRIDE), a
#     dangling symlink, a symlink loop; the kernel keeps its state.
#  9. 1,000 applies (--debounce 0, two states alternating): same fd count
#     and RSS growth under 2 MB between apply 100 and apply 1000.
# 10. systemd: READY=1 (with STATUS) after the first apply, STATUS after
#     each apply, WATCHDOG=1 about every WATCHDOG_USEC/2, STOPPING=1 at
#     exit; an abstract NOTIFY_SOCKET; no pings for another WATCHDOG_PID.
#     The health file: ready, lastResult, applies, replaced atomically,
#     the probes of watch-spec.md pass, removed at exit.
# 11. --log-format json: every line of a run is a JSON object with
#     time/level/event/msg and the event's own fields.
#
# Usage: test-watch.sh [PATH-TO-SLUICE]
. "$(dirname "$0")/lib.sh"
it_init "$@"
. "$IT_DIR/watch_lib.sh"
for t in bpftool tc flock timeout md5sum; do
	command -v "$t" >/dev/null || it_skip "needs $t"
done
"$IT_SLUICE" watch --help > /dev/null 2>&1 || it_die "this sluice has no working 'watch --help'"

IT_LABELS[1000]="app: web"
IT_LABELS[1001]="app: client"
it_endpoint web-1 11 1000
it_endpoint client-1 21 1001
it_servers

PIN=$SLUICE_PIN_DIR
LOGCHECK=$IT_WORK/logcheck.py
NOTIFY_PY=$IT_WORK/notify.py

# ---- state files ----

# pol PORT [NAME APP PEER-APP]: a policy file; APP's endpoints accept
# PEER-APP's on PORT/TCP. Its `port:` is on line 7.
pol() {
	cat <<-EOF
		version: 1
		policies:
		  - name: ${2:-web-in}
		    endpointSelector: {matchLabels: {app: ${3:-web}}}
		    ingress:
		      - fromEndpoints: [{matchLabels: {app: ${4:-client}}}]
		        toPorts: [{ports: [{port: $1, protocol: TCP}]}]
	EOF
}
extra() { pol "$1" client-in client web; }
# mkstate DIR PORT: a state directory: the topology and web-in on PORT.
mkstate() {
	mkdir -p "$1"
	it_topology_yaml > "$1/00-topo.yaml"
	pol "$2" > "$1/10-web.yaml"
}
RULES80='ok * * * *
fail * web-1 * *
ok client-1 web-1 * tcp/80'

w_started() { w_wait 'applied|unchanged' 1 "${1:-20}" '\(start\)'; }
# w_has EVENT TEXT: a line of EVENT since the mark contains TEXT
w_has() { w_lines "$1" | grep -qF -- "$2"; }
# it_unspawn PID: kill a helper of ours, reap it, forget it
it_unspawn() {
	local p keep=()
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	for p in "${IT_HELPERS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	IT_HELPERS=("${keep[@]}")
}
# the apply lock held from outside: flock(1) on the pin dir, by pid
lock_hold() {
	local i
	it_spawn LOCK_PID flock -o "$PIN" setpriv --pdeathsig KILL -- sleep 300
	for i in $(seq 250); do k_lock_free || return 0; sleep 0.02; done
	it_bad "the outside lock holder did not take the lock"
}
lock_release() {
	local i
	it_unspawn "$LOCK_PID"
	for i in $(seq 250); do k_lock_free && return 0; sleep 0.02; done
	it_bad "the lock was not released"
}

# logcheck.py FILE text|json: every line is a log line of watch-spec.md
# (format, level per event, and in JSON each event's own fields). Prints
# the events seen; "--need EV,EV" fails when one is missing.
cat > "$LOGCHECK" <<-'PY'
	import collections, json, re, sys
	path, fmt = sys.argv[1], sys.argv[2]
	need = sys.argv[4].split(",") if len(sys.argv) > 4 and sys.argv[3] == "--need" else []
	TIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z"
	LEVEL = {"start": "info", "applied": "info", "unchanged": "info|debug", "change": "debug",
	         "drift": "warning", "invalid": "error", "validate": "warning", "rejected": "error",
	         "failed": "error", "signal": "info", "exit": "info", "path": "debug"}
	EXTRA = {"start": "dir debounceMs resyncS pinDir", "applied": "reason added changed removed writes ms",
	         "unchanged": "reason ms", "change": "object change", "drift": "object change",
	         "invalid": "file line col path", "validate": "file line col path", "rejected": "reason errors",
	         "failed": "reason retryS", "signal": "signal", "exit": "applies", "path": "reason path loadMs"}
	REASONS = {"start", "change", "signal", "resync", "retry"}
	MSG = {"applied": r"\d+ added, \d+ changed, \d+ removed in [\d.]+ ms, \d+ kernel writes \((\w+)\)",
	       "unchanged": r"no changes in [\d.]+ ms \((\w+)\)",
	       "rejected": r"the state is invalid \(\d+ errors?\); the datapath keeps the last good state \((\w+)\)",
	       "failed": r".+; retrying in \d+ s \((\w+)\)", "exit": r"stopped after \d+ applies?",
	       "drift": r".+: .+ \(repaired\)", "invalid": r".+:\d+:\d+: .+: .+"}
	bad, seen = [], collections.Counter()
	for n, line in enumerate(open(path, errors="replace"), 1):
	    line = line.rstrip("\n")
	    if fmt == "json":
	        try:
	            o = json.loads(line)
	        except ValueError as e:
	            bad.append("line %d is not JSON (%s): %r" % (n, e, line[:160])); continue
	        if not isinstance(o, dict):
	            bad.append("line %d is no object" % n); continue
	        miss = [k for k in ("time", "level", "event", "msg") if not isinstance(o.get(k), str)]
	        if miss:
	            bad.append("line %d lacks %s: %r" % (n, miss, line[:160])); continue
	        if not re.fullmatch(TIME, o["time"]):
	            bad.append("line %d: time %r is not RFC 3339 UTC with ms" % (n, o["time"]))
	        ev, lvl, msg = o["event"], o["level"], o["msg"]
	        miss = [k for k in EXTRA.get(ev, "").split() if k not in o]
	        if miss:
	            bad.append("line %d (%s) lacks the fields %s: %r" % (n, ev, miss, line[:200]))
	        if "reason" in EXTRA.get(ev, "") and o.get("reason") not in REASONS:
	            bad.append("line %d: reason %r" % (n, o.get("reason")))
	    else:
	        m = re.fullmatch(r"(%s) (\S+) ([a-z]+): (.*)" % TIME, line)
	        if not m:
	            bad.append("line %d is not TIME LEVEL EVENT: MESSAGE: %r" % (n, line[:160])); continue
	        _, lvl, ev, msg = m.groups()
	    seen[ev] += 1
	    if ev not in LEVEL:
	        bad.append("line %d: unknown event %r" % (n, ev)); continue
	    if not re.fullmatch(LEVEL[ev], lvl):
	        bad.append("line %d: event %s at level %s, want %s" % (n, ev, lvl, LEVEL[ev]))
	    if ev in MSG:
	        m = re.fullmatch(MSG[ev], msg)
	        if not m:
	            bad.append("line %d: %s message %r is not of the form %s" % (n, ev, msg[:160], MSG[ev]))
	        elif m.groups() and m.group(1) not in REASONS:
	            bad.append("line %d: reason %r" % (n, m.group(1)))
	        elif ev == "unchanged" and m.groups() and (lvl == "debug") != (m.group(1) == "resync"):
	            bad.append("line %d: unchanged (%s) at level %s" % (n, m.group(1), lvl))
	for ev in need:
	    if not seen[ev]:
	        bad.append("no %s event" % ev)
	print("   %s log %s: %d lines, events %s" % (fmt, path.split("/")[-1], sum(seen.values()), dict(seen)))
	for b in bad[:20]:
	    print("   " + b)
	sys.exit(1 if bad else 0)
PY

# notify.py SOCKET OUT: a NOTIFY_SOCKET listener (a path, or @name for
# the abstract namespace); each datagram on its own line of OUT:
# "UNIXTIME JSON-STRING". OUT.ready appears once it listens.
cat > "$NOTIFY_PY" <<-'PY'
	import json, socket, sys, time
	path, out = sys.argv[1], sys.argv[2]
	s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
	s.bind("\0" + path[1:] if path.startswith("@") else path)
	open(out + ".ready", "w").close()
	with open(out, "a", buffering=1) as f:
	    while True:
	        d = s.recv(65536)
	        f.write("%.6f %s\n" % (time.time(), json.dumps(d.decode("utf-8", "replace"))))
PY
n_count() { grep -cF -- "$2" "$1"; }
n_wait() { # FILE TEXT [N] [SECONDS]: N datagrams containing TEXT
	local i
	for i in $(seq $((${4:-5} * 50))); do
		[ "$(n_count "$1" "$2")" -ge "${3:-1}" ] && return 0
		sleep 0.02
	done
	echo "   no ${3:-1} datagram(s) with $2 in ${4:-5}s; got:"
	sed 's/^/   | /' "$1" | tail -10
	return 1
}
notify_listen() { # VAR SOCKET OUT: start a listener, its pid in VAR
	local i
	: > "$3"
	it_spawn "$1" "$IT_PY" "$NOTIFY_PY" "$2" "$3"
	for i in $(seq 250); do [ -e "$3.ready" ] && return 0; sleep 0.02; done
	it_die "the notify listener on $2 did not start"
}

# ======================================================================
it_log "== 0. DIR must exist and be a directory"
timeout 10 "$IT_SLUICE" watch "$IT_WORK/nonexistent" > /dev/null 2> "$IT_WORK/err0"
rc=$?
it_check "watch of a missing DIR exits 1 (got $rc)" [ "$rc" -eq 1 ]
it_check "... with a message naming it" grep -q nonexistent "$IT_WORK/err0"
echo "version: 1" > "$IT_WORK/afile.yaml"
timeout 10 "$IT_SLUICE" watch "$IT_WORK/afile.yaml" > /dev/null 2> "$IT_WORK/err0"
rc=$?
it_check "watch of a file as DIR exits 1 (got $rc)" [ "$rc" -eq 1 ]

# ======================================================================
it_log "== 1. start: watch applies DIR at start"
D=$IT_WORK/d
mkstate "$D" 80
w_start A "$D"
w_check "A: applied at start (reason start)" w_wait applied 1 20 '\(start\)$'
w_check "A: the first line is start: DIR, default debounce and resync, pin dir" \
	bash -c "head -1 '$W_LOG' | grep -qE ' info start: watching $D \(debounce 200 ms, resync 60 s, pin dir $PIN\)$'"
w_check "A: the applied line has the spec's message" \
	w_wait applied 1 1 '^[0-9]+ added, 0 changed, 0 removed in [0-9.]+ ms, [0-9]+ kernel writes \(start\)$'
it_check "A: the kernel holds DIR (sluice diff DIR: no changes)" k_converged "$D"
it_check "A: sluice show: both endpoints, web-in's port" [ "$(k_summary)" = "lxc-client-1,lxc-web-1 80/TCP" ]
it_check "A: sluice_policy pinned" [ -e "$PIN/sluice_policy" ]
it_check "A: programs attached to lxc-web-1 and lxc-client-1" bash -c "$(declare -f k_attached); k_attached web-1 && k_attached client-1"
it_matrix "applied by watch at start: web-1 takes client-1 on tcp/80 only" "client-1 world" "web-1" <<< "$RULES80"

# ======================================================================
it_log "== 2. real writers"
it_log "-- 2a. an editor: swap and lock files, temp file, rename onto the file"
w_mark
printf 'b0VIM 9.0\0\0\0garbage: [\n' > "$D/.10-web.yaml.swp"
ln -s root@node.4242:1700000000 "$D/.#10-web.yaml"
pol 81 > "$D/10-web.yaml.tmp"
mv "$D/10-web.yaml.tmp" "$D/10-web.yaml"
w_check "2a: applied (reason change)" w_wait applied 1 10 '\(change\)$'
w_quiet 0.6
w_check "2a: exactly one apply" [ "$(w_count applied)" -eq 1 ]
w_check "2a: the swap, lock and temp files were not read (no invalid, no rejected)" [ "$(w_count 'invalid|rejected')" -eq 0 ]
it_check "2a: kernel: port 81" k_is_ports 81/TCP
it_check "2a: converged" k_converged "$D"
rm -f "$D/.#10-web.yaml"

it_log "-- 2b. vim's backup dance: 4913, rename to name~, write anew, remove name~"
w_mark
: > "$D/4913"
rm "$D/4913"
mv "$D/10-web.yaml" "$D/10-web.yaml~"
pol 82 > "$D/10-web.yaml"
rm "$D/10-web.yaml~"
w_check "2b: applied (reason change)" w_wait applied 1 10 '\(change\)$'
w_quiet 0.6
w_check "2b: exactly one apply (never the state without the file)" [ "$(w_count applied)" -eq 1 ]
w_check "2b: nothing invalid" [ "$(w_count 'invalid|rejected')" -eq 0 ]
it_check "2b: kernel: port 82" k_is_ports 82/TCP
it_check "2b: converged" k_converged "$D"
rm -f "$D/.10-web.yaml.swp"

it_log "-- 2c. cp over the file"
pol 83 > "$IT_WORK/web83.yaml"
w_mark
cp "$IT_WORK/web83.yaml" "$D/10-web.yaml"
w_check "2c: applied (reason change)" w_wait applied 1 10 '\(change\)$'
it_check "2c: kernel: port 83" k_is_ports 83/TCP
it_check "2c: converged" k_converged "$D"

it_log "-- 2d. a new file"
w_mark
extra 9090 > "$D/20-extra.yaml"
w_check "2d: applied (reason change)" w_wait applied 1 10 '\(change\)$'
it_check "2d: kernel: ports 83 and 9090" k_is_ports 83/TCP,9090/TCP
it_check "2d: converged" k_converged "$D"

it_log "-- 2e. a file deleted"
w_mark
rm "$D/20-extra.yaml"
w_check "2e: applied (reason change)" w_wait applied 1 10 '\(change\)$'
it_check "2e: kernel: port 83 only" k_is_ports 83/TCP
it_check "2e: converged" k_converged "$D"

it_log "-- 2h. a file moved in, moved out"
extra 9094 > "$IT_WORK/moved.yaml"
w_mark
mv "$IT_WORK/moved.yaml" "$D/20-moved.yaml"
w_check "2h: moved in: applied (reason change)" w_wait applied 1 10 '\(change\)$'
it_check "2h: kernel: ports 83 and 9094" k_is_ports 83/TCP,9094/TCP
w_mark
mv "$D/20-moved.yaml" "$IT_WORK/moved.yaml"
w_check "2h: moved out: applied (reason change)" w_wait applied 1 10 '\(change\)$'
it_check "2h: kernel: port 83 only" k_is_ports 83/TCP

it_log "-- 2i. a file that is a symlink to a file elsewhere, its target written in place"
mkdir "$IT_WORK/elsewhere"
extra 9095 > "$IT_WORK/elsewhere/ext.yaml"
w_mark
ln -s "$IT_WORK/elsewhere/ext.yaml" "$D/30-ext.yaml"
w_check "2i: the new symlink is applied" w_wait applied 1 10 '\(change\)$'
it_check "2i: kernel: ports 83 and 9095" k_is_ports 83/TCP,9095/TCP
w_mark
extra 9096 > "$IT_WORK/elsewhere/ext.yaml"
w_check "2i: a write to the symlink's target (another directory) is applied" w_wait applied 1 10 '\(change\)$'
it_check "2i: kernel: ports 83 and 9096" k_is_ports 83/TCP,9096/TCP
w_mark
rm "$D/30-ext.yaml"
w_check "2i: the symlink removed: applied" w_wait applied 1 10 '\(change\)$'
it_check "2i: kernel: port 83 only" k_is_ports 83/TCP
it_check "2i: converged" k_converged "$D"

# ======================================================================
it_log "== 3. invalid, then valid"
mkstate "$IT_WORK/vbad" 70000
verr=$("$IT_SLUICE" validate "$IT_WORK/vbad" 2>&1 | grep -m1 '10-web.yaml:[0-9]*:[0-9]*: .*70000')
verr=${verr#*vbad/}         # "10-web.yaml:7:COL: PATH: MESSAGE"
vcol=$(echo "$verr" | cut -d: -f3)
it_log "validate says: $verr"
it_check "validate reports the bad port at line 7 ($verr)" [ -n "$vcol" -a "$(echo "$verr" | cut -d: -f2)" = 7 ]
before=$(k_snap)
w_mark
pol 70000 > "$D/10-web.yaml"
w_check "3: rejected (reason change)" w_wait rejected 1 10 '\(change\)$'
w_check "3: an invalid line with file:line:col, as validate says: $verr" w_has invalid "/10-web.yaml:${verr#10-web.yaml:}"
w_check "3: the invalid line is an error" bash -c "tail -n +$((W_MARK + 1)) '$W_LOG' | grep -qE ' error invalid: '"
w_check "3: the rejected message (1 error, last good state kept)" \
	w_wait rejected 1 1 '^the state is invalid \(1 error\); the datapath keeps the last good state \(change\)$'
it_check "3: the kernel kept the last good state" [ "$before" = "$(k_snap)" ]
it_check "3: kernel: still port 83" k_is_ports 83/TCP
w_check "3: watch is still running" w_alive
w_mark
pol 84 > "$D/10-web.yaml"
w_check "3: the next valid write is applied" w_wait applied 1 10 '\(change\)$'
it_check "3: kernel: port 84" k_is_ports 84/TCP
it_check "3: converged" k_converged "$D"

# ======================================================================
it_log "== 4. a burst of 100 writes (debounce 200 ms)"
tmpl=$(pol @PORT@)
w_mark
t0=${EPOCHREALTIME/./}
for i in $(seq 1 100); do printf '%s\n' "${tmpl/@PORT@/$((1000 + i))}" > "$D/10-web.yaml"; done
it_log "100 writes in $(((${EPOCHREALTIME/./} - t0) / 1000)) ms"
w_check "4: applied" w_wait applied 1 10 '\(change\)$'
w_quiet 1
n=$(w_count applied)
it_log "4: $n apply(s) for 100 writes"
w_check "4: at most 5 applies for 100 writes (got $n)" [ "$n" -ge 1 -a "$n" -le 5 ]
it_check "4: kernel: the last write (port 1100)" k_is_ports 1100/TCP
it_check "4: converged" k_converged "$D"
w_check "4: nothing invalid (no half-written file read)" [ "$(w_count 'invalid|rejected')" -eq 0 ]

w_mark
pol 80 > "$D/10-web.yaml"
w_check "back to port 80" w_wait applied 1 10 '\(change\)$'
W_MARK=0
w_check "A: every line of the log is TIME LEVEL EVENT: MESSAGE, as specified" \
	"$IT_PY" "$LOGCHECK" "$W_LOG" text --need start,applied,invalid,rejected
w_stop TERM
it_check "A: SIGTERM: exit 0 (got $W_RC)" [ "$W_RC" = 0 ]

# ======================================================================
it_log "-- 2f. DIR is a symlink, swapped to another directory"
SW=$IT_WORK/sw
mkdir "$SW"
mkstate "$SW/v1" 85
ln -s v1 "$SW/state"
w_start B "$SW/state"
w_check "B: applied at start" w_started
it_check "B: kernel: port 85 (v1)" k_is_ports 85/TCP
mkstate "$SW/v2" 86
w_mark
(cd "$SW" && ln -sfn v2 state.tmp && mv -T state.tmp state)
w_check "2f: the swap to v2 is applied" w_wait applied 1 10 '\((change|resync)\)$'
it_check "2f: kernel: port 86 (v2)" k_is_ports 86/TCP
it_check "2f: converged" k_converged "$SW/state"
w_mark
pol 87 > "$SW/v2/10-web.yaml"
w_check "2f: a write into v2 is applied" w_wait applied 1 10 '\(change\)$'
it_check "2f: kernel: port 87" k_is_ports 87/TCP
w_mark
extra 9091 > "$SW/v2/20-extra.yaml"
w_check "2f: a new file in v2 is applied" w_wait applied 1 10 '\(change\)$'
it_check "2f: kernel: ports 87 and 9091" k_is_ports 87/TCP,9091/TCP
w_mark
pol 99 > "$SW/v1/10-web.yaml"
w_quiet 0.6
it_check "2f: a write into the old target v1 changes nothing" k_is_ports 87/TCP,9091/TCP
mkstate "$SW/v3" 88
w_mark
(cd "$SW" && ln -sfn v3 state.tmp && mv -T state.tmp state)
w_check "2f: a second swap (to v3) is applied" w_wait applied 1 10 '\((change|resync)\)$'
it_check "2f: kernel: port 88 (v3)" k_is_ports 88/TCP
rm -rf "$SW/v1" "$SW/v2"
w_mark
pol 89 > "$SW/v3/10-web.yaml"
w_check "2f: a write into v3 is applied" w_wait applied 1 10 '\(change\)$'
it_check "2f: kernel: port 89" k_is_ports 89/TCP
it_check "2f: converged" k_converged "$SW/state"
w_stop TERM
it_check "B: exit 0 (got $W_RC)" [ "$W_RC" = 0 ]

it_log "-- 2j. a directory renamed onto DIR (the old one moved away first)"
RD=$IT_WORK/rd
mkstate "$RD/state" 76
w_start R "$RD/state"
w_check "R: applied at start" w_started
it_check "R: kernel: port 76" k_is_ports 76/TCP
mkstate "$RD/state.new" 77
w_mark
mv -T "$RD/state" "$RD/state.old" && mv -T "$RD/state.new" "$RD/state" && rm -rf "$RD/state.old"
w_check "2j: the new directory is applied" w_wait applied 1 10 '\((change|resync)\)$'
it_check "2j: kernel: port 77" k_is_ports 77/TCP
w_mark
pol 78 > "$RD/state/10-web.yaml"
w_check "2j: a write into the new directory is applied" w_wait applied 1 10 '\(change\)$'
it_check "2j: kernel: port 78" k_is_ports 78/TCP
it_check "2j: converged" k_converged "$RD/state"
w_stop TERM
it_check "R: exit 0 (got $W_RC)" [ "$W_RC" = 0 ]

# ======================================================================
it_log "-- 2g. a Kubernetes ConfigMap volume"
CM=$IT_WORK/cm
mkdir "$CM"
# cm_publish PORT [EXTRA-PORT]: what kubelet's atomic writer does: a new
# timestamped directory, ..data_tmp -> it, renamed onto ..data, the
# visible names (symlinks through ..data) of new keys made and of gone
# keys removed, the old directory removed.
cm_publish() {
	local ts old f b
	ts=..$(date -u +%Y_%m_%d_%H_%M_%S.%N)
	old=$(readlink "$CM/..data" 2>/dev/null)
	mkdir "$CM/$ts"
	it_topology_yaml > "$CM/$ts/00-topo.yaml"
	pol "$1" > "$CM/$ts/10-web.yaml"
	[ -n "${2:-}" ] && extra "$2" > "$CM/$ts/20-extra.yaml"
	ln -s "$ts" "$CM/..data_tmp"
	mv -T "$CM/..data_tmp" "$CM/..data"
	for f in "$CM/$ts"/*; do
		b=${f##*/}
		[ -L "$CM/$b" ] || ln -s "..data/$b" "$CM/$b"
	done
	for f in "$CM"/*.yaml; do [ -e "$f" ] || rm "$f"; done
	[ -n "$old" ] && rm -rf "${CM:?}/$old"
	return 0
}
cm_publish 90
w_start C "$CM"
w_check "C: applied at start" w_started
it_check "C: kernel: port 90" k_is_ports 90/TCP
for step in "91" "92 9092" "93"; do
	w_mark
	# shellcheck disable=SC2086
	cm_publish $step
	want=${step/ /\/TCP,}/TCP
	w_check "2g: the ConfigMap update to ($step) is applied" w_wait applied 1 10 '\(change\)$'
	it_check "2g: kernel: $want" k_is_ports "$want"
	it_check "2g: converged" k_converged "$CM"
done
w_check "2g: the hidden entries were never read (no invalid)" bash -c "! grep -qE ' (invalid|rejected): ' '$W_LOG'"
w_stop TERM
it_check "C: exit 0 (got $W_RC)" [ "$W_RC" = 0 ]

# ======================================================================
it_log "== 3b/11. watch starts on an invalid DIR; --log-format json"
E=$IT_WORK/e
mkstate "$E" 70000
before=$(k_snap)
w_start E "$E" --log-format json
w_check "E: rejected at start" w_wait rejected 1 20 '\(start\)'
w_quiet 0.5
w_check "E: still running after rejecting its start state" w_alive
it_check "E: the kernel kept its state" [ "$before" = "$(k_snap)" ]
w_check "E: the invalid line is JSON with file, line 7, col $vcol, path" "$IT_PY" - "$W_LOG" "$vcol" <<-'PY'
	import json, sys
	col = int(sys.argv[2])
	inv = [o for o in map(json.loads, open(sys.argv[1])) if o.get("event") == "invalid"]
	print("   invalid:", inv)
	ok = len(inv) == 1
	for o in inv:
	    ok = ok and str(o.get("file", "")).endswith("/10-web.yaml") and o.get("line") == 7 \
	        and o.get("col") == col and str(o.get("path", "")).startswith("policies") \
	        and o.get("level") == "error" and o.get("msg", "").startswith("%s:7:%d: " % (o.get("file"), col))
	sys.exit(0 if ok else 1)
PY
w_mark
pol 95 > "$E/10-web.yaml"
w_check "E: fixed: applied (reason change)" w_wait applied 1 10 '\(change\)'
it_check "E: kernel: port 95" k_is_ports 95/TCP
it_check "E: converged" k_converged "$E"
w_mark
kill -HUP "$W_PID"
w_check "E: SIGHUP: unchanged (signal)" w_wait unchanged 1 5 '\(signal\)'
w_stop TERM
it_check "E: exit 0 (got $W_RC)" [ "$W_RC" = 0 ]
it_log "== 11. every line of the JSON log"
W_MARK=0
w_check "E: every line is a JSON object with time/level/event/msg and its fields" \
	"$IT_PY" "$LOGCHECK" "$W_LOG" json --need start,invalid,rejected,applied,signal,unchanged,exit

# ======================================================================
it_log "== 8. bad entries never stop watch (run without CAP_DAC_OVERRIDE)"
F=$IT_WORK/f
mkstate "$F" 80
# shellcheck disable=SC2054 # setpriv's list is comma-separated
W_PREFIX=(setpriv --bounding-set -dac_override,-dac_read_search --)
w_start F "$F"
w_check "F: applied at start" w_started
capeff=$(awk '/^CapEff:/ {print $2}' "/proc/$W_PID/status")
it_check "F: watch runs without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (CapEff $capeff)" \
	[ $((0x$capeff & 6)) -eq 0 ]
snap=$(k_snap)
printf 'version: 1\n' > "$IT_WORK/unreadable.yaml"
chmod 000 "$IT_WORK/unreadable.yaml"
# bad_case TITLE EXPECT-EVENTS COMMAND: make 50-bad.yaml with COMMAND
bad_case() {
	local title=$1 want=$2; shift 2
	w_mark
	"$@"
	w_check "8 $title: watch reacts ($want)" w_wait "$want" 1 10
	w_check "8 $title: watch still runs" w_alive
	it_check "8 $title: the kernel is unchanged" [ "$snap" = "$(k_snap)" ]
	rm -rf "$F/50-bad.yaml"
	w_quiet 0.5
	w_check "8 $title: watch still runs after its removal" w_alive
}
bad_case "random bytes" rejected bash -c "head -c 4096 /dev/urandom > '$F/50-bad.yaml'"
bad_case "a binary" rejected cp /usr/bin/true "$F/50-bad.yaml"
bad_case "a directory x.yaml" 'unchanged|rejected' mkdir "$F/50-bad.yaml"
bad_case "an unreadable file" rejected mv "$IT_WORK/unreadable.yaml" "$F/50-bad.yaml"
bad_case "a dangling symlink" 'unchanged|rejected' ln -s "$IT_WORK/missing/x.yaml" "$F/50-bad.yaml"
bad_case "a symlink loop" 'unchanged|rejected' ln -s 50-bad.yaml "$F/50-bad.yaml"
w_mark
pol 96 > "$F/10-web.yaml"
w_check "8: a valid write after all that is applied" w_wait applied 1 10 '\(change\)$'
it_check "8: kernel: port 96" k_is_ports 96/TCP
w_stop TERM
it_check "F: exit 0 (got $W_RC)" [ "$W_RC" = 0 ]

# ======================================================================
it_log "== 5. drift, --resync 2"
pol 80 > "$D/10-web.yaml"
w_start D "$D" --resync 2 -v
w_check "D: applied at start" w_started
it_check "D: converged" k_converged "$D"
w_mark
entries=$(bpftool -j map dump pinned "$PIN/sluice_policy")
# (client-1's entry, identity 1001 at offset 8; host's, allowLocalhost's, is there too)
key=$("$IT_PY" -c 'import json,sys
e=[x for x in json.load(sys.stdin) if [int(b,16) for b in x["key"][8:12]] == [0xe9,3,0,0]][0]
print(" ".join(str(int(b,16)) for b in e["key"]))' <<< "$entries")
# shellcheck disable=SC2086
it_check "5: bpftool deletes a policy entry" bpftool map delete pinned "$PIN/sluice_policy" key $key
it_check "5: tc filter del of lxc-web-1's egress program" tc filter del dev lxc-web-1 egress priority 21 handle 0x51c0 bpf
w_check "5: a drift line names the policy entry, repaired within 2 s + 2 s" \
	w_wait drift 1 4 ': \+ policy ingress identity 1001 .*80/TCP allow \(repaired\)$'
w_check "5: a drift line names the program attachment" w_wait drift 1 1 ': \+ attach tc egress lxc-web-1.*\(repaired\)$'
w_check "5: drift lines are warnings" bash -c "! tail -n +$((W_MARK + 1)) '$W_LOG' | grep -E ' drift: ' | grep -vqE '^\S+ warning drift: '"
it_check "5: converged after the repair" k_converged "$D"
it_check "5: the programs are attached again" k_attached web-1
it_matrix "drift repaired by watch: policy enforced again" "client-1 world" "web-1" <<< "$RULES80"

# ======================================================================
it_log "== 7. the apply lock"
it_log "-- 7a. a manual apply of another state while watch runs"
other=$(it_state other <<< "$(pol 91 | tail -n +2)")
w_mark
t0=$SECONDS
it_sluice 0 apply --wait 5 "$other"
it_check "7a: the manual apply ran at once ($((SECONDS - t0)) s) and changed the kernel" \
	bash -c "grep -qE '^Apply complete: [0-9]+ added' '$IT_OUT' && ! grep -q 'Apply complete: 0 added, 0 changed, 0 removed' '$IT_OUT'"
w_check "7a: the next resync restores DIR: drift line removing 91/TCP" \
	w_wait drift 1 4 ': - policy ingress identity 1001 .*91/TCP allow \(repaired\)$'
w_check "7a: drift line adding 80/TCP back" w_wait drift 1 1 ': \+ policy ingress identity 1001 .*80/TCP allow \(repaired\)$'
it_check "7a: converged to DIR" k_converged "$D"
it_check "7a: kernel: port 80" k_is_ports 80/TCP

it_log "-- 7b. a manual apply of DIR's own state: no drift"
w_mark
it_sluice 0 apply --wait 5 "$D"
w_check "7b: two resyncs pass (unchanged, resync, at debug)" w_wait unchanged 2 7 '\(resync\)$'
w_check "7b: no drift line" [ "$(w_count drift)" -eq 0 ]

it_log "-- 7c. the lock held from outside (default --wait 30)"
lock_hold
w_mark
pol 92 > "$D/10-web.yaml"
sleep 1.5
w_check "7c: nothing applied while the lock is held" [ "$(w_count 'applied|failed')" -eq 0 ]
it_check "7c: kernel: still port 80" k_is_ports 80/TCP
lock_release
w_check "7c: applied once the lock is released" w_wait applied 1 5 '\((change|resync)\)$'
it_check "7c: kernel: port 92" k_is_ports 92/TCP
w_check "7c: no failure, no drift" [ "$(w_count 'failed|drift')" -eq 0 ]
w_stop TERM
it_check "D: exit 0 (got $W_RC)" [ "$W_RC" = 0 ]

it_log "-- 7d. the lock held from outside with --wait 1: failed, then a retry"
w_start K "$D" --wait 1
w_check "K: watch starts" w_started
lock_hold
w_mark
pol 93 > "$D/10-web.yaml"
w_check "7d: failed (reason change), retrying in 1 s" w_wait failed 1 6 '; retrying in 1 s \(change\)$'
w_check "7d: the failed line names the lock" bash -c "tail -n +$((W_MARK + 1)) '$W_LOG' | grep -E ' failed: ' | grep -qi lock"
it_check "7d: kernel: still port 92" k_is_ports 92/TCP
lock_release
w_check "7d: the retry applies (reason retry)" w_wait applied 1 6 '\(retry\)$'
it_check "7d: kernel: port 93" k_is_ports 93/TCP
it_check "7d: converged" k_converged "$D"
w_stop TERM
it_check "K: exit 0 (got $W_RC)" [ "$W_RC" = 0 ]

# ======================================================================
it_log "== 6. signals"
pol 80 > "$D/10-web.yaml"
w_start G "$D"
w_check "G: applied at start" w_started
w_mark
kill -HUP "$W_PID"
w_check "6: SIGHUP: a signal line" w_wait signal 1 5 '^SIGHUP: applying now$'
w_check "6: SIGHUP: unchanged (signal)" w_wait unchanged 1 5 '^no changes in [0-9.]+ ms \(signal\)$'
it_log "-- 5b. drift repaired at once by SIGHUP"
entries=$(bpftool -j map dump pinned "$PIN/sluice_ipcache")
key=$("$IT_PY" -c '
import json, sys
for e in json.load(sys.stdin):
    k = [int(b, 16) for b in e["key"]]
    if k[4] == 4 and k[8:12] == [10, 1, 0, 21]:
        print(" ".join(map(str, k))); break' <<< "$entries")
it_check "5b: client-1's ipcache entry found" [ -n "$key" ]
# shellcheck disable=SC2086
it_check "5b: bpftool deletes it" bpftool map delete pinned "$PIN/sluice_ipcache" key $key
"$IT_SLUICE" diff "$D" > /dev/null 2>&1
rc=$?
it_check "5b: sluice diff sees the drift (exit 2, got $rc)" [ "$rc" -eq 2 ]
w_mark
kill -HUP "$W_PID"
w_check "5b: SIGHUP: applied (signal)" w_wait applied 1 5 '\(signal\)$'
w_check "5b: a drift line names the ipcache entry" w_has drift 'ipcache 10.1.0.21/32'
it_check "5b: converged" k_converged "$D"
it_log "-- 6b. SIGTERM while idle"
w_mark
w_stop TERM
it_check "6b: SIGTERM: exit 0 (got $W_RC)" [ "$W_RC" = 0 ]
w_check "6b: a signal line" w_wait signal 1 0 '^SIGTERM: finishing; the datapath stays in place$'
w_check "6b: an exit line" w_wait exit 1 0 '^stopped after [0-9]+ applies?$'
it_check "6b: the maps stay pinned" [ -e "$PIN/sluice_policy" -a -e "$PIN/sluice_ipcache" -a -e "$PIN/sluice_endpoints" ]
it_check "6b: the programs stay attached" bash -c "$(declare -f k_attached); k_attached web-1 && k_attached client-1"
it_check "6b: DIR's state stays in the kernel" k_converged "$D"

it_log "-- 6c. SIGINT while idle"
w_start H "$D"
w_check "H: watch starts" w_started
w_stop INT
it_check "6c: SIGINT: exit 0 (got $W_RC)" [ "$W_RC" = 0 ]
w_check "6c: a signal line" w_wait signal 1 0 'SIGINT'
it_check "6c: the maps stay pinned" [ -e "$PIN/sluice_policy" ]
it_check "6c: the programs stay attached" bash -c "$(declare -f k_attached); k_attached web-1 && k_attached client-1"
it_check "6c: DIR's state stays in the kernel" k_converged "$D"

it_log "-- 6d. SIGTERM during the apply of 100k remote endpoints"
BIG=$IT_WORK/big
mkstate "$BIG" 80
"$IT_PY" - > "$BIG/30-remote.yaml" <<-'PY'
	print("version: 1\nnodes:\n  - {name: node-b, ip: 192.168.50.2}\nendpoints:")
	for i in range(100000):
	    print(f"  - {{name: r-{i}, interface: r{i}, ipv4: 10.{2 + (i >> 16)}.{(i >> 8) & 255}.{i & 255}, identity: 1001, node: node-b}}")
PY
w_start I "$BIG"
caught=0
for i in $(seq 3000); do
	if ! k_lock_free; then caught=1; break; fi
	w_alive || break
	sleep 0.005
done
kill -TERM "$W_PID"
t_kill=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
it_check "6d: SIGTERM sent while watch held the lock (its apply ran)" [ "$caught" = 1 ]
w_stop TERM 60
it_check "6d: exit 0 (got $W_RC)" [ "$W_RC" = 0 ]
w_check "6d: the apply finished: applied (start), 100001 added" w_wait applied 1 0 '^100001 added, .*\(start\)$'
t_applied=$(w_lines applied | head -1 | cut -d' ' -f1)
it_check "6d: the apply ended after the signal (signal $t_kill, applied logged $t_applied)" \
	bash -c "[[ '$t_applied' > '$t_kill' || '$t_applied' == '$t_kill' ]]"
w_check "6d: a signal line" w_wait signal 1 0 'SIGTERM'
it_check "6d: the kernel converged to the large state" k_converged "$BIG"

# ======================================================================
it_log "== 9. 1,000 applies: no growth"
M=$IT_WORK/m
mkstate "$M" 80
pol @PORT@ > "$IT_WORK/m.tmpl"
w_start L "$M" --debounce 0
w_check "L: applied at start" w_started 30
w_mark
# Writes 10-web.yaml 1,000 times (ports 81 and 80 in turn), each after the
# previous write's `applied` line; after apply 100 and apply 1000, once
# the log has been quiet for 0.3 s, the fd count and VmRSS of watch.
"$IT_PY" - "$W_LOG" "$W_PID" "$M/10-web.yaml" "$IT_WORK/m.tmpl" 1000 > "$IT_WORK/growth" <<-'PY'
	import os, re, sys, time
	log, pid, path, tmpl, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], open(sys.argv[4]).read(), int(sys.argv[5])
	rx = re.compile(r"^\S+ info applied: ")
	f = open(log)
	buf, count = "", 0
	def pump():
	    global buf, count
	    data = f.read()
	    if data:
	        buf += data
	        *lines, buf = buf.split("\n")
	        count += sum(1 for l in lines if rx.match(l))
	pump()
	base, t0 = count, time.monotonic()
	for i in range(1, n + 1):
	    with open(path, "w") as w:
	        w.write(tmpl.replace("@PORT@", "81" if i % 2 else "80"))
	    deadline = time.monotonic() + 10
	    while count < base + i:
	        if time.monotonic() > deadline:
	            print("timeout waiting for apply %d" % i)
	            sys.exit(1)
	        time.sleep(0.0005)
	        pump()
	    if i in (100, n):
	        size = os.path.getsize(log)
	        while True:
	            time.sleep(0.3)
	            if os.path.getsize(log) == size:
	                break
	            size = os.path.getsize(log)
	        fds = len(os.listdir("/proc/%d/fd" % pid))
	        rss = int(re.search(r"VmRSS:\s+(\d+)", open("/proc/%d/status" % pid).read()).group(1))
	        print("sample %d %d %d" % (i, fds, rss))
	print("elapsed %.1f applies %d" % (time.monotonic() - t0, count - base))
PY
rc=$?
sed 's/^/   | /' "$IT_WORK/growth"
it_check "9: 1,000 writes, each applied (rc $rc)" [ "$rc" -eq 0 ]
read -r _ _ fd100 rss100 < <(grep '^sample 100 ' "$IT_WORK/growth")
read -r _ _ fd1000 rss1000 < <(grep '^sample 1000 ' "$IT_WORK/growth")
it_log "9: after apply 100: ${fd100:-?} fds, VmRSS ${rss100:-?} kB; after apply 1000: ${fd1000:-?} fds, VmRSS ${rss1000:-?} kB"
it_check "9: the same fd count after apply 100 and 1000 (${fd100:-?}, ${fd1000:-?})" \
	[ -n "$fd100" -a "$fd100" = "$fd1000" ]
# The bound: each of these states is about 1 kB of YAML compiling to ~25
# objects, so a leak of even one state's worth per apply (>= 2 kB) over
# the 900 applies between the samples comes to > 1.8 MB; 2 MB (2048 kB)
# leaves room for allocator noise (glibc arenas settle in the first 100
# applies, which is why the first sample is taken there, not at start).
it_check "9: VmRSS grew by less than 2 MB between apply 100 and 1000 (${rss100:-?} -> ${rss1000:-?} kB)" \
	[ $((${rss1000:-999999} - ${rss100:-0})) -lt 2048 ]
it_check "9: kernel: the last write (port 80)" k_is_ports 80/TCP
it_check "9: converged" k_converged "$M"
w_stop TERM
it_check "L: exit 0 (got $W_RC)" [ "$W_RC" = 0 ]

# ======================================================================
it_log "== 10. systemd notification and the health file"
NOTE=$IT_WORK/notify.txt
notify_listen NPID "$IT_WORK/notify.sock" "$NOTE"
HD=$IT_WORK/health
mkdir "$HD"
HF=$HD/sluice.json
pol 80 > "$D/10-web.yaml"
W_PREFIX=(env NOTIFY_SOCKET="$IT_WORK/notify.sock" WATCHDOG_USEC=1000000)
w_start S "$D" --health-file "$HF"
w_check "S: applied at start" w_started 30
it_check "10: READY=1 arrives" n_wait "$NOTE" READY=1 1 5
# health JSON checks: health_ok KEY=VALUE... (python expressions on h)
health() {
	"$IT_PY" - "$HF" "$W_PID" "$@" <<-'PY'
		import json, re, sys, time
		h = json.load(open(sys.argv[1]))
		pid = int(sys.argv[2])
		ok = isinstance(h, dict) and h.get("pid") == pid and isinstance(h.get("applies"), int) \
		    and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", str(h.get("updated"))) is not None \
		    and isinstance(h.get("updatedUnix"), int) and abs(h["updatedUnix"] - time.time()) < 30 \
		    and h.get("lastResult") in ("applied", "unchanged", "invalid", "failed") \
		    and isinstance(h.get("lastMessage"), str) and isinstance(h.get("ready"), bool)
		for e in sys.argv[3:]:
		    ok = ok and bool(eval(e, {"h": h}))
		if not ok:
		    print("   health file:", h, "want", sys.argv[3:])
		sys.exit(0 if ok else 1)
	PY
}
health_wait() { # EXPR...: until the health file says so (3 s)
	local i
	for i in $(seq 150); do health "$@" > /dev/null 2>&1 && return 0; sleep 0.02; done
	health "$@"
}
# READY=1 comes after the first apply: with it, or before it, a STATUS
# that names the start apply.
it_check "10: READY=1 with or after a STATUS of the start apply" "$IT_PY" - "$NOTE" <<-'PY'
	import json, sys
	d = [json.loads(l.split(" ", 1)[1]).split("\n") for l in open(sys.argv[1])]
	print("   first datagrams:", d[:4])
	r = [i for i, x in enumerate(d) if "READY=1" in x]
	ok = len(r) == 1 and any(l.startswith("STATUS=") and "(start)" in l for x in d[:r[0] + 1] for l in x)
	sys.exit(0 if ok else 1)
PY
it_check "10: health file: valid, ready true, lastResult applied or unchanged, applies >= 1" \
	health 'h["ready"] is True' 'h["lastResult"] in ("applied", "unchanged")' 'h["applies"] >= 1'
it_check "10: the readiness probe passes" grep -q '"ready": true' "$HF"
it_check "10: the liveness probe passes" test $(( $(date +%s) - $(stat -c %Y "$HF") )) -lt 90
ino=$(stat -c %i "$HF")
applies=$("$IT_PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["applies"])' "$HF")
w_mark
pol 94 > "$D/10-web.yaml"
w_check "10: a change is applied" w_wait applied 1 10 '\(change\)$'
it_check "10: a STATUS datagram follows it" n_wait "$NOTE" '(change)' 1 3
it_check "10: health: applies $applies -> $((applies + 1)), lastResult applied" \
	health_wait "h['applies'] == $applies + 1" 'h["lastResult"] == "applied"' '"(change)" in h["lastMessage"]'
it_check "10: the health file was replaced (rename), not rewritten in place" [ "$(stat -c %i "$HF")" != "$ino" ]
w_mark
pol 70000 > "$D/10-web.yaml"
w_check "10: an invalid write is rejected" w_wait rejected 1 10
it_check "10: health: lastResult invalid, still ready" health_wait 'h["lastResult"] == "invalid"' 'h["ready"] is True'
it_check "10: a STATUS datagram with the rejected message" n_wait "$NOTE" 'invalid (1 error)' 1 3
w_mark
pol 80 > "$D/10-web.yaml"
w_check "10: fixed: applied" w_wait applied 1 10 '\(change\)$'
# Idle, the pings come every WATCHDOG_USEC/2; watch may add some when it
# is busy (harmless), but no gap may come near WATCHDOG_USEC, when
# systemd would kill it.
n0=$(n_count "$NOTE" WATCHDOG=1)
it_check "10: 6 more watchdog pings while idle" n_wait "$NOTE" WATCHDOG=1 $((n0 + 6)) 6
it_check "10: idle WATCHDOG=1 every 0.5 s (WATCHDOG_USEC 1 s): median 0.4-0.6 s, none over 0.75 s" \
	"$IT_PY" - "$NOTE" "$n0" <<-'PY'
	import json, statistics, sys
	t = [float(l.split(" ", 1)[0]) for l in open(sys.argv[1]) if "WATCHDOG=1" in json.loads(l.split(" ", 1)[1]).split("\n")]
	iv = [b - a for a, b in zip(t, t[1:])][int(sys.argv[2]):]
	print("   idle ping intervals %s" % " ".join("%.2f" % x for x in iv))
	sys.exit(0 if iv and 0.4 <= statistics.median(iv) <= 0.6 and max(iv) < 0.75 else 1)
PY
w_stop TERM
it_check "10: exit 0 (got $W_RC)" [ "$W_RC" = 0 ]
it_check "10: STOPPING=1 arrives" n_wait "$NOTE" STOPPING=1 1 3
it_check "10: from READY=1 to STOPPING=1, no gap of 1 s (WATCHDOG_USEC) between datagrams" \
	"$IT_PY" - "$NOTE" <<-'PY'
	import json, sys
	d = [(float(l.split(" ", 1)[0]), json.loads(l.split(" ", 1)[1]).split("\n")) for l in open(sys.argv[1])]
	t = [x[0] for x in d]
	r = [i for i, x in enumerate(d) if "READY=1" in x[1]][0]
	iv = [b - a for a, b in zip(t[r:], t[r + 1:])]
	print("   %d datagrams in %.1f s, longest gap %.2f s" % (len(d), t[-1] - t[0], max(iv)))
	sys.exit(0 if max(iv) < 1.0 else 1)
PY
it_check "10: the health file is removed at exit" [ ! -e "$HF" ]
left=$(find "$HD" -mindepth 1 -printf '%f ')
it_check "10: nothing left in the health file's directory (${left:-empty})" [ -z "$left" ]
it_unspawn "$NPID"

it_log "-- 10b. an abstract NOTIFY_SOCKET; WATCHDOG_PID of another process"
NOTE2=$IT_WORK/notify2.txt
notify_listen NPID "@sluice-it-notify-$$" "$NOTE2"
W_PREFIX=(env NOTIFY_SOCKET="@sluice-it-notify-$$" WATCHDOG_USEC=200000 WATCHDOG_PID=1)
w_start N "$D"
w_check "N: applied at start" w_started
it_check "10b: READY=1 arrives on the abstract socket" n_wait "$NOTE2" READY=1 1 5
sleep 0.6
it_check "10b: no WATCHDOG=1 when WATCHDOG_PID is another process's" [ "$(n_count "$NOTE2" WATCHDOG=1)" -eq 0 ]
w_stop TERM
it_check "10b: exit 0 (got $W_RC)" [ "$W_RC" = 0 ]
it_check "10b: STOPPING=1 arrives" n_wait "$NOTE2" STOPPING=1 1 3
it_unspawn "$NPID"

it_finish
