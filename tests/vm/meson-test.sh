#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# meson's entry to the VM lane: skip (77) when not root, otherwise run the
# given guest script under Debian's kernel.
set -uo pipefail
if [ "$(id -u)" -ne 0 ]; then
	echo "the VM lane needs root; skipped"
	exit 77
fi
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/run" --timeout "${SLUICE_VM_TIMEOUT:-600}" "$@"
