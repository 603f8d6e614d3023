#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Traffic for the integration tests; standard library only.

probe.py server --port P [--port P...] [--ready FILE]
    TCP and UDP echo on every port, both families (one dual-stack socket
    each). UDP replies leave from the address the datagram was sent to.

probe.py client [--src4 A] [--src6 A] [--timeout S] [--port-base N]
    Reads probes from standard input, one a line: LABEL... ADDR KIND, where
    KIND is icmp, tcp/PORT or udp/PORT. Runs them all at once (a thread
    each) and prints one line per probe, in input order:
    LABEL... ADDR KIND ok|fail. Probe i binds source port (TCP, UDP) or
    uses echo identifier (ICMP) PORT_BASE + i, so that no probe of a test
    ever repeats the flow tuple of an earlier one: a denied probe cannot
    ride on the connection tracking entry of an earlier allowed one.

probe.py stream --dst A --port P [--src A] [--interval S] [--timeout S] [--ready F]
    One long-lived TCP connection: every interval (default 0.1 s) it sends
    a line and waits for its echo (at most --timeout, default 1 s).
probe.py churn (same options)
    A new TCP connection every interval (default 0.02 s): connect, send a
    line, wait for its echo, close.
    Both run until SIGTERM/SIGINT, write F after the first good exchange,
    then print each error and a summary line
    "MODE DST: N exchanges, N ok, N errors, max_rtt_ms X", and exit 0 when
    there was no error, 1 otherwise. A broken stream stops at once.
"""
import argparse
import os
import select
import signal
import socket
import socketserver
import struct
import sys
import threading
import time


# ---- server ----

class EchoHandler(socketserver.BaseRequestHandler):
    def handle(self):
        s = self.request
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    return
                s.sendall(b)
        except OSError:
            return


class DualStackTCP(socketserver.ThreadingTCPServer):
    address_family = socket.AF_INET6
    allow_reuse_address = True
    request_queue_size = 256  # every source connects at once
    daemon_threads = True

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def udp_echo(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
    s.bind(("::", port))

    def loop():
        while True:
            try:
                data, anc, _, peer = s.recvmsg(65536, socket.CMSG_SPACE(20))
                reply_anc = []
                for level, typ, val in anc:
                    if level == socket.IPPROTO_IPV6 and typ == socket.IPV6_PKTINFO:
                        # Reply from the address it was sent to, any interface.
                        reply_anc = [(level, typ, val[:16] + struct.pack("@I", 0))]
                s.sendmsg([data], reply_anc, 0, peer)
            except OSError:
                continue
    threading.Thread(target=loop, daemon=True).start()


def server(args):
    servers = []
    for p in args.port:
        srv = DualStackTCP(("::", p), EchoHandler)
        servers.append(srv)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        udp_echo(p)
    if args.ready:
        with open(args.ready + ".tmp", "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(args.ready + ".tmp", args.ready)
    while True:  # until SIGTERM (its default action ends the process)
        time.sleep(3600)


# ---- client ----

def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def inet_checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def probe_icmp(dst, src, ident, timeout):
    fam = family_of(dst)
    payload = b"sluice-probe-%05d" % ident
    if fam == socket.AF_INET:
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        hdr = struct.pack("!BBHHH", 8, 0, 0, ident, 1)
        pkt = struct.pack("!BBHHH", 8, 0, inet_checksum(hdr + payload), ident, 1) + payload
        want_type = 0
    else:
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        # The kernel fills in the ICMPv6 checksum of raw ICMPv6 sockets.
        pkt = struct.pack("!BBHHH", 128, 0, 0, ident, 1) + payload
        want_type = 129
    try:
        if src:
            s.bind((src, 0))
        try:
            s.sendto(pkt, (dst, 0))
        except OSError:  # ENOBUFS: the host's own packet, dropped by tc
            return False
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([s], [], [], left)[0]:
                return False
            b, peer = s.recvfrom(65536)
            if fam == socket.AF_INET:
                b = b[(b[0] & 0xF) * 4:]
            if len(b) < 8 or peer[0] != dst:
                continue
            t, _, _, i, seq = struct.unpack("!BBHHH", b[:8])
            if t == want_type and i == ident and seq == 1 and b[8:] == payload:
                return True
    finally:
        s.close()


def any_addr(fam):
    return "::" if fam == socket.AF_INET6 else "0.0.0.0"


def probe_tcp(dst, port, src, sport, timeout):
    fam = family_of(dst)
    s = socket.socket(fam, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((src or any_addr(fam), sport))
        s.settimeout(timeout)
        s.connect((dst, port))
        msg = b"probe %d\n" % sport
        s.sendall(msg)
        got = b""
        while len(got) < len(msg):
            b = s.recv(len(msg) - len(got))
            if not b:
                return False
            got += b
        return got == msg
    except OSError:
        return False
    finally:
        s.close()


def probe_udp(dst, port, src, sport, timeout):
    fam = family_of(dst)
    s = socket.socket(fam, socket.SOCK_DGRAM)
    try:
        s.bind((src or any_addr(fam), sport))
        s.connect((dst, port))  # only the echo from dst:port is taken
        s.settimeout(timeout)
        msg = b"probe %d\n" % sport
        s.send(msg)
        return s.recv(65536) == msg
    except OSError:
        return False
    finally:
        s.close()


def client(args):
    probes = []
    for line in sys.stdin:
        f = line.split()
        if f:
            probes.append(f)
    results = [None] * len(probes)

    def run(i, f):
        addr, kind = f[-2], f[-1]
        src = args.src6 if ":" in addr else args.src4
        n = args.port_base + i
        try:
            if kind == "icmp":
                ok = probe_icmp(addr, src, n & 0xFFFF, args.timeout)
            else:
                proto, port = kind.split("/")
                fn = probe_tcp if proto == "tcp" else probe_udp
                ok = fn(addr, int(port), src, n, args.timeout)
        except Exception as e:  # a broken probe is a failed probe, said why
            print("probe %s: %s" % (" ".join(f), e), file=sys.stderr)
            ok = False
        results[i] = ok

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(probes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for f, ok in zip(probes, results):
        print(" ".join(f), "ok" if ok else "fail")
    return 0


# ---- stream, churn ----

def run_until_signal(args, step):
    """Call step() every args.interval seconds until SIGTERM/SIGINT; step
    returns the round trip time in seconds or raises. Prints each error,
    then a summary line; 0 when there was no error."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    n = ok = 0
    errors = []
    max_rtt = 0.0
    while not stop.is_set():
        t0 = time.monotonic()
        n += 1
        try:
            max_rtt = max(max_rtt, step(n))
            ok += 1
            if args.ready and ok == 1:
                with open(args.ready, "w") as f:
                    f.write("ready\n")
        except Exception as e:
            errors.append("%.3f #%d: %s" % (time.time(), n, e or type(e).__name__))
            if len(errors) >= 20 or getattr(step, "fatal", False):
                break
        stop.wait(max(0.0, args.interval - (time.monotonic() - t0)))
    for e in errors:
        print("error", e)
    print("%s %s: %d exchanges, %d ok, %d errors, max_rtt_ms %.1f" % (
        args.mode, args.dst, n, ok, len(errors), max_rtt * 1e3))
    sys.stdout.flush()
    return 1 if errors else 0


def stream(args):
    """One long-lived TCP connection; a line each interval, echoed."""
    fam = family_of(args.dst)
    s = socket.socket(fam, socket.SOCK_STREAM)
    if args.src:
        s.bind((args.src, 0))
    s.settimeout(args.timeout)
    s.connect((args.dst, args.port))
    buf = [b""]

    def step(n):
        t0 = time.monotonic()
        msg = b"seq %d\n" % n
        try:
            s.sendall(msg)
            while b"\n" not in buf[0]:
                b = s.recv(4096)
                if not b:
                    raise OSError("connection closed by the peer")
                buf[0] += b
        except OSError:
            step.fatal = True  # the connection is gone or out of step
            raise
        line, buf[0] = buf[0].split(b"\n", 1)
        if line + b"\n" != msg:
            step.fatal = True
            raise OSError("echo %r for %r" % (line, msg))
        return time.monotonic() - t0
    step.fatal = False
    try:
        return run_until_signal(args, step)
    finally:
        s.close()


def churn(args):
    """A new TCP connection each interval: connect, one line, its echo."""
    fam = family_of(args.dst)

    def step(n):
        t0 = time.monotonic()
        s = socket.socket(fam, socket.SOCK_STREAM)
        try:
            if args.src:
                s.bind((args.src, 0))
            s.settimeout(args.timeout)
            s.connect((args.dst, args.port))
            msg = b"churn %d\n" % n
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                b = s.recv(4096)
                if not b:
                    raise OSError("connection closed by the peer")
                got += b
            if got != msg:
                raise OSError("echo %r for %r" % (got, msg))
            return time.monotonic() - t0
        finally:
            s.close()
    return run_until_signal(args, step)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("server")
    p.add_argument("--port", type=int, action="append", required=True)
    p.add_argument("--ready")
    p = sub.add_parser("client")
    p.add_argument("--src4")
    p.add_argument("--src6")
    p.add_argument("--timeout", type=float, default=0.5)
    p.add_argument("--port-base", type=int, default=20000)
    for mode, interval in (("stream", 0.1), ("churn", 0.02)):
        p = sub.add_parser(mode)
        p.add_argument("--dst", required=True)
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--src")
        p.add_argument("--interval", type=float, default=interval)
        p.add_argument("--timeout", type=float, default=1.0)
        p.add_argument("--ready")
    args = ap.parse_args()
    return {"server": server, "client": client, "stream": stream, "churn": churn}[args.mode](args)


if __name__ == "__main__":
    sys.exit(main())
