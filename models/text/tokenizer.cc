#include "models/text/tokenizer.h"

#include <utf8proc.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/file_util.h"
#include "core/unicode.h"

namespace simsearch::text {
namespace {

constexpr size_t kMaxCharsPerWord = 100;

bool IsWhitespace(int32_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
         utf8proc_category(c) == UTF8PROC_CATEGORY_ZS;
}

bool IsControl(int32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CN:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CS:
      return true;
    default:
      return false;
  }
}

bool IsPunctuation(int32_t c) {
  // BERT treats every non-alphanumeric printable ASCII character as punctuation, even
  // those Unicode calls symbols ($, +, ^, `, ...).
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
      (c >= 123 && c <= 126)) {
    return true;
  }
  const auto cat = utf8proc_category(c);
  return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
}

bool IsCjk(int32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

// Lower-cases, then (optionally) decomposes (NFD) and drops non-spacing marks.
std::vector<int32_t> Normalize(const std::vector<int32_t>& word, const BasicTokenizerOptions& o) {
  if (!o.lower_case) return word;
  std::vector<int32_t> out;
  for (int32_t c : word) {
    const int32_t lower = utf8proc_tolower(c);
    if (!o.strip_accents) {
      out.push_back(lower);
      continue;
    }
    utf8proc_int32_t buf[8];
    int last_class = 0;
    const utf8proc_ssize_t n =
        utf8proc_decompose_char(lower, buf, 8, UTF8PROC_DECOMPOSE, &last_class);
    if (n < 0 || n > 8) {
      out.push_back(lower);
      continue;
    }
    for (utf8proc_ssize_t k = 0; k < n; ++k) {
      if (utf8proc_category(buf[k]) != UTF8PROC_CATEGORY_MN) out.push_back(buf[k]);
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> BasicTokenize(absl::string_view text, const BasicTokenizerOptions& o) {
  // Clean: drop NUL, U+FFFD and control characters; whitespace becomes a separator. CJK
  // characters are separated from their neighbours.
  std::vector<std::vector<int32_t>> words(1);
  auto split = [&] {
    if (!words.back().empty()) words.emplace_back();
  };
  for (const char32_t ch : DecodeUtf8(text)) {
    const auto c = static_cast<int32_t>(ch);
    if (c == 0 || c == 0xFFFD || IsControl(c)) continue;
    if (IsWhitespace(c)) {
      split();
    } else if (IsCjk(c)) {
      split();
      words.back().push_back(c);
      split();
    } else {
      words.back().push_back(c);
    }
  }
  std::vector<std::string> out;
  for (const auto& w : words) {
    if (w.empty()) continue;
    // Punctuation splitting after normalisation: each punctuation character is a token.
    std::string cur;
    for (int32_t c : Normalize(w, o)) {
      if (IsPunctuation(c)) {
        if (!cur.empty()) out.push_back(std::move(cur));
        cur.clear();
        std::string p;
        AppendUtf8(static_cast<char32_t>(c), &p);
        out.push_back(std::move(p));
      } else {
        AppendUtf8(static_cast<char32_t>(c), &cur);
      }
    }
    if (!cur.empty()) out.push_back(std::move(cur));
  }
  return out;
}

absl::StatusOr<WordPieceTokenizer> WordPieceTokenizer::Load(const std::string& vocab_path,
                                                            BasicTokenizerOptions options) {
  auto text = ReadFileToString(vocab_path);
  if (!text.ok()) return text.status();
  WordPieceTokenizer t;
  t.options_ = options;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    absl::ConsumeSuffix(&line, "\r");
    t.tokens_.emplace_back(line);
  }
  // A final newline is not a token.
  if (!t.tokens_.empty() && t.tokens_.back().empty()) t.tokens_.pop_back();
  for (size_t i = 0; i < t.tokens_.size(); ++i) {
    t.ids_.try_emplace(t.tokens_[i], static_cast<int32_t>(i));
  }
  for (auto [name, slot] :
       {std::pair{"[UNK]", &t.unk_}, {"[CLS]", &t.cls_}, {"[SEP]", &t.sep_}, {"[PAD]", &t.pad_}}) {
    auto it = t.ids_.find(name);
    if (it == t.ids_.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(vocab_path, ": the vocabulary has no ", name, " token"));
    }
    *slot = it->second;
  }
  return t;
}

void WordPieceTokenizer::WordPiece(const std::string& word, std::vector<std::string>* out) const {
  const std::u32string chars = DecodeUtf8(word);
  if (chars.size() > kMaxCharsPerWord) {
    out->push_back("[UNK]");
    return;
  }
  // Byte offset of every character, so substrings stay whole characters.
  std::vector<size_t> at;
  size_t pos = 0;
  for (char32_t c : chars) {
    at.push_back(pos);
    std::string tmp;
    AppendUtf8(c, &tmp);
    pos += tmp.size();
  }
  at.push_back(word.size());
  std::vector<std::string> pieces;
  size_t start = 0;
  while (start < chars.size()) {
    size_t end = chars.size();
    std::string found;
    while (start < end) {
      std::string sub = word.substr(at[start], at[end] - at[start]);
      if (start > 0) sub = "##" + sub;
      if (ids_.contains(sub)) {
        found = std::move(sub);
        break;
      }
      --end;
    }
    if (found.empty()) {
      out->push_back("[UNK]");
      return;
    }
    pieces.push_back(std::move(found));
    start = end;
  }
  for (auto& p : pieces) out->push_back(std::move(p));
}

std::vector<std::string> WordPieceTokenizer::Tokenize(absl::string_view text) const {
  std::vector<std::string> out;
  for (const std::string& w : BasicTokenize(text, options_)) WordPiece(w, &out);
  return out;
}

std::vector<int32_t> WordPieceTokenizer::Encode(absl::string_view text, size_t max_length) const {
  std::vector<int32_t> ids = {cls_};
  const size_t room = max_length >= 2 ? max_length - 2 : 0;
  for (const std::string& piece : Tokenize(text)) {
    if (ids.size() - 1 >= room) break;
    auto it = ids_.find(piece);
    ids.push_back(it == ids_.end() ? unk_ : it->second);
  }
  ids.push_back(sep_);
  return ids;
}

}  // namespace simsearch::text
