// The manifest of an index bundle (manifest.json): what the bundle holds and how to
// verify it. See docs/FORMAT.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace simsearch {

enum class Metric { kInnerProduct, kCosine };
enum class IndexKind { kFlat, kIvf, kHnsw };

absl::string_view MetricName(Metric m);        // "ip", "cosine"
absl::string_view IndexKindName(IndexKind k);  // "flat", "ivf", "hnsw"
absl::StatusOr<Metric> ParseMetric(absl::string_view s);
absl::StatusOr<IndexKind> ParseIndexKind(absl::string_view s);

// FAISS parameters; zero where they do not apply to the index kind.
struct IndexParams {
  int nlist = 0;            // IVF: inverted lists
  int nprobe = 0;           // IVF: lists searched per query
  int hnsw_m = 0;           // HNSW: neighbours per node
  int ef_construction = 0;  // HNSW: build-time beam
  int ef_search = 0;        // HNSW: query-time beam
};

struct FileDigest {
  std::string name;  // file name inside the bundle directory
  uint64_t bytes = 0;
  std::string xxh3;  // XXH3-64 of the content, 16 lowercase hex digits
};

// The most candidates per wanted row a reduced-precision scan may rescore.
inline constexpr int kMaxScanRescore = 64;
inline constexpr int kDefaultScanRescore = 4;  // simsearch-indexer --scan-rescore

struct Manifest {
  static constexpr int kFormatVersion = 1;

  int format_version = kFormatVersion;
  std::string collection;
  Metric metric = Metric::kCosine;
  uint64_t dims = 0;
  uint64_t count = 0;
  IndexKind index_kind = IndexKind::kFlat;
  IndexParams index_params;
  // The library whose file serves an ANN kind: "faiss" (index.faiss; every ivf bundle,
  // and hnsw bundles from before 2026-11-29, which have no such field) or "hnswlib"
  // (index.hnswlib; hnsw bundles since). Empty for flat.
  std::string ann_library;
  double recall_at_10 = 1.0;    // measured at build time for ANN kinds; 1 for flat
  uint64_t recall_queries = 0;  // sample size behind recall_at_10
  std::string source;           // where the vectors came from (free text)
  std::string built_at;         // RFC 3339 UTC
  std::string builder;          // e.g. "simsearch-indexer 0.1.0"
  bool has_items = false;       // items.jsonl present
  // Item metadata in binary form (core/item_store.h): item_* files present, with the
  // genre and type vocabularies here; and the title index (engine/title_index.h):
  // title_* files present.
  bool has_item_store = false;
  std::vector<std::string> item_genres;
  std::vector<std::string> item_types;
  bool has_title_index = false;
  // Two-tower data (e.g. NCF): vectors of users, each user's items, and query-side
  // vectors of the items (used when an item, rather than a user, is the query).
  uint64_t user_count = 0;         // > 0: user_vectors.f32, user_ids.i64, user_items.i64,
                                   // user_offsets.i64 present
  bool has_query_vectors = false;  // query_vectors.f32 present
  // A reduced-precision copy of the vectors that the scan reads first (flat bundles):
  // "f16" (vectors.f16, IEEE halves), or empty for none. The best scan_rescore x k
  // rows of that scan are scored again over vectors.f32 (engine/exact_searcher.h,
  // HalfScanSearcher); scan_recall_at_10 is the answer's recall@10 against the float
  // scan, measured at build time on scan_recall_queries queries.
  std::string scan_precision;
  int scan_rescore = 0;
  double scan_recall_at_10 = 0;
  uint64_t scan_recall_queries = 0;
  // "More like this" ranked apart from the main vectors (docs/MODELS.md): candidates
  // are similar_vectors.f32 rows, x_j * n_j / (n_j + similar_shrink) / |x_j|^p with n_j
  // the item's viewers and p = similar_norm_power; the query is the item's query-side
  // vector. Absent (has_similar false): the main vectors and metric.
  bool has_similar = false;
  float similar_norm_power = 0;
  float similar_shrink = 0;
  std::string similar_reason;  // why (the evaluation it came from), free text
  // Watch lists folded in as a user (retrieval/fold_in.h) instead of averaged: gram.f32 holds
  // Q^T Q of the query-side vectors. Absent (has_fold_in false): the mean.
  // A lexical index (retrieval/lexical.h) over the items' texts: lexical_* files present.
  bool has_lexical = false;
  uint64_t lexical_terms = 0;
  double lexical_average_length = 0;  // mean text length in tokens (BM25); 0: not recorded
  std::string lexical_source;         // what texts it indexes
  bool has_fold_in = false;
  float fold_in_alpha = 0;
  float fold_in_lambda = 0;
  // > 0: a folded-in list is also pulled toward the mean user vector, with weight
  // fold_in_prior / (liked items) (retrieval/fold_in.h); needs the user vectors.
  float fold_in_prior = 0;
  // The text encoder that made the vectors, stored under encoder/ (empty: none).
  std::string encoder_kind;  // "bert" or "sif"
  std::string encoder_description;
  // Precomputed "more like this": each item's exact top-`neighbours_k` (the item itself
  // excluded), rows in neighbours.u32 and scores in neighbour_scores.f32 (docs/FORMAT.md).
  // 0: none.
  uint64_t neighbours_k = 0;
  double neighbours_seconds = 0;  // what computing them took at build time
  // Empty: the lists are the exact item query's. Else they were fused from several
  // signals at build time ("a story like this", indexer/story.h) and this says how
  // (manifest "neighbours": {"fused": true, "method": ...}); the engine answers from a
  // fused list first and fills what it lacks from the search.
  std::string neighbours_fusion;
  // Where each item's vector came from (item_provenance.i64, N x 2: source and viewers;
  // docs/FORMAT.md): learned from its viewers, or predicted from its content (cold
  // start: models/ncf/cold_start.h). Both 0: not recorded.
  uint64_t learned_vectors = 0;
  uint64_t predicted_vectors = 0;
  std::string provenance_method;  // how the predicted ones were made (free text)
  bool has_provenance() const { return learned_vectors + predicted_vectors > 0; }
  std::vector<FileDigest> files;
};

std::string SerializeManifest(const Manifest& m);
// `origin` names the file in error messages.
absl::StatusOr<Manifest> ParseManifest(absl::string_view json, absl::string_view origin);

}  // namespace simsearch
