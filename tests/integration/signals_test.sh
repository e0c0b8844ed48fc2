#!/usr/bin/env bash
# The engine process: a new version is served after SIGHUP (polling off), a corrupt one
# is rejected with the old one still serving, and SIGTERM drains and exits 0.
# Usage: signals_test.sh BUILD_DIR
set -uo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../testing/tiny_engine.sh"
start_tiny_engine "$build" --poll_interval 0 || exit 1
cli="$build/client/simsearch"
export SIMSEARCH_SERVER="127.0.0.1:$port"
fail() { echo "FAIL: $*" >&2; cat "$work/engine.log" >&2; exit 1; }

served() { "$cli" collections --json | sed -n 's/.*"version": "\(v[0-9]*\)".*/\1/p'; }
wait_for_version() {
  for _ in $(seq 1 50); do
    [ "$(served)" = "$1" ] && return 0
    sleep 0.1
  done
  return 1
}
[ "$(served)" = v000001 ] || fail "expected v000001 at start, got $(served)"

# v2 (Trigun moves next to Cowboy Bebop): invisible until SIGHUP, since polling is off.
printf 'id,x,y\n1,1.0,0.1\n5,0.0,1.0\n6,0.95,0.15\n' > "$work/v2.csv"
"$build/indexer/simsearch-indexer" build --collection tiny --vectors "$work/v2.csv" \
  --catalog "$work/catalog.csv" --out "$work/root" >/dev/null 2>&1 || fail "indexer"
sleep 0.3
[ "$(served)" = v000001 ] || fail "reloaded without a signal"
kill -HUP "$engine_pid"
wait_for_version v000002 || fail "SIGHUP did not load v000002"
"$cli" similar 1 -k 1 | grep -q "Trigun" || fail "v000002 answers are not served"
echo "ok   SIGHUP reload"

# v3 corrupt: rejected, v2 keeps serving, the reason is logged.
"$build/indexer/simsearch-indexer" build --collection tiny --vectors "$work/v2.csv" \
  --catalog "$work/catalog.csv" --out "$work/root" >/dev/null 2>&1 || fail "indexer"
printf 'garbage' | dd of="$work/root/tiny/v000003/vectors.f32" bs=1 seek=70 conv=notrunc 2>/dev/null
kill -HUP "$engine_pid"
for _ in $(seq 1 50); do grep -q "rejected collection 'tiny' version v000003" "$work/engine.log" && break; sleep 0.1; done
grep -q "rejected collection 'tiny' version v000003: .*checksum.*(still serving v000002)" "$work/engine.log" \
  || fail "corrupt v000003 not rejected with its reason"
[ "$(served)" = v000002 ] || fail "v000002 should still be served"
echo "ok   corrupt version rejected, old one serving"

# SIGTERM: drains, logs, exits 0.
kill -TERM "$engine_pid"
wait "$engine_pid"
rc=$?
engine_pid=""
[ "$rc" = 0 ] || fail "engine exited $rc after SIGTERM"
grep -q "SIGTERM: draining" "$work/engine.log" && grep -q "stopped" "$work/engine.log" || fail "no drain log"
echo "ok   SIGTERM drains and exits 0"
