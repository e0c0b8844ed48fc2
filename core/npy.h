// NumPy .npy files (format versions 1.0, 2.0 and 3.0), little-endian, C order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/mapped_file.h"

namespace simsearch {

// The parsed header of an .npy file and a mapping of its data.
struct NpyArray {
  std::string descr;            // e.g. "<f4", "<f8", "<i8", "<i4"
  std::vector<uint64_t> shape;  // C order
  size_t item_size = 0;
  const unsigned char* data = nullptr;  // points into `file`
  MappedFile file;

  uint64_t elements() const;
};

// Maps and validates an .npy file: magic, header syntax, C order, little-endian
// dtype, and a data size equal to prod(shape) * item size (a truncated file is an
// error naming the expected and found sizes).
absl::StatusOr<NpyArray> ReadNpy(const std::string& path);

// Writes a 2-D float32 array, rows x cols (x: size rows*cols).
absl::Status WriteNpyFloat32(const std::string& path, const float* x, uint64_t rows, uint64_t cols);
// Writes a 1-D int64 array (x: size n).
absl::Status WriteNpyInt64(const std::string& path, const int64_t* x, uint64_t n);

}  // namespace simsearch
