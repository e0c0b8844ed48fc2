// Evaluation on a leave-one-out split, for trained models and baselines alike.
//
// Sampled (He et al. 2017): the held-out item ranked among the user's 99 sampled
// negatives: HR@10 and NDCG@10. Full ranking: the held-out item ranked among every
// item not on the user's list (Split::listed): Recall@20 and NDCG@20 (with one
// held-out item, Recall@20 is the hit rate at 20). Sampled metrics can rank models
// differently from full ranking (Krichene & Rendle 2020), so both are reported.
//
// Ties are counted against the held-out item: an item scoring exactly as high ranks
// above it. A constant scorer therefore gets no credit.
#pragma once

#include <cstdint>
#include <vector>

#include "models/ncf/split.h"

namespace simsearch::ncf {

// Scores of items for a user; larger is better.
class Scorer {
 public:
  virtual ~Scorer() = default;
  virtual void Score(uint32_t user, const uint32_t* items, size_t n, float* out) const = 0;
  // out: size num_items.
  virtual void ScoreAll(uint32_t user, float* out) const = 0;
};

// 0-based rank of the target among the candidates: how many score >= target.
size_t RankOf(float target, const float* candidates, size_t n);
// 1 if rank < k.
double HitAt(size_t rank, size_t k);
// 1 / log2(rank + 2) if rank < k, else 0 (one relevant item, so IDCG = 1).
double NdcgAt(size_t rank, size_t k);

struct Metrics {
  double hr10 = 0, ndcg10 = 0;      // sampled, 99 negatives
  double recall20 = 0, ndcg20 = 0;  // full ranking
  uint32_t users = 0;               // evaluated users
};

// `threads` evaluates users in parallel (the result does not depend on it).
Metrics Evaluate(const Scorer& scorer, const Split& split, int threads = 1);

// The same, per group of users: group_of_user[u] in [0, groups) (say, the data set a
// user comes from). Returns groups + 1 results: one per group, then all users.
std::vector<Metrics> EvaluateGroups(const Scorer& scorer, const Split& split,
                                    const std::vector<uint16_t>& group_of_user, int groups,
                                    int threads = 1);

}  // namespace simsearch::ncf
