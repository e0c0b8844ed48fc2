// Batching of concurrent Search calls (docs/ARCHITECTURE.md, "Batching concurrent
// searches"): which calls may share one Engine::Search, and the keeper that holds the
// calls one polling thread reads until its queue has nothing ready.
//
// A call waits for no timer, only for the calls read with it: CallQueues runs a queue's
// DeferredWork when gRPC has no more events ready for that thread.
#pragma once

#include <cstddef>
#include <functional>
#include <utility>
#include <vector>

#include "server/call_queues.h"
#include "simsearch/v1/simsearch.pb.h"

namespace simsearch {

// Whether a search may wait for others to be answered with them: by item or by vector
// (the kinds an exact scan answers in one pass, the same to the bit as alone).
bool Batchable(const v1::SearchRequest& req);

// Whether two searches can share one Engine::Search: the same collection, top_k,
// search params and filter (an empty filter message and no filter are the same).
bool SameSearch(const v1::SearchRequest& a, const v1::SearchRequest& b);

// Groups searches that can share one Engine::Search. Every index of `reqs` is in
// exactly one group; `alone[i]` (an expired call, say) puts i in a group of its own.
// Groups are in the order of their first member, members in increasing order: a
// search joins the group of the first earlier search it is the SameSearch as.
std::vector<std::vector<size_t>> GroupSearches(const std::vector<const v1::SearchRequest*>& reqs,
                                               const std::vector<char>& alone);

// Keeps the entries one polling thread reads and hands them to `flush` together: when
// its queue has nothing ready (Run, called by CallQueues) or when it holds `limit`.
// Used only by the thread that owns the queue.
template <typename Entry>
class SearchBatcher final : public DeferredWork {
 public:
  using Flush = std::function<void(std::vector<Entry>)>;
  SearchBatcher(size_t limit, Flush flush) : limit_(limit), flush_(std::move(flush)) {
    kept_.reserve(limit_);
  }
  void Keep(Entry e) {
    kept_.push_back(std::move(e));
    if (kept_.size() >= limit_) Run();
  }
  bool pending() const override { return !kept_.empty(); }
  void Run() override {
    std::vector<Entry> kept;
    kept.swap(kept_);
    kept_.reserve(limit_);
    flush_(std::move(kept));
  }

 private:
  const size_t limit_;
  const Flush flush_;
  std::vector<Entry> kept_;
};

}  // namespace simsearch
