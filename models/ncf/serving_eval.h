// How the served vectors answer the two queries that are not a known user: "more like
// this item" and a watch list. Offline, on the leave-one-out split (split.h).
//
// More like this: for each test user, up to `per_user` of their training items i are
// taken as queries; items are ranked by their similarity to i, with i and the user's
// other training items excluded (a recommender does not offer what the user has seen),
// and the held-out item's rank gives Recall@20 and NDCG@20 (ties against it). Hubness
// is measured on every item's top-10 list (itself excluded): the share of lists the
// most frequent neighbour appears in, the 99th percentile of that share, the skewness
// of the k-occurrence distribution, and the share of neighbour slots taken by items
// with fewer than 5 training viewers.
//
// Watch lists: a user's training items as the query, scored as the engine would, by
// the Evaluate() protocol of evaluate.h; FoldInScorer solves for the user vector the
// model would have learned for that history (see below).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/ncf/baselines.h"
#include "models/ncf/evaluate.h"
#include "models/ncf/model.h"
#include "models/ncf/split.h"
#include "retrieval/fold_in.h"

namespace simsearch::ncf {

// Similarities of every item to item i (larger is better), for "more like this".
class ItemRanker {
 public:
  virtual ~ItemRanker() = default;
  virtual void Similar(uint32_t i, float* out) const = 0;  // out: size num_items
};

// From item vectors (rows = items):
//   kInnerProduct  q_i . q_j (what an inner-product collection answers)
//   kCosine        q_i . q_j / (|q_i| |q_j|^norm_power): norm_power 1 is the cosine, 0
//                  the inner product (ranked the same for a given i), in between a
//                  partial discount of long (in MF: popular or rarely seen) vectors
// then, optionally, shrunk toward 0 for candidates with few viewers:
// s * n_j / (n_j + shrink), n_j = training viewers of j (shrink 0: none), and
// candidates with fewer than `min_support` viewers dropped (scored -inf).
struct VectorRankerOptions {
  enum class Metric { kInnerProduct, kCosine } metric = Metric::kCosine;
  float shrink = 0;
  int min_support = 0;
  float norm_power = 1.0f;  // kCosine only
};
class VectorRanker final : public ItemRanker {
 public:
  VectorRanker(const Tensor& items, const Split& split, VectorRankerOptions options);
  void Similar(uint32_t i, float* out) const override;

 private:
  Tensor unit_;                // rows as ranked (unit length for cosine)
  std::vector<float> weight_;  // per candidate: shrinkage factor, or -1 for dropped
  VectorRankerOptions options_;
};

// Item-kNN (co-occurrence cosine, baselines.h): the neighbour lists; others score 0.
class KnnRanker final : public ItemRanker {
 public:
  explicit KnnRanker(const ItemKnnScorer& knn, uint32_t num_items) : knn_(knn), n_(num_items) {}
  void Similar(uint32_t i, float* out) const override;

 private:
  const ItemKnnScorer& knn_;
  uint32_t n_;
};

struct MoreLikeThisMetrics {
  double recall20 = 0, ndcg20 = 0;
  uint64_t queries = 0;
  double hub_max_share = 0;  // of the top-10 lists, the most frequent neighbour's share
  double hub_p99_share = 0;  // 99th percentile of the items' shares
  double hub_skewness = 0;   // of the k-occurrence (N10) distribution
  double rare_share = 0;     // neighbour slots taken by items with < 5 viewers
  uint32_t top_hub = 0;      // the most frequent neighbour
};

MoreLikeThisMetrics EvaluateMoreLikeThis(const ItemRanker& ranker, const Split& split, int per_user,
                                         uint64_t seed, int threads);

// A watch list as the engine answers it: the user's training items are the list, a
// query vector is made from them, and every item is scored by its inner product with
// it. Subclasses say how the query is made. `items` are the candidates' vectors
// (rows = items).
class WatchListQueryScorer : public Scorer {
 public:
  explicit WatchListQueryScorer(const Tensor& items) : items_(items) {}
  void Score(uint32_t user, const uint32_t* items, size_t n, float* out) const final;
  void ScoreAll(uint32_t user, float* out) const final;

 protected:
  // The query vector for `user`'s list (size items.cols).
  virtual void Query(uint32_t user, std::vector<float>* q) const = 0;

 private:
  const Tensor& items_;
};

// The query is the mean of the query-side vectors of the list (the engine's answer on
// a bundle without fold-in data). `queries`: the item-query vectors (rows = items).
class MeanWatchListScorer final : public WatchListQueryScorer {
 public:
  MeanWatchListScorer(const Tensor& items, const Tensor& queries, const Split& split)
      : WatchListQueryScorer(items), queries_(queries), split_(split) {}

 private:
  void Query(uint32_t user, std::vector<float>* q) const override;
  const Tensor& queries_;
  const Split& split_;
};

// The list folded in as a user (retrieval/fold_in.h). `queries` are the list items'
// vectors (rows = items; the same as `items` for MF).
class FoldInScorer final : public WatchListQueryScorer {
 public:
  // With a `prior` (size queries.cols) and prior_weight > 0: pulled toward it
  // (retrieval/fold_in.h), e.g. the mean user vector.
  FoldInScorer(const Tensor& items, const Tensor& queries, const Split& split, FoldInParams params,
               std::vector<float> prior = {}, float prior_weight = 0.0f);

 private:
  void Query(uint32_t user, std::vector<float>* p) const override;
  const Tensor& queries_;
  const Split& split_;
  FoldInParams params_;
  std::vector<float> gram_;
  std::vector<float> prior_;
  float prior_weight_ = 0;
};

// The mean of the user vectors (rows): the typical user, a fold-in prior.
std::vector<float> MeanRow(const Tensor& users);

// Each list of `lists` with at least `length` anime cut to `length` of them, drawn with
// `seed` (sorted); shorter lists become empty.
std::vector<std::vector<uint32_t>> CutLists(const std::vector<std::vector<uint32_t>>& lists,
                                            int length, uint64_t seed);

// Watch lists of a given length: the split with each evaluated user's list (train) cut
// to `length` of their training items (CutLists), drawn with `seed`; users with fewer
// are not evaluated. `listed` stays whole (the user's other anime are still not ranked).
Split TruncateLists(const Split& split, int length, uint64_t seed);

// Item-kNN scoring another split's lists with neighbours learned on the full data.
class ItemKnnListScorer final : public Scorer {
 public:
  ItemKnnListScorer(const ItemKnnScorer& knn, const Split& lists, uint32_t num_items)
      : knn_(knn), lists_(lists), n_(num_items) {}
  void Score(uint32_t user, const uint32_t* items, size_t n, float* out) const override;
  void ScoreAll(uint32_t user, float* out) const override;

 private:
  const ItemKnnScorer& knn_;
  const Split& lists_;
  uint32_t n_;
};

}  // namespace simsearch::ncf
