#include "core/interactions.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/csv.h"
#include "core/file_util.h"

namespace simsearch {
namespace {


// Dense numbering in ascending id order.
std::vector<int64_t> SortedUnique(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

}  // namespace

uint64_t Interactions::num_interactions() const {
  uint64_t n = 0;
  for (const auto& items : items_of_user) n += items.size();
  return n;
}

absl::StatusOr<Interactions> LoadInteractions(const std::string& path,
                                              const InteractionsOptions& options) {
  auto text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  CsvReader reader(*text, path);
  std::vector<std::string> header;
  auto has = reader.Next(&header);
  if (!has.ok()) return has.status();
  if (!*has || (header.size() == 1 && absl::StripAsciiWhitespace(header[0]).empty())) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": empty file (expected a header and rows)"));
  }
  const int user_col = FindAnyColumn(header, {"user_id", "user", "userid"});
  const int item_col = FindAnyColumn(header, {"item_id", "anime_id", "item", "itemid", "movie_id"});
  const int rating_col = FindAnyColumn(header, {"rating", "score"});
  if (user_col < 0 || item_col < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": line 1: header (", absl::StrJoin(header, ","), ") lacks ",
        user_col < 0 ? "a user column (user_id)" : "an item column (item_id or anime_id)",
        "; the first line must name the columns"));
  }
  if (options.min_rating && rating_col < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": a minimum rating was given but the header has no rating column"));
  }
  std::vector<std::pair<int64_t, int64_t>> pairs;
  Interactions out;
  std::vector<std::string> f;
  const size_t need = static_cast<size_t>(std::max({user_col, item_col, rating_col})) + 1;
  for (;;) {
    auto more = reader.Next(&f);
    if (!more.ok()) return more.status();
    if (!*more) break;
    if (f.size() == 1 && absl::StripAsciiWhitespace(f[0]).empty()) continue;
    ++out.rows_read;
    if (f.size() < need) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": line ", reader.line(), ": ",
                                                     f.size(), " fields, expected at least ", need));
    }
    int64_t user, item;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(f[user_col]), &user)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": line ", reader.line(), ": user id '",
                                                     f[user_col], "' is not an integer"));
    }
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(f[item_col]), &item)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": line ", reader.line(), ": item id '",
                                                     f[item_col], "' is not an integer"));
    }
    if (options.min_rating) {
      double rating;
      if (!absl::SimpleAtod(absl::StripAsciiWhitespace(f[rating_col]), &rating)) {
        return absl::InvalidArgumentError(absl::StrCat(path, ": line ", reader.line(), ": rating '",
                                                       f[rating_col], "' is not a number"));
      }
      if (rating < *options.min_rating) continue;
    }
    pairs.emplace_back(user, item);
  }
  out.rows_kept = pairs.size();
  if (pairs.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, out.rows_read == 0 ? ": no data rows" : ": no row passes the rating threshold"));
  }
  std::vector<int64_t> users, items;
  users.reserve(pairs.size());
  items.reserve(pairs.size());
  for (const auto& [u, i] : pairs) {
    users.push_back(u);
    items.push_back(i);
  }
  out.user_ids = SortedUnique(std::move(users));
  out.item_ids = SortedUnique(std::move(items));
  absl::flat_hash_map<int64_t, uint32_t> uidx, iidx;
  for (uint32_t u = 0; u < out.user_ids.size(); ++u) uidx[out.user_ids[u]] = u;
  for (uint32_t i = 0; i < out.item_ids.size(); ++i) iidx[out.item_ids[i]] = i;
  out.items_of_user.resize(out.user_ids.size());
  for (const auto& [u, i] : pairs) out.items_of_user[uidx[u]].push_back(iidx[i]);
  for (auto& v : out.items_of_user) {
    std::sort(v.begin(), v.end());
    const size_t before = v.size();
    v.erase(std::unique(v.begin(), v.end()), v.end());
    out.duplicates += before - v.size();
  }
  return out;
}

}  // namespace simsearch
