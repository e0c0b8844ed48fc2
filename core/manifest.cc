#include "core/manifest.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/bundle_parts.h"
#include "core/manifest_json.h"

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
      {"recall_at_10", m.recall_at_10},
      {"recall_queries", m.recall_queries},
      {"source", m.source},
      {"built_at", m.built_at},
      {"builder", m.builder},
      {"files", files},
  };
  for (const BundlePart& part : BundleParts()) part.write(m, &j);
  return j.dump(2) + "\n";
}

namespace {

// The base: every field but the parts'. `format_version` is read before.
void ReadBase(const json& j, JsonFields* in, Manifest* m) {
  using V = json::value_t;
  const json* collection = in->Need(j, "collection", V::string);
  const json* metric = in->Need(j, "metric", V::string);
  const json* dims = in->Need(j, "dims", V::number_unsigned);
  const json* count = in->Need(j, "count", V::number_unsigned);
  in->Need(j, "files", V::array);
  if (!in->ok()) return;
  m->collection = collection->get<std::string>();
  auto mt = ParseMetric(metric->get<std::string>());
  if (!mt.ok()) return in->Fail(mt.status().message());
  m->metric = *mt;
  m->dims = dims->get<uint64_t>();
  m->count = count->get<uint64_t>();
  in->Opt(j, "recall_at_10", &m->recall_at_10);
  in->Opt(j, "recall_queries", &m->recall_queries);
  in->Opt(j, "source", &m->source);
  in->Opt(j, "built_at", &m->built_at);
  in->Opt(j, "builder", &m->builder);
}

// The "files" list: name, size and checksum of every file.
void ReadFiles(const json& j, JsonFields* in, Manifest* m) {
  using V = json::value_t;
  for (const json& f : j["files"]) {
    if (!f.is_object()) return in->Fail("bad 'files' entry");
    const json* name = in->Need(f, "name", V::string);
    const json* bytes = in->Need(f, "bytes", V::number_unsigned);
    const json* xxh3 = in->Need(f, "xxh3", V::string);
    if (!in->ok()) return;
    m->files.push_back(
        {name->get<std::string>(), bytes->get<uint64_t>(), xxh3->get<std::string>()});
  }
}

}  // namespace

absl::StatusOr<Manifest> ParseManifest(absl::string_view text, absl::string_view origin) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::DataLossError(absl::StrCat(origin, ": not valid JSON"));
  }
  JsonFields in(origin);
  Manifest m;
  const json* fv = in.Need(j, "format_version", json::value_t::number_unsigned);
  if (fv == nullptr) return in.status();
  m.format_version = fv->get<int>();
  if (m.format_version != Manifest::kFormatVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat(origin, ": bundle format version ", m.format_version,
                     " is not supported (this build reads version ", Manifest::kFormatVersion,
                     "); rebuild the bundle with this simsearch-indexer"));
  }
  ReadBase(j, &in, &m);
  for (const BundlePart& part : BundleParts()) {
    if (in.ok()) part.read(j, &in, &m);
  }
  if (in.ok()) ReadFiles(j, &in, &m);
  if (!in.ok()) return in.status();
  if (m.dims == 0) return absl::DataLossError(absl::StrCat(origin, ": dims is 0"));
  return m;
}

}  // namespace simsearch
