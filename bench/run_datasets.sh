#!/usr/bin/env bash
# The two data sets of docs/MODELS.md ("Two data sets: 2017 and 2023 lists"), each
# number over several seeds (each seed is its own leave-one-out split, initialisation
# and sampling), reported as mean and standard deviation by bench/summarize_runs.py:
#  1. how a MAL list status counts: MF on both sets, trained on different statuses,
#     always tested on held-out views (watching or completed), seeds 1-3;
#  2. popularity, item-kNN and MF (as a user and as a watch list folded in, the way the
#     engine serves it), on the 2017 set alone, the 2023 set alone, and both together
#     (each set's users apart), seeds 1-5.
# Interactions are kept to anime the catalogue names (what can be served).
# About 25 minutes on 2 cores. Output: var/datasets/ (one metrics.json per run).
#
#   bench/run_datasets.sh [SEEDS]   (default "1 2 3 4 5")
set -euo pipefail
cd "$(dirname "$0")/.."
train=build/models/ncf/simsearch-train-ncf
seeds=${1:-1 2 3 4 5}
out=${SIMSEARCH_VAR:-var}/datasets
d=data/anime
catalog=(--catalog "$d/anime_cooperunion_2017.csv" --catalog "$d/anime_synopses_merged.csv"
         --catalog "$d/anime_catalogue_2024.csv")
y2017=(--interactions "$d/interactions_history_mal.csv")
y2023=(--interactions "$d/animelist_2023.csv")
mkdir -p "$out"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"

echo "== 1. statuses trained on (tested on held-out views: watching, completed)"
for statuses in 1,2 1,2,3 1,2,3,4 1,2,3,6 1,2,3,4,6; do
  for seed in 1 2 3; do
    "$train" "${y2017[@]}" "${y2023[@]}" "${catalog[@]}" --statuses "$statuses" --model mf --seed "$seed" \
      --out "$out/status-$statuses-$seed" 2>/dev/null >/dev/null
  done
done
python3 bench/summarize_runs.py --group statuses "$out"/status-*/metrics.json

echo "== 2. models by data set"
for seed in $seeds; do
  for set in 2017 2023 both; do
    case $set in
      2017) inputs=("${y2017[@]}") ;;
      2023) inputs=("${y2023[@]}") ;;
      both) inputs=("${y2017[@]}" "${y2023[@]}") ;;
    esac
    for model in pop itemknn mf; do
      "$train" "${inputs[@]}" "${catalog[@]}" --model "$model" --seed "$seed" \
        --out "$out/$set-$model-$seed" 2>/dev/null >/dev/null
    done
  done
done
python3 bench/summarize_runs.py --group dataset "$out"/{2017,2023,both}-*/metrics.json
