#include "retrieval/lexical.h"

#include <utf8proc.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/unicode.h"

namespace simsearch {
namespace {

// English stop words: articles, pronouns, auxiliaries, prepositions, conjunctions and
// the like, which match everywhere and carry no topic.
const absl::flat_hash_set<std::string>& StopWords() {
  static const auto* words = new absl::flat_hash_set<std::string>{
      "a",       "about",    "after",      "again",   "against", "all",     "also",    "am",
      "an",      "and",      "any",        "are",     "as",      "at",      "be",      "because",
      "been",    "before",   "being",      "between", "both",    "but",     "by",      "can",
      "could",   "did",      "do",         "does",    "doing",   "down",    "during",  "each",
      "even",    "ever",     "few",        "for",     "from",    "further", "had",     "has",
      "have",    "having",   "he",         "her",     "here",    "hers",    "herself", "him",
      "himself", "his",      "how",        "i",       "if",      "in",      "into",    "is",
      "it",      "its",      "itself",     "just",    "me",      "more",    "most",    "my",
      "myself",  "no",       "nor",        "not",     "now",     "of",      "off",     "on",
      "once",    "one",      "only",       "or",      "other",   "our",     "ours",    "ourselves",
      "out",     "over",     "own",        "same",    "she",     "should",  "so",      "some",
      "such",    "than",     "that",       "the",     "their",   "theirs",  "them",    "themselves",
      "then",    "there",    "these",      "they",    "this",    "those",   "through", "to",
      "too",     "under",    "until",      "up",      "upon",    "very",    "was",     "we",
      "were",    "what",     "when",       "where",   "which",   "while",   "who",     "whom",
      "whose",   "why",      "will",       "with",    "within",  "would",   "you",     "your",
      "yours",   "yourself", "yourselves", "s",       "t",       "don",     "doesn",   "didn",
      "isn",     "wasn",     "aren",       "won",     "ll",      "re",      "ve",      "d",
      "m"};
  return *words;
}

// Harman's S-stemmer (1991): ies -> y, es -> e, s -> (nothing), with its exceptions.
std::string Stem(std::string w) {
  auto ends = [&](absl::string_view suffix) {
    return w.size() > suffix.size() &&
           absl::string_view(w).substr(w.size() - suffix.size()) == suffix;
  };
  if (w.size() <= 3) return w;
  if (ends("ies") && !ends("eies") && !ends("aies")) {
    w.resize(w.size() - 3);
    w += "y";
  } else if (ends("es") && !ends("aes") && !ends("ees") && !ends("oes")) {
    w.resize(w.size() - 1);
  } else if (ends("s") && !ends("us") && !ends("ss")) {
    w.resize(w.size() - 1);
  }
  return w;
}

bool IsCjk(utf8proc_int32_t c) {
  return (c >= 0x3040 && c <= 0x30FF) ||  // Hiragana, Katakana
         (c >= 0x3400 && c <= 0x4DBF) ||  // CJK extension A
         (c >= 0x4E00 && c <= 0x9FFF) ||  // CJK unified ideographs
         (c >= 0xAC00 && c <= 0xD7AF) ||  // Hangul syllables
         (c >= 0xF900 && c <= 0xFAFF) ||  // CJK compatibility ideographs
         (c >= 0x20000 && c <= 0x2FFFF);  // CJK extensions B..
}

bool IsWordChar(utf8proc_int32_t c) {
  const utf8proc_category_t cat = utf8proc_category(c);
  return cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL ||
         cat == UTF8PROC_CATEGORY_LT || cat == UTF8PROC_CATEGORY_LM ||
         cat == UTF8PROC_CATEGORY_LO || cat == UTF8PROC_CATEGORY_ND ||
         cat == UTF8PROC_CATEGORY_NL || cat == UTF8PROC_CATEGORY_NO;
}

std::string Encode(utf8proc_int32_t c) {
  utf8proc_uint8_t buf[4];
  const utf8proc_ssize_t n = utf8proc_encode_char(c, buf);
  return std::string(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
}

}  // namespace

std::vector<std::string> LexicalTokens(absl::string_view text) {
  const std::string folded = FoldCaseAndAccents(text);
  std::vector<std::string> out;
  std::string word;
  std::vector<utf8proc_int32_t> cjk;
  auto flush_word = [&] {
    if (!word.empty()) {
      if (!StopWords().contains(word)) out.push_back(Stem(std::move(word)));
      word.clear();
    }
  };
  auto flush_cjk = [&] {
    if (cjk.size() == 1) out.push_back(Encode(cjk[0]));
    for (size_t i = 0; i + 1 < cjk.size(); ++i) out.push_back(Encode(cjk[i]) + Encode(cjk[i + 1]));
    cjk.clear();
  };
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(folded.data());
  utf8proc_ssize_t left = static_cast<utf8proc_ssize_t>(folded.size());
  while (left > 0) {
    utf8proc_int32_t c;
    utf8proc_ssize_t n = utf8proc_iterate(p, left, &c);
    if (n <= 0) {  // invalid byte: a separator
      n = 1;
      c = ' ';
    }
    p += n;
    left -= n;
    if (IsCjk(c)) {
      flush_word();
      cjk.push_back(c);
    } else if (IsWordChar(c)) {
      flush_cjk();
      word += Encode(c);
    } else {
      flush_word();
      flush_cjk();
    }
  }
  flush_word();
  flush_cjk();
  return out;
}

namespace {

// BM25's average row length, in tokens.
double MeanLength(const float* lengths, uint64_t n) {
  double total = 0;
  for (uint64_t r = 0; r < n; ++r) total += lengths[r];
  return n > 0 ? total / static_cast<double>(n) : 0;
}

// The error of a damaged index in `dir`.
absl::Status Damaged(absl::string_view dir, absl::string_view what) {
  return absl::DataLossError(absl::StrCat(dir, ": lexical index: ", what, "; rebuild the bundle"));
}

}  // namespace

absl::Status WriteLexicalIndex(const std::vector<std::string>& texts, const std::string& dir,
                               double* average_length) {
  // term -> (row, tf) in row order
  std::map<std::string, std::vector<std::pair<uint32_t, float>>> postings;
  std::vector<float> lengths(texts.size());
  for (size_t row = 0; row < texts.size(); ++row) {
    absl::flat_hash_map<std::string, int> tf;
    const std::vector<std::string> tokens = LexicalTokens(texts[row]);
    for (const std::string& t : tokens) ++tf[t];
    lengths[row] = static_cast<float>(tokens.size());
    for (auto& [term, n] : tf)
      postings[term].emplace_back(static_cast<uint32_t>(row), static_cast<float>(n));
  }
  std::vector<uint8_t> bytes;
  std::vector<int64_t> term_offsets = {0}, posting_offsets = {0};
  std::vector<uint32_t> rows;
  std::vector<float> tfs;
  for (auto& [term, list] : postings) {
    bytes.insert(bytes.end(), term.begin(), term.end());
    term_offsets.push_back(static_cast<int64_t>(bytes.size()));
    std::sort(list.begin(), list.end());
    for (const auto& [row, tf] : list) {
      rows.push_back(row);
      tfs.push_back(tf);
    }
    posting_offsets.push_back(static_cast<int64_t>(rows.size()));
  }
  auto path = [&](const char* f) { return absl::StrCat(dir, "/", f); };
  if (auto st = WriteUInt8ArrayFile(path(kLexicalTermsFile), bytes.data(), bytes.size()); !st.ok())
    return st;
  if (auto st = WriteInt64ArrayFile(path(kLexicalTermOffsetsFile), term_offsets.data(),
                                    term_offsets.size());
      !st.ok()) {
    return st;
  }
  if (auto st = WriteInt64ArrayFile(path(kLexicalPostingsFile), posting_offsets.data(),
                                    posting_offsets.size());
      !st.ok()) {
    return st;
  }
  if (auto st = WriteUInt32ArrayFile(path(kLexicalRowsFile), rows.data(), rows.size()); !st.ok())
    return st;
  if (auto st = WriteFloatArrayFile(path(kLexicalTfFile), tfs.data(), tfs.size(), 1, 0); !st.ok())
    return st;
  if (average_length != nullptr) *average_length = MeanLength(lengths.data(), lengths.size());
  return WriteFloatArrayFile(path(kLexicalLengthsFile), lengths.data(), lengths.size(), 1, 0);
}

absl::StatusOr<LexicalIndex> LexicalIndex::Open(const std::string& dir, uint64_t n_rows,
                                                std::optional<double> average_length) {
  LexicalIndex x;
  auto path = [&](const char* f) { return absl::StrCat(dir, "/", f); };
  auto open = [&](const char* f, ArrayDType t, MappedArray* out) -> absl::Status {
    auto a = MappedArray::Open(path(f), t);
    if (!a.ok()) return a.status();
    *out = *std::move(a);
    return absl::OkStatus();
  };
  for (auto [f, t, out] : {std::tuple{kLexicalTermsFile, ArrayDType::kUInt8, &x.terms_},
                           {kLexicalTermOffsetsFile, ArrayDType::kInt64, &x.term_offsets_},
                           {kLexicalPostingsFile, ArrayDType::kInt64, &x.postings_},
                           {kLexicalRowsFile, ArrayDType::kUInt32, &x.rows_},
                           {kLexicalTfFile, ArrayDType::kFloat32, &x.tf_},
                           {kLexicalLengthsFile, ArrayDType::kFloat32, &x.lengths_}}) {
    if (auto st = open(f, t, out); !st.ok()) return st;
  }
  x.dir_ = dir;
  auto bad = [&](absl::string_view what) { return Damaged(dir, what); };
  const uint64_t t = x.term_offsets_.count();
  if (t == 0 || x.postings_.count() != t || x.lengths_.count() != n_rows ||
      x.rows_.count() != x.tf_.count()) {
    return bad("file sizes do not agree");
  }
  const int64_t* to = x.term_offsets_.int64s();
  const int64_t* po = x.postings_.int64s();
  if (to[0] != 0 || po[0] != 0 || static_cast<uint64_t>(to[t - 1]) != x.terms_.count() ||
      static_cast<uint64_t>(po[t - 1]) != x.rows_.count()) {
    return bad("offsets do not span their arrays");
  }
  x.avg_len_ = average_length ? *average_length : MeanLength(x.lengths_.floats(), n_rows);
  return x;
}

absl::Status LexicalIndex::Verify() const {
  auto bad = [&](absl::string_view what) { return Damaged(dir_, what); };
  const uint64_t t = term_offsets_.count();
  const int64_t* to = term_offsets_.int64s();
  const int64_t* po = postings_.int64s();
  for (uint64_t i = 1; i < t; ++i) {
    if (to[i] < to[i - 1] || po[i] <= po[i - 1]) return bad("offsets are not ascending");
  }
  const uint32_t* rows = rows_.uint32s();
  const uint64_t n_rows = lengths_.count();
  for (uint64_t i = 0; i < rows_.count(); ++i) {
    if (rows[i] >= n_rows) return bad(absl::StrCat("posting row ", rows[i], " is out of range"));
  }
  return absl::OkStatus();
}

std::pair<uint64_t, uint64_t> LexicalIndex::Find(absl::string_view term) const {
  const int64_t* to = term_offsets_.int64s();
  const int64_t* po = postings_.int64s();
  const char* bytes = reinterpret_cast<const char*>(terms_.uint8s());
  const int64_t n_bytes = static_cast<int64_t>(terms_.count());
  // Term `i`'s bytes, or an empty view if its offsets are damaged (only possible when
  // Verify did not run): the search then goes astray but stays in bounds.
  auto term_at = [&](uint64_t i) {
    if (to[i] < 0 || to[i] > to[i + 1] || to[i + 1] > n_bytes) return absl::string_view();
    return absl::string_view(bytes + to[i], static_cast<size_t>(to[i + 1] - to[i]));
  };
  uint64_t lo = 0, hi = terms();
  while (lo < hi) {
    const uint64_t mid = (lo + hi) / 2;
    if (term_at(mid) < term) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo < terms() && term_at(lo) == term && 0 <= po[lo] && po[lo] <= po[lo + 1] &&
      static_cast<uint64_t>(po[lo + 1]) <= rows_.count()) {
    return {static_cast<uint64_t>(po[lo]), static_cast<uint64_t>(po[lo + 1])};
  }
  return {0, 0};
}

std::vector<LexicalHit> LexicalIndex::Search(absl::string_view query, size_t k,
                                             const std::function<bool(uint32_t)>& allowed) const {
  return SearchTerms(LexicalTokens(query), k, allowed);
}

std::vector<LexicalHit> LexicalIndex::SearchTerms(
    std::vector<std::string> terms, size_t k, const std::function<bool(uint32_t)>& allowed) const {
  constexpr double k1 = 1.2, b = 0.75;
  const double n = static_cast<double>(lengths_.count());
  std::sort(terms.begin(), terms.end());
  // A repeated query word weighs once per repetition, as in BM25's query-term sum.
  absl::flat_hash_map<uint32_t, double> score;
  const float* len = lengths_.floats();
  for (const std::string& term : terms) {
    const auto [begin, end] = Find(term);
    if (begin == end) continue;
    const double df = static_cast<double>(end - begin);
    const double idf = std::log(1 + (n - df + 0.5) / (df + 0.5));
    for (uint64_t p = begin; p < end; ++p) {
      const uint32_t row = rows_.uint32s()[p];
      if (row >= lengths_.count()) continue;  // damaged, and Verify did not run
      const double tf = tf_.floats()[p];
      score[row] +=
          idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len[row] / std::max(avg_len_, 1e-9)));
    }
  }
  std::vector<LexicalHit> hits;
  hits.reserve(score.size());
  for (const auto& [row, s] : score) {
    if (allowed == nullptr || allowed(row)) hits.push_back({row, static_cast<float>(s)});
  }
  auto better = [](const LexicalHit& x, const LexicalHit& y) {
    return x.score > y.score || (x.score == y.score && x.row < y.row);
  };
  if (hits.size() > k) {
    std::partial_sort(hits.begin(), hits.begin() + static_cast<long>(k), hits.end(), better);
    hits.resize(k);
  } else {
    std::sort(hits.begin(), hits.end(), better);
  }
  return hits;
}

}  // namespace simsearch
