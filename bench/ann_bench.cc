// The served ANN kinds against hnswlib, in one run: recall@10 and queries per second,
// one query at a time on one thread, over 100,000 clustered unit vectors of 64 dims
// and 1,000 held-out queries from the same clusters (not in the index). Sweeps each
// searcher's query-time knob, prints one JSON line per point (for the recall-vs-QPS
// plot) and then, per searcher, the fastest point at recall@10 >= 0.95 and its ratio to
// hnswlib's.
//
//   build/bench/simsearch-ann-bench [--n 100000] [--dims 64] [--out FILE.jsonl]
//
// FAISS indexes are written to a temporary directory and opened the way the engine
// serves them (FaissSearcher: IVF lists memory-mapped, HNSW read into memory). The
// hnswlib graph is built and served the way the engine builds and serves the `hnsw`
// kind (BuildHnswlibIndex, HnswlibSearcher: "hnswlib-m32-served"), and the same file is
// searched through hnswlib's own API as the peer ("hnswlib-m32"); hnswlib 0.6.2 is
// Debian's header-only library, compiled here with the project's -march.
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/index_io.h>
#include <hnswlib/hnswlib.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "core/cli.h"
#include "engine/exact_searcher.h"
#include "engine/faiss_searcher.h"
#include "engine/hnswlib_searcher.h"

namespace simsearch {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<float> Clustered(uint64_t n, uint64_t d, const std::vector<float>& centres,
                             std::mt19937_64* rng) {
  std::normal_distribution<float> g;
  std::uniform_int_distribution<size_t> pick(0, centres.size() / d - 1);
  std::vector<float> x(n * d);
  for (uint64_t i = 0; i < n; ++i) {
    const size_t c = pick(*rng);
    double s = 0;
    for (uint64_t j = 0; j < d; ++j) {
      x[i * d + j] = centres[c * d + j] + 0.5f * g(*rng);
      s += double{x[i * d + j]} * x[i * d + j];
    }
    const float inv = static_cast<float>(1.0 / std::sqrt(s));
    for (uint64_t j = 0; j < d; ++j) x[i * d + j] *= inv;
  }
  return x;
}

struct Point {
  std::string searcher;
  std::string knob;
  int value;
  double recall;
  double qps;
};

int Run(int argc, char** argv) {
  int n = 100000, d = 64, nq = 1000;
  std::string out_path;
  ArgParser p("simsearch-ann-bench",
              "the served ANN kinds against hnswlib: recall@10 and QPS, one query at a time");
  p.AddInt("n", &n, "indexed vectors (default 100000)");
  p.AddInt("dims", &d, "dimensions (default 64)");
  p.AddInt("queries", &nq, "held-out queries (default 1000)");
  p.AddString("out", &out_path, "also write the points as JSON lines here", "FILE");
  if (int rc = p.ParseOrExitCode(argc, argv, 1, nullptr); rc >= 0) return rc;
  omp_set_num_threads(1);

  std::mt19937_64 rng(7);
  std::normal_distribution<float> g;
  std::vector<float> centres(256 * static_cast<size_t>(d));
  for (float& v : centres) v = g(rng);
  const std::vector<float> x = Clustered(n, d, centres, &rng);
  const std::vector<float> q = Clustered(nq, d, centres, &rng);
  std::fprintf(stderr, "exact top-10 of %lld held-out queries...\n", static_cast<long long>(nq));
  ExactSearcher exact(x.data(), n, d);
  std::vector<std::vector<Neighbor>> truth;
  SearchParams sp;
  sp.k = 10;
  if (auto st = exact.Search(q.data(), nq, sp, &truth); !st.ok()) return 1;

  auto recall_of = [&](const std::function<std::vector<int64_t>(const float*)>& search,
                       double* qps) {
    double hits = 0;
    std::vector<std::vector<int64_t>> got(nq);
    const auto t0 = Clock::now();
    for (int64_t i = 0; i < nq; ++i) got[i] = search(q.data() + i * d);
    *qps = static_cast<double>(nq) / std::chrono::duration<double>(Clock::now() - t0).count();
    for (int64_t i = 0; i < nq; ++i) {
      for (const Neighbor& t : truth[i])
        hits += std::count(got[i].begin(), got[i].end(), int64_t{t.row}) > 0;
    }
    return hits / static_cast<double>(nq * 10);
  };

  // A served searcher (FaissSearcher), one query per call as the engine calls it.
  auto served_recall = [&](const Searcher& searcher, double* qps) {
    return recall_of(
        [&](const float* v) {
          std::vector<std::vector<Neighbor>> res;
          std::vector<int64_t> rows;
          if (searcher.Search(v, 1, sp, &res).ok()) {
            for (const Neighbor& nb : res[0]) rows.push_back(nb.row);
          }
          return rows;
        },
        qps);
  };

  const std::string dir =
      std::filesystem::temp_directory_path() / ("ann-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::vector<Point> points;
  auto report = [&](Point pt) {
    std::printf("{\"searcher\":\"%s\",\"%s\":%d,\"recall_at_10\":%.4f,\"qps\":%.0f}\n",
                pt.searcher.c_str(), pt.knob.c_str(), pt.value, pt.recall, pt.qps);
    std::fflush(stdout);
    points.push_back(pt);
  };
  const std::vector<int> knobs = {8, 12, 16, 20, 24, 32, 48, 64, 128, 256};
  // The fastest point of a searcher at recall@10 >= 0.95, or null.
  auto best_of = [&](const std::string& name) {
    const Point* b = nullptr;
    for (const Point& pt : points) {
      if (pt.searcher == name && pt.recall >= 0.95 && (b == nullptr || pt.qps > b->qps)) b = &pt;
    }
    return b;
  };
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  // Two searchers run one after the other in each of 7 rounds (the machine may be
  // shared): medians of their QPS, and the median and range of the per-round ratios.
  struct Interleaved {
    double recall_a = 0, recall_b = 0, qps_a = 0, qps_b = 0, ratio = 0, lo = 0, hi = 0;
  };
  auto interleave = [&](const std::function<double(double*)>& run_a,
                        const std::function<double(double*)>& run_b) {
    std::vector<double> a, b, ratio;
    Interleaved r;
    for (int round = 0; round < 7; ++round) {
      double qa, qb;
      r.recall_a = run_a(&qa);
      r.recall_b = run_b(&qb);
      a.push_back(qa);
      b.push_back(qb);
      ratio.push_back(qa / qb);
    }
    r.qps_a = median(a);
    r.qps_b = median(b);
    r.ratio = median(ratio);
    r.lo = *std::min_element(ratio.begin(), ratio.end());
    r.hi = *std::max_element(ratio.begin(), ratio.end());
    return r;
  };

  // Opens `path` the way the engine serves it at each knob value and reports the point.
  auto sweep_served = [&](const std::string& path, IndexKind kind, const char* name,
                          const char* knob, const std::vector<int>& values,
                          const std::function<void(IndexParams*, int)>& set) {
    for (int v : values) {
      IndexParams ip;
      set(&ip, v);
      auto s = FaissSearcher::Open(path, kind, ip, d, n);
      if (!s.ok()) {
        std::fprintf(stderr, "%s\n", std::string(s.status().message()).c_str());
        return false;
      }
      double qps;
      const double r = served_recall(**s, &qps);
      report({name, knob, v, r, qps});
    }
    return true;
  };

  // FAISS IVF, served mapped.
  {
    std::fprintf(stderr, "building FAISS IVF1024...\n");
    faiss::IndexFlatIP quantizer(d);
    faiss::IndexIVFFlat ivf(&quantizer, d, 1024, faiss::METRIC_INNER_PRODUCT);
    omp_set_num_threads(2);
    ivf.train(n, x.data());
    ivf.add(n, x.data());
    omp_set_num_threads(1);
    faiss::write_index(&ivf, (dir + "/ivf.faiss").c_str());
  }
  if (!sweep_served(dir + "/ivf.faiss", IndexKind::kIvf, "faiss-ivf1024-mapped", "nprobe",
                    {1, 2, 3, 4, 5, 6, 8, 12, 16, 32, 64}, [](IndexParams* ip, int v) {
                      ip->nlist = 1024;
                      ip->nprobe = v;
                    })) {
    return 1;
  }

  // FAISS HNSW32, as served.
  double faiss_build = 0, hnswlib_build = 0;
  std::string interleaved;
  {
    std::fprintf(stderr, "building FAISS HNSW32 (2 threads)...\n");
    faiss::IndexHNSWFlat hnsw(d, 32, faiss::METRIC_INNER_PRODUCT);
    hnsw.hnsw.efConstruction = 128;
    omp_set_num_threads(2);
    const auto t0 = Clock::now();
    hnsw.add(n, x.data());
    faiss_build = std::chrono::duration<double>(Clock::now() - t0).count();
    omp_set_num_threads(1);
    faiss::write_index(&hnsw, (dir + "/hnsw.faiss").c_str());
    // The same index searched directly, with the beam set on the index itself: tells
    // FAISS's own behaviour from the served path's.
    for (int ef : knobs) {
      hnsw.hnsw.efSearch = ef;
      double qps;
      const double r = recall_of(
          [&](const float* v) {
            std::vector<float> dist(10);
            std::vector<faiss::Index::idx_t> lab(10);
            hnsw.search(1, v, 10, dist.data(), lab.data());
            return std::vector<int64_t>(lab.begin(), lab.end());
          },
          &qps);
      report({"faiss-hnsw32-direct", "ef_search", ef, r, qps});
    }
  }
  if (!sweep_served(dir + "/hnsw.faiss", IndexKind::kHnsw, "faiss-hnsw32", "ef_search", knobs,
                    [](IndexParams* ip, int v) {
                      ip->hnsw_m = 32;
                      ip->ef_construction = 128;
                      ip->ef_search = v;
                    })) {
    return 1;
  }

  // hnswlib, same M and construction beam: the graph built and served the way the
  // engine builds and serves the `hnsw` kind (BuildHnswlibIndex, HnswlibSearcher), and
  // the same file searched through hnswlib's own API, the peer.
  {
    std::fprintf(stderr, "building hnswlib M=32 (2 threads)...\n");
    IndexParams build;
    build.hnsw_m = 32;
    build.ef_construction = 128;
    const std::string path = dir + "/graph.hnswlib";
    const auto t0 = Clock::now();
    if (auto st = BuildHnswlibIndex(x.data(), static_cast<uint64_t>(n), static_cast<uint64_t>(d),
                                    build, 100, 2, path, nullptr);
        !st.ok()) {
      std::fprintf(stderr, "%s\n", std::string(st.message()).c_str());
      return 1;
    }
    hnswlib_build = std::chrono::duration<double>(Clock::now() - t0).count();
    for (int ef : knobs) {
      IndexParams ip = build;
      ip.ef_search = ef;
      auto served =
          HnswlibSearcher::Open(path, ip, static_cast<uint64_t>(d), static_cast<uint64_t>(n));
      if (!served.ok()) {
        std::fprintf(stderr, "%s\n", std::string(served.status().message()).c_str());
        return 1;
      }
      double qps;
      const double r = served_recall(**served, &qps);
      report({"hnswlib-m32-served", "ef_search", ef, r, qps});
    }
    hnswlib::InnerProductSpace space(d);
    hnswlib::HierarchicalNSW<float> h(&space, path, false, static_cast<size_t>(n));
    auto raw = [&](const float* v) {
      auto pq = h.searchKnn(v, 10);
      std::vector<int64_t> rows;
      while (!pq.empty()) {
        rows.push_back(static_cast<int64_t>(pq.top().second));
        pq.pop();
      }
      return rows;
    };
    for (int ef : knobs) {
      h.setEf(static_cast<size_t>(ef));
      double qps;
      const double r = recall_of(raw, &qps);
      report({"hnswlib-m32", "ef", ef, r, qps});
    }
    // The served path against the raw API on the same graph at ef 32, interleaved over
    // 7 rounds (the machine may be shared): medians, and the median of the per-round
    // ratios.
    IndexParams ip = build;
    ip.ef_search = 32;
    auto served =
        HnswlibSearcher::Open(path, ip, static_cast<uint64_t>(d), static_cast<uint64_t>(n));
    if (!served.ok()) return 1;
    h.setEf(32);
    const Interleaved same_graph =
        interleave([&](double* qps) { return served_recall(**served, qps); },
                   [&](double* qps) { return recall_of(raw, qps); });
    interleaved = absl::StrFormat(
        "served hnsw vs hnswlib's own API, same graph, ef 32, 7 interleaved rounds: %.0f vs %.0f "
        "QPS "
        "(medians), served/raw %.2f (median of rounds; range %.2f-%.2f)\n",
        same_graph.qps_a, same_graph.qps_b, same_graph.ratio, same_graph.lo, same_graph.hi);
    // The served IVF at its fastest nprobe reaching 0.95 against hnswlib's API at its
    // fastest ef reaching 0.95, interleaved the same way: the sweep above runs each
    // searcher once, seconds apart, which a shared machine can skew either way.
    const Point* ivf_best = best_of("faiss-ivf1024-mapped");
    const Point* raw_best = best_of("hnswlib-m32");
    if (ivf_best != nullptr && raw_best != nullptr) {
      IndexParams ivf_params;
      ivf_params.nlist = 1024;
      ivf_params.nprobe = ivf_best->value;
      auto ivf = FaissSearcher::Open(dir + "/ivf.faiss", IndexKind::kIvf, ivf_params, d, n);
      if (!ivf.ok()) return 1;
      h.setEf(static_cast<size_t>(raw_best->value));
      const Interleaved r = interleave([&](double* qps) { return served_recall(**ivf, qps); },
                                       [&](double* qps) { return recall_of(raw, qps); });
      interleaved += absl::StrFormat(
          "served IVF1024 (mapped) nprobe %d vs hnswlib ef %d, 7 interleaved rounds: recall@10 "
          "%.3f vs %.3f, "
          "%.0f vs %.0f QPS (medians), IVF/hnswlib %.2f (median of rounds; range %.2f-%.2f)\n",
          ivf_best->value, raw_best->value, r.recall_a, r.recall_b, r.qps_a, r.qps_b, r.ratio, r.lo,
          r.hi);
    }
  }
  std::filesystem::remove_all(dir);

  std::printf("\nbuild (2 threads): FAISS HNSW32 %.1f s, hnswlib M=32 %.1f s (%.2fx)\n",
              faiss_build, hnswlib_build, faiss_build / hnswlib_build);
  std::printf(
      "fastest point at recall@10 >= 0.95 (n %lld, dims %lld, %lld held-out queries, 1 thread):\n",
      static_cast<long long>(n), static_cast<long long>(d), static_cast<long long>(nq));
  double ref = 0;
  std::vector<std::pair<std::string, const Point*>> best;
  for (const char* name :
       {"faiss-ivf1024-mapped", "faiss-hnsw32", "hnswlib-m32-served", "hnswlib-m32"}) {
    const Point* b = best_of(name);
    best.emplace_back(name, b);
    if (std::string(name) == "hnswlib-m32" && b != nullptr) ref = b->qps;
  }
  for (const auto& [name, b] : best) {
    if (b == nullptr) {
      std::printf("  %-22s never reaches 0.95 in the sweep\n", name.c_str());
    } else {
      std::printf("  %-22s %s %3d: recall %.3f, %7.0f QPS, %.2fx hnswlib\n", name.c_str(),
                  b->knob.c_str(), b->value, b->recall, b->qps, ref > 0 ? b->qps / ref : 0.0);
    }
  }
  std::printf("%s", interleaved.c_str());
  if (!out_path.empty()) {
    std::ofstream out(out_path);
    for (const Point& pt : points) {
      out << "{\"searcher\":\"" << pt.searcher << "\",\"" << pt.knob << "\":" << pt.value
          << ",\"recall_at_10\":" << pt.recall << ",\"qps\":" << pt.qps << "}\n";
    }
  }
  return 0;
}

}  // namespace
}  // namespace simsearch

int main(int argc, char** argv) {
  return simsearch::Run(argc, argv);
}
