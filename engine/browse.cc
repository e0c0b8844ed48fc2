#include "engine/browse.h"

#include <algorithm>

namespace simsearch {

size_t OrderedRows(const Collection& c, const CompiledFilter& filter, ItemOrder order,
                   bool ascending, size_t end, std::vector<uint32_t>* rows) {
  rows->clear();
  const ItemStore* items = c.item_store();
  // Known keys first in either direction, then the key in the asked direction, then the
  // more popular, then the smaller id. No key is negated: a hostile bundle's INT64_MIN
  // would overflow.
  struct Keyed {
    bool known;
    int64_t key, members, id;
    uint32_t row;
  };
  std::vector<Keyed> keyed;
  keyed.reserve(c.count());
  for (uint32_t row = 0; row < c.count(); ++row) {
    if (!filter.Allows(row)) continue;
    const int64_t members = items != nullptr ? items->members(row) : 0;
    int64_t key = 0;
    if (items != nullptr) {
      key = order == ItemOrder::kScore       ? items->score_code(row)
            : order == ItemOrder::kStartDate ? items->start_code(row)
                                             : members;
    }
    const bool known = order == ItemOrder::kMembers || key > 0;
    keyed.push_back({known, key, members, c.id(row), row});
  }
  auto before = [ascending](const Keyed& a, const Keyed& b) {
    if (a.known != b.known) return a.known;
    if (a.key != b.key) return ascending ? a.key < b.key : a.key > b.key;
    if (a.members != b.members) return a.members > b.members;
    return a.id < b.id;
  };
  const size_t n = std::min(end, keyed.size());
  std::partial_sort(keyed.begin(), keyed.begin() + static_cast<ptrdiff_t>(n), keyed.end(), before);
  rows->reserve(n);
  for (size_t i = 0; i < n; ++i) rows->push_back(keyed[i].row);
  return keyed.size();
}

}  // namespace simsearch
