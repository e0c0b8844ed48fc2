#include "core/cli.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace simsearch {
namespace {

using ::testing::HasSubstr;

absl::Status Parse(ArgParser* p, std::vector<std::string> args, std::vector<std::string>* pos) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return p->Parse(static_cast<int>(argv.size()), argv.data(), 0, pos);
}

TEST(ArgParser, ParsesFormsAliasesListsAndPositionals) {
  std::string coll;
  int k = 10;
  bool json = false;
  std::vector<int64_t> ids;
  std::vector<std::string> genres;
  ArgParser p("t", "usage");
  p.AddString("collection", &coll, "c");
  p.AddInt("k", &k, "k");
  p.AddAlias("-k", "k");
  p.AddBool("json", &json, "j");
  p.AddInt64List("like", &ids, "l");
  p.AddStringList("genre", &genres, "g");
  std::vector<std::string> pos;
  ASSERT_TRUE(Parse(&p,
                    {"Cowboy", "--collection=genres", "-k", "5", "--json", "--like", "1,2",
                     "--like=3", "--genre", "Action", "--genre", "Sci-Fi, Space", "Bebop"},
                    &pos)
                  .ok());
  EXPECT_EQ(coll, "genres");
  EXPECT_EQ(k, 5);
  EXPECT_TRUE(json);
  EXPECT_EQ(ids, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(genres, (std::vector<std::string>{"Action", "Sci-Fi", "Space"}));
  EXPECT_EQ(pos, (std::vector<std::string>{"Cowboy", "Bebop"}));
  // A long alias (an older name), with and without '='.
  p.AddAlias("--top-k", "k");
  ASSERT_TRUE(Parse(&p, {"--top-k", "7"}, nullptr).ok());
  EXPECT_EQ(k, 7);
  ASSERT_TRUE(Parse(&p, {"--top-k=8"}, nullptr).ok());
  EXPECT_EQ(k, 8);
  EXPECT_TRUE(p.was_set("k"));
}

TEST(ArgParser, ErrorsSayWhatToChange) {
  std::string coll;
  int k = 0;
  ArgParser p("t", "usage");
  p.AddString("collection", &coll, "c");
  p.AddInt("k", &k, "k");
  p.Require("collection");
  EXPECT_THAT(Parse(&p, {"--colection", "x"}, nullptr).message(),
              HasSubstr("unknown flag --colection; did you mean --collection?"));
  EXPECT_THAT(Parse(&p, {"--k", "ten", "--collection", "x"}, nullptr).message(),
              HasSubstr("--k takes an integer, got 'ten'"));
  EXPECT_THAT(Parse(&p, {"--collection"}, nullptr).message(), HasSubstr("needs a value"));
  EXPECT_THAT(Parse(&p, {"stray", "--collection", "x"}, nullptr).message(),
              HasSubstr("unexpected argument 'stray'"));
  ArgParser q("t", "usage");
  q.AddString("collection", &coll, "c");
  q.Require("collection");
  EXPECT_THAT(Parse(&q, {}, nullptr).message(), HasSubstr("--collection is required"));
  ArgParser h("t", "the usage text");
  h.AddString("collection", &coll, "which collection");
  ASSERT_TRUE(Parse(&h, {"--help"}, nullptr).ok());
  EXPECT_TRUE(h.help_requested());
  EXPECT_THAT(h.Help(), HasSubstr("the usage text"));
  EXPECT_THAT(h.Help(), HasSubstr("--collection TEXT"));
}

}  // namespace
}  // namespace simsearch
