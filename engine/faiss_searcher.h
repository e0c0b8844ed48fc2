// Approximate searchers backed by FAISS: IndexIVFFlat (memory-mapped with
// IO_FLAG_MMAP) and IndexHNSWFlat (read into memory; FAISS 1.7.3 cannot map it).
// FAISS labels are collection rows. Every FAISS exception becomes a Status here.
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
  bool exact() const override { return false; }

 private:
  FaissSearcher(std::unique_ptr<faiss::Index> index, IndexKind kind, IndexParams params);
  std::unique_ptr<faiss::Index> index_;
  IndexKind kind_;
  IndexParams params_;
  GuardedRegion region_;  // FAISS's own mapping of IVF lists; declared last: unregistered
                          // before index_ unmaps it
};

}  // namespace simsearch
