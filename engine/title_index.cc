#include "engine/title_index.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
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

size_t Intersection(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
  size_t i = 0, j = 0, n = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i] < b[j]) {
      ++i;
    } else if (b[j] < a[i]) {
      ++j;
    } else {
      ++n, ++i, ++j;
    }
  }
  return n;
}

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

TitleIndex::TitleIndex(const std::vector<Item>& items) {
  members_.reserve(items.size());
  ids_.reserve(items.size());
  for (uint32_t row = 0; row < items.size(); ++row) {
    const Item& it = items[row];
    members_.push_back(it.members);
    ids_.push_back(it.id);
    std::string original = Normalize(it.title);
    std::string english = Normalize(it.english_title);
    for (int pass = 0; pass < 2; ++pass) {
      std::string& text = pass == 0 ? original : english;
      if (text.empty() || (pass == 1 && text == original)) continue;
      Entry e{row, pass == 1, text, absl::StrSplit(text, ' '), Trigrams(text)};
      entries_.push_back(std::move(e));
    }
  }
}

float TitleIndex::Score(const Entry& e, const std::string& q,
                        const std::vector<std::string>& words,
                        const std::vector<uint32_t>& trigrams) const {
  if (e.text == q) return 1.0f;
  const float coverage = static_cast<float>(q.size()) / static_cast<float>(e.text.size());
  if (absl::StartsWith(e.text, q) && e.text[q.size()] == ' ') return 0.9f + 0.09f * coverage;
  // Every query word is a title word (the last may be a prefix: the person is typing).
  bool all = true;
  for (size_t i = 0; i < words.size() && all; ++i) {
    const bool last = i + 1 == words.size();
    all = std::any_of(e.words.begin(), e.words.end(), [&](const std::string& w) {
      return w == words[i] || (last && absl::StartsWith(w, words[i]));
    });
  }
  if (all) return 0.7f + 0.19f * std::min(1.0f, coverage);
  const size_t common = Intersection(trigrams, e.trigrams);
  const float dice = 2.0f * static_cast<float>(common) /
                     static_cast<float>(trigrams.size() + e.trigrams.size());
  return 0.69f * dice;
}

std::vector<TitleMatch> TitleIndex::Lookup(absl::string_view query, size_t limit) const {
  const std::string q = Normalize(query);
  if (q.empty() || limit == 0) return {};
  const std::vector<std::string> words = absl::StrSplit(q, ' ');
  const std::vector<uint32_t> trigrams = Trigrams(q);
  // Best match per row.
  std::vector<TitleMatch> best;
  std::vector<int32_t> slot_of_row;
  for (const Entry& e : entries_) {
    const float s = Score(e, q, words, trigrams);
    if (s < kMinScore) continue;
    if (slot_of_row.empty()) slot_of_row.assign(members_.size(), -1);
    int32_t& slot = slot_of_row[e.row];
    if (slot < 0) {
      slot = static_cast<int32_t>(best.size());
      best.push_back({e.row, s, e.english});
    } else if (s > best[slot].score) {
      best[slot] = {e.row, s, e.english};
    }
  }
  auto better = [&](const TitleMatch& a, const TitleMatch& b) {
    if (a.score != b.score) return a.score > b.score;
    if (members_[a.row] != members_[b.row]) return members_[a.row] > members_[b.row];
    return ids_[a.row] < ids_[b.row];
  };
  if (best.size() > limit) {
    std::partial_sort(best.begin(), best.begin() + static_cast<long>(limit), best.end(), better);
    best.resize(limit);
  } else {
    std::sort(best.begin(), best.end(), better);
  }
  return best;
}

}  // namespace simsearch
