#include "core/work_queue.h"

#include <algorithm>

namespace simsearch {

WorkQueue::WorkQueue(int workers, int max_queued) : max_queued_(std::max(0, max_queued)) {
  const int n = std::max(1, workers);
  threads_.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) threads_.emplace_back([this] { Work(); });
}

WorkQueue::~WorkQueue() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  for (std::thread& t : threads_) t.join();
}

bool WorkQueue::TrySubmit(std::function<void()> job) {
  absl::MutexLock lock(&mu_);
  if (stop_) return false;
  // A job is refused only when every worker is busy and the queue is full.
  if (jobs_.size() >= static_cast<size_t>(max_queued_) + (threads_.size() - std::min(running_, threads_.size()))) {
    return false;
  }
  jobs_.push_back(std::move(job));
  return true;
}

size_t WorkQueue::queued() const {
  absl::MutexLock lock(&mu_);
  return jobs_.size();
}

size_t WorkQueue::running() const {
  absl::MutexLock lock(&mu_);
  return running_;
}

void WorkQueue::Work() {
  for (;;) {
    std::function<void()> job;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stop_ || !jobs_.empty(); };
      mu_.Await(absl::Condition(&ready));
      if (jobs_.empty()) return;  // stopping, and nothing left to run
      job = std::move(jobs_.front());
      jobs_.pop_front();
      ++running_;
    }
    job();
    absl::MutexLock lock(&mu_);
    --running_;
  }
}

}  // namespace simsearch
