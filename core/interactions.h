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
  std::vector<int64_t> user_ids;                    // external id of user u
  std::vector<int64_t> item_ids;                    // external id of item i
  std::vector<std::vector<uint32_t>> items_of_user;
  uint64_t rows_read = 0;      // data rows in the file
  uint64_t rows_kept = 0;      // after the rating threshold
  uint64_t duplicates = 0;     // repeated (user, item) pairs, counted once

  size_t num_users() const { return user_ids.size(); }
  size_t num_items() const { return item_ids.size(); }
  uint64_t num_interactions() const;
};

struct InteractionsOptions {
  // Keep only rows whose rating is at least this (needs a rating column).
  std::optional<double> min_rating;
};

// Reads a CSV with a header naming the columns: user (user_id | user | userid), item
// (item_id | anime_id | item | movie_id), and optionally rating (rating | score).
// Extra columns are ignored. Errors name the file and line: missing columns,
// non-integer ids, a non-numeric rating, an empty file.
absl::StatusOr<Interactions> LoadInteractions(const std::string& path,
                                              const InteractionsOptions& options = {});

}  // namespace simsearch
