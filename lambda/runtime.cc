#include "lambda/runtime.h"

#include <httplib.h>
#include <stdlib.h>

#include <chrono>
#include <exception>
#include <memory>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace simsearch::lambda {
namespace {

struct Response {
  int status = 0;
  std::string body;
  httplib::Headers headers;  // case-insensitive names
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

// One request on a fresh connection to the Runtime API (plain HTTP on the sandbox's
// loopback). cpp-httplib rather than libcurl: libcurl and its dependency tree cost
// about 19 ms of dynamic linking and initialisation at every cold start.
absl::StatusOr<Response> Perform(const std::string& base, const std::string& path,
                                 const std::string* post_body, const std::string& error_type) {
  httplib::Client client(base);
  client.set_connection_timeout(std::chrono::seconds(5));
  client.set_read_timeout(std::chrono::hours(24));  // /next blocks until an event arrives
  client.set_write_timeout(std::chrono::seconds(60));
  httplib::Headers headers;
  if (!error_type.empty()) headers.emplace("Lambda-Runtime-Function-Error-Type", error_type);
  httplib::Result res = post_body == nullptr
                            ? client.Get(path)
                            : client.Post(path, headers, *post_body, "application/json");
  if (!res) {
    return absl::UnavailableError(absl::StrCat(base, path, ": ", httplib::to_string(res.error())));
  }
  Response r;
  r.status = res->status;
  r.body = std::move(res->body);
  r.headers = std::move(res->headers);
  return r;
}

std::string ErrorBody(const std::string& type, const std::string& message) {
  return nlohmann::json{
      {"errorType", type}, {"errorMessage", message}, {"stackTrace", nlohmann::json::array()}}
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

RuntimeApi::RuntimeApi(std::string endpoint) : base_(absl::StrCat("http://", endpoint)) {}

namespace {
constexpr char kApiPath[] = "/2018-06-01/runtime";
}  // namespace

absl::StatusOr<NextInvocation> RuntimeApi::Next() const {
  auto r = Perform(base_, absl::StrCat(kApiPath, "/invocation/next"), nullptr, "");
  if (!r.ok()) return r.status();
  if (r->status != 200) {
    return absl::UnavailableError(
        absl::StrCat("GET /invocation/next answered HTTP ", r->status, ": ", r->body));
  }
  NextInvocation inv;
  inv.request_id = r->Header("lambda-runtime-aws-request-id");
  if (inv.request_id.empty())
    return absl::DataLossError("/invocation/next answered without a request id");
  int64_t ms = 0;
  inv.deadline = absl::SimpleAtoi(r->Header("lambda-runtime-deadline-ms"), &ms)
                     ? absl::FromUnixMillis(ms)
                     : absl::InfiniteFuture();
  inv.trace_id = r->Header("lambda-runtime-trace-id");
  inv.function_arn = r->Header("lambda-runtime-invoked-function-arn");
  inv.event = std::move(r->body);
  return inv;
}

absl::Status RuntimeApi::Post(const std::string& path, const std::string& body,
                              const std::string& error_type) const {
  auto r = Perform(base_, absl::StrCat(kApiPath, path), &body, error_type);
  if (!r.ok()) return r.status();
  if (r->status != 202 && r->status != 200) {
    return absl::UnavailableError(
        absl::StrCat("POST ", path, " answered HTTP ", r->status, ": ", r->body));
  }
  return absl::OkStatus();
}

absl::Status RuntimeApi::PostResponse(const std::string& request_id,
                                      const std::string& body) const {
  return Post(absl::StrCat("/invocation/", request_id, "/response"), body, "");
}

absl::Status RuntimeApi::PostError(const std::string& request_id, const std::string& error_type,
                                   const std::string& message) const {
  return Post(absl::StrCat("/invocation/", request_id, "/error"), ErrorBody(error_type, message),
              error_type);
}

absl::Status RuntimeApi::PostInitError(const std::string& error_type,
                                       const std::string& message) const {
  return Post("/init/error", ErrorBody(error_type, message), error_type);
}

absl::Status RunLoop(const RuntimeApi& api, const EventHandler& handler) {
  for (;;) {
    auto inv = api.Next();
    if (!inv.ok()) return inv.status();
    // The X-Ray trace id of this invocation, as the Lambda documentation asks.
    if (!inv->trace_id.empty()) ::setenv("_X_AMZN_TRACE_ID", inv->trace_id.c_str(), 1);
    absl::StatusOr<std::string> out = absl::InternalError("handler did not run");
    try {
      out = handler(*inv);
    } catch (const std::exception& e) {
      out = absl::InternalError(absl::StrCat("handler threw: ", e.what()));
    } catch (...) {
      out = absl::InternalError("handler threw");
    }
    absl::Status posted = out.ok() ? api.PostResponse(inv->request_id, *out)
                                   : api.PostError(inv->request_id, "Runtime.HandlerError",
                                                   std::string(out.status().message()));
    // A refused post (e.g. an invocation that already timed out) does not stop the loop.
    (void)posted;
  }
}

}  // namespace simsearch::lambda
