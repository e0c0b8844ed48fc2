// The public HTTP API's content policy, on the real bundled catalogue (every source in
// data/anime, so MAL's age ratings and the 2023 genre labels count): a `genres`
// collection over every anime and a lexical `synopsis` collection over the synopses,
// both built here. By default no list holds an adult title (age rating Rx, or Hentai or
// Erotica in any source); family_safe leaves out mature ones too (R+, Yaoi, Yuri), and
// so does every list of an all-ages anime; an adult anime's list is empty unless asked
// for, and then adult only. The gRPC API stays neutral (engine tests).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include <algorithm>
#include <random>

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

// Anime the 2017 catalogue files under milder genres (Ecchi, Yaoi, Shoujo Ai) and MAL's
// 2023 data under Erotica: adult, whichever label a list would show.
const int64_t kRelabelledErotica[] = {
    17157 /* Nozoki Ana */, 9014 /* Kuttsukiboshi */,  30385 /* Valkyrie Drive: Mermaid */,
    719 /* Ai no Kusabi */, 8634 /* Koisuru Boukun */, 746 /* Papa to Kiss in the Dark */};

bool IsAdultGenre(const std::string& g) {
  return g == "Hentai" || g == "Erotica";
}
bool IsExplicitLoveGenre(const std::string& g) {
  return g == "Yaoi" || g == "Yuri";
}

class ContentPolicyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    const std::string data = std::string(SIMSEARCH_SOURCE_DIR) + "/data/anime/";
    const std::vector<std::string> catalogs = {data + "anime_cooperunion_2017.csv",
                                               data + "anime_synopses_merged.csv",
                                               data + "anime_catalogue_2024.csv"};
    auto catalog = Catalog::Load(catalogs);
    ASSERT_TRUE(catalog.ok()) << catalog.status();
    catalog_ = new Catalog(std::move(*catalog));
    GenreVectors g = MakeGenreVectors(*catalog_);
    const VectorSet& v = g.vectors;
    ASSERT_TRUE(WriteNpyFloat32(dir_->Join("v.npy"), v.data.data(), v.count, v.dims).ok());
    ASSERT_TRUE(WriteNpyInt64(dir_->Join("ids.npy"), v.ids.data(), v.count).ok());
    // The synopsis collection: the anime with a synopsis, searched by BM25 (its vectors
    // are the genre vectors: only the lexical side is asked here).
    std::vector<float> sv;
    std::vector<int64_t> sids;
    for (size_t r = 0; r < v.count; ++r) {
      const Item* it = catalog_->Find(v.ids[r]);
      if (it == nullptr || it->synopsis.empty()) continue;
      sids.push_back(v.ids[r]);
      sv.insert(sv.end(), v.data.begin() + r * v.dims, v.data.begin() + (r + 1) * v.dims);
    }
    ASSERT_TRUE(WriteNpyFloat32(dir_->Join("s.npy"), sv.data(), sids.size(), v.dims).ok());
    ASSERT_TRUE(WriteNpyInt64(dir_->Join("sids.npy"), sids.data(), sids.size()).ok());
    BuildOptions o;
    o.collection = "genres";
    o.vectors_path = dir_->Join("v.npy");
    o.ids_path = dir_->Join("ids.npy");
    o.catalog_paths = catalogs;
    o.out_root = dir_->Join("root");
    ASSERT_TRUE(BuildBundle(o).ok());
    o.collection = "synopsis";
    o.vectors_path = dir_->Join("s.npy");
    o.ids_path = dir_->Join("sids.npy");
    o.lexical_path = data + "anime_synopses_merged.csv";
    auto built = BuildBundle(o);
    ASSERT_TRUE(built.ok()) << built.status();
    for (const Item& it : catalog_->items()) {
      if (std::any_of(it.genres.begin(), it.genres.end(), IsAdultGenre) && hentai_id_ == 0)
        hentai_id_ = it.id;
    }
    ASSERT_NE(hentai_id_, 0);
    auto b = MakeEmbeddedBackend(dir_->Join("root"), false);
    ASSERT_TRUE(b.ok()) << b.status();
    backend_ = b->release();
  }
  static void TearDownTestSuite() {
    delete backend_;
    delete catalog_;
    delete dir_;
  }

  static json Call(const json& event) {
    HandlerOptions o;
    o.recommend_collection = "genres";
    const json out = json::parse(HandleEvent(event.dump(), {}, *backend_, o));
    EXPECT_EQ(out["statusCode"], 200) << out.dump();
    return json::parse(out["body"].get<std::string>());
  }
  // POST /recommend with `body`: the results.
  static json Recommend(const json& body) {
    return Call({{"version", "2.0"},
                 {"rawPath", "/recommend"},
                 {"requestContext", {{"http", {{"method", "POST"}}}}},
                 {"body", body.dump()}})["hits"];
  }
  // GET /search (BM25 over the synopses) with extra query parameters.
  static json Search(const std::string& q, json params = json::object()) {
    params["q"] = q;
    params["mode"] = "lexical";
    params["k"] = "30";
    return Call({{"version", "2.0"},
                 {"rawPath", "/search"},
                 {"requestContext", {{"http", {{"method", "GET"}}}}},
                 {"queryStringParameters", params}})["hits"];
  }

  // What the catalogue's own sources say about a result, as an oracle independent of
  // the level the answer carries: adult genres in any source file, or rating Rx.
  static bool SourcesSayAdult(const json& r) {
    const int64_t id = r["id"].get<int64_t>();
    if (std::find(std::begin(kRelabelledErotica), std::end(kRelabelledErotica), id) !=
        std::end(kRelabelledErotica)) {
      return true;
    }
    const Item* it = catalog_->Find(id);
    EXPECT_NE(it, nullptr) << id;
    if (it == nullptr) return true;
    return it->age_rating == "rx" ||
           std::any_of(it->genres.begin(), it->genres.end(), IsAdultGenre);
  }
  static bool Adult(const json& r) { return r["content_level"] == "adult" || SourcesSayAdult(r); }
  static bool Mature(const json& r) {
    const Item* it = catalog_->Find(r["id"].get<int64_t>());
    return r["content_level"] != "general" || it == nullptr || it->age_rating == "r+" ||
           std::any_of(it->genres.begin(), it->genres.end(), IsExplicitLoveGenre);
  }
  static int Count(const json& results, bool (*pred)(const json&)) {
    return static_cast<int>(std::count_if(results.begin(), results.end(), pred));
  }

  static inline testing::TempDir* dir_ = nullptr;
  static inline Catalog* catalog_ = nullptr;
  static inline SearchBackend* backend_ = nullptr;
  static inline int64_t hentai_id_ = 0;
};

TEST_F(ContentPolicyTest, TheRelabelledTitlesAreAdult) {
  for (int64_t id : kRelabelledErotica) {
    ASSERT_NE(catalog_->Find(id), nullptr) << id;
    EXPECT_EQ(catalog_->Find(id)->content, ContentLevel::kAdult) << catalog_->Find(id)->title;
    EXPECT_FALSE(std::any_of(catalog_->Find(id)->genres.begin(), catalog_->Find(id)->genres.end(),
                             IsAdultGenre))
        << "the genres shown are the 2017 ones";
  }
}

TEST_F(ContentPolicyTest, FamousAnimeListsHoldNoAdultTitleByDefault) {
  const char* famous[] = {"Cowboy Bebop",
                          "Kimi no Na wa.",
                          "Shingeki no Kyojin",
                          "Toradora!",
                          "Death Note",
                          "Fullmetal Alchemist: Brotherhood",
                          "Steins;Gate",
                          "Sen to Chihiro no Kamikakushi",
                          "Code Geass: Hangyaku no Lelouch",
                          "One Punch Man",
                          "Clannad: After Story",
                          "Mushishi",
                          "Neon Genesis Evangelion",
                          "Sword Art Online",
                          "K-On!",
                          "High School DxD",
                          "Kiss x Sis (TV)",
                          "Prison School",
                          "Shimoneta to Iu Gainen ga Sonzai Shinai Taikutsu na Sekai",
                          "Junjou Romantica"};
  for (const char* title : famous) {
    const json results = Recommend({{"name", title}, {"n", 100}});
    ASSERT_EQ(results.size(), 100u) << title;
    EXPECT_EQ(Count(results, Adult), 0) << title;
  }
}

TEST_F(ContentPolicyTest, RandomAnimeListsHoldNoAdultTitleAndAllAgesOnesNoMatureTitle) {
  std::vector<const Item*> pool;
  for (const Item& it : catalog_->items()) {
    if (it.content != ContentLevel::kAdult && !it.genres.empty()) pool.push_back(&it);
  }
  std::mt19937_64 rng(20261206);
  std::shuffle(pool.begin(), pool.end(), rng);
  int all_ages = 0;
  for (size_t i = 0; i < 100; ++i) {
    const Item& it = *pool[i];
    const json results = Recommend({{"id", it.id}, {"n", 20}});
    EXPECT_EQ(Count(results, Adult), 0) << it.title;
    if (it.all_ages()) {
      ++all_ages;
      EXPECT_EQ(Count(results, Mature), 0) << it.title << " is for all ages";
    }
  }
  EXPECT_GE(all_ages, 10) << "the sample should hold all-ages anime";
}

TEST_F(ContentPolicyTest, KidsAnimeGetNoExplicitBoysLoveEvenWhenItIsNearest) {
  // Yatterman's and Minky Momo's nearest genre vectors hold Yaoi titles (Comedy, ...).
  for (const char* title : {"Yatterman", "Mahou no Princess Minky Momo"}) {
    const json results = Recommend({{"name", title}, {"n", 50}});
    EXPECT_EQ(Count(results, Mature), 0) << title;
    const json asked = Recommend({{"name", title}, {"n", 50}, {"include_adult", true}});
    EXPECT_EQ(asked.size(), 50u) << title;
  }
}

TEST_F(ContentPolicyTest, FamilySafeLeavesOutMatureTitles) {
  for (const char* title : {"Junjou Romantica", "High School DxD"}) {
    const json lax = Recommend({{"name", title}, {"n", 50}});
    EXPECT_GT(Count(lax, Mature), 2)
        << title << ": a boys' love or ecchi anime has mature neighbours by default";
    const json safe = Recommend({{"name", title}, {"n", 50}, {"family_safe", true}});
    EXPECT_EQ(safe.size(), 50u) << title;
    EXPECT_EQ(Count(safe, Mature), 0) << title;
  }
  // Both at once contradict each other: a 400 naming them.
  const json e = {
      {"version", "2.0"},
      {"rawPath", "/recommend"},
      {"requestContext", {{"http", {{"method", "POST"}}}}},
      {"body", json({{"id", 1}, {"include_adult", true}, {"family_safe", true}}).dump()}};
  const json out = json::parse(HandleEvent(e.dump(), {}, *backend_, HandlerOptions()));
  EXPECT_EQ(out["statusCode"], 400);
  EXPECT_THAT(out["body"].get<std::string>(),
              ::testing::HasSubstr("'include_adult' and 'family_safe'"));
}

TEST_F(ContentPolicyTest, SuggestiveTextSearchesFindNoAdultTitleByDefault) {
  const char* queries[] = {"erotic",       "sex",        "naked",      "lust",          "seduce",
                           "pervert",      "virgin",     "affair",     "brothel",       "fetish",
                           "tentacle",     "nude",       "breasts",    "sexual desire", "lingerie",
                           "bath peeping", "stepmother", "slave girl", "aphrodisiac",   "succubus"};
  int adult_when_asked = 0;
  for (const char* q : queries) {
    const json results = Search(q);
    EXPECT_EQ(Count(results, Adult), 0) << q;
    EXPECT_EQ(Count(Search(q, {{"family_safe", "true"}}), Mature), 0) << q;
    adult_when_asked += Count(Search(q, {{"include_adult", "true"}}), Adult) > 0;
  }
  EXPECT_GE(adult_when_asked, 10)
      << "asked for, most of these searches find adult titles: the test has teeth";
}

TEST_F(ContentPolicyTest, AnAdultAnimeListIsEmptyByDefaultAndAdultOnlyWhenAsked) {
  EXPECT_TRUE(Recommend({{"id", hentai_id_}, {"n", 50}}).empty());
  for (int64_t id : {hentai_id_, kRelabelledErotica[0], kRelabelledErotica[3]}) {
    const json asked = Recommend({{"id", id}, {"n", 50}, {"include_adult", true}});
    EXPECT_EQ(asked.size(), 50u) << id;
    EXPECT_EQ(Count(asked, Adult), static_cast<int>(asked.size())) << id;
  }
  // Explicit filters combine with the policy.
  const json no_comedy =
      Recommend({{"name", "Toradora!"}, {"n", 20}, {"exclude_genres", {"Comedy"}}});
  for (const json& r : no_comedy) {
    const auto g = r["genres"].get<std::vector<std::string>>();
    EXPECT_EQ(std::count(g.begin(), g.end(), "Comedy"), 0);
  }
}

TEST_F(ContentPolicyTest, TitleSuggestionsFollowThePolicy) {
  auto titles = [](const std::string& q, json params) {
    params["q"] = q;
    params["n"] = "20";
    return Call({{"version", "2.0"},
                 {"rawPath", "/titles"},
                 {"requestContext", {{"http", {{"method", "GET"}}}}},
                 {"queryStringParameters", params}})["matches"];
  };
  EXPECT_EQ(Count(titles("Nozoki Ana", json::object()), Adult), 0);
  EXPECT_GT(Count(titles("Nozoki Ana", {{"include_adult", "true"}}), Adult), 0);
  EXPECT_EQ(Count(titles("Kirepapa", {{"family_safe", "true"}}), Mature), 0);
  EXPECT_GT(Count(titles("Kirepapa", json::object()), Mature), 0)
      << "a Yaoi OVA is mature, not adult";
  const json both = Call({{"version", "2.0"},
                          {"rawPath", "/titles"},
                          {"requestContext", {{"http", {{"method", "GET"}}}}},
                          {"queryStringParameters", {{"q", "Kirepapa"}}}});
  EXPECT_FALSE(both["matches"].empty());
  EXPECT_EQ(both["results"], both["matches"]) << "the old name, for a release";
}

// "More like this" lists an anime's own seasons and films apart (the real catalogue's
// franchises): the main list holds none of them, the group holds exactly the franchise
// entries the collection has (the oracle: the catalogue's franchise ids), and "mixed"
// answers the plain list.
TEST_F(ContentPolicyTest, TheAnimesOwnFranchiseIsListedApart) {
  const auto post = [](const json& body) {
    return Call({{"version", "2.0"},
                 {"rawPath", "/recommend"},
                 {"requestContext", {{"http", {{"method", "POST"}}}}},
                 {"body", body.dump()}});
  };
  for (int64_t id : {918 /* Gintama */, 5081 /* Bakemonogatari */, 16498 /* Shingeki no Kyojin */,
                     1 /* Cowboy Bebop */}) {
    const int64_t franchise = catalog_->Find(id)->franchise;
    std::set<int64_t> want;
    for (const Item& it : catalog_->items()) {
      if (it.franchise == franchise && it.id != id && !it.genres.empty() &&
          it.content != ContentLevel::kAdult) {
        want.insert(it.id);
      }
    }
    ASSERT_LT(want.size(), 50u) << id;
    const json body = post({{"id", id}, {"n", 50}});
    ASSERT_TRUE(body.contains("franchise")) << body.dump();
    EXPECT_EQ(body["franchise"]["id"], franchise);
    std::set<int64_t> got;
    for (const json& r : body["franchise"]["hits"]) {
      EXPECT_EQ(r["franchise_id"], franchise);
      got.insert(r["id"].get<int64_t>());
    }
    EXPECT_EQ(got, want) << id;
    if (id == 918) {
      EXPECT_TRUE(got.count(9969) && got.count(28977)) << "Gintama' and Gintama°";
    }
    ASSERT_EQ(body["hits"].size(), 50u);
    for (const json& r : body["hits"]) {
      EXPECT_NE(r["franchise_id"], franchise) << r["title"];
      EXPECT_NE(r["id"], id);
    }
    // Mixed: the plain list, franchise entries where they rank.
    const json mixed = post({{"id", id}, {"n", 50}, {"franchise", "mixed"}});
    EXPECT_FALSE(mixed.contains("franchise"));
    SearchOptions so;
    so.collection = "genres";
    so.top_k = 50;
    so.filter.max_content =
        catalog_->Find(id)->all_ages() ? ContentLevel::kGeneral : ContentLevel::kMature;
    so.filter.exclude_genres = {"Hentai", "Erotica"};
    auto direct = backend_->Search(SearchQuery::Item(id), so);
    ASSERT_TRUE(direct.ok()) << direct.status();
    ASSERT_EQ(mixed["hits"].size(), direct->size());
    for (size_t i = 0; i < direct->size(); ++i) EXPECT_EQ(mixed["hits"][i]["id"], (*direct)[i].id);
  }
}

}  // namespace
}  // namespace simsearch::lambda
