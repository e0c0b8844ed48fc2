#!/usr/bin/env bash
# Three engines over one index root behind a real HAProxy (deploy/haproxy/haproxy.cfg).
# The load generator runs through HAProxy while (a) a new bundle version is published
# and every replica picks it up, and (b) one engine gets SIGTERM and later comes back.
# Reports failed calls (the goal, asserted: 0) and each replica's share of the calls.
# Usage: haproxy_test.sh BUILD_DIR [SECONDS]
set -euo pipefail
build=$(cd "$1" && pwd)
seconds=${2:-24}
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
command -v haproxy >/dev/null || { echo "FAIL: haproxy is not installed (./scripts/install-deps.sh installs it)" >&2; exit 1; }
source "$here/../testing/logs.sh"

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# A collection of 4,000 random 16-d vectors (exact index), and later a second version.
make_version() {  # make_version SEED
  awk -v seed="$1" 'BEGIN { srand(seed); printf "id"; for (j = 0; j < 16; j++) printf ",x%d", j; print "";
    for (i = 1; i <= 4000; i++) { printf "%d", i; for (j = 0; j < 16; j++) printf ",%.5f", rand() - 0.5; print "" } }' \
    > "$work/vectors.csv"
  "$build/indexer/simsearch-indexer" build --collection lb --vectors "$work/vectors.csv" --out "$work/root" >/dev/null 2>&1
}
make_version 1

# Engines: first on port 0 to learn a free port, then each keeps its port for restarts.
declare -A eport mport epid
start_engine() {  # start_engine N [PORT [STARTS]]: STARTS = how many start lines the log will then hold
  local n=$1 listen="127.0.0.1:${2:-0}" log="$work/engine$1.log"
  touch "$log"
  "$build/server/simsearch-engine" --index_root "$work/root" --listen "$listen" --poll_interval 200ms \
    --drain_delay 2s --shutdown_grace 5s --metrics_listen 127.0.0.1:0 >> "$log" 2>&1 &
  epid[$n]=$!
  pids+=("${epid[$n]}")
  for _ in $(seq 1 100); do
    local p
    p=$(log_value "$log" 's/.* on port \([0-9]*\) .*/\1/p')
    if [ -n "$p" ] && [ "$(grep -c ' on port ' "$log")" -ge "${3:-1}" ]; then
      eport[$n]=$p
      mport[$n]=$(log_value "$log" 's|.*metrics on http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p')
      return 0
    fi
    sleep 0.1
  done
  echo "FAIL: engine $n did not start:" >&2; cat "$log" >&2; exit 1
}
for n in 1 2 3; do start_engine "$n"; done

# HAProxy on two free ports (retry if taken).
lb=""; stats=""
for _ in 1 2 3 4 5; do
  try=$((20000 + RANDOM % 30000))
  SIMSEARCH_LB_LISTEN=127.0.0.1:$try SIMSEARCH_LB_STATS=127.0.0.1:$((try + 1)) \
  SIMSEARCH_ENGINE_1=127.0.0.1:${eport[1]} SIMSEARCH_ENGINE_2=127.0.0.1:${eport[2]} SIMSEARCH_ENGINE_3=127.0.0.1:${eport[3]} \
  SIMSEARCH_HEALTH_CHECK="$src/deploy/haproxy/grpc-health-check.sh" SIMSEARCH_CHECK_PATH="$build/client:/usr/bin:/bin" \
  SIMSEARCH_CHECK_INTERVAL=500ms \
    haproxy -f "$src/deploy/haproxy/haproxy.cfg" > "$work/haproxy.log" 2>&1 &
  hp=$!
  # Up when its stats page answers; a taken port makes it exit.
  for _ in $(seq 1 50); do
    curl -sf "http://127.0.0.1:$((try + 1))/stats;csv" > /dev/null 2>&1 && break
    kill -0 "$hp" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$hp" 2>/dev/null; then pids+=("$hp"); lb=$try; stats=$((try + 1)); break; fi
done
[ -n "$lb" ] || { echo "FAIL: HAProxy did not start:" >&2; cat "$work/haproxy.log" >&2; exit 1; }

# Per-server fields of HAProxy's stats CSV: name status req_tot.
lb_servers() {
  curl -sf "http://127.0.0.1:$stats/stats;csv" | awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    $1 == "engines" && $2 ~ /^engine/ { print $2, $(col["status"]), $(col["req_tot"]) }'
}
for _ in $(seq 1 50); do
  [ "$(lb_servers | grep -c ' UP ')" = 3 ] && break
  sleep 0.2
done
[ "$(lb_servers | grep -c ' UP ')" = 3 ] || { echo "FAIL: HAProxy does not see 3 healthy engines:" >&2; lb_servers >&2; cat "$work/haproxy.log" >&2; exit 1; }
echo "HAProxy on 127.0.0.1:$lb over engines on ports ${eport[1]} ${eport[2]} ${eport[3]}; all UP"

# wait_for_calls N: until HAProxy has passed N more calls than when asked (the load is
# flowing), at most 20 s.
calls_so_far() { lb_servers | awk '{ t += $3 } END { print t + 0 }'; }
wait_for_calls() {
  local from
  from=$(calls_so_far)
  for _ in $(seq 1 200); do
    [ "$(calls_so_far)" -ge $((from + $1)) ] && return 0
    sleep 0.1
  done
  echo "FAIL: fewer than $1 calls through HAProxy in 20 s" >&2; lb_servers >&2; exit 1
}

served_version() {  # served_version N: the version engine N serves
  curl -sf "http://127.0.0.1:${mport[$1]}/metrics" | sed -n 's/^simsearch_collection_info{collection="lb",version="\([^"]*\)"} 1$/\1/p'
}

# Load through HAProxy, 4 clients, retries on UNAVAILABLE (the client's service config).
"$build/bench/simsearch-loadgen" --index_root "$work/root" --collection lb --server "127.0.0.1:$lb" \
  --clients 4 --duration "${seconds}s" --warmup 0s --json > "$work/load.json" 2> "$work/load.err" &
load=$!
pids+=("$load")

wait_for_calls 500
make_version 2
t0=$(date +%s.%N)
for _ in $(seq 1 100); do
  v1=$(served_version 1); v2=$(served_version 2); v3=$(served_version 3)
  [ "$v1$v2$v3" = "v000002v000002v000002" ] && break
  sleep 0.1
done
[ "$v1$v2$v3" = "v000002v000002v000002" ] || { echo "FAIL: replicas serve $v1 $v2 $v3 after publishing v000002" >&2; exit 1; }
echo "(a) v000002 published: every replica serves it after $(awk -v a="$t0" -v b="$(date +%s.%N)" "BEGIN { printf \"%.1f\", b - a }") s"

wait_for_calls 500  # the new version under load
echo "(b) SIGTERM to engine 2 (drain_delay 2s)"
kill -TERM "${epid[2]}"
for _ in $(seq 1 100); do lb_servers | grep -q '^engine2 DOWN' && break; sleep 0.1; done
lb_servers | grep -q '^engine2 DOWN' && echo "    HAProxy marked engine 2 DOWN while it drained" \
  || { echo "FAIL: HAProxy never marked engine 2 DOWN" >&2; lb_servers >&2; exit 1; }
wait "${epid[2]}" 2>/dev/null || true
echo "    engine 2 exited; restarting it on port ${eport[2]}"
wait_for_calls 500  # served by the other two meanwhile
start_engine 2 "${eport[2]}" 2
for _ in $(seq 1 100); do lb_servers | grep -q '^engine2 UP' && break; sleep 0.1; done
lb_servers | grep -q '^engine2 UP' && echo "    engine 2 is back UP" || { echo "FAIL: engine 2 did not come back UP" >&2; exit 1; }

wait "$load" || true
echo "load: $(cat "$work/load.json")"
[ -s "$work/load.err" ] && echo "load stderr: $(cat "$work/load.err")"
echo "calls per replica (HAProxy req_tot):"
lb_servers | awk '{ n[$1] = $3; t += $3 } END { for (s in n) printf "  %s %d (%.1f%%)\n", s, n[s], 100 * n[s] / t }' | sort
errors=$(sed -n 's/.*"errors":\([0-9]*\).*/\1/p' "$work/load.json")
ok=$(sed -n 's/.*"ok":\([0-9]*\).*/\1/p' "$work/load.json")
if [ -z "$errors" ] || [ "$errors" != 0 ] || [ "${ok:-0}" -lt 100 ]; then
  echo "FAIL: $errors failed call(s), $ok answered, through HAProxy across the reload and the restart" >&2
  exit 1
fi
echo "PASS: $ok calls, 0 failed"
