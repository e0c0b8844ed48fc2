// The vector and id readers (.npy, .fvecs, CSV, id lists) and the project's array file,
// on arbitrary bytes: an error, or a result whose sizes agree with the file; never a
// crash, and never an allocation sized by a header that lies. The first byte picks the
// reader.
#include <cstdlib>

#include "core/array_file.h"
#include "core/npy.h"
#include "core/vector_input.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace simsearch;
  if (size < 1) return 0;
  const int which = data[0] % 7;
  fuzz::InputFile& f = fuzz::InputFile::With(data + 1, size - 1);
  auto check = [&](const absl::StatusOr<VectorSet>& v) {
    if (!v.ok()) return;
    if (v->data.size() != v->count * v->dims || v->data.size() * 4 > 64 * size + 64) std::abort();
    (void)CheckFinite(*v, "fuzz");
  };
  switch (which) {
    case 0: {
      auto a = ReadNpy(f.Path(".npy"));
      if (a.ok() && a->elements() * a->item_size > size) std::abort();
      break;
    }
    case 1:
      check(ReadVectors(f.Path(".npy")));
      break;
    case 2:
      check(ReadVectors(f.Path(".fvecs")));
      break;
    case 3:
      check(ReadVectors(f.Path(".csv")));
      break;
    case 4: {
      auto ids = ReadIds(f.Path(".npy"));
      if (ids.ok() && ids->size() * 4 > size) std::abort();
      break;
    }
    case 5:
      (void)ReadIds(f.Path(".txt"));
      break;
    case 6:
      for (ArrayDType t : {ArrayDType::kFloat32, ArrayDType::kInt64}) {
        auto a = MappedArray::Open(f.Path(), t);
        if (a.ok() && a->count() > 0) {
          // The last element must be inside the file.
          const unsigned char* last =
              t == ArrayDType::kFloat32
                  ? reinterpret_cast<const unsigned char*>(a->row(a->count() - 1) + a->dims() - 1)
                  : reinterpret_cast<const unsigned char*>(a->int64s() + a->count() - 1);
          volatile unsigned char x = *last;
          (void)x;
        }
      }
      (void)ReadArrayFileHeader(f.Path());
      break;
  }
  return 0;
}
