# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# The integration tests' framework: a node of its own for each test (a
# network namespace and a private mount namespace with a fresh bpffs),
# endpoints ("containers": a network namespace each, joined to the node by
# a veth pair), a "world" outside the cluster, echo servers, a reachability
# matrix measured against an expected one, and sluice runs with expected
# exit codes.
#
# A test script sources this file and calls `it_init "$@"` first: that
# re-executes the script under `unshare -m -n --propagation private`, so
# the script's own process is the node; nothing it makes is visible on the
# host, and everything goes with it when it exits (plus a trap that kills
# the helpers it started, by pid, and unmounts). Exit codes: 0 pass,
# 1 fail, 77 skip (not root, a tool missing).
#
# Usage: test-x.sh [PATH-TO-SLUICE]  (default: $SLUICE, else build/sluice)
#
# Topology (addresses are fixed; tests choose names and identities):
#   node (the test process): lo 127.0.0.1, 192.168.50.1/32, fd00:50::1/128
#       ("host" as a probe source), forwarding on, default routes to world;
#       lxc-NAME: host side of endpoint NAME, proxy_arp, fe80::1/64,
#       routes 10.1.0.N/32 and fd00:1::N/128 to it.
#   endpoint NAME: eth0 10.1.0.N/32, fd00:1::N/128; default via
#       169.254.1.1 (answered by proxy ARP) and fe80::1.
#   world (a namespace that is no endpoint: its link "wld" has no sluice
#       program): 192.168.99.2/24 and 2001:db8:99::2/64 toward the node,
#       and on its lo world-a 203.0.113.10, 2001:db8:100::10 (also its
#       probe source address) and world-x 203.0.113.200,
#       2001:db8:100:ff::10.

IT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IT_PY=/usr/bin/python3
IT_PROBE=$IT_DIR/probe.py
IT_MATRIX=$IT_DIR/matrix.py
IT_KINDS="icmp tcp/80 udp/80 tcp/8080 udp/8080"
IT_PORTS="80 8080"

IT_HOST4=192.168.50.1 IT_HOST6=fd00:50::1
declare -A IT_PID=() IT_A4=() IT_A6=() IT_IDENT=()
IT_ENDPOINTS=()  # endpoint names, in creation order
IT_HELPERS=()    # pids of every background helper, killed on exit
IT_PASS=0 IT_FAIL=0 IT_T0=$SECONDS IT_PORT_BASE=20000 IT_RUN=0 IT_LINK_T=${EPOCHREALTIME/./}

it_log() { echo "[$((SECONDS - IT_T0))s] $*"; }
it_ok() { IT_PASS=$((IT_PASS + 1)); }
it_bad() { IT_FAIL=$((IT_FAIL + 1)); echo "FAIL: $*"; }
it_check() { # description command...: a check that passes when the command does
	local what=$1; shift
	if "$@"; then it_ok; else it_bad "$what"; fi
}
it_die() { it_bad "$*"; it_finish; }
it_skip() { echo "SKIP: $*"; exit 77; }

# ---- setup ----

it_init() {
	IT_SLUICE=${1:-${SLUICE:-$IT_DIR/../../build/sluice}}
	[ "$(id -u)" -eq 0 ] || it_skip "needs root"
	local t
	for t in unshare nsenter setpriv ip sysctl mount umount mktemp "$IT_PY"; do
		command -v "$t" >/dev/null 2>&1 || it_skip "needs $t"
	done
	[ -x "$IT_SLUICE" ] || it_die "no sluice binary at $IT_SLUICE (give its path as the first argument)"
	IT_SLUICE=$(readlink -f "$IT_SLUICE")
	# The guard carries the namespaces of the outside: inside, both must
	# differ from them, or the test would configure the host's own network.
	local here
	here="$(readlink /proc/$$/ns/net) $(readlink /proc/$$/ns/mnt)"
	case $here in *"net:["*"mnt:["*) ;; *) it_skip "cannot read /proc/$$/ns" ;; esac
	if [ -z "${SLUICE_IT_OUTSIDE:-}" ]; then
		export SLUICE_IT_OUTSIDE=$here
		exec unshare -m -n --propagation private -- bash "$0" "$IT_SLUICE"
	fi
	# Inside, or so the variable says: check before touching anything. The
	# namespaces differ from the outside's, and the network namespace is a
	# fresh one: nothing but a loopback device without an address.
	local links addrs
	links=$(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | tr '\n' ' ')
	addrs=$(ip -o addr show 2>/dev/null | wc -l)
	case $SLUICE_IT_OUTSIDE in "net:["*"] mnt:["*"]") ;; *) here=$SLUICE_IT_OUTSIDE ;; esac
	if [ "${here% *}" = "${SLUICE_IT_OUTSIDE% *}" ] || [ "${here#* }" = "${SLUICE_IT_OUTSIDE#* }" ] ||
		[ "$links" != "lo " ] || [ "$addrs" -ne 0 ]; then
		echo "ERROR: not in fresh namespaces of its own (namespaces $here, outside $SLUICE_IT_OUTSIDE;" \
			"links: $links; $addrs addresses): refusing to touch this network"
		exit 1
	fi
	unset SLUICE_IT_OUTSIDE
	trap it_cleanup EXIT
	trap 'echo "interrupted"; exit 130' INT
	trap 'echo "terminated"; exit 143' TERM
	# One directory, a tmpfs of this mount namespace: the test's files and
	# the bpffs mount point. Killed outright, the test leaves at most this
	# directory, empty, on the host.
	IT_ROOT=$(mktemp -d /tmp/sluice-it.XXXXXX) || it_die "mktemp"
	mount -t tmpfs -o mode=0700 sluice-it "$IT_ROOT" || it_die "cannot mount a tmpfs on $IT_ROOT"
	IT_WORK=$IT_ROOT/work IT_BPFFS=$IT_ROOT/bpffs
	mkdir "$IT_WORK" "$IT_BPFFS"
	mount -t bpf bpf "$IT_BPFFS" || it_skip "cannot mount a bpffs"
	export SLUICE_PIN_DIR=$IT_BPFFS/sluice
	it_log "sluice $IT_SLUICE, pin dir $SLUICE_PIN_DIR, work dir $IT_WORK, kernel $(uname -r)"
	it_node_setup
}

it_cleanup() {
	local rc=$? p
	trap - EXIT INT TERM
	for p in "${IT_HELPERS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	for p in "${IT_HELPERS[@]}"; do wait "$p" 2>/dev/null; done
	if [ -n "${IT_ROOT:-}" ]; then
		umount "$IT_BPFFS" 2>/dev/null
		umount "$IT_ROOT" 2>/dev/null
		rmdir "$IT_ROOT"
	fi
	exit "$rc"
}

# Start a helper in the background; its pid goes to IT_HELPERS and to the
# variable named by $1. The helper is killed if this process dies without
# running its trap (parent-death signal). Call it from the main shell only
# (not in $(...)): the helper's parent must be this process.
it_spawn() {
	local _spawn_var=$1; shift
	setpriv --pdeathsig KILL -- "$@" &
	IT_HELPERS+=("$!")
	printf -v "$_spawn_var" '%s' "$!"
}

# A network namespace held by a sleeping process; its pid in $1's variable.
it_netns() {
	local _ns_var=$1 _ns_pid _i
	it_spawn _ns_pid unshare -n -- sleep infinity
	for _i in $(seq 500); do
		[ "$(readlink "/proc/$_ns_pid/ns/net" 2>/dev/null)" != "$(readlink /proc/$$/ns/net)" ] &&
			[ "$(cat "/proc/$_ns_pid/comm" 2>/dev/null)" = sleep ] && break
		sleep 0.01
	done
	[ "$(cat "/proc/$_ns_pid/comm" 2>/dev/null)" = sleep ] || it_die "the namespace of $_ns_var did not come up"
	printf -v "$_ns_var" '%s' "$_ns_pid"
}

it_in() { # PID command...: run in that process's network namespace
	local pid=$1; shift
	nsenter -t "$pid" -n -- "$@"
}

# it_sysctls [it_in PID]: the settings every namespace of the test gets:
# no duplicate address detection (addresses usable at once), no reverse
# path filter.
it_sysctls() {
	"$@" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 >/dev/null
}

it_node_setup() {
	ip link set lo up || it_die "node: lo"
	it_sysctls
	sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 >/dev/null || it_die "node: forwarding"
	ip addr add "$IT_HOST4/32" dev lo
	ip addr add "$IT_HOST6/128" dev lo nodad
	# The world: a namespace outside the cluster, and the node's default route.
	it_netns IT_WORLD
	IT_PID[world]=$IT_WORLD
	it_in "$IT_WORLD" ip link set lo up
	it_sysctls it_in "$IT_WORLD"
	ip link add wld type veth peer name eth0 netns "$IT_WORLD" || it_die "world: veth"
	ip -batch - <<-EOF || it_die "node: world link"
		link set wld up
		addr add 192.168.99.1/24 dev wld
		addr add 2001:db8:99::1/64 dev wld nodad
		route add default via 192.168.99.2 dev wld
		route add default via 2001:db8:99::2 dev wld
	EOF
	it_in "$IT_WORLD" ip -batch - <<-EOF || it_die "world: addresses"
		link set eth0 up
		addr add 192.168.99.2/24 dev eth0
		addr add 2001:db8:99::2/64 dev eth0 nodad
		addr add 203.0.113.10/32 dev lo
		addr add 203.0.113.200/32 dev lo
		addr add 2001:db8:100::10/128 dev lo nodad
		addr add 2001:db8:100:ff::10/128 dev lo nodad
		route add default via 192.168.99.1 dev eth0
		route add default via 2001:db8:99::1 dev eth0
	EOF
	IT_A4[world-a]=203.0.113.10 IT_A6[world-a]=2001:db8:100::10
	IT_A4[world-x]=203.0.113.200 IT_A6[world-x]=2001:db8:100:ff::10
}

# it_endpoint NAME N IDENTITY: endpoint NAME with 10.1.0.N, fd00:1::N,
# host side lxc-NAME, of the given identity (for it_topology_yaml).
# With IT_IPVLAN_MASTER set (ipvlan mode): no veth pair; the endpoint's
# device is ipvl-NAME, an ipvlan slave of that master (mode
# IT_IPVLAN_MODE, default l3) moved into its namespace, which
# it_topology_yaml names as /proc/PID/ns/net.
it_endpoint() {
	local name=$1 n=$2 ident=$3 pid dev=lxc-$1
	it_netns pid
	IT_PID[$name]=$pid IT_A4[$name]=10.1.0.$n IT_A6[$name]=fd00:1::$n IT_IDENT[$name]=$ident
	IT_ENDPOINTS+=("$name")
	it_sysctls it_in "$pid"
	if [ -n "${IT_IPVLAN_MASTER:-}" ]; then
		dev=ipvl-$name
		ip link add link "$IT_IPVLAN_MASTER" name "$dev" type ipvlan mode "${IT_IPVLAN_MODE:-l3}" ||
			it_die "$name: ipvlan slave"
		ip link set "$dev" netns "$pid" || it_die "$name: into its namespace"
		it_in "$pid" ip -batch - <<-EOF || it_die "$name: endpoint side"
			link set lo up
			link set $dev up
			addr add 10.1.0.$n/32 dev $dev
			addr add fd00:1::$n/128 dev $dev nodad
			route add default dev $dev
		EOF
		it_in "$pid" ip -6 route replace default dev "$dev" || it_die "$name: IPv6 default route"
		IT_LINK_T=${EPOCHREALTIME/./}
		return
	fi
	ip link add "$dev" type veth peer name eth0 netns "$pid" || it_die "$name: veth"
	# Proxy ARP answers for 169.254.1.1 (the node has a route to it, its
	# default), at once: the default proxy_delay holds answers up to 0.8 s.
	echo 1 > "/proc/sys/net/ipv4/conf/$dev/proxy_arp"
	echo 0 > "/proc/sys/net/ipv4/neigh/$dev/proxy_delay"
	ip -batch - <<-EOF || it_die "$name: node side"
		link set $dev up
		addr add fe80::1/64 dev $dev nodad
		route add 10.1.0.$n/32 dev $dev
		route add fd00:1::$n/128 dev $dev
	EOF
	it_in "$pid" ip -batch - <<-EOF || it_die "$name: endpoint side"
		link set lo up
		link set eth0 up
		addr add 10.1.0.$n/32 dev eth0
		addr add fd00:1::$n/128 dev eth0 nodad
		route add 169.254.1.1 dev eth0 scope link
		route add default via 169.254.1.1 dev eth0
		route add default via fe80::1 dev eth0
	EOF
	IT_LINK_T=${EPOCHREALTIME/./}
}

# Echo servers (TCP and UDP on IT_PORTS, both families) in every endpoint
# and the world.
it_servers() {
	local name pid i ports=() p
	for p in $IT_PORTS; do ports+=(--port "$p"); done
	for name in "${IT_ENDPOINTS[@]}" world; do
		rm -f "$IT_WORK/ready.$name"
		it_spawn pid nsenter -t "${IT_PID[$name]}" -n -- "$IT_PY" "$IT_PROBE" server "${ports[@]}" \
			--ready "$IT_WORK/ready.$name"
	done
	for name in "${IT_ENDPOINTS[@]}" world; do
		for i in $(seq 500); do
			[ -e "$IT_WORK/ready.$name" ] && break
			sleep 0.01
		done
		[ -e "$IT_WORK/ready.$name" ] || it_die "the echo server of $name did not start"
	done
}

# ---- the reachability matrix ----

# it_measure OUT [SOURCES] [DESTS]: every probe kind, both families, from
# each source to each destination (not to itself; neither both of host and
# world), one probe client per source, all at once. Sources: endpoint
# names, host, world; destinations: endpoint names, world-a, world-x.
# Lines: SRC DST FAMILY ADDR KIND RESULT.
it_measure() {
	local out=$1 srcs=${2:-"${IT_ENDPOINTS[*]} host world"} dsts=${3:-"${IT_ENDPOINTS[*]} world-a world-x"}
	local s d fam k addr n pids=() args
	for s in $srcs; do
		: > "$IT_WORK/probes.$s"
		n=0
		for d in $dsts; do
			[ "$s" = "$d" ] && continue
			case "$s:$d" in host:world-* | world:world-*) continue ;; esac
			for fam in v4 v6; do
				if [ $fam = v4 ]; then addr=${IT_A4[$d]}; else addr=${IT_A6[$d]}; fi
				for k in $IT_KINDS; do
					echo "$s $d $fam $addr $k" >> "$IT_WORK/probes.$s"
					n=$((n + 1))
				done
			done
		done
		args=(--port-base "$IT_PORT_BASE")
		# (IT_PROBE_TIMEOUT: how long a probe waits for its answer, when
		# not probe.py's 0.5 s: under qemu's TCG, loaded, more)
		if [ -n "${IT_PROBE_TIMEOUT:-}" ]; then args+=(--timeout "$IT_PROBE_TIMEOUT"); fi
		IT_PORT_BASE=$((IT_PORT_BASE + n))
		case $s in
		host) args+=(--src4 "$IT_HOST4" --src6 "$IT_HOST6") ;;
		world) args+=(--src4 "${IT_A4[world-a]}" --src6 "${IT_A6[world-a]}") ;;
		esac
		if [ "$s" = host ]; then
			"$IT_PY" "$IT_PROBE" client "${args[@]}" < "$IT_WORK/probes.$s" > "$IT_WORK/result.$s" &
		else
			nsenter -t "${IT_PID[$s]}" -n -- "$IT_PY" "$IT_PROBE" client "${args[@]}" \
				< "$IT_WORK/probes.$s" > "$IT_WORK/result.$s" &
		fi
		pids+=("$!")
	done
	for n in "${pids[@]}"; do wait "$n"; done
	for s in $srcs; do cat "$IT_WORK/result.$s"; done > "$out"
}

# it_matrix TITLE [SOURCES] [DESTS] < RULES: measure and compare with the
# expected matrix, whose rules (see matrix.py) come on standard input:
# RESULT SRC DST FAMILY KIND, globs, the last matching rule wins.
it_matrix() {
	local title=$1; shift
	IT_RUN=$((IT_RUN + 1))
	cat > "$IT_WORK/expect.$IT_RUN"
	local t0=$SECONDS
	local srcs=${1:-"${IT_ENDPOINTS[*]} host world"} dsts=${2:-"${IT_ENDPOINTS[*]} world-a world-x"}
	local d0 d1 m0 m1 s0 s1 refused
	if [ -n "${IT_CHECK_DROPS:-}" ]; then
		it_settle
		d0=$(it_drops) || it_die "sluice status -o json: no drop counters"
		m0=$(it_mld_reports)
		s0=$(it_syn_retrans)
	fi
	it_measure "$IT_WORK/measured.$IT_RUN" "$srcs" "$dsts"
	it_retry_unreached "$IT_WORK/expect.$IT_RUN" "$IT_WORK/measured.$IT_RUN"
	local rc=0
	"$IT_PY" "$IT_MATRIX" "$IT_WORK/expect.$IT_RUN" "$IT_WORK/measured.$IT_RUN" "$title" "$srcs" "$dsts" || rc=1
	if [ $rc -eq 0 ]; then it_ok; else it_bad "reachability $title (see DIFF lines above)"; fi
	if [ -n "${IT_CHECK_DROPS:-}" ]; then
		# Each refused probe is one packet (a SYN, a datagram, an echo
		# request; the probe gives up before TCP would send the SYN
		# again, unless a loaded qemu guest is slow enough that the timer
		# fires first: those SYNs are counted too), dropped and counted
		# once, as policy or policy-deny. The only other traffic that
		# policy judges: IPv6 multicast listener reports (not neighbour
		# discovery), which it_settle makes rare; they may add drops,
		# never more than were sent.
		d1=$(it_drops) || it_die "sluice status -o json: no drop counters"
		m1=$(it_mld_reports)
		s1=$(it_syn_retrans)
		refused=$(grep -c ' fail$' "$IT_WORK/measured.$IT_RUN")
		IT_DROP_POLICY=$((${d1% *} - ${d0% *})) IT_DROP_DENY=$((${d1#* } - ${d0#* }))
		local n=$((IT_DROP_POLICY + IT_DROP_DENY)) mld=$((m1 - m0)) syn=$((s1 - s0))
		echo "   drops counted: policy +$IT_DROP_POLICY, policy-deny +$IT_DROP_DENY;" \
			"refused probes: $refused; MLD reports sent meanwhile: $mld; SYNs sent again: $syn"
		it_check "$title: the drop counters count every refused probe once ($n drops, $refused refused)" \
			test "$n" -ge "$refused" -a "$n" -le $((refused + mld + syn))
	fi
	it_log "matrix $title measured in $((SECONDS - t0))s"
	return $rc
}

# it_retry_unreached EXPECT MEASURED: a probe that should have reached but
# got no answer in its time is tried once more, alone, when at most
# IT_RETRIES_MAX (3) of the matrix did so: under qemu's TCG beside other
# tests an echo server in a namespace can miss a probe's deadline
# (vm-ipvlan: one TCP pair, both families, in one run of five). One that
# reaches the second time counts as reached and is said; one that does
# not stays refused, and so does every probe of a matrix with more such
# (a datapath that drops is not retried away; nor is a probe that should
# have been refused and reached: never retried).
it_retry_unreached() {
	local expect=$1 measured=$2 lines line s d fam addr k got n
	lines=$("$IT_PY" "$IT_MATRIX" --unreached "$expect" "$measured")
	[ -n "$lines" ] || return 0
	n=$(wc -l <<<"$lines")
	if [ "$n" -gt "${IT_RETRIES_MAX:-3}" ]; then
		echo "   $n probes that should have reached did not: not tried again (more than ${IT_RETRIES_MAX:-3})"
		return 0
	fi
	while read -r s d fam addr k got; do
		local args=(--port-base "$IT_PORT_BASE")
		IT_PORT_BASE=$((IT_PORT_BASE + 1))
		if [ -n "${IT_PROBE_TIMEOUT:-}" ]; then args+=(--timeout "$IT_PROBE_TIMEOUT"); fi
		case $s in
		host) args+=(--src4 "$IT_HOST4" --src6 "$IT_HOST6") ;;
		world) args+=(--src4 "${IT_A4[world-a]}" --src6 "${IT_A6[world-a]}") ;;
		esac
		if [ "$s" = host ]; then
			line=$(echo "$s $d $fam $addr $k" | "$IT_PY" "$IT_PROBE" client "${args[@]}")
		else
			line=$(echo "$s $d $fam $addr $k" | nsenter -t "${IT_PID[$s]}" -n -- "$IT_PY" "$IT_PROBE" client "${args[@]}")
		fi
		if [ "${line##* }" = ok ]; then
			echo "   retried: $s -> $d ($fam $addr) $k: no answer in time the first time, reached the second"
			"$IT_PY" -c '
import sys
path, key = sys.argv[1], sys.argv[2]
out = [(key + " ok\n") if l.rsplit(" ", 1)[0] == key else l for l in open(path)]
open(path, "w").writelines(out)' "$measured" "$s $d $fam $addr $k"
		else
			echo "   retried: $s -> $d ($fam $addr) $k: no answer again"
		fi
	done <<<"$lines"
}

# it_settle: a new interface or address sends IPv6 multicast listener
# reports for about 2.5 s (the unsolicited ones and their repetitions);
# wait until 4 s after the last endpoint came up.
it_settle() {
	local left=$((IT_LINK_T + 4000000 - ${EPOCHREALTIME/./}))
	[ "$left" -gt 0 ] && sleep "$(printf '%d.%06d' $((left / 1000000)) $((left % 1000000)))"
	return 0
}

# it_mld_reports: the MLD reports sent so far from the node and every
# endpoint (their paths cross sluice's programs).
it_mld_reports() {
	local name sum=0 n
	for name in node "${IT_ENDPOINTS[@]}"; do
		if [ "$name" = node ]; then n=$(it_mld_count); else n=$(it_in "${IT_PID[$name]}" bash -c "$(declare -f it_mld_count); it_mld_count"); fi
		sum=$((sum + n))
	done
	echo "$sum"
}
# it_syn_retrans: SYNs that TCP sent again, summed over the node and every
# namespace the test made: a refused TCP probe whose SYN timer fires before
# the probe gives up (under qemu's TCG, loaded, a probe waits longer than
# the first retransmission) sends a second SYN, dropped and counted too.
it_syn_retrans() {
	local name sum=0 n
	for name in node "${!IT_PID[@]}"; do
		if [ "$name" = node ]; then n=$(it_syn_retrans_count); else n=$(it_in "${IT_PID[$name]}" bash -c "$(declare -f it_syn_retrans_count); it_syn_retrans_count"); fi
		sum=$((sum + ${n:-0}))
	done
	echo "$sum"
}
it_syn_retrans_count() {
	awk '$1 == "TcpExt:" && !names { for (i = 2; i <= NF; i++) col[$i] = i; names = 1; next }
	     $1 == "TcpExt:" && names { print $col["TCPSynRetrans"] + 0; exit }' /proc/net/netstat
}
it_mld_count() {
	awk '$1 ~ /^Icmp6Out(MLDv2Reports|GroupMembReports|GroupMembReductions)$/ { n += $2 } END { print n + 0 }' /proc/net/snmp6
}

# ---- state files and sluice ----

# The identities and endpoints of the topology, as YAML.
it_topology_yaml() {
	local name id
	echo "version: 1"
	echo "identities:"
	for id in $(printf '%s\n' "${IT_IDENT[@]}" | sort -u); do
		echo "  - id: $id"
		echo "    labels: {$(it_labels_of "$id")}"
	done
	echo "endpoints:"
	for name in "${IT_ENDPOINTS[@]}"; do
		if [ -n "${IT_IPVLAN_MASTER:-}" ]; then
			echo "  - {name: $name, interface: ipvl-$name, netns: /proc/${IT_PID[$name]}/ns/net, ipv4: ${IT_A4[$name]}, ipv6: \"${IT_A6[$name]}\", identity: ${IT_IDENT[$name]}}"
			continue
		fi
		echo "  - {name: $name, interface: lxc-$name, ipv4: ${IT_A4[$name]}, ipv6: \"${IT_A6[$name]}\", identity: ${IT_IDENT[$name]}}"
	done
}

# Labels of an identity: IT_LABELS[ID] set by the test, e.g. "app: web".
declare -A IT_LABELS=()
it_labels_of() { echo "${IT_LABELS[$1]}"; }

# it_state NAME < YAML: the topology plus the given sections, in
# $IT_WORK/NAME.yaml; prints the path.
it_state() {
	local f=$IT_WORK/$1.yaml
	{ it_topology_yaml; cat; } > "$f"
	echo "$f"
}

# it_sluice WANT-RC ARGS...: run sluice; output in $IT_OUT / $IT_ERR files.
it_sluice() {
	local want=$1 rc; shift
	IT_OUT=$IT_WORK/sluice.out IT_ERR=$IT_WORK/sluice.err
	"$IT_SLUICE" "$@" --no-color > "$IT_OUT" 2> "$IT_ERR"
	rc=$?
	if [ "$rc" -eq "$want" ]; then
		it_ok
		return 0
	fi
	it_bad "sluice $* exited $rc, want $want"
	sed 's/^/   | /' "$IT_OUT" "$IT_ERR"
	return 1
}

# it_drops: "POLICY POLICY-DENY", the packets that the drop counters
# (sluice status) hold for the two policy reasons.
it_drops() {
	"$IT_SLUICE" status -o json | "$IT_PY" -c '
import json, sys
d = json.load(sys.stdin)["drops"]
print(d["policy"]["packets"], d["policy-deny"]["packets"])'
}

# it_apply STATE: apply it (exit 0), showing the plan.
it_apply() {
	local t0=$SECONDS
	it_sluice 0 apply "$@" || return 1
	sed 's/^/   | /' "$IT_OUT"
	it_log "applied $(basename "$1") in $((SECONDS - t0))s"
}

# it_converged STATE: diff says no changes (exit 0, "No changes.") and a
# second apply makes no kernel write.
it_converged() {
	local f=$1
	if it_sluice 0 diff "$f"; then
		it_check "diff after apply of $(basename "$f") prints 'No changes.'" grep -qx 'No changes.' "$IT_OUT"
	fi
	if it_sluice 0 apply -v "$f"; then
		it_check "second apply of $(basename "$f") makes no kernel write" \
			grep -q 'kernel writes: 0$' "$IT_ERR"
		grep -q 'kernel writes: 0$' "$IT_ERR" || sed 's/^/   | /' "$IT_OUT" "$IT_ERR"
	fi
}

it_finish() {
	echo "$IT_PASS passed, $IT_FAIL failed"
	it_log "done"
	[ "$IT_FAIL" -eq 0 ] && exit 0
	exit 1
}

# it_plan_check TITLE PLAN-JSON < EXPECTED: the changes of a plan (sluice's
# `-o json`) are exactly the expected ones, one a line:
#   OP policy ENDPOINT DIRECTION PEER PROTOCOL PORT VERDICT
#       (PEER: an identity number, or cidr:PREFIX for a CIDR's identity)
#   OP endpoint ENDPOINT        OP ipcache PREFIX
#   OP KIND OBJECT              (anything else: the plan's object text)
# OP is add, change or remove. Missing and unexpected changes are listed.
it_plan_check() {
	local title=$1 json=$2
	cat > "$IT_WORK/plan-expect"
	if "$IT_PY" - "$json" "$title" "$IT_WORK/plan-expect" <<-'PY'; then it_ok; else it_bad "plan of $title"; fi
		import collections, json, re, sys
		plan = json.load(open(sys.argv[1]))
		want = collections.Counter(" ".join(l.split()) for l in open(sys.argv[3]) if l.split())
		got = collections.Counter()
		for c in plan["changes"]:
		    v = c.get("after") or c.get("before") or {}
		    op, kind = c["op"], c["kind"]
		    ep = (c.get("group") or "").split(" ")[1] if (c.get("group") or "").startswith("endpoint ") else "?"
		    if kind == "policy":
		        peer = v["identity"]
		        m = re.search(r"\(cidr ([^)]+)\)", c["object"])
		        if m:
		            peer = "cidr:" + m.group(1)
		        d = "%s policy %s %s %s %s %s %s" % (op, ep, v["direction"], peer, v["protocol"], v["port"], v["verdict"])
		    elif kind == "endpoint":
		        d = "%s endpoint %s" % (op, ep)
		    elif kind == "ipcache":
		        d = "%s ipcache %s" % (op, v["prefix"])
		    else:
		        d = "%s %s %s" % (op, kind, c["object"])
		    got[d] += 1
		s = plan["summary"]
		print("   plan of %s: %d to add, %d to change, %d to remove" % (sys.argv[2], s["add"], s["change"], s["remove"]))
		bad = False
		for d in sorted((want - got).elements()):
		    print("   MISSING from the plan: " + d); bad = True
		for d in sorted((got - want).elements()):
		    print("   UNEXPECTED in the plan: " + d); bad = True
		n = collections.Counter(c["op"] for c in plan["changes"])
		if (n["add"], n["change"], n["remove"]) != (s["add"], s["change"], s["remove"]):
		    print("   the summary does not count the changes: %s" % dict(n)); bad = True
		sys.exit(1 if bad else 0)
	PY
}
