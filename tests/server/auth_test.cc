// Bearer tokens: what the file holds at each reload is what is accepted, so removing a
// token revokes it, an empty file refuses everyone, and a deleted file fails closed.
#include "server/auth.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/file_util.h"
#include "tests/testing/test_util.h"

namespace simsearch {
namespace {

using ::testing::HasSubstr;

TEST(TokenSet, WhatTheFileHoldsAtEachReloadIsWhatIsAccepted) {
  testing::TempDir dir;
  const std::string path = dir.Join("tokens");
  EXPECT_THAT(TokenSet::Load(path).status().message(), HasSubstr("is missing"));
  ASSERT_TRUE(WriteStringToFile(path, "# none yet\n\n").ok());
  EXPECT_THAT(TokenSet::Load(path).status().message(), HasSubstr("holds no token"))
      << "refused at start";

  ASSERT_TRUE(WriteStringToFile(path, "# tokens\n  alpha-1  \nbeta-2\n").ok());
  auto set = TokenSet::Load(path);
  ASSERT_TRUE(set.ok()) << set.status();
  TokenSet& t = **set;
  EXPECT_EQ(t.size(), 2u);
  EXPECT_TRUE(t.Allows("Bearer alpha-1"));
  EXPECT_TRUE(t.Allows("bearer beta-2"));
  EXPECT_FALSE(t.Allows("Bearer gamma-3"));
  EXPECT_FALSE(t.Allows("alpha-1")) << "the scheme is required";
  EXPECT_FALSE(t.Allows("Bearer alpha"));

  // Revoking one token.
  ASSERT_TRUE(WriteStringToFile(path, "beta-2\n").ok());
  auto changed = t.Reload();
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_TRUE(*changed);
  EXPECT_FALSE(t.Allows("Bearer alpha-1"));
  EXPECT_TRUE(t.Allows("Bearer beta-2"));
  changed = t.Reload();
  ASSERT_TRUE(changed.ok());
  EXPECT_FALSE(*changed) << "the same file: nothing changed";

  // Revoking every token: an empty file.
  ASSERT_TRUE(WriteStringToFile(path, "").ok());
  changed = t.Reload();
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_TRUE(*changed);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_FALSE(t.Allows("Bearer beta-2")) << "an empty file kept the old tokens before";

  // A deleted file fails closed, and a restored one is read again.
  ASSERT_TRUE(WriteStringToFile(path, "beta-2\n").ok());
  ASSERT_TRUE(t.Reload().ok());
  ASSERT_TRUE(t.Allows("Bearer beta-2"));
  ASSERT_EQ(::unlink(path.c_str()), 0);
  changed = t.Reload();
  EXPECT_FALSE(changed.ok());
  EXPECT_THAT(changed.status().message(), HasSubstr(path));
  EXPECT_FALSE(t.Allows("Bearer beta-2"));
  ASSERT_TRUE(WriteStringToFile(path, "beta-2\n").ok());
  changed = t.Reload();
  ASSERT_TRUE(changed.ok());
  EXPECT_TRUE(*changed);
  EXPECT_TRUE(t.Allows("Bearer beta-2"));

  // A file that is there but cannot be read (here a directory; in production, say, out
  // of descriptors under a flood) may be a passing fault: the tokens in use stay.
  ASSERT_EQ(::unlink(path.c_str()), 0);
  ASSERT_EQ(::mkdir(path.c_str(), 0700), 0);
  changed = t.Reload();
  EXPECT_FALSE(changed.ok());
  EXPECT_FALSE(absl::IsNotFound(changed.status())) << changed.status();
  EXPECT_TRUE(t.Allows("Bearer beta-2"));
  ::rmdir(path.c_str());
}

}  // namespace
}  // namespace simsearch

namespace simsearch {
namespace {

// The token check runs on gRPC's threads while the reloader rewrites the set: readers
// see the old tokens or the new ones, never none (and ThreadSanitizer, which cannot
// follow gRPC's threads, checks the locking here, without gRPC).
TEST(TokenSet, ChecksDuringReloadsSeeTheOldOrTheNewTokens) {
  testing::TempDir dir;
  const std::string path = dir.Join("tokens");
  ASSERT_TRUE(WriteStringToFile(path, "alpha\nbeta\n").ok());
  auto set = TokenSet::Load(path);
  ASSERT_TRUE(set.ok()) << set.status();
  TokenSet& t = **set;
  std::atomic<bool> stop{false};
  std::atomic<int> neither{0}, checks{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        // alpha is in both files: every check at any moment accepts it, and the set is
        // never seen empty.
        if (!t.Allows("Bearer alpha") || t.size() != 2) ++neither;
        ++checks;
      }
    });
  }
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(WriteStringToFile(path, i % 2 ? "alpha\nbeta\n" : "alpha\ngamma\n").ok());
    ASSERT_TRUE(t.Reload().ok());
  }
  stop = true;
  for (auto& r : readers) r.join();
  EXPECT_EQ(neither.load(), 0);
  EXPECT_GT(checks.load(), 0);
}

}  // namespace
}  // namespace simsearch
