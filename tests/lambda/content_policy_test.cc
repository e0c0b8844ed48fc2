// The public HTTP API's content policy, on the real bundled catalogue (the `genres`
// collection built here from data/anime): lists exclude the adult genres unless the
// request asks for them; the gRPC API stays neutral.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/catalog.h"
#include "core/npy.h"
#include "indexer/indexer.h"
#include "lambda/handler.h"
#include "tests/testing/test_util.h"

#ifndef SIMSEARCH_SOURCE_DIR
#error "SIMSEARCH_SOURCE_DIR must name the repository"
#endif

namespace simsearch::lambda {
namespace {

using json = nlohmann::json;

class ContentPolicyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    const std::string data = std::string(SIMSEARCH_SOURCE_DIR) + "/data/anime/";
    const std::vector<std::string> catalogs = {data + "anime_cooperunion_2017.csv",
                                               data + "anime_synopses_merged.csv"};
    auto catalog = Catalog::Load(catalogs);
    ASSERT_TRUE(catalog.ok()) << catalog.status();
    GenreVectors g = MakeGenreVectors(*catalog);
    ASSERT_TRUE(WriteNpyFloat32(dir_->Join("v.npy"), g.vectors.data.data(), g.vectors.count, g.vectors.dims).ok());
    ASSERT_TRUE(WriteNpyInt64(dir_->Join("ids.npy"), g.vectors.ids.data(), g.vectors.count).ok());
    BuildOptions o;
    o.collection = "genres";
    o.vectors_path = dir_->Join("v.npy");
    o.ids_path = dir_->Join("ids.npy");
    o.catalog_paths = catalogs;
    o.out_root = dir_->Join("root");
    auto built = BuildBundle(o);
    ASSERT_TRUE(built.ok()) << built.status();
    for (const Item& it : catalog->items()) {
      for (const std::string& genre : it.genres) {
        if (genre == "Hentai" && hentai_id_ == 0) hentai_id_ = it.id;
      }
    }
    ASSERT_NE(hentai_id_, 0);
    auto b = MakeEmbeddedBackend(dir_->Join("root"), false);
    ASSERT_TRUE(b.ok()) << b.status();
    backend_ = b->release();
  }
  static void TearDownTestSuite() {
    delete backend_;
    delete dir_;
  }

  // POST /recommend with `body`; the results' genres.
  static std::vector<std::vector<std::string>> Recommend(const json& body) {
    json e = {{"version", "2.0"},
              {"rawPath", "/recommend"},
              {"requestContext", {{"http", {{"method", "POST"}}}}},
              {"body", body.dump()}};
    HandlerOptions o;
    o.recommend_collection = "genres";
    const json out = json::parse(HandleEvent(e.dump(), {}, *backend_, o));
    EXPECT_EQ(out["statusCode"], 200) << out.dump();
    std::vector<std::vector<std::string>> genres;
    const json answer = json::parse(out["body"].get<std::string>());
    for (const json& r : answer["results"]) {
      genres.push_back(r["genres"].get<std::vector<std::string>>());
    }
    return genres;
  }

  static int Adult(const std::vector<std::vector<std::string>>& lists) {
    int n = 0;
    for (const auto& g : lists) {
      n += std::count(g.begin(), g.end(), "Hentai") + std::count(g.begin(), g.end(), "Erotica") > 0;
    }
    return n;
  }

  static inline testing::TempDir* dir_ = nullptr;
  static inline SearchBackend* backend_ = nullptr;
  static inline int64_t hentai_id_ = 0;
};

TEST_F(ContentPolicyTest, FamousTitlesListsHoldNoAdultTitleByDefault) {
  for (const char* title : {"Cowboy Bebop", "Kimi no Na wa.", "Shingeki no Kyojin", "Toradora!"}) {
    auto lists = Recommend({{"name", title}, {"n", 100}});
    ASSERT_EQ(lists.size(), 100u) << title;
    EXPECT_EQ(Adult(lists), 0) << title;
  }
}

TEST_F(ContentPolicyTest, AnAdultQueryGetsAdultTitlesOnlyWhenItAsks) {
  EXPECT_EQ(Adult(Recommend({{"id", hentai_id_}, {"n", 50}})), 0) << "the default excludes them";
  EXPECT_GT(Adult(Recommend({{"id", hentai_id_}, {"n", 50}, {"include_adult", true}})), 5)
      << "asked for, a Hentai title's nearest genre vectors include Hentai titles";
  // Explicit filters combine with the policy.
  auto ecchi = Recommend({{"name", "Toradora!"}, {"n", 20}, {"exclude_genres", {"Comedy"}}});
  for (const auto& g : ecchi) EXPECT_EQ(std::count(g.begin(), g.end(), "Comedy"), 0);
}

}  // namespace
}  // namespace simsearch::lambda
