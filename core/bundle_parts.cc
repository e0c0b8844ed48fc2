#include "core/bundle_parts.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/bundle.h"
#include "core/item_store.h"
#include "core/manifest_json.h"

namespace simsearch {
namespace {

using json = nlohmann::json;
using Files = std::vector<std::string>;

// "index": the ANN index a kind other than flat is served from, and its parameters.
// The section is always written (kind "flat" with no parameters included).
const BundlePart kIndex = {
    "index",
    [](const Manifest& m) { return m.index_kind != IndexKind::kFlat; },
    [](const Manifest& m) {
      return Files{m.ann_library == "hnswlib" ? kHnswlibIndexFile : kFaissIndexFile};
    },
    [](const Manifest& m, json* root) {
      json params = json::object();
      const IndexParams& p = m.index_params;
      if (m.index_kind == IndexKind::kIvf) {
        params["nlist"] = p.nlist;
        params["nprobe"] = p.nprobe;
      } else if (m.index_kind == IndexKind::kHnsw) {
        params["M"] = p.hnsw_m;
        params["ef_construction"] = p.ef_construction;
        params["ef_search"] = p.ef_search;
      }
      json index = {{"kind", IndexKindName(m.index_kind)}, {"params", params}};
      if (!m.ann_library.empty()) index["library"] = m.ann_library;
      (*root)["index"] = index;
    },
    [](const json& root, JsonFields* in, Manifest* m) {
      const json* index = in->Need(root, "index", json::value_t::object);
      if (index == nullptr) return;
      const json* kind = in->Need(*index, "kind", json::value_t::string);
      const json* params = in->Need(*index, "params", json::value_t::object);
      if (!in->ok()) return;
      auto k = ParseIndexKind(kind->get<std::string>());
      if (!k.ok()) return in->Fail(k.status().message());
      m->index_kind = *k;
      in->Opt(*params, "nlist", &m->index_params.nlist);
      in->Opt(*params, "nprobe", &m->index_params.nprobe);
      in->Opt(*params, "M", &m->index_params.hnsw_m);
      in->Opt(*params, "ef_construction", &m->index_params.ef_construction);
      in->Opt(*params, "ef_search", &m->index_params.ef_search);
      in->Opt(*index, "library", &m->ann_library);
      if (!in->ok() || m->index_kind == IndexKind::kFlat) return;
      if (m->ann_library.empty()) m->ann_library = "faiss";  // before 2026-11-29
      if (m->ann_library != "faiss" &&
          !(m->ann_library == "hnswlib" && m->index_kind == IndexKind::kHnsw)) {
        in->Fail(absl::StrCat("index library '", m->ann_library, "' cannot serve kind ",
                              IndexKindName(m->index_kind), " (faiss: ivf, hnsw; hnswlib: hnsw)"));
      }
    },
};

// "has_items": item metadata as JSON lines, for people and tools; the engine reads it
// only from bundles without the binary item store.
const BundlePart kItems = {
    "has_items",
    [](const Manifest& m) { return m.has_items; },
    [](const Manifest&) { return Files{kItemsFile}; },
    [](const Manifest& m, json* root) { (*root)["has_items"] = m.has_items; },
    [](const json& root, JsonFields* in, Manifest* m) {
      in->Opt(root, "has_items", &m->has_items);
    },
};

// "item_store": item metadata in binary form (core/item_store.h), with the title index
// (engine/title_index.h) when "title_index" is true.
const BundlePart kItemStore = {
    "item_store",
    [](const Manifest& m) { return m.has_item_store; },
    [](const Manifest& m) {
      Files f = {kItemTextFile, kItemTextOffsetsFile, kItemAttrsFile, kItemGenresFile};
      if (m.has_title_index) {
        f.insert(f.end(), {kTitleTextFile, kTitleTextOffsetsFile, kTitleEntriesFile,
                           kTitleTrigramsFile, kTitleTrigramOffsetsFile, kTitleTrigramEntriesFile});
      }
      return f;
    },
    [](const Manifest& m, json* root) {
      (*root)["item_store"] = m.has_item_store ? json{{"genres", m.item_genres},
                                                      {"types", m.item_types},
                                                      {"title_index", m.has_title_index}}
                                               : json(nullptr);
    },
    [](const json& root, JsonFields* in, Manifest* m) {
      const json* s = in->Section(root, "item_store");
      if (s == nullptr) return;
      m->has_item_store = true;
      in->Strings(*s, "genres", "item_store.genres", &m->item_genres);
      in->Strings(*s, "types", "item_store.types", &m->item_types);
      in->Opt(*s, "title_index", &m->has_title_index);
    },
};

// "user_count": the two-tower model's users (vectors, ids, and each user's items).
const BundlePart kUsers = {
    "user_count",
    [](const Manifest& m) { return m.user_count > 0; },
    [](const Manifest&) {
      return Files{kUserVectorsFile, kUserIdsFile, kUserItemsFile, kUserOffsetsFile};
    },
    [](const Manifest& m, json* root) { (*root)["user_count"] = m.user_count; },
    [](const json& root, JsonFields* in, Manifest* m) {
      in->Opt(root, "user_count", &m->user_count);
    },
};

// "has_query_vectors": the items' query-side vectors (an item as the query).
const BundlePart kQueryVectors = {
    "has_query_vectors",
    [](const Manifest& m) { return m.has_query_vectors; },
    [](const Manifest&) { return Files{kQueryVectorsFile}; },
    [](const Manifest& m, json* root) { (*root)["has_query_vectors"] = m.has_query_vectors; },
    [](const json& root, JsonFields* in, Manifest* m) {
      in->Opt(root, "has_query_vectors", &m->has_query_vectors);
    },
};

// "similar": "more like this" candidates apart from the main vectors.
const BundlePart kSimilar = {
    "similar",
    [](const Manifest& m) { return m.has_similar; },
    [](const Manifest&) { return Files{kSimilarVectorsFile}; },
    [](const Manifest& m, json* root) {
      (*root)["similar"] = m.has_similar ? json{{"norm_power", m.similar_norm_power},
                                                {"shrink", m.similar_shrink},
                                                {"reason", m.similar_reason}}
                                         : json(nullptr);
    },
    [](const json& root, JsonFields* in, Manifest* m) {
      const json* s = in->Section(root, "similar");
      if (s == nullptr) return;
      m->has_similar = true;
      in->Opt(*s, "norm_power", &m->similar_norm_power);
      in->Opt(*s, "shrink", &m->similar_shrink);
      in->Opt(*s, "reason", &m->similar_reason);
    },
};

// "scan": a reduced-precision copy of the vectors that a flat bundle's scan reads first.
const BundlePart kScan = {
    "scan",
    [](const Manifest& m) { return !m.scan_precision.empty(); },
    [](const Manifest&) { return Files{kHalfVectorsFile}; },
    [](const Manifest& m, json* root) {
      (*root)["scan"] = m.scan_precision.empty() ? json(nullptr)
                                                 : json{{"precision", m.scan_precision},
                                                        {"rescore", m.scan_rescore},
                                                        {"recall_at_10", m.scan_recall_at_10},
                                                        {"recall_queries", m.scan_recall_queries}};
    },
    [](const json& root, JsonFields* in, Manifest* m) {
      const json* s = in->Section(root, "scan");
      if (s == nullptr) return;
      if (const json* p = in->Need(*s, "precision", json::value_t::string))
        m->scan_precision = p->get<std::string>();
      if (const json* r = in->Need(*s, "rescore", json::value_t::number_unsigned))
        m->scan_rescore = static_cast<int>(std::min<uint64_t>(r->get<uint64_t>(), 1u << 30));
      in->Opt(*s, "recall_at_10", &m->scan_recall_at_10);
      in->Opt(*s, "recall_queries", &m->scan_recall_queries);
      if (!in->ok()) return;
      if (m->scan_precision != "f16") {
        in->Fail(absl::StrCat("scan.precision '", m->scan_precision,
                              "' is not one this build reads (f16); upgrade the engine"));
      } else if (m->scan_rescore < 1 || m->scan_rescore > kMaxScanRescore) {
        in->Fail(absl::StrCat("scan.rescore must be 1-", kMaxScanRescore, ", got ", m->scan_rescore,
                              "; the bundle is damaged: build it again with simsearch-indexer"));
      }
    },
};

// "lexical": the BM25 index over the items' texts (retrieval/lexical.h).
const BundlePart kLexical = {
    "lexical",
    [](const Manifest& m) { return m.has_lexical; },
    [](const Manifest&) {
      return Files{kLexicalTermsFile, kLexicalTermOffsetsFile, kLexicalPostingsFile,
                   kLexicalRowsFile,  kLexicalTfFile,          kLexicalLengthsFile};
    },
    [](const Manifest& m, json* root) {
      (*root)["lexical"] =
          m.has_lexical
              ? json{{"terms", m.lexical_terms},
                     {"source", m.lexical_source},
                     {"average_length", m.lexical_average_length},
                     {"analyzer", "fold case+accents, CJK bigrams, English stop words, S-stemmer"},
                     {"scoring", "BM25 k1=1.2 b=0.75"}}
              : json(nullptr);
    },
    [](const json& root, JsonFields* in, Manifest* m) {
      const json* s = in->Section(root, "lexical");
      if (s == nullptr) return;
      m->has_lexical = true;
      in->Opt(*s, "terms", &m->lexical_terms);
      in->Opt(*s, "average_length", &m->lexical_average_length);
      in->Opt(*s, "source", &m->lexical_source);
    },
};

// "fold_in": watch lists folded in as a user (retrieval/fold_in.h) from Q^T Q.
const BundlePart kFoldIn = {
    "fold_in",
    [](const Manifest& m) { return m.has_fold_in; },
    [](const Manifest&) { return Files{kGramFile}; },
    [](const Manifest& m, json* root) {
      (*root)["fold_in"] = m.has_fold_in ? json{{"alpha", m.fold_in_alpha},
                                                {"lambda", m.fold_in_lambda},
                                                {"prior", m.fold_in_prior}}
                                         : json(nullptr);
    },
    [](const json& root, JsonFields* in, Manifest* m) {
      const json* s = in->Section(root, "fold_in");
      if (s == nullptr) return;
      m->has_fold_in = true;
      in->Opt(*s, "alpha", &m->fold_in_alpha);
      in->Opt(*s, "lambda", &m->fold_in_lambda);
      in->Opt(*s, "prior", &m->fold_in_prior);
      if (!in->ok()) return;
      if (!(m->fold_in_prior >= 0)) return in->Fail("fold_in.prior must be >= 0");
      if (!(m->fold_in_lambda > 0) || !(m->fold_in_alpha >= 0)) {
        return in->Fail("fold_in needs lambda > 0 and alpha >= 0");
      }
      if (m->fold_in_prior > 0 && m->user_count == 0) {
        in->Fail("fold_in.prior needs the user vectors");
      }
    },
};

// "neighbours": each item's precomputed "more like this" list.
const BundlePart kNeighbours = {
    "neighbours",
    [](const Manifest& m) { return m.neighbours_k > 0; },
    [](const Manifest&) {
      return Files{kNeighboursFile, kNeighbourScoresFile};
    },
    [](const Manifest& m, json* root) {
      (*root)["neighbours"] =
          m.neighbours_k > 0 ? json{{"k", m.neighbours_k},
                                    {"seconds", m.neighbours_seconds},
                                    {"fused", !m.neighbours_fusion.empty()},
                                    {"method", m.neighbours_fusion.empty()
                                                   ? "exact, the engine's own item query and scan"
                                                   : m.neighbours_fusion}}
                             : json(nullptr);
    },
    [](const json& root, JsonFields* in, Manifest* m) {
      const json* s = in->Section(root, "neighbours");
      if (s == nullptr) return;
      in->Opt(*s, "k", &m->neighbours_k);
      in->Opt(*s, "seconds", &m->neighbours_seconds);
      bool fused = false;
      in->Opt(*s, "fused", &fused);
      if (fused) {
        in->Opt(*s, "method", &m->neighbours_fusion);
        if (in->ok() && m->neighbours_fusion.empty()) {
          return in->Fail("fused neighbours must say their method");
        }
      }
      if (in->ok() && (m->neighbours_k == 0 || m->neighbours_k >= m->count)) {
        in->Fail(absl::StrCat("neighbours.k must be in 1..count-1, got ", m->neighbours_k));
      }
    },
};

// "provenance": where each item's vector came from (learned or predicted).
const BundlePart kProvenance = {
    "provenance",
    [](const Manifest& m) { return m.has_provenance(); },
    [](const Manifest&) { return Files{kItemProvenanceFile}; },
    [](const Manifest& m, json* root) {
      (*root)["provenance"] = m.has_provenance() ? json{{"learned", m.learned_vectors},
                                                        {"predicted", m.predicted_vectors},
                                                        {"method", m.provenance_method}}
                                                 : json(nullptr);
    },
    [](const json& root, JsonFields* in, Manifest* m) {
      const json* s = in->Section(root, "provenance");
      if (s == nullptr) return;
      in->Opt(*s, "learned", &m->learned_vectors);
      in->Opt(*s, "predicted", &m->predicted_vectors);
      in->Opt(*s, "method", &m->provenance_method);
      if (in->ok() && m->learned_vectors + m->predicted_vectors != m->count) {
        in->Fail(absl::StrCat("provenance counts ", m->learned_vectors, " learned + ",
                              m->predicted_vectors, " predicted vectors, not the bundle's ",
                              m->count));
      }
    },
};

// "encoder": the text encoder that made the vectors, its files under encoder/.
const BundlePart kEncoder = {
    "encoder",
    [](const Manifest& m) { return !m.encoder_kind.empty(); },
    [](const Manifest&) { return Files{std::string(kEncoderDir) + "/"}; },
    [](const Manifest& m, json* root) {
      (*root)["encoder"] = m.encoder_kind.empty() ? json(nullptr)
                                                  : json{{"kind", m.encoder_kind},
                                                         {"description", m.encoder_description}};
    },
    [](const json& root, JsonFields* in, Manifest* m) {
      const json* s = in->Section(root, "encoder");
      if (s == nullptr) return;
      in->Opt(*s, "kind", &m->encoder_kind);
      in->Opt(*s, "description", &m->encoder_description);
      if (in->ok() && m->encoder_kind.empty()) in->Fail("field 'encoder' has no kind");
    },
};

const BundlePart kBundleParts[] = {kIndex,        kItems,      kItemStore,  kUsers,
                                   kQueryVectors, kScan,       kSimilar,    kLexical,
                                   kFoldIn,       kNeighbours, kProvenance, kEncoder};

}  // namespace

absl::Span<const BundlePart> BundleParts() {
  return kBundleParts;
}

const BundlePart* FindBundlePart(absl::string_view key) {
  for (const BundlePart& part : BundleParts()) {
    if (key == part.key) return &part;
  }
  return nullptr;
}

std::vector<std::string> BaseFiles() {
  return {kManifestFile, kVectorsFile, kIdsFile};
}

std::vector<std::string> DeclaredFiles(const Manifest& m) {
  std::vector<std::string> files = BaseFiles();
  for (const BundlePart& part : BundleParts()) {
    if (!part.present(m)) continue;
    for (std::string& f : part.files(m)) files.push_back(std::move(f));
  }
  return files;
}

bool IsDeclared(absl::string_view file, const std::vector<std::string>& declared) {
  return std::any_of(declared.begin(), declared.end(), [&](const std::string& d) {
    return d == file || (absl::EndsWith(d, "/") && absl::StartsWith(file, d));
  });
}

}  // namespace simsearch
