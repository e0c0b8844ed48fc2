#include "engine/faiss_searcher.h"

#include <faiss/Index.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVF.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/index_io.h>
#include <faiss/invlists/OnDiskInvertedLists.h>
#include <omp.h>

#include <algorithm>
#include <exception>

#include "absl/strings/str_cat.h"
#include "engine/faiss_validate.h"

namespace simsearch {
namespace {

using idx_t = faiss::Index::idx_t;

// Adapts our RowFilter to FAISS (labels are rows).
class FilterSelector final : public faiss::IDSelector {
 public:
  explicit FilterSelector(const RowFilter* f) : filter_(f) {}
  bool is_member(idx_t id) const override {
    return id >= 0 && filter_->Allows(static_cast<uint32_t>(id));
  }

 private:
  const RowFilter* filter_;
};

}  // namespace

FaissSearcher::FaissSearcher(std::unique_ptr<faiss::Index> index, IndexKind kind,
                             IndexParams params)
    : index_(std::move(index)), kind_(kind), params_(params) {}

FaissSearcher::~FaissSearcher() = default;

absl::StatusOr<std::unique_ptr<FaissSearcher>> FaissSearcher::Open(const std::string& path,
                                                                   IndexKind kind,
                                                                   const IndexParams& params,
                                                                   uint64_t dims,
                                                                   uint64_t count) {
  std::unique_ptr<faiss::Index> index;
  try {
    // IO_FLAG_MMAP maps an IVF's inverted lists in place; other kinds ignore it in
    // FAISS 1.7.3 and are read into memory.
    const int flags = kind == IndexKind::kIvf ? faiss::IO_FLAG_MMAP : 0;
    index.reset(faiss::read_index(path.c_str(), flags));
  } catch (const std::exception& e) {
    return absl::DataLossError(absl::StrCat(path, ": FAISS cannot read the index: ", e.what()));
  }
  if (kind == IndexKind::kIvf && dynamic_cast<faiss::IndexIVF*>(index.get()) == nullptr) {
    return absl::DataLossError(absl::StrCat(path, ": the manifest says IVF but the file is not"));
  }
  if (kind == IndexKind::kHnsw && dynamic_cast<faiss::IndexHNSW*>(index.get()) == nullptr) {
    return absl::DataLossError(absl::StrCat(path, ": the manifest says HNSW but the file is not"));
  }
  if (kind == IndexKind::kFlat) {
    return absl::InvalidArgumentError("FaissSearcher serves ivf and hnsw indexes only");
  }
  if (static_cast<uint64_t>(index->d) != dims || static_cast<uint64_t>(index->ntotal) != count) {
    return absl::DataLossError(absl::StrCat(path, ": index holds ", index->ntotal, " x ",
                                            index->d, ", the manifest says ", count, " x ",
                                            dims));
  }
  if (index->metric_type != faiss::METRIC_INNER_PRODUCT) {
    return absl::DataLossError(absl::StrCat(path, ": index metric is not inner product"));
  }
  // Mapped IVF lists: guarded against the file shrinking (core/mapped_file.h) before
  // anything reads them, and no prefetch threads (PLATFORM.md: FAISS starts up to 32
  // per query to prefetch lists, ~5x slower than reading the mapping in place).
  GuardedRegion region;
  if (auto* ivf = dynamic_cast<faiss::IndexIVF*>(index.get())) {
    if (auto* mapped = dynamic_cast<faiss::OnDiskInvertedLists*>(ivf->invlists)) {
      region = GuardedRegion(mapped->ptr, mapped->totsize, path);
      mapped->prefetch_nthread = 0;
    }
  }
  // FAISS 1.7.3 sizes the search's candidate queue from the efSearch stored in the
  // index, whatever efSearch a call passes: the manifest's ef_search is set here, once,
  // before any search, so it holds even for an index stored with another value
  // (tests/engine/searcher_test.cc, AnnHnsw). Searches only read it.
  if (auto* hnsw = dynamic_cast<faiss::IndexHNSW*>(index.get()); hnsw != nullptr && params.ef_search > 0) {
    hnsw->hnsw.efSearch = params.ef_search;
  }
  if (auto st = ValidateFaissIndex(*index, path); !st.ok()) return st;
  if (auto st = region.CheckIntact(); !st.ok()) return st;
  auto searcher = std::unique_ptr<FaissSearcher>(new FaissSearcher(std::move(index), kind, params));
  searcher->region_ = std::move(region);
  return searcher;
}

absl::Status FaissSearcher::Search(const float* queries, size_t n, const SearchParams& params,
                                   std::vector<std::vector<Neighbor>>* results) const {
  if (params.k < 1) return absl::InvalidArgumentError(absl::StrCat("k must be >= 1, got ", params.k));
  if (params.deadline != absl::InfiniteFuture() && absl::Now() >= params.deadline) {
    return absl::DeadlineExceededError("deadline passed before the search");
  }
  // One request, one thread (docs/ARCHITECTURE.md). omp_set_num_threads only sets
  // the calling thread's value, so it is set here, on the thread that searches.
  omp_set_num_threads(1);
  const idx_t k = params.k;
  std::vector<float> distances(n * k);
  std::vector<idx_t> labels(n * k);
  FilterSelector selector(params.filter);
  faiss::SearchParametersIVF ivf;
  faiss::SearchParametersHNSW hnsw;
  faiss::SearchParameters* sp;
  if (kind_ == IndexKind::kIvf) {
    ivf.nprobe = std::max(1, params_.nprobe);
    sp = &ivf;
  } else {
    hnsw.efSearch = std::max<int>(params_.ef_search, params.k);
    sp = &hnsw;
  }
  if (params.filter != nullptr) sp->sel = &selector;
  try {
    index_->search(static_cast<idx_t>(n), queries, k, distances.data(), labels.data(), sp);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("FAISS search failed: ", e.what()));
  }
  results->assign(n, {});
  for (size_t i = 0; i < n; ++i) {
    auto& out = (*results)[i];
    for (idx_t j = 0; j < k; ++j) {
      const idx_t label = labels[i * k + j];
      if (label < 0) continue;  // fewer than k candidates reached
      out.push_back({static_cast<uint32_t>(label), distances[i * k + j]});
    }
    std::sort(out.begin(), out.end(), BetterNeighbor);
  }
  if (params.deadline != absl::InfiniteFuture() && absl::Now() >= params.deadline) {
    return absl::DeadlineExceededError("deadline passed during the search");
  }
  return absl::OkStatus();
}

}  // namespace simsearch
