#include "models/text/encoder.h"

#include <cmath>
#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "models/text/bert.h"
#include "models/text/sif.h"
#include "models/text/use_lite.h"

namespace simsearch::text {

absl::StatusOr<std::unique_ptr<SentenceEncoder>> LoadEncoder(const std::string& dir, int threads) {
  namespace fs = std::filesystem;
  if (fs::exists(fs::path(dir) / "sif.json")) {
    auto e = SifEncoder::Load(dir);
    if (!e.ok()) return e.status();
    return std::unique_ptr<SentenceEncoder>(std::move(*e));
  }
  if (fs::exists(fs::path(dir) / "model.json") && fs::exists(fs::path(dir) / "vocab.json")) {
    auto e = UseLiteEncoder::Load(dir, threads);
    if (!e.ok()) return e.status();
    return std::unique_ptr<SentenceEncoder>(std::move(*e));
  }
  if (fs::exists(fs::path(dir) / "config.json") || fs::exists(fs::path(dir) / "modules.json")) {
    auto e = BertEncoder::Load(dir, threads);
    if (!e.ok()) return e.status();
    return std::unique_ptr<SentenceEncoder>(std::move(*e));
  }
  return absl::NotFoundError(absl::StrCat(
      dir,
      ": not an encoder directory (expected a sentence-transformers folder with "
      "config.json, vocab.txt and model.safetensors; the TensorFlow.js Universal Sentence "
      "Encoder Lite, model.json and vocab.json; or sif.json from simsearch-embed)"));
}

std::vector<std::string> SplitSentences(const std::string& text) {
  std::vector<std::string> out;
  auto emit = [&](size_t begin, size_t end) {
    const absl::string_view piece =
        absl::StripAsciiWhitespace(absl::string_view(text).substr(begin, end - begin));
    if (piece.empty() || absl::StartsWith(piece, "[Written by") ||
        absl::StartsWithIgnoreCase(piece, "(Source:")) {
      return;
    }
    out.emplace_back(piece);
  };
  size_t begin = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n' || c == '\r') {
      emit(begin, i);
      begin = i + 1;
      continue;
    }
    if (c != '.' && c != '!' && c != '?') continue;
    size_t j = i + 1;
    while (j < text.size() &&
           (text[j] == '"' || text[j] == '\'' || text[j] == ')' || text[j] == ']'))
      ++j;
    if (j >= text.size() || (text[j] != ' ' && text[j] != '\t')) continue;
    size_t k = j;
    while (k < text.size() && (text[k] == ' ' || text[k] == '\t')) ++k;
    if (k < text.size() && absl::ascii_islower(static_cast<unsigned char>(text[k]))) continue;
    emit(begin, j);
    begin = j;
    i = j - 1;
  }
  emit(begin, text.size());
  return out;
}

absl::Status EncodeBySentence(const SentenceEncoder& encoder, const std::vector<std::string>& texts,
                              std::vector<float>* out) {
  const size_t d = static_cast<size_t>(encoder.dims());
  std::vector<std::string> sentences;
  std::vector<size_t> owner;
  for (size_t i = 0; i < texts.size(); ++i) {
    for (std::string& s : SplitSentences(texts[i])) {
      sentences.push_back(std::move(s));
      owner.push_back(i);
    }
  }
  std::vector<float> v;
  if (auto s = encoder.Encode(sentences, &v); !s.ok()) return s;
  out->assign(texts.size() * d, 0.0f);
  for (size_t j = 0; j < sentences.size(); ++j) {
    float* row = out->data() + owner[j] * d;
    for (size_t k = 0; k < d; ++k) row[k] += v[j * d + k];
  }
  for (size_t i = 0; i < texts.size(); ++i) {
    float* row = out->data() + i * d;
    double norm = 0;
    for (size_t k = 0; k < d; ++k) norm += static_cast<double>(row[k]) * row[k];
    if (norm == 0) continue;
    const float inv = static_cast<float>(1.0 / std::sqrt(norm));
    for (size_t k = 0; k < d; ++k) row[k] *= inv;
  }
  return absl::OkStatus();
}

}  // namespace simsearch::text
