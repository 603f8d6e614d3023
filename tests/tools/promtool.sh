#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Print the path of a promtool (Prometheus's checker of the text format),
# for tests/integration/test-metrics.sh: $SLUICE_PROMTOOL when set, else a
# promtool on PATH, else the one of Debian's package `prometheus`,
# downloaded with `apt-get download` and unpacked with `dpkg-deb -x` into a
# cache outside the tree ($SLUICE_CACHE_DIR, else ~/.cache/sluice), one
# directory per package version. The package is not installed: it is large
# and its installation starts a Prometheus service. The first run needs
# apt's package lists (.ci/deps runs apt-get update) and the network; later
# runs use the cache.
set -euo pipefail
if [ -n "${SLUICE_PROMTOOL:-}" ]; then
	echo "$SLUICE_PROMTOOL"
	exit 0
fi
if command -v promtool >/dev/null 2>&1; then
	command -v promtool
	exit 0
fi
ver=$(apt-cache show --no-all-versions prometheus 2>/dev/null | sed -n 's/^Version: //p' | head -1)
if [ -z "$ver" ]; then
	echo "promtool.sh: apt knows no package prometheus (run apt-get update)" >&2
	exit 1
fi
cache=${SLUICE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice}/prometheus_$ver
bin=$cache/usr/bin/promtool
if [ ! -x "$bin" ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && apt-get download -q "prometheus=$ver") >&2
	mkdir -p "$tmp/x" "$(dirname "$cache")"
	dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/x"
	rm -rf "$cache"
	mv -T "$tmp/x" "$cache"
fi
"$bin" --version >/dev/null 2>&1 || {
	echo "promtool.sh: $bin does not run" >&2
	exit 1
}
echo "$bin"
