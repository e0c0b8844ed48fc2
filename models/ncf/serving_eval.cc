#include "models/ncf/serving_eval.h"

#include <omp.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <utility>

namespace simsearch::ncf {
namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

std::vector<uint32_t> Viewers(const Split& split) {
  std::vector<uint32_t> n(split.num_items, 0);
  for (const auto& items : split.train) {
    for (uint32_t i : items) ++n[i];
  }
  return n;
}

void Scores(const Tensor& x, const float* q, float* out) {
  Eigen::Map<const RowMatrix> m(x.v.data(), x.rows, x.cols);
  Eigen::Map<Eigen::VectorXf>(out, x.rows).noalias() =
      m * Eigen::Map<const Eigen::VectorXf>(q, x.cols);
}

}  // namespace

VectorRanker::VectorRanker(const Tensor& items, const Split& split, VectorRankerOptions options)
    : unit_(items), options_(options) {
  if (options.metric == VectorRankerOptions::Metric::kCosine) {
    // Candidates divided by |q_j|^norm_power; the query side's length does not change
    // the order for one query.
    for (int r = 0; r < unit_.rows; ++r) {
      float* v = unit_.row(static_cast<uint32_t>(r));
      double s = 0;
      for (int c = 0; c < unit_.cols; ++c) s += double{v[c]} * v[c];
      const float inv = s > 0 ? static_cast<float>(std::pow(s, -0.5 * options.norm_power)) : 0.0f;
      for (int c = 0; c < unit_.cols; ++c) v[c] *= inv;
    }
  }
  const std::vector<uint32_t> n = Viewers(split);
  weight_.assign(split.num_items, 1.0f);
  for (uint32_t j = 0; j < split.num_items; ++j) {
    if (static_cast<int>(n[j]) < options.min_support) {
      weight_[j] = -1.0f;
    } else if (options.shrink > 0) {
      weight_[j] = static_cast<float>(n[j] / (n[j] + double{options.shrink}));
    }
  }
}

void VectorRanker::Similar(uint32_t i, float* out) const {
  Scores(unit_, unit_.row(i), out);
  for (size_t j = 0; j < weight_.size(); ++j) {
    if (weight_[j] < 0) {
      out[j] = -std::numeric_limits<float>::infinity();
    } else if (weight_[j] != 1.0f) {
      // Shrink toward 0 from either side (an inner product can be negative).
      out[j] *= weight_[j];
    }
  }
}

void KnnRanker::Similar(uint32_t i, float* out) const {
  std::fill(out, out + n_, 0.0f);
  for (const auto& [j, s] : knn_.neighbours(i)) out[j] = s;
}

namespace {

// The queries: up to `per_user` training items of each test user, drawn with a fixed
// seed, as (user, item).
std::vector<std::pair<uint32_t, uint32_t>> MoreLikeThisQueries(const Split& split, int per_user,
                                                               uint64_t seed) {
  std::vector<std::pair<uint32_t, uint32_t>> queries;
  std::mt19937_64 rng(seed);
  for (uint32_t u = 0; u < split.num_users; ++u) {
    if (split.test_item[u] < 0) continue;
    std::vector<uint32_t> items = split.train[u];
    std::shuffle(items.begin(), items.end(), rng);
    for (size_t k = 0; k < items.size() && k < static_cast<size_t>(per_user); ++k)
      queries.emplace_back(u, items[k]);
  }
  return queries;
}

// The rank of user u's held-out item among the items ranked by their similarity to i
// (into s), u's training items (i among them) left out; ties count against it.
size_t HeldOutRank(const ItemRanker& ranker, const Split& split, uint32_t u, uint32_t i,
                   std::vector<float>* s) {
  ranker.Similar(i, s->data());
  const uint32_t h = static_cast<uint32_t>(split.test_item[u]);
  const float target = (*s)[h];
  const auto& train = split.train[u];  // sorted; contains i
  size_t rank = 0, t = 0;
  for (uint32_t j = 0; j < split.num_items; ++j) {
    while (t < train.size() && train[t] < j) ++t;
    if ((t < train.size() && train[t] == j) || j == h) continue;
    rank += (*s)[j] >= target;
  }
  return rank;
}

// Item i's top-10 list (itself excluded; `s` and `order` are scratch of num_items):
// each neighbour counted in `occurrences`, and those with fewer than 5 viewers in *rare.
void CountTopTen(const ItemRanker& ranker, uint32_t i, const std::vector<uint32_t>& viewers,
                 std::vector<float>* s, std::vector<uint32_t>* order,
                 std::vector<uint32_t>* occurrences, uint64_t* rare) {
  const uint32_t n_items = static_cast<uint32_t>(viewers.size());
  std::vector<float>& sim = *s;
  ranker.Similar(i, sim.data());
  sim[i] = -std::numeric_limits<float>::infinity();
  for (uint32_t j = 0; j < n_items; ++j) (*order)[j] = j;
  std::partial_sort(
      order->begin(), order->begin() + std::min<uint32_t>(10, n_items), order->end(),
      [&](uint32_t a, uint32_t b) { return sim[a] > sim[b] || (sim[a] == sim[b] && a < b); });
  for (uint32_t k = 0; k < 10 && k < n_items; ++k) {
    const uint32_t j = (*order)[k];
    if (sim[j] == -std::numeric_limits<float>::infinity()) break;
    ++(*occurrences)[j];
    *rare += viewers[j] < 5;
  }
}

// The hubness measures of MoreLikeThisMetrics from every item's count of appearances
// in the top-10 lists, and the slots rare items took.
void SetHubness(const std::vector<uint32_t>& occurrences, uint64_t rare_slots,
                MoreLikeThisMetrics* m) {
  const size_t n_items = occurrences.size();
  uint64_t slots = 0;
  for (uint32_t c : occurrences) slots += c;
  m->rare_share = slots > 0 ? static_cast<double>(rare_slots) / static_cast<double>(slots) : 0;
  std::vector<uint32_t> sorted = occurrences;
  std::sort(sorted.begin(), sorted.end());
  const double lists = n_items;
  m->top_hub = static_cast<uint32_t>(std::max_element(occurrences.begin(), occurrences.end()) -
                                     occurrences.begin());
  m->hub_max_share = sorted.back() / lists;
  m->hub_p99_share = sorted[static_cast<size_t>(0.99 * (sorted.size() - 1))] / lists;
  double mean = 0;
  for (uint32_t c : occurrences) mean += c;
  mean /= n_items;
  double m2 = 0, m3 = 0;
  for (uint32_t c : occurrences) {
    const double d = c - mean;
    m2 += d * d;
    m3 += d * d * d;
  }
  m2 /= n_items;
  m3 /= n_items;
  m->hub_skewness = m2 > 0 ? m3 / std::pow(m2, 1.5) : 0;
}

}  // namespace

MoreLikeThisMetrics EvaluateMoreLikeThis(const ItemRanker& ranker, const Split& split, int per_user,
                                         uint64_t seed, int threads) {
  const uint32_t n_items = split.num_items;
  const std::vector<uint32_t> viewers = Viewers(split);
  const std::vector<std::pair<uint32_t, uint32_t>> queries =
      MoreLikeThisQueries(split, per_user, seed);
  std::vector<double> hit(queries.size()), ndcg(queries.size());
  std::vector<uint32_t> occurrences(n_items, 0);
  uint64_t rare_slots = 0;
#pragma omp parallel num_threads(threads)
  {
    std::vector<float> s(n_items);
    std::vector<uint32_t> local_occ(n_items, 0), order(n_items);
    uint64_t local_rare = 0;
#pragma omp for schedule(dynamic, 64)
    for (size_t q = 0; q < queries.size(); ++q) {
      const size_t rank = HeldOutRank(ranker, split, queries[q].first, queries[q].second, &s);
      hit[q] = HitAt(rank, 20);
      ndcg[q] = NdcgAt(rank, 20);
    }
    // Hubness: every item's top-10 list, itself excluded.
#pragma omp for schedule(dynamic, 64)
    for (uint32_t i = 0; i < n_items; ++i) {
      CountTopTen(ranker, i, viewers, &s, &order, &local_occ, &local_rare);
    }
#pragma omp critical
    {
      for (uint32_t j = 0; j < n_items; ++j) occurrences[j] += local_occ[j];
      rare_slots += local_rare;
    }
  }
  MoreLikeThisMetrics m;
  m.queries = queries.size();
  for (size_t q = 0; q < queries.size(); ++q) {
    m.recall20 += hit[q];
    m.ndcg20 += ndcg[q];
  }
  if (m.queries > 0) {
    m.recall20 /= static_cast<double>(m.queries);
    m.ndcg20 /= static_cast<double>(m.queries);
  }
  SetHubness(occurrences, rare_slots, &m);
  return m;
}

FoldInScorer::FoldInScorer(const Tensor& items, const Tensor& queries, const Split& split,
                           FoldInParams params, std::vector<float> prior, float prior_weight)
    : WatchListQueryScorer(items),
      queries_(queries),
      split_(split),
      params_(params),
      gram_(GramMatrix(queries.v.data(), static_cast<uint64_t>(queries.rows), queries.cols)),
      prior_(std::move(prior)),
      prior_weight_(prior_weight) {}

void FoldInScorer::Query(uint32_t user, std::vector<float>* p) const {
  const auto& train = split_.train[user];
  std::vector<const float*> liked;
  liked.reserve(train.size());
  for (uint32_t i : train) liked.push_back(queries_.row(i));
  p->assign(static_cast<size_t>(queries_.cols), 0.0f);
  if (!liked.empty()) {
    (void)FoldInUser(gram_.data(), queries_.cols, liked, {}, 0.0f, params_, p->data(),
                     prior_.empty() ? nullptr : prior_.data(), prior_weight_);
  }
}

void WatchListQueryScorer::Score(uint32_t user, const uint32_t* items, size_t n, float* out) const {
  std::vector<float> q;
  Query(user, &q);
  for (size_t k = 0; k < n; ++k) {
    const float* v = items_.row(items[k]);
    float s = 0;
    for (int c = 0; c < items_.cols; ++c) s += v[c] * q[c];
    out[k] = s;
  }
}

void WatchListQueryScorer::ScoreAll(uint32_t user, float* out) const {
  std::vector<float> q;
  Query(user, &q);
  Scores(items_, q.data(), out);
}

void MeanWatchListScorer::Query(uint32_t user, std::vector<float>* q) const {
  const int d = queries_.cols;
  q->assign(static_cast<size_t>(d), 0.0f);
  const auto& train = split_.train[user];
  for (uint32_t i : train) {
    for (int c = 0; c < d; ++c) (*q)[c] += queries_.row(i)[c];
  }
  for (float& x : *q) x /= static_cast<float>(std::max<size_t>(train.size(), 1));
}

std::vector<float> MeanRow(const Tensor& users) {
  std::vector<double> sum(static_cast<size_t>(users.cols), 0.0);
  for (int r = 0; r < users.rows; ++r) {
    const float* v = users.row(static_cast<uint32_t>(r));
    for (int c = 0; c < users.cols; ++c) sum[static_cast<size_t>(c)] += v[c];
  }
  std::vector<float> out(sum.size());
  for (size_t c = 0; c < sum.size(); ++c)
    out[c] = static_cast<float>(sum[c] / std::max(1, users.rows));
  return out;
}

std::vector<std::vector<uint32_t>> CutLists(const std::vector<std::vector<uint32_t>>& lists,
                                            int length, uint64_t seed) {
  std::vector<std::vector<uint32_t>> out(lists.size());
  std::mt19937_64 rng(seed ^ (0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(length)));
  for (size_t u = 0; u < lists.size(); ++u) {
    if (lists[u].size() < static_cast<size_t>(length)) continue;
    out[u] = lists[u];
    std::shuffle(out[u].begin(), out[u].end(), rng);
    out[u].resize(static_cast<size_t>(length));
    std::sort(out[u].begin(), out[u].end());
  }
  return out;
}

Split TruncateLists(const Split& split, int length, uint64_t seed) {
  Split s = split;
  std::vector<std::vector<uint32_t>> evaluated(s.num_users);  // the lists of evaluated users
  for (uint32_t u = 0; u < s.num_users; ++u) {
    if (s.test_item[u] >= 0) evaluated[u] = s.train[u];
  }
  std::vector<std::vector<uint32_t>> cut = CutLists(evaluated, length, seed);
  for (uint32_t u = 0; u < s.num_users; ++u) {
    if (s.test_item[u] < 0) continue;
    if (cut[u].empty()) {
      s.test_item[u] = -1;
    } else {
      s.train[u] = std::move(cut[u]);
    }
  }
  return s;
}

void ItemKnnListScorer::ScoreAll(uint32_t user, float* out) const {
  std::fill(out, out + n_, 0.0f);
  for (uint32_t i : lists_.train[user]) {
    for (const auto& [j, sim] : knn_.neighbours(i)) out[j] += sim;
  }
}

void ItemKnnListScorer::Score(uint32_t user, const uint32_t* items, size_t n, float* out) const {
  std::vector<float> all(n_);
  ScoreAll(user, all.data());
  for (size_t k = 0; k < n; ++k) out[k] = all[items[k]];
}

}  // namespace simsearch::ncf
