// Pages (engine/paging.h): on every index kind the pages of a sequence concatenate to the
// unpaged answer of the same depth (itself checked against brute force where the index is
// exact), a token works for its own search only, and a reload expires it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "core/errors.h"
#include "engine/engine.h"
#include "engine/paging.h"
#include "tests/testing/test_util.h"

namespace simsearch {
namespace {

using ::testing::HasSubstr;

class PagingTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kN = 3000, kD = 16;

  static testing::BundleSpec Spec(const std::string& name, IndexKind kind) {
    testing::BundleSpec spec;
    spec.vectors = testing::ClusteredVectors(kN, kD, 30, 0.2f, 41);
    spec.dims = kD;
    for (uint64_t i = 0; i < kN; ++i) spec.ids.push_back(static_cast<int64_t>(i) + 1);
    spec.collection = name;
    spec.kind = kind;
    if (kind == IndexKind::kHnsw) {
      spec.params.hnsw_m = 8;
      spec.params.ef_construction = 40;
      spec.params.ef_search = 10;  // a beam narrower than the pages' depth
    } else if (kind == IndexKind::kIvf) {
      spec.params.nlist = 32;
      spec.params.nprobe = 2;
    }
    return spec;
  }

  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    for (auto [name, kind] :
         {std::pair{"flat", IndexKind::kFlat}, std::pair{"hnsw", IndexKind::kHnsw},
          std::pair{"ivf", IndexKind::kIvf}}) {
      testing::BuildBundleOrDie(dir_->Join("root"), dir_->path(), Spec(name, kind));
    }
    registry_ = new CollectionRegistry(dir_->Join("root"), CollectionOptions{});
    ASSERT_TRUE(registry_->Refresh().ok());
    engine_ = new Engine(registry_, EngineLimits{});
  }
  static void TearDownTestSuite() {
    delete engine_;
    delete registry_;
    delete dir_;
  }

  static absl::StatusOr<SearchResults> Search(const std::string& c, const SearchQuery& q,
                                              std::optional<int> top_k, const SearchKnobs& k,
                                              const FilterSpec& f = {}) {
    return engine_->Search(c, {q}, top_k, f, absl::InfiniteFuture(), k);
  }

  // Every page of `q` with page sizes cycling through `sizes`, concatenated.
  static std::vector<Hit> AllPages(const std::string& c, const SearchQuery& q,
                                   std::optional<int> top_k, SearchKnobs k,
                                   const std::vector<int>& sizes, const FilterSpec& f = {}) {
    std::vector<Hit> all;
    for (size_t page = 0;; ++page) {
      k.page_size = sizes[page % sizes.size()];
      auto r = Search(c, q, top_k, k, f);
      EXPECT_TRUE(r.ok()) << r.status();
      if (!r.ok()) return all;
      EXPECT_LE(r->hits[0].size(), static_cast<size_t>(k.page_size));
      all.insert(all.end(), r->hits[0].begin(), r->hits[0].end());
      if (r->next_page_tokens[0].empty()) return all;
      EXPECT_EQ(r->hits[0].size(), static_cast<size_t>(k.page_size))
          << "only the last page is short";
      k.page_token = r->next_page_tokens[0];
      if (page > 1000) {
        ADD_FAILURE() << "pages never end";
        return all;
      }
    }
  }

  static std::vector<int64_t> Ids(const std::vector<Hit>& hits) {
    std::vector<int64_t> ids;
    for (const Hit& h : hits) ids.push_back(h.id);
    return ids;
  }

  static inline testing::TempDir* dir_ = nullptr;
  static inline CollectionRegistry* registry_ = nullptr;
  static inline Engine* engine_ = nullptr;
};

TEST_F(PagingTest, PagesConcatenateToTheUnpagedAnswerOnEveryIndexKind) {
  const std::vector<float> v = testing::ClusteredVectors(1, kD, 30, 0.2f, 42);
  for (const std::string c : {"flat", "hnsw", "ivf"}) {
    for (const SearchQuery& q : {SearchQuery::Item(17), SearchQuery::Vector(v)}) {
      auto whole = Search(c, q, 95, {});
      ASSERT_TRUE(whole.ok()) << whole.status();
      ASSERT_EQ(whole->hits[0].size(), 95u) << c;
      EXPECT_EQ(Ids(AllPages(c, q, 95, {}, {10})), Ids(whole->hits[0])) << c;
      EXPECT_EQ(Ids(AllPages(c, q, 95, {}, {7, 30, 1})), Ids(whole->hits[0]))
          << c << ": the page size may change from page to page";
    }
  }
  // On the flat collection the unpaged answer is brute force's (tests elsewhere check
  // it); with exact, every kind's pages are.
  auto exact_whole = Search("flat", SearchQuery::Vector(v), 60, {});
  SearchKnobs exact;
  exact.exact = true;
  EXPECT_EQ(Ids(AllPages("hnsw", SearchQuery::Vector(v), 60, exact, {25})),
            Ids(exact_whole->hits[0]));
}

TEST_F(PagingTest, DepthDefaultsToMaxKAndFiltersAndMinScoreHold) {
  const SearchQuery q = SearchQuery::Item(5);
  std::vector<Hit> all = AllPages("flat", q, std::nullopt, {}, {400});
  EXPECT_EQ(all.size(), static_cast<size_t>(EngineLimits{}.max_k));
  FilterSpec f;
  for (int64_t id = 1; id <= 400; ++id) f.exclude_ids.push_back(id);
  SearchKnobs cut;
  auto whole = Search("flat", q, 200, {}, f);
  ASSERT_TRUE(whole.ok());
  cut.min_score = whole->hits[0][120].score;
  auto kept = Search("flat", q, 200, cut, f);
  ASSERT_TRUE(kept.ok());
  ASSERT_LT(kept->hits[0].size(), 200u);
  EXPECT_EQ(Ids(AllPages("flat", q, 200, cut, {16}, f)), Ids(kept->hits[0]));
  for (const Hit& h : all) EXPECT_NE(h.id, 5) << "the query item is excluded";
}

TEST_F(PagingTest, ATokenServesItsOwnSearchOnly) {
  SearchKnobs k;
  k.page_size = 10;
  auto first = Search("flat", SearchQuery::Item(3), 50, k);
  ASSERT_TRUE(first.ok());
  ASSERT_FALSE(first->next_page_tokens[0].empty());
  k.page_token = first->next_page_tokens[0];
  auto expect_invalid = [](const absl::StatusOr<SearchResults>& r, const std::string& text) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
    EXPECT_THAT(r.status().message(), HasSubstr(text));
    EXPECT_EQ(DetailOf(r.status()).field, "page_token");
    EXPECT_EQ(ReasonOf(r.status()), "PAGE_TOKEN_INVALID");
  };
  expect_invalid(Search("flat", SearchQuery::Item(4), 50, k), "belongs to another search");
  expect_invalid(Search("flat", SearchQuery::Item(3), 60, k), "belongs to another search");
  expect_invalid(Search("ivf", SearchQuery::Item(3), 50, k), "belongs to another search");
  SearchKnobs other = k;
  other.exact = true;
  expect_invalid(Search("flat", SearchQuery::Item(3), 50, other), "belongs to another search");
  const std::vector<std::string> bad_tokens = {"x",
                                               "!!!",
                                               EncodePageToken({"v1", 7, 0}),
                                               EncodePageToken({"v1\xff\n", 7, 3}),
                                               EncodePageToken({std::string(65, 'v'), 7, 3}),
                                               std::string(600, 'A')};
  for (const std::string& bad : bad_tokens) {
    other = k;
    other.page_token = bad;
    expect_invalid(Search("flat", SearchQuery::Item(3), 50, other), "not one this service issued");
  }
  // page_size may change; the token works.
  k.page_size = 3;
  auto second = Search("flat", SearchQuery::Item(3), 50, k);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->hits[0].size(), 3u);

  SearchKnobs big;
  big.page_size = 1001;
  auto r = Search("flat", SearchQuery::Item(3), 50, big);
  EXPECT_EQ(ReasonOf(r.status()), "TOP_K_OUT_OF_RANGE");
}

// A batch pages each query on its own: page_tokens, one per query.
TEST_F(PagingTest, ABatchPagesEachQuery) {
  const std::vector<SearchQuery> qs = {SearchQuery::Item(3), SearchQuery::Item(900),
                                       SearchQuery::Item(2500)};
  auto whole = engine_->Search("hnsw", qs, 25, {}, absl::InfiniteFuture(), {});
  ASSERT_TRUE(whole.ok()) << whole.status();
  std::vector<std::vector<int64_t>> paged(qs.size());
  SearchKnobs k;
  k.page_size = 10;
  for (int page = 0; page < 5; ++page) {
    auto r = engine_->Search("hnsw", qs, 25, {}, absl::InfiniteFuture(), k);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->next_page_tokens.size(), qs.size());
    for (size_t i = 0; i < qs.size(); ++i) {
      for (const Hit& h : r->hits[i]) paged[i].push_back(h.id);
    }
    k.page_tokens = r->next_page_tokens;
    if (std::all_of(k.page_tokens.begin(), k.page_tokens.end(),
                    [](const std::string& t) { return t.empty(); })) {
      break;
    }
  }
  for (size_t i = 0; i < qs.size(); ++i) EXPECT_EQ(paged[i], Ids(whole->hits[i])) << "query " << i;
  // A query's token on another query of the batch, and a wrong count of tokens.
  SearchKnobs first;
  first.page_size = 10;
  auto r = engine_->Search("hnsw", qs, 25, {}, absl::InfiniteFuture(), first);
  ASSERT_TRUE(r.ok());
  SearchKnobs swapped = first;
  swapped.page_tokens = {r->next_page_tokens[1], r->next_page_tokens[0], ""};
  auto bad = engine_->Search("hnsw", qs, 25, {}, absl::InfiniteFuture(), swapped);
  EXPECT_EQ(ReasonOf(bad.status()), "PAGE_TOKEN_INVALID");
  EXPECT_EQ(DetailOf(bad.status()).field, "page_tokens[0]");
  swapped.page_tokens = {""};
  bad = engine_->Search("hnsw", qs, 25, {}, absl::InfiniteFuture(), swapped);
  EXPECT_EQ(DetailOf(bad.status()).field, "page_tokens");
}

TEST_F(PagingTest, AReloadExpiresTheTokensOfTheOldVersion) {
  SearchKnobs k;
  k.page_size = 10;
  auto first = Search("flat", SearchQuery::Item(3), 50, k);
  ASSERT_TRUE(first.ok());
  const std::string old_version = first->collection->version();
  testing::BuildBundleOrDie(dir_->Join("root"), dir_->path(), Spec("flat", IndexKind::kFlat));
  ASSERT_TRUE(registry_->Refresh().ok());
  k.page_token = first->next_page_tokens[0];
  auto stale = Search("flat", SearchQuery::Item(3), 50, k);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(stale.status()), "PAGE_TOKEN_EXPIRED");
  EXPECT_THAT(stale.status().message(),
              HasSubstr(absl::StrCat("page_token is from version ", old_version)));
  // Expired even when the request changed too (a title resolved anew after the reload):
  // starting again is the answer.
  EXPECT_EQ(ReasonOf(Search("flat", SearchQuery::Item(4), 50, k).status()), "PAGE_TOKEN_EXPIRED");
  // A new sequence works on the new version.
  k.page_token.clear();
  auto again = Search("flat", SearchQuery::Item(3), 50, k);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_NE(again->collection->version(), old_version);
}

}  // namespace
}  // namespace simsearch
