#include "core/errors.h"

#include <cstdint>
#include <optional>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace simsearch {
namespace {

// The payload's type URL (absl keys payloads by one) and its encoding: each field as its
// decimal length, ':' and its bytes, so a field may hold any byte.
constexpr absl::string_view kPayloadUrl = "type.simsearch.dev/simsearch.ErrorDetail";

void Put(std::string* out, absl::string_view field) {
  absl::StrAppend(out, field.size(), ":", field);
}

bool Take(absl::string_view* in, std::string* field) {
  const size_t colon = in->find(':');
  size_t n = 0;
  if (colon == absl::string_view::npos || !absl::SimpleAtoi(in->substr(0, colon), &n) ||
      n > in->size() - colon - 1) {
    return false;
  }
  *field = std::string(in->substr(colon + 1, n));
  in->remove_prefix(colon + 1 + n);
  return true;
}

std::string Encode(const ErrorDetail& d) {
  std::string out;
  Put(&out, d.reason);
  Put(&out, d.field);
  Put(&out, d.resource_type);
  Put(&out, d.resource_name);
  Put(&out, absl::StrCat(absl::ToInt64Milliseconds(d.retry_delay)));
  return out;
}

std::optional<ErrorDetail> Decode(absl::string_view in) {
  ErrorDetail d;
  std::string delay;
  int64_t ms = 0;
  if (!Take(&in, &d.reason) || !Take(&in, &d.field) || !Take(&in, &d.resource_type) ||
      !Take(&in, &d.resource_name) || !Take(&in, &delay) || !absl::SimpleAtoi(delay, &ms)) {
    return std::nullopt;
  }
  d.retry_delay = absl::Milliseconds(ms);
  return d;
}

}  // namespace

absl::Status WithDetail(absl::Status st, const ErrorDetail& detail) {
  if (st.ok()) return st;
  st.SetPayload(kPayloadUrl, absl::Cord(Encode(detail)));
  return st;
}

std::string DefaultReason(absl::StatusCode code) {
  if (code == absl::StatusCode::kDataLoss) return std::string(reason::kVersionDamaged);
  std::string name = absl::StatusCodeToString(code);  // "INVALID_ARGUMENT"
  return name.empty() ? "UNKNOWN" : name;
}

ErrorDetail DetailOf(const absl::Status& st) {
  if (st.ok()) return {};
  ErrorDetail d;
  if (auto p = st.GetPayload(kPayloadUrl)) {
    if (std::optional<ErrorDetail> decoded = Decode(std::string(*p))) d = std::move(*decoded);
  }
  if (d.reason.empty()) d.reason = DefaultReason(st.code());
  return d;
}

std::string ReasonOf(const absl::Status& st) {
  return DetailOf(st).reason;
}

absl::string_view HttpStatusReason(int status) {
  switch (status) {
    case 404:
      return "NOT_FOUND";
    case 405:
      return reason::kMethodNotAllowed;
    case 408:
      return reason::kRequestTimeout;
    case 413:
    case 431:
      return reason::kRequestTooLarge;
    case 502:
      return reason::kEngineUnavailable;
    case 503:
      return reason::kServerBusy;
    case 504:
      return "DEADLINE_EXCEEDED";
    default:
      return status < 500 ? reason::kInvalidArgument : "INTERNAL";
  }
}

absl::Status WithMessage(const absl::Status& st, absl::string_view message) {
  absl::Status out(st.code(), message);
  st.ForEachPayload([&out](absl::string_view url, const absl::Cord& p) { out.SetPayload(url, p); });
  return out;
}

absl::Status InField(absl::Status st, absl::string_view prefix) {
  if (st.ok()) return st;
  ErrorDetail d = DetailOf(st);
  if (d.field.empty() && st.code() != absl::StatusCode::kInvalidArgument) return st;
  d.field = d.field.empty() ? std::string(prefix) : absl::StrCat(prefix, ".", d.field);
  return WithDetail(std::move(st), d);
}

absl::Status WithReason(absl::Status st, absl::string_view reason, absl::string_view field) {
  ErrorDetail d;
  d.reason = std::string(reason);
  d.field = std::string(field);
  return WithDetail(std::move(st), d);
}

absl::Status WithResource(absl::Status st, absl::string_view reason, absl::string_view type,
                          absl::string_view name) {
  ErrorDetail d;
  d.reason = std::string(reason);
  d.resource_type = std::string(type);
  d.resource_name = std::string(name);
  return WithDetail(std::move(st), d);
}

absl::Status InvalidFieldError(absl::string_view field, absl::string_view reason,
                               absl::string_view message) {
  return WithReason(absl::InvalidArgumentError(message), reason, field);
}

absl::Status NotFoundResourceError(absl::string_view reason, absl::string_view type,
                                   absl::string_view name, absl::string_view message) {
  return WithResource(absl::NotFoundError(message), reason, type, name);
}

}  // namespace simsearch
