// simsearch-engine: serves every collection under an index root over gRPC.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "core/cli.h"
#include "core/file_util.h"
#include "core/log.h"
#include "core/mapped_file.h"
#include "engine/engine.h"
#include "engine/registry.h"
#include "engine/service/auth.h"
#include "engine/service/library_logs.h"
#include "engine/service/metrics.h"
#include "engine/service/server.h"

// OpenBLAS (used by FAISS for batched IVF coarse quantisation) keeps its own thread
// pool; the engine runs one request per thread, so BLAS runs single-threaded.
extern "C" void openblas_set_num_threads(int) __attribute__((weak));

namespace {

using simsearch::LogError;
using simsearch::LogInfo;
using simsearch::LogWarning;

void Log(const std::string& msg) {
  LogInfo(msg);
}

void LogRefresh(const absl::StatusOr<std::vector<simsearch::RegistryEvent>>& r) {
  if (!r.ok()) {
    LogError(absl::StrCat("reload failed: ", r.status().message()));
    return;
  }
  for (const auto& e : *r) {
    const bool bad = e.kind == simsearch::RegistryEvent::Kind::kRejected ||
                     e.kind == simsearch::RegistryEvent::Kind::kDamaged ||
                     e.kind == simsearch::RegistryEvent::Kind::kFallback;
    simsearch::Log(bad ? simsearch::LogLevel::kWarning : simsearch::LogLevel::kInfo,
                   simsearch::DescribeEvent(e));
  }
}

bool IsLoopback(const std::string& listen) {
  return absl::StartsWith(listen, "127.") || absl::StartsWith(listen, "localhost:") ||
         absl::StartsWith(listen, "[::1]:");
}

// A client's string cut to 128 bytes (at a UTF-8 boundary) for a log line.
absl::string_view Clip(absl::string_view s) {
  if (s.size() <= 128) return s;
  size_t cut = 128;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut);
}

// How loud a failed call is: the server's own faults are errors, overload and time-outs
// warnings, a caller's mistake (unknown id, bad argument, no token) information.
simsearch::LogLevel FailureLevel(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::DATA_LOSS:
      return simsearch::LogLevel::kError;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return simsearch::LogLevel::kWarning;
    default:
      return simsearch::LogLevel::kInfo;
  }
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
              "simsearch-indexer --out",
              "ROOT");
  p.AddString("listen", &listen, "host:port to serve on (port 0 picks a free port, logged)",
              "HOST:PORT");
  p.AddString("poll_interval", &poll_text,
              "how often to look for new versions, e.g. 2s or 500ms; 0 turns polling off\n"
              "(SIGHUP still reloads) (default 2s)",
              "DURATION");
  p.AddString("verify", &verify,
              "how to verify a bundle before serving it: 'checksums' reads every byte\n"
              "and compares XXH3 checksums; 'sizes' checks file sizes only (faster start\n"
              "for very large collections) (default checksums)",
              "MODE");
  p.AddInt("max_message_bytes", &sopts.max_message_bytes,
           "largest request accepted; larger ones get RESOURCE_EXHAUSTED (default 4 MiB)");
  p.AddInt("max_k", &limits.max_k, "largest top_k accepted (default 1000)");
  p.AddInt("max_batch", &limits.max_batch, "most queries in one BatchSearch (default 64)");
  p.AddInt("max_ids", &limits.max_ids, "most ids in one request (default 1000)");
  p.AddInt("pollers", &sopts.limits.pollers,
           "threads that read calls from the network and answer the small ones\n"
           "themselves, each with its own gRPC completion queue; 0 (default) = one\n"
           "per CPU this process may run on (taskset, cpuset)");
  p.AddInt("search_batch", &sopts.limits.search_batch,
           "Search calls (by item or vector, on an exact collection) that arrive\n"
           "together on one poller are answered as one batch of at most this many:\n"
           "one pass over the vectors for all, the same answers as alone; no call\n"
           "waits for a timer. 1 = each alone (default 32, at most --max_batch)");
  p.AddInt("workers", &sopts.limits.workers,
           "calls that run at once (on the pollers, or on worker threads for large\n"
           "answers); 0 (default) = one per CPU, at least 2");
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
  std::string metrics_listen, log_level = "info", log_format = "text", tls_cert, tls_key,
                              tls_client_ca, tokens_file;
  int slow_query_ms = 0;
  bool protect_health = false;
  p.AddString("metrics_listen", &metrics_listen,
              "serve Prometheus metrics at http://HOST:PORT/metrics (default: off)", "HOST:PORT");
  p.AddString("log_level", &log_level, simsearch::kLogLevelHelp, "LEVEL");
  p.AddString("log_format", &log_format, simsearch::kLogFormatHelp, "FORMAT");
  p.AddInt("slow_query_ms", &slow_query_ms,
           "log every call that takes longer than this many milliseconds (default 0: off)", "MS");
  p.AddString("tls_cert", &tls_cert, "serve TLS with this certificate (PEM; the chain, leaf first)",
              "FILE");
  p.AddString("tls_key", &tls_key, "the private key of --tls_cert (PEM)", "FILE");
  p.AddString("tls_client_ca", &tls_client_ca,
              "require client certificates signed by this CA (PEM): mutual TLS", "FILE");
  p.AddString("auth_tokens_file", &tokens_file,
              "require 'authorization: Bearer TOKEN' metadata with one of the tokens in FILE\n"
              "(one per line, '#' comments); re-read with every poll and on SIGHUP, and what\n"
              "it holds then is what is accepted: remove a token to revoke it (an empty file\n"
              "refuses every call; a deleted one too, logged as an error). Replace it\n"
              "atomically (write a new file, then mv)",
              "FILE");
  p.AddString("health_listen", &sopts.health_listen,
              "also serve grpc.health.v1 alone (no reflection, no search), in plaintext, on\n"
              "HOST:PORT: for Kubernetes' native gRPC probes, which cannot speak TLS\n"
              "(default: off)",
              "HOST:PORT");
  p.AddBool("protect_health", &protect_health,
            "health checks and reflection need a token too (needs TLS); by default they\n"
            "are public so probes and grpcurl work without one");
  std::string drain_text = "5s", age_text = "0";
  p.AddString("drain_delay", &drain_text,
              "on SIGTERM, how long health says NOT_SERVING while calls are still answered,\n"
              "before the listener closes (so balancers stop sending first); SIGINT skips\n"
              "it (default 5s)",
              "DURATION");
  p.AddString("max_connection_age", &age_text,
              "close each client connection after this long (its calls get\n"
              "--shutdown_grace to finish), so clients reconnect and L4 balancers spread\n"
              "HTTP/2 connections again, e.g. 5m; 0: never (default 0)",
              "DURATION");
  p.AddString("shutdown_grace", &grace_text,
              "on SIGTERM/SIGINT, how long calls in flight may take to finish (default 10s)",
              "DURATION");
  p.Require("index_root");
  if (int rc = p.ParseOrExitCode(argc, argv, 1, nullptr); rc >= 0) return rc;
  absl::Status parsed;
  absl::Duration poll, grace, drain_delay, max_age;
  if (!absl::ParseDuration(poll_text, &poll)) {
    parsed = absl::InvalidArgumentError(
        absl::StrCat("--poll_interval: '", poll_text, "' is not a duration (e.g. 2s, 500ms)"));
  }
  if (parsed.ok() && !absl::ParseDuration(grace_text, &grace)) {
    parsed = absl::InvalidArgumentError(
        absl::StrCat("--shutdown_grace: '", grace_text, "' is not a duration (e.g. 10s)"));
  }
  if (parsed.ok() &&
      (!absl::ParseDuration(drain_text, &drain_delay) || drain_delay < absl::ZeroDuration())) {
    parsed = absl::InvalidArgumentError(
        absl::StrCat("--drain_delay: '", drain_text, "' is not a duration >= 0 (e.g. 5s, 0)"));
  }
  if (parsed.ok() && (!absl::ParseDuration(age_text, &max_age) || max_age < absl::ZeroDuration())) {
    parsed = absl::InvalidArgumentError(
        absl::StrCat("--max_connection_age: '", age_text, "' is not a duration >= 0 (e.g. 5m, 0)"));
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
  if (parsed.ok() && (sopts.limits.pollers < 0 || sopts.limits.pollers > 1024)) {
    parsed = absl::InvalidArgumentError("--pollers must be 0-1024");
  }
  if (parsed.ok() &&
      (sopts.limits.search_batch < 1 || sopts.limits.search_batch > limits.max_batch)) {
    parsed =
        absl::InvalidArgumentError(absl::StrCat("--search_batch must be 1-", limits.max_batch,
                                                " (--max_batch); 1 answers every search alone"));
  }
  if (parsed.ok() &&
      (sopts.limits.workers < 0 || sopts.limits.workers > 1024 || sopts.limits.max_queued < 0 ||
       max_response_mib < 1 || max_response_mib > 1024 || max_inflight_mib < 1 ||
       max_inflight_mib > (1 << 20))) {
    parsed = absl::InvalidArgumentError(
        "--workers must be 0-1024, --max_queued >= 0, --max_response_mib 1-1024, "
        "--max_inflight_mib >= 1");
  }
  sopts.limits.max_response_bytes = int64_t{max_response_mib} << 20;
  sopts.limits.max_inflight_bytes = int64_t{max_inflight_mib} << 20;
  if (parsed.ok())
    parsed = simsearch::ConfigureLogFromFlags("simsearch-engine", log_level, log_format);
  if (parsed.ok() && slow_query_ms < 0)
    parsed = absl::InvalidArgumentError("--slow_query_ms must be >= 0");
  if (parsed.ok() && (tls_cert.empty() != tls_key.empty())) {
    parsed = absl::InvalidArgumentError(
        "--tls_cert and --tls_key go together: give both, or neither for plaintext");
  }
  if (parsed.ok() && !tls_client_ca.empty() && tls_cert.empty()) {
    parsed =
        absl::InvalidArgumentError("--tls_client_ca (mutual TLS) needs --tls_cert and --tls_key");
  }
  if (parsed.ok() && protect_health && (tokens_file.empty() || tls_cert.empty())) {
    parsed = absl::InvalidArgumentError(
        "--protect_health needs --auth_tokens_file and TLS (--tls_cert, --tls_key): gRPC checks "
        "tokens "
        "server-wide only on secure ports");
  }
  if (!parsed.ok()) {
    std::fprintf(stderr, "simsearch-engine: %s\n", std::string(parsed.message()).c_str());
    return 2;
  }
  // libprotobuf's and gRPC's own lines in our format, at most 20 a second: a client can
  // make them log per call (invalid UTF-8 in a string field) before any token check.
  // Never freed: gRPC's threads may log until the process is gone.
  simsearch::RouteLibraryLogs(new simsearch::LogBudget(20, "protobuf/gRPC log"));
  // Files are read (and checked) before anything starts, each error naming its flag.
  for (auto [flag, path, out] :
       {std::tuple{"--tls_cert", &tls_cert, &sopts.tls_cert},
        std::tuple{"--tls_key", &tls_key, &sopts.tls_key},
        std::tuple{"--tls_client_ca", &tls_client_ca, &sopts.tls_client_ca}}) {
    if (path->empty()) continue;
    auto pem = simsearch::ReadPemFile(flag, *path);
    if (!pem.ok()) {
      std::fprintf(stderr, "simsearch-engine: %s\n", std::string(pem.status().message()).c_str());
      return 2;
    }
    *out = std::move(*pem);
  }
  if (absl::Status st =
          simsearch::CheckTlsFiles(sopts.tls_cert, sopts.tls_key, sopts.tls_client_ca);
      !st.ok()) {
    std::fprintf(stderr, "simsearch-engine: %s\n", std::string(st.message()).c_str());
    return 2;
  }
  std::unique_ptr<simsearch::TokenSet> tokens;
  if (!tokens_file.empty()) {
    auto t = simsearch::TokenSet::Load(tokens_file);
    if (!t.ok()) {
      std::fprintf(stderr, "simsearch-engine: --auth_tokens_file: %s\n",
                   std::string(t.status().message()).c_str());
      return 2;
    }
    tokens = std::move(*t);
  }
  sopts.hooks.tokens = tokens.get();
  sopts.protect_health_and_reflection = protect_health;
  if (sopts.tls_cert.empty() && !IsLoopback(listen)) {
    LogWarning(
        absl::StrCat("--listen ", listen,
                     " is not a loopback address and there is no TLS: calls (and tokens) travel in "
                     "plaintext; give --tls_cert and --tls_key"));
  }
  sopts.listen = listen;
  sopts.max_connection_age = max_age;
  sopts.max_connection_age_grace = grace;
  sopts.ready_at_start = false;
  if (openblas_set_num_threads != nullptr) openblas_set_num_threads(1);
  // Debian's abseil is built without NDEBUG, so every absl::Mutex (ours and gRPC's)
  // would keep deadlock-detection bookkeeping (GraphCycles): ~3 % of the engine's CPU
  // under load in a profile. The tests build their own servers and keep it on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
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
  simsearch::EngineMetrics metrics(&engine, start);
  const bool count_calls = !metrics_listen.empty();
  const absl::Duration slow =
      slow_query_ms > 0 ? absl::Milliseconds(slow_query_ms) : absl::InfiniteDuration();
  auto budget = std::make_shared<simsearch::LogBudget>(100, "call log");
  sopts.hooks.on_call = [&metrics, count_calls, slow, budget](const simsearch::CallRecord& call) {
    if (count_calls) metrics.OnCall(call);
    const bool failed = !call.status.ok();
    if (!failed && call.duration <= slow) return;
    const simsearch::LogLevel level =
        failed ? FailureLevel(call.status.error_code()) : simsearch::LogLevel::kWarning;
    if (!simsearch::LogEnabled(level) || !budget->Take()) return;
    simsearch::Log(level, failed ? "call failed" : "slow call",
                   {{"rpc", call.rpc},
                    {"collection", Clip(call.collection)},
                    {"code", simsearch::StatusCodeName(call.status.error_code())},
                    {"ms", absl::ToDoubleMilliseconds(call.duration)},
                    {"peer", call.context->peer()},
                    {"message", call.status.error_message()}});
  };
  // One descriptor a connection: Debian's default soft limit (1,024) would cap the
  // metrics endpoint's and gRPC's connections well below what a flood opens.
  simsearch::http::RaiseOpenFileLimit();
  std::unique_ptr<simsearch::MetricsHttpServer> metrics_server;
  if (count_calls) {
    auto m = simsearch::MetricsHttpServer::Start(metrics_listen, &metrics.registry());
    if (!m.ok()) {
      std::fprintf(stderr, "simsearch-engine: %s\n", std::string(m.status().message()).c_str());
      return 1;
    }
    metrics_server = std::move(*m);
    LogInfo(absl::StrCat("metrics on http://", metrics_listen.substr(0, metrics_listen.rfind(':')),
                         ":", metrics_server->port(), "/metrics"));
  }
  // Listen first, NOT_SERVING, then open the bundles: a prober sees "starting", not
  // "connection refused", while large collections load.
  auto server = simsearch::SearchServer::Start(&engine, sopts);
  if (!server.ok()) {
    std::fprintf(stderr, "simsearch-engine: %s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  metrics.set_service(&(*server)->service());
  Log(absl::StrFormat("listening on %d%s, health NOT_SERVING while the collections open",
                      (*server)->port(),
                      sopts.tls_cert.empty()        ? ""
                      : sopts.tls_client_ca.empty() ? " (TLS)"
                                                    : " (mutual TLS)"));
  if (!sopts.health_listen.empty()) {
    Log(absl::StrFormat("health only (plaintext) on health port %d", (*server)->health_port()));
  }
  auto first = registry.Refresh();
  if (!first.ok()) {
    std::fprintf(stderr, "simsearch-engine: %s\n", std::string(first.status().message()).c_str());
    return 1;
  }
  LogRefresh(first);
  metrics.OnRefresh(*first);
  (*server)->MarkReady();
  if (registry.List().empty()) {
    Log(absl::StrCat("warning: no collection under ", root,
                     " could be served yet; health stays NOT_SERVING until one is published"));
  }
  Log(absl::StrFormat(
      "serving %d collection(s) from %s on port %d (ready in %.0f ms; %d polling threads, "
      "%d calls at once)",
      registry.List().size(), root, (*server)->port(),
      absl::ToDoubleMilliseconds(absl::Now() - start), (*server)->service().limits().pollers,
      (*server)->service().limits().workers));

  simsearch::SearchServer* srv = server->get();
  simsearch::TokenSet* token_set = tokens.get();
  simsearch::Reloader reloader(
      &registry, poll > absl::ZeroDuration() ? poll : absl::InfiniteDuration(),
      [srv, &metrics, token_set, last_token_error = std::string()](
          const absl::StatusOr<std::vector<simsearch::RegistryEvent>>& r) mutable {
        LogRefresh(r);
        if (r.ok()) metrics.OnRefresh(*r);
        srv->UpdateHealth();
        if (token_set != nullptr) {
          auto changed = token_set->Reload();
          const std::string error(changed.ok() ? "" : changed.status().message());
          if (!error.empty() && error != last_token_error) {  // once per new error
            LogError(absl::StrCat(error, absl::IsNotFound(changed.status())
                                             ? "; no token is accepted until it is back"
                                             : "; the tokens in use stay"));
          }
          last_token_error = error;
          if (changed.ok() && *changed && token_set->size() == 0) {
            LogWarning(absl::StrCat("token file reloaded: ", token_set->path(),
                                    " holds no token; every call is refused until one is added"));
          } else if (changed.ok() && *changed) {
            LogInfo(absl::StrCat("token file reloaded: ", token_set->size(), " token(s)"));
          }
        }
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
      Log(absl::StrCat("SIGTERM: health NOT_SERVING; answering for ",
                       absl::FormatDuration(drain_delay),
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
