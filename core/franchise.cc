#include "core/franchise.h"

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace simsearch {
namespace {

absl::flat_hash_set<std::string> Trigrams(absl::string_view title) {
  std::string s = " ";
  for (char c : title) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    const bool upper = c >= 'A' && c <= 'Z';
    const char out = alnum ? c : upper ? static_cast<char>(c - 'A' + 'a') : ' ';
    if (out != ' ' || s.back() != ' ') s.push_back(out);
  }
  if (s.back() != ' ') s.push_back(' ');
  absl::flat_hash_set<std::string> grams;
  if (s.size() < 3) return grams;  // no letter or digit
  for (size_t i = 0; i + 3 <= s.size(); ++i) grams.insert(s.substr(i, 3));
  return grams;
}

// Union-find over catalogue rows.
class Groups {
 public:
  explicit Groups(size_t n) : parent_(n) { std::iota(parent_.begin(), parent_.end(), size_t{0}); }
  size_t Find(size_t x) {
    while (parent_[x] != x) {
      parent_[x] = parent_[parent_[x]];
      x = parent_[x];
    }
    return x;
  }
  void Join(size_t a, size_t b) {
    a = Find(a);
    b = Find(b);
    if (a != b) parent_[std::max(a, b)] = std::min(a, b);  // the root is the smallest row
  }

 private:
  std::vector<size_t> parent_;
};

// `title` without a trailing season marker ("Season 3", "2nd Season", "Part 2",
// "Season 2 Part 2", "II", "3"), lower-cased; empty when it has none.
std::string WithoutSeason(absl::string_view title) {
  std::vector<std::string> words =
      absl::StrSplit(absl::AsciiStrToLower(title), ' ', absl::SkipWhitespace());
  auto number = [](const std::string& w) {
    return !w.empty() && w.size() <= 2 &&
           std::all_of(w.begin(), w.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  auto ordinal = [&](const std::string& w) {  // 2nd, 3rd, 4th, 1st
    return w.size() >= 3 && number(w.substr(0, w.size() - 2)) &&
           (absl::EndsWith(w, "st") || absl::EndsWith(w, "nd") || absl::EndsWith(w, "rd") ||
            absl::EndsWith(w, "th"));
  };
  size_t n = words.size();
  bool marker = false;
  if (n >= 3 && words[n - 2] == "part" && number(words[n - 1]))
    n -= 2, marker = true;  // "... Part 2"
  if (n >= 3 && (words[n - 2] == "season" || words[n - 2] == "part") && number(words[n - 1])) {
    n -= 2, marker = true;  // "... Season 3"
  } else if (n >= 3 && ordinal(words[n - 2]) && words[n - 1] == "season") {
    n -= 2, marker = true;  // "... 2nd Season"
  } else if (!marker && n >= 2 &&
             (words[n - 1] == "ii" || words[n - 1] == "iii" || words[n - 1] == "iv" ||
              (words[n - 1].size() == 1 && number(words[n - 1])))) {
    n -= 1, marker = true;  // "... II", "... 2"
  }
  if (!marker || n == 0) return "";
  std::string base = absl::StrJoin(words.begin(), words.begin() + static_cast<long>(n), " ");
  while (!base.empty() && (base.back() == ':' || base.back() == '-')) base.pop_back();
  return std::string(absl::StripTrailingAsciiWhitespace(base));
}

}  // namespace

double TitleContainment(absl::string_view a, absl::string_view b) {
  const auto ga = Trigrams(a), gb = Trigrams(b);
  if (ga.empty() || gb.empty()) return 0.0;
  const auto& shorter = ga.size() <= gb.size() ? ga : gb;
  const auto& longer = ga.size() <= gb.size() ? gb : ga;
  size_t shared = 0;
  for (const std::string& g : shorter) shared += longer.contains(g) ? 1 : 0;
  return static_cast<double>(shared) / static_cast<double>(shorter.size());
}

double TitleLikeness(const Item& a, const Item& b) {
  double best = 0.0;
  for (const std::string* x : {&a.title, &a.english_title}) {
    for (const std::string* y : {&b.title, &b.english_title}) {
      if (!x->empty() && !y->empty()) best = std::max(best, TitleContainment(*x, *y));
    }
  }
  return best;
}

absl::flat_hash_map<int64_t, int64_t> FranchiseIds(const Catalog& catalog) {
  const std::vector<Item>& items = catalog.items();  // sorted by id: row order is id order
  absl::flat_hash_map<int64_t, size_t> row;
  row.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) row.emplace(items[i].id, i);
  Groups groups(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    for (int64_t rel : items[i].related) {
      auto it = row.find(rel);
      if (it == row.end() || it->second == i) continue;
      if (TitleLikeness(items[i], items[it->second]) >= kFranchiseTitleLikeness)
        groups.Join(i, it->second);
    }
  }
  // MAL's relations of the newest seasons are often missing: a title that is another's
  // plus a season marker ("Spy x Family Season 3") joins it.
  absl::flat_hash_map<std::string, size_t> by_title;
  for (size_t i = 0; i < items.size(); ++i) {
    for (const std::string* t : {&items[i].title, &items[i].english_title}) {
      if (!t->empty()) by_title.try_emplace(absl::AsciiStrToLower(*t), i);
    }
  }
  for (size_t i = 0; i < items.size(); ++i) {
    for (const std::string* t : {&items[i].title, &items[i].english_title}) {
      const std::string base = WithoutSeason(*t);
      if (base.empty()) continue;
      if (auto it = by_title.find(base); it != by_title.end() && it->second != i)
        groups.Join(i, it->second);
    }
  }
  absl::flat_hash_map<int64_t, int64_t> out;
  out.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) out.emplace(items[i].id, items[groups.Find(i)].id);
  return out;
}

}  // namespace simsearch
