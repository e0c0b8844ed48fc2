// Reading .safetensors files (Hugging Face): an 8-byte little-endian header length, a
// JSON header {"name": {"dtype", "shape", "data_offsets": [begin, end]}, ...}, then the
// tensors' bytes. The file is memory-mapped; tensors are converted to float32 on request.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/mapped_file.h"

namespace simsearch::text {

struct TensorInfo {
  std::string dtype;  // "F32", "F16", "BF16"
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte range within the data section
};

class SafeTensors {
 public:
  // Validates the header: well-formed JSON, known dtypes (F32, F16, BF16), byte ranges
  // inside the file that match shape x element size. Errors name the file and tensor.
  static absl::StatusOr<SafeTensors> Open(const std::string& path);

  bool Has(const std::string& name) const { return tensors_.count(name) > 0; }
  const std::map<std::string, TensorInfo>& tensors() const { return tensors_; }

  // The tensor as float32, checked against the expected shape.
  absl::StatusOr<std::vector<float>> Get(const std::string& name,
                                         const std::vector<int64_t>& shape) const;

 private:
  std::string path_;
  MappedFile file_;
  uint64_t data_start_ = 0;
  std::map<std::string, TensorInfo> tensors_;
};

// IEEE half and bfloat16 to float.
float HalfToFloat(uint16_t h);
float BFloat16ToFloat(uint16_t b);

}  // namespace simsearch::text
