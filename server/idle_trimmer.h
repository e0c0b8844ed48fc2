// Gives the allocator's free pages back after a burst of calls. glibc keeps the pages
// its arenas freed (one arena per thread that allocated), so without this the process
// would stay at its peak size. Once a period, if calls finished since the last look
// and `idle` says none is in flight now, `trim` runs (malloc_trim(0) by default);
// docs/RELIABILITY.md has the measurement.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace simsearch {

class IdleTrimmer {
 public:
  // Starts the thread. `idle` and `trim` run on it.
  explicit IdleTrimmer(std::function<bool()> idle, std::function<void()> trim = nullptr,
                       absl::Duration period = absl::Seconds(1));
  ~IdleTrimmer();  // Stop()
  // Stops the thread (within a period) and joins it; CallDone stays safe to call.
  void Stop();
  IdleTrimmer(const IdleTrimmer&) = delete;
  IdleTrimmer& operator=(const IdleTrimmer&) = delete;

  // A call finished: the next idle look trims.
  void CallDone() { calls_done_.fetch_add(1, std::memory_order_relaxed); }

 private:
  void Loop();

  const std::function<bool()> idle_;
  const std::function<void()> trim_;
  const absl::Duration period_;
  std::atomic<int64_t> calls_done_{0};  // since the last look
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace simsearch
