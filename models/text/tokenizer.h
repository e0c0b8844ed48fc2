// The BERT tokenizer (Devlin et al. 2019), as in Hugging Face's BertTokenizer: text
// cleaning, CJK character splitting, lower-casing and accent stripping, punctuation
// splitting, then greedy longest-match-first WordPiece over vocab.txt.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace simsearch::text {

struct BasicTokenizerOptions {
  bool lower_case = true;     // also strips accents (NFD, drop non-spacing marks)
  bool strip_accents = true;  // only with lower_case, as in BertTokenizer's default
};

// Whitespace and punctuation splitting with the options above; CJK characters become
// tokens of their own. Used by the WordPiece tokenizer and by static word encoders.
std::vector<std::string> BasicTokenize(absl::string_view text, const BasicTokenizerOptions& o);

class WordPieceTokenizer {
 public:
  // vocab.txt: one token per line, the line number is its id. Needs [UNK], [CLS], [SEP]
  // and [PAD].
  static absl::StatusOr<WordPieceTokenizer> Load(const std::string& vocab_path,
                                                 BasicTokenizerOptions options);

  // Token ids of `text`: [CLS] pieces [SEP], the pieces truncated so the whole fits in
  // `max_length` (>= 2).
  std::vector<int32_t> Encode(absl::string_view text, size_t max_length) const;
  // The WordPiece tokens of `text` (no special tokens, no truncation).
  std::vector<std::string> Tokenize(absl::string_view text) const;

  int32_t pad_id() const { return pad_; }
  int32_t unk_id() const { return unk_; }
  size_t vocab_size() const { return tokens_.size(); }
  const std::string& token(int32_t id) const { return tokens_[static_cast<size_t>(id)]; }

 private:
  void WordPiece(const std::string& word, std::vector<std::string>* out) const;

  BasicTokenizerOptions options_;
  std::vector<std::string> tokens_;
  absl::flat_hash_map<std::string, int32_t> ids_;
  int32_t unk_ = 0, cls_ = 0, sep_ = 0, pad_ = 0;
};

}  // namespace simsearch::text
