#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs inside the VM lane (Debian 12's own kernel, which has ESP): the xfrm
# backend's tests, where SAs must be added, observed, updated and removed
# (SLUICE_XFRM_ESP=required turns a kernel without ESP into a failure, not
# a skip). vm/datapath.sh runs the same binary among the other test-dp-*.
# Usage (host): tests/vm/run tests/vm/xfrm.sh BUILD_DIR
set -eu
build=$1
echo "kernel $(uname -r)"
t=$build/tests/test-dp-xfrm
[ -x "$t" ] || { echo "FAIL: no $t (build it first)"; exit 1; }
echo "== $(basename "$t")"
SLUICE_XFRM_ESP=required "$t" --jobs=1 --verbose
