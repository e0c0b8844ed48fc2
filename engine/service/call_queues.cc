#include "engine/service/call_queues.h"

#include <sched.h>

#include <algorithm>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace simsearch {

int UsableCpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

CallQueues::CallQueues(int threads) {
  for (int i = 0; i < std::max(1, threads); ++i) {
    queues_.push_back(std::make_unique<CallQueue>());
    queues_.back()->owner = this;
  }
}

CallQueues::~CallQueues() { Stop(); }

void CallQueues::AddTo(grpc::ServerBuilder* builder) {
  for (auto& q : queues_) q->cq = builder->AddCompletionQueue();
}

void CallQueues::Start(absl::FunctionRef<void(CallQueue*)> arm) {
  started_ = true;
  for (auto& q : queues_) arm(q.get());
  for (auto& q : queues_) {
    threads_.emplace_back([cq = q->cq.get()] {
      void* tag;
      bool ok;
      while (cq->Next(&tag, &ok)) static_cast<QueuedTag*>(tag)->Proceed(ok);
    });
  }
}

bool CallQueues::Ask(CallQueue* q, absl::FunctionRef<void()> ask) {
  absl::MutexLock lock(&q->mu);
  if (q->closed) return false;
  ask();
  return true;
}

void CallQueues::Stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& q : queues_) {
    absl::MutexLock lock(&q->mu);
    q->closed = true;
  }
  if (started_) {
    while (live_.load(std::memory_order_acquire) > 0) absl::SleepFor(absl::Milliseconds(1));
  }
  for (auto& q : queues_) {
    if (q->cq != nullptr) q->cq->Shutdown();
  }
  for (std::thread& t : threads_) t.join();
  if (!started_) {  // a queue must be drained before it goes
    for (auto& q : queues_) {
      if (q->cq == nullptr) continue;
      void* tag;
      bool ok;
      while (q->cq->Next(&tag, &ok)) {
      }
    }
  }
}

}  // namespace simsearch
