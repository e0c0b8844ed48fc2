#include "engine/title_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "core/catalog.h"
#include "tests/testing/test_util.h"

namespace simsearch {
namespace {

// The index over `items` with its store and ids kept alive beside it.
struct Built {
  explicit Built(const std::vector<Item>& items) {
    std::vector<const Item*> rows;
    for (const Item& it : items) {
      rows.push_back(&it);
      ids.push_back(it.id);
    }
    store.emplace(ItemStore::Build(rows, false));
    index.emplace(TitleIndex::Build(*store, ids.data()));
  }
  std::vector<TitleMatch> Lookup(absl::string_view q, size_t limit) const {
    return index->Lookup(q, limit);
  }
  std::vector<int64_t> ids;
  std::optional<ItemStore> store;
  std::optional<TitleIndex> index;
};

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

std::vector<int64_t> Ids(const Built& idx, const std::vector<Item>& items, const std::string& q,
                         size_t limit = 10) {
  std::vector<int64_t> out;
  for (const TitleMatch& m : idx.Lookup(q, limit)) out.push_back(items[m.row].id);
  return out;
}

TEST(TitleIndex, ExactMatchFirstThenLongerTitles) {
  auto items = Items();
  Built idx(items);
  EXPECT_EQ(Ids(idx, items, "cowboy bebop"), (std::vector<int64_t>{1, 5}));
  auto m = idx.Lookup("COWBOY   BEBOP!", 1);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_FLOAT_EQ(m[0].score, 1.0f);
  EXPECT_EQ(Ids(idx, items, "naruto"), (std::vector<int64_t>{20, 1735}));
}

TEST(TitleIndex, IgnoresAccentsAndMatchesEnglishTitles) {
  auto items = Items();
  Built idx(items);
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
  Built idx(items);
  EXPECT_EQ(Ids(idx, items, "the movie bebop", 1), (std::vector<int64_t>{5}));
  EXPECT_EQ(Ids(idx, items, "cowboy bebob", 1), (std::vector<int64_t>{1}));
  EXPECT_EQ(Ids(idx, items, "narutoo", 1), (std::vector<int64_t>{20}));
  EXPECT_EQ(Ids(idx, items, "shipp", 1), (std::vector<int64_t>{1735})) << "a prefix of a word";
  EXPECT_TRUE(idx.Lookup("zzzzqqqq", 10).empty());
  EXPECT_TRUE(idx.Lookup("  !!  ", 10).empty());
}

// The scan every lookup did before the index: score every title. The oracle for the
// index, which must give the same answers while scoring only candidates.
class ReferenceScan {
 public:
  explicit ReferenceScan(const std::vector<Item>& items) {
    for (uint32_t row = 0; row < items.size(); ++row) {
      const Item& it = items[row];
      members_.push_back(it.members);
      ids_.push_back(it.id);
      const std::string original = TitleIndex::Normalize(it.title);
      const std::string english = TitleIndex::Normalize(it.english_title);
      for (int pass = 0; pass < 2; ++pass) {
        const std::string& text = pass == 0 ? original : english;
        if (text.empty() || (pass == 1 && text == original)) continue;
        entries_.push_back({row, pass == 1, text, absl::StrSplit(text, ' '), Trigrams(text)});
      }
    }
  }

  std::vector<TitleMatch> Lookup(absl::string_view query, size_t limit) const {
    const std::string q = TitleIndex::Normalize(query);
    if (q.empty() || limit == 0) return {};
    const std::vector<std::string> words = absl::StrSplit(q, ' ');
    const std::vector<uint32_t> trigrams = Trigrams(q);
    std::vector<TitleMatch> best;
    std::vector<int32_t> slot_of_row(members_.size(), -1);
    for (const Entry& e : entries_) {
      const float s = Score(e, q, words, trigrams);
      if (s < 0.25f) continue;
      int32_t& slot = slot_of_row[e.row];
      if (slot < 0) {
        slot = static_cast<int32_t>(best.size());
        best.push_back({e.row, s, e.english});
      } else if (s > best[slot].score) {
        best[slot] = {e.row, s, e.english};
      }
    }
    std::sort(best.begin(), best.end(), [&](const TitleMatch& a, const TitleMatch& b) {
      if (a.score != b.score) return a.score > b.score;
      if (members_[a.row] != members_[b.row]) return members_[a.row] > members_[b.row];
      return ids_[a.row] < ids_[b.row];
    });
    if (best.size() > limit) best.resize(limit);
    return best;
  }

 private:
  struct Entry {
    uint32_t row;
    bool english;
    std::string text;
    std::vector<std::string> words;
    std::vector<uint32_t> trigrams;
  };
  static std::vector<uint32_t> Trigrams(const std::string& s) {
    std::string p = "  " + s + " ";
    std::vector<uint32_t> out;
    for (size_t i = 0; i + 2 < p.size(); ++i) {
      out.push_back((uint32_t{static_cast<unsigned char>(p[i])} << 16) |
                    (uint32_t{static_cast<unsigned char>(p[i + 1])} << 8) |
                    uint32_t{static_cast<unsigned char>(p[i + 2])});
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }
  static float Score(const Entry& e, const std::string& q, const std::vector<std::string>& words,
                     const std::vector<uint32_t>& trigrams) {
    if (e.text == q) return 1.0f;
    const float coverage = static_cast<float>(q.size()) / static_cast<float>(e.text.size());
    if (absl::StartsWith(e.text, q) && e.text[q.size()] == ' ') return 0.9f + 0.09f * coverage;
    bool all = true;
    for (size_t i = 0; i < words.size() && all; ++i) {
      const bool last = i + 1 == words.size();
      all = std::any_of(e.words.begin(), e.words.end(), [&](const std::string& w) {
        return w == words[i] || (last && absl::StartsWith(w, words[i]));
      });
    }
    if (all) return 0.7f + 0.19f * std::min(1.0f, coverage);
    size_t common = 0;
    for (size_t i = 0, j = 0; i < trigrams.size() && j < e.trigrams.size();) {
      if (trigrams[i] < e.trigrams[j]) {
        ++i;
      } else if (e.trigrams[j] < trigrams[i]) {
        ++j;
      } else {
        ++common, ++i, ++j;
      }
    }
    const float dice =
        2.0f * static_cast<float>(common) / static_cast<float>(trigrams.size() + e.trigrams.size());
    return 0.69f * dice;
  }
  std::vector<Entry> entries_;
  std::vector<int64_t> members_, ids_;
};

// Scores are compared to within 4 ulps: the engine library may be compiled for the
// machine (fused multiply-adds) and this test not.
void ExpectSame(const std::vector<TitleMatch>& got, const std::vector<TitleMatch>& want,
                const std::string& q) {
  ASSERT_EQ(got.size(), want.size()) << "query '" << q << "'";
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].row, want[i].row) << "query '" << q << "' match " << i;
    EXPECT_FLOAT_EQ(got[i].score, want[i].score) << "query '" << q << "' match " << i;
    EXPECT_EQ(got[i].english, want[i].english) << "query '" << q << "' match " << i;
  }
}

// A typo as people make them: a letter dropped, doubled, swapped with the next, or
// replaced; sometimes only the first word or two, or a prefix (still typing).
std::string Misspell(const std::string& title, std::mt19937_64& rng) {
  std::string s = title;
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  switch (pick(6)) {
    case 0:
      if (s.size() > 1) s.erase(pick(s.size()), 1);
      break;
    case 1:
      if (!s.empty()) {
        size_t i = pick(s.size());
        s.insert(i, 1, s[i]);
      }
      break;
    case 2:
      if (s.size() > 2) {
        size_t i = pick(s.size() - 1);
        std::swap(s[i], s[i + 1]);
      }
      break;
    case 3:
      if (!s.empty()) s[pick(s.size())] = static_cast<char>('a' + pick(26));
      break;
    case 4: {
      std::vector<std::string> w = absl::StrSplit(s, ' ');
      s = w[0] + (w.size() > 1 ? " " + w[1] : "");
    } break;
    default:
      s = s.substr(0, 1 + pick(std::max<size_t>(1, s.size())));
      break;
  }
  return s;
}

// Every title of the real catalogue, 1,000 misspellings and short prefixes: the index's
// answers equal the scan's, in memory and after a round trip through the mapped files.
TEST(TitleIndex, SameAnswersAsScoringEveryTitleOverTheCatalogue) {
  const std::string data = std::string(SIMSEARCH_SOURCE_DIR) + "/data/anime/";
  auto catalog =
      Catalog::Load({data + "anime_cooperunion_2017.csv", data + "anime_synopses_merged.csv"});
  ASSERT_TRUE(catalog.ok()) << catalog.status();
  const std::vector<Item>& items = catalog->items();
  ASSERT_GT(items.size(), 10000u);
  Built built(items);
  testing::TempDir dir;
  ASSERT_TRUE(built.index->Write(dir.path()).ok());
  auto mapped = TitleIndex::Open(dir.path(), *built.store, built.ids.data());
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  const ReferenceScan scan(items);

  // Every title in the slow run (ctest -L slow: SIMSEARCH_FULL_SWEEP=1); by default a
  // seeded sample of one item in 8 (the scan is the slow side: 72 s on 2 cores for all).
  const bool full = std::getenv("SIMSEARCH_FULL_SWEEP") != nullptr;
  std::mt19937_64 rng(12);
  std::vector<std::string> queries;
  for (const Item& it : items) {
    if (!full && rng() % 8 != 0) continue;
    queries.push_back(it.title);
    if (!it.english_title.empty()) queries.push_back(it.english_title);
  }
  const int misspelled = full ? 1000 : 250;
  for (int i = 0; i < misspelled; ++i) {
    queries.push_back(Misspell(TitleIndex::Normalize(items[rng() % items.size()].title), rng));
  }
  for (const char* q : {"a", "k", "1", "z", "no", "x y", "\xe3", "the", "one p", "  ", "!!"})
    queries.push_back(q);
  // The scan is the slow side: run it on two threads first.
  std::vector<std::vector<TitleMatch>> want(queries.size());
  {
    std::vector<std::thread> threads;
    for (size_t t = 0; t < 2; ++t) {
      threads.emplace_back([&, t] {
        for (size_t i = t; i < queries.size(); i += 2) want[i] = scan.Lookup(queries[i], 10);
      });
    }
    for (auto& th : threads) th.join();
  }
  size_t scored = 0, lookups = 0;
  for (size_t i = 0; i < queries.size(); ++i) {
    const std::string& q = queries[i];
    ExpectSame(built.Lookup(q, 10), want[i], q);
    scored += TitleIndex::last_scored();
    ++lookups;
    ExpectSame(mapped->Lookup(q, 10), want[i], q);
    if (::testing::Test::HasFailure()) return;  // one query's diff is enough to read
  }
  // The point of the index: a lookup scores a small share of the titles.
  EXPECT_LT(static_cast<double>(scored) / static_cast<double>(lookups),
            0.25 * static_cast<double>(built.index->entries()));
}

}  // namespace
}  // namespace simsearch

namespace simsearch {
namespace {

// A damaged or hostile title index (sizes consistent, contents garbage) must never read
// outside its mappings: lookups return something or nothing, and never crash (the ASan
// build runs this too).
TEST(TitleIndex, GarbageInsideTheFilesNeverReadsOutside) {
  std::vector<Item> items;
  for (int i = 0; i < 300; ++i) {
    Item it;
    it.id = i + 1;
    it.title = "Title number " + std::to_string(i) + (i % 3 == 0 ? " shippuuden" : " the movie");
    it.english_title = i % 2 == 0 ? "English " + std::to_string(i) : "";
    it.members = i;
    items.push_back(it);
  }
  Built built(items);
  testing::TempDir dir;
  ASSERT_TRUE(built.index->Write(dir.path()).ok());
  std::mt19937_64 rng(3);
  for (const char* file : {kTitleTextOffsetsFile, kTitleEntriesFile, kTitleTrigramsFile,
                           kTitleTrigramOffsetsFile, kTitleTrigramEntriesFile, kTitleTextFile}) {
    testing::TempDir copy;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
      std::filesystem::copy_file(e.path(), copy.Join(e.path().filename().string()));
    }
    // Overwrite the payload (after the 64-byte header) with random bytes, except the
    // first and last offsets, which Open checks.
    const std::string path = copy.Join(file);
    const auto size = std::filesystem::file_size(path);
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    for (uint64_t pos = 64 + 8; pos + 16 < size; pos += 4) {
      const uint32_t v =
          (rng() % 4 == 0) ? static_cast<uint32_t>(rng()) : static_cast<uint32_t>(rng() % 400);
      f.seekp(static_cast<std::streamoff>(pos));
      f.write(reinterpret_cast<const char*>(&v), 4);
    }
    f.close();
    auto mapped = TitleIndex::Open(copy.path(), *built.store, built.ids.data());
    if (!mapped.ok()) continue;  // refused at open: fine
    for (const char* q :
         {"title", "shippuuden", "the movie", "t", "english 4", "zz", "number 12"}) {
      for (const TitleMatch& m : mapped->Lookup(q, 10)) EXPECT_LT(m.row, items.size()) << file;
    }
  }
}

}  // namespace
}  // namespace simsearch
