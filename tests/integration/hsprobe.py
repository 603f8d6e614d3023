#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""hsprobe.py: traffic for test-hostservices.sh (host-reachable services).

server: named servers, TCP and UDP, both families (dual-stack sockets on
  "::"). They tell the client who answered and what they saw:
  TCP: a banner "NAME PEER LOCAL\\n" on every connection (PEER: the
  client's address as the server sees it, LOCAL: the server's own address),
  then "NAME LINE\\n" for each line; UDP: "NAME PEER LOCAL DATA", sent from
  the address the datagram was sent to. IPv4 addresses are written plain
  (not v4-mapped).

Clients (exit 0 when every check holds, 1 otherwise; one summary line and
a PROBLEM line per failed check on stdout):
  conns    N connections (tcp), connected UDP sockets (udpc) or unconnected
           UDP sockets (udp) to --dst/--port, one exchange each (after
           --give-up failures the rest count as failed, untried): which
           backend answered (--expect, --weights/--tol), the frontend as the
           socket's peer (getpeername, tcp and udpc) and as each UDP reply's
           source (recvfrom, udp and udpc), what the server saw as the peer
           (--peer-seen); --record FILE writes one line per exchange:
           "BACKEND PEER-SEEN SERVER-ADDR CLIENT-ADDR CLIENT-PORT".
  sticky   unconnected UDP: --sockets sockets each send -k datagrams to the
           frontend (sendto, then recvfrom): every reply of one socket comes
           from one backend, and from the frontend's address.
  refused  N attempts, each must fail with ECONNREFUSED within --limit
           seconds, at the call --at names (connect() for tcp and udpc,
           sendto() for udp); never a timeout.
  udpsock  one unconnected UDP socket kept for the whole run, sending a
           datagram to the frontend when asked (a file DIR/req.N) and
           writing who answered, from where (DIR/rep.N).
  stream   one long-lived TCP connection through the frontend: a line every
           --interval, each echoed by the backend of the banner; --status
           FILE holds "BACKEND OK ERRORS" after each exchange; SIGTERM ends
           it (exit 0 when no error).
"""
import argparse
import collections
import errno
import ipaddress
import os
import signal
import socket
import struct
import sys
import threading
import time


def fam(a):
    return socket.AF_INET6 if ":" in a else socket.AF_INET


def plain(a):
    """An address as text, v4-mapped IPv6 written as IPv4, no scope."""
    ip = ipaddress.ip_address(a.split("%")[0])
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return str(ip)


def same(a, b):
    return plain(a) == plain(b)


def readline(s, buf):
    while b"\n" not in buf[0]:
        b = s.recv(4096)
        if not b:
            raise OSError("connection closed by the peer")
        buf[0] += b
    line, buf[0] = buf[0].split(b"\n", 1)
    return line.decode()


def ready(path):
    with open(path + ".tmp", "w") as f:
        f.write("%d\n" % os.getpid())
    os.rename(path + ".tmp", path)


# ---- server ----

def server(a):
    name = a.name.encode()

    def tcp(p):
        ls = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        ls.bind(("::", p))
        ls.listen(1024)

        def handle(s, peer):
            buf = [b""]
            try:
                s.sendall(b"%s %s %s\n" % (name, plain(peer[0]).encode(), plain(s.getsockname()[0]).encode()))
                while True:
                    line = readline(s, buf)
                    s.sendall(name + b" " + line.encode() + b"\n")
            except OSError:
                pass
            finally:
                s.close()

        def loop():
            while True:
                try:
                    s, peer = ls.accept()
                except OSError:
                    continue
                threading.Thread(target=handle, args=(s, peer), daemon=True).start()
        threading.Thread(target=loop, daemon=True).start()

    def udp(p):
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
        s.bind(("::", p))

        def loop():
            while True:
                try:
                    data, anc, _, peer = s.recvmsg(65536, socket.CMSG_SPACE(20))
                    info = [v for l, t, v in anc if l == socket.IPPROTO_IPV6 and t == socket.IPV6_PKTINFO]
                    local = socket.inet_ntop(socket.AF_INET6, info[0][:16]) if info else "?"
                    rep = [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, v[:16] + struct.pack("@I", 0)) for v in info]
                    s.sendmsg([b"%s %s %s %s" % (name, plain(peer[0]).encode(), plain(local).encode(), data)],
                              rep, 0, peer)
                except OSError:
                    continue
        threading.Thread(target=loop, daemon=True).start()

    for p in a.tcp or []:
        tcp(p)
    for p in a.udp or []:
        udp(p)
    ready(a.ready)
    while True:
        time.sleep(3600)


# ---- one exchange ----

class Ex:
    """What one exchange showed."""
    __slots__ = ("backend", "seen", "server", "caddr", "cport", "peer", "src")

    def __init__(self, **kw):
        for k in self.__slots__:
            setattr(self, k, kw.get(k))


def one_tcp(a, i):
    s = socket.socket(fam(a.dst), socket.SOCK_STREAM)
    try:
        s.settimeout(a.timeout)
        s.connect((a.dst, a.port))
        peer = s.getpeername()
        me = s.getsockname()
        buf = [b""]
        backend, seen, srv = readline(s, buf).split(" ")
        msg = "conn %d" % i
        s.sendall(msg.encode() + b"\n")
        echo = readline(s, buf)
        if echo != backend + " " + msg:
            raise OSError("echo %r after banner of %r" % (echo, backend))
        return Ex(backend=backend, seen=seen, server=srv, caddr=plain(me[0]), cport=me[1], peer=peer[:2])
    finally:
        s.close()


def udp_reply(data, msg):
    parts = data.split(b" ", 3)
    if len(parts) != 4 or parts[3] != msg:
        raise OSError("reply %r to %r" % (data, msg))
    return parts[0].decode(), parts[1].decode(), parts[2].decode()


def one_udp(a, i, connected):
    s = socket.socket(fam(a.dst), socket.SOCK_DGRAM)
    try:
        s.settimeout(a.timeout)
        msg = b"dgram %d" % i
        peer = None
        if connected:
            s.connect((a.dst, a.port))
            peer = s.getpeername()
            s.send(msg)
        else:
            s.sendto(msg, (a.dst, a.port))
        me = s.getsockname()
        data, src = s.recvfrom(65536)
        backend, seen, srv = udp_reply(data, msg)
        # An unconnected socket is bound to the wildcard address: its
        # datagrams left from the address the server saw.
        caddr = plain(me[0])
        if ipaddress.ip_address(caddr).is_unspecified:
            caddr = seen
        return Ex(backend=backend, seen=seen, server=srv, caddr=caddr, cport=me[1],
                  peer=peer[:2] if peer else None, src=src[:2])
    finally:
        s.close()


def is_frontend(a, addr):
    return addr is not None and same(addr[0], a.dst) and addr[1] == a.port


# ---- conns ----

def conns(a):
    fn = {"tcp": one_tcp,
          "udpc": lambda a, i: one_udp(a, i, True),
          "udp": lambda a, i: one_udp(a, i, False)}[a.proto]
    res = [None] * a.n
    nxt = [0]
    failed = [0]
    retried = [0]
    lock = threading.Lock()

    def work():
        while True:
            with lock:
                i = nxt[0]
                nxt[0] += 1
                if i >= a.n:
                    return
                if failed[0] >= a.give_up:
                    res[i] = OSError("not tried: %d failed before" % failed[0])
                    continue
            try:
                res[i] = fn(a, i)
            except socket.timeout as e:
                # A timed-out exchange is tried once more with a new socket
                # (at most --retry-timeouts in all, each reported): the
                # test proves with the drop counters that the datapath
                # dropped nothing meanwhile.
                with lock:
                    again = retried[0] < a.retry_timeouts
                    retried[0] += again
                try:
                    if not again:
                        raise e
                    res[i] = fn(a, i)
                except Exception as e2:  # noqa: BLE001
                    res[i] = e2
                    with lock:
                        failed[0] += 1
            except Exception as e:  # noqa: BLE001
                res[i] = e
                with lock:
                    failed[0] += 1
    ts = [threading.Thread(target=work) for _ in range(min(a.workers, a.n))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    good = [r for r in res if isinstance(r, Ex)]
    errs = collections.Counter(type(r).__name__ + ": " + str(r) for r in res if not isinstance(r, Ex))
    if len(errs) > 5:
        errs = dict(errs.most_common(5), more="%d other errors" % (len(errs) - 5))
    by = collections.Counter(r.backend for r in good)
    seen = collections.Counter(r.seen for r in good)
    bad = []
    if errs:
        bad.append("%d of %d failed: %s" % (a.n - len(good), a.n, dict(errs)))
    if a.proto in ("tcp", "udpc"):
        wrong = collections.Counter("%s:%d" % r.peer for r in good if not is_frontend(a, r.peer))
        if wrong:
            bad.append("getpeername() is not the frontend: %s" % dict(wrong))
    if a.proto in ("udp", "udpc"):
        wrong = collections.Counter("%s:%d" % r.src for r in good if not is_frontend(a, r.src))
        if wrong:
            bad.append("UDP replies not from the frontend (recvfrom): %s" % dict(wrong))
    want = a.expect.split(",") if a.expect else []
    other = {k: v for k, v in by.items() if k not in want}
    if other:
        bad.append("reached %s, not among %s" % (other, want))
    miss = [w for w in want if not by[w]]
    if miss and not a.some and good:
        bad.append("never reached %s" % miss)
    if a.peer_seen:
        wrong = {k: v for k, v in seen.items() if not same(k, a.peer_seen)}
        if wrong:
            bad.append("the server saw the peer %s, want %s" % (dict(wrong), a.peer_seen))
    shares = []
    if a.weights:
        ws = [float(w) for w in a.weights.split(",")]
        for w, wt in zip(want, ws):
            got = 100.0 * by[w] / a.n
            exp = 100.0 * wt / sum(ws)
            shares.append("%s %d (%.1f%%, weight share %.1f%%)" % (w, by[w], got, exp))
            if abs(got - exp) > a.tol:
                bad.append("%s has %.1f%% of the connections, its weight share is %.1f%% (tolerance %g points)"
                           % (w, got, exp, a.tol))
    if a.record:
        with open(a.record, "w") as f:
            for r in good:
                f.write("%s %s %s %s %d\n" % (r.backend, r.seen, r.server, r.caddr, r.cport))
    checked = [x for x, on in (("getpeername() = frontend", a.proto != "udp"),
                               ("reply source = frontend", a.proto != "tcp")) if on]
    print("   %s %s port %d: %d/%d answered%s; by backend: %s; server saw peer %s%s%s" % (
        a.proto, a.dst, a.port, len(good), a.n,
        " (%d timed out once and were tried again)" % retried[0] if retried[0] else "",
        ", ".join(shares) if shares else dict(sorted(by.items())),
        dict(sorted(seen.items())), "; " + ", ".join(checked) if good and not bad else "",
        "".join("\n   PROBLEM: " + b for b in bad)))
    return 1 if bad else 0


# ---- sticky ----

def sticky(a):
    bad = []
    per = []
    for j in range(a.sockets):
        s = socket.socket(fam(a.dst), socket.SOCK_DGRAM)
        s.settimeout(a.timeout)
        got = collections.Counter()
        try:
            for i in range(a.k):
                msg = b"sock %d dgram %d" % (j, i)
                s.sendto(msg, (a.dst, a.port))
                data, src = s.recvfrom(65536)
                backend, _, _ = udp_reply(data, msg)
                got[backend] += 1
                if not is_frontend(a, src[:2]):
                    bad.append("socket %d: reply %d from %s port %d, not the frontend" % (j, i, src[0], src[1]))
        except OSError as e:
            bad.append("socket %d: %s" % (j, e))
        finally:
            s.close()
        if len(got) > 1:
            bad.append("socket %d: its datagrams reached several backends: %s" % (j, dict(got)))
        per.append(next(iter(got)) if len(got) == 1 else "?")
    want = a.expect.split(",") if a.expect else []
    by = collections.Counter(per)
    other = {k: v for k, v in by.items() if k not in want and k != "?"}
    if other:
        bad.append("reached %s, not among %s" % (other, want))
    if a.spread and len([k for k in by if k != "?"]) < 2:
        bad.append("all %d sockets reached the same backend %s (want a choice per socket)" % (a.sockets, dict(by)))
    print("   unconnected udp %s port %d: %d sockets x %d datagrams; sockets by backend: %s%s" % (
        a.dst, a.port, a.sockets, a.k, dict(sorted(by.items())), "".join("\n   PROBLEM: " + b for b in bad[:10])))
    return 1 if bad else 0


# ---- refused ----

def refused(a):
    bad = 0
    for i in range(a.n):
        s = socket.socket(fam(a.dst), socket.SOCK_STREAM if a.proto == "tcp" else socket.SOCK_DGRAM)
        s.settimeout(a.timeout)
        t0 = time.monotonic()
        at = "connect()"
        try:
            if a.proto == "udp":
                at = "sendto()"
                s.sendto(b"hello %d" % i, (a.dst, a.port))
                at = "recvfrom()"
                s.recvfrom(65536)
            else:
                s.connect((a.dst, a.port))
                if a.proto == "udpc":
                    at = "send()"
                    s.send(b"hello %d" % i)
                    at = "recv()"
                    s.recv(65536)
                else:
                    at = "after connect()"
            what = "no error"
        except OSError as e:
            what = errno.errorcode.get(e.errno, str(e)) if e.errno else type(e).__name__
        finally:
            s.close()
        dt = time.monotonic() - t0
        want_at = a.at or ("sendto()" if a.proto == "udp" else "connect()")
        ok = what == "ECONNREFUSED" and dt <= a.limit and at == want_at
        bad += not ok
        print("   %s %s port %d #%d: %s at %s after %.3f s%s" % (
            a.proto, a.dst, a.port, i, what, at, dt,
            "" if ok else "  <- want ECONNREFUSED at %s within %g s" % (want_at, a.limit)))
    return 1 if bad else 0


# ---- udpsock ----

def udpsock(a):
    """One unconnected UDP socket for the whole run: for each request file
    DIR/req.N (N = 1, 2, ...) as it appears, one datagram to the frontend
    (sendto) and its reply (recvfrom), written to DIR/rep.N as "BACKEND
    SOURCE-ADDRESS SOURCE-PORT", or "error TEXT". DIR/stop ends it."""
    s = socket.socket(fam(a.dst), socket.SOCK_DGRAM)
    s.settimeout(a.timeout)
    n = 1
    end = time.monotonic() + a.deadline
    while time.monotonic() < end and not os.path.exists(os.path.join(a.dir, "stop")):
        if not os.path.exists(os.path.join(a.dir, "req.%d" % n)):
            time.sleep(0.01)
            continue
        msg = b"req %d" % n
        try:
            s.sendto(msg, (a.dst, a.port))
            data, src = s.recvfrom(65536)
            backend, _, _ = udp_reply(data, msg)
            out = "%s %s %d" % (backend, plain(src[0]), src[1])
        except OSError as e:
            out = "error %s" % e
        with open(os.path.join(a.dir, "rep.%d.tmp" % n), "w") as f:
            f.write(out + "\n")
        os.rename(os.path.join(a.dir, "rep.%d.tmp" % n), os.path.join(a.dir, "rep.%d" % n))
        n += 1
    s.close()
    return 0


# ---- stream ----

def stream(a):
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *x: stop.set())
    s = socket.socket(fam(a.dst), socket.SOCK_STREAM)
    s.settimeout(a.timeout)
    try:
        s.connect((a.dst, a.port))
        peer = s.getpeername()
        buf = [b""]
        name = readline(s, buf).split(" ")[0]
    except OSError as e:
        print("   stream %s port %d: no connection: %s" % (a.dst, a.port, e))
        return 1
    n = ok = 0
    errors = []
    if not is_frontend(a, peer[:2]):
        errors.append("getpeername() %s port %d is not the frontend" % peer[:2])
    while not stop.is_set() and not errors:
        n += 1
        msg = "seq %d" % n
        try:
            s.sendall(msg.encode() + b"\n")
            echo = readline(s, buf)
            if echo != name + " " + msg:
                raise OSError("echo %r for %r from %s" % (echo, msg, name))
            ok += 1
        except Exception as e:  # noqa: BLE001
            errors.append("#%d: %s" % (n, e))
        with open(a.status + ".tmp", "w") as f:
            f.write("%s %d %d\n" % (name, ok, len(errors)))
        os.rename(a.status + ".tmp", a.status)
        if not errors:
            stop.wait(a.interval)
    s.close()
    print("   stream %s port %d on %s: %d exchanges, %d ok, %d errors%s" % (
        a.dst, a.port, name, n, ok, len(errors), "".join("\n   error " + e for e in errors)))
    return 1 if errors else 0


def main():
    ap = argparse.ArgumentParser(description="traffic for test-hostservices.sh (see the module's text)")
    sub = ap.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("server")
    p.add_argument("--name", required=True)
    p.add_argument("--tcp", type=int, action="append")
    p.add_argument("--udp", type=int, action="append")
    p.add_argument("--ready", required=True)
    for m in ("conns", "sticky", "refused", "stream", "udpsock"):
        p = sub.add_parser(m)
        p.add_argument("--dst", required=True)
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--proto", default="tcp", choices=["tcp", "udp", "udpc"])
        p.add_argument("-n", type=int, default=20)
        p.add_argument("--timeout", type=float, default=2.0)
        p.add_argument("--workers", type=int, default=8)
        p.add_argument("--expect")
        p.add_argument("--some", action="store_true", help="need not reach every one of --expect")
        p.add_argument("--weights")
        p.add_argument("--tol", type=float, default=8.0)
        p.add_argument("--peer-seen")
        p.add_argument("--record")
        p.add_argument("--sockets", type=int, default=20)
        p.add_argument("-k", type=int, default=5)
        p.add_argument("--spread", action="store_true", help="sticky: the sockets reach at least 2 backends")
        p.add_argument("--limit", type=float, default=0.5)
        p.add_argument("--give-up", type=int, default=10, help="conns: try no more after this many failures")
        p.add_argument("--retry-timeouts", type=int, default=0,
                       help="conns: try a timed-out exchange once more, at most this many times")
        p.add_argument("--at")
        p.add_argument("--status")
        p.add_argument("--interval", type=float, default=0.1)
        p.add_argument("--dir", help="udpsock: where the requests and replies are")
        p.add_argument("--deadline", type=float, default=300, help="udpsock: the longest it runs")
    a = ap.parse_args()
    return {"server": server, "conns": conns, "sticky": sticky, "refused": refused, "stream": stream,
            "udpsock": udpsock}[a.mode](a)


if __name__ == "__main__":
    sys.exit(main())
