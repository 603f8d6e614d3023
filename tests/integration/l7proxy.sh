# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# The L7 redirect's other half, for the integration tests: a real proxy
# (Squid 5, Debian's package) in the node's network namespace, and a small
# HTTP server for endpoints that logs every request it sees. Source it after
# lib.sh, once it_init has run (the test process is the node).
#
#   l7_squid_start DIR PORT   Squid on PORT (IP_TRANSPARENT, both families),
#                             its files in DIR; dies (it_die) with the cache
#                             log when it does not come up.
#   l7_squid_stop             kill it; check that no Squid process is left.
#   l7_squid_log [DIR]        its access log, one line a request (below).
#   l7_http_server NS ADDR PORT LOGFILE
#                             an HTTP server in endpoint NS (a name of
#                             IT_PID or a pid): GET /public answers 200
#                             "public", anything else 404 "not found"; each
#                             request appends "METHOD PATH PEER-ADDR HOST"
#                             to LOGFILE.
#   l7_http_get NS ADDR PORT PATH [HOST]
#                             from NS ("node" or as above), prints
#                             "STATUS BODY" (STATUS 000: no HTTP answer).
#
# The proxy: `http_port PORT tproxy` listens on [::]:PORT (dual-stack, one
# socket, IP_TRANSPARENT) and takes connections whose local address is the
# original destination; it refuses (403) paths that start with /admin and
# forwards the rest to the original destination (getsockname of the
# accepted socket; Host is checked against it but never overrides it), from
# the node's own address (spoof_client_ip deny all), with socket mark 0xB00.
# L7_SQUID_ACCESS, when set, replaces the L7 rules (squid.conf lines; the
# ACL `l7`, the tproxy port, is defined; connections made to the proxy's
# port itself, not steered to it, are refused before them); Squid's hosts
# file holds L7_SQUID_HOSTS ("ADDR NAME" lines) besides localhost. A second
# port, 127.0.0.1:PORT+1, is a forward-proxy port that refuses everything:
# Squid 5 cannot build its internal URLs without one (FATAL: mimeLoadIcon
# ... No forward-proxy ports configured). No DNS server is reachable (names
# not in the hosts file fail after 1 s), and no client address is reverse
# resolved (url_rewrite_extras and store_id_extras without %>A: Squid 5
# resolves every client when any format mentions %>A, even unused ones).
#
# Access log lines (logformat l7):
#   TIME CLIENT-ADDR CLIENT-PORT ORIG-DST-ADDR ORIG-DST-PORT METHOD PATH
#   STATUS SQUID-STATUS UPSTREAM-ADDR UPSTREAM-PORT UPSTREAM-LOCAL-ADDR
#   UPSTREAM-MARK
# ("-" where there was no upstream connection, e.g. a 403).
#
# Squid runs as pid 1 of a pid namespace of its own under a small shell
# with a parent-death signal: Squid drops to the user proxy (setresuid),
# which clears its own parent-death signal, so only the pid namespace
# makes sure that it dies with the test. Its shared memory segments
# (/dev/shm/sluicel7-*, made even with -N) go to a tmpfs of the test's
# mount namespace. DIR must be inside the test's directory: it is given to
# the user proxy, and IT_ROOT becomes traversable (0711) for it.

L7_SQUID_PID=      # Squid's process
L7_SQUID_WRAP=     # the pid namespace's holder (in IT_HELPERS)
L7_SQUID_DIR=
L7_SHM=

l7_squid_config() { # DIR PORT: squid.conf on standard output
	local dir=$1 port=$2
	cat <<-EOF
		# Written by tests/integration/l7proxy.sh.
		http_port $port tproxy name=l7
		http_port 127.0.0.1:$((port + 1)) name=internal
		acl l7 myportname l7
		acl to_proxy localport $port
		http_access deny !l7
		http_access deny to_proxy
	EOF
	if [ -n "${L7_SQUID_ACCESS:-}" ]; then
		printf '%s\n' "$L7_SQUID_ACCESS"
	else
		cat <<-EOF
			acl admin urlpath_regex ^/admin
			http_access deny admin
			http_access allow l7
		EOF
	fi
	cat <<-EOF
		http_access deny all
		spoof_client_ip deny all
		tcp_outgoing_mark 0xB00 all
		host_verify_strict off
		client_dst_passthru on
		cache deny all
		cache_mem 0 MB
		visible_hostname sluice-l7
		dns_nameservers 127.0.0.1
		dns_timeout 1 seconds
		dns_retransmit_interval 1 seconds
		url_rewrite_extras "%>a %un %>rm myip=%la myport=%lp"
		store_id_extras "%>a %un %>rm myip=%la myport=%lp"
		hosts_file $dir/hosts
		pinger_enable off
		shutdown_lifetime 0 seconds
		pid_filename $dir/squid.pid
		coredump_dir $dir
		cache_log $dir/cache.log
		logformat l7 %ts.%03tu %>a %>p %>la %>lp %rm %rp %>Hs %Ss %<a %<p %<la %<nfmark
		access_log stdio:$dir/access.log l7
	EOF
}

# l7_listeners PID PORT: the TCP listeners of process PID on PORT, one a
# line: "FAMILY ADDR transparent=0|1 v6only=0|1" (the process's sockets are
# duplicated with pidfd_getfd and asked; ss does not show IP_TRANSPARENT).
l7_listeners() {
	"$IT_PY" - "$1" "$2" <<-'PY'
		import ctypes, os, socket, sys
		pid, port = int(sys.argv[1]), int(sys.argv[2])
		libc = ctypes.CDLL(None, use_errno=True)
		pidfd = os.pidfd_open(pid)
		for fd in sorted(os.listdir("/proc/%d/fd" % pid), key=int):
		    try:
		        if not os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("socket:"):
		            continue
		    except OSError:
		        continue
		    n = libc.syscall(438, pidfd, int(fd), 0)  # pidfd_getfd
		    if n < 0:
		        continue
		    s = socket.socket(fileno=n)
		    try:
		        if s.family not in (socket.AF_INET, socket.AF_INET6) or s.type != socket.SOCK_STREAM:
		            continue
		        if not s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
		            continue
		        a = s.getsockname()
		        if a[1] != port:
		            continue
		        if s.family == socket.AF_INET:
		            t, v6 = s.getsockopt(socket.SOL_IP, 19), 0  # IP_TRANSPARENT
		            print("ipv4 %s transparent=%d v6only=0" % (a[0], t))
		        else:
		            t = s.getsockopt(socket.IPPROTO_IPV6, 75)  # IPV6_TRANSPARENT
		            v6 = s.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY)
		            print("ipv6 [%s] transparent=%d v6only=%d" % (a[0], t, v6))
		    finally:
		        s.close()
	PY
}

# l7_squid_ready PID PORT: Squid's listeners on PORT are transparent and
# take both families (a dual-stack [::] socket, or one of each).
l7_squid_ready() {
	local l
	l=$(l7_listeners "$1" "$2" 2>/dev/null) || return 1
	[ -n "$l" ] || return 1
	grep -q 'transparent=0' <<< "$l" && return 1
	grep -q '^ipv6 \[::\] .* v6only=0$' <<< "$l" && return 0
	grep -q '^ipv4 ' <<< "$l" && grep -q '^ipv6 ' <<< "$l"
}

l7_squid_start() { # DIR PORT
	local dir=$1 port=$2 t0=${EPOCHREALTIME/./} wrap init
	command -v squid >/dev/null 2>&1 || it_skip "needs squid (Debian's package)"
	[ -z "$L7_SQUID_WRAP" ] || it_die "l7_squid_start: a Squid runs already ($L7_SQUID_PID)"
	case $dir in "$IT_ROOT"/*) ;; *) it_die "l7_squid_start: $dir is not inside $IT_ROOT" ;; esac
	getent passwd proxy >/dev/null || it_skip "needs the user proxy (Squid's cache_effective_user)"
	if [ -z "$L7_SHM" ]; then
		mount -t tmpfs -o mode=1777 sluice-it-shm /dev/shm || it_die "cannot mount a tmpfs on /dev/shm"
		L7_SHM=1
	fi
	chmod 0711 "$IT_ROOT"
	mkdir -p "$dir"
	rm -f "$dir/access.log" "$dir/cache.log" "$dir/squid.pid"
	chown proxy: "$dir"
	l7_squid_config "$dir" "$port" > "$dir/squid.conf"
	printf '127.0.0.1 localhost\n::1 localhost\n%s\n' "${L7_SQUID_HOSTS:-}" > "$dir/hosts"
	if ! squid -n sluicel7 -k parse -f "$dir/squid.conf" > "$dir/parse.log" 2>&1; then
		sed 's/^/   | /' "$dir/parse.log"
		it_die "squid -k parse refuses $dir/squid.conf"
	fi
	L7_SQUID_DIR=$dir
	trap l7_on_exit EXIT
	# bash is the pid namespace's pid 1: it keeps the parent-death signal
	# that unshare --kill-child gives it, and its death takes Squid along.
	# shellcheck disable=SC2016 # expanded by that shell
	it_spawn wrap unshare --pid --fork --kill-child=KILL -- \
		bash -c 'squid -n sluicel7 -N -f "$1" > "$2/stdout.log" 2>&1 & wait $!' sh "$dir/squid.conf" "$dir"
	L7_SQUID_WRAP=$wrap
	L7_SQUID_PID=
	# Until Squid listens (ss, cheap), then its sockets are asked once.
	while [ $((${EPOCHREALTIME/./} - t0)) -lt 10000000 ] && kill -0 "$wrap" 2>/dev/null; do
		if [ -z "$L7_SQUID_PID" ]; then
			init=$(pgrep -P "$wrap" | head -1)
			[ -n "$init" ] && L7_SQUID_PID=$(pgrep -x -P "$init" squid | head -1)
		fi
		[ -n "$L7_SQUID_PID" ] && ss -Hltnp "sport = :$port" | grep -q "pid=$L7_SQUID_PID," && break
		# Squid carries on without a port that it cannot bind.
		grep -q 'Cannot bind\|FATAL' "$dir/cache.log" 2>/dev/null && break
		sleep 0.01
	done
	if [ -z "$L7_SQUID_PID" ] || ! l7_squid_ready "$L7_SQUID_PID" "$port"; then
		echo "   squid's listeners on $port: $( [ -n "$L7_SQUID_PID" ] && l7_listeners "$L7_SQUID_PID" "$port" | tr '\n' ';')"
		sed 's/^/   | /' "$dir/cache.log" "$dir/stdout.log" 2>/dev/null | grep -v 'No forward-proxy ports' | tail -40
		it_die "squid did not listen on $port with IP_TRANSPARENT (cache log above)"
	fi
	it_log "squid (pid $L7_SQUID_PID) listens on $port: $(l7_listeners "$L7_SQUID_PID" "$port" | tr '\n' ' ')" \
		"after $(((${EPOCHREALTIME/./} - t0) / 1000)) ms"
}

# l7_squid_kill: kill the pid namespace's holder and wait until Squid is
# gone (it holds files in DIR: the test's tmpfs could not be unmounted).
l7_squid_kill() {
	local _
	[ -n "$L7_SQUID_WRAP" ] || return 0
	kill -KILL "$L7_SQUID_WRAP" 2>/dev/null
	wait "$L7_SQUID_WRAP" 2>/dev/null
	for _ in $(seq 500); do
		{ [ -n "$L7_SQUID_PID" ] && [ -e "/proc/$L7_SQUID_PID" ]; } || break
		sleep 0.01
	done
	L7_SQUID_WRAP=
}

l7_squid_stop() {
	[ -n "$L7_SQUID_WRAP" ] || return 0
	l7_squid_kill
	it_check "squid (pid $L7_SQUID_PID) is gone after l7_squid_stop" test ! -e "/proc/$L7_SQUID_PID"
	L7_SQUID_PID=
}

# The test's exit: Squid goes first, then lib.sh's cleanup.
l7_on_exit() {
	local rc=$?
	l7_squid_kill
	(exit "$rc")
	it_cleanup
}

l7_squid_log() { # [DIR] (default: the last l7_squid_start's)
	cat "${1:-$L7_SQUID_DIR}/access.log" 2>/dev/null
}

l7_ns() { # NS: a namespace holder's pid, from a name of IT_PID or a pid
	if [ -n "${IT_PID[$1]:-}" ]; then echo "${IT_PID[$1]}"; else echo "$1"; fi
}

l7_http_server() { # NS ADDR PORT LOGFILE
	local ns addr=$2 port=$3 log=$4 pid _
	ns=$(l7_ns "$1")
	rm -f "$log.ready"
	: > "$log"
	it_spawn pid nsenter -t "$ns" -n -- "$IT_PY" -c '
import http.server, socket, socketserver, sys
addr, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
out = open(log, "a", buffering=1)
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        peer = self.client_address[0]
        peer = peer[7:] if peer.startswith("::ffff:") else peer
        out.write("%s %s %s %s\n" % (self.command, self.path, peer, self.headers.get("Host", "-")))
        code, body = (200, b"public") if self.path == "/public" else (404, b"not found")
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_HEAD = do_POST = do_PUT = do_DELETE = do_GET
    def log_message(self, *a):
        pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    address_family = socket.AF_INET6 if ":" in addr else socket.AF_INET
srv = S((addr, port), H)
open(log + ".ready", "w").close()
srv.serve_forever()
' "$addr" "$port" "$log"
	for _ in $(seq 500); do
		[ -e "$log.ready" ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.01
	done
	it_die "the HTTP server of $1 on $addr:$port did not start"
}

l7_http_get() { # NS ADDR PORT PATH [HOST]
	local run=()
	[ "$1" = node ] || run=(nsenter -t "$(l7_ns "$1")" -n --)
	"${run[@]}" "$IT_PY" -c '
import socket, sys
addr, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
host = sys.argv[4] if len(sys.argv) > 4 else ("[%s]" % addr if ":" in addr else addr)
try:
    s = socket.create_connection((addr, port), timeout=float(__import__("os").environ.get("L7_GET_TIMEOUT", "3")))
    s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: sluice-it\r\nConnection: close\r\n\r\n"
               % (path, host)).encode())
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    head, _, body = data.partition(b"\r\n\r\n")
    status = head.split(b" ")[1].decode() if head.startswith(b"HTTP/") else "000"
    print(status, body.decode(errors="replace").replace("\n", " ")[:60] or "-")
except OSError as e:
    print("000", type(e).__name__)
' "$2" "$3" "$4" ${5:+"$5"}
}
