// An HTTP/1.1 server that gives no thread to a connection until it has sent a whole
// request: one event loop (epoll) accepts connections and reads request heads and
// bodies; complete requests go to a fixed pool of worker threads that run the handler;
// the loop writes the answers. It serves the local gateway (simsearch-lambda
// --serve-http) and the engine's metrics endpoint (--metrics_listen).
//
// What a flood of idle or slow connections meets (docs/RELIABILITY.md, "Connection
// floods"):
//   - a connection that sends nothing is closed after `idle_timeout` (also between
//     requests on a kept-alive connection);
//   - a request head must arrive whole within `head_timeout` of its first byte, and its
//     body within `body_timeout` of the head (408, then closed): a client dribbling
//     header lines is cut off however steadily it dribbles;
//   - at most `max_connections` are open. A new connection over the limit sheds the
//     connection that has waited longest without a complete request (or without
//     taking its answer), so a flood evicts itself and a prompt client always gets in;
//   - complete requests wait for a worker in a bounded queue; beyond it, 503 at once.
// The address is bound exclusively (no SO_REUSEPORT): a second server on a busy port
// fails to start instead of taking half its connections.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "http/request_parser.h"

namespace simsearch::http {

struct Request {
  std::string method;  // "GET", "HEAD", "POST", ... as sent
  std::string target;  // "/search?q=a%20b" (origin form)
  std::string path;    // "/search" (still percent-encoded; never holds %00)
  std::string query;   // "q=a%20b" ("" without '?')
  std::vector<std::pair<std::string, std::string>> headers;  // as sent, values trimmed
  std::string body;                                          // de-chunked
  std::string peer;                                          // "127.0.0.1:54321"
  absl::Time arrived;  // when its first byte arrived: deadlines count from here, not from
                       // when a worker took it
  // The first header named `name` (case-insensitive), or nullptr.
  const std::string* Header(absl::string_view name) const;
};

struct Response {
  int status = 200;  // 200-599 (a 1xx would break the framing); 204 and 304 go without a body
  // Content-Length, Connection and Date are the server's; any given here are dropped,
  // as are headers whose name or value would break the head (CR, LF, ':' in names).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;    // not sent for HEAD requests (Content-Length still says its size)
  bool close = false;  // close the connection after this answer
};

// Runs on a worker thread; must not throw.
using Handler = std::function<Response(const Request&)>;

struct ServerOptions {
  std::string flag =
      "--listen";              // names the address in errors: "--serve-http: cannot listen on ..."
  int threads = 4;             // workers running the handler
  int max_queued = 64;         // complete requests waiting for a worker; beyond: 503
  int max_connections = 1024;  // open connections (lowered to fit the open-file limit)
  int backlog = 1024;          // connections the kernel queues before accept
  absl::Duration idle_timeout = absl::Seconds(5);    // nothing of a request yet
  absl::Duration head_timeout = absl::Seconds(10);   // a request head, from its first byte
  absl::Duration body_timeout = absl::Seconds(10);   // a request body, from the head's end
  absl::Duration write_timeout = absl::Seconds(10);  // an answer taken by the client
  HeadLimits head_limits;
  size_t max_body_bytes = 64 * 1024;  // larger bodies: 413, refused from their declared length
  // Added to the server's own error answers (400, 408, 413, 503, ...), e.g. CORS.
  std::vector<std::pair<std::string, std::string>> error_headers;
};

// Counters since start, for tests and metrics.
struct ServerStats {
  int64_t accepted = 0;
  int64_t open = 0;       // connections open now
  int64_t shed = 0;       // closed to make room for a newer connection
  int64_t timed_out = 0;  // closed by idle, head, body or write timeouts
  int64_t requests = 0;   // complete requests handed to the handler
  int64_t rejected = 0;   // answered by the server itself: 4xx for bad requests, 503 when busy
};

class Server {
 public:
  // Binds `listen` (host:port, IPv4 or [IPv6]; port 0 picks one) and serves until
  // destroyed.
  static absl::StatusOr<std::unique_ptr<Server>> Start(const std::string& listen,
                                                       ServerOptions options, Handler handler);
  // Stops accepting, closes connections without a request in progress, lets requests
  // in progress finish and their answers go out (for up to write_timeout), then returns.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int port() const { return port_; }
  int max_connections() const;  // after fitting the open-file limit
  ServerStats stats() const;

 private:
  class Loop;
  Server() = default;
  std::unique_ptr<Loop> loop_;
  int port_ = 0;
};

// Raises this process's soft limit of open files to its hard limit (a server holds one
// descriptor a connection; Debian's default soft limit is 1,024). Returns the new
// soft limit.
int64_t RaiseOpenFileLimit();

}  // namespace simsearch::http
