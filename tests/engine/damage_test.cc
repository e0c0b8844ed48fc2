// A served version damaged on disk, a CURRENT that names a version that cannot be
// served, and FAISS indexes corrupt inside: the engine keeps serving what is intact,
// says why, and never crashes (docs/RELIABILITY.md).
#include <unistd.h>

#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVF.h>
#include <faiss/index_io.h>
#include <faiss/invlists/InvertedLists.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <random>

#include "core/file_util.h"
#include "core/mapped_file.h"
#include "engine/engine.h"
#include "engine/registry.h"
#include "tests/testing/test_util.h"

namespace simsearch {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using Kind = RegistryEvent::Kind;

class DamageTest : public ::testing::Test {
 protected:
  // 4000 x 8 floats: 128 KB, 32 pages, so a truncation leaves pages to fault on.
  std::string Publish(uint64_t seed, IndexKind kind = IndexKind::kFlat,
                      const char* hnsw_library = "hnswlib") {
    testing::BundleSpec spec;
    spec.hnsw_library = hnsw_library;
    spec.collection = "c";
    spec.vectors = testing::ClusteredVectors(4000, 8, 20, 0.2f, seed);
    spec.dims = 8;
    spec.kind = kind;
    for (int64_t i = 0; i < 4000; ++i) spec.ids.push_back(i + 1);
    return testing::BuildBundleOrDie(dir_.Join("root"), dir_.path(), spec);
  }
  static std::vector<Kind> Kinds(const std::vector<RegistryEvent>& ev) {
    std::vector<Kind> out;
    for (const auto& e : ev) out.push_back(e.kind);
    return out;
  }
  testing::TempDir dir_;
};

TEST_F(DamageTest, ATruncatedServedVersionFailsCallsThenFallsBackToAnIntactOne) {
  InstallMappedFileGuard();
  Publish(1);
  const std::string v2 = Publish(2);
  CollectionRegistry reg(dir_.Join("root"), {});
  ASSERT_TRUE(reg.Refresh().ok());
  Engine engine(&reg, {});
  ASSERT_TRUE(engine.Search("c", {SearchQuery::Item(5)}, 10, {}, absl::InfiniteFuture()).ok());

  // An operator truncates a file of the served version in place.
  ASSERT_EQ(::truncate((v2 + "/vectors.f32").c_str(), 64), 0);
  // A query vector from a lost page, and a scan over the lost pages: both fault.
  for (const SearchQuery& q :
       {SearchQuery::Item(3000), SearchQuery::Vector(std::vector<float>(8, 0.5f))}) {
    auto r = engine.Search("c", {q}, 10, {}, absl::InfiniteFuture());
    ASSERT_FALSE(r.ok()) << "the engine read zeros in place of the lost pages";
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(r.status().message(), HasSubstr("damaged on disk"));
  }

  auto ev = reg.Refresh();
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(Kinds(*ev), (std::vector<Kind>{Kind::kDamaged, Kind::kFallback}));
  ASSERT_NE(reg.Get("c"), nullptr);
  EXPECT_EQ(reg.Get("c")->version(), "v000001");
  const ServingState state = reg.State("c");
  EXPECT_EQ(state.current_version, "v000002");
  EXPECT_EQ(state.served_version, "v000001");
  EXPECT_THAT(state.note, HasSubstr("v000002 cannot be served"));
  auto r = engine.Search("c", {SearchQuery::Item(5)}, 10, {}, absl::InfiniteFuture());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->collection->version(), "v000001");
  EXPECT_TRUE(reg.Refresh()->empty()) << "reported once";

  // A new version is served as soon as it is published; the note goes.
  Publish(3);
  ev = reg.Refresh();
  EXPECT_EQ(Kinds(*ev), std::vector<Kind>{Kind::kReplaced});
  EXPECT_EQ(reg.Get("c")->version(), "v000003");
  EXPECT_EQ(reg.State("c").note, "");
}

TEST_F(DamageTest, ADamagedOnlyVersionIsWithdrawn) {
  InstallMappedFileGuard();
  const std::string v1 = Publish(1);
  CollectionRegistry reg(dir_.Join("root"), {});
  ASSERT_TRUE(reg.Refresh().ok());
  // Within a page: no read faults, so only the refresh's size check can see it.
  ASSERT_EQ(::truncate((v1 + "/vectors.f32").c_str(), 4000), 0);
  auto ev = reg.Refresh();
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(Kinds(*ev), (std::vector<Kind>{Kind::kDamaged, Kind::kRemoved}));
  EXPECT_THAT(DescribeEvent((*ev)[0]), HasSubstr("size changed on disk"));
  EXPECT_EQ(reg.Get("c"), nullptr) << "zeros are not answers";
  EXPECT_THAT(reg.State("c").note, HasSubstr("no older version is intact"));
}

TEST_F(DamageTest, AtStartACorruptCurrentVersionFallsBackToTheNewestIntactOne) {
  Publish(1);
  Publish(2);
  const std::string v3 = Publish(3);
  std::string bytes = *ReadFileToString(v3 + "/vectors.f32");
  bytes[bytes.size() / 2] ^= 0x10;
  ASSERT_TRUE(WriteStringToFile(v3 + "/vectors.f32", bytes).ok());

  CollectionRegistry reg(dir_.Join("root"), {});
  auto ev = reg.Refresh();
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(Kinds(*ev), (std::vector<Kind>{Kind::kRejected, Kind::kFallback}));
  ASSERT_NE(reg.Get("c"), nullptr) << "a restart must not serve nothing";
  EXPECT_EQ(reg.Get("c")->version(), "v000002");
  EXPECT_THAT(reg.State("c").note, HasSubstr("checksum"));
  EXPECT_THAT(DescribeEvent((*ev)[1]), HasSubstr("serving older version v000002"));
}

TEST_F(DamageTest, AnUnreadableCurrentFallsBackToo) {
  Publish(1);
  Publish(2);
  ASSERT_TRUE(WriteStringToFile(dir_.Join("root/c/CURRENT"), "garbage\n").ok());
  CollectionRegistry reg(dir_.Join("root"), {});
  auto ev = reg.Refresh();
  EXPECT_EQ(Kinds(*ev), (std::vector<Kind>{Kind::kRejected, Kind::kFallback}));
  EXPECT_EQ(reg.Get("c")->version(), "v000002");
  EXPECT_THAT(reg.State("c").note, HasSubstr("does not name a version"));
}

// Rewrites index.faiss of a version after `corrupt` changed the index, keeping the
// file's size, so that `--verify sizes` passes it.
void CorruptFaissFile(const std::string& version_dir,
                      const std::function<void(faiss::Index*)>& corrupt) {
  const std::string path = version_dir + "/index.faiss";
  const auto size = fs::file_size(path);
  std::unique_ptr<faiss::Index> index(faiss::read_index(path.c_str()));
  corrupt(index.get());
  faiss::write_index(index.get(), path.c_str());
  ASSERT_EQ(fs::file_size(path), size) << "the corruption must keep the size";
}

absl::Status OpenWithSizesOnly(const std::string& version_dir) {
  CollectionOptions o;
  o.verify = VerifyMode::kSizes;
  return Collection::Open(version_dir, o).status();
}

TEST_F(DamageTest, CorruptHnswGraphsAreRejectedAtOpen) {
  struct Case {
    const char* what;
    std::function<void(faiss::HNSW&)> corrupt;
  };
  const std::vector<Case> cases = {
      {"neighbour id", [](faiss::HNSW& g) { g.neighbors[17] = 1 << 30; }},
      {"neighbour id", [](faiss::HNSW& g) { g.neighbors[3] = -7; }},
      {"entry point", [](faiss::HNSW& g) { g.entry_point = 4000; }},
      {"layers", [](faiss::HNSW& g) { g.levels[12] = 99; }},
      {"top level", [](faiss::HNSW& g) { g.max_level += 1; }},
  };
  for (const Case& c : cases) {
    testing::TempDir fresh;
    const std::string v = Publish(1, IndexKind::kHnsw, "faiss");
    ASSERT_TRUE(OpenWithSizesOnly(v).ok());
    CorruptFaissFile(
        v, [&](faiss::Index* index) { c.corrupt(dynamic_cast<faiss::IndexHNSW*>(index)->hnsw); });
    absl::Status st = OpenWithSizesOnly(v);
    EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss) << c.what;
    EXPECT_THAT(st.message(), HasSubstr("corrupt FAISS index")) << c.what;
    EXPECT_THAT(st.message(), HasSubstr(c.what));
  }
}

// hnswlib's loader trusts its file; ValidateHnswlibIndex must stop every damaged field
// before hnswlib reads it (under ASan in CI, an out-of-bounds read here fails the test).
TEST_F(DamageTest, DamagedHnswlibGraphsAreRejectedAtOpenNeverCrash) {
  // Layout for 4000 vectors of 8 dims, M 32: a 96-byte header, then 4000 records of
  // 260 bytes of links (maxM0 64), 32 of vector and 8 of label.
  constexpr size_t kHeader = 96, kRecord = 260 + 32 + 8;
  struct Case {
    const char* what;
    size_t at;
    std::vector<unsigned char> bytes;
  };
  auto u32 = [](uint32_t v) {
    std::vector<unsigned char> b(4);
    std::memcpy(b.data(), &v, 4);
    return b;
  };
  auto u64 = [](uint64_t v) {
    std::vector<unsigned char> b(8);
    std::memcpy(b.data(), &v, 8);
    return b;
  };
  const std::vector<Case> cases = {
      {"it holds 3999 nodes", 16, u64(3999)},
      {"M 7", 72, u64(7)},
      {"entry point 4001", 52, u32(4001)},
      {"max level 99", 48, u32(99)},
      {"bad level-0 link list", kHeader + 4, u32(1u << 30)},
      {"bad level-0 link list", kHeader, {0xff, 0xff}},  // more links than maxM0
      {"marked deleted", kHeader + 2, {1}},
      {"has label 99999", kHeader + 5 * kRecord + 260 + 32, u64(99999)},
  };
  const std::string v = Publish(1, IndexKind::kHnsw);
  ASSERT_TRUE(OpenWithSizesOnly(v).ok());
  const std::string file = v + "/index.hnswlib";
  auto original = ReadFileToString(file);
  ASSERT_TRUE(original.ok());
  auto write = [&](const std::string& content) {
    std::filesystem::remove(file);  // a new file: the published one may be mapped read-only
    std::ofstream(file, std::ios::binary) << content;
  };
  for (const Case& c : cases) {
    std::string damaged = *original;
    std::memcpy(damaged.data() + c.at, c.bytes.data(), c.bytes.size());
    write(damaged);
    absl::Status st = OpenWithSizesOnly(v);
    EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss) << c.what;
    EXPECT_THAT(st.message(), HasSubstr("not a valid hnswlib index")) << c.what;
    EXPECT_THAT(st.message(), HasSubstr(c.what));
  }
  // Random single-byte damage anywhere in the links, labels and header: rejected, or (a
  // byte of a vector) opened and searched without fault.
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<size_t> where(0, original->size() - 1);
  int rejected = 0;
  for (int trial = 0; trial < 60; ++trial) {
    std::string damaged = *original;
    damaged[where(rng)] ^= static_cast<char>(1 + rng() % 255);
    write(damaged);
    CollectionOptions o;
    o.verify = VerifyMode::kSizes;
    auto c = Collection::Open(v, o);
    if (!c.ok()) {
      EXPECT_EQ(c.status().code(), absl::StatusCode::kDataLoss);
      ++rejected;
      continue;
    }
    std::vector<float> q(8, 0.5f);
    std::vector<std::vector<Neighbor>> got;
    EXPECT_TRUE((*c)->Search(q.data(), 1, 10, nullptr, absl::InfiniteFuture(), &got).ok());
  }
  EXPECT_GT(rejected, 0);
  write(*original);
  EXPECT_TRUE(OpenWithSizesOnly(v).ok());
}

TEST_F(DamageTest, CorruptIvfListsAreRejectedAtOpen) {
  const std::string v = Publish(1, IndexKind::kIvf);
  ASSERT_TRUE(OpenWithSizesOnly(v).ok());
  CorruptFaissFile(v, [](faiss::Index* index) {
    auto* ivf = dynamic_cast<faiss::IndexIVF*>(index);
    auto* lists = dynamic_cast<faiss::ArrayInvertedLists*>(ivf->invlists);
    for (auto& ids : lists->ids) {
      if (!ids.empty()) {
        ids[0] = 123456789;
        break;
      }
    }
  });
  absl::Status st = OpenWithSizesOnly(v);
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(st.message(), HasSubstr("has id 123456789, outside [0, 4000)"));
}

// Inner products of a finite but huge query overflow float32 (NaN, arbitrary order).
TEST(HugeQueries, RankLikeTheirScaledDownSelvesOrAreRejected) {
  testing::TempDir dir;
  testing::BundleSpec spec;
  spec.collection = "ip";
  spec.metric = Metric::kInnerProduct;
  spec.vectors = testing::RandomVectors(500, 6, 4);
  spec.dims = 6;
  for (int64_t i = 0; i < 500; ++i) spec.ids.push_back(i);
  testing::BuildBundleOrDie(dir.Join("root"), dir.path(), spec);
  CollectionRegistry reg(dir.Join("root"), {});
  ASSERT_TRUE(reg.Refresh().ok());
  Engine engine(&reg, {});
  const std::vector<float> q = {0.3f, -1.2f, 0.5f, 2.0f, -0.7f, 0.1f};
  for (double scale : {1.0, 1e30, 1e-30}) {
    std::vector<float> scaled(6);
    for (int j = 0; j < 6; ++j) scaled[j] = static_cast<float>(q[j] * scale);
    auto r = engine.Search("ip", {SearchQuery::Vector(scaled)}, 20, {}, absl::InfiniteFuture());
    ASSERT_TRUE(r.ok()) << scale << ": " << r.status();
    auto truth = testing::BruteForceTopK(spec.vectors, 6, q.data(), 20);
    ASSERT_EQ(r->hits[0].size(), 20u);
    for (int i = 0; i < 20; ++i) {
      EXPECT_EQ(r->hits[0][i].id, truth[i].row) << "scale " << scale << " rank " << i;
      EXPECT_TRUE(std::isfinite(r->hits[0][i].score));
      EXPECT_NEAR(r->hits[0][i].score / scale, truth[i].score,
                  1e-4 * std::fabs(truth[i].score) + 1e-5);
    }
  }
  // 3e38 per component: the true scores exceed float32's range.
  std::vector<float> huge(6, 3e38f);
  auto r = engine.Search("ip", {SearchQuery::Vector(huge)}, 5, {}, absl::InfiniteFuture());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("overflow float32"));
}

}  // namespace
}  // namespace simsearch
