// One opened version of a collection: its manifest, memory-mapped vectors and ids, item
// metadata, filters' vocabularies, title index and searcher. Immutable once opened, so
// any number of threads may search it; a reload opens a new Collection beside it.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "core/array_file.h"
#include "core/bundle.h"
#include "core/catalog.h"
#include "core/item_store.h"
#include "core/manifest.h"
#include "core/query.h"
#include "engine/exact_searcher.h"
#include "engine/searcher.h"
#include "engine/title_index.h"
#include "models/text/encoder.h"
#include "retrieval/fold_in.h"
#include "retrieval/lexical.h"

namespace simsearch {

class Collection;

// A FilterSpec resolved against one collection version.
class CompiledFilter final : public RowFilter {
 public:
  bool Allows(uint32_t row) const override;
  // True when every row passes.
  bool empty() const { return excluded_.empty() && exclusions_only(); }
  // True when only id exclusions apply (counting allowed rows is then free).
  bool exclusions_only() const {
    return genre_mask_.empty() && type_allowed_.empty() && genre_exclude_mask_.empty() &&
           type_excluded_.empty() && max_content_ == ContentLevel::kAdult &&
           min_content_ == ContentLevel::kGeneral && franchises_.empty() &&
           exclude_franchises_.empty() && facts_empty();
  }
  void Exclude(uint32_t row) { excluded_.insert(row); }
  bool dates_empty() const { return min_start_ == 0 && max_start_ == 0 && season_mask_ == 0; }
  // True when no condition on the items' facts (start date, members, age rating) applies.
  bool facts_empty() const {
    return min_start_ == 0 && max_start_ == 0 && season_mask_ == 0 && min_members_ == 0 &&
           max_age_ == 0;
  }
  size_t excluded_count() const { return excluded_.size(); }

 private:
  friend class Collection;
  friend absl::Status CompileFacts(const FilterSpec& spec, CompiledFilter* f);
  const Collection* collection_ = nullptr;
  absl::flat_hash_set<uint32_t> excluded_;
  std::vector<uint64_t> genre_mask_;                   // bit g set: genre g accepted
  std::vector<bool> type_allowed_;                     // by type index (0 = unknown type)
  std::vector<uint64_t> genre_exclude_mask_;           // bit g set: genre g refused
  std::vector<bool> type_excluded_;                    // by type index
  ContentLevel max_content_ = ContentLevel::kAdult;    // kAdult: no limit
  ContentLevel min_content_ = ContentLevel::kGeneral;  // kGeneral: no limit
  absl::flat_hash_set<int64_t> franchises_;            // non-empty: keep only these
  absl::flat_hash_set<int64_t> exclude_franchises_;
  int64_t min_start_ = 0, max_start_ = 0;  // start codes (StartCode), inclusive; 0: no bound
  unsigned season_mask_ = 0;               // bit s set: season s (SeasonOfStart) accepted
  int64_t min_members_ = 0;                // 0: no bound
  int64_t max_age_ = 0;                    // AgeRatingCode; 0: no bound
};

struct CollectionOptions {
  VerifyMode verify = VerifyMode::kChecksums;
};

class Collection {
 public:
  // Opens and verifies ROOT/<name>/<version>. Errors name the file and the problem.
  static absl::StatusOr<std::unique_ptr<Collection>> Open(const std::string& version_dir,
                                                          const CollectionOptions& options);
  // Whether Open knows how to open the bundle part `key` (core/bundle_parts.h).
  static bool OpensPart(absl::string_view key);

  const Manifest& manifest() const { return manifest_; }
  const std::string& name() const { return manifest_.collection; }
  const std::string& version() const { return version_; }
  const std::string& dir() const { return dir_; }
  absl::Time loaded_at() const { return loaded_at_; }
  uint64_t count() const { return vectors_.count(); }
  uint64_t dims() const { return vectors_.dims(); }
  bool cosine() const { return manifest_.metric == Metric::kCosine; }

  int64_t id(uint32_t row) const { return ids_.int64s()[row]; }
  const float* vector(uint32_t row) const { return vectors_.row(row); }
  // The vector to search with when this item is (part of) the query: the query-side
  // vector of two-tower bundles, else the item's own vector.
  const float* query_vector(uint32_t row) const {
    return has_query_vectors_ ? query_vectors_.row(row) : vectors_.row(row);
  }

  // Users (two-tower bundles only; user_count() == 0 otherwise).
  uint64_t user_count() const { return manifest_.user_count; }
  // NotFound naming the collection when `user_id` has no vector here;
  // FailedPrecondition when the collection has no users at all.
  absl::StatusOr<uint32_t> UserRowOf(int64_t user_id) const;
  const float* user_vector(uint32_t user_row) const { return user_vectors_.row(user_row); }
  // Item ids the user interacted with (sorted).
  std::pair<const int64_t*, const int64_t*> user_items(uint32_t user_row) const {
    const int64_t* off = user_offsets_.int64s();
    return {user_items_.int64s() + off[user_row], user_items_.int64s() + off[user_row + 1]};
  }
  // Metadata of a row, read in place; an empty view when the bundle has no metadata.
  ItemView item(uint32_t row) const { return items_ ? items_->view(row) : ItemView(); }
  bool has_items() const { return items_.has_value(); }
  const ItemStore* item_store() const { return items_ ? &*items_ : nullptr; }
  // Where a row's vector came from (manifest "provenance", item_provenance.i64): learned
  // from `viewers` viewers, or predicted from the item's content. nullopt when the
  // bundle does not say.
  struct Provenance {
    bool predicted = false;
    int64_t viewers = 0;
  };
  std::optional<Provenance> provenance(uint32_t row) const {
    if (provenance_.count() == 0) return std::nullopt;
    const int64_t* p = provenance_.int64s() + uint64_t{row} * 2;
    return Provenance{p[0] == kVectorPredicted, p[1]};
  }
  // Binary search over the sorted ids. NotFound naming the collection when `id` is not
  // in it.
  absl::StatusOr<uint32_t> RowOf(int64_t id) const;

  // Genre and type names filters accept, sorted.
  const std::vector<std::string>& genres() const { return items_ ? items_->genres() : kNoNames; }
  const std::vector<std::string>& types() const { return items_ ? items_->types() : kNoNames; }

  // Resolves names and ids; an unknown genre or type is InvalidArgument listing the
  // known ones.
  absl::StatusOr<CompiledFilter> CompileFilter(const FilterSpec& spec) const;

  // Top-k for n queries (queries: size n*dims, already normalised on cosine
  // collections). Exact collections scan the mapped vectors. ANN collections use
  // FAISS, except for very selective filters (then the allowed rows are scanned
  // exactly) or when FAISS returns fewer hits than the filter allows (then the query
  // is answered exactly).
  // `params`: k, deadline, the index's effort (ef, nprobe) and `exact` (the scan
  // whatever the index kind); its filter is `filter`'s.
  absl::Status Search(const float* queries, size_t n, SearchParams params,
                      const CompiledFilter* filter,
                      std::vector<std::vector<Neighbor>>* results) const;
  // The same with the index's defaults.
  absl::Status Search(const float* queries, size_t n, int k, const CompiledFilter* filter,
                      absl::Time deadline, std::vector<std::vector<Neighbor>>* results) const;

  // Precomputed "more like this" (manifest "neighbours"): the exact top neighbours_k()
  // of each item, best first (rows and scores), the item itself excluded. 0: none.
  uint64_t neighbours_k() const { return manifest_.neighbours_k; }
  const uint32_t* neighbour_rows(uint32_t row) const {
    return neighbours_.uint32s() + uint64_t{row} * neighbours_k();
  }
  const float* neighbour_scores(uint32_t row) const {
    return neighbour_scores_.floats() + uint64_t{row} * neighbours_k();
  }

  // "More like this" ranked apart (manifest "similar"; docs/MODELS.md): exact top-k over
  // similar_vectors.f32 for queries of that space. Only when has_similar().
  bool has_similar() const { return similar_exact_ != nullptr; }
  // Whether Search answers every query with a scan (no ANN index, or `exact`), and so
  // honours SearchParams::exclude.
  bool ScansEveryQuery(const SearchParams& params) const { return ann_ == nullptr || params.exact; }
  // `exclude`: as SearchParams::exclude (the similar space is always scanned).
  absl::Status SearchSimilar(const float* queries, size_t n, int k, const CompiledFilter* filter,
                             absl::Time deadline, std::vector<std::vector<Neighbor>>* results,
                             const std::vector<std::vector<uint32_t>>* exclude = nullptr) const;
  // Watch lists folded in as a user (retrieval/fold_in.h): the Gram matrix (dims x dims) of the
  // query-side vectors and the parameters; gram() is nullptr without ("fold_in" absent).
  const float* gram() const { return manifest_.has_fold_in ? gram_.floats() : nullptr; }
  FoldInParams fold_in() const { return {manifest_.fold_in_alpha, manifest_.fold_in_lambda}; }
  // The fold-in prior (manifest fold_in.prior > 0): the mean user vector, and its weight
  // MU (divided by the list's liked items at query time); nullptr and 0 without.
  const float* fold_in_prior_vector() const {
    return fold_in_prior_.empty() ? nullptr : fold_in_prior_.data();
  }
  float fold_in_prior() const { return fold_in_prior_.empty() ? 0.0f : manifest_.fold_in_prior; }

  // The collection's text encoder, or nullptr.
  const text::SentenceEncoder* encoder() const { return encoder_.get(); }
  // Encodes one text query with the collection's encoder (which must exist), through a
  // cache of recent distinct texts: a sentence encoder costs milliseconds per query
  // (USE-lite 3 ms, docs/MODELS.md), a repeated query a hash lookup. The cache holds at
  // most kTextCacheSize texts in two generations of half that: new texts go into the
  // young one; when it is full it becomes the old one and the previous old one is
  // dropped; a hit in the old generation moves the text back into the young. So a text
  // asked for again within the last kTextCacheSize / 2 new texts is never re-encoded,
  // and a popular one stays however many others pass (an LRU's behaviour, without its
  // list). It lives and dies with this version, so a reload never serves another
  // encoder's vectors.
  static constexpr size_t kTextCacheSize = 4096;
  absl::Status EncodeText(const std::string& text, std::vector<float>* out) const;
  struct TextCacheStats {
    uint64_t hits = 0, misses = 0;  // EncodeText calls answered from the cache, or not
    size_t entries = 0;
  };
  TextCacheStats text_cache_stats() const;
  // The collection's lexical (BM25) index over its items' texts, or nullptr.
  const LexicalIndex* lexical() const { return lexical_ ? &*lexical_ : nullptr; }

  // Title lookup over the item metadata (empty without metadata).
  std::vector<TitleMatch> LookupTitle(absl::string_view query, size_t top_k) const;

  // Unavailable naming the file when a read through one of this version's mappings
  // faulted because the file shrank on disk (core/mapped_file.h): whatever was read
  // since may be zeros, so the caller discards its answer. One atomic load while no
  // mapping in the process has ever faulted.
  absl::Status CheckIntact() const;
  // CheckIntact, and every file of the manifest still has its recorded size (one
  // stat per file). The registry calls it on every refresh.
  absl::Status CheckIntegrity() const;

 private:
  friend class CompiledFilter;
  Collection() = default;
  static const std::vector<std::string> kNoNames;
  // Opening: the base (vectors, ids, the exact searcher), then one opener per bundle
  // part the manifest names (core/bundle_parts.h), each checking its files' shapes.
  struct PartOpener;
  static absl::Span<const PartOpener> PartOpeners();
  std::string PathOf(const char* file) const;
  // A matrix file that must be `count` x `dims`; else DataLoss naming the file, then
  // `mismatch`.
  absl::StatusOr<MappedArray> OpenMatrix(const char* file, ArrayDType dtype, uint64_t count,
                                         uint64_t dims, absl::string_view mismatch) const;
  absl::Status OpenBase();
  absl::Status OpenAnn(const CollectionOptions& options);
  absl::Status OpenItemsJson(const CollectionOptions& options);
  absl::Status OpenItemStore(const CollectionOptions& options);
  absl::Status OpenUsers(const CollectionOptions& options);
  absl::Status OpenQueryVectors(const CollectionOptions& options);
  absl::Status OpenSimilar(const CollectionOptions& options);
  absl::Status OpenScan(const CollectionOptions& options);
  absl::Status OpenLexical(const CollectionOptions& options);
  absl::Status OpenFoldIn(const CollectionOptions& options);
  absl::Status OpenNeighbours(const CollectionOptions& options);
  absl::Status OpenProvenance(const CollectionOptions& options);
  absl::Status OpenEncoder(const CollectionOptions& options);

  Manifest manifest_;
  std::string dir_;
  std::string version_;
  absl::Time loaded_at_;
  MappedArray vectors_;
  MappedArray ids_;
  bool has_query_vectors_ = false;
  MappedArray query_vectors_;
  MappedArray user_vectors_, user_ids_, user_offsets_, user_items_;
  std::optional<ItemStore> items_;  // mapped (item_* files), or built from items.jsonl
  std::unique_ptr<ExactSearcher> exact_;
  // With a "scan" part: the scan over vectors.f16 that answers searches not asked to be
  // exact (flat bundles only); null without.
  MappedArray half_vectors_;
  std::unique_ptr<HalfScanSearcher> half_scan_;
  MappedArray similar_vectors_;
  MappedArray neighbours_, neighbour_scores_;     // with manifest "neighbours"
  std::unique_ptr<ExactSearcher> similar_exact_;  // null without "similar"
  MappedArray gram_;
  MappedArray provenance_;            // with manifest "provenance"
  std::vector<float> fold_in_prior_;  // mean user vector, with manifest fold_in.prior > 0
  std::unique_ptr<Searcher> ann_;     // null for flat collections
  // Mapped (title_* files). Bundles from before the binary form build it on the first
  // lookup instead, so that opening them stays cheap.
  std::optional<TitleIndex> titles_;
  mutable std::once_flag titles_once_;
  mutable std::optional<TitleIndex> built_titles_;
  std::unique_ptr<text::SentenceEncoder> encoder_;
  mutable absl::Mutex text_cache_mu_;
  using TextCache = absl::flat_hash_map<std::string, std::vector<float>>;
  mutable TextCache text_young_ ABSL_GUARDED_BY(text_cache_mu_);
  mutable TextCache text_old_ ABSL_GUARDED_BY(text_cache_mu_);
  mutable TextCacheStats text_stats_ ABSL_GUARDED_BY(text_cache_mu_);
  // Puts `text` into the young generation, turning it old first if it is full.
  void CacheText(std::string text, std::vector<float> vector) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(text_cache_mu_);
  std::optional<LexicalIndex> lexical_;
};

}  // namespace simsearch
