// simsearch-text-eval: how well free-text search finds the anime a query describes,
// for every text mode and fusion, on a set of hand-written queries.
//
//   simsearch-text-eval --index_root var/index --collection synopsis
//       --queries bench/data/text_queries.tsv
//
// The queries file (bench/data/text_queries.tsv): `split<TAB>query<TAB>ids<TAB>title`
// per line, '#' comments. Or a batch with the header line
// `kind<TAB>target_id<TAB>target_title<TAB>query<TAB>...` (bench/data/
// text_queries_2026_12.tsv): one target per query; its split is the kind (paraphrase,
// plain) and, with --catalog, "2019+" or "older" by the target's start year; the
// answers are the target and the collection's anime whose title starts with the
// target's (its seasons and films, as the older file lists them). A query is answered when any of
// its ids is in the top 10 (hit@10); MRR@10 is the mean of 1/rank of the first such id (0 past rank
// 10). Both are reported per split (the file's header says which split chose what; "test3" took
// part in no choice). Runs in process against the bundle, through Engine::Search, so the
// figures are those of the served code.
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "bench/local_engine.h"
#include "core/catalog.h"
#include "core/cli.h"

namespace simsearch {
namespace {

struct EvalQuery {
  std::string split, text, title;
  std::vector<int64_t> ids;
};

struct Config {
  std::string name;
  TextOptions options;
};

int Run(int argc, char** argv) {
  std::string root, collection = "synopsis", path = "bench/data/text_queries.tsv";
  bool misses = false;
  std::vector<std::string> catalogs;
  ArgParser p(
      "simsearch-text-eval",
      "simsearch-text-eval: hit@10 and MRR@10 of text search in each mode (dense, lexical,\n"
      "hybrid with RRF and convex fusion over a grid of parameters) on hand-written queries.");
  p.AddString("index_root", &root, "index root", "ROOT");
  p.AddString("collection", &collection,
              "collection with an encoder and a lexical index (default synopsis)", "NAME");
  p.AddString("queries", &path, "queries file (default bench/data/text_queries.tsv)", "FILE");
  p.AddBool("misses", &misses,
            "list the held-out queries each of dense, lexical and the default hybrid miss");
  bool adaptive = false;
  p.AddBool("adaptive", &adaptive,
            "instead: query-dependent convex weights (a grid), fused from each side's top 100");
  p.AddStringList("catalog", &catalogs,
                  "catalogue CSV(s) with start dates: split a target-format batch by era", "FILE");
  p.Require("index_root");
  if (int rc = p.ParseOrExitCode(argc, argv, 1, nullptr); rc >= 0) return rc;

  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    return 1;
  }
  std::optional<Catalog> catalog;
  if (!catalogs.empty()) {
    auto c = Catalog::Load(catalogs);
    if (!c.ok()) {
      std::fprintf(stderr, "%s\n", std::string(c.status().message()).c_str());
      return 1;
    }
    catalog = *std::move(c);
  }
  std::vector<EvalQuery> queries;
  std::string line;
  bool targets = false;  // the kind / target_id / target_title / query layout
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f = absl::StrSplit(line, '\t');
    if (f[0] == "kind") {
      targets = true;
      continue;
    }
    EvalQuery q;
    if (targets) {
      int64_t id;
      if (f.size() < 4 || !absl::SimpleAtoi(f[1], &id)) {
        std::fprintf(stderr, "%s:%d: want kind<TAB>target_id<TAB>target_title<TAB>query\n",
                     path.c_str(), n);
        return 1;
      }
      q.split = f[0];
      if (catalog) {
        const Item* it = catalog->Find(id);
        q.split += it != nullptr && it->start_year() >= 2019 ? " 2019+" : " older";
      }
      q.ids.push_back(id);
      q.title = f[2];
      q.text = f[3];
      queries.push_back(std::move(q));
      continue;
    }
    if (f.size() < 3) {
      std::fprintf(stderr, "%s:%d: want split<TAB>query<TAB>ids\n", path.c_str(), n);
      return 1;
    }
    q.split = f[0];
    q.text = f[1];
    q.title = f.size() > 3 ? f[3] : "";
    for (absl::string_view id : absl::StrSplit(f[2], ',')) {
      int64_t v;
      if (!absl::SimpleAtoi(id, &v)) {
        std::fprintf(stderr, "%s:%d: '%s' is not an id\n", path.c_str(), n,
                     std::string(id).c_str());
        return 1;
      }
      q.ids.push_back(v);
    }
    queries.push_back(std::move(q));
  }

  auto local = LocalEngine::Open(root);
  if (local == nullptr) return 1;
  Engine& engine = local->engine();
  auto c = engine.GetCollection(collection);
  if (!c.ok()) {
    std::fprintf(stderr, "%s\n", std::string(c.status().message()).c_str());
    return 1;
  }
  std::printf("collection %s %s: %s\n", collection.c_str(), (*c)->version().c_str(),
              TextSearchDescription(**c).c_str());
  if (targets) {  // a target's seasons and films answer its query too
    const Collection& col = **c;
    for (EvalQuery& q : queries) {
      auto row = col.RowOf(q.ids[0]);
      if (!row.ok() || !col.item(*row)) continue;
      const absl::string_view title = col.item(*row).title();
      for (uint32_t r = 0; r < col.count(); ++r) {
        if (r != *row && col.item(r) && absl::StartsWith(col.item(r).title(), title))
          q.ids.push_back(col.id(r));
      }
    }
  }

  std::vector<Config> configs;
  configs.push_back({"dense", MakeTextOptions(TextMode::kDense)});
  configs.push_back({"lexical (BM25)", MakeTextOptions(TextMode::kLexical)});
  configs.push_back({"hybrid (default)", MakeTextOptions(TextMode::kDefault)});
  for (float k : {10.0f, 30.0f, 60.0f}) {
    for (float w : {0.5f, 0.4f, 0.3f, 0.2f, 0.1f}) {
      configs.push_back({absl::StrCat("hybrid rrf k=", k, " w=", w),
                         MakeTextOptions(TextMode::kHybrid, Fusion::kRrf, k, w)});
    }
  }
  for (float w : {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f, 0.9f}) {
    configs.push_back({absl::StrCat("hybrid convex w=", w),
                       MakeTextOptions(TextMode::kHybrid, Fusion::kConvex, {}, w)});
  }
  // Splits in the order they appear; "all" last.
  std::vector<std::string> splits;
  for (const auto& q : queries) {
    if (std::find(splits.begin(), splits.end(), q.split) == splits.end()) splits.push_back(q.split);
  }
  std::printf("%zu queries:", queries.size());
  for (const auto& sp : splits) {
    std::printf(
        " %s %ld", sp.c_str(),
        static_cast<long>(std::count_if(queries.begin(), queries.end(),
                                        [&](const EvalQuery& q) { return q.split == sp; })));
  }
  std::printf(" (the queries file says which splits chose what)\n\n%-24s", "mode");
  splits.push_back("all");
  for (const auto& sp : splits) std::printf(" %8s hit %8s MRR", sp.c_str(), sp.c_str());
  std::printf("\n");
  if (adaptive) {
    // Query-dependent convex weights, fused here from each side's top 100: the dense
    // weight grows as BM25's evidence weakens (its top score's lead over its 10th,
    // relative to the top: near 0 when many documents match the words equally).
    struct Sides {
      std::vector<Hit> dense, lexical;
    };
    std::vector<Sides> sides(queries.size());
    for (size_t i = 0; i < queries.size(); ++i) {
      for (TextMode mode : {TextMode::kDense, TextMode::kLexical}) {
        SearchQuery sq = SearchQuery::Text(queries[i].text);
        sq.text_options = MakeTextOptions(mode);
        auto r = engine.Search(collection, {sq}, 100, {}, absl::InfiniteFuture());
        if (r.ok()) (mode == TextMode::kDense ? sides[i].dense : sides[i].lexical) = r->hits[0];
      }
    }
    auto gap = [](const std::vector<Hit>& h) {
      if (h.size() < 10 || h[0].score <= 0) return 1.0;
      return static_cast<double>((h[0].score - h[9].score) / h[0].score);
    };
    std::printf(
        "\nadaptive convex: dense weight = lo + (hi - lo) * (1 - min(1, BM25 gap / g)); gap = (s1 "
        "- s10) / s1\n");
    for (double lo : {0.1, 0.2, 0.3}) {
      for (double hi : {0.5, 0.6, 0.7, 0.8, 0.9}) {
        for (double g : {0.3, 0.5, 0.7}) {
          std::vector<double> hit(splits.size(), 0);
          std::vector<int> count(splits.size(), 0);
          for (size_t i = 0; i < queries.size(); ++i) {
            const double conf = std::min(1.0, gap(sides[i].lexical) / g);
            const double w = lo + (hi - lo) * (1 - conf);
            absl::flat_hash_map<int64_t, double> fused;
            auto add = [&](const std::vector<Hit>& h, double weight) {
              if (h.empty()) return;
              double mn = h[0].score, mx = h[0].score;
              for (const Hit& x : h)
                mn = std::min<double>(mn, x.score), mx = std::max<double>(mx, x.score);
              for (const Hit& x : h)
                fused[x.id] += weight * (mx > mn ? (x.score - mn) / (mx - mn) : 1.0);
            };
            add(sides[i].dense, w);
            add(sides[i].lexical, 1 - w);
            std::vector<std::pair<double, int64_t>> ranked;
            for (const auto& [id, sc] : fused) ranked.emplace_back(-sc, id);
            std::sort(ranked.begin(), ranked.end());
            bool found = false;
            for (size_t r = 0; r < ranked.size() && r < 10 && !found; ++r) {
              found = std::find(queries[i].ids.begin(), queries[i].ids.end(), ranked[r].second) !=
                      queries[i].ids.end();
            }
            const size_t sp = static_cast<size_t>(
                std::find(splits.begin(), splits.end(), queries[i].split) - splits.begin());
            for (size_t a : {sp, splits.size() - 1}) {
              hit[a] += found;
              ++count[a];
            }
          }
          std::printf("%-24s", absl::StrCat("lo ", lo, " hi ", hi, " g ", g).c_str());
          for (size_t a = 0; a < splits.size(); ++a)
            std::printf(" %12.3f %12s", count[a] ? hit[a] / count[a] : 0.0, "");
          std::printf("\n");
        }
      }
    }
    return 0;
  }
  for (const Config& cfg : configs) {
    std::vector<double> hit(splits.size(), 0), rr(splits.size(), 0);
    std::vector<int> count(splits.size(), 0);
    std::vector<std::string> missed;
    for (const EvalQuery& q : queries) {
      SearchQuery sq = SearchQuery::Text(q.text);
      sq.text_options = cfg.options;
      auto r = engine.Search(collection, {sq}, 10, {}, absl::InfiniteFuture());
      int rank = 0;
      if (r.ok()) {
        const auto& hits = r->hits[0];
        for (size_t i = 0; i < hits.size() && rank == 0; ++i) {
          if (std::find(q.ids.begin(), q.ids.end(), hits[i].id) != q.ids.end())
            rank = static_cast<int>(i) + 1;
        }
      } else {
        std::fprintf(stderr, "%s: \"%s\": %s\n", cfg.name.c_str(), q.text.c_str(),
                     std::string(r.status().message()).c_str());
      }
      const size_t s =
          static_cast<size_t>(std::find(splits.begin(), splits.end(), q.split) - splits.begin());
      for (size_t a : {s, splits.size() - 1}) {
        hit[a] += rank > 0;
        rr[a] += rank > 0 ? 1.0 / rank : 0;
        ++count[a];
      }
      if (rank == 0 && q.split != "dev") missed.push_back(q.title);
    }
    std::printf("%-24s", cfg.name.c_str());
    for (size_t a = 0; a < splits.size(); ++a) {
      std::printf(" %12.3f %12.3f", count[a] ? hit[a] / count[a] : 0.0,
                  count[a] ? rr[a] / count[a] : 0.0);
    }
    std::printf("\n");
    if (misses && (&cfg - &configs[0]) < 3) {
      std::printf("    held-out misses: %s\n", absl::StrJoin(missed, "; ").c_str());
    }
  }
  return 0;
}

}  // namespace
}  // namespace simsearch

int main(int argc, char** argv) {
  return simsearch::Run(argc, argv);
}
