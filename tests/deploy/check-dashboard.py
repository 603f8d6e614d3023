#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The Grafana dashboard deploy/grafana/sluice-dashboard.json, unprivileged:
well-formed JSON in Grafana's dashboard model, a Prometheus data source
variable that every panel uses, panels that do not overlap, the panels the
issue asks for, and PromQL that names only metrics sluice exports (the
families src/commands/metrics.c writes), each documented in sluice(8).
test-metrics.sh checks that the PromQL parses (promtool check rules).

Usage: check-dashboard.py SOURCE_ROOT
"""
import json
import os
import re
import sys

root = sys.argv[1]
fails = passes = 0


def check(cond, what):
    global fails, passes
    print(("ok: " if cond else "FAIL: ") + what)
    fails += not cond
    passes += bool(cond)


try:
    dash = json.load(open(os.path.join(root, "deploy/grafana/sluice-dashboard.json")))
except ValueError as e:
    print("FAIL: the dashboard is not JSON: %s" % e)
    sys.exit(1)

# what sluice exports: the families metrics.c writes
src = open(os.path.join(root, "src/commands/metrics.c")).read()
families = set(re.findall(r'prom_family\(b, "(sluice_\w+)"', src))
hists = set(re.findall(r'prom_histogram_write\(b, "(sluice_\w+)"', src))
series = families | {h + s for h in hists for s in ("_bucket", "_sum", "_count")}
check(len(families) >= 12 and hists, "metrics.c writes %d families and %d histogram(s)" % (len(families), len(hists)))
man = open(os.path.join(root, "man/sluice.8")).read().replace("\\-", "-").replace("\\_", "_")
for name in sorted(families | hists):
    check(re.search(r"\b%s\b" % name, man) is not None, "sluice(8) documents %s" % name)

check(isinstance(dash.get("schemaVersion"), int) and dash["schemaVersion"] >= 36,
      "schemaVersion %s" % dash.get("schemaVersion"))
for k in ("title", "uid", "panels", "templating", "time"):
    check(k in dash, "the dashboard has %s" % k)
vars_ = {v.get("name"): v for v in dash.get("templating", {}).get("list", [])}
ds = vars_.get("datasource") or {}
check(ds.get("type") == "datasource" and ds.get("query") == "prometheus", "a Prometheus data source variable")
inst = vars_.get("instance") or {}
check(inst.get("datasource", {}).get("uid") == "${datasource}", "the instance variable queries that data source")

panels = dash.get("panels", [])
ids = [p.get("id") for p in panels]
check(len(ids) == len(set(ids)) and None not in ids, "panel ids are unique")
cells = {}
for p in panels:
    g = p.get("gridPos", {})
    ok = all(isinstance(g.get(k), int) for k in "xywh") and g["x"] >= 0 and g["x"] + g["w"] <= 24
    check(ok, "panel %s: gridPos within the 24 columns" % p.get("title"))
    if not ok:
        continue
    clash = [cells[(x, y)] for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])
             if (x, y) in cells]
    check(not clash, "panel %s overlaps no other (%s)" % (p.get("title"), ", ".join(sorted(set(clash)))))
    for x in range(g["x"], g["x"] + g["w"]):
        for y in range(g["y"], g["y"] + g["h"]):
            cells[(x, y)] = p.get("title")
    check(p.get("type") in ("timeseries", "stat", "bargauge", "gauge", "table"), "panel %s: type %s" % (p["title"], p.get("type")))
    check(p.get("datasource", {}).get("uid") == "${datasource}", "panel %s uses the data source variable" % p["title"])
    targets = p.get("targets", [])
    check(targets and all(t.get("expr") for t in targets), "panel %s has queries" % p["title"])
    refs = [t.get("refId") for t in targets]
    check(len(refs) == len(set(refs)), "panel %s: refIds are unique" % p["title"])
    for t in targets:
        names = set(re.findall(r"\bsluice_\w+", t["expr"]))
        unknown = names - series
        check(names and not unknown,
              "panel %s: %s names only exported metrics%s" % (p["title"], t["refId"],
                                                              " (not exported: %s)" % ", ".join(sorted(unknown)) if unknown else ""))
        check('instance=~"$instance"' in t["expr"], "panel %s: %s is filtered by $instance" % (p["title"], t["refId"]))

exprs = " ".join(t["expr"] for p in panels for t in p.get("targets", []))
want = {
    "drops by reason": r"by \(reason\) \(rate\(sluice_drops_total",
    "map fill against capacity": r"sluice_map_entries\{[^}]*\} / sluice_map_capacity",
    "apply latency p50": r"histogram_quantile\(0\.5, sum by \(le\) \(rate\(sluice_apply_duration_seconds_bucket",
    "apply latency p99": r"histogram_quantile\(0\.99, sum by \(le\) \(rate\(sluice_apply_duration_seconds_bucket",
    "drift repairs by kind": r"by \(kind\) \(increase\(sluice_drift_repairs_total",
    "applies by result": r"by \(result\) \(rate\(sluice_applies_total",
    "state valid": r"sluice_state_valid",
    "time since the last success": r"time\(\) - sluice_last_success_timestamp_seconds",
}
for what, rx in want.items():
    check(re.search(rx, exprs) is not None, "a panel shows %s" % what)

print("%d passed, %d failed" % (passes, fails))
sys.exit(1 if fails else 0)
