// simsearch-indexer's library: every bad input is an error naming file, row and
// reason, and nothing is published.
#include "indexer/indexer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/array_file.h"
#include "core/bundle.h"
#include "core/bundle_parts.h"
#include "core/file_util.h"
#include "core/npy.h"
#include "engine/collection.h"
#include "engine/scan_kernel.h"
#include "tests/testing/test_util.h"

namespace simsearch {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class IndexerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::WriteCatalogCsv(dir_.Join("catalog.csv"), testing::SyntheticItems({1, 2, 3, 4, 5}));
  }

  BuildOptions Options(const std::string& vectors, const std::string& ids = "") {
    BuildOptions o;
    o.collection = "c";
    o.vectors_path = vectors;
    o.ids_path = ids;
    o.catalog_paths = {dir_.Join("catalog.csv")};
    o.out_root = dir_.Join("root");
    return o;
  }

  std::string Npy(const std::string& name, std::vector<float> x, uint64_t d) {
    std::string p = dir_.Join(name);
    EXPECT_TRUE(WriteNpyFloat32(p, x.data(), x.size() / d, d).ok());
    return p;
  }
  std::string Ids(const std::string& name, std::vector<int64_t> ids) {
    std::string p = dir_.Join(name);
    EXPECT_TRUE(WriteNpyInt64(p, ids.data(), ids.size()).ok());
    return p;
  }
  std::string Text(const std::string& name, const std::string& text) {
    std::string p = dir_.Join(name);
    EXPECT_TRUE(WriteStringToFile(p, text).ok());
    return p;
  }

  // The build failed with InvalidArgument containing `what`, and nothing was published.
  void ExpectRejected(const BuildOptions& o, const std::string& what) {
    auto r = BuildBundle(o);
    ASSERT_FALSE(r.ok()) << "expected an error containing: " << what;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
    EXPECT_THAT(r.status().message(), HasSubstr(what));
    const std::string cdir = dir_.Join("root/c");
    if (fs::exists(cdir)) {
      // The writers' lock file stays (docs/FORMAT.md); nothing else may.
      for (const auto& e : fs::directory_iterator(cdir)) {
        EXPECT_EQ(e.path().filename(), ".lock") << "left behind in " << cdir;
      }
    }
  }

  testing::TempDir dir_;
};

// Every part a bundle may hold has its writer (and the engine its opener:
// tests/engine/collection_parts_test.cc).
TEST(IndexerParts, EveryBundlePartHasAWriter) {
  for (const BundlePart& part : BundleParts()) {
    EXPECT_TRUE(WritesPart(part.key)) << "no writer for part " << part.key;
  }
  EXPECT_FALSE(WritesPart("no_such_part"));
}

TEST_F(IndexerTest, BuildsASortedNormalisedBundle) {
  auto o = Options(Npy("v.npy", {3, 4, 0, 2, 1, 0}, 2), Ids("ids.npy", {3, 1, 2}));
  auto r = BuildBundle(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->version, "v000001");
  auto vec = MappedArray::Open(r->version_dir + "/vectors.f32", ArrayDType::kFloat32);
  auto ids = MappedArray::Open(r->version_dir + "/ids.i64", ArrayDType::kInt64);
  ASSERT_TRUE(vec.ok() && ids.ok());
  // Rows sorted by id: 1 -> (0, 2), 2 -> (1, 0), 3 -> (3, 4); each normalised.
  EXPECT_EQ(std::vector<int64_t>(ids->int64s(), ids->int64s() + 3),
            (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(std::vector<float>(vec->floats(), vec->floats() + 6),
            (std::vector<float>{0, 1, 1, 0, 0.6f, 0.8f}));
  EXPECT_EQ(vec->flags() & kArrayFlagUnitNorm, kArrayFlagUnitNorm);
  auto items = ReadItemsFile(r->version_dir + "/items.jsonl");
  ASSERT_TRUE(items.ok());
  EXPECT_EQ((*items)[2].title, "Title 3");
}

// Where each vector came from: stored per row in the bundle's order, counted in the
// manifest, served by the engine on every item; a missing row or a bad source is an
// error and nothing is published.
TEST_F(IndexerTest, ItemProvenanceIsStoredAndServed) {
  auto o = Options(Npy("v.npy", {1, 0, 0, 1, 1, 1}, 2), Ids("ids.npy", {3, 1, 2}));
  o.metric = Metric::kInnerProduct;
  o.item_provenance_path =
      Text("p.csv",
           "anime_id,source,viewers\n1,learned,40\n2,predicted,3\n3,predicted,0\n99,learned,5\n");
  o.provenance_method = "ridge";
  auto built = o;
  built.out_root = dir_.Join("built");  // ExpectRejected below checks root/ stays empty
  auto r = BuildBundle(built);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->manifest.learned_vectors, 1u);
  EXPECT_EQ(r->manifest.predicted_vectors, 2u);
  EXPECT_EQ(r->manifest.provenance_method, "ridge");
  auto file = MappedArray::Open(r->version_dir + "/" + kItemProvenanceFile, ArrayDType::kInt64);
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(std::vector<int64_t>(file->int64s(), file->int64s() + 6),
            (std::vector<int64_t>{kVectorLearned, 40, kVectorPredicted, 3, kVectorPredicted, 0}))
      << "rows in id order; id 99 is not served and is ignored";
  auto c = Collection::Open(r->version_dir, CollectionOptions{});
  ASSERT_TRUE(c.ok()) << c.status();
  const auto p = (*c)->provenance(*(*c)->RowOf(2));
  ASSERT_TRUE(p.has_value());
  EXPECT_TRUE(p->predicted);
  EXPECT_EQ(p->viewers, 3);
  EXPECT_FALSE((*c)->provenance(*(*c)->RowOf(1))->predicted);

  auto missing = o;
  missing.item_provenance_path =
      Text("m.csv", "anime_id,source,viewers\n1,learned,40\n2,predicted,3\n");
  ExpectRejected(missing, "m.csv has no row for id 3");
  auto bad = o;
  bad.item_provenance_path = Text("b.csv", "anime_id,source,viewers\n1,guessed,40\n");
  ExpectRejected(bad, "b.csv: line 2: source 'guessed' is neither learned nor predicted");
  auto header = o;
  header.item_provenance_path = Text("h.csv", "id,viewers\n1,40\n");
  ExpectRejected(header, "h.csv: line 1: the header must name anime_id, source and viewers");
  auto negative = o;
  negative.item_provenance_path = Text("n.csv", "anime_id,source,viewers\n1,learned,-1\n");
  ExpectRejected(negative, "n.csv: line 2: expected an integer id and a viewer count >= 0");
}

TEST_F(IndexerTest, CsvInputCarriesIds) {
  auto o = Options(Text("v.csv", "id,a,b\n2,1,0\n5,0,1\n"));
  o.metric = Metric::kInnerProduct;
  auto r = BuildBundle(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->manifest.count, 2u);
  EXPECT_EQ(r->manifest.metric, Metric::kInnerProduct);
}

TEST_F(IndexerTest, RejectsNaNAndInf) {
  ExpectRejected(Options(Npy("nan.npy", {1, 0, 0, NAN}, 2), Ids("i.npy", {1, 2})),
                 "nan.npy: row 1, component 1: NaN is not allowed");
  ExpectRejected(Options(Npy("inf.npy", {INFINITY, 0, 0, 1}, 2), Ids("i.npy", {1, 2})),
                 "inf.npy: row 0, component 0: Inf");
}

TEST_F(IndexerTest, RejectsRaggedRows) {
  ExpectRejected(Options(Text("r.csv", "1,1,2\n2,1,2,3\n")), "r.csv: line 2: ragged rows");
}

TEST_F(IndexerTest, RejectsDimensionAndCountMismatch) {
  auto o = Options(Npy("v.npy", {1, 0, 0, 1}, 2), Ids("i.npy", {1, 2}));
  o.expect_dims = 3;
  ExpectRejected(o, "vectors have 2 dimensions, expected 3");
  ExpectRejected(Options(Npy("v.npy", {1, 0, 0, 1}, 2), Ids("i3.npy", {1, 2, 3})),
                 "i3.npy has 3 ids but");
}

TEST_F(IndexerTest, RejectsDuplicateIds) {
  ExpectRejected(Options(Npy("v.npy", {1, 0, 0, 1, 1, 1}, 2), Ids("dup.npy", {4, 2, 4})),
                 "dup.npy: duplicate id 4 at rows 0 and 2");
}

TEST_F(IndexerTest, MissingFromCatalogueIsReportedOrDropped) {
  auto o = Options(Npy("v.npy", {1, 0, 0, 1, 1, 1}, 2), Ids("i.npy", {1, 99, 98}));
  ExpectRejected(o, "2 of 3 ids are not in the catalogue");
  ExpectRejected(o, "--drop-missing");
  o.drop_missing = true;
  auto r = BuildBundle(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->manifest.count, 1u);
  EXPECT_EQ(r->dropped_ids, (std::vector<int64_t>{99, 98}));
}

TEST_F(IndexerTest, RejectsZeroVectorUnderCosineOnly) {
  auto o = Options(Npy("z.npy", {1, 0, 0, 0}, 2), Ids("i.npy", {1, 2}));
  ExpectRejected(o, "z.npy: row 1 (id 2) is a zero vector");
  o.metric = Metric::kInnerProduct;
  EXPECT_TRUE(BuildBundle(o).ok());
}

TEST_F(IndexerTest, RejectsTruncatedAndWrongDtypeNpy) {
  std::string good = Npy("t.npy", {1, 0, 0, 1}, 2);
  std::string bytes = *ReadFileToString(good);
  ExpectRejected(
      Options(Text("trunc.npy", bytes.substr(0, bytes.size() - 3)), Ids("i.npy", {1, 2})),
      "trunc.npy: data is 13 bytes but shape (2, 2) of '<f4' needs 16 (the file is truncated)");
  ExpectRejected(Options(Ids("int.npy", {1, 2}), Ids("i.npy", {1, 2})),
                 "int.npy: vectors must be float32 or float64, found dtype '<i8'");
}

TEST_F(IndexerTest, RejectsEmptyInput) {
  ExpectRejected(Options(Text("e.csv", "")), "e.csv: empty input");
  ExpectRejected(Options(Npy("v.npy", {1, 0}, 2), Text("ids.txt", "\n")), "ids.txt: empty input");
  BuildOptions o = Options(Npy("v.npy", {1, 0}, 2));
  ExpectRejected(o, "--ids is required");
}

TEST_F(IndexerTest, RejectsBadCollectionName) {
  auto o = Options(Npy("v.npy", {1, 0}, 2), Ids("i.npy", {1}));
  o.collection = "../x";
  ExpectRejected(o, "invalid collection name");
}

TEST_F(IndexerTest, IvfParametersAreCheckedAndRecorded) {
  const uint64_t n = 2000, d = 8;
  std::vector<int64_t> ids;
  for (uint64_t i = 0; i < n; ++i) ids.push_back(static_cast<int64_t>(i));
  auto o =
      Options(Npy("v.npy", testing::ClusteredVectors(n, d, 20, 0.1f, 1), d), Ids("i.npy", ids));
  o.catalog_paths.clear();
  o.index_kind = IndexKind::kIvf;
  o.params.nlist = 5000;
  ExpectRejected(o, "--nlist 5000 is larger than the 2000 vectors");
  o.params.nlist = 16;
  o.params.nprobe = 4;
  auto r = BuildBundle(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->manifest.index_params.nlist, 16);
  EXPECT_EQ(r->manifest.index_params.nprobe, 4);
  EXPECT_GT(r->manifest.recall_at_10, 0.5);
  EXPECT_LE(r->manifest.recall_at_10, 1.0);
  EXPECT_EQ(r->manifest.recall_queries, 1000u);
}

// A half-precision scan copy: refused where it cannot apply, written and measured where
// it can, and the opened collection answers with the float scan's rows and scores.
TEST_F(IndexerTest, HalfScanCopyIsCheckedMeasuredAndServed) {
  const uint64_t n = 3000, d = 24;
  std::vector<int64_t> ids;
  for (uint64_t i = 0; i < n; ++i) ids.push_back(static_cast<int64_t>(i));
  const std::vector<float> x = testing::ClusteredVectors(n, d, 30, 0.15f, 4);
  auto o = Options(Npy("v.npy", x, d), Ids("i.npy", ids));
  o.catalog_paths.clear();
  o.scan_precision = "f8";
  ExpectRejected(o, "--scan-precision is f32 or f16, got 'f8'");
  o.scan_precision = "f16";
  o.scan_rescore = -1;
  ExpectRejected(o, "--scan-rescore must be 1-64, got -1");
  o.scan_rescore = 65;
  ExpectRejected(o, "--scan-rescore must be 1-64, got 65");
  // Given without f16 it is refused, not ignored.
  o.scan_rescore = 8;
  o.scan_precision = "f8";
  ExpectRejected(o, "--scan-precision is f32 or f16, got 'f8'");
  o.scan_precision = "f32";
  ExpectRejected(o, "--scan-rescore is for --scan-precision f16");
  o.scan_precision = "";
  ExpectRejected(o, "--scan-rescore is for --scan-precision f16");
  o.scan_precision = "f16";
  o.scan_rescore = 0;
  ExpectRejected(o, "--scan-rescore must be 1-64, got 0");
  o.scan_rescore.reset();  // not given: the default, 4
  o.index_kind = IndexKind::kIvf;
  ExpectRejected(o, "--scan-precision f16 is for --index flat");
  o.index_kind = IndexKind::kFlat;
  o.neighbours = 0;
  // Inner-product vectors beyond the largest half would scan as infinities.
  std::vector<float> large = x;
  large[7] = 1e5f;
  auto big = o;
  big.metric = Metric::kInnerProduct;
  big.vectors_path = Npy("large.npy", large, d);
  ExpectRejected(big, "a vector component is 100000, beyond the largest half (65504)");
  auto r = BuildBundle(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->manifest.scan_precision, "f16");
  EXPECT_EQ(r->manifest.scan_rescore, 4);
  EXPECT_EQ(r->manifest.scan_recall_queries, 1000u);
  EXPECT_GE(r->manifest.scan_recall_at_10, 0.99);
  auto half = MappedArray::Open(fs::path(r->version_dir) / kHalfVectorsFile, ArrayDType::kFloat16);
  ASSERT_TRUE(half.ok()) << half.status();
  EXPECT_EQ(half->count(), n);
  EXPECT_EQ(half->dims(), d);

  auto c = Collection::Open(r->version_dir, CollectionOptions());
  ASSERT_TRUE(c.ok()) << c.status();
  const std::vector<float> q = testing::RandomVectors(50, d, 9);
  SearchParams approx, exact;
  approx.k = exact.k = 10;
  exact.exact = true;
  std::vector<std::vector<Neighbor>> got, want;
  ASSERT_TRUE((*c)->Search(q.data(), 50, approx, nullptr, &got).ok());
  ASSERT_TRUE((*c)->Search(q.data(), 50, exact, nullptr, &want).ok());
  size_t same = 0;
  for (size_t i = 0; i < 50; ++i) {
    for (const Neighbor& nb : got[i]) {
      // Every score is the float scan's, to the bit.
      EXPECT_EQ(nb.score, ScoreOne((*c)->vector(nb.row), &q[i * d], d));
      for (const Neighbor& w : want[i]) same += w.row == nb.row;
    }
  }
  EXPECT_GE(same, 495u) << "recall@10 below 0.99 on random queries";

  // Vectors that tie by the hundred (as multi-hot genres do): the recorded recall is
  // against the engine's own float scan and its tie order (score, then row), so ties
  // are not misses. Against FAISS's order of the ties it read 0.87 on the genres.
  std::vector<float> tied(n * d);
  for (uint64_t i = 0; i < n; ++i) {
    std::copy(x.begin() + static_cast<long>((i % 12) * d),
              x.begin() + static_cast<long>((i % 12 + 1) * d),
              tied.begin() + static_cast<long>(i * d));
  }
  o.vectors_path = Npy("tied.npy", tied, d);
  auto t = BuildBundle(o);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->manifest.scan_recall_at_10, 1.0);
}

TEST(GenreVectors, MultiHotOverSortedVocabulary) {
  std::vector<Item> items = testing::SyntheticItems({1, 2, 3});
  Item no_genres;
  no_genres.id = 4;
  items.push_back(no_genres);
  auto c = Catalog::FromItems(items);
  ASSERT_TRUE(c.ok());
  GenreVectors g = MakeGenreVectors(*c);
  EXPECT_EQ(g.vocabulary,
            (std::vector<std::string>{"Action", "Comedy", "Drama", "Romance", "Sci-Fi"}));
  EXPECT_EQ(g.vectors.ids, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(g.skipped, (std::vector<int64_t>{4}));
  // Item 1: Action, Sci-Fi.
  EXPECT_EQ(std::vector<float>(g.vectors.data.begin(), g.vectors.data.begin() + 5),
            (std::vector<float>{1, 0, 0, 0, 1}));
}

}  // namespace
}  // namespace simsearch

namespace simsearch {
namespace {

TEST(IndexerUsers, UserDataIsValidated) {
  testing::TempDir dir;
  std::vector<float> items = {1, 0, 0, 1, 1, 1};
  std::vector<int64_t> ids = {1, 2, 3};
  ASSERT_TRUE(WriteNpyFloat32(dir.Join("v.npy"), items.data(), 3, 2).ok());
  ASSERT_TRUE(WriteNpyInt64(dir.Join("i.npy"), ids.data(), 3).ok());
  std::vector<float> users3d = {1, 0, 0, 0, 1, 0};
  std::vector<int64_t> uids = {5, 6};
  ASSERT_TRUE(WriteNpyFloat32(dir.Join("u3.npy"), users3d.data(), 2, 3).ok());
  ASSERT_TRUE(WriteNpyFloat32(dir.Join("u.npy"), users3d.data(), 3, 2).ok());
  ASSERT_TRUE(WriteNpyInt64(dir.Join("uid.npy"), uids.data(), 2).ok());
  ASSERT_TRUE(WriteStringToFile(dir.Join("inter.csv"), "user_id,item_id\n5,1\n5,9\n6,2\n").ok());
  BuildOptions o;
  o.collection = "c";
  o.vectors_path = dir.Join("v.npy");
  o.ids_path = dir.Join("i.npy");
  o.metric = Metric::kInnerProduct;
  o.out_root = dir.Join("root");
  o.user_vectors_path = dir.Join("u3.npy");
  o.user_ids_path = dir.Join("uid.npy");
  EXPECT_THAT(BuildBundle(o).status().message(), HasSubstr("--user-items"));
  o.user_items_path = dir.Join("inter.csv");
  EXPECT_THAT(BuildBundle(o).status().message(),
              HasSubstr("user vectors have 3 dimensions but item vectors have 2"));
  o.user_vectors_path = dir.Join("u.npy");  // 3 users, 2 ids
  EXPECT_THAT(BuildBundle(o).status().message(), HasSubstr("uid.npy has 2 ids but"));
  std::vector<float> users = {1, 0, 0, 1};
  ASSERT_TRUE(WriteNpyFloat32(dir.Join("u.npy"), users.data(), 2, 2).ok());
  auto r = BuildBundle(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->manifest.user_count, 2u);
  EXPECT_EQ(r->user_items_dropped, 1u) << "item 9 is not in the collection";
  auto items_file = MappedArray::Open(r->version_dir + "/user_items.i64", ArrayDType::kInt64);
  ASSERT_TRUE(items_file.ok());
  EXPECT_EQ(std::vector<int64_t>(items_file->int64s(), items_file->int64s() + 2),
            (std::vector<int64_t>{1, 2}));
  BuildOptions q = o;
  q.user_vectors_path.clear();
  q.user_ids_path.clear();
  q.user_items_path.clear();
  q.query_vectors_path = dir.Join("u.npy");  // 2 rows for 3 items
  EXPECT_THAT(BuildBundle(q).status().message(), HasSubstr("query vectors are 2 x 2 but"));
}

// Anime a user only listed (dropped, plan to watch) are never recommended back to them,
// but they are no viewers: the "more like this" shrink counts watched pairs only.
TEST(IndexerUsers, ListedAnimeAreExcludedButNotCountedAsViewers) {
  testing::TempDir dir;
  std::vector<float> items = {1, 0, 0, 1, 1, 1};
  std::vector<int64_t> ids = {1, 2, 3};
  std::vector<float> users = {1, 0, 0, 1};
  std::vector<int64_t> uids = {5, 6};
  ASSERT_TRUE(WriteNpyFloat32(dir.Join("v.npy"), items.data(), 3, 2).ok());
  ASSERT_TRUE(WriteNpyInt64(dir.Join("i.npy"), ids.data(), 3).ok());
  ASSERT_TRUE(WriteNpyFloat32(dir.Join("u.npy"), users.data(), 2, 2).ok());
  ASSERT_TRUE(WriteNpyInt64(dir.Join("uid.npy"), uids.data(), 2).ok());
  ASSERT_TRUE(WriteStringToFile(dir.Join("watched.csv"), "user_id,anime_id\n5,1\n6,1\n6,2\n").ok());
  ASSERT_TRUE(WriteStringToFile(dir.Join("listed.csv"), "user_id,anime_id\n5,3\n5,1\n6,9\n").ok());
  BuildOptions o;
  o.collection = "c";
  o.vectors_path = dir.Join("v.npy");
  o.ids_path = dir.Join("i.npy");
  o.metric = Metric::kInnerProduct;
  o.out_root = dir.Join("root");
  o.user_vectors_path = dir.Join("u.npy");
  o.user_ids_path = dir.Join("uid.npy");
  o.user_items_path = dir.Join("watched.csv");
  o.user_listed_path = dir.Join("listed.csv");
  o.similar = true;
  o.similar_norm_power = 0;
  o.similar_shrink = 1;
  auto r = BuildBundle(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->user_items_dropped, 1u) << "anime 9 is not in the collection";
  auto items_file = MappedArray::Open(r->version_dir + "/user_items.i64", ArrayDType::kInt64);
  auto offsets = MappedArray::Open(r->version_dir + "/user_offsets.i64", ArrayDType::kInt64);
  ASSERT_TRUE(items_file.ok() && offsets.ok());
  EXPECT_EQ(std::vector<int64_t>(offsets->int64s(), offsets->int64s() + 3),
            (std::vector<int64_t>{0, 2, 4}));
  EXPECT_EQ(std::vector<int64_t>(items_file->int64s(), items_file->int64s() + 4),
            (std::vector<int64_t>{1, 3, 1, 2}))
      << "user 5: watched 1, listed 3 (and 1 again, once); user 6: 1, 2";
  // Viewers: anime 1 two, anime 2 one, anime 3 none (only listed): shrink n / (n + 1).
  auto similar = MappedArray::Open(r->version_dir + "/similar_vectors.f32", ArrayDType::kFloat32);
  ASSERT_TRUE(similar.ok());
  const float* sv = similar->floats();
  EXPECT_FLOAT_EQ(sv[0], 2.0f / 3.0f);
  EXPECT_FLOAT_EQ(sv[3], 0.5f);
  EXPECT_FLOAT_EQ(sv[4], 0.0f) << "a listed-only anime has no viewers";
  EXPECT_FLOAT_EQ(sv[5], 0.0f);
  // Nobody dropped or planned anything: a header-only file is an empty set.
  ASSERT_TRUE(WriteStringToFile(dir.Join("none.csv"), "user_id,anime_id\n").ok());
  BuildOptions e = o;
  e.user_listed_path = dir.Join("none.csv");
  auto empty = BuildBundle(e);
  ASSERT_TRUE(empty.ok()) << empty.status();
  auto watched_only = MappedArray::Open(empty->version_dir + "/user_items.i64", ArrayDType::kInt64);
  ASSERT_TRUE(watched_only.ok());
  EXPECT_EQ(watched_only->count(), 3u);
  BuildOptions q = o;
  q.user_vectors_path.clear();
  q.user_ids_path.clear();
  q.user_items_path.clear();
  q.similar = false;
  EXPECT_THAT(BuildBundle(q).status().message(), HasSubstr("--user-listed need --user-vectors"));
}

}  // namespace
}  // namespace simsearch
