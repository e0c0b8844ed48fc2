#!/usr/bin/env bash
# simsearch-train-ncf end to end: train on a small interactions file, export, index the
# vectors with simsearch-indexer, and get recommendations for a user from the engine.
# Usage: train_cli_test.sh BUILD_DIR
set -uo pipefail
build=$(cd "$1" && pwd)
work=$(mktemp -d)
engine_pid=""
trap 'if [ -n "$engine_pid" ]; then kill "$engine_pid" 2>/dev/null; wait "$engine_pid" 2>/dev/null; fi; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
train="$build/models/ncf/simsearch-train-ncf"

# 60 users in 3 taste groups of 10 items each (ids 1000 + group * 10 + k).
{
  echo "user_id,anime_id,rating"
  for u in $(seq 1 60); do
    g=$((u % 3))
    for k in $(seq 0 6); do echo "$u,$((1000 + g * 10 + (u + k) % 10)),$((5 + k % 5))"; done
  done
} > "$work/inter.csv"

"$train" --interactions "$work/inter.csv" --model mf --factors 4 --epochs 40 --batch 32 --lr 0.02 --threads 1 \
  --out "$work/mf" > "$work/mf.txt" 2> "$work/mf.err" || fail "mf training: $(cat "$work/mf.err")"
for f in item_vectors.npy item_ids.npy user_vectors.npy user_ids.npy metrics.json; do
  [ -s "$work/mf/$f" ] || fail "missing output $f"
done
grep -q '"exported": "mf"' "$work/mf/metrics.json" || fail "metrics.json does not name the export"
grep -q '"hr@10"' "$work/mf/metrics.json" || fail "metrics.json has no HR@10"
[ ! -e "$work/mf/item_query_vectors.npy" ] || fail "MF's self queries are its item vectors: no extra file"
ls -a "$work/mf" | grep -q '\.tmp\.' && fail "temporary files left behind"
echo "ok   mf trains and exports"

"$train" --interactions "$work/inter.csv" --model all --export gmf --factors 4 --layers 8,4 \
  --epochs 1 --pretrain --out "$work/all" > "$work/all.txt" 2>/dev/null || fail "--model all"
for m in pop itemknn mf gmf mlp neumf; do
  grep -q "^$m " "$work/all.txt" || fail "--model all did not report $m"
done
[ -s "$work/all/item_query_vectors.npy" ] || fail "gmf export has no query vectors"
echo "ok   all six models on one split"

"$train" --interactions "$work/inter.csv" --model neumf --export neumf --out "$work/x" 2> "$work/e.txt"
[ $? = 1 ] && grep -q "only mf and gmf" "$work/e.txt" || fail "neumf export should be refused"
printf 'user_id,anime_id\n7,1\n7,2\n' > "$work/one.csv"
"$train" --interactions "$work/one.csv" --out "$work/x" 2> "$work/e.txt"
[ $? = 1 ] && grep -q "one.csv: only one user (7)" "$work/e.txt" || fail "single user not reported"
printf 'user_id,anime_id\n7,1\n8,x\n' > "$work/bad.csv"
"$train" --interactions "$work/bad.csv" --out "$work/x" 2> "$work/e.txt"
[ $? = 1 ] && grep -q "bad.csv: line 3: item id 'x' is not an integer" "$work/e.txt" || fail "bad id not reported"
"$train" --interactions "$work/inter.csv" --score-weight -1 --out "$work/x" 2> "$work/e.txt"
[ $? = 1 ] && grep -q -- "--score-weight takes a strength in \[0, 100\]" "$work/e.txt" ||
  fail "a negative --score-weight not refused: $(cat "$work/e.txt")"
echo "ok   bad input is reported"

# Scores as weights: the file's ratings (5-9) weigh every pair, reported and recorded.
"$train" --interactions "$work/inter.csv" --model mf --factors 4 --epochs 2 --threads 1 \
  --score-weight 1 --out "$work/sw" > /dev/null 2> "$work/sw.err" || fail "--score-weight: $(cat "$work/sw.err")"
grep -q -- "--score-weight: 360 training pairs weighed by score" "$work/sw.err" ||
  fail "weighted pairs not reported: $(cat "$work/sw.err")"
grep -q '"score_weight": 1' "$work/sw/metrics.json" || fail "metrics.json does not record the weight"
printf 'user_id,anime_id\n1,10\n2,10\n1,11\n2,12\n' > "$work/plain.csv"
"$train" --interactions "$work/plain.csv" --model mf --epochs 1 --threads 1 --score-weight 1 \
  --out "$work/sw2" > /dev/null 2> "$work/sw2.err" || fail "--score-weight without scores failed"
grep -q "no training pair has a score" "$work/sw2.err" || fail "no warning without scores: $(cat "$work/sw2.err")"
echo "ok   --score-weight weighs scored pairs and warns when none has a score"

# Dropped entries as explicit negatives: counted, recorded; a trained status refused.
{
  echo "user_id,anime_id,score,status"
  for u in $(seq 1 20); do
    for k in 0 1 2 3; do echo "$u,$((100 + (u + k) % 8)),7,2"; done
    echo "$u,$((100 + (u + 5) % 8)),2,4"
  done
} > "$work/mal.csv"
"$train" --interactions "$work/mal.csv" --model mf --epochs 1 --threads 1 --negative-statuses 4 \
  --negative-weight 0.5 --out "$work/neg" > /dev/null 2> "$work/neg.err" || fail "--negative-statuses: $(cat "$work/neg.err")"
grep -q -- "--negative-statuses: 20 explicit negatives, weight 0.5" "$work/neg.err" ||
  fail "explicit negatives not reported: $(cat "$work/neg.err")"
grep -q '"negative_weight": 0.5' "$work/neg/metrics.json" || fail "metrics.json does not record them"
"$train" --interactions "$work/mal.csv" --negative-statuses 3 --out "$work/x" 2> "$work/e.txt"
[ $? = 1 ] && grep -q -- "--negative-statuses: 3 is also trained on or a view" "$work/e.txt" ||
  fail "a trained negative status not refused: $(cat "$work/e.txt")"
"$train" --interactions "$work/mal.csv" --negative-statuses 4 --negative-weight 0 --out "$work/x" 2> "$work/e.txt"
[ $? = 1 ] && grep -q -- "--negative-weight takes a weight in (0, 100\]" "$work/e.txt" ||
  fail "--negative-weight 0 not refused: $(cat "$work/e.txt")"
echo "ok   --negative-statuses trains dropped entries as negatives"

"$build/indexer/simsearch-indexer" build --collection ncf --vectors "$work/mf/item_vectors.npy" \
  --ids "$work/mf/item_ids.npy" --user-vectors "$work/mf/user_vectors.npy" \
  --user-ids "$work/mf/user_ids.npy" --user-items "$work/inter.csv" --metric ip \
  --out "$work/root" >/dev/null 2>&1 || fail "indexing the export"
source "$(dirname "$0")/../testing/tiny_engine.sh"
start_engine "$build" "$work/root" || fail "engine did not start"
# User 3 (group 0) watched 7 of the group's 10 items: the top 3 must be the other 3.
out=$("$build/client/simsearch" recommend --user 3 --collection ncf -k 3 --json --server "127.0.0.1:$port")
got=$(echo "$out" | sed -n 's/^      "id": \([0-9]*\),/\1/p' | sort | tr '\n' ' ')
want=$(for k in 0 1 2 3 4 5 6 7 8 9; do echo $((1000 + k)); done | grep -vxF -f <(
  for k in $(seq 0 6); do echo $((1000 + (3 + k) % 10)); done) | sort | tr '\n' ' ')
[ "$got" = "$want" ] || fail "user 3: got [$got], want the group's unseen items [$want]"
echo "ok   served recommendations for a user are the unseen items of their group"
# More like item 1000 (group 0): a viewer of 1000 watches group 0.
out=$("$build/client/simsearch" similar 1000 --collection ncf -k 5 --json --server "127.0.0.1:$port")
got=$(echo "$out" | sed -n 's/^      "id": \([0-9]*\),/\1/p' | tr '\n' ' ')
for id in $got; do
  [ "$id" -ge 1001 ] && [ "$id" -le 1009 ] || fail "more like 1000: got [$got], want group-0 items"
done
echo "ok   more like an item returns items of its group"
