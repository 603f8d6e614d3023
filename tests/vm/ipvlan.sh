#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs inside the VM lane (Debian 12's own kernel, which has ipvlan): the
# ipvlan mode's integration test (tests/integration/test-ipvlan.sh).
# Usage (host): tests/vm/run tests/vm/ipvlan.sh BUILD_DIR SOURCE_DIR
set -u
build=$1 src=$2
echo "kernel $(uname -r)"
exec bash "$src/tests/integration/test-ipvlan.sh" "$build/sluice"
