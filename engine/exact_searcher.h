// Exact (brute-force) inner-product search over vectors searched in place, typically a
// memory-mapped vectors.f32: no copy, no load step. Doubles as the oracle for the
// approximate searchers in tests.
#pragma once

#include <cstdint>

#include "engine/searcher.h"

namespace simsearch {

class ExactSearcher final : public Searcher {
 public:
  // base: size count*dims, row-major; must outlive the searcher.
  ExactSearcher(const float* base, uint64_t count, uint64_t dims)
      : base_(base), count_(count), dims_(dims) {}

  absl::Status Search(const float* queries, size_t n, const SearchParams& params,
                      std::vector<std::vector<Neighbor>>* results) const override;

  // Exact search restricted to the given rows (ascending), for very selective
  // filters where scanning only the allowed rows beats any index.
  absl::Status SearchRows(const float* queries, size_t n, const std::vector<uint32_t>& rows,
                          const SearchParams& params,
                          std::vector<std::vector<Neighbor>>* results) const;

 private:
  const float* base_;
  uint64_t count_;
  uint64_t dims_;
};

}  // namespace simsearch
