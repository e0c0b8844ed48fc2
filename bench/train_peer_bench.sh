#!/usr/bin/env bash
# simsearch-train-ncf's trainer against PyTorch (bench/peers/torch_ncf.py, Debian's
# python3-torch) on the same model and data: one epoch of GMF and of NeuMF at 1 and 2
# threads, the two sides interleaved ROUNDS times; prints samples/s and the ratio.
#
#   bench/train_peer_bench.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-1}
/usr/bin/python3 -c "import torch" 2>/dev/null || { echo "train_peer_bench: Debian's python3-torch is missing" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for r in $(seq 1 "$rounds"); do
  for model in GMF NeuMF; do
    for t in 1 2; do
      build/bench/ncf_bench --benchmark_filter="BM_Epoch_$model/$t/" --benchmark_repetitions=1 \
        --benchmark_format=json 2>/dev/null |
        /usr/bin/python3 -c "import json,sys; b=json.load(sys.stdin)['benchmarks'][0]; print('simsearch $model $t', b['samples_per_s'])" \
        >> "$work/runs.txt"
      lower=$(echo "$model" | tr 'A-Z' 'a-z')
      /usr/bin/python3 bench/peers/torch_ncf.py --model "$lower" --threads "$t" |
        /usr/bin/python3 -c "import json,sys; j=json.load(sys.stdin); print('pytorch $model $t', j['samples_per_second'])" \
        >> "$work/runs.txt"
    done
  done
done
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
/usr/bin/python3 - "$work/runs.txt" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    side, model, t, sps = line.split()
    runs.setdefault((side, model, int(t)), []).append(float(sps))
print("| model | threads | simsearch samples/s | PyTorch samples/s | simsearch / PyTorch |")
print("|---|---:|---:|---:|---:|")
for model in ("GMF", "NeuMF"):
    for t in (1, 2):
        s, p = statistics.median(runs[("simsearch", model, t)]), statistics.median(runs[("pytorch", model, t)])
        print("| %s | %d | %.0f | %.0f | %.1f |" % (model, t, s, p, s / p))
PY
