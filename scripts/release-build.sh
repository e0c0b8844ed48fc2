#!/usr/bin/env bash
# Configures and builds the release binaries both images ship (Dockerfile,
# lambda/Dockerfile): Release, -march=x86-64-v3 (AVX2/FMA, so the binaries run on any
# recent x86-64 host, not only the build host), without tests or benchmarks.
#
#   scripts/release-build.sh BUILD_DIR TARGET...
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: scripts/release-build.sh BUILD_DIR TARGET... (e.g. /build simsearch-engine)" >&2
  exit 2
fi
build=$(realpath -m "$1")  # relative to the caller's directory
shift
cd "$(dirname "$0")/.."
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSIMSEARCH_MARCH=x86-64-v3 \
  -DSIMSEARCH_BUILD_TESTS=OFF -DSIMSEARCH_BUILD_BENCH=OFF
cmake --build "$build" --target "$@"
