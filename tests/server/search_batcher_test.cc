// Which Search calls share one pass (against a pairwise oracle), and when the keeper
// hands its calls on.
#include "server/search_batcher.h"

#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace simsearch {
namespace {

v1::SearchRequest ByItem(const std::string& collection, int64_t item) {
  v1::SearchRequest r;
  r.set_collection(collection);
  r.mutable_query()->set_item_id(item);
  return r;
}

TEST(SearchBatcher, OnlySearchesByItemOrVectorWait) {
  v1::SearchRequest r = ByItem("c", 1);
  EXPECT_TRUE(Batchable(r));
  r.mutable_query()->mutable_vector()->add_values(1.0f);
  EXPECT_TRUE(Batchable(r));
  r.mutable_query()->set_text("mecha");
  EXPECT_FALSE(Batchable(r));
  r.clear_query();
  EXPECT_FALSE(Batchable(r));
}

TEST(SearchBatcher, SameSearchNeedsTheSameCollectionTopKAndFilter) {
  v1::SearchRequest a = ByItem("c", 1), b = ByItem("c", 2);
  EXPECT_TRUE(SameSearch(a, b)) << "the query itself may differ";
  b.set_collection("d");
  EXPECT_FALSE(SameSearch(a, b));
  b = ByItem("c", 2);
  b.set_top_k(10);
  EXPECT_FALSE(SameSearch(a, b)) << "unset top_k is the collection's default, not 10";
  a.set_top_k(10);
  EXPECT_TRUE(SameSearch(a, b));
  b.mutable_filter();  // an empty filter is no filter
  EXPECT_TRUE(SameSearch(a, b));
  b.mutable_filter()->add_exclude_ids(7);
  EXPECT_FALSE(SameSearch(a, b));
  a.mutable_filter()->add_exclude_ids(7);
  EXPECT_TRUE(SameSearch(a, b));
  b.mutable_params();  // empty params are no params
  EXPECT_TRUE(SameSearch(a, b));
  b.mutable_params()->set_ef(64);
  EXPECT_FALSE(SameSearch(a, b)) << "another beam is another search";
  a.mutable_params()->set_ef(64);
  EXPECT_TRUE(SameSearch(a, b));
  a.mutable_params()->set_exact(true);
  EXPECT_FALSE(SameSearch(a, b));
}

// Every search in exactly one group; a group's members all SameSearch its first; no two
// groups' first members are the SameSearch (unless one is alone); alone ones alone.
TEST(SearchBatcher, GroupsAgreeWithThePairwiseRule) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    const int n = 1 + static_cast<int>(rng() % 12);
    std::vector<v1::SearchRequest> reqs;
    std::vector<const v1::SearchRequest*> ptrs;
    std::vector<char> alone;
    for (int i = 0; i < n; ++i) {
      reqs.push_back(ByItem(rng() % 2 ? "a" : "b", i));
      if (rng() % 3 == 0) reqs.back().set_top_k(5);
      alone.push_back(rng() % 5 == 0);
    }
    for (const auto& r : reqs) ptrs.push_back(&r);
    auto groups = GroupSearches(ptrs, alone);
    std::vector<int> seen(n, 0);
    size_t prev_first = 0;
    for (size_t g = 0; g < groups.size(); ++g) {
      ASSERT_FALSE(groups[g].empty());
      const size_t first = groups[g][0];
      if (g > 0) {
        EXPECT_GT(first, prev_first) << "groups in the order of their first member";
      }
      prev_first = first;
      for (size_t k = 0; k < groups[g].size(); ++k) {
        const size_t i = groups[g][k];
        ++seen[i];
        if (k > 0) {
          EXPECT_GT(i, groups[g][k - 1]);
          EXPECT_TRUE(SameSearch(reqs[first], reqs[i]));
          EXPECT_FALSE(alone[i]);
        }
      }
      if (alone[first]) {
        EXPECT_EQ(groups[g].size(), 1u);
      }
      for (size_t h = 0; h < g; ++h) {
        const size_t other = groups[h][0];
        if (!alone[first] && !alone[other]) {
          EXPECT_FALSE(SameSearch(reqs[first], reqs[other]));
        }
      }
    }
    for (int i = 0; i < n; ++i) EXPECT_EQ(seen[i], 1) << "search " << i;
  }
}

TEST(SearchBatcher, HandsItsCallsOnAtTheLimitOrWhenTheQueueIsIdle) {
  std::vector<std::vector<int>> flushed;
  SearchBatcher<int> batcher(3, [&](std::vector<int> kept) { flushed.push_back(kept); });
  EXPECT_FALSE(batcher.pending());
  batcher.Keep(1);
  batcher.Keep(2);
  EXPECT_TRUE(batcher.pending());
  EXPECT_TRUE(flushed.empty());
  batcher.Keep(3);  // the limit
  ASSERT_EQ(flushed.size(), 1u);
  EXPECT_EQ(flushed[0], (std::vector<int>{1, 2, 3}));
  EXPECT_FALSE(batcher.pending());
  batcher.Keep(4);
  batcher.Run();  // CallQueues: nothing more is ready
  ASSERT_EQ(flushed.size(), 2u);
  EXPECT_EQ(flushed[1], (std::vector<int>{4}));
  EXPECT_FALSE(batcher.pending());
}

}  // namespace
}  // namespace simsearch
