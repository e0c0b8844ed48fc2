#include "runtime/work_queue.h"

#include <algorithm>

namespace simsearch {

WorkQueue::WorkQueue(int workers, int max_queued)
    : workers_(std::max(1, workers)), max_queued_(std::max(0, max_queued)) {
  threads_.reserve(static_cast<size_t>(workers_));
  for (int i = 0; i < workers_; ++i) threads_.emplace_back([this] { Work(); });
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
  // Refused only when every slot is busy and the queue is full.
  const size_t idle =
      static_cast<size_t>(workers_) - std::min(running_, static_cast<size_t>(workers_));
  if (jobs_.size() >= static_cast<size_t>(max_queued_) + idle) return false;
  jobs_.push_back(std::move(job));
  return true;
}

bool WorkQueue::RunOrSubmit(std::function<void()> job) {
  bool here;
  {
    absl::MutexLock lock(&mu_);
    here = !stop_ && jobs_.empty() && running_ < static_cast<size_t>(workers_);
    if (here) ++running_;
  }
  if (!here) return TrySubmit(std::move(job));
  job();
  absl::MutexLock lock(&mu_);
  --running_;
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
      auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return (stop_ && jobs_.empty()) ||
               (!jobs_.empty() && running_ < static_cast<size_t>(workers_));
      };
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
