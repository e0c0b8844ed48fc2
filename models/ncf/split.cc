#include "models/ncf/split.h"

#include <algorithm>
#include <random>

#include "absl/strings/str_cat.h"

namespace simsearch::ncf {

absl::Status CheckTrainable(const Interactions& data, const std::string& origin) {
  if (data.num_users() < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        origin, ": only one user (", data.user_ids.empty() ? 0 : data.user_ids[0],
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

Split LeaveOneOut(const Interactions& data, uint64_t seed, int negatives) {
  Split s;
  s.seed = seed;
  s.num_users = static_cast<uint32_t>(data.num_users());
  s.num_items = static_cast<uint32_t>(data.num_items());
  s.train.resize(s.num_users);
  s.test_item.assign(s.num_users, -1);
  s.test_negatives.resize(s.num_users);
  std::mt19937_64 rng(seed);
  for (uint32_t u = 0; u < s.num_users; ++u) {
    const auto& items = data.items_of_user[u];
    s.train[u] = items;
    if (items.size() < 2) continue;
    const size_t pick = std::uniform_int_distribution<size_t>(0, items.size() - 1)(rng);
    s.test_item[u] = static_cast<int32_t>(items[pick]);
    s.train[u].erase(s.train[u].begin() + static_cast<long>(pick));
    // Negatives: never interacted with (items is the full sorted set).
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

}  // namespace simsearch::ncf
