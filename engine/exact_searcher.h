// Exact (brute-force) inner-product search over vectors searched in place, typically a
// memory-mapped vectors.f32: no copy, no load step. Doubles as the oracle for the
// approximate searchers in tests. And its reduced-precision variant, HalfScanSearcher.
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

// A scan of a half-precision copy of the rows (vectors.f16: half the bytes per vector,
// so about half the time of a scan bound by memory), whose best `rescore` x k rows
// per query are then scored again over the float rows: the answer's scores are the
// float scan's bits, and its rows are the float scan's whenever the true top k is
// among the candidates (recall@10 1.0000 at rescore 4 on the demo's three collections;
// the indexer measures and records it per collection). The candidates come from the
// same fixed-order kernel (scan_kernel.h), so a query's answer does not depend on the
// batch it came in, as long as the batch asks each query for the same k
// (SearchParams::exclude, not a deeper k, leaves a query's own items out).
// SearchParams.exact is not this searcher's to honour: the caller sends exact searches
// to the ExactSearcher over the float rows.
class HalfScanSearcher final : public Searcher {
 public:
  // base: the float rows, halves: the same rows as IEEE halves, both count x dims and
  // outliving the searcher; rescore >= 1.
  HalfScanSearcher(const float* base, const uint16_t* halves, uint64_t count, uint64_t dims,
                   int rescore)
      : base_(base), halves_(halves), count_(count), dims_(dims), rescore_(rescore) {}

  absl::Status Search(const float* queries, size_t n, const SearchParams& params,
                      std::vector<std::vector<Neighbor>>* results) const override;

 private:
  const float* base_;
  const uint16_t* halves_;
  uint64_t count_;
  uint64_t dims_;
  int rescore_;
};

}  // namespace simsearch
