#!/usr/bin/env bash
# scripts/retrain.sh end to end on small data: interaction and catalogue files to
# published bundles, an engine serving the root, then new interactions (an anime that
# had no viewers finds seven): the second run's summary names it as going from a
# predicted to a learned vector, and the running engine picks the new version up by
# itself and answers it so.
# Usage: retrain_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
source "$here/../testing/logs.sh"
work=$(mktemp -d)
engine_pid=""
trap 'if [ -n "$engine_pid" ]; then kill "$engine_pid" 2>/dev/null; wait "$engine_pid" 2>/dev/null; fi; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# 30 anime: 1-20 watched, 21-30 not (yet); stories from a few themes, so the static
# encoder knows their words.
themes=("a boy fights monsters to save his village and his friends"
        "two girls play music in a school band and dream of a concert"
        "space pirates hunt a treasure across the stars with their ship"
        "a detective solves murders in a dark city full of secrets")
genres=("Action, Fantasy" "Music, School" "Sci-Fi, Space" "Mystery, Psychological")
{
  echo 'anime_id,name,english_name,type,episodes,genres,start_date,members,related,synopsis'
  for i in $(seq 1 30); do
    t=$((i % 4))
    echo "$i,Show $i,Show $i,TV,12,\"${genres[$t]}\",20$((10 + i / 3))-04-01,$((1000 * i)),$(( i > 4 ? i - 4 : 0 )),\"${themes[$t]}. The story of show $i.\""
  done
} > "$work/catalog.csv"
# 40 users: user u watches the anime of taste u % 4 among 1-20, and two others.
{
  echo 'user_id,anime_id'
  for u in $(seq 1 40); do
    for i in $(seq 1 20); do
      if [ $((i % 4)) = $((u % 4)) ] || [ $(((i + u) % 7)) = 0 ]; then echo "$u,$i"; fi
    done
  done
} > "$work/lists_v1.csv"
cp "$work/lists_v1.csv" "$work/lists_v2.csv"
for u in 1 5 9 13 17 21 25; do echo "$u,21" >> "$work/lists_v2.csv"; done  # anime 21 finds 7 viewers

"$build/models/text/simsearch-embed" import-glove --in "$repo/tests/data/glove/glove_twitter_25d_12k.txt" \
  --out "$work/glove" >/dev/null

retrain() {  # retrain LISTS LOG
  "$repo/scripts/retrain.sh" --interactions "$1" --catalog "$work/catalog.csv" --synopses "$work/catalog.csv" \
    --encoder "$work/glove" --out "$work/root" --work "$work/retrain" --epochs 3 --build "$build" > "$2" 2>&1 ||
    { cat "$2" >&2; fail "retrain.sh failed"; }
}
retrain "$work/lists_v1.csv" "$work/run1.log"
grep -q "retrain: ncf: 20 anime with learned vectors, 10 predicted" "$work/run1.log" ||
  fail "first run's summary: $(grep retrain: "$work/run1.log")"
for c in genres synopsis ncf; do
  [ "$(cat "$work/root/$c/CURRENT")" = v000001 ] || fail "$c was not published"
done
grep -q '== \[' "$work/run1.log" || fail "no progress lines"
grep -q "\[cold\] popularity shift [0-9.]*, chosen on the 2 newest anime with viewers" "$work/run1.log" ||
  fail "no popularity shift chosen: $(grep "\[cold\]" "$work/run1.log")"
grep -q '"has_query_vectors": *true' "$work/root/ncf/v000001/manifest.json" ||
  fail "the ncf bundle lacks the query vectors (the vectors before the popularity shift)"
echo "ok   first run: genres, synopsis and ncf published; 20 learned, 10 predicted, a popularity shift chosen"

"$build/server/simsearch-engine" --index_root "$work/root" --listen 127.0.0.1:0 --poll_interval 200ms \
  --drain_delay 0 > "$work/engine.log" 2>&1 &
engine_pid=$!
port=$(wait_log_value "$work/engine.log" 's/.* on port \([0-9]*\) .*/\1/p') || { cat "$work/engine.log" >&2; fail "engine did not start"; }
# Outputs are captured whole before they are searched: `cli ... | grep -q` under pipefail
# fails when grep stops reading before the CLI has written everything.
cli() { "$build/client/simsearch" "$@" --server "127.0.0.1:$port"; }
has() { local out; out=$(cli "${@:2}" 2>/dev/null || true); grep -q -- "$1" <<<"$out"; }
has "vector:   predicted from its content (0 viewers" item 21 --collection ncf || fail "anime 21: $(cli item 21 --collection ncf)"
cli recommend --like 21,22 --collection ncf -k 3 > "$work/rec.txt" || fail "a watch list of unwatched anime: $(cat "$work/rec.txt")"
echo "ok   the engine serves anime 21 with a predicted vector, and a list of unwatched anime"

retrain "$work/lists_v2.csv" "$work/run2.log"
grep -q "retrain: ncf changed since the previous run: 0 anime added, 0 removed; 1 went from a predicted to a learned vector (e.g. 21), 0 from learned to predicted" "$work/run2.log" ||
  fail "second run's summary: $(grep retrain: "$work/run2.log")"
echo "ok   second run: the summary names anime 21 as now learned"
for _ in $(seq 1 100); do
  has "v000002" describe ncf && break
  sleep 0.1
done
has "v000002" describe ncf || fail "the engine did not pick up v000002: $(tail -5 "$work/engine.log")"
has "vector:   learned from 7 viewers" item 21 --collection ncf || fail "anime 21 after: $(cli item 21 --collection ncf)"
echo "ok   the running engine picked up v000002 and answers anime 21 as learned from 7 viewers"
echo PASS
