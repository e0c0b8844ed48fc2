// simsearch-cold-start: vectors for anime without (enough) viewers, predicted from
// their content (models/ncf/cold_start.h), and the time split that measures them.
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/catalog.h"
#include "core/cli.h"
#include "core/file_util.h"
#include "core/interactions.h"
#include "core/npy.h"
#include "core/vector_input.h"
#include "models/ncf/cold_start.h"
#include "models/ncf/split.h"
#include "models/ncf/trainer.h"
#include "models/ncf/viewer_threshold.h"
#include "retrieval/fold_in.h"

namespace simsearch::ncf {
namespace {

using json = nlohmann::json;

constexpr char kUsage[] =
    "simsearch-cold-start: vectors in the viewers' space for anime that few or none\n"
    "watched, predicted from their content (genres, type, start year, age rating,\n"
    "studios, members, synopsis vector, franchise), and the time split that tests them.\n"
    "\n"
    "  simsearch-cold-start predict --model DIR --catalog C.csv ... \\\n"
    "      [--text-vectors V.npy --text-ids I.npy] --out DIR\n"
    "  simsearch-cold-start evaluate --interactions A.csv [--interactions B.csv] \\\n"
    "      --catalog C.csv ... [--text-vectors V.npy --text-ids I.npy] \\\n"
    "      --cutoff 2022-07-01 --until 2023-01-31 [--seeds 1,2,3]\n"
    "  simsearch-cold-start threshold --interactions A.csv [--interactions B.csv] \\\n"
    "      --catalog C.csv ... [--text-vectors V.npy --text-ids I.npy] [--seeds 1,2,3]\n"
    "\n"
    "predict: every catalogue anime gets a vector. --model is simsearch-train-ncf's --out\n"
    "(item_vectors.npy, item_ids.npy, user_items.csv); anime with at least --min-viewers\n"
    "viewers keep their learned vector, the others get the content model's prediction,\n"
    "moved along the users' mean vector by their popularity (the shift, chosen on the\n"
    "newest anime with viewers as if they were new: the best ranking among them, held to\n"
    "the share of users' top 10 their learned vectors take; it needs user_vectors.npy,\n"
    "user_ids.npy).\n"
    "Writes item_vectors.npy, item_query_vectors.npy (what an anime is like as a query,\n"
    "simsearch-indexer --query-vectors: a predicted one before the shift and spread out\n"
    "as learned vectors are), item_ids.npy,\n"
    "item_provenance.csv (anime_id, source, viewers: simsearch-indexer --item-provenance)\n"
    "and cold_start.json (the fit and the shift) into --out.\n"
    "\n"
    "evaluate: every anime that started after --cutoff (and by --until, the data's end)\n"
    "is cold: it and every interaction with it are removed; MF is trained on the rest;\n"
    "the content model is fit on anime with at least --min-viewers viewers and predicts\n"
    "the others. Users who watched cold anime are then ranked (a) the cold anime only and\n"
    "(b) every anime, and the held-out cold anime they watched give Recall@20 and\n"
    "NDCG@20, for the content model and the baselines: popularity (the catalogue's\n"
    "members), genre cosine and synopsis cosine to the user's history, and related entries\n"
    "(franchise) of what the user watched, and for (b) popularity with the anime newer\n"
    "than the cutoff first. The served model's row chooses its popularity shift as\n"
    "predict does, on the training data alone. Each seed trains its own MF.\n"
    "\n"
    "threshold: how many viewers an anime needs before its learned vector serves better\n"
    "than the content model's prediction (predict's --min-viewers). A share of every\n"
    "user's views (--holdout) is held out and MF is trained on the rest; for each\n"
    "threshold, the vectors predict would serve rank every anime not on each user's list,\n"
    "and the held-out views give Recall@20 and NDCG@20 (all of them, and those of anime\n"
    "with fewer than 20 training viewers) and the mean AUC by the anime's training\n"
    "viewers. Blends n/(n+k) learned + the rest predicted are ranked too (--blends),\n"
    "and each user's anime as a watch list, folded in as served (--watch-lists).\n"
    "A second table gives each row's NDCG@20 minus that of predict's default (5), seed\n"
    "by seed: every row of a seed ranks with the same MF, so the differences are paired.\n"
    "With --holdout-users S and --list-lengths, the lists of the users held out whole are\n"
    "also cut to each length and ranked by popularity, item-kNN and each --watch-lists\n"
    "setting, per data set (HR@10, Recall@20, NDCG@20), with the seeds in which 5:5 is at\n"
    "or above both baselines.";

struct Options {
  std::vector<std::string> interactions, catalogs;
  std::string model_dir;
  std::string text_vectors, text_ids, cutoff, until, seeds = "1,2,3", statuses = "1,2,3", out;
  int epochs = 20, threads = 2, min_viewers = 5, factors = 64;
  double lambda = 10;
  std::string extra_lambdas;  // also evaluate the full model with these ridges
  double shift_share = 0.1;
  double popularity_shift = -1;                                   // < 0: calibrated
  std::string thresholds = "1,2,3,5,8,13,20", blends = "2,5,10";  // threshold
  std::string watch_lists = "5:5,13:13,5:13";                     // threshold
  double holdout = 0.2;                                           // threshold
  double holdout_users = 0;                                       // threshold
  std::string list_lengths;                                       // threshold
  bool no_franchise = false, no_text = false, item_bias = false;
};

int Fail(const absl::Status& st) {
  std::fprintf(stderr, "simsearch-cold-start: error: %s\n", std::string(st.message()).c_str());
  return 1;
}

// One way of scoring a user's candidates.
struct Way {
  std::string name;
  std::function<void(uint32_t user, const std::vector<uint32_t>& candidates,
                     std::vector<float>* scores)>
      score;
};

double Dot(const float* a, const float* b, int d) {
  double s = 0;
  for (int k = 0; k < d; ++k) s += static_cast<double>(a[k]) * b[k];
  return s;
}

// " s:v s:v ...": a calibration curve (shift s, value v) on one line, for people.
std::string CurveText(const std::vector<std::pair<double, double>>& curve) {
  std::string out;
  for (const auto& [s, n] : curve) absl::StrAppend(&out, " ", s, ":", absl::StrFormat("%.4f", n));
  return out;
}

// Evaluate's data: the catalogue and synopsis vectors, the anime that count as cold,
// and the interactions without them. Rows ("universe rows") are every catalogue anime
// that could have been watched by --until, in id order.
struct TimeSplit {
  Catalog catalog;
  TextVectors text;               // dims 0: none
  std::vector<int64_t> cold;      // ids, sorted
  std::vector<int64_t> universe;  // the rows' ids
  absl::flat_hash_map<int64_t, uint32_t> universe_row;
  Interactions data;  // training: the interactions with the other anime
  Split split;        // every training pair
  // The held-out views: of how many cold anime, how many, and by how many users.
  size_t cold_watched = 0;
  uint64_t held_out = 0;
  uint32_t evaluated = 0;
  // Per training user, as rows, sorted: the cold anime they watched (held out), and
  // their training anime.
  std::vector<std::vector<uint32_t>> relevant, history;
  std::vector<uint32_t> cold_rows;   // sorted
  std::vector<uint8_t> is_cold_row;  // per row
  std::vector<int> viewers;          // per row: training viewers
};

// The universe's ids (every catalogue anime whose first possible day is not after the
// data's end), and of those the ones not cold.
void Universe(const Catalog& catalog, const std::vector<int64_t>& cold, const std::string& until,
              std::vector<int64_t>* universe, std::vector<int64_t>* warm) {
  for (const Item& it : catalog.items()) {
    const std::string day = it.start_date.substr(0, std::min<size_t>(10, it.start_date.size()));
    if (!day.empty() && day > until) continue;  // its first possible day is after the data's end
    universe->push_back(it.id);
    if (!std::binary_search(cold.begin(), cold.end(), it.id)) warm->push_back(it.id);
  }
}

// Reads the interactions into t->data (the warm anime's) and t->relevant (the held-out
// views of cold anime, by training user).
absl::Status LoadViews(const Options& o, const std::vector<int64_t>& warm, TimeSplit* t) {
  InteractionsOptions io;
  auto statuses = ParseStatuses(o.statuses, "--statuses");
  if (!statuses.ok()) return statuses.status();
  io.statuses = *statuses;
  io.known_items = &warm;
  auto data = LoadInteractions(o.interactions, io);
  if (!data.ok()) return data.status();
  t->data = *std::move(data);
  InteractionsOptions co = io;
  co.known_items = &t->cold;
  co.statuses = io.view_statuses;
  co.listed_statuses = {};
  auto cold_data = LoadInteractions(o.interactions, co);
  if (!cold_data.ok()) return cold_data.status();
  absl::flat_hash_map<int64_t, uint32_t> user_row;
  for (uint32_t u = 0; u < t->data.num_users(); ++u) user_row[t->data.user_ids[u]] = u;
  t->relevant.assign(t->data.num_users(), {});
  for (uint32_t cu = 0; cu < cold_data->num_users(); ++cu) {
    auto u = user_row.find(cold_data->user_ids[cu]);
    if (u == user_row.end()) continue;
    for (uint32_t i : cold_data->items_of_user[cu]) {
      t->relevant[u->second].push_back(t->universe_row.at(cold_data->item_ids[i]));
      ++t->held_out;
    }
  }
  for (auto& r : t->relevant) std::sort(r.begin(), r.end());
  for (const auto& r : t->relevant) t->evaluated += !r.empty();
  t->cold_watched = cold_data->num_items();
  return absl::OkStatus();
}

// The training anime's viewers per row, and each training user's history as rows.
void CountViewers(TimeSplit* t) {
  t->viewers.assign(t->universe.size(), 0);
  t->history.assign(t->data.num_users(), {});
  for (uint32_t u = 0; u < t->data.num_users(); ++u) {
    for (uint32_t i : t->split.train[u]) {
      const uint32_t r = t->universe_row.at(t->data.item_ids[i]);
      ++t->viewers[r];
      t->history[u].push_back(r);
    }
  }
  for (auto& h : t->history) std::sort(h.begin(), h.end());
}

// The time split of --cutoff and --until, with everything Evaluate reads.
absl::StatusOr<TimeSplit> LoadTimeSplit(const Options& o) {
  TimeSplit t;
  auto catalog = Catalog::Load(o.catalogs);
  if (!catalog.ok()) return catalog.status();
  t.catalog = *std::move(catalog);
  t.cold = ColdAnime(t.catalog, o.cutoff, o.until);
  if (t.cold.empty()) {
    return absl::InvalidArgumentError("no catalogue anime started between --cutoff and --until");
  }
  std::vector<int64_t> warm;
  Universe(t.catalog, t.cold, o.until, &t.universe, &warm);
  for (uint32_t r = 0; r < t.universe.size(); ++r) t.universe_row[t.universe[r]] = r;
  if (absl::Status s = LoadViews(o, warm, &t); !s.ok()) return s;
  t.is_cold_row.assign(t.universe.size(), 0);
  for (int64_t id : t.cold) t.cold_rows.push_back(t.universe_row.at(id));
  std::sort(t.cold_rows.begin(), t.cold_rows.end());
  for (uint32_t r : t.cold_rows) t.is_cold_row[r] = 1;
  if (!o.text_vectors.empty()) {
    auto text = LoadTextVectors(o.text_vectors, o.text_ids);
    if (!text.ok()) return text.status();
    t.text = *std::move(text);
  }
  t.split = TrainOnAll(t.data);
  CountViewers(&t);
  return t;
}

// One line on stderr: the cold anime, their held-out views, the training data.
void PrintTimeSplit(const TimeSplit& t, const Options& o) {
  std::fprintf(
      stderr,
      "[cold] %zu cold anime (started %s to %s), %llu held-out views of %zu of them by %u users; "
      "training: %zu users, %zu anime, %llu pairs; universe %zu anime\n",
      t.cold.size(), o.cutoff.c_str(), o.until.c_str(), static_cast<unsigned long long>(t.held_out),
      t.cold_watched, t.evaluated, t.data.num_users(), t.data.num_items(),
      static_cast<unsigned long long>(t.split.num_train()), t.universe.size());
}

// The unit-length mean of row_vector(r) over the rows of `history` (nullptr: skipped);
// zeros when there is none.
template <typename RowVector>
std::vector<float> UnitMean(const std::vector<uint32_t>& history, RowVector row_vector, int d) {
  std::vector<double> m(d, 0.0);
  int n = 0;
  for (uint32_t r : history) {
    const float* v = row_vector(r);
    if (v == nullptr) continue;
    for (int k = 0; k < d; ++k) m[k] += v[k];
    ++n;
  }
  std::vector<float> out(d, 0.0f);
  double norm = 0;
  for (int k = 0; k < d; ++k) norm += m[k] * m[k];
  norm = std::sqrt(norm);
  if (n > 0 && norm > 0) {
    for (int k = 0; k < d; ++k) out[k] = static_cast<float>(m[k] / norm);
  }
  return out;
}

// What the baselines score with, by row.
struct BaselineData {
  ContentFeatures genres;  // its first genre_dims dimensions are the genres
  int genre_dims = 0;
  std::vector<float> text_unit;  // rows x text dims, unit length (zeros where unknown)
  std::vector<float> members;    // today's
  float max_members = 0;         // plus 1
  std::vector<std::vector<uint32_t>> related;  // franchise links, both directions, sorted
};

// The synopsis vectors by row, unit length (zeros where unknown; empty without text).
std::vector<float> UnitTextRows(const TimeSplit& t) {
  const TextVectors& text = t.text;
  std::vector<float> text_unit;
  if (text.dims == 0) return text_unit;
  absl::flat_hash_map<int64_t, uint32_t> text_row;
  for (uint32_t r = 0; r < text.ids.size(); ++r) text_row[text.ids[r]] = r;
  text_unit.assign(t.universe.size() * text.dims, 0.0f);
  for (uint32_t r = 0; r < t.universe.size(); ++r) {
    auto it = text_row.find(t.universe[r]);
    if (it == text_row.end()) continue;
    float* x = &text_unit[static_cast<size_t>(r) * text.dims];
    std::copy_n(&text.v[static_cast<size_t>(it->second) * text.dims], text.dims, x);
    double s = Dot(x, x, text.dims);
    if (s > 0) {
      for (int k = 0; k < text.dims; ++k) x[k] = static_cast<float>(x[k] / std::sqrt(s));
    }
  }
  return text_unit;
}

// Franchise links (the catalogue's related entries) as rows, both directions.
std::vector<std::vector<uint32_t>> FranchiseLinks(const TimeSplit& t) {
  std::vector<std::vector<uint32_t>> related(t.universe.size());
  for (uint32_t r = 0; r < t.universe.size(); ++r) {
    for (int64_t rel : t.catalog.Find(t.universe[r])->related) {
      auto it = t.universe_row.find(rel);
      if (it == t.universe_row.end()) continue;
      related[r].push_back(it->second);
      related[it->second].push_back(r);
    }
  }
  for (auto& v : related) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
  }
  return related;
}

// What the baselines score with: the universe's genre features (and how many of their
// dimensions are genres), members, unit text vectors and franchise links.
BaselineData MakeBaselineData(const TimeSplit& t) {
  BaselineData b;
  ContentOptions g;
  g.text = g.franchise = false;
  b.genres = BuildContentFeatures(t.catalog, t.universe, nullptr, nullptr,
                                  std::vector<int>(t.universe.size(), 0), g);
  while (b.genre_dims < b.genres.dims && b.genres.names[b.genre_dims].rfind("genre:", 0) == 0)
    ++b.genre_dims;
  b.members.resize(t.universe.size());
  for (uint32_t r = 0; r < t.universe.size(); ++r)
    b.members[r] = static_cast<float>(t.catalog.Find(t.universe[r])->members);
  b.text_unit = UnitTextRows(t);
  b.related = FranchiseLinks(t);
  b.max_members = *std::max_element(b.members.begin(), b.members.end()) + 1.0f;
  return b;
}

// The baselines' rankings (the same for every seed); they refer to `b` and `t`.
std::vector<Way> Baselines(const BaselineData& b, const TimeSplit& t) {
  std::vector<Way> ways;
  ways.push_back({"popularity (today's members)",
                  [&b](uint32_t, const std::vector<uint32_t>& c, std::vector<float>* s) {
                    for (size_t j = 0; j < c.size(); ++j) (*s)[j] = b.members[c[j]];
                  }});
  ways.push_back({"popularity, anime newer than the cutoff first",
                  [&b, &t](uint32_t, const std::vector<uint32_t>& c, std::vector<float>* s) {
                    for (size_t j = 0; j < c.size(); ++j) {
                      (*s)[j] =
                          static_cast<float>(t.is_cold_row[c[j]]) + b.members[c[j]] / b.max_members;
                    }
                  }});
  auto genre_vec = [&b](uint32_t r) -> const float* {
    return &b.genres.x[static_cast<size_t>(r) * b.genres.dims];
  };
  ways.push_back(
      {"genre cosine to history",
       [&b, &t, genre_vec](uint32_t u, const std::vector<uint32_t>& c, std::vector<float>* s) {
         const std::vector<float> q = UnitMean(t.history[u], genre_vec, b.genre_dims);
         for (size_t j = 0; j < c.size(); ++j) {
           (*s)[j] = static_cast<float>(Dot(q.data(), genre_vec(c[j]), b.genre_dims));
         }
       }});
  if (t.text.dims > 0) {
    auto text_vec = [&b, d = t.text.dims](uint32_t r) -> const float* {
      return &b.text_unit[static_cast<size_t>(r) * d];
    };
    ways.push_back(
        {"synopsis cosine to history",
         [&t, text_vec](uint32_t u, const std::vector<uint32_t>& c, std::vector<float>* s) {
           const std::vector<float> q = UnitMean(t.history[u], text_vec, t.text.dims);
           for (size_t j = 0; j < c.size(); ++j)
             (*s)[j] = static_cast<float>(Dot(q.data(), text_vec(c[j]), t.text.dims));
         }});
  }
  ways.push_back({"related entry of history",
                  [&b, &t](uint32_t u, const std::vector<uint32_t>& c, std::vector<float>* s) {
                    const auto& h = t.history[u];
                    for (size_t j = 0; j < c.size(); ++j) {
                      int links = 0;
                      for (uint32_t r : b.related[c[j]])
                        links += std::binary_search(h.begin(), h.end(), r);
                      (*s)[j] = static_cast<float>(links) +
                                b.members[c[j]] / b.max_members;  // ties: popularity
                    }
                  }});
  return ways;
}

// A ranking scored on the time split: every evaluated user's held-out cold anime ranked
// (a) among the cold anime, (b) among every anime not in their history.
void EvaluateWay(const Way& w, const TimeSplit& t, ListMetrics* a, ListMetrics* b) {
  std::vector<float> scores;
  std::vector<uint32_t> cand, rel;
  for (uint32_t u = 0; u < t.data.num_users(); ++u) {
    const std::vector<uint32_t>& relevant = t.relevant[u];
    if (relevant.empty()) continue;
    // (a)
    scores.assign(t.cold_rows.size(), 0.0f);
    w.score(u, t.cold_rows, &scores);
    rel.clear();
    for (uint32_t r : relevant)
      rel.push_back(static_cast<uint32_t>(
          std::lower_bound(t.cold_rows.begin(), t.cold_rows.end(), r) - t.cold_rows.begin()));
    AddRankedList(scores, rel, a);
    // (b)
    cand.clear();
    rel.clear();
    const auto& h = t.history[u];
    for (uint32_t r = 0; r < t.universe.size(); ++r) {
      if (std::binary_search(h.begin(), h.end(), r)) continue;
      if (std::binary_search(relevant.begin(), relevant.end(), r))
        rel.push_back(static_cast<uint32_t>(cand.size()));
      cand.push_back(r);
    }
    scores.assign(cand.size(), 0.0f);
    w.score(u, cand, &scores);
    AddRankedList(scores, rel, b);
  }
  Finish(a);
  Finish(b);
}

// "mean ± sd" of runs (the sample standard deviation; 0 for one run).
std::string Cell(const std::vector<double>& v) {
  double mean = 0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(v.size());
  double var = 0;
  for (double x : v) var += (x - mean) * (x - mean);
  const double sd = v.size() > 1 ? std::sqrt(var / static_cast<double>(v.size() - 1)) : 0.0;
  return absl::StrFormat("%.4f ± %.4f", mean, sd);
}

// The results: a row per ranking, in each column a value per run (seed).
class Results {
 public:
  void Record(const std::string& name, const ListMetrics& a, const ListMetrics& b) {
    auto it =
        std::find_if(rows_.begin(), rows_.end(), [&](const Row& r) { return r.name == name; });
    if (it == rows_.end()) it = rows_.insert(rows_.end(), Row{name, {}, {}, {}, {}});
    it->a_recall.push_back(a.recall20);
    it->a_ndcg.push_back(a.ndcg20);
    it->b_recall.push_back(b.recall20);
    it->b_ndcg.push_back(b.ndcg20);
  }

  // Prints the table on stdout (Markdown; mean ± sd over the runs) and returns its rows.
  json Print() const {
    std::printf(
        "| ranking by | runs | (a) cold only: Recall@20 | NDCG@20 | (b) every anime: Recall@20 | "
        "NDCG@20 |\n");
    std::printf("|---|---:|---:|---:|---:|---:|\n");
    json out = json::array();
    for (const Row& r : rows_) {
      std::printf("| %s | %zu | %s | %s | %s | %s |\n", r.name.c_str(), r.a_recall.size(),
                  Cell(r.a_recall).c_str(), Cell(r.a_ndcg).c_str(), Cell(r.b_recall).c_str(),
                  Cell(r.b_ndcg).c_str());
      out.push_back({{"ranking", r.name},
                     {"cold_recall20", r.a_recall},
                     {"cold_ndcg20", r.a_ndcg},
                     {"all_recall20", r.b_recall},
                     {"all_ndcg20", r.b_ndcg}});
    }
    return out;
  }

 private:
  struct Row {
    std::string name;
    std::vector<double> a_recall, a_ndcg, b_recall, b_ndcg;
  };

  std::vector<Row> rows_;
};

// The baselines, each evaluated, recorded and printed.
void EvaluateBaselines(const TimeSplit& t, Results* results) {
  const BaselineData b = MakeBaselineData(t);
  for (const Way& w : Baselines(b, t)) {
    ListMetrics a, m;
    EvaluateWay(w, t, &a, &m);
    results->Record(w.name, a, m);
    std::fprintf(stderr, "[cold] %-34s (a) %.4f %.4f  (b) %.4f %.4f\n", w.name.c_str(), a.recall20,
                 a.ndcg20, m.recall20, m.ndcg20);
  }
}

// --seeds: comma-separated integers.
absl::StatusOr<std::vector<uint64_t>> ParseSeeds(const std::string& text) {
  std::vector<uint64_t> seeds;
  for (absl::string_view s : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    uint64_t v;
    if (!absl::SimpleAtoi(s, &v))
      return absl::InvalidArgumentError("--seeds takes integers, e.g. 1,2,3");
    seeds.push_back(v);
  }
  return seeds;
}

// One seed's MF, trained on the time split, and its item vectors by row.
struct SeedModel {
  uint64_t seed = 0;
  Tensor users;                     // rows as the training users
  Tensor learned;                   // rows (zeros for anime without training pairs)
  std::vector<uint8_t> warm;        // rows with at least --min-viewers viewers
  std::vector<int> warm_viewers;    // their viewers; 0 for the other rows
  std::vector<uint32_t> warm_rows;  // sorted
  int dims() const { return learned.cols; }
};

// MF (--factors, --epochs, --threads, --item-bias) trained on `split` with `seed`: its
// item and user vectors as dot-product factors.
absl::Status TrainMf(const Split& split, const Options& o, uint64_t seed, Tensor* items,
                     Tensor* users) {
  ModelConfig mc;
  mc.factors = o.factors;
  mc.item_bias = o.item_bias;
  auto model = NcfModel::Create(mc, split.num_users, split.num_items, seed);
  if (!model.ok()) return model.status();
  TrainOptions to;
  to.epochs = o.epochs;
  to.threads = o.threads;
  to.seed = seed;
  Train(&*model, split, to);
  return model->ExportDotProduct(items, users);
}

absl::StatusOr<SeedModel> TrainSeed(const TimeSplit& t, const Options& o, uint64_t seed) {
  SeedModel m;
  m.seed = seed;
  Tensor items;
  if (auto st = TrainMf(t.split, o, seed, &items, &m.users); !st.ok()) return st;
  const int d = items.cols;
  m.learned = Tensor(static_cast<int>(t.universe.size()), d);
  m.warm.assign(t.universe.size(), 0);
  m.warm_viewers.assign(t.universe.size(), 0);
  for (uint32_t i = 0; i < t.data.num_items(); ++i) {
    const uint32_t r = t.universe_row.at(t.data.item_ids[i]);
    std::copy_n(&items.v[static_cast<size_t>(i) * d], d, &m.learned.v[static_cast<size_t>(r) * d]);
    if (t.viewers[r] >= o.min_viewers) {
      m.warm[r] = 1;
      m.warm_viewers[r] = t.viewers[r];
      m.warm_rows.push_back(r);
    }
  }
  std::sort(m.warm_rows.begin(), m.warm_rows.end());
  return m;
}

// A content model evaluated with each seed.
struct Variant {
  std::string name;
  bool members = false, franchise = true, text = true;
  double lambda = 0;
  bool calibrate = false;     // the shift CalibrateShift chooses on the training data, as served
  bool ranking_only = false;  // ... by ranking alone, without the level bound
};

// The content models evaluated: the full one, without franchise, without synopsis, with
// today's members (unshifted, shifted as served, shifted by ranking alone), and the full
// one with each ridge of --also-lambdas.
std::vector<Variant> Variants(const Options& o) {
  std::vector<Variant> variants = {{"content model (MF space)"},
                                   {"content model, no franchise", false, false},
                                   {"content model, no synopsis", false, true, false},
                                   {"content model with today's members", true}};
  variants.push_back(
      {"content model with today's members, calibrated popularity shift (served)", true});
  variants.back().calibrate = true;
  variants.push_back(
      {"content model with today's members, shift by ranking alone (no level bound)", true});
  variants.back().calibrate = true;
  variants.back().ranking_only = true;
  for (absl::string_view l : absl::StrSplit(o.extra_lambdas, ',', absl::SkipWhitespace())) {
    double v;
    if (absl::SimpleAtod(l, &v) && v > 0) {
      variants.push_back({absl::StrCat("content model, lambda ", v), false, true, true, v});
    }
  }
  return variants;
}

// A content model's vectors for every row (learned for the warm rows, predicted for the
// others), and the features they were predicted from.
struct ContentVectors {
  ContentFeatures features;
  Tensor vectors;
  Tensor query_vectors;  // before any shift: what an anime is like as a query
};

absl::StatusOr<ContentVectors> PredictRows(const Variant& v, double lambda, const TimeSplit& t,
                                           const SeedModel& m, const Options& o) {
  ContentOptions co;
  // The cold anime's member counts are today's: how popular they became after the
  // data's end. The content model does not see them (the baseline does: a harder bar),
  // but for the variants with today's counts, as served (they leak here).
  if (!v.members) co.hide_members = t.is_cold_row;
  co.franchise = !o.no_franchise && v.franchise;
  co.text = !o.no_text && v.text;
  ContentVectors out;
  out.features = BuildContentFeatures(t.catalog, t.universe, t.text.dims > 0 ? &t.text : nullptr,
                                      &m.learned, m.warm_viewers, co);
  auto cm = ContentModel::Fit(out.features, m.learned, m.warm_rows, lambda);
  if (!cm.ok()) return cm.status();
  out.vectors = m.learned;  // warm rows keep their learned vectors; the rest are predicted
  for (uint32_t r = 0; r < t.universe.size(); ++r) {
    if (!m.warm[r]) cm->Predict(out.features, r, &out.vectors.v[static_cast<size_t>(r) * m.dims()]);
  }
  out.query_vectors = out.vectors;
  return out;
}

// The popularity shift CalibrateShift chooses on the training data (as predict does),
// with its curves on stderr.
absl::StatusOr<ShiftCalibration> CalibrateSeed(const ContentFeatures& f, double lambda,
                                               const TimeSplit& t, const SeedModel& m,
                                               const Options& o) {
  auto c = CalibrateShift(t.catalog, t.universe, f, m.learned, m.warm_rows, m.users, t.history,
                          lambda, o.shift_share, DefaultShiftGrid());
  if (!c.ok()) return c.status();
  std::fprintf(
      stderr,
      "[cold] seed %llu calibration: %zu newest anime (from %s) as cold, %u users; NDCG@20 "
      "by shift%s "
      "(best %g); share of their viewers' top-10 slots%s, learned %.4f (level %g); of every "
      "user's%s, learned %.4f; chose %g\n",
      static_cast<unsigned long long>(m.seed), c->pseudo_cold, c->newest_from.c_str(), c->users,
      CurveText(c->ndcg).c_str(), c->by_ranking, CurveText(c->share).c_str(), c->share_learned,
      c->by_level, CurveText(c->share_all).c_str(), c->share_learned_all, c->shift);
  return c;
}

// Watch lists through one kind of query vectors `q`: HR@10, NDCG@20 and the users.
struct WatchListHits {
  double hr = 0, ndcg = 0;
  uint64_t users = 0;
};

// Each evaluated user's training history but one anime (drawn with the seed, held out),
// plus with `add_cold` the cold anime they watched, as liked anime of a watch list
// folded in as served (alpha 0.001, lambda 100, pulled toward `prior` with weight 1 /
// liked anime) through `q`; the held-out anime ranked among the warm anime not in the
// history, by their learned vectors.
WatchListHits FoldInWatchLists(const TimeSplit& t, const SeedModel& m, const Tensor& q,
                               bool add_cold, const std::vector<float>& prior) {
  const int d = m.dims();
  const std::vector<float> gram = GramMatrix(q.v.data(), t.universe.size(), d);
  std::mt19937_64 rng(m.seed);
  double hits = 0, ndcg = 0;
  uint64_t n = 0;
  std::vector<float> p(d);
  for (uint32_t u = 0; u < t.data.num_users(); ++u) {
    if (t.relevant[u].empty() || t.history[u].size() < 2) continue;
    const auto& h = t.history[u];
    const uint32_t out = h[std::uniform_int_distribution<size_t>(0, h.size() - 1)(rng)];
    std::vector<const float*> liked;
    for (uint32_t r : h) {
      if (r != out) liked.push_back(&q.v[static_cast<size_t>(r) * d]);
    }
    if (add_cold) {
      for (uint32_t r : t.relevant[u]) liked.push_back(&q.v[static_cast<size_t>(r) * d]);
    }
    if (!FoldInUser(gram.data(), d, liked, {}, 1.0f, kServedFoldIn, p.data(), prior.data(),
                    1.0f / static_cast<float>(liked.size()))
             .ok()) {
      continue;
    }
    const double target = Dot(p.data(), &m.learned.v[static_cast<size_t>(out) * d], d);
    int above = 0;
    for (uint32_t r : m.warm_rows) {
      if (r == out || std::binary_search(h.begin(), h.end(), r)) continue;
      above += Dot(p.data(), &m.learned.v[static_cast<size_t>(r) * d], d) > target;
    }
    hits += above < 10;
    ndcg += above < 20 ? 1.0 / std::log2(above + 2.0) : 0.0;
    ++n;
  }
  return {n ? hits / static_cast<double>(n) : 0, n ? ndcg / static_cast<double>(n) : 0, n};
}

// Watch lists that like new anime: each user's list is their training history but one
// anime (held out), folded in as served (alpha 0.001, lambda 100, prior 1 / liked anime)
// with the cold anime they watched added as liked, through the predicted query vectors
// as they are or spread out (DeshrinkQueries), or left out; the held-out anime's rank
// among every warm anime not in the list gives HR@10 and NDCG@20. (Its vector was
// trained with this user's view of it: the same small leak for every row.) Recorded in
// the (a) columns, and printed.
void EvaluateNewAnimeWatchLists(const TimeSplit& t, const SeedModel& m, const Tensor& query_vec,
                                Results* results) {
  const int d = m.dims();
  std::vector<uint8_t> predicted_rows(t.universe.size(), 0);
  for (uint32_t r = 0; r < t.universe.size(); ++r) predicted_rows[r] = !m.warm[r];
  Tensor spread_vec = query_vec;
  std::vector<int> year(t.universe.size(), 0);
  for (uint32_t r = 0; r < t.universe.size(); ++r)
    year[r] = t.catalog.Find(t.universe[r])->start_year();
  DeshrinkQueries(m.learned, m.warm_rows, predicted_rows, year, &spread_vec);
  std::vector<float> prior(d, 0.0f);
  for (int u = 0; u < m.users.rows; ++u) {
    for (int c = 0; c < d; ++c)
      prior[c] += m.users.v[static_cast<size_t>(u) * d + c] / static_cast<float>(m.users.rows);
  }
  const Tensor* kinds[] = {nullptr, &query_vec, &spread_vec};
  const char* kind_names[] = {"watch list, new anime left out",
                              "watch list + new anime as predicted",
                              "watch list + new anime as predicted, spread out"};
  for (int kind = 0; kind < 3; ++kind) {
    const Tensor& q = kinds[kind] != nullptr ? *kinds[kind] : query_vec;
    const WatchListHits w = FoldInWatchLists(t, m, q, kinds[kind] != nullptr, prior);
    ListMetrics wa, wb;
    wa.recall20 = w.hr;  // the table's columns: HR@10 and NDCG@20 in (a); (b) unused
    wa.ndcg20 = w.ndcg;
    results->Record(absl::StrCat(kind_names[kind], " (HR@10, NDCG@20 in the (a) columns)"), wa, wb);
    std::fprintf(stderr, "[cold] seed %llu %s: %llu users, HR@10 %.4f, NDCG@20 %.4f\n",
                 static_cast<unsigned long long>(m.seed), kind_names[kind],
                 static_cast<unsigned long long>(w.users), w.hr, w.ndcg);
  }
}

// One content model with one seed: its vectors (shifted when it calibrates), ranked on
// the time split, recorded and printed; the served one's shift is added to
// `chosen_shifts`, and its watch lists that like new anime evaluated.
absl::Status EvaluateVariant(const Variant& v, const TimeSplit& t, const SeedModel& m,
                             const Options& o, Results* results,
                             std::vector<double>* chosen_shifts) {
  const double lambda = v.lambda > 0 ? v.lambda : o.lambda;
  auto p = PredictRows(v, lambda, t, m, o);
  if (!p.ok()) return p.status();
  double shift = 0;
  if (v.calibrate) {
    auto c = CalibrateSeed(p->features, lambda, t, m, o);
    if (!c.ok()) return c.status();
    shift = v.ranking_only ? c->by_ranking : c->shift;
    if (!v.ranking_only) chosen_shifts->push_back(shift);
  }
  if (shift != 0) {
    std::vector<uint8_t> predicted_rows(t.universe.size(), 0);
    for (uint32_t r = 0; r < t.universe.size(); ++r) predicted_rows[r] = !m.warm[r];
    ApplyShift(p->features, PopularityDirection(m.users), shift, predicted_rows, &p->vectors);
  }
  const Tensor& vec = p->vectors;
  const int d = m.dims();
  Way w{v.name, [&](uint32_t u, const std::vector<uint32_t>& c, std::vector<float>* s) {
          const float* q = &m.users.v[static_cast<size_t>(u) * m.users.cols];
          for (size_t j = 0; j < c.size(); ++j) {
            (*s)[j] = static_cast<float>(Dot(q, &vec.v[static_cast<size_t>(c[j]) * d], d));
          }
        }};
  ListMetrics a, b;
  EvaluateWay(w, t, &a, &b);
  results->Record(v.name, a, b);
  if (v.calibrate && !v.ranking_only) EvaluateNewAnimeWatchLists(t, m, p->query_vectors, results);
  std::fprintf(stderr,
               "[cold] seed %llu %-26s (a) %.4f %.4f  (b) %.4f %.4f  (%zu fit on, %d features)\n",
               static_cast<unsigned long long>(m.seed), v.name.c_str(), a.recall20, a.ndcg20,
               b.recall20, b.ndcg20, m.warm_rows.size(), p->features.dims);
  return absl::OkStatus();
}

// Every content model with one seed's MF.
absl::Status EvaluateSeed(uint64_t seed, const TimeSplit& t, const Options& o, Results* results,
                          std::vector<double>* chosen_shifts) {
  auto m = TrainSeed(t, o, seed);
  if (!m.ok()) return m.status();
  for (const Variant& v : Variants(o)) {
    if (!v.text && t.text.dims == 0) continue;
    if (absl::Status s = EvaluateVariant(v, t, *m, o, results, chosen_shifts); !s.ok()) return s;
  }
  return absl::OkStatus();
}

int Evaluate(const Options& o) {
  auto t = LoadTimeSplit(o);
  if (!t.ok()) return Fail(t.status());
  PrintTimeSplit(*t, o);
  Results results;
  EvaluateBaselines(*t, &results);
  auto seeds = ParseSeeds(o.seeds);
  if (!seeds.ok()) return Fail(seeds.status());
  std::vector<double> chosen_shifts;
  for (uint64_t seed : *seeds) {
    if (absl::Status s = EvaluateSeed(seed, *t, o, &results, &chosen_shifts); !s.ok()) {
      return Fail(s);
    }
  }
  const json rows = results.Print();
  if (o.out.empty()) return 0;
  json doc = {{"cutoff", o.cutoff},
              {"until", o.until},
              {"cold_anime", t->cold.size()},
              {"held_out_views", t->held_out},
              {"users", t->evaluated},
              {"min_viewers", o.min_viewers},
              {"lambda", o.lambda},
              {"shift_share", o.shift_share},
              {"chosen_shifts", chosen_shifts},
              {"seeds", *seeds},
              {"interactions", o.interactions},
              {"rows", rows}};
  if (absl::Status st = WriteStringToFile(o.out, doc.dump(2) + "\n"); !st.ok()) return Fail(st);
  return 0;
}

// A comma-separated list of numbers of `flag`, each at least `min`.
template <typename T>
absl::StatusOr<std::vector<T>> ParseList(const std::string& text, const std::string& flag, T min) {
  std::vector<T> out;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    T v{};
    bool ok;
    if constexpr (std::is_integral_v<T>) {
      ok = absl::SimpleAtoi(part, &v);
    } else {
      ok = absl::SimpleAtod(part, &v);
    }
    if (!ok || !std::isfinite(static_cast<double>(v)) || v < min) {
      return absl::InvalidArgumentError(absl::StrCat(flag, ": '", part,
                                                     "' is not a number of at least ", min,
                                                     "; give a comma-separated list of them"));
    }
    out.push_back(v);
  }
  return out;
}

// --watch-lists: "Q:R,Q:R" (query and rank thresholds, 1 <= Q <= R); empty: none.
absl::StatusOr<std::vector<WatchListSetting>> ParseWatchLists(const std::string& text) {
  std::vector<WatchListSetting> out;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    const std::vector<absl::string_view> qr = absl::StrSplit(part, ':');
    WatchListSetting s;
    if (qr.size() != 2 || !absl::SimpleAtoi(qr[0], &s.query) || !absl::SimpleAtoi(qr[1], &s.rank) ||
        s.query < 1 || s.query > s.rank) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--watch-lists: '", part, "' is not QUERY:RANK with 1 <= QUERY <= RANK (e.g. 5:13)"));
    }
    out.push_back(s);
  }
  return out;
}

// What the threshold study compares, from the flags.
struct StudyPlan {
  std::vector<int> thresholds;
  std::vector<double> blends;
  std::vector<uint64_t> seeds;
  std::vector<WatchListSetting> watch_lists;
  std::vector<int> lengths;  // --list-lengths
};

absl::StatusOr<StudyPlan> ParseStudy(const Options& o) {
  StudyPlan plan;
  auto thresholds = ParseList<int>(o.thresholds, "--thresholds", 1);
  if (!thresholds.ok()) return thresholds.status();
  plan.thresholds = *std::move(thresholds);
  auto blends = ParseList<double>(o.blends, "--blends", 0.001);
  if (!blends.ok()) return blends.status();
  plan.blends = *std::move(blends);
  auto seeds = ParseSeeds(o.seeds);
  if (!seeds.ok()) return seeds.status();
  plan.seeds = *std::move(seeds);
  if (plan.seeds.empty()) return absl::InvalidArgumentError("--seeds: none given");
  if (plan.thresholds.empty()) return absl::InvalidArgumentError("--thresholds: none given");
  auto watch_lists = ParseWatchLists(o.watch_lists);
  if (!watch_lists.ok()) return watch_lists.status();
  plan.watch_lists = *std::move(watch_lists);
  if (o.holdout_users > 0 && plan.watch_lists.empty()) {
    return absl::InvalidArgumentError(
        "--holdout-users is for the watch lists: give --watch-lists too (e.g. 5:5)");
  }
  auto lengths = ParseList<int>(o.list_lengths, "--list-lengths", 1);
  if (!lengths.ok()) return lengths.status();
  plan.lengths = *std::move(lengths);
  std::vector<int> sorted = plan.lengths;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
    return absl::InvalidArgumentError("--list-lengths: a length is given twice");
  }
  if (!plan.lengths.empty() && o.holdout_users <= 0) {
    return absl::InvalidArgumentError(
        "--list-lengths cuts the lists of users held out whole: give --holdout-users too "
        "(e.g. 0.1)");
  }
  return plan;
}

// One seed's data by row, a row per catalogue anime (data's items are catalogue anime:
// known_items): the learned vectors (zeros for anime never trained on), training
// viewers, and each user's history, list and held-out views.
struct SeedRows {
  std::vector<uint32_t> row_of_item;
  Tensor learned;
  std::vector<int> viewers;
  std::vector<std::vector<uint32_t>> history, listed, held_out;

  SeedRows(const Interactions& data, const std::vector<int64_t>& universe, const Tensor& items,
           const HeldOutViews& h)
      : row_of_item(data.num_items()),
        learned(static_cast<int>(universe.size()), items.cols),
        viewers(universe.size(), 0) {
    const int d = items.cols;
    for (uint32_t i = 0; i < data.num_items(); ++i) {
      row_of_item[i] = static_cast<uint32_t>(
          std::lower_bound(universe.begin(), universe.end(), data.item_ids[i]) - universe.begin());
      std::copy_n(items.row(i), d, learned.row(row_of_item[i]));
    }
    history = ByRow(h.split.train);
    listed = ByRow(h.split.listed);
    held_out = ByRow(h.held_out);
    for (const auto& list : history) {
      for (uint32_t r : list) ++viewers[r];
    }
    for (uint32_t r = 0; r < universe.size(); ++r) {
      if (viewers[r] == 0) std::fill_n(learned.row(r), d, 0.0f);  // never trained: no vector
    }
  }
  // Lists of items as sorted lists of rows.
  std::vector<std::vector<uint32_t>> ByRow(const std::vector<std::vector<uint32_t>>& lists) const {
    std::vector<std::vector<uint32_t>> out(lists.size());
    for (size_t u = 0; u < lists.size(); ++u) {
      for (uint32_t i : lists[u]) out[u].push_back(row_of_item[i]);
      std::sort(out[u].begin(), out[u].end());
    }
    return out;
  }
};

// One seed of the threshold study: hold out views, train MF on the rest, and rank the
// held-out views with each threshold and blend.
absl::StatusOr<std::vector<ThresholdRow>> StudySeed(const Options& o, const Catalog& catalog,
                                                    const std::vector<int64_t>& universe,
                                                    const Interactions& data,
                                                    const TextVectors& text, uint64_t seed,
                                                    const StudyPlan& plan) {
  HeldOutViews h = HoldOutViews(data, o.holdout, seed);
  std::vector<std::vector<uint32_t>> liked_items;  // users held out whole: their lists
  if (o.holdout_users > 0) {
    liked_items = HoldOutUsers(&h, o.holdout_users, seed);
    if (std::all_of(liked_items.begin(), liked_items.end(),
                    [](const auto& l) { return l.empty(); }))
      return absl::InvalidArgumentError("--holdout-users: too small a share, no user held out");
  }
  Tensor items, users;
  if (absl::Status st = TrainMf(h.split, o, seed, &items, &users); !st.ok()) return st;
  const SeedRows rows_of(data, universe, items, h);
  const Tensor& learned = rows_of.learned;
  const std::vector<int>& viewers = rows_of.viewers;
  const auto &history = rows_of.history, &listed = rows_of.listed, &held_out = rows_of.held_out;
  std::fprintf(stderr, "[threshold] seed %llu: %llu views held out, %llu pairs trained on\n",
               static_cast<unsigned long long>(seed),
               static_cast<unsigned long long>(h.num_held_out),
               static_cast<unsigned long long>(h.split.num_train()));
  ThresholdInput in;
  in.catalog = &catalog;
  in.ids = &universe;
  in.learned = &learned;
  in.viewers = &viewers;
  in.text = text.dims > 0 ? &text : nullptr;
  in.content.franchise = !o.no_franchise;
  in.content.text = !o.no_text;
  in.lambda = o.lambda;
  in.shift_share = o.shift_share;
  in.users = &users;
  in.history = &history;
  in.listed = &listed;
  in.held_out = &held_out;
  // With users held out whole, a user's own vector ranks for the others, and watch lists
  // are the held-out users' lists (else every user's training anime).
  ThresholdInput lists_in = in;
  std::vector<std::vector<uint32_t>> user_held, list_held, liked;
  if (o.holdout_users > 0) {
    liked = rows_of.ByRow(liked_items);
    user_held = held_out;
    list_held.resize(held_out.size());
    for (size_t u = 0; u < held_out.size(); ++u) {
      if (!liked_items[u].empty()) std::swap(user_held[u], list_held[u]);
    }
    in.held_out = &user_held;
    lists_in.held_out = &list_held;
    lists_in.liked = &liked;
  }
  auto rows = StudyThresholds(in, plan.thresholds, plan.blends);
  if (!rows.ok()) return rows.status();
  auto lists = StudyWatchLists(lists_in, plan.watch_lists);
  if (!lists.ok()) return lists.status();
  rows->insert(rows->end(), lists->begin(), lists->end());
  if (!plan.lengths.empty()) {
    lists_in.group = &data.dataset_of_user;
    // The cuts drawn apart from HoldOutUsers' draws (CutLists at L = 1 would repeat them).
    auto by_length = StudyListLengths(lists_in, plan.watch_lists,
                                      {plan.lengths, 200, o.threads, seed + 0x632be59bd9b4e019ULL});
    if (!by_length.ok()) return by_length.status();
    rows->insert(rows->end(), by_length->begin(), by_length->end());
  }
  return rows;
}

// Per seed, a row's NDCG@20 (all, rare) minus the reference row's: "+0.0002, -0.0001".
std::pair<std::string, std::string> PairedDifferences(
    const std::vector<std::vector<ThresholdRow>>& runs, size_t row, size_t reference) {
  std::vector<std::string> all, rare;
  for (const auto& run : runs) {
    all.push_back(absl::StrFormat("%+.4f", run[row].all.ndcg20 - run[reference].all.ndcg20));
    rare.push_back(absl::StrFormat("%+.4f", run[row].rare.ndcg20 - run[reference].rare.ndcg20));
  }
  return {absl::StrJoin(all, ", "), absl::StrJoin(rare, ", ")};
}

// The second table: each row's NDCG@20 (all, rare) minus its reference row's, seed by
// seed.
void PrintPairedTable(const std::vector<std::vector<ThresholdRow>>& runs, int served) {
  // The reference of a user row: the user row at `served`; of a watch-list row: the
  // watch-list row at served:served.
  const size_t none = runs[0].size();
  size_t reference[2] = {none, none};
  for (size_t k = 0; k < runs[0].size(); ++k) {
    const ThresholdRow& r = runs[0][k];
    if (r.length > 0) continue;  // PrintLengthRows'
    const bool list = r.query > 0;
    if (r.threshold == served && r.blend_k == 0 && (!list || r.query == served))
      reference[list] = k;
  }
  std::printf(
      "\n| vectors | NDCG@20 minus that at %d viewers (%d:%d for watch lists), per seed | rare: "
      "NDCG@20 minus, per seed |\n",
      served, served, served);
  std::printf("|---|---|---|\n");
  bool has[2] = {false, false};
  for (const ThresholdRow& r : runs[0]) has[r.query > 0] |= r.length == 0;
  for (int list = 0; list < 2; ++list) {
    if (has[list] && reference[list] == none) {
      std::fprintf(stderr, "[threshold] no paired table for the %s rows: add %s\n",
                   list ? "watch-list" : "user",
                   (list ? absl::StrCat(served, ":", served, " to --watch-lists")
                         : absl::StrCat(served, " to --thresholds"))
                       .c_str());
    }
  }
  for (size_t k = 0; k < runs[0].size(); ++k) {
    const size_t ref = reference[runs[0][k].query > 0];
    if (ref == none || runs[0][k].length > 0) continue;
    const auto [all, rare] = PairedDifferences(runs, k, ref);
    std::printf("| %s | %s | %s |\n", runs[0][k].name.c_str(), all.c_str(), rare.c_str());
  }
}

// The table of the threshold study on stdout (Markdown, mean ± sd over the seeds), then
// each row's NDCG@20 against the threshold served by default (`served`), seed by seed
// (the same MF for every row of a seed: paired); returns the rows as JSON.
json PrintThresholdTable(const std::vector<std::vector<ThresholdRow>>& runs, int served) {
  const std::vector<int> lower = ViewerBuckets();
  std::printf(
      "| vectors | predicted anime | shift | Recall@20 | NDCG@20 | rare: Recall@20 | NDCG@20 |");
  for (size_t b = 0; b < lower.size(); ++b) {
    if (b + 1 < lower.size() && lower[b + 1] == lower[b] + 1) {
      std::printf(" AUC, %d viewers |", lower[b]);
    } else if (b + 1 < lower.size()) {
      std::printf(" AUC, %d-%d |", lower[b], lower[b + 1] - 1);
    } else {
      std::printf(" AUC, %d+ |", lower[b]);
    }
  }
  std::printf("\n|---|---:|---:|---:|---:|---:|---:|");
  for (size_t b = 0; b < lower.size(); ++b) std::printf("---:|");
  std::printf("\n");
  json out = json::array();
  for (size_t k = 0; k < runs[0].size(); ++k) {
    if (runs[0][k].length > 0) continue;  // PrintLengthRows'
    std::vector<double> predicted, shift, recall, ndcg, rare_recall, rare_ndcg;
    std::vector<std::vector<double>> auc(lower.size());
    std::vector<uint64_t> pairs(lower.size(), 0);
    for (const auto& run : runs) {
      const ThresholdRow& r = run[k];
      predicted.push_back(static_cast<double>(r.predicted));
      shift.push_back(r.shift);
      recall.push_back(r.all.recall20);
      ndcg.push_back(r.all.ndcg20);
      rare_recall.push_back(r.rare.recall20);
      rare_ndcg.push_back(r.rare.ndcg20);
      for (size_t b = 0; b < lower.size(); ++b) {
        auc[b].push_back(r.auc[b]);
        pairs[b] += r.pairs[b];
      }
    }
    std::printf("| %s | %.0f | %s | %s | %s | %s | %s |", runs[0][k].name.c_str(),
                std::accumulate(predicted.begin(), predicted.end(), 0.0) /
                    static_cast<double>(predicted.size()),
                absl::StrJoin(shift, ", ").c_str(), Cell(recall).c_str(), Cell(ndcg).c_str(),
                Cell(rare_recall).c_str(), Cell(rare_ndcg).c_str());
    for (size_t b = 0; b < lower.size(); ++b) std::printf(" %s |", Cell(auc[b]).c_str());
    std::printf("\n");
    out.push_back({{"vectors", runs[0][k].name},
                   {"threshold", runs[0][k].threshold},
                   {"blend_k", runs[0][k].blend_k},
                   {"query", runs[0][k].query},
                   {"predicted", predicted},
                   {"shift", shift},
                   {"recall20", recall},
                   {"ndcg20", ndcg},
                   {"rare_recall20", rare_recall},
                   {"rare_ndcg20", rare_ndcg},
                   {"auc_by_viewers", auc},
                   {"pairs_by_viewers", pairs},
                   {"viewer_buckets", lower}});
  }
  PrintPairedTable(runs, served);
  return out;
}

// The three metrics of the length tables, by name and value.
constexpr const char* kLengthMetrics[] = {"HR@10", "Recall@20", "NDCG@20"};
double LengthMetric(const ListMetrics& m, int metric) {
  return metric == 0 ? m.hit10 : metric == 1 ? m.recall20 : m.ndcg20;
}

// The watch lists by length (StudyListLengths): per length and ranking, each data set's
// users' HR@10, Recall@20 and NDCG@20 (mean ± sd over the seeds); returns them as JSON.
json PrintLengthRows(const std::vector<std::vector<ThresholdRow>>& runs,
                     const std::vector<std::string>& datasets) {
  std::printf("\n| L | ranking | users (first seed) |");
  for (const std::string& name : datasets) {
    std::printf(" %s: HR@10 | Recall@20 | NDCG@20 |", name.c_str());
  }
  std::printf("\n|---:|---|---:|");
  for (size_t g = 0; g < datasets.size(); ++g) std::printf("---:|---:|---:|");
  std::printf("\n");
  json out = json::array();
  for (size_t k = 0; k < runs[0].size(); ++k) {
    const ThresholdRow& first = runs[0][k];
    if (first.length == 0) continue;
    std::vector<std::string> users;
    for (const ListMetrics& m : first.by_group) users.push_back(absl::StrCat(m.users));
    std::printf("| %d | %s | %s |", first.length, first.name.c_str(),
                absl::StrJoin(users, ", ").c_str());
    json groups = json::array();
    for (size_t g = 0; g < datasets.size(); ++g) {
      json metrics = json::object();
      for (int m = 0; m < 3; ++m) {
        std::vector<double> v;
        for (const auto& run : runs) {
          v.push_back(g < run[k].by_group.size() ? LengthMetric(run[k].by_group[g], m) : 0.0);
        }
        std::printf(" %s |", Cell(v).c_str());
        metrics[kLengthMetrics[m]] = v;
      }
      std::vector<uint32_t> evaluated;  // per seed
      for (const auto& run : runs) {
        evaluated.push_back(g < run[k].by_group.size() ? run[k].by_group[g].users : 0);
      }
      groups.push_back({{"dataset", datasets[g]}, {"users", evaluated}, {"metrics", metrics}});
    }
    std::printf("\n");
    out.push_back({{"length", first.length},
                   {"ranking", first.name},
                   {"threshold", first.threshold},
                   {"query", first.query},
                   {"by_dataset", groups}});
  }
  return out;
}

// Per length and data set, in how many seeds the served fold-in (served:served) is at or
// above both baselines (popularity, item-kNN) on each metric.
void PrintLengthVerdicts(const std::vector<std::vector<ThresholdRow>>& runs, int served,
                         const std::vector<std::string>& datasets) {
  if (std::none_of(runs[0].begin(), runs[0].end(), [&](const ThresholdRow& r) {
        return r.length > 0 && r.query == served && r.threshold == served;
      })) {
    std::fprintf(stderr, "[threshold] no verdict table: add %d:%d to --watch-lists\n", served,
                 served);
    return;
  }
  std::printf(
      "\n| L | users (first seed) | seeds where fold-in %d:%d >= popularity and item-kNN: "
      "HR@10 | Recall@20 | NDCG@20 |\n|---:|---|---:|---:|---:|\n",
      served, served);
  const size_t none = runs[0].size();
  for (size_t k = 0; k < runs[0].size(); ++k) {
    const ThresholdRow& r = runs[0][k];
    if (r.length == 0 || r.name != "popularity") continue;
    size_t knn = none, fold = none;  // the length's other rows
    for (size_t j = k + 1; j < runs[0].size() && runs[0][j].length == r.length; ++j) {
      if (absl::StartsWith(runs[0][j].name, "item-kNN")) knn = j;
      if (runs[0][j].query == served && runs[0][j].threshold == served) fold = j;
    }
    if (knn == none || fold == none) {
      std::fprintf(stderr, "[threshold] no verdict at L=%d: add %d:%d to --watch-lists\n", r.length,
                   served, served);
      return;
    }
    for (size_t g = 0; g < datasets.size(); ++g) {
      std::printf("| %d | %s (%u) |", r.length, datasets[g].c_str(),
                  g < r.by_group.size() ? r.by_group[g].users : 0u);
      for (int m = 0; m < 3; ++m) {
        int wins = 0, seeds = 0;
        for (const auto& run : runs) {
          if (g >= run[k].by_group.size() || run[k].by_group[g].users == 0) continue;
          ++seeds;
          const double best =
              std::max(LengthMetric(run[k].by_group[g], m), LengthMetric(run[knn].by_group[g], m));
          wins += LengthMetric(run[fold].by_group[g], m) >= best;
        }
        if (seeds == 0) {
          std::printf(" no list this long |");
        } else {
          std::printf(" %d of %d |", wins, seeds);
        }
      }
      std::printf("\n");
    }
  }
}

int StudyViewerThresholds(const Options& o) {
  auto plan = ParseStudy(o);
  if (!plan.ok()) return Fail(plan.status());
  auto catalog = Catalog::Load(o.catalogs);
  if (!catalog.ok()) return Fail(catalog.status());
  std::vector<int64_t> universe;
  for (const Item& it : catalog->items()) universe.push_back(it.id);  // sorted
  TextVectors text;
  if (!o.text_vectors.empty()) {
    auto t = LoadTextVectors(o.text_vectors, o.text_ids);
    if (!t.ok()) return Fail(t.status());
    text = *std::move(t);
  }
  InteractionsOptions io;
  auto statuses = ParseStatuses(o.statuses, "--statuses");
  if (!statuses.ok()) return Fail(statuses.status());
  io.statuses = *statuses;
  io.known_items = &universe;
  auto data = LoadInteractions(o.interactions, io);
  if (!data.ok()) return Fail(data.status());
  std::fprintf(stderr, "[threshold] %zu users, %zu anime with interactions, %zu catalogue anime\n",
               data->num_users(), data->num_items(), universe.size());
  std::vector<std::vector<ThresholdRow>> runs;
  for (uint64_t seed : plan->seeds) {
    auto rows = StudySeed(o, *catalog, universe, *data, text, seed, *plan);
    if (!rows.ok()) return Fail(rows.status());
    for (const ThresholdRow& r : *rows) {
      std::fprintf(stderr,
                   "[threshold] seed %llu %s%-44s Recall@20 %.4f NDCG@20 %.4f  rare %.4f %.4f "
                   "(shift %g)\n",
                   static_cast<unsigned long long>(seed),
                   r.length > 0 ? absl::StrCat("L=", r.length, " ").c_str() : "", r.name.c_str(),
                   r.all.recall20, r.all.ndcg20, r.rare.recall20, r.rare.ndcg20, r.shift);
    }
    runs.push_back(*std::move(rows));
  }
  const json rows = PrintThresholdTable(runs, o.min_viewers);
  json by_length = nullptr;
  if (!plan->lengths.empty()) {
    std::vector<std::string> datasets;
    for (const std::string& f : data->datasets) {
      datasets.push_back(f.substr(f.find_last_of('/') + 1));  // the file's name
    }
    by_length = PrintLengthRows(runs, datasets);
    PrintLengthVerdicts(runs, o.min_viewers, datasets);
  }
  if (o.out.empty()) return 0;
  json doc = {{"holdout", o.holdout},
              {"holdout_users", o.holdout_users},
              {"lambda", o.lambda},
              {"shift_share", o.shift_share},
              {"seeds", plan->seeds},
              {"epochs", o.epochs},
              {"factors", o.factors},
              {"rare_viewers", kRareViewers},
              {"interactions", o.interactions},
              {"rows", rows},
              {"by_list_length", by_length}};
  if (absl::Status st = WriteStringToFile(o.out, doc.dump(2) + "\n"); !st.ok()) return Fail(st);
  return 0;
}

// What predict reads of simsearch-train-ncf's --out, by row: a row per catalogue anime.
struct TrainedModel {
  std::vector<int64_t> universe;  // the rows' ids, sorted
  absl::flat_hash_map<int64_t, uint32_t> row_of;
  Interactions user_items;   // user_items.csv: each user's trained pairs
  Tensor learned;            // rows x dims (zeros for anime without a learned vector)
  std::vector<int> viewers;  // per row with a learned vector: users with it in user_items.csv
  size_t outside = 0;        // learned vectors of anime outside the catalogue (left out)
  // The user vectors, and each user's anime as rows (sorted): they calibrate the
  // popularity shift.
  Tensor users;
  std::vector<std::vector<uint32_t>> history;
};

// Reads item_vectors.npy, item_ids.npy and user_items.csv of `dir` into m (rows: the
// catalogue's anime).
absl::Status ReadItemVectors(const std::string& dir, const Catalog& catalog, TrainedModel* m) {
  auto vectors = ReadVectors(dir + "/item_vectors.npy");
  if (!vectors.ok()) return vectors.status();
  auto ids = ReadIds(dir + "/item_ids.npy");
  if (!ids.ok()) return ids.status();
  if (ids->size() != vectors->count) {
    return absl::InvalidArgumentError(
        absl::StrCat(dir, ": item_ids.npy and item_vectors.npy differ in rows"));
  }
  auto users = LoadInteractions(dir + "/user_items.csv");
  if (!users.ok()) return users.status();
  m->user_items = *std::move(users);
  for (const Item& it : catalog.items()) m->universe.push_back(it.id);  // sorted
  for (uint32_t r = 0; r < m->universe.size(); ++r) m->row_of[m->universe[r]] = r;
  const int d = static_cast<int>(vectors->dims);
  m->learned = Tensor(static_cast<int>(m->universe.size()), d);
  m->viewers.assign(m->universe.size(), 0);
  std::vector<uint8_t> has_learned(m->universe.size(), 0);
  for (size_t i = 0; i < ids->size(); ++i) {
    auto it = m->row_of.find((*ids)[i]);
    if (it == m->row_of.end()) {
      ++m->outside;
      continue;
    }
    std::copy_n(&vectors->data[i * d], d, &m->learned.v[static_cast<size_t>(it->second) * d]);
    has_learned[it->second] = 1;
  }
  const Interactions& ui = m->user_items;
  for (size_t u = 0; u < ui.num_users(); ++u) {
    for (uint32_t i : ui.items_of_user[u]) {
      auto it = m->row_of.find(ui.item_ids[i]);
      if (it != m->row_of.end() && has_learned[it->second]) ++m->viewers[it->second];
    }
  }
  return absl::OkStatus();
}

// Reads user_vectors.npy and user_ids.npy of `dir` into m, with each user's history.
absl::Status ReadUserVectors(const std::string& dir, TrainedModel* m) {
  const int d = m->learned.cols;
  auto user_vectors = ReadVectors(dir + "/user_vectors.npy");
  if (!user_vectors.ok()) return user_vectors.status();
  auto user_ids = ReadIds(dir + "/user_ids.npy");
  if (!user_ids.ok()) return user_ids.status();
  if (user_ids->size() != user_vectors->count || static_cast<int>(user_vectors->dims) != d) {
    return absl::InvalidArgumentError(
        absl::StrCat(dir,
                     ": user_vectors.npy must have a row per id of user_ids.npy and as many dims "
                     "as item_vectors.npy"));
  }
  m->users = Tensor(static_cast<int>(user_vectors->count), d);
  m->users.v.assign(user_vectors->data.begin(), user_vectors->data.end());
  absl::flat_hash_map<int64_t, uint32_t> user_row;
  for (uint32_t u = 0; u < user_ids->size(); ++u) user_row[(*user_ids)[u]] = u;
  m->history.assign(user_ids->size(), {});
  const Interactions& ui = m->user_items;
  for (size_t u = 0; u < ui.num_users(); ++u) {
    auto ur = user_row.find(ui.user_ids[u]);
    if (ur == user_row.end()) continue;
    for (uint32_t i : ui.items_of_user[u]) {
      auto it = m->row_of.find(ui.item_ids[i]);
      if (it != m->row_of.end()) m->history[ur->second].push_back(it->second);
    }
  }
  for (auto& h : m->history) std::sort(h.begin(), h.end());
  return absl::OkStatus();
}

// How the popularity shift was chosen, on stderr.
void ReportShift(const ShiftCalibration& cal, const Options& o) {
  if (o.popularity_shift >= 0) {
    std::fprintf(stderr, "[cold] popularity shift %g (--popularity-shift)\n", cal.shift);
  } else if (!cal.skipped.empty()) {
    std::fprintf(stderr, "[cold] warning: no popularity shift: %s\n", cal.skipped.c_str());
  } else {
    std::fprintf(
        stderr,
        "[cold] popularity shift %g, chosen on the %zu newest anime with viewers (from %s) acting "
        "as cold: "
        "ranked for their %u viewers, NDCG@20 by shift:%s (best %g); their share of their viewers' "
        "top-10 slots by shift:%s, with their learned vectors %.4f (held to %g)\n",
        cal.shift, cal.pseudo_cold, cal.newest_from.c_str(), cal.users, CurveText(cal.ndcg).c_str(),
        cal.by_ranking, CurveText(cal.share).c_str(), cal.share_learned, cal.by_level);
  }
}

// Rows predicted, and of those the rows with (too few) viewers.
std::pair<size_t, size_t> CountPredicted(const FilledVectors& filled,
                                         const std::vector<int>& viewers) {
  size_t predicted = 0, predicted_with_viewers = 0;
  for (size_t r = 0; r < viewers.size(); ++r) {
    predicted += filled.predicted[r];
    predicted_with_viewers += filled.predicted[r] && viewers[r] > 0;
  }
  return {predicted, predicted_with_viewers};
}

// cold_start.json: the fit, and the shift with its calibration.
json PredictSummary(const Options& o, const TrainedModel& m, const FilledVectors& filled) {
  const ShiftCalibration& cal = filled.calibration;
  json summary = {
      {"anime", m.universe.size()},
      {"predicted", CountPredicted(filled, m.viewers).first},
      {"min_viewers", o.min_viewers},
      {"lambda", o.lambda},
      {"fit_on", filled.fit_on},
      {"features", filled.features},
      {"popularity_shift", cal.shift},
      {"query_spread", filled.query_spread},
      {"shift_chosen_by", o.popularity_shift >= 0 ? "--popularity-shift" : "calibration"}};
  if (!cal.skipped.empty()) {
    summary["shift_chosen_by"] = "none: " + cal.skipped;
  } else if (o.popularity_shift < 0) {
    json curve = json::array(), level = json::array();
    for (const auto& [s, n] : cal.ndcg) curve.push_back({{"shift", s}, {"ndcg20", n}});
    for (const auto& [s, n] : cal.share) level.push_back({{"shift", s}, {"top10_share", n}});
    summary["calibration"] = {{"newest_anime", cal.pseudo_cold},
                              {"newest_from", cal.newest_from},
                              {"users", cal.users},
                              {"ndcg20_by_shift", curve},
                              {"best_by_ranking", cal.by_ranking},
                              {"top10_share_by_shift", level},
                              {"top10_share_learned", cal.share_learned},
                              {"held_to", cal.by_level}};
    json level_all = json::array();
    for (const auto& [s, n] : cal.share_all)
      level_all.push_back({{"shift", s}, {"top10_share", n}});
    summary["calibration"]["every_user"] = {{"top10_share_by_shift", level_all},
                                            {"top10_share_learned", cal.share_learned_all}};
  }
  return summary;
}

// Writes the vectors, the query vectors, the ids, item_provenance.csv and
// cold_start.json into --out: under temporary names, renamed at the end (no
// half-written output).
absl::Status WritePredictions(const Options& o, const TrainedModel& m,
                              const FilledVectors& filled) {
  std::string provenance = "anime_id,source,viewers\n";
  for (uint32_t r = 0; r < m.universe.size(); ++r) {
    absl::StrAppend(&provenance, m.universe[r], ",", filled.predicted[r] ? "predicted" : "learned",
                    ",", m.viewers[r], "\n");
  }
  std::error_code ec;
  std::filesystem::create_directories(o.out, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", o.out, ": ", ec.message()));
  const std::string tag = absl::StrCat(".tmp.", ::getpid());
  const size_t n = m.universe.size();
  const int d = m.learned.cols;
  absl::Status st =
      WriteNpyFloat32(o.out + "/item_vectors.npy" + tag, filled.vectors.v.data(), n, d);
  if (st.ok()) {
    st = WriteNpyFloat32(o.out + "/item_query_vectors.npy" + tag, filled.query_vectors.v.data(), n,
                         d);
  }
  if (st.ok()) st = WriteNpyInt64(o.out + "/item_ids.npy" + tag, m.universe.data(), n);
  if (st.ok()) st = WriteStringToFile(o.out + "/item_provenance.csv" + tag, provenance);
  if (st.ok()) {
    st = WriteStringToFile(o.out + "/cold_start.json" + tag,
                           PredictSummary(o, m, filled).dump(2) + "\n");
  }
  for (const char* name : {"item_vectors.npy", "item_query_vectors.npy", "item_ids.npy",
                           "item_provenance.csv", "cold_start.json"}) {
    const std::string from = o.out + "/" + name + tag, to = o.out + "/" + name;
    if (st.ok() && std::rename(from.c_str(), to.c_str()) != 0)
      st = ErrnoStatus("cannot rename into place", to, errno);
    std::remove(from.c_str());
  }
  return st;
}

// What predict did, on stderr.
void ReportPredictions(const Options& o, const TrainedModel& m, const FilledVectors& filled) {
  const auto [predicted, predicted_with_viewers] = CountPredicted(filled, m.viewers);
  const size_t n = m.universe.size();
  std::fprintf(
      stderr,
      "[cold] %zu anime: %zu learned from at least %d viewers, %zu predicted from content (%zu of "
      "them "
      "with 1-%d viewers); the content model learned from %zu anime, %d features%s\n",
      n, n - predicted, o.min_viewers, predicted, predicted_with_viewers, o.min_viewers - 1,
      filled.fit_on, filled.features,
      m.outside > 0 ? absl::StrCat("; ", m.outside,
                                   " learned vectors of anime outside the catalogue left out")
                          .c_str()
                    : "");
  std::fprintf(
      stderr,
      "[cold] wrote %s/item_vectors.npy, item_query_vectors.npy (before the shift, spread x%.2f), "
      "item_ids.npy, item_provenance.csv, cold_start.json\n",
      o.out.c_str(), filled.query_spread);
}

int Predict(const Options& o) {
  auto catalog = Catalog::Load(o.catalogs);
  if (!catalog.ok()) return Fail(catalog.status());
  TrainedModel m;
  if (absl::Status s = ReadItemVectors(o.model_dir, *catalog, &m); !s.ok()) return Fail(s);
  TextVectors text;
  if (!o.text_vectors.empty()) {
    auto t = LoadTextVectors(o.text_vectors, o.text_ids);
    if (!t.ok()) return Fail(t.status());
    text = *std::move(t);
  }
  if (absl::Status s = ReadUserVectors(o.model_dir, &m); !s.ok()) return Fail(s);
  ContentOptions co;
  co.franchise = !o.no_franchise;
  co.text = !o.no_text;
  ShiftInput shift;
  shift.users = &m.users;
  shift.history = &m.history;
  shift.share = o.shift_share;
  shift.fixed = o.popularity_shift;
  auto filled = FillVectors(*catalog, m.universe, m.learned, m.viewers,
                            text.dims > 0 ? &text : nullptr, co, o.lambda, o.min_viewers, &shift);
  if (!filled.ok()) return Fail(filled.status());
  ReportShift(filled->calibration, o);
  if (absl::Status s = WritePredictions(o, m, *filled); !s.ok()) return Fail(s);
  ReportPredictions(o, m, *filled);
  return 0;
}

enum class Command { kPredict, kEvaluate, kThreshold };

// The flags of the commands that train MF themselves (evaluate, threshold).
void AddTrainingFlags(ArgParser* p, Options* o) {
  p->AddStringList("interactions", &o->interactions,
                   "interactions CSV, repeatable (as simsearch-train-ncf)", "FILE");
  p->AddString("seeds", &o->seeds, "MF seeds, each its own run (default 1,2,3)", "N,N,...");
  p->AddString("statuses", &o->statuses, "MAL list statuses trained on (default 1,2,3)", "S,S,...");
  p->AddInt("epochs", &o->epochs, "MF epochs (default 20)");
  p->AddInt("threads", &o->threads, "training threads (default 2)");
  p->AddInt("factors", &o->factors, "MF factors (default 64)");
  p->AddBool("item-bias", &o->item_bias,
             "MF with a per-item bias (the content model predicts it too)");
}

// The flags of `command`, in the order --help lists them.
void AddFlags(ArgParser* p, Options* o, Command command) {
  if (command == Command::kPredict) {
    p->AddString("model", &o->model_dir, "simsearch-train-ncf's --out directory (MF item vectors)",
                 "DIR");
  }
  p->AddStringList("catalog", &o->catalogs,
                   "catalogue CSV, repeatable: titles, genres, dates, related entries", "FILE");
  p->AddString("text-vectors", &o->text_vectors, "synopsis vectors (.npy, from simsearch-embed)",
               "FILE");
  p->AddString("text-ids", &o->text_ids, "the anime ids of --text-vectors' rows", "FILE");
  if (command != Command::kPredict) AddTrainingFlags(p, o);
  if (command == Command::kEvaluate) {
    p->AddString("cutoff", &o->cutoff,
                 "anime that started after this date are cold (e.g. 2022-07-01)", "DATE");
    p->AddString("until", &o->until,
                 "the data's end: anime that started later cannot have been watched", "DATE");
    p->AddString("also-lambdas", &o->extra_lambdas,
                 "also evaluate the content model with these ridges", "L,L,...");
  }
  if (command == Command::kThreshold) {
    p->AddString("thresholds", &o->thresholds,
                 "the --min-viewers values compared (default 1,2,3,5,8,13,20)", "N,N,...");
    p->AddString("blends", &o->blends,
                 "also blends n/(n+k) learned + k/(n+k) predicted under the largest threshold, "
                 "for these k (default 2,5,10; empty: none)",
                 "K,K,...");
    p->AddString("watch-lists", &o->watch_lists,
                 "also each user's anime as a watch list, folded in as served, with anime\n"
                 "queried as learned from Q viewers on and ranked as learned from R on (default\n"
                 "5:5,13:13,5:13; empty: none)",
                 "Q:R,...");
    p->AddDouble("holdout-users", &o->holdout_users,
                 "a share of the users held out whole: their trained anime, less the held-out\n"
                 "views, are the watch lists (default 0: every user's training anime, whose rare\n"
                 "anime learned from that very user)");
    p->AddString("list-lengths", &o->list_lengths,
                 "with --holdout-users: also those users' lists cut to these lengths, ranked by\n"
                 "popularity, item-kNN and each --watch-lists setting (e.g. 1,3,5,10,20,50)",
                 "L,L,...");
    p->AddDouble("holdout", &o->holdout, "the share of each user's views held out (default 0.2)");
  } else {
    p->AddInt("min-viewers", &o->min_viewers,
              "anime with fewer training viewers get predicted vectors (default 5)");
  }
  p->AddDouble("lambda", &o->lambda, "the content model's ridge (default 10)");
  p->AddDouble("shift-share", &o->shift_share,
               "the share of anime with viewers, newest first, that act as cold to choose the "
               "shift (default 0.1)");
  if (command == Command::kPredict) {
    p->AddDouble("popularity-shift", &o->popularity_shift,
                 "the predicted vectors' popularity shift (docs/MODELS.md); default: chosen on the "
                 "newest anime with viewers acting as cold; 0: none");
  }
  p->AddBool("no-franchise", &o->no_franchise, "leave the franchise feature out");
  p->AddBool("no-text", &o->no_text, "leave the synopsis feature out");
  p->AddString("out", &o->out,
               command == Command::kPredict ? "the directory to write the vectors into"
                                            : "also write the results as JSON here",
               command == Command::kPredict ? "DIR" : "FILE");
  p->Require("catalog");
  if (command == Command::kEvaluate) {
    for (const char* name : {"interactions", "cutoff", "until"}) p->Require(name);
  } else if (command == Command::kThreshold) {
    p->Require("interactions");
  } else {
    for (const char* name : {"model", "out"}) p->Require(name);
  }
}

// The checks of the flags that need no input read.
absl::Status CheckOptions(const Options& o) {
  if (o.text_vectors.empty() != o.text_ids.empty()) {
    return absl::InvalidArgumentError("--text-vectors and --text-ids go together");
  }
  if (o.shift_share <= 0 || o.shift_share >= 1) {
    return absl::InvalidArgumentError("--shift-share must be between 0 and 1 (e.g. 0.1)");
  }
  if (!(o.holdout > 0 && o.holdout < 1)) {
    return absl::InvalidArgumentError("--holdout must be between 0 and 1 (e.g. 0.2)");
  }
  if (!(o.holdout_users >= 0 && o.holdout_users < 1)) {
    return absl::InvalidArgumentError("--holdout-users must be in [0, 1) (e.g. 0.1)");
  }
  if (o.min_viewers < 1 || o.lambda <= 0 || o.epochs < 1 || o.threads < 1) {
    return absl::InvalidArgumentError(
        "--min-viewers, --epochs, --threads must be >= 1 and --lambda > 0");
  }
  return absl::OkStatus();
}

int Run(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::printf(
        "%s\n\nCommands: predict, evaluate, threshold (see simsearch-cold-start COMMAND "
        "--help)\n",
        kUsage);
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  Command which;
  if (command == "predict") {
    which = Command::kPredict;
  } else if (command == "evaluate") {
    which = Command::kEvaluate;
  } else if (command == "threshold") {
    which = Command::kThreshold;
  } else {
    std::fprintf(stderr,
                 "simsearch-cold-start: unknown command '%s'; use predict, evaluate or threshold "
                 "(see --help)\n",
                 command.c_str());
    return 2;
  }
  Options o;
  ArgParser p(absl::StrCat("simsearch-cold-start ", command), kUsage);
  AddFlags(&p, &o, which);
  if (int rc = p.ParseOrExitCode(argc, argv, 2, nullptr); rc >= 0) return rc;
  if (absl::Status s = CheckOptions(o); !s.ok()) return Fail(s);
  switch (which) {
    case Command::kPredict:
      return Predict(o);
    case Command::kEvaluate:
      return Evaluate(o);
    case Command::kThreshold:
      return StudyViewerThresholds(o);
  }
  return 2;
}

}  // namespace
}  // namespace simsearch::ncf

int main(int argc, char** argv) {
  return simsearch::ncf::Run(argc, argv);
}
