// How many polling threads the engine starts by default: the CPUs it may use, at most a
// container's CPU limit (cgroup quota, rounded up).
#include "server/call_queues.h"

#include <gtest/gtest.h>
#include <sched.h>

namespace simsearch {
namespace {

TEST(CallQueues, CpusOfQuotaReadsCgroupV2AndV1) {
  // cgroup v2: "QUOTA PERIOD", or "max" for none.
  EXPECT_EQ(CpusOfQuota("max 100000", "", ""), 0);
  EXPECT_EQ(CpusOfQuota("200000 100000", "", ""), 2);
  EXPECT_EQ(CpusOfQuota("150000 100000", "", ""), 2);  // 1.5 CPUs: rounded up
  EXPECT_EQ(CpusOfQuota("50000 100000", "", ""), 1);
  EXPECT_EQ(CpusOfQuota("100000 100000\n", "", ""), 1);
  // cgroup v1: quota -1 for none.
  EXPECT_EQ(CpusOfQuota("", "-1", "100000"), 0);
  EXPECT_EQ(CpusOfQuota("", "400000", "100000"), 4);
  EXPECT_EQ(CpusOfQuota("", "250000", "100000"), 3);
  // Nothing there, or text we do not understand: no limit.
  EXPECT_EQ(CpusOfQuota("", "", ""), 0);
  EXPECT_EQ(CpusOfQuota("garbage", "", ""), 0);
  EXPECT_EQ(CpusOfQuota("1 2 3", "", ""), 0);
  EXPECT_EQ(CpusOfQuota("", "100000", "0"), 0);
  EXPECT_EQ(CpusOfQuota("", "x", "100000"), 0);
}

TEST(CallQueues, UsableCpusFollowsTheAffinityMask) {
  cpu_set_t all;
  ASSERT_EQ(sched_getaffinity(0, sizeof(all), &all), 0);
  const int n = UsableCpus();
  EXPECT_GE(n, 1);
  EXPECT_LE(n, CPU_COUNT(&all));
  // Restricted to one CPU (as `taskset -c`), this thread's process sees one. The mask
  // is per thread on Linux; sched_getaffinity(0) reads the calling thread's.
  cpu_set_t one;
  CPU_ZERO(&one);
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &all)) {
      CPU_SET(cpu, &one);
      break;
    }
  }
  ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
  EXPECT_EQ(UsableCpus(), 1);
  ASSERT_EQ(sched_setaffinity(0, sizeof(all), &all), 0);
}

}  // namespace
}  // namespace simsearch
