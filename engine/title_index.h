// Title lookup: from what a person types ("cowboy bebop", "pokemon", "Kimi no na wa")
// to items, best matches first. Case, accents, punctuation and full-width forms are
// ignored; original and English titles are both searched.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/catalog.h"

namespace simsearch {

struct TitleMatch {
  uint32_t row = 0;
  float score = 0;          // (0, 1]; 1 is an exact match of the normalised title
  bool english = false;     // matched the English title rather than the original
};

class TitleIndex {
 public:
  // items[row] are the collection's items in row order.
  explicit TitleIndex(const std::vector<Item>& items);

  // At most `limit` matches, best first (score, then more members, then lower id).
  // Scores: 1 exact; 0.9-0.99 the title starts with the query's words; 0.7-0.89 every
  // query word is in the title; below 0.7 character-trigram similarity, so typos
  // still find the title. Matches under 0.25 are dropped.
  std::vector<TitleMatch> Lookup(absl::string_view query, size_t limit) const;

  // The form titles are compared in: folded case and accents, words of letters and
  // digits separated by single spaces.
  static std::string Normalize(absl::string_view s);

 private:
  struct Entry {
    uint32_t row;
    bool english;
    std::string text;                 // normalised title
    std::vector<std::string> words;
    std::vector<uint32_t> trigrams;   // sorted, unique
  };
  float Score(const Entry& e, const std::string& q, const std::vector<std::string>& words,
              const std::vector<uint32_t>& trigrams) const;

  std::vector<Entry> entries_;
  std::vector<int64_t> members_;  // per row, for ranking ties
  std::vector<int64_t> ids_;
};

}  // namespace simsearch
