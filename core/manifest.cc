#include "core/manifest.h"

#include <type_traits>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace simsearch {

using json = nlohmann::json;

absl::string_view MetricName(Metric m) {
  return m == Metric::kCosine ? "cosine" : "ip";
}

absl::string_view IndexKindName(IndexKind k) {
  switch (k) {
    case IndexKind::kFlat:
      return "flat";
    case IndexKind::kIvf:
      return "ivf";
    case IndexKind::kHnsw:
      return "hnsw";
  }
  return "flat";
}

absl::StatusOr<Metric> ParseMetric(absl::string_view s) {
  if (s == "cosine") return Metric::kCosine;
  if (s == "ip") return Metric::kInnerProduct;
  return absl::InvalidArgumentError(absl::StrCat("unknown metric '", s, "'; use cosine or ip"));
}

absl::StatusOr<IndexKind> ParseIndexKind(absl::string_view s) {
  if (s == "flat") return IndexKind::kFlat;
  if (s == "ivf") return IndexKind::kIvf;
  if (s == "hnsw") return IndexKind::kHnsw;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown index kind '", s, "'; use flat, ivf or hnsw"));
}

std::string SerializeManifest(const Manifest& m) {
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
  json files = json::array();
  for (const FileDigest& f : m.files) {
    files.push_back({{"name", f.name}, {"bytes", f.bytes}, {"xxh3", f.xxh3}});
  }
  json j = {
      {"format_version", m.format_version},
      {"collection", m.collection},
      {"metric", MetricName(m.metric)},
      {"dims", m.dims},
      {"count", m.count},
      {"index", m.ann_library.empty()
                    ? json{{"kind", IndexKindName(m.index_kind)}, {"params", params}}
                    : json{{"kind", IndexKindName(m.index_kind)},
                           {"library", m.ann_library},
                           {"params", params}}},
      {"recall_at_10", m.recall_at_10},
      {"recall_queries", m.recall_queries},
      {"source", m.source},
      {"built_at", m.built_at},
      {"builder", m.builder},
      {"has_items", m.has_items},
      {"item_store", m.has_item_store ? json{{"genres", m.item_genres},
                                             {"types", m.item_types},
                                             {"title_index", m.has_title_index}}
                                      : json(nullptr)},
      {"user_count", m.user_count},
      {"has_query_vectors", m.has_query_vectors},
      {"similar", m.has_similar ? json{{"norm_power", m.similar_norm_power},
                                       {"shrink", m.similar_shrink},
                                       {"reason", m.similar_reason}}
                                : json(nullptr)},
      {"lexical", m.has_lexical ? json{{"terms", m.lexical_terms},
                                       {"source", m.lexical_source},
                                       {"average_length", m.lexical_average_length},
                                       {"analyzer",
                                        "fold case+accents, CJK bigrams, English stop words, "
                                        "S-stemmer"},
                                       {"scoring", "BM25 k1=1.2 b=0.75"}}
                                : json(nullptr)},
      {"fold_in", m.has_fold_in ? json{{"alpha", m.fold_in_alpha},
                                       {"lambda", m.fold_in_lambda},
                                       {"prior", m.fold_in_prior}}
                                : json(nullptr)},
      {"encoder", m.encoder_kind.empty()
                      ? json(nullptr)
                      : json{{"kind", m.encoder_kind}, {"description", m.encoder_description}}},
      {"neighbours", m.neighbours_k > 0
                         ? json{{"k", m.neighbours_k},
                                {"seconds", m.neighbours_seconds},
                                {"fused", !m.neighbours_fusion.empty()},
                                {"method", m.neighbours_fusion.empty()
                                               ? "exact, the engine's own item query and scan"
                                               : m.neighbours_fusion}}
                         : json(nullptr)},
      {"provenance", m.has_provenance() ? json{{"learned", m.learned_vectors},
                                               {"predicted", m.predicted_vectors},
                                               {"method", m.provenance_method}}
                                        : json(nullptr)},
      {"files", files},
  };
  return j.dump(2) + "\n";
}

absl::StatusOr<Manifest> ParseManifest(absl::string_view text, absl::string_view origin) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::DataLossError(absl::StrCat(origin, ": not valid JSON"));
  }
  // Reads without exceptions: a missing or mistyped field is an error naming it.
  std::string error;
  auto need = [&](const json& obj, const char* key, json::value_t type) -> const json* {
    if (!error.empty()) return nullptr;
    auto it = obj.find(key);
    bool ok = it != obj.end();
    if (ok) {
      if (type == json::value_t::number_unsigned) {
        ok = it->is_number_unsigned() || (it->is_number_integer() && it->get<int64_t>() >= 0);
      } else if (type == json::value_t::number_float) {
        ok = it->is_number();
      } else {
        ok = it->type() == type;
      }
    }
    if (!ok) {
      error = absl::StrCat(origin, ": field '", key, "' is missing or has the wrong type");
      return nullptr;
    }
    return &*it;
  };
  using V = json::value_t;
  Manifest m;
  const json* fv = need(j, "format_version", V::number_unsigned);
  if (fv == nullptr) return absl::DataLossError(error);
  m.format_version = fv->get<int>();
  if (m.format_version != Manifest::kFormatVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat(origin, ": bundle format version ", m.format_version,
                     " is not supported (this build reads version ", Manifest::kFormatVersion,
                     "); rebuild the bundle with this simsearch-indexer"));
  }
  const json* collection = need(j, "collection", V::string);
  const json* metric = need(j, "metric", V::string);
  const json* dims = need(j, "dims", V::number_unsigned);
  const json* count = need(j, "count", V::number_unsigned);
  const json* index = need(j, "index", V::object);
  const json* files = need(j, "files", V::array);
  if (!error.empty()) return absl::DataLossError(error);
  const json* kind = need(*index, "kind", V::string);
  const json* params = need(*index, "params", V::object);
  if (!error.empty()) return absl::DataLossError(error);
  m.collection = collection->get<std::string>();
  auto mt = ParseMetric(metric->get<std::string>());
  if (!mt.ok()) return absl::DataLossError(absl::StrCat(origin, ": ", mt.status().message()));
  m.metric = *mt;
  m.dims = dims->get<uint64_t>();
  m.count = count->get<uint64_t>();
  auto k = ParseIndexKind(kind->get<std::string>());
  if (!k.ok()) return absl::DataLossError(absl::StrCat(origin, ": ", k.status().message()));
  m.index_kind = *k;
  // Optional fields: absent means the default; present with the wrong type is an error.
  auto opt = [&](const json& obj, const char* key, auto* out, auto is_type) {
    auto it = obj.find(key);
    if (it == obj.end() || !error.empty()) return;
    if (!is_type(*it)) {
      error = absl::StrCat(origin, ": field '", key, "' has the wrong type");
      return;
    }
    *out = it->template get<std::remove_pointer_t<decltype(out)>>();
  };
  auto is_int = [](const json& v) { return v.is_number_integer(); };
  auto is_num = [](const json& v) { return v.is_number(); };
  auto is_str = [](const json& v) { return v.is_string(); };
  auto is_bool = [](const json& v) { return v.is_boolean(); };
  opt(*params, "nlist", &m.index_params.nlist, is_int);
  opt(*params, "nprobe", &m.index_params.nprobe, is_int);
  opt(*params, "M", &m.index_params.hnsw_m, is_int);
  opt(*params, "ef_construction", &m.index_params.ef_construction, is_int);
  opt(*params, "ef_search", &m.index_params.ef_search, is_int);
  opt(*index, "library", &m.ann_library, is_str);
  if (error.empty() && m.index_kind != IndexKind::kFlat) {
    if (m.ann_library.empty()) m.ann_library = "faiss";
    if (m.ann_library != "faiss" &&
        !(m.ann_library == "hnswlib" && m.index_kind == IndexKind::kHnsw)) {
      error = absl::StrCat(origin, ": index library '", m.ann_library, "' cannot serve kind ",
                           IndexKindName(m.index_kind), " (faiss: ivf, hnsw; hnswlib: hnsw)");
    }
  }
  opt(j, "recall_at_10", &m.recall_at_10, is_num);
  opt(j, "recall_queries", &m.recall_queries, is_int);
  opt(j, "source", &m.source, is_str);
  opt(j, "built_at", &m.built_at, is_str);
  opt(j, "builder", &m.builder, is_str);
  opt(j, "has_items", &m.has_items, is_bool);
  if (auto is = j.find("item_store"); is != j.end() && !is->is_null()) {
    auto names = [&](const char* key, std::vector<std::string>* out) {
      auto it = is->find(key);
      if (it == is->end() || !it->is_array()) {
        error = absl::StrCat(origin, ": field 'item_store.", key, "' is missing or not a list");
        return;
      }
      for (const json& v : *it) {
        if (!v.is_string()) {
          error = absl::StrCat(origin, ": field 'item_store.", key, "' holds a non-string");
          return;
        }
        out->push_back(v.get<std::string>());
      }
    };
    if (!is->is_object()) {
      error = absl::StrCat(origin, ": field 'item_store' has the wrong type");
    } else {
      m.has_item_store = true;
      names("genres", &m.item_genres);
      names("types", &m.item_types);
      opt(*is, "title_index", &m.has_title_index, is_bool);
    }
  }
  opt(j, "user_count", &m.user_count, is_int);
  opt(j, "has_query_vectors", &m.has_query_vectors, is_bool);
  if (auto s = j.find("similar"); s != j.end() && !s->is_null()) {
    if (!s->is_object()) error = absl::StrCat(origin, ": field 'similar' has the wrong type");
    m.has_similar = true;
    opt(*s, "norm_power", &m.similar_norm_power, is_num);
    opt(*s, "shrink", &m.similar_shrink, is_num);
    opt(*s, "reason", &m.similar_reason, is_str);
  }
  if (auto l = j.find("lexical"); l != j.end() && !l->is_null()) {
    if (!l->is_object()) error = absl::StrCat(origin, ": field 'lexical' has the wrong type");
    m.has_lexical = true;
    opt(*l, "terms", &m.lexical_terms, is_int);
    opt(*l, "average_length", &m.lexical_average_length, is_num);
    opt(*l, "source", &m.lexical_source, is_str);
  }
  if (auto f = j.find("fold_in"); f != j.end() && !f->is_null()) {
    if (!f->is_object()) error = absl::StrCat(origin, ": field 'fold_in' has the wrong type");
    m.has_fold_in = true;
    opt(*f, "alpha", &m.fold_in_alpha, is_num);
    opt(*f, "lambda", &m.fold_in_lambda, is_num);
    opt(*f, "prior", &m.fold_in_prior, is_num);
    if (error.empty() && !(m.fold_in_prior >= 0))
      error = absl::StrCat(origin, ": fold_in.prior must be >= 0");
    if (error.empty() && (!(m.fold_in_lambda > 0) || !(m.fold_in_alpha >= 0))) {
      error = absl::StrCat(origin, ": fold_in needs lambda > 0 and alpha >= 0");
    }
  }
  if (auto nb = j.find("neighbours"); nb != j.end() && !nb->is_null()) {
    if (!nb->is_object()) error = absl::StrCat(origin, ": field 'neighbours' has the wrong type");
    opt(*nb, "k", &m.neighbours_k, is_int);
    opt(*nb, "seconds", &m.neighbours_seconds, is_num);
    bool fused = false;
    opt(*nb, "fused", &fused, is_bool);
    if (fused) {
      opt(*nb, "method", &m.neighbours_fusion, is_str);
      if (error.empty() && m.neighbours_fusion.empty()) {
        error = absl::StrCat(origin, ": fused neighbours must say their method");
      }
    }
    if (error.empty() && (m.neighbours_k == 0 || m.neighbours_k >= m.count)) {
      error = absl::StrCat(origin, ": neighbours.k must be in 1..count-1, got ", m.neighbours_k);
    }
  }
  if (auto pv = j.find("provenance"); pv != j.end() && !pv->is_null()) {
    if (!pv->is_object()) error = absl::StrCat(origin, ": field 'provenance' has the wrong type");
    opt(*pv, "learned", &m.learned_vectors, is_int);
    opt(*pv, "predicted", &m.predicted_vectors, is_int);
    opt(*pv, "method", &m.provenance_method, is_str);
    if (error.empty() && m.learned_vectors + m.predicted_vectors != m.count) {
      error = absl::StrCat(origin, ": provenance counts ", m.learned_vectors, " learned + ",
                           m.predicted_vectors, " predicted vectors, not the bundle's ", m.count);
    }
  }
  if (auto enc = j.find("encoder"); enc != j.end() && !enc->is_null()) {
    if (!enc->is_object()) error = absl::StrCat(origin, ": field 'encoder' has the wrong type");
    opt(*enc, "kind", &m.encoder_kind, is_str);
    opt(*enc, "description", &m.encoder_description, is_str);
    if (error.empty() && m.encoder_kind.empty()) {
      error = absl::StrCat(origin, ": field 'encoder' has no kind");
    }
  }
  if (!error.empty()) return absl::DataLossError(error);
  for (const json& f : *files) {
    if (!f.is_object()) return absl::DataLossError(absl::StrCat(origin, ": bad 'files' entry"));
    const json* name = need(f, "name", V::string);
    const json* bytes = need(f, "bytes", V::number_unsigned);
    const json* xxh3 = need(f, "xxh3", V::string);
    if (!error.empty()) return absl::DataLossError(error);
    m.files.push_back({name->get<std::string>(), bytes->get<uint64_t>(), xxh3->get<std::string>()});
  }
  if (m.dims == 0) return absl::DataLossError(absl::StrCat(origin, ": dims is 0"));
  return m;
}

}  // namespace simsearch
