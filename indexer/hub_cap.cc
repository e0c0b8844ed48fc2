#include "indexer/hub_cap.h"

#include <algorithm>
#include <numeric>

#include "engine/engine.h"

namespace simsearch {

void CapHubs(const std::vector<uint32_t>& rows, const std::vector<float>& scores, uint64_t count,
             int depth, int k, const HubCap& cap, std::vector<uint32_t>* out_rows,
             std::vector<float>* out_scores, uint64_t* capped_items) {
  const uint64_t d = static_cast<uint64_t>(depth), kk = static_cast<uint64_t>(k);
  out_rows->assign(count * kk, Engine::kNoNeighbours);
  out_scores->assign(count * kk, 0.0f);
  std::vector<uint32_t> lists;  // rows that have a list
  for (uint64_t r = 0; r < count; ++r) {
    if (rows[r * d] != Engine::kNoNeighbours) lists.push_back(static_cast<uint32_t>(r));
  }
  const uint64_t limit =
      std::max<uint64_t>(1, static_cast<uint64_t>(cap.share * static_cast<double>(lists.size())));
  std::vector<uint64_t> used(count, 0);
  std::vector<uint64_t> next(count, 0), filled(count, 0);
  std::vector<bool> held_back(count, false);
  std::vector<uint32_t> order;
  for (int rank = 0; rank < k; ++rank) {
    // Each list's best candidate with room left, then the strongest claims first.
    order.clear();
    for (uint32_t r : lists) {
      while (next[r] < d && rows[r * d + next[r]] < count && used[rows[r * d + next[r]]] >= limit) {
        held_back[rows[r * d + next[r]]] = true;
        ++next[r];
      }
      if (next[r] < d && rows[r * d + next[r]] < count) order.push_back(r);
    }
    std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
      return scores[a * d + next[a]] > scores[b * d + next[b]];
    });
    for (uint32_t r : order) {
      // An earlier claim this round may have filled the candidate up: take the next.
      while (next[r] < d && rows[r * d + next[r]] < count && used[rows[r * d + next[r]]] >= limit) {
        held_back[rows[r * d + next[r]]] = true;
        ++next[r];
      }
      if (next[r] >= d || rows[r * d + next[r]] >= count) continue;
      const uint32_t x = rows[r * d + next[r]];
      ++used[x];
      (*out_rows)[r * kk + filled[r]] = x;
      (*out_scores)[r * kk + filled[r]] = scores[r * d + next[r]];
      ++filled[r];
      ++next[r];
    }
  }
  *capped_items = static_cast<uint64_t>(std::count(held_back.begin(), held_back.end(), true));
}

}  // namespace simsearch
