// A fixed number of job slots, fed by a bounded FIFO queue: what bounds the threads and
// the calls a server holds. At most `workers` jobs run at once; a job that finds every
// slot busy waits in the queue for one of the worker threads, and a job that finds the
// queue full is refused at once (the caller answers RESOURCE_EXHAUSTED) instead of
// making a thread or waiting unseen.
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
  // At most `workers` (>= 1) jobs run at once, in submission order among the queued;
  // at most `max_queued` jobs (>= 0) wait.
  WorkQueue(int workers, int max_queued);
  // Runs every job already accepted, then joins the worker threads.
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Queues `job` for a worker thread; false (and `job` dropped) when max_queued jobs
  // are already waiting.
  bool TrySubmit(std::function<void()> job);

  // Runs `job` on the calling thread when a slot is free and nothing waits (saving the
  // hand-off to a worker thread: a wake-up, ~50 us on a loaded 2-core VM); else as
  // TrySubmit. Returns false only when the job was refused.
  bool RunOrSubmit(std::function<void()> job);

  int workers() const { return workers_; }
  int max_queued() const { return max_queued_; }
  // Jobs waiting and jobs running, at this instant.
  size_t queued() const;
  size_t running() const;

 private:
  void Work();
  const int workers_;
  const int max_queued_;
  mutable absl::Mutex mu_;
  std::deque<std::function<void()>> jobs_ ABSL_GUARDED_BY(mu_);
  size_t running_ ABSL_GUARDED_BY(mu_) = 0;  // on worker threads and on callers
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace simsearch
