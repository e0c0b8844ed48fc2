#include "models/ncf/split.h"

#include <algorithm>
#include <random>

#include "absl/strings/str_cat.h"

namespace simsearch::ncf {

absl::Status CheckTrainable(const Interactions& data, const std::string& origin) {
  if (data.num_users() < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat(origin, ": only one user (", data.user_ids.empty() ? 0 : data.user_ids[0],
                     "); collaborative filtering needs at least two users"));
  }
  if (data.num_items() < 2) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ": only one item; nothing to rank"));
  }
  return absl::OkStatus();
}

uint64_t Split::num_train() const {
  uint64_t n = 0;
  for (const auto& t : train) n += t.size();
  return n;
}

uint32_t Split::num_test_users() const {
  uint32_t n = 0;
  for (int32_t t : test_item) n += t >= 0;
  return n;
}

bool Split::InTrain(uint32_t user, uint32_t item) const {
  const auto& t = train[user];
  return std::binary_search(t.begin(), t.end(), item);
}

Split EmptySplit(const Interactions& data, uint64_t seed) {
  Split s;
  s.seed = seed;
  s.num_users = static_cast<uint32_t>(data.num_users());
  s.num_items = static_cast<uint32_t>(data.num_items());
  s.train.resize(s.num_users);
  s.listed.resize(s.num_users);
  s.test_item.assign(s.num_users, -1);
  s.test_negatives.resize(s.num_users);
  return s;
}

Split LeaveOneOut(const Interactions& data, uint64_t seed, int negatives) {
  Split s = EmptySplit(data, seed);
  std::mt19937_64 rng(seed);
  for (uint32_t u = 0; u < s.num_users; ++u) {
    const auto& items = data.items_of_user[u];
    const std::vector<uint8_t>* flags =
        u < data.flags_of_user.size() ? &data.flags_of_user[u] : nullptr;
    auto has = [&](size_t j, uint8_t bit) { return flags == nullptr || ((*flags)[j] & bit) != 0; };
    s.listed[u] = items;
    for (size_t j = 0; j < items.size(); ++j) {
      if (has(j, Interactions::kTrain)) s.train[u].push_back(items[j]);
    }
    if (items.size() < 2) continue;
    // Only a view is held out (not, say, an anime on hold); with every pair a view this
    // is the same draw as over all items.
    std::vector<size_t> views;
    for (size_t j = 0; j < items.size(); ++j) {
      if (has(j, Interactions::kView)) views.push_back(j);
    }
    if (views.empty()) continue;
    const size_t pick = views[std::uniform_int_distribution<size_t>(0, views.size() - 1)(rng)];
    const uint32_t test = items[pick];
    auto trained = std::lower_bound(s.train[u].begin(), s.train[u].end(), test);
    const bool was_trained = trained != s.train[u].end() && *trained == test;
    if (s.train[u].size() - (was_trained ? 1 : 0) == 0)
      continue;  // nothing left to learn the user from
    if (was_trained) s.train[u].erase(trained);
    s.listed[u].erase(std::lower_bound(s.listed[u].begin(), s.listed[u].end(), test));
    s.test_item[u] = static_cast<int32_t>(test);
    // Negatives: never on the user's list (items is the full sorted set).
    const size_t unseen = s.num_items - items.size();
    const size_t want = std::min<size_t>(static_cast<size_t>(negatives), unseen);
    std::vector<uint32_t>& neg = s.test_negatives[u];
    std::uniform_int_distribution<uint32_t> any(0, s.num_items - 1);
    while (neg.size() < want) {
      const uint32_t j = any(rng);
      if (std::binary_search(items.begin(), items.end(), j)) continue;
      if (std::find(neg.begin(), neg.end(), j) != neg.end()) continue;
      neg.push_back(j);
    }
  }
  return s;
}

Split TrainOnAll(const Interactions& data) {
  Split s = EmptySplit(data);
  s.listed = data.items_of_user;
  for (uint32_t u = 0; u < s.num_users; ++u) {
    const auto& items = data.items_of_user[u];
    for (size_t j = 0; j < items.size(); ++j) {
      if (u >= data.flags_of_user.size() || (data.flags_of_user[u][j] & Interactions::kTrain)) {
        s.train[u].push_back(items[j]);
      }
    }
  }
  return s;
}

std::vector<std::vector<float>> ScoreWeights(const Interactions& data, const Split& split,
                                             double strength, ScoreStats* stats) {
  std::vector<std::vector<float>> w(split.num_users);
  double sum = 0;
  uint64_t scored = 0;
  for (uint32_t u = 0; u < split.num_users; ++u) {
    const auto& items = data.items_of_user[u];
    for (uint32_t i : split.train[u]) {
      const size_t at =
          static_cast<size_t>(std::lower_bound(items.begin(), items.end(), i) - items.begin());
      const float s = u < data.score_of_user.size() ? data.score_of_user[u][at] : 0.0f;
      if (s <= 0) {
        w[u].push_back(1.0f);
        continue;
      }
      const double raw = std::max(0.1, 1.0 + strength * (s - 5.5) / 4.5);
      w[u].push_back(-static_cast<float>(raw));  // marked scored until the mean is known
      sum += raw;
      ++scored;
      if (stats != nullptr) stats->max_score = std::max(stats->max_score, s);
    }
  }
  if (stats != nullptr) stats->pairs = scored;
  const double mean = scored > 0 ? sum / static_cast<double>(scored) : 1.0;
  for (auto& list : w) {
    for (float& x : list) {
      if (x < 0) x = static_cast<float>(-x / mean);
      if (stats != nullptr) {
        stats->min_weight = std::min(stats->min_weight, x);
        stats->max_weight = std::max(stats->max_weight, x);
      }
    }
  }
  return w;
}

std::vector<std::vector<uint32_t>> NegativePairs(const Interactions& data, const Split& split) {
  std::vector<std::vector<uint32_t>> out(split.num_users);
  for (uint32_t u = 0; u < split.num_users && u < data.flags_of_user.size(); ++u) {
    const auto& items = data.items_of_user[u];
    for (size_t j = 0; j < items.size(); ++j) {
      const uint8_t f = data.flags_of_user[u][j];
      const bool held_out =
          u < split.test_item.size() && split.test_item[u] == static_cast<int32_t>(items[j]);
      if ((f & Interactions::kNegative) && !(f & (Interactions::kTrain | Interactions::kView)) &&
          !held_out && !split.InTrain(u, items[j])) {
        out[u].push_back(items[j]);
      }
    }
  }
  return out;
}

}  // namespace simsearch::ncf
