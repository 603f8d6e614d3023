#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Services with real traffic. A client endpoint, three backend endpoints
# (each runs a server that names itself: a banner on every TCP connection,
# its name before every echoed line and UDP datagram) and the world outside
# the cluster, which holds some frontend addresses itself (its server says
# "world": traffic that reaches it was not translated). Checks:
# - IPv4 and IPv6 frontends, TCP and UDP, several ports on one frontend
#   address, a backend shared by two services: every connection reaches
#   one of the service's backends, every backend is reached, and the
#   replies come from the frontend address (the connected socket's peer,
#   the UDP reply's source);
# - weights: 600 new connections spread as the weights say (1:3, 1:1:2),
#   each backend's share within 10 percentage points of its weight's share;
# - long-lived connections (IPv4, IPv6) stay on their backend and keep
#   working while their service gains a backend, loses another one and has
#   its weights changed; new connections never reach a removed backend;
# - a terminating backend keeps its established connection and gets none
#   of 50 new ones;
# - a service with no active backend (`backends: []`, or all terminating)
#   refuses new connections at once: TCP connect() (non-blocking and
#   blocking) and a connected UDP socket get ECONNREFUSED within 0.5 s,
#   IPv4 and IPv6, and each refused packet is counted as a "no-backend"
#   drop;
# - ICMP errors about service flows are translated both ways: a backend
#   whose port is closed refuses a connected UDP socket of the client (its
#   port unreachable reaches the client about the frontend) within 0.5 s,
#   and a backend whose reply finds the client's socket gone gets the
#   client's port unreachable on its connected socket, IPv4 and IPv6;
# - removing services removes their entries and their backends that no
#   other service uses (and keeps a shared one); their frontends are no
#   longer translated;
# - drift (a service entry and a backend entry deleted with bpftool) shows
#   in diff and is repaired by apply;
# - after each apply, diff says no changes and a second apply -v makes no
#   kernel write; each plan holds exactly the expected service lines.
#
# Usage: test-services.sh [PATH-TO-SLUICE]
. "$(dirname "$0")/lib.sh"
it_init "$@"
command -v bpftool >/dev/null || it_skip "needs bpftool"

# ---- traffic helper: servers that name themselves, and their clients ----
SVC=$IT_WORK/svc.py
cat > "$SVC" <<-'PY'
	"""svc.py server|conns|refused|stream|late|fire: see test-services.sh."""
	import argparse, collections, errno, ipaddress, json, os, signal, socket
	import socketserver, struct, sys, threading, time

	def fam(a):
	    return socket.AF_INET6 if ":" in a else socket.AF_INET

	def same(a, b):
	    return ipaddress.ip_address(a.split("%")[0]) == ipaddress.ip_address(b)

	def readline(s, buf):
	    while b"\n" not in buf[0]:
	        b = s.recv(4096)
	        if not b:
	            raise OSError("connection closed by the peer")
	        buf[0] += b
	    line, buf[0] = buf[0].split(b"\n", 1)
	    return line.decode()

	# server: TCP: a banner "NAME\n", then "NAME LINE\n" for each line;
	# UDP: "NAME DATA", from the address the datagram was sent to.
	def server(a):
	    name = a.name.encode()

	    class H(socketserver.BaseRequestHandler):
	        def handle(self):
	            s, buf = self.request, [b""]
	            try:
	                s.sendall(name + b"\n")
	                while True:
	                    line = readline(s, buf)
	                    s.sendall(name + b" " + line.encode() + b"\n")
	            except OSError:
	                return

	    class T(socketserver.ThreadingTCPServer):
	        address_family = socket.AF_INET6
	        allow_reuse_address = True
	        request_queue_size = 512
	        daemon_threads = True

	        def server_bind(self):
	            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
	            super().server_bind()

	    for p in a.tcp or []:
	        srv = T(("::", p), H)
	        threading.Thread(target=srv.serve_forever, daemon=True).start()
	    for p in a.udp or []:
	        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
	        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
	        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
	        s.bind(("::", p))

	        def loop(s=s):
	            while True:
	                try:
	                    data, anc, _, peer = s.recvmsg(65536, socket.CMSG_SPACE(20))
	                    rep = [(l, t, v[:16] + struct.pack("@I", 0)) for l, t, v in anc
	                           if l == socket.IPPROTO_IPV6 and t == socket.IPV6_PKTINFO]
	                    s.sendmsg([name + b" " + data], rep, 0, peer)
	                except OSError:
	                    continue
	        threading.Thread(target=loop, daemon=True).start()
	    with open(a.ready + ".tmp", "w") as f:
	        f.write("%d\n" % os.getpid())
	    os.rename(a.ready + ".tmp", a.ready)
	    while True:
	        time.sleep(3600)

	def one_tcp(a, i):
	    """(backend name, peer address, port) of one new connection."""
	    s = socket.socket(fam(a.dst), socket.SOCK_STREAM)
	    try:
	        s.settimeout(a.timeout)
	        s.connect((a.dst, a.port))
	        peer = s.getpeername()
	        buf = [b""]
	        name = readline(s, buf)
	        msg = "conn %d" % i
	        s.sendall(msg.encode() + b"\n")
	        echo = readline(s, buf)
	        if echo != name + " " + msg:
	            raise OSError("echo %r after banner %r" % (echo, name))
	        return name, peer[0], peer[1]
	    finally:
	        s.close()

	def one_udp(a, i):
	    s = socket.socket(fam(a.dst), socket.SOCK_DGRAM)
	    try:
	        s.settimeout(a.timeout)
	        msg = b"dgram %d" % i
	        s.sendto(msg, (a.dst, a.port))
	        data, peer = s.recvfrom(65536)
	        name, _, rest = data.partition(b" ")
	        if rest != msg:
	            raise OSError("reply %r to %r" % (data, msg))
	        return name.decode(), peer[0], peer[1]
	    finally:
	        s.close()

	# conns: N new connections (TCP) or exchanges from new sockets (UDP),
	# WORKERS at a time; judged against --expect (every one reaches one of
	# these and each of them is reached), --weights/--tol (shares),
	# --fail (every one fails). Exit 0 when all holds.
	def conns(a):
	    fn = one_tcp if a.proto == "tcp" else one_udp
	    res = [None] * a.n
	    nxt = [0]
	    lock = threading.Lock()

	    def work():
	        while True:
	            with lock:
	                i = nxt[0]
	                nxt[0] += 1
	            if i >= a.n:
	                return
	            try:
	                res[i] = fn(a, i)
	            except Exception as e:
	                res[i] = e
	    ts = [threading.Thread(target=work) for _ in range(a.workers)]
	    for t in ts:
	        t.start()
	    for t in ts:
	        t.join()
	    good = [r for r in res if isinstance(r, tuple)]
	    errs = collections.Counter(type(r).__name__ + ": " + str(r) for r in res if not isinstance(r, tuple))
	    by = collections.Counter(r[0] for r in good)
	    badpeer = collections.Counter("%s:%d" % (r[1], r[2]) for r in good
	                                  if not (same(r[1], a.dst) and r[2] == a.port))
	    where = "%s %s port %d" % (a.proto, a.dst, a.port)
	    bad = []
	    if a.fail:
	        if good:
	            bad.append("%d of %d got through (%s)" % (len(good), a.n, dict(by)))
	    else:
	        if errs:
	            bad.append("%d of %d failed: %s" % (a.n - len(good), a.n, dict(errs)))
	        if badpeer:
	            bad.append("replies not from the frontend: %s" % dict(badpeer))
	        want = a.expect.split(",") if a.expect else []
	        other = {k: v for k, v in by.items() if k not in want}
	        if other:
	            bad.append("reached %s, not among %s" % (other, want))
	        if not a.weights:
	            miss = [w for w in want if not by[w]]
	            if miss and not a.some:
	                bad.append("never reached %s" % miss)
	    shares = []
	    if a.weights and not a.fail:
	        want = a.expect.split(",")
	        ws = [float(w) for w in a.weights.split(",")]
	        for w, wt in zip(want, ws):
	            got = 100.0 * by[w] / a.n
	            exp = 100.0 * wt / sum(ws)
	            shares.append("%s %d (%.1f%%, weight share %.1f%%)" % (w, by[w], got, exp))
	            if abs(got - exp) > a.tol:
	                bad.append("%s has %.1f%% of the connections, its weight share is %.1f%% (tolerance %g points)"
	                           % (w, got, exp, a.tol))
	    print("   %s: %d/%d answered; by backend: %s%s%s" % (
	        where, len(good), a.n, ", ".join(shares) if shares else dict(sorted(by.items())),
	        "; replies from the frontend" if good and not badpeer else "",
	        "".join("\n   PROBLEM: " + b for b in bad)))
	    return 1 if bad else 0

	# refused: N attempts, each must fail with ECONNREFUSED within LIMIT s.
	# TCP: connect() on a non-blocking socket, then poll (--timeout caps
	# it), or with --blocking a blocking connect() (SO_SNDTIMEO caps it);
	# UDP: a connected socket's send, then recv.
	def refused(a):
	    bad = 0
	    for i in range(a.n):
	        s = socket.socket(fam(a.dst), socket.SOCK_STREAM if a.proto == "tcp" else socket.SOCK_DGRAM)
	        if a.blocking:
	            sec = int(a.timeout)
	            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO,
	                         struct.pack("@ll", sec, int((a.timeout - sec) * 1e6)))
	        else:
	            s.settimeout(a.timeout)
	        t0 = time.monotonic()
	        try:
	            s.connect((a.dst, a.port))
	            if a.proto == "udp":
	                s.send(b"hello %d" % i)
	                s.recv(65536)
	            what = "no error"
	        except OSError as e:
	            what = errno.errorcode.get(e.errno, str(e)) if e.errno else type(e).__name__
	        finally:
	            s.close()
	        dt = time.monotonic() - t0
	        ok = what == "ECONNREFUSED" and dt <= a.limit
	        bad += not ok
	        print("   %s %s port %d #%d%s: %s after %.3f s%s" % (
	            a.proto, a.dst, a.port, i, " (blocking connect)" if a.blocking else "", what, dt,
	            "" if ok else "  <- want ECONNREFUSED within %g s" % a.limit))
	    return 1 if bad else 0

	# late: a backend's UDP socket on PORT takes one datagram, connects to
	# its sender, and 0.3 s later (the sender's socket is gone by then)
	# sends a reply: the sender's kernel answers with a port unreachable,
	# which must reach this connected socket as ECONNREFUSED within LIMIT s.
	def late(a):
	    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
	    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
	    s.bind(("::", a.port))
	    s.settimeout(a.timeout)
	    with open(a.ready + ".tmp", "w") as f:
	        f.write("%d\n" % os.getpid())
	    os.rename(a.ready + ".tmp", a.ready)
	    try:
	        data, peer = s.recvfrom(65536)
	    except OSError as e:
	        print("   late: no datagram arrived on port %d: %s" % (a.port, e))
	        return 1
	    s.connect(peer[:2])
	    time.sleep(0.3)
	    t0 = time.monotonic()
	    try:
	        s.send(b"late reply")
	        s.recv(65536)
	        what = "a reply"
	    except OSError as e:
	        what = errno.errorcode.get(e.errno, str(e)) if e.errno else type(e).__name__
	    dt = time.monotonic() - t0
	    ok = what == "ECONNREFUSED" and dt <= a.limit
	    print("   late: reply to %s port %d: %s after %.3f s%s" % (
	        peer[0], peer[1], what, dt, "" if ok else "  <- want ECONNREFUSED within %g s" % a.limit))
	    return 0 if ok else 1

	# fire: one datagram from a fresh socket, which is closed at once.
	def fire(a):
	    s = socket.socket(fam(a.dst), socket.SOCK_DGRAM)
	    s.sendto(b"hello", (a.dst, a.port))
	    s.close()
	    return 0

	# stream: one long-lived TCP connection, a line every INTERVAL, each
	# echoed by the backend that gave the banner. STATUS holds
	# "BACKEND OK ERRORS" after each exchange; on SIGTERM it prints a
	# summary and exits 0 when there was no error.
	def stream(a):
	    stop = threading.Event()
	    signal.signal(signal.SIGTERM, lambda *x: stop.set())
	    s = socket.socket(fam(a.dst), socket.SOCK_STREAM)
	    s.settimeout(a.timeout)
	    s.connect((a.dst, a.port))
	    buf = [b""]
	    name = readline(s, buf)
	    n = ok = 0
	    errors = []
	    while not stop.is_set():
	        n += 1
	        msg = "seq %d" % n
	        try:
	            s.sendall(msg.encode() + b"\n")
	            echo = readline(s, buf)
	            if echo != name + " " + msg:
	                raise OSError("echo %r for %r from %s" % (echo, msg, name))
	            ok += 1
	        except Exception as e:
	            errors.append("#%d: %s" % (n, e))
	        with open(a.status + ".tmp", "w") as f:
	            f.write("%s %d %d\n" % (name, ok, len(errors)))
	        os.rename(a.status + ".tmp", a.status)
	        if errors:
	            break
	        stop.wait(a.interval)
	    s.close()
	    print("   stream %s port %d on %s: %d exchanges, %d ok, %d errors%s" % (
	        a.dst, a.port, name, n, ok, len(errors), "".join("\n   error " + e for e in errors)))
	    return 1 if errors else 0

	ap = argparse.ArgumentParser()
	sub = ap.add_subparsers(dest="mode", required=True)
	p = sub.add_parser("server")
	p.add_argument("--name", required=True)
	p.add_argument("--tcp", type=int, action="append")
	p.add_argument("--udp", type=int, action="append")
	p.add_argument("--ready", required=True)
	p = sub.add_parser("late")
	p.add_argument("--port", type=int, required=True)
	p.add_argument("--ready", required=True)
	p.add_argument("--timeout", type=float, default=5.0)
	p.add_argument("--limit", type=float, default=0.5)
	for m in ("conns", "refused", "stream", "fire"):
	    p = sub.add_parser(m)
	    p.add_argument("--dst", required=True)
	    p.add_argument("--port", type=int, required=True)
	    p.add_argument("--proto", default="tcp", choices=["tcp", "udp"])
	    p.add_argument("-n", type=int, default=20)
	    p.add_argument("--timeout", type=float, default=1.0)
	    p.add_argument("--workers", type=int, default=8)
	    p.add_argument("--expect")
	    p.add_argument("--some", action="store_true", help="need not reach every one of --expect")
	    p.add_argument("--weights")
	    p.add_argument("--tol", type=float, default=10.0)
	    p.add_argument("--fail", action="store_true")
	    p.add_argument("--limit", type=float, default=0.5)
	    p.add_argument("--blocking", action="store_true")
	    p.add_argument("--status")
	    p.add_argument("--interval", type=float, default=0.1)
	a = ap.parse_args()
	sys.exit({"server": server, "conns": conns, "refused": refused, "stream": stream, "late": late,
	          "fire": fire}[a.mode](a))
PY

# client ARGS...: svc.py in client-1's namespace.
client() { it_in "${IT_PID[client-1]}" "$IT_PY" "$SVC" "$@"; }
# conns WHAT ARGS...: a check that svc.py conns passes.
conns() { local what=$1; shift; it_check "$what" client conns "$@"; }

# ---- topology ----
IT_LABELS[1000]="app: backend"
IT_LABELS[1001]="app: client"
it_endpoint client-1 21 1001
it_endpoint be-1 11 1000
it_endpoint be-2 12 1000
it_endpoint be-3 13 1000
# Some frontend addresses are the world's own: what reaches them untranslated
# is answered by "world".
it_in "$IT_WORLD" ip -batch - <<-'EOF' || it_die "world: frontend addresses"
	addr add 10.96.0.10/32 dev lo
	addr add 10.96.0.11/32 dev lo
	addr add 10.96.0.20/32 dev lo
	addr add fd00:96::10/128 dev lo nodad
	addr add fd00:96::20/128 dev lo nodad
EOF
for name in be-1 be-2 be-3 world; do
	rm -f "$IT_WORK/ready.$name"
	if [ "$name" = world ]; then ports=(--tcp 80 --tcp 81 --tcp 443); else
		ports=(--tcp 8080 --tcp 8081 --tcp 8083 --udp 5353); fi
	it_spawn pid nsenter -t "${IT_PID[$name]}" -n -- "$IT_PY" "$SVC" server --name "$name" "${ports[@]}" \
		--ready "$IT_WORK/ready.$name"
done
for name in be-1 be-2 be-3 world; do
	for i in $(seq 500); do [ -e "$IT_WORK/ready.$name" ] && break; sleep 0.01; done
	[ -e "$IT_WORK/ready.$name" ] || it_die "the server of $name did not start"
done
it_log "topology up: ${IT_ENDPOINTS[*]}, world"
# Without sluice, the backends answer directly (the topology works).
conns "sanity: be-1 answers client-1 directly" --dst 10.1.0.11 --port 8080 -n 3 --expect be-1
conns "sanity: be-3 answers client-1 directly over IPv6" --dst fd00:1::13 --port 8081 -n 3 --expect be-3
conns "sanity: the world answers for 10.96.0.20" --dst 10.96.0.20 --port 80 -n 3 --expect world
[ "$IT_FAIL" -eq 0 ] || it_die "the topology does not work without sluice"

# ---- the state ----
# The services that change between steps: live4/live6 (long-lived
# connections) and term4 (a backend becomes terminating), as YAML lists of
# backends; REMOVED=1 drops api, gone4 and gone6.
LIVE4="[{ip: 10.1.0.11, port: 8080}, {ip: 10.1.0.12, port: 8080}]"
LIVE6='[{ip: "fd00:1::11", port: 8080}, {ip: "fd00:1::12", port: 8080}]'
TERM4="[{ip: 10.1.0.12, port: 8080}]"
REMOVED=
services_yaml() {
	cat <<-Y
		services:
		  - name: web4
		    frontend: {ip: 10.96.0.10, port: 80, protocol: TCP}
		    backends: [{ip: 10.1.0.11, port: 8080}, {ip: 10.1.0.12, port: 8080}]
		  - name: web4-alt
		    frontend: {ip: 10.96.0.10, port: 81, protocol: TCP}
		    backends: [{ip: 10.1.0.13, port: 8081}]
		  - name: dns4
		    frontend: {ip: 10.96.0.10, port: 53, protocol: UDP}
		    backends: [{ip: 10.1.0.11, port: 5353}, {ip: 10.1.0.12, port: 5353}]
		  - name: web6
		    frontend: {ip: "fd00:96::10", port: 80, protocol: TCP}
		    backends: [{ip: "fd00:1::11", port: 8080}, {ip: "fd00:1::12", port: 8080}]
		  - name: web6-alt
		    frontend: {ip: "fd00:96::10", port: 81, protocol: TCP}
		    backends: [{ip: "fd00:1::13", port: 8081}]
		  - name: dns6
		    frontend: {ip: "fd00:96::10", port: 53, protocol: UDP}
		    backends: [{ip: "fd00:1::12", port: 5353}, {ip: "fd00:1::13", port: 5353}]
		  - name: weighted4
		    frontend: {ip: 10.96.0.12, port: 80, protocol: TCP}
		    backends: [{ip: 10.1.0.11, port: 8080, weight: 1}, {ip: 10.1.0.12, port: 8080, weight: 3}]
		  - name: weighted6
		    frontend: {ip: "fd00:96::12", port: 80, protocol: TCP}
		    backends:
		      - {ip: "fd00:1::11", port: 8080}
		      - {ip: "fd00:1::12", port: 8080, weight: 1}
		      - {ip: "fd00:1::13", port: 8080, weight: 2}
		  - name: none4
		    frontend: {ip: 10.96.0.13, port: 80, protocol: TCP}
		    backends: []
		  - name: none6
		    frontend: {ip: "fd00:96::13", port: 80, protocol: TCP}
		    backends: [{ip: "fd00:1::11", port: 8080, state: terminating}]
		  - name: noneudp4
		    frontend: {ip: 10.96.0.13, port: 53, protocol: UDP}
		    backends: [{ip: 10.1.0.12, port: 5353, state: terminating}]
		  - name: noneudp6
		    frontend: {ip: "fd00:96::13", port: 53, protocol: UDP}
		    backends: []
		  - name: closed4
		    frontend: {ip: 10.96.0.14, port: 53, protocol: UDP}
		    backends: [{ip: 10.1.0.11, port: 5399}]
		  - name: closed6
		    frontend: {ip: "fd00:96::14", port: 53, protocol: UDP}
		    backends: [{ip: "fd00:1::12", port: 5399}]
		  - name: late4
		    frontend: {ip: 10.96.0.15, port: 53, protocol: UDP}
		    backends: [{ip: 10.1.0.13, port: 5355}]
		  - name: late6
		    frontend: {ip: "fd00:96::15", port: 53, protocol: UDP}
		    backends: [{ip: "fd00:1::13", port: 5355}]
		  - name: live4
		    frontend: {ip: 10.96.0.30, port: 80, protocol: TCP}
		    backends: $LIVE4
		  - name: live6
		    frontend: {ip: "fd00:96::30", port: 80, protocol: TCP}
		    backends: $LIVE6
		  - name: term4
		    frontend: {ip: 10.96.0.31, port: 80, protocol: TCP}
		    backends: $TERM4
	Y
	[ -n "$REMOVED" ] && return
	# api shares its backend with web4; gone4 and gone6 have backends of
	# their own.
	cat <<-Y
		  - name: api
		    frontend: {ip: 10.96.0.11, port: 443, protocol: TCP}
		    backends: [{ip: 10.1.0.11, port: 8080}]
		  - name: gone4
		    frontend: {ip: 10.96.0.20, port: 80, protocol: TCP}
		    backends: [{ip: 10.1.0.13, port: 8083}]
		  - name: gone6
		    frontend: {ip: "fd00:96::20", port: 80, protocol: TCP}
		    backends: [{ip: "fd00:1::13", port: 8083}]
	Y
}

# plan_lines FILE: a plan's service changes as "GROUP | LINE", sorted.
plan_lines() {
	awk '/^[^ ]/ { g = $0; next } /^  [-+~] / && g ~ /^service / { sub(/^  /, ""); print g " | " $0 }' "$1" | sort
}
# only_services FILE: a plan's groups are all services.
only_services() { ! grep -v -e '^service ' -e '^Plan: ' -e '^  ' "$1" | grep -q .; }
# step NAME < EXPECTED-PLAN-LINES: the state of the variables as NAME;
# diff (exit 2) shows exactly the expected service changes ("GROUP | LINE"
# lines, none for the first step); apply; converged.
step() {
	local name=$1 f
	f=$(services_yaml | it_state "$name")
	STATE=$f
	it_log "---- $name"
	it_sluice 2 diff "$f"
	cp "$IT_OUT" "$IT_WORK/$name.plan"
	sed 's/^/   | /' "$IT_OUT"
	sort > "$IT_WORK/$name.plan-want"
	if [ -s "$IT_WORK/$name.plan-want" ]; then
		plan_lines "$IT_WORK/$name.plan" > "$IT_WORK/$name.plan-got"
		it_check "$name: the plan holds exactly the expected service changes" \
			diff -u "$IT_WORK/$name.plan-want" "$IT_WORK/$name.plan-got"
		it_check "$name: the plan changes nothing but services" only_services "$IT_WORK/$name.plan"
	fi
	local t0=$SECONDS
	it_sluice 0 apply "$f" || sed 's/^/   | /' "$IT_OUT" "$IT_ERR"
	it_log "applied $name in $((SECONDS - t0))s"
	it_converged "$f"
}

# client_pkts: TCP segments (retransmissions included) and UDP datagrams
# client-1 has sent.
client_pkts() {
	it_in "${IT_PID[client-1]}" cat /proc/net/snmp /proc/net/snmp6 | awk '
		$1 == "Tcp:" && $2 == "RtoAlgorithm" { for (i = 2; i <= NF; i++) h[i] = $i; next }
		$1 == "Tcp:" { for (i = 2; i <= NF; i++) if (h[i] == "OutSegs" || h[i] == "RetransSegs") n += $i; next }
		$1 == "Udp:" && $2 == "InDatagrams" { for (i = 2; i <= NF; i++) u[i] = $i; next }
		$1 == "Udp:" { for (i = 2; i <= NF; i++) if (u[i] == "OutDatagrams") n += $i; next }
		$1 == "Udp6OutDatagrams" { n += $2 }
		END { print n + 0 }'
}
client_lockdropped() {
	it_in "${IT_PID[client-1]}" awk '$1 == "TcpExt:" && !h { for (i = 2; i <= NF; i++) k[i] = $i; h = 1; next }
		$1 == "TcpExt:" { for (i = 2; i <= NF; i++) if (k[i] == "LockDroppedIcmps") print $i }' /proc/net/netstat
}
# no_backend_drops: the "no-backend" drop counter (packets).
no_backend_drops() {
	"$IT_SLUICE" status -o json | "$IT_PY" -c 'import json,sys; print(json.load(sys.stdin)["drops"]["no-backend"]["packets"])'
}

# ==== A: every service ====
step a-services < /dev/null

it_log "-- frontends: both families, TCP and UDP, several ports on one address"
conns "web4 (10.96.0.10:80/TCP) reaches be-1 and be-2, replies from the frontend" \
	--dst 10.96.0.10 --port 80 --expect be-1,be-2
conns "web4-alt (10.96.0.10:81/TCP, same address) reaches be-3" \
	--dst 10.96.0.10 --port 81 --expect be-3
conns "dns4 (10.96.0.10:53/UDP, same address) reaches be-1 and be-2, replies from the frontend" \
	--dst 10.96.0.10 --port 53 --proto udp --expect be-1,be-2
conns "web6 ([fd00:96::10]:80/TCP) reaches be-1 and be-2, replies from the frontend" \
	--dst fd00:96::10 --port 80 --expect be-1,be-2
conns "web6-alt ([fd00:96::10]:81/TCP, same address) reaches be-3" \
	--dst fd00:96::10 --port 81 --expect be-3
conns "dns6 ([fd00:96::10]:53/UDP, same address) reaches be-2 and be-3, replies from the frontend" \
	--dst fd00:96::10 --port 53 --proto udp --expect be-2,be-3
conns "api (10.96.0.11:443/TCP) reaches be-1:8080, a backend it shares with web4" \
	--dst 10.96.0.11 --port 443 --expect be-1
conns "gone4 (10.96.0.20:80/TCP) reaches be-3:8083" --dst 10.96.0.20 --port 80 --expect be-3
conns "gone6 ([fd00:96::20]:80/TCP) reaches be-3:8083" --dst fd00:96::20 --port 80 --expect be-3

it_log "-- weights"
# slot_shares ADDR PORT: how the service's slot table shares out (shown,
# not judged: the connections are).
slot_shares() {
	bpftool -j map dump pinned "$SLUICE_PIN_DIR/sluice_backends" > "$IT_WORK/backends.json"
	bpftool -j map dump pinned "$SLUICE_PIN_DIR/sluice_services" | "$IT_PY" -c '
import collections, ipaddress, json, sys
addr, port = ipaddress.ip_address(sys.argv[2]), int(sys.argv[3])
be = {}
for e in json.load(open(sys.argv[1])):
    k, v = bytes(int(x, 16) for x in e["key"]), bytes(int(x, 16) for x in e["value"])
    a = ipaddress.ip_address(v[:4] if v[18] == 4 else v[:16])
    be[int.from_bytes(k, "little")] = ("[%s]" if a.version == 6 else "%s") % a + ":%d" % int.from_bytes(v[16:18], "big")
for e in json.load(sys.stdin):
    k, v = bytes(int(x, 16) for x in e["key"]), bytes(int(x, 16) for x in e["value"])
    if k[:16] != addr.packed.ljust(16, b"\0") or int.from_bytes(k[16:18], "big") != port:
        continue
    n_slots, n_members = int.from_bytes(v[4:6], "little"), v[6]
    members = [(int.from_bytes(v[8 + 8 * i:12 + 8 * i], "little"), int.from_bytes(v[12 + 8 * i:14 + 8 * i], "little"))
               for i in range(n_members)]
    held = collections.Counter(v[520:520 + n_slots])
    total = sum(w for _, w in members)
    print("   slot table of %s port %d: %s" % (addr, port, ", ".join(
        "%s weight %d: %d slots (%.1f%%, weight share %.1f%%)" % (be.get(b, "id %d" % b), w, held[i],
                                                                  100.0 * held[i] / n_slots, 100.0 * w / total)
        for i, (b, w) in enumerate(members))))' "$IT_WORK/backends.json" "$1" "$2"
}
slot_shares 10.96.0.12 80
slot_shares fd00:96::12 80
# 600 connections: the share of a backend with a quarter of the weight
# varies by about 1.8 points (one standard deviation) around its share of
# the slots.
conns "weighted4: 600 connections spread 1:3 over be-1, be-2 (within 10 points)" \
	--dst 10.96.0.12 --port 80 -n 600 --workers 16 --expect be-1,be-2 --weights 1,3
conns "weighted6: 600 connections spread 1:1:2 over be-1, be-2, be-3 (within 10 points)" \
	--dst fd00:96::12 --port 80 -n 600 --workers 16 --expect be-1,be-2,be-3 --weights 1,1,2

it_log "-- no active backend: refused at once, counted"
# An immediate refusal takes a millisecond; a refusal the client's kernel
# ignored shows as the SYN's retransmission, 1 s later (its first timeout):
# 0.5 s tells the two apart. (Linux takes an ICMP error for a connecting
# TCP socket that its user holds locked, as connect() does while its SYN
# is sent, as a soft error only, counted as TcpExtLockDroppedIcmps: a
# refusal sent back at once, within the SYN's own transmission, must not
# depend on it.)
d0=$(no_backend_drops) p0=$(client_pkts) l0=$(client_lockdropped)
for how in "" --blocking; do
	it_check "none4 (10.96.0.13:80/TCP, backends: []): ${how:+blocking }connect() refused within 0.5 s" \
		client refused --dst 10.96.0.13 --port 80 -n 2 --timeout 3 $how
	it_check "none6 ([fd00:96::13]:80/TCP, all terminating): ${how:+blocking }connect() refused within 0.5 s" \
		client refused --dst fd00:96::13 --port 80 -n 2 --timeout 3 $how
done
it_check "noneudp4 (10.96.0.13:53/UDP, all terminating): connected UDP socket refused within 0.5 s" \
	client refused --dst 10.96.0.13 --port 53 --proto udp -n 2 --timeout 3
it_check "noneudp6 ([fd00:96::13]:53/UDP, backends: []): connected UDP socket refused within 0.5 s" \
	client refused --dst fd00:96::13 --port 53 --proto udp -n 2 --timeout 3
d1=$(no_backend_drops) p1=$(client_pkts) l1=$(client_lockdropped)
echo "   client-1's kernel: $((l1 - l0)) ICMP errors arrived while their socket was owned by its user" \
	"(TcpExtLockDroppedIcmps; for a SYN_SENT socket it keeps only a soft error)"
# Every packet the client sent meanwhile (TCP segments, retransmitted SYNs
# included, and UDP datagrams) went to a frontend without backend.
it_check "each packet refused (12 attempts, $((p1 - p0)) packets) is counted once as a no-backend drop (counter ${d0:-?} -> ${d1:-?})" \
	test "$((${d1:-0} - ${d0:-0}))" -eq "$((p1 - p0))" -a "$((p1 - p0))" -ge 12
"$IT_SLUICE" status --no-color > "$IT_WORK/status.txt"
it_check "sluice status (text) shows the no-backend drops" \
	grep -Eq "^  no-backend +${d1:-x} " "$IT_WORK/status.txt"

it_log "-- ICMP errors about service flows, both ways"
# A backend's port unreachable quotes the datagram as the backend got it
# (to the backend's address and port); the client's socket knows it by the
# frontend. Without translation the error finds no socket and the client
# waits out its timeout.
it_check "closed4 (10.96.0.14:53/UDP -> be-1:5399, closed): be-1's port unreachable refuses the client's connected UDP socket within 0.5 s" \
	client refused --dst 10.96.0.14 --port 53 --proto udp -n 2 --timeout 3
it_check "closed6 ([fd00:96::14]:53/UDP -> be-2:5399, closed): be-2's port unreachable refuses the client's connected UDP socket within 0.5 s" \
	client refused --dst fd00:96::14 --port 53 --proto udp -n 2 --timeout 3
# The other way: the client's port unreachable about a reply that came from
# the frontend must reach the backend about the reply it sent.
late_check() { # FRONTEND
	local ready=$IT_WORK/ready.late pid rc
	rm -f "$ready"
	it_spawn pid nsenter -t "${IT_PID[be-3]}" -n -- "$IT_PY" "$SVC" late --port 5355 --ready "$ready"
	for i in $(seq 500); do [ -e "$ready" ] && break; sleep 0.01; done
	client fire --dst "$1" --port 53
	wait "$pid"; rc=$?
	return "$rc"
}
it_check "late4 (10.96.0.15:53/UDP -> be-3:5355): the client's port unreachable reaches be-3's connected socket within 0.5 s" \
	late_check 10.96.0.15
it_check "late6 ([fd00:96::15]:53/UDP -> be-3:5355): the client's port unreachable reaches be-3's connected socket within 0.5 s" \
	late_check fd00:96::15

# ==== long-lived connections through B, C, D ====
declare -A STREAM=()
stream_field() { # KEY FIELD(1 backend, 2 ok, 3 errors)
	awk -v f="$2" '{ print $f }' "$IT_WORK/stream.$1" 2>/dev/null
}
# stream_alive KEY: its connection made 3 new good exchanges lately, and no error.
stream_alive() {
	local k=$1 n0 n1 i
	n0=$(stream_field "$k" 2)
	for i in $(seq 50); do
		sleep 0.05
		n1=$(stream_field "$k" 2)
		[ "${n1:-0}" -ge $((${n0:-0} + 3)) ] && break
	done
	echo "   stream $k: on $(stream_field "$k" 1), ${n0:-0} -> ${n1:-0} good exchanges, $(stream_field "$k" 3) errors"
	[ "${n1:-0}" -ge $((${n0:-0} + 3)) ] && [ "$(stream_field "$k" 3)" = 0 ]
}
for k in live4:10.96.0.30 live6:fd00:96::30 term4:10.96.0.31; do
	rm -f "$IT_WORK/stream.${k%%:*}"
	it_spawn pid nsenter -t "${IT_PID[client-1]}" -n -- "$IT_PY" "$SVC" stream --dst "${k#*:}" --port 80 \
		--status "$IT_WORK/stream.${k%%:*}" > "$IT_WORK/stream.${k%%:*}.log"
	STREAM[${k%%:*}]=$pid
done
for k in live4 live6 term4; do
	for i in $(seq 300); do
		[ -s "$IT_WORK/stream.$k" ] && break
		kill -0 "${STREAM[$k]}" 2>/dev/null || break
		sleep 0.01
	done
	it_check "stream $k got going" stream_alive "$k"
done
ON4=$(stream_field live4 1) ON6=$(stream_field live6 1) ONT=$(stream_field term4 1)
it_log "long-lived connections: live4 on ${ON4:-?}, live6 on ${ON6:-?}, term4 on ${ONT:-?}"
it_check "term4's stream is on be-2, its only backend" test "$ONT" = be-2
if [ -z "$ON4" ] || [ -z "$ON6" ]; then it_die "the long-lived connections did not start"; fi
n_of() { echo "${1#be-}"; } # be-2 -> 2

# ==== B: live4/live6 gain be-3; term4's be-2 terminates, be-3 takes new flows ====
LIVE4="[{ip: 10.1.0.11, port: 8080}, {ip: 10.1.0.12, port: 8080}, {ip: 10.1.0.13, port: 8080}]"
LIVE6='[{ip: "fd00:1::11", port: 8080}, {ip: "fd00:1::12", port: 8080}, {ip: "fd00:1::13", port: 8080}]'
TERM4="[{ip: 10.1.0.12, port: 8080, state: terminating}, {ip: 10.1.0.13, port: 8080}]"
step b-add-terminate <<-'E'
	service live4 10.96.0.30:80/TCP | + backend 10.1.0.13:8080 weight 1
	service live6 [fd00:96::30]:80/TCP | + backend [fd00:1::13]:8080 weight 1
	service term4 10.96.0.31:80/TCP | + backend 10.1.0.13:8080 weight 1
	service term4 10.96.0.31:80/TCP | ~ backend 10.1.0.12:8080: active -> terminating
E
for k in live4 live6 term4; do
	it_check "b: stream $k still works after be-3 came and be-2 of term4 terminates" stream_alive "$k"
done
conns "b: 50 new connections to term4 all reach be-3, none the terminating be-2" \
	--dst 10.96.0.31 --port 80 -n 50 --expect be-3
conns "b: live4 now reaches be-1, be-2 and be-3" --dst 10.96.0.30 --port 80 -n 40 --expect be-1,be-2,be-3

# ==== C: a backend that no long-lived connection uses leaves live4 and live6 ====
GONE=
for b in be-1 be-2 be-3; do
	[ "$b" != "$ON4" ] && [ "$b" != "$ON6" ] && { GONE=$b; break; }
done
KEEP=$(for b in be-1 be-2 be-3; do [ "$b" != "$GONE" ] && echo "$b"; done | paste -sd,)
g=$(n_of "$GONE")
LIVE4="[$(for b in ${KEEP//,/ }; do printf '{ip: 10.1.0.1%s, port: 8080}\n' "$(n_of "$b")"; done | paste -sd,)]"
LIVE6="[$(for b in ${KEEP//,/ }; do printf '{ip: "fd00:1::1%s", port: 8080}\n' "$(n_of "$b")"; done | paste -sd,)]"
it_log "removing $GONE from live4 and live6, keeping $KEEP"
step c-remove <<-E
	service live4 10.96.0.30:80/TCP | - backend 10.1.0.1$g:8080 weight 1
	service live6 [fd00:96::30]:80/TCP | - backend [fd00:1::1$g]:8080 weight 1
E
for k in live4 live6 term4; do
	it_check "c: stream $k still works after $GONE left live4/live6" stream_alive "$k"
done
conns "c: new connections to live4 never reach the removed $GONE" \
	--dst 10.96.0.30 --port 80 -n 40 --expect "$KEEP"
conns "c: new connections to live6 never reach the removed $GONE" \
	--dst fd00:96::30 --port 80 -n 40 --expect "$KEEP"

# ==== D: live4/live6 weights change (1 -> 3 for the first kept backend,
# 1 -> 2 for the second) ====
k1=$(n_of "${KEEP%,*}") k2=$(n_of "${KEEP#*,}")
LIVE4="[{ip: 10.1.0.1$k1, port: 8080, weight: 3}, {ip: 10.1.0.1$k2, port: 8080, weight: 2}]"
LIVE6="[{ip: \"fd00:1::1$k1\", port: 8080, weight: 3}, {ip: \"fd00:1::1$k2\", port: 8080, weight: 2}]"
step d-weights <<-E
	service live4 10.96.0.30:80/TCP | ~ backend 10.1.0.1$k1:8080: weight 1 -> 3
	service live4 10.96.0.30:80/TCP | ~ backend 10.1.0.1$k2:8080: weight 1 -> 2
	service live6 [fd00:96::30]:80/TCP | ~ backend [fd00:1::1$k1]:8080: weight 1 -> 3
	service live6 [fd00:96::30]:80/TCP | ~ backend [fd00:1::1$k2]:8080: weight 1 -> 2
E
for k in live4 live6 term4; do
	it_check "d: stream $k still works after the weights changed" stream_alive "$k"
done
sleep 0.5
for k in live4 live6 term4; do
	kill -TERM "${STREAM[$k]}" 2>/dev/null
	wait "${STREAM[$k]}"
	rc=$?
	cat "$IT_WORK/stream.$k.log"
	it_check "stream $k saw no error and stayed on its backend through every apply (exit $rc)" test "$rc" -eq 0
done
it_check "the term4 connection stayed on the terminating be-2 to the end" test "$(stream_field term4 1)" = be-2

# ==== E: api, gone4 and gone6 removed ====
REMOVED=1
# The kernel does not record service names: a service that left the state
# is named by its frontend alone.
step e-remove-services <<-'E'
	service 10.96.0.11:443/TCP | - service 10.96.0.11:443/TCP
	service 10.96.0.11:443/TCP | - backend 10.1.0.11:8080 weight 1
	service 10.96.0.20:80/TCP | - service 10.96.0.20:80/TCP
	service 10.96.0.20:80/TCP | - backend 10.1.0.13:8083 weight 1
	service [fd00:96::20]:80/TCP | - service [fd00:96::20]:80/TCP
	service [fd00:96::20]:80/TCP | - backend [fd00:1::13]:8083 weight 1
E
# map_has MAP KIND ADDR PORT [PROTO]: the pinned map holds an entry for it
# (sluice_services: a frontend key; sluice_backends: a backend value).
map_has() {
	bpftool -j map dump pinned "$SLUICE_PIN_DIR/$1" | "$IT_PY" -c '
import ipaddress, json, sys
kind, addr, port = sys.argv[1], ipaddress.ip_address(sys.argv[2]), int(sys.argv[3])
proto = {"TCP": 6, "UDP": 17}.get(sys.argv[4] if len(sys.argv) > 4 else "", None)
raw = addr.packed.ljust(16, b"\0")
fam = 4 if addr.version == 4 else 6
for e in json.load(sys.stdin):
    b = bytes(int(x, 16) for x in e["key" if kind == "service" else "value"])
    if b[:16] == raw and b[16:18] == port.to_bytes(2, "big") and \
       (kind == "service" and b[19] == fam and (proto is None or b[18] == proto) or kind == "backend" and b[18] == fam):
        sys.exit(0)
sys.exit(1)' "$2" "$3" "$4" "${5:-}"
}
map_lacks() { ! map_has "$@"; }
map_count() { bpftool -j map dump pinned "$SLUICE_PIN_DIR/$1" | "$IT_PY" -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
for fe in "10.96.0.11 443" "10.96.0.20 80" "fd00:96::20 80"; do
	# shellcheck disable=SC2086
	it_check "e: sluice_services holds no entry for the removed frontend ${fe% *} port ${fe#* }" \
		map_lacks sluice_services service $fe TCP
done
it_check "e: sluice_services still holds web4 (a sanity check of the lookup)" \
	map_has sluice_services service 10.96.0.10 80 TCP
n=$(map_count sluice_services)
it_check "e: sluice_services holds the 19 services left ($n)" test "$n" -eq 19
for be in "10.1.0.13 8083" "fd00:1::13 8083"; do
	# shellcheck disable=SC2086
	it_check "e: sluice_backends no longer holds ${be% *} port ${be#* } (used by no service left)" \
		map_lacks sluice_backends backend $be
done
it_check "e: sluice_backends keeps 10.1.0.11:8080 (api shared it with web4)" \
	map_has sluice_backends backend 10.1.0.11 8080
# Backends in use: v4 .11/.12:8080, .13:8081, .11/.12:5353, .13:8080 (term4),
# v6 ::11/::12/::13:8080, ::13:8081, ::12/::13:5353 (live6's removed one is
# still weighted6's), and the four of closed4/6 and late4/6; the terminating
# .12:5353 and ::11:8080 are the same entries as the active ones (one
# backend, two services).
n=$(map_count sluice_backends)
it_check "e: sluice_backends holds the 16 backends in use ($n)" test "$n" -eq 16
conns "e: 10.96.0.20:80 (gone4's frontend) is no longer translated: the world answers" \
	--dst 10.96.0.20 --port 80 -n 5 --expect world
conns "e: [fd00:96::20]:80 (gone6's frontend) is no longer translated: the world answers" \
	--dst fd00:96::20 --port 80 -n 5 --expect world
conns "e: 10.96.0.11:443 (api's frontend) is no longer translated: the world answers" \
	--dst 10.96.0.11 --port 443 -n 5 --expect world
conns "e: web4 still reaches be-1 and be-2" --dst 10.96.0.10 --port 80 --expect be-1,be-2

# ==== F: drift in the service maps ====
it_log "---- f-drift: web4's service entry and web4-alt's backend deleted with bpftool"
svc_key=$("$IT_PY" -c 'import ipaddress; print(" ".join("%02x" % b for b in ipaddress.ip_address("10.96.0.10").packed.ljust(16, b"\0") + (80).to_bytes(2, "big") + bytes([6, 4])))')
# shellcheck disable=SC2086
it_check "bpftool deletes web4's service entry" bpftool map delete pinned "$SLUICE_PIN_DIR/sluice_services" key hex $svc_key
be_id=$(bpftool -j map dump pinned "$SLUICE_PIN_DIR/sluice_backends" | "$IT_PY" -c '
import json, sys
for e in json.load(sys.stdin):
    v = [int(x, 16) for x in e["value"]]
    if v[:4] == [10, 1, 0, 13] and v[16:19] == [0x1f, 0x91, 4]:
        print(" ".join(x[2:] for x in e["key"]))')
it_check "found the backend entry of 10.1.0.13:8081 (${be_id:-none})" test -n "$be_id"
# shellcheck disable=SC2086
[ -n "$be_id" ] && it_check "bpftool deletes the backend 10.1.0.13:8081" \
	bpftool map delete pinned "$SLUICE_PIN_DIR/sluice_backends" key hex $be_id
conns "f: with its entry gone, web4's frontend is not translated: the world answers" \
	--dst 10.96.0.10 --port 80 -n 5 --expect world
conns "f: with its backend gone, web4-alt answers no new connection" \
	--dst 10.96.0.10 --port 81 -n 3 --timeout 0.5 --fail
it_sluice 2 diff "$STATE" && sed 's/^/   | /' "$IT_OUT"
it_check "f: diff names the missing service entry" grep -q '^  + service 10.96.0.10:80/TCP' "$IT_OUT"
it_check "f: diff names the missing backend" grep -q '^  + backend 10.1.0.13:8081' "$IT_OUT"
it_sluice 0 apply "$STATE" && sed 's/^/   | /' "$IT_OUT"
it_converged "$STATE"
conns "f: repaired: web4 reaches be-1 and be-2 again" --dst 10.96.0.10 --port 80 --expect be-1,be-2
conns "f: repaired: web4-alt reaches be-3 again" --dst 10.96.0.10 --port 81 -n 5 --expect be-3
it_finish
