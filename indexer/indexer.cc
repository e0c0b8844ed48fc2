#include "indexer/indexer.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/index_io.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "core/array_file.h"
#include "core/bundle.h"
#include "core/csv.h"
#include "core/file_util.h"
#include "core/half.h"
#include "core/interactions.h"
#include "core/item_store.h"
#include "core/quote.h"
#include "core/status_macros.h"
#include "engine/collection.h"
#include "engine/engine.h"
#include "engine/hnswlib_searcher.h"
#include "engine/title_index.h"
#include "models/text/encoder.h"
#include "retrieval/lexical.h"

namespace simsearch {
namespace fs = std::filesystem;
using idx_t = faiss::Index::idx_t;

namespace {

void Report(const BuildOptions& o, absl::string_view stage, double fraction) {
  if (o.progress) o.progress(stage, fraction);
}

// Rows that survive, with their ids, in ascending id order.
struct Rows {
  std::vector<uint64_t> source_row;  // row in the input
  std::vector<int64_t> ids;
};

// The ids of `v` (read from `vectors_path`): its own (CSV) or those in `ids_path`.
absl::StatusOr<std::vector<int64_t>> LoadIds(const std::string& vectors_path,
                                             const std::string& ids_path, const VectorSet& v,
                                             const char* ids_flag) {
  if (!v.ids.empty()) {
    if (!ids_path.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(vectors_path, ": a CSV carries its ids in its first column; drop ", ids_flag,
                       " ", ids_path));
    }
    return v.ids;
  }
  if (ids_path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(ids_flag, " is required with ", vectors_path,
                                                   " (only CSV input carries its ids)"));
  }
  SIMSEARCH_ASSIGN_OR_RETURN(std::vector<int64_t> ids, ReadIds(ids_path));
  if (ids.size() != v.count) {
    return absl::InvalidArgumentError(absl::StrCat(ids_path, " has ", ids.size(), " ids but ",
                                                   vectors_path, " has ", v.count,
                                                   " vectors; they must pair up row by row"));
  }
  return ids;
}

absl::Status CheckUnique(const std::vector<int64_t>& ids, const std::string& origin) {
  absl::flat_hash_map<int64_t, uint64_t> first_row;
  first_row.reserve(ids.size());
  for (uint64_t r = 0; r < ids.size(); ++r) {
    auto [it, inserted] = first_row.try_emplace(ids[r], r);
    if (!inserted) {
      return absl::InvalidArgumentError(absl::StrCat(origin, ": duplicate id ", ids[r], " at rows ",
                                                     it->second, " and ", r,
                                                     "; ids must be unique"));
    }
  }
  return absl::OkStatus();
}

// Users' vectors and items, validated and sorted by user id, for the bundle.
struct UserData {
  std::vector<int64_t> ids;
  std::vector<float> vectors;     // ids.size() x dims
  std::vector<int64_t> offsets;   // ids.size() + 1
  std::vector<int64_t> items;     // item ids, each user's sorted: watched and listed
  std::vector<uint64_t> viewers;  // per served row: users who watched it (listed-only not)
  uint64_t dropped = 0;           // pairs whose item is not in the collection
};

// Texts for the lexical index, in row order (`ids` ascending): the named columns of each
// CSV record, joined with spaces; an item without a record gets an empty text.
absl::StatusOr<std::vector<std::string>> ReadTexts(const BuildOptions& o,
                                                   const std::vector<int64_t>& ids) {
  SIMSEARCH_ASSIGN_OR_RETURN(CsvFile reader, CsvFile::Open(o.lexical_path));
  const std::vector<std::string>& header = reader.header();
  std::vector<std::string> f;
  const int id_col = FindColumn(header, o.lexical_id_column);
  if (id_col < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(o.lexical_path, ": no column '", o.lexical_id_column,
                     "'; the header has: ", absl::StrJoin(header, ", ")));
  }
  std::vector<int> cols;
  for (const std::string& c : o.lexical_text_columns) {
    const int col = FindColumn(header, c);
    if (col < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          o.lexical_path, ": no column '", c, "'; the header has: ", absl::StrJoin(header, ", ")));
    }
    cols.push_back(col);
  }
  std::vector<std::string> out(ids.size());
  for (;;) {
    SIMSEARCH_ASSIGN_OR_RETURN(bool more, reader.Next(&f));
    if (!more) break;
    if (f.size() != header.size()) {
      return absl::InvalidArgumentError(absl::StrCat(o.lexical_path, ": line ", reader.line(), ": ",
                                                     f.size(), " fields, the header has ",
                                                     header.size()));
    }
    int64_t id;
    if (!absl::SimpleAtoi(f[id_col], &id)) {
      return absl::InvalidArgumentError(absl::StrCat(o.lexical_path, ": line ", reader.line(),
                                                     ": id '", Quote(f[id_col]),
                                                     "' is not an integer"));
    }
    auto it = std::lower_bound(ids.begin(), ids.end(), id);
    if (it == ids.end() || *it != id) continue;  // not in the collection
    std::string& t = out[static_cast<size_t>(it - ids.begin())];
    for (int c : cols) {
      if (!t.empty()) t += ' ';
      t += f[c];
    }
  }
  return out;
}

absl::StatusOr<UserData> LoadUsers(const BuildOptions& o, uint64_t dims,
                                   const std::vector<int64_t>& served_ids /* sorted */) {
  if (o.user_items_path.empty()) {
    return absl::InvalidArgumentError(
        "--user-items (the interactions CSV) is required with --user-vectors, so a user's own "
        "items can be excluded from their recommendations");
  }
  SIMSEARCH_ASSIGN_OR_RETURN(VectorSet v, ReadVectors(o.user_vectors_path));
  if (v.dims != dims) {
    return absl::InvalidArgumentError(absl::StrCat(o.user_vectors_path, ": user vectors have ",
                                                   v.dims, " dimensions but item vectors have ",
                                                   dims, "; they must match"));
  }
  SIMSEARCH_ASSIGN_OR_RETURN(std::vector<int64_t> ids,
                             LoadIds(o.user_vectors_path, o.user_ids_path, v, "--user-ids"));
  SIMSEARCH_RETURN_IF_ERROR(CheckFinite(v, o.user_vectors_path));
  SIMSEARCH_RETURN_IF_ERROR(
      CheckUnique(ids, o.user_ids_path.empty() ? o.user_vectors_path : o.user_ids_path));
  SIMSEARCH_ASSIGN_OR_RETURN(Interactions inter, LoadInteractions(o.user_items_path));
  absl::flat_hash_map<int64_t, uint32_t> inter_user;
  for (uint32_t u = 0; u < inter.user_ids.size(); ++u) inter_user[inter.user_ids[u]] = u;
  Interactions listed;
  absl::flat_hash_map<int64_t, uint32_t> listed_user;
  if (!o.user_listed_path.empty()) {
    InteractionsOptions lo;
    lo.allow_empty = true;  // nobody dropped or planned anything
    SIMSEARCH_ASSIGN_OR_RETURN(listed, LoadInteractions(o.user_listed_path, lo));
    for (uint32_t u = 0; u < listed.user_ids.size(); ++u) listed_user[listed.user_ids[u]] = u;
  }

  std::vector<uint64_t> order(ids.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](uint64_t a, uint64_t b) { return ids[a] < ids[b]; });
  UserData out;
  out.offsets.push_back(0);
  out.viewers.assign(served_ids.size(), 0);
  std::vector<int64_t> mine;
  for (uint64_t r : order) {
    out.ids.push_back(ids[r]);
    out.vectors.insert(out.vectors.end(), &v.data[r * dims], &v.data[(r + 1) * dims]);
    mine.clear();
    auto add = [&](const Interactions& from, const absl::flat_hash_map<int64_t, uint32_t>& user_of,
                   bool watched) {
      auto it = user_of.find(ids[r]);
      if (it == user_of.end()) return;
      for (uint32_t i : from.items_of_user[it->second]) {
        const int64_t item = from.item_ids[i];
        auto pos = std::lower_bound(served_ids.begin(), served_ids.end(), item);
        if (pos == served_ids.end() || *pos != item) {
          ++out.dropped;
          continue;
        }
        mine.push_back(item);
        if (watched) ++out.viewers[static_cast<size_t>(pos - served_ids.begin())];
      }
    };
    add(inter, inter_user, true);
    add(listed, listed_user, false);
    std::sort(mine.begin(), mine.end());
    mine.erase(std::unique(mine.begin(), mine.end()), mine.end());
    out.items.insert(out.items.end(), mine.begin(), mine.end());
    out.offsets.push_back(static_cast<int64_t>(out.items.size()));
  }
  return out;
}

int DefaultNlist(uint64_t n) {
  // About 4*sqrt(n) lists, keeping at least 39 training points per list (FAISS's
  // minimum for k-means without warnings).
  const double by_sqrt = 4.0 * std::sqrt(static_cast<double>(n));
  const double by_points = static_cast<double>(n) / 39.0;
  return std::max(1, static_cast<int>(std::min(by_sqrt, by_points)));
}

absl::StatusOr<std::unique_ptr<faiss::Index>> BuildAnn(const BuildOptions& o, IndexParams* p,
                                                       const float* x, uint64_t n, uint64_t d) {
  std::unique_ptr<faiss::Index> index;
  const std::string stage_add = absl::StrCat("adding vectors to ", IndexKindName(o.index_kind));
  try {
    if (o.index_kind == IndexKind::kIvf) {
      if (p->nlist <= 0) p->nlist = DefaultNlist(n);
      if (static_cast<uint64_t>(p->nlist) > n) {
        return absl::InvalidArgumentError(absl::StrCat("--nlist ", p->nlist, " is larger than the ",
                                                       n, " vectors; use at most ", n / 39 + 1));
      }
      if (p->nprobe <= 0) p->nprobe = std::min(p->nlist, std::max(8, p->nlist / 8));
      if (p->nprobe > p->nlist) {
        return absl::InvalidArgumentError(
            absl::StrCat("--nprobe ", p->nprobe, " exceeds --nlist ", p->nlist));
      }
      auto quantizer = std::make_unique<faiss::IndexFlatIP>(static_cast<int>(d));
      auto ivf = std::make_unique<faiss::IndexIVFFlat>(quantizer.get(), d, p->nlist,
                                                       faiss::METRIC_INNER_PRODUCT);
      ivf->own_fields = true;
      quantizer.release();
      ivf->cp.seed = static_cast<int>(o.seed);
      Report(o, absl::StrCat("training IVF (nlist ", p->nlist, ")"), 0);
      // FAISS k-means draws its own random sample (256 points per list at most).
      ivf->train(static_cast<idx_t>(n), x);
      Report(o, absl::StrCat("training IVF (nlist ", p->nlist, ")"), 1);
      index = std::move(ivf);
    } else {
      if (p->hnsw_m <= 0) p->hnsw_m = 32;
      if (p->ef_construction <= 0) p->ef_construction = 200;
      if (p->ef_search <= 0) p->ef_search = 128;
      auto hnsw = std::make_unique<faiss::IndexHNSWFlat>(static_cast<int>(d), p->hnsw_m,
                                                         faiss::METRIC_INNER_PRODUCT);
      hnsw->hnsw.efConstruction = p->ef_construction;
      hnsw->hnsw.efSearch = p->ef_search;
      index = std::move(hnsw);
    }
    const uint64_t chunk = std::max<uint64_t>(10000, n / 100);
    for (uint64_t start = 0; start < n; start += chunk) {
      const uint64_t m = std::min(chunk, n - start);
      index->add(static_cast<idx_t>(m), x + start * d);
      Report(o, stage_add, static_cast<double>(start + m) / static_cast<double>(n));
    }
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("FAISS failed to build the index: ", e.what()));
  }
  return index;
}

// The queries recall@10 is measured on, at most o.recall_queries of them:
// --recall-query-vectors (normalised for cosine), held out from the collection; else
// "more like this" queries as the engine asks them: a sample of rows, each querying with
// its query-side vector (`qx`; its own vector when null) with the row itself excluded
// from the answers (*own holds it; -1 for a held-out query). Counting a row's own vector
// as its nearest neighbour flattered an index by about a tenth of its recall.
absl::StatusOr<std::vector<float>> RecallQueries(const BuildOptions& o, const float* x,
                                                 const float* qx, uint64_t n, uint64_t d,
                                                 uint64_t* count, std::vector<idx_t>* own) {
  std::vector<float> q;
  own->clear();
  std::mt19937_64 rng(o.seed);
  if (!o.recall_query_vectors_path.empty()) {
    SIMSEARCH_ASSIGN_OR_RETURN(VectorSet qs, ReadVectors(o.recall_query_vectors_path));
    if (qs.dims != d) {
      return absl::InvalidArgumentError(absl::StrCat("--recall-query-vectors ",
                                                     o.recall_query_vectors_path, " has ", qs.dims,
                                                     " dimensions, the collection ", d));
    }
    SIMSEARCH_RETURN_IF_ERROR(CheckFinite(qs, o.recall_query_vectors_path));
    std::vector<uint64_t> rows(qs.count);
    std::iota(rows.begin(), rows.end(), 0);
    std::shuffle(rows.begin(), rows.end(), rng);
    rows.resize(std::min<uint64_t>(rows.size(), o.recall_queries));
    for (uint64_t r : rows) {
      const float* src = &qs.data[r * d];
      double norm = 1;
      if (o.metric == Metric::kCosine) {
        double sq = 0;
        for (uint64_t j = 0; j < d; ++j) sq += double{src[j]} * src[j];
        norm = std::sqrt(sq);
        if (!(norm > 0)) continue;  // a zero query has no cosine; the engine refuses it too
      }
      for (uint64_t j = 0; j < d; ++j) q.push_back(static_cast<float>(src[j] / norm));
      own->push_back(-1);
    }
  } else {
    std::vector<uint64_t> rows(n);
    std::iota(rows.begin(), rows.end(), 0);
    std::shuffle(rows.begin(), rows.end(), rng);
    rows.resize(std::min<uint64_t>(o.recall_queries, n));
    for (uint64_t r : rows) {
      const float* src = (qx != nullptr ? qx : x) + r * d;
      double norm = 1;
      if (o.metric == Metric::kCosine && qx != nullptr) {
        double sq = 0;
        for (uint64_t j = 0; j < d; ++j) sq += double{src[j]} * src[j];
        norm = std::sqrt(sq);
        if (!(norm > 0)) continue;
      }
      for (uint64_t j = 0; j < d; ++j) q.push_back(static_cast<float>(src[j] / norm));
      own->push_back(static_cast<idx_t>(r));
    }
  }
  *count = q.size() / d;
  return q;
}

// Top-k labels of m queries at the given parameters, from whichever library built the
// index.
using AnnSearch = std::function<absl::Status(const float* q, uint64_t m, idx_t k,
                                             const IndexParams& p, idx_t* labels)>;

AnnSearch FaissAnnSearch(const BuildOptions& o, const faiss::Index& ann) {
  return [&o, &ann](const float* q, uint64_t m, idx_t k, const IndexParams& p, idx_t* labels) {
    try {
      faiss::SearchParametersIVF ivf;
      ivf.nprobe = p.nprobe;
      faiss::SearchParametersHNSW hnsw;
      hnsw.efSearch = std::max<int>(p.ef_search, static_cast<int>(k));
      const faiss::SearchParameters* sp = o.index_kind == IndexKind::kIvf
                                              ? static_cast<const faiss::SearchParameters*>(&ivf)
                                              : &hnsw;
      std::vector<float> dist(m * static_cast<uint64_t>(k));
      ann.search(static_cast<idx_t>(m), q, k, dist.data(), labels, sp);
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("FAISS failed while measuring recall: ", e.what()));
    }
    return absl::OkStatus();
  };
}

// The served searcher itself (the graph as the engine will load it).
AnnSearch ServedAnnSearch(const Searcher& ann) {
  return [&ann](const float* q, uint64_t m, idx_t k, const IndexParams&, idx_t* labels) {
    SearchParams sp;
    sp.k = static_cast<int>(k);
    std::vector<std::vector<Neighbor>> got;
    SIMSEARCH_RETURN_IF_ERROR(ann.Search(q, m, sp, &got));
    for (uint64_t i = 0; i < m; ++i) {
      for (idx_t j = 0; j < k; ++j) {
        labels[i * k + j] =
            static_cast<size_t>(j) < got[i].size() ? static_cast<idx_t>(got[i][j].row) : -1;
      }
    }
    return absl::OkStatus();
  };
}

// The first k labels of each of s lists of k + 1 (`wide`), leaving out the query's own
// row own[i] (-1: none; else the last is dropped).
std::vector<idx_t> DropOwn(const std::vector<idx_t>& wide, const std::vector<idx_t>& own,
                           uint64_t s, idx_t k) {
  std::vector<idx_t> out;
  out.reserve(s * static_cast<uint64_t>(k));
  for (uint64_t i = 0; i < s; ++i) {
    idx_t kept = 0;
    for (idx_t j = 0; j <= k && kept < k; ++j) {
      const idx_t label = wide[i * static_cast<uint64_t>(k + 1) + j];
      if (label == own[i] && label >= 0) continue;
      out.push_back(label);
      ++kept;
    }
  }
  return out;
}

// Mean fraction of each query's exact top-k (rows of `truth`, sorted) that the ANN index
// finds at the given parameters, each query's own row (own[i], if any) left out of both.
absl::StatusOr<double> AnnRecall(const BuildOptions& o, const AnnSearch& search,
                                 const IndexParams& p, const float* q, uint64_t s, uint64_t d,
                                 idx_t k, const std::vector<idx_t>& truth,
                                 const std::vector<idx_t>& own, const std::string& stage) {
  if (s == 0) return 1.0;
  std::vector<idx_t> wide(s * static_cast<uint64_t>(k + 1));
  const uint64_t batch = 100;
  for (uint64_t b = 0; b < s; b += batch) {
    const uint64_t m = std::min(batch, s - b);
    SIMSEARCH_RETURN_IF_ERROR(search(q + b * d, m, k + 1, p, &wide[b * (k + 1)]));
    if (!stage.empty()) Report(o, stage, static_cast<double>(b + m) / static_cast<double>(s));
  }
  const std::vector<idx_t> got = DropOwn(wide, own, s, k);
  uint64_t found = 0;
  for (uint64_t i = 0; i < s; ++i) {
    for (idx_t j = 0; j < k; ++j) {
      if (std::binary_search(truth.begin() + static_cast<long>(i * k),
                             truth.begin() + static_cast<long>((i + 1) * k), got[i * k + j])) {
        ++found;
      }
    }
  }
  return static_cast<double>(found) / static_cast<double>(s * k);
}

// Records recall@10 against exact search in the manifest. With --target-recall (IVF),
// first chooses nprobe: the smallest whose recall@10 reaches the target on half of the
// queries (recall grows with nprobe: more lists only add candidates), then measures the
// recall it records on the other half, which took no part in the choice.
absl::Status CalibrateAndMeasureRecall(const BuildOptions& o, const AnnSearch& ann, const float* x,
                                       const float* qx, uint64_t n, uint64_t d, IndexParams* p,
                                       double* recall, uint64_t* queries) {
  uint64_t s = 0;
  std::vector<idx_t> own;
  SIMSEARCH_ASSIGN_OR_RETURN(std::vector<float> q, RecallQueries(o, x, qx, n, d, &s, &own));
  const idx_t k = static_cast<idx_t>(std::min<uint64_t>(10, n > 1 ? n - 1 : 1));
  std::vector<idx_t> wide(s * static_cast<uint64_t>(k + 1), -1);
  try {
    faiss::IndexFlatIP exact(static_cast<int>(d));
    exact.add(static_cast<idx_t>(n), x);
    std::vector<float> dist(wide.size());
    if (s > 0) exact.search(static_cast<idx_t>(s), q.data(), k + 1, dist.data(), wide.data());
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("FAISS failed while measuring recall: ", e.what()));
  }
  std::vector<idx_t> truth = DropOwn(wide, own, s, k);
  for (uint64_t i = 0; i < s; ++i) {
    std::sort(truth.begin() + static_cast<long>(i * k),
              truth.begin() + static_cast<long>((i + 1) * k));
  }
  if (o.target_recall > 0 && o.index_kind == IndexKind::kIvf && s >= 2) {
    // Queries alternate between the half that chooses and the half that reports.
    std::vector<float> choose, report;
    std::vector<idx_t> choose_truth, report_truth, choose_own, report_own;
    for (uint64_t i = 0; i < s; ++i) {
      auto& qs = i % 2 == 0 ? choose : report;
      auto& ts = i % 2 == 0 ? choose_truth : report_truth;
      (i % 2 == 0 ? choose_own : report_own).push_back(own[i]);
      qs.insert(qs.end(), q.begin() + static_cast<long>(i * d),
                q.begin() + static_cast<long>((i + 1) * d));
      ts.insert(ts.end(), truth.begin() + static_cast<long>(i * k),
                truth.begin() + static_cast<long>((i + 1) * k));
    }
    const uint64_t sc = choose.size() / d, sr = report.size() / d;
    int lo = 1, hi = p->nlist;  // the answer lies in [lo, hi]; nlist probes every list
    while (lo < hi) {
      const int mid = lo + (hi - lo) / 2;
      IndexParams trial = *p;
      trial.nprobe = mid;
      SIMSEARCH_ASSIGN_OR_RETURN(double r, AnnRecall(o, ann, trial, choose.data(), sc, d, k,
                                                     choose_truth, choose_own, ""));
      Report(o,
             absl::StrCat("choosing nprobe for recall@10 >= ", o.target_recall, ": ", mid,
                          " gives ", r),
             0.5);
      if (r >= o.target_recall) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    p->nprobe = lo;
    *queries = sr;
    SIMSEARCH_ASSIGN_OR_RETURN(
        *recall, AnnRecall(o, ann, *p, report.data(), sr, d, k, report_truth, report_own,
                           absl::StrCat("measuring recall@10 on ", sr, " other queries")));
    return absl::OkStatus();
  }
  *queries = s;
  SIMSEARCH_ASSIGN_OR_RETURN(*recall,
                             AnnRecall(o, ann, *p, q.data(), s, d, k, truth, own,
                                       absl::StrCat("measuring recall@10 on ", s, " queries")));
  return absl::OkStatus();
}

}  // namespace

// The provenance CSV (BuildOptions::item_provenance_path), as count x 2 int64 rows
// (source, viewers) in the bundle's row order; every id must have a row.
absl::StatusOr<std::vector<int64_t>> ReadProvenance(const std::string& path,
                                                    const std::vector<int64_t>& ids,
                                                    uint64_t* learned, uint64_t* predicted) {
  SIMSEARCH_ASSIGN_OR_RETURN(CsvFile reader, CsvFile::Open(path));
  const std::vector<std::string>& header = reader.header();
  std::vector<std::string> f;
  const int id_col = FindAnyColumn(header, {"anime_id", "item_id", "id"});
  const int source_col = FindAnyColumn(header, {"source"});
  const int viewers_col = FindAnyColumn(header, {"viewers"});
  if (id_col < 0 || source_col < 0 || viewers_col < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": line 1: the header must name anime_id, source and viewers"));
  }
  std::vector<int64_t> out(ids.size() * 2, -1);
  for (;;) {
    SIMSEARCH_ASSIGN_OR_RETURN(bool more, reader.Next(&f));
    if (!more) break;
    const size_t need = static_cast<size_t>(std::max({id_col, source_col, viewers_col})) + 1;
    int64_t id = 0, viewers = 0;
    if (f.size() < need || !absl::SimpleAtoi(absl::StripAsciiWhitespace(f[id_col]), &id) ||
        !absl::SimpleAtoi(absl::StripAsciiWhitespace(f[viewers_col]), &viewers) || viewers < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": line ", reader.line(), ": expected an integer id and a viewer count >= 0"));
    }
    const std::string source(absl::StripAsciiWhitespace(f[source_col]));
    if (source != "learned" && source != "predicted") {
      return absl::InvalidArgumentError(absl::StrCat(path, ": line ", reader.line(), ": source '",
                                                     source, "' is neither learned nor predicted"));
    }
    auto it = std::lower_bound(ids.begin(), ids.end(), id);
    if (it == ids.end() || *it != id) continue;  // not served (dropped): ignored
    const size_t row = static_cast<size_t>(it - ids.begin());
    out[row * 2] = source == "learned" ? kVectorLearned : kVectorPredicted;
    out[row * 2 + 1] = viewers;
  }
  *learned = *predicted = 0;
  for (size_t r = 0; r < ids.size(); ++r) {
    if (out[r * 2] < 0) {
      return absl::InvalidArgumentError(absl::StrCat(path, " has no row for id ", ids[r],
                                                     "; it must say where every vector came from"));
    }
    ++*(out[r * 2] == kVectorLearned ? learned : predicted);
  }
  return out;
}

namespace {

// Every option on its own and together (and the story viewers' collection, which is
// only looked at): a build that would fail on one of them fails before it reads its
// inputs. What depends on the inputs is refused after they are read, before the
// bundle's files are written, except what only building the index can tell (an IVF
// with more lists than vectors, recall queries of the wrong size): that fails while
// staging, whose directory is then removed.
absl::Status ValidateBuildOptions(const BuildOptions& o) {
  SIMSEARCH_RETURN_IF_ERROR(ValidateCollectionName(o.collection));
  if (o.out_root.empty()) return absl::InvalidArgumentError("--out (the index root) is required");
  if ((o.neighbours < 0 && o.neighbours != kAutoNeighbours) || o.neighbours > kMaxNeighbours) {
    return absl::InvalidArgumentError(
        absl::StrCat("--neighbours must be 0-", kMaxNeighbours, ", got ", o.neighbours));
  }
  if (o.hub_cap && !(o.hub_cap->share > 0 && o.hub_cap->share <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--neighbours-cap must be in (0, 1], got ", o.hub_cap->share));
  }
  if (o.hub_cap && o.neighbours == 0)
    return absl::InvalidArgumentError("--neighbours-cap needs neighbours; drop --neighbours 0");
  if (o.story) {  // what the fused lists need, before anything is written
    const StoryWeights& w = o.story->weights;
    if (o.neighbours == 0)
      return absl::InvalidArgumentError("--story-neighbours needs neighbours; drop --neighbours 0");
    if (w.genres > 0 && o.catalog_paths.empty()) {
      return absl::InvalidArgumentError("--story-neighbours weighs genres: give the --catalog");
    }
    if (w.words > 0 && (o.lexical_path.empty() || !o.item_synopses)) {
      return absl::InvalidArgumentError(
          "--story-neighbours weighs words: give --lexical and --item-synopses (or --story-weights "
          "words=0)");
    }
    if (w.viewers > 0 && o.story->viewers.empty()) {
      return absl::InvalidArgumentError(
          "--story-neighbours weighs viewers: name their collection with --story-viewers (or "
          "--story-weights viewers=0)");
    }
    if (!o.story->viewers.empty()) SIMSEARCH_RETURN_IF_ERROR(CheckStoryViewers(o.story->viewers));
  }
  if (o.user_vectors_path.empty() &&
      (!o.user_ids_path.empty() || !o.user_items_path.empty() || !o.user_listed_path.empty())) {
    return absl::InvalidArgumentError(
        "--user-ids, --user-items and --user-listed need --user-vectors");
  }
  if (!o.scan_precision.empty() && o.scan_precision != "f32") {
    if (o.scan_precision != "f16") {
      return absl::InvalidArgumentError(
          absl::StrCat("--scan-precision is f32 or f16, got '", o.scan_precision, "'"));
    }
    if (o.index_kind != IndexKind::kFlat) {
      return absl::InvalidArgumentError(
          "--scan-precision f16 is for --index flat (an ANN index reads its own structures)");
    }
    if (o.scan_rescore && (*o.scan_rescore < 1 || *o.scan_rescore > kMaxScanRescore)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--scan-rescore must be 1-", kMaxScanRescore, ", got ", *o.scan_rescore));
    }
  } else if (o.scan_rescore) {
    return absl::InvalidArgumentError(
        "--scan-rescore is for --scan-precision f16 (a flat scan in f32 has nothing to score "
        "again); add --scan-precision f16 or drop --scan-rescore");
  }
  if (o.similar &&
      (!(o.similar_norm_power >= 0 && o.similar_norm_power <= 1) || !(o.similar_shrink >= 0))) {
    return absl::InvalidArgumentError("--similar takes NORM_POWER in [0, 1] and SHRINK >= 0");
  }
  if (o.fold_in && (!(o.fold_in_params.lambda > 0) || !(o.fold_in_params.alpha >= 0))) {
    return absl::InvalidArgumentError("--fold-in takes ALPHA >= 0 and LAMBDA > 0");
  }
  if (o.similar && o.similar_shrink > 0 && o.user_vectors_path.empty()) {
    return absl::InvalidArgumentError(
        "--similar with a shrink needs --user-vectors and --user-items: the shrink counts each "
        "item's viewers");
  }
  if (o.fold_in_prior != 0 &&
      (!o.fold_in || !(o.fold_in_prior > 0) || o.user_vectors_path.empty())) {
    return absl::InvalidArgumentError(
        "--fold-in-prior needs --fold-in, a weight > 0 and --user-vectors (the prior is the mean "
        "user vector)");
  }
  return absl::OkStatus();
}

// The input files as given: item vectors and ids, query-side vectors, the encoder.
struct Inputs {
  VectorSet v;
  std::vector<int64_t> ids;
  VectorSet qv;  // count 0: none
  std::unique_ptr<text::SentenceEncoder> encoder;
};

absl::StatusOr<Inputs> ReadInputs(const BuildOptions& o) {
  Inputs in;
  VectorSet& v = in.v;
  VectorSet& qv = in.qv;
  Report(o, "reading vectors", 0);
  SIMSEARCH_ASSIGN_OR_RETURN(v, ReadVectors(o.vectors_path));
  Report(o, "reading vectors", 1);
  if (o.expect_dims != 0 && v.dims != o.expect_dims) {
    return absl::InvalidArgumentError(absl::StrCat(o.vectors_path, ": vectors have ", v.dims,
                                                   " dimensions, expected ", o.expect_dims));
  }
  SIMSEARCH_ASSIGN_OR_RETURN(in.ids, LoadIds(o.vectors_path, o.ids_path, v, "--ids"));
  SIMSEARCH_RETURN_IF_ERROR(CheckFinite(v, o.vectors_path));
  SIMSEARCH_RETURN_IF_ERROR(CheckUnique(in.ids, o.ids_path.empty() ? o.vectors_path : o.ids_path));
  if (!o.query_vectors_path.empty()) {
    SIMSEARCH_ASSIGN_OR_RETURN(qv, ReadVectors(o.query_vectors_path));
    if (qv.count != v.count || qv.dims != v.dims) {
      return absl::InvalidArgumentError(absl::StrCat(
          o.query_vectors_path, ": query vectors are ", qv.count, " x ", qv.dims, " but ",
          o.vectors_path, " is ", v.count, " x ", v.dims, "; they must pair up row by row"));
    }
    SIMSEARCH_RETURN_IF_ERROR(CheckFinite(qv, o.query_vectors_path));
  }
  if (!o.encoder_dir.empty()) {
    SIMSEARCH_ASSIGN_OR_RETURN(in.encoder, text::LoadEncoder(o.encoder_dir));
    if (static_cast<uint64_t>(in.encoder->dims()) != v.dims) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--encoder ", o.encoder_dir, " makes ", in.encoder->dims(), "-dimensional vectors but ",
          o.vectors_path, " has ", v.dims, "; give the encoder that made these vectors"));
    }
    std::vector<float> probe;  // fails for, say, an unfitted SIF encoder
    SIMSEARCH_RETURN_IF_ERROR(in.encoder->Encode({"test"}, &probe));
  }
  return in;
}

// The rows the bundle keeps (every vector, or those the catalogue knows), with the
// catalogue loaded; unknown ids are an error unless --drop-missing.
absl::Status SelectRows(const BuildOptions& o, const std::vector<int64_t>& ids, uint64_t count,
                        std::unique_ptr<Catalog>* catalog_out, std::vector<uint64_t>* keep_out,
                        BuildResult* result_out) {
  std::unique_ptr<Catalog>& catalog = *catalog_out;
  std::vector<uint64_t>& keep = *keep_out;
  BuildResult& result = *result_out;
  keep.reserve(count);
  if (!o.catalog_paths.empty()) {
    Report(o, "reading catalogue", 0);
    CatalogOptions copts;
    copts.skip_bad_rows = o.skip_bad_rows;
    SIMSEARCH_ASSIGN_OR_RETURN(Catalog c, Catalog::Load(o.catalog_paths, copts));
    catalog = std::make_unique<Catalog>(std::move(c));
    result.skipped_rows = catalog->skipped();
    std::vector<int64_t> missing;
    for (uint64_t r = 0; r < count; ++r) {
      if (catalog->Find(ids[r]) == nullptr) {
        missing.push_back(ids[r]);
      } else {
        keep.push_back(r);
      }
    }
    if (!missing.empty() && !o.drop_missing) {
      std::vector<int64_t> head(missing.begin(),
                                missing.begin() + std::min<size_t>(missing.size(), 10));
      return absl::InvalidArgumentError(absl::StrCat(
          missing.size(), " of ", count, " ids are not in the catalogue (",
          absl::StrJoin(o.catalog_paths, ", "), "), e.g. ", absl::StrJoin(head, ", "),
          "; fix the ids, add them to the catalogue, or pass --drop-missing to leave them out"));
    }
    result.dropped_ids = std::move(missing);
    if (keep.empty()) {
      return absl::InvalidArgumentError(
          "no vector is left after dropping ids missing from the catalogue");
    }
  } else {
    for (uint64_t r = 0; r < count; ++r) keep.push_back(r);
  }
  return absl::OkStatus();
}

// The bundle's rows and every optional part, read and computed, before a file is written.
struct Parts {
  uint64_t n = 0, d = 0;
  std::vector<float> x;          // n x d, unit rows for cosine
  std::vector<int64_t> out_ids;  // ascending
  std::vector<float> query_x;    // n x d, or empty
  UserData users;
  std::vector<float> similar_x, gram;
  std::vector<int64_t> provenance;  // n x 2, or empty
  uint64_t learned = 0, predicted = 0;
  std::vector<std::string> lexical_texts;
  std::unique_ptr<text::SentenceEncoder> encoder;
  std::unique_ptr<Catalog> catalog;
};

// Rows in ascending id order (ties in score then break by id everywhere), unit length
// for cosine.
absl::Status ArrangeRows(const BuildOptions& o, Inputs in, std::vector<uint64_t> keep,
                         Parts* parts) {
  VectorSet& v = in.v;
  VectorSet& qv = in.qv;
  const std::vector<int64_t>& ids = in.ids;
  std::sort(keep.begin(), keep.end(), [&](uint64_t a, uint64_t b) { return ids[a] < ids[b]; });
  const uint64_t n = parts->n = keep.size();
  const uint64_t d = parts->d = v.dims;
  std::vector<float>& x = parts->x;
  std::vector<int64_t>& out_ids = parts->out_ids;
  std::vector<float>& query_x = parts->query_x;
  x.resize(n * d);
  out_ids.resize(n);
  query_x.resize(qv.count > 0 ? n * d : 0);
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t r = keep[i];
    out_ids[i] = ids[r];
    if (!query_x.empty()) std::copy(&qv.data[r * d], &qv.data[(r + 1) * d], &query_x[i * d]);
    float* dst = &x[i * d];
    std::copy(&v.data[r * d], &v.data[(r + 1) * d], dst);
    if (o.metric == Metric::kCosine) {
      double s = 0;
      for (uint64_t j = 0; j < d; ++j) s += double{dst[j]} * dst[j];
      const double norm = std::sqrt(s);
      if (!(norm > 0)) {
        return absl::InvalidArgumentError(absl::StrCat(
            o.vectors_path, ": row ", r, " (id ", ids[r],
            ") is a zero vector, which has no cosine similarity; drop it or use --metric ip"));
      }
      for (uint64_t j = 0; j < d; ++j) dst[j] = static_cast<float>(dst[j] / norm);
    }
  }
  parts->encoder = std::move(in.encoder);
  return absl::OkStatus();
}

// Users, the "more like this" space, provenance, texts and the fold-in Gram matrix
// (docs/FORMAT.md, "Two-tower data").
absl::Status PrepareServingParts(const BuildOptions& o, Parts* parts, BuildResult* result) {
  const uint64_t n = parts->n, d = parts->d;
  const std::vector<float>& x = parts->x;
  const std::vector<int64_t>& out_ids = parts->out_ids;
  UserData& users = parts->users;
  if (!o.user_vectors_path.empty()) {
    Report(o, "reading users", 0);
    SIMSEARCH_ASSIGN_OR_RETURN(users, LoadUsers(o, d, out_ids));
    result->user_items_dropped = users.dropped;
  }
  std::vector<float>& similar_x = parts->similar_x;
  if (o.similar) {
    if (o.similar_shrink > 0 && users.ids.empty()) {
      return absl::InvalidArgumentError(
          "--similar with a shrink needs --user-vectors and --user-items: the shrink counts each "
          "item's viewers");
    }
    const std::vector<uint64_t>& viewers = users.viewers;  // watched, not only listed
    similar_x.resize(n * d);
    for (uint64_t j = 0; j < n; ++j) {
      double s = 0;
      for (uint64_t c = 0; c < d; ++c) s += double{x[j * d + c]} * x[j * d + c];
      double f = s > 0 ? std::pow(s, -0.5 * o.similar_norm_power) : 0.0;
      if (o.similar_shrink > 0) f *= viewers[j] / (viewers[j] + double{o.similar_shrink});
      for (uint64_t c = 0; c < d; ++c) similar_x[j * d + c] = static_cast<float>(x[j * d + c] * f);
    }
  }
  if (!o.item_provenance_path.empty()) {
    SIMSEARCH_ASSIGN_OR_RETURN(
        parts->provenance,
        ReadProvenance(o.item_provenance_path, out_ids, &parts->learned, &parts->predicted));
  }
  if (!o.lexical_path.empty()) {
    Report(o, "reading texts", 0);
    SIMSEARCH_ASSIGN_OR_RETURN(parts->lexical_texts, ReadTexts(o, out_ids));
  }
  if (o.fold_in_prior != 0 && users.ids.empty()) {  // the options: ValidateBuildOptions
    return absl::InvalidArgumentError(
        "--fold-in-prior needs --fold-in, a weight > 0 and --user-vectors (the prior is the mean "
        "user vector)");
  }
  if (o.fold_in) {
    const std::vector<float>& q = parts->query_x.empty() ? x : parts->query_x;
    parts->gram = GramMatrix(q.data(), n, static_cast<int>(d));
  }
  return absl::OkStatus();
}

// The base: the vectors and their ids.
absl::Status WriteBase(const BuildOptions& o, const Parts& parts, BundleWriter* writer) {
  SIMSEARCH_RETURN_IF_ERROR(
      WriteFloatArrayFile(writer->PathOf(kVectorsFile), parts.x.data(), parts.n, parts.d,
                          o.metric == Metric::kCosine ? kArrayFlagUnitNorm : 0));
  return WriteInt64ArrayFile(writer->PathOf(kIdsFile), parts.out_ids.data(), parts.n);
}

// One writer per bundle part (core/bundle_parts.h). Each writes nothing when the build
// does not ask for its part, and adds to the manifest what it learns writing it.
absl::Status WriteQueryVectors(const BuildOptions&, const Parts& parts, BundleWriter* writer,
                               Manifest*) {
  if (parts.query_x.empty()) return absl::OkStatus();
  return WriteFloatArrayFile(writer->PathOf(kQueryVectorsFile), parts.query_x.data(), parts.n,
                             parts.d, 0);
}

absl::Status WriteUsers(const BuildOptions&, const Parts& parts, BundleWriter* writer, Manifest*) {
  const UserData& users = parts.users;
  if (users.ids.empty()) return absl::OkStatus();
  const uint64_t nu = users.ids.size();
  SIMSEARCH_RETURN_IF_ERROR(
      WriteFloatArrayFile(writer->PathOf(kUserVectorsFile), users.vectors.data(), nu, parts.d, 0));
  SIMSEARCH_RETURN_IF_ERROR(
      WriteInt64ArrayFile(writer->PathOf(kUserIdsFile), users.ids.data(), nu));
  SIMSEARCH_RETURN_IF_ERROR(
      WriteInt64ArrayFile(writer->PathOf(kUserOffsetsFile), users.offsets.data(), nu + 1));
  return WriteInt64ArrayFile(writer->PathOf(kUserItemsFile), users.items.data(),
                             users.items.size());
}

absl::Status WriteSimilar(const BuildOptions&, const Parts& parts, BundleWriter* writer,
                          Manifest*) {
  if (parts.similar_x.empty()) return absl::OkStatus();
  return WriteFloatArrayFile(writer->PathOf(kSimilarVectorsFile), parts.similar_x.data(), parts.n,
                             parts.d, 0);
}

absl::Status WriteGram(const BuildOptions&, const Parts& parts, BundleWriter* writer, Manifest*) {
  if (parts.gram.empty()) return absl::OkStatus();
  return WriteFloatArrayFile(writer->PathOf(kGramFile), parts.gram.data(), parts.d, parts.d, 0);
}

absl::Status WriteProvenance(const BuildOptions&, const Parts& parts, BundleWriter* writer,
                             Manifest*) {
  if (parts.provenance.empty()) return absl::OkStatus();
  return WriteInt64ArrayFile(writer->PathOf(kItemProvenanceFile), parts.provenance.data(), parts.n,
                             2);
}

absl::Status WriteLexical(const BuildOptions& o, const Parts& parts, BundleWriter* writer,
                          Manifest* m) {
  if (parts.lexical_texts.empty()) return absl::OkStatus();
  Report(o, "indexing texts", 0);
  SIMSEARCH_RETURN_IF_ERROR(
      WriteLexicalIndex(parts.lexical_texts, writer->staging_dir(), &m->lexical_average_length));
  SIMSEARCH_ASSIGN_OR_RETURN(ArrayFileHeader h,
                             ReadArrayFileHeader(writer->PathOf(kLexicalTermOffsetsFile)));
  m->lexical_terms = h.count - 1;
  return absl::OkStatus();
}

absl::Status WriteEncoder(const BuildOptions& o, const Parts& parts, BundleWriter* writer,
                          Manifest*) {
  if (!parts.encoder) return absl::OkStatus();
  return CopyTree(o.encoder_dir, writer->PathOf(kEncoderDir));
}

// The catalogue's items in row order.
std::vector<const Item*> RowItems(const Parts& parts) {
  std::vector<const Item*> items;
  items.reserve(parts.n);
  for (int64_t id : parts.out_ids) items.push_back(parts.catalog->Find(id));
  return items;
}

absl::Status WriteItemsJson(const BuildOptions& o, const Parts& parts, BundleWriter* writer,
                            Manifest*) {
  if (!parts.catalog) return absl::OkStatus();
  return WriteItemsFile(writer->PathOf(kItemsFile), RowItems(parts), o.item_synopses);
}

// What the engine reads: the items' metadata in binary form, and the title index.
absl::Status WriteItemStore(const BuildOptions& o, const Parts& parts, BundleWriter* writer,
                            Manifest* m) {
  if (!parts.catalog) return absl::OkStatus();
  const ItemStore item_store = ItemStore::Build(RowItems(parts), o.item_synopses);
  SIMSEARCH_RETURN_IF_ERROR(item_store.Write(writer->staging_dir()));
  SIMSEARCH_RETURN_IF_ERROR(
      TitleIndex::Build(item_store, parts.out_ids.data()).Write(writer->staging_dir()));
  m->has_item_store = true;
  m->item_genres = item_store.genres();
  m->item_types = item_store.types();
  m->has_title_index = true;
  return absl::OkStatus();
}

// The manifest's description of the parts (WriteParts adds what it learns writing them).
void DescribeParts(const BuildOptions& o, const Parts& parts, Manifest* m) {
  m->collection = o.collection;
  m->metric = o.metric;
  m->dims = parts.d;
  m->count = parts.n;
  m->index_kind = o.index_kind;
  m->index_params = o.params;
  m->has_items = parts.catalog != nullptr;
  m->learned_vectors = parts.learned;
  m->predicted_vectors = parts.predicted;
  if (parts.predicted > 0) m->provenance_method = o.provenance_method;
  m->has_query_vectors = !parts.query_x.empty();
  m->user_count = parts.users.ids.size();
  m->has_similar = o.similar;
  m->similar_norm_power = o.similar ? o.similar_norm_power : 0;
  m->similar_shrink = o.similar ? o.similar_shrink : 0;
  m->similar_reason = o.similar ? o.similar_reason : "";
  m->has_lexical = !parts.lexical_texts.empty();
  m->lexical_source =
      parts.lexical_texts.empty()
          ? ""
          : absl::StrCat(o.lexical_path, " columns ", absl::StrJoin(o.lexical_text_columns, "+"));
  m->has_fold_in = o.fold_in;
  m->fold_in_alpha = o.fold_in ? o.fold_in_params.alpha : 0;
  m->fold_in_lambda = o.fold_in ? o.fold_in_params.lambda : 0;
  m->fold_in_prior = o.fold_in ? o.fold_in_prior : 0;
  if (parts.encoder) {
    m->encoder_kind = parts.encoder->kind();
    m->encoder_description = parts.encoder->Describe();
  }
  m->built_at = NowRfc3339();
  m->builder = "simsearch-indexer 0.1.0";
  m->source =
      !o.source.empty()
          ? o.source
          : absl::StrCat("vectors=", o.vectors_path,
                         o.ids_path.empty() ? "" : absl::StrCat(" ids=", o.ids_path),
                         o.catalog_paths.empty()
                             ? ""
                             : absl::StrCat(" catalog=", absl::StrJoin(o.catalog_paths, ",")));
}

// The vectors item queries ask with: the query-side ones when the bundle has them.
const float* QueryRows(const Parts& parts) {
  return parts.query_x.empty() ? nullptr : parts.query_x.data();
}

// The ANN index (none for flat), its recall measured through the searcher the engine
// will use.
absl::Status BuildIndex(const BuildOptions& o, const Parts& parts, BundleWriter* writer,
                        Manifest* m_out) {
  Manifest& m = *m_out;
  const uint64_t n = parts.n, d = parts.d;
  const std::vector<float>& x = parts.x;
  if (o.index_kind == IndexKind::kHnsw && o.hnsw_library == "hnswlib") {
    m.ann_library = "hnswlib";
    IndexParams& p = m.index_params;
    if (p.hnsw_m <= 0) p.hnsw_m = 32;
    if (p.ef_construction <= 0) p.ef_construction = 200;
    if (p.ef_search <= 0) p.ef_search = 128;
    const std::string stage = "building the HNSW graph (hnswlib)";
    SIMSEARCH_RETURN_IF_ERROR(BuildHnswlibIndex(x.data(), n, d, p, o.seed, o.threads,
                                                writer->PathOf(kHnswlibIndexFile),
                                                [&](double f) { Report(o, stage, f); }));
    // Recall through the searcher the engine will use, over the file it will load.
    SIMSEARCH_ASSIGN_OR_RETURN(std::unique_ptr<HnswlibSearcher> served,
                               HnswlibSearcher::Open(writer->PathOf(kHnswlibIndexFile), p, d, n));
    SIMSEARCH_RETURN_IF_ERROR(CalibrateAndMeasureRecall(o, ServedAnnSearch(*served), x.data(),
                                                        QueryRows(parts), n, d, &m.index_params,
                                                        &m.recall_at_10, &m.recall_queries));
  } else if (o.index_kind != IndexKind::kFlat) {
    m.ann_library = "faiss";
    SIMSEARCH_ASSIGN_OR_RETURN(std::unique_ptr<faiss::Index> ann,
                               BuildAnn(o, &m.index_params, x.data(), n, d));
    SIMSEARCH_RETURN_IF_ERROR(CalibrateAndMeasureRecall(o, FaissAnnSearch(o, *ann), x.data(),
                                                        QueryRows(parts), n, d, &m.index_params,
                                                        &m.recall_at_10, &m.recall_queries));
    try {
      faiss::write_index(ann.get(), writer->PathOf(kFaissIndexFile).c_str());
    } catch (const std::exception& e) {
      return absl::InternalError(
          absl::StrCat("cannot write ", writer->PathOf(kFaissIndexFile), ": ", e.what()));
    }
  } else {
    m.index_params = IndexParams();
  }
  return absl::OkStatus();
}

// Each row's genre labels from every catalogue source, as sorted ids, and each label's
// rarity over the whole catalogue: log(anime / anime with it).
void StoryLabels(const Catalog& catalog, const Collection& staged,
                 std::vector<std::vector<uint32_t>>* labels, std::vector<double>* rarity) {
  const uint64_t n = staged.count();
  labels->assign(n, {});
  absl::flat_hash_map<std::string, uint32_t> label_id;
  std::vector<double> with;
  for (const Item& it : catalog.items()) {
    for (const std::string& l : it.labels) {
      const uint32_t id =
          label_id.try_emplace(l, static_cast<uint32_t>(label_id.size())).first->second;
      if (id == with.size()) with.push_back(0);
      ++with[id];
    }
  }
  for (double w : with) rarity->push_back(std::log(static_cast<double>(catalog.size()) / w));
  for (uint64_t r = 0; r < n; ++r) {
    const Item* it = catalog.Find(staged.id(static_cast<uint32_t>(r)));
    if (it == nullptr) continue;
    for (const std::string& l : it->labels) (*labels)[r].push_back(label_id.at(l));
    std::sort((*labels)[r].begin(), (*labels)[r].end());
  }
}

// The precomputed "more like this" lists, if asked for (or by default when small
// enough): computed over the staged bundle opened as the engine opens it.
absl::Status BuildNeighbourLists(const BuildOptions& o, const Parts& parts, BundleWriter* writer,
                                 Manifest* m_out) {
  Manifest& m = *m_out;
  const uint64_t n = parts.n, d = parts.d;
  const Catalog* catalog = parts.catalog.get();
  int neighbours = o.neighbours;
  if (neighbours == kAutoNeighbours) {
    // Fused or capped lists were asked for by name: they are built whatever the budget.
    const double work = static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(d);
    neighbours = work <= kNeighboursAutoBudget || o.story || o.hub_cap ? kDefaultNeighbours : 0;
    if (neighbours == 0) {
      Report(o,
             absl::StrCat("no precomputed neighbours: ", n, " items of ", d,
                          " dims is too many for the default; ask with --neighbours K"),
             1);
    }
  }
  if (neighbours > 0 && n > 1) {
    // The staged bundle is opened as the engine would open it, and every item's list is
    // computed by the engine's own item query: a list answers what a search would.
    const absl::Time t0 = absl::Now();
    const int k = static_cast<int>(std::min<uint64_t>(static_cast<uint64_t>(neighbours), n - 1));
    SIMSEARCH_RETURN_IF_ERROR(writer->WriteManifest(m));
    SIMSEARCH_ASSIGN_OR_RETURN(
        std::unique_ptr<Collection> staged,
        Collection::Open(writer->staging_dir(), CollectionOptions{VerifyMode::kSizes}));
    const Engine engine(nullptr, EngineLimits{});
    std::vector<uint32_t> rows;
    std::vector<float> scores;
    const int threads = o.threads > 0
                            ? o.threads
                            : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    // With hubs capped, each list is chosen from a deeper candidate list.
    const int depth = o.hub_cap ? static_cast<int>(std::min<uint64_t>(std::max(200, k), n - 1)) : k;
    if (o.story) {
      const std::string stage =
          absl::StrCat("neighbours (top ", k, ", \"a story like this\": fused)");
      std::vector<std::vector<uint32_t>> labels;
      std::vector<double> rarity;
      if (catalog != nullptr) StoryLabels(*catalog, *staged, &labels, &rarity);
      SIMSEARCH_RETURN_IF_ERROR(ComputeStoryNeighbours(
          *staged, *o.story, depth, threads, catalog != nullptr ? &labels : nullptr,
          catalog != nullptr && o.story->weigh_rarity ? &rarity : nullptr,
          [&](double f) { Report(o, stage, f); }, &rows, &scores, &m.neighbours_fusion));
    } else {
      const std::string stage = absl::StrCat("neighbours (top ", k, ", exact)");
      SIMSEARCH_RETURN_IF_ERROR(engine.ComputeItemNeighbours(
          *staged, depth, threads, [&](double f) { Report(o, stage, f); }, &rows, &scores));
    }
    if (o.hub_cap) {
      std::vector<uint32_t> capped_rows;
      std::vector<float> capped_scores;
      uint64_t held_back = 0;
      CapHubs(rows, scores, n, depth, k, *o.hub_cap, &capped_rows, &capped_scores, &held_back);
      rows = std::move(capped_rows);
      scores = std::move(capped_scores);
      const std::string before = m.neighbours_fusion.empty() ? "exact" : m.neighbours_fusion;
      m.neighbours_fusion = absl::StrFormat(
          "%s; then hubs capped: no anime in more than %.3f of the lists, each list filled rank by "
          "rank from its top %d, the strongest claims first (%llu anime held back; "
          "indexer/hub_cap.h)",
          before, o.hub_cap->share, depth, static_cast<unsigned long long>(held_back));
    }
    staged.reset();
    SIMSEARCH_RETURN_IF_ERROR(
        WriteUInt32ArrayFile(writer->PathOf(kNeighboursFile), rows.data(), rows.size()));
    SIMSEARCH_RETURN_IF_ERROR(WriteFloatArrayFile(writer->PathOf(kNeighbourScoresFile),
                                                  scores.data(), n, static_cast<uint64_t>(k), 0));
    m.neighbours_k = static_cast<uint64_t>(k);
    m.neighbours_seconds = absl::ToDoubleSeconds(absl::Now() - t0);
  }
  return absl::OkStatus();
}

// The half-precision copy a flat bundle's scan reads first, and the recall@10 of the
// answers it gives (after rescoring) against the float scan. Measured as the engine
// searches: the same searchers, k = 10, each "more like this" query's own row left out
// through SearchParams::exclude (not by asking for 11), ties broken as the engine breaks
// them (score, then row; FAISS's order of ties counted rows of equal score as misses:
// 0.87 on the multi-hot genres at any rescore).
absl::Status WriteScan(const BuildOptions& o, const Parts& parts, BundleWriter* writer,
                       Manifest* m) {
  if (o.scan_precision != "f16") return absl::OkStatus();
  const uint64_t n = parts.n, d = parts.d;
  float largest = 0;
  for (float v : parts.x) largest = std::max(largest, std::fabs(v));
  if (largest > kLargestHalf) {
    return absl::InvalidArgumentError(
        absl::StrCat("--scan-precision f16: a vector component is ", largest,
                     ", beyond the largest half (", kLargestHalf,
                     "); scale the vectors down (the ranking does not depend on their length) "
                     "or drop --scan-precision"));
  }
  const std::vector<uint16_t> halves = FloatsToHalves(parts.x);
  SIMSEARCH_RETURN_IF_ERROR(
      WriteFloat16ArrayFile(writer->PathOf(kHalfVectorsFile), halves.data(), n, d));
  m->scan_precision = o.scan_precision;
  m->scan_rescore = o.scan_rescore.value_or(kDefaultScanRescore);
  uint64_t s = 0;
  std::vector<idx_t> own;
  SIMSEARCH_ASSIGN_OR_RETURN(std::vector<float> q,
                             RecallQueries(o, parts.x.data(), QueryRows(parts), n, d, &s, &own));
  std::vector<std::vector<uint32_t>> exclude(s);
  for (uint64_t i = 0; i < s; ++i) {
    if (own[i] >= 0) exclude[i] = {static_cast<uint32_t>(own[i])};
  }
  SearchParams p;
  p.k = static_cast<int>(std::min<uint64_t>(10, n > 1 ? n - 1 : 1));
  p.exclude = &exclude;
  std::vector<std::vector<Neighbor>> truth, got;
  SIMSEARCH_RETURN_IF_ERROR(ExactSearcher(parts.x.data(), n, d).Search(q.data(), s, p, &truth));
  SIMSEARCH_RETURN_IF_ERROR(HalfScanSearcher(parts.x.data(), halves.data(), n, d, m->scan_rescore)
                                .Search(q.data(), s, p, &got));
  double sum = 0;
  for (uint64_t i = 0; i < s; ++i) {
    size_t found = 0;
    for (const Neighbor& t : truth[i]) {
      for (const Neighbor& g : got[i]) found += g.row == t.row;
    }
    sum += truth[i].empty() ? 1.0 : static_cast<double>(found) / truth[i].size();
  }
  m->scan_recall_at_10 = s > 0 ? sum / static_cast<double>(s) : 1.0;
  m->scan_recall_queries = s;
  return absl::OkStatus();
}

// Each part of a bundle (core/bundle_parts.h) and the step that writes it, in the order
// they run: the files made from the inputs, then the ANN index (its recall is measured
// over the written file), then the precomputed neighbours (computed on the staged bundle,
// opened as the engine opens it).
struct PartWriter {
  const char* key;  // BundlePart::key
  absl::Status (*write)(const BuildOptions& o, const Parts& parts, BundleWriter* writer,
                        Manifest* m);
  bool from_inputs;  // false: derived from the files written before
};
constexpr PartWriter kPartWriters[] = {
    {"has_query_vectors", WriteQueryVectors, true},
    {"scan", WriteScan, true},
    {"user_count", WriteUsers, true},
    {"similar", WriteSimilar, true},
    {"fold_in", WriteGram, true},
    {"provenance", WriteProvenance, true},
    {"lexical", WriteLexical, true},
    {"encoder", WriteEncoder, true},
    {"has_items", WriteItemsJson, true},
    {"item_store", WriteItemStore, true},
    {"index", BuildIndex, false},
    {"neighbours", BuildNeighbourLists, false},
};

// The base, then every part's writer.
absl::Status WriteParts(const BuildOptions& o, const Parts& parts, BundleWriter* writer,
                        Manifest* m) {
  Report(o, "writing vectors", 0);
  SIMSEARCH_RETURN_IF_ERROR(WriteBase(o, parts, writer));
  bool reported = false;
  for (const PartWriter& w : kPartWriters) {
    if (!w.from_inputs && !reported) {
      Report(o, "writing vectors", 1);
      reported = true;
    }
    SIMSEARCH_RETURN_IF_ERROR(w.write(o, parts, writer, m));
  }
  return absl::OkStatus();
}

// Publishes the staged version (CURRENT names it) and prunes old ones (--keep).
absl::Status Publish(const BuildOptions& o, const Manifest& m, BundleWriter* writer,
                     BuildResult* result_out) {
  BuildResult& result = *result_out;
  Report(o, "publishing", 0);
  SIMSEARCH_ASSIGN_OR_RETURN(result.version, writer->Publish(m));
  const std::string collection_dir = (fs::path(o.out_root) / o.collection).string();
  result.version_dir = (fs::path(collection_dir) / result.version).string();
  // Not read back from disk: with --keep, a concurrent build may already have pruned
  // this version (it is no longer the newest), which is not an error of this build.
  result.manifest = writer->published_manifest();
  if (o.keep_versions > 0) {
    // The version is published; a failed prune is reported, not a failed build.
    auto pruned = PruneVersions(collection_dir, o.keep_versions);
    if (pruned.ok()) {
      result.pruned = *std::move(pruned);
    } else {
      result.prune_error = pruned.status();
    }
  }
  Report(o, "publishing", 1);
  return absl::OkStatus();
}

}  // namespace

bool WritesPart(absl::string_view key) {
  for (const PartWriter& w : kPartWriters) {
    if (key == w.key) return true;
  }
  return false;
}

absl::StatusOr<BuildResult> BuildBundle(const BuildOptions& o) {
  SIMSEARCH_RETURN_IF_ERROR(ValidateBuildOptions(o));
  SIMSEARCH_ASSIGN_OR_RETURN(Inputs in, ReadInputs(o));
  BuildResult result;
  Parts parts;
  std::vector<uint64_t> keep;
  SIMSEARCH_RETURN_IF_ERROR(SelectRows(o, in.ids, in.v.count, &parts.catalog, &keep, &result));
  SIMSEARCH_RETURN_IF_ERROR(ArrangeRows(o, std::move(in), std::move(keep), &parts));
  SIMSEARCH_RETURN_IF_ERROR(PrepareServingParts(o, &parts, &result));

  // Written into a staging directory, which is removed on any error.
  SIMSEARCH_ASSIGN_OR_RETURN(auto writer, BundleWriter::Create(o.out_root, o.collection));
  Manifest m;
  DescribeParts(o, parts, &m);
  SIMSEARCH_RETURN_IF_ERROR(WriteParts(o, parts, writer.get(), &m));
  SIMSEARCH_RETURN_IF_ERROR(Publish(o, m, writer.get(), &result));
  return result;
}

GenreVectors MakeGenreVectors(const Catalog& catalog) {
  GenreVectors out;
  std::map<std::string, uint64_t> column;
  for (const Item& it : catalog.items()) {
    for (const std::string& g : it.genres) column.emplace(g, 0);
  }
  for (auto& [name, j] : column) {
    j = out.vocabulary.size();
    out.vocabulary.push_back(name);
  }
  out.vectors.dims = out.vocabulary.size();
  for (const Item& it : catalog.items()) {
    if (it.genres.empty()) {
      out.skipped.push_back(it.id);
      continue;
    }
    const size_t at = out.vectors.data.size();
    out.vectors.data.resize(at + out.vectors.dims, 0.0f);
    for (const std::string& g : it.genres) out.vectors.data[at + column.at(g)] = 1.0f;
    out.vectors.ids.push_back(it.id);
    ++out.vectors.count;
  }
  return out;
}

}  // namespace simsearch
