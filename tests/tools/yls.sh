#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Print the path of yaml-language-server's entry script (Red Hat's YAML
# language server, which VS Code's YAML extension and most editors' LSP
# clients run), for tests/schema/check-editor.py: $SLUICE_YLS when set,
# else the npm package at the version below, installed once with npm into a
# cache outside the tree ($SLUICE_CACHE_DIR, else ~/.cache/sluice). The
# first run needs node, npm and the npm registry; later runs use the cache.
# Exit 77 (skip) when node or npm is missing.
set -euo pipefail
version=1.19.2
if [ -n "${SLUICE_YLS:-}" ]; then
	echo "$SLUICE_YLS"
	exit 0
fi
command -v node >/dev/null 2>&1 || { echo "yls.sh: no node" >&2; exit 77; }
cache=${SLUICE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice}/yaml-language-server_$version
bin=$cache/node_modules/yaml-language-server/bin/yaml-language-server
if [ ! -f "$bin" ]; then
	command -v npm >/dev/null 2>&1 || { echo "yls.sh: no npm to install yaml-language-server" >&2; exit 77; }
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && npm install --no-audit --no-fund --silent --no-package-lock "yaml-language-server@$version") >&2
	mkdir -p "$(dirname "$cache")"
	rm -rf "$cache"
	mv -T "$tmp" "$cache"
	trap - EXIT
fi
echo "$bin"
