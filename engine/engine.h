// The request-level search API: validates a request against limits and the collection,
// turns item ids into query vectors, searches, and returns hits with their metadata.
// The gRPC service and the in-process Lambda backend both call this, so every caller
// gets the same answers and the same errors.
//
// Errors: NotFound (unknown collection or item), InvalidArgument (malformed request;
// the message says what to change), DeadlineExceeded, FailedPrecondition (the
// collection cannot do what was asked).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/browse.h"
#include "engine/collection.h"
#include "engine/paging.h"
#include "engine/registry.h"

namespace simsearch {

struct EngineLimits {
  int default_k = 10;
  int max_k = 1000;
  int max_batch = 64;  // queries in one batch search
  int max_ids = 1000;  // ids in one request (exclusions, liked/disliked, lookups)
  int default_title_matches = 10;
  int max_title_matches = 100;
  size_t max_title_query_bytes = 256;
  size_t max_text_query_bytes = 10000;
  int max_ef = 4096;           // per-call HNSW beam
  int max_nprobe = 4096;       // per-call IVF lists
  int default_list_page = 20;  // ListItems without page_size; at most max_k
};

// A liked item's part of a hit's score (SearchQuery::explain).
struct Because {
  int64_t id = 0;   // the liked item
  float share = 0;  // its part of the score, as a fraction of the whole
};

struct Hit {
  int64_t id = 0;
  float score = 0;
  ItemView item;     // empty when the collection has no metadata
  uint32_t row = 0;  // in the collection that answered
  // An explained items query's: the liked items with the largest parts, largest first
  // (at most kMostBecause, positive parts only).
  std::vector<Because> because;
};
inline constexpr size_t kMostBecause = 3;

struct SearchResults {
  std::shared_ptr<const Collection> collection;  // keeps `item` views valid
  std::vector<std::vector<Hit>> hits;            // one list per query
  // A paged search (SearchKnobs::page_size): each query's next page token, empty on its
  // last page; empty when the search was not paged.
  std::vector<std::string> next_page_tokens;
};

// The rows of some ids in one collection (Engine::GetItems); the gRPC and client
// ItemRecord is one item with its metadata and vector.
struct ItemRows {
  std::shared_ptr<const Collection> collection;
  std::vector<uint32_t> rows;    // in request order
  std::vector<int64_t> missing;  // GetItems with missing_ok: the ids not held, in order
};

// A page of a collection's items in an order (Engine::ListItems).
struct ItemList {
  std::shared_ptr<const Collection> collection;  // keeps the rows' views valid
  std::vector<uint32_t> rows;
  size_t total = 0;             // rows that pass the filter, on every page
  std::string next_page_token;  // empty on the last page
};

// A better title match than any in the collection searched, for an anime that
// collection does not hold (e.g. "One Piece" asked of `ncf`, which has no interactions
// for it, but holds "One Piece Recap").
struct ElsewhereMatch {
  std::shared_ptr<const Collection> collection;  // where it matched; keeps `match` valid
  TitleMatch match;                              // a row of `collection`
  std::vector<std::string> held_by;              // every served collection holding its id
};

struct TitleMatches {
  std::shared_ptr<const Collection> collection;
  std::vector<TitleMatch> matches;
  std::optional<ElsewhereMatch> better_elsewhere;
};

// How `c` answers a text query by default, for people ("hybrid: RRF (k=60) of dense
// (ENCODER) and BM25 over N terms"); empty when it cannot search by text.
std::string TextSearchDescription(const Collection& c);

class Engine {
 public:
  Engine(const CollectionRegistry* registry, EngineLimits limits)
      : registry_(registry), limits_(limits) {}

  // Top-k for each query, with the filter and the knobs applied to all. `top_k` unset
  // means limits.default_k; `knobs` unset, the collection's tuned search.
  absl::StatusOr<SearchResults> Search(absl::string_view collection,
                                       const std::vector<SearchQuery>& queries,
                                       std::optional<int> top_k, const FilterSpec& filter,
                                       absl::Time deadline, const SearchKnobs& knobs = {}) const;

  // The rows of `ids` in `collection`; an id it does not hold is NOT_FOUND, or with
  // `missing_ok` listed in ItemRows::missing.
  absl::StatusOr<ItemRows> GetItems(absl::string_view collection, const std::vector<int64_t>& ids,
                                    bool missing_ok = false) const;

  // The items of `collection` that pass the request's filter, in its order, one page
  // (engine/browse.h). Pages and their tokens work as Search's (engine/paging.h): a
  // token belongs to one collection version, filter and order.
  absl::StatusOr<ItemList> ListItems(absl::string_view collection,
                                     const ListRequest& request) const;

  // Title matches in `collection`, best first; and, when another served collection holds
  // an anime that matches better and `collection` lacks it, that anime.
  absl::StatusOr<TitleMatches> LookupTitle(absl::string_view collection, absl::string_view query,
                                           std::optional<int> top_k) const;

  // NotFound listing the served collections when `name` is not one; Unavailable with
  // the reason when the collection exists but no version of it can be served.
  absl::StatusOr<std::shared_ptr<const Collection>> GetCollection(absl::string_view name) const;
  std::vector<std::shared_ptr<const Collection>> ListCollections() const {
    return registry_->List();
  }
  // What CURRENT names for `name` and why another version (or none) is served.
  ServingState State(absl::string_view name) const { return registry_->State(name); }
  const EngineLimits& limits() const { return limits_; }

  // For simsearch-indexer: every item's exact "more like this" top-k, by the very code
  // that answers an item query (the same query vector, space and scan), so a list
  // answers exactly what a search would. Row-major count x k; an item whose query is
  // invalid (a zero vector) gets kNoNeighbours in its first slot. `threads` >= 1.
  static constexpr uint32_t kNoNeighbours = 0xffffffffu;
  absl::Status ComputeItemNeighbours(const Collection& c, int k, int threads,
                                     const std::function<void(double)>& progress,
                                     std::vector<uint32_t>* rows, std::vector<float>* scores) const;

 private:
  // Search on one version; fails with Collection::CheckIntact's error when a file of
  // the version was damaged while it ran.
  // `call`: k, deadline, exact and the index's effort (one SearchParams travels from
  // here down to the searchers).
  absl::StatusOr<SearchResults> SearchIn(std::shared_ptr<const Collection> c,
                                         const std::vector<SearchQuery>& queries,
                                         const SearchParams& call, const FilterSpec& filter) const;
  absl::StatusOr<SearchResults> SearchUnchecked(const std::shared_ptr<const Collection>& c,
                                                const std::vector<SearchQuery>& queries,
                                                const SearchParams& call,
                                                const FilterSpec& filter) const;
  // Checks a search's arguments against the limits.
  // A paged search's checks (one query, page_size in range), and its page cut from the
  // ranking in *out, with the next page's token (engine/paging.h).
  absl::Status CheckPage(size_t queries, const SearchKnobs& knobs) const;
  // The filter's sizes against the limits (ids, franchises, names), for searches and
  // listings alike.
  absl::Status CheckFilter(const FilterSpec& filter) const;
  // A query's place in its sequence: `token` decoded (empty: the first page) and checked
  // against the collection's version, then against the request's `fingerprint`.
  absl::StatusOr<PageToken> ReadPage(const Collection& c, const std::string& token,
                                     uint64_t fingerprint, bool listing = false) const;
  absl::Status CutPage(const SearchKnobs& knobs, size_t query, size_t queries, PageToken page,
                       SearchResults* out) const;
  // Fills each hit's `because` for an items query with explain: a score is linear in
  // the liked items (the mean, or the fold-in's solution: retrieval/fold_in.h,
  // FoldInParts), so each liked item's part of it is exact.
  // DEADLINE_EXCEEDED when `deadline` passes (liked x hits x dims multiply-adds).
  absl::Status Explain(const Collection& c, const SearchQuery& q, absl::Time deadline,
                       std::vector<Hit>* hits) const;
  absl::Status CheckSearch(const std::vector<SearchQuery>& queries, int k, const FilterSpec& filter,
                           const SearchKnobs& knobs) const;
  // The queries answered by vectors (all but lexical and hybrid text queries), in one
  // batch; `index[j]` is the position of `queries[j]` in the request (for messages).
  // Item queries the precomputed lists can answer are answered from them (not with
  // `call.exact`); the rest are scanned together (ScanVectors).
  absl::Status SearchVectors(const Collection& c, const std::vector<const SearchQuery*>& queries,
                             const std::vector<size_t>& index, size_t total,
                             const SearchParams& call, CompiledFilter compiled,
                             std::vector<std::vector<Hit>>* hits) const;
  // `also_exclude`: per query, more rows (ascending) to leave out besides its own items.
  absl::Status ScanVectors(const Collection& c, const std::vector<const SearchQuery*>& queries,
                           const std::vector<size_t>& index, size_t total, const SearchParams& call,
                           CompiledFilter compiled, std::vector<std::vector<Hit>>* hits,
                           const std::vector<std::vector<uint32_t>>* also_exclude = nullptr) const;
  // One item query answered from the collection's precomputed neighbours; false when
  // the list cannot answer it alone (too short after the filter, or none). `hits` then
  // holds what the list did allow: a fused list's entries come first, the search fills
  // the rest; an exact list's are dropped (the search answers the same, and more).
  bool AnswerFromNeighbours(const Collection& c, const SearchQuery& q, int k,
                            const CompiledFilter& compiled, std::vector<Hit>* hits) const;
  // A text query in lexical or hybrid mode.
  absl::Status SearchText(const Collection& c, const SearchQuery& q, TextMode mode,
                          const SearchParams& call, const CompiledFilter& compiled,
                          std::vector<Hit>* hits) const;
  // Checks a text query's text against the limits.
  absl::Status CheckText(const SearchQuery& q) const;
  // Searches each query in its space (main vectors, or "more like this", which is
  // always scanned exactly).
  absl::Status SearchBySpace(const Collection& c, const std::vector<float>& x,
                             const std::vector<char>& similar, const SearchParams& call,
                             const CompiledFilter* filter,
                             std::vector<std::vector<Neighbor>>* found) const;
  // The query vector (normalised on cosine collections) and rows the query itself
  // excludes. `similar`: true when the query is searched in the collection's "more like
  // this" space (Collection::has_similar) rather than the main vectors.
  absl::Status BuildQuery(const Collection& c, const SearchQuery& q, float* out,
                          std::vector<uint32_t>* own_rows, bool* similar) const;

  const CollectionRegistry* registry_;
  EngineLimits limits_;
};

}  // namespace simsearch
