#include "models/text/encoder.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "models/text/bert.h"
#include "models/text/sif.h"

namespace simsearch::text {

absl::StatusOr<std::unique_ptr<SentenceEncoder>> LoadEncoder(const std::string& dir, int threads) {
  namespace fs = std::filesystem;
  if (fs::exists(fs::path(dir) / "sif.json")) {
    auto e = SifEncoder::Load(dir);
    if (!e.ok()) return e.status();
    return std::unique_ptr<SentenceEncoder>(std::move(*e));
  }
  if (fs::exists(fs::path(dir) / "config.json") || fs::exists(fs::path(dir) / "modules.json")) {
    auto e = BertEncoder::Load(dir, threads);
    if (!e.ok()) return e.status();
    return std::unique_ptr<SentenceEncoder>(std::move(*e));
  }
  return absl::NotFoundError(absl::StrCat(
      dir, ": not an encoder directory (expected a sentence-transformers folder with "
           "config.json, vocab.txt and model.safetensors, or sif.json from simsearch-embed)"));
}

}  // namespace simsearch::text
