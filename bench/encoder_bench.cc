// Sentence-encoder throughput (Google Benchmark).
//
//   build/bench/encoder_bench
//
// BM_MiniLmShape/<threads>: a BERT with all-MiniLM-L6-v2's shape (6 layers, hidden 384,
// 12 heads, intermediate 1536, 30,522-token vocabulary) and random weights, encoding
// 128 sequences of 128 tokens in batches of 32; threads split the batches.
//
// BM_UseLiteOpen: opening the Universal Sentence Encoder Lite (var/models/use-lite,
// scripts/fetch-use-lite.sh; $SIMSEARCH_USE_LITE_DIR overrides), which is what a
// collection with it adds to an engine's or a Lambda's start.
// BM_UseLiteQuery: encoding one fan-style query (12 pieces), as the engine does per
// text search. BM_UseLiteSynopsisSentences/<threads>: the sentences of 64 synopses of
// the catalogue, as simsearch-embed --sentences encodes them.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <random>

#include "core/csv.h"
#include "core/file_util.h"
#include "models/text/bert.h"
#include "models/text/use_lite.h"

namespace simsearch::text {
namespace {

void BM_MiniLmShape(benchmark::State& state) {
  BertConfig c;
  c.vocab_size = 30522;
  c.hidden = 384;
  c.layers = 6;
  c.heads = 12;
  c.intermediate = 1536;
  c.max_position = 512;
  const int threads = static_cast<int>(state.range(0));
  auto enc = BertEncoder::Random(c, 7, threads, 128);
  std::mt19937 rng(1);
  std::uniform_int_distribution<int32_t> tok(1000, 29999);
  std::vector<std::vector<int32_t>> ids(128);
  for (auto& s : ids) {
    s.push_back(101);
    while (s.size() < 127) s.push_back(tok(rng));
    s.push_back(102);
  }
  std::vector<float> out;
  for (auto _ : state) {
    enc->EncodeIds(ids, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["sentences_per_s"] = benchmark::Counter(
      static_cast<double>(ids.size()), benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK(BM_MiniLmShape)
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(5.0);

std::string UseLiteDir() {
  const char* env = std::getenv("SIMSEARCH_USE_LITE_DIR");
  return env != nullptr ? env : "var/models/use-lite";
}

std::unique_ptr<UseLiteEncoder> OpenUseLite(benchmark::State& state, int threads) {
  auto e = UseLiteEncoder::Load(UseLiteDir(), threads);
  if (!e.ok()) {
    state.SkipWithError(std::string(e.status().message()).c_str());
    return nullptr;
  }
  return std::move(*e);
}

void BM_UseLiteOpen(benchmark::State& state) {
  for (auto _ : state) {
    auto e = OpenUseLite(state, 1);
    if (e == nullptr) return;
    benchmark::DoNotOptimize(e.get());
  }
}
BENCHMARK(BM_UseLiteOpen)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_UseLiteQuery(benchmark::State& state) {
  auto e = OpenUseLite(state, 1);
  if (e == nullptr) return;
  const std::vector<std::string> query = {
      "bounty hunters on a spaceship with a corgi and a jazz soundtrack"};
  std::vector<float> out;
  for (auto _ : state) {
    (void)e->Encode(query, &out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_UseLiteQuery)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_UseLiteSynopsisSentences(benchmark::State& state) {
  auto e = OpenUseLite(state, static_cast<int>(state.range(0)));
  if (e == nullptr) return;
  auto csv = ReadFileToString("data/anime/anime_synopses_merged.csv");
  if (!csv.ok()) {
    state.SkipWithError(
        "run from the repository root (reads data/anime/anime_synopses_merged.csv)");
    return;
  }
  CsvReader reader(*csv, "synopses");
  std::vector<std::string> row;
  std::vector<std::string> sentences;
  (void)reader.Next(&row);  // header; the synopsis is column 6
  for (int n = 0; n < 64;) {
    auto more = reader.Next(&row);
    if (!more.ok() || !*more) break;
    if (row.size() < 7) continue;
    for (std::string& s : SplitSentences(row[6])) sentences.push_back(std::move(s));
    ++n;
  }
  std::vector<float> out;
  for (auto _ : state) {
    (void)e->Encode(sentences, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["sentences_per_s"] = benchmark::Counter(
      static_cast<double>(sentences.size()), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_UseLiteSynopsisSentences)
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(3.0);

}  // namespace
}  // namespace simsearch::text

BENCHMARK_MAIN();
