#!/usr/bin/env bash
# Two engine binaries side by side on the same bundles, in one run: the serving loop of
# docs/BENCHMARKS.md (search-by-id on `genres`, closed loop) at 1, 4 and 16 clients,
# the two engines interleaved ROUNDS times (the machine may be shared), then the burst
# of docs/RELIABILITY.md (simsearch-burst) against each. Prints medians and ratios.
#
#   bench/ab_engines.sh ENGINE_A ENGINE_B [DURATION] [ROUNDS]
#   (COLLECTION=ncf CLIENTS="1 16 64" bench/ab_engines.sh ... for another collection and
#   other client counts; NO_BURST=1 skips the burst; CLIENT_THREADS=T drives the clients
#   from T asynchronous threads, as bench/peer_bench.sh; PIN=1 runs both engines on
#   CPU 0 and the load generator on CPU 1)
#
# e.g. the engine of an earlier commit against this one:
#   git worktree add /tmp/before <commit> && (cd /tmp/before && ./scripts/build.sh)
#   bench/ab_engines.sh /tmp/before/build/server/simsearch-engine build/server/simsearch-engine 5s 3
#   (commits before 5b47046, 2026-12-07, build the engine as build/engine/simsearch-engine)
set -euo pipefail
cd "$(dirname "$0")/.."
a=$1 b=$2 duration=${3:-5s} rounds=${4:-3}
root=${SIMSEARCH_VAR:-var}/index
collection=${COLLECTION:-genres}
clients=${CLIENTS:-1 4 16}
work=$(mktemp -d)
pids=()
source bench/pin.sh
pin_cpus ab_engines
client_threads=${CLIENT_THREADS:-0}
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
started=""
start() {  # start NAME BINARY PORT: sets $started to the pid
  local name=$1 bin=$2 port=$3
  "${server_cpu[@]}" "$bin" --index_root "$root" --listen "127.0.0.1:$port" --poll_interval 0 > "$work/$name.log" 2>&1 &
  started=$!
  pids+=("$started")
}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
start A "$a" 50091; pa=$started
start B "$b" 50092; pb=$started
sleep 2
for p in "$pa" "$pb"; do kill -0 "$p" 2>/dev/null || { echo "an engine did not start:" >&2; cat "$work"/*.log >&2; exit 1; }; done
for r in $(seq 1 "$rounds"); do
  for c in $clients; do
    for side in A B; do
      port=50091; [ "$side" = B ] && port=50092
      "${load_cpu[@]}" build/bench/simsearch-loadgen --index_root "$root" --collection "$collection" \
        --clients "$c" --client_threads "$client_threads" --duration "$duration" \
        --server "127.0.0.1:$port" --json | sed "s/^/$side $c /" >> "$work/runs.txt"
    done
  done
done
echo "collection $collection, search by id, top 10, closed loop, $duration per run"
python3 - "$work/runs.txt" <<'PY'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    side, clients, rest = line.split(" ", 2)
    runs.setdefault((side, int(clients)), []).append(json.loads(rest))
print("| clients | A qps | B qps | B/A | A p50 us | B p50 us | A p99 us | B p99 us | A p99.9 us | B p99.9 us | errors A/B |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for c in sorted({c for _, c in runs}):
    A, B = runs[("A", c)], runs[("B", c)]
    med = lambda rs, k: statistics.median(r[k] for r in rs)
    print("| %d | %.0f | %.0f | %.2f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %d/%d |" % (
        c, med(A, "qps"), med(B, "qps"), med(B, "qps") / med(A, "qps"), med(A, "p50_us"), med(B, "p50_us"),
        med(A, "p99_us"), med(B, "p99_us"), med(A, "p999_us"), med(B, "p999_us"),
        sum(r["errors"] for r in A), sum(r["errors"] for r in B)))
print("(medians of %d interleaved runs per cell)" % len(next(iter(runs.values()))))
for c in sorted({c for _, c in runs}):
    for side in "AB":
        print("%s, %d clients, p99 of each run (us): %s" % (
            side, c, " ".join("%.0f" % r["p99_us"] for r in runs[(side, c)])))
PY
[ -n "${NO_BURST:-}" ] && exit 0
for side in A B; do
  pid=$pa port=50091; [ "$side" = B ] && { pid=$pb; port=50092; }
  echo "== burst against $side: 100 concurrent BatchSearch of 64 queries x top_k 1000 (ncf)"
  build/bench/simsearch-burst --server "127.0.0.1:$port" --pid "$pid" --collection ncf \
    --calls 100 --queries 64 --top_k 1000 --settle 5s
  echo "== burst against $side: 1000 concurrent BatchSearch of 8 queries x top_k 100 (ncf)"
  build/bench/simsearch-burst --server "127.0.0.1:$port" --pid "$pid" --collection ncf \
    --calls 1000 --queries 8 --top_k 100 --settle 5s
done
