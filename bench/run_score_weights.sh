#!/usr/bin/env bash
# Scores as confidence and dropped entries as negatives (docs/MODELS.md, "Two data
# sets", how a status and a score count): MF on both sets of lists (only the 2023 lists
# have scores and statuses), seeds 1-3 (each its own split, initialisation and
# sampling), tested on held-out views as every other table, with
#  - each trained pair weighed by its score (simsearch-train-ncf --score-weight A:
#    1 + A (score - 5.5) / 4.5, scaled to a mean of 1 over the scored pairs), for each
#    strength A of STRENGTHS (0: unweighted);
#  - dropped entries as explicit negatives (--negative-statuses 4 --negative-weight W),
#    for each weight W of NEGATIVE_WEIGHTS.
# About 2 minutes per run on 2 cores. Output: var/score_weights/ (one metrics.json per
# run), and the table.
#
#   bench/run_score_weights.sh [STRENGTHS] [SEEDS] [NEGATIVE_WEIGHTS]
#   (defaults "0 0.5 1 2", "1 2 3", "0.25 1"; "" for none)
set -euo pipefail
cd "$(dirname "$0")/.."
strengths=${1-0 0.5 1 2}
seeds=${2:-1 2 3}
negative_weights=${3-0.25 1}
out=${SIMSEARCH_VAR:-var}/score_weights
d=data/anime
mkdir -p "$out"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
train() {  # NAME SEED FLAGS...
  local name=$1 seed=$2
  shift 2
  echo "$name, seed $seed" >&2
  build/models/ncf/simsearch-train-ncf --interactions "$d/interactions_history_mal.csv" \
    --interactions "$d/animelist_2023.csv" --catalog "$d/anime_cooperunion_2017.csv" \
    --catalog "$d/anime_synopses_merged.csv" --catalog "$d/anime_catalogue_2024.csv" \
    --model mf --seed "$seed" "$@" --out "$out/$name-$seed" >/dev/null 2> "$out/$name-$seed.log" ||
    { echo "failed: $name, seed $seed; see $out/$name-$seed.log" >&2; exit 1; }
}
for seed in $seeds; do
  for a in $strengths; do train "w$a" "$seed" --score-weight "$a"; done
  for w in $negative_weights; do train "neg$w" "$seed" --negative-statuses 4 --negative-weight "$w"; done
done
python3 bench/summarize_runs.py --group confidence "$out"/*/metrics.json
