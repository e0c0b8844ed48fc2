// The `hnsw` kind served by hnswlib 0.6.2 (Debian's libhnswlib-dev, header-only, compiled
// with the project's flags), which answered 3x faster than FAISS 1.7.3's HNSW at equal
// recall on this machine kind (docs/BENCHMARKS.md). Bundles say which library built
// their graph (manifest `index.library`); FAISS HNSW bundles still open with
// FaissSearcher.
//
// hnswlib's loader trusts its file: a damaged header or link list makes it read or
// write out of bounds. ValidateHnswlibIndex checks every field and link against the
// collection before hnswlib sees the file. hnswlib 0.6.2 cannot filter while it searches:
// with a filter, the searcher asks for a deeper list and filters it; when fewer than k
// rows pass, Collection::Search answers that query exactly.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "core/manifest.h"
#include "engine/searcher.h"

namespace hnswlib {
template <typename T>
class HierarchicalNSW;
class InnerProductSpace;
}  // namespace hnswlib

namespace simsearch {

// OK when `path` is an hnswlib 0.6.2 index of exactly `count` vectors of `dims` floats
// whose labels are the rows 0..count-1 and whose every link points inside the graph,
// at a node that lives on that level.
absl::Status ValidateHnswlibIndex(const std::string& path, uint64_t dims, uint64_t count);

// Builds the graph over x (n rows of d floats; labels = rows) with params.hnsw_m and
// params.ef_construction, `threads` rows inserted in parallel (0: one per CPU; hnswlib
// locks per node, so the graph depends on the interleaving), and writes it to `path`
// (validated after writing). `progress` receives the fraction inserted.
absl::Status BuildHnswlibIndex(const float* x, uint64_t n, uint64_t d, const IndexParams& params,
                               uint64_t seed, int threads, const std::string& path,
                               const std::function<void(double)>& progress);

class HnswlibSearcher final : public Searcher {
 public:
  // Validates, then loads `path` into memory; `params.ef_search` is the beam.
  static absl::StatusOr<std::unique_ptr<HnswlibSearcher>> Open(const std::string& path,
                                                               const IndexParams& params,
                                                               uint64_t dims, uint64_t count);
  ~HnswlibSearcher() override;

  absl::Status Search(const float* queries, size_t n, const SearchParams& params,
                      std::vector<std::vector<Neighbor>>* results) const override;

 private:
  HnswlibSearcher() = default;
  std::unique_ptr<hnswlib::InnerProductSpace> space_;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> index_;
  uint64_t dims_ = 0;
  uint64_t count_ = 0;
  int ef_ = 0;
};

}  // namespace simsearch
