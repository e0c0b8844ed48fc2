// NCF training throughput on the bundled anime interactions (Google Benchmark).
//
//   build/bench/ncf_bench [--benchmark_filter=...]
//
// BM_Epoch/<model>/<threads>: one training epoch (every training pair plus 4 sampled
// negatives) of the default configuration (64 factors, MLP 64-32-16-8, batch 256);
// counters give samples/s. BM_DefaultRun: the demo's whole run, MF for 20 epochs.
// Data: $SIMSEARCH_INTERACTIONS or data/anime/interactions_history_mal.csv.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>

#include "core/interactions.h"
#include "models/ncf/split.h"
#include "models/ncf/trainer.h"

namespace simsearch::ncf {
namespace {

const Split& AnimeSplit() {
  static std::unique_ptr<Split> split = [] {
    const char* env = std::getenv("SIMSEARCH_INTERACTIONS");
    const std::string path =
        env ? env : std::string(SIMSEARCH_SOURCE_DIR) + "/data/anime/interactions_history_mal.csv";
    auto data = LoadInteractions(path);
    if (!data.ok()) {
      std::fprintf(stderr, "%s\n", std::string(data.status().message()).c_str());
      std::exit(1);
    }
    return std::make_unique<Split>(LeaveOneOut(*data, 42));
  }();
  return *split;
}

void Run(benchmark::State& state, ModelKind kind, int epochs) {
  const Split& split = AnimeSplit();
  ModelConfig c;
  c.kind = kind;
  TrainOptions o;
  o.epochs = epochs;
  o.threads = static_cast<int>(state.range(0));
  uint64_t samples = 0;
  double seconds = 0;
  for (auto _ : state) {
    auto m = NcfModel::Create(c, split.num_users, split.num_items, 42);
    TrainReport r = Train(&*m, split, o);
    samples += r.samples;
    seconds += r.seconds;
  }
  state.counters["samples_per_s"] = static_cast<double>(samples) / seconds;
  state.counters["samples"] =
      static_cast<double>(samples) / static_cast<double>(state.iterations());
}

void BM_Epoch_MF(benchmark::State& s) {
  Run(s, ModelKind::kMF, 1);
}
void BM_Epoch_GMF(benchmark::State& s) {
  Run(s, ModelKind::kGMF, 1);
}
void BM_Epoch_MLP(benchmark::State& s) {
  Run(s, ModelKind::kMLP, 1);
}
void BM_Epoch_NeuMF(benchmark::State& s) {
  Run(s, ModelKind::kNeuMF, 1);
}
void BM_DefaultRun_MF20(benchmark::State& s) {
  Run(s, ModelKind::kMF, 20);
}

BENCHMARK(BM_Epoch_MF)
    ->Arg(1)
    ->Arg(2)
    ->Iterations(1)
    ->Repetitions(3)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();
BENCHMARK(BM_Epoch_GMF)
    ->Arg(1)
    ->Arg(2)
    ->Iterations(1)
    ->Repetitions(3)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();
BENCHMARK(BM_Epoch_MLP)
    ->Arg(1)
    ->Arg(2)
    ->Iterations(1)
    ->Repetitions(3)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();
BENCHMARK(BM_Epoch_NeuMF)
    ->Arg(1)
    ->Arg(2)
    ->Iterations(1)
    ->Repetitions(3)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();
BENCHMARK(BM_DefaultRun_MF20)->Arg(2)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

}  // namespace
}  // namespace simsearch::ncf

BENCHMARK_MAIN();
