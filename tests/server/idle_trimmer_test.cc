// The idle trimmer: trims once calls finished and none is in flight, never while busy,
// never without finished calls, and stops when asked.
#include "server/idle_trimmer.h"

#include <gtest/gtest.h>

#include <atomic>

#include "absl/time/clock.h"

namespace simsearch {
namespace {

constexpr absl::Duration kPeriod = absl::Milliseconds(5);

// Waits (up to 10 s) until `done`; true if it happened.
template <typename F>
bool WaitFor(F done) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

TEST(IdleTrimmer, TrimsOnlyAfterCallsFinishedAndWhenIdle) {
  std::atomic<bool> idle{false};
  std::atomic<int> trims{0}, looks{0};
  IdleTrimmer trimmer(
      [&] {
        ++looks;
        return idle.load();
      },
      [&] { ++trims; }, kPeriod);

  // No call finished: it does not even look.
  absl::SleepFor(20 * kPeriod);
  EXPECT_EQ(looks.load(), 0);
  EXPECT_EQ(trims.load(), 0);

  // A call finished while others are in flight: it looks, does not trim, looks again.
  trimmer.CallDone();
  ASSERT_TRUE(WaitFor([&] { return looks.load() >= 3; }));
  EXPECT_EQ(trims.load(), 0);

  // Idle now: one trim, then nothing more until the next call finishes.
  idle = true;
  ASSERT_TRUE(WaitFor([&] { return trims.load() == 1; }));
  absl::SleepFor(20 * kPeriod);
  EXPECT_EQ(trims.load(), 1);
  // Two calls while busy, then idle: one trim for both.
  idle = false;
  trimmer.CallDone();
  trimmer.CallDone();
  const int seen = looks.load();
  ASSERT_TRUE(WaitFor([&] { return looks.load() > seen; }));
  idle = true;
  ASSERT_TRUE(WaitFor([&] { return trims.load() == 2; }));
  absl::SleepFor(20 * kPeriod);
  EXPECT_EQ(trims.load(), 2) << "two calls since the last look make one trim";
}

TEST(IdleTrimmer, StopsAndStaysSafeToTell) {
  std::atomic<int> trims{0};
  IdleTrimmer trimmer([] { return true; }, [&] { ++trims; }, absl::Hours(1));
  trimmer.Stop();      // does not wait for the hour (if it did, the test would time out)
  trimmer.CallDone();  // after Stop: counted, never trimmed
  trimmer.Stop();      // twice is fine
  EXPECT_EQ(trims.load(), 0);
}

}  // namespace
}  // namespace simsearch
