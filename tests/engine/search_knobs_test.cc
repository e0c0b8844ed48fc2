// Per-call search knobs (Engine::Search with SearchKnobs; proto SearchParams):
// `exact` equals brute force on ANN collections, more effort (ef, nprobe) finds more of
// the exact top k, `min_score` cuts exactly, and bad values are refused naming the field.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "engine/engine.h"
#include "tests/testing/test_util.h"

namespace simsearch {
namespace {

using ::testing::HasSubstr;

class SearchKnobsTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kN = 6000, kD = 24, kQueries = 60;

  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    unit_ = new std::vector<float>(testing::ClusteredVectors(kN, kD, 60, 0.2f, 31));
    testing::BundleSpec spec;
    spec.vectors = *unit_;
    testing::NormalizeRows(unit_, kD);
    spec.dims = kD;
    for (uint64_t i = 0; i < kN; ++i) spec.ids.push_back(static_cast<int64_t>(i));
    spec.recall_queries = 50;
    spec.collection = "hnsw";
    spec.kind = IndexKind::kHnsw;
    spec.params.hnsw_m = 8;
    spec.params.ef_construction = 40;
    spec.params.ef_search = 10;  // a small tuned beam: the default misses some
    testing::BuildBundleOrDie(dir_->Join("root"), dir_->path(), spec);
    spec.collection = "ivf";
    spec.kind = IndexKind::kIvf;
    spec.params = {};
    spec.params.nlist = 64;
    spec.params.nprobe = 1;
    testing::BuildBundleOrDie(dir_->Join("root"), dir_->path(), spec);
    registry_ = new CollectionRegistry(dir_->Join("root"), CollectionOptions{});
    ASSERT_TRUE(registry_->Refresh().ok());
    engine_ = new Engine(registry_, EngineLimits{});
  }
  static void TearDownTestSuite() {
    delete engine_;
    delete registry_;
    delete unit_;
    delete dir_;
  }

  static std::vector<float> Query(size_t i) {
    static const std::vector<float> queries = [] {
      std::vector<float> q = testing::ClusteredVectors(kQueries, kD, 60, 0.2f, 32);
      testing::NormalizeRows(&q, kD);
      return q;
    }();
    return std::vector<float>(queries.begin() + static_cast<long>(i * kD),
                              queries.begin() + static_cast<long>((i + 1) * kD));
  }

  static absl::StatusOr<SearchResults> Search(const std::string& collection,
                                              const std::vector<float>& q, int k,
                                              const SearchKnobs& knobs) {
    return engine_->Search(collection, {SearchQuery::Vector(q)}, k, {}, absl::InfiniteFuture(),
                           knobs);
  }

  // Mean recall@10 with `knobs` over the queries, against brute force.
  static double Recall(const std::string& collection, const SearchKnobs& knobs) {
    double recall = 0;
    for (size_t i = 0; i < kQueries; ++i) {
      const std::vector<float> q = Query(i);
      auto r = Search(collection, q, 10, knobs);
      EXPECT_TRUE(r.ok()) << r.status();
      if (!r.ok()) return 0;
      std::vector<Neighbor> got;
      for (const Hit& h : r->hits[0]) got.push_back({h.row, h.score});
      recall += testing::Recall(testing::BruteForceTopK(*unit_, kD, q.data(), 10), got);
    }
    return recall / kQueries;
  }

  static testing::TempDir* dir_;
  static std::vector<float>* unit_;
  static CollectionRegistry* registry_;
  static Engine* engine_;
};

testing::TempDir* SearchKnobsTest::dir_ = nullptr;
std::vector<float>* SearchKnobsTest::unit_ = nullptr;
CollectionRegistry* SearchKnobsTest::registry_ = nullptr;
Engine* SearchKnobsTest::engine_ = nullptr;

TEST_F(SearchKnobsTest, ExactIsBruteForceOnEveryIndexKind) {
  for (const char* collection : {"hnsw", "ivf"}) {
    SearchKnobs exact;
    exact.exact = true;
    EXPECT_EQ(Recall(collection, exact), 1.0) << collection;
  }
}

TEST_F(SearchKnobsTest, MoreEffortFindsMoreOfTheExactTopK) {
  const double tuned = Recall("hnsw", {});
  SearchKnobs wide;
  wide.ef = 400;
  const double more = Recall("hnsw", wide);
  std::printf("[ effort ] hnsw recall@10: ef 10 (tuned) %.3f, ef 400 %.3f\n", tuned, more);
  EXPECT_LT(tuned, 0.99) << "the tuned beam of 10 must leave room to improve";
  EXPECT_GE(more, 0.99);

  const double one = Recall("ivf", {});
  SearchKnobs all;
  all.nprobe = 64;
  EXPECT_EQ(Recall("ivf", all), 1.0) << "every list probed: exhaustive";
  std::printf("[ effort ] ivf recall@10: nprobe 1 (tuned) %.3f, nprobe 64 1.000\n", one);
  EXPECT_LT(one, 1.0);
}

TEST_F(SearchKnobsTest, MinScoreKeepsExactlyTheHitsAtOrAboveIt) {
  SearchKnobs o;
  o.exact = true;
  const std::vector<float> q = Query(3);
  auto all = Search("hnsw", q, 20, o);
  ASSERT_TRUE(all.ok()) << all.status();
  const std::vector<Hit>& hits = all->hits[0];
  ASSERT_EQ(hits.size(), 20u);
  for (size_t cut : {0u, 1u, 7u, 19u}) {
    o.min_score = hits[cut].score;
    auto r = Search("hnsw", q, 20, o);
    ASSERT_TRUE(r.ok()) << r.status();
    size_t want = 0;
    while (want < hits.size() && hits[want].score >= hits[cut].score) ++want;
    ASSERT_EQ(r->hits[0].size(), want) << "cut at rank " << cut;
    for (size_t j = 0; j < want; ++j) EXPECT_EQ(r->hits[0][j].id, hits[j].id);
  }
  o.min_score = hits[0].score + 1.0f;
  auto none = Search("hnsw", q, 20, o);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->hits[0].empty()) << "nothing scores that high: an empty list, not an error";
}

TEST_F(SearchKnobsTest, BadValuesAreRefusedNamingTheField) {
  const std::vector<float> q = Query(0);
  auto refused = [&](const SearchKnobs& o) { return Search("hnsw", q, 10, o).status(); };
  SearchKnobs o;
  o.ef = 0;
  EXPECT_THAT(refused(o).message(), HasSubstr("ef must be between 1 and 4096, got 0"));
  o.ef = 5000;
  EXPECT_EQ(refused(o).code(), absl::StatusCode::kInvalidArgument);
  o = {};
  o.nprobe = -1;
  EXPECT_THAT(refused(o).message(), HasSubstr("nprobe must be between 1 and 4096"));
  o = {};
  o.min_score = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THAT(refused(o).message(), HasSubstr("min_score must be a finite number"));
  o = {};
  o.ef = 64;  // an HNSW beam on an IVF collection: not its knob, ignored
  EXPECT_TRUE(Search("ivf", q, 10, o).ok());
}

}  // namespace
}  // namespace simsearch
