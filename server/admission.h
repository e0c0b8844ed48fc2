// Admission control for the gRPC service: who may call, and how many answer bytes the
// calls in progress may hold.
//
// Every call holds a Ticket from its arrival until gRPC is done sending its answer. At
// admission the ticket checks the bearer token (when the service has a TokenSet) and
// reserves the answer's likely size, capped at max_response_bytes, against
// max_inflight_bytes; once the answer is built, its real size replaces the estimate.
// A call is refused when the calls before it already hold the budget, never when it is
// alone: a single call larger than the budget still runs (its size is checked against
// max_response_bytes instead, by CheckAnswerSize).
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/auth.h"

namespace simsearch {

class Admission {
 public:
  // `tokens`: nullptr, or the tokens a call must carry (it must outlive this object).
  Admission(int64_t max_inflight_bytes, int64_t max_response_bytes, const TokenSet* tokens);
  Admission(const Admission&) = delete;
  Admission& operator=(const Admission&) = delete;

  // One call's share. It counts as in flight from construction to destruction.
  class Ticket {
   public:
    explicit Ticket(Admission* admission);
    ~Ticket();
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;

    // `authorization`: the call's "authorization" metadata, if it has one. OK, having
    // reserved min(estimate, max_response_bytes); else UNAUTHENTICATED or
    // RESOURCE_EXHAUSTED with a message that says what to do, and nothing reserved.
    absl::Status Admit(std::optional<absl::string_view> authorization, int64_t estimate);
    // The answer is built: `response_bytes` replaces what was reserved until this
    // ticket is destroyed.
    void Settle(int64_t response_bytes);
    int64_t held_bytes() const { return bytes_; }

   private:
    Admission* const admission_;
    int64_t bytes_ = 0;
  };

  // OK, or RESOURCE_EXHAUSTED saying what to lower when an answer of `bytes` is more
  // than this server sends.
  absl::Status CheckAnswerSize(int64_t bytes) const;

  int64_t max_response_bytes() const { return max_response_bytes_; }
  int64_t max_inflight_bytes() const { return max_inflight_bytes_; }
  // Bytes reserved for, then taken by, the answers of the calls holding a ticket.
  int64_t inflight_bytes() const { return inflight_bytes_.load(); }
  // Calls holding a ticket (queued, running or sending their answer).
  int64_t calls_in_flight() const { return calls_in_flight_.load(std::memory_order_relaxed); }

 private:
  const int64_t max_inflight_bytes_;
  const int64_t max_response_bytes_;
  const TokenSet* const tokens_;
  std::atomic<int64_t> inflight_bytes_{0};
  std::atomic<int64_t> calls_in_flight_{0};
};

}  // namespace simsearch
