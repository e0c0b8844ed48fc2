// Microbenchmarks of the searchers (Google Benchmark). Reports figures; never fails.
//
//   build/bench/searchers_bench [--benchmark_filter=...]
//
// Exact search over our mapped vector file vs FAISS IndexFlatIP (Debian's generic SSE
// build), and FAISS IVF / HNSW, one query at a time and in batches, at 1 and 2 OpenMP
// threads where FAISS would use them.
#include <benchmark/benchmark.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVFFlat.h>
#include <omp.h>

#include <immintrin.h>

#include <cstring>
#include <map>
#include <memory>
#include <random>

#include "core/half.h"
#include "engine/exact_searcher.h"
#include "engine/faiss_validate.h"

extern "C" void openblas_set_num_threads(int) __attribute__((weak));

namespace simsearch {
namespace {

using idx_t = faiss::Index::idx_t;

// OpenMP threads (FAISS loops) and OpenBLAS threads (FAISS batched GEMM) together.
void SetThreads(int n) {
  omp_set_num_threads(n);
  if (openblas_set_num_threads != nullptr) openblas_set_num_threads(n);
}

// Clustered unit vectors (the shape real embeddings have), cached per (n, d).
const std::vector<float>& Data(uint64_t n, uint64_t d) {
  static std::map<std::pair<uint64_t, uint64_t>, std::vector<float>> cache;
  auto& x = cache[{n, d}];
  if (x.empty()) {
    std::mt19937_64 rng(n * 31 + d);
    std::normal_distribution<float> g;
    const int clusters = 256;
    std::vector<float> centres(clusters * d);
    for (float& v : centres) v = g(rng);
    x.resize(n * d);
    std::uniform_int_distribution<int> pick(0, clusters - 1);
    for (uint64_t i = 0; i < n; ++i) {
      const int c = pick(rng);
      double s = 0;
      for (uint64_t j = 0; j < d; ++j) {
        x[i * d + j] = centres[c * d + j] + 0.5f * g(rng);
        s += double{x[i * d + j]} * x[i * d + j];
      }
      const float inv = static_cast<float>(1.0 / std::sqrt(s));
      for (uint64_t j = 0; j < d; ++j) x[i * d + j] *= inv;
    }
  }
  return x;
}

// Top 10 of nq queries per call (rows of the collection itself, moving through it).
void RunSearches(benchmark::State& state, const Searcher& s, const std::vector<float>& x,
                 uint64_t n, uint64_t d, uint64_t nq) {
  SearchParams p;
  p.k = 10;
  std::vector<std::vector<Neighbor>> out;
  uint64_t q = 0;
  for (auto _ : state) {
    s.Search(&x[(q * 7919 % (n - nq)) * d], nq, p, &out).IgnoreError();
    benchmark::DoNotOptimize(out.data());
    ++q;
  }
  state.SetItemsProcessed(state.iterations() * nq);
}

void BM_Exact(benchmark::State& state) {
  const uint64_t n = state.range(0), d = state.range(1), nq = state.range(2);
  const auto& x = Data(n, d);
  RunSearches(state, ExactSearcher(x.data(), n, d), x, n, d, nq);
  // Multiply-adds done, as FLOP/s (a multiply-add is 2): compare with BM_FmaPeak.
  state.counters["flops"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * nq * n * d * 2, benchmark::Counter::kIsRate);
}

// The half-precision scan (vectors.f16) with its float rescoring of the best 4k rows:
// what a flat bundle built with --scan-precision f16 answers with.
void BM_HalfScan(benchmark::State& state) {
  const uint64_t n = state.range(0), d = state.range(1), nq = state.range(2);
  const auto& x = Data(n, d);
  static std::map<std::pair<uint64_t, uint64_t>, std::vector<uint16_t>> halves;
  auto& h = halves[{n, d}];
  if (h.empty()) h = FloatsToHalves(x);
  RunSearches(state, HalfScanSearcher(x.data(), h.data(), n, d, 4), x, n, d, nq);
}

// The floor an exact scan of one query can reach: one pass summing the same buffer
// (eight independent 8-float accumulators, every float read once). For 1M x 128 the
// buffer is far larger than the caches, so this is the DRAM-bound sum; 100k x 64 (25.6
// MB) fits this VM's 32 MiB L3, so there it is the L3-bound sum.
void BM_SumBuffer(benchmark::State& state) {
  const uint64_t n = state.range(0), d = state.range(1);
  const auto& x = Data(n, d);
  const uint64_t len = n * d & ~uint64_t{63};
  typedef float V8 __attribute__((vector_size(32)));
  for (auto _ : state) {
    V8 acc[8] = {};
    for (uint64_t i = 0; i < len; i += 64) {
      for (int t = 0; t < 8; ++t) {
        V8 v;
        std::memcpy(&v, &x[i + 8 * t], sizeof v);
        acc[t] += v;
      }
    }
    V8 s = acc[0];
    for (int t = 1; t < 8; ++t) s += acc[t];
    float total = 0;
    for (int l = 0; l < 8; ++l) total += s[l];
    benchmark::DoNotOptimize(total);
  }
  state.SetBytesProcessed(state.iterations() * len * sizeof(float));
}

// The machine's fused multiply-add peak on one core: twelve independent 8-float FMA
// chains kept in registers (enough to cover the FMA latency on both pipes), no memory.
// Reported as FLOP/s (a multiply-add is 2) in items_per_second.
void BM_FmaPeak(benchmark::State& state) {
#if defined(__FMA__)
  __m256 a[12];
  for (int t = 0; t < 12; ++t) a[t] = _mm256_set1_ps(1.0f + t * 1e-7f);
  const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  constexpr int64_t kSteps = 1 << 20;
  for (auto _ : state) {
    for (int64_t k = 0; k < kSteps; ++k) {
#pragma GCC unroll 12
      for (int t = 0; t < 12; ++t) a[t] = _mm256_fmadd_ps(a[t], m, c);
      // Keeps the twelve chains in registers and in this loop.
      __asm__ volatile(""
                       : "+x"(a[0]), "+x"(a[1]), "+x"(a[2]), "+x"(a[3]), "+x"(a[4]), "+x"(a[5]),
                         "+x"(a[6]), "+x"(a[7]), "+x"(a[8]), "+x"(a[9]), "+x"(a[10]), "+x"(a[11]));
    }
  }
  benchmark::DoNotOptimize(a[0]);
  state.SetItemsProcessed(state.iterations() * kSteps * 12 * 8 * 2);
#else
  state.SkipWithError("built without FMA (-march): no FMA peak to measure");
#endif
}

void BM_FaissFlat(benchmark::State& state) {
  const uint64_t n = state.range(0), d = state.range(1), nq = state.range(2);
  SetThreads(static_cast<int>(state.range(3)));
  const auto& x = Data(n, d);
  faiss::IndexFlatIP index(static_cast<int>(d));
  index.add(static_cast<idx_t>(n), x.data());
  std::vector<float> D(nq * 10);
  std::vector<idx_t> I(nq * 10);
  uint64_t q = 0;
  for (auto _ : state) {
    index.search(static_cast<idx_t>(nq), &x[(q * 7919 % (n - nq)) * d], 10, D.data(), I.data());
    ++q;
  }
  state.SetItemsProcessed(state.iterations() * nq);
  SetThreads(1);
}

faiss::Index* Ann(bool ivf, uint64_t n, uint64_t d) {
  static std::map<std::tuple<bool, uint64_t, uint64_t>, std::unique_ptr<faiss::Index>> cache;
  auto& idx = cache[{ivf, n, d}];
  if (!idx) {
    omp_set_num_threads(2);
    const auto& x = Data(n, d);
    if (ivf) {
      auto* q = new faiss::IndexFlatIP(static_cast<int>(d));
      auto* i = new faiss::IndexIVFFlat(q, d, 1024, faiss::METRIC_INNER_PRODUCT);
      i->own_fields = true;
      i->train(static_cast<idx_t>(n), x.data());
      i->nprobe = 16;
      idx.reset(i);
    } else {
      auto* h = new faiss::IndexHNSWFlat(static_cast<int>(d), 32, faiss::METRIC_INNER_PRODUCT);
      h->hnsw.efConstruction = 200;
      h->hnsw.efSearch = 128;
      idx.reset(h);
    }
    idx->add(static_cast<idx_t>(n), x.data());
  }
  return idx.get();
}

void BM_Ann(benchmark::State& state, bool ivf) {
  const uint64_t n = state.range(0), d = state.range(1), nq = state.range(2);
  faiss::Index* index = Ann(ivf, n, d);
  SetThreads(static_cast<int>(state.range(3)));
  const auto& x = Data(n, d);
  std::vector<float> D(nq * 10);
  std::vector<idx_t> I(nq * 10);
  uint64_t q = 0;
  for (auto _ : state) {
    index->search(static_cast<idx_t>(nq), &x[(q * 7919 % (n - nq)) * d], 10, D.data(), I.data());
    ++q;
  }
  state.SetItemsProcessed(state.iterations() * nq);
  SetThreads(1);
}

void BM_Ivf(benchmark::State& s) {
  BM_Ann(s, true);
}
void BM_Hnsw(benchmark::State& s) {
  BM_Ann(s, false);
}

// What the structural check at open costs (engine/faiss_validate.h): one pass over the
// graph's neighbour ids or the lists' ids, for the same indexes as above.
void BM_Validate(benchmark::State& state, bool ivf) {
  const faiss::Index* index = Ann(ivf, state.range(0), state.range(1));
  for (auto _ : state) {
    absl::Status st = ValidateFaissIndex(*index, "bench");
    if (!st.ok()) state.SkipWithError(std::string(st.message()).c_str());
  }
}
void BM_ValidateIvf(benchmark::State& s) {
  BM_Validate(s, true);
}
void BM_ValidateHnsw(benchmark::State& s) {
  BM_Validate(s, false);
}

// Args: n, d, queries per call [, OpenMP threads].
BENCHMARK(BM_Exact)
    ->Args({15222, 50, 1})
    ->Args({100000, 64, 1})
    ->Args({1000000, 128, 1})
    ->Args({100000, 64, 16})
    ->Args({100000, 64, 32})
    ->Args({100000, 64, 64})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_HalfScan)
    ->Args({100000, 64, 1})
    ->Args({1000000, 128, 1})
    ->Args({100000, 64, 64})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SumBuffer)->Args({100000, 64})->Args({1000000, 128})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FmaPeak)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FaissFlat)
    ->Args({15222, 50, 1, 1})
    ->Args({100000, 64, 1, 1})
    ->Args({1000000, 128, 1, 1})
    ->Args({100000, 64, 64, 1})
    ->Args({100000, 64, 64, 2})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Ivf)
    ->Args({100000, 64, 1, 1})
    ->Args({100000, 64, 1, 2})
    ->Args({100000, 64, 64, 1})
    ->Args({100000, 64, 64, 2})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Hnsw)
    ->Args({100000, 64, 1, 1})
    ->Args({100000, 64, 1, 2})
    ->Args({100000, 64, 64, 1})
    ->Args({100000, 64, 64, 2})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ValidateIvf)->Args({100000, 64})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ValidateHnsw)->Args({100000, 64})->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace simsearch

BENCHMARK_MAIN();
