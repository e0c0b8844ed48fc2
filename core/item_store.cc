#include "core/item_store.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/status_macros.h"

namespace simsearch {
namespace {

// Sorted, one spelling per case-insensitive name (the first in sort order).
std::vector<std::string> Vocabulary(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end(),
                      [](const std::string& a, const std::string& b) {
                        return absl::AsciiStrToLower(a) == absl::AsciiStrToLower(b);
                      }),
          v.end());
  return v;
}

constexpr absl::string_view kAgeRatings[] = {"g", "pg", "pg_13", "r", "r+", "rx"};
constexpr absl::string_view kNsfw[] = {"white", "gray", "black"};

// 1 + the name's index in `names` (case-insensitive), 0 when absent.
template <size_t N>
int64_t Code(const absl::string_view (&names)[N], absl::string_view name) {
  for (size_t i = 0; i < N; ++i) {
    if (absl::EqualsIgnoreCase(names[i], name)) return static_cast<int64_t>(i + 1);
  }
  return 0;
}
template <size_t N>
absl::string_view Name(const absl::string_view (&names)[N], int64_t code) {
  return code >= 1 && code <= static_cast<int64_t>(N) ? names[code - 1] : absl::string_view();
}

}  // namespace

int AgeRatingCode(absl::string_view rating) {
  return static_cast<int>(Code(kAgeRatings, rating));
}

// Reads are checked against the arrays' bounds, so a damaged or hostile bundle whose
// checksums were not verified yields empty fields, never a read outside a mapping;
// checking every offset at open instead would cost time per item.
absl::string_view ItemStore::Text(uint32_t row, size_t field) const {
  if (field >= text_fields_) return {};
  const uint64_t slot = uint64_t{row} * text_fields_ + field;
  const int64_t a = offsets_[slot], b = offsets_[slot + 1];
  if (a < 0 || b < a || static_cast<uint64_t>(b) > text_.size()) return {};
  return absl::string_view(reinterpret_cast<const char*>(text_.data()) + a,
                           static_cast<size_t>(b - a));
}

absl::string_view ItemView::title() const {
  return store_->Text(row_, 0);
}
absl::string_view ItemView::english_title() const {
  return store_->Text(row_, 1);
}
absl::string_view ItemView::synopsis() const {
  return store_->Text(row_, 2);
}
absl::string_view ItemView::image_url() const {
  return store_->Text(row_, 3);
}
std::vector<std::string> ItemView::studios() const {
  return absl::StrSplit(store_->Text(row_, 4), ", ", absl::SkipEmpty());
}
double ItemView::mal_score() const {
  const int64_t s = store_->score_code(row_);
  return s > 0 && s <= 1000 ? static_cast<double>(s) / 100 : 0;
}
std::string ItemView::start_date() const {
  const int64_t d = store_->start_code(row_);
  if (d < 1000'00'00 || d > 9999'12'31) return {};
  const int64_t year = d / 10000, month = d / 100 % 100, day = d % 100;
  if (month == 0 || month > 12) return absl::StrCat(year);
  if (day == 0 || day > 31) return absl::StrFormat("%d-%02d", year, month);
  return absl::StrFormat("%d-%02d-%02d", year, month, day);
}

absl::string_view ItemView::type() const {
  const uint16_t t = store_->type_index(row_);
  return t == 0 || t > store_->type_names_.size() ? absl::string_view()
                                                  : store_->type_names_[t - 1];
}

int32_t ItemView::episodes() const {
  return static_cast<int32_t>(store_->attr(row_, 1));
}
int64_t ItemView::members() const {
  return store_->attr(row_, 0);
}
absl::string_view ItemView::age_rating() const {
  return Name(kAgeRatings, store_->attr(row_, 3));
}
absl::string_view ItemView::nsfw() const {
  return Name(kNsfw, store_->attr(row_, 4));
}
ContentLevel ItemView::content() const {
  return store_->content(row_);
}

int64_t ItemView::franchise(int64_t id) const {
  const int64_t f = store_->franchise(row_);
  return f != 0 ? f : id;
}

std::vector<absl::string_view> ItemView::genres() const {
  std::vector<absl::string_view> out;
  ForEachGenre([&](absl::string_view g) { out.push_back(g); });
  return out;
}

Item ItemView::ToItem(int64_t id, bool with_synopsis) const {
  Item it;
  it.id = id;
  it.title = std::string(title());
  it.english_title = std::string(english_title());
  for (absl::string_view g : genres()) it.genres.emplace_back(g);
  it.type = std::string(type());
  it.episodes = episodes();
  it.members = members();
  it.age_rating = std::string(age_rating());
  it.nsfw = std::string(nsfw());
  it.content = content();
  it.franchise = franchise(id);
  it.image_url = std::string(image_url());
  it.studios = studios();
  it.mal_score = mal_score();
  it.start_date = start_date();
  if (with_synopsis) it.synopsis = std::string(synopsis());
  return it;
}

ItemStore ItemStore::Build(const std::vector<const Item*>& items, bool with_synopses) {
  ItemStore s;
  s.rows_ = items.size();
  std::vector<std::string> genres, types;
  for (const Item* it : items) {
    if (it == nullptr) continue;
    genres.insert(genres.end(), it->genres.begin(), it->genres.end());
    if (!it->type.empty()) types.push_back(it->type);
  }
  s.genre_names_ = Vocabulary(std::move(genres));
  s.type_names_ = Vocabulary(std::move(types));
  s.genre_words_ = std::max<size_t>(1, (s.genre_names_.size() + 63) / 64);
  (void)s.Index();  // cannot fail on vocabularies built here
  s.own_offsets_.reserve(s.rows_ * kTextFields + 1);
  s.own_offsets_.push_back(0);
  s.own_attrs_.assign(s.rows_ * kAttrs, 0);
  s.own_genres_.assign(s.rows_ * s.genre_words_, 0);
  for (size_t row = 0; row < items.size(); ++row) {
    static const Item kNone;
    const Item& it = items[row] != nullptr ? *items[row] : kNone;
    const std::string studios = absl::StrJoin(it.studios, ", ");
    for (const std::string* t :
         {&it.title, &it.english_title, &it.synopsis, &it.image_url, &studios}) {
      if (t != &it.synopsis || with_synopses)
        s.own_text_.insert(s.own_text_.end(), t->begin(), t->end());
      s.own_offsets_.push_back(static_cast<int64_t>(s.own_text_.size()));
    }
    int64_t* attrs = &s.own_attrs_[row * kAttrs];
    attrs[0] = it.members;
    attrs[1] = it.episodes;
    attrs[2] = it.type.empty() ? 0 : *s.TypeIndex(it.type);
    attrs[3] = Code(kAgeRatings, it.age_rating);
    attrs[4] = Code(kNsfw, it.nsfw);
    attrs[5] = static_cast<int64_t>(std::max(it.content, ContentLevelOf(it)));
    attrs[6] = it.franchise;
    attrs[7] = it.mal_score > 0 && it.mal_score <= 10 ? std::llround(it.mal_score * 100) : 0;
    attrs[8] = StartCode(it.start_date);
    for (const std::string& g : it.genres) {
      const uint32_t bit = *s.GenreBit(g);
      s.own_genres_[row * s.genre_words_ + bit / 64] |= uint64_t{1} << (bit % 64);
    }
  }
  s.text_ = s.own_text_;
  s.offsets_ = s.own_offsets_;
  s.attrs_ = s.own_attrs_;
  s.genre_bits_ = s.own_genres_;
  return s;
}

absl::Status ItemStore::Index() {
  if (type_names_.size() >= UINT16_MAX) return absl::DataLossError("too many distinct item types");
  genre_bit_.clear();
  type_index_.clear();
  for (uint32_t g = 0; g < genre_names_.size(); ++g)
    genre_bit_.try_emplace(absl::AsciiStrToLower(genre_names_[g]), g);
  for (size_t t = 0; t < type_names_.size(); ++t) {
    type_index_.try_emplace(absl::AsciiStrToLower(type_names_[t]), static_cast<uint16_t>(t + 1));
  }
  return absl::OkStatus();
}

std::optional<uint32_t> ItemStore::GenreBit(absl::string_view name) const {
  auto it = genre_bit_.find(absl::AsciiStrToLower(name));
  if (it == genre_bit_.end()) return std::nullopt;
  return it->second;
}

std::optional<uint16_t> ItemStore::TypeIndex(absl::string_view name) const {
  auto it = type_index_.find(absl::AsciiStrToLower(name));
  if (it == type_index_.end()) return std::nullopt;
  return it->second;
}

absl::Status ItemStore::Write(const std::string& dir) const {
  auto path = [&](const char* f) { return absl::StrCat(dir, "/", f); };
  SIMSEARCH_RETURN_IF_ERROR(WriteUInt8ArrayFile(path(kItemTextFile), text_.data(), text_.size()));
  SIMSEARCH_RETURN_IF_ERROR(
      WriteInt64ArrayFile(path(kItemTextOffsetsFile), offsets_.data(), offsets_.size()));
  SIMSEARCH_RETURN_IF_ERROR(
      WriteInt64ArrayFile(path(kItemAttrsFile), attrs_.data(), rows_, kAttrs));
  return WriteInt64ArrayFile(path(kItemGenresFile),
                             reinterpret_cast<const int64_t*>(genre_bits_.data()), rows_,
                             genre_words_);
}

absl::StatusOr<ItemStore> ItemStore::Open(const std::string& dir, uint64_t rows,
                                          std::vector<std::string> genres,
                                          std::vector<std::string> types) {
  ItemStore s;
  s.rows_ = rows;
  s.genre_names_ = std::move(genres);
  s.type_names_ = std::move(types);
  s.genre_words_ = std::max<size_t>(1, (s.genre_names_.size() + 63) / 64);
  SIMSEARCH_RETURN_IF_ERROR(s.Index());
  auto path = [&](const char* f) { return absl::StrCat(dir, "/", f); };
  SIMSEARCH_ASSIGN_OR_RETURN(s.text_file_,
                             MappedArray::Open(path(kItemTextFile), ArrayDType::kUInt8));
  SIMSEARCH_ASSIGN_OR_RETURN(s.offsets_file_,
                             MappedArray::Open(path(kItemTextOffsetsFile), ArrayDType::kInt64));
  SIMSEARCH_ASSIGN_OR_RETURN(s.attrs_file_,
                             MappedArray::Open(path(kItemAttrsFile), ArrayDType::kInt64));
  SIMSEARCH_ASSIGN_OR_RETURN(s.genres_file_,
                             MappedArray::Open(path(kItemGenresFile), ArrayDType::kInt64));
  auto bad = [&](const char* f, absl::string_view what) {
    return absl::DataLossError(
        absl::StrCat(path(f), ": ", what, "; rebuild the bundle with simsearch-indexer"));
  };
  if (s.offsets_file_.count() == rows * 3 + 1 && rows > 0) {
    s.text_fields_ = 3;  // from before cover art
  } else if (s.offsets_file_.count() != rows * kTextFields + 1) {
    return bad(kItemTextOffsetsFile, absl::StrCat("holds ", s.offsets_file_.count(),
                                                  " offsets, not ", rows * kTextFields + 1, " (or ",
                                                  rows * 3 + 1, " from before cover art)"));
  }
  const size_t attr_cols = s.attrs_file_.dims();
  if (s.attrs_file_.count() != rows ||
      (attr_cols != kAttrs && attr_cols != 7 && attr_cols != 6 && attr_cols != 3)) {
    return bad(
        kItemAttrsFile,
        absl::StrCat("is ", s.attrs_file_.count(), " x ", attr_cols, ", not ", rows, " x ", kAttrs,
                     " (or x 7 from before scores, x 6 from before franchises, x 3 from "
                     "before age ratings)"));
  }
  if (s.genres_file_.count() != rows || s.genres_file_.dims() != s.genre_words_) {
    return bad(
        kItemGenresFile,
        absl::StrCat("is ", s.genres_file_.count(), " x ", s.genres_file_.dims(), ", not ", rows,
                     " x ", s.genre_words_, " for ", s.genre_names_.size(), " genres"));
  }
  const int64_t* off = s.offsets_file_.int64s();
  const uint64_t slots = rows * s.text_fields_;
  if (off[0] != 0 || static_cast<uint64_t>(off[slots]) != s.text_file_.count()) {
    return bad(kItemTextOffsetsFile, "offsets do not span item_text.u8");
  }
  s.text_ = absl::MakeConstSpan(s.text_file_.uint8s(), s.text_file_.count());
  s.offsets_ = absl::MakeConstSpan(off, slots + 1);
  s.genre_bits_ = absl::MakeConstSpan(reinterpret_cast<const uint64_t*>(s.genres_file_.int64s()),
                                      rows * s.genre_words_);
  s.source_attrs_ = attr_cols;
  if (attr_cols == kAttrs) {
    s.attrs_ = absl::MakeConstSpan(s.attrs_file_.int64s(), rows * kAttrs);
    return s;
  }
  // A bundle from before scores (7 columns; score and start date read as unknown),
  // franchises (6; the franchise too) or age ratings (3; also the content level its
  // genres give, no age rating or nsfw flag known): widen its columns in memory.
  const int64_t* old = s.attrs_file_.int64s();
  s.own_attrs_.assign(rows * kAttrs, 0);
  for (uint64_t row = 0; row < rows; ++row) {
    std::copy_n(old + row * attr_cols, attr_cols, &s.own_attrs_[row * kAttrs]);
    if (attr_cols >= 6) continue;
    Item genres_only;
    ItemView(&s, static_cast<uint32_t>(row)).ForEachGenre([&](absl::string_view g) {
      genres_only.genres.emplace_back(g);
    });
    s.own_attrs_[row * kAttrs + 5] = static_cast<int64_t>(ContentLevelOf(genres_only));
  }
  s.attrs_ = s.own_attrs_;
  return s;
}

}  // namespace simsearch
