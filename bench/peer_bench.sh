#!/usr/bin/env bash
# simsearch-engine against the Python peer (bench/peers/python_server.py: grpcio + FAISS,
# the same answers) on the demo's ncf collection, in one run: search by id ("more like
# this", top 10) over gRPC, closed loop, at 1, 16 and 64 clients, the two servers
# interleaved ROUNDS times (the machine may be shared); then the engine library
# in-process for reference. Prints medians and the engine's ratio to the peer.
#
#   ./scripts/demo.sh --no-serve     # the bundles in var/index
#   bench/peer_bench.sh [DURATION] [ROUNDS]
# CLIENTS="1 4 16 64" sets the client counts; PEER_JSON=FILE also writes the medians
# as JSON lines (bench/figures.sh draws them). CLIENT_THREADS=T drives the clients
# asynchronously from T load-generator threads (simsearch-loadgen --client_threads)
# instead of a thread per client. PIN=1 runs both servers on CPU 0 and the load
# generator on CPU 1 (taskset), so that the two do not take each other's core: what a
# server sees from clients on other machines, on one core.
# Needs Debian's python3-grpcio, python3-faiss, python3-numpy and protobuf-compiler
# (scripts/install-deps.sh --bench installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-4s} rounds=${2:-3}
clients=${CLIENTS:-1 16 64}
client_threads=${CLIENT_THREADS:-0}
source bench/pin.sh
pin_cpus peer_bench
root=${SIMSEARCH_VAR:-var}/index
bundle=$root/ncf/$(cat "$root/ncf/CURRENT")
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
for m in grpc faiss numpy; do
  /usr/bin/python3 -c "import $m" 2>/dev/null || { echo "peer_bench: Debian's python3-$m is missing (scripts/install-deps.sh --bench)" >&2; exit 1; }
done
command -v protoc >/dev/null || { echo "peer_bench: protoc is missing (protobuf-compiler)" >&2; exit 1; }
protoc -Iproto --python_out="$work" proto/simsearch/v1/simsearch.proto
"${server_cpu[@]}" build/server/simsearch-engine --index_root "$root" --listen 127.0.0.1:50095 --poll_interval 0 > "$work/engine.log" 2>&1 &
pids+=($!)
PYTHONPATH="$work" "${server_cpu[@]}" /usr/bin/python3 bench/peers/python_server.py --bundle "$bundle" --port 50096 > "$work/peer.log" 2>&1 &
pids+=($!)
for i in $(seq 1 100); do
  grep -q "serving ncf" "$work/peer.log" 2>/dev/null && build/client/simsearch health --server 127.0.0.1:50095 >/dev/null 2>&1 && break
  sleep 0.2
done
grep -q "serving ncf" "$work/peer.log" || { echo "the Python peer did not start:" >&2; cat "$work/peer.log" >&2; exit 1; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "collection ncf ($bundle), search by id, top 10, closed loop, $duration per run," \
  "load generator threads: $([ "$client_threads" = 0 ] && echo "one per client" || echo "$client_threads, asynchronous")," \
  "$([ ${#server_cpu[@]} = 0 ] && echo "not pinned" || echo "servers on CPU 0, load generator on CPU 1")"
for r in $(seq 1 "$rounds"); do
  for c in $clients; do
    for side in engine python; do
      port=50095; [ "$side" = python ] && port=50096
      ct=$(( client_threads < c ? client_threads : c ))
      "${load_cpu[@]}" build/bench/simsearch-loadgen --index_root "$root" --collection ncf --clients "$c" \
        --client_threads "$ct" --duration "$duration" --server "127.0.0.1:$port" --json |
        sed "s/^/$side $c /" >> "$work/runs.txt"
    done
  done
done
for c in $clients; do
  build/bench/simsearch-loadgen --index_root "$root" --collection ncf --clients "$c" \
    --duration "$duration" --inprocess --json | sed "s/^/inprocess $c /" >> "$work/runs.txt"
done
/usr/bin/python3 - "$work/runs.txt" "${PEER_JSON:-}" <<'PY'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    side, clients, rest = line.split(" ", 2)
    runs.setdefault((side, int(clients)), []).append(json.loads(rest))
med = lambda rs, k: statistics.median(r[k] for r in rs)
print("| clients | engine qps | python qps | engine/python | engine p50/p99/p99.9 us | python p50/p99/p99.9 us | in-process qps | errors |")
print("|---:|---:|---:|---:|---|---|---:|---|")
for c in sorted({c for _, c in runs}):
    E, P, I = runs[("engine", c)], runs[("python", c)], runs[("inprocess", c)]
    print("| %d | %.0f | %.0f | %.1f | %.0f / %.0f / %.0f | %.0f / %.0f / %.0f | %.0f | %d/%d |" % (
        c, med(E, "qps"), med(P, "qps"), med(E, "qps") / med(P, "qps"),
        med(E, "p50_us"), med(E, "p99_us"), med(E, "p999_us"), med(P, "p50_us"), med(P, "p99_us"), med(P, "p999_us"),
        med(I, "qps"), sum(r["errors"] for r in E), sum(r["errors"] for r in P)))
print("(medians of %d interleaved runs per gRPC cell; in-process: one run)" % len(runs[("engine", min(c for _, c in runs))]))
if len(sys.argv) > 2 and sys.argv[2]:  # per cell medians as JSON lines, for bench/figures.sh
    with open(sys.argv[2], "w") as out:
        for (side, c), rs in sorted(runs.items()):
            out.write(json.dumps({"server": side, "clients": c, "qps": med(rs, "qps"), "p50_us": med(rs, "p50_us"),
                                  "p99_us": med(rs, "p99_us"), "p999_us": med(rs, "p999_us")}) + "\n")
PY
