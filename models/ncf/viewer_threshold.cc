#include "models/ncf/viewer_threshold.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "Eigen/Core"
#include "absl/strings/str_cat.h"
#include "models/ncf/baselines.h"
#include "retrieval/fold_in.h"

namespace simsearch::ncf {

HeldOutViews HoldOutViews(const Interactions& data, double share, uint64_t seed) {
  HeldOutViews out;
  out.split = EmptySplit(data, seed);
  Split& s = out.split;
  out.held_out.resize(s.num_users);
  std::mt19937_64 rng(seed);
  std::vector<size_t> views;
  for (uint32_t u = 0; u < s.num_users; ++u) {
    const auto& items = data.items_of_user[u];
    const bool flagged = u < data.flags_of_user.size();
    auto flags = [&](size_t j) {
      return flagged ? data.flags_of_user[u][j] : Interactions::kTrain | Interactions::kView;
    };
    views.clear();
    size_t trained = 0;
    for (size_t j = 0; j < items.size(); ++j) {
      trained += (flags(j) & Interactions::kTrain) != 0;
      if ((flags(j) & Interactions::kView) && (flags(j) & Interactions::kTrain)) views.push_back(j);
    }
    size_t n = 0;
    if (!views.empty() && trained >= 2) {
      n = static_cast<size_t>(std::llround(share * static_cast<double>(views.size())));
      n = std::min({std::max<size_t>(n, 1), views.size(), trained - 1});
      std::shuffle(views.begin(), views.end(), rng);
      views.resize(n);
      std::sort(views.begin(), views.end());
    }
    size_t next = 0;  // into views (the held-out positions, sorted)
    for (size_t j = 0; j < items.size(); ++j) {
      if (next < n && views[next] == j) {
        out.held_out[u].push_back(items[j]);
        ++next;
        continue;
      }
      s.listed[u].push_back(items[j]);
      if (flags(j) & Interactions::kTrain) s.train[u].push_back(items[j]);
    }
    out.num_held_out += n;
  }
  return out;
}

std::vector<std::vector<uint32_t>> HoldOutUsers(HeldOutViews* h, double share, uint64_t seed) {
  std::vector<std::vector<uint32_t>> liked(h->held_out.size());
  std::vector<uint32_t> candidates;
  for (uint32_t u = 0; u < h->held_out.size(); ++u) {
    if (!h->held_out[u].empty()) candidates.push_back(u);
  }
  std::mt19937_64 rng(seed ^ 0x9e3779b97f4a7c15ULL);  // apart from HoldOutViews' draws
  std::shuffle(candidates.begin(), candidates.end(), rng);
  candidates.resize(
      static_cast<size_t>(std::llround(share * static_cast<double>(candidates.size()))));
  for (uint32_t u : candidates) {
    liked[u] = std::move(h->split.train[u]);
    h->split.train[u].clear();
  }
  return liked;
}

std::vector<int> ViewerBuckets() {
  return {0, 1, 2, 3, 5, 10, 20, 50};
}

namespace {

size_t BucketOf(int viewers, const std::vector<int>& lower) {
  return static_cast<size_t>(std::upper_bound(lower.begin(), lower.end(), viewers) -
                             lower.begin()) -
         1;
}

}  // namespace

// Ranks every held-out view by the scores `scores_of(u, scores)` writes for user u over
// every row (false: skip the user) into `row`.
template <typename Scores>
void RankScores(const ThresholdInput& in, Scores scores_of, ThresholdRow* row) {
  const std::vector<int> lower = ViewerBuckets();
  std::vector<double> auc_sum(lower.size(), 0.0);
  row->pairs.assign(lower.size(), 0);
  if (in.group != nullptr) {
    const uint16_t groups =
        in.group->empty() ? 0 : *std::max_element(in.group->begin(), in.group->end());
    row->by_group.assign(groups + 1u, ListMetrics{});
  }
  const size_t n = in.ids->size();
  std::vector<float> scores(n);
  std::vector<uint32_t> rare;
  constexpr float kLeftOut = -std::numeric_limits<float>::infinity();
  for (size_t u = 0; u < in.held_out->size(); ++u) {
    const std::vector<uint32_t>& relevant = (*in.held_out)[u];
    if (relevant.empty() || !scores_of(u, scores.data())) continue;
    const std::vector<uint32_t>& listed = (*in.listed)[u];
    for (uint32_t r : listed) scores[r] = kLeftOut;
    const std::vector<RelevantRank> ranks = RanksOfRelevant(scores, relevant);
    AddRanks(ranks, &row->all);
    if (in.group != nullptr) AddRanks(ranks, &row->by_group[(*in.group)[u]]);
    const double negatives = static_cast<double>(n - listed.size() - relevant.size());
    rare.clear();
    for (size_t a = 0; a < relevant.size(); ++a) {
      const int v = (*in.viewers)[relevant[a]];
      const size_t b = BucketOf(v, lower);
      auc_sum[b] +=
          negatives > 0 ? 1.0 - static_cast<double>(ranks[a].negatives_above) / negatives : 1.0;
      ++row->pairs[b];
      if (v < kRareViewers) {
        rare.push_back(relevant[a]);
      } else {
        scores[relevant[a]] = kLeftOut;  // in the rare list, neither relevant nor a candidate
      }
    }
    AddRankedList(scores, rare, &row->rare);
  }
  Finish(&row->all);
  Finish(&row->rare);
  for (ListMetrics& m : row->by_group) Finish(&m);
  row->auc.assign(lower.size(), 0.0);
  for (size_t b = 0; b < lower.size(); ++b) {
    if (row->pairs[b] > 0) row->auc[b] = auc_sum[b] / static_cast<double>(row->pairs[b]);
  }
}

// RankScores by the inner product of the rows' `vectors` with the user vector
// `user_vector(u, out)` writes (false: skip the user).
template <typename UserVector>
void RankWith(const ThresholdInput& in, const Tensor& vectors, UserVector user_vector,
              ThresholdRow* row) {
  const int d = vectors.cols;
  const auto n = static_cast<Eigen::Index>(in.ids->size());
  using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::Map<const Matrix> items(vectors.v.data(), n, d);
  Eigen::VectorXf user(d);
  RankScores(
      in,
      [&](size_t u, float* scores) {
        if (!user_vector(u, user.data())) return false;
        Eigen::Map<Eigen::VectorXf>(scores, n).noalias() = items * user;
        return true;
      },
      row);
}

namespace {

// The users MF trained (a history), as the bundle's users: the popularity shift's
// direction and calibration read them; users held out whole are not among them.
struct TrainedUsers {
  Tensor users;
  std::vector<std::vector<uint32_t>> history;

  explicit TrainedUsers(const ThresholdInput& in) {
    const int d = in.users->cols;
    std::vector<uint32_t> kept;
    for (uint32_t u = 0; u < in.history->size(); ++u) {
      if (!(*in.history)[u].empty()) kept.push_back(u);
    }
    users = Tensor(static_cast<int>(kept.size()), d);
    for (uint32_t k = 0; k < kept.size(); ++k) {
      std::copy_n(in.users->row(kept[k]), d, users.row(k));
      history.push_back((*in.history)[kept[k]]);
    }
  }
  ShiftInput Shift(double share) const {
    ShiftInput s;
    s.users = &users;
    s.history = &history;
    s.share = share;
    return s;
  }
};

}  // namespace

void RankHeldOut(const ThresholdInput& in, const Tensor& vectors, ThresholdRow* row) {
  RankWith(
      in, vectors,
      [&](size_t u, float* out) {
        std::copy_n(in.users->row(static_cast<uint32_t>(u)), in.users->cols, out);
        return true;
      },
      row);
}

void RankHeldOutWatchLists(const ThresholdInput& in, const Tensor& vectors, const Tensor& queries,
                           ThresholdRow* row) {
  const int d = queries.cols;
  const std::vector<float> gram = GramMatrix(queries.v.data(), queries.rows, d);
  const TrainedUsers trained(in);  // the prior: the mean trained user, as served
  std::vector<float> prior(d, 0.0f);
  for (int u = 0; u < trained.users.rows; ++u) {
    for (int c = 0; c < d; ++c) prior[c] += trained.users.row(static_cast<uint32_t>(u))[c];
  }
  for (float& v : prior) v /= static_cast<float>(std::max(trained.users.rows, 1));
  const std::vector<std::vector<uint32_t>>& lists = in.liked != nullptr ? *in.liked : *in.history;
  std::vector<const float*> liked;
  RankWith(
      in, vectors,
      [&](size_t u, float* out) {
        liked.clear();
        for (uint32_t r : lists[u]) liked.push_back(queries.row(r));
        if (liked.empty()) return false;
        return FoldInUser(gram.data(), d, liked, {}, 1.0f, kServedFoldIn, out, prior.data(),
                          1.0f / static_cast<float>(liked.size()))
            .ok();
      },
      row);
}

Tensor WatchListQueries(const FilledVectors& filled, const Tensor& learned,
                        const std::vector<int>& viewers, const WatchListSetting& s) {
  Tensor queries = filled.query_vectors;
  for (uint32_t r = 0; r < viewers.size(); ++r) {
    if (viewers[r] >= s.query && viewers[r] < s.rank)
      std::copy_n(learned.row(r), queries.cols, queries.row(r));
  }
  return queries;
}

namespace {

// A watch-list setting as the ncf collection would serve it: the vectors filled at
// s.rank, the query vectors of s, and a row with the setting's fields.
struct ServedSetting {
  FilledVectors filled;
  Tensor queries;
  ThresholdRow row;
};
absl::StatusOr<ServedSetting> Serve(const ThresholdInput& in, const ShiftInput& shift,
                                    const WatchListSetting& s) {
  if (s.query < 1 || s.query > s.rank) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a watch-list setting needs 1 <= query <= rank viewers, got ", s.query, ":", s.rank));
  }
  auto filled = FillVectors(*in.catalog, *in.ids, *in.learned, *in.viewers, in.text, in.content,
                            in.lambda, s.rank, &shift);
  if (!filled.ok()) return filled.status();
  ServedSetting out;
  out.queries = WatchListQueries(*filled, *in.learned, *in.viewers, s);
  out.row.threshold = s.rank;
  out.row.query = s.query;
  out.row.shift = filled->calibration.shift;
  for (uint8_t p : filled->predicted) out.row.predicted += p;
  out.filled = *std::move(filled);
  return out;
}

}  // namespace

absl::StatusOr<std::vector<ThresholdRow>> StudyWatchLists(
    const ThresholdInput& in, const std::vector<WatchListSetting>& settings) {
  const TrainedUsers trained(in);
  const ShiftInput shift = trained.Shift(in.shift_share);
  std::vector<ThresholdRow> rows;
  for (const WatchListSetting& s : settings) {
    auto served = Serve(in, shift, s);
    if (!served.ok()) return served.status();
    ThresholdRow row = served->row;
    row.name = absl::StrCat("watch lists: queried as learned from ", s.query,
                            " viewers on, ranked as learned from ", s.rank, " on");
    RankHeldOutWatchLists(in, served->filled.vectors, served->queries, &row);
    rows.push_back(std::move(row));
  }
  return rows;
}

absl::StatusOr<std::vector<ThresholdRow>> StudyListLengths(
    const ThresholdInput& in, const std::vector<WatchListSetting>& settings,
    const ListLengthOptions& options) {
  if (in.liked == nullptr) return absl::InvalidArgumentError("no watch lists to cut");
  const TrainedUsers trained(in);
  const ShiftInput shift = trained.Shift(in.shift_share);
  std::vector<ServedSetting> served;
  for (const WatchListSetting& s : settings) {
    auto one = Serve(in, shift, s);
    if (!one.ok()) return one.status();
    served.push_back(*std::move(one));
  }
  Split rows;  // the training histories by row: the baselines learn from them
  rows.num_users = static_cast<uint32_t>(in.history->size());
  rows.num_items = static_cast<uint32_t>(in.ids->size());
  rows.train = *in.history;
  const PopularityScorer popularity(rows);
  const ItemKnnScorer knn(rows, options.neighbours, options.threads);
  std::vector<ThresholdRow> out;
  for (int length : options.lengths) {
    Split lists = rows;  // lists.train: the cut lists, for item-kNN
    lists.train = CutLists(*in.liked, length, options.seed);
    ThresholdInput cut = in;
    cut.liked = &lists.train;
    const ItemKnnListScorer item_knn(knn, lists, rows.num_items);
    auto add = [&](std::string name, ThresholdRow row, const Scorer* scorer) {
      row.name = std::move(name);
      row.length = length;
      if (scorer != nullptr) {
        RankScores(
            cut,
            [&](size_t u, float* scores) {
              scorer->ScoreAll(static_cast<uint32_t>(u), scores);
              return !lists.train[u].empty();
            },
            &row);
      }
      out.push_back(std::move(row));
    };
    add("popularity", {}, &popularity);
    add(absl::StrCat("item-kNN (", options.neighbours, ")"), {}, &item_knn);
    for (const ServedSetting& s : served) {
      ThresholdRow row = s.row;
      RankHeldOutWatchLists(cut, s.filled.vectors, s.queries, &row);
      add(absl::StrCat("fold-in, learned from ", s.row.query, ":", s.row.threshold, " viewers"),
          std::move(row), nullptr);
    }
  }
  return out;
}

absl::StatusOr<std::vector<ThresholdRow>> StudyThresholds(const ThresholdInput& in,
                                                          const std::vector<int>& thresholds,
                                                          const std::vector<double>& blends) {
  if (thresholds.empty()) return absl::InvalidArgumentError("no threshold to study");
  const TrainedUsers trained(in);
  const ShiftInput shift = trained.Shift(in.shift_share);
  std::vector<ThresholdRow> rows;
  FilledVectors widest;  // the largest threshold's: its predictions are the blends' prior
  const int largest = *std::max_element(thresholds.begin(), thresholds.end());
  for (int t : thresholds) {
    auto filled = FillVectors(*in.catalog, *in.ids, *in.learned, *in.viewers, in.text, in.content,
                              in.lambda, t, &shift);
    if (!filled.ok()) return filled.status();
    ThresholdRow row;
    row.name = absl::StrCat("learned from ", t, " viewers on");
    row.threshold = t;
    row.shift = filled->calibration.shift;
    for (uint8_t p : filled->predicted) row.predicted += p;
    RankHeldOut(in, filled->vectors, &row);
    rows.push_back(std::move(row));
    if (t == largest) widest = *std::move(filled);
  }
  const int d = in.learned->cols;
  for (double k : blends) {
    Tensor v = widest.vectors;
    ThresholdRow row;
    row.name = absl::StrCat("blend n/(n+", k, ") learned, under ", largest, " viewers");
    row.threshold = largest;
    row.blend_k = k;
    row.shift = widest.calibration.shift;
    for (size_t r = 0; r < in.ids->size(); ++r) {
      const int n = (*in.viewers)[r];
      if (!widest.predicted[r]) continue;
      ++row.predicted;
      if (n == 0) continue;
      const float w = static_cast<float>(n / (n + k));
      float* out = v.row(static_cast<uint32_t>(r));
      const float* learned = in.learned->row(static_cast<uint32_t>(r));
      for (int c = 0; c < d; ++c) out[c] = w * learned[c] + (1.0f - w) * out[c];
    }
    RankHeldOut(in, v, &row);
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace simsearch::ncf
