// "A story like this" (indexer/story.h): the fusion by hand; the fused lists of a built
// bundle against signals computed here by brute force; and how the engine serves them
// (the list first, then the search's order when a filter leaves too few).
#include "indexer/story.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "core/npy.h"
#include "engine/collection.h"
#include "engine/engine.h"
#include "engine/registry.h"
#include "indexer/indexer.h"
#include "tests/testing/test_util.h"

namespace simsearch {
namespace {

using ::testing::HasSubstr;

std::vector<uint32_t> Rows(const std::vector<StoryCandidate>& c) {
  std::vector<uint32_t> out;
  for (const StoryCandidate& x : c) out.push_back(x.row);
  return out;
}

TEST(FuseStory, WeightedSumOfMinMaxScaledListsByHand) {
  // Item 0. Embedding: 1 (0.9), 2 (0.5), 3 (0.1) -> scaled 1, 0.5, 0; itself ignored.
  // Words: 2 (10), 4 (5) -> 1, 0. Viewers: 3 alone -> 1. Genre overlap: 2 -> 0.5, 3 -> 1.
  const std::vector<StoryCandidate> embedding = {
      {1, 0.9f}, {0, 1.0f}, {2, 0.5f}, {3, 0.1f}};  // 0 scales nothing
  const std::vector<StoryCandidate> words = {
      {4, 5.0f}, {2, 10.0f}, {2, 7.0f}};  // 2 twice: its best counts
  const std::vector<StoryCandidate> viewers = {{3, 0.7f}};
  auto genres = [](uint32_t row) { return row == 2 ? 0.5f : row == 3 ? 1.0f : 0.0f; };
  StoryWeights w;
  w.embedding = 0.4f;
  w.words = 0.2f;
  w.viewers = 0.15f;
  w.genres = 0.3f;
  // 1: 0.4; 2: 0.4 x 0.5 + 0.2 + 0.3 x 0.5 = 0.55; 3: 0.15 + 0.3 = 0.45; 4: 0.
  const std::vector<StoryCandidate> got = FuseStory(0, embedding, words, viewers, genres, w, 10);
  EXPECT_EQ(Rows(got), (std::vector<uint32_t>{2, 3, 1, 4}));
  ASSERT_EQ(got.size(), 4u);
  EXPECT_NEAR(got[0].score, 0.55f, 1e-6);
  EXPECT_NEAR(got[1].score, 0.45f, 1e-6);
  EXPECT_NEAR(got[2].score, 0.40f, 1e-6);
  EXPECT_NEAR(got[3].score, 0.0f, 1e-6);
  // k cuts; equal scores go to the lower row.
  EXPECT_EQ(Rows(FuseStory(0, embedding, words, viewers, genres, w, 2)),
            (std::vector<uint32_t>{2, 3}));
  StoryWeights only_viewers{0, 0, 1, 0};
  EXPECT_EQ(Rows(FuseStory(0, embedding, words, viewers, genres, only_viewers, 2)),
            (std::vector<uint32_t>{3, 1}));
}

TEST(ParseStoryWeights, NamesWhatIsWrong) {
  auto w = ParseStoryWeights("genres=0.5, embedding=0.5");
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->genres, 0.5f);
  EXPECT_EQ(w->embedding, 0.5f);
  EXPECT_EQ(w->words, 0.0f);
  EXPECT_THAT(ParseStoryWeights("plot=1").status().message(), HasSubstr("unknown signal 'plot'"));
  EXPECT_THAT(ParseStoryWeights("words=-1").status().message(),
              HasSubstr("words must be a number >= 0"));
  EXPECT_THAT(ParseStoryWeights("words=nan").status().message(),
              HasSubstr("words must be a number >= 0"));
  EXPECT_THAT(ParseStoryWeights("words=0").status().message(), HasSubstr("every weight is 0"));
  EXPECT_THAT(ParseStoryWeights("").status().message(), HasSubstr("empty"));
}

class StoryBundleTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kN = 60, kD = 8, kDepth = 20;
  static constexpr int kK = 10;

  void SetUp() override {
    // The viewers' collection: other vectors for the ids 0..kN-1 and 5 more, with exact
    // precomputed lists of 30.
    testing::BundleSpec viewers;
    viewers.collection = "viewers";
    viewers.dims = kD;
    viewers.vectors = testing::RandomVectors(kN + 5, kD, 7);
    for (uint64_t i = 0; i < kN + 5; ++i) viewers.ids.push_back(static_cast<int64_t>(1000 + i));
    viewers.neighbours = 30;
    testing::BuildBundleOrDie(dir_.Join("root"), dir_.path(), viewers);
    viewer_unit_ = viewers.vectors;
    testing::NormalizeRows(&viewer_unit_, kD);
    // The story collection: ids 1000..1059 (rows in id order, as the bundle keeps them),
    // synthetic genres.
    testing::BundleSpec story;
    story.collection = "story";
    story.dims = kD;
    story.vectors = testing::RandomVectors(kN, kD, 8);
    for (uint64_t i = 0; i < kN; ++i) story.ids.push_back(static_cast<int64_t>(1000 + i));
    story.items = testing::SyntheticItems(story.ids);
    story.neighbours = kK;
    StoryOptions so;
    so.weights = {0.3f, 0.0f, 0.3f, 0.4f};
    so.viewers = dir_.Join("root") + "/viewers";
    so.depth = static_cast<int>(kDepth);
    story.story = so;
    version_dir_ = testing::BuildBundleOrDie(dir_.Join("root"), dir_.path(), story);
    unit_ = story.vectors;
    testing::NormalizeRows(&unit_, kD);
    ids_ = story.ids;
    items_ = story.items;
    weights_ = so.weights;
    registry_ = std::make_unique<CollectionRegistry>(dir_.Join("root"), CollectionOptions{});
    ASSERT_TRUE(registry_->Refresh().ok());
    engine_ = std::make_unique<Engine>(registry_.get(), EngineLimits{});
  }

  uint32_t RowOfId(int64_t id) const {
    return static_cast<uint32_t>(std::find(ids_.begin(), ids_.end(), id) - ids_.begin());
  }

  // Row r's list from signals computed here: brute-force cosine in both spaces, and the
  // Jaccard overlap of the catalogue's genre sets.
  std::vector<StoryCandidate> Oracle(uint32_t r) const {
    std::vector<StoryCandidate> embedding, viewers;
    for (const Neighbor& nb : testing::BruteForceTopK(unit_, kD, &unit_[r * kD], kDepth,
                                                      [r](uint32_t x) { return x != r; })) {
      embedding.push_back({nb.row, nb.score});
    }
    const uint32_t vr = static_cast<uint32_t>(ids_[r] - 1000);
    for (const Neighbor& nb :
         testing::BruteForceTopK(viewer_unit_, kD, &viewer_unit_[vr * kD], kDepth,
                                 [vr](uint32_t x) { return x != vr; })) {
      const int64_t id = 1000 + nb.row;
      if (id < 1000 + static_cast<int64_t>(kN)) viewers.push_back({RowOfId(id), nb.score});
    }
    // Each genre weighs log(anime / anime with it), over the catalogue (every item here).
    std::map<std::string, double> with;
    for (const Item& it : items_) {
      for (const std::string& g : it.genres) with[g] += 1;
    }
    auto genres = [&](uint32_t other) {
      std::set<std::string> a(items_[r].genres.begin(), items_[r].genres.end()), both, either = a;
      for (const std::string& g : items_[other].genres) {
        if (a.count(g)) both.insert(g);
        either.insert(g);
      }
      double shared = 0, all = 0;
      for (const std::string& g : both)
        shared += std::log(static_cast<double>(items_.size()) / with[g]);
      for (const std::string& g : either)
        all += std::log(static_cast<double>(items_.size()) / with[g]);
      return all > 0 ? static_cast<float>(shared / all) : 0.0f;
    };
    return FuseStory(r, embedding, {}, viewers, genres, weights_, kK);
  }

  testing::TempDir dir_;
  std::string version_dir_;
  std::vector<float> unit_, viewer_unit_;
  std::vector<int64_t> ids_;
  std::vector<Item> items_;
  StoryWeights weights_;
  std::unique_ptr<CollectionRegistry> registry_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(StoryBundleTest, ListsAreTheFusionOfBruteForceSignalsAndServedAsStored) {
  auto c = engine_->GetCollection("story");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT((*c)->manifest().neighbours_fusion,
              HasSubstr("viewers: viewers v000001's lists (60 of 60"));
  ASSERT_EQ((*c)->neighbours_k(), static_cast<uint64_t>(kK));
  for (uint32_t r = 0; r < kN; ++r) {
    const std::vector<StoryCandidate> want = Oracle(r);
    ASSERT_EQ(want.size(), static_cast<size_t>(kK));
    const uint32_t* rows = (*c)->neighbour_rows(r);
    const float* scores = (*c)->neighbour_scores(r);
    for (int j = 0; j < kK; ++j) {
      EXPECT_EQ(rows[j], want[static_cast<size_t>(j)].row) << "row " << r << " rank " << j;
      EXPECT_NEAR(scores[j], want[static_cast<size_t>(j)].score, 1e-5)
          << "row " << r << " rank " << j;
    }
    // An item query answers the list, with its fused scores.
    auto hits =
        engine_->Search("story", {SearchQuery::Item(ids_[r])}, kK, {}, absl::InfiniteFuture());
    ASSERT_TRUE(hits.ok()) << hits.status();
    ASSERT_EQ(hits->hits[0].size(), static_cast<size_t>(kK));
    for (int j = 0; j < kK; ++j) EXPECT_EQ(hits->hits[0][static_cast<size_t>(j)].row, rows[j]);
  }
}

TEST_F(StoryBundleTest, AFilterThatLeavesTooFewIsFilledInTheSearchsOrder) {
  // Only Horror (every 5th synthetic item): the list's Horror entries first, in its
  // order, then the embedding's nearest other Horror items.
  FilterSpec f;
  f.genres = {"Horror"};
  for (uint32_t r : {0u, 7u, 33u}) {
    auto hits =
        engine_->Search("story", {SearchQuery::Item(ids_[r])}, 6, f, absl::InfiniteFuture());
    ASSERT_TRUE(hits.ok()) << hits.status();
    std::vector<uint32_t> want;
    for (const StoryCandidate& x : Oracle(r)) {
      if (items_[x.row].genres == std::vector<std::string>{"Horror"}) want.push_back(x.row);
    }
    ASSERT_LT(want.size(), 6u) << "the case needs a list with fewer than 6 allowed";
    for (const Neighbor& nb :
         testing::BruteForceTopK(unit_, kD, &unit_[r * kD], kN, [&](uint32_t x) {
           return x != r && items_[x].genres == std::vector<std::string>{"Horror"};
         })) {
      if (want.size() == 6) break;
      if (std::find(want.begin(), want.end(), nb.row) == want.end()) want.push_back(nb.row);
    }
    std::vector<uint32_t> got;
    for (const Hit& h : hits->hits[0]) got.push_back(h.row);
    EXPECT_EQ(got, want) << "row " << r;
  }
}

TEST(StoryOptionsTest, MissingInputsAreErrorsBeforeAnythingIsWritten) {
  testing::TempDir dir;
  testing::BundleSpec spec;
  spec.collection = "story";
  spec.dims = 4;
  spec.vectors = testing::RandomVectors(10, 4, 1);
  for (int64_t i = 1; i <= 10; ++i) spec.ids.push_back(i);
  ASSERT_TRUE(WriteNpyFloat32(dir.Join("v.npy"), spec.vectors.data(), 10, 4).ok());
  ASSERT_TRUE(WriteNpyInt64(dir.Join("ids.npy"), spec.ids.data(), 10).ok());
  BuildOptions o;
  o.collection = "story";
  o.vectors_path = dir.Join("v.npy");
  o.ids_path = dir.Join("ids.npy");
  o.out_root = dir.Join("root");
  o.story = StoryOptions{};  // weighs genres and viewers by default
  auto expect = [&](const std::string& what) {
    auto r = BuildBundle(o);
    EXPECT_THAT(r.status().message(), HasSubstr(what));
    EXPECT_FALSE(std::filesystem::exists(dir.Join("root") + "/story")) << "nothing written";
  };
  expect("weighs genres: give the --catalog");
  o.story->weights = {1, 1, 0, 0};
  expect("weighs words: give --lexical and --item-synopses");
  o.story->weights = {1, 0, 1, 0};
  expect("weighs viewers: name their collection with --story-viewers");
  o.story->viewers = dir.Join("nowhere");
  expect("neither a bundle version");
  o.story->weights = {1, 0, 0, 0};
  o.story->viewers.clear();
  o.neighbours = 0;
  expect("--story-neighbours needs neighbours");
  o.neighbours = 1001;
  expect("--neighbours must be 0-1000");
}

}  // namespace
}  // namespace simsearch
