// simsearch-burst: what one client's burst costs the engine. Sends --calls concurrent
// BatchSearch calls of --queries random vectors x --top_k, --rounds times, while
// sampling the engine's resident memory and thread count from /proc/PID/status;
// reports them before, at the peak and --settle after the burst, with the calls'
// status codes. docs/RELIABILITY.md quotes it.
//
//   simsearch-burst --server 127.0.0.1:50051 --pid $(pidof simsearch-engine)
//       --collection ncf --calls 100 --queries 64 --top_k 1000
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "core/cli.h"
#include "simsearch/v1/simsearch.grpc.pb.h"

namespace simsearch {
namespace {

struct ProcSample {
  int64_t rss_kib = 0;
  int threads = 0;
};

ProcSample ReadProc(int pid) {
  std::ifstream f(absl::StrCat("/proc/", pid, "/status"));
  ProcSample s;
  std::string key;
  while (f >> key) {
    if (key == "VmRSS:") f >> s.rss_kib;
    if (key == "Threads:") f >> s.threads;
  }
  return s;
}

int Run(int argc, char** argv) {
  std::string server = "127.0.0.1:50051", collection, settle_text = "5s";
  int pid = 0, calls = 100, queries = 64, top_k = 1000, rounds = 1;
  ArgParser p("simsearch-burst",
              "simsearch-burst: concurrent BatchSearch bursts against an engine, with the\n"
              "engine's memory and threads sampled from /proc (same machine).");
  p.AddString("server", &server, "engine address (default 127.0.0.1:50051)", "HOST:PORT");
  p.AddInt("pid", &pid, "the engine's process id (for /proc/PID/status)");
  p.AddString("collection", &collection, "collection to query", "NAME");
  p.AddInt("calls", &calls, "concurrent calls per round (default 100)");
  p.AddInt("queries", &queries, "queries per call (default 64)");
  p.AddInt("top_k", &top_k, "top_k (default 1000)");
  p.AddInt("rounds", &rounds, "bursts, one after the other (default 1)");
  p.AddString("settle", &settle_text,
              "wait after the last burst before the final sample (default 5s)", "DURATION");
  p.Require("pid");
  p.Require("collection");
  if (int rc = p.ParseOrExitCode(argc, argv, 1, nullptr); rc >= 0) return rc;
  absl::Duration settle;
  if (!absl::ParseDuration(settle_text, &settle) || calls < 1 || queries < 1 || rounds < 1) {
    std::fprintf(stderr, "simsearch-burst: bad --settle, --calls, --queries or --rounds\n");
    return 2;
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  auto stub = v1::SimSearch::NewStub(
      grpc::CreateCustomChannel(server, grpc::InsecureChannelCredentials(), args));
  v1::DescribeCollectionRequest dreq;
  dreq.set_collection(collection);
  v1::DescribeCollectionResponse dresp;
  grpc::ClientContext dctx;
  if (grpc::Status st = stub->DescribeCollection(&dctx, dreq, &dresp); !st.ok()) {
    std::fprintf(stderr, "simsearch-burst: %s\n", st.error_message().c_str());
    return 1;
  }
  const int dims = dresp.info().dims();

  std::atomic<bool> sampling{true};
  ProcSample before = ReadProc(pid), peak = before;
  absl::Mutex peak_mu;
  std::thread sampler([&] {
    while (sampling.load()) {
      ProcSample s = ReadProc(pid);
      {
        absl::MutexLock lock(&peak_mu);
        peak.rss_kib = std::max(peak.rss_kib, s.rss_kib);
        peak.threads = std::max(peak.threads, s.threads);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });

  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  v1::BatchSearchRequest req;
  req.set_collection(collection);
  req.set_top_k(top_k);
  for (int q = 0; q < queries; ++q) {
    auto* v = req.add_queries()->mutable_vector();
    for (int j = 0; j < dims; ++j) v->add_values(normal(rng));
  }
  std::map<std::string, int> codes;
  int64_t bytes = 0;
  absl::Mutex mu;
  const absl::Time start = absl::Now();
  for (int r = 0; r < rounds; ++r) {
    std::vector<std::unique_ptr<grpc::ClientContext>> ctxs(static_cast<size_t>(calls));
    std::vector<v1::BatchSearchResponse> resps(static_cast<size_t>(calls));
    std::atomic<int> left{calls};
    absl::Notification done;
    for (int i = 0; i < calls; ++i) {
      ctxs[i] = std::make_unique<grpc::ClientContext>();
      ctxs[i]->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
      stub->async()->BatchSearch(ctxs[i].get(), &req, &resps[i], [&, i](grpc::Status st) {
        {
          absl::MutexLock lock(&mu);
          codes[st.ok() ? "OK" : absl::StrCat(st.error_code())]++;
          if (st.ok()) bytes += static_cast<int64_t>(resps[i].ByteSizeLong());
        }
        if (left.fetch_sub(1) == 1) done.Notify();
      });
    }
    done.WaitForNotification();
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  ProcSample burst_peak;
  {
    absl::MutexLock lock(&peak_mu);
    burst_peak = peak;
  }
  absl::SleepFor(settle);
  sampling.store(false);
  sampler.join();
  const ProcSample after = ReadProc(pid);
  std::printf("calls %d x %d rounds (%d queries x top_k %d) in %.2f s; answers %.1f MiB\n", calls,
              rounds, queries, top_k, seconds, static_cast<double>(bytes) / (1 << 20));
  std::printf("status:");
  for (const auto& [code, n] : codes) std::printf(" %s=%d", code.c_str(), n);
  std::printf("  (8 = RESOURCE_EXHAUSTED)\n");
  std::printf("engine RSS MiB: before %.0f, peak %.0f, %s after %.0f\n", before.rss_kib / 1024.0,
              burst_peak.rss_kib / 1024.0, settle_text.c_str(), after.rss_kib / 1024.0);
  std::printf("engine threads: before %d, peak %d, after %d\n", before.threads, burst_peak.threads,
              after.threads);
  return 0;
}

}  // namespace
}  // namespace simsearch

int main(int argc, char** argv) {
  return simsearch::Run(argc, argv);
}
