// A local stand-in for API Gateway (like `sam local start-api`): an HTTP server that
// turns each request into an HTTP API payload 2.0 event, calls the handler, and turns
// its proxy response back into HTTP; it also serves the website's files.
//
// Built on http::Server (http/server.h): an event loop reads requests without holding a
// thread, so idle and slow connections cannot starve it (they are timed out, and the
// longest-waiting is shed when connections run out); complete requests are answered by
// a fixed pool of workers; bodies are refused from their Content-Length before a byte
// of them is read; the address is bound exclusively (no SO_REUSEPORT).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "http/server.h"

namespace simsearch::lambda {

// event JSON + deadline -> proxy response JSON.
using ProxyHandler = std::function<std::string(const std::string& event, absl::Time deadline)>;

struct GatewayOptions {
  absl::Duration timeout = absl::Seconds(10);  // each request's deadline (the handler's)
  int threads = 32;                            // requests answered at once
  int max_queued = 256;                        // complete requests waiting; beyond: 503
  int max_connections = 1024;                  // open connections; the longest waiting is shed
  absl::Duration idle_timeout =
      absl::Seconds(5);  // a connection with no request (new or kept alive)
  absl::Duration head_timeout = absl::Seconds(10);  // a request head, from its first byte
  absl::Duration body_timeout = absl::Seconds(10);  // a request body, from the head's end
  size_t max_body_bytes = 64 * 1024;                // larger bodies get 413 unread
  // The website (web/): GET and HEAD of a path that is not an API route serve the file
  // of that name under web_root ("/" is index.html). Empty: no website. The pages'
  // Content-Security-Policy lets them connect to their own origin and to the origin of
  // `apiBase` in web_root/config.js, nowhere else.
  std::string web_root;
};

// True for the API's own paths (what the handler answers), false for website files.
bool IsApiPath(const std::string& path);

// The origin ("https://api.example.com:8443") of the `apiBase` that web/config.js sets,
// "" when it is empty or absent (the page's own origin), or an error when it is not an
// absolute http(s) URL.
absl::StatusOr<std::string> ApiOriginFromConfig(const std::string& config_js);

class HttpGateway {
 public:
  // Serves on host:port (port 0: any free port) until destroyed.
  static absl::StatusOr<std::unique_ptr<HttpGateway>> Start(const std::string& listen,
                                                            const GatewayOptions& options,
                                                            ProxyHandler handler);
  ~HttpGateway();  // stops accepting, finishes requests in progress
  HttpGateway(const HttpGateway&) = delete;
  HttpGateway& operator=(const HttpGateway&) = delete;
  int port() const { return server_->port(); }
  http::ServerStats stats() const { return server_->stats(); }

 private:
  HttpGateway(GatewayOptions options, ProxyHandler handler)
      : options_(std::move(options)), handler_(std::move(handler)) {}
  // On a worker: the website file at `path` (404 for anything else).
  http::Response FileAnswer(const std::string& path) const;
  // On a worker: the event, the handler, the proxy response turned into HTTP.
  http::Response Answer(const http::Request& request);

  const GatewayOptions options_;
  const ProxyHandler handler_;
  std::string content_security_policy_;  // of HTML pages
  std::atomic<uint64_t> counter_{0};
  std::unique_ptr<http::Server> server_;  // last: stopped before the rest goes
};

// The payload 2.0 event for one request.
std::string MakeEventV2(const std::string& method, const std::string& path,
                        const std::string& raw_query,
                        const std::vector<std::pair<std::string, std::string>>& query,
                        const std::vector<std::pair<std::string, std::string>>& headers,
                        const std::string& body, const std::string& request_id);

}  // namespace simsearch::lambda
