#include "server/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/auth_metadata_processor.h>
#include <grpcpp/security/server_credentials.h>

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "server/service.h"

namespace simsearch {

namespace {

// Why binding `listen` fails, found by trying it: gRPC only logs its reason.
std::string BindProblem(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return "malformed address; use host:port";
  std::string host = listen.substr(0, colon);
  const std::string port = listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &res) != 0 ||
      res == nullptr) {
    return "cannot resolve the host or port; use host:port, e.g. 127.0.0.1:50051";
  }
  std::string problem = "the address cannot be bound";
  int fd = ::socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
  if (fd >= 0) {
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd, res->ai_addr, res->ai_addrlen) != 0) {
      problem = errno == EADDRINUSE
                    ? "address already in use: another process is listening there (stop it, or "
                      "choose another --listen)"
                    : absl::StrCat(std::strerror(errno), " (not a local address?)");
    }
    ::close(fd);
  }
  ::freeaddrinfo(res);
  return problem;
}

// Runs before any service sees a call on a TLS port: every call, health checks and
// reflection included, needs a token.
class TokenProcessor final : public grpc::AuthMetadataProcessor {
 public:
  explicit TokenProcessor(const TokenSet* tokens) : tokens_(tokens) {}
  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata& md, grpc::AuthContext*, OutputMetadata*,
                       OutputMetadata*) override {
    return HasValidToken(*tokens_, md)
               ? grpc::Status::OK
               : grpc::Status(grpc::StatusCode::UNAUTHENTICATED, kUnauthenticatedMessage);
  }

 private:
  const TokenSet* tokens_;
};

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(const ServerOptions& o) {
  if (o.tls_cert.empty() != o.tls_key.empty()) {
    return absl::InvalidArgumentError(
        "TLS needs both a certificate and its private key (--tls_cert and --tls_key)");
  }
  if (o.tls_cert.empty()) {
    if (!o.tls_client_ca.empty()) {
      return absl::InvalidArgumentError(
          "--tls_client_ca (mutual TLS) needs server TLS: give --tls_cert and --tls_key");
    }
    if (o.protect_health_and_reflection && o.hooks.tokens != nullptr) {
      return absl::InvalidArgumentError(
          "protecting health and reflection with tokens needs TLS (--tls_cert, --tls_key): gRPC "
          "checks "
          "tokens server-wide only on secure ports");
    }
    return grpc::InsecureServerCredentials();
  }
  grpc::SslServerCredentialsOptions ssl(
      o.tls_client_ca.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                              : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  ssl.pem_root_certs = o.tls_client_ca;
  ssl.pem_key_cert_pairs.push_back({o.tls_key, o.tls_cert});
  std::shared_ptr<grpc::ServerCredentials> creds = grpc::SslServerCredentials(ssl);
  if (o.protect_health_and_reflection && o.hooks.tokens != nullptr) {
    creds->SetAuthMetadataProcessor(std::make_shared<TokenProcessor>(o.hooks.tokens));
  }
  return creds;
}

// Takes server reflection off a builder. InitProtoReflectionServerBuilderPlugin adds it
// to every builder in the process; the plaintext health port must describe nothing but
// health (with --protect_health, reflection of simsearch.v1 needs a token).
class WithoutReflection final : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    plugins->erase(std::remove_if(plugins->begin(), plugins->end(),
                                  [](const std::unique_ptr<grpc::ServerBuilderPlugin>& p) {
                                    return p->name().find("reflection") != std::string::npos;
                                  }),
                   plugins->end());
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<SearchServer>> SearchServer::Start(const Engine* engine,
                                                                  const ServerOptions& options) {
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  auto creds = Credentials(options);
  if (!creds.ok()) return creds.status();
  std::unique_ptr<SearchServer> s(new SearchServer());
  s->service_ = std::make_unique<SimSearchService>(engine, options.limits, options.hooks);
  s->health_ = std::make_unique<HealthService>();
  s->queues_ = std::make_unique<CallQueues>(s->service_->limits().pollers);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, *creds, &s->port_);
  builder.RegisterService(s->service_.get());
  builder.RegisterService(s->health_.get());
  s->queues_->AddTo(&builder);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(static_cast<int>(std::min<int64_t>(
      INT32_MAX, std::max<int64_t>(options.limits.max_response_bytes, 1 << 20) + (1 << 20))));
  // gRPC turns SO_REUSEPORT on by default: a second server on a busy port would start
  // and silently take half the new connections. A busy address must fail the start.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, options.max_streams_per_connection);
  if (options.max_connection_age > absl::ZeroDuration()) {
    builder.AddChannelArgument(
        GRPC_ARG_MAX_CONNECTION_AGE_MS,
        static_cast<int>(
            std::min<int64_t>(INT32_MAX, absl::ToInt64Milliseconds(options.max_connection_age))));
    builder.AddChannelArgument(
        GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
        static_cast<int>(std::min<int64_t>(
            INT32_MAX, absl::ToInt64Milliseconds(options.max_connection_age_grace))));
  }
  s->server_ = builder.BuildAndStart();
  if (s->server_ == nullptr || s->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen, ": ", BindProblem(options.listen)));
  }
  s->queues_->Start([&s](CallQueue* q) {
    s->service_->Arm(q);
    s->health_->Arm(q);
  });
  s->engine_ = engine;
  if (!options.health_listen.empty()) {
    s->health_only_ = std::make_unique<HealthService>();
    s->health_queues_ = std::make_unique<CallQueues>(1);
    grpc::ServerBuilder hb;
    hb.AddListeningPort(options.health_listen, grpc::InsecureServerCredentials(), &s->health_port_);
    hb.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    hb.RegisterService(s->health_only_.get());
    hb.SetOption(std::make_unique<WithoutReflection>());
    s->health_queues_->AddTo(&hb);
    s->health_server_ = hb.BuildAndStart();
    if (s->health_server_ == nullptr || s->health_port_ == 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen on ", options.health_listen,
                       " (--health_listen): ", BindProblem(options.health_listen)));
    }
    s->health_queues_->Start([&s](CallQueue* q) { s->health_only_->Arm(q); });
  }
  s->SetStatus("", false);
  s->SetStatus(kHealthService, false);
  s->SetStatus(kLivenessService, true);
  if (options.ready_at_start) s->MarkReady();
  return s;
}

void SearchServer::SetStatus(const std::string& service, bool serving) {
  for (HealthService* health : {health_.get(), health_only_.get()}) {
    if (health != nullptr) health->SetStatus(service, serving);
  }
}

void SearchServer::MarkReady() {
  {
    absl::MutexLock lock(&health_mu_);
    ready_ = true;
  }
  UpdateHealth();
}

void SearchServer::UpdateHealth() {
  if (server_ == nullptr) return;
  std::set<std::string> served;
  for (const auto& c : engine_->ListCollections()) served.insert(c->name());
  absl::MutexLock lock(&health_mu_);
  const bool up = ready_ && !draining_;
  for (const std::string& name : served) published_.insert(name);
  for (const std::string& name : published_) {
    SetStatus(absl::StrCat(kHealthService, "/", name), up && served.count(name) > 0);
  }
  SetStatus("", up && !served.empty());
  SetStatus(kHealthService, up && !served.empty());
}

void SearchServer::BeginDrain() {
  {
    absl::MutexLock lock(&health_mu_);
    draining_ = true;
  }
  UpdateHealth();
}

SearchServer::~SearchServer() {
  if (server_ != nullptr) {
    Shutdown(absl::Seconds(5));
    Wait();
  }
}

void SearchServer::Shutdown(absl::Duration grace) {
  if (server_ == nullptr) return;
  BeginDrain();
  // NOT_SERVING for good, and the Watch streams end.
  for (HealthService* health : {health_.get(), health_only_.get()}) {
    if (health != nullptr) health->Shutdown();
  }
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  if (health_server_ != nullptr) health_server_->Shutdown(absl::ToChronoTime(absl::Now()));
  queues_->Stop();
  if (health_queues_ != nullptr) health_queues_->Stop();
}

void SearchServer::Wait() {
  if (server_ != nullptr) server_->Wait();
  if (health_server_ != nullptr) health_server_->Wait();
}

}  // namespace simsearch
