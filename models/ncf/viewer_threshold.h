// How many viewers an anime needs before the vector it learned from them ranks it
// better than the content model's prediction (cold_start.h): the threshold that
// `simsearch-cold-start predict --min-viewers` serves (docs/MODELS.md, "How many
// viewers make a learned vector").
//
// Measured on held-out views (HoldOutViews): a share of every user's views is held out
// and MF is trained on the rest. Each way of filling the vectors is then served as
// predict serves it (FillVectors: learned for anime with at least t training viewers,
// predicted and shifted by popularity for the others) and ranks every anime not on a
// user's list, by the user's learned vector; the held-out views give Recall@20 and
// NDCG@20 over all of them and over those of rare anime (fewer than kRareViewers
// training viewers), and, per bucket of training viewers, the mean AUC of a held-out
// view (the share of the user's candidates ranked below it), which shows where a
// learned vector starts to beat the prediction. Besides hard thresholds, blends
// w learned + (1 - w) predicted with w = n / (n + k) for anime with n < the largest
// threshold viewers (a prior at the content model's prediction that n viewers move).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/catalog.h"
#include "core/interactions.h"
#include "models/ncf/cold_start.h"
#include "models/ncf/model.h"
#include "models/ncf/serving_eval.h"
#include "models/ncf/split.h"
#include "retrieval/fold_in.h"

namespace simsearch::ncf {

// Training pairs and the held-out views: for every user with a view and at least two
// trained pairs, round(share x views) of the views (at least one, and never
// every trained pair) are held out, drawn uniformly with the seed. Only-listed pairs
// (dropped, plan to watch) stay listed and are never held out.
struct HeldOutViews {
  Split split;                                  // train and listed without the held-out views
  std::vector<std::vector<uint32_t>> held_out;  // per user, items, sorted
  uint64_t num_held_out = 0;
};
HeldOutViews HoldOutViews(const Interactions& data, double share, uint64_t seed);

// Users held out whole, for watch lists a fan would bring: a share of the users with
// held-out views (drawn with the seed) lose every trained pair (the model never sees
// them); their trained anime (less the held-out views) are the watch list, folded in,
// and their held-out views what it should find. Returns, per user, the anime folded in
// (empty for the other users).
std::vector<std::vector<uint32_t>> HoldOutUsers(HeldOutViews* h, double share, uint64_t seed);

// The fold-in the ncf collection is built with (scripts/retrain.sh --fold-in 0.001,100),
// which the evaluations of watch lists replay.
inline constexpr FoldInParams kServedFoldIn{0.001f, 100.0f};

// Rare anime, for the rare columns: fewer training viewers than this.
inline constexpr int kRareViewers = 20;
// The buckets of training viewers the AUC is reported by: their lower bounds.
std::vector<int> ViewerBuckets();  // 0, 1, 2, 3, 5, 10, 20, 50

// What the study ranks with, by row (a row per catalogue anime, as predict's).
struct ThresholdInput {
  const Catalog* catalog = nullptr;
  const std::vector<int64_t>* ids = nullptr;  // the rows' anime ids
  const Tensor* learned = nullptr;            // rows x d; zeros for rows never trained on
  const std::vector<int>* viewers = nullptr;  // training viewers per row
  const TextVectors* text = nullptr;          // nullptr: none
  ContentOptions content;
  double lambda = 10;
  double shift_share = 0.1;
  const Tensor* users = nullptr;                                 // the MF user vectors
  const std::vector<std::vector<uint32_t>>* history = nullptr;   // per user, trained rows, sorted
  const std::vector<std::vector<uint32_t>>* listed = nullptr;    // per user, rows not ranked
  const std::vector<std::vector<uint32_t>>* held_out = nullptr;  // per user, rows, sorted
  // Watch lists: per user, the rows folded in (nullptr: history; a user with none is
  // skipped).
  const std::vector<std::vector<uint32_t>>* liked = nullptr;
  // Per user, the data set it came from (Interactions::dataset_of_user): metrics are
  // also kept per data set (ThresholdRow::by_group). nullptr: not.
  const std::vector<uint16_t>* group = nullptr;
};

// One way of filling the vectors, ranked.
struct ThresholdRow {
  std::string name;
  int threshold = 0;     // learned from this many viewers on
  double blend_k = 0;    // > 0: a blend (above)
  int query = 0;         // > 0: watch lists (StudyWatchLists), queried from this many viewers on
  size_t predicted = 0;  // rows whose vector is (partly) predicted
  double shift = 0;      // the popularity shift FillVectors chose
  int length = 0;        // > 0: watch lists cut to this many anime (StudyListLengths)
  ListMetrics all, rare;
  std::vector<ListMetrics> by_group;  // with ThresholdInput::group: `all` per data set
  std::vector<double> auc;            // per ViewerBuckets() bucket: mean AUC of its held-out views
  std::vector<uint64_t> pairs;        // ... and how many there were
};

// Ranks every held-out view with the vectors `vectors` (rows as in.ids) into `row`, by
// each user's learned vector (in.users).
void RankHeldOut(const ThresholdInput& in, const Tensor& vectors, ThresholdRow* row);

// The same with each user's anime (in.liked, or their training anime) as a watch list,
// folded in as the ncf collection serves one (retrieval/fold_in.h; alpha 0.001, lambda
// 100, pulled toward the mean trained user with weight 1 / liked anime; the Gram matrix
// over `queries`) through `queries`, the rows' query vectors. Users whose fold-in fails
// are skipped.
void RankHeldOutWatchLists(const ThresholdInput& in, const Tensor& vectors, const Tensor& queries,
                           ThresholdRow* row);

// Watch lists with an anime's two roles apart: as a candidate ranked by its learned
// vector from `rank` viewers on (predicted below), as a liked anime of a list (a query)
// by its learned vector from `query` viewers on (query <= rank; below, its prediction
// as a query: FilledVectors::query_vectors of the fit at `rank`).
struct WatchListSetting {
  int query = 0, rank = 0;
};
// The query vectors of setting `s`: those of `filled` (the fill at s.rank), with the
// learned vector for the anime with s.query <= viewers < s.rank.
Tensor WatchListQueries(const FilledVectors& filled, const Tensor& learned,
                        const std::vector<int>& viewers, const WatchListSetting& s);
absl::StatusOr<std::vector<ThresholdRow>> StudyWatchLists(
    const ThresholdInput& in, const std::vector<WatchListSetting>& settings);

struct ListLengthOptions {
  std::vector<int> lengths;
  int neighbours = 200;  // item-kNN's neighbours per anime
  int threads = 2;       // for item-kNN's neighbours
  uint64_t seed = 0;     // the cuts: CutLists(*in.liked, L, seed)
};
// Watch lists by length, as a visitor brings them (docs/MODELS.md, "Short watch
// lists", measured again with the served vectors): for each length L of
// options.lengths, every list of in.liked cut to L of its anime (CutLists; lists with
// fewer are not evaluated) and the held-out views ranked among every catalogue anime
// not on the user's list by
//   popularity   an anime's training viewers (the same list for everyone);
//   item-kNN     the sum over the list of ItemKnnScorer's cosine (`neighbours` per
//                anime, learned on the training histories);
//   each setting of `settings`, folded in as StudyWatchLists folds a list in.
// Rows L by L, in that order, with ThresholdRow::length set.
absl::StatusOr<std::vector<ThresholdRow>> StudyListLengths(
    const ThresholdInput& in, const std::vector<WatchListSetting>& settings,
    const ListLengthOptions& options);

// Each threshold of `thresholds`, then each blend k of `blends` (on the largest
// threshold's predictions), filled, served and ranked.
absl::StatusOr<std::vector<ThresholdRow>> StudyThresholds(const ThresholdInput& in,
                                                          const std::vector<int>& thresholds,
                                                          const std::vector<double>& blends);

}  // namespace simsearch::ncf
