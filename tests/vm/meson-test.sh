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
# From the source root: the guest keeps the working folder visible when it
# is under /tmp (a clone there, as CI's), and the guest scripts use files
# beside theirs (tests/integration/probe.py) and the build directory.
script=$(readlink -f "$1") || exit 1
shift
cd "$here/../.." || exit 1
exec "$here/run" --timeout "${SLUICE_VM_TIMEOUT:-600}" "$script" "$@"
