#include "server/idle_trimmer.h"

#include <malloc.h>

#include <utility>

namespace simsearch {

IdleTrimmer::IdleTrimmer(std::function<bool()> idle, std::function<void()> trim,
                         absl::Duration period)
    : idle_(std::move(idle)),
      trim_(trim ? std::move(trim) : [] { malloc_trim(0); }),
      period_(period) {
  thread_ = std::thread([this] { Loop(); });
}

IdleTrimmer::~IdleTrimmer() {
  Stop();
}

void IdleTrimmer::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void IdleTrimmer::Loop() {
  absl::MutexLock lock(&mu_);
  for (;;) {
    auto stop = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stop_; };
    if (mu_.AwaitWithTimeout(absl::Condition(&stop), period_)) return;
    if (calls_done_.exchange(0) == 0) continue;
    if (!idle_()) {
      calls_done_.fetch_add(1);  // look again next time
      continue;
    }
    trim_();
  }
}

}  // namespace simsearch
