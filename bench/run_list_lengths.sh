#!/usr/bin/env bash
# Watch lists by length (docs/MODELS.md, "Short watch lists"): for held-out users of
# both data sets, each user's list cut to L = 1, 3, 5, 10, 20, 50 of their anime, the
# held-out view ranked by popularity, item-kNN and the MF fold-in without a prior and
# with the prior toward the mean user (weight MU, or MU divided by the list's length),
# seeds 1-3 (each its own split and model). About 4 minutes on 2 cores.
# Output: var/lengths/seed-N/metrics.json, and the tables.
#
#   bench/run_list_lengths.sh [SEEDS] [PRIORS]   (defaults "1 2 3", "0,0.3,1,1/L,3/L")
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-1 2 3}
priors=${2:-0,0.3,1,1/L,3/L}
out=${SIMSEARCH_VAR:-var}/lengths
d=data/anime
mkdir -p "$out"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
for seed in $seeds; do
  build/models/ncf/simsearch-train-ncf --interactions "$d/interactions_history_mal.csv" \
    --interactions "$d/animelist_2023.csv" --catalog "$d/anime_cooperunion_2017.csv" \
    --catalog "$d/anime_synopses_merged.csv" --catalog "$d/anime_catalogue_2024.csv" \
    --model mf --seed "$seed" --eval-lengths 1,3,5,10,20,50 --fold-in-priors "$priors" \
    --out "$out/seed-$seed" >/dev/null 2>&1
done
python3 bench/summarize_runs.py --group lengths "$out"/seed-*/metrics.json
