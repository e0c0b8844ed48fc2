// simsearch-engine: serves every collection under an index root over gRPC.
#include <signal.h>
#include <pthread.h>

#include <cstdio>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "engine/engine.h"
#include "engine/registry.h"
#include "engine/service/server.h"

ABSL_FLAG(std::string, index_root, "", "directory holding one sub-directory per collection "
          "(as written by simsearch-indexer --out); required");
ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "host:port to serve on (port 0 picks a free port, printed at start)");
ABSL_FLAG(absl::Duration, poll_interval, absl::Seconds(2),
          "how often to look for new collection versions; 0 turns polling off (SIGHUP "
          "still reloads)");
ABSL_FLAG(std::string, verify, "checksums",
          "how to verify a bundle before serving it: 'checksums' reads every byte and "
          "compares XXH3 checksums; 'sizes' only checks file sizes (faster start for "
          "very large collections)");
ABSL_FLAG(int, max_message_bytes, 4 << 20, "largest request accepted, in bytes");
ABSL_FLAG(int, max_k, 1000, "largest top_k accepted");
ABSL_FLAG(int, max_batch, 64, "most queries in one BatchSearch");
ABSL_FLAG(int, max_ids, 1000, "most ids in one request");
ABSL_FLAG(int, threads, 0, "most gRPC server threads; 0 keeps gRPC's default");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "on SIGTERM/SIGINT, how long calls in flight may take to finish");

// OpenBLAS (used by FAISS for batched IVF coarse quantisation) keeps its own thread
// pool; the engine runs one request per thread, so BLAS runs single-threaded.
extern "C" void openblas_set_num_threads(int) __attribute__((weak));

namespace {

void Log(const std::string& msg) {
  std::fprintf(stderr, "%s simsearch-engine: %s\n",
               absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()).c_str(),
               msg.c_str());
  std::fflush(stderr);
}

void LogRefresh(const absl::StatusOr<std::vector<simsearch::RegistryEvent>>& r) {
  if (!r.ok()) {
    Log(absl::StrCat("reload failed: ", r.status().message()));
    return;
  }
  for (const auto& e : *r) Log(simsearch::DescribeEvent(e));
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "serves similarity search over gRPC for every collection under --index_root.\n\n"
      "  simsearch-engine --index_root ROOT [--listen 127.0.0.1:50051]\n\n"
      "Collections are the directories ROOT/<name>/ written by simsearch-indexer. A new\n"
      "version is picked up by polling (--poll_interval) or on SIGHUP and swapped in\n"
      "without dropping calls; a version that fails to verify is rejected and the old one\n"
      "keeps serving. SIGTERM or SIGINT drains calls in flight and exits.\n"
      "Health: grpc.health.v1.Health. Reflection: grpcurl -plaintext HOST:PORT list");
  absl::ParseCommandLine(argc, argv);
  const std::string root = absl::GetFlag(FLAGS_index_root);
  if (root.empty()) {
    std::fprintf(stderr, "simsearch-engine: --index_root is required (see --help)\n");
    return 2;
  }
  simsearch::CollectionOptions copts;
  const std::string verify = absl::GetFlag(FLAGS_verify);
  if (verify == "checksums") {
    copts.verify = simsearch::VerifyMode::kChecksums;
  } else if (verify == "sizes") {
    copts.verify = simsearch::VerifyMode::kSizes;
  } else {
    std::fprintf(stderr, "simsearch-engine: --verify must be 'checksums' or 'sizes', got '%s'\n",
                 verify.c_str());
    return 2;
  }
  if (openblas_set_num_threads != nullptr) openblas_set_num_threads(1);

  // Signals are taken by one thread with sigwait; block them everywhere else (threads
  // started from here on inherit the mask).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const absl::Time start = absl::Now();
  simsearch::CollectionRegistry registry(root, copts);
  auto first = registry.Refresh();
  if (!first.ok()) {
    std::fprintf(stderr, "simsearch-engine: %s\n", std::string(first.status().message()).c_str());
    return 1;
  }
  LogRefresh(first);
  if (registry.List().empty()) {
    Log(absl::StrCat("warning: no collection under ", root,
                     " could be served yet; waiting for one to be published"));
  }

  simsearch::EngineLimits limits;
  limits.max_k = absl::GetFlag(FLAGS_max_k);
  limits.max_batch = absl::GetFlag(FLAGS_max_batch);
  limits.max_ids = absl::GetFlag(FLAGS_max_ids);
  simsearch::Engine engine(&registry, limits);

  simsearch::ServerOptions sopts;
  sopts.listen = absl::GetFlag(FLAGS_listen);
  sopts.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  sopts.max_threads = absl::GetFlag(FLAGS_threads);
  auto server = simsearch::SearchServer::Start(&engine, sopts);
  if (!server.ok()) {
    std::fprintf(stderr, "simsearch-engine: %s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  Log(absl::StrFormat("serving %d collection(s) from %s on port %d (ready in %.0f ms)",
                      registry.List().size(), root, (*server)->port(),
                      absl::ToDoubleMilliseconds(absl::Now() - start)));

  const absl::Duration poll = absl::GetFlag(FLAGS_poll_interval);
  simsearch::Reloader reloader(&registry, poll > absl::ZeroDuration() ? poll : absl::InfiniteDuration(),
                               LogRefresh);

  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      Log("SIGHUP: reloading");
      reloader.Trigger();
      continue;
    }
    Log(absl::StrCat(sig == SIGTERM ? "SIGTERM" : "SIGINT",
                     ": draining calls in flight, then exiting"));
    break;
  }
  reloader.Stop();
  (*server)->Shutdown(absl::GetFlag(FLAGS_shutdown_grace));
  (*server)->Wait();
  Log("stopped");
  return 0;
}
