#!/usr/bin/env bash
# Two simsearch-lambda binaries side by side as the local HTTP gateway (--serve-http),
# in one run: wrk against GET /health and GET /items/1 at CONNECTIONS keep-alive
# connections, the two gateways interleaved ROUNDS times (the machine may be shared).
# Prints each round, then medians of requests/s and p50/p99 latency, and B/A ratios.
#
#   bench/gateway_bench.sh LAMBDA_A LAMBDA_B [SECONDS] [ROUNDS] [CONNECTIONS]
#
# e.g. the gateway of an earlier commit against this one:
#   git worktree add /tmp/before <commit> && (cd /tmp/before && ./scripts/build.sh)
#   bench/gateway_bench.sh /tmp/before/build/lambda/simsearch-lambda build/lambda/simsearch-lambda 5 5 16
# Needs wrk (./scripts/install-deps.sh --bench) and build/indexer/simsearch-indexer.
set -euo pipefail
cd "$(dirname "$0")/.."
a=$1 b=$2 seconds=${3:-5} rounds=${4:-5} conns=${5:-16}
command -v wrk >/dev/null || { echo "gateway_bench: wrk is not installed (./scripts/install-deps.sh --bench)" >&2; exit 1; }
source tests/testing/logs.sh
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT

# A small collection with a catalogue, so /items/1 runs the handler and a lookup.
printf 'anime_id,name,english_name,genre,type,episodes,members\n1,Cowboy Bebop,Cowboy Bebop,"Action, Sci-Fi",TV,26,486824\n5,Cowboy Bebop: Tengoku no Tobira,Cowboy Bebop: The Movie,"Action, Sci-Fi",Movie,1,137636\n6,Trigun,Trigun,"Action, Comedy",TV,26,283069\n' > "$work/catalog.csv"
printf 'id,x,y\n1,1.0,0.1\n5,0.9,0.2\n6,0.0,1.0\n' > "$work/vectors.csv"
build/indexer/simsearch-indexer build --collection tiny --vectors "$work/vectors.csv" --catalog "$work/catalog.csv" \
  --out "$work/root" >/dev/null 2>&1

ports=()
for bin in "$a" "$b"; do
  log="$work/gw${#ports[@]}.log"
  "$bin" --serve-http 127.0.0.1:0 --index_root "$work/root" --web-root none --recommend-collection tiny \
    --search-collection tiny > "$log" 2>&1 &
  pids+=($!)
  port=$(wait_log_value "$log" 's|.*serving .* on http://127.0.0.1:\([0-9]*\)/.*|\1|p') ||
    { echo "gateway_bench: $bin did not start: $(cat "$log")" >&2; exit 1; }
  ports+=("$port")
done
echo "A: $a on ${ports[0]}"
echo "B: $b on ${ports[1]}"
echo "$(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); wrk -t1 -c$conns -d${seconds}s"

# One wrk run: "requests/s p50_ms p99_ms".
measure() {
  wrk -t1 -c"$conns" -d"${seconds}s" --latency "http://127.0.0.1:$1$2" | awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /Requests\/sec/ { rps = $2 } /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) }
    /Non-2xx/ { bad = $NF } END { printf "%s %.3f %.3f %s\n", rps, p50, p99, bad + 0 }'
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

for path in /health /items/1; do
  : > "$work/A"; : > "$work/B"
  for r in $(seq 1 "$rounds"); do
    for side in A B; do
      port=${ports[0]}; [ "$side" = B ] && port=${ports[1]}
      line=$(measure "$port" "$path")
      echo "$path round $r $side: $line (requests/s p50_ms p99_ms non-2xx)"
      echo "$line" >> "$work/$side"
    done
  done
  for i in 1 2 3; do
    ma=$(cut -d' ' -f$i "$work/A" | median); mb=$(cut -d' ' -f$i "$work/B" | median)
    name=$(echo "requests/s p50_ms p99_ms" | cut -d' ' -f$i)
    awk -v p="$path" -v n="$name" -v a="$ma" -v b="$mb" 'BEGIN { printf "%s median %s: A %.3f  B %.3f  B/A %.2f\n", p, n, a, b, (a > 0 ? b / a : 0) }'
  done
done
