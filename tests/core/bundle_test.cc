// Bundles: atomic publishing, versions, verification, pruning, the manifest.
#include "core/bundle.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "core/array_file.h"
#include "core/file_util.h"
#include "tests/testing/test_util.h"

namespace simsearch {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

Manifest SmallManifest() {
  Manifest m;
  m.collection = "c";
  m.metric = Metric::kInnerProduct;
  m.dims = 2;
  m.count = 3;
  m.index_kind = IndexKind::kFlat;
  m.source = "unit test";
  m.built_at = NowRfc3339();
  return m;
}

// Writes a valid 3 x 2 bundle's files into the writer's staging directory.
void WriteFiles(const BundleWriter& w) {
  float v[6] = {1, 0, 0, 1, 1, 1};
  int64_t ids[3] = {10, 20, 30};
  ASSERT_TRUE(WriteFloatArrayFile(w.PathOf(kVectorsFile), v, 3, 2, 0).ok());
  ASSERT_TRUE(WriteInt64ArrayFile(w.PathOf(kIdsFile), ids, 3).ok());
}

TEST(Bundle, PublishesVersionsAtomicallyAndSwitchesCurrent) {
  testing::TempDir root;
  for (int i = 1; i <= 3; ++i) {
    auto w = BundleWriter::Create(root.path(), "c");
    ASSERT_TRUE(w.ok()) << w.status();
    WriteFiles(**w);
    auto v = (*w)->Publish(SmallManifest());
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(*v, "v00000" + std::to_string(i));
    EXPECT_EQ(*ReadCurrentVersion(root.Join("c")), *v);
  }
  EXPECT_EQ(testing::DirEntries(root.Join("c")),
            (std::vector<std::string>{".lock", "CURRENT", "v000001", "v000002", "v000003"}))
      << "no staging directory or temporary file is left behind";
  auto m = ReadVerifiedManifest(root.Join("c/v000003"), VerifyMode::kChecksums);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->collection, "c");
  EXPECT_EQ(m->metric, Metric::kInnerProduct);
  EXPECT_EQ(m->count, 3u);
  EXPECT_EQ(m->source, "unit test");
  ASSERT_EQ(m->files.size(), 2u);
  EXPECT_EQ(m->files[0].name, kIdsFile);
  EXPECT_EQ(m->files[0].bytes, 64u + 24u);
  EXPECT_EQ(m->files[0].xxh3.size(), 16u);
}

TEST(Bundle, UnpublishedWriterLeavesNothing) {
  testing::TempDir root;
  {
    auto w = BundleWriter::Create(root.path(), "c");
    ASSERT_TRUE(w.ok());
    WriteFiles(**w);
  }  // an error path: destroyed without Publish
  EXPECT_EQ(testing::DirEntries(root.Join("c")), std::vector<std::string>{".lock"});
  EXPECT_EQ(ReadCurrentVersion(root.Join("c")).status().code(), absl::StatusCode::kNotFound);
}

TEST(Bundle, VerificationCatchesTruncationCorruptionAndMissingFiles) {
  testing::TempDir root;
  auto w = BundleWriter::Create(root.path(), "c");
  WriteFiles(**w);
  ASSERT_TRUE((*w)->Publish(SmallManifest()).ok());
  const std::string dir = root.Join("c/v000001");
  const std::string vec = dir + "/" + kVectorsFile;
  std::string good = *ReadFileToString(vec);

  // One flipped bit: sizes still match, the checksum does not.
  std::string flipped = good;
  flipped[good.size() - 1] ^= 1;
  ASSERT_TRUE(WriteStringToFile(vec, flipped).ok());
  EXPECT_TRUE(ReadVerifiedManifest(dir, VerifyMode::kSizes).ok());
  auto st = ReadVerifiedManifest(dir, VerifyMode::kChecksums).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(st.message(), HasSubstr("vectors.f32: checksum"));

  ASSERT_TRUE(WriteStringToFile(vec, good.substr(0, good.size() - 4)).ok());
  st = ReadVerifiedManifest(dir, VerifyMode::kSizes).status();
  EXPECT_THAT(st.message(), HasSubstr("truncated or replaced"));

  fs::remove(vec);
  EXPECT_THAT(ReadVerifiedManifest(dir, VerifyMode::kSizes).status().message(),
              HasSubstr("listed in the manifest but missing"));

  fs::remove(dir + "/" + kManifestFile);
  EXPECT_THAT(ReadVerifiedManifest(dir, VerifyMode::kSizes).status().message(),
              HasSubstr("not a complete bundle"));
}

TEST(Bundle, PruneKeepsNewestAndCurrent) {
  testing::TempDir root;
  for (int i = 0; i < 4; ++i) {
    auto w = BundleWriter::Create(root.path(), "c");
    WriteFiles(**w);
    ASSERT_TRUE((*w)->Publish(SmallManifest()).ok());
  }
  // CURRENT points back at v000001 (a rollback): it must survive pruning.
  ASSERT_TRUE(WriteStringToFile(root.Join("c/CURRENT"), "v000001\n").ok());
  auto removed = PruneVersions(root.Join("c"), 2);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, (std::vector<std::string>{"v000002"}));
  EXPECT_EQ(*ListVersions(root.Join("c")),
            (std::vector<std::string>{"v000001", "v000003", "v000004"}));
}

TEST(Bundle, CollectionNamesAreValidated) {
  EXPECT_TRUE(ValidateCollectionName("genres").ok());
  EXPECT_TRUE(ValidateCollectionName("ncf-v2_b.1").ok());
  EXPECT_FALSE(ValidateCollectionName("").ok());
  EXPECT_FALSE(ValidateCollectionName("../etc").ok());
  EXPECT_FALSE(ValidateCollectionName(".hidden").ok());
  EXPECT_FALSE(ValidateCollectionName("a/b").ok());
  EXPECT_FALSE(ValidateCollectionName(std::string(65, 'a')).ok());
}

TEST(Manifest, RoundTripsAndRejectsBadFields) {
  Manifest m = SmallManifest();
  m.index_kind = IndexKind::kHnsw;
  m.index_params.hnsw_m = 16;
  m.index_params.ef_search = 77;
  m.recall_at_10 = 0.973;
  m.recall_queries = 500;
  m.files.push_back({"index.faiss", 123, "00112233aabbccdd"});
  auto back = ParseManifest(SerializeManifest(m), "m.json");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->index_kind, IndexKind::kHnsw);
  EXPECT_EQ(back->index_params.hnsw_m, 16);
  EXPECT_EQ(back->index_params.ef_search, 77);
  EXPECT_DOUBLE_EQ(back->recall_at_10, 0.973);
  EXPECT_EQ(back->files.size(), 1u);
  EXPECT_EQ(back->ann_library, "faiss") << "an ANN bundle without a library is a FAISS one";
  m.ann_library = "hnswlib";
  back = ParseManifest(SerializeManifest(m), "m.json");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->ann_library, "hnswlib");
  m.index_kind = IndexKind::kIvf;  // hnswlib builds no IVF
  EXPECT_THAT(ParseManifest(SerializeManifest(m), "m.json").status().message(),
              HasSubstr("index library 'hnswlib' cannot serve kind ivf"));
  m.ann_library = "annoy";
  EXPECT_THAT(ParseManifest(SerializeManifest(m), "m.json").status().message(),
              HasSubstr("index library 'annoy'"));

  EXPECT_THAT(ParseManifest("{", "m.json").status().message(), HasSubstr("not valid JSON"));
  EXPECT_THAT(ParseManifest(R"({"format_version": 99})", "m.json").status().message(),
              HasSubstr("format version 99 is not supported"));
  EXPECT_THAT(
      ParseManifest(R"({"format_version": 1, "collection": 5})", "m.json").status().message(),
      HasSubstr("field 'collection'"));
  std::string bad_type = SerializeManifest(SmallManifest());
  bad_type.replace(bad_type.find("\"source\": \"unit test\""), 21, "\"source\": 17");
  EXPECT_THAT(ParseManifest(bad_type, "m.json").status().message(),
              HasSubstr("'source' has the wrong type"));
}

}  // namespace
}  // namespace simsearch
