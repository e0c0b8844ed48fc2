#include "engine/title_index.h"

#include <gtest/gtest.h>

namespace simsearch {
namespace {

std::vector<Item> Items() {
  auto item = [](int64_t id, std::string t, std::string en, int64_t members) {
    Item it;
    it.id = id;
    it.title = std::move(t);
    it.english_title = std::move(en);
    it.members = members;
    return it;
  };
  return {item(1, "Cowboy Bebop", "Cowboy Bebop", 486824),
          item(5, "Cowboy Bebop: Tengoku no Tobira", "Cowboy Bebop: The Movie", 137636),
          item(20, "Naruto", "Naruto", 683297),
          item(1735, "Naruto: Shippuuden", "Naruto Shippuden", 533578),
          item(32281, "Kimi no Na wa.", "Your Name.", 200630),
          item(527, "Pokémon", "Pokemon", 291000),
          item(9969, "Gintama'", "Gintama Season 2", 151266)};
}

std::vector<int64_t> Ids(const TitleIndex& idx, const std::vector<Item>& items, const std::string& q,
                         size_t limit = 10) {
  std::vector<int64_t> out;
  for (const TitleMatch& m : idx.Lookup(q, limit)) out.push_back(items[m.row].id);
  return out;
}

TEST(TitleIndex, ExactMatchFirstThenLongerTitles) {
  auto items = Items();
  TitleIndex idx(items);
  EXPECT_EQ(Ids(idx, items, "cowboy bebop"), (std::vector<int64_t>{1, 5}));
  auto m = idx.Lookup("COWBOY   BEBOP!", 1);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_FLOAT_EQ(m[0].score, 1.0f);
  EXPECT_EQ(Ids(idx, items, "naruto"), (std::vector<int64_t>{20, 1735}));
}

TEST(TitleIndex, IgnoresAccentsAndMatchesEnglishTitles) {
  auto items = Items();
  TitleIndex idx(items);
  EXPECT_EQ(Ids(idx, items, "pokemon", 1), (std::vector<int64_t>{527}));
  EXPECT_EQ(Ids(idx, items, "POKÉMON", 1), (std::vector<int64_t>{527}));
  auto m = idx.Lookup("your name", 1);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(items[m[0].row].id, 32281);
  EXPECT_TRUE(m[0].english);
  EXPECT_EQ(Ids(idx, items, "kimi no na wa", 1), (std::vector<int64_t>{32281}));
  EXPECT_EQ(Ids(idx, items, "gintama'", 1), (std::vector<int64_t>{9969}));
}

TEST(TitleIndex, WordsInAnyOrderAndTyposStillFind) {
  auto items = Items();
  TitleIndex idx(items);
  EXPECT_EQ(Ids(idx, items, "the movie bebop", 1), (std::vector<int64_t>{5}));
  EXPECT_EQ(Ids(idx, items, "cowboy bebob", 1), (std::vector<int64_t>{1}));
  EXPECT_EQ(Ids(idx, items, "narutoo", 1), (std::vector<int64_t>{20}));
  EXPECT_EQ(Ids(idx, items, "shipp", 1), (std::vector<int64_t>{1735})) << "a prefix of a word";
  EXPECT_TRUE(idx.Lookup("zzzzqqqq", 10).empty());
  EXPECT_TRUE(idx.Lookup("  !!  ", 10).empty());
}

}  // namespace
}  // namespace simsearch
