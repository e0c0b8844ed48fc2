#include "engine/faiss_validate.h"

#include <faiss/Index.h>
#include <faiss/IndexFlatCodes.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVF.h>
#include <faiss/invlists/OnDiskInvertedLists.h>

#include <cstdint>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace simsearch {
namespace {

using idx_t = faiss::Index::idx_t;

absl::Status Corrupt(const std::string& path, absl::string_view what) {
  return absl::DataLossError(absl::StrCat(path, ": corrupt FAISS index: ", what,
                                          "; rebuild the bundle with simsearch-indexer"));
}

// A flat storage or quantizer holds exactly ntotal codes.
absl::Status CheckCodes(const faiss::Index& index, const std::string& path,
                        absl::string_view role) {
  if (const auto* flat = dynamic_cast<const faiss::IndexFlatCodes*>(&index)) {
    if (flat->codes.size() != static_cast<size_t>(flat->ntotal) * flat->code_size) {
      return Corrupt(path, absl::StrCat(role, " holds ", flat->codes.size(), " bytes of codes for ",
                                        flat->ntotal, " vectors of ", flat->code_size, " bytes"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckHnsw(const faiss::IndexHNSW& index, const std::string& path) {
  const idx_t n = index.ntotal;
  if (index.storage == nullptr) return Corrupt(path, "HNSW index without vector storage");
  if (index.storage->ntotal != n || index.storage->d != index.d) {
    return Corrupt(path, absl::StrCat("HNSW storage holds ", index.storage->ntotal, " x ",
                                      index.storage->d, ", the graph ", n, " x ", index.d));
  }
  if (auto st = CheckCodes(*index.storage, path, "HNSW storage"); !st.ok()) return st;
  const faiss::HNSW& g = index.hnsw;
  const std::vector<int>& cum = g.cum_nneighbor_per_level;
  if (cum.empty() || cum[0] != 0)
    return Corrupt(path, "HNSW neighbour counts per level are malformed");
  for (size_t l = 1; l < cum.size(); ++l) {
    if (cum[l] < cum[l - 1]) return Corrupt(path, "HNSW neighbour counts per level decrease");
  }
  if (g.levels.size() != static_cast<size_t>(n) || g.offsets.size() != static_cast<size_t>(n) + 1 ||
      g.offsets[0] != 0) {
    return Corrupt(path, absl::StrCat("HNSW has ", g.levels.size(), " levels and ",
                                      g.offsets.size(), " offsets for ", n, " vectors"));
  }
  int top = 0;
  for (idx_t i = 0; i < n; ++i) {
    const int level = g.levels[i];  // the number of layers vertex i is on
    if (level < 1 || static_cast<size_t>(level) >= cum.size()) {
      return Corrupt(path, absl::StrCat("HNSW vertex ", i, " is on ", level,
                                        " layers (valid: 1 to ", cum.size() - 1, ")"));
    }
    top = std::max(top, level);
    if (g.offsets[i + 1] < g.offsets[i] ||
        g.offsets[i + 1] - g.offsets[i] != static_cast<size_t>(cum[level])) {
      return Corrupt(path,
                     absl::StrCat("HNSW vertex ", i, " has a neighbour list of the wrong size"));
    }
  }
  if (g.neighbors.size() != g.offsets[n]) {
    return Corrupt(path, absl::StrCat("HNSW holds ", g.neighbors.size(),
                                      " neighbour slots, its offsets need ", g.offsets[n]));
  }
  for (size_t j = 0; j < g.neighbors.size(); ++j) {
    const faiss::HNSW::storage_idx_t v = g.neighbors[j];
    if (v < -1 || v >= n) {
      return Corrupt(
          path, absl::StrCat("HNSW neighbour id ", v, " at slot ", j, " is outside [0, ", n, ")"));
    }
  }
  if (n == 0) return absl::OkStatus();
  if (g.entry_point < 0 || g.entry_point >= n) {
    return Corrupt(path,
                   absl::StrCat("HNSW entry point ", g.entry_point, " is outside [0, ", n, ")"));
  }
  if (g.max_level != top - 1 || g.levels[g.entry_point] != top) {
    return Corrupt(
        path, absl::StrCat("HNSW top level ", g.max_level, " does not match the graph (", top - 1,
                           ", entry point on ", g.levels[g.entry_point], " layers)"));
  }
  return absl::OkStatus();
}

absl::Status CheckIvf(const faiss::IndexIVF& index, const std::string& path) {
  const idx_t n = index.ntotal;
  if (index.quantizer == nullptr || index.invlists == nullptr) {
    return Corrupt(path, "IVF index without quantizer or inverted lists");
  }
  if (index.quantizer->ntotal != static_cast<idx_t>(index.nlist) || index.quantizer->d != index.d) {
    return Corrupt(path, absl::StrCat("IVF quantizer holds ", index.quantizer->ntotal, " x ",
                                      index.quantizer->d, " centroids for ", index.nlist,
                                      " lists of ", index.d, " dimensions"));
  }
  if (auto st = CheckCodes(*index.quantizer, path, "IVF quantizer"); !st.ok()) return st;
  const faiss::InvertedLists& lists = *index.invlists;
  if (lists.nlist != index.nlist || lists.code_size != index.code_size) {
    return Corrupt(
        path, absl::StrCat("IVF inverted lists hold ", lists.nlist, " lists of ", lists.code_size,
                           "-byte codes, the index ", index.nlist, " of ", index.code_size));
  }
  const auto* mapped = dynamic_cast<const faiss::OnDiskInvertedLists*>(&lists);
  if (mapped != nullptr && mapped->lists.size() != lists.nlist) {
    return Corrupt(path, "mapped IVF lists table has the wrong length");
  }
  uint64_t total = 0;
  for (size_t l = 0; l < lists.nlist; ++l) {
    const size_t size = lists.list_size(l);
    if (size > static_cast<uint64_t>(n)) {
      return Corrupt(
          path, absl::StrCat("IVF list ", l, " holds ", size, " entries, more than the index"));
    }
    total += size;
    if (mapped != nullptr) {
      // Bytes of one list in the mapping: capacity codes, then capacity ids.
      const faiss::OnDiskOneList& one = mapped->lists[l];
      const uint64_t entry = lists.code_size + sizeof(idx_t);
      if (one.capacity < one.size || one.offset > mapped->totsize ||
          one.capacity > (mapped->totsize - one.offset) / entry) {
        return Corrupt(path, absl::StrCat("mapped IVF list ", l, " lies outside the file"));
      }
    }
    if (size == 0) continue;
    faiss::InvertedLists::ScopedIds ids(&lists, l);
    // Mapped lists need not be 8-byte aligned (they follow the file's header): each id
    // is copied out rather than loaded through a misaligned pointer.
    const unsigned char* raw = reinterpret_cast<const unsigned char*>(ids.get());
    for (size_t j = 0; j < size; ++j) {
      idx_t id;
      std::memcpy(&id, raw + j * sizeof(idx_t), sizeof(idx_t));
      if (id < 0 || id >= n) {
        return Corrupt(path, absl::StrCat("IVF list ", l, " entry ", j, " has id ", id,
                                          ", outside [0, ", n, ")"));
      }
    }
  }
  if (total != static_cast<uint64_t>(n)) {
    return Corrupt(path, absl::StrCat("IVF lists hold ", total, " entries, the index ", n));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateFaissIndex(const faiss::Index& index, const std::string& path) {
  if (index.ntotal < 0 || index.d <= 0) {
    return Corrupt(path, absl::StrCat("shape ", index.ntotal, " x ", index.d));
  }
  if (const auto* hnsw = dynamic_cast<const faiss::IndexHNSW*>(&index))
    return CheckHnsw(*hnsw, path);
  if (const auto* ivf = dynamic_cast<const faiss::IndexIVF*>(&index)) return CheckIvf(*ivf, path);
  return absl::OkStatus();
}

}  // namespace simsearch
