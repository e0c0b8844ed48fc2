#include "retrieval/fold_in.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace simsearch {
namespace {

// Solves A x = b in place (A: d x d symmetric positive definite, row-major; its lower
// triangle is overwritten by the Cholesky factor; b becomes x). False if A is not
// positive definite.
bool SolveSpd(std::vector<double>* a, std::vector<double>* b, int d) {
  std::vector<double>& A = *a;
  for (int j = 0; j < d; ++j) {
    double s = A[j * d + j];
    for (int k = 0; k < j; ++k) s -= A[j * d + k] * A[j * d + k];
    if (!(s > 0)) return false;
    const double l = std::sqrt(s);
    A[j * d + j] = l;
    for (int i = j + 1; i < d; ++i) {
      double t = A[i * d + j];
      for (int k = 0; k < j; ++k) t -= A[i * d + k] * A[j * d + k];
      A[i * d + j] = t / l;
    }
  }
  std::vector<double>& x = *b;
  for (int i = 0; i < d; ++i) {  // L y = b
    double t = x[i];
    for (int k = 0; k < i; ++k) t -= A[i * d + k] * x[k];
    x[i] = t / A[i * d + i];
  }
  for (int i = d - 1; i >= 0; --i) {  // L^T x = y
    double t = x[i];
    for (int k = i + 1; k < d; ++k) t -= A[k * d + i] * x[k];
    x[i] = t / A[i * d + i];
  }
  return true;
}

}  // namespace

absl::Status FoldInUser(const float* gram, int d, const std::vector<const float*>& liked,
                        const std::vector<const float*>& disliked, float negative_weight,
                        const FoldInParams& params, float* p, const float* prior,
                        float prior_weight) {
  if (!(params.lambda > 0) || !(params.alpha >= 0)) {
    return absl::InvalidArgumentError(absl::StrCat("fold-in needs lambda > 0 and alpha >= 0, got ",
                                                   params.lambda, " and ", params.alpha));
  }
  if (liked.empty()) return absl::InvalidArgumentError("fold-in needs at least one liked item");
  std::vector<double> a(static_cast<size_t>(d) * d), b(static_cast<size_t>(d), 0.0);
  for (int i = 0; i < d * d; ++i) a[i] = double{params.alpha} * gram[i];
  const bool use_prior = prior != nullptr && prior_weight > 0;
  for (int i = 0; i < d; ++i) a[i * d + i] += params.lambda + (use_prior ? prior_weight : 0.0f);
  if (use_prior) {
    for (int i = 0; i < d; ++i) b[i] += double{prior_weight} * prior[i];
  }
  auto add_outer = [&](const float* q, double w) {
    for (int i = 0; i < d; ++i) {
      const double qi = w * q[i];
      for (int j = 0; j <= i; ++j) a[i * d + j] += qi * q[j];
    }
  };
  for (const float* q : liked) {
    add_outer(q, 1.0);
    for (int i = 0; i < d; ++i) b[i] += q[i];
  }
  for (const float* q : disliked) add_outer(q, negative_weight);
  // Only the lower triangle is read by the solver.
  if (!SolveSpd(&a, &b, d)) {
    return absl::InternalError("fold-in system is not positive definite (non-finite vectors?)");
  }
  for (int i = 0; i < d; ++i) p[i] = static_cast<float>(b[i]);
  return absl::OkStatus();
}

std::vector<float> GramMatrix(const float* x, uint64_t n, int d) {
  std::vector<double> g(static_cast<size_t>(d) * d, 0.0);
  for (uint64_t r = 0; r < n; ++r) {
    const float* v = x + r * static_cast<uint64_t>(d);
    for (int i = 0; i < d; ++i) {
      const double vi = v[i];
      for (int j = 0; j <= i; ++j) g[i * d + j] += vi * v[j];
    }
  }
  std::vector<float> out(static_cast<size_t>(d) * d);
  for (int i = 0; i < d; ++i) {
    for (int j = 0; j <= i; ++j) out[i * d + j] = out[j * d + i] = static_cast<float>(g[i * d + j]);
  }
  return out;
}

}  // namespace simsearch
