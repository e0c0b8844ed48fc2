// Runs the fixed slices of one step of work on a few threads, such that a thread the
// scheduler has paused does not hold the others up.
//
// The trainer splits each minibatch into `threads` fixed slices, each with its own
// gradient buffer, summed in slice order afterwards: the numbers depend on the thread
// count only, never on which thread ran which slice. With an OpenMP parallel region per
// batch, every thread had to reach the barrier: on a machine where another process
// keeps a core busy, a batch of 256 samples (tens of microseconds of work) waited out a
// scheduler time slice for the descheduled thread, and 2 threads trained 20x slower
// than 1 (docs/BENCHMARKS.md). Here a slice is taken by whichever thread comes first;
// the caller takes slices too, so a paused worker costs nothing unless it is paused in
// the middle of a slice it took. Idle workers sleep on a futex (std::atomic::wait), not
// spinning.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

namespace simsearch::ncf {

class SliceRunner {
 public:
  // `threads` - 1 workers; the caller of Run is the other thread.
  explicit SliceRunner(int threads);
  ~SliceRunner();
  SliceRunner(const SliceRunner&) = delete;
  SliceRunner& operator=(const SliceRunner&) = delete;

  // Calls fn(s) once for every s in [0, n), on this thread and the workers, and returns
  // when all calls have returned. n <= 2^20.
  void Run(int n, const std::function<void(int)>& fn);

 private:
  // The state word: generation (24 bits) | slices (20) | next slice to take (20).
  static constexpr int kBits = 20;
  static constexpr uint64_t kMask = (uint64_t{1} << kBits) - 1;
  static constexpr int kSpins = 200;  // yields before a worker sleeps
  void Work(uint64_t seen);  // take slices of the generation `seen` names
  void WorkerLoop();

  std::atomic<uint64_t> state_{0};
  std::atomic<int> done_{0};
  std::atomic<bool> stop_{false};
  std::atomic<const std::function<void(int)>*> fn_{nullptr};  // valid while its generation runs
  std::vector<std::thread> workers_;
};

}  // namespace simsearch::ncf
