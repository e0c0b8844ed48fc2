// A lexical (BM25) index over item texts, stored in the bundle and searched in place.
//
// Analysis (`LexicalTokens`): case and accents folded (FoldCaseAndAccents), split on
// anything that is not a letter or digit; a run of CJK characters (Han, Hiragana,
// Katakana, Hangul) becomes its overlapping bigrams (a single character stays itself),
// since those scripts do not separate words; English stop words dropped; plurals
// reduced by Harman's S-stemmer ("ninjas" -> "ninja", "stories" -> "story").
//
// Scoring: Okapi BM25 (Robertson & Zaragoza 2009) with k1 = 1.2, b = 0.75 and
// idf = ln(1 + (N - df + 0.5) / (df + 0.5)).
//
// Files (array files, docs/FORMAT.md), T terms sorted by their bytes, N rows:
//   lexical_terms.u8            the terms' UTF-8 bytes, concatenated
//   lexical_term_offsets.i64    T+1 offsets into lexical_terms.u8
//   lexical_postings.i64        T+1 offsets into the two arrays below
//   lexical_rows.u32            per posting: the row (ascending within a term)
//   lexical_tf.f32              per posting: the term's frequency in that row's text
//   lexical_lengths.f32         N: each row's text length in tokens
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/array_file.h"
#include "core/bundle.h"

namespace simsearch {

// Its files (kLexical*File) are named in core/bundle.h, with every bundle file.

// The analysed tokens of `text`, in order (stop words removed).
std::vector<std::string> LexicalTokens(absl::string_view text);

// Builds the index of `texts` (one per row; an empty text is a row with no terms) and
// writes its files into `dir` (path of each file = dir + "/" + name). With
// `average_length`, also gives the mean row length in tokens, which BM25 needs and the
// manifest records, so that opening the index does not sum the lengths again.
absl::Status WriteLexicalIndex(const std::vector<std::string>& texts, const std::string& dir,
                               double* average_length = nullptr);

struct LexicalHit {
  uint32_t row;
  float score;
};

class LexicalIndex {
 public:
  // Maps the files written by WriteLexicalIndex for `rows` rows, with the checks that
  // cost O(1): the files' sizes agree and the offsets span their arrays (DataLoss
  // otherwise). `average_length` is the manifest's; without it (bundles older than
  // 2026-12-02) the lengths are summed here, O(rows). The rest of the structure is
  // Verify's; searching never reads out of bounds even when it was not run.
  static absl::StatusOr<LexicalIndex> Open(const std::string& dir, uint64_t rows,
                                           std::optional<double> average_length = std::nullopt);

  // Every structural check, O(terms + postings): offsets ascending, every posting's row
  // in range. DataLoss naming the first fault. The engine runs it with --verify
  // checksums, when it reads every byte anyway; with --verify sizes it does not, and a
  // damaged index answers from its undamaged entries (Find, SearchTerms).
  absl::Status Verify() const;

  // BM25 score of every row containing a query term, best first, at most `k`, rows
  // for which `allowed` is false skipped (nullptr: all). Ties: lower row first.
  std::vector<LexicalHit> Search(absl::string_view query, size_t k,
                                 const std::function<bool(uint32_t)>& allowed = nullptr) const;
  // The same for a query already analysed by LexicalTokens.
  std::vector<LexicalHit> SearchTerms(std::vector<std::string> terms, size_t k,
                                      const std::function<bool(uint32_t)>& allowed = nullptr) const;

  uint64_t terms() const { return term_offsets_.count() - 1; }
  double average_length() const { return avg_len_; }

 private:
  // Postings range of `term`, or {0, 0}; an entry whose offsets are out of order or out
  // of range counts as absent.
  std::pair<uint64_t, uint64_t> Find(absl::string_view term) const;
  MappedArray terms_, term_offsets_, postings_, rows_, tf_, lengths_;
  std::string dir_;  // for Verify's messages
  double avg_len_ = 0;
};

}  // namespace simsearch
