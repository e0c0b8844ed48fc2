#include "engine/exact_searcher.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "engine/scan_kernel.h"
#include "engine/top_k.h"

namespace simsearch {
namespace {

// Rows scored per block: 1024 rows of 128 floats is 512 KiB, about an L2 cache.
constexpr uint64_t kBlockRows = 1024;

absl::Status CheckArgs(size_t n, const SearchParams& params) {
  if (params.k < 1)
    return absl::InvalidArgumentError(absl::StrCat("k must be >= 1, got ", params.k));
  return absl::OkStatus();
}

absl::Status DeadlinePassed() {
  return absl::DeadlineExceededError("deadline passed during the search");
}

}  // namespace

absl::Status ExactSearcher::Search(const float* queries, size_t n, const SearchParams& params,
                                   std::vector<std::vector<Neighbor>>* results) const {
  if (auto st = CheckArgs(n, params); !st.ok()) return st;
  const bool check_deadline = params.deadline != absl::InfiniteFuture();
  if (check_deadline && absl::Now() >= params.deadline) return DeadlinePassed();
  std::vector<TopK> tops(n, TopK(params.k));
  // scores[i * ld + r]: query i against row start + r of the block. Scored by
  // scan_kernel.h, so a query's scores do not depend on the batch it came in.
  const uint64_t ld = std::min(kBlockRows, count_);
  std::vector<float> scores(n * ld);
  for (uint64_t start = 0; start < count_; start += kBlockRows) {
    const uint64_t rows = std::min(kBlockRows, count_ - start);
    ScoreRows(base_ + start * dims_, rows, queries, n, dims_, scores.data(), ld);
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
        top.Push({row, s[r]});
      }
    }
    if (check_deadline && absl::Now() >= params.deadline) return DeadlinePassed();
  }
  results->resize(n);
  for (size_t i = 0; i < n; ++i) (*results)[i] = tops[i].Take();
  return absl::OkStatus();
}

absl::Status ExactSearcher::SearchRows(const float* queries, size_t n,
                                       const std::vector<uint32_t>& rows,
                                       const SearchParams& params,
                                       std::vector<std::vector<Neighbor>>* results) const {
  if (auto st = CheckArgs(n, params); !st.ok()) return st;
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
