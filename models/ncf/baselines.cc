#include "models/ncf/baselines.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

namespace simsearch::ncf {

PopularityScorer::PopularityScorer(const Split& split) : count_(split.num_items, 0.0f) {
  for (const auto& items : split.train) {
    for (uint32_t i : items) count_[i] += 1.0f;
  }
}

void PopularityScorer::Score(uint32_t, const uint32_t* items, size_t n, float* out) const {
  for (size_t k = 0; k < n; ++k) out[k] = count_[items[k]];
}

void PopularityScorer::ScoreAll(uint32_t, float* out) const {
  std::copy(count_.begin(), count_.end(), out);
}

ItemKnnScorer::ItemKnnScorer(const Split& split, int neighbours, int threads) : split_(split) {
  const uint32_t n = split.num_items;
  // Users of each item (from training only).
  std::vector<std::vector<uint32_t>> users_of(n);
  for (uint32_t u = 0; u < split.num_users; ++u) {
    for (uint32_t i : split.train[u]) users_of[i].push_back(u);
  }
  nn_.resize(n);
#pragma omp parallel num_threads(threads)
  {
    std::vector<uint32_t> co(n, 0);  // co-occurrence counts with item i
    std::vector<uint32_t> touched;
#pragma omp for schedule(dynamic, 32)
    for (uint32_t i = 0; i < n; ++i) {
      touched.clear();
      for (uint32_t u : users_of[i]) {
        for (uint32_t j : split.train[u]) {
          if (j == i) continue;
          if (co[j]++ == 0) touched.push_back(j);
        }
      }
      auto& list = nn_[i];
      list.reserve(touched.size());
      const double ni = static_cast<double>(users_of[i].size());
      for (uint32_t j : touched) {
        const double nj = static_cast<double>(users_of[j].size());
        list.emplace_back(j, static_cast<float>(co[j] / std::sqrt(ni * nj)));
        co[j] = 0;
      }
      auto better = [](const auto& a, const auto& b) {
        return a.second > b.second || (a.second == b.second && a.first < b.first);
      };
      if (list.size() > static_cast<size_t>(neighbours)) {
        std::partial_sort(list.begin(), list.begin() + neighbours, list.end(), better);
        list.resize(static_cast<size_t>(neighbours));
      } else {
        std::sort(list.begin(), list.end(), better);
      }
    }
  }
}

void ItemKnnScorer::ScoreAll(uint32_t user, float* out) const {
  std::fill(out, out + split_.num_items, 0.0f);
  for (uint32_t i : split_.train[user]) {
    for (const auto& [j, s] : nn_[i]) out[j] += s;
  }
}

void ItemKnnScorer::Score(uint32_t user, const uint32_t* items, size_t n, float* out) const {
  std::vector<float> all(split_.num_items);
  ScoreAll(user, all.data());
  for (size_t k = 0; k < n; ++k) out[k] = all[items[k]];
}

}  // namespace simsearch::ncf
