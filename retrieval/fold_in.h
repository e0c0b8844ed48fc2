// Folding a watch list into a matrix-factorisation model as a user: the user vector the
// model would have for that history, computed at query time (Hu, Koren & Volinsky 2008;
// as implicit-feedback ALS recomputes a user). With item vectors q_j and the list's
// liked items L (disliked items D), p minimises
//
//   sum_{i in L} (1 - p.q_i)^2 + w * sum_{i in D} (p.q_i)^2
//     + alpha * sum_{all j} (p.q_j)^2 + lambda * |p|^2
//
// that is (alpha G + Q_L^T Q_L + w Q_D^T Q_D + lambda I) p = Q_L^T 1, G = Q^T Q over all
// items (precomputed once per model). The alpha term pushes every item weakly to 0 (the
// unobserved ones), so popular directions are not over-rewarded; lambda keeps short
// lists from overfitting. Solved in double precision by Cholesky (the matrix is
// symmetric positive definite for lambda > 0).
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/status.h"

namespace simsearch {

struct FoldInParams {
  float alpha = 0.01f;  // weight of every item's "unobserved" target 0
  float lambda = 1.0f;  // ridge
};

// `gram`: d x d row-major, Q^T Q over all items. `liked` and `disliked`: vectors of
// size d. Writes p (size d). InvalidArgument if lambda <= 0 or nothing is liked.
//
// With a `prior` (size d, say the mean user vector) and prior_weight mu > 0, p is also
// pulled toward it: + mu |p - prior|^2, that is (... + mu I) p = Q_L^T 1 + mu prior.
// A short list then stays near the typical user (popular anime), and the list's own
// evidence takes over as it grows.
absl::Status FoldInUser(const float* gram, int d, const std::vector<const float*>& liked,
                        const std::vector<const float*>& disliked, float negative_weight,
                        const FoldInParams& params, float* p, const float* prior = nullptr,
                        float prior_weight = 0.0f);

// The folded-in user split by where it comes from, for explaining its scores: the
// solution is linear in the right-hand side, so p = sum_j parts[j] + prior_part with
// parts[j] = A^{-1} liked[j] (row j of `parts`, liked.size() x d) and prior_part =
// A^{-1} (mu prior) (zeros without a prior), A as in FoldInUser. An item x's score x.p
// is then the sum of x.parts[j], liked item j's share, and x.prior_part, the typical
// user's. Same inputs and errors as FoldInUser.
absl::Status FoldInParts(const float* gram, int d, const std::vector<const float*>& liked,
                         const std::vector<const float*>& disliked, float negative_weight,
                         const FoldInParams& params, const float* prior, float prior_weight,
                         std::vector<double>* parts, std::vector<double>* prior_part);

// G = X^T X for n rows of size d (x: size n*d, row-major); writes d*d floats
// (accumulated in double).
std::vector<float> GramMatrix(const float* x, uint64_t n, int d);

}  // namespace simsearch
