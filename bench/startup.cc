// simsearch-startup-bench: 1M x 128 synthetic vectors served exactly.
//
//  1. time from starting simsearch-engine to its first answer over gRPC, against
//     FAISS read_index of the same data as IndexFlatIP plus its first search, and
//     the engine library opening the bundle in-process;
//  2. exact search latency over the mapped vector file against FAISS IndexFlatIP.
//
// Each figure is the median of --repeat runs, with the page cache warm (files read
// just before) and cold (files dropped from the page cache with posix_fadvise).
//
//   simsearch-startup-bench --work /tmp/ssb [--n 1000000] [--d 128] [--repeat 5]
#include <faiss/IndexFlat.h>
#include <faiss/index_io.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/client.h"
#include "core/bundle.h"
#include "core/cli.h"
#include "core/npy.h"
#include "engine/collection.h"
#include "indexer/indexer.h"

extern char** environ;
extern "C" void openblas_set_num_threads(int) __attribute__((weak));

namespace simsearch {
namespace {
namespace fs = std::filesystem;
using idx_t = faiss::Index::idx_t;

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Drops a file's pages from the page cache (no root needed), or reads it all in.
void SetCache(const std::string& path, bool warm) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return;
  if (warm) {
    std::vector<char> buf(1 << 20);
    while (::read(fd, buf.data(), buf.size()) > 0) {
    }
  } else {
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  }
  ::close(fd);
}

void SetCacheTree(const std::string& dir, bool warm) {
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) SetCache(e.path().string(), warm);
  }
}

// Starts the engine, returns seconds until a search by id for `item` answered OK on
// every collection of `collections`.
double EngineToFirstAnswer(const std::string& engine, const std::string& root,
                           const std::string& verify,
                           const std::vector<std::string>& collections = {"synthetic"},
                           int64_t item = 12345) {
  const std::string log = root + "/../engine.log";
  std::remove(log.c_str());
  const absl::Time t0 = absl::Now();
  pid_t pid;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<std::string> args = {engine,     "--index_root", root,
                                   "--listen", "127.0.0.1:0",  "--poll_interval",
                                   "0",        "--verify",     verify};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  if (posix_spawn(&pid, engine.c_str(), &fa, nullptr, argv.data(), environ) != 0) {
    std::fprintf(stderr, "cannot start %s\n", engine.c_str());
    std::exit(1);
  }
  posix_spawn_file_actions_destroy(&fa);
  // The engine logs its port once it listens.
  int port = 0;
  while (port == 0) {
    std::ifstream f(log);
    std::string line;
    while (std::getline(f, line)) {
      auto at = line.find(" on port ");
      if (at != std::string::npos) port = std::atoi(line.c_str() + at + 9);
    }
    if (absl::Now() - t0 > absl::Seconds(120)) {
      std::fprintf(stderr, "engine did not start; see %s\n", log.c_str());
      std::exit(1);
    }
    if (port == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  ClientOptions co;
  co.address = absl::StrCat("127.0.0.1:", port);
  auto client = Client::Create(co);
  for (const std::string& c : collections) {
    SearchOptions so;
    so.collection = c;
    while (!client->Search(SearchQuery::Item(item), so).ok()) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }
  const double s = absl::ToDoubleSeconds(absl::Now() - t0);
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
  return s;
}

int Run(int argc, char** argv) {
  std::string work,
      engine = (fs::path(argv[0]).parent_path() / "../server/simsearch-engine").string();
  int n = 1000000, d = 128, repeat = 5, queries = 100, item = 1;
  std::string index_root;
  std::vector<std::string> collections;
  ArgParser p("simsearch-startup-bench",
              "simsearch-startup-bench: engine start-to-first-answer and exact search on\n"
              "synthetic vectors, against FAISS IndexFlatIP. Figures are medians.");
  p.AddString("work", &work, "scratch directory (data is generated once and reused)", "DIR");
  p.AddString("engine", &engine, "simsearch-engine binary", "PATH");
  p.AddInt("n", &n, "vectors (default 1000000)");
  p.AddInt("d", &d, "dimensions (default 128)");
  p.AddInt("repeat", &repeat, "runs per figure (default 5)");
  p.AddInt("queries", &queries, "single queries timed per searcher (default 100)");
  p.AddString(
      "index_root", &index_root,
      "instead of synthetic data: time the engine over this root (e.g. the demo's var/index) "
      "until every --collection answered a search by --item",
      "ROOT");
  p.AddStringList("collection", &collections, "with --index_root: the collections to wait for",
                  "NAME");
  p.AddInt("item", &item, "with --index_root: the item id searched (default 1)");
  if (int rc = p.ParseOrExitCode(argc, argv, 1, nullptr); rc >= 0) return rc;
  if (!index_root.empty()) {
    if (collections.empty()) {
      std::fprintf(stderr, "--index_root needs at least one --collection\n");
      return 2;
    }
    std::printf("%s: %zu collections, medians of %d runs\n", index_root.c_str(), collections.size(),
                repeat);
    std::printf("%-58s %10s %10s\n", "start to every collection's first answer", "warm ms",
                "cold ms");
    for (const char* verify : {"sizes", "checksums"}) {
      std::vector<double> warm, cold;
      for (int i = 0; i < repeat; ++i) {
        SetCacheTree(index_root, true);
        warm.push_back(EngineToFirstAnswer(engine, index_root, verify, collections, item) * 1e3);
        SetCacheTree(index_root, false);
        cold.push_back(EngineToFirstAnswer(engine, index_root, verify, collections, item) * 1e3);
      }
      std::printf("%-58s %10.1f %10.1f\n",
                  absl::StrCat("simsearch-engine process, --verify ", verify).c_str(), Median(warm),
                  Median(cold));
    }
    return 0;
  }
  if (work.empty()) {
    std::fprintf(stderr, "--work is required (or --index_root)\n");
    return 2;
  }
  if (openblas_set_num_threads != nullptr) openblas_set_num_threads(1);
  fs::create_directories(work);
  const std::string root = work + "/root", faiss_path = work + "/flat.faiss";
  if (!ReadCurrentVersion(root + "/synthetic").ok() || !fs::exists(faiss_path)) {
    std::printf("generating %d x %d vectors...\n", n, d);
    std::mt19937_64 rng(7);
    std::normal_distribution<float> g;
    std::vector<float> x(static_cast<size_t>(n) * d);
    for (float& v : x) v = g(rng);
    std::vector<int64_t> ids(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) ids[i] = i;
    if (!WriteNpyFloat32(work + "/x.npy", x.data(), n, d).ok() ||
        !WriteNpyInt64(work + "/ids.npy", ids.data(), n).ok()) {
      std::fprintf(stderr, "cannot write inputs under %s\n", work.c_str());
      return 1;
    }
    BuildOptions o;
    o.collection = "synthetic";
    o.vectors_path = work + "/x.npy";
    o.ids_path = work + "/ids.npy";
    o.metric = Metric::kInnerProduct;
    o.out_root = root;
    auto r = BuildBundle(o);
    if (!r.ok()) {
      std::fprintf(stderr, "%s\n", std::string(r.status().message()).c_str());
      return 1;
    }
    faiss::IndexFlatIP flat(d);
    flat.add(n, x.data());
    faiss::write_index(&flat, faiss_path.c_str());
    fs::remove(work + "/x.npy");
  }
  const std::string version_dir = root + "/synthetic/" + *ReadCurrentVersion(root + "/synthetic");
  std::vector<float> q(static_cast<size_t>(d), 0.0f);
  for (int j = 0; j < d; ++j) q[j] = static_cast<float>(std::sin(j + 1.0));

  std::printf("\n%d x %d float32 (%.0f MiB), medians of %d runs\n", n, d,
              static_cast<double>(n) * d * 4 / (1 << 20), repeat);
  std::printf("%-58s %10s %10s\n", "start to first answer", "warm ms", "cold ms");
  auto row = [&](const char* name, auto fn) {
    std::vector<double> warm, cold;
    for (int i = 0; i < repeat; ++i) {
      SetCacheTree(work, true);
      warm.push_back(fn() * 1e3);
      SetCacheTree(work, false);
      cold.push_back(fn() * 1e3);
    }
    std::printf("%-58s %10.1f %10.1f\n", name, Median(warm), Median(cold));
  };
  row("simsearch-engine process, --verify sizes (gRPC answer)",
      [&] { return EngineToFirstAnswer(engine, root, "sizes"); });
  row("simsearch-engine process, --verify checksums (gRPC answer)",
      [&] { return EngineToFirstAnswer(engine, root, "checksums"); });
  row("in-process Collection::Open (sizes) + first exact search", [&] {
    const absl::Time t0 = absl::Now();
    CollectionOptions co;
    co.verify = VerifyMode::kSizes;
    auto c = Collection::Open(version_dir, co);
    std::vector<std::vector<Neighbor>> out;
    (*c)->Search(q.data(), 1, 10, nullptr, absl::InfiniteFuture(), &out).IgnoreError();
    return absl::ToDoubleSeconds(absl::Now() - t0);
  });
  row("in-process FAISS read_index(IndexFlatIP) + first search", [&] {
    const absl::Time t0 = absl::Now();
    std::unique_ptr<faiss::Index> idx(faiss::read_index(faiss_path.c_str()));
    std::vector<float> D(10);
    std::vector<idx_t> I(10);
    idx->search(1, q.data(), 10, D.data(), I.data());
    return absl::ToDoubleSeconds(absl::Now() - t0);
  });

  // Exact search, one query at a time, warm.
  SetCacheTree(work, true);
  CollectionOptions co;
  co.verify = VerifyMode::kSizes;
  auto c = Collection::Open(version_dir, co);
  std::unique_ptr<faiss::Index> flat(faiss::read_index(faiss_path.c_str()));
  std::vector<double> ours, theirs;
  std::mt19937_64 rng(3);
  for (int i = 0; i < queries; ++i) {
    const uint32_t r = static_cast<uint32_t>(rng() % static_cast<uint64_t>(n));
    std::vector<std::vector<Neighbor>> out;
    absl::Time t0 = absl::Now();
    (*c)->Search((*c)->vector(r), 1, 10, nullptr, absl::InfiniteFuture(), &out).IgnoreError();
    ours.push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
    std::vector<float> D(10);
    std::vector<idx_t> I(10);
    t0 = absl::Now();
    flat->search(1, (*c)->vector(r), 10, D.data(), I.data());
    theirs.push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
    if (out[0][0].row != static_cast<uint32_t>(I[0]) && out[0][0].score != D[0]) {
      std::fprintf(stderr, "warning: top hit differs for row %u\n", r);
    }
  }
  std::printf("\n%-58s %10s\n", "exact top-10, one query, 1 thread", "median ms");
  std::printf("%-58s %10.2f\n", "simsearch ExactSearcher over the mapped vectors.f32",
              Median(ours));
  std::printf("%-58s %10.2f\n", "FAISS IndexFlatIP (in memory)", Median(theirs));
  return 0;
}

}  // namespace
}  // namespace simsearch

int main(int argc, char** argv) {
  return simsearch::Run(argc, argv);
}
