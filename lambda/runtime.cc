#include "lambda/runtime.h"

#include <curl/curl.h>
#include <stdlib.h>

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

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

size_t WriteBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t WriteHeader(char* data, size_t size, size_t n, void* out) {
  absl::string_view line(data, size * n);
  const size_t colon = line.find(':');
  if (colon != absl::string_view::npos) {
    auto* h = static_cast<std::vector<std::pair<std::string, std::string>>*>(out);
    h->emplace_back(absl::AsciiStrToLower(absl::StripAsciiWhitespace(line.substr(0, colon))),
                    std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
  }
  return size * n;
}

struct Response {
  long status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string Header(const std::string& name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return v;
    }
    return "";
  }
};

absl::StatusOr<Response> Perform(const std::string& url, const std::string* post_body,
                                 const std::string& error_type) {
  static CurlGlobal init;
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) return absl::InternalError("curl_easy_init failed");
  Response r;
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(curl.get(), CURLOPT_HEADERFUNCTION, WriteHeader);
  curl_easy_setopt(curl.get(), CURLOPT_HEADERDATA, &r.headers);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, 0L);  // /next blocks until an event arrives
  curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  struct curl_slist* headers = nullptr;
  if (post_body != nullptr) {
    curl_easy_setopt(curl.get(), CURLOPT_POST, 1L);
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, post_body->data());
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(post_body->size()));
    headers = curl_slist_append(headers, "Content-Type: application/json");
    if (!error_type.empty()) {
      headers = curl_slist_append(headers, absl::StrCat("Lambda-Runtime-Function-Error-Type: ", error_type).c_str());
    }
    curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers);
  }
  const CURLcode rc = curl_easy_perform(curl.get());
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat(url, ": ", curl_easy_strerror(rc)));
  }
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &r.status);
  return r;
}

std::string ErrorBody(const std::string& type, const std::string& message) {
  return nlohmann::json{{"errorType", type}, {"errorMessage", message}, {"stackTrace", nlohmann::json::array()}}
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

RuntimeApi::RuntimeApi(std::string endpoint) : base_(absl::StrCat("http://", endpoint, "/2018-06-01/runtime")) {}

absl::StatusOr<NextInvocation> RuntimeApi::Next() const {
  auto r = Perform(base_ + "/invocation/next", nullptr, "");
  if (!r.ok()) return r.status();
  if (r->status != 200) {
    return absl::UnavailableError(absl::StrCat("GET /invocation/next answered HTTP ", r->status, ": ", r->body));
  }
  NextInvocation inv;
  inv.request_id = r->Header("lambda-runtime-aws-request-id");
  if (inv.request_id.empty()) return absl::DataLossError("/invocation/next answered without a request id");
  int64_t ms = 0;
  inv.deadline = absl::SimpleAtoi(r->Header("lambda-runtime-deadline-ms"), &ms) ? absl::FromUnixMillis(ms)
                                                                               : absl::InfiniteFuture();
  inv.trace_id = r->Header("lambda-runtime-trace-id");
  inv.function_arn = r->Header("lambda-runtime-invoked-function-arn");
  inv.event = std::move(r->body);
  return inv;
}

absl::Status RuntimeApi::Post(const std::string& path, const std::string& body, const std::string& error_type) const {
  auto r = Perform(base_ + path, &body, error_type);
  if (!r.ok()) return r.status();
  if (r->status != 202 && r->status != 200) {
    return absl::UnavailableError(absl::StrCat("POST ", path, " answered HTTP ", r->status, ": ", r->body));
  }
  return absl::OkStatus();
}

absl::Status RuntimeApi::PostResponse(const std::string& request_id, const std::string& body) const {
  return Post(absl::StrCat("/invocation/", request_id, "/response"), body, "");
}

absl::Status RuntimeApi::PostError(const std::string& request_id, const std::string& error_type,
                                   const std::string& message) const {
  return Post(absl::StrCat("/invocation/", request_id, "/error"), ErrorBody(error_type, message), error_type);
}

absl::Status RuntimeApi::PostInitError(const std::string& error_type, const std::string& message) const {
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
