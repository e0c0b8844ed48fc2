#include "retrieval/fold_in.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace simsearch {
namespace {

// Factors A (d x d symmetric positive definite, row-major) in place: its lower triangle
// becomes L with A = L L^T. False if A is not positive definite.
bool Cholesky(std::vector<double>* a, int d) {
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
  return true;
}

// Solves L L^T x = b in place (b becomes x), L from Cholesky.
void CholeskySolve(const std::vector<double>& L, int d, double* x) {
  for (int i = 0; i < d; ++i) {  // L y = b
    double t = x[i];
    for (int k = 0; k < i; ++k) t -= L[i * d + k] * x[k];
    x[i] = t / L[i * d + i];
  }
  for (int i = d - 1; i >= 0; --i) {  // L^T x = y
    double t = x[i];
    for (int k = i + 1; k < d; ++k) t -= L[k * d + i] * x[k];
    x[i] = t / L[i * d + i];
  }
}

// The fold-in system's factored matrix, alpha G + Q_L^T Q_L + w Q_D^T Q_D + (lambda + mu) I.
absl::Status FactorFoldIn(const float* gram, int d, const std::vector<const float*>& liked,
                          const std::vector<const float*>& disliked, float negative_weight,
                          const FoldInParams& params, bool use_prior, float prior_weight,
                          std::vector<double>* a) {
  if (!(params.lambda > 0) || !(params.alpha >= 0)) {
    return absl::InvalidArgumentError(absl::StrCat("fold-in needs lambda > 0 and alpha >= 0, got ",
                                                   params.lambda, " and ", params.alpha));
  }
  if (liked.empty()) return absl::InvalidArgumentError("fold-in needs at least one liked item");
  a->assign(static_cast<size_t>(d) * d, 0.0);
  std::vector<double>& A = *a;
  for (int i = 0; i < d * d; ++i) A[i] = double{params.alpha} * gram[i];
  for (int i = 0; i < d; ++i) A[i * d + i] += params.lambda + (use_prior ? prior_weight : 0.0f);
  auto add_outer = [&](const float* q, double w) {
    for (int i = 0; i < d; ++i) {
      const double qi = w * q[i];
      for (int j = 0; j <= i; ++j) A[i * d + j] += qi * q[j];
    }
  };
  for (const float* q : liked) add_outer(q, 1.0);
  for (const float* q : disliked) add_outer(q, negative_weight);
  // Only the lower triangle is read by the factorisation.
  if (!Cholesky(a, d)) {
    return absl::InternalError("fold-in system is not positive definite (non-finite vectors?)");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status FoldInUser(const float* gram, int d, const std::vector<const float*>& liked,
                        const std::vector<const float*>& disliked, float negative_weight,
                        const FoldInParams& params, float* p, const float* prior,
                        float prior_weight) {
  const bool use_prior = prior != nullptr && prior_weight > 0;
  std::vector<double> L;
  SIMSEARCH_RETURN_IF_ERROR(
      FactorFoldIn(gram, d, liked, disliked, negative_weight, params, use_prior, prior_weight, &L));
  std::vector<double> b(static_cast<size_t>(d), 0.0);
  if (use_prior) {
    for (int i = 0; i < d; ++i) b[i] += double{prior_weight} * prior[i];
  }
  for (const float* q : liked) {
    for (int i = 0; i < d; ++i) b[i] += q[i];
  }
  CholeskySolve(L, d, b.data());
  for (int i = 0; i < d; ++i) p[i] = static_cast<float>(b[i]);
  return absl::OkStatus();
}

absl::Status FoldInParts(const float* gram, int d, const std::vector<const float*>& liked,
                         const std::vector<const float*>& disliked, float negative_weight,
                         const FoldInParams& params, const float* prior, float prior_weight,
                         std::vector<double>* parts, std::vector<double>* prior_part) {
  const bool use_prior = prior != nullptr && prior_weight > 0;
  std::vector<double> L;
  SIMSEARCH_RETURN_IF_ERROR(
      FactorFoldIn(gram, d, liked, disliked, negative_weight, params, use_prior, prior_weight, &L));
  parts->assign(liked.size() * static_cast<size_t>(d), 0.0);
  for (size_t j = 0; j < liked.size(); ++j) {
    double* x = parts->data() + j * static_cast<size_t>(d);
    for (int i = 0; i < d; ++i) x[i] = liked[j][i];
    CholeskySolve(L, d, x);
  }
  prior_part->assign(static_cast<size_t>(d), 0.0);
  if (use_prior) {
    for (int i = 0; i < d; ++i) (*prior_part)[i] = double{prior_weight} * prior[i];
    CholeskySolve(L, d, prior_part->data());
  }
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
