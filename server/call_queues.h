// Completion queues polled by threads of ours: how the engine's gRPC calls are taken
// and answered (docs/ARCHITECTURE.md, "Thread model").
//
// gRPC 1.51 serves its callback API from a process-wide completion queue drained by
// max(2, cores/2) "nexting" threads of its own, and those threads also poll the sockets:
// as soon as one callback method exists in the process (gRPC's built-in health service
// is one), every call's bytes may be read on one of them and handed over to the thread
// that answers. So every service of the engine's servers is served here, through the
// completion-queue API, by `threads` threads, each polling its own queue, which read a
// call and answer it without a hand-off.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/server_builder.h"

#ifdef SIMSEARCH_TSAN
#include <sanitizer/tsan_interface.h>
extern "C" void __tsan_ignore_thread_begin();  // in libtsan, not in its header
extern "C" void __tsan_ignore_thread_end();
#endif

namespace simsearch {

// Something waiting on a queue (a call, or a stream's next step). Its address is the tag.
class QueuedTag {
 public:
  // On the queue's thread: `ok` as gRPC reports it for the operation that completed.
  virtual void Proceed(bool ok) = 0;

  // The queue's thread takes the tag back from gRPC (before Proceed).
  void TakenFromGrpc() {
#ifdef SIMSEARCH_TSAN
    __tsan_acquire(this);
#endif
  }

 protected:
  ~QueuedTag() = default;
  // Starts a gRPC operation whose tag is `this`: `start` gets the tag and starts it.
  // On any thread but the queue's own, nothing of `this` may be touched after: the tag
  // may already be back on the queue's thread, which may delete it. (The queue's own
  // thread may go on until it returns to the queue: only it takes the tag back.) In ThreadSanitizer
  // builds the hand-over is marked at both ends (here and TakenFromGrpc), and what gRPC's inline
  // code does inside `start` (serialising an answer) is not recorded: Debian's gRPC is not
  // instrumented, so TSan cannot see that gRPC finishes that before the operation can complete.
  template <typename Start>
  void StartGrpcOp(Start start) {
#ifdef SIMSEARCH_TSAN
    __tsan_release(this);
    __tsan_ignore_thread_begin();
#endif
    start(static_cast<void*>(this));
#ifdef SIMSEARCH_TSAN
    __tsan_ignore_thread_end();
#endif
  }
};

// Work that calls read from a queue leave to be done together, once the queue has no
// event ready (the service answers concurrent searches as one batch this way). Used by
// the queue's own thread only.
class DeferredWork {
 public:
  virtual bool pending() const = 0;
  virtual void Run() = 0;  // does (or hands on) all the work left

 protected:
  ~DeferredWork() = default;
};

class CallQueues;

// One polling thread's queue. Calls are asked for under `mu`, only while it is open:
// gRPC aborts on an operation started on a queue that was shut down.
struct CallQueue {
  CallQueues* owner = nullptr;
  std::unique_ptr<grpc::ServerCompletionQueue> cq;
  absl::Mutex mu;
  bool closed ABSL_GUARDED_BY(mu) = false;
  // Set by `arm` (CallQueues::Start) before the thread starts; may stay null. While it
  // is pending, the thread only peeks at the queue, and runs it when nothing is ready.
  DeferredWork* deferred = nullptr;
};

class CallQueues {
 public:
  // `threads` >= 1 queues, each with its own polling thread.
  explicit CallQueues(int threads);
  ~CallQueues();  // Stop()
  CallQueues(const CallQueues&) = delete;
  CallQueues& operator=(const CallQueues&) = delete;

  // Before the builder builds the server.
  void AddTo(grpc::ServerBuilder* builder);
  // After the server started: `arm` asks for each queue's first calls, then the threads
  // begin polling.
  void Start(absl::FunctionRef<void(CallQueue*)> arm);
  // Runs `ask` (which creates a tag asking gRPC for a call on q->cq) unless the queue
  // is closed; false when closed.
  static bool Ask(CallQueue* q, absl::FunctionRef<void()> ask);
  // Tags count themselves: Stop waits for every one to be gone.
  void TagBorn() { live_.fetch_add(1, std::memory_order_relaxed); }
  void TagGone() { live_.fetch_sub(1, std::memory_order_release); }
  // After grpc::Server::Shutdown returned: no call is asked for any more; then, once
  // every tag is gone (a waiting request fails with the server's shutdown; a call in
  // progress finishes: Shutdown can return before a cancelled call's answer is handed
  // over), the queues shut down and their threads are joined. Idempotent.
  void Stop();

  int threads() const { return static_cast<int>(queues_.size()); }

 private:
  std::vector<std::unique_ptr<CallQueue>> queues_;
  std::vector<std::thread> threads_;
  std::atomic<int64_t> live_{0};
  bool started_ = false, stopped_ = false;  // Start's and Stop's, from one thread
};

// The CPUs this process may use: those it may run on (taskset, cpusets), at most its
// cgroup's CPU quota rounded up (a container's CPU limit), else the machine's.
int UsableCpus();

// The CPU quota of a cgroup, rounded up to whole CPUs, from the text of cgroup v2's
// `cpu.max` ("max 100000" or "150000 100000"), or of cgroup v1's `cpu.cfs_quota_us` and
// `cpu.cfs_period_us`; 0 when there is none or the text is not understood.
int CpusOfQuota(const std::string& v2_cpu_max, const std::string& v1_quota,
                const std::string& v1_period);

}  // namespace simsearch
