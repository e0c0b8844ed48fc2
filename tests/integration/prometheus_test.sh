#!/usr/bin/env bash
# A real Prometheus server scrapes a real engine: known traffic (successes and errors of
# known codes) must show up in Prometheus's query API with the right counts, and a
# latency quantile computed by Prometheus from our histogram must be finite.
# Usage: prometheus_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../testing/tiny_engine.sh"

if ! command -v prometheus >/dev/null 2>&1; then
  echo "FAIL: the prometheus server is not installed (Debian package 'prometheus'; ./scripts/install-deps.sh installs it)" >&2
  exit 1
fi

start_tiny_engine "$build" --metrics_listen 127.0.0.1:0
prom_pid=""
trap 'for p in $prom_pid $engine_pid; do kill $p 2>/dev/null; wait $p 2>/dev/null; done; rm -rf "$work"' EXIT
mport=$(log_value "$work/engine.log" 's|.*metrics on http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p')
[ -n "$mport" ] || { echo "FAIL: the engine did not report its metrics port:" >&2; cat "$work/engine.log" >&2; exit 1; }

cat > "$work/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: simsearch
    static_configs:
      - targets: ['127.0.0.1:$mport']
YML

# Prometheus takes a fixed port: try a few random ones until one is free.
pport=""
for _ in 1 2 3 4 5; do
  try=$((20000 + RANDOM % 30000))
  prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$try" --log.level=warn > "$work/prometheus.log" 2>&1 &
  prom_pid=$!
  for _ in $(seq 1 100); do
    if curl -sf "http://127.0.0.1:$try/-/ready" >/dev/null 2>&1; then pport=$try; break 2; fi
    kill -0 "$prom_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill "$prom_pid" 2>/dev/null; wait "$prom_pid" 2>/dev/null || true
  prom_pid=""
done
if [ -z "$pport" ]; then
  echo "FAIL: Prometheus did not start; its log:" >&2
  cat "$work/prometheus.log" >&2
  exit 1
fi
echo "prometheus on 127.0.0.1:$pport scraping the engine's metrics on 127.0.0.1:$mport"

# Known traffic: 5 searches that succeed, 3 NOT_FOUND (unknown item), 2 INVALID_ARGUMENT
# (wrong dimensions), 1 NOT_FOUND for an unknown collection.
cli() { "$build/client/simsearch" "$@" --server "127.0.0.1:$port" >/dev/null 2>&1; }
for _ in 1 2 3 4 5; do cli similar 1 --collection tiny -k 2; done
for _ in 1 2 3; do ! cli similar 999 --collection tiny; done
for _ in 1 2; do ! cli search --vector 1,2,3 --collection tiny; done
! cli describe no-such-collection

# The value of a PromQL query with one sample ("" when it has none yet).
query() {
  curl -sf -G "http://127.0.0.1:$pport/api/v1/query" --data-urlencode "query=$1" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s).data.result;
      if(r.length>1){console.error("more than one series: "+s);process.exit(1)}
      console.log(r.length?r[0].value[1]:"")})'
}
expect() {  # expect QUERY VALUE: waits up to 20 s for scrapes to catch up
  local got=""
  for _ in $(seq 1 40); do
    got=$(query "$1")
    [ "$got" = "$2" ] && { echo "ok: $1 = $got"; return 0; }
    sleep 0.5
  done
  echo "FAIL: $1 is '$got', expected $2" >&2
  exit 1
}
expect 'simsearch_requests_total{rpc="Search",collection="tiny",code="OK"}' 5
expect 'simsearch_requests_total{rpc="Search",collection="tiny",code="NOT_FOUND"}' 3
expect 'simsearch_requests_total{rpc="Search",collection="tiny",code="INVALID_ARGUMENT"}' 2
expect 'simsearch_requests_total{rpc="DescribeCollection",collection="_unknown",code="NOT_FOUND"}' 1
expect 'sum(simsearch_request_duration_seconds_count{rpc="Search"})' 10
expect 'simsearch_collection_items{collection="tiny"}' 3
expect 'simsearch_collection_dims{collection="tiny"}' 2
expect 'simsearch_collection_reloads_total{collection="tiny"}' 1
expect 'count(simsearch_collection_info{collection="tiny",version="v000001"})' 1
expect 'up{job="simsearch"}' 1

q=$(query 'histogram_quantile(0.99, sum by (le) (simsearch_request_duration_seconds_bucket{rpc="Search"}))')
node -e 'const v=Number(process.argv[1]); if(!(Number.isFinite(v) && v>0 && v<=1)){console.error("FAIL: p99 is "+process.argv[1]+", expected a finite latency in (0, 1] s");process.exit(1)}' "$q"
echo "ok: p99 of Search from the histogram = $q s"

# A version that fails to verify is counted with its reason.
v=$(ls "$work/root/tiny" | grep '^v' | head -1)
cp -r "$work/root/tiny/$v" "$work/root/tiny/v000002"
printf 'junk' >> "$work/root/tiny/v000002/vectors.f32"
printf 'v000002\n' > "$work/root/tiny/CURRENT.tmp" && mv "$work/root/tiny/CURRENT.tmp" "$work/root/tiny/CURRENT"
kill -HUP "$engine_pid"
expect 'sum(simsearch_collection_versions_rejected_total{collection="tiny"})' 1
expect 'count(simsearch_collection_info{collection="tiny",version="v000001"})' 1
echo "PASS"
