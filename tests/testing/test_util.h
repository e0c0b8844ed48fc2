// Helpers shared by the tests: temporary directories, synthetic data, a brute-force
// oracle written independently of the engine, and bundle building.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/catalog.h"
#include "core/manifest.h"
#include "engine/searcher.h"
#include "indexer/hub_cap.h"
#include "indexer/story.h"

namespace simsearch::testing {

// A fresh directory under $TMPDIR, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Join(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The names in `dir` (files and directories, hidden ones included), sorted.
std::vector<std::string> DirEntries(const std::string& dir);

// n x d standard normal values, row-major.
std::vector<float> RandomVectors(uint64_t n, uint64_t d, uint64_t seed);
// n x d points around `clusters` random unit centres (noise sigma), row-major.
std::vector<float> ClusteredVectors(uint64_t n, uint64_t d, int clusters, float sigma,
                                    uint64_t seed);
// Scales each row to unit length.
void NormalizeRows(std::vector<float>* x, uint64_t d);

// Exact top-k by inner product in double precision with a plain loop: the oracle.
// Ties: lower row first. `allowed` nullptr: every row.
std::vector<Neighbor> BruteForceTopK(const std::vector<float>& base, uint64_t d, const float* query,
                                     int k, const std::function<bool(uint32_t)>& allowed = nullptr);

// Writes a catalogue CSV with the columns anime_id,name,english_name,genre,type,episodes,members.
void WriteCatalogCsv(const std::string& path, const std::vector<Item>& items);

// Items 1..n (ids = first + i) with genres and types cycling through small lists.
std::vector<Item> SyntheticItems(const std::vector<int64_t>& ids);

struct BundleSpec {
  std::string collection = "test";
  std::vector<float> vectors;  // n x dims
  uint64_t dims = 0;
  std::vector<int64_t> ids;
  std::vector<Item> items;  // empty: no catalogue
  Metric metric = Metric::kCosine;
  IndexKind kind = IndexKind::kFlat;
  IndexParams params;
  std::string hnsw_library = "hnswlib";  // BuildOptions::hnsw_library
  // Recall calibration (BuildOptions::recall_query_vectors_path, target_recall).
  std::vector<float> recall_query_vectors;
  double target_recall = 0;
  size_t recall_queries = 200;
  // Two-tower data (optional).
  std::vector<float> query_vectors;  // n x dims, rows as `ids`
  std::vector<float> user_vectors;   // users x dims
  std::vector<int64_t> user_ids;
  std::vector<std::pair<int64_t, int64_t>> user_items;  // (user id, item id)
  // Serving options (indexer/indexer.h): "more like this" space and watch-list fold-in.
  bool similar = false;
  float similar_norm_power = 1.0f, similar_shrink = 0.0f;
  bool fold_in = false;
  float fold_in_alpha = 0.01f, fold_in_lambda = 1.0f;
  float fold_in_prior = 0;          // BuildOptions::fold_in_prior
  std::string scan_precision;       // BuildOptions::scan_precision ("f16": a half scan copy)
  std::optional<int> scan_rescore;  // BuildOptions::scan_rescore
  int neighbours = 0;  // precomputed "more like this" per item (0: none; -1: the indexer's default)
  std::optional<StoryOptions> story;  // BuildOptions::story: fused "a story like this" lists
  std::optional<HubCap> hub_cap;      // BuildOptions::hub_cap
  // Where each vector came from: the CSV text of BuildOptions::item_provenance_path
  // ("anime_id,source,viewers\n..."); empty: not recorded.
  std::string provenance_csv;
};
// Writes the inputs into `work_dir` and builds a bundle under `root` with the indexer
// library; returns the version directory. Fails the test on error.
std::string BuildBundleOrDie(const std::string& root, const std::string& work_dir,
                             const BundleSpec& spec);

// Recall of `got` against `truth` (fraction of truth's rows found).
double Recall(const std::vector<Neighbor>& truth, const std::vector<Neighbor>& got);

}  // namespace simsearch::testing
