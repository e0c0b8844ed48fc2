#include "engine/exact_searcher.h"

#include <Eigen/Core>
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "engine/top_k.h"

namespace simsearch {
namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstRowMap = Eigen::Map<const RowMatrix>;

// Rows scored per block: 1024 rows of 128 floats is 512 KiB, about an L2 cache.
constexpr uint64_t kBlockRows = 1024;

absl::Status CheckArgs(size_t n, const SearchParams& params) {
  if (params.k < 1) return absl::InvalidArgumentError(absl::StrCat("k must be >= 1, got ", params.k));
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
  ConstRowMap q(queries, static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(dims_));
  std::vector<TopK> tops(n, TopK(params.k));
  // scores(r, i) = <base row r, query i>; column-major so each query's scores are
  // contiguous.
  Eigen::MatrixXf scores;
  for (uint64_t start = 0; start < count_; start += kBlockRows) {
    const uint64_t rows = std::min(kBlockRows, count_ - start);
    ConstRowMap block(base_ + start * dims_, static_cast<Eigen::Index>(rows),
                      static_cast<Eigen::Index>(dims_));
    scores.noalias() = block * q.transpose();
    for (size_t i = 0; i < n; ++i) {
      const float* s = scores.col(static_cast<Eigen::Index>(i)).data();
      TopK& top = tops[i];
      for (uint64_t r = 0; r < rows; ++r) {
        if (!top.Admits(s[r])) continue;
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
  ConstRowMap q(queries, static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(dims_));
  std::vector<TopK> tops(n, TopK(params.k));
  for (size_t idx = 0; idx < rows.size(); ++idx) {
    const uint32_t row = rows[idx];
    if (row >= count_) return absl::OutOfRangeError(absl::StrCat("row ", row, " out of range"));
    Eigen::Map<const Eigen::VectorXf> v(base_ + uint64_t{row} * dims_,
                                        static_cast<Eigen::Index>(dims_));
    for (size_t i = 0; i < n; ++i) {
      const float s = q.row(static_cast<Eigen::Index>(i)).dot(v);
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
