// Structural checks of a FAISS index read from disk, before the first search.
//
// FAISS's readers check little of what they read: an HNSW graph with an out-of-range
// neighbour id, or IVF lists whose ids or offsets point outside the index, load fine
// and then crash the first search (out-of-bounds reads in code we do not control).
// A bundle's checksums do not help when the file was corrupt when it was built, or
// with --verify sizes. These checks make such an index a DataLoss error naming the
// file and the first inconsistency, so the version is rejected and the engine lives.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace faiss {
struct Index;
}

namespace simsearch {

// Checks an IndexHNSW (graph: levels, offsets, neighbour ids, entry point, storage
// size) or an IndexIVF (quantizer size, list count, every list's ids within
// [0, ntotal), sizes summing to ntotal, and for mapped lists every list inside the
// mapping). Reads every neighbour id and every IVF id once: O(index size), no
// allocation. Other index types are accepted as they are.
absl::Status ValidateFaissIndex(const faiss::Index& index, const std::string& path);

}  // namespace simsearch
