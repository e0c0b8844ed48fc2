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
#include "core/mapped_file.h"
#include "engine/engine.h"
#include "engine/registry.h"
#include "runtime/log.h"
#include "server/auth.h"
#include "server/engine_config.h"
#include "server/library_logs.h"
#include "server/metrics.h"
#include "server/server.h"

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

namespace {

// The flags, with their help, into `f` (server/engine_config.h checks them):
// what is served and how much, then how it is operated and secured.
void AddServingFlags(simsearch::ArgParser* p, simsearch::EngineFlags* f) {
  p->AddString("index_root", &f->index_root,
               "directory with one sub-directory per collection, as written by\n"
               "simsearch-indexer --out",
               "ROOT");
  p->AddString("listen", &f->listen, "host:port to serve on (port 0 picks a free port, logged)",
               "HOST:PORT");
  p->AddString("poll_interval", &f->poll_interval,
               "how often to look for new versions, e.g. 2s or 500ms; 0 turns polling off\n"
               "(SIGHUP still reloads) (default 2s)",
               "DURATION");
  p->AddString("verify", &f->verify,
               "how to verify a bundle before serving it: 'checksums' reads every byte\n"
               "and compares XXH3 checksums; 'sizes' checks file sizes only (faster start\n"
               "for very large collections) (default checksums)",
               "MODE");
  p->AddInt("max_message_bytes", &f->max_message_bytes,
            "largest request accepted; larger ones get RESOURCE_EXHAUSTED (default 4 MiB)");
  p->AddInt("max_k", &f->limits.max_k, "largest top_k accepted (default 1000)");
  p->AddInt("max_batch", &f->limits.max_batch, "most queries in one BatchSearch (default 64)");
  p->AddInt("max_ids", &f->limits.max_ids, "most ids in one request (default 1000)");
  p->AddInt("pollers", &f->service.pollers,
            "threads that read calls from the network and answer the small ones\n"
            "themselves, each with its own gRPC completion queue; 0 (default) = one\n"
            "per CPU this process may run on (taskset, cpuset)");
  p->AddInt("search_batch", &f->service.search_batch,
            "Search calls (by item or vector, on an exact collection) that arrive\n"
            "together on one poller are answered as one batch of at most this many:\n"
            "one pass over the vectors for all, the same answers as alone; no call\n"
            "waits for a timer. 1 = each alone (default 32, at most --max_batch)");
  p->AddInt("workers", &f->service.workers,
            "calls that run at once (on the pollers, or on worker threads for large\n"
            "answers); 0 (default) = one per CPU, at least 2");
  p->AddInt("max_queued", &f->service.max_queued,
            "calls that may wait for a worker; more get RESOURCE_EXHAUSTED at once\n"
            "(default 0 = 64 per worker)");
  p->AddInt("max_response_mib", &f->max_response_mib,
            "largest answer sent, in MiB; a larger one is an error saying what to lower\n"
            "(default 4: what standard gRPC clients accept)");
  p->AddInt("max_inflight_mib", &f->max_inflight_mib,
            "answers of the calls in progress (queued, running, or not yet read by\n"
            "their clients; estimated from top_k x queries until known), in MiB; past\n"
            "it, new calls get RESOURCE_EXHAUSTED (default 256)");
  p->Require("index_root");
}

void AddOperationFlags(simsearch::ArgParser* p, simsearch::EngineFlags* f) {
  p->AddString("metrics_listen", &f->metrics_listen,
               "serve Prometheus metrics at http://HOST:PORT/metrics (default: off)", "HOST:PORT");
  p->AddString("log_level", &f->log_level, simsearch::kLogLevelHelp, "LEVEL");
  p->AddString("log_format", &f->log_format, simsearch::kLogFormatHelp, "FORMAT");
  p->AddInt("slow_query_ms", &f->slow_query_ms,
            "log every call that takes longer than this many milliseconds (default 0: off)", "MS");
  p->AddString("tls_cert", &f->tls_cert,
               "serve TLS with this certificate (PEM; the chain, leaf first)", "FILE");
  p->AddString("tls_key", &f->tls_key, "the private key of --tls_cert (PEM)", "FILE");
  p->AddString("tls_client_ca", &f->tls_client_ca,
               "require client certificates signed by this CA (PEM): mutual TLS", "FILE");
  p->AddString("auth_tokens_file", &f->auth_tokens_file,
               "require 'authorization: Bearer TOKEN' metadata with one of the tokens in FILE\n"
               "(one per line, '#' comments); re-read with every poll and on SIGHUP, and what\n"
               "it holds then is what is accepted: remove a token to revoke it (an empty file\n"
               "refuses every call; a deleted one too, logged as an error). Replace it\n"
               "atomically (write a new file, then mv)",
               "FILE");
  p->AddString("health_listen", &f->health_listen,
               "also serve grpc.health.v1 alone (no reflection, no search), in plaintext, on\n"
               "HOST:PORT: for Kubernetes' native gRPC probes, which cannot speak TLS\n"
               "(default: off)",
               "HOST:PORT");
  p->AddBool("protect_health", &f->protect_health,
             "health checks and reflection need a token too (needs TLS); by default they\n"
             "are public so probes and grpcurl work without one");
  p->AddString("drain_delay", &f->drain_delay,
               "on SIGTERM, how long health says NOT_SERVING while calls are still answered,\n"
               "before the listener closes (so balancers stop sending first); SIGINT skips\n"
               "it (default 5s)",
               "DURATION");
  p->AddString("max_connection_age", &f->max_connection_age,
               "close each client connection after this long (its calls get\n"
               "--shutdown_grace to finish), so clients reconnect and L4 balancers spread\n"
               "HTTP/2 connections again, e.g. 5m; 0: never (default 0)",
               "DURATION");
  p->AddString("shutdown_grace", &f->shutdown_grace,
               "on SIGTERM/SIGINT, how long calls in flight may take to finish (default 10s)",
               "DURATION");
}

int Fail(const absl::Status& status, int code) {
  std::fprintf(stderr, "simsearch-engine: %s\n", std::string(status.message()).c_str());
  return code;
}

// Process-wide settings, before any thread starts: they are inherited or read by all.
sigset_t PrepareProcess() {
  // libprotobuf's and gRPC's own lines in our format, at most 20 a second: a client can
  // make them log per call (invalid UTF-8 in a string field) before any token check.
  // Never freed: gRPC's threads may log until the process is gone.
  simsearch::RouteLibraryLogs(new simsearch::LogBudget(20, "protobuf/gRPC log"));
  if (openblas_set_num_threads != nullptr) openblas_set_num_threads(1);
  // Debian's abseil is built without NDEBUG, so every absl::Mutex (ours and gRPC's)
  // would keep deadlock-detection bookkeeping (GraphCycles): ~3 % of the engine's CPU
  // under load in a profile. The tests build their own servers and keep it on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // A bundle file that shrinks under its mapping must not kill the engine.
  simsearch::InstallMappedFileGuard();
  // One descriptor a connection: Debian's default soft limit (1,024) would cap the
  // metrics endpoint's and gRPC's connections well below what a flood opens.
  simsearch::http::RaiseOpenFileLimit();
  // Signals are taken by one thread with sigwait; block them everywhere else (threads
  // started from here on inherit the mask).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

// Every finished call: counted when metrics are served; logged when it failed or was
// slow, at most 100 lines a second.
simsearch::CallObserver CallHook(simsearch::EngineMetrics* metrics, bool count_calls,
                                 absl::Duration slow) {
  auto budget = std::make_shared<simsearch::LogBudget>(100, "call log");
  return [metrics, count_calls, slow, budget](const simsearch::CallRecord& call) {
    if (count_calls) metrics->OnCall(call);
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
}

// After each reload: log it, count it, update health, and re-read the token file
// (logging a new error once, not at every poll).
class AfterRefresh {
 public:
  AfterRefresh(simsearch::SearchServer* server, simsearch::EngineMetrics* metrics,
               simsearch::TokenSet* tokens)
      : server_(server), metrics_(metrics), tokens_(tokens) {}

  void operator()(const absl::StatusOr<std::vector<simsearch::RegistryEvent>>& r) {
    LogRefresh(r);
    if (r.ok()) metrics_->OnRefresh(*r);
    server_->UpdateHealth();
    if (tokens_ != nullptr) ReloadTokens();
  }

 private:
  void ReloadTokens() {
    auto changed = tokens_->Reload();
    const std::string error(changed.ok() ? "" : changed.status().message());
    if (!error.empty() && error != last_token_error_) {
      LogError(absl::StrCat(error, absl::IsNotFound(changed.status())
                                       ? "; no token is accepted until it is back"
                                       : "; the tokens in use stay"));
    }
    last_token_error_ = error;
    if (changed.ok() && *changed && tokens_->size() == 0) {
      LogWarning(absl::StrCat("token file reloaded: ", tokens_->path(),
                              " holds no token; every call is refused until one is added"));
    } else if (changed.ok() && *changed) {
      LogInfo(absl::StrCat("token file reloaded: ", tokens_->size(), " token(s)"));
    }
  }

  simsearch::SearchServer* server_;
  simsearch::EngineMetrics* metrics_;
  simsearch::TokenSet* tokens_;
  std::string last_token_error_;
};

// Blocks until SIGTERM or SIGINT; SIGHUP reloads. SIGTERM first drains for
// `drain_delay` (health NOT_SERVING, calls still answered).
void WaitForStop(const sigset_t& signals, simsearch::SearchServer* server,
                 simsearch::Reloader* reloader, absl::Duration drain_delay) {
  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      Log("SIGHUP: reloading");
      reloader->Trigger();
      continue;
    }
    if (sig == SIGTERM && drain_delay > absl::ZeroDuration()) {
      Log(absl::StrCat("SIGTERM: health NOT_SERVING; answering for ",
                       absl::FormatDuration(drain_delay),
                       " more, then draining calls in flight and exiting"));
      server->BeginDrain();
      absl::SleepFor(drain_delay);
    }
    Log(absl::StrCat(sig == SIGTERM ? "SIGTERM" : "SIGINT",
                     ": draining calls in flight, then exiting"));
    return;
  }
}

void LogListening(const simsearch::SearchServer& server, const simsearch::ServerOptions& o) {
  Log(absl::StrFormat("listening on %d%s, health NOT_SERVING while the collections open",
                      server.port(),
                      o.tls_cert.empty()        ? ""
                      : o.tls_client_ca.empty() ? " (TLS)"
                                                : " (mutual TLS)"));
  if (!o.health_listen.empty()) {
    Log(absl::StrFormat("health only (plaintext) on health port %d", server.health_port()));
  }
}

// Listens first, NOT_SERVING, then opens the bundles (a prober sees "starting", not
// "connection refused", while large collections load); serves until a stop signal.
int Serve(simsearch::EngineConfig& c, const sigset_t& signals) {
  if (c.server.tls_cert.empty() && !IsLoopback(c.server.listen)) {
    LogWarning(absl::StrCat("--listen ", c.server.listen,
                            " is not a loopback address and there is no TLS: calls (and tokens) "
                            "travel in plaintext; give --tls_cert and --tls_key"));
  }
  const absl::Time start = absl::Now();
  simsearch::CollectionRegistry registry(c.index_root, c.collections);
  simsearch::Engine engine(&registry, c.limits);
  simsearch::EngineMetrics metrics(&engine, start);
  const bool count_calls = !c.metrics_listen.empty();
  c.server.hooks.on_call = CallHook(&metrics, count_calls, c.slow_query);
  std::unique_ptr<simsearch::MetricsHttpServer> metrics_server;
  if (count_calls) {
    auto m = simsearch::MetricsHttpServer::Start(c.metrics_listen, &metrics.registry());
    if (!m.ok()) return Fail(m.status(), 1);
    metrics_server = std::move(*m);
    LogInfo(absl::StrCat("metrics on http://",
                         c.metrics_listen.substr(0, c.metrics_listen.rfind(':')), ":",
                         metrics_server->port(), "/metrics"));
  }
  auto server = simsearch::SearchServer::Start(&engine, c.server);
  if (!server.ok()) return Fail(server.status(), 1);
  metrics.set_service(&(*server)->service());
  LogListening(**server, c.server);
  auto first = registry.Refresh();
  if (!first.ok()) return Fail(first.status(), 1);
  LogRefresh(first);
  metrics.OnRefresh(*first);
  (*server)->MarkReady();
  if (registry.List().empty()) {
    Log(absl::StrCat("warning: no collection under ", c.index_root,
                     " could be served yet; health stays NOT_SERVING until one is published"));
  }
  Log(absl::StrFormat(
      "serving %d collection(s) from %s on port %d (ready in %.0f ms; %d polling threads, "
      "%d calls at once)",
      registry.List().size(), c.index_root, (*server)->port(),
      absl::ToDoubleMilliseconds(absl::Now() - start), (*server)->service().limits().pollers,
      (*server)->service().limits().workers));
  simsearch::Reloader reloader(&registry, c.poll_interval,
                               AfterRefresh(server->get(), &metrics, c.tokens.get()));
  WaitForStop(signals, server->get(), &reloader, c.drain_delay);
  reloader.Stop();
  (*server)->Shutdown(c.shutdown_grace);
  (*server)->Wait();
  Log("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  simsearch::EngineFlags flags;
  simsearch::ArgParser p("simsearch-engine", kUsage);
  AddServingFlags(&p, &flags);
  AddOperationFlags(&p, &flags);
  if (int rc = p.ParseOrExitCode(argc, argv, 1, nullptr); rc >= 0) return rc;
  auto config = simsearch::ConfigureEngine(flags);
  if (!config.ok()) return Fail(config.status(), 2);
  if (absl::Status st =
          simsearch::ConfigureLogFromFlags("simsearch-engine", flags.log_level, flags.log_format);
      !st.ok()) {
    return Fail(st, 2);
  }
  const sigset_t signals = PrepareProcess();
  return Serve(*config, signals);
}
