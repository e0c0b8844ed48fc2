// simsearch-indexer: builds versioned index bundles (docs/FORMAT.md).
#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "core/catalog.h"
#include "core/cli.h"
#include "core/file_util.h"
#include "core/npy.h"
#include "indexer/indexer.h"

namespace simsearch {
namespace {

constexpr char kUsage[] =
    "simsearch-indexer: builds versioned index bundles (exact, FAISS IVF, HNSW by hnswlib or "
    "FAISS)\n"
    "\n"
    "Commands:\n"
    "  build          vectors + ids + catalogue -> ROOT/<collection>/vNNNNNN, published "
    "atomically\n"
    "  genre-vectors  the catalogue's multi-hot genre vectors (the `genres` baseline)\n"
    "\n"
    "Run `simsearch-indexer COMMAND --help` for a command's flags.";

constexpr char kBuildUsage[] =
    "simsearch-indexer build: builds one version of a collection and makes it current.\n"
    "\n"
    "  simsearch-indexer build --collection NAME --vectors FILE [--ids FILE]\n"
    "      [--catalog FILE ...] --metric cosine|ip --index flat|ivf|hnsw [params] --out ROOT\n"
    "\n"
    "Vectors: .npy (float32/float64, C order, items x dims), .fvecs, or .csv rows of\n"
    "`id,v1,...,vn` (the CSV carries its ids; the others need --ids: .npy int64/int32 or\n"
    "text with one id per line, in row order). Cosine normalises every vector.\n"
    "Nothing is written unless every check passes: NaN/Inf, ragged rows, dimension\n"
    "mismatch, duplicate ids, ids missing from the catalogue, zero vectors under cosine,\n"
    "truncated or wrong-dtype files and empty input are errors naming file, row and reason.\n"
    "ANN kinds record recall@10 against exact search, measured on a sample of the\n"
    "collection's own vectors, in the manifest.";

constexpr char kGenreUsage[] =
    "simsearch-indexer genre-vectors: writes each catalogue item's multi-hot genre vector.\n"
    "\n"
    "  simsearch-indexer genre-vectors --catalog FILE [--catalog FILE ...]\n"
    "      --out-vectors VECTORS.npy --out-ids IDS.npy\n"
    "\n"
    "Columns follow the sorted genre vocabulary (printed). Items without genres are skipped\n"
    "and counted. Feed the output to `build --metric cosine`.";

class Progress {
 public:
  Progress() : tty_(::isatty(2) != 0) {}
  void operator()(absl::string_view stage, double fraction) {
    const std::string s(stage);
    if (tty_) {
      std::fprintf(stderr, "\r[indexer] %-48s %5.1f%%", s.c_str(), 100.0 * fraction);
      if (fraction >= 1.0) std::fprintf(stderr, "\n");
      std::fflush(stderr);
      return;
    }
    // Logs get one line when a stage starts and one when it ends, plus every 10%.
    const int decile = static_cast<int>(fraction * 10);
    if (s != stage_ || decile != decile_) {
      std::fprintf(stderr, "[indexer] %s %.0f%%\n", s.c_str(), 100.0 * fraction);
      stage_ = s;
      decile_ = decile;
    }
  }

 private:
  bool tty_;
  std::string stage_;
  int decile_ = -1;
};

int Fail(const absl::Status& st) {
  std::fprintf(stderr, "simsearch-indexer: error: %s\n", std::string(st.message()).c_str());
  return 1;
}

// The flags that are parsed or checked before they become BuildOptions.
struct BuildFlags {
  std::string metric = "cosine", index = "flat";
  int keep = 5, nlist = 0, nprobe = 0, m = 0, efc = 0, efs = 0, dims = 0, recall = 1000;
  std::string similar_text, fold_in_text;
  double fold_in_prior = 0;
  std::vector<std::string> lexical_columns;
  bool story = false;
  std::string story_viewers, story_weights;
  double hub_cap = 0;
  int scan_rescore = 0;  // BuildOptions::scan_rescore when given
};

// What goes in: vectors, ids, catalogue, users, provenance, encoder.
void AddInputFlags(ArgParser* p, BuildOptions* o) {
  p->AddString("collection", &o->collection, "collection name ([A-Za-z0-9_.-], e.g. genres)",
               "NAME");
  p->AddString("vectors", &o->vectors_path, "item vectors: .npy, .fvecs or .csv", "FILE");
  p->AddString("ids", &o->ids_path, "item ids in row order: .npy or text (not with .csv)", "FILE");
  p->AddStringList("catalog", &o->catalog_paths,
                   "catalogue CSV(s) with item metadata; repeat to merge (earlier files win,\n"
                   "later ones fill gaps). Without it the bundle has ids and vectors only",
                   "FILE");
  p->AddString("query-vectors", &o->query_vectors_path,
               "two-tower models: the query-side vector of each item, same rows as --vectors;\n"
               "used when an item (more like this, a watch list) is the query",
               "FILE");
  p->AddString("user-vectors", &o->user_vectors_path,
               "two-tower models: user vectors, so the engine can recommend for a user id", "FILE");
  p->AddString("user-ids", &o->user_ids_path, "ids of --user-vectors in row order", "FILE");
  p->AddString("user-items", &o->user_items_path,
               "interactions CSV (user_id, item id): each user's items, excluded from their\n"
               "recommendations",
               "FILE");
  p->AddString("user-listed", &o->user_listed_path,
               "interactions CSV (user_id, item id) of anime a user listed without watching\n"
               "(dropped, plan to watch: simsearch-train-ncf's user_listed.csv): excluded from\n"
               "their recommendations too, but not counted as viewers",
               "FILE");
  p->AddString("item-provenance", &o->item_provenance_path,
               "where each vector came from: a CSV of anime_id, source (learned|predicted),\n"
               "viewers, one row per vector (simsearch-cold-start predict writes it); clients\n"
               "are told whether an item's vector was learned from viewers or predicted",
               "FILE");
  p->AddString("provenance-method", &o->provenance_method,
               "with --item-provenance: how the predicted vectors were made (for the manifest)",
               "TEXT");
  p->AddString("encoder", &o->encoder_dir,
               "the text encoder that made the vectors (a sentence-transformers folder, or the\n"
               "--encoder-out of simsearch-embed); stored in the bundle so the engine can search\n"
               "this collection with free text",
               "DIR");
}

// How it is searched: metric and index.
void AddIndexFlags(ArgParser* p, BuildOptions* o, BuildFlags* f) {
  p->AddString("metric", &f->metric, "cosine (vectors normalised) or ip (inner product as given)",
               "cosine|ip");
  p->AddString("index", &f->index, "flat (exact, memory-mapped), ivf or hnsw", "flat|ivf|hnsw");
  p->AddInt("nlist", &f->nlist, "IVF lists (default about 4*sqrt(n), at most n/39)");
  p->AddInt("nprobe", &f->nprobe, "IVF lists searched per query (default max(8, nlist/8))");
  p->AddInt("M", &f->m, "HNSW neighbours per node (default 32)");
  p->AddInt("ef-construction", &f->efc, "HNSW build beam (default 200)");
  p->AddInt("ef-search", &f->efs, "HNSW query beam (default 128)");
  p->AddInt("dims", &f->dims, "expected dimensions; anything else is an error (default: any)");
  p->AddString("scan-precision", &o->scan_precision,
               "flat: f16 adds a half-precision copy that searches scan first (half the bytes\n"
               "per query), then score their best RESCORE x k rows again in f32; its recall@10\n"
               "against the f32 scan is measured and recorded (default f32: none)",
               "f32|f16");
  p->AddInt("scan-rescore", &f->scan_rescore,
            "with --scan-precision f16: candidates per wanted row scored again in f32 (1-64,\n"
            "default 4); refused without --scan-precision f16",
            "RESCORE");
}

// What the bundle carries besides: catalogue handling, texts, lexical index.
void AddContentFlags(ArgParser* p, BuildOptions* o, BuildFlags* f) {
  p->AddBool("skip-bad-rows", &o->skip_bad_rows,
             "skip catalogue records whose field count differs from the header's (each\n"
             "reported) instead of failing");
  p->AddBool("drop-missing", &o->drop_missing,
             "leave out ids the catalogue lacks (reported) instead of failing");
  p->AddBool("item-synopses", &o->item_synopses,
             "keep the catalogue's synopses in the item metadata (GetItems answers them;\n"
             "search hits never carry them)");
  p->AddString("lexical", &o->lexical_path,
               "also build a lexical (BM25) index over the texts of this CSV (one record per\n"
               "item; items without one index nothing), for text queries in lexical and hybrid\n"
               "mode (retrieval/lexical.h)",
               "FILE");
  p->AddString("lexical-id-column", &o->lexical_id_column,
               "--lexical: id column (default anime_id)", "NAME");
  p->AddStringList("lexical-text-column", &f->lexical_columns,
                   "--lexical: text column(s), joined (repeatable; default synopsis)", "NAME");
}

// How items, watch lists and "more like this" are served, and the build itself.
void AddServingFlags(ArgParser* p, BuildOptions* o, BuildFlags* f) {
  p->AddString("similar", &f->similar_text,
               "rank \"more like this\" apart from the main vectors: candidates x_j / |x_j|^P,\n"
               "times n_j / (n_j + S) for an item with n_j viewers (from --user-items);\n"
               "docs/MODELS.md chose 0.75,50 for ncf",
               "P,S");
  p->AddString("similar-reason", &o->similar_reason, "why --similar, recorded in the manifest",
               "TEXT");
  p->AddString(
      "fold-in", &f->fold_in_text,
      "answer watch lists with the user vector folded in for that list (retrieval/fold_in.h)\n"
      "instead of the mean of its items; docs/MODELS.md chose 0.001,100 for ncf",
      "ALPHA,LAMBDA");
  p->AddDouble("fold-in-prior", &f->fold_in_prior,
               "with --fold-in and --user-vectors: pull a watch list toward the mean user vector\n"
               "with weight MU / (liked anime), so short lists lean on what the typical user\n"
               "watches; docs/MODELS.md chose 1 for ncf (default 0: none)",
               "MU");
  p->AddString("source", &o->source, "what made the vectors, recorded in the manifest");
  p->AddInt("recall-queries", &f->recall, "sample size for recall@10 of ANN kinds (default 1000)");
  p->AddString("recall-query-vectors", &o->recall_query_vectors_path,
               "measure recall@10 on these queries (.npy/.fvecs/.csv; e.g. the user vectors that\n"
               "will query the collection) instead of a sample of the collection's own vectors",
               "FILE");
  p->AddString("hnsw-library", &o->hnsw_library,
               "which library builds and serves --index hnsw: hnswlib (default; 3x faster to\n"
               "search here, docs/BENCHMARKS.md) or faiss",
               "hnswlib|faiss");
  p->AddDouble(
      "target-recall", &o->target_recall,
      "IVF: choose nprobe as the smallest whose recall@10 reaches R on half of the recall\n"
      "queries, and record the recall on the other half (instead of max(8, nlist/8))",
      "R");
  p->AddInt("neighbours", &o->neighbours,
            "precompute each item's exact top-K \"more like this\" into the bundle, answered\n"
            "without a search when top_k <= K and the filter leaves top_k of them; 0: none;\n"
            "at most 1000 (default 100 when count^2 x dims <= 5e11, under a minute on 2\n"
            "cores; else none)",
            "K");
  p->AddBool("story-neighbours", &f->story,
             "make the neighbours \"a story like this\": each item's list fused from its own\n"
             "embedding, the viewers' lists (--story-viewers), the overlap of every catalogue\n"
             "source's genre and theme labels, rare ones weighing most (needs --catalog) and,\n"
             "if weighed, BM25 of its\n"
             "titles and synopsis (needs --lexical, --item-synopses), instead of the exact\n"
             "lists; indexer/story.h and docs/MODELS.md say how and why");
  p->AddString("story-viewers", &f->story_viewers,
               "with --story-neighbours: the collection whose \"more like this\" lists say what\n"
               "viewers also watched: ROOT/NAME (its current version) or a version directory",
               "DIR");
  p->AddString("story-weights", &f->story_weights,
               "with --story-neighbours: the signals' weights (default\n"
               "embedding=0.1,words=0,viewers=0.1,genres=0.8)",
               "SIGNAL=W,...");
  p->AddDouble("neighbours-cap", &f->hub_cap,
               "cap hubs: no anime in more than SHARE of the precomputed lists (e.g. 0.02); each\n"
               "list is filled rank by rank from its top max(200, K), the strongest claims first,\n"
               "so the lists are no longer the exact search's; where a filter or the cap leaves\n"
               "a list too short, the search fills it (indexer/hub_cap.h; 0: off, the default)",
               "SHARE");
  p->AddInt("threads", &o->threads,
            "threads for the neighbours and the HNSW graph (default: one per CPU; 1 makes\n"
            "an hnswlib graph repeat bit for bit)");
  p->AddInt("keep", &f->keep, "versions to keep; older ones are deleted (default 5, 0 keeps all)");
  p->AddString("out", &o->out_root, "index root; the bundle goes to ROOT/<collection>/vNNNNNN",
               "ROOT");
  for (const char* r : {"collection", "vectors", "out"}) p->Require(r);
}

// The index flags, checked together, into `o`.
absl::Status ApplyIndexFlags(const BuildFlags& f, BuildOptions* o) {
  auto mt = ParseMetric(f.metric);
  if (!mt.ok()) return mt.status();
  auto kind = ParseIndexKind(f.index);
  if (!kind.ok()) return kind.status();
  for (auto [v, name] : {std::pair{f.nlist, "nlist"},
                         {f.nprobe, "nprobe"},
                         {f.m, "M"},
                         {f.efc, "ef-construction"},
                         {f.efs, "ef-search"},
                         {f.dims, "dims"},
                         {f.keep, "keep"},
                         {f.recall, "recall-queries"}}) {
    if (v < 0) return absl::InvalidArgumentError(absl::StrCat("--", name, " must be >= 0"));
  }
  if (*kind != IndexKind::kIvf && (f.nlist || f.nprobe)) {
    return absl::InvalidArgumentError("--nlist/--nprobe apply to --index ivf only");
  }
  if (o->hnsw_library != "hnswlib" && o->hnsw_library != "faiss") {
    return absl::InvalidArgumentError(
        absl::StrCat("--hnsw-library is hnswlib or faiss, got '", o->hnsw_library, "'"));
  }
  if (o->target_recall != 0) {
    if (!(o->target_recall > 0 && o->target_recall <= 1)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--target-recall must be in (0, 1], got ", o->target_recall));
    }
    if (*kind != IndexKind::kIvf)
      return absl::InvalidArgumentError("--target-recall applies to --index ivf only");
    if (f.nprobe != 0)
      return absl::InvalidArgumentError("give --nprobe or --target-recall, not both");
    if (f.recall < 2)
      return absl::InvalidArgumentError("--target-recall needs --recall-queries of at least 2");
  }
  if (*kind != IndexKind::kHnsw && (f.m || f.efc || f.efs)) {
    return absl::InvalidArgumentError(
        "--M/--ef-construction/--ef-search apply to --index hnsw only");
  }
  o->metric = *mt;
  o->index_kind = *kind;
  o->params = {f.nlist, f.nprobe, f.m, f.efc, f.efs};
  o->expect_dims = static_cast<uint64_t>(f.dims);
  o->keep_versions = static_cast<size_t>(f.keep);
  o->recall_queries = static_cast<size_t>(f.recall);
  return absl::OkStatus();
}

// The serving flags (--similar, --fold-in, --neighbours-cap, --story-*) into `o`.
absl::Status ApplyServingFlags(const BuildFlags& f, BuildOptions* o) {
  auto pair = [](const std::string& text, const char* flag, float* a, float* b) -> absl::Status {
    std::vector<std::string> parts = absl::StrSplit(text, ',');
    if (parts.size() != 2 || !absl::SimpleAtof(parts[0], a) || !absl::SimpleAtof(parts[1], b)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, " takes two numbers, e.g. 0.75,50; got '", text, "'"));
    }
    return absl::OkStatus();
  };
  if (!f.lexical_columns.empty()) o->lexical_text_columns = f.lexical_columns;
  if (!f.similar_text.empty()) {
    o->similar = true;
    if (auto st = pair(f.similar_text, "similar", &o->similar_norm_power, &o->similar_shrink);
        !st.ok())
      return st;
  }
  if (!f.fold_in_text.empty()) {
    o->fold_in = true;
    if (auto st =
            pair(f.fold_in_text, "fold-in", &o->fold_in_params.alpha, &o->fold_in_params.lambda);
        !st.ok()) {
      return st;
    }
  }
  o->fold_in_prior = static_cast<float>(f.fold_in_prior);
  if (f.hub_cap != 0) {
    HubCap hc;
    hc.share = f.hub_cap;
    o->hub_cap = hc;
  }
  if (!f.story && (!f.story_viewers.empty() || !f.story_weights.empty())) {
    return absl::InvalidArgumentError(
        "--story-viewers and --story-weights go with --story-neighbours");
  }
  if (f.story) {
    StoryOptions so;
    so.viewers = f.story_viewers;
    if (!f.story_weights.empty()) {
      auto w = ParseStoryWeights(f.story_weights);
      if (!w.ok()) return w.status();
      so.weights = *w;
    }
    o->story = so;
  }
  return absl::OkStatus();
}

// What the build did, on stderr (dropped and skipped input, pruning) and stdout.
void ReportBuild(const BuildResult& result, absl::Time start) {
  const BuildResult* r = &result;
  if (r->user_items_dropped > 0) {
    std::fprintf(stderr,
                 "[indexer] %llu user-item pairs name items outside the collection (ignored)\n",
                 static_cast<unsigned long long>(r->user_items_dropped));
  }
  for (const std::string& s : r->skipped_rows)
    std::fprintf(stderr, "[indexer] skipped %s\n", s.c_str());
  if (!r->dropped_ids.empty()) {
    std::fprintf(stderr, "[indexer] dropped %zu ids missing from the catalogue\n",
                 r->dropped_ids.size());
  }
  for (const std::string& v : r->pruned) std::fprintf(stderr, "[indexer] pruned %s\n", v.c_str());
  if (!r->prune_error.ok()) {
    std::fprintf(stderr, "[indexer] warning: published, but pruning old versions failed: %s\n",
                 std::string(r->prune_error.message()).c_str());
  }
  const Manifest& man = r->manifest;
  std::printf("published %s: %llu x %llu, %s, %s", r->version_dir.c_str(),
              static_cast<unsigned long long>(man.count), static_cast<unsigned long long>(man.dims),
              std::string(MetricName(man.metric)).c_str(),
              std::string(IndexKindName(man.index_kind)).c_str());
  if (man.index_kind != IndexKind::kFlat) {
    std::printf(", recall@10 %.4f on %llu queries", man.recall_at_10,
                static_cast<unsigned long long>(man.recall_queries));
  }
  if (!man.scan_precision.empty()) {
    std::printf(", %s scan (rescore %d): recall@10 %.4f on %llu queries",
                man.scan_precision.c_str(), man.scan_rescore, man.scan_recall_at_10,
                static_cast<unsigned long long>(man.scan_recall_queries));
  }
  if (man.user_count > 0)
    std::printf(", %llu users", static_cast<unsigned long long>(man.user_count));
  if (man.neighbours_k > 0) {
    std::printf(", top-%llu neighbours in %.1f s",
                static_cast<unsigned long long>(man.neighbours_k), man.neighbours_seconds);
  }
  std::printf(" (%.1f s)\n", absl::ToDoubleSeconds(absl::Now() - start));
}

int Build(int argc, char** argv) {
  BuildOptions o;
  BuildFlags f;
  ArgParser p("simsearch-indexer build", kBuildUsage);
  AddInputFlags(&p, &o);
  AddIndexFlags(&p, &o, &f);
  AddContentFlags(&p, &o, &f);
  AddServingFlags(&p, &o, &f);
  if (int rc = p.ParseOrExitCode(argc, argv, 2, nullptr); rc >= 0) return rc;
  if (p.was_set("scan-rescore")) o.scan_rescore = f.scan_rescore;
  for (auto apply : {ApplyIndexFlags, ApplyServingFlags}) {
    if (absl::Status st = apply(f, &o); !st.ok()) return Fail(st);
  }
  Progress progress;
  o.progress = [&progress](absl::string_view s, double fraction) { progress(s, fraction); };
  const absl::Time start = absl::Now();
  auto r = BuildBundle(o);
  if (!r.ok()) return Fail(r.status());
  ReportBuild(*r, start);
  return 0;
}

int Genres(int argc, char** argv) {
  std::vector<std::string> catalogs;
  std::string out_vectors, out_ids;
  ArgParser p("simsearch-indexer genre-vectors", kGenreUsage);
  p.AddStringList("catalog", &catalogs, "catalogue CSV(s); repeat to merge", "FILE");
  p.AddString("out-vectors", &out_vectors, "output vectors (.npy, float32)", "FILE");
  p.AddString("out-ids", &out_ids, "output ids (.npy int64, or text for any other extension)",
              "FILE");
  CatalogOptions copts;
  p.AddBool("skip-bad-rows", &copts.skip_bad_rows,
            "skip catalogue records whose field count differs from the header's (each\n"
            "reported) instead of failing");
  for (const char* r : {"catalog", "out-vectors", "out-ids"}) p.Require(r);
  if (int rc = p.ParseOrExitCode(argc, argv, 2, nullptr); rc >= 0) return rc;
  auto catalog = Catalog::Load(catalogs, copts);
  if (!catalog.ok()) return Fail(catalog.status());
  for (const std::string& s : catalog->skipped())
    std::fprintf(stderr, "[indexer] skipped %s\n", s.c_str());
  GenreVectors g = MakeGenreVectors(*catalog);
  if (g.vectors.count == 0)
    return Fail(absl::InvalidArgumentError("no catalogue item has a genre"));
  absl::Status st =
      WriteNpyFloat32(out_vectors, g.vectors.data.data(), g.vectors.count, g.vectors.dims);
  if (!st.ok()) return Fail(st);
  if (absl::EndsWith(out_ids, ".npy")) {
    st = WriteNpyInt64(out_ids, g.vectors.ids.data(), g.vectors.count);
  } else {
    st = WriteStringToFile(out_ids, absl::StrCat(absl::StrJoin(g.vectors.ids, "\n"), "\n"));
  }
  if (!st.ok()) return Fail(st);
  std::printf(
      "wrote %llu genre vectors of %llu dims (%zu items without genres skipped)\n"
      "genres: %s\n",
      static_cast<unsigned long long>(g.vectors.count),
      static_cast<unsigned long long>(g.vectors.dims), g.skipped.size(),
      absl::StrJoin(g.vocabulary, ", ").c_str());
  return 0;
}

}  // namespace
}  // namespace simsearch

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" ||
      std::string(argv[1]) == "help") {
    std::printf("%s\n", simsearch::kUsage);
    return argc < 2 ? 2 : 0;
  }
  const std::string cmd = argv[1];
  if (cmd == "build") return simsearch::Build(argc, argv);
  if (cmd == "genre-vectors") return simsearch::Genres(argc, argv);
  std::fprintf(stderr,
               "simsearch-indexer: unknown command '%s'; use build or genre-vectors (see --help)\n",
               cmd.c_str());
  return 2;
}
