// Franchise groups (core/franchise.h): title likeness by hand, groups of hand-made
// catalogues, and on the real catalogue against a plain breadth-first search written
// here from the definition.
#include "core/franchise.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>
#include <set>

#include "absl/container/flat_hash_set.h"

#ifndef SIMSEARCH_SOURCE_DIR
#error "SIMSEARCH_SOURCE_DIR must name the repository"
#endif

namespace simsearch {
namespace {

Item Anime(int64_t id, std::string title, std::vector<int64_t> related = {},
           std::string english = "") {
  Item it;
  it.id = id;
  it.title = std::move(title);
  it.english_title = std::move(english);
  it.related = std::move(related);
  return it;
}

TEST(TitleContainment, SharesOfTheShorterTitlesTrigrams) {
  // " ab " has the trigrams " ab", "ab ": both in " ab cd ".
  EXPECT_DOUBLE_EQ(TitleContainment("ab", "Ab: CD"), 1.0);
  // " abc " -> " ab", "abc", "bc "; " abd " shares " ab" only.
  EXPECT_DOUBLE_EQ(TitleContainment("abc", "abd"), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(TitleContainment("Gintama", "Gintama: The Movie"), 1.0);
  EXPECT_DOUBLE_EQ(TitleContainment("One Piece", "Kochikame"), 0.0);
  EXPECT_DOUBLE_EQ(TitleContainment("", "Gintama"), 0.0);
  EXPECT_DOUBLE_EQ(TitleContainment("!!", "Gintama"), 0.0);  // no letter or digit
  // Case and punctuation do not matter; symmetric.
  EXPECT_DOUBLE_EQ(TitleContainment("K-ON!", "k on"), 1.0);
  EXPECT_DOUBLE_EQ(TitleContainment("Bakemonogatari", "Nisemonogatari"),
                   TitleContainment("Nisemonogatari", "Bakemonogatari"));
}

TEST(Franchise, ChainsOfAlikeTitlesJoinAndCrossoversDoNot) {
  // 10 -> 11 -> 12 a chain of seasons (12 lists nobody, 11 lists 12); 20 a crossover
  // listed by 10 with an unlike title; 30 names 10 under its English title; 40 relates
  // to an id not in the catalogue and to itself.
  auto c =
      Catalog::FromItems({Anime(12, "Hoshi no Umi 3"), Anime(11, "Hoshi no Umi 2", {12}),
                          Anime(10, "Hoshi no Umi", {11, 20}), Anime(20, "Kochira Keisatsu", {10}),
                          Anime(30, "Star Sea: The Movie", {10}, "Star Sea: The Movie"),
                          Anime(40, "Lonely", {999, 40})});
  ASSERT_TRUE(c.ok()) << c.status();
  // 30's titles are unlike 10's ("Hoshi no Umi", no English title): not joined either.
  const auto f = FranchiseIds(*c);
  EXPECT_EQ(f.at(10), 10);
  EXPECT_EQ(f.at(11), 10);
  EXPECT_EQ(f.at(12), 10);
  EXPECT_EQ(f.at(20), 20);
  EXPECT_EQ(f.at(30), 30);
  EXPECT_EQ(f.at(40), 40);
  // Catalog::FromItems sets each item's franchise the same way.
  EXPECT_EQ(c->Find(12)->franchise, 10);
  EXPECT_EQ(c->Find(20)->franchise, 20);
}

TEST(Franchise, TheEnglishTitleCanJoin) {
  auto c = Catalog::FromItems({Anime(5, "Shingeki no Kyojin", {}, "Attack on Titan"),
                               Anime(7, "Attack on Titan: Junior High", {5})});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->Find(7)->franchise, 5);
}

TEST(Franchise, ATitlePlusASeasonMarkerJoinsWithoutARelation) {
  auto c = Catalog::FromItems(
      {Anime(50, "Spy x Family"), Anime(60, "Spy x Family Season 3"),
       Anime(61, "Sousou no Frieren"), Anime(70, "Sousou no Frieren 2nd Season"),
       Anime(80, "Mob Psycho 100"), Anime(81, "Mob Psycho 100 II"), Anime(90, "86"),
       Anime(91, "86 Part 2"), Anime(95, "Kanojo Season 2 Part 2"), Anime(96, "Kanojo"),
       // Not season markers: a number that is part of the title, a
       // film's subtitle, a title no anime has.
       Anime(100, "Mob Psycho"), Anime(101, "Evangelion: 3.0"), Anime(102, "Evangelion"),
       Anime(103, "Nowhere Season 2")});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->Find(60)->franchise, 50);
  EXPECT_EQ(c->Find(70)->franchise, 61);
  EXPECT_EQ(c->Find(81)->franchise, 80);
  EXPECT_EQ(c->Find(91)->franchise, 90);
  EXPECT_EQ(c->Find(96)->franchise, 95);
  EXPECT_EQ(c->Find(80)->franchise, 80) << "Mob Psycho 100 is not Mob Psycho's 100th season";
  EXPECT_EQ(c->Find(100)->franchise, 100);
  EXPECT_EQ(c->Find(101)->franchise, 101);
  EXPECT_EQ(c->Find(103)->franchise, 103);
}

TEST(Franchise, AGivenFranchiseIsKept) {
  Item a = Anime(3, "A"), b = Anime(4, "B");
  b.franchise = 3;
  auto c = Catalog::FromItems({a, b});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->Find(4)->franchise, 3);
  EXPECT_EQ(c->Find(3)->franchise, 3);
}

// The real catalogue: every group equals the one a breadth-first search over the
// relations (both directions, alike titles only) finds, and the groups fans know.
class RealCatalogue : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string data = std::string(SIMSEARCH_SOURCE_DIR) + "/data/anime/";
    auto c = Catalog::Load({data + "anime_cooperunion_2017.csv", data + "anime_synopses_merged.csv",
                            data + "anime_catalogue_2024.csv"});
    ASSERT_TRUE(c.ok()) << c.status();
    catalog_ = new Catalog(std::move(*c));
  }
  static void TearDownTestSuite() { delete catalog_; }
  static int64_t Franchise(int64_t id) { return catalog_->Find(id)->franchise; }
  static Catalog* catalog_;
};
Catalog* RealCatalogue::catalog_ = nullptr;

TEST_F(RealCatalogue, GroupsEqualABreadthFirstSearch) {
  // The season rule, written here again: lower-cased title = another's + a marker.
  std::map<std::string, int64_t> by_title;
  for (const Item& it : catalog_->items()) {
    for (const std::string* t : {&it.title, &it.english_title}) {
      std::string low = *t;
      for (char& ch : low) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (!low.empty()) by_title.emplace(low, it.id);
    }
  }
  std::map<int64_t, std::set<int64_t>> edges;
  std::vector<std::string> markers = {" ii", " iii", " iv"};
  const char* suffix[] = {"th", "st", "nd", "rd", "th", "th", "th", "th", "th", "th"};
  for (int n = 1; n <= 30; ++n) {
    const std::string num = std::to_string(n);
    const std::string ord = num + (n >= 11 && n <= 13 ? "th" : suffix[n % 10]);
    for (const std::string& base : {" season " + num, " part " + num, " " + ord + " season"}) {
      markers.push_back(base);
      for (int p = 1; p <= 9; ++p) markers.push_back(base + " part " + std::to_string(p));
    }
    if (n <= 9) markers.push_back(" " + num);
  }
  for (const Item& it : catalog_->items()) {
    for (const std::string* t : {&it.title, &it.english_title}) {
      std::string low = *t;
      for (char& ch : low) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      for (const std::string& m : markers) {
        if (low.size() <= m.size() || low.compare(low.size() - m.size(), m.size(), m) != 0)
          continue;
        std::string base = low.substr(0, low.size() - m.size());
        while (!base.empty() && (base.back() == ':' || base.back() == ' ')) base.pop_back();
        auto other = by_title.find(base);
        if (other != by_title.end() && other->second != it.id) {
          edges[it.id].insert(other->second);
          edges[other->second].insert(it.id);
        }
      }
    }
  }
  for (const Item& it : catalog_->items()) {
    for (int64_t r : it.related) {
      const Item* other = catalog_->Find(r);
      if (other == nullptr || r == it.id || TitleLikeness(it, *other) < kFranchiseTitleLikeness)
        continue;
      edges[it.id].insert(r);
      edges[r].insert(it.id);
    }
  }
  absl::flat_hash_set<int64_t> seen;
  size_t groups = 0, largest = 0;
  for (const Item& it : catalog_->items()) {
    if (seen.contains(it.id)) continue;
    std::vector<int64_t> group;
    std::deque<int64_t> todo = {it.id};
    seen.insert(it.id);
    while (!todo.empty()) {
      const int64_t x = todo.front();
      todo.pop_front();
      group.push_back(x);
      for (int64_t y : edges[x]) {
        if (seen.insert(y).second) todo.push_back(y);
      }
    }
    const int64_t smallest = *std::min_element(group.begin(), group.end());
    for (int64_t x : group) ASSERT_EQ(Franchise(x), smallest) << "anime " << x;
    if (group.size() > 1) ++groups;
    largest = std::max(largest, group.size());
  }
  EXPECT_GT(groups, 1000u);
  EXPECT_LT(largest, 200u);  // no crossover chain swallows whole franchises
}

TEST_F(RealCatalogue, FranchisesFansKnow) {
  // Gintama (918): Gintama' (9969), Gintama° (28977), the films (7472, 15335).
  for (int64_t id : {9969, 28977, 7472, 15335}) EXPECT_EQ(Franchise(id), Franchise(918)) << id;
  // Monogatari: Bakemonogatari (5081), Nisemonogatari (11597), Second Season (17074).
  for (int64_t id : {11597, 17074}) EXPECT_EQ(Franchise(id), Franchise(5081)) << id;
  // Attack on Titan (16498) and its Season 2 (25777), Season 3 (35760).
  for (int64_t id : {25777, 35760}) EXPECT_EQ(Franchise(id), Franchise(16498)) << id;
  // Crossover relations do not join: One Piece (21) and Kochikame (3545) apart, and
  // Evangelion (30) apart from Gundam (80).
  EXPECT_NE(Franchise(21), Franchise(3545));
  EXPECT_NE(Franchise(30), Franchise(80));
  // Unrelated famous anime are alone or in their own groups.
  EXPECT_NE(Franchise(1535), Franchise(918));  // Death Note, Gintama
}

}  // namespace
}  // namespace simsearch
