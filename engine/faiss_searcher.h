// Approximate searchers over FAISS index files: IndexIVFFlat (memory-mapped with
// IO_FLAG_MMAP) and IndexHNSWFlat (read into memory; FAISS 1.7.3 cannot map it).
// FAISS labels are collection rows. Every FAISS exception becomes a Status here.
//
// IVF lists are scanned by our own loop, not by FAISS's: Debian's FAISS is a generic
// build whose inner product is the scalar reference kernel, while this file is
// compiled with the project's -march and scores each list (and the centroids) as one
// matrix-vector product. FAISS reads, maps and lays out the index; the answers are
// those of IndexIVF::search at the same nprobe (tests/engine/searcher_test.cc, IvfScan).
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "core/manifest.h"
#include "core/mapped_file.h"
#include "engine/searcher.h"

namespace faiss {
struct Index;
}

namespace simsearch {

class FaissSearcher final : public Searcher {
 public:
  // Reads `path` (an index written by simsearch-indexer). `kind` must be kIvf or kHnsw;
  // `params` gives nprobe / ef_search. The index must hold `count` vectors of `dims`.
  static absl::StatusOr<std::unique_ptr<FaissSearcher>> Open(const std::string& path,
                                                             IndexKind kind,
                                                             const IndexParams& params,
                                                             uint64_t dims, uint64_t count);
  ~FaissSearcher() override;

  absl::Status Search(const float* queries, size_t n, const SearchParams& params,
                      std::vector<std::vector<Neighbor>>* results) const override;
  // FAISS's HNSW graphs take no other beam than their own (see Search).
  absl::Status CheckParams(const SearchParams& params) const override;

 private:
  struct IvfLists;  // where each IVF list's vectors and ids lie (faiss_searcher.cc)

  FaissSearcher(std::unique_ptr<faiss::Index> index, IndexKind kind, IndexParams params);
  absl::Status SearchIvf(const float* queries, size_t n, const SearchParams& params,
                         std::vector<std::vector<Neighbor>>* results) const;

  std::unique_ptr<faiss::Index> index_;
  std::unique_ptr<IvfLists> ivf_;  // null: FAISS searches (HNSW, or lists we cannot scan)
  IndexKind kind_;
  IndexParams params_;
  GuardedRegion region_;  // FAISS's own mapping of IVF lists; declared last: unregistered
                          // before index_ unmaps it
};

}  // namespace simsearch
