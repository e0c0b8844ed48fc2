// Free-text search through the engine: the server encodes the text with the bundle's
// own encoder, and the hits equal encoding the text here and searching by vector.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <random>

#include "core/file_util.h"
#include "core/npy.h"
#include "engine/collection.h"
#include "indexer/indexer.h"
#include "models/text/encoder.h"
#include "models/text/sif.h"
#include "server/metrics.h"
#include "tests/integration/server_fixture.h"
#include "tests/testing/test_util.h"

namespace simsearch {
namespace {

using ::testing::HasSubstr;

const std::vector<std::string> kTexts = {
    "bounty hunters chase criminals across space on their ship",
    "a high school girl joins the music club and plays guitar",
    "a samurai wanders feudal japan with a sword",
    "a space ship drifts between planets after a war",
    "friends cook dinner and talk about school",
    "a detective investigates a murder in the city",
    "robots fight a war for the future of earth",
    "a girl with magic powers protects her town",
};

std::vector<int64_t> Ids(const absl::StatusOr<std::vector<ClientHit>>& hits) {
  EXPECT_TRUE(hits.ok()) << hits.status();
  std::vector<int64_t> out;
  if (hits.ok()) {
    for (const auto& h : *hits) out.push_back(h.id);
  }
  return out;
}

class TextSearchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    namespace fs = std::filesystem;
    ASSERT_TRUE(text::SifEncoder::Import(
                    std::string(SIMSEARCH_TEST_DATA) + "/glove/glove_twitter_25d_12k.txt",
                    dir_.Join("glove"), "test")
                    .ok());
    auto raw = text::SifEncoder::Load(dir_.Join("glove"));
    ASSERT_TRUE(raw.ok());
    ASSERT_TRUE((*raw)->FitAndSave(kTexts, dir_.Join("encoder")).ok());
    auto enc = text::LoadEncoder(dir_.Join("encoder"));
    ASSERT_TRUE(enc.ok());
    std::vector<float> v;
    ASSERT_TRUE((*enc)->Encode(kTexts, &v).ok());
    std::vector<int64_t> ids;
    for (int64_t i = 0; i < static_cast<int64_t>(kTexts.size()); ++i) ids.push_back(100 + i);
    ASSERT_TRUE(WriteNpyFloat32(dir_.Join("v.npy"), v.data(), kTexts.size(), 25).ok());
    ASSERT_TRUE(WriteNpyInt64(dir_.Join("i.npy"), ids.data(), ids.size()).ok());
    BuildOptions o;
    o.collection = "stories";
    o.vectors_path = dir_.Join("v.npy");
    o.ids_path = dir_.Join("i.npy");
    o.encoder_dir = dir_.Join("encoder");
    o.out_root = dir_.Join("root");
    auto r = BuildBundle(o);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->manifest.encoder_kind, "sif");
    bundle_encoder_ = r->version_dir + "/encoder";
    // A collection without an encoder beside it.
    testing::BundleSpec plain;
    plain.collection = "plain";
    plain.dims = 25;
    plain.vectors = testing::RandomVectors(3, 25, 1);
    plain.ids = {1, 2, 3};
    testing::BuildBundleOrDie(dir_.Join("root"), dir_.path(), plain);
    srv_ = testing::InProcessServer::Start(dir_.Join("root"));
    ASSERT_NE(srv_, nullptr);
  }

  testing::TempDir dir_;
  std::string bundle_encoder_;
  std::unique_ptr<testing::InProcessServer> srv_;
};

TEST_F(TextSearchTest, ServerTextSearchEqualsEncodingHereAndSearchingByVector) {
  auto enc = text::LoadEncoder(bundle_encoder_);
  ASSERT_TRUE(enc.ok()) << enc.status();
  SearchOptions o;
  o.collection = "stories";
  o.top_k = 5;
  for (const std::string q :
       {"space bounty hunters", "school music club", "a sword fighting samurai"}) {
    std::vector<float> v;
    ASSERT_TRUE((*enc)->Encode({q}, &v).ok());
    auto by_text = srv_->client->Search(SearchQuery::Text(q), o);
    auto by_vector = srv_->client->Search(SearchQuery::Vector(v), o);
    EXPECT_EQ(Ids(by_text), Ids(by_vector)) << q;
    ASSERT_TRUE(by_text.ok());
    for (size_t k = 0; k < by_text->size(); ++k) {
      EXPECT_NEAR((*by_text)[k].score, (*by_vector)[k].score, 1e-6);
    }
  }
  // A stored item's own text finds that item first, with cosine 1.
  auto self = srv_->client->Search(SearchQuery::Text(kTexts[2]), o);
  ASSERT_TRUE(self.ok());
  EXPECT_EQ((*self)[0].id, 102);
  EXPECT_NEAR((*self)[0].score, 1.0f, 1e-5);
  auto info = srv_->client->DescribeCollection("stories");
  ASSERT_TRUE(info.ok());
  EXPECT_THAT(info->encoder, HasSubstr("sif: 11925 words x 25 dims"));
}

// Text queries go through a per-version cache of encodings: the same vectors as the
// encoder's, bounded in size, and a text asked for often enough is never re-encoded
// however many others pass (with a cache emptied when full, it was, once per fill).
TEST_F(TextSearchTest, EncodedTextsAreCachedBoundedAndEqualTheEncoders) {
  const std::string version =
      bundle_encoder_.substr(0, bundle_encoder_.size() - std::string("/encoder").size());
  auto c = Collection::Open(version, {});
  ASSERT_TRUE(c.ok()) << c.status();
  const text::SentenceEncoder& enc = *(*c)->encoder();
  std::vector<float> want, got, again;
  ASSERT_TRUE(enc.Encode({"space bounty hunters"}, &want).ok());
  ASSERT_TRUE((*c)->EncodeText("space bounty hunters", &got).ok());
  ASSERT_TRUE((*c)->EncodeText("space bounty hunters", &again).ok());
  EXPECT_EQ(got, want);
  EXPECT_EQ(again, want);
  auto stats = (*c)->text_cache_stats();
  EXPECT_EQ(stats.entries, 1u);
  EXPECT_EQ(stats.misses, 1u);
  EXPECT_EQ(stats.hits, 1u);
  // Three times the cache's size of distinct texts; the popular one is asked for again
  // after every 1,000 of them (under kTextCacheSize / 2).
  const std::vector<std::string> words = {"space", "music", "sword", "school",
                                          "ship",  "club",  "war",   "love"};
  auto other = [&](size_t i) {
    return words[i % words.size()] + " " + words[(i / 8) % words.size()] + " " + std::to_string(i);
  };
  const size_t others = 3 * Collection::kTextCacheSize;
  uint64_t popular = 0;
  for (size_t i = 0; i < others; ++i) {
    const std::string t = other(i);
    ASSERT_TRUE((*c)->EncodeText(t, &got).ok());
    if (i % 997 == 0) {
      ASSERT_TRUE(enc.Encode({t}, &want).ok());
      EXPECT_EQ(got, want) << t;
    }
    ASSERT_LE((*c)->text_cache_stats().entries, Collection::kTextCacheSize);
    if (i % 1000 == 999) {
      ASSERT_TRUE((*c)->EncodeText("space bounty hunters", &got).ok());
      ++popular;
      ASSERT_TRUE(enc.Encode({"space bounty hunters"}, &want).ok());
      EXPECT_EQ(got, want) << "after " << i + 1 << " other texts";
    }
  }
  stats = (*c)->text_cache_stats();
  EXPECT_EQ(stats.misses, 1 + others) << "every other text once, the popular one never again";
  EXPECT_EQ(stats.hits, 1 + popular);
  EXPECT_GE(stats.entries, Collection::kTextCacheSize / 2);
  // A text last asked for more than kTextCacheSize other texts ago was dropped; the
  // last one asked for was not.
  ASSERT_TRUE((*c)->EncodeText(other(1), &got).ok());
  EXPECT_EQ((*c)->text_cache_stats().misses, 2 + others);
  ASSERT_TRUE((*c)->EncodeText(other(others - 1), &got).ok());
  EXPECT_EQ((*c)->text_cache_stats().misses, 2 + others);
}

// The cache's counts are in the engine's metrics, for collections with an encoder only.
TEST_F(TextSearchTest, TextCacheHitsAndMissesAreExposedAsMetrics) {
  EngineMetrics metrics(srv_->engine.get(), absl::Now());
  SearchOptions o;
  o.collection = "stories";
  for (const char* text : {"space war", "music club", "space war", "space war"}) {
    ASSERT_TRUE(srv_->client->Search(SearchQuery::Text(text), o).ok());
  }
  const std::string exposed = metrics.registry().Expose();
  EXPECT_THAT(exposed, HasSubstr("# TYPE simsearch_text_cache_hits_total counter"));
  EXPECT_THAT(exposed, HasSubstr("simsearch_text_cache_hits_total{collection=\"stories\"} 2\n"));
  EXPECT_THAT(exposed, HasSubstr("simsearch_text_cache_misses_total{collection=\"stories\"} 2\n"));
  EXPECT_THAT(exposed, HasSubstr("simsearch_text_cache_entries{collection=\"stories\"} 2\n"));
  EXPECT_THAT(exposed,
              ::testing::Not(HasSubstr("simsearch_text_cache_hits_total{collection=\"plain\"}")));
}

TEST_F(TextSearchTest, TextQueryErrors) {
  SearchOptions o;
  o.collection = "plain";
  auto st = srv_->client->Search(SearchQuery::Text("space"), o).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(st.message(), HasSubstr("collection 'plain' has no text encoder"));
  o.collection = "stories";
  st = srv_->client->Search(SearchQuery::Text("   "), o).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("empty text query"));
  st = srv_->client->Search(SearchQuery::Text("qqzzxx wwvvkk"), o).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("knows none of the words"));
  st = srv_->client->Search(SearchQuery::Text(std::string(20000, 'a')), o).status();
  EXPECT_THAT(st.message(), HasSubstr("text query is 20000 bytes"));
}

TEST_F(TextSearchTest, EncoderFilesAreVerifiedWithTheBundle) {
  // Corrupting the stored encoder makes the version fail verification.
  const std::string weights = bundle_encoder_ + "/weights.f32";
  std::string bytes = *ReadFileToString(weights);
  bytes[100] ^= 1;
  ASSERT_TRUE(WriteStringToFile(weights, bytes).ok());
  auto st = ReadVerifiedManifest(std::filesystem::path(bundle_encoder_).parent_path().string(),
                                 VerifyMode::kChecksums)
                .status();
  EXPECT_THAT(st.message(), HasSubstr("encoder/weights.f32: checksum"));
}

// A collection with both an encoder and a lexical index: each mode against an oracle
// built from the other two modes' answers through the same client.
class HybridSearchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::vector<std::string> words = {
        "space",   "bounty", "hunter",     "school", "music",  "club",  "guitar",
        "samurai", "sword",  "detective",  "murder", "city",   "robot", "war",
        "magic",   "girl",   "volleyball", "ninja",  "pirate", "ship"};
    std::mt19937 rng(11);
    for (int i = 0; i < 150; ++i) {
      std::string t;
      const int n = 3 + static_cast<int>(rng() % 12);
      for (int w = 0; w < n; ++w) t += words[rng() % words.size()] + " ";
      texts_.push_back(t);
    }
    ASSERT_TRUE(text::SifEncoder::Import(
                    std::string(SIMSEARCH_TEST_DATA) + "/glove/glove_twitter_25d_12k.txt",
                    dir_.Join("glove"), "test")
                    .ok());
    auto raw = text::SifEncoder::Load(dir_.Join("glove"));
    ASSERT_TRUE(raw.ok());
    ASSERT_TRUE((*raw)->FitAndSave(texts_, dir_.Join("encoder")).ok());
    auto enc = text::LoadEncoder(dir_.Join("encoder"));
    ASSERT_TRUE(enc.ok());
    std::vector<float> v;
    ASSERT_TRUE((*enc)->Encode(texts_, &v).ok());
    std::vector<int64_t> ids;
    std::string csv = "anime_id,synopsis\n";
    for (int64_t i = 0; i < static_cast<int64_t>(texts_.size()); ++i) {
      ids.push_back(1000 + i);
      absl::StrAppend(&csv, 1000 + i, ",\"", texts_[static_cast<size_t>(i)], "\"\n");
    }
    ASSERT_TRUE(WriteNpyFloat32(dir_.Join("v.npy"), v.data(), texts_.size(), 25).ok());
    ASSERT_TRUE(WriteNpyInt64(dir_.Join("i.npy"), ids.data(), ids.size()).ok());
    ASSERT_TRUE(WriteStringToFile(dir_.Join("texts.csv"), csv).ok());
    BuildOptions o;
    o.collection = "both";
    o.vectors_path = dir_.Join("v.npy");
    o.ids_path = dir_.Join("i.npy");
    o.encoder_dir = dir_.Join("encoder");
    o.lexical_path = dir_.Join("texts.csv");
    o.out_root = dir_.Join("root");
    auto r = BuildBundle(o);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE(r->manifest.has_lexical);
    // The same vectors with only the lexical index, and with only the encoder.
    o.collection = "lexical_only";
    o.encoder_dir.clear();
    ASSERT_TRUE(BuildBundle(o).ok());
    o.collection = "dense_only";
    o.encoder_dir = dir_.Join("encoder");
    o.lexical_path.clear();
    ASSERT_TRUE(BuildBundle(o).ok());
    srv_ = testing::InProcessServer::Start(dir_.Join("root"));
    ASSERT_NE(srv_, nullptr);
  }

  absl::StatusOr<std::vector<ClientHit>> Run(const std::string& collection, const std::string& text,
                                             TextOptions options, int k, FilterSpec filter = {}) {
    SearchQuery q = SearchQuery::Text(text);
    q.text_options = options;
    SearchOptions so;
    so.collection = collection;
    so.top_k = k;
    so.filter = std::move(filter);
    return srv_->client->Search(q, so);
  }

  // The fusion by hand from the dense and lexical lists (each up to kFusionDepth).
  std::vector<std::pair<int64_t, double>> Oracle(const std::string& text, TextOptions options,
                                                 int k, const FilterSpec& filter) {
    auto dense =
        Run("both", text, MakeTextOptions(TextMode::kDense), std::max(k, kFusionDepth), filter);
    auto lexical =
        Run("both", text, MakeTextOptions(TextMode::kLexical), std::max(k, kFusionDepth), filter);
    EXPECT_TRUE(dense.ok() && lexical.ok());
    std::map<int64_t, double> score;
    const bool convex = options.fusion != Fusion::kRrf;
    const double w = options.dense_weight.value_or(convex ? kDefaultDenseWeight : 0.5f);
    const double rrf_k = options.rrf_k.value_or(kDefaultRrfK);
    for (const auto* list : {&*dense, &*lexical}) {
      const double weight = list == &*dense ? w : 1 - w;
      double lo = 1e300, hi = -1e300;
      for (const auto& h : *list) {
        lo = std::min<double>(lo, h.score);
        hi = std::max<double>(hi, h.score);
      }
      for (size_t r = 0; r < list->size(); ++r) {
        const auto& h = (*list)[r];
        score[h.id] += convex ? weight * (hi > lo ? (h.score - lo) / (hi - lo) : 1.0)
                              : 2 * weight / (rrf_k + static_cast<double>(r + 1));
      }
    }
    std::vector<std::pair<int64_t, double>> out(score.begin(), score.end());
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
      return a.second > b.second || (a.second == b.second && a.first < b.first);
    });
    if (out.size() > static_cast<size_t>(k)) out.resize(static_cast<size_t>(k));
    return out;
  }

  testing::TempDir dir_;
  std::vector<std::string> texts_;
  std::unique_ptr<testing::InProcessServer> srv_;
};

TEST_F(HybridSearchTest, HybridEqualsTheFusionOfDenseAndLexicalLists) {
  FilterSpec none, some;
  for (int64_t id = 1000; id < 1150; id += 3) some.exclude_ids.push_back(id);
  for (const std::string q : {"space bounty hunter", "volleyball", "ninja pirate ship",
                              "the girl with magic", "murder in the city detective"}) {
    for (const TextOptions& o :
         {TextOptions{}, MakeTextOptions(TextMode::kHybrid, Fusion::kConvex, {}, 0.5f),
          MakeTextOptions(TextMode::kHybrid, Fusion::kRrf),
          MakeTextOptions(TextMode::kHybrid, Fusion::kRrf, 10.0f, 0.3f)}) {
      for (const FilterSpec* f : {&none, &some}) {
        for (int k : {1, 10, 120}) {
          auto got = Run("both", q, o, k, *f);
          ASSERT_TRUE(got.ok()) << got.status();
          const auto want = Oracle(q, o, k, *f);
          ASSERT_EQ(got->size(), want.size()) << q;
          for (size_t i = 0; i < want.size(); ++i) {
            // Scores within float rounding; a near-tie may swap, so compare scores by rank.
            EXPECT_NEAR((*got)[i].score, want[i].second, 1e-5) << q << " rank " << i;
            if (std::fabs(want[i].second - (i + 1 < want.size() ? want[i + 1].second : -1)) >
                    1e-5 &&
                (i == 0 || std::fabs(want[i].second - want[i - 1].second) > 1e-5)) {
              EXPECT_EQ((*got)[i].id, want[i].first) << q << " rank " << i;
            }
            EXPECT_TRUE(f->exclude_ids.empty() ||
                        std::find(f->exclude_ids.begin(), f->exclude_ids.end(), (*got)[i].id) ==
                            f->exclude_ids.end());
          }
        }
      }
    }
  }
}

TEST_F(HybridSearchTest, ModesDefaultToWhatTheCollectionHas) {
  // Lexical mode ranks by BM25: the single-word query's hits all contain the word.
  auto lexical = Run("both", "volleyball", MakeTextOptions(TextMode::kLexical), 150);
  ASSERT_TRUE(lexical.ok());
  size_t with_word = 0;
  for (const auto& t : texts_) with_word += t.find("volleyball") != std::string::npos;
  EXPECT_EQ(lexical->size(), with_word);
  // The default on a lexical-only collection is lexical; on a dense-only one, dense.
  EXPECT_EQ(Ids(Run("lexical_only", "ninja ship", {}, 10)),
            Ids(Run("both", "ninja ship", MakeTextOptions(TextMode::kLexical), 10)));
  EXPECT_EQ(Ids(Run("dense_only", "ninja ship", {}, 10)),
            Ids(Run("both", "ninja ship", MakeTextOptions(TextMode::kDense), 10)));
  // A word no text has: lexical answers no hits, hybrid answers the dense list.
  auto none = Run("both", "happy", MakeTextOptions(TextMode::kLexical), 10);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(Ids(Run("both", "happy", {}, 10)).size(), 10u);
  auto info = srv_->client->DescribeCollection("both");
  ASSERT_TRUE(info.ok());
  EXPECT_THAT(info->text_search, HasSubstr("hybrid"));
  EXPECT_THAT(info->text_search, HasSubstr("BM25 over"));
}

TEST_F(HybridSearchTest, ModeErrorsSayWhatToUse) {
  auto st = Run("dense_only", "ninja", MakeTextOptions(TextMode::kLexical), 10).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(st.message(), HasSubstr("has no lexical index"));
  EXPECT_THAT(st.message(), HasSubstr("use mode dense"));
  st = Run("lexical_only", "ninja", MakeTextOptions(TextMode::kHybrid), 10).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(st.message(), HasSubstr("use mode lexical"));
  st = Run("both", "ninja", MakeTextOptions(TextMode::kHybrid, Fusion::kRrf, -1.0f), 10).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("rrf_k must be a positive number"));
  st = Run("both", "ninja", MakeTextOptions(TextMode::kHybrid, Fusion::kConvex, {}, 2.0f), 10)
           .status();
  EXPECT_THAT(st.message(), HasSubstr("dense_weight must be in [0, 1]"));
  st = Run("lexical_only", "the of and", {}, 10).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("only stop words"));
  // An unknown mode number from another client.
  SearchQuery q = SearchQuery::Text("ninja");
  q.text_options.mode = static_cast<TextMode>(-1);
  EXPECT_EQ(srv_->engine->Search("both", {q}, 10, {}, absl::InfiniteFuture()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(IndexerEncoder, DimensionMismatchAndUnfittedEncoderAreRejected) {
  testing::TempDir dir;
  ASSERT_TRUE(text::SifEncoder::Import(
                  std::string(SIMSEARCH_TEST_DATA) + "/glove/glove_twitter_25d_12k.txt",
                  dir.Join("glove"), "test")
                  .ok());
  std::vector<float> v = {1, 0, 0, 1};
  std::vector<int64_t> ids = {1, 2};
  ASSERT_TRUE(WriteNpyFloat32(dir.Join("v.npy"), v.data(), 2, 2).ok());
  ASSERT_TRUE(WriteNpyInt64(dir.Join("i.npy"), ids.data(), 2).ok());
  BuildOptions o;
  o.collection = "c";
  o.vectors_path = dir.Join("v.npy");
  o.ids_path = dir.Join("i.npy");
  o.out_root = dir.Join("root");
  o.encoder_dir = dir.Join("glove");
  EXPECT_THAT(BuildBundle(o).status().message(), HasSubstr("makes 25-dimensional vectors but"));
  std::vector<float> v25(50, 0.1f);
  ASSERT_TRUE(WriteNpyFloat32(dir.Join("v25.npy"), v25.data(), 2, 25).ok());
  o.vectors_path = dir.Join("v25.npy");
  EXPECT_THAT(BuildBundle(o).status().message(), HasSubstr("is not fitted"));
}

}  // namespace
}  // namespace simsearch
