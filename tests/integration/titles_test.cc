// Honest title resolution: when the anime a title names is not in the collection
// asked, the answer says so (which anime, where it is, what this collection has),
// through the engine, the gRPC client and the Lambda handler alike.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "lambda/handler.h"
#include "tests/integration/server_fixture.h"
#include "tests/testing/test_util.h"

namespace simsearch {
namespace {

using ::testing::HasSubstr;

Item Anime(int64_t id, std::string title) {
  Item it;
  it.id = id;
  it.title = std::move(title);
  it.genres = {"Action"};
  it.type = "TV";
  return it;
}

class TitlesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    // `full` holds One Piece (MAL 21); `partial` (like `ncf`, which has no interactions
    // for it) holds only the recap and other anime.
    const std::vector<Item> full = {Anime(5, "Naruto"), Anime(17, "One Piece Recap"),
                                    Anime(21, "One Piece"), Anime(30, "Bleach")};
    for (const auto& [name, items] : {std::pair<std::string, std::vector<Item>>{"full", full},
                                      {"partial", {full[0], full[1], full[3]}}}) {
      testing::BundleSpec spec;
      spec.collection = name;
      spec.dims = 2;
      for (const Item& it : items) spec.ids.push_back(it.id);
      spec.vectors = testing::RandomVectors(items.size(), 2, 3);
      spec.items = items;
      testing::BuildBundleOrDie(dir_->Join("root"), dir_->path(), spec);
    }
    srv_ = testing::InProcessServer::Start(dir_->Join("root")).release();
  }
  static void TearDownTestSuite() {
    delete srv_;
    delete dir_;
  }
  static inline testing::TempDir* dir_ = nullptr;
  static inline testing::InProcessServer* srv_ = nullptr;
};

TEST_F(TitlesTest, ATitleHeldOnlyElsewhereIsNotFoundNamingTheAnimeAndWhereItIs) {
  auto lookup = srv_->client->LookupTitle("partial", "one piece", 5);
  ASSERT_TRUE(lookup.ok()) << lookup.status();
  ASSERT_FALSE(lookup->matches.empty());
  EXPECT_EQ(lookup->matches[0].item.id, 17) << "the collection's own best match is the recap";
  ASSERT_TRUE(lookup->better_elsewhere.has_value());
  EXPECT_EQ(lookup->better_elsewhere->item.id, 21);
  EXPECT_EQ(lookup->better_elsewhere_in, std::vector<std::string>{"full"});
  auto resolved = ResolveTitle(*lookup, "one piece", "partial");
  ASSERT_FALSE(resolved.ok()) << "never a silent answer for a different anime";
  EXPECT_EQ(resolved.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(resolved.status().message(),
              HasSubstr("is One Piece (id 21), which collection 'partial' does not hold"));
  EXPECT_THAT(resolved.status().message(), HasSubstr("(it is in: full)"));
  EXPECT_THAT(resolved.status().message(), HasSubstr("closest there: One Piece Recap (id 17)"));

  // Where it is held, the same title resolves; the recap resolves anywhere.
  auto in_full = srv_->client->LookupTitle("full", "one piece", 5);
  ASSERT_TRUE(in_full.ok());
  EXPECT_FALSE(in_full->better_elsewhere.has_value());
  EXPECT_EQ(ResolveTitle(*in_full, "one piece", "full")->item.id, 21);
  auto recap = srv_->client->LookupTitle("partial", "one piece recap", 5);
  ASSERT_TRUE(recap.ok());
  EXPECT_FALSE(recap->better_elsewhere.has_value());
  EXPECT_EQ(ResolveTitle(*recap, "one piece recap", "partial")->item.id, 17);
}

TEST_F(TitlesTest, TheHttpApiPassesItThrough) {
  auto backend = lambda::MakeRemoteBackend(srv_->address());
  nlohmann::json e = {{"version", "2.0"},
                      {"rawPath", "/recommend"},
                      {"requestContext", {{"http", {{"method", "POST"}}}}},
                      {"body", R"({"name": "One Piece", "collection": "partial"})"}};
  const nlohmann::json out = nlohmann::json::parse(lambda::HandleEvent(e.dump(), {}, *backend, {}));
  EXPECT_EQ(out["statusCode"], 404);
  const nlohmann::json body = nlohmann::json::parse(out["body"].get<std::string>());
  EXPECT_THAT(body["error"].get<std::string>(), HasSubstr("One Piece (id 21)"));
  EXPECT_EQ(body["not_in_collection"]["id"], 21);
  EXPECT_EQ(body["not_in_collection"]["collections"], nlohmann::json::array({"full"}));
  EXPECT_EQ(body["suggestions"][0]["id"], 17);
}

}  // namespace
}  // namespace simsearch
