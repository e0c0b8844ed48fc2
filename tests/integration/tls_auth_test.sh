#!/usr/bin/env bash
# TLS, mutual TLS and bearer tokens with the real engine, CLI and Lambda gateway.
# Certificates are made here with openssl for this run only (nothing secret is committed).
# Usage: tls_auth_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../testing/tiny_engine.sh"
command -v openssl >/dev/null || { echo "FAIL: openssl is not installed (./scripts/install-deps.sh)" >&2; exit 1; }

# A tiny bundle and no engine yet: each case below starts its own.
start_tiny_engine "$build"
kill "$engine_pid"; wait "$engine_pid" 2>/dev/null || true; engine_pid=""
gw_pid=""
trap 'for p in $gw_pid $engine_pid; do kill $p 2>/dev/null; wait $p 2>/dev/null; done; rm -rf "$work"' EXIT
pki="$work/pki"; mkdir -p "$pki"; cd "$pki"

make_ca() {  # make_ca NAME
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$1" -keyout "$1.key" -out "$1.pem" 2>/dev/null
}
make_cert() {  # make_cert NAME CA [server|client]
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$1" -keyout "$1.key" -out "$1.csr" 2>/dev/null
  if [ "$3" = server ]; then
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > "$1.ext"
  else
    printf 'extendedKeyUsage=clientAuth\n' > "$1.ext"
  fi
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 2 \
    -extfile "$1.ext" -out "$1.pem" 2>/dev/null
}
make_ca ca; make_ca other-ca
make_cert server ca server; make_cert client ca client; make_cert stranger other-ca client
cd - >/dev/null
printf '# tokens, one per line\nalpha-token-1\n\n' > "$work/tokens"

fails=0
pass() { echo "ok: $*"; }
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
# run_cli EXPECTED_EXIT EXPECTED_TEXT DESCRIPTION -- ARGS...
run_cli() {
  local want_rc=$1 want_text=$2 what=$3; shift 4
  local out rc=0
  out=$("$build/client/simsearch" "$@" --server "127.0.0.1:$port" --timeout 5 2>&1) || rc=$?
  if [ "$rc" = "$want_rc" ] && grep -q -- "$want_text" <<<"$out"; then pass "$what"; else
    fail "$what: exit $rc (want $want_rc), output: $out"; fi
}
stop_engine() { kill "$engine_pid"; wait "$engine_pid" 2>/dev/null || true; engine_pid=""; }

# --- server TLS + tokens -------------------------------------------------------------
start_engine "$build" "$work/root" --tls_cert "$pki/server.pem" --tls_key "$pki/server.key" \
  --auth_tokens_file "$work/tokens" --poll_interval 0
grep -q "(TLS)" "$work/engine.log" && pass "engine says it serves TLS" || fail "engine log lacks (TLS): $(cat "$work/engine.log")"
run_cli 0 "Cowboy Bebop" "TLS with the right CA and a good token" -- \
  similar 1 --collection tiny --tls_ca "$pki/ca.pem" --token alpha-token-1
SIMSEARCH_TOKEN=alpha-token-1 run_cli 0 "Cowboy Bebop" "token from SIMSEARCH_TOKEN" -- \
  similar 1 --collection tiny --tls_ca "$pki/ca.pem"
run_cli 1 "UNAVAILABLE.*TLS" "a client with the wrong CA fails UNAVAILABLE, naming TLS" -- \
  similar 1 --collection tiny --tls_ca "$pki/other-ca.pem" --token alpha-token-1
run_cli 1 "UNAVAILABLE.*TLS" "a plaintext client fails UNAVAILABLE, naming TLS" -- \
  similar 1 --collection tiny --token alpha-token-1
run_cli 1 "UNAUTHENTICATED" "no token: UNAUTHENTICATED" -- similar 1 --collection tiny --tls_ca "$pki/ca.pem"
run_cli 1 "UNAUTHENTICATED" "a wrong token: UNAUTHENTICATED" -- \
  similar 1 --collection tiny --tls_ca "$pki/ca.pem" --token alpha-token-2
run_cli 0 "SERVING" "health is public by default" -- health --tls_ca "$pki/ca.pem"
if grep -q "alpha-token" "$work/engine.log"; then fail "a token appears in the engine's log"; else pass "no token in the log"; fi

# Token rotation without a restart: SIGHUP re-reads the file.
printf 'beta-token-2\n' > "$work/tokens.new" && mv "$work/tokens.new" "$work/tokens"
kill -HUP "$engine_pid"
for _ in $(seq 1 50); do grep -q "token file reloaded" "$work/engine.log" && break; sleep 0.1; done
run_cli 1 "UNAUTHENTICATED" "after reload the old token is refused" -- \
  similar 1 --collection tiny --tls_ca "$pki/ca.pem" --token alpha-token-1
run_cli 0 "Cowboy Bebop" "after reload the new token passes (same process)" -- \
  similar 1 --collection tiny --tls_ca "$pki/ca.pem" --token beta-token-2
# Revoking every token without a restart: an empty file refuses every call, and so
# does a deleted one (an error in the log); restoring it lets the tokens in again.
: > "$work/tokens"
kill -HUP "$engine_pid"
for _ in $(seq 1 50); do grep -q "holds no token; every call is refused" "$work/engine.log" && break; sleep 0.1; done
grep -q "holds no token; every call is refused" "$work/engine.log" && pass "an empty token file is logged" \
  || fail "no log of the empty token file: $(tail -3 "$work/engine.log")"
run_cli 1 "UNAUTHENTICATED" "an empty token file revokes every token" -- \
  similar 1 --collection tiny --tls_ca "$pki/ca.pem" --token beta-token-2
printf 'beta-token-2\n' > "$work/tokens.new" && mv "$work/tokens.new" "$work/tokens"
kill -HUP "$engine_pid"
for _ in $(seq 1 50); do grep -q "token file reloaded: 1 token" "$work/engine.log" && break; sleep 0.1; done
run_cli 0 "Cowboy Bebop" "a token added back is accepted" -- \
  similar 1 --collection tiny --tls_ca "$pki/ca.pem" --token beta-token-2
rm "$work/tokens"
kill -HUP "$engine_pid"
for _ in $(seq 1 50); do grep -q "no token is accepted until it is back" "$work/engine.log" && break; sleep 0.1; done
grep -q "ERROR.*token file.*is missing; no token is accepted until it is back" "$work/engine.log" \
  && pass "a deleted token file is an error in the log" || fail "no error for the deleted token file: $(tail -3 "$work/engine.log")"
run_cli 1 "UNAUTHENTICATED" "a deleted token file revokes every token" -- \
  similar 1 --collection tiny --tls_ca "$pki/ca.pem" --token beta-token-2
printf 'beta-token-2\n' > "$work/tokens"
kill -HUP "$engine_pid"
for _ in $(seq 1 50); do [ "$(grep -c "token file reloaded: 1 token" "$work/engine.log")" -ge 2 ] && break; sleep 0.1; done

# The Lambda gateway's remote backend over TLS with a token.
gw_log="$work/gateway.log"
ENGINE_TLS_CA="$pki/ca.pem" ENGINE_TOKEN=beta-token-2 "$build/lambda/simsearch-lambda" \
  --serve-http 127.0.0.1:0 --engine "127.0.0.1:$port" --web-root none --recommend-collection tiny > "$gw_log" 2>&1 &
gw_pid=$!
gw_port=$(wait_log_value "$gw_log" 's|.*http://127.0.0.1:\([0-9]*\)/.*|\1|p' 50) || true
body=$(curl -s -X POST "http://127.0.0.1:$gw_port/recommend" -d '{"id":1,"n":2}' || true)
grep -q '"Trigun"\|"Cowboy Bebop: Tengoku no Tobira"' <<<"$body" && pass "Lambda remote backend over TLS with ENGINE_TOKEN" \
  || fail "Lambda over TLS: $body $(cat "$gw_log")"
grep -q 'route=/recommend status=200' "$gw_log" && pass "the gateway logs one line per request" \
  || fail "no request line in the gateway log: $(cat "$gw_log")"
kill "$gw_pid"; wait "$gw_pid" 2>/dev/null || true; gw_pid=""
stop_engine

# --- mutual TLS, protected health -----------------------------------------------------
start_engine "$build" "$work/root" --tls_cert "$pki/server.pem" --tls_key "$pki/server.key" \
  --tls_client_ca "$pki/ca.pem" --auth_tokens_file "$work/tokens" --protect_health
run_cli 0 "Cowboy Bebop" "mTLS with a client certificate from the CA" -- similar 1 --collection tiny \
  --tls_ca "$pki/ca.pem" --tls_cert "$pki/client.pem" --tls_key "$pki/client.key" --token beta-token-2
run_cli 1 "UNAVAILABLE" "mTLS refuses a client without a certificate" -- similar 1 --collection tiny \
  --tls_ca "$pki/ca.pem" --token beta-token-2
run_cli 1 "UNAVAILABLE" "mTLS refuses a certificate from another CA" -- similar 1 --collection tiny \
  --tls_ca "$pki/ca.pem" --tls_cert "$pki/stranger.pem" --tls_key "$pki/stranger.key" --token beta-token-2
run_cli 1 "UNAUTHENTICATED" "--protect_health: health needs a token" -- health \
  --tls_ca "$pki/ca.pem" --tls_cert "$pki/client.pem" --tls_key "$pki/client.key"
run_cli 0 "SERVING" "--protect_health: health with a token" -- health \
  --tls_ca "$pki/ca.pem" --tls_cert "$pki/client.pem" --tls_key "$pki/client.key" --token beta-token-2
stop_engine

# --- a plaintext health-only port beside TLS (Kubernetes' native gRPC probes) ----------
# With --protect_health, reflection on the TLS port needs a token; the plaintext health
# port must not describe simsearch.v1 to anyone (it answered reflection before).
start_engine "$build" "$work/root" --tls_cert "$pki/server.pem" --tls_key "$pki/server.key" \
  --auth_tokens_file "$work/tokens" --protect_health --health_listen 127.0.0.1:0
hport=$(log_value "$work/engine.log" 's/.*on health port \([0-9]*\).*/\1/p')
tls_port=$port; port=$hport
run_cli 0 "SERVING" "--health_listen: plaintext health beside TLS" -- health
run_cli 0 "SERVING" "--health_listen: the liveness name is SERVING" -- health --service liveness
run_cli 1 "UNIMPLEMENTED" "--health_listen serves no search" -- similar 1 --collection tiny --token beta-token-2
reflection_dir="$here/../reflection"
if [ ! -d "$reflection_dir/node_modules/grpc-js-reflection-client" ]; then
  fail "node modules missing: run 'npm ci --prefix $reflection_dir' (scripts/test.sh does)"
else
  listed=$(node "$reflection_dir/list_services.js" "127.0.0.1:$hport" 2>&1 || true)
  if grep -q "UNIMPLEMENTED" <<<"$listed" && ! grep -q "simsearch" <<<"$listed"; then
    pass "--health_listen answers no reflection"
  else
    fail "--health_listen answered reflection: $listed"
  fi
fi
port=$tls_port
stop_engine

# --- bad configurations are refused at start, naming the flag --------------------------
check_refused() {  # check_refused TEXT ARGS...
  local text=$1; shift
  local out rc=0
  out=$("$build/server/simsearch-engine" --index_root "$work/root" --listen 127.0.0.1:0 "$@" 2>&1) || rc=$?
  if [ "$rc" = 2 ] && grep -q -- "$text" <<<"$out"; then pass "refused: $text"; else fail "expected exit 2 with '$text', got $rc: $out"; fi
}
check_refused "--tls_cert and --tls_key go together" --tls_cert "$pki/server.pem"
check_refused "--tls_key: cannot open" --tls_cert "$pki/server.pem" --tls_key "$work/nope.key"
check_refused "is not a PEM file" --tls_cert "$work/tokens" --tls_key "$pki/server.key"
check_refused "is not the private key of --tls_cert" --tls_cert "$pki/server.pem" --tls_key "$pki/client.key"
check_refused "holds no token" --auth_tokens_file <(printf '# nothing\n')
check_refused "--protect_health needs" --auth_tokens_file "$work/tokens" --protect_health

[ "$fails" = 0 ] && echo PASS || { echo "$fails check(s) failed" >&2; exit 1; }
