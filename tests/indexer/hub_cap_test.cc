// Hubs capped (indexer/hub_cap.h): a case by hand, and on random lists the properties
// the engine and the website rely on.
#include "indexer/hub_cap.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "engine/engine.h"
#include "engine/registry.h"
#include "tests/testing/test_util.h"

namespace simsearch {
namespace {

constexpr uint32_t kNone = Engine::kNoNeighbours;

TEST(CapHubs, ByHand) {
  // Four lists of three candidates; share 0.25 of 4 lists: each item in at most one.
  const std::vector<uint32_t> rows = {1, 2, 3, /**/ 0, 2, 3, /**/ 1, 0, 3, /**/ 1, 2, 0};
  const std::vector<float> scores = {0.9f, 0.8f, 0.1f, 0.95f, 0.7f, 0.2f,
                                     0.5f, 0.4f, 0.3f, 0.85f, 0.6f, 0.1f};
  std::vector<uint32_t> out;
  std::vector<float> out_scores;
  uint64_t held = 0;
  CapHubs(rows, scores, 4, 3, 2, HubCap{0.25}, &out, &out_scores, &held);
  // Round 1, strongest claims first: list 1 takes 0 (0.95), list 0 takes 1 (0.9), list 3
  // finds 1 full and takes 2 (0.6), list 2 finds 1 and 0 full and takes 3 (0.3). Round
  // 2: every remaining candidate is full.
  EXPECT_EQ(out, (std::vector<uint32_t>{1, kNone, 0, kNone, 3, kNone, 2, kNone}));
  EXPECT_EQ(out_scores, (std::vector<float>{0.9f, 0, 0.95f, 0, 0.3f, 0, 0.6f, 0}));
  EXPECT_EQ(held, 4u);
  // A share that holds every list leaves them as they were.
  CapHubs(rows, scores, 4, 3, 2, HubCap{1.0}, &out, &out_scores, &held);
  EXPECT_EQ(out, (std::vector<uint32_t>{1, 2, 0, 2, 1, 0, 1, 2}));
  EXPECT_EQ(held, 0u);
}

TEST(CapHubs, RandomListsKeepEveryPromise) {
  std::mt19937 rng(5);
  const uint64_t n = 400;
  const int depth = 60, k = 20;
  // Skewed candidates: low rows are everybody's neighbours (hubs). Row 7 has no list.
  std::vector<uint32_t> rows(n * depth);
  std::vector<float> scores(n * depth);
  for (uint64_t r = 0; r < n; ++r) {
    std::set<uint32_t> seen = {static_cast<uint32_t>(r)};
    std::vector<std::pair<float, uint32_t>> list;
    while (list.size() < static_cast<size_t>(depth)) {
      const double u = std::uniform_real_distribution<double>(0, 1)(rng);
      const uint32_t x = static_cast<uint32_t>(static_cast<double>(n) * u * u * u);
      if (!seen.insert(x).second) continue;
      list.emplace_back(
          std::uniform_real_distribution<float>(0, 1)(rng) + 1.0f / (1.0f + static_cast<float>(x)),
          x);
    }
    std::sort(list.rbegin(), list.rend());
    for (int j = 0; j < depth; ++j) {
      rows[r * depth + static_cast<uint64_t>(j)] = list[static_cast<size_t>(j)].second;
      scores[r * depth + static_cast<uint64_t>(j)] = list[static_cast<size_t>(j)].first;
    }
  }
  rows[7 * depth] = kNone;
  const HubCap cap{0.05};
  const uint64_t limit = static_cast<uint64_t>(0.05 * static_cast<double>(n - 1));
  std::vector<uint32_t> out;
  std::vector<float> out_scores;
  uint64_t held = 0;
  CapHubs(rows, scores, n, depth, k, cap, &out, &out_scores, &held);
  EXPECT_GT(held, 0u) << "the case must have hubs";
  std::vector<uint64_t> used(n, 0);
  for (uint64_t r = 0; r < n; ++r) {
    const uint32_t* got = &out[r * k];
    if (r == 7) {
      EXPECT_EQ(got[0], kNone) << "no list stays no list";
      continue;
    }
    std::set<uint32_t> in_list;
    for (int j = 0; j < k; ++j) {
      if (got[j] == kNone) {  // short: the rest is empty too
        for (int i = j; i < k; ++i) EXPECT_EQ(got[i], kNone);
        break;
      }
      ++used[got[j]];
      EXPECT_TRUE(in_list.insert(got[j]).second) << "no item twice";
      const uint32_t* cand = &rows[r * depth];
      const auto at = std::find(cand, cand + depth, got[j]) - cand;
      ASSERT_LT(at, depth) << "only the list's own candidates";
      EXPECT_EQ(out_scores[r * k + static_cast<uint64_t>(j)],
                scores[r * depth + static_cast<uint64_t>(at)]);
      if (j > 0) {
        EXPECT_LE(out_scores[r * k + static_cast<uint64_t>(j)],
                  out_scores[r * k + static_cast<uint64_t>(j) - 1]);
      }
    }
  }
  for (uint64_t x = 0; x < n; ++x) EXPECT_LE(used[x], limit) << "item " << x;
  // A short list is short only because each of its missing candidates is full.
  for (uint64_t r = 0; r < n; ++r) {
    if (r == 7 || out[r * k + k - 1] != kNone) continue;
    for (int j = 0; j < depth; ++j) {
      const uint32_t x = rows[r * depth + static_cast<uint64_t>(j)];
      if (std::find(&out[r * k], &out[r * k] + k, x) == &out[r * k] + k) {
        EXPECT_EQ(used[x], limit) << r;
      }
    }
  }
}

// Built into a bundle and served: an item query answers the capped list, and when the
// cap left it short, the search fills the rest in its order.
TEST(CapHubs, ServedListsAreTheCappedOnesFilledByTheSearch) {
  testing::TempDir dir;
  testing::BundleSpec spec;
  spec.collection = "c";
  spec.dims = 6;
  spec.vectors = testing::RandomVectors(80, 6, 3);
  for (int64_t i = 0; i < 80; ++i) spec.ids.push_back(100 + i);
  spec.neighbours = 20;
  spec.hub_cap = HubCap{0.1};  // each item in at most 8 of the 80 lists
  const std::string version = testing::BuildBundleOrDie(dir.Join("root"), dir.path(), spec);
  CollectionRegistry registry(dir.Join("root"), CollectionOptions{});
  ASSERT_TRUE(registry.Refresh().ok());
  Engine engine(&registry, EngineLimits{});
  auto c = engine.GetCollection("c");
  ASSERT_TRUE(c.ok());
  EXPECT_NE((*c)->manifest().neighbours_fusion.find("hubs capped"), std::string::npos);
  std::vector<float> unit = spec.vectors;
  testing::NormalizeRows(&unit, 6);
  std::vector<uint64_t> used(80, 0);
  int short_lists = 0;
  for (uint32_t r = 0; r < 80; ++r) {
    std::vector<uint32_t> want;
    for (uint64_t j = 0; j < 20 && (*c)->neighbour_rows(r)[j] != kNone; ++j)
      want.push_back((*c)->neighbour_rows(r)[j]);
    for (uint32_t x : want) ++used[x];
    short_lists += want.size() < 20;
    for (const Neighbor& nb :
         testing::BruteForceTopK(unit, 6, &unit[r * 6], 80, [r](uint32_t x) { return x != r; })) {
      if (want.size() == 20) break;
      if (std::find(want.begin(), want.end(), nb.row) == want.end()) want.push_back(nb.row);
    }
    auto hits =
        engine.Search("c", {SearchQuery::Item(spec.ids[r])}, 20, {}, absl::InfiniteFuture());
    ASSERT_TRUE(hits.ok()) << hits.status();
    std::vector<uint32_t> got;
    for (const Hit& h : hits->hits[0]) got.push_back(h.row);
    EXPECT_EQ(got, want) << "row " << r;
  }
  for (uint64_t x : used) EXPECT_LE(x, 8u);
  EXPECT_GT(short_lists, 0) << "the case must leave some lists short";
}

}  // namespace
}  // namespace simsearch
