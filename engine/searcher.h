// The searcher interface: top-k by inner product over the rows of one collection.
//
// Queries are row-major: component j of query i is queries[i*dims + j]. Results hold
// row numbers (0-based positions in the collection), best first: descending score,
// ascending row on ties.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace simsearch {

struct Neighbor {
  uint32_t row = 0;
  float score = 0;
  friend bool operator==(const Neighbor&, const Neighbor&) = default;
};

// Which rows a search may return.
class RowFilter {
 public:
  virtual ~RowFilter() = default;
  virtual bool Allows(uint32_t row) const = 0;
};

// Options that vary per call.
struct SearchParams {
  int k = 10;                         // hits wanted per query (>= 1)
  const RowFilter* filter = nullptr;  // nullptr: every row
  // Checked between blocks of work; DeadlineExceeded once it has passed.
  absl::Time deadline = absl::InfiniteFuture();
  // The index's search effort for this call; 0: the collection's tuned value (its
  // manifest's index params). Kinds they do not apply to ignore them.
  int ef = 0;      // HNSW: the beam (raised to k); FAISS's graphs take only their own
  int nprobe = 0;  // IVF: inverted lists probed (lowered to nlist)
  // Collection::Search: scan every vector whatever the index kind (searchers ignore it).
  bool exact = false;
  // Per query i, rows (ascending) left out of its answer as if the filter refused them
  // (a query's own items), so that a batch asks each query for k hits, not k plus the
  // most any query excludes: the half-precision scan keeps rescore x k candidates, and
  // a k that depended on the batch would let a query's answer depend on it too. Only
  // the scans honour it (ExactSearcher, HalfScanSearcher; Collection::ScansEveryQuery).
  const std::vector<std::vector<uint32_t>>* exclude = nullptr;
};

class Searcher {
 public:
  virtual ~Searcher() = default;

  // queries: size n*dims. (*results)[i] receives at most k neighbours of query i
  // (fewer when fewer rows pass the filter).
  virtual absl::Status Search(const float* queries, size_t n, const SearchParams& params,
                              std::vector<std::vector<Neighbor>>* results) const = 0;
  // InvalidArgument, saying why, when this searcher cannot honour `params` (a per-call
  // effort it cannot take); checked before any search, whichever path answers.
  virtual absl::Status CheckParams(const SearchParams& params) const {
    (void)params;
    return absl::OkStatus();
  }
};

// Orders neighbours best first: descending score, then ascending row.
inline bool BetterNeighbor(const Neighbor& a, const Neighbor& b) {
  return a.score > b.score || (a.score == b.score && a.row < b.row);
}

}  // namespace simsearch
