// The Lambda handler per invocation (Google Benchmark), embedded and remote backends,
// on the demo's anime bundles.
//
//   ./scripts/demo.sh --no-serve && build/bench/lambda_bench
//
// Index root: $SIMSEARCH_INDEX_ROOT, default var/index under the source tree. The remote
// backend calls an engine this process starts on 127.0.0.1 over the same root.
#include <benchmark/benchmark.h>

#include <cstdlib>

#include "engine/engine.h"
#include "engine/registry.h"
#include "lambda/backend.h"
#include "lambda/handler.h"
#include "lambda/local_gateway.h"
#include "server/server.h"

namespace simsearch::lambda {
namespace {

std::string Root() {
  const char* env = std::getenv("SIMSEARCH_INDEX_ROOT");
  return env ? env : std::string(SIMSEARCH_SOURCE_DIR) + "/var/index";
}

const SearchBackend& Embedded() {
  static auto* b = [] {
    auto r = MakeEmbeddedBackend(Root(), false);
    if (!r.ok()) {
      std::fprintf(stderr, "%s (run ./scripts/demo.sh --no-serve first)\n",
                   std::string(r.status().message()).c_str());
      std::exit(1);
    }
    return r->release();
  }();
  return *b;
}

const SearchBackend& Remote() {
  static auto* b = [] {
    auto* registry = new CollectionRegistry(Root(), {});
    (void)registry->Refresh();
    auto* engine = new Engine(registry, {});
    ServerOptions so;
    so.listen = "127.0.0.1:0";
    auto server = SearchServer::Start(engine, so);
    if (!server.ok()) std::exit(1);
    const int port = (*server)->port();
    server->release();  // lives for the whole benchmark
    return MakeRemoteBackend("127.0.0.1:" + std::to_string(port)).release();
  }();
  return *b;
}

std::string Event(const std::string& method, const std::string& path, const std::string& body,
                  std::vector<std::pair<std::string, std::string>> query = {}) {
  return MakeEventV2(method, path, "", query, {{"content-type", "application/json"}}, body,
                     "bench");
}

// Invokes the handler with `events` in turn.
void RunEvents(benchmark::State& state, const SearchBackend& backend,
               const std::vector<std::string>& events) {
  HandlerOptions o;
  size_t i = 0;
  for (auto _ : state) {
    std::string out = HandleEvent(events[i++ % events.size()], Invocation{}, backend, o);
    benchmark::DoNotOptimize(out.data());
  }
}

void Run(benchmark::State& state, const SearchBackend& backend, const std::string& event) {
  RunEvents(state, backend, {event});
}

const std::string kByName = Event("POST", "/recommend", R"({"name": "Cowboy Bebop", "n": 10})");
const std::string kById = Event("POST", "/recommend", R"({"id": 1, "n": 10})");
const std::string kText =
    Event("GET", "/search", "", {{"q", "bounty hunters drifting through space"}});

// Texts the engine has not seen: each collection version caches the encodings of its
// last 4,096 distinct query texts (Collection::EncodeText), so kText repeated measures a
// cache hit; these measure the encoder as well. Events are made before timing starts.
void RunFirstSeen(benchmark::State& state, const SearchBackend& backend) {
  static int generation = 0;  // distinct across benchmark repetitions too
  std::vector<std::string> events;
  for (int i = 0; i < 3000; ++i) {
    events.push_back(Event("GET", "/search", "",
                           {{"q", "bounty hunters drifting through space " +
                                      std::to_string(generation) + "x" + std::to_string(i)}}));
  }
  ++generation;
  RunEvents(state, backend, events);
}

void BM_Embedded_RecommendByName(benchmark::State& s) {
  Run(s, Embedded(), kByName);
}
void BM_Embedded_RecommendById(benchmark::State& s) {
  Run(s, Embedded(), kById);
}
void BM_Embedded_SearchText(benchmark::State& s) {
  Run(s, Embedded(), kText);
}
void BM_Remote_RecommendByName(benchmark::State& s) {
  Run(s, Remote(), kByName);
}
void BM_Remote_RecommendById(benchmark::State& s) {
  Run(s, Remote(), kById);
}
void BM_Remote_SearchText(benchmark::State& s) {
  Run(s, Remote(), kText);
}
void BM_Embedded_SearchTextFirstSeen(benchmark::State& s) {
  RunFirstSeen(s, Embedded());
}
void BM_Remote_SearchTextFirstSeen(benchmark::State& s) {
  RunFirstSeen(s, Remote());
}

BENCHMARK(BM_Embedded_RecommendByName)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Embedded_RecommendById)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Embedded_SearchText)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Embedded_SearchTextFirstSeen)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Remote_RecommendByName)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_Remote_RecommendById)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_Remote_SearchText)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_Remote_SearchTextFirstSeen)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
}  // namespace simsearch::lambda

BENCHMARK_MAIN();
