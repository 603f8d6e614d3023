#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A trivial transparent TCP proxy for sluice's L7 redirect; standard library only.

tproxy.py --port P [--bind ADDR] [--mark M] [--log FILE] [--ready FILE] [--no-upstream] [--to ADDR:PORT]

Listens on [::]:P (IPv4 too; --bind: another address, e.g. 127.0.0.1) with IP_TRANSPARENT, as state-format.md's
"L7 redirect" asks of a proxy: every connection it accepts has the
original destination as its local address. For each, it writes a line to
FILE ("accept PEER-ADDR PEER-PORT LOCAL-ADDR LOCAL-PORT", IPv4 without the
::ffff: prefix), connects onward to the local address from the node's own
address with SO_MARK M (default 0xB00: sluice neither redirects nor judges
it again) and copies bytes both ways, half-closes included. With
--no-upstream it answers each connection itself ("proxied\\n") and closes.
A connection made to the proxy's own port (reached directly, not
redirected) goes onward to --to (bench/proxy compares the two).

Runs until SIGTERM/SIGINT; the tests start it in the node's namespace and
kill it by pid. It is what bench/proxy measures the redirect with, and
what the integration tests use where no layer-7 decision is under test
(tests/integration/test-proxy.sh uses Squid for that).
"""
import argparse
import ipaddress
import signal
import socket
import sys
import threading

SOL_IP = 0
IP_TRANSPARENT = 19


def plain(addr):
    a = ipaddress.ip_address(addr.split("%")[0])
    if a.version == 6 and a.ipv4_mapped:
        return str(a.ipv4_mapped)
    return str(a)


def pump(src, dst):
    try:
        while True:
            b = src.recv(65536)
            if not b:
                break
            dst.sendall(b)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def serve(conn, peer, args, log_lock):
    local = conn.getsockname()
    laddr, lport = plain(local[0]), local[1]
    if args.log:
        with log_lock, open(args.log, "a") as f:
            f.write(f"accept {plain(peer[0])} {peer[1]} {laddr} {lport}\n")
    if args.no_upstream:
        try:
            conn.sendall(b"proxied\n")
        finally:
            conn.close()
        return
    if lport == args.port and args.to:
        laddr, lport = args.to.rsplit(":", 1)
        laddr, lport = laddr.strip("[]"), int(lport)
    fam = socket.AF_INET6 if ":" in laddr else socket.AF_INET
    up = socket.socket(fam, socket.SOCK_STREAM)
    try:
        up.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        up.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, args.mark)
        up.settimeout(5)
        up.connect((laddr, lport))
        up.settimeout(None)
    except OSError as e:
        if args.log:
            with log_lock, open(args.log, "a") as f:
                f.write(f"upstream-error {laddr} {lport} {e}\n")
        up.close()
        conn.close()
        return
    t = threading.Thread(target=pump, args=(up, conn), daemon=True)
    t.start()
    pump(conn, up)
    t.join()
    up.close()
    conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mark", type=lambda s: int(s, 0), default=0xB00)
    ap.add_argument("--log")
    ap.add_argument("--ready")
    ap.add_argument("--no-upstream", action="store_true")
    ap.add_argument("--to")
    ap.add_argument("--bind", default="::")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    v6 = ":" in args.bind
    ls = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if v6:
        ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    ls.setsockopt(SOL_IP, IP_TRANSPARENT, 1)
    ls.bind((args.bind, args.port))
    ls.listen(512)
    if args.ready:
        open(args.ready, "w").close()
    lock = threading.Lock()
    try:
        while True:
            conn, peer = ls.accept()
            threading.Thread(target=serve, args=(conn, peer, args, lock), daemon=True).start()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
