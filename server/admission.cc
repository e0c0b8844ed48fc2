#include "server/admission.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/errors.h"

namespace simsearch {

namespace {
// How long a caller refused for a busy server is asked to wait (RetryInfo): about the
// time the answers in flight take to drain.
constexpr absl::Duration kBusyRetryDelay = absl::Milliseconds(100);
}  // namespace

Admission::Admission(int64_t max_inflight_bytes, int64_t max_response_bytes, const TokenSet* tokens)
    : max_inflight_bytes_(max_inflight_bytes),
      max_response_bytes_(max_response_bytes),
      tokens_(tokens) {}

Admission::Ticket::Ticket(Admission* admission) : admission_(admission) {
  admission_->calls_in_flight_.fetch_add(1, std::memory_order_relaxed);
}

Admission::Ticket::~Ticket() {
  admission_->inflight_bytes_.fetch_sub(bytes_);
  admission_->calls_in_flight_.fetch_sub(1, std::memory_order_relaxed);
}

absl::Status Admission::Ticket::Admit(std::optional<absl::string_view> authorization,
                                      int64_t estimate) {
  Admission& a = *admission_;
  if (a.tokens_ != nullptr && (!authorization || !a.tokens_->Allows(*authorization))) {
    return absl::UnauthenticatedError(kUnauthenticatedMessage);
  }
  estimate = std::min(estimate, a.max_response_bytes_);
  const int64_t held = a.inflight_bytes_.fetch_add(estimate) + estimate;
  if (held > a.max_inflight_bytes_ && held != estimate) {  // alone, a call always runs
    a.inflight_bytes_.fetch_sub(estimate);
    ErrorDetail busy;
    busy.reason = std::string(reason::kServerBusy);
    busy.retry_delay = kBusyRetryDelay;
    return WithDetail(
        absl::ResourceExhaustedError(absl::StrCat(
            "server busy: the answers of the calls in progress take ",
            a.inflight_bytes_.load() >> 20, " MiB (limit ", a.max_inflight_bytes_ >> 20,
            " MiB); retry with backoff, or ask for fewer hits")),
        busy);
  }
  bytes_ += estimate;
  return absl::OkStatus();
}

void Admission::Ticket::Settle(int64_t response_bytes) {
  admission_->inflight_bytes_.fetch_add(response_bytes - bytes_);
  bytes_ = response_bytes;
}

absl::Status Admission::CheckAnswerSize(int64_t bytes) const {
  if (bytes <= max_response_bytes_) return absl::OkStatus();
  return WithReason(
      absl::ResourceExhaustedError(absl::StrCat(
          "the answer would be ", bytes, " bytes, more than the ", max_response_bytes_,
          " this server sends (standard gRPC clients accept 4 MiB by default); ask for "
          "fewer hits: lower top_k or split the batch")),
      reason::kAnswerTooLarge, "top_k");
}

}  // namespace simsearch
