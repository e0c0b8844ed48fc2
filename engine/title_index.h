// Title lookup: from what a person types ("cowboy bebop", "pokemon", "Kimi no na wa")
// to items, best matches first. Case, accents, punctuation and full-width forms are
// ignored; original and English titles are both searched.
//
// The index is built by the indexer and mapped by the engine (docs/FORMAT.md, "Title
// index"): every title's normalised text and character trigrams, with postings from
// each trigram to the titles holding it. A lookup counts shared trigrams through the
// postings of the query's trigrams and scores only the titles that can reach the
// minimum score (the argument is in Lookup): the answers are those of scoring every
// title.
//
//   title_text.u8             normalised titles, concatenated
//   title_text_offsets.i64    E+1 offsets into title_text.u8
//   title_entries.u32         E x 3: row (ascending), 1 for an English title, and the
//                             title's distinct trigrams
//   title_trigrams.u32        T distinct trigrams, ascending
//   title_trigram_offsets.i64 T+1 offsets into title_trigram_entries.u32
//   title_trigram_entries.u32 per trigram, the entries holding it, ascending
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/array_file.h"
#include "core/item_store.h"

namespace simsearch {

struct TitleMatch {
  uint32_t row = 0;
  float score = 0;       // (0, 1]; 1 is an exact match of the normalised title
  bool english = false;  // matched the English title rather than the original
};

class TitleIndex {
 public:
  // Builds the index in memory over the store's titles. `items` and `ids` (row order)
  // rank ties and must outlive the index.
  static TitleIndex Build(const ItemStore& items, const int64_t* ids);
  // Writes the six files into `dir`.
  absl::Status Write(const std::string& dir) const;
  // Maps the files Write wrote; DataLoss naming the file when they do not agree.
  static absl::StatusOr<TitleIndex> Open(const std::string& dir, const ItemStore& items,
                                         const int64_t* ids);

  TitleIndex(TitleIndex&&) = default;
  TitleIndex& operator=(TitleIndex&&) = default;

  // At most `top_k` matches, best first (score, then more members, then lower id).
  // Scores: 1 exact; 0.9-0.99 the title starts with the query's words; 0.7-0.89 every
  // query word is in the title; below 0.7 character-trigram similarity, so typos
  // still find the title. Matches under 0.25 are dropped.
  std::vector<TitleMatch> Lookup(absl::string_view query, size_t top_k) const;

  size_t entries() const { return entry_count_; }
  // Titles scored by the last Lookup on this thread (for tests and benchmarks).
  static size_t last_scored();

  // The form titles are compared in: folded case and accents, words of letters and
  // digits separated by single spaces.
  static std::string Normalize(absl::string_view s);

 private:
  TitleIndex() = default;
  absl::string_view Text(uint32_t entry) const;
  void Point();  // views into the owned vectors

  const ItemStore* items_ = nullptr;
  const int64_t* ids_ = nullptr;
  size_t entry_count_ = 0;
  absl::Span<const uint8_t> text_;
  absl::Span<const int64_t> text_offsets_;
  absl::Span<const uint32_t> entries_;  // 3 per entry
  absl::Span<const uint32_t> trigrams_;
  absl::Span<const int64_t> trigram_offsets_;
  absl::Span<const uint32_t> trigram_entries_;
  std::vector<uint8_t> own_text_;
  std::vector<int64_t> own_text_offsets_, own_trigram_offsets_;
  std::vector<uint32_t> own_entries_, own_trigrams_, own_trigram_entries_;
  MappedArray text_file_, text_offsets_file_, entries_file_, trigrams_file_, trigram_offsets_file_,
      trigram_entries_file_;
};

}  // namespace simsearch
