#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (unit and integration;
# benchmarks are separate: see docs/BENCHMARKS.md). Extra arguments go to ctest,
# e.g. ./scripts/test.sh -R Reload
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
# The reflection-only client test runs on Node.js modules pinned by package-lock.json.
if [ ! -f tests/reflection/node_modules/.package-lock.json ] ||
   [ tests/reflection/package-lock.json -nt tests/reflection/node_modules/.package-lock.json ]; then
  echo "test: installing the Node.js modules of the reflection test (npm ci)" >&2
  npm ci --prefix tests/reflection --no-audit --no-fund --loglevel=error
fi
./scripts/build.sh
ctest --test-dir build -L 'unit|integration' -j "$(nproc)" --output-on-failure "$@"
