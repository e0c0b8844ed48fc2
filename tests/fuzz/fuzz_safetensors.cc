// The safetensors reader on arbitrary bytes: an error, or tensors that lie inside the
// file and can be read whole.
#include "models/text/safetensors.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace simsearch;
  fuzz::InputFile& f = fuzz::InputFile::With(data, size);
  auto st = text::SafeTensors::Open(f.Path());
  if (!st.ok()) return 0;
  for (const auto& [name, info] : st->tensors()) {
    auto t = st->Get(name, info.shape);
    if (t.ok() && t->size() * 2 > size) std::abort();
  }
  return 0;
}
