// Item metadata in binary form (core/item_store.h): what the indexer writes is what the
// engine reads back, bundles from before it (items.jsonl only) still serve the same
// answers, and damaged files give empty fields, never a read outside a mapping.
#include "core/item_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/ascii.h"

#include "core/bundle.h"
#include "engine/collection.h"
#include "engine/engine.h"
#include "engine/registry.h"
#include "tests/testing/test_util.h"

namespace simsearch {
namespace {

namespace fs = std::filesystem;

std::vector<Item> SomeItems() {
  std::vector<Item> items = testing::SyntheticItems({3, 5, 8, 13, 21, 34});
  items[0].english_title = "Café Ünïcode";
  items[1].synopsis = "A story.";
  items[2].genres = {"comedy", "Action"};  // a spelling that differs in case only
  items[3].type = "";
  items[4].genres.clear();
  items[0].image_url = "https://cdn.myanimelist.net/images/anime/4/19644l.webp";
  items[0].studios = {"Sunrise"};
  items[0].mal_score = 8.75;
  items[0].start_date = "1998-04-03";
  items[1].studios = {"Madhouse", "Other Studio"};
  items[1].start_date = "2023-09";
  items[1].mal_score = 9.29;
  items[2].start_date = "2001";
  return items;
}

TEST(ItemStore, WhatIsWrittenIsReadBackInPlace) {
  const std::vector<Item> items = SomeItems();
  std::vector<const Item*> rows;
  for (const Item& it : items) rows.push_back(&it);
  const ItemStore built = ItemStore::Build(rows, /*with_synopses=*/true);
  testing::TempDir dir;
  ASSERT_TRUE(built.Write(dir.path()).ok());
  auto mapped = ItemStore::Open(dir.path(), items.size(), built.genres(), built.types());
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  for (uint32_t row = 0; row < items.size(); ++row) {
    const Item& want = items[row];
    for (const ItemStore* s : {&built, static_cast<const ItemStore*>(&*mapped)}) {
      const ItemView v = s->view(row);
      EXPECT_EQ(v.title(), want.title);
      EXPECT_EQ(v.english_title(), want.english_title);
      EXPECT_EQ(v.synopsis(), want.synopsis);
      EXPECT_EQ(v.type(), want.type);
      EXPECT_EQ(v.episodes(), want.episodes);
      EXPECT_EQ(v.members(), want.members);
      EXPECT_EQ(v.image_url(), want.image_url);
      EXPECT_EQ(v.studios(), want.studios);
      EXPECT_DOUBLE_EQ(v.mal_score(), want.mal_score);
      EXPECT_EQ(v.start_date(), want.start_date);
      const Item round = v.ToItem(want.id);
      EXPECT_EQ(round.season(), want.season()) << "row " << row;
      // Genres in the vocabulary's order and spelling; same set, case-insensitively.
      std::vector<std::string> got, expected;
      for (absl::string_view g : v.genres()) got.push_back(absl::AsciiStrToLower(g));
      for (const std::string& g : want.genres) expected.push_back(absl::AsciiStrToLower(g));
      std::sort(got.begin(), got.end());
      std::sort(expected.begin(), expected.end());
      EXPECT_EQ(got, expected) << "row " << row;
    }
  }
  EXPECT_TRUE(mapped->GenreBit("COMEDY").has_value());
  EXPECT_FALSE(mapped->GenreBit("Mecha").has_value());
}

// A store from before cover art (3 text fields per row, 7 attribute columns) opens:
// titles and synopses as before, cover, studios, score and start date unknown.
TEST(ItemStore, StoresFromBeforeCoverArtOpen) {
  const std::vector<Item> items = SomeItems();
  std::vector<const Item*> rows;
  for (const Item& it : items) rows.push_back(&it);
  const ItemStore built = ItemStore::Build(rows, /*with_synopses=*/true);
  testing::TempDir dir;
  ASSERT_TRUE(built.Write(dir.path()).ok());
  std::string text;
  std::vector<int64_t> offsets = {0}, seven;
  for (uint32_t row = 0; row < items.size(); ++row) {
    const ItemView v = built.view(row);
    for (absl::string_view t : {v.title(), v.english_title(), v.synopsis()}) {
      text.append(t.data(), t.size());
      offsets.push_back(static_cast<int64_t>(text.size()));
    }
    seven.insert(seven.end(), {items[row].members, items[row].episodes, built.type_index(row), 0, 0,
                               0, items[row].id});
  }
  ASSERT_TRUE(WriteUInt8ArrayFile(dir.Join(kItemTextFile),
                                  reinterpret_cast<const uint8_t*>(text.data()), text.size())
                  .ok());
  ASSERT_TRUE(
      WriteInt64ArrayFile(dir.Join(kItemTextOffsetsFile), offsets.data(), offsets.size()).ok());
  ASSERT_TRUE(WriteInt64ArrayFile(dir.Join(kItemAttrsFile), seven.data(), items.size(), 7).ok());
  auto old = ItemStore::Open(dir.path(), items.size(), built.genres(), built.types());
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_TRUE(built.has_dates());
  EXPECT_FALSE(old->has_dates()) << "date filters on it are refused, not answered empty";
  EXPECT_TRUE(old->has_age_ratings());
  for (uint32_t row = 0; row < items.size(); ++row) {
    const ItemView v = old->view(row);
    EXPECT_EQ(v.title(), items[row].title);
    EXPECT_EQ(v.english_title(), items[row].english_title);
    EXPECT_EQ(v.synopsis(), items[row].synopsis);
    EXPECT_EQ(v.image_url(), "");
    EXPECT_TRUE(v.studios().empty());
    EXPECT_EQ(v.mal_score(), 0);
    EXPECT_EQ(v.start_date(), "");
    EXPECT_EQ(v.members(), items[row].members);
  }
  // Offsets for neither layout are refused, naming the file.
  offsets.push_back(offsets.back());
  ASSERT_TRUE(
      WriteInt64ArrayFile(dir.Join(kItemTextOffsetsFile), offsets.data(), offsets.size()).ok());
  auto wrong = ItemStore::Open(dir.path(), items.size(), built.genres(), built.types());
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find(kItemTextOffsetsFile), std::string::npos)
      << wrong.status();
}

// The start column: YYYYMMDD with 00 for what is unknown, and back.
TEST(ItemStore, StartDatesAsSortableCodes) {
  EXPECT_EQ(StartCode("2023-09-29"), 20230929);
  EXPECT_EQ(StartCode("2023-09"), 20230900);
  EXPECT_EQ(StartCode("2023"), 20230000);
  EXPECT_EQ(StartCode(""), 0);
  EXPECT_EQ(StartCode("abcd"), 0);
  EXPECT_EQ(StartCode("2023-13-01"), 20230000) << "a month that is not one is unknown";
  EXPECT_EQ(StartCode("2023-02-40"), 20230200) << "so is such a day";
  EXPECT_LT(StartCode("2023"), StartCode("2023-01")) << "less known sorts first in its year";
}

// Age rating, nsfw flag and content level survive the binary form; a store written
// before them (item_attrs.i64 with 3 columns) opens with the level its genres give.
TEST(ItemStore, FranchisesAndStoresFromBeforeThem) {
  std::vector<Item> items = SomeItems();
  items[1].franchise = items[0].id;  // a sequel of row 0
  items[2].franchise = 0;            // unknown: its own franchise
  items[3].franchise = 987654321;    // any id, not necessarily a row of this store
  std::vector<const Item*> rows;
  for (const Item& it : items) rows.push_back(&it);
  const ItemStore built = ItemStore::Build(rows, false);
  testing::TempDir dir;
  ASSERT_TRUE(built.Write(dir.path()).ok());
  auto mapped = ItemStore::Open(dir.path(), items.size(), built.genres(), built.types());
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  for (uint32_t row = 0; row < items.size(); ++row) {
    const int64_t want = items[row].franchise != 0 ? items[row].franchise : items[row].id;
    for (const ItemStore* s : {&built, static_cast<const ItemStore*>(&*mapped)}) {
      EXPECT_EQ(s->view(row).franchise(items[row].id), want) << "row " << row;
      EXPECT_EQ(s->view(row).ToItem(items[row].id).franchise, want) << "row " << row;
    }
  }
  // The layout from before franchises (6 columns): every item is its own franchise, and
  // the other columns read as before.
  std::vector<int64_t> six;
  for (uint32_t row = 0; row < items.size(); ++row) {
    six.insert(six.end(),
               {items[row].members, items[row].episodes, mapped->type_index(row), 0, 0, 1});
  }
  ASSERT_TRUE(WriteInt64ArrayFile(dir.Join(kItemAttrsFile), six.data(), items.size(), 6).ok());
  auto legacy = ItemStore::Open(dir.path(), items.size(), built.genres(), built.types());
  ASSERT_TRUE(legacy.ok()) << legacy.status();
  for (uint32_t row = 0; row < items.size(); ++row) {
    EXPECT_EQ(legacy->view(row).franchise(items[row].id), items[row].id) << "row " << row;
    EXPECT_EQ(legacy->view(row).members(), items[row].members);
    EXPECT_EQ(legacy->view(row).type(), items[row].type);
    EXPECT_EQ(legacy->view(row).content(), ContentLevel::kMature);
  }
  // Any other width is refused, naming the file.
  std::vector<int64_t> four(items.size() * 4, 0);
  ASSERT_TRUE(WriteInt64ArrayFile(dir.Join(kItemAttrsFile), four.data(), items.size(), 4).ok());
  auto wrong = ItemStore::Open(dir.path(), items.size(), built.genres(), built.types());
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find(kItemAttrsFile), std::string::npos) << wrong.status();
}

TEST(ItemStore, ContentLevelsAndAgeRatingsAndStoresFromBeforeThem) {
  std::vector<Item> items = SomeItems();
  items[0].age_rating = "rx";
  items[1].age_rating = "r+";
  items[1].nsfw = "white";
  items[2].genres = {"Comedy", "Yuri"};
  items[3].genres = {"Drama", "Hentai"};
  items[4].age_rating = "g";
  items[5].content =
      ContentLevel::kAdult;  // as a catalogue merge may set it (another source's label)
  const ContentLevel want[] = {ContentLevel::kAdult, ContentLevel::kMature,  ContentLevel::kMature,
                               ContentLevel::kAdult, ContentLevel::kGeneral, ContentLevel::kAdult};
  std::vector<const Item*> rows;
  for (const Item& it : items) rows.push_back(&it);
  const ItemStore built = ItemStore::Build(rows, false);
  testing::TempDir dir;
  ASSERT_TRUE(built.Write(dir.path()).ok());
  auto mapped = ItemStore::Open(dir.path(), items.size(), built.genres(), built.types());
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  for (uint32_t row = 0; row < items.size(); ++row) {
    for (const ItemStore* s : {&built, static_cast<const ItemStore*>(&*mapped)}) {
      EXPECT_EQ(s->view(row).content(), want[row]) << "row " << row;
      EXPECT_EQ(s->view(row).age_rating(), items[row].age_rating) << "row " << row;
      EXPECT_EQ(s->view(row).nsfw(), items[row].nsfw) << "row " << row;
      EXPECT_EQ(s->view(row).ToItem(items[row].id).content, want[row]);
    }
  }
  // The old layout: members, episodes, type only. Its levels come from the genres
  // (rows 2 and 3); what only the age rating or a merge knew is not there to find.
  std::vector<int64_t> old;
  for (uint32_t row = 0; row < items.size(); ++row) {
    old.push_back(items[row].members);
    old.push_back(items[row].episodes);
    old.push_back(mapped->type_index(row));
  }
  ASSERT_TRUE(WriteInt64ArrayFile(dir.Join(kItemAttrsFile), old.data(), items.size(), 3).ok());
  auto legacy = ItemStore::Open(dir.path(), items.size(), built.genres(), built.types());
  ASSERT_TRUE(legacy.ok()) << legacy.status();
  const ContentLevel from_genres[] = {ContentLevel::kGeneral, ContentLevel::kGeneral,
                                      ContentLevel::kMature,  ContentLevel::kAdult,
                                      ContentLevel::kGeneral, ContentLevel::kGeneral};
  for (uint32_t row = 0; row < items.size(); ++row) {
    EXPECT_EQ(legacy->view(row).content(), from_genres[row]) << "row " << row;
    EXPECT_EQ(legacy->view(row).members(), items[row].members);
    EXPECT_EQ(legacy->view(row).type(), items[row].type);
    EXPECT_EQ(legacy->view(row).age_rating(), "");
  }
  // A level out of range (a damaged or hostile file) reads as adult: filters fail closed.
  std::vector<int64_t> wide;
  for (uint32_t row = 0; row < items.size(); ++row) {
    wide.insert(wide.end(),
                {items[row].members, items[row].episodes, 0, 0, 0, row == 0 ? 256 : -1});
  }
  ASSERT_TRUE(WriteInt64ArrayFile(dir.Join(kItemAttrsFile), wide.data(), items.size(), 6).ok());
  auto hostile = ItemStore::Open(dir.path(), items.size(), built.genres(), built.types());
  ASSERT_TRUE(hostile.ok()) << hostile.status();
  for (uint32_t row = 0; row < items.size(); ++row) {
    EXPECT_EQ(hostile->content(row), ContentLevel::kAdult) << row;
    EXPECT_EQ(hostile->view(row).content(), ContentLevel::kAdult) << row;
  }
  ASSERT_TRUE(WriteInt64ArrayFile(dir.Join(kItemAttrsFile), old.data(), items.size() / 2, 6).ok());
  auto wrong = ItemStore::Open(dir.path(), items.size(), built.genres(), built.types());
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find(kItemAttrsFile), std::string::npos) << wrong.status();
}

TEST(ItemStore, DamagedOffsetsGiveEmptyFieldsNotCrashes) {
  const std::vector<Item> items = SomeItems();
  std::vector<const Item*> rows;
  for (const Item& it : items) rows.push_back(&it);
  const ItemStore built = ItemStore::Build(rows, true);
  testing::TempDir dir;
  ASSERT_TRUE(built.Write(dir.path()).ok());
  // Offsets pointing far outside the text, and backwards, keeping the file's size and
  // the two ends Open checks.
  const std::string path = dir.Join(kItemTextOffsetsFile);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    const int64_t bad[] = {int64_t{1} << 40, -7, 3};
    f.seekp(64 + 8);
    f.write(reinterpret_cast<const char*>(bad), sizeof(bad));
  }
  auto mapped = ItemStore::Open(dir.path(), items.size(), built.genres(), built.types());
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  for (uint32_t row = 0; row < items.size(); ++row) {
    const ItemView v = mapped->view(row);
    EXPECT_LE(v.title().size() + v.english_title().size() + v.synopsis().size(), 1000u);
  }
  EXPECT_EQ(mapped->view(0).english_title(), "");
  // Wrong shapes are refused, naming the file.
  auto wrong = ItemStore::Open(dir.path(), items.size() + 1, built.genres(), built.types());
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find(kItemTextOffsetsFile), std::string::npos)
      << wrong.status();
}

// A bundle written before the binary form has items.jsonl only: the engine parses it
// and serves the same titles, filters and metadata as from the binary form.
TEST(ItemStore, BundlesWithOnlyItemsJsonlServeTheSameAnswers) {
  testing::TempDir tmp;
  fs::create_directories(tmp.Join("work"));
  testing::BundleSpec spec;
  spec.collection = "new";
  spec.dims = 8;
  for (int64_t id = 1; id <= 60; ++id) spec.ids.push_back(id * 3);
  spec.vectors = testing::RandomVectors(spec.ids.size(), spec.dims, 4);
  spec.items = testing::SyntheticItems(spec.ids);
  const std::string new_dir = testing::BuildBundleOrDie(tmp.Join("root"), tmp.Join("work"), spec);

  // The legacy bundle: the same vectors, ids and items.jsonl, and a manifest without
  // item_store.
  auto manifest = ReadVerifiedManifest(new_dir, VerifyMode::kChecksums);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  ASSERT_TRUE(manifest->has_item_store);
  auto writer = BundleWriter::Create(tmp.Join("root"), "old");
  ASSERT_TRUE(writer.ok()) << writer.status();
  for (const char* f : {kVectorsFile, kIdsFile, kItemsFile}) {
    fs::copy_file(fs::path(new_dir) / f, (*writer)->PathOf(f));
  }
  Manifest m = *manifest;
  m.collection = "old";
  m.has_item_store = false;
  m.has_title_index = false;
  m.item_genres.clear();
  m.item_types.clear();
  m.files.clear();
  ASSERT_TRUE((*writer)->Publish(m).ok());

  CollectionRegistry registry(tmp.Join("root"), {});
  ASSERT_TRUE(registry.Refresh().ok());
  Engine engine(&registry, {});
  for (const char* q : {"title 9", "TITLE", "tilte 12", "t", "zzz"}) {
    auto a = engine.LookupTitle("new", q, 10);
    auto b = engine.LookupTitle("old", q, 10);
    ASSERT_TRUE(a.ok() && b.ok()) << a.status() << b.status();
    ASSERT_EQ(a->matches.size(), b->matches.size()) << q;
    for (size_t i = 0; i < a->matches.size(); ++i) {
      EXPECT_EQ(a->matches[i].row, b->matches[i].row) << q;
      EXPECT_EQ(a->matches[i].score, b->matches[i].score) << q;
    }
  }
  FilterSpec f;
  f.genres = {"horror", "Romance"};
  f.exclude_types = {"ova"};
  auto a = engine.Search("new", {SearchQuery::Item(30)}, 15, f, absl::InfiniteFuture());
  auto b = engine.Search("old", {SearchQuery::Item(30)}, 15, f, absl::InfiniteFuture());
  ASSERT_TRUE(a.ok() && b.ok()) << a.status() << b.status();
  ASSERT_FALSE(a->hits[0].empty());
  ASSERT_EQ(a->hits[0].size(), b->hits[0].size());
  for (size_t i = 0; i < a->hits[0].size(); ++i) {
    EXPECT_EQ(a->hits[0][i].id, b->hits[0][i].id);
    EXPECT_EQ(a->hits[0][i].item.title(), b->hits[0][i].item.title());
    EXPECT_EQ(a->hits[0][i].item.genres(), b->hits[0][i].item.genres());
    EXPECT_NE(a->hits[0][i].item.type(), "OVA");
  }
}

}  // namespace
}  // namespace simsearch
