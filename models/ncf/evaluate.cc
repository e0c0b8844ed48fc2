#include "models/ncf/evaluate.h"

#include <omp.h>

#include <cmath>

namespace simsearch::ncf {

size_t RankOf(float target, const float* candidates, size_t n) {
  size_t rank = 0;
  for (size_t j = 0; j < n; ++j) rank += candidates[j] >= target;
  return rank;
}

double HitAt(size_t rank, size_t k) {
  return rank < k ? 1.0 : 0.0;
}

double NdcgAt(size_t rank, size_t k) {
  return rank < k ? 1.0 / std::log2(static_cast<double>(rank) + 2.0) : 0.0;
}

Metrics Evaluate(const Scorer& scorer, const Split& split, int threads) {
  return EvaluateGroups(scorer, split, std::vector<uint16_t>(split.num_users, 0), 1, threads)
      .back();
}

std::vector<Metrics> EvaluateGroups(const Scorer& scorer, const Split& split,
                                    const std::vector<uint16_t>& group_of_user, int groups,
                                    int threads) {
  const uint32_t users = split.num_users;
  std::vector<double> hr10(users, 0), ndcg10(users, 0), r20(users, 0), ndcg20(users, 0);
#pragma omp parallel num_threads(threads)
  {
    std::vector<float> all(split.num_items);
    std::vector<float> sampled;
    std::vector<uint32_t> cand;
#pragma omp for schedule(dynamic, 16)
    for (uint32_t u = 0; u < users; ++u) {
      const int32_t test = split.test_item[u];
      if (test < 0) continue;
      const auto& negs = split.test_negatives[u];
      cand.assign(1, static_cast<uint32_t>(test));
      cand.insert(cand.end(), negs.begin(), negs.end());
      sampled.resize(cand.size());
      scorer.Score(u, cand.data(), cand.size(), sampled.data());
      const size_t rs = RankOf(sampled[0], sampled.data() + 1, sampled.size() - 1);
      hr10[u] = HitAt(rs, 10);
      ndcg10[u] = NdcgAt(rs, 10);

      scorer.ScoreAll(u, all.data());
      const float target = all[static_cast<size_t>(test)];
      // Rank among items not on the user's list, other than the target itself.
      size_t rank = 0;
      const auto& train = u < split.listed.size() ? split.listed[u] : split.train[u];
      size_t t = 0;
      for (uint32_t j = 0; j < split.num_items; ++j) {
        while (t < train.size() && train[t] < j) ++t;
        if (t < train.size() && train[t] == j) continue;
        if (j == static_cast<uint32_t>(test)) continue;
        rank += all[j] >= target;
      }
      r20[u] = HitAt(rank, 20);
      ndcg20[u] = NdcgAt(rank, 20);
    }
  }
  std::vector<Metrics> out(static_cast<size_t>(groups) + 1);
  for (uint32_t u = 0; u < users; ++u) {
    if (split.test_item[u] < 0) continue;
    const size_t g = u < group_of_user.size() && group_of_user[u] < groups ? group_of_user[u] : 0;
    for (Metrics* m : {&out[g], &out.back()}) {
      m->hr10 += hr10[u];
      m->ndcg10 += ndcg10[u];
      m->recall20 += r20[u];
      m->ndcg20 += ndcg20[u];
      ++m->users;
    }
  }
  for (Metrics& m : out) {
    if (m.users == 0) continue;
    m.hr10 /= m.users;
    m.ndcg10 /= m.users;
    m.recall20 /= m.users;
    m.ndcg20 /= m.users;
  }
  return out;
}

}  // namespace simsearch::ncf
