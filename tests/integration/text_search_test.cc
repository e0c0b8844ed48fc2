// Free-text search through the engine: the server encodes the text with the bundle's
// own encoder, and the hits equal encoding the text here and searching by vector.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "core/file_util.h"
#include "core/npy.h"
#include "indexer/indexer.h"
#include "models/text/encoder.h"
#include "models/text/sif.h"
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

class TextSearchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    namespace fs = std::filesystem;
    ASSERT_TRUE(text::SifEncoder::Import(std::string(SIMSEARCH_TEST_DATA) + "/glove/glove_twitter_25d_12k.txt",
                                         dir_.Join("glove"), "test").ok());
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

  std::vector<int64_t> Ids(const absl::StatusOr<std::vector<ClientHit>>& hits) {
    EXPECT_TRUE(hits.ok()) << hits.status();
    std::vector<int64_t> out;
    if (hits.ok()) {
      for (const auto& h : *hits) out.push_back(h.id);
    }
    return out;
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
  for (const std::string q : {"space bounty hunters", "school music club", "a sword fighting samurai"}) {
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
                                 VerifyMode::kChecksums).status();
  EXPECT_THAT(st.message(), HasSubstr("encoder/weights.f32: checksum"));
}

TEST(IndexerEncoder, DimensionMismatchAndUnfittedEncoderAreRejected) {
  testing::TempDir dir;
  ASSERT_TRUE(text::SifEncoder::Import(std::string(SIMSEARCH_TEST_DATA) + "/glove/glove_twitter_25d_12k.txt",
                                       dir.Join("glove"), "test").ok());
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
