#!/usr/bin/env bash
# The serving benchmark of docs/BENCHMARKS.md: search-by-id on the `genres` collection
# over gRPC at 1, 4 and 16 closed-loop clients, then the same loop in-process.
# Needs the demo's index (./scripts/demo.sh --no-serve) and an engine serving it:
#   build/server/simsearch-engine --index_root var/index &
#   bench/run_loadgen.sh [DURATION]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10s}
root=${SIMSEARCH_VAR:-var}/index
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
for mode in grpc inprocess; do
  for c in 1 4 16; do
    flag=""
    [ "$mode" = inprocess ] && flag="--inprocess"
    build/bench/simsearch-loadgen --index_root "$root" --collection genres --clients "$c" \
      --duration "$duration" $flag
  done
done
