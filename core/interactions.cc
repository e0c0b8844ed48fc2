#include "core/interactions.h"

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/csv.h"

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

uint64_t Interactions::num_trained() const {
  if (flags_of_user.empty()) return num_interactions();
  uint64_t n = 0;
  for (const auto& flags : flags_of_user) {
    for (uint8_t f : flags) n += (f & kTrain) != 0;
  }
  return n;
}

namespace {

struct Row {
  int64_t user, item;
  uint8_t flags;
  uint16_t dataset;
  float score = 0;  // with read_scores; 0: none
};

// The columns of an interactions file (-1: absent) and the fields a record has at least.
struct FileColumns {
  int user, item, rating, status;
  size_t need;
};

// The columns of `header`: a user and an item column are required, and a rating column
// when a minimum rating is given.
absl::StatusOr<FileColumns> FindColumns(const std::string& path,
                                        const std::vector<std::string>& header,
                                        const InteractionsOptions& options) {
  FileColumns c;
  c.user = FindAnyColumn(header, {"user_id", "user", "userid"});
  c.item = FindAnyColumn(header, {"item_id", "anime_id", "item", "itemid", "movie_id"});
  c.rating = FindAnyColumn(header, {"rating", "score"});
  c.status = FindAnyColumn(header, {"status"});
  if (c.user < 0 || c.item < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": line 1: header (", absl::StrJoin(header, ","), ") lacks ",
        c.user < 0 ? "a user column (user_id)" : "an item column (item_id or anime_id)",
        "; the first line must name the columns"));
  }
  if (options.min_rating && c.rating < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": a minimum rating was given but the header has no rating column"));
  }
  c.need = static_cast<size_t>(std::max({c.user, c.item, c.rating, c.status})) + 1;
  return c;
}

// A record's field `value` that is not what `expected` says.
absl::Status BadValue(const std::string& path, size_t line, absl::string_view what,
                      const std::string& value, absl::string_view expected) {
  return absl::InvalidArgumentError(
      absl::StrCat(path, ": line ", line, ": ", what, " '", value, "' ", expected));
}

// Sets *flags from a record's list status `value` (counted in out->rows_by_status);
// false when the options keep no row of that status.
absl::StatusOr<bool> ReadStatus(const std::string& path, size_t line, const std::string& value,
                                const InteractionsOptions& options, uint8_t* flags,
                                Interactions* out) {
  int status = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(value), &status)) {
    return BadValue(
        path, line, "status", value,
        "is not an integer (1 watching, 2 completed, 3 on hold, 4 dropped, 6 plan to watch)");
  }
  ++out->rows_by_status[status >= 1 && status <= 6 && status != 5 ? status : 0];
  auto in = [status](const std::vector<int>& v) {
    return std::find(v.begin(), v.end(), status) != v.end();
  };
  *flags = static_cast<uint8_t>((in(options.statuses) ? Interactions::kTrain : 0) |
                                (in(options.view_statuses) ? Interactions::kView : 0) |
                                (in(options.negative_statuses) ? Interactions::kNegative : 0));
  return *flags != 0 || in(options.listed_statuses);
}

// Parses record `f` on line `line` into *row (the user id as the file gives it); false
// when the options drop it (status, minimum rating, unknown item: counted in `out`).
absl::StatusOr<bool> ParseRow(const std::string& path, size_t line, const FileColumns& c,
                              const std::vector<std::string>& f, bool several,
                              const InteractionsOptions& options, Row* row, Interactions* out) {
  if (f.size() < c.need) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": line ", line, ": ", f.size(), " fields, expected at least ", c.need));
  }
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(f[c.user]), &row->user)) {
    return BadValue(path, line, "user id", f[c.user], "is not an integer");
  }
  if (several && (row->user < 0 || row->user >= kUserIdSpace)) {
    return BadValue(path, line, "user id", f[c.user],
                    absl::StrCat("is outside [0, ", kUserIdSpace, ")"));
  }
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(f[c.item]), &row->item)) {
    return BadValue(path, line, "item id", f[c.item], "is not an integer");
  }
  row->flags = Interactions::kTrain | Interactions::kView;
  if (c.status >= 0) {
    auto listed = ReadStatus(path, line, f[c.status], options, &row->flags, out);
    if (!listed.ok() || !*listed) return listed;
  }
  if (c.rating >= 0 && (options.min_rating || options.read_scores)) {
    double rating;
    if (!absl::SimpleAtod(absl::StripAsciiWhitespace(f[c.rating]), &rating) ||
        !std::isfinite(rating)) {
      return BadValue(path, line, "rating", f[c.rating], "is not a number");
    }
    const bool unscored = c.status >= 0 && rating == 0;  // a MAL list's "not scored"
    if (options.min_rating && !unscored && rating < *options.min_rating) return false;
    if (options.read_scores && !unscored) row->score = static_cast<float>(rating);
  }
  if (options.known_items != nullptr &&
      !std::binary_search(options.known_items->begin(), options.known_items->end(), row->item)) {
    ++out->rows_unknown_item;
    return false;
  }
  return true;
}

// Appends the rows of one file to `rows` (user ids offset for data set `dataset`).
absl::Status ReadFile(const std::string& path, uint16_t dataset, bool several,
                      const InteractionsOptions& options, std::vector<Row>* rows,
                      Interactions* out) {
  auto reader = CsvFile::Open(path, "file (expected a header and rows)");
  if (!reader.ok()) return reader.status();
  auto columns = FindColumns(path, reader->header(), options);
  if (!columns.ok()) return columns.status();
  const int64_t offset = static_cast<int64_t>(dataset) * kUserIdSpace;
  const uint64_t rows_read_before = out->rows_read;
  std::vector<std::string> f;
  for (;;) {
    auto more = reader->Next(&f);
    if (!more.ok()) return more.status();
    if (!*more) break;
    ++out->rows_read;
    Row row{};
    auto keep = ParseRow(path, reader->line(), *columns, f, several, options, &row, out);
    if (!keep.ok()) return keep.status();
    if (*keep) rows->push_back(Row{row.user + offset, row.item, row.flags, dataset, row.score});
  }
  if (out->rows_read == rows_read_before && !options.allow_empty) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": no data rows"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Interactions> LoadInteractions(const std::string& path,
                                              const InteractionsOptions& options) {
  return LoadInteractions(std::vector<std::string>{path}, options);
}

absl::StatusOr<Interactions> LoadInteractions(const std::vector<std::string>& paths,
                                              const InteractionsOptions& options) {
  if (paths.empty()) return absl::InvalidArgumentError("no interactions file given");
  if (paths.size() > 1000) return absl::InvalidArgumentError("more than 1000 interactions files");
  Interactions out;
  std::vector<Row> rows;
  for (size_t k = 0; k < paths.size(); ++k) {
    if (absl::Status st =
            ReadFile(paths[k], static_cast<uint16_t>(k), paths.size() > 1, options, &rows, &out);
        !st.ok()) {
      return st;
    }
    out.datasets.push_back(paths[k]);
  }
  out.rows_kept = rows.size();
  if (rows.empty() && !options.allow_empty) {
    return absl::InvalidArgumentError(
        absl::StrCat(absl::StrJoin(paths, ", "),
                     ": no row passes the rating threshold, the status filter and the item list"));
  }
  std::vector<int64_t> users, items;
  users.reserve(rows.size());
  items.reserve(rows.size());
  for (const Row& r : rows) {
    users.push_back(r.user);
    items.push_back(r.item);
  }
  out.user_ids = SortedUnique(std::move(users));
  out.item_ids = SortedUnique(std::move(items));
  absl::flat_hash_map<int64_t, uint32_t> uidx, iidx;
  for (uint32_t u = 0; u < out.user_ids.size(); ++u) uidx[out.user_ids[u]] = u;
  for (uint32_t i = 0; i < out.item_ids.size(); ++i) iidx[out.item_ids[i]] = i;
  // Per user: (item, flags, score), then sorted; a repeated pair has every row's flags
  // and the largest score.
  struct Pair {
    uint32_t item;
    uint8_t flags;
    float score;
    bool operator<(const Pair& o) const {
      return item < o.item || (item == o.item && flags < o.flags);
    }
  };
  std::vector<std::vector<Pair>> pairs(out.user_ids.size());
  out.dataset_of_user.assign(out.user_ids.size(), 0);
  for (const Row& r : rows) {
    const uint32_t u = uidx[r.user];
    pairs[u].push_back({iidx[r.item], r.flags, r.score});
    out.dataset_of_user[u] = r.dataset;
  }
  out.items_of_user.resize(out.user_ids.size());
  out.flags_of_user.resize(out.user_ids.size());
  if (options.read_scores) out.score_of_user.resize(out.user_ids.size());
  for (size_t u = 0; u < pairs.size(); ++u) {
    auto& p = pairs[u];
    std::sort(p.begin(), p.end());
    for (const Pair& x : p) {
      if (!out.items_of_user[u].empty() && out.items_of_user[u].back() == x.item) {
        out.flags_of_user[u].back() |= x.flags;
        if (options.read_scores) {
          out.score_of_user[u].back() = std::max(out.score_of_user[u].back(), x.score);
        }
        ++out.duplicates;
        continue;
      }
      out.items_of_user[u].push_back(x.item);
      out.flags_of_user[u].push_back(x.flags);
      if (options.read_scores) out.score_of_user[u].push_back(x.score);
    }
  }
  return out;
}

absl::StatusOr<std::vector<int>> ParseStatuses(const std::string& text, const std::string& flag) {
  std::vector<int> out;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    int s = 0;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(part), &s) || s < 1 || s > 6 || s == 5) {
      return absl::InvalidArgumentError(absl::StrCat(
          flag, ": '", part,
          "' is not a MAL list status: give 1 (watching), 2 (completed), 3 (on hold), ",
          "4 (dropped) or 6 (plan to watch), comma-separated"));
    }
    out.push_back(s);
  }
  if (out.empty()) return absl::InvalidArgumentError(absl::StrCat(flag, ": no status given"));
  return out;
}

}  // namespace simsearch
