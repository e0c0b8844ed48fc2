#include "engine/engine.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <limits>
#include <mutex>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "core/errors.h"
#include "core/quote.h"
#include "core/status_macros.h"
#include "retrieval/lexical.h"

namespace simsearch {
namespace {

// Prefixes a batch query's error with its position, keeping the code.
absl::Status InQuery(const absl::Status& st, size_t i, size_t n) {
  if (st.ok()) return st;
  // The field path: "query.vector" in a single search, "queries[2].vector" in a batch.
  const absl::Status placed =
      n == 1 ? InField(st, "query") : InField(st, absl::StrCat("queries[", i, "]"));
  return n == 1 ? placed : WithMessage(placed, absl::StrCat("query ", i, ": ", st.message()));
}

// A page token's error, named for the request it came in: page_token for a single
// search, page_tokens[i] (and "query i: ...") in a batch.
absl::Status PageTokenField(const absl::Status& st, const SearchKnobs& knobs, size_t i) {
  if (knobs.page_tokens.empty() || DetailOf(st).field != "page_token") return st;
  ErrorDetail d = DetailOf(st);
  d.field = absl::StrCat("page_tokens[", i, "]");
  return WithDetail(WithMessage(st, absl::StrCat("query ", i, ": ", st.message())), d);
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
    return InvalidFieldError("collection", reason::kInvalidArgument,
                             "collection is required: name the collection to search");
  }
  auto c = registry_->Get(name);
  if (c == nullptr) {
    if (ServingState state = registry_->State(name); !state.note.empty()) {
      return WithResource(absl::UnavailableError(absl::StrCat("collection '", Quote(name),
                                                              "' is not served: ", state.note)),
                          reason::kCollectionNotServed, "collection", name);
    }
    std::vector<std::string> names;
    for (const auto& s : registry_->List()) names.push_back(s->name());
    return NotFoundResourceError(
        reason::kCollectionNotFound, "collection", name,
        absl::StrCat("unknown collection '", Quote(name), "'; served: ",
                     names.empty() ? std::string("none") : absl::StrJoin(names, ", ")));
  }
  return c;
}

namespace {

// A vector query: as many finite components as the collection has dimensions.
absl::Status CopyQueryVector(const Collection& c, const std::vector<float>& vector, float* out) {
  const size_t d = c.dims();
  if (vector.empty()) {
    return InvalidFieldError("vector.values", reason::kEmptyQuery, "empty query vector");
  }
  if (vector.size() != d) {
    return InvalidFieldError(
        "vector.values", reason::kVectorDimensionsMismatch,
        absl::StrCat("query vector has ", vector.size(), " components but collection '", c.name(),
                     "' has ", d, " dimensions"));
  }
  for (size_t j = 0; j < d; ++j) {
    if (!std::isfinite(vector[j])) {
      return InvalidFieldError(
          absl::StrCat("vector.values[", j, "]"), reason::kInvalidArgument,
          absl::StrCat("query vector component ", j, " is ", std::isnan(vector[j]) ? "NaN" : "Inf",
                       "; every component must be a finite number"));
    }
  }
  std::copy(vector.begin(), vector.end(), out);
  return absl::OkStatus();
}

// An item query: the item's query vector, or its unit vector in the "more like this"
// space when the collection has one (*similar set).
absl::Status ItemQueryVector(const Collection& c, int64_t item_id, float* out,
                             std::vector<uint32_t>* own_rows, bool* similar) {
  const size_t d = c.dims();
  SIMSEARCH_ASSIGN_OR_RETURN(uint32_t row, c.RowOf(item_id));
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
  return absl::OkStatus();
}

// Fails when collection `c` has no text encoder to search by text with.
absl::Status CheckHasEncoder(const Collection& c) {
  if (c.encoder() != nullptr) return absl::OkStatus();
  return WithReason(absl::FailedPreconditionError(absl::StrCat(
                        "collection '", c.name(),
                        "' has no text encoder, so it cannot search by text; use a "
                        "collection built with one (simsearch-indexer --encoder), e.g. synopsis")),
                    reason::kQueryNotSupported, "text");
}

// A text query's vector from the collection's encoder; an error when it knows no word.
absl::Status EncodeQueryText(const Collection& c, const std::string& text, float* out) {
  std::vector<float> v;
  SIMSEARCH_RETURN_IF_ERROR(c.EncodeText(text, &v));
  if (v.size() != c.dims() || std::all_of(v.begin(), v.end(), [](float x) { return x == 0.0f; })) {
    return absl::InvalidArgumentError(absl::StrCat("the encoder of collection '", c.name(),
                                                   "' knows none of the words in \"",
                                                   Quote(text, 80), "\"; try other words"));
  }
  std::copy(v.begin(), v.end(), out);
  return absl::OkStatus();
}

// A user query: the user's vector; the user's own items are excluded.
absl::Status UserQueryVector(const Collection& c, int64_t user_id, float* out,
                             std::vector<uint32_t>* own_rows) {
  SIMSEARCH_ASSIGN_OR_RETURN(uint32_t user, c.UserRowOf(user_id));
  std::copy(c.user_vector(user), c.user_vector(user) + c.dims(), out);
  auto [begin, end] = c.user_items(user);
  for (const int64_t* it = begin; it != end; ++it) {
    if (auto row = c.RowOf(*it); row.ok()) own_rows->push_back(*row);
  }
  return absl::OkStatus();
}

// Checks an items query's lists and negative weight (`max_ids` ids at most).
absl::Status CheckItemsQuery(const SearchQuery& q, int max_ids) {
  if (q.positive_ids.empty()) {
    return InvalidFieldError("items.positive_ids", reason::kEmptyQuery,
                             "items query needs at least one positive (liked) id; negative ids "
                             "alone do not define a taste");
  }
  const size_t total = q.positive_ids.size() + q.negative_ids.size();
  if (total > static_cast<size_t>(max_ids)) {
    return InvalidFieldError(
        "items", reason::kTooManyIds,
        absl::StrCat("too many ids in the items query: ", total, " (at most ", max_ids, ")"));
  }
  if (!(q.negative_weight > 0.0f && q.negative_weight <= 1.0f)) {
    return InvalidFieldError(
        "items.negative_weight", reason::kInvalidArgument,
        absl::StrCat("negative_weight must be in (0, 1], got ", q.negative_weight));
  }
  return absl::OkStatus();
}

// An items query on a collection with a Gram matrix: folded in as a user
// (retrieval/fold_in.h), the vector the model would have learned for this history.
absl::Status FoldInItemsQuery(const Collection& c, const SearchQuery& q, float* out,
                              std::vector<uint32_t>* own_rows) {
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
  // A short list leans on the typical user (the prior, weight MU / liked items).
  return FoldInUser(c.gram(), static_cast<int>(c.dims()), liked, disliked, q.negative_weight,
                    c.fold_in(), out, c.fold_in_prior_vector(),
                    c.fold_in_prior() / static_cast<float>(liked.size()));
}

// An items query otherwise: the mean of the liked items' query vectors less
// negative_weight times the mean of the disliked ones'.
absl::Status MeanItemsQuery(const Collection& c, const SearchQuery& q, float* out,
                            std::vector<uint32_t>* own_rows) {
  const size_t d = c.dims();
  std::vector<double> acc(d, 0.0);
  for (int sign : {1, -1}) {
    const auto& ids = sign > 0 ? q.positive_ids : q.negative_ids;
    if (ids.empty()) continue;
    const double w =
        (sign > 0 ? 1.0 : -double{q.negative_weight}) / static_cast<double>(ids.size());
    for (int64_t id : ids) {
      SIMSEARCH_ASSIGN_OR_RETURN(uint32_t row, c.RowOf(id));
      const float* v = c.query_vector(row);
      for (size_t j = 0; j < d; ++j) acc[j] += w * v[j];
      own_rows->push_back(row);
    }
  }
  for (size_t j = 0; j < d; ++j) out[j] = static_cast<float>(acc[j]);
  return absl::OkStatus();
}

// Scales a query of kind `kind` to unit length (cosine collections); a zero vector is
// an error.
absl::Status NormaliseForCosine(SearchQuery::Kind kind, size_t d, float* out) {
  const float n = Norm(out, d);
  if (!(n > 1e-12f)) {
    return absl::InvalidArgumentError(
        kind == SearchQuery::Kind::kItems
            ? "the liked and disliked items cancel out (their mean difference is zero); "
              "change the lists"
            : "query vector is all zeros; cosine similarity needs a non-zero vector");
  }
  for (size_t j = 0; j < d; ++j) out[j] /= n;
  return absl::OkStatus();
}

}  // namespace

absl::Status Engine::BuildQuery(const Collection& c, const SearchQuery& q, float* out,
                                std::vector<uint32_t>* own_rows, bool* similar) const {
  *similar = false;
  switch (q.kind) {
    case SearchQuery::Kind::kUnset:
      return WithReason(
          absl::InvalidArgumentError(
              "empty query: set one of vector, item_id, items (positive_ids), user_id or text"),
          reason::kEmptyQuery);
    case SearchQuery::Kind::kVector:
      SIMSEARCH_RETURN_IF_ERROR(CopyQueryVector(c, q.vector, out));
      break;
    case SearchQuery::Kind::kItem:
      SIMSEARCH_RETURN_IF_ERROR(ItemQueryVector(c, q.item_id, out, own_rows, similar));
      break;
    case SearchQuery::Kind::kText:
      SIMSEARCH_RETURN_IF_ERROR(CheckHasEncoder(c));
      SIMSEARCH_RETURN_IF_ERROR(CheckText(q));
      SIMSEARCH_RETURN_IF_ERROR(EncodeQueryText(c, q.text, out));
      break;
    case SearchQuery::Kind::kUser:
      SIMSEARCH_RETURN_IF_ERROR(UserQueryVector(c, q.user_id, out, own_rows));
      break;
    case SearchQuery::Kind::kItems:
      SIMSEARCH_RETURN_IF_ERROR(CheckItemsQuery(q, limits_.max_ids));
      SIMSEARCH_RETURN_IF_ERROR(c.gram() != nullptr ? FoldInItemsQuery(c, q, out, own_rows)
                                                    : MeanItemsQuery(c, q, out, own_rows));
      break;
  }
  if (c.cosine()) SIMSEARCH_RETURN_IF_ERROR(NormaliseForCosine(q.kind, c.dims(), out));
  std::sort(own_rows->begin(), own_rows->end());
  own_rows->erase(std::unique(own_rows->begin(), own_rows->end()), own_rows->end());
  return absl::OkStatus();
}

absl::Status Engine::CheckSearch(const std::vector<SearchQuery>& queries, int k,
                                 const FilterSpec& filter, const SearchKnobs& o) const {
  if (k < 1 || k > limits_.max_k) {
    return InvalidFieldError(
        "top_k", reason::kTopKOutOfRange,
        absl::StrCat("top_k must be between 1 and ", limits_.max_k, ", got ", k));
  }
  if (o.ef && (*o.ef < 1 || *o.ef > limits_.max_ef)) {
    return InvalidFieldError(
        "params.ef", reason::kInvalidArgument,
        absl::StrCat(
            "ef must be between 1 and ", limits_.max_ef, ", got ", *o.ef,
            "; leave it unset for the collection's (DescribeCollection: index_params.ef_search)"));
  }
  if (o.nprobe && (*o.nprobe < 1 || *o.nprobe > limits_.max_nprobe)) {
    return InvalidFieldError(
        "params.nprobe", reason::kInvalidArgument,
        absl::StrCat(
            "nprobe must be between 1 and ", limits_.max_nprobe, ", got ", *o.nprobe,
            "; leave it unset for the collection's (DescribeCollection: index_params.nprobe)"));
  }
  if (o.min_score && !std::isfinite(*o.min_score)) {
    return InvalidFieldError("params.min_score", reason::kInvalidArgument,
                             "min_score must be a finite number");
  }
  if (queries.empty()) {
    return InvalidFieldError("queries", reason::kEmptyQuery, "no queries: send at least one");
  }
  if (queries.size() > static_cast<size_t>(limits_.max_batch)) {
    return InvalidFieldError("queries", reason::kBatchTooLarge,
                             absl::StrCat("too many queries in one batch: ", queries.size(),
                                          " (at most ", limits_.max_batch, "); split the batch"));
  }
  return CheckFilter(filter);
}

absl::Status Engine::CheckFilter(const FilterSpec& filter) const {
  if (filter.exclude_ids.size() > static_cast<size_t>(limits_.max_ids)) {
    return InvalidFieldError("filter.exclude_ids", reason::kTooManyIds,
                             absl::StrCat("too many exclude_ids: ", filter.exclude_ids.size(),
                                          " (at most ", limits_.max_ids, ")"));
  }
  if (filter.franchises.size() > static_cast<size_t>(limits_.max_ids) ||
      filter.exclude_franchises.size() > static_cast<size_t>(limits_.max_ids)) {
    return InvalidFieldError(
        "filter", reason::kTooManyIds,
        absl::StrCat("too many franchise ids in the filter: at most ", limits_.max_ids,
                     " in franchise_ids and in exclude_franchise_ids"));
  }
  if (filter.genres.size() > 256 || filter.types.size() > 256 ||
      filter.exclude_genres.size() > 256 || filter.exclude_types.size() > 256) {
    return InvalidFieldError("filter", reason::kInvalidArgument,
                             "too many genres or types in the filter (at most 256 of each)");
  }
  if (filter.seasons.size() > 16) {
    return InvalidFieldError("filter.seasons", reason::kInvalidArgument,
                             "too many seasons in the filter (there are four)");
  }
  return absl::OkStatus();
}

absl::StatusOr<SearchResults> Engine::Search(absl::string_view collection,
                                             const std::vector<SearchQuery>& queries,
                                             std::optional<int> top_k, const FilterSpec& filter,
                                             absl::Time deadline, const SearchKnobs& knobs) const {
  const bool paged =
      knobs.page_size != 0 || !knobs.page_token.empty() || !knobs.page_tokens.empty();
  SearchParams call;
  // A page is cut from the ranking of the sequence's depth (engine/paging.h).
  call.k = top_k.value_or(paged ? limits_.max_k : limits_.default_k);
  call.deadline = deadline;
  call.exact = knobs.exact;
  call.ef = knobs.ef.value_or(0);
  call.nprobe = knobs.nprobe.value_or(0);
  SIMSEARCH_RETURN_IF_ERROR(CheckSearch(queries, call.k, filter, knobs));
  SIMSEARCH_ASSIGN_OR_RETURN(std::shared_ptr<const Collection> c, GetCollection(collection));
  // Each query's place in its sequence of pages (offset 0: the first page).
  std::vector<PageToken> pages;
  if (paged) {
    SIMSEARCH_RETURN_IF_ERROR(CheckPage(queries.size(), knobs));
    for (size_t i = 0; i < queries.size(); ++i) {
      const std::string& token =
          queries.size() == 1 && !knobs.page_token.empty()
              ? knobs.page_token
              : (knobs.page_tokens.empty() ? std::string() : knobs.page_tokens[i]);
      absl::StatusOr<PageToken> page =
          ReadPage(*c, token, PageFingerprint(collection, queries[i], call.k, filter, knobs));
      if (!page.ok()) return PageTokenField(page.status(), knobs, i);
      pages.push_back(*std::move(page));
    }
  }
  SIMSEARCH_ASSIGN_OR_RETURN(SearchResults out, SearchIn(std::move(c), queries, call, filter));
  if (knobs.min_score) {
    for (std::vector<Hit>& list : out.hits) {
      // Best first in every list: the cut keeps a prefix.
      auto below = std::find_if(list.begin(), list.end(),
                                [&](const Hit& h) { return h.score < *knobs.min_score; });
      list.erase(below, list.end());
    }
  }
  for (size_t i = 0; i < pages.size(); ++i) {
    absl::Status cut = CutPage(knobs, i, queries.size(), std::move(pages[i]), &out);
    if (!cut.ok()) return PageTokenField(cut, knobs, i);
  }
  bool explained = false;
  for (size_t i = 0; i < queries.size(); ++i) {
    if (queries[i].kind == SearchQuery::Kind::kItems && queries[i].explain) {
      SIMSEARCH_RETURN_IF_ERROR(Explain(*out.collection, queries[i], deadline, &out.hits[i]));
      explained = true;
    }
  }
  // The reasons read the vectors again: a file damaged meanwhile is the answer.
  if (explained) SIMSEARCH_RETURN_IF_ERROR(out.collection->CheckIntact());
  return out;
}

absl::Status Engine::Explain(const Collection& c, const SearchQuery& q, absl::Time deadline,
                             std::vector<Hit>* hits) const {
  if (hits->empty()) return absl::OkStatus();
  const size_t d = c.dims();
  std::vector<const float*> liked, disliked;
  for (int64_t id : q.positive_ids) {
    SIMSEARCH_ASSIGN_OR_RETURN(uint32_t row, c.RowOf(id));
    liked.push_back(c.query_vector(row));
  }
  for (int64_t id : q.negative_ids) {
    SIMSEARCH_ASSIGN_OR_RETURN(uint32_t row, c.RowOf(id));
    disliked.push_back(c.query_vector(row));
  }
  // parts: one vector per liked item; rest: what else the query holds (the fold-in's
  // prior, the mean's disliked side). query = sum(parts) + rest, before any scaling.
  std::vector<double> parts, rest(d, 0.0);
  if (c.gram() != nullptr) {
    SIMSEARCH_RETURN_IF_ERROR(FoldInParts(c.gram(), static_cast<int>(d), liked, disliked,
                                          q.negative_weight, c.fold_in(), c.fold_in_prior_vector(),
                                          c.fold_in_prior() / static_cast<float>(liked.size()),
                                          &parts, &rest));
  } else {
    parts.assign(liked.size() * d, 0.0);
    for (size_t j = 0; j < liked.size(); ++j) {
      for (size_t i = 0; i < d; ++i) parts[j * d + i] = liked[j][i] / double(liked.size());
    }
    for (const float* v : disliked) {
      for (size_t i = 0; i < d; ++i)
        rest[i] -= q.negative_weight * v[i] / static_cast<double>(disliked.size());
    }
  }
  // A liked id listed twice is one liked anime: its parts are added up.
  absl::flat_hash_map<int64_t, size_t> slot;
  for (int64_t id : q.positive_ids) slot.try_emplace(id, slot.size());
  std::vector<std::pair<double, size_t>> share(slot.size());
  std::vector<int64_t> ids(slot.size());
  for (const auto& [id, k] : slot) ids[k] = id;
  for (Hit& h : *hits) {
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          "the deadline passed while naming each recommendation's reasons; allow more time or "
          "ask for fewer results");
    }
    const float* x = c.vector(h.row);
    double total = 0;
    for (size_t i = 0; i < d; ++i) total += rest[i] * x[i];
    for (size_t k = 0; k < share.size(); ++k) share[k] = {0.0, k};
    for (size_t j = 0; j < liked.size(); ++j) {
      double part = 0;
      for (size_t i = 0; i < d; ++i) part += parts[j * d + i] * x[i];
      share[slot[q.positive_ids[j]]].first += part;
      total += part;
    }
    h.because.clear();
    if (!(total > 0)) continue;  // a score at or below zero has no shares to speak of
    const size_t n = std::min(kMostBecause, share.size());
    std::partial_sort(share.begin(), share.begin() + static_cast<ptrdiff_t>(n), share.end(),
                      [](const auto& a, const auto& b) {
                        return a.first != b.first ? a.first > b.first : a.second < b.second;
                      });
    for (size_t k = 0; k < n && share[k].first > 0; ++k) {
      h.because.push_back({ids[share[k].second], static_cast<float>(share[k].first / total)});
    }
  }
  return absl::OkStatus();
}

absl::Status Engine::CheckPage(size_t queries, const SearchKnobs& knobs) const {
  if (!knobs.page_tokens.empty() && knobs.page_tokens.size() != queries) {
    return InvalidFieldError(
        "page_tokens", reason::kPageTokenInvalid,
        absl::StrCat("page_tokens holds ", knobs.page_tokens.size(), " tokens for ", queries,
                     " queries: send one per query, \"\" for a first page"));
  }
  if (queries > 1 && !knobs.page_token.empty()) {
    return InvalidFieldError("page_token", reason::kPageTokenInvalid,
                             "a batch takes page_tokens, one per query, not page_token");
  }
  if (knobs.page_size < 0 || knobs.page_size > limits_.max_k) {
    return InvalidFieldError(
        "page_size", reason::kTopKOutOfRange,
        absl::StrCat("page_size must be between 1 and ", limits_.max_k, " (or 0 for ",
                     limits_.default_k, "), got ", knobs.page_size));
  }
  return absl::OkStatus();
}

absl::StatusOr<PageToken> Engine::ReadPage(const Collection& c, const std::string& token,
                                           uint64_t fingerprint, bool listing) const {
  PageToken page;
  page.fingerprint = fingerprint;
  if (token.empty()) return page;  // a first page
  SIMSEARCH_ASSIGN_OR_RETURN(page, DecodePageToken(token));
  // A reload first: after one, the caller's request may well have changed too (a title
  // resolved anew), and starting again is the answer either way.
  if (page.version != c.version()) {
    return WithReason(absl::FailedPreconditionError(absl::StrCat(
                          "page_token is from version ", page.version, " of collection '", c.name(),
                          "', which version ", c.version(),
                          " has replaced: the ranking changed; start again from the first page")),
                      reason::kPageTokenExpired, "page_token");
  }
  if (page.fingerprint != fingerprint) {
    return InvalidFieldError(
        "page_token", reason::kPageTokenInvalid,
        listing ? "page_token belongs to another listing: send the first page's collection, "
                  "filter and order with it (only page_size may change)"
                : "page_token belongs to another search: send the first page's collection, query, "
                  "filter, top_k and params with it (only page_size may change)");
  }
  return page;
}

// The searched collection is the one ReadPage checked the tokens against.
absl::Status Engine::CutPage(const SearchKnobs& knobs, size_t query, size_t queries, PageToken page,
                             SearchResults* out) const {
  const std::string& version = out->collection->version();
  out->next_page_tokens.resize(queries);
  std::vector<Hit>& hits = out->hits[query];
  const size_t size =
      static_cast<size_t>(knobs.page_size > 0 ? knobs.page_size : limits_.default_k);
  const size_t total = hits.size();  // the whole ranking of the sequence's depth
  const size_t begin = std::min(total, static_cast<size_t>(page.offset));
  const size_t end = std::min(total, begin + size);
  hits.erase(hits.begin() + static_cast<ptrdiff_t>(end), hits.end());
  hits.erase(hits.begin(), hits.begin() + static_cast<ptrdiff_t>(begin));
  if (end < total) {
    page.version = version;
    page.offset = static_cast<int64_t>(end);
    out->next_page_tokens[query] = EncodePageToken(page);
  }
  return absl::OkStatus();
}

absl::StatusOr<SearchResults> Engine::SearchIn(std::shared_ptr<const Collection> c,
                                               const std::vector<SearchQuery>& queries,
                                               const SearchParams& call,
                                               const FilterSpec& filter) const {
  // Whatever the outcome, if a mapped file of this version shrank meanwhile, the query
  // vectors, rows or ids may have been zeros: that, not the outcome, is the answer.
  auto result = SearchUnchecked(c, queries, call, filter);
  if (absl::Status damage = c->CheckIntact(); !damage.ok()) return damage;
  return result;
}

absl::Status Engine::CheckText(const SearchQuery& q) const {
  if (absl::StripAsciiWhitespace(q.text).empty()) {
    return InvalidFieldError("text", reason::kEmptyQuery,
                             "empty text query: give some words to search for");
  }
  if (q.text.size() > limits_.max_text_query_bytes) {
    return InvalidFieldError("text", reason::kInvalidArgument,
                             absl::StrCat("text query is ", q.text.size(), " bytes (at most ",
                                          limits_.max_text_query_bytes, ")"));
  }
  const TextOptions& o = q.text_options;
  if (o.fusion != Fusion::kDefault && o.fusion != Fusion::kRrf && o.fusion != Fusion::kConvex) {
    return InvalidFieldError("text_options.fusion", reason::kInvalidArgument,
                             "unknown fusion; use rrf or convex");
  }
  if (o.rrf_k && !(std::isfinite(*o.rrf_k) && *o.rrf_k > 0)) {
    return InvalidFieldError("text_options.rrf_k", reason::kInvalidArgument,
                             absl::StrCat("rrf_k must be a positive number, got ", *o.rrf_k));
  }
  if (o.dense_weight && !(*o.dense_weight >= 0 && *o.dense_weight <= 1)) {
    return InvalidFieldError("text_options.dense_weight", reason::kInvalidArgument,
                             absl::StrCat("dense_weight must be in [0, 1], got ", *o.dense_weight));
  }
  return absl::OkStatus();
}

namespace {
absl::StatusOr<TextMode> ResolveTextMode(const Collection& c, TextMode asked) {
  const bool dense = c.encoder() != nullptr, lexical = c.lexical() != nullptr;
  auto missing = [&](absl::string_view what, absl::string_view how) {
    return WithReason(absl::FailedPreconditionError(
                          absl::StrCat("collection '", c.name(), "' has no ", what, how)),
                      reason::kQueryNotSupported, "text_options.mode");
  };
  switch (asked) {
    case TextMode::kDefault:
      if (dense && lexical) return TextMode::kHybrid;
      if (lexical) return TextMode::kLexical;
      if (dense) return TextMode::kDense;
      return missing(
          "text encoder and no lexical index, so it cannot search by text",
          "; use a collection built with one (simsearch-indexer --encoder or --lexical), "
          "e.g. synopsis");
    case TextMode::kDense:
      if (!dense) {
        return missing(
            "text encoder, so it cannot search by text in mode dense",
            lexical ? "; use mode lexical" : "; use a collection built with one, e.g. synopsis");
      }
      return asked;
    case TextMode::kLexical:
      if (!lexical) {
        return missing("lexical index, so it cannot search in mode lexical",
                       "; use mode dense, or rebuild it with simsearch-indexer --lexical");
      }
      return asked;
    case TextMode::kHybrid:
      if (!dense || !lexical) {
        return missing(dense ? "lexical index" : "text encoder",
                       absl::StrCat(", so it cannot search in mode hybrid; use mode ",
                                    dense ? "dense" : "lexical"));
      }
      return asked;
  }
  return absl::InvalidArgumentError("unknown text mode; use dense, lexical or hybrid");
}
}  // namespace

std::string TextSearchDescription(const Collection& c) {
  const bool dense = c.encoder() != nullptr, lexical = c.lexical() != nullptr;
  const std::string bm25 =
      lexical ? absl::StrCat("BM25 over ", c.lexical()->terms(), " terms") : "";
  const std::string enc =
      dense ? absl::StrCat("dense (", c.manifest().encoder_description, ")") : "";
  if (dense && lexical) {
    return absl::StrCat("hybrid: ", kDefaultDenseWeight, " x ", enc, " + ", 1 - kDefaultDenseWeight,
                        " x ", bm25, ", scores min-max normalised over each side's best ",
                        kFusionDepth);
  }
  return dense ? enc : bm25;
}

absl::StatusOr<SearchResults> Engine::SearchUnchecked(const std::shared_ptr<const Collection>& c,
                                                      const std::vector<SearchQuery>& queries,
                                                      const SearchParams& call,
                                                      const FilterSpec& filter) const {
  SIMSEARCH_ASSIGN_OR_RETURN(CompiledFilter compiled, c->CompileFilter(filter));
  const size_t n = queries.size();
  std::vector<const SearchQuery*> by_vector;
  std::vector<size_t> by_vector_index, by_text_index;
  std::vector<TextMode> mode(n, TextMode::kDense);
  for (size_t i = 0; i < n; ++i) {
    if (queries[i].kind == SearchQuery::Kind::kText) {
      SIMSEARCH_RETURN_IF_ERROR(InQuery(CheckText(queries[i]), i, n));
      auto m = ResolveTextMode(*c, queries[i].text_options.mode);
      if (!m.ok()) return InQuery(m.status(), i, n);
      mode[i] = *m;
    }
    if (mode[i] == TextMode::kDense) {
      by_vector.push_back(&queries[i]);
      by_vector_index.push_back(i);
    } else {
      by_text_index.push_back(i);
    }
  }
  SearchResults out;
  out.hits.resize(n);
  if (!by_vector.empty()) {
    std::vector<std::vector<Hit>> hits;
    SIMSEARCH_RETURN_IF_ERROR(SearchVectors(*c, by_vector, by_vector_index, n, call,
                                            by_text_index.empty() ? std::move(compiled) : compiled,
                                            &hits));
    for (size_t j = 0; j < hits.size(); ++j) out.hits[by_vector_index[j]] = std::move(hits[j]);
  }
  for (size_t i : by_text_index) {
    SIMSEARCH_RETURN_IF_ERROR(
        InQuery(SearchText(*c, queries[i], mode[i], call, compiled, &out.hits[i]), i, n));
  }
  out.collection = c;
  return out;
}

namespace {

// A hybrid query's dense side: the encoded text searched to `depth`; *knows is false
// (and `dense` empty) when the encoder knows none of its words.
absl::Status DenseTextHits(const Collection& c, const std::string& text, SearchParams call,
                           const CompiledFilter& compiled, std::vector<Neighbor>* dense,
                           bool* knows) {
  std::vector<float> v;
  SIMSEARCH_RETURN_IF_ERROR(c.EncodeText(text, &v));
  const float norm = Norm(v.data(), v.size());
  *knows = v.size() == c.dims() && norm > 1e-12f;
  if (!*knows) return absl::OkStatus();
  if (c.cosine()) {
    for (float& x : v) x /= norm;
  }
  std::vector<std::vector<Neighbor>> found;
  SIMSEARCH_RETURN_IF_ERROR(c.Search(v.data(), 1, call, &compiled, &found));
  *dense = std::move(found[0]);
  return absl::OkStatus();
}

// Fusion of the dense and lexical lists over their union, by `o.fusion`; a row missing
// from a list gets nothing from it.
absl::flat_hash_map<uint32_t, double> FuseTextHits(const std::vector<Neighbor>& dense,
                                                   const std::vector<LexicalHit>& lexical,
                                                   const TextOptions& o) {
  absl::flat_hash_map<uint32_t, double> fused;
  if (o.fusion == Fusion::kConvex || o.fusion == Fusion::kDefault) {
    const double w = o.dense_weight.value_or(kDefaultDenseWeight);
    auto add = [&](auto scores, size_t count, double weight, auto row_of) {
      if (count == 0) return;
      double lo = scores(0), hi = scores(0);
      for (size_t r = 0; r < count; ++r) {
        lo = std::min(lo, scores(r));
        hi = std::max(hi, scores(r));
      }
      for (size_t r = 0; r < count; ++r) {
        fused[row_of(r)] += weight * (hi > lo ? (scores(r) - lo) / (hi - lo) : 1.0);
      }
    };
    add([&](size_t r) { return double{dense[r].score}; }, dense.size(), w,
        [&](size_t r) { return dense[r].row; });
    add([&](size_t r) { return double{lexical[r].score}; }, lexical.size(), 1 - w,
        [&](size_t r) { return lexical[r].row; });
  } else {
    // Weighted RRF, scaled so that dense_weight 0.5 is the classic sum of 1 / (k + rank).
    const double rrf_k = o.rrf_k.value_or(kDefaultRrfK);
    const double w = o.dense_weight.value_or(0.5);
    for (size_t r = 0; r < dense.size(); ++r)
      fused[dense[r].row] += 2 * w / (rrf_k + static_cast<double>(r + 1));
    for (size_t r = 0; r < lexical.size(); ++r) {
      fused[lexical[r].row] += 2 * (1 - w) / (rrf_k + static_cast<double>(r + 1));
    }
  }
  return fused;
}

// Appends the `k` best of `fused` to `hits` (ties: the lower row first).
void AppendBestFused(const Collection& c, const absl::flat_hash_map<uint32_t, double>& fused, int k,
                     std::vector<Hit>* hits) {
  std::vector<std::pair<double, uint32_t>> ranked;
  ranked.reserve(fused.size());
  for (const auto& [row, score] : fused) ranked.emplace_back(score, row);
  auto better = [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  const size_t keep = std::min(ranked.size(), static_cast<size_t>(k));
  std::partial_sort(ranked.begin(), ranked.begin() + static_cast<long>(keep), ranked.end(), better);
  for (size_t i = 0; i < keep; ++i) {
    hits->push_back({c.id(ranked[i].second),
                     static_cast<float>(ranked[i].first),
                     c.item(ranked[i].second),
                     ranked[i].second,
                     {}});
  }
}

}  // namespace

absl::Status Engine::SearchText(const Collection& c, const SearchQuery& q, TextMode mode,
                                const SearchParams& call, const CompiledFilter& compiled,
                                std::vector<Hit>* hits) const {
  const int k = call.k;
  const std::vector<std::string> tokens = LexicalTokens(q.text);
  const int depth = mode == TextMode::kHybrid ? std::max(k, kFusionDepth) : k;
  std::function<bool(uint32_t)> allowed;
  if (!compiled.empty()) allowed = [&compiled](uint32_t row) { return compiled.Allows(row); };
  const std::vector<LexicalHit> lexical =
      c.lexical()->SearchTerms(tokens, static_cast<size_t>(depth), allowed);
  std::vector<Neighbor> dense;
  bool dense_knows = false;
  if (mode == TextMode::kHybrid) {
    SearchParams dense_call = call;
    dense_call.k = depth;
    SIMSEARCH_RETURN_IF_ERROR(DenseTextHits(c, q.text, dense_call, compiled, &dense, &dense_knows));
  }
  if (tokens.empty() && !dense_knows) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", Quote(q.text, 80), "\" has ",
        mode == TextMode::kHybrid
            ? "no word the encoder knows and no word the lexical index searches"
            : "only stop words and punctuation, which the lexical index does not search",
        "; try other words"));
  }
  hits->clear();
  if (mode == TextMode::kLexical) {
    for (const LexicalHit& h : lexical)
      hits->push_back({c.id(h.row), h.score, c.item(h.row), h.row, {}});
    return absl::OkStatus();
  }
  AppendBestFused(c, FuseTextHits(dense, lexical, q.text_options), k, hits);
  return absl::OkStatus();
}

bool Engine::AnswerFromNeighbours(const Collection& c, const SearchQuery& q, int k,
                                  const CompiledFilter& compiled, std::vector<Hit>* hits) const {
  const uint64_t kk = c.neighbours_k();
  hits->clear();
  if (kk < static_cast<uint64_t>(k) && c.manifest().neighbours_fusion.empty()) return false;
  auto row = c.RowOf(q.item_id);
  if (!row.ok()) return false;  // the search path reports it
  const uint32_t* rows = c.neighbour_rows(*row);
  const float* scores = c.neighbour_scores(*row);
  if (rows[0] == kNoNeighbours) return false;
  for (uint64_t j = 0; j < kk && hits->size() < static_cast<size_t>(k); ++j) {
    const uint32_t r = rows[j];
    if (r == kNoNeighbours) break;  // a list shorter than k (hubs capped): the search fills
    if (r >= c.count()) {           // damaged: --verify checksums catches it; search meanwhile
      hits->clear();
      return false;
    }
    if (!compiled.Allows(r)) continue;
    hits->push_back({c.id(r), scores[j], c.item(r), r, {}});
  }
  return hits->size() == static_cast<size_t>(k);
}

namespace {

// The lists ComputeItemNeighbours fills (row-major count x k), and the first error of
// the threads that fill them.
class NeighbourLists {
 public:
  NeighbourLists(const Collection& c, int k, std::vector<uint32_t>* rows,
                 std::vector<float>* scores)
      : c_(c), k_(k), rows_(rows), scores_(scores) {}

  // One item's list from its search's answer (`st`, `found`); false on an error.
  bool Store(uint64_t row, const absl::Status& st, const std::vector<Hit>* found) {
    uint32_t* out_rows = rows_->data() + row * static_cast<uint64_t>(k_);
    float* out_scores = scores_->data() + row * static_cast<uint64_t>(k_);
    if (st.code() == absl::StatusCode::kInvalidArgument) {  // no valid query for this item
      out_rows[0] = Engine::kNoNeighbours;
      return true;
    }
    std::lock_guard<std::mutex> lock(error_mu_);
    if (!st.ok()) {
      if (error_.ok()) error_ = st;
      return false;
    }
    if (found->size() != static_cast<size_t>(k_)) {
      if (error_.ok())
        error_ = absl::InternalError(
            absl::StrCat("neighbours: item row ", row, " got ", found->size(), " of ", k_));
      return false;
    }
    for (int j = 0; j < k_; ++j) {
      auto r = c_.RowOf((*found)[static_cast<size_t>(j)].id);
      out_rows[j] = r.ok() ? *r : Engine::kNoNeighbours;
      out_scores[j] = (*found)[static_cast<size_t>(j)].score;
    }
    return true;
  }

  // The first error Store met, once every thread is done.
  absl::Status error() {
    std::lock_guard<std::mutex> lock(error_mu_);
    return error_;
  }

 private:
  const Collection& c_;
  const int k_;
  std::vector<uint32_t>* rows_;
  std::vector<float>* scores_;
  std::mutex error_mu_;
  absl::Status error_;
};

}  // namespace

absl::Status Engine::ComputeItemNeighbours(const Collection& c, int k, int threads,
                                           const std::function<void(double)>& progress,
                                           std::vector<uint32_t>* rows,
                                           std::vector<float>* scores) const {
  const uint64_t n = c.count();
  if (k < 1 || static_cast<uint64_t>(k) >= n) {
    return absl::InvalidArgumentError(
        absl::StrCat("neighbours: k must be in 1..", n - 1, ", got ", k));
  }
  SIMSEARCH_ASSIGN_OR_RETURN(CompiledFilter none, c.CompileFilter({}));
  rows->assign(n * static_cast<uint64_t>(k), 0);
  scores->assign(n * static_cast<uint64_t>(k), 0.0f);
  std::atomic<uint64_t> next{0}, done{0};
  NeighbourLists lists(c, k, rows, scores);
  SearchParams exact;  // the scan, as an item query with `exact` would be answered
  exact.k = k;
  exact.exact = true;
  // Items are searched kChunk at a time: one pass over the vectors for the chunk, each
  // item's answer the one it gets alone (scan_kernel.h). A chunk with an item that has
  // no valid query (a zero vector) is searched again one item at a time.
  constexpr uint64_t kChunk = 16;
  auto work = [&] {
    std::vector<std::vector<Hit>> hits;
    std::vector<SearchQuery> queries;
    std::vector<const SearchQuery*> ptrs;
    std::vector<size_t> index;
    for (uint64_t start; (start = next.fetch_add(kChunk)) < n;) {
      const uint64_t end = std::min(n, start + kChunk);
      queries.clear();
      ptrs.clear();
      index.clear();
      for (uint64_t row = start; row < end; ++row)
        queries.push_back(SearchQuery::Item(c.id(static_cast<uint32_t>(row))));
      for (size_t i = 0; i < queries.size(); ++i) {
        ptrs.push_back(&queries[i]);
        index.push_back(i);
      }
      absl::Status st = ScanVectors(c, ptrs, index, ptrs.size(), exact, none, &hits);
      for (uint64_t row = start; row < end; ++row) {
        const size_t i = static_cast<size_t>(row - start);
        if (st.code() == absl::StatusCode::kInvalidArgument) {
          absl::Status alone = ScanVectors(c, {ptrs[i]}, {0}, 1, exact, none, &hits);
          if (!lists.Store(row, alone, alone.ok() ? &hits[0] : nullptr)) return;
        } else if (!lists.Store(row, st, st.ok() ? &hits[i] : nullptr)) {
          return;
        }
      }
      const uint64_t d = done.fetch_add(end - start) + (end - start);
      if (progress && d / 256 != (d - (end - start)) / 256)
        progress(static_cast<double>(d) / static_cast<double>(n));
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (progress) progress(1.0);
  return lists.error();
}

absl::Status Engine::SearchVectors(const Collection& c,
                                   const std::vector<const SearchQuery*>& queries,
                                   const std::vector<size_t>& index, size_t total,
                                   const SearchParams& call, CompiledFilter compiled,
                                   std::vector<std::vector<Hit>>* hits) const {
  const size_t n = queries.size();
  const int k = call.k;
  if (call.exact || c.neighbours_k() == 0) {
    return ScanVectors(c, queries, index, total, call, std::move(compiled), hits);
  }
  // "More like this" from the precomputed lists, each item query of the batch on its
  // own: what the scan would answer (the scan's scores do not depend on the batch).
  hits->assign(n, {});
  std::vector<const SearchQuery*> rest;
  std::vector<size_t> rest_at, rest_index;
  for (size_t i = 0; i < n; ++i) {
    if (queries[i]->kind == SearchQuery::Kind::kItem &&
        AnswerFromNeighbours(c, *queries[i], k, compiled, &(*hits)[i])) {
      continue;
    }
    rest.push_back(queries[i]);
    rest_at.push_back(i);
    rest_index.push_back(index[i]);
  }
  if (rest.empty()) return absl::OkStatus();
  // A fused list's allowed entries stay first; the scan fills the rest in its own order:
  // a scan leaves each query's listed rows out (so its depth does not depend on the
  // batch's other lists); an ANN search is asked for k more, so that k remain after
  // dropping those already listed.
  const bool fused = !c.manifest().neighbours_fusion.empty();
  size_t listed = 0;
  std::vector<std::vector<uint32_t>> listed_rows(rest.size());
  for (size_t j = 0; j < rest.size(); ++j) {
    listed = std::max(listed, (*hits)[rest_at[j]].size());
    for (const Hit& h : (*hits)[rest_at[j]]) listed_rows[j].push_back(h.row);
  }
  const bool leave_out = fused && c.ScansEveryQuery(call);
  const int scan_k =
      fused && !leave_out
          ? static_cast<int>(std::min<size_t>(static_cast<size_t>(k) + listed, c.count()))
          : k;
  std::vector<std::vector<Hit>> scanned;
  SearchParams scan = call;
  scan.k = scan_k;
  SIMSEARCH_RETURN_IF_ERROR(ScanVectors(c, rest, rest_index, total, scan, std::move(compiled),
                                        &scanned, leave_out ? &listed_rows : nullptr));
  for (size_t j = 0; j < rest.size(); ++j) {
    std::vector<Hit>& out = (*hits)[rest_at[j]];
    if (!fused) {
      out = std::move(scanned[j]);
      continue;
    }
    absl::flat_hash_set<uint32_t> have;
    for (const Hit& h : out) have.insert(h.row);
    for (Hit& h : scanned[j]) {
      if (out.size() == static_cast<size_t>(k)) break;
      if (!have.contains(h.row)) out.push_back(std::move(h));
    }
  }
  return absl::OkStatus();
}

absl::Status Engine::ScanVectors(const Collection& c_ref,
                                 const std::vector<const SearchQuery*>& queries,
                                 const std::vector<size_t>& index, size_t total,
                                 const SearchParams& call, CompiledFilter compiled,
                                 std::vector<std::vector<Hit>>* hits,
                                 const std::vector<std::vector<uint32_t>>* also_exclude) const {
  const Collection* c = &c_ref;
  const int k = call.k;
  const size_t n = queries.size();
  const size_t d = c->dims();
  std::vector<float> x(n * d);
  std::vector<std::vector<uint32_t>> own(n);
  size_t most_own = 0;
  std::vector<int> scale(n, 0);     // query i was multiplied by 2^-scale[i]
  std::vector<char> similar(n, 0);  // query i is searched in the "more like this" space
  for (size_t i = 0; i < n; ++i) {
    bool s = false;
    SIMSEARCH_RETURN_IF_ERROR(
        InQuery(BuildQuery(*c, *queries[i], &x[i * d], &own[i], &s), index[i], total));
    similar[i] = s;
    most_own = std::max(most_own, own[i].size());
    if (!c->cosine()) scale[i] = ScaleIntoSafeRange(&x[i * d], d);
  }
  // A query's own items (the item of "more like this", the liked and disliked ones, and
  // `also_exclude`'s rows) are excluded. With one query they join the filter. In a batch
  // that is scanned, each query's own go to the scan (SearchParams::exclude); over an
  // ANN index each query asks for enough extra hits to drop its own afterwards. Either
  // way the batch stays one search.
  if (also_exclude != nullptr) {
    for (size_t i = 0; i < n; ++i) {
      own[i].insert(own[i].end(), (*also_exclude)[i].begin(), (*also_exclude)[i].end());
      std::sort(own[i].begin(), own[i].end());
      own[i].erase(std::unique(own[i].begin(), own[i].end()), own[i].end());
      most_own = std::max(most_own, own[i].size());
    }
  }
  int fetch = k;
  SearchParams search = call;
  if (n == 1) {
    for (uint32_t row : own[0]) compiled.Exclude(row);
  } else if (c->ScansEveryQuery(call)) {
    search.exclude = &own;
  } else {
    fetch = static_cast<int>(std::min<uint64_t>(k + most_own, c->count()));
  }
  std::vector<std::vector<Neighbor>> found;
  search.k = std::max(fetch, 1);
  SIMSEARCH_RETURN_IF_ERROR(SearchBySpace(*c, x, similar, search, &compiled, &found));

  hits->assign(n, {});
  for (size_t i = 0; i < n; ++i) {
    for (const Neighbor& nb : found[i]) {
      if ((*hits)[i].size() == static_cast<size_t>(k)) break;
      if (n > 1 && std::binary_search(own[i].begin(), own[i].end(), nb.row)) continue;
      const double score = std::ldexp(static_cast<double>(nb.score), scale[i]);
      if (!(std::fabs(score) <= std::numeric_limits<float>::max())) {
        return InQuery(absl::InvalidArgumentError(absl::StrCat(
                           "the query vector's norm (", Norm(&x[i * d], d), " x 2^", scale[i],
                           ") makes inner-product scores overflow float32; scale the vector down "
                           "(the ranking does not depend on its length)")),
                       index[i], total);
      }
      (*hits)[i].push_back({c->id(nb.row), static_cast<float>(score), c->item(nb.row), nb.row, {}});
    }
  }
  return absl::OkStatus();
}

absl::Status Engine::SearchBySpace(const Collection& c, const std::vector<float>& x,
                                   const std::vector<char>& similar, const SearchParams& call,
                                   const CompiledFilter* filter,
                                   std::vector<std::vector<Neighbor>>* found) const {
  const size_t n = similar.size(), d = c.dims();
  const int k = call.k;
  const size_t in_similar = static_cast<size_t>(std::count(similar.begin(), similar.end(), 1));
  if (in_similar == 0) return c.Search(x.data(), n, call, filter, found);
  if (in_similar == n)
    return c.SearchSimilar(x.data(), n, k, filter, call.deadline, found, call.exclude);
  // A batch of both kinds: one search per space, results put back in query order.
  found->assign(n, {});
  for (char space : {0, 1}) {
    std::vector<size_t> which;
    std::vector<float> qs;
    std::vector<std::vector<uint32_t>> out;
    for (size_t i = 0; i < n; ++i) {
      if (similar[i] != space) continue;
      which.push_back(i);
      qs.insert(qs.end(), x.begin() + static_cast<long>(i * d),
                x.begin() + static_cast<long>((i + 1) * d));
      if (call.exclude != nullptr) out.push_back((*call.exclude)[i]);
    }
    SearchParams part_call = call;
    if (call.exclude != nullptr) part_call.exclude = &out;
    std::vector<std::vector<Neighbor>> part;
    SIMSEARCH_RETURN_IF_ERROR(space ? c.SearchSimilar(qs.data(), which.size(), k, filter,
                                                      call.deadline, &part, part_call.exclude)
                                    : c.Search(qs.data(), which.size(), part_call, filter, &part));
    for (size_t j = 0; j < which.size(); ++j) (*found)[which[j]] = std::move(part[j]);
  }
  return absl::OkStatus();
}

absl::StatusOr<ItemRows> Engine::GetItems(absl::string_view collection,
                                          const std::vector<int64_t>& ids, bool missing_ok) const {
  if (ids.empty()) {
    return InvalidFieldError("ids", reason::kEmptyQuery, "no ids: send at least one item id");
  }
  if (ids.size() > static_cast<size_t>(limits_.max_ids)) {
    return InvalidFieldError(
        "ids", reason::kTooManyIds,
        absl::StrCat("too many ids: ", ids.size(), " (at most ", limits_.max_ids, ")"));
  }
  SIMSEARCH_ASSIGN_OR_RETURN(std::shared_ptr<const Collection> c, GetCollection(collection));
  ItemRows out;
  for (int64_t id : ids) {
    absl::StatusOr<uint32_t> row = c->RowOf(id);
    if (row.ok()) {
      out.rows.push_back(*row);
    } else if (missing_ok && row.status().code() == absl::StatusCode::kNotFound) {
      out.missing.push_back(id);
    } else {
      return row.status();
    }
  }
  out.collection = std::move(c);
  return out;
}

absl::StatusOr<ItemList> Engine::ListItems(absl::string_view collection,
                                           const ListRequest& request) const {
  const int size = request.page_size != 0 ? request.page_size : limits_.default_list_page;
  if (size < 1 || size > limits_.max_k) {
    return InvalidFieldError("page_size", reason::kInvalidArgument,
                             absl::StrCat("page_size must be 1..", limits_.max_k, " (0: ",
                                          limits_.default_list_page, "), got ", request.page_size));
  }
  if (request.order < ItemOrder::kScore || request.order > ItemOrder::kStartDate) {
    return InvalidFieldError("order_by", reason::kInvalidArgument,
                             "unknown order: use score, members or start date");
  }
  SIMSEARCH_RETURN_IF_ERROR(CheckFilter(request.filter));
  SIMSEARCH_ASSIGN_OR_RETURN(std::shared_ptr<const Collection> c, GetCollection(collection));
  if (!c->has_items()) {
    return WithReason(absl::FailedPreconditionError(absl::StrCat(
                          "collection '", c->name(),
                          "' has no item metadata, so its items cannot be listed in an order; "
                          "rebuild it with simsearch-indexer --catalog")),
                      reason::kQueryNotSupported, "collection");
  }
  SIMSEARCH_ASSIGN_OR_RETURN(CompiledFilter filter, c->CompileFilter(request.filter));
  SIMSEARCH_ASSIGN_OR_RETURN(
      PageToken page, ReadPage(*c, request.page_token,
                               ListFingerprint(c->name(), request.filter,
                                               static_cast<int>(request.order), request.ascending),
                               /*listing=*/true));
  ItemList out;
  const size_t begin = static_cast<size_t>(page.offset), end = begin + static_cast<size_t>(size);
  out.total = OrderedRows(*c, filter, request.order, request.ascending, end, &out.rows);
  out.rows.erase(out.rows.begin(),
                 out.rows.begin() + static_cast<ptrdiff_t>(std::min(begin, out.rows.size())));
  if (end < out.total) {
    page.version = c->version();
    page.offset = static_cast<int64_t>(end);
    out.next_page_token = EncodePageToken(page);
  }
  SIMSEARCH_RETURN_IF_ERROR(c->CheckIntact());
  out.collection = std::move(c);
  return out;
}

absl::StatusOr<TitleMatches> Engine::LookupTitle(absl::string_view collection,
                                                 absl::string_view query,
                                                 std::optional<int> top_k) const {
  const int n = top_k.value_or(limits_.default_title_matches);
  if (n < 1 || n > limits_.max_title_matches) {
    return InvalidFieldError(
        "top_k", reason::kTopKOutOfRange,
        absl::StrCat("top_k must be between 1 and ", limits_.max_title_matches, ", got ", n));
  }
  if (query.size() > limits_.max_title_query_bytes) {
    return InvalidFieldError("query", reason::kInvalidArgument,
                             absl::StrCat("title query is ", query.size(), " bytes (at most ",
                                          limits_.max_title_query_bytes, ")"));
  }
  SIMSEARCH_ASSIGN_OR_RETURN(std::shared_ptr<const Collection> c, GetCollection(collection));
  if (!c->has_items()) {
    return WithReason(
        absl::FailedPreconditionError(absl::StrCat(
            "collection '", c->name(), "' has no item metadata, so it has no titles to look up")),
        reason::kQueryNotSupported);
  }
  TitleMatches out;
  out.matches = c->LookupTitle(query, static_cast<size_t>(n));
  if (out.matches.empty() && TitleIndex::Normalize(query).empty()) {
    return InvalidFieldError(
        "query", reason::kEmptyQuery,
        "empty title query: give some letters or digits of the title, e.g. \"cowboy bebop\"");
  }
  // Does a served collection hold an anime that matches better, and this one lack it?
  const float best_here = out.matches.empty() ? 0.0f : out.matches[0].score;
  for (const auto& other : registry_->List()) {
    if (other == c || !other->has_items()) continue;
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
