#include "server/call_queues.h"

#include <sched.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace simsearch {

namespace {

std::string ReadSmallFile(const char* path) {
  std::ifstream in(path);
  std::string text;
  std::getline(in, text);
  return text;
}

}  // namespace

int CpusOfQuota(const std::string& v2_cpu_max, const std::string& v1_quota,
                const std::string& v1_period) {
  auto cpus = [](absl::string_view quota, absl::string_view period) {
    int64_t q = 0, p = 0;
    if (!absl::SimpleAtoi(quota, &q) || !absl::SimpleAtoi(period, &p) || q <= 0 || p <= 0) return 0;
    return static_cast<int>(std::min<int64_t>((q + p - 1) / p, 1 << 16));
  };
  if (!v2_cpu_max.empty()) {
    std::vector<absl::string_view> parts = absl::StrSplit(v2_cpu_max, ' ', absl::SkipEmpty());
    return parts.size() == 2 ? cpus(parts[0], absl::StripAsciiWhitespace(parts[1])) : 0;
  }
  return cpus(absl::StripAsciiWhitespace(v1_quota), absl::StripAsciiWhitespace(v1_period));
}

int UsableCpus() {
  int n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) n = CPU_COUNT(&set);
  const int quota = CpusOfQuota(ReadSmallFile("/sys/fs/cgroup/cpu.max"),
                                ReadSmallFile("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"),
                                ReadSmallFile("/sys/fs/cgroup/cpu/cpu.cfs_period_us"));
  return quota > 0 ? std::min(n, quota) : n;
}

CallQueues::CallQueues(int threads) {
  for (int i = 0; i < std::max(1, threads); ++i) {
    queues_.push_back(std::make_unique<CallQueue>());
    queues_.back()->owner = this;
  }
}

CallQueues::~CallQueues() {
  Stop();
}

void CallQueues::AddTo(grpc::ServerBuilder* builder) {
  for (auto& q : queues_) q->cq = builder->AddCompletionQueue();
}

void CallQueues::Start(absl::FunctionRef<void(CallQueue*)> arm) {
  started_ = true;
  for (auto& q : queues_) arm(q.get());
  for (auto& q : queues_) {
    threads_.emplace_back([cq = q->cq.get(), deferred = q->deferred] {
      void* tag;
      bool ok;
      for (;;) {
        if (deferred != nullptr && deferred->pending()) {
          // A deadline in the past: gRPC polls the sockets once without waiting, so the
          // calls that arrived meanwhile join the deferred work before it runs.
          const auto got = cq->AsyncNext(&tag, &ok, gpr_inf_past(GPR_CLOCK_MONOTONIC));
          if (got == grpc::CompletionQueue::TIMEOUT) {
            deferred->Run();
            continue;
          }
          if (got == grpc::CompletionQueue::SHUTDOWN) break;
        } else if (!cq->Next(&tag, &ok)) {
          break;
        }
        auto* queued = static_cast<QueuedTag*>(tag);
        queued->TakenFromGrpc();
        queued->Proceed(ok);
      }
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
