// A bounded selection of the k best neighbours (BetterNeighbor order), shared by the
// searchers that score candidates themselves.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "engine/searcher.h"

namespace simsearch {

class TopK {
 public:
  explicit TopK(int k) : k_(static_cast<size_t>(k)) { heap_.reserve(k_); }

  // k kept: from now on only a score >= worst() can enter.
  bool full() const { return heap_.size() >= k_; }
  float worst() const { return heap_.front().score; }  // when full()
  // Whether a candidate with this score could enter (cheap pre-check).
  bool Admits(float score) const { return heap_.size() < k_ || score >= heap_.front().score; }
  void Push(Neighbor n) {
    if (heap_.size() < k_) {
      heap_.push_back(n);
      std::push_heap(heap_.begin(), heap_.end(), BetterNeighbor);
    } else if (BetterNeighbor(n, heap_.front())) {
      std::pop_heap(heap_.begin(), heap_.end(), BetterNeighbor);
      heap_.back() = n;
      std::push_heap(heap_.begin(), heap_.end(), BetterNeighbor);
    }
  }
  // The kept neighbours, best first; leaves the selection empty.
  std::vector<Neighbor> Take() {
    std::sort(heap_.begin(), heap_.end(), BetterNeighbor);
    return std::move(heap_);
  }

 private:
  size_t k_;
  std::vector<Neighbor> heap_;  // heap ordered so that front() is the worst kept
};

}  // namespace simsearch
