// simsearch-lambda: the Lambda function. Run as the container's `bootstrap` it is a
// custom runtime (the Runtime API loop); with --serve-http it serves the same handler
// behind a local HTTP server (a stand-in for API Gateway).
//
// Backend, by environment or flags: INDEX_ROOT / --index_root (the engine library
// in-process over bundles in the image) or ENGINE_ADDR / --engine (a remote
// simsearch-engine over gRPC).
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/cli.h"
#include "core/mapped_file.h"
#include "lambda/backend.h"
#include "lambda/handler.h"
#include "lambda/local_gateway.h"
#include "lambda/runtime.h"
#include "runtime/log.h"

namespace simsearch::lambda {
namespace {

// One line per HTTP request: info, or error with the internal detail of a 5xx.
void LogRequest(const Outcome& o, const std::string& request_id, double ms) {
  const LogLevel level = o.status >= 500 ? LogLevel::kError : LogLevel::kInfo;
  if (!LogEnabled(level)) return;
  Log(level, "request",
      {{"route", o.route.empty() ? "unmatched" : o.route},
       {"status", o.status},
       {"ms", ms},
       {"collection_version", o.collection_version},
       {"request_id", request_id},
       {"detail", o.detail}});
}

std::string Env(const char* name, const std::string& fallback = "") {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

constexpr char kUsage[] =
    "simsearch-lambda: the simsearch AWS Lambda function (API Gateway proxy events).\n"
    "\n"
    "  bootstrap                                   (in Lambda: AWS_LAMBDA_RUNTIME_API set)\n"
    "  simsearch-lambda --serve-http 127.0.0.1:8080 --index_root var/index\n"
    "  simsearch-lambda --serve-http 127.0.0.1:8080 --engine 127.0.0.1:50051\n"
    "\n"
    "Routes: POST /recommend {\"name\"|\"id\"|\"like\"[,\"dislike\"], \"n\", \"collection\"},\n"
    "GET /search?q=&collection=&k=&mode=dense|lexical|hybrid&fusion=convex|rrf,\n"
    "GET /titles?q=, GET /items/{id}, GET /health. Lists leave out adult titles (MAL\n"
    "rating Rx, Hentai, Erotica) unless include_adult, and mature ones too (R+, Yaoi,\n"
    "Yuri) with family_safe and for all-ages anime.\n"
    "Environment: INDEX_ROOT or ENGINE_ADDR (the backend), RECOMMEND_COLLECTION (ncf),\n"
    "SEARCH_COLLECTION (synopsis), VERIFY=checksums (embedded: check every byte at start),\n"
    "ENGINE_TLS_CA (remote over TLS: the engine's CA, PEM file), ENGINE_TLS_SERVER_NAME,\n"
    "ENGINE_TOKEN (bearer token for an engine with --auth_tokens_file).\n"
    "In Lambda, every invocation writes one CloudWatch Embedded Metric Format line on\n"
    "stdout (Route, Status, Latency, request_id, collection_version); with --serve-http,\n"
    "one log line per request on stderr.\n"
    "--serve-http answers HEAD wherever GET; at most 1,024 connections (the longest\n"
    "waiting is closed for a new one), 5 s for a connection that sends nothing, 10 s for a\n"
    "request's head and its body, 64 KiB bodies (docs/RELIABILITY.md, section 10).";

int Run(int argc, char** argv) {
  std::string serve_http, index_root = Env("INDEX_ROOT"), engine = Env("ENGINE_ADDR");
  HandlerOptions ho;
  ho.recommend_collection = Env("RECOMMEND_COLLECTION", ho.recommend_collection);
  ho.search_collection = Env("SEARCH_COLLECTION", ho.search_collection);
  double timeout_s = 10;
  std::string web_root, log_level = "info", log_format = "text";
  ArgParser p("simsearch-lambda", kUsage);
  p.AddString("log_level", &log_level, kLogLevelHelp, "LEVEL");
  p.AddString("log_format", &log_format, kLogFormatHelp, "FORMAT");
  p.AddString("serve-http", &serve_http, "serve the handler over HTTP on host:port (port 0: any)",
              "HOST:PORT");
  p.AddString("index_root", &index_root, "embedded backend: index root (default $INDEX_ROOT)",
              "ROOT");
  p.AddString("engine", &engine, "remote backend: simsearch-engine address (default $ENGINE_ADDR)",
              "HOST:PORT");
  p.AddString("recommend-collection", &ho.recommend_collection,
              "default collection of /recommend and /items", "NAME");
  p.AddString("search-collection", &ho.search_collection, "default collection of /search", "NAME");
  p.AddDouble("timeout", &timeout_s,
              "--serve-http: each request's deadline in seconds (default 10)", "SECONDS");
  p.AddString("web-root", &web_root,
              "--serve-http: serve the website from DIR at / (default: ./web when it holds\n"
              "index.html; 'none': API only)",
              "DIR");
  if (int rc = p.ParseOrExitCode(argc, argv, 1, nullptr); rc >= 0) return rc;
  if (absl::Status st = ConfigureLogFromFlags("simsearch-lambda", log_level, log_format);
      !st.ok()) {
    std::fprintf(stderr, "simsearch-lambda: %s\n", std::string(st.message()).c_str());
    return 2;
  }
  if (web_root.empty() && ::access("web/index.html", R_OK) == 0) web_root = "web";
  if (web_root == "none") web_root.clear();
  if (!web_root.empty() && ::access((web_root + "/index.html").c_str(), R_OK) != 0) {
    std::fprintf(
        stderr,
        "simsearch-lambda: --web-root %s has no index.html; give the folder of the website "
        "(web/ in the source tree) or 'none'\n",
        web_root.c_str());
    return 2;
  }
  const std::string runtime_api = Env("AWS_LAMBDA_RUNTIME_API");
  // Embedded bundles are mapped: one that shrinks on disk must not kill the function.
  InstallMappedFileGuard();
  if (serve_http.empty() && runtime_api.empty()) {
    std::fprintf(stderr,
                 "simsearch-lambda: AWS_LAMBDA_RUNTIME_API is not set: run in Lambda, or use "
                 "--serve-http HOST:PORT (see --help)\n");
    return 2;
  }

  absl::StatusOr<std::unique_ptr<SearchBackend>> backend;
  if (!index_root.empty() && !engine.empty()) {
    backend =
        absl::InvalidArgumentError("set INDEX_ROOT (embedded) or ENGINE_ADDR (remote), not both");
  } else if (!index_root.empty()) {
    backend = MakeEmbeddedBackend(index_root, Env("VERIFY") == "checksums");
  } else if (!engine.empty()) {
    ClientOptions co;
    co.address = engine;
    co.token = Env("ENGINE_TOKEN");
    co.tls_server_name = Env("ENGINE_TLS_SERVER_NAME");
    if (absl::Status st = LoadTlsFiles(Env("ENGINE_TLS_CA"), "", "", &co); !st.ok()) {
      backend = absl::InvalidArgumentError(absl::StrCat("ENGINE_TLS_CA: ", st.message()));
    } else {
      backend = MakeRemoteBackend(co);
    }
  } else {
    backend = absl::InvalidArgumentError(
        "no backend: set INDEX_ROOT (bundles in the image) or ENGINE_ADDR");
  }

  if (!serve_http.empty()) {
    if (!backend.ok()) {
      std::fprintf(stderr, "simsearch-lambda: %s\n",
                   std::string(backend.status().message()).c_str());
      return 1;
    }
    const SearchBackend& b = **backend;
    // SIGINT/SIGTERM are taken by sigwait below; threads started from here inherit the mask.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    // One descriptor a connection: Debian's default soft limit (1,024) is below what a
    // flood opens (http/server.h sheds connections to stay within the limit).
    http::RaiseOpenFileLimit();
    GatewayOptions go;
    go.timeout = absl::Seconds(timeout_s);
    go.max_body_bytes = ho.max_body_bytes;
    go.web_root = web_root;
    auto gateway =
        HttpGateway::Start(serve_http, go, [&](const std::string& event, absl::Time deadline) {
          const absl::Time start = absl::Now();
          Outcome outcome;
          std::string out = HandleEvent(event, Invocation{deadline, ""}, b, ho, &outcome);
          LogRequest(outcome, "", absl::ToDoubleMilliseconds(absl::Now() - start));
          return out;
        });
    if (!gateway.ok()) {
      std::fprintf(stderr, "simsearch-lambda: %s\n",
                   std::string(gateway.status().message()).c_str());
      return 1;
    }
    LogInfo(absl::StrCat(
        "serving ", b.Describe(), " on http://", serve_http.substr(0, serve_http.rfind(':')), ":",
        (*gateway)->port(), "/",
        web_root.empty() ? " (API only, no website)" : absl::StrCat(" (website: ", web_root, ")")));
    int sig = 0;
    while (sigwait(&signals, &sig) != 0) {
    }
    LogInfo(absl::StrCat(sig == SIGTERM ? "SIGTERM" : "SIGINT",
                         ": finishing requests in progress, then exiting"));
    gateway->reset();
    return 0;
  }

  RuntimeApi api(runtime_api);
  if (!backend.ok()) {
    // Lambda reports this as the function's init error.
    (void)api.PostInitError("Runtime.InitError", std::string(backend.status().message()));
    std::fprintf(stderr, "simsearch-lambda: init failed: %s\n",
                 std::string(backend.status().message()).c_str());
    return 1;
  }
  const SearchBackend& b = **backend;
  absl::Status st = RunLoop(api, [&](const NextInvocation& inv) -> absl::StatusOr<std::string> {
    const absl::Time start = absl::Now();
    Outcome outcome;
    std::string out =
        HandleEvent(inv.event, Invocation{inv.deadline, inv.request_id}, b, ho, &outcome);
    const double ms = absl::ToDoubleMilliseconds(absl::Now() - start);
    // The invocation's one line: CloudWatch takes its metrics out of it (EMF), and it
    // is the request's log record.
    std::string line = EmfLine(outcome, inv.request_id, ms, absl::Now());
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
    if (!outcome.detail.empty()) {
      LogError(
          "request failed",
          {{"request_id", inv.request_id}, {"route", outcome.route}, {"detail", outcome.detail}});
    }
    return out;
  });
  std::fprintf(stderr, "simsearch-lambda: runtime API failed: %s\n",
               std::string(st.message()).c_str());
  return 1;
}

}  // namespace
}  // namespace simsearch::lambda

int main(int argc, char** argv) {
  return simsearch::lambda::Run(argc, argv);
}
