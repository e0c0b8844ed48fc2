// A local stand-in for API Gateway (like `sam local start-api`): an HTTP server that
// turns each request into an HTTP API payload 2.0 event, calls the handler, and turns
// its proxy response back into HTTP.
//
// Built on civetweb (Debian's libcivetweb): a fixed pool of worker threads, a listen
// backlog sized for browsers, a deadline on the whole request head (slow clients that
// dribble header lines are cut off), and bodies refused from their Content-Length
// before a byte of them is read. The address is bound exclusively (no SO_REUSEPORT):
// a second gateway on a busy port fails to start.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/work_queue.h"

struct mg_context;
struct mg_connection;

namespace simsearch::lambda {

// event JSON + deadline -> proxy response JSON.
using ProxyHandler = std::function<std::string(const std::string& event, absl::Time deadline)>;

struct GatewayOptions {
  absl::Duration timeout = absl::Seconds(10);       // each request's deadline (the handler's)
  int threads = 32;                                 // connections served at once
  int backlog = 256;                                // connections waiting to be accepted
  absl::Duration head_timeout = absl::Seconds(10);  // whole request head, and each body read
  absl::Duration body_timeout = absl::Seconds(10);  // the whole body
  absl::Duration keep_alive = absl::Seconds(5);     // idle keep-alive connections
  size_t max_body_bytes = 64 * 1024;                // larger bodies get 413 unread
  // The website (web/): GET and HEAD of a path that is not an API route serve the file
  // of that name under web_root ("/" is index.html). Empty: no website.
  std::string web_root;
};

// True for the API's own paths (what the handler answers), false for website files.
bool IsApiPath(const std::string& path);

class HttpGateway {
 public:
  // Serves on host:port (port 0: any free port) until destroyed.
  static absl::StatusOr<std::unique_ptr<HttpGateway>> Start(const std::string& listen,
                                                            const GatewayOptions& options,
                                                            ProxyHandler handler);
  ~HttpGateway();  // stops accepting, finishes requests in progress
  HttpGateway(const HttpGateway&) = delete;
  HttpGateway& operator=(const HttpGateway&) = delete;
  int port() const { return port_; }

 private:
  HttpGateway(GatewayOptions options, ProxyHandler handler)
      : options_(options), handler_(std::move(handler)) {}
  struct HttpAnswer {
    int status = 502;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
  };
  static int OnRequest(mg_connection* conn, void* self);
  int Serve(mg_connection* conn);  // on a civetweb thread: reads, waits, writes
  // On a worker: the website file at `path` (404 for anything else).
  HttpAnswer FileAnswer(const std::string& path);
  // On a worker: the event, the handler, the proxy response turned into HTTP.
  HttpAnswer Answer(const std::string& method, const std::string& path, const std::string& raw_query,
                    const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body);

  GatewayOptions options_;
  ProxyHandler handler_;
  std::unique_ptr<WorkQueue> workers_;  // declared before ctx_: outlives civetweb's threads
  mg_context* ctx_ = nullptr;
  int port_ = 0;
  std::atomic<uint64_t> counter_{0};
};

// The payload 2.0 event for one request.
std::string MakeEventV2(const std::string& method, const std::string& path, const std::string& raw_query,
                        const std::vector<std::pair<std::string, std::string>>& query,
                        const std::vector<std::pair<std::string, std::string>>& headers,
                        const std::string& body, const std::string& request_id);

}  // namespace simsearch::lambda
