// Sentence encoders: text in, one vector per text out. Implementations are immutable
// after loading, so one encoder may serve many threads.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace simsearch::text {

class SentenceEncoder {
 public:
  virtual ~SentenceEncoder() = default;
  virtual int dims() const = 0;
  // "bert", "use-lite" or "sif".
  virtual std::string kind() const = 0;
  // One line describing the model, recorded in bundle manifests.
  virtual std::string Describe() const = 0;
  // out: texts.size() x dims, row-major, each row L2-normalised. A text with nothing the
  // encoder knows (empty, or no word in a static vocabulary) gets a zero row; callers
  // decide whether that is an error.
  virtual absl::Status Encode(const std::vector<std::string>& texts,
                              std::vector<float>* out) const = 0;
};

// Loads the encoder in `dir`: a sentence-transformers BERT folder (config.json,
// vocab.txt, model.safetensors, modules.json, pooling config), the TensorFlow.js
// Universal Sentence Encoder Lite (model.json, its weight shards, vocab.json), or a
// static word-vector encoder written by simsearch-embed (sif.json). `threads` splits batches
// (encoding a single text always runs on the caller's thread).
absl::StatusOr<std::unique_ptr<SentenceEncoder>> LoadEncoder(const std::string& dir,
                                                             int threads = 1);

// The sentences of a document: breaks after . ! ? (and any closing quotes or brackets)
// before whitespace and a character that is not a lower-case letter, and at line breaks.
// Pieces are trimmed; empty ones and source credits ("[Written by ...]",
// "(Source: ...)") are dropped.
std::vector<std::string> SplitSentences(const std::string& text);

// Encodes each text as the normalised mean of its sentences' vectors (a text with no
// sentence the encoder knows gets a zero row). Sentence encoders trained on sentences
// (USE, most sentence-transformers) cut or blur long documents; this keeps every
// sentence's say.
absl::Status EncodeBySentence(const SentenceEncoder& encoder, const std::vector<std::string>& texts,
                              std::vector<float>* out);

}  // namespace simsearch::text
