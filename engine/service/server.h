// A running gRPC server for an Engine: the SimSearch service, standard health checking
// (grpc.health.v1) and server reflection, so grpcurl-style tools need no .proto file.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/engine.h"
#include "engine/service/service.h"

namespace grpc {
class Server;
}

namespace simsearch {

struct ServerOptions {
  std::string listen = "127.0.0.1:50051";  // host:port; port 0 picks a free one
  int max_message_bytes = 4 << 20;         // larger requests get RESOURCE_EXHAUSTED
  int max_streams_per_connection = 100;    // HTTP/2 streams one client connection may open
  ServiceLimits limits;                    // workers, queue, answer sizes (service.h)
};

class SearchServer {
 public:
  static absl::StatusOr<std::unique_ptr<SearchServer>> Start(const Engine* engine,
                                                             const ServerOptions& options);
  ~SearchServer();

  int port() const { return port_; }
  const SimSearchService& service() const { return *service_; }
  // Health turns NOT_SERVING, new calls are refused, and calls in flight get up to
  // `grace` to finish before they are cancelled.
  void Shutdown(absl::Duration grace);
  // Blocks until the server has shut down.
  void Wait();

 private:
  SearchServer() = default;
  std::unique_ptr<SimSearchService> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace simsearch
