#!/usr/bin/env bash
# The model comparison of docs/MODELS.md, on the bundled interactions:
#  1. all six models on one leave-one-out split (seed 42), default configuration,
#     NeuMF pretrained from the run's GMF and MLP;
#  2. MF against GMF on three more seeds (each seed is its own split), each also
#     queried the way the engine serves clients without a user id ("mf/list": the
#     user's training items as a watch list);
#  3. item-kNN's neighbourhood size;
#  4. "more like this" and watch-list queries as served (--eval-serving), on four seeds.
# About 25 minutes on 2 cores. Output: var/models/.
#
#   bench/run_models.sh [INTERACTIONS_CSV]   (default: the bundled anime lists; any CSV
#                                             of user, item[, rating] works)
set -euo pipefail
cd "$(dirname "$0")/.."
train=build/models/ncf/simsearch-train-ncf
data=${1:-data/anime/interactions_history_mal.csv}
out=${SIMSEARCH_VAR:-var}/models
mkdir -p "$out"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "== 1. all models, seed 42"
"$train" --interactions "$data" --model all --pretrain --export gmf --out "$out/all" 2>/dev/null
echo "== 2. MF vs GMF, more seeds"
for seed in 1 2 3; do
  for m in mf gmf; do
    printf 'seed %s  ' "$seed"
    "$train" --interactions "$data" --model "$m" --seed "$seed" --out "$out/seed-$m-$seed" 2>/dev/null | grep "^$m"
  done
done
echo "== 3. item-kNN neighbours"
for k in 20 50 100 200 400 1000; do
  printf 'k=%-5s ' "$k"
  "$train" --interactions "$data" --model itemknn --neighbours "$k" --out "$out/knn-$k" 2>/dev/null | grep "^itemknn"
done
echo "== 4. serving: more like this and watch lists (seeds 42, 1, 2, 3)"
for seed in 42 1 2 3; do
  echo "seed $seed"
  "$train" --interactions "$data" --model mf --seed "$seed" --eval-serving --out "$out/serving-$seed" 2>/dev/null |
    sed -n '/^more like this/,$p'
done
