#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# deploy/kubernetes/sluice.yaml against the Kubernetes OpenAPI schemas
# (check-k8s.mjs; npm's kubernetes-models and yaml, cached by
# tests/tools/npm-cache.sh). Skips (77) only without node or npm.
set -uo pipefail
root=$1
dir=$("$root/tests/tools/npm-cache.sh" kubernetes-models kubernetes-models@5.1.0 yaml@2.8.1)
rc=$?
[ "$rc" -eq 0 ] || exit "$rc"
exec node "$root/tests/deploy/check-k8s.mjs" "$dir/node_modules" "$root/deploy/kubernetes/sluice.yaml"
