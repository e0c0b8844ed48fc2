#!/usr/bin/env bash
# Retrains and republishes the collections from interaction and catalogue files, in one
# command: synopsis vectors (embed), the ncf model (train), a vector for every other
# anime (cold-start predict), and the genres, synopsis and ncf bundles (index, publish).
# A running simsearch-engine over the same --out picks the new versions up by itself
# (--poll_interval, or kill -HUP). Prints a summary of what changed in ncf since the
# previous run with the same --work: anime added and removed, and anime whose vector
# went from predicted to learned (they found viewers) or back.
#
#   scripts/retrain.sh --interactions FILE [--interactions FILE ...] --catalog FILE \
#       [--catalog FILE ...] --synopses FILE --encoder DIR [--out ROOT] [--work DIR] \
#       [--epochs N] [--threads N] [--min-viewers N] [--build DIR] [--keep N]
#
#   --interactions  interactions CSV (user_id, anime_id[, score, status]); repeat for
#                   several data sets (each file's users kept apart)
#   --catalog       catalogue CSV; repeat to merge (earlier files win)
#   --synopses      CSV with anime_id and synopsis columns (and name, english_name)
#   --encoder       the sentence encoder: a model folder for simsearch-embed --model
#                   (var/models/use-lite from scripts/fetch-use-lite.sh, a BERT folder,
#                   or an imported GloVe folder)
#   --out           the index root to publish into (default var/index)
#   --work          intermediate files, and the previous run's provenance for the
#                   summary (default var/retrain)
#   --epochs        MF epochs (default 20); --threads training threads (default 1: the
#                   same data gives the same model on every machine)
#   --min-viewers   anime with fewer viewers get a predicted vector (default 5)
#   --build         the build directory with the programs (default build)
#   --keep          versions kept per collection (default 3)
#
# The three bundles are published one after another: an engine polling meanwhile may
# serve a new genres with the previous ncf for a moment. A failed step stops the run;
# what was published before it stays published (each bundle is whole).
set -euo pipefail
script=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
usage() { sed -n '2,32p' "$script" | sed 's/^# \{0,1\}//'; }
# Paths are taken relative to where the command was run, not to the repository.
abs() { case "$1" in /*) printf '%s' "$1" ;; *) printf '%s/%s' "$PWD" "$1" ;; esac; }
repo=$(cd "$(dirname "$script")/.." && pwd)
interactions=() catalogs=() synopses="" encoder="" out=$repo/var/index work=$repo/var/retrain epochs=20 threads=1
min_viewers=5 build=$repo/build keep=3
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --interactions|--catalog|--synopses|--encoder|--out|--work|--epochs|--threads|--min-viewers|--build|--keep)
      [ $# -ge 2 ] || { echo "retrain: $1 needs a value (see --help)" >&2; exit 2; }
      case "$1" in
        --interactions) interactions+=("$(abs "$2")") ;;
        --catalog) catalogs+=("$(abs "$2")") ;;
        --synopses) synopses=$(abs "$2") ;;
        --encoder) encoder=$(abs "$2") ;;
        --out) out=$(abs "$2") ;;
        --work) work=$(abs "$2") ;;
        --epochs) epochs=$2 ;;
        --threads) threads=$2 ;;
        --min-viewers) min_viewers=$2 ;;
        --build) build=$(abs "$2") ;;
        --keep) keep=$2 ;;
      esac
      shift 2 ;;
    *) echo "retrain: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
cd "$repo"
missing=""
[ ${#interactions[@]} -gt 0 ] || missing+=" --interactions"
[ ${#catalogs[@]} -gt 0 ] || missing+=" --catalog"
[ -n "$synopses" ] || missing+=" --synopses"
[ -n "$encoder" ] || missing+=" --encoder"
if [ -n "$missing" ]; then echo "retrain: missing$missing (see --help)" >&2; exit 2; fi
for f in "${interactions[@]}" "${catalogs[@]}" "$synopses"; do
  [ -r "$f" ] || { echo "retrain: cannot read $f" >&2; exit 2; }
done
[ -d "$encoder" ] || { echo "retrain: --encoder $encoder is not a folder" >&2; exit 2; }
for tool in indexer/simsearch-indexer models/ncf/simsearch-train-ncf models/ncf/simsearch-cold-start \
            models/text/simsearch-embed; do
  [ -x "$build/$tool" ] || { echo "retrain: $build/$tool is missing: build first (./scripts/build.sh)" >&2; exit 2; }
done

cat_args=() inter_args=()
for c in "${catalogs[@]}"; do cat_args+=(--catalog "$c"); done
for i in "${interactions[@]}"; do inter_args+=(--interactions "$i"); done
mkdir -p "$work"
started=$SECONDS
step() { printf '\n== [%s s] %s\n' "$((SECONDS - started))" "$*" >&2; }

step "genres: multi-hot genre vectors of the catalogue"
"$build/indexer/simsearch-indexer" genre-vectors "${cat_args[@]}" \
  --out-vectors "$work/genres.npy" --out-ids "$work/genres_ids.npy"
"$build/indexer/simsearch-indexer" build --collection genres \
  --vectors "$work/genres.npy" --ids "$work/genres_ids.npy" "${cat_args[@]}" \
  --metric cosine --index flat --neighbours-cap 0.02 --keep "$keep" --out "$out" \
  --source "multi-hot genres of the catalogue (scripts/retrain.sh)"

step "synopsis vectors: $encoder over $synopses"
# An unfitted static encoder (import-glove) is fitted on the synopses and saved; a
# neural one (USE-lite, BERT) encodes a sentence at a time and is stored as it is.
embed_args=(--sentences) text_encoder=$encoder
if [ -f "$encoder/sif.json" ] && [ ! -f "$encoder/weights.f32" ]; then
  rm -rf "$work/encoder"
  embed_args=(--encoder-out "$work/encoder") text_encoder=$work/encoder
fi
"$build/models/text/simsearch-embed" --model "$encoder" "${embed_args[@]}" \
  --input "$synopses" --id-column anime_id --text-column synopsis \
  --out "$work/synopsis_vectors.npy" --ids-out "$work/synopsis_ids.npy"

step "ncf: matrix factorisation on ${interactions[*]} ($epochs epochs, $threads thread(s))"
"$build/models/ncf/simsearch-train-ncf" "${inter_args[@]}" "${cat_args[@]}" \
  --model mf --epochs "$epochs" --threads "$threads" --train-on-all --out "$work/ncf"

step "ncf: a vector for every catalogue anime with fewer than $min_viewers viewers, predicted from its content"
"$build/models/ncf/simsearch-cold-start" predict --model "$work/ncf" "${cat_args[@]}" \
  --text-vectors "$work/synopsis_vectors.npy" --text-ids "$work/synopsis_ids.npy" \
  --min-viewers "$min_viewers" --out "$work/ncf/all"
pop_shift=$(sed -n 's/^ *"popularity_shift": *\([-0-9.eE+]*\).*/\1/p' "$work/ncf/all/cold_start.json")
"$build/indexer/simsearch-indexer" build --collection ncf \
  --vectors "$work/ncf/all/item_vectors.npy" --ids "$work/ncf/all/item_ids.npy" \
  --query-vectors "$work/ncf/all/item_query_vectors.npy" \
  --item-provenance "$work/ncf/all/item_provenance.csv" \
  --provenance-method "simsearch-cold-start predict: ridge regression from content features to MF vectors, fit on anime with >= $min_viewers viewers, popularity shift ${pop_shift:-?} chosen on the newest anime with viewers (docs/MODELS.md)" \
  --user-vectors "$work/ncf/user_vectors.npy" --user-ids "$work/ncf/user_ids.npy" \
  --user-items "$work/ncf/user_items.csv" --user-listed "$work/ncf/user_listed.csv" "${cat_args[@]}" \
  --metric ip --index flat --keep "$keep" --out "$out" \
  --similar 0.75,50 --fold-in 0.001,100 --fold-in-prior 1 --neighbours-cap 0.02 \
  --similar-reason "NDCG@20 within 2% of the inner product, hub share 0.14 vs 0.47, no item with <5 viewers (docs/MODELS.md)" \
  --source "simsearch-train-ncf --model mf --epochs $epochs --threads $threads (64 factors) on ${interactions[*]}, and simsearch-cold-start predict (scripts/retrain.sh)"

step "synopsis: the synopsis vectors, BM25 over $synopses, and \"a story like this\" fused with ncf's lists"
# --scan-precision f16: text queries scan the 512-dimensional vectors as halves (9 MB
# instead of 18), then score the best 4k rows again in f32; recall@10 1.0000 against the
# f32 scan, and the same hit@10, MRR@10 and misses on both text query sets in every
# mode (docs/BENCHMARKS.md, "16-bit vectors").
"$build/indexer/simsearch-indexer" build --collection synopsis \
  --vectors "$work/synopsis_vectors.npy" --ids "$work/synopsis_ids.npy" \
  --encoder "$text_encoder" "${cat_args[@]}" --drop-missing \
  --item-synopses --lexical "$synopses" --lexical-text-column name \
  --lexical-text-column english_name --lexical-text-column synopsis \
  --story-neighbours --story-viewers "$out/ncf" \
  --metric cosine --index flat --scan-precision f16 --keep "$keep" --out "$out" \
  --source "simsearch-embed --sentences with $encoder over $synopses (scripts/retrain.sh)"

# What changed in ncf since the previous run with this --work.
new=$work/ncf/all/item_provenance.csv old=$work/previous_provenance.csv
if [ -f "$old" ]; then
  awk -F, 'FNR == 1 { next }
           FNR == NR { before[$1] = $2; next }
           { now[$1] = $2
             if (!($1 in before)) added++
             else if (before[$1] == "predicted" && $2 == "learned") { found++; if (found <= 5) ex = ex " " $1 }
             else if (before[$1] == "learned" && $2 == "predicted") lost++ }
           END { for (id in before) if (!(id in now)) removed++
                 printf "retrain: ncf changed since the previous run: %d anime added, %d removed; %d went from a predicted to a learned vector%s, %d from learned to predicted\n",
                        added, removed, found, found ? " (e.g." ex ")" : "", lost }' "$old" "$new"
else
  awk -F, 'FNR > 1 { n[$2]++ } END { printf "retrain: ncf: %d anime with learned vectors, %d predicted (no previous run in this --work to compare with)\n", n["learned"], n["predicted"] }' "$new"
fi
cp "$new" "$old.tmp"
mv "$old.tmp" "$old"
echo "retrain: published genres, synopsis and ncf under $out in $((SECONDS - started)) s" >&2
