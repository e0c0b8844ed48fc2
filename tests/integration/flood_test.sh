#!/usr/bin/env bash
# Connection floods against the two HTTP servers (docs/RELIABILITY.md, "Connection
# floods"): the local gateway (simsearch-lambda --serve-http) and the engine's metrics
# endpoint (--metrics_listen). For each, 1,000 idle connections and 200 slowloris ones
# (one header line every 2 s) are held, then the same with every cut connection opened
# again at once, while a probe GETs /health (or /metrics) every 100 ms: every probe must
# be answered within 1 s, the server's memory must stay bounded, and it must not crash.
#
# Usage: flood_test.sh BUILD_DIR [SECONDS]   (default 8 s a run; FLOOD_SECONDS too;
#        the soak: FLOOD_SECONDS=300 flood_test.sh build)
set -euo pipefail
build=$(cd "$1" && pwd)
seconds=${2:-${FLOOD_SECONDS:-8}}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../testing/tiny_engine.sh"

# The test holds ~2,500 descriptors across its processes; the servers raise their own
# limit, the flood tool its own.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

start_tiny_engine "$build" --metrics_listen 127.0.0.1:0
mport=$(wait_log_value "$work/engine.log" 's|.*metrics on http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p') ||
  { echo "FAIL: the engine did not report its metrics port:" >&2; cat "$work/engine.log" >&2; exit 1; }

"$build/lambda/simsearch-lambda" --serve-http 127.0.0.1:0 --index_root "$work/root" --web-root none \
  > "$work/gateway.log" 2>&1 &
gateway_pid=$!
trap 'for p in $gateway_pid $engine_pid; do kill $p 2>/dev/null; wait $p 2>/dev/null; done; rm -rf "$work"' EXIT
gport=$(wait_log_value "$work/gateway.log" 's|.*serving .* on http://127.0.0.1:\([0-9]*\)/.*|\1|p') ||
  { echo "FAIL: the gateway did not start:" >&2; cat "$work/gateway.log" >&2; exit 1; }

# Resident memory must stay bounded: the plain build stays under 25 MB, so 100 MB
# catches a leak of ~200 bytes per connection (a reconnecting flood opens ~500,000 in
# 8 s). Under AddressSanitizer freed memory sits in its quarantine (256 MB by default)
# and shadow memory comes on top: a sanitized build gets 1,200 MB.
max_rss=100
# (ldd's output is read whole first: `ldd | grep -q` under pipefail fails when grep
# exits before ldd has written everything.)
deps=$(ldd "$build/lambda/simsearch-lambda" 2>/dev/null || true)
if grep -q libasan <<<"$deps"; then max_rss=1200; fi

failed=0
run() {  # run NAME PORT PID PATH [flood flags]
  local name=$1 port=$2 pid=$3 path=$4
  shift 4
  echo "== $name: 1000 idle + 200 slowloris for $seconds s $*"
  if ! "$build/tests/simsearch-flood" --port "$port" --probe "$path" --idle 1000 --slow 200 \
      --seconds "$seconds" --pid "$pid" --max_rss_mb "$max_rss" "$@"; then
    echo "FAIL: $name" >&2
    failed=1
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "FAIL: $name: the server died" >&2
    exit 1
  fi
}
run "gateway /health" "$gport" "$gateway_pid" /health
run "gateway /health, reconnecting" "$gport" "$gateway_pid" /health --reconnect
run "metrics /metrics" "$mport" "$engine_pid" /metrics
run "metrics /metrics, reconnecting" "$mport" "$engine_pid" /metrics --reconnect
if [ "$failed" != 0 ]; then
  echo "--- gateway log (tail)" >&2; tail -20 "$work/gateway.log" >&2
  echo "--- engine log (tail)" >&2; tail -20 "$work/engine.log" >&2
  exit 1
fi
echo "PASS: every probe answered within 1 s under every flood"
