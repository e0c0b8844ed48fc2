// Reading item vectors and ids from the formats users bring: .npy (float32/float64,
// C order), .fvecs, and CSV (id, v1..vn). Every error names the file, the row and
// the reason.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace simsearch {

// count vectors of dims floats, row-major: component j of vector i is data[i*dims + j].
struct VectorSet {
  uint64_t count = 0;
  uint64_t dims = 0;
  std::vector<float> data;   // size count*dims
  std::vector<int64_t> ids;  // filled only by formats that carry ids (CSV)
};

// Reads vectors, choosing the format by extension: .npy, .fvecs, .csv.
// Rejects empty input, ragged rows, unparsable numbers, truncated files and unsupported
// dtypes. Values are not checked for NaN/Inf here: see CheckFinite.
absl::StatusOr<VectorSet> ReadVectors(const std::string& path);

// Reads ids: .npy (int64 or int32, shape (n,) or (n, 1)) or text with one integer per
// line. Empty input is an error.
absl::StatusOr<std::vector<int64_t>> ReadIds(const std::string& path);

// Every row's L2 norm is at most this: scores (float32 inner products) against such a
// row stay finite for any query the engine scales into its safe range (norm <= 2^21).
inline constexpr double kMaxVectorNorm = 1e18;

// Every value finite and every row's norm at most kMaxVectorNorm; the error names the
// row (0-based) and the column.
absl::Status CheckFinite(const VectorSet& v, const std::string& origin);

}  // namespace simsearch
