#!/usr/bin/env bash
# simsearch-embed end to end: import GloVe, embed a CSV (skipping empty and unknown
# texts, reported), index with the encoder, and check that the engine's text search
# returns the same hits as the CLI's own encoding of the text searched as a vector.
# Usage: embed_cli_test.sh BUILD_DIR
set -uo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
engine_pid=""
trap 'if [ -n "$engine_pid" ]; then kill "$engine_pid" 2>/dev/null; wait "$engine_pid" 2>/dev/null; fi; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
embed="$build/models/text/simsearch-embed"

"$embed" import-glove --in "$here/../data/glove/glove_twitter_25d_12k.txt" --out "$work/glove" >/dev/null \
  || fail "import-glove"
cat > "$work/s.csv" <<'CSV'
anime_id,name,synopsis
1,A,"Bounty hunters chase criminals across space
on their old ship."
2,B,A high school girl joins the music club and plays the guitar.
3,C,
4,D,qqzzxx wwvvkk
5,E,A samurai wanders through feudal Japan with his sword.
6,F,Robots fight a long war for the future of the earth.
CSV
"$embed" --model "$work/glove" --input "$work/s.csv" --out "$work/v.npy" 2> "$work/e.txt" \
  && fail "an unfitted encoder without --encoder-out should be refused"
grep -q "encoder-out is required" "$work/e.txt" || fail "no hint for --encoder-out: $(cat "$work/e.txt")"
"$embed" --model "$work/glove" --input "$work/s.csv" --text-column plot --out "$work/v.npy" \
  --encoder-out "$work/enc" 2> "$work/e.txt" && fail "a missing column should fail"
grep -q "no column 'plot'; the header has: anime_id, name, synopsis" "$work/e.txt" || fail "column error: $(cat "$work/e.txt")"
"$embed" --model "$work/glove" --input "$work/s.csv" --out "$work/v.npy" --encoder-out "$work/enc" \
  > "$work/o.txt" 2> "$work/e.txt" || fail "embedding: $(cat "$work/e.txt")"
grep -q "skipped 1 rows with an empty or missing text (ids 3)" "$work/e.txt" || fail "empty text not reported"
grep -q "skipped 1 rows with no text the encoder knows (ids 4)" "$work/e.txt" || fail "unknown text not reported"
grep -q "wrote 4 vectors of 25 dims" "$work/o.txt" || fail "$(cat "$work/o.txt")"
[ -s "$work/v_ids.npy" ] || fail "no ids written"
echo "ok   embeds, reports and skips empty and unknown texts"
"$embed" --model "$work/enc" --input "$work/s.csv" --out "$work/new/folder/v.npy" \
  >/dev/null 2> "$work/e.txt" || fail "embedding into a new folder: $(cat "$work/e.txt")"
[ -s "$work/new/folder/v.npy" ] && [ -s "$work/new/folder/v_ids.npy" ] || fail "no output in the new folder"
echo "ok   makes the output folder"

"$build/indexer/simsearch-indexer" build --collection stories --vectors "$work/v.npy" \
  --ids "$work/v_ids.npy" --encoder "$work/enc" --out "$work/root" >/dev/null 2>&1 || fail "indexing"
source "$(dirname "$0")/../testing/tiny_engine.sh"
start_engine "$build" "$work/root" || fail "engine did not start"
cli="$build/client/simsearch"
export SIMSEARCH_SERVER="127.0.0.1:$port"
ids() { sed -n 's/^      "id": \([0-9]*\),/\1/p' | tr '\n' ' '; }
for q in "space bounty hunters" "music club at school" "a samurai with a sword"; do
  by_text=$("$cli" search --collection stories --text "$q" -k 4 --json | ids)
  # The CLI's own encoding of the query, with the encoder stored in the bundle.
  printf 'anime_id,synopsis\n1,"%s"\n' "$q" > "$work/q.csv"
  "$embed" --model "$work/root/stories/v000001/encoder" --input "$work/q.csv" --out "$work/q.npy" \
    >/dev/null 2>&1 || fail "encoding the query"
  vec=$(tail -c 100 "$work/q.npy" | od -An -v -f | tr -s ' \n' ',' | sed 's/^,//; s/,$//')
  by_vector=$("$cli" search --collection stories --vector "$vec" -k 4 --json | ids)
  [ -n "$by_text" ] && [ "$by_text" = "$by_vector" ] || fail "'$q': text [$by_text] vs vector [$by_vector]"
done
echo "ok   engine text search = CLI encoding + vector search"
