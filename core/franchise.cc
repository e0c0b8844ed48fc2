#include "core/franchise.h"

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"

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
      if (TitleLikeness(items[i], items[it->second]) >= kFranchiseTitleLikeness) groups.Join(i, it->second);
    }
  }
  absl::flat_hash_map<int64_t, int64_t> out;
  out.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) out.emplace(items[i].id, items[groups.Find(i)].id);
  return out;
}

}  // namespace simsearch
