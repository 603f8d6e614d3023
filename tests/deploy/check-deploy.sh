#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The deployment artifacts against the real binary: the systemd unit
# (dist/systemd/), the Kubernetes manifest (deploy/kubernetes/) and the
# Containerfile (deploy/container/). Runs unprivileged and makes no kernel
# object: every sluice started here gets a pin directory under a temporary
# directory, which is not a bpffs, so nothing can be made.
# Usage: check-deploy.sh SLUICE SOURCE_ROOT
set -uo pipefail
sluice=$(realpath "$1") root=$2
py=/usr/bin/python3
unit=$root/dist/systemd/sluice-watch.service
manifest=$root/deploy/kubernetes/sluice.yaml
containerfile=$root/deploy/container/Containerfile
pass=0 fail=0 skip=0
tmp=$(mktemp -d)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
ok() { echo "ok: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
skipped() { echo "skip: $*"; skip=$((skip + 1)); }
# Count the "ok:", "FAIL:" and "skip:" lines of a python part.
tally() {
	local line
	while IFS= read -r line; do
		echo "$line"
		case $line in
		ok:*) pass=$((pass + 1)) ;;
		FAIL:*) fail=$((fail + 1)) ;;
		skip:*) skip=$((skip + 1)) ;;
		esac
	done
}
# Nothing started here may use the node's pin directory.
export SLUICE_PIN_DIR=$tmp/pin
unset NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID

# ---- parse the manifest and the unit; write what the later checks need ----
tally < <("$py" - "$manifest" "$unit" "$root" "$tmp" <<'PY'
import json, os, re, shlex, sys
import yaml

manifest, unit, root, tmp = sys.argv[1:5]

def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    return cond

def seconds(v):
    """systemd time span or a plain number: seconds, or None."""
    m = re.fullmatch(r"\s*(\d+)\s*(s|sec|min|m)?\s*", v or "")
    if not m:
        return None
    return int(m.group(1)) * (60 if m.group(2) in ("min", "m") else 1)

# -- the manifest --
docs = [d for d in yaml.safe_load_all(open(manifest)) if d]
kinds = {(d["kind"], d["metadata"]["name"]): d for d in docs}
ds = next((d for d in docs if d["kind"] == "DaemonSet"), None)
if not check(ds is not None, "manifest: has a DaemonSet"):
    sys.exit(0)
pod = ds["spec"]["template"]["spec"]
ns = ds["metadata"].get("namespace", "default")
check(pod.get("hostNetwork") is True, "manifest: hostNetwork: true")
cs = pod.get("containers", [])
check(len(cs) == 1, "manifest: one container")
c = cs[0]
check((c.get("securityContext") or {}).get("privileged") is True, "manifest: the container is privileged")
# Cilium's and kube-proxy's conventions for a node agent (issue 24)
check(pod.get("priorityClassName") == "system-node-critical", "manifest: priorityClassName: system-node-critical")
check((pod.get("nodeSelector") or {}).get("kubernetes.io/os") == "linux", "manifest: nodeSelector kubernetes.io/os: linux")
req = ((c.get("resources") or {}).get("requests") or {})
check("cpu" in req and "memory" in req, "manifest: resource requests for cpu and memory (%s)" % req)
env = {e["name"]: e for e in c.get("env", [])}
check(((env.get("NODE_NAME") or {}).get("valueFrom") or {}).get("fieldRef", {}).get("fieldPath") == "spec.nodeName",
      "manifest: NODE_NAME from spec.nodeName")

cmd = list(c.get("command", [])) + list(c.get("args", []))
check(cmd[:2] in (["sluice", "watch"], ["/usr/local/sbin/sluice", "watch"]),
      "manifest: the command is sluice watch: %s" % " ".join(cmd))
def opt(argv, name):
    for i, a in enumerate(argv):
        if a == name and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return None
# DIR: the one argument that is neither an option nor an option's value.
takes_value = {"--resync", "--debounce", "--log-format", "--health-file", "--pin-dir", "--node", "--wait", "-o", "--output",
               "--metrics-address"}
positional, i = [], 2
while i < len(cmd):
    if cmd[i] in takes_value:
        i += 2
        continue
    if not cmd[i].startswith("-"):
        positional.append(cmd[i])
    i += 1
watched = positional[0] if len(positional) == 1 else None
check(watched is not None, "manifest: the command watches one DIR (%s)" % watched)
health = opt(cmd, "--health-file")
check(health is not None, "manifest: the command has --health-file (%s)" % health)
pin = opt(cmd, "--pin-dir") or "/sys/fs/bpf/sluice"
check(opt(cmd, "--node") == "$(NODE_NAME)", "manifest: --node $(NODE_NAME) (%s)" % opt(cmd, "--node"))
check(opt(cmd, "--log-format") == "json", "manifest: --log-format json")
# metrics: the flag, a containerPort and the scrape annotations agree
maddr = opt(cmd, "--metrics-address") or ""
mport = maddr.rpartition(":")[2]
check(mport == "9962", "manifest: --metrics-address on port 9962 (%s)" % maddr)
ports = [p for p in c.get("ports", []) if p.get("containerPort") == int(mport or 0)]
check(len(ports) == 1 and ports[0].get("protocol", "TCP") == "TCP",
      "manifest: a containerPort %s/TCP for the metrics" % mport)
ann = ds["spec"]["template"]["metadata"].get("annotations") or {}
check(ann.get("prometheus.io/scrape") == "true", "manifest: annotation prometheus.io/scrape: \"true\"")
check(ann.get("prometheus.io/port") == mport, "manifest: annotation prometheus.io/port: %s" % ann.get("prometheus.io/port"))
check(ann.get("prometheus.io/path") == "/metrics", "manifest: annotation prometheus.io/path: /metrics")

vols = {v["name"]: v for v in pod.get("volumes", [])}
mounts = {m["mountPath"].rstrip("/"): m for m in c.get("volumeMounts", [])}
def vol_at(path):
    m = mounts.get(path)
    return (m, vols.get(m["name"]) if m else None)

m, v = vol_at(watched or "")
cm_name = ((v or {}).get("configMap") or {}).get("name")
check(cm_name is not None, "manifest: a ConfigMap is mounted at the watched DIR %s" % watched)
check(m is not None and "subPath" not in m and "subPathExpr" not in m,
      "manifest: the ConfigMap mount has no subPath (a subPath is never updated)")
cm = kinds.get(("ConfigMap", cm_name))
check(cm is not None and cm["metadata"].get("namespace", "default") == ns,
      "manifest: ConfigMap %s is in the manifest, in the DaemonSet's namespace" % cm_name)

m, v = vol_at("/sys/fs/bpf")
check(v is not None and (v.get("hostPath") or {}).get("path") == "/sys/fs/bpf",
      "manifest: the host's /sys/fs/bpf is mounted at /sys/fs/bpf")
check(m is not None and m.get("mountPropagation") == "Bidirectional" and not m.get("readOnly"),
      "manifest: the bpffs mount is Bidirectional and writable")
check(pin.startswith("/sys/fs/bpf/"), "manifest: the pin directory %s is on the bpffs mount" % pin)
m, v = vol_at("/sys/fs/cgroup")
check(v is not None and (v.get("hostPath") or {}).get("path") == "/sys/fs/cgroup",
      "manifest: the host's cgroup v2 mount /sys/fs/cgroup is mounted at the same path")
m, v = vol_at("/boot")
check(v is not None and (v.get("hostPath") or {}).get("path") == "/boot" and m.get("readOnly") is True,
      "manifest: the host's /boot is mounted read-only (CONFIG_HZ)")
m, v = vol_at(os.path.dirname(health or ""))
check(v is not None and "emptyDir" in v, "manifest: the health file's directory is an emptyDir")

want_live = ["sh", "-c", "test $(( $(date +%%s) - $(stat -c %%Y %s) )) -lt 90" % health]
want_ready = ["grep", "-q", '"ready": true', health]
live = ((c.get("livenessProbe") or {}).get("exec") or {}).get("command")
ready = ((c.get("readinessProbe") or {}).get("exec") or {}).get("command")
check(live == want_live, "manifest: the liveness probe is the health file's age (%s)" % live)
check(ready == want_ready, "manifest: the readiness probe greps the health file (%s)" % ready)

tol = pod.get("tolerations") or []
check(any(t.get("operator") == "Exists" and not t.get("key") and not t.get("effect") for t in tol),
      "manifest: tolerates every taint (runs on every node)")
us = ds["spec"].get("updateStrategy") or {}
check(us.get("type") == "RollingUpdate", "manifest: updateStrategy RollingUpdate")
grace = pod.get("terminationGracePeriodSeconds", 30)
check(grace >= 60, "manifest: terminationGracePeriodSeconds %s covers a 30 s lock wait and an apply" % grace)
version = re.search(r"version:\s*'([^']+)'", open(os.path.join(root, "meson.build")).read()).group(1)
check(c.get("image", "").rsplit("/", 1)[-1] == "sluice:" + version,
      "manifest: image %s carries the project version %s" % (c.get("image"), version))

# The ConfigMap as kubelet lays it out: a timestamped directory, ..data,
# and one symlink per key.
cmdir = os.path.join(tmp, "configmap")
ts = os.path.join(cmdir, "..2026_01_01_00_00_00.000000001")
os.makedirs(ts)
for k, val in ((cm or {}).get("data") or {}).items():
    check(k.endswith((".yaml", ".yml")), "manifest: ConfigMap key %s is read as state (*.yaml, *.yml)" % k)
    open(os.path.join(ts, k), "w").write(val)
    os.symlink(os.path.join("..data", k), os.path.join(cmdir, k))
os.symlink(os.path.basename(ts), os.path.join(cmdir, "..data"))

# -- the unit --
sections, cur = {}, None
for line in open(unit):
    line = line.strip()
    if not line or line[0] in "#;":
        continue
    if line.startswith("["):
        cur = sections.setdefault(line.strip("[]"), {})
        continue
    k, _, val = line.partition("=")
    cur.setdefault(k.strip(), []).append(val.strip())
svc, un = sections.get("Service", {}), sections.get("Unit", {})
last = lambda d, k: (d.get(k) or [None])[-1]
check(last(svc, "Type") == "notify", "unit: Type=notify")
check(last(svc, "NotifyAccess") == "main", "unit: NotifyAccess=main")
check(last(svc, "Restart") == "on-failure", "unit: Restart=on-failure")
wd = seconds(last(svc, "WatchdogSec"))
check(wd is not None and wd >= 10, "unit: WatchdogSec=%s" % last(svc, "WatchdogSec"))
check(last(svc, "KillMode") in ("mixed", "process"), "unit: KillMode=%s (SIGTERM to sluice alone)" % last(svc, "KillMode"))
stop = seconds(last(svc, "TimeoutStopSec"))
check(stop is not None and stop >= 60, "unit: TimeoutStopSec=%s covers a 30 s lock wait and an apply" % last(svc, "TimeoutStopSec"))
reload = shlex.split(last(svc, "ExecReload") or "")
check(reload[-2:] == ["-HUP", "$MAINPID"] and reload[0].endswith("kill"), "unit: ExecReload sends SIGHUP to the main process")
check("network-online.target" in " ".join(un.get("After", [])) and "network-online.target" in " ".join(un.get("Wants", [])),
      "unit: After= and Wants= network-online.target")
caps = set(" ".join(svc.get("CapabilityBoundingSet", [])).split())
need = {"CAP_BPF", "CAP_NET_ADMIN", "CAP_SYS_ADMIN", "CAP_PERFMON", "CAP_SYS_RESOURCE"}
check(need <= caps and not any(cap.startswith("~") for cap in caps),
      "unit: CapabilityBoundingSet keeps %s" % " ".join(sorted(need)))
yes = lambda k: (last(svc, k) or "no").lower() in ("yes", "true", "on", "1", "strict", "full")
for k, why in (("PrivateNetwork", "hides the host's interfaces"),
               ("ProtectProc", "hides /proc/PID/ns/net, which an endpoint's netns may name"),
               ("PrivateUsers", "takes the capabilities out of the host's user namespace")):
    check(not yes(k), "unit: no %s (it %s)" % (k, why))
# ProtectKernelTunables makes /sys read-only, bpffs included: the pins
# need it writable again
rw = " ".join(svc.get("ReadWritePaths", [])).split()
check(not yes("ProtectKernelTunables") or "/sys/fs/bpf" in rw,
      "unit: with ProtectKernelTunables, ReadWritePaths= has /sys/fs/bpf (%s)" % rw)
ps = last(svc, "ProtectSystem")
check(ps in (None, "no", "yes", "full", "strict"), "unit: ProtectSystem=%s leaves /sys writable" % ps)
start = shlex.split(last(svc, "ExecStart") or "")
check(start[:3] == ["/usr/local/sbin/sluice", "watch", "/etc/sluice/state.d"], "unit: ExecStart is %s" % " ".join(start))
check(opt(start, "--log-format") == "json", "unit: --log-format json (journald takes stderr)")
# metrics: the drop-in the unit's comments give to turn them on
drop = [l.strip().lstrip("#").strip() for l in open(unit) if re.match(r"#\s+(ExecStart|RestrictAddressFamilies)=", l)]
mstart = shlex.split(next((l.partition("=")[2] for l in drop if l.startswith("ExecStart=/")), ""))
check(mstart == start + ["--metrics-address", "127.0.0.1:9962"],
      "unit: its comments turn metrics on with ExecStart= plus --metrics-address 127.0.0.1:9962 (%s)" % " ".join(mstart))
fams = set(" ".join(l.partition("=")[2] for l in drop if l.startswith("RestrictAddressFamilies=")).split())
check({"AF_INET", "AF_INET6"} <= fams, "unit: ...and let it open TCP sockets (RestrictAddressFamilies=%s)" % " ".join(sorted(fams)))

json.dump({"ds_argv": cmd, "ds_dir": watched, "ds_health": health, "ds_pin": pin,
           "unit_argv": start, "unit_metrics_argv": mstart, "unit_metrics_dir": "/etc/sluice/state.d",
           "unit_dir": "/etc/sluice/state.d", "live": live, "ready": ready, "version": version},
          open(os.path.join(tmp, "parsed.json"), "w"))
PY
)
if [ ! -f "$tmp/parsed.json" ]; then
	bad "the manifest or the unit could not be parsed"
	echo "$pass passed, $fail failed"
	exit 1
fi
# One value of parsed.json; lists come out one item a line.
get() { "$py" -c 'import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print("\n".join(v) if isinstance(v,list) else v)' "$tmp/parsed.json" "$1"; }
version=$(get version)

# ---- the ConfigMap's state validates with the real binary ----
out=$("$sluice" validate --no-color "$tmp/configmap" 2>&1)
rc=$?
if [ "$rc" -eq 0 ] && ! grep -q ': warning: ' <<<"$out"; then
	ok "the ConfigMap's state is valid, with no warning (laid out as kubelet does: ..data and symlinks)"
else
	bad "sluice validate of the ConfigMap's state: exit $rc"
	sed 's/^/    /' <<<"$out"
fi
out=$("$sluice" version 2>&1 | head -1)
[ "$out" = "sluice $version" ] && ok "sluice version says $version, as meson.build and the image tag" ||
	bad "sluice version says '$out', meson.build $version"

# ---- each command line with its DIR (and health file, pin dir) moved under
# $tmp: exit 1 naming the missing DIR, not an option error ----
# argv_of NAME OLD_DIR NEW_DIR [NEW_HEALTH]: the command line, with the binary,
# DIR, --health-file, --pin-dir and --metrics-address (127.0.0.1:0) replaced.
argv_of() {
	mapfile -t argv < <(get "$1")
	local i
	argv[0]=$sluice
	for i in "${!argv[@]}"; do
		[ "${argv[$i]}" = "$2" ] && argv[$i]=$3
		# what kubelet makes of $(NODE_NAME) (the test's states name no nodes)
		argv[$i]=${argv[$i]//'$(NODE_NAME)'/node-a}
		case ${argv[$i]} in
		--health-file=*) argv[$i]=--health-file=${4:-$tmp/run/health} ;;
		--pin-dir=*) argv[$i]=--pin-dir=$tmp/pin ;;
		--metrics-address=*) argv[$i]=--metrics-address=127.0.0.1:0 ;;
		esac
		if [ "$i" -gt 0 ]; then
			case ${argv[$((i - 1))]} in
			--health-file) argv[$i]=${4:-$tmp/run/health} ;;
			--pin-dir) argv[$i]=$tmp/pin ;;
			--metrics-address) argv[$i]=127.0.0.1:0 ;; # a free port, not the node's 9962
			esac
		fi
	done
}
mkdir -p "$tmp/run"
for which in ds unit unit_metrics; do
	argv_of "${which}_argv" "$(get ${which}_dir)" "$tmp/missing/state.d"
	timeout 20 "${argv[@]}" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -eq 1 ] && grep -q "$tmp/missing/state.d: No such file or directory" "$tmp/err" &&
		! grep -qi 'option' "$tmp/err"; then
		ok "$which: the option parser takes the command line (exit 1 for the missing DIR only)"
	else
		bad "$which: ${argv[*]}: exit $rc, want 1 and a message about the missing DIR:"
		sed 's/^/    /' "$tmp/err"
	fi
done

# ---- the probes, run as the manifest gives them ----
probe() { # liveness|readiness HEALTH: the probe's exit status
	local -a cmd
	mapfile -t cmd < <(get "$([ "$1" = liveness ] && echo live || echo ready)")
	local i h
	h=$(get ds_health)
	for i in "${!cmd[@]}"; do cmd[$i]=${cmd[$i]//"$h"/$2}; done
	"${cmd[@]}" >/dev/null 2>&1
}
h=$tmp/probe/health
mkdir -p "$tmp/probe"
echo '{"pid": 1, "ready": true, "lastResult": "applied"}' >"$h"
probe liveness "$h" && ok "liveness passes on a fresh health file" || bad "liveness fails on a fresh health file"
probe readiness "$h" && ok "readiness passes on \"ready\": true" || bad "readiness fails on \"ready\": true"
touch -d '-120 seconds' "$h"
probe liveness "$h" && bad "liveness passes on a health file 120 s old" || ok "liveness fails on a health file 120 s old"
echo '{"pid": 1, "ready": false, "lastResult": "invalid"}' >"$h"
probe readiness "$h" && bad "readiness passes on \"ready\": false" || ok "readiness fails on \"ready\": false"
rm -f "$h"
probe liveness "$h" && bad "liveness passes with no health file" || ok "liveness fails with no health file"
probe readiness "$h" && bad "readiness passes with no health file" || ok "readiness fails with no health file"

# ---- the DaemonSet's command for real, with DIR, the health file and the
# pin directory under $tmp: the probes agree with the file watch writes ----
# An empty DIR plans nothing (ready); the ConfigMap's state needs maps, which
# a pin directory off bpffs refuses (failed, not ready). Either way nothing
# is made.
mkdir -p "$tmp/empty"
cases="empty configmap"
if [ "$(get ds_dir)" = None ] || [ "$(get ds_health)" = None ]; then
	cases=""
	skipped "the DaemonSet's command is not run: its DIR or health file is not known (see above)"
fi
for case in $cases; do
	argv_of ds_argv "$(get ds_dir)" "$tmp/$case" "$tmp/run/health"
	rm -f "$tmp/run/health"
	"${argv[@]}" >/dev/null 2>"$tmp/watch.log" &
	pid=$!
	pids+=("$pid")
	for _ in $(seq 100); do
		[ -f "$tmp/run/health" ] && ! grep -q '"lastResult": "starting"' "$tmp/run/health" && break
		sleep 0.1
	done
	r=$("$py" - "$tmp/run/health" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    print("unreadable: %s" % e)
    sys.exit()
missing = {"pid", "updated", "updatedUnix", "ready", "applies", "lastResult", "lastMessage"} - set(d)
print("missing keys: %s" % sorted(missing) if missing else "ready" if d["ready"] is True else "not-ready")
PY
)
	case $r in
	ready | not-ready)
		ok "$case: watch writes the health file ($r)"
		probe liveness "$tmp/run/health" && ok "$case: liveness passes on watch's health file" ||
			bad "$case: liveness fails on watch's health file"
		if probe readiness "$tmp/run/health"; then got=ready; else got=not-ready; fi
		[ "$got" = "$r" ] && ok "$case: readiness ($got) agrees with the file's \"ready\"" ||
			bad "$case: readiness says $got, the file says $r"
		;;
	*)
		bad "$case: the health file: $r"
		sed 's/^/    /' "$tmp/watch.log"
		;;
	esac
	kill -TERM "$pid" 2>/dev/null
	timeout 15 tail --pid="$pid" -f /dev/null || kill -KILL "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
	[ "$rc" -eq 0 ] && [ ! -e "$tmp/run/health" ] && ok "$case: SIGTERM: exit 0, health file removed" ||
		bad "$case: SIGTERM: exit $rc, health file $([ -e "$tmp/run/health" ] && echo left || echo removed)"
	pids=()
done
[ ! -e "$tmp/pin" ] && ok "no pin directory was made" || bad "a pin directory was made under $tmp"

# ---- journald: when standard error is the journal ($JOURNAL_STREAM names
# it), every line starts with its syslog priority, so `journalctl -p
# warning` works; otherwise no prefix ----
argv_of unit_argv "$(get unit_dir)" "$tmp/empty"
for js in yes no; do
	: > "$tmp/journal"
	if [ $js = yes ]; then
		JOURNAL_STREAM=$(stat -c '%d:%i' "$tmp/journal") "${argv[@]}" 2>> "$tmp/journal" &
	else
		JOURNAL_STREAM=1:1 "${argv[@]}" 2>> "$tmp/journal" &
	fi
	jp=$!
	for _ in $(seq 100); do grep -q 'applied\|unchanged' "$tmp/journal" && break; sleep 0.05; done
	kill -TERM "$jp"
	wait "$jp"
	n=$(grep -c . "$tmp/journal")
	pre=$(grep -c '^<[3467]>' "$tmp/journal")
	if [ $js = yes ]; then
		[ "$n" -gt 0 ] && [ "$pre" -eq "$n" ] && grep -q '^<6>' "$tmp/journal" &&
			ok "journald: each of $n lines carries its priority (<6> for info)" ||
			bad "journald: $pre of $n lines carry a priority: $(head -n 2 "$tmp/journal")"
	else
		[ "$n" -gt 0 ] && [ "$pre" -eq 0 ] && ok "not the journal (another JOURNAL_STREAM): no priority prefix" ||
			bad "not the journal: $pre of $n lines carry a priority"
	fi
done
rm -rf "$tmp/pin"

# ---- the unit's command as systemd runs it: READY=1, STATUS=, WATCHDOG=1,
# SIGHUP applies, SIGTERM sends STOPPING=1 and exits 0 ----
argv_of unit_argv "$(get unit_dir)" "$tmp/empty"
tally < <("$py" - "$tmp/notify" "${argv[@]}" <<'PY'
import os, signal, socket, subprocess, sys, time
path, argv = sys.argv[1], sys.argv[2:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(0.2)
env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="1000000")
log = open(path + ".log", "w+")
p = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=log)
got = []
def collect(until, secs):
    end = time.time() + secs
    while time.time() < end:
        try:
            got.extend(s.recv(4096).decode().split("\n"))
        except socket.timeout:
            pass
        if until(got):
            return True
    return False
def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
check(collect(lambda g: "READY=1" in g, 10), "unit: sluice sends READY=1 after its first apply")
check(any(m.startswith("STATUS=") for m in got), "unit: sluice sends STATUS= (%s)" % next((m for m in got if m.startswith("STATUS=")), None))
got.clear()
check(collect(lambda g: "WATCHDOG=1" in g, 3), "unit: sluice sends WATCHDOG=1 (WATCHDOG_USEC set)")
got.clear()
p.send_signal(signal.SIGHUP)
check(collect(lambda g: any(m.startswith("STATUS=") and "(signal)" in m for m in g), 5),
      "unit: ExecReload's SIGHUP applies now (STATUS=... (signal))")
got.clear()
p.send_signal(signal.SIGTERM)
try:
    rc = p.wait(15)
except subprocess.TimeoutExpired:
    p.kill()
    rc = p.wait()
collect(lambda g: "STOPPING=1" in g, 1)
check("STOPPING=1" in got and rc == 0, "unit: SIGTERM: STOPPING=1 and exit %s" % rc)
if rc != 0:
    log.seek(0)
    sys.stdout.write(log.read())
PY
)

# ---- systemd-analyze verify of the unit, pointed at this binary ----
if ! command -v systemd-analyze >/dev/null; then
	skipped "systemd-analyze verify: systemd-analyze is not installed"
else
	mkdir -p "$tmp/units"
	# First a unit that must verify: when even that fails, verify cannot run here.
	printf '[Service]\nType=oneshot\nExecStart=/bin/true\n' >"$tmp/units/sluice-probe.service"
	if ! probe_out=$(systemd-analyze verify --man=no "$tmp/units/sluice-probe.service" 2>&1); then
		skipped "systemd-analyze verify cannot run here (a trivial unit fails too): $(head -1 <<<"$probe_out")"
	else
		sed "s#^ExecStart=/usr/local/sbin/sluice #ExecStart=$sluice #" "$unit" >"$tmp/units/sluice-watch.service"
		out=$(systemd-analyze verify --man=no "$tmp/units/sluice-watch.service" 2>&1)
		rc=$?
		# It warns (unknown keys, bad values) with exit 0: any line about the unit fails.
		if [ "$rc" -eq 0 ] && ! grep -q 'sluice-watch' <<<"$out"; then
			ok "systemd-analyze verify of the unit: clean"
		else
			bad "systemd-analyze verify of the unit: exit $rc"
			sed 's/^/    /' <<<"$out"
		fi
	fi
fi

# ---- its hardening: systemd-analyze security (offline) rates it OK ----
if ! systemd-analyze security --help 2>/dev/null | grep -q -- '--offline'; then
	skipped "systemd-analyze security --offline: not in this systemd"
else
	mkdir -p "$tmp/units"
	sed "s#^ExecStart=/usr/local/sbin/sluice #ExecStart=$sluice #" "$unit" >"$tmp/units/sluice-watch.service"
	sec=$(systemd-analyze security --offline=yes "$tmp/units/sluice-watch.service" 2>&1)
	score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$sec")
	if awk -v s="$score" 'BEGIN { exit !(s != "" && s + 0 < 3.0) }'; then
		ok "systemd-analyze security: exposure $score, under 3 (OK)"
	else
		bad "systemd-analyze security: exposure '${score:-?}', want under 3"
		grep '✗' <<<"$sec" | sed 's/^/    /'
	fi
	# what sluice needs stays: bpffs writable, bpf(2) allowed, setns into
	# network namespaces, netlink sockets
	for want in 'ReadWritePaths=/sys/fs/bpf' 'SystemCallFilter=@system-service bpf' 'RestrictNamespaces=net' \
		'RestrictAddressFamilies=AF_UNIX AF_NETLINK' 'SystemCallErrorNumber=EPERM'; do
		grep -qx "$want" "$unit" && ok "unit: $want" || bad "unit: no line $want"
	done
fi

# ---- meson install: the unit, naming the installed binary, and the completions ----
build=$(dirname "$sluice")
if [ -f "$build/meson-info/intro-installed.json" ] && command -v meson >/dev/null; then
	if meson install -C "$build" --no-rebuild --destdir "$tmp/inst" >"$tmp/inst.log" 2>&1; then
		prefix=$(meson introspect "$build" --buildoptions | "$py" -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
		sbin=$(meson introspect "$build" --buildoptions | "$py" -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "sbindir"))')
		iu=$tmp/inst$prefix/lib/systemd/system/sluice-watch.service
		[ -f "$iu" ] && ok "meson install: the unit in $prefix/lib/systemd/system" || bad "meson install: no $iu"
		grep -q "^ExecStart=$prefix/$sbin/sluice watch " "$iu" 2>/dev/null && ok "meson install: the unit's ExecStart= is $prefix/$sbin/sluice" ||
			bad "meson install: the unit's ExecStart=: $(grep '^ExecStart=' "$iu" 2>/dev/null)"
		[ -x "$tmp/inst$prefix/$sbin/sluice" ] && ok "meson install: $prefix/$sbin/sluice" || bad "meson install: no sluice in $prefix/$sbin"
		[ -f "$tmp/inst$prefix/share/bash-completion/completions/sluice" ] && ok "meson install: bash completion" || bad "meson install: no bash completion"
		[ -f "$tmp/inst$prefix/share/zsh/site-functions/_sluice" ] && ok "meson install: zsh completion" || bad "meson install: no zsh completion"
	else
		bad "meson install --destdir failed"
		sed 's/^/    /' "$tmp/inst.log" | tail -20
	fi
else
	skipped "meson install: not a meson build directory ($build)"
fi

# ---- the Containerfile: its packages and files ----
tally < <("$py" - "$containerfile" "$root" "$sluice" <<'PY'
import os, re, shutil, subprocess, sys
cf, root, sluice = sys.argv[1:4]
def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
lines, cur = [], ""
for raw in open(cf):
    s = raw.rstrip("\n")
    if s.lstrip().startswith("#"):
        continue
    if s.endswith("\\"):
        cur += s[:-1] + " "
        continue
    if (cur + s).strip():
        lines.append((cur + s).strip())
    cur = ""
stages = []
for l in lines:
    ins, _, rest = l.partition(" ")
    if ins.upper() == "FROM":
        stages.append({"from": rest, "pkgs": set(), "copy": [], "run": []})
    elif ins.upper() == "RUN":
        stages[-1]["run"].append(rest)
        for seg in rest.split("&&"):
            w = seg.split()
            if "apt-get" in w and "install" in w:
                stages[-1]["pkgs"] |= {x for x in w[w.index("install") + 1:] if not x.startswith("-")}
    elif ins.upper() == "COPY":
        stages[-1]["copy"].append(rest.split())
check(len(stages) == 2 and all(s["from"].split()[0] == "debian:12" for s in stages),
      "Containerfile: two stages, both from debian:12")
build, runtime = stages[0], stages[-1]

# The build stage installs the build packages of .ci/deps.
deps, group = set(), None
text = open(os.path.join(root, ".ci", "deps")).read()
block = re.search(r"packages=\((.*?)\n\)", text, re.S).group(1)
for l in block.splitlines():
    l = l.strip()
    if l.startswith("#"):
        group = l.lstrip("# ").split()[0]
    elif l and group == "build":
        deps |= set(l.split())
missing = deps - build["pkgs"]
check(deps and not missing, "Containerfile: the build stage installs .ci/deps' build packages%s" %
      (" (missing: %s)" % " ".join(sorted(missing)) if missing else ""))

# The build stage copies every top-level path meson.build uses.
copied = set()
for args in build["copy"]:
    if not args[0].startswith("--from"):
        copied |= {a.rstrip("/") for a in args[:-1]}
mb = open(os.path.join(root, "meson.build")).read()
used = set(re.findall(r"'([A-Za-z0-9_.-]+)/", mb)) | set(re.findall(r"subdir\('([^']+)'\)", mb))
used |= {"meson.build", "meson_options.txt"}
if any("-Dtests=false" in r for r in build["run"]):
    used.discard("tests")
used = {u for u in used if os.path.exists(os.path.join(root, u))}
check(used <= copied, "Containerfile: the build stage copies what meson.build uses (%s)%s" %
      (" ".join(sorted(used)), "; missing: " + " ".join(sorted(used - copied)) if used - copied else ""))
check(any("/out/usr/local/sbin/sluice" in r for r in build["run"]) and
      any(a[0].startswith("--from") and a[-1] == "/" for a in runtime["copy"]),
      "Containerfile: sluice lands in /usr/local/sbin, on the image's PATH")
check("coreutils" in runtime["pkgs"], "Containerfile: the runtime stage has coreutils (the probes)")

# Every shared library the binary needs comes from a runtime package (or
# libc6, which debian:12 has).
if not (shutil.which("readelf") and shutil.which("dpkg-query") and shutil.which("ldd")):
    print("skip: Containerfile: the runtime libraries (needs readelf, ldd and dpkg)")
    sys.exit()
needed = re.findall(r"\(NEEDED\).*\[(.+)\]", subprocess.run(["readelf", "-d", sluice], capture_output=True, text=True).stdout)
ldd = subprocess.run(["ldd", sluice], capture_output=True, text=True).stdout
resolved = dict(re.findall(r"^\s*(\S+) => (/\S+)", ldd, re.M))
# the dynamic loader: "/lib64/ld-linux-x86-64.so.2 (0x...)"
resolved.update({os.path.basename(p): p for p in re.findall(r"^\s*(/\S+) \(", ldd, re.M)})
allowed = runtime["pkgs"] | {"libc6"}
for lib in needed:
    path = resolved.get(lib)
    owner = None
    for p in filter(None, {path, path and os.path.realpath(path), path and re.sub(r"^/(lib|lib64)/", r"/usr/\1/", path)}):
        r = subprocess.run(["dpkg-query", "-S", p], capture_output=True, text=True)
        if r.returncode == 0:
            owner = r.stdout.split(":")[0]
            break
    check(owner in allowed, "Containerfile: %s (from %s) is in the runtime stage" % (lib, owner))
PY
)

echo "$skip skipped"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
