// Browsing (Engine::ListItems, engine/browse.h): every order and direction, with filters
// by start year, season, genre and type, against sorting the catalogue by hand; pages
// concatenate to the whole listing; tokens belong to one listing; bad requests name
// their field.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "core/errors.h"
#include "engine/engine.h"
#include "tests/testing/test_util.h"

namespace simsearch {
namespace {

using ::testing::HasSubstr;

class BrowseTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kN = 600, kD = 8;

  // Items whose keys are often unknown or tied: scores on a coarse grid, member counts
  // from a small set, dates with only a year or a month, and none at all.
  static std::vector<Item> Items() {
    std::vector<int64_t> ids;
    for (uint64_t i = 0; i < kN; ++i) ids.push_back(static_cast<int64_t>(i * 7 + 3));
    std::vector<Item> items = testing::SyntheticItems(ids);
    std::mt19937 rng(5);
    for (Item& it : items) {
      const int r = static_cast<int>(rng() % 100);
      it.mal_score = r < 15 ? 0 : 5 + static_cast<double>(rng() % 9) * 0.5;
      it.members = static_cast<int64_t>(rng() % 5) * 1000;
      static const char* kRatings[] = {"", "g", "pg", "pg_13", "r", "r+", "rx"};
      it.age_rating = kRatings[rng() % 7];
      const int year = 1995 + static_cast<int>(rng() % 30),
                month = 1 + static_cast<int>(rng() % 12), day = 1 + static_cast<int>(rng() % 30);
      char date[16];
      if (r % 10 == 0) {
        it.start_date = "";
      } else if (r % 10 == 1) {
        std::snprintf(date, sizeof date, "%04d", year);
        it.start_date = date;
      } else if (r % 10 == 2) {
        std::snprintf(date, sizeof date, "%04d-%02d", year, month);
        it.start_date = date;
      } else {
        std::snprintf(date, sizeof date, "%04d-%02d-%02d", year, month, day);
        it.start_date = date;
      }
    }
    return items;
  }

  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    items_ = new std::vector<Item>(Items());
    testing::BundleSpec spec;
    spec.collection = "anime";
    spec.vectors = testing::RandomVectors(kN, kD, 3);
    spec.dims = kD;
    for (const Item& it : *items_) spec.ids.push_back(it.id);
    spec.items = *items_;
    testing::BuildBundleOrDie(dir_->Join("root"), dir_->path(), spec);
    spec.collection = "bare";  // no catalogue
    spec.items.clear();
    testing::BuildBundleOrDie(dir_->Join("root"), dir_->path(), spec);
    registry_ = new CollectionRegistry(dir_->Join("root"), CollectionOptions{});
    ASSERT_TRUE(registry_->Refresh().ok());
    engine_ = new Engine(registry_, EngineLimits{});
  }
  static void TearDownTestSuite() {
    delete engine_;
    delete registry_;
    delete items_;
    delete dir_;
  }

  // The oracle: the catalogue filtered and sorted by hand, from the Item fields.
  static std::vector<int64_t> ByHand(const ListRequest& r) {
    const FilterSpec& f = r.filter;
    std::vector<const Item*> kept;
    for (const Item& it : *items_) {
      const int year = it.start_year();
      if ((f.min_start_year || f.max_start_year) && year == 0) continue;
      if (f.min_start_year && year < f.min_start_year) continue;
      if (f.max_start_year && year > f.max_start_year) continue;
      if (!f.seasons.empty()) {
        const std::string_view season = it.season();
        if (std::none_of(f.seasons.begin(), f.seasons.end(),
                         [&](int s) { return !season.empty() && kSeasonNames[s] == season; }))
          continue;
      }
      if (!f.genres.empty() && std::none_of(it.genres.begin(), it.genres.end(), [&](auto& g) {
            return std::find(f.genres.begin(), f.genres.end(), g) != f.genres.end();
          }))
        continue;
      if (!f.types.empty() && std::find(f.types.begin(), f.types.end(), it.type) == f.types.end())
        continue;
      if (it.members < f.min_members) continue;
      if (!f.max_age_rating.empty()) {
        const int code = AgeRatingCode(it.age_rating);
        if (code == 0 || code > AgeRatingCode(f.max_age_rating)) continue;  // unknown: out
      }
      kept.push_back(&it);
    }
    auto key = [&](const Item* it) -> double {
      switch (r.order) {
        case ItemOrder::kScore:
          return it->mal_score;
        case ItemOrder::kMembers:
          return static_cast<double>(it->members);
        case ItemOrder::kStartDate:
          return static_cast<double>(StartCode(it->start_date));
      }
      return 0;
    };
    std::stable_sort(kept.begin(), kept.end(), [&](const Item* a, const Item* b) {
      const bool ka = r.order == ItemOrder::kMembers || key(a) > 0;
      const bool kb = r.order == ItemOrder::kMembers || key(b) > 0;
      if (ka != kb) return ka;  // unknown keys last, in either direction
      if (key(a) != key(b)) return r.ascending ? key(a) < key(b) : key(a) > key(b);
      if (a->members != b->members) return a->members > b->members;
      return a->id < b->id;
    });
    std::vector<int64_t> ids;
    for (const Item* it : kept) ids.push_back(it->id);
    return ids;
  }

  // Every page with sizes cycling through `sizes`, concatenated; checks the total.
  static std::vector<int64_t> AllPages(ListRequest r, const std::vector<int>& sizes) {
    std::vector<int64_t> ids;
    for (size_t page = 0; page < 1000; ++page) {
      r.page_size = sizes[page % sizes.size()];
      auto got = engine_->ListItems("anime", r);
      EXPECT_TRUE(got.ok()) << got.status();
      if (!got.ok()) break;
      for (uint32_t row : got->rows) ids.push_back(got->collection->id(row));
      if (got->next_page_token.empty()) {
        EXPECT_EQ(ids.size(), got->total);
        break;
      }
      EXPECT_EQ(got->rows.size(), static_cast<size_t>(r.page_size)) << "only the last is short";
      r.page_token = got->next_page_token;
    }
    return ids;
  }

  static testing::TempDir* dir_;
  static std::vector<Item>* items_;
  static CollectionRegistry* registry_;
  static Engine* engine_;
};
testing::TempDir* BrowseTest::dir_ = nullptr;
std::vector<Item>* BrowseTest::items_ = nullptr;
CollectionRegistry* BrowseTest::registry_ = nullptr;
Engine* BrowseTest::engine_ = nullptr;

TEST_F(BrowseTest, EveryOrderAndFilterIsTheCatalogueSortedByHand) {
  std::vector<FilterSpec> filters(8);
  filters[7].max_age_rating = "pg_13";
  filters[6].min_members = 2000;  // members are 0, 1000, ... 4000: keeps 3 in 5
  filters[6].min_start_year = 2001;
  filters[1].min_start_year = 2010;
  filters[2].min_start_year = 2005;
  filters[2].max_start_year = 2005;
  filters[2].seasons = {4};  // fall 2005
  filters[3].seasons = {1, 3};
  filters[3].genres = {"Comedy"};
  filters[4].max_start_year = 2000;
  filters[4].types = {"Movie", "OVA"};
  filters[5].genres = {"Horror"};
  filters[5].seasons = {2};
  for (const FilterSpec& f : filters) {
    for (ItemOrder order : {ItemOrder::kScore, ItemOrder::kMembers, ItemOrder::kStartDate}) {
      for (bool ascending : {false, true}) {
        ListRequest r;
        r.filter = f;
        r.order = order;
        r.ascending = ascending;
        const std::vector<int64_t> want = ByHand(r);
        EXPECT_EQ(AllPages(r, {7, 13, 50}), want)
            << "order " << static_cast<int>(order) << (ascending ? " asc" : " desc") << ", years "
            << f.min_start_year << "-" << f.max_start_year << ", " << f.seasons.size()
            << " seasons";
        if (order == ItemOrder::kScore && f.seasons.empty() && f.genres.empty())
          EXPECT_GT(want.size(), 50u) << "a filter that keeps too little checks too little";
      }
    }
  }
}

TEST_F(BrowseTest, TheDefaultPageAndAnEmptyListing) {
  auto first = engine_->ListItems("anime", {});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->rows.size(), 20u);
  EXPECT_EQ(first->total, kN);
  ListRequest none;
  none.filter.min_start_year = 2100;
  auto empty = engine_->ListItems("anime", none);
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->rows.empty());
  EXPECT_EQ(empty->total, 0u);
  EXPECT_TRUE(empty->next_page_token.empty());
}

TEST_F(BrowseTest, BadRequestsNameTheirField) {
  auto expect = [](const ListRequest& r, const std::string& collection, const std::string& field,
                   const std::string& text) {
    auto got = engine_->ListItems(collection, r);
    ASSERT_FALSE(got.ok()) << field;
    EXPECT_THAT(std::string(got.status().message()), HasSubstr(text));
    EXPECT_EQ(DetailOf(got.status()).field, field) << got.status();
  };
  ListRequest big;
  big.page_size = 1001;
  expect(big, "anime", "page_size", "page_size must be 1..1000");
  ListRequest reversed;
  reversed.filter.min_start_year = 2010;
  reversed.filter.max_start_year = 2000;
  expect(reversed, "anime", "filter.max_start_year", "before filter.min_start_year");
  ListRequest season;
  season.filter.seasons = {5};
  expect(season, "anime", "filter.seasons", "unknown season 5");
  ListRequest year;
  year.filter.min_start_year = 99;
  expect(year, "anime", "filter.min_start_year", "must be a year");
  expect({}, "bare", "collection", "no item metadata");
  // A token belongs to its listing: another order or filter is refused.
  auto first = engine_->ListItems("anime", {});
  ASSERT_TRUE(first.ok());
  ListRequest other;
  other.order = ItemOrder::kMembers;
  other.page_token = first->next_page_token;
  expect(other, "anime", "page_token", "belongs to another listing");
  ListRequest negative;
  negative.filter.min_members = -1;
  expect(negative, "anime", "filter.min_members", "must be 0 or more");
  ListRequest rating;
  rating.filter.max_age_rating = "PG-13";
  expect(rating, "anime", "filter.max_age_rating", "unknown age rating 'PG-13'");
  ListRequest junk;
  junk.page_token = "not a token";
  expect(junk, "anime", "page_token", "not one this service issued");
}

// The start-year filter applies to searches too, against the catalogue by hand.
TEST_F(BrowseTest, SearchesTakeTheDateFilters) {
  FilterSpec f;
  f.min_start_year = 2001;
  f.max_start_year = 2012;
  f.seasons = {2, 4};
  auto r = engine_->Search("anime", {SearchQuery::Item((*items_)[0].id)}, 1000, f,
                           absl::InfiniteFuture());
  ASSERT_TRUE(r.ok()) << r.status();
  ListRequest all;
  all.filter = f;
  std::vector<int64_t> want = ByHand(all);
  want.erase(std::remove(want.begin(), want.end(), (*items_)[0].id), want.end());
  std::vector<int64_t> got;
  for (const Hit& h : r->hits[0]) got.push_back(h.id);
  std::sort(want.begin(), want.end());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, want);
  EXPECT_FALSE(want.empty());
}

}  // namespace
}  // namespace simsearch
