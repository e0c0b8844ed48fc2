#include "engine/browse.h"

#include <algorithm>
#include <tuple>

namespace simsearch {

size_t OrderedRows(const Collection& c, const CompiledFilter& filter, ItemOrder order,
                   bool ascending, size_t end, std::vector<uint32_t>* rows) {
  rows->clear();
  const ItemStore* items = c.item_store();
  // (known, key, members, -id): larger sorts first; unknown keys last in both directions.
  struct Keyed {
    bool known;
    int64_t key, members, neg_id;
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
    keyed.push_back({known, ascending ? -key : key, members, -c.id(row), row});
  }
  auto before = [](const Keyed& a, const Keyed& b) {
    return std::tie(a.known, a.key, a.members, a.neg_id) >
           std::tie(b.known, b.key, b.members, b.neg_id);
  };
  const size_t n = std::min(end, keyed.size());
  std::partial_sort(keyed.begin(), keyed.begin() + static_cast<ptrdiff_t>(n), keyed.end(), before);
  rows->reserve(n);
  for (size_t i = 0; i < n; ++i) rows->push_back(keyed[i].row);
  return keyed.size();
}

}  // namespace simsearch
