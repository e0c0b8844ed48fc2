// Item metadata in a bundle, in a binary form the engine maps and reads in place: no
// parsing at open, no per-item work (docs/FORMAT.md, "Item metadata").
//
//   item_text.u8            each row's text fields, UTF-8, concatenated
//   item_text_offsets.i64   5N+1 offsets into item_text.u8: row r's title is
//                           [off[5r], off[5r+1]), then its English title, synopsis
//                           (empty when not kept), cover image URL and studios (", "
//                           between names). Bundles from before 2026-12-07's cover
//                           art hold 3N+1 (the first three fields).
//   item_attrs.i64          N x 9: members, episodes, type (0 unknown, t+1 is
//                           manifest item_store.types[t]), MAL age rating (0 unknown,
//                           1-6: g, pg, pg_13, r, r+, rx), nsfw (0 unknown, 1-3:
//                           white, gray, black), content level (ContentLevel),
//                           franchise (Item::franchise; 0 unknown), MAL score x 100
//                           (0 unknown), start date as YYYYMMDD (MM, DD 00 when
//                           unknown; 0 unknown). Bundles from before 2026-12-06 have
//                           the first 3 columns (their content level is derived from
//                           the genres at open), from before 2026-12-07 the first 6
//                           (franchise unknown) or 7 (score and date unknown).
//   item_genres.i64         N x W genre bitmaps (W = max(1, ceil(G/64))): bit g of word
//                           g/64 set when the row has manifest item_store.genres[g]
//
// The genre and type vocabularies (a few dozen names) live in the manifest, sorted,
// one spelling per case-insensitive name. items.jsonl stays beside these files for
// people and tools; the engine does not read it when these files are present.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/array_file.h"
#include "core/catalog.h"

namespace simsearch {

inline constexpr char kItemTextFile[] = "item_text.u8";
inline constexpr char kItemTextOffsetsFile[] = "item_text_offsets.i64";
inline constexpr char kItemAttrsFile[] = "item_attrs.i64";
inline constexpr char kItemGenresFile[] = "item_genres.i64";

// The title index's files (engine/title_index.h).
inline constexpr char kTitleTextFile[] = "title_text.u8";
inline constexpr char kTitleTextOffsetsFile[] = "title_text_offsets.i64";
inline constexpr char kTitleEntriesFile[] = "title_entries.u32";
inline constexpr char kTitleTrigramsFile[] = "title_trigrams.u32";
inline constexpr char kTitleTrigramOffsetsFile[] = "title_trigram_offsets.i64";
inline constexpr char kTitleTrigramEntriesFile[] = "title_trigram_entries.u32";

class ItemStore;

// A MAL age rating's order: 1-6 for g, pg, pg_13, r, r+, rx (case-insensitive); 0 for
// anything else.
int AgeRatingCode(absl::string_view rating);

// One row's metadata, read in place. Valid while its ItemStore lives (for the engine:
// while the Collection is held). A default-constructed view has no metadata.
class ItemView {
 public:
  ItemView() = default;
  ItemView(const ItemStore* store, uint32_t row) : store_(store), row_(row) {}
  explicit operator bool() const { return store_ != nullptr; }
  bool operator==(std::nullptr_t) const { return store_ == nullptr; }

  absl::string_view title() const;
  absl::string_view english_title() const;
  absl::string_view synopsis() const;
  absl::string_view type() const;  // empty when unknown
  int32_t episodes() const;
  int64_t members() const;
  absl::string_view image_url() const;  // empty when unknown
  std::vector<std::string> studios() const;
  double mal_score() const;              // MAL's mean score, 0 when unknown
  std::string start_date() const;        // "2023-09-29", "2023-09", "2023"; empty when unknown
  absl::string_view age_rating() const;  // "g" ... "rx"; empty when unknown
  absl::string_view nsfw() const;        // "white", "gray", "black"; empty when unknown
  ContentLevel content() const;
  // The franchise (Item::franchise); `id`, the row's own id, when the bundle does not say.
  int64_t franchise(int64_t id) const;
  // The genre names, in the vocabulary's (sorted) order.
  std::vector<absl::string_view> genres() const;
  // The same without building a list: f(absl::string_view) per genre.
  template <typename F>
  void ForEachGenre(F&& f) const;
  // An owned copy, e.g. for a response that outlives the collection.
  Item ToItem(int64_t id, bool with_synopsis = true) const;

 private:
  const ItemStore* store_ = nullptr;
  uint32_t row_ = 0;
};

class ItemStore {
 public:
  // Builds the store in memory from items in row order (the indexer, and bundles from
  // before the binary form, whose items.jsonl is parsed instead).
  static ItemStore Build(const std::vector<const Item*>& items, bool with_synopses);
  // Writes the four files into `dir`; the vocabularies go into the manifest.
  absl::Status Write(const std::string& dir) const;
  // Maps the files written by Write for `rows` rows with these vocabularies; DataLoss
  // naming the file when one does not match.
  static absl::StatusOr<ItemStore> Open(const std::string& dir, uint64_t rows,
                                        std::vector<std::string> genres,
                                        std::vector<std::string> types);

  ItemStore(ItemStore&&) = default;
  ItemStore& operator=(ItemStore&&) = default;

  uint64_t size() const { return rows_; }
  ItemView view(uint32_t row) const { return ItemView(this, row); }
  // Vocabularies, sorted; case-insensitive lookups.
  const std::vector<std::string>& genres() const { return genre_names_; }
  const std::vector<std::string>& types() const { return type_names_; }
  std::optional<uint32_t> GenreBit(absl::string_view name) const;   // index into genres()
  std::optional<uint16_t> TypeIndex(absl::string_view name) const;  // 1 + index into types()

  size_t genre_words() const { return genre_words_; }
  const uint64_t* genre_bits(uint32_t row) const {
    return genre_bits_.data() + uint64_t{row} * genre_words_;
  }
  static constexpr size_t kAttrs = 9;       // item_attrs.i64's columns
  static constexpr size_t kTextFields = 5;  // text fields per row
  // The start date as YYYYMMDD (MM and DD 00 when unknown), 0 when unknown: what
  // browsing filters and sorts on.
  int64_t start_code(uint32_t row) const { return attr(row, 8); }
  int64_t score_code(uint32_t row) const { return attr(row, 7); }  // score x 100
  int64_t members(uint32_t row) const { return attr(row, 0); }
  // The MAL age rating's code: 0 unknown, 1-6 g, pg, pg_13, r, r+, rx (AgeRatingCode).
  int64_t age_code(uint32_t row) const { return attr(row, 3); }
  // What the bundle's layout records at all: start dates and scores (not before cover
  // art), age ratings (not before age ratings). Filters on what is not recorded would
  // drop every item, so they are refused instead.
  bool has_dates() const { return source_attrs_ >= 9; }
  bool has_age_ratings() const { return source_attrs_ >= 6; }
  uint16_t type_index(uint32_t row) const { return static_cast<uint16_t>(attr(row, 2)); }
  // Item::franchise, 0 when unknown.
  int64_t franchise(uint32_t row) const { return attr(row, 6); }
  // A damaged or hostile value reads as the most explicit level (filters fail closed).
  ContentLevel content(uint32_t row) const {
    const int64_t level = attr(row, 5);
    return level >= 0 && level <= 2 ? static_cast<ContentLevel>(level) : ContentLevel::kAdult;
  }

 private:
  friend class ItemView;
  ItemStore() = default;
  absl::Status Index();  // vocabulary maps and checks shared by Build and Open
  absl::string_view Text(uint32_t row, size_t field) const;  // field < text_fields_
  int64_t attr(uint32_t row, size_t column) const {
    return attrs_[uint64_t{row} * kAttrs + column];
  }

  uint64_t rows_ = 0;
  std::vector<std::string> genre_names_, type_names_;
  absl::flat_hash_map<std::string, uint32_t> genre_bit_;   // lower-case name -> bit
  absl::flat_hash_map<std::string, uint16_t> type_index_;  // lower-case name -> 1..
  size_t genre_words_ = 1;
  size_t text_fields_ = kTextFields;  // 3 in bundles from before cover art
  size_t source_attrs_ = kAttrs;      // item_attrs.i64's columns in the bundle (3, 6, 7, 9)
  // Views of the data: into the mapped files, or into the owned vectors below.
  absl::Span<const uint8_t> text_;
  absl::Span<const int64_t> offsets_;
  absl::Span<const int64_t> attrs_;
  absl::Span<const uint64_t> genre_bits_;
  std::vector<uint8_t> own_text_;
  std::vector<int64_t> own_offsets_, own_attrs_;
  std::vector<uint64_t> own_genres_;
  MappedArray text_file_, offsets_file_, attrs_file_, genres_file_;
};

template <typename F>
void ItemView::ForEachGenre(F&& f) const {
  const uint64_t* bits = store_->genre_bits(row_);
  const std::vector<std::string>& names = store_->genres();
  for (size_t w = 0; w < store_->genre_words(); ++w) {
    for (uint64_t b = bits[w]; b != 0; b &= b - 1) {
      const size_t g = w * 64 + static_cast<size_t>(__builtin_ctzll(b));
      if (g < names.size()) f(absl::string_view(names[g]));
    }
  }
}

}  // namespace simsearch
