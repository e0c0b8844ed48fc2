// The baselines every NCF result is compared with, scored by the same evaluation.
#pragma once

#include <cstdint>
#include <vector>

#include "models/ncf/evaluate.h"
#include "models/ncf/split.h"

namespace simsearch::ncf {

// Most popular: an item's score is the number of training users who have it.
class PopularityScorer final : public Scorer {
 public:
  explicit PopularityScorer(const Split& split);
  void Score(uint32_t user, const uint32_t* items, size_t n, float* out) const override;
  void ScoreAll(uint32_t user, float* out) const override;

 private:
  std::vector<float> count_;
};

// Item-based kNN (Sarwar et al. 2001) on implicit feedback: sim(i, j) is the cosine of
// the items' user sets, |U_i & U_j| / sqrt(|U_i| |U_j|), keeping each item's
// `neighbours` most similar items; a user's score for j is the sum of sim(i, j) over
// the items i in the user's training history.
class ItemKnnScorer final : public Scorer {
 public:
  ItemKnnScorer(const Split& split, int neighbours = 200, int threads = 1);
  void Score(uint32_t user, const uint32_t* items, size_t n, float* out) const override;
  void ScoreAll(uint32_t user, float* out) const override;

  // The neighbour list of item i: (item, similarity), best first.
  const std::vector<std::pair<uint32_t, float>>& neighbours(uint32_t i) const { return nn_[i]; }

 private:
  const Split& split_;
  std::vector<std::vector<std::pair<uint32_t, float>>> nn_;
};

}  // namespace simsearch::ncf
