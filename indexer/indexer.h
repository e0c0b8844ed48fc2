// Builds versioned index bundles from item vectors plus the item catalogue.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/catalog.h"
#include "core/manifest.h"
#include "core/vector_input.h"
#include "indexer/hub_cap.h"
#include "indexer/story.h"
#include "retrieval/fold_in.h"

namespace simsearch {

// Reports progress of a long step: `stage` names it, `fraction` in [0, 1].
using ProgressFn = std::function<void(absl::string_view stage, double fraction)>;

// Most precomputed neighbours per item (--neighbours).
inline constexpr int kMaxNeighbours = 1000;
inline constexpr int kAutoNeighbours = -1;
inline constexpr int kDefaultNeighbours = 100;
// About a minute on one 2-core machine (docs/BENCHMARKS.md): 100k items of 50 dims.
inline constexpr double kNeighboursAutoBudget = 5e11;

struct BuildOptions {
  std::string collection;                  // bundle name, e.g. "genres"
  std::string vectors_path;                // .npy, .fvecs or .csv (id, v1..vn)
  std::string ids_path;                    // ids in row order; not for .csv input
  std::vector<std::string> catalog_paths;  // optional: item metadata (merged in order)
  // Optional two-tower data (e.g. from simsearch-train-ncf):
  std::string query_vectors_path;  // query-side item vectors, same rows as vectors_path
  std::string user_vectors_path;   // user vectors (.npy/.fvecs/.csv), dims as the items
  std::string user_ids_path;       // their ids (not for .csv)
  std::string user_items_path;     // interactions CSV: each user's items, excluded from
                                   // that user's recommendations
  std::string user_listed_path;    // optional, the same format: anime a user listed without
                                   // watching (dropped, plan to watch): excluded from their
                                   // recommendations too, not counted as viewers
  std::string encoder_dir;         // text encoder that made the vectors (simsearch-embed):
                                   // stored in the bundle so the engine encodes text queries
  // "More like this" ranked apart (docs/MODELS.md): candidates x_j / |x_j|^norm_power,
  // shrunk by n_j / (n_j + shrink) with n_j the item's viewers (from user_items_path).
  bool similar = false;
  float similar_norm_power = 1.0f;
  float similar_shrink = 0.0f;
  std::string similar_reason;  // recorded in the manifest
  // Keep the catalogue's synopses in the item metadata (for GetItems and the website's
  // anime pages); they are not sent with search hits.
  bool item_synopses = false;
  // A lexical (BM25) index over texts (retrieval/lexical.h): a CSV with an id column and text
  // columns (joined with spaces); items without a text get an empty one.
  std::string lexical_path;
  std::string lexical_id_column = "anime_id";
  std::vector<std::string> lexical_text_columns = {"synopsis"};
  // Where each vector came from: a CSV with the columns anime_id (or id), source
  // ("learned" or "predicted") and viewers, a row for every vector (simsearch-cold-start
  // predict writes it). Stored per row (item_provenance.i64); the engine tells clients.
  std::string item_provenance_path;
  std::string provenance_method;  // how the predicted vectors were made, for the manifest
  // Watch lists folded in as a user (retrieval/fold_in.h) instead of averaged.
  bool fold_in = false;
  FoldInParams fold_in_params;
  // > 0: folded-in lists are pulled toward the mean user vector with weight
  // fold_in_prior / (liked items) (retrieval/fold_in.h): short lists lean on the typical user.
  // Needs the user vectors.
  float fold_in_prior = 0;
  Metric metric = Metric::kCosine;
  IndexKind index_kind = IndexKind::kFlat;
  IndexParams params;  // 0 = choose a default from the data size
  // Which library builds (and so serves) the hnsw kind: "hnswlib" (engine/
  // hnswlib_searcher.h; 3x faster than FAISS's HNSW on this machine kind,
  // docs/BENCHMARKS.md) or "faiss".
  std::string hnsw_library = "hnswlib";
  // Flat kind: "f16" adds a half-precision copy of the vectors that searches scan first,
  // then score their best scan_rescore x k rows again over the float vectors (half the
  // bytes read per query; the recall is measured and recorded); "f32" or empty: none.
  // scan_rescore unset: kDefaultScanRescore with f16; set without f16 it is refused
  // rather than ignored.
  std::string scan_precision;
  std::optional<int> scan_rescore;
  uint64_t expect_dims = 0;      // 0 = any
  bool drop_missing = false;     // drop ids the catalogue lacks (else error)
  bool skip_bad_rows = false;    // skip catalogue records of the wrong shape (else error)
  std::string out_root;          // ROOT; the bundle goes to ROOT/<collection>/vN
  size_t keep_versions = 5;      // older versions are pruned after publishing
  std::string source;            // recorded in the manifest; default: the paths
  size_t recall_queries = 1000;  // sample size for recall@10 (ANN kinds)
  // Queries for recall@10 (.npy/.fvecs/.csv), e.g. the user vectors that will query the
  // collection; empty: a sample of the collection's own vectors.
  std::string recall_query_vectors_path;
  // IVF: choose nprobe as the smallest reaching this recall@10 on half of the recall
  // queries, and record the recall measured on the other half; 0: nprobe from the rule
  // max(8, nlist / 8) (or --nprobe).
  double target_recall = 0;
  // Precomputed "more like this": each item's exact top `neighbours` (capped at
  // count - 1), stored in the bundle and answered without a search; 0: none.
  // kAutoNeighbours: kDefaultNeighbours when the exact computation (count^2 x dims
  // multiply-adds) fits kNeighboursAutoBudget or `story` / `hub_cap` is set, else none
  // (said in the progress).
  int neighbours = kAutoNeighbours;
  // Set: the neighbours are "a story like this", fused from the embedding, the words,
  // the viewers' collection and genre overlap (indexer/story.h), not the exact lists.
  std::optional<StoryOptions> story;
  // Set: no item in more than this share of the lists' first ranks (indexer/hub_cap.h),
  // each list filled from its top max(200, neighbours) candidates.
  std::optional<HubCap> hub_cap;
  int threads = 0;      // for the neighbours; 0: one per CPU
  uint64_t seed = 42;   // sampling and FAISS training
  ProgressFn progress;  // optional
};

struct BuildResult {
  std::string version;  // e.g. "v000003"
  std::string version_dir;
  Manifest manifest;
  std::vector<int64_t> dropped_ids;       // with drop_missing: ids not in the catalogue
  std::vector<std::string> skipped_rows;  // with skip_bad_rows: "file: line N: why"
  std::vector<std::string> pruned;        // versions removed after publishing
  absl::Status prune_error;               // why pruning failed (the build itself succeeded)
  uint64_t user_items_dropped = 0;        // user-item pairs whose item is not served
};

// Validates everything before writing: on any error nothing is published and the
// staging directory is removed. Errors name the file, the row and the reason.
absl::StatusOr<BuildResult> BuildBundle(const BuildOptions& options);

// Whether BuildBundle has a writer for the bundle part `key` (core/bundle_parts.h): each
// part's files are written by one step, in a table of parts (indexer.cc, kPartWriters).
bool WritesPart(absl::string_view key);

// The `genres` baseline: one multi-hot vector per catalogue item with at least one
// genre, over the sorted genre vocabulary. Items without genres are skipped (a zero
// vector has no cosine); their ids are returned in `skipped`.
struct GenreVectors {
  VectorSet vectors;                    // ids filled
  std::vector<std::string> vocabulary;  // column j is genre vocabulary[j]
  std::vector<int64_t> skipped;
};
GenreVectors MakeGenreVectors(const Catalog& catalog);

}  // namespace simsearch
