// What counting a call costs on the serving path: the label lookup and counter add,
// the histogram observation, and a failed call's log line (formatted, not written),
// one thread and 2 threads on the same series.
#include <benchmark/benchmark.h>

#include "runtime/log.h"
#include "runtime/metrics.h"

namespace simsearch {
namespace {

MetricsRegistry& Registry() {
  static MetricsRegistry* r = new MetricsRegistry();
  return *r;
}

void BM_CountOneCall(benchmark::State& state) {
  static Family<Counter>* calls =
      Registry().AddCounter("calls_total", "C.", {"rpc", "collection", "code"});
  static Family<Histogram>* latency =
      Registry().AddHistogram("lat_seconds", "L.", {"rpc", "collection"});
  double v = 0.0003;
  for (auto _ : state) {
    calls->With({"Search", "genres", "OK"})->Add();
    latency->With({"Search", "genres"})->Observe(v);
    v += 1e-9;
  }
}
BENCHMARK(BM_CountOneCall)->Threads(1)->Threads(2);

void BM_FormatFailedCallLine(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(FormatLogLine(
        state.range(0) ? LogFormat::kJson : LogFormat::kText, "2026-11-28T19:30:00.123Z",
        LogLevel::kInfo, "simsearch-engine", "call failed",
        {{"rpc", "Search"},
         {"collection", "ncf"},
         {"code", "NOT_FOUND"},
         {"ms", 0.031},
         {"peer", "ipv4:127.0.0.1:40000"},
         {"message", "item 999 is not in collection 'ncf' (version v000004)"}}));
  }
}
BENCHMARK(BM_FormatFailedCallLine)->Arg(0)->Arg(1);

void BM_Scrape(benchmark::State& state) {
  MetricsRegistry reg;
  auto* calls = reg.AddCounter("calls_total", "C.", {"rpc", "collection", "code"});
  auto* latency = reg.AddHistogram("lat_seconds", "L.", {"rpc", "collection"});
  for (const char* rpc : {"Search", "BatchSearch", "GetItems", "LookupTitle"}) {
    for (const char* c : {"genres", "ncf", "synopsis"}) {
      calls->With({rpc, c, "OK"})->Add();
      latency->With({rpc, c})->Observe(0.001);
    }
  }
  for (auto _ : state) benchmark::DoNotOptimize(reg.Expose());
}
BENCHMARK(BM_Scrape);

}  // namespace
}  // namespace simsearch

BENCHMARK_MAIN();
