// A local stand-in for API Gateway (like `sam local start-api`): an HTTP server that
// turns each request into an HTTP API payload 2.0 event, calls the handler, and turns
// its proxy response back into HTTP.
#pragma once

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace simsearch::lambda {

// event JSON + deadline -> proxy response JSON.
using ProxyHandler = std::function<std::string(const std::string& event, absl::Time deadline)>;

// Serves on host:port (port 0: any free port) until the process ends; calls `on_listening`
// with the bound port once it accepts connections. `timeout` is each request's deadline.
absl::Status ServeHttp(const std::string& listen, absl::Duration timeout, const ProxyHandler& handler,
                       const std::function<void(int port)>& on_listening);

// The payload 2.0 event for one request.
std::string MakeEventV2(const std::string& method, const std::string& path, const std::string& raw_query,
                        const std::vector<std::pair<std::string, std::string>>& query,
                        const std::vector<std::pair<std::string, std::string>>& headers,
                        const std::string& body, const std::string& request_id);

}  // namespace simsearch::lambda
