#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The metrics endpoint of `sluice watch`, for test-metrics.sh; standard
library only.

prom.py port
    A free TCP port on 127.0.0.1 (bound, then released).
prom.py get URL FILE [METHOD]
    Request URL; the body goes to FILE; prints "STATUS CONTENT-TYPE".
prom.py val FILE SERIES
    The value of one series, e.g. 'sluice_drops_total{reason="policy"}'
    (the text before the value, as the page writes it); "none" when absent.
prom.py maps FILE STATUS-JSON
    Compare sluice_map_entries and sluice_map_capacity with `sluice status
    -o json`'s maps; prints each difference, "same N" when none.
prom.py record URL DIR INTERVAL
    Scrape every INTERVAL seconds into DIR/TIME.prom (TIME: Unix seconds
    with milliseconds) until killed; for deploy/grafana/render.py.
"""
import json
import os
import socket
import sys
import time
import urllib.error
import urllib.request


def parse(text):
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        out[series] = value
    return out


def get(url, method="GET"):
    req = urllib.request.Request(url, method=method, data=b"x=1" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


def main():
    cmd = sys.argv[1]
    if cmd == "port":
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])
    elif cmd == "get":
        status, ctype, body = get(sys.argv[2], sys.argv[4] if len(sys.argv) > 4 else "GET")
        open(sys.argv[3], "wb").write(body)
        print(status, ctype.replace(" ", ""))
    elif cmd == "val":
        print(parse(open(sys.argv[2]).read()).get(sys.argv[3], "none"))
    elif cmd == "maps":
        # maps PAGE STATUS [STATUS_AFTER]: the page's entries and capacity
        # of every map are status's; given a status read before the page
        # and one after, a map's entries on the page lie between the two
        # (the conntrack maps change with any packet, a neighbour
        # solicitation included)
        page = parse(open(sys.argv[2]).read())
        st = json.load(open(sys.argv[3]))
        after = {m["name"]: m for m in json.load(open(sys.argv[4]))["maps"]} if len(sys.argv) > 4 else {}
        bad = 0
        for m in st["maps"]:
            if m["type"] == "ringbuf":
                continue
            for metric, key in (("sluice_map_entries", "entries"), ("sluice_map_capacity", "maxEntries")):
                got = page.get('%s{map="%s",type="%s"}' % (metric, m["name"], m["type"]))
                ok = [str(m[key])]
                if m["name"] in after:
                    lo, hi = sorted((m[key], after[m["name"]][key]))
                    ok = [str(v) for v in range(lo, hi + 1)]
                if got not in ok:
                    print("%s %s: page %s, status %s" % (metric, m["name"], got,
                                                         "-".join(dict.fromkeys([ok[0], ok[-1]]))))
                    bad += 1
        listed = {k for k in page if k.startswith("sluice_map_entries{")}
        if len(listed) != len([m for m in st["maps"] if m["type"] != "ringbuf"]):
            print("the page lists %d maps, status %d" % (len(listed), len(st["maps"])))
            bad += 1
        if not bad:
            print("same %d" % len(listed))
    elif cmd == "record":
        url, out, interval = sys.argv[2], sys.argv[3], float(sys.argv[4])
        os.makedirs(out, exist_ok=True)
        while True:
            t = time.time()
            try:
                status, _, body = get(url)
                if status == 200:
                    open(os.path.join(out, "%.3f.prom" % t), "wb").write(body)
            except OSError:
                pass
            time.sleep(max(0.0, interval - (time.time() - t)))
    else:
        sys.exit("prom.py: unknown command %s" % cmd)


main()
