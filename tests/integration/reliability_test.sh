#!/usr/bin/env bash
# docs/RELIABILITY.md's promises, with the real programs as an operator runs them:
#  1. tools never rewrite a published file (embed and import-glove again under a running
#     engine: it keeps answering, and the bundle still verifies);
#  2. a file of the served version truncated in place does not kill the engine;
#  3. a second engine or gateway on a busy port (gRPC, HTTP, metrics) fails to start, loudly;
#  4. concurrent publishers with --keep 1: CURRENT always names the newest complete
#     version, every build exits 0;
#  5. builds killed with SIGKILL leave nothing the next build does not clean up.
# Usage: reliability_test.sh BUILD_DIR
set -uo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
engine_pid=""
pids=()
trap 'for p in $engine_pid "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
embed="$build/models/text/simsearch-embed"
indexer="$build/indexer/simsearch-indexer"
cli="$build/client/simsearch"
source "$here/../testing/tiny_engine.sh"

# --- 1. published bundles are immutable ------------------------------------------------
glove="$here/../data/glove/glove_twitter_25d_12k.txt"
"$embed" import-glove --in "$glove" --out "$work/glove" >/dev/null || fail "import-glove"
cat > "$work/a.csv" <<'CSV'
anime_id,synopsis
1,Bounty hunters chase criminals across space on their old ship.
2,A high school girl joins the music club and plays the guitar.
5,A samurai wanders through feudal Japan with his sword.
6,Robots fight a long war for the future of the earth.
CSV
"$embed" --model "$work/glove" --input "$work/a.csv" --out "$work/v.npy" --encoder-out "$work/enc" \
  >/dev/null 2>&1 || fail "embed"
"$indexer" build --collection stories --vectors "$work/v.npy" --ids "$work/v_ids.npy" \
  --encoder "$work/enc" --out "$work/root" >/dev/null 2>&1 || fail "index"
start_engine "$build" "$work/root" --poll_interval 0 || fail "engine did not start"
export SIMSEARCH_SERVER="127.0.0.1:$port"
before=$("$cli" search --collection stories --text "samurai sword" -k 2 --json) || fail "text search"
# The same tools again, into the same folders, with other inputs.
printf 'anime_id,synopsis\n9,Cooking with friends in a small town.\n10,A detective solves crimes.\n' > "$work/b.csv"
"$embed" --model "$work/glove" --input "$work/b.csv" --out "$work/v2.npy" --encoder-out "$work/enc" \
  >/dev/null 2>&1 || fail "embed again"
head -n 3000 "$glove" > "$work/small_glove.txt"
"$embed" import-glove --in "$work/small_glove.txt" --out "$work/glove" >/dev/null || fail "import-glove again"
"$embed" import-glove --in "$work/small_glove.txt" --out "$work/enc" >/dev/null 2>&1 || true
after=$("$cli" search --collection stories --text "samurai sword" -k 2 --json) \
  || fail "the engine stopped answering text queries after the tools rewrote their folders"
[ "$before" = "$after" ] || fail "answers changed: the bundle shares files with a tool's folder"
kill -0 "$engine_pid" 2>/dev/null || fail "the engine died (SIGBUS?)"
for f in "$work"/root/stories/v000001/encoder/*; do
  [ "$(stat -c %i "$f")" != "$(stat -c %i "$work/enc/$(basename "$f")" 2>/dev/null)" ] \
    || fail "$f shares an inode with the encoder folder"
done
kill "$engine_pid"; wait "$engine_pid" 2>/dev/null; engine_pid=""
start_engine "$build" "$work/root" --verify checksums || fail "engine did not restart"
grep -q "loaded collection 'stories' version v000001" "$work/engine.log" \
  || fail "the published version no longer verifies: $(cat "$work/engine.log")"
kill "$engine_pid"; wait "$engine_pid" 2>/dev/null; engine_pid=""
echo "ok   rerunning embed and import-glove leaves published bundles and a running engine intact"

# --- 2. a served file truncated in place -----------------------------------------------
awk 'BEGIN { srand(3); print "id,a,b,c,d,e,f,g,h"; for (i = 1; i <= 20000; i++) {
  printf "%d", i; for (j = 0; j < 8; j++) printf ",%.4f", rand() - 0.5; printf "\n" } }' > "$work/big.csv"
"$indexer" build --collection big --vectors "$work/big.csv" --out "$work/root" >/dev/null 2>&1 || fail "big v1"
"$indexer" build --collection big --vectors "$work/big.csv" --out "$work/root" >/dev/null 2>&1 || fail "big v2"
start_engine "$build" "$work/root" --poll_interval 0 || fail "engine did not start"
export SIMSEARCH_SERVER="127.0.0.1:$port"
"$cli" similar 5 --collection big -k 3 >/dev/null || fail "query before"
truncate -s 64 "$work/root/big/v000002/vectors.f32"
out=$("$cli" search --collection big --vector 0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8 -k 3 2>&1)
kill -0 "$engine_pid" 2>/dev/null || fail "the engine died on a truncated file"
echo "$out" | grep -q "UNAVAILABLE: .*damaged on disk" || fail "no damage reported: $out"
kill -HUP "$engine_pid"  # the reload (also the poller's job) replaces the damaged version
for _ in $(seq 1 50); do grep -q "serving older version v000001" "$work/engine.log" && break; sleep 0.1; done
grep -q "serving older version v000001" "$work/engine.log" || fail "no fallback: $(cat "$work/engine.log")"
"$cli" similar 5 --collection big -k 3 >/dev/null || fail "no answer after the fallback"
"$cli" describe big --json | grep -q '"serving_note": ".*v000002 cannot be served' || fail "describe has no note"
echo "ok   a truncated served file fails calls, not the engine; the intact version takes over"

# --- 3. busy ports ---------------------------------------------------------------------
mkdir -p "$work/empty"
"$build/server/simsearch-engine" --index_root "$work/empty" --listen "127.0.0.1:$port" > "$work/second.log" 2>&1 &
second=$!
sleep 1
if kill -0 "$second" 2>/dev/null; then kill "$second"; fail "a second engine started on busy port $port"; fi
wait "$second"; [ $? -ne 0 ] || fail "the second engine exited 0"
grep -q "address already in use" "$work/second.log" || fail "no clear message: $(cat "$work/second.log")"
kill "$engine_pid"; wait "$engine_pid" 2>/dev/null; engine_pid=""
printf 'id,a,b\n1,1,0\n2,0,1\n3,1,1\n' > "$work/small.csv"
"$indexer" build --collection small --vectors "$work/small.csv" --out "$work/root2" >/dev/null 2>&1 || fail "small"
"$build/lambda/simsearch-lambda" --serve-http 127.0.0.1:0 --index_root "$work/root2" \
  --recommend-collection small --search-collection small > "$work/gw1.log" 2>&1 &
pids+=($!)
gport=$(wait_log_value "$work/gw1.log" 's|.*http://127.0.0.1:\([0-9]*\).*|\1|p' 50) || true
[ -n "$gport" ] || fail "gateway did not start: $(cat "$work/gw1.log")"
"$build/lambda/simsearch-lambda" --serve-http "127.0.0.1:$gport" --index_root "$work/root2" \
  --recommend-collection small > "$work/gw2.log" 2>&1 && fail "a second gateway started on busy port $gport"
grep -q "cannot listen on 127.0.0.1:$gport" "$work/gw2.log" || fail "gateway message: $(cat "$work/gw2.log")"
# The metrics address too: it was bound with SO_REUSEPORT, so a second engine started
# and took 23 of 40 scrapes.
"$build/server/simsearch-engine" --index_root "$work/empty" --listen 127.0.0.1:0 --metrics_listen 127.0.0.1:0 \
  > "$work/m1.log" 2>&1 &
pids+=($!)
mport=$(wait_log_value "$work/m1.log" 's|.*metrics on http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p' 50) || true
[ -n "$mport" ] || fail "the metrics engine did not start: $(cat "$work/m1.log")"
"$build/server/simsearch-engine" --index_root "$work/empty" --listen 127.0.0.1:0 \
  --metrics_listen "127.0.0.1:$mport" > "$work/m2.log" 2>&1 && fail "a second engine started on busy metrics port $mport"
grep -q -- "--metrics_listen: cannot listen on 127.0.0.1:$mport: address already in use" "$work/m2.log" ||
  fail "metrics port message: $(cat "$work/m2.log")"
echo "ok   a second engine or gateway on a busy port (gRPC, HTTP or metrics) fails to start and says why"

# --- 4. concurrent publishers ----------------------------------------------------------
rounds=${RELIABILITY_ROUNDS:-30}
for r in $(seq 1 "$rounds"); do
  cpids=()
  for j in 1 2 3; do
    "$indexer" build --collection race --vectors "$work/small.csv" --keep 1 --out "$work/root" \
      >/dev/null 2> "$work/race_${r}_$j.err" &
    cpids+=($!)
  done
  for p in "${cpids[@]}"; do wait "$p" || fail "round $r: a build failed: $(cat "$work"/race_*.err)"; done
  current=$(cat "$work/root/race/CURRENT")
  [ -f "$work/root/race/$current/manifest.json" ] || fail "round $r: CURRENT names $current, which is gone"
  newest=$(ls "$work/root/race" | grep '^v' | sort | tail -1)
  [ "$current" = "$newest" ] || fail "round $r: CURRENT $current is behind the newest $newest"
done
left=$(ls -A "$work/root/race" | grep -v '^v\|^CURRENT$\|^\.lock$' || true)
[ -z "$left" ] || fail "left behind: $left"
echo "ok   $rounds rounds of 3 concurrent publishers with --keep 1: CURRENT always newest and complete"

# --- 5. killed builds ------------------------------------------------------------------
for i in $(seq 1 10); do
  "$indexer" build --collection killed --vectors "$work/big.csv" --index hnsw --keep 2 --out "$work/root" \
    >/dev/null 2>&1 &
  p=$!
  sleep "0.$((RANDOM % 6))"
  kill -9 "$p" 2>/dev/null
  wait "$p" 2>/dev/null
  if [ -f "$work/root/killed/CURRENT" ]; then
    current=$(cat "$work/root/killed/CURRENT")
    [ -f "$work/root/killed/$current/manifest.json" ] || fail "kill $i: CURRENT names an incomplete $current"
  fi
done
printf '.CURRENT.tmp-999999-0000abcd' > /dev/null
touch "$work/root/killed/.CURRENT.tmp-999999-0000abcd"
"$indexer" build --collection killed --vectors "$work/small.csv" --keep 2 --out "$work/root" >/dev/null 2>&1 \
  || fail "a build after the kills"
left=$(ls -A "$work/root/killed" | grep -v '^v\|^CURRENT$\|^\.lock$' || true)
[ -z "$left" ] || fail "leftovers of killed builds survive the next build: $left"
echo "ok   10 builds killed with SIGKILL: CURRENT stays complete, the next build removes the leftovers"
