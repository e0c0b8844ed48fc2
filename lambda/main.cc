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

// The command line, with its defaults from the environment.
struct Flags {
  std::string serve_http, index_root = Env("INDEX_ROOT"), engine = Env("ENGINE_ADDR");
  HandlerOptions ho;
  double timeout_s = 10;
  std::string web_root, log_level = "info", log_format = "text";
};

// Parses the command line into `f`; an exit code when the program is done (--help, a
// usage error), else -1.
int ParseFlags(int argc, char** argv, Flags* f) {
  f->ho.recommend_collection = Env("RECOMMEND_COLLECTION", f->ho.recommend_collection);
  f->ho.search_collection = Env("SEARCH_COLLECTION", f->ho.search_collection);
  ArgParser p("simsearch-lambda", kUsage);
  p.AddString("log_level", &f->log_level, kLogLevelHelp, "LEVEL");
  p.AddString("log_format", &f->log_format, kLogFormatHelp, "FORMAT");
  p.AddString("serve-http", &f->serve_http,
              "serve the handler over HTTP on host:port (port 0: any)", "HOST:PORT");
  p.AddString("index_root", &f->index_root, "embedded backend: index root (default $INDEX_ROOT)",
              "ROOT");
  p.AddString("engine", &f->engine,
              "remote backend: simsearch-engine address (default $ENGINE_ADDR)", "HOST:PORT");
  p.AddString("recommend-collection", &f->ho.recommend_collection,
              "default collection of /recommend and /items", "NAME");
  p.AddString("search-collection", &f->ho.search_collection, "default collection of /search",
              "NAME");
  p.AddDouble("timeout", &f->timeout_s,
              "--serve-http: each request's deadline in seconds (default 10)", "SECONDS");
  p.AddString("web-root", &f->web_root,
              "--serve-http: serve the website from DIR at / (default: ./web when it holds\n"
              "index.html; 'none': API only)",
              "DIR");
  return p.ParseOrExitCode(argc, argv, 1, nullptr);
}

// Resolves --web-root: ./web by default when it holds index.html, empty for 'none';
// false (said on stderr) when the folder has no index.html.
bool ResolveWebRoot(std::string* web_root) {
  if (web_root->empty() && ::access("web/index.html", R_OK) == 0) *web_root = "web";
  if (*web_root == "none") web_root->clear();
  if (!web_root->empty() && ::access((*web_root + "/index.html").c_str(), R_OK) != 0) {
    std::fprintf(
        stderr,
        "simsearch-lambda: --web-root %s has no index.html; give the folder of the website "
        "(web/ in the source tree) or 'none'\n",
        web_root->c_str());
    return false;
  }
  return true;
}

// The backend: embedded over `index_root`, or remote to `engine` (one of them).
absl::StatusOr<std::unique_ptr<SearchBackend>> MakeBackend(const std::string& index_root,
                                                           const std::string& engine) {
  if (!index_root.empty() && !engine.empty()) {
    return absl::InvalidArgumentError(
        "set INDEX_ROOT (embedded) or ENGINE_ADDR (remote), not both");
  }
  if (!index_root.empty()) return MakeEmbeddedBackend(index_root, Env("VERIFY") == "checksums");
  if (engine.empty()) {
    return absl::InvalidArgumentError(
        "no backend: set INDEX_ROOT (bundles in the image) or ENGINE_ADDR");
  }
  ClientOptions co;
  co.address = engine;
  co.token = Env("ENGINE_TOKEN");
  co.tls_server_name = Env("ENGINE_TLS_SERVER_NAME");
  if (absl::Status st = LoadTlsFiles(Env("ENGINE_TLS_CA"), "", "", &co); !st.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("ENGINE_TLS_CA: ", st.message()));
  }
  return MakeRemoteBackend(co);
}

// --serve-http: the handler behind a local HTTP server until SIGINT or SIGTERM; the
// exit code.
int ServeHttp(const Flags& f, const SearchBackend& b) {
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
  go.timeout = absl::Seconds(f.timeout_s);
  go.max_body_bytes = f.ho.max_body_bytes;
  go.web_root = f.web_root;
  auto gateway =
      HttpGateway::Start(f.serve_http, go, [&](const std::string& event, absl::Time deadline) {
        const absl::Time start = absl::Now();
        Outcome outcome;
        std::string out = HandleEvent(event, Invocation{deadline, ""}, b, f.ho, &outcome);
        LogRequest(outcome, "", absl::ToDoubleMilliseconds(absl::Now() - start));
        return out;
      });
  if (!gateway.ok()) {
    std::fprintf(stderr, "simsearch-lambda: %s\n", std::string(gateway.status().message()).c_str());
    return 1;
  }
  LogInfo(absl::StrCat("serving ", b.Describe(), " on http://",
                       f.serve_http.substr(0, f.serve_http.rfind(':')), ":", (*gateway)->port(),
                       "/",
                       f.web_root.empty() ? " (API only, no website)"
                                          : absl::StrCat(" (website: ", f.web_root, ")")));
  int sig = 0;
  while (sigwait(&signals, &sig) != 0) {
  }
  LogInfo(absl::StrCat(sig == SIGTERM ? "SIGTERM" : "SIGINT",
                       ": finishing requests in progress, then exiting"));
  gateway->reset();
  return 0;
}

// In Lambda: the Runtime API loop at `runtime_api` (a backend that failed is reported
// as the function's init error); the exit code.
int ServeRuntimeApi(const std::string& runtime_api,
                    const absl::StatusOr<std::unique_ptr<SearchBackend>>& backend,
                    const HandlerOptions& ho) {
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

int Run(int argc, char** argv) {
  Flags f;
  if (int rc = ParseFlags(argc, argv, &f); rc >= 0) return rc;
  if (absl::Status st = ConfigureLogFromFlags("simsearch-lambda", f.log_level, f.log_format);
      !st.ok()) {
    std::fprintf(stderr, "simsearch-lambda: %s\n", std::string(st.message()).c_str());
    return 2;
  }
  if (!ResolveWebRoot(&f.web_root)) return 2;
  const std::string runtime_api = Env("AWS_LAMBDA_RUNTIME_API");
  // Embedded bundles are mapped: one that shrinks on disk must not kill the function.
  InstallMappedFileGuard();
  if (f.serve_http.empty() && runtime_api.empty()) {
    std::fprintf(stderr,
                 "simsearch-lambda: AWS_LAMBDA_RUNTIME_API is not set: run in Lambda, or use "
                 "--serve-http HOST:PORT (see --help)\n");
    return 2;
  }
  const absl::StatusOr<std::unique_ptr<SearchBackend>> backend =
      MakeBackend(f.index_root, f.engine);
  if (f.serve_http.empty()) return ServeRuntimeApi(runtime_api, backend, f.ho);
  if (!backend.ok()) {
    std::fprintf(stderr, "simsearch-lambda: %s\n", std::string(backend.status().message()).c_str());
    return 1;
  }
  return ServeHttp(f, **backend);
}

}  // namespace
}  // namespace simsearch::lambda

int main(int argc, char** argv) {
  return simsearch::lambda::Run(argc, argv);
}
