// The Universal Sentence Encoder Lite against the npm package it comes from: token ids
// and vectors that @energetic-ai/embeddings (TensorFlow.js) computed for ordinary and
// hostile texts (tests/data/use_lite/reference.json, written by make_reference.js beside
// it). The model itself (28 MB) is fetched by scripts/fetch-use-lite.sh, which
// scripts/test.sh runs; without it the test fails and says so.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/file_util.h"
#include "models/text/encoder.h"
#include "models/text/use_lite.h"

namespace simsearch::text {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

const std::string kModel = SIMSEARCH_USE_LITE_DIR;
const std::string kReference = std::string(SIMSEARCH_TEST_DATA) + "/use_lite/reference.json";

std::unique_ptr<UseLiteEncoder> LoadOrFail() {
  auto e = UseLiteEncoder::Load(kModel, 2);
  EXPECT_TRUE(e.ok()) << e.status() << "\n(the model is fetched by ./scripts/fetch-use-lite.sh)";
  return e.ok() ? std::move(*e) : nullptr;
}

json Reference() {
  auto text = ReadFileToString(kReference);
  EXPECT_TRUE(text.ok()) << text.status();
  return json::parse(*text);
}

TEST(UseLite, TokensEqualThePackagesTokenizer) {
  auto e = LoadOrFail();
  ASSERT_NE(e, nullptr);
  const json ref = Reference();
  ASSERT_GE(ref["texts"].size(), 10u);
  for (const json& t : ref["texts"]) {
    const std::string text = t["text"].get<std::string>();
    EXPECT_EQ(e->Tokenize(text), t["ids"].get<std::vector<int32_t>>()) << text;
  }
}

TEST(UseLite, VectorsEqualThePackagesWithinFloatRounding) {
  auto e = LoadOrFail();
  ASSERT_NE(e, nullptr);
  const json ref = Reference();
  std::vector<std::string> texts;
  for (const json& t : ref["texts"]) texts.push_back(t["text"].get<std::string>());
  std::vector<float> out;
  ASSERT_TRUE(e->Encode(texts, &out).ok());
  ASSERT_EQ(out.size(), texts.size() * 512);
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::vector<float> want = ref["texts"][i]["vector"].get<std::vector<float>>();
    ASSERT_EQ(want.size(), 512u);
    double dot = 0, max_diff = 0;
    for (size_t d = 0; d < 512; ++d) {
      dot += static_cast<double>(out[i * 512 + d]) * want[d];
      max_diff = std::max(max_diff, static_cast<double>(std::fabs(out[i * 512 + d] - want[d])));
    }
    // Unit vectors: a cosine this close to 1 and no coordinate off by more than 1e-4
    // leave only the difference of float summation orders.
    EXPECT_GT(dot, 0.99999) << texts[i];
    EXPECT_LT(max_diff, 1e-4) << texts[i];
  }
}

TEST(UseLite, LongTextsAreCutAt128PiecesAndEmptyTextsGiveZeros) {
  auto e = LoadOrFail();
  ASSERT_NE(e, nullptr);
  std::string long_text;
  for (int i = 0; i < 100; ++i) long_text += "giant robots fight ";
  const std::vector<int32_t> ids = e->Tokenize(long_text);
  ASSERT_GT(ids.size(), 200u);
  std::vector<float> full(512), cut(512);
  e->EncodeIds(ids, full.data());
  e->EncodeIds(std::vector<int32_t>(ids.begin(), ids.begin() + UseLiteEncoder::kMaxTokens),
               cut.data());
  EXPECT_EQ(full, cut);

  std::vector<float> out;
  ASSERT_TRUE(e->Encode({"", "   "}, &out).ok());
  EXPECT_EQ(out[0], 0.0f);
  float norm = 0;
  for (int d = 0; d < 512; ++d) norm += out[512 + d] * out[512 + d];  // "   " is three pieces
  EXPECT_NEAR(norm, 1.0f, 1e-5);
}

TEST(UseLite, LoadEncoderRecognisesTheFolder) {
  auto e = LoadEncoder(kModel, 1);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ((*e)->kind(), "use-lite");
  EXPECT_EQ((*e)->dims(), 512);
}

namespace fs = std::filesystem;

// A copy of the model folder to damage or re-shard.
fs::path CopyModel(const std::string& tag) {
  const fs::path dir =
      fs::temp_directory_path() / ("use_lite_test_" + tag + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const auto& f : fs::directory_iterator(kModel))
    fs::copy_file(f.path(), dir / f.path().filename());
  return dir;
}

TEST(UseLite, TensorsStraddlingShardsGiveTheSameVectors) {
  // The package's own layout: one byte stream cut into shards at arbitrary points.
  const fs::path dir = CopyModel("shards");
  auto blob = ReadFileToString((dir / "weights.bin").string());
  ASSERT_TRUE(blob.ok());
  const std::vector<size_t> cuts = {0, 4'000'004, 4'000'008, 17'000'000, blob->size()};
  json paths = json::array();
  for (size_t i = 0; i + 1 < cuts.size(); ++i) {
    const std::string name = "part" + std::to_string(i);
    std::ofstream(dir / name, std::ios::binary) << blob->substr(cuts[i], cuts[i + 1] - cuts[i]);
    paths.push_back(name);
  }
  fs::remove(dir / "weights.bin");
  auto model = ReadFileToString((dir / "model.json").string());
  ASSERT_TRUE(model.ok());
  json m = json::parse(*model);
  m["weightsManifest"][0]["paths"] = paths;
  std::ofstream(dir / "model.json") << m.dump();

  auto sharded = UseLiteEncoder::Load(dir.string(), 1);
  ASSERT_TRUE(sharded.ok()) << sharded.status();
  auto whole = LoadOrFail();
  ASSERT_NE(whole, nullptr);
  const std::vector<std::string> texts = {"a girl pilots a giant robot", "進撃の巨人",
                                          "tea and cake"};
  std::vector<float> a, b;
  ASSERT_TRUE((*sharded)->Encode(texts, &a).ok());
  ASSERT_TRUE(whole->Encode(texts, &b).ok());
  EXPECT_EQ(a, b);
  fs::remove_all(dir);
}

TEST(UseLite, DamagedFilesAreErrorsNamingTheFile) {
  const fs::path dir = CopyModel("damaged");
  // Weights cut short.
  fs::resize_file(dir / "weights.bin", 1000);
  auto e = UseLiteEncoder::Load(dir.string(), 1);
  ASSERT_FALSE(e.ok());
  EXPECT_THAT(std::string(e.status().message()), HasSubstr("model.json"));
  EXPECT_THAT(std::string(e.status().message()), HasSubstr("end inside"));
  // A vocabulary that is not [piece, score] pairs.
  fs::copy_file(fs::path(kModel) / "weights.bin", dir / "weights.bin",
                fs::copy_options::overwrite_existing);
  std::ofstream(dir / "vocab.json") << R"([["a", 1], ["b"]])";
  e = UseLiteEncoder::Load(dir.string(), 1);
  ASSERT_FALSE(e.ok());
  EXPECT_THAT(std::string(e.status().message()), HasSubstr("vocab.json"));
  // Missing weights.
  fs::copy_file(fs::path(kModel) / "vocab.json", dir / "vocab.json",
                fs::copy_options::overwrite_existing);
  fs::remove(dir / "weights.bin");
  e = UseLiteEncoder::Load(dir.string(), 1);
  ASSERT_FALSE(e.ok());
  EXPECT_THAT(std::string(e.status().message()), HasSubstr("weights.bin"));
  fs::remove_all(dir);
}

// The vocabulary reader against nlohmann::json as the oracle: the real vocab.json gives
// the same pieces and scores, and on hostile texts the two accept and reject alike.
std::optional<std::vector<std::pair<std::string, double>>> ViaJson(const std::string& text) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_array()) return std::nullopt;
  std::vector<std::pair<std::string, double>> out;
  for (const auto& e : j) {
    if (!e.is_array() || e.size() != 2 || !e[0].is_string() ||
        !(e[1].is_number() || e[1].is_null())) {
      return std::nullopt;
    }
    out.emplace_back(e[0].get<std::string>(), e[1].is_null() ? 0.0 : e[1].get<double>());
  }
  return out;
}

TEST(UseLite, VocabReaderAgreesWithAJsonParser) {
  auto real = ReadFileToString(kModel + "/vocab.json");
  ASSERT_TRUE(real.ok());
  auto got = ParseUseLiteVocab(*real);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, *ViaJson(*real));
  EXPECT_EQ(got->size(), 8000u);
  const std::vector<std::string> cases = {
      R"([])", R"( [ ] )", R"([["a",1]])", "[\n [\"a\" , -1.5e-3 ] ,\t[\"b\",null]\r]",
      R"([["\u2581the",-3.25],["\"\\\/\b\f\n\r\t",0]])", R"([["\ud83d\ude00",1E+2]])",
      R"([["é日本",0.5]])", R"([["",0]])", R"([["a",-0]])", R"([["a",0.0]])",
      // rejected by both
      R"()", R"([)", R"([["a",1])", R"([["a",1],])", R"([["a"]])", R"([["a",1,2]])", R"([[1,1]])",
      R"([["a","1"]])", R"([["a",01]])", R"([["a",1.]])", R"([["a",.5]])", R"([["a",+1]])",
      R"([["a",1e]])", R"([["a",nul]])", R"([["a",true]])", R"([["\x",1]])", R"([["\u12",1]])",
      R"([["\ud83d",1]])", R"([["\ude00",1]])", R"([["\ud83d\u0041",1]])", "[[\"a\tb\",1]]",
      R"([["a,1]])", R"([["a",1]] x)", R"({"a":1})", R"([["a",1]][])", R"([["a",NaN]])",
      R"([["a",1e999]])"};
  for (const std::string& c : cases) {
    SCOPED_TRACE(c);
    const auto want = ViaJson(c);
    const auto mine = ParseUseLiteVocab(c);
    ASSERT_EQ(mine.ok(), want.has_value()) << mine.status();
    if (want) {
      EXPECT_EQ(*mine, *want);
    }
  }
}

}  // namespace
}  // namespace simsearch::text
