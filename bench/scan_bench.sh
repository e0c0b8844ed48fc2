#!/usr/bin/env bash
# The scan against the machine's limits: the exact scan (one query, and batches of
# 16-64), the half-precision scan, the bandwidth floor (a plain sum over the same
# buffer) and the FMA peak, all from build/bench/searchers_bench, in ROUNDS rounds; with
# a second binary (e.g. built from an older commit in a worktree), the two take turns
# each round. Prints each benchmark's median per binary, and the ratios docs/
# BENCHMARKS.md quotes ("Scans at the machine's limits").
#
#   bench/scan_bench.sh [--rounds N] [--before PATH/TO/searchers_bench]
set -euo pipefail
rounds=3
before=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) rounds="${2:?--rounds needs a number}"; shift 2 ;;
    --before) before="$(realpath "${2:?--before needs a path}")"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "scan_bench.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
cd "$(dirname "$0")/.."
after=build/bench/searchers_bench
[[ -x "$after" ]] || { echo "scan_bench.sh: $after is missing: run ./scripts/build.sh first" >&2; exit 1; }
[[ -z "$before" || -x "$before" ]] || { echo "scan_bench.sh: --before $before is not an executable" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
filter='BM_Exact|BM_HalfScan|BM_SumBuffer|BM_FmaPeak'
for ((r = 1; r <= rounds; r++)); do
  for side in after before; do
    bin=${!side}
    [[ -n "$bin" ]] || continue
    echo "[scan_bench] round $r/$rounds: $side" >&2
    if ! "$bin" --benchmark_filter="$filter" --benchmark_min_time=0.5 \
      --benchmark_format=json > "$out/$side-$r.json" 2> "$out/err"; then
      echo "scan_bench.sh: $bin failed:" >&2
      cat "$out/err" >&2
      exit 1
    fi
  done
done
python3 - "$out" <<'PY'
import glob, json, os, statistics, sys
from collections import defaultdict
runs = defaultdict(lambda: defaultdict(list))  # side -> name -> [us]
rates = defaultdict(lambda: defaultdict(list))  # side -> name -> [flops or bytes/s]
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.json"))):
    side = os.path.basename(path).split("-")[0]
    for b in json.load(open(path))["benchmarks"]:
        t = b["real_time"] * {"ns": 1e-3, "us": 1, "ms": 1e3}[b["time_unit"]]
        runs[side][b["name"]].append(t)
        for key in ("flops", "bytes_per_second", "items_per_second"):
            if key in b:
                rates[side][b["name"] + ":" + key].append(b[key])
med = lambda xs: statistics.median(xs)
after = runs["after"]
print("| benchmark | after (median us) | before (median us) | after / before |")
print("|---|---:|---:|---:|")
for name in after:
    a = med(after[name])
    b = runs["before"].get(name)
    print(f"| {name} | {a:,.1f} | " + (f"{med(b):,.1f} | {a / med(b):.2f} |" if b else "| |"))
peak = med(rates["after"]["BM_FmaPeak:items_per_second"]) if "BM_FmaPeak:items_per_second" in rates["after"] else None
print()
for n, d in ((100000, 64), (1000000, 128)):
    s = f"BM_SumBuffer/{n}/{d}"
    for name in (f"BM_Exact/{n}/{d}/1", f"BM_HalfScan/{n}/{d}/1"):
        if name in after and s in after:
            print(f"{name}: {med(after[name]) / med(after[s]):.2f}x the plain sum over the f32 buffer")
if peak:
    print(f"FMA peak (one core, 8-float FMAs): {peak / 1e9:.1f} GFLOP/s")
    for q in (16, 32, 64):
        key = f"BM_Exact/100000/64/{q}:flops"
        if key in rates["after"]:
            f = med(rates["after"][key])
            print(f"batch of {q}: {f / 1e9:.1f} GFLOP/s, peak / that = {peak / f:.2f}")
PY
