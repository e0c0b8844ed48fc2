// ThreadSanitizer builds only: proves the TSan run can fail, and that the abseil shim
// (tsan_absl.cc) shows TSan our locks. ./scripts/test.sh --tsan runs it twice:
//   tsan_canary locked   two threads write one counter under an absl::Mutex (and hand
//                        over through Await and a Notification): must pass, no report
//   tsan_canary race     the same writes without the lock: TSan must report a race
#include <cstdio>
#include <cstring>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace {

absl::Mutex mu;
long counter ABSL_GUARDED_BY(mu) = 0;
long unguarded = 0;
long handed = 0;  // written before Notify, read after WaitForNotification

void Locked() {
  absl::Notification ready;
  std::thread other([&] {
    handed = 42;
    ready.Notify();
    for (int i = 0; i < 1000; ++i) {
      absl::MutexLock lock(&mu);
      ++counter;
    }
  });
  ready.WaitForNotification();
  const long seen = handed;
  for (int i = 0; i < 1000; ++i) {
    absl::MutexLock lock(&mu);
    ++counter;
  }
  {
    absl::MutexLock lock(&mu);
    auto done = []() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return counter == 2000; };
    mu.Await(absl::Condition(&done));
  }
  other.join();
  absl::ReaderMutexLock lock(&mu);
  std::printf("locked: counter %ld, handed %ld\n", counter, seen);
}

void Race() {
  std::thread other([] {
    for (int i = 0; i < 1000; ++i) ++unguarded;
  });
  for (int i = 0; i < 1000; ++i) ++unguarded;
  other.join();
  std::printf("race: counter %ld\n", unguarded);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "locked") == 0) {
    Locked();
  } else if (argc == 2 && std::strcmp(argv[1], "race") == 0) {
    Race();
  } else {
    std::fprintf(stderr, "usage: tsan_canary locked|race\n");
    return 2;
  }
  return 0;
}
