// The project's own file for dense arrays: item vectors (float32) and item ids (int64).
//
// Layout (little-endian, see docs/FORMAT.md):
//   bytes [0, 64)                 ArrayFileHeader
//   bytes [64, 64 + count*dims*w) rows, row-major: component j of row i is at
//                                 element i*dims + j; w = the dtype's width
// The data starts on a 64-byte boundary, so a mapped file can be searched in place.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "core/mapped_file.h"

namespace simsearch {

enum class ArrayDType : uint32_t {
  kFloat32 = 1,
  kInt64 = 2,
  kUInt8 = 3,  // bytes (e.g. concatenated UTF-8 strings)
  kUInt32 = 4,
  kFloat16 = 5,  // IEEE binary16 (core/half.h): the reduced-precision scan copy
};

inline constexpr char kArrayFileMagic[8] = {'S', 'I', 'M', 'S', 'A', 'R', 'R', '\0'};
inline constexpr uint32_t kArrayFileVersion = 1;

struct ArrayFileHeader {
  char magic[8];         // kArrayFileMagic
  uint32_t version;      // kArrayFileVersion
  uint32_t dtype;        // ArrayDType
  uint64_t dims;         // elements per row (1 for ids)
  uint64_t count;        // rows
  uint64_t data_offset;  // byte offset of row 0; 64 in version 1
  uint32_t flags;        // bit 0: every row has unit L2 norm
  uint8_t reserved[20];  // zero
};
static_assert(sizeof(ArrayFileHeader) == 64, "ArrayFileHeader is part of the file format");
static_assert(sizeof(float) == 4 && sizeof(int64_t) == 8);

inline constexpr uint32_t kArrayFlagUnitNorm = 1u;

// Writes a float32 array of `count` rows of `dims` (x: size count*dims).
absl::Status WriteFloatArrayFile(const std::string& path, const float* x, uint64_t count,
                                 uint64_t dims, uint32_t flags);
// Writes an int64 array of `count` rows of `dims` values (ids: one per row).
absl::Status WriteInt64ArrayFile(const std::string& path, const int64_t* x, uint64_t count,
                                 uint64_t dims = 1);
// The same for bytes and uint32 values.
absl::Status WriteUInt8ArrayFile(const std::string& path, const uint8_t* x, uint64_t count);
absl::Status WriteUInt32ArrayFile(const std::string& path, const uint32_t* x, uint64_t count,
                                  uint64_t dims = 1);

// The same for IEEE binary16 values (core/half.h), as their bits.
absl::Status WriteFloat16ArrayFile(const std::string& path, const uint16_t* x, uint64_t count,
                                   uint64_t dims);

// Reads and checks only the header (64 bytes), without mapping the file.
absl::StatusOr<ArrayFileHeader> ReadArrayFileHeader(const std::string& path);

// A mapped array file, validated: magic, version, dtype, and a file size that matches
// the header exactly (a truncated or padded file is rejected).
class MappedArray {
 public:
  static absl::StatusOr<MappedArray> Open(const std::string& path, ArrayDType expected);

  uint64_t count() const { return header_.count; }
  uint64_t dims() const { return header_.dims; }
  uint32_t flags() const { return header_.flags; }
  const float* floats() const { return reinterpret_cast<const float*>(data_); }
  const int64_t* int64s() const { return reinterpret_cast<const int64_t*>(data_); }
  const uint8_t* uint8s() const { return reinterpret_cast<const uint8_t*>(data_); }
  const uint32_t* uint32s() const { return reinterpret_cast<const uint32_t*>(data_); }
  const uint16_t* halves() const { return reinterpret_cast<const uint16_t*>(data_); }
  const float* row(uint64_t i) const { return floats() + i * header_.dims; }

 private:
  MappedFile file_;
  ArrayFileHeader header_{};
  const unsigned char* data_ = nullptr;
};

}  // namespace simsearch
