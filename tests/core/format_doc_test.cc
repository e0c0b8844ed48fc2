// docs/FORMAT.md names every manifest key and every bundle file the code knows: a key
// or file added to the code without its documentation fails here.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "core/manifest.h"

#ifndef SIMSEARCH_SOURCE_DIR
#error "SIMSEARCH_SOURCE_DIR must name the repository"
#endif

namespace simsearch {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void CollectKeys(const nlohmann::json& j, const std::string& path, std::set<std::string>* keys) {
  if (j.is_object()) {
    for (const auto& [key, value] : j.items()) {
      keys->insert(key);
      CollectKeys(value, path + "." + key, keys);
    }
  } else if (j.is_array()) {
    for (const auto& value : j) CollectKeys(value, path + "[]", keys);
  }
}

// A manifest with every optional part present, so every key is written.
Manifest EveryPart() {
  Manifest m;
  m.collection = "all";
  m.dims = 4;
  m.count = 2;
  m.index_kind = IndexKind::kHnsw;
  m.ann_library = "hnswlib";
  m.has_items = m.has_item_store = m.has_title_index = m.has_query_vectors = true;
  m.has_similar = m.has_lexical = m.has_fold_in = true;
  m.encoder_kind = "sif";
  m.neighbours_k = 10;
  m.neighbours_fusion = "fused";
  m.learned_vectors = 1;
  m.predicted_vectors = 1;
  m.user_count = 1;
  m.files.push_back({"vectors.f32", 32, "0123456789abcdef"});
  return m;
}

TEST(FormatDoc, EveryManifestKeyIsDocumented) {
  const std::string doc = ReadAll(fs::path(SIMSEARCH_SOURCE_DIR) / "docs" / "FORMAT.md");
  ASSERT_FALSE(doc.empty());
  std::set<std::string> keys;
  CollectKeys(nlohmann::json::parse(SerializeManifest(EveryPart())), "", &keys);
  Manifest ivf = EveryPart();  // the IVF kind writes its own index params
  ivf.index_kind = IndexKind::kIvf;
  ivf.ann_library = "faiss";
  CollectKeys(nlohmann::json::parse(SerializeManifest(ivf)), "", &keys);
  EXPECT_TRUE(keys.count("nlist") && keys.count("nprobe") && keys.count("ef_search"))
      << "both ANN kinds' params are collected";
  ASSERT_GT(keys.size(), 30u) << "the manifest with every part writes its optional keys";
  for (const std::string& key : keys) {
    EXPECT_TRUE(doc.find("\"" + key + "\"") != std::string::npos ||
                doc.find("`" + key + "`") != std::string::npos)
        << "manifest key \"" << key << "\" is not in docs/FORMAT.md (as \"" << key << "\" or `"
        << key << "`)";
  }
}

// Every file name constant (kSomethingFile / kSomethingDir) in the libraries that write
// or read bundles.
TEST(FormatDoc, EveryBundleFileIsDocumented) {
  const fs::path root(SIMSEARCH_SOURCE_DIR);
  const std::string doc = ReadAll(root / "docs" / "FORMAT.md");
  const std::regex constant(R"re(constexpr char k\w+(File|Dir)\[\] = "([^"]+)")re");
  std::set<std::string> names;
  for (const char* folder : {"core", "retrieval", "engine", "server", "indexer", "models"}) {
    for (const auto& entry : fs::recursive_directory_iterator(root / folder)) {
      if (entry.path().extension() != ".h") continue;
      const std::string text = ReadAll(entry.path());
      for (std::sregex_iterator it(text.begin(), text.end(), constant), end; it != end; ++it) {
        names.insert((*it)[2].str());
      }
    }
  }
  EXPECT_THAT(names, ::testing::IsSupersetOf({"manifest.json", "vectors.f32", "gram.f32",
                                              "similar_vectors.f32", "item_attrs.i64",
                                              "lexical_postings.i64", "encoder"}))
      << "the scan finds the constants";
  for (const std::string& name : names) {
    EXPECT_NE(doc.find(name), std::string::npos)
        << "bundle file " << name << " is not in docs/FORMAT.md";
  }
}

}  // namespace
}  // namespace simsearch
