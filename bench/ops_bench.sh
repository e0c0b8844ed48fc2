#!/usr/bin/env bash
# The cost of operations features on the serving path, and throughput through HAProxy,
# in one run (docs/BENCHMARKS.md, "Operations"). The serving loop of run_loadgen.sh
# (search by id on `genres`, top 10, closed loop) against:
#   1. engines started side by side with: nothing extra | --metrics_listen | TLS |
#      TLS + token | TLS + token + metrics + JSON logs; at 1 and 16 clients;
#   2. HAProxy (deploy/haproxy/haproxy.cfg) over 1, 2 and 3 replicas, and one engine
#      direct, at 16 clients.
# Each cell is run ROUNDS times, the configurations interleaved (the machine may be
# shared); medians are printed. Everything shares this machine's cores.
#
#   bench/ops_bench.sh [DURATION] [ROUNDS]       (default 3s 3; needs var/index: demo.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/testing/logs.sh
duration=${1:-3s} rounds=${2:-3}
root=${SIMSEARCH_VAR:-var}/index
[ -d "$root/genres" ] || { echo "ops_bench: no $root/genres; run ./scripts/demo.sh --no-serve first" >&2; exit 1; }
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"' EXIT
lg=build/bench/simsearch-loadgen

# Test certificates for this run.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=bench-ca -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout "$work/server.key" -out "$work/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' > "$work/ext"
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -days 1 \
  -extfile "$work/ext" -out "$work/server.pem" 2>/dev/null
echo "bench-token-0123456789" > "$work/tokens"
tls=(--tls_cert "$work/server.pem" --tls_key "$work/server.key")

declare -A port
start() {  # start NAME FLAGS...: an engine on a free port
  local name=$1; shift
  "build/server/simsearch-engine" --index_root "$root" --listen 127.0.0.1:0 --poll_interval 0 --drain_delay 0 "$@" \
    > "$work/$name.log" 2>&1 &
  pids+=($!)
  port[$name]=$(wait_log_value "$work/$name.log" 's/.* on port \([0-9]*\) .*/\1/p') && return 0
  echo "engine $name did not start" >&2; cat "$work/$name.log" >&2; exit 1
}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
start plain
start metrics --metrics_listen 127.0.0.1:0
start tls "${tls[@]}"
start tls_token "${tls[@]}" --auth_tokens_file "$work/tokens"
start all "${tls[@]}" --auth_tokens_file "$work/tokens" --metrics_listen 127.0.0.1:0 --log_format json --slow_query_ms 100
declare -A flags=(
  [plain]="" [metrics]="" [tls]="--tls_ca $work/ca.pem" [tls_token]="--tls_ca $work/ca.pem --token bench-token-0123456789"
  [all]="--tls_ca $work/ca.pem --token bench-token-0123456789")
configs=(plain metrics tls tls_token all)
for r in $(seq 1 "$rounds"); do
  for c in 1 16; do
    for name in "${configs[@]}"; do
      # shellcheck disable=SC2086
      $lg --index_root "$root" --collection genres --clients "$c" --duration "$duration" \
        --server "127.0.0.1:${port[$name]}" ${flags[$name]} --json | sed "s/^/features $name $c /" >> "$work/runs.txt"
    done
  done
done
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
wait 2>/dev/null || true
pids=()

# HAProxy over N replicas (the committed config with server lines removed for N < 3),
# each started for its own run only: its health checks (the CLI, every second per
# replica) must not load the machine during the other runs.
start e1; start e2; start e3
for n in 1 2 3; do
  case $n in
    1) sed '/^  server engine[23] /d' deploy/haproxy/haproxy.cfg > "$work/haproxy$n.cfg" ;;
    2) sed '/^  server engine3 /d' deploy/haproxy/haproxy.cfg > "$work/haproxy$n.cfg" ;;
    3) cp deploy/haproxy/haproxy.cfg "$work/haproxy$n.cfg" ;;
  esac
done
run_lb() {  # run_lb N: HAProxy over N replicas, 16 clients through it
  local n=$1 lbp=$((30000 + RANDOM % 20000)) hp
  SIMSEARCH_LB_LISTEN=127.0.0.1:$lbp SIMSEARCH_LB_STATS=127.0.0.1:$((lbp + 1)) \
  SIMSEARCH_ENGINE_1=127.0.0.1:${port[e1]} SIMSEARCH_ENGINE_2=127.0.0.1:${port[e2]} SIMSEARCH_ENGINE_3=127.0.0.1:${port[e3]} \
  SIMSEARCH_HEALTH_CHECK="$PWD/deploy/haproxy/grpc-health-check.sh" SIMSEARCH_CHECK_PATH="$PWD/build/client:/usr/bin:/bin" \
    haproxy -f "$work/haproxy$n.cfg" > "$work/haproxy$n.log" 2>&1 &
  hp=$!
  for _ in $(seq 1 50); do
    [ "$(curl -sf "http://127.0.0.1:$((lbp + 1))/stats;csv" | grep -c ',UP,')" -ge "$n" ] && break
    sleep 0.2
  done
  $lg --index_root "$root" --collection genres --clients 16 --duration "$duration" \
    --server "127.0.0.1:$lbp" --json | sed "s/^/lb haproxy-$n 16 /" >> "$work/runs.txt"
  kill "$hp"; wait "$hp" 2>/dev/null || true
}
for r in $(seq 1 "$rounds"); do
  $lg --index_root "$root" --collection genres --clients 16 --duration "$duration" \
    --server "127.0.0.1:${port[e1]}" --json | sed "s/^/lb direct 16 /" >> "$work/runs.txt"
  for n in 1 2 3; do run_lb "$n"; done
done

python3 - "$work/runs.txt" <<'PY'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    group, name, clients, rest = line.split(" ", 3)
    runs.setdefault((group, name, int(clients)), []).append(json.loads(rest))
med = lambda rs, k: statistics.median(r[k] for r in rs)
print("| engine | clients | QPS | vs plain | p50 us | p99 us | errors |")
print("|---|---:|---:|---:|---:|---:|---:|")
for c in (1, 16):
    base = med(runs[("features", "plain", c)], "qps")
    for name in ("plain", "metrics", "tls", "tls_token", "all"):
        rs = runs[("features", name, c)]
        print("| %s | %d | %.0f | %.2f | %.0f | %.0f | %d |" % (name, c, med(rs, "qps"), med(rs, "qps") / base,
              med(rs, "p50_us"), med(rs, "p99_us"), sum(r["errors"] for r in rs)))
print()
print("| path (16 clients) | QPS | vs direct | p50 us | p99 us | errors |")
print("|---|---:|---:|---:|---:|---:|")
base = med(runs[("lb", "direct", 16)], "qps")
for name in ("direct", "haproxy-1", "haproxy-2", "haproxy-3"):
    rs = runs[("lb", name, 16)]
    print("| %s | %.0f | %.2f | %.0f | %.0f | %d |" % (name, med(rs, "qps"), med(rs, "qps") / base,
          med(rs, "p50_us"), med(rs, "p99_us"), sum(r["errors"] for r in rs)))
print("(medians of %d interleaved runs per cell)" % len(runs[("lb", "direct", 16)]))
PY
