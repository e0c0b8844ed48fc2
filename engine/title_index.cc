#include "engine/title_index.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/status_macros.h"
#include "core/unicode.h"

namespace simsearch {
namespace {

constexpr float kMinScore = 0.25f;

std::vector<uint32_t> Trigrams(const std::string& s) {
  // Padded with spaces so short titles and word starts still count.
  std::string p = "  " + s + " ";
  std::vector<uint32_t> out;
  if (p.size() < 3) return out;
  out.reserve(p.size() - 2);
  for (size_t i = 0; i + 2 < p.size(); ++i) {
    out.push_back((uint32_t{static_cast<unsigned char>(p[i])} << 16) |
                  (uint32_t{static_cast<unsigned char>(p[i + 1])} << 8) |
                  uint32_t{static_cast<unsigned char>(p[i + 2])});
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

thread_local size_t t_last_scored = 0;

}  // namespace

std::string TitleIndex::Normalize(absl::string_view s) {
  std::string folded = FoldCaseAndAccents(s);
  std::string out;
  out.reserve(folded.size());
  bool space = true;  // suppress leading and repeated separators
  for (unsigned char c : folded) {
    // ASCII letters and digits are kept, ASCII punctuation and spaces separate words,
    // and every non-ASCII byte (letters of other scripts) is kept as part of a word.
    const bool keep = c >= 0x80 || absl::ascii_isalnum(c);
    if (keep) {
      out.push_back(static_cast<char>(c));
      space = false;
    } else if (!space) {
      out.push_back(' ');
      space = true;
    }
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

TitleIndex TitleIndex::Build(const ItemStore& items, const int64_t* ids) {
  TitleIndex t;
  t.items_ = &items;
  t.ids_ = ids;
  t.own_text_offsets_.push_back(0);
  std::vector<std::pair<uint32_t, uint32_t>> postings;  // (trigram, entry)
  for (uint32_t row = 0; row < items.size(); ++row) {
    const ItemView it = items.view(row);
    const std::string original = Normalize(it.title());
    const std::string english = Normalize(it.english_title());
    for (int pass = 0; pass < 2; ++pass) {
      const std::string& text = pass == 0 ? original : english;
      if (text.empty() || (pass == 1 && text == original)) continue;
      const uint32_t entry = static_cast<uint32_t>(t.own_entries_.size() / 3);
      const std::vector<uint32_t> tri = Trigrams(text);
      t.own_text_.insert(t.own_text_.end(), text.begin(), text.end());
      t.own_text_offsets_.push_back(static_cast<int64_t>(t.own_text_.size()));
      t.own_entries_.insert(t.own_entries_.end(),
                            {row, static_cast<uint32_t>(pass), static_cast<uint32_t>(tri.size())});
      for (uint32_t g : tri) postings.emplace_back(g, entry);
    }
  }
  std::sort(postings.begin(), postings.end());
  for (const auto& [g, entry] : postings) {
    if (t.own_trigrams_.empty() || t.own_trigrams_.back() != g) {
      t.own_trigrams_.push_back(g);
      t.own_trigram_offsets_.push_back(static_cast<int64_t>(t.own_trigram_entries_.size()));
    }
    t.own_trigram_entries_.push_back(entry);
  }
  t.own_trigram_offsets_.push_back(static_cast<int64_t>(t.own_trigram_entries_.size()));
  t.Point();
  return t;
}

void TitleIndex::Point() {
  text_ = own_text_;
  text_offsets_ = own_text_offsets_;
  entries_ = own_entries_;
  trigrams_ = own_trigrams_;
  trigram_offsets_ = own_trigram_offsets_;
  trigram_entries_ = own_trigram_entries_;
  entry_count_ = entries_.size() / 3;
}

absl::Status TitleIndex::Write(const std::string& dir) const {
  auto path = [&](const char* f) { return absl::StrCat(dir, "/", f); };
  SIMSEARCH_RETURN_IF_ERROR(WriteUInt8ArrayFile(path(kTitleTextFile), text_.data(), text_.size()));
  SIMSEARCH_RETURN_IF_ERROR(
      WriteInt64ArrayFile(path(kTitleTextOffsetsFile), text_offsets_.data(), text_offsets_.size()));
  SIMSEARCH_RETURN_IF_ERROR(
      WriteUInt32ArrayFile(path(kTitleEntriesFile), entries_.data(), entry_count_, 3));
  SIMSEARCH_RETURN_IF_ERROR(
      WriteUInt32ArrayFile(path(kTitleTrigramsFile), trigrams_.data(), trigrams_.size()));
  SIMSEARCH_RETURN_IF_ERROR(WriteInt64ArrayFile(path(kTitleTrigramOffsetsFile),
                                                trigram_offsets_.data(), trigram_offsets_.size()));
  return WriteUInt32ArrayFile(path(kTitleTrigramEntriesFile), trigram_entries_.data(),
                              trigram_entries_.size());
}

absl::StatusOr<TitleIndex> TitleIndex::Open(const std::string& dir, const ItemStore& items,
                                            const int64_t* ids) {
  TitleIndex t;
  t.items_ = &items;
  t.ids_ = ids;
  auto path = [&](const char* f) { return absl::StrCat(dir, "/", f); };
  SIMSEARCH_ASSIGN_OR_RETURN(t.text_file_,
                             MappedArray::Open(path(kTitleTextFile), ArrayDType::kUInt8));
  SIMSEARCH_ASSIGN_OR_RETURN(t.text_offsets_file_,
                             MappedArray::Open(path(kTitleTextOffsetsFile), ArrayDType::kInt64));
  SIMSEARCH_ASSIGN_OR_RETURN(t.entries_file_,
                             MappedArray::Open(path(kTitleEntriesFile), ArrayDType::kUInt32));
  SIMSEARCH_ASSIGN_OR_RETURN(t.trigrams_file_,
                             MappedArray::Open(path(kTitleTrigramsFile), ArrayDType::kUInt32));
  SIMSEARCH_ASSIGN_OR_RETURN(t.trigram_offsets_file_,
                             MappedArray::Open(path(kTitleTrigramOffsetsFile), ArrayDType::kInt64));
  SIMSEARCH_ASSIGN_OR_RETURN(
      t.trigram_entries_file_,
      MappedArray::Open(path(kTitleTrigramEntriesFile), ArrayDType::kUInt32));
  const uint64_t e = t.entries_file_.count(), g = t.trigrams_file_.count();
  const int64_t* to = t.text_offsets_file_.int64s();
  const int64_t* go = t.trigram_offsets_file_.int64s();
  // Sizes and the ends of the offsets are checked here; single offsets and entry
  // numbers are checked where they are read, so opening costs nothing per title.
  if (t.entries_file_.dims() != 3 || t.text_offsets_file_.count() != e + 1 ||
      t.trigram_offsets_file_.count() != g + 1 || to[0] != 0 ||
      static_cast<uint64_t>(to[e]) != t.text_file_.count() || go[0] != 0 ||
      static_cast<uint64_t>(go[g]) != t.trigram_entries_file_.count()) {
    return absl::DataLossError(
        absl::StrCat(dir,
                     ": the title index files (title_*) do not agree with each other; "
                     "rebuild the bundle with simsearch-indexer"));
  }
  t.text_ = absl::MakeConstSpan(t.text_file_.uint8s(), t.text_file_.count());
  t.text_offsets_ = absl::MakeConstSpan(to, e + 1);
  t.entries_ = absl::MakeConstSpan(t.entries_file_.uint32s(), e * 3);
  t.trigrams_ = absl::MakeConstSpan(t.trigrams_file_.uint32s(), g);
  t.trigram_offsets_ = absl::MakeConstSpan(go, g + 1);
  t.trigram_entries_ =
      absl::MakeConstSpan(t.trigram_entries_file_.uint32s(), t.trigram_entries_file_.count());
  t.entry_count_ = e;
  return t;
}

absl::string_view TitleIndex::Text(uint32_t entry) const {
  const int64_t a = text_offsets_[entry], b = text_offsets_[entry + 1];
  if (a < 0 || b < a || static_cast<uint64_t>(b) > text_.size()) return {};
  return absl::string_view(reinterpret_cast<const char*>(text_.data()) + a,
                           static_cast<size_t>(b - a));
}

size_t TitleIndex::last_scored() {
  return t_last_scored;
}

namespace {

// The trigram postings of a title index: for each trigram (ascending), the entries
// (titles) holding it.
struct Postings {
  absl::Span<const uint32_t> trigrams;
  absl::Span<const int64_t> offsets;  // trigrams.size() + 1, into `entries`
  absl::Span<const uint32_t> entries;
  size_t entry_count;

  // The range of `entries` holding trigram g's titles; empty when g is absent (or its
  // offsets are damaged).
  std::pair<int64_t, int64_t> Of(uint32_t g) const {
    auto it = std::lower_bound(trigrams.begin(), trigrams.end(), g);
    if (it == trigrams.end() || *it != g) return {0, 0};
    const size_t key = static_cast<size_t>(it - trigrams.begin());
    const int64_t lo = offsets[key], hi = offsets[key + 1];
    if (lo < 0 || hi < lo || static_cast<uint64_t>(hi) > entries.size()) return {0, 0};
    return {lo, hi};
  }

  // Appends the titles of `range` (from Of) to `out`.
  void Take(std::pair<int64_t, int64_t> range, std::vector<uint32_t>* out) const {
    for (int64_t p = range.first; p < range.second; ++p) {
      const uint32_t e = entries[static_cast<size_t>(p)];
      if (e < entry_count) out->push_back(e);
    }
  }
};

// Candidates (a): for every title sharing any of the query's `trigrams`, how many it
// shares (`common`, by entry); `touched` lists those titles.
void CountSharedTrigrams(const Postings& postings, const std::vector<uint32_t>& trigrams,
                         std::vector<uint16_t>* common, std::vector<uint32_t>* touched) {
  for (uint32_t g : trigrams) {
    const auto [lo, hi] = postings.Of(g);
    for (int64_t p = lo; p < hi; ++p) {
      const uint32_t e = postings.entries[static_cast<size_t>(p)];
      if (e >= postings.entry_count) continue;
      if ((*common)[e] == 0) touched->push_back(e);
      if ((*common)[e] < UINT16_MAX) ++(*common)[e];
    }
  }
}

// Candidates (b): appends every title that may hold each of the query's `words` (the
// last as a prefix), through the rarest trigram of " w " (" w" for the last word); for
// a one-character query `q`, the titles of "  c" and of every " c?".
void AddWordCandidates(const Postings& postings, const std::string& q,
                       const std::vector<absl::string_view>& words,
                       std::vector<uint32_t>* candidates) {
  if (q.size() == 1) {
    const uint32_t c = static_cast<unsigned char>(q[0]);
    postings.Take(postings.Of((uint32_t{' '} << 16) | (uint32_t{' '} << 8) | c), candidates);
    const uint32_t first = (uint32_t{' '} << 16) | (c << 8);
    for (auto it = std::lower_bound(postings.trigrams.begin(), postings.trigrams.end(), first);
         it != postings.trigrams.end() && *it <= (first | 0xFF); ++it) {
      postings.Take(postings.Of(*it), candidates);
    }
    return;
  }
  std::optional<std::pair<int64_t, int64_t>> rarest;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string padded = absl::StrCat(" ", words[i], i + 1 == words.size() ? "" : " ");
    for (size_t j = 0; j + 2 < padded.size(); ++j) {
      const auto range = postings.Of((uint32_t{static_cast<unsigned char>(padded[j])} << 16) |
                                     (uint32_t{static_cast<unsigned char>(padded[j + 1])} << 8) |
                                     uint32_t{static_cast<unsigned char>(padded[j + 2])});
      if (!rarest || range.second - range.first < rarest->second - rarest->first) rarest = range;
    }
  }
  if (rarest) postings.Take(*rarest, candidates);
}

// Whether every query word is a word of `text` (the last may be a prefix: the person
// is typing).
bool HasEveryWord(absl::string_view text, const std::vector<absl::string_view>& words) {
  bool all = true;
  for (size_t i = 0; i < words.size() && all; ++i) {
    const bool last = i + 1 == words.size();
    bool found = false;
    for (absl::string_view w : absl::StrSplit(text, ' ')) {
      if (w == words[i] || (last && absl::StartsWith(w, words[i]))) {
        found = true;
        break;
      }
    }
    all = found;
  }
  return all;
}

// The score of the non-empty normalised title `text` for the normalised query `q` (of
// `words`), as TitleIndex::Lookup states; `dice` is its trigram score.
float TitleScore(absl::string_view text, const std::string& q,
                 const std::vector<absl::string_view>& words, float dice) {
  if (text == q) return 1.0f;
  const float coverage = static_cast<float>(q.size()) / static_cast<float>(text.size());
  if (absl::StartsWith(text, q) && text[q.size()] == ' ') return 0.9f + 0.09f * coverage;
  if (HasEveryWord(text, words)) return 0.7f + 0.19f * std::min(1.0f, coverage);
  return dice;
}

// Keeps the `top_k` best of `best`, best first: score, then more members, then lower id.
void KeepBest(const ItemStore& items, const int64_t* ids, size_t top_k,
              std::vector<TitleMatch>* best) {
  auto better = [&](const TitleMatch& a, const TitleMatch& b) {
    if (a.score != b.score) return a.score > b.score;
    const int64_t ma = items.view(a.row).members(), mb = items.view(b.row).members();
    if (ma != mb) return ma > mb;
    return ids[a.row] < ids[b.row];
  };
  if (best->size() > top_k) {
    std::partial_sort(best->begin(), best->begin() + static_cast<long>(top_k), best->end(), better);
    best->resize(top_k);
  } else {
    std::sort(best->begin(), best->end(), better);
  }
}

}  // namespace

std::vector<TitleMatch> TitleIndex::Lookup(absl::string_view query, size_t top_k) const {
  t_last_scored = 0;
  const std::string q = Normalize(query);
  if (q.empty() || top_k == 0 || entry_count_ == 0) return {};
  const std::vector<absl::string_view> words = absl::StrSplit(q, ' ');
  const std::vector<uint32_t> trigrams = Trigrams(q);

  // Candidates: every title that can score kMinScore, found through postings rather
  // than by scoring every title.
  //
  // (a) Trigram similarity 0.69 * 2c / (|Q| + |E|), with c the trigrams the title E
  //     shares with the query Q: the postings of the query's trigrams give c for every
  //     title that has any, and the similarity follows from c and |E| (stored).
  // (b) Every query word is a title word (the last may be a prefix; this covers the
  //     exact and starts-with scores too). A word w found in the title, after a space or
  //     at its start (titles are padded "  text "), brings every trigram of " w " (of
  //     " w" for the last word, a prefix): the postings of any one of those trigrams hold
  //     every such title, so the rarest is taken. A one-character query has no such
  //     trigram; its titles are the postings of "  c" and of every " c?".
  // Only titles passing (a) or found for (b) are scored.
  const Postings postings{trigrams_, trigram_offsets_, trigram_entries_, entry_count_};
  std::vector<uint16_t> common(entry_count_, 0);
  std::vector<uint32_t> touched;
  CountSharedTrigrams(postings, trigrams, &common, &touched);
  auto dice_score = [&](uint32_t e) {
    const float dice = 2.0f * static_cast<float>(common[e]) /
                       static_cast<float>(trigrams.size() + entries_[e * 3 + 2]);
    return 0.69f * dice;
  };
  std::vector<uint32_t> candidates;
  for (uint32_t e : touched) {
    if (dice_score(e) >= kMinScore) candidates.push_back(e);
  }
  AddWordCandidates(postings, q, words, &candidates);
  // Entries in index order, so a row's original title comes before its English one and
  // wins a tie, as when every title was scored in order.
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  t_last_scored = candidates.size();

  std::vector<TitleMatch> best;  // one per row
  for (uint32_t e : candidates) {
    const uint32_t row = entries_[e * 3];
    if (row >= items_->size()) continue;
    const bool english = entries_[e * 3 + 1] != 0;
    const absl::string_view text = Text(e);
    if (text.empty()) continue;
    const float s = TitleScore(text, q, words, dice_score(e));
    if (s < kMinScore) continue;
    if (!best.empty() && best.back().row == row) {
      if (s > best.back().score) best.back() = {row, s, english};
    } else {
      best.push_back({row, s, english});
    }
  }
  KeepBest(*items_, ids_, top_k, &best);
  return best;
}

}  // namespace simsearch
