// Precomputed "more like this" lists answer exactly what a search answers: the same
// ids, in the same order, with the same scores, ties included, with and without
// filters, for every collection kind; and the engine falls back to the search when the
// list cannot answer (top_k above K, or a filter that leaves fewer than top_k).
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <random>

#include "core/array_file.h"
#include "core/bundle.h"
#include "engine/engine.h"
#include "engine/registry.h"
#include "tests/testing/test_util.h"

namespace simsearch {
namespace {

struct Served {
  std::unique_ptr<CollectionRegistry> registry;
  std::unique_ptr<Engine> engine;
};

Served Serve(const std::string& root) {
  Served s;
  s.registry = std::make_unique<CollectionRegistry>(root, CollectionOptions{});
  auto r = s.registry->Refresh();
  EXPECT_TRUE(r.ok()) << r.status();
  s.engine = std::make_unique<Engine>(s.registry.get(), EngineLimits{});
  return s;
}

// n random vectors of which every 7th repeats an earlier row: exact ties.
testing::BundleSpec RandomSpec(uint64_t n, uint64_t d, uint64_t seed) {
  testing::BundleSpec spec;
  spec.collection = "c";
  spec.dims = d;
  spec.vectors = testing::RandomVectors(n, d, seed);
  for (uint64_t i = 7; i < n; i += 7) {
    std::copy_n(spec.vectors.begin() + static_cast<long>((i - 5) * d), d,
                spec.vectors.begin() + static_cast<long>(i * d));
  }
  for (uint64_t i = 0; i < n; ++i) spec.ids.push_back(static_cast<int64_t>(10 + 3 * i));
  spec.items = testing::SyntheticItems(spec.ids);
  return spec;
}

void ExpectSame(const std::vector<Hit>& got, const std::vector<Hit>& want,
                const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t j = 0; j < want.size(); ++j) {
    EXPECT_EQ(got[j].id, want[j].id) << what << " rank " << j;
    EXPECT_EQ(got[j].score, want[j].score) << what << " rank " << j;  // bit for bit
  }
}

struct Case {
  const char* name;
  Metric metric;
  IndexKind kind;
  bool similar;
};

// RandomSpec of 12 dims with the case's metric and index kind, and `neighbours`; with its
// "similar" space, 3 users who watched every other item.
testing::BundleSpec SpecFor(const Case& c, uint64_t n, uint64_t seed, int neighbours) {
  testing::BundleSpec spec = RandomSpec(n, 12, seed);
  spec.metric = c.metric;
  spec.kind = c.kind;
  spec.neighbours = neighbours;
  spec.similar = c.similar;
  if (c.similar) {
    spec.similar_norm_power = 0.75f;
    spec.user_vectors = testing::RandomVectors(3, 12, 9);
    spec.user_ids = {1, 2, 3};
    for (size_t i = 0; i < spec.ids.size(); i += 2)
      spec.user_items.push_back({1 + static_cast<int64_t>(i % 3), spec.ids[i]});
  }
  return spec;
}

// `spec` as built (with its lists) in `got`, and the oracle in `want`: the same vectors
// as an exact bundle without lists.
struct ListsAndOracle {
  Served got, want;
};
ListsAndOracle ServeWithOracle(const testing::TempDir& dir, const testing::BundleSpec& spec) {
  testing::BuildBundleOrDie(dir.Join("lists"), dir.path(), spec);
  testing::BundleSpec exact = spec;
  exact.neighbours = 0;
  exact.kind = IndexKind::kFlat;
  testing::BuildBundleOrDie(dir.Join("exact"), dir.path(), exact);
  return {Serve(dir.Join("lists")), Serve(dir.Join("exact"))};
}

class NeighboursTest : public ::testing::TestWithParam<Case> {};

TEST_P(NeighboursTest, ListsAnswerExactlyWhatTheExactSearchAnswers) {
  const Case& c = GetParam();
  testing::TempDir dir;
  testing::BundleSpec spec = SpecFor(c, 600, 7, 20);
  auto [got, want] = ServeWithOracle(dir, spec);
  auto coll = got.engine->GetCollection("c");
  ASSERT_TRUE(coll.ok());
  ASSERT_EQ((*coll)->neighbours_k(), 20u);

  std::vector<FilterSpec> filters(4);
  filters[1].genres = {"Comedy"};  // 2 of 5 items
  filters[2].exclude_ids = {spec.ids[1], spec.ids[2], spec.ids[3]};
  filters[3].types = {"OVA"};
  filters[3].exclude_genres = {"Horror"};
  for (size_t i = 0; i < spec.ids.size(); ++i) {
    for (int k : {1, 5, 20}) {
      for (size_t f = 0; f < filters.size(); ++f) {
        // ANN kinds fall back to their (approximate) index when the list cannot answer;
        // only unfiltered calls are certain to be list answers there.
        if (c.kind != IndexKind::kFlat && f > 0) continue;
        const SearchQuery q = SearchQuery::Item(spec.ids[i]);
        auto a = got.engine->Search("c", {q}, k, filters[f], absl::InfiniteFuture());
        auto b = want.engine->Search("c", {q}, k, filters[f], absl::InfiniteFuture());
        ASSERT_TRUE(a.ok() && b.ok()) << a.status() << b.status();
        ExpectSame(a->hits[0], b->hits[0],
                   absl::StrCat(c.name, " item ", spec.ids[i], " k ", k, " filter ", f));
      }
    }
  }
}

// What the server's batching of concurrent calls relies on (service.h): a query in a
// batch, whether its list answers it or the batch is scanned, gets the answer it gets
// alone, bit for bit. Batches of 7 item queries and a vector query; k 30 is beyond the
// lists, so some batches are part lists, part scan.
TEST_P(NeighboursTest, ABatchAnswersWhatEachQueryAnswersAlone) {
  const Case& c = GetParam();
  testing::TempDir dir;
  testing::BundleSpec spec = SpecFor(c, 400, 8, 20);
  testing::BuildBundleOrDie(dir.Join("lists"), dir.path(), spec);
  testing::BundleSpec scan = spec;
  scan.neighbours = 0;
  testing::BuildBundleOrDie(dir.Join("scan"), dir.path(), scan);
  const std::vector<float> vector = testing::RandomVectors(1, 12, 10);
  for (const char* root : {"lists", "scan"}) {
    Served s = Serve(dir.Join(root));
    std::vector<FilterSpec> filters(2);
    filters[1].genres = {"Comedy"};
    for (int k : {5, 30}) {
      for (size_t f = 0; f < filters.size(); ++f) {
        // ANN kinds answer a scan batch through FAISS or hnswlib, whose answers are theirs;
        // only list answers are certain there.
        if (c.kind != IndexKind::kFlat && (f > 0 || k > 20 || std::string(root) == "scan"))
          continue;
        for (size_t start = 0; start + 7 <= spec.ids.size(); start += 37) {
          std::vector<SearchQuery> batch;
          for (size_t i = start; i < start + 7; ++i)
            batch.push_back(SearchQuery::Item(spec.ids[i]));
          if (c.kind == IndexKind::kFlat) batch.push_back(SearchQuery::Vector(vector));
          auto together = s.engine->Search("c", batch, k, filters[f], absl::InfiniteFuture());
          ASSERT_TRUE(together.ok()) << together.status();
          for (size_t j = 0; j < batch.size(); ++j) {
            auto alone = s.engine->Search("c", {batch[j]}, k, filters[f], absl::InfiniteFuture());
            ASSERT_TRUE(alone.ok()) << alone.status();
            ExpectSame(together->hits[j], alone->hits[0],
                       absl::StrCat(c.name, " ", root, " batch at ", start, " query ", j, " k ", k,
                                    " filter ", f));
          }
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, NeighboursTest,
    ::testing::Values(Case{"flat_cosine", Metric::kCosine, IndexKind::kFlat, false},
                      Case{"flat_ip", Metric::kInnerProduct, IndexKind::kFlat, false},
                      Case{"ip_similar_space", Metric::kInnerProduct, IndexKind::kFlat, true},
                      Case{"ivf", Metric::kCosine, IndexKind::kIvf, false},
                      Case{"hnsw", Metric::kCosine, IndexKind::kHnsw, false}),
    [](const ::testing::TestParamInfo<Case>& param_info) {
      return std::string(param_info.param.name);
    });

TEST(Neighbours, TopKAboveTheListAndSelectiveFiltersFallBackToTheSearch) {
  testing::TempDir dir;
  testing::BundleSpec spec = RandomSpec(300, 8, 3);
  spec.neighbours = 5;
  auto [got, want] = ServeWithOracle(dir, spec);
  FilterSpec horror;
  horror.genres = {"Horror"};  // 1 item in 5: rarely 5 of them among the 5 listed
  for (size_t i = 0; i < 50; ++i) {
    const SearchQuery q = SearchQuery::Item(spec.ids[i]);
    for (auto [k, f] : {std::pair{30, FilterSpec{}}, std::pair{5, horror}}) {
      auto a = got.engine->Search("c", {q}, k, f, absl::InfiniteFuture());
      auto b = want.engine->Search("c", {q}, k, f, absl::InfiniteFuture());
      ASSERT_TRUE(a.ok() && b.ok());
      ExpectSame(a->hits[0], b->hits[0], absl::StrCat("item ", spec.ids[i], " k ", k));
    }
  }
}

TEST(Neighbours, ManifestRecordsKCappedAtCountMinusOne) {
  testing::TempDir dir;
  testing::BundleSpec spec = RandomSpec(4, 3, 1);
  spec.neighbours = 100;
  const std::string v = testing::BuildBundleOrDie(dir.Join("root"), dir.path(), spec);
  auto c = Collection::Open(v, CollectionOptions{});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ((*c)->neighbours_k(), 3u);
  EXPECT_GT((*c)->manifest().neighbours_seconds, 0.0);
}

}  // namespace
}  // namespace simsearch

namespace simsearch {
namespace {

// The list is really what answers: a score planted in the stored list (the bundle
// opened without checksums) comes back for top_k <= K and not above it.
// The indexer searches items 16 at a time; an item with no valid query (here a zero
// vector in the "similar" space) fails its chunk's search, and the chunk is searched
// again one item at a time: that item gets no list, its chunk-mates theirs.
TEST(Neighbours, AnItemWithNoValidQueryGetsNoListAndSpoilsNoOther) {
  testing::TempDir dir;
  testing::BundleSpec spec =
      SpecFor(Case{"ip_similar_space", Metric::kInnerProduct, IndexKind::kFlat, true}, 100, 4, 10);
  std::fill_n(spec.vectors.begin() + 37 * 12, 12, 0.0f);
  auto [got, want] = ServeWithOracle(dir, spec);
  auto coll = got.engine->GetCollection("c");
  ASSERT_TRUE(coll.ok());
  EXPECT_EQ((*coll)->neighbour_rows(37)[0], Engine::kNoNeighbours);
  for (size_t i = 0; i < spec.ids.size(); ++i) {
    const SearchQuery q = SearchQuery::Item(spec.ids[i]);
    auto a = got.engine->Search("c", {q}, 10, {}, absl::InfiniteFuture());
    auto b = want.engine->Search("c", {q}, 10, {}, absl::InfiniteFuture());
    ASSERT_EQ(a.status(), b.status()) << "item " << i;
    if (i == 37) {
      EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
      continue;
    }
    EXPECT_NE((*coll)->neighbour_rows(static_cast<uint32_t>(i))[0], Engine::kNoNeighbours)
        << "item " << i;
    ExpectSame(a->hits[0], b->hits[0], absl::StrCat("item ", i));
  }
}

TEST(Neighbours, TheStoredListIsWhatAnswers) {
  testing::TempDir dir;
  testing::BundleSpec spec = RandomSpec(50, 4, 5);
  spec.neighbours = 5;
  const std::string v = testing::BuildBundleOrDie(dir.Join("root"), dir.path(), spec);
  {
    std::fstream f(v + "/" + kNeighbourScoresFile, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f.good());
    const float planted = 123.0f;
    f.seekp(sizeof(ArrayFileHeader));  // row 0, first neighbour
    f.write(reinterpret_cast<const char*>(&planted), sizeof(planted));
  }
  CollectionRegistry registry(dir.Join("root"), CollectionOptions{VerifyMode::kSizes});
  ASSERT_TRUE(registry.Refresh().ok());
  Engine engine(&registry, EngineLimits{});
  auto listed = engine.Search("c", {SearchQuery::Item(spec.ids[0])}, 1, {}, absl::InfiniteFuture());
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(listed->hits[0][0].score, 123.0f);
  auto searched =
      engine.Search("c", {SearchQuery::Item(spec.ids[0])}, 6, {}, absl::InfiniteFuture());
  ASSERT_TRUE(searched.ok());
  EXPECT_NE(searched->hits[0][0].score, 123.0f);
}

}  // namespace
}  // namespace simsearch
