#include "lambda/local_gateway.h"

#include <civetweb.h>
#include <sys/stat.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "core/file_util.h"

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

namespace {

// Decodes %XX and '+' (form encoding) of one query-string part.
std::string UrlDecode(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && absl::ascii_isxdigit(static_cast<unsigned char>(s[i + 1])) &&
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
    out.emplace_back(UrlDecode(part.substr(0, eq)),
                     eq == absl::string_view::npos ? std::string() : UrlDecode(part.substr(eq + 1)));
  }
  return out;
}

const char* Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
  }
}

// Writes a whole response; `close` asks the client to close the connection.
void Reply(mg_connection* conn, int status, const std::vector<std::pair<std::string, std::string>>& headers,
           const std::string& body, bool close, bool send_body = true) {
  std::string head = absl::StrCat("HTTP/1.1 ", status, " ", Reason(status), "\r\n");
  for (const auto& [k, v] : headers) {
    // Header values come from the handler: no line breaks may reach the wire.
    if (k.find_first_of("\r\n:") != std::string::npos || v.find_first_of("\r\n") != std::string::npos) continue;
    absl::StrAppend(&head, k, ": ", v, "\r\n");
  }
  absl::StrAppend(&head, "Content-Length: ", body.size(), "\r\n");
  if (close) absl::StrAppend(&head, "Connection: close\r\n");
  head += "\r\n";
  if (close) mg_disable_keep_alive(conn);
  // One write for head and body: two small writes meet Nagle's algorithm and the
  // client's delayed ACK, which held every answer back by ~40 ms.
  if (send_body) head += body;
  mg_write(conn, head.data(), head.size());
}

// On civetweb's small stack: no JSON library here, and `message` is ours (no quotes).
void ReplyError(mg_connection* conn, int status, const std::string& message, bool close) {
  Reply(conn, status, {{"Content-Type", "application/json"}, {"Access-Control-Allow-Origin", "*"}},
        absl::StrCat("{\"error\":\"", message, "\",\"status\":", status, "}"), close);
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpGateway>> HttpGateway::Start(const std::string& listen,
                                                                 const GatewayOptions& options,
                                                                 ProxyHandler handler) {
  const size_t colon = listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos || colon == 0 || !absl::SimpleAtoi(listen.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("--serve-http takes host:port, got '", listen, "'"));
  }
  std::unique_ptr<HttpGateway> g(new HttpGateway(options, std::move(handler)));
  // As many workers as civetweb threads, so a request never waits for one.
  g->workers_ = std::make_unique<WorkQueue>(std::max(1, options.threads), std::max(1, options.threads));
  const std::string threads = std::to_string(std::max(1, options.threads));
  const std::string backlog = std::to_string(std::max(1, options.backlog));
  const std::string head_ms = std::to_string(absl::ToInt64Milliseconds(options.head_timeout));
  const std::string keep_ms = std::to_string(absl::ToInt64Milliseconds(options.keep_alive));
  const char* config[] = {"listening_ports", listen.c_str(),
                          "num_threads", threads.c_str(),
                          "listen_backlog", backlog.c_str(),
                          "request_timeout_ms", head_ms.c_str(),
                          "enable_keep_alive", "yes",
                          "keep_alive_timeout_ms", keep_ms.c_str(),
                          "enable_auth_domain_check", "no",
                          nullptr};
  mg_callbacks callbacks{};
  // civetweb reports through this; the error text also reaches mg_start2's error data.
  callbacks.log_message = [](const mg_connection*, const char*) { return 1; };
  mg_init_data init{};
  init.callbacks = &callbacks;
  init.user_data = g.get();
  init.configuration_options = config;
  char error_text[256] = {0};
  unsigned error_code = 0;
  mg_error_data error{};
  error.code = &error_code;
  error.text = error_text;
  error.text_buffer_size = sizeof(error_text);
  g->ctx_ = mg_start2(&init, &error);
  if (g->ctx_ == nullptr) {
    std::string why = error_text;
    if (absl::StrContains(why, "in use") || absl::StrContains(why, "bind")) {
      why = absl::StrCat(why, " (another process is listening there? stop it, or choose another address)");
    }
    return absl::UnavailableError(absl::StrCat("cannot listen on ", listen, ": ", why));
  }
  mg_server_port ports[4];
  const int n = mg_get_server_ports(g->ctx_, 4, ports);
  if (n < 1) return absl::InternalError(absl::StrCat("cannot read the port bound for ", listen));
  g->port_ = ports[0].port;
  mg_set_request_handler(g->ctx_, "/", &HttpGateway::OnRequest, g.get());
  return g;
}

HttpGateway::~HttpGateway() {
  if (ctx_ != nullptr) mg_stop(ctx_);
}

int HttpGateway::OnRequest(mg_connection* conn, void* self) {
  return static_cast<HttpGateway*>(self)->Serve(conn);
}

bool IsApiPath(const std::string& path) {
  for (const char* route : {"/recommend", "/search", "/titles", "/health"}) {
    if (path == route || path == absl::StrCat(route, "/")) return true;
  }
  return absl::StartsWith(path, "/items/");
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

HttpGateway::HttpAnswer HttpGateway::FileAnswer(const std::string& path) {
  // Only plain names: letters, digits, '-', '_', '.', '/' without "..", hidden files or
  // empty segments. Anything else is 404, never a file outside web_root.
  std::string rel = path == "/" ? "index.html" : path.substr(1);
  bool ok = !rel.empty() && rel.size() < 256;
  for (char c : rel) {
    ok = ok && (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '/');
  }
  for (absl::string_view seg : absl::StrSplit(rel, '/')) ok = ok && !seg.empty() && seg[0] != '.';
  HttpAnswer a;
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
    a.body = R"({"error":"no such page","status":404})";
    return a;
  }
  a.status = 200;
  a.headers = {{"Content-Type", ContentType(rel)},
               {"Cache-Control", "no-cache"},
               {"X-Content-Type-Options", "nosniff"},
               {"Referrer-Policy", "no-referrer"}};
  if (absl::EndsWith(rel, ".html")) {
    a.headers.emplace_back("Content-Security-Policy",
                           "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
                           "connect-src 'self' https: http:; frame-ancestors 'none'; base-uri 'none'");
  }
  return a;
}

int HttpGateway::Serve(mg_connection* conn) {
  const mg_request_info* ri = mg_get_request_info(conn);
  const absl::Time start = absl::Now();
  {
    const std::string method = ri->request_method;
    const std::string path = ri->local_uri_raw != nullptr ? ri->local_uri_raw : "/";
    if (!options_.web_root.empty() && (method == "GET" || method == "HEAD") && !IsApiPath(path)) {
      // Read on a worker: civetweb's 100 KiB stacks are too small for file reading.
      HttpAnswer answer;
      absl::Notification done;
      if (!workers_->TrySubmit([&] {
            answer = FileAnswer(path);
            done.Notify();
          })) {
        ReplyError(conn, 503, "the gateway is busy; retry", false);
        return 503;
      }
      done.WaitForNotification();
      Reply(conn, answer.status, answer.headers, answer.body, false, /*send_body=*/method != "HEAD");
      return answer.status;
    }
  }
  // Refused from the declared length, before reading: a 600 MiB body is never read.
  if (ri->content_length > static_cast<long long>(options_.max_body_bytes)) {
    ReplyError(conn, 413,
               absl::StrCat("request body is ", ri->content_length, " bytes; the limit is ",
                            options_.max_body_bytes),
               /*close=*/true);
    return 413;
  }
  std::string body;
  std::string buf(16384, '\0');
  for (;;) {
    const int n = mg_read(conn, buf.data(), buf.size());
    if (n <= 0) break;
    body.append(buf.data(), static_cast<size_t>(n));
    if (body.size() > options_.max_body_bytes) {  // chunked bodies declare no length
      ReplyError(conn, 413, absl::StrCat("request body is larger than ", options_.max_body_bytes, " bytes"), true);
      return 413;
    }
    if (absl::Now() - start > options_.body_timeout) {
      ReplyError(conn, 408, "request body took too long to arrive", true);
      return 408;
    }
  }
  if (ri->content_length > 0 && body.size() < static_cast<size_t>(ri->content_length)) {
    ReplyError(conn, 400, "request body ended before its Content-Length", true);
    return 400;
  }
  std::vector<std::pair<std::string, std::string>> headers;
  for (int i = 0; i < ri->num_headers; ++i) {
    headers.emplace_back(ri->http_headers[i].name, ri->http_headers[i].value);
  }
  const std::string raw_query = ri->query_string != nullptr ? ri->query_string : "";
  const std::string path = ri->local_uri_raw != nullptr ? ri->local_uri_raw : "/";
  const std::string method = ri->request_method;
  // civetweb's threads have 100 KiB stacks (less than JSON and the handler may need,
  // with sanitizers far less): everything past reading the request runs on one of our
  // workers (full-size stacks) while this thread waits.
  HttpAnswer answer;
  absl::Notification done;
  if (!workers_->TrySubmit([&] {
        answer = Answer(method, path, raw_query, headers, body);
        done.Notify();
      })) {
    ReplyError(conn, 503, "the gateway is busy; retry", false);
    return 503;
  }
  done.WaitForNotification();
  Reply(conn, answer.status, answer.headers, answer.body, false);
  return answer.status;
}

HttpGateway::HttpAnswer HttpGateway::Answer(const std::string& method, const std::string& path,
                                            const std::string& raw_query,
                                            const std::vector<std::pair<std::string, std::string>>& headers,
                                            const std::string& body) {
  const std::string event = MakeEventV2(method, path, raw_query, ParseQuery(raw_query), headers, body,
                                        absl::StrCat("local-", counter_.fetch_add(1)));
  json out = json::parse(handler_(event, absl::Now() + options_.timeout), nullptr, false);
  HttpAnswer a;
  if (out.is_discarded() || !out.is_object()) {
    a.status = 502;
    a.headers = {{"Content-Type", "application/json"}};
    a.body = R"({"error":"the handler returned no proxy response","status":502})";
    return a;
  }
  if (auto s = out.find("statusCode"); s != out.end() && s->is_number_integer()) a.status = s->get<int>();
  if (a.status < 100 || a.status > 599) a.status = 502;
  if (auto h = out.find("headers"); h != out.end() && h->is_object()) {
    for (auto it = h->begin(); it != h->end(); ++it) {
      if (it->is_string() && !absl::EqualsIgnoreCase(it.key(), "Content-Length")) {
        a.headers.emplace_back(it.key(), it->get<std::string>());
      }
    }
  }
  if (auto b = out.find("body"); b != out.end() && b->is_string()) a.body = b->get<std::string>();
  if (auto b64 = out.find("isBase64Encoded"); b64 != out.end() && b64->is_boolean() && b64->get<bool>()) {
    std::string decoded;
    absl::Base64Unescape(a.body, &decoded);
    a.body = std::move(decoded);
  }
  return a;
}

}  // namespace simsearch::lambda
