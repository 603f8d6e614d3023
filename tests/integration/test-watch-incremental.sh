#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# watch between resyncs (cli.md, watch): a change of DIR is planned against
# the set the last apply left in the kernel and verified, and only the
# entries it touches are read, written and verified; the start, SIGHUP and
# changes the incremental way cannot take (a map made anew, drift in what
# the change touches) take the full path.
#
# The property, checked after every step of a random sequence of file
# changes (services, policies with and without CIDRs, endpoints'
# identities, the size of a map; the seed is printed, SLUICE_TEST_SEED sets
# it): a full plan against a full observation of the kernel (`sluice diff
# DIR`) finds nothing to change, i.e. the incremental result is the full
# result. Real traffic: a service's backend changed on the incremental path
# takes new connections at once. Drift: an entry a change touches, deleted
# behind watch's back, sends that change the full way, which repairs it.
#
# Usage: test-watch-incremental.sh [PATH-TO-SLUICE]
. "$(dirname "$0")/lib.sh"
it_init "$@"
. "$IT_DIR/watch_lib.sh"
command -v tc >/dev/null || it_skip "needs tc"

SEED=${SLUICE_TEST_SEED:-$((RANDOM * 32768 + RANDOM))}
RANDOM=$SEED
it_log "seed $SEED (SLUICE_TEST_SEED=$SEED repeats this run)"

IT_LABELS[1000]="app: web"
IT_LABELS[1001]="app: client"
IT_LABELS[1002]="app: db"
it_endpoint web-1 11 1000
it_endpoint web-2 12 1000
it_endpoint client-1 21 1001
it_endpoint db-1 31 1002
it_servers

D=$IT_WORK/dir
mkdir -p "$D"
# put FILE < YAML: an atomic replacement, as a ConfigMap's writer makes
put() { cat > "$D/.$1.tmp" && mv "$D/.$1.tmp" "$D/$1"; }
it_topology_yaml | put 00-topology.yaml

# One service always there: 10.96.0.10:80 to web-1's echo server on BE_PORT.
BE_PORT=80
services_yaml() {
	local n=$1 i b
	echo "version: 1"
	echo "services:"
	echo "  - name: front"
	echo "    frontend: {ip: 10.96.0.10, port: 80, protocol: TCP}"
	echo "    backends: [{ip: 10.1.0.11, port: $BE_PORT}]"
	for ((i = 1; i <= n; i++)); do
		echo "  - name: svc-$i"
		echo "    frontend: {ip: 10.96.1.$i, port: $((8000 + RANDOM % 3)), protocol: $( ((RANDOM % 2)) && echo TCP || echo UDP)}"
		echo "    backends:"
		for ((b = 0; b <= RANDOM % 3; b++)); do
			echo "      - {ip: 10.1.0.$((RANDOM % 2 ? 11 : 12)), port: $((8080 + b)), weight: $((1 + RANDOM % 4))$( ((RANDOM % 5 == 0)) && echo ', state: terminating')}"
		done
	done
}
policies_yaml() {
	local cidr=$1
	echo "version: 1"
	echo "policies:"
	echo "  - name: web-in"
	echo "    endpointSelector: {matchLabels: {app: web}}"
	echo "    ingress:"
	echo "      - fromEndpoints: [{matchLabels: {app: client}}]"
	echo "        toPorts: [{ports: [{port: 80, protocol: TCP}, {port: $((8000 + RANDOM % 100)), protocol: TCP}]}]"
	if ((cidr)); then
		echo "      - fromCIDR: [198.51.100.$((RANDOM % 4 * 64))/26]"
	fi
	if ((RANDOM % 2)); then
		echo "  - name: db-in"
		echo "    endpointSelector: {matchLabels: {app: db}}"
		echo "    ingress: [{fromEndpoints: [{matchLabels: {app: web}}], toPorts: [{ports: [{port: 5432}]}]}]"
	fi
}
# Nodes: this one, and node-b whose endpoints are in 30-remote.yaml (ipcache
# entries only: a change of them alone is compiled alone).
cat <<EOF | put 01-nodes.yaml
version: 1
node: node-a
nodes:
  - {name: node-a, ip: 192.168.77.1, podCIDRs: [10.1.0.0/16, "fd00:1::/64"]}
  - {name: node-b, ip: 192.168.77.2, podCIDRs: [10.2.0.0/16, "fd00:2::/64"]}
EOF
remote_yaml() {
	local n=$1 off=$((RANDOM % 50)) i
	echo "version: 1"
	((n)) && echo "endpoints:"
	for ((i = 0; i < n; i++)); do
		echo "  - {name: remote-$i, ipv4: 10.2.0.$((10 + (off + i) % 60)), identity: $((1000 + RANDOM % 3)), node: node-b$( ((RANDOM % 3 == 0)) && echo ", ipv6: \"fd00:2::$((16 + (off + i) % 60))\"")}"
	done
}
remote_yaml 2 | put 30-remote.yaml
services_yaml 3 | put 20-services.yaml
policies_yaml 0 | put 10-policies.yaml

# The last path watch logged: "incremental" or "full (WHY)".
last_path() {
	tail -n +"$((W_MARK + 1))" "$W_LOG" | "$IT_PY" -c '
import json, sys
p = None
for line in sys.stdin:
    try:
        o = json.loads(line)
    except ValueError:
        continue
    if o.get("event") == "path":
        p = o["path"] + (" (%s)" % o["fullBecause"] if o.get("fullBecause") else "")
        if o.get("compiled") in ("services", "endpoints"):
            p += " " + o["compiled"]
print(p or "none")'
}
# converged TEXT: a full plan against a full observation finds nothing
converged() {
	if "$IT_SLUICE" diff --no-color "$D" > "$IT_WORK/diff.out" 2>&1; then
		it_ok
	else
		it_bad "$1: a full plan against the kernel still finds changes"
		sed 's/^/   | /' "$IT_WORK/diff.out"
	fi
}
# step WHAT: wait for watch's apply of the change just made, check the property
step() {
	local what=$1
	if ! w_wait 'applied|unchanged|failed|rejected' 1 20; then
		it_bad "$what: watch did not apply the change"
		w_show_log
		return 1
	fi
	STEP_PATH=$(last_path)
	if w_lines 'failed|rejected' | grep -q .; then
		it_bad "$what: the apply failed"
		w_show_log
	fi
	converged "$what ($STEP_PATH)"
}
# connect: whether client-1 reaches the service's frontend over TCP
connect() {
	echo "client-1 front v4 10.96.0.10 tcp/80" |
		nsenter -t "${IT_PID[client-1]}" -n -- "$IT_PY" "$IT_PROBE" client --port-base "$IT_PORT_BASE" |
		grep -q ' ok$'
	local rc=$?
	IT_PORT_BASE=$((IT_PORT_BASE + 1))
	return $rc
}

w_start inc "$D" --debounce 0 --resync 3600 --log-format json -v
w_wait applied 1 30 || it_die "watch did not apply the start state"
it_check "the start takes the full path" test "$(last_path)" = full
converged "start"
it_check "the service takes connections (backend web-1:80)" connect

# A service's backend moved to a port nothing listens on, and back: each
# on the incremental path, each at once in the traffic.
w_mark
BE_PORT=81 services_yaml 3 | put 20-services.yaml
step "backend to :81"
it_check "a change of a file of services only is compiled alone ($STEP_PATH)" test "$STEP_PATH" = "incremental services"
it_check "new connections go to the new backend (:81 refuses them)" eval '! connect'
w_mark
BE_PORT=80 services_yaml 3 | put 20-services.yaml
step "backend back to :80"
it_check "and back, its services compiled alone ($STEP_PATH)" test "$STEP_PATH" = "incremental services"
it_check "the service takes connections again" connect

# The random walk: the property after every step.
incremental=0 alone=0 ealone=0 full=0 POLICY_SIZE=65536
# every kind of step once first, in a random order, then at random
order=(0 1 2 3 4 5 6 7)
for ((i = 7; i > 0; i--)); do
	j=$((RANDOM % (i + 1)))
	t=${order[i]} order[i]=${order[j]} order[j]=$t
done
for ((s = 1; s <= 28; s++)); do
	w_mark
	case $( ((s <= 8)) && echo "${order[s - 1]}" || echo $((RANDOM % 8))) in
	7) what="remote endpoints ($s)"; remote_yaml $((RANDOM % 5)) | put 30-remote.yaml ;;
	0 | 1 | 2) what="services ($s)"; services_yaml $((RANDOM % 8)) | put 20-services.yaml ;;
	3) what="policies ($s)"; policies_yaml 0 | put 10-policies.yaml ;;
	4) what="policies with a CIDR ($s)"; policies_yaml 1 | put 10-policies.yaml ;;
	5)
		what="an endpoint's identity ($s)"
		IT_IDENT[web-2]=$((IT_IDENT[web-2] == 1000 ? 1002 : 1000))
		it_topology_yaml | put 00-topology.yaml
		;;
	6)
		# the policy map's size: the map is made anew (a kind read whole)
		what="the policy map's size ($s)"
		POLICY_SIZE=$((POLICY_SIZE == 65536 ? 131072 : 65536))
		printf 'version: 1\ndatapath: {mapSizes: {policy: %d}}\n' "$POLICY_SIZE" | put 05-datapath.yaml
		;;
	esac
	step "$what" || break
	case $STEP_PATH in
	incremental) incremental=$((incremental + 1)) ;;
	"incremental services") alone=$((alone + 1)) ;;
	"incremental endpoints") ealone=$((ealone + 1)) ;;
	full*) full=$((full + 1)) ;;
	esac
	echo "   step $s: $what: $STEP_PATH"
done
it_check "the walk took every path ($alone with services compiled alone, $ealone with endpoints compiled alone, $incremental incremental, $full full)" \
	test "$alone" -gt 0 -a "$ealone" -gt 0 -a "$incremental" -gt 0 -a "$full" -gt 0

# Drift in what a change touches: the service's entry deleted behind
# watch's back; the next change of it goes the full way and repairs it.
if command -v bpftool >/dev/null; then
	key=$(bpftool -j map dump pinned "$SLUICE_PIN_DIR/sluice_services" |
		"$IT_PY" -c 'import json,sys; print(" ".join(str(int(b,16)) for b in json.load(sys.stdin)[0]["key"]))')
	# shellcheck disable=SC2086
	bpftool map delete pinned "$SLUICE_PIN_DIR/sluice_services" key $key || it_bad "bpftool delete"
	w_mark
	BE_PORT=81 services_yaml 0 | put 20-services.yaml
	step "drift, then a change"
	it_check "drift in a touched entry sends the change the full way ($STEP_PATH)" \
		grep -q '^full (.*sluice_services' <<<"$STEP_PATH"
else
	echo "   (no bpftool: the drift case is not run)"
fi

# SIGHUP re-reads everything.
w_mark
kill -HUP "$W_PID"
w_wait 'applied|unchanged' 1 20 || it_bad "SIGHUP did not apply"
it_check "SIGHUP takes the full path" test "$(last_path)" = full

w_stop TERM
it_check "watch exits 0 on SIGTERM" test "$W_RC" = 0
"$IT_SLUICE" flush --yes -q > /dev/null 2>&1 || it_bad "flush"
it_finish
