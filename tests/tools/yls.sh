#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Print the path of yaml-language-server's entry script (Red Hat's YAML
# language server, which VS Code's YAML extension and most editors' LSP
# clients run), for tests/schema/check-editor.py: $SLUICE_YLS when set,
# else the npm package at the version below, through npm-cache.sh (1.19
# runs on Debian's node 18 and on 20; 2.x asks for node 22). Exit 77 (skip)
# when node or npm is missing.
set -euo pipefail
if [ -n "${SLUICE_YLS:-}" ]; then
	echo "$SLUICE_YLS"
	exit 0
fi
dir=$("$(dirname "$0")/npm-cache.sh" yaml-language-server yaml-language-server@1.19.2)
echo "$dir/node_modules/yaml-language-server/bin/yaml-language-server"
