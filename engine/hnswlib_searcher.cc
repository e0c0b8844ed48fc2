#include "engine/hnswlib_searcher.h"

#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "core/status_macros.h"

namespace simsearch {
absl::Status BuildHnswlibIndex(const float* x, uint64_t n, uint64_t d, const IndexParams& params,
                               uint64_t seed, int threads, const std::string& path,
                               const std::function<void(double)>& progress) {
  if (params.hnsw_m < 2 || params.hnsw_m > 1024 || params.ef_construction < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("hnswlib needs M in 2-1024 and ef_construction >= 1, got M ", params.hnsw_m,
                     ", ef_construction ", params.ef_construction));
  }
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  try {
    hnswlib::InnerProductSpace space(d);
    hnswlib::HierarchicalNSW<float> index(&space, n, static_cast<size_t>(params.hnsw_m),
                                          static_cast<size_t>(params.ef_construction),
                                          static_cast<size_t>(seed));
    std::atomic<uint64_t> next{0};
    std::atomic<bool> failed{false};
    std::string error;
    std::mutex error_mu;
    auto work = [&](int t) {
      for (uint64_t i; !failed && (i = next.fetch_add(1)) < n;) {
        try {
          index.addPoint(x + i * d, static_cast<hnswlib::labeltype>(i));
        } catch (const std::exception& e) {
          std::lock_guard<std::mutex> lock(error_mu);
          error = e.what();
          failed = true;
        }
        if (t == 0 && i % 4096 == 0 && progress)
          progress(static_cast<double>(i) / static_cast<double>(n));
      }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(work, t);
    work(0);
    for (auto& th : pool) th.join();
    if (failed)
      return absl::InternalError(absl::StrCat("hnswlib failed to build the graph: ", error));
    if (progress) progress(1);
    index.saveIndex(path);
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("hnswlib failed to build or write ", path, ": ", e.what()));
  }
  // saveIndex reports no write error: read the file back as the engine will.
  return ValidateHnswlibIndex(path, d, n);
}

HnswlibSearcher::~HnswlibSearcher() = default;

absl::StatusOr<std::unique_ptr<HnswlibSearcher>> HnswlibSearcher::Open(const std::string& path,
                                                                       const IndexParams& params,
                                                                       uint64_t dims,
                                                                       uint64_t count) {
  SIMSEARCH_RETURN_IF_ERROR(ValidateHnswlibIndex(path, dims, count));
  std::unique_ptr<HnswlibSearcher> s(new HnswlibSearcher());
  s->dims_ = dims;
  s->count_ = count;
  s->ef_ = std::max(1, params.ef_search);
  try {
    s->space_ = std::make_unique<hnswlib::InnerProductSpace>(dims);
    s->index_ =
        std::make_unique<hnswlib::HierarchicalNSW<float>>(s->space_.get(), path, false, count);
    s->index_->setEf(static_cast<size_t>(s->ef_));
  } catch (const std::exception& e) {
    return absl::DataLossError(absl::StrCat(path, ": hnswlib cannot load it: ", e.what()));
  }
  return s;
}

namespace {

// hnswlib's searchKnn with the beam `ef` given per call (hnswlib 0.6.2 keeps it in the
// index, where setEf would change it for every thread): a greedy descent through the
// upper levels from the entry point, then a beam search of max(ef, k) on the base
// level, keeping the k nearest. (Distances: 1 - inner product.)
std::priority_queue<std::pair<float, hnswlib::labeltype>> SearchWithBeam(
    const hnswlib::HierarchicalNSW<float>& index, const float* query, size_t k, size_t ef) {
  std::priority_queue<std::pair<float, hnswlib::labeltype>> result;
  if (index.cur_element_count == 0) return result;
  hnswlib::tableint current = index.enterpoint_node_;
  float best =
      index.fstdistfunc_(query, index.getDataByInternalId(current), index.dist_func_param_);
  for (int level = index.maxlevel_; level > 0; --level) {
    for (bool moved = true; moved;) {
      moved = false;
      hnswlib::linklistsizeint* links = index.get_linklist(current, level);
      const int size = index.getListCount(links);
      const auto* neighbours = reinterpret_cast<const hnswlib::tableint*>(links + 1);
      for (int i = 0; i < size; ++i) {  // links were checked at open (ValidateHnswlibIndex)
        const float d = index.fstdistfunc_(query, index.getDataByInternalId(neighbours[i]),
                                           index.dist_func_param_);
        if (d < best) {
          best = d;
          current = neighbours[i];
          moved = true;
        }
      }
    }
  }
  auto top = index.num_deleted_
                 ? index.searchBaseLayerST<true, true>(current, query, std::max(ef, k))
                 : index.searchBaseLayerST<false, true>(current, query, std::max(ef, k));
  while (top.size() > k) top.pop();
  for (; !top.empty(); top.pop()) {
    result.push({top.top().first, index.getExternalLabel(top.top().second)});
  }
  return result;
}

}  // namespace

absl::Status HnswlibSearcher::Search(const float* queries, size_t n, const SearchParams& params,
                                     std::vector<std::vector<Neighbor>>* results) const {
  results->assign(n, {});
  const size_t k = static_cast<size_t>(std::max(1, params.k));
  // The bundle's beam is the index's own (searchKnn); another is passed per call.
  const int ef = params.ef > 0 ? params.ef : ef_;
  // With a filter, a deeper list (hnswlib cannot filter while it walks the graph).
  const size_t fetch =
      params.filter == nullptr ? k : std::max<size_t>(4 * k, static_cast<size_t>(ef));
  for (size_t i = 0; i < n; ++i) {
    if (absl::Now() > params.deadline)
      return absl::DeadlineExceededError("deadline passed during ANN search");
    std::priority_queue<std::pair<float, hnswlib::labeltype>> top;
    try {
      const size_t want = std::min<size_t>(fetch, count_);
      top = ef == ef_ ? index_->searchKnn(queries + i * dims_, want)
                      : SearchWithBeam(*index_, queries + i * dims_, want, static_cast<size_t>(ef));
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("hnswlib search failed: ", e.what()));
    }
    std::vector<Neighbor>& out = (*results)[i];
    out.reserve(top.size());
    for (; !top.empty(); top.pop()) {
      const uint32_t row = static_cast<uint32_t>(top.top().second);
      if (params.filter != nullptr && !params.filter->Allows(row)) continue;
      out.push_back({row, 1.0f - top.top().first});  // InnerProductSpace: distance 1 - <q, x>
    }
    std::sort(out.begin(), out.end(), BetterNeighbor);
    if (out.size() > k) out.resize(k);
  }
  return absl::OkStatus();
}

}  // namespace simsearch
