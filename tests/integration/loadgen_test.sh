#!/usr/bin/env bash
# simsearch-loadgen against a real engine: blocking clients (a thread each) and
# asynchronous ones (--client_threads), plain and with a bearer token, a server that is
# not there, and flags that do not fit together.
# Usage: loadgen_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../testing/tiny_engine.sh"
start_tiny_engine "$build"
loadgen="$build/bench/simsearch-loadgen"

fails=0
pass() { echo "ok: $*"; }
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
field() { /usr/bin/python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
# expect_run WHAT MODE CLIENT_THREADS -- loadgen args: exit 0, calls answered, none failed
expect_run() {
  local what=$1 mode=$2 threads=$3; shift 4
  local out rc=0
  out=$("$loadgen" --index_root "$work/root" --collection tiny --duration 1s --warmup 0.2s --json "$@" 2>"$work/err") || rc=$?
  if [ "$rc" = 0 ] && [ "$(field "$out" mode)" = "$mode" ] && [ "$(field "$out" client_threads)" = "$threads" ] &&
     [ "$(field "$out" ok)" -gt 0 ] && [ "$(field "$out" errors)" = 0 ]; then
    pass "$what: $(field "$out" ok) calls"
  else
    fail "$what: exit $rc, $out $(cat "$work/err")"
    echo "the engine's log:" >&2
    tail -n 20 "$work/engine.log" >&2
  fi
}
# expect_error WHAT EXIT TEXT -- loadgen args
expect_error() {
  local what=$1 want_rc=$2 want=$3; shift 4
  local rc=0
  "$loadgen" --index_root "$work/root" --collection tiny --duration 1s --warmup 0s "$@" >"$work/out" 2>&1 || rc=$?
  if [ "$rc" = "$want_rc" ] && grep -q -- "$want" "$work/out"; then pass "$what"; else
    fail "$what: exit $rc (want $want_rc), output: $(cat "$work/out")"; fi
}

expect_run "a thread per client" grpc 0 -- --server "127.0.0.1:$port" --clients 3
expect_run "4 clients on 2 asynchronous threads" grpc-async 2 -- --server "127.0.0.1:$port" --clients 4 --client_threads 2
expect_run "1 asynchronous client" grpc-async 1 -- --server "127.0.0.1:$port" --clients 1 --client_threads 1
expect_error "more client threads than clients" 2 "--client_threads must be between 0" -- \
  --server "127.0.0.1:$port" --clients 2 --client_threads 3
expect_error "--client_threads with --inprocess" 2 "does not apply to --inprocess" -- --inprocess --client_threads 1

kill "$engine_pid"; wait "$engine_pid" 2>/dev/null || true; engine_pid=""
# Nothing listens there any more: every call fails, and the run says so with exit 1.
for threads in 0 2; do
  expect_error "no server ($threads client threads)" 1 "no call succeeded" -- \
    --server "127.0.0.1:$port" --clients 2 --client_threads "$threads" --max_attempts 1
done

# With tokens: the asynchronous clients send the bearer token as the blocking ones do.
printf 'good-token-1\n' > "$work/tokens"
start_engine "$build" "$work/root" --auth_tokens_file "$work/tokens" --poll_interval 0
for threads in 0 2; do
  expect_run "token, $threads client threads" "$([ $threads = 0 ] && echo grpc || echo grpc-async)" "$threads" -- \
    --server "127.0.0.1:$port" --clients 2 --client_threads "$threads" --token good-token-1
  expect_error "no token, $threads client threads" 1 "first error: UNAUTHENTICATED" -- \
    --server "127.0.0.1:$port" --clients 2 --client_threads "$threads"
done

[ "$fails" = 0 ] || { echo "$fails check(s) failed" >&2; exit 1; }
echo "all loadgen checks passed"
