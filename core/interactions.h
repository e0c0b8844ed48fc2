// User-item interactions (implicit feedback) read from CSV: the input of the NCF
// trainer and of the per-user data the engine serves.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace simsearch {

// Users and items are numbered densely (0..n-1) in ascending order of their external
// ids; items_of_user[u] lists u's items, sorted and unique.
struct Interactions {
  std::vector<int64_t> user_ids;  // external id of user u
  std::vector<int64_t> item_ids;  // external id of item i
  std::vector<std::vector<uint32_t>> items_of_user;
  // Parallel to items_of_user: what each pair is, as bits. A file without a status
  // column: every pair kTrain | kView. A MAL list: kTrain when its status is in
  // InteractionsOptions::statuses, kView when in view_statuses; a pair with neither is
  // only listed (dropped, say, or plan to watch): not trained on, never held out, and
  // not recommended back to its user in evaluation. kNegative: the status is one of
  // InteractionsOptions::negative_statuses (an explicit negative when not trained on).
  static constexpr uint8_t kTrain = 1, kView = 2, kNegative = 4;
  std::vector<std::vector<uint8_t>> flags_of_user;
  // With InteractionsOptions::read_scores: parallel to items_of_user, each pair's score
  // (the rating column; a repeated pair keeps the largest); 0 or below where there is
  // none (a file without a rating column, a MAL list's "not scored", a -1 "not rated").
  // Otherwise empty.
  std::vector<std::vector<float>> score_of_user;
  // The data set (file, in the order given) each user comes from.
  std::vector<uint16_t> dataset_of_user;
  std::vector<std::string> datasets;  // the files' names
  uint64_t rows_read = 0;             // data rows in the files
  uint64_t rows_kept = 0;             // after the rating threshold and the status filter
  uint64_t duplicates = 0;            // repeated (user, item) pairs, counted once
  uint64_t rows_unknown_item = 0;  // left out: the item is not in InteractionsOptions::known_items
  // MAL list rows by status (index 1 watching, 2 completed, 3 on hold, 4 dropped,
  // 6 plan to watch; 0 other values), as read.
  std::vector<uint64_t> rows_by_status = std::vector<uint64_t>(7, 0);

  size_t num_users() const { return user_ids.size(); }
  size_t num_items() const { return item_ids.size(); }
  uint64_t num_interactions() const;  // every pair, listed-only ones included
  uint64_t num_trained() const;       // pairs with kTrain
};

// MAL list statuses (the `status` column of a MyAnimeList list).
inline constexpr int kStatusWatching = 1, kStatusCompleted = 2, kStatusOnHold = 3,
                     kStatusDropped = 4, kStatusPlanToWatch = 6;

struct InteractionsOptions {
  // Keep only rows whose rating is at least this (needs a rating column; a MAL list's
  // score 0, "not scored", counts as no rating and is kept).
  std::optional<double> min_rating;
  // For files with a `status` column: rows of these statuses are trained on...
  std::vector<int> statuses = {kStatusWatching, kStatusCompleted, kStatusOnHold};
  // ... these count as views (may be held out for evaluation)...
  std::vector<int> view_statuses = {kStatusWatching, kStatusCompleted};
  // ... these are marked kNegative (say, dropped: a weak negative)...
  std::vector<int> negative_statuses;
  // ... and the rest of these are only listed (neither kTrain nor kView); other statuses
  // are left out.
  std::vector<int> listed_statuses = {kStatusWatching, kStatusCompleted, kStatusOnHold,
                                      kStatusDropped, kStatusPlanToWatch};
  // Sorted item ids to keep (say, the catalogue's: what can be served); rows of other
  // items are counted in Interactions::rows_unknown_item and left out. nullptr: all.
  const std::vector<int64_t>* known_items = nullptr;
  // Keep each pair's score (Interactions::score_of_user); a rating that is not a number
  // is then an error.
  bool read_scores = false;
  // A file with a header and no rows is an empty set, not an error (the trainer's
  // user_listed.csv when nobody dropped or planned anything).
  bool allow_empty = false;
};

// With several files, users of the k-th file (0-based) get k * kUserIdSpace added to
// their ids, so data sets crawled apart keep their users apart (the first file's ids
// are unchanged), and every user id must be in [0, kUserIdSpace). A single file's ids
// are taken as they are (the merged user_items.csv the trainer writes, say).
inline constexpr int64_t kUserIdSpace = 1000000;

// Reads a CSV with a header naming the columns: user (user_id | user | userid), item
// (item_id | anime_id | item | movie_id), and optionally rating (rating | score) and
// status (a MAL list's: 1 watching, 2 completed, 3 on hold, 4 dropped, 6 plan to watch).
// Extra columns are ignored. Errors name the file and line: missing columns,
// non-integer ids, a non-numeric rating or status, an empty file.
absl::StatusOr<Interactions> LoadInteractions(const std::string& path,
                                              const InteractionsOptions& options = {});

// Several files, merged: items are shared (the same external ids), users are kept
// apart by kUserIdSpace (above).
absl::StatusOr<Interactions> LoadInteractions(const std::vector<std::string>& paths,
                                              const InteractionsOptions& options = {});

// "1,2,3" -> statuses; an error naming `flag` for anything but 1, 2, 3, 4 or 6.
absl::StatusOr<std::vector<int>> ParseStatuses(const std::string& text, const std::string& flag);

}  // namespace simsearch
