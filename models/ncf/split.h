// The leave-one-out protocol of He et al. 2017: one held-out item per user, ranked
// among sampled items the user never interacted with.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "core/interactions.h"

namespace simsearch::ncf {

struct Split {
  uint32_t num_users = 0;
  uint32_t num_items = 0;
  std::vector<std::vector<uint32_t>> train;  // per user, sorted: what is trained on
  // Per user, sorted: every item on the user's list but the held-out one (train, plus
  // the only-listed: dropped, plan to watch). Evaluation never ranks these.
  std::vector<std::vector<uint32_t>> listed;
  std::vector<int32_t> test_item;                     // per user; -1: not evaluated
  std::vector<std::vector<uint32_t>> test_negatives;  // per evaluated user: items never seen
  uint64_t seed = 0;

  uint64_t num_train() const;
  uint32_t num_test_users() const;
  bool InTrain(uint32_t user, uint32_t item) const;  // binary search
};

// InvalidArgument naming `origin` unless there are at least two users and two items:
// collaborative filtering learns from what other users did.
absl::Status CheckTrainable(const Interactions& data, const std::string& origin);

// Holds out one item per user chosen uniformly at random among the user's views (the
// data has no timestamps; Interactions::flags_of_user), for users with at least two
// items, one view and something left to train on; other users keep their items in
// training and are not evaluated. Only-listed items are never trained on. For each evaluated user,
// `negatives` items are drawn uniformly, without replacement, from the items the user never
// interacted with (in training or test). Deterministic for a seed.
Split LeaveOneOut(const Interactions& data, uint64_t seed, int negatives = 99);

// A split of `data`'s users and items with no pair in it and no user evaluated: what the
// protocols below fill.
Split EmptySplit(const Interactions& data, uint64_t seed = 0);

// Every trained pair in training and no user held out: for a model trained to serve,
// or tested on data kept apart (the cold-start time split).
Split TrainOnAll(const Interactions& data);

// Confidence weights of split.train's pairs from their scores (TrainOptions::
// positive_weights; needs data.score_of_user, InteractionsOptions::read_scores): a
// scored pair (score s > 0, on MAL's 1-10) weighs max(0.1, 1 + strength (s - 5.5) / 4.5),
// 1 + strength at 10, 1 - strength at 1; the scored pairs' weights are then divided by
// their mean, so that they weigh as much in all as unscored pairs (weight 1) and only
// their spread changes.
// `stats` (optional): how many trained pairs have a score, the largest score, and the
// range of the weights (1 to 1 when none is scored).
struct ScoreStats {
  uint64_t pairs = 0;
  float max_score = 0;
  float min_weight = 1, max_weight = 1;
};
std::vector<std::vector<float>> ScoreWeights(const Interactions& data, const Split& split,
                                             double strength, ScoreStats* stats = nullptr);

// Per user, sorted: the items marked Interactions::kNegative (InteractionsOptions::
// negative_statuses) and neither trained on nor a view (a pair listed twice, completed
// and dropped, is a view), nor the user's held-out item: explicit negatives for the
// trainer (TrainOptions::explicit_negatives).
std::vector<std::vector<uint32_t>> NegativePairs(const Interactions& data, const Split& split);

}  // namespace simsearch::ncf
