#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Compare a measured reachability matrix with the expected one.

matrix.py EXPECT MEASURED TITLE [SOURCES DESTINATIONS]

EXPECT holds rules, one a line: RESULT SRC DST FAMILY KIND, where RESULT
is ok or fail and the other fields are shell globs (SRC host, DST world-a,
FAMILY v4 or v6, KIND icmp, tcp/80...). For each probe the last rule that
matches decides; a probe no rule matches is an error of the test. '#'
starts a comment.

MEASURED holds the probe client's lines: SRC DST FAMILY ADDR KIND RESULT.

Prints one table per family (rows: sources, columns: destinations, one
character per kind, rows and columns in the order of SOURCES and
DESTINATIONS (space-separated names) when given: '+' reached, '.' refused, as expected; 'X' expected
reachable but refused, '!' expected refused but reached), then every
difference, one a line. Exit 0 when everything matches, 1 otherwise.

matrix.py --unreached EXPECT MEASURED prints the measured lines of the
probes that were expected to reach and did not (none: nothing).
"""
import fnmatch
import sys


def main():
    unreached = sys.argv[1] == "--unreached"
    if unreached:
        del sys.argv[1]
    expect_path, measured_path = sys.argv[1:3]
    title = sys.argv[3] if len(sys.argv) > 3 else ""
    order = [a.split() for a in sys.argv[4:6]]
    rules = []
    for n, line in enumerate(open(expect_path), 1):
        f = line.split("#", 1)[0].split()
        if not f:
            continue
        if len(f) != 5 or f[0] not in ("ok", "fail"):
            print("%s:%d: bad rule: %s" % (expect_path, n, line.rstrip()))
            return 1
        rules.append(f)
    probes = []
    for line in open(measured_path):
        f = line.split()
        if len(f) != 6:
            print("bad measurement line: %s" % line.rstrip())
            return 1
        probes.append(f)

    def expected(src, dst, fam, kind):
        want = None
        for r in rules:
            if all(fnmatch.fnmatchcase(v, p) for v, p in zip((src, dst, fam, kind), r[1:])):
                want = r[0]
        return want

    if unreached:
        for f in probes:
            if f[5] == "fail" and expected(f[0], f[1], f[2], f[4]) == "ok":
                print(" ".join(f))
        return 0

    srcs, dsts, kinds = [], [], []
    cells = {}
    diffs = []
    for src, dst, fam, addr, kind, got in probes:
        for lst, v in ((srcs, src), (dsts, dst), (kinds, kind)):
            if v not in lst:
                lst.append(v)
        want = expected(src, dst, fam, kind)
        if want is None:
            diffs.append("%s %s -> %s (%s) %s: no rule says what to expect" % (fam, src, dst, addr, kind))
            c = "?"
        elif want == got:
            c = "+" if got == "ok" else "."
        else:
            c = "X" if want == "ok" else "!"
            diffs.append("%s %s -> %s (%s) %s: expected %s, got %s" % (
                fam, src, dst, addr, kind, "reachable" if want == "ok" else "refused",
                "reachable" if got == "ok" else "refused"))
        cells[(fam, src, dst, kind)] = c

    for lst, want in zip((srcs, dsts), order):
        lst.sort(key=lambda v: want.index(v) if v in want else len(want))
    w = max(len(x) for x in srcs + dsts + ["IPv6"]) + 1
    cw = max(len(kinds), max(len(d) for d in dsts)) + 1
    print("== %s: %d probes, %s" % (title, len(probes),
                                   "all as expected" if not diffs else "%d unexpected" % len(diffs)))
    print("   cell: one character per kind (%s); + reached, . refused;"
          " X should reach, ! should be refused" % " ".join(kinds))
    for fam in ("v4", "v6"):
        if not any(k[0] == fam for k in cells):
            continue
        print("   " + ("IP" + fam).ljust(w) + "".join(d.ljust(cw) for d in dsts))
        for s in srcs:
            row = []
            for d in dsts:
                if not any((fam, s, d, k) in cells for k in kinds):
                    row.append("".ljust(cw))
                    continue
                row.append("".join(cells.get((fam, s, d, k), " ") for k in kinds).ljust(cw))
            print("   " + s.ljust(w) + "".join(row))
    for d in diffs:
        print("   DIFF " + d)
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
