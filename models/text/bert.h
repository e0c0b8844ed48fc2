// A BERT-family sentence encoder in Eigen, compatible with sentence-transformers folders
// (all-MiniLM-L6-v2 and friends): WordPiece tokenizer, transformer encoder (post-layer-
// norm, GELU), pooling (mean, CLS or max over real tokens) and optional L2
// normalisation, batched with attention masks.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/text/encoder.h"
#include "models/text/tokenizer.h"

namespace simsearch::text {

struct BertConfig {
  int vocab_size = 0;
  int hidden = 0;
  int layers = 0;
  int heads = 0;
  int intermediate = 0;
  int max_position = 512;
  int type_vocab = 2;
  float layer_norm_eps = 1e-12f;
};

enum class Pooling { kMean, kCls, kMax };

// One sequence's vector from its `count` token vectors (row-major count x hidden, count
// >= 1), unit length when `normalize`, written to out[0, hidden). The same bits whatever
// the alignment of `out`.
void PoolTokens(const float* tokens, int64_t count, int64_t hidden, Pooling pooling, bool normalize,
                float* out);

class BertEncoder final : public SentenceEncoder {
 public:
  // Reads config.json, vocab.txt, model.safetensors (F32, F16 or BF16), and when present
  // modules.json, sentence_bert_config.json (max_seq_length), tokenizer_config.json
  // (do_lower_case) and the pooling module's config.json.
  static absl::StatusOr<std::unique_ptr<BertEncoder>> Load(const std::string& dir, int threads);

  // A model with random N(0, 0.02) weights of the given shape, for benchmarks.
  static std::unique_ptr<BertEncoder> Random(const BertConfig& config, uint64_t seed, int threads,
                                             size_t max_seq_length);

  ~BertEncoder() override;
  int dims() const override { return config_.hidden; }
  std::string kind() const override { return "bert"; }
  std::string Describe() const override;
  absl::Status Encode(const std::vector<std::string>& texts,
                      std::vector<float>* out) const override;

  // Encodes token ids directly (each sequence already framed by [CLS] ... [SEP]).
  void EncodeIds(const std::vector<std::vector<int32_t>>& ids, std::vector<float>* out) const;

  const WordPieceTokenizer* tokenizer() const { return tokenizer_.get(); }
  size_t max_seq_length() const { return max_seq_length_; }

 private:
  struct Weights;
  BertEncoder();
  // One padded batch: out receives ids.size() x hidden.
  void Forward(const std::vector<std::vector<int32_t>>& ids, float* out) const;

  BertConfig config_;
  std::unique_ptr<Weights> w_;
  std::unique_ptr<WordPieceTokenizer> tokenizer_;
  size_t max_seq_length_ = 256;
  Pooling pooling_ = Pooling::kMean;
  bool normalize_ = true;
  int threads_ = 1;
  size_t batch_size_ = 32;
  std::string source_;
};

}  // namespace simsearch::text
