#include "server/metrics.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "http/server.h"

#ifndef SIMSEARCH_VERSION
#define SIMSEARCH_VERSION "dev"
#endif

namespace simsearch {

const char* StatusCodeName(grpc::StatusCode code) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  const int c = static_cast<int>(code);
  return c >= 0 && c < 17 ? kNames[c] : "UNKNOWN";
}

namespace {

// Resident memory and CPU time of this process, from /proc.
void ProcessStats(double* rss_bytes, double* cpu_seconds) {
  *rss_bytes = 0;
  *cpu_seconds = 0;
  std::ifstream statm("/proc/self/statm");
  uint64_t pages = 0, resident = 0;
  if (statm >> pages >> resident)
    *rss_bytes = static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
  std::ifstream stat("/proc/self/stat");
  std::string line;
  if (std::getline(stat, line)) {
    // Fields after the command name (which may hold spaces) start after ") ".
    const size_t close = line.rfind(')');
    if (close == std::string::npos) return;
    std::vector<absl::string_view> f =
        absl::StrSplit(absl::string_view(line).substr(close + 2), ' ');
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 here (0-based 11, 12).
    uint64_t utime = 0, stime = 0;
    if (f.size() > 12 && absl::SimpleAtoi(f[11], &utime) && absl::SimpleAtoi(f[12], &stime)) {
      *cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
    }
  }
}

}  // namespace

EngineMetrics::EngineMetrics(const Engine* engine, absl::Time process_start)
    : engine_(engine), start_(process_start) {
  requests_ =
      registry_.AddCounter("simsearch_requests_total",
                           "SimSearch calls answered, by RPC, collection and gRPC status code.",
                           {"rpc", "collection", "code"});
  latency_ = registry_.AddHistogram(
      "simsearch_request_duration_seconds",
      "Time from a call's arrival to its answer (queueing included), by RPC and collection.",
      {"rpc", "collection"});
  batched_ = registry_.AddCounter(
      "simsearch_batched_searches_total",
      "Search calls answered in a batch with other calls that arrived together (--search_batch).",
      {"collection"});
  reloads_ =
      registry_.AddCounter("simsearch_collection_reloads_total",
                           "Versions opened and swapped in (first load included).", {"collection"});
  rejected_ = registry_.AddCounter(
      "simsearch_collection_versions_rejected_total",
      "Versions that failed to open or verify (or were damaged on disk while served), by reason "
      "(the error's status code, lower case).",
      {"collection", "reason"});
  registry_.AddCollector([this](GaugeWriter* w) { Collect(w); });
}

bool EngineMetrics::Known(absl::string_view collection) const {
  absl::ReaderMutexLock lock(&mu_);
  return known_.contains(collection);
}

void EngineMetrics::OnCall(const CallRecord& call) {
  absl::string_view collection = call.collection;
  if (!collection.empty() && !Known(collection)) collection = "_unknown";
  requests_->With({call.rpc, collection, StatusCodeName(call.status.error_code())})->Add();
  latency_->With({call.rpc, collection})->Observe(absl::ToDoubleSeconds(call.duration));
  if (call.batch > 1) batched_->With({collection})->Add();
}

void EngineMetrics::OnRefresh(const std::vector<RegistryEvent>& events) {
  const absl::Time now = absl::Now();
  absl::MutexLock lock(&mu_);
  for (const RegistryEvent& e : events) {
    known_.insert(e.collection);
    switch (e.kind) {
      case RegistryEvent::Kind::kLoaded:
      case RegistryEvent::Kind::kReplaced:
      case RegistryEvent::Kind::kFallback:
        reloads_->With({e.collection})->Add();
        last_reload_[e.collection] = now;
        if (e.kind == RegistryEvent::Kind::kFallback && !e.status.ok()) {
          rejected_
              ->With(
                  {e.collection, absl::AsciiStrToLower(absl::StatusCodeToString(e.status.code()))})
              ->Add();
        }
        break;
      case RegistryEvent::Kind::kRejected:
      case RegistryEvent::Kind::kDamaged:
        rejected_
            ->With({e.collection, absl::AsciiStrToLower(absl::StatusCodeToString(e.status.code()))})
            ->Add();
        break;
      case RegistryEvent::Kind::kRemoved:
        break;
    }
  }
}

void EngineMetrics::Collect(GaugeWriter* w) const {
  const auto collections = engine_->ListCollections();
  w->Begin("simsearch_collection_info", "1 for the version each collection serves.");
  for (const auto& c : collections)
    w->Sample("simsearch_collection_info", {{"collection", c->name()}, {"version", c->version()}},
              1);
  w->Begin("simsearch_collection_items", "Items (vectors) the served version holds.");
  for (const auto& c : collections)
    w->Sample("simsearch_collection_items", {{"collection", c->name()}},
              static_cast<double>(c->count()));
  w->Begin("simsearch_collection_dims", "Vector dimensions of the served version.");
  for (const auto& c : collections)
    w->Sample("simsearch_collection_dims", {{"collection", c->name()}},
              static_cast<double>(c->dims()));
  w->Begin("simsearch_collection_mapped_bytes",
           "Bytes of the served version's files, mapped into memory (HNSW graphs are read in).");
  for (const auto& c : collections) {
    double bytes = 0;
    for (const FileDigest& f : c->manifest().files) bytes += static_cast<double>(f.bytes);
    w->Sample("simsearch_collection_mapped_bytes", {{"collection", c->name()}}, bytes);
  }
  w->Begin("simsearch_collection_last_reload_timestamp_seconds",
           "Unix time the served version was swapped in.");
  for (const auto& c : collections) {
    w->Sample("simsearch_collection_last_reload_timestamp_seconds", {{"collection", c->name()}},
              absl::ToDoubleSeconds(c->loaded_at() - absl::UnixEpoch()));
  }
  w->Begin("simsearch_text_cache_hits_total",
           "Text queries whose encoding came from the served version's cache (reset at a reload).",
           "counter");
  std::vector<std::pair<std::string, Collection::TextCacheStats>> text;
  for (const auto& c : collections) {
    if (c->encoder() != nullptr) text.emplace_back(c->name(), c->text_cache_stats());
  }
  for (const auto& [name, s] : text) {
    w->Sample("simsearch_text_cache_hits_total", {{"collection", name}},
              static_cast<double>(s.hits));
  }
  w->Begin("simsearch_text_cache_misses_total",
           "Text queries the served version's encoder had to encode (reset at a reload).",
           "counter");
  for (const auto& [name, s] : text) {
    w->Sample("simsearch_text_cache_misses_total", {{"collection", name}},
              static_cast<double>(s.misses));
  }
  w->Begin("simsearch_text_cache_entries", "Encoded texts the served version's cache holds.");
  for (const auto& [name, s] : text) {
    w->Sample("simsearch_text_cache_entries", {{"collection", name}},
              static_cast<double>(s.entries));
  }
  const SimSearchService* service = service_.load();
  w->Begin("simsearch_requests_in_flight",
           "Calls admitted and not yet done (queued, running or sending).");
  w->Sample("simsearch_requests_in_flight", {},
            service ? static_cast<double>(service->calls_in_flight()) : 0);
  w->Begin("simsearch_build_info", "1, with the build's version (git describe at configure time).");
  w->Sample("simsearch_build_info", {{"version", SIMSEARCH_VERSION}}, 1);
  double rss = 0, cpu = 0;
  ProcessStats(&rss, &cpu);
  w->Begin("process_start_time_seconds", "Unix time the process started.");
  w->Sample("process_start_time_seconds", {}, absl::ToDoubleSeconds(start_ - absl::UnixEpoch()));
  w->Begin("process_resident_memory_bytes", "Resident memory of the process.");
  w->Sample("process_resident_memory_bytes", {}, rss);
  w->Begin("process_cpu_seconds_total", "CPU time (user and system) of the process.", "counter");
  w->Sample("process_cpu_seconds_total", {}, cpu);
}

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const std::string& listen, const MetricsRegistry* registry) {
  http::ServerOptions o;
  o.flag = "--metrics_listen";
  // A scrape is one short GET: one worker, a few waiting. Connections that do not send
  // a request promptly are cut (http/server.h), so a slow client cannot make a scraper
  // see the replica as down.
  o.threads = 1;
  o.max_queued = 16;
  o.max_body_bytes = 0;
  o.head_limits.max_head_bytes = 8 * 1024;
  auto server = http::Server::Start(listen, o, [registry](const http::Request& req) {
    http::Response r;
    r.headers = {{"X-Content-Type-Options", "nosniff"}};
    if (req.method != "GET" && req.method != "HEAD") {
      r.status = 405;
      r.headers.emplace_back("Allow", "GET, HEAD");
      r.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
      r.body = "only GET and HEAD\n";
    } else if (req.path == "/metrics") {
      r.headers.emplace_back("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
      r.body = registry->Expose();
    } else if (req.path == "/") {
      r.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
      r.body = "simsearch metrics: GET /metrics (Prometheus text format)\n";
    } else {
      r.status = 404;
      r.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
      r.body = "not found: the metrics are at /metrics\n";
    }
    return r;
  });
  if (!server.ok()) return server.status();
  std::unique_ptr<MetricsHttpServer> s(new MetricsHttpServer());
  s->server_ = *std::move(server);
  return s;
}

MetricsHttpServer::~MetricsHttpServer() = default;

int MetricsHttpServer::port() const {
  return server_->port();
}

}  // namespace simsearch
