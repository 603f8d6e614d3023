# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# Helpers for test-watch.sh (source after lib.sh, after it_init): one
# `sluice watch` at a time in the background, its standard error in a log
# file, waits for its events, its stop; and short looks at the kernel.
#
#   w_start NAME ARGS...   start `sluice watch ARGS...`; W_PID, W_LOG; the
#                          pid goes to IT_HELPERS (the EXIT trap kills it).
#                          W_PREFIX (an array, emptied by w_start) is put
#                          before the binary (env VAR=..., setpriv ...).
#   w_mark                 later w_count/w_wait/w_lines look only at the log
#                          lines written after this point
#   w_lines EVENT [RE]     the lines since the mark of EVENT (an ERE, e.g.
#                          'applied|unchanged') whose message matches the
#                          ERE RE (anchored at the message's start if RE
#                          starts with ^; in JSON, RE must not span a quote)
#   w_count EVENT [RE]     how many
#   w_wait EVENT [N] [SECONDS] [RE]   wait for N (1) such lines (10 s);
#                          returns 1 on timeout or when watch died
#   w_quiet SECONDS        wait until the log has not grown for SECONDS
#   w_alive                watch is running (not exited, not a zombie)
#   w_stop [SIGNAL] [SECONDS]  signal it (TERM), wait for its exit (15 s,
#                          then KILL), its exit code in W_RC
#   w_check TEXT CMD...    it_check that, on failure, shows the log since
#                          the mark
#
# The log format is the one of notes/watch-spec.md: text
# `TIME LEVEL EVENT: MESSAGE`, or one JSON object a line with
# `"event":"EVENT"` and `"msg":"MESSAGE"` (`--log-format json`, detected
# from the arguments).

W_PID='' W_LOG='' W_MARK=0 W_RC='' W_FMT=text W_NAME=''
W_PREFIX=()
W_TIME_RE='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z'

w_start() {
	W_NAME=$1; shift
	W_LOG=$IT_WORK/watch-$W_NAME.log W_MARK=0 W_RC='' W_FMT=text
	case " $* " in *" --log-format json "* | *" --log-format=json "*) W_FMT=json ;; esac
	: > "$W_LOG"
	it_spawn W_PID "${W_PREFIX[@]}" "$IT_SLUICE" watch "$@" 2> "$W_LOG" > "$IT_WORK/watch-$W_NAME.out" < /dev/null
	it_log "watch $W_NAME: pid $W_PID: ${W_PREFIX[*]}${W_PREFIX[*]:+ }sluice watch $*"
	W_PREFIX=()
}

# w_us SECONDS: "2" or "0.25" in microseconds
w_us() {
	local int=${1%%.*} frac=''
	[ "$1" != "$int" ] && frac=${1#*.}
	frac=$(printf '%-6.6s' "$frac")
	echo $((${int:-0} * 1000000 + 10#${frac// /0}))
}

w_mark() { W_MARK=$(wc -l < "$W_LOG"); }

# The ERE of a log line of EVENT whose message matches RE.
# RE is searched in the message; a leading ^ anchors it at its start.
w_re() {
	local ev=$1 re=${2:-} any='.*'
	case $re in ^*) re=${re#^} any='' ;; esac
	if [ "$W_FMT" = json ]; then
		echo "\"event\": ?\"($ev)\".*\"msg\": ?\"$any${re}"
	else
		echo "^$W_TIME_RE (debug|info|warning|error) ($ev): $any${re}"
	fi
}

w_lines() { tail -n +"$((W_MARK + 1))" "$W_LOG" | grep -E -- "$(w_re "$1" "${2:-}")"; }
w_count() { w_lines "$@" | wc -l; }

w_alive() {
	[ -n "$W_PID" ] && [ -r "/proc/$W_PID/stat" ] &&
		[ "$(sed 's/.*) //' "/proc/$W_PID/stat" 2>/dev/null | cut -d' ' -f1)" != Z ]
}

w_wait() {
	local ev=$1 n=${2:-1} secs=${3:-10} re=${4:-} end
	end=$((${EPOCHREALTIME/./} + $(w_us "$secs")))
	while :; do
		[ "$(w_count "$ev" "$re")" -ge "$n" ] && return 0
		if ! w_alive; then
			[ "$(w_count "$ev" "$re")" -ge "$n" ] && return 0
			echo "   watch $W_NAME is not running (waiting for $n '$ev' ${re:+/$re/ })"
			return 1
		fi
		[ "${EPOCHREALTIME/./}" -ge "$end" ] && break
		sleep 0.02
	done
	echo "   timeout after ${secs}s waiting for $n '$ev' ${re:+/$re/ }event(s) of watch $W_NAME"
	return 1
}

w_quiet() {
	local secs=$1 size last t0
	last=$(stat -c %s "$W_LOG") t0=${EPOCHREALTIME/./}
	for _ in $(seq 1500); do # 30 s at most
		sleep 0.02
		size=$(stat -c %s "$W_LOG")
		if [ "$size" != "$last" ]; then
			last=$size t0=${EPOCHREALTIME/./}
		elif [ $((${EPOCHREALTIME/./} - t0)) -ge "$(w_us "$secs")" ]; then
			return 0
		fi
	done
	return 1
}

w_stop() {
	local sig=${1:-TERM} secs=${2:-15} p keep=()
	kill -"$sig" "$W_PID" 2>/dev/null
	for _ in $(seq $((secs * 50))); do
		w_alive || break
		sleep 0.02
	done
	if w_alive; then
		it_bad "watch $W_NAME (pid $W_PID) did not exit within ${secs}s of SIG$sig; killed"
		kill -KILL "$W_PID"
	fi
	wait "$W_PID"
	W_RC=$?
	for p in "${IT_HELPERS[@]}"; do [ "$p" = "$W_PID" ] || keep+=("$p"); done
	IT_HELPERS=("${keep[@]}")
	it_log "watch $W_NAME stopped with SIG$sig: exit code $W_RC"
}

w_show_log() {
	echo "   watch $W_NAME log since the mark (line $((W_MARK + 1))), last 25 lines:"
	tail -n +"$((W_MARK + 1))" "$W_LOG" | tail -25 | sed 's/^/   | /'
}

w_check() {
	local what=$1; shift
	if "$@"; then it_ok; else it_bad "$what"; w_show_log; fi
}

# ---- the kernel ----

# k_summary: "EP,EP... PORT/PROTO,..." of the live state (`sluice show -o
# json`): the interfaces of the endpoints and the ports that policies name.
k_summary() {
	"$IT_SLUICE" show -o json 2>/dev/null | "$IT_PY" -c '
import json, sys
d = json.load(sys.stdin)
eps = sorted(e.get("interface", "?") for e in d.get("endpoints", []))
ports = set()
def walk(o):
    if isinstance(o, dict):
        if "port" in o and "protocol" in o:
            ports.add("%s/%s" % (o["port"], o["protocol"]))
        for v in o.values():
            walk(v)
    elif isinstance(o, list):
        for v in o:
            walk(v)
walk(d.get("policies", []))
print(",".join(eps) or "-", ",".join(sorted(ports, key=lambda p: (int(p.split("/")[0]), p))) or "-")'
}

# k_ports: only the ports part of k_summary.
k_ports() { local s; s=$(k_summary); echo "${s#* }"; }

# k_is_ports WANT: the live ports are WANT (shows both when not).
k_is_ports() {
	local got
	got=$(k_ports)
	[ "$got" = "$1" ] && return 0
	echo "   live policy ports: $got, want $1"
	return 1
}

# k_converged PATH: `sluice diff PATH` exits 0 (no change pending).
k_converged() {
	"$IT_SLUICE" diff "$1" > "$IT_WORK/k_diff.out" 2>&1 && return 0
	echo "   sluice diff $1 is not empty:"
	head -20 "$IT_WORK/k_diff.out" | sed 's/^/   | /'
	return 1
}

# k_snap: a digest of everything sluice shows and its tc filters.
k_snap() {
	{
		"$IT_SLUICE" show -o json
		local ep
		for ep in "${IT_ENDPOINTS[@]}"; do
			tc filter show dev "lxc-$ep" ingress
			tc filter show dev "lxc-$ep" egress
		done
	} 2>&1 | md5sum | cut -d' ' -f1
}

# k_attached EP: sluice's programs are on both tc hooks of lxc-EP.
k_attached() {
	tc filter show dev "lxc-$1" ingress | grep -q 'sluice_' &&
		tc filter show dev "lxc-$1" egress | grep -q 'sluice_'
}

# k_lock_free: nobody holds the apply lock (flock on the pin directory).
k_lock_free() { flock -n "$SLUICE_PIN_DIR" true; }
