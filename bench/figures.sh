#!/usr/bin/env bash
# The figures of docs/BENCHMARKS.md: measures, writes the points as JSON lines into
# docs/figures/, and draws them with gnuplot (Debian's gnuplot-nox) as PNG:
#   docs/figures/serving.jsonl -> latency_vs_clients.png  (bench/peer_bench.sh)
#   docs/figures/ann.jsonl     -> recall_vs_qps.png       (simsearch-ann-bench)
#
#   ./scripts/install-deps.sh --bench && ./scripts/demo.sh --no-serve
#   bench/figures.sh            # measure (about 5 minutes) and draw
#   bench/figures.sh --draw     # draw again from the JSON already there
set -euo pipefail
cd "$(dirname "$0")/.."
out=docs/figures
mkdir -p "$out"
command -v gnuplot >/dev/null || { echo "figures: gnuplot is missing (scripts/install-deps.sh --bench)" >&2; exit 1; }
if [ "${1:-}" != "--draw" ]; then
  CLIENTS="1 4 16 64" PEER_JSON="$out/serving.jsonl" bench/peer_bench.sh 4s 3
  build/bench/simsearch-ann-bench --out "$out/ann.jsonl"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# JSON lines -> whitespace-separated columns gnuplot reads, one file per series.
/usr/bin/python3 - "$out" "$work" <<'PY'
import json, sys
src, dst = sys.argv[1], sys.argv[2]
series = {}
for line in open(f"{src}/serving.jsonl"):
    r = json.loads(line)
    series.setdefault(f"serving-{r['server']}", []).append((r["clients"], r["p50_us"] / 1000, r["p99_us"] / 1000, r["qps"]))
for line in open(f"{src}/ann.jsonl"):
    r = json.loads(line)
    series.setdefault(f"ann-{r['searcher']}", []).append((r["recall_at_10"], r["qps"]))
for name, rows in series.items():
    with open(f"{dst}/{name}.dat", "w") as f:
        for row in sorted(rows):
            f.write(" ".join(str(v) for v in row) + "\n")
PY
machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
gnuplot <<GP
set terminal pngcairo size 900,560 font "DejaVu Sans,11" noenhanced
set output "$out/latency_vs_clients.png"
set title "Search by id (ncf, top 10) over gRPC, closed loop, $machine"
set logscale xy
set xlabel "concurrent clients"
set ylabel "latency (ms)"
set xtics (1, 4, 16, 64)
set key left top
set grid
plot "$work/serving-engine.dat" using 1:2 with linespoints lw 2 title "simsearch-engine p50", \
     "$work/serving-engine.dat" using 1:3 with linespoints lw 2 dt 2 title "simsearch-engine p99", \
     "$work/serving-python.dat" using 1:2 with linespoints lw 2 title "Python grpcio + FAISS p50", \
     "$work/serving-python.dat" using 1:3 with linespoints lw 2 dt 2 title "Python grpcio + FAISS p99"
set output "$out/recall_vs_qps.png"
set title "100k x 64 clustered, held-out queries, one query at a time, 1 thread, $machine"
unset logscale
set logscale y
set xtics auto
set xlabel "recall@10"
set ylabel "queries per second"
set xrange [0.8:1.005]
set key left bottom
plot "$work/ann-faiss-ivf1024-mapped.dat" using 1:2 with linespoints lw 2 title "FAISS IVF1024 (mapped, served ivf)", \
     "$work/ann-faiss-hnsw32.dat" using 1:2 with linespoints lw 2 title "FAISS HNSW32 (hnsw --hnsw-library faiss)", \
     "$work/ann-hnswlib-m32-served.dat" using 1:2 with linespoints lw 2 title "hnswlib M=32 (served hnsw)", \
     "$work/ann-hnswlib-m32.dat" using 1:2 with linespoints lw 2 dt 2 title "hnswlib M=32, its own API"
GP
echo "figures: wrote $out/latency_vs_clients.png and $out/recall_vs_qps.png"
