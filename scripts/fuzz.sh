#!/usr/bin/env bash
# Fuzzes every parser of untrusted input with libFuzzer (clang, ASan + UBSan):
#   the API Gateway event handler, the npy/fvecs/CSV/array-file readers, manifest and
#   bundle verification, the safetensors reader, the tokenizer, the catalogue reader,
#   the HTTP request parser (heads and chunked bodies) of the gateway and metrics server.
#
#   ./scripts/fuzz.sh [SECONDS] [HARNESS...]   (default: 60 seconds each, all harnesses)
#
# Builds into build-fuzz/ (separate from build/). Each harness starts from its seeds
# (tests/fuzz/corpus/<h>, plus tests/data where listed) and keeps what it learns in
# build-fuzz/corpus/<h>. A crash is written to tests/fuzz/regress/<h>/: fix the cause,
# and commit the input there; ./scripts/test.sh replays every regress input from then
# on (fuzz.replay.<h>). Exits 1 if any harness found a crash.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(handler vector_files safetensors tokenizer bundle catalog http_request)
case "$seconds" in ''|*[!0-9]*) echo "fuzz: SECONDS must be a number, got '$seconds'" >&2; exit 2 ;; esac

./scripts/install-deps.sh
if ! command -v clang++-14 >/dev/null || [ ! -f /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a ]; then
  echo "fuzz: installing clang-14 and its libFuzzer runtime" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang-14 libclang-rt-14-dev
fi

flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
if [ ! -f build-fuzz/build.ninja ]; then  # not the cache: a failed configure leaves one
  CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSIMSEARCH_FUZZ=ON -DSIMSEARCH_BUILD_BENCH=OFF -DCMAKE_CXX_FLAGS="$flags" >/dev/null
fi
targets=()
for h in "${harnesses[@]}"; do targets+=("fuzz_$h"); done
echo "fuzz: building ${targets[*]} (clang, ASan + UBSan)" >&2
cmake --build build-fuzz -j "$(nproc)" --target "${targets[@]}"

seeds_handler=(tests/data/lambda)
seeds_safetensors=(tests/data/tiny_bert/f16)
found=0
for h in "${harnesses[@]}"; do
  mkdir -p "build-fuzz/corpus/$h" "tests/fuzz/regress/$h"
  extra_var="seeds_${h}[@]"
  dict=()
  case "$h" in handler|bundle) dict=(-dict=tests/fuzz/json.dict) ;; esac
  echo "fuzz: $h for ${seconds}s" >&2
  corpora=("build-fuzz/corpus/$h")
  for d in "tests/fuzz/corpus/$h" ${!extra_var+"${!extra_var}"}; do [ -d "$d" ] && corpora+=("$d"); done
  if ! "build-fuzz/tests/fuzz/fuzz_$h" "${corpora[@]}" \
      "${dict[@]}" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="tests/fuzz/regress/$h/" -print_final_stats=1 2> "build-fuzz/fuzz_$h.log"; then
    echo "fuzz: $h FOUND A CRASH; input in tests/fuzz/regress/$h/, log in build-fuzz/fuzz_$h.log" >&2
    grep -m 5 -E "ERROR|runtime error|SUMMARY" "build-fuzz/fuzz_$h.log" >&2 || true
    found=1
  else
    grep -E "stat::number_of_executed_units|cov:" "build-fuzz/fuzz_$h.log" | tail -2 >&2 || true
  fi
done
exit $found
