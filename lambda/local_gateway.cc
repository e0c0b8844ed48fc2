#include "lambda/local_gateway.h"

#include "http/security_headers.h"
#include "lambda/routes.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "core/file_util.h"

namespace simsearch::lambda {

using json = nlohmann::json;

std::string MakeEventV2(const std::string& method, const std::string& path,
                        const std::string& raw_query,
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

namespace {

// Decodes %XX and '+' (form encoding) of one query-string part.
std::string UrlDecode(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() &&
               absl::ascii_isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               absl::ascii_isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> ParseQuery(absl::string_view raw) {
  std::vector<std::pair<std::string, std::string>> out;
  for (absl::string_view part : absl::StrSplit(raw, '&', absl::SkipEmpty())) {
    const size_t eq = part.find('=');
    out.emplace_back(UrlDecode(part.substr(0, eq)), eq == absl::string_view::npos
                                                        ? std::string()
                                                        : UrlDecode(part.substr(eq + 1)));
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> ApiOriginFromConfig(const std::string& config_js) {
  const size_t key = config_js.find("apiBase");
  if (key == std::string::npos) return std::string();
  size_t i = config_js.find_first_not_of(" \t", key + 7);
  if (i == std::string::npos || config_js[i] != ':') return std::string();
  i = config_js.find_first_not_of(" \t", i + 1);
  if (i == std::string::npos || (config_js[i] != '"' && config_js[i] != '\'')) {
    return absl::InvalidArgumentError("apiBase is not a quoted string");
  }
  const size_t close = config_js.find(config_js[i], i + 1);
  if (close == std::string::npos)
    return absl::InvalidArgumentError("apiBase's string is not closed");
  const std::string base = config_js.substr(i + 1, close - i - 1);
  if (base.empty()) return std::string();
  absl::string_view rest = base;
  std::string scheme;
  if (absl::ConsumePrefix(&rest, "https://")) {
    scheme = "https://";
  } else if (absl::ConsumePrefix(&rest, "http://")) {
    scheme = "http://";
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("apiBase '", base, "' is not an absolute http(s) URL"));
  }
  const absl::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  const bool ok = !authority.empty() && std::all_of(authority.begin(), authority.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' ||
           c == '[' || c == ']';
  });
  if (!ok)
    return absl::InvalidArgumentError(absl::StrCat("apiBase '", base, "' has no valid host"));
  return absl::StrCat(scheme, authority);
}

absl::StatusOr<std::unique_ptr<HttpGateway>> HttpGateway::Start(const std::string& listen,
                                                                const GatewayOptions& options,
                                                                ProxyHandler handler) {
  std::unique_ptr<HttpGateway> g(new HttpGateway(options, std::move(handler)));
  std::string api_origin;
  if (!options.web_root.empty()) {
    const std::string config = absl::StrCat(options.web_root, "/config.js");
    if (::access(config.c_str(), F_OK) == 0) {
      auto text = ReadFileToString(config);
      if (!text.ok()) return text.status();
      auto origin = ApiOriginFromConfig(*text);
      if (!origin.ok())
        return absl::InvalidArgumentError(absl::StrCat(config, ": ", origin.status().message()));
      api_origin = *origin;
    }
  }
  g->content_security_policy_ = absl::StrCat(
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
      "connect-src 'self'",
      api_origin.empty() ? "" : " ", api_origin,
      "; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
  http::ServerOptions o;
  o.flag = "--serve-http";
  o.threads = std::max(1, options.threads);
  o.max_queued = std::max(0, options.max_queued);
  o.max_connections = std::max(1, options.max_connections);
  o.idle_timeout = options.idle_timeout;
  o.head_timeout = options.head_timeout;
  o.body_timeout = options.body_timeout;
  o.max_body_bytes = options.max_body_bytes;
  o.error_headers = {{"Access-Control-Allow-Origin", "*"}};
  HttpGateway* self = g.get();
  auto server = http::Server::Start(listen, o, [self](const http::Request& r) {
    if (!self->options_.web_root.empty() && (r.method == "GET" || r.method == "HEAD") &&
        !IsApiPath(r.path)) {
      return self->FileAnswer(r.path);
    }
    return self->Answer(r);
  });
  if (!server.ok()) return server.status();
  g->server_ = *std::move(server);
  return g;
}

HttpGateway::~HttpGateway() {
  server_.reset();
}

bool IsApiPath(const std::string& path) {
  return MatchRoute(path).has_value();
}

namespace {
const char* ContentType(absl::string_view path) {
  const size_t dot = path.rfind('.');
  const absl::string_view ext = dot == absl::string_view::npos ? "" : path.substr(dot + 1);
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "js") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "json") return "application/json";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "ico") return "image/x-icon";
  if (ext == "txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}
}  // namespace

http::Response HttpGateway::FileAnswer(const std::string& path) const {
  // Only plain names: letters, digits, '-', '_', '.', '/' without "..", hidden files or
  // empty segments. Anything else is 404, never a file outside web_root.
  std::string rel = path == "/" ? "index.html" : path.substr(1);
  bool ok = !rel.empty() && rel.size() < 256;
  for (char c : rel) {
    ok = ok && (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
                c == '.' || c == '/');
  }
  for (absl::string_view seg : absl::StrSplit(rel, '/')) ok = ok && !seg.empty() && seg[0] != '.';
  http::Response a;
  if (ok) {
    const std::string file = absl::StrCat(options_.web_root, "/", rel);
    struct stat st;
    ok = ::stat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size < (16 << 20);
    if (ok) {
      auto text = ReadFileToString(file);
      ok = text.ok();
      if (ok) a.body = *std::move(text);
    }
  }
  if (!ok) {
    a.status = 404;
    a.headers = {{"Content-Type", "application/json"}};
    for (const auto& [k, v] : http::kApiSecurityHeaders) a.headers.emplace_back(k, v);
    a.body = R"({"error":"no such page","status":404,"reason":"ROUTE_NOT_FOUND"})";
    return a;
  }
  a.status = 200;
  a.headers = {{"Content-Type", ContentType(rel)},
               {"Cache-Control", "no-cache"},
               {"X-Content-Type-Options", "nosniff"},
               {"Referrer-Policy", "no-referrer"}};
  if (absl::EndsWith(rel, ".html"))
    a.headers.emplace_back("Content-Security-Policy", content_security_policy_);
  return a;
}

http::Response HttpGateway::Answer(const http::Request& request) {
  const std::string event =
      MakeEventV2(request.method, request.path, request.query, ParseQuery(request.query),
                  request.headers, request.body, absl::StrCat("local-", counter_.fetch_add(1)));
  // The deadline counts from the request's arrival: time spent queued for a worker is
  // part of it.
  json out = json::parse(handler_(event, request.arrived + options_.timeout), nullptr, false);
  http::Response a;
  a.status = 502;
  if (out.is_discarded() || !out.is_object()) {
    a.headers = {{"Content-Type", "application/json"}};
    for (const auto& [k, v] : http::kApiSecurityHeaders) a.headers.emplace_back(k, v);
    a.body =
        R"({"error":"the handler returned no proxy response","status":502,"reason":"INTERNAL"})";
    return a;
  }
  if (auto s = out.find("statusCode"); s != out.end() && s->is_number_integer())
    a.status = s->get<int>();
  if (a.status < 200 || a.status > 599) a.status = 502;
  if (auto h = out.find("headers"); h != out.end() && h->is_object()) {
    for (auto it = h->begin(); it != h->end(); ++it) {
      if (it->is_string()) a.headers.emplace_back(it.key(), it->get<std::string>());
    }
  }
  if (auto b = out.find("body"); b != out.end() && b->is_string()) a.body = b->get<std::string>();
  if (auto b64 = out.find("isBase64Encoded");
      b64 != out.end() && b64->is_boolean() && b64->get<bool>()) {
    std::string decoded;
    absl::Base64Unescape(a.body, &decoded);
    a.body = std::move(decoded);
  }
  return a;
}

}  // namespace simsearch::lambda
