// simsearch-train-ncf: trains and evaluates NCF models and baselines on an interactions
// CSV, and exports dot-product item and user vectors for simsearch-indexer.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/catalog.h"
#include "core/cli.h"
#include "core/file_util.h"
#include "core/interactions.h"
#include "core/npy.h"
#include "models/ncf/baselines.h"
#include "models/ncf/serving_eval.h"
#include "models/ncf/trainer.h"

namespace simsearch::ncf {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr char kUsage[] =
    "simsearch-train-ncf: neural collaborative filtering (He et al. 2017) on implicit\n"
    "feedback, with the baselines it should beat, evaluated on one leave-one-out split.\n"
    "\n"
    "  simsearch-train-ncf --interactions FILE.csv --model mf --out DIR\n"
    "  simsearch-train-ncf --interactions FILE.csv --model all --export mf --out DIR\n"
    "\n"
    "Input: a CSV whose header names a user column (user_id) and an item column (item_id\n"
    "or anime_id), and optionally rating. Every row is one observed (user, item) pair.\n"
    "\n"
    "Models: pop (most popular), itemknn (item-based kNN, cosine of co-occurrence), mf\n"
    "(dot product; --item-bias adds a per-item bias), gmf, mlp, neumf (GMF and MLP fused; "
    "--pretrain initialises\n"
    "it from trained GMF and MLP), or all of them on the same split.\n"
    "\n"
    "Evaluation: one held-out item per user (drawn at random; seed recorded) ranked among\n"
    "99 sampled unseen items (HR@10, NDCG@10) and among all unseen items (Recall@20,\n"
    "NDCG@20). Output in DIR: metrics.json, and for mf/gmf item_vectors.npy, item_ids.npy,\n"
    "user_vectors.npy, user_ids.npy, whose inner products are the model's scores, and\n"
    "item_query_vectors.npy where an item's query-side vector differs from its own vector\n"
    "(pass it to simsearch-indexer --query-vectors); user_items.csv, each user's trained\n"
    "pairs, and user_listed.csv, the pairs only listed (dropped, plan to watch), for\n"
    "simsearch-indexer --user-items and --user-listed. The exported model is also evaluated\n"
    "as the engine serves a watch list: the user's training items as the query.";

// The flags (ParseFlags), and what CheckOptions makes of them.
struct Options {
  std::vector<std::string> interactions, catalogs;
  std::string out, model = "mf", export_model, layers_text = "64,32,16,8";
  std::string statuses = "1,2,3", view_statuses = "1,2", fold_in = "0.001,100";
  std::string eval_lengths, fold_in_priors = "0";
  std::string item_queries = "self";
  double min_rating = -1e300;
  bool min_rating_set = false;    // --min-rating given: rows are filtered by rating
  double score_weight = 0;        // --score-weight: 0, every pair weighs 1
  std::string negative_statuses;  // --negative-statuses: "" none
  double negative_weight = 1;
  uint64_t weighted_pairs = 0, explicit_negatives = 0;  // set by WeighPairs, for metrics.json
  bool pretrain = false, item_bias = false, eval_serving = false, train_on_all = false;
  int factors = 64, neighbours = 200, eval_threads = 0, seed = 42;
  TrainOptions train;
  double lr = 0.001, l2 = 0.0;
  // Set by CheckOptions.
  std::vector<int> layers;                    // --layers
  std::vector<std::string> run;               // the models to train, in order
  std::string export_name;                    // the model whose vectors are written ("": none)
  std::vector<int> status_codes, view_codes;  // --statuses, --view-statuses
  std::vector<int> negative_codes;            // --negative-statuses
  FoldInParams fold_in_params;                // --fold-in
};

class Bar {
 public:
  explicit Bar(std::string name) : name_(std::move(name)), tty_(::isatty(2) != 0) {}
  void operator()(const EpochReport& r) {
    if (!tty_ && r.fraction < 1.0) return;  // logs get one line per epoch
    const int width = 24;
    const int filled = static_cast<int>(r.fraction * width);
    std::string bar = std::string(static_cast<size_t>(filled), '#') +
                      std::string(static_cast<size_t>(width - filled), '.');
    const int eta = static_cast<int>(r.eta_seconds + 0.5);
    std::fprintf(
        stderr, "%s[%s] epoch %d/%d [%s] %3.0f%%  loss %.4f  %.2fM samples/s  ETA %d:%02d%s",
        tty_ ? "\r" : "", name_.c_str(), r.epoch, r.epochs, bar.c_str(), 100 * r.fraction, r.loss,
        r.samples_per_second / 1e6, eta / 60, eta % 60, tty_ && r.fraction < 1.0 ? "" : "\n");
    std::fflush(stderr);
  }

 private:
  std::string name_;
  bool tty_;
};

json MetricsJson(const Metrics& m) {
  return {{"hr@10", m.hr10},
          {"ndcg@10", m.ndcg10},
          {"recall@20", m.recall20},
          {"ndcg@20", m.ndcg20},
          {"users", m.users}};
}

struct Result {
  std::string name;
  Metrics metrics;                  // every evaluated user
  std::vector<Metrics> by_dataset;  // per --interactions file, then all (empty: one file)
  double train_seconds = 0;
  json details = json::object();
};

void PrintRow(const Result& r, const std::vector<std::string>& datasets = {}) {
  if (r.metrics.users == 0) return;  // nothing evaluated (--train-on-all)
  std::printf("%-8s  %6.4f  %7.4f  %9.4f  %7.4f  %8.1f s\n", r.name.c_str(), r.metrics.hr10,
              r.metrics.ndcg10, r.metrics.recall20, r.metrics.ndcg20, r.train_seconds);
  // With several data sets, a row per data set under the row of all users.
  for (size_t k = 0; k + 1 < r.by_dataset.size() && r.by_dataset.size() > 2; ++k) {
    const Metrics& m = r.by_dataset[k];
    std::printf("  %-6s  %6.4f  %7.4f  %9.4f  %7.4f  (%u users of %s)\n",
                absl::StrCat("[", k, "]").c_str(), m.hr10, m.ndcg10, m.recall20, m.ndcg20, m.users,
                k < datasets.size() ? datasets[k].c_str() : "?");
  }
  std::fflush(stdout);
}

// Every user, and each data set's users apart.
void Score(Result* r, const Scorer& scorer, const Split& split, const Interactions& data,
           int threads) {
  r->by_dataset = EvaluateGroups(scorer, split, data.dataset_of_user,
                                 static_cast<int>(data.datasets.size()), threads);
  r->metrics = r->by_dataset.back();
}

json ByDatasetJson(const Result& r, const Interactions& data) {
  json out = json::array();
  for (size_t k = 0; k + 1 < r.by_dataset.size(); ++k) {
    out.push_back({{"dataset", data.datasets[k]}, {"metrics", MetricsJson(r.by_dataset[k])}});
  }
  return out;
}

// The query-side item vectors of an exported model (see --item-queries).
absl::StatusOr<Tensor> ItemQueries(const NcfModel& model, const Tensor& users, const Split& split,
                                   const std::string& kind) {
  if (kind == "viewers") return ViewerMeanQueries(users, split.train, split.num_items, false);
  if (kind == "lift") return ViewerMeanQueries(users, split.train, split.num_items, true);
  if (kind == "self") {
    Tensor q;
    if (auto s = model.ExportSelfQueries(&q); !s.ok()) return s;
    return q;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--item-queries must be viewers, lift or self, got '", kind, "'"));
}

// The interactions trained on, one file with the data sets' user ids kept apart
// (core/interactions.h): what simsearch-indexer --user-items reads beside the vectors.
// Each user's trained pairs (`trained`), or the pairs only listed (dropped, plan to
// watch: not trained on, but not to be recommended back either).
std::string UserItemsCsv(const Interactions& data, bool trained) {
  std::string out = "user_id,anime_id\n";
  for (size_t u = 0; u < data.num_users(); ++u) {
    for (size_t j = 0; j < data.items_of_user[u].size(); ++j) {
      const bool is_trained =
          data.flags_of_user.empty() || (data.flags_of_user[u][j] & Interactions::kTrain);
      if (is_trained != trained) continue;
      absl::StrAppend(&out, data.user_ids[u], ",", data.item_ids[data.items_of_user[u][j]], "\n");
    }
  }
  return out;
}

absl::Status WriteOutputs(const std::string& out, const Interactions& data, const Tensor* items,
                          const Tensor* users, const Tensor* queries, const json& metrics) {
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", out, ": ", ec.message()));
  // Written under temporary names and renamed at the end: no half-written output.
  std::vector<std::pair<std::string, std::string>> files;
  auto tmp = [&](const std::string& name) {
    std::string t = absl::StrCat(out, "/.", name, ".tmp.", ::getpid());
    files.emplace_back(t, absl::StrCat(out, "/", name));
    return t;
  };
  absl::Status st;
  if (items != nullptr) {
    st = WriteNpyFloat32(tmp("item_vectors.npy"), items->v.data(), items->rows, items->cols);
    // Query-side vectors only where they differ from the item vectors (MF's "self").
    if (st.ok() && queries->v != items->v) {
      st = WriteNpyFloat32(tmp("item_query_vectors.npy"), queries->v.data(), queries->rows,
                           queries->cols);
    }
    if (st.ok())
      st = WriteNpyInt64(tmp("item_ids.npy"), data.item_ids.data(), data.item_ids.size());
    if (st.ok())
      st = WriteNpyFloat32(tmp("user_vectors.npy"), users->v.data(), users->rows, users->cols);
    if (st.ok())
      st = WriteNpyInt64(tmp("user_ids.npy"), data.user_ids.data(), data.user_ids.size());
    if (st.ok()) st = WriteStringToFile(tmp("user_items.csv"), UserItemsCsv(data, true));
    if (st.ok()) st = WriteStringToFile(tmp("user_listed.csv"), UserItemsCsv(data, false));
  }
  if (st.ok()) st = WriteStringToFile(tmp("metrics.json"), metrics.dump(2) + "\n");
  for (const auto& [from, to] : files) {
    if (st.ok() && std::rename(from.c_str(), to.c_str()) != 0) {
      st = ErrnoStatus("cannot rename into place", to, errno);
    }
  }
  for (const auto& [from, to] : files) std::remove(from.c_str());
  return st;
}

int Fail(const absl::Status& st) {
  std::fprintf(stderr, "simsearch-train-ncf: error: %s\n", std::string(st.message()).c_str());
  return 1;
}

// One ranking of "more like this" (serving_eval.h) in EvaluateServing's table.
struct MoreLikeThisWay {
  std::string name;
  std::unique_ptr<ItemRanker> ranker;
};

// The rankings of "more like this" compared, in the table's order: the inner product
// served before, cosine with and without shrinkage or a minimum support, the inner
// product shrunk, partial norm discounts, and item-kNN.
std::vector<MoreLikeThisWay> MoreLikeThisWays(const Tensor& queries, const Split& split,
                                              const ItemKnnScorer& knn, const Options& o) {
  using M = VectorRankerOptions::Metric;
  std::vector<MoreLikeThisWay> ways;
  ways.push_back(
      {"ip (served before)", std::make_unique<VectorRanker>(
                                 queries, split, VectorRankerOptions{M::kInnerProduct, 0, 0})});
  ways.push_back({"cosine", std::make_unique<VectorRanker>(queries, split,
                                                           VectorRankerOptions{M::kCosine, 0, 0})});
  for (float shrink : {5.0f, 20.0f, 50.0f}) {
    ways.push_back({absl::StrCat("cosine, shrink ", shrink),
                    std::make_unique<VectorRanker>(queries, split,
                                                   VectorRankerOptions{M::kCosine, shrink, 0})});
  }
  for (int support : {5, 20}) {
    ways.push_back({absl::StrCat("cosine, support >= ", support),
                    std::make_unique<VectorRanker>(queries, split,
                                                   VectorRankerOptions{M::kCosine, 0, support})});
  }
  for (float shrink : {100.0f, 200.0f}) {
    ways.push_back({absl::StrCat("cosine, shrink ", shrink),
                    std::make_unique<VectorRanker>(queries, split,
                                                   VectorRankerOptions{M::kCosine, shrink, 0})});
  }
  ways.push_back(
      {"ip, shrink 20", std::make_unique<VectorRanker>(
                            queries, split, VectorRankerOptions{M::kInnerProduct, 20, 0})});
  for (float beta : {0.5f, 0.75f}) {
    for (float shrink : {20.0f, 50.0f}) {
      ways.push_back({absl::StrCat("|q_j|^", beta, ", shrink ", shrink),
                      std::make_unique<VectorRanker>(
                          queries, split, VectorRankerOptions{M::kCosine, shrink, 0, beta})});
    }
  }
  ways.push_back({absl::StrCat("item-kNN (", o.neighbours, ")"),
                  std::make_unique<KnnRanker>(knn, split.num_items)});
  return ways;
}

// "More like this" ranked every way of MoreLikeThisWays: a table on stdout, and its rows.
json EvaluateMoreLikeThisWays(const Tensor& queries, const Split& split, const ItemKnnScorer& knn,
                              const Options& o) {
  json rows = json::array();
  std::printf("\nmore like this (held-out item ranked from a training item; %d per user):\n", 5);
  std::printf("%-28s %9s %7s %8s %8s %7s %8s\n", "ranking", "Recall@20", "NDCG@20", "hub max",
              "hub p99", "skew", "rare<5");
  for (const MoreLikeThisWay& w : MoreLikeThisWays(queries, split, knn, o)) {
    const MoreLikeThisMetrics m =
        EvaluateMoreLikeThis(*w.ranker, split, 5, o.train.seed, o.eval_threads);
    std::printf("%-28s %9.4f %7.4f %8.4f %8.4f %7.1f %8.4f\n", w.name.c_str(), m.recall20, m.ndcg20,
                m.hub_max_share, m.hub_p99_share, m.hub_skewness, m.rare_share);
    std::fflush(stdout);
    rows.push_back({{"ranking", w.name},
                    {"recall20", m.recall20},
                    {"ndcg20", m.ndcg20},
                    {"queries", m.queries},
                    {"hub_max_share", m.hub_max_share},
                    {"hub_p99_share", m.hub_p99_share},
                    {"hub_skewness", m.hub_skewness},
                    {"rare_share", m.rare_share},
                    {"top_hub_row", m.top_hub}});
  }
  return rows;
}

// Watch lists (the user's training items as the query) as the mean of their item
// vectors, by item-kNN, and folded in over a grid of alpha and lambda: a table on
// stdout, and its rows.
json EvaluateWatchListQueries(const Tensor& items, const Tensor& queries, const Split& split,
                              const ItemKnnScorer& knn, const Options& o) {
  json rows = json::array();
  std::printf("\nwatch list (the user's training items as the query):\n");
  std::printf("%-28s  %6s  %7s  %9s  %7s\n", "query", "HR@10", "NDCG@10", "Recall@20", "NDCG@20");
  auto row = [&](const std::string& name, const Metrics& m, json extra) {
    std::printf("%-28s  %6.4f  %7.4f  %9.4f  %7.4f\n", name.c_str(), m.hr10, m.ndcg10, m.recall20,
                m.ndcg20);
    std::fflush(stdout);
    json j = {{"query", name}, {"metrics", MetricsJson(m)}};
    j.update(extra);
    rows.push_back(j);
  };
  row("mean of item vectors",
      Evaluate(MeanWatchListScorer(items, queries, split), split, o.eval_threads), json::object());
  row(absl::StrCat("item-kNN (", o.neighbours, ")"), Evaluate(knn, split, o.eval_threads),
      json::object());
  for (float alpha : {0.0f, 0.001f, 0.01f}) {
    for (float lambda : {1.0f, 10.0f, 30.0f, 100.0f, 300.0f}) {
      FoldInParams fp{alpha, lambda};
      row(absl::StrCat("fold-in a=", alpha, " l=", lambda),
          Evaluate(FoldInScorer(items, queries, split, fp), split, o.eval_threads),
          {{"alpha", alpha}, {"lambda", lambda}});
    }
  }
  return rows;
}

// The two queries that are not a known user, evaluated on the exported vectors
// (models/ncf/serving_eval.h): printed, and returned for metrics.json.
json EvaluateServing(const Tensor& items, const Tensor& queries, const Split& split,
                     const Options& o) {
  const ItemKnnScorer knn(split, o.neighbours, o.eval_threads);
  json out = json::object();
  out["more_like_this"] = EvaluateMoreLikeThisWays(queries, split, knn, o);
  out["watch_list"] = EvaluateWatchListQueries(items, queries, split, knn, o);
  return out;
}

// Watch lists of each length in --eval-lengths (serving_eval.h, TruncateLists): the
// baselines and the served fold-in, with and without a prior, every data set apart.
absl::StatusOr<json> EvaluateListLengths(const Tensor& items, const Tensor& queries,
                                         const Tensor& users, const Split& split,
                                         const Interactions& data, const FoldInParams& fold_in,
                                         const Options& o) {
  std::vector<int> lengths;
  std::vector<std::pair<float, bool>>
      priors;  // weight, and whether it is divided by the list's length
  for (absl::string_view part : absl::StrSplit(o.eval_lengths, ',', absl::SkipWhitespace())) {
    int l;
    if (!absl::SimpleAtoi(part, &l) || l < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("--eval-lengths takes integers >= 1, got '", part, "'"));
    }
    lengths.push_back(l);
  }
  for (absl::string_view part : absl::StrSplit(o.fold_in_priors, ',', absl::SkipWhitespace())) {
    const bool per_length = absl::ConsumeSuffix(&part, "/L");
    float mu;
    if (!absl::SimpleAtof(part, &mu) || mu < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--fold-in-priors takes weights >= 0, or MU/L (MU divided by the list's length), got '",
          part, "'"));
    }
    priors.push_back({mu, per_length});
  }
  const std::vector<float> mean_user = MeanRow(users);
  const PopularityScorer pop(split);
  const ItemKnnScorer knn(split, o.neighbours, o.eval_threads);
  std::printf("\nwatch lists by length (each evaluated user's list cut to L of their anime):\n");
  json out = json::array();
  for (int length : lengths) {
    const Split lists = TruncateLists(split, length, o.train.seed);
    json rows = json::array();
    auto row = [&](const std::string& name, const Scorer& scorer) {
      Result r;
      r.name = name;
      Score(&r, scorer, lists, data, o.eval_threads);
      std::printf("L=%-3d ", length);
      PrintRow(r, data.datasets);
      rows.push_back({{"name", name},
                      {"metrics", MetricsJson(r.metrics)},
                      {"by_dataset", ByDatasetJson(r, data)}});
    };
    row("pop", pop);
    row("itemknn", ItemKnnListScorer(knn, lists, split.num_items));
    for (const auto& [mu, per_length] : priors) {
      const float weight = per_length ? mu / static_cast<float>(length) : mu;
      row(mu == 0 ? std::string("fold-in") : absl::StrCat("fold+", mu, per_length ? "/L" : ""),
          FoldInScorer(items, queries, lists, fold_in, mean_user, weight));
    }
    out.push_back({{"length", length}, {"users", lists.num_test_users()}, {"rows", rows}});
  }
  return out;
}

// What is read: the interaction files, the catalogue, and which list statuses count.
void AddInputFlags(ArgParser* p, Options* o) {
  p->AddStringList(
      "interactions", &o->interactions,
      "interactions CSV (user, item[, rating][, status]); repeat for several data sets:\n"
      "the k-th file's user ids get k * 1,000,000 added (kept apart), items are shared",
      "FILE");
  p->AddStringList("catalog", &o->catalogs,
                   "train only on anime these catalogue files name (what can be served: an anime\n"
                   "without a title cannot be shown); repeatable. Default: every item",
                   "FILE");
  p->AddString("statuses", &o->statuses,
               "files with a MAL list status column: the statuses trained on (default 1,2,3:\n"
               "watching, completed, on hold). Other statuses (4 dropped, 6 plan to watch)\n"
               "stay on the user's list: not trained on, not recommended back in evaluation",
               "S,S,...");
  p->AddString("view-statuses", &o->view_statuses,
               "of those, the statuses that are views, the only ones held out for testing\n"
               "(default 1,2: watching, completed)",
               "S,S,...");
}

// How the exported model's watch lists are evaluated: by length, with priors, and
// folded in as served.
void AddWatchListFlags(ArgParser* p, Options* o) {
  p->AddString("eval-lengths", &o->eval_lengths,
               "with an exported model: also evaluate watch lists of these lengths (each\n"
               "evaluated user's list cut to L of their anime): popularity, item-kNN and the\n"
               "fold-in with each --fold-in-priors weight, e.g. 1,3,5,10,20,50",
               "L,L,...");
  p->AddString("fold-in-priors", &o->fold_in_priors,
               "with --eval-lengths: fold-in pulled toward the mean user vector with these\n"
               "weights (0: none; MU/L: MU divided by the list's length; default 0)",
               "MU,MU/L,...");
  p->AddString("fold-in", &o->fold_in,
               "the exported model's watch lists are also evaluated folded in with these\n"
               "alpha,lambda (default 0.001,100: what the demo's ncf collection serves)",
               "A,L");
}

// The models, what is exported, their shapes and their training.
void AddModelFlags(ArgParser* p, Options* o) {
  p->AddString("model", &o->model, "pop, itemknn, mf, gmf, mlp, neumf or all (default mf)", "NAME");
  p->AddString("export", &o->export_model,
               "with --model all: which model's vectors to write (mf or gmf)", "NAME");
  p->AddString("item-queries", &o->item_queries,
               "query-side item vectors to export: self (a pseudo-user with the item's own\n"
               "embedding), viewers (mean vector of the item's viewers) or lift (viewers\n"
               "minus all users) (default self; all three are evaluated, docs/MODELS.md)",
               "KIND");
  p->AddInt("factors", &o->factors, "MF/GMF embedding size (default 64)");
  p->AddString("layers", &o->layers_text,
               "MLP tower widths; the first is the user + item\n"
               "embedding size (default 64,32,16,8)",
               "N,N,...");
  p->AddBool("item-bias", &o->item_bias, "MF: learn a per-item bias too (off: a pure dot product)");
  p->AddBool("pretrain", &o->pretrain, "NeuMF: start from trained GMF and MLP models");
  p->AddInt("epochs", &o->train.epochs, "passes over the training pairs (default 20)");
  p->AddInt("batch", &o->train.batch_size, "mini-batch size (default 256)");
  p->AddDouble("lr", &o->lr, "Adam learning rate (default 0.001)");
  p->AddDouble("l2", &o->l2, "L2 regularisation weight (default 0)");
  p->AddInt("negatives", &o->train.negatives,
            "sampled unobserved items per observed pair (default 4)");
  p->AddInt("neighbours", &o->neighbours, "itemknn: neighbours kept per item (default 200)");
}

// What else is evaluated, threads, seed and output.
void AddRunFlags(ArgParser* p, Options* o) {
  p->AddBool("eval-serving", &o->eval_serving,
             "with an exported model: also evaluate \"more like this\" (ip, cosine, shrinkage,\n"
             "minimum support, item-kNN; accuracy and hubness) and watch-list queries (mean\n"
             "of item vectors, fold-in, item-kNN); docs/MODELS.md");
  p->AddBool("train-on-all", &o->train_on_all,
             "train on every pair, holding nothing out (for the vectors to serve: the\n"
             "evaluation split leaves one view per user out of the model); nothing is evaluated");
  p->AddInt("threads", &o->train.threads,
            "training threads (default 2). 1 is deterministic: the same seed gives the same\n"
            "model to the bit. 2 or more train Hogwild-style (threads update the model\n"
            "without locks): faster, and runs differ within noise");
  p->AddInt("eval-threads", &o->eval_threads, "evaluation threads (default: --threads)");
  p->AddInt("seed", &o->seed, "seed of the split, initialisation and sampling (default 42)");
  p->AddString("out", &o->out, "output directory", "DIR");
}

// Parses the command line into `o`: -1, or the exit code of --help or a usage error.
int ParseFlags(int argc, char** argv, Options* o) {
  ArgParser p("simsearch-train-ncf", kUsage);
  // In the order --help lists them.
  AddInputFlags(&p, o);
  AddWatchListFlags(&p, o);
  p.AddDouble("min-rating", &o->min_rating,
              "keep only rows rated at least this (needs a rating column)");
  p.AddString("negative-statuses", &o->negative_statuses,
              "MAL list statuses that are explicit negatives (e.g. 4: dropped): each such\n"
              "entry is a sample of label 0 in every epoch, besides the sampled negatives;\n"
              "they must be neither trained on nor views (default: none)",
              "S,S,...");
  p.AddDouble("negative-weight", &o->negative_weight,
              "the weight of an explicit negative's sample (default 1)", "W");
  p.AddDouble("score-weight", &o->score_weight,
              "weigh each trained pair by its score (the rating column, MAL's 1-10):\n"
              "1 + A (score - 5.5) / 4.5, at least 0.1, then scaled so that scored pairs\n"
              "weigh 1 on average; unscored pairs (score 0 or below) weigh 1. Scores are\n"
              "taken on MAL's 1-10 scale (default 0: every pair 1)",
              "A");
  AddModelFlags(&p, o);
  AddRunFlags(&p, o);
  p.Require("interactions");
  p.Require("out");
  if (int rc = p.ParseOrExitCode(argc, argv, 1, nullptr); rc >= 0) return rc;
  o->min_rating_set = p.was_set("min-rating");
  o->train.seed = static_cast<uint64_t>(o->seed);
  o->train.learning_rate = static_cast<float>(o->lr);
  o->train.l2 = static_cast<float>(o->l2);
  if (o->eval_threads <= 0) o->eval_threads = std::max(1, o->train.threads);
  return -1;
}

// The models --model names, in the order they are trained.
absl::StatusOr<std::vector<std::string>> ModelsToRun(const std::string& model) {
  const std::vector<std::string> all = {"pop", "itemknn", "mf", "gmf", "mlp", "neumf"};
  if (model == "all") return all;
  if (std::find(all.begin(), all.end(), model) != all.end()) return std::vector<std::string>{model};
  return absl::InvalidArgumentError(
      absl::StrCat("unknown --model '", model, "'; use ", absl::StrJoin(all, ", "), " or all"));
}

// The flags that weigh pairs: --score-weight and the explicit negatives (after
// --statuses and --view-statuses are parsed).
absl::Status CheckWeights(Options* o) {
  if (!(o->score_weight >= 0 && o->score_weight <= 100)) {
    return absl::InvalidArgumentError("--score-weight takes a strength in [0, 100], e.g. 0.5");
  }
  if (!(o->negative_weight > 0 && o->negative_weight <= 100)) {
    return absl::InvalidArgumentError("--negative-weight takes a weight in (0, 100], e.g. 0.5");
  }
  if (o->negative_statuses.empty()) return absl::OkStatus();
  auto negatives = ParseStatuses(o->negative_statuses, "--negative-statuses");
  if (!negatives.ok()) return negatives.status();
  auto in = [](const std::vector<int>& v, int x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  };
  for (int n : *negatives) {
    if (in(o->status_codes, n) || in(o->view_codes, n)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--negative-statuses: ", n, " is also trained on or a view (--statuses ", o->statuses,
          ", --view-statuses ", o->view_statuses, "): a pair cannot be both; take it out of one"));
    }
  }
  o->negative_codes = *std::move(negatives);
  o->train.negative_weight = static_cast<float>(o->negative_weight);
  return absl::OkStatus();
}

// Checks the flags together and parses the lists among them (layers, models, export,
// statuses, fold-in) into `o`, in the order their errors are reported.
absl::Status CheckOptions(Options* o) {
  for (absl::string_view part : absl::StrSplit(o->layers_text, ',', absl::SkipWhitespace())) {
    int w;
    if (!absl::SimpleAtoi(part, &w))
      return absl::InvalidArgumentError("--layers takes integers, e.g. 64,32,16,8");
    o->layers.push_back(w);
  }
  auto run = ModelsToRun(o->model);
  if (!run.ok()) return run.status();
  o->run = *std::move(run);
  o->export_name = o->export_model.empty() && (o->model == "mf" || o->model == "gmf")
                       ? o->model
                       : o->export_model;
  const std::string& name = o->export_name;
  if (!name.empty() && name != "mf" && name != "gmf") {
    return absl::InvalidArgumentError(absl::StrCat(
        "--export ", name,
        ": only mf and gmf scores are dot products an inner-product index serves exactly"));
  }
  if (!name.empty() && std::find(o->run.begin(), o->run.end(), name) == o->run.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--export ", name, " is not trained by --model ", o->model));
  }
  const TrainOptions& t = o->train;
  if (t.epochs < 1 || t.batch_size < 1 || t.negatives < 1 || t.threads < 1 || o->lr <= 0 ||
      o->l2 < 0) {
    return absl::InvalidArgumentError(
        "--epochs, --batch, --negatives and --threads must be >= 1, --lr > 0, --l2 >= 0");
  }
  auto statuses = ParseStatuses(o->statuses, "--statuses");
  if (!statuses.ok()) return statuses.status();
  auto views = ParseStatuses(o->view_statuses, "--view-statuses");
  if (!views.ok()) return views.status();
  o->status_codes = *std::move(statuses);
  o->view_codes = *std::move(views);
  if (absl::Status st = CheckWeights(o); !st.ok()) return st;
  std::vector<absl::string_view> parts = absl::StrSplit(o->fold_in, ',');
  FoldInParams& f = o->fold_in_params;
  if (parts.size() != 2 || !absl::SimpleAtof(parts[0], &f.alpha) ||
      !absl::SimpleAtof(parts[1], &f.lambda) || f.alpha < 0 || f.lambda <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--fold-in takes ALPHA,LAMBDA (alpha >= 0, lambda > 0), got '", o->fold_in, "'"));
  }
  return absl::OkStatus();
}

// The interactions (only of the catalogue's anime with --catalog), checked trainable.
absl::StatusOr<Interactions> LoadData(const Options& o) {
  InteractionsOptions io;
  if (o.min_rating_set) io.min_rating = o.min_rating;
  io.read_scores = o.score_weight > 0;
  io.negative_statuses = o.negative_codes;
  io.statuses = o.status_codes;
  io.view_statuses = o.view_codes;
  std::vector<int64_t> known;
  if (!o.catalogs.empty()) {
    auto catalog = Catalog::Load(o.catalogs);
    if (!catalog.ok()) return catalog.status();
    for (const Item& it : catalog->items()) known.push_back(it.id);  // sorted by id
    io.known_items = &known;
  }
  auto data = LoadInteractions(o.interactions, io);
  if (!data.ok()) return data.status();
  if (data->rows_unknown_item > 0) {
    std::fprintf(stderr, "[ncf] %llu rows name anime that no --catalog file has: left out\n",
                 static_cast<unsigned long long>(data->rows_unknown_item));
  }
  if (auto s = CheckTrainable(*data, absl::StrJoin(o.interactions, " + ")); !s.ok()) return s;
  return data;
}

// The split trained on and evaluated, described on stderr. Serving wants every pair
// trained on (--train-on-all); evaluation holds one view per user out.
Split MakeSplit(const Interactions& data, const Options& o) {
  Split split = o.train_on_all ? TrainOnAll(data) : LeaveOneOut(data, o.train.seed);
  if (o.train_on_all) {
    std::fprintf(stderr,
                 "[ncf] --train-on-all: every pair is trained on; nothing is held out, so nothing "
                 "is evaluated\n");
  }
  std::fprintf(stderr,
               "[ncf] %s: %zu users, %zu items, %llu interactions (%llu rows, %llu duplicates); "
               "%llu training pairs, %u test users\n",
               absl::StrJoin(o.interactions, " + ").c_str(), data.num_users(), data.num_items(),
               static_cast<unsigned long long>(data.num_interactions()),
               static_cast<unsigned long long>(data.rows_read),
               static_cast<unsigned long long>(data.duplicates),
               static_cast<unsigned long long>(split.num_train()), split.num_test_users());
  return split;
}

// The pairs' weights (--score-weight) and the explicit negatives (--negative-statuses)
// the trainer reads, set in TrainOptions by WeighPairs.
struct PairWeights {
  std::vector<std::vector<float>> positive;
  std::vector<std::vector<uint32_t>> negatives;
};

// Fills `w` and points o->train at it; what it made of the pairs goes to stderr and
// into o's counts (metrics.json).
void WeighPairs(const Interactions& data, const Split& split, Options* o, PairWeights* w) {
  if (o->score_weight > 0) {
    ScoreStats scored;
    w->positive = ScoreWeights(data, split, o->score_weight, &scored);
    o->train.positive_weights = &w->positive;
    o->weighted_pairs = scored.pairs;
    std::fprintf(
        stderr, "[ncf] --score-weight: %llu training pairs weighed by score, %.3f to %.3f\n",
        static_cast<unsigned long long>(scored.pairs), scored.min_weight, scored.max_weight);
    if (scored.pairs == 0) {
      std::fprintf(stderr,
                   "[ncf] warning: no training pair has a score (a rating or score column "
                   "with values above 0): --score-weight changes nothing\n");
    } else if (scored.max_score > 10) {
      std::fprintf(stderr,
                   "[ncf] warning: scores up to %g: --score-weight takes MAL's 1-10 scale\n",
                   static_cast<double>(scored.max_score));
    }
  }
  if (o->negative_codes.empty()) {
    if (o->negative_weight != 1) {
      std::fprintf(stderr,
                   "[ncf] warning: --negative-weight without --negative-statuses does "
                   "nothing\n");
    }
    return;
  }
  w->negatives = NegativePairs(data, split);
  o->train.explicit_negatives = &w->negatives;
  for (const auto& list : w->negatives) o->explicit_negatives += list.size();
  std::fprintf(stderr, "[ncf] --negative-statuses: %llu explicit negatives, weight %g\n",
               static_cast<unsigned long long>(o->explicit_negatives), o->negative_weight);
  if (o->explicit_negatives == 0) {
    std::fprintf(stderr,
                 "[ncf] warning: no list entry has those statuses (a status column is "
                 "needed): --negative-statuses changes nothing\n");
  }
}

// Trained models that later steps use: GMF and MLP for a pretrained NeuMF, and the one
// to export.
struct TrainedModels {
  std::optional<NcfModel> gmf, mlp, exported;
};

// A baseline (pop or itemknn): built (timed as its training) and evaluated.
Result EvaluateBaseline(const std::string& name, const Split& split, const Interactions& data,
                        const Options& o) {
  Result r;
  r.name = name;
  auto t0 = std::chrono::steady_clock::now();
  std::unique_ptr<Scorer> scorer;
  if (name == "pop") {
    scorer = std::make_unique<PopularityScorer>(split);
  } else {
    scorer = std::make_unique<ItemKnnScorer>(split, o.neighbours, o.eval_threads);
    r.details["neighbours"] = o.neighbours;
  }
  r.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  Score(&r, *scorer, split, data, o.eval_threads);
  return r;
}

// NeuMF's pretrained parts, GMF and MLP of `mc`'s shape: those this run trained
// already, or trained here (and kept). Returns the seconds spent training them.
absl::StatusOr<double> PretrainParts(const ModelConfig& mc, const Split& split, const Options& o,
                                     TrainedModels* trained) {
  double seconds = 0;
  for (const char* part : {"gmf", "mlp"}) {
    std::optional<NcfModel>& slot = std::string(part) == "gmf" ? trained->gmf : trained->mlp;
    if (slot) continue;
    ModelConfig pc = mc;
    pc.kind = *ParseModelKind(part);
    auto pm = NcfModel::Create(pc, split.num_users, split.num_items, o.train.seed);
    if (!pm.ok()) return pm.status();
    Bar bar(absl::StrCat("neumf/", part));
    seconds += Train(&*pm, split, o.train, std::ref(bar)).seconds;
    slot = std::move(*pm);
  }
  return seconds;
}

// metrics.json's record of a model's training.
json TrainJson(const Options& o, const TrainReport& tr, double pretrain_seconds) {
  return {{"epochs", o.train.epochs},
          {"batch", o.train.batch_size},
          {"lr", o.lr},
          {"l2", o.l2},
          {"negatives", o.train.negatives},
          {"threads", o.train.threads},
          {"seconds", tr.seconds},
          {"pretrain_seconds", pretrain_seconds},
          {"samples", tr.samples},
          {"samples_per_second", tr.samples_per_second},
          {"epoch_loss", tr.epoch_loss}};
}

// An NCF model (mf, gmf, mlp or neumf): trained, evaluated, and kept in `trained` when
// a later step uses it.
absl::StatusOr<Result> TrainModel(const std::string& name, const Split& split,
                                  const Interactions& data, const Options& o,
                                  TrainedModels* trained) {
  Result r;
  r.name = name;
  ModelConfig mc;
  mc.kind = *ParseModelKind(name);
  mc.factors = o.factors;
  mc.layers = o.layers;
  mc.item_bias = o.item_bias;
  auto model = NcfModel::Create(mc, split.num_users, split.num_items, o.train.seed);
  if (!model.ok()) return model.status();
  double pre_seconds = 0;
  if (name == "neumf" && o.pretrain) {
    auto pre = PretrainParts(mc, split, o, trained);
    if (!pre.ok()) return pre.status();
    pre_seconds = *pre;
    if (auto s = model->InitFromPretrained(*trained->gmf, *trained->mlp, 0.5f); !s.ok()) return s;
    r.details["pretrained"] = true;
  }
  Bar bar(name);
  TrainReport tr = Train(&*model, split, o.train, std::ref(bar));
  r.train_seconds = tr.seconds + pre_seconds;
  Score(&r, ModelScorer(*model), split, data, o.eval_threads);
  r.details["config"] = {{"factors", mc.factors}, {"layers", mc.layers}};
  r.details["train"] = TrainJson(o, tr, pre_seconds);
  if (name == "gmf") trained->gmf = *model;
  if (name == "mlp") trained->mlp = *model;
  if (name == o.export_name) trained->exported = std::move(*model);
  return r;
}

// Every model of --model in turn, each a row of the table on stdout.
absl::StatusOr<std::vector<Result>> TrainAndEvaluate(const Split& split, const Interactions& data,
                                                     const Options& o, TrainedModels* trained) {
  std::printf("%-8s  %6s  %7s  %9s  %7s  %10s\n", "model", "HR@10", "NDCG@10", "Recall@20",
              "NDCG@20", "train");
  std::vector<Result> results;
  for (const std::string& name : o.run) {
    Result r;
    if (name == "pop" || name == "itemknn") {
      r = EvaluateBaseline(name, split, data, o);
    } else {
      auto trained_result = TrainModel(name, split, data, o, trained);
      if (!trained_result.ok()) return trained_result.status();
      r = *std::move(trained_result);
    }
    PrintRow(r, data.datasets);
    results.push_back(std::move(r));
  }
  return results;
}

// The exported model's vectors and their evaluations for metrics.json (null: not run).
struct Exported {
  Tensor items, users, queries;  // queries: the kind --item-queries names
  json watch_list = nullptr, serving = nullptr, by_length = nullptr;
};

// The exported model's watch lists through each kind of query-side item vectors
// (keeping the kind --item-queries names in e->queries), and folded in as served
// (retrieval/fold_in.h): rows of the table, and e->watch_list.
absl::Status EvaluateQueryKinds(const NcfModel& model, const Split& split, const Interactions& data,
                                const Options& o, Exported* e) {
  e->watch_list = json::object();
  for (const char* kind : {"viewers", "lift", "self"}) {
    auto q = ItemQueries(model, e->users, split, kind);
    if (!q.ok()) return q.status();
    Result wl;
    wl.name = absl::StrCat(o.export_name, "/", kind);
    Score(&wl, MeanWatchListScorer(e->items, *q, split), split, data, o.eval_threads);
    PrintRow(wl, data.datasets);
    e->watch_list[kind] = MetricsJson(wl.metrics);
    if (o.item_queries == kind) e->queries = *std::move(q);
  }
  if (e->queries.empty()) return ItemQueries(model, e->users, split, o.item_queries).status();
  Result fi;
  fi.name = absl::StrCat(o.export_name, "/fold");
  Score(&fi, FoldInScorer(e->items, e->queries, split, o.fold_in_params), split, data,
        o.eval_threads);
  PrintRow(fi, data.datasets);
  e->watch_list["fold_in"] = {{"alpha", o.fold_in_params.alpha},
                              {"lambda", o.fold_in_params.lambda},
                              {"metrics", MetricsJson(fi.metrics)},
                              {"by_dataset", ByDatasetJson(fi, data)}};
  return absl::OkStatus();
}

// The exported model as the engine serves it to clients without a user id: its watch
// lists, and with --eval-serving and --eval-lengths those evaluations too.
absl::StatusOr<Exported> EvaluateExported(const NcfModel& model, const Split& split,
                                          const Interactions& data, const Options& o) {
  Exported e;
  if (auto s = model.ExportDotProduct(&e.items, &e.users); !s.ok()) return s;
  if (auto s = EvaluateQueryKinds(model, split, data, o, &e); !s.ok()) return s;
  if (o.eval_serving) e.serving = EvaluateServing(e.items, e.queries, split, o);
  if (!o.eval_lengths.empty()) {
    auto r = EvaluateListLengths(e.items, e.queries, e.users, split, data, o.fold_in_params, o);
    if (!r.ok()) return r.status();
    e.by_length = *std::move(r);
  }
  return e;
}

// metrics.json: the data, the split, every model's metrics, and the export's.
json MetricsDocument(const Options& o, const Interactions& data, const Split& split,
                     const std::vector<Result>& results, const Exported& e) {
  json models = json::array();
  for (const Result& r : results) {
    json j = {{"name", r.name},
              {"metrics", MetricsJson(r.metrics)},
              {"by_dataset", ByDatasetJson(r, data)},
              {"train_seconds", r.train_seconds}};
    j.update(r.details);
    models.push_back(j);
  }
  return {{"data",
           {{"interactions", o.interactions},
            {"users", data.num_users()},
            {"items", data.num_items()},
            {"pairs", data.num_interactions()},
            {"trained_pairs", data.num_trained()},
            {"rows_read", data.rows_read},
            {"rows_by_status", data.rows_by_status},
            {"catalogs", o.catalogs},
            {"rows_unknown_item", data.rows_unknown_item},
            {"statuses", o.status_codes},
            {"view_statuses", o.view_codes},
            {"min_rating", o.min_rating_set ? json(o.min_rating) : json(nullptr)},
            {"score_weight", o.score_weight},
            {"pairs_weighed_by_score", o.weighted_pairs},
            {"negative_statuses", o.negative_codes},
            {"negative_weight", o.negative_codes.empty() ? json(nullptr) : json(o.negative_weight)},
            {"explicit_negatives", o.explicit_negatives}}},
          {"split",
           {{"protocol", o.train_on_all
                             ? "none: every pair trained on (--train-on-all)"
                             : "leave-one-out, one random held-out view per user with >= 2 items"},
            {"seed", o.train.seed},
            {"test_users", split.num_test_users()},
            {"sampled_negatives", 99},
            {"training_pairs", split.num_train()}}},
          {"models", models},
          {"exported", o.export_name.empty() ? json(nullptr) : json(o.export_name)},
          {"item_queries", o.item_queries},
          // The exported model queried with the user's training items as a watch list
          // (query-side item vectors), instead of the user's own vector.
          {"exported_watch_list", e.watch_list},
          {"serving", e.serving},
          {"by_list_length", e.by_length}};
}

int Run(int argc, char** argv) {
  Options o;
  if (int rc = ParseFlags(argc, argv, &o); rc >= 0) return rc;
  if (absl::Status s = CheckOptions(&o); !s.ok()) return Fail(s);
  auto data = LoadData(o);
  if (!data.ok()) return Fail(data.status());
  const Split split = MakeSplit(*data, o);
  PairWeights weights;
  WeighPairs(*data, split, &o, &weights);
  TrainedModels trained;
  auto results = TrainAndEvaluate(split, *data, o, &trained);
  if (!results.ok()) return Fail(results.status());
  Exported e;
  if (trained.exported) {
    auto evaluated = EvaluateExported(*trained.exported, split, *data, o);
    if (!evaluated.ok()) return Fail(evaluated.status());
    e = *std::move(evaluated);
  }
  const json metrics = MetricsDocument(o, *data, split, *results, e);
  if (auto s = WriteOutputs(o.out, *data, trained.exported ? &e.items : nullptr, &e.users,
                            &e.queries, metrics);
      !s.ok()) {
    return Fail(s);
  }
  std::fprintf(stderr, "[ncf] wrote %s/metrics.json%s\n", o.out.c_str(),
               trained.exported ? " and the exported vectors" : "");
  return 0;
}

}  // namespace
}  // namespace simsearch::ncf

int main(int argc, char** argv) {
  return simsearch::ncf::Run(argc, argv);
}
