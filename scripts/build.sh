#!/usr/bin/env bash
# Configures and builds simsearch into build/ (Release with debug info, Ninja).
# Extra arguments go to CMake, e.g. ./scripts/build.sh -DSIMSEARCH_MARCH=x86-64-v3
set -euo pipefail
cd "$(dirname "$0")/.."
# build.ninja, not CMakeCache.txt: a configure that failed (say, before install-deps.sh)
# leaves a cache behind but no build.ninja, and must run again.
if [ ! -f build/build.ninja ] || [ $# -gt 0 ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
fi
cmake --build build -j "$(nproc)"
