#include "engine/engine.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "core/status_macros.h"
#include "core/quote.h"

namespace simsearch {
namespace {

// Prefixes a batch query's error with its position, keeping the code.
absl::Status InQuery(const absl::Status& st, size_t i, size_t n) {
  if (st.ok() || n == 1) return st;
  return absl::Status(st.code(), absl::StrCat("query ", i, ": ", st.message()));
}

float Norm(const float* x, size_t d) {
  double s = 0;
  for (size_t j = 0; j < d; ++j) s += double{x[j]} * x[j];
  return static_cast<float>(std::sqrt(s));
}

// Inner products are computed in float32: a finite query of huge norm (1e30) overflows
// them to Inf and NaN, ranked arbitrarily, and a tiny one underflows them to 0. The
// query is multiplied by a power of two (exact in binary floating point, and the
// ranking by inner product does not depend on a positive scale) so that its norm lies
// in [2^-20, 2^20]; scores are scaled back in double. Returns the exponent e with
// x = x_original * 2^-e; 0 (x untouched) for norms already in range.
int ScaleIntoSafeRange(float* x, size_t d) {
  double s = 0;
  for (size_t j = 0; j < d; ++j) s += double{x[j]} * x[j];
  const double norm = std::sqrt(s);
  if (!(norm > 0) || !std::isfinite(norm)) return 0;
  const int e = std::ilogb(norm);
  if (e >= -20 && e <= 20) return 0;
  for (size_t j = 0; j < d; ++j) x[j] = static_cast<float>(std::ldexp(double{x[j]}, -e));
  return e;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Collection>> Engine::GetCollection(
    absl::string_view name) const {
  if (name.empty()) {
    return absl::InvalidArgumentError("collection is required: name the collection to search");
  }
  auto c = registry_->Get(name);
  if (c == nullptr) {
    if (ServingState state = registry_->State(name); !state.note.empty()) {
      return absl::UnavailableError(
          absl::StrCat("collection '", Quote(name), "' is not served: ", state.note));
    }
    std::vector<std::string> names;
    for (const auto& s : registry_->List()) names.push_back(s->name());
    return absl::NotFoundError(absl::StrCat(
        "unknown collection '", Quote(name), "'; served: ",
        names.empty() ? std::string("none") : absl::StrJoin(names, ", ")));
  }
  return c;
}

absl::Status Engine::BuildQuery(const Collection& c, const SearchQuery& q, float* out,
                                std::vector<uint32_t>* own_rows, bool* similar) const {
  const size_t d = c.dims();
  *similar = false;
  switch (q.kind) {
    case SearchQuery::Kind::kUnset:
      return absl::InvalidArgumentError(
          "empty query: set one of vector, item_id, items (positive_ids), user_id or text");
    case SearchQuery::Kind::kVector: {
      if (q.vector.empty()) return absl::InvalidArgumentError("empty query vector");
      if (q.vector.size() != d) {
        return absl::InvalidArgumentError(absl::StrCat(
            "query vector has ", q.vector.size(), " components but collection '", c.name(),
            "' has ", d, " dimensions"));
      }
      for (size_t j = 0; j < d; ++j) {
        if (!std::isfinite(q.vector[j])) {
          return absl::InvalidArgumentError(absl::StrCat(
              "query vector component ", j, " is ", std::isnan(q.vector[j]) ? "NaN" : "Inf",
              "; every component must be a finite number"));
        }
      }
      std::copy(q.vector.begin(), q.vector.end(), out);
      break;
    }
    case SearchQuery::Kind::kItem: {
      SIMSEARCH_ASSIGN_OR_RETURN(uint32_t row, c.RowOf(q.item_id));
      std::copy(c.query_vector(row), c.query_vector(row) + d, out);
      own_rows->push_back(row);
      if (c.has_similar()) {
        // "More like this" in its own space, with a unit query: scores comparable
        // across items (docs/MODELS.md).
        *similar = true;
        const float n = Norm(out, d);
        if (!(n > 0)) return absl::InvalidArgumentError("the item's vector is all zeros");
        for (size_t j = 0; j < d; ++j) out[j] /= n;
      }
      break;
    }
    case SearchQuery::Kind::kText: {
      if (c.encoder() == nullptr) {
        return absl::FailedPreconditionError(absl::StrCat(
            "collection '", c.name(), "' has no text encoder, so it cannot search by text; use a "
            "collection built with one (simsearch-indexer --encoder), e.g. synopsis"));
      }
      if (absl::StripAsciiWhitespace(q.text).empty()) {
        return absl::InvalidArgumentError("empty text query: give some words to search for");
      }
      if (q.text.size() > limits_.max_text_query_bytes) {
        return absl::InvalidArgumentError(absl::StrCat("text query is ", q.text.size(), " bytes (at most ",
                                                       limits_.max_text_query_bytes, ")"));
      }
      std::vector<float> v;
      SIMSEARCH_RETURN_IF_ERROR(c.encoder()->Encode({q.text}, &v));
      if (v.size() != d || std::all_of(v.begin(), v.end(), [](float x) { return x == 0.0f; })) {
        return absl::InvalidArgumentError(absl::StrCat(
            "the encoder of collection '", c.name(), "' knows none of the words in \"",
            Quote(q.text, 80), "\"; try other words"));
      }
      std::copy(v.begin(), v.end(), out);
      break;
    }
    case SearchQuery::Kind::kUser: {
      SIMSEARCH_ASSIGN_OR_RETURN(uint32_t user, c.UserRowOf(q.user_id));
      std::copy(c.user_vector(user), c.user_vector(user) + d, out);
      auto [begin, end] = c.user_items(user);
      for (const int64_t* it = begin; it != end; ++it) {
        if (auto row = c.RowOf(*it); row.ok()) own_rows->push_back(*row);
      }
      break;
    }
    case SearchQuery::Kind::kItems: {
      if (q.positive_ids.empty()) {
        return absl::InvalidArgumentError(
            "items query needs at least one positive (liked) id; negative ids alone do not "
            "define a taste");
      }
      const size_t total = q.positive_ids.size() + q.negative_ids.size();
      if (total > static_cast<size_t>(limits_.max_ids)) {
        return absl::InvalidArgumentError(absl::StrCat("too many ids in the items query: ", total,
                                                       " (at most ", limits_.max_ids, ")"));
      }
      if (!(q.negative_weight > 0.0f && q.negative_weight <= 1.0f)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "negative_weight must be in (0, 1], got ", q.negative_weight));
      }
      if (c.gram() != nullptr) {
        // Folded in as a user (core/fold_in.h): the vector the model would have learned
        // for this history.
        std::vector<const float*> liked, disliked;
        for (int64_t id : q.positive_ids) {
          SIMSEARCH_ASSIGN_OR_RETURN(uint32_t row, c.RowOf(id));
          liked.push_back(c.query_vector(row));
          own_rows->push_back(row);
        }
        for (int64_t id : q.negative_ids) {
          SIMSEARCH_ASSIGN_OR_RETURN(uint32_t row, c.RowOf(id));
          disliked.push_back(c.query_vector(row));
          own_rows->push_back(row);
        }
        SIMSEARCH_RETURN_IF_ERROR(FoldInUser(c.gram(), static_cast<int>(d), liked, disliked,
                                             q.negative_weight, c.fold_in(), out));
        break;
      }
      std::vector<double> acc(d, 0.0);
      for (int sign : {1, -1}) {
        const auto& ids = sign > 0 ? q.positive_ids : q.negative_ids;
        if (ids.empty()) continue;
        const double w = (sign > 0 ? 1.0 : -double{q.negative_weight}) / static_cast<double>(ids.size());
        for (int64_t id : ids) {
          SIMSEARCH_ASSIGN_OR_RETURN(uint32_t row, c.RowOf(id));
          const float* v = c.query_vector(row);
          for (size_t j = 0; j < d; ++j) acc[j] += w * v[j];
          own_rows->push_back(row);
        }
      }
      for (size_t j = 0; j < d; ++j) out[j] = static_cast<float>(acc[j]);
      break;
    }
  }
  if (c.cosine()) {
    const float n = Norm(out, d);
    if (!(n > 1e-12f)) {
      return absl::InvalidArgumentError(
          q.kind == SearchQuery::Kind::kItems
              ? "the liked and disliked items cancel out (their mean difference is zero); "
                "change the lists"
              : "query vector is all zeros; cosine similarity needs a non-zero vector");
    }
    for (size_t j = 0; j < d; ++j) out[j] /= n;
  }
  std::sort(own_rows->begin(), own_rows->end());
  own_rows->erase(std::unique(own_rows->begin(), own_rows->end()), own_rows->end());
  return absl::OkStatus();
}

absl::StatusOr<SearchResults> Engine::Search(absl::string_view collection,
                                             const std::vector<SearchQuery>& queries,
                                             std::optional<int> top_k, const FilterSpec& filter,
                                             absl::Time deadline) const {
  const int k = top_k.value_or(limits_.default_k);
  if (k < 1 || k > limits_.max_k) {
    return absl::InvalidArgumentError(
        absl::StrCat("top_k must be between 1 and ", limits_.max_k, ", got ", k));
  }
  if (queries.empty()) return absl::InvalidArgumentError("no queries: send at least one");
  if (queries.size() > static_cast<size_t>(limits_.max_batch)) {
    return absl::InvalidArgumentError(absl::StrCat("too many queries in one batch: ",
                                                   queries.size(), " (at most ",
                                                   limits_.max_batch, "); split the batch"));
  }
  if (filter.exclude_ids.size() > static_cast<size_t>(limits_.max_ids)) {
    return absl::InvalidArgumentError(absl::StrCat("too many exclude_ids: ",
                                                   filter.exclude_ids.size(), " (at most ",
                                                   limits_.max_ids, ")"));
  }
  if (filter.genres.size() > 256 || filter.types.size() > 256 || filter.exclude_genres.size() > 256 ||
      filter.exclude_types.size() > 256) {
    return absl::InvalidArgumentError("too many genres or types in the filter (at most 256 of each)");
  }
  SIMSEARCH_ASSIGN_OR_RETURN(std::shared_ptr<const Collection> c, GetCollection(collection));
  return SearchIn(std::move(c), queries, k, filter, deadline);
}

absl::StatusOr<SearchResults> Engine::SearchIn(std::shared_ptr<const Collection> c,
                                               const std::vector<SearchQuery>& queries, int k,
                                               const FilterSpec& filter, absl::Time deadline) const {
  // Whatever the outcome, if a mapped file of this version shrank meanwhile, the query
  // vectors, rows or ids may have been zeros: that, not the outcome, is the answer.
  auto result = SearchUnchecked(c, queries, k, filter, deadline);
  if (absl::Status damage = c->CheckIntact(); !damage.ok()) return damage;
  return result;
}

absl::StatusOr<SearchResults> Engine::SearchUnchecked(const std::shared_ptr<const Collection>& c,
                                                      const std::vector<SearchQuery>& queries, int k,
                                                      const FilterSpec& filter, absl::Time deadline) const {
  SIMSEARCH_ASSIGN_OR_RETURN(CompiledFilter compiled, c->CompileFilter(filter));

  const size_t n = queries.size();
  const size_t d = c->dims();
  std::vector<float> x(n * d);
  std::vector<std::vector<uint32_t>> own(n);
  size_t most_own = 0;
  std::vector<int> scale(n, 0);  // query i was multiplied by 2^-scale[i]
  std::vector<char> similar(n, 0);  // query i is searched in the "more like this" space
  for (size_t i = 0; i < n; ++i) {
    bool s = false;
    SIMSEARCH_RETURN_IF_ERROR(InQuery(BuildQuery(*c, queries[i], &x[i * d], &own[i], &s), i, n));
    similar[i] = s;
    most_own = std::max(most_own, own[i].size());
    if (!c->cosine()) scale[i] = ScaleIntoSafeRange(&x[i * d], d);
  }
  // A query's own items (the item of "more like this", the liked and disliked ones)
  // are excluded. With one query they join the filter; in a batch each query asks for
  // enough extra hits to drop its own afterwards, so the batch stays one search.
  int fetch = k;
  if (n == 1) {
    for (uint32_t row : own[0]) compiled.Exclude(row);
  } else {
    fetch = static_cast<int>(std::min<uint64_t>(k + most_own, c->count()));
  }
  std::vector<std::vector<Neighbor>> found;
  SIMSEARCH_RETURN_IF_ERROR(SearchBySpace(*c, x, similar, std::max(fetch, 1), &compiled, deadline, &found));

  SearchResults out;
  out.hits.resize(n);
  for (size_t i = 0; i < n; ++i) {
    for (const Neighbor& nb : found[i]) {
      if (out.hits[i].size() == static_cast<size_t>(k)) break;
      if (n > 1 && std::binary_search(own[i].begin(), own[i].end(), nb.row)) continue;
      const double score = std::ldexp(static_cast<double>(nb.score), scale[i]);
      if (!(std::fabs(score) <= std::numeric_limits<float>::max())) {
        return InQuery(absl::InvalidArgumentError(absl::StrCat(
                           "the query vector's norm (", Norm(&x[i * d], d), " x 2^", scale[i],
                           ") makes inner-product scores overflow float32; scale the vector down "
                           "(the ranking does not depend on its length)")),
                       i, n);
      }
      out.hits[i].push_back({c->id(nb.row), static_cast<float>(score), c->item(nb.row)});
    }
  }
  out.collection = c;
  return out;
}

absl::Status Engine::SearchBySpace(const Collection& c, const std::vector<float>& x,
                                   const std::vector<char>& similar, int k, const CompiledFilter* filter,
                                   absl::Time deadline, std::vector<std::vector<Neighbor>>* found) const {
  const size_t n = similar.size(), d = c.dims();
  const size_t in_similar = static_cast<size_t>(std::count(similar.begin(), similar.end(), 1));
  if (in_similar == 0) return c.Search(x.data(), n, k, filter, deadline, found);
  if (in_similar == n) return c.SearchSimilar(x.data(), n, k, filter, deadline, found);
  // A batch of both kinds: one search per space, results put back in query order.
  found->assign(n, {});
  for (char space : {0, 1}) {
    std::vector<size_t> which;
    std::vector<float> qs;
    for (size_t i = 0; i < n; ++i) {
      if (similar[i] != space) continue;
      which.push_back(i);
      qs.insert(qs.end(), x.begin() + static_cast<long>(i * d), x.begin() + static_cast<long>((i + 1) * d));
    }
    std::vector<std::vector<Neighbor>> part;
    SIMSEARCH_RETURN_IF_ERROR(space ? c.SearchSimilar(qs.data(), which.size(), k, filter, deadline, &part)
                                    : c.Search(qs.data(), which.size(), k, filter, deadline, &part));
    for (size_t j = 0; j < which.size(); ++j) (*found)[which[j]] = std::move(part[j]);
  }
  return absl::OkStatus();
}

absl::StatusOr<ItemRecords> Engine::GetItems(absl::string_view collection,
                                             const std::vector<int64_t>& ids) const {
  if (ids.empty()) return absl::InvalidArgumentError("no ids: send at least one item id");
  if (ids.size() > static_cast<size_t>(limits_.max_ids)) {
    return absl::InvalidArgumentError(
        absl::StrCat("too many ids: ", ids.size(), " (at most ", limits_.max_ids, ")"));
  }
  SIMSEARCH_ASSIGN_OR_RETURN(std::shared_ptr<const Collection> c, GetCollection(collection));
  ItemRecords out;
  for (int64_t id : ids) {
    SIMSEARCH_ASSIGN_OR_RETURN(uint32_t row, c->RowOf(id));
    out.rows.push_back(row);
  }
  out.collection = std::move(c);
  return out;
}

absl::StatusOr<TitleMatches> Engine::LookupTitle(absl::string_view collection,
                                                 absl::string_view query,
                                                 std::optional<int> limit) const {
  const int n = limit.value_or(limits_.default_title_matches);
  if (n < 1 || n > limits_.max_title_matches) {
    return absl::InvalidArgumentError(absl::StrCat(
        "limit must be between 1 and ", limits_.max_title_matches, ", got ", n));
  }
  if (query.size() > limits_.max_title_query_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("title query is ", query.size(),
                                                   " bytes (at most ",
                                                   limits_.max_title_query_bytes, ")"));
  }
  SIMSEARCH_ASSIGN_OR_RETURN(std::shared_ptr<const Collection> c, GetCollection(collection));
  if (c->item(0) == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "collection '", c->name(), "' has no item metadata, so it has no titles to look up"));
  }
  TitleMatches out;
  out.matches = c->LookupTitle(query, static_cast<size_t>(n));
  if (out.matches.empty() && TitleIndex::Normalize(query).empty()) {
    return absl::InvalidArgumentError(
        "empty title query: give some letters or digits of the title, e.g. \"cowboy bebop\"");
  }
  // Does a served collection hold an anime that matches better, and this one lack it?
  const float best_here = out.matches.empty() ? 0.0f : out.matches[0].score;
  for (const auto& other : registry_->List()) {
    if (other == c || other->item(0) == nullptr) continue;
    std::vector<TitleMatch> m = other->LookupTitle(query, 1);
    if (m.empty() || m[0].score <= best_here ||
        (out.better_elsewhere && m[0].score <= out.better_elsewhere->match.score)) {
      continue;
    }
    if (c->RowOf(other->id(m[0].row)).ok()) continue;  // held here: ranked lower for a reason
    out.better_elsewhere = ElsewhereMatch{other, m[0], {}};
  }
  if (out.better_elsewhere) {
    const int64_t id = out.better_elsewhere->collection->id(out.better_elsewhere->match.row);
    for (const auto& s : registry_->List()) {
      if (s->RowOf(id).ok()) out.better_elsewhere->held_by.push_back(s->name());
    }
  }
  out.collection = std::move(c);
  return out;
}

}  // namespace simsearch
