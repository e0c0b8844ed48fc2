#include "lambda/local_gateway.h"

#include <httplib.h>

#include <atomic>
#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace simsearch::lambda {

using json = nlohmann::json;

std::string MakeEventV2(const std::string& method, const std::string& path, const std::string& raw_query,
                        const std::vector<std::pair<std::string, std::string>>& query,
                        const std::vector<std::pair<std::string, std::string>>& headers,
                        const std::string& body, const std::string& request_id) {
  json q = json::object(), h = json::object();
  for (const auto& [k, v] : query) {
    // Payload 2.0 joins repeated parameters with commas.
    q[k] = q.contains(k) ? q[k].get<std::string>() + "," + v : v;
  }
  for (const auto& [k, v] : headers) h[k] = v;
  json e = {{"version", "2.0"},
            {"routeKey", "$default"},
            {"rawPath", path},
            {"rawQueryString", raw_query},
            {"headers", h},
            {"requestContext",
             {{"http", {{"method", method}, {"path", path}, {"protocol", "HTTP/1.1"}}},
              {"requestId", request_id},
              {"stage", "$default"}}},
            {"isBase64Encoded", true},
            {"body", absl::Base64Escape(body)}};
  if (!q.empty()) e["queryStringParameters"] = q;
  return e.dump(-1, ' ', false, json::error_handler_t::replace);
}

absl::Status ServeHttp(const std::string& listen, absl::Duration timeout, const ProxyHandler& handler,
                       const std::function<void(int port)>& on_listening) {
  const size_t colon = listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port)) {
    return absl::InvalidArgumentError(absl::StrCat("--serve-http takes host:port, got '", listen, "'"));
  }
  const std::string host = listen.substr(0, colon);
  httplib::Server server;
  std::atomic<uint64_t> counter{0};
  auto serve = [&](const httplib::Request& req, httplib::Response& res) {
    std::vector<std::pair<std::string, std::string>> query(req.params.begin(), req.params.end());
    std::vector<std::pair<std::string, std::string>> headers(req.headers.begin(), req.headers.end());
    std::string raw_query;
    if (size_t q = req.target.find('?'); q != std::string::npos) raw_query = req.target.substr(q + 1);
    const std::string event = MakeEventV2(req.method, req.path, raw_query, query, headers, req.body,
                                          absl::StrCat("local-", counter.fetch_add(1)));
    json out = json::parse(handler(event, absl::Now() + timeout), nullptr, false);
    if (out.is_discarded() || !out.is_object()) {
      res.status = 502;
      res.set_content(R"({"error":"the handler returned no proxy response"})", "application/json");
      return;
    }
    res.status = out.value("statusCode", 502);
    std::string content_type = "application/json";
    if (auto h = out.find("headers"); h != out.end() && h->is_object()) {
      for (auto it = h->begin(); it != h->end(); ++it) {
        if (!it->is_string()) continue;
        if (it.key() == "Content-Type") {
          content_type = it->get<std::string>();
        } else {
          res.set_header(it.key().c_str(), it->get<std::string>());
        }
      }
    }
    std::string body = out.value("body", "");
    if (out.value("isBase64Encoded", false)) {
      std::string decoded;
      absl::Base64Unescape(body, &decoded);
      body = std::move(decoded);
    }
    res.set_content(body, content_type.c_str());
  };
  server.Get(".*", serve);
  server.Post(".*", serve);
  server.Put(".*", serve);
  server.Delete(".*", serve);
  server.Patch(".*", serve);
  server.Options(".*", serve);
  int bound = port;
  if (port == 0) {
    bound = server.bind_to_any_port(host.c_str());
  } else if (!server.bind_to_port(host.c_str(), port)) {
    bound = -1;
  }
  if (bound <= 0) return absl::UnavailableError(absl::StrCat("cannot listen on ", listen));
  on_listening(bound);
  if (!server.listen_after_bind()) return absl::InternalError("the HTTP server stopped");
  return absl::OkStatus();
}

}  // namespace simsearch::lambda
