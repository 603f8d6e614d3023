#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""TCP traffic with every byte checked, for socket acceleration; standard library only.

sockload.py server --port P [--bind ADDR] [--ready FILE] [--timeout S]
    Serves the client's checks on P (default bind [::], IPv4 too; --bind
    0.0.0.0 for an IPv4-only socket). Runs until SIGTERM/SIGINT. Each
    connection starts with a header naming the operation; the server's own
    verdict on a connection (what it received, how the connection ended)
    is kept under the connection's token until the client asks for it.

sockload.py client --dst A --port P [options] CHECK...
    Runs the checks in order, prints "ok CHECK: ..." or "FAIL CHECK: ...",
    and exits 0 when all passed; 3 when every failure was a spurious EAGAIN
    (see below); 1 otherwise. CHECK is one of (or "all" for all but long):
      bulk        --up/--down bytes (default 16 MB each way), both
                  directions at once, over one connection
      concurrent  --conns N connections (default 50), all connected before
                  any sends, each a bulk exchange of --conn-bytes each way
      pingpong    --rounds round trips of sizes 1 B .. 64 KB, echoed
      halfclose   client sends, shutdown(SHUT_WR); server reads to EOF,
                  then replies and closes; client reads to EOF
      sendfile    bulk, both sides sending with os.sendfile() from a file
      splice      bulk, both sides sending with os.splice() from a pipe
      reset-client  the client closes with SO_LINGER 0 after an exchange:
                  the server's blocking recv sees ECONNRESET or EOF
      reset-server  the server does: the client's recv sees ECONNRESET or EOF
      short       --count K connections in a row (default 10000): connect,
                  a small message and its echo, close
      long        one connection, an echoed message of random size every
                  --interval s, until SIGTERM/SIGINT (writes --ready FILE
                  after the first good exchange); prints the count
    --repeat N runs each check N times and counts the failures.

sockload.py capture --dev DEV --port P [--ready FILE]
    Counts the TCP packets to or from port P seen on DEV (AF_PACKET, both
    directions) until SIGTERM/SIGINT, then prints one line:
    "packets N syn N payload_packets N payload_bytes N fin N rst N",
    then one line for each of the first 10 packets with payload:
    "  payload SRC PORT > DST PORT len N flags FLAGS".

Every socket is blocking (no O_NONBLOCK, no Python timeout) with
SO_RCVTIMEO/SO_SNDTIMEO set to --timeout (default 10 s): a recv() or send()
that returns EAGAIN before that time has passed is not a timeout but a
spurious EAGAIN (Linux's receive path for sockets in a sockmap,
tcp_bpf_recvmsg, returns it when a blocking reader is woken without data:
docs/datapath.md); it is reported as such ("EAGAIN ...") and never retried.
With --io poll (the client's choice, which its header hands to the server
for that connection) both sides' sockets are O_NONBLOCK and every call that
says EAGAIN is retried once poll() says the socket is ready, as an event
loop does. A
watchdog ends the client after --deadline seconds (default 300) whatever
it is doing. Data: a pseudo-random stream per direction and connection
(random.Random(seed).randbytes), checked byte for byte at the receiver;
a mismatch names the offset.
"""
import argparse
import errno
import os
import random
import select
import signal
import socket
import struct
import sys
import tempfile
import threading
import time

MAGIC = b"SLD1"
HDR = struct.Struct("!4sBBHIQQ")  # magic, op, flags, reserved, token, up, down
OP_BULK, OP_HALFCLOSE, OP_ECHO, OP_RESET_CLIENT, OP_RESET_SERVER, OP_SHORT, OP_RESULT = 1, 2, 3, 4, 5, 6, 7
F_SENDFILE, F_SPLICE, F_POLL = 1, 2, 4  # F_POLL: the server also takes --io poll for it
CHUNK = 65536
TIMEOUT = 10.0


class Eagain(Exception):
    """A blocking call returned EAGAIN before its timeout: not a timeout."""


class Timeout(Exception):
    pass


class Failure(Exception):
    pass


# ---- the data ----

class Stream:
    """A seeded pseudo-random byte stream, read in pieces of any size."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.buf = b""
        self.pos = 0     # offset of buf[0] in the stream
        self.off = 0     # read position within buf

    def take(self, n):
        if self.off + n > len(self.buf):
            rest = self.buf[self.off:]
            need = n - len(rest)
            self.pos += self.off
            self.buf = rest + self.rng.randbytes(max(need, CHUNK))
            self.off = 0
        b = self.buf[self.off:self.off + n]
        self.off += n
        return b

    def check(self, data, what):
        """data must be the stream's next bytes."""
        at = self.pos + self.off
        want = self.take(len(data))
        if data != want:
            i = next(i for i in range(len(data)) if data[i] != want[i])
            raise Failure("%s: byte %d differs (got 0x%02x, want 0x%02x)" % (what, at + i, data[i], want[i]))


def seed_of(token, direction):
    return (token << 1) | direction  # 0: client to server, 1: server to client


# ---- blocking calls with SO_RCVTIMEO / SO_SNDTIMEO ----

# --io poll: every socket O_NONBLOCK, each call retried when poll() says
# the socket is ready, as an event loop (nginx, Envoy, Go's runtime) does.
def set_timeouts(s, t, poll=False):
    tv = struct.pack("ll", int(t), int((t - int(t)) * 1e6))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)
    if poll:
        s.setblocking(False)


def timed(call, what, t, *a, sock=None, write=False):
    t0 = time.monotonic()
    while True:
        try:
            return call(*a)
        except BlockingIOError:
            dt = time.monotonic() - t0
            if dt >= t * 0.9:
                raise Timeout("%s: nothing for %.1f s (timeout)" % (what, dt)) from None
            if sock is None or sock.gettimeout() != 0.0:
                raise Eagain("%s: EAGAIN on a blocking socket after %.3f s (its timeout is %.0f s): "
                             "not a timeout, a spurious EAGAIN" % (what, dt, t)) from None
            p = select.poll()
            p.register(sock, select.POLLOUT if write else select.POLLIN)
            p.poll(max(1, int((t - dt) * 1000)))


def recv(s, n, what, t):
    return timed(s.recv, what, t, n, sock=s)


def recv_exact(s, n, what, t, stream=None):
    """n bytes (checked against stream if given); EOF before is a failure."""
    parts, got = [], 0
    while got < n:
        b = recv(s, min(CHUNK, n - got), what, t)
        if not b:
            raise Failure("%s: EOF after %d of %d bytes" % (what, got, n))
        if stream:
            stream.check(b, what)
        else:
            parts.append(b)
        got += len(b)
    return b"".join(parts)


def recv_eof(s, what, t, stream=None, limit=None):
    """Everything up to EOF; returns the byte count."""
    got = 0
    while True:
        b = recv(s, CHUNK, what, t)
        if not b:
            return got
        if stream is None:
            raise Failure("%s: %d unexpected bytes before EOF" % (what, len(b)))
        if limit is not None and got + len(b) > limit:
            raise Failure("%s: more than the %d bytes expected" % (what, limit))
        stream.check(b, what)
        got += len(b)


def send_all(s, data, what, t):
    mv = memoryview(data)
    while mv:
        n = timed(s.send, what, t, mv, sock=s, write=True)
        mv = mv[n:]


def send_stream(s, n, stream, how, what, t):
    """n bytes of stream, with send(), sendfile() or splice()."""
    if how == "send":
        left = n
        while left:
            k = min(CHUNK, left)
            send_all(s, stream.take(k), what, t)
            left -= k
    elif how == "sendfile":
        with tempfile.TemporaryFile() as f:
            left = n
            while left:
                k = min(CHUNK * 16, left)
                f.write(stream.take(k))
                left -= k
            f.flush()
            off = 0
            while off < n:
                k = timed(os.sendfile, what + " (sendfile)", t, s.fileno(), f.fileno(), off, n - off, sock=s,
                          write=True)
                if k == 0:
                    raise Failure("%s: sendfile sent 0 bytes at %d of %d" % (what, off, n))
                off += k
    elif how == "splice":
        r, w = os.pipe()
        try:
            left = n
            while left:
                k = min(CHUNK, left)
                b = stream.take(k)
                os.write(w, b)  # a pipe holds 64 KB: all of it
                inpipe = k
                while inpipe:
                    m = timed(os.splice, what + " (splice)", t, r, s.fileno(), inpipe, sock=s, write=True)
                    if m == 0:
                        raise Failure("%s: splice moved 0 bytes" % what)
                    inpipe -= m
                left -= k
        finally:
            os.close(r)
            os.close(w)
    else:
        raise ValueError(how)


def method(flags):
    return "sendfile" if flags & F_SENDFILE else "splice" if flags & F_SPLICE else "send"


class Runner(threading.Thread):
    """A function in a thread whose exception is kept for join_check()."""

    def __init__(self, fn, *a):
        super().__init__(daemon=True)
        self.fn, self.a, self.exc = fn, a, None

    def run(self):
        try:
            self.fn(*self.a)
        except BaseException as e:  # noqa: B036 -- handed to the joiner
            self.exc = e

    def join_check(self, t):
        self.join(t)
        if self.is_alive():
            raise Timeout("a sending thread still runs after %.0f s" % t)
        if self.exc:
            raise self.exc


def describe(e):
    if isinstance(e, (Eagain, Timeout, Failure)):
        return str(e)
    if isinstance(e, OSError):
        return "%s (%s)" % (e, errno.errorcode.get(e.errno, e.errno))
    return "%s: %s" % (type(e).__name__, e)


def eof_or_reset(s, what, t):
    """The peer reset the connection: a blocking recv sees ECONNRESET or EOF."""
    try:
        b = recv(s, CHUNK, what, t)
    except ConnectionResetError:
        return "ECONNRESET"
    if b:
        raise Failure("%s: %d bytes where a reset was expected" % (what, len(b)))
    return "EOF"


# ---- server ----

class Results:
    def __init__(self):
        self.cv = threading.Condition()
        self.v = {}

    def put(self, token, ok, text):
        with self.cv:
            self.v[token] = (ok, text)
            self.cv.notify_all()

    def get(self, token, t):
        with self.cv:
            self.cv.wait_for(lambda: token in self.v, t)
            return self.v.pop(token, (False, "no verdict from the server within %.0f s" % t))


def serve_conn(c, results, t):
    token = None
    try:
        set_timeouts(c, t)
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        h = recv_exact(c, HDR.size, "server: header", t)
        magic, op, flags, _, token, up, down = HDR.unpack(h)
        if magic != MAGIC:
            raise Failure("server: not a sockload header")
        if flags & F_POLL:
            set_timeouts(c, t, poll=True)
        if op == OP_RESULT:
            toks = struct.unpack("!%dI" % up, recv_exact(c, 4 * up, "server: tokens", t))
            out = []
            for k in toks:
                ok, text = results.get(k, down / 1000 if down else t)
                out.append("%08x %s %s\n" % (k, "ok" if ok else "FAIL", text.replace("\n", " ")))
            send_all(c, "".join(out).encode(), "server: verdicts", t)
            return
        text = serve_op(c, op, flags, token, up, down, t)
        if op != OP_SHORT:
            results.put(token, True, text)
    except Exception as e:  # noqa: BLE001 -- the verdict is the report
        if token is not None:
            results.put(token, False, describe(e))
        print("sockload server: token %s: %s" % ("%08x" % token if token is not None else "-", describe(e)),
              file=sys.stderr, flush=True)
    finally:
        c.close()


def serve_op(c, op, flags, token, up, down, t):
    if op == OP_BULK:
        rx, tx = Stream(seed_of(token, 0)), Stream(seed_of(token, 1))
        sender = Runner(send_stream, c, down, tx, method(flags), "server: send", t)
        sender.start()
        recv_exact(c, up, "server: receive", t, rx)
        sender.join_check(t + down / 1e6)
        return "received %d bytes (checked), sent %d with %s" % (up, down, method(flags))
    if op == OP_HALFCLOSE:
        rx, tx = Stream(seed_of(token, 0)), Stream(seed_of(token, 1))
        n = recv_eof(c, "server: receive to EOF (after the client's shutdown)", t, rx, up)
        if n != up:
            raise Failure("server: EOF after %d bytes, want %d" % (n, up))
        send_stream(c, down, tx, "send", "server: reply after EOF", t)
        c.shutdown(socket.SHUT_WR)
        n = recv_eof(c, "server: EOF after the reply", t)
        return "read %d bytes to EOF, replied %d" % (up, down)
    if op == OP_ECHO:
        n = 0
        while True:
            b = recv(c, CHUNK, "server: echo", t)
            if not b:
                return "echoed %d bytes" % n
            send_all(c, b, "server: echo", t)
            n += len(b)
    if op == OP_SHORT:
        b = recv_exact(c, up, "server: short", t)
        send_all(c, b, "server: short", t)
        recv_eof(c, "server: short, EOF", t)
        return "echoed"
    if op == OP_RESET_CLIENT:
        recv_exact(c, up, "server: receive", t, Stream(seed_of(token, 0)))
        send_all(c, b"!", "server: ack", t)
        how = eof_or_reset(c, "server: recv after the client's reset", t)
        return "saw %s after the client's reset" % how
    if op == OP_RESET_SERVER:
        send_stream(c, down, Stream(seed_of(token, 1)), "send", "server: send", t)
        if recv_exact(c, 1, "server: the client's ack", t) != b"!":
            raise Failure("server: bad ack")
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        return "sent %d bytes, reset" % down
    raise Failure("server: unknown op %d" % op)


def server(args):
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    v6 = ":" in args.bind
    ls = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if v6:
        ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    ls.bind((args.bind, args.port))
    ls.listen(1024)
    results = Results()
    if args.ready:
        open(args.ready, "w").close()
    try:
        while True:
            c, _ = ls.accept()
            threading.Thread(target=serve_conn, args=(c, results, args.timeout), daemon=True).start()
    except KeyboardInterrupt:
        return 0


# ---- client ----

class Client:
    def __init__(self, args):
        self.a = args
        self.t = args.timeout
        self.pending = []  # tokens of connections whose verdict is not asked for yet
        self.rng = random.Random(args.seed if args.seed is not None else os.getpid() ^ int(time.time()))

    def token(self):
        return self.rng.getrandbits(32)

    def connect(self):
        a = self.a
        fam = socket.AF_INET6 if ":" in a.dst else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        try:
            s.settimeout(self.t)
            s.connect((a.dst, a.port))
            s.settimeout(None)  # blocking from here on, with SO_RCVTIMEO/SO_SNDTIMEO
            set_timeouts(s, self.t, poll=a.io == "poll")
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except socket.timeout:
            s.close()
            raise Timeout("connect to %s port %d: no answer within %.0f s" % (a.dst, a.port, self.t)) from None
        except BaseException:
            s.close()
            raise
        return s

    def open(self, op, flags=0, up=0, down=0, token=None):
        token = self.token() if token is None else token
        s = self.connect()
        if op not in (OP_RESULT, OP_SHORT):
            self.pending.append(token)
        if self.a.io == "poll" and op != OP_RESULT:
            flags |= F_POLL
        send_all(s, HDR.pack(MAGIC, op, flags, 0, token, up, down), "client: header", self.t)
        return s, token

    def server_said(self):
        """After a failure: what the server said of this check's first
        connections whose verdict was not asked for yet (best effort)."""
        toks, self.pending = self.pending[:3], []
        if not toks:
            return ""
        try:
            return "; ".join(self.verdicts(toks, wait=1.0, raw=True))
        except Exception as e:  # noqa: BLE001
            return "(no verdict: %s)" % describe(e)

    def verdicts(self, tokens, wait=None, raw=False):
        """The server's verdicts on these connections; fails on any bad one
        (raw: the lines "ok TEXT" / "FAIL TEXT", no failure)."""
        bad, texts = [], []
        self.pending = [k for k in self.pending if k not in tokens]
        for i in range(0, len(tokens), 1000):
            part = tokens[i:i + 1000]
            s, _ = self.open(OP_RESULT, up=len(part), down=int(wait * 1000) if wait else 0)
            try:
                send_all(s, struct.pack("!%dI" % len(part), *part), "client: tokens", self.t)
                data = b""
                while True:
                    b = recv(s, CHUNK, "client: verdicts", self.t * 2)
                    if not b:
                        break
                    data += b
            finally:
                s.close()
            lines = data.decode().splitlines()
            if len(lines) != len(part):
                raise Failure("the server gave %d verdicts for %d connections" % (len(lines), len(part)))
            for ln in lines:
                _, st, text = ln.split(" ", 2)
                if raw:
                    texts.append("server %s: %s" % (st, text))
                else:
                    (texts if st == "ok" else bad).append(text)
        if bad:
            raise (Eagain if any("EAGAIN" in b for b in bad) else Failure)(
                "server: %s%s" % (bad[0], " (and %d more)" % (len(bad) - 1) if len(bad) > 1 else ""))
        return texts

    # -- checks --

    def exchange(self, up, down, flags=0, barrier=None):
        how = method(flags)
        s, token = self.open(OP_BULK, flags, up, down)
        try:
            if barrier:
                barrier.wait(self.t * 3)
            tx, rx = Stream(seed_of(token, 0)), Stream(seed_of(token, 1))
            sender = Runner(send_stream, s, up, tx, how, "client: send", self.t)
            sender.start()
            recv_exact(s, down, "client: receive", self.t, rx)
            sender.join_check(self.t + up / 1e6)
            recv_eof(s, "client: EOF (the server's close) after the data", self.t)
        finally:
            s.close()
        return token

    def bulk(self, flags=0):
        a = self.a
        t0 = time.monotonic()
        token = self.exchange(a.up, a.down, flags)
        dt = time.monotonic() - t0
        v = self.verdicts([token])
        return "%d bytes up, %d down (%s), checked, %.2f s, %.0f MB/s; server %s" % (
            a.up, a.down, method(flags), dt, (a.up + a.down) / dt / 1e6, v[0])

    def c_bulk(self):
        return self.bulk()

    def c_sendfile(self):
        return self.bulk(F_SENDFILE)

    def c_splice(self):
        return self.bulk(F_SPLICE)

    def c_concurrent(self):
        a = self.a
        barrier = threading.Barrier(a.conns)
        toks = []

        def one():
            toks.append(self.exchange(a.conn_bytes, a.conn_bytes, 0, barrier))
        runners = [Runner(one) for _ in range(a.conns)]
        t0 = time.monotonic()
        for r in runners:
            r.start()
        errs = []
        for r in runners:
            try:
                r.join_check(self.t * 4 + a.conn_bytes * a.conns / 1e6)
            except Exception as e:  # noqa: BLE001
                errs.append(e)
        if errs:
            e = errs[0]
            raise type(e)("%d of %d connections failed; first: %s" % (len(errs), a.conns, describe(e)))
        self.verdicts(toks)
        return "%d connections at once, %d bytes each way each, checked, %.2f s" % (
            a.conns, a.conn_bytes, time.monotonic() - t0)

    def c_pingpong(self):
        a = self.a
        sizes = [1, 2, 100, 1000, 1460, 1500, 4095, 4096, 4097, 16384, 65535, 65536]
        s, token = self.open(OP_ECHO)
        tx = Stream(seed_of(token, 0))
        total = 0
        try:
            for i in range(a.rounds):
                n = sizes[i % len(sizes)]
                data = tx.take(n)
                sender = Runner(send_all, s, data, "client: send", self.t)
                sender.start()
                got = recv_exact(s, n, "client: echo of round %d (%d bytes)" % (i, n), self.t)
                sender.join_check(self.t)
                if got != data:
                    j = next(j for j in range(n) if got[j] != data[j])
                    raise Failure("round %d: echo differs at byte %d of %d" % (i, j, n))
                total += n
            s.shutdown(socket.SHUT_WR)
            recv_eof(s, "client: EOF after the echoes", self.t)
        finally:
            s.close()
        self.verdicts([token])
        return "%d round trips (1 B .. 64 KB), %d bytes echoed, checked" % (a.rounds, total)

    def c_halfclose(self):
        a = self.a
        up, down = a.half_bytes, a.half_bytes
        s, token = self.open(OP_HALFCLOSE, 0, up, down)
        try:
            send_stream(s, up, Stream(seed_of(token, 0)), "send", "client: send", self.t)
            s.shutdown(socket.SHUT_WR)
            n = recv_eof(s, "client: read the reply to EOF (after its own shutdown)", self.t,
                         Stream(seed_of(token, 1)), down)
            if n != down:
                raise Failure("client: EOF after %d bytes of the reply, want %d" % (n, down))
        finally:
            s.close()
        v = self.verdicts([token])
        return "sent %d, shutdown(SHUT_WR), read %d to EOF; server %s" % (up, down, v[0])

    def c_reset_client(self):
        s, token = self.open(OP_RESET_CLIENT, 0, 1000, 0)
        try:
            send_stream(s, 1000, Stream(seed_of(token, 0)), "send", "client: send", self.t)
            if recv_exact(s, 1, "client: ack", self.t) != b"!":
                raise Failure("client: bad ack")
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        finally:
            s.close()
        t0 = time.monotonic()
        v = self.verdicts([token])
        return "server %s (%.3f s)" % (v[0], time.monotonic() - t0)

    def c_reset_server(self):
        s, token = self.open(OP_RESET_SERVER, 0, 0, 1000)
        try:
            recv_exact(s, 1000, "client: receive", self.t, Stream(seed_of(token, 1)))
            send_all(s, b"!", "client: ack", self.t)
            t0 = time.monotonic()
            how = eof_or_reset(s, "client: recv after the server's reset", self.t)
            dt = time.monotonic() - t0
        finally:
            s.close()
        self.verdicts([token])
        return "saw %s %.3f s after its ack" % (how, dt)

    def c_short(self):
        a = self.a
        t0 = time.monotonic()
        for i in range(a.count):
            msg = struct.pack("!IIQ", i, a.count, self.rng.getrandbits(64))
            s, _ = self.open(OP_SHORT, 0, len(msg), len(msg))
            try:
                send_all(s, msg, "client: short #%d" % i, self.t)
                got = recv_exact(s, len(msg), "client: short #%d, echo" % i, self.t)
                if got != msg:
                    raise Failure("short #%d: the echo differs" % i)
            finally:
                s.close()
        dt = time.monotonic() - t0
        return "%d connections in a row, %.1f s, %.0f /s" % (a.count, dt, a.count / dt)

    def c_long(self):
        a = self.a
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        s, token = self.open(OP_ECHO)
        tx = Stream(seed_of(token, 0))
        n = total = 0
        try:
            while not stop.is_set():
                k = self.rng.randint(1, a.long_max)
                data = tx.take(k)
                sender = Runner(send_all, s, data, "client: send", self.t)
                sender.start()
                got = recv_exact(s, k, "client: echo #%d" % n, self.t)
                sender.join_check(self.t)
                if got != data:
                    raise Failure("long: echo #%d differs" % n)
                n += 1
                total += k
                if n == 1 and a.ready:
                    open(a.ready, "w").close()
                if a.progress:
                    with open(a.progress, "w") as f:
                        f.write("%d %d\n" % (n, total))
                stop.wait(a.interval)
            s.shutdown(socket.SHUT_WR)
            recv_eof(s, "client: EOF at the end", self.t)
        finally:
            s.close()
        self.verdicts([token])
        return "%d exchanges, %d bytes echoed, checked" % (n, total)


def said(cl):
    s = cl.server_said()
    return " [%s]" % s if s else ""


CHECKS = ["bulk", "concurrent", "pingpong", "halfclose", "sendfile", "splice", "reset-client", "reset-server",
          "short", "long"]


def client(args):
    checks = []
    for c in args.checks:
        checks += [x for x in CHECKS if x != "long"] if c == "all" else [c]
    for c in checks:
        if c not in CHECKS:
            print("sockload: unknown check %r (one of: %s, all)" % (c, ", ".join(CHECKS)), file=sys.stderr)
            return 2

    def watchdog():
        print("FAIL sockload: still running after the deadline of %.0f s (a hang)" % args.deadline, flush=True)
        os._exit(1)
    w = threading.Timer(args.deadline, watchdog)
    w.daemon = True
    w.start()
    cl = Client(args)
    fails = eagains = 0
    where = "%s port %d" % (args.dst, args.port)
    for c in checks:
        bad = eag = 0
        first = text = None
        for _ in range(args.repeat):
            cl.pending = []
            try:
                text = getattr(cl, "c_" + c.replace("-", "_"))()
            except Eagain as e:
                eag += 1
                first = first or "EAGAIN: %s%s" % (e, said(cl))
            except Exception as e:  # noqa: BLE001
                bad += 1
                first = first or "%s%s" % (describe(e), said(cl))
        n = "" if args.repeat == 1 else " %d of %d failed (%d with a spurious EAGAIN); first:" % (
            bad + eag, args.repeat, eag)
        if bad or eag:
            print("FAIL %s (%s):%s %s" % (c, where, n, first), flush=True)
        else:
            print("ok %s (%s): %s%s" % (c, where, "%d times; last: " % args.repeat if args.repeat > 1 else "", text),
                  flush=True)
        fails += bad
        eagains += eag
    return 1 if fails else 3 if eagains else 0


# ---- capture ----

def capture(args):
    ETH_P_ALL = 3
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((args.dev, ETH_P_ALL))
    s.settimeout(0.2)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if args.ready:
        open(args.ready, "w").close()
    n = dict(packets=0, syn=0, payload_packets=0, payload_bytes=0, fin=0, rst=0)
    seen = []
    while not stop.is_set():
        try:
            b = s.recv(256)
        except socket.timeout:
            continue
        except InterruptedError:
            continue
        et = struct.unpack_from("!H", b, 12)[0]
        if et == 0x0800 and len(b) >= 34:
            ihl = (b[14] & 15) * 4
            if b[23] != 6:
                continue
            iplen = struct.unpack_from("!H", b, 16)[0] - ihl
            tcp = 14 + ihl
            src, dst = socket.inet_ntop(socket.AF_INET, b[26:30]), socket.inet_ntop(socket.AF_INET, b[30:34])
        elif et == 0x86DD and len(b) >= 54:
            if b[20] != 6:  # no extension headers in these tests
                continue
            iplen = struct.unpack_from("!H", b, 18)[0]
            tcp = 54
            src, dst = socket.inet_ntop(socket.AF_INET6, b[22:38]), socket.inet_ntop(socket.AF_INET6, b[38:54])
        else:
            continue
        if len(b) < tcp + 14:
            continue
        sport, dport = struct.unpack_from("!HH", b, tcp)
        if args.port not in (sport, dport):
            continue
        doff = (b[tcp + 12] >> 4) * 4
        flags = b[tcp + 13]
        pay = iplen - doff
        n["packets"] += 1
        n["syn"] += bool(flags & 2)
        n["fin"] += bool(flags & 1)
        n["rst"] += bool(flags & 4)
        if pay > 0:
            n["payload_packets"] += 1
            n["payload_bytes"] += pay
            if len(seen) < 10:
                fl = "".join(c for c, bit in zip("FSRPAU", (1, 2, 4, 8, 16, 32)) if flags & bit)
                seen.append("  payload %s %d > %s %d len %d flags %s" % (src, sport, dst, dport, pay, fl))
    print(" ".join("%s %d" % kv for kv in n.items()), flush=True)
    for ln in seen:
        print(ln, flush=True)
    return 0


def main():
    global TIMEOUT
    ap = argparse.ArgumentParser(description="TCP traffic with every byte checked (see the module's text)")
    sub = ap.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("server")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--bind", default="::")
    p.add_argument("--ready")
    p.add_argument("--timeout", type=float, default=TIMEOUT)
    p = sub.add_parser("client")
    p.add_argument("--dst", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--timeout", type=float, default=TIMEOUT, help="of each blocking call (default 10 s)")
    p.add_argument("--deadline", type=float, default=300, help="of the whole run (default 300 s)")
    p.add_argument("--seed", type=int)
    p.add_argument("--repeat", type=int, default=1, help="run each check this many times")
    p.add_argument("--io", choices=("blocking", "poll"), default="blocking",
                   help="blocking sockets (default), or O_NONBLOCK ones waited for with poll() as event "
                        "loops do, on both sides")
    p.add_argument("--up", type=int, default=16 << 20, help="bulk: bytes client to server (16 MB)")
    p.add_argument("--down", type=int, default=16 << 20, help="bulk: bytes server to client (16 MB)")
    p.add_argument("--conns", type=int, default=50, help="concurrent: connections (50)")
    p.add_argument("--conn-bytes", type=int, default=256 << 10, help="concurrent: bytes each way each (256 KB)")
    p.add_argument("--rounds", type=int, default=240, help="pingpong: round trips (240)")
    p.add_argument("--half-bytes", type=int, default=1 << 20, help="halfclose: bytes each way (1 MB)")
    p.add_argument("--count", type=int, default=10000, help="short: connections (10000)")
    p.add_argument("--interval", type=float, default=0.05, help="long: seconds between exchanges")
    p.add_argument("--long-max", type=int, default=32768, help="long: largest message")
    p.add_argument("--ready", help="long: written after the first good exchange")
    p.add_argument("--progress", help="long: rewritten after each exchange with 'EXCHANGES BYTES'")
    p.add_argument("checks", nargs="+", metavar="CHECK")
    p = sub.add_parser("capture")
    p.add_argument("--dev", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ready")
    args = ap.parse_args()
    return {"server": server, "client": client, "capture": capture}[args.mode](args)


if __name__ == "__main__":
    sys.exit(main())
