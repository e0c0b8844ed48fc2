#!/usr/bin/env bash
# "More like this" with and without precomputed neighbours, side by side in one run:
# the same vectors built twice (--neighbours 100 and --neighbours 0), for `genres`
# (15k x 50, cosine) and `ncf` (7.4k x 64, the "similar" space), searched by id with
# top 10 over gRPC (1, 4 and 16 clients) and in process (1 client). Each cell ROUNDS
# times, the two builds taking turns; medians. Also prints what the lists cost to build.
#
#   bench/neighbours_bench.sh [DURATION] [ROUNDS]   (needs var/work, var/ncf: demo.sh)
#
# PIN=1 runs the engines and the in-process loop on CPU 0 and the gRPC load generator on
# CPU 1, so a gRPC row and the in-process row each get one core for the engine's work:
# their ratio is the share of in-process throughput the server keeps. CLIENT_THREADS=T
# drives the gRPC clients from T asynchronous threads (as bench/peer_bench.sh).
# gRPC's floor (bench/grpc_floor.cc: a canned answer, no search, the completion-queue
# API as the engine) takes turns with them at 16 clients: the share a server can keep
# when each call costs the floor's time plus the search's is 1 / (1 + in-process QPS /
# floor QPS), printed beside the measured share.
# A third engine serves the build without lists with --search_batch 1, taking turns with
# the others: every search alone, against the default that answers the searches that
# arrive together as one batch (docs/ARCHITECTURE.md, "Batching concurrent searches").
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/testing/logs.sh
duration=${1:-4s} rounds=${2:-3}
var=${SIMSEARCH_VAR:-var}
source bench/pin.sh
pin_cpus neighbours_bench
client_threads=${CLIENT_THREADS:-0}
data=data/anime
catalog=(--catalog "$data/anime_cooperunion_2017.csv" --catalog "$data/anime_synopses_merged.csv")
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"' EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
for side in lists none; do
  k=100; [ "$side" = none ] && k=0
  build/indexer/simsearch-indexer build --collection genres --vectors "$var/work/genres.npy" \
    --ids "$var/work/genres_ids.npy" "${catalog[@]}" --metric cosine --index flat --neighbours $k \
    --out "$work/$side" 2>/dev/null | sed "s/^/$side: /"
  build/indexer/simsearch-indexer build --collection ncf --vectors "$var/ncf/item_vectors.npy" \
    --ids "$var/ncf/item_ids.npy" --user-vectors "$var/ncf/user_vectors.npy" --user-ids "$var/ncf/user_ids.npy" \
    --user-items "$data/interactions_history_mal.csv" "${catalog[@]}" --metric ip --index flat \
    --similar 0.75,50 --fold-in 0.001,100 --neighbours $k --out "$work/$side" 2>/dev/null | sed "s/^/$side: /"
done
declare -A port
for side in lists none alone; do
  root=$side batch=32; [ "$side" = alone ] && root=none batch=1
  "${server_cpu[@]}" build/server/simsearch-engine --index_root "$work/$root" --listen 127.0.0.1:0 --poll_interval 0 --drain_delay 0 \
    --search_batch "$batch" > "$work/$side.log" 2>&1 &
  pids+=($!)
  port[$side]=$(wait_log_value "$work/$side.log" 's/.* on port \([0-9]*\) .*/\1/p') ||
    { echo "engine $side did not start:" >&2; cat "$work/$side.log" >&2; exit 1; }
done
floor_threads=$(nproc); [ "${#server_cpu[@]}" -gt 0 ] && floor_threads=1  # pinned: one core
"${server_cpu[@]}" build/bench/simsearch-grpc-floor --listen 127.0.0.1:0 --api cq --threads "$floor_threads" \
  > "$work/floor.log" 2>&1 &
pids+=($!)
floor_port=$(wait_log_value "$work/floor.log" 's/.* on port \([0-9]*\).*/\1/p') ||
  { echo "the gRPC floor server did not start:" >&2; cat "$work/floor.log" >&2; exit 1; }
for r in $(seq 1 "$rounds"); do
  "${load_cpu[@]}" build/bench/simsearch-loadgen --index_root "$work/none" --collection ncf --clients 16 \
    --client_threads "$client_threads" --duration "$duration" --server "127.0.0.1:$floor_port" --json |
    sed "s/^/floor grpc 16 none /" >> "$work/runs.txt"
  for coll in genres ncf; do
    for c in 1 4 16; do
      for side in lists none alone; do
        root=$side; [ "$side" = alone ] && root=none
        "${load_cpu[@]}" build/bench/simsearch-loadgen --index_root "$work/$root" --collection "$coll" --clients "$c" \
          --client_threads "$client_threads" --duration "$duration" --server "127.0.0.1:${port[$side]}" --json | sed "s/^/$coll grpc $c $side /" >> "$work/runs.txt"
      done
    done
    for side in lists none; do
      "${server_cpu[@]}" build/bench/simsearch-loadgen --index_root "$work/$side" --collection "$coll" --clients 1 --inprocess \
        --duration "$duration" --json | sed "s/^/$coll inprocess 1 $side /" >> "$work/runs.txt"
    done
  done
done
python3 - "$work/runs.txt" <<'PY'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    coll, mode, clients, side, rest = line.split(" ", 4)
    runs.setdefault((coll, mode, int(clients), side), []).append(json.loads(rest))
med = lambda rs, k: statistics.median(r[k] for r in rs)
print("| collection | mode | clients | QPS lists | QPS search | ratio | p50 lists | p50 search | p99 lists | p99 search |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for coll in ("genres", "ncf"):
    for mode, c in (("grpc", 1), ("grpc", 4), ("grpc", 16), ("inprocess", 1)):
        a, b = runs[(coll, mode, c, "lists")], runs[(coll, mode, c, "none")]
        print("| %s | %s | %d | %.0f | %.0f | %.2f | %.0f us | %.0f us | %.0f us | %.0f us |" % (
            coll, mode, c, med(a, "qps"), med(b, "qps"), med(a, "qps") / med(b, "qps"),
            med(a, "p50_us"), med(b, "p50_us"), med(a, "p99_us"), med(b, "p99_us")))
print("(medians of %d interleaved runs per cell)" % len(runs[("genres", "grpc", 1, "lists")]))
floor = med(runs[("floor", "grpc", 16, "none")], "qps")
print("gRPC's floor (canned answer, no search) at 16 clients: %.0f QPS" % floor)
for coll in ("genres", "ncf"):
    for side, what in (("lists", "lists"), ("none", "search")):
        inproc = med(runs[(coll, "inprocess", 1, side)], "qps")
        share = med(runs[(coll, "grpc", 16, side)], "qps") / inproc
        print("%s, %s: gRPC at 16 clients / in process at 1 client = %.3f (floor + search allows %.3f)" % (
            coll, what, share, 1 / (1 + inproc / floor)))
print()
print("Searches without lists: batched (--search_batch 32, the default) against each alone (--search_batch 1)")
print("| collection | clients | QPS batched | QPS alone | ratio | p50 batched | p50 alone | p99 batched | p99 alone | share batched | share alone |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for coll in ("genres", "ncf"):
    inproc = med(runs[(coll, "inprocess", 1, "none")], "qps")
    for c in (1, 4, 16):
        a, b = runs[(coll, "grpc", c, "none")], runs[(coll, "grpc", c, "alone")]
        print("| %s | %d | %.0f | %.0f | %.2f | %.0f us | %.0f us | %.0f us | %.0f us | %.3f | %.3f |" % (
            coll, c, med(a, "qps"), med(b, "qps"), med(a, "qps") / med(b, "qps"), med(a, "p50_us"), med(b, "p50_us"),
            med(a, "p99_us"), med(b, "p99_us"), med(a, "qps") / inproc, med(b, "qps") / inproc))
PY
