#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Fault injection: cli.md's promise for apply, as a tested property. When a
# kernel write fails, apply exits 1 naming the object, the kernel is left
# consistent with the part applied, and the next apply converges.
#
# tests/fault/faultshim.so (LD_PRELOAD; docs/fault-injection.md) sees every
# kernel write of sluice: bpf(2) map creations, updates, deletes, freezes,
# program loads and pins; netlink writes (tc qdiscs and filters, XDP); pins
# unlinked and the pin directory made or removed. Two scenarios:
#   a. from nothing to state A (three endpoints, identities, policies with
#      ingress and egress, a service with two backends, an XDP prefilter);
#   b. from A to state B (an endpoint removed and one added, policies
#      changed and removed, a service changed and one added, prefilter
#      prefixes changed and its XDP from generic to native (detach, then
#      attach), the policy map's capacity changed: a migration of a map and
#      new programs on every attachment).
# For each, one apply without injection lists its writes (W); then for each
# of the W writes in turn, from the same start: apply with that write
# failed exits 1 and its message names the object (the map, program, pin or
# device of that write); show and status still work, diff of the target
# state says changes pending or none (never an error), nothing is pinned
# outside the pin directory and nothing unknown inside it; the next apply
# without injection exits 0, diff then exits 0, and traffic that the
# target state allows flows. A matrix of the injection points closes each
# scenario.
#
# SLUICE_FAULT_ONLY="a" or "b" runs one scenario; SLUICE_FAULT_POINTS=N
# stops each after N points (for a quick look).
#
# Usage: test-faults.sh [PATH-TO-SLUICE]   (SLUICE_FAULTSHIM: the shim)
. "$(dirname "$0")/lib.sh"
it_init "$@"
SHIM=${SLUICE_FAULTSHIM:-$IT_DIR/../../build/tests/faultshim.so}
[ -f "$SHIM" ] || it_skip "needs the fault shim ($SHIM; meson builds it as tests/faultshim.so)"
SHIM=$(readlink -f "$SHIM")
ONLY=${SLUICE_FAULT_ONLY:-a b}
MAXP=${SLUICE_FAULT_POINTS:-0}
IT_KINDS="icmp tcp/80" # lib.sh's probe kinds: two are enough here

it_endpoint a 11 1000
it_endpoint b 21 1001
it_endpoint c 31 1002
it_endpoint d 41 1002
it_servers

# Small maps: conntrack tables are preallocated, and made anew often here.
sizes() { # POLICY-SIZE
	echo "datapath:"
	echo "  mapSizes: {ctTcp: 4096, ctAny: 4096, ipcache: 1024, endpoints: 256, policy: $1," \
		"services: 256, backends: 256, tunnel: 256, prefilter: 256}"
}
# The topology's YAML lists every endpoint: a state names its own.
endpoints_yaml() {
	local name
	echo "version: 1"
	echo "identities:"
	echo "  - {id: 1000, labels: {app: web}}"
	echo "  - {id: 1001, labels: {app: client}}"
	echo "  - {id: 1002, labels: {app: db}}"
	echo "endpoints:"
	for name in "$@"; do
		echo "  - {name: $name, interface: lxc-$name, ipv4: ${IT_A4[$name]}, ipv6: \"${IT_A6[$name]}\", identity: ${IT_IDENT[$name]}}"
	done
}
A=$IT_WORK/A.yaml B=$IT_WORK/B.yaml EMPTY=$IT_WORK/empty.yaml
{
	endpoints_yaml a b c
	sizes 4096
	cat <<-'EOF'
		prefilter:
		  device: wld
		  xdpMode: generic
		  deny: [198.51.100.0/24, "2001:db8:bad::/48"]
		policies:
		  - name: web-in
		    endpointSelector: {matchLabels: {app: web}}
		    ingress:
		      - fromEndpoints: [{matchLabels: {app: client}}]
		  - name: client-out
		    endpointSelector: {matchLabels: {app: client}}
		    egress:
		      - toEndpoints: [{matchLabels: {app: web}}]
		      - toCIDR: [203.0.113.0/24]
		services:
		  - name: svc1
		    frontend: {ip: 10.96.0.10, port: 80, protocol: TCP}
		    backends:
		      - {ip: 10.1.0.11, port: 80}
		      - {ip: 10.1.0.31, port: 80}
	EOF
} > "$A"
{
	endpoints_yaml a b d
	sizes 8192
	cat <<-'EOF'
		prefilter:
		  device: wld
		  xdpMode: native
		  deny: [198.51.100.0/25, "2001:db8:bad::/48"]
		policies:
		  - name: web-in
		    endpointSelector: {matchLabels: {app: web}}
		    ingress:
		      - fromEndpoints: [{matchLabels: {app: client}}]
		      - fromEndpoints: [{matchLabels: {app: db}}]
		        toPorts: [{ports: [{port: 80, protocol: TCP}]}]
		  - name: db-in
		    endpointSelector: {matchLabels: {app: db}}
		    ingress:
		      - fromEndpoints: [{matchLabels: {app: web}}]
		services:
		  - name: svc1
		    frontend: {ip: 10.96.0.10, port: 80, protocol: TCP}
		    backends:
		      - {ip: 10.1.0.11, port: 80, weight: 2}
		      - {ip: 10.1.0.41, port: 80}
		  - name: svc2
		    frontend: {ip: "fd00:96::10", port: 8080, protocol: TCP}
		    backends:
		      - {ip: "fd00:1::41", port: 8080}
	EOF
} > "$B"
echo "version: 1" > "$EMPTY"
for f in "$A" "$B"; do
	"$IT_SLUICE" validate "$f" >/dev/null 2>&1 || { "$IT_SLUICE" validate "$f"; it_die "$f is invalid"; }
done

# Traffic that both states allow: client b to web a (policy, both
# directions), and into d in B (no policy selects db for egress).
traffic() { # STATE
	it_matrix "$(basename "$1"): b to a" "b" "a" <<< "ok * * * *" || return 1
	[ "$1" = "$A" ] || it_matrix "$(basename "$1"): a to d" "a" "d" <<< "ok * * * *"
}

# Nothing of sluice's outside the pin dir, nothing unknown inside it.
pins_clean() {
	local f bad=0
	for f in "$IT_BPFFS"/*; do
		[ -e "$f" ] || continue
		[ "$f" = "$SLUICE_PIN_DIR" ] && continue
		case " $BPFFS0 " in *" ${f##*/} "*) continue ;; esac # the kernel's own (maps.debug)
		echo "   outside the pin dir: $f"; bad=1
	done
	if [ -d "$SLUICE_PIN_DIR" ]; then
		for f in "$SLUICE_PIN_DIR"/*; do
			[ -e "$f" ] || continue
			case ${f##*/} in
			sluice_*) ;;
			prog_from_endpoint_???????????????? | prog_to_endpoint_???????????????? | prog_prefilter_????????????????) ;;
			# the prog arrays of their twins with events (docs/datapath.md)
			events_from_endpoint_???????????????? | events_to_endpoint_????????????????) ;;
			*) echo "   unknown in the pin dir: $f"; bad=1 ;;
			esac
		done
	fi
	return $bad
}

# What the message of a failed write must name: the map, the program, the
# pin or the device of that write.
expect_name() { # DESCRIPTOR (OP OBJECT#K)
	local op=${1%% *} obj=${1#* }
	obj=${obj%#*}
	case $op:$obj in
	prog_load:sluice_from_* | prog_load:sluice_to_* | *:datapath.* | *:datapat.*) echo "from_endpoint" ;;
	*:sluice_ev_*) echo "from_endpoint" ;; # a twin's prog array (made with the programs)
	prog_load:sluice_prefilt* | *:prefilt*.*) echo "prefilter" ;;
	rtnl_*) obj=${obj%%:*}; echo "$obj" ;;
	*) echo "$obj" ;;
	esac
}

# it_sluice without counting a check: OUT/ERR files, the exit code in RC.
run() { # ENV... -- ARGS...
	local envs=()
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	env "${envs[@]}" "$IT_SLUICE" "$@" --no-color > "$IT_WORK/run.out" 2> "$IT_WORK/run.err"
	RC=$?
}
show_run() { sed 's/^/   | /' "$IT_WORK/run.out" "$IT_WORK/run.err" | head -20; }

reset_to() { # START-STATE
	if [ "$1" = "$EMPTY" ]; then
		run -- flush --yes
	else
		run -- apply -q "$1"
	fi
	[ "$RC" -eq 0 ] || { show_run; it_die "reset to $(basename "$1") failed (exit $RC)"; }
	[ "$1" != "$EMPTY" ] || [ ! -e "$SLUICE_PIN_DIR" ] || it_die "flush left $SLUICE_PIN_DIR"
}

scenario() { # NAME START TARGET
	local name=$1 start=$2 target=$3 w i desc want named conv ok_points=0 conv_points=0 t0=$SECONDS
	local log=$IT_WORK/faults.$name
	it_log "scenario $name: $(basename "$start") -> $(basename "$target")"
	reset_to "$start"
	rm -f "$log.ref" "$IT_WORK/count"
	run SLUICE_FAULT_LOG="$log.ref" SLUICE_FAULT_COUNT="$IT_WORK/count" LD_PRELOAD="$SHIM" -- apply -q "$target"
	[ "$RC" -eq 0 ] || { show_run; it_die "scenario $name: the apply without injection failed (exit $RC)"; }
	w=$(cat "$IT_WORK/count")
	it_check "scenario $name: the shim saw the apply's writes ($w, log $(wc -l < "$log.ref"))" \
		[ "$w" -gt 0 -a "$w" -eq "$(wc -l < "$log.ref")" ]
	traffic "$target" || it_die "scenario $name: traffic after the apply without injection"
	[ "$MAXP" -gt 0 ] && [ "$w" -gt "$MAXP" ] && w=$MAXP
	echo "   scenario $name: $w writes"
	: > "$log.matrix"
	for i in $(seq "$w"); do
		desc=$(sed -n "${i}p" "$log.ref" | cut -d' ' -f2-)
		want=$(expect_name "$desc")
		reset_to "$start"
		rm -f "$log.$i"
		run SLUICE_FAULT_LOG="$log.$i" SLUICE_FAULT_AT="$desc" LD_PRELOAD="$SHIM" -- apply -q "$target"
		frc=$RC named=no conv=no
		if ! grep -q "^FAULT " "$log.$i" 2>/dev/null; then
			it_bad "scenario $name, write $i ($desc): the shim did not reach it"
		elif [ "$RC" -ne 1 ]; then
			it_bad "scenario $name, write $i ($desc) failed: apply exited $RC, want 1"
			show_run
		else
			it_ok
			if grep -qF -- "$want" "$IT_WORK/run.err"; then
				named=yes
				it_ok
			else
				it_bad "scenario $name, write $i ($desc) failed: the message does not name $want"
				show_run
			fi
		fi
		msg=$(grep -v 'run apply again to converge' "$IT_WORK/run.err" | head -1 | cut -c1-150)
		# make before break: what both states allow still flows
		it_matrix "after failing write $i ($desc): b to a" "b" "a" <<< "ok * * * *" > "$IT_WORK/kept" ||
			cat "$IT_WORK/kept"
		# consistent: readable, diff plans (0 or 2, never an error), no stray pins
		run -- show
		it_check "scenario $name, write $i ($desc): show after the failure" [ "$RC" -eq 0 ]
		run -- status
		it_check "scenario $name, write $i ($desc): status after the failure" [ "$RC" -eq 0 ]
		run -- diff "$target"
		it_check "scenario $name, write $i ($desc): diff after the failure exits 0 or 2 (exit $RC)" \
			[ "$RC" -eq 0 -o "$RC" -eq 2 ]
		it_check "scenario $name, write $i ($desc): nothing stray in the bpffs" pins_clean
		# the next apply converges
		run -- apply -q "$target"
		if [ "$RC" -eq 0 ]; then
			it_ok
			run -- diff "$target"
			if [ "$RC" -eq 0 ]; then
				it_ok
				traffic "$target" && conv=yes
			else
				it_bad "scenario $name, write $i ($desc): diff after the converging apply exited $RC"
				show_run
			fi
		else
			it_bad "scenario $name, write $i ($desc): the apply after the failure exited $RC"
			show_run
		fi
		[ "$named" = yes ] && ok_points=$((ok_points + 1))
		[ "$conv" = yes ] && conv_points=$((conv_points + 1))
		printf '   %-3s %-50s exit %s, named %-3s, converged %s\n         %s\n' "$i" "$desc" "$frc" "$named" \
			"$conv" "$msg" >> "$log.matrix"
	done
	echo "   fault matrix, scenario $name ($(basename "$start") -> $(basename "$target")):"
	cat "$log.matrix"
	echo "   scenario $name: $w injection points, $ok_points failed with exit 1 naming the object," \
		"$conv_points converged ($((SECONDS - t0)) s)"
	SUMMARY+=("scenario $name: $w injection points, $ok_points exit 1 named, $conv_points converged")
}

BPFFS0=$(ls "$IT_BPFFS" | tr '\n' ' ')
SUMMARY=()
for s in $ONLY; do
	case $s in
	a) scenario a "$EMPTY" "$A" ;;
	b) scenario b "$A" "$B" ;;
	esac
done
run -- flush --yes
it_check "flush at the end" [ "$RC" -eq 0 ]
printf '%s\n' "${SUMMARY[@]}"
it_finish
