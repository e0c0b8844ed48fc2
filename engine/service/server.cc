#include "engine/service/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "absl/strings/str_cat.h"
#include "engine/service/service.h"
#include "grpc/health/v1/health.pb.h"

namespace simsearch {

absl::StatusOr<std::unique_ptr<SearchServer>> SearchServer::Start(const Engine* engine,
                                                                  const ServerOptions& options) {
  // gRPC's built-in health service has no generated descriptor of its own; touching the
  // vendored one links it in, so reflection can describe grpc.health.v1.Health.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  std::unique_ptr<SearchServer> s(new SearchServer());
  s->service_ = std::make_unique<SimSearchService>(engine);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(), &s->port_);
  builder.RegisterService(s->service_.get());
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  if (options.max_threads > 0) {
    grpc::ResourceQuota quota("simsearch");
    quota.SetMaxThreads(options.max_threads);
    builder.SetResourceQuota(quota);
  }
  s->server_ = builder.BuildAndStart();
  if (s->server_ == nullptr || s->port_ == 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", options.listen,
        " (address in use, not a local address, or malformed; use host:port)"));
  }
  auto* health = s->server_->GetHealthCheckService();
  health->SetServingStatus(true);
  health->SetServingStatus(v1::SimSearch::service_full_name(), true);
  return s;
}

SearchServer::~SearchServer() {
  if (server_ != nullptr) {
    Shutdown(absl::Seconds(5));
    Wait();
  }
}

void SearchServer::Shutdown(absl::Duration grace) {
  if (server_ == nullptr) return;
  server_->GetHealthCheckService()->SetServingStatus(false);
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
}

void SearchServer::Wait() {
  if (server_ != nullptr) server_->Wait();
}

}  // namespace simsearch
