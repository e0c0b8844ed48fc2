#!/usr/bin/env bash
# Real bundles for the browser test, built from the bundled anime data with the
# project's own tools, small enough to build in about half a minute:
#   genres   multi-hot genres of the whole catalogue (15k anime)
#   ncf      MF trained 3 epochs on both sets of lists (the demo trains 20), and a
#            vector predicted from content for every anime with fewer than 5 viewers
#   synopsis SIF over the tests' small GloVe (25-d, 12k words) + BM25, with synopses, and
#            "a story like this" lists fused with ncf's (as scripts/retrain.sh builds them)
#
#   tests/web/make_bundles.sh BUILD_DIR OUT_ROOT
set -euo pipefail
build=$1
root=$2
here=$(cd "$(dirname "$0")" && pwd)
data=$here/../../data/anime
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
catalog=(--catalog "$data/anime_cooperunion_2017.csv" --catalog "$data/anime_synopses_merged.csv"
         --catalog "$data/anime_catalogue_2024.csv")
idx=$build/indexer/simsearch-indexer

"$idx" genre-vectors "${catalog[@]}" --out-vectors "$work/genres.npy" --out-ids "$work/genres_ids.npy" >/dev/null
"$idx" build --collection genres --vectors "$work/genres.npy" --ids "$work/genres_ids.npy" "${catalog[@]}" \
  --metric cosine --index flat --out "$root" --source "browser test: genres" >/dev/null 2>&1

embed=$build/models/text/simsearch-embed
"$embed" import-glove --in "$here/../data/glove/glove_twitter_25d_12k.txt" --out "$work/glove" >/dev/null
"$embed" --model "$work/glove" --input "$data/anime_synopses_merged.csv" --id-column anime_id \
  --text-column synopsis --out "$work/syn.npy" --ids-out "$work/syn_ids.npy" --encoder-out "$work/encoder" \
  >/dev/null 2>&1

# ncf as served (scripts/retrain.sh), trained shorter: anime with fewer than 5 viewers
# (Frieren and every anime since 2023) get vectors predicted from content.
"$build/models/ncf/simsearch-train-ncf" --interactions "$data/interactions_history_mal.csv" \
  --interactions "$data/animelist_2023.csv" "${catalog[@]}" \
  --model mf --epochs 3 --threads 1 --out "$work/ncf" >/dev/null 2>&1
"$build/models/ncf/simsearch-cold-start" predict --model "$work/ncf" "${catalog[@]}" \
  --text-vectors "$work/syn.npy" --text-ids "$work/syn_ids.npy" --out "$work/ncf/all" >/dev/null 2>&1
"$idx" build --collection ncf --vectors "$work/ncf/all/item_vectors.npy" --ids "$work/ncf/all/item_ids.npy" \
  --item-provenance "$work/ncf/all/item_provenance.csv" \
  --user-vectors "$work/ncf/user_vectors.npy" --user-ids "$work/ncf/user_ids.npy" \
  --user-items "$work/ncf/user_items.csv" "${catalog[@]}" \
  --metric ip --index flat --similar 0.75,50 --fold-in 0.001,100 --fold-in-prior 1 --out "$root" \
  --source "browser test: mf 3 epochs + cold start" >/dev/null 2>&1

"$idx" build --collection synopsis --vectors "$work/syn.npy" --ids "$work/syn_ids.npy" --encoder "$work/encoder" \
  "${catalog[@]}" --item-synopses --lexical "$data/anime_synopses_merged.csv" --lexical-text-column name \
  --lexical-text-column english_name --lexical-text-column synopsis --story-neighbours --story-viewers "$root/ncf" \
  --metric cosine --index flat --out "$root" --source "browser test: SIF 25-d" >/dev/null 2>&1
