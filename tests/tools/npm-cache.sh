#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# npm-cache.sh NAME PACKAGE@VERSION...: print a directory whose
# node_modules holds these npm packages, installed once with npm into a
# cache outside the tree ($SLUICE_CACHE_DIR, else ~/.cache/sluice), under
# NAME. The first run needs npm and the npm registry; later runs use the
# cache. Exit 77 (skip) when node or npm is missing.
set -euo pipefail
name=$1
shift
command -v node >/dev/null 2>&1 || { echo "npm-cache.sh: no node" >&2; exit 77; }
cache=${SLUICE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice}/npm-$name
if [ ! -f "$cache/.complete" ] || [ "$(cat "$cache/.complete")" != "$*" ]; then
	command -v npm >/dev/null 2>&1 || { echo "npm-cache.sh: no npm to install $*" >&2; exit 77; }
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && npm install --no-audit --no-fund --silent --no-package-lock "$@") >&2
	echo "$*" >"$tmp/.complete"
	mkdir -p "$(dirname "$cache")"
	rm -rf "$cache"
	mv -T "$tmp" "$cache"
	trap - EXIT
fi
echo "$cache"
