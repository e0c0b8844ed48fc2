// A running gRPC server for an Engine: the SimSearch service, standard health checking
// (grpc.health.v1) and server reflection, so grpcurl-style tools need no .proto file.
// SimSearch and health are served by `limits.pollers` threads of ours (call_queues.h);
// reflection by gRPC's synchronous threads, which then poll no sockets.
#pragma once

#include <memory>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engine/engine.h"
#include "server/call_queues.h"
#include "server/health.h"
#include "server/service.h"

namespace grpc {
class Server;
}

namespace simsearch {

struct ServerOptions {
  std::string listen = "127.0.0.1:50051";  // host:port; port 0 picks a free one
  int max_message_bytes = 4 << 20;         // larger requests get RESOURCE_EXHAUSTED
  int max_streams_per_connection = 100;    // HTTP/2 streams one client connection may open
  ServiceLimits limits;                    // workers, queue, answer sizes (service.h)
  // Close each client connection after this long (plus `max_connection_age_grace` for
  // its calls to finish), so clients reconnect and L4 balancers spread them again.
  // Zero: never (gRPC's default).
  absl::Duration max_connection_age = absl::ZeroDuration();
  absl::Duration max_connection_age_grace = absl::Seconds(10);
  // True: health follows the engine's collections from the start (tests, embedding).
  // False: NOT_SERVING until MarkReady (simsearch-engine opens its bundles after it
  // starts listening, so a prober can tell "starting" from "down").
  bool ready_at_start = true;

  // TLS: PEM texts (not paths). Both empty: plaintext. With `tls_client_ca`, clients
  // must present a certificate signed by it (mutual TLS).
  std::string tls_cert, tls_key, tls_client_ca;
  // Tokens and the per-call observer (service.h). With tokens and
  // `protect_health_and_reflection`, health checks and reflection need a token too
  // (only with TLS: gRPC runs a server-wide token check for secure ports only).
  ServiceHooks hooks;
  bool protect_health_and_reflection = false;
  // A second, plaintext port that serves grpc.health.v1 only (no reflection, no search),
  // with the same statuses: Kubernetes' native gRPC probes cannot speak TLS. Empty: none.
  std::string health_listen;
};

// grpc.health.v1 service names: "" (the whole server) and kHealthService are SERVING
// while the server is ready, not draining and serves at least one collection;
// kHealthService + "/" + COLLECTION follows that collection.
inline constexpr char kHealthService[] = "simsearch.v1.SimSearch";
// SERVING from start until shutdown, whatever the collections: for liveness probes
// (a process that is loading or has nothing to serve is alive, not stuck).
inline constexpr char kLivenessService[] = "liveness";

class SearchServer {
 public:
  static absl::StatusOr<std::unique_ptr<SearchServer>> Start(const Engine* engine,
                                                             const ServerOptions& options);
  ~SearchServer();

  int port() const { return port_; }
  int health_port() const { return health_port_; }
  const SimSearchService& service() const { return *service_; }
  // The collections found at start are open (or failed, logged): health follows them.
  void MarkReady();
  // Sets every health status from the engine's collections now (after a reload).
  void UpdateHealth();
  // Health turns NOT_SERVING everywhere; calls are still answered (SIGTERM's first step,
  // so balancers stop sending before the listener closes).
  void BeginDrain();
  // Health turns NOT_SERVING, new calls are refused, and calls in flight get up to
  // `grace` to finish before they are cancelled.
  void Shutdown(absl::Duration grace);
  // Blocks until the server has shut down.
  void Wait();

 private:
  SearchServer() = default;
  const Engine* engine_ = nullptr;
  absl::Mutex health_mu_;
  bool ready_ ABSL_GUARDED_BY(health_mu_) = false;
  bool draining_ ABSL_GUARDED_BY(health_mu_) = false;
  std::set<std::string> published_ ABSL_GUARDED_BY(health_mu_);  // collection names given a status
  // Declared before the servers, so they outlive them.
  std::unique_ptr<SimSearchService> service_;
  std::unique_ptr<HealthService> health_, health_only_;  // on server_, on health_server_
  std::unique_ptr<CallQueues> queues_, health_queues_;   // the threads serving each server
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<grpc::Server> health_server_;  // --health_listen
  int port_ = 0;
  int health_port_ = 0;
  // Sets one status on every server's health service.
  void SetStatus(const std::string& service, bool serving);
};

}  // namespace simsearch
