// The Lambda handler on saved API Gateway events (tests/data/lambda), payload 1.0 and
// 2.0, over the embedded backend; every bad request answers 4xx with a message that
// names the problem; an unreachable engine or a passed deadline answers 502/504.
#include "lambda/handler.h"
#include "lambda/routes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"

#include <functional>

#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/file_util.h"
#include "tests/lambda/lambda_fixture.h"
#include "tests/testing/test_util.h"

namespace simsearch::lambda {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

struct Answer {
  int status;
  json headers;
  json body;
};

class HandlerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    ASSERT_TRUE(testing::BuildTinyAnimeBundle(dir_->Join("root"), dir_->path()));
    auto b = MakeEmbeddedBackend(dir_->Join("root"), true);
    ASSERT_TRUE(b.ok()) << b.status();
    backend_ = b->release();
  }
  static void TearDownTestSuite() {
    delete backend_;
    delete dir_;
  }

  static HandlerOptions Options() {
    HandlerOptions o;
    o.recommend_collection = "tiny";
    o.search_collection = "tiny";
    return o;
  }

  static Answer Call(const std::string& event, const SearchBackend& backend, Invocation inv = {}) {
    const json out = json::parse(HandleEvent(event, inv, backend, Options()));
    Answer a{out.at("statusCode").get<int>(), out.at("headers"), json()};
    EXPECT_FALSE(out.at("isBase64Encoded").get<bool>());
    const std::string body = out.at("body").get<std::string>();
    if (!body.empty()) a.body = json::parse(body);
    // Every answer is JSON with CORS headers.
    EXPECT_EQ(a.headers.value("Content-Type", ""), "application/json");
    EXPECT_EQ(a.headers.value("Access-Control-Allow-Origin", ""), "*");
    EXPECT_EQ(a.headers.value("X-Content-Type-Options", ""), "nosniff")
        << "browsers must not guess the type";
    EXPECT_EQ(a.headers.value("Referrer-Policy", ""), "no-referrer");
    EXPECT_EQ(a.headers.value("Content-Security-Policy", ""),
              "default-src 'none'; frame-ancestors 'none'")
        << "an answer rendered as a document runs nothing";
    return a;
  }
  // An API Gateway payload 2.0 event: `method` on `path`.
  static std::string Event(const std::string& method, const std::string& path) {
    return json({{"version", "2.0"},
                 {"rawPath", path},
                 {"requestContext", {{"http", {{"method", method}}}}}})
        .dump();
  }
  // GET /search with these query parameters; POST /recommend with this body.
  static Answer SearchGet(const json& params) {
    json e = {{"version", "2.0"},
              {"rawPath", "/search"},
              {"requestContext", {{"http", {{"method", "GET"}}}}},
              {"queryStringParameters", params}};
    return Call(e.dump(), *backend_);
  }
  static Answer RecommendPost(const json& body) {
    json e = {{"version", "2.0"},
              {"rawPath", "/recommend"},
              {"requestContext", {{"http", {{"method", "POST"}}}}},
              {"body", body.dump()}};
    return Call(e.dump(), *backend_);
  }
  static Answer Saved(const std::string& name) {
    auto text = ReadFileToString(std::string(SIMSEARCH_TEST_DATA) + "/lambda/" + name + ".json");
    EXPECT_TRUE(text.ok()) << name;
    return Call(*text, *backend_);
  }
  // GET `path` with these query parameters.
  static Answer GetWith(const std::string& path, const json& params) {
    json e = {{"version", "2.0"},
              {"rawPath", path},
              {"requestContext", {{"http", {{"method", "GET"}}}}},
              {"queryStringParameters", params}};
    return Call(e.dump(), *backend_);
  }
  static std::vector<int64_t> ResultIds(const Answer& a) {
    std::vector<int64_t> ids;
    for (const json& r : a.body["hits"]) ids.push_back(r["id"].get<int64_t>());
    return ids;
  }

  static inline testing::TempDir* dir_ = nullptr;
  static inline SearchBackend* backend_ = nullptr;
};

TEST_F(HandlerTest, RecommendByNameRestPayload1WithAStagePath) {
  Answer a = Saved("v1_recommend_name");
  ASSERT_EQ(a.status, 200) << a.body.dump();
  EXPECT_EQ(a.body["query"]["id"], 1);
  EXPECT_EQ(a.body["query"]["title"], "Cowboy Bebop");
  // The same as asking the engine for more like item 1 directly.
  SearchOptions so;
  so.collection = "tiny";
  so.top_k = 2;
  auto direct = backend_->Search(SearchQuery::Item(1), so);
  ASSERT_TRUE(direct.ok());
  ASSERT_EQ(a.body["hits"].size(), 2u);
  for (size_t k = 0; k < 2; ++k) {
    EXPECT_EQ(a.body["hits"][k]["id"], (*direct)[k].id);
    EXPECT_EQ(a.body["hits"][k]["title"], (*direct)[k].item.title);
    EXPECT_FLOAT_EQ(a.body["hits"][k]["score"].get<float>(), (*direct)[k].score);
  }
  // "results", the list's name before 2026-12-08, is the same list for a release.
  EXPECT_EQ(a.body["results"], a.body["hits"]);
}

TEST_F(HandlerTest, RecommendByIdHttpPayload2) {
  Answer a = Saved("v2_recommend_id");
  ASSERT_EQ(a.status, 200) << a.body.dump();
  EXPECT_EQ(a.body["collection"], "tiny");
  EXPECT_EQ(a.body["hits"].size(), 2u);
  for (int64_t id : ResultIds(a)) EXPECT_NE(id, 1);
}

TEST_F(HandlerTest, Base64BodyWatchList) {
  Answer a = Saved("v2_recommend_like_base64");
  ASSERT_EQ(a.status, 200) << a.body.dump();
  EXPECT_EQ(a.body["query"]["like"], json::array({1, 5}));
  ASSERT_EQ(a.body["hits"].size(), 1u);
  EXPECT_NE(ResultIds(a)[0], 1);
  EXPECT_NE(ResultIds(a)[0], 5);
}

TEST_F(HandlerTest, SearchItemsHealthAndPreflight) {
  Answer s = Saved("v1_search");
  ASSERT_EQ(s.status, 200) << s.body.dump();
  EXPECT_EQ(s.body["hits"].size(), 2u);
  EXPECT_EQ(s.body["results"], s.body["hits"]) << "the old name, for a release";
  Answer i = Saved("v2_items_staged");
  ASSERT_EQ(i.status, 200) << i.body.dump();
  EXPECT_EQ(i.body["id"], 5);
  EXPECT_EQ(i.body["english_title"], "Cowboy Bebop: The Movie");
  Answer h = Saved("v2_health");
  ASSERT_EQ(h.status, 200);
  EXPECT_EQ(h.body["status"], "ok");
  EXPECT_FALSE(h.body.contains("backend")) << h.body.dump();
  EXPECT_EQ(h.body.dump().find(dir_->path()), std::string::npos) << "the index root is not public";
  Answer o = Saved("v2_options");
  EXPECT_EQ(o.status, 204);
  EXPECT_THAT(o.headers.value("Access-Control-Allow-Methods", ""), HasSubstr("POST"));
}

TEST_F(HandlerTest, EveryBadRequestIsA4xxNamingTheProblem) {
  // name, status, text for people; reason and field for programs ("" : no field).
  struct Case {
    std::string name;
    int status;
    std::string text, reason, field;
  };
  const std::vector<Case> cases = {
      {"bad_malformed_json", 400, "not valid JSON", "INVALID_ARGUMENT", "body"},
      {"bad_wrong_types", 400, "'n' must be an integer", "TOP_K_OUT_OF_RANGE", "n"},
      {"bad_id_type", 400, "'id' must be an integer", "INVALID_ARGUMENT", "id"},
      {"bad_missing_fields", 400, "give exactly one of 'name'", "EMPTY_QUERY", "name"},
      {"bad_two_queries", 400, "give exactly one of", "EMPTY_QUERY", "name"},
      {"bad_unknown_field", 400, "unknown field 'nme'", "INVALID_ARGUMENT", "nme"},
      {"bad_not_object", 400, "must be a JSON object", "INVALID_ARGUMENT", "body"},
      {"bad_empty_body", 400, "empty body", "INVALID_ARGUMENT", "body"},
      {"bad_unknown_route", 404, "no route GET /recommendations", "ROUTE_NOT_FOUND", ""},
      {"bad_wrong_method", 405, "method GET is not allowed on /recommend", "METHOD_NOT_ALLOWED",
       ""},
      {"bad_n_out_of_range", 400, "'n' must be between 1 and 100, got 0", "TOP_K_OUT_OF_RANGE",
       "n"},
      {"bad_unknown_title", 404, "no anime titled \"cowboy bebob\"", "TITLE_NOT_FOUND", "name"},
      {"bad_unknown_id", 404, "item 424242 is not in collection 'tiny'", "ITEM_NOT_IN_COLLECTION",
       ""},
      {"bad_search_missing_q", 400, "missing query parameter 'q'", "EMPTY_QUERY", "q"},
      {"bad_item_not_number", 400, "'abc' is not an anime id", "INVALID_ARGUMENT", "id"},
      {"bad_base64", 400, "not valid base64", "INVALID_ARGUMENT", ""},
      {"bad_not_an_event", 400, "not an API Gateway proxy event", "INVALID_ARGUMENT", ""},
  };
  for (const Case& c : cases) {
    Answer a = Saved(c.name);
    EXPECT_EQ(a.status, c.status) << c.name << ": " << a.body.dump();
    EXPECT_THAT(a.body.value("error", ""), HasSubstr(c.text)) << c.name;
    EXPECT_EQ(a.body.value("status", 0), c.status) << c.name;
    EXPECT_EQ(a.body.value("reason", ""), c.reason) << c.name << ": " << a.body.dump();
    EXPECT_EQ(a.body.value("field", ""), c.field) << c.name << ": " << a.body.dump();
  }
  Answer wrong = Saved("bad_wrong_method");
  EXPECT_EQ(wrong.headers.value("Allow", ""), "POST, OPTIONS");
}

// HEAD is answered wherever GET is (RFC 9110 section 9.3.2), with GET's status and
// body (the server in front leaves the body out); other methods get 405 naming both.
TEST_F(HandlerTest, HeadIsAnsweredWhereverGetIs) {
  auto call = [](const std::string& method, const std::string& path, json params = json::object()) {
    json e = {{"version", "2.0"},
              {"rawPath", path},
              {"requestContext", {{"http", {{"method", method}}}}}};
    if (!params.empty()) e["queryStringParameters"] = params;
    return Call(e.dump(), *backend_);
  };
  const std::vector<std::pair<std::string, json>> gets = {
      {"/health", json::object()},       {"/search", {{"q", "space"}}},
      {"/titles", {{"q", "cowboy"}}},    {"/items/1", json::object()},
      {"/items/424242", json::object()}, {"/search", json::object()}};
  for (const auto& [path, params] : gets) {
    const Answer get = call("GET", path, params);
    const Answer head = call("HEAD", path, params);
    EXPECT_EQ(head.status, get.status) << path;
    EXPECT_EQ(head.body, get.body) << path;
  }
  const Answer post = call("POST", "/health");
  EXPECT_EQ(post.status, 405);
  EXPECT_THAT(post.body.value("error", ""), HasSubstr("use GET or HEAD"));
  EXPECT_EQ(post.headers.value("Allow", ""), "GET, HEAD, OPTIONS");
  const Answer head_recommend = call("HEAD", "/recommend");
  EXPECT_EQ(head_recommend.status, 405);
  EXPECT_EQ(head_recommend.headers.value("Allow", ""), "POST, OPTIONS");
}

// Where each anime's vector came from reaches the HTTP answer through the embedded
// backend as through gRPC: on hits, and per collection on /items/{id}.
TEST_F(HandlerTest, AnswersSayWhereVectorsCameFrom) {
  auto call = [](const std::string& method, const std::string& path, const std::string& body = "") {
    json e = {{"version", "2.0"},
              {"rawPath", path},
              {"requestContext", {{"http", {{"method", method}}}}}};
    if (!body.empty()) e["body"] = body;
    return Call(e.dump(), *backend_);
  };
  const Answer item = call("GET", "/items/5680");
  ASSERT_EQ(item.status, 200) << item.body.dump();
  EXPECT_EQ(item.body["vectors"]["tiny"]["source"], "predicted");
  EXPECT_EQ(item.body["vectors"]["tiny"]["viewers"], 2);
  EXPECT_FALSE(item.body.contains("vector_source")) << "per collection on /items, not at the top";
  const Answer rec = call("POST", "/recommend", R"({"id": 1, "n": 4})");
  ASSERT_EQ(rec.status, 200) << rec.body.dump();
  for (const json& r : rec.body["hits"]) {
    EXPECT_EQ(r["vector_source"], r["id"] == 5680 ? "predicted" : "learned") << r.dump();
  }
}

TEST_F(HandlerTest, SearchTextModeIsPassedAndChecked) {
  Answer dense = SearchGet({{"q", "bounty hunters in space"}, {"mode", "dense"}});
  EXPECT_EQ(dense.status, 200) << dense.body.dump();
  EXPECT_EQ(dense.body["query"]["mode"], "dense");
  EXPECT_EQ(ResultIds(dense), ResultIds(SearchGet({{"q", "bounty hunters in space"}})))
      << "the tiny collection has no lexical index: its default is dense";
  Answer bogus = SearchGet({{"q", "space"}, {"mode", "fuzzy"}});
  EXPECT_EQ(bogus.status, 400);
  EXPECT_THAT(bogus.body.value("error", ""),
              HasSubstr("'mode' must be dense, lexical or hybrid, got 'fuzzy'"));
  Answer fusion = SearchGet({{"q", "space"}, {"fusion", "max"}});
  EXPECT_EQ(fusion.status, 400);
  EXPECT_THAT(fusion.body.value("error", ""), HasSubstr("'fusion' must be rrf or convex"));
  Answer lexical = SearchGet({{"q", "space"}, {"mode", "lexical"}});
  EXPECT_EQ(lexical.status / 100, 4);
  EXPECT_THAT(lexical.body.value("error", ""), HasSubstr("has no lexical index"));
  // The engine's reasons come through, with the HTTP API's field names.
  EXPECT_EQ(lexical.body.value("reason", ""), "QUERY_NOT_SUPPORTED");
  EXPECT_EQ(lexical.body.value("field", ""), "mode");
  Answer genre = SearchGet({{"q", "space"}, {"genres", "NoSuchGenre"}});
  EXPECT_EQ(genre.status, 400);
  EXPECT_EQ(genre.body.value("reason", ""), "UNKNOWN_GENRE");
  EXPECT_EQ(genre.body.value("field", ""), "genres");
}

TEST_F(HandlerTest, CardsCarryCoverDateSeasonScoreAndStudios) {
  Answer a = Call(Event("GET", "/items/1"), *backend_);
  ASSERT_EQ(a.status, 200) << a.body.dump();
  EXPECT_EQ(a.body["image_url"], "https://cdn.example/anime/1.jpg");
  EXPECT_EQ(a.body["start_date"], "1998-04-03");
  EXPECT_EQ(a.body["start_year"], 1998);
  EXPECT_EQ(a.body["season"], "spring");
  EXPECT_DOUBLE_EQ(a.body["mal_score"].get<double>(), 8.75);
  EXPECT_EQ(a.body["studios"], json({"Studio 1", "Sunrise"}));
  // Unknown stays absent, not zero: Naruto has no score, K-On! only a year.
  Answer naruto = Call(Event("GET", "/items/20"), *backend_);
  EXPECT_FALSE(naruto.body.contains("mal_score")) << naruto.body.dump();
  Answer kon = Call(Event("GET", "/items/5680"), *backend_);
  EXPECT_EQ(kon.body["start_year"], 2009);
  EXPECT_FALSE(kon.body.contains("season")) << "a year alone has no season";
  // A search hit's "score" stays its similarity; MAL's is mal_score.
  Answer hits = RecommendPost({{"id", 1}, {"top_k", 4}});
  ASSERT_EQ(hits.status, 200) << hits.body.dump();
  for (const json& h : hits.body["hits"]) {
    EXPECT_LE(h["score"].get<double>(), 1.0 + 1e-6) << "a cosine, not a MAL score";
  }
}

// A watch list's results say which liked anime they come from, with titles.
TEST_F(HandlerTest, WatchListResultsGiveTheirReasons) {
  Answer a = RecommendPost({{"like", {1, 6}}, {"top_k", 3}});
  ASSERT_EQ(a.status, 200) << a.body.dump();
  size_t with = 0;
  for (const json& r : a.body["hits"]) {
    if (!r.contains("because")) continue;
    ++with;
    float last = 2;
    for (const json& b : r["because"]) {
      const int64_t id = b["id"];
      EXPECT_TRUE(id == 1 || id == 6) << b.dump();
      EXPECT_EQ(b["title"], id == 1 ? "Cowboy Bebop" : "Trigun");
      const float share = b["share"];
      EXPECT_GT(share, 0);
      EXPECT_LE(share, last) << "largest first";
      last = share;
    }
  }
  EXPECT_GT(with, 0u) << a.body.dump();
  // A liked anime listed twice is one reason, not two.
  Answer twice = RecommendPost({{"like", {1, 6, 1}}, {"top_k", 3}});
  ASSERT_EQ(twice.status, 200) << twice.body.dump();
  for (const json& r : twice.body["hits"]) {
    std::set<int64_t> ids;
    for (const json& b : r.value("because", json::array())) ids.insert(b["id"].get<int64_t>());
    EXPECT_EQ(ids.size(), r.value("because", json::array()).size()) << r.dump();
  }
  // An anime's own list has no reasons to give.
  Answer by_id = RecommendPost({{"id", 1}, {"top_k", 3}});
  for (const json& r : by_id.body["hits"]) EXPECT_FALSE(r.contains("because"));
}

// A parent's bound on a watch list's recommendations: MAL's age rating, at most PG-13.
TEST_F(HandlerTest, RecommendTakesAnAgeRatingBound) {
  Answer a = RecommendPost({{"like", {1}}, {"top_k", 4}, {"max_age_rating", "pg_13"}});
  ASSERT_EQ(a.status, 200) << a.body.dump();
  EXPECT_EQ(ResultIds(a).size(), 3u) << "6, 20 and 5680 are PG-13; 5 is R";
  for (const json& r : a.body["hits"]) EXPECT_EQ(r["age_rating"], "pg_13") << r.dump();
  EXPECT_EQ(a.body["filter"]["max_age_rating"], "pg_13");
  Answer bad = RecommendPost({{"like", {1}}, {"max_age_rating", 13}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body.value("field", ""), "max_age_rating");
  Answer unknown = RecommendPost({{"like", {1}}, {"max_age_rating", "PG-13"}});
  EXPECT_EQ(unknown.status, 400) << unknown.body.dump();
  EXPECT_EQ(unknown.body.value("field", ""), "max_age_rating");
}

// An imported list longer than one engine query takes: asked with its most recently
// added anime (liked first), and the answer says so; past what a list may hold, a 400.
TEST_F(HandlerTest, LongWatchListsAreAskedWithTheirMostRecentAnime) {
  std::vector<int64_t> like(1200, 1);  // one anime the collection holds, listed again and again
  like.push_back(6);
  for (int64_t id = 900000; id < 900300; ++id) like.push_back(id);  // not in the catalogue
  Answer a = RecommendPost({{"like", like}, {"top_k", 3}});
  ASSERT_EQ(a.status, 200) << a.body.dump().substr(0, 400);
  EXPECT_EQ(a.body["ignored"].size(), 300u) << "the unknown ones are named, not counted";
  EXPECT_THAT(a.body.value("notice", ""), HasSubstr("1201 anime in our catalogue"));
  EXPECT_THAT(a.body.value("notice", ""), HasSubstr("from the 1000 most recently added"));
  const std::vector<int64_t> ids = ResultIds(a);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 6), 0) << "6 is liked: the last one listed, kept";
  std::vector<int64_t> too_many(5001, 1);
  Answer big = RecommendPost({{"like", too_many}});
  EXPECT_EQ(big.status, 400);
  EXPECT_EQ(big.body.value("reason", ""), "TOO_MANY_IDS");
}

TEST_F(HandlerTest, BrowseOrdersFiltersAndPages) {
  // By MAL score: 8.75, 8.38, 8.22, 7.86, then Naruto (no score) last.
  Answer best = GetWith("/browse", {{"collection", "tiny"}});
  ASSERT_EQ(best.status, 200) << best.body.dump();
  std::vector<int64_t> ids;
  for (const json& it : best.body["items"]) ids.push_back(it["id"]);
  EXPECT_EQ(ids, (std::vector<int64_t>{1, 5, 6, 5680, 20}));
  EXPECT_EQ(best.body["total"], 5);
  EXPECT_EQ(best.body["sort"], "score");
  // Newest first; a season of a year; a year range; popularity ascending.
  auto order = [&](const json& params) {
    Answer a = GetWith("/browse", params);
    EXPECT_EQ(a.status, 200) << a.body.dump();
    std::vector<int64_t> out;
    for (const json& it : a.body["items"]) out.push_back(it["id"]);
    return out;
  };
  EXPECT_EQ(order({{"sort", "date"}}), (std::vector<int64_t>{5680, 20, 5, 1, 6}));
  EXPECT_EQ(order({{"season", "spring"}, {"year", "1998"}}), (std::vector<int64_t>{1, 6}));
  EXPECT_EQ(order({{"min_year", "2001"}, {"max_year", "2002"}, {"sort", "date"}}),
            (std::vector<int64_t>{20, 5}));
  EXPECT_EQ(order({{"sort", "popularity"}, {"order", "asc"}}),
            (std::vector<int64_t>{1, 5, 6, 20, 5680}));
  EXPECT_EQ(order({{"genres", "Music"}}), (std::vector<int64_t>{5680}));
  EXPECT_EQ(order({{"min_members", "1006"}}), (std::vector<int64_t>{6, 5680, 20}));
  EXPECT_EQ(order({{"max_age_rating", "pg_13"}}), (std::vector<int64_t>{6, 5680, 20}));
  // Pages: two of two, then the last of one.
  Answer p1 = GetWith("/browse", {{"page_size", "2"}});
  ASSERT_TRUE(p1.body.contains("next_page_token")) << p1.body.dump();
  Answer p2 = GetWith("/browse", {{"page_size", "2"}, {"page_token", p1.body["next_page_token"]}});
  Answer p3 = GetWith("/browse", {{"page_size", "2"}, {"page_token", p2.body["next_page_token"]}});
  EXPECT_EQ(p2.body["items"][0]["id"], 6);
  EXPECT_EQ(p3.body["items"].size(), 1u);
  EXPECT_FALSE(p3.body.contains("next_page_token"));
  // Bad values name their parameter.
  for (const auto& [params, field] : std::vector<std::pair<json, std::string>>{
           {{{"sort", "best"}}, "sort"},
           {{{"order", "up"}}, "order"},
           {{{"season", "monsoon"}}, "season"},
           {{{"year", "20x"}}, "year"},
           {{{"year", "2001"}, {"min_year", "2000"}}, "year"},
           {{{"min_year", "2005"}, {"max_year", "2001"}}, "max_year"},
           {{{"page_size", "0"}}, "page_size"},
           {{{"min_members", "-5"}}, "min_members"},
           {{{"max_age_rating", "PG13"}}, "max_age_rating"},
           {{{"genres", "Nope"}}, "genres"},
           {{{"page_token", "junk"}}, "page_token"}}) {
    Answer bad = GetWith("/browse", params);
    EXPECT_EQ(bad.status, 400) << params.dump();
    EXPECT_EQ(bad.body.value("field", ""), field) << bad.body.dump();
  }
}

TEST_F(HandlerTest, CollectionsListWhatFiltersMayName) {
  Answer a = Call(Event("GET", "/collections"), *backend_);
  ASSERT_EQ(a.status, 200) << a.body.dump();
  ASSERT_EQ(a.body["collections"].size(), 1u);
  const json& tiny = a.body["collections"][0];
  EXPECT_EQ(tiny["name"], "tiny");
  EXPECT_EQ(tiny["count"], 5);
  EXPECT_EQ(tiny["genres"], json({"Action", "Comedy", "Music", "Sci-Fi", "Shounen", "Space"}));
  EXPECT_EQ(tiny["types"], json({"TV"}));
}

TEST_F(HandlerTest, ManyItemsAtOnceWithTheMissingListed) {
  auto post = [&](const std::string& body) {
    json e = {{"version", "2.0"},
              {"rawPath", "/items"},
              {"requestContext", {{"http", {{"method", "POST"}}}}},
              {"body", body}};
    return Call(e.dump(), *backend_);
  };
  Answer a = post(R"({"ids": [5680, 99999, 1, 5680, -3]})");
  ASSERT_EQ(a.status, 200) << a.body.dump();
  ASSERT_EQ(a.body["items"].size(), 2u);
  EXPECT_EQ(a.body["items"][0]["id"], 5680) << "request order, repeats answered once";
  EXPECT_EQ(a.body["items"][0]["title"], "K-On!");
  EXPECT_EQ(a.body["items"][1]["id"], 1);
  EXPECT_EQ(a.body["missing_ids"], json({99999, -3}));
  // 2,500 ids (an imported list): more than one engine call's worth, same answer.
  std::vector<int64_t> many;
  for (int64_t i = 0; i < 2500; ++i) many.push_back(i % 7 == 0 ? 1 : 100000 + i);
  Answer big = post(json({{"ids", many}}).dump());
  ASSERT_EQ(big.status, 200) << big.body.dump().substr(0, 300);
  EXPECT_EQ(big.body["items"].size(), 1u);
  EXPECT_EQ(big.body["missing_ids"].size(), 2500u - 358u);  // 358 repeats of id 1 answered once
  for (const auto& [body, field] :
       std::vector<std::pair<std::string, std::string>>{{"", "body"},
                                                        {"[1]", "body"},
                                                        {R"({"ids": []})", "ids"},
                                                        {R"({"ids": [1.5]})", "ids"},
                                                        {R"({"ids": [1], "idz": 2})", "idz"}}) {
    Answer bad = post(body);
    EXPECT_EQ(bad.status, 400) << body;
    EXPECT_EQ(bad.body.value("field", ""), field) << bad.body.dump();
  }
  std::vector<int64_t> too_many(5001, 1);
  EXPECT_EQ(post(json({{"ids", too_many}}).dump()).body.value("reason", ""), "TOO_MANY_IDS");
  // GET /items (no id) is another method of the same path.
  EXPECT_EQ(Call(Event("GET", "/items"), *backend_).status, 405);
}

// A backend that hands every call to another; tests override what they watch or break.
class ForwardingBackend : public SearchBackend {
 public:
  explicit ForwardingBackend(const SearchBackend* b) : b_(b) {}
  absl::StatusOr<std::vector<ClientHit>> Search(const SearchQuery& q,
                                                const SearchOptions& o) const override {
    return b_->Search(q, o);
  }
  absl::StatusOr<TitleLookup> LookupTitle(const std::string& c, const std::string& q, int n,
                                          absl::Time d) const override {
    return b_->LookupTitle(c, q, n, d);
  }
  absl::StatusOr<std::vector<ItemRecord>> GetItems(const std::string& c,
                                                   const std::vector<int64_t>& ids,
                                                   absl::Time d) const override {
    return b_->GetItems(c, ids, d);
  }
  absl::StatusOr<std::vector<CollectionItems>> GetItemsIn(const std::vector<std::string>& cs,
                                                          const std::vector<int64_t>& ids,
                                                          absl::Time d) const override {
    return b_->GetItemsIn(cs, ids, d);
  }
  absl::StatusOr<std::vector<CollectionInfo>> ListCollections(absl::Time d) const override {
    return b_->ListCollections(d);
  }
  absl::StatusOr<CollectionInfo> DescribeCollection(const std::string& c,
                                                    absl::Time d) const override {
    return b_->DescribeCollection(c, d);
  }
  absl::StatusOr<ItemPage> ListItems(const std::string& c, const ListRequest& r,
                                     absl::Time d) const override {
    return b_->ListItems(c, r, d);
  }
  std::string Describe() const override { return b_->Describe(); }

 private:
  const SearchBackend* b_;
};

// Counts the calls a handler makes of a backend it wraps.
class CountingBackend final : public ForwardingBackend {
 public:
  using ForwardingBackend::ForwardingBackend;
  absl::StatusOr<std::vector<ClientHit>> Search(const SearchQuery& q,
                                                const SearchOptions& o) const override {
    ++searches;
    return ForwardingBackend::Search(q, o);
  }
  absl::StatusOr<std::vector<ItemRecord>> GetItems(const std::string& c,
                                                   const std::vector<int64_t>& ids,
                                                   absl::Time d) const override {
    ++get_items;
    return ForwardingBackend::GetItems(c, ids, d);
  }
  absl::StatusOr<std::vector<CollectionItems>> GetItemsIn(const std::vector<std::string>& cs,
                                                          const std::vector<int64_t>& ids,
                                                          absl::Time d) const override {
    ++get_items_in;
    return ForwardingBackend::GetItemsIn(cs, ids, d);
  }
  mutable int searches = 0, get_items = 0, get_items_in = 0;
};

// A watch list and /items/{id} ask which anime the collections hold in one call, not one
// per anime or per collection (a round trip each in remote mode).
TEST_F(HandlerTest, WatchListsAndItemsAskInOneCall) {
  CountingBackend counting(backend_);
  json e = {{"version", "2.0"},
            {"rawPath", "/recommend"},
            {"requestContext", {{"http", {{"method", "POST"}}}}},
            {"body", json({{"like", {1, 5, 424242, 6}}, {"dislike", {777777}}}).dump()}};
  Answer a = Call(e.dump(), counting);
  ASSERT_EQ(a.status, 200) << a.body.dump();
  EXPECT_EQ(a.body["ignored"], json({424242, 777777}));
  EXPECT_EQ(counting.get_items_in, 1);
  EXPECT_EQ(counting.get_items, 0);
  EXPECT_EQ(counting.searches, 1);
  counting.get_items_in = 0;
  Answer item = Call(Event("GET", "/items/1"), counting);
  ASSERT_EQ(item.status, 200) << item.body.dump();
  EXPECT_EQ(item.body["collections"], json({"tiny"}));
  EXPECT_EQ(counting.get_items_in, 1);
  EXPECT_EQ(counting.get_items, 0);
  // A listed collection that went away before the items call is skipped.
  class GoneToo final : public ForwardingBackend {
   public:
    using ForwardingBackend::ForwardingBackend;
    absl::StatusOr<std::vector<CollectionItems>> GetItemsIn(const std::vector<std::string>& cs,
                                                            const std::vector<int64_t>& ids,
                                                            absl::Time d) const override {
      if (std::find(cs.begin(), cs.end(), "gone") != cs.end()) {
        return NotFoundResourceError(reason::kCollectionNotFound, "collection", "gone",
                                     "unknown collection 'gone'");
      }
      return ForwardingBackend::GetItemsIn(cs, ids, d);
    }
    absl::StatusOr<std::vector<CollectionInfo>> ListCollections(absl::Time d) const override {
      auto list = ForwardingBackend::ListCollections(d);
      CollectionInfo g;
      g.name = "gone";
      if (list.ok()) list->push_back(g);
      return list;
    }
  } gone(backend_);
  Answer still = Call(Event("GET", "/items/1"), gone);
  ASSERT_EQ(still.status, 200) << still.body.dump();
  EXPECT_EQ(still.body["collections"], json({"tiny"}));
  Answer absent = Call(Event("GET", "/items/424242"), counting);
  EXPECT_EQ(absent.status, 404);
  EXPECT_EQ(absent.body.value("reason", ""), "ITEM_NOT_FOUND");
}

// The search knobs and pages over HTTP: the same engine knobs as gRPC, in the query
// string of /search and the body of /recommend; pages concatenate to the whole list.
TEST_F(HandlerTest, KnobsAndPagesOverHttp) {
  // Pages of a watch list's recommendations, 2 at a time, against the whole list.
  Answer whole = RecommendPost({{"like", {1}}, {"top_k", 7}});
  ASSERT_EQ(whole.status, 200) << whole.body.dump();
  Answer same = RecommendPost({{"like", {1}}, {"n", 7}});
  EXPECT_EQ(ResultIds(same), ResultIds(whole)) << "top_k and its older name n agree";
  std::vector<int64_t> paged;
  json body = {{"like", {1}}, {"top_k", 7}, {"page_size", 2}};
  for (int page = 0; page < 10; ++page) {
    Answer a = RecommendPost(body);
    ASSERT_EQ(a.status, 200) << a.body.dump();
    for (int64_t id : ResultIds(a)) paged.push_back(id);
    if (!a.body.contains("next_page_token")) break;
    body["page_token"] = a.body["next_page_token"];
  }
  EXPECT_EQ(paged, ResultIds(whole));
  // A token of another search, and the knobs' checks, name their field.
  body = {{"like", {1}}, {"top_k", 6}, {"page_token", body["page_token"]}};
  Answer other = RecommendPost(body);
  EXPECT_EQ(other.status, 400);
  EXPECT_EQ(other.body.value("reason", ""), "PAGE_TOKEN_INVALID");
  EXPECT_EQ(other.body.value("field", ""), "page_token");
  // The engine's field paths come back as the HTTP API's names.
  Answer weight = RecommendPost({{"like", {1}}, {"dislike", {6}}, {"dislike_weight", 2}});
  EXPECT_EQ(weight.status, 400) << weight.body.dump();
  EXPECT_EQ(weight.body.value("field", ""), "dislike_weight") << "query.items.negative_weight";
  Answer huge = RecommendPost({{"like", {1}}, {"min_score", 1e39}});
  EXPECT_EQ(huge.status, 400);
  EXPECT_EQ(huge.body.value("field", ""), "min_score");
  Answer ef = SearchGet({{"q", "space"}, {"ef", "0"}});
  EXPECT_EQ(ef.status, 400);
  EXPECT_EQ(ef.body.value("field", ""), "ef");
  Answer both = SearchGet({{"q", "space"}, {"k", "3"}, {"top_k", "3"}});
  EXPECT_EQ(both.status, 400);
  EXPECT_EQ(both.body.value("field", ""), "top_k");
  // min_score cuts the list where the scores fall below it.
  Answer all = SearchGet({{"q", "bounty hunters in space"}, {"top_k", "5"}, {"exact", "true"}});
  ASSERT_EQ(all.status, 200) << all.body.dump();
  ASSERT_GE(all.body["hits"].size(), 3u);
  const double third = all.body["hits"][2]["score"].get<double>();
  Answer cut = SearchGet({{"q", "bounty hunters in space"},
                          {"top_k", "5"},
                          {"min_score", absl::StrCat(third - 1e-4)}});
  ASSERT_EQ(cut.status, 200) << cut.body.dump();
  for (const json& r : cut.body["hits"]) EXPECT_GE(r["score"].get<double>(), third - 1e-4);
  EXPECT_GE(cut.body["hits"].size(), 3u);
  EXPECT_LT(cut.body["hits"].size(), all.body["hits"].size());
}

// Every route the handler answers is deployed: template.yaml (the SAM template) has an
// HttpApi event with its path and method. The routes come from the handler's own 404.
TEST_F(HandlerTest, EveryRouteIsInTheSamTemplate) {
  auto text = ReadFileToString(std::string(SIMSEARCH_SOURCE_DIR) + "/template.yaml");
  ASSERT_TRUE(text.ok());
  for (const Route& r : kRoutes) {
    for (const absl::string_view method : r.method == "GET"
                                              ? std::vector<absl::string_view>{"GET", "HEAD"}
                                              : std::vector<absl::string_view>{r.method}) {
      const bool quoted =
          absl::StrContains(*text, absl::StrCat("Path: \"", r.path, "\", Method: ", method));
      const bool plain =
          absl::StrContains(*text, absl::StrCat("Path: ", r.path, ", Method: ", method));
      EXPECT_TRUE(quoted || plain)
          << method << " " << r.path << " is not deployed by template.yaml";
    }
  }
  // The handler's 404 names the same routes.
  Answer a = Call(Event("GET", "/nope"), *backend_);
  ASSERT_EQ(a.status, 404);
  for (const Route& r : kRoutes) {
    EXPECT_THAT(a.body.value("error", ""), HasSubstr(absl::StrCat(r.method, " ", r.path)));
  }
}

// The route table and the OpenAPI document (api/openapi.json, the form of
// api/openapi.yaml the handler serves) name the same routes, both ways; the handler
// serves the document at /openapi.json.
TEST_F(HandlerTest, EveryRouteIsInTheOpenApiDocumentAndNoOther) {
  auto text = ReadFileToString(std::string(SIMSEARCH_SOURCE_DIR) + "/api/openapi.json");
  ASSERT_TRUE(text.ok());
  const json doc = json::parse(*text);
  std::set<std::string> documented, routed;
  for (const auto& [path, ops] : doc.at("paths").items()) {
    for (const auto& [method, op] : ops.items()) {
      documented.insert(absl::StrCat(absl::AsciiStrToUpper(method), " ", path));
    }
  }
  for (const Route& r : kRoutes) routed.insert(absl::StrCat(r.method, " ", r.path));
  EXPECT_EQ(documented, routed) << "api/openapi.yaml and lambda/routes.h disagree";
  EXPECT_EQ(json::parse(OpenApiDocument()), doc)
      << "the compiled-in document is not api/openapi.json: re-run cmake";
  Answer served = Call(Event("GET", "/openapi.json"), *backend_);
  EXPECT_EQ(served.status, 200);
  EXPECT_EQ(served.body, doc);
  // Every route answers something other than 404 ("{id}" filled in).
  for (const Route& r : kRoutes) {
    std::string path(r.path);
    if (size_t b = path.find("{id}"); b != std::string::npos) path.replace(b, 4, "1");
    Answer a = Call(Event(std::string(r.method), path), *backend_);
    EXPECT_NE(a.status, 404) << r.method << " " << path << ": " << a.body.dump();
  }
}

TEST_F(HandlerTest, UnknownTitleSuggestsTheClosest) {
  Answer a = Saved("bad_unknown_title");
  ASSERT_EQ(a.status, 404);
  ASSERT_FALSE(a.body["suggestions"].empty());
  EXPECT_EQ(a.body["suggestions"][0]["id"], 1);
  EXPECT_EQ(a.body["suggestions"][0]["title"], "Cowboy Bebop");
}

TEST_F(HandlerTest, OversizedBodyAndNonJsonEvent) {
  json e = json::parse(
      *ReadFileToString(std::string(SIMSEARCH_TEST_DATA) + "/lambda/v2_recommend_id.json"));
  e["body"] = "{\"id\": 1, \"pad\": \"" + std::string(100000, 'x') + "\"}";
  Answer big = Call(e.dump(), *backend_);
  EXPECT_EQ(big.status, 413);
  EXPECT_THAT(big.body["error"].get<std::string>(), HasSubstr("larger than 65536 bytes"));
  Answer junk = Call("this is not json", *backend_);
  EXPECT_EQ(junk.status, 400);
}

// A backend that fails the way a remote engine does.
class FailingBackend final : public SearchBackend {
 public:
  explicit FailingBackend(absl::Status st) : st_(std::move(st)) {}
  absl::StatusOr<std::vector<ClientHit>> Search(const SearchQuery&,
                                                const SearchOptions& o) const override {
    ++calls;
    last_deadline = o.deadline.value_or(absl::InfiniteFuture());
    return st_;
  }
  absl::StatusOr<TitleLookup> LookupTitle(const std::string&, const std::string&, int,
                                          absl::Time) const override {
    ++calls;
    return st_;
  }
  absl::StatusOr<std::vector<ItemRecord>> GetItems(const std::string&, const std::vector<int64_t>&,
                                                   absl::Time deadline) const override {
    ++calls;
    last_deadline = deadline;  // /recommend by id asks for the anime's level first
    return st_;
  }
  absl::StatusOr<std::vector<CollectionItems>> GetItemsIn(const std::vector<std::string>&,
                                                          const std::vector<int64_t>&,
                                                          absl::Time deadline) const override {
    ++calls;
    last_deadline = deadline;
    return st_;
  }
  absl::StatusOr<std::vector<CollectionInfo>> ListCollections(absl::Time) const override {
    ++calls;
    return st_;
  }
  absl::StatusOr<CollectionInfo> DescribeCollection(const std::string&, absl::Time) const override {
    ++calls;
    return st_;
  }
  absl::StatusOr<ItemPage> ListItems(const std::string&, const ListRequest&,
                                     absl::Time deadline) const override {
    ++calls;
    last_deadline = deadline;
    return st_;
  }
  std::string Describe() const override { return "failing"; }
  mutable int calls = 0;
  mutable absl::Time last_deadline;

 private:
  absl::Status st_;
};

TEST_F(HandlerTest, UnreachableEngineIs502AndPassedDeadlineIs504) {
  const std::string event =
      *ReadFileToString(std::string(SIMSEARCH_TEST_DATA) + "/lambda/v2_recommend_id.json");
  FailingBackend down(
      absl::UnavailableError("failed to connect to all addresses; last error: "
                             "ipv4:10.1.2.3:50051: Connection refused"));
  std::string detail;
  const json out = json::parse(HandleEvent(event, {}, down, Options(), &detail));
  EXPECT_EQ(out["statusCode"], 502);
  const std::string body = out["body"].get<std::string>();
  EXPECT_THAT(body, HasSubstr("search engine is unavailable"));
  EXPECT_EQ(body.find("10.1.2.3"), std::string::npos) << "no engine address in answers: " << body;
  EXPECT_EQ(body.find("Connection refused"), std::string::npos)
      << "no gRPC text in answers: " << body;
  EXPECT_THAT(detail, HasSubstr("10.1.2.3:50051")) << "the detail is for the log";
  Answer h =
      Call(*ReadFileToString(std::string(SIMSEARCH_TEST_DATA) + "/lambda/v2_health.json"), down);
  EXPECT_EQ(h.status, 502);
  EXPECT_EQ(h.body.dump().find("failing"), std::string::npos) << h.body.dump();

  FailingBackend slow(absl::DeadlineExceededError("Deadline Exceeded"));
  EXPECT_EQ(Call(event, slow).status, 504);

  // The invocation's deadline, less the margin, is the engine call's deadline.
  Invocation inv;
  inv.deadline = absl::Now() + absl::Seconds(3);
  Call(event, slow, inv);
  EXPECT_NEAR(absl::ToDoubleSeconds(slow.last_deadline - inv.deadline), -0.1, 1e-6);
  // Already past: answered 504 without calling the engine.
  FailingBackend untouched(absl::OkStatus());
  inv.deadline = absl::Now() - absl::Seconds(1);
  Answer late = Call(event, untouched, inv);
  EXPECT_EQ(late.status, 504);
  EXPECT_EQ(untouched.calls, 0);
}

// Events of the wrong shape are 400s naming the field, never a 500 with the JSON
// library's exception text; and a NUL byte does not cut a body short.
TEST_F(HandlerTest, MalformedEventFieldsAre400sNotExceptions) {
  const json base = json::parse(
      *ReadFileToString(std::string(SIMSEARCH_TEST_DATA) + "/lambda/v2_recommend_id.json"));
  struct Case {
    std::function<void(json&)> edit;
    std::string what;
  };
  const std::vector<Case> cases = {
      {[](json& e) { e["isBase64Encoded"] = "true"; }, "'isBase64Encoded' must be true or false"},
      {[](json& e) { e["version"] = 2; }, "'version' must be a string"},
      {[](json& e) { e["version"] = "3.0"; }, "unknown event version '3.0'"},
      {[](json& e) { e["requestContext"] = "x"; }, "'requestContext' must be an object"},
      {[](json& e) { e["requestContext"]["http"] = 5; }, "'requestContext.http' must be an object"},
      {[](json& e) { e["requestContext"]["http"]["method"] = json::array(); },
       "'requestContext.http.method' must be a string"},
      {[](json& e) { e["rawPath"] = 1.5; }, "'rawPath' must be a string"},
      {[](json& e) { e["headers"] = json::array(); }, "'headers' must be an object"},
      {[](json& e) { e["queryStringParameters"] = 7; },
       "'queryStringParameters' must be an object"},
      {[](json& e) { e["body"] = json::object(); }, "'body' must be a string"},
      {[](json& e) {
         e["isBase64Encoded"] = false;
         e["body"] = std::string("{\"id\": 1}\0garbage", 17);
       },
       "NUL byte"},
  };
  for (const Case& c : cases) {
    json e = base;
    c.edit(e);
    Answer a = Call(e.dump(), *backend_);
    EXPECT_EQ(a.status, 400) << c.what << ": " << a.body.dump();
    EXPECT_THAT(a.body["error"].get<std::string>(), HasSubstr(c.what));
    EXPECT_EQ(a.body.dump().find("type_error"), std::string::npos) << a.body.dump();
  }
  std::string raw = base.dump();
  raw.insert(raw.size() - 1, std::string("\0", 1));
  EXPECT_EQ(Call(raw, *backend_).status, 400) << "a NUL inside the event itself";
}

}  // namespace
}  // namespace simsearch::lambda

namespace simsearch::lambda {
namespace {

// The invocation's outcome names the route, status and the answering version, and its
// EMF line is what CloudWatch's Embedded Metric Format specifies.
TEST_F(HandlerTest, OutcomeAndEmfLineDescribeTheInvocation) {
  auto text = ReadFileToString(std::string(SIMSEARCH_TEST_DATA) + "/lambda/v2_recommend_id.json");
  ASSERT_TRUE(text.ok());
  Outcome o;
  (void)HandleEvent(*text, {}, *backend_, Options(), &o);
  EXPECT_EQ(o.status, 200);
  EXPECT_EQ(o.route, "/recommend");
  EXPECT_EQ(o.collection_version, "v000001");
  const json line = json::parse(EmfLine(o, "req-1", 1.25, absl::FromUnixMillis(1700000000123)));
  EXPECT_EQ(line["_aws"]["Timestamp"], 1700000000123);
  const json& m = line["_aws"]["CloudWatchMetrics"][0];
  EXPECT_EQ(m["Namespace"], "simsearch");
  EXPECT_EQ(m["Dimensions"], json::parse(R"([["Route","Status"]])"));
  EXPECT_EQ(m["Metrics"][0]["Name"], "Latency");
  EXPECT_EQ(m["Metrics"][0]["Unit"], "Milliseconds");
  // Every dimension and metric named is a member of the line.
  EXPECT_EQ(line["Route"], "/recommend");
  EXPECT_EQ(line["Status"], "200");
  EXPECT_DOUBLE_EQ(line["Latency"].get<double>(), 1.25);
  EXPECT_EQ(line["Requests"], 1);
  EXPECT_EQ(line["request_id"], "req-1");
  EXPECT_EQ(line["collection_version"], "v000001");

  Outcome unmatched;
  (void)HandleEvent(
      R"({"version":"2.0","rawPath":"/nope","requestContext":{"http":{"method":"GET"}}})", {},
      *backend_, Options(), &unmatched);
  EXPECT_EQ(unmatched.status, 404);
  EXPECT_EQ(json::parse(EmfLine(unmatched, "\xff", 0, absl::Now()))["Route"], "unmatched");
}

}  // namespace
}  // namespace simsearch::lambda
