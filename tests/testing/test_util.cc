#include "tests/testing/test_util.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/file_util.h"
#include "core/npy.h"
#include "indexer/indexer.h"

namespace simsearch::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base ? base : "/tmp") + "/simsearch-test-XXXXXX";
  char* p = ::mkdtemp(tmpl.data());
  if (p == nullptr) std::abort();
  path_ = p;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::vector<std::string> DirEntries(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<float> RandomVectors(uint64_t n, uint64_t d, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g;
  std::vector<float> x(n * d);
  for (float& v : x) v = g(rng);
  return x;
}

void NormalizeRows(std::vector<float>* x, uint64_t d) {
  for (size_t i = 0; i < x->size() / d; ++i) {
    double s = 0;
    for (uint64_t j = 0; j < d; ++j) s += double{(*x)[i * d + j]} * (*x)[i * d + j];
    const double n = std::sqrt(s);
    for (uint64_t j = 0; j < d; ++j) (*x)[i * d + j] = static_cast<float>((*x)[i * d + j] / n);
  }
}

std::vector<float> ClusteredVectors(uint64_t n, uint64_t d, int clusters, float sigma,
                                    uint64_t seed) {
  std::vector<float> centres = RandomVectors(static_cast<uint64_t>(clusters), d, seed);
  NormalizeRows(&centres, d);
  std::mt19937_64 rng(seed + 1);
  std::normal_distribution<float> g(0, sigma);
  std::uniform_int_distribution<int> pick(0, clusters - 1);
  std::vector<float> x(n * d);
  for (uint64_t i = 0; i < n; ++i) {
    const int c = pick(rng);
    for (uint64_t j = 0; j < d; ++j) x[i * d + j] = centres[c * d + j] + g(rng);
  }
  return x;
}

std::vector<Neighbor> BruteForceTopK(const std::vector<float>& base, uint64_t d, const float* query,
                                     int k, const std::function<bool(uint32_t)>& allowed) {
  std::vector<std::pair<double, uint32_t>> all;
  const uint64_t n = base.size() / d;
  for (uint64_t r = 0; r < n; ++r) {
    if (allowed && !allowed(static_cast<uint32_t>(r))) continue;
    double s = 0;
    for (uint64_t j = 0; j < d; ++j) s += double{base[r * d + j]} * query[j];
    all.emplace_back(s, static_cast<uint32_t>(r));
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  });
  std::vector<Neighbor> out;
  for (size_t i = 0; i < all.size() && i < static_cast<size_t>(k); ++i) {
    out.push_back({all[i].second, static_cast<float>(all[i].first)});
  }
  return out;
}

void WriteCatalogCsv(const std::string& path, const std::vector<Item>& items) {
  std::ofstream f(path);
  f << "anime_id,name,english_name,genre,type,episodes,members,age_rating,nsfw,related,score,"
       "start_date,studios,image_url\n";
  auto quote = [](const std::string& s) {
    std::string q = "\"";
    for (char c : s) {
      if (c == '"') q += '"';
      q += c;
    }
    return q + "\"";
  };
  for (const Item& it : items) {
    std::string genres;
    for (size_t i = 0; i < it.genres.size(); ++i) genres += (i ? ", " : "") + it.genres[i];
    f << it.id << "," << quote(it.title) << "," << quote(it.english_title) << "," << quote(genres)
      << "," << it.type << "," << it.episodes << "," << it.members << "," << it.age_rating << ","
      << it.nsfw << ",";
    for (size_t i = 0; i < it.related.size(); ++i) f << (i ? " " : "") << it.related[i];
    std::string studios;
    for (size_t i = 0; i < it.studios.size(); ++i) studios += (i ? ", " : "") + it.studios[i];
    f << "," << (it.mal_score > 0 ? std::to_string(it.mal_score) : "") << "," << it.start_date
      << "," << quote(studios) << "," << quote(it.image_url) << "\n";
  }
}

std::vector<Item> SyntheticItems(const std::vector<int64_t>& ids) {
  static const std::vector<std::vector<std::string>> kGenres = {
      {"Action", "Sci-Fi"}, {"Comedy"}, {"Drama", "Romance"}, {"Action", "Comedy"}, {"Horror"}};
  static const std::vector<std::string> kTypes = {"TV", "Movie", "OVA"};
  std::vector<Item> items;
  for (size_t i = 0; i < ids.size(); ++i) {
    Item it;
    it.id = ids[i];
    it.title = "Title " + std::to_string(ids[i]);
    it.genres = kGenres[i % kGenres.size()];
    it.type = kTypes[i % kTypes.size()];
    it.episodes = static_cast<int32_t>(i % 30 + 1);
    it.members = static_cast<int64_t>(1000 + i);
    items.push_back(it);
  }
  return items;
}

std::string BuildBundleOrDie(const std::string& root, const std::string& work_dir,
                             const BundleSpec& spec) {
  const uint64_t n = spec.ids.size();
  BuildOptions o;
  o.collection = spec.collection;
  o.vectors_path = work_dir + "/" + spec.collection + "_vectors.npy";
  o.ids_path = work_dir + "/" + spec.collection + "_ids.npy";
  EXPECT_TRUE(WriteNpyFloat32(o.vectors_path, spec.vectors.data(), n, spec.dims).ok());
  EXPECT_TRUE(WriteNpyInt64(o.ids_path, spec.ids.data(), n).ok());
  if (!spec.items.empty()) {
    o.catalog_paths = {work_dir + "/" + spec.collection + "_catalog.csv"};
    WriteCatalogCsv(o.catalog_paths[0], spec.items);
  }
  if (!spec.query_vectors.empty()) {
    o.query_vectors_path = work_dir + "/" + spec.collection + "_query.npy";
    EXPECT_TRUE(
        WriteNpyFloat32(o.query_vectors_path, spec.query_vectors.data(), n, spec.dims).ok());
  }
  if (!spec.user_ids.empty()) {
    o.user_vectors_path = work_dir + "/" + spec.collection + "_users.npy";
    o.user_ids_path = work_dir + "/" + spec.collection + "_user_ids.npy";
    o.user_items_path = work_dir + "/" + spec.collection + "_user_items.csv";
    EXPECT_TRUE(WriteNpyFloat32(o.user_vectors_path, spec.user_vectors.data(), spec.user_ids.size(),
                                spec.dims)
                    .ok());
    EXPECT_TRUE(WriteNpyInt64(o.user_ids_path, spec.user_ids.data(), spec.user_ids.size()).ok());
    std::ofstream f(o.user_items_path);
    f << "user_id,item_id\n";
    for (const auto& [u, i] : spec.user_items) f << u << "," << i << "\n";
  }
  o.neighbours = spec.neighbours;
  o.scan_precision = spec.scan_precision;
  o.scan_rescore = spec.scan_rescore;
  o.story = spec.story;
  o.hub_cap = spec.hub_cap;
  if (!spec.provenance_csv.empty()) {
    o.item_provenance_path = work_dir + "/" + spec.collection + "_provenance.csv";
    EXPECT_TRUE(WriteStringToFile(o.item_provenance_path, spec.provenance_csv).ok());
  }
  o.threads = 2;
  o.similar = spec.similar;
  o.similar_norm_power = spec.similar_norm_power;
  o.similar_shrink = spec.similar_shrink;
  o.fold_in = spec.fold_in;
  o.fold_in_params = {spec.fold_in_alpha, spec.fold_in_lambda};
  o.fold_in_prior = spec.fold_in_prior;
  o.metric = spec.metric;
  o.index_kind = spec.kind;
  o.params = spec.params;
  o.out_root = root;
  o.keep_versions = 0;
  o.recall_queries = spec.recall_queries;
  o.target_recall = spec.target_recall;
  o.hnsw_library = spec.hnsw_library;
  if (!spec.recall_query_vectors.empty()) {
    o.recall_query_vectors_path = work_dir + "/" + spec.collection + "_recall_queries.npy";
    EXPECT_TRUE(WriteNpyFloat32(o.recall_query_vectors_path, spec.recall_query_vectors.data(),
                                spec.recall_query_vectors.size() / spec.dims, spec.dims)
                    .ok());
  }
  auto r = BuildBundle(o);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? r->version_dir : "";
}

double Recall(const std::vector<Neighbor>& truth, const std::vector<Neighbor>& got) {
  if (truth.empty()) return 1.0;
  size_t found = 0;
  for (const Neighbor& t : truth) {
    found += std::any_of(got.begin(), got.end(), [&](const Neighbor& g) { return g.row == t.row; });
  }
  return static_cast<double>(found) / static_cast<double>(truth.size());
}

}  // namespace simsearch::testing
