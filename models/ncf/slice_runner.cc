#include "models/ncf/slice_runner.h"

namespace simsearch::ncf {

SliceRunner::SliceRunner(int threads) {
  for (int t = 1; t < threads; ++t) workers_.emplace_back([this] { WorkerLoop(); });
}

SliceRunner::~SliceRunner() {
  stop_.store(true);
  state_.fetch_add(uint64_t{1} << (2 * kBits));  // a new generation wakes everyone
  state_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void SliceRunner::Work(uint64_t seen) {
  // fn_ was read after `seen` was observed; a successful take below proves the
  // generation had slices left then, so Run had not moved on and fn_ was this
  // generation's.
  const std::function<void(int)>* fn = fn_.load(std::memory_order_relaxed);
  uint64_t cur = seen;
  for (;;) {
    const uint64_t next = cur & kMask, n = (cur >> kBits) & kMask;
    if ((cur >> (2 * kBits)) != (seen >> (2 * kBits)) || next >= n) return;
    if (state_.compare_exchange_weak(cur, cur + 1, std::memory_order_acq_rel)) {
      (*fn)(static_cast<int>(next));
      done_.fetch_add(1, std::memory_order_release);
      cur = state_.load(std::memory_order_acquire);
    }
  }
}

void SliceRunner::WorkerLoop() {
  uint64_t seen = state_.load(std::memory_order_acquire);
  for (;;) {
    // Batches come back to back: look for the next one for a few microseconds before
    // sleeping, since a futex wake-up costs more than a small batch's slice. A paused
    // or busy machine ends the spin at once (yield), so it takes no core from others.
    uint64_t now = state_.load(std::memory_order_acquire);
    for (int spin = 0; now == seen && spin < kSpins; ++spin) {
      std::this_thread::yield();
      now = state_.load(std::memory_order_acquire);
    }
    if (now == seen) {
      state_.wait(seen, std::memory_order_acquire);
      now = state_.load(std::memory_order_acquire);
    }
    if (stop_.load()) return;
    // Only a new generation is news; a slice being taken changes the word too.
    if ((now >> (2 * kBits)) != (seen >> (2 * kBits))) Work(now);
    seen = now;
  }
}

void SliceRunner::Run(int n, const std::function<void(int)>& fn) {
  if (n <= 0) return;
  if (workers_.empty()) {
    for (int s = 0; s < n; ++s) fn(s);
    return;
  }
  fn_.store(&fn, std::memory_order_relaxed);
  done_.store(0, std::memory_order_relaxed);
  const uint64_t generation = (state_.load(std::memory_order_relaxed) >> (2 * kBits)) + 1;
  const uint64_t word = (generation << (2 * kBits)) | (static_cast<uint64_t>(n) << kBits);
  state_.store(word, std::memory_order_release);
  state_.notify_all();
  Work(word);
  // Wait for slices a worker took and is still running.
  for (int spins = 0; done_.load(std::memory_order_acquire) < n; ++spins) {
    if (spins > 64) std::this_thread::yield();
  }
}

}  // namespace simsearch::ncf
