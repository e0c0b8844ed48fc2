// Sentence encoders: tokenizer golden tests and BERT parity against the independent
// numpy reference (tests/data/tiny_bert), safetensors validation, and SIF.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "core/file_util.h"
#include "models/text/bert.h"
#include "models/text/encoder.h"
#include "models/text/safetensors.h"
#include "models/text/sif.h"
#include "models/text/tokenizer.h"
#include "tests/testing/test_util.h"

namespace simsearch::text {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

const std::string kData = SIMSEARCH_TEST_DATA;

json Expected() {
  auto text = ReadFileToString(kData + "/tiny_bert/expected.json");
  EXPECT_TRUE(text.ok());
  return json::parse(*text);
}

TEST(Tokenizer, GoldenCasesEqualTheReference) {
  auto enc = BertEncoder::Load(kData + "/tiny_bert/f32", 1);
  ASSERT_TRUE(enc.ok()) << enc.status();
  const WordPieceTokenizer& tok = *(*enc)->tokenizer();
  const json e = Expected();
  const size_t max_len = e["max_seq_length"].get<size_t>();
  ASSERT_EQ((*enc)->max_seq_length(), max_len);
  int cases = 0;
  for (const json& c : e["tokenize"]) {
    const std::string text = c["text"].get<std::string>();
    SCOPED_TRACE(::testing::Message() << "text: " << text.substr(0, 40));
    EXPECT_EQ(tok.Tokenize(text), c["tokens"].get<std::vector<std::string>>());
    EXPECT_EQ(tok.Encode(text, max_len), c["ids"].get<std::vector<int32_t>>());
    ++cases;
  }
  EXPECT_GE(cases, 12);
}

TEST(Tokenizer, BasicTokenizerEdgeCases) {
  BasicTokenizerOptions o;
  EXPECT_EQ(BasicTokenize("Ünïcödé ÀÉ", o), (std::vector<std::string>{"unicode", "ae"}));
  EXPECT_EQ(BasicTokenize("a,b", o), (std::vector<std::string>{"a", ",", "b"}));
  EXPECT_EQ(BasicTokenize("漢字kanji", o), (std::vector<std::string>{"漢", "字", "kanji"}));
  EXPECT_TRUE(BasicTokenize("", o).empty());
  o.lower_case = false;
  EXPECT_EQ(BasicTokenize("Café", o), (std::vector<std::string>{"Café"}));
}

class BertParity : public ::testing::TestWithParam<std::string> {};

TEST_P(BertParity, EmbeddingsEqualTheNumpyReferenceWithin1e5) {
  auto enc = LoadEncoder(kData + "/tiny_bert/" + GetParam(), 1);
  ASSERT_TRUE(enc.ok()) << enc.status();
  EXPECT_EQ((*enc)->kind(), "bert");
  const json cases = Expected()["embed"][GetParam()];
  std::vector<std::string> texts;
  for (const json& c : cases) texts.push_back(c["text"].get<std::string>());
  // All at once: sequences of different lengths share a padded batch, so the
  // attention mask matters.
  std::vector<float> batch;
  ASSERT_TRUE((*enc)->Encode(texts, &batch).ok());
  const size_t d = static_cast<size_t>((*enc)->dims());
  ASSERT_EQ(batch.size(), texts.size() * d);
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto want = cases[i]["embedding"].get<std::vector<double>>();
    ASSERT_EQ(want.size(), d);
    std::vector<float> one;
    ASSERT_TRUE((*enc)->Encode({texts[i]}, &one).ok());
    for (size_t k = 0; k < d; ++k) {
      EXPECT_NEAR(batch[i * d + k], want[k], 1e-5)
          << "'" << texts[i] << "' [" << k << "] (batched)";
      EXPECT_NEAR(one[k], want[k], 1e-5) << "'" << texts[i] << "' [" << k << "] (alone)";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, BertParity, ::testing::Values("f32", "f16"));

// Threads split the batches; the same batches give the same sums, up to the last bit
// of vectorised math functions (GELU's erf), which depends on memory alignment.
TEST(Bert, ThreadsGiveTheSameEmbeddings) {
  auto one = BertEncoder::Load(kData + "/tiny_bert/f32", 1);
  auto two = BertEncoder::Load(kData + "/tiny_bert/f32", 2);
  ASSERT_TRUE(one.ok() && two.ok());
  std::vector<std::string> texts(80, "bounty hunters drifting through space");
  texts[7] = "hello";
  std::vector<float> a, b;
  ASSERT_TRUE((*one)->Encode(texts, &a).ok());
  ASSERT_TRUE((*two)->Encode(texts, &b).ok());
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) ASSERT_NEAR(a[k], b[k], 1e-6) << k;
  std::vector<float> empty;
  ASSERT_TRUE((*one)->Encode({"", "  "}, &empty).ok());
  EXPECT_EQ(empty, std::vector<float>(64, 0.0f)) << "nothing to encode: zero rows";
}

// Pooling writes the same bits wherever its output lies. Before PoolTokens, the mean
// was evaluated straight into the caller's buffer and its last bits followed the
// buffer's alignment (a different --out path gave different BERT vectors).
TEST(Bert, PoolingIsTheSameBitsAtEveryOutputAlignmentAndMatchesDoubles) {
  const int64_t count = 7, hidden = 45;
  std::mt19937 rng(3);
  std::normal_distribution<float> gauss;
  std::vector<float> tokens(count * hidden);
  for (float& v : tokens) v = gauss(rng);
  for (Pooling pooling : {Pooling::kMean, Pooling::kMax, Pooling::kCls}) {
    for (bool normalize : {false, true}) {
      // The oracle, in doubles.
      std::vector<double> want(hidden);
      for (int64_t j = 0; j < hidden; ++j) {
        double acc = pooling == Pooling::kMax ? -1e300 : 0.0;
        for (int64_t t = 0; t < (pooling == Pooling::kCls ? 1 : count); ++t) {
          const double v = tokens[t * hidden + j];
          acc = pooling == Pooling::kMax ? std::max(acc, v) : acc + v;
        }
        want[j] = pooling == Pooling::kMean ? acc / count : acc;
      }
      if (normalize) {
        double n = 0;
        for (double v : want) n += v * v;
        for (double& v : want) v /= std::sqrt(n);
      }
      alignas(64) float buffer[64 + 16];
      std::vector<float> first;
      for (int offset = 0; offset < 16; ++offset) {
        PoolTokens(tokens.data(), count, hidden, pooling, normalize, buffer + offset);
        std::vector<float> got(buffer + offset, buffer + offset + hidden);
        if (offset == 0) first = got;
        ASSERT_EQ(std::memcmp(got.data(), first.data(), hidden * sizeof(float)), 0)
            << "offset " << offset << " pooling " << static_cast<int>(pooling);
        for (int64_t j = 0; j < hidden; ++j) ASSERT_NEAR(got[j], want[j], 1e-5) << j;
      }
    }
  }
}

// ---------------------------------------------------------------- safetensors

std::string Safetensors(const std::string& header, const std::string& data) {
  uint64_t n = header.size();
  return std::string(reinterpret_cast<const char*>(&n), 8) + header + data;
}

TEST(SafeTensors, ReadsF32F16AndRejectsBadFiles) {
  testing::TempDir dir;
  auto write = [&](const std::string& name, const std::string& bytes) {
    EXPECT_TRUE(WriteStringToFile(dir.Join(name), bytes).ok());
    return SafeTensors::Open(dir.Join(name));
  };
  float f[2] = {1.5f, -2.0f};
  uint16_t h[2] = {0x3C00 /* 1.0 */, 0xC000 /* -2.0 */};
  auto ok = write("ok.safetensors",
                  Safetensors(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                              R"("b":{"dtype":"F16","shape":[1,2],"data_offsets":[8,12]}})",
                              std::string(reinterpret_cast<char*>(f), 8) +
                                  std::string(reinterpret_cast<char*>(h), 4)));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(*ok->Get("a", {2}), (std::vector<float>{1.5f, -2.0f}));
  EXPECT_EQ(*ok->Get("b", {1, 2}), (std::vector<float>{1.0f, -2.0f}));
  EXPECT_THAT(ok->Get("b", {2, 1}).status().message(),
              HasSubstr("tensor 'b' has shape [1, 2], the config needs [2, 1]"));
  EXPECT_THAT(ok->Get("c", {1}).status().message(), HasSubstr("no tensor 'c'"));

  EXPECT_THAT(
      write("trunc.safetensors",
            Safetensors(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})",
                        std::string(8, '\0')))
          .status()
          .message(),
      HasSubstr("tensor 'a': data ends at byte 16 but the file holds 8 data bytes: truncated"));
  EXPECT_THAT(write("dtype.safetensors",
                    Safetensors(R"({"a":{"dtype":"I8","shape":[4],"data_offsets":[0,4]}})",
                                std::string(4, '\0')))
                  .status()
                  .message(),
              HasSubstr("dtype I8 is not supported"));
  EXPECT_THAT(write("shape.safetensors",
                    Safetensors(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})",
                                std::string(8, '\0')))
                  .status()
                  .message(),
              HasSubstr("data_offsets [0, 8) do not hold shape [3] of F32"));
  EXPECT_THAT(write("short.safetensors", "abc").status().message(), HasSubstr("truncated"));
  std::string bad_len = Safetensors("{}", "");
  bad_len[0] = '\x7f';
  EXPECT_THAT(write("len.safetensors", bad_len).status().message(), HasSubstr("exceeds the file"));
  EXPECT_THAT(write("json.safetensors", Safetensors("{nope", "")).status().message(),
              HasSubstr("not a JSON object"));
  // [2^32, 2^32] of F32 is 2^66 bytes: the product wraps to 0 and matched empty data.
  EXPECT_THAT(
      write(
          "wrap.safetensors",
          Safetensors(
              R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", ""))
          .status()
          .message(),
      HasSubstr("larger than any file"));
  EXPECT_THAT(
      write("wrap2.safetensors",
            Safetensors(
                R"({"a":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}})", ""))
          .status()
          .message(),
      HasSubstr("larger than any file"));
}

TEST(SafeTensors, ModelWithAMissingOrMisshapenTensorIsRejected) {
  testing::TempDir dir;
  const std::string src = kData + "/tiny_bert/f32";
  std::filesystem::copy(src, dir.Join("m"), std::filesystem::copy_options::recursive);
  // vocab_size 200 in the config: the word embeddings no longer match.
  auto cfg = json::parse(*ReadFileToString(dir.Join("m/config.json")));
  cfg["vocab_size"] = 200;
  ASSERT_TRUE(WriteStringToFile(dir.Join("m/config.json"), cfg.dump()).ok());
  EXPECT_THAT(
      LoadEncoder(dir.Join("m")).status().message(),
      HasSubstr(
          "'embeddings.word_embeddings.weight' has shape [117, 32], the config needs [200, 32]"));
  EXPECT_EQ(LoadEncoder(dir.path()).status().code(), absl::StatusCode::kNotFound);
}

// ---------------------------------------------------------------- SIF

TEST(Sif, FitsWeightsAndComponentAndEncodesUnitVectorsOrthogonalToIt) {
  testing::TempDir dir;
  ASSERT_TRUE(
      SifEncoder::Import(kData + "/glove/glove_twitter_25d_12k.txt", dir.Join("glove"), "test")
          .ok());
  auto raw = SifEncoder::Load(dir.Join("glove"));
  ASSERT_TRUE(raw.ok()) << raw.status();
  EXPECT_FALSE((*raw)->fitted());
  std::vector<float> out;
  EXPECT_EQ((*raw)->Encode({"space"}, &out).code(), absl::StatusCode::kFailedPrecondition);
  const std::vector<std::string> corpus = {
      "the bounty hunters travel through space", "a girl plays music at school",
      "the ship drifts through space", "the school band plays music", "zzqx"};
  ASSERT_TRUE((*raw)->FitAndSave(corpus, dir.Join("fitted")).ok());
  auto sif = LoadEncoder(dir.Join("fitted"));
  ASSERT_TRUE(sif.ok()) << sif.status();
  EXPECT_EQ((*sif)->kind(), "sif");
  EXPECT_EQ((*sif)->dims(), 25);
  // Weights: a / (a + count / total) over the corpus' 23 tokens ("zzqx" counts too).
  auto w = MappedArray::Open(dir.Join("fitted/weights.f32"), ArrayDType::kFloat32);
  ASSERT_TRUE(w.ok());
  auto words = *ReadFileToString(dir.Join("fitted/words.txt"));
  size_t the = 0;
  EXPECT_EQ(words.substr(0, 4), "the\n") << "GloVe order kept";
  EXPECT_NEAR(w->floats()[the], 1e-3 / (1e-3 + 3.0 / 23.0), 1e-7);
  auto u = MappedArray::Open(dir.Join("fitted/component.f32"), ArrayDType::kFloat32);
  ASSERT_TRUE(u.ok());
  double un = 0;
  for (int k = 0; k < 25; ++k) un += double{u->floats()[k]} * u->floats()[k];
  EXPECT_NEAR(un, 1.0, 1e-5);

  ASSERT_TRUE(
      (*sif)
          ->Encode({"ships in space", "music at school", "space travel", "qqqzzz xxyyq"}, &out)
          .ok());
  auto row = [&](int i) { return &out[static_cast<size_t>(i) * 25]; };
  auto dot = [&](const float* a, const float* b) {
    double s = 0;
    for (int k = 0; k < 25; ++k) s += double{a[k]} * b[k];
    return s;
  };
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(dot(row(i), row(i)), 1.0, 1e-5);
    EXPECT_NEAR(dot(row(i), u->floats()), 0.0, 1e-5) << "common component removed";
  }
  EXPECT_GT(dot(row(0), row(2)), dot(row(0), row(1))) << "space ~ space, not music";
  EXPECT_EQ(dot(row(3), row(3)), 0.0) << "no known word: zero row";
}

TEST(Sif, ImportRejectsRaggedText) {
  testing::TempDir dir;
  ASSERT_TRUE(WriteStringToFile(dir.Join("g.txt"), "a 1 2\nb 1 2 3\n").ok());
  EXPECT_THAT(SifEncoder::Import(dir.Join("g.txt"), dir.Join("out"), "x").message(),
              HasSubstr("g.txt: line 2: 3 numbers, earlier lines have 2"));
}

TEST(Sentences, SplitsAtSentenceEndsAndLineBreaksAndDropsCredits) {
  EXPECT_THAT(SplitSentences("Crime is timeless. By the year 2071, humanity has spread! Why? "
                             "Mr. Spiegel said \"no.\" Then he left.\n\n"
                             "(Source: ANN)\n[Written by MAL Rewrite]"),
              ::testing::ElementsAre("Crime is timeless.", "By the year 2071, humanity has spread!",
                                     "Why?", "Mr.", "Spiegel said \"no.\"", "Then he left."));
  // No break before a lower-case word (abbreviations, "e.g. this"), nor inside numbers.
  EXPECT_THAT(SplitSentences("It costs 3.5 yen, e.g. nothing... and more"),
              ::testing::ElementsAre("It costs 3.5 yen, e.g. nothing... and more"));
  EXPECT_TRUE(SplitSentences("  \n ").empty());
}

// A toy encoder: each text becomes the unit vector of its length's parity.
class ParityEncoder final : public SentenceEncoder {
 public:
  int dims() const override { return 2; }
  std::string kind() const override { return "parity"; }
  std::string Describe() const override { return "parity"; }
  absl::Status Encode(const std::vector<std::string>& texts,
                      std::vector<float>* out) const override {
    out->assign(texts.size() * 2, 0.0f);
    for (size_t i = 0; i < texts.size(); ++i) (*out)[i * 2 + texts[i].size() % 2] = 1.0f;
    return absl::OkStatus();
  }
};

TEST(Sentences, EncodeBySentenceIsTheNormalisedMeanOfTheSentences) {
  ParityEncoder enc;
  std::vector<float> out;
  // Sentences of odd length only -> (0, 1); none -> zeros; one odd and one even -> both.
  ASSERT_TRUE(EncodeBySentence(enc, {"Ab. Cdef.", "Ab. Cd. Efgh. Ij.", "", "Abc. De."}, &out).ok());
  ASSERT_EQ(out.size(), 8u);
  EXPECT_FLOAT_EQ(out[0], 0.0f);
  EXPECT_FLOAT_EQ(out[1], 1.0f);
  EXPECT_FLOAT_EQ(out[2], 0.0f);
  EXPECT_FLOAT_EQ(out[3], 1.0f);
  EXPECT_FLOAT_EQ(out[4], 0.0f);  // no sentence: zeros
  EXPECT_FLOAT_EQ(out[5], 0.0f);
  EXPECT_FLOAT_EQ(out[6], std::sqrt(0.5f));  // "Abc." even, "De." odd
  EXPECT_FLOAT_EQ(out[7], std::sqrt(0.5f));
}

}  // namespace
}  // namespace simsearch::text
