// The catalogue reader (CSV with quotes, HTML entities, merged fields) on arbitrary
// bytes: an error naming file and line, or items with unique ids.
#include <cstdlib>
#include <set>

#include "core/catalog.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace simsearch;
  fuzz::InputFile& f = fuzz::InputFile::With(data, size);
  for (bool skip : {false, true}) {
    CatalogOptions o;
    o.skip_bad_rows = skip;
    auto c = Catalog::Load({f.Path()}, o);
    if (!c.ok()) continue;
    std::set<int64_t> ids;
    for (const Item& it : c->items()) {
      if (!ids.insert(it.id).second || c->Find(it.id) != &it) std::abort();
    }
  }
  return 0;
}
