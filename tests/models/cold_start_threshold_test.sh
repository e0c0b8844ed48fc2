#!/usr/bin/env bash
# simsearch-cold-start threshold end to end on small data: the held-out views it reports
# are round(0.2 x views) per user (counted here from the file), every threshold, blend
# and watch-list setting ranks all of them, the anime predicted grow with the threshold,
# a blend predicts what its threshold does, the paired table is printed against the
# default of 5 (users' rows against 5, watch lists against 5:5), the users held out
# whole split the held-out views with the others and their lists are cut by length, and
# bad flags are refused with a message naming them.
# Usage: cold_start_threshold_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
tool=$build/models/ncf/simsearch-cold-start

# 30 anime of four tastes; 60 users, each watching their taste and a few others among
# anime 1-20; anime 21-30 have 1-10 viewers.
genres=("Action, Fantasy" "Music, School" "Sci-Fi, Space" "Mystery, Psychological")
{
  echo 'anime_id,name,type,episodes,genres,start_date,members,related'
  for i in $(seq 1 30); do
    echo "$i,Show $i,TV,12,\"${genres[$((i % 4))]}\",20$((10 + i / 3))-04-01,$((1000 * i)),$(( i > 4 ? i - 4 : 0 ))"
  done
} > "$work/catalog.csv"
{
  echo 'user_id,anime_id'
  for u in $(seq 1 60); do
    for i in $(seq 1 30); do
      if [ "$i" -gt 20 ]; then
        if [ "$u" -le $((i - 20)) ]; then echo "$u,$i"; fi
      elif { [ $((i % 4)) = $((u % 4)) ] && [ $((i % 5)) != $((u % 5)) ]; } || [ $(((i + u) % 7)) = 0 ]; then
        echo "$u,$i"
      fi
    done
  done
} > "$work/lists.csv"

"$tool" threshold --interactions "$work/lists.csv" --catalog "$work/catalog.csv" \
  --thresholds 1,5,10 --blends 4 --watch-lists 5:5,5:10 --seeds 1,2 --epochs 2 --threads 1 \
  --out "$work/t.json" \
  > "$work/table.md" 2> "$work/err.log" || { cat "$work/err.log" >&2; fail "threshold failed"; }
grep -q "^| learned from 10 viewers on |" "$work/table.md" || fail "no row for threshold 10: $(cat "$work/table.md")"
grep -q "^| vectors | NDCG@20 minus that at 5 viewers (5:5 for watch lists), per seed |" "$work/table.md" ||
  fail "no paired table"
grep -q "^| learned from 5 viewers on | +0.0000, +0.0000 |" "$work/table.md" || fail "5 is not paired with itself"
grep -q "^| watch lists: queried as learned from 5 viewers on, ranked as learned from 5 on | +0.0000, +0.0000 |" \
  "$work/table.md" || fail "watch lists 5:5 are not paired with themselves: $(cat "$work/table.md")"

python3 - "$work" <<'PY'
import csv, json, re, sys
work = sys.argv[1]
views = {}
for row in csv.DictReader(open(f"{work}/lists.csv")):
    views[row["user_id"]] = views.get(row["user_id"], 0) + 1
# Python's round() is to even; the tool rounds halves up (llround).
expected = sum(min(max(int(n * 0.2 + 0.5), 1), n - 1) for n in views.values() if n >= 2)
held = [int(m) for m in re.findall(r"seed \d+: (\d+) views held out", open(f"{work}/err.log").read())]
assert held == [expected, expected], (held, expected)
rows = json.load(open(f"{work}/t.json"))["rows"]
assert [r["vectors"] for r in rows] == [
    "learned from 1 viewers on", "learned from 5 viewers on", "learned from 10 viewers on",
    "blend n/(n+4) learned, under 10 viewers",
    "watch lists: queried as learned from 5 viewers on, ranked as learned from 5 on",
    "watch lists: queried as learned from 5 viewers on, ranked as learned from 10 on"], [r["vectors"] for r in rows]
for r in rows:
    assert sum(r["pairs_by_viewers"]) == 2 * expected, (r["vectors"], r["pairs_by_viewers"])
    assert len(r["ndcg20"]) == 2 and all(0 <= v <= 1 for v in r["ndcg20"] + r["recall20"]), r
p = [r["predicted"] for r in rows]
assert p[0][0] <= p[1][0] <= p[2][0] and p[1][0] < p[2][0], p
assert p[3] == p[2] and p[4] == p[1] and p[5] == p[2], p
print("predicted", p)
print("ok   held-out views, rows, predicted anime and pairs as expected")
PY

# A quarter of the users held out whole: their held-out views go to the watch lists, the
# others' to the users' own vectors; together every held-out view, once.
"$tool" threshold --interactions "$work/lists.csv" --catalog "$work/catalog.csv" \
  --thresholds 5 --blends "" --watch-lists 5:5 --holdout-users 0.25 --list-lengths 1,3,100 --seeds 1 \
  --epochs 2 --threads 1 --out "$work/u.json" > "$work/lengths.md" 2> "$work/err.log" ||
  { cat "$work/err.log" >&2; fail "--holdout-users failed"; }
grep -q "^| 3 | lists.csv ([0-9]*) | [01] of 1 | [01] of 1 | [01] of 1 |" "$work/lengths.md" ||
  fail "no verdict for lists of 3: $(cat "$work/lengths.md")"
grep -q "^| 100 | lists.csv (0) | no list this long |" "$work/lengths.md" ||
  fail "lists of 100 (none) given a verdict: $(cat "$work/lengths.md")"
python3 - "$work" <<'PY'
import json, sys
rows = json.load(open(f"{sys.argv[1]}/u.json"))["rows"]
users, lists = sum(rows[0]["pairs_by_viewers"]), sum(rows[1]["pairs_by_viewers"])
total = sum(json.load(open(f"{sys.argv[1]}/t.json"))["rows"][0]["pairs_by_viewers"]) // 2
assert users > 0 and lists > 0 and users + lists == total, (users, lists, total)
assert lists < users, (users, lists)
print(f"ok   users held out whole: {lists} views for watch lists, {users} for users' vectors")
# By length: popularity, item-kNN and the fold-in per length, on the same users; none
# has a list of 100 (at most 30 anime), and fewer have 3 anime than 1.
doc = json.load(open(f"{sys.argv[1]}/u.json"))
by_length = doc["by_list_length"]
assert [(r["length"], r["ranking"]) for r in by_length] == [
    (l, name) for l in (1, 3, 100)
    for name in ("popularity", "item-kNN (200)", "fold-in, learned from 5:5 viewers")], by_length
evaluated = {l: {r["by_dataset"][0]["users"][0] for r in by_length if r["length"] == l}
             for l in (1, 3, 100)}
assert all(len(v) == 1 for v in evaluated.values()), evaluated
one, three, hundred = (evaluated[l].pop() for l in (1, 3, 100))
assert hundred == 0 and 0 < three <= one, (one, three, hundred)
held_whole = len([r for r in doc["rows"] if r["query"] > 0])  # the watch-list row exists
assert held_whole == 1
for r in by_length:
    for v in r["by_dataset"][0]["metrics"].values():
        assert all(0 <= x <= 1 for x in v), r
print(f"ok   lists by length: {one} users with lists of 1, {three} of 3, none of 100")
PY

"$tool" threshold --interactions "$work/lists.csv" --catalog "$work/catalog.csv" --thresholds 1,0 \
  > /dev/null 2> "$work/bad.log" && fail "--thresholds 1,0 was accepted"
grep -q -- "--thresholds: '0' is not a number of at least 1" "$work/bad.log" || fail "message: $(cat "$work/bad.log")"
"$tool" threshold --interactions "$work/lists.csv" --catalog "$work/catalog.csv" --holdout 1 \
  > /dev/null 2> "$work/bad.log" && fail "--holdout 1 was accepted"
grep -q -- "--holdout must be between 0 and 1" "$work/bad.log" || fail "message: $(cat "$work/bad.log")"
"$tool" threshold --interactions "$work/lists.csv" --catalog "$work/catalog.csv" --watch-lists 13:5 \
  > /dev/null 2> "$work/bad.log" && fail "--watch-lists 13:5 was accepted"
grep -q -- "--watch-lists: '13:5' is not QUERY:RANK with 1 <= QUERY <= RANK" "$work/bad.log" ||
  fail "message: $(cat "$work/bad.log")"
"$tool" threshold --interactions "$work/lists.csv" --catalog "$work/catalog.csv" --list-lengths 1,3 \
  > /dev/null 2> "$work/bad.log" && fail "--list-lengths without --holdout-users was accepted"
grep -q -- "--list-lengths cuts the lists of users held out whole: give --holdout-users" "$work/bad.log" ||
  fail "message: $(cat "$work/bad.log")"
echo "ok   bad --thresholds, --holdout, --watch-lists and --list-lengths refused, naming the flag"
