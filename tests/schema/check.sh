#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The JSON schema for editors and the libcyaml schema describe the same
# fields, and every example satisfies the JSON schema.
set -euo pipefail
dump=$1 python=$2 root=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$dump" > "$tmp/cyaml.json"
# (not exec: the trap must still remove the directory)
"$python" "$root/tests/schema/check-json-schema.py" "$root/schema/sluice-state.schema.json" \
	"$tmp/cyaml.json" "$root/examples/states"
