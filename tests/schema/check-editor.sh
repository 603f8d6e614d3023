#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The examples as an editor sees them: yaml-language-server (installed into
# a cache by tests/tools/yls.sh) against schema/sluice-state.schema.json.
# Skips (77) only when node or npm is missing.
set -uo pipefail
python=$1 root=$2
yls=$("$root/tests/tools/yls.sh")
rc=$?
[ "$rc" -eq 0 ] || exit "$rc"
exec "$python" "$root/tests/schema/check-editor.py" "$root" "$yls"
