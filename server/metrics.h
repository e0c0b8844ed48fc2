// The engine's Prometheus metrics (the names and labels are listed in
// docs/OPERATIONS.md) and the HTTP endpoint that serves them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engine/engine.h"
#include "engine/registry.h"
#include "http/server.h"
#include "runtime/metrics.h"
#include "server/service.h"

namespace simsearch {

class EngineMetrics {
 public:
  // `service` may be set later (set_service): the in-flight gauge reads it.
  EngineMetrics(const Engine* engine, absl::Time process_start);

  MetricsRegistry& registry() { return registry_; }
  void set_service(const SimSearchService* service) { service_.store(service); }

  // Counts a finished call (ServiceHooks::on_call). A collection name the engine has
  // never served is counted as "_unknown": clients cannot grow the label set.
  void OnCall(const CallRecord& call);
  // Counts what a bundle refresh did (reloads, rejected versions and why).
  void OnRefresh(const std::vector<RegistryEvent>& events);

 private:
  bool Known(absl::string_view collection) const;
  void Collect(GaugeWriter* w) const;

  const Engine* engine_;
  const absl::Time start_;
  std::atomic<const SimSearchService*> service_{nullptr};
  MetricsRegistry registry_;
  Family<Counter>* requests_;
  Family<Histogram>* latency_;
  Family<Counter>* batched_;
  Family<Counter>* reloads_;
  Family<Counter>* rejected_;
  mutable absl::Mutex mu_;
  absl::flat_hash_set<std::string> known_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::Time> last_reload_ ABSL_GUARDED_BY(mu_);
};

// Serves GET /metrics (Prometheus text format) on http::Server: its own event loop and
// one worker, so idle or slow connections never hold a scrape up.
class MetricsHttpServer {
 public:
  // Binds `listen` (host:port; port 0 picks one) exclusively and starts serving.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(const std::string& listen,
                                                                  const MetricsRegistry* registry);
  ~MetricsHttpServer();
  int port() const;

 private:
  MetricsHttpServer() = default;
  std::unique_ptr<http::Server> server_;
};

// grpc::StatusCode's canonical name ("NOT_FOUND"), as gRPC tools print it.
const char* StatusCodeName(grpc::StatusCode code);

}  // namespace simsearch
