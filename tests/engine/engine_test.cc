// The request-level Engine: query construction, exclusions, filters, limits, errors.
#include "engine/engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "tests/testing/test_util.h"

namespace simsearch {
namespace {

using ::testing::HasSubstr;

class EngineTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kN = 500, kD = 8;
  // MAL age ratings by row (7 is prime to the synthetic items' 5 genres and 3 types).
  static constexpr const char* kAges[] = {"g", "pg", "pg_13", "r", "r+", "rx", ""};

  void SetUp() override {
    testing::BundleSpec spec;
    spec.collection = "items";
    spec.vectors = testing::RandomVectors(kN, kD, 21);
    spec.dims = kD;
    for (uint64_t i = 0; i < kN; ++i) spec.ids.push_back(static_cast<int64_t>(100 + 2 * i));
    spec.items = testing::SyntheticItems(spec.ids);
    for (size_t i = 0; i < spec.items.size(); ++i) spec.items[i].age_rating = kAges[i % 7];
    // Franchises of 10 consecutive rows, each row related to the one before (the titles
    // "Title <id>" are alike): named after their first row's id, the group's smallest.
    for (size_t i = 0; i < spec.items.size(); ++i) {
      if (i % 10 != 0) spec.items[i].related = {spec.ids[i - 1]};
    }
    testing::BuildBundleOrDie(dir_.Join("root"), dir_.path(), spec);
    unit_ = spec.vectors;
    testing::NormalizeRows(&unit_, kD);
    ids_ = spec.ids;
    registry_ = std::make_unique<CollectionRegistry>(dir_.Join("root"), CollectionOptions{});
    ASSERT_TRUE(registry_->Refresh().ok());
    engine_ = std::make_unique<Engine>(registry_.get(), EngineLimits{});
  }

  absl::StatusOr<std::vector<Hit>> One(SearchQuery q, std::optional<int> k = 10,
                                       FilterSpec f = {}) {
    auto r = engine_->Search("items", {q}, k, f, absl::InfiniteFuture());
    if (!r.ok()) return r.status();
    keep_ = r->collection;
    return r->hits[0];
  }

  // Oracle for a query vector: brute force over unit rows, skipping `skip` ids.
  std::vector<int64_t> Oracle(std::vector<float> q, int k, std::vector<int64_t> skip = {}) {
    double n = 0;
    for (float x : q) n += double{x} * x;
    for (float& x : q) x = static_cast<float>(x / std::sqrt(n));
    auto want = testing::BruteForceTopK(unit_, kD, q.data(), k, [&](uint32_t r) {
      return std::find(skip.begin(), skip.end(), ids_[r]) == skip.end();
    });
    std::vector<int64_t> out;
    for (const Neighbor& nb : want) out.push_back(ids_[nb.row]);
    return out;
  }

  static std::vector<int64_t> HitIds(const std::vector<Hit>& hits) {
    std::vector<int64_t> out;
    for (const Hit& h : hits) out.push_back(h.id);
    return out;
  }

  std::vector<float> Row(int64_t id) {
    const size_t r = static_cast<size_t>((id - 100) / 2);
    return std::vector<float>(&unit_[r * kD], &unit_[(r + 1) * kD]);
  }

  testing::TempDir dir_;
  std::vector<float> unit_;
  std::vector<int64_t> ids_;
  std::unique_ptr<CollectionRegistry> registry_;
  std::unique_ptr<Engine> engine_;
  std::shared_ptr<const Collection> keep_;
};

TEST_F(EngineTest, VectorQueryEqualsOracleAndCarriesMetadata) {
  std::vector<float> q = testing::RandomVectors(1, kD, 77);
  auto hits = One(SearchQuery::Vector(q), 15);
  ASSERT_TRUE(hits.ok()) << hits.status();
  EXPECT_EQ(HitIds(*hits), Oracle(q, 15));
  ASSERT_TRUE((*hits)[0].item);
  EXPECT_EQ((*hits)[0].item.title(), "Title " + std::to_string((*hits)[0].id));
}

TEST_F(EngineTest, MoreLikeThisExcludesTheItemItself) {
  auto hits = One(SearchQuery::Item(300), 10);
  ASSERT_TRUE(hits.ok()) << hits.status();
  EXPECT_EQ(HitIds(*hits), Oracle(Row(300), 10, {300}));
  for (const Hit& h : *hits) EXPECT_NE(h.id, 300);
}

TEST_F(EngineTest, WatchListIsMeanOfLikedMinusMeanOfDisliked) {
  // Hand-computed query: (a + b)/2 - c, normalised by the oracle.
  std::vector<float> a = Row(100), b = Row(102), c = Row(104), q(kD);
  for (size_t j = 0; j < kD; ++j) q[j] = (a[j] + b[j]) / 2 - c[j];
  auto hits = One(SearchQuery::Items({100, 102}, {104}), 10);
  ASSERT_TRUE(hits.ok()) << hits.status();
  EXPECT_EQ(HitIds(*hits), Oracle(q, 10, {100, 102, 104}));
}

TEST_F(EngineTest, BatchResultsEqualSingleQueriesIncludingOwnExclusions) {
  std::vector<SearchQuery> qs = {SearchQuery::Item(100), SearchQuery::Items({110, 120}),
                                 SearchQuery::Vector(testing::RandomVectors(1, kD, 5))};
  auto batch = engine_->Search("items", qs, 7, {}, absl::InfiniteFuture());
  ASSERT_TRUE(batch.ok()) << batch.status();
  for (size_t i = 0; i < qs.size(); ++i) {
    auto single = One(qs[i], 7);
    ASSERT_TRUE(single.ok());
    EXPECT_EQ(HitIds(batch->hits[i]), HitIds(*single)) << "query " << i;
  }
}

TEST_F(EngineTest, FiltersRestrictHits) {
  FilterSpec f;
  f.genres = {"HORROR", "romance"};
  f.types = {"tv"};
  f.exclude_ids = {100, 102, 104};
  auto hits = One(SearchQuery::Item(150), 20, f);
  ASSERT_TRUE(hits.ok()) << hits.status();
  ASSERT_FALSE(hits->empty());
  for (const Hit& h : *hits) {
    EXPECT_EQ(h.item.type(), "TV");
    const auto g = h.item.genres();
    EXPECT_TRUE(
        std::count(g.begin(), g.end(), "Horror") + std::count(g.begin(), g.end(), "Romance") > 0);
    EXPECT_GT(h.id, 104);
  }
}

// Exclusions against the oracle: the top k of the rows whose item has none of the
// excluded genres and is not of an excluded type. Unknown names exclude nothing.
TEST_F(EngineTest, ExcludeFiltersEqualTheOracleOverTheRemainingItems) {
  FilterSpec f;
  f.exclude_genres = {"action", "No Such Genre"};
  f.exclude_types = {"ova", "Nonexistent"};
  auto hits = One(SearchQuery::Vector(Row(300)), 15, f);
  ASSERT_TRUE(hits.ok()) << hits.status();
  std::vector<int64_t> skip;
  for (const Item& it : testing::SyntheticItems(ids_)) {
    const bool action = std::count(it.genres.begin(), it.genres.end(), "Action") > 0;
    if (action || it.type == "OVA") skip.push_back(it.id);
  }
  EXPECT_EQ(HitIds(*hits), Oracle(Row(300), 15, skip));
  for (const Hit& h : *hits) {
    EXPECT_NE(h.item.type(), "OVA");
    const auto g = h.item.genres();
    EXPECT_EQ(std::count(g.begin(), g.end(), "Action"), 0);
  }
  // With a keep filter too: Comedy kept, but Action excluded wins for "Action, Comedy".
  f.genres = {"Comedy"};
  hits = One(SearchQuery::Vector(Row(300)), 10, f);
  ASSERT_TRUE(hits.ok());
  ASSERT_FALSE(hits->empty());
  for (const Hit& h : *hits) EXPECT_EQ(h.item.genres(), std::vector<absl::string_view>{"Comedy"});
  // Only unknown names: nothing is excluded.
  FilterSpec unknown;
  unknown.exclude_genres = {"Hentai"};
  auto all = One(SearchQuery::Vector(Row(300)), 10, unknown);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(HitIds(*all), Oracle(Row(300), 10));
}

// Content levels against the oracle: rx is adult, r+ mature, the rest general (the
// synthetic genres are none of the explicit ones). The engine applies only what the
// filter asks: no policy of its own.
TEST_F(EngineTest, ContentLevelFiltersEqualTheOracle) {
  auto level = [](size_t row) {
    const std::string age = kAges[row % 7];
    return age == "rx"   ? ContentLevel::kAdult
           : age == "r+" ? ContentLevel::kMature
                         : ContentLevel::kGeneral;
  };
  const std::pair<ContentLevel, ContentLevel> ranges[] = {
      {ContentLevel::kGeneral, ContentLevel::kAdult},    // no filter: every row
      {ContentLevel::kGeneral, ContentLevel::kGeneral},  // family safe
      {ContentLevel::kGeneral, ContentLevel::kMature},   // the HTTP API's default
      {ContentLevel::kAdult, ContentLevel::kAdult},      // an adult anime's list
      {ContentLevel::kMature, ContentLevel::kMature}};
  for (const auto& [lo, hi] : ranges) {
    FilterSpec f;
    f.min_content = lo;
    f.max_content = hi;
    auto hits = One(SearchQuery::Vector(Row(300)), 20, f);
    ASSERT_TRUE(hits.ok()) << hits.status();
    std::vector<int64_t> skip;
    for (size_t r = 0; r < ids_.size(); ++r) {
      if (level(r) < lo || level(r) > hi) skip.push_back(ids_[r]);
    }
    EXPECT_EQ(HitIds(*hits), Oracle(Row(300), 20, skip))
        << static_cast<int>(lo) << ".." << static_cast<int>(hi);
    for (const Hit& h : *hits) {
      const size_t r = static_cast<size_t>((h.id - 100) / 2);
      EXPECT_EQ(h.item.content(), level(r));
      EXPECT_EQ(h.item.age_rating(), kAges[r % 7]);
    }
  }
  FilterSpec bad;
  bad.max_content = static_cast<ContentLevel>(7);
  EXPECT_THAT(One(SearchQuery::Vector(Row(300)), 10, bad).status().message(),
              HasSubstr("unknown content level"));
}

TEST_F(EngineTest, FranchiseFiltersEqualTheOracle) {
  auto franchise = [&](size_t row) { return ids_[row - row % 10]; };
  const int64_t of_300 = franchise((300 - 100) / 2);  // row 100: its own group's first
  ASSERT_EQ(of_300, 300);
  const std::vector<std::vector<int64_t>> keeps = {{300}, {300, 120}, {999999}};
  for (const SearchQuery& q : {SearchQuery::Item(320), SearchQuery::Vector(Row(300))}) {
    // Kept: only the franchises named (an unknown one keeps nothing). (This fixture has
    // no precomputed lists; tests/indexer/story_test.cc filters through stored ones.)
    for (const std::vector<int64_t>& keep : keeps) {
      FilterSpec f;
      f.franchises = keep;
      auto hits = One(q, 5, f);
      ASSERT_TRUE(hits.ok()) << hits.status();
      std::vector<int64_t> skip = {q.kind == SearchQuery::Kind::kItem ? q.item_id : -1};
      for (size_t r = 0; r < ids_.size(); ++r) {
        if (std::find(keep.begin(), keep.end(), franchise(r)) == keep.end())
          skip.push_back(ids_[r]);
      }
      const std::vector<float> v = q.kind == SearchQuery::Kind::kItem ? Row(320) : Row(300);
      EXPECT_EQ(HitIds(*hits), Oracle(v, 5, skip)) << keep.size();
      for (const Hit& h : *hits) {
        EXPECT_NE(std::find(keep.begin(), keep.end(), h.item.franchise(h.id)), keep.end()) << h.id;
      }
    }
    // Excluded: "more like this" without the anime's own franchise.
    FilterSpec f;
    f.exclude_franchises = {300, 100};
    auto hits = One(q, 20, f);
    ASSERT_TRUE(hits.ok()) << hits.status();
    std::vector<int64_t> skip = {320};
    for (size_t r = 0; r < ids_.size(); ++r) {
      if (franchise(r) == 300 || franchise(r) == 100) skip.push_back(ids_[r]);
    }
    if (q.kind == SearchQuery::Kind::kVector) skip.erase(skip.begin());
    const std::vector<float> v = q.kind == SearchQuery::Kind::kItem ? Row(320) : Row(300);
    EXPECT_EQ(HitIds(*hits), Oracle(v, 20, skip));
  }
  FilterSpec many;
  many.exclude_franchises.assign(static_cast<size_t>(EngineLimits{}.max_ids) + 1, 7);
  EXPECT_THAT(One(SearchQuery::Item(300), 10, many).status().message(),
              HasSubstr("too many franchise ids"));
}

TEST_F(EngineTest, ErrorsNameTheProblem) {
  auto code = [](const absl::Status& s) { return s.code(); };
  EXPECT_EQ(code(One(SearchQuery::Item(1)).status()), absl::StatusCode::kNotFound);
  EXPECT_THAT(One(SearchQuery::Item(1)).status().message(),
              HasSubstr("item 1 is not in collection 'items'"));
  EXPECT_EQ(code(engine_->Search("nope", {SearchQuery::Item(100)}, 10, {}, absl::InfiniteFuture())
                     .status()),
            absl::StatusCode::kNotFound);
  EXPECT_THAT(engine_->Search("nope", {SearchQuery::Item(100)}, 10, {}, absl::InfiniteFuture())
                  .status()
                  .message(),
              HasSubstr("served: items"));
  EXPECT_THAT(One(SearchQuery::Vector({1, 2})).status().message(),
              HasSubstr("has 2 components but collection 'items' has 8 dimensions"));
  EXPECT_THAT(One(SearchQuery::Vector({1, 0, 0, NAN, 0, 0, 0, 0})).status().message(),
              HasSubstr("component 3 is NaN"));
  EXPECT_THAT(One(SearchQuery::Vector(std::vector<float>(kD, 0.0f))).status().message(),
              HasSubstr("all zeros"));
  EXPECT_THAT(One(SearchQuery{}).status().message(), HasSubstr("empty query"));
  EXPECT_THAT(One(SearchQuery::Items({}, {100})).status().message(),
              HasSubstr("at least one positive"));
  EXPECT_THAT(One(SearchQuery::Items({100}, {100})).status().message(), HasSubstr("cancel out"));
  EXPECT_THAT(One(SearchQuery::Item(100), 0).status().message(),
              HasSubstr("between 1 and 1000, got 0"));
  EXPECT_EQ(code(One(SearchQuery::Item(100), 1001).status()), absl::StatusCode::kInvalidArgument);
  std::vector<int64_t> many(1001, 100);
  EXPECT_THAT(One(SearchQuery::Items(many)).status().message(), HasSubstr("too many ids"));
  std::vector<SearchQuery> batch(65, SearchQuery::Item(100));
  EXPECT_THAT(engine_->Search("items", batch, 10, {}, absl::InfiniteFuture()).status().message(),
              HasSubstr("too many queries in one batch: 65 (at most 64)"));
  auto bad = engine_->Search("items", {SearchQuery::Item(100), SearchQuery::Item(7)}, 10, {},
                             absl::InfiniteFuture());
  EXPECT_THAT(bad.status().message(), HasSubstr("query 1: item 7"));
}

TEST_F(EngineTest, KLargerThanCollectionReturnsEveryOtherItem) {
  auto hits = One(SearchQuery::Item(100), 1000);
  ASSERT_TRUE(hits.ok());
  EXPECT_EQ(hits->size(), kN - 1);
}

TEST_F(EngineTest, TitleLookupAndItems) {
  auto m = engine_->LookupTitle("items", "title 300", std::nullopt);
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_FALSE(m->matches.empty());
  EXPECT_EQ(m->collection->id(m->matches[0].row), 300);
  EXPECT_THAT(engine_->LookupTitle("items", "   ", std::nullopt).status().message(),
              HasSubstr("empty title query"));
  auto items = engine_->GetItems("items", {102, 100});
  ASSERT_TRUE(items.ok());
  EXPECT_EQ(items->collection->id(items->rows[0]), 102);
  EXPECT_EQ(engine_->GetItems("items", {102, 5}).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace simsearch

namespace simsearch {
namespace {

// A two-tower collection: inner product, query-side item vectors different from the
// item vectors, user vectors and each user's items.
class TwoTowerTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kN = 300, kD = 6;

  void SetUp() override {
    spec_.collection = "tt";
    spec_.metric = Metric::kInnerProduct;
    spec_.dims = kD;
    spec_.vectors = testing::RandomVectors(kN, kD, 1);
    spec_.query_vectors = testing::RandomVectors(kN, kD, 2);
    for (uint64_t i = 0; i < kN; ++i) spec_.ids.push_back(static_cast<int64_t>(10 + i));
    spec_.user_ids = {7, 3, 99};  // unsorted on purpose
    spec_.user_vectors = testing::RandomVectors(3, kD, 3);
    spec_.user_items = {{3, 10}, {3, 11}, {3, 12}, {7, 50}, {3, 5000 /* not served */}};
    testing::BuildBundleOrDie(dir_.Join("root"), dir_.path(), spec_);
    registry_ = std::make_unique<CollectionRegistry>(dir_.Join("root"), CollectionOptions{});
    ASSERT_TRUE(registry_->Refresh().ok());
    engine_ = std::make_unique<Engine>(registry_.get(), EngineLimits{});
  }

  std::vector<int64_t> Ids(const SearchQuery& q, int k) {
    auto r = engine_->Search("tt", {q}, k, {}, absl::InfiniteFuture());
    EXPECT_TRUE(r.ok()) << r.status();
    std::vector<int64_t> out;
    if (r.ok()) {
      for (const Hit& h : r->hits[0]) out.push_back(h.id);
    }
    return out;
  }

  std::vector<int64_t> Oracle(const float* q, int k, std::vector<int64_t> skip) {
    std::vector<int64_t> out;
    for (const Neighbor& nb :
         testing::BruteForceTopK(spec_.vectors, kD, q, k + static_cast<int>(skip.size()))) {
      const int64_t id = spec_.ids[nb.row];
      if (std::find(skip.begin(), skip.end(), id) == skip.end() &&
          out.size() < static_cast<size_t>(k)) {
        out.push_back(id);
      }
    }
    return out;
  }

  testing::TempDir dir_;
  testing::BundleSpec spec_;
  std::unique_ptr<CollectionRegistry> registry_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(TwoTowerTest, UserQueryIsTheUsersVectorWithTheirItemsExcluded) {
  // User 3 is row 1 of the input; items 10, 11, 12 are excluded (5000 is not served).
  EXPECT_EQ(Ids(SearchQuery::User(3), 10), Oracle(&spec_.user_vectors[1 * kD], 10, {10, 11, 12}));
  EXPECT_EQ(Ids(SearchQuery::User(7), 10), Oracle(&spec_.user_vectors[0], 10, {50}));
  EXPECT_EQ(Ids(SearchQuery::User(99), 5), Oracle(&spec_.user_vectors[2 * kD], 5, {}));
  auto missing = engine_->Search("tt", {SearchQuery::User(4)}, 10, {}, absl::InfiniteFuture());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("user 4 is not in collection 'tt'"));
}

TEST_F(TwoTowerTest, ItemQueriesUseTheQuerySideVectors) {
  // Item 15 is row 5: its query vector, not its item vector, is the query.
  EXPECT_EQ(Ids(SearchQuery::Item(15), 8), Oracle(&spec_.query_vectors[5 * kD], 8, {15}));
  // Watch list: mean(query[10], query[20]) - 0.25 * query[30].
  std::vector<float> q(kD);
  for (size_t j = 0; j < kD; ++j) {
    q[j] = (spec_.query_vectors[0 * kD + j] + spec_.query_vectors[10 * kD + j]) / 2 -
           0.25f * spec_.query_vectors[20 * kD + j];
  }
  SearchQuery wl = SearchQuery::Items({10, 20}, {30});
  wl.negative_weight = 0.25f;
  EXPECT_EQ(Ids(wl, 8), Oracle(q.data(), 8, {10, 20, 30}));
  wl.negative_weight = 1.5f;
  EXPECT_THAT(engine_->Search("tt", {wl}, 8, {}, absl::InfiniteFuture()).status().message(),
              HasSubstr("negative_weight must be in (0, 1], got 1.5"));
}

TEST_F(TwoTowerTest, UserQueryOnACollectionWithoutUsersIsFailedPrecondition) {
  testing::BundleSpec plain;
  plain.collection = "plain";
  plain.dims = 2;
  plain.vectors = {1, 0, 0, 1};
  plain.ids = {1, 2};
  testing::BuildBundleOrDie(dir_.Join("root"), dir_.path(), plain);
  ASSERT_TRUE(registry_->Refresh().ok());
  auto r = engine_->Search("plain", {SearchQuery::User(3)}, 1, {}, absl::InfiniteFuture());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("has no user vectors"));
}

}  // namespace
}  // namespace simsearch
