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
#include <vector>

#include "absl/container/flat_hash_map.h"
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
    "predict does, on the training data alone. Each seed trains its own MF.";

struct Options {
  std::vector<std::string> interactions, catalogs;
  std::string model_dir;
  std::string text_vectors, text_ids, cutoff, until, seeds = "1,2,3", statuses = "1,2,3", out;
  int epochs = 20, threads = 2, min_viewers = 5, factors = 64;
  double lambda = 10;
  std::string extra_lambdas;
  double shift_share = 0.1;
  double popularity_shift =
      -1;  // < 0: calibrated  // also evaluate the full model with these ridges
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

int Evaluate(const Options& o) {
  auto catalog = Catalog::Load(o.catalogs);
  if (!catalog.ok()) return Fail(catalog.status());
  const std::vector<int64_t> cold = ColdAnime(*catalog, o.cutoff, o.until);
  if (cold.empty())
    return Fail(
        absl::InvalidArgumentError("no catalogue anime started between --cutoff and --until"));
  // The universe: every catalogue anime that could have been watched by --until.
  std::vector<int64_t> universe, warm_known;
  for (const Item& it : catalog->items()) {
    const std::string day = it.start_date.substr(0, std::min<size_t>(10, it.start_date.size()));
    if (!day.empty() && day > o.until) continue;  // its first possible day is after the data's end
    universe.push_back(it.id);
    if (!std::binary_search(cold.begin(), cold.end(), it.id)) warm_known.push_back(it.id);
  }
  InteractionsOptions io;
  auto statuses = ParseStatuses(o.statuses, "--statuses");
  if (!statuses.ok()) return Fail(statuses.status());
  io.statuses = *statuses;
  io.known_items = &warm_known;
  auto data = LoadInteractions(o.interactions, io);
  if (!data.ok()) return Fail(data.status());
  // The held-out cold views, by training user.
  InteractionsOptions co = io;
  co.known_items = &cold;
  co.statuses = io.view_statuses;
  co.listed_statuses = {};
  auto cold_data = LoadInteractions(o.interactions, co);
  if (!cold_data.ok()) return Fail(cold_data.status());
  absl::flat_hash_map<int64_t, uint32_t> user_row, universe_row;
  for (uint32_t u = 0; u < data->num_users(); ++u) user_row[data->user_ids[u]] = u;
  for (uint32_t r = 0; r < universe.size(); ++r) universe_row[universe[r]] = r;
  std::vector<std::vector<uint32_t>> relevant(data->num_users());  // universe rows
  uint64_t held_out = 0;
  for (uint32_t cu = 0; cu < cold_data->num_users(); ++cu) {
    auto u = user_row.find(cold_data->user_ids[cu]);
    if (u == user_row.end()) continue;
    for (uint32_t i : cold_data->items_of_user[cu]) {
      relevant[u->second].push_back(universe_row.at(cold_data->item_ids[i]));
      ++held_out;
    }
  }
  std::vector<uint32_t> cold_rows;
  for (int64_t id : cold) cold_rows.push_back(universe_row.at(id));
  TextVectors text;
  if (!o.text_vectors.empty()) {
    auto t = LoadTextVectors(o.text_vectors, o.text_ids);
    if (!t.ok()) return Fail(t.status());
    text = *std::move(t);
  }
  const Split split = TrainOnAll(*data);
  uint32_t evaluated = 0;
  for (const auto& r : relevant) evaluated += !r.empty();
  std::fprintf(
      stderr,
      "[cold] %zu cold anime (started %s to %s), %llu held-out views of %zu of them by %u users; "
      "training: %zu users, %zu anime, %llu pairs; universe %zu anime\n",
      cold.size(), o.cutoff.c_str(), o.until.c_str(), static_cast<unsigned long long>(held_out),
      static_cast<size_t>(cold_data->num_items()), evaluated, data->num_users(), data->num_items(),
      static_cast<unsigned long long>(split.num_train()), universe.size());

  // Viewers per universe row (training), and each user's history as universe rows.
  std::vector<int> viewers(universe.size(), 0);
  std::vector<std::vector<uint32_t>> history(data->num_users());
  for (uint32_t u = 0; u < data->num_users(); ++u) {
    for (uint32_t i : split.train[u]) {
      const uint32_t r = universe_row.at(data->item_ids[i]);
      ++viewers[r];
      history[u].push_back(r);
    }
  }
  // Baselines (the same for every seed).
  const ContentFeatures genre_only = [&] {
    ContentOptions g;
    g.text = g.franchise = false;
    return BuildContentFeatures(*catalog, universe, nullptr, nullptr,
                                std::vector<int>(universe.size(), 0), g);
  }();
  int genre_dims = 0;
  while (genre_dims < genre_only.dims && genre_only.names[genre_dims].rfind("genre:", 0) == 0)
    ++genre_dims;
  absl::flat_hash_map<int64_t, uint32_t> text_row;
  for (uint32_t r = 0; r < text.ids.size(); ++r) text_row[text.ids[r]] = r;
  std::vector<float> members(universe.size());
  for (uint32_t r = 0; r < universe.size(); ++r)
    members[r] = static_cast<float>(catalog->Find(universe[r])->members);
  auto mean_of = [&](uint32_t u, auto row_vector, int d) {
    std::vector<double> m(d, 0.0);
    int n = 0;
    for (uint32_t r : history[u]) {
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
  };
  auto genre_vec = [&](uint32_t r) -> const float* {
    return &genre_only.x[static_cast<size_t>(r) * genre_only.dims];
  };
  std::vector<float> text_unit;  // universe rows, unit length (zeros where unknown)
  if (text.dims > 0) {
    text_unit.assign(universe.size() * text.dims, 0.0f);
    for (uint32_t r = 0; r < universe.size(); ++r) {
      auto t = text_row.find(universe[r]);
      if (t == text_row.end()) continue;
      float* x = &text_unit[static_cast<size_t>(r) * text.dims];
      std::copy_n(&text.v[static_cast<size_t>(t->second) * text.dims], text.dims, x);
      double s = Dot(x, x, text.dims);
      if (s > 0) {
        for (int k = 0; k < text.dims; ++k) x[k] = static_cast<float>(x[k] / std::sqrt(s));
      }
    }
  }
  // Franchise links as universe rows, both directions.
  std::vector<std::vector<uint32_t>> related(universe.size());
  for (uint32_t r = 0; r < universe.size(); ++r) {
    for (int64_t rel : catalog->Find(universe[r])->related) {
      auto it = universe_row.find(rel);
      if (it == universe_row.end()) continue;
      related[r].push_back(it->second);
      related[it->second].push_back(r);
    }
  }
  for (auto& v : related) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
  }
  const float max_members = *std::max_element(members.begin(), members.end()) + 1.0f;

  std::vector<Way> baselines;
  baselines.push_back({"popularity (today's members)",
                       [&](uint32_t, const std::vector<uint32_t>& c, std::vector<float>* s) {
                         for (size_t j = 0; j < c.size(); ++j) (*s)[j] = members[c[j]];
                       }});
  std::vector<uint8_t> is_cold_row(universe.size(), 0);
  for (uint32_t r : cold_rows) is_cold_row[r] = 1;
  baselines.push_back({"popularity, anime newer than the cutoff first",
                       [&](uint32_t, const std::vector<uint32_t>& c, std::vector<float>* s) {
                         for (size_t j = 0; j < c.size(); ++j) {
                           (*s)[j] =
                               static_cast<float>(is_cold_row[c[j]]) + members[c[j]] / max_members;
                         }
                       }});
  baselines.push_back({"genre cosine to history",
                       [&](uint32_t u, const std::vector<uint32_t>& c, std::vector<float>* s) {
                         const std::vector<float> q = mean_of(u, genre_vec, genre_dims);
                         for (size_t j = 0; j < c.size(); ++j)
                           (*s)[j] = static_cast<float>(Dot(q.data(), genre_vec(c[j]), genre_dims));
                       }});
  if (text.dims > 0) {
    auto text_vec = [&](uint32_t r) -> const float* {
      return &text_unit[static_cast<size_t>(r) * text.dims];
    };
    baselines.push_back(
        {"synopsis cosine to history",
         [&, text_vec](uint32_t u, const std::vector<uint32_t>& c, std::vector<float>* s) {
           const std::vector<float> q = mean_of(u, text_vec, text.dims);
           for (size_t j = 0; j < c.size(); ++j)
             (*s)[j] = static_cast<float>(Dot(q.data(), text_vec(c[j]), text.dims));
         }});
  }
  baselines.push_back({"related entry of history",
                       [&](uint32_t u, const std::vector<uint32_t>& c, std::vector<float>* s) {
                         const auto& h = history[u];
                         for (size_t j = 0; j < c.size(); ++j) {
                           int links = 0;
                           for (uint32_t r : related[c[j]])
                             links += std::binary_search(h.begin(), h.end(), r);
                           (*s)[j] = static_cast<float>(links) +
                                     members[c[j]] / max_members;  // ties: popularity
                         }
                       }});
  for (auto& h : history) std::sort(h.begin(), h.end());

  // Evaluation of one way: (a) among cold anime, (b) among every anime not in history.
  auto evaluate = [&](const Way& w, ListMetrics* a, ListMetrics* b) {
    std::vector<float> scores;
    std::vector<uint32_t> cand, rel;
    for (uint32_t u = 0; u < data->num_users(); ++u) {
      if (relevant[u].empty()) continue;
      // (a)
      scores.assign(cold_rows.size(), 0.0f);
      w.score(u, cold_rows, &scores);
      rel.clear();
      for (uint32_t r : relevant[u])
        rel.push_back(static_cast<uint32_t>(
            std::lower_bound(cold_rows.begin(), cold_rows.end(), r) - cold_rows.begin()));
      AddRankedList(scores, rel, a);
      // (b)
      cand.clear();
      rel.clear();
      const auto& h = history[u];
      for (uint32_t r = 0; r < universe.size(); ++r) {
        if (std::binary_search(h.begin(), h.end(), r)) continue;
        if (std::binary_search(relevant[u].begin(), relevant[u].end(), r))
          rel.push_back(static_cast<uint32_t>(cand.size()));
        cand.push_back(r);
      }
      scores.assign(cand.size(), 0.0f);
      w.score(u, cand, &scores);
      AddRankedList(scores, rel, b);
    }
    Finish(a);
    Finish(b);
  };
  std::sort(cold_rows.begin(), cold_rows.end());
  for (auto& r : relevant) std::sort(r.begin(), r.end());

  struct Row {
    std::string name;
    std::vector<double> a_recall, a_ndcg, b_recall, b_ndcg;
  };
  std::vector<Row> rows;
  auto record = [&](const std::string& name, const ListMetrics& a, const ListMetrics& b) {
    auto it = std::find_if(rows.begin(), rows.end(), [&](const Row& r) { return r.name == name; });
    if (it == rows.end()) it = rows.insert(rows.end(), Row{name, {}, {}, {}, {}});
    it->a_recall.push_back(a.recall20);
    it->a_ndcg.push_back(a.ndcg20);
    it->b_recall.push_back(b.recall20);
    it->b_ndcg.push_back(b.ndcg20);
  };
  for (const Way& w : baselines) {
    ListMetrics a, b;
    evaluate(w, &a, &b);
    record(w.name, a, b);
    std::fprintf(stderr, "[cold] %-34s (a) %.4f %.4f  (b) %.4f %.4f\n", w.name.c_str(), a.recall20,
                 a.ndcg20, b.recall20, b.ndcg20);
  }

  std::vector<uint64_t> seeds;
  for (absl::string_view s : absl::StrSplit(o.seeds, ',', absl::SkipWhitespace())) {
    uint64_t v;
    if (!absl::SimpleAtoi(s, &v))
      return Fail(absl::InvalidArgumentError("--seeds takes integers, e.g. 1,2,3"));
    seeds.push_back(v);
  }
  std::vector<double> chosen_shifts;
  for (uint64_t seed : seeds) {
    ModelConfig mc;
    mc.factors = o.factors;
    mc.item_bias = o.item_bias;
    auto model = NcfModel::Create(mc, split.num_users, split.num_items, seed);
    if (!model.ok()) return Fail(model.status());
    TrainOptions to;
    to.epochs = o.epochs;
    to.threads = o.threads;
    to.seed = seed;
    Train(&*model, split, to);
    Tensor items, users;
    if (auto st = model->ExportDotProduct(&items, &users); !st.ok()) return Fail(st);
    const int d = items.cols;
    // Learned vectors by universe row, and which rows have enough viewers.
    Tensor learned(static_cast<int>(universe.size()), d);
    std::vector<uint8_t> warm(universe.size(), 0);
    std::vector<int> warm_viewers(universe.size(), 0);
    std::vector<uint32_t> warm_rows;
    for (uint32_t i = 0; i < data->num_items(); ++i) {
      const uint32_t r = universe_row.at(data->item_ids[i]);
      std::copy_n(&items.v[static_cast<size_t>(i) * d], d, &learned.v[static_cast<size_t>(r) * d]);
      if (viewers[r] >= o.min_viewers) {
        warm[r] = 1;
        warm_viewers[r] = viewers[r];
        warm_rows.push_back(r);
      }
    }
    std::sort(warm_rows.begin(), warm_rows.end());
    std::vector<double> extra;
    for (absl::string_view l : absl::StrSplit(o.extra_lambdas, ',', absl::SkipWhitespace())) {
      double v;
      if (absl::SimpleAtod(l, &v) && v > 0) extra.push_back(v);
    }
    // The cold anime's member counts are today's: how popular they became after the
    // data's end. The content model does not see them (the baseline does: a harder bar).
    std::vector<uint8_t> hide(universe.size(), 0);
    for (uint32_t r : cold_rows) hide[r] = 1;
    struct Variant {
      std::string name;
      bool members = false, franchise = true, text = true;
      double lambda = 0;
      bool calibrate = false;  // the shift CalibrateShift chooses on the training data, as served
      bool ranking_only = false;  // ... by ranking alone, without the level bound
    };
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
    for (double l : extra)
      variants.push_back({absl::StrCat("content model, lambda ", l), false, true, true, l});
    for (const Variant& variant : variants) {
      ContentOptions co2;
      if (!variant.members)
        co2.hide_members = hide;  // with them: today's counts, as served (they leak here)
      co2.franchise = !o.no_franchise && variant.franchise;
      co2.text = !o.no_text && variant.text;
      if (!variant.text && text.dims == 0) continue;
      const double lambda = variant.lambda > 0 ? variant.lambda : o.lambda;
      const ContentFeatures f = BuildContentFeatures(
          *catalog, universe, text.dims > 0 ? &text : nullptr, &learned, warm_viewers, co2);
      auto cm = ContentModel::Fit(f, learned, warm_rows, lambda);
      if (!cm.ok()) return Fail(cm.status());
      Tensor vec = learned;  // warm rows keep their learned vectors; the rest are predicted
      for (uint32_t r = 0; r < universe.size(); ++r) {
        if (!warm[r]) cm->Predict(f, r, &vec.v[static_cast<size_t>(r) * d]);
      }
      const Tensor query_vec = vec;  // before the shift: what an anime is like as a query
      double shift = 0;
      if (variant.calibrate) {
        auto c = CalibrateShift(*catalog, universe, f, learned, warm_rows, users, history, lambda,
                                o.shift_share, DefaultShiftGrid());
        if (!c.ok()) return Fail(c.status());
        shift = c->shift;
        std::string curve;
        for (const auto& [s, n] : c->ndcg)
          absl::StrAppend(&curve, " ", s, ":", absl::StrFormat("%.4f", n));
        std::string level, level_all;
        for (const auto& [s, n] : c->share)
          absl::StrAppend(&level, " ", s, ":", absl::StrFormat("%.4f", n));
        for (const auto& [s, n] : c->share_all)
          absl::StrAppend(&level_all, " ", s, ":", absl::StrFormat("%.4f", n));
        std::fprintf(
            stderr,
            "[cold] seed %llu calibration: %zu newest anime (from %s) as cold, %u users; NDCG@20 "
            "by shift%s "
            "(best %g); share of their viewers' top-10 slots%s, learned %.4f (level %g); of every "
            "user's%s, learned %.4f; chose %g\n",
            static_cast<unsigned long long>(seed), c->pseudo_cold, c->newest_from.c_str(), c->users,
            curve.c_str(), c->by_ranking, level.c_str(), c->share_learned, c->by_level,
            level_all.c_str(), c->share_learned_all, c->shift);
        if (variant.ranking_only) shift = c->by_ranking;
        if (!variant.ranking_only) chosen_shifts.push_back(shift);
      }
      if (shift != 0) {
        std::vector<uint8_t> predicted_rows(universe.size(), 0);
        for (uint32_t r = 0; r < universe.size(); ++r) predicted_rows[r] = !warm[r];
        ApplyShift(f, PopularityDirection(users), shift, predicted_rows, &vec);
      }
      const std::string& name = variant.name;
      Way w{name, [&](uint32_t u, const std::vector<uint32_t>& c, std::vector<float>* s) {
              const float* p = &users.v[static_cast<size_t>(u) * users.cols];
              for (size_t j = 0; j < c.size(); ++j) {
                (*s)[j] = static_cast<float>(Dot(p, &vec.v[static_cast<size_t>(c[j]) * d], d));
              }
            }};
      ListMetrics a, b;
      evaluate(w, &a, &b);
      record(name, a, b);
      if (variant.calibrate && !variant.ranking_only) {
        // Watch lists that like new anime: each user's list is their training history but
        // one anime (held out), folded in as served (alpha 0.001, lambda 100, prior 1 /
        // liked anime) with the cold anime they watched added as liked, through the
        // predicted query vectors as they are or spread out (DeshrinkQueries), or left
        // out; the held-out anime's rank among every warm anime not in the list gives
        // HR@10 and NDCG@20. (Its vector was trained with this user's view of it: the
        // same small leak for every row.)
        std::vector<uint8_t> predicted_rows(universe.size(), 0);
        for (uint32_t r = 0; r < universe.size(); ++r) predicted_rows[r] = !warm[r];
        Tensor spread_vec = query_vec;
        std::vector<int> year(universe.size(), 0);
        for (uint32_t r = 0; r < universe.size(); ++r)
          year[r] = catalog->Find(universe[r])->start_year();
        DeshrinkQueries(learned, warm_rows, predicted_rows, year, &spread_vec);
        std::vector<float> prior(d, 0.0f);
        for (int u = 0; u < users.rows; ++u) {
          for (int c = 0; c < d; ++c)
            prior[c] += users.v[static_cast<size_t>(u) * d + c] / static_cast<float>(users.rows);
        }
        const Tensor* kinds[] = {nullptr, &query_vec, &spread_vec};
        const char* kind_names[] = {"watch list, new anime left out",
                                    "watch list + new anime as predicted",
                                    "watch list + new anime as predicted, spread out"};
        for (int kind = 0; kind < 3; ++kind) {
          const Tensor& q = kinds[kind] != nullptr ? *kinds[kind] : query_vec;
          const std::vector<float> gram = GramMatrix(q.v.data(), universe.size(), d);
          std::mt19937_64 rng(seed);
          double hits = 0, ndcg = 0;
          uint64_t n = 0;
          std::vector<float> p(d);
          for (uint32_t u = 0; u < data->num_users(); ++u) {
            if (relevant[u].empty() || history[u].size() < 2) continue;
            const auto& h = history[u];
            const uint32_t out = h[std::uniform_int_distribution<size_t>(0, h.size() - 1)(rng)];
            std::vector<const float*> liked;
            for (uint32_t r : h) {
              if (r != out) liked.push_back(&q.v[static_cast<size_t>(r) * d]);
            }
            if (kinds[kind] != nullptr) {
              for (uint32_t r : relevant[u]) liked.push_back(&q.v[static_cast<size_t>(r) * d]);
            }
            if (!FoldInUser(gram.data(), d, liked, {}, 1.0f, FoldInParams{0.001f, 100.0f}, p.data(),
                            prior.data(), 1.0f / static_cast<float>(liked.size()))
                     .ok()) {
              continue;
            }
            const double target = Dot(p.data(), &learned.v[static_cast<size_t>(out) * d], d);
            int above = 0;
            for (uint32_t r : warm_rows) {
              if (r == out || std::binary_search(h.begin(), h.end(), r)) continue;
              above += Dot(p.data(), &learned.v[static_cast<size_t>(r) * d], d) > target;
            }
            hits += above < 10;
            ndcg += above < 20 ? 1.0 / std::log2(above + 2.0) : 0.0;
            ++n;
          }
          const double hr = n ? hits / static_cast<double>(n) : 0,
                       nd = n ? ndcg / static_cast<double>(n) : 0;
          ListMetrics wa, wb;
          wa.recall20 = hr;  // the table's columns: HR@10 and NDCG@20 in (a); (b) unused
          wa.ndcg20 = nd;
          record(absl::StrCat(kind_names[kind], " (HR@10, NDCG@20 in the (a) columns)"), wa, wb);
          std::fprintf(stderr, "[cold] seed %llu %s: %llu users, HR@10 %.4f, NDCG@20 %.4f\n",
                       static_cast<unsigned long long>(seed), kind_names[kind],
                       static_cast<unsigned long long>(n), hr, nd);
        }
      }
      std::fprintf(
          stderr,
          "[cold] seed %llu %-26s (a) %.4f %.4f  (b) %.4f %.4f  (%zu fit on, %d features)\n",
          static_cast<unsigned long long>(seed), name.c_str(), a.recall20, a.ndcg20, b.recall20,
          b.ndcg20, warm_rows.size(), f.dims);
    }
  }

  auto cell = [](const std::vector<double>& v) {
    double mean = 0;
    for (double x : v) mean += x;
    mean /= static_cast<double>(v.size());
    double var = 0;
    for (double x : v) var += (x - mean) * (x - mean);
    const double sd = v.size() > 1 ? std::sqrt(var / static_cast<double>(v.size() - 1)) : 0.0;
    return absl::StrFormat("%.4f ± %.4f", mean, sd);
  };
  std::printf(
      "| ranking by | runs | (a) cold only: Recall@20 | NDCG@20 | (b) every anime: Recall@20 | "
      "NDCG@20 |\n");
  std::printf("|---|---:|---:|---:|---:|---:|\n");
  json out = json::array();
  for (const Row& r : rows) {
    std::printf("| %s | %zu | %s | %s | %s | %s |\n", r.name.c_str(), r.a_recall.size(),
                cell(r.a_recall).c_str(), cell(r.a_ndcg).c_str(), cell(r.b_recall).c_str(),
                cell(r.b_ndcg).c_str());
    out.push_back({{"ranking", r.name},
                   {"cold_recall20", r.a_recall},
                   {"cold_ndcg20", r.a_ndcg},
                   {"all_recall20", r.b_recall},
                   {"all_ndcg20", r.b_ndcg}});
  }
  if (!o.out.empty()) {
    json doc = {{"cutoff", o.cutoff},
                {"until", o.until},
                {"cold_anime", cold.size()},
                {"held_out_views", held_out},
                {"users", evaluated},
                {"min_viewers", o.min_viewers},
                {"lambda", o.lambda},
                {"shift_share", o.shift_share},
                {"chosen_shifts", chosen_shifts},
                {"seeds", seeds},
                {"interactions", o.interactions},
                {"rows", out}};
    if (absl::Status st = WriteStringToFile(o.out, doc.dump(2) + "\n"); !st.ok()) return Fail(st);
  }
  return 0;
}

int Predict(const Options& o) {
  auto catalog = Catalog::Load(o.catalogs);
  if (!catalog.ok()) return Fail(catalog.status());
  const std::string dir = o.model_dir;
  auto vectors = ReadVectors(dir + "/item_vectors.npy");
  if (!vectors.ok()) return Fail(vectors.status());
  auto ids = ReadIds(dir + "/item_ids.npy");
  if (!ids.ok()) return Fail(ids.status());
  if (ids->size() != vectors->count) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat(dir, ": item_ids.npy and item_vectors.npy differ in rows")));
  }
  auto users = LoadInteractions(dir + "/user_items.csv");
  if (!users.ok()) return Fail(users.status());
  std::vector<int64_t> universe;
  for (const Item& it : catalog->items()) universe.push_back(it.id);  // sorted
  absl::flat_hash_map<int64_t, uint32_t> row_of;
  for (uint32_t r = 0; r < universe.size(); ++r) row_of[universe[r]] = r;
  const int d = static_cast<int>(vectors->dims);
  Tensor learned(static_cast<int>(universe.size()), d);
  std::vector<int> viewers(universe.size(), 0);
  std::vector<uint8_t> has_learned(universe.size(), 0);
  size_t outside = 0;
  for (size_t i = 0; i < ids->size(); ++i) {
    auto it = row_of.find((*ids)[i]);
    if (it == row_of.end()) {
      ++outside;
      continue;
    }
    std::copy_n(&vectors->data[i * d], d, &learned.v[static_cast<size_t>(it->second) * d]);
    has_learned[it->second] = 1;
  }
  for (size_t u = 0; u < users->num_users(); ++u) {
    for (uint32_t i : users->items_of_user[u]) {
      auto it = row_of.find(users->item_ids[i]);
      if (it != row_of.end() && has_learned[it->second]) ++viewers[it->second];
    }
  }
  TextVectors text;
  if (!o.text_vectors.empty()) {
    auto t = LoadTextVectors(o.text_vectors, o.text_ids);
    if (!t.ok()) return Fail(t.status());
    text = *std::move(t);
  }
  // The user vectors and their training histories calibrate the popularity shift.
  auto user_vectors = ReadVectors(dir + "/user_vectors.npy");
  if (!user_vectors.ok()) return Fail(user_vectors.status());
  auto user_ids = ReadIds(dir + "/user_ids.npy");
  if (!user_ids.ok()) return Fail(user_ids.status());
  if (user_ids->size() != user_vectors->count || static_cast<int>(user_vectors->dims) != d) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat(dir,
                     ": user_vectors.npy must have a row per id of user_ids.npy and as many dims "
                     "as item_vectors.npy")));
  }
  Tensor user_tensor(static_cast<int>(user_vectors->count), d);
  user_tensor.v.assign(user_vectors->data.begin(), user_vectors->data.end());
  absl::flat_hash_map<int64_t, uint32_t> user_row;
  for (uint32_t u = 0; u < user_ids->size(); ++u) user_row[(*user_ids)[u]] = u;
  std::vector<std::vector<uint32_t>> history(user_ids->size());
  for (size_t u = 0; u < users->num_users(); ++u) {
    auto ur = user_row.find(users->user_ids[u]);
    if (ur == user_row.end()) continue;
    for (uint32_t i : users->items_of_user[u]) {
      auto it = row_of.find(users->item_ids[i]);
      if (it != row_of.end()) history[ur->second].push_back(it->second);
    }
  }
  for (auto& h : history) std::sort(h.begin(), h.end());
  ContentOptions co;
  co.franchise = !o.no_franchise;
  co.text = !o.no_text;
  ShiftInput shift;
  shift.users = &user_tensor;
  shift.history = &history;
  shift.share = o.shift_share;
  shift.fixed = o.popularity_shift;
  auto filled = FillVectors(*catalog, universe, learned, viewers, text.dims > 0 ? &text : nullptr,
                            co, o.lambda, o.min_viewers, &shift);
  if (!filled.ok()) return Fail(filled.status());
  const ShiftCalibration& cal = filled->calibration;
  if (o.popularity_shift >= 0) {
    std::fprintf(stderr, "[cold] popularity shift %g (--popularity-shift)\n", cal.shift);
  } else if (!cal.skipped.empty()) {
    std::fprintf(stderr, "[cold] warning: no popularity shift: %s\n", cal.skipped.c_str());
  } else {
    std::string curve, level;
    for (const auto& [s, n] : cal.ndcg)
      absl::StrAppend(&curve, " ", s, ":", absl::StrFormat("%.4f", n));
    for (const auto& [s, n] : cal.share)
      absl::StrAppend(&level, " ", s, ":", absl::StrFormat("%.4f", n));
    std::fprintf(
        stderr,
        "[cold] popularity shift %g, chosen on the %zu newest anime with viewers (from %s) acting "
        "as cold: "
        "ranked for their %u viewers, NDCG@20 by shift:%s (best %g); their share of their viewers' "
        "top-10 slots by shift:%s, with their learned vectors %.4f (held to %g)\n",
        cal.shift, cal.pseudo_cold, cal.newest_from.c_str(), cal.users, curve.c_str(),
        cal.by_ranking, level.c_str(), cal.share_learned, cal.by_level);
  }
  size_t predicted = 0, predicted_with_viewers = 0;
  std::string provenance = "anime_id,source,viewers\n";
  for (uint32_t r = 0; r < universe.size(); ++r) {
    predicted += filled->predicted[r];
    predicted_with_viewers += filled->predicted[r] && viewers[r] > 0;
    absl::StrAppend(&provenance, universe[r], ",", filled->predicted[r] ? "predicted" : "learned",
                    ",", viewers[r], "\n");
  }
  std::error_code ec;
  std::filesystem::create_directories(o.out, ec);
  if (ec)
    return Fail(absl::InternalError(absl::StrCat("cannot create ", o.out, ": ", ec.message())));
  // Written under temporary names and renamed at the end: no half-written output.
  const std::string tag = absl::StrCat(".tmp.", ::getpid());
  absl::Status st = WriteNpyFloat32(o.out + "/item_vectors.npy" + tag, filled->vectors.v.data(),
                                    universe.size(), d);
  if (st.ok()) {
    st = WriteNpyFloat32(o.out + "/item_query_vectors.npy" + tag, filled->query_vectors.v.data(),
                         universe.size(), d);
  }
  if (st.ok()) st = WriteNpyInt64(o.out + "/item_ids.npy" + tag, universe.data(), universe.size());
  if (st.ok()) st = WriteStringToFile(o.out + "/item_provenance.csv" + tag, provenance);
  json summary = {
      {"anime", universe.size()},
      {"predicted", predicted},
      {"min_viewers", o.min_viewers},
      {"lambda", o.lambda},
      {"fit_on", filled->fit_on},
      {"features", filled->features},
      {"popularity_shift", cal.shift},
      {"query_spread", filled->query_spread},
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
  if (st.ok()) st = WriteStringToFile(o.out + "/cold_start.json" + tag, summary.dump(2) + "\n");
  for (const char* name : {"item_vectors.npy", "item_query_vectors.npy", "item_ids.npy",
                           "item_provenance.csv", "cold_start.json"}) {
    const std::string from = o.out + "/" + name + tag, to = o.out + "/" + name;
    if (st.ok() && std::rename(from.c_str(), to.c_str()) != 0)
      st = ErrnoStatus("cannot rename into place", to, errno);
    std::remove(from.c_str());
  }
  if (!st.ok()) return Fail(st);
  std::fprintf(
      stderr,
      "[cold] %zu anime: %zu learned from at least %d viewers, %zu predicted from content (%zu of "
      "them "
      "with 1-%d viewers); the content model learned from %zu anime, %d features%s\n",
      universe.size(), universe.size() - predicted, o.min_viewers, predicted,
      predicted_with_viewers, o.min_viewers - 1, filled->fit_on, filled->features,
      outside > 0
          ? absl::StrCat("; ", outside, " learned vectors of anime outside the catalogue left out")
                .c_str()
          : "");
  std::fprintf(
      stderr,
      "[cold] wrote %s/item_vectors.npy, item_query_vectors.npy (before the shift, spread x%.2f), "
      "item_ids.npy, item_provenance.csv, cold_start.json\n",
      o.out.c_str(), filled->query_spread);
  return 0;
}

int Run(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::printf("%s\n\nCommands: evaluate (see simsearch-cold-start evaluate --help)\n", kUsage);
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  if (command != "evaluate" && command != "predict") {
    std::fprintf(
        stderr,
        "simsearch-cold-start: unknown command '%s'; use predict or evaluate (see --help)\n",
        command.c_str());
    return 2;
  }
  const bool evaluate = command == "evaluate";
  Options o;
  ArgParser p(absl::StrCat("simsearch-cold-start ", command), kUsage);
  if (evaluate) {
    p.AddStringList("interactions", &o.interactions,
                    "interactions CSV, repeatable (as simsearch-train-ncf)", "FILE");
  } else {
    p.AddString("model", &o.model_dir, "simsearch-train-ncf's --out directory (MF item vectors)",
                "DIR");
  }
  p.AddStringList("catalog", &o.catalogs,
                  "catalogue CSV, repeatable: titles, genres, dates, related entries", "FILE");
  p.AddString("text-vectors", &o.text_vectors, "synopsis vectors (.npy, from simsearch-embed)",
              "FILE");
  p.AddString("text-ids", &o.text_ids, "the anime ids of --text-vectors' rows", "FILE");
  if (evaluate) {
    p.AddString("cutoff", &o.cutoff,
                "anime that started after this date are cold (e.g. 2022-07-01)", "DATE");
    p.AddString("until", &o.until,
                "the data's end: anime that started later cannot have been watched", "DATE");
    p.AddString("seeds", &o.seeds, "MF seeds, each its own run (default 1,2,3)", "N,N,...");
    p.AddString("statuses", &o.statuses, "MAL list statuses trained on (default 1,2,3)", "S,S,...");
    p.AddInt("epochs", &o.epochs, "MF epochs (default 20)");
    p.AddInt("threads", &o.threads, "training threads (default 2)");
    p.AddInt("factors", &o.factors, "MF factors (default 64)");
    p.AddBool("item-bias", &o.item_bias,
              "MF with a per-item bias (the content model predicts it too)");
    p.AddString("also-lambdas", &o.extra_lambdas,
                "also evaluate the content model with these ridges", "L,L,...");
  }
  p.AddInt("min-viewers", &o.min_viewers,
           "anime with fewer training viewers get predicted vectors (default 5)");
  p.AddDouble("lambda", &o.lambda, "the content model's ridge (default 10)");
  p.AddDouble("shift-share", &o.shift_share,
              "the share of anime with viewers, newest first, that act as cold to choose the shift "
              "(default 0.1)");
  if (!evaluate) {
    p.AddDouble("popularity-shift", &o.popularity_shift,
                "the predicted vectors' popularity shift (docs/MODELS.md); default: chosen on the "
                "newest anime "
                "with viewers acting as cold; 0: none");
  }
  p.AddBool("no-franchise", &o.no_franchise, "leave the franchise feature out");
  p.AddBool("no-text", &o.no_text, "leave the synopsis feature out");
  p.AddString(
      "out", &o.out,
      evaluate ? "also write the results as JSON here" : "the directory to write the vectors into",
      evaluate ? "FILE" : "DIR");
  p.Require("catalog");
  if (evaluate) {
    p.Require("interactions");
    p.Require("cutoff");
    p.Require("until");
  } else {
    p.Require("model");
    p.Require("out");
  }
  if (int rc = p.ParseOrExitCode(argc, argv, 2, nullptr); rc >= 0) return rc;
  if (o.text_vectors.empty() != o.text_ids.empty()) {
    return Fail(absl::InvalidArgumentError("--text-vectors and --text-ids go together"));
  }
  if (o.shift_share <= 0 || o.shift_share >= 1) {
    return Fail(absl::InvalidArgumentError("--shift-share must be between 0 and 1 (e.g. 0.1)"));
  }
  if (o.min_viewers < 1 || o.lambda <= 0 || o.epochs < 1 || o.threads < 1) {
    return Fail(absl::InvalidArgumentError(
        "--min-viewers, --epochs, --threads must be >= 1 and --lambda > 0"));
  }
  return evaluate ? Evaluate(o) : Predict(o);
}

}  // namespace
}  // namespace simsearch::ncf

int main(int argc, char** argv) {
  return simsearch::ncf::Run(argc, argv);
}
