// Browsing a collection (Engine::ListItems): its items in an order fans sort by (MAL
// score, popularity, start date), filtered like a search, a page at a time.
#ifndef SIMSEARCH_ENGINE_BROWSE_H_
#define SIMSEARCH_ENGINE_BROWSE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "engine/collection.h"

namespace simsearch {

// The rows of the collection that pass `filter`, in `order`: items whose key is unknown
// (no score, no start date) come after every known one in either direction; ties go
// to the more popular, then to the smaller id. Fills rows[0 .. min(end, total)) with
// the first `end` of that order and returns how many rows pass.
size_t OrderedRows(const Collection& c, const CompiledFilter& filter, ItemOrder order,
                   bool ascending, size_t end, std::vector<uint32_t>* rows);

}  // namespace simsearch

#endif  // SIMSEARCH_ENGINE_BROWSE_H_
