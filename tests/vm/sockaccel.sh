#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs inside the VM lane (Debian 12's own kernel): socket acceleration's
# integration test (tests/integration/test-sockaccel.sh: real processes in
# a cgroup of the test's, sockops and sk_msg on that kernel), with the
# smaller amounts of SLUICE_IT_QUICK=1 (TCG is slow). Its packet-level
# test, dp-sock, runs with the others in datapath.sh.
# Usage (host): tests/vm/run tests/vm/sockaccel.sh BUILD_DIR SOURCE_DIR
set -u
build=$1 src=$2
echo "kernel $(uname -r)"
SLUICE_IT_QUICK=1 exec bash "$src/tests/integration/test-sockaccel.sh" "$build/sluice"
