#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Draw deploy/grafana/sluice-dashboard.json as a picture, from real
scrapes of `sluice watch --metrics-address`. There is no Grafana here: this
is a rendering of the dashboard's panels (their layout, queries, units,
thresholds), not a Grafana screenshot.

The scrapes come from a real run:

    sudo SLUICE_METRICS_RECORD=/tmp/scrapes tests/integration/test-metrics.sh build/sluice

which keeps a scrape every 0.5 s of a watch under denied traffic, a drift
repair and an invalid file (DIR/TIME.prom). This script loads them into a
real Prometheus (Debian's prometheus package, unpacked by
tests/tools/promtool.sh: `promtool tsdb create-blocks-from openmetrics`,
then the server on 127.0.0.1 over those blocks), evaluates each panel's
PromQL with query_range, and draws the panels with matplotlib (Debian's
python3-matplotlib):

    deploy/grafana/render.py /tmp/scrapes docs/img/dashboard.png

Grafana's variables get these values: $instance matches every node,
$__rate_interval is 5 s (10 of these scrape intervals; Grafana takes at
least 4 of its data source's scrape interval).
"""
import datetime
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
INSTANCE = "node-1:9962"
# Grafana's dark theme and its classic palette
BG, PANEL, TEXT, DIM, GRID = "#111217", "#181b1f", "#ccccdc", "#8e8e99", "#2c3235"
PALETTE = ["#73bf69", "#f2cc0c", "#8ab8ff", "#ff780a", "#f2495c", "#5794f2", "#b877d9", "#fade2a", "#37872d"]
COLORS = {"green": "#73bf69", "red": "#f2495c", "orange": "#ff9830", "yellow": "#fade2a"}
SERIES_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$")


def load_scrapes(d):
    """{(name, labels): [(t, value)]} from DIR/TIME.prom."""
    series = {}
    files = sorted(f for f in os.listdir(d) if f.endswith(".prom"))
    for f in files:
        t = float(f[:-5])
        for line in open(os.path.join(d, f)):
            m = SERIES_RE.match(line.strip())
            if not line.startswith("#") and m:
                series.setdefault((m.group(1), m.group(2) or ""), []).append((t, m.group(3)))
    return series, len(files)


def to_openmetrics(series, path):
    """The samples with their times, each series with instance and job
    labels as Prometheus's scrape would add them."""
    with open(path, "w") as f:
        for (name, labels) in sorted(series):
            extra = 'instance="%s",job="sluice"' % INSTANCE
            lab = "{%s,%s}" % (labels[1:-1], extra) if labels else "{%s}" % extra
            for t, v in series[(name, labels)]:
                f.write("%s%s %s %.3f\n" % (name, lab, v, t))
        f.write("# EOF\n")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def query_range(base, expr, start, end, step):
    q = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": step})
    with urllib.request.urlopen("%s/api/v1/query_range?%s" % (base, q), timeout=30) as r:
        d = json.load(r)
    if d.get("status") != "success":
        raise RuntimeError("%s: %s" % (expr, d))
    return d["data"]["result"]


def legend(fmt, metric):
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: metric.get(m.group(1), ""), fmt or "") or str(metric)


def fmt_value(v, unit):
    if v is None:
        return "No data"
    if unit == "s":
        return "%.0f ms" % (v * 1e3) if abs(v) < 1 else "%.1f s" % v if v < 120 else "%.0f min" % (v / 60)
    if unit == "percentunit":
        return "%.1f%%" % (v * 100) if v >= 0.001 or v == 0 else "%.4f%%" % (v * 100)
    suffix = {"pps": " p/s", "ops": " ops/s"}.get(unit, "")
    return ("%.0f" % v if v == int(v) and abs(v) < 1e6 else "%.3g" % v) + suffix


def threshold_color(p, v):
    d = p["fieldConfig"]["defaults"]
    for m in d.get("mappings", []):
        hit = m.get("options", {}).get(str(int(v)) if v is not None and v == int(v) else "")
        if hit:
            return COLORS.get(hit.get("color"), hit.get("color")), hit.get("text")
    color = None
    for step in d.get("thresholds", {}).get("steps", []):
        if step["value"] is None or (v is not None and v >= step["value"]):
            color = step["color"]
    return COLORS.get(color, color or "#5794f2"), None


def axes_for(fig, gp, rows, title, desc_unit=None):
    # the grid: 24 columns; rows of equal height; a small gutter
    W, H = 24.0, float(rows)
    g = 0.004
    x0, y0 = gp["x"] / W + g, 1 - (gp["y"] + gp["h"]) / H * 0.94 - 0.055 + g
    w, h = gp["w"] / W - 2 * g, gp["h"] / H * 0.94 - 2 * g
    box = fig.add_axes([x0, y0, w, h])
    box.set_xticks([])
    box.set_yticks([])
    box.set_facecolor(PANEL)
    for s in box.spines.values():
        s.set_color(GRID)
    box.text(0.015, 1 - 0.03 / (gp["h"] / 8), title, transform=box.transAxes, color=TEXT, fontsize=10,
             fontweight="bold", va="top")
    return box, (x0, y0, w, h)


def with_gaps(values, step):
    """(times, values) with a NaN where samples are missing, so that a line
    breaks there as Grafana's does, instead of joining across."""
    xs, ys, last = [], [], None
    for a, b in values:
        a, b = float(a), float(b)
        if last is not None and a - last > 1.5 * step:
            xs.append(last + step)
            ys.append(float("nan"))
        xs.append(a)
        ys.append(b)
        last = a
    return [datetime.datetime.fromtimestamp(x, datetime.timezone.utc) for x in xs], ys


def draw_timeseries(fig, p, frame, results, span, step):
    x0, y0, w, h = frame
    head = 0.3 / (p["gridPos"]["h"])
    ax = fig.add_axes([x0 + w * 0.08, y0 + h * 0.2, w * 0.9, h * (0.78 - head * 1.6)])
    ax.set_facecolor(PANEL)
    for s in ax.spines.values():
        s.set_visible(False)
    ax.tick_params(colors=DIM, labelsize=7)
    ax.grid(True, color=GRID, linewidth=0.6)
    unit = p["fieldConfig"]["defaults"].get("unit")
    n = 0
    lines, labels = [], []
    for t, res in results:
        for r in res:
            xs, ys = with_gaps(r["values"], step)
            (line,) = ax.plot(xs, ys, color=PALETTE[n % len(PALETTE)], linewidth=1.4)
            ax.fill_between(xs, ys, color=PALETTE[n % len(PALETTE)], alpha=0.08)
            lines.append(line)
            labels.append(legend(t.get("legendFormat"), r["metric"]))
            n += 1
    if not n:
        ax.text(0.5, 0.5, "No data", color=DIM, ha="center", va="center", transform=ax.transAxes)
    ax.set_xlim(*[datetime.datetime.fromtimestamp(t, datetime.timezone.utc) for t in span])
    ax.set_ylim(bottom=p["fieldConfig"]["defaults"].get("min", None))
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: fmt_value(v, unit)))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S", tz=datetime.timezone.utc))
    ax.xaxis.set_major_locator(mdates.SecondLocator(bysecond=range(0, 60, 10)))
    if lines:
        fig.legend(lines, labels, loc="lower left", bbox_to_anchor=(x0 + w * 0.02, y0 + h * 0.01), ncol=min(len(labels), 5),
                   frameon=False, fontsize=7, labelcolor=TEXT, handlelength=1.2)


def last_values(results):
    out = []
    for t, res in results:
        for r in res:
            vals = [float(b) for _, b in r["values"] if float(b) == float(b)]
            out.append((legend(t.get("legendFormat"), r["metric"]), vals[-1] if vals else None))
    return out


def draw_stat(fig, p, frame, results):
    x0, y0, w, h = frame
    vals = last_values(results) or [("", None)]
    unit = p["fieldConfig"]["defaults"].get("unit")
    name, v = vals[0]
    color, text = threshold_color(p, v)
    ax = fig.add_axes([x0 + w * 0.02, y0 + h * 0.05, w * 0.96, h * 0.68])
    ax.set_xticks([])
    ax.set_yticks([])
    ax.add_patch(FancyBboxPatch((0, 0), 1, 1, boxstyle="round,pad=0,rounding_size=0.02", color=color,
                                transform=ax.transAxes))
    for s in ax.spines.values():
        s.set_visible(False)
    ax.text(0.5, 0.62, text or fmt_value(v, unit), color="white", fontsize=20, fontweight="bold", ha="center", va="center",
            transform=ax.transAxes)
    ax.text(0.5, 0.2, name, color="white", fontsize=8, ha="center", va="center", transform=ax.transAxes)


def draw_bargauge(fig, p, frame, results):
    x0, y0, w, h = frame
    vals = sorted(last_values(results), key=lambda nv: -(nv[1] or 0))
    d = p["fieldConfig"]["defaults"]
    ax = fig.add_axes([x0 + w * 0.02, y0 + h * 0.04, w * 0.96, h * 0.8])
    ax.set_facecolor(PANEL)
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.5, len(vals) - 0.5)
    ax.invert_yaxis()
    ax.axis("off")
    top = d.get("max", 1)
    for i, (name, v) in enumerate(vals):
        color, _ = threshold_color(p, v)
        ax.text(0.0, i, name, color=TEXT, fontsize=7, va="center")
        ax.add_patch(FancyBboxPatch((0.3, i - 0.32), 0.58, 0.64, boxstyle="square,pad=0", color=GRID))
        ax.add_patch(FancyBboxPatch((0.3, i - 0.32), 0.58 * max(min((v or 0) / top, 1), 0.004), 0.64,
                                    boxstyle="square,pad=0", color=color))
        ax.text(1.0, i, fmt_value(v, d.get("unit")), color=color, fontsize=7, va="center", ha="right")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    scrapes, out = sys.argv[1], sys.argv[2]
    dash = json.load(open(os.path.join(HERE, "sluice-dashboard.json")))
    series, n_scrapes = load_scrapes(scrapes)
    if n_scrapes < 10:
        sys.exit("render.py: %d scrapes in %s; record a run first (see --help)" % (n_scrapes, scrapes))
    times = sorted(t for v in series.values() for t, _ in v)
    start, end = times[0], times[-1]
    step = 0.5
    promtool = subprocess.check_output(["bash", os.path.join(ROOT, "tests/tools/promtool.sh")], text=True).strip()
    prometheus = os.path.join(os.path.dirname(promtool), "prometheus")
    tmp = tempfile.mkdtemp(prefix="sluice-render.")
    proc = None
    try:
        to_openmetrics(series, os.path.join(tmp, "scrapes.om"))
        subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", os.path.join(tmp, "scrapes.om"),
                        os.path.join(tmp, "tsdb")], check=True, stdout=subprocess.DEVNULL)
        open(os.path.join(tmp, "prometheus.yml"), "w").write("global: {}\n")
        port = free_port()
        proc = subprocess.Popen([prometheus, "--config.file=" + os.path.join(tmp, "prometheus.yml"),
                                 "--storage.tsdb.path=" + os.path.join(tmp, "tsdb"), "--storage.tsdb.retention.time=100y",
                                 "--web.listen-address=127.0.0.1:%d" % port, "--query.lookback-delta=2s"],
                                stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "prometheus.log"), "w"))
        base = "http://127.0.0.1:%d" % port
        for _ in range(200):
            try:
                if urllib.request.urlopen(base + "/-/ready", timeout=1).status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        rate = "5s"
        rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in dash["panels"])
        fig = plt.figure(figsize=(16, rows * 0.36 + 0.9), dpi=110, facecolor=BG)
        fig.text(0.006, 0.992, dash["title"], color=TEXT, fontsize=14, fontweight="bold", va="top")
        fig.text(0.006, 0.972,
                 "A rendering of deploy/grafana/sluice-dashboard.json (its panels, their PromQL evaluated by Prometheus) "
                 "from %d real scrapes, every %g s, of sluice watch --metrics-address\nunder denied traffic, a drift "
                 "repair and an invalid file (tests/integration/test-metrics.sh with SLUICE_METRICS_RECORD), drawn by "
                 "deploy/grafana/render.py: not a Grafana screenshot." % (n_scrapes, step), color=DIM, fontsize=8,
                 va="top", linespacing=1.4)
        for p in dash["panels"]:
            results = []
            for t in p["targets"]:
                expr = t["expr"].replace("$__rate_interval", rate).replace("$instance", ".*")
                results.append((t, query_range(base, expr, start, end, step)))
            box, frame = axes_for(fig, p["gridPos"], rows, p["title"])
            if p["type"] == "timeseries":
                draw_timeseries(fig, p, frame, results, (start, end), step)
            elif p["type"] == "stat":
                draw_stat(fig, p, frame, results)
            elif p["type"] == "bargauge":
                draw_bargauge(fig, p, frame, results)
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        fig.savefig(out, facecolor=BG)
        print("render.py: %s from %d scrapes, %.0f s" % (out, n_scrapes, end - start))
    finally:
        if proc:
            proc.terminate()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


main()
