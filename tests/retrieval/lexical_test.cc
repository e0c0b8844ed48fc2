// The lexical analyzer by hand, and BM25 search against a brute-force oracle that
// scores every row from the raw texts (no postings).
#include "retrieval/lexical.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <random>

#include "tests/testing/test_util.h"

namespace simsearch {
namespace {

using ::testing::ElementsAre;
using testing::TempDir;

TEST(LexicalTokens, FoldsCaseAndAccentsAndDropsStopWords) {
  EXPECT_THAT(LexicalTokens("The Pokémon of the CAFÉ"), ElementsAre("pokemon", "cafe"));
  EXPECT_THAT(LexicalTokens("Naïve  RÉSUMÉ!"), ElementsAre("naive", "resume"));
}

TEST(LexicalTokens, SplitsOnPunctuationAndKeepsDigits) {
  EXPECT_THAT(LexicalTokens("Steins;Gate 0, year-2071"),
              ElementsAre("stein", "gate", "0", "year", "2071"));  // stemmed, as queries are
}

TEST(LexicalTokens, StemsPluralsWithTheSStemmer) {
  EXPECT_THAT(LexicalTokens("ninjas stories heroes bus class boxes"),
              ElementsAre("ninja", "story", "heroe", "bus", "class", "boxe"));
  // Short words stay whole.
  EXPECT_THAT(LexicalTokens("gas"), ElementsAre("gas"));
}

TEST(LexicalTokens, CjkRunsBecomeBigrams) {
  // 進撃の巨人: five characters, four bigrams; a lone character stays itself.
  EXPECT_THAT(LexicalTokens("進撃の巨人"), ElementsAre("進撃", "撃の", "の巨", "巨人"));
  EXPECT_THAT(LexicalTokens("猫 cat"), ElementsAre("猫", "cat"));
  // Katakana next to Latin: separate tokens.
  EXPECT_THAT(LexicalTokens("ナルトnaruto"), ElementsAre("ナル", "ルト", "naruto"));
}

TEST(LexicalTokens, InvalidUtf8IsASeparatorNotACrash) {
  EXPECT_THAT(LexicalTokens(std::string("abc\xff\xfe"
                                        "def")),
              ElementsAre("abc", "def"));
  EXPECT_TRUE(LexicalTokens("").empty());
  EXPECT_TRUE(LexicalTokens("the of and").empty());
}

// BM25 from the raw texts, the textbook formula, every row scored.
std::vector<LexicalHit> Oracle(const std::vector<std::string>& texts, const std::string& query,
                               size_t k) {
  std::vector<std::vector<std::string>> docs;
  double total = 0;
  for (const auto& t : texts) {
    docs.push_back(LexicalTokens(t));
    total += static_cast<double>(docs.back().size());
  }
  const double n = static_cast<double>(texts.size()), avg = total / n;
  std::vector<LexicalHit> hits;
  for (size_t r = 0; r < docs.size(); ++r) {
    double s = 0;
    bool any = false;
    for (const std::string& q : LexicalTokens(query)) {
      double df = 0;
      for (const auto& d : docs) df += std::count(d.begin(), d.end(), q) > 0 ? 1 : 0;
      const double tf = static_cast<double>(std::count(docs[r].begin(), docs[r].end(), q));
      if (tf == 0) continue;
      any = true;
      const double idf = std::log(1 + (n - df + 0.5) / (df + 0.5));
      s += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * static_cast<double>(docs[r].size()) / avg));
    }
    if (any) hits.push_back({static_cast<uint32_t>(r), static_cast<float>(s)});
  }
  std::sort(hits.begin(), hits.end(), [](const LexicalHit& a, const LexicalHit& b) {
    return a.score > b.score || (a.score == b.score && a.row < b.row);
  });
  if (hits.size() > k) hits.resize(k);
  return hits;
}

TEST(LexicalIndex, SearchEqualsTheBruteForceOracle) {
  std::mt19937 rng(7);
  const std::vector<std::string> vocab = {"ninja",  "pirate", "volleyball", "space", "cowboy",
                                          "bounty", "hunter", "school",     "club",  "music",
                                          "light",  "demon",  "sword",      "café",  "Café",
                                          "進撃",   "巨人",   "the",        "of"};
  std::vector<std::string> texts;
  for (int r = 0; r < 300; ++r) {
    std::string t;
    const int len = static_cast<int>(rng() % 30);  // some rows are empty
    for (int i = 0; i < len; ++i) t += vocab[rng() % vocab.size()] + " ";
    texts.push_back(t);
  }
  TempDir dir;
  ASSERT_TRUE(WriteLexicalIndex(texts, dir.path()).ok());
  auto index = LexicalIndex::Open(dir.path(), texts.size());
  ASSERT_TRUE(index.ok()) << index.status();
  for (const std::string q :
       {"ninja", "pirate ninja", "volleyball club light music", "cafe", "CAFÉ space", "進撃の巨人",
        "the of", "unknownword", "ninja ninja sword"}) {
    for (size_t k : {1, 10, 1000}) {
      const auto got = index->Search(q, k);
      const auto want = Oracle(texts, q, k);
      ASSERT_EQ(got.size(), want.size()) << q;
      for (size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].row, want[i].row) << q << " rank " << i;
        EXPECT_NEAR(got[i].score, want[i].score, 1e-4) << q;
      }
    }
  }
  // The filter removes rows and keeps the order of the rest.
  const auto all = index->Search("ninja", 1000);
  const auto even = index->Search("ninja", 1000, [](uint32_t row) { return row % 2 == 0; });
  std::vector<LexicalHit> want;
  for (const auto& h : all) {
    if (h.row % 2 == 0) want.push_back(h);
  }
  ASSERT_EQ(even.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(even[i].row, want[i].row);
}

TEST(LexicalIndex, RejectsFilesThatDisagree) {
  TempDir dir;
  ASSERT_TRUE(WriteLexicalIndex({"ninja pirate", "space cowboy"}, dir.path()).ok());
  // Opened for more rows than were indexed: the lengths file disagrees.
  auto wrong = LexicalIndex::Open(dir.path(), 3);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(wrong.status().message()), ::testing::HasSubstr("rebuild the bundle"));
}

// Open checks what costs O(1); Verify the rest (the engine runs it with --verify
// checksums). Without Verify, a damaged index still answers in bounds: ASan runs this.
TEST(LexicalIndex, VerifyFindsWhatOpenLeavesAndSearchStaysInBounds) {
  const std::vector<std::string> texts = {"ninja pirate", "space cowboy ninja", "pirate king"};
  // A posting row out of range.
  {
    TempDir bad;
    ASSERT_TRUE(WriteLexicalIndex(texts, bad.path()).ok());
    auto good = LexicalIndex::Open(bad.path(), texts.size());
    ASSERT_TRUE(good.ok());
    EXPECT_TRUE(good->Verify().ok());
    const auto rows = MappedArray::Open(bad.Join(kLexicalRowsFile), ArrayDType::kUInt32);
    ASSERT_TRUE(rows.ok());
    std::vector<uint32_t> damaged(rows->uint32s(), rows->uint32s() + rows->count());
    for (uint32_t& r : damaged) r = r == 1 ? 1000000 : r;  // row 1's postings point far away
    ASSERT_TRUE(
        WriteUInt32ArrayFile(bad.Join(kLexicalRowsFile), damaged.data(), damaged.size()).ok());
    auto index = LexicalIndex::Open(bad.path(), texts.size());
    ASSERT_TRUE(index.ok()) << "sizes agree, so Open is satisfied: " << index.status();
    const absl::Status st = index->Verify();
    EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(std::string(st.message()),
                ::testing::HasSubstr("posting row 1000000 is out of range"));
    const auto hits = index->Search("ninja pirate cowboy space king", 10);
    ASSERT_FALSE(hits.empty());
    for (const LexicalHit& h : hits) EXPECT_LT(h.row, texts.size());
  }
  // Term offsets out of order: the terms they cover count as absent.
  {
    TempDir bad;
    ASSERT_TRUE(WriteLexicalIndex(texts, bad.path()).ok());
    const auto offsets = MappedArray::Open(bad.Join(kLexicalTermOffsetsFile), ArrayDType::kInt64);
    ASSERT_TRUE(offsets.ok());
    std::vector<int64_t> damaged(offsets->int64s(), offsets->int64s() + offsets->count());
    ASSERT_GE(damaged.size(), 4u);
    damaged[1] = 1 << 30;  // far past the terms' bytes
    ASSERT_TRUE(
        WriteInt64ArrayFile(bad.Join(kLexicalTermOffsetsFile), damaged.data(), damaged.size())
            .ok());
    auto index = LexicalIndex::Open(bad.path(), texts.size());
    ASSERT_TRUE(index.ok()) << index.status();
    EXPECT_THAT(std::string(index->Verify().message()),
                ::testing::HasSubstr("offsets are not ascending"));
    for (const char* q : {"ninja", "pirate", "space", "king", "cowboy", "zzz"}) {
      for (const LexicalHit& h : index->Search(q, 10)) EXPECT_LT(h.row, texts.size()) << q;
    }
  }
}

// The mean length the indexer records (the manifest's) gives the scores that summing
// the lengths at open gives.
TEST(LexicalIndex, RecordedAverageLengthScoresAsTheSum) {
  const std::vector<std::string> texts = {"ninja pirate", "space cowboy ninja ninja", "",
                                          "pirate king of pirates"};
  TempDir dir;
  double average = -1;
  ASSERT_TRUE(WriteLexicalIndex(texts, dir.path(), &average).ok());
  EXPECT_DOUBLE_EQ(average, (2.0 + 4.0 + 0.0 + 3.0) / 4.0);  // "of" is a stop word
  auto summed = LexicalIndex::Open(dir.path(), texts.size());
  auto recorded = LexicalIndex::Open(dir.path(), texts.size(), average);
  ASSERT_TRUE(summed.ok() && recorded.ok());
  EXPECT_DOUBLE_EQ(summed->average_length(), average);
  const auto a = summed->Search("ninja pirate", 10), b = recorded->Search("ninja pirate", 10);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].row, b[i].row);
    EXPECT_EQ(a[i].score, b[i].score);
  }
}

}  // namespace
}  // namespace simsearch
