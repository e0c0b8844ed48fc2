// A fixed pool of worker threads fed by a bounded FIFO queue: what bounds the threads
// and the calls a server holds. A job that finds the queue full is refused at once (the
// caller answers RESOURCE_EXHAUSTED) instead of making a thread or waiting unseen.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace simsearch {

class WorkQueue {
 public:
  // `workers` threads (>= 1) run jobs in submission order; at most `max_queued` jobs
  // (>= 0) wait for a worker.
  WorkQueue(int workers, int max_queued);
  // Runs every job already accepted, then joins the workers.
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Queues `job`; false (and `job` dropped) when max_queued jobs are already waiting.
  bool TrySubmit(std::function<void()> job);

  int workers() const { return static_cast<int>(threads_.size()); }
  int max_queued() const { return max_queued_; }
  // Jobs waiting and jobs running, at this instant.
  size_t queued() const;
  size_t running() const;

 private:
  void Work();
  const int max_queued_;
  mutable absl::Mutex mu_;
  std::deque<std::function<void()>> jobs_ ABSL_GUARDED_BY(mu_);
  size_t running_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace simsearch
