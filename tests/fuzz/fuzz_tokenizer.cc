// The BERT tokenizer (basic + WordPiece, lower-casing and accent stripping over
// utf8proc) on arbitrary bytes, invalid UTF-8 included: ids within the vocabulary,
// [CLS] first and [SEP] last, the length limit kept; and the lexical analyzer
// (retrieval/lexical.h): no empty token, no separator inside one.
#include <cstdlib>

#include "models/text/tokenizer.h"
#include "retrieval/lexical.h"

#ifndef SIMSEARCH_TEST_DATA
#error "SIMSEARCH_TEST_DATA must name tests/data"
#endif

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace simsearch::text;
  static const WordPieceTokenizer* tok = [] {
    auto t =
        WordPieceTokenizer::Load(std::string(SIMSEARCH_TEST_DATA) + "/tiny_bert/f32/vocab.txt", {});
    if (!t.ok()) std::abort();
    return new WordPieceTokenizer(*std::move(t));
  }();
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  const size_t max_length = 2 + (size % 64);
  const std::vector<int32_t> ids = tok->Encode(text, max_length);
  if (ids.size() < 2 || ids.size() > max_length) std::abort();
  for (int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= tok->vocab_size()) std::abort();
  }
  BasicTokenizerOptions cased;
  cased.lower_case = false;
  (void)BasicTokenize(text, cased);
  for (const std::string& t : simsearch::LexicalTokens(text)) {
    if (t.empty() || t.find_first_of(" \t\n") != std::string::npos) std::abort();
  }
  return 0;
}
