// Hot reload at the registry level: new versions swap in, bad ones are rejected.
#include "engine/registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "core/array_file.h"
#include "core/file_util.h"
#include "tests/testing/test_util.h"

namespace simsearch {
namespace {

using ::testing::HasSubstr;
using Kind = RegistryEvent::Kind;

class RegistryTest : public ::testing::Test {
 protected:
  std::string Publish(uint64_t seed) {
    testing::BundleSpec spec;
    spec.collection = "c";
    spec.vectors = testing::RandomVectors(200, 4, seed);
    spec.dims = 4;
    for (int64_t i = 0; i < 200; ++i) spec.ids.push_back(i + 1);
    return testing::BuildBundleOrDie(dir_.Join("root"), dir_.path(), spec);
  }
  testing::TempDir dir_;
};

TEST_F(RegistryTest, SwapsInNewVersionsAndRejectsCorruptOnes) {
  Publish(1);
  CollectionRegistry reg(dir_.Join("root"), {});
  auto ev = reg.Refresh();
  ASSERT_TRUE(ev.ok());
  ASSERT_EQ(ev->size(), 1u);
  EXPECT_EQ((*ev)[0].kind, Kind::kLoaded);
  std::shared_ptr<const Collection> v1 = reg.Get("c");
  ASSERT_NE(v1, nullptr);
  EXPECT_EQ(v1->version(), "v000001");

  EXPECT_TRUE(reg.Refresh()->empty()) << "nothing changed, nothing happens";

  Publish(2);
  ev = reg.Refresh();
  ASSERT_EQ(ev->size(), 1u);
  EXPECT_EQ((*ev)[0].kind, Kind::kReplaced);
  EXPECT_EQ((*ev)[0].previous_version, "v000001");
  EXPECT_EQ(reg.Get("c")->version(), "v000002");
  // A search that held v1 can still use it: its mapping lives as long as it is held.
  EXPECT_EQ(v1->id(0), 1);
  EXPECT_TRUE(std::isfinite(v1->vector(199)[3]));

  // v3: one flipped byte in the vectors after publishing.
  const std::string v3 = Publish(3);
  const std::string vec = v3 + "/vectors.f32";
  std::string bytes = *ReadFileToString(vec);
  bytes[bytes.size() / 2] ^= 0x40;
  ASSERT_TRUE(WriteStringToFile(vec, bytes).ok());
  ev = reg.Refresh();
  ASSERT_EQ(ev->size(), 1u);
  EXPECT_EQ((*ev)[0].kind, Kind::kRejected);
  EXPECT_THAT((*ev)[0].status.message(), HasSubstr("checksum"));
  EXPECT_THAT(DescribeEvent((*ev)[0]), HasSubstr("still serving v000002"));
  EXPECT_EQ(reg.Get("c")->version(), "v000002");
  EXPECT_TRUE(reg.Refresh()->empty()) << "a rejected version is reported once";

  // v4: truncated index file.
  const std::string v4 = Publish(4);
  std::filesystem::resize_file(v4 + "/ids.i64", 100);
  ev = reg.Refresh();
  ASSERT_EQ(ev->size(), 1u);
  EXPECT_EQ((*ev)[0].kind, Kind::kRejected);
  EXPECT_EQ(reg.Get("c")->version(), "v000002");

  // v5 is good again.
  Publish(5);
  ev = reg.Refresh();
  ASSERT_EQ(ev->size(), 1u);
  EXPECT_EQ((*ev)[0].kind, Kind::kReplaced);
  EXPECT_EQ(reg.Get("c")->version(), "v000005");

  // The collection directory disappears: no longer served.
  std::filesystem::remove_all(dir_.Join("root/c"));
  ev = reg.Refresh();
  ASSERT_EQ(ev->size(), 1u);
  EXPECT_EQ((*ev)[0].kind, Kind::kRemoved);
  EXPECT_EQ(reg.Get("c"), nullptr);
}

TEST_F(RegistryTest, MissingRootIsAnError) {
  CollectionRegistry reg(dir_.Join("nope"), {});
  EXPECT_EQ(reg.Refresh().status().code(), absl::StatusCode::kNotFound);
}

TEST_F(RegistryTest, ManifestNamingAnotherCollectionIsRejected) {
  Publish(1);
  std::filesystem::rename(dir_.Join("root/c"), dir_.Join("root/d"));
  CollectionRegistry reg(dir_.Join("root"), {});
  auto ev = reg.Refresh();
  ASSERT_EQ(ev->size(), 1u);
  EXPECT_EQ((*ev)[0].kind, Kind::kRejected);
  EXPECT_THAT((*ev)[0].status.message(), HasSubstr("manifest names collection 'c'"));
}

}  // namespace
}  // namespace simsearch

namespace simsearch {
namespace {

TEST(CollectionOpen, RejectsIdsOutOfOrder) {
  testing::TempDir dir;
  testing::BundleSpec spec;
  spec.collection = "c";
  spec.vectors = testing::RandomVectors(3, 2, 1);
  spec.dims = 2;
  spec.ids = {1, 2, 3};
  const std::string v = testing::BuildBundleOrDie(dir.Join("root"), dir.path(), spec);
  // Same size, rows swapped: only the order check (not the size check) can catch it.
  int64_t swapped[3] = {2, 1, 3};
  ASSERT_TRUE(WriteInt64ArrayFile(v + "/ids.i64", swapped, 3).ok());
  CollectionOptions sizes_only;
  sizes_only.verify = VerifyMode::kSizes;
  auto c = Collection::Open(v, sizes_only);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(c.status().message(),
              ::testing::HasSubstr("not strictly ascending at row 1 (2 then 1)"));
}

}  // namespace
}  // namespace simsearch

namespace simsearch {
namespace {

TEST(Reloader, PollsAndTriggers) {
  testing::TempDir dir;
  auto publish = [&](uint64_t seed) {
    testing::BundleSpec spec;
    spec.collection = "c";
    spec.vectors = testing::RandomVectors(10, 2, seed);
    spec.dims = 2;
    for (int64_t i = 1; i <= 10; ++i) spec.ids.push_back(i);
    testing::BuildBundleOrDie(dir.Join("root"), dir.path(), spec);
  };
  publish(1);
  CollectionRegistry reg(dir.Join("root"), {});
  ASSERT_TRUE(reg.Refresh().ok());
  std::atomic<int> reports{0};
  auto wait_for = [&](const std::string& version) {
    for (int i = 0; i < 200 && reg.Get("c")->version() != version; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return reg.Get("c")->version();
  };
  {
    // Polling every 20 ms picks a new version up by itself.
    Reloader poller(&reg, absl::Milliseconds(20), [&](const auto&) { reports++; });
    publish(2);
    EXPECT_EQ(wait_for("v000002"), "v000002");
  }
  {
    // Polling off: only Trigger() (SIGHUP in the engine) reloads.
    Reloader manual(&reg, absl::InfiniteDuration(), [&](const auto&) { reports++; });
    publish(3);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(reg.Get("c")->version(), "v000002");
    manual.Trigger();
    EXPECT_EQ(wait_for("v000003"), "v000003");
  }
  EXPECT_GT(reports.load(), 0);
}

}  // namespace
}  // namespace simsearch
