// Sentence-encoder throughput (Google Benchmark).
//
//   build/bench/encoder_bench
//
// BM_MiniLmShape/<threads>: a BERT with all-MiniLM-L6-v2's shape (6 layers, hidden 384,
// 12 heads, intermediate 1536, 30,522-token vocabulary) and random weights, encoding
// 128 sequences of 128 tokens in batches of 32; threads split the batches.
#include <benchmark/benchmark.h>

#include <random>

#include "models/text/bert.h"

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
  state.counters["sentences_per_s"] =
      benchmark::Counter(static_cast<double>(ids.size()), benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK(BM_MiniLmShape)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(5.0);

}  // namespace
}  // namespace simsearch::text

BENCHMARK_MAIN();
