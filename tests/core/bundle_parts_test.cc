// Bundle parts (core/bundle_parts.h): the files each part declares are what readers
// require and what the writer accepts, for every part, and each part's section round-
// trips through the manifest.
#include "core/bundle_parts.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "absl/strings/str_cat.h"
#include "core/array_file.h"
#include "core/bundle.h"
#include "core/file_util.h"
#include "tests/testing/test_util.h"

namespace simsearch {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// A manifest that names every part.
Manifest EveryPart() {
  Manifest m;
  m.collection = "all";
  m.dims = 4;
  m.count = 20;
  m.index_kind = IndexKind::kHnsw;
  m.ann_library = "hnswlib";
  m.index_params.hnsw_m = 16;
  m.has_items = m.has_item_store = m.has_title_index = m.has_query_vectors = true;
  m.item_genres = {"Action"};
  m.item_types = {"TV"};
  m.has_similar = m.has_lexical = true;
  m.has_fold_in = true;
  m.fold_in_lambda = 1;
  m.encoder_kind = "sif";
  m.neighbours_k = 10;
  m.learned_vectors = 15;
  m.predicted_vectors = 5;
  m.user_count = 3;
  m.scan_precision = "f16";  // the indexer writes it for flat bundles only; the engine
  m.scan_rescore = 4;        // scans it only when there is no index
  return m;
}

TEST(BundleParts, EveryPartIsNamedOnceAndPresentInTheFullManifest) {
  std::set<std::string> keys;
  for (const BundlePart& part : BundleParts()) {
    EXPECT_TRUE(keys.insert(part.key).second) << part.key << " declared twice";
    EXPECT_TRUE(part.present(EveryPart())) << part.key;
    EXPECT_FALSE(part.files(EveryPart()).empty()) << part.key << " declares no file";
  }
  Manifest flat;
  flat.dims = 1;
  flat.count = 1;
  for (const BundlePart& part : BundleParts()) {
    EXPECT_FALSE(part.present(flat)) << part.key << " is present in a bare manifest";
  }
  EXPECT_EQ(DeclaredFiles(flat), BaseFiles());
}

// Every field of every part set to a value of its own, so a field written under one
// key and read under another (or not read) changes the second serialisation.
TEST(BundleParts, EachPartsSectionRoundTrips) {
  Manifest m = EveryPart();
  m.index_params = {0, 0, 24, 120, 70};
  m.similar_norm_power = 0.25f;
  m.similar_shrink = 7;
  m.similar_reason = "eval";
  m.lexical_terms = 321;
  m.lexical_average_length = 41.5;
  m.lexical_source = "synopses";
  m.fold_in_alpha = 0.5f;
  m.fold_in_lambda = 3;
  m.fold_in_prior = 2;
  m.encoder_description = "sif 300d";
  m.neighbours_seconds = 1.25;
  m.neighbours_fusion = "story";
  m.provenance_method = "content";
  m.recall_at_10 = 0.875;
  m.recall_queries = 64;
  m.files.push_back({"vectors.f32", 320, "0123456789abcdef"});
  const std::string text = SerializeManifest(m);
  auto back = ParseManifest(text, "m.json");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(SerializeManifest(*back), text);
  EXPECT_EQ(back->neighbours_seconds, 1.25);
  EXPECT_EQ(back->fold_in_prior, 2.0f);
  EXPECT_EQ(back->lexical_average_length, 41.5);
  EXPECT_EQ(back->index_params.ef_search, 70);
  EXPECT_EQ(DeclaredFiles(*back), DeclaredFiles(m));
  for (const BundlePart& part : BundleParts()) {
    EXPECT_TRUE(part.present(*back)) << part.key;
    EXPECT_EQ(FindBundlePart(part.key), &part);
  }
  EXPECT_EQ(FindBundlePart("no_such_part"), nullptr);
}

// A scan section this build cannot use is refused, and the message says what to do:
// upgrade the engine for an unknown precision, rebuild for a damaged rescore.
TEST(BundleParts, AScanSectionOutOfRangeSaysWhatToDo) {
  for (int rescore : {0, kMaxScanRescore + 1}) {
    Manifest m = EveryPart();
    m.scan_rescore = rescore;
    auto back = ParseManifest(SerializeManifest(m), "m.json");
    ASSERT_FALSE(back.ok()) << rescore;
    EXPECT_THAT(back.status().message(),
                HasSubstr(absl::StrCat("scan.rescore must be 1-64, got ", rescore)));
    EXPECT_THAT(back.status().message(), HasSubstr("build it again with simsearch-indexer"));
  }
  Manifest m = EveryPart();
  m.scan_precision = "f8";
  auto back = ParseManifest(SerializeManifest(m), "m.json");
  ASSERT_FALSE(back.ok());
  EXPECT_THAT(back.status().message(), HasSubstr("upgrade the engine"));
}

// A version directory holding every declared file (empty files, sizes recorded).
void WriteVersion(const std::string& dir, Manifest m, const std::string& leave_out) {
  m.files.clear();
  for (std::string name : DeclaredFiles(m)) {
    if (name == kManifestFile) continue;
    if (name.back() == '/') name += "model.txt";
    fs::create_directories(fs::path(dir) / fs::path(name).parent_path());
    ASSERT_TRUE(WriteStringToFile((fs::path(dir) / name).string(), "").ok());
    if (leave_out.empty() || name.rfind(leave_out, 0) != 0)
      m.files.push_back({name, 0, "0000000000000000"});
  }
  ASSERT_TRUE(
      WriteStringToFile((fs::path(dir) / kManifestFile).string(), SerializeManifest(m)).ok());
}

// Before the parts were declared in one place, the reader required the files of some
// parts only: a manifest naming neighbours or provenance without listing their files
// passed verification and failed later, at open, with a less clear error.
TEST(BundleParts, TheReaderRequiresEveryFileOfEveryPartTheManifestNames) {
  testing::TempDir root;
  const std::string dir = root.Join("v000001");
  WriteVersion(dir, EveryPart(), "");
  auto whole = ReadVerifiedManifest(dir, VerifyMode::kSizes);
  ASSERT_TRUE(whole.ok()) << whole.status();
  int checked = 0;
  for (const std::string& file : DeclaredFiles(EveryPart())) {
    if (file == kManifestFile) continue;
    fs::remove_all(dir);
    WriteVersion(dir, EveryPart(), file);
    auto m = ReadVerifiedManifest(dir, VerifyMode::kSizes);
    EXPECT_EQ(m.status().code(), absl::StatusCode::kDataLoss) << file;
    EXPECT_THAT(m.status().message(), HasSubstr(file)) << "the error names the file";
    ++checked;
  }
  EXPECT_GT(checked, 30);
}

TEST(BundleParts, TheWriterPublishesOnlyFilesThePartsDeclare) {
  testing::TempDir root;
  Manifest m;
  m.collection = "c";
  m.dims = 2;
  m.count = 3;
  float v[6] = {1, 0, 0, 1, 1, 1};
  int64_t ids[3] = {10, 20, 30};
  {
    auto w = BundleWriter::Create(root.path(), "c");
    ASSERT_TRUE(w.ok()) << w.status();
    ASSERT_TRUE(WriteFloatArrayFile((*w)->PathOf(kVectorsFile), v, 3, 2, 0).ok());
    ASSERT_TRUE(WriteInt64ArrayFile((*w)->PathOf(kIdsFile), ids, 3).ok());
    ASSERT_TRUE(WriteStringToFile((*w)->PathOf("stray.bin"), "x").ok());
    auto published = (*w)->Publish(m);
    EXPECT_THAT(published.status().message(), HasSubstr("stray.bin belongs to no part"));
  }
  {
    auto w = BundleWriter::Create(root.path(), "c");
    ASSERT_TRUE(w.ok()) << w.status();
    ASSERT_TRUE(WriteFloatArrayFile((*w)->PathOf(kVectorsFile), v, 3, 2, 0).ok());
    ASSERT_TRUE(WriteInt64ArrayFile((*w)->PathOf(kIdsFile), ids, 3).ok());
    Manifest folds = m;
    folds.has_fold_in = true;
    folds.fold_in_lambda = 1;
    EXPECT_THAT((*w)->Publish(folds).status().message(), HasSubstr(kGramFile));
    auto published = (*w)->Publish(m);
    EXPECT_TRUE(published.ok()) << published.status();
  }
  auto versions = ListVersions(root.Join("c"));
  ASSERT_TRUE(versions.ok());
  EXPECT_EQ(versions->size(), 1u) << "the refused builds published nothing";
}

}  // namespace
}  // namespace simsearch
