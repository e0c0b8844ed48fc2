#include "engine/faiss_searcher.h"

#include <faiss/Index.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/index_io.h>
#include <faiss/invlists/OnDiskInvertedLists.h>
#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <exception>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "engine/faiss_validate.h"
#include "engine/top_k.h"

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

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstRowMap = Eigen::Map<const RowMatrix>;
using ConstVectorMap = Eigen::Map<const Eigen::VectorXf>;

// Lists scanned between two looks at the deadline.
constexpr size_t kListsPerDeadlineCheck = 64;

}  // namespace

struct FaissSearcher::IvfLists {
  struct List {
    const unsigned char* vectors;  // size x dims floats, row-major, at any byte address
    const unsigned char* ids;      // size int64 rows, at any byte address
    uint64_t size;
  };
  const float* centroids = nullptr;  // nlist x dims, the flat quantizer's vectors
  uint64_t dims = 0;
  std::vector<List> lists;
};

namespace {

// <v, q> for a vector stored at any byte address. FAISS maps an IVF file's lists where
// they lie in the file, right after its header, so their floats need not be 4-byte
// aligned. Loads go through memcpy, which is defined at any address and which the
// compiler turns into unaligned vector loads; kLanes running sums vectorise.
float DotAt(const unsigned char* v, const float* q, uint64_t dims) {
  constexpr uint64_t kLanes = 16;
  float acc[kLanes] = {};
  uint64_t j = 0;
  for (; j + kLanes <= dims; j += kLanes) {
    float x[kLanes];
    std::memcpy(x, v + j * sizeof(float), sizeof x);
    for (uint64_t t = 0; t < kLanes; ++t) acc[t] += x[t] * q[j + t];
  }
  float tail = 0;
  for (; j < dims; ++j) {
    float x;
    std::memcpy(&x, v + j * sizeof(float), sizeof x);
    tail += x * q[j];
  }
  for (uint64_t width = kLanes / 2; width > 0; width /= 2) {
    for (uint64_t t = 0; t < width; ++t) acc[t] += acc[t + width];
  }
  return acc[0] + tail;
}

}  // namespace

FaissSearcher::FaissSearcher(std::unique_ptr<faiss::Index> index, IndexKind kind,
                             IndexParams params)
    : index_(std::move(index)), kind_(kind), params_(params) {}

FaissSearcher::~FaissSearcher() = default;

absl::StatusOr<std::unique_ptr<FaissSearcher>> FaissSearcher::Open(const std::string& path,
                                                                   IndexKind kind,
                                                                   const IndexParams& params,
                                                                   uint64_t dims, uint64_t count) {
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
    return absl::DataLossError(absl::StrCat(path, ": index holds ", index->ntotal, " x ", index->d,
                                            ", the manifest says ", count, " x ", dims));
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
  if (auto* hnsw = dynamic_cast<faiss::IndexHNSW*>(index.get());
      hnsw != nullptr && params.ef_search > 0) {
    hnsw->hnsw.efSearch = params.ef_search;
  }
  if (auto st = ValidateFaissIndex(*index, path); !st.ok()) return st;
  if (auto st = region.CheckIntact(); !st.ok()) return st;
  auto searcher = std::unique_ptr<FaissSearcher>(new FaissSearcher(std::move(index), kind, params));
  searcher->region_ = std::move(region);
  // Our scan needs a flat inner-product quantizer and flat float codes (what the
  // indexer writes); anything else is left to FAISS's own search. One pointer pair per
  // list, computed once: the lists themselves are not touched.
  const auto* ivf = dynamic_cast<const faiss::IndexIVFFlat*>(searcher->index_.get());
  const auto* quantizer =
      ivf == nullptr ? nullptr : dynamic_cast<const faiss::IndexFlat*>(ivf->quantizer);
  if (quantizer != nullptr && quantizer->metric_type == faiss::METRIC_INNER_PRODUCT &&
      ivf->code_size == sizeof(float) * dims) {
    auto lists = std::make_unique<IvfLists>();
    lists->centroids = quantizer->get_xb();  // in memory, from operator new: aligned
    lists->dims = dims;
    lists->lists.reserve(ivf->nlist);
    for (size_t l = 0; l < ivf->nlist; ++l) {
      const size_t size = ivf->invlists->list_size(l);
      // Array and mapped lists hand out pointers into memory they own (no copy); the
      // release calls are no-ops for both.
      lists->lists.push_back(
          {size == 0 ? nullptr : ivf->invlists->get_codes(l),
           size == 0 ? nullptr : reinterpret_cast<const unsigned char*>(ivf->invlists->get_ids(l)),
           size});
    }
    searcher->ivf_ = std::move(lists);
  }
  return searcher;
}

// Top nprobe centroids by inner product (ties: lower list first), then every vector of
// those lists scored as one product per list. The candidates are IndexIVF::search's.
absl::Status FaissSearcher::SearchIvf(const float* queries, size_t n, const SearchParams& params,
                                      std::vector<std::vector<Neighbor>>* results) const {
  const IvfLists& ivf = *ivf_;
  const auto dims = static_cast<Eigen::Index>(ivf.dims);
  const auto nlist = static_cast<Eigen::Index>(ivf.lists.size());
  const int asked = params.nprobe > 0 ? params.nprobe : params_.nprobe;
  const int nprobe = static_cast<int>(std::min<int64_t>(std::max(1, asked), nlist));
  const bool check_deadline = params.deadline != absl::InfiniteFuture();
  Eigen::VectorXf centroid_scores;
  results->assign(n, {});
  for (size_t i = 0; i < n; ++i) {
    const ConstVectorMap q(queries + i * ivf.dims, dims);
    centroid_scores.noalias() = ConstRowMap(ivf.centroids, nlist, dims) * q;
    TopK probe(nprobe);
    for (Eigen::Index l = 0; l < nlist; ++l) {
      if (probe.Admits(centroid_scores[l]))
        probe.Push({static_cast<uint32_t>(l), centroid_scores[l]});
    }
    const std::vector<Neighbor> probed = probe.Take();
    TopK top(params.k);
    for (size_t p = 0; p < probed.size(); ++p) {
      const IvfLists::List& list = ivf.lists[probed[p].row];
      const uint64_t stride = ivf.dims * sizeof(float);
      for (uint64_t j = 0; j < list.size; ++j) {
        const float score = DotAt(list.vectors + j * stride, q.data(), ivf.dims);
        if (!top.Admits(score)) continue;
        idx_t id;
        std::memcpy(&id, list.ids + j * sizeof(idx_t), sizeof(idx_t));
        const auto row = static_cast<uint32_t>(id);  // validated at open: 0 <= id < count
        if (params.filter != nullptr && !params.filter->Allows(row)) continue;
        top.Push({row, score});
      }
      if (check_deadline && p % kListsPerDeadlineCheck == kListsPerDeadlineCheck - 1 &&
          absl::Now() >= params.deadline) {
        return absl::DeadlineExceededError("deadline passed during the search");
      }
    }
    (*results)[i] = top.Take();
  }
  if (check_deadline && absl::Now() >= params.deadline) {
    return absl::DeadlineExceededError("deadline passed during the search");
  }
  return absl::OkStatus();
}

absl::Status FaissSearcher::CheckParams(const SearchParams& params) const {
  if (kind_ != IndexKind::kHnsw || params.ef <= 0 || params.ef == params_.ef_search) {
    return absl::OkStatus();
  }
  // FAISS 1.7.3 sizes the search's candidate queue from the efSearch stored in the
  // index (see Open), so another beam per call would search with a queue of the wrong
  // size: refused rather than answered wrongly.
  return absl::InvalidArgumentError(absl::StrCat(
      "ef ", params.ef, " for one call: this collection's HNSW graph is FAISS's, which (FAISS ",
      "1.7.3) searches with the beam it was opened with, ", params_.ef_search,
      "; leave ef unset, or rebuild the collection with --hnsw-library hnswlib"));
}

absl::Status FaissSearcher::Search(const float* queries, size_t n, const SearchParams& params,
                                   std::vector<std::vector<Neighbor>>* results) const {
  if (params.k < 1)
    return absl::InvalidArgumentError(absl::StrCat("k must be >= 1, got ", params.k));
  if (params.deadline != absl::InfiniteFuture() && absl::Now() >= params.deadline) {
    return absl::DeadlineExceededError("deadline passed before the search");
  }
  if (ivf_ != nullptr) return SearchIvf(queries, n, params, results);
  SIMSEARCH_RETURN_IF_ERROR(CheckParams(params));
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
    ivf.nprobe = std::max(1, params.nprobe > 0 ? params.nprobe : params_.nprobe);
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
