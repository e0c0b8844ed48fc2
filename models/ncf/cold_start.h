// Cold start: a vector in the viewers' (MF) space for anime that nobody, or too few,
// watched, predicted from what is known without viewers, and the time-split evaluation
// that measures it against simple baselines (docs/MODELS.md, "Cold start").
//
// Content features of an anime (BuildContentFeatures):
//   genres      multi-hot over the genre names of at least `min_count` anime, L2-normalised
//   type        one-hot (TV, Movie, OVA, ONA, Special, Music, other/unknown)
//   start year  one-hot buckets (before 1990, 1990s, 2000-04, ..., 2020s, unknown)
//   age rating  one-hot (g, pg, pg_13, r, r+, rx, unknown)
//   studios     multi-hot over studios of at least `min_count` anime
//   members     log(1 + members), standardised over the rows; also its percentile among
//               anime of the same start year (and its square), and log members per
//               start-year bucket: the same count means more for a newer anime
//   synopsis    a sentence-encoder vector of the synopsis (unit length), or zeros and an
//               "unknown" indicator
//   franchise   the mean learned vector of the anime's related entries that have
//               viewers (MAL's `related`: sequels, prequels, side stories), or zeros and
//               an indicator: a sequel is close to what its prequel's viewers watched
// A ridge regression from features to the learned item vectors, fit on anime with
// enough viewers (ContentModel), predicts the vectors of the rest; the popularity shift
// (CalibrateShift, below) then moves them by their member counts. A ranking objective
// (BPR against the user vectors) in place of the regression was tried and lost: see
// docs/MODELS.md, "Cold start".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/catalog.h"
#include "models/ncf/model.h"

namespace simsearch::ncf {

// Sentence-encoder vectors of some anime's synopses (rows as `ids`).
struct TextVectors {
  std::vector<int64_t> ids;
  int dims = 0;
  std::vector<float> v;  // ids.size() x dims
};
absl::StatusOr<TextVectors> LoadTextVectors(const std::string& vectors_path,
                                            const std::string& ids_path);

struct ContentOptions {
  int min_count = 5;                 // vocabulary: genres and studios of at least this many anime
  bool franchise = true;             // the related entries' mean vector as a feature
  bool franchise_by_viewers = true;  // ... weighted by their viewers (else a plain mean)
  bool text = true;                  // the synopsis vector as a feature (when given)
  // Members also as a percentile among anime of the same start year (and its square),
  // and log members per start-year bucket: the same count means more for a newer anime.
  bool members_by_year = true;
  // Rows whose member count is not used (a time split's cold anime: today's count says
  // how popular they became after the data's end): they get the average. Empty: none.
  std::vector<uint8_t> hide_members;
};

// Features of `ids` (rows), from the catalogue (anime it lacks get only "unknown"
// indicators), the synopsis vectors (nullptr: none), and for the franchise feature the
// learned vectors `learned` (rows as `ids`) of the rows with viewers[r] > 0 (the rows
// whose learned vectors are trusted; 0 for the rest).
struct ContentFeatures {
  int dims = 0;
  std::vector<float> x;            // ids.size() x dims
  std::vector<std::string> names;  // what each dimension is, for people
};
ContentFeatures BuildContentFeatures(const Catalog& catalog, const std::vector<int64_t>& ids,
                                     const TextVectors* text, const Tensor* learned,
                                     const std::vector<int>& viewers,
                                     const ContentOptions& options);

// Ridge regression y = [x, 1] W, fit on the given rows in double precision:
// W = (X^T X + lambda I)^-1 X^T Y (the intercept is not penalised).
class ContentModel {
 public:
  static absl::StatusOr<ContentModel> Fit(const ContentFeatures& f, const Tensor& targets,
                                          const std::vector<uint32_t>& rows, double lambda);
  // Writes the prediction for row r of `f` (size out_dims()).
  void Predict(const ContentFeatures& f, uint32_t row, float* out) const;
  int out_dims() const { return out_dims_; }

 private:
  int in_dims_ = 0, out_dims_ = 0;
  std::vector<double> w_;  // (in_dims + 1) x out_dims
};

// The popularity shift. Ridge regression predicts the mean vector of anime with such
// content, which shrinks what sets a new hit apart from a new flop: ranked among new
// anime, the predictions followed popularity less than popularity alone ranks them
// (docs/MODELS.md, "Cold start"). The shift moves a predicted vector v of an anime with
// standardised log members z to v + s z m / |m|^2, m the mean user vector: a user u's
// score moves by s z (u . m) / |m|^2, about s z for a typical user.
std::vector<double> PopularityDirection(const Tensor& users);  // m / |m|^2
// The column of "log members (standardised)" in f, or -1.
int MembersColumn(const ContentFeatures& f);
void ApplyShift(const ContentFeatures& f, const std::vector<double>& direction, double shift,
                const std::vector<uint8_t>& rows, Tensor* vectors);

// Chooses s on the training data alone, as time would: the newest `share` of the rows
// with enough viewers (`warm_rows`, by start date) act as cold anime: a model fit on the
// other warm rows predicts their vectors, their viewers (`history`: rows of f per user,
// sorted; `users`: the user vectors, rows as history) rank them, and s is the value of
// `grid` with the best NDCG@20 (the smallest of equals), held down to the level at
// which the predicted anime take no more of their viewers' top 10 than their learned
// vectors would (ShiftCalibration::by_level).
struct ShiftCalibration {
  double shift = 0;
  std::vector<std::pair<double, double>> ndcg;  // (s, NDCG@20) for each s of the grid
  size_t pseudo_cold = 0;
  uint32_t users = 0;
  std::string newest_from;  // the start date of the oldest anime acting as cold
  std::string skipped;      // FillVectors: why there was too little data to choose (shift 0)
  // shift = min(by_ranking, by_level). by_ranking: the s with the best NDCG@20 above.
  // by_level: the largest s of the grid at which the anime acting as cold, predicted,
  // take no larger share of the top 10 of the users who watch new anime (who watched
  // any of them; among the anime with viewers, the user's own left out) than they take
  // with their learned vectors (share_learned). The same over every user: *_all.
  double by_ranking = 0, by_level = 0, share_learned = 0, share_learned_all = 0;
  std::vector<std::pair<double, double>> share, share_all;  // (s, share of the top-10 slots)
};
absl::StatusOr<ShiftCalibration> CalibrateShift(
    const Catalog& catalog, const std::vector<int64_t>& ids, const ContentFeatures& f,
    const Tensor& learned, const std::vector<uint32_t>& warm_rows, const Tensor& users,
    const std::vector<std::vector<uint32_t>>& history, double lambda, double share,
    const std::vector<double>& grid);
std::vector<double> DefaultShiftGrid();

// Every row of `ids` gets a vector: rows with at least `min_viewers` viewers keep their
// learned vector (a row of `learned`, rows as `ids`); the others get the content model's
// prediction, fit on those rows (predicted[r] = 1).
struct FilledVectors {
  Tensor vectors;                  // rows as ids
  std::vector<uint8_t> predicted;  // per row
  size_t fit_on = 0;               // rows the content model learned from
  int features = 0;
  ShiftCalibration calibration;  // when users were given
  // What an anime means as a query ("more like this", a watch list's liked anime): the
  // learned vector, or for a predicted one its prediction without the shift (the shift
  // is for ranking it, not for what it is like) and spread out as learned vectors are
  // (DeshrinkQueries).
  Tensor query_vectors;
  double query_spread = 1;  // the factor DeshrinkQueries applied (1: none)
};
// Ridge predictions are shrunk toward their mean: as queries they all look alike (mean
// pairwise cosine 0.86 on the demo data, learned vectors 0.10), so every predicted
// anime's "more like this" list was the same few anime. Each predicted row p becomes
// mu_g + a (p - mu_g), mu_g the mean prediction of its group (`group` per row: the
// start year) and a the ratio of the learned rows' spread to the predicted rows' (root
// mean squared distance to their group's mean; `warm_rows` are the learned rows). What
// the model knows of a group (an era) stays; what sets one predicted anime apart from
// its group counts as much as among learned ones (docs/MODELS.md, "Hubs"). Returns a.
double DeshrinkQueries(const Tensor& learned, const std::vector<uint32_t>& warm_rows,
                       const std::vector<uint8_t>& predicted, const std::vector<int>& group,
                       Tensor* queries);

// With `shift` (users and their histories, rows as ids), the predicted vectors get the
// popularity shift CalibrateShift chooses (or `fixed` when >= 0); with too few dated
// anime or none of the newest watched, none (calibration.skipped says why).
struct ShiftInput {
  const Tensor* users = nullptr;
  const std::vector<std::vector<uint32_t>>* history = nullptr;
  double share = 0.1;
  double fixed = -1;
};
absl::StatusOr<FilledVectors> FillVectors(const Catalog& catalog, const std::vector<int64_t>& ids,
                                          const Tensor& learned, const std::vector<int>& viewers,
                                          const TextVectors* text, const ContentOptions& options,
                                          double lambda, int min_viewers,
                                          const ShiftInput* shift = nullptr);

// The last day a start date can mean: "2022" -> "2022-12-31", "2022-07" -> "2022-07-31"
// (every month taken as 31 days: only compared), "2022-07-15" as it is.
std::string LatestDay(const std::string& start_date);

// Which anime count as cold in a time split: those whose start date (its LatestDay:
// an anime dated only "2022" may have started in December) is after `cutoff` and its
// first possible day not after `until` (the data's end: later anime cannot have been
// watched). ISO dates compared as text. Anime with no start date are not cold.
std::vector<int64_t> ColdAnime(const Catalog& catalog, const std::string& cutoff,
                               const std::string& until);

// Recall@20 and NDCG@20 with several relevant items per user: recall is the share of
// the user's relevant items in the top 20 (out of min(relevant, 20)); NDCG's ideal puts
// every relevant item first. Ties count against relevant items, as in evaluate.h.
// HR@10: the share of users with a relevant item in their top 10.
struct ListMetrics {
  double recall20 = 0, ndcg20 = 0, hit10 = 0;
  uint32_t users = 0;
};
// `scores`: the candidates' scores; `relevant`: positions in `scores` that are relevant.
// A candidate scored -infinity is never ranked above a relevant item with a finite score
// (left out). Scores must not be NaN.
void AddRankedList(const std::vector<float>& scores, const std::vector<uint32_t>& relevant,
                   ListMetrics* sum);

// Where each relevant position (in the order of `relevant`) ranks in the list by
// descending score, 0 first, with AddRankedList's ties: an equal non-relevant score
// ranks above; among relevant items with equal scores, the one listed first ranks
// above. `negatives_above` counts only the non-relevant candidates above it (for an
// AUC). O(n log n + relevant^2).
struct RelevantRank {
  size_t rank = 0;
  size_t negatives_above = 0;
};
std::vector<RelevantRank> RanksOfRelevant(const std::vector<float>& scores,
                                          const std::vector<uint32_t>& relevant);
// AddRankedList from ranks already computed (RanksOfRelevant of the same list).
void AddRanks(const std::vector<RelevantRank>& ranks, ListMetrics* sum);
void Finish(ListMetrics* m);

}  // namespace simsearch::ncf
