// simsearch-engine: serves every collection under an index root over gRPC.
#include <signal.h>
#include <pthread.h>

#include <cstdio>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "core/cli.h"
#include "core/mapped_file.h"
#include "engine/engine.h"
#include "engine/registry.h"
#include "engine/service/server.h"

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

constexpr char kUsage[] =
    "simsearch-engine: serves similarity search over gRPC for every collection under\n"
    "--index_root.\n"
    "\n"
    "  simsearch-engine --index_root ROOT [--listen 127.0.0.1:50051]\n"
    "\n"
    "Collections are the directories ROOT/<name>/ written by simsearch-indexer. A new\n"
    "version is picked up by polling (--poll_interval) or on SIGHUP and swapped in\n"
    "without dropping calls; a version that fails to verify is rejected and the old one\n"
    "keeps serving. SIGTERM or SIGINT drains calls in flight and exits.\n"
    "Health: grpc.health.v1.Health. Reflection: grpcurl -plaintext HOST:PORT list";

int main(int argc, char** argv) {
  std::string root, listen = "127.0.0.1:50051", poll_text = "2s", verify = "checksums",
                    grace_text = "10s";
  simsearch::EngineLimits limits;
  simsearch::ServerOptions sopts;
  simsearch::ArgParser p("simsearch-engine", kUsage);
  p.AddString("index_root", &root,
              "directory with one sub-directory per collection, as written by\n"
              "simsearch-indexer --out", "ROOT");
  p.AddString("listen", &listen, "host:port to serve on (port 0 picks a free port, logged)",
              "HOST:PORT");
  p.AddString("poll_interval", &poll_text,
              "how often to look for new versions, e.g. 2s or 500ms; 0 turns polling off\n"
              "(SIGHUP still reloads) (default 2s)", "DURATION");
  p.AddString("verify", &verify,
              "how to verify a bundle before serving it: 'checksums' reads every byte\n"
              "and compares XXH3 checksums; 'sizes' checks file sizes only (faster start\n"
              "for very large collections) (default checksums)", "MODE");
  p.AddInt("max_message_bytes", &sopts.max_message_bytes,
           "largest request accepted; larger ones get RESOURCE_EXHAUSTED (default 4 MiB)");
  p.AddInt("max_k", &limits.max_k, "largest top_k accepted (default 1000)");
  p.AddInt("max_batch", &limits.max_batch, "most queries in one BatchSearch (default 64)");
  p.AddInt("max_ids", &limits.max_ids, "most ids in one request (default 1000)");
  p.AddInt("workers", &sopts.limits.workers,
           "threads that run calls; 0 (default) = one per CPU, at least 2");
  p.AddInt("max_queued", &sopts.limits.max_queued,
           "calls that may wait for a worker; more get RESOURCE_EXHAUSTED at once\n"
           "(default 0 = 64 per worker)");
  int max_response_mib = static_cast<int>(sopts.limits.max_response_bytes >> 20);
  int max_inflight_mib = static_cast<int>(sopts.limits.max_inflight_bytes >> 20);
  p.AddInt("max_response_mib", &max_response_mib,
           "largest answer sent, in MiB; a larger one is an error saying what to lower\n"
           "(default 4: what standard gRPC clients accept)");
  p.AddInt("max_inflight_mib", &max_inflight_mib,
           "answers of the calls in progress (queued, running, or not yet read by\n"
           "their clients; estimated from top_k x queries until known), in MiB; past\n"
           "it, new calls get RESOURCE_EXHAUSTED (default 256)");
  std::string drain_text = "5s", age_text = "0";
  p.AddString("drain_delay", &drain_text,
              "on SIGTERM, how long health says NOT_SERVING while calls are still answered,\n"
              "before the listener closes (so balancers stop sending first); SIGINT skips\n"
              "it (default 5s)", "DURATION");
  p.AddString("max_connection_age", &age_text,
              "close each client connection after this long (its calls get\n"
              "--shutdown_grace to finish), so clients reconnect and L4 balancers spread\n"
              "HTTP/2 connections again, e.g. 5m; 0: never (default 0)", "DURATION");
  p.AddString("shutdown_grace", &grace_text,
              "on SIGTERM/SIGINT, how long calls in flight may take to finish (default 10s)",
              "DURATION");
  p.Require("index_root");
  if (int rc = p.ParseOrExitCode(argc, argv, 1, nullptr); rc >= 0) return rc;
  absl::Status parsed;
  absl::Duration poll, grace, drain_delay, max_age;
  if (!absl::ParseDuration(poll_text, &poll)) {
    parsed = absl::InvalidArgumentError(absl::StrCat("--poll_interval: '", poll_text,
                                                     "' is not a duration (e.g. 2s, 500ms)"));
  }
  if (parsed.ok() && !absl::ParseDuration(grace_text, &grace)) {
    parsed = absl::InvalidArgumentError(absl::StrCat("--shutdown_grace: '", grace_text,
                                                     "' is not a duration (e.g. 10s)"));
  }
  if (parsed.ok() && (!absl::ParseDuration(drain_text, &drain_delay) || drain_delay < absl::ZeroDuration())) {
    parsed = absl::InvalidArgumentError(absl::StrCat("--drain_delay: '", drain_text,
                                                     "' is not a duration >= 0 (e.g. 5s, 0)"));
  }
  if (parsed.ok() && (!absl::ParseDuration(age_text, &max_age) || max_age < absl::ZeroDuration())) {
    parsed = absl::InvalidArgumentError(absl::StrCat("--max_connection_age: '", age_text,
                                                     "' is not a duration >= 0 (e.g. 5m, 0)"));
  }
  simsearch::CollectionOptions copts;
  if (verify == "checksums") {
    copts.verify = simsearch::VerifyMode::kChecksums;
  } else if (verify == "sizes") {
    copts.verify = simsearch::VerifyMode::kSizes;
  } else if (parsed.ok()) {
    parsed = absl::InvalidArgumentError(
        absl::StrCat("--verify must be 'checksums' or 'sizes', got '", verify, "'"));
  }
  if (parsed.ok() && (limits.max_k < 1 || limits.max_batch < 1 || limits.max_ids < 1 ||
                      sopts.max_message_bytes < 1024)) {
    parsed = absl::InvalidArgumentError(
        "--max_k, --max_batch and --max_ids must be >= 1, --max_message_bytes >= 1024");
  }
  if (parsed.ok() && (sopts.limits.workers < 0 || sopts.limits.workers > 1024 ||
                      sopts.limits.max_queued < 0 || max_response_mib < 1 || max_response_mib > 1024 ||
                      max_inflight_mib < 1 || max_inflight_mib > (1 << 20))) {
    parsed = absl::InvalidArgumentError(
        "--workers must be 0-1024, --max_queued >= 0, --max_response_mib 1-1024, "
        "--max_inflight_mib >= 1");
  }
  sopts.limits.max_response_bytes = int64_t{max_response_mib} << 20;
  sopts.limits.max_inflight_bytes = int64_t{max_inflight_mib} << 20;
  if (!parsed.ok()) {
    std::fprintf(stderr, "simsearch-engine: %s\n", std::string(parsed.message()).c_str());
    return 2;
  }
  sopts.listen = listen;
  sopts.max_connection_age = max_age;
  sopts.max_connection_age_grace = grace;
  sopts.ready_at_start = false;
  if (openblas_set_num_threads != nullptr) openblas_set_num_threads(1);
  // A bundle file that shrinks under its mapping must not kill the engine.
  simsearch::InstallMappedFileGuard();

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
  simsearch::Engine engine(&registry, limits);
  // Listen first, NOT_SERVING, then open the bundles: a prober sees "starting", not
  // "connection refused", while large collections load.
  auto server = simsearch::SearchServer::Start(&engine, sopts);
  if (!server.ok()) {
    std::fprintf(stderr, "simsearch-engine: %s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  Log(absl::StrFormat("listening on %d, health NOT_SERVING while the collections open", (*server)->port()));
  auto first = registry.Refresh();
  if (!first.ok()) {
    std::fprintf(stderr, "simsearch-engine: %s\n", std::string(first.status().message()).c_str());
    return 1;
  }
  LogRefresh(first);
  (*server)->MarkReady();
  if (registry.List().empty()) {
    Log(absl::StrCat("warning: no collection under ", root,
                     " could be served yet; health stays NOT_SERVING until one is published"));
  }
  Log(absl::StrFormat("serving %d collection(s) from %s on port %d (ready in %.0f ms)",
                      registry.List().size(), root, (*server)->port(),
                      absl::ToDoubleMilliseconds(absl::Now() - start)));

  simsearch::SearchServer* srv = server->get();
  simsearch::Reloader reloader(&registry, poll > absl::ZeroDuration() ? poll : absl::InfiniteDuration(),
                               [srv](const absl::StatusOr<std::vector<simsearch::RegistryEvent>>& r) {
                                 LogRefresh(r);
                                 srv->UpdateHealth();
                               });

  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      Log("SIGHUP: reloading");
      reloader.Trigger();
      continue;
    }
    if (sig == SIGTERM && drain_delay > absl::ZeroDuration()) {
      Log(absl::StrCat("SIGTERM: health NOT_SERVING; answering for ", absl::FormatDuration(drain_delay),
                       " more, then draining calls in flight and exiting"));
      (*server)->BeginDrain();
      absl::SleepFor(drain_delay);
    }
    Log(absl::StrCat(sig == SIGTERM ? "SIGTERM" : "SIGINT",
                     ": draining calls in flight, then exiting"));
    break;
  }
  reloader.Stop();
  (*server)->Shutdown(grace);
  (*server)->Wait();
  Log("stopped");
  return 0;
}
