#include "engine/exact_searcher.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "engine/scan_kernel.h"
#include "engine/top_k.h"

namespace simsearch {
namespace {

// Rows scored per block: 1024 rows of 128 floats is 512 KiB, about an L2 cache.
constexpr uint64_t kBlockRows = 1024;

absl::Status CheckArgs(size_t n, const SearchParams& params) {
  if (params.k < 1)
    return absl::InvalidArgumentError(absl::StrCat("k must be >= 1, got ", params.k));
  if (params.exclude != nullptr && params.exclude->size() != n) {
    return absl::InternalError(
        absl::StrCat("exclusions for ", params.exclude->size(), " queries, but ", n, " queries"));
  }
  return absl::OkStatus();
}

absl::Status DeadlinePassed() {
  return absl::DeadlineExceededError("deadline passed during the search");
}

// The best `keep` rows of base (float rows or halves) for each query, filtered.
// Scored by scan_kernel.h, so a query's scores do not depend on the batch it came in.
template <typename T>
absl::Status ScanTop(const T* base, uint64_t count, uint64_t dims, const float* queries, size_t n,
                     int keep, const SearchParams& params, std::vector<TopK>* tops_out) {
  const bool check_deadline = params.deadline != absl::InfiniteFuture();
  if (check_deadline && absl::Now() >= params.deadline) return DeadlinePassed();
  std::vector<TopK>& tops = *tops_out;
  tops.assign(n, TopK(keep));
  // Query i's next excluded row not yet passed (rows arrive in ascending order).
  std::vector<size_t> next_out(n, 0);
  // scores[i * ld + r]: query i against row start + r of the block.
  const uint64_t ld = std::min(kBlockRows, count);
  std::vector<float> scores(n * ld);
  for (uint64_t start = 0; start < count; start += kBlockRows) {
    const uint64_t rows = std::min(kBlockRows, count - start);
    ScoreRows(base + start * dims, rows, queries, n, dims, scores.data(), ld);
    for (size_t i = 0; i < n; ++i) {
      const float* s = scores.data() + i * ld;
      TopK& top = tops[i];
      for (uint64_t r = 0; r < rows; ++r) {
        if (top.full()) {  // skip to the next row that could enter
          r = NextAtLeast(s, r, rows, top.worst());
          if (r == rows) break;
        }
        const uint32_t row = static_cast<uint32_t>(start + r);
        if (params.filter != nullptr && !params.filter->Allows(row)) continue;
        if (params.exclude != nullptr) {
          const std::vector<uint32_t>& out = (*params.exclude)[i];
          size_t& at = next_out[i];
          while (at < out.size() && out[at] < row) ++at;
          if (at < out.size() && out[at] == row) continue;
        }
        top.Push({row, s[r]});
      }
    }
    if (check_deadline && absl::Now() >= params.deadline) return DeadlinePassed();
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ExactSearcher::Search(const float* queries, size_t n, const SearchParams& params,
                                   std::vector<std::vector<Neighbor>>* results) const {
  SIMSEARCH_RETURN_IF_ERROR(CheckArgs(n, params));
  std::vector<TopK> tops;
  SIMSEARCH_RETURN_IF_ERROR(ScanTop(base_, count_, dims_, queries, n, params.k, params, &tops));
  results->resize(n);
  for (size_t i = 0; i < n; ++i) (*results)[i] = tops[i].Take();
  return absl::OkStatus();
}

absl::Status HalfScanSearcher::Search(const float* queries, size_t n, const SearchParams& params,
                                      std::vector<std::vector<Neighbor>>* results) const {
  SIMSEARCH_RETURN_IF_ERROR(CheckArgs(n, params));
  const int keep = static_cast<int>(std::min<int64_t>(
      static_cast<int64_t>(count_), static_cast<int64_t>(params.k) * std::max(1, rescore_)));
  std::vector<TopK> candidates;
  SIMSEARCH_RETURN_IF_ERROR(ScanTop(halves_, count_, dims_, queries, n, keep, params, &candidates));
  results->resize(n);
  for (size_t i = 0; i < n; ++i) {
    TopK top(params.k);
    for (const Neighbor& c : candidates[i].Take()) {
      top.Push({c.row, ScoreOne(base_ + uint64_t{c.row} * dims_, queries + i * dims_, dims_)});
    }
    (*results)[i] = top.Take();
  }
  return absl::OkStatus();
}

absl::Status ExactSearcher::SearchRows(const float* queries, size_t n,
                                       const std::vector<uint32_t>& rows,
                                       const SearchParams& params,
                                       std::vector<std::vector<Neighbor>>* results) const {
  if (auto st = CheckArgs(n, params); !st.ok()) return st;
  if (params.exclude != nullptr)
    return absl::InternalError("SearchRows takes no per-query exclusions (put them in the rows)");
  std::vector<TopK> tops(n, TopK(params.k));
  for (size_t idx = 0; idx < rows.size(); ++idx) {
    const uint32_t row = rows[idx];
    if (row >= count_) return absl::OutOfRangeError(absl::StrCat("row ", row, " out of range"));
    const float* v = base_ + uint64_t{row} * dims_;
    for (size_t i = 0; i < n; ++i) {
      const float s = ScoreOne(queries + i * dims_, v, dims_);
      if (tops[i].Admits(s)) tops[i].Push({row, s});
    }
    if (idx % kBlockRows == kBlockRows - 1 && params.deadline != absl::InfiniteFuture() &&
        absl::Now() >= params.deadline) {
      return DeadlinePassed();
    }
  }
  results->resize(n);
  for (size_t i = 0; i < n; ++i) (*results)[i] = tops[i].Take();
  return absl::OkStatus();
}

}  // namespace simsearch
